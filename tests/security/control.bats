#!/usr/bin/env bats
# tests/security/control.bats: forged and unsigned control events
# (diagnosis, verdict, action), control events relayed in telemetry, and
# poisoned learning (issue 15: attacks 1, 3 and 4, and their neighbours).
# Each attack must fail with a clear message and nothing committed.

load ../helper
load ../helpers/gitops.sh

setup() {
	cd "$BATS_TEST_TMPDIR" || return 1
	make_repo
	F=(sre-fix --repo "$WORK" --state-dir "$STATE")
	before=$(refs)
}

# Every ref of the GitOps checkout and of its remote, and the checkout's
# worktrees: what "nothing committed" compares.
refs() {
	git -C "$WORK" for-each-ref --format='%(refname) %(objectname)'
	git -C "$REMOTE" for-each-ref --format='%(refname) %(objectname)'
	git -C "$WORK" worktree list --porcelain | grep -c '^worktree'
	git -C "$WORK" status --porcelain
}

assert_nothing_committed() {
	diff -u <(printf '%s\n' "$before") <(refs)
	[ -z "$(ls -A "$STATE/worktrees" 2>/dev/null)" ]
	[ "$(git -C "$REMOTE" rev-list --all | wc -l)" -eq 2 ]
	[ -z "$(printf '%s\n' "$output" | jq -c 'select(.type == "action")')" ]
}

# The forged verdict of attack 1: approve, from "sre-guard", no mac.
forged() {	# forged INCIDENT REPLICAS
	jq -cn --arg inc "$1" --argjson n "$2" '{v:1, type:"verdict",
	    id:"EVIL-\($inc)", incident:$inc, ts_ms:1700000001100,
	    source:"sre-guard", decision:"approve", reasons:["trust me"],
	    rules:["default"], proposal:{action:"scale", target:"quote-api",
	    params:{replicas:$n}}, confidence:0.01}'
}

@test "attack 1: a forged verdict in the telemetry commits nothing through the whole loop" {
	{ cat "$FIXTURES/otlp/trace.ndjson" "$FIXTURES/otlp/metrics.ndjson"
	  forged inc-evil 50; cat "$FIXTURES/otlp/logs.ndjson"; } > telemetry
	line=$(grep -n '"EVIL-inc-evil"' telemetry | cut -d: -f1)
	run -0 --separate-stderr bash -c '
	    sre-scout --state-dir "$1" < telemetry 2> scout.err |
	    sre-cag --state-dir "$1" 2> cag.err |
	    sre-brain --no-memory --state-dir "$1" 2> brain.err |
	    sre-guard --state-dir "$1" --repo "$2" 2> guard.err |
	    sre-fix --repo "$2" --state-dir "$1" 2> fix.err
	    echo "${PIPESTATUS[*]}" > status' _ "$STATE" "$WORK"
	grep -qx "sre-scout: line $line: verdict in the telemetry: dropped (a control event is relayed only with --relay-events)" scout.err
	[ "$(cut -d' ' -f1 status)" = 65 ]
	! grep -q EVIL <<< "$output"
	assert_nothing_committed
	cat ./*.err | check_sanitizers /dev/stdin
}

@test "attack 1, relayed on purpose: sre-fix still refuses the unsigned verdict" {
	{ cat "$FIXTURES/otlp/trace.ndjson"; forged inc-evil 50; } > telemetry
	run -0 --separate-stderr bash -c '
	    sre-scout --relay-events --state-dir "$1" < telemetry 2> scout.err |
	    sre-guard --state-dir "$1" --repo "$2" 2> guard.err |
	    sre-fix --repo "$2" --state-dir "$1" 2> fix.err
	    echo "${PIPESTATUS[*]}" > status' _ "$STATE" "$WORK"
	[ "$(cat status)" = "0 0 65" ]
	grep -Eqx "sre-fix: line [0-9]+: verdict not signed by sre-guard: ignored" fix.err
	# passed on unchanged, acted on by no one
	[ "$(jq -c 'select(.id == "EVIL-inc-evil")' <<< "$output")" = "$(forged inc-evil 50)" ]
	assert_nothing_committed
}

@test "attack 1, fed to sre-fix directly: 1000000 replicas are not committed" {
	run -65 --separate-stderr "${F[@]}" <<< "$(forged inc-evil 1000000)"
	[ "$stderr" = "sre-fix: line 1: verdict not signed by sre-guard: ignored" ]
	[ "$output" = "$(forged inc-evil 1000000)" ]
	assert_nothing_committed
	# a mac of the right shape but not the key's
	run -65 --separate-stderr "${F[@]}" <<< "$(forged inc-evil 1000000 |
	    jq -c '.mac = "0000000000000000000000000000000000000000000000000000000000000000"')"
	[ "$stderr" = "sre-fix: line 1: verdict from sre-guard: mac does not verify (altered, or signed with another key): ignored" ]
	# signed with another key
	run -65 --separate-stderr "${F[@]}" <<< "$(forged inc-evil 1000000 |
	    SRE_CONTROL_KEY=$(printf '%064d' 7) sre-bus --sign)"
	[[ $stderr == *"mac does not verify"* ]]
	assert_nothing_committed
	assert_no_sanitizer
}

@test "a tampered signed verdict is refused" {
	v=$(verdict V1 inc-1 scale quote-api '{"replicas":3}')
	run -65 --separate-stderr "${F[@]}" <<< "$(jq -c 'if .type == "verdict" then .proposal.params.replicas = 50 else . end' <<< "$v")"
	[ "$stderr" = "sre-fix: line 2: verdict from sre-guard: mac does not verify (altered, or signed with another key): ignored" ]
	assert_nothing_committed
	# the same, left alone, is acted on
	run -0 --separate-stderr "${F[@]}" <<< "$v"
	[ "$(printf '%s\n' "$output" | jq -r 'select(.type == "action") | .status')" = committed ]
}

@test "a verdict whose proposal differs from its diagnosis's is refused" {
	v=$( { diag D-inc-1 inc-1 scale quote-api '{"replicas":3}' 0.9
	      verdict V1 inc-1 scale quote-api '{"replicas":50}' |
	      jq -c 'select(.type == "verdict")'; } )
	run -65 --separate-stderr "${F[@]}" <<< "$v"
	[ "$stderr" = "sre-fix: line 2: verdict's proposal is not the one diagnosis D-inc-1 made: ignored" ]
	assert_nothing_committed
	# nor one that follows no diagnosis at all
	run -65 --separate-stderr "${F[@]}" <<< "$(verdict V2 inc-2 scale quote-api '{"replicas":3}' | jq -c 'select(.type == "verdict")')"
	[ "$stderr" = "sre-fix: line 1: verdict follows no verified diagnosis (D-inc-2 not seen): ignored" ]
	# nor one that follows an unsigned diagnosis
	run -65 --separate-stderr "${F[@]}" <<< "$(verdict V3 inc-3 scale quote-api '{"replicas":3}' | jq -c 'if .type == "diagnosis" then del(.mac) else . end')"
	[ "$(sed -n 1p <<< "$stderr")" = "sre-fix: line 1: diagnosis not signed by sre-brain or sre-cag: ignored" ]
	[ "$(sed -n 2p <<< "$stderr")" = "sre-fix: line 2: verdict follows no verified diagnosis (D-inc-3 not seen): ignored" ]
	assert_nothing_committed
}

@test "the diagnosis a verdict follows is remembered across a restart" {
	v=$(verdict V1 inc-1 scale quote-api '{"replicas":3}')
	run -0 --separate-stderr "${F[@]}" <<< "$(sed -n 1p <<< "$v")"
	run -0 --separate-stderr "${F[@]}" <<< "$(sed -n 2p <<< "$v")"
	[ "$(printf '%s\n' "$output" | jq -r 'select(.type == "action") | .status')" = committed ]
	# in another state directory, the verdict follows nothing
	run -65 --separate-stderr sre-fix --repo "$WORK" --state-dir other <<< "$(verdict V2 inc-2 scale quote-api '{"replicas":3}' | sed -n 2p)"
	[ "$stderr" = "sre-fix: line 1: verdict follows no verified diagnosis (D-inc-2 not seen): ignored" ]
}

@test "a verdict replayed for another incident is refused" {
	v1=$(verdict V1 inc-1 scale quote-api '{"replicas":3}')
	d2=$(diag D-inc-2 inc-2 scale quote-api '{"replicas":3}' 0.9)
	# edited to name the other incident: the mac breaks
	run -65 --separate-stderr "${F[@]}" <<< "$d2
$(sed -n 2p <<< "$v1" | jq -c '.incident = "inc-2" | .diagnosis = "D-inc-2"')"
	[ "$stderr" = "sre-fix: line 2: verdict from sre-guard: mac does not verify (altered, or signed with another key): ignored" ]
	# unchanged, after another incident's diagnosis: no diagnosis of its own
	run -65 --separate-stderr "${F[@]}" <<< "$d2
$(sed -n 2p <<< "$v1")"
	[ "$stderr" = "sre-fix: line 2: verdict follows no verified diagnosis (D-inc-1 not seen): ignored" ]
	# a signed verdict naming a diagnosis of another incident
	run -65 --separate-stderr "${F[@]}" <<< "$d2
$(sed -n 2p <<< "$v1" | jq -c '.diagnosis = "D-inc-2"' | sign_events)"
	[ "$stderr" = "sre-fix: line 2: verdict for incident inc-1 follows a diagnosis of incident inc-2: ignored" ]
	assert_nothing_committed
}

@test "confidence 1.5 or 1e308 is refused, signed or not" {
	for c in 1.5 1e308 -0.5 '"0.9"'; do
		v=$(verdict V1 inc-1 scale quote-api '{"replicas":3}' |
		    jq -c --argjson c "$c" 'if .type == "verdict" then .confidence = $c else . end' | sre-bus --raw --sign)
		run -65 --separate-stderr "${F[@]}" <<< "$v"
		[[ $stderr == "sre-fix: line 2: field 'confidence': want a number from 0 to 1, got "* ]]
		d=$(verdict V2 inc-d scale quote-api '{"replicas":3}' |
		    jq -c --argjson c "$c" 'if .type == "diagnosis" then .confidence = $c else . end' | sre-bus --raw --sign)
		run -65 --separate-stderr "${F[@]}" <<< "$d"
		[[ $(sed -n 1p <<< "$stderr") == "sre-fix: line 1: field 'confidence': want a number from 0 to 1, got "* ]]
		[ "$(sed -n 2p <<< "$stderr")" = "sre-fix: line 2: verdict follows no verified diagnosis (D-inc-d not seen): ignored" ]
	done
	# nor is a verdict without one
	run -65 --separate-stderr "${F[@]}" <<< "$(verdict V1 inc-1 scale quote-api '{"replicas":3}' | jq -c 'del(.confidence)' | sign_events)"
	[ "$stderr" = "sre-fix: line 2: verdict's confidence is not a number from 0 to 1: ignored" ]
	# and sre-guard does not judge such a diagnosis
	run -65 --separate-stderr sre-guard --state-dir "$STATE" <<< "$(diag D1 inc-1 scale quote-api '{"replicas":3}' 1 | jq -c '.confidence = 1e308' | sre-bus --raw --sign)"
	[[ $stderr == "sre-guard: line 1: field 'confidence': want a number from 0 to 1, got "* ]]
	[ -z "$output" ]
	assert_nothing_committed
}

@test "attack 4: no verdict shape aborts sre-fix; the valid verdicts behind it are acted on" {
	shapes=(
	    'del(.rules)' '.rules = "x"' '.rules = {"a":[1]}'
	    '.root_causes = 7' '.root_causes = [1, "x", null]'
	    '.summary = {"a":1}' '.fingerprint = []' '.diagnosis = 5'
	    '.dry_run = "yes"' '.reasons = null'
	    '.proposal.params = []' '.proposal.params.replicas = "3"'
	    '.proposal = "scale"' '.proposal.target = 42')
	i=0
	for s in "${shapes[@]}"; do
		i=$((i + 1))
		verdict V$i inc-$i scale quote-api '{"replicas":3}' |
		    jq -c "if .type == \"verdict\" then $s else . end" |
		    jq -c "if .type == \"diagnosis\" and (\"$s\" | test(\"proposal\")) then $s else . end" |
		    sign_events
	done > shapes
	# unsigned, too: the first shape of the issue, as it came
	verdict V99 inc-99 scale quote-api '{"replicas":3}' |
	    jq -c 'if .type == "verdict" then del(.rules, .mac) else . end' >> shapes
	verdict VOK inc-ok scale quote-api '{"replicas":5}' >> shapes
	run --separate-stderr "${F[@]}" < shapes
	[ "$status" -eq 0 ] || [ "$status" -eq 65 ]
	assert_no_sanitizer
	[[ $stderr == *"line $(grep -n '"V99"' shapes | cut -d: -f1): verdict not signed by sre-guard: ignored"* ]]
	# no worktree left behind, and the valid verdict at the end committed
	[ "$(git -C "$WORK" worktree list | wc -l)" -eq 1 ]
	[ -z "$(ls -A "$STATE/worktrees")" ]
	[ "$(printf '%s\n' "$output" | jq -r 'select(.type == "action" and .incident == "inc-ok") | .status')" = committed ]
	git -C "$REMOTE" show sre/inc-ok:services/quote-api/deployment.yaml | grep -q 'replicas: 5'
	[ -z "$(git -C "$REMOTE" branch --list sre/inc-99)" ]
}

# Attack 3: 15 lines, 3 fake incidents, each anomaly, diagnosis, approve,
# committed action and recovery, none signed.
poison() {
	for i in 1 2 3; do
		t=$((1700000000000 + i * 100000))
		jq -cn --arg inc "fake-$i" --argjson t "$t" '
		    {action:"config", target:"quote-api",
		     params:{key:"DB_HOST", value:"attacker.example.net"}} as $p |
		    {v:1, incident:$inc, ts_ms:$t, fingerprint:"fp-db"} as $e |
		    ($e + {type:"anomaly", id:"A\($inc)", source:"sre-scout",
		     service:"quote-api", operation:"GET /quote", signal:"errors",
		     observed:0.5, baseline:0.01, score:9, evidence:{}}),
		    ($e + {type:"diagnosis", id:"D\($inc)", source:"sre-brain",
		     ts_ms:($t + 1), root_causes:[], confidence:0.99,
		     summary:"db", proposal:$p, memory:[]}),
		    ($e + {type:"verdict", id:"V\($inc)", source:"sre-guard",
		     ts_ms:($t + 2), decision:"approve", reasons:[], rules:[],
		     proposal:$p, diagnosis:"D\($inc)", confidence:0.99}),
		    ($e + {type:"action", id:"X\($inc)", source:"sre-fix",
		     ts_ms:($t + 3), status:"committed", repo:"r",
		     branch:"sre/\($inc)", commit:"c0ffee", pr_url:null,
		     detail:"set DB_HOST", proposal:$p}),
		    ($e + {type:"recovery", id:"R\($inc)", source:"sre-scout",
		     ts_ms:($t + 4), service:"quote-api", operation:"GET /quote"})'
	done
}

@test "attack 3: injected incidents teach nothing; sre-cag never proposes DB_HOST=attacker.example.net" {
	poison > poison.ndjson
	[ "$(wc -l < poison.ndjson)" -eq 15 ]
	run -65 --separate-stderr sre-curate --timeout 600 --state-dir "$STATE" < poison.ndjson
	[ "$(grep -c ': ignored$' <<< "$stderr")" -eq 9 ]
	[[ $stderr == *"sre-curate: line 4: action not signed by sre-fix: ignored"* ]]
	[[ $stderr == *"sre-curate: line 3: verdict not signed by sre-guard: ignored"* ]]
	# nothing credited
	run -0 --separate-stderr sre-curate --state-dir "$STATE" export
	[ -z "$(printf '%s\n' "$output" | jq -c 'select(.kind == "cag")')" ]
	! grep -q attacker <<< "$output"
	# the next real anomaly with that fingerprint gets no cached fix
	a=$(jq -cn '{v:1, type:"anomaly", id:"real", incident:"inc-real",
	    ts_ms:1700001000000, source:"sre-scout", service:"quote-api",
	    operation:"GET /quote", signal:"errors", observed:0.5,
	    baseline:0.01, score:9, fingerprint:"fp-db", evidence:{}}')
	run -0 --separate-stderr sre-cag --state-dir "$STATE" --min-successes 1 <<< "$a"
	[ "$output" = "$a" ]
	# forged macs teach nothing either
	poison | jq -c '.id = "M\(.id)" | .incident = "m\(.incident)" |
	    if .type == "anomaly" or .type == "recovery" then . else
	    .mac = "ab\("0" * 62)" end' > forged.ndjson
	run -65 --separate-stderr sre-curate --timeout 600 --state-dir "$STATE" < forged.ndjson
	[ "$(grep -c 'mac does not verify' <<< "$stderr")" -eq 9 ]
	run -0 --separate-stderr sre-curate --state-dir "$STATE" export
	[ -z "$(printf '%s\n' "$output" | jq -c 'select(.kind == "cag")')" ]
	assert_no_sanitizer
}

@test "a recovery credits a signed fix only for an incident an anomaly opened" {
	# signed diagnosis, verdict and action; no anomaly, then a recovery
	poison | jq -c 'select(.incident == "fake-1" and .type != "anomaly")' |
	    sign_events > unopened.ndjson
	run -0 --separate-stderr sre-curate --timeout 600 --state-dir "$STATE" < unopened.ndjson
	run -0 --separate-stderr sre-curate --state-dir "$STATE" export
	[ -z "$(printf '%s\n' "$output" | jq -c 'select(.kind == "cag")')" ]
	# with its anomaly, signed, it is a verified fix: learned once
	poison | jq -c 'select(.incident == "fake-2")' | sign_events > opened.ndjson
	run -0 --separate-stderr sre-curate --timeout 600 --state-dir "$STATE" < opened.ndjson
	run -0 --separate-stderr sre-curate --state-dir "$STATE" export
	[ "$(printf '%s\n' "$output" | jq -c 'select(.kind == "cag") | .value.successes')" = 1 ]
}

@test "sre-guard judges only signed diagnoses; its verdicts are signed" {
	d=$(diag D1 inc-1 scale quote-api '{"replicas":3}')
	run -65 --separate-stderr sre-guard --state-dir "$STATE" <<< "$(jq -c 'del(.mac)' <<< "$d")"
	[ "$stderr" = "sre-guard: line 1: diagnosis not signed by sre-brain or sre-cag: ignored" ]
	[ "$output" = "$(jq -c 'del(.mac)' <<< "$d")" ]
	run -65 --separate-stderr sre-guard --state-dir "$STATE" <<< "$(jq -c '.source = "sre-scout"' <<< "$d" | sign_events)"
	[ "$stderr" = "sre-guard: line 1: diagnosis from sre-scout, not from sre-brain or sre-cag: ignored" ]
	run -0 --separate-stderr sre-guard --state-dir "$STATE" --repo "$WORK" <<< "$d"
	v=$(printf '%s\n' "$output" | jq -c 'select(.type == "verdict")')
	[[ $(jq -r .mac <<< "$v") =~ ^[0-9a-f]{64}$ ]]
	# what sre-guard signed, sre-fix verifies (with the key file of the
	# state dir when SRE_CONTROL_KEY is not set)
	run -0 --separate-stderr "${F[@]}" <<< "$output"
	[ "$(printf '%s\n' "$output" | jq -r 'select(.type == "action") | .status')" = committed ]
	[[ $(printf '%s\n' "$output" | jq -r 'select(.type == "action") | .mac') =~ ^[0-9a-f]{64}$ ]]
}

@test "the key file: made 0600 on first use, refused when wider or bad (78)" {
	d=$(diag D1 inc-1 scale quote-api '{"replicas":3}')
	unset SRE_CONTROL_KEY
	mkdir -p "$STATE"
	run -65 --separate-stderr sre-guard --state-dir "$STATE" <<< "$d"
	[ "$(stat -c %a "$STATE/control.key")" = 600 ]
	grep -Eqx '[0-9a-f]{64}' "$STATE/control.key"
	[[ $stderr == *"diagnosis from sre-brain: mac does not verify"* ]]
	# an operator with the file's key signs by hand
	run -0 --separate-stderr sre-guard --state-dir "$STATE" --repo "$WORK" < <(jq -c 'del(.mac)' <<< "$d" | sre-bus --sign --state-dir "$STATE")
	[ "$(printf '%s\n' "$output" | jq -r 'select(.type == "verdict") | .decision')" = approve ]
	chmod 644 "$STATE/control.key"
	run -78 --separate-stderr sre-guard --state-dir "$STATE" < /dev/null
	[ "$stderr" = "sre-guard: $STATE/control.key: mode 0644 lets others at the control key (want 0600: chmod 600 $STATE/control.key)" ]
	run -78 --separate-stderr "${F[@]}" < /dev/null
	run -78 --separate-stderr sre-bus --sign --state-dir "$STATE" < /dev/null
	chmod 600 "$STATE/control.key"
	echo nonsense > "$STATE/control.key"
	run -78 --separate-stderr sre-curate --state-dir "$STATE" < /dev/null
	[[ $stderr == *"control.key: not a control key (want 64 hex digits and a newline)"* ]]
	SRE_CONTROL_KEY=abc run -78 --separate-stderr sre-guard --state-dir "$STATE" < /dev/null
	[ "$stderr" = "sre-guard: SRE_CONTROL_KEY: not a control key (want 64 hex digits)" ]
	assert_nothing_committed
}

@test "sre-escalate pages for signed escalations only" {
	e=$(verdict V1 inc-1 restart db-policy '{}' 1700000001100 escalate | jq -c 'select(.type == "verdict")')
	run -65 --separate-stderr sre-escalate --state-dir "$STATE" <<< "$(jq -c 'del(.mac)' <<< "$e")"
	[ "$stderr" = "sre-escalate: line 1: verdict not signed by sre-guard: ignored" ]
	[ -z "$(printf '%s\n' "$output" | jq -c 'select(.type == "escalation")')" ]
	run -0 --separate-stderr sre-escalate --state-dir "$STATE" <<< "$e"
	[ "$(printf '%s\n' "$output" | jq -r 'select(.type == "escalation") | .incident')" = inc-1 ]
}
