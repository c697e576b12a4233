/*
 * sketch.h: a mergeable quantile sketch with bounded relative error, in
 * the manner of DDSketch (Masson, Rim, Lee: "DDSketch: a fast and fully-
 * mergeable quantile sketch with relative-error guarantees", VLDB 2019).
 *
 * Positive values are counted in logarithmic buckets: bucket i holds the
 * values x with f(x) in ((i - 1) / m, i / m], f an approximation of log2
 * (the exponent of x plus a cubic in its mantissa, so no call to log()
 * on the hot path) and m chosen so that every bucket spans a ratio of at
 * most gamma = (1 + alpha) / (1 - alpha).  A quantile is answered with a
 * value within relative error alpha of the true one (of the sample's
 * value at that rank), whatever the distribution.  Values below
 * SRE_SKETCH_MIN_VALUE (zero, negatives) share a zero bucket.
 *
 * Memory is bounded: the buckets are one contiguous array of at most
 * max_bins counters; when a value would need more, the lowest buckets
 * are collapsed into one (upper quantiles, the ones latency is judged
 * by, keep their guarantee; the lowest ones lose it, and
 * sre_sketch_collapsed() says so).  The array is allocated on the first
 * value and kept across sre_sketch_reset(), so a sketch reused window
 * after window does not allocate again.
 *
 * Two sketches with the same alpha merge exactly: merging the sketches
 * of two samples gives the sketch of their union.
 *
 *	struct sre_sketch sk;
 *	if (sre_sketch_init(&sk, 0.01, 512) < 0)
 *		return -1;			(errno EINVAL)
 *	for (...)
 *		sre_sketch_add(&sk, duration_ms);
 *	p99 = sre_sketch_quantile(&sk, 0.99);
 *	sre_sketch_free(&sk);
 *
 * The struct is public so that it can be embedded; use the functions.
 */
#ifndef SRE_SKETCH_H
#define SRE_SKETCH_H

#include <stddef.h>
#include <stdint.h>

#define SRE_SKETCH_MIN_VALUE 1e-9	/* smaller values: the zero bucket */

/* A budget of bucket memory shared by many sketches (optional). */
struct sre_sketch_pool {
	size_t used;		/* bytes of buckets allocated */
	size_t limit;		/* growth beyond this fails (ENOMEM) */
};

struct sre_sketch {
	struct sre_sketch_pool *pool;	/* NULL: no budget */
	double alpha;		/* relative accuracy, 0 < alpha < 1 */
	double mult;		/* buckets per unit of f */
	uint32_t *bins;		/* counts, bins[0] is bucket offset */
	int32_t offset;		/* index of bins[0] */
	uint32_t nbins;		/* buckets in use */
	uint32_t cap;		/* buckets allocated */
	uint32_t max_bins;	/* the bound on nbins */
	uint64_t count;		/* values added, zero bucket included */
	uint64_t zero;		/* values in the zero bucket */
	double sum, min, max;	/* of the values added */
	int collapsed;		/* low buckets were merged */
};

/*
 * Make an empty sketch of relative accuracy alpha (0 < alpha < 0.5) with
 * at most max_bins buckets (>= 8).  Allocates nothing yet.  Returns 0, or
 * -1 with errno EINVAL for a bad argument.
 */
int sre_sketch_init(struct sre_sketch *s, double alpha, uint32_t max_bins);

/* Free the buckets; the sketch is left empty and reusable.  Accepts NULL. */
void sre_sketch_free(struct sre_sketch *s);

/*
 * Draw the buckets from pool (borrowed; it must outlive the sketch):
 * growth that would take pool->used past pool->limit fails as ENOMEM
 * does, and sre_sketch_free gives the memory back.  Call before the
 * first value.
 */
void sre_sketch_set_pool(struct sre_sketch *s, struct sre_sketch_pool *pool);

/* Forget the values, keep the buckets' memory and the settings. */
void sre_sketch_reset(struct sre_sketch *s);

/*
 * Add a value n times (n >= 1).  Returns 0; -1 with errno EDOM for NaN
 * or an infinity (ignored), ENOMEM when the buckets could not grow (the
 * value is then counted in the nearest bucket held, or dropped if none).
 */
int sre_sketch_add(struct sre_sketch *s, double v);
int sre_sketch_add_n(struct sre_sketch *s, double v, uint64_t n);

/*
 * Add everything src holds to dst (src is borrowed).  Returns 0, or -1
 * with errno EINVAL when the two do not share alpha, ENOMEM as above.
 */
int sre_sketch_merge(struct sre_sketch *dst, const struct sre_sketch *src);

/*
 * The value at quantile q (0 <= q <= 1; clamped): the estimate of the
 * sample's value of rank floor(q * (count - 1)), within relative error
 * alpha, and never outside [min, max].  NaN when the sketch is empty.
 */
double sre_sketch_quantile(const struct sre_sketch *s, double q);

/* Counts and moments.  Borrow s. */
uint64_t sre_sketch_count(const struct sre_sketch *s);
double sre_sketch_sum(const struct sre_sketch *s);
double sre_sketch_min(const struct sre_sketch *s);	/* NaN if empty */
double sre_sketch_max(const struct sre_sketch *s);	/* NaN if empty */
int sre_sketch_collapsed(const struct sre_sketch *s);

/* Heap bytes held by the buckets. */
size_t sre_sketch_bytes(const struct sre_sketch *s);

/* The bucket index of v and the value that stands for a bucket (for
 * tests and for callers that keep their own counts). */
int32_t sre_sketch_index(const struct sre_sketch *s, double v);
double sre_sketch_value(const struct sre_sketch *s, int32_t index);

#endif
