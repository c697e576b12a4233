/*
 * store-int.h: the LMDB core's internals, shared by the schema files of
 * lib/store (store-incident.c, store-memory.c, store-cag.c, ...) and by
 * no one else.  store.c owns the environment, the transactions, the
 * damage guard and the raw access below; each schema file builds its
 * keys with struct key and walks its databases with store_scan().
 *
 * Error convention (as store.h's sre_txn_* functions): -1 on failure,
 * the message and code kept in the transaction, the first one sticking.
 */
#ifndef SRE_STORE_INT_H
#define SRE_STORE_INT_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <jv.h>
#include <lmdb.h>

#include "store.h"

enum {
	DB_META, DB_INCIDENTS, DB_TIMELINES, DB_EVENTS, DB_FPS, DB_CAG,
	DB_SIM, DB_OPEN, DB_OUTBOX, DB_SAMPLES, DB_COUNTERS, DB_KV, DB_N
};

/* Each database's name (as LMDB knows it), for messages. */
const char *store_db_name(int db);

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

/*
 * Every call into LMDB while a transaction is open goes through LMDB():
 * the damage guard (store.c) then knows that a fault at any address is
 * the file's doing, not ours.
 */
extern volatile sig_atomic_t store_guard_in_lmdb;
extern int store_guard_rc;
#define LMDB(call) (store_guard_in_lmdb++, store_guard_rc = (call), \
	store_guard_in_lmdb--, store_guard_rc)

/* ---- errors ------------------------------------------------------------ */

/* An LMDB (or errno) failure rc of operation what: -1. */
int store_dberr(struct sre_txn *t, int rc, const char *what);
/* A missing, empty or too long key s, named what: -1 (EX_DATAERR). */
int store_badkey(struct sre_txn *t, const char *what, const char *s);
/* 0 in a write transaction, else -1 (EX_SOFTWARE). */
int store_writable(struct sre_txn *t);

/* ---- keys -------------------------------------------------------------- */

/* A key built of parts: strings, NULs, big-endian times.  Callers have
 * checked each string with sre_store_key_ok, so two fit. */
struct key {
	unsigned char b[SRE_STORE_KEY_MAX * 2 + 16];
	size_t n;
};

static inline void
be64_put(unsigned char *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)(v & 0xff);
}

static inline uint64_t
be64_get(const void *p)
{
	const unsigned char *b = p;
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | b[i];
	return v;
}

static inline void
key_cat(struct key *k, const char *s)
{
	size_t n = strlen(s);

	memcpy(k->b + k->n, s, n);
	k->n += n;
}

static inline void
key_str(struct key *k, const char *s)
{
	k->n = 0;
	key_cat(k, s);
}

static inline void
key_nul(struct key *k)
{
	k->b[k->n++] = '\0';
}

static inline void
key_u64(struct key *k, uint64_t v)
{
	be64_put(k->b + k->n, v);
	k->n += 8;
}

/* ---- raw access -------------------------------------------------------- */

/* The value under a key: 1 found (*v points into the map), 0 none, -1. */
int store_get(struct sre_txn *t, int db, const void *k, size_t kn,
    MDB_val *v);
/* The decimal integer stored under a key: 1 with *v set, 0 when
 * missing, 2 when the value is not one (nothing recorded), -1. */
int store_get_ll(struct sre_txn *t, int db, const void *k, size_t kn,
    long long *v);
/* 0 stored, 1 already there (MDB_NODUPDATA / MDB_NOOVERWRITE), -1. */
int store_put(struct sre_txn *t, int db, const void *k, size_t kn,
    const void *v, size_t vn, unsigned flags);
/* Delete a key (or one duplicate, v != NULL): 1 deleted, 0 none, -1. */
int store_del(struct sre_txn *t, int db, const void *k, size_t kn,
    const void *v, size_t vn);
/* Open a cursor on db (closed with mdb_cursor_close): 0, or -1. */
int store_cursor(struct sre_txn *t, int db, MDB_cursor **c);
/* One cursor move (MDB_SET, MDB_NEXT...): 1 there, 0 none, -1. */
int store_step(struct sre_txn *t, MDB_cursor *c, MDB_val *key, MDB_val *val,
    MDB_cursor_op op);

/* A stored JSON object (anything else is damage: jv_invalid, -1 kept). */
jv store_parse(struct sre_txn *t, int db, const MDB_val *v);
/* The object under a key: it, jv_null() when missing, jv_invalid(). */
jv store_get_json(struct sre_txn *t, int db, const void *k, size_t kn);
/* Store v (borrowed) as compact JSON: as store_put. */
int store_put_json(struct sre_txn *t, int db, const void *k, size_t kn,
    jv v, unsigned flags);

/* ---- the one cursor walk ------------------------------------------------ */

/*
 * store_scan walks db and calls fn for each entry, s->k and s->v set
 * (pointing into the map: valid until the transaction ends, or the entry
 * is deleted).  fn returns 0 to go on, a positive value to stop (which
 * store_scan returns), or -1 on an error it recorded in s->t.  fn may
 * delete the entry under the cursor with store_scan_del (the walk then
 * goes on with the next one) and make other changes in s->t.
 *
 * Where it starts and ends:
 *	SCAN_ALL	every key, from the first >= (from, fromn) (fromn 0:
 *			the first key) while the key starts with its first
 *			prefix bytes (prefix 0: to the end);
 *	SCAN_DUPS	the values of the one key (from, fromn), in order;
 *	SCAN_DUPS_BACK	the same, last first.
 * Returns 0 at the end, fn's stop value, or -1.
 */
enum { SCAN_ALL, SCAN_DUPS, SCAN_DUPS_BACK };

struct scan {
	struct sre_txn *t;
	MDB_cursor *c;
	int db;
	MDB_val k, v;
};

typedef int (*store_scan_fn)(struct scan *s, void *ctx);

int store_scan(struct sre_txn *t, int db, int how, const void *from,
    size_t fromn, size_t prefix, store_scan_fn fn, void *ctx);

/* Delete the entry under the cursor: 0, or -1. */
int store_scan_del(struct scan *s);

/* The entry's value parsed (store_parse). */
jv store_scan_json(struct scan *s);

/* A store_scan_fn appending each value, parsed, to the array at ctx. */
int store_scan_collect(struct scan *s, void *ctx);

/* ---- between schemas ----------------------------------------------------- */

/* store-memory.c: bring the indexes of incident id from record old to
 * rec (either may be jv_null(): none).  Borrows both.  0 / -1. */
int store_index_update(struct sre_txn *t, const char *id, jv old, jv rec);

/* store-memory.c: append s to array a unless there, up to FEATURE_MAX
 * (a consumed). */
jv store_add_unique(jv a, const char *s);

/* store-cag.c: the CAG key of fp and proposal (consumed).  0 / -1. */
int store_cag_key(struct sre_txn *t, struct key *k, const char *fp,
    jv proposal);

/* store-kv.c: integer counters under raw keys (counters database). */
int store_int_get(struct sre_txn *t, const void *k, size_t kn,
    int64_t *value);
int store_int_put(struct sre_txn *t, const void *k, size_t kn,
    int64_t value);
/* The key of counter name's window at ts (its minute). */
void store_window_key(struct key *k, const char *name, int64_t ts);

#endif
