#!/usr/bin/env bats
# sre-jules: the architecture auditor.

load helper

J=$FIXTURES/jules

setup() {
	export SRE_STATE_DIR=$BATS_TEST_TMPDIR/state
	cd "$BATS_TEST_TMPDIR" || return 1
}

# The findings of the last run's stdout as "severity finding subject".
findings() {
	jq -r '[.severity, .finding, .subject] | @tsv' "$BATS_TEST_TMPDIR/out"
}

# Run "$@" with stdout to $BATS_TEST_TMPDIR/out and stderr to .../err and
# set $status, whatever the exit status; a sanitizer report fails.
run_files() {
	local rc=0
	"$@" > "$BATS_TEST_TMPDIR/out" 2> "$BATS_TEST_TMPDIR/err" || rc=$?
	status=$rc
	check_sanitizers "$BATS_TEST_TMPDIR/err"
}

# A governor state file as sre-govern writes it, replaced atomically.
governor() {	# mode interval
	printf '{"mode":"%s","usage_bytes":1,"threshold_bytes":2,"low_bytes":1,"since_ms":1,"updated_ms":1,"llm_concurrency":1,"loop_interval_s":%d,"sample_rate":0.5,"cpu_seconds":0,"pid":1}\n' \
	    "$1" "$2" > "$SRE_STATE_DIR/.g.tmp"
	mv "$SRE_STATE_DIR/.g.tmp" "$SRE_STATE_DIR/governor.json"
}

# Wait (at most ~20 s) until the err file logs at least $1 runs.
wait_runs() {
	local i
	for i in $(seq 200); do
		[ "$(grep -c ': run [0-9]* at' "$BATS_TEST_TMPDIR/err")" -ge "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

@test "--help, --version, and bad usage (64)" {
	run -0 --separate-stderr sre-jules --help
	[[ $output == "usage: sre-jules "* ]]
	run -0 --separate-stderr sre-jules --version
	[[ $output =~ ^sre-jules\ [0-9.]+$ ]]
	run -64 --separate-stderr sre-jules --fail-on high
	[ "$stderr" = "sre-jules: --fail-on high: want info, warning or critical" ]
	run -64 --separate-stderr sre-jules --window soon
	[[ $stderr == *"--window soon: not a duration"* ]]
	run -64 --separate-stderr sre-jules -t chronic=0
	[[ $stderr == *"chronic=0: want a number from 1 to"* ]]
	run -64 --separate-stderr sre-jules -t bogus=1
	[[ $stderr == *"bogus: no such threshold"* ]]
	run -64 --separate-stderr sre-jules --no-store
	[[ $stderr == *"nothing to audit"* ]]
	run -64 --separate-stderr sre-jules --loop --fail-on info -e x
	run -64 --separate-stderr sre-jules --loop -e -
	[[ $stderr == *"cannot read standard input again"* ]]
	run -64 --separate-stderr sre-jules --report a --no-report -e x
	run -64 --separate-stderr sre-jules --interval-scale 0 -e x
	# An operand is a recording, as -e gives it.
	run -66 --separate-stderr sre-jules --no-store stray
	[[ $stderr == *"stray: No such file or directory"* ]]
}

@test "a recording and a repository: every finding, most severe first" {
	run_files sre-jules --no-store -e "$J/events.ndjson" -r "$J/gitops"
	[ "$status" -eq 0 ]
	diff -u "$J/expected-findings.tsv" <(findings)
	# Valid audit events of no incident, each with evidence and advice.
	sre-bus < "$BATS_TEST_TMPDIR/out" > /dev/null
	[ "$(jq -c 'select(.type != "audit" or .source != "sre-jules" or
	    has("incident") or (.evidence | type) != "object" or
	    (.recommendation | length) < 20 or (.detail | length) < 10)' \
	    "$BATS_TEST_TMPDIR/out")" = "" ]
	[ "$(jq -c 'select(.finding == "single_point_of_failure") |
	    [.evidence.callers, .evidence.replicas, .evidence.file]' "$BATS_TEST_TMPDIR/out")" = \
	    '[["fraud-detector","partner-api","pricing-engine","quote-api"],1,"services/redis-cache/deployment.yaml"]' ]
	[ "$(jq -c 'select(.finding == "fix_not_sticking") |
	    [.evidence.fingerprint, .evidence.recurred]' "$BATS_TEST_TMPDIR/out")" = \
	    '["fp-pricing-saturation",["inc-p2","inc-p3","inc-p4"]]' ]
	[ "$(jq -c 'select(.finding == "llm_spend") |
	    [.evidence.tokens_per_incident, .evidence.incidents_with_llm, .evidence.cag_answers]' \
	    "$BATS_TEST_TMPDIR/out")" = '[26450,4,1]' ]
	[ "$(jq -c 'select(.finding == "guard_vetoes") | .evidence | [.verdicts, .veto]' \
	    "$BATS_TEST_TMPDIR/out")" = '[8,4]' ]
	grep -q '^sre-jules: 14 findings (4 critical, 8 warning, 2 info) over 8 incidents, 2 topology windows, 5 manifests; report ' "$BATS_TEST_TMPDIR/err"
}

@test "the Markdown report: in the state directory by default, and golden" {
	run_files sre-jules --no-store -e "$J/events.ndjson" -r "$J/gitops"
	[ "$status" -eq 0 ]
	[ "$(ls "$SRE_STATE_DIR/audits")" = "audit-20231114T221320Z.md
latest.md" ]
	diff -u "$J/expected-report.md" "$SRE_STATE_DIR/audits/latest.md"
	cmp "$SRE_STATE_DIR/audits/latest.md" "$SRE_STATE_DIR/audits/audit-20231114T221320Z.md"
	# --report FILE: only there; --no-report: nowhere.
	rm -r "$SRE_STATE_DIR"
	run_files sre-jules --no-store -e "$J/events.ndjson" -r "$J/gitops" --report r.md -q
	[ "$status" -eq 0 ]
	[ ! -s "$BATS_TEST_TMPDIR/err" ]
	diff -u "$J/expected-report.md" r.md
	[ ! -e "$SRE_STATE_DIR" ]
	run_files sre-jules --no-store -e "$J/events.ndjson" --no-report
	[ "$status" -eq 0 ]
	[ ! -e "$SRE_STATE_DIR" ]
	# Nothing found: a report that says so.
	run_files sre-jules --no-store -r "$SRE_ROOT/examples/gitops" --report clean.md
	[ "$status" -eq 0 ] && [ ! -s "$BATS_TEST_TMPDIR/out" ]
	grep -q '^No findings\.$' clean.md
	grep -q '12 manifests' clean.md
}

@test "the store of sre-curate: the same incidents, read-only; ids are taken once" {
	sign_events < "$J/events.ndjson" | sre-curate > /dev/null 2> curate.err
	[ -f "$SRE_STATE_DIR/store/data.mdb" ]
	run_files sre-jules --no-report
	[ "$status" -eq 0 ]
	# No topology or manifests in the store: the rest is all there.
	diff -u <(grep -vE 'single_point|manifest|missing_' "$J/expected-findings.tsv") <(findings)
	# Store and recording together: the same as the recording alone.
	run_files sre-jules -e "$J/events.ndjson" -r "$J/gitops" --report both.md
	[ "$status" -eq 0 ]
	diff -u "$J/expected-findings.tsv" <(findings)
	grep -q '(40 repeated ids skipped)' both.md
	# A bus URL is a source too.
	run_files sre-jules --no-store -i "file:$J/events.ndjson" -r "$J/gitops" --no-report
	diff -u "$J/expected-findings.tsv" <(findings)
}

@test "--window and --threshold change what is found" {
	# All time: quote-api's old incident makes it chronic, an old edge
	# makes db-policy a single point of failure.
	run_files sre-jules --no-store -e "$J/events.ndjson" -r "$J/gitops" --no-report -w 0
	[ "$status" -eq 0 ]
	findings | grep -qx $'warning\tchronic_offender\tquote-api'
	findings | grep -qx $'warning\tsingle_point_of_failure\tdb-policy'
	# The last day: one pricing-engine incident, no trends, no chronics.
	run_files sre-jules --no-store -e "$J/events.ndjson" --no-report -w 1d
	[ "$status" -eq 0 ]
	[ "$(findings | cut -f2 | sort -u | tr '\n' ' ')" = "" ]
	run_files sre-jules --no-store -e "$J/events.ndjson" --no-report \
	    -t chronic=5 -t mttr_slow_s=10m -t llm_usd_per_mtok=2.5 -t window=7d
	[ "$status" -eq 0 ]
	[ -z "$(findings | grep chronic_offender)" ]
	findings | grep -qx $'warning\tslow_mttr\tpricing-engine'
	[ "$(jq -c 'select(.finding == "llm_spend") | [.evidence.cost_usd, .evidence.cost_per_incident_usd]' \
	    "$BATS_TEST_TMPDIR/out")" = '[0.2645,0.0661]' ]
}

@test "--fail-on: exit 1 for CI when a finding is that severe" {
	run -1 --separate-stderr sre-jules --no-store -e "$J/events.ndjson" --no-report --fail-on critical
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 8 ]
	# The fixture repository alone: warnings at worst.
	run -0 --separate-stderr sre-jules --no-store -r "$J/gitops" --no-report --fail-on critical
	run -1 --separate-stderr sre-jules --no-store -r "$J/gitops" --no-report --fail-on warning
	# The marketplace's repository is clean.
	run -0 --separate-stderr sre-jules --no-store -r "$SRE_ROOT/examples/gitops" --no-report --fail-on info
	[ -z "$output" ]
	assert_no_sanitizer
}

@test "the marketplace's repository with the recorded topology: redis-cache runs alone" {
	run_files sre-jules --no-store -e "$J/events.ndjson" -r "$SRE_ROOT/examples/gitops" --no-report
	[ "$status" -eq 0 ]
	findings | grep -qx $'critical\tsingle_point_of_failure\tredis-cache'
	[ "$(jq -r 'select(.finding == "single_point_of_failure") | .evidence.file' "$BATS_TEST_TMPDIR/out")" = \
	    services/redis-cache/deployment.yaml ]
}

@test "malformed lines are reported with their place and skipped (65); stdin is a source" {
	{ head -5 "$J/events.ndjson"; echo 'not json'; echo '{"v":1,"type":"anomaly"}'; echo;
	    tail -n +6 "$J/events.ndjson"; } > bad.ndjson
	run_files sre-jules --no-store -e bad.ndjson --no-report
	[ "$status" -eq 65 ]
	grep -q '^sre-jules: bad.ndjson:6: not JSON' "$BATS_TEST_TMPDIR/err"
	grep -q "^sre-jules: bad.ndjson:7: field 'id'" "$BATS_TEST_TMPDIR/err"
	[ "$(findings | wc -l)" -eq 8 ]
	run_files sre-jules --no-store -e - --no-report < "$J/events.ndjson"
	[ "$status" -eq 0 ]
	[ "$(findings | wc -l)" -eq 8 ]
}

@test "errors: nothing to audit, missing inputs (66), no report directory (73), a full disk (74), a closed pipe (0)" {
	run -66 --separate-stderr sre-jules
	[[ $stderr == "sre-jules: no store in $SRE_STATE_DIR/store, and neither --events nor --repo given" ]]
	run -66 --separate-stderr sre-jules -e nonexistent.ndjson
	[[ $stderr == *"nonexistent.ndjson"* ]]
	run -66 --separate-stderr sre-jules --no-store -r nonexistent
	[[ $stderr == "sre-jules: --repo: nonexistent/services: No such file or directory" ]]
	run -73 --separate-stderr sre-jules --no-store -e "$J/events.ndjson" --state-dir /proc/nope -o file:/dev/null
	[[ $stderr == *"cannot create /proc/nope/audits"* ]]
	run -73 --separate-stderr sre-jules --no-store -e "$J/events.ndjson" --report /nonexistent/r.md -o file:/dev/null
	if [ -w /dev/full ]; then
		run -74 --separate-stderr sre-jules --no-store -e "$J/events.ndjson" --no-report -o file:/dev/full
		run -74 --separate-stderr sre-jules --no-store -e "$J/events.ndjson" --report /dev/full -o file:/dev/null
	fi
	sre-jules --no-store -e "$J/events.ndjson" --no-report 2> "$BATS_TEST_TMPDIR/err" | head -1 > /dev/null
	[ "${PIPESTATUS[0]}" -eq 0 ]
	check_sanitizers "$BATS_TEST_TMPDIR/err"
	assert_no_sanitizer
}

@test "--loop follows loop_interval_s of governor.json: normal, degraded, normal again" {
	mkdir -p "$SRE_STATE_DIR"
	governor normal 60
	# Scaled by 0.01: 0.6 s normal, 1.2 s degraded.
	sre-jules --loop -v --interval-scale 0.01 --no-store -e "$J/events.ndjson" \
	    -o "file:$BATS_TEST_TMPDIR/out" 2> "$BATS_TEST_TMPDIR/err" &
	pid=$!
	wait_runs 3
	governor degraded 120
	wait_runs 6
	governor normal 60
	wait_runs 9
	kill -TERM $pid
	rc=0; wait $pid || rc=$?
	[ "$rc" -eq 0 ]
	check_sanitizers "$BATS_TEST_TMPDIR/err"
	# Each change of interval is logged once.
	[ "$(grep -c '^sre-jules: audit interval now 120 s (degraded)' "$BATS_TEST_TMPDIR/err")" -eq 1 ]
	[ "$(grep -c '^sre-jules: audit interval now 60 s (normal)' "$BATS_TEST_TMPDIR/err")" -eq 1 ]
	# The waits each run announces follow the modes in order.
	modes=$(sed -n 's/.*next in \([0-9.]*\) s (\(.*\))$/\1 \2/p' "$BATS_TEST_TMPDIR/err" | uniq | tr '\n' ',')
	[[ $modes == "0.60 normal,1.20 degraded,0.60 normal,"* ]]
	# And the gaps between runs are the waits: >= 1.2 s while degraded,
	# well under that while normal.
	sed -n 's/.*: run \([0-9]*\) at +\([0-9]*\) ms: .*(\(.*\))$/\1 \2 \3/p' "$BATS_TEST_TMPDIR/err" > runs
	# (A gap across a change of mode is a mix of both.)
	awk 'NR > 1 && mode == $3 { gap = $2 - prev; n[mode]++
	    if (mode == "degraded" && gap < 1190) bad++
	    if (mode == "normal" && (gap < 590 || gap > 1100)) bad++ }
	    { prev = $2; mode = $3 }
	    END { exit !(bad == 0 && n["normal"] >= 3 && n["degraded"] >= 2) }' runs || { cat runs; false; }
	# Every run wrote its findings; the report is latest.md only.
	[ "$(jq -r .finding "$BATS_TEST_TMPDIR/out" | wc -l)" -ge 72 ]
	[ "$(ls "$SRE_STATE_DIR/audits")" = latest.md ]
}

@test "--loop without a governor file waits --interval; SIGTERM ends the wait at once" {
	sre-jules --loop -v --no-store -e "$J/events.ndjson" --no-report \
	    -o file:/dev/null 2> "$BATS_TEST_TMPDIR/err" &
	pid=$!
	wait_runs 1
	sleep 0.2
	grep -q 'next in 60.00 s (no governor)' "$BATS_TEST_TMPDIR/err"
	kill -TERM $pid
	start=$(date +%s)
	rc=0; wait $pid || rc=$?
	[ "$rc" -eq 0 ]
	[ $(( $(date +%s) - start )) -lt 3 ]
	[ "$(grep -c ': run [0-9]* at' "$BATS_TEST_TMPDIR/err")" -eq 1 ]
	check_sanitizers "$BATS_TEST_TMPDIR/err"
}
