/*
 * store-kv.c: counters (name -> integer, kept as decimal text), window
 * counters (name, NUL, minute -> integer), key/value text, and the names
 * tools give their keys (sre_store_key).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "hash.h"
#include "store-int.h"


int
store_int_get(struct sre_txn *t, const void *k, size_t kn, int64_t *value)
{
	long long n = 0;
	int r;

	*value = 0;
	if ((r = store_get_ll(t, DB_COUNTERS, k, kn, &n)) <= 0)
		return r;
	if (r == 2)
		return sre_txn_fail(t, EX_IOERR, "%s: counters: a stored value "
		    "is not a number (damaged store?)", t->st->dir);
	*value = n;
	return 1;
}

int
store_int_put(struct sre_txn *t, const void *k, size_t kn, int64_t value)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%lld", (long long)value);

	return store_put(t, DB_COUNTERS, k, kn, buf, (size_t)n, 0) < 0 ? -1 : 0;
}

static int
int_add(struct sre_txn *t, const void *k, size_t kn, int64_t delta,
    int64_t *value)
{
	int64_t cur;

	if (store_int_get(t, k, kn, &cur) < 0)
		return -1;
	if ((delta > 0 && cur > INT64_MAX - delta) ||
	    (delta < 0 && cur < INT64_MIN - delta))
		return sre_txn_fail(t, EX_DATAERR, "counter overflow");
	cur += delta;
	if (value != NULL)
		*value = cur;
	return store_int_put(t, k, kn, cur);
}

int
sre_txn_counter_add(struct sre_txn *t, const char *name, int64_t delta,
    int64_t *value)
{
	if (!sre_store_key_ok(name))
		return store_badkey(t, "counter", name);
	return int_add(t, name, strlen(name), delta, value);
}

int
sre_txn_counter_get(struct sre_txn *t, const char *name, int64_t *value)
{
	if (!sre_store_key_ok(name))
		return store_badkey(t, "counter", name);
	return store_int_get(t, name, strlen(name), value) < 0 ? -1 : 0;
}

static int64_t
bucket(int64_t ts)
{
	if (ts < 0)
		return 0;
	return ts - ts % SRE_STORE_BUCKET_MS;
}

void
store_window_key(struct key *k, const char *name, int64_t ts)
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
		return store_badkey(t, "counter", name);
	store_window_key(&k, name, ts_ms);
	return int_add(t, k.b, k.n, delta, NULL);
}

struct window_sum {
	size_t n;		/* the key's length: name, NUL, minute */
	int64_t until, sum;
};

static int
window_sum_fn(struct scan *s, void *ctx)
{
	struct window_sum *w = ctx;
	int64_t n;

	if (s->k.mv_size != w->n ||
	    (int64_t)be64_get((unsigned char *)s->k.mv_data + w->n - 8) >=
	    w->until)
		return 1;
	if (store_int_get(s->t, s->k.mv_data, s->k.mv_size, &n) < 0)
		return -1;
	w->sum += n;
	return 0;
}

int
sre_txn_window_sum(struct sre_txn *t, const char *name, int64_t since_ms,
    int64_t until_ms, int64_t *sum)
{
	struct window_sum w = { 0, until_ms, 0 };
	struct key p;

	*sum = 0;
	if (!sre_store_key_ok(name))
		return store_badkey(t, "counter", name);
	store_window_key(&p, name, since_ms);
	w.n = p.n;
	if (store_scan(t, DB_COUNTERS, SCAN_ALL, p.b, p.n, p.n - 8,
	    window_sum_fn, &w) < 0)
		return -1;
	*sum = w.sum;
	return 0;
}

int
sre_txn_kv_put(struct sre_txn *t, const char *key, const char *value)
{
	if (!sre_store_key_ok(key))
		return store_badkey(t, "key", key);
	/* Stored with its NUL, so readers get a C string. */
	return store_put(t, DB_KV, key, strlen(key), value, strlen(value) + 1,
	    0) < 0 ? -1 : 0;
}

int
sre_txn_kv_get(struct sre_txn *t, const char *key, const char **value,
    size_t *len)
{
	MDB_val v;
	int r;

	if (!sre_store_key_ok(key))
		return store_badkey(t, "key", key);
	if ((r = store_get(t, DB_KV, key, strlen(key), &v)) <= 0)
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
		return store_badkey(t, "key", key);
	return store_del(t, DB_KV, key, strlen(key), NULL, 0);
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

/* ---- key names -------------------------------------------------------- */

void
sre_store_key(char *out, size_t outlen, const char *prefix, const char *id)
{
	uint64_t h;

	if (strlen(prefix) + strlen(id) <= SRE_STORE_KEY_MAX &&
	    snprintf(out, outlen, "%s%s", prefix, id) < (int)outlen)
		return;
	h = sre_fnv1a64_str(SRE_FNV64_BASIS, id);
	snprintf(out, outlen, "%s#%016llx", prefix, (unsigned long long)h);
}
