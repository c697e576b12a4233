#!/usr/bin/env bats
# sre-bus: copies validated event lines between bus ends.

load helper

F=$FIXTURES/bus

@test "--help prints usage on stdout and exits 0" {
	run -0 --separate-stderr sre-bus --help
	[[ $output == "usage: sre-bus "* ]]
	[ -z "$stderr" ]
}

@test "--version prints the name and version" {
	run -0 --separate-stderr sre-bus --version
	[[ $output =~ ^sre-bus\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
}

@test "a bad option exits 64 with usage on stderr" {
	run -64 --separate-stderr sre-bus --no-such-option
	[[ $stderr == *"usage: sre-bus"* ]]
	[ -z "$output" ]
	run -64 --separate-stderr sre-bus extra-argument
	[[ $stderr == *"unexpected argument: extra-argument"* ]]
	run -64 --separate-stderr sre-bus --max-line abc
	[[ $stderr == *"--max-line abc"* ]]
}

@test "valid events pass through byte for byte, unknown fields and types too" {
	run -0 --separate-stderr sre-bus < "$F/events.ndjson"
	diff -u "$F/events.ndjson" <(printf '%s\n' "$output")
	[ -z "$stderr" ]
	assert_no_sanitizer
}

@test "empty input gives no output and exit 0" {
	run -0 --separate-stderr sre-bus < /dev/null
	[ -z "$output" ]
	[ -z "$stderr" ]
}

@test "blank lines are skipped silently" {
	run -0 --separate-stderr sre-bus < <(printf '\n  \n'; sed -n 1p "$F/events.ndjson"; printf '\n')
	[ "$output" = "$(sed -n 1p "$F/events.ndjson")" ]
}

@test "bad lines are reported by number and field; the good ones flow in order" {
	run -65 --separate-stderr sre-bus < "$F/mixed.ndjson"
	diff -u "$F/mixed.expected" <(printf '%s\n' "$output")
	diff -u "$F/mixed.stderr" <(printf '%s\n' "$stderr")
	assert_no_sanitizer
}

@test "a last line without a newline still counts" {
	run -0 --separate-stderr sre-bus < <(head -c -1 "$F/events.ndjson")
	diff -u "$F/events.ndjson" <(printf '%s\n' "$output")
}

@test "truncated JSON at the end of input is reported, not a crash" {
	run -65 --separate-stderr sre-bus < <(sed -n 1p "$F/events.ndjson"; sed -n 2p "$F/events.ndjson" | head -c 50)
	[ "$output" = "$(sed -n 1p "$F/events.ndjson")" ]
	[[ $stderr == "sre-bus: line 2: not JSON: "* ]]
	assert_no_sanitizer
}

@test "binary garbage is rejected line by line and never echoed" {
	head -c 20000 /dev/urandom > "$BATS_TEST_TMPDIR/garbage"
	{ sed -n 1p "$F/events.ndjson"; cat "$BATS_TEST_TMPDIR/garbage"; printf '\n'; sed -n 2p "$F/events.ndjson"; } > "$BATS_TEST_TMPDIR/in"
	run -65 --separate-stderr sre-bus < "$BATS_TEST_TMPDIR/in"
	diff -u <(sed -n 1,2p "$F/events.ndjson") <(printf '%s\n' "$output")
	# Every diagnostic is one printable line naming its line number.
	while IFS= read -r l; do
		[[ $l =~ ^sre-bus:\ line\ [0-9]+:\ [[:print:]]+$ ]]
	done <<< "$stderr"
	assert_no_sanitizer
}

@test "a 20 MiB line is rejected as too long; the lines around it flow" {
	{ sed -n 1p "$F/events.ndjson"
	  printf '{"v":1,"type":"audit","id":"big","ts_ms":1,"source":"x","pad":"'
	  head -c 20971520 /dev/zero | tr '\0' a
	  printf '"}\n'
	  sed -n 2p "$F/events.ndjson"; } > "$BATS_TEST_TMPDIR/big"
	run -65 --separate-stderr sre-bus < "$BATS_TEST_TMPDIR/big"
	diff -u <(sed -n 1,2p "$F/events.ndjson") <(printf '%s\n' "$output")
	[[ $stderr == "sre-bus: line 2: line too long (20971585 bytes"* ]]
}

@test "--max-line sets the limit; a line at the limit passes" {
	line=$(sed -n 5p "$F/events.ndjson")
	run -0 --separate-stderr sre-bus --max-line ${#line} <<< "$line"
	[ "$output" = "$line" ]
	run -65 --separate-stderr sre-bus --max-line $(( ${#line} - 1 )) <<< "$line"
	[ -z "$output" ]
	[[ $stderr == *"line 1: line too long"* ]]
}

@test "JSON that libjq would take but the grammar does not is rejected" {
	run -65 --separate-stderr sre-bus --raw <<< '{"n":nan}'
	[ "$stderr" = "sre-bus: line 1: not JSON: invalid literal at byte 5" ]
	run -65 --separate-stderr sre-bus --raw <<< "{'a':1}"
	[ -z "$output" ]
}

@test "SIGTERM after a rejected line still exits 0" {
	fifo=$BATS_TEST_TMPDIR/fifo
	mkfifo "$fifo"
	sre-bus < "$fifo" > "$BATS_TEST_TMPDIR/out" 2> "$BATS_TEST_TMPDIR/err" &
	pid=$!
	exec 5> "$fifo"
	echo 'garbage' >&5
	sed -n 1p "$F/events.ndjson" >&5
	for i in $(seq 50); do [ -s "$BATS_TEST_TMPDIR/out" ] && break; sleep 0.1; done
	kill -TERM $pid
	rc=0; wait $pid || rc=$?
	exec 5>&-
	[ "$rc" -eq 0 ]
	grep -q 'line 1: not JSON' "$BATS_TEST_TMPDIR/err"
}

@test "an unreadable input file is 66" {
	[ "$(id -u)" -ne 0 ] || skip "root reads everything"
	touch "$BATS_TEST_TMPDIR/secret"; chmod 000 "$BATS_TEST_TMPDIR/secret"
	run -66 --separate-stderr sre-bus --in "file:$BATS_TEST_TMPDIR/secret"
}

@test "deeply nested JSON is rejected, not a stack overflow" {
	run -65 --separate-stderr sre-bus < <(python3 -c 'print("{\"a\":" * 100000)')
	[[ $stderr == "sre-bus: line 1: not JSON: "* ]]
	assert_no_sanitizer
}

@test "--raw passes any JSON object" {
	run -0 --separate-stderr sre-bus --raw <<< '{"resourceSpans":[]}'
	[ "$output" = '{"resourceSpans":[]}' ]
	run -65 --separate-stderr sre-bus <<< '{"resourceSpans":[]}'
	[ -z "$output" ]
	[[ $stderr == *"field 'v'"* ]]
}

@test "--filter passes only the types named" {
	run -0 --separate-stderr sre-bus --filter anomaly,recovery < "$F/events.ndjson"
	diff -u <(grep -E '"type":"(anomaly|recovery)"' "$F/events.ndjson") <(printf '%s\n' "$output")
	run -0 --separate-stderr sre-bus --filter x-custom -q < "$F/events.ndjson"
	[ "$output" = "$(sed -n 7p "$F/events.ndjson")" ]
	run -64 --separate-stderr sre-bus --filter ,
	[[ $stderr == *"empty type list"* ]]
}

@test "file: URLs read a file and append to one" {
	out=$BATS_TEST_TMPDIR/out.ndjson
	run -0 --separate-stderr sre-bus --in "file:$F/events.ndjson" --out "file:$out"
	[ -z "$output" ]
	run -0 --separate-stderr sre-bus --in "file:$F/events.ndjson" --out "file:$out"
	diff -u <(cat "$F/events.ndjson" "$F/events.ndjson") "$out"
}

@test "a missing input file exits 66 naming the file" {
	run -66 --separate-stderr sre-bus --in file:/nonexistent/events.ndjson
	[ "$stderr" = "sre-bus: /nonexistent/events.ndjson: No such file or directory" ]
}

@test "an output that cannot be created exits 73" {
	run -73 --separate-stderr sre-bus --out file:/nonexistent/dir/out < "$F/events.ndjson"
	[[ $stderr == "sre-bus: /nonexistent/dir/out: "* ]]
}

@test "bus URLs: unknown schemes are configuration errors, junk is usage" {
	run -78 --separate-stderr sre-bus --in nats://localhost/x
	[[ $stderr == *"unsupported bus scheme 'nats'"* ]]
	run -64 --separate-stderr sre-bus --in not-a-url
	[[ $stderr == *"not a bus URL"* ]]
}

@test "a full disk is an I/O error (74), reported" {
	[ -w /dev/full ] || skip "no /dev/full"
	run -74 --separate-stderr sre-bus --out file:/dev/full < "$F/events.ndjson"
	[[ $stderr == "sre-bus: writing output to file:/dev/full failed: No space left on device" ]]
	run -74 --separate-stderr bash -c 'sre-bus < "$1" > /dev/full' _ "$F/events.ndjson"
}

@test "a closed pipe downstream ends the tool quietly with 0" {
	for i in $(seq 2000); do cat "$F/events.ndjson"; done > "$BATS_TEST_TMPDIR/many"
	run -0 --separate-stderr bash -c 'sre-bus < "$1" 2>"$2" | head -n 1 >/dev/null; exit ${PIPESTATUS[0]}' _ "$BATS_TEST_TMPDIR/many" "$BATS_TEST_TMPDIR/err"
	[ ! -s "$BATS_TEST_TMPDIR/err" ]
}

@test "SIGTERM: the line in hand is flushed and the exit is 0" {
	fifo=$BATS_TEST_TMPDIR/fifo
	mkfifo "$fifo"
	sre-bus < "$fifo" > "$BATS_TEST_TMPDIR/out" 2> "$BATS_TEST_TMPDIR/err" &
	pid=$!
	exec 5> "$fifo"
	sed -n 1p "$F/events.ndjson" >&5
	for i in $(seq 50); do [ -s "$BATS_TEST_TMPDIR/out" ] && break; sleep 0.1; done
	kill -TERM $pid
	rc=0; wait $pid || rc=$?
	exec 5>&-
	[ "$rc" -eq 0 ]
	[ "$(cat "$BATS_TEST_TMPDIR/out")" = "$(sed -n 1p "$F/events.ndjson")" ]
	check_sanitizers "$BATS_TEST_TMPDIR/err"
}

@test "--sign signs control events with the key; other lines pass byte for byte" {
	run -0 --separate-stderr sre-bus --sign < "$F/events.ndjson"
	[ "$(printf '%s\n' "$output" | wc -l)" -eq "$(wc -l < "$F/events.ndjson")" ]
	# non-control lines unchanged; control lines the same but for the mac
	diff -u <(jq -c 'select(.type | IN("diagnosis", "verdict", "action") | not)' "$F/events.ndjson") \
	    <(printf '%s\n' "$output" | jq -c 'select(.type | IN("diagnosis", "verdict", "action") | not)')
	diff -u <(jq -cS 'select(.type | IN("diagnosis", "verdict", "action")) | del(.mac)' "$F/events.ndjson") \
	    <(printf '%s\n' "$output" | jq -cS 'select(.type | IN("diagnosis", "verdict", "action")) | del(.mac)')
	n=$(printf '%s\n' "$output" | jq -r 'select(.type | IN("diagnosis", "verdict", "action")) | .mac' | grep -Ecx '[0-9a-f]{64}')
	[ "$n" -eq "$(jq -c 'select(.type | IN("diagnosis", "verdict", "action"))' "$F/events.ndjson" | wc -l)" ]
	[ "$n" -gt 0 ]
	# a key of the wrong shape, or a key file others can read: 78
	SRE_CONTROL_KEY=1234 run -78 --separate-stderr sre-bus --sign < /dev/null
	[ "$stderr" = "sre-bus: SRE_CONTROL_KEY: not a control key (want 64 hex digits)" ]
	unset SRE_CONTROL_KEY
	cd "$BATS_TEST_TMPDIR"
	mkdir st
	run -0 --separate-stderr sre-bus --sign --state-dir st < /dev/null
	[ "$(stat -c %a st/control.key)" = 600 ]
	chmod 604 st/control.key
	run -78 --separate-stderr sre-bus --sign --state-dir st < /dev/null
	[[ $stderr == *"st/control.key: mode 0604 lets others at the control key"* ]]
	# without --sign no key is needed, and none is made
	run -0 --separate-stderr sre-bus --state-dir st2 < "$F/events.ndjson"
	[ ! -e st2 ]
}
