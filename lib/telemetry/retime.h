/*
 * retime.h: find and shift the timestamps of one JSON line, in its text.
 *
 * Telemetry times are 64-bit nanoseconds, usually as decimal strings, past
 * what a double holds exactly; and a replayed line should come out as it
 * went in.  So this works on the text: it checks the line is one well-formed
 * JSON object (grammar only: strings, escapes, numbers, nesting up to
 * SRE_RETIME_MAX_DEPTH) and rewrites the digits of the members it knows:
 *
 *	nanoseconds	startTimeUnixNano endTimeUnixNano timeUnixNano
 *			observedTimeUnixNano
 *	microseconds	__REALTIME_TIMESTAMP _SOURCE_REALTIME_TIMESTAMP
 *			(journalctl -o json)
 *	milliseconds	ts_ms window_start_ms window_end_ms
 *
 * wherever they appear, as strings of digits or as integers; 0 (OTLP's
 * "unknown") is left alone.  A record's time is its earliest timeUnixNano,
 * observedTimeUnixNano, journal timestamp or ts_ms; only when it has none
 * of those, its earliest startTimeUnixNano (a span's start; on a metric
 * point the start is the counter's, not the point's).  endTimeUnixNano and
 * window_*_ms are shifted but never date a record.  Every other
 * byte is copied unchanged.
 */
#ifndef SRE_RETIME_H
#define SRE_RETIME_H

#include <stddef.h>
#include <stdint.h>

#include "sbuf.h"

#define SRE_RETIME_MAX_DEPTH 512
#define SRE_RETIME_NONE INT64_MIN	/* the line holds no known time */

/*
 * Scan line (len bytes).  *first_ns receives the record's time as above
 * (converted to nanoseconds; SRE_RETIME_NONE if none).  When out is not
 * NULL the line is copied into out (out->p[0 .. out->n), replacing what
 * it held, NUL terminated) with every known time shifted by delta_ns (converted to
 * each member's unit; a value that would overflow is left as it was).
 * Returns 0, or -1 with a message naming the byte offset in err when the
 * line is not a well-formed JSON object (or on out of memory).
 */
int sre_retime(const char *line, size_t len, int64_t delta_ns,
    struct sre_sbuf *out, int64_t *first_ns, char *err, size_t errlen);

#endif
