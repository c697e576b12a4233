#!/usr/bin/env bats
# sre-serve: OTLP/HTTP, remote write and Alertmanager in; the API, /metrics
# and the dashboard out.  Every server here is real, on a loopback port the
# system picks, and stopped by its pid; every wait is bounded.

load helper
load serve

@test "--help prints usage on stdout and exits 0; bad usage exits 64" {
	run -0 --separate-stderr sre-serve --help
	[[ $output == "usage: sre-serve "* ]]
	run -0 --separate-stderr sre-serve --version
	[[ $output =~ ^sre-serve\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
	run -64 --separate-stderr sre-serve --no-such-option
	[[ $stderr == *"usage: sre-serve"* ]]
	run -64 --separate-stderr sre-serve -l localhost:80
	[[ $stderr == *"--listen: 'localhost:80' is not ADDR:PORT"* ]]
	run -64 --separate-stderr sre-serve --max-body 12
	[[ $stderr == *"--max-body 12: too small"* ]]
	run -64 --separate-stderr sre-serve --timeout soon
	run -64 --separate-stderr sre-serve - extra
}

@test "a port in use exits 69 with the address named" {
	serve_start
	run -69 --separate-stderr sre-serve -l "127.0.0.1:$PORT"
	[[ $stderr == *"cannot listen on 127.0.0.1:$PORT"* ]]
	serve_stop
}

@test "OTLP/JSON traces: one line per request, as sent, answered {}" {
	serve_start
	post /v1/traces application/json "$OTLP/trace.json"
	[ "$code" = 200 ]
	[ "$(cat body)" = "{}" ]
	grep -qi '^content-type: application/json' headers
	post /v1/metrics 'application/json; charset=utf-8' "$OTLP/metrics.json"
	[ "$code" = 200 ]
	post /v1/logs application/json "$OTLP/logs.json"
	[ "$code" = 200 ]
	serve_stop
	[ "$(wc -l < out)" -eq 3 ]
	diff <(jq -cS . "$OTLP/trace.json") <(sed -n 1p out | jq -cS .)
	diff <(jq -cS . "$OTLP/metrics.json") <(sed -n 2p out | jq -cS .)
	diff <(jq -cS . "$OTLP/logs.json") <(sed -n 3p out | jq -cS .)
	run -0 --separate-stderr sre-scout -v < out
	[[ $stderr == *"3 lines, 1 spans, "*" 0 rejected lines"* ]]
}

@test "gzip bodies are inflated; a damaged one is 400" {
	serve_start
	gzip -c "$OTLP/trace.json" > t.gz
	post /v1/traces application/json t.gz -H 'Content-Encoding: gzip'
	[ "$code" = 200 ]
	head -c 40 t.gz > bad.gz
	post /v1/traces application/json bad.gz -H 'Content-Encoding: gzip'
	[ "$code" = 400 ]
	[[ $(cat body) == *"damaged gzip body"* ]]
	serve_stop
	[ "$(wc -l < out)" -eq 1 ]
	diff <(jq -cS . "$OTLP/trace.json") <(jq -cS . out)
}

@test "bad bodies are 400 with a message naming the problem; nothing is written" {
	serve_start
	printf '{"resourceSpans":[' > trunc.json
	post /v1/traces application/json trunc.json
	[ "$code" = 400 ]
	[ "$(jq -r .code body)" = 3 ]
	[[ $(jq -r .message body) == *"byte 18"* ]]
	post /v1/traces application/json "$OTLP/metrics.json"
	[ "$code" = 400 ]
	[ "$(jq -r .message body)" = "a metrics request, not traces" ]
	printf '\377\377\377garbage' > bad.pb
	post /v1/traces application/x-protobuf bad.pb
	[ "$code" = 400 ]
	grep -qi '^content-type: application/x-protobuf' headers
	grep -q 'not a valid protobuf ExportTraceServiceRequest' body
	# 5000 nested messages: refused before protobuf-c recurses into them.
	python3 -c 'import sys
b = b""
for _ in range(5000):
    n, v = len(b), bytearray()
    while n > 127:
        v.append(n & 127 | 128)
        n >>= 7
    b = b"\n" + bytes(v) + bytes([n]) + b
sys.stdout.buffer.write(b)' > deep.pb
	post /v1/traces application/x-protobuf deep.pb
	[ "$code" = 400 ]
	grep -q 'protobuf nested deeper than 64 messages' body
	python3 -c 'print("{\"version\":\"4\",\"alerts\":" + "[" * 100000 + "]" * 100000 + "}")' > deep.json
	post /v1/alertmanager application/json deep.json
	[ "$code" = 400 ]
	post /v1/traces application/json deep.json
	[ "$code" = 400 ]
	serve_stop
	[ ! -s out ]
}

@test "an empty request is a success that writes nothing" {
	serve_start
	printf '{}' > empty.json
	post /v1/traces application/json empty.json
	[ "$code" = 200 ]
	: > empty.pb
	post /v1/logs application/x-protobuf empty.pb
	[ "$code" = 200 ]
	grep -qi '^content-type: application/x-protobuf' headers
	[ ! -s body ]
	serve_stop
	[ ! -s out ]
}

@test "records sre-scout would reject make a partial success" {
	serve_start
	jq -c '.resourceSpans[0].scopeSpans[0].spans += [{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"no time"}]' \
	    "$OTLP/trace.json" > partial.json
	post /v1/traces application/json partial.json
	[ "$code" = 200 ]
	[ "$(jq -r .partialSuccess.rejectedSpans body)" = 1 ]
	[[ $(jq -r .partialSuccess.errorMessage body) == *"spans[1]"* ]]
	serve_stop
	[ "$(wc -l < out)" -eq 1 ]
}

@test "415 for other types and encodings, 405 for other methods" {
	serve_start
	post /v1/traces text/plain "$OTLP/trace.json"
	[ "$code" = 415 ]
	post /v1/traces application/json "$OTLP/trace.json" -H 'Content-Encoding: br'
	[ "$code" = 415 ]
	post /api/v1/write application/json "$OTLP/trace.json"
	[ "$code" = 415 ]
	post /v1/alertmanager application/x-protobuf "$OTLP/trace.json"
	[ "$code" = 415 ]
	get /v1/traces
	[ "$code" = 405 ]
	grep -qi '^allow: POST' headers
	post /system/health application/json "$OTLP/trace.json"
	[ "$code" = 405 ]
	serve_stop
	[ ! -s out ]
}

@test "413 over --max-body: declared, chunked, or once inflated" {
	serve_start --max-body 2048
	head -c 5000 /dev/zero | tr '\0' ' ' > big.json
	post /v1/traces application/json big.json
	[ "$code" = 413 ]
	post /v1/traces application/json big.json -H 'Transfer-Encoding: chunked'
	[ "$code" = 413 ]
	head -c 100000 /dev/zero | tr '\0' ' ' | gzip -c > bomb.gz
	[ "$(wc -c < bomb.gz)" -lt 2048 ]
	post /v1/traces application/json bomb.gz -H 'Content-Encoding: gzip'
	[ "$code" = 413 ]
	[[ $(cat body) == *"once inflated"* ]]
	get /system/health
	[ "$code" = 200 ]
	serve_stop
	[ ! -s out ]
}

@test "SRE_INGEST_TOKEN guards ingest: 401 without it, accepted with it" {
	SRE_INGEST_TOKEN=s3cret serve_start
	post /v1/traces application/json "$OTLP/trace.json"
	[ "$code" = 401 ]
	post /v1/traces application/json "$OTLP/trace.json" -H 'Authorization: Bearer s3creT'
	[ "$code" = 401 ]
	post /v1/traces application/json "$OTLP/trace.json" -H 'Authorization: Bearer s3cret'
	[ "$code" = 200 ]
	# The token left the environment: no child or reader of environ sees it.
	! tr '\0' '\n' < "/proc/$SERVE_PID/environ" | grep -q SRE_INGEST_TOKEN
	serve_stop
	[ "$(wc -l < out)" -eq 1 ]
}

@test "remote write: samples become metric points with their service" {
	printf '%s\n' \
	    'http_requests_total{job=node,instance=a:1} 12.5 1700000000000' \
	    'up{service=quote-api,job=x} 1 1700000000001' \
	    'stale{job=j} NaN 1700000000002' |
	    python3 "$SRE_ROOT/tests/helpers/remote-write.py" > rw.bin
	serve_start
	post /api/v1/write application/x-protobuf rw.bin -H 'Content-Encoding: snappy'
	[ "$code" = 204 ]
	printf 'not snappy' > bad.bin
	post /api/v1/write application/x-protobuf bad.bin
	[ "$code" = 400 ]
	serve_stop
	cat > expected <<-'EOF'
	{"ts_ms":1700000000000,"metric":"http_requests_total","value":12.5,"labels":{"instance":"a:1","job":"node","service":"node"}}
	{"ts_ms":1700000000001,"metric":"up","value":1,"labels":{"job":"x","service":"quote-api"}}
	EOF
	diff -u expected out
	run -0 --separate-stderr sre-scout -v < out
	[[ $stderr == *"2 points"*" 0 rejected lines"* ]]
}

@test "Alertmanager webhooks: firing to anomaly, resolved to recovery, valid events" {
	serve_start
	post /v1/alertmanager application/json "$F/alerts-firing.json"
	[ "$code" = 200 ]
	[ "$(jq -c '[.anomalies,.recoveries,.rejected]' body)" = "[2,0,1]" ]
	[[ $(jq -r .error body) == *"alerts[2]: field 'startsAt'"* ]]
	post /v1/alertmanager application/json "$F/alerts-resolved.json"
	[ "$code" = 200 ]
	printf '{"version":"3","alerts":[]}' > v3.json
	post /v1/alertmanager application/json v3.json
	[ "$code" = 400 ]
	serve_stop
	run -0 --separate-stderr sre-bus < out
	[ "$(jq -r .type out | paste -sd,)" = anomaly,anomaly,recovery ]
	[ "$(jq -r .service out | paste -sd,)" = quote-api,db-1:9100,quote-api ]
	[ "$(jq -r .fingerprint out | paste -sd,)" = c4b2a1d0e9f87766,0123456789abcdef,c4b2a1d0e9f87766 ]
	# The recovery joins the anomaly's incident.
	[ "$(sed -n 1p out | jq -r .incident)" = "$(sed -n 3p out | jq -r .incident)" ]
	[ "$(sed -n 1p out | jq -c '[.observed,.score,.window_start_ms]')" = "[0.12,10,1699999800123]" ]
}

@test "a full output queue is 429 with Retry-After; a gone output is 503; nothing is lost" {
	mkfifo fifo
	# A reader that opens the pipe and reads nothing for a while.
	sleep 30 < fifo &
	stuck=$!
	SERVE_OUT=/dev/null serve_start -o file:fifo --max-queue 100000
	# 40 KB a request: the pipe, the writer's buffer and the queue fill.
	jq -c --arg pad "$(head -c 40000 /dev/zero | tr '\0' x)" \
	    '.resourceSpans[0].resource.attributes += [{"key":"pad","value":{"stringValue":$pad}}]' \
	    "$OTLP/trace.json" > one.json
	seen=
	for i in $(seq 200); do
		post /v1/traces application/json one.json
		[ "$code" = 200 ] || { seen=$code; break; }
	done
	[ "$seen" = 429 ]
	grep -qi '^retry-after: 1' headers
	[ "$(jq -r .code body)" = 14 ]
	# Remote write and Alertmanager retry a 5xx, not a 429.
	seq 3000 | sed 's/.*/up{job=j,n=&} 1 1700000000000/' |
	    python3 "$SRE_ROOT/tests/helpers/remote-write.py" > rw.bin
	post /api/v1/write application/x-protobuf rw.bin
	[ "$code" = 503 ]
	grep -qi '^retry-after: 1' headers
	jq '.alerts = [range(300) as $i | .alerts[0] | .fingerprint = "f\($i)"]' \
	    "$F/alerts-firing.json" > many.json
	post /v1/alertmanager application/json many.json
	[ "$code" = 503 ]
	kill "$stuck"
	wait "$stuck" || true
	for _ in $(seq 100); do
		post /v1/traces application/json one.json
		[ "$code" = 503 ] && break
		sleep 0.05
	done
	[ "$code" = 503 ]
	grep -qi '^retry-after:' headers
	get /system/health
	[ "$code" = 503 ]
	[ "$(jq -r .output.ok body)" = false ]
	serve_stop 74
	grep -q 'refusing telemetry from now on' err
}

@test "SIGTERM writes out every request it accepted" {
	mkfifo fifo
	# The reader starts reading only after the server was told to stop.
	(sleep 1; cat) < fifo > got &
	reader=$!
	SERVE_OUT=/dev/null serve_start -o file:fifo
	jq -c . "$OTLP/trace.json" > one.json
	n=0
	for i in $(seq 300); do
		post /v1/traces application/json one.json
		[ "$code" = 200 ] && n=$((n + 1))
	done
	serve_stop
	wait "$reader"
	[ "$n" -eq 300 ]
	[ "$(wc -l < got)" -eq 300 ]
}

@test "slow and half-open clients do not block others; a client gone mid-body writes nothing" {
	serve_start --timeout 2s
	# Headers only, then silence.
	exec 5<>/dev/tcp/127.0.0.1/"$PORT"
	printf 'GET /system/health HTTP/1.1\r\nHost: x\r\n' >&5
	# A body announced but never finished.
	exec 6<>/dev/tcp/127.0.0.1/"$PORT"
	printf 'POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10000\r\n\r\n{"resourceSpans":[' >&6
	start=$(date +%s%N)
	get /system/health
	[ "$code" = 200 ]
	[ $(( ($(date +%s%N) - start) / 1000000 )) -lt 1000 ]
	exec 6>&-
	# The idle one is closed by the server after --timeout.
	run -0 timeout 5 cat <&5
	exec 5>&-
	get /system/health
	[ "$code" = 200 ]
	serve_stop
	[ ! -s out ]
}

@test "connection and header limits" {
	serve_start --max-connections 2 --max-header 4096
	exec 5<>/dev/tcp/127.0.0.1/"$PORT"
	exec 6<>/dev/tcp/127.0.0.1/"$PORT"
	printf 'GET /system/health HTTP/1.1\r\nHost: x\r\n' >&5
	printf 'GET /system/health HTTP/1.1\r\nHost: x\r\n' >&6
	sleep 0.2
	! curl -sS -m 3 -o /dev/null "$URL/system/health"
	exec 5>&- 6>&-
	for _ in $(seq 50); do
		get /system/health && [ "$code" = 200 ] && break
		sleep 0.05
	done
	[ "$code" = 200 ]
	get /system/health -H "X-Big: $(head -c 8000 /dev/zero | tr '\0' a)"
	[ "$code" = 431 ]
	serve_stop
}

@test "/system/health: 200 normal, 503 when the governor is degraded" {
	serve_start
	mkdir -p st
	get /system/health
	[ "$code" = 200 ]
	[ "$(jq -r '[.status,.governor,.version,.incidents_open] | @tsv' body)" = "ok	unknown	0.1.0	0" ]
	[ "$(jq -r '.memory_bytes > 0' body)" = true ]
	[ "$(jq -r '.last_ms | keys | join(",")' body)" = alertmanager,events,logs,metrics,remote_write,traces ]
	printf '{"mode":"degraded","usage_bytes":900,"threshold_bytes":800}\n' > st/governor.json
	for _ in $(seq 40); do
		get /system/health
		[ "$code" = 503 ] && break
		sleep 0.05
	done
	[ "$code" = 503 ]
	[ "$(jq -r '[.status,.governor] | @tsv' body)" = "degraded	degraded" ]
	get /metrics
	grep -qx 'sre_governor_mode{mode="degraded"} 1' body
	serve_stop
}

@test "/metrics is valid Prometheus text with requests by route and code" {
	command -v promtool >/dev/null || skip "promtool (Debian prometheus) is not installed"
	serve_start
	post /v1/traces application/json "$OTLP/trace.json"
	post /v1/traces text/plain "$OTLP/trace.json"
	get /metrics
	[ "$code" = 200 ]
	grep -qi '^content-type: text/plain; version=0.0.4' headers
	run -0 promtool check metrics < body
	grep -qx 'sre_serve_requests_total{route="/v1/traces",code="200"} 1' body
	grep -qx 'sre_serve_requests_total{route="/v1/traces",code="415"} 1' body
	grep -qx 'sre_serve_received_total{kind="span"} 1' body
	grep -qx 'sre_incidents_open 0' body
	grep -q '^sre_mttr_seconds_bucket{le="+Inf"} 0$' body
	grep -q '^sre_serve_memory_bytes [1-9]' body
	serve_stop
}

@test "/incidents, /incidents/{id} and /reports/metrics read the store" {
	sre-curate --timeout 600 --state-dir st < "$FIXTURES/curate/stream.ndjson" > /dev/null
	serve_start
	get /incidents
	[ "$code" = 200 ]
	[ "$(jq '.incidents | length' body)" -eq 5 ]
	jq -r '.incidents[].incident' body | sort > ids
	[ "$(paste -sd, ids)" = inc-1,inc-2,inc-3,inc-4,inc-5 ]
	open=$(jq .open body)
	get '/incidents?status=open'
	[ "$(jq '.incidents | length' body)" -eq "$open" ]
	get '/incidents?status=maybe'
	[ "$code" = 400 ]
	get /incidents/inc-1
	[ "$code" = 200 ]
	[ "$(jq -r .incident.incident body)" = inc-1 ]
	[ "$(jq '.timeline | length' body)" -eq 5 ]
	[ "$(jq -r '.timeline[0].type' body)" = anomaly ]
	[[ $(jq -r .postmortem body) == *"inc-1"* ]]
	get /incidents/nope
	[ "$code" = 404 ]
	get /reports/metrics
	[ "$code" = 200 ]
	sre-curate report --json --state-dir st > expected
	diff <(jq -S . expected) <(jq -S . body)
	get /metrics
	grep -qx "sre_incidents_open $open" body
	serve_stop
}

@test "/reports/metrics and /incidents without a store" {
	serve_start
	get /incidents
	[ "$code" = 200 ]
	[ "$(jq -c . body)" = '{"incidents":[],"open":0}' ]
	get /reports/metrics
	[ "$code" = 404 ]
	serve_stop
}

@test "/events streams --in as Server-Sent Events and resumes after Last-Event-ID" {
	sign_events < "$FIXTURES/curate/stream.ndjson" > events.ndjson
	n=$(wc -l < events.ndjson)
	serve_start -i file:events.ndjson
	for _ in $(seq 50); do
		get /metrics
		grep -q '^sre_events_total{type="anomaly"} [1-9]' body && break
		sleep 0.05
	done
	run -0 curl -sS -N -m 1 -H 'Last-Event-ID: 0' "$URL/events" -o sse || true
	curl -sS -N -m 1 -H 'Last-Event-ID: 0' "$URL/events" -o sse || true
	[ "$(grep -c '^data: ' sse)" -eq "$n" ]
	diff <(sed -n 's/^data: //p' sse) events.ndjson
	[ "$(grep '^id: ' sse | head -1)" = "id: 1" ]
	curl -sS -N -m 1 -H "Last-Event-ID: $((n - 2))" "$URL/events" -o sse2 || true
	[ "$(grep -c '^data: ' sse2)" -eq 2 ]
	grep -qi '^content-type: text/event-stream' <(curl -sS -m 1 -D - -o /dev/null "$URL/events" || true)
	get /metrics
	grep -qx "sre_events_total{type=\"anomaly\"} $(jq -r 'select(.type=="anomaly") | .id' events.ndjson | wc -l)" body
	serve_stop
}

@test "an open /events stream ends when sre-serve stops; new events reach it live" {
	mkfifo events
	exec 7<>events
	serve_start -i file:events
	curl -sS -N -m 20 "$URL/events" -o sse 2>/dev/null &
	client=$!
	sleep 0.3
	sign_events < "$FIXTURES/curate/stream.ndjson" | head -2 >&7
	for _ in $(seq 50); do
		[ "$(grep -c '^data: ' sse 2>/dev/null)" -eq 2 ] && break
		sleep 0.1
	done
	[ "$(grep -c '^data: ' sse)" -eq 2 ]
	start=$(date +%s)
	serve_stop
	wait "$client" || true
	exec 7>&-
	[ $(( $(date +%s) - start )) -lt 5 ]
}

@test "/demo/inject-failure needs the API token and writes the control file" {
	printf 'load=1\n' > chaos.env
	SRE_API_TOKEN=t0ken serve_start --control chaos.env
	code=$(curl -sS -m 5 -o body -w '%{http_code}' -X POST "$URL/demo/inject-failure?type=latency&service=quote-api")
	[ "$code" = 401 ]
	code=$(curl -sS -m 5 -o body -w '%{http_code}' -X POST -H 'Authorization: Bearer wrong' "$URL/demo/inject-failure?type=latency&service=quote-api")
	[ "$code" = 401 ]
	[ "$(cat chaos.env)" = load=1 ]
	code=$(curl -sS -m 5 -o body -w '%{http_code}' -X POST -H 'Authorization: Bearer t0ken' "$URL/demo/inject-failure?type=latency&service=quote-api")
	[ "$code" = 200 ]
	[ "$(cat chaos.env)" = "fault=latency culprit=quote-api" ]
	code=$(curl -sS -m 5 -o body -w '%{http_code}' -X POST -H 'Authorization: Bearer t0ken' "$URL/demo/inject-failure?type=latency&service=a%20fault%3Drelease")
	[ "$code" = 400 ]
	code=$(curl -sS -m 5 -o body -w '%{http_code}' -X POST -H 'Authorization: Bearer t0ken' "$URL/demo/inject-failure?type=meteor&service=x")
	[ "$code" = 400 ]
	[ "$(cat chaos.env)" = "fault=latency culprit=quote-api" ]
	code=$(curl -sS -m 5 -o body -w '%{http_code}' -X POST -H 'Authorization: Bearer t0ken' "$URL/demo/inject-failure?type=none")
	[ "$code" = 200 ]
	[ "$(cat chaos.env)" = "fault=none" ]
	serve_stop
}

@test "without SRE_API_TOKEN changes are refused" {
	printf 'load=1\n' > chaos.env
	serve_start --control chaos.env
	code=$(curl -sS -m 5 -o body -w '%{http_code}' -X POST -H 'Authorization: Bearer ' "$URL/demo/inject-failure?type=cpu&service=x")
	[ "$code" = 401 ]
	[[ $(cat body) == *"SRE_API_TOKEN is not set"* ]]
	[ "$(cat chaos.env)" = load=1 ]
	serve_stop
}

@test "CORS: the configured origin only, and preflight" {
	serve_start --cors https://ops.example
	get /system/health -H 'Origin: https://ops.example'
	grep -qi '^access-control-allow-origin: https://ops.example' headers
	get /system/health -H 'Origin: https://evil.example'
	! grep -qi '^access-control-allow-origin' headers
	code=$(curl -sS -m 5 -o /dev/null -D headers -w '%{http_code}' -X OPTIONS -H 'Origin: https://ops.example' "$URL/v1/traces")
	[ "$code" = 204 ]
	grep -qi '^access-control-allow-headers: .*Authorization' headers
	serve_stop
}

@test "the dashboard's files are served; traversal and links are refused" {
	mkdir -p dash/sub
	printf '<!doctype html><title>x</title>\n' > dash/index.html
	printf 'body{}\n' > dash/sub/a.css
	printf 'secret\n' > secret.txt
	ln -s ../secret.txt dash/link.txt
	serve_start --dashboard dash
	get /
	[ "$code" = 200 ]
	grep -qi '^content-type: text/html' headers
	grep -qi "^content-security-policy: default-src 'self'" headers
	get /sub/a.css
	[ "$code" = 200 ]
	grep -qi '^content-type: text/css' headers
	get /../secret.txt --path-as-is
	[ "$code" = 400 ]
	get /sub/../../secret.txt --path-as-is
	[ "$code" = 400 ]
	get /%2e%2e/secret.txt --path-as-is
	[ "$code" = 400 ]
	get /sub%2f..%2f..%2fsecret.txt --path-as-is
	[ "$code" = 400 ]
	get /%252e%252e/secret.txt --path-as-is
	[ "$code" = 400 ]
	get /link.txt
	[ "$code" = 404 ]
	get /sub
	[ "$code" = 404 ]
	get /nothing.js
	[ "$code" = 404 ]
	! grep -q secret body
	serve_stop
}

# ---- the real OpenTelemetry JS SDK -----------------------------------

js_ready() {
	command -v node >/dev/null || skip "node (Debian nodejs) is not installed"
	sh "$SRE_ROOT/tests/js/install.sh" >&2 ||
	    skip "the OpenTelemetry JS packages could not be installed (npm registry unreachable?)"
}

@test "the OpenTelemetry JS SDK's exporters, JSON and protobuf: spans arrive in sre-scout unchanged" {
	js_ready
	for enc in json proto; do
		SERVE_OUT=out.$enc serve_start
		run -0 --separate-stderr timeout 60 node "$SRE_ROOT/tests/js/otel-send.js" "$URL" "$enc"
		printf '%s\n' "$output" | sort > made.$enc
		serve_stop
		[ "$(wc -l < made.$enc)" -eq 10 ]
		# traces, metrics (at the flush and at shutdown), logs
		[ "$(jq -r 'keys[0]' out.$enc | sort | uniq -c | awk '{print $2 "=" $1}' | paste -sd,)" = resourceLogs=1,resourceMetrics=2,resourceSpans=1 ]
		jq -c 'select(has("resourceSpans"))' out.$enc > spans.$enc
		jq -c 'select(has("resourceLogs"))' out.$enc > logs.$enc
	done
	span='.resourceSpans[]?.scopeSpans[].spans[] | {traceId,spanId,parentSpanId:(.parentSpanId//""),name,kind,start:(.startTimeUnixNano|tostring),end:(.endTimeUnixNano|tostring),status:(.status.code//0)}'
	jq -c "$span" spans.json | sort > got.json
	jq -c "$span" spans.proto | sort > got.proto
	diff -u made.json got.json
	diff -u made.proto got.proto
	# Everything else of the spans, once ids and times are set aside, is
	# the same through both encodings (protobuf-JSON writes 64-bit
	# integers as strings, the JS JSON exporter as numbers).
	norm='walk(if type=="object" and has("intValue") then .intValue |= tostring else . end) | walk(if type=="object" then with_entries(select(.value != "" and .value != 0 and .value != null and .value != [] and .value != {})) else . end)'
	rest='[.resourceSpans[].scopeSpans[].spans[] | del(.traceId,.spanId,.parentSpanId,.startTimeUnixNano,.endTimeUnixNano,.events[]?.timeUnixNano) | del(.events[]? | select(.name=="exception"))] | sort'
	diff <(jq -cS "$norm | $rest" spans.json) <(jq -cS "$norm | $rest" spans.proto)
	diff <(jq -cS "$norm | .resourceSpans[].resource" spans.json) <(jq -cS "$norm | .resourceSpans[].resource" spans.proto)
	diff <(jq -cS "$norm | del(..|.timeUnixNano?,.observedTimeUnixNano?)" logs.json) <(jq -cS "$norm | del(..|.timeUnixNano?,.observedTimeUnixNano?)" logs.proto)
	cat out.json out.proto > out
	run -0 --separate-stderr sre-scout -v < out
	[[ $stderr == *"8 lines, 20 spans, 12 points, 2 log records, 0 rejected lines"* ]]
	[[ $stderr == *" 0 tolerated,"* ]]
}

@test "the JS SDK's exporters with SRE_INGEST_TOKEN" {
	js_ready
	SRE_INGEST_TOKEN=tok serve_start
	run -1 --separate-stderr timeout 60 node "$SRE_ROOT/tests/js/otel-send.js" "$URL" proto
	SRE_INGEST_TOKEN=tok run -0 --separate-stderr timeout 60 node "$SRE_ROOT/tests/js/otel-send.js" "$URL" proto
	serve_stop
	[ "$(wc -l < out)" -eq 4 ]
}
