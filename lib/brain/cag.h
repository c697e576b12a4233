/*
 * cag.h: tier-1 diagnosis from the CAG table (cache-augmented generation:
 * a known fingerprint with a verified fix needs no reasoning).
 *
 * The table itself lives in the store (store.h: sre_txn_cag_*); sre-curate
 * fills it as fixes are verified.  This module decides what sre-cag(1)
 * says about an anomaly whose fingerprint has a good enough track record.
 */
#ifndef SRE_CAG_H
#define SRE_CAG_H

#include <stdint.h>

#include <jv.h>

#include "store.h"

#define SRE_CAG_MIN_SUCCESSES	2
#define SRE_CAG_MIN_RATIO	0.8

struct sre_cag_rule {
	long min_successes;	/* verified successes needed */
	double min_ratio;	/* successes / (successes + failures) */
};

/*
 * Confidence from a track record of s verified successes and f failures:
 * the mean of a Beta(1, 1) prior updated with them, (s + 1) / (s + f + 2),
 * rounded to 3 decimals.  2 of 2 gives 0.75, 9 of 10 gives 0.833.
 */
double sre_cag_confidence(int64_t s, int64_t f);

/*
 * Look up the entry for fingerprint fp in t and decide: 1 with *entry set
 * when one passes the rule, 0 when none does, -1 on a store error (the
 * message is in t).
 */
int sre_cag_lookup(struct sre_txn *t, const char *fp,
    const struct sre_cag_rule *rule, jv *entry);

/*
 * The `diagnosis` event for anomaly (borrowed) from CAG entry (borrowed):
 * source sre-cag, the cached proposal, root cause and past incidents, a
 * confidence from the track record.  Its id derives from the incident and
 * its ts_ms is the anomaly's, so a replay says the same thing.  The
 * anomaly must have a string incident (checked by the caller).
 */
jv sre_cag_diagnosis(jv anomaly, jv entry);

#endif
