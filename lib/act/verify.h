/*
 * verify.h: what sre-fix does after a fix, decided here so that it can be
 * tested without git: how long it waits for recovery, what a new
 * approval for the same incident means, and what follows a fix that did
 * not end the fault.
 *
 * An incident's record (a JSON object, sre-fix's "pending" entry) holds
 * what the loop did for it so far:
 *
 *	proposal     the last change made (catalog form)
 *	actions      how many changes were made for the incident
 *	deadline_ms  when the last change must have been followed by recovery
 *	helped       a recovery of some of the incident's series followed it
 *	verified     every series recovered: the fix holds
 *	open         the last change is live and not yet verified (false once
 *	             it is reverted)
 *
 * The rules (issue 20 of the project):
 *   - a change is verified within a window fitted to the incident's
 *     cadence: SRE_VERIFY_WINDOWS of sre-scout's windows (from the
 *     anomalies' window_start_ms and window_end_ms), at least
 *     SRE_VERIFY_MIN_MS, at most the --verify-window given;
 *   - only the recovery of every series verifies; a partial one marks the
 *     change as having helped;
 *   - without recovery the change is reverted (a restart cannot be: it is
 *     given up, no commit) and the loop tries the next remedy in rank, at
 *     most the policy's max_actions changes per incident;
 *   - a scale that helped but did not end the fault steps again, as soon
 *     as SRE_VERIFY_STEP_WINDOWS windows passed after the first partial
 *     recovery without the rest;
 *   - a revised diagnosis whose proposal differs supersedes an unverified
 *     change: revert it, then act on the revision.
 */
#ifndef SRE_VERIFY_H
#define SRE_VERIFY_H

#include <stdint.h>

#include <jv.h>

#define SRE_VERIFY_WINDOWS	12	/* a verify window, in scout windows */
#define SRE_VERIFY_STEP_WINDOWS	4	/* after a partial recovery */
#define SRE_VERIFY_MIN_MS	30000
#define SRE_VERIFY_MAX_MS	(3 * 60 * 1000)	/* --verify-window default */

/*
 * The verify window for an incident whose anomalies came in windows of
 * scout_window_ms (0 or less: unknown), at most max_ms (0 or less:
 * SRE_VERIFY_MAX_MS): SRE_VERIFY_WINDOWS windows, at least
 * SRE_VERIFY_MIN_MS; max_ms when the cadence is unknown.
 */
int64_t sre_verify_window(int64_t scout_window_ms, int64_t max_ms);

/* What a new approval for an incident with record rec means. */
enum sre_verify_gate {
	SRE_GATE_ACT,		/* nothing live: make the change */
	SRE_GATE_SUPERSEDE,	/* revert the unverified change, then act */
	SRE_GATE_WAIT,		/* the same change is live and being verified */
	SRE_GATE_DONE,		/* verified: the fix holds */
	SRE_GATE_LIMIT		/* max_actions made, or the same change
				   again after it was undone: a human */
};

/*
 * Judge an approved proposal (borrowed) against rec (borrowed; null or
 * not an object: nothing done yet) and max_actions (1 or more).  Returns
 * an SRE_GATE_*, with why in words for the ones that do nothing.
 */
int sre_verify_gate(jv rec, jv proposal, long max_actions, char *why,
    size_t whylen);

/* What follows a change whose deadline passed without full recovery. */
enum sre_verify_next {
	SRE_NEXT_REVERT,	/* undo it; the loop tries the next remedy */
	SRE_NEXT_GIVE_UP,	/* nothing to undo (a restart); the next remedy */
	SRE_NEXT_STEP		/* a scale that helped: the same step again */
};

/*
 * For rec (borrowed) at its deadline, with max_actions: a scale that
 * helped and may still step (actions < max_actions) steps; a restart is
 * given up; anything else is reverted.
 */
int sre_verify_next(jv rec, long max_actions);

/*
 * A partial recovery (remaining > 0) of an incident with rec (consumed,
 * returned updated) at event time now_ms, in scout windows of
 * scout_window_ms: marks it helped, and brings a scale's deadline to
 * SRE_VERIFY_STEP_WINDOWS windows from now when that is sooner.
 */
jv sre_verify_partial(jv rec, int64_t now_ms, int64_t scout_window_ms);

/* Non-zero when two proposals (borrowed) are the same change: equal
 * action, target and params. */
int sre_verify_same(jv a, jv b);

#endif
