# tests/helpers/gitops.sh: fixtures shared by the sre-guard, sre-fix and
# sre-escalate suites (load helpers/gitops.sh after helper).
#
#   make_repo          $WORK: a clone of tests/fixtures/fix/repo with two
#                      commits (the second bumps quote-api 1.3.4 -> 1.4.0),
#                      pushed to the bare remote $REMOTE
#   diag ID INC ACTION TARGET PARAMS [CONF] [FP] [TS]   a diagnosis line
#   verdict ID INC ACTION TARGET PARAMS [TS] [DECISION] a verdict line,
#                      after the diagnosis D-INC it follows
#   Both are signed with the tests' control key (sign_events); a test that
#   changes one afterwards signs it again, or means it to be refused.
#   start_hub [ARGS]   start tests/helpers/fakehub.py; sets $HUB, $HUB_LOG
#   stop_hub           (teardown calls it)
#   tree_sum DIR       a checksum of every file and link under DIR

# shellcheck disable=SC2034,SC2154 # (variables set for, and by, bats)
# Git must not read the developer's configuration, nor prompt.
export HOME=$BATS_TEST_TMPDIR/home
mkdir -p "$HOME"
export GIT_CONFIG_NOSYSTEM=1 GIT_TERMINAL_PROMPT=0
export GIT_AUTHOR_NAME=Fixture GIT_AUTHOR_EMAIL=fixture@example.com
export GIT_COMMITTER_NAME=Fixture GIT_COMMITTER_EMAIL=fixture@example.com
unset GIT_DIR GIT_WORK_TREE http_proxy https_proxy HTTP_PROXY HTTPS_PROXY \
    ALL_PROXY all_proxy no_proxy NO_PROXY GITHUB_PERSONAL_ACCESS_TOKEN \
    GITHUB_REPOSITORY GITHUB_API_URL SRE_GITOPS_REPO SRE_POLICY \
    SRE_WEBHOOK_URL SENDMAIL
# Retries back off from 50 ms, so the failure tests stay quick.
export SRE_HTTP_BACKOFF_MS=50
STATE=$BATS_TEST_TMPDIR/state
TOKEN=ghp_FAKEtoken0123456789abcdefSECRET

make_repo() {
	REMOTE=$BATS_TEST_TMPDIR/remote.git
	WORK=$BATS_TEST_TMPDIR/work
	cp -R "$FIXTURES/fix/repo" "$WORK"
	git init -q -b main "$WORK"
	git -C "$WORK" add -A
	git -C "$WORK" commit -q -m "initial: three services"
	sed -i 's/quote-api:1\.3\.4/quote-api:1.4.0/' \
	    "$WORK/services/quote-api/deployment.yaml"
	git -C "$WORK" commit -q -a -m "quote-api 1.4.0"
	git init -q --bare -b main "$REMOTE"
	git -C "$WORK" remote add origin "$REMOTE"
	git -C "$WORK" push -q origin main
}

# diag ID INCIDENT ACTION TARGET PARAMS [CONFIDENCE] [FINGERPRINT] [TS]
diag() {
	jq -cn --arg id "$1" --arg inc "$2" --arg a "$3" --arg t "$4" \
	    --argjson p "$5" --argjson c "${6:-0.88}" --arg fp "${7:-fp-$2}" \
	    --argjson ts "${8:-1700000001000}" '{v:1, type:"diagnosis", id:$id,
	    incident:$inc, ts_ms:$ts, source:"sre-brain",
	    root_causes:[{service:$t, operation:"GET /quote", score:0.91,
	    reason:"self time rose, callees healthy"}], confidence:$c,
	    summary:("\($t) is unwell"), proposal:{action:$a, target:$t,
	    params:$p}, memory:[], fingerprint:$fp}' | sign_events
}

# verdict ID INCIDENT ACTION TARGET PARAMS [TS] [DECISION]
verdict() {
	local ts=${6:-1700000001100}

	diag "D-$2" "$2" "$3" "$4" "$5" 0.9 "fp-$2" "$((ts - 100))"
	jq -cn --arg id "$1" --arg inc "$2" --arg a "$3" --arg t "$4" \
	    --argjson p "$5" --argjson ts "$ts" \
	    --arg d "${7:-approve}" '{v:1, type:"verdict", id:$id,
	    incident:$inc, ts_ms:$ts, source:"sre-guard", decision:$d,
	    reasons:["within policy"], rules:["default"],
	    proposal:{action:$a, target:$t, params:$p}, diagnosis:"D-\($inc)",
	    fingerprint:"fp-\($inc)", confidence:0.9,
	    summary:"\($t) is unwell", root_causes:[{service:$t,
	    operation:"GET /quote", score:0.9, reason:"errors since the deploy"}]}' |
	    sign_events
}

recovery() {	# recovery ID INCIDENT TS
	jq -cn --arg id "$1" --arg inc "$2" --argjson ts "$3" '{v:1,
	    type:"recovery", id:$id, incident:$inc, ts_ms:$ts,
	    source:"sre-scout", service:"quote-api", operation:"GET /quote",
	    fingerprint:"fp-\($inc)"}'
}

# tick TS: events that only move the event clock, up to TS.  A tool takes
# no event more than 5 minutes ahead of its clock and of the wall clock
# (SRE_NOW here), so event time passes as a live stream passes it: one
# event every 4 minutes from SRE_NOW on.
tick() {
	jq -cn --argjson now "$SRE_NOW" --argjson ts "$1" '
	    [range($now + 240000; $ts; 240000)] + [$ts] | .[] |
	    {v:1, type:"x-tick", id:"tick-\(.)", ts_ms:., source:"test"}'
}

start_hub() {
	HUB_LOG=$BATS_TEST_TMPDIR/hub.log
	: > "$HUB_LOG"
	rm -f "$BATS_TEST_TMPDIR/hub.port"
	python3 "$SRE_ROOT/tests/helpers/fakehub.py" \
	    --port-file "$BATS_TEST_TMPDIR/hub.port" --log "$HUB_LOG" \
	    --token "$TOKEN" "$@" 3>&- &
	HUB_PID=$!
	for _ in $(seq 100); do
		[ -s "$BATS_TEST_TMPDIR/hub.port" ] && break
		sleep 0.05
	done
	HUB=http://127.0.0.1:$(cat "$BATS_TEST_TMPDIR/hub.port")
}

stop_hub() {
	if [ -n "${HUB_PID:-}" ]; then
		kill "$HUB_PID" 2>/dev/null || true
		wait "$HUB_PID" 2>/dev/null || true
		HUB_PID=
	fi
}

tree_sum() {
	(cd "$1" && find . -path ./.git -prune -o \( -type f -o -type l \) \
	    -print0 | sort -z | xargs -0 sha256sum)
}

# The lines of $output (stdout of the last run) of one event type.
of_type() {
	printf '%s\n' "$output" | jq -c --arg t "$1" 'select(.type == $t)'
}
