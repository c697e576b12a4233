/* test-store.c: the LMDB store: schema, transactions, indexes, CAG,
 * counters, map growth, export/import, gc, migration from schema 1. */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include <lmdb.h>

#include "cag.h"
#include "diag.h"
#include "event.h"
#include "store.h"
#include "tap.h"

static char base[256];
static char err[1024];

static int
rm_one(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb;
	(void)flag;
	(void)f;
	return remove(p);
}

static const char *
dir(const char *name)
{
	static char buf[4][512];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", base, name);
	return buf[i];
}

static struct sre_store *
open_rw(const char *d, size_t map)
{
	struct sre_store_opts o = { 0, map, 0 };
	struct sre_store *st = NULL;
	int ex = sre_store_open(&st, d, &o, err, sizeof(err));

	if (ex != EX_OK)
		printf("# open %s: %d %s\n", d, ex, err);
	return st;
}

static jv
json(const char *s)
{
	return jv_parse(s);
}

/* ---- write callbacks --------------------------------------------------- */

struct ev {
	const char *inc, *id;
	int64_t ts;
	int result;
};

static int
add_event(struct sre_txn *t, void *ctx)
{
	struct ev *e = ctx;
	jv v = jv_object_set(jv_object(), jv_string("id"), jv_string(e->id));

	e->result = sre_txn_timeline_add(t, e->inc, e->ts, e->id, v);
	jv_free(v);
	return e->result < 0 ? -1 : 0;
}

static int
put_rec(struct sre_txn *t, void *ctx)
{
	return sre_txn_incident_put(t, *(jv *)ctx);
}

struct learn {
	const char *fp, *prop, *inc;
	int success;
};

static int
learn_fn(struct sre_txn *t, void *ctx)
{
	struct learn *l = ctx;
	jv p = json(l->prop), rc0 = json("{\"service\":\"pricing\"}");
	int rc = sre_txn_cag_learn(t, l->fp, p, l->success, l->inc, 1000,
	    rc0);

	jv_free(p);
	jv_free(rc0);
	return rc;
}

static int
kv_fn(struct sre_txn *t, void *ctx)
{
	jv v = jv_parse("{\"x\":1}");
	int rc;

	(void)ctx;
	rc = sre_txn_kv_put(t, "guard/last", "{\"n\":1}") < 0 ||
	    sre_txn_outbox_put(t, "inc-1", v) < 0 ? -1 : 0;
	jv_free(v);
	return rc;
}

static int
bad_fn(struct sre_txn *t, void *ctx)
{
	(void)ctx;
	return sre_txn_counter_add(t, "", 1, NULL);
}

static int
del_fn(struct sre_txn *t, void *ctx)
{
	return sre_txn_incident_del(t, ctx) < 0 ? -1 : 0;
}

struct blob {
	int i;
};

static int
big_fn(struct sre_txn *t, void *ctx)
{
	struct blob *b = ctx;
	char id[32], pad[2048];
	jv rec;
	int rc;

	snprintf(id, sizeof(id), "big-%05d", b->i);
	memset(pad, 'x', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	rec = jv_object_set(jv_object(), jv_string("incident"), jv_string(id));
	rec = jv_object_set(rec, jv_string("pad"), jv_string(pad));
	rec = jv_object_set(rec, jv_string("status"), jv_string("closed"));
	rc = sre_txn_incident_put(t, rec);
	jv_free(rec);
	return rc;
}

static int
import_fn(struct sre_txn *t, void *ctx)
{
	return sre_txn_import(t, *(jv *)ctx);
}

/* ---- export helpers ------------------------------------------------------ */

struct text {
	char *buf;
	size_t len, cap;
};

static int
collect(const char *line, size_t len, void *ctx)
{
	struct text *x = ctx;

	if (x->len + len + 2 > x->cap) {
		x->cap = (x->len + len + 2) * 2;
		x->buf = realloc(x->buf, x->cap);
	}
	memcpy(x->buf + x->len, line, len);
	x->len += len;
	x->buf[x->len++] = '\n';
	x->buf[x->len] = '\0';
	return 0;
}

/* ---- schema 1, written by hand -------------------------------------------- */

static int
make_v1(const char *state, const char *schema, int with_meta)
{
	char path[600];
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi meta, inc, cag, other;
	MDB_val k, v;
	const char *rec = "{\"incident\":\"old-1\",\"status\":\"closed\","
	    "\"outcome\":\"auto_resolved\",\"fingerprint\":\"fp-old\","
	    "\"services\":[\"billing\"],\"signals\":[\"errors\"],"
	    "\"closed_ms\":5}";
	const char *entry = "{\"fingerprint\":\"fp-old\",\"proposal\":"
	    "{\"action\":\"restart\",\"target\":\"billing\",\"params\":{}},"
	    "\"successes\":3,\"failures\":0,\"updated_ms\":5,\"incidents\":"
	    "[\"old-1\"],\"root_cause\":null}";

	snprintf(path, sizeof(path), "%s/store", state);
	mkdir(state, 0777);
	mkdir(path, 0777);
	if (mdb_env_create(&env) || mdb_env_set_maxdbs(env, 8) ||
	    mdb_env_open(env, path, 0, 0666) ||
	    mdb_txn_begin(env, NULL, 0, &txn))
		return -1;
	if (!with_meta) {
		mdb_dbi_open(txn, "something", MDB_CREATE, &other);
		k.mv_data = "a";
		k.mv_size = 1;
		v = k;
		mdb_put(txn, other, &k, &v, 0);
		mdb_txn_commit(txn);
		mdb_env_close(env);
		return 0;
	}
	mdb_dbi_open(txn, "meta", MDB_CREATE, &meta);
	mdb_dbi_open(txn, "incidents", MDB_CREATE, &inc);
	mdb_dbi_open(txn, "cag", MDB_CREATE, &cag);
	mdb_dbi_open(txn, "timelines", MDB_CREATE, &other);
	mdb_dbi_open(txn, "events", MDB_CREATE, &other);
	mdb_dbi_open(txn, "fingerprints", MDB_CREATE | MDB_DUPSORT, &other);
	mdb_dbi_open(txn, "samples", MDB_CREATE, &other);
	k.mv_data = "schema";
	k.mv_size = 6;
	v.mv_data = (void *)(uintptr_t)schema;
	v.mv_size = strlen(schema);
	mdb_put(txn, meta, &k, &v, 0);
	k.mv_data = "old-1";
	k.mv_size = 5;
	v.mv_data = (void *)(uintptr_t)rec;
	v.mv_size = strlen(rec);
	mdb_put(txn, inc, &k, &v, 0);
	k.mv_data = "fp-old";
	k.mv_size = 6;
	v.mv_data = (void *)(uintptr_t)entry;
	v.mv_size = strlen(entry);
	mdb_put(txn, cag, &k, &v, 0);
	if (mdb_txn_commit(txn))
		return -1;
	mdb_env_close(env);
	return 0;
}

int
main(void)
{
	struct sre_store *st, *ro, *st2;
	struct sre_store_opts rdo = { SRE_STORE_RDONLY, 0, 0 };
	struct sre_store_gc_stats gs;
	struct sre_txn *t;
	struct ev e;
	struct learn l;
	struct text x1 = { 0 }, x2 = { 0 };
	struct sre_cag_rule rule = { 2, 0.8 };
	char id1[SRE_ID_LEN + 1], id2[SRE_ID_LEN + 1];
	const char *s;
	size_t n, map0;
	int64_t v;
	int ex, i;
	jv a, rec, b;

	sre_init("test-store");
	unsetenv("SRE_STORE_MAPSIZE");
	snprintf(base, sizeof(base), "%s/test-store.XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(base) == NULL) {
		perror("mkdtemp");
		return 1;
	}

	/* Opening. */
	ex = sre_store_open(&ro, dir("none"), &rdo, err, sizeof(err));
	ok(ex == EX_NOINPUT && strstr(err, "no store at") != NULL,
	    "read-only open of a missing store: EX_NOINPUT (%s)", err);
	st = open_rw(dir("a"), 0);
	ok(st != NULL, "a new store opens");
	ok(st != NULL && sre_store_migrated(st) == 0, "nothing to migrate");
	ok(strcmp(sre_store_path(st), dir("a/store")) == 0, "path %s",
	    sre_store_path(st));

	/* Timelines and idempotence. */
	e = (struct ev){ "inc-1", "e2", 2000, 0 };
	ok(sre_store_write(st, add_event, &e, err, sizeof(err)) == EX_OK &&
	    e.result == 1, "an event is added");
	e = (struct ev){ "inc-1", "e1", 1000, 0 };
	sre_store_write(st, add_event, &e, err, sizeof(err));
	e = (struct ev){ "inc-1", "e2", 2000, 0 };
	ok(sre_store_write(st, add_event, &e, err, sizeof(err)) == EX_OK &&
	    e.result == 0, "the same id again is a no-op");
	e = (struct ev){ "", "e3", 2000, 0 };
	ex = sre_store_write(st, add_event, &e, err, sizeof(err));
	ok(ex == EX_DATAERR && strstr(err, "incident") != NULL,
	    "an empty incident is refused: %s", err);
	sre_store_read(st, &t, err, sizeof(err));
	a = sre_txn_timeline(t, "inc-1");
	s = NULL;
	ok(jv_array_length(jv_copy(a)) == 2, "two events in the timeline");
	b = jv_array_get(jv_copy(a), 0);
	ok(strcmp(sre_jv_str(b, "id"), "e1") == 0, "in time order");
	jv_free(b);
	jv_free(a);
	ok(sre_txn_event_seen(t, "e1") == 1 && sre_txn_event_seen(t, "zz") ==
	    0, "event_seen");
	sre_txn_end(t);

	/* Incidents and indexes. */
	rec = json("{\"incident\":\"inc-1\",\"status\":\"open\",\"last_ms\":"
	    "2000,\"fingerprint\":\"fp-a\",\"services\":[\"quote-api\","
	    "\"pricing\"],\"signals\":[\"latency\"],\"words\":[\"slow\"]}");
	ok(sre_store_write(st, put_rec, &rec, err, sizeof(err)) == EX_OK,
	    "put an incident");
	jv_free(rec);
	rec = json("{\"incident\":\"inc-2\",\"status\":\"closed\","
	    "\"closed_ms\":3000,\"fingerprint\":\"fp-a\",\"services\":"
	    "[\"pricing\"],\"signals\":[\"latency\"],\"summary\":\"x\"}");
	sre_store_write(st, put_rec, &rec, err, sizeof(err));
	jv_free(rec);
	rec = json("{\"incident\":\"inc-3\",\"status\":\"open\",\"last_ms\":"
	    "9000,\"fingerprint\":\"fp-b\",\"services\":[\"cart\"],"
	    "\"signals\":[\"errors\"]}");
	sre_store_write(st, put_rec, &rec, err, sizeof(err));
	jv_free(rec);
	sre_store_read(st, &t, err, sizeof(err));
	rec = sre_txn_incident_get(t, "inc-1");
	ok(jv_get_kind(rec) == JV_KIND_OBJECT, "get it back");
	jv_free(rec);
	rec = sre_txn_incident_get(t, "nope");
	ok(jv_get_kind(rec) == JV_KIND_NULL, "a missing incident is null");
	jv_free(rec);
	ok(sre_txn_incident_count(t) == 3, "three incidents");
	a = sre_txn_fingerprint_incidents(t, "fp-a", 10);
	ok(jv_equal(jv_copy(a), json("[\"inc-1\",\"inc-2\"]")),
	    "fingerprint index");
	jv_free(a);
	a = sre_txn_open_before(t, 5000, 10);
	ok(jv_equal(jv_copy(a), json("[\"inc-1\"]")), "open before 5000");
	jv_free(a);
	a = sre_txn_open_before(t, 100000, 10);
	ok(jv_equal(a, json("[\"inc-1\",\"inc-3\"]")), "open, oldest first");
	rec = sre_txn_incident_get(t, "inc-1");
	a = sre_txn_similar(t, rec, "inc-1", 5);
	jv_free(rec);
	b = jv_array_get(jv_copy(a), 0);
	ok(jv_array_length(jv_copy(a)) == 1 &&
	    strcmp(sre_jv_str(b, "incident"), "inc-2") == 0,
	    "similar to inc-1: inc-2 only");
	jv_free(b);
	jv_free(a);
	rec = sre_store_text_features("Cart errors, please!");
	a = sre_txn_similar(t, rec, NULL, 5);
	jv_free(rec);
	b = jv_array_get(jv_copy(a), 0);
	ok(jv_array_length(jv_copy(a)) >= 1 &&
	    strcmp(sre_jv_str(b, "incident"), "inc-3") == 0,
	    "free text finds inc-3 by service and signal");
	jv_free(b);
	jv_free(a);
	sre_txn_end(t);
	/* Closing inc-1 takes it out of the open index. */
	rec = json("{\"incident\":\"inc-1\",\"status\":\"closed\","
	    "\"closed_ms\":2500,\"fingerprint\":\"fp-c\"}");
	sre_store_write(st, put_rec, &rec, err, sizeof(err));
	jv_free(rec);
	sre_store_read(st, &t, err, sizeof(err));
	a = sre_txn_open_before(t, 100000, 10);
	ok(jv_equal(a, json("[\"inc-3\"]")), "closed: out of the open index");
	a = sre_txn_fingerprint_incidents(t, "fp-a", 10);
	ok(jv_equal(a, json("[\"inc-2\"]")), "fingerprint moved");
	sre_txn_end(t);

	/* CAG. */
	l = (struct learn){ "fp-a", "{\"action\":\"scale\",\"target\":"
	    "\"pricing\",\"params\":{\"replicas\":4}}", "inc-2", 1 };
	sre_store_write(st, learn_fn, &l, err, sizeof(err));
	sre_store_read(st, &t, err, sizeof(err));
	ok(sre_cag_lookup(t, "fp-a", &rule, &a) == 0,
	    "one success is not enough");
	sre_txn_end(t);
	/* Key order inside the proposal does not matter. */
	l.prop = "{\"params\":{\"replicas\":4},\"target\":\"pricing\","
	    "\"action\":\"scale\"}";
	l.inc = "inc-1";
	sre_store_write(st, learn_fn, &l, err, sizeof(err));
	sre_store_read(st, &t, err, sizeof(err));
	ok(sre_cag_lookup(t, "fp-a", &rule, &a) == 1 &&
	    sre_jv_int(a, "successes", &v) == 0 && v == 2,
	    "two successes: known fix");
	rec = json("{\"incident\":\"inc-9\",\"ts_ms\":7,"
	    "\"service\":\"quote-api\"}");
	b = sre_cag_diagnosis(rec, a);
	jv_free(rec);
	ok(strcmp(sre_jv_str(b, "source"), "sre-cag") == 0 &&
	    sre_jv_num(b, "confidence", &(double){ 0 }) == 0,
	    "a diagnosis from sre-cag");
	jv_free(b);
	jv_free(a);
	a = sre_txn_cag_list(t, NULL);
	ok(jv_array_length(a) == 1, "one entry (same proposal)");
	sre_txn_end(t);
	l.success = 0;
	sre_store_write(st, learn_fn, &l, err, sizeof(err));
	sre_store_read(st, &t, err, sizeof(err));
	ok(sre_cag_lookup(t, "fp-a", &rule, &a) == 0,
	    "2 of 3 is under the 0.8 ratio");
	rule.min_ratio = 0.6;
	ok(sre_cag_lookup(t, "fp-a", &rule, &a) == 1, "but over 0.6");
	jv_free(a);
	sre_txn_end(t);
	ok(sre_cag_confidence(2, 0) == 0.75 && sre_cag_confidence(9, 1) ==
	    0.833, "confidence (s+1)/(n+2)");

	/* Counters, windows, kv, outbox. */
	ok(sre_store_counter_add(st, "approvals", 2, &v, err, sizeof(err)) ==
	    EX_OK && v == 2, "counter add");
	sre_store_counter_add(st, "approvals", 3, &v, err, sizeof(err));
	ok(v == 5, "counters accumulate");
	sre_store_window_add(st, "approve", 60000 * 10 + 5, 1, err,
	    sizeof(err));
	sre_store_window_add(st, "approve", 60000 * 10 + 9, 1, err,
	    sizeof(err));
	sre_store_window_add(st, "approve", 60000 * 50, 4, err, sizeof(err));
	sre_store_window_add(st, "approvex", 60000 * 50, 100, err,
	    sizeof(err));
	ok(sre_store_window_sum(st, "approve", 0, 60000 * 60, &v, err,
	    sizeof(err)) == EX_OK && v == 6, "window sum over the hour");
	sre_store_window_sum(st, "approve", 60000 * 11, 60000 * 60, &v, err,
	    sizeof(err));
	ok(v == 4, "window sum from minute 11");
	ex = sre_store_write(st, bad_fn, NULL, err, sizeof(err));
	ok(ex == EX_DATAERR, "an empty counter name is refused");
	sre_store_write(st, kv_fn, NULL, err, sizeof(err));
	sre_store_read(st, &t, err, sizeof(err));
	ok(sre_txn_kv_get(t, "guard/last", &s, &n) == 1 &&
	    strcmp(s, "{\"n\":1}") == 0 && n == 7, "kv text");
	ok(sre_txn_kv_get(t, "nope", &s, &n) == 0, "kv missing");
	ok(sre_txn_counter_get(t, "approvals", &v) == 0 && v == 5,
	    "counter get");
	a = sre_txn_outbox_list(t);
	ok(jv_array_length(a) == 1, "outbox holds one");
	sre_txn_end(t);

	/* Another process, read-only, sees it all beside the writer (LMDB
	 * wants one handle per process). */
	{
		pid_t pid = fork();
		int status = -1;

		if (pid == 0) {
			int bad = 0;

			if (sre_store_open(&ro, dir("a"), &rdo, err,
			    sizeof(err)) != EX_OK)
				_exit(1);
			sre_store_read(ro, &t, err, sizeof(err));
			bad |= sre_txn_incident_count(t) != 3;
			sre_txn_end(t);
			bad |= sre_store_counter_add(ro, "x", 1, NULL, err,
			    sizeof(err)) == EX_OK;
			sre_store_close(ro);
			_exit(bad ? 2 : 0);
		}
		waitpid(pid, &status, 0);
		ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "a read-only process sees three incidents, cannot write");
	}

	/* Export, import into a new store, export again: the same text. */
	ok(sre_store_export(st, collect, &x1, err, sizeof(err)) == EX_OK,
	    "export");
	st2 = open_rw(dir("b"), 0);
	{
		char *p = x1.buf, *nl;

		ex = EX_OK;
		while (ex == EX_OK && (nl = strchr(p, '\n')) != NULL) {
			jv r = jv_parse_sized(p, (int)(nl - p));

			ex = sre_store_write(st2, import_fn, &r, err,
			    sizeof(err));
			jv_free(r);
			p = nl + 1;
		}
	}
	ok(ex == EX_OK, "import: %s", ex ? err : "ok");
	sre_store_export(st2, collect, &x2, err, sizeof(err));
	ok(x1.len > 100 && x1.len == x2.len &&
	    memcmp(x1.buf, x2.buf, x1.len) == 0, "lossless round trip");
	if (x1.len != x2.len)
		printf("# --- first\n%s# --- second\n%s", x1.buf, x2.buf);
	sre_store_read(st2, &t, err, sizeof(err));
	a = sre_txn_open_before(t, 100000, 10);
	ok(jv_equal(a, json("[\"inc-3\"]")), "import rebuilt the indexes");
	sre_txn_end(t);
	sre_store_close(st2);
	{
		jv r = json("{\"kind\":\"nonsense\"}");

		ex = sre_store_write(st, import_fn, &r, err, sizeof(err));
		jv_free(r);
		ok(ex == EX_DATAERR, "an unknown record kind: %s", err);
		r = json("{\"sre_store\":\"export\",\"schema\":99}");
		ex = sre_store_write(st, import_fn, &r, err, sizeof(err));
		jv_free(r);
		ok(ex == EX_DATAERR, "a newer export: %s", err);
	}

	/* Delete and gc. */
	ok(sre_store_write(st, del_fn, "inc-3", err, sizeof(err)) == EX_OK,
	    "delete inc-3");
	sre_store_read(st, &t, err, sizeof(err));
	a = sre_txn_open_before(t, 100000, 10);
	ok(jv_array_length(a) == 0, "gone from the open index");
	rec = sre_store_text_features("cart");
	a = sre_txn_similar(t, rec, NULL, 5);
	jv_free(rec);
	ok(jv_array_length(a) == 0, "and from the similarity index");
	sre_txn_end(t);
	ex = sre_store_gc(st, 2600, &gs, err, sizeof(err));
	ok(ex == EX_OK && gs.incidents == 1 && gs.events == 2,
	    "gc: inc-1 and its 2 events (%lld, %lld)", gs.incidents,
	    gs.events);
	sre_store_read(st, &t, err, sizeof(err));
	ok(sre_txn_event_seen(t, "e1") == 0, "its event ids went too");
	ok(sre_txn_incident_count(t) == 1, "inc-2 stays (closed later)");
	sre_txn_end(t);
	ex = sre_store_gc(st, 60000 * 20, &gs, err, sizeof(err));
	ok(gs.windows == 1, "gc: old window counters (%lld)", gs.windows);
	sre_store_close(st);

	/* Map growth: a 64 KiB map takes 3 MB. */
	st = open_rw(dir("grow"), 65536);
	map0 = st != NULL ? sre_store_mapsize(st) : 0;
	ex = EX_OK;
	for (i = 0; st != NULL && i < 1500 && ex == EX_OK; i++) {
		struct blob bl = { i };

		ex = sre_store_write(st, big_fn, &bl, err, sizeof(err));
	}
	ok(ex == EX_OK && sre_store_mapsize(st) > map0,
	    "the map grew from %zu to %zu", map0, st ? sre_store_mapsize(st) :
	    0);
	sre_store_read(st, &t, err, sizeof(err));
	ok(sre_txn_incident_count(t) == 1500, "every write is there");
	sre_txn_end(t);
	sre_store_close(st);
	{
		struct sre_store_opts o = { 0, 65536, 131072 };

		st = NULL;
		sre_store_open(&st, dir("cap"), &o, err, sizeof(err));
		for (i = 0, ex = EX_OK; st != NULL && i < 1500 &&
		    ex == EX_OK; i++) {
			struct blob bl = { i };

			ex = sre_store_write(st, big_fn, &bl, err,
			    sizeof(err));
		}
		ok(ex == EX_IOERR && strstr(err, "maximum size") != NULL,
		    "a capped map fills: %s", err);
		sre_store_close(st);
	}

	/* Schema 1 is migrated; newer or foreign stores are refused. */
	ok(make_v1(dir("v1"), "1", 1) == 0, "a schema 1 store");
	ex = sre_store_open(&ro, dir("v1"), &rdo, err, sizeof(err));
	ok(ex == EX_CONFIG && strstr(err, "migrate") != NULL,
	    "read-only: refused with a hint (%s)", err);
	st = open_rw(dir("v1"), 0);
	ok(st != NULL && sre_store_migrated(st) == 1, "migrated from 1");
	if (st != NULL) {
		rule.min_ratio = 0.8;
		sre_store_read(st, &t, err, sizeof(err));
		ok(sre_cag_lookup(t, "fp-old", &rule, &a) == 1,
		    "the old CAG entry is found under its new key");
		jv_free(a);
		rec = sre_store_text_features("billing");
		a = sre_txn_similar(t, rec, NULL, 5);
		jv_free(rec);
		ok(jv_array_length(a) == 1, "the similarity index was built");
		sre_txn_end(t);
		sre_store_close(st);
	}
	st = open_rw(dir("v1"), 0);
	ok(st != NULL && sre_store_migrated(st) == 0, "once only");
	sre_store_close(st);
	make_v1(dir("v9"), "9", 1);
	ex = sre_store_open(&st, dir("v9"), NULL, err, sizeof(err));
	ok(ex == EX_CONFIG && strstr(err, "newer") != NULL,
	    "schema 9 is refused: %s", err);
	make_v1(dir("foreign"), "", 0);
	ex = sre_store_open(&st, dir("foreign"), NULL, err, sizeof(err));
	ok(ex == EX_CONFIG && strstr(err, "not an SRE-Space store") != NULL,
	    "a foreign LMDB is refused: %s", err);

	/* Derived ids. */
	sre_store_id_derive(id1, 1700000000000LL, "postmortem", "inc-1");
	sre_store_id_derive(id2, 1700000000000LL, "postmortem", "inc-1");
	ok(strlen(id1) == SRE_ID_LEN && strcmp(id1, id2) == 0,
	    "derived ids are stable: %s", id1);
	ok(strcmp(id1, "01HF7YAT000A3GY7P799GE5M8X") == 0,
	    "and the same on every host and build (they are stored)");
	sre_store_id_derive(id2, 1700000000000LL, "postmortem", "inc-2");
	ok(strcmp(id1, id2) != 0 && memcmp(id1, id2, 10) == 0,
	    "and differ by incident, not by time");

	free(x1.buf);
	free(x2.buf);
	nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return tap_done();
}
