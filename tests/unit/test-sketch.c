/*
 * test-sketch.c: lib/sketch, the DDSketch-style quantile sketch: relative
 * error against exact quantiles on several distributions, merging, the
 * bounded bucket array and its collapsing, bad values.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "sketch.h"
#include "tap.h"

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static double
uniform(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (double)((rng * 2685821657736338717ULL) >> 11) * 0x1.0p-53;
}

static double
lognormal(double mu, double sigma)
{
	double u = uniform(), v = uniform();

	if (u < 1e-300)
		u = 1e-300;
	return exp(mu + sigma * sqrt(-2 * log(u)) * cos(2 * M_PI * v));
}

static double
pareto(double xm, double a)
{
	return xm / pow(1 - uniform(), 1 / a);
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The worst relative error over a set of quantiles. */
static double
worst_error(const struct sre_sketch *s, double *v, size_t n)
{
	static const double qs[] = { 0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9,
	    0.95, 0.99, 0.999, 1 };
	double worst = 0, exact, est, e;
	size_t i;

	qsort(v, n, sizeof(*v), cmp);
	for (i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		exact = v[(size_t)(qs[i] * (double)(n - 1))];
		est = sre_sketch_quantile(s, qs[i]);
		e = fabs(est - exact) / exact;
		if (e > worst)
			worst = e;
	}
	return worst;
}

static void
check_distribution(const char *name, double (*gen)(void), double alpha)
{
	enum { N = 100000 };
	struct sre_sketch s;
	double *v = malloc(N * sizeof(*v));
	size_t i;

	sre_sketch_init(&s, alpha, 4096);
	for (i = 0; i < N; i++) {
		v[i] = gen();
		sre_sketch_add(&s, v[i]);
	}
	ok(sre_sketch_count(&s) == N, "%s: count", name);
	ok(worst_error(&s, v, N) <= alpha * 1.0001,
	    "%s: every quantile within alpha %.3f (worst %.5f)", name, alpha,
	    worst_error(&s, v, N));
	ok(!sre_sketch_collapsed(&s), "%s: nothing collapsed", name);
	sre_sketch_free(&s);
	free(v);
}

static double
gen_latency(void)
{
	return lognormal(log(25), 0.6);
}

static double
gen_heavy(void)
{
	return uniform() < 0.97 ? lognormal(log(3), 0.5) : pareto(50, 1.2);
}

static double
gen_wide(void)
{
	return exp(uniform() * 40 - 20);	/* 2e-9 .. 5e8 */
}

static double
gen_uniform(void)
{
	return 1 + uniform() * 1000;
}

static void
free_null(void)
{
	sre_sketch_free(NULL);
}

int
main(void)
{
	struct sre_sketch a, b, u, tiny;
	double vals[3000], q, x;
	int32_t k;
	int i, bad, rc;

	check_distribution("lognormal latency", gen_latency, 0.01);
	check_distribution("heavy tail", gen_heavy, 0.01);
	check_distribution("uniform", gen_uniform, 0.02);
	check_distribution("40 binades", gen_wide, 0.02);

	/* The bucket value stands within alpha of everything it holds. */
	sre_sketch_init(&a, 0.02, 64);
	for (bad = 0, i = 0; i < 100000; i++) {
		x = exp(uniform() * 30 - 15);
		k = sre_sketch_index(&a, x);
		q = sre_sketch_value(&a, k);
		if (fabs(q - x) / x > 0.02 * 1.0001)
			bad++;
	}
	ok(bad == 0, "every value is within alpha of its bucket's value "
	    "(%d outside)", bad);
	ok(sre_sketch_index(&a, 2.0) > sre_sketch_index(&a, 1.9) &&
	    sre_sketch_index(&a, 1.0) > sre_sketch_index(&a, 0.9),
	    "the mapping is monotone across binades");

	/* Empty sketches answer NaN. */
	ok(isnan(sre_sketch_quantile(&a, 0.5)) && isnan(sre_sketch_min(&a)) &&
	    sre_sketch_count(&a) == 0, "an empty sketch answers NaN");
	ok(sre_sketch_bytes(&a) == 0, "nothing is allocated before a value");

	/* Bad values are refused and leave the sketch as it was. */
	errno = 0;
	ok(sre_sketch_add(&a, NAN) == -1 && errno == EDOM, "NaN is refused");
	ok(sre_sketch_add(&a, INFINITY) == -1 && sre_sketch_count(&a) == 0,
	    "infinity is refused and not counted");
	ok(sre_sketch_add(&a, 0) == 0 && sre_sketch_add(&a, -5) == 0 &&
	    sre_sketch_count(&a) == 2 && sre_sketch_quantile(&a, 0) == -5 &&
	    sre_sketch_quantile(&a, 0.99) == 0,
	    "zero and negatives share the zero bucket");
	sre_sketch_reset(&a);

	/* Merging: the sketch of a union equals the merge of the sketches. */
	sre_sketch_init(&b, 0.02, 64);
	sre_sketch_init(&u, 0.02, 64);
	for (i = 0; i < 3000; i++) {
		vals[i] = i < 1500 ? lognormal(log(5), 0.3) :
		    lognormal(log(80), 0.3);
		sre_sketch_add(i % 2 ? &a : &b, vals[i]);
		sre_sketch_add(&u, vals[i]);
	}
	ok(sre_sketch_merge(&a, &b) == 0, "merge succeeds");
	for (bad = 0, i = 1; i < 100; i++)
		if (sre_sketch_quantile(&a, i / 100.0) !=
		    sre_sketch_quantile(&u, i / 100.0))
			bad++;
	ok(bad == 0 && sre_sketch_count(&a) == 3000,
	    "merged quantiles equal the union's exactly");
	ok(fabs(sre_sketch_sum(&a) - sre_sketch_sum(&u)) < 1e-6 *
	    sre_sketch_sum(&u) && sre_sketch_min(&a) == sre_sketch_min(&u) &&
	    sre_sketch_max(&a) == sre_sketch_max(&u),
	    "merged sum, min and max equal the union's");
	sre_sketch_init(&tiny, 0.05, 64);
	errno = 0;
	ok(sre_sketch_merge(&tiny, &a) == -1 && errno == EINVAL,
	    "sketches of different accuracy do not merge");

	/* Bounded memory: 64 buckets, values over 40 binades. */
	sre_sketch_reset(&a);
	for (i = 0; i < 100000; i++)
		sre_sketch_add(&a, exp(uniform() * 40 - 20));
	ok(a.nbins <= 64 && sre_sketch_bytes(&a) <= 64 * sizeof(uint32_t),
	    "the bucket array stays within max_bins (%u)", a.nbins);
	ok(sre_sketch_collapsed(&a), "and says it collapsed");
	ok(sre_sketch_count(&a) == 100000, "no value is lost to collapsing");
	x = sre_sketch_quantile(&a, 0.999);
	ok(x > exp(20) * 0.9 && x < exp(20), "the top quantiles keep their "
	    "accuracy (p99.9 %g)", x);
	/* A new maximum far above everything collapses it all into one. */
	sre_sketch_add(&a, 1e300);
	ok(sre_sketch_max(&a) == 1e300 && sre_sketch_quantile(&a, 1) == 1e300 &&
	    sre_sketch_count(&a) == 100001, "an absurd maximum is held");
	x = sre_sketch_quantile(&a, 0.5);
	ok(x >= sre_sketch_min(&a) && x <= 1e300,
	    "quantiles stay within [min, max]");

	/* Reset keeps the memory, forgets the values. */
	sre_sketch_reset(&a);
	ok(sre_sketch_count(&a) == 0 && sre_sketch_bytes(&a) > 0,
	    "reset keeps the buckets' memory");
	sre_sketch_add(&a, 42);
	ok(fabs(sre_sketch_quantile(&a, 0.5) - 42) == 0,
	    "one value is its own every quantile (clamped to min and max)");

	/* A shared budget: growth past it fails, freeing gives it back. */
	{
		struct sre_sketch_pool pool = { 0, 128 * sizeof(uint32_t) };
		struct sre_sketch p1, p2;

		sre_sketch_init(&p1, 0.02, 256);
		sre_sketch_init(&p2, 0.02, 256);
		sre_sketch_set_pool(&p1, &pool);
		sre_sketch_set_pool(&p2, &pool);
		for (i = 0; i < 1000; i++)
			sre_sketch_add(&p1, 1 + i % 5);
		ok(pool.used > 0 && pool.used <= pool.limit,
		    "the pool counts the buckets (%zu bytes)", pool.used);
		errno = 0;
		for (bad = 0, i = 0; i < 1000; i++)
			if (sre_sketch_add(&p2, exp(uniform() * 20)) < 0)
				bad++;
		ok(bad > 0 && errno == ENOMEM && pool.used <= pool.limit,
		    "growth past the budget fails (%d times)", bad);
		ok(sre_sketch_count(&p2) > 0, "values still land in the "
		    "buckets held");
		sre_sketch_free(&p1);
		sre_sketch_free(&p2);
		ok(pool.used == 0, "freeing gives the memory back");
	}

	errno = 0;
	ok(sre_sketch_init(&tiny, 0, 64) == -1 && errno == EINVAL &&
	    sre_sketch_init(&tiny, 0.5, 64) == -1 &&
	    sre_sketch_init(&tiny, 0.01, 4) == -1,
	    "bad settings are refused");
	sre_sketch_free(&a);
	ok(sre_sketch_count(&a) == 0 && isnan(sre_sketch_quantile(&a, 0.5)),
	    "free leaves the sketch empty");
	rc = sre_sketch_add(&a, 5);
	q = sre_sketch_quantile(&a, 0.5);
	ok(rc == 0 && sre_sketch_count(&a) == 1 && fabs(q - 5) <= 5 * 0.02,
	    "and reusable: a value added after free is found (%.3f)", q);
	sre_sketch_free(&a);
	sre_sketch_free(&a);
	ok(sre_sketch_count(&a) == 0, "a second free is harmless");
	sre_sketch_free(&b);
	sre_sketch_free(&u);
	ok(tap_survives(free_null), "free accepts NULL");
	return tap_done();
}
