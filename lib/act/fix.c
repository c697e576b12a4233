/*
 * fix.c: acting on an approved verdict (fix.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "catalog.h"
#include "commitmsg.h"
#include "event.h"
#include "evtime.h"
#include "fix.h"
#include "fixverify.h"
#include "policy.h"
#include "store.h"
#include "verify.h"

#define ERR_MAX		1024

/* One verdict being acted on. */
struct act {
	const char *inc, *vid;
	int64_t ts;			/* the stamp a change may write */
	jv prop;			/* the proposal */
	const char *action;		/* its action, once checked */
	int dry;
	struct sre_fix_made m;
	struct sre_gitops_edit e;
	char wt[PATH_MAX + 128];
	char err[ERR_MAX];
	char detail[2048];
	char *msg;			/* the commit message */
	int done;			/* the event is the incident's outcome */
	int ex;				/* not EX_OK: stop, emit nothing */
	int step;			/* the same change again: no gate */
};

/* A failed action with a.err as its detail. */
static jv
failed(struct sre_fix *f, struct act *a)
{
	return sre_fix_action(f, a->inc, a->ts, "failed", NULL, NULL, NULL,
	    a->err);
}

/* Refused whoever approved it: an incident id that cannot name a branch,
 * or the catalog's forms, the policy's allowlist and bounds, a patch as
 * git reads it (checked again in the worktree).  The event, or
 * jv_invalid() when it may go on. */
static jv
act_refused(struct sre_fix *f, struct act *a)
{
	struct sre_catalog_limits cl;
	char why[512];
	int rc;

	if (!sre_gitops_ref_ok(a->inc)) {
		snprintf(a->err, sizeof(a->err), "the incident id cannot name "
		    "a branch");
		return failed(f, a);
	}
	snprintf(a->m.branch, sizeof(a->m.branch), "sre/%s", a->inc);
	sre_policy_catalog(f->policy, sre_jv_str(a->prop, "target"), &cl);
	rc = sre_catalog_check(a->prop, &cl, why, sizeof(why));
	a->action = sre_jv_str(a->prop, "action");
	if (rc == SRE_CATALOG_OK && strcmp(a->action, "patch") == 0) {
		jv params = sre_jv_get(a->prop, "params");
		const char *diff = sre_jv_str(params, "diff");

		rc = sre_catalog_patch_check(NULL, &f->layout,
		    sre_jv_str(a->prop, "target"), diff, strlen(diff), why,
		    sizeof(why));
		jv_free(params);
	}
	if (rc == SRE_CATALOG_OK)
		return jv_invalid();
	snprintf(a->err, sizeof(a->err), "%s%s", rc == SRE_CATALOG_PATCH ?
	    "patch refused: " : "", why);
	sre_fix_say(f, SRE_FIX_WARN, "%s: %s (%s)", a->inc, a->err,
	    sre_catalog_rule(rc));
	return failed(f, a);
}

/* An observe changes nothing; the window watches for recovery (unless
 * a change of the incident is being watched already). */
static jv
act_observe(struct sre_fix *f, struct act *a)
{
	char w[32];
	jv rec = sre_jv_get(f->pending, a->inc);
	int watched = jv_get_kind(rec) == JV_KIND_OBJECT;

	jv_free(rec);
	if (!a->dry && !watched && (a->ex = sre_fix_watch(f, a->inc, NULL,
	    a->ts, 1, a->prop)) != EX_OK)
		return jv_invalid();
	sre_duration_fmt(f->window_ms, w, sizeof(w));
	snprintf(a->detail, sizeof(a->detail), "observe: no change; watching "
	    "for recovery within %s", w);
	return sre_fix_action(f, a->inc, a->ts, "skipped", NULL, NULL, NULL,
	    a->detail);
}

/* Once per incident, whoever asks: its outcome, else its branch (here or
 * on the remote), means it was done.  The event, or jv_invalid(). */
static jv
act_already(struct sre_fix *f, struct act *a)
{
	char key[256], *stored;
	int rc;
	jv old, ev, pr = jv_null();

	sre_store_key(key, sizeof(key), "fix:done:", a->inc);
	if ((stored = sre_fix_kv_get(f, key)) != NULL) {
		old = jv_parse(stored);
		free(stored);
		snprintf(a->detail, sizeof(a->detail), "incident %s was acted "
		    "on already (%s)", a->inc, sre_jv_str(old, "status") ?
		    sre_jv_str(old, "status") : "?");
		ev = sre_fix_action(f, a->inc, a->ts, "skipped", sre_jv_str(old,
		    "branch"), sre_jv_str(old, "commit"), sre_jv_str(old,
		    "pr_url"), a->detail);
		jv_free(old);
		return ev;
	}
	rc = sre_fixrepo_local(&f->repo, a->m.branch, a->m.commit,
	    sizeof(a->m.commit));
	if (!rc && f->repo.has_remote && !f->no_push)
		rc = sre_fixrepo_fetch(&f->repo, a->m.branch, a->m.commit,
		    sizeof(a->m.commit), a->err, sizeof(a->err)) == 1;
	if (!rc)
		return jv_invalid();
	if (f->use_github && sre_github_pr_find(&f->gh, a->m.branch, &pr,
	    a->err, sizeof(a->err)) == 1 && sre_jv_str(pr, "html_url") != NULL)
		snprintf(a->m.pr_url, sizeof(a->m.pr_url), "%s",
		    sre_jv_str(pr, "html_url"));
	jv_free(pr);
	snprintf(a->detail, sizeof(a->detail), "branch %s exists already: "
	    "not made again", a->m.branch);
	return sre_fix_action(f, a->inc, a->ts, "skipped", a->m.branch,
	    a->m.commit, a->m.pr_url, a->detail);
}

static int fix_act(struct sre_fix *f, jv v, int step);

/* The changes the policy allows per incident. */
static long
max_actions(const struct sre_fix *f)
{
	return f->policy != NULL ? sre_policy_limits(f->policy)->max_actions :
	    SRE_POLICY_MAX_ACTIONS;
}

/*
 * An incident some change was made for already (its entry in
 * f->pending): the same change live waits for its verdict, max_actions
 * made is a human's, a revision that differs supersedes the live change
 * (reverted first), and after a change was undone the next remedy goes
 * on a branch of its own, sre/<incident>-<n>.  The event, or
 * jv_invalid() when the change is to be made; no entry: act_already.
 */
static jv
act_gate(struct sre_fix *f, struct act *a)
{
	jv rec = sre_jv_get(f->pending, a->inc), ev = jv_invalid(), obs;
	int64_t n = 0;
	int g;

	obs = sre_jv_get(rec, "observe");
	if (jv_get_kind(rec) != JV_KIND_OBJECT ||
	    jv_get_kind(obs) == JV_KIND_TRUE) {
		jv_free(obs);
		jv_free(rec);
		return act_already(f, a);
	}
	jv_free(obs);
	sre_jv_int(rec, "actions", &n);
	g = sre_verify_gate(rec, a->prop, max_actions(f), a->detail,
	    sizeof(a->detail));
	switch (g) {
	case SRE_GATE_WAIT:
	case SRE_GATE_DONE:
		ev = sre_fix_action(f, a->inc, a->ts, "skipped", NULL, NULL,
		    NULL, a->detail);
		break;
	case SRE_GATE_LIMIT:
		/* failed: sre-escalate calls a human */
		ev = sre_fix_action(f, a->inc, a->ts, "failed", NULL, NULL,
		    NULL, a->detail);
		break;
	case SRE_GATE_SUPERSEDE: {
		int mine = 0;

		/* claimed by deleting it, as a due entry is */
		if ((a->ex = sre_fix_pending_update(f, a->inc, jv_invalid(),
		    &mine)) != EX_OK)
			break;
		if (mine && (a->ex = sre_fix_revert_why(f, a->inc, rec,
		    sre_evclock_now(&f->clock), "superseded by a revised "
		    "diagnosis before it was verified", 1)) != EX_OK)
			break;
		rec = jv_object_set(rec, jv_string("open"), jv_false());
		if ((a->ex = sre_fix_pending_update(f, a->inc, jv_copy(rec),
		    NULL)) != EX_OK)
			break;
	}
		/* FALLTHROUGH */
	case SRE_GATE_ACT:
		snprintf(a->m.branch, sizeof(a->m.branch), "sre/%s-%lld",
		    a->inc, (long long)n + 1);
		break;
	}
	jv_free(rec);
	return ev;
}

int
sre_fix_unverified(struct sre_fix *f, const char *inc, jv p,
    int64_t now_ms)
{
	char w[32], detail[512];
	int64_t win = 0;
	jv keep, v;
	int ex;

	if (sre_jv_int(p, "window_ms", &win) < 0)
		win = f->window_ms;
	sre_duration_fmt(win, w, sizeof(w));
	switch (sre_verify_next(p, max_actions(f))) {
	case SRE_NEXT_STEP:
		/* a scale that helped: the same step again, as approved */
		v = sre_jv_get(p, "verdict");
		if (jv_get_kind(v) == JV_KIND_OBJECT) {
			keep = jv_object_set(jv_copy(p), jv_string("open"),
			    jv_false());
			if ((ex = sre_fix_pending_update(f, inc, keep,
			    NULL)) == EX_OK)
				ex = fix_act(f, v, 1);
			jv_free(v);
			return ex;
		}
		jv_free(v);
		ex = sre_fix_revert_why(f, inc, p, now_ms, NULL, 1);
		break;
	case SRE_NEXT_GIVE_UP:
		/* a restart cannot be undone: no commit (reverting its
		 * stamp would roll the pods again) */
		snprintf(detail, sizeof(detail), "no recovery within %s of the "
		    "restart: a restart cannot be undone, nothing reverted; "
		    "the loop tries the next remedy", w);
		ex = sre_fix_record(f, jv_object_set(sre_fix_action(f, inc,
		    now_ms, "reverted", sre_jv_str(p, "branch"), NULL, NULL,
		    detail), jv_string("next"), jv_true()), NULL, inc, 1);
		break;
	default:
		ex = sre_fix_revert_why(f, inc, p, now_ms, NULL, 1);
		break;
	}
	if (ex != EX_OK)
		return ex;
	keep = jv_object_set(jv_copy(p), jv_string("open"), jv_false());
	return sre_fix_pending_update(f, inc, keep, NULL);
}

/* Undo what was made, newest first. */
static void
undo(struct sre_fix *f, const struct sre_fix_made *m)
{
	const char *del[] = { "branch", "-D", m->branch, NULL };
	char err[ERR_MAX];

	if (m->pr > 0 && sre_github_close(&f->gh, 'p', m->pr, err,
	    sizeof(err)) < 0)
		sre_fix_say(f, SRE_FIX_WARN, "closing pull request #%ld: %s",
		    m->pr, err);
	if (m->issue > 0 && sre_github_close(&f->gh, 'i', m->issue, err,
	    sizeof(err)) < 0)
		sre_fix_say(f, SRE_FIX_WARN, "closing issue #%ld: %s", m->issue,
		    err);
	if (m->pushed && sre_fixrepo_push_delete(&f->repo, m->branch, err,
	    sizeof(err)) < 0)
		sre_fix_say(f, SRE_FIX_WARN, "cleaning up %s on %s: %s",
		    m->branch, f->repo.remote, err);
	if (m->local)
		sre_fixrepo_git(&f->repo, f->repo.root, del, NULL, 0, err,
		    sizeof(err));
}

/* A step failed: undo what was made and say why. */
static jv
act_failed(struct sre_fix *f, struct act *a)
{
	undo(f, &a->m);
	sre_fixrepo_wt_remove(&f->repo, a->wt);
	sre_fix_say(f, SRE_FIX_WARN, "%s: %s", a->inc, a->err);
	return failed(f, a);
}

/* The number and html_url of an issue or pull request (borrowed). */
static long
gh_number(jv o, char *url, size_t urllen)
{
	double num = 0;

	sre_jv_num(o, "number", &num);
	snprintf(url, urllen, "%s", sre_jv_str(o, "html_url") ?
	    sre_jv_str(o, "html_url") : "");
	return (long)num;
}

/* On GitHub: an issue telling the story, then the pull request that
 * closes it, labelled.  0, or -1 with a.err. */
static int
github_open(struct sre_fix *f, jv v, struct act *a)
{
	char title[300], sum[256], incs[256];
	jv an = sre_jv_get(f->anomalies, a->inc), issue, pr;
	char *body = NULL;
	int rc = -1;

	sre_commitmsg_untrusted(sum, sizeof(sum), a->e.summary, 0);
	sre_commitmsg_untrusted(incs, sizeof(incs), a->inc, 0);
	/* sum and incs are short enough: at most 254 + 254 + 20 bytes. */
	if (snprintf(title, sizeof(title), "[sre] %.200s (incident %.64s)",
	    sum, incs) < 0)
		title[0] = '\0';
	if ((body = sre_commitmsg_story(v, an, &a->e, 1, 0)) == NULL)
		goto oom;
	if (sre_github_issue_open(&f->gh, title, body, f->labels, &issue,
	    a->err, sizeof(a->err)) < 0)
		goto out;
	a->m.issue = gh_number(issue, a->m.issue_url, sizeof(a->m.issue_url));
	jv_free(issue);
	free(body);
	if ((body = sre_commitmsg_story(v, an, &a->e, 1, a->m.issue)) == NULL)
		goto oom;
	if (sre_github_pr_open(&f->gh, title, a->m.branch, f->repo.base, body,
	    &pr, a->err, sizeof(a->err)) < 0)
		goto out;
	a->m.pr = gh_number(pr, a->m.pr_url, sizeof(a->m.pr_url));
	jv_free(pr);
	if (a->m.pr <= 0) {
		snprintf(a->err, sizeof(a->err), "GitHub gave no pull request "
		    "number");
		goto out;
	}
	if (sre_github_labels_add(&f->gh, a->m.pr, f->labels, a->err,
	    sizeof(a->err)) < 0)
		sre_fix_say(f, SRE_FIX_WARN, "labelling pull request #%ld: %s",
		    a->m.pr, a->err);
	rc = 0;
	goto out;
oom:
	snprintf(a->err, sizeof(a->err), "out of memory");
out:
	free(body);
	jv_free(an);
	return rc;
}

/* A dry run: the staged diff, shown and in the event; nothing kept. */
static jv
act_dry(struct sre_fix *f, struct act *a)
{
	const char *dv[] = { "diff", "--cached", "--no-color", NULL };
	struct sre_subproc_result r;
	jv ev;

	if (sre_git(a->wt, dv, NULL, NULL, 0, &r, a->err,
	    sizeof(a->err)) != 0) {
		sre_subproc_result_free(&r);
		return act_failed(f, a);
	}
	sre_fix_say(f, SRE_FIX_TEXT, "%s", r.out);
	snprintf(a->detail, sizeof(a->detail), "dry run: would %s",
	    a->e.summary);
	ev = sre_fix_action(f, a->inc, a->ts, "dry_run", a->m.branch, NULL,
	    NULL, a->detail);
	ev = jv_object_set(ev, jv_string("diff"), jv_string(r.out));
	sre_subproc_result_free(&r);
	sre_fixrepo_wt_remove(&f->repo, a->wt);
	return ev;
}

/* Commit, detached: the branch appears only once all went well. */
static int
act_commit(struct sre_fix *f, jv v, struct act *a)
{
	const char *cv[] = { "commit", "--quiet", "--no-verify",
	    "--cleanup=verbatim", "-F", "-", NULL };
	const char *hv[] = { "rev-parse", "HEAD", NULL };
	jv an = sre_jv_get(f->anomalies, a->inc);

	a->msg = sre_commitmsg_story(v, an, &a->e, 0, 0);
	jv_free(an);
	if (a->msg == NULL) {
		snprintf(a->err, sizeof(a->err), "out of memory");
		return -1;
	}
	return sre_fixrepo_git(&f->repo, a->wt, cv, a->msg, strlen(a->msg),
	    a->err, sizeof(a->err)) != 0 || sre_fixrepo_line(&f->repo, a->wt,
	    hv, a->m.commit, sizeof(a->m.commit), a->err,
	    sizeof(a->err)) != 0 ? -1 : 0;
}

/* Push, open on GitHub, then make the local branch. */
static int
act_publish(struct sre_fix *f, jv v, struct act *a)
{
	const char *bv[] = { "branch", a->m.branch, a->m.commit, NULL };

	if (f->repo.has_remote && !f->no_push) {
		if (sre_fixrepo_push(&f->repo, a->m.commit, a->m.branch, a->err,
		    sizeof(a->err)) < 0)
			return -1;
		a->m.pushed = 1;
		if (f->use_github && github_open(f, v, a) < 0)
			return -1;
	}
	if (sre_fixrepo_git(&f->repo, f->repo.root, bv, NULL, 0, a->err,
	    sizeof(a->err)) != 0)
		return -1;
	a->m.local = 1;
	return 0;
}

/* With auto_merge: merge the pull request, or push onto the base.  A
 * failure is said; the fix stands unmerged. */
static void
act_merge(struct sre_fix *f, struct act *a)
{
	if (!f->auto_merge || !a->m.pushed)
		return;
	if (f->use_github) {
		if (sre_github_merge(&f->gh, a->m.pr, a->m.merge_sha,
		    sizeof(a->m.merge_sha), a->err, sizeof(a->err)) == 0)
			a->m.merged = 1;
		else
			sre_fix_say(f, SRE_FIX_WARN, "%s: merging #%ld: %s",
			    a->inc, a->m.pr, a->err);
	} else if (sre_fixrepo_push(&f->repo, a->m.commit, f->repo.base,
	    a->err, sizeof(a->err)) == 0)
		a->m.merged = 1;
	else
		sre_fix_say(f, SRE_FIX_WARN, "%s: merging into %s: %s", a->inc,
		    f->repo.base, a->err);
}

/* Make the change in a worktree on the base; commit, publish, merge. */
static jv
act_change(struct sre_fix *f, jv v, struct act *a)
{
	struct sre_catalog_limits cl;
	char base[64];
	int rc;
	jv ev;

	snprintf(a->wt, sizeof(a->wt), "%s/%s%s", f->repo.wtdir, a->inc,
	    a->dry ? ".dry" : "");
	if (sre_fixrepo_base_commit(&f->repo, base, sizeof(base), a->err,
	    sizeof(a->err)) < 0 || sre_fixrepo_wt_add(&f->repo, a->wt, base,
	    a->err, sizeof(a->err)) < 0)
		return act_failed(f, a);
	sre_policy_catalog(f->policy, sre_jv_str(a->prop, "target"), &cl);
	rc = sre_gitops_apply(a->wt, a->prop, &f->layout, &cl, a->ts, &a->e,
	    a->err, sizeof(a->err));
	if (rc < 0)
		return act_failed(f, a);
	if (rc > 0) {
		sre_fixrepo_wt_remove(&f->repo, a->wt);
		return sre_fix_action(f, a->inc, a->ts, "skipped", NULL, NULL,
		    NULL, a->err);
	}
	if (a->dry)
		return act_dry(f, a);
	if (act_commit(f, v, a) < 0 || act_publish(f, v, a) < 0)
		return act_failed(f, a);
	act_merge(f, a);
	sre_fixrepo_wt_remove(&f->repo, a->wt);
	snprintf(a->detail, sizeof(a->detail), "%s%s%s%s", a->e.summary,
	    a->m.pushed ? "; pushed to " : "", a->m.pushed ? f->repo.remote :
	    "", a->m.merged ? "; merged" : "");
	/* the event's time is the commit's (time to fix runs to it), not
	 * the verdict's */
	ev = sre_fix_action(f, a->inc, sre_evclock_clamp(&f->clock,
	    sre_evclock_now(&f->clock)), a->m.pr > 0 ? "pr_opened" :
	    "committed", a->m.branch, a->m.commit, a->m.pr_url, a->detail);
	if (a->m.issue_url[0])
		ev = jv_object_set(ev, jv_string("issue_url"),
		    jv_string(a->m.issue_url));
	ev = jv_object_set(ev, jv_string("merged"), jv_bool(a->m.merged));
	ev = jv_object_set(ev, jv_string("proposal"), jv_copy(a->prop));
	a->ex = sre_fix_watch(f, a->inc, &a->m, sre_evclock_now(&f->clock), 0,
	    a->prop);
	if (a->ex == EX_OK) {
		/* the verdict, for a step of the same change */
		jv rec = sre_jv_get(f->pending, a->inc);

		if (jv_get_kind(rec) == JV_KIND_OBJECT)
			a->ex = sre_fix_pending_update(f, a->inc,
			    jv_object_set(rec, jv_string("verdict"),
			    jv_copy(v)), NULL);
		else
			jv_free(rec);
	}
	a->done = 1;
	return ev;
}

int
sre_fix_act(struct sre_fix *f, jv v)
{
	return fix_act(f, v, 0);
}

/* Act on v; step: the same change again (sre_fix_unverified), past the
 * gate, the verdict answered already. */
static int
fix_act(struct sre_fix *f, jv v, int step)
{
	struct act a;
	jv ev, dr;
	int64_t n = 0;

	memset(&a, 0, sizeof(a));
	a.step = step;
	a.inc = sre_jv_str(v, "incident");
	a.vid = sre_jv_str(v, "id");
	a.ex = EX_OK;
	/* The stamps a fix writes (restartedAt) never run ahead of the
	 * event clock, whatever time the verdict claims. */
	if (sre_jv_int(v, "ts_ms", &a.ts) < 0)
		a.ts = sre_evclock_now(&f->clock);
	a.ts = sre_evclock_clamp(&f->clock, a.ts);
	a.prop = sre_jv_get(v, "proposal");
	dr = sre_jv_get(v, "dry_run");
	a.dry = f->dry_run || jv_get_kind(dr) == JV_KIND_TRUE;
	jv_free(dr);

	ev = act_refused(f, &a);
	if (!jv_is_valid(ev) && strcmp(a.action, "observe") == 0)
		ev = act_observe(f, &a);
	else if (!jv_is_valid(ev) && step) {
		jv rec = sre_jv_get(f->pending, a.inc);

		sre_jv_int(rec, "actions", &n);
		jv_free(rec);
		snprintf(a.m.branch, sizeof(a.m.branch), "sre/%s-%lld", a.inc,
		    (long long)n + 1);
	} else if (!jv_is_valid(ev) && !a.dry)
		ev = act_gate(f, &a);
	if (!jv_is_valid(ev) && a.ex == EX_OK)
		ev = act_change(f, v, &a);
	/* The one way out: whatever was decided is freed here. */
	jv_free(a.prop);
	free(a.msg);
	if (a.ex != EX_OK) {
		jv_free(ev);
		return a.ex;
	}
	return sre_fix_record(f, ev, step ? NULL : a.vid, a.inc, a.done);
}
