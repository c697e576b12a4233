/* test-audit-store.c: the store's incidents into an audit, by window. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "audit-store.h"
#include "store-tmp.h"
#include "tap.h"

/* Incident inc (last event at last_ms) with one event. */
struct inc {
	const char *inc;
	int64_t last_ms;
};

static int
put_incident(struct sre_txn *t, void *ctx)
{
	struct inc *i = ctx;
	char id[64];
	jv ev, rec;
	int rc;

	snprintf(id, sizeof(id), "%s-e1", i->inc);
	ev = jv_parse("{\"type\":\"anomaly\",\"service\":\"cart\"}");
	ev = jv_object_set(ev, jv_string("id"), jv_string(id));
	ev = jv_object_set(ev, jv_string("incident"), jv_string(i->inc));
	ev = jv_object_set(ev, jv_string("ts_ms"),
	    jv_number((double)i->last_ms));
	rc = sre_txn_timeline_add(t, i->inc, i->last_ms, id, ev);
	jv_free(ev);
	rec = jv_object_set(jv_object(), jv_string("incident"),
	    jv_string(i->inc));
	rec = jv_object_set(rec, jv_string("last_ms"),
	    jv_number((double)i->last_ms));
	if (rc >= 0)
		rc = sre_txn_incident_put(t, rec);
	jv_free(rec);
	return rc < 0 ? -1 : 0;
}

/* How many events an audit of the store since since_ms used. */
static long long
events_since(struct sre_store *st, int64_t since_ms)
{
	struct sre_audit_limits lim;
	struct sre_audit_stats as;
	struct sre_audit *a;
	struct sre_txn *t;
	char err[256];
	int rc;

	sre_audit_limits_init(&lim);
	if ((a = sre_audit_new(&lim, 10000000)) == NULL ||
	    sre_store_read(st, &t, err, sizeof(err)) != EX_OK) {
		sre_audit_free(a);
		return -1;
	}
	rc = sre_audit_store(a, t, since_ms);
	sre_txn_end(t);
	sre_audit_stats(a, &as);
	sre_audit_free(a);
	return rc < 0 ? -1 : (long long)as.events;
}

int
main(void)
{
	struct inc old = { "inc-old", 1000 }, recent = { "inc-new", 900000 };
	struct sre_store *st;
	char err[256];

	if (tmp_init("test-audit-store") < 0)
		return 1;
	if ((st = tmp_open("a")) == NULL) {
		ok(0, "open a store");
		tmp_done();
		return tap_done();
	}
	ok(events_since(st, INT64_MIN) == 0, "an empty store: no events");
	ok(sre_store_write(st, put_incident, &old, err, sizeof(err)) ==
	    EX_OK && sre_store_write(st, put_incident, &recent, err,
	    sizeof(err)) == EX_OK, "two incidents");
	ok(events_since(st, INT64_MIN) == 2, "no window: both timelines");
	ok(events_since(st, 500000) == 1, "a window: only the recent one");
	ok(events_since(st, 1000000) == 0, "a later window: none");
	sre_store_close(st);
	tmp_done();
	return tap_done();
}
