#!/usr/bin/env bats
# Input named one way in every tool (issue 18): an operand FILE (and -),
# --in URL where a bare path means file:PATH, a name ending in .gz read
# through gzip, and a hint when the input is pretty-printed JSON.

load helper

F=$FIXTURES

setup() {
	T=$BATS_TEST_TMPDIR
	cp "$F/bus/events.ndjson" "$T/ev.ndjson"
	gzip -c "$F/bus/events.ndjson" > "$T/ev.ndjson.gz"
}

# same_input TOOL ARGS...: the tool gives the same stdout and exit code for
# its input on stdin, as FILE, as --in PATH, as --in file:PATH, as -i
# PATH.gz and as FILE.gz (a fresh state directory each time).
read_as() {	# read_as HOW TOOL ARGS...: one way of naming the input
	local how=$1
	shift
	case $how in
	stdin)	 "$@" --state-dir "$T/st" < "$T/ev.ndjson" ;;
	file)	 "$@" --state-dir "$T/st" "$T/ev.ndjson" ;;
	in-path) "$@" --state-dir "$T/st" --in "$T/ev.ndjson" ;;
	in-url)	 "$@" --state-dir "$T/st" -i "file:$T/ev.ndjson" ;;
	gz-in)	 "$@" --state-dir "$T/st" -i "$T/ev.ndjson.gz" ;;
	gz-file) "$@" --state-dir "$T/st" "$T/ev.ndjson.gz" ;;
	dash)	 "$@" --state-dir "$T/st" - < "$T/ev.ndjson" ;;
	esac
}

same_input() {
	local how rc codes=""
	for how in stdin file in-path in-url gz-in gz-file dash; do
		rm -rf "$T/st"
		read_as "$how" "$@" > "$T/out.$how" 2> "$T/err.$how" &&
		    rc=0 || rc=$?
		codes="$codes $rc"
		check_sanitizers "$T/err.$how"
		[ "$how" = stdin ] && continue
		if ! diff -u "$T/out.stdin" "$T/out.$how"; then
			echo "$1: $how differs from stdin" >&2
			return 1
		fi
		# The same diagnostics, the file named or not.
		if [ "$(wc -l < "$T/err.$how")" -ne \
		    "$(wc -l < "$T/err.stdin")" ]; then
			echo "$1: $how reports otherwise" >&2
			return 1
		fi
	done
	# One exit code for all (the one stdin gives).
	if [ "$(printf '%s\n' $codes | sort -u | wc -l)" -ne 1 ]; then
		echo "$1: exit codes$codes" >&2
		return 1
	fi
}

@test "every tool reads FILE, --in PATH, file:PATH, PATH.gz and - alike" {
	same_input sre-bus
	[ -s "$T/out.stdin" ]
	diff -u "$F/bus/events.ndjson" "$T/out.gz-file"
	same_input sre-bus --raw
	same_input sre-cag
	same_input sre-guard --dry-run
	same_input sre-escalate
	same_input sre-curate
	same_input sre-replay
	same_input sre-logmine --input json
	same_input sre-scout --warmup 0
	# sre-jules: an operand is one more recording, as -e is.
	run -0 --separate-stderr sre-jules --no-store --no-report \
	    -e "$T/ev.ndjson"
	want=$output
	run -0 --separate-stderr sre-jules --no-store --no-report \
	    "$T/ev.ndjson.gz"
	[ "$output" = "$want" ]
}

@test "sre-scout reads the gzip fixture as FILE: its golden output" {
	run_to_files sre-scout --warmup 30s -w 5s --min-samples 5 \
	    --topology 8 "$F/scout/small.ndjson.gz"
	[ "$status" -eq 0 ]
	diff -u "$F/scout/small.expected" "$T/out"
}

@test "a bare path with a ':' is a file; an unknown scheme is not" {
	cp "$T/ev.ndjson" "$T/a:b.ndjson"
	run -0 --separate-stderr sre-bus --in "$T/a:b.ndjson"
	diff -u "$F/bus/events.ndjson" <(printf '%s\n' "$output")
	run -78 --separate-stderr sre-bus --in "nosuch://host/x"
	[[ $stderr == *"unsupported bus scheme 'nosuch'"* ]]
	# Errors name the file as given, with the line.
	printf '{"v":1}\n' > "$T/bad.ndjson"
	run -65 --separate-stderr sre-bus "$T/bad.ndjson"
	[[ $stderr == "sre-bus: $T/bad.ndjson:1: "* ]]
}

@test "FILE and --in together, two FILEs, a missing FILE" {
	run -64 --separate-stderr sre-scout --in "$T/ev.ndjson" "$T/ev.ndjson"
	[[ $stderr == *"give either FILE or --in, not both"* ]]
	run -64 --separate-stderr sre-guard "$T/ev.ndjson" "$T/ev.ndjson"
	[[ $stderr == *"unexpected argument: $T/ev.ndjson"* ]]
	run -66 --separate-stderr sre-scout "$T/missing.ndjson"
	[[ $stderr == *"missing.ndjson: No such file or directory"* ]]
	run -66 --separate-stderr sre-escalate --state-dir "$T/st" "$T/no.gz"
	[[ $stderr == *"no.gz: No such file or directory"* ]]
	# A command name stays a command; ./name is the file.
	run -64 --separate-stderr sre-curate frobnicate
	[[ $stderr == *"unknown command: frobnicate"* ]]
	cp "$T/ev.ndjson" "$T/report"
	run --separate-stderr sh -c 'cd "$1" && sre-curate --state-dir st \
	    ./report' _ "$T"
	[[ $stderr != *"unknown command"* ]]
	[ -d "$T/st" ]
}

@test "a truncated .gz: the lines before the damage, then exit 74" {
	for i in $(seq 1 3000); do
		printf '{"v":1,"type":"anomaly","id":"a%d","ts_ms":%d,"source":"t","incident":"i","service":"s","signal":"errors","score":%d}\n' \
		    "$i" "$((1700000000000 + i))" "$i"
	done | gzip -c > "$T/full.gz"
	head -c 4000 "$T/full.gz" > "$T/cut.gz"
	run -74 --separate-stderr sre-bus "$T/cut.gz"
	[[ $stderr == *"gzip: unexpected end of file"* ]]
	[ "${#lines[@]}" -gt 0 ]
	[ "${#lines[@]}" -lt 3000 ]
}

@test "pretty-printed OTLP (the official example): one hint, then jq -c works" {
	jq . "$F/otlp/trace.ndjson" > "$T/pretty.json"
	[ "$(head -1 "$T/pretty.json")" = "{" ]
	run -65 --separate-stderr sre-scout "$T/pretty.json"
	[ "$(grep -c 'hint:' <<< "$stderr")" -eq 1 ]
	[[ $stderr == *"sre-scout: $T/pretty.json:1: hint: this looks like pretty-printed JSON"* ]]
	[[ $stderr == *"jq -c . FILE"* ]]
	# The tools of the event loop say the same, through the stream.
	run -65 --separate-stderr sre-replay "$T/pretty.json"
	[ "$(grep -c 'hint:' <<< "$stderr")" -eq 1 ]
	run -65 --separate-stderr sre-bus --raw "$T/pretty.json"
	[ "$(grep -c 'hint:' <<< "$stderr")" -eq 1 ]
	# A bad line that is not pretty-printed JSON gets no hint.
	run -65 --separate-stderr sre-bus --raw <<< 'not json at all'
	[[ $stderr != *"hint:"* ]]
	# As the hint says:
	jq -c . "$T/pretty.json" > "$T/compact.ndjson"
	run -0 --separate-stderr sre-scout "$T/compact.ndjson"
	[[ $stderr != *"hint:"* ]]
	run -0 --separate-stderr sre-replay "$T/compact.ndjson"
	diff -u "$F/otlp/trace.ndjson" <(printf '%s\n' "$output")
}

@test "durations: one parser, rounded to the millisecond, bounds said" {
	run -64 --separate-stderr sre-scout --window 999ms
	[[ $stderr == *"--window 999ms: not a duration of at least 1s"* ]]
	# 0.9995s rounds to 1000 ms: a window of one second is allowed.
	run -0 --separate-stderr sre-scout --window 0.9995s < /dev/null
	run -64 --separate-stderr sre-serve --timeout 2h
	[[ $stderr == *"--timeout 2h: not a duration from 1s to 1h"* ]]
	run -64 --separate-stderr sre-replay --max-gap 1w
	[[ $stderr == *"--max-gap 1w: not a duration (such as"* ]]
	run -64 --separate-stderr sre-scout --hold many
	[[ $stderr == *"--hold many: invalid; want a whole number from 0 to 1000"* ]]
	run -64 --separate-stderr sre-scout --sample 0
	[[ $stderr == *"--sample 0: want a number above 0, at most 1"* ]]
}
