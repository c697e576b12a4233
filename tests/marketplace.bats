#!/usr/bin/env bats
# sre-marketplace: the synthetic insurance marketplace traffic generator
# (examples/marketplace).  Short runs checked with jq; the whole suite
# stays within a few seconds.

bats_require_minimum_version 1.5.0
load helper

MP=${SRE_BIN:-$BATS_TEST_DIRNAME/..}/examples/marketplace/sre-marketplace
T0=1700000000000

# jq: spans by id (a plain reduce: INDEX is quadratic in jq 1.6)
BYID='def byid: reduce .[] as $r ({}; .[$r.id] = $r);'

# One span per line, flattened: the input to most checks.
flat() {
	jq -c '.resourceSpans[]? |
	    (.resource.attributes | map({key, value: (.value | to_entries[0].value)}) | from_entries) as $r |
	    .scopeSpans[].spans[] |
	    {svc: $r["service.name"], ver: $r["service.version"], id: .spanId,
	     parent: .parentSpanId, trace: .traceId, kind, name,
	     st: ((.startTimeUnixNano | tonumber) / 1e6),
	     en: ((.endTimeUnixNano | tonumber) / 1e6), code: .status.code}' "$1"
}

@test "--help, --version and bad usage exit 64 with a message" {
	run -0 --separate-stderr "$MP" --help
	[[ $output == "usage: sre-marketplace "* ]]
	run -0 --separate-stderr "$MP" --version
	[[ $output =~ ^sre-marketplace\ [0-9.]+$ ]]
	for args in "--bogus" "-n 7" "-n 21" "-r 0" "-d 10x" "-f nope" "-c quote-api" \
	    "-f latency -c no-such-service" "-f pool -c quote-api" "-f network -c edge-gateway" \
	    "-f error --fault-start 5m --fault-end 2m" "--decoy nobody" "--control x" \
	    "-f latency -c quote-api --fault-op nope" "--seed" "extra"; do
		run -64 --separate-stderr "$MP" $args
		[[ $stderr == "sre-marketplace: "* ]] || { echo "args: $args: $stderr"; false; }
		[ -z "$output" ]
	done
	run -74 --separate-stderr "$MP" -d 10s -o /nonexistent/dir/out
	[[ $stderr == "sre-marketplace: /nonexistent/dir/out: "* ]]
}

@test "writing to a full disk fails with 74" {
	[ -w /dev/full ] || skip "no /dev/full"
	run -74 --separate-stderr sh -c "'$MP' -d 30s > /dev/full"
	[[ $stderr == *"sre-marketplace: writing output failed"* ]]
}

@test "--list-services: a layered topology, deterministic per seed" {
	run -0 --separate-stderr "$MP" --list-services
	[[ ${lines[0]} == "# seed 1, 12 services, "* ]]
	[ "${#lines[@]}" -eq 14 ]
	[[ ${lines[2]} == "edge-gateway "*" edge "* ]]
	grep -q ' datastore ' <<< "$output"
	grep -q ' domain ' <<< "$output"
	grep -q '^quote-api  *api ' <<< "$output"
	first=$output
	run -0 --separate-stderr "$MP" --list-services
	[ "$output" = "$first" ]
	for n in 8 20; do
		run -0 --separate-stderr "$MP" --list-services -n "$n" -s 42
		[ "${#lines[@]}" -eq $((n + 2)) ]
	done
}

@test "every line is an OTLP/JSON export request; spans, logs and metrics" {
	run -0 --separate-stderr "$MP" -r 10 -d 60s --logs --metrics -o "$BATS_TEST_TMPDIR/out"
	jq -e -c 'keys == ["resourceSpans"] or keys == ["resourceLogs"] or keys == ["resourceMetrics"]' \
	    "$BATS_TEST_TMPDIR/out" > "$BATS_TEST_TMPDIR/kinds"
	! grep -qv '^true$' "$BATS_TEST_TMPDIR/kinds"
	# 6 metric lines: one per 10 s of event time
	[ "$(jq -c 'select(.resourceMetrics)' "$BATS_TEST_TMPDIR/out" | wc -l)" -eq 6 ]
	# span fields as the spec spells them: lowerCamelCase, ids in hex, nanos as strings
	run -0 jq -e -s '[.[] | .resourceSpans[]? | .scopeSpans[].spans[]] | length > 100 and all(
	    (.traceId | test("^[0-9a-f]{32}$")) and (.spanId | test("^[0-9a-f]{16}$")) and
	    (.parentSpanId | test("^([0-9a-f]{16})?$")) and (.startTimeUnixNano | test("^[0-9]{19}$")) and
	    (.endTimeUnixNano | test("^[0-9]{19}$")) and (.kind | IN(1, 2, 3)) and
	    (.status.code | IN(0, 2)) and (.endTimeUnixNano >= .startTimeUnixNano))' "$BATS_TEST_TMPDIR/out"
	run -0 jq -e -s '[.[] | .resourceLogs[]? | .scopeLogs[].logRecords[]] | length > 0 and all(
	    (.timeUnixNano | test("^[0-9]{19}$")) and (.severityNumber | IN(9, 13, 17)) and
	    (.severityText | IN("INFO", "WARN", "ERROR")) and (.body.stringValue | length > 0))' \
	    "$BATS_TEST_TMPDIR/out"
	# every resource says who it is
	run -0 jq -e -s '[.[] | (.resourceSpans // .resourceLogs // .resourceMetrics)[] |
	    .resource.attributes | map(.key)] | all(index("service.name") and index("service.version"))' \
	    "$BATS_TEST_TMPDIR/out"
	# trace lines are collector batches of roughly 10 to 50 KB
	jq -c 'select(.resourceSpans)' "$BATS_TEST_TMPDIR/out" | head -n -1 |
	    awk '{ n++; if (length($0) < 8000 || length($0) > 80000) bad++ } END { exit !(n > 5 && bad == 0) }'
}

@test "spans of a trace link up: one root, every parent present, whole traces per line" {
	"$MP" -r 10 -d 60s -f error -c pricing-engine --fault-start 20s > "$BATS_TEST_TMPDIR/out"
	run -0 jq -e -c '[.resourceSpans[].scopeSpans[].spans[]] | group_by(.traceId)[] |
	    ([.[].spanId]) as $ids |
	    ([.[] | select(.parentSpanId == "")] | length) == 1 and
	    all(.[]; .parentSpanId == "" or (.parentSpanId as $p | $ids | index($p) != null)) and
	    ($ids | length) == ($ids | unique | length)' "$BATS_TEST_TMPDIR/out"
	! grep -q false <<< "$output"
	# a CLIENT span's child is the SERVER span of another service, started after it
	flat "$BATS_TEST_TMPDIR/out" > "$BATS_TEST_TMPDIR/flat"
	run -0 jq -e -s "$BYID"'byid as $by | [.[] | select(.kind == 2 and .parent != "") |
	    $by[.parent] as $c | $c.kind == 3 and $c.svc != .svc and $c.st <= .st and $c.en >= .en] |
	    length > 100 and all' "$BATS_TEST_TMPDIR/flat"
}

@test "the same seed gives the same bytes; another seed does not" {
	a=$("$MP" -d 60s --logs --metrics -f both -c quote-service | md5sum)
	b=$("$MP" -d 60s --logs --metrics -f both -c quote-service | md5sum)
	c=$("$MP" -d 60s --logs --metrics -f both -c quote-service -s 2 | md5sum)
	[ "$a" = "$b" ]
	[ "$a" != "$c" ]
	# logs and metrics do not change the spans (only where lines break)
	t1=$("$MP" -d 30s | jq -c '.resourceSpans[]?.scopeSpans[].spans[]' | sort | md5sum)
	t2=$("$MP" -d 30s --logs --metrics | jq -c '.resourceSpans[]?.scopeSpans[].spans[]' | sort | md5sum)
	[ "$t1" = "$t2" ]
}

@test "an error fault: status 2 on the culprit from fault start on, propagated only upstream" {
	"$MP" -r 10 -d 2m --base-error-rate 0 -f error -c pricing-engine --fault-start 60s \
	    -t "$BATS_TEST_TMPDIR/truth" > "$BATS_TEST_TMPDIR/out"
	flat "$BATS_TEST_TMPDIR/out" > "$BATS_TEST_TMPDIR/flat"
	start=$((T0 + 60000))
	# the culprit's own server spans fail, and only from the fault start
	run -0 jq -s --argjson s "$start" '[.[] | select(.svc == "pricing-engine" and .kind == 2 and .code == 2)] |
	    [length, (map(.st) | min)] | @tsv' -r "$BATS_TEST_TMPDIR/flat"
	read -r n first <<< "$output"
	[ "$n" -gt 20 ]
	[ "${first%.*}" -ge "$start" ]
	# nothing fails before the fault
	run -0 jq -s --argjson s "$start" '[.[] | select(.code == 2 and .st < $s)] | length' "$BATS_TEST_TMPDIR/flat"
	[ "$output" -eq 0 ]
	# failing services: the culprit and its callers, transitively (truth edges)
	up=$(jq -c '.edges as $e | ["pricing-engine"] |
	    until((. as $s | [$e[] | select(.to as $t | $s | index([$t])) | .from] + $s | unique) == .;
	          (. as $s | [$e[] | select(.to as $t | $s | index([$t])) | .from] + $s | unique))' \
	    "$BATS_TEST_TMPDIR/truth")
	run -0 jq -e -s --argjson up "$up" '[.[] | select(.code == 2) | .svc] | unique |
	    length > 1 and all(. as $x | $up | index([$x]) != null)' "$BATS_TEST_TMPDIR/flat"
	# 5xx on failed server spans
	run -0 jq -e -s '[.[] | .resourceSpans[]? | .scopeSpans[].spans[] | select(.kind == 2 and .status.code == 2) |
	    .attributes[] | select(.key == "http.response.status_code") | .value.intValue | tonumber] |
	    length > 0 and all(. >= 500)' "$BATS_TEST_TMPDIR/out"
}

@test "a network fault slows the edges into the culprit, not its server spans" {
	"$MP" -r 10 -d 2m --base-error-rate 0 -f network -c pricing-engine --fault-start 60s \
	    > "$BATS_TEST_TMPDIR/out"
	flat "$BATS_TEST_TMPDIR/out" |
	    jq -c 'select(.svc == "pricing-engine" or (.kind == 3 and .name == "POST /v1/price"))' \
	    > "$BATS_TEST_TMPDIR/flat"
	# per phase: mean gap client start -> server start, mean server duration
	run -0 jq -r -s --argjson s $((T0 + 60000)) "$BYID"'byid as $by |
	    [.[] | select(.svc == "pricing-engine" and .kind == 2) | $by[.parent] as $c |
	     {after: (.st >= $s), gap: (.st - $c.st), dur: (.en - .st)}] | group_by(.after) |
	    map([(map(.gap) | add / length), (map(.dur) | add / length)]) | flatten | @tsv' \
	    "$BATS_TEST_TMPDIR/flat"
	read -r gap0 dur0 gap1 dur1 <<< "$output"
	awk -v g0="$gap0" -v d0="$dur0" -v g1="$gap1" -v d1="$dur1" \
	    'BEGIN { exit !(g0 < 5 && g1 > 40 && d1 < 1.5 * d0 && d0 < 1.5 * d1) }'
}

@test "latency, release and pool faults leave their signals" {
	# latency: the culprit's own server spans get slower
	"$MP" -r 10 -d 2m -f latency -c pricing-engine --fault-start 60s > "$BATS_TEST_TMPDIR/lat"
	run -0 jq -r -s --argjson s $((T0 + 60000)) '[.[] | .resourceSpans[]? |
	    select(.resource.attributes[0].value.stringValue == "pricing-engine") | .scopeSpans[].spans[] |
	    select(.kind == 2) | {after: ((.startTimeUnixNano | tonumber) / 1e6 >= $s),
	    d: (((.endTimeUnixNano | tonumber) - (.startTimeUnixNano | tonumber)) / 1e6)}] |
	    group_by(.after) | map(map(.d) | sort | .[length / 2 | floor]) | @tsv' "$BATS_TEST_TMPDIR/lat"
	read -r p0 p1 <<< "$output"
	awk -v a="$p0" -v b="$p1" 'BEGIN { exit !(b > 3 * a) }'

	# release: a new service.version from the fault start, and its spans fail
	"$MP" -r 10 -d 2m --base-error-rate 0 -f release -c quote-service --fault-start 30s \
	    -t "$BATS_TEST_TMPDIR/truth" > "$BATS_TEST_TMPDIR/rel"
	old=$(jq -r '.faults[0].from_version' "$BATS_TEST_TMPDIR/truth")
	new=$(jq -r '.faults[0].to_version' "$BATS_TEST_TMPDIR/truth")
	[ -n "$old" ] && [ -n "$new" ] && [ "$old" != "$new" ]
	flat "$BATS_TEST_TMPDIR/rel" > "$BATS_TEST_TMPDIR/flat"
	run -0 jq -e -s --arg old "$old" --arg new "$new" --argjson s $((T0 + 30000)) '
	    [.[] | select(.svc == "quote-service" and .kind == 2)] as $q |
	    ($q | map(select(.ver == $new)) | length > 10 and all(.st >= $s)) and
	    ($q | map(select(.ver == $old and .st < $s)) | length > 10) and
	    ($q | map(select(.code == 2)) | length > 10 and all(.ver == $new))' "$BATS_TEST_TMPDIR/flat"

	# pool: callers wait for db-policy connections and fail; db-policy stays fast
	"$MP" -r 10 -d 2m --base-error-rate 0 --logs -f pool -c db-policy --fault-start 30s \
	    > "$BATS_TEST_TMPDIR/pool"
	run -0 jq -e -s '[.[] | .resourceSpans[]? | .scopeSpans[].spans[] |
	    select(.kind == 3 and .status.code == 2 and any(.attributes[]; .key == "db.system"))] |
	    length > 5 and all(.status.message | test("^connection pool exhausted after [0-9]+ ms waiting for db-policy$"))' \
	    "$BATS_TEST_TMPDIR/pool"
	run -0 jq -e -s '[.[] | .resourceSpans[]? | select(.resource.attributes[0].value.stringValue == "db-policy") |
	    .scopeSpans[].spans[] | ((.endTimeUnixNano | tonumber) - (.startTimeUnixNano | tonumber)) / 1e6] |
	    length > 50 and (sort | .[length * 0.99 | floor]) < 50' "$BATS_TEST_TMPDIR/pool"
	run -0 jq -e -s '[.[] | .resourceLogs[]? | .scopeLogs[].logRecords[] | select(.severityText == "ERROR") |
	    .body.stringValue | select(test("connection pool exhausted"))] | length > 5' "$BATS_TEST_TMPDIR/pool"
}

@test "the truth file names faults, decoys, services and edges" {
	run -0 --separate-stderr "$MP" -r 5 -d 10m --decoys 2 -f latency -c quote-service \
	    --fault-start 5m --fault-end 8m -f pool --fault-start 1700000120000 \
	    -t "$BATS_TEST_TMPDIR/truth" -o /dev/null
	t=$BATS_TEST_TMPDIR/truth
	run -0 jq -e --argjson t0 "$T0" '.seed == 1 and .start_ms == $t0 and .end_ms == $t0 + 600000 and
	    (.faults | length) == 2 and
	    .faults[0] == {kind: "latency", culprit: "quote-service", operation: null, layer: "domain",
	                   start_ms: ($t0 + 300000), end_ms: ($t0 + 480000), intensity: 1} and
	    .faults[1].kind == "pool" and .faults[1].culprit == "db-policy" and
	    .faults[1].start_ms == 1700000120000 and .faults[1].end_ms == $t0 + 600000 and
	    (.decoys | length) == 2 and (.services | length) == 12 and
	    (.services | index("edge-gateway")) != null and
	    (.edges | length) > 10 and
	    (.services as $s | all(.edges[]; .from as $f | .to as $o |
	        ($s | index([$f])) != null and ($s | index([$o])) != null))' "$t"
	# the edges are the ones the traces show
	"$MP" -r 10 -d 60s --base-error-rate 0 > "$BATS_TEST_TMPDIR/out"
	flat "$BATS_TEST_TMPDIR/out" > "$BATS_TEST_TMPDIR/flat"
	jq -r -s "$BYID"'byid as $by | [.[] | select(.kind == 2 and .parent != "") |
	    "\($by[.parent].svc) \(.svc)"] | unique[]' "$BATS_TEST_TMPDIR/flat" > "$BATS_TEST_TMPDIR/seen"
	jq -r '.edges[] | "\(.from) \(.to)"' "$t" | sort > "$BATS_TEST_TMPDIR/truth-edges"
	diff -u "$BATS_TEST_TMPDIR/truth-edges" "$BATS_TEST_TMPDIR/seen"
	# an operation-scoped fault names its operation
	run -0 --separate-stderr "$MP" -d 10s -f latency -c pricing-engine --fault-op "POST /v1/price" \
	    -t "$t" -o /dev/null
	[ "$(jq -r '.faults[0].operation' "$t")" = "POST /v1/price" ]
}

@test "examples/gitops matches --write-gitops for seed 1" {
	root=${SRE_ROOT:-$BATS_TEST_DIRNAME/..}
	run -0 --separate-stderr "$MP" --write-gitops "$BATS_TEST_TMPDIR/g"
	diff -ru "$root/examples/gitops/services" "$BATS_TEST_TMPDIR/g/services"
	diff -u "$root/examples/gitops/kustomization.yaml" "$BATS_TEST_TMPDIR/g/kustomization.yaml"
	grep -q '^  replicas: [0-9]' "$BATS_TEST_TMPDIR/g/services/quote-api/deployment.yaml"
	grep -q '^DB_POOL_SIZE=[0-9]' "$BATS_TEST_TMPDIR/g/services/db-policy/config.env"
}

@test "live: a bad release bites while its image tag is deployed" {
	g=$BATS_TEST_TMPDIR/g
	"$MP" --write-gitops "$g"
	tag=$(sed -n 's/^ *image: .*quote-api:\(.*\)$/\1/p' "$g/services/quote-api/deployment.yaml")
	printf 'fault=release culprit=quote-api release_bad_tag=9.9.9\n' > "$BATS_TEST_TMPDIR/ctl"
	# the deployed tag is not the bad one: no errors
	run -0 --separate-stderr "$MP" --live -d 1500ms -r 30 --base-error-rate 0 --gitops "$g" \
	    --control "$BATS_TEST_TMPDIR/ctl" -t "$BATS_TEST_TMPDIR/truth"
	[[ $stderr == *"injected release on quote-api"* ]]
	printf '%s\n' "$output" > "$BATS_TEST_TMPDIR/ok"
	flat "$BATS_TEST_TMPDIR/ok" > "$BATS_TEST_TMPDIR/flat"
	run -0 jq -e -s --arg tag "$tag" '[.[] | select(.svc == "quote-api")] |
	    length > 10 and all(.ver == $tag and .code == 0)' "$BATS_TEST_TMPDIR/flat"
	run -0 jq -e '.faults[0] | .kind == "release" and .culprit == "quote-api" and
	    .to_version == "9.9.9" and .effective_ms == null' "$BATS_TEST_TMPDIR/truth"
	# deploy the bad tag: the culprit's spans carry it and fail
	sed -i "s/quote-api:$tag/quote-api:9.9.9/" "$g/services/quote-api/deployment.yaml"
	run -0 --separate-stderr "$MP" --live -d 1500ms -r 30 --base-error-rate 0 --gitops "$g" \
	    --control "$BATS_TEST_TMPDIR/ctl"
	printf '%s\n' "$output" > "$BATS_TEST_TMPDIR/bad"
	flat "$BATS_TEST_TMPDIR/bad" > "$BATS_TEST_TMPDIR/flat"
	run -0 jq -e -s '[.[] | select(.svc == "quote-api" and .kind == 2)] |
	    length > 10 and all(.ver == "9.9.9") and any(.code == 2)' "$BATS_TEST_TMPDIR/flat"
	# live spans are written once they have ended, stamped with the wall clock
	now=$(date +%s%3N)
	run -0 jq -e -s --argjson now "$now" 'all(.en <= $now and .st > $now - 60000)' "$BATS_TEST_TMPDIR/flat"
}

@test "live: SIGTERM ends the run cleanly with exit 0" {
	"$MP" --live -r 20 > "$BATS_TEST_TMPDIR/out" 2> "$BATS_TEST_TMPDIR/err" &
	pid=$!
	sleep 1.2
	kill -TERM "$pid"
	wait "$pid"
	[ ! -s "$BATS_TEST_TMPDIR/err" ]
	jq -e -c 'has("resourceSpans")' "$BATS_TEST_TMPDIR/out" > /dev/null
}

# logs FILE: the log lines' bodies of a run, one per line.
logs() {
	jq -r '.resourceLogs[]?.scopeLogs[].logRecords[].body.stringValue' "$1"
}

@test "leak and stuck: what a restart clears shows in spans, logs and metrics" {
	run -0 --separate-stderr "$MP" -d 60s -r 30 -f leak -c quote-service --fault-start 30s \
	    --logs --metrics -t "$BATS_TEST_TMPDIR/truth"
	printf '%s\n' "$output" > "$BATS_TEST_TMPDIR/leak"
	[ "$(jq -r '.faults[0].kind' "$BATS_TEST_TMPDIR/truth")" = leak ]
	logs "$BATS_TEST_TMPDIR/leak" > "$BATS_TEST_TMPDIR/l"
	grep -q 'java.lang.OutOfMemoryError: Java heap space' "$BATS_TEST_TMPDIR/l"
	grep -q 'memory not reclaimed after full GC' "$BATS_TEST_TMPDIR/l"
	# its resident memory: flat before the fault, well above after
	run -0 jq -s '[.[] | .resourceMetrics[]? |
	    select(any(.resource.attributes[]; .value.stringValue == "quote-service")) |
	    .scopeMetrics[].metrics[] | select(.name == "process.memory.usage") |
	    .gauge.dataPoints[0].asInt | tonumber] | (.[3] / .[1]) > 1.5' "$BATS_TEST_TMPDIR/leak"
	[ "$output" = true ]
	run -0 --separate-stderr "$MP" -d 40s -r 30 -f stuck -c pricing-engine --fault-start 20s --logs
	printf '%s\n' "$output" > "$BATS_TEST_TMPDIR/stuck"
	logs "$BATS_TEST_TMPDIR/stuck" > "$BATS_TEST_TMPDIR/l"
	grep -q 'watchdog: worker pricing-engine-worker-[0-9]* stuck for' "$BATS_TEST_TMPDIR/l"
	grep -q 'no idle worker after 3000 ms' "$BATS_TEST_TMPDIR/l"
	# and nothing of the kind in a quiet run, nor in an error fault
	"$MP" -d 40s -r 30 -f error -c pricing-engine --fault-start 20s --logs > "$BATS_TEST_TMPDIR/err"
	logs "$BATS_TEST_TMPDIR/err" > "$BATS_TEST_TMPDIR/l"
	! grep -qE 'stuck|not reclaimed|OutOfMemory' "$BATS_TEST_TMPDIR/l"
}

@test "live: a rollout of the culprit (restartedAt) clears a leak, not a latency fault" {
	g=$BATS_TEST_TMPDIR/g
	"$MP" --write-gitops "$g"
	printf 'fault=leak culprit=quote-service\nfault=latency culprit=pricing-engine\n' \
	    > "$BATS_TEST_TMPDIR/ctl"
	"$MP" --live -d 4s -r 30 --logs --gitops "$g" --control "$BATS_TEST_TMPDIR/ctl" \
	    -t "$BATS_TEST_TMPDIR/truth" > "$BATS_TEST_TMPDIR/out" 2> "$BATS_TEST_TMPDIR/err" &
	pid=$!
	sleep 2
	sed -i 's/restartedAt: .*/restartedAt: "2031-01-01T00:00:00Z"/' \
	    "$g/services/quote-service/deployment.yaml"
	sed -i 's/restartedAt: .*/restartedAt: "2031-01-01T00:00:00Z"/' \
	    "$g/services/pricing-engine/deployment.yaml"
	wait "$pid"
	grep -q 'gitops: quote-service restarted (2031-01-01T00:00:00Z)' "$BATS_TEST_TMPDIR/err"
	run -0 jq -c '[.faults[] | [.kind, .resolved_ms != null]]' "$BATS_TEST_TMPDIR/truth"
	[ "$output" = '[["leak",true],["latency",false]]' ]
}
