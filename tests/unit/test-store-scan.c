/* test-store-scan.c: the store's walks at their edges: sample ranges and
 * early stops, the newest ids of a fingerprint, CAG entries of one
 * fingerprint only (not of one it prefixes), the outbox in key order,
 * timelines that do not run into a neighbour's, the open index. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "event.h"
#include "store.h"
#include "store-tmp.h"
#include "tap.h"

static int
fill(struct sre_txn *t, void *ctx)
{
	char id[32], inc[32];
	jv ev = jv_parse("{\"type\":\"report\"}"), rec, p;
	int i, rc = 0;

	(void)ctx;
	for (i = 0; i < 10 && rc >= 0; i++) {
		snprintf(id, sizeof(id), "s%d", i);
		rc = sre_txn_sample_add(t, 1000 * i, id, ev);
	}
	for (i = 0; i < 6 && rc >= 0; i++) {
		snprintf(inc, sizeof(inc), "inc-%d", i);
		rec = jv_parse("{\"fingerprint\":\"fp\",\"status\":\"open\"}");
		rec = jv_object_set(rec, jv_string("incident"),
		    jv_string(inc));
		rec = jv_object_set(rec, jv_string("last_ms"),
		    jv_number(100 * (6 - i)));
		rc = sre_txn_incident_put(t, rec);
		jv_free(rec);
	}
	/* inc-1 and inc-10: one id prefixes the other. */
	if (rc >= 0)
		rc = sre_txn_timeline_add(t, "inc-1", 5, "e1", ev);
	if (rc >= 0)
		rc = sre_txn_timeline_add(t, "inc-10", 1, "e2", ev);
	p = jv_parse("{\"action\":\"restart\"}");
	if (rc >= 0)
		rc = sre_txn_cag_learn(t, "fp", p, 1, "inc-1", 1, jv_null());
	if (rc >= 0)
		rc = sre_txn_cag_learn(t, "fp2", p, 1, "inc-2", 1, jv_null());
	jv_free(p);
	if (rc >= 0)
		rc = sre_txn_outbox_put(t, "b", ev);
	if (rc >= 0)
		rc = sre_txn_outbox_put(t, "a", ev);
	jv_free(ev);
	return rc < 0 ? -1 : 0;
}

struct count {
	int n, stop_at;
};

static int
count_fn(jv v, void *ctx)
{
	struct count *c = ctx;

	(void)v;
	c->n++;
	return c->n == c->stop_at ? 7 : 0;
}

int
main(void)
{
	struct sre_store *st;
	struct sre_txn *t;
	struct count c;
	jv a, e;
	int r;

	if (tmp_init("test-store-scan") < 0)
		return 1;
	if ((st = tmp_open("a")) == NULL ||
	    sre_store_write(st, fill, NULL, tmp_err, sizeof(tmp_err)) !=
	    EX_OK ||
	    sre_store_read(st, &t, tmp_err, sizeof(tmp_err)) != EX_OK) {
		ok(0, "fill: %s", tmp_err);
		return tap_done();
	}

	c = (struct count){ 0, 0 };
	r = sre_txn_sample_scan(t, 2000, 5000, count_fn, &c);
	ok(r == 0 && c.n == 3, "samples from 2000 to 5000 (exclusive): %d",
	    c.n);
	c = (struct count){ 0, 2 };
	r = sre_txn_sample_scan(t, 0, 100000, count_fn, &c);
	ok(r == 7 && c.n == 2, "fn's stop ends the walk and is returned");
	c = (struct count){ 0, 1 };
	r = sre_txn_sample_scan(t, 9000, 9001, count_fn, &c);
	ok(r == 7 && c.n == 1, "a stop on the last sample in range is fn's");
	c = (struct count){ 0, 0 };
	ok(sre_txn_sample_scan(t, 5000, 5000, count_fn, &c) == 0 && c.n == 0,
	    "an empty range");
	c = (struct count){ 0, 0 };
	ok(sre_txn_incident_scan(t, count_fn, &c) == 0 && c.n == 6,
	    "every incident scanned");

	a = sre_txn_fingerprint_incidents(t, "fp", 3);
	ok(jv_equal(a, jv_parse("[\"inc-3\",\"inc-4\",\"inc-5\"]")),
	    "the newest 3 ids of a fingerprint, in id order");
	a = sre_txn_fingerprint_incidents(t, "fp-none", 3);
	ok(jv_equal(a, jv_array()), "none for an unknown fingerprint");

	a = sre_txn_open_before(t, 350, 10);
	ok(jv_equal(a, jv_parse("[\"inc-5\",\"inc-4\",\"inc-3\"]")),
	    "open before 350, oldest first");
	a = sre_txn_open_before(t, 1000, 2);
	ok(jv_array_length(a) == 2, "at most max");

	a = sre_txn_timeline(t, "inc-1");
	ok(jv_array_length(a) == 1, "inc-1's timeline holds not inc-10's");

	a = sre_txn_cag_list(t, "fp");
	e = jv_array_get(jv_copy(a), 0);
	ok(jv_array_length(a) == 1 && sre_jv_str(e, "fingerprint") != NULL &&
	    strcmp(sre_jv_str(e, "fingerprint"), "fp") == 0,
	    "the CAG of fp holds not fp2's");
	jv_free(e);
	a = sre_txn_cag_list(t, NULL);
	ok(jv_array_length(a) == 2, "every CAG entry");

	a = sre_txn_outbox_list(t);
	e = jv_array_get(jv_copy(a), 0);
	ok(jv_array_length(a) == 2 && sre_jv_str(e, "key") != NULL &&
	    strcmp(sre_jv_str(e, "key"), "a") == 0, "the outbox in key order");
	jv_free(e);

	sre_txn_end(t);
	sre_store_close(st);
	tmp_done();
	return tap_done();
}
