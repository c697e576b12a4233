/*
 * detect.h: the two small pieces every sre-scout series is judged with:
 * a robust learned baseline, and hysteresis against flapping.
 *
 * Baseline.  A location (an EWMA) and a scale (an EWMA of the absolute
 * deviation from it, about 0.8 sigma for Gaussian data: a running MAD),
 * learned one window at a time.  Robust in two ways: an update moves the
 * location by a residual clipped to clip times the scale (Huber), so one
 * absurd value moves it by one bounded step, never more; and the caller
 * does not feed it the windows it judged anomalous.  The first windows
 * learn faster (the rate is 1/n until it falls to the configured rate),
 * so a baseline is usable after a handful of windows; the first three
 * windows are not clipped, as there is no scale to clip them by yet.
 *
 *	struct sre_baseline b;
 *	sre_baseline_init(&b);
 *	z = sre_baseline_z(&b, log(p95), 0.1);	(before learning it)
 *	if (z < threshold)
 *		sre_baseline_learn(&b, log(p95), 0.1, 0.05, 3);
 *
 * Hysteresis.  A series is raised when its score reaches the raise level
 * for raise_n windows in a row (or at once when the caller says the
 * evidence is strong) and cleared when it stays under the lower clear
 * level for clear_n windows in a row; a window between the two levels
 * changes nothing.  So a score hovering at the threshold does not flap,
 * and one odd window does not raise.
 */
#ifndef SRE_DETECT_H
#define SRE_DETECT_H

#include <stdint.h>

struct sre_baseline {
	double mean;		/* location */
	double dev;		/* mean absolute deviation */
	uint32_t n;		/* windows learnt */
};

/* An empty baseline (n == 0). */
void sre_baseline_init(struct sre_baseline *b);

/*
 * The deviation of x from the baseline in robust standard units:
 * (x - mean) / max(1.25 * dev, floor).  floor (> 0) keeps a flat series
 * from turning the least change into a huge score.  0 while n == 0.
 */
double sre_baseline_z(const struct sre_baseline *b, double x, double floor);

/*
 * Learn one window's value x at rate (0 < rate <= 1); the residual is
 * clipped to clip * max(dev, floor) before it moves the location.
 * Non-finite x is ignored.
 */
void sre_baseline_learn(struct sre_baseline *b, double x, double floor,
    double rate, double clip);

enum sre_hyst_change {
	SRE_HYST_NONE = 0,
	SRE_HYST_RAISE,		/* normal -> anomalous */
	SRE_HYST_CLEAR		/* anomalous -> normal */
};

struct sre_hyst {
	uint8_t anomalous;	/* current state */
	uint8_t hot;		/* windows in a row at or above raise */
	uint8_t calm;		/* windows in a row below clear */
};

/*
 * One window's verdict: above (the score reached the raise level), strong
 * (so far above it that one window is enough), below (the score is under
 * the clear level; a window without enough data to judge passes all
 * three as 0).  Returns the change, if any.
 */
enum sre_hyst_change sre_hyst_step(struct sre_hyst *h, int above, int strong,
    int below, unsigned raise_n, unsigned clear_n);

#endif
