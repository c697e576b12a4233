/*
 * fix.h: carrying out an approved verdict through GitOps.
 *
 *	if (sre_fix_verdict_ok(f, verdict, why, sizeof(why)) == 0)
 *		ex = sre_fix_act(f, verdict);
 *
 * The remediation catalog's change is made in a git worktree of its own
 * (one per incident, under the state directory), committed detached with
 * the story of the fix as its message (commitmsg.h), pushed to branch
 * sre/<incident> and, on GitHub, given an issue and a pull request
 * (merged with auto_merge).  The local branch appears only once all went
 * well; a failure at any step undoes the steps before it, so no branch or
 * pull request is left half made.  Once per change: a second approval of
 * the live change, or of a verified incident, makes nothing; a revision
 * that differs supersedes an unverified change (reverted first); the
 * next remedy after a revert goes on sre/<incident>-<n>; at most the
 * policy's max_actions changes per incident (verify.h decides).  The
 * change is then verified (fixverify.h).
 */
#ifndef SRE_FIX_H
#define SRE_FIX_H

#include <jv.h>

#include "fixstate.h"

/*
 * Act on the approving verdict v (borrowed: an object whose incident and
 * id are strings, trusted by sre_fix_verdict_ok) and emit one action
 * event (fixstate.h), its status:
 *	failed		refused (an incident id that cannot name a branch,
 *			a change the catalog or the policy refuses, a change
 *			past max_actions), or a step failed (all undone)
 *	skipped		nothing to do: an observe (then verified), a change
 *			already made (the incident's outcome, its branch),
 *			or one that changes nothing
 *	dry_run		f->dry_run or the verdict's dry_run: the diff in
 *			"diff", nothing kept
 *	reverted	a revision superseded the live change (before the
 *			revision's own action)
 *	committed	the change is committed (and pushed); ts_ms is the
 *			commit's
 *	pr_opened	and its pull request opened
 * The event is stored as the verdict's answer, and, committed or
 * pr_opened, as the incident's outcome.  Returns a sysexits code: not
 * EX_OK only when the store, memory or the output failed.
 */
int sre_fix_act(struct sre_fix *f, jv v);

#endif
