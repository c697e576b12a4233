#!/usr/bin/env bats
# Every field of every kind of line, given every wrong shape: no tool ends
# on a signal, none reports a sanitizer error, and every tool exits with
# one of its documented codes (0, or 65 with each bad line named).

load ../helper
load ../helpers/gitops.sh

# mutants SRC...: for each object line of SRC, each member (and each
# member of a nested object) replaced by each wrong value, one line each.
mutants() {
	python3 - "$@" <<'PY'
import json, sys
bad = [None, True, 0, -1, 1.5, 1e308, -1e308, "", "x" * 5000, "\u0000\u2028",
       [], [None], {}, {"a": [{}]}, "../../etc/passwd", 9007199254740993]
def emit(o):
    sys.stdout.write(json.dumps(o, allow_nan=False) + "\n")
for path in sys.argv[1:]:
    for line in open(path):
        try:
            o = json.loads(line)
        except ValueError:
            continue
        if not isinstance(o, dict):
            continue
        for k in list(o):
            for v in bad:
                m = dict(o); m[k] = v; emit(m)
            if isinstance(o[k], dict):
                for k2 in list(o[k]):
                    for v in bad:
                        m = json.loads(line); m[k][k2] = v; emit(m)
            if isinstance(o[k], list) and o[k] and isinstance(o[k][0], dict):
                for k2 in list(o[k][0]):
                    for v in bad:
                        m = json.loads(line); m[k][0][k2] = v; emit(m)
            m = dict(o); del m[k]; emit(m)
PY
}

setup() {
	make_repo
	M=$BATS_TEST_TMPDIR/mutants.ndjson
	{ mutants "$FIXTURES/curate/stream.ndjson" "$FIXTURES/brain/pool.ndjson" \
	    "$FIXTURES/otlp/trace.ndjson" "$FIXTURES/otlp/metrics.ndjson" \
	    "$FIXTURES/otlp/logs.ndjson"
	  printf '%s\n' '{"ts_ms":1700000000000,"metric":"m","value":1,"labels":{"service":"a"}}' |
	      mutants /dev/stdin; } > "$M.raw"
	# And the control events among them signed, so that the tools that
	# verify them look further (sre-bus drops what is no event: 65).
	sign_events < "$M.raw" > "$M.signed" 2> /dev/null || true
	cat "$M.raw" "$M.signed" > "$M"
	[ "$(wc -l < "$M.signed")" -gt 1000 ]
}

@test "wrong shapes in every field: no tool ends on a signal" {
	bad=0
	for cmd in "sre-bus" "sre-scout" "sre-cag" "sre-brain --no-llm" \
	    "sre-guard --repo $WORK" "sre-fix --repo $WORK --dry-run" \
	    "sre-escalate" "sre-curate" "sre-logmine" "sre-replay"; do
		rc=0
		# shellcheck disable=SC2086 # words of cmd
		timeout 120 $cmd --state-dir "$STATE" < "$M" > /dev/null \
		    2> "$BATS_TEST_TMPDIR/err" || rc=$?
		check_sanitizers "$BATS_TEST_TMPDIR/err"
		case $rc in
		0|65) ;;
		*) echo "[$cmd] exit $rc"; tail -3 "$BATS_TEST_TMPDIR/err"
		   bad=$((bad + 1));;
		esac
	done
	echo "$(wc -l < "$M") lines through 10 tools"
	[ "$bad" -eq 0 ]
}
