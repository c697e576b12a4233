/*
 * audit-store.h: the store's incidents as input of an audit (audit.h):
 * what sre-jules(1) reads when it is not told --no-store.
 *
 *	if (sre_store_read(st, &t, err, sizeof(err)) == EX_OK &&
 *	    sre_audit_store(a, t, since_ms) < 0)
 *		... sre_txn_error(t, &ex) ...
 */
#ifndef SRE_AUDIT_STORE_H
#define SRE_AUDIT_STORE_H

#include <stdint.h>

#include "audit.h"
#include "store.h"

/*
 * Feed a (sre_audit_event) the timeline of each incident in the read
 * transaction t whose newest event is at since_ms or later (INT64_MIN:
 * every incident; a record without last_ms counts as recent).  0, or -1
 * when the store failed (sre_txn_error(t) says why).
 */
int sre_audit_store(struct sre_audit *a, struct sre_txn *t, int64_t since_ms);

#endif
