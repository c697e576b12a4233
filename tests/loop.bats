#!/usr/bin/env bats
# bench/loop/run, the live fault matrix, on its fast subset: one fault a
# change of the catalog heals (a leak: a restart) and one none heals (a
# latency fault), side by side, on the settings of make demo.  About 70 s.
# The whole matrix (every kind, 3 seeds, 2 loads) is make bench.  Only
# against the normal build, as the demo: under ASan the loop's timing is
# not the product's.

load helper

RUN=$SRE_ROOT/bench/loop/run

setup() {
	case $SRE_BIN in
	*/build/asan*) skip "live runs; the ASan pass would double them" ;;
	esac
	[ -x "$SRE_ROOT/examples/marketplace/sre-marketplace" ] ||
	    skip "examples/marketplace is not built (make)"
	unset SRE_NOW SRE_SEED
	OUT=$BATS_TEST_TMPDIR/loop
}

teardown() {
	# Nothing of the runs may outlive them.
	if [ -n "${OUT:-}" ]; then
		left=$(ps -eo pid=,args= | grep -F "$OUT" | grep -v grep || true)
		if [ -n "$left" ]; then
			echo "left running: $left" >&2
			ps -eo pid=,args= | grep -F "$OUT" | grep -v grep |
			    awk '{print $1}' | xargs -r kill 2>/dev/null || true
			return 1
		fi
	fi
}

@test "bench/loop: a leak healed by a restart; a latency fault escalated, nothing committed" {
	run -0 timeout -k 10 300 sh "$RUN" -k 'leak latency' -s 1 -l 1 -j 2 -w 90 -o "$OUT"
	echo "$output"
	r=$OUT/results.ndjson
	[ "$(wc -l < "$r")" -eq 2 ]
	# the leak: found within two windows, one restart of the culprit,
	# healed (the marketplace says so), verified, auto_resolved
	leak=$(jq -c 'select(.kind == "leak")' "$r")
	[ "$(jq -c '[.healed, .actions, .wrong_commits, .named, .outcome]' <<< "$leak")" = \
	    '[true,["restart"],0,"quote-service","auto_resolved"]' ]
	jq -e '.detect_ms <= 10000 and .fix_ms <= 30000 and .mttr_ms <= 60000' <<< "$leak"
	# the latency fault: the culprit named, a human called, no commit
	lat=$(jq -c 'select(.kind == "latency")' "$r")
	[ "$(jq -c '[.escalated_right, .commits, .named, .proposal]' <<< "$lat")" = \
	    '[true,0,"pricing-engine","observe"]' ]
	# the figures say so
	[[ $output == *"autonomous success over healable faults: 1/1 = 100%"* ]]
	[[ $output == *"unhealable faults escalated with the culprit and no commit: 1/1 = 100%"* ]]
	# and come back the same from the runs kept
	run -0 sh "$RUN" -r "$OUT"
	[[ $output == *"wrong commits: 0/1 = 0%"* ]]
}

@test "bench/loop: bad usage is 64" {
	run -64 sh "$RUN" -k nope
	[[ $output == *"unknown fault kind 'nope'"* ]]
	run -64 sh "$RUN" -j 0
	run -64 sh "$RUN" -r /nonexistent
}
