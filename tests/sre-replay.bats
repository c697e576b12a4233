#!/usr/bin/env bats
# sre-replay: replays recorded telemetry at a chosen speed.

load helper

F=$FIXTURES/replay

@test "--help, --version, and bad usage (64)" {
	run -0 --separate-stderr sre-replay --help
	[[ $output == "usage: sre-replay "* ]]
	run -0 --separate-stderr sre-replay --version
	[[ $output =~ ^sre-replay\ [0-9.]+$ ]]
	run -64 --separate-stderr sre-replay --bogus
	[[ $stderr == *"usage: sre-replay"* ]]
	for s in 0 -1 abc 1x inf nan; do
		run -64 --separate-stderr sre-replay --speed "$s" "$F/traces.ndjson"
		[[ $stderr == "sre-replay: --speed $s: want a number above 0" ]]
	done
	run -64 --separate-stderr sre-replay a b
	run -64 --separate-stderr sre-replay --in "file:$F/traces.ndjson" "$F/traces.ndjson"
	run -64 --separate-stderr sre-replay --loops 0 "$F/traces.ndjson"
}

@test "by default lines come out as recorded, byte for byte" {
	run -0 --separate-stderr sre-replay "$F/traces.ndjson"
	diff -u "$F/traces.ndjson" <(printf '%s\n' "$output")
	run -0 --separate-stderr sre-replay < "$F/traces.ndjson"
	diff -u "$F/traces.ndjson" <(printf '%s\n' "$output")
	run -0 --separate-stderr sre-replay --in "file:$F/traces.ndjson"
	diff -u "$F/traces.ndjson" <(printf '%s\n' "$output")
	assert_no_sanitizer
}

@test "--rebase-time shifts ns, us and ms timestamps exactly so the first record is now" {
	SRE_NOW=1800000000000 run -0 --separate-stderr sre-replay --rebase-time "$F/traces.ndjson"
	diff -u "$F/rebased.expected" <(printf '%s\n' "$output")
}

@test "--loops N replays N times, each pass later than the last" {
	run -0 --separate-stderr sre-replay --loops 3 "$F/traces.ndjson"
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 15 ]
	# The first pass is unchanged; each later one starts a mean gap
	# (1.877 s / 4) after the last ended: every 2.345679013 s.
	diff -u "$F/traces.ndjson" <(printf '%s\n' "$output" | head -n 5)
	starts=$(printf '%s\n' "$output" | sed -n '1p;6p;11p' | jq -r '.resourceSpans[0].scopeSpans[0].spans[0].startTimeUnixNano')
	[ "$starts" = "$(printf '1700000000123456789\n1700000002469135802\n1700000004814814815')" ]
}

@test "--loop on standard input is a usage error" {
	run -64 --separate-stderr sre-replay --loop < "$F/traces.ndjson"
	[[ $stderr == *"--loop needs a file"* ]]
}

@test "--speed paces records by their recorded gaps" {
	# Records span 1.88 s; at speed 4 that is about 0.47 s of wall time.
	start=$(date +%s%N)
	run -0 --separate-stderr sre-replay --speed 4 "$F/traces.ndjson"
	end=$(date +%s%N)
	diff -u "$F/traces.ndjson" <(printf '%s\n' "$output")
	elapsed_ms=$(( (end - start) / 1000000 ))
	[ "$elapsed_ms" -ge 400 ]
	[ "$elapsed_ms" -lt 10000 ]
}

@test "records are written as they are due, not at the end" {
	sre-replay --speed 1 "$F/traces.ndjson" > "$BATS_TEST_TMPDIR/out" 2>&1 &
	pid=$!
	sleep 0.8
	n=$(wc -l < "$BATS_TEST_TMPDIR/out")
	wait $pid
	# After 0.8 s of a 1.88 s recording, some but not all lines are out.
	[ "$n" -ge 1 ]
	[ "$n" -lt 5 ]
	[ "$(wc -l < "$BATS_TEST_TMPDIR/out")" -eq 5 ]
}

@test "bad lines are reported with their number; good lines flow in order" {
	{ sed -n 1p "$F/traces.ndjson"
	  printf '%s\n' '{"resourceSpans":[{"resource":'
	  sed -n 2p "$F/traces.ndjson"
	  printf '%s\n' 'plain text'
	  printf '%s\n' '{"a":"bad \x escape"}'
	  printf '%s\n' '{"a":1}{"b":2}'
	  printf '%s\n' '[1,2]'
	  sed -n 3,5p "$F/traces.ndjson"; } > "$BATS_TEST_TMPDIR/in"
	run -65 --separate-stderr sre-replay "$BATS_TEST_TMPDIR/in"
	diff -u "$F/traces.ndjson" <(printf '%s\n' "$output")
	diff -u - <(printf '%s\n' "$stderr") <<-EOF
	sre-replay: $BATS_TEST_TMPDIR/in:2: truncated JSON: expected a value at end of line (byte 30)
	sre-replay: $BATS_TEST_TMPDIR/in:4: bad JSON at byte 0: not a JSON object
	sre-replay: $BATS_TEST_TMPDIR/in:5: bad JSON at byte 11: bad escape in string
	sre-replay: $BATS_TEST_TMPDIR/in:6: bad JSON at byte 7: extra data after the object
	sre-replay: $BATS_TEST_TMPDIR/in:7: bad JSON at byte 0: not a JSON object
	EOF
}

@test "empty input, binary garbage and a 20 MiB line do no harm" {
	run -0 --separate-stderr sre-replay /dev/null
	[ -z "$output$stderr" ]
	{ sed -n 1p "$F/traces.ndjson"; head -c 30000 /dev/urandom; printf '\n'
	  printf '{"pad":"'; head -c 20971520 /dev/zero | tr '\0' a; printf '"}\n'
	  sed -n 2p "$F/traces.ndjson"; } > "$BATS_TEST_TMPDIR/in"
	run -65 --separate-stderr sre-replay "$BATS_TEST_TMPDIR/in"
	diff -u <(sed -n 1,2p "$F/traces.ndjson") <(printf '%s\n' "$output")
	[[ $stderr == *"line too long (20971530 bytes"* ]]
	while IFS= read -r l; do
		[[ $l =~ ^sre-replay:\ [^:]+:[0-9]+:\ [[:print:]]+$ ]]
	done <<< "$stderr"
	assert_no_sanitizer
}

@test "timestamps that are not integers or would overflow are left alone" {
	in='{"startTimeUnixNano":"12abc","timeUnixNano":1.5e18,"ts_ms":"x","endTimeUnixNano":"99999999999999999999"}'
	SRE_NOW=1800000000000 run -0 --separate-stderr sre-replay --rebase-time <<< "$in"
	[ "$output" = "$in" ]
	SRE_NOW=1800000000000 run -0 --separate-stderr sre-replay --rebase-time <<< '{"ts_ms":1000,"x":{"ts_ms":"2000"}}'
	[ "$output" = '{"ts_ms":1800000000000,"x":{"ts_ms":"1800000001000"}}' ]
}

@test "a missing recording exits 66 naming it" {
	run -66 --separate-stderr sre-replay /nonexistent/rec.ndjson
	[ "$stderr" = "sre-replay: /nonexistent/rec.ndjson: No such file or directory" ]
}

@test "a full disk is an I/O error (74)" {
	[ -w /dev/full ] || skip "no /dev/full"
	run -74 --separate-stderr sre-replay --out file:/dev/full "$F/traces.ndjson"
	[[ $stderr == *"No space left on device"* ]]
}

@test "SIGTERM during a slow replay flushes what was sent and exits 0" {
	sre-replay --speed 0.01 "$F/traces.ndjson" > "$BATS_TEST_TMPDIR/out" 2> "$BATS_TEST_TMPDIR/err" &
	pid=$!
	for i in $(seq 50); do [ -s "$BATS_TEST_TMPDIR/out" ] && break; sleep 0.1; done
	kill -TERM $pid
	rc=0; wait $pid || rc=$?
	[ "$rc" -eq 0 ]
	[ "$(cat "$BATS_TEST_TMPDIR/out")" = "$(sed -n 1p "$F/traces.ndjson")" ]
	check_sanitizers "$BATS_TEST_TMPDIR/err"
}

@test "a closed pipe ends a looping replay quietly" {
	run -0 --separate-stderr bash -c 'sre-replay --loop "$1" 2>"$2" | head -n 3 >/dev/null; exit ${PIPESTATUS[0]}' _ "$F/traces.ndjson" "$BATS_TEST_TMPDIR/err"
	[ ! -s "$BATS_TEST_TMPDIR/err" ]
}

@test "a metric point is dated by its time, not its counter's start; 0 means unknown" {
	in='{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"reqs","sum":{"dataPoints":[{"startTimeUnixNano":"1600000000000000000","timeUnixNano":"1700000000000000000","asInt":"5"}]}}]}]}]}'
	SRE_NOW=1800000000000 run -0 --separate-stderr sre-replay --rebase-time <<< "$in"
	[ "$(jq -r '.resourceMetrics[0].scopeMetrics[0].metrics[0].sum.dataPoints[0] | .timeUnixNano + " " + .startTimeUnixNano' <<< "$output")" = "1800000000000000000 1700000000000000000" ]
	in='{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"timeUnixNano":"0","observedTimeUnixNano":"1700000000000000000"}]}]}]}'
	SRE_NOW=1800000000000 run -0 --separate-stderr sre-replay --rebase-time <<< "$in"
	[ "$(jq -r '.resourceLogs[0].scopeLogs[0].logRecords[0] | .timeUnixNano + " " + .observedTimeUnixNano' <<< "$output")" = "0 1800000000000000000" ]
	in='{"__REALTIME_TIMESTAMP":"1700000000000000","_SOURCE_REALTIME_TIMESTAMP":"1699999999000000","MESSAGE":"x"}'
	SRE_NOW=1800000000000 run -0 --separate-stderr sre-replay --rebase-time <<< "$in"
	[ "$output" = '{"__REALTIME_TIMESTAMP":"1800000001000000","_SOURCE_REALTIME_TIMESTAMP":"1800000000000000","MESSAGE":"x"}' ]
}

@test "--loop on standard input is refused before anything is read" {
	run -64 --separate-stderr sre-replay --loop < "$F/traces.ndjson"
	[ -z "$output" ]
}
