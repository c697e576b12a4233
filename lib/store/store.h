/*
 * store.h: the long-term memory of SRE-Space, one LMDB environment.
 *
 * The store lives in <state-dir>/store/ (data.mdb and lock.mdb) and holds
 * named databases:
 *
 *	meta		schema version, creation time
 *	incidents	incident id -> incident record (JSON object)
 *	timelines	incident, event time, event id -> event (JSON)
 *	events		event id -> where it is stored (idempotence on id)
 *	fingerprints	fingerprint -> incident ids (sorted duplicates)
 *	cag		fingerprint, proposal -> track record (JSON)
 *	similarity	feature term -> incident ids (sorted duplicates)
 *	open		last event time, incident -> nothing (open incidents)
 *	outbox		key -> event still to be delivered (JSON)
 *	samples		event time, id -> events outside incidents (governor)
 *	counters	name -> integer; name, minute -> integer (windows)
 *	kv		key -> text
 *
 * Transactions.  Any number of processes may open one store; LMDB lets
 * readers run beside the one writer without blocking it.  Every change is
 * made inside sre_store_write(), which runs a callback in one write
 * transaction and commits it: a crash (kill -9 included) at any point
 * leaves the store as it was after the last commit.  When the memory map
 * is full the transaction is aborted, the map doubled, and the callback
 * run again: callbacks must therefore only touch the store, or do things
 * that are harmless to repeat (writing the same file again).
 *
 *	static int
 *	bump(struct sre_txn *t, void *ctx)
 *	{
 *		return sre_txn_counter_add(t, ctx, 1, NULL);
 *	}
 *	...
 *	if ((ex = sre_store_write(st, bump, "approvals", err, sizeof(err))))
 *		sre_warnx("%s", err);
 *
 * A process opens a store once (LMDB's rule: a second handle on the same
 * files in one process breaks its locks) and may use it from one thread
 * at a time per transaction.
 *
 * Reading: sre_store_read() gives a read transaction, a consistent
 * snapshot, ended by sre_txn_end().  Keep it short: an old snapshot keeps
 * the pages it sees from being reused.  A process must not hold a read
 * transaction while it calls sre_store_write() (the map cannot be grown
 * under it).
 *
 * Errors: functions that open, read or write return a sysexits code
 * (EX_OK, EX_NOINPUT no store, EX_CONFIG unusable store: read-only,
 * permissions, another schema; EX_IOERR disk full or I/O error; EX_OSERR
 * out of memory; EX_SOFTWARE anything else) with a message in err.
 * Functions on a transaction return -1 on failure and keep the message
 * and code in the transaction (sre_txn_error); the first failure sticks,
 * and sre_store_write() reports it.
 *
 * jv ownership is libjq's: functions consume jv arguments and return new
 * references, except where a comment says "Borrows".  Strings are
 * borrowed.  Keys (incident ids, event ids, fingerprints, counter names)
 * are at most SRE_STORE_KEY_MAX bytes and contain no NUL.
 */
#ifndef SRE_STORE_H
#define SRE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <jv.h>

#define SRE_STORE_SCHEMA	2	/* the layout this build writes */
#define SRE_STORE_KEY_MAX	200	/* longest id, fingerprint, name */
#define SRE_STORE_DIR		"store"	/* under the state directory */
#define SRE_STORE_BUCKET_MS	60000	/* window counters: one per minute */

struct sre_store;
struct sre_txn;

/* ---- opening ------------------------------------------------------- */

#define SRE_STORE_RDONLY	0x1	/* never write; the store must exist */

struct sre_store_opts {
	unsigned flags;		/* SRE_STORE_RDONLY */
	size_t mapsize;		/* initial map; 0: $SRE_STORE_MAPSIZE, else
				   64 MiB (an existing store keeps its own
				   when larger) */
	size_t max_mapsize;	/* growth stops here; 0: 1 TiB */
};

/*
 * Open the store under state_dir (created with its parents unless
 * SRE_STORE_RDONLY).  A new store gets every database and the current
 * schema.  A store of an older schema is migrated in one transaction
 * (sre_store_migrated() says from which); read-only, it is refused.  A
 * newer schema, or a directory that is not an SRE-Space store, is
 * refused.  Stale reader slots of dead processes are cleared.
 *
 * Returns EX_OK with *out set, or a sysexits code with a message naming
 * the path in err: EX_NOINPUT when read-only and there is no store (or
 * its writer has not finished creating it: try again later),
 * EX_CONFIG for a read-only or inaccessible directory or a schema we do
 * not read, EX_IOERR for a full disk or an I/O error.
 */
int sre_store_open(struct sre_store **out, const char *state_dir,
    const struct sre_store_opts *opts, char *err, size_t errlen);

/*
 * What a tool that judges control events opens before its stream: the
 * control key (mac.h, from SRE_CONTROL_KEY or the state directory) into
 * key, then the store of c's state directory into *out.  EX_OK, or the
 * exit code with the message in err.
 */
struct sre_common;
struct sre_mac_key;
int sre_store_open_keyed(struct sre_store **out, struct sre_mac_key *key,
    struct sre_common *c, char *err, size_t errlen);

/* Close; accepts NULL.  No transaction may be open. */
void sre_store_close(struct sre_store *st);

/* The store directory (<state-dir>/store).  Borrowed. */
const char *sre_store_path(const struct sre_store *st);

/* The schema the store had before sre_store_open migrated it, or 0. */
int sre_store_migrated(const struct sre_store *st);

/* The current size of the memory map in bytes. */
size_t sre_store_mapsize(const struct sre_store *st);

/* ---- transactions -------------------------------------------------- */

/*
 * A write callback: makes its changes through t and returns 0 to commit,
 * 1 to abort quietly (nothing to change), -1 to abort on an error (set by
 * a failed sre_txn_* call, or by sre_txn_fail).  It may run more than
 * once (see above).
 */
typedef int (*sre_store_fn)(struct sre_txn *t, void *ctx);

/*
 * Run fn in one write transaction and commit it; waits for another
 * process's writer to finish first.  Returns EX_OK (committed, or fn
 * returned 1), or a sysexits code with the message in err: fn's error,
 * or the commit's (disk full: EX_IOERR).
 */
int sre_store_write(struct sre_store *st, sre_store_fn fn, void *ctx,
    char *err, size_t errlen);

/* Begin a read transaction (a snapshot).  EX_OK with *t set, or a code. */
int sre_store_read(struct sre_store *st, struct sre_txn **t, char *err,
    size_t errlen);

/* End a read transaction; accepts NULL. */
void sre_txn_end(struct sre_txn *t);

/* Record an error in t (for write callbacks); returns -1. */
int sre_txn_fail(struct sre_txn *t, int ex, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The first error in t: its message (borrowed, "" if none) and code. */
const char *sre_txn_error(const struct sre_txn *t, int *ex);

/* The store a transaction belongs to. */
struct sre_store *sre_txn_store(const struct sre_txn *t);

/* ---- events and timelines ----------------------------------------- */

/* 1 when an event with this id is stored (timeline or samples), 0 when
 * not, -1 on error. */
int sre_txn_event_seen(struct sre_txn *t, const char *id);

/*
 * Add event ev (borrowed: a JSON object) to incident's timeline at time
 * ts_ms under its id, and remember the id.  Returns 1 when added, 0 when
 * an event with this id was already stored (nothing changes), -1 on error.
 */
int sre_txn_timeline_add(struct sre_txn *t, const char *incident,
    int64_t ts_ms, const char *id, jv ev);

/*
 * The timeline of an incident: an array of events in time order (ties in
 * id order); empty when there is none; jv_invalid() on error.
 */
jv sre_txn_timeline(struct sre_txn *t, const char *incident);

/*
 * Add an event outside any incident (a governor report) at ts_ms under
 * its id.  Borrows ev.  1 added, 0 already stored, -1 error.
 */
int sre_txn_sample_add(struct sre_txn *t, int64_t ts_ms, const char *id,
    jv ev);

/*
 * Call fn for each sample with from_ms <= time < until_ms, in time order;
 * ev is borrowed for the call.  fn returns 0 to go on, non-zero to stop
 * (returned).  Returns 0, fn's value, or -1 on error.
 */
typedef int (*sre_store_each_fn)(jv v, void *ctx);
int sre_txn_sample_scan(struct sre_txn *t, int64_t from_ms, int64_t until_ms,
    sre_store_each_fn fn, void *ctx);

/* ---- incidents ----------------------------------------------------- */

/*
 * An incident record is a JSON object with at least "incident" (its id).
 * The store reads these members to keep its indexes: "status" ("open" or
 * "closed"), "last_ms" (time of its newest event), "fingerprint", and the
 * features "services", "operations", "signals", "templates", "words"
 * (arrays of strings).  Everything else is the caller's (sre-curate
 * documents its records in sre-curate(1)).
 */

/* The record of incident id: an object, jv_null() when there is none,
 * jv_invalid() on error. */
jv sre_txn_incident_get(struct sre_txn *t, const char *id);

/*
 * Store a record (borrowed), replacing the one with the same id, and
 * bring the fingerprint, similarity and open-incident indexes up to date.
 * 0, or -1 on error (no "incident" string, too long, LMDB).
 */
int sre_txn_incident_put(struct sre_txn *t, jv rec);

/*
 * Delete incident id and everything stored for it: record, timeline,
 * event ids, index entries, outbox entry.  1 deleted, 0 none, -1 error.
 */
int sre_txn_incident_del(struct sre_txn *t, const char *id);

/* Call fn on every record in id order (rec borrowed); as sample_scan. */
int sre_txn_incident_scan(struct sre_txn *t, sre_store_each_fn fn,
    void *ctx);

/*
 * Open incidents whose newest event is older than before_ms, oldest
 * first: up to max ids as an array of strings (jv_invalid() on error).
 */
jv sre_txn_open_before(struct sre_txn *t, int64_t before_ms, int max);

/* The number of incident records, or -1 on error. */
long long sre_txn_incident_count(struct sre_txn *t);

/* ---- memory: fingerprints and similarity -------------------------- */

/* Ids of incidents with this fingerprint (id order), at most max;
 * jv_invalid() on error. */
jv sre_txn_fingerprint_incidents(struct sre_txn *t, const char *fp, int max);

/*
 * Features of free text: an object {"words":[...]} of its lowercased
 * words (stop words and numbers left out), with each word also offered as
 * a service, signal and fingerprint name.  Never fails (an empty object
 * for empty text).
 */
jv sre_store_text_features(const char *text);

/*
 * Incidents similar to features q (borrowed: an incident record or an
 * object of the same feature members, see above): a cosine similarity of
 * feature terms weighted by rarity (a shared fingerprint weighs double).
 * Returns an array, best first, of at most max objects {"incident",
 * "score" (0..1, 3 decimals), "shared" (terms in common)} with the
 * record's "fingerprint", "outcome", "summary", "proposal" and
 * "root_cause" when present; exclude (may be NULL) is left out.  Ties go
 * to the newer incident.  jv_invalid() on error.
 */
jv sre_txn_similar(struct sre_txn *t, jv q, const char *exclude, int max);

/* ---- CAG: known fixes per fingerprint ------------------------------ */

/*
 * A CAG entry: {"fingerprint", "proposal", "successes", "failures",
 * "updated_ms", "incidents" (the latest verified ones, newest last),
 * "root_cause"}.  One entry per fingerprint and proposal.
 */

/*
 * Count one outcome of applying proposal (borrowed) to fingerprint fp:
 * success (a fix followed by verified recovery) or failure.  incident and
 * root_cause (borrowed, may be jv_null()) are remembered on a success.
 * 0, or -1 on error.
 */
int sre_txn_cag_learn(struct sre_txn *t, const char *fp, jv proposal,
    int success, const char *incident, int64_t ts_ms, jv root_cause);

/*
 * The best entry for fp among those with at least min_successes
 * successes and a success ratio of at least min_ratio: the most successes,
 * then the best ratio.  Returns 1 with *entry set, 0 when none qualifies,
 * -1 on error.
 */
int sre_txn_cag_best(struct sre_txn *t, const char *fp, long min_successes,
    double min_ratio, jv *entry);

/* The entry of fp and proposal (borrowed): an object, jv_null() when
 * there is none, jv_invalid() on error. */
jv sre_txn_cag_get(struct sre_txn *t, const char *fp, jv proposal);

/* Every entry for fp, or every entry when fp is NULL: an array. */
jv sre_txn_cag_list(struct sre_txn *t, const char *fp);

/* Store entry (borrowed) as it is, replacing its key's (import). 0/-1. */
int sre_txn_cag_put(struct sre_txn *t, jv entry);

/* ---- outbox: events to deliver at least once ----------------------- */

/* Put ev (borrowed) under key, replacing. 0/-1. */
int sre_txn_outbox_put(struct sre_txn *t, const char *key, jv ev);
/* Every entry as an array of {"key", "value"}, in key order. */
jv sre_txn_outbox_list(struct sre_txn *t);
/* Delete key's entry.  1 deleted, 0 none, -1 error. */
int sre_txn_outbox_del(struct sre_txn *t, const char *key);

/* ---- counters and key/value text (sre-guard, sre-jules) ------------ */

/*
 * Add delta to counter name (missing counters are 0) and put the new
 * value in *value (may be NULL).  Counters survive restarts.  0 / -1.
 */
int sre_txn_counter_add(struct sre_txn *t, const char *name, int64_t delta,
    int64_t *value);
/* The value of counter name, 0 when missing.  0 / -1. */
int sre_txn_counter_get(struct sre_txn *t, const char *name, int64_t *value);

/*
 * Window counters: add delta to name in the minute of ts_ms; sum what was
 * added to name from since_ms (rounded down to its minute) to until_ms
 * (exclusive).  "Approvals in the last hour":
 *	sre_txn_window_add(t, "approve", now, 1);
 *	sre_txn_window_sum(t, "approve", now - 3600000, now + 1, &n);
 * 0 / -1.
 */
int sre_txn_window_add(struct sre_txn *t, const char *name, int64_t ts_ms,
    int64_t delta);
int sre_txn_window_sum(struct sre_txn *t, const char *name, int64_t since_ms,
    int64_t until_ms, int64_t *sum);

/* Store text value (NUL-terminated) under key, replacing.  0 / -1. */
int sre_txn_kv_put(struct sre_txn *t, const char *key, const char *value);
/*
 * The text under key: 1 with *value set (borrowed: valid until the
 * transaction ends; *len its length, may be NULL), 0 when missing, -1 on
 * error.  The text is NUL-terminated only if it was stored so; use *len.
 */
int sre_txn_kv_get(struct sre_txn *t, const char *key, const char **value,
    size_t *len);
/* Delete key.  1 deleted, 0 none, -1 error. */
int sre_txn_kv_del(struct sre_txn *t, const char *key);

/*
 * One-shot forms, each its own transaction, for tools that just count:
 * return sysexits codes as sre_store_write does.
 */
int sre_store_counter_add(struct sre_store *st, const char *name,
    int64_t delta, int64_t *value, char *err, size_t errlen);
int sre_store_window_add(struct sre_store *st, const char *name,
    int64_t ts_ms, int64_t delta, char *err, size_t errlen);
int sre_store_window_sum(struct sre_store *st, const char *name,
    int64_t since_ms, int64_t until_ms, int64_t *sum, char *err,
    size_t errlen);

/* ---- maintenance --------------------------------------------------- */

/*
 * Export the whole store as NDJSON lines, one record each, through fn
 * (line borrowed for the call; fn returns 0, or non-zero to stop).  The
 * first line is {"sre_store":"export","schema":N}; then records
 * {"kind":K,...} of kinds incident, event, sample, cag, counter, window,
 * kv, outbox.  Indexes are not exported: import rebuilds them.  One read
 * snapshot.  Returns EX_OK, or a code with a message in err.
 */
typedef int (*sre_store_line_fn)(const char *line, size_t len, void *ctx);
int sre_store_export(struct sre_store *st, sre_store_line_fn fn, void *ctx,
    char *err, size_t errlen);

/*
 * Import one exported record (borrowed) into t.  Records replace what is
 * stored under their key; events already stored are kept.  The header
 * line is checked (a newer schema is refused).  0, or -1 with the error
 * in t (EX_DATAERR for a malformed record).
 */
int sre_txn_import(struct sre_txn *t, jv rec);

/* What sre_store_gc removed (keys: kv entries of removed incidents). */
struct sre_store_gc_stats {
	long long incidents, events, samples, windows, keys;
};

/*
 * Remove closed incidents (status "closed") whose "closed_ms" is before
 * before_ms, with everything stored for them, the kv entries under
 * SRE_STORE_FIX_DIAGNOSIS and SRE_STORE_FIX_VERDICT whose JSON text
 * names one of them as "incident" included; samples and window counters
 * older than before_ms.  CAG entries, counters and other kv entries stay.
 * One transaction per incident.  Returns EX_OK or a code; *stats counts.
 */
int sre_store_gc(struct sre_store *st, int64_t before_ms,
    struct sre_store_gc_stats *stats, char *err, size_t errlen);

/* ---- helpers ------------------------------------------------------- */

/*
 * A deterministic event id: a ULID (SRE_ID_LEN chars and a NUL into out)
 * whose time part is ts_ms and whose random part is a hash of a and b
 * (b may be NULL).  Events derived from stored facts get the same id on
 * every run, so consumers that are idempotent on id see them once.
 */
void sre_store_id_derive(char *out, int64_t ts_ms, const char *a,
    const char *b);

/* Non-zero when s is usable as a key (1..SRE_STORE_KEY_MAX bytes). */
int sre_store_key_ok(const char *s);

/* ---- key names ----------------------------------------------------- */

/*
 * Keys in kv and window counters shared by tools (sre-guard, sre-fix,
 * sre-escalate): a prefix naming what is kept, then an id.
 *
 *	ack:<incident>		"sre-escalate ack": a human took it
 *	fix:diagnosis:<id>	sre-fix: what a diagnosis proposed, JSON
 *				with its "incident" (gc removes it with
 *				the incident)
 *	fix:verdict:<id>	sre-fix: its answer to a verdict, JSON with
 *				its "incident" (likewise)
 *
 * The other prefixes (guard:..., fix:done:) are their tool's.
 */
#define SRE_STORE_ACK		"ack:"
#define SRE_STORE_FIX_DIAGNOSIS	"fix:diagnosis:"
#define SRE_STORE_FIX_VERDICT	"fix:verdict:"

/*
 * prefix followed by id into out, or, when that would be longer than a
 * store key may be (or than out holds), prefix, '#' and a 64-bit FNV-1a
 * hash of id in hex.
 */
void sre_store_key(char *out, size_t outlen, const char *prefix,
    const char *id);

#endif
