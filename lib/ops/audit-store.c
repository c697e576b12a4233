/* audit-store.c: the store's incident timelines into an audit. */
#include <stdint.h>

#include <jv.h>

#include "audit-store.h"
#include "event.h"

struct collect {
	int64_t since_ms;
	jv ids;
};

static int
collect_id(jv rec, void *ctx)
{
	struct collect *c = ctx;
	const char *id = sre_jv_str(rec, "incident");
	int64_t last;

	/* An incident whose newest event is older than the window cannot
	 * have begun in it. */
	if (id != NULL && (sre_jv_int(rec, "last_ms", &last) < 0 ||
	    last >= c->since_ms))
		c->ids = jv_array_append(c->ids, jv_string(id));
	return 0;
}

int
sre_audit_store(struct sre_audit *a, struct sre_txn *t, int64_t since_ms)
{
	struct collect c = { since_ms, jv_array() };
	int i, n, rc = 0;

	if (sre_txn_incident_scan(t, collect_id, &c) < 0) {
		jv_free(c.ids);
		return -1;
	}
	n = jv_array_length(jv_copy(c.ids));
	for (i = 0; i < n && rc == 0; i++) {
		jv id = jv_array_get(jv_copy(c.ids), i);
		jv tl = sre_txn_timeline(t, jv_string_value(id));

		jv_free(id);
		if (!jv_is_valid(tl)) {
			jv_free(tl);
			rc = -1;
			break;
		}
		jv_array_foreach(tl, k, ev) {
			if (jv_get_kind(ev) == JV_KIND_OBJECT)
				sre_audit_event(a, ev);
			jv_free(ev);
			(void)k;
		}
		jv_free(tl);
	}
	jv_free(c.ids);
	return rc;
}
