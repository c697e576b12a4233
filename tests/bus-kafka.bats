#!/usr/bin/env bats
# The Kafka bus back-end, against librdkafka's mock cluster (which speaks
# the real Kafka protocol) served by tests/mock/kafka-mock on loopback.

load helper

setup_file() {
	"$SRE_ROOT/tests/mock/kafka-mock" rt ack alo bad > "$BATS_FILE_TMPDIR/boot" 2>&1 3>&- &
	echo $! > "$BATS_FILE_TMPDIR/mock.pid"
	for i in $(seq 50); do
		[ -s "$BATS_FILE_TMPDIR/boot" ] && break
		sleep 0.1
	done
	[ -s "$BATS_FILE_TMPDIR/boot" ]
}

teardown_file() {
	kill "$(cat "$BATS_FILE_TMPDIR/mock.pid")" 2>/dev/null || true
}

F=$FIXTURES/bus

url() {	# topic, then query
	echo "kafka://$(cat "$BATS_FILE_TMPDIR/boot")/$1${2:+?$2}"
}

@test "kafka: events produced to a topic come back byte for byte through a group" {
	run -0 --separate-stderr sre-bus --out "$(url rt)" < "$F/events.ndjson"
	run -0 --separate-stderr sre-bus --in "$(url rt 'group=a&drain=1')"
	diff -u "$F/events.ndjson" <(printf '%s\n' "$output")
	assert_no_sanitizer
}

@test "kafka: committed offsets are not read again by the group; another group reads all" {
	sre-bus --out "$(url ack)" < "$F/events.ndjson"
	run -0 --separate-stderr sre-bus --in "$(url ack 'group=a&drain=1')"
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 7 ]
	run -0 --separate-stderr sre-bus --in "$(url ack 'group=a&drain=1')"
	[ -z "$output" ]
	run -0 --separate-stderr sre-bus --in "$(url ack 'group=b&drain=1')"
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 7 ]
}

@test "kafka: at-least-once: lines handed to a tool killed before acknowledging come again" {
	# Seven 20 KB events: more than a pipe holds, so a consumer writing
	# into a FIFO nobody drains blocks before it can acknowledge.
	for i in 1 2 3 4 5 6 7; do
		printf '{"v":1,"type":"audit","id":"big-%s","ts_ms":1,"source":"t","pad":"%s"}\n' "$i" "$(head -c 20000 /dev/zero | tr '\0' a)"
	done > "$BATS_TEST_TMPDIR/big"
	sre-bus --out "$(url alo)" < "$BATS_TEST_TMPDIR/big"
	mkfifo "$BATS_TEST_TMPDIR/stuck"
	exec 6<> "$BATS_TEST_TMPDIR/stuck"
	sre-bus --in "$(url alo 'group=g&consumer=c1')" > "$BATS_TEST_TMPDIR/stuck" 2>/dev/null &
	pid=$!
	# Once some output arrives the consumer has read; it stays blocked.
	timeout 20 head -c 1000 <&6 > /dev/null
	kill -9 $pid
	wait $pid || true
	exec 6>&-
	run -0 --separate-stderr sre-bus --in "$(url alo 'group=g&consumer=c1&drain=1')"
	# Kafka commits after each line written out: the lines that reached
	# the pipe (at most 3 of 20 KB) were committed; every line after
	# them comes again, in order.
	n=$(printf '%s\n' "$output" | wc -l)
	[ "$n" -ge 4 ]
	printf '%s\n' "$output" | cmp -s - <(tail -n "$n" "$BATS_TEST_TMPDIR/big")
}

@test "kafka: bad lines are reported by message number; the rest flows" {
	{ echo 'not json'; sed -n 1p "$F/events.ndjson"; } |
	    kcat -P -b "$(cat "$BATS_FILE_TMPDIR/boot")" -t bad
	run -65 --separate-stderr sre-bus --in "$(url bad 'group=a&drain=1')"
	[ "$output" = "$(sed -n 1p "$F/events.ndjson")" ]
	[[ $stderr == "sre-bus: $(url bad 'group=a&drain=1'): message 1: not JSON: "* ]]
}

@test "kafka: an unreachable broker is 69" {
	run -69 --separate-stderr sre-bus --in kafka://127.0.0.1:1/x
	[[ $stderr == "sre-bus: kafka://127.0.0.1:1/x: broker 127.0.0.1:1 unreachable: "* ]]
}
