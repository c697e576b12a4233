#!/usr/bin/env bats
# sre-logmine: log messages in, one template record per message out.

bats_require_minimum_version 1.5.0

setup() {
	SRE_ROOT=${SRE_ROOT:-$(cd "$BATS_TEST_DIRNAME/.." && pwd)}
	PATH="${SRE_BIN:-$BATS_TEST_DIRNAME/..}/bin:$PATH"
	export LC_ALL=C
	unset SRE_STATE_DIR
	T=$BATS_TEST_TMPDIR
}

# A sanitizer report fails the test even when the exit code was right.
no_sanitizer() {
	if printf '%s\n%s' "${stderr:-}" "${output:-}" |
	    grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:'; then
		printf '%s\n' "$stderr" >&2
		return 1
	fi
}

# field NAME: the string value of NAME in each line of $output.
field() {
	printf '%s\n' "$output" | sed -n "s/.*\"$1\":\"\\([^\"]*\\)\".*/\\1/p"
}

@test "--help prints usage on stdout and exits 0" {
	run -0 --separate-stderr sre-logmine --help
	[[ $output == "usage: sre-logmine "* ]]
	[ -z "$stderr" ]
}

@test "--version prints the name and version" {
	run -0 --separate-stderr sre-logmine --version
	[[ $output =~ ^sre-logmine\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
}

@test "bad usage exits 64 with a reason on stderr" {
	run -64 --separate-stderr sre-logmine --no-such-option
	[[ $stderr == *"usage: sre-logmine"* ]]
	[ -z "$output" ]
	run -64 --separate-stderr sre-logmine a b
	[[ $stderr == *"unexpected argument: b"* ]]
	run -64 --separate-stderr sre-logmine --threshold 1.5
	[[ $stderr == *"--threshold 1.5"* ]]
	run -64 --separate-stderr sre-logmine --threshold abc
	run -64 --separate-stderr sre-logmine --depth 2
	[[ $stderr == *"--depth 2"* ]]
	run -64 --separate-stderr sre-logmine --max-templates 0
	run -64 --separate-stderr sre-logmine --mask num,bogus
	[[ $stderr == *"unknown masker 'bogus'"* ]]
	run -64 --separate-stderr sre-logmine --input yaml
	run -64 --separate-stderr sre-logmine --format '<Date> <Time>'
	[[ $stderr == *"no <Content> field"* ]]
	run -64 --separate-stderr sre-logmine --format '<Date <Content>'
	[[ $stderr == *"--format: "* ]]
	run -64 --separate-stderr sre-logmine --in file:a.log b.log
	[[ $stderr == *"either FILE or --in"* ]]
	no_sanitizer
}

@test "empty input gives no output and exit 0" {
	run -0 --separate-stderr sre-logmine < /dev/null
	[ -z "$output" ]
	[ -z "$stderr" ]
}

@test "raw lines: numbers and addresses vary, the template does not" {
	printf '%s\n' \
	    'Served block blk_123 to /10.0.0.1' \
	    'Served block blk_-6952295868487656571 to /10.251.9.2' \
	    '' \
	    'Connection closed by 1.2.3.4 [preauth]' > "$T/in.log"
	run -0 --separate-stderr sre-logmine "$T/in.log"
	[ -z "$stderr" ]
	[ "${#lines[@]}" -eq 3 ]
	ids=$(field template_id)
	[ "$(printf '%s\n' "$ids" | sed -n 1p)" = \
	    "$(printf '%s\n' "$ids" | sed -n 2p)" ]
	[ "$(printf '%s\n' "$ids" | sed -n 1p)" != \
	    "$(printf '%s\n' "$ids" | sed -n 3p)" ]
	[[ ${lines[0]} == '{"template_id":"'*'","template":"Served block blk_<*> to <*>","message":"Served block blk_123 to /10.0.0.1","new":true}' ]]
	[[ ${lines[1]} != *'"new"'* ]]
	[[ ${lines[2]} == *'"template":"Connection closed by <*> [preauth]"'* ]]
	no_sanitizer
}

@test "ids are stable: same input, same output; other lines do not matter" {
	printf '%s\n' 'alpha beta 1' 'Invalid user admin from 10.0.0.9' > "$T/a"
	printf '%s\n' 'Invalid user admin from 192.168.1.1' > "$T/b"
	run -0 --separate-stderr sre-logmine "$T/a"
	first=$output
	run -0 --separate-stderr sre-logmine "$T/a"
	[ "$output" = "$first" ]
	a=$(printf '%s\n' "$first" | sed -n 2p | cut -d'"' -f4)
	run -0 --separate-stderr sre-logmine "$T/b"
	b=$(printf '%s\n' "$output" | cut -d'"' -f4)
	[ "$a" = "$b" ]
	[[ $a =~ ^[0-9a-f]{16}$ ]]
}

@test "word variables merge once they outnumber the threshold" {
	for u in cyrus news test guest; do
		echo "session closed for user $u"
	done > "$T/in.log"
	run -0 --separate-stderr sre-logmine "$T/in.log"
	[[ ${lines[3]} == *'"template":"session closed for user <*>"'* ]]
	first=$(printf '%s\n' "${lines[0]}" | cut -d'"' -f4)
	second=$(printf '%s\n' "${lines[1]}" | cut -d'"' -f4)
	[[ ${lines[3]} == '{"template_id":"'"$first"'"'* ]]
	[[ ${lines[3]} == *'"merged":{"'"$second"'":"'"$first"'",'* ]]
}

@test "--format splits the header; a line off the format exits 65" {
	printf '%s\n' \
	    'Jun 14 15:16:01 combo sshd(pam_unix)[19939]: check pass; user unknown' \
	    'not a syslog line' \
	    'Jul  1 09:00:55 combo kernel: Linux version 2.6.5' > "$T/in.log"
	run -65 --separate-stderr sre-logmine \
	    -f '<Month> <Date> <Time> <Level> <Component>(\[<PID>\])?: <Content>' \
	    "$T/in.log"
	[ "${#lines[@]}" -eq 2 ]
	[[ ${lines[0]} == *'"message":"check pass; user unknown"'* ]]
	[[ ${lines[0]} == *'"fields":{"Month":"Jun","Date":"14","Time":"15:16:01","Level":"combo","Component":"sshd(pam_unix)","PID":"19939"}}' ]]
	[[ ${lines[1]} == *'"fields":{"Month":"Jul","Date":"1","Time":"09:00:55","Level":"combo","Component":"kernel"}}' ]]
	[[ $stderr == *"sre-logmine: $T/in.log:2: does not match --format"* ]]
	no_sanitizer
}

@test "journalctl -o json: MESSAGE mined, unit, priority and time kept" {
	cat > "$T/j.json" <<'EOF'
{"__REALTIME_TIMESTAMP":"1700000000123456","PRIORITY":"6","_SYSTEMD_UNIT":"sshd.service","MESSAGE":"Accepted publickey for alice from 10.0.0.1 port 51234 ssh2","SYSLOG_IDENTIFIER":"sshd"}
{"__REALTIME_TIMESTAMP":"1700000001123456","PRIORITY":"3","_SYSTEMD_UNIT":"sshd.service","MESSAGE":"Accepted publickey for alice from 10.0.0.2 port 51299 ssh2"}
EOF
	run -0 --separate-stderr sre-logmine "$T/j.json"
	[ -z "$stderr" ]
	[[ ${lines[0]} == *'"template":"Accepted publickey for alice from <*> port <*> ssh2"'* ]]
	[[ ${lines[0]} == *'"ts_ms":1700000000123,"service":"sshd","unit":"sshd.service","priority":6}' ]]
	[[ ${lines[1]} == *'"ts_ms":1700000001123,"service":"sshd","unit":"sshd.service","priority":3}' ]]
}

@test "OTLP logs: one record per logRecord, service and severity kept" {
	cat > "$T/o.json" <<'EOF'
{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"checkout"}}]},"scopeLogs":[{"logRecords":[{"timeUnixNano":"1700000002000000000","severityText":"ERROR","body":{"stringValue":"payment failed for order 1234: timeout after 30 s"}},{"timeUnixNano":"1700000003000000000","severityText":"ERROR","body":{"stringValue":"payment failed for order 99: timeout after 31 s"}}]}]}]}
EOF
	run -0 --separate-stderr sre-logmine --input json "$T/o.json"
	[ "${#lines[@]}" -eq 2 ]
	[[ ${lines[0]} == *'"template":"payment failed for order <*>: timeout after <*>"'* ]]
	[[ ${lines[1]} == *'"ts_ms":1700000003000,"service":"checkout","severity":"ERROR"}' ]]
}

@test "--input json rejects what is not logs; traces and metrics pass quietly" {
	printf '%s\n' '{"resourceSpans":[]}' '{"not":"a log"}' '{broken' \
	    > "$T/in.json"
	run -65 --separate-stderr sre-logmine --input json "$T/in.json"
	[ -z "$output" ]
	[[ $stderr != *":1: "* ]]
	[[ $stderr == *":2: not an OTLP logs request nor a journal entry"* ]]
	[[ $stderr == *":3: "* ]]
	run -0 --separate-stderr sre-logmine -v <<< '{"resourceSpans":[]}'
	[[ $stderr == *"1 not logs"* ]]
	run -0 --separate-stderr sre-logmine "$T/in.json"
	[ "${#lines[@]}" -eq 2 ]
	[[ ${lines[0]} == *'"message":"{\"not\":\"a log\"}"'* ]]
}

@test "--summary ends with the templates, most frequent first" {
	printf '%s\n' 'disk 1 full' 'user 7 logged in' 'disk 2 full' \
	    'disk 3 full' > "$T/in.log"
	run -0 --separate-stderr sre-logmine --summary "$T/in.log"
	[ "${#lines[@]}" -eq 6 ]
	[[ ${lines[4]} == '{"template_id":"'*'","template":"disk <*> full","count":3}' ]]
	[[ ${lines[5]} == '{"template_id":"'*'","template":"user <*> logged in","count":1}' ]]
}

@test "--mask none keeps numbers as words" {
	run -0 --separate-stderr sre-logmine --mask none <<< 'took 12 ms'
	[[ $output == *'"template":"took 12 ms"'* ]]
}

@test "binary garbage and very long lines do not hurt" {
	head -c 200000 /dev/urandom > "$T/garbage"
	awk 'BEGIN { for (i = 0; i < 300000; i++) printf "x%d ", i; print "" }' \
	    > "$T/long"
	run -0 --separate-stderr sre-logmine "$T/garbage"
	no_sanitizer
	run -0 --separate-stderr sre-logmine "$T/long"
	[ "${#lines[@]}" -eq 1 ]
	no_sanitizer
	run -65 --separate-stderr sre-logmine --max-line 1000 "$T/long"
	[ -z "$output" ]
}

@test "a missing input file exits 66" {
	run -66 --separate-stderr sre-logmine "$T/does-not-exist"
	[[ $stderr == *"does-not-exist"* ]]
}

@test "a full disk exits 74" {
	[ -w /dev/full ] || skip "no /dev/full"
	run -74 --separate-stderr sh -c 'echo "x 1" | sre-logmine > /dev/full'
	[[ $stderr == "sre-logmine: "* ]]
}

@test "a closed pipe ends quietly" {
	seq 1 200000 | sed 's/^/event /' > "$T/many"
	run -0 --separate-stderr bash -c \
	    'sre-logmine "$1" | head -n 1 >/dev/null; exit ${PIPESTATUS[0]}' \
	    _ "$T/many"
	[ -z "$stderr" ]
}
