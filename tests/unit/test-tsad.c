/*
 * test-tsad.c: lib/tsad, the streaming single-series anomaly detector.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "tap.h"
#include "tsad.h"

#define STEP_MS 60000	/* one point a minute */

/* A small deterministic generator: xorshift64*, then Box-Muller. */
static uint64_t rng_state = 88172645463325252ULL;

static double
uniform(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return ((rng_state * 2685821657736338717ULL) >> 11) * 0x1.0p-53;
}

static double
gauss(void)
{
	double u = uniform(), v = uniform();

	if (u < 1e-300)
		u = 1e-300;
	return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

struct run {
	long alarms;
	long first;	/* index of the first alarm, -1 if none */
};

/* Feed points [from, to) of f(i) and count the alarms. */
static struct run
feed(struct sre_tsad *d, long from, long to, double (*f)(long))
{
	struct run r = { 0, -1 };
	struct sre_tsad_result res;
	long i;

	for (i = from; i < to; i++) {
		if (sre_tsad_update(d, (int64_t)i * STEP_MS, f(i), &res) != 0)
			continue;
		if (res.alarm) {
			if (r.first < 0)
				r.first = i;
			r.alarms++;
		}
	}
	return r;
}

static double
noise(long i)
{
	(void)i;
	return 100 + gauss();
}

static double
step_up(long i)
{
	(void)i;
	return 110 + gauss();
}

static double
flat(long i)
{
	(void)i;
	return 42;
}

static double
flat_step(long i)
{
	(void)i;
	return 43;
}

static double
huge(long i)
{
	(void)i;
	return 1e12;
}

/* Heavy-tailed noise: the cube of a Gaussian (kurtosis over 30). */
static double
heavy(long i)
{
	double g = gauss();

	(void)i;
	return 100 + g * g * g;
}

static double
heavy_step(long i)
{
	(void)i;
	return 130 + gauss();
}

/* A daily cycle sampled every minute, with a little noise. */
static double
daily(long i)
{
	return 50 + 20 * sin(2 * M_PI * (double)(i % 1440) / 1440) +
	    0.5 * gauss();
}

/* The same cycle with its peak missing: the value stays at the mean. */
static double
daily_flat(long i)
{
	(void)i;
	return 50 + 0.5 * gauss();
}

/* A daily cycle whose weekends (days 5 and 6 of 7) are 20 lower. */
static double
weekly(long i)
{
	long day = i / 1440 % 7;

	return daily(i) - (day >= 5 ? 20 : 0);
}

/* The same with a holiday: a weekday (day 2 of week 6) like a weekend. */
static double
weekly_holiday(long i)
{
	return daily(i) - 20;
}

static void
free_null(void)
{
	sre_tsad_free(NULL);
}

int
main(void)
{
	struct sre_tsad_config cfg;
	struct sre_tsad_result res;
	struct sre_tsad *d;
	struct run r;
	uint64_t n;
	long t;

	/* Configuration. */
	sre_tsad_config_default(&cfg);
	ok(cfg.threshold > 0 && cfg.threshold <= 1, "default threshold %.2f",
	    cfg.threshold);
	cfg.threshold = 0;
	errno = 0;
	ok(sre_tsad_new(&cfg) == NULL && errno == EINVAL,
	    "threshold 0 is refused with EINVAL");
	sre_tsad_config_default(&cfg);
	cfg.short_len = 65;
	ok(sre_tsad_new(&cfg) == NULL && errno == EINVAL,
	    "short_len 65 is refused with EINVAL");
	cfg.short_len = 0;
	d = sre_tsad_new(&cfg);
	ok(d != NULL, "short_len 0 (no short-mean tests) is accepted");
	sre_tsad_free(d);
	ok(tap_survives(free_null), "sre_tsad_free(NULL) is harmless");

	/* Memory: fixed, small, the same for every series. */
	ok(sre_tsad_bytes() <= 8192, "bytes per series: %zu (<= 8192)",
	    sre_tsad_bytes());
	ok(4000 * sre_tsad_bytes() <= 32u << 20,
	    "4000 series fit in 32 MB (%zu bytes)", 4000 * sre_tsad_bytes());

	/* Stationary noise: no alarm after the warm-up. */
	d = sre_tsad_new(NULL);
	ok(d != NULL, "sre_tsad_new(NULL) gives the defaults");
	r = feed(d, 0, 6000, noise);
	ok(r.alarms == 0, "6000 points of stationary noise: %ld alarms "
	    "(first at %ld)", r.alarms, r.first);

	/* A step of 10 sigma: one alarm, within a few points. */
	r = feed(d, 6000, 6150, step_up);
	ok(r.alarms == 1, "a 10-sigma step raises one alarm (%ld)", r.alarms);
	ok(r.first >= 6000 && r.first <= 6003,
	    "the alarm comes within 3 points of the step (at %ld)", r.first);
	sre_tsad_free(d);

	/*
	 * Spikes 300 points apart, each 10 times the last: each is news and,
	 * the quiet period being 200 points, raises its own alarm; alarms
	 * that recur do not lengthen the quiet period.
	 */
	d = sre_tsad_new(NULL);
	feed(d, 0, 3000, noise);
	{
		long k, got = 0;

		for (k = 0; k < 5; k++) {
			sre_tsad_update(d, (3000 + 300 * k) * (int64_t)STEP_MS,
			    100 + 1e3 * pow(10, k), &res);
			got += res.alarm;
			feed(d, 3001 + 300 * k, 3300 + 300 * k, noise);
		}
		ok(got == 5, "5 growing spikes 300 points apart: %ld alarms",
		    got);
	}
	sre_tsad_free(d);

	/* One absurd value must not poison the baseline. */
	d = sre_tsad_new(NULL);
	feed(d, 0, 3000, noise);
	r = feed(d, 3000, 3001, huge);
	ok(r.alarms == 1, "a 1e12 spike alarms");
	feed(d, 3001, 3400, noise);
	sre_tsad_update(d, 3400 * (int64_t)STEP_MS, 100, &res);
	ok(fabs(res.expected - 100) < 2,
	    "after the spike the baseline is still ~100 (%.3g)", res.expected);
	ok(res.score < 0.3, "and a normal point scores low (%.3f)", res.score);
	r = feed(d, 3401, 4000, noise);
	ok(r.alarms == 0, "no alarm on the noise after the spike (%ld)",
	    r.alarms);
	r = feed(d, 4000, 4100, step_up);
	ok(r.alarms == 1 && r.first <= 4003,
	    "a later 10-sigma step still alarms at once (at %ld)", r.first);
	sre_tsad_free(d);

	/* NaN and infinities are refused and change nothing. */
	d = sre_tsad_new(NULL);
	feed(d, 0, 500, noise);
	n = sre_tsad_count(d);
	errno = 0;
	ok(sre_tsad_update(d, 500 * (int64_t)STEP_MS, NAN, &res) == -1 &&
	    errno == EDOM, "NaN is refused with EDOM");
	ok(res.score == 0 && res.alarm == 0, "and its result is zeroed");
	ok(sre_tsad_update(d, 501 * (int64_t)STEP_MS, INFINITY, NULL) == -1,
	    "+inf is refused");
	ok(sre_tsad_update(d, 502 * (int64_t)STEP_MS, -INFINITY, NULL) == -1,
	    "-inf is refused");
	ok(sre_tsad_count(d) == n, "the point count did not move (%llu)",
	    (unsigned long long)sre_tsad_count(d));
	r = feed(d, 503, 1000, noise);
	ok(r.alarms == 0, "the detector goes on quietly after them");

	/* Time going backwards is scored, not learnt, and does not crash. */
	ok(sre_tsad_update(d, 10 * (int64_t)STEP_MS, 100, &res) == 0 &&
	    res.score >= 0 && res.score <= 1, "a late point is scored (%.3f)",
	    res.score);
	ok(sre_tsad_count(d) == n + 497, "but not learnt");
	sre_tsad_free(d);

	/* A flat series: quiet, then any change is news. */
	d = sre_tsad_new(NULL);
	r = feed(d, 0, 2000, flat);
	ok(r.alarms == 0, "a flat line does not alarm (%ld)", r.alarms);
	r = feed(d, 2000, 2100, flat_step);
	ok(r.alarms == 1 && r.first <= 2002,
	    "a step on a flat line alarms once (%ld, at %ld)", r.alarms,
	    r.first);
	sre_tsad_free(d);

	/*
	 * Heavy-tailed noise: its surprises' tails are learnt as they are,
	 * so its big values do not alarm, and a step well beyond them still
	 * does.
	 */
	d = sre_tsad_new(NULL);
	feed(d, 0, 1000, heavy);
	r = feed(d, 1000, 6000, heavy);
	ok(r.alarms <= 1, "5000 more points of heavy-tailed noise: %ld "
	    "alarms (first at %ld)", r.alarms, r.first);
	r = feed(d, 6000, 6100, heavy_step);
	ok(r.alarms >= 1 && r.first < 6020, "a step beyond it alarms (at "
	    "+%ld)", r.first - 6000);
	sre_tsad_free(d);

	/* A daily cycle: quiet once learnt; a missing peak alarms. */
	d = sre_tsad_new(NULL);
	feed(d, 0, 3 * 1440, daily);
	r = feed(d, 3 * 1440, 8 * 1440, daily);
	ok(r.alarms == 0, "days 4-8 of a learnt daily cycle: %ld alarms "
	    "(first at %ld)", r.alarms, r.first);
	r = feed(d, 8 * 1440 + 100, 8 * 1440 + 500, daily_flat);
	ok(r.alarms >= 1 && r.first < 8 * 1440 + 300,
	    "a flattened peak alarms (first at +%ld)",
	    r.first - 8 * 1440 - 100);
	sre_tsad_reset(d);
	ok(sre_tsad_count(d) == 0, "reset forgets everything");
	sre_tsad_free(d);

	/*
	 * A weekly rhythm: once learnt (2 weeks), the weekends are
	 * expected and quiet; a weekday like a weekend alarms.
	 */
	d = sre_tsad_new(NULL);
	feed(d, 0, 4 * 7 * 1440, weekly);
	r = feed(d, 4 * 7 * 1440, 5 * 7 * 1440 + 2 * 1440, weekly);
	ok(r.alarms == 0, "week 5 of a learnt weekly rhythm: %ld alarms "
	    "(first at %ld)", r.alarms, r.first);
	sre_tsad_update(d, (5 * 7 * 1440 + 2 * 1440) * (int64_t)STEP_MS,
	    weekly(5 * 7 * 1440 + 2 * 1440), &res);
	t = (5 * 7 + 5) * 1440 + 720;	/* Saturday noon of week 6 */
	ok(fabs(res.expected - (50 + 0)) < 5,
	    "a weekday is expected as a weekday (%.1f)", res.expected);
	r = feed(d, 5 * 7 * 1440 + 2 * 1440 + 1, 5 * 7 * 1440 + 3 * 1440,
	    weekly_holiday);
	ok(r.alarms >= 1, "a weekday like a weekend alarms (first at +%ld "
	    "min)", r.first - (5 * 7 * 1440 + 2 * 1440));
	feed(d, 5 * 7 * 1440 + 3 * 1440, t, weekly);
	sre_tsad_update(d, (int64_t)t * STEP_MS, weekly(t), &res);
	ok(fabs(res.expected - (50 - 20)) < 5,
	    "a weekend is expected as a weekend (%.1f)", res.expected);
	sre_tsad_free(d);

	/*
	 * Hourly noise: the daily profile comes on after two days; its
	 * scale learns fast from its own first residuals, so nothing is
	 * raised when it does (at 0.4).  The spread given is the
	 * noise's.
	 */
	{
		struct sre_tsad_config c;
		long i, alarms = 0;

		sre_tsad_config_default(&c);
		c.threshold = 0.4;
		c.warmup = 100;
		d = sre_tsad_new(&c);
		for (i = 0; i < 2000; i++) {
			sre_tsad_update(d, i * 3600000LL, 100 + 2 * gauss(),
			    &res);
			alarms += res.alarm;
		}
		ok(alarms == 0, "2000 hourly points of noise at 0.4: %ld "
		    "alarms", alarms);
		ok(res.scale > 1.2 && res.scale < 3, "their spread %.2f is "
		    "about the noise's sd (2)", res.scale);
		sre_tsad_free(d);
	}

	ok(sre_tsad_component_name(SRE_TSAD_C_LEVEL)[0] == 'l' &&
	    sre_tsad_component_name(-1)[0] == '?', "component names");
	return tap_done();
}
