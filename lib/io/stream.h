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
#include "opt.h"

struct sre_stream {
	struct sre_bus *in, *out;
	unsigned long long lines;	/* lines read, rejected included */
	unsigned long long rejected;
	unsigned long long emitted;
	int idle_ms;		/* >= 0: call on_idle after this much quiet */
	int failed;		/* an EX_* code that ends the loop, 0 if none */
	int epipe;		/* the output went away */
};

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

/* Report a rejected input line and count it. */
void sre_stream_reject(struct sre_stream *s, const char *fmt, ...)
    SRE_PRINTF(2, 3);

/* Write one line.  0, or -1 when the output is gone (the loop ends). */
int sre_stream_emit(struct sre_stream *s, const char *line, size_t len);

/* Write one JSON value as a compact line.  Consumes v. */
int sre_stream_emit_jv(struct sre_stream *s, jv v);

/* Where the current line came from: "line 3" or "PATH:3". Borrowed. */
const char *sre_stream_where(struct sre_stream *s);

#endif
