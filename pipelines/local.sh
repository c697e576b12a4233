#!/bin/sh
# pipelines/local.sh: the SRE-Space loop on pipes, on embedded defaults.
#
#   telemetry | pipelines/local.sh > events.ndjson
#
# Reads telemetry (OTLP/JSON lines as the OpenTelemetry Collector's file
# exporter writes them, plain metric points, `journalctl -o json' lines)
# on standard input, or from $SRE_IN, and runs the loop
#
#   sre-scout | sre-cag | sre-brain | sre-guard | sre-fix | sre-escalate
#
# writing every event it says (anomaly, diagnosis, verdict, action, ...)
# on standard output.  Beside the loop: sre-curate keeps each incident in
# the store, writes its Markdown post-mortem under $SRE_STATE_DIR/
# postmortems/ and its postmortem event to $SRE_POSTMORTEMS; sre-govern
# watches the memory of the loop (this script and everything it started),
# publishes governor.json, which the tools follow, and feeds its samples
# to the store (a second sre-curate on the same store, as sre-curate(1)
# allows), so that `sre-curate report' has resource figures.  Nothing but
# pipes, a local directory and a git repository: no bus, no LLM, no GitHub
# unless the environment turns them on (see sre(7)).
#
# Examples, from the top of a checkout after `make':
#
#   # a scratch GitOps repository with a bare remote
#   git init -q --bare -b main /tmp/remote.git
#   git clone -q /tmp/remote.git /tmp/gitops
#   cp -R examples/gitops/. /tmp/gitops/ && git -C /tmp/gitops add -A &&
#       git -C /tmp/gitops -c user.name=me -c user.email=me@localhost \
#       commit -qm initial && git -C /tmp/gitops push -q origin main
#
#   # the marketplace live, reading its desired state from the checkout;
#   # the loop fixes what goes wrong with commits merged into main of
#   # /tmp/remote.git (stop it with ^C)
#   touch /tmp/chaos.env
#   examples/marketplace/sre-marketplace --live --logs \
#       --control /tmp/chaos.env --gitops /tmp/gitops |
#       SRE_GITOPS_REPO=/tmp/gitops SRE_AUTO_MERGE=1 \
#       SRE_STATE_DIR=/tmp/sre pipelines/local.sh > /tmp/events.ndjson
#   # in another terminal, once sre-scout has learned (2 min): exhaust the
#   # pool of db-policy; then see the fix on main, and pull it as a CD
#   # agent would, which ends the fault
#   echo 'fault=pool culprit=db-policy' > /tmp/chaos.env
#   git -C /tmp/remote.git log --oneline main
#   git -C /tmp/gitops pull -q
#
#   # a recording, ten times faster than it was made, a branch per fix
#   gzip -dc examples/traces/pool.ndjson.gz |
#       bin/sre-replay --speed 10 --rebase-time |
#       SRE_GITOPS_REPO=/tmp/gitops SRE_STATE_DIR=/tmp/sre-replay \
#       pipelines/local.sh | jq -c 'select(.type == "action")'
#
# Environment (every one optional):
#
#   SRE_IN             where telemetry comes from: a bus URL of sre-bus(1)
#                      (default -, standard input)
#   SRE_GITOPS_REPO    the GitOps checkout: the valid targets and replica
#                      counts for sre-guard, and the repository sre-fix
#                      changes (default: the current directory)
#   SRE_FIX_REPO       the repository sre-fix changes, when it is not
#                      $SRE_GITOPS_REPO: a path or a URL (cloned into the
#                      state directory)
#   SRE_AUTO_MERGE     1: merge each fix into the base branch
#                      (sre-fix --auto-merge); default: a branch per fix
#   SRE_STATE_DIR      the state: the store, post-mortems, governor.json,
#                      sre-fix's worktrees (default ./.sre)
#   SRE_POSTMORTEMS    where the postmortem events go (default
#                      $SRE_STATE_DIR/postmortems.ndjson)
#   SRE_TAIL           1: write the events in plain lines (sre-tail(1))
#                      instead of JSON, for a person watching
#   SRE_LOG_DIR        a directory for each tool's standard error, as
#                      NAME.log (default: this script's standard error)
#   SRE_POLICY         the policy of sre-guard, sre-policy(5), whose config
#                      keys and replica bounds sre-fix holds to as well
#                      (default: the built-in one,
#                      examples/policies/default.yaml)
#   SRE_WEBHOOK_URL    where sre-escalate posts (default: escalations are
#                      written on standard error)
#   MEMORY_THRESHOLD_MB, ENV
#                      the governor's budget and the profile (local or
#                      cloud), as sre(7) says
#   OPENAI_API_KEY, GITHUB_PERSONAL_ACCESS_TOKEN
#                      turn on the LLM of sre-brain and the pull requests
#                      of sre-fix
#   SRE_SCOUT_OPTS, SRE_CAG_OPTS, SRE_BRAIN_OPTS, SRE_GUARD_OPTS,
#   SRE_FIX_OPTS, SRE_ESCALATE_OPTS, SRE_CURATE_OPTS, SRE_GOVERN_OPTS
#                      more options for each tool, split on blanks, such
#                      as SRE_SCOUT_OPTS='-w 5s --warmup 30s'
#
# The tools are taken from PATH, else from the bin/ of this checkout.
# The loop ends at the end of its input, or on SIGINT or SIGTERM (each
# tool finishes the line in hand).  Exit status: that of the first tool of
# the loop that did not exit 0 (sysexits, as sre(7) lists them), else 0;
# 70 when the loop could not be set up, 73 when a directory cannot be made.

set -u
here=$(cd "$(dirname "$0")" && pwd) || exit 70
command -v sre-scout >/dev/null 2>&1 || PATH=$here/../bin:$PATH
for t in sre-scout sre-cag sre-brain sre-guard sre-fix sre-escalate \
    sre-curate sre-govern; do
	command -v "$t" >/dev/null 2>&1 ||
	    { echo "local.sh: $t not found: run make first" >&2; exit 70; }
done
[ "${SRE_TAIL:-0}" != 1 ] || command -v sre-tail >/dev/null 2>&1 ||
    { echo "local.sh: sre-tail not found: run make first" >&2; exit 70; }

SRE_STATE_DIR=${SRE_STATE_DIR:-.sre}
export SRE_STATE_DIR
mkdir -p "$SRE_STATE_DIR" || exit 73
in=${SRE_IN:--}
repo=${SRE_GITOPS_REPO:-.}
fixrepo=${SRE_FIX_REPO:-$repo}
pm=${SRE_POSTMORTEMS:-$SRE_STATE_DIR/postmortems.ndjson}
logdir=${SRE_LOG_DIR:-}
merge=
[ "${SRE_AUTO_MERGE:-0}" = 1 ] && merge=--auto-merge
# Word splitting of the *_OPTS is wanted: they are lists of options.
scout_opts=${SRE_SCOUT_OPTS:-} cag_opts=${SRE_CAG_OPTS:-}
brain_opts=${SRE_BRAIN_OPTS:-} guard_opts=${SRE_GUARD_OPTS:-}
fix_opts=${SRE_FIX_OPTS:-} escalate_opts=${SRE_ESCALATE_OPTS:-}
curate_opts=${SRE_CURATE_OPTS:-} govern_opts=${SRE_GOVERN_OPTS:-}

# log NAME: where tool NAME's standard error goes.
log() {
	if [ -n "$logdir" ]; then
		printf '%s/%s.log' "$logdir" "$1"
	else
		printf /dev/stderr
	fi
}
[ -z "$logdir" ] || mkdir -p "$logdir" || exit 73

run=$(mktemp -d "${TMPDIR:-/tmp}/sre-local.XXXXXX") || exit 70
curate='' gcurate=''
cleanup() {
	# The memory reads to the end of its input first; then the governor
	# stops, and its sre-curate after it.
	[ -z "$curate" ] || wait "$curate"
	[ -s "$run/govern.pid" ] && kill "$(cat "$run/govern.pid")" 2>/dev/null
	[ -z "$gcurate" ] || wait "$gcurate"
	wait
	rm -rf "$run"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
mkfifo "$run/events" || exit 70

# The memory: every event of the loop, and the governor's samples.
# shellcheck disable=SC2086
sre-curate $curate_opts -o "file:$pm" < "$run/events" \
    2>>"$(log sre-curate)" &
curate=$!
# shellcheck disable=SC2086
{
	sre-govern --pid $$ $govern_opts 2>>"$(log sre-govern)" &
	echo $! > "$run/govern.pid"
	wait
} | sre-curate $curate_opts -o "file:$pm" 2>>"$(log sre-curate)" &
gcurate=$!

# view: how the events reach standard output, as JSON or, with SRE_TAIL=1,
# in plain lines.
view() {
	if [ "${SRE_TAIL:-0}" = 1 ]; then
		sre-tail
	else
		cat
	fi
}

# stage NAME COMMAND...: run a tool of the loop, note its exit status
# (the shell keeps only the last one of a pipeline).
stage() {
	_name=$1
	shift
	"$@"
	echo "$_name $?" >> "$run/status"
}

# The loop.
# shellcheck disable=SC2086
stage sre-scout sre-scout -i "$in" $scout_opts 2>>"$(log sre-scout)" |
    stage sre-cag sre-cag $cag_opts 2>>"$(log sre-cag)" |
    stage sre-brain sre-brain $brain_opts 2>>"$(log sre-brain)" |
    stage sre-guard sre-guard --repo "$repo" $guard_opts \
	2>>"$(log sre-guard)" |
    stage sre-fix sre-fix --repo "$fixrepo" $merge $fix_opts \
	2>>"$(log sre-fix)" |
    stage sre-escalate sre-escalate $escalate_opts \
	2>>"$(log sre-escalate)" |
    tee "$run/events" | view

rc=0
for t in sre-scout sre-cag sre-brain sre-guard sre-fix sre-escalate; do
	s=$(sed -n "s/^$t //p" "$run/status" 2>/dev/null)
	if [ "${s:-0}" -ne 0 ] && [ "$rc" -eq 0 ]; then
		echo "local.sh: $t exited $s" >&2
		rc=$s
	fi
done
exit "$rc"
