/*
 * clock.h: the two clocks every tool reads.  The lowest module of lib/core:
 * it includes nothing of ours, so the line reader, the buses and the event
 * clock (evtime.h) can tell time without the event envelope.
 *
 * SRE_NOW (epoch milliseconds) pins sre_now_ms() for golden tests; the
 * monotonic clock is never pinned, so durations stay real in tests.
 */
#ifndef SRE_CLOCK_H
#define SRE_CLOCK_H

#include <stdint.h>

/* Wall-clock time in unix epoch milliseconds, or SRE_NOW when set. */
int64_t sre_now_ms(void);

/* A monotonic clock in milliseconds, for timeouts and intervals. */
int64_t sre_mono_ms(void);

/* The same with the fraction of a millisecond, for measuring work. */
double sre_mono_msf(void);

#endif
