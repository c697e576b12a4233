/*
 * store-cag.c: the CAG, known fixes per fingerprint: one entry per
 * fingerprint and proposal (its key: the fingerprint, a NUL and a hash of
 * the proposal), counting successes and failures.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "event.h"
#include "hash.h"
#include "store-int.h"

#define CAG_KEEP	5	/* incidents remembered per CAG entry */

/* ---- CAG -------------------------------------------------------------- */

/* fp, NUL, 16 hex digits of a hash of the proposal (sorted keys). */
int
store_cag_key(struct sre_txn *t, struct key *k, const char *fp, jv proposal)
{
	jv s;
	uint64_t h;
	char hex[17];

	if (!sre_store_key_ok(fp)) {
		jv_free(proposal);
		return store_badkey(t, "fingerprint", fp);
	}
	s = jv_dump_string(proposal, JV_PRINT_SORTED);
	if (jv_get_kind(s) != JV_KIND_STRING) {
		jv_free(s);
		return sre_txn_fail(t, EX_OSERR, "out of memory");
	}
	h = sre_fnv1a64(SRE_FNV64_BASIS, jv_string_value(s),
	    (size_t)jv_string_length_bytes(jv_copy(s)));
	jv_free(s);
	snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)h);
	k->n = 0;
	key_str(k, fp);
	key_nul(k);
	key_cat(k, hex);
	return 0;
}

static int64_t
num_or(jv o, const char *name, int64_t dflt)
{
	int64_t v;

	return sre_jv_int(o, name, &v) == 0 ? v : dflt;
}

int
sre_txn_cag_learn(struct sre_txn *t, const char *fp, jv proposal,
    int success, const char *incident, int64_t ts_ms, jv root_cause)
{
	struct key k;
	jv e, list;
	int rc;

	if (jv_get_kind(proposal) != JV_KIND_OBJECT)
		return sre_txn_fail(t, EX_DATAERR, "CAG: the proposal is not "
		    "an object");
	if (store_cag_key(t, &k, fp, jv_copy(proposal)) < 0)
		return -1;
	e = store_get_json(t, DB_CAG, k.b, k.n);
	if (!jv_is_valid(e))
		return -1;
	if (jv_get_kind(e) != JV_KIND_OBJECT) {
		jv_free(e);
		e = jv_object();
		e = jv_object_set(e, jv_string("fingerprint"), jv_string(fp));
		e = jv_object_set(e, jv_string("proposal"), jv_copy(proposal));
		e = jv_object_set(e, jv_string("successes"), jv_number(0));
		e = jv_object_set(e, jv_string("failures"), jv_number(0));
		e = jv_object_set(e, jv_string("updated_ms"), jv_number(0));
		e = jv_object_set(e, jv_string("incidents"), jv_array());
		e = jv_object_set(e, jv_string("root_cause"), jv_null());
	}
	if (success) {
		e = jv_object_set(e, jv_string("successes"), jv_number(
		    (double)(num_or(e, "successes", 0) + 1)));
		list = jv_object_get(jv_copy(e), jv_string("incidents"));
		if (jv_get_kind(list) != JV_KIND_ARRAY) {
			jv_free(list);
			list = jv_array();
		}
		if (incident != NULL) {
			list = store_add_unique(list, incident);
			while (jv_array_length(jv_copy(list)) > CAG_KEEP)
				list = jv_array_slice(list, 1,
				    jv_array_length(jv_copy(list)));
		}
		e = jv_object_set(e, jv_string("incidents"), list);
		if (jv_get_kind(root_cause) == JV_KIND_OBJECT)
			e = jv_object_set(e, jv_string("root_cause"),
			    jv_copy(root_cause));
	} else
		e = jv_object_set(e, jv_string("failures"), jv_number(
		    (double)(num_or(e, "failures", 0) + 1)));
	if (ts_ms > num_or(e, "updated_ms", 0))
		e = jv_object_set(e, jv_string("updated_ms"),
		    jv_number((double)ts_ms));
	rc = store_put_json(t, DB_CAG, k.b, k.n, e, 0);
	jv_free(e);
	return rc < 0 ? -1 : 0;
}

jv
sre_txn_cag_get(struct sre_txn *t, const char *fp, jv proposal)
{
	struct key k;

	if (jv_get_kind(proposal) != JV_KIND_OBJECT)
		return jv_null();
	if (store_cag_key(t, &k, fp, jv_copy(proposal)) < 0)
		return jv_invalid();
	return store_get_json(t, DB_CAG, k.b, k.n);
}

/* A CAG walk: fn on each entry (consumed), as its caller's ctx. */
struct cag_walk {
	int (*fn)(jv, void *);
	void *ctx;
};

static int
cag_each_fn(struct scan *s, void *ctx)
{
	struct cag_walk *w = ctx;
	jv e = store_scan_json(s);

	if (!jv_is_valid(e))
		return -1;
	return w->fn(e, w->ctx);
}

/* Call fn on each CAG entry of fp (every entry when fp is NULL). */
static int
cag_each(struct sre_txn *t, const char *fp, int (*fn)(jv, void *), void *ctx)
{
	struct cag_walk w = { fn, ctx };
	struct key p;

	p.n = 0;
	if (fp != NULL) {
		if (!sre_store_key_ok(fp))
			return store_badkey(t, "fingerprint", fp);
		key_str(&p, fp);
		key_nul(&p);
	}
	return store_scan(t, DB_CAG, SCAN_ALL, p.b, p.n, p.n, cag_each_fn, &w);
}

struct best {
	long min_s;
	double min_r;
	jv e;
	int64_t s;
	double ratio;
};

static int
best_fn(jv e, void *ctx)
{
	struct best *b = ctx;
	int64_t s = num_or(e, "successes", 0), f = num_or(e, "failures", 0);
	double ratio = s + f > 0 ? (double)s / (double)(s + f) : 0;

	int better = jv_get_kind(b->e) == JV_KIND_NULL || s > b->s ||
	    (s == b->s && ratio > b->ratio);

	if (s >= b->min_s && ratio >= b->min_r && better) {
		jv_free(b->e);
		b->e = e;
		b->s = s;
		b->ratio = ratio;
		return 0;
	}
	jv_free(e);
	return 0;
}

int
sre_txn_cag_best(struct sre_txn *t, const char *fp, long min_successes,
    double min_ratio, jv *entry)
{
	struct best b = { min_successes, min_ratio, jv_null(), 0, 0 };

	if (cag_each(t, fp, best_fn, &b) < 0) {
		jv_free(b.e);
		return -1;
	}
	if (jv_get_kind(b.e) == JV_KIND_NULL)
		return 0;
	*entry = b.e;
	return 1;
}

static int
list_fn(jv e, void *ctx)
{
	jv *a = ctx;

	*a = jv_array_append(*a, e);
	return 0;
}

jv
sre_txn_cag_list(struct sre_txn *t, const char *fp)
{
	jv a = jv_array();

	if (cag_each(t, fp, list_fn, &a) < 0) {
		jv_free(a);
		return jv_invalid();
	}
	return a;
}

int
sre_txn_cag_put(struct sre_txn *t, jv entry)
{
	const char *fp = sre_jv_str(entry, "fingerprint");
	jv p = jv_object_get(jv_copy(entry), jv_string("proposal"));
	struct key k;

	if (jv_get_kind(p) != JV_KIND_OBJECT) {
		jv_free(p);
		return sre_txn_fail(t, EX_DATAERR, "CAG entry without a "
		    "proposal object");
	}
	if (store_cag_key(t, &k, fp, p) < 0)
		return -1;
	return store_put_json(t, DB_CAG, k.b, k.n, entry, 0) < 0 ? -1 : 0;
}

