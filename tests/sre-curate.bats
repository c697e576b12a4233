#!/usr/bin/env bats
# sre-curate: incident records, post-mortems, learning, metrics, and the
# store surviving crashes, a second writer, read-only and full disks.

load helper

F=$FIXTURES/curate

setup() {
	cd "$BATS_TEST_TMPDIR" || exit 1
}

# The fixture stream into ./st (inc-4 times out at 600 s of event time).
curate_fixture() {
	sre-curate --timeout 600 --state-dir "${1:-st}" < "$F/stream.ndjson" \
	    > "${2:-/dev/null}"
}

# A stream of n incidents of 5 events each.
big() {
	awk -v n="$1" -f "$F/gen.awk" | sign_events
}

# True when this test may mount file systems in its own namespace.
can_mount() {
	[ "$(id -u)" -eq 0 ] && unshare -m true 2>/dev/null
}

@test "--help prints usage on stdout and exits 0; --version" {
	run -0 --separate-stderr sre-curate --help
	[[ $output == "usage: sre-curate "* ]]
	[[ $output == *"sre-curate report"* ]]
	[ -z "$stderr" ]
	run -0 --separate-stderr sre-curate --version
	[[ $output =~ ^sre-curate\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
}

@test "bad options and commands exit 64" {
	run -64 --separate-stderr sre-curate --no-such-option
	[[ $stderr == *"usage: sre-curate"* ]]
	run -64 --separate-stderr sre-curate frobnicate
	[[ $stderr == *"unknown command: frobnicate"* ]]
	run -64 --separate-stderr sre-curate report extra
	[[ $stderr == *"unexpected argument: extra"* ]]
	run -64 --separate-stderr sre-curate --timeout 0
	[[ $stderr == *"--timeout 0"* ]]
	run -64 --separate-stderr sre-curate report --since yesterday
	[[ $stderr == *"--since yesterday: not a time"* ]]
	run -64 --separate-stderr sre-curate gc
	[[ $stderr == *"--keep-days N is required"* ]]
	run -64 --separate-stderr sre-curate search
	[[ $stderr == *"--incident ID or some text"* ]]
	[ ! -e .sre ]
}

@test "postmortem events for each closed incident, as DESIGN.md defines them" {
	run -0 --separate-stderr sre-curate --timeout 600 --state-dir st < "$F/stream.ndjson"
	diff -u "$F/stream.expected" <(printf '%s\n' "$output")
	[ -z "$stderr" ]
	assert_no_sanitizer
	# mttr: first anomaly to verified recovery; fix: to the commit or
	# pull request; detect: window start to the first anomaly event.
	for inc in inc-1 inc-3; do
		want=$(jq -s --arg i "$inc" '
		    (map(select(.incident == $i and .type == "anomaly"))[0]) as $a |
		    (map(select(.incident == $i and .type == "recovery"))[0].ts_ms - $a.ts_ms),
		    (map(select(.incident == $i and .type == "action"))[0].ts_ms - $a.ts_ms),
		    ($a.ts_ms - $a.window_start_ms)' "$F/stream.ndjson" | paste -sd' ')
		got=$(printf '%s\n' "$output" | jq -r --arg i "$inc" \
		    'select(.incident == $i) | "\(.mttr_ms) \(.fix_ms) \(.detect_ms)"')
		[ "$got" = "$want" ]
	done
	# Each event checks as an envelope, with a stable, derived id.
	printf '%s\n' "$output" | sre-bus --filter postmortem > /dev/null
}

@test "the Markdown post-mortems: summary, timeline, cause, decision, action, times, memory" {
	curate_fixture
	diff -u "$F/inc-1.md.expected" st/postmortems/inc-1.md
	diff -u "$F/inc-4.md.expected" st/postmortems/inc-4.md
	[ -f st/postmortems/inc-2.md ] && [ -f st/postmortems/inc-3.md ]
	[ ! -e st/postmortems/inc-5.md ]	# still open
	grep -q 'pull request <https://github.com/acme/gitops/pull/7>' st/postmortems/inc-3.md
	grep -q 'Verdict: \*\*escalate\*\*; rules: confidence-min' st/postmortems/inc-2.md
}

@test "the same stream twice changes nothing" {
	curate_fixture
	sre-curate --state-dir st export > first
	cp st/postmortems/inc-1.md md1
	run -0 --separate-stderr sre-curate --timeout 600 --state-dir st < "$F/stream.ndjson"
	[ -z "$output" ]
	sre-curate --state-dir st export > second
	diff -u first second
	cmp md1 st/postmortems/inc-1.md
}

@test "learning: verified fixes count as successes, a fix without recovery as a failure" {
	curate_fixture
	run -0 --separate-stderr sre-curate --state-dir st export
	cag=$(printf '%s\n' "$output" | jq -c 'select(.kind == "cag") | .value | [.fingerprint, .successes, .failures, .incidents]')
	[ "$cag" = '["fp-db-conn",0,1,[]]
["fp-quote-latency",2,0,["inc-1","inc-3"]]' ]
	# Incident records keep the features for similarity.
	rec=$(printf '%s\n' "$output" | jq -c 'select(.kind == "incident" and .value.incident == "inc-4") | .value | [.services, .signals, .templates, (.words | index("refused") != null)]')
	[ "$rec" = '[["orders","db-proxy"],["log"],["connection refused to <*>"],true]' ]
	# Events outside incidents: governor reports kept, topology not.
	[ "$(printf '%s\n' "$output" | grep -c '"kind":"sample"')" -eq 3 ]
	! printf '%s\n' "$output" | grep -q '"type":"topology"'
}

@test "report: text and JSON, p50/p90, success rate, resource use" {
	curate_fixture
	run -0 --separate-stderr sre-curate --state-dir st report
	diff -u "$F/report.expected" <(printf '%s\n' "$output")
	[ -z "$stderr" ]
	run -0 --separate-stderr sre-curate --state-dir st report --json
	diff -u "$F/report.json.expected" <(printf '%s\n' "$output")
	assert_no_sanitizer
}

@test "report: an incident open past its verify window counts as a failure" {
	curate_fixture
	# inc-5 opened at 1700001000000 (the newest event) and is still open
	run -0 --separate-stderr sre-curate --state-dir st report --json
	[ "$(jq -c '[.open, .overdue, .autonomous_success_rate]' <<< "$output")" = '[1,0,0.5]' ]
	run -0 --separate-stderr sre-curate --state-dir st report --json --until 1700001200000
	[ "$(jq -c '[.open, .overdue, .autonomous_success_rate]' <<< "$output")" = '[1,1,0.4]' ]
	run -0 --separate-stderr sre-curate --state-dir st report --until 1700001200000
	[[ $output == *"autonomous success rate   40.0% (2 of 4 closed, 1 open past the 3m verify window)"* ]]
	run -0 --separate-stderr sre-curate --state-dir st report --json --until 1700001200000 \
	    --verify-window 5m
	[ "$(jq -c '[.overdue, .verify_window_ms]' <<< "$output")" = '[0,300000]' ]
	run -64 --separate-stderr sre-curate --state-dir st report --verify-window soon
	[[ $stderr == *"--verify-window soon: not a duration"* ]]
}

@test "report --truth: cognitive accuracy against known root causes" {
	curate_fixture
	run -0 --separate-stderr sre-curate --state-dir st report --json --truth "$F/truth.ndjson"
	[ "$(printf '%s\n' "$output" | jq -c .cognitive_accuracy)" = '{"rate":0.5,"matched":2,"n":4}' ]
	run -0 --separate-stderr sre-curate --state-dir st report --truth "$F/truth.ndjson"
	[[ $output == *"cognitive accuracy        50.0% (2 of 4 with a known root cause)"* ]]
	run -66 --separate-stderr sre-curate --state-dir st report --truth nonexistent
	[[ $stderr == *"nonexistent"* ]]
	printf '{"incident":"inc-1","service":"pricing"}\nnot json\n{"service":"x"}\n' > truth
	run -65 --separate-stderr sre-curate --state-dir st report --truth truth
	[[ $stderr == *"truth:2: not JSON"* ]]
	[[ $stderr == *"truth:3: want \"incident\" or \"fingerprint\""* ]]
}

@test "report --truth: a generator's truth file judges the incidents in each fault's window" {
	curate_fixture
	# inc-1 starts at ...000000 (its cause: pricing), inc-3 at ...200000
	printf '%s\n' '{"seed":1,"start_ms":1699999000000,"faults":[' \
	    '{"kind":"latency","culprit":"pricing","operation":null,"start_ms":1699999990000,"end_ms":1700000050000},' \
	    '{"kind":"error","culprit":"fraud","operation":null,"start_ms":1700000190000,"end_ms":1700000250000}],' \
	    '"services":["pricing","fraud"]}' | tr -d '\n' > truth.json
	echo >> truth.json
	run -0 --separate-stderr sre-curate --state-dir st report --json --truth truth.json
	[ "$(printf '%s\n' "$output" | jq -c .cognitive_accuracy)" = '{"rate":0.5,"matched":1,"n":2}' ]
	# the recordings' own truth files are read (no incident falls in them here)
	run -0 --separate-stderr sre-curate --state-dir st report --truth "$SRE_ROOT/examples/traces/pool.truth.json"
	[ -z "$stderr" ]
	printf '{"faults":[{"kind":"cpu","start_ms":1}]}\n' > bad.json
	run -65 --separate-stderr sre-curate --state-dir st report --truth bad.json
	[[ $stderr == *"bad.json:1: faults[0]: want \"culprit\", \"start_ms\" and \"end_ms\""* ]]
	assert_no_sanitizer
}

@test "report --since/--until select incidents by their first anomaly" {
	curate_fixture
	run -0 --separate-stderr sre-curate --state-dir st report --json --until 1700000100000
	[ "$(printf '%s\n' "$output" | jq -c '[.incidents, .mttr_ms.p50, .until_ms]')" = '[1,25000,1700000100000]' ]
	run -0 --separate-stderr sre-curate --state-dir st report --json --since 2023-11-14T22:15:00Z --until 2023-11-14T22:20
	[ "$(printf '%s\n' "$output" | jq -c '[.incidents, .closed, .outcomes.escalated]')" = '[3,3,1]' ]
	run -0 --separate-stderr sre-curate --state-dir st report --since -1h
	[[ $output == "range                     2023-11-14T21:13:20.000Z to now"* ]]
}

@test "report on a missing store exits 66" {
	run -66 --separate-stderr sre-curate --state-dir nowhere report
	[[ $stderr == "sre-curate: cannot open the store: no store at nowhere/store"* ]]
}

@test "search: similar incidents to one, or to free text" {
	curate_fixture
	run -0 --separate-stderr sre-curate --state-dir st search --incident inc-1
	[[ ${lines[0]} == "0.779  inc-3 "*"auto_resolved"*"fp-quote-latency"*"pricing is slow again" ]]
	[ "${#lines[@]}" -eq 1 ]
	run -0 --separate-stderr sre-curate --state-dir st search --json connection refused to the database
	[ "$(printf '%s\n' "$output" | jq -r .incident | head -1)" = inc-4 ]
	run -0 --separate-stderr sre-curate --state-dir st search --json --limit 1 quote-api latency
	[ "${#lines[@]}" -eq 1 ]
	[ "$(printf '%s\n' "$output" | jq -c '[.incident, .proposal.action]')" = '["inc-3","scale"]' ]
	run -66 --separate-stderr sre-curate --state-dir st search --incident inc-99
	[[ $stderr == *"no incident 'inc-99'"* ]]
}

@test "export and import: a lossless round trip" {
	curate_fixture
	sre-curate --state-dir st export > dump
	head -1 dump | grep -qx '{"sre_store":"export","schema":2}'
	run -0 --separate-stderr sre-curate --state-dir copy import < dump
	sre-curate --state-dir copy export > dump2
	diff -u dump dump2
	# Importing again changes nothing; the copy knows every event.
	sre-curate --state-dir copy import --in "file:$BATS_TEST_TMPDIR/dump"
	sre-curate --state-dir copy export | diff -u dump -
	run -0 --separate-stderr sre-curate --timeout 600 --state-dir copy < "$F/stream.ndjson"
	[ -z "$output" ]
	printf '{"kind":"nonsense"}\n' > bad
	run -65 --separate-stderr sre-curate --state-dir copy import < bad
	[[ $stderr == *"line 1: unknown record kind 'nonsense'"* ]]
}

@test "gc --keep-days removes old closed incidents, keeps open ones and the CAG" {
	curate_fixture
	SRE_NOW=$((1700000000000 + 10 * 86400000)) run -0 --separate-stderr sre-curate --state-dir st gc --keep-days 30
	[[ $stderr == *"removed 0 incidents"* ]]
	SRE_NOW=$((1700000000000 + 10 * 86400000)) run -0 --separate-stderr sre-curate --state-dir st gc --keep-days 7
	[[ $stderr == "sre-curate: gc: removed 4 incidents (18 events), 3 samples, 0 window counters" ]]
	run -0 sre-curate --state-dir st export
	[ "$(printf '%s\n' "$output" | jq -r 'select(.kind == "incident") | .value.incident')" = inc-5 ]
	[ "$(printf '%s\n' "$output" | grep -c '"kind":"cag"')" -eq 2 ]
}

@test "bad lines are reported by number; the rest is stored (65)" {
	{ sed -n 1,3p "$F/stream.ndjson"; echo 'not json'
	  echo '{"v":1,"type":"anomaly","id":"x1","ts_ms":5,"source":"s"}'
	  printf '{"v":1,"type":"anomaly","id":"x2","incident":"%0300d","ts_ms":5,"source":"s"}\n' 0
	  sed -n '4,$p' "$F/stream.ndjson"; } > in
	run -65 --separate-stderr sre-curate --timeout 600 --state-dir st < in
	diff -u "$F/stream.expected" <(printf '%s\n' "$output")
	[ "${#stderr_lines[@]}" -eq 3 ]
	[[ ${stderr_lines[0]} == "sre-curate: line 4: not JSON: "* ]]
	[[ ${stderr_lines[1]} == "sre-curate: line 5: field 'incident': "* ]]
	[ "${stderr_lines[2]}" = "sre-curate: line 6: field 'incident': longer than 200 bytes" ]
	assert_no_sanitizer
}

@test "kill -9 in the middle of a stream, then a restart: nothing lost, nothing twice" {
	big 250 > big.ndjson
	mkdir clean crash
	(cd clean && sre-curate --state-dir st < ../big.ndjson > out)
	cd crash
	sre-curate --state-dir st < ../big.ndjson > out1 2> err1 &
	pid=$!
	for i in $(seq 400); do
		[ "$(ls st/postmortems 2> /dev/null | wc -l)" -ge 40 ] && break
		sleep 0.02
	done
	kill -9 $pid
	wait $pid || true
	n=$(ls st/postmortems | grep -c '\.md$')
	[ "$n" -lt 250 ]	# it really was cut short
	run -0 --separate-stderr sre-curate --state-dir st < ../big.ndjson
	printf '%s\n' "$output" > out2
	assert_no_sanitizer
	# The same store as a run that was never interrupted...
	sre-curate --state-dir st export > ../crash.dump
	(cd ../clean && sre-curate --state-dir st export) > ../clean.dump
	diff -u ../clean.dump ../crash.dump
	# ...every postmortem delivered (at least once), no temporary file left.
	diff <(jq -r .id ../clean/out | sort) <(cat out1 out2 | jq -r .id | sort -u)
	[ "$(ls st/postmortems | wc -l)" -eq 250 ]
}

@test "a postmortem left in the outbox is delivered at the next start" {
	curate_fixture
	sre-curate --state-dir st export > dump
	pm=$(sed -n 1p "$F/stream.expected")
	printf '{"kind":"outbox","key":"inc-1","value":%s}\n' "$pm" | sre-curate --state-dir st import
	run -0 --separate-stderr sre-curate --state-dir st < /dev/null
	[ "$output" = "$pm" ]
	sre-curate --state-dir st export | diff -u dump -
	run -0 --separate-stderr sre-curate --state-dir st < /dev/null
	[ -z "$output" ]
}

@test "two sre-curate on one store: both work, each event applied once" {
	big 200 > big.ndjson
	(mkdir clean && cd clean && sre-curate --state-dir st < ../big.ndjson > /dev/null && sre-curate --state-dir st export > ../clean.dump)
	# Two replicas on the same input.
	sre-curate --state-dir st < big.ndjson > outA 2> errA &
	a=$!
	sre-curate --state-dir st < big.ndjson > outB 2> errB &
	b=$!
	wait $a
	wait $b
	check_sanitizers errA
	check_sanitizers errB
	[ ! -s errA ] && [ ! -s errB ]
	sre-curate --state-dir st export | diff -u clean.dump -
	[ "$(cat outA outB | jq -r .incident | sort | uniq -d | wc -l)" -eq 0 ]
	[ "$(cat outA outB | wc -l)" -eq 200 ]
	# Two consumers sharing the work, each with its own incidents.
	rm -rf st
	awk -F'"incident":"inc-' '{ split($2, a, "\""); print > ((a[1] % 2) ? "odd" : "even") }' big.ndjson
	sre-curate --state-dir st < odd > /dev/null &
	a=$!
	sre-curate --state-dir st < even > /dev/null &
	b=$!
	wait $a
	wait $b
	sre-curate --state-dir st export | grep -E '"kind":"(incident|event)"' > shared
	grep -E '"kind":"(incident|event)"' clean.dump | diff -u - shared
}

@test "a read-only state directory is a clear configuration error (78)" {
	if can_mount; then
		mkdir ro
		run -78 --separate-stderr unshare -m sh -c 'mount --bind ro ro && mount -o remount,bind,ro ro && exec sre-curate --state-dir ro/st' < "$F/stream.ndjson"
		[ "$stderr" = "sre-curate: cannot open the store: cannot create ro/st/store: Read-only file system" ]
		# An existing store: no writing, but reading works.
		curate_fixture ro/st
		sre-curate --state-dir ro/st export > before
		run -78 --separate-stderr unshare -m sh -c 'mount --bind ro ro && mount -o remount,bind,ro ro && exec sre-curate --state-dir ro/st' < "$F/stream.ndjson"
		[ "$stderr" = "sre-curate: cannot open the store: ro/st/store: Read-only file system" ]
		run -0 --separate-stderr unshare -m sh -c 'mount --bind ro ro && mount -o remount,bind,ro ro && exec sre-curate --state-dir ro/st report --json'
		[ "$(printf '%s\n' "$output" | jq .incidents)" -eq 5 ]
		sre-curate --state-dir ro/st export | diff -u before -
	elif [ "$(id -u)" -ne 0 ]; then
		mkdir ro && chmod 555 ro
		run -78 --separate-stderr sre-curate --state-dir ro/st < "$F/stream.ndjson"
		[[ $stderr == *"cannot create ro/st/store: Permission denied" ]]
	else
		skip "root without mount namespaces"
	fi
}

@test "a full disk is an I/O error (74) that corrupts nothing" {
	can_mount || skip "needs root and mount namespaces"
	big 150 > big.ndjson
	(mkdir clean && cd clean && sre-curate --state-dir st < ../big.ndjson > /dev/null && sre-curate --state-dir st export) > clean.dump
	mkdir disk
	run -0 --separate-stderr unshare -m sh -c '
		mount -t tmpfs -o size=240k tmpfs disk || exit 99
		cd disk
		sre-curate --state-dir st < ../big.ndjson > ../out1 2> ../err1
		echo "first $?" > ../rc
		mount -o remount,size=64m ../disk
		sre-curate --state-dir st < ../big.ndjson > ../out2 2> ../err2
		echo "second $?" >> ../rc
		sre-curate --state-dir st export > ../full.dump'
	[ "$(cat rc)" = "first 74
second 0" ]
	check_sanitizers err1
	[ "$(wc -l < err1)" -eq 1 ]
	grep -Eq '^sre-curate: .*st/(store|postmortems).*: No space left on device$' err1
	[ ! -s err2 ]
	diff -u clean.dump full.dump
	[ "$(cat out1 out2 | jq -r .id | sort -u | wc -l)" -eq 150 ]
}

@test "a store of schema 1 is migrated, with a notice; a newer one is refused" {
	mkdir -p old/store
	mdb_load -f "$F/store-v1.dump" old/store
	run -78 --separate-stderr sre-curate --state-dir old report
	[[ $stderr == *"the store has schema 1, older than 2: open it once with sre-curate to migrate it" ]]
	run -0 --separate-stderr sre-curate --state-dir old < /dev/null
	[ "$stderr" = "sre-curate: migrated the store old/store from schema 1 to 2" ]
	run -0 --separate-stderr sre-curate --state-dir old search --json invoice timeout
	[ "$(printf '%s\n' "$output" | jq -r .incident)" = old-1 ]
	run -0 --separate-stderr sre-curate --state-dir old report --json
	[ "$(printf '%s\n' "$output" | jq -c '[.incidents, .mttr_ms.p50]')" = '[1,60000]' ]
	run -0 --separate-stderr sre-curate --state-dir old < /dev/null
	[ -z "$stderr" ]
	# A store from the future.
	mkdir -p new/store
	sed 's/^ 1$/ 99/' "$F/store-v1.dump" | mdb_load new/store
	run -78 --separate-stderr sre-curate --state-dir new < /dev/null
	[[ $stderr == *"the store has schema 99, newer than this build reads (2): use a newer SRE-Space" ]]
}

@test "the memory map grows when full instead of failing" {
	big 120 > big.ndjson
	SRE_STORE_MAPSIZE=65536 run -0 --separate-stderr sre-curate --state-dir st < big.ndjson
	[ "${#lines[@]}" -eq 120 ]
	map=$(mdb_stat -e st/store | awk '/Map size/ { print $3 }')
	[ "$map" -gt 65536 ]
}

@test "a full stdout is an I/O error (74); a closed pipe ends quietly" {
	[ -w /dev/full ] || skip "no /dev/full"
	run -74 --separate-stderr bash -c 'sre-curate --timeout 600 --state-dir st < "$1" > /dev/full' _ "$F/stream.ndjson"
	[[ $stderr == *"failed: No space left on device"* ]]
	# What could not be delivered stays in the outbox for the next run.
	run -0 --separate-stderr sre-curate --state-dir st < /dev/null
	[ "${#lines[@]}" -ge 1 ]
	big 100 > big.ndjson
	run -0 --separate-stderr bash -c 'sre-curate --state-dir st2 < big.ndjson | head -n 1 > /dev/null; exit ${PIPESTATUS[0]}'
	[ -z "$stderr" ]
}

@test "SIGTERM: the line in hand is finished and the exit is 0" {
	mkfifo fifo
	sre-curate --state-dir st < fifo > out 2> err &
	pid=$!
	exec 5> fifo
	sed -n 2p "$F/stream.ndjson" >&5
	for i in $(seq 50); do [ -d st/store ] && break; sleep 0.1; done
	sleep 0.2
	kill -TERM $pid
	rc=0; wait $pid || rc=$?
	exec 5>&-
	[ "$rc" -eq 0 ]
	check_sanitizers err
	[ "$(sre-curate --state-dir st export | grep -c '"kind":"event"')" -eq 1 ]
}

@test "a quiet stream: the event clock moves on and stale incidents close" {
	mkfifo fifo
	now=$(( $(date +%s) * 1000 ))
	SRE_NOW= sre-curate --timeout 1 --state-dir st < fifo > out 2> err &
	pid=$!
	exec 5> fifo
	printf '{"v":1,"type":"anomaly","id":"q1","incident":"quiet","ts_ms":%s,"source":"t","window_start_ms":%s}\n' $now $((now - 500)) >&5
	for i in $(seq 60); do [ -s out ] && break; sleep 0.1; done
	exec 5>&-
	wait $pid
	check_sanitizers err
	[ "$(jq -c '[.incident, .outcome, .ts_ms - '$now', .detect_ms]' out)" = '["quiet","unresolved",1000,500]' ]
}

@test "an incident closes with the last of its series to recover, not the first" {
	{
	printf '%s\n' '{"v":1,"type":"anomaly","id":"r-a1","incident":"inc-r","ts_ms":1700000000000,"source":"sre-scout","service":"quote-api","operation":"GET /q","signal":"latency","fingerprint":"fp-r","window_start_ms":1699999990000,"window_end_ms":1700000000000}'
	printf '%s\n' '{"v":1,"type":"anomaly","id":"r-a2","incident":"inc-r","ts_ms":1700000001000,"source":"sre-scout","service":"pricing","operation":"GET /p","signal":"errors","fingerprint":"fp-r2","window_start_ms":1699999991000,"window_end_ms":1700000001000}'
	printf '%s\n' '{"v":1,"type":"recovery","id":"r-r1","incident":"inc-r","ts_ms":1700000015000,"source":"sre-scout","service":"quote-api","operation":"GET /q","fingerprint":"fp-r","remaining":1}'
	printf '%s\n' '{"v":1,"type":"recovery","id":"r-r2","incident":"inc-r","ts_ms":1700000030000,"source":"sre-scout","service":"pricing","operation":"GET /p","fingerprint":"fp-r2","remaining":0}'
	} > in.ndjson
	run -0 --separate-stderr sre-curate --state-dir st < in.ndjson
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 1 ]
	[ "$(jq -c '[.outcome, .mttr_ms]' <<< "$output")" = '["auto_resolved",30000]' ]
	# With only the partial recovery, the incident stays open.
	run -0 --separate-stderr sre-curate --state-dir st2 < <(head -n 3 in.ndjson)
	[ -z "$output" ]
}
