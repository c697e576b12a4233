#!/usr/bin/env bats
# sre-scout: anomaly detection and incident grouping over telemetry.
#
# The quality tests run on traffic from the project's generator
# (examples/marketplace), a few minutes of event time at modest rates, so
# the suite stays fast under ASan too.

load helper

F=$FIXTURES/scout
GEN=$SRE_ROOT/examples/marketplace/sre-marketplace

setup() {
	[ -x "$GEN" ] || skip "no generator (make examples/marketplace/sre-marketplace)"
	T=$BATS_TEST_TMPDIR
}

# gen ARGS...: marketplace traffic into $T/in.ndjson, truth into $T/truth.json
gen() {
	"$GEN" "$@" -t "$T/truth.json" -o "$T/in.ndjson"
}

# scout ARGS...: sre-scout over $T/in.ndjson into $T/out, $T/err; $status
scout() {
	status=0
	sre-scout --state-dir "$T/state" "$@" < "$T/in.ndjson" > "$T/out" \
	    2> "$T/err" || status=$?
	check_sanitizers "$T/err"
}

truth() { jq -r "$1" "$T/truth.json"; }
events() { jq -c "select(.type == \"$1\")" "$T/out"; }
incidents() { jq -r 'select(.type == "anomaly") | .incident' "$T/out" | sort -u | wc -l; }
# some TYPE COND [CHECK]: some event of TYPE meets COND, and all those
# that do pass CHECK (jq 1.6 -e judges the last output only, so slurp).
some() {
	jq -e -s "[.[] | select(.type == \"$1\") | select($2)] | length > 0 and all(${3:-true})" "$T/out" > /dev/null
}
none() {
	jq -e -s "[.[] | select(.type == \"$1\") | select($2)] | length == 0" "$T/out" > /dev/null
}

@test "--help prints usage on stdout and exits 0" {
	run -0 --separate-stderr sre-scout --help
	[[ $output == "usage: sre-scout "* ]]
	[[ $output == *"--silences FILE"* ]]
	[ -z "$stderr" ]
}

@test "--version prints the name and version" {
	run -0 --separate-stderr sre-scout --version
	[[ $output =~ ^sre-scout\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
}

@test "bad options and values exit 64" {
	run -64 --separate-stderr sre-scout --no-such-option
	[[ $stderr == *"usage: sre-scout"* ]]
	run -64 --separate-stderr sre-scout - extra
	[[ $stderr == *"unexpected argument: extra"* ]]
	run -64 --separate-stderr sre-scout --window 10parsecs
	[[ $stderr == *"--window 10parsecs: not a duration"* ]]
	run -64 --separate-stderr sre-scout --window 100ms
	run -64 --separate-stderr sre-scout --sample 0
	[[ $stderr == *"--sample 0"* ]]
	run -64 --separate-stderr sre-scout --sample 1.5
	run -64 --separate-stderr sre-scout -w 10s --lateness 30s
	[[ $stderr == *"at most twice the window"* ]]
	run -64 --separate-stderr sre-scout --max-series 3
	run -64 --separate-stderr sre-scout --threads many
	[ -z "$output" ]
}

@test "empty input: no output, exit 0, a summary on stderr" {
	run -0 --separate-stderr sre-scout --state-dir "$T/s" < /dev/null
	[ -z "$output" ]
	[[ $stderr == "sre-scout: 0 lines, 0 spans, 0 points, 0 log records, 0 rejected lines, 0 anomalies (0 silenced), 0 recoveries, 0 incidents, 0.00 anomalies per incident" ]]
	run -0 --separate-stderr sre-scout -q --state-dir "$T/s" < /dev/null
	[ -z "$stderr" ]
}

@test "bad lines are reported by number and skipped, exit 65, never a crash" {
	run -65 --separate-stderr sre-scout --state-dir "$T/s" < "$F/bad.ndjson"
	[ -z "$output" ]
	diff -u - <(printf '%s\n' "$stderr") <<-'EOF'
	sre-scout: line 2: not JSON: resourceSpans[0]: unterminated string at byte 52
	sre-scout: line 3: not JSON: invalid literal at byte 0
	sre-scout: line 4: resourceSpans[0].scopeSpans[0].spans[0]: startTimeUnixNano: not an unsigned 64-bit integer
	sre-scout: line 6: span 'GET /x' of 'api': tolerated: end before start
	sre-scout: line 7: resourceSpans[0].scopeSpans[0].spans[0]: startTimeUnixNano: missing
	sre-scout: line 8: not telemetry (OTLP/JSON, a metric point, a journal entry) nor an event
	sre-scout: line 9: not telemetry (OTLP/JSON, a metric point, a journal entry) nor an event
	sre-scout: line 10: span 'GET /x' of 'api': duration 864000000 ms is beyond --max-duration: not used for latency
	sre-scout: line 11: span 'GET /x' of 'api': timestamp 3800000000050 ms is more than an hour ahead of the stream (1700000000050 ms)
	sre-scout: line 12: span 'GET /x' of 'api': timestamp 1000050 ms is not between 2000 and 2100
	sre-scout: line 13: span 'caf��' of 'api': tolerated: invalid UTF-8 replaced
	sre-scout: 13 lines, 7 spans, 0 points, 0 log records, 8 rejected lines, 0 anomalies (0 silenced), 0 recoveries, 0 incidents, 0.00 anomalies per incident
	EOF
	assert_no_sanitizer
}

@test "binary garbage, a 20 MiB line and deep nesting are rejected line by line" {
	head -c 20000 /dev/urandom > "$T/garbage"
	{ cat "$F/events.ndjson"; cat "$T/garbage"; printf '\n'
	  printf '{"resourceSpans":[{"x":"'; head -c 20971520 /dev/zero | tr '\0' a; printf '"}]}\n'
	  python3 -c 'print("{\"resourceSpans\":" * 100000)'
	  sed -n 1p "$F/bad.ndjson"; } > "$T/in"
	run -65 --separate-stderr sre-scout --relay-events --state-dir "$T/s" < "$T/in"
	diff -u "$F/events.ndjson" <(printf '%s\n' "$output")
	[[ $stderr == *": line too long (2097"* ]]
	while IFS= read -r l; do
		[[ $l =~ ^sre-scout:\ (line\ [0-9]+:\ [[:print:]]+|[0-9]+\ lines,.*)$ ]]
	done <<< "$stderr"
	assert_no_sanitizer
}

@test "events pass through untouched; wrong JSON types are tolerated or rejected" {
	run -0 --separate-stderr sre-scout --relay-events --state-dir "$T/s" < "$F/events.ndjson"
	diff -u "$F/events.ndjson" <(printf '%s\n' "$output")
	# Without --relay-events a control event in the telemetry is dropped.
	run -65 --separate-stderr sre-scout --state-dir "$T/s" < "$F/events.ndjson"
	diff -u <(sed 2d "$F/events.ndjson") <(printf '%s\n' "$output")
	[[ $stderr == *"sre-scout: line 2: diagnosis in the telemetry: dropped (a control event is relayed only with --relay-events)"* ]]
	run -65 --separate-stderr sre-scout --state-dir "$T/s" < "$FIXTURES/otlp/points.ndjson"
	[[ $stderr == *"line 2: point of 'queue_depth': tolerated: a field of the wrong type converted"* ]]
	[[ $stderr == *"line 3: value: not a number"* ]]
	run -65 --separate-stderr sre-scout --state-dir "$T/s" < "$FIXTURES/otlp/journal.ndjson"
	[[ $stderr == *", 4 log records, 2 rejected lines,"* ]]
	assert_no_sanitizer
}

@test "a missing input file exits 66; a full disk 74; a closed pipe 0" {
	run -66 --separate-stderr sre-scout --in file:/nonexistent/x.ndjson
	[ "$stderr" = "sre-scout: /nonexistent/x.ndjson: No such file or directory" ]
	[ -w /dev/full ] || skip "no /dev/full"
	run -74 --separate-stderr sre-scout --relay-events --state-dir "$T/s" --out file:/dev/full < "$F/events.ndjson"
	[[ $stderr == *"writing output to file:/dev/full failed"* ]]
	for i in $(seq 3000); do cat "$F/events.ndjson"; done > "$T/many"
	run -0 --separate-stderr bash -c 'sre-scout --relay-events --state-dir "$3" < "$1" 2>"$2" | head -n 1 >/dev/null; exit ${PIPESTATUS[0]}' _ "$T/many" "$T/err2" "$T/s"
	! grep -q 'line [0-9]\|runtime' "$T/err2"
}

@test "golden output for a small fixed input (SRE_NOW, SRE_SEED)" {
	gzip -dc "$F/small.ndjson.gz" > "$T/in.ndjson"
	scout --warmup 30s -w 5s --min-samples 5 --topology 8
	[ "$status" -eq 0 ]
	diff -u "$F/small.expected" "$T/out"
	# Every event is a valid envelope, and anomalies follow the schema.
	sre-bus < "$T/out" > /dev/null
	some anomaly true '.evidence.scope and (.evidence.traces | length > 0) and (.fingerprint | test("^[0-9a-f]{16}$")) and .window_end_ms > .window_start_ms'
	some recovery true '.fingerprint and .incident and .window_end_ms'
	some topology true '.incident == null and (.edges | length > 0)'
}

@test "the output does not depend on the parser threads" {
	gzip -dc "$F/small.ndjson.gz" > "$T/in.ndjson"
	for n in 0 1 3; do
		run_to_files sre-scout --state-dir "$T/s" --threads $n --warmup 30s -w 5s --min-samples 5 < "$T/in.ndjson"
		cp "$T/out" "$T/out.$n"
	done
	cmp "$T/out.0" "$T/out.1"
	cmp "$T/out.0" "$T/out.3"
}

@test "a latency fault in one service: one incident within two windows, the culprit in it, recovery within three" {
	gen -d 8m -r 10 -f latency -c pricing-engine --fault-start 5m --fault-end 390s --decoys 1
	scout
	[ "$status" -eq 0 ]
	start=$(truth '.faults[0].start_ms'); end=$(truth '.faults[0].end_ms')
	[ "$(incidents)" -eq 1 ]
	# Nothing before the fault; the first anomaly's window ends within
	# two windows (20 s) of its start.
	first=$(jq -s '[.[] | select(.type == "anomaly") | .window_end_ms] | min' "$T/out")
	[ "$first" -ge "$start" ]
	[ "$first" -le $((start + 20000)) ]
	some anomaly '.service == "pricing-engine" and .signal == "latency"'
	# One recovery per raised series, every one within three windows.
	[ "$(events anomaly | jq -r .fingerprint | sort -u | wc -l)" -eq "$(events recovery | wc -l)" ]
	last=$(jq -s '[.[] | select(.type == "recovery") | .ts_ms] | max' "$T/out")
	[ "$last" -le $((end + 30000)) ]
	# The culprit's evidence: its self time rose, the total with it.
	some anomaly '.service == "pricing-engine" and .operation == "POST /v1/price"' '.evidence | .self_ms.observed > 2 * .self_ms.baseline and (.latency_ms | .p50 <= .p95 and .p95 <= .p99) and (.edges | length > 0)'
}

@test "an error fault: one incident, the culprit's errors with their messages" {
	gen -d 6m -r 10 -f error -c pricing-engine --fault-start 4m --fault-end 5m --logs
	scout
	[ "$status" -eq 0 ]
	[ "$(incidents)" -eq 1 ]
	some anomaly '.service == "pricing-engine" and .signal == "errors"' '.evidence | .error_ratio.observed > 0.1 and (.messages | length > 0) and (.versions[0].version | length > 0)'
	# The logs of the culprit join the incident, with their templates.
	some anomaly '.signal == "log" and .service == "pricing-engine"' '.evidence | .scope == "service" and (.templates | length > 0) and (.messages | length > 0)'
}

@test "clean traffic with a jittery decoy for an hour: at most one false incident" {
	gen -d 1h -r 2 --decoys 1 --logs
	scout
	[ "$status" -eq 0 ]
	[ "$(truth '.decoys | length')" -eq 1 ]
	[ "$(incidents)" -le 1 ]
	assert_no_sanitizer
}

@test "a network fault raises edge anomalies on the edges into the culprit" {
	gen -d 6m -r 10 -f network -c pricing-engine --fault-start 4m --fault-end 5m
	scout
	[ "$status" -eq 0 ]
	[ "$(incidents)" -eq 1 ]
	# Every edge anomaly is an edge into the culprit, the gap grown; the
	# callee's own spans are not slower.
	some anomaly '.evidence.scope == "edge"' '.service == "pricing-engine" and .operation == null and .evidence.edge.to == "pricing-engine" and .observed > 10 * .baseline'
	none anomaly '.service == "pricing-engine" and .evidence.scope == "operation"'
	some recovery '.scope == "edge" and .edge.to == "pricing-engine"'
}

@test "the same input twice gives the same fingerprints; ids follow SRE_SEED" {
	gen -d 6m -r 10 -f both -c pricing-engine --fault-start 4m --fault-end 5m
	scout
	jq -r 'select(.type == "anomaly") | .fingerprint' "$T/out" | sort > "$T/fp1"
	cp "$T/out" "$T/out1"
	SRE_SEED=7 SRE_NOW=1800000000000 scout
	jq -r 'select(.type == "anomaly") | .fingerprint' "$T/out" | sort > "$T/fp2"
	[ -s "$T/fp1" ]
	cmp "$T/fp1" "$T/fp2"
	! cmp -s "$T/out1" "$T/out"
	# A fingerprint names a series: one per (service, operation, signal, scope).
	[ "$(wc -l < "$T/fp1")" -eq "$(sort -u "$T/fp1" | wc -l)" ]
}

@test "silences keep known work quiet: counted, not emitted" {
	gen -d 6m -r 10 -f latency -c pricing-engine --fault-start 4m --fault-end 5m
	mkdir -p "$T/state"
	# A window that does not cover the fault changes nothing.
	printf '%s\n' '# planned work' '{"service":"*","start":"2023-11-14T22:00:00Z","end":"2023-11-14T22:05:00Z"}' > "$T/sil"
	scout --silences "$T/sil"
	[[ $(tail -1 "$T/err") == *"(0 silenced)"* ]]
	n=$(events anomaly | wc -l)
	[ "$n" -gt 0 ]
	# The culprit's latency silenced: the rest of the incident stays.
	printf '%s\n' '{"service":"pricing-engine","signal":"lat*","start":1700000000000,"comment":"re-index"}' > "$T/sil"
	scout --silences "$T/sil"
	none anomaly '.service == "pricing-engine"'
	some anomaly '.service == "quote-service"'
	[[ $(tail -1 "$T/err") =~ \(([1-9][0-9]*)\ silenced\) ]]
	# Everything silenced (the default file in the state directory).
	printf '%s\n' '{"service":"*"}' > "$T/state/silences.ndjson"
	scout
	[ -z "$(events anomaly)" ]
	[ "$(incidents)" -eq 0 ]
	# A bad silences file is a configuration error.
	printf '%s\n' '{"service":"x","end":"yesterday"}' > "$T/bad"
	run -78 --separate-stderr sre-scout --state-dir "$T/state" --silences "$T/bad" < /dev/null
	[[ $stderr == *"$T/bad:1: end: not epoch ms or RFC 3339 time"* ]]
}

@test "the governor's state file flips sampling and windows, and flips them back" {
	gen -d 6m -r 5
	n=$(wc -l < "$T/in.ndjson")
	mkdir -p "$T/state"
	mkfifo "$T/fifo"
	sre-scout --state-dir "$T/state" --topology 1 < "$T/fifo" > "$T/out" 2> "$T/err" &
	pid=$!
	exec 5> "$T/fifo"
	wait_topo() {	# wait until the output holds $1 topology events
		for i in $(seq 100); do
			[ "$(grep -c topology "$T/out")" -ge "$1" ] && return 0
			sleep 0.1
		done
		return 1
	}
	sed -n "1,$((n / 3))p" "$T/in.ndjson" >&5
	wait_topo 5
	printf '{"mode":"degraded","sample_rate":0.25}\n' > "$T/state/governor.json"
	sed -n "$((n / 3 + 1)),$((2 * n / 3))p" "$T/in.ndjson" >&5
	wait_topo 12
	printf '{"mode":"normal"}\n' > "$T/state/governor.json"
	sed -n "$((2 * n / 3 + 1)),\$p" "$T/in.ndjson" >&5
	exec 5>&-
	wait $pid
	check_sanitizers "$T/err"
	grep -q 'governor: degraded: sampling 0.25, windows of 30000 ms' "$T/err"
	grep -q 'governor: normal: sampling 1, windows of 10000 ms' "$T/err"
	# Normal windows, then degraded ones (sampling drops at once, windows
	# lengthen from the next one), then normal again.
	jq -c 'select(.type == "topology") | [.sampled, .window_end_ms - .window_start_ms]' "$T/out" > "$T/modes"
	[ "$(head -1 "$T/modes")" = "[1,10000]" ]
	grep -qx '\[0.25,30000\]' "$T/modes"
	[ "$(tail -1 "$T/modes")" = "[1,10000]" ]
	[ "$(uniq "$T/modes" | grep -c '\[1,10000\]')" -eq 2 ]
}

@test "--sample keeps a share of the traces by trace id, ENV=cloud a tenth" {
	gen -d 3m -r 10
	scout --topology 1
	all=$(jq -s '[.[] | select(.type == "topology") | .edges[] | select(.from == "edge-gateway") | .calls] | add' "$T/out")
	scout --topology 1 --sample 0.5 -v
	half=$(jq -s '[.[] | select(.type == "topology") | .edges[] | select(.from == "edge-gateway") | .calls] | add' "$T/out")
	grep -q ' sampled out' "$T/err"
	# Scaled back: within 20% of the full count.
	[ $((half * 10)) -ge $((all * 8)) ] && [ $((half * 10)) -le $((all * 12)) ]
	ENV=cloud scout --topology 1
	jq -e -s 'map(select(.type == "topology")) | length > 0 and all(.sampled == 0.1)' "$T/out" > /dev/null
	ENV=cloud scout --topology 1 --sample 1
	jq -e -s 'map(select(.type == "topology")) | all(.sampled == 1)' "$T/out" > /dev/null
}

@test "at most one topology event per window, with the learned call graph" {
	gen -d 3m -r 5
	scout --topology 1
	[ "$(events topology | jq -r .window_end_ms | sort | uniq -d | wc -l)" -eq 0 ]
	some topology true '.incident == null and all(.edges[]; .calls > 0 and .p95_ms > 0 and .errors >= 0) and (.services | length > 0)'
	jq -e -s '[.[] | select(.type == "topology") | .edges[] | "\(.from)>\(.to)"] | index("quote-service>pricing-engine") != null' "$T/out" > /dev/null
	# Learned edges match the generator's call graph.
	events topology | jq -r '.edges[] | "\(.from) \(.to)"' | sort -u > "$T/learned"
	truth '.edges[] | "\(.from) \(.to)"' | sort -u > "$T/true"
	comm -23 "$T/learned" "$T/true" > "$T/extra"
	[ ! -s "$T/extra" ]
	scout --topology 0
	[ -z "$(events topology)" ]
}

@test "bad input never poisons a baseline: absurd spans and times in clean traffic" {
	gen -d 5m -r 10
	# Every 20th line: a span of ten days, a span in 2090, one in 1970.
	awk 'NR % 20 == 0 { print "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{\"stringValue\":\"pricing-engine\"}}]},\"scopeSpans\":[{\"spans\":[{\"traceId\":\"0af7651916cd43dd8448eb211c80319c\",\"spanId\":\"b7ad6b7169203331\",\"name\":\"POST /v1/price\",\"startTimeUnixNano\":\"1700000100000000000\",\"endTimeUnixNano\":\"1700864100000000000\"},{\"traceId\":\"1af7651916cd43dd8448eb211c80319c\",\"spanId\":\"c7ad6b7169203331\",\"name\":\"POST /v1/price\",\"startTimeUnixNano\":\"3800000000000000000\",\"endTimeUnixNano\":\"3800000000100000000\"},{\"traceId\":\"2af7651916cd43dd8448eb211c80319c\",\"spanId\":\"d7ad6b7169203331\",\"name\":\"POST /v1/price\",\"startTimeUnixNano\":\"1000000000\",\"endTimeUnixNano\":\"2000000000\"}]}]}]}" } { print }' "$T/in.ndjson" > "$T/mixed"
	mv "$T/mixed" "$T/in.ndjson"
	scout -v
	[ "$status" -eq 65 ]
	[ -z "$(events anomaly)" ]
	grep -q 'beyond --max-duration' "$T/err"
	grep -q 'more than an hour ahead of the stream' "$T/err"
	grep -q 'is not between 2000 and 2100' "$T/err"
	# The only late records are the ten-day spans (counted at their
	# start, far behind): the stream time was not dragged anywhere.
	[[ $(cat "$T/err") =~ ([0-9]+)\ late ]]
	[ "${BASH_REMATCH[1]}" -le "$(grep -c 1700864100000000000 "$T/in.ndjson")" ]
	[[ $(cat "$T/err") == *" 0 dropped,"* ]]
}

@test "memory is bounded: a flood of distinct operations is evicted, not hoarded" {
	python3 - "$T/in.ndjson" <<-'EOF'
	import json, sys
	out = open(sys.argv[1], "w")
	t0 = 1700000000 * 10**9
	for i in range(3000):
	    spans = []
	    for j in range(20):
	        k = i * 20 + j
	        st = t0 + k * 10**7
	        spans.append({"traceId": "%032x" % k, "spanId": "%016x" % k, "name": "GET /item/%d" % k,
	                      "kind": 2, "startTimeUnixNano": str(st), "endTimeUnixNano": str(st + 5 * 10**6)})
	    out.write(json.dumps({"resourceSpans": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "svc%d" % (i % 500)}}]}, "scopeSpans": [{"spans": spans}]}]}) + "\n")
	EOF
	scout -v --max-series 100
	[ "$status" -eq 0 ]
	# Series busy in an open window stay; the others make room or, when
	# none can, their records are counted and dropped.
	[[ $(cat "$T/err") =~ ([0-9]+)\ evicted,\ ([0-9]+)\ dropped ]]
	[ "${BASH_REMATCH[1]}" -gt 1000 ]
	[ $(( BASH_REMATCH[1] + BASH_REMATCH[2] )) -gt 50000 ]
	grep -q ' 100 operations' "$T/err"
	case $SRE_BIN in *asan*) skip "RSS under ASan is not the tool's";; esac
	/usr/bin/time -f '%M' -o "$T/rss" sre-scout --state-dir "$T/s" < "$T/in.ndjson" > /dev/null 2>&1
	[ "$(cat "$T/rss")" -lt 32768 ]
}

@test "a weak fault on a thin series is judged over pooled windows" {
	# partner-api sees about 25 spans a window: too few for a p95 of
	# its own.  A release erring on one request in ten comes out only
	# when two or three windows are pooled.
	gen -s 137 -n 11 -d 4m -f release -c partner-api --fault-start 150s --intensity 0.4
	scout
	[ "$status" -eq 0 ]
	[ "$(incidents)" -eq 1 ]
	some anomaly '.service == "partner-api" and .signal == "errors"' '.ts_ms >= 1700000150000'
}

@test "a rollout already complete: the evidence names the version it replaced" {
	# 20 spans a second of svc 1.0 for 150 s, then 1.1 failing 40%.
	python3 - "$T/in.ndjson" <<-'EOF'
	import json, sys
	out = open(sys.argv[1], "w")
	t0 = 1700000000 * 10**9
	for sec in range(240):
	    ver = "1.0" if sec < 150 else "1.1"
	    spans = []
	    for j in range(20):
	        k = sec * 20 + j
	        st = t0 + sec * 10**9 + j * 5 * 10**7
	        bad = ver == "1.1" and j % 5 < 2
	        spans.append({"traceId": "%032x" % (k + 1), "spanId": "%016x" % (k + 1),
	                      "name": "GET /x", "kind": 2,
	                      "startTimeUnixNano": str(st), "endTimeUnixNano": str(st + 4 * 10**6),
	                      "status": {"code": 2 if bad else 1}})
	    res = {"attributes": [{"key": "service.name", "value": {"stringValue": "svc"}},
	                          {"key": "service.version", "value": {"stringValue": ver}}]}
	    out.write(json.dumps({"resourceSpans": [{"resource": res, "scopeSpans": [{"spans": spans}]}]}) + "\n")
	EOF
	scout
	[ "$status" -eq 0 ]
	some anomaly '.service == "svc" and .signal == "errors"' '(.evidence.versions | map(.version)) == ["1.1"] and .evidence.previous_version.version == "1.0" and .evidence.previous_version.first_seen_ms < 1700000010000'
	sre-brain --no-pass --no-memory --state-dir "$T/state" < "$T/out" > "$T/diag"
	jq -e -s 'map(select(.type == "diagnosis")) | .[0].proposal == {"action":"rollback","target":"svc","params":{"to":"1.0"}}' "$T/diag"
}

@test "metrics: a CPU fault shows in the culprit's gauge, inside the incident" {
	# A metric series warms up over 130 points: at one point every
	# 10 s, 22 minutes first.
	gen -d 27m -r 3 -f cpu -c pricing-engine --fault-start 24m --fault-end 26m --metrics
	scout
	[ "$status" -eq 0 ]
	[ "$(incidents)" -eq 1 ]
	some anomaly '.signal == "metric" and .service == "pricing-engine" and .operation == "process.cpu.utilization"' '.evidence | .scope == "metric" and .metric == "process.cpu.utilization" and (.labels | type == "object")'
}

@test "journal entries and plain points are read; a service's error burst raises a log anomaly" {
	python3 - "$T/in.ndjson" <<-'EOF'
	import json, sys, random
	random.seed(3)
	out = open(sys.argv[1], "w")
	t0 = 1700000000 * 10**6
	for s in range(600):            # 10 minutes, a few lines a second
	    for k in range(4):
	        us = t0 + s * 10**6 + k * 250000
	        err = 240 <= s < 300 and k < 3
	        prio = "3" if err or random.random() < 0.01 else "6"
	        msg = "payment %d declined: gateway timeout after 30s" % random.randint(1, 99999) if prio == "3" else "request served in %d ms" % random.randint(1, 50)
	        out.write(json.dumps({"__REALTIME_TIMESTAMP": str(us), "_SYSTEMD_UNIT": "billing.service", "PRIORITY": prio, "MESSAGE": msg, "_HOSTNAME": "h1"}) + "\n")
	    out.write(json.dumps({"ts_ms": t0 // 1000 + s * 1000, "metric": "queue_depth", "value": 5 + random.random(), "labels": {"service": "billing"}}) + "\n")
	EOF
	scout
	[ "$status" -eq 0 ]
	[ "$(incidents)" -eq 1 ]
	some anomaly '.service == "billing" and .signal == "log"' '.window_start_ms >= 1700000240000 and .window_end_ms <= 1700000300000 and (.evidence.templates[0].template | test("declined"))'
	[ "$(events recovery | wc -l)" -eq 1 ]
	[[ $(tail -1 "$T/err") == *"0 spans, 600 points, 2400 log records"* ]]
}

@test "live input: windows close by the wall clock when the stream goes quiet" {
	gen -d 3m -r 5
	mkfifo "$T/fifo"
	sre-scout --state-dir "$T/state" --topology 1 < "$T/fifo" > "$T/out" 2> "$T/err" &
	pid=$!
	exec 5> "$T/fifo"
	cat "$T/in.ndjson" >&5
	# The stream is open but quiet: the last windows still close.
	last=$(jq -s 'map(.resourceSpans[].scopeSpans[].spans[].endTimeUnixNano | tonumber) | max / 1000000 | floor' "$T/in.ndjson")
	want=$(( (last / 10000) * 10000 ))
	for i in $(seq 150); do
		jq -e --argjson w "$want" 'select(.type == "topology" and .window_start_ms == $w)' "$T/out" > /dev/null 2>&1 && break
		sleep 0.1
	done
	jq -e --argjson w "$want" 'select(.type == "topology" and .window_start_ms == $w)' "$T/out" > /dev/null
	kill -TERM $pid
	rc=0; wait $pid || rc=$?
	exec 5>&-
	[ "$rc" -eq 0 ]
	check_sanitizers "$T/err"
}

# points FILE STEP_S N [KIND AT LEN [SEED]]: a metric series as plain
# points, 100 + noise of sd 2, every STEP_S seconds (0: irregular, 30 to
# 90 s apart), from 2023-11-14; KIND step (+40), spike (+60), drift (+2
# a point, up to +40) or flat (a daily swing of 30 that stops) at point AT
# for LEN points.
points() {
	python3 - "$@" <<-'EOF'
	import json, math, random, sys
	path, step, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
	kind = sys.argv[4] if len(sys.argv) > 4 else "none"
	at = int(sys.argv[5]) if len(sys.argv) > 5 else n
	ln = int(sys.argv[6]) if len(sys.argv) > 6 else 0
	random.seed(int(sys.argv[7]) if len(sys.argv) > 7 else 1)
	t = 1700000000000
	with open(path, "w") as out:
	    for i in range(n):
	        v = 100 + random.gauss(0, 2)
	        if kind == "flat":
	            v += 0 if i >= at else 30 * math.sin(2 * math.pi * t / 86400000)
	        elif at <= i < at + ln:
	            v += {"step": 40, "spike": 60, "drift": min(40, 2 * (i - at + 1))}[kind]
	        out.write(json.dumps({"ts_ms": t, "metric": "latency_ms", "value": round(v, 3),
	                              "labels": {"service": "api"}}) + "\n")
	        t += step * 1000 if step else random.randint(30000, 90000)
	EOF
}

# nth N: the event time of point N of $T/in.ndjson (0 first).
nth() { sed -n "$(( $1 + 1 ))p" "$T/in.ndjson" | jq .ts_ms; }

@test "metrics: 1-minute, 1-hour and irregular series are all accepted; a step is raised within 3 points and recovers" {
	for step in 60 3600 0; do
		points "$T/in.ndjson" "$step" 400 step 300 30
		scout
		[ "$status" -eq 0 ]
		[[ $(tail -1 "$T/err") == *"400 points, 0 log records, 0 rejected lines, 1 anomalies (0 silenced), 1 recoveries, 1 incidents"* ]]
		some anomaly '.signal == "metric" and .service == "api" and .operation == "latency_ms"' ".ts_ms >= $(nth 300) and .ts_ms <= $(nth 302) and .evidence.metric == \"latency_ms\" and .observed > 130"
		# Back when the series is: not before the step ends, and
		# soon after.
		some recovery '.signal == "metric"' ".ts_ms >= $(nth 330) and .ts_ms <= $(nth 360)"
	done
}

@test "metrics: a spike, a drift and a changed daily cycle are raised within a few points" {
	points "$T/in.ndjson" 60 400 spike 300 1
	scout
	[ "$status" -eq 0 ]
	some anomaly 'true' ".ts_ms == $(nth 300)"
	some recovery 'true' ".ts_ms <= $(nth 303)"
	points "$T/in.ndjson" 60 400 drift 300 100
	scout
	some anomaly 'true' ".ts_ms >= $(nth 300) and .ts_ms <= $(nth 305)"
	[ "$(events anomaly | wc -l)" -eq 1 ]
	# Hourly, with a daily swing of 30 that stops after 20 days.
	points "$T/in.ndjson" 3600 528 flat 480
	scout
	[ "$status" -eq 0 ]
	some anomaly 'true' ".ts_ms >= $(nth 480) and .ts_ms <= $(nth 492)"
	[ "$(events anomaly | wc -l)" -eq 1 ]
}

@test "metrics: a month of 1-minute points piped at once is all accepted, quietly" {
	points "$T/in.ndjson" 60 43200
	scout
	[ "$status" -eq 0 ]
	[[ $(tail -1 "$T/err") == *"43200 lines, 0 spans, 43200 points, 0 log records, 0 rejected lines, "* ]]
	# Gaussian noise: the default threshold allows about two false
	# alarms a month of minutes (sre-scout(1)).
	[ "$(events anomaly | wc -l)" -le 2 ]
}

@test "metrics: points out of order within the series' lateness are accepted; one far in its past is rejected, the rest judged" {
	points "$T/in.ndjson" 60 400 step 300 30
	# Swap neighbours, and send one point ten minutes late.
	awk 'NR % 7 == 3 { held = $0; next } NR % 7 == 4 { print; print held; next }
	    NR == 152 { late = $0; next } NR == 162 { print late } { print }' \
	    "$T/in.ndjson" > "$T/shuffled"
	[ "$(wc -l < "$T/shuffled")" -eq 400 ]
	cp "$T/in.ndjson" "$T/orig"
	mv "$T/shuffled" "$T/in.ndjson"
	scout
	[ "$status" -eq 0 ]
	[[ $(tail -1 "$T/err") == *"400 points, 0 log records, 0 rejected lines, 1 anomalies"* ]]
	# A point a month before its series' latest, mid-stream.
	{ sed -n 1,200p "$T/orig"
	  echo '{"ts_ms":1697408000000,"metric":"latency_ms","value":100,"labels":{"service":"api"}}'
	  sed -n '201,$p' "$T/orig"; } > "$T/in.ndjson"
	cp "$T/in.ndjson" "$T/with-old"
	scout
	[ "$status" -eq 65 ]
	grep -q "^sre-scout: line 201: point of 'latency_ms': timestamp 1697408000000 ms is 2603940000 ms behind its series' latest point (1700011940000 ms): older than the series allows (3840000 ms)$" "$T/err"
	[[ $(tail -1 "$T/err") == *"401 points, 0 log records, 1 rejected lines, 1 anomalies"* ]]
	some anomaly '.signal == "metric"' ".ts_ms >= $(sed -n 302p "$T/with-old" | jq .ts_ms)"
}

@test "mixed input: dense spans and a sparse metric series with its history, in one stream" {
	gen -d 6m -r 10 -f latency -c pricing-engine --fault-start 4m --fault-end 5m
	# Four hours of a 1-minute gauge before the spans, then its points
	# among them, a step from the spans' second minute on.
	python3 - "$T/in.ndjson" "$T/mixed" <<-'EOF'
	import json, random, sys
	random.seed(5)
	t0 = 1700000000000
	def pt(t, v):
	    return json.dumps({"ts_ms": t, "metric": "queue_depth", "value": round(v, 3),
	                       "labels": {"service": "billing"}}) + "\n"
	out = open(sys.argv[2], "w")
	for m in range(-240, 0):
	    out.write(pt(t0 + m * 60000, 50 + random.gauss(0, 2)))
	m = 0
	for line in open(sys.argv[1]):
	    out.write(line)
	    ends = [int(s["endTimeUnixNano"]) // 10**6 for r in json.loads(line).get("resourceSpans", [])
	            for ss in r["scopeSpans"] for s in ss["spans"]]
	    while ends and max(ends) >= t0 + m * 60000 and m < 6:
	        out.write(pt(t0 + m * 60000, 50 + random.gauss(0, 2) + (40 if m >= 2 else 0)))
	        m += 1
	EOF
	mv "$T/mixed" "$T/in.ndjson"
	[ "$(grep -c queue_depth "$T/in.ndjson")" -eq 246 ]
	scout
	[ "$status" -eq 0 ]
	[[ $(tail -1 "$T/err") == *" 246 points, 0 log records, 0 rejected lines,"* ]]
	some anomaly '.service == "pricing-engine" and .signal == "latency"' '.ts_ms >= 1700000240000'
	some anomaly '.service == "billing" and .signal == "metric"' '.ts_ms >= 1700000120000 and .ts_ms <= 1700000240000'
}
