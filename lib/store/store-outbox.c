/*
 * store-outbox.c: events still to be delivered at least once, each under
 * the key its producer chose (an incident id: deleting an incident takes
 * its entry too).
 */
#include <string.h>

#include "store-int.h"

int
sre_txn_outbox_put(struct sre_txn *t, const char *key, jv ev)
{
	if (!sre_store_key_ok(key))
		return store_badkey(t, "outbox key", key);
	return store_put_json(t, DB_OUTBOX, key, strlen(key), ev, 0) < 0 ?
	    -1 : 0;
}

static int
outbox_fn(struct scan *s, void *ctx)
{
	jv *out = ctx, e = store_scan_json(s), o;

	if (!jv_is_valid(e))
		return -1;
	o = jv_object_set(jv_object(), jv_string("key"),
	    jv_string_sized(s->k.mv_data, (int)s->k.mv_size));
	o = jv_object_set(o, jv_string("value"), e);
	*out = jv_array_append(*out, o);
	return 0;
}

jv
sre_txn_outbox_list(struct sre_txn *t)
{
	jv out = jv_array();

	if (store_scan(t, DB_OUTBOX, SCAN_ALL, NULL, 0, 0, outbox_fn,
	    &out) < 0) {
		jv_free(out);
		return jv_invalid();
	}
	return out;
}

int
sre_txn_outbox_del(struct sre_txn *t, const char *key)
{
	if (!sre_store_key_ok(key))
		return store_badkey(t, "outbox key", key);
	return store_del(t, DB_OUTBOX, key, strlen(key), NULL, 0);
}
