#!/usr/bin/env bats
# make demo (examples/demo/run): the closed loop end to end, live.  One
# long run (about 100 s) checked for its exit status, its narration and
# the history of the GitOps remote; a failure that is said as one; and
# the clean-up on SIGTERM.  Only against the normal build: under ASan the
# demo would take twice as long and say nothing the suites of the tools
# do not check.

load helper

RUN=$SRE_ROOT/examples/demo/run

setup() {
	case $SRE_BIN in
	*/build/asan*) skip "the demo is one long run; the ASan pass would double it" ;;
	esac
	[ -x "$SRE_ROOT/examples/demo/narrate" ] ||
	    skip "examples/demo/narrate is not built (make)"
	# The demo runs live: no pinned clock or ids.
	unset SRE_NOW SRE_SEED
	DEMO=$BATS_TEST_TMPDIR/demo
	export SRE_DEMO_DIR=$DEMO
}

teardown() {
	# Nothing of the demo may outlive it.
	if [ -n "${DEMO:-}" ]; then
		left=$(ps -eo pid=,args= | grep -F "$DEMO" | grep -v grep || true)
		if [ -n "$left" ]; then
			echo "left running: $left" >&2
			ps -eo pid=,args= | grep -F "$DEMO" | grep -v grep |
			    awk '{print $1}' | xargs -r kill 2>/dev/null || true
			return 1
		fi
	fi
}

# Run the demo; $status, and its output in $BATS_TEST_TMPDIR/out.
run_demo() {
	status=0
	timeout -k 5 "$1" sh "$RUN" > "$BATS_TEST_TMPDIR/out" 2>&1 3>&- ||
	    status=$?
}

said() {
	grep -Eq -- "$1" "$BATS_TEST_TMPDIR/out" ||
	    { echo "not said: $1" >&2; return 1; }
}

@test "make demo: the loop closes twice, the second time from memory, in under two minutes" {
	start=$(date +%s)
	run_demo 150
	took=$(( $(date +%s) - start ))
	cat "$BATS_TEST_TMPDIR/out"
	[ "$status" -eq 0 ]
	[ "$took" -lt 120 ]
	# the narration
	said '\] bad release: the CD pipeline commits quote-api 1\.4\.0 on main'
	said '\] anomaly detected by sre-scout in the window [0-9:]+-[0-9:]+, [0-9.]+ m?s after the bad release went live: [0-9]+ series on '
	said '\] root cause \(sre-brain, built-in reasoner, .*\): quote-api .*\(release\), confidence 0\.[0-9]+'
	said '^\[.*\]   proposal: rollback quote-api'
	said '\] verdict \(sre-guard\): approve; rules fired: default; reasons: within policy'
	said '\] commit [0-9a-f]{7} by sre-fix on branch sre/[0-9A-Z]+, merged into main of '
	said '^\[.*\]   1 file changed, 1 insertion\(\+\), 1 deletion\(-\)'
	said '\] recovery verified by sre-scout: all [0-9]+ anomalous series of the incident are back to their baselines'
	said '\] post-mortem \(sre-curate\): auto_resolved; MTTR [0-9.]+ m?s'
	said '\] sre-cag answered from memory, .*fixed 1 of 1 times before'
	said '^== the loop closed twice$'
	said '^  2nd bad release: incident [0-9A-Z]+, answered from memory by sre-cag: time to fix [0-9.]+ s, MTTR [0-9.]+ s'
	said '^== sre-curate report$'
	said 'autonomous success rate +100\.0% \(2 of 2 closed, 0 open past the 3m verify window\)'
	said "^Post-mortems: +$DEMO/state/postmortems/"
	said "^GitOps: +$DEMO/remote.git"
	! said 'DID NOT CLOSE'
	# main of the bare remote: two bad releases, each rolled back by sre-fix
	git --git-dir="$DEMO/remote.git" log --format='%an|%s' main > "$BATS_TEST_TMPDIR/log"
	cat "$BATS_TEST_TMPDIR/log"
	[ "$(wc -l < "$BATS_TEST_TMPDIR/log")" -eq 5 ]
	[ "$(sed -n 1p "$BATS_TEST_TMPDIR/log")" = "SRE-Space|sre-fix: roll quote-api back to 1.3.4 (image was registry.example.com..." ]
	[ "$(sed -n 3p "$BATS_TEST_TMPDIR/log")" = "SRE-Space|sre-fix: roll quote-api back to 1.3.4 (image was registry.example.com..." ]
	[[ $(sed -n 2p "$BATS_TEST_TMPDIR/log") == "CD pipeline|quote-api 1.4.0 again"* ]]
	[[ $(sed -n 4p "$BATS_TEST_TMPDIR/log") == "CD pipeline|quote-api 1.4.0:"* ]]
	# each fix names its incident, and main deploys the good tag again
	[ "$(git --git-dir="$DEMO/remote.git" log --format='%(trailers:key=SRE-Incident,valueonly)' main |
	    grep -c .)" -eq 2 ]
	git --git-dir="$DEMO/remote.git" show main:services/quote-api/deployment.yaml |
	    grep -q 'marketplace/quote-api:1\.3\.4$'
	# the deployed checkout followed main
	[ "$(git -C "$DEMO/gitops" rev-parse HEAD)" = \
	    "$(git --git-dir="$DEMO/remote.git" rev-parse main)" ]
	# two post-mortems, both auto-resolved
	[ "$(ls "$DEMO"/state/postmortems/*.md | wc -l)" -eq 2 ]
	[ "$(jq -s -c '[.[] | select(.type == "postmortem") | .outcome]' "$DEMO/postmortems.ndjson")" = \
	    '["auto_resolved","auto_resolved"]' ]
	# the second diagnosis came from memory
	jq -e -s '[.[] | select(.type == "diagnosis") | .source] | index("sre-cag")' \
	    "$DEMO/events.ndjson" > /dev/null
}

@test "make demo: a loop that does not heal in time says what did not happen and fails" {
	SRE_DEMO_HEAL_S=3 run_demo 90
	cat "$BATS_TEST_TMPDIR/out"
	[ "$status" -eq 1 ]
	said '\] THE LOOP DID NOT CLOSE: '
	said '^The demo failed: '
	! said '^== the loop closed twice$'
}

@test "make demo: SIGTERM stops it, and everything it started" {
	sh "$RUN" > "$BATS_TEST_TMPDIR/out" 2>&1 3>&- &
	pid=$!
	# until the marketplace and the loop run
	for _ in $(seq 50); do
		grep -q 'the marketplace is live' "$BATS_TEST_TMPDIR/out" && break
		sleep 0.2
	done
	said 'the marketplace is live'
	sleep 1
	kill -TERM "$pid"
	status=0
	wait "$pid" || status=$?
	[ "$status" -eq 143 ]
	! said '^== the loop closed twice$'
}

@test "make demo: a directory it did not make is not wiped" {
	mkdir -p "$DEMO"
	echo precious > "$DEMO/file"
	run_demo 20
	[ "$status" -eq 1 ]
	said 'is not empty and no demo made it: not wiping it'
	[ "$(cat "$DEMO/file")" = precious ]
}

@test "make demo FAULT=KIND: an unknown kind is a usage error" {
	SRE_DEMO_FAULT=nope run_demo 20
	[ "$status" -eq 64 ]
	said "unknown fault kind 'nope'"
}
