#!/usr/bin/env bats
# sre-govern: the runtime governor.

load helper

setup() {
	export SRE_STATE_DIR=$BATS_TEST_TMPDIR/state
	unset MEMORY_THRESHOLD_MB MAX_LLM_CONCURRENCY ENV
}

@test "--help, --version, and bad usage (64)" {
	run -0 --separate-stderr sre-govern --help
	[[ $output == "usage: sre-govern "* ]]
	run -0 --separate-stderr sre-govern --version
	[[ $output =~ ^sre-govern\ [0-9.]+$ ]]
	run -64 --separate-stderr sre-govern --threshold lots
	[[ $stderr == "sre-govern: --threshold lots: want a number of at least 0" ]]
	run -64 --separate-stderr sre-govern --threshold 100 --low 200 --once
	[[ $stderr == *"above the threshold"* ]]
	run -64 --separate-stderr sre-govern --pid 1 --cgroup /sys/fs/cgroup
	[[ $stderr == *"govern one thing"* ]]
	run -64 --separate-stderr sre-govern --once -- true
	run -64 --separate-stderr sre-govern --interval 0
	run -64 --separate-stderr sre-govern --pid notapid
}

@test "--once prints one valid governor event and writes no state" {
	run -0 --separate-stderr sre-govern --once
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 1 ]
	printf '%s\n' "$output" | sre-bus > /dev/null
	[ "$(jq -r '.type,.mode,.source,.threshold_bytes,.sample_rate,.llm_concurrency,.reason' <<< "$output" | tr '\n' ' ')" = "governor normal sre-govern 0 1 0 once " ]
	[ "$(jq '.rss_bytes > 0' <<< "$output")" = true ]
	[ ! -e "$SRE_STATE_DIR/governor.json" ]
	assert_no_sanitizer
}

@test "profiles: ENV=cloud governs at 450 MB with sampling 0.1 and one LLM call" {
	ENV=cloud run -0 --separate-stderr sre-govern --once
	[ "$(jq -c '[.threshold_bytes,.sample_rate,.llm_concurrency]' <<< "$output")" = "[471859200,0.1,1]" ]
	ENV=cloud MEMORY_THRESHOLD_MB=300 MAX_LLM_CONCURRENCY=3 run -0 --separate-stderr sre-govern --once
	[ "$(jq -c '[.threshold_bytes,.llm_concurrency]' <<< "$output")" = "[314572800,3]" ]
	MEMORY_THRESHOLD_MB=300 run -0 --separate-stderr sre-govern --once --threshold 200
	[ "$(jq .threshold_bytes <<< "$output")" = 209715200 ]
	MEMORY_THRESHOLD_MB=lots run -78 --separate-stderr sre-govern --once
	[[ $stderr == "sre-govern: MEMORY_THRESHOLD_MB=lots: want a number >= 0" ]]
}

@test "a real memory hog: degraded within 2 s of crossing, normal after it exits, no flapping" {
	unset SRE_NOW
	hog=$BATS_TEST_TMPDIR/hog.ts
	run -0 --separate-stderr sre-govern --threshold 100 --hold 0.5 --recover 1 --interval 0.2 --period 60 -- \
	    sh -c 'sleep 1; python3 -c "
import time, sys
x = b\"\\x01\" * (300 * 2**20)
open(sys.argv[1], \"w\").write(str(int(time.time() * 1000)))
time.sleep(2.5)" "$1"; sleep 2.5' _ "$hog"
	modes=$(jq -r .mode <<< "$output" | tr '\n' ' ')
	[ "$modes" = "normal degraded normal " ]
	crossed=$(cat "$hog")
	degraded_at=$(jq -r 'select(.mode=="degraded") | .ts_ms' <<< "$output")
	[ $((degraded_at - crossed)) -le 2000 ]
	[ "$(jq -r 'select(.mode=="degraded") | .rss_bytes > 300*1024*1024' <<< "$output")" = true ]
	# The transitions are logged on stderr, one line each.
	[ "$(grep -c '^sre-govern: degraded: usage' <<< "$stderr")" -eq 1 ]
	[ "$(grep -c '^sre-govern: normal: usage' <<< "$stderr")" -eq 1 ]
	# The state file says normal again, with the knobs of normal.
	[ "$(jq -c '[.mode,.llm_concurrency,.loop_interval_s,.sample_rate]' "$SRE_STATE_DIR/governor.json")" = '["normal",0,60,1]' ]
	assert_no_sanitizer
}

@test "the state file is replaced atomically and says degraded while degraded" {
	sre-govern --threshold 0.001 --hold 0 --interval 0.1 -- sleep 1.5 > "$BATS_TEST_TMPDIR/out" 2>/dev/null &
	pid=$!
	for i in $(seq 50); do [ -s "$SRE_STATE_DIR/governor.json" ] && break; sleep 0.1; done
	sleep 0.5
	[ "$(jq -r .mode "$SRE_STATE_DIR/governor.json")" = degraded ]
	[ "$(jq -c '[.llm_concurrency,.loop_interval_s,.sample_rate]' "$SRE_STATE_DIR/governor.json")" = '[1,120,0.5]' ]
	wait $pid
	# No temporary file is left behind.
	[ "$(ls -A "$SRE_STATE_DIR")" = governor.json ]
}

@test "supervisor mode passes on the child's exit status" {
	run -3 --separate-stderr sre-govern --interval 0.1 -- sh -c 'exit 3'
	run -0 --separate-stderr sre-govern --interval 0.1 -- true
	[ "$(jq -r .type <<< "$output" | head -1)" = governor ]
}

@test "SIGTERM is forwarded to the child and the governor exits 0" {
	sre-govern --interval 0.1 -- sleep 30 > /dev/null 2> "$BATS_TEST_TMPDIR/err" &
	pid=$!
	sleep 0.5
	child=$(pgrep -P $pid sleep)
	[ -n "$child" ]
	start=$(date +%s)
	kill -TERM $pid
	rc=0; wait $pid || rc=$?
	[ "$rc" -eq 0 ]
	[ $(( $(date +%s) - start )) -lt 5 ]
	! kill -0 "$child" 2>/dev/null
	check_sanitizers "$BATS_TEST_TMPDIR/err"
}

@test "pids and pidfiles: gone processes count as zero, not an error" {
	sleep 5 & spid=$!
	echo $spid > "$BATS_TEST_TMPDIR/pidfile"
	run -0 --separate-stderr sre-govern --once --pidfile "$BATS_TEST_TMPDIR/pidfile" --pidfile /nonexistent/pid
	[ "$(jq '.rss_bytes > 0' <<< "$output")" = true ]
	run -0 --separate-stderr sre-govern --once --pid $spid
	[ "$(jq '.rss_bytes > 0' <<< "$output")" = true ]
	kill $spid
}

@test "errors: a missing cgroup (78), a command that does not exist (69), an unwritable state dir (73), a full disk (74)" {
	run -78 --separate-stderr sre-govern --once --cgroup /nonexistent/cgroup
	[[ $stderr == *"not a cgroup v2 directory"* ]]
	run -69 --separate-stderr sre-govern -- /nonexistent/command
	[[ $stderr == "sre-govern: cannot run /nonexistent/command: No such file or directory" ]]
	run -73 --separate-stderr sre-govern --state-dir /proc/nope -- true
	[[ $stderr == *"cannot create state directory /proc/nope"* ]]
	if [ -w /dev/full ]; then
		run -74 --separate-stderr sre-govern --once --out file:/dev/full
	fi
}
