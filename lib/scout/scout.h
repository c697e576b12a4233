/*
 * scout.h: sre-scout's engine: telemetry lines in, anomaly, recovery and
 * topology events out.
 *
 *	struct sre_scout_config cfg;
 *	struct sre_scout_hooks h = { .emit = emit, .report = report,
 *	    .silenced = silenced, .arg = ctx };
 *	sre_scout_config_default(&cfg);
 *	cfg.window_ms = 30000;
 *	if ((sc = sre_scout_new(&cfg, &h, err, sizeof(err))) == NULL)
 *		...
 *	while (read a line)
 *		sre_scout_submit(sc, line, len, lineno);
 *	sre_scout_finish(sc);
 *	sre_scout_free(sc);
 *
 * Input: every line lib/otlp reads (OTLP/JSON traces, metrics, logs, plain
 * metric points, journal entries), read without building a DOM; lines
 * of spans may be parsed on cfg.threads other threads (scout-par.c), the
 * results applied in order, so the output does not depend on them.  Other
 * lines go to the other hook (sre-scout passes events on).
 *
 * Event time.  Spans and log records are placed by their own timestamps
 * (a span by its end) into windows of window_ms, aligned to multiples of
 * it.  The stream time is robust: the 64th latest timestamp seen, so
 * that the few spans of one long trace sent early do not close the
 * windows the rest of the stream still fills.  A window closes once the
 * stream time is lateness_ms past its end, so records up to lateness_ms
 * out of order still count; older ones are late: counted and dropped.
 * At most six windows are open; a record further ahead is counted and
 * dropped, and after a longer gap the windows start again.  A window that
 * received nothing is not judged.  When input is live and stops,
 * sre_scout_idle() moves the stream time on by the wall clock, so a
 * quiet stream still closes its windows.  A timestamp before 2000 or
 * after 2100 is rejected, and a span or log record more than an hour
 * ahead of the stream time is rejected unless 64 records in a row agree
 * (a real jump: the windows start again).  A span longer than
 * max_duration_ms counts at its start, without latency.
 *
 * Metric points take no part in the windows: each metric series keeps
 * its own clock (its latest point's time) and each point is judged as it
 * comes.  Any time after the series' latest is accepted (a sparse,
 * irregular or backfilled series, a gap); a point behind it by up to
 * lateness_ms or 64 of the series' usual spacings (a running estimate),
 * whichever is longer, is judged but not learnt from; an older one is
 * rejected (reported, naming both times).  Incidents age with the
 * windows, and with the metric points' time when no window closes.
 *
 * Series, judged at each window's close against robust baselines
 * (detect.h) once warmup_ms of event time and min_windows windows of
 * their own have passed, with min_samples spans at least:
 *   operation (service, span name): latency (p50, p95 of the duration and
 *     p95 of the self time, the part of the span its children do not
 *     cover, from DDSketch sketches), errors (status 2 or HTTP 5xx, against
 *     a binomial expectation), throughput (a drop below a third, or a
 *     surge over three times, of the learned rate);
 *   edge (caller service -> callee service, from parentSpanId links): the
 *     p95 of the part of the caller's CLIENT span not covered by the
 *     callee's SERVER span (network and queueing);
 *   service logs: error and warning records against their learned rate,
 *     with the templates lib/logmine finds, new or surging;
 *   metric series: lib/tsad, point by point, at the series' own cadence
 *     (below).
 * A sparse series carries a window short of min_samples over to the next
 * (sketches merged) until it has enough.  A series raises after
 * raise_windows windows at the threshold (or one window at twice it) and
 * recovers after recover_windows windows under half of it (hysteresis);
 * a recovery is emitted once per raised series.  A series without data
 * for stale_windows windows recovers.  A metric series is judged per
 * point, after a warm-up of 130 of its points: raised when lib/tsad's
 * score reaches metric_threshold (its alarm); back once recover_windows
 * points in a row lie within 3 spreads (as they were when it was raised)
 * of the expectation, or after 100 points scored calm, or when it sent
 * nothing for 100 of its spacings (a minute at least) while other metric
 * points moved the time on.
 *
 * Incidents: incident.h, the call graph being the edges learned (services
 * within 3 calls of each other, either way, are connected).  A log
 * series alone opens an incident only after solo_windows windows
 * raised; connected to an open incident it joins it at once.  A raised
 * metric series joins the open incident it is connected to, or opens
 * one.  Silenced
 * series (the silenced hook) are counted, not emitted, and join nothing.
 *
 * Operation and metric series are told apart by a 64-bit hash of their
 * names (and service, labels): the names themselves are not compared.
 *
 * Memory is bounded: at most max_series operation series and log
 * templates, half as many edges, a quarter as many metric series (about
 * 6.6 KB each), an eighth as many services (64 at least of each), the
 * buckets of all latency sketches within 2 KB per series; a new series
 * beyond a cap evicts the least recently seen idle one (no data in an
 * open window, or for a metric series no point for 10 of its spacings,
 * and not anomalous), or is dropped and counted when none is idle.  At most max_pending spans wait for their
 * children and callees.  With the defaults that is under 25 MB, whatever
 * the input.
 */
#ifndef SRE_SCOUT_H
#define SRE_SCOUT_H

#include <stddef.h>
#include <stdint.h>

#include <jv.h>

#include "otlp.h"

struct sre_scout_config {
	int64_t window_ms;	/* window length; default 10000 */
	int64_t lateness_ms;	/* allowed lateness; default 5000, at most
				   twice the window */
	int64_t warmup_ms;	/* nothing raised before; default 120000 */
	double sample_rate;	/* traces kept, 0 < r <= 1; default 1 */
	uint32_t max_series;	/* default 2000 */
	uint32_t max_pending;	/* spans held; default 32768 */
	uint32_t min_samples;	/* spans per window to judge; default 10 */
	uint32_t min_windows;	/* baseline windows to judge; default 5 */
	double threshold;	/* robust z to raise; default 4.5 */
	uint32_t raise_windows;	/* windows at the threshold to raise, or
				   one at twice it; default 2 */
	uint32_t recover_windows;	/* default 2 */
	uint32_t incident_hold;	/* calm windows closing an incident; 3 */
	uint32_t solo_windows;	/* windows a log series alone
				   must stay raised to open an incident;
				   default 3 */
	uint32_t stale_windows;	/* default 30 */
	int64_t max_duration_ms;	/* longer spans: no latency; 3600000 */
	double min_delta_ms;	/* least latency change raised; default 2 */
	double metric_threshold;	/* lib/tsad score to raise; default 0.35 */
	uint32_t topology_every;	/* windows between topology events when
					   the graph is unchanged; 0 never;
					   default 6 */
	double accuracy;	/* sketch relative accuracy; default 0.02 */
	uint32_t max_incidents;	/* open at a time; default 256 */
	unsigned threads;	/* parser threads besides the caller's; 0 */
};

struct sre_scout_hooks {
	/* An event to write.  Consumes ev.  Non-zero: the output is gone;
	 * the engine stops emitting and sre_scout_line returns -1. */
	int (*emit)(void *arg, jv ev);
	/* A record of the line tagged tag rejected (reject = 1) or
	 * tolerated (0), with what and where in the line. */
	void (*report)(void *arg, uint64_t tag, int reject, const char *msg);
	/* A line that is not telemetry: format SRE_OTLP_UNKNOWN (JSON, an
	 * event perhaps) or SRE_OTLP_MALFORMED (err says why).  The line is
	 * borrowed for the call.  May be NULL. */
	void (*other)(void *arg, uint64_t tag, const char *line, size_t len,
	    int format, const char *err);
	/* Non-zero: an anomaly of this series at event time t_ms is
	 * silenced (counted, not emitted).  operation may be NULL.  May be
	 * NULL. */
	int (*silenced)(void *arg, const char *service, const char *operation,
	    const char *signal, int64_t t_ms);
	void *arg;
};

struct sre_scout_stats {
	uint64_t lines;		/* given to sre_scout_line */
	uint64_t spans, points, logs;	/* records read */
	uint64_t sampled_out;	/* spans of traces not kept */
	uint64_t late;		/* records older than every open window */
	uint64_t ahead;		/* records too far ahead of the stream */
	uint64_t rejected;	/* records rejected (reported) */
	uint64_t tolerated;	/* records with a quirk (reported) */
	uint64_t no_latency;	/* spans with an unusable duration */
	uint64_t anomalies;	/* anomaly events emitted */
	uint64_t silenced;	/* anomalies silenced */
	uint64_t recoveries;
	uint64_t topologies;
	uint64_t incidents;	/* incidents opened */
	uint64_t windows;	/* windows closed */
	uint64_t evicted;	/* series evicted for the caps */
	uint64_t dropped;	/* records of series that found no room */
	uint64_t early;		/* spans judged before their children could
				   all arrive (pending buffer full) */
	uint32_t series, edges, services, metrics;	/* live now */
};

struct sre_scout;

/* Fill *cfg with the defaults above. */
void sre_scout_config_default(struct sre_scout_config *cfg);

/*
 * A new engine with a copy of *cfg and *h.  NULL with a message in err
 * when a setting is out of range (EINVAL) or memory is short (ENOMEM).
 */
struct sre_scout *sre_scout_new(const struct sre_scout_config *cfg,
    const struct sre_scout_hooks *h, char *err, size_t errlen);
void sre_scout_free(struct sre_scout *sc);

/*
 * Hand over one line (borrowed; need not be NUL-terminated), tagged with
 * tag (its number, say: reports and the other hook give it back).  With
 * threads, the line is parsed on another thread and applied later, in
 * order; without, at once.  Returns 0, or -1 when the output went away
 * (or memory ran out).
 */
int sre_scout_submit(struct sre_scout *sc, const char *line, size_t len,
    uint64_t tag);

/* Apply every line handed over so far.  0, or -1 (output gone). */
int sre_scout_drain(struct sre_scout *sc);

/*
 * Input is quiet: move the stream time on by the wall-clock time since
 * the stream time last moved, closing windows that are due.  Returns 0,
 * or -1 when the output went away.
 */
int sre_scout_idle(struct sre_scout *sc);

/* End of input: judge every open window.  0, or -1 (output gone). */
int sre_scout_finish(struct sre_scout *sc);

/*
 * Change the sampling rate (0 < rate <= 1), from the next span on, and
 * the window length (>= 1000 ms), from the next window on (the allowed
 * lateness stays, capped at twice the new length).  -1 if out of range.
 */
int sre_scout_set_sample_rate(struct sre_scout *sc, double rate);
int sre_scout_set_window(struct sre_scout *sc, int64_t window_ms);
double sre_scout_sample_rate(const struct sre_scout *sc);
int64_t sre_scout_window(const struct sre_scout *sc);

/* Counters so far.  Borrowed; valid until the next call. */
const struct sre_scout_stats *sre_scout_stats(struct sre_scout *sc);

/* A stable fingerprint: 16 hex digits and a NUL into out, from the
 * series' identity (no time, no ids).  operation, from, to may be NULL. */
void sre_scout_fingerprint(char out[17], const char *service,
    const char *operation, const char *signal, const char *scope,
    const char *from, const char *to);

#endif
