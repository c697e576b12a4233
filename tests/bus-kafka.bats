#!/usr/bin/env bats
# The Kafka bus back-end, against librdkafka's mock cluster (which speaks
# the real Kafka protocol) served by tests/mock/kafka-mock on loopback.

load helper

setup_file() {
	"$SRE_ROOT/tests/mock/kafka-mock" rt ack alo bad kc1 kc2 keys > "$BATS_FILE_TMPDIR/boot" 2>&1 3>&- &
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

@test "kafka: an unreachable broker is 69" {
	run -69 --separate-stderr sre-bus --in kafka://127.0.0.1:1/x
	[[ $stderr == "sre-bus: kafka://127.0.0.1:1/x: broker 127.0.0.1:1 unreachable: "* ]]
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

@test "kafka: 3 sre-scout in one group over 6 partitions raise what one raises alone" {
	gzip -dc "$SRE_ROOT/examples/traces/latency.ndjson.gz" > "$BATS_TEST_TMPDIR/in"
	sre-scout --state-dir "$BATS_TEST_TMPDIR/one" < "$BATS_TEST_TMPDIR/in" > "$BATS_TEST_TMPDIR/one.out" 2>/dev/null
	anomalies "$BATS_TEST_TMPDIR/one.out" > "$BATS_TEST_TMPDIR/one.tsv"
	[ "$(wc -l < "$BATS_TEST_TMPDIR/one.tsv")" -ge 5 ]
	"$SRE_ROOT/tests/mock/kafka-mock" -p 6 tel > "$BATS_TEST_TMPDIR/boot6" 2>&1 3>&- &
	mock=$!
	for i in $(seq 50); do [ -s "$BATS_TEST_TMPDIR/boot6" ] && break; sleep 0.1; done
	u="kafka://$(cat "$BATS_TEST_TMPDIR/boot6")/tel"
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
	sleep 3
	for i in 1 2 3; do kill -TERM "$(cat "$BATS_TEST_TMPDIR/s$i.pid")"; done
	for i in 1 2 3; do wait "$(cat "$BATS_TEST_TMPDIR/s$i.pid")"; done
	kill $mock
	for i in 1 2 3; do check_sanitizers "$BATS_TEST_TMPDIR/s$i.err"; done
	# Each instance judged some of the series, and all of each it judged.
	total=0
	for i in 1 2 3; do
		l=$(sed -n 's/^sre-scout: \([0-9]*\) lines.*/\1/p' "$BATS_TEST_TMPDIR/s$i.err")
		[ "$l" -gt 0 ]
		total=$((total + l))
	done
	[ "$total" -eq "$n" ]
	anomalies "$BATS_TEST_TMPDIR"/s?.out > "$BATS_TEST_TMPDIR/three.tsv"
	diff -u "$BATS_TEST_TMPDIR/one.tsv" "$BATS_TEST_TMPDIR/three.tsv"
}
