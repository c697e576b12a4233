#!/usr/bin/env bats
# sre-guard: diagnoses in, verdicts out, under built-in safety and policy.

load helper
load helpers/gitops.sh

setup() {
	make_repo
	G=(sre-guard --repo "$WORK" --state-dir "$STATE")
}

verdicts() {	# the verdict lines of $output
	printf '%s\n' "$output" | jq -c 'select(.type == "verdict")'
}

@test "--help, --version and bad options" {
	run -0 --separate-stderr sre-guard --help
	[[ $output == "usage: sre-guard "* ]]
	run -0 --separate-stderr sre-guard --version
	[[ $output =~ ^sre-guard\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
	run -64 --separate-stderr sre-guard --no-such-option
	[[ $stderr == *"usage: sre-guard"* ]]
	run -64 --separate-stderr sre-guard - extra
	run -64 --separate-stderr sre-guard --freeze "Someday" < /dev/null
	[[ $stderr == *"bad freeze window"* ]]
	run -78 --separate-stderr sre-guard --repo /nonexistent < /dev/null
}

@test "an approval: events pass through, the verdict follows its diagnosis" {
	d=$(diag D1 inc-1 scale quote-api '{"replicas":4}')
	run -0 --separate-stderr "${G[@]}" < <(tick 1; echo "$d")
	[ "$(printf '%s\n' "$output" | sed -n 1p)" = "$(tick 1)" ]
	[ "$(printf '%s\n' "$output" | sed -n 2p)" = "$d" ]
	v=$(printf '%s\n' "$output" | sed -n 3p)
	[ "$(jq -r .type <<< "$v")" = verdict ]
	[ "$(jq -c '[.decision, .rules, .reasons, .incident, .diagnosis, .ts_ms, .source]' <<< "$v")" = \
	    '["approve",["default"],["within policy"],"inc-1","D1",1700000001000,"sre-guard"]' ]
	[ "$(jq -c .proposal <<< "$v")" = "$(jq -c .proposal <<< "$d")" ]
	[ "$(jq -c '[.fingerprint, .confidence]' <<< "$v")" = '["fp-inc-1",0.88]' ]
	# A well-formed event for the rest of the pipeline.
	sre-bus <<< "$v" > /dev/null
	[ -z "$stderr" ]
	assert_no_sanitizer
}

@test "a low-confidence diagnosis is vetoed" {
	run -0 --separate-stderr "${G[@]}" < <(diag D1 inc-1 scale quote-api '{"replicas":3}' 0.41)
	[ "$(verdicts | jq -c '[.decision, .rules, .reasons]')" = \
	    '["veto",["builtin:confidence"],["confidence 0.41 below 0.6"]]' ]
	# The policy may ask for a human instead, never for an approval.
	printf 'limits:\n  low_confidence: escalate\n' > "$BATS_TEST_TMPDIR/p.yaml"
	run -0 --separate-stderr "${G[@]}" --policy "$BATS_TEST_TMPDIR/p.yaml" < <(diag D2 inc-2 scale quote-api '{"replicas":3}' 0.41)
	[ "$(verdicts | jq -r .decision)" = escalate ]
	printf 'rules:\n  - id: yes\n    when: "true"\n    decision: approve\n' > "$BATS_TEST_TMPDIR/p.yaml"
	run -0 --separate-stderr "${G[@]}" --policy "$BATS_TEST_TMPDIR/p.yaml" < <(diag D3 inc-3 scale quote-api '{"replicas":3}' 0.2)
	[ "$(verdicts | jq -c '[.decision, .rules]')" = '["veto",["builtin:confidence"]]' ]
}

@test "the fourth action on one fingerprint within the window escalates, across restarts" {
	# Three services, so neither rate limit is what stops the fourth.
	run -0 --separate-stderr "${G[@]}" < <(
	    diag D1 inc-1 scale quote-api '{"replicas":3}' 0.9 fp-same 1700000000000
	    diag D2 inc-2 restart pricing-engine '{}' 0.9 fp-same 1700000600000)
	[ "$(verdicts | jq -r .decision | tr '\n' ' ')" = "approve approve " ]
	# A restart keeps the count: it lives in LMDB.
	run -0 --separate-stderr "${G[@]}" < <(
	    diag D3 inc-3 restart db-policy '{}' 0.9 fp-same 1700001200000
	    diag D4 inc-4 scale quote-api '{"replicas":4}' 0.9 fp-same 1700001800000)
	[ "$(verdicts | jq -r .decision | tr '\n' ' ')" = "approve escalate " ]
	v=$(verdicts | tail -1)
	[ "$(jq -c .rules <<< "$v")" = '["builtin:loop"]' ]
	[[ $(jq -r '.reasons[0]' <<< "$v") == "fingerprint fp-same acted on 3 times within 1h: a human decides" ]]
	# An hour later the window has moved on.
	run -0 --separate-stderr "${G[@]}" < <(diag D5 inc-5 scale quote-api '{"replicas":4}' 0.9 fp-same 1700005500000)
	[ "$(verdicts | jq -r .decision)" = approve ]
	ls "$STATE/store/data.mdb"
}

@test "a patch reaching ../ or .git/hooks is vetoed and nothing on disk changes" {
	before=$(tree_sum "$WORK")
	gitbefore=$(cd "$WORK/.git" && find . -type f | sort | xargs sha256sum)
	out='--- a/services/quote-api/../../../escape.txt\n+++ b/services/quote-api/../../../escape.txt\n@@ -0,0 +1 @@\n+owned\n'
	hook='diff --git a/.git/hooks/post-commit b/.git/hooks/post-commit\nnew file mode 100755\n--- /dev/null\n+++ b/.git/hooks/post-commit\n@@ -0,0 +1,2 @@\n+#!/bin/sh\n+touch /tmp/owned\n'
	ci='--- a/.github/workflows/deploy.yml\n+++ b/.github/workflows/deploy.yml\n@@ -1 +1 @@\n-# CI\n+# owned\n'
	secret='--- /dev/null\n+++ b/services/quote-api/secrets.yaml\n@@ -0,0 +1 @@\n+password: x\n'
	run -0 --separate-stderr "${G[@]}" --state-dir "$STATE" < <(
	    diag D1 inc-1 patch quote-api "$(jq -cn --arg d "$(printf '%b' "$out")" '{diff:$d}')"
	    diag D2 inc-2 patch quote-api "$(jq -cn --arg d "$(printf '%b' "$hook")" '{diff:$d}')"
	    diag D3 inc-3 patch quote-api "$(jq -cn --arg d "$(printf '%b' "$ci")" '{diff:$d}')"
	    diag D4 inc-4 patch quote-api "$(jq -cn --arg d "$(printf '%b' "$secret")" '{diff:$d}')")
	verdicts | jq -r '[.decision, .rules[0], .reasons[0]] | @tsv' > "$BATS_TEST_TMPDIR/got"
	cat > "$BATS_TEST_TMPDIR/want" <<-'EOF'
	veto	builtin:patch	patch refused: services/quote-api/../../../escape.txt reaches outside the repository
	veto	builtin:patch	patch refused: .git/hooks/post-commit is inside .git
	veto	builtin:patch	patch refused: .github/workflows/deploy.yml is CI configuration
	veto	builtin:patch	patch refused: services/quote-api/secrets.yaml is a secret-looking name
	EOF
	diff -u "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
	# Nothing changed: not the work tree, not .git, nothing outside.
	[ ! -e "$BATS_TEST_TMPDIR/escape.txt" ] && [ ! -e /tmp/owned ]
	[ -z "$(git -C "$WORK" status --porcelain)" ]
	[ "$gitbefore" = "$(cd "$WORK/.git" && find . -type f | sort | xargs sha256sum)" ]
	[ "$before" = "$(tree_sum "$WORK")" ]
}

@test "a patch inside the target's service directory is approved" {
	p=$(printf -- '--- a/services/quote-api/config.env\n+++ b/services/quote-api/config.env\n@@ -2 +2 @@\n-LOG_LEVEL=info\n+LOG_LEVEL=debug\n')
	run -0 --separate-stderr "${G[@]}" < <(diag D1 inc-1 patch quote-api "$(jq -cn --arg d "$p" '{diff:$d}')")
	[ "$(verdicts | jq -r .decision)" = approve ]
}

@test "actions outside the catalog, unknown targets and bad params are vetoed" {
	run -0 --separate-stderr "${G[@]}" < <(
	    diag D1 inc-1 delete-namespace quote-api '{}'
	    diag D2 inc-2 scale no-such-service '{"replicas":3}'
	    diag D3 inc-3 scale ../etc '{"replicas":3}'
	    diag D4 inc-4 config quote-api '{"key":"A B","value":"x"}'
	    diag D5 inc-5 config quote-api '{"key":"LOG_LEVEL","value":"x\ny"}')
	verdicts | jq -r '[.decision, .rules[0]] | @tsv' > "$BATS_TEST_TMPDIR/got"
	printf 'veto\tbuiltin:catalog\nveto\tbuiltin:target\nveto\tbuiltin:target\nveto\tbuiltin:params\nveto\tbuiltin:params\n' |
	    diff -u - "$BATS_TEST_TMPDIR/got"
	# Without a repository the target cannot be checked: a human decides.
	run -0 --separate-stderr sre-guard --state-dir "$STATE" < <(diag D6 inc-6 scale quote-api '{"replicas":3}')
	[ "$(verdicts | jq -c '[.decision, .rules]')" = '["escalate",["builtin:target"]]' ]
}

@test "a symlinked service directory leading out is not a target" {
	mkdir -p "$BATS_TEST_TMPDIR/outside"
	cp "$WORK/services/quote-api/deployment.yaml" "$BATS_TEST_TMPDIR/outside/"
	ln -s "$BATS_TEST_TMPDIR/outside" "$WORK/services/evil"
	run -0 --separate-stderr "${G[@]}" < <(diag D1 inc-1 scale evil '{"replicas":3}')
	[ "$(verdicts | jq -c '[.decision, .rules]')" = '["veto",["builtin:target"]]' ]
}

@test "scale stays within the blast radius: never to zero, at most a factor" {
	run -0 --separate-stderr "${G[@]}" < <(
	    diag D1 inc-1 scale quote-api '{"replicas":0}'
	    diag D2 inc-2 scale quote-api '{"replicas":5}'
	    diag D3 inc-3 scale pricing-engine '{"delta":-3}'
	    diag D4 inc-4 scale pricing-engine '{"delta":2}'
	    diag D5 inc-5 scale quote-api '{"replicas":51}')
	verdicts | jq -r '[.decision, .rules[0], .reasons[0]] | @tsv' > "$BATS_TEST_TMPDIR/got"
	cat > "$BATS_TEST_TMPDIR/want" <<-'EOF'
	veto	builtin:blast-radius	scale quote-api to 0 replicas: never to zero
	veto	builtin:blast-radius	scale quote-api from 2 to 5 replicas: more than a factor of 2
	veto	builtin:blast-radius	scale pricing-engine to 0 replicas: never to zero
	approve	default	within policy
	veto	builtin:blast-radius	scale quote-api to 51 replicas: above the limit of 50
	EOF
	diff -u "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
}

@test "a diagnosis of an incident that recovered already is vetoed as stale" {
	a=$(jq -cn '{v:1,type:"anomaly",id:"A2",incident:"inc-1",ts_ms:1700000090000,source:"sre-scout",service:"quote-api",operation:null,signal:"latency",observed:900,baseline:100,score:9,window_start_ms:1,window_end_ms:2,fingerprint:"fp-inc-1",evidence:{}}')
	run -0 --separate-stderr "${G[@]}" < <(recovery R1 inc-1 1700000060000; diag D1 inc-1 scale quote-api '{"replicas":3}')
	[ "$(verdicts | jq -c '[.decision, .rules]')" = '["veto",["builtin:stale"]]' ]
	[[ $(verdicts | jq -r '.reasons[0]') == *"recovered before the fix"* ]]
	# A new anomaly after the recovery opens the incident again.
	run -0 --separate-stderr "${G[@]}" < <(echo "$a"; diag D2 inc-1 scale quote-api '{"replicas":3}' 0.9 fp-inc-1 1700000091000)
	[ "$(verdicts | jq -r .decision)" = approve ]
}

@test "rate limits: per service and overall, per hour" {
	run -0 --separate-stderr "${G[@]}" < <(
	    for i in 1 2 3 4; do diag D$i inc-$i restart quote-api '{}' 0.9 fp-$i $((1700000000000 + i * 60000)); done)
	[ "$(verdicts | jq -r .decision | tr '\n' ' ')" = "approve approve approve escalate " ]
	[ "$(verdicts | tail -1 | jq -r '.reasons[0]')" = "3 approvals for quote-api in the last hour: the limit is 3" ]
	printf 'limits:\n  approvals_per_hour: 2\n' > "$BATS_TEST_TMPDIR/p.yaml"
	run -0 --separate-stderr "${G[@]}" --state-dir "$BATS_TEST_TMPDIR/s2" --policy "$BATS_TEST_TMPDIR/p.yaml" < <(
	    diag E1 e-1 restart quote-api '{}' 0.9 fa; diag E2 e-2 restart db-policy '{}' 0.9 fb
	    diag E3 e-3 restart pricing-engine '{}' 0.9 fc)
	[ "$(verdicts | jq -r .rules[0] | tr '\n' ' ')" = "default default builtin:rate " ]
}

@test "change-freeze windows escalate, from the policy or --freeze" {
	# SRE_NOW and the diagnoses are on Tuesday 2023-11-14 at 22:13 UTC.
	run -0 --separate-stderr "${G[@]}" --freeze "Tue 22:00-06:00" < <(diag D1 inc-1 restart quote-api '{}')
	[ "$(verdicts | jq -c '[.decision, .rules, .reasons]')" = \
	    '["escalate",["builtin:freeze"],["change freeze (Tue 22:00-06:00)"]]' ]
	printf 'freeze:\n  - "2023-11-14T00:00Z/2023-11-15T00:00Z"\n  - "Sat,Sun"\n' > "$BATS_TEST_TMPDIR/p.yaml"
	run -0 --separate-stderr "${G[@]}" --policy "$BATS_TEST_TMPDIR/p.yaml" < <(
	    diag D2 inc-2 restart quote-api '{}'
	    diag D3 inc-3 restart quote-api '{}' 0.9 fp 1700100000000)
	[ "$(verdicts | jq -r .rules[0] | tr '\n' ' ')" = "builtin:freeze default " ]
	# observe changes nothing: no freeze for it; a confident diagnosis
	# with no remedy calls a human.
	run -0 --separate-stderr "${G[@]}" --freeze '*' < <(diag D4 inc-4 observe quote-api '{}')
	[ "$(verdicts | jq -r '[.decision, .rules[0]] | @tsv')" = "$(printf 'escalate\tbuiltin:observe')" ]
}

@test "policy rules: first match wins, with \$ctx; a failing rule escalates" {
	cat > "$BATS_TEST_TMPDIR/p.yaml" <<-'EOF'
	version: 1
	rules:
	  - id: no-db
	    when: .proposal.target | startswith("db-")
	    decision: escalate
	    reason: databases are changed by people
	  - id: small-scale
	    when: .proposal.action == "scale" and $ctx.new_replicas <= 3 and $ctx.replicas == 2
	    decision: approve
	    reason: a small step
	  - id: broken
	    when: .proposal.action == "scale" and (.proposal.params.replicas | ascii_downcase)
	    decision: approve
	    reason: never
	default:
	  decision: veto
	  reason: not covered by the policy
	EOF
	run -0 --separate-stderr "${G[@]}" --policy "$BATS_TEST_TMPDIR/p.yaml" < <(
	    diag D1 inc-1 restart db-policy '{}'
	    diag D2 inc-2 scale quote-api '{"replicas":3}'
	    diag D3 inc-3 scale quote-api '{"replicas":4}'
	    diag D4 inc-4 restart quote-api '{}')
	verdicts | jq -r '[.decision, .rules[0], .reasons[0]] | @tsv' > "$BATS_TEST_TMPDIR/got"
	cat > "$BATS_TEST_TMPDIR/want" <<-'EOF'
	escalate	no-db	databases are changed by people
	approve	small-scale	a small step
	escalate	broken	rule broken failed: explode input must be a string
	veto	default	not covered by the policy
	EOF
	diff -u "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
}

@test "--check validates a policy and names the rule of a jq error" {
	run -0 --separate-stderr sre-guard --check "$SRE_ROOT/examples/policies/default.yaml"
	[ "$output" = "$SRE_ROOT/examples/policies/default.yaml: 0 rules, default approve" ]
	[ -z "$stderr" ]
	run -0 --separate-stderr sre-guard --check "$SRE_ROOT/examples/policies/production.yaml"
	[[ $output == *"5 rules, default approve" ]]
	cat > "$BATS_TEST_TMPDIR/bad.yaml" <<-'EOF'
	limits:
	  min_confidence: 2
	  bogus: 1
	rules:
	  - id: fine
	    when: .confidence > 0.5
	    decision: approve
	  - id: typo
	    when: .proposal.action == 
	    decision: approve
	  - id: undefined-var
	    when: $nope
	    decision: maybe
	  - when: "true"
	    decision: veto
	EOF
	run -78 --separate-stderr sre-guard --check "$BATS_TEST_TMPDIR/bad.yaml"
	[ -z "$output" ]
	f=$BATS_TEST_TMPDIR/bad.yaml
	[[ $stderr == *"sre-guard: $f:2: limits: min_confidence must be a number from 0 to 1"* ]]
	[[ $stderr == *"limits: unknown key 'bogus'"* ]]
	[[ $stderr == *"sre-guard: $f:8: rule 'typo': jq: syntax error, unexpected"* ]]
	[[ $stderr == *"rule 'undefined-var': decision must be approve, veto or escalate"* ]]
	[[ $stderr == *"rule 4: id must be"* ]]
	[[ $stderr != *"rule 'fine'"* ]]
	# The stream refuses to start on it.
	run -78 --separate-stderr "${G[@]}" --policy "$f" < /dev/null
	run -78 --separate-stderr sre-guard --check /nonexistent.yaml
	[[ $stderr == *"/nonexistent.yaml: No such file or directory"* ]]
	printf 'rules: [\n' > "$BATS_TEST_TMPDIR/yaml.yaml"
	run -78 --separate-stderr sre-guard --check "$BATS_TEST_TMPDIR/yaml.yaml"
	[[ $stderr == *"yaml.yaml: line "* ]]
}

@test "a looser limit is said out loud every time the policy is loaded" {
	printf 'limits:\n  min_confidence: 0.3\n  loop_threshold: 0\n' > "$BATS_TEST_TMPDIR/p.yaml"
	run -0 --separate-stderr "${G[@]}" -q --policy "$BATS_TEST_TMPDIR/p.yaml" < /dev/null
	[[ $stderr == *"warning: the policy loosens min_confidence from the built-in 0.6 to 0.3"* ]]
	[[ $stderr == *"loosens loop_threshold from the built-in 3 to no limit"* ]]
	run -0 --separate-stderr sre-guard --check "$BATS_TEST_TMPDIR/p.yaml"
	[[ $stderr == *"warning: the policy loosens min_confidence"* ]]
}

@test "--explain writes every check and rule to stderr" {
	printf 'rules:\n  - id: r1\n    when: "false"\n    decision: veto\n' > "$BATS_TEST_TMPDIR/p.yaml"
	run -0 --separate-stderr "${G[@]}" --explain --policy "$BATS_TEST_TMPDIR/p.yaml" < <(diag D1 inc-1 scale quote-api '{"replicas":3}')
	[[ $stderr == *"sre-guard: explain inc-1: builtin:catalog: pass"* ]]
	[[ $stderr == *"explain inc-1: builtin:blast-radius: pass: 2 to 3 replicas"* ]]
	[[ $stderr == *"explain inc-1: builtin:confidence: pass: 0.88 at least 0.6"* ]]
	[[ $stderr == *"explain inc-1: r1: no match"* ]]
	[[ $stderr == *"explain inc-1: default: approve: within policy"* ]]
	# Without --explain, nothing.
	run -0 --separate-stderr "${G[@]}" --state-dir "$BATS_TEST_TMPDIR/s2" < <(diag D1 inc-1 scale quote-api '{"replicas":3}')
	[ -z "$stderr" ]
}

@test "--dry-run marks approvals and does not count them" {
	run -0 --separate-stderr "${G[@]}" --dry-run < <(
	    for i in 1 2 3 4 5; do diag D$i inc-$i restart quote-api '{}' 0.9 fp; done
	    diag D9 inc-9 restart quote-api '{}' 0.3 fp)
	[ "$(verdicts | jq -c '[.decision, .dry_run]' | tr '\n' ' ')" = \
	    '["approve",true] ["approve",true] ["approve",true] ["approve",true] ["approve",true] ["veto",null] ' ]
}

@test "a diagnosis delivered twice gets the same verdict and is counted once" {
	d=$(diag D1 inc-1 restart quote-api '{}' 0.9 fp)
	run -0 --separate-stderr "${G[@]}" <<< "$d"
	first=$(verdicts)
	run -0 --separate-stderr "${G[@]}" < <(echo "$d"; echo "$d")
	[ "$(verdicts | sort -u)" = "$first" ]
	# Counted once: two more acts on fp are still allowed.
	run -0 --separate-stderr "${G[@]}" < <(diag D2 inc-2 restart pricing-engine '{}' 0.9 fp; diag D3 inc-3 restart db-policy '{}' 0.9 fp)
	[ "$(verdicts | jq -r .decision | tr '\n' ' ')" = "approve approve " ]
}

@test "after sre-escalate ack, the guard stops escalating the incident" {
	run -0 --separate-stderr "${G[@]}" < <(diag D1 inc-1 restart quote-api '{}' 0.9 fp 1700000001000 | jq -c '.proposal.target = "db-policy"' | sign_events)
	printf 'rules:\n  - id: db\n    when: .proposal.target == "db-policy"\n    decision: escalate\n' > "$BATS_TEST_TMPDIR/p.yaml"
	run -0 --separate-stderr "${G[@]}" --policy "$BATS_TEST_TMPDIR/p.yaml" < <(diag D2 inc-1 restart db-policy '{}')
	[ "$(verdicts | jq -r .decision)" = escalate ]
	# The escalation reaches a human through sre-escalate, as in the
	# loop; ack names an incident it knows.
	printf '%s\n' "$output" | sre-escalate --state-dir "$STATE" > /dev/null 2>&1
	run -0 --separate-stderr sre-escalate --state-dir "$STATE" ack inc-1
	run -0 --separate-stderr "${G[@]}" --policy "$BATS_TEST_TMPDIR/p.yaml" < <(diag D3 inc-1 restart db-policy '{}')
	[ "$(verdicts | jq -c '[.decision, .rules]')" = '["veto",["db","builtin:acked"]]' ]
	[[ $(verdicts | jq -r '.reasons[1]') == "a human acknowledged incident inc-1: not escalated again" ]]
}

@test "bad lines are reported and skipped; the stream goes on" {
	run -65 --separate-stderr "${G[@]}" < <(echo 'not json'; echo '{"v":1}'; diag D1 inc-1 restart quote-api '{}')
	[ "$(verdicts | jq -r .decision)" = approve ]
	[[ $stderr == *"sre-guard: line 1: not JSON"* ]]
	[[ $stderr == *"sre-guard: line 2: "* ]]
	assert_no_sanitizer
}

@test "a diagnosis without a proposal is vetoed" {
	run -0 --separate-stderr "${G[@]}" < <(diag D1 inc-1 restart quote-api '{}' | jq -c 'del(.proposal)' | sign_events)
	[ "$(verdicts | jq -c '[.decision, .rules, .reasons, .proposal]')" = '["veto",["builtin:catalog"],["no proposal"],null]' ]
}

@test "a state directory that cannot be created is an error" {
	touch "$BATS_TEST_TMPDIR/file"
	run -73 --separate-stderr sre-guard --state-dir "$BATS_TEST_TMPDIR/file/x" < /dev/null
	[[ $stderr == "sre-guard: cannot create $BATS_TEST_TMPDIR/file/x/store: Not a directory" ]]
}

@test "a missing input file exits 66; a full disk exits 74" {
	run -66 --separate-stderr "${G[@]}" --in file:/nonexistent/events.ndjson
	[ "$stderr" = "sre-guard: /nonexistent/events.ndjson: No such file or directory" ]
	[ -w /dev/full ] || skip "no /dev/full"
	diag D1 inc-1 restart quote-api '{}' > "$BATS_TEST_TMPDIR/in"
	run -74 --separate-stderr "${G[@]}" --in "file:$BATS_TEST_TMPDIR/in" --out file:/dev/full
	[[ $stderr == *"writing output to file:/dev/full failed: No space left on device"* ]]
}
