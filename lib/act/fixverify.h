/*
 * fixverify.h: closing the loop.  A fix is verified: the incident must
 * recover (a `recovery` event) within the verify window, in event time;
 * otherwise the fix is reverted and a human takes over.  An `observe`
 * (no change) that sees no recovery is reported as failed: escalated.
 *
 *	sre_fix_watch(f, inc, &made, 0, proposal);	after a fix
 *	sre_fix_recovered(f, inc, &had);		on a recovery
 *	sre_fix_verify_due(f);				after each event, and
 *							when idle
 *
 * What is being verified lives in one store value, "fix:pending" (an
 * object: incident -> entry), that several sre-fix processes may share:
 * every change is merged into it inside one write transaction, and a due
 * entry is claimed (deleted) by exactly one of them.  f->pending is this
 * process's copy, as of its last write or sre_fix_pending_load.
 *
 * An entry: deadline_ms (event time), observe (true: nothing was
 * changed), proposal, and for a change branch, commit, merged, merge_sha,
 * pr, pr_url and pushed (struct sre_fix_made).
 */
#ifndef SRE_FIXVERIFY_H
#define SRE_FIXVERIFY_H

#include <stdint.h>

#include <jv.h>

#include "fixstate.h"

/*
 * The entry of a fix to verify until deadline_ms: what m made (NULL for
 * an observe, which changed nothing), whether it is an observe, and the
 * proposal (borrowed).  Returns the new object.
 */
jv sre_fix_pending_entry(const struct sre_fix_made *m, int64_t deadline_ms,
    int observe, jv proposal);

/*
 * Set incident inc's entry to rec (consumed), or delete it when rec is
 * jv_invalid(); *had (may be NULL) says whether there was one.  Merged in
 * one store transaction; f->pending becomes the merged value.  Returns a
 * sysexits code (the store's error said as a warning).
 */
int sre_fix_pending_update(struct sre_fix *f, const char *inc, jv rec,
    int *had);

/* Take in what other processes added: f->pending from the store (empty
 * when there is none, or it is damaged). */
void sre_fix_pending_load(struct sre_fix *f);

/*
 * Start the verify window of incident inc: an entry due
 * f->window_ms after deadline_from (event time), as
 * sre_fix_pending_entry makes it.  Nothing when the window is 0.  Returns
 * a sysexits code.
 */
int sre_fix_watch(struct sre_fix *f, const char *inc,
    const struct sre_fix_made *m, int64_t from_ms, int observe,
    jv proposal);

/*
 * A recovery of incident inc ends its window: the fix holds.  *had (may
 * be NULL) says whether a fix of inc was being verified.  Returns a
 * sysexits code.
 */
int sre_fix_recovered(struct sre_fix *f, const char *inc, int *had);

/* The incidents (an array of strings) whose entries in pending (borrowed)
 * are due at now_ms: deadline_ms <= now_ms. */
jv sre_fix_due(jv pending, int64_t now_ms);

/*
 * Act on every entry due at the event clock's now: claim it (another
 * process may have been first: then nothing), then revert the fix
 * (sre_fix_revert) or, for an observe, escalate (sre_fix_escalate).
 * Returns a sysexits code; stops at the first that is not EX_OK.
 */
int sre_fix_verify_due(struct sre_fix *f);

/*
 * Report that incident inc, observed, did not recover within the window:
 * a `failed` action at now_ms, for a human to take over.  Returns a
 * sysexits code (sre_fix_record).
 */
int sre_fix_escalate(struct sre_fix *f, const char *inc, int64_t now_ms);

/*
 * Revert the fix of incident inc, whose entry p (borrowed) was claimed:
 * a revert commit on the base when the fix was merged (pushed to a
 * revert branch, and a revert pull request on GitHub, merged with
 * auto_merge; pushed to the base without GitHub), else on the fix's own
 * branch (its pull request commented on and closed).  Emits `reverted`,
 * or `failed` when it could not be done, at now_ms, as the incident's
 * outcome.  Returns a sysexits code (sre_fix_record).
 */
int sre_fix_revert(struct sre_fix *f, const char *inc, jv p, int64_t now_ms);

/*
 * A recovery event ev (borrowed) of incident inc: the last of its series
 * back ("remaining" 0 or absent) verifies the change (sre_fix_recovered);
 * some of them back marks a live change as having helped
 * (sre_verify_partial: a scale then steps again sooner).  *had (may be
 * NULL): a change was verified.  Returns a sysexits code.
 */
int sre_fix_recovery(struct sre_fix *f, jv ev, const char *inc, int *had);

/* The length of sre-scout's windows for incident inc, from the last
 * anomaly noted (sre_fix_note_anomaly), or 0. */
int64_t sre_fix_cadence(const struct sre_fix *f, const char *inc);

/*
 * sre_fix_revert with a reason: why (NULL: "no recovery within the
 * window") and next (non-zero: the loop goes on with another change, so
 * the event says "next": true and sre-escalate waits).
 */
int sre_fix_revert_why(struct sre_fix *f, const char *inc, jv p,
    int64_t now_ms, const char *why, int next);

/*
 * A change whose window passed without full recovery, its entry p
 * (borrowed) claimed already (fix.c): step a scale that helped, give up a
 * restart (nothing to undo), revert anything else (verify.h); the entry
 * is kept, closed, so that the next approval knows how many changes were
 * made.  Returns a sysexits code.
 */
int sre_fix_unverified(struct sre_fix *f, const char *inc, jv p,
    int64_t now_ms);

#endif
