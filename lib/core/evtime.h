/*
 * evtime.h: durations, timestamps and the event clock.
 *
 * Tools that wait (sre-fix's verification window, sre-escalate's tiers)
 * measure time in event time, as DESIGN.md asks, so that a replay at any
 * speed decides as the live run would.  The event clock is the newest
 * ts_ms seen, moved on by the wall-clock time elapsed since it was seen:
 * in a live pipeline it runs with the wall clock between events; in a
 * replay it follows the telemetry.  Before any event it is the wall clock
 * (sre_now_ms(), which SRE_NOW pins in tests).
 */
#ifndef SRE_EVTIME_H
#define SRE_EVTIME_H

#include <stddef.h>
#include <stdint.h>

/* The longest duration sre_duration_parse() takes: 10 years. */
#define SRE_DURATION_MAX (10LL * 366 * 24 * 3600 * 1000)

/*
 * Parse a duration: a number followed by ms, s, m, h or d ("90s", "15m",
 * "1h"); a bare number is seconds.  The one duration parser of the tree
 * (options go through sre_opt_duration, opt.h).  A fraction is rounded to
 * the nearest millisecond, half up ("1.005s" is 1005 ms; "0.4ms" is 0).
 * Returns 0 with *ms set, -1 when malformed, negative or over
 * SRE_DURATION_MAX.
 */
int sre_duration_parse(const char *s, int64_t *ms);

/* Write a duration in its largest whole unit ("15m", "90s", "1500ms"). */
void sre_duration_fmt(int64_t ms, char *out, size_t outlen);

/* "2023-11-14T22:13:20Z" (UTC, whole seconds) into out. */
void sre_time_fmt(int64_t ms, char *out, size_t outlen);

/*
 * Parse "YYYY-MM-DD", "YYYY-MM-DDTHH:MM", "YYYY-MM-DDTHH:MM:SS" with an
 * optional fraction, each with an optional "Z" (UTC is assumed).
 * Returns 0 with *ms set, -1 when malformed.
 */
int sre_time_parse(const char *s, int64_t *ms);

/*
 * Parse an RFC 3339 time ("2023-11-14T22:13:20Z", fractions and offsets
 * allowed; the zone is required) into epoch ms.  Returns 0, or -1 if it
 * is not one.
 */
int sre_time_parse_rfc3339(const char *s, int64_t *ms);

struct sre_evclock {
	int64_t event_ms;	/* newest event time seen */
	int64_t wall_ms;	/* wall-clock time when it was seen */
	int set;
};

/*
 * How far an event may move the clock at once.  An event time more than
 * this ahead of both the event clock and the wall clock is not taken:
 * one forged line with a far-future ts_ms must not make every timer due
 * (every pending fix reverted, every tier paged).  Telemetry from the
 * past (a replay, a backfill) moves the clock freely; a replay faster
 * than real time moves it in small steps, each within the bound.
 */
#define SRE_EVCLOCK_LEAP_MS (5LL * 60 * 1000)

/*
 * Take an event's ts_ms into account (older times do not move it).
 * Returns 0, or -1 when ts_ms is too far ahead (see above) and was not
 * taken: the caller reports it.
 */
int sre_evclock_see(struct sre_evclock *c, int64_t ts_ms);

/* ts_ms, or the event clock now if ts_ms is ahead of it: a time fit to
 * write (a restart stamp) from a time an event claims. */
int64_t sre_evclock_clamp(const struct sre_evclock *c, int64_t ts_ms);

/* The event clock now. */
int64_t sre_evclock_now(const struct sre_evclock *c);

#endif
