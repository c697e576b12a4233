/*
 * store-keyed.c: the control key and the store, opened together by the
 * tools that judge control events.  A file of its own so that a tool
 * that does not call it does not link libsodium.
 */
#include <sysexits.h>

#include "mac.h"
#include "opt.h"
#include "store.h"

int
sre_store_open_keyed(struct sre_store **out, struct sre_mac_key *key,
    struct sre_common *c, char *err, size_t errlen)
{
	int ex;

	if ((ex = sre_mac_key_load(key, c, err, errlen)) != EX_OK)
		return ex;
	return sre_store_open(out, sre_state_dir(c), NULL, err, errlen);
}
