/*
 * sre-fix: carry out approved verdicts through GitOps.
 *
 * Reads events and passes every one on.  For each `verdict` that
 * approves, it makes the remediation catalog's change in a git worktree
 * of its own (one per incident, under the state directory), commits it
 * with the incident, root cause and evidence in the message and an
 * "SRE-Incident: <id>" trailer, pushes branch sre/<incident> to the
 * remote and, with GITHUB_PERSONAL_ACCESS_TOKEN and a GitHub repository,
 * opens an issue and a pull request (merged with --auto-merge).  It then
 * writes an `action` event.  A second approval for an incident finds the
 * branch (or pull request) and does nothing; a failure at any step undoes
 * the steps before it, so no branch or pull request is left half made.
 *
 * Closed loop: a fix not followed by a `recovery` of its incident within
 * --verify-window (event time) is reverted (a revert commit, or a revert
 * pull request) and reported as `reverted`, for a human to take over.
 *
 * Trust (mac.h): sre-fix acts only on an approving verdict signed by
 * sre-guard that follows a diagnosis signed by sre-brain or sre-cag (same
 * id as the verdict's "diagnosis", same incident, an equal proposal; kept
 * in the store, so across a restart too) and whose confidence, and the
 * diagnosis', is a number from 0 to 1.  Any other
 * verdict, and an unsigned diagnosis, is reported as a rejected line, passed
 * on and not acted on.  Its own actions are signed.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bsd/string.h>

#include "catalog.h"
#include "evtime.h"
#include "github.h"
#include "gitops.h"
#include "http.h"
#include "mac.h"
#include "policy.h"
#include "sre.h"
#include "store.h"

#define KEY_MAX		256
#define ERR_MAX		1024
#define MAX_ANOMALIES	1000
#define MAX_DIAGNOSES	1000

static struct {
	struct sre_common c;
	const char *repo_arg;
	const char *remote_arg;
	const char *base_arg;
	const char *github_arg;
	const char *labels_arg;
	const char *author;
	const char *policy_arg;
	struct sre_policy *policy;	/* the catalog's limits per service */
	struct sre_gitops_layout layout;
	int64_t window_ms;
	int auto_merge, dry_run, no_push;
	/* derived */
	char root[PATH_MAX];		/* the repository (or our clone) */
	char display[1024];		/* --repo, credentials removed */
	char remote[64];
	char base[256];
	int has_remote;
	int lockfd;			/* see run_git */
	char lockpath[PATH_MAX + 64];
	char statedir[PATH_MAX];	/* the state directory, absolute */
	char wtdir[PATH_MAX];		/* <state>/worktrees */
	char ident[4][320];		/* GIT_AUTHOR_NAME=... */
	const char *identv[5];
	struct sre_github gh;
	int use_github;
	jv labels;
	struct sre_store *st;
	jv pending;			/* incident -> what to verify */
	jv anomalies;			/* incident -> last anomaly seen */
	jv diagnoses;			/* id -> verified diagnosis's gist */
	struct sre_mac_key key;
	struct sre_evclock clock;
	unsigned long long actions;
} opt;

enum {
	OPT_AUTHOR = 0x100, OPT_AUTO_MERGE, OPT_BASE, OPT_CONFIG_PATH,
	OPT_DEPLOYMENT_PATH, OPT_GITHUB, OPT_LABELS, OPT_NO_PUSH, OPT_REMOTE,
	OPT_VERIFY_WINDOW
};

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: sre-fix [-hnqVv] [--author 'NAME <EMAIL>'] [--auto-merge] "
	    "[--base BRANCH]\n"
	    "               [--config-path TEMPLATE] [--deployment-path "
	    "TEMPLATE]\n"
	    "               [--github OWNER/REPO] [-i URL] [--labels LIST] "
	    "[--max-line N]\n"
	    "               [--no-push] [-o URL] [-p FILE] [-r PATH | URL] "
	    "[--remote NAME]\n"
	    "               [--state-dir DIR] [--verify-window DURATION]\n"
	    "  -r, --repo PATH|URL      the GitOps repository (default "
	    "$SRE_GITOPS_REPO, else .)\n"
	    "      --remote NAME        the remote to push to (default "
	    "origin)\n"
	    "      --base BRANCH        the branch fixes start from (default: "
	    "the remote's HEAD)\n"
	    "      --github OWNER/REPO  the GitHub repository (default "
	    "$GITHUB_REPOSITORY,\n"
	    "                           else the remote's URL)\n"
	    "      --labels LIST        labels of issues and pull requests "
	    "(sre-space,incident)\n"
	    "      --auto-merge         merge fixes into the base branch\n"
	    "  -p, --policy FILE        the config keys and replica bounds "
	    "allowed, sre-policy(5)\n"
	    "                           (default $SRE_POLICY, else built in)\n"
	    "      --verify-window D    revert a fix not followed by recovery "
	    "within D (10m; 0: never)\n"
	    "  -n, --dry-run            only show the diff of each fix\n"
	    "      --no-push            commit on the local branch only\n"
	    "      --author 'NAME <EMAIL>'  who commits (default SRE-Space "
	    "<sre-fix@localhost>)\n"
	    "      --deployment-path T / --config-path T   the layout's path "
	    "templates\n"
	    "  -i, --in URL / -o, --out URL / --state-dir DIR / --max-line N\n"
	    "  -q, --quiet / -v, --verbose / -h, --help / -V, --version\n");
}

/* ---- small helpers ------------------------------------------------- */

/* Remove the GitHub token from text we are about to show. */
static void
scrub(char *s)
{
	const char *tok = opt.gh.token;
	size_t n;
	char *p;

	if (tok == NULL || (n = strlen(tok)) < 4)
		return;
	while ((p = strstr(s, tok)) != NULL) {
		memset(p, '*', 3);
		memmove(p + 3, p + n, strlen(p + n) + 1);
	}
}

/* One line of text from an event: control characters become spaces, so
 * no text can add lines (a forged trailer) to a commit message. */
static void
oneline(char *out, size_t outlen, const char *s)
{
	size_t i;

	snprintf(out, outlen, "%s", s ? s : "");
	for (i = 0; out[i] != '\0'; i++)
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			out[i] = ' ';
}

/*
 * Text from events is untrusted: in a pull request or issue body GitHub
 * would turn "@team" into a page to a team, "Fixes #42" into a closed
 * issue, "![x](https://...)" into a request to someone's server.  In
 * Markdown (md 1) such text goes out as a code span, where GitHub makes
 * none of these, fenced with more backticks than it holds; in commit
 * messages and titles (md 0) a "#" or "GH-" before a digit gets a space,
 * so no closing keyword or reference can act.  Control characters become
 * spaces either way (oneline).
 */
static void
untrusted(char *out, size_t outlen, const char *s, int md)
{
	char one[1024];
	size_t i, o, n, run = 0, most = 0;

	oneline(one, sizeof(one), s);
	if (md) {
		for (i = 0; one[i] != '\0'; i++) {
			run = one[i] == '`' ? run + 1 : 0;
			if (run > most)
				most = run;
		}
		n = i;
		/* fence, space, text, space, fence, NUL */
		if (n == 0 || outlen < 2 * (most + 1) + 3 + 1) {
			snprintf(out, outlen, "%s", "");
			return;
		}
		if (n > outlen - 2 * (most + 1) - 3)
			n = outlen - 2 * (most + 1) - 3;
		o = 0;
		for (i = 0; i <= most; i++)
			out[o++] = '`';
		out[o++] = ' ';
		memcpy(out + o, one, n);
		o += n;
		out[o++] = ' ';
		for (i = 0; i <= most; i++)
			out[o++] = '`';
		out[o] = '\0';
		return;
	}
	for (i = 0, o = 0; one[i] != '\0' && o + 2 < outlen; i++) {
		out[o++] = one[i];
		if ((one[i] == '#' || (one[i] == '-' && i >= 2 &&
		    strncasecmp(one + i - 2, "GH", 2) == 0)) &&
		    isdigit((unsigned char)one[i + 1]))
			out[o++] = ' ';
	}
	out[o] = '\0';
}

/*
 * git's worktree bookkeeping is not safe against a concurrent "worktree
 * add": fetch, branch and worktree commands read every worktree's files.
 * So git commands on the repository itself (not inside a worktree) hold
 * an flock on <git-common-dir>/sre-fix.lock, shared by every sre-fix on
 * that repository.
 */
static int
run_git(const char *dir, const char *const *args, const char *in,
    size_t inlen, char *err, size_t errlen)
{
	struct sre_subproc_result r;
	int locked;

	/* Made when first needed: a fix refused early touches nothing. */
	if (dir == opt.root && opt.lockfd < 0 && opt.lockpath[0] != '\0' &&
	    (opt.lockfd = open(opt.lockpath, O_RDWR | O_CREAT | O_CLOEXEC,
	    0644)) < 0) {
		sre_info("%s: %s: concurrent sre-fix processes may collide",
		    opt.lockpath, strerror(errno));
		opt.lockpath[0] = '\0';
	}
	locked = dir == opt.root && opt.lockfd >= 0 &&
	    flock(opt.lockfd, LOCK_EX) == 0;
	int rc = sre_git(dir, args, opt.identv, in, inlen, &r, err, errlen);

	if (locked)
		flock(opt.lockfd, LOCK_UN);
	sre_subproc_result_free(&r);
	if (rc != 0)
		scrub(err);
	return rc;
}

static int
git_line(const char *dir, const char *const *args, char *out, size_t outlen,
    char *err, size_t errlen)
{
	int rc = sre_git_line(dir, args, out, outlen, err, errlen);

	if (rc != 0)
		scrub(err);
	return rc;
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb;
	(void)f;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static void
rmtree(const char *path)
{
	nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Non-zero when member k of o is true.  Borrows o. */
static int
is_true(jv o, const char *k)
{
	jv v = jv_object_get(jv_copy(o), jv_string(k));
	int t = jv_get_kind(v) == JV_KIND_TRUE;

	jv_free(v);
	return t;
}

/* ---- the store ----------------------------------------------------- */

struct kvop {
	const char *key[4];
	const char *val[4];		/* NULL: delete */
	int n;
};

static int
kv_apply(struct sre_txn *t, void *ctx)
{
	const struct kvop *op = ctx;
	int i;

	for (i = 0; i < op->n; i++) {
		if (op->val[i] != NULL) {
			if (sre_txn_kv_put(t, op->key[i], op->val[i]) < 0)
				return -1;
		} else if (sre_txn_kv_del(t, op->key[i]) < 0)
			return -1;
	}
	return 0;
}

static int
kv_write(struct kvop *op)
{
	char err[ERR_MAX];
	int ex;

	if ((ex = sre_store_write(opt.st, kv_apply, op, err, sizeof(err))) !=
	    EX_OK)
		sre_warnx("%s", err);
	return ex;
}

/* The text under key (malloc'd) or NULL. */
static char *
kv_get(const char *key)
{
	struct sre_txn *t;
	const char *v;
	char err[ERR_MAX], *out = NULL;

	if (sre_store_read(opt.st, &t, err, sizeof(err)) != EX_OK) {
		sre_warnx("%s", err);
		return NULL;
	}
	if (sre_txn_kv_get(t, key, &v, NULL) == 1)
		out = strdup(v);
	sre_txn_end(t);
	return out;
}

/*
 * What is being verified lives in one store value, "fix:pending", that
 * several sre-fix processes may share: every change is merged into it
 * inside one write transaction, and a due entry is claimed (deleted) by
 * exactly one of them.
 */
struct pend_op {
	const char *inc;
	jv rec;			/* the entry to set; invalid: delete */
	int had;		/* the entry was there */
	jv all;			/* the merged value, after the write */
};

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

static int
pend_fn(struct sre_txn *t, void *ctx)
{
	struct pend_op *op = ctx;
	const char *v = NULL;
	jv all, had;
	size_t len;
	char *text;
	int r;

	if ((r = sre_txn_kv_get(t, "fix:pending", &v, NULL)) < 0)
		return -1;
	all = pending_parse(r == 1 ? v : NULL);
	had = jv_object_get(jv_copy(all), jv_string(op->inc));
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
	r = sre_txn_kv_put(t, "fix:pending", text);
	free(text);
	/* The callback may run again: keep only the last result. */
	jv_free(op->all);
	op->all = all;
	return r < 0 ? -1 : 0;
}

/* Set (rec, consumed) or delete (jv_invalid()) inc's entry; *had says
 * whether it was there (may be NULL).  Returns a sysexits code. */
static int
pending_update(const char *inc, jv rec, int *had)
{
	struct pend_op op = { inc, rec, 0, jv_invalid() };
	char err[ERR_MAX];
	int ex;

	ex = sre_store_write(opt.st, pend_fn, &op, err, sizeof(err));
	jv_free(rec);
	if (ex != EX_OK) {
		sre_warnx("%s", err);
		jv_free(op.all);
		return ex;
	}
	if (had != NULL)
		*had = op.had;
	if (jv_is_valid(op.all)) {
		jv_free(opt.pending);
		opt.pending = op.all;
	}
	return EX_OK;
}

/* Take in what other processes added. */
static void
pending_load(void)
{
	char *p = kv_get("fix:pending");

	jv_free(opt.pending);
	opt.pending = pending_parse(p);
	free(p);
}

/* ---- events -------------------------------------------------------- */

static jv
action_new(const char *inc, int64_t ts, const char *status,
    const char *branch, const char *commit, const char *pr_url,
    const char *detail)
{
	jv ev = sre_event_new("action", inc);
	char d[4096];

	snprintf(d, sizeof(d), "%s", detail ? detail : "");
	scrub(d);
	ev = jv_object_set(ev, jv_string("ts_ms"), jv_number((double)ts));
	ev = jv_object_set(ev, jv_string("status"), jv_string(status));
	ev = jv_object_set(ev, jv_string("repo"), jv_string(opt.display));
	ev = jv_object_set(ev, jv_string("branch"), branch ?
	    jv_string(branch) : jv_null());
	ev = jv_object_set(ev, jv_string("commit"), commit && *commit ?
	    jv_string(commit) : jv_null());
	ev = jv_object_set(ev, jv_string("pr_url"), pr_url && *pr_url ?
	    jv_string(pr_url) : jv_null());
	ev = jv_object_set(ev, jv_string("detail"), jv_string(d));
	return ev;
}

/* Emit ev (consumed); remember it under the verdict's id, and as the
 * incident's outcome when done is set. */
static int
emit(struct sre_stream *s, jv ev, const char *verdict_id, const char *inc,
    int done)
{
	char vkey[KEY_MAX], dkey[KEY_MAX];
	struct kvop op = { { NULL }, { NULL }, 0 };
	char *line;
	size_t len;
	int ex = EX_OK;

	ev = sre_mac_sign(&opt.key, ev);
	if (!jv_is_valid(ev) || (line = sre_jv_dump(ev, &len)) == NULL)
		return EX_OSERR;
	if (verdict_id != NULL) {
		sre_store_key(vkey, sizeof(vkey), SRE_STORE_FIX_VERDICT,
		    verdict_id);
		op.key[op.n] = vkey;
		op.val[op.n++] = line;
	}
	if (done) {
		sre_store_key(dkey, sizeof(dkey), "fix:done:", inc);
		op.key[op.n] = dkey;
		op.val[op.n++] = line;
	}
	if (op.n > 0)
		ex = kv_write(&op);
	if (ex == EX_OK) {
		sre_stream_emit(s, line, len);
		opt.actions++;
	}
	free(line);
	return ex;
}

/* ---- the commit message and the pull request body ------------------ */

struct doc {
	char *p;
	size_t len, cap;
};

static void doc_add(struct doc *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
doc_add(struct doc *d, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(d->p ? d->p + d->len : NULL,
		    d->p ? d->cap - d->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if (d->p != NULL && d->len + (size_t)n < d->cap) {
			d->len += (size_t)n;
			return;
		}
		{
			size_t nc = d->cap ? d->cap * 2 : 4096;
			char *np;

			while (nc < d->len + (size_t)n + 1)
				nc *= 2;
			if ((np = realloc(d->p, nc)) == NULL)
				return;
			d->p = np;
			d->cap = nc;
		}
	}
}

/* The story of the fix: commit message (md 0) or Markdown (md 1). */
static char *
story(jv v, const struct sre_gitops_edit *e, int md, long issue)
{
	const char *inc = sre_jv_str(v, "incident");
	struct doc d = { NULL, 0, 0 };
	char a[512], b[512], c[512], num[64];
	jv rc = jv_object_get(jv_copy(v), jv_string("root_causes"));
	jv an = jv_object_get(jv_copy(opt.anomalies), jv_string(inc));
	jv prop = jv_object_get(jv_copy(v), jv_string("proposal"));
	jv x;
	double conf, sc;
	size_t dlen;
	char *pj;
	int i, n;

	untrusted(a, sizeof(a), e->summary, 0);
	if (md)
		doc_add(&d, "## SRE-Space: %s\n\n", a);
	else
		doc_add(&d, "sre-fix: %.60s%s\n\n", a, strlen(a) > 60 ? "..." :
		    "");
	untrusted(a, sizeof(a), inc, md);
	doc_add(&d, md ? "**Incident:** %s  \n" : "Incident: %s\n", a);
	n = jv_get_kind(rc) == JV_KIND_ARRAY ? jv_array_length(jv_copy(rc)) :
	    0;
	for (i = 0; i < n && i < 3; i++) {
		jv r = jv_array_get(jv_copy(rc), i);

		untrusted(a, sizeof(a), sre_jv_str(r, "service"), md);
		untrusted(b, sizeof(b), sre_jv_str(r, "operation"), md);
		untrusted(c, sizeof(c), sre_jv_str(r, "reason"), md);
		num[0] = '\0';
		if (sre_jv_num(r, "score", &sc) == 0)
			snprintf(num, sizeof(num), " (score %.2f)", sc);
		doc_add(&d, md ? "**Root cause%s:** %s%s%s%s: %s  \n" :
		    "Root cause%s: %s%s%s%s: %s\n", i ? " (also)" : "", a,
		    *b ? " " : "", b, num, c);
		jv_free(r);
	}
	if (sre_jv_num(v, "confidence", &conf) == 0)
		doc_add(&d, md ? "**Confidence:** %.2f  \n" :
		    "Confidence: %.2f\n", conf);
	untrusted(a, sizeof(a), sre_jv_str(v, "summary"), md);
	if (*a)
		doc_add(&d, md ? "**Summary:** %s  \n" : "Summary: %s\n", a);
	if ((pj = sre_jv_dump(jv_copy(prop), &dlen)) != NULL) {
		char *q = pj;

		/* A patch's diff is in the change itself; keep it short. */
		if (strlen(q) > 300)
			q[300] = '\0';
		untrusted(b, sizeof(b), q, md);
		doc_add(&d, md ? "**Proposal:** %s  \n" : "Proposal: %s\n",
		    b);
		free(pj);
	}
	doc_add(&d, md ? "\n### Evidence\n\n" : "\nEvidence:\n");
	untrusted(a, sizeof(a), sre_jv_str(v, "diagnosis"), md);
	untrusted(b, sizeof(b), sre_jv_str(v, "id"), md);
	doc_add(&d, "- diagnosis %s, approved by verdict %s", *a ? a : "?",
	    *b ? b : "?");
	x = jv_object_get(jv_copy(v), jv_string("rules"));
	if (jv_get_kind(x) == JV_KIND_INVALID)
		jv_free(x);
	else if ((pj = sre_jv_dump(x, &dlen)) != NULL) {
		oneline(c, sizeof(c), pj);
		doc_add(&d, " (rules %s)", c);
		free(pj);
	}
	doc_add(&d, "\n");
	untrusted(a, sizeof(a), sre_jv_str(v, "fingerprint"), md);
	if (*a)
		doc_add(&d, "- fingerprint %s\n", a);
	if (jv_get_kind(an) == JV_KIND_OBJECT) {
		double o = 0, bl = 0;

		untrusted(a, sizeof(a), sre_jv_str(an, "service"), md);
		untrusted(b, sizeof(b), sre_jv_str(an, "signal"), md);
		sre_jv_num(an, "observed", &o);
		sre_jv_num(an, "baseline", &bl);
		doc_add(&d, "- anomaly on %s: %s observed %g against a baseline "
		    "of %g\n", a, b, o, bl);
		x = jv_object_get(jv_copy(an), jv_string("evidence"));
		if (jv_get_kind(x) == JV_KIND_OBJECT &&
		    (pj = sre_jv_dump(jv_copy(x), &dlen)) != NULL) {
			if (strlen(pj) > 400)
				pj[400] = '\0';
			untrusted(c, sizeof(c), pj, md);
			doc_add(&d, "- evidence: %s\n", c);
			free(pj);
		}
		jv_free(x);
	}
	untrusted(a, sizeof(a), e->files, md);
	doc_add(&d, "- files: %s\n", a);
	if (e->reverted[0])
		doc_add(&d, "- reverts commit %s\n", e->reverted);
	if (md && issue > 0)
		doc_add(&d, "\nCloses #%ld\n", issue);
	/* An incident id can name a branch (sre_gitops_ref_ok): as is. */
	doc_add(&d, "\nSRE-Incident: %s\n", inc);
	jv_free(rc);
	jv_free(an);
	jv_free(prop);
	return d.p;
}

/* ---- worktrees ----------------------------------------------------- */

static void
wt_remove(const char *wt)
{
	const char *rm[] = { "worktree", "remove", "--force", "--force", wt,
	    NULL };
	const char *prune[] = { "worktree", "prune", NULL };
	char err[ERR_MAX];
	struct stat sb;

	if (stat(wt, &sb) == 0 &&
	    run_git(opt.root, rm, NULL, 0, err, sizeof(err)) != 0) {
		rmtree(wt);
		run_git(opt.root, prune, NULL, 0, err, sizeof(err));
	}
}

static int
wt_add(const char *wt, const char *commit, char *err, size_t errlen)
{
	/* --force: a worktree of ours left registered by a crash is
	 * taken over (no "git worktree prune", which could race with
	 * another sre-fix adding its own). */
	const char *add[] = { "worktree", "add", "--quiet", "--force",
	    "--detach", wt, commit, NULL };

	wt_remove(wt);		/* left over by a crash */
	return run_git(opt.root, add, NULL, 0, err, errlen) == 0 ? 0 : -1;
}

/* ---- refs ---------------------------------------------------------- */

/* Fetch branch from the remote and put its commit in out: 1 found, 0 the
 * remote has no such branch, -1 error. */
static int
fetch_branch(const char *branch, char *out, size_t outlen, char *err,
    size_t errlen)
{
	char spec[600], ref[400], track[400];
	const char *ls[] = { "ls-remote", "--heads", opt.remote, ref, NULL };
	const char *fetch[] = { "fetch", "--quiet", "--no-tags", opt.remote,
	    spec, NULL };
	const char *rev[] = { "rev-parse", "--verify", "--quiet", track,
	    NULL };
	char line[512];
	int tries;

	snprintf(ref, sizeof(ref), "refs/heads/%s", branch);
	if (git_line(opt.root, ls, line, sizeof(line), err, errlen) != 0)
		return -1;
	if (line[0] == '\0')
		return 0;
	snprintf(track, sizeof(track), "refs/remotes/%s/%s", opt.remote,
	    branch);
	snprintf(spec, sizeof(spec), "+refs/heads/%s:%s", branch, track);
	/* Another sre-fix fetching the same ref holds its lock a moment. */
	for (tries = 0; run_git(opt.root, fetch, NULL, 0, err, errlen) != 0;
	    tries++) {
		if (tries == 5 || strstr(err, "lock") == NULL)
			return -1;
		usleep(100000 * (tries + 1));
	}
	return git_line(opt.root, rev, out, outlen, err, errlen) == 0 ? 1 : -1;
}

static int
local_branch(const char *branch, char *out, size_t outlen)
{
	char ref[400], err[ERR_MAX];
	const char *rev[] = { "rev-parse", "--verify", "--quiet", ref, NULL };

	snprintf(ref, sizeof(ref), "refs/heads/%s", branch);
	return git_line(opt.root, rev, out, outlen, err, sizeof(err)) == 0 &&
	    out[0] != '\0';
}

static int
base_commit(char *out, size_t outlen, char *err, size_t errlen)
{
	int rc;

	if (opt.has_remote) {
		if ((rc = fetch_branch(opt.base, out, outlen, err, errlen)) == 0)
			snprintf(err, errlen, "the remote has no branch %s",
			    opt.base);
		return rc == 1 ? 0 : -1;
	}
	if (!local_branch(opt.base, out, outlen)) {
		snprintf(err, errlen, "no branch %s", opt.base);
		return -1;
	}
	return 0;
}

static void
push_delete(const char *branch)
{
	char ref[400], err[ERR_MAX];
	const char *del[] = { "push", "--quiet", opt.remote, ref, NULL };

	snprintf(ref, sizeof(ref), ":refs/heads/%s", branch);
	if (run_git(opt.root, del, NULL, 0, err, sizeof(err)) != 0)
		sre_warnx("cleaning up %s on %s: %s", branch, opt.remote, err);
}

static int
push(const char *commit, const char *branch, char *err, size_t errlen)
{
	char spec[600];
	const char *pv[] = { "push", "--quiet", "--porcelain", opt.remote,
	    spec, NULL };

	snprintf(spec, sizeof(spec), "%s:refs/heads/%s", commit, branch);
	return run_git(opt.root, pv, NULL, 0, err, errlen) == 0 ? 0 : -1;
}

/* ---- acting on a verdict ------------------------------------------- */

struct made {
	char branch[256];
	char commit[64];
	char pr_url[512];
	char issue_url[512];
	long pr, issue;
	int pushed, merged, local;
	char merge_sha[64];
};

/* Undo what was made, newest first. */
static void
undo(const struct made *m)
{
	char err[ERR_MAX];

	if (m->pr > 0 && sre_github_close(&opt.gh, 'p', m->pr, err,
	    sizeof(err)) < 0)
		sre_warnx("closing pull request #%ld: %s", m->pr, err);
	if (m->issue > 0 && sre_github_close(&opt.gh, 'i', m->issue, err,
	    sizeof(err)) < 0)
		sre_warnx("closing issue #%ld: %s", m->issue, err);
	if (m->pushed)
		push_delete(m->branch);
	if (m->local) {
		const char *del[] = { "branch", "-D", m->branch, NULL };

		run_git(opt.root, del, NULL, 0, err, sizeof(err));
	}
}

static int
github_open(jv v, const struct sre_gitops_edit *e, struct made *m,
    char *err, size_t errlen)
{
	char title[300], sum[256];
	const char *inc = sre_jv_str(v, "incident");
	char *body;
	jv issue, pr;
	int rc;

	char incs[256];

	untrusted(sum, sizeof(sum), e->summary, 0);
	untrusted(incs, sizeof(incs), inc, 0);
	/* sum and incs are short enough: at most 254 + 254 + 20 bytes. */
	if (snprintf(title, sizeof(title), "[sre] %.200s (incident %.64s)",
	    sum, incs) < 0)
		title[0] = '\0';
	if ((body = story(v, e, 1, 0)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	rc = sre_github_issue_open(&opt.gh, title, body, opt.labels, &issue,
	    err, errlen);
	free(body);
	if (rc < 0)
		return -1;
	{
		double num = 0;

		sre_jv_num(issue, "number", &num);
		m->issue = (long)num;
		snprintf(m->issue_url, sizeof(m->issue_url), "%s",
		    sre_jv_str(issue, "html_url") ?
		    sre_jv_str(issue, "html_url") : "");
	}
	jv_free(issue);
	if ((body = story(v, e, 1, m->issue)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	rc = sre_github_pr_open(&opt.gh, title, m->branch, opt.base, body, &pr,
	    err, errlen);
	free(body);
	if (rc < 0)
		return -1;
	{
		double num = 0;

		sre_jv_num(pr, "number", &num);
		m->pr = (long)num;
		snprintf(m->pr_url, sizeof(m->pr_url), "%s",
		    sre_jv_str(pr, "html_url") ? sre_jv_str(pr, "html_url") :
		    "");
	}
	jv_free(pr);
	if (m->pr <= 0) {
		snprintf(err, errlen, "GitHub gave no pull request number");
		return -1;
	}
	if (sre_github_labels_add(&opt.gh, m->pr, opt.labels, err,
	    errlen) < 0)
		sre_warnx("labelling pull request #%ld: %s", m->pr, err);
	return 0;
}

static int
pending_add(const char *inc, const struct made *m, int64_t deadline,
    int observe, jv proposal)
{
	jv p = jv_object();

	p = jv_object_set(p, jv_string("deadline_ms"),
	    jv_number((double)deadline));
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
	p = jv_object_set(p, jv_string("proposal"), jv_copy(proposal));
	return pending_update(inc, p, NULL);
}

static int
act(struct sre_stream *s, jv v)
{
	const char *inc = sre_jv_str(v, "incident");
	const char *vid = sre_jv_str(v, "id");
	char err[ERR_MAX], detail[2048], base[64], wt[PATH_MAX + 128];
	char *stored, *msg = NULL, key[KEY_MAX], w[32];
	struct sre_gitops_edit e;
	struct made m;
	int64_t ts;
	jv prop, dr, ev;
	const char *action, *status;
	int dry, rc, ex;

	memset(&m, 0, sizeof(m));
	/* The stamps a fix writes (restartedAt) never run ahead of the
	 * event clock, whatever time the verdict claims. */
	if (sre_jv_int(v, "ts_ms", &ts) < 0)
		ts = sre_evclock_now(&opt.clock);
	ts = sre_evclock_clamp(&opt.clock, ts);
	prop = jv_object_get(jv_copy(v), jv_string("proposal"));
	dr = jv_object_get(jv_copy(v), jv_string("dry_run"));
	dry = opt.dry_run || jv_get_kind(dr) == JV_KIND_TRUE;
	jv_free(dr);
	if (!sre_gitops_ref_ok(inc)) {
		ev = action_new(inc, ts, "failed", NULL, NULL, NULL, "the "
		    "incident id cannot name a branch");
		jv_free(prop);
		return emit(s, ev, vid, inc, 0);
	}
	snprintf(m.branch, sizeof(m.branch), "sre/%s", inc);
	/* The catalog, whoever approved it: forms, the policy's allowlist
	 * and bounds; a patch as git reads it.  Again in the worktree. */
	{
		struct sre_catalog_limits cl;
		char why[512];

		sre_policy_catalog(opt.policy, sre_jv_str(prop, "target"), &cl);
		rc = sre_catalog_check(prop, &cl, why, sizeof(why));
		action = sre_jv_str(prop, "action");
		if (rc == SRE_CATALOG_OK && strcmp(action, "patch") == 0) {
			jv params = jv_object_get(jv_copy(prop),
			    jv_string("params"));
			const char *diff = sre_jv_str(params, "diff");

			rc = sre_catalog_patch_check(NULL, &opt.layout,
			    sre_jv_str(prop, "target"), diff, strlen(diff), why,
			    sizeof(why));
			jv_free(params);
		}
		if (rc != SRE_CATALOG_OK) {
			snprintf(err, sizeof(err), "%s%s", rc ==
			    SRE_CATALOG_PATCH ? "patch refused: " : "", why);
			sre_warnx("%s: %s (%s)", inc, err, sre_catalog_rule(rc));
			ev = action_new(inc, ts, "failed", NULL, NULL, NULL, err);
			jv_free(prop);
			return emit(s, ev, vid, inc, 0);
		}
	}
	if (strcmp(action, "observe") == 0) {
		if (opt.window_ms > 0 && !dry) {
			if ((ex = pending_add(inc, NULL, ts + opt.window_ms, 1,
			    prop)) != EX_OK) {
				jv_free(prop);
				return ex;
			}
		}
		sre_duration_fmt(opt.window_ms, w, sizeof(w));
		snprintf(detail, sizeof(detail), "observe: no change; watching "
		    "for recovery within %s", w);
		ev = action_new(inc, ts, "skipped", NULL, NULL, NULL, detail);
		jv_free(prop);
		return emit(s, ev, vid, inc, 0);
	}

	/* Idempotence: once per incident, whoever asks. */
	if (!dry) {
		sre_store_key(key, sizeof(key), "fix:done:", inc);
		if ((stored = kv_get(key)) != NULL) {
			jv old = jv_parse(stored);

			snprintf(detail, sizeof(detail), "incident %s was acted "
			    "on already (%s)", inc, sre_jv_str(old, "status") ?
			    sre_jv_str(old, "status") : "?");
			ev = action_new(inc, ts, "skipped", sre_jv_str(old,
			    "branch"), sre_jv_str(old, "commit"),
			    sre_jv_str(old, "pr_url"), detail);
			jv_free(old);
			free(stored);
			jv_free(prop);
			return emit(s, ev, vid, inc, 0);
		}
		rc = local_branch(m.branch, m.commit, sizeof(m.commit));
		if (!rc && opt.has_remote && !opt.no_push)
			rc = fetch_branch(m.branch, m.commit, sizeof(m.commit),
			    err, sizeof(err)) == 1;
		if (rc) {
			jv pr = jv_null();

			if (opt.use_github && sre_github_pr_find(&opt.gh,
			    m.branch, &pr, err, sizeof(err)) == 1 &&
			    sre_jv_str(pr, "html_url") != NULL)
				snprintf(m.pr_url, sizeof(m.pr_url), "%s",
				    sre_jv_str(pr, "html_url"));
			jv_free(pr);
			snprintf(detail, sizeof(detail), "branch %s exists "
			    "already: not made again", m.branch);
			ev = action_new(inc, ts, "skipped", m.branch, m.commit,
			    m.pr_url, detail);
			jv_free(prop);
			return emit(s, ev, vid, inc, 0);
		}
	}

	snprintf(wt, sizeof(wt), "%s/%s%s", opt.wtdir, inc, dry ? ".dry" : "");
	if (base_commit(base, sizeof(base), err, sizeof(err)) < 0 ||
	    wt_add(wt, base, err, sizeof(err)) < 0)
		goto failed;
	{
		struct sre_catalog_limits cl;

		sre_policy_catalog(opt.policy, sre_jv_str(prop, "target"), &cl);
		rc = sre_gitops_apply(wt, prop, &opt.layout, &cl, ts, &e, err,
		    sizeof(err));
	}
	if (rc < 0)
		goto failed;
	if (rc > 0) {
		wt_remove(wt);
		ev = action_new(inc, ts, "skipped", NULL, NULL, NULL, err);
		jv_free(prop);
		return emit(s, ev, vid, inc, 0);
	}
	if (dry) {
		const char *dv[] = { "diff", "--cached", "--no-color", NULL };
		struct sre_subproc_result r;

		if (sre_git(wt, dv, NULL, NULL, 0, &r, err, sizeof(err)) != 0) {
			sre_subproc_result_free(&r);
			goto failed;
		}
		if (sre_verbosity() >= 0)
			fprintf(stderr, "%s", r.out);
		snprintf(detail, sizeof(detail), "dry run: would %s", e.summary);
		ev = action_new(inc, ts, "dry_run", m.branch, NULL, NULL,
		    detail);
		ev = jv_object_set(ev, jv_string("diff"), jv_string(r.out));
		sre_subproc_result_free(&r);
		wt_remove(wt);
		jv_free(prop);
		return emit(s, ev, vid, inc, 0);
	}

	/* Commit, detached; the branch appears only once all went well. */
	{
		const char *cv[] = { "commit", "--quiet", "--no-verify",
		    "--cleanup=verbatim", "-F", "-", NULL };
		const char *hv[] = { "rev-parse", "HEAD", NULL };

		if ((msg = story(v, &e, 0, 0)) == NULL) {
			snprintf(err, sizeof(err), "out of memory");
			goto failed;
		}
		if (run_git(wt, cv, msg, strlen(msg), err, sizeof(err)) != 0 ||
		    git_line(wt, hv, m.commit, sizeof(m.commit), err,
		    sizeof(err)) != 0)
			goto failed;
	}
	if (opt.has_remote && !opt.no_push) {
		if (push(m.commit, m.branch, err, sizeof(err)) < 0)
			goto failed;
		m.pushed = 1;
		if (opt.use_github && github_open(v, &e, &m, err,
		    sizeof(err)) < 0)
			goto failed;
	}
	{
		const char *bv[] = { "branch", m.branch, m.commit, NULL };

		if (run_git(opt.root, bv, NULL, 0, err, sizeof(err)) != 0)
			goto failed;
		m.local = 1;
	}
	if (opt.auto_merge && m.pushed) {
		if (opt.use_github) {
			if (sre_github_merge(&opt.gh, m.pr, m.merge_sha,
			    sizeof(m.merge_sha), err, sizeof(err)) == 0)
				m.merged = 1;
			else
				sre_warnx("%s: merging #%ld: %s", inc, m.pr, err);
		} else if (push(m.commit, opt.base, err, sizeof(err)) == 0)
			m.merged = 1;
		else
			sre_warnx("%s: merging into %s: %s", inc, opt.base, err);
	}
	wt_remove(wt);
	status = m.pr > 0 ? "pr_opened" : "committed";
	snprintf(detail, sizeof(detail), "%s%s%s%s", e.summary,
	    m.pushed ? "; pushed to " : "", m.pushed ? opt.remote : "",
	    m.merged ? "; merged" : "");
	ev = action_new(inc, ts, status, m.branch, m.commit, m.pr_url, detail);
	if (m.issue_url[0])
		ev = jv_object_set(ev, jv_string("issue_url"),
		    jv_string(m.issue_url));
	ev = jv_object_set(ev, jv_string("merged"), jv_bool(m.merged));
	ev = jv_object_set(ev, jv_string("proposal"), jv_copy(prop));
	ex = opt.window_ms > 0 ? pending_add(inc, &m,
	    sre_evclock_now(&opt.clock) + opt.window_ms, 0, prop) : EX_OK;
	jv_free(prop);
	free(msg);
	if (ex != EX_OK) {
		jv_free(ev);
		return ex;
	}
	return emit(s, ev, vid, inc, 1);

failed:
	undo(&m);
	wt_remove(wt);
	free(msg);
	jv_free(prop);
	sre_warnx("%s: %s", inc, err);
	ev = action_new(inc, ts, "failed", NULL, NULL, NULL, err);
	return emit(s, ev, vid, inc, 0);
}

/* ---- closing the loop ---------------------------------------------- */

static int
revert(struct sre_stream *s, const char *inc, jv p, int64_t now)
{
	char err[ERR_MAX], detail[2048], start[64], w[32], rbranch[300];
	char wt[PATH_MAX + 128], newc[64], *msg = NULL;
	const char *commit = sre_jv_str(p, "commit");
	const char *branch = sre_jv_str(p, "branch");
	const char *pr_url = sre_jv_str(p, "pr_url");
	const char *target;
	struct made m;
	double prn = 0;
	int merged = is_true(p, "merged"), pushed = is_true(p, "pushed");
	jv ev;

	memset(&m, 0, sizeof(m));
	sre_jv_num(p, "pr", &prn);
	sre_duration_fmt(opt.window_ms, w, sizeof(w));
	snprintf(wt, sizeof(wt), "%s/%s.revert", opt.wtdir, inc);
	if (commit == NULL || branch == NULL) {
		snprintf(err, sizeof(err), "no record of the fix");
		goto failed;
	}
	/* Where the revert goes: the base if the fix was merged, else the
	 * fix's own branch (its pull request then nets to nothing). */
	if (merged) {
		if (base_commit(start, sizeof(start), err, sizeof(err)) < 0)
			goto failed;
		snprintf(rbranch, sizeof(rbranch), "%s-revert", branch);
	} else {
		if (pushed) {
			if (fetch_branch(branch, start, sizeof(start), err,
			    sizeof(err)) != 1)
				goto failed;
		} else if (!local_branch(branch, start, sizeof(start))) {
			snprintf(err, sizeof(err), "branch %s is gone", branch);
			goto failed;
		}
		snprintf(rbranch, sizeof(rbranch), "%s", branch);
	}
	target = commit;
	if (merged && sre_jv_str(p, "merge_sha") != NULL &&
	    *sre_jv_str(p, "merge_sha") != '\0') {
		const char *anc[] = { "merge-base", "--is-ancestor", commit,
		    start, NULL };

		/* GitHub merged with a merge commit we may not have. */
		if (run_git(opt.root, anc, NULL, 0, err, sizeof(err)) != 0)
			target = sre_jv_str(p, "merge_sha");
	}
	if (wt_add(wt, start, err, sizeof(err)) < 0)
		goto failed;
	{
		const char *rv[] = { "revert", "--no-commit", target, NULL };
		const char *rvm[] = { "revert", "--no-commit", "-m", "1", target,
		    NULL };
		const char *cv[] = { "commit", "--quiet", "--no-verify",
		    "--cleanup=verbatim", "-F", "-", NULL };
		const char *hv[] = { "rev-parse", "HEAD", NULL };
		struct doc d = { NULL, 0, 0 };

		if (run_git(wt, target == commit ? rv : rvm, NULL, 0, err,
		    sizeof(err)) != 0)
			goto failed;
		doc_add(&d, "sre-fix: revert the fix for incident %s\n\n"
		    "No recovery of incident %s followed within %s of the fix,"
		    "\nso the fix is undone and a human takes over.\n\n"
		    "This reverts commit %s.\n\nSRE-Incident: %s\n", inc, inc,
		    w, target, inc);
		msg = d.p;
		if (msg == NULL || run_git(wt, cv, msg, strlen(msg), err,
		    sizeof(err)) != 0 || git_line(wt, hv, newc, sizeof(newc),
		    err, sizeof(err)) != 0)
			goto failed;
	}
	snprintf(m.branch, sizeof(m.branch), "%.200s", rbranch);
	if (opt.has_remote && pushed) {
		if (push(newc, rbranch, err, sizeof(err)) < 0)
			goto failed;
		if (merged && !opt.use_github &&
		    push(newc, opt.base, err, sizeof(err)) < 0)
			goto failed;
	}
	{
		const char *bv[] = { "branch", "--force", rbranch, newc, NULL };

		if (run_git(opt.root, bv, NULL, 0, err, sizeof(err)) != 0)
			sre_warnx("%s: %s", inc, err);
	}
	wt_remove(wt);
	snprintf(detail, sizeof(detail), "no recovery within %s of the fix: "
	    "reverted %.12s; a human takes over", w, target);
	if (opt.use_github && pushed) {
		if (merged) {
			jv pr;
			char title[300];
			char *body;

			snprintf(title, sizeof(title), "[sre] revert the fix for "
			    "incident %s", inc);
			body = msg;
			if (sre_github_pr_open(&opt.gh, title, rbranch, opt.base,
			    body, &pr, err, sizeof(err)) == 0) {
				const char *u = sre_jv_str(pr, "html_url");
				double n = 0;

				pr_url = NULL;
				snprintf(m.pr_url, sizeof(m.pr_url), "%s",
				    u ? u : "");
				sre_jv_num(pr, "number", &n);
				if (opt.auto_merge && n > 0 &&
				    sre_github_merge(&opt.gh, (long)n, NULL, 0,
				    err, sizeof(err)) < 0)
					sre_warnx("%s: %s", inc, err);
			} else
				sre_warnx("%s: revert pull request: %s", inc,
				    err);
			jv_free(pr);
		} else if (prn > 0) {
			if (sre_github_comment(&opt.gh, (long)prn, detail, err,
			    sizeof(err)) < 0 ||
			    sre_github_close(&opt.gh, 'p', (long)prn, err,
			    sizeof(err)) < 0)
				sre_warnx("%s: closing #%ld: %s", inc,
				    (long)prn, err);
		}
	}
	ev = action_new(inc, now, "reverted", rbranch, newc,
	    m.pr_url[0] ? m.pr_url : pr_url, detail);
	ev = jv_object_set(ev, jv_string("reverted"), jv_string(target));
	free(msg);
	return emit(s, ev, NULL, inc, 1);

failed:
	wt_remove(wt);
	free(msg);
	snprintf(detail, sizeof(detail), "no recovery within %s of the fix, "
	    "and reverting it failed: %s", w, err);
	sre_warnx("%s: %s", inc, detail);
	ev = action_new(inc, now, "failed", branch, commit, pr_url, detail);
	return emit(s, ev, NULL, inc, 0);
}

/* Revert (or report) every fix whose window passed without recovery. */
static int
verify_due(struct sre_stream *s)
{
	int64_t now = sre_evclock_now(&opt.clock);
	jv due = jv_array();
	int i, n, ex = EX_OK;

	jv_object_foreach(opt.pending, k, p) {
		double dl = 0;

		if (sre_jv_num(p, "deadline_ms", &dl) == 0 && dl <= (double)now)
			due = jv_array_append(due, jv_copy(k));
		jv_free(k);
		jv_free(p);
	}
	n = jv_array_length(jv_copy(due));
	for (i = 0; i < n && ex == EX_OK; i++) {
		jv k = jv_array_get(jv_copy(due), i);
		const char *inc = jv_string_value(k);
		jv p = jv_object_get(jv_copy(opt.pending), jv_copy(k));
		char w[32], detail[512];
		int mine = 0;

		/* Claimed by deleting it: another process may be first. */
		if ((ex = pending_update(inc, jv_invalid(), &mine)) == EX_OK &&
		    mine) {
			if (is_true(p, "observe")) {
				sre_duration_fmt(opt.window_ms, w, sizeof(w));
				snprintf(detail, sizeof(detail), "observe: "
				    "incident %s did not recover within %s",
				    inc, w);
				ex = emit(s, action_new(inc, now, "failed", NULL,
				    NULL, NULL, detail), NULL, inc, 0);
			} else
				ex = revert(s, inc, p, now);
		}
		jv_free(p);
		jv_free(k);
	}
	jv_free(due);
	return ex;
}

static int
on_idle(struct sre_stream *s, int at_end, void *ctx)
{
	(void)at_end;
	(void)ctx;
	pending_load();
	return verify_due(s);
}

static void
note_anomaly(jv ev, const char *inc)
{
	static const char *const keep[] = {
		"service", "operation", "signal", "observed", "baseline",
		"score", "evidence", NULL
	};
	const char *const *k;
	jv a = jv_object();

	for (k = keep; *k != NULL; k++) {
		jv v = jv_object_get(jv_copy(ev), jv_string(*k));

		if (jv_get_kind(v) != JV_KIND_INVALID)
			a = jv_object_set(a, jv_string(*k), v);
		else
			jv_free(v);
	}
	if (jv_object_length(jv_copy(opt.anomalies)) >= MAX_ANOMALIES) {
		jv_free(opt.anomalies);
		opt.anomalies = jv_object();
	}
	opt.anomalies = jv_object_set(opt.anomalies, jv_string(inc), a);
}

/* Remember what a verified diagnosis proposed, under its id: in memory,
 * and in the store, so that a verdict read after a restart finds it. */
static int
note_diagnosis(jv ev)
{
	static const char *const keep[] = { "incident", "proposal",
	    "confidence", NULL };
	const char *const *k;
	struct kvop op = { { NULL }, { NULL }, 0 };
	char key[KEY_MAX], *text;
	jv d = jv_object();
	int ex;

	for (k = keep; *k != NULL; k++) {
		jv v = jv_object_get(jv_copy(ev), jv_string(*k));

		d = jv_object_set(d, jv_string(*k),
		    jv_get_kind(v) == JV_KIND_INVALID ? jv_null() : v);
	}
	if ((text = sre_jv_dump(jv_copy(d), NULL)) == NULL) {
		jv_free(d);
		return EX_OSERR;
	}
	sre_store_key(key, sizeof(key), SRE_STORE_FIX_DIAGNOSIS,
	    sre_jv_str(ev, "id"));
	op.key[op.n] = key;
	op.val[op.n++] = text;
	ex = kv_write(&op);
	free(text);
	if (jv_object_length(jv_copy(opt.diagnoses)) >= MAX_DIAGNOSES) {
		jv_free(opt.diagnoses);
		opt.diagnoses = jv_object();
	}
	opt.diagnoses = jv_object_set(opt.diagnoses,
	    jv_string(sre_jv_str(ev, "id")), d);
	return ex;
}

/* The gist note_diagnosis kept of diagnosis id, or null. */
static jv
diagnosis_get(const char *id)
{
	char key[KEY_MAX], *text;
	jv d = jv_object_get(jv_copy(opt.diagnoses), jv_string(id));

	if (jv_get_kind(d) == JV_KIND_OBJECT)
		return d;
	jv_free(d);
	sre_store_key(key, sizeof(key), SRE_STORE_FIX_DIAGNOSIS, id);
	if ((text = kv_get(key)) == NULL)
		return jv_null();
	d = jv_parse(text);
	free(text);
	if (jv_get_kind(d) != JV_KIND_OBJECT) {
		jv_free(d);
		return jv_null();
	}
	return d;
}

/* A confidence member that is a number from 0 to 1. */
static int
confidence_ok(jv o)
{
	double c;

	return sre_jv_num(o, "confidence", &c) == 0 && c >= 0 && c <= 1;
}

/* Whether the verified approving verdict v may be acted on: 0, or -1 with
 * the reason in why. */
static int
verdict_ok(jv v, char *why, size_t whylen)
{
	const char *did = sre_jv_str(v, "diagnosis");
	const char *inc = sre_jv_str(v, "incident"), *dinc;
	jv d, a, b;
	int same;

	if (did == NULL) {
		snprintf(why, whylen, "verdict names no diagnosis");
		return -1;
	}
	d = diagnosis_get(did);
	if (jv_get_kind(d) != JV_KIND_OBJECT) {
		jv_free(d);
		snprintf(why, whylen, "verdict follows no verified diagnosis "
		    "(%.64s not seen)", did);
		return -1;
	}
	dinc = sre_jv_str(d, "incident");
	if (dinc == NULL || strcmp(dinc, inc) != 0) {
		snprintf(why, whylen, "verdict for incident %.64s follows a "
		    "diagnosis of incident %.64s", inc, dinc ? dinc : "?");
		jv_free(d);
		return -1;
	}
	a = jv_object_get(jv_copy(v), jv_string("proposal"));
	b = jv_object_get(jv_copy(d), jv_string("proposal"));
	same = jv_get_kind(a) == JV_KIND_OBJECT && jv_equal(a, b);
	if (!same) {
		snprintf(why, whylen, "verdict's proposal is not the one "
		    "diagnosis %.64s made", did);
		jv_free(d);
		return -1;
	}
	if (!confidence_ok(v) || !confidence_ok(d)) {
		snprintf(why, whylen, "%s's confidence is not a number from 0 "
		    "to 1", confidence_ok(v) ? "diagnosis" : "verdict");
		jv_free(d);
		return -1;
	}
	jv_free(d);
	return 0;
}

static int
on_line(struct sre_stream *s, const char *line, size_t len, void *ctx)
{
	char err[512], key[KEY_MAX];
	const char *type, *inc, *vid, *dec;
	int64_t ts;
	char *old;
	jv ev;
	int ex = EX_OK;

	(void)ctx;
	if (len == strspn(line, " \t\r"))
		return 0;
	ev = sre_json_object(line, len, err, sizeof(err));
	if (!jv_is_valid(ev)) {
		sre_stream_reject(s, "%s", err);
		return 0;
	}
	if (sre_event_check(ev, err, sizeof(err)) < 0) {
		sre_stream_reject(s, "%s", err);
		jv_free(ev);
		return 0;
	}
	if (sre_stream_emit(s, line, len) < 0) {
		jv_free(ev);
		return 0;
	}
	type = sre_jv_str(ev, "type");
	inc = sre_jv_str(ev, "incident");
	if (sre_jv_int(ev, "ts_ms", &ts) == 0 &&
	    sre_evclock_see(&opt.clock, ts) < 0)
		sre_warnx("%s: ts_ms %lld is far ahead of the event clock and "
		    "the wall clock: not taken for timers",
		    sre_stream_where(s), (long long)ts);
	if (strcmp(type, "recovery") == 0 && inc != NULL) {
		int had = 0;

		if ((ex = pending_update(inc, jv_invalid(), &had)) == EX_OK &&
		    had)
			sre_info("%s: recovered: the fix holds", inc);
	} else if (strcmp(type, "anomaly") == 0 && inc != NULL)
		note_anomaly(ev, inc);
	else if ((strcmp(type, "diagnosis") == 0 ||
	    strcmp(type, "verdict") == 0) &&
	    sre_mac_check(&opt.key, ev, err, sizeof(err)) < 0)
		sre_stream_reject(s, "%s: ignored", err);
	else if (strcmp(type, "diagnosis") == 0)
		ex = note_diagnosis(ev);
	else if (strcmp(type, "verdict") == 0 &&
	    (dec = sre_jv_str(ev, "decision")) != NULL &&
	    strcmp(dec, "approve") == 0) {
		vid = sre_jv_str(ev, "id");
		sre_store_key(key, sizeof(key), SRE_STORE_FIX_VERDICT, vid);
		if ((old = kv_get(key)) != NULL) {
			/* Delivered again: the same answer, not a new act. */
			sre_stream_emit(s, old, strlen(old));
			free(old);
		} else if (verdict_ok(ev, err, sizeof(err)) < 0)
			sre_stream_reject(s, "%s: ignored", err);
		else
			ex = act(s, ev);
	}
	jv_free(ev);
	if (ex == EX_OK)
		ex = verify_due(s);
	return ex;
}

/* ---- setting up ---------------------------------------------------- */

static int
is_url(const char *s)
{
	const char *colon = strchr(s, ':'), *slash = strchr(s, '/');

	return strstr(s, "://") != NULL || (colon != NULL && strchr(s, '@') &&
	    (slash == NULL || colon < slash));
}

static void
display_of(const char *repo, char *out, size_t outlen)
{
	const char *s = strstr(repo, "://"), *at, *end;

	if (s == NULL) {
		snprintf(out, outlen, "%s", repo);
		return;
	}
	end = s + 3 + strcspn(s + 3, "/");
	at = memchr(s + 3, '@', (size_t)(end - s - 3));
	if (at == NULL)
		snprintf(out, outlen, "%s", repo);
	else
		snprintf(out, outlen, "%.*s%s", (int)(s + 3 - repo), repo,
		    at + 1);
}

static int
open_repo(void)
{
	char err[ERR_MAX], top[PATH_MAX], real[PATH_MAX], line[512];
	const char *state = opt.statedir;
	struct stat sb;

	display_of(opt.repo_arg, opt.display, sizeof(opt.display));
	if (is_url(opt.repo_arg)) {
		char dir[PATH_MAX], name[64];
		uint64_t h = 0xcbf29ce484222325ULL;
		const unsigned char *q;

		for (q = (const unsigned char *)opt.repo_arg; *q; q++)
			h = (h ^ *q) * 0x100000001b3ULL;
		snprintf(name, sizeof(name), "%016llx.git",
		    (unsigned long long)h);
		if (snprintf(dir, sizeof(dir), "%s/repos", state) >=
		    (int)sizeof(dir) || snprintf(opt.root, sizeof(opt.root),
		    "%s/repos/%s", state, name) >= (int)sizeof(opt.root)) {
			sre_warnx("%s: path too long", state);
			return EX_CONFIG;
		}
		if (stat(opt.root, &sb) < 0) {
			const char *cl[] = { "clone", "--bare", "--quiet", "--",
			    opt.repo_arg, name, NULL };
			const char *cf[] = { "config", "remote.origin.fetch",
			    "+refs/heads/*:refs/remotes/origin/*", NULL };

			if (mkdir(state, 0777) < 0 && errno != EEXIST) {
				sre_warn("%s", state);
				return EX_CANTCREAT;
			}
			if (mkdir(dir, 0777) < 0 && errno != EEXIST) {
				sre_warn("%s", dir);
				return EX_CANTCREAT;
			}
			if (run_git(dir, cl, NULL, 0, err, sizeof(err)) != 0) {
				sre_warnx("cloning %s: %s", opt.display, err);
				rmtree(opt.root);
				return EX_UNAVAILABLE;
			}
			run_git(opt.root, cf, NULL, 0, err, sizeof(err));
		}
		snprintf(opt.remote, sizeof(opt.remote), "origin");
	} else {
		const char *tl[] = { "rev-parse", "--show-toplevel", NULL };
		const char *bare[] = { "rev-parse", "--is-bare-repository",
		    NULL };

		if (realpath(opt.repo_arg, real) == NULL) {
			sre_warn("--repo %s", opt.repo_arg);
			return EX_NOINPUT;
		}
		if (git_line(real, bare, line, sizeof(line), err,
		    sizeof(err)) != 0) {
			sre_warnx("--repo %s: not a git repository",
			    opt.repo_arg);
			return EX_CONFIG;
		}
		if (strcmp(line, "true") != 0) {
			if (git_line(real, tl, top, sizeof(top), err,
			    sizeof(err)) != 0 || strcmp(top, real) != 0) {
				sre_warnx("--repo %s: not the top of a git "
				    "working tree", opt.repo_arg);
				return EX_CONFIG;
			}
		}
		snprintf(opt.root, sizeof(opt.root), "%s", real);
		snprintf(opt.remote, sizeof(opt.remote), "%s",
		    opt.remote_arg ? opt.remote_arg : "origin");
	}
	{
		const char *gu[] = { "remote", "get-url", opt.remote, NULL };

		opt.has_remote = git_line(opt.root, gu, line, sizeof(line), err,
		    sizeof(err)) == 0;
		if (!opt.has_remote && opt.remote_arg != NULL) {
			sre_warnx("--remote %s: no such remote", opt.remote);
			return EX_CONFIG;
		}
		if (opt.has_remote && opt.github_arg == NULL &&
		    opt.gh.token != NULL) {
			/* The GitHub repository from the remote's URL. */
			char host[256];
			const char *api = opt.gh.api, *h;

			snprintf(host, sizeof(host), "github.com");
			if (strcmp(api, SRE_GITHUB_API) != 0 &&
			    (h = strstr(api, "://")) != NULL)
				snprintf(host, sizeof(host), "%.*s",
				    (int)strcspn(h + 3, "/:"), h + 3);
			opt.use_github = sre_github_repo(&opt.gh, line,
			    host) == 0;
		}
	}
	{
		const char *cd[] = { "rev-parse", "--git-common-dir", NULL };

		if (git_line(opt.root, cd, line, sizeof(line), err,
		    sizeof(err)) != 0 || snprintf(opt.lockpath,
		    sizeof(opt.lockpath), "%s%s%s/sre-fix.lock",
		    line[0] == '/' ? "" : opt.root, line[0] == '/' ? "" : "/",
		    line) >= (int)sizeof(opt.lockpath))
			opt.lockpath[0] = '\0';
	}
	if (opt.base_arg != NULL)
		snprintf(opt.base, sizeof(opt.base), "%s", opt.base_arg);
	else {
		const char *sr[] = { "ls-remote", "--symref", opt.remote, "HEAD",
		    NULL };
		const char *sh[] = { "symbolic-ref", "--short", "HEAD", NULL };

		opt.base[0] = '\0';
		if (opt.has_remote && git_line(opt.root, sr, line, sizeof(line),
		    err, sizeof(err)) == 0 &&
		    strncmp(line, "ref: refs/heads/", 16) == 0)
			snprintf(opt.base, sizeof(opt.base), "%.*s",
			    (int)strcspn(line + 16, "\t "), line + 16);
		if (opt.base[0] == '\0' && git_line(opt.root, sh, line,
		    sizeof(line), err, sizeof(err)) == 0)
			snprintf(opt.base, sizeof(opt.base), "%.200s", line);
		if (opt.base[0] == '\0')
			snprintf(opt.base, sizeof(opt.base), "main");
	}
	if (!sre_gitops_ref_ok(opt.base) && strchr(opt.base, '/') == NULL) {
		sre_warnx("--base %s: not a usable branch name", opt.base);
		return EX_USAGE;
	}
	if (opt.auto_merge && (!opt.has_remote || opt.no_push))
		sre_warnx("--auto-merge needs a remote to push to: ignored");
	return EX_OK;
}

static int
identity(void)
{
	const char *name = "SRE-Space", *email = "sre-fix@localhost";
	char buf[300];
	int n = 0;

	if (opt.author != NULL) {
		const char *lt = strchr(opt.author, '<');
		const char *gt = lt ? strchr(lt, '>') : NULL;

		if (lt == NULL || gt == NULL || gt[1] != '\0' || lt == opt.author
		    || !sre_http_header_ok(opt.author)) {
			sre_warnx("--author: want 'NAME <EMAIL>'");
			return -1;
		}
		snprintf(buf, sizeof(buf), "%.*s", (int)(lt - opt.author),
		    opt.author);
		while (buf[0] && buf[strlen(buf) - 1] == ' ')
			buf[strlen(buf) - 1] = '\0';
		snprintf(opt.ident[0], sizeof(opt.ident[0]),
		    "GIT_AUTHOR_NAME=%s", buf);
		snprintf(opt.ident[1], sizeof(opt.ident[1]),
		    "GIT_COMMITTER_NAME=%s", buf);
		snprintf(opt.ident[2], sizeof(opt.ident[2]),
		    "GIT_AUTHOR_EMAIL=%.*s", (int)(gt - lt - 1), lt + 1);
		snprintf(opt.ident[3], sizeof(opt.ident[3]),
		    "GIT_COMMITTER_EMAIL=%.*s", (int)(gt - lt - 1), lt + 1);
		for (n = 0; n < 4; n++)
			opt.identv[n] = opt.ident[n];
	} else {
		static const char *const vars[] = {
			"GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME",
			"GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL"
		};
		int i;

		for (i = 0; i < 4; i++)
			if (getenv(vars[i]) == NULL) {
				snprintf(opt.ident[n], sizeof(opt.ident[n]),
				    "%s=%s", vars[i], i < 2 ? name : email);
				opt.identv[n] = opt.ident[n];
				n++;
			}
	}
	opt.identv[n] = NULL;
	return 0;
}

static int
setup(void)
{
	const char *state = sre_state_dir(&opt.c);
	char err[ERR_MAX], *labels, *l, *sp;
	const char *tok = getenv("GITHUB_PERSONAL_ACCESS_TOKEN");
	const char *api = getenv("GITHUB_API_URL");
	int ex;

	if (sre_gitops_layout_check(&opt.layout, err, sizeof(err)) < 0) {
		sre_warnx("%s", err);
		return EX_USAGE;
	}
	if (identity() < 0)
		return EX_USAGE;
	{
		jv problems;

		opt.policy = sre_policy_load(opt.policy_arg, &problems);
		sre_warnx_list("", problems);
		if (opt.policy == NULL)
			return EX_CONFIG;
	}
	opt.gh.api = api != NULL && *api != '\0' ? api : SRE_GITHUB_API;
	if (strncmp(opt.gh.api, "https://", 8) != 0 &&
	    strncmp(opt.gh.api, "http://", 7) != 0) {
		sre_warnx("GITHUB_API_URL: not an http(s) URL");
		return EX_CONFIG;
	}
	if (tok != NULL && *tok != '\0') {
		if (!sre_http_header_ok(tok)) {
			sre_warnx("GITHUB_PERSONAL_ACCESS_TOKEN: unusable "
			    "characters");
			return EX_CONFIG;
		}
		opt.gh.token = tok;
	}
	if (opt.github_arg != NULL) {
		if (sre_github_repo(&opt.gh, opt.github_arg, NULL) < 0) {
			sre_warnx("--github %s: want OWNER/REPO",
			    opt.github_arg);
			return EX_USAGE;
		}
		opt.use_github = opt.gh.token != NULL;
		if (!opt.use_github)
			sre_notice("--github without "
			    "GITHUB_PERSONAL_ACCESS_TOKEN: no pull requests");
	}
	opt.labels = jv_array();
	if ((labels = strdup(opt.labels_arg)) == NULL)
		return EX_OSERR;
	for (sp = labels; (l = strsep(&sp, ",")) != NULL;)
		if (*l != '\0')
			opt.labels = jv_array_append(opt.labels, jv_string(l));
	free(labels);
	if (sre_state_dir_make(&opt.c) < 0) {
		sre_warn("%s", state);
		return EX_CANTCREAT;
	}
	/* git runs in other directories: the worktrees need a full path. */
	if (realpath(state, opt.statedir) == NULL) {
		sre_warn("%s", state);
		return EX_CANTCREAT;
	}
	if (snprintf(opt.wtdir, sizeof(opt.wtdir), "%s/worktrees",
	    opt.statedir) >=
	    (int)sizeof(opt.wtdir) || (mkdir(opt.wtdir, 0777) < 0 &&
	    errno != EEXIST)) {
		sre_warn("%s", opt.wtdir);
		return EX_CANTCREAT;
	}
	if ((ex = open_repo()) != EX_OK)
		return ex;
	if (opt.has_remote && !opt.use_github && opt.gh.token != NULL)
		sre_info("the remote is not on GitHub: no pull requests");
	if (!opt.has_remote || opt.no_push)
		opt.use_github = 0;
	if ((ex = sre_store_open(&opt.st, state, NULL, err, sizeof(err))) !=
	    EX_OK) {
		sre_warnx("%s", err);
		return ex;
	}
	if ((ex = sre_mac_key_load(&opt.key, &opt.c, err, sizeof(err))) !=
	    EX_OK) {
		sre_warnx("%s", err);
		return ex;
	}
	pending_load();
	opt.anomalies = jv_object();
	opt.diagnoses = jv_object();
	return EX_OK;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		SRE_COMMON_LONGOPTS,
		{ "author", required_argument, NULL, OPT_AUTHOR },
		{ "auto-merge", no_argument, NULL, OPT_AUTO_MERGE },
		{ "base", required_argument, NULL, OPT_BASE },
		{ "config-path", required_argument, NULL, OPT_CONFIG_PATH },
		{ "deployment-path", required_argument, NULL,
		    OPT_DEPLOYMENT_PATH },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "github", required_argument, NULL, OPT_GITHUB },
		{ "labels", required_argument, NULL, OPT_LABELS },
		{ "no-push", no_argument, NULL, OPT_NO_PUSH },
		{ "policy", required_argument, NULL, 'p' },
		{ "remote", required_argument, NULL, OPT_REMOTE },
		{ "repo", required_argument, NULL, 'r' },
		{ "verify-window", required_argument, NULL, OPT_VERIFY_WINDOW },
		{ NULL, 0, NULL, 0 }
	};
	struct sre_stream s;
	const char *env;
	int ch, ex;

	sre_init("sre-fix");
	sre_common_init(&opt.c);
	opt.window_ms = 600000;
	opt.lockfd = -1;
	opt.labels_arg = "sre-space,incident";
	opt.pending = jv_null();
	opt.anomalies = jv_null();
	opt.diagnoses = jv_null();
	opt.labels = jv_null();
	if ((env = getenv("SRE_GITOPS_REPO")) != NULL && *env != '\0')
		opt.repo_arg = env;
	if ((env = getenv("GITHUB_REPOSITORY")) != NULL && *env != '\0')
		opt.github_arg = env;
	if ((env = getenv("SRE_POLICY")) != NULL && *env != '\0')
		opt.policy_arg = env;
	while ((ch = getopt_long(argc, argv, SRE_COMMON_SHORTOPTS "np:r:",
	    longopts, NULL)) != -1) {
		switch (sre_opt_common(&opt.c, ch, optarg)) {
		case 1:
			continue;
		case -1:
			return EX_USAGE;
		}
		switch (ch) {
		case OPT_AUTHOR:
			opt.author = optarg;
			break;
		case OPT_AUTO_MERGE:
			opt.auto_merge = 1;
			break;
		case OPT_BASE:
			opt.base_arg = optarg;
			break;
		case OPT_CONFIG_PATH:
			opt.layout.config = optarg;
			break;
		case OPT_DEPLOYMENT_PATH:
			opt.layout.deployment = optarg;
			break;
		case OPT_GITHUB:
			opt.github_arg = optarg;
			break;
		case OPT_LABELS:
			opt.labels_arg = optarg;
			break;
		case OPT_NO_PUSH:
			opt.no_push = 1;
			break;
		case OPT_REMOTE:
			opt.remote_arg = optarg;
			break;
		case OPT_VERIFY_WINDOW:
			if (sre_duration_parse(optarg, &opt.window_ms) < 0) {
				sre_warnx("--verify-window %s: not a duration",
				    optarg);
				return EX_USAGE;
			}
			break;
		case 'h':
			usage(stdout);
			return EX_OK;
		case 'n':
			opt.dry_run = 1;
			break;
		case 'p':
			opt.policy_arg = optarg;
			break;
		case 'r':
			opt.repo_arg = optarg;
			break;
		case 'V':
			sre_print_version();
			return EX_OK;
		default:
			usage(stderr);
			return EX_USAGE;
		}
	}
	if (optind != argc) {
		sre_warnx("unexpected argument: %s", argv[optind]);
		usage(stderr);
		return EX_USAGE;
	}
	if (opt.repo_arg == NULL)
		opt.repo_arg = ".";
	if ((ex = setup()) == EX_OK && (ex = sre_stream_open(&s, &opt.c)) ==
	    EX_OK) {
		if (opt.window_ms > 0)
			s.idle_ms = 1000;
		ex = sre_stream_run(&s, on_line, on_idle, NULL);
		sre_info("%llu lines, %llu actions, %llu rejected", s.lines,
		    opt.actions, s.rejected);
	}
	sre_store_close(opt.st);
	sre_policy_free(opt.policy);
	if (opt.lockfd >= 0)
		close(opt.lockfd);
	jv_free(opt.pending);
	jv_free(opt.anomalies);
	jv_free(opt.diagnoses);
	jv_free(opt.labels);
	return ex;
}
