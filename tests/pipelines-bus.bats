#!/usr/bin/env bats
# pipelines/redis.sh and pipelines/kafka.sh (through pipelines/bus.sh): the
# loop over bus topics, each tool its own process, against a real
# redis-server and the librdkafka mock cluster on loopback.

load helper
load helpers/release-repo.sh

BUS=$SRE_ROOT/pipelines/bus.sh
TRACES=$SRE_ROOT/examples/traces

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

setup() {
	export HOME=$BATS_TEST_TMPDIR/home GIT_CONFIG_NOSYSTEM=1
	export GIT_TERMINAL_PROMPT=0
	mkdir -p "$HOME"
	unset SRE_POLICY SRE_GITOPS_REPO SRE_STATE_DIR SRE_EVENTS SRE_BUS \
	    SRE_SCOUTS GITHUB_PERSONAL_ACCESS_TOKEN OPENAI_API_KEY \
	    SRE_WEBHOOK_URL
	pids=''
}

teardown() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	for p in $pids; do wait "$p" 2>/dev/null || true; done
}

start_redis() {
	port=$(free_port)
	redis-server --port "$port" --bind 127.0.0.1 --save '' \
	    --appendonly no --daemonize no > "$BATS_TEST_TMPDIR/redis.log" \
	    2>&1 3>&- &
	pids="$pids $!"
	for _ in $(seq 50); do
		redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && return 0
		sleep 0.1
	done
	return 1
}

# wait_for SECONDS COMMAND...: until COMMAND succeeds, at most SECONDS.
wait_for() {
	local n=$(( $1 * 5 ))
	shift
	while [ "$n" -gt 0 ]; do
		"$@" && return 0
		sleep 0.2
		n=$((n - 1))
	done
	return 1
}

committed() {	# the rollback, merged into main of the remote
	git -C "$REMOTE" show main:services/quote-api/deployment.yaml |
	    grep -q '/quote-api:1\.3\.4$'
}

@test "bus.sh -n prints each stage's command, URLs quoted for a shell" {
	run -0 env SRE_BUS=redis://127.0.0.1:6379 SRE_SCOUTS=2 sh "$BUS" -n
	[ "${#lines[@]}" -eq 8 ]
	[ "${lines[0]}" = "sre-scout --in 'redis://127.0.0.1:6379/sre.telemetry?group=scout&consumer=scout-1' --out 'redis://127.0.0.1:6379/sre.anomalies'" ]
	[[ ${lines[1]} == *"consumer=scout-2"* ]]
	[[ ${lines[7]} == "sre-curate --in 'redis://127.0.0.1:6379/sre.events?group=curate&consumer=curate'"* ]]
	run -0 env SRE_BUS=kafka://127.0.0.1:9092 SRE_TOPICS=t. sh "$SRE_ROOT/pipelines/kafka.sh" -n
	[ "${lines[2]}" = "sre-brain --in 'kafka://127.0.0.1:9092/t.cag?group=brain' --out 'kafka://127.0.0.1:9092/t.diagnoses'" ]
}

@test "bus.sh refuses a missing or bad SRE_BUS and SRE_SCOUTS (64)" {
	run -64 sh "$BUS"
	[[ $output == *"SRE_BUS must be redis://HOST:PORT or kafka://HOST:PORT (got '')"* ]]
	run -64 env SRE_BUS=http://x sh "$BUS"
	run -64 env SRE_BUS=redis://h:1/topic sh "$BUS"
	[[ $output == *"without a topic"* ]]
	run -64 env SRE_BUS=redis://h:1 SRE_SCOUTS=0 sh "$BUS"
	run -64 env SRE_BUS=redis://h:1 SRE_SCOUTS=x sh "$BUS"
	run -64 env SRE_BUS=redis://h:1 sh "$BUS" extra
}

@test "redis.sh: two scouts and one process per stage over Redis Streams commit the rollback, and stop cleanly on SIGTERM" {
	start_redis
	gitops_repo
	bus=redis://127.0.0.1:$port
	# the recording into the telemetry stream, as a collector would
	gzip -dc "$TRACES/release.ndjson.gz" |
	    sre-bus --raw --out "$bus/sre.telemetry"
	SRE_BUS=$bus SRE_SCOUTS=2 SRE_GITOPS_REPO=$REPO SRE_AUTO_MERGE=1 \
	    SRE_STATE_DIR=$BATS_TEST_TMPDIR/state \
	    SRE_LOG_DIR=$BATS_TEST_TMPDIR/logs \
	    sh "$SRE_ROOT/pipelines/redis.sh" 3>&- &
	loop=$!
	pids="$pids $loop"
	wait_for 90 committed || {
		tail -n 5 "$BATS_TEST_TMPDIR"/logs/*.log; false; }
	# every event of the loop on sre.events
	wait_for 20 sh -c "redis-cli -p $port XLEN sre.events | grep -qv '^0$'"
	sre-bus --in "$bus/sre.events?group=t&drain=1" > "$BATS_TEST_TMPDIR/ev"
	jq -e -s '[.[] | select(.type == "action" and .status == "committed")]
	    | length == 1' "$BATS_TEST_TMPDIR/ev" > /dev/null
	# both scouts took part: each read some of the telemetry
	[ "$(redis-cli -p "$port" XINFO CONSUMERS sre.telemetry scout |
	    grep -c '^scout-')" -eq 2 ]
	kill -TERM "$loop"
	wait "$loop"
	for t in sre-scout sre-cag sre-brain sre-guard sre-fix sre-escalate \
	    sre-curate; do
		[ -f "$BATS_TEST_TMPDIR/logs/$t.log" ]
	done
	! grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' \
	    "$BATS_TEST_TMPDIR"/logs/*.log
}

@test "kafka.sh: the same loop over Kafka topics of the mock cluster" {
	[ -x "$SRE_ROOT/tests/mock/kafka-mock" ] || skip "tests/mock/kafka-mock not built"
	gitops_repo
	# The topics of the loop made up front, so that each stage finds its
	# input; sre.telemetry is made by the first write: librdkafka's mock
	# kept only 1,667 of the 3,110 messages of this 9.7 MB burst in a
	# topic made up front, and all of them in one made by the write.
	"$SRE_ROOT/tests/mock/kafka-mock" sre.anomalies sre.cag \
	    sre.diagnoses sre.verdicts sre.actions sre.events \
	    > "$BATS_TEST_TMPDIR/boot" 2>&1 3>&- &
	pids="$pids $!"
	wait_for 10 test -s "$BATS_TEST_TMPDIR/boot"
	boot=$(head -1 "$BATS_TEST_TMPDIR/boot")
	bus=kafka://$boot
	gzip -dc "$TRACES/release.ndjson.gz" |
	    sre-bus --raw --out "$bus/sre.telemetry"
	SRE_BUS=$bus SRE_GITOPS_REPO=$REPO SRE_AUTO_MERGE=1 \
	    SRE_STATE_DIR=$BATS_TEST_TMPDIR/state \
	    SRE_LOG_DIR=$BATS_TEST_TMPDIR/logs \
	    sh "$SRE_ROOT/pipelines/kafka.sh" 3>&- &
	loop=$!
	pids="$pids $loop"
	wait_for 120 committed || {
		tail -n 5 "$BATS_TEST_TMPDIR"/logs/*.log; false; }
	kill -TERM "$loop"
	wait "$loop"
}
