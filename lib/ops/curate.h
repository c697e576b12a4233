/*
 * curate.h: incident records, post-mortems, learning and reliability
 * metrics over the store (store.h): the logic of sre-curate(1).
 *
 *	struct sre_curate c;
 *	sre_curate_init(&c, st, &opts, err, sizeof(err));
 *	for each event ev:
 *		ex = sre_curate_event(&c, ev, err, sizeof(err));
 *		pm = sre_curate_take(&c);	(postmortem events to emit)
 *		... write pm out, flush ...
 *		sre_curate_delivered(&c, pm, err, sizeof(err));
 *	sre_curate_free(&c);
 *
 * Every event is applied in one store transaction: its timeline entry,
 * the incident record, the CAG table, the post-mortem and the outbox
 * entry of the postmortem event commit together or not at all.  An event
 * whose id is stored already changes nothing, so a stream applied twice,
 * or applied again after a crash, gives the same store.  Postmortem
 * events go through the outbox: sre_curate_recover() hands out those a
 * stopped run did not deliver (delivery is at least once; their ids are
 * derived from the incident, so a repeat has the same id).
 *
 * Times are event times (ts_ms), never the clock: a replayed recording
 * gives the same records and metrics.
 */
#ifndef SRE_CURATE_H
#define SRE_CURATE_H

#include <stddef.h>
#include <stdint.h>

#include <jv.h>

#include "store.h"

#define SRE_CURATE_TIMEOUT_MS	(30 * 60 * 1000)
#define SRE_CURATE_PMDIR	"postmortems"

struct sre_curate_opts {
	const char *state_dir;	/* post-mortems go to <state_dir>/postmortems */
	int64_t timeout_ms;	/* close as unresolved after this much event
				   time without news; 0: the default */
};

struct sre_curate {
	struct sre_store *st;
	char pmdir[4096];
	int64_t timeout_ms;
	int64_t clock_ms;	/* newest event time seen, -1 before any */
	jv pending;		/* postmortem events not yet taken */
	unsigned long long stored, duplicates, ignored, closed;
};

/*
 * Set c up over an open store (writable) and create the post-mortem
 * directory.  EX_OK, or a sysexits code with a message in err.
 */
int sre_curate_init(struct sre_curate *c, struct sre_store *st,
    const struct sre_curate_opts *opts, char *err, size_t errlen);

/* Free what c holds (not the store). */
void sre_curate_free(struct sre_curate *c);

/*
 * Apply one event (borrowed; its envelope already checked).  Events with
 * an incident go to its timeline and record; `governor` events are kept
 * as samples for the resource metrics; `postmortem` events and other
 * events outside incidents are ignored.  An incident closes on recovery
 * if an anomaly opened it (auto_resolved), on escalation (escalated), or when the newest event
 * time seen passes its last event by the timeout (unresolved); closing
 * writes the post-mortem and queues a postmortem event.
 *
 * Returns EX_OK; EX_DATAERR when this event cannot be stored (an id or
 * incident too long: err says why; the caller reports it and goes on);
 * any other code is a store or file failure that ends the run.
 */
int sre_curate_event(struct sre_curate *c, jv ev, char *err, size_t errlen);

/*
 * Close incidents that are stale at event time now_ms (an idle stream's
 * clock moves on).  EX_OK or a code.
 */
int sre_curate_tick(struct sre_curate *c, int64_t now_ms, char *err,
    size_t errlen);

/* Queue the postmortem events a previous run left in the outbox. */
int sre_curate_recover(struct sre_curate *c, char *err, size_t errlen);

/* The postmortem events queued so far (an array; the queue empties). */
jv sre_curate_take(struct sre_curate *c);

/* Mark events (consumed: as sre_curate_take gave them) delivered: their
 * outbox entries go.  EX_OK or a code. */
int sre_curate_delivered(struct sre_curate *c, jv events, char *err,
    size_t errlen);

/*
 * The Markdown post-mortem of a closed incident record rec and its
 * timeline tl (both borrowed), with the CAG entry cag (borrowed; null
 * when none).  A malloc'd string, NULL when out of memory.
 */
char *sre_curate_markdown(jv rec, jv tl, jv cag);

/*
 * The reliability report over incidents whose first anomaly (or first
 * event) falls in [since_ms, until_ms): counts and outcomes, time to fix,
 * MTTR and time to detect (p50 and p90, nearest rank), autonomous success
 * rate, cognitive accuracy against truth (borrowed: an array of
 * {"incident" or "fingerprint", "service", "operation"}, or of
 * {"service", "operation", "start_ms", "end_ms"} judging the incidents
 * that start in that window; null for none),
 * and resource use from governor samples.  An object, or jv_invalid()
 * with err set.
 *
 * The autonomous success rate is auto_resolved over the closed incidents
 * and the open ones past their verify window: an incident still open
 * verify_ms (<= 0: SRE_CURATE_VERIFY_MS) after its fix, or after its
 * first anomaly when nothing was fixed, counts as a failure ("overdue").
 * Past is measured against until_ms, else the newest event time in the
 * store (event time, so that a replay reports as it ran).
 */
#define SRE_CURATE_VERIFY_MS	(3 * 60 * 1000)
jv sre_curate_report(struct sre_store *st, int64_t since_ms, int64_t until_ms,
    int64_t verify_ms, jv truth, char *err, size_t errlen, int *ex);

/* The report as text (consumes report).  A malloc'd string or NULL. */
char *sre_curate_report_text(jv report);

/* Format epoch ms as ISO 8601 UTC with milliseconds into buf. */
void sre_curate_iso(int64_t ms, char *buf, size_t len);

#endif
