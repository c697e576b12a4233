/*
 * stream.h: the one loop every streaming tool runs.
 *
 *	struct sre_stream s;
 *	if ((ex = sre_stream_open(&s, &common)) != EX_OK)
 *		return ex;
 *	ex = sre_stream_run(&s, on_line, NULL, ctx);
 *
 * The loop reads lines from the input bus and calls on_line for each.  A
 * callback that cannot use a line calls sre_stream_reject(), which reports
 * "sre-NAME: WHERE: message" and counts it; the stream goes on.  Output is
 * written with sre_stream_emit(); it is flushed (and the input acknowledged)
 * whenever the loop would wait for input, so a live pipeline sees every
 * event at once and a file is processed in large writes.
 *
 * Blank lines (spaces, tabs, CRs) are counted and skipped before on_line.
 *
 * Most tools read events, and run the event loop instead: the loop parses
 * each line, checks the envelope (sre_event_check, DESIGN.md) and rejects
 * what fails, so the callback only ever sees a checked event:
 *
 *	static int
 *	on_event(struct sre_stream *s, const struct sre_event_in *e, void *ctx)
 *	{
 *		if (strcmp(e->type, "anomaly") == 0)
 *			...
 *		return 0;
 *	}
 *	...
 *	s.clock = &opt.clock;			(optional: timers in event time)
 *	ex = sre_stream_events(&s, SRE_STREAM_PASS, on_event, on_idle, ctx);
 *
 * A line that is not JSON and looks like pretty-printed JSON (a line "{")
 * gets, once per stream, a hint to write one object per line (jq -c).
 *
 * Exit codes (sysexits): EX_OK, EX_DATAERR when some line was rejected,
 * EX_IOERR when reading or writing failed.  A closed stdout ends the loop
 * quietly with EX_OK.  SIGTERM/SIGINT end it after the line in hand, with
 * EX_OK.
 */
#ifndef SRE_STREAM_H
#define SRE_STREAM_H

#include <stddef.h>

#include <jv.h>

#include "bus.h"
#include "diag.h"
#include "evtime.h"
#include "opt.h"

struct sre_stream {
	struct sre_bus *in, *out;
	unsigned long long lines;	/* lines read, rejected included */
	unsigned long long rejected;
	unsigned long long emitted;
	int idle_ms;		/* >= 0: call on_idle after this much quiet */
	int failed;		/* an EX_* code that ends the loop, 0 if none */
	int epipe;		/* the output went away */
	/* sre_stream_events: when set, each event's ts_ms moves this clock
	 * before the callback runs; a ts_ms too far ahead is reported (not
	 * rejected: the event still flows) and not taken. */
	struct sre_evclock *clock;
	const char *line;	/* the line in hand (for the hint), borrowed */
	size_t len;
	int hinted;		/* the pretty-printed JSON hint was given */
};

/* What sre_stream_events hands its callback; everything is borrowed
 * until the callback returns (jv_copy(ev) to keep the event). */
struct sre_event_in {
	jv ev;			/* a JSON object that passed sre_event_check
				 * (only an object under SRE_STREAM_ANY) */
	const char *type;	/* ev's "type"; NULL only under SRE_STREAM_ANY */
	const char *line;	/* the line as read, NUL terminated */
	size_t len;
};

/* Called per checked event.  Return 0, or an EX_* code to end the loop. */
typedef int (*sre_event_fn)(struct sre_stream *s,
    const struct sre_event_in *e, void *ctx);

/* sre_stream_events flags. */
#define SRE_STREAM_PASS	0x1	/* write every checked line on, as read,
				 * before the callback (the callback is not
				 * called when the output is gone) */
#define SRE_STREAM_ANY	0x2	/* any JSON object: no envelope check */

/* Called per line: line is NUL terminated, borrowed until return.
 * Return 0, or an EX_* code to end the loop with that status. */
typedef int (*sre_line_fn)(struct sre_stream *s, const char *line,
    size_t len, void *ctx);
/* Called after idle_ms without input, and at the end of input with
 * at_end set (a last chance to emit). Same return convention. */
typedef int (*sre_idle_fn)(struct sre_stream *s, int at_end, void *ctx);

/* Open c->in and c->out; reports failures; returns EX_OK or the code. */
int sre_stream_open(struct sre_stream *s, const struct sre_common *c);

/* Run to the end of input or a stop; closes both ends; returns EX_*. */
int sre_stream_run(struct sre_stream *s, sre_line_fn on_line,
    sre_idle_fn on_idle, void *ctx);

/*
 * sre_stream_run for events: each non-blank line is parsed as a JSON
 * object and checked as an event (sre_stream_event); a line that fails is
 * rejected with the reason and the stream goes on; a checked event goes
 * to on_event (after its line, with SRE_STREAM_PASS, and s->clock, if
 * set, have seen it).  Returns as sre_stream_run.
 */
int sre_stream_events(struct sre_stream *s, int flags, sre_event_fn on_event,
    sre_idle_fn on_idle, void *ctx);

/*
 * Parse one line as an event: a JSON object that passes sre_event_check
 * (only an object with SRE_STREAM_ANY).  Returns the object (the caller
 * owns it), or jv_invalid() with the reason in err.  For readers outside
 * the stream loop (a recording, a server's bus thread).
 */
jv sre_stream_event(const char *line, size_t len, int flags, char *err,
    size_t errlen);

/*
 * Once per stream: when line looks like pretty-printed JSON (line.h),
 * say that tools read one JSON object per line.  sre_stream_reject() does
 * it for the line in hand; a tool that rejects lines by other means calls
 * it with the line and where it was read (NULL: the line in hand).
 */
void sre_stream_hint(struct sre_stream *s, const char *where,
    const char *line, size_t len);

/* Report a rejected input line and count it (with the hint above). */
void sre_stream_reject(struct sre_stream *s, const char *fmt, ...)
    SRE_PRINTF(2, 3);

/* Write one line.  0, or -1 when the output is gone (the loop ends). */
int sre_stream_emit(struct sre_stream *s, const char *line, size_t len);

/* Write one JSON value as a compact line.  Consumes v. */
int sre_stream_emit_jv(struct sre_stream *s, jv v);

/* Where the current line came from: "line 3" or "PATH:3". Borrowed. */
const char *sre_stream_where(struct sre_stream *s);

#endif
