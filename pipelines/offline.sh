#!/bin/sh
# pipelines/offline.sh: a recorded trace file through the whole loop,
# changing nothing, to see what the loop would decide and change.
#
#   pipelines/offline.sh [TRACE [TRUTH]]
#
# Runs the recording TRACE (OTLP/JSON lines as the OpenTelemetry
# Collector's file exporter writes them; gzip-compressed when it ends in
# .gz) through
#
#   sre-scout | sre-cag | sre-brain | sre-guard --dry-run | sre-fix --dry-run
#
# as fast as it can be read, and prints, per incident, its first anomaly,
# the diagnosis, the verdict with the rules that fired, and the diff that
# would have been committed.  Nothing is committed, pushed or remembered:
# sre-guard marks its approvals as dry runs (and counts them against no
# limit), sre-fix works each diff out in a worktree and throws it away,
# and the state (the store that sre-cag and sre-guard read) is a fresh
# temporary directory unless SRE_STATE_DIR says otherwise.  Use it to try
# a change to a policy, a detector or the reasoner on known faults before
# it goes live.
#
# TRUTH is the generator's truth file (see examples/marketplace): what the
# fault was, where and when; it is printed first, and a release it names
# is deployed in the scratch GitOps repository before the run, so that
# the repository is as it was when the trace was recorded.  By default,
# TRACE.truth.json next to a TRACE.ndjson[.gz] is used when it exists.
# Without a TRACE, examples/traces/release.ndjson.gz.
#
# Examples, from the top of a checkout after `make':
#
#   pipelines/offline.sh examples/traces/pool.ndjson.gz
#   SRE_POLICY=examples/policies/production.yaml \
#       pipelines/offline.sh examples/traces/saturation.ndjson.gz
#   SRE_SCOUT_OPTS='--threshold 6' SRE_EVENTS=/tmp/events.ndjson \
#       pipelines/offline.sh examples/traces/latency.ndjson.gz
#   for t in examples/traces/*.ndjson.gz; do pipelines/offline.sh "$t"; done
#
# Environment (every one optional):
#
#   SRE_GITOPS_REPO  the GitOps checkout the diffs are worked out in; it is
#                    not changed (default: a scratch repository laid out
#                    from examples/gitops, the recordings' topology)
#   SRE_POLICY       the policy of sre-guard (and sre-fix) under test,
#                    sre-policy(5) (default: the built-in one)
#   SRE_STATE_DIR    the state the tools read (default: a fresh temporary
#                    one); sre-guard records its verdicts there
#   SRE_EVENTS       a file to keep every event of the run in
#   SRE_TAIL         1: print every event of the run in plain lines
#                    (sre-tail(1)) instead of the summary per incident
#   SRE_SCOUT_OPTS, SRE_CAG_OPTS, SRE_BRAIN_OPTS, SRE_GUARD_OPTS,
#   SRE_FIX_OPTS     more options for each tool, split on blanks
#
# The tools are taken from PATH, else from the bin/ of this checkout; jq
# and git are needed.  Exit status: 0 when the loop ran (whatever it
# decided); the exit status of the first tool that failed otherwise (65
# when sre-scout rejected some lines); 66 when TRACE is missing; 70 when
# the run could not be set up.

set -u
here=$(cd "$(dirname "$0")" && pwd) || exit 70
root=$(cd "$here/.." && pwd) || exit 70
command -v sre-scout >/dev/null 2>&1 || PATH=$here/../bin:$PATH
for t in sre-scout sre-cag sre-brain sre-guard sre-fix jq git; do
	command -v "$t" >/dev/null 2>&1 ||
	    { echo "offline.sh: $t not found: run make first" >&2; exit 70; }
done
[ "${SRE_TAIL:-0}" != 1 ] || command -v sre-tail >/dev/null 2>&1 ||
    { echo "offline.sh: sre-tail not found: run make first" >&2; exit 70; }

trace=${1:-$root/examples/traces/release.ndjson.gz}
[ -r "$trace" ] || { echo "offline.sh: $trace: cannot read it" >&2; exit 66; }
truth=${2:-}
if [ -z "$truth" ]; then
	t=${trace%.gz}
	t=${t%.ndjson}.truth.json
	[ -r "$t" ] && truth=$t
fi
if [ -n "$truth" ] && ! jq -e .faults "$truth" >/dev/null 2>&1; then
	echo "offline.sh: $truth: not a truth file" >&2
	exit 66
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sre-offline.XXXXXX") || exit 70
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
SRE_STATE_DIR=${SRE_STATE_DIR:-$tmp/state}
export SRE_STATE_DIR
events=${SRE_EVENTS:-$tmp/events.ndjson}
unset SRE_NOW SRE_SEED

# The scratch GitOps repository, as it was when the trace was recorded.
repo=${SRE_GITOPS_REPO:-}
if [ -z "$repo" ]; then
	repo=$tmp/gitops
	g() {
		git -C "$repo" -c user.name=offline.sh \
		    -c user.email=offline@localhost -c commit.gpgsign=false "$@"
	}
	{
		mkdir -p "$repo" && cp -R "$root/examples/gitops/." "$repo/" &&
		    g init -q -b main && g add -A &&
		    g commit -q -m "examples/gitops"
	} >&2 || exit 70
	if [ -n "$truth" ]; then
		jq -r '.faults[] | select(.kind == "release" and .to_version)
		    | "\(.culprit) \(.from_version) \(.to_version)"' "$truth" |
		while read -r svc from to; do
			f=$repo/services/$svc/deployment.yaml
			[ -f "$f" ] || continue
			sed -i "s|/$svc:$from\$|/$svc:$to|" "$f" &&
			    g commit -q -a -m "$svc $to" >&2
		done
	fi
fi

if [ -n "$truth" ]; then
	jq -r '"truth: " + ([.faults[] | "\(.kind) on \(.culprit)" +
	    (if .operation then " \(.operation)" else "" end) +
	    (if .to_version then " (\(.from_version) -> \(.to_version))"
	     else "" end) + " from " +
	    (.start_ms / 1000 | todate)] | join("; ") |
	    if . == "" then "no fault" else . end)' "$truth"
fi

case $trace in
*.gz) read_trace() { gzip -dc "$trace"; } ;;
*) read_trace() { cat "$trace"; } ;;
esac

# stage NAME COMMAND...: run a tool, note its exit status.
stage() {
	_name=$1
	shift
	"$@"
	echo "$_name $?" >> "$tmp/status"
}

# shellcheck disable=SC2086 # the *_OPTS are lists of options
read_trace | stage sre-scout sre-scout ${SRE_SCOUT_OPTS:-} 2>"$tmp/scout.err" |
    stage sre-cag sre-cag ${SRE_CAG_OPTS:-} 2>>"$tmp/err" |
    stage sre-brain sre-brain --no-llm ${SRE_BRAIN_OPTS:-} 2>>"$tmp/err" |
    stage sre-guard sre-guard --dry-run --repo "$repo" \
	${SRE_GUARD_OPTS:-} 2>>"$tmp/err" |
    stage sre-fix sre-fix --dry-run --repo "$repo" \
	${SRE_FIX_OPTS:-} 2>"$tmp/fix.err" > "$events"

rc=0
for t in sre-scout sre-cag sre-brain sre-guard sre-fix; do
	s=$(sed -n "s/^$t //p" "$tmp/status" 2>/dev/null)
	if [ "${s:-0}" -ne 0 ] && [ "$rc" -eq 0 ]; then
		rc=$s
	fi
done
# Diagnostics worth seeing: the tools' own, not sre-scout's summary.
grep -v '^sre-cag: no store' "$tmp/err" >&2
grep -v '^sre-scout: [0-9]* lines,' "$tmp/scout.err" >&2
# sre-fix --dry-run writes its diffs on standard error: shown below.
[ "$(sed -n 's/^sre-fix //p' "$tmp/status")" = 0 ] || cat "$tmp/fix.err" >&2

if [ "${SRE_TAIL:-0}" = 1 ]; then
	sre-tail "$events" || { [ "$rc" -ne 0 ] || rc=$?; }
	exit "$rc"
fi

# Per incident: the first anomaly, each diagnosis, verdict and diff.
jq -rn '
  def t: (. / 1000 | todate);
  def prop: "\(.action) \(.target)" +
    (if (.params // {}) == {} then "" else " \(.params | tojson)" end);
  [inputs | select(.type != "topology")] |
  (map(select(.type == "anomaly")) | length) as $n |
  (map(select(.incident) | .incident) | unique) as $incs |
  ($incs | length) as $ni |
  . as $ev |
  "\($n) anomalies in \($ni) incident\(if $ni == 1 then "" else "s" end)",
  ($incs[] as $i |
   ($ev | map(select(.incident == $i))) as $e |
   ($e | map(select(.type == "anomaly"))) as $a |
   "",
   "== incident \($i): \($a | length) anomalies from \($a[0].ts_ms | t)",
   "first anomaly: \($a[0].service)" +
     (if $a[0].operation then " \($a[0].operation)" else "" end) +
     " \($a[0].signal): \($a[0].observed) against \($a[0].baseline)" +
     " (score \($a[0].score))",
   ($e[] |
    if .type == "diagnosis" then
      "diagnosis (\(.source)): \(.root_causes[0].service // "?") " +
      "(\(.root_causes[0].kind // "cause")), confidence \(.confidence): " +
      "\(.summary)",
      "proposal: \(.proposal | prop)"
    elif .type == "verdict" then
      "verdict: \(.decision) (rules: \(.rules | join(", ")); " +
      "\(.reasons | join("; ")))"
    elif .type == "action" then
      if .status == "dry_run" and (.diff // "") != "" then
        "would change (\(.detail)):", (.diff | rtrimstr("\n"))
      else "sre-fix: \(.status): \(.detail)" end
    else empty end))
' "$events"
exit "$rc"
