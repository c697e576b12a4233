# tests/serve.bash: what the sre-serve suites share (load serve, after
# load helper): a server on a free loopback port, stopped by its pid, and
# curl wrappers.  Every wait is bounded.

F=$FIXTURES/serve
OTLP=/work/shared/data/otlp/opentelemetry-proto/examples
[ -d "$OTLP" ] || OTLP=$FIXTURES/otlp

setup() {
	cd "$BATS_TEST_TMPDIR" || exit 1
	SERVE_PID=
}

teardown() {
	[ -z "$SERVE_PID" ] || kill -KILL "$SERVE_PID" 2>/dev/null || true
}

# serve_start [ARGS...]: sre-serve on a free port, stdout to ./out, stderr
# to ./err; sets SERVE_PID, PORT and URL once it listens (at most 5 s).
serve_start() {
	: > err
	sre-serve -l 127.0.0.1:0 --state-dir st "$@" > "${SERVE_OUT:-out}" \
	    2> err 3>&- &
	SERVE_PID=$!
	for _ in $(seq 100); do
		PORT=$(sed -n 's/^sre-serve: listening on 127.0.0.1:\([0-9]*\)$/\1/p' err)
		[ -n "$PORT" ] && break
		kill -0 "$SERVE_PID" 2>/dev/null || break
		sleep 0.05
	done
	[ -n "$PORT" ] || { cat err >&2; return 1; }
	URL=http://127.0.0.1:$PORT
}

# serve_stop: SIGTERM, wait at most 10 s, expect exit 0 and no sanitizer.
serve_stop() {
	kill -TERM "$SERVE_PID"
	for _ in $(seq 200); do
		kill -0 "$SERVE_PID" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$SERVE_PID" 2>/dev/null; then
		echo "sre-serve did not stop" >&2
		return 1
	fi
	local rc=0
	wait "$SERVE_PID" || rc=$?
	SERVE_PID=
	check_sanitizers err
	[ "$rc" -eq "${1:-0}" ] || { echo "exit $rc" >&2; cat err >&2; return 1; }
}

# post PATH CONTENT-TYPE FILE [CURL ARGS...]: the status code in $code, the
# body in ./body, the headers in ./headers.
post() {
	local path=$1 ct=$2 file=$3
	shift 3
	code=$(curl -sS -m 10 -o body -D headers -w '%{http_code}' \
	    -H "Content-Type: $ct" --data-binary @"$file" "$@" "$URL$path")
}

get() {
	local path=$1
	shift
	code=$(curl -sS -m 10 -o body -D headers -w '%{http_code}' "$@" \
	    "$URL$path")
}

# free_port: a loopback TCP port nobody listens on now.
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
