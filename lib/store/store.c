/*
 * store.c: the LMDB core of the store: the environment, its schema and
 * migrations, transactions, the damage guard, raw access and the one
 * cursor walk (store_scan).  The schemas live beside it, one file each
 * (store-incident.c, store-memory.c, store-cag.c, store-outbox.c,
 * store-kv.c, store-export.c, store-gc.c); store.h states the layout and
 * the rules, store-int.h what they share.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include <lmdb.h>

#include "diag.h"
#include "event.h"
#include "hash.h"
#include "opt.h"
#include "store-int.h"

/* since: the schema that brought the database. */
static const struct {
	const char *name;
	unsigned flags;
	int since;
} dbs[DB_N] = {
	{ "meta", 0, 1 },
	{ "incidents", 0, 1 },
	{ "timelines", 0, 1 },
	{ "events", 0, 1 },
	{ "fingerprints", MDB_DUPSORT, 1 },
	{ "cag", 0, 1 },
	{ "similarity", MDB_DUPSORT, 2 },
	{ "open", 0, 2 },
	{ "outbox", 0, 2 },
	{ "samples", 0, 1 },
	{ "counters", 0, 1 },
	{ "kv", 0, 1 },
};

const char *
store_db_name(int db)
{
	return db >= 0 && db < DB_N ? dbs[db].name : "?";
}

#define MAPSIZE_DEFAULT	((size_t)64 << 20)
#define MAPSIZE_MIN	((size_t)64 << 10)
#define MAPSIZE_MAX	((size_t)1 << 40)

/* ---- damage ------------------------------------------------------------
 *
 * LMDB keeps no checksums and trusts its file: a truncated data.mdb makes
 * a read fault with SIGBUS, a damaged page can make one fault with
 * SIGSEGV.  No store, damaged or not, may end a tool by a signal, so
 * while a transaction is open (and while the environment is opened) a
 * handler turns such a fault into the message below and exit 74.  A
 * fault anywhere else, or at an address in the first page outside LMDB
 * (a null pointer: our bug, not the file's), goes on to the handler that was
 * there before, so sanitizers and core dumps still see real bugs.
 */
static volatile sig_atomic_t guard_depth;
/* LMDB() (store-int.h) counts calls into LMDB, so the guard knows: a
 * fault at any address then is the file's doing (LMDB follows damaged
 * offsets from null too). */
volatile sig_atomic_t store_guard_in_lmdb;
int store_guard_rc;
static char guard_msg[sizeof(((struct sre_store *)0)->dir) + 256];
static size_t guard_len;
static struct sigaction guard_prev_bus, guard_prev_segv;
static int guard_installed;

static void
guard_handler(int sig, siginfo_t *si, void *uc)
{
	struct sigaction *prev = sig == SIGBUS ? &guard_prev_bus :
	    &guard_prev_segv;

	if (guard_depth > 0 && (store_guard_in_lmdb > 0 ||
	    (uintptr_t)si->si_addr >= 4096)) {
		ssize_t w = write(STDERR_FILENO, guard_msg, guard_len);

		(void)w;
		_exit(EX_IOERR);
	}
	if (prev->sa_flags & SA_SIGINFO) {
		prev->sa_sigaction(sig, si, uc);
		return;
	}
	/* Back to what was there; returning re-runs the faulting access,
	 * which then meets it. */
	sigaction(sig, prev, NULL);
}

/* Arm the guard for st (its message names st's directory). */
static void
guard_enter(const struct sre_store *st)
{
	struct sigaction sa;
	int n;

	if (!guard_installed) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = guard_handler;
		sa.sa_flags = SA_SIGINFO | SA_NODEFER;
		sigemptyset(&sa.sa_mask);
		if (sigaction(SIGBUS, &sa, &guard_prev_bus) == 0 &&
		    sigaction(SIGSEGV, &sa, &guard_prev_segv) == 0)
			guard_installed = 1;
	}
	n = snprintf(guard_msg, sizeof(guard_msg), "%s: %s: the store is "
	    "damaged (reading it faulted); move it away and restore it "
	    "with sre-curate import\n", sre_progname(), st->dir);
	guard_len = n < 0 ? 0 : (size_t)n >= sizeof(guard_msg) ?
	    sizeof(guard_msg) - 1 : (size_t)n;
	guard_depth++;
}

/* LMDB's own assertions fail on damaged pages: report, never abort. */
static void
damaged(MDB_env *env, const char *msg)
{
	(void)env;
	(void)msg;
	if (guard_len > 0) {
		ssize_t w = write(STDERR_FILENO, guard_msg, guard_len);

		(void)w;
	}
	_exit(EX_IOERR);
}

static void
guard_leave(void)
{
	if (guard_depth > 0)
		guard_depth--;
}

/* ---- errors ----------------------------------------------------------- */

static int
ex_of(int rc)
{
	switch (rc) {
	case EACCES:
	case EPERM:
	case EROFS:
	case MDB_INVALID:
	case MDB_VERSION_MISMATCH:
		return EX_CONFIG;
	case ENOSPC:
	case EDQUOT:
	case EIO:
	case EFBIG:
	case MDB_MAP_FULL:
	case MDB_CORRUPTED:
	case MDB_PAGE_NOTFOUND:
	case MDB_PANIC:
	case MDB_CURSOR_FULL:	/* a tree deeper than LMDB builds: damage */
	case MDB_BAD_VALSIZE:	/* our keys are checked: a damaged page */
	case MDB_BAD_TXN:	/* failed inside LMDB before: a damaged page */
		return EX_IOERR;
	case ENOMEM:
		return EX_OSERR;
	case ENOENT:
		return EX_NOINPUT;
	}
	return EX_SOFTWARE;
}

static const char *
why(int rc)
{
	switch (rc) {
	case MDB_MAP_FULL:
		return "the store reached its maximum size";
	case MDB_INVALID:
		return "not an LMDB store";
	case MDB_CORRUPTED:
	case MDB_PAGE_NOTFOUND:
	case MDB_CURSOR_FULL:
	case MDB_BAD_VALSIZE:
	case MDB_BAD_TXN:
		return "the store is damaged; move it away and restore it "
		    "with sre-curate import";
	}
	return mdb_strerror(rc);
}

int
sre_txn_fail(struct sre_txn *t, int ex, const char *fmt, ...)
{
	va_list ap;

	if (t->ex == 0) {
		t->ex = ex;
		va_start(ap, fmt);
		vsnprintf(t->err, sizeof(t->err), fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* An LMDB (or errno) failure of operation what. */
int
store_dberr(struct sre_txn *t, int rc, const char *what)
{
	if (t->ex == 0)
		t->rc = rc;
	return sre_txn_fail(t, ex_of(rc), "%s: %s: %s", t->st->dir, what,
	    why(rc));
}

const char *
sre_txn_error(const struct sre_txn *t, int *ex)
{
	if (ex != NULL)
		*ex = t->ex;
	return t->err;
}

struct sre_store *
sre_txn_store(const struct sre_txn *t)
{
	return t->st;
}

int
store_writable(struct sre_txn *t)
{
	if (t->rdonly)
		return sre_txn_fail(t, EX_SOFTWARE,
		    "write in a read-only transaction");
	return 0;
}

/* ---- keys ------------------------------------------------------------- */

int
sre_store_key_ok(const char *s)
{
	size_t n;

	if (s == NULL)
		return 0;
	n = strlen(s);
	return n > 0 && n <= SRE_STORE_KEY_MAX;
}

int
store_badkey(struct sre_txn *t, const char *what, const char *s)
{
	if (s == NULL || *s == '\0')
		return sre_txn_fail(t, EX_DATAERR, "%s: missing or empty",
		    what);
	return sre_txn_fail(t, EX_DATAERR, "%s: longer than %d bytes", what,
	    SRE_STORE_KEY_MAX);
}

/* ---- raw access ------------------------------------------------------- */

int
store_get(struct sre_txn *t, int db, const void *k, size_t kn, MDB_val *v)
{
	MDB_val key = { kn, (void *)(uintptr_t)k };
	int rc = LMDB(mdb_get(t->txn, t->st->dbi[db], &key, v));

	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0)
		return store_dberr(t, rc, store_db_name(db));
	return 1;
}

/* 0 stored, 1 already there (MDB_NODUPDATA / MDB_NOOVERWRITE), -1. */
int
store_put(struct sre_txn *t, int db, const void *k, size_t kn, const void *v,
    size_t vn, unsigned flags)
{
	MDB_val key = { kn, (void *)(uintptr_t)k };
	MDB_val val = { vn, (void *)(uintptr_t)v };
	int rc;

	if (store_writable(t) < 0)
		return -1;
	rc = LMDB(mdb_put(t->txn, t->st->dbi[db], &key, &val, flags));
	if (rc == MDB_KEYEXIST)
		return 1;
	if (rc != 0)
		return store_dberr(t, rc, store_db_name(db));
	return 0;
}

/* Delete a key (or one duplicate, v != NULL): 1 deleted, 0 none, -1. */
int
store_del(struct sre_txn *t, int db, const void *k, size_t kn, const void *v,
    size_t vn)
{
	MDB_val key = { kn, (void *)(uintptr_t)k };
	MDB_val val = { vn, (void *)(uintptr_t)v };
	int rc;

	if (store_writable(t) < 0)
		return -1;
	rc = LMDB(mdb_del(t->txn, t->st->dbi[db], &key, v != NULL ? &val :
	    NULL));
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0)
		return store_dberr(t, rc, store_db_name(db));
	return 1;
}

int
store_cursor(struct sre_txn *t, int db, MDB_cursor **c)
{
	int rc = mdb_cursor_open(t->txn, t->st->dbi[db], c);

	if (rc != 0)
		return store_dberr(t, rc, store_db_name(db));
	return 0;
}

int
store_step(struct sre_txn *t, MDB_cursor *c, MDB_val *key, MDB_val *val,
    MDB_cursor_op op)
{
	int rc = LMDB(mdb_cursor_get(c, key, val, op));

	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0)
		return store_dberr(t, rc, "cursor");
	return 1;
}

/* Parse a stored JSON object; anything else is damage. */
jv
store_parse(struct sre_txn *t, int db, const MDB_val *v)
{
	jv j;

	if (v->mv_size > INT_MAX) {
		sre_txn_fail(t, EX_IOERR, "%s: %s: value too large",
		    t->st->dir, store_db_name(db));
		return jv_invalid();
	}
	j = jv_parse_sized(v->mv_data, (int)v->mv_size);
	/* Every database that holds JSON holds objects. */
	if (jv_get_kind(j) != JV_KIND_OBJECT) {
		jv_free(j);
		sre_txn_fail(t, EX_IOERR, "%s: %s: a stored value is not "
		    "a JSON object (damaged store?)", t->st->dir,
		    store_db_name(db));
		return jv_invalid();
	}
	return j;
}

/* The record under a key: the value, jv_null() when missing, invalid. */
jv
store_get_json(struct sre_txn *t, int db, const void *k, size_t kn)
{
	MDB_val v;
	int r = store_get(t, db, k, kn, &v);

	if (r < 0)
		return jv_invalid();
	if (r == 0)
		return jv_null();
	return store_parse(t, db, &v);
}

/* Store v (borrowed) as compact JSON. */
int
store_put_json(struct sre_txn *t, int db, const void *k, size_t kn, jv v,
    unsigned flags)
{
	size_t n;
	char *s = sre_jv_dump(jv_copy(v), &n);
	int r;

	if (s == NULL)
		return sre_txn_fail(t, EX_OSERR, "out of memory");
	r = store_put(t, db, k, kn, s, n, flags);
	free(s);
	return r;
}

/* ---- the one cursor walk ---------------------------------------------- */

int
store_scan(struct sre_txn *t, int db, int how, const void *from,
    size_t fromn, size_t prefix, store_scan_fn fn, void *ctx)
{
	struct scan s;
	MDB_cursor_op next = MDB_NEXT;
	int r, stop = 0;

	memset(&s, 0, sizeof(s));
	s.t = t;
	s.db = db;
	if (store_cursor(t, db, &s.c) < 0)
		return -1;
	s.k.mv_size = fromn;
	s.k.mv_data = (void *)(uintptr_t)from;
	if (how == SCAN_ALL)
		r = store_step(t, s.c, &s.k, &s.v, fromn ? MDB_SET_RANGE :
		    MDB_FIRST);
	else {
		r = store_step(t, s.c, &s.k, &s.v, MDB_SET);
		if (r > 0 && how == SCAN_DUPS_BACK)
			r = store_step(t, s.c, &s.k, &s.v, MDB_LAST_DUP);
		next = how == SCAN_DUPS_BACK ? MDB_PREV_DUP : MDB_NEXT_DUP;
		prefix = 0;
	}
	for (; r > 0; r = store_step(t, s.c, &s.k, &s.v, next)) {
		if (prefix > 0 && (s.k.mv_size < prefix ||
		    memcmp(s.k.mv_data, from, prefix) != 0))
			break;
		if ((stop = fn(&s, ctx)) != 0)
			break;
	}
	mdb_cursor_close(s.c);
	return r < 0 ? -1 : stop;
}

int
store_scan_del(struct scan *s)
{
	int rc;

	if (store_writable(s->t) < 0)
		return -1;
	if ((rc = LMDB(mdb_cursor_del(s->c, 0))) != 0)
		return store_dberr(s->t, rc, store_db_name(s->db));
	return 0;
}

jv
store_scan_json(struct scan *s)
{
	return store_parse(s->t, s->db, &s->v);
}

int
store_scan_collect(struct scan *s, void *ctx)
{
	jv *a = ctx, e = store_scan_json(s);

	if (!jv_is_valid(e))
		return -1;
	*a = jv_array_append(*a, e);
	return 0;
}

/* ---- opening ---------------------------------------------------------- */

static size_t
env_mapsize(void)
{
	const char *s = getenv("SRE_STORE_MAPSIZE");
	unsigned long long v;
	char *end;

	if (s == NULL || *s == '\0')
		return 0;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v == 0)
		return 0;
	return v > MAPSIZE_MAX ? MAPSIZE_MAX : (size_t)v;
}

static int
open_dbs(struct sre_txn *t, unsigned create)
{
	int i, rc;

	for (i = 0; i < DB_N; i++) {
		rc = mdb_dbi_open(t->txn, dbs[i].name, dbs[i].flags | create,
		    &t->st->dbi[i]);
		if (rc == MDB_NOTFOUND)
			return sre_txn_fail(t, EX_CONFIG, "%s: database '%s' "
			    "is missing (damaged store?)", t->st->dir,
			    dbs[i].name);
		if (rc != 0)
			return store_dberr(t, rc, dbs[i].name);
	}
	return 0;
}

int
store_get_ll(struct sre_txn *t, int db, const void *k, size_t kn,
    long long *v)
{
	MDB_val val;
	char buf[32], *end;
	int r;

	if ((r = store_get(t, db, k, kn, &val)) <= 0)
		return r;
	if (val.mv_size == 0 || val.mv_size >= sizeof(buf))
		return 2;
	memcpy(buf, val.mv_data, val.mv_size);
	buf[val.mv_size] = '\0';
	errno = 0;
	*v = strtoll(buf, &end, 10);
	return errno == 0 && *end == '\0' ? 1 : 2;
}

static int
schema_get(struct sre_txn *t, long *v)
{
	long long n;
	int r;

	if ((r = store_get_ll(t, DB_META, "schema", 6, &n)) <= 0)
		return r;
	if (r == 1 && n > 0) {
		*v = (long)n;
		return 1;
	}
	return sre_txn_fail(t, EX_CONFIG, "%s: unreadable schema version",
	    t->st->dir);
}

static int
schema_put(struct sre_txn *t)
{
	char buf[16];
	int n = snprintf(buf, sizeof(buf), "%d", SRE_STORE_SCHEMA);

	return store_put(t, DB_META, "schema", 6, buf, (size_t)n, 0) < 0 ?
	    -1 : 0;
}

static int
schema_refuse(struct sre_txn *t, long v)
{
	if (v > SRE_STORE_SCHEMA)
		return sre_txn_fail(t, EX_CONFIG, "%s: the store has schema "
		    "%ld, newer than this build reads (%d): use a newer "
		    "SRE-Space", t->st->dir, v, SRE_STORE_SCHEMA);
	return sre_txn_fail(t, EX_CONFIG, "%s: the store has schema %ld, "
	    "older than %d: open it once with sre-curate to migrate it",
	    t->st->dir, v, SRE_STORE_SCHEMA);
}

/* Schema 1's CAG keys: a fingerprint alone (no NUL). */
static int
old_cag_key(struct scan *s, void *ctx)
{
	jv *old = ctx;

	if (memchr(s->k.mv_data, '\0', s->k.mv_size) == NULL)
		*old = jv_array_append(*old, jv_string_sized(s->k.mv_data,
		    (int)s->k.mv_size));
	return 0;
}

/*
 * Schema 1 had no similarity or open-incident index and no outbox, and
 * keyed the CAG table by fingerprint alone.  Migrating rekeys the CAG and
 * builds the indexes from the incident records.
 */
static int
migrate_1(struct sre_txn *t)
{
	jv old = jv_array(), recs = jv_array();
	int r, i, n;

	if (store_scan(t, DB_CAG, SCAN_ALL, NULL, 0, 0, old_cag_key, &old) < 0)
		goto fail;
	n = jv_array_length(jv_copy(old));
	for (i = 0; i < n; i++) {
		jv fp = jv_array_get(jv_copy(old), i), e;
		const char *s = jv_string_value(fp);
		struct key key;

		e = store_get_json(t, DB_CAG, s, strlen(s));
		if (!jv_is_valid(e) || jv_get_kind(e) != JV_KIND_OBJECT ||
		    store_cag_key(t, &key, s, jv_object_get(jv_copy(e),
		    jv_string("proposal"))) < 0 ||
		    store_put_json(t, DB_CAG, key.b, key.n, e, 0) < 0 ||
		    store_del(t, DB_CAG, s, strlen(s), NULL, 0) < 0) {
			jv_free(e);
			jv_free(fp);
			if (t->ex == 0)
				sre_txn_fail(t, EX_CONFIG, "%s: migrating "
				    "the CAG entry of '%s' failed", t->st->dir,
				    s);
			goto fail;
		}
		jv_free(e);
		jv_free(fp);
	}
	if (store_scan(t, DB_INCIDENTS, SCAN_ALL, NULL, 0, 0,
	    store_scan_collect, &recs) < 0)
		goto fail;
	n = jv_array_length(jv_copy(recs));
	for (i = 0; i < n; i++) {
		jv rec = jv_array_get(jv_copy(recs), i);
		const char *id = sre_jv_str(rec, "incident");

		r = sre_store_key_ok(id) ? store_index_update(t, id, jv_null(),
		    rec) : store_badkey(t, "incident", id);
		jv_free(rec);
		if (r < 0)
			goto fail;
	}
	jv_free(old);
	jv_free(recs);
	return 0;
fail:
	jv_free(old);
	jv_free(recs);
	return -1;
}

static int
setup_write(struct sre_txn *t, void *ctx)
{
	struct sre_store *st = ctx;
	MDB_stat ms;
	MDB_dbi main;
	long v;
	int rc, r;

	/* An environment with no named database at all is new. */
	if ((rc = mdb_dbi_open(t->txn, NULL, 0, &main)) != 0 ||
	    (rc = LMDB(mdb_stat(t->txn, main, &ms))) != 0)
		return store_dberr(t, rc, "main database");
	rc = mdb_dbi_open(t->txn, "meta", ms.ms_entries == 0 ? MDB_CREATE : 0,
	    &st->dbi[DB_META]);
	if (rc == MDB_NOTFOUND || rc == MDB_INCOMPATIBLE)
		return sre_txn_fail(t, EX_CONFIG, "%s: not an SRE-Space store "
		    "(no schema version)", st->dir);
	if (rc != 0)
		return store_dberr(t, rc, "meta");
	if ((r = schema_get(t, &v)) < 0)
		return -1;
	if (r == 0) {
		if (ms.ms_entries != 0)
			return sre_txn_fail(t, EX_CONFIG, "%s: not an "
			    "SRE-Space store (no schema version)", st->dir);
		if (open_dbs(t, MDB_CREATE) < 0 || schema_put(t) < 0)
			return -1;
		return 0;
	}
	if (v > SRE_STORE_SCHEMA || v < 1)
		return schema_refuse(t, v);
	if (open_dbs(t, MDB_CREATE) < 0)
		return -1;
	if (v == SRE_STORE_SCHEMA)
		return 0;	/* commit all the same: it keeps the handles */
	if (v == 1 && migrate_1(t) < 0)
		return -1;
	st->migrated = (int)v;
	return schema_put(t);
}

static int
setup_read(struct sre_store *st, char *err, size_t errlen)
{
	struct sre_txn *t;
	MDB_stat ms;
	MDB_dbi main;
	long v;
	int ex, r, rc;

	if ((ex = sre_store_read(st, &t, err, errlen)) != EX_OK)
		return ex;
	/* No named database at all: the writer has not committed its
	 * first transaction yet. */
	if (mdb_dbi_open(t->txn, NULL, 0, &main) == 0 &&
	    LMDB(mdb_stat(t->txn, main, &ms)) == 0 && ms.ms_entries == 0) {
		snprintf(err, errlen, "no store at %s yet (it is being "
		    "created)", st->dir);
		sre_txn_end(t);
		return EX_NOINPUT;
	}
	rc = mdb_dbi_open(t->txn, "meta", 0, &st->dbi[DB_META]);
	if (rc == MDB_NOTFOUND || rc == MDB_INCOMPATIBLE)
		sre_txn_fail(t, EX_CONFIG, "%s: not an SRE-Space store (no "
		    "schema version)", st->dir);
	else if (rc != 0)
		store_dberr(t, rc, "meta");
	else if ((r = schema_get(t, &v)) == 0)
		sre_txn_fail(t, EX_CONFIG, "%s: not an SRE-Space store (no "
		    "schema version)", st->dir);
	else if (r > 0 && v != SRE_STORE_SCHEMA)
		schema_refuse(t, v);
	else if (r > 0)
		open_dbs(t, 0);
	if (t->ex != 0) {
		snprintf(err, errlen, "%s", t->err);
		ex = t->ex;
		sre_txn_end(t);
		return ex;
	}
	/* Committing makes the handles usable by later transactions. */
	rc = LMDB(mdb_txn_commit(t->txn));
	t->txn = NULL;
	sre_txn_end(t);
	if (rc != 0) {
		snprintf(err, errlen, "%s: %s", st->dir, why(rc));
		return ex_of(rc);
	}
	return EX_OK;
}

/*
 * A data file shorter than the pages its meta page counts was truncated
 * (a full disk, a bad copy): reading it would fault.  Refuse it here.
 */
static int
check_size(struct sre_store *st, const char *data, char *err, size_t errlen)
{
	MDB_envinfo info;
	MDB_stat ms;
	struct stat sb;
	unsigned long long need;

	if (mdb_env_info(st->env, &info) != 0 ||
	    mdb_env_stat(st->env, &ms) != 0 || stat(data, &sb) < 0)
		return EX_OK;	/* nothing to compare: the reads will say */
	need = ((unsigned long long)info.me_last_pgno + 1) * ms.ms_psize;
	if ((unsigned long long)sb.st_size < need) {
		snprintf(err, errlen, "%s: the store is damaged: data.mdb has "
		    "%lld bytes, its pages need %llu (truncated?); move it "
		    "away and restore it with sre-curate import", st->dir,
		    (long long)sb.st_size, need);
		return EX_IOERR;
	}
	return EX_OK;
}

int
sre_store_open(struct sre_store **out, const char *state_dir,
    const struct sre_store_opts *opts, char *err, size_t errlen)
{
	struct sre_store *st;
	struct stat sb;
	char data[4200];
	size_t map;
	unsigned flags;
	int rc, ex, dead;

	*out = NULL;
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return EX_OSERR;
	}
	st->flags = opts != NULL ? opts->flags : 0;
	st->max_mapsize = opts != NULL && opts->max_mapsize ?
	    opts->max_mapsize : MAPSIZE_MAX;
	map = opts != NULL && opts->mapsize ? opts->mapsize : env_mapsize();
	if (map == 0)
		map = MAPSIZE_DEFAULT;
	if (map < MAPSIZE_MIN)
		map = MAPSIZE_MIN;
	map = (map + 4095) & ~(size_t)4095;
	if (snprintf(st->dir, sizeof(st->dir), "%s/%s", state_dir,
	    SRE_STORE_DIR) >= (int)sizeof(st->dir)) {
		snprintf(err, errlen, "%s: path too long", state_dir);
		free(st);
		return EX_CONFIG;
	}
	snprintf(data, sizeof(data), "%s/data.mdb", st->dir);
	if (st->flags & SRE_STORE_RDONLY) {
		if (stat(data, &sb) < 0) {
			rc = errno;
			if (rc == ENOENT)
				snprintf(err, errlen, "no store at %s (sre-curate "
				    "creates it)", st->dir);
			else
				snprintf(err, errlen, "%s: %s", data,
				    strerror(rc));
			free(st);
			return rc == ENOENT ? EX_NOINPUT : ex_of(rc);
		}
		if (sb.st_size == 0) {
			snprintf(err, errlen, "no store at %s yet (it is being "
			    "created)", st->dir);
			free(st);
			return EX_NOINPUT;
		}
	} else if (sre_mkdirs(st->dir) < 0) {
		rc = errno;
		snprintf(err, errlen, "cannot create %s: %s", st->dir,
		    strerror(rc));
		free(st);
		return ex_of(rc) == EX_SOFTWARE ? EX_CANTCREAT : ex_of(rc);
	}
	if ((rc = mdb_env_create(&st->env)) != 0) {
		snprintf(err, errlen, "%s: %s", st->dir, why(rc));
		free(st);
		return ex_of(rc);
	}
	mdb_env_set_assert(st->env, damaged);
	mdb_env_set_maxdbs(st->env, DB_N + 4);
	mdb_env_set_mapsize(st->env, map);
	flags = MDB_NOTLS | MDB_NOMETASYNC;
	if (st->flags & SRE_STORE_RDONLY)
		flags |= MDB_RDONLY;
	guard_enter(st);
	rc = mdb_env_open(st->env, st->dir, flags, 0666);
	guard_leave();
	if (rc != 0) {
		/* Read-only, an empty data file is a store being created
		 * (LMDB fails to write its first pages: EBADF). */
		if ((rc == ENOENT || rc == EBADF) &&
		    (st->flags & SRE_STORE_RDONLY))
			rc = ENOENT;
		if (rc == ENOENT && (st->flags & SRE_STORE_RDONLY))
			snprintf(err, errlen, "no store at %s yet (it is being "
			    "created)", st->dir);
		else
			snprintf(err, errlen, "%s: %s", st->dir, why(rc));
		mdb_env_close(st->env);
		free(st);
		if (rc == ENOENT)
			return (flags & MDB_RDONLY) ? EX_NOINPUT : EX_CONFIG;
		return ex_of(rc);
	}
	/* Reader slots of processes that died (kill -9) are freed. */
	mdb_reader_check(st->env, &dead);
	if ((ex = check_size(st, data, err, errlen)) == EX_OK) {
		if (st->flags & SRE_STORE_RDONLY)
			ex = setup_read(st, err, errlen);
		else
			ex = sre_store_write(st, setup_write, st, err, errlen);
	}
	if (ex != EX_OK) {
		mdb_env_close(st->env);
		free(st);
		return ex;
	}
	*out = st;
	return EX_OK;
}

void
sre_store_close(struct sre_store *st)
{
	if (st == NULL)
		return;
	mdb_env_close(st->env);
	free(st);
}

const char *
sre_store_path(const struct sre_store *st)
{
	return st->dir;
}

int
sre_store_migrated(const struct sre_store *st)
{
	return st->migrated;
}

size_t
sre_store_mapsize(const struct sre_store *st)
{
	MDB_envinfo info;

	if (mdb_env_info(st->env, &info) != 0)
		return 0;
	return info.me_mapsize;
}

/* ---- transactions ----------------------------------------------------- */

static int
begin(struct sre_store *st, unsigned flags, MDB_txn **txn)
{
	int rc, tries;

	for (tries = 0; tries < 8; tries++) {
		rc = LMDB(mdb_txn_begin(st->env, NULL, flags, txn));
		if (rc != MDB_MAP_RESIZED)
			return rc;
		/* Another process grew the map: adopt its size. */
		if ((rc = mdb_env_set_mapsize(st->env, 0)) != 0)
			return rc;
	}
	return MDB_MAP_RESIZED;
}

static int
grow(struct sre_store *st)
{
	size_t cur = sre_store_mapsize(st), want = cur * 2;

	if (cur == 0 || cur >= st->max_mapsize)
		return -1;
	if (want > st->max_mapsize)
		want = st->max_mapsize;
	return mdb_env_set_mapsize(st->env, want) == 0 ? 0 : -1;
}

static int
store_write(struct sre_store *st, sre_store_fn fn, void *ctx, char *err,
    size_t errlen)
{
	struct sre_txn t;
	int rc, r, tries;

	if (st->flags & SRE_STORE_RDONLY) {
		snprintf(err, errlen, "%s: opened read-only", st->dir);
		return EX_SOFTWARE;
	}
	for (tries = 0; tries < 64; tries++) {
		memset(&t, 0, sizeof(t));
		t.st = st;
		if ((rc = begin(st, 0, &t.txn)) != 0) {
			snprintf(err, errlen, "%s: %s", st->dir, why(rc));
			return ex_of(rc);
		}
		r = fn(&t, ctx);
		if (r != 0 || t.ex != 0) {
			mdb_txn_abort(t.txn);
			if (t.rc == MDB_MAP_FULL && grow(st) == 0)
				continue;
			if (r > 0 && t.ex == 0)
				return EX_OK;
			snprintf(err, errlen, "%s", t.ex != 0 ? t.err :
			    "write failed");
			return t.ex != 0 ? t.ex : EX_SOFTWARE;
		}
		rc = LMDB(mdb_txn_commit(t.txn));
		if (rc == MDB_MAP_FULL && grow(st) == 0)
			continue;
		if (rc != 0) {
			snprintf(err, errlen, "%s: committing: %s", st->dir,
			    why(rc));
			return ex_of(rc);
		}
		return EX_OK;
	}
	snprintf(err, errlen, "%s: the store cannot grow", st->dir);
	return EX_IOERR;
}

int
sre_store_write(struct sre_store *st, sre_store_fn fn, void *ctx, char *err,
    size_t errlen)
{
	int ex;

	guard_enter(st);
	ex = store_write(st, fn, ctx, err, errlen);
	guard_leave();
	return ex;
}

int
sre_store_read(struct sre_store *st, struct sre_txn **out, char *err,
    size_t errlen)
{
	struct sre_txn *t;
	int rc;

	*out = NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return EX_OSERR;
	}
	t->st = st;
	t->rdonly = 1;
	guard_enter(st);
	if ((rc = begin(st, MDB_RDONLY, &t->txn)) != 0) {
		guard_leave();
		snprintf(err, errlen, "%s: %s", st->dir, why(rc));
		free(t);
		return ex_of(rc);
	}
	*out = t;
	return EX_OK;
}

void
sre_txn_end(struct sre_txn *t)
{
	if (t == NULL)
		return;
	if (t->txn != NULL)
		mdb_txn_abort(t->txn);
	free(t);
	guard_leave();
}

/* ---- helpers ---------------------------------------------------------- */

static uint64_t
mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void
sre_store_id_derive(char *out, int64_t ts_ms, const char *a, const char *b)
{
	uint64_t h = SRE_FNV64_BASIS;

	h = sre_fnv1a64(h, a, strlen(a) + 1);
	if (b != NULL)
		h = sre_fnv1a64(h, b, strlen(b));
	sre_id_encode(out, (uint64_t)ts_ms, mix(h),
	    mix(h ^ 0x9e3779b97f4a7c15ULL));
}
