#!/usr/bin/env bats
# systemd/ and examples/cron: the units as installed, checked by
# systemd-analyze verify where it is available and by a small parser
# everywhere; the crontab's jobs run as cron would run them.

load helper

UNITS=$SRE_ROOT/systemd
J=$FIXTURES/jules

setup() {
	ROOT=$BATS_TEST_TMPDIR/root
	STATE=$BATS_TEST_TMPDIR/state
	mkdir -p "$STATE"
}

# make install-systemd into a temporary root, with the tools the units run.
install_units() {
	make -s -C "$SRE_ROOT" install-systemd PREFIX="$ROOT/usr" \
	    UNITDIR="$ROOT/units" > "$BATS_TEST_TMPDIR/make.out" 2>&1 ||
	    { cat "$BATS_TEST_TMPDIR/make.out"; return 1; }
	mkdir -p "$ROOT/usr/bin" "$ROOT/usr/share/sre/pipelines"
	for t in sre-govern sre-jules sre-bus sre-serve; do
		cp "$SRE_BIN/bin/$t" "$ROOT/usr/bin/"
	done
	# The pipelines are someone else's; stand one in if none is there.
	p=$ROOT/usr/share/sre/pipelines/local.sh
	[ -f "$p" ] || printf '#!/bin/sh\nexec sre-bus\n' > "$p"
}

# Every setting of a unit file as "Section.Key=Value"; "BAD line" for a
# line that is neither a comment, a section nor a setting.
keys() {
	awk '/^[ \t]*([#;]|$)/ { next }
	    /^\[[A-Za-z]+\]$/ { sec = substr($0, 2, length($0) - 2); next }
	    { i = index($0, "="); if (i < 2) { print "BAD " $0; next }
	      print sec "." substr($0, 1, i - 1) "=" substr($0, i + 1) }' "$1"
}

# The value of Section.Key in a unit (the last one when repeated).
key() {
	keys "$1" | sed -n "s/^$2=//p" | tail -1
}

services() {
	ls "$UNITS"/*.service
}

@test "every unit parses: known sections, Key=Value settings" {
	n=0
	for u in "$UNITS"/*.service "$UNITS"/*.timer "$UNITS"/*.target "$UNITS"/*.slice; do
		n=$((n + 1))
		bad=$(keys "$u" | grep -v -E '^(Unit|Service|Install|Timer|Slice)\.[A-Za-z]+=' || true)
		[ -z "$bad" ] || { echo "$u: $bad"; false; }
		[ -n "$(key "$u" Unit.Description)" ]
	done
	[ "$n" -eq 8 ]
	for u in sre.target sre.slice sre-pipeline@.service sre-tool@.service \
	    sre-govern.service sre-jules.service sre-jules.timer \
	    sre-serve.service; do
		[ -f "$UNITS/$u" ]
	done
}

@test "services are hardened, run as one dynamic user, and hold the 512 MB budget" {
	for u in $(services); do
		for kv in Service.DynamicUser=yes Service.User=sre Service.Group=sre \
		    Service.NoNewPrivileges=yes Service.ProtectSystem=strict \
		    Service.ProtectHome=yes Service.PrivateTmp=yes \
		    Service.StateDirectory=sre Service.MemoryMax=512M \
		    Service.Slice=sre.slice Service.CapabilityBoundingSet=; do
			keys "$u" | grep -qxF -- "$kv" || { echo "$u: no $kv"; false; }
		done
		keys "$u" | grep -qE '^Service\.Environment=(.* )?SRE_STATE_DIR=/var/lib/sre( |$)'
		keys "$u" | grep -qxF 'Service.EnvironmentFile=-/etc/sre/sre.env'
		if [ "$(key "$u" Service.Type)" != oneshot ]; then
			# a pipeline is restarted when its input ends too
			want=on-failure
			case $u in *sre-pipeline@*) want=always;; esac
			[ "$(key "$u" Service.Restart)" = "$want" ]
			[ "$(key "$u" Service.RestartPreventExitStatus)" = "64 78" ]
		fi
	done
	[ "$(key "$UNITS/sre.slice" Slice.MemoryMax)" = 512M ]
	[ "$(key "$UNITS/sre-jules.service" Service.Type)" = oneshot ]
}

@test "sre.target pulls in the audit timer; the timer runs sre-jules hourly" {
	[[ $(key "$UNITS/sre.target" Unit.Wants) == *sre-jules.timer* ]]
	[ "$(key "$UNITS/sre.target" Install.WantedBy)" = multi-user.target ]
	[ "$(key "$UNITS/sre-jules.timer" Timer.OnCalendar)" = hourly ]
	[ "$(key "$UNITS/sre-jules.timer" Timer.Unit)" = sre-jules.service ]
	[ "$(key "$UNITS/sre-jules.timer" Timer.Persistent)" = true ]
	[[ $(key "$UNITS/sre-jules.timer" Install.WantedBy) == *timers.target* ]]
	for u in sre-pipeline@.service sre-tool@.service sre-govern.service; do
		[ "$(key "$UNITS/$u" Unit.PartOf)" = sre.target ]
		[ "$(key "$UNITS/$u" Install.WantedBy)" = sre.target ]
	done
	# The pipeline runs under the governor; a tool unit reads and writes
	# the bus URLs of its instance's EnvironmentFile.
	[[ $(key "$UNITS/sre-pipeline@.service" Service.ExecStart) == \
	    *"exec /usr/local/bin/sre-govern -- /bin/sh /usr/local/share/sre/pipelines/%i.sh'" ]]
	[ "$(key "$UNITS/sre-tool@.service" Service.ExecStart)" = \
	    '/usr/local/bin/%i --in ${SRE_IN} --out ${SRE_OUT} $SRE_ARGS' ]
	keys "$UNITS/sre-tool@.service" | grep -qxF 'Service.EnvironmentFile=/etc/sre/%i.env'
}

@test "the EnvironmentFile example sets the seed's variables, and a tool's bus URLs" {
	for v in OPENAI_API_KEY GITHUB_PERSONAL_ACCESS_TOKEN MEMORY_THRESHOLD_MB \
	    MAX_LLM_CONCURRENCY ENV SRE_STATE_DIR; do
		grep -qE "^#?$v=" "$UNITS/sre.env" || { echo "no $v"; false; }
	done
	# KEY=VALUE lines only (systemd reads no shell).
	[ -z "$(grep -vE '^(#.*|[A-Z_]+=[^ ]*)?$' "$UNITS/sre.env")" ]
	[ "$(sed -n 's/^SRE_STATE_DIR=//p' "$UNITS/sre.env")" = /var/lib/sre ]
	grep -qE '^SRE_IN=(redis|kafka)://[^/]+:[0-9]+/[^?]+\?group=' "$UNITS/sre-tool.env"
	grep -qE '^SRE_OUT=(redis|kafka)://[^/]+:[0-9]+/' "$UNITS/sre-tool.env"
}

@test "make install-systemd: units under UNITDIR, paths under PREFIX, files that exist" {
	install_units
	[ "$(ls "$ROOT/units" | wc -l)" -eq 8 ]
	[ -f "$ROOT/usr/share/sre/dashboard/index.html" ]
	[ -z "$(grep -r /usr/local "$ROOT/units" || true)" ]
	[ "$(stat -c %a "$ROOT/usr/share/sre/sre.env")" = 600 ]
	[ -f "$ROOT/usr/share/sre/sre-tool.env" ]
	for u in "$ROOT"/units/*.service; do
		inst=local
		case $u in *sre-tool@*) inst=sre-bus;; esac
		cmd=$(key "$u" Service.ExecStart)
		cmd=${cmd//%i/$inst}
		set -- $cmd
		[ -x "$1" ] || { echo "$u: $1 is not executable"; false; }
		for w; do
			w=${w%\'}
			case $w in "$ROOT"/*) [ -e "$w" ] || { echo "$u: no $w"; false; };; esac
		done
	done
	make -s -C "$SRE_ROOT" uninstall-systemd PREFIX="$ROOT/usr" UNITDIR="$ROOT/units"
	[ -z "$(ls "$ROOT/units")" ]
}

@test "systemd-analyze verify passes on the installed units" {
	command -v systemd-analyze > /dev/null ||
	    skip "systemd-analyze is not installed (it comes with systemd)"
	install_units
	# Documentation=man: pages are looked up too: ours, installed here.
	manopt=--man=no
	if command -v man > /dev/null; then
		mkdir -p "$ROOT/man/man1" "$ROOT/man/man7"
		cp "$SRE_ROOT"/man/*.1 "$ROOT/man/man1/"
		cp "$SRE_ROOT"/man/*.7 "$ROOT/man/man7/"
		manopt=--man=yes
	fi
	cd "$ROOT/units"
	run -0 env MANPATH="$ROOT/man" systemd-analyze verify "$manopt" \
	    "$ROOT/units/sre.target" "$ROOT/units/sre.slice" \
	    "$ROOT/units/sre-jules.timer" "$ROOT/units/sre-jules.service" \
	    "$ROOT/units/sre-govern.service" "$ROOT/units/sre-serve.service" \
	    "$ROOT/units/sre-pipeline@local.service" \
	    "$ROOT/units/sre-tool@sre-bus.service"
	[ -z "$output" ]
	# It does look: a tool that is not installed fails.
	run ! env MANPATH="$ROOT/man" systemd-analyze verify --man=no \
	    "$ROOT/units/sre-tool@sre-nope.service"
	[[ $output == *"sre-nope"* ]]
}

@test "sre-pipeline@local refuses to start without SRE_IN (78, not restarted); with it, the pipeline runs" {
	install_units
	u=$ROOT/units/sre-pipeline@local.service
	cp "$ROOT/units/sre-pipeline@.service" "$u"
	[ "$(key "$u" Service.EnvironmentFile)" = /etc/sre/pipeline-%i.env ]
	[ "$(key "$u" Service.Restart)" = always ]
	[[ " $(key "$u" Service.RestartPreventExitStatus) " == *" 78 "* ]]
	[ -f "$ROOT/usr/share/sre/pipeline.env" ]
	grep -q '^SRE_IN=' "$ROOT/usr/share/sre/pipeline.env"
	# The command line as systemd makes it: %i, and $$ for $.
	cmd=$(key "$u" Service.ExecStart)
	cmd=${cmd//%i/local}
	cmd=${cmd//\$\$/\$}
	[[ $cmd == "/bin/sh -c '"*"'" ]]
	script=${cmd#/bin/sh -c \'}
	script=${script%\'}
	run -78 env -i PATH=/usr/bin:/bin sh -c "$script"
	[[ $output == *"sre-pipeline@local: no input: set SRE_IN"* ]]
	run -78 env -i PATH=/usr/bin:/bin SRE_IN=- sh -c "$script"
	# With an input (here an empty file), the pipeline runs under the
	# governor and ends when its input does.
	git init -q "$STATE/gitops"
	run -0 env -i PATH="$SRE_BIN/bin:/usr/bin:/bin" SRE_STATE_DIR="$STATE" \
	    SRE_IN=file:/dev/null SRE_GITOPS_REPO="$STATE/gitops" \
	    timeout 60 sh -c "$script"
	[[ $output == *'"type":"governor"'* ]]
}

@test "sre-jules.service's command line runs as the unit would run it" {
	install_units
	u=$ROOT/units/sre-jules.service
	declare -A env
	while IFS= read -r line; do
		for kv in $line; do env[${kv%%=*}]=${kv#*=}; done
	done < <(key "$u" Service.Environment; keys "$u" | sed -n 's/^Service\.Environment=//p')
	env[SRE_JULES_ARGS]="--no-store --events $J/events.ndjson"
	cmd=$(key "$u" Service.ExecStart)
	for k in "${!env[@]}"; do
		v=${env[$k]//\/var\/lib\/sre/$STATE}
		cmd=${cmd//\$\{$k\}/$v}
		cmd=${cmd//\$$k/$v}
	done
	[[ $cmd != *'$'* ]]
	set -- $cmd
	run -0 env -i SRE_NOW=$SRE_NOW SRE_SEED=1 SRE_STATE_DIR="$STATE" "$@"
	[ "$(jq -r .type "$STATE/audit.ndjson" | sort -u)" = audit ]
	[ -s "$STATE/audits/latest.md" ]
}

@test "examples/cron/crontab: valid times, and each job runs as cron would run it" {
	tab=$SRE_ROOT/examples/cron/crontab
	# The state a host would have: a store, a GitOps checkout, a recording.
	sign_events < "$J/events.ndjson" | SRE_STATE_DIR=$STATE sre-curate > /dev/null 2>&1
	cp -r "$J/gitops" "$STATE/gitops"
	cp "$J/events.ndjson" "$STATE/events.ndjson"
	path=$(sed -n 's/^PATH=//p' "$tab")
	[ -n "$path" ] && [ "$(sed -n 's/^SRE_STATE_DIR=//p' "$tab")" = /var/lib/sre ]
	jobs=0
	while IFS= read -r line; do
		case $line in ''|'#'*|[A-Z]*=*) continue;; esac
		set -f; set -- $line; set +f
		for f in "$1" "$2" "$3" "$4" "$5"; do
			[[ $f =~ ^(\*|[0-9]+)([-/,][0-9]+)*$ ]] || { echo "bad time field $f: $line"; false; }
		done
		[ "$1" = '*' ] || [ "$1" -lt 60 ]
		[ "$2" = '*' ] || [ "$2" -lt 24 ]
		cmd=$(printf '%s\n' "$line" | sed -E 's/^([^ ]+ +){5}//')
		[[ $cmd == sre-jules\ * ]]
		cmd=${cmd//\/var\/lib\/sre/$STATE}
		jobs=$((jobs + 1))
		run -0 env -i SHELL=/bin/sh PATH="$SRE_BIN/bin:$path" SRE_STATE_DIR="$STATE" \
		    SRE_NOW="$SRE_NOW" /bin/sh -c "$cmd"
		assert_no_sanitizer
		case $cmd in
		*--fail-on*) [[ $output == "sre-jules: critical findings; see $STATE/audits/latest.md" ]];;
		*) [ -z "$output" ];;	# quiet: cron mails nothing
		esac
	done < "$tab"
	[ "$jobs" -eq 3 ]
	# The hourly job's findings: the store and the repository.
	[ "$(jq -r .finding "$STATE/audit.ndjson" | wc -l)" -eq 13 ]
	[ -s "$STATE/audits/latest.md" ] && [ -s "$STATE/audits/nightly.md" ]
}
