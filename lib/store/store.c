/* store.c: the LMDB store (see store.h for the layout and the rules). */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include <bsd/stdlib.h>
#include <lmdb.h>

#include "diag.h"
#include "event.h"
#include "store.h"

enum {
	DB_META, DB_INCIDENTS, DB_TIMELINES, DB_EVENTS, DB_FPS, DB_CAG,
	DB_SIM, DB_OPEN, DB_OUTBOX, DB_SAMPLES, DB_COUNTERS, DB_KV, DB_N
};

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

#define MAPSIZE_DEFAULT	((size_t)64 << 20)
#define MAPSIZE_MIN	((size_t)64 << 10)
#define MAPSIZE_MAX	((size_t)1 << 40)
#define DF_MAX		20000	/* terms commoner than this are noise */
#define CAG_KEEP	5	/* incidents remembered per CAG entry */
#define FEATURE_MAX	64	/* features of one kind per record */

struct sre_store {
	MDB_env *env;
	MDB_dbi dbi[DB_N];
	unsigned flags;
	size_t max_mapsize;
	int migrated;
	char dir[4096];
};

struct sre_txn {
	struct sre_store *st;
	MDB_txn *txn;
	int rdonly;
	int rc;			/* LMDB or errno code of the first failure */
	int ex;			/* its sysexits code; 0 while all is well */
	char err[512];
};

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
static volatile sig_atomic_t guard_depth, guard_in_lmdb;
static int guard_rc;
/* Call into LMDB with the guard told so (a fault at any address then
 * is the file's doing: LMDB follows damaged offsets from null too). */
#define LMDB(call) (guard_in_lmdb++, guard_rc = (call), guard_in_lmdb--, \
	guard_rc)
static char guard_msg[sizeof(((struct sre_store *)0)->dir) + 256];
static size_t guard_len;
static struct sigaction guard_prev_bus, guard_prev_segv;
static int guard_installed;

static void
guard_handler(int sig, siginfo_t *si, void *uc)
{
	struct sigaction *prev = sig == SIGBUS ? &guard_prev_bus :
	    &guard_prev_segv;

	if (guard_depth > 0 && (guard_in_lmdb > 0 ||
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

/* ---- errors --------------------------------------------------------- */

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
static int
dberr(struct sre_txn *t, int rc, const char *what)
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

static int
writable(struct sre_txn *t)
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

static int
badkey(struct sre_txn *t, const char *what, const char *s)
{
	if (s == NULL || *s == '\0')
		return sre_txn_fail(t, EX_DATAERR, "%s: missing or empty",
		    what);
	return sre_txn_fail(t, EX_DATAERR, "%s: longer than %d bytes", what,
	    SRE_STORE_KEY_MAX);
}

static void
be64_put(unsigned char *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)(v & 0xff);
}

static uint64_t
be64_get(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* Key of two parts: a, a NUL, b (b may be binary). */
struct key {
	unsigned char b[SRE_STORE_KEY_MAX * 2 + 16];
	size_t n;
};

static void
key_str(struct key *k, const char *s)
{
	k->n = strlen(s);
	memcpy(k->b, s, k->n);
}

static void
key_nul(struct key *k)
{
	k->b[k->n++] = '\0';
}

static void
key_u64(struct key *k, uint64_t v)
{
	be64_put(k->b + k->n, v);
	k->n += 8;
}

static void
key_cat(struct key *k, const char *s)
{
	size_t n = strlen(s);

	memcpy(k->b + k->n, s, n);
	k->n += n;
}

/* Does val start with the n bytes at p? */
static int
has_prefix(const MDB_val *val, const void *p, size_t n)
{
	return val->mv_size >= n && memcmp(val->mv_data, p, n) == 0;
}

/* ---- raw access --------------------------------------------------------- */

static int
get(struct sre_txn *t, int db, const void *k, size_t kn, MDB_val *v)
{
	MDB_val key = { kn, (void *)(uintptr_t)k };
	int rc = LMDB(mdb_get(t->txn, t->st->dbi[db], &key, v));

	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0)
		return dberr(t, rc, dbs[db].name);
	return 1;
}

/* 0 stored, 1 already there (MDB_NODUPDATA / MDB_NOOVERWRITE), -1. */
static int
put(struct sre_txn *t, int db, const void *k, size_t kn, const void *v,
    size_t vn, unsigned flags)
{
	MDB_val key = { kn, (void *)(uintptr_t)k };
	MDB_val val = { vn, (void *)(uintptr_t)v };
	int rc;

	if (writable(t) < 0)
		return -1;
	rc = LMDB(mdb_put(t->txn, t->st->dbi[db], &key, &val, flags));
	if (rc == MDB_KEYEXIST)
		return 1;
	if (rc != 0)
		return dberr(t, rc, dbs[db].name);
	return 0;
}

/* Delete a key (or one duplicate, v != NULL): 1 deleted, 0 none, -1. */
static int
del(struct sre_txn *t, int db, const void *k, size_t kn, const void *v,
    size_t vn)
{
	MDB_val key = { kn, (void *)(uintptr_t)k };
	MDB_val val = { vn, (void *)(uintptr_t)v };
	int rc;

	if (writable(t) < 0)
		return -1;
	rc = LMDB(mdb_del(t->txn, t->st->dbi[db], &key, v != NULL ? &val : NULL));
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0)
		return dberr(t, rc, dbs[db].name);
	return 1;
}

static int
cursor(struct sre_txn *t, int db, MDB_cursor **c)
{
	int rc = mdb_cursor_open(t->txn, t->st->dbi[db], c);

	if (rc != 0)
		return dberr(t, rc, dbs[db].name);
	return 0;
}

/* Position c at the first key >= (k, kn): 1 found, 0 past the end, -1. */
static int
seek(struct sre_txn *t, MDB_cursor *c, const void *k, size_t kn,
    MDB_val *key, MDB_val *val)
{
	int rc;

	key->mv_size = kn;
	key->mv_data = (void *)(uintptr_t)k;
	rc = LMDB(mdb_cursor_get(c, key, val, kn ? MDB_SET_RANGE : MDB_FIRST));
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0)
		return dberr(t, rc, "cursor");
	return 1;
}

static int
step(struct sre_txn *t, MDB_cursor *c, MDB_val *key, MDB_val *val,
    MDB_cursor_op op)
{
	int rc = LMDB(mdb_cursor_get(c, key, val, op));

	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0)
		return dberr(t, rc, "cursor");
	return 1;
}

/* Parse a stored JSON object; anything else is damage. */
static jv
parse(struct sre_txn *t, int db, const MDB_val *v)
{
	jv j;

	if (v->mv_size > INT_MAX) {
		sre_txn_fail(t, EX_IOERR, "%s: %s: value too large",
		    t->st->dir, dbs[db].name);
		return jv_invalid();
	}
	j = jv_parse_sized(v->mv_data, (int)v->mv_size);
	/* Every database that holds JSON holds objects. */
	if (jv_get_kind(j) != JV_KIND_OBJECT) {
		jv_free(j);
		sre_txn_fail(t, EX_IOERR, "%s: %s: a stored value is not "
		    "a JSON object (damaged store?)", t->st->dir,
		    dbs[db].name);
		return jv_invalid();
	}
	return j;
}

/* The record under a key: the value, jv_null() when missing, invalid. */
static jv
get_json(struct sre_txn *t, int db, const void *k, size_t kn)
{
	MDB_val v;
	int r = get(t, db, k, kn, &v);

	if (r < 0)
		return jv_invalid();
	if (r == 0)
		return jv_null();
	return parse(t, db, &v);
}

/* Store v (borrowed) as compact JSON. */
static int
put_json(struct sre_txn *t, int db, const void *k, size_t kn, jv v,
    unsigned flags)
{
	size_t n;
	char *s = sre_jv_dump(jv_copy(v), &n);
	int r;

	if (s == NULL)
		return sre_txn_fail(t, EX_OSERR, "out of memory");
	r = put(t, db, k, kn, s, n, flags);
	free(s);
	return r;
}

/* ---- opening ------------------------------------------------------------ */

static int
mkdirs(const char *dir)
{
	char path[4096], *p;

	if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (p = path + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0777) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(path, 0777) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

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
			return dberr(t, rc, dbs[i].name);
	}
	return 0;
}

static int
schema_get(struct sre_txn *t, long *v)
{
	MDB_val val;
	char buf[32];
	char *end;
	int r;

	if ((r = get(t, DB_META, "schema", 6, &val)) <= 0)
		return r;
	if (val.mv_size == 0 || val.mv_size >= sizeof(buf))
		goto bad;
	memcpy(buf, val.mv_data, val.mv_size);
	buf[val.mv_size] = '\0';
	errno = 0;
	*v = strtol(buf, &end, 10);
	if (errno == 0 && *end == '\0' && *v > 0)
		return 1;
bad:
	return sre_txn_fail(t, EX_CONFIG, "%s: unreadable schema version",
	    t->st->dir);
}

static int
schema_put(struct sre_txn *t)
{
	char buf[16];
	int n = snprintf(buf, sizeof(buf), "%d", SRE_STORE_SCHEMA);

	return put(t, DB_META, "schema", 6, buf, (size_t)n, 0) < 0 ? -1 : 0;
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

static int index_update(struct sre_txn *, const char *, jv, jv);
static int cag_key(struct sre_txn *, struct key *, const char *, jv);

/*
 * Schema 1 had no similarity or open-incident index and no outbox, and
 * keyed the CAG table by fingerprint alone.  Migrating rekeys the CAG and
 * builds the indexes from the incident records.
 */
static int
migrate_1(struct sre_txn *t)
{
	MDB_cursor *c;
	MDB_val k, v;
	jv old = jv_array(), recs = jv_array();
	int r, i, n;

	if (cursor(t, DB_CAG, &c) < 0)
		return -1;
	for (r = seek(t, c, NULL, 0, &k, &v); r > 0;
	    r = step(t, c, &k, &v, MDB_NEXT))
		if (memchr(k.mv_data, '\0', k.mv_size) == NULL)
			old = jv_array_append(old,
			    jv_string_sized(k.mv_data, (int)k.mv_size));
	mdb_cursor_close(c);
	if (r < 0)
		goto fail;
	n = jv_array_length(jv_copy(old));
	for (i = 0; i < n; i++) {
		jv fp = jv_array_get(jv_copy(old), i), e;
		const char *s = jv_string_value(fp);
		struct key key;

		e = get_json(t, DB_CAG, s, strlen(s));
		if (!jv_is_valid(e) || jv_get_kind(e) != JV_KIND_OBJECT ||
		    cag_key(t, &key, s, jv_object_get(jv_copy(e),
		    jv_string("proposal"))) < 0 ||
		    put_json(t, DB_CAG, key.b, key.n, e, 0) < 0 ||
		    del(t, DB_CAG, s, strlen(s), NULL, 0) < 0) {
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
	if (cursor(t, DB_INCIDENTS, &c) < 0)
		goto fail;
	for (r = seek(t, c, NULL, 0, &k, &v); r > 0;
	    r = step(t, c, &k, &v, MDB_NEXT)) {
		jv rec = parse(t, DB_INCIDENTS, &v);

		if (!jv_is_valid(rec)) {
			r = -1;
			break;
		}
		recs = jv_array_append(recs, rec);
	}
	mdb_cursor_close(c);
	if (r < 0)
		goto fail;
	n = jv_array_length(jv_copy(recs));
	for (i = 0; i < n; i++) {
		jv rec = jv_array_get(jv_copy(recs), i);
		const char *id = sre_jv_str(rec, "incident");

		r = sre_store_key_ok(id) ? index_update(t, id, jv_null(), rec) :
		    badkey(t, "incident", id);
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
		return dberr(t, rc, "main database");
	rc = mdb_dbi_open(t->txn, "meta", ms.ms_entries == 0 ? MDB_CREATE : 0,
	    &st->dbi[DB_META]);
	if (rc == MDB_NOTFOUND || rc == MDB_INCOMPATIBLE)
		return sre_txn_fail(t, EX_CONFIG, "%s: not an SRE-Space store "
		    "(no schema version)", st->dir);
	if (rc != 0)
		return dberr(t, rc, "meta");
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
		dberr(t, rc, "meta");
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
	} else if (mkdirs(st->dir) < 0) {
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

/* ---- transactions -------------------------------------------------------- */

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

/* ---- events and timelines ------------------------------------------------ */

int
sre_txn_event_seen(struct sre_txn *t, const char *id)
{
	MDB_val v;

	if (!sre_store_key_ok(id))
		return badkey(t, "event id", id);
	return get(t, DB_EVENTS, id, strlen(id), &v);
}

/* Key of a timeline entry; *pre the length up to the time included. */
static void
timeline_key(struct key *k, const char *incident, int64_t ts,
    const char *id, size_t *pre)
{
	k->n = 0;
	key_str(k, incident);
	key_nul(k);
	key_u64(k, (uint64_t)ts);
	if (pre != NULL)
		*pre = k->n;
	key_cat(k, id);
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
		return badkey(t, "incident", incident);
	if (ts_ms < 0)
		return sre_txn_fail(t, EX_DATAERR, "negative event time");
	if ((r = sre_txn_event_seen(t, id)) != 0)
		return r > 0 ? 0 : -1;
	timeline_key(&k, incident, ts_ms, id, &pre);
	where[0] = 'T';
	memcpy(where + 1, k.b, pre);
	if (put_json(t, DB_TIMELINES, k.b, k.n, ev, 0) < 0 ||
	    put(t, DB_EVENTS, id, strlen(id), where, pre + 1, 0) < 0)
		return -1;
	return 1;
}

jv
sre_txn_timeline(struct sre_txn *t, const char *incident)
{
	MDB_cursor *c;
	MDB_val k, v;
	struct key p;
	jv out = jv_array();
	int r;

	if (!sre_store_key_ok(incident)) {
		badkey(t, "incident", incident);
		jv_free(out);
		return jv_invalid();
	}
	p.n = 0;
	key_str(&p, incident);
	key_nul(&p);
	if (cursor(t, DB_TIMELINES, &c) < 0) {
		jv_free(out);
		return jv_invalid();
	}
	for (r = seek(t, c, p.b, p.n, &k, &v); r > 0 && has_prefix(&k, p.b,
	    p.n); r = step(t, c, &k, &v, MDB_NEXT)) {
		jv e = parse(t, DB_TIMELINES, &v);

		if (!jv_is_valid(e)) {
			r = -1;
			break;
		}
		out = jv_array_append(out, e);
	}
	mdb_cursor_close(c);
	if (r < 0) {
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
	if (put_json(t, DB_SAMPLES, k.b, k.n, ev, 0) < 0 ||
	    put(t, DB_EVENTS, id, strlen(id), where, sizeof(where), 0) < 0)
		return -1;
	return 1;
}

int
sre_txn_sample_scan(struct sre_txn *t, int64_t from_ms, int64_t until_ms,
    sre_store_each_fn fn, void *ctx)
{
	MDB_cursor *c;
	MDB_val k, v;
	struct key p;
	int r, stop = 0;

	p.n = 0;
	key_u64(&p, (uint64_t)(from_ms < 0 ? 0 : from_ms));
	if (cursor(t, DB_SAMPLES, &c) < 0)
		return -1;
	for (r = seek(t, c, p.b, p.n, &k, &v); r > 0;
	    r = step(t, c, &k, &v, MDB_NEXT)) {
		jv e;

		if (k.mv_size < 8 ||
		    (int64_t)be64_get(k.mv_data) >= until_ms)
			break;
		if (!jv_is_valid(e = parse(t, DB_SAMPLES, &v))) {
			r = -1;
			break;
		}
		stop = fn(e, ctx);
		jv_free(e);
		if (stop)
			break;
	}
	mdb_cursor_close(c);
	return r < 0 ? -1 : stop;
}

/* ---- features and terms ---------------------------------------------------- */

struct terms {
	char **v;
	size_t n, cap;
};

static void
terms_free(struct terms *ts)
{
	size_t i;

	for (i = 0; i < ts->n; i++)
		free(ts->v[i]);
	free(ts->v);
	ts->v = NULL;
	ts->n = ts->cap = 0;
}

static int
terms_add(struct terms *ts, const char *prefix, const char *s, size_t n)
{
	size_t pn = strlen(prefix);
	char *term;

	if (n == 0)
		return 0;
	if (pn + n > SRE_STORE_KEY_MAX)
		n = SRE_STORE_KEY_MAX - pn;
	if (ts->n == ts->cap) {
		size_t cap = ts->cap ? ts->cap * 2 : 16;
		char **v = reallocarray(ts->v, cap, sizeof(*v));

		if (v == NULL)
			return -1;
		ts->v = v;
		ts->cap = cap;
	}
	if ((term = malloc(pn + n + 1)) == NULL)
		return -1;
	memcpy(term, prefix, pn);
	memcpy(term + pn, s, n);
	term[pn + n] = '\0';
	/* A NUL inside would cut the key short: such a term is dropped. */
	if (strlen(term) != pn + n) {
		free(term);
		return 0;
	}
	ts->v[ts->n++] = term;
	return 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Terms of the feature member name (an array of strings) of rec. */
static int
terms_member(struct terms *ts, jv rec, const char *name, const char *prefix)
{
	jv a = jv_object_get(jv_copy(rec), jv_string(name));
	int i, n, rc = 0;

	if (jv_get_kind(a) == JV_KIND_STRING) {
		rc = terms_add(ts, prefix, jv_string_value(a),
		    (size_t)jv_string_length_bytes(jv_copy(a)));
	} else if (jv_get_kind(a) == JV_KIND_ARRAY) {
		n = jv_array_length(jv_copy(a));
		for (i = 0; i < n && i < FEATURE_MAX && rc == 0; i++) {
			jv s = jv_array_get(jv_copy(a), i);

			if (jv_get_kind(s) == JV_KIND_STRING)
				rc = terms_add(ts, prefix, jv_string_value(s),
				    (size_t)jv_string_length_bytes(jv_copy(s)));
			jv_free(s);
		}
	}
	jv_free(a);
	return rc;
}

/* The sorted, unique feature terms of a record (borrowed). */
static int
terms_of(jv rec, struct terms *ts)
{
	size_t i, j;

	memset(ts, 0, sizeof(*ts));
	if (jv_get_kind(rec) != JV_KIND_OBJECT)
		return 0;
	if (terms_member(ts, rec, "fingerprint", "f:") < 0 ||
	    terms_member(ts, rec, "fingerprints", "f:") < 0 ||
	    terms_member(ts, rec, "services", "s:") < 0 ||
	    terms_member(ts, rec, "operations", "o:") < 0 ||
	    terms_member(ts, rec, "signals", "g:") < 0 ||
	    terms_member(ts, rec, "templates", "t:") < 0 ||
	    terms_member(ts, rec, "words", "w:") < 0) {
		terms_free(ts);
		return -1;
	}
	if (ts->n == 0)
		return 0;
	qsort(ts->v, ts->n, sizeof(*ts->v), cmp_str);
	for (i = j = 1; i < ts->n; i++) {
		if (strcmp(ts->v[i], ts->v[j - 1]) == 0)
			free(ts->v[i]);
		else
			ts->v[j++] = ts->v[i];
	}
	ts->n = j;
	return 0;
}

static const char *const stop_words[] = {
	"and", "are", "but", "for", "from", "has", "have", "into", "its",
	"not", "of", "on", "than", "that", "the", "then", "this", "was",
	"were", "with", NULL
};

static int
is_stop(const char *w)
{
	const char *const *s;

	for (s = stop_words; *s != NULL; s++)
		if (strcmp(*s, w) == 0)
			return 1;
	return 0;
}

/* Append s to array a unless there (a consumed). */
static jv
add_unique(jv a, const char *s)
{
	int i, n = jv_array_length(jv_copy(a));

	for (i = 0; i < n; i++) {
		jv e = jv_array_get(jv_copy(a), i);
		int same = strcmp(jv_string_value(e), s) == 0;

		jv_free(e);
		if (same)
			return a;
	}
	if (n >= FEATURE_MAX)
		return a;
	return jv_array_append(a, jv_string(s));
}

jv
sre_store_text_features(const char *text)
{
	jv words = jv_array(), names = jv_array(), out = jv_object();
	char w[64], tok[SRE_STORE_KEY_MAX + 1];
	const char *p = text != NULL ? text : "";
	size_t n;

	/* Words: lowercased runs of letters and digits, not all digits. */
	while (*p != '\0') {
		int digits = 1;

		while (*p != '\0' && !isalnum((unsigned char)*p))
			p++;
		for (n = 0; isalnum((unsigned char)*p); p++) {
			if (!isdigit((unsigned char)*p))
				digits = 0;
			if (n < sizeof(w) - 1)
				w[n++] = (char)tolower((unsigned char)*p);
		}
		w[n] = '\0';
		if (n >= 2 && !digits && !is_stop(w))
			words = add_unique(words, w);
	}
	/* Names: whitespace-separated tokens, punctuation trimmed. */
	for (p = text != NULL ? text : ""; *p != '\0';) {
		while (*p != '\0' && isspace((unsigned char)*p))
			p++;
		for (n = 0; *p != '\0' && !isspace((unsigned char)*p); p++)
			if (n < sizeof(tok) - 1)
				tok[n++] = *p;
		while (n > 0 && strchr(",.;:!?()\"'", tok[n - 1]) != NULL)
			n--;
		tok[n] = '\0';
		if (n > 0)
			names = add_unique(names, tok[0] == '(' ||
			    tok[0] == '"' || tok[0] == '\'' ? tok + 1 : tok);
	}
	out = jv_object_set(out, jv_string("words"), words);
	out = jv_object_set(out, jv_string("services"), jv_copy(names));
	out = jv_object_set(out, jv_string("signals"), jv_copy(names));
	out = jv_object_set(out, jv_string("fingerprints"), names);
	return out;
}

/* ---- incidents ------------------------------------------------------------- */

jv
sre_txn_incident_get(struct sre_txn *t, const char *id)
{
	if (!sre_store_key_ok(id)) {
		badkey(t, "incident", id);
		return jv_invalid();
	}
	return get_json(t, DB_INCIDENTS, id, strlen(id));
}

static int
open_key(struct key *k, jv rec, const char *id)
{
	const char *status = sre_jv_str(rec, "status");
	int64_t last = 0;

	if (status == NULL || strcmp(status, "open") != 0)
		return 0;
	if (sre_jv_int(rec, "last_ms", &last) < 0 || last < 0)
		last = 0;
	k->n = 0;
	key_u64(k, (uint64_t)last);
	key_cat(k, id);
	return 1;
}

/* Bring the indexes of incident id from record old to rec (either may be
 * jv_null(): none).  Borrows both. */
static int
index_update(struct sre_txn *t, const char *id, jv old, jv rec)
{
	const char *ofp = sre_jv_str(old, "fingerprint");
	const char *nfp = sre_jv_str(rec, "fingerprint");
	struct terms a, b;
	struct key ko, kn;
	size_t i, j, idn = strlen(id);
	int ho, hn, rc = 0;

	if (terms_of(old, &a) < 0)
		return sre_txn_fail(t, EX_OSERR, "out of memory");
	if (terms_of(rec, &b) < 0) {
		terms_free(&a);
		return sre_txn_fail(t, EX_OSERR, "out of memory");
	}
	/* Merge the two sorted lists: drop what went, add what came. */
	for (i = j = 0; rc == 0 && (i < a.n || j < b.n);) {
		int c = i == a.n ? 1 : j == b.n ? -1 :
		    strcmp(a.v[i], b.v[j]);

		if (c < 0)
			rc = del(t, DB_SIM, a.v[i], strlen(a.v[i]), id, idn) < 0;
		else if (c > 0)
			rc = put(t, DB_SIM, b.v[j], strlen(b.v[j]), id, idn,
			    MDB_NODUPDATA) < 0;
		i += c <= 0;
		j += c >= 0;
	}
	terms_free(&a);
	terms_free(&b);
	if (rc != 0)
		return -1;
	if (ofp != NULL && (nfp == NULL || strcmp(ofp, nfp) != 0) &&
	    sre_store_key_ok(ofp) &&
	    del(t, DB_FPS, ofp, strlen(ofp), id, idn) < 0)
		return -1;
	if (nfp != NULL && sre_store_key_ok(nfp) &&
	    put(t, DB_FPS, nfp, strlen(nfp), id, idn, MDB_NODUPDATA) < 0)
		return -1;
	ho = open_key(&ko, old, id);
	hn = open_key(&kn, rec, id);
	if (ho && (!hn || ko.n != kn.n || memcmp(ko.b, kn.b, ko.n) != 0) &&
	    del(t, DB_OPEN, ko.b, ko.n, NULL, 0) < 0)
		return -1;
	if (hn && put(t, DB_OPEN, kn.b, kn.n, "", 0, 0) < 0)
		return -1;
	return 0;
}

int
sre_txn_incident_put(struct sre_txn *t, jv rec)
{
	const char *id = sre_jv_str(rec, "incident");
	jv old;
	int rc;

	if (!sre_store_key_ok(id))
		return badkey(t, "incident", id);
	if (writable(t) < 0)
		return -1;
	old = get_json(t, DB_INCIDENTS, id, strlen(id));
	if (!jv_is_valid(old))
		return -1;
	rc = index_update(t, id, old, rec);
	jv_free(old);
	if (rc < 0)
		return -1;
	return put_json(t, DB_INCIDENTS, id, strlen(id), rec, 0) < 0 ? -1 : 0;
}

int
sre_txn_incident_del(struct sre_txn *t, const char *id)
{
	MDB_cursor *c;
	MDB_val k, v;
	struct key p;
	jv old;
	int r;

	if (!sre_store_key_ok(id))
		return badkey(t, "incident", id);
	old = get_json(t, DB_INCIDENTS, id, strlen(id));
	if (!jv_is_valid(old))
		return -1;
	if (jv_get_kind(old) == JV_KIND_NULL)
		return 0;
	r = index_update(t, id, old, jv_null());
	jv_free(old);
	if (r < 0)
		return -1;
	p.n = 0;
	key_str(&p, id);
	key_nul(&p);
	if (cursor(t, DB_TIMELINES, &c) < 0)
		return -1;
	for (r = seek(t, c, p.b, p.n, &k, &v); r > 0 && has_prefix(&k, p.b,
	    p.n); r = step(t, c, &k, &v, MDB_NEXT)) {
		size_t off = p.n + 8;
		int rc;

		if (k.mv_size > off && del(t, DB_EVENTS,
		    (char *)k.mv_data + off, k.mv_size - off, NULL, 0) < 0) {
			r = -1;
			break;
		}
		if ((rc = LMDB(mdb_cursor_del(c, 0))) != 0) {
			r = dberr(t, rc, "timelines");
			break;
		}
	}
	mdb_cursor_close(c);
	if (r < 0)
		return -1;
	if (del(t, DB_OUTBOX, id, strlen(id), NULL, 0) < 0 ||
	    del(t, DB_INCIDENTS, id, strlen(id), NULL, 0) < 0)
		return -1;
	return 1;
}

static int
scan_db(struct sre_txn *t, int db, sre_store_each_fn fn, void *ctx)
{
	MDB_cursor *c;
	MDB_val k, v;
	int r, stop = 0;

	if (cursor(t, db, &c) < 0)
		return -1;
	for (r = seek(t, c, NULL, 0, &k, &v); r > 0;
	    r = step(t, c, &k, &v, MDB_NEXT)) {
		jv e = parse(t, db, &v);

		if (!jv_is_valid(e)) {
			r = -1;
			break;
		}
		stop = fn(e, ctx);
		jv_free(e);
		if (stop)
			break;
	}
	mdb_cursor_close(c);
	return r < 0 ? -1 : stop;
}

int
sre_txn_incident_scan(struct sre_txn *t, sre_store_each_fn fn, void *ctx)
{
	return scan_db(t, DB_INCIDENTS, fn, ctx);
}

jv
sre_txn_open_before(struct sre_txn *t, int64_t before_ms, int max)
{
	MDB_cursor *c;
	MDB_val k, v;
	jv out = jv_array();
	int r, n = 0;

	if (cursor(t, DB_OPEN, &c) < 0) {
		jv_free(out);
		return jv_invalid();
	}
	for (r = seek(t, c, NULL, 0, &k, &v); r > 0 && n < max;
	    r = step(t, c, &k, &v, MDB_NEXT)) {
		if (k.mv_size <= 8 ||
		    (int64_t)be64_get(k.mv_data) >= before_ms)
			break;
		out = jv_array_append(out, jv_string_sized(
		    (char *)k.mv_data + 8, (int)k.mv_size - 8));
		n++;
	}
	mdb_cursor_close(c);
	if (r < 0) {
		jv_free(out);
		return jv_invalid();
	}
	return out;
}

long long
sre_txn_incident_count(struct sre_txn *t)
{
	MDB_stat ms;
	int rc = LMDB(mdb_stat(t->txn, t->st->dbi[DB_INCIDENTS], &ms));

	if (rc != 0)
		return dberr(t, rc, "incidents");
	return (long long)ms.ms_entries;
}

/* ---- memory ------------------------------------------------------------------- */

jv
sre_txn_fingerprint_incidents(struct sre_txn *t, const char *fp, int max)
{
	MDB_cursor *c;
	MDB_val k, v;
	jv out = jv_array();
	int r, n = 0;

	if (!sre_store_key_ok(fp)) {
		badkey(t, "fingerprint", fp);
		jv_free(out);
		return jv_invalid();
	}
	if (cursor(t, DB_FPS, &c) < 0) {
		jv_free(out);
		return jv_invalid();
	}
	k.mv_size = strlen(fp);
	k.mv_data = (void *)(uintptr_t)fp;
	r = step(t, c, &k, &v, MDB_SET);
	if (r > 0)
		r = step(t, c, &k, &v, MDB_LAST_DUP);
	/* The newest max, by id: walk back, then put them in id order. */
	for (; r > 0 && n < max; r = step(t, c, &k, &v, MDB_PREV_DUP), n++)
		out = jv_array_append(out, jv_string_sized(v.mv_data,
		    (int)v.mv_size));
	mdb_cursor_close(c);
	if (r < 0) {
		jv_free(out);
		return jv_invalid();
	}
	{
		jv rev = jv_array();
		int i;

		for (i = n - 1; i >= 0; i--)
			rev = jv_array_append(rev, jv_array_get(jv_copy(out),
			    i));
		jv_free(out);
		return rev;
	}
}

/* How many incidents carry term: -1 on error. */
static long long
term_df(struct sre_txn *t, MDB_cursor *c, const char *term)
{
	MDB_val k = { strlen(term), (void *)(uintptr_t)term }, v;
	size_t count;
	int r, rc;

	if ((r = step(t, c, &k, &v, MDB_SET)) <= 0)
		return r;
	if ((rc = LMDB(mdb_cursor_count(c, &count))) != 0)
		return dberr(t, rc, "similarity");
	return (long long)count;
}

static double
term_weight(const char *term, long long df, long long n)
{
	double w = log(1.0 + (double)n / (double)df);

	return term[0] == 'f' ? 2 * w : w;
}

struct hit {
	const char *id;		/* borrowed from the transaction's pages */
	size_t n;
	int term;
	double w2;
};

struct cand {
	size_t first, count;	/* its hits */
	double dot, score;
};

static int
cmp_hit(const void *a, const void *b)
{
	const struct hit *x = a, *y = b;
	size_t n = x->n < y->n ? x->n : y->n;
	int c = memcmp(x->id, y->id, n);

	if (c != 0)
		return c;
	if (x->n != y->n)
		return x->n < y->n ? -1 : 1;
	return x->term - y->term;
}

/* Candidates: the higher dot product (or score) first, then the newer
 * (greater) id.  ctx: the hits. */
static int
cmp_cand_by(const void *a, const void *b, const struct hit *hits,
    int by_score)
{
	const struct cand *x = a, *y = b;
	double kx = by_score ? x->score : x->dot;
	double ky = by_score ? y->score : y->dot;
	const struct hit *hx = &hits[x->first], *hy = &hits[y->first];

	if (kx != ky)
		return kx > ky ? -1 : 1;
	return -cmp_hit(hx, hy);
}

static int
cmp_cand_dot(const void *a, const void *b, void *ctx)
{
	return cmp_cand_by(a, b, ctx, 0);
}

static int
cmp_cand_score(const void *a, const void *b, void *ctx)
{
	return cmp_cand_by(a, b, ctx, 1);
}

/* The norm of a candidate's own term vector. */
static int
cand_norm(struct sre_txn *t, MDB_cursor *c, jv rec, long long n, double *out)
{
	struct terms ts;
	double sum = 0;
	size_t i;

	if (terms_of(rec, &ts) < 0)
		return sre_txn_fail(t, EX_OSERR, "out of memory");
	for (i = 0; i < ts.n; i++) {
		long long df = term_df(t, c, ts.v[i]);
		double w;

		if (df < 0) {
			terms_free(&ts);
			return -1;
		}
		if (df == 0 || df > DF_MAX)
			continue;
		w = term_weight(ts.v[i], df, n);
		sum += w * w;
	}
	terms_free(&ts);
	*out = sqrt(sum);
	return 0;
}

static jv
copy_member(jv out, jv rec, const char *name)
{
	jv m;

	/* An index entry whose record is gone (a damaged store) gives
	 * null: nothing to copy. */
	if (jv_get_kind(rec) != JV_KIND_OBJECT)
		return out;
	m = jv_object_get(jv_copy(rec), jv_string(name));

	if (jv_is_valid(m) && jv_get_kind(m) != JV_KIND_NULL)
		return jv_object_set(out, jv_string(name), m);
	jv_free(m);
	return out;
}

jv
sre_txn_similar(struct sre_txn *t, jv q, const char *exclude, int max)
{
	struct terms qt;
	struct hit *hits = NULL;
	struct cand *cands = NULL;
	size_t nhits = 0, caphits = 0, ncands = 0, i, j, top;
	double qnorm = 0;
	long long n;
	MDB_cursor *c = NULL;
	MDB_val k, v;
	jv out = jv_array();
	int r = 0, rc;

	if (terms_of(q, &qt) < 0) {
		sre_txn_fail(t, EX_OSERR, "out of memory");
		goto fail;
	}
	if ((n = sre_txn_incident_count(t)) < 0 || cursor(t, DB_SIM, &c) < 0)
		goto fail;
	for (i = 0; i < qt.n; i++) {
		long long df = term_df(t, c, qt.v[i]);
		double w;

		if (df < 0)
			goto fail;
		if (df == 0 || df > DF_MAX)
			continue;
		w = term_weight(qt.v[i], df, n);
		qnorm += w * w;
		k.mv_size = strlen(qt.v[i]);
		k.mv_data = qt.v[i];
		for (r = step(t, c, &k, &v, MDB_SET); r > 0;
		    r = step(t, c, &k, &v, MDB_NEXT_DUP)) {
			if (exclude != NULL && v.mv_size == strlen(exclude) &&
			    memcmp(v.mv_data, exclude, v.mv_size) == 0)
				continue;
			if (nhits == caphits) {
				size_t cap = caphits ? caphits * 2 : 64;
				struct hit *h = reallocarray(hits, cap,
				    sizeof(*h));

				if (h == NULL) {
					sre_txn_fail(t, EX_OSERR,
					    "out of memory");
					goto fail;
				}
				hits = h;
				caphits = cap;
			}
			hits[nhits].id = v.mv_data;
			hits[nhits].n = v.mv_size;
			hits[nhits].term = (int)i;
			hits[nhits].w2 = w * w;
			nhits++;
		}
		if (r < 0)
			goto fail;
	}
	if (nhits == 0)
		goto done;
	qsort(hits, nhits, sizeof(*hits), cmp_hit);
	if ((cands = calloc(nhits, sizeof(*cands))) == NULL) {
		sre_txn_fail(t, EX_OSERR, "out of memory");
		goto fail;
	}
	for (i = 0; i < nhits; i = j) {
		cands[ncands].first = i;
		for (j = i; j < nhits && hits[j].n == hits[i].n &&
		    memcmp(hits[j].id, hits[i].id, hits[i].n) == 0; j++)
			cands[ncands].dot += hits[j].w2;
		cands[ncands].count = j - i;
		ncands++;
	}
	qsort_r(cands, ncands, sizeof(*cands), cmp_cand_dot, hits);
	top = (size_t)max * 4 + 16;
	if (top > ncands)
		top = ncands;
	for (i = 0; i < top; i++) {
		const struct hit *h = &hits[cands[i].first];
		jv rec = get_json(t, DB_INCIDENTS, h->id, h->n);
		double dn = 0;

		if (!jv_is_valid(rec))
			goto fail;
		rc = cand_norm(t, c, rec, n, &dn);
		jv_free(rec);
		if (rc < 0)
			goto fail;
		cands[i].score = dn > 0 && qnorm > 0 ?
		    cands[i].dot / (sqrt(qnorm) * dn) : 0;
		if (cands[i].score > 1)
			cands[i].score = 1;
	}
	qsort_r(cands, top, sizeof(*cands), cmp_cand_score, hits);
	for (i = 0; i < top && (int)i < max; i++) {
		const struct hit *h = &hits[cands[i].first];
		jv rec = get_json(t, DB_INCIDENTS, h->id, h->n);
		jv o = jv_object(), shared = jv_array();

		if (!jv_is_valid(rec)) {
			jv_free(o);
			jv_free(shared);
			goto fail;
		}
		for (j = 0; j < cands[i].count; j++)
			shared = jv_array_append(shared, jv_string(
			    qt.v[hits[cands[i].first + j].term]));
		o = jv_object_set(o, jv_string("incident"),
		    jv_string_sized(h->id, (int)h->n));
		o = jv_object_set(o, jv_string("score"),
		    jv_number(round(cands[i].score * 1000) / 1000));
		o = jv_object_set(o, jv_string("shared"), shared);
		o = copy_member(o, rec, "fingerprint");
		o = copy_member(o, rec, "outcome");
		o = copy_member(o, rec, "summary");
		o = copy_member(o, rec, "proposal");
		o = copy_member(o, rec, "root_cause");
		jv_free(rec);
		out = jv_array_append(out, o);
	}
done:
	if (c != NULL)
		mdb_cursor_close(c);
	free(hits);
	free(cands);
	terms_free(&qt);
	return out;
fail:
	if (c != NULL)
		mdb_cursor_close(c);
	free(hits);
	free(cands);
	terms_free(&qt);
	jv_free(out);
	if (t->ex == 0)
		sre_txn_fail(t, EX_SOFTWARE, "similarity search failed");
	return jv_invalid();
}

/* ---- CAG ----------------------------------------------------------------------- */

static uint64_t
fnv1a(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* fp, NUL, 16 hex digits of a hash of the proposal (sorted keys). */
static int
cag_key(struct sre_txn *t, struct key *k, const char *fp, jv proposal)
{
	jv s;
	uint64_t h;
	char hex[17];

	if (!sre_store_key_ok(fp)) {
		jv_free(proposal);
		return badkey(t, "fingerprint", fp);
	}
	s = jv_dump_string(proposal, JV_PRINT_SORTED);
	if (jv_get_kind(s) != JV_KIND_STRING) {
		jv_free(s);
		return sre_txn_fail(t, EX_OSERR, "out of memory");
	}
	h = fnv1a(0xcbf29ce484222325ULL, jv_string_value(s),
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
	if (cag_key(t, &k, fp, jv_copy(proposal)) < 0)
		return -1;
	e = get_json(t, DB_CAG, k.b, k.n);
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
			list = add_unique(list, incident);
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
	rc = put_json(t, DB_CAG, k.b, k.n, e, 0);
	jv_free(e);
	return rc < 0 ? -1 : 0;
}

jv
sre_txn_cag_get(struct sre_txn *t, const char *fp, jv proposal)
{
	struct key k;

	if (jv_get_kind(proposal) != JV_KIND_OBJECT)
		return jv_null();
	if (cag_key(t, &k, fp, jv_copy(proposal)) < 0)
		return jv_invalid();
	return get_json(t, DB_CAG, k.b, k.n);
}

/* Call fn on each CAG entry of fp (every entry when fp is NULL). */
static int
cag_each(struct sre_txn *t, const char *fp, int (*fn)(jv, void *), void *ctx)
{
	MDB_cursor *c;
	MDB_val k, v;
	struct key p;
	int r, stop = 0;

	p.n = 0;
	if (fp != NULL) {
		if (!sre_store_key_ok(fp))
			return badkey(t, "fingerprint", fp);
		key_str(&p, fp);
		key_nul(&p);
	}
	if (cursor(t, DB_CAG, &c) < 0)
		return -1;
	for (r = seek(t, c, p.b, p.n, &k, &v); r > 0 && has_prefix(&k, p.b,
	    p.n); r = step(t, c, &k, &v, MDB_NEXT)) {
		jv e = parse(t, DB_CAG, &v);

		if (!jv_is_valid(e)) {
			r = -1;
			break;
		}
		stop = fn(e, ctx);
		if (stop)
			break;
	}
	mdb_cursor_close(c);
	return r < 0 ? -1 : stop;
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
	if (cag_key(t, &k, fp, p) < 0)
		return -1;
	return put_json(t, DB_CAG, k.b, k.n, entry, 0) < 0 ? -1 : 0;
}

/* ---- outbox ----------------------------------------------------------------- */

int
sre_txn_outbox_put(struct sre_txn *t, const char *key, jv ev)
{
	if (!sre_store_key_ok(key))
		return badkey(t, "outbox key", key);
	return put_json(t, DB_OUTBOX, key, strlen(key), ev, 0) < 0 ? -1 : 0;
}

jv
sre_txn_outbox_list(struct sre_txn *t)
{
	MDB_cursor *c;
	MDB_val k, v;
	jv out = jv_array();
	int r;

	if (cursor(t, DB_OUTBOX, &c) < 0) {
		jv_free(out);
		return jv_invalid();
	}
	for (r = seek(t, c, NULL, 0, &k, &v); r > 0;
	    r = step(t, c, &k, &v, MDB_NEXT)) {
		jv e = parse(t, DB_OUTBOX, &v), o = jv_object();

		if (!jv_is_valid(e)) {
			jv_free(o);
			r = -1;
			break;
		}
		o = jv_object_set(o, jv_string("key"),
		    jv_string_sized(k.mv_data, (int)k.mv_size));
		o = jv_object_set(o, jv_string("value"), e);
		out = jv_array_append(out, o);
	}
	mdb_cursor_close(c);
	if (r < 0) {
		jv_free(out);
		return jv_invalid();
	}
	return out;
}

int
sre_txn_outbox_del(struct sre_txn *t, const char *key)
{
	if (!sre_store_key_ok(key))
		return badkey(t, "outbox key", key);
	return del(t, DB_OUTBOX, key, strlen(key), NULL, 0);
}

/* ---- counters and kv --------------------------------------------------------- */

static int
int_get(struct sre_txn *t, const void *k, size_t kn, int64_t *value)
{
	MDB_val v;
	char buf[32], *end;
	long long n;
	int r;

	*value = 0;
	if ((r = get(t, DB_COUNTERS, k, kn, &v)) <= 0)
		return r;
	if (v.mv_size == 0 || v.mv_size >= sizeof(buf))
		goto bad;
	memcpy(buf, v.mv_data, v.mv_size);
	buf[v.mv_size] = '\0';
	errno = 0;
	n = strtoll(buf, &end, 10);
	if (errno != 0 || *end != '\0')
		goto bad;
	*value = n;
	return 1;
bad:
	return sre_txn_fail(t, EX_IOERR, "%s: counters: a stored value is "
	    "not a number (damaged store?)", t->st->dir);
}

static int
int_put(struct sre_txn *t, const void *k, size_t kn, int64_t value)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%lld", (long long)value);

	return put(t, DB_COUNTERS, k, kn, buf, (size_t)n, 0) < 0 ? -1 : 0;
}

static int
int_add(struct sre_txn *t, const void *k, size_t kn, int64_t delta,
    int64_t *value)
{
	int64_t cur;

	if (int_get(t, k, kn, &cur) < 0)
		return -1;
	if ((delta > 0 && cur > INT64_MAX - delta) ||
	    (delta < 0 && cur < INT64_MIN - delta))
		return sre_txn_fail(t, EX_DATAERR, "counter overflow");
	cur += delta;
	if (value != NULL)
		*value = cur;
	return int_put(t, k, kn, cur);
}

int
sre_txn_counter_add(struct sre_txn *t, const char *name, int64_t delta,
    int64_t *value)
{
	if (!sre_store_key_ok(name))
		return badkey(t, "counter", name);
	return int_add(t, name, strlen(name), delta, value);
}

int
sre_txn_counter_get(struct sre_txn *t, const char *name, int64_t *value)
{
	if (!sre_store_key_ok(name))
		return badkey(t, "counter", name);
	return int_get(t, name, strlen(name), value) < 0 ? -1 : 0;
}

static int64_t
bucket(int64_t ts)
{
	if (ts < 0)
		return 0;
	return ts - ts % SRE_STORE_BUCKET_MS;
}

static void
window_key(struct key *k, const char *name, int64_t ts)
{
	k->n = 0;
	key_str(k, name);
	key_nul(k);
	key_u64(k, (uint64_t)bucket(ts));
}

int
sre_txn_window_add(struct sre_txn *t, const char *name, int64_t ts_ms,
    int64_t delta)
{
	struct key k;

	if (!sre_store_key_ok(name))
		return badkey(t, "counter", name);
	window_key(&k, name, ts_ms);
	return int_add(t, k.b, k.n, delta, NULL);
}

int
sre_txn_window_sum(struct sre_txn *t, const char *name, int64_t since_ms,
    int64_t until_ms, int64_t *sum)
{
	MDB_cursor *c;
	MDB_val k, v;
	struct key p;
	size_t pn;
	int r;

	*sum = 0;
	if (!sre_store_key_ok(name))
		return badkey(t, "counter", name);
	window_key(&p, name, since_ms);
	pn = p.n - 8;
	if (cursor(t, DB_COUNTERS, &c) < 0)
		return -1;
	for (r = seek(t, c, p.b, p.n, &k, &v); r > 0 && k.mv_size == p.n &&
	    has_prefix(&k, p.b, pn); r = step(t, c, &k, &v, MDB_NEXT)) {
		int64_t n;

		if ((int64_t)be64_get((unsigned char *)k.mv_data + pn) >=
		    until_ms)
			break;
		if (int_get(t, k.mv_data, k.mv_size, &n) < 0) {
			r = -1;
			break;
		}
		*sum += n;
	}
	mdb_cursor_close(c);
	return r < 0 ? -1 : 0;
}

int
sre_txn_kv_put(struct sre_txn *t, const char *key, const char *value)
{
	if (!sre_store_key_ok(key))
		return badkey(t, "key", key);
	/* Stored with its NUL, so readers get a C string. */
	return put(t, DB_KV, key, strlen(key), value, strlen(value) + 1, 0) <
	    0 ? -1 : 0;
}

int
sre_txn_kv_get(struct sre_txn *t, const char *key, const char **value,
    size_t *len)
{
	MDB_val v;
	int r;

	if (!sre_store_key_ok(key))
		return badkey(t, "key", key);
	if ((r = get(t, DB_KV, key, strlen(key), &v)) <= 0)
		return r;
	if (v.mv_size == 0 || ((char *)v.mv_data)[v.mv_size - 1] != '\0')
		return sre_txn_fail(t, EX_IOERR, "%s: kv: a stored value is "
		    "not text (damaged store?)", t->st->dir);
	*value = v.mv_data;
	if (len != NULL)
		*len = v.mv_size - 1;
	return 1;
}

int
sre_txn_kv_del(struct sre_txn *t, const char *key)
{
	if (!sre_store_key_ok(key))
		return badkey(t, "key", key);
	return del(t, DB_KV, key, strlen(key), NULL, 0);
}

struct count_op {
	const char *name;
	int64_t a, b;
	int64_t *out;
};

static int
counter_fn(struct sre_txn *t, void *ctx)
{
	struct count_op *o = ctx;

	return sre_txn_counter_add(t, o->name, o->a, o->out);
}

static int
window_fn(struct sre_txn *t, void *ctx)
{
	struct count_op *o = ctx;

	return sre_txn_window_add(t, o->name, o->a, o->b);
}

int
sre_store_counter_add(struct sre_store *st, const char *name, int64_t delta,
    int64_t *value, char *err, size_t errlen)
{
	struct count_op o = { name, delta, 0, value };

	return sre_store_write(st, counter_fn, &o, err, errlen);
}

int
sre_store_window_add(struct sre_store *st, const char *name, int64_t ts_ms,
    int64_t delta, char *err, size_t errlen)
{
	struct count_op o = { name, ts_ms, delta, NULL };

	return sre_store_write(st, window_fn, &o, err, errlen);
}

int
sre_store_window_sum(struct sre_store *st, const char *name,
    int64_t since_ms, int64_t until_ms, int64_t *sum, char *err,
    size_t errlen)
{
	struct sre_txn *t;
	int ex;

	if ((ex = sre_store_read(st, &t, err, errlen)) != EX_OK)
		return ex;
	if (sre_txn_window_sum(t, name, since_ms, until_ms, sum) < 0) {
		snprintf(err, errlen, "%s", t->err);
		ex = t->ex;
	}
	sre_txn_end(t);
	return ex;
}

/* ---- export and import --------------------------------------------------------- */

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

/* Walk one database, calling one of the per-kind exporters. */
static int
export_db(struct sre_txn *t, struct exp *x, int db)
{
	MDB_cursor *c;
	MDB_val k, v;
	int r;

	if (cursor(t, db, &c) < 0)
		return -1;
	for (r = seek(t, c, NULL, 0, &k, &v); r > 0;
	    r = step(t, c, &k, &v, MDB_NEXT)) {
		jv rec, val;
		const char *kp = k.mv_data;
		const char *nul = memchr(kp, '\0', k.mv_size);

		switch (db) {
		case DB_INCIDENTS:
		case DB_CAG:
			if (!jv_is_valid(val = parse(t, db, &v)))
				goto fail;
			rec = rec_new(db == DB_CAG ? "cag" : "incident");
			rec = jv_object_set(rec, jv_string("value"), val);
			break;
		case DB_TIMELINES:
			if (nul == NULL || k.mv_size < (size_t)(nul - kp) + 9)
				continue;
			if (!jv_is_valid(val = parse(t, db, &v)))
				goto fail;
			rec = rec_new("event");
			rec = jv_object_set(rec, jv_string("incident"),
			    jv_string_sized(kp, (int)(nul - kp)));
			rec = jv_object_set(rec, jv_string("ts_ms"), jv_number(
			    (double)be64_get((const unsigned char *)nul + 1)));
			rec = jv_object_set(rec, jv_string("id"),
			    jv_string_sized(nul + 9,
			    (int)(k.mv_size - (size_t)(nul + 9 - kp))));
			rec = jv_object_set(rec, jv_string("value"), val);
			break;
		case DB_SAMPLES:
			if (k.mv_size < 9)
				continue;
			if (!jv_is_valid(val = parse(t, db, &v)))
				goto fail;
			rec = rec_new("sample");
			rec = jv_object_set(rec, jv_string("ts_ms"), jv_number(
			    (double)be64_get(k.mv_data)));
			rec = jv_object_set(rec, jv_string("id"),
			    jv_string_sized(kp + 8, (int)k.mv_size - 8));
			rec = jv_object_set(rec, jv_string("value"), val);
			break;
		case DB_COUNTERS: {
			int64_t n;

			if (int_get(t, k.mv_data, k.mv_size, &n) < 0)
				goto fail;
			if (nul != NULL) {
				if (k.mv_size != (size_t)(nul - kp) + 9)
					continue;
				rec = rec_new("window");
				rec = jv_object_set(rec, jv_string("name"),
				    jv_string_sized(kp, (int)(nul - kp)));
				rec = jv_object_set(rec, jv_string("bucket_ms"),
				    jv_number((double)be64_get(
				    (const unsigned char *)nul + 1)));
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
			if (!jv_is_valid(val = parse(t, db, &v)))
				goto fail;
			rec = rec_new("outbox");
			rec = jv_object_set(rec, jv_string("key"),
			    jv_string_sized(kp, (int)k.mv_size));
			rec = jv_object_set(rec, jv_string("value"), val);
			break;
		default:
			continue;
		}
		if (emit(t, x, rec) < 0)
			goto fail;
	}
	mdb_cursor_close(c);
	return r < 0 ? -1 : 0;
fail:
	mdb_cursor_close(c);
	return -1;
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
			if (export_db(t, &x, order[i]) < 0)
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
				badkey(t, "counter", s);
			else if (kind[0] == 'c')
				rc = int_put(t, s, strlen(s), n);
			else if (int_of(t, rec, "bucket_ms", &ts) == 0) {
				window_key(&k, s, ts);
				rc = int_put(t, k.b, k.n, n);
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

/* ---- gc --------------------------------------------------------------------------- */

struct gc_scan {
	int64_t before;
	jv ids;
};

static int
gc_pick(jv rec, void *ctx)
{
	struct gc_scan *g = ctx;
	const char *status = sre_jv_str(rec, "status");
	const char *id = sre_jv_str(rec, "incident");
	int64_t closed;

	if (status != NULL && strcmp(status, "closed") == 0 && id != NULL &&
	    sre_jv_int(rec, "closed_ms", &closed) == 0 && closed < g->before)
		g->ids = jv_array_append(g->ids, jv_string(id));
	return 0;
}

struct gc_del {
	const char *id;
	long long events;
	int64_t before;
	long long n;
};

static int
gc_incident(struct sre_txn *t, void *ctx)
{
	struct gc_del *g = ctx;
	jv tl = sre_txn_timeline(t, g->id);

	if (!jv_is_valid(tl))
		return -1;
	g->events = jv_array_length(tl);
	return sre_txn_incident_del(t, g->id) < 0 ? -1 : 0;
}

/* Delete up to 1000 entries older than g->before from db (samples or
 * window counters): one transaction per batch. */
static int
gc_batch(struct sre_txn *t, void *ctx, int db)
{
	struct gc_del *g = ctx;
	MDB_cursor *c;
	MDB_val k, v;
	int r, rc;

	g->n = 0;
	if (cursor(t, db, &c) < 0)
		return -1;
	for (r = seek(t, c, NULL, 0, &k, &v); r > 0 && g->n < 1000;
	    r = step(t, c, &k, &v, MDB_NEXT)) {
		const unsigned char *kp = k.mv_data;
		const unsigned char *nul;
		int64_t ts;

		if (db == DB_SAMPLES) {
			if (k.mv_size < 8)
				continue;
			if ((ts = (int64_t)be64_get(kp)) >= g->before)
				break;
			if (del(t, DB_EVENTS, kp + 8, k.mv_size - 8, NULL,
			    0) < 0) {
				r = -1;
				break;
			}
		} else {
			nul = memchr(kp, '\0', k.mv_size);
			if (nul == NULL || k.mv_size != (size_t)(nul - kp) + 9 ||
			    (int64_t)be64_get(nul + 1) >= g->before)
				continue;
		}
		if ((rc = LMDB(mdb_cursor_del(c, 0))) != 0) {
			r = dberr(t, rc, dbs[db].name);
			break;
		}
		g->n++;
	}
	mdb_cursor_close(c);
	if (r < 0)
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
	struct gc_scan g = { before_ms, jv_array() };
	struct gc_del d;
	struct sre_txn *t;
	int ex, i, n;

	memset(stats, 0, sizeof(*stats));
	if ((ex = sre_store_read(st, &t, err, errlen)) != EX_OK) {
		jv_free(g.ids);
		return ex;
	}
	if (sre_txn_incident_scan(t, gc_pick, &g) < 0) {
		snprintf(err, errlen, "%s", t->err);
		ex = t->ex;
		sre_txn_end(t);
		jv_free(g.ids);
		return ex;
	}
	sre_txn_end(t);
	n = jv_array_length(jv_copy(g.ids));
	for (i = 0; i < n && ex == EX_OK; i++) {
		jv id = jv_array_get(jv_copy(g.ids), i);

		memset(&d, 0, sizeof(d));
		d.id = jv_string_value(id);
		if ((ex = sre_store_write(st, gc_incident, &d, err,
		    errlen)) == EX_OK) {
			stats->incidents++;
			stats->events += d.events;
		}
		jv_free(id);
	}
	jv_free(g.ids);
	memset(&d, 0, sizeof(d));
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

/* ---- helpers ------------------------------------------------------------------------ */

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
	static const char b32[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
	uint64_t h = 0xcbf29ce484222325ULL, t = (uint64_t)ts_ms, hi, lo;
	int i;

	h = fnv1a(h, a, strlen(a) + 1);
	if (b != NULL)
		h = fnv1a(h, b, strlen(b));
	hi = mix(h);
	lo = mix(h ^ 0x9e3779b97f4a7c15ULL);
	for (i = 9; i >= 0; i--, t >>= 5)
		out[i] = b32[t & 31];
	for (i = 0; i < 8; i++, hi >>= 5)
		out[10 + i] = b32[hi & 31];
	for (i = 0; i < 8; i++, lo >>= 5)
		out[18 + i] = b32[lo & 31];
	out[SRE_ID_LEN] = '\0';
}
