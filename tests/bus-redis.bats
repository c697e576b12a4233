#!/usr/bin/env bats
# The Redis Streams bus back-end, against a real redis-server on loopback.

load helper

# free_port: a loopback port nobody listens on now.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_redis PORT DIR: a redis-server of the suite's own on PORT, its log
# and pid in DIR; it returns once the server answers.
start_redis() {
	redis-server --port "$1" --bind 127.0.0.1 --save '' --appendonly no \
	    --daemonize no > "$2/redis-$1.log" 2>&1 3>&- &
	echo $! > "$2/redis-$1.pid"
	for i in $(seq 50); do
		redis-cli -p "$1" ping 2>/dev/null | grep -q PONG && return 0
		sleep 0.1
	done
	echo "redis-server did not start" >&2
	return 1
}

stop_redis() {	# PORT DIR
	kill "$(cat "$2/redis-$1.pid")" 2>/dev/null || true
	wait "$(cat "$2/redis-$1.pid")" 2>/dev/null || true
}

setup_file() {
	REDIS_PORT=$(free_port)
	export REDIS_PORT
	start_redis "$REDIS_PORT" "$BATS_FILE_TMPDIR"
}

teardown_file() {
	stop_redis "$REDIS_PORT" "$BATS_FILE_TMPDIR"
}

F=$FIXTURES/bus

url() {	# stream, then query
	echo "redis://127.0.0.1:$REDIS_PORT/$1${2:+?$2}"
}

@test "redis: events written to a stream come back byte for byte through a group" {
	run -0 --separate-stderr sre-bus --out "$(url rt1)" < "$F/events.ndjson"
	[ "$(redis-cli -p "$REDIS_PORT" XLEN rt1)" -eq 7 ]
	run -0 --separate-stderr sre-bus --in "$(url rt1 'group=a&drain=1')"
	diff -u "$F/events.ndjson" <(printf '%s\n' "$output")
	assert_no_sanitizer
}

@test "redis: acknowledged lines are not delivered again; another group gets them all" {
	sre-bus --out "$(url ack1)" < "$F/events.ndjson"
	run -0 --separate-stderr sre-bus --in "$(url ack1 'group=a&drain=1')"
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 7 ]
	run -0 --separate-stderr sre-bus --in "$(url ack1 'group=a&drain=1')"
	[ -z "$output" ]
	[ "$(redis-cli -p "$REDIS_PORT" XPENDING ack1 a | head -1)" = 0 ]
	run -0 --separate-stderr sre-bus --in "$(url ack1 'group=b&drain=1')"
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 7 ]
}

@test "redis: at-least-once: lines handed to a tool killed before acknowledging come again" {
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
	[ "$(redis-cli -p "$REDIS_PORT" XPENDING alo g | head -1)" = 7 ]
	kill -9 $pid
	wait $pid || true
	exec 6>&-
	run -0 --separate-stderr sre-bus --in "$(url alo 'group=g&consumer=c1&drain=1')"
	# All seven came again (quietly compared: the lines are 20 KB).
	printf '%s\n' "$output" | cmp -s - "$BATS_TEST_TMPDIR/big"
	[ "$(redis-cli -p "$REDIS_PORT" XPENDING alo g | head -1)" = 0 ]
}

@test "redis: bad lines in a stream are reported by message number; the rest flows" {
	sre-bus --raw --out "$(url bad)" <<< '{"x":1}'
	redis-cli -p "$REDIS_PORT" XADD bad '*' line 'not json' > /dev/null
	sre-bus --out "$(url bad)" < <(sed -n 1p "$F/events.ndjson")
	run -65 --separate-stderr sre-bus --in "$(url bad 'group=a&drain=1')"
	[ "$output" = "$(sed -n 1p "$F/events.ndjson")" ]
	[[ $stderr == *"$(url bad 'group=a&drain=1'): message 1: field 'v'"* ]]
	[[ $stderr == *"message 2: not JSON"* ]]
}

@test "redis: streams are trimmed to about maxlen entries" {
	for i in $(seq 3000); do sed -n 2p "$F/events.ndjson"; done > "$BATS_TEST_TMPDIR/many"
	run -0 --separate-stderr sre-bus --out "$(url trim 'maxlen=100')" < "$BATS_TEST_TMPDIR/many"
	n=$(redis-cli -p "$REDIS_PORT" XLEN trim)
	[ "$n" -lt 1000 ]
}

@test "redis: an unreachable server is 69; a bad URL is 64" {
	SRE_BUS_RETRY=300ms run -69 --separate-stderr sre-bus --in redis://127.0.0.1:1/x
	[[ $stderr == "sre-bus: redis://127.0.0.1:1/x: 127.0.0.1:1: Connection refused (after "*" attempts)" ]]
	run -64 --separate-stderr sre-bus --in 'redis://127.0.0.1:1/x?retry=soon'
	[[ $stderr == *"retry=soon: not a duration"* ]]
	run -64 --separate-stderr sre-bus --in redis://127.0.0.1:6379
	[[ $stderr == *"no /NAME"* ]]
	run -64 --separate-stderr sre-bus --in redis://127.0.0.1:99999/x
	[[ $stderr == *"port 99999"* ]]
	run -64 --separate-stderr sre-bus --in 'redis://127.0.0.1:1/x?group=a;b'
	[[ $stderr == *"bad query value for 'group'"* ]]
}

@test "redis: SIGTERM while waiting on a live stream exits 0 promptly" {
	sre-bus --in "$(url live 'group=a')" > "$BATS_TEST_TMPDIR/out" 2> "$BATS_TEST_TMPDIR/err" &
	pid=$!
	sleep 0.3
	sre-bus --out "$(url live)" < <(sed -n 1p "$F/events.ndjson")
	for i in $(seq 50); do [ -s "$BATS_TEST_TMPDIR/out" ] && break; sleep 0.1; done
	[ "$(cat "$BATS_TEST_TMPDIR/out")" = "$(sed -n 1p "$F/events.ndjson")" ]
	kill -TERM $pid
	rc=0; wait $pid || rc=$?
	[ "$rc" -eq 0 ]
	check_sanitizers "$BATS_TEST_TMPDIR/err"
}

# A redis-server of a test's own (it is stopped and started).
own_redis() { start_redis "$1" "$BATS_TEST_TMPDIR"; }
stop_own_redis() { stop_redis "$1" "$BATS_TEST_TMPDIR"; }

@test "redis: a restart mid-stream is ridden out with backoff; Redis gone for good is 69" {
	p=$(free_port)
	u="redis://127.0.0.1:$p/rs?group=g"
	own_redis "$p"
	SRE_BUS_RETRY=20s sre-bus --in "$u" > "$BATS_TEST_TMPDIR/out" 2> "$BATS_TEST_TMPDIR/err" &
	pid=$!
	sre-bus --out "$u" < <(sed -n 1p "$F/events.ndjson")
	for i in $(seq 50); do [ -s "$BATS_TEST_TMPDIR/out" ] && break; sleep 0.1; done
	# Redis goes away for a second and comes back empty.
	stop_own_redis "$p"
	sleep 1
	own_redis "$p"
	sre-bus --out "$u" < <(sed -n 2p "$F/events.ndjson")
	for i in $(seq 100); do [ "$(wc -l < "$BATS_TEST_TMPDIR/out")" -ge 2 ] && break; sleep 0.1; done
	[ "$(cat "$BATS_TEST_TMPDIR/out")" = "$(sed -n 1,2p "$F/events.ndjson")" ]
	kill -0 $pid
	# Now it stays away: the reader gives up after its budget, with 69.
	stop_own_redis "$p"
	kill -TERM $pid 2>/dev/null || true
	rc=0; wait $pid || rc=$?
	[ "$rc" -eq 0 ]
	SRE_BUS_RETRY=1s sre-bus --in "$u" > /dev/null 2> "$BATS_TEST_TMPDIR/err2" &
	pid=$!
	rc=0; wait $pid || rc=$?
	[ "$rc" -eq 69 ]
	check_sanitizers "$BATS_TEST_TMPDIR/err"
	# A writer whose Redis stays away: 69 as well, with the reason.
	run -69 --separate-stderr env SRE_BUS_RETRY=1s sre-bus --out "$u" < <(sed -n 1p "$F/events.ndjson")
	[[ $stderr == *"Connection refused (after "*" attempts)"* ]]
}

@test "redis: a reader whose Redis dies under it exits 69 after its retries" {
	p=$(free_port)
	u="redis://127.0.0.1:$p/rd?group=g&retry=1500ms"
	own_redis "$p"
	sre-bus --in "$u" > /dev/null 2> "$BATS_TEST_TMPDIR/err" &
	pid=$!
	sleep 0.5
	stop_own_redis "$p"
	rc=0; wait $pid || rc=$?
	[ "$rc" -eq 69 ]
	grep -q "reading redis://127.0.0.1:$p/rd?group=g&retry=1500ms failed: 127.0.0.1:$p: Connection refused (after" "$BATS_TEST_TMPDIR/err"
	check_sanitizers "$BATS_TEST_TMPDIR/err"
}

@test "redis: a consumer killed and never restarted: another of its group claims its entries" {
	for i in $(seq 40); do
		printf '{"v":1,"type":"audit","id":"ev-%s","ts_ms":1,"source":"t","pad":"%s"}\n' "$i" "$(head -c 5000 /dev/zero | tr '\0' a)"
	done > "$BATS_TEST_TMPDIR/in"
	sre-bus --out "$(url claim)" < "$BATS_TEST_TMPDIR/in"
	mkfifo "$BATS_TEST_TMPDIR/stuck"
	exec 6<> "$BATS_TEST_TMPDIR/stuck"
	sre-bus --in "$(url claim 'group=g&consumer=c1')" > "$BATS_TEST_TMPDIR/stuck" 2>/dev/null &
	pid=$!
	timeout 20 head -c 1000 <&6 > /dev/null
	kill -9 $pid
	wait $pid || true
	exec 6>&-
	[ "$(redis-cli -p "$REDIS_PORT" XPENDING claim g | head -1)" -gt 0 ]
	# c2 leaves c1's entries alone while they are younger than claim=,
	sleep 0.2
	run -0 --separate-stderr sre-bus --in "$(url claim 'group=g&consumer=c2&claim=1h&drain=1')"
	printf '%s\n' "$output" | grep . > "$BATS_TEST_TMPDIR/out1" || true
	[ "$(wc -l < "$BATS_TEST_TMPDIR/out1")" -lt 40 ]
	# and takes them over once they are older: every id comes out.
	sleep 0.6
	run -0 --separate-stderr sre-bus --in "$(url claim 'group=g&consumer=c2&claim=500ms&drain=1')"
	printf '%s\n' "$output" > "$BATS_TEST_TMPDIR/out2"
	[ "$(redis-cli -p "$REDIS_PORT" XPENDING claim g | head -1)" = 0 ]
	diff <(jq -r .id "$BATS_TEST_TMPDIR/in" | sort) \
	    <(cat "$BATS_TEST_TMPDIR/out1" "$BATS_TEST_TMPDIR/out2" | jq -r .id | sort -u)
	run -64 --separate-stderr sre-bus --in "$(url claim 'claim=later')"
	[[ $stderr == *"claim=later: not a duration"* ]]
}

@test "redis: partitions=N: one stream per key hash; N readers, one a partition, get it all" {
	sre-bus --out "$(url part 'partitions=3')" < "$F/events.ndjson"
	[ "$(redis-cli -p "$REDIS_PORT" EXISTS part)" = 0 ]
	total=0
	for k in 0 1 2; do
		run -0 --separate-stderr sre-bus --in "$(url "part.$k" 'group=a&drain=1')"
		printf '%s\n' "$output" | grep . >> "$BATS_TEST_TMPDIR/all" || true
		# Every incident is in one partition only.
		printf '%s\n' "$output" | jq -r '.incident // empty' | sort -u >> "$BATS_TEST_TMPDIR/incidents"
	done
	diff -u <(sort "$F/events.ndjson") <(sort "$BATS_TEST_TMPDIR/all")
	[ "$(sort "$BATS_TEST_TMPDIR/incidents" | uniq -d)" = "" ]
	# inc-1 goes where FNV-1a says: 32-bit hash of the key, modulo N.
	h=$(python3 -c 'h=2166136261
for c in b"inc-1": h=((h^c)*16777619)&0xffffffff
print(h%3)')
	[ "$(redis-cli -p "$REDIS_PORT" XRANGE "part.$h" - + | grep -c '"incident":"inc-1"')" -ge 1 ]
	run -64 --separate-stderr sre-bus --out "$(url part 'partitions=0')" < /dev/null
	[[ $stderr == *"partitions=0: too small (1 to 1024)"* ]]
}
