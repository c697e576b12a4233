#!/bin/sh
# pipelines/bus.sh: the SRE-Space loop over bus topics, each tool its own
# process, reading one topic through a consumer group and writing the next.
# pipelines/redis.sh and pipelines/kafka.sh call it with their bus.
#
#   SRE_BUS=redis://127.0.0.1:6379 pipelines/bus.sh [-n]
#
# The topics, under the prefix $SRE_TOPICS (default sre.), and the tool
# between each two, as sre(7) lists them:
#
#   sre.telemetry  -> sre-scout (group scout, $SRE_SCOUTS instances)
#   sre.anomalies  -> sre-cag (group cag)
#   sre.cag        -> sre-brain (group brain)
#   sre.diagnoses  -> sre-guard (group guard)
#   sre.verdicts   -> sre-fix (group fix)
#   sre.actions    -> sre-escalate (group escalate)
#   sre.events     <- every event of the loop; sre-curate (group curate)
#                     keeps them in the store and writes post-mortems
#
# Telemetry goes into sre.telemetry from sre-serve(1) (its --out), from an
# OpenTelemetry Collector's Kafka exporter, or from sre-bus(1):
#
#   sre-bus --out redis://127.0.0.1:6379/sre.telemetry < traces.ndjson
#
# and every event of the loop can be read from sre.events:
#
#   sre-bus --in 'redis://127.0.0.1:6379/sre.events?group=me'
#
# Each tool here is what sre-tool@.service runs as a unit of its own; the
# script is the same loop on one machine, for trying it or for a host that
# runs it whole.  Several sre-scout instances in one group split the
# telemetry by service (each series judged by one); the stages after it
# run as one instance each, so that an incident seen by several scouts is
# joined there (sre(7), "Buses").
#
#   -n   print the commands, one per line, and run nothing
#
# Environment: SRE_BUS (required: redis://HOST:PORT or kafka://HOST:PORT),
# SRE_TOPICS (the prefix, default sre.), SRE_SCOUTS (1 to 64, default 1),
# SRE_GITOPS_REPO, SRE_FIX_REPO, SRE_AUTO_MERGE, SRE_STATE_DIR, SRE_POLICY,
# SRE_POSTMORTEMS, SRE_LOG_DIR and the SRE_*_OPTS of pipelines/local.sh,
# which mean the same here.  Paths and options are split on blanks.
#
# The tools are taken from PATH, else from the bin/ of this checkout.  It
# runs until SIGINT or SIGTERM, which it passes to every tool (each
# finishes the line in hand and acknowledges its input); then it exits
# with the status of the first tool that did not exit 0, else 0.  A tool
# that ends by itself (its bus gone past retry=: 69) ends the loop too.
# 64: usage (SRE_BUS missing or not redis:// or kafka://, a bad
# SRE_SCOUTS); 70: the loop could not be set up; 73: a directory cannot
# be made.

set -u
here=$(cd "$(dirname "$0")" && pwd) || exit 70
dry=0
case ${1:-} in
-n) dry=1 ;;
'') ;;
*) echo "usage: bus.sh [-n]" >&2; exit 64 ;;
esac
bus=${SRE_BUS:-}
case $bus in
redis://?*|kafka://?*) bus=${bus%/} ;;
*)	echo "bus.sh: SRE_BUS must be redis://HOST:PORT or kafka://HOST:PORT" \
	    "(got '${SRE_BUS:-}')" >&2
	exit 64 ;;
esac
case $bus in
*://*/*) echo "bus.sh: SRE_BUS is the server only, without a topic" \
	    "(got '$bus')" >&2; exit 64 ;;
esac
scouts=${SRE_SCOUTS:-1}
case $scouts in
''|*[!0-9]*) echo "bus.sh: SRE_SCOUTS must be 1 to 64" >&2; exit 64 ;;
esac
if [ "$scouts" -lt 1 ] || [ "$scouts" -gt 64 ]; then
	echo "bus.sh: SRE_SCOUTS must be 1 to 64" >&2
	exit 64
fi
p=${SRE_TOPICS:-sre.}
command -v sre-scout >/dev/null 2>&1 || PATH=$here/../bin:$PATH
for t in sre-scout sre-cag sre-brain sre-guard sre-fix sre-escalate \
    sre-curate; do
	command -v "$t" >/dev/null 2>&1 ||
	    { echo "bus.sh: $t not found: run make first" >&2; exit 70; }
done
SRE_STATE_DIR=${SRE_STATE_DIR:-.sre}
export SRE_STATE_DIR
repo=${SRE_GITOPS_REPO:-.}
logdir=${SRE_LOG_DIR:-}
merge=
[ "${SRE_AUTO_MERGE:-0}" = 1 ] && merge=--auto-merge
policy=
[ -z "${SRE_POLICY:-}" ] || policy="--policy $SRE_POLICY"

# src TOPIC GROUP [CONSUMER]: the URL a stage reads.  Redis names each
# consumer (default: the host name, shared by every scout here).
src() {
	case $bus in
	redis://*) printf '%s/%s%s?group=%s&consumer=%s' "$bus" "$p" "$1" \
	    "$2" "${3:-$2}" ;;
	*) printf '%s/%s%s?group=%s' "$bus" "$p" "$1" "$2" ;;
	esac
}
dst() { printf '%s/%s%s' "$bus" "$p" "$1"; }

# The stages, one per line: NAME, then the command (options from the
# environment split on blanks, as in local.sh).
stages() {
	i=1
	while [ "$i" -le "$scouts" ]; do
		echo "sre-scout sre-scout --in $(src telemetry scout scout-$i)" \
		    "--out $(dst anomalies) ${SRE_SCOUT_OPTS:-}"
		i=$((i + 1))
	done
	echo "sre-cag sre-cag --in $(src anomalies cag) --out $(dst cag)" \
	    "${SRE_CAG_OPTS:-}"
	echo "sre-brain sre-brain --in $(src cag brain) --out $(dst diagnoses)" \
	    "${SRE_BRAIN_OPTS:-}"
	echo "sre-guard sre-guard --in $(src diagnoses guard)" \
	    "--out $(dst verdicts) --repo $repo $policy ${SRE_GUARD_OPTS:-}"
	echo "sre-fix sre-fix --in $(src verdicts fix) --out $(dst actions)" \
	    "--repo ${SRE_FIX_REPO:-$repo} $merge $policy ${SRE_FIX_OPTS:-}"
	echo "sre-escalate sre-escalate --in $(src actions escalate)" \
	    "--out $(dst events) ${SRE_ESCALATE_OPTS:-}"
	echo "sre-curate sre-curate --in $(src events curate)" \
	    "-o file:${SRE_POSTMORTEMS:-$SRE_STATE_DIR/postmortems.ndjson}" \
	    "${SRE_CURATE_OPTS:-}"
}

if [ "$dry" -eq 1 ]; then
	# Quoted as a shell would need them: the URLs hold ? and &.
	stages | cut -d' ' -f2- |
	    sed -e "s| \(--in\) \([^ ]*\)| \1 '\2'|" \
	        -e "s| \(--out\) \([^ ]*\)| \1 '\2'|" -e 's/ *$//'
	exit 0
fi
mkdir -p "$SRE_STATE_DIR" || exit 73
[ -z "$logdir" ] || mkdir -p "$logdir" || exit 73
run=$(mktemp -d "${TMPDIR:-/tmp}/sre-bus.XXXXXX") || exit 70

# Start each stage, its standard error in its log.
stages > "$run/stages"
pids=''
while read -r name cmd; do
	if [ -n "$logdir" ]; then err=$logdir/$name.log; else err=/dev/stderr; fi
	# Word splitting of cmd is wanted: it is a list of words made above
	# from URLs, paths and the *_OPTS lists.
	# shellcheck disable=SC2086
	$cmd > /dev/null 2>>"$err" &
	pids="$pids $!:$name"
done < "$run/stages"
rm -rf "$run"

# Run until a signal comes or a stage ends by itself; then stop them all.
stopping=0
trap 'stopping=1' INT TERM
alive() {
	for e in $pids; do
		kill -0 "${e%%:*}" 2>/dev/null || return 1
	done
}
while [ "$stopping" -eq 0 ] && alive; do
	sleep 1 &
	wait $! 2>/dev/null || true
done
for e in $pids; do
	kill -TERM "${e%%:*}" 2>/dev/null
done
rc=0
for e in $pids; do
	while :; do
		wait "${e%%:*}"
		s=$?
		# A signal trapped while waiting returns early: wait again.
		kill -0 "${e%%:*}" 2>/dev/null || break
	done
	if [ "$s" -ne 0 ] && [ "$rc" -eq 0 ]; then
		echo "bus.sh: ${e#*:} exited $s" >&2
		rc=$s
	fi
done
exit "$rc"
