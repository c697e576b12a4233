#!/usr/bin/env bats
# sre-escalate: verdicts that escalate and failed actions reach people.

load helper
load helpers/gitops.sh

setup() {
	E=(sre-escalate --state-dir "$STATE")
	# A sendmail that keeps what it was given.
	MAILBOX=$BATS_TEST_TMPDIR/mailbox
	cat > "$BATS_TEST_TMPDIR/sendmail" <<-EOF
	#!/bin/sh
	printf '%s\n' "\$*" >> "$MAILBOX.argv"
	cat >> "$MAILBOX"
	EOF
	chmod +x "$BATS_TEST_TMPDIR/sendmail"
}

teardown() {
	stop_hub
}

escalations() {
	printf '%s\n' "$output" | jq -c 'select(.type == "escalation")'
}

esc() {	# esc ID INCIDENT [TS]: a verdict that escalates
	verdict "$1" "$2" restart db-policy '{}' "${3:-1700000001100}" escalate |
	    jq -c 'select(.type == "verdict") |
	    .reasons = ["databases are changed by people"]' | sign_events
}

@test "--help, --version, bad options and tiers" {
	run -0 --separate-stderr sre-escalate --help
	[[ $output == "usage: sre-escalate "* ]]
	run -0 --separate-stderr sre-escalate --version
	[[ $output =~ ^sre-escalate\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
	run -64 --separate-stderr sre-escalate --bogus
	run -64 --separate-stderr "${E[@]}" --tier 5m
	[[ $stderr == *"want DELAY:CHANNEL"* ]]
	run -64 --separate-stderr "${E[@]}" --tier 0:pager
	[[ $stderr == *"unknown channel 'pager'"* ]]
	run -64 --separate-stderr "${E[@]}" --tier 0:webhook
	[[ $stderr == *"webhook without --webhook"* ]]
	run -64 --separate-stderr "${E[@]}" --tier 10m:stderr --tier 5m:stderr
	run -64 --separate-stderr "${E[@]}" --webhook ftp://example/x
	run -64 --separate-stderr "${E[@]}" --mail '-oQ/tmp/x@example.com'
	run -64 --separate-stderr "${E[@]}" ack
	run -64 --separate-stderr "${E[@]}" ack a b
}

@test "a verdict that escalates: a notice on stderr and an escalation event" {
	v=$(esc V1 inc-1)
	run -0 --separate-stderr "${E[@]}" < <(tick 1; echo "$v")
	[ "$(printf '%s\n' "$output" | sed -n 1,2p)" = "$(tick 1; echo "$v")" ]
	e=$(escalations)
	[ "$(jq -c '[.incident, .channel, .delivered, .tier, .reason, .trigger, .source]' <<< "$e")" = \
	    '["inc-1","stderr",true,0,"verdict escalate: databases are changed by people","V1","sre-escalate"]' ]
	[ "$stderr" = "sre-escalate: SRE-Space: incident inc-1 needs a human (tier 0): verdict escalate: databases are changed by people" ]
	sre-bus <<< "$e" > /dev/null
	assert_no_sanitizer
}

@test "failed and reverted actions escalate; approvals and other events do not" {
	f=$(jq -cn '{v:1,type:"action",id:"A1",incident:"inc-1",ts_ms:1700000002000,source:"sre-fix",status:"failed",repo:"r",branch:null,commit:null,pr_url:null,detail:"git push: denied"}')
	r=$(jq -cn '{v:1,type:"action",id:"A2",incident:"inc-2",ts_ms:1700000002000,source:"sre-fix",status:"reverted",repo:"r",branch:"sre/inc-2",commit:"abc",pr_url:null,detail:"no recovery within 10m"}')
	ok=$(jq -cn '{v:1,type:"action",id:"A3",incident:"inc-3",ts_ms:1700000002000,source:"sre-fix",status:"committed",repo:"r",branch:"b",commit:"c",pr_url:null,detail:"d"}')
	# reverted, the loop going on with the next remedy: no human yet
	nx=$(jq -cn '{v:1,type:"action",id:"A5",incident:"inc-5",ts_ms:1700000002000,source:"sre-fix",status:"reverted",repo:"r",branch:"sre/inc-5",commit:"abc",pr_url:null,detail:"no recovery within 1m: reverted abc; the loop tries the next remedy",next:true}')
	run -0 --separate-stderr "${E[@]}" < <({ echo "$f"; echo "$r"; echo "$ok"; echo "$nx"; } | sign_events; verdict V4 inc-4 restart quote-api '{}' | jq -c 'select(.type == "verdict")')
	[ "$(escalations | jq -r '"\(.incident): \(.reason)"')" = "$(printf 'inc-1: action failed: git push: denied\ninc-2: fix reverted: no recovery within 10m')" ]
	[ "$(printf '%s\n' "$output" | jq -r 'select(.type != "escalation") | .id' | tr '\n' ' ')" = "A1 A2 A3 A5 V4 " ]
}

@test "one notice per incident per interval" {
	run -0 --separate-stderr "${E[@]}" --interval 30m < <(
	    esc V1 inc-1 1700000000000
	    esc V2 inc-1 1700000600000
	    esc V1 inc-1 1700000600000
	    esc V3 inc-2 1700000600000)
	[ "$(escalations | jq -r .incident | tr '\n' ' ')" = "inc-1 inc-2 " ]
	# After the interval, a new report is a new notice; across a restart.
	run -0 --separate-stderr "${E[@]}" --interval 30m < <(tick 1700001900000; esc V4 inc-1 1700001900000)
	[ "$(escalations | jq -r .trigger)" = V4 ]
}

@test "webhook: a Slack-compatible JSON POST, retried with backoff" {
	start_hub --hook-fail 2
	run -0 --separate-stderr "${E[@]}" --webhook "$HUB/hook" < <(esc V1 inc-1)
	[ "$(escalations | jq -c '[.channel, .delivered]' | tr '\n' ' ')" = '["stderr",true] ["webhook",true] ' ]
	[ "$(jq -r 'select(.path == "/hook") | .method' "$HUB_LOG" | wc -l)" -eq 3 ]
	b=$(jq -c 'select(.path == "/hook") | .body' "$HUB_LOG" | tail -1)
	[ "$(jq -r .text <<< "$b")" = "SRE-Space: incident inc-1 needs a human (tier 0): verdict escalate: databases are changed by people" ]
	[ "$(jq -c '[.incident, .tier, .source]' <<< "$b")" = '["inc-1",0,"sre-escalate"]' ]
	[ "$(jq -r 'select(.path == "/hook") | .content_type' "$HUB_LOG" | sort -u)" = application/json ]
}

@test "webhook down: delivered false, the stream goes on, the URL's secret path is not shown" {
	start_hub --hook-fail 99
	run -0 --separate-stderr "${E[@]}" --webhook "$HUB/hook?token=s3cret" < <(esc V1 inc-1; esc V2 inc-2)
	[ "$(escalations | jq -c 'select(.channel == "webhook") | .delivered' | tr '\n' ' ')" = "false false " ]
	[[ $stderr == *"webhook: http://127.0.0.1:"*": HTTP 500 after 4 attempts"* ]]
	[[ $stderr != *s3cret* ]]
	stop_hub
	run -0 --separate-stderr "${E[@]}" --state-dir "$BATS_TEST_TMPDIR/s2" --webhook "$HUB/hook" < <(esc V3 inc-3)
	[ "$(escalations | jq -c 'select(.channel == "webhook") | .delivered')" = false ]
}

@test "mail through sendmail: the address as an argument, the notice on stdin" {
	run -0 --separate-stderr "${E[@]}" --mail oncall@example.com --sendmail "$BATS_TEST_TMPDIR/sendmail" < <(esc V1 inc-1)
	[ "$(escalations | jq -c '[.channel, .delivered]' | tr '\n' ' ')" = '["stderr",true] ["mail",true] ' ]
	[ "$(cat "$MAILBOX.argv")" = "-oi -- oncall@example.com" ]
	grep -x 'To: oncall@example.com' "$MAILBOX"
	grep -x 'Subject: \[sre\] incident inc-1 needs a human' "$MAILBOX"
	grep -x 'SRE-Space: incident inc-1 needs a human (tier 0): verdict escalate: databases are changed by people' "$MAILBOX"
	# A sendmail that fails: not delivered, reported.
	printf '#!/bin/sh\necho "no route" >&2\nexit 75\n' > "$BATS_TEST_TMPDIR/sendmail"
	run -0 --separate-stderr "${E[@]}" --mail oncall@example.com --sendmail "$BATS_TEST_TMPDIR/sendmail" < <(esc V2 inc-2)
	[ "$(escalations | jq -c 'select(.channel == "mail") | .delivered')" = false ]
	[[ $stderr == *"mail: $BATS_TEST_TMPDIR/sendmail exited 75: no route"* ]]
	# An incident id cannot add mail headers.
	printf '#!/bin/sh\ncat > "%s"\n' "$MAILBOX.3" > "$BATS_TEST_TMPDIR/sendmail"
	run -0 --separate-stderr "${E[@]}" --state-dir "$BATS_TEST_TMPDIR/s3" --mail oncall@example.com --sendmail "$BATS_TEST_TMPDIR/sendmail" < <(esc V3 $'inc-3\nBcc: evil@example.com')
	grep -x 'Subject: \[sre\] incident inc-3 Bcc: evil@example.com needs a human' "$MAILBOX.3"
	! grep '^Bcc:' "$MAILBOX.3"
}

@test "tiers: the next tier goes out when nobody acknowledged in time" {
	start_hub
	T=(--webhook "$HUB/hook" --mail oncall@example.com --sendmail "$BATS_TEST_TMPDIR/sendmail" --tier 0:stderr --tier 15m:webhook --tier 45m:mail)
	run -0 --separate-stderr "${E[@]}" "${T[@]}" < <(esc V1 inc-1 1700000000000; esc V2 inc-2 1700000000000; tick 1700000600000)
	[ "$(escalations | jq -r '"\(.incident) \(.tier) \(.channel)"' | tr '\n' ',')" = "inc-1 0 stderr,inc-2 0 stderr," ]
	# Event time passes 15 minutes (after a restart: the store remembers).
	run -0 --separate-stderr "${E[@]}" "${T[@]}" < <(tick 1700000960000)
	[ "$(escalations | jq -r '"\(.incident) \(.tier) \(.channel) \(.delivered)"' | tr '\n' ',')" = "inc-1 1 webhook true,inc-2 1 webhook true," ]
	# A human takes inc-1: only inc-2 goes on to the mail tier.
	run -0 --separate-stderr "${E[@]}" --by alice ack inc-1
	run -0 --separate-stderr "${E[@]}" "${T[@]}" < <(tick 1700002760000)
	[ "$(escalations | jq -r '"\(.incident) \(.tier) \(.channel)"' | tr '\n' ',')" = "inc-2 2 mail," ]
	[ "$(grep -c '^Subject:' "$MAILBOX")" -eq 1 ]
	grep -x 'Subject: \[sre\] incident inc-2 needs a human' "$MAILBOX"
}

@test "a recovery closes the escalation: no later tier" {
	run -0 --separate-stderr "${E[@]}" --tier 0:stderr --tier 15m:stderr < <(
	    esc V1 inc-1 1700000000000
	    recovery R1 inc-1 1700000300000
	    tick 1700001000000)
	[ "$(escalations | jq -r .tier | tr '\n' ' ')" = "0 " ]
}

@test "ack records who acknowledged; an incident nobody knows is 66" {
	run -66 --separate-stderr "${E[@]}" --by alice ack nonexistent-incident
	[[ $stderr == *"ack: no incident 'nonexistent-incident'"* ]]
	[ -z "$output" ]
	run -0 --separate-stderr "${E[@]}" < <(esc V2 inc-2)
	[ "$(escalations | jq -r .incident)" = inc-2 ]
	run -0 --separate-stderr "${E[@]}" -v --by bob ack inc-2
	[[ $stderr == *"inc-2: acknowledged by bob"* ]]
	[ -z "$output" ]
	# one sre-curate recorded is known too
	sre-curate --state-dir "$STATE" < <(esc V3 inc-3) > /dev/null 2>&1
	run -0 --separate-stderr "${E[@]}" --by carol ack inc-3
}

@test "bad lines are reported and skipped" {
	run -65 --separate-stderr "${E[@]}" < <(echo '{oops'; esc V1 inc-1)
	[ "$(escalations | jq -r .incident)" = inc-1 ]
	[[ $stderr == *"sre-escalate: line 1: not JSON"* ]]
	assert_no_sanitizer
}

@test "a missing input file exits 66; a full disk exits 74" {
	run -66 --separate-stderr "${E[@]}" --in file:/nonexistent/events.ndjson
	[ -w /dev/full ] || skip "no /dev/full"
	esc V1 inc-1 > "$BATS_TEST_TMPDIR/in"
	run -74 --separate-stderr "${E[@]}" --in "file:$BATS_TEST_TMPDIR/in" --out file:/dev/full
}
