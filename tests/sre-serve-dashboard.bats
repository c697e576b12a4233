#!/usr/bin/env bats
# sre-serve's dashboard in headless Chromium (Debian), driven over the
# DevTools protocol by tests/js/dashboard.js: it loads with no console
# error, shows the store's incidents and the reliability metrics, and an
# incident injected through the API afterwards appears without a reload.
# The screenshot is kept as build/sre-serve-dashboard.png.

load helper
load serve

setup() {
	cd "$BATS_TEST_TMPDIR" || exit 1
	SERVE_PID=
	CURATE_PID=
	command -v chromium >/dev/null ||
	    skip "chromium (Debian package) is not installed"
	command -v node >/dev/null ||
	    skip "node (Debian nodejs) is not installed"
	node --experimental-websocket -e 'new WebSocket("ws://127.0.0.1:1").onerror = () => {}' 2>/dev/null ||
	    skip "this node has no WebSocket client (Node 20.10 or later has one)"
}

teardown() {
	[ -z "$SERVE_PID" ] || kill -KILL "$SERVE_PID" 2>/dev/null || true
	[ -z "$CURATE_PID" ] || kill -TERM "$CURATE_PID" 2>/dev/null || true
}

@test "the dashboard loads cleanly, shows incidents and metrics, and follows /events" {
	# A store with the curate fixture's incidents; then the live loop:
	# sre-serve's output into sre-curate (through a) and back as its
	# events (through b).
	sre-curate --timeout 600 --state-dir st < "$FIXTURES/curate/stream.ndjson" > /dev/null
	mkfifo a b
	# The reader first: its open of a waits for sre-serve's.
	tee b < a 2>/dev/null | sre-curate --state-dir st > curated 2> curate.err 3>&- &
	CURATE_PID=$!
	SERVE_OUT=/dev/null serve_start -o file:a -i file:b \
	    --dashboard "$SRE_ROOT/share/dashboard"
	mkdir -p "$SRE_ROOT/build"
	shot=$SRE_ROOT/build/sre-serve-dashboard.png
	rm -f "$shot"
	run --separate-stderr timeout 90 node --experimental-websocket \
	    "$SRE_ROOT/tests/js/dashboard.js" "$URL/" "$shot"
	[ "$status" -eq 0 ] &&
	    [ -z "$(printf '%s' "$stderr" | grep -v '^dashboard: warning:')" ] ||
	    { echo "exit $status: $stderr"; false; }
	[ "$(printf '%s' "$output" | jq -r '.after')" -ge 6 ]
	text=$(printf '%s' "$output" | jq -r .text)
	[[ $text == *"inc-1"*"auto_resolved"* ]]
	[[ $text == *"abc1234"* ]]
	[[ $text == *"recovered in 25.0 s"* ]]
	[[ $text == *"25.0 s"* ]]
	[[ $text == *"checkout CheckoutErrors"* ]]
	[ "$(head -c 8 "$shot" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]
	serve_stop
	wait "$CURATE_PID"
	CURATE_PID=
	# The injected alert reached the store through sre-curate.
	run -0 --separate-stderr sre-curate report --json --state-dir st
	[ "$(printf '%s' "$output" | jq .incidents)" -eq 6 ]
}
