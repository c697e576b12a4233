/*
 * narrate.h: events (sre-events(7)) in plain words, for people.
 *
 * sre-tail prints every event of a stream as one or a few lines through
 * sre_narrate_event(); the demo's narrator (examples/demo/narrate) builds
 * its story from the same pieces.  Nothing here judges an event: a field
 * that is missing or of the wrong kind prints as "?".
 */
#ifndef SRE_NARRATE_H
#define SRE_NARRATE_H

#include <stddef.h>
#include <jq.h>

/* "850 ms" or "12.3 s" for a duration in ms, in buf.  Returns buf. */
const char *sre_narrate_dur(double ms, char *buf, size_t len);

/* A value of a signal in its unit: "12.5%" (errors, a ratio), "850 ms"
 * (latency), "3.2/s" (throughput), else 3 significant digits. */
const char *sre_narrate_value(const char *signal, double v, char *buf,
    size_t len);

/* HH:MM:SS of an epoch time in ms, local time (TZ). */
const char *sre_narrate_clock(int64_t ms, char *buf, size_t len);

/* The strings of the array member key of obj (borrowed), joined by sep,
 * in buf ("" when missing). */
const char *sre_narrate_joined(jv obj, const char *key, const char *sep,
    char *buf, size_t len);

/* The proposal of an event (borrowed) as "rollback quote-api
 * {"to":"1.3.4"}", in buf. */
const char *sre_narrate_proposal(jv ev, char *buf, size_t len);

/* Called once per line said; line is NUL-terminated, without a newline,
 * and borrowed for the call. */
typedef void (*sre_say_fn)(void *ctx, const char *line);

/*
 * Say one event (borrowed) in plain lines, each starting with the event's
 * time (HH:MM:SS): the anomaly with its observed value and baseline, the
 * recovery, the root cause with its confidence, reason and proposal, the
 * verdict with the rules that fired, the commit or pull request, the
 * escalation, the post-mortem with its MTTR, the governor's mode, an
 * audit finding, an error.  Topology events say nothing unless verbose.
 * Control characters of the event's strings (terminal escapes) are said
 * as blanks.  Returns the number of lines said (0 for a line that is not
 * an event).
 */
int sre_narrate_event(jv ev, int verbose, sre_say_fn say, void *ctx);

#endif
