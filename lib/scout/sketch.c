/* sketch.c: DDSketch-style quantile sketch (see sketch.h). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sketch.h"

/*
 * f(x) = e + P(s) for x = 2^e * (1 + s), 0 <= s < 1: the cubic of the
 * DDSketch paper's "cubically interpolated" mapping, P(0) = 0, P(1) = 1,
 * increasing, close to log2(1 + s).  Its slope against log2(x) varies a
 * little over a binade; MIN_SLOPE, its minimum, sizes the buckets so that
 * even the widest one spans at most gamma.
 */
#define PA (6.0 / 35.0)
#define PB (-3.0 / 5.0)
#define PC (10.0 / 7.0)

/* The slope is least at s = 0 (checked numerically over [0, 1]): PC ln 2.
 * A hair less, for the rounding of the arithmetic. */
#define MIN_SLOPE (PC * M_LN2 * 0.9999)

static double
poly(double s)
{
	return ((PA * s + PB) * s + PC) * s;
}

static double
dpoly(double s)
{
	return (3 * PA * s + 2 * PB) * s + PC;
}

/* f(x) for a positive, finite, normal x: bit arithmetic, no log(). */
static inline double
fmap(double x)
{
	uint64_t b;
	int e;
	double s;

	memcpy(&b, &x, sizeof(b));
	e = (int)((b >> 52) & 0x7ff) - 1023;
	b = (b & 0x000fffffffffffffULL) | 0x3ff0000000000000ULL;
	memcpy(&s, &b, sizeof(s));
	return e + poly(s - 1);
}

/* The inverse of fmap. */
static double
finv(double y)
{
	double e = floor(y), t = y - e, s = t, d;
	int i;

	for (i = 0; i < 30; i++) {
		d = (poly(s) - t) / dpoly(s);
		s -= d;
		if (s < 0)
			s = 0;
		if (s > 1)
			s = 1;
		if (fabs(d) < 1e-15)
			break;
	}
	return ldexp(1 + s, (int)e);
}

int
sre_sketch_init(struct sre_sketch *s, double alpha, uint32_t max_bins)
{
	double gamma;

	if (s == NULL || !(alpha > 0 && alpha < 0.5) || max_bins < 8 ||
	    max_bins > (1u << 24)) {
		errno = EINVAL;
		return -1;
	}
	memset(s, 0, sizeof(*s));	/* no pool */
	gamma = (1 + alpha) / (1 - alpha);
	s->alpha = alpha;
	s->mult = 1 / (log2(gamma) * MIN_SLOPE);
	s->max_bins = max_bins;
	s->min = INFINITY;
	s->max = -INFINITY;
	return 0;
}

void
sre_sketch_set_pool(struct sre_sketch *s, struct sre_sketch_pool *pool)
{
	s->pool = pool;
}

void
sre_sketch_free(struct sre_sketch *s)
{
	if (s == NULL)
		return;
	if (s->pool != NULL)
		s->pool->used -= (size_t)s->cap * sizeof(*s->bins);
	free(s->bins);
	s->bins = NULL;
	s->cap = 0;
	sre_sketch_reset(s);
}

void
sre_sketch_reset(struct sre_sketch *s)
{
	s->nbins = 0;
	s->offset = 0;
	s->count = s->zero = 0;
	s->sum = 0;
	s->min = INFINITY;
	s->max = -INFINITY;
	s->collapsed = 0;
}

/* ceil() without a call into libm (no SSE4.1 in the baseline ISA). */
static inline int32_t
index_of(const struct sre_sketch *s, double v)
{
	double y = fmap(v) * s->mult;
	int32_t i = (int32_t)y;

	return i < y ? i + 1 : i;
}

int32_t
sre_sketch_index(const struct sre_sketch *s, double v)
{
	return index_of(s, v);
}

double
sre_sketch_value(const struct sre_sketch *s, int32_t index)
{
	double lo = finv((index - 1) / s->mult), hi = finv(index / s->mult);

	return 2 * lo * hi / (lo + hi);
}

static int
reserve(struct sre_sketch *s, uint32_t need)
{
	uint32_t cap;
	uint32_t *nb;

	if (need <= s->cap)
		return 0;
	cap = s->cap < 16 ? 16 : s->cap * 2;
	if (cap < need)
		cap = need;
	if (cap > s->max_bins)
		cap = s->max_bins;
	if (s->pool != NULL && s->pool->used + (size_t)(cap - s->cap) *
	    sizeof(*nb) > s->pool->limit) {
		/* Over budget: grow only as far as needed, if that fits. */
		cap = need;
		if (s->pool->used + (size_t)(cap - s->cap) * sizeof(*nb) >
		    s->pool->limit)
			return -1;
	}
	if ((nb = realloc(s->bins, (size_t)cap * sizeof(*nb))) == NULL)
		return -1;
	if (s->pool != NULL)
		s->pool->used += (size_t)(cap - s->cap) * sizeof(*nb);
	s->bins = nb;
	s->cap = cap;
	return 0;
}

static void
bump(uint32_t *c, uint64_t n)
{
	*c = n > UINT32_MAX - *c ? UINT32_MAX : *c + (uint32_t)n;
}

/* Count n values in bucket k; the caller counted them in s->count. */
static int
add_index(struct sre_sketch *s, int32_t k, uint64_t n)
{
	int64_t need;
	uint32_t drop, i;
	uint64_t total;

	if (s->nbins == 0) {
		if (reserve(s, 1) < 0)
			return -1;
		s->offset = k;
		s->nbins = 1;
		s->bins[0] = 0;
		bump(&s->bins[0], n);
		return 0;
	}
	if (k < s->offset) {
		need = (int64_t)s->offset + s->nbins - k;
		if (need > s->max_bins) {
			/* Below the lowest bucket held: collapse into it. */
			bump(&s->bins[0], n);
			s->collapsed = 1;
			return 0;
		}
		if (reserve(s, (uint32_t)need) < 0) {
			bump(&s->bins[0], n);
			return -1;
		}
		drop = (uint32_t)(s->offset - k);
		memmove(s->bins + drop, s->bins, s->nbins * sizeof(*s->bins));
		memset(s->bins, 0, drop * sizeof(*s->bins));
		s->offset = k;
		s->nbins = (uint32_t)need;
		bump(&s->bins[0], n);
		return 0;
	}
	if (k >= (int64_t)s->offset + s->nbins) {
		need = (int64_t)k - s->offset + 1;
		if (need > s->max_bins) {
			/* Collapse the lowest buckets to make room above. */
			drop = (uint32_t)(need - s->max_bins);
			s->collapsed = 1;
			if (drop >= s->nbins) {
				for (total = 0, i = 0; i < s->nbins; i++)
					total += s->bins[i];
				if (reserve(s, s->max_bins) < 0) {
					bump(&s->bins[s->nbins - 1], n);
					return -1;
				}
				memset(s->bins, 0, s->max_bins *
				    sizeof(*s->bins));
				s->bins[0] = 0;
				bump(&s->bins[0], total);
				s->offset = k - (int32_t)s->max_bins + 1;
				s->nbins = s->max_bins;
				bump(&s->bins[s->nbins - 1], n);
				return 0;
			}
			for (total = 0, i = 0; i < drop; i++)
				total += s->bins[i];
			bump(&s->bins[drop], total);
			memmove(s->bins, s->bins + drop,
			    (s->nbins - drop) * sizeof(*s->bins));
			s->offset += (int32_t)drop;
			s->nbins -= drop;
			need = s->max_bins;
		}
		if (reserve(s, (uint32_t)need) < 0) {
			bump(&s->bins[s->nbins - 1], n);
			return -1;
		}
		memset(s->bins + s->nbins, 0,
		    ((uint32_t)need - s->nbins) * sizeof(*s->bins));
		s->nbins = (uint32_t)need;
	}
	bump(&s->bins[k - s->offset], n);
	return 0;
}

int
sre_sketch_add_n(struct sre_sketch *s, double v, uint64_t n)
{
	if (isnan(v) || isinf(v)) {
		errno = EDOM;
		return -1;
	}
	if (n == 0)
		return 0;
	s->count += n;
	s->sum += v * (double)n;
	if (v < s->min)
		s->min = v;
	if (v > s->max)
		s->max = v;
	if (v < SRE_SKETCH_MIN_VALUE) {
		s->zero += n;
		return 0;
	}
	if (add_index(s, index_of(s, v), n) < 0) {
		if (s->nbins == 0)
			s->count -= n;	/* dropped: nowhere to count it */
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

int
sre_sketch_add(struct sre_sketch *s, double v)
{
	return sre_sketch_add_n(s, v, 1);
}

int
sre_sketch_merge(struct sre_sketch *dst, const struct sre_sketch *src)
{
	uint32_t i;
	int rc = 0;

	if (dst->alpha != src->alpha) {
		errno = EINVAL;
		return -1;
	}
	if (src->count == 0)
		return 0;
	/* The highest buckets first: collapsing then keeps them. */
	for (i = src->nbins; i-- > 0;)
		if (src->bins[i] != 0 &&
		    add_index(dst, src->offset + (int32_t)i, src->bins[i]) < 0)
			rc = -1;
	dst->count += src->count;
	dst->zero += src->zero;
	dst->sum += src->sum;
	if (src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
	dst->collapsed |= src->collapsed;
	if (rc < 0)
		errno = ENOMEM;
	return rc;
}

double
sre_sketch_quantile(const struct sre_sketch *s, double q)
{
	uint64_t rank, cum;
	double v;
	uint32_t i;

	if (s->count == 0)
		return NAN;
	if (!(q > 0))
		return s->min;
	if (q >= 1)
		return s->max;
	rank = (uint64_t)(q * (double)(s->count - 1));
	cum = s->zero;
	if (rank < cum)
		v = 0;
	else {
		v = s->max;
		for (i = 0; i < s->nbins; i++) {
			cum += s->bins[i];
			if (cum > rank) {
				v = sre_sketch_value(s, s->offset + (int32_t)i);
				break;
			}
		}
	}
	if (v < s->min)
		v = s->min;
	if (v > s->max)
		v = s->max;
	return v;
}

uint64_t
sre_sketch_count(const struct sre_sketch *s)
{
	return s->count;
}

double
sre_sketch_sum(const struct sre_sketch *s)
{
	return s->sum;
}

double
sre_sketch_min(const struct sre_sketch *s)
{
	return s->count ? s->min : NAN;
}

double
sre_sketch_max(const struct sre_sketch *s)
{
	return s->count ? s->max : NAN;
}

int
sre_sketch_collapsed(const struct sre_sketch *s)
{
	return s->collapsed;
}

size_t
sre_sketch_bytes(const struct sre_sketch *s)
{
	return (size_t)s->cap * sizeof(*s->bins);
}
