#!/usr/bin/env bats
# tests/security/catalog.bats: the remediation catalog, patches judged by
# git, parameters an LLM may not invent (issue 15: attacks 2, 5, 6, 7 and
# the control characters in config values).
#
# Each attack goes twice: through the loop (sre-guard, then sre-fix on
# its output: vetoed, nothing acted on), and straight to sre-fix as an
# approved verdict (sre-fix judges the catalog and the repository itself
# and refuses).  Either way nothing is committed: the GitOps repository's
# commits, its remote's, its branches and its working tree stay as they
# were.

load ../helper
load ../helpers/gitops.sh

setup() {
	make_repo
	G=(sre-guard --repo "$WORK" --state-dir "$STATE/guard")
	F=(sre-fix --repo "$WORK" --state-dir "$STATE/fix")
	REVS=$(git -C "$WORK" rev-list --all | sort)
	RREVS=$(git -C "$REMOTE" rev-list --all | sort)
	SUM=$(tree_sum "$WORK")
}

# Nothing committed, pushed, branched or written.
assert_nothing_committed() {
	[ "$(git -C "$WORK" rev-list --all | sort)" = "$REVS" ]
	[ "$(git -C "$REMOTE" rev-list --all | sort)" = "$RREVS" ]
	[ -z "$(git -C "$WORK" branch --list 'sre/*')" ]
	[ -z "$(git -C "$REMOTE" branch --list 'sre/*')" ]
	[ -z "$(git -C "$WORK" status --porcelain --ignored)" ]
	[ "$(tree_sum "$WORK")" = "$SUM" ]
	[ "$(git -C "$WORK" worktree list | wc -l)" -eq 1 ]
}

# loop ACTION TARGET PARAMS: a diagnosis of a new incident $inc through
# sre-guard and sre-fix; $verdict is sre-guard's
# "decision<TAB>rule<TAB>reason", $acted the number of actions sre-fix
# wrote.
N=0
loop() {
	N=$((N + 1))
	inc=inc-$N
	diag "D$N" "$inc" "$1" "$2" "$3" | sign_events > "$BATS_TEST_TMPDIR/in"
	run -0 --separate-stderr "${G[@]}" < "$BATS_TEST_TMPDIR/in"
	assert_no_sanitizer
	printf '%s\n' "$output" > "$BATS_TEST_TMPDIR/guarded"
	verdict=$(jq -r 'select(.type == "verdict") |
	    [.decision, .rules[0], .reasons[0]] | @tsv' \
	    "$BATS_TEST_TMPDIR/guarded")
	run -0 --separate-stderr "${F[@]}" < "$BATS_TEST_TMPDIR/guarded"
	assert_no_sanitizer
	acted=$(of_type action | wc -l)
}

# forged ACTION TARGET PARAMS: a diagnosis and an approval of it straight
# to sre-fix; $action is its "status<TAB>detail".
forged() {
	N=$((N + 1))
	{ diag "D-inc-f$N" "inc-f$N" "$1" "$2" "$3"
	  verdict "V$N" "inc-f$N" "$1" "$2" "$3"; } | sign_events > "$BATS_TEST_TMPDIR/in"
	run -0 --separate-stderr "${F[@]}" < "$BATS_TEST_TMPDIR/in"
	assert_no_sanitizer
	action=$(of_type action | jq -r '[.status, .detail] | @tsv')
}

patch_params() {	# patch_params TEXT (printf %b escapes)
	jq -cn --arg d "$(printf '%b' "$1")" '{diff: $d}'
}

@test "attack 2: a rename in git's headers out to .github/workflows is vetoed" {
	# The diff --git line names only the harmless file; git reads the
	# rename headers ("rename old/new", the older spelling of "rename
	# from/to") and would move it into CI configuration.
	for h in 'rename old %s\nrename new %s' 'rename from %s\nrename to %s'; do
		hdr=$(printf "$h" services/quote-api/config.env .github/workflows/evil.yml)
		p=$(patch_params "diff --git a/services/quote-api/config.env b/services/quote-api/config.env\nsimilarity index 100%%\n$hdr\n")
		loop patch quote-api "$p"
		[ "$verdict" = "$(printf 'veto\tbuiltin:patch\tpatch refused: .github/workflows/evil.yml is CI configuration')" ]
		[ "$acted" -eq 0 ]
		assert_nothing_committed
		forged patch quote-api "$p"
		[ "$action" = "$(printf 'failed\tpatch refused: .github/workflows/evil.yml is CI configuration')" ]
		assert_nothing_committed
	done
	[ ! -e "$WORK/.github/workflows/evil.yml" ]
	[ -f "$WORK/services/quote-api/config.env" ]
}

@test "attack 2: renames and copies into another service are vetoed" {
	p=$(patch_params 'diff --git a/services/quote-api/config.env b/services/quote-api/config.env\nsimilarity index 100%%\nrename from services/quote-api/config.env\nrename to services/pricing-engine/config.env\n')
	loop patch quote-api "$p"
	[ "$verdict" = "$(printf 'veto\tbuiltin:patch\tpatch refused: services/pricing-engine/config.env is outside the directory of quote-api')" ]
	p=$(patch_params 'diff --git a/services/quote-api/config.env b/services/quote-api/config.env\nsimilarity index 100%%\ncopy from services/quote-api/config.env\ncopy to services/db-policy/env.d/x.env\n')
	forged patch quote-api "$p"
	[ "$action" = "$(printf 'failed\tpatch refused: services/db-policy/env.d/x.env is outside the directory of quote-api')" ]
	assert_nothing_committed
}

@test "attack 5: modes 120644 and 160644 (a symlink, a gitlink) are vetoed" {
	for mode in 120644 160644; do
		p=$(patch_params "diff --git a/services/quote-api/x b/services/quote-api/x\nnew file mode $mode\n--- /dev/null\n+++ b/services/quote-api/x\n@@ -0,0 +1 @@\n+/etc/passwd\n")
		loop patch quote-api "$p"
		[ "$verdict" = "$(printf 'veto\tbuiltin:patch\tpatch refused: services/quote-api/x: mode %s: only regular files (100644, 100755); no symbolic links or submodules' "$mode")" ]
		[ "$acted" -eq 0 ]
		forged patch quote-api "$p"
		[ "$action" = "$(printf 'failed\tpatch refused: services/quote-api/x: mode %s: only regular files (100644, 100755); no symbolic links or submodules' "$mode")" ]
		assert_nothing_committed
	done
	[ ! -e "$WORK/services/quote-api/x" ]
}

@test "attack 6: a patch for one service may not delete another's files" {
	p=$(patch_params 'diff --git a/services/pricing-engine/config.env b/services/pricing-engine/config.env\ndeleted file mode 100644\n--- a/services/pricing-engine/config.env\n+++ /dev/null\n@@ -1,7 +0,0 @@\n-# services/pricing-engine/config.env: environment of pricing-engine (KEY=VALUE).\n-LOG_LEVEL=info\n-HTTP_PORT=8080\n-REQUEST_TIMEOUT_MS=3000\n-\n-# Pool sizes\n-DB_POOL_SIZE="20"\n-WORKER_THREADS=200\n')
	loop patch quote-api "$p"
	[ "$verdict" = "$(printf 'veto\tbuiltin:patch\tpatch refused: services/pricing-engine/config.env is outside the directory of quote-api')" ]
	[ "$acted" -eq 0 ]
	forged patch quote-api "$p"
	[ "$action" = "$(printf 'failed\tpatch refused: services/pricing-engine/config.env is outside the directory of quote-api')" ]
	assert_nothing_committed
	[ -f "$WORK/services/pricing-engine/config.env" ]
}

@test "attack 7: DB_HOST=attacker.example.net is on no allowlist" {
	p='{"key":"DB_HOST","value":"attacker.example.net"}'
	loop config quote-api "$p"
	[ "$verdict" = "$(printf 'veto\tbuiltin:allowlist\tconfig key DB_HOST is not allowed for quote-api (allowed: LOG_LEVEL, DB_POOL_SIZE, DB_POOL_TIMEOUT_MS, RESERVE_POOL_SIZE, MAX_CLIENT_CONN, REQUEST_TIMEOUT_MS, WORKER_THREADS, RATE_LIMIT_RPS, PARTNER_TIMEOUT_MS, PARTNER_MAX_RETRIES)')" ]
	[ "$acted" -eq 0 ]
	forged config quote-api "$p"
	[[ $action == "$(printf 'failed\tconfig key DB_HOST is not allowed for quote-api')"* ]]
	assert_nothing_committed
	! grep -rq attacker "$WORK/services"
	# A policy that lists the key for this service is what allows it.
	printf 'services:\n  quote-api:\n    config_keys:\n      - DB_HOST\n' > "$BATS_TEST_TMPDIR/p.yaml"
	G+=(--policy "$BATS_TEST_TMPDIR/p.yaml")
	loop config quote-api "$p"
	[ "${verdict%%$'\t'*}" = approve ]
	printf 'services:\n  "*":\n    config_keys: []\n' > "$BATS_TEST_TMPDIR/none.yaml"
	G=(sre-guard --repo "$WORK" --state-dir "$STATE/g2" --policy "$BATS_TEST_TMPDIR/none.yaml")
	loop config quote-api '{"key":"LOG_LEVEL","value":"debug"}'
	[ "$verdict" = "$(printf 'veto\tbuiltin:allowlist\tconfig key LOG_LEVEL is not allowed for quote-api (allowed: none)')" ]
}

@test "attack 7: a rollback to a tag quote-api never ran is vetoed; one it ran is not" {
	loop rollback quote-api '{"to":"6.6.6-evil"}'
	[ "$verdict" = "$(printf 'veto\tbuiltin:history\trollback to 6.6.6-evil: quote-api never ran it (deployed before: 1.4.0, 1.3.4)')" ]
	[ "$acted" -eq 0 ]
	forged rollback quote-api '{"to":"6.6.6-evil"}'
	[ "$action" = "$(printf 'failed\trollback to 6.6.6-evil: quote-api never ran it (deployed before: 1.4.0, 1.3.4)')" ]
	# pricing-engine's tag is no tag of quote-api.
	tag=$(sed -n 's/.*pricing-engine:\([^ ]*\)$/\1/p' "$WORK/services/pricing-engine/deployment.yaml")
	[ -n "$tag" ] && [ "$tag" != 1.3.4 ] && [ "$tag" != 1.4.0 ]
	loop rollback quote-api "{\"to\":\"$tag\"}"
	[ "${verdict%%$'\t'*}" = veto ]
	assert_nothing_committed
	# The tag it ran before is approved and committed.
	loop rollback quote-api '{"to":"1.3.4"}'
	[ "$verdict" = "$(printf 'approve\tdefault\twithin policy')" ]
	[ "$(of_type action | jq -r .status)" = committed ]
	git -C "$REMOTE" show "sre/$inc:services/quote-api/deployment.yaml" | grep -q 'quote-api:1.3.4$'
}

@test "config values with NUL, U+2028, \\v, \\f or DEL never reach config.env" {
	for v in 'info\u0000\nDB_HOST=attacker.example.net' 'info\u2028DB_HOST=x' \
	    'info\u000bx' 'info\u000cx' 'info\u007f' 'in\u0085fo'; do
		p="{\"key\":\"LOG_LEVEL\",\"value\":\"$v\"}"
		loop config quote-api "$p"
		[ "$verdict" = "$(printf 'veto\tbuiltin:params\tconfig value holds a control character (NUL, C0, C1, DEL, U+2028/U+2029 or an invisible mark)')" ]
		[ "$acted" -eq 0 ]
		forged config quote-api "$p"
		[ "$action" = "$(printf 'failed\tconfig value holds a control character (NUL, C0, C1, DEL, U+2028/U+2029 or an invisible mark)')" ]
		assert_nothing_committed
	done
	grep -qx 'LOG_LEVEL=info' "$WORK/services/quote-api/config.env"
}

@test "replicas 5000, -1, 1.5 and \"3\" are refused" {
	loop scale quote-api '{"replicas":5000}'
	[ "$verdict" = "$(printf 'veto\tbuiltin:blast-radius\tscale quote-api to 5000 replicas: above the limit of 50')" ]
	forged scale quote-api '{"replicas":5000}'
	[ "$action" = "$(printf 'failed\tscale quote-api to 5000 replicas: above the limit of 50')" ]
	loop scale quote-api '{"replicas":-1}'
	[ "$verdict" = "$(printf 'veto\tbuiltin:params\tscale replicas must be an integer from 0 to 10000')" ]
	forged scale quote-api '{"replicas":-1}'
	[ "$action" = "$(printf 'failed\tscale replicas must be an integer from 0 to 10000')" ]
	loop scale quote-api '{"replicas":1.5}'
	[ "$verdict" = "$(printf 'veto\tbuiltin:params\tscale replicas must be an integer from 0 to 10000')" ]
	forged scale quote-api '{"replicas":1.5}'
	[ "${action%%$'\t'*}" = failed ]
	loop scale quote-api '{"replicas":"3"}'
	[ "$verdict" = "$(printf 'veto\tbuiltin:params\tscale replicas must be an integer, not string')" ]
	forged scale quote-api '{"replicas":"3"}'
	[ "$action" = "$(printf 'failed\tscale replicas must be an integer, not string')" ]
	[ "$acted" -eq 0 ]
	assert_nothing_committed
	grep -qx '  replicas: 2' "$WORK/services/quote-api/deployment.yaml"
}

@test "the policy's replica bounds per service hold in sre-guard and sre-fix" {
	printf 'services:\n  quote-api:\n    min_replicas: 2\n    max_replicas: 3\n' > "$BATS_TEST_TMPDIR/p.yaml"
	G+=(--policy "$BATS_TEST_TMPDIR/p.yaml")
	F+=(--policy "$BATS_TEST_TMPDIR/p.yaml")
	loop scale quote-api '{"replicas":4}'
	[ "$verdict" = "$(printf 'veto\tbuiltin:blast-radius\tscale quote-api to 4 replicas: above the limit of 3')" ]
	forged scale quote-api '{"delta":-1}'
	[ "$action" = "$(printf 'failed\tscale quote-api to 1 replicas: below the minimum of 2')" ]
	assert_nothing_committed
}

@test "observe with a null target is in the catalog; sre-guard does not act on it" {
	jq -cn '{v:1, type:"diagnosis", id:"D1", incident:"inc-1",
	    ts_ms:1700000001000, source:"sre-brain", root_causes:[],
	    confidence:0, summary:"nothing to diagnose", proposal:{action:
	    "observe", target:null, params:{}}, memory:[], fingerprint:null}' |
	    sign_events > "$BATS_TEST_TMPDIR/in"
	run -0 --separate-stderr "${G[@]}" < "$BATS_TEST_TMPDIR/in"
	[ "$(of_type verdict | jq -r '[.decision, .rules[0], .reasons[0]] | @tsv')" = "$(printf 'veto\tbuiltin:target\tobserve without a target: nothing to act on')" ]
	assert_nothing_committed
}
