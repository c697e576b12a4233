#!/usr/bin/env bats
# pipelines/: offline.sh (a recording through the whole loop, changing
# nothing) on the recordings of examples/traces, and local.sh (the loop on
# pipes) on one of them, with a scratch GitOps repository and bare remote.

load helper
load helpers/release-repo.sh

OFFLINE=$SRE_ROOT/pipelines/offline.sh
LOCAL=$SRE_ROOT/pipelines/local.sh
TRACES=$SRE_ROOT/examples/traces

setup() {
	# Git reads nothing of the developer's, and never prompts.
	export HOME=$BATS_TEST_TMPDIR/home GIT_CONFIG_NOSYSTEM=1
	export GIT_TERMINAL_PROMPT=0
	mkdir -p "$HOME"
	unset SRE_POLICY SRE_GITOPS_REPO SRE_STATE_DIR SRE_EVENTS \
	    GITHUB_PERSONAL_ACCESS_TOKEN OPENAI_API_KEY SRE_WEBHOOK_URL
}

# run_files COMMAND...: stdout to $BATS_TEST_TMPDIR/out, stderr to .../err,
# the exit status in $status (never upstream in a pipe).
run_files() {
	status=0
	"$@" > "$BATS_TEST_TMPDIR/out" 2> "$BATS_TEST_TMPDIR/err" || status=$?
	check_sanitizers "$BATS_TEST_TMPDIR/err"
}

# A checksum of a checkout: its files, its refs, its status.
tree_sum() {
	{
		(cd "$1" && find . -path ./.git -prune -o -type f -print0 |
		    sort -z | xargs -0 sha1sum)
		git -C "$1" for-each-ref
		git -C "$1" status --porcelain
		git -C "$1" worktree list
	} | sha1sum
}

@test "examples/traces: one small recording per fault kind, with its truth" {
	for k in none latency error both network cpu release saturation pool; do
		[ -s "$TRACES/$k.ndjson.gz" ]
		[ "$(stat -c %s "$TRACES/$k.ndjson.gz")" -lt 2000000 ]
		jq -e --arg k "$k" '.seed == 1 and (.services | length) == 12 and
		    ([.faults[].kind] == (if $k == "none" then [] else [$k] end))' \
		    "$TRACES/$k.truth.json" > /dev/null
		gzip -t "$TRACES/$k.ndjson.gz"
	done
	[ "$(du -sk "$TRACES" | cut -f1)" -lt 10240 ]
	# OTLP/JSON as the collector writes it
	gzip -dc "$TRACES/release.ndjson.gz" | head -n 1 |
	    jq -e '.resourceSpans[0].scopeSpans[0].spans[0].traceId' > /dev/null
}

@test "offline.sh: a bad release gets an approved rollback, shown as a diff" {
	run_files "$OFFLINE" "$TRACES/release.ndjson.gz"
	[ "$status" -eq 0 ] || { cat "$BATS_TEST_TMPDIR/err"; false; }
	out=$BATS_TEST_TMPDIR/out
	grep -qx 'truth: release on quote-api (1.3.4 -> 1.4.0) from 2023-11-14T22:15:30Z' "$out"
	grep -Eq '^[0-9]+ anomalies in 1 incident$' "$out"
	grep -q '^diagnosis (sre-brain): quote-api (release), confidence ' "$out"
	grep -qx 'proposal: rollback quote-api {"to":"1.3.4"}' "$out"
	grep -q '^verdict: approve (rules: default; within policy)$' "$out"
	grep -qx -- '-          image: registry.example.com/marketplace/quote-api:1.4.0' "$out"
	grep -qx -- '+          image: registry.example.com/marketplace/quote-api:1.3.4' "$out"
	grep -q '^diff --git a/services/quote-api/deployment.yaml' "$out"
}

@test "offline.sh and local.sh with SRE_TAIL=1: the events in plain lines" {
	SRE_TAIL=1 run_files "$OFFLINE" "$TRACES/release.ndjson.gz"
	[ "$status" -eq 0 ] || { cat "$BATS_TEST_TMPDIR/err"; false; }
	out=$BATS_TEST_TMPDIR/out
	grep -q 'root cause (sre-brain) of incident .*: quote-api .*(release)' "$out"
	grep -q 'proposal: rollback quote-api {"to":"1.3.4"}' "$out"
	grep -q 'verdict (sre-guard) on incident .*: approve (dry run)' "$out"
	! grep -q '^{' "$out"
	gitops_repo
	gzip -dc "$TRACES/release.ndjson.gz" > "$BATS_TEST_TMPDIR/rec.ndjson"
	SRE_TAIL=1 SRE_GITOPS_REPO=$REPO SRE_STATE_DIR=$BATS_TEST_TMPDIR/state \
	    SRE_LOG_DIR=$BATS_TEST_TMPDIR/logs \
	    run_files "$LOCAL" < "$BATS_TEST_TMPDIR/rec.ndjson"
	[ "$status" -eq 0 ] || { cat "$BATS_TEST_TMPDIR"/logs/*; false; }
	grep -q 'fix (sre-fix) for incident .*: committed, commit [0-9a-f]\{7\} on branch sre/' "$out"
	! grep -q '^{' "$out"
}

@test "offline.sh: no fault, no incident; a pool exhaustion, the pool doubled" {
	run_files "$OFFLINE" "$TRACES/none.ndjson.gz"
	[ "$status" -eq 0 ]
	[ "$(cat "$BATS_TEST_TMPDIR/out")" = "truth: no fault
0 anomalies in 0 incidents" ]
	run_files "$OFFLINE" "$TRACES/pool.ndjson.gz"
	[ "$status" -eq 0 ]
	grep -qx 'proposal: config db-policy {"key":"DB_POOL_SIZE","value":"40"}' "$BATS_TEST_TMPDIR/out"
	grep -qx -- '-DB_POOL_SIZE=20' "$BATS_TEST_TMPDIR/out"
	grep -qx -- '+DB_POOL_SIZE=40' "$BATS_TEST_TMPDIR/out"
}

@test "offline.sh: a policy under test changes the verdict, not the repository" {
	gitops_repo
	before=$(tree_sum "$REPO")
	SRE_POLICY=$SRE_ROOT/examples/policies/production.yaml \
	    SRE_GITOPS_REPO=$REPO SRE_EVENTS=$BATS_TEST_TMPDIR/events.ndjson \
	    run_files "$OFFLINE" "$TRACES/pool.ndjson.gz"
	[ "$status" -eq 0 ]
	grep -q '^verdict: escalate (rules: databases-by-hand; databases are changed by people)$' \
	    "$BATS_TEST_TMPDIR/out"
	! grep -q '^would change' "$BATS_TEST_TMPDIR/out"
	# every event kept, and nothing changed anywhere
	jq -e -s 'map(select(.type == "verdict")) | length > 0' \
	    "$BATS_TEST_TMPDIR/events.ndjson" > /dev/null
	[ "$(tree_sum "$REPO")" = "$before" ]
	[ -z "$(git -C "$REPO" branch --list 'sre/*')" ]
	[ -z "$(git -C "$REMOTE" branch --list 'sre/*')" ]
	# the release recording against this repository (1.4.0 deployed)
	SRE_GITOPS_REPO=$REPO run_files "$OFFLINE" "$TRACES/release.ndjson.gz"
	[ "$status" -eq 0 ]
	grep -qx -- '+          image: registry.example.com/marketplace/quote-api:1.3.4' \
	    "$BATS_TEST_TMPDIR/out"
	[ "$(tree_sum "$REPO")" = "$before" ]
}

@test "offline.sh: a plain file, options for a tool, and a missing file" {
	gzip -dc "$TRACES/release.ndjson.gz" > "$BATS_TEST_TMPDIR/rec.ndjson"
	# no truth file beside it: the scratch repository stays at 1.3.4,
	# so the rollback has nothing to change
	SRE_SCOUT_OPTS='--window 10s --warmup 2m' \
	    run_files "$OFFLINE" "$BATS_TEST_TMPDIR/rec.ndjson"
	[ "$status" -eq 0 ]
	! grep -q '^truth:' "$BATS_TEST_TMPDIR/out"
	grep -qx 'proposal: rollback quote-api {"to":"1.3.4"}' "$BATS_TEST_TMPDIR/out"
	# a bad option reaches the tool, whose status is the script's
	SRE_SCOUT_OPTS='--window' run_files "$OFFLINE" "$BATS_TEST_TMPDIR/rec.ndjson"
	[ "$status" -eq 64 ]
	run_files "$OFFLINE" "$BATS_TEST_TMPDIR/nonexistent.ndjson"
	[ "$status" -eq 66 ]
	grep -q 'offline.sh: .*nonexistent.ndjson: cannot read it' "$BATS_TEST_TMPDIR/err"
}

@test "local.sh: the loop on pipes commits the rollback, and sre-curate keeps it" {
	gitops_repo
	state=$BATS_TEST_TMPDIR/state
	gzip -dc "$TRACES/release.ndjson.gz" > "$BATS_TEST_TMPDIR/rec.ndjson"
	SRE_GITOPS_REPO=$REPO SRE_AUTO_MERGE=1 SRE_STATE_DIR=$state \
	    SRE_LOG_DIR=$BATS_TEST_TMPDIR/logs SRE_GOVERN_OPTS='--period 1' \
	    run_files "$LOCAL" < "$BATS_TEST_TMPDIR/rec.ndjson"
	[ "$status" -eq 0 ] || { cat "$BATS_TEST_TMPDIR"/logs/*; false; }
	out=$BATS_TEST_TMPDIR/out
	# every event of the loop on standard output
	jq -e -s '[.[].type] | index("anomaly") and index("diagnosis") and
	    index("verdict") and index("action")' "$out" > /dev/null
	commit=$(jq -r 'select(.type == "action" and .status == "committed") |
	    .commit' "$out")
	[ -n "$commit" ]
	# merged into main of the remote: quote-api back to 1.3.4
	git -C "$REMOTE" merge-base --is-ancestor "$commit" main
	git -C "$REMOTE" show main:services/quote-api/deployment.yaml |
	    grep -q '/quote-api:1\.3\.4$'
	# the memory has the incident (open: the recording ends in the fault)
	[ -d "$state/store" ]
	run -0 --separate-stderr sre-curate --state-dir "$state" report --json
	[ "$(jq '[.incidents, .open, .resource.samples > 0]' -c <<< "$output")" = \
	    '[1,1,true]' ]
	# each tool's diagnostics in its own log
	for t in sre-scout sre-cag sre-brain sre-guard sre-fix sre-escalate \
	    sre-curate sre-govern; do
		[ -f "$BATS_TEST_TMPDIR/logs/$t.log" ]
	done
	grep -q '^sre-scout: [0-9]* lines,' "$BATS_TEST_TMPDIR/logs/sre-scout.log"
	! grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' \
	    "$BATS_TEST_TMPDIR"/logs/*.log
}

@test "local.sh: a tool that fails gives the script its status" {
	gitops_repo
	SRE_GITOPS_REPO=$REPO SRE_STATE_DIR=$BATS_TEST_TMPDIR/state \
	    SRE_BRAIN_OPTS=--bogus run_files "$LOCAL" < /dev/null
	[ "$status" -eq 64 ]
	grep -q '^local.sh: sre-brain exited 64$' "$BATS_TEST_TMPDIR/err"
}
