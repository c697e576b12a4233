/*
 * tsad.h: streaming anomaly detection for one metric time series.
 *
 * One detector per series, fed (ts_ms, value) one point at a time, in time
 * order, in one pass.  It keeps a fixed amount of memory (no allocation
 * after sre_tsad_new, sre_tsad_bytes() tells how much) and learns only from
 * the points it has already seen.
 *
 *	struct sre_tsad_config cfg;
 *	struct sre_tsad_result r;
 *	struct sre_tsad *d;
 *
 *	sre_tsad_config_default(&cfg);
 *	cfg.threshold = 0.6;
 *	if ((d = sre_tsad_new(&cfg)) == NULL)
 *		return -1;			(errno EINVAL or ENOMEM)
 *	while (next_point(&ts_ms, &v))
 *		if (sre_tsad_update(d, ts_ms, v, &r) == 0 && r.alarm)
 *			report(ts_ms, v, r.score, r.expected);
 *	sre_tsad_free(d);
 *
 * What it detects, and how.  Every point is scored by cheap detectors,
 * each giving a surprise u >= 0:
 *
 *   level	|value - baseline| / scale, the baseline and scale being a
 *		Huber-style running location and a clipped mean absolute
 *		deviation updated by bounded steps (one absurd value moves
 *		them by one small step, never more).  Spikes, dips, shifts.
 *   change	the change of the residual (value minus the seasonal
 *		expectation, else the level) against its own robust location
 *		and scale.  Sudden jumps and drops even inside the normal
 *		range; the workhorse on NAB.
 *   season	the value against a profile by phase of the period
 *		(cfg.period_ms, a day by default; up to 288 bins sized from
 *		the sampling interval, each a robust running mean of about 4
 *		periods that learns once per visit, so that it holds still
 *		while visited; a bin is used once it has seen 2 periods).
 *		A changed cycle: a missing peak, a flat day.
 *   week	the value against the daily profile plus a second, longer
 *		one (cfg.period2_ms, a week by default; up to 168 bins)
 *		learnt from what the daily profile leaves: the day of the
 *		week.  Used, and scored, only where the series has such a
 *		rhythm: the weekly correction is weighed in while its
 *		mean absolute residual is below the daily one's, and then
 *		replaces the season surprise.  A holiday, a weekday that
 *		looks like a Sunday.
 *   spread	|log| of the short-run mean absolute change over its long-run
 *		level.  Changes in variance: a flat-lined sensor, jitter.
 *   drift	a two-sided CUSUM of the residual z-score.  Slow drifts and
 *		small persistent shifts that no single point shows.
 *   novel	the rarity of the last 4 values' pattern, values cut into
 *		symbols on a grid fixed from the first 100 points, patterns
 *		counted in 1024 hashed 8-bit counters.  Unseen sequences.
 *
 * Each surprise, and its short running mean (over about cfg.short_len
 * points; 0 drops these second tests), is turned into a tail probability
 * against its own history, in the spirit of Numenta's anomaly likelihood
 * but without assuming a Gaussian: the 90th and 99th percentiles of the
 * surprise are read from a histogram of its past values (32 bins, 3 per
 * doubling, forgetting at cfg.lik_rate per point: about the last
 * 1 / lik_rate points; bounded-step estimates stand in for its first 100
 * points) and an exponential tail is fitted between them.  A surprise is
 * capped at 100 both when it is judged and when its tail learns it, so a
 * series whose surprises are routinely huge (one mostly at zero) has a
 * tail that knows them.  A series that is always spiky does not alarm on
 * every spike; a burst of spikes in a calm one does.  A component that comes on late (a profile once it has
 * learnt its period, the pattern grid) is not tested until its tail holds
 * 100 of its own surprises.  The smallest probability p, times the number
 * of tests (Bonferroni), gives L = -log10(p) decades and the score
 * L / (L + 5): 0.5 is a one in 10^5 event, 0.8 one in 10^20.  The score
 * never saturates, so it ranks.
 *
 * Warm-up: for cfg.warmup points the score is 0; the surprise tails learn
 * from the 30th point, the pattern grid is fixed at the 100th.
 * Alarm: the score reaching cfg.threshold raises one alarm; no new alarm is
 * raised until the score has fallen below cfg.threshold * cfg.hysteresis
 * and cfg.refractory points have passed (a fixed quiet period: alarms
 * that recur do not lengthen it).  event_score is the score, damped
 * (times cfg.damp) while no alarm may be raised: it is high only where an
 * anomaly starts, which is what NAB rewards.
 * NaN and infinite values are rejected (return -1, errno EDOM) and leave
 * the state untouched; a point whose timestamp goes backwards is scored
 * but not learnt from.
 *
 * Memory: sre_tsad_bytes() (about 6.2 KB) per series, fixed.  Time: a few
 * hundred nanoseconds per point.
 */
#ifndef SRE_TSAD_H
#define SRE_TSAD_H

#include <stddef.h>
#include <stdint.h>

struct sre_tsad;

struct sre_tsad_config {
	double threshold;	/* alarm when score >= threshold; (0,1], default 0.5 */
	double hysteresis;	/* re-arm below threshold * hysteresis; [0,1], default 0.8 */
	uint32_t warmup;	/* points scored 0 while learning; default 50 */
	uint32_t refractory;	/* points after an alarm with no new alarm; default 200 */
	int64_t period_ms;	/* seasonal period; 0 disables; default 86400000 */
	int64_t period2_ms;	/* second, longer period; 0 disables; default 604800000 */
	double level_rate;	/* baseline learning rate per point; default 0.01 */
	double lik_rate;	/* surprise-tail forgetting rate per point; default 0.0001 */
	uint32_t short_len;	/* points in the short running mean; 0..64
				   (0: no short-mean tests), default 4 */
	double damp;		/* factor applied to event_score in refractory; default 0.1 */
	uint32_t components;	/* bit mask of 1 << SRE_TSAD_C_*; default all */
};

struct sre_tsad_result {
	double score;		/* anomaly score in [0,1]; 0 during warm-up */
	double event_score;	/* score, times cfg.damp while an alarm is recent:
				   high only at the start of an anomaly */
	int alarm;		/* 1 on the point that raises an alarm, else 0 */
	int component;		/* index of the strongest component (SRE_TSAD_C_*) */
	double expected;	/* baseline value the point was compared with */
	double scale;		/* the spread it was compared with, in the
				   value's units (a robust standard deviation;
				   0 for the first point) */
};

enum {
	SRE_TSAD_C_LEVEL,
	SRE_TSAD_C_CHANGE,
	SRE_TSAD_C_SEASON,
	SRE_TSAD_C_WEEK,
	SRE_TSAD_C_SPREAD,
	SRE_TSAD_C_DRIFT,
	SRE_TSAD_C_NOVEL,
	SRE_TSAD_NCOMP
};

/* Fill *cfg with the defaults above.  Never fails. */
void sre_tsad_config_default(struct sre_tsad_config *cfg);

/*
 * Allocate a detector with a copy of *cfg (NULL means the defaults).
 * Returns NULL with errno EINVAL if a field is out of range, ENOMEM if
 * allocation fails.  Free with sre_tsad_free.
 */
struct sre_tsad *sre_tsad_new(const struct sre_tsad_config *cfg);

/* Free a detector; NULL is accepted. */
void sre_tsad_free(struct sre_tsad *d);

/* Forget everything learnt; keep the configuration. */
void sre_tsad_reset(struct sre_tsad *d);

/*
 * Feed one point.  Fills *out (which may be NULL) and returns 0.  Returns
 * -1 with errno EDOM if value is NaN or infinite: the point is ignored and
 * *out is zeroed.  Borrows d and out for the call only.
 */
int sre_tsad_update(struct sre_tsad *d, int64_t ts_ms, double value,
    struct sre_tsad_result *out);

/* Points accepted so far. */
uint64_t sre_tsad_count(const struct sre_tsad *d);

/* Bytes one detector occupies (its allocation); the same for every series. */
size_t sre_tsad_bytes(void);

/* Name of a component index ("level", "change", ...), or "?" */
const char *sre_tsad_component_name(int c);

#endif
