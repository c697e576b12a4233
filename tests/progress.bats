#!/usr/bin/env bats
# lib/core/progress: "so far" on standard error during long runs of
# sre-scout and sre-replay, only on a terminal and not with -q.  script(1)
# gives the tools a terminal; SRE_PROGRESS_MS=0 makes every check due.

load helper

setup() {
	cd "$BATS_TEST_TMPDIR" || return 1
	command -v script > /dev/null || skip "script(1) is not installed"
	gzip -dc "$SRE_ROOT/examples/traces/error.ndjson.gz" > traces.ndjson
	export SRE_PROGRESS_MS=0
}

# on_tty CMD: run CMD (a shell string) with a terminal as its stderr;
# what the terminal saw, carriage returns as newlines, in tty.out
on_tty() {
	script -qec "$1" /dev/null > tty.raw
	tr '\r' '\n' < tty.raw > tty.out
}

@test "sre-scout: lines, spans and anomalies so far on a terminal, cleared before the summary" {
	on_tty "sre-scout < traces.ndjson > events.ndjson"
	grep -qE '^sre-scout: [0-9]+ lines, [0-9]+ spans, 0 points, [0-9]+ log records, [0-9]+ anomalies so far' tty.out
	# the summary comes after the line is cleared, alone on its line
	grep -qE $'^\e\\[Ksre-scout: 475 lines, 17094 spans' tty.out
	# the events are the same as without a terminal
	sre-scout < traces.ndjson > plain.ndjson 2> plain.err
	diff <(jq -c 'del(.id)' events.ndjson) <(jq -c 'del(.id)' plain.ndjson)
	# no progress when standard error is not a terminal
	! grep -q 'so far' plain.err
}

@test "sre-scout -q: no progress, even on a terminal" {
	on_tty "sre-scout -q < traces.ndjson > /dev/null"
	! grep -q 'so far' tty.out
	! grep -q 'lines,' tty.out
}

@test "sre-replay: records so far on a terminal; none with -q or off a terminal" {
	on_tty "sre-replay traces.ndjson > out.ndjson"
	grep -qE '^sre-replay: [0-9]+ records so far' tty.out
	cmp out.ndjson traces.ndjson
	on_tty "sre-replay -q traces.ndjson > /dev/null"
	! grep -q 'so far' tty.out
	run -0 --separate-stderr sre-replay traces.ndjson
	[[ $stderr != *"so far"* ]]
}
