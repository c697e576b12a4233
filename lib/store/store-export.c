/*
 * store-export.c: the whole store as NDJSON records, one per stored
 * entry (indexes left out), and their import, which rebuilds the indexes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "event.h"
#include "store-int.h"


/* ---- export and import ------------------------------------------------ */

struct exp {
	sre_store_line_fn fn;
	void *ctx;
	int stop;
};

/* Emit one record (consumed). */
static int
emit(struct sre_txn *t, struct exp *x, jv rec)
{
	size_t n;
	char *s = sre_jv_dump(rec, &n);

	if (s == NULL)
		return sre_txn_fail(t, EX_OSERR, "out of memory");
	x->stop = x->fn(s, n, x->ctx);
	free(s);
	return x->stop ? -1 : 0;
}

static jv
rec_new(const char *kind)
{
	return jv_object_set(jv_object(), jv_string("kind"), jv_string(kind));
}

/* One entry of a database as an export record (kinds by database). */
static int
export_fn(struct scan *s, void *ctx)
{
	struct exp *x = ctx;
	struct sre_txn *t = s->t;
	const MDB_val k = s->k, v = s->v;
	int db = s->db;
	jv rec, val;
	const char *kp = k.mv_data;
	const char *nul = memchr(kp, '\0', k.mv_size);

	switch (db) {
	case DB_INCIDENTS:
	case DB_CAG:
		if (!jv_is_valid(val = store_parse(t, db, &v)))
			return -1;
		rec = rec_new(db == DB_CAG ? "cag" : "incident");
		rec = jv_object_set(rec, jv_string("value"), val);
		break;
	case DB_TIMELINES:
		if (nul == NULL || k.mv_size < (size_t)(nul - kp) + 9)
			return 0;
		if (!jv_is_valid(val = store_parse(t, db, &v)))
			return -1;
		rec = rec_new("event");
		rec = jv_object_set(rec, jv_string("incident"),
		    jv_string_sized(kp, (int)(nul - kp)));
		rec = jv_object_set(rec, jv_string("ts_ms"), jv_number(
		    (double)be64_get(nul + 1)));
		rec = jv_object_set(rec, jv_string("id"),
		    jv_string_sized(nul + 9,
		    (int)(k.mv_size - (size_t)(nul + 9 - kp))));
		rec = jv_object_set(rec, jv_string("value"), val);
		break;
	case DB_SAMPLES:
		if (k.mv_size < 9)
			return 0;
		if (!jv_is_valid(val = store_parse(t, db, &v)))
			return -1;
		rec = rec_new("sample");
		rec = jv_object_set(rec, jv_string("ts_ms"), jv_number(
		    (double)be64_get(k.mv_data)));
		rec = jv_object_set(rec, jv_string("id"),
		    jv_string_sized(kp + 8, (int)k.mv_size - 8));
		rec = jv_object_set(rec, jv_string("value"), val);
		break;
	case DB_COUNTERS: {
		int64_t n;

		if (store_int_get(t, k.mv_data, k.mv_size, &n) < 0)
			return -1;
		if (nul != NULL) {
			if (k.mv_size != (size_t)(nul - kp) + 9)
				return 0;
			rec = rec_new("window");
			rec = jv_object_set(rec, jv_string("name"),
			    jv_string_sized(kp, (int)(nul - kp)));
			rec = jv_object_set(rec, jv_string("bucket_ms"),
			    jv_number((double)be64_get(nul + 1)));
		} else {
			rec = rec_new("counter");
			rec = jv_object_set(rec, jv_string("name"),
			    jv_string_sized(kp, (int)k.mv_size));
		}
		rec = jv_object_set(rec, jv_string("value"),
		    jv_number((double)n));
		break;
	}
	case DB_KV:
		rec = rec_new("kv");
		rec = jv_object_set(rec, jv_string("key"),
		    jv_string_sized(kp, (int)k.mv_size));
		rec = jv_object_set(rec, jv_string("value"),
		    jv_string_sized(v.mv_data, v.mv_size ?
		    (int)v.mv_size - 1 : 0));
		break;
	case DB_OUTBOX:
		if (!jv_is_valid(val = store_parse(t, db, &v)))
			return -1;
		rec = rec_new("outbox");
		rec = jv_object_set(rec, jv_string("key"),
		    jv_string_sized(kp, (int)k.mv_size));
		rec = jv_object_set(rec, jv_string("value"), val);
		break;
	default:
		return 0;
	}
	return emit(t, x, rec);
}

int
sre_store_export(struct sre_store *st, sre_store_line_fn fn, void *ctx,
    char *err, size_t errlen)
{
	static const int order[] = {
		DB_INCIDENTS, DB_TIMELINES, DB_SAMPLES, DB_CAG, DB_COUNTERS,
		DB_KV, DB_OUTBOX
	};
	struct exp x = { fn, ctx, 0 };
	struct sre_txn *t;
	size_t i;
	int ex;
	jv hdr;

	if ((ex = sre_store_read(st, &t, err, errlen)) != EX_OK)
		return ex;
	hdr = jv_object_set(jv_object(), jv_string("sre_store"),
	    jv_string("export"));
	hdr = jv_object_set(hdr, jv_string("schema"),
	    jv_number(SRE_STORE_SCHEMA));
	if (emit(t, &x, hdr) == 0)
		for (i = 0; i < sizeof(order) / sizeof(order[0]); i++)
			if (store_scan(t, order[i], SCAN_ALL, NULL, 0, 0,
			    export_fn, &x) < 0)
				break;
	ex = EX_OK;
	if (t->ex != 0) {
		snprintf(err, errlen, "%s", t->err);
		ex = t->ex;
	} else if (x.stop) {
		snprintf(err, errlen, "export stopped");
		ex = x.stop;
	}
	sre_txn_end(t);
	return ex;
}

static const char *
str_of(struct sre_txn *t, jv rec, const char *name)
{
	const char *s = sre_jv_str(rec, name);

	if (s == NULL)
		sre_txn_fail(t, EX_DATAERR, "record without a string '%s'",
		    name);
	return s;
}

static int
int_of(struct sre_txn *t, jv rec, const char *name, int64_t *v)
{
	if (sre_jv_int(rec, name, v) < 0)
		return sre_txn_fail(t, EX_DATAERR, "record without an integer "
		    "'%s'", name);
	return 0;
}

int
sre_txn_import(struct sre_txn *t, jv rec)
{
	const char *kind = sre_jv_str(rec, "kind"), *s, *id;
	jv val;
	int64_t n, ts;
	int rc = -1;

	if (jv_get_kind(rec) != JV_KIND_OBJECT)
		return sre_txn_fail(t, EX_DATAERR, "not an object");
	if (kind == NULL) {
		if ((s = sre_jv_str(rec, "sre_store")) == NULL ||
		    strcmp(s, "export") != 0)
			return sre_txn_fail(t, EX_DATAERR, "neither a record "
			    "('kind') nor an export header");
		if (sre_jv_int(rec, "schema", &n) < 0 || n < 1 ||
		    n > SRE_STORE_SCHEMA)
			return sre_txn_fail(t, EX_DATAERR, "export of an "
			    "unknown schema (this build reads up to %d)",
			    SRE_STORE_SCHEMA);
		return 0;
	}
	val = jv_object_get(jv_copy(rec), jv_string("value"));
	if (strcmp(kind, "incident") == 0) {
		if (jv_get_kind(val) != JV_KIND_OBJECT)
			sre_txn_fail(t, EX_DATAERR, "incident: no object");
		else
			rc = sre_txn_incident_put(t, val);
	} else if (strcmp(kind, "event") == 0 || strcmp(kind, "sample") == 0) {
		if ((id = str_of(t, rec, "id")) != NULL &&
		    int_of(t, rec, "ts_ms", &ts) == 0) {
			if (kind[0] == 'e' && (s = str_of(t, rec,
			    "incident")) != NULL)
				rc = sre_txn_timeline_add(t, s, ts, id, val);
			else if (kind[0] == 's')
				rc = sre_txn_sample_add(t, ts, id, val);
		}
	} else if (strcmp(kind, "cag") == 0) {
		rc = sre_txn_cag_put(t, val);
	} else if (strcmp(kind, "counter") == 0 ||
	    strcmp(kind, "window") == 0) {
		if ((s = str_of(t, rec, "name")) != NULL &&
		    int_of(t, rec, "value", &n) == 0) {
			struct key k;

			if (!sre_store_key_ok(s))
				store_badkey(t, "counter", s);
			else if (kind[0] == 'c')
				rc = store_int_put(t, s, strlen(s), n);
			else if (int_of(t, rec, "bucket_ms", &ts) == 0) {
				store_window_key(&k, s, ts);
				rc = store_int_put(t, k.b, k.n, n);
			}
		}
	} else if (strcmp(kind, "kv") == 0) {
		if ((s = str_of(t, rec, "key")) != NULL) {
			if (jv_get_kind(val) != JV_KIND_STRING)
				sre_txn_fail(t, EX_DATAERR, "kv: the value is "
				    "not a string");
			else
				rc = sre_txn_kv_put(t, s, jv_string_value(val));
		}
	} else if (strcmp(kind, "outbox") == 0) {
		if ((s = str_of(t, rec, "key")) != NULL)
			rc = sre_txn_outbox_put(t, s, val);
	} else
		sre_txn_fail(t, EX_DATAERR, "unknown record kind '%s'", kind);
	jv_free(val);
	return rc < 0 ? -1 : 0;
}

