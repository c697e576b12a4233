/*
 * fixverify.c: verifying fixes, reverting those that did not help
 * (fixverify.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "commitmsg.h"
#include "event.h"
#include "evtime.h"
#include "fixverify.h"
#include "policy.h"
#include "store.h"
#include "verify.h"

#define ERR_MAX		1024
#define PENDING_KEY	"fix:pending"

/* ---- the pending entries ------------------------------------------- */

jv
sre_fix_pending_entry(const struct sre_fix_made *m, int64_t deadline_ms,
    int observe, jv proposal)
{
	jv p = jv_object();

	p = jv_object_set(p, jv_string("deadline_ms"),
	    jv_number((double)deadline_ms));
	p = jv_object_set(p, jv_string("observe"), jv_bool(observe));
	if (m != NULL) {
		p = jv_object_set(p, jv_string("branch"), jv_string(m->branch));
		p = jv_object_set(p, jv_string("commit"), jv_string(m->commit));
		p = jv_object_set(p, jv_string("merged"), jv_bool(m->merged));
		p = jv_object_set(p, jv_string("merge_sha"),
		    jv_string(m->merge_sha));
		p = jv_object_set(p, jv_string("pr"),
		    jv_number((double)m->pr));
		p = jv_object_set(p, jv_string("pr_url"), jv_string(m->pr_url));
		p = jv_object_set(p, jv_string("pushed"), jv_bool(m->pushed));
	}
	return jv_object_set(p, jv_string("proposal"), jv_copy(proposal));
}

static jv
pending_parse(const char *text)
{
	jv v = text != NULL ? jv_parse(text) : jv_object();

	if (jv_get_kind(v) != JV_KIND_OBJECT) {
		jv_free(v);
		v = jv_object();
	}
	return v;
}

struct pend_op {
	const char *inc;
	jv rec;			/* the entry to set; invalid: delete */
	int had;		/* the entry was there */
	jv all;			/* the merged value, after the write */
};

static int
pend_fn(struct sre_txn *t, void *ctx)
{
	struct pend_op *op = ctx;
	const char *v = NULL;
	jv all, had;
	size_t len;
	char *text;
	int r;

	if ((r = sre_txn_kv_get(t, PENDING_KEY, &v, NULL)) < 0)
		return -1;
	all = pending_parse(r == 1 ? v : NULL);
	had = sre_jv_get(all, op->inc);
	op->had = jv_get_kind(had) == JV_KIND_OBJECT;
	jv_free(had);
	if (jv_is_valid(op->rec))
		all = jv_object_set(all, jv_string(op->inc), jv_copy(op->rec));
	else if (op->had)
		all = jv_object_delete(all, jv_string(op->inc));
	else {
		jv_free(op->all);
		op->all = all;
		return 1;	/* nothing to change */
	}
	if ((text = sre_jv_dump(jv_copy(all), &len)) == NULL) {
		jv_free(all);
		return sre_txn_fail(t, EX_OSERR, "out of memory");
	}
	r = sre_txn_kv_put(t, PENDING_KEY, text);
	free(text);
	/* The callback may run again: keep only the last result. */
	jv_free(op->all);
	op->all = all;
	return r < 0 ? -1 : 0;
}

int
sre_fix_pending_update(struct sre_fix *f, const char *inc, jv rec, int *had)
{
	struct pend_op op = { inc, rec, 0, jv_invalid() };
	char err[ERR_MAX];
	int ex;

	ex = sre_store_write(f->st, pend_fn, &op, err, sizeof(err));
	jv_free(rec);
	if (ex != EX_OK) {
		sre_fix_say(f, SRE_FIX_WARN, "%s", err);
		jv_free(op.all);
		return ex;
	}
	if (had != NULL)
		*had = op.had;
	if (jv_is_valid(op.all)) {
		jv_free(f->pending);
		f->pending = op.all;
	}
	return EX_OK;
}

void
sre_fix_pending_load(struct sre_fix *f)
{
	char *p = sre_fix_kv_get(f, PENDING_KEY);

	jv_free(f->pending);
	f->pending = pending_parse(p);
	free(p);
}

/* Non-zero when member k of o (borrowed) is of kind want. */
static int
member_is(jv o, const char *k, jv_kind want)
{
	jv v = sre_jv_get(o, k);
	int t = jv_get_kind(v) == want;

	jv_free(v);
	return t;
}

#define is_true(o, k)	member_is((o), (k), JV_KIND_TRUE)
#define is_false(o, k)	member_is((o), (k), JV_KIND_FALSE)

/* ---- the window ---------------------------------------------------- */

/* The length of the windows in which sre-scout judged the incident's
 * anomalies (the last one seen), or 0. */
int64_t
sre_fix_cadence(const struct sre_fix *f, const char *inc)
{
	jv a = sre_jv_get(f->anomalies, inc);
	int64_t ws = 0, we = 0;

	if (sre_jv_int(a, "window_start_ms", &ws) < 0 ||
	    sre_jv_int(a, "window_end_ms", &we) < 0 || we <= ws)
		ws = we = 0;
	jv_free(a);
	return we - ws;
}

/* The number of changes made for inc so far, by its entry. */
static int64_t
changes_of(const struct sre_fix *f, const char *inc)
{
	jv p = sre_jv_get(f->pending, inc);
	int64_t n = 0;

	if (sre_jv_int(p, "actions", &n) < 0 || n < 0)
		n = 0;
	jv_free(p);
	return n;
}

int
sre_fix_watch(struct sre_fix *f, const char *inc,
    const struct sre_fix_made *m, int64_t from_ms, int observe,
    jv proposal)
{
	int64_t w, n;
	jv e;

	if (f->window_ms <= 0)
		return EX_OK;
	/* the window fits the incident's cadence, --verify-window at most */
	w = sre_verify_window(sre_fix_cadence(f, inc), f->window_ms);
	n = changes_of(f, inc) + (observe ? 0 : 1);
	e = sre_fix_pending_entry(m, from_ms + w, observe, proposal);
	e = jv_object_set(e, jv_string("actions"), jv_number((double)n));
	e = jv_object_set(e, jv_string("open"), jv_true());
	e = jv_object_set(e, jv_string("window_ms"), jv_number((double)w));
	return sre_fix_pending_update(f, inc, e, NULL);
}

int
sre_fix_recovered(struct sre_fix *f, const char *inc, int *had)
{
	return sre_fix_pending_update(f, inc, jv_invalid(), had);
}

int
sre_fix_recovery(struct sre_fix *f, jv ev, const char *inc, int *had)
{
	int64_t left = 0;
	jv p;

	if (had != NULL)
		*had = 0;
	/* only the last of the incident's series back verifies */
	if (sre_jv_int(ev, "remaining", &left) < 0 || left <= 0)
		return sre_fix_recovered(f, inc, had);
	p = sre_jv_get(f->pending, inc);
	if (jv_get_kind(p) != JV_KIND_OBJECT || is_true(p, "observe") ||
	    !is_true(p, "open")) {
		jv_free(p);
		return EX_OK;
	}
	/* some of it: the change helped (a scale steps again sooner) */
	return sre_fix_pending_update(f, inc, sre_verify_partial(p,
	    sre_evclock_now(&f->clock), sre_fix_cadence(f, inc)), NULL);
}

jv
sre_fix_due(jv pending, int64_t now_ms)
{
	jv due = jv_array();

	if (jv_get_kind(pending) != JV_KIND_OBJECT)
		return due;
	jv_object_foreach(pending, k, p) {
		double dl = 0;

		/* an entry kept after its change was undone is not due */
		if (sre_jv_num(p, "deadline_ms", &dl) == 0 &&
		    dl <= (double)now_ms && !is_false(p, "open"))
			due = jv_array_append(due, jv_copy(k));
		jv_free(k);
		jv_free(p);
	}
	return due;
}

int
sre_fix_escalate(struct sre_fix *f, const char *inc, int64_t now_ms)
{
	char w[32], detail[512];

	sre_duration_fmt(f->window_ms, w, sizeof(w));
	snprintf(detail, sizeof(detail), "observe: incident %s did not "
	    "recover within %s", inc, w);
	return sre_fix_record(f, sre_fix_action(f, inc, now_ms, "failed", NULL,
	    NULL, NULL, detail), NULL, inc, 0);
}

int
sre_fix_verify_due(struct sre_fix *f)
{
	int64_t now = sre_evclock_now(&f->clock);
	jv due = sre_fix_due(f->pending, now);
	int i, n, ex = EX_OK;

	n = jv_array_length(jv_copy(due));
	for (i = 0; i < n && ex == EX_OK; i++) {
		jv k = jv_array_get(jv_copy(due), i);
		const char *inc = jv_string_value(k);
		jv p = sre_jv_get(f->pending, inc);
		int mine = 0;

		/* Claimed by deleting it: another process may be first. */
		if ((ex = sre_fix_pending_update(f, inc, jv_invalid(),
		    &mine)) == EX_OK && mine)
			ex = is_true(p, "observe") ? sre_fix_escalate(f, inc,
			    now) : sre_fix_unverified(f, inc, p, now);
		jv_free(p);
		jv_free(k);
	}
	jv_free(due);
	return ex;
}

/* ---- reverting ----------------------------------------------------- */

/* A revert in the making. */
struct rev {
	const char *inc;
	const char *commit;		/* the fix's commit */
	const char *branch;		/* the fix's branch */
	const char *pr_url;		/* the fix's pull request */
	const char *target;		/* the commit reverted */
	int merged, pushed;
	long pr;			/* the fix's pull request number */
	char start[64];			/* where the revert commit goes */
	char rbranch[300];		/* and its branch */
	char wt[PATH_MAX + 128];
	char newc[64];			/* the revert commit */
	char rpr_url[512];		/* the revert's pull request */
	char *msg;
	char err[ERR_MAX];
};

/*
 * Where the revert goes: the base if the fix was merged (on a branch
 * <branch>-revert), else the fix's own branch (its pull request then
 * nets to nothing).  What it undoes: the fix's commit, or GitHub's merge
 * commit when the base does not hold the fix's own.
 */
static int
revert_where(struct sre_fix *f, struct rev *r, jv p)
{
	const char *sha = sre_jv_str(p, "merge_sha");
	int rc;

	if (r->merged) {
		if (sre_fixrepo_base_commit(&f->repo, r->start,
		    sizeof(r->start), r->err, sizeof(r->err)) < 0)
			return -1;
		snprintf(r->rbranch, sizeof(r->rbranch), "%s-revert",
		    r->branch);
	} else {
		if (r->pushed) {
			if ((rc = sre_fixrepo_fetch(&f->repo, r->branch,
			    r->start, sizeof(r->start), r->err,
			    sizeof(r->err))) != 1) {
				if (rc == 0)
					snprintf(r->err, sizeof(r->err),
					    "branch %s is gone", r->branch);
				return -1;
			}
		} else if (!sre_fixrepo_local(&f->repo, r->branch, r->start,
		    sizeof(r->start))) {
			snprintf(r->err, sizeof(r->err), "branch %s is gone",
			    r->branch);
			return -1;
		}
		snprintf(r->rbranch, sizeof(r->rbranch), "%s", r->branch);
	}
	r->target = r->commit;
	if (r->merged && sha != NULL && *sha != '\0') {
		const char *anc[] = { "merge-base", "--is-ancestor", r->commit,
		    r->start, NULL };

		/* GitHub merged with a merge commit we may not have. */
		if (sre_fixrepo_git(&f->repo, f->repo.root, anc, NULL, 0, r->err,
		    sizeof(r->err)) != 0)
			r->target = sha;
	}
	return 0;
}

/* The revert commit, in a worktree on r->start: r->newc and r->msg. */
static int
revert_commit(struct sre_fix *f, struct rev *r)
{
	const char *rv[] = { "revert", "--no-commit", r->target, NULL };
	const char *rvm[] = { "revert", "--no-commit", "-m", "1", r->target,
	    NULL };
	const char *cv[] = { "commit", "--quiet", "--no-verify",
	    "--cleanup=verbatim", "-F", "-", NULL };
	const char *hv[] = { "rev-parse", "HEAD", NULL };

	if (sre_fixrepo_wt_add(&f->repo, r->wt, r->start, r->err,
	    sizeof(r->err)) < 0 || sre_fixrepo_git(&f->repo, r->wt,
	    r->target == r->commit ? rv : rvm, NULL, 0, r->err,
	    sizeof(r->err)) != 0)
		return -1;
	if ((r->msg = sre_commitmsg_revert(r->inc, f->window_ms,
	    r->target)) == NULL) {
		snprintf(r->err, sizeof(r->err), "out of memory");
		return -1;
	}
	return sre_fixrepo_git(&f->repo, r->wt, cv, r->msg, strlen(r->msg),
	    r->err, sizeof(r->err)) != 0 || sre_fixrepo_line(&f->repo, r->wt,
	    hv, r->newc, sizeof(r->newc), r->err, sizeof(r->err)) != 0 ? -1 :
	    0;
}

/* Push the revert (and, merged without GitHub, onto the base); keep its
 * branch here too. */
static int
revert_push(struct sre_fix *f, struct rev *r)
{
	const char *bv[] = { "branch", "--force", r->rbranch, r->newc, NULL };

	if (f->repo.has_remote && r->pushed) {
		if (sre_fixrepo_push(&f->repo, r->newc, r->rbranch, r->err,
		    sizeof(r->err)) < 0)
			return -1;
		if (r->merged && !f->use_github && sre_fixrepo_push(&f->repo,
		    r->newc, f->repo.base, r->err, sizeof(r->err)) < 0)
			return -1;
	}
	if (sre_fixrepo_git(&f->repo, f->repo.root, bv, NULL, 0, r->err,
	    sizeof(r->err)) != 0)
		sre_fix_say(f, SRE_FIX_WARN, "%s: %s", r->inc, r->err);
	return 0;
}

/* On GitHub: a revert pull request for a merged fix, else the fix's own
 * pull request commented on and closed.  Failures are only said. */
static void
revert_github(struct sre_fix *f, struct rev *r, const char *detail)
{
	char title[300], err[ERR_MAX];
	double n = 0;
	jv pr;

	if (!r->merged) {
		if (r->pr > 0 && (sre_github_comment(&f->gh, r->pr, detail, err,
		    sizeof(err)) < 0 || sre_github_close(&f->gh, 'p', r->pr,
		    err, sizeof(err)) < 0))
			sre_fix_say(f, SRE_FIX_WARN, "%s: closing #%ld: %s",
			    r->inc, r->pr, err);
		return;
	}
	snprintf(title, sizeof(title), "[sre] revert the fix for incident %s",
	    r->inc);
	if (sre_github_pr_open(&f->gh, title, r->rbranch, f->repo.base,
	    r->msg, &pr, err, sizeof(err)) < 0) {
		sre_fix_say(f, SRE_FIX_WARN, "%s: revert pull request: %s",
		    r->inc, err);
		jv_free(pr);
		return;
	}
	snprintf(r->rpr_url, sizeof(r->rpr_url), "%s",
	    sre_jv_str(pr, "html_url") ? sre_jv_str(pr, "html_url") : "");
	r->pr_url = NULL;
	sre_jv_num(pr, "number", &n);
	if (f->auto_merge && n > 0 && sre_github_merge(&f->gh, (long)n, NULL,
	    0, err, sizeof(err)) < 0)
		sre_fix_say(f, SRE_FIX_WARN, "%s: %s", r->inc, err);
	jv_free(pr);
}

int
sre_fix_revert(struct sre_fix *f, const char *inc, jv p, int64_t now_ms)
{
	return sre_fix_revert_why(f, inc, p, now_ms, NULL, 0);
}

int
sre_fix_revert_why(struct sre_fix *f, const char *inc, jv p, int64_t now_ms,
    const char *why, int next)
{
	struct rev r;
	char detail[2048], w[32];
	double prn = 0;
	jv ev;

	memset(&r, 0, sizeof(r));
	r.inc = inc;
	r.commit = sre_jv_str(p, "commit");
	r.branch = sre_jv_str(p, "branch");
	r.pr_url = sre_jv_str(p, "pr_url");
	r.merged = is_true(p, "merged");
	r.pushed = is_true(p, "pushed");
	if (sre_jv_num(p, "pr", &prn) == 0)
		r.pr = (long)prn;
	/* the window this fix had (fitted), else the bound */
	if (sre_jv_num(p, "window_ms", &prn) < 0 || prn <= 0)
		prn = (double)f->window_ms;
	sre_duration_fmt((int64_t)prn, w, sizeof(w));
	snprintf(r.wt, sizeof(r.wt), "%s/%s.revert", f->repo.wtdir, inc);
	if (r.commit == NULL || r.branch == NULL) {
		snprintf(r.err, sizeof(r.err), "no record of the fix");
		goto failed;
	}
	if (revert_where(f, &r, p) < 0 || revert_commit(f, &r) < 0 ||
	    revert_push(f, &r) < 0)
		goto failed;
	sre_fixrepo_wt_remove(&f->repo, r.wt);
	if (why != NULL)
		snprintf(detail, sizeof(detail), "%s: reverted %.12s", why,
		    r.target);
	else
		snprintf(detail, sizeof(detail), "no recovery within %s of the "
		    "fix: reverted %.12s; %s", w, r.target, next ? "the loop "
		    "tries the next remedy" : "a human takes over");
	if (f->use_github && r.pushed)
		revert_github(f, &r, detail);
	ev = sre_fix_action(f, inc, now_ms, "reverted", r.rbranch, r.newc,
	    r.rpr_url[0] ? r.rpr_url : r.pr_url, detail);
	ev = jv_object_set(ev, jv_string("reverted"), jv_string(r.target));
	/* the loop goes on (sre-escalate waits): the next remedy in rank
	 * or a revision's */
	if (next)
		ev = jv_object_set(ev, jv_string("next"), jv_true());
	free(r.msg);
	return sre_fix_record(f, ev, NULL, inc, 1);

failed:
	sre_fixrepo_wt_remove(&f->repo, r.wt);
	free(r.msg);
	snprintf(detail, sizeof(detail), "no recovery within %s of the fix, "
	    "and reverting it failed: %s", w, r.err);
	sre_fix_say(f, SRE_FIX_WARN, "%s: %s", inc, detail);
	ev = sre_fix_action(f, inc, now_ms, "failed", r.branch, r.commit,
	    r.pr_url, detail);
	return sre_fix_record(f, ev, NULL, inc, 0);
}
