#!/usr/bin/env bats
# sre-brain: one diagnosis per incident, the origin ranked first.

load helper

B=$FIXTURES/brain
SERVER=$SRE_ROOT/tests/helpers/llm-server.py
KEY=sk-test-SECRET-0123456789abcdef

setup() {
	unset OPENAI_API_KEY OPENAI_BASE_URL SRE_LLM_MODEL MAX_LLM_CONCURRENCY \
	    ENV http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy
	cd "$BATS_TEST_TMPDIR" || return 1
	LLM_PID=
}

teardown() {
	if [ -n "${LLM_PID:-}" ]; then
		kill "$LLM_PID" 2>/dev/null || true
		wait "$LLM_PID" 2>/dev/null || true
	fi
}

# start_llm ARGS...: the helper server on a free loopback port;
# OPENAI_BASE_URL points at it; requests are logged to $LLMLOG.
start_llm() {
	LLMLOG=$BATS_TEST_TMPDIR/llm.log
	LLMSTATS=$BATS_TEST_TMPDIR/llm.stats
	rm -f "$BATS_TEST_TMPDIR/port" "$LLMLOG" "$LLMSTATS"
	python3 "$SERVER" --port-file "$BATS_TEST_TMPDIR/port" --log "$LLMLOG" \
	    --stats "$LLMSTATS" "$@" 3>&- &
	LLM_PID=$!
	for _ in $(seq 100); do
		[ -s "$BATS_TEST_TMPDIR/port" ] && break
		sleep 0.05
	done
	[ -s "$BATS_TEST_TMPDIR/port" ]
	export OPENAI_BASE_URL="http://127.0.0.1:$(cat "$BATS_TEST_TMPDIR/port")/v1"
}

# diag FIELD...: jq over the diagnoses of $output
diag() {
	printf '%s\n' "$output" | jq -c "select(.type == \"diagnosis\") | $1"
}

@test "--help prints usage on stdout and exits 0" {
	run -0 --separate-stderr sre-brain --help
	[[ $output == "usage: sre-brain "* ]]
	[[ $output == *"--settle T"* ]]
	[ -z "$stderr" ]
}

@test "--version prints the name and version" {
	run -0 --separate-stderr sre-brain --version
	[[ $output =~ ^sre-brain\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
}

@test "bad options and values exit 64" {
	run -64 --separate-stderr sre-brain --no-such-option
	[[ $stderr == *"usage: sre-brain"* ]]
	run -64 --separate-stderr sre-brain - extra
	[[ $stderr == *"unexpected argument: extra"* ]]
	run -64 --separate-stderr sre-brain --settle 10parsecs
	[[ $stderr == *"--settle 10parsecs: not a duration"* ]]
	run -64 --separate-stderr sre-brain --top 0
	run -64 --separate-stderr sre-brain --llm-timeout 0
	run -64 --separate-stderr sre-brain --llm-concurrency x
	run -64 --separate-stderr sre-brain --max-incidents -1
}

@test "an error born in one service: golden diagnosis, every line passed on" {
	run -0 --separate-stderr sre-brain --no-memory < "$B/error.ndjson"
	diff -u "$B/error.expected" <(printf '%s\n' "$output")
	[ -z "$stderr" ]
	assert_no_sanitizer
}

@test "--no-pass writes the diagnoses only" {
	run -0 --separate-stderr sre-brain --no-pass --no-memory < "$B/error.ndjson"
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 1 ]
	[ "$(diag .root_causes[0].service)" = '"pricing-engine"' ]
}

@test "each fault kind: the origin first, a proposal from the catalog by evidence" {
	check() {	# fixture top kind action params
		run -0 --separate-stderr sre-brain --no-pass --no-memory < "$B/$1.ndjson"
		[ "$(diag '.root_causes[0].service')" = "\"$2\"" ] || { echo "$1: $output"; return 1; }
		[ "$(diag '.kind')" = "\"$3\"" ] || { echo "$1: $output"; return 1; }
		[ "$(diag '.proposal | [.action, .target, .params]')" = "$4" ] || { echo "$1: $output"; return 1; }
		assert_no_sanitizer
	}
	# own errors, the network: nothing a restart clears, so observe
	# (sre-guard escalates it)
	check error pricing-engine errors '["observe","pricing-engine",{}]'
	check release pricing-engine release '["rollback","pricing-engine",{"to":"2.2.0"}]'
	check release-done pricing-engine release '["rollback","pricing-engine",{"to":"2.2.0"}]'
	check release-old pricing-engine errors '["observe","pricing-engine",{}]'
	check network quote-service network '["observe","quote-service",{}]'
	check pool db-policy pool '["config","db-policy",{"key":"DB_POOL_SIZE","value":"40"}]'
	check saturation pricing-engine saturation '["scale","pricing-engine",{"delta":2}]'
	check datastore redis-cache latency '["scale","redis-cache",{"delta":1}]'
}

@test "a restart needs a process state it clears: out of memory, stuck workers, memory growth" {
	# the error story, its culprit's messages saying what a restart clears
	for m in 'java.lang.OutOfMemoryError: Java heap space' \
	    'watchdog: worker pricing-engine-worker-3 stuck for 60 s, 14 of 16 workers stuck'; do
		jq -c --arg m "$m" 'if .type == "anomaly" and .service == "pricing-engine" and .evidence.messages
		    then .evidence.messages[0].text = $m else . end' "$B/error.ndjson" > in
		run -0 --separate-stderr sre-brain --no-pass --no-memory < in
		[ "$(diag '.proposal | [.action, .target] | join(" ")')" = '"restart pricing-engine"' ] ||
		    { echo "$m: $output"; false; }
	done
	# its resident memory at twice its baseline, as a metric anomaly
	jq -c 'select(.type == "anomaly" and .service == "pricing-engine")' "$B/error.ndjson" |
	    head -n 1 | jq -c '.id = "M1" | .signal = "metric" | .operation = "process.memory.usage"
	    | .observed = 1.8e9 | .baseline = 0.9e9 | .evidence = {scope: "metric", metric: "process.memory.usage"}' > m
	awk 'NR == 1 { while ((getline l < "m") > 0) print l } { print }' "$B/error.ndjson" > in
	run -0 --separate-stderr sre-brain --no-pass --no-memory < in
	[ "$(diag '.proposal.action')" = '"restart"' ]
	# a worker timing out is no stuck worker pool
	[[ $(grep -c 'waiting for a worker thread' "$B/error.ndjson") -gt 0 ]]
	run -0 --separate-stderr sre-brain --no-pass --no-memory < "$B/error.ndjson"
	[ "$(diag '.proposal.action')" = '"observe"' ]
	[[ $(diag .summary) == *"No remedy of the catalog follows from the evidence"* ]]
}

@test "every rank explains itself; confidence is in 0..1" {
	run -0 --separate-stderr sre-brain --no-pass --no-memory < "$B/network.ndjson"
	[ "$(diag '[.root_causes[] | select((.reason | length) > 10)] | length')" = \
	    "$(diag '.root_causes | length')" ]
	[[ $(diag '.root_causes[0].reason') == *"every call into it slowed"* ]]
	[ "$(diag '.confidence >= 0 and .confidence <= 1')" = true ]
	[ "$(diag '[.root_causes[].score] | . == (sort | reverse)')" = true ]
}

@test "weak evidence: observe, and a low confidence" {
	run -0 --separate-stderr sre-brain --no-pass --no-memory < "$B/weak.ndjson"
	[ "$(diag .proposal.action)" = '"observe"' ]
	[ "$(diag '.confidence < 0.3')" = true ]
}

@test "the culprit's log templates: from the evidence, else mined from its messages" {
	run -0 --separate-stderr sre-brain --no-pass --no-memory < "$B/error.ndjson"
	[ "$(diag '.templates | length')" = 2 ]
	[[ $(diag '.templates[1].template') == *"timed out after <*> waiting"* ]]
	run -0 --separate-stderr sre-brain --no-pass --no-memory < "$B/pool.ndjson"
	[ "$(diag '.root_causes[0].service')" = '"db-policy"' ]
}

@test "settle time: the diagnosis waits for event time to pass it" {
	run -0 --separate-stderr sre-brain --no-memory --evidence-wait 0 < "$B/settle.ndjson"
	# after the event at +21s (past T+10s+10s), before the one at +30s
	printf '%s\n' "$output" | jq -r '.id' > ids
	line=$(grep -n . ids | grep -v ':EV\|AUDIT' | cut -d: -f1)
	[ "$(sed -n "$((line - 1))p" ids)" = AUDIT-21S ]
	[ "$(sed -n "$((line + 1))p" ids)" = AUDIT-30S ]
	# a shorter settle: right after the first event past it
	run -0 --separate-stderr sre-brain --no-memory --evidence-wait 0 --settle 2s < "$B/settle.ndjson"
	printf '%s\n' "$output" | jq -r '.id' > ids
	line=$(grep -n . ids | grep -v ':EV\|AUDIT' | cut -d: -f1)
	[ "$(sed -n "$((line - 1))p" ids)" = AUDIT-5S ]
}

@test "a live stream: the settle time passes on the wall clock" {
	mkfifo fifo
	sre-brain --no-memory --no-pass --settle 300ms --evidence-wait 0 < fifo > out 2> err &
	pid=$!
	exec 5> fifo
	head -n 5 "$B/settle.ndjson" >&5
	for _ in $(seq 60); do [ -s out ] && break; sleep 0.1; done
	[ -s out ]
	exec 5>&-
	wait "$pid"
	[ "$(jq -r .incident out)" = INC-settle ]
	check_sanitizers err
}

@test "settle on evidence: a first diagnosis with no remedy waits one more settle time" {
	# quote-service slows first, db-policy's errors come 16 s later: the
	# first look has no remedy, waits, and names db-policy at once
	run -0 --separate-stderr sre-brain --no-pass --no-memory < "$B/update.ndjson"
	[ "$(diag '[.revision, .root_causes[0].service, .ts_ms]')" = '[1,"db-policy",1700000045000]' ]
	# once only: nothing new, it goes out
	run -0 --separate-stderr sre-brain --no-pass --no-memory < <(head -n 2 "$B/update.ndjson")
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 1 ]
	# a remedy does not wait; nor does anything with --evidence-wait 0
	run -0 --separate-stderr sre-brain --no-pass --no-memory --evidence-wait 0 < "$B/update.ndjson"
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 2 ]
	run -64 --separate-stderr sre-brain --evidence-wait soon
	[[ $stderr == *"--evidence-wait soon: not a duration"* ]]
}

@test "an updated diagnosis when the picture changes, none when it does not" {
	run -0 --separate-stderr sre-brain --no-pass --no-memory --evidence-wait 0 < "$B/update.ndjson"
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 2 ]
	[ "$(diag '[.revision, .root_causes[0].service]' | head -1)" = '[1,"quote-service"]' ]
	[ "$(diag '[.revision, .root_causes[0].service]' | tail -1)" = '[2,"db-policy"]' ]
	first=$(diag .id | head -1)
	[ "$(diag .supersedes | tail -1)" = "$first" ]
}

@test "an incident sre-cag diagnosed is left alone until its fix fails" {
	sign_events < "$B/cag.ndjson" > cag.ndjson
	run -0 --separate-stderr sre-brain --no-memory < cag.ndjson
	[ -z "$(printf '%s\n' "$output" | jq -c 'select(.source == "sre-brain")')" ]
	diff -u cag.ndjson <(printf '%s\n' "$output")
	run -0 --separate-stderr sre-brain --no-memory --no-pass < <(sign_events < "$B/cag-failed.ndjson")
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 1 ]
	[ "$(diag .root_causes[0].service)" = '"pricing-engine"' ]
	# not the rollback that failed
	[ "$(diag '.proposal | [.action, .target]')" != '["rollback","pricing-engine"]' ]
	[[ $(diag .notes) == *"sre-cag failed"* ]]
}

@test "its own diagnoses coming back are not said again" {
	sre-brain --no-memory < "$B/error.ndjson" > first
	run -0 --separate-stderr sre-brain --no-memory < first
	diff -u first <(printf '%s\n' "$output")
}

# last FIELD: jq over the last diagnosis (revision) of $output
last() {
	printf '%s\n' "$output" | jq -sc "[.[] | select(.type == \"diagnosis\")] | last | $1"
}

@test "a real CPU fault (nezha-ob): the starved caller is named, not the callee its calls slowed into" {
	# recommendationservice starved of CPU: its only callee's edge slows
	run -0 --separate-stderr sre-brain --no-pass --no-memory < "$B/ob-cpu.ndjson"
	[ "$(last '.root_causes[0].service')" = '"recommendationservice"' ] || { echo "$output"; false; }
	[ "$(last '[.root_causes[].service] | index("productcatalogservice") > 0')" = true ]
	assert_no_sanitizer
}

@test "a metric and a log anomaly join the trace incident's diagnosis" {
	# traces alone: calls into currencyservice slowed (network in front of it)
	run -0 --separate-stderr sre-brain --no-pass --no-memory --evidence-wait 0 < <(head -n 13 "$B/ob-signals.ndjson")
	[ "$(last '[.root_causes[0].service, .kind]')" = '["currencyservice","network"]' ] || { echo "$output"; false; }
	[[ $(last '.root_causes[0].reason') != *pod_cpu_usage_rate_percent* ]]
	# its CPU metric and a log surge join the incident: an update, CPU
	# starvation, both cited with their numbers
	run -0 --separate-stderr sre-brain --no-pass --no-memory --evidence-wait 0 < "$B/ob-signals.ndjson"
	[ "$(last '[.root_causes[0].service, .kind, .anomalies]')" = '["currencyservice","cpu",15]' ] || { echo "$output"; false; }
	[ "$(last '.revision > 1')" = true ]
	[[ $(last '.root_causes[0].reason') == *"CPU use pod_cpu_usage_rate_percent rose (101, baseline 66.9)"* ]]
	[[ $(last '.root_causes[0].reason') == *"logs surged (40 in the window, baseline 0.5)"* ]]
	assert_no_sanitizer
}

@test "a series that keeps coming back at the same size is a chronic symptom, not the origin (nezha-ob)" {
	run -0 --separate-stderr sre-brain --no-pass --no-memory --evidence-wait 0 < "$B/ob-chronic.ndjson"
	[ "$(last '.root_causes[0].service')" = '"productcatalogservice"' ] || { echo "$output"; false; }
	[[ $(last '.notes | join(" ")') == *"no larger than their series showed before counted as chronic symptoms"* ]]
	# the first time it came, it was evidence
	[ "$(diag '.root_causes[0].service' | head -n 1)" = '"currencyservice"' ]
	assert_no_sanitizer
}

@test "an anomaly without a service: reported (65), passed on, the rest diagnosed" {
	run -65 --separate-stderr sre-brain --no-memory < "$B/noservice.ndjson"
	[ "$stderr" = "sre-brain: line 3: anomaly without a service: passed on, not diagnosed" ]
	diff -u "$B/noservice.ndjson" <(printf '%s\n' "$output" | head -n -1)
	[ "$(diag .root_causes[0].service)" = '"pricing-engine"' ]
}

@test "bad lines: not JSON, not an event, garbage, a huge line; the stream goes on" {
	{ echo 'not json'; echo '{"v":1}'; head -c 3000 /dev/urandom | tr -d '\n'; echo
	  cat "$B/error.ndjson"; } > in
	run -65 --separate-stderr sre-brain --no-memory --no-pass --max-line 100000 < in
	[ "$(diag .root_causes[0].service)" = '"pricing-engine"' ]
	[[ $stderr == *"line 1: not JSON"* ]]
	[[ $stderr == *"line 2: "* ]]
	while IFS= read -r l; do
		[[ $l =~ ^sre-brain:\ line\ [0-9]+:\ [[:print:]]+$ ]]
	done <<< "$stderr"
	assert_no_sanitizer
}

@test "out of order: a recovery before its anomaly, an anomaly from the past" {
	run -0 --separate-stderr sre-brain --no-memory --no-pass < "$B/order.ndjson"
	[ "$(diag .root_causes[0].service)" = '"pricing-engine"' ]
	[[ $(diag .notes) == *"out of order"* ]]
	[[ $stderr == *"out of order"* ]]
	assert_no_sanitizer
}

@test "a topology with a cycle: handled, and said" {
	run -0 --separate-stderr sre-brain --no-memory --no-pass < "$B/cycle.ndjson"
	[ "$(diag .root_causes[0].service)" = '"svc-d"' ]
	[[ $(diag .notes) == *"cycle"* ]]
}

@test "a 10,000-service graph: bounded in time and memory" {
	python3 - > big.ndjson <<'EOF'
import json, random
random.seed(7)
N = 10000
s = ["svc-%05d" % i for i in range(N)]
edges = [{"from": s[random.randrange(i)], "to": s[i], "calls": 10}
         for i in range(1, N) for _ in range(2)]
edges += [{"from": s[N - 1], "to": s[0]}]
print(json.dumps({"v": 1, "type": "topology", "id": "t", "ts_ms": 1,
                  "source": "t", "services": s, "edges": edges}))
for k in range(3000):
    print(json.dumps({"v": 1, "type": "anomaly", "id": "a%d" % k,
        "incident": "INC-%d" % (k % 3), "ts_ms": 2, "source": "t",
        "service": s[random.randrange(N)], "operation": "GET",
        "signal": "errors", "observed": 0.3, "baseline": 0.01, "score": 9,
        "evidence": {"error_ratio": {"observed": 0.3, "baseline": 0.01},
        "messages": [{"text": "upstream %s failed" % s[random.randrange(N)],
                      "count": 3}]}}))
EOF
	start=$(date +%s%N)
	run -0 --separate-stderr /usr/bin/time -f 'maxrss %M' sre-brain --no-memory --no-pass \
	    --max-anomalies 500 < big.ndjson
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	kb=$(printf '%s\n' "$stderr" | sed -n 's/^maxrss //p')
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 3 ]
	[[ $(diag .notes | head -1) == *"weakest were left out"* ]]
	echo "# 10,000 services, 3000 anomalies: $ms ms, $kb kB" >&3
	[ "$ms" -lt 20000 ]
	[ "$kb" -lt 400000 ]
}

@test "--max-incidents bounds what is remembered; the oldest are diagnosed first" {
	for i in 1 2 3 4 5; do
		jq -c --arg i "$i" 'if .type == "anomaly" then .incident = "INC-\($i)" | .id = "\(.id)-\($i)" else . end' "$B/error.ndjson"
	done > many
	run -0 --separate-stderr sre-brain --no-memory --no-pass --max-incidents 2 < many
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 5 ]
	[[ $stderr == *"--max-incidents"* ]]
}

@test "memory: similar past incidents with their outcomes; a known fix reused" {
	"$SRE_BIN/tests/unit/test-rca" --make-store state
	# the error story with the store's culprit "db" and its fingerprint
	run -0 jq -c '(.. | strings) |= gsub("pricing-engine"; "db")
	    | if .type == "anomaly" and .service == "db" then .fingerprint = "fp-db" else . end' \
	    "$B/error.ndjson"
	printf '%s\n' "$output" > in
	run -0 --separate-stderr sre-brain --state-dir state --no-pass < in
	[ "$(diag '.memory[0] | [.incident, .via, .outcome]')" = '["INC-PAST-1","fingerprint","auto_resolved"]' ]
	[ "$(diag '.memory | length')" = 2 ]
	[ "$(diag '.proposal')" = '{"action":"rollback","target":"db","params":{"to":"1.2.3"}}' ]
	[[ $(diag .summary) == *"the fix that worked 2 times before for this fingerprint"* ]]
	[[ $(diag .summary) == *"Similar past incident INC-PAST-1 (auto_resolved): rollback db was done then."* ]]
	# another culprit: the known fix is not for it, not reused
	run -0 --separate-stderr sre-brain --state-dir state --no-pass < "$B/error.ndjson"
	[ "$(diag .proposal.action)" = '"observe"' ]
	# no store: memory is empty, not an error
	run -0 --separate-stderr sre-brain --state-dir nowhere --no-pass < in
	[ "$(diag '.memory')" = '[]' ]
	[ -z "$stderr" ]
}

@test "a full disk is an I/O error (74); a closed pipe ends quietly" {
	[ -w /dev/full ] || skip "no /dev/full"
	run -74 --separate-stderr sre-brain --no-memory --out file:/dev/full < "$B/error.ndjson"
	[[ $stderr == *"No space left on device"* ]]
	for i in $(seq 300); do cat "$B/error.ndjson"; done > many
	run -0 --separate-stderr bash -c 'sre-brain --no-memory < many 2>err | head -n 1 >/dev/null; exit ${PIPESTATUS[0]}'
	[ ! -s err ]
}

@test "SIGTERM: pending incidents are diagnosed, output flushed, exit 0" {
	mkfifo fifo
	sre-brain --no-memory --no-pass < fifo > out 2> err &
	pid=$!
	exec 5> fifo
	head -n 5 "$B/error.ndjson" >&5
	sleep 0.5
	kill -TERM "$pid"
	rc=0; wait "$pid" || rc=$?
	exec 5>&-
	[ "$rc" -eq 0 ]
	[ "$(jq -r .incident out)" = INC-error ]
	check_sanitizers err
}

# ---- the LLM --------------------------------------------------------

@test "LLM: the request is checked by the server; the answer is taken with model, tokens, latency" {
	start_llm --key "$KEY" --model test-model
	OPENAI_API_KEY=$KEY run -0 --separate-stderr sre-brain --no-memory --no-pass \
	    --model test-model < "$B/error.ndjson"
	[ "$(jq -s 'map(.problems | length) | add' "$LLMLOG")" = 0 ]
	[ "$(diag '.llm | [.status, .model, .prompt_tokens, .completion_tokens, .total_tokens, .attempts]')" = \
	    '["ok","test-model-2024-07-18",1234,56,1290,1]' ]
	[ "$(diag '.llm.latency_ms >= 0')" = true ]
	[ "$(diag .summary)" = '"pricing-engine is the origin (checked by the test LLM)."' ]
	[ "$(diag .root_causes[0].service)" = '"pricing-engine"' ]
	# loopback: not anonymised by default
	[ "$(diag .llm.anonymized)" = false ]
	assert_no_sanitizer
}

@test "LLM: the API key never shows in output or diagnostics" {
	start_llm --key "$KEY" --mode 401
	OPENAI_API_KEY=$KEY run -0 --separate-stderr sre-brain -v -v --no-memory < "$B/error.ndjson"
	! grep -qF "$KEY" <<< "$output$stderr"
	! grep -qF "sk-te" <<< "$output$stderr"
	[[ $(diag .notes) == *"HTTP 401 invalid_api_key"* ]]
	start_llm --key "$KEY"
	OPENAI_API_KEY=$KEY run -0 --separate-stderr sre-brain -v -v --no-memory < "$B/error.ndjson"
	! grep -qF "$KEY" <<< "$output$stderr"
	[ "$(diag .llm.status)" = '"ok"' ]
}

@test "LLM: anonymised, no original service name reaches the server; the answer is mapped back" {
	start_llm --key "$KEY"
	OPENAI_API_KEY=$KEY run -0 --separate-stderr sre-brain --anonymize --no-memory --no-pass < "$B/error.ndjson"
	[ -s "$LLMLOG" ]
	for s in pricing-engine quote-service quote-api edge-gateway redis-cache INC-error 4bf92f3577b34da6a3ce929d0e0e4736; do
		! grep -qF "$s" "$LLMLOG" || { echo "$s reached the server"; false; }
	done
	grep -qF 'svc-1' "$LLMLOG"
	[ "$(diag .root_causes[0].service)" = '"pricing-engine"' ]
	[ "$(diag .proposal.target)" = '"pricing-engine"' ]
	[ "$(diag .llm.anonymized)" = true ]
	# and without: the names go as they are
	OPENAI_API_KEY=$KEY run -0 --separate-stderr sre-brain --no-anonymize --no-memory --no-pass < "$B/error.ndjson"
	grep -qF pricing-engine "$LLMLOG"
}

@test "LLM: a bad answer falls back to the built-in diagnosis with a note, never a crash" {
	for mode in garbage badcontent refusal truncated unknown-service unknown-action patch bad-params hostile empty huge 400 404; do
		start_llm --mode "$mode"
		run -0 --separate-stderr sre-brain --llm --llm-retries 0 --no-memory --no-pass < "$B/error.ndjson"
		n=$(printf '%s\n' "$output" | wc -l)
		[ "$n" -eq 1 ] || { echo "$mode: $output"; false; }
		if [ "$mode" = hostile ]; then
			# taken, but cleaned and bounded
			[ "$(diag '.llm.status')" = '"ok"' ]
			[ "$(diag '.summary | length <= 2000')" = true ]
			[ "$(diag '.summary | test("[\\x01-\\x1f]") | not')" = true ]
		else
			[ "$(diag '.llm.status')" = '"fallback"' ] || { echo "$mode: $output"; false; }
			[[ $(diag .notes) == *"the built-in diagnosis stands"* ]]
			[ "$(diag .root_causes[0].service)" = '"pricing-engine"' ]
		fi
		assert_no_sanitizer
		kill "$LLM_PID"; wait "$LLM_PID" 2>/dev/null || true; LLM_PID=
	done
}

@test "LLM: 429 with Retry-After and 5xx are retried with backoff" {
	start_llm --mode 429,503,ok --retry-after 1
	start=$(date +%s%N)
	run -0 --separate-stderr sre-brain --llm --no-memory --no-pass < "$B/error.ndjson"
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	[ "$(diag '[.llm.status, .llm.attempts]')" = '["ok",3]' ]
	# Retry-After: 1 s, then the backoff (0.5 s doubled)
	[ "$ms" -ge 1900 ]
	start_llm --mode 500
	run -0 --separate-stderr sre-brain --llm --llm-retries 1 --no-memory --no-pass < "$B/error.ndjson"
	[ "$(diag '[.llm.status, .llm.attempts]')" = '["fallback",2]' ]
	[[ $(diag .llm.error) == *"HTTP 500"* ]]
}

@test "LLM: a slow answer times out and falls back" {
	start_llm --mode slow --delay 5
	start=$(date +%s%N)
	run -0 --separate-stderr sre-brain --llm --llm-timeout 500ms --llm-retries 0 --no-memory --no-pass < "$B/error.ndjson"
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	[ "$(diag .llm.status)" = '"fallback"' ]
	[[ $(diag .llm.error) == *"timed out"* ]]
	[ "$ms" -lt 4000 ]
}

@test "LLM: requests never block the stream" {
	start_llm --mode slow --delay 2
	mkfifo fifo
	sre-brain --llm --settle 0 --no-memory < fifo > out 2> err &
	pid=$!
	exec 5> fifo
	head -n 3 "$B/error.ndjson" >&5
	sleep 0.3
	echo '{"v":1,"type":"audit","id":"LATER","ts_ms":1700000020000,"source":"t","finding":"f","severity":"low","subject":"s","detail":"d"}' >&5
	for _ in $(seq 40); do grep -q LATER out && break; sleep 0.05; done
	# the line after the incident went out while the LLM was still thinking
	grep -q LATER out
	! grep -q '"type":"diagnosis"' out
	exec 5>&-
	wait "$pid"
	grep -q '"type":"diagnosis"' out
	[ "$(grep -n LATER out | cut -d: -f1)" -lt "$(grep -n '"type":"diagnosis"' out | head -1 | cut -d: -f1)" ]
	check_sanitizers err
}

@test "LLM: at most MAX_LLM_CONCURRENCY in flight, 1 when the governor says degraded" {
	for i in 1 2 3 4; do
		jq -c --arg i "$i" 'if .type == "anomaly" then .incident = "INC-\($i)" | .id = "\(.id)-\($i)" else . end' "$B/error.ndjson"
	done > four
	start_llm --mode slow --delay 0.6
	MAX_LLM_CONCURRENCY=2 run -0 --separate-stderr sre-brain --llm --no-memory --no-pass < four
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 4 ]
	[ "$(jq .peak "$LLMSTATS")" -eq 2 ]
	start_llm --mode slow --delay 0.6
	run -0 --separate-stderr sre-brain --llm --llm-concurrency 4 --no-memory --no-pass < four
	[ "$(jq .peak "$LLMSTATS")" -eq 4 ]
	mkdir -p gov
	echo '{"mode":"degraded","llm_concurrency":1,"threshold_bytes":1}' > gov/governor.json
	start_llm --mode slow --delay 0.6
	run -0 --separate-stderr sre-brain --llm --llm-concurrency 4 --state-dir gov --no-memory --no-pass < four
	[ "$(jq .peak "$LLMSTATS")" -eq 1 ]
	[ "$(diag .llm.status | sort -u)" = '"ok"' ]
}

@test "LLM: the governor's file flips the concurrency to 1 and back while running" {
	for i in 1 2 3 4 5 6 7 8; do
		jq -c --arg i "$i" 'if .type == "anomaly" then .incident = "INC-\($i)" | .id = "\(.id)-\($i)" else . end' "$B/error.ndjson"
	done > eight
	mkdir -p gov
	echo '{"mode":"degraded","llm_concurrency":1,"threshold_bytes":1}' > gov/governor.json
	start_llm --mode slow --delay 0.3
	{ head -n 28 eight; sleep 2; echo '{"mode":"normal","llm_concurrency":4,"threshold_bytes":1}' > gov/governor.json.tmp
	  mv gov/governor.json.tmp gov/governor.json; sleep 2; tail -n +29 eight; } |
	    sre-brain -v --llm --llm-concurrency 4 --settle 0 --state-dir gov --no-memory --no-pass > out 2> err
	[ "$(grep -c '"type":"diagnosis"' out)" -eq 8 ]
	[ "$(grep -o 'governor: [a-z]*, LLM concurrency [0-9]' err | tr '\n' ' ')" = "governor: degraded, LLM concurrency 1 governor: normal, LLM concurrency 4 " ]
	[ "$(jq .peak "$LLMSTATS")" -ge 2 ]
	check_sanitizers err
}

@test "LLM: configuration errors exit 78" {
	run -78 --separate-stderr sre-brain --llm < /dev/null
	[[ $stderr == *"OPENAI_API_KEY is needed"* ]]
	OPENAI_BASE_URL=ftp://x run -78 --separate-stderr sre-brain --llm < /dev/null
	[[ $stderr == *"not an http or https URL"* ]]
	# --no-llm wins over a key in the environment: no request at all
	OPENAI_API_KEY=$KEY OPENAI_BASE_URL=http://127.0.0.1:9/v1 run -0 --separate-stderr \
	    sre-brain --no-llm --no-memory --no-pass < "$B/error.ndjson"
	[ "$(diag .llm)" = null ]
}

@test "LLM: an unreachable endpoint falls back after retries" {
	run -0 --separate-stderr sre-brain --llm --llm-url http://127.0.0.1:9/v1 --llm-retries 1 \
	    --no-memory --no-pass < "$B/error.ndjson"
	[ "$(diag '[.llm.status, .llm.attempts]')" = '["fallback",2]' ]
	[[ $stderr == *"LLM request failed"* ]]
}
