/*
 * progress.h: "so far" on standard error during a long run.
 *
 * A tool that reads a big file quietly for minutes shows where it is:
 * one line on standard error, rewritten in place ("sre-scout: 1234567
 * lines, 890000 spans, ... so far"), first after 2 seconds, then once a
 * second, and cleared when the run ends so that the summary that follows
 * stands alone.  Only when standard error is a terminal and the tool is
 * not quiet (-q): logs and pipes see nothing of it.  SRE_PROGRESS_MS sets
 * both the first delay and the interval in milliseconds (tests use 0).
 *
 * The calls are cheap enough for every line: the clock is read once in
 * 64 calls of sre_progress_due().
 */
#ifndef SRE_PROGRESS_H
#define SRE_PROGRESS_H

#include <stdint.h>

#include "diag.h"

struct sre_progress {
	int on;			/* a terminal, not quiet */
	int shown;		/* a line is on the terminal */
	unsigned calls;
	int64_t next_ms;	/* monotonic ms of the next line */
	int64_t every_ms;
};

/* Decide whether to show progress (call after the options are parsed:
 * -q counts) and start the clock. */
void sre_progress_init(struct sre_progress *p);

/* Non-zero when a line is due: the caller then gathers its counts and
 * calls sre_progress_show(). */
int sre_progress_due(struct sre_progress *p);

/* Write "sre-NAME: TEXT so far" over the previous line. */
void sre_progress_show(struct sre_progress *p, const char *fmt, ...)
    SRE_PRINTF(2, 3);

/* Clear the line, if one was shown (before the tool's summary). */
void sre_progress_end(struct sre_progress *p);

#endif
