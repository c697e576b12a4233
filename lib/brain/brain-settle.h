/*
 * brain-settle.h: when sre-brain speaks about an incident, and how a later
 * diagnosis supersedes the one out there.
 *
 * An incident's anomalies are gathered for a settle time of event time
 * (--settle) before the first diagnosis; news after it (more anomalies, a
 * failed action) is looked at again once it settles, and a revision goes
 * out only when the picture changed materially.  An incident that
 * sre-cag diagnosed (a known fix) is held: left alone unless an action on
 * that fix fails.
 *
 * These rules work on struct sre_brain_settle alone, with the clock and
 * the settle time passed in, so that each can be tested (and changed)
 * without the rest of the engine (brain.c), which keeps one per incident
 * and calls them as events arrive:
 *
 *	anomaly		sre_brain_settle_anomaly
 *	diagnosis	sre_brain_settle_foreign (sre-cag's, or ours from
 *			an earlier run)
 *	action		sre_brain_settle_action
 *	clock moves	sre_brain_settle_is_due, then diagnose
 *	diagnosed	sre_brain_settle_speak (say it?), then
 *			sre_brain_settle_emitted and sre_brain_supersede
 */
#ifndef SRE_BRAIN_SETTLE_H
#define SRE_BRAIN_SETTLE_H

#include <stdint.h>

#include <jv.h>

/* Revisions of one incident's diagnosis, at most. */
#define SRE_BRAIN_MAX_REVISIONS	20

enum sre_brain_state {
	SRE_BRAIN_EMPTY,	/* no anomaly yet */
	SRE_BRAIN_PENDING,	/* gathering anomalies until due_ms */
	SRE_BRAIN_WAIT_LLM,	/* diagnosed; waiting for the LLM's answer */
	SRE_BRAIN_DONE,		/* a diagnosis is out (ours or an earlier
				 * run's) */
	SRE_BRAIN_HELD		/* sre-cag's known fix stands */
};

struct sre_brain_settle {
	enum sre_brain_state state;
	int64_t due_ms;		/* diagnose at this event time; -1 none */
	int64_t first_ms;	/* event time of the earliest anomaly; -1 */
	int revision;		/* of the diagnosis out there; 0 none */
	int cag;		/* sre-cag diagnosed it */
	int cag_failed;		/* ... and an action on its fix failed */
	int waited;		/* a first observe waited one settle time */
};

/* An incident nothing was heard of: EMPTY, nothing due, revision 0. */
void sre_brain_settle_init(struct sre_brain_settle *st);

/*
 * An anomaly of event time ts (the clock when it has none) was taken, at
 * event time clock (-1 before any).  Moves first_ms back to ts when
 * earlier.  A first anomaly starts the settle time: due settle_ms after
 * ts (after the clock when ts is not positive), never before the
 * clock.  News after a diagnosis is looked at settle_ms
 * from now, unless something is already due.  While pending, held or
 * waiting for the LLM nothing changes.  Returns the due time set, or -1
 * when it did not change.
 */
int64_t sre_brain_settle_anomaly(struct sre_brain_settle *st, int64_t ts,
    int64_t clock, int64_t settle_ms);

/*
 * A diagnosis of this incident was read, issued by source (NULL when it
 * names none) with revision rev (1 when it names none).  sre-cag's holds
 * an incident still gathering (nothing is said over a known fix); one of
 * ours from an earlier run is not said again: its revision is adopted
 * (up to SRE_BRAIN_MAX_REVISIONS) and an incident still gathering is
 * DONE (EMPTY when nanom, the anomalies held, is 0).  Any other source
 * changes nothing.  Returns 1 when sre-cag's diagnosis is the first one
 * seen for the incident, else 0.
 */
int sre_brain_settle_foreign(struct sre_brain_settle *st, const char *source,
    int64_t rev, int nanom);

/* What an action's end means for the incident. */
enum sre_brain_act {
	SRE_BRAIN_ACT_NONE,	/* nothing: it worked, or is not over */
	SRE_BRAIN_ACT_CAG_FAILED,	/* sre-cag's fix failed: ours now */
	SRE_BRAIN_ACT_OURS_FAILED	/* our proposal failed: look again */
};

/*
 * An action on the incident ended with status (NULL: none named).
 * "failed" or "reverted" on an incident sre-cag held (the first time):
 * the incident is ours; a held one goes back to PENDING (EMPTY with no
 * anomaly, nanom 0) and is due settle_ms after its first anomaly, never
 * before the clock.  The same on one we diagnosed (DONE, has_last: our
 * diagnosis is known): due now.  Returns which; the caller adds the
 * failed proposal to those the reasoner avoids.
 */
enum sre_brain_act sre_brain_settle_action(struct sre_brain_settle *st,
    const char *status, int nanom, int has_last, int64_t clock,
    int64_t settle_ms);

/*
 * Is the incident due at event time clock (every one with a due time
 * when all)?  A due incident is diagnosed, unless it is HELD: then its
 * due time is dropped.
 */
int sre_brain_settle_is_due(const struct sre_brain_settle *st,
    int64_t clock, int all);

/*
 * Did the picture change enough to say so again?  Borrows last (the
 * diagnosis out there) and d (the new one).  Yes when the top root
 * cause's service, the proposal's action or target, or the kind of fault
 * differ, or the confidence moved by 0.2 or more.
 */
int sre_brain_material(jv last, jv d);

/*
 * Does diagnosis d (borrowed) go out?  The first one does; a later one
 * only when it differs materially from last (borrowed: the one out
 * there, or null) and SRE_BRAIN_MAX_REVISIONS were not said yet.
 */
int sre_brain_settle_speak(const struct sre_brain_settle *st, jv last,
    jv d);

/*
 * Settle on evidence, not on a clock: does diagnosis d (borrowed) wait?
 * A first diagnosis that proposes no change (observe: no remedy follows
 * from the evidence yet) waits one more settle time, once: the evidence
 * that decides between remedies may still be arriving (a datastore's
 * callers' pool errors after the latency at the edge).  Then it is
 * PENDING again, due wait_ms after clock, and 1 is returned; else 0 (and
 * always when wait_ms is 0).
 */
int sre_brain_settle_wait(struct sre_brain_settle *st, jv d, int64_t clock,
    int64_t wait_ms);

/* A diagnosis goes out: DONE; returns its revision (one more). */
int sre_brain_settle_emitted(struct sre_brain_settle *st);

/*
 * Stamp diagnosis event ev (consumed, returned) as revision rev; from
 * revision 2 it "supersedes" the id of last (borrowed: the one out
 * there; null when its id is unknown).
 */
jv sre_brain_supersede(jv ev, int rev, jv last);

#endif
