/* test-store-gc.c: sre_store_gc removes old closed incidents with what
 * is stored for them, sre-fix's diagnosis and verdict records included,
 * and leaves everything else. */
#include <string.h>
#include <sysexits.h>

#include "event.h"
#include "store.h"
#include "store-tmp.h"
#include "tap.h"

#define DAY	86400000LL

static const char *const recs[] = {
	"{\"incident\":\"inc-old\",\"status\":\"closed\",\"closed_ms\":1000,"
	    "\"fingerprint\":\"fp-a\",\"services\":[\"pricing\"]}",
	"{\"incident\":\"inc-new\",\"status\":\"closed\",\"closed_ms\":"
	    "900000000,\"fingerprint\":\"fp-a\"}",
	"{\"incident\":\"inc-open\",\"status\":\"open\",\"last_ms\":5}",
	NULL
};

/* key, value: the kv entries before gc. */
static const char *const kv[][2] = {
	{ SRE_STORE_FIX_DIAGNOSIS "d1", "{\"incident\":\"inc-old\"}" },
	{ SRE_STORE_FIX_VERDICT "v1", "{\"type\":\"action\","
	    "\"incident\":\"inc-old\",\"status\":\"opened\"}" },
	{ SRE_STORE_FIX_DIAGNOSIS "d2", "{\"incident\":\"inc-new\"}" },
	{ SRE_STORE_FIX_VERDICT "v3", "{\"incident\":\"inc-open\"}" },
	{ SRE_STORE_FIX_VERDICT "v4", "{\"incident\":null}" },
	{ SRE_STORE_FIX_DIAGNOSIS "bad", "not json" },
	{ SRE_STORE_ACK "inc-old", "1" },
	{ "fix:done:inc-old", "{\"incident\":\"inc-old\"}" },
	{ NULL, NULL }
};

static int
fill(struct sre_txn *t, void *ctx)
{
	int i;

	(void)ctx;
	for (i = 0; recs[i] != NULL; i++) {
		jv r = jv_parse(recs[i]);
		int rc = sre_txn_incident_put(t, r);

		jv_free(r);
		if (rc < 0)
			return -1;
	}
	for (i = 0; kv[i][0] != NULL; i++)
		if (sre_txn_kv_put(t, kv[i][0], kv[i][1]) < 0)
			return -1;
	return 0;
}

static int
add_events(struct sre_txn *t, void *ctx)
{
	jv ev = jv_parse("{\"type\":\"anomaly\"}");
	int rc = 0;

	(void)ctx;
	if (sre_txn_timeline_add(t, "inc-old", 10, "e1", ev) < 0 ||
	    sre_txn_timeline_add(t, "inc-old", 20, "e2", ev) < 0 ||
	    sre_txn_timeline_add(t, "inc-new", 30, "e3", ev) < 0)
		rc = -1;
	jv_free(ev);
	return rc;
}

/* 1 when key is in kv, 0 when not, -1 on error. */
static int
has(struct sre_store *st, const char *key)
{
	struct sre_txn *t;
	const char *v;
	int r;

	if (sre_store_read(st, &t, tmp_err, sizeof(tmp_err)) != EX_OK)
		return -1;
	r = sre_txn_kv_get(t, key, &v, NULL);
	sre_txn_end(t);
	return r;
}

int
main(void)
{
	struct sre_store_gc_stats gs;
	struct sre_store *st;
	struct sre_txn *t;
	jv a;
	int ex, i;

	if (tmp_init("test-store-gc") < 0)
		return 1;
	st = tmp_open("a");
	ok(st != NULL, "a new store");
	if (st == NULL)
		return tap_done();
	ok(sre_store_write(st, fill, NULL, tmp_err, sizeof(tmp_err)) == EX_OK &&
	    sre_store_write(st, add_events, NULL, tmp_err,
	    sizeof(tmp_err)) == EX_OK, "incidents, events and kv stored");

	ex = sre_store_gc(st, 10 * DAY, &gs, tmp_err, sizeof(tmp_err));
	ok(ex == EX_OK, "gc: %s", ex ? tmp_err : "ok");
	ok(gs.incidents == 1 && gs.events == 2,
	    "one incident closed before the cut, with its 2 events (%lld, "
	    "%lld)", gs.incidents, gs.events);
	ok(gs.keys == 2, "and its 2 fix records (%lld)", gs.keys);
	ok(has(st, SRE_STORE_FIX_DIAGNOSIS "d1") == 0,
	    "the diagnosis of the removed incident is gone");
	ok(has(st, SRE_STORE_FIX_VERDICT "v1") == 0,
	    "so is the verdict's answer");
	for (i = 2; kv[i][0] != NULL; i++)
		ok(has(st, kv[i][0]) == 1, "%s stays", kv[i][0]);

	ok(sre_store_read(st, &t, tmp_err, sizeof(tmp_err)) == EX_OK,
	    "read");
	a = sre_txn_fingerprint_incidents(t, "fp-a", 10);
	ok(jv_equal(a, jv_parse("[\"inc-new\"]")),
	    "the fingerprint index lost the removed incident only");
	ok(sre_txn_event_seen(t, "e1") == 0 && sre_txn_event_seen(t, "e3") ==
	    1, "event ids: the removed incident's went");
	ok(sre_txn_incident_count(t) == 2, "two incidents stay");
	sre_txn_end(t);

	ex = sre_store_gc(st, 10 * DAY, &gs, tmp_err, sizeof(tmp_err));
	ok(ex == EX_OK && gs.incidents == 0 && gs.keys == 0,
	    "a second gc finds nothing");
	ex = sre_store_gc(st, 100 * DAY, &gs, tmp_err, sizeof(tmp_err));
	ok(ex == EX_OK && gs.incidents == 1 && gs.keys == 1 &&
	    has(st, SRE_STORE_FIX_DIAGNOSIS "d2") == 0 &&
	    has(st, SRE_STORE_FIX_VERDICT "v3") == 1,
	    "a later cut takes inc-new and its diagnosis, not the open one's");

	sre_store_close(st);
	tmp_done();
	return tap_done();
}
