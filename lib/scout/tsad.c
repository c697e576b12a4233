/*
 * tsad.c: streaming single-series anomaly detector (see tsad.h).
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "tsad.h"

#define MAX_BINS	288	/* daily profile resolution, at most */
#define MAX_BINS2	168	/* weekly profile resolution, at most */
#define MIN_BINS	8
#define SHORT_MAX	64
#define SURPRISE_CAP	100.0	/* an absurd surprise: judged and learnt as this */
#define SCORE_HALF	5.0	/* decades for a score of 0.5 */
#define GRID_AT		100	/* points seen before the symbol grid is fixed */
#define GRID_LEVELS	16	/* symbols across the range seen by then */
#define CTX_LEN		4	/* symbols in a context */
#define CTX_SLOTS	1024	/* context counters (hashed) */
#define TAIL_AT		30	/* points seen before the tails learn */
#define BINS_AT		16	/* points seen before the profile is sized */
#define TAIL_BINS	32	/* histogram bins of a surprise's tail */
#define TAIL_PER_OCT	3	/* of them per doubling of the surprise */
#define TAIL_FULL	100	/* points in a tail before its histogram is read */
#define PROF_AT		2	/* periods a bin has seen before it is used */

/* A robust running location and scale with bounded-step updates. */
struct robust {
	double loc;
	double scale;
};

/*
 * The distribution of one surprise: a histogram of its past values, bin 0
 * below a quarter of the surprise's unit, then TAIL_PER_OCT bins per
 * doubling (the last bin open above), weights forgotten exponentially.
 * Its 90th and 99th percentiles, between which an exponential tail is
 * fitted, are read from it.  w[] are the weights, tot their sum.  Until
 * it holds TAIL_FULL points its 99th percentile is little more than its
 * largest value, so bounded-step estimates q90, q99 (which one value
 * moves little) stand in.
 */
struct tail {
	float w[TAIL_BINS];
	float tot;
	float q90;
	float q99;
	uint32_t n;
};

/* A seasonal profile: a robust running mean per phase bin of a period. */
struct profile {
	int64_t period;		/* ms; 0 when off */
	uint16_t nbins;		/* 0 until sized */
	uint16_t cap;
	struct robust sc;	/* scale of the residual */
	uint16_t need;		/* points of PROF_AT periods in a bin, >= 2 */
	double acc;		/* sum of the residuals of this visit */
	int64_t acc_ts;		/* time of its last point */
	uint32_t acc_n;		/* its points, 0 when none */
	uint32_t sc_n;		/* residuals its scale has learnt */
	int acc_bin;		/* the bin visited */
	float *mean;		/* into the detector's arrays */
	uint16_t *cnt;
};

/* 2^((k - 1) / TAIL_PER_OCT) for k = 1..TAIL_BINS, worked out once. */
static double edge_pow[TAIL_BINS + 1];
static pthread_once_t edge_once = PTHREAD_ONCE_INIT;

static void
edge_init(void)
{
	int k;

	for (k = 1; k <= TAIL_BINS; k++)
		edge_pow[k] = exp2((double)(k - 1) / TAIL_PER_OCT);
}

struct sre_tsad {
	struct sre_tsad_config cfg;
	uint64_t n;
	int64_t last_ts;
	double last_v;
	double last_r;		/* last residual */
	double res;		/* smallest non-zero |change| seen */
	double dt;		/* typical sampling interval, ms */
	struct robust lvl;	/* the value */
	struct robust chg;	/* the change of the residual */
	struct robust sea;	/* the seasonal residual */
	double spread_short;
	double spread_long;
	double cusum_pos;
	double cusum_neg;
	float avg[SRE_TSAD_NCOMP];	/* short running mean of each surprise */
	struct tail inst[SRE_TSAD_NCOMP];
	struct tail burst[SRE_TSAD_NCOMP];
	double grid_lo;		/* symbol grid: origin, width */
	double grid_w;
	double grid_hi;
	int32_t sym[CTX_LEN];	/* the last symbols, newest first */
	uint32_t since_alarm;
	float week_w;		/* weight of the weekly correction, 0..1 */
	float err_day;		/* mean |residual| of the daily baseline */
	float err_week;		/* and of the daily plus weekly one */
	int armed;
	struct profile day;
	struct profile week;
	uint8_t ctx[CTX_SLOTS];	/* how often each context was seen */
	float day_mean[MAX_BINS];
	uint16_t day_n[MAX_BINS];
	float week_mean[MAX_BINS2];
	uint16_t week_n[MAX_BINS2];
};

static const char *const comp_names[SRE_TSAD_NCOMP] = {
	"level", "change", "season", "week", "spread", "drift", "novel"
};

/*
 * The smallest meaningful step of each surprise: a z-score is noise below
 * half a standard deviation, a log spread ratio below 0.2, a CUSUM below 1.
 */
static const double comp_unit[SRE_TSAD_NCOMP] = {
	0.5, 0.5, 0.5, 0.5, 0.2, 1.0, 0.25
};

void
sre_tsad_config_default(struct sre_tsad_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->threshold = 0.5;
	cfg->hysteresis = 0.8;
	cfg->warmup = 50;
	cfg->refractory = 200;
	cfg->period_ms = 86400000;
	cfg->period2_ms = 604800000;
	cfg->level_rate = 0.01;
	cfg->lik_rate = 0.0001;
	cfg->short_len = 4;
	cfg->damp = 0.1;
	cfg->components = (1U << SRE_TSAD_NCOMP) - 1;
}

static int
config_ok(const struct sre_tsad_config *c)
{
	if (!(c->threshold > 0 && c->threshold <= 1))
		return 0;
	if (!(c->hysteresis >= 0 && c->hysteresis <= 1))
		return 0;
	if (c->period_ms < 0 || c->period2_ms < 0)
		return 0;
	if (!(c->level_rate > 0 && c->level_rate < 1))
		return 0;
	if (!(c->lik_rate > 0 && c->lik_rate < 1))
		return 0;
	if (c->short_len > SHORT_MAX)
		return 0;
	if (!(c->damp >= 0 && c->damp <= 1))
		return 0;
	return 1;
}

struct sre_tsad *
sre_tsad_new(const struct sre_tsad_config *cfg)
{
	struct sre_tsad_config def;
	struct sre_tsad *d;

	if (cfg == NULL) {
		sre_tsad_config_default(&def);
		cfg = &def;
	}
	if (!config_ok(cfg)) {
		errno = EINVAL;
		return NULL;
	}
	pthread_once(&edge_once, edge_init);
	if ((d = malloc(sizeof(*d))) == NULL)
		return NULL;
	d->cfg = *cfg;
	sre_tsad_reset(d);
	return d;
}

void
sre_tsad_free(struct sre_tsad *d)
{
	free(d);
}

void
sre_tsad_reset(struct sre_tsad *d)
{
	struct sre_tsad_config cfg = d->cfg;

	memset(d, 0, sizeof(*d));
	d->cfg = cfg;
	d->day.period = cfg.period_ms;
	d->day.cap = MAX_BINS;
	d->day.mean = d->day_mean;
	d->day.cnt = d->day_n;
	d->week.period = cfg.period2_ms;
	d->week.cap = MAX_BINS2;
	d->week.mean = d->week_mean;
	d->week.cnt = d->week_n;
	d->armed = 1;
	d->since_alarm = UINT32_MAX;
}

uint64_t
sre_tsad_count(const struct sre_tsad *d)
{
	return d->n;
}

size_t
sre_tsad_bytes(void)
{
	return sizeof(struct sre_tsad);
}

const char *
sre_tsad_component_name(int c)
{
	if (c < 0 || c >= SRE_TSAD_NCOMP)
		return "?";
	return comp_names[c];
}

static double
clamp(double x, double lo, double hi)
{
	return x < lo ? lo : x > hi ? hi : x;
}

/* The scale used to divide by: never zero, never below the data's grain. */
static double
floor_scale(const struct sre_tsad *d, double scale, double loc)
{
	double f = 1e-9 * fabs(loc) + 1e-12;

	if (d->res > 0 && 0.5 * d->res > f)
		f = 0.5 * d->res;
	return scale > f ? scale : f;
}

static double
robust_z(const struct sre_tsad *d, const struct robust *r, double x)
{
	return (x - r->loc) / floor_scale(d, r->scale, r->loc);
}

/*
 * Huber-style update: the location moves by at most rate * scale, the
 * scale (a mean absolute deviation, made comparable to a standard
 * deviation) grows by at most 5 * rate of itself per point.
 */
static void
robust_update(const struct sre_tsad *d, struct robust *r, double x,
    double rate, uint64_t n)
{
	double s, e;

	if (n == 0) {
		r->loc = x;
		r->scale = 0;
		return;
	}
	if (rate < 1.0 / (double)(n + 1))
		rate = 1.0 / (double)(n + 1);
	s = floor_scale(d, r->scale, r->loc);
	e = x - r->loc;
	if (r->scale > 0)
		r->loc += rate * s * clamp(e / s, -1.0, 1.0);
	else
		r->loc += rate * e;
	e = fabs(x - r->loc);
	if (r->scale > 0 && e > 4 * s)
		e = 4 * s;
	r->scale += rate * (1.2533 * e - r->scale);
}

/* Lower edge of bin k of a tail (k may be TAIL_BINS: the top's upper edge). */
static double
tail_edge(int k, double unit)
{
	if (k <= 0)
		return 0;
	return 0.25 * unit * edge_pow[k];
}

/* Bin of u in a tail. */
static int
tail_bin(double u, double unit)
{
	double k;

	if (!(u >= 0.25 * unit))
		return 0;
	k = 1 + floor(TAIL_PER_OCT * log2(u / (0.25 * unit)));
	return k >= TAIL_BINS - 1 ? TAIL_BINS - 1 : (int)k;
}

/* The value exceeded by a fraction f of the weight (linear inside a bin). */
static double
tail_quant(const struct tail *t, double f, double unit)
{
	double acc = 0, want = f * t->tot, lo, hi;
	int k;

	for (k = TAIL_BINS - 1; k > 0; k--) {
		if (acc + t->w[k] >= want)
			break;
		acc += t->w[k];
	}
	lo = tail_edge(k, unit);
	hi = tail_edge(k + 1, unit);
	if (t->w[k] <= 0)
		return lo;
	return hi - (want - acc) / t->w[k] * (hi - lo);
}

/*
 * Learn u into a tail: its bin gains the share rate of the total weight
 * (all past points weigh the same while rate < 1 / (n + 1)), which is
 * decaying the others by 1 - rate; the weights grow instead of decaying
 * and are scaled down now and then.  The stand-in estimates move by
 * bounded steps.
 */
static void
tail_learn(struct tail *t, double u, double rate, double unit)
{
	double inc, s;
	int k;

	if (rate < 1.0 / (t->n + 1))
		rate = 1.0 / (t->n + 1);
	if (t->n == 0)
		t->q90 = t->q99 = (float)u;
	else if (t->n < TAIL_FULL) {
		s = t->q99 > unit ? t->q99 : unit;
		t->q90 += (float)(rate * s * (u > t->q90 ? 0.9 : -0.1));
		t->q99 += (float)(rate * s * (u > t->q99 ? 0.99 : -0.01));
		if (t->q90 < 0)
			t->q90 = 0;
		if (t->q99 < t->q90)
			t->q99 = t->q90;
	}
	inc = t->n == 0 ? 1 : rate * t->tot / (1 - rate);
	t->w[tail_bin(u, unit)] += (float)inc;
	t->tot += (float)inc;
	if (t->tot > 1e30) {
		for (k = 0; k < TAIL_BINS; k++)
			t->w[k] /= t->tot;
		t->tot = 1;
	}
	if (t->n < UINT32_MAX)
		t->n++;
}

/*
 * Tail probability of u: 1 up to the 90th percentile, then an exponential
 * tail losing a decade per (q99 - q90).  1 while too little is known.
 */
static double
tail_p(const struct tail *t, double u, double unit)
{
	double gap, q90, q99;

	if (t->n < 20)
		return 1;
	q90 = t->n < TAIL_FULL ? t->q90 : tail_quant(t, 0.1, unit);
	if (!(u > q90))
		return 1;
	q99 = t->n < TAIL_FULL ? t->q99 : tail_quant(t, 0.01, unit);
	gap = q99 - q90;
	if (gap < 0.05 * q99)
		gap = 0.05 * q99;
	if (gap < unit)
		gap = unit;
	return 0.1 * pow(10, -(u - q90) / gap);
}

static int
prof_bin(const struct profile *pf, int64_t ts_ms)
{
	int64_t ph;

	ph = ts_ms % pf->period;
	if (ph < 0)
		ph += pf->period;
	return (int)(ph * pf->nbins / pf->period);
}

/* Size a profile once the sampling interval is known. */
static void
prof_size(struct profile *pf, double dt)
{
	double b, need;

	if (pf->period <= 0 || dt <= 0)
		return;
	b = floor((double)pf->period / dt + 0.5);
	if (b < MIN_BINS)
		return;		/* too coarse a sampling for this period */
	pf->nbins = (uint16_t)(b > pf->cap ? pf->cap : b);
	need = ceil(PROF_AT * b / pf->nbins);	/* b / nbins >= 1 */
	pf->need = (uint16_t)(need > UINT16_MAX ? UINT16_MAX : need);
}

/*
 * The profile's expectation at ts_ms, once its bin has seen PROF_AT
 * periods: returns the bin, else -1.
 */
static int
prof_expect(const struct profile *pf, int64_t ts_ms, double *e)
{
	int b;

	if (pf->nbins == 0)
		return -1;
	b = prof_bin(pf, ts_ms);
	if (pf->cnt[b] < pf->need)
		return -1;
	*e = pf->mean[b];
	return b;
}

/*
 * Fold a visit of a bin into its mean: the mean of the visit's residuals
 * moves it by its share of all the points seen (a plain mean at first),
 * at least a quarter: about 4 periods of memory.  A bin learns once per
 * visit, so its expectation holds still while it is being visited.
 */
static void
prof_flush(struct profile *pf)
{
	double w;
	uint32_t c;
	int b = pf->acc_bin;

	if (pf->acc_n == 0)
		return;
	c = pf->cnt[b];
	w = (double)pf->acc_n / ((double)c + pf->acc_n);
	if (w < 0.25)
		w = 0.25;
	pf->mean[b] += (float)(w * pf->acc / pf->acc_n);
	c += pf->acc_n;
	pf->cnt[b] = (uint16_t)(c > UINT16_MAX ? UINT16_MAX : c);
	pf->acc = 0;
	pf->acc_n = 0;
}

/* Learn x at ts_ms: residuals gathered per visit of a bin, bounded. */
static void
prof_learn(const struct sre_tsad *d, struct profile *pf, int64_t ts_ms,
    double x, double rate)
{
	double e;
	int b;

	if (pf->nbins == 0)
		return;
	b = prof_bin(pf, ts_ms);
	if (pf->acc_n > 0 && (b != pf->acc_bin ||
	    ts_ms - pf->acc_ts > pf->period / 2))
		prof_flush(pf);
	e = x - pf->mean[b];	/* 0 until the bin's first visit is folded */
	if (pf->cnt[b] >= 2) {
		double sc;

		/* Its own count: a scale that starts when the profile
		 * does learns fast at first, as every other one. */
		robust_update(d, &pf->sc, e, rate, pf->sc_n);
		if (pf->sc_n < UINT32_MAX)
			pf->sc_n++;
		sc = floor_scale(d, pf->sc.scale, 0);
		e = clamp(e, -3 * sc, 3 * sc);
	}
	pf->acc += e;
	pf->acc_n++;
	pf->acc_bin = b;
	pf->acc_ts = ts_ms;
}

/*
 * Symbol of x on the grid fixed after GRID_AT points (GRID_LEVELS symbols
 * over the range seen so far); values outside the range get symbols of
 * their own, so a new level is a new symbol.
 */
static int32_t
grid_symbol(const struct sre_tsad *d, double x)
{
	double q = floor((x - d->grid_lo) / d->grid_w);

	return (int32_t)clamp(q, -1e6, 1e6);
}

/* Slot of the context (the last CTX_LEN symbols, newest being s0). */
static uint32_t
ctx_slot(const struct sre_tsad *d, int32_t s0)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ (uint32_t)s0;
	int i;

	for (i = 0; i < CTX_LEN - 1; i++) {
		h ^= (uint32_t)d->sym[i] + 0x9e3779b9U + (h << 6) + (h >> 2);
		h *= 0xff51afd7ed558ccdULL;
		h ^= h >> 33;
	}
	return (uint32_t)(h % CTX_SLOTS);
}

/* A point in hand: what the stages of sre_tsad_update work out once. */
struct point {
	int64_t ts;
	double x;
	int learn;		/* in time order: the detector learns from it */
	int have_season, have_week;
	double eday, eweek;	/* the daily and daily-plus-weekly baselines */
	double resid;		/* x less its baseline */
	double dr;		/* the change of the residual */
	double zr;		/* the z-score the drift and the profiles use */
	double ss;		/* the short spread with this point */
	double cp, cn;		/* the CUSUMs with this point */
	int32_t sym;		/* its symbol, and its context's slot */
	uint32_t slot;
	double u[SRE_TSAD_NCOMP];	/* surprises, -1 not available */
};

/*
 * The baseline: the daily profile when it knows this phase, else the
 * level.  The weekly profile learns what the daily one misses (the day
 * of the week) and is added to it with a weight that follows whether it
 * predicts better: towards 1 while the mean absolute residual with it is
 * below the one without, towards 0 otherwise.  A series without a weekly
 * rhythm, or one still learning it, keeps the daily baseline and is not
 * scored against the week.
 */
static double
tsad_baseline(struct sre_tsad *d, struct point *p)
{
	double base, rate = d->cfg.level_rate, x = p->x;

	base = d->n > 0 ? d->lvl.loc : x;
	if (prof_expect(&d->day, p->ts, &p->eday) >= 0) {
		base = p->eday;
		p->have_season = 1;
	}
	if (p->have_season && prof_expect(&d->week, p->ts, &p->eweek) >= 0) {
		if (p->learn) {
			d->err_day += (float)(rate * (fabs(x - p->eday) -
			    d->err_day));
			d->err_week += (float)(rate * (fabs(x - p->eday -
			    p->eweek) - d->err_week));
			d->week_w += (float)(rate * ((d->err_week <
			    d->err_day) - d->week_w));
		}
		base = p->eday + d->week_w * p->eweek;
		p->eweek += p->eday;
		p->have_week = d->week_w >= 0.5;
	}
	return base;
}

/* Surprises of the point against what was learnt before it. */
static void
tsad_surprises(const struct sre_tsad *d, struct point *p,
    struct sre_tsad_result *r)
{
	double *u = p->u, x = p->x;

	if (d->n > 0) {
		p->zr = robust_z(d, &d->lvl, x);
		u[SRE_TSAD_C_LEVEL] = fabs(p->zr);
		r->scale = floor_scale(d, d->lvl.scale, d->lvl.loc);
		if (p->have_week) {
			p->zr = robust_z(d, &d->week.sc, x - p->eweek);
			u[SRE_TSAD_C_WEEK] = fabs(p->zr);
			r->scale = floor_scale(d, d->week.sc.scale,
			    d->week.sc.loc);
		} else if (p->have_season) {
			p->zr = robust_z(d, &d->day.sc, x - p->eday);
			u[SRE_TSAD_C_SEASON] = fabs(p->zr);
			r->scale = floor_scale(d, d->day.sc.scale,
			    d->day.sc.loc);
		}
	}
	if (d->n > 1) {
		double a, fl;

		p->dr = p->resid - d->last_r;
		u[SRE_TSAD_C_CHANGE] = fabs(robust_z(d, &d->chg, p->dr));
		a = fabs(p->dr - d->chg.loc);
		fl = floor_scale(d, 0, d->lvl.loc);
		p->ss = d->spread_short + 0.1 * (a - d->spread_short);
		u[SRE_TSAD_C_SPREAD] = fabs(log((p->ss + fl) /
		    (d->spread_long + fl)));
	}
	if (d->n > 0) {
		double z = clamp(p->zr, -4, 4);

		p->cp = d->cusum_pos + z - 0.5;
		p->cn = d->cusum_neg - z - 0.5;
		u[SRE_TSAD_C_DRIFT] = p->cp > p->cn ? (p->cp > 0 ? p->cp : 0) :
		    (p->cn > 0 ? p->cn : 0);
	}
	if (d->grid_w > 0 && d->n >= GRID_AT + CTX_LEN) {
		p->sym = grid_symbol(d, x);
		p->slot = ctx_slot(d, p->sym);
		/* 1 for a never seen context, less the more it was seen. */
		u[SRE_TSAD_C_NOVEL] = 1.0 / (1.0 + d->ctx[p->slot]);
	}
}

/*
 * Each surprise weighed by its own tail (and its short running mean by
 * the burst tail); the tails learn.  The score: the least likely of
 * them, Bonferroni-corrected over the nc judged.
 */
static void
tsad_weigh(struct sre_tsad *d, struct point *p, struct sre_tsad_result *r)
{
	double *u = p->u, pmin = 1;
	int c, best = 0, nc = 0;

	for (c = 0; c < SRE_TSAD_NCOMP; c++) {
		double p1, p2, a = 0;
		int late;

		if (u[c] < 0 || !(d->cfg.components & (1U << c)))
			continue;
		/*
		 * A surprise is judged on the scale its tail learns on:
		 * capped at SURPRISE_CAP both ways.  Judged uncapped, a
		 * series whose surprises are routinely past the cap (one
		 * mostly at zero, its scale tiny) had a tail that never
		 * saw them and alarmed on each; a spike in a calm series
		 * is far out at the cap still.
		 */
		if (u[c] > SURPRISE_CAP)
			u[c] = SURPRISE_CAP;
		/*
		 * A component that came on late (a profile that just
		 * learnt its period, the pattern grid) says nothing until
		 * its tail holds TAIL_FULL of its own surprises: a few
		 * dozen are no history to judge the next one by.
		 */
		late = d->inst[c].n < TAIL_FULL &&
		    d->inst[c].n + TAIL_AT + TAIL_FULL < d->n;
		if (d->cfg.short_len > 0)
			a = d->avg[c] + (u[c] - d->avg[c]) /
			    d->cfg.short_len;
		if (!late) {
			p1 = tail_p(&d->inst[c], u[c], comp_unit[c]);
			nc++;
			if (p1 < pmin) {
				pmin = p1;
				best = c;
			}
		}
		if (!late && d->cfg.short_len > 0) {
			p2 = tail_p(&d->burst[c], a, comp_unit[c]);
			nc++;
			if (p2 < pmin) {
				pmin = p2;
				best = c;
			}
		}
		if (p->learn) {
			/*
			 * The tails learn once the baselines have settled,
			 * from surprises capped (above): the first points,
			 * judged against almost nothing, say nothing.
			 */
			if (d->n >= TAIL_AT) {
				tail_learn(&d->inst[c], u[c], d->cfg.lik_rate,
				    comp_unit[c]);
				if (d->cfg.short_len > 0)
					tail_learn(&d->burst[c], a, d->cfg.lik_rate,
					    comp_unit[c]);
			}
			d->avg[c] = (float)a;
		}
	}
	r->component = best;
	if (d->n >= d->cfg.warmup && nc > 0) {
		double lg = -log10(pmin * nc + 1e-300);

		/* Decades of improbability, squashed: 5 -> 0.5, 20 -> 0.8. */
		r->score = lg > 0 ? lg / (lg + SCORE_HALF) : 0;
	}
}

/* Alarm with hysteresis and refractory period. */
static void
tsad_alarm(struct sre_tsad *d, struct sre_tsad_result *r)
{
	if (d->since_alarm != UINT32_MAX)
		d->since_alarm++;
	if (!d->armed && r->score < d->cfg.threshold * d->cfg.hysteresis)
		d->armed = 1;
	r->event_score = r->score;
	/*
	 * The quiet period does not grow when alarms recur: lengthening it
	 * (doubling it up to 4 times) silenced the anomalies that follow a
	 * false alarm and lost more on NAB than the alarms it saved.
	 */
	if (d->armed && d->since_alarm >= d->cfg.refractory) {
		if (r->score >= d->cfg.threshold) {
			r->alarm = 1;
			d->armed = 0;
			d->since_alarm = 0;
		}
	} else
		r->event_score = r->score * d->cfg.damp;
}

/* The data's grain and spacing, the spreads and the CUSUMs learn. */
static void
tsad_learn_scales(struct sre_tsad *d, const struct point *p)
{
	double rate = d->cfg.level_rate;

	if (d->n > 0) {
		double a = fabs(p->x - d->last_v);

		if (a > 0 && (d->res == 0 || a < d->res))
			d->res = a;
		if (p->ts > d->last_ts) {
			double g = (double)(p->ts - d->last_ts);

			if (d->dt == 0)
				d->dt = g;
			else
				d->dt += 0.05 * d->dt *
				    clamp((g - d->dt) / d->dt, -1, 1);
		}
	}
	if (d->n > 1) {
		double a = fabs(p->dr - d->chg.loc);
		double cap = 4 * floor_scale(d, d->spread_long, d->lvl.loc);

		d->spread_short = p->ss;
		if (d->n > 2 && a > cap)
			a = cap;
		d->spread_long += (rate > 1.0 / d->n ? rate : 1.0 / d->n) *
		    (a - d->spread_long);
	}
	if (d->n > 0) {
		d->cusum_pos = p->cp * 0.98;
		d->cusum_neg = p->cn * 0.98;
		if (d->cusum_pos < 0)
			d->cusum_pos = 0;
		if (d->cusum_neg < 0)
			d->cusum_neg = 0;
	}
}

/* The profiles, the symbol grid and the baselines learn from the point. */
static void
tsad_learn(struct sre_tsad *d, struct point *p)
{
	double rate = d->cfg.level_rate, x = p->x;

	tsad_learn_scales(d, p);
	if (d->n + 1 == BINS_AT) {
		prof_size(&d->day, d->dt);
		prof_size(&d->week, d->dt);
	}
	prof_learn(d, &d->day, p->ts, x, rate);
	if (p->have_season)
		prof_learn(d, &d->week, p->ts, x - p->eday, rate);
	/* The symbol grid: the range of the first GRID_AT points. */
	if (d->n == 0)
		d->grid_lo = d->grid_hi = x;
	if (d->grid_w == 0) {
		if (x < d->grid_lo)
			d->grid_lo = x;
		if (x > d->grid_hi)
			d->grid_hi = x;
		if (d->n + 1 == GRID_AT) {
			d->grid_w = (d->grid_hi - d->grid_lo) / GRID_LEVELS;
			if (d->grid_w <= 0)
				d->grid_w = 1e-6 * fabs(d->grid_lo) + 1e-9;
		}
	} else {
		if (p->slot == UINT32_MAX) {
			p->sym = grid_symbol(d, x);
			if (d->n >= GRID_AT + CTX_LEN)
				p->slot = ctx_slot(d, p->sym);
		}
		if (p->slot != UINT32_MAX && d->ctx[p->slot] < UINT8_MAX)
			d->ctx[p->slot]++;
		memmove(d->sym + 1, d->sym, (CTX_LEN - 1) * sizeof(d->sym[0]));
		d->sym[0] = p->sym;
	}
	if (d->n > 1)
		robust_update(d, &d->chg, p->dr, rate, d->n - 1);
	robust_update(d, &d->lvl, x, rate, d->n);
	d->last_ts = p->ts;
	d->last_v = x;
	d->last_r = p->resid;
	d->n++;
}

int
sre_tsad_update(struct sre_tsad *d, int64_t ts_ms, double x,
    struct sre_tsad_result *out)
{
	struct sre_tsad_result r;
	struct point p;
	int c;

	memset(&r, 0, sizeof(r));
	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (!isfinite(x)) {
		errno = EDOM;
		return -1;
	}
	memset(&p, 0, sizeof(p));
	p.ts = ts_ms;
	p.x = x;
	p.learn = !(d->n > 0 && ts_ms < d->last_ts);
	p.slot = UINT32_MAX;
	for (c = 0; c < SRE_TSAD_NCOMP; c++)
		p.u[c] = -1;	/* not available */
	r.expected = tsad_baseline(d, &p);
	p.resid = x - r.expected;
	tsad_surprises(d, &p, &r);
	tsad_weigh(d, &p, &r);
	tsad_alarm(d, &r);
	if (p.learn)
		tsad_learn(d, &p);
	if (out != NULL)
		*out = r;
	return 0;
}
