/*
 * store-gc.c: forgetting: closed incidents older than a time, with all
 * that is stored for them (sre-fix's diagnoses and verdicts included),
 * and samples and window counters as old.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "event.h"
#include "store-int.h"

/* ---- gc --------------------------------------------------------------- */

/* The incidents gc removes: ids in order, and keys: an object of each
 * id -> the kv keys that go with it. */
struct gc_scan {
	int64_t before;
	jv ids, keys;
};

static int
gc_pick(jv rec, void *ctx)
{
	struct gc_scan *g = ctx;
	const char *status = sre_jv_str(rec, "status");
	const char *id = sre_jv_str(rec, "incident");
	int64_t closed;

	if (status == NULL || strcmp(status, "closed") != 0 || id == NULL ||
	    sre_jv_int(rec, "closed_ms", &closed) < 0 || closed >= g->before)
		return 0;
	g->ids = jv_array_append(g->ids, jv_string(id));
	g->keys = jv_object_set(g->keys, jv_string(id), jv_array());
	return 0;
}

/* What one write transaction of gc removes, and counts. */
struct gc_del {
	const char *id;
	jv keys;		/* kv keys that go with incident id */
	long long events;
	int64_t before;
	long long n;
};

static int
gc_incident(struct sre_txn *t, void *ctx)
{
	struct gc_del *g = ctx;
	jv tl = sre_txn_timeline(t, g->id);
	int i, n;

	if (!jv_is_valid(tl))
		return -1;
	g->events = jv_array_length(tl);
	if (sre_txn_incident_del(t, g->id) < 0)
		return -1;
	n = jv_get_kind(g->keys) == JV_KIND_ARRAY ?
	    jv_array_length(jv_copy(g->keys)) : 0;
	for (i = 0; i < n; i++) {
		jv k = jv_array_get(jv_copy(g->keys), i);
		int r = sre_txn_kv_del(t, jv_string_value(k));

		jv_free(k);
		if (r < 0)
			return -1;
	}
	return 0;
}

/*
 * sre-fix's kv records of a diagnosis or a verdict name their incident
 * in their JSON text: those of incidents gc removes go with them.  ctx
 * holds the ids picked (an object of id -> array of keys, filled here).
 */
static int
gc_kv_pick(struct scan *s, void *ctx)
{
	jv *by = ctx, v, ids;
	const char *inc;

	if (s->v.mv_size == 0 || s->v.mv_size > INT_MAX)
		return 0;
	v = jv_parse_sized(s->v.mv_data, (int)s->v.mv_size - 1);
	if ((inc = sre_jv_str(v, "incident")) != NULL &&
	    jv_object_has(jv_copy(*by), jv_string(inc))) {
		ids = jv_object_get(jv_copy(*by), jv_string(inc));
		ids = jv_array_append(ids, jv_string_sized(s->k.mv_data,
		    (int)s->k.mv_size));
		*by = jv_object_set(*by, jv_string(inc), ids);
	}
	jv_free(v);
	return 0;
}

static int
gc_kv_keys(struct sre_txn *t, jv *by)
{
	static const char *const prefix[] = {
		SRE_STORE_FIX_DIAGNOSIS, SRE_STORE_FIX_VERDICT, NULL
	};
	const char *const *p;

	for (p = prefix; *p != NULL; p++)
		if (store_scan(t, DB_KV, SCAN_ALL, *p, strlen(*p), strlen(*p),
		    gc_kv_pick, by) < 0)
			return -1;
	return 0;
}

/* Delete an entry older than g->before from samples (with its event id)
 * or window counters; up to 1000 in one transaction. */
static int
gc_old(struct scan *s, void *ctx)
{
	struct gc_del *g = ctx;
	const unsigned char *kp = s->k.mv_data, *nul;

	if (g->n >= 1000)
		return 1;
	if (s->db == DB_SAMPLES) {
		if (s->k.mv_size < 8)
			return 0;
		if ((int64_t)be64_get(kp) >= g->before)
			return 1;
		if (store_del(s->t, DB_EVENTS, kp + 8, s->k.mv_size - 8, NULL,
		    0) < 0)
			return -1;
	} else {
		nul = memchr(kp, '\0', s->k.mv_size);
		if (nul == NULL || s->k.mv_size != (size_t)(nul - kp) + 9 ||
		    (int64_t)be64_get(nul + 1) >= g->before)
			return 0;
	}
	if (store_scan_del(s) < 0)
		return -1;
	g->n++;
	return 0;
}

static int
gc_batch(struct sre_txn *t, void *ctx, int db)
{
	struct gc_del *g = ctx;

	g->n = 0;
	if (store_scan(t, db, SCAN_ALL, NULL, 0, 0, gc_old, g) < 0)
		return -1;
	return g->n == 0 ? 1 : 0;
}

static int
gc_samples(struct sre_txn *t, void *ctx)
{
	return gc_batch(t, ctx, DB_SAMPLES);
}

static int
gc_windows(struct sre_txn *t, void *ctx)
{
	return gc_batch(t, ctx, DB_COUNTERS);
}

int
sre_store_gc(struct sre_store *st, int64_t before_ms,
    struct sre_store_gc_stats *stats, char *err, size_t errlen)
{
	struct gc_scan g = { before_ms, jv_array(), jv_object() };
	struct gc_del d;
	struct sre_txn *t;
	int ex, i, n;

	memset(stats, 0, sizeof(*stats));
	if ((ex = sre_store_read(st, &t, err, errlen)) != EX_OK) {
		jv_free(g.ids);
		jv_free(g.keys);
		return ex;
	}
	if (sre_txn_incident_scan(t, gc_pick, &g) < 0 ||
	    (jv_array_length(jv_copy(g.ids)) > 0 &&
	    gc_kv_keys(t, &g.keys) < 0)) {
		snprintf(err, errlen, "%s", t->err);
		ex = t->ex;
		sre_txn_end(t);
		jv_free(g.ids);
		jv_free(g.keys);
		return ex;
	}
	sre_txn_end(t);
	n = jv_array_length(jv_copy(g.ids));
	for (i = 0; i < n && ex == EX_OK; i++) {
		jv id = jv_array_get(jv_copy(g.ids), i);

		memset(&d, 0, sizeof(d));
		d.id = jv_string_value(id);
		d.keys = jv_object_get(jv_copy(g.keys), jv_copy(id));
		if ((ex = sre_store_write(st, gc_incident, &d, err,
		    errlen)) == EX_OK) {
			stats->incidents++;
			stats->events += d.events;
			stats->keys += jv_array_length(jv_copy(d.keys));
		}
		jv_free(d.keys);
		jv_free(id);
	}
	jv_free(g.ids);
	jv_free(g.keys);
	memset(&d, 0, sizeof(d));
	d.keys = jv_null();
	d.before = before_ms;
	do {
		d.n = 0;
		if (ex == EX_OK)
			ex = sre_store_write(st, gc_samples, &d, err, errlen);
		stats->samples += d.n;
	} while (ex == EX_OK && d.n > 0);
	do {
		d.n = 0;
		if (ex == EX_OK)
			ex = sre_store_write(st, gc_windows, &d, err, errlen);
		stats->windows += d.n;
	} while (ex == EX_OK && d.n > 0);
	return ex;
}

