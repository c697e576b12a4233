/*
 * store-incident.c: incident records, their timelines of events, the
 * event ids that make adding idempotent, the samples kept outside any
 * incident, and the index of open incidents by their newest event.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <lmdb.h>

#include "event.h"
#include "store-int.h"

/* ---- events and timelines --------------------------------------------- */

int
sre_txn_event_seen(struct sre_txn *t, const char *id)
{
	MDB_val v;

	if (!sre_store_key_ok(id))
		return store_badkey(t, "event id", id);
	return store_get(t, DB_EVENTS, id, strlen(id), &v);
}

/* The prefix of an incident's timeline keys: its id and a NUL. */
static void
timeline_prefix(struct key *k, const char *incident)
{
	key_str(k, incident);
	key_nul(k);
}

int
sre_txn_timeline_add(struct sre_txn *t, const char *incident, int64_t ts_ms,
    const char *id, jv ev)
{
	unsigned char where[SRE_STORE_KEY_MAX + 16];
	struct key k;
	size_t pre;
	int r;

	if (!sre_store_key_ok(incident))
		return store_badkey(t, "incident", incident);
	if (ts_ms < 0)
		return sre_txn_fail(t, EX_DATAERR, "negative event time");
	if ((r = sre_txn_event_seen(t, id)) != 0)
		return r > 0 ? 0 : -1;
	/* incident, NUL, time, id; the events database points back at the
	 * part up to the time included. */
	timeline_prefix(&k, incident);
	key_u64(&k, (uint64_t)ts_ms);
	pre = k.n;
	key_cat(&k, id);
	where[0] = 'T';
	memcpy(where + 1, k.b, pre);
	if (store_put_json(t, DB_TIMELINES, k.b, k.n, ev, 0) < 0 ||
	    store_put(t, DB_EVENTS, id, strlen(id), where, pre + 1, 0) < 0)
		return -1;
	return 1;
}

jv
sre_txn_timeline(struct sre_txn *t, const char *incident)
{
	struct key p;
	jv out = jv_array();

	if (!sre_store_key_ok(incident)) {
		store_badkey(t, "incident", incident);
		jv_free(out);
		return jv_invalid();
	}
	timeline_prefix(&p, incident);
	if (store_scan(t, DB_TIMELINES, SCAN_ALL, p.b, p.n, p.n,
	    store_scan_collect, &out) < 0) {
		jv_free(out);
		return jv_invalid();
	}
	return out;
}

int
sre_txn_sample_add(struct sre_txn *t, int64_t ts_ms, const char *id, jv ev)
{
	unsigned char where[9];
	struct key k;
	int r;

	if (ts_ms < 0)
		return sre_txn_fail(t, EX_DATAERR, "negative event time");
	if ((r = sre_txn_event_seen(t, id)) != 0)
		return r > 0 ? 0 : -1;
	k.n = 0;
	key_u64(&k, (uint64_t)ts_ms);
	key_cat(&k, id);
	where[0] = 'S';
	memcpy(where + 1, k.b, 8);
	if (store_put_json(t, DB_SAMPLES, k.b, k.n, ev, 0) < 0 ||
	    store_put(t, DB_EVENTS, id, strlen(id), where, sizeof(where),
	    0) < 0)
		return -1;
	return 1;
}

/* A caller's sre_store_each_fn on each parsed value; with bounded set,
 * only on keys that start with a time before until. */
struct each {
	sre_store_each_fn fn;
	void *ctx;
	int bounded, past;
	int64_t until;
};

static int
each_fn(struct scan *s, void *ctx)
{
	struct each *e = ctx;
	jv v;
	int stop;

	if (e->bounded && (s->k.mv_size < 8 ||
	    (int64_t)be64_get(s->k.mv_data) >= e->until)) {
		e->past = 1;
		return 1;
	}
	if (!jv_is_valid(v = store_scan_json(s)))
		return -1;
	stop = e->fn(v, e->ctx);
	jv_free(v);
	return stop;
}

int
sre_txn_sample_scan(struct sre_txn *t, int64_t from_ms, int64_t until_ms,
    sre_store_each_fn fn, void *ctx)
{
	struct each e = { fn, ctx, 1, 0, until_ms };
	struct key p;
	int r;

	p.n = 0;
	key_u64(&p, (uint64_t)(from_ms < 0 ? 0 : from_ms));
	r = store_scan(t, DB_SAMPLES, SCAN_ALL, p.b, p.n, 0, each_fn, &e);
	/* The end of the time range is no stop of fn's. */
	return r < 0 ? -1 : e.past ? 0 : r;
}

/* ---- incidents -------------------------------------------------------- */

jv
sre_txn_incident_get(struct sre_txn *t, const char *id)
{
	if (!sre_store_key_ok(id)) {
		store_badkey(t, "incident", id);
		return jv_invalid();
	}
	return store_get_json(t, DB_INCIDENTS, id, strlen(id));
}

int
sre_txn_incident_put(struct sre_txn *t, jv rec)
{
	const char *id = sre_jv_str(rec, "incident");
	jv old;
	int rc;

	if (!sre_store_key_ok(id))
		return store_badkey(t, "incident", id);
	if (store_writable(t) < 0)
		return -1;
	old = store_get_json(t, DB_INCIDENTS, id, strlen(id));
	if (!jv_is_valid(old))
		return -1;
	rc = store_index_update(t, id, old, rec);
	jv_free(old);
	if (rc < 0)
		return -1;
	return store_put_json(t, DB_INCIDENTS, id, strlen(id), rec, 0) < 0 ?
	    -1 : 0;
}

/* Delete a timeline entry and its event id (the id follows the prefix
 * of ctx's length and the time). */
static int
timeline_del(struct scan *s, void *ctx)
{
	size_t off = *(size_t *)ctx + 8;

	if (s->k.mv_size > off && store_del(s->t, DB_EVENTS,
	    (char *)s->k.mv_data + off, s->k.mv_size - off, NULL, 0) < 0)
		return -1;
	return store_scan_del(s);
}

int
sre_txn_incident_del(struct sre_txn *t, const char *id)
{
	struct key p;
	jv old;
	int r;

	if (!sre_store_key_ok(id))
		return store_badkey(t, "incident", id);
	old = store_get_json(t, DB_INCIDENTS, id, strlen(id));
	if (!jv_is_valid(old))
		return -1;
	if (jv_get_kind(old) == JV_KIND_NULL)
		return 0;
	r = store_index_update(t, id, old, jv_null());
	jv_free(old);
	if (r < 0)
		return -1;
	timeline_prefix(&p, id);
	if (store_scan(t, DB_TIMELINES, SCAN_ALL, p.b, p.n, p.n, timeline_del,
	    &p.n) < 0)
		return -1;
	if (store_del(t, DB_OUTBOX, id, strlen(id), NULL, 0) < 0 ||
	    store_del(t, DB_INCIDENTS, id, strlen(id), NULL, 0) < 0)
		return -1;
	return 1;
}

int
sre_txn_incident_scan(struct sre_txn *t, sre_store_each_fn fn, void *ctx)
{
	struct each e = { fn, ctx, 0, 0, 0 };

	return store_scan(t, DB_INCIDENTS, SCAN_ALL, NULL, 0, 0, each_fn, &e);
}

struct open_before {
	int64_t before;
	int max, n;
	jv out;
};

static int
open_fn(struct scan *s, void *ctx)
{
	struct open_before *o = ctx;

	if (o->n >= o->max || s->k.mv_size <= 8 ||
	    (int64_t)be64_get(s->k.mv_data) >= o->before)
		return 1;
	o->out = jv_array_append(o->out, jv_string_sized(
	    (char *)s->k.mv_data + 8, (int)s->k.mv_size - 8));
	o->n++;
	return 0;
}

jv
sre_txn_open_before(struct sre_txn *t, int64_t before_ms, int max)
{
	struct open_before o = { before_ms, max, 0, jv_array() };

	if (store_scan(t, DB_OPEN, SCAN_ALL, NULL, 0, 0, open_fn, &o) < 0) {
		jv_free(o.out);
		return jv_invalid();
	}
	return o.out;
}

long long
sre_txn_incident_count(struct sre_txn *t)
{
	MDB_stat ms;
	int rc = LMDB(mdb_stat(t->txn, t->st->dbi[DB_INCIDENTS], &ms));

	if (rc != 0)
		return store_dberr(t, rc, "incidents");
	return (long long)ms.ms_entries;
}
