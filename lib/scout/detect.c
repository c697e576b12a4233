/* detect.c: robust baselines and hysteresis (see detect.h). */
#include <math.h>
#include <string.h>

#include "detect.h"

void
sre_baseline_init(struct sre_baseline *b)
{
	memset(b, 0, sizeof(*b));
}

double
sre_baseline_z(const struct sre_baseline *b, double x, double floor)
{
	double scale;

	if (b->n == 0 || !isfinite(x))
		return 0;
	scale = 1.25 * b->dev;
	if (scale < floor)
		scale = floor;
	return (x - b->mean) / scale;
}

void
sre_baseline_learn(struct sre_baseline *b, double x, double floor,
    double rate, double clip)
{
	double r, lim, a;

	if (!isfinite(x))
		return;
	if (b->n == 0) {
		b->mean = x;
		b->dev = 0;
		b->n = 1;
		return;
	}
	b->n++;
	/* Learn fast at first: the running mean of the first windows. */
	a = 1.0 / b->n;
	if (a < rate)
		a = rate;
	r = x - b->mean;
	/* The first few windows set the scale: they are not clipped. */
	lim = b->n <= 3 ? INFINITY : clip * (b->dev > floor ? b->dev : floor);
	if (r > lim)
		r = lim;
	else if (r < -lim)
		r = -lim;
	b->mean += a * r;
	b->dev += a * (fabs(r) - b->dev);
}

enum sre_hyst_change
sre_hyst_step(struct sre_hyst *h, int above, int strong, int below,
    unsigned raise_n, unsigned clear_n)
{
	if (above) {
		if (h->hot < UINT8_MAX)
			h->hot++;
	} else
		h->hot = 0;
	if (below) {
		if (h->calm < UINT8_MAX)
			h->calm++;
	} else
		h->calm = 0;
	if (!h->anomalous && h->hot > 0 && (strong ||
	    h->hot >= (raise_n ? raise_n : 1))) {
		h->anomalous = 1;
		h->calm = 0;
		return SRE_HYST_RAISE;
	}
	if (h->anomalous && h->calm >= (clear_n ? clear_n : 1)) {
		h->anomalous = 0;
		h->hot = 0;
		return SRE_HYST_CLEAR;
	}
	return SRE_HYST_NONE;
}
