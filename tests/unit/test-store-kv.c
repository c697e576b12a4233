/* test-store-kv.c: key names (sre_store_key), key/value text, counters
 * and window counters at their edges. */
#include <stdint.h>
#include <string.h>
#include <sysexits.h>

#include "store.h"
#include "store-tmp.h"
#include "tap.h"

static void
test_keys(void)
{
	char key[256], small[32], longid[400];

	sre_store_key(key, sizeof(key), SRE_STORE_ACK, "inc-1");
	ok(strcmp(key, "ack:inc-1") == 0, "a short key as it is");
	memset(longid, 'x', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	sre_store_key(key, sizeof(key), SRE_STORE_ACK, longid);
	ok(strncmp(key, "ack:#", 5) == 0 && strlen(key) == 21,
	    "a long id is hashed: %s", key);
	ok(sre_store_key_ok(key), "and makes a usable key");
	longid[SRE_STORE_KEY_MAX - 4] = '\0';
	sre_store_key(key, sizeof(key), SRE_STORE_ACK, longid);
	ok(strlen(key) == SRE_STORE_KEY_MAX && key[4] == 'x',
	    "an id that just fits is kept");
	sre_store_key(small, sizeof(small), SRE_STORE_ACK,
	    "an-incident-id-of-40-bytes-in-all-.....");
	ok(strncmp(small, "ack:#", 5) == 0 && strlen(small) == 21,
	    "a key longer than its buffer is hashed, not cut: %s", small);
	ok(strcmp(SRE_STORE_FIX_DIAGNOSIS, "fix:diagnosis:") == 0 &&
	    strcmp(SRE_STORE_FIX_VERDICT, "fix:verdict:") == 0,
	    "sre-fix's prefixes are those its stores hold");
}

static int
kv_put(struct sre_txn *t, void *ctx)
{
	(void)ctx;
	return sre_txn_kv_put(t, "k1", "one") < 0 ||
	    sre_txn_kv_put(t, "k2", "") < 0 ||
	    sre_txn_kv_put(t, "k1", "uno") < 0 ? -1 : 0;
}

static int
kv_del(struct sre_txn *t, void *ctx)
{
	int *r = ctx;

	r[0] = sre_txn_kv_del(t, "k2");
	r[1] = sre_txn_kv_del(t, "k2");
	return r[0] < 0 || r[1] < 0 ? -1 : 0;
}

static int
windows(struct sre_txn *t, void *ctx)
{
	(void)ctx;
	/* Minutes 0, 1 and 5 of "w", and a name that extends it. */
	return sre_txn_window_add(t, "w", 1000, 1) < 0 ||
	    sre_txn_window_add(t, "w", 59999, 2) < 0 ||
	    sre_txn_window_add(t, "w", 60000, 4) < 0 ||
	    sre_txn_window_add(t, "w", 300000, 8) < 0 ||
	    sre_txn_window_add(t, "w2", 60000, 100) < 0 ||
	    sre_txn_counter_add(t, "w", 1000, NULL) < 0 ? -1 : 0;
}

static int64_t
sum(struct sre_store *st, int64_t since, int64_t until)
{
	int64_t s = -1;

	if (sre_store_window_sum(st, "w", since, until, &s, tmp_err,
	    sizeof(tmp_err)) != EX_OK)
		return -1;
	return s;
}

int
main(void)
{
	struct sre_store *st;
	struct sre_txn *t;
	const char *v;
	size_t n;
	int64_t c;
	int r[2], ex;

	if (tmp_init("test-store-kv") < 0)
		return 1;
	test_keys();
	if ((st = tmp_open("a")) == NULL)
		return tap_done();

	ok(sre_store_write(st, kv_put, NULL, tmp_err, sizeof(tmp_err)) ==
	    EX_OK, "kv written");
	ok(sre_store_read(st, &t, tmp_err, sizeof(tmp_err)) == EX_OK, "read");
	ok(sre_txn_kv_get(t, "k1", &v, &n) == 1 && strcmp(v, "uno") == 0 &&
	    n == 3, "a put replaces");
	ok(sre_txn_kv_get(t, "k2", &v, &n) == 1 && n == 0 && *v == '\0',
	    "empty text is text");
	ok(sre_txn_kv_get(t, "", &v, &n) == -1, "an empty key is refused");
	sre_txn_end(t);
	ok(sre_store_write(st, kv_del, r, tmp_err, sizeof(tmp_err)) == EX_OK &&
	    r[0] == 1 && r[1] == 0, "delete: 1, then 0");

	ok(sre_store_write(st, windows, NULL, tmp_err, sizeof(tmp_err)) ==
	    EX_OK, "window counters written");
	ok(sum(st, 0, 400000) == 15, "every minute of w, not w2 nor the "
	    "counter w");
	ok(sum(st, 59999, 400000) == 15, "since rounds down to its minute");
	ok(sum(st, 60000, 300000) == 4, "until is exclusive");
	ok(sum(st, 60000, 300001) == 12, "and counts its minute once in");
	ok(sum(st, 400000, 900000) == 0, "an empty range sums to 0");
	ex = sre_store_counter_add(st, "w", 5, &c, tmp_err, sizeof(tmp_err));
	ok(ex == EX_OK && c == 1005, "the counter w is its own (%lld)",
	    (long long)c);
	ex = sre_store_counter_add(st, "big", INT64_MAX, &c, tmp_err,
	    sizeof(tmp_err));
	ex = sre_store_counter_add(st, "big", 1, &c, tmp_err, sizeof(tmp_err));
	ok(ex == EX_DATAERR && strstr(tmp_err, "overflow") != NULL,
	    "a counter does not wrap: %s", tmp_err);

	sre_store_close(st);
	tmp_done();
	return tap_done();
}
