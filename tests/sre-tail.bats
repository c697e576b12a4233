#!/usr/bin/env bats
# sre-tail: events said in plain lines.

load helper

F=$FIXTURES/tail
export TZ=UTC

setup() {
	cd "$BATS_TEST_TMPDIR" || return 1
}

@test "--help prints usage on stdout and exits 0; bad usage exits 64" {
	run -0 --separate-stderr sre-tail --help
	[[ $output == "usage: sre-tail "* ]]
	[ -z "$stderr" ]
	run -64 --separate-stderr sre-tail --no-such-option
	[[ $stderr == *"usage: sre-tail"* ]]
	run -64 --separate-stderr sre-tail a b
	[[ $stderr == *"one input"* ]]
	run -64 --separate-stderr sre-tail -o file:x
	[[ $stderr == *"--out"* ]]
}

@test "every kind of event, said in one order, from a file, stdin and --in" {
	run -0 --separate-stderr sre-tail "$F/loop.ndjson"
	diff -u "$F/loop.expected" <(printf '%s\n' "$output")
	assert_no_sanitizer
	run -0 --separate-stderr sre-tail < "$F/loop.ndjson"
	diff -u "$F/loop.expected" <(printf '%s\n' "$output")
	run -0 --separate-stderr sre-tail --in "file:$F/loop.ndjson"
	diff -u "$F/loop.expected" <(printf '%s\n' "$output")
	run -0 --separate-stderr sre-tail -v "$F/loop.ndjson"
	[[ $output == *"topology (sre-scout)"* ]]
}

@test "lines that are not events are named and skipped, the rest said; exit 65" {
	{ head -1 "$F/loop.ndjson"; echo 'not json'
	  echo '{"resourceSpans":[]}'; tail -1 "$F/loop.ndjson"; } > in
	run -65 --separate-stderr sre-tail in
	[[ $stderr == *"in:2: not JSON"* ]]
	[[ $stderr == *"in:3: not an event"*"sre-scout"* ]]
	[[ $output == *"anomaly: quote-api"*"post-mortem"* ]]
	assert_no_sanitizer
}

@test "a missing file is 66; a closed output pipe ends it quietly; /dev/full is 74" {
	run -66 --separate-stderr sre-tail nonexistent
	[[ $stderr == *"nonexistent"* ]]
	run -0 --separate-stderr bash -c "sre-tail '$F/loop.ndjson' | head -1"
	run -74 --separate-stderr bash -c "sre-tail '$F/loop.ndjson' > /dev/full"
	[[ $stderr == *"writing output failed"* ]]
}

@test "-f follows a file as it grows, a half-written line included, until SIGTERM" {
	head -1 "$F/loop.ndjson" > grow
	sre-tail -f grow > out 2> err &
	pid=$!
	sleep 0.5
	line=$(tail -1 "$F/loop.ndjson")
	printf '%s' "${line:0:40}" >> grow
	sleep 0.3
	printf '%s\n' "${line:40}" >> grow
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		grep -q post-mortem out && break
		sleep 0.2
	done
	kill -TERM "$pid"
	wait "$pid"
	grep -q 'anomaly: quote-api' out
	grep -q 'post-mortem (sre-curate) of incident inc-1' out
	[ "$(wc -l < out)" -eq 2 ]
	check_sanitizers err
}

@test "terminal escapes in an event's fields are said as blanks; a last line without its newline is said" {
	printf '%s' '{"v":1,"type":"error","id":"E1","ts_ms":1700000000000,"source":"x\u001b]0;owned\u0007","detail":"a\u001b[2Jb\u009bc\nd"}' > esc
	run -0 --separate-stderr sre-tail esc
	[ "$output" = "22:13:20 error (x ]0;owned ): a [2Jb  c d" ]
	! printf '%s' "$output" | LC_ALL=C grep -q $'[\x01-\x1f\x7f]'
}

@test "a long line over --max-line is reported and skipped" {
	{ head -1 "$F/loop.ndjson"; printf '{"type":"x","pad":"%0120000d"}\n' 0
	  tail -1 "$F/loop.ndjson"; } > big
	run -65 --separate-stderr sre-tail --max-line 100000 big
	[[ $stderr == *"line too long"* ]]
	[[ $output == *"anomaly"*"post-mortem"* ]]
}
