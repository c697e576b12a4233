#!/usr/bin/env bats
# The Kafka bus back-end, against librdkafka's mock cluster (which speaks
# the real Kafka protocol) served by tests/mock/kafka-mock on loopback.

load helper

# A tree built without the mock (tests/mock/kafka-mock, `make`) skips the
# suite, one line per test; a mock that is there but does not start fails
# each test with the mock's own words, not with a cascade of bus errors.
setup_file() {
	[ -x "$SRE_ROOT/tests/mock/kafka-mock" ] || return 0
	"$SRE_ROOT/tests/mock/kafka-mock" rt ack alo bad kc1 kc2 keys > "$BATS_FILE_TMPDIR/boot" 2>&1 3>&- &
	echo $! > "$BATS_FILE_TMPDIR/mock.pid"
	for i in $(seq 50); do
		[ -s "$BATS_FILE_TMPDIR/boot" ] && break
		sleep 0.1
	done
}

setup() {
	[ -x "$SRE_ROOT/tests/mock/kafka-mock" ] ||
	    skip "tests/mock/kafka-mock is not built (make)"
	if ! grep -qE '^[0-9.]+:[0-9]+$' "$BATS_FILE_TMPDIR/boot" 2>/dev/null; then
		echo "kafka-mock did not start: $(cat "$BATS_FILE_TMPDIR/boot" 2>/dev/null)" >&2
		return 1
	fi
}

teardown_file() {
	[ -f "$BATS_FILE_TMPDIR/mock.pid" ] || return 0
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
	sre-bus --in "$(url alo 'group=g&consumer=c1&session_ms=3000')" > "$BATS_TEST_TMPDIR/stuck" 2>/dev/null &
	pid=$!
	# Once some output arrives the consumer has read; it stays blocked.
	timeout 20 head -c 1000 <&6 > /dev/null
	kill -9 $pid
	wait $pid || true
	exec 6>&-
	run -0 --separate-stderr sre-bus --in "$(url alo 'group=g&consumer=c1&session_ms=3000&drain=1')"
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

@test "kafka: an unreachable broker is retried for retry=, then 69" {
	SRE_BUS_RETRY=1s run -69 --separate-stderr sre-bus --in kafka://127.0.0.1:1/x
	[[ $stderr == "sre-bus: kafka://127.0.0.1:1/x: broker 127.0.0.1:1 unreachable: "*"(for 1000 ms)" ]]
	run -64 --separate-stderr sre-bus --in 'kafka://127.0.0.1:1/x?retry=soon'
	[[ $stderr == *"retry=soon: not a duration"* ]]
}

# mock NAME ARGS...: a mock cluster of this test's own; its pid in
# $BATS_TEST_TMPDIR/NAME.pid, its bootstrap servers in .../NAME.boot.
mock() {
	_n=$1
	shift
	"$SRE_ROOT/tests/mock/kafka-mock" "$@" > "$BATS_TEST_TMPDIR/$_n.boot" 2>&1 3>&- &
	echo $! > "$BATS_TEST_TMPDIR/$_n.pid"
	for i in $(seq 50); do [ -s "$BATS_TEST_TMPDIR/$_n.boot" ] && return 0; sleep 0.1; done
	return 1
}

@test "kafka: brokers absent at start are waited for; an outage is ridden out, a long one is 69" {
	mock m -D t
	u="kafka://$(cat "$BATS_TEST_TMPDIR/m.boot")/t"
	m=$(cat "$BATS_TEST_TMPDIR/m.pid")
	# Down at start: the writer retries until they are up.
	(sleep 1.5; kill -USR2 "$m") &
	sed -n 1p "$F/events.ndjson" | sre-bus --out "$u?retry=20s"
	sre-bus --in "$u?group=g&retry=3s" > "$BATS_TEST_TMPDIR/out" 2> "$BATS_TEST_TMPDIR/err" &
	pid=$!
	for i in $(seq 100); do [ -s "$BATS_TEST_TMPDIR/out" ] && break; sleep 0.1; done
	# Down for a second, then up: the reader goes on.
	kill -USR1 "$m"; sleep 1; kill -USR2 "$m"
	sed -n 3p "$F/events.ndjson" | sre-bus --out "$u"
	for i in $(seq 100); do [ "$(wc -l < "$BATS_TEST_TMPDIR/out")" -ge 2 ] && break; sleep 0.1; done
	[ "$(cat "$BATS_TEST_TMPDIR/out")" = "$(sed -n '1p;3p' "$F/events.ndjson")" ]
	# Down for good: 69 once retry= is spent.
	kill -USR1 "$m"
	rc=0; wait $pid || rc=$?
	kill "$m"
	[ "$rc" -eq 69 ]
	grep -q "every broker unreachable for 3000 ms" "$BATS_TEST_TMPDIR/err"
	check_sanitizers "$BATS_TEST_TMPDIR/err"
}

@test "kafka: a second consumer joining mid-stream (a rebalance) loses no event" {
	mock m -p 4 rb
	u="kafka://$(cat "$BATS_TEST_TMPDIR/m.boot")/rb"
	for i in $(seq 400); do
		printf '{"v":1,"type":"audit","id":"ev-%s","incident":"i%s","ts_ms":1,"source":"t"}\n' "$i" "$i"
	done > "$BATS_TEST_TMPDIR/in"
	sre-bus --in "$u?group=g&session_ms=3000" > "$BATS_TEST_TMPDIR/a" 2> "$BATS_TEST_TMPDIR/a.err" &
	a=$!
	head -200 "$BATS_TEST_TMPDIR/in" | sre-bus --out "$u"
	for i in $(seq 100); do [ "$(wc -l < "$BATS_TEST_TMPDIR/a")" -ge 200 ] && break; sleep 0.1; done
	sre-bus --in "$u?group=g&session_ms=3000" > "$BATS_TEST_TMPDIR/b" 2> "$BATS_TEST_TMPDIR/b.err" &
	b=$!
	sleep 4
	tail -200 "$BATS_TEST_TMPDIR/in" | sre-bus --out "$u"
	for i in $(seq 100); do [ "$(cat "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b" | wc -l)" -ge 400 ] && break; sleep 0.1; done
	kill -TERM $a $b
	wait $a $b
	kill "$(cat "$BATS_TEST_TMPDIR/m.pid")"
	# Both took part, and every id came out at least once.
	[ -s "$BATS_TEST_TMPDIR/b" ]
	diff <(jq -r .id "$BATS_TEST_TMPDIR/in" | sort) \
	    <(cat "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b" | jq -r .id | sort -u)
	check_sanitizers "$BATS_TEST_TMPDIR/a.err"
	check_sanitizers "$BATS_TEST_TMPDIR/b.err"
}

@test "kafka: kcat interoperates both ways" {
	boot=$(cat "$BATS_FILE_TMPDIR/boot")
	# kcat produces, sre-bus reads.
	sed -n 1p "$F/events.ndjson" | kcat -P -b "$boot" -t kc1
	run -0 --separate-stderr sre-bus --in "$(url kc1 'group=a&drain=1')"
	[ "$output" = "$(sed -n 1p "$F/events.ndjson")" ]
	# sre-bus produces, kcat reads: the same bytes, keyed by incident.
	sre-bus --out "$(url kc2)" < "$F/events.ndjson"
	run -0 --separate-stderr timeout 20 kcat -C -e -q -b "$boot" -t kc2 -f '%k %s\n'
	diff -u <(jq -r '"\(.incident // "") \(tojson)"' -c "$F/events.ndjson" | sort) \
	    <(printf '%s\n' "$output" | sort)
}

@test "kafka: telemetry is keyed by service; a request about several services is split" {
	boot=$(cat "$BATS_FILE_TMPDIR/boot")
	# Three resources of two services in one request; a metric point; a
	# journald record; an event.
	{
		printf '%s\n' '{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"a"}}]},"scopeSpans":[{"spans":[{"name":"x"}]}]},{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"b"}}]},"scopeSpans":[]},{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"a"}}]},"scopeSpans":[{"spans":[{"name":"y"}]}]}]}'
		printf '%s\n' '{"ts_ms":1,"metric":"cpu","value":1,"labels":{"service":"db","host":"h"}}'
		printf '%s\n' '{"ts_ms":1,"metric":"mem","value":1}'
		printf '%s\n' '{"_SYSTEMD_UNIT":"nginx.service","MESSAGE":"m","PRIORITY":"3"}'
	} | sre-bus --raw --out "$(url keys)"
	run -0 --separate-stderr timeout 20 kcat -C -e -q -b "$boot" -t keys -f '%k\t%s\n'
	expected='a	{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"a"}}]},"scopeSpans":[{"spans":[{"name":"x"}]}]},{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"a"}}]},"scopeSpans":[{"spans":[{"name":"y"}]}]}]}
b	{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"b"}}]},"scopeSpans":[]}]}
db	{"ts_ms":1,"metric":"cpu","value":1,"labels":{"service":"db","host":"h"}}
mem	{"ts_ms":1,"metric":"mem","value":1}
nginx.service	{"_SYSTEMD_UNIT":"nginx.service","MESSAGE":"m","PRIORITY":"3"}'
	diff -u <(printf '%s\n' "$expected") <(printf '%s\n' "$output")
	run -64 --separate-stderr sre-bus --out "$(url keys 'key=service')" < /dev/null
	[[ $stderr == *"key=service: want auto or none"* ]]
}

# anomalies FILE...: the anomalies of sre-scout output, one per series and
# window, sorted.
anomalies() {
	cat "$@" | jq -r 'select(.type == "anomaly") |
	    [.service, .operation, .signal, .window_start_ms] | @tsv' | sort
}

@test "kafka: 3 sre-scout in one group over 6 partitions: every message read once, each instance a share" {
	gzip -dc "$SRE_ROOT/examples/traces/latency.ndjson.gz" > "$BATS_TEST_TMPDIR/in"
	sre-scout --state-dir "$BATS_TEST_TMPDIR/one" < "$BATS_TEST_TMPDIR/in" > "$BATS_TEST_TMPDIR/one.out" 2>/dev/null
	anomalies "$BATS_TEST_TMPDIR/one.out" > "$BATS_TEST_TMPDIR/one.tsv"
	[ "$(wc -l < "$BATS_TEST_TMPDIR/one.tsv")" -ge 5 ]
	mock m -p 6 tel
	u="kafka://$(cat "$BATS_TEST_TMPDIR/m.boot")/tel"
	# The three join the group on an empty topic, then the telemetry
	# comes: no partition moves while they read.
	for i in 1 2 3; do
		sre-scout -i "$u?group=scouts" --state-dir "$BATS_TEST_TMPDIR/s$i" \
		    > "$BATS_TEST_TMPDIR/s$i.out" 2> "$BATS_TEST_TMPDIR/s$i.err" &
		echo $! > "$BATS_TEST_TMPDIR/s$i.pid"
	done
	sleep 8
	sre-bus --raw --out "$u" < "$BATS_TEST_TMPDIR/in"
	# Every message is read (one per service of each request), then each
	# ends its windows on SIGTERM.
	n=$(gzip -dc "$SRE_ROOT/examples/traces/latency.ndjson.gz" | jq -c '(.resourceSpans // .resourceLogs) | map(.resource.attributes[] | select(.key == "service.name") | .value.stringValue) | unique[]' | wc -l)
	sleep 6
	for i in 1 2 3; do kill -TERM "$(cat "$BATS_TEST_TMPDIR/s$i.pid")"; done
	for i in 1 2 3; do wait "$(cat "$BATS_TEST_TMPDIR/s$i.pid")"; done
	kill "$(cat "$BATS_TEST_TMPDIR/m.pid")"
	for i in 1 2 3; do check_sanitizers "$BATS_TEST_TMPDIR/s$i.err"; done
	# Each instance judged some of the series, and all of each it judged.
	total=0
	for i in 1 2 3; do
		l=$(sed -n 's/^sre-scout: \([0-9]*\) lines.*/\1/p' "$BATS_TEST_TMPDIR/s$i.err")
		[ "$l" -gt 0 ]
		total=$((total + l))
	done
	[ "$total" -eq "$n" ]
	# What they raise is not yet what one raises alone: each instance's
	# event clock sees only its partitions, and runs of this test have
	# raised a series more or less, or two windows early, with how the
	# partitions interleaved (issue 19, open).  The difference is shown
	# here, not asserted.
	anomalies "$BATS_TEST_TMPDIR"/s?.out > "$BATS_TEST_TMPDIR/three.tsv"
	diff -u "$BATS_TEST_TMPDIR/one.tsv" "$BATS_TEST_TMPDIR/three.tsv" |
	    sed 's/^/# /' >&3 || true
}
