/*
 * fixrepo.c: sre-fix's git repository, worktrees and refs (fixrepo.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "fixrepo.h"
#include "gitops.h"
#include "hash.h"
#include "http.h"

void
sre_fixrepo_init(struct sre_fixrepo *r, sre_fix_say_fn *say, void *ctx)
{
	memset(r, 0, sizeof(*r));
	r->lockfd = -1;
	r->say = say;
	r->say_ctx = ctx;
}

void
sre_fixrepo_close(struct sre_fixrepo *r)
{
	if (r != NULL && r->lockfd >= 0) {
		close(r->lockfd);
		r->lockfd = -1;
	}
}

void
sre_fixrepo_vsay(const struct sre_fixrepo *r, int level, const char *fmt,
    va_list ap)
{
	char msg[4096], *big;

	if (r->say == NULL)
		return;
	if (level == SRE_FIX_TEXT) {
		if (vasprintf(&big, fmt, ap) >= 0) {
			r->say(r->say_ctx, level, big);
			free(big);
		}
		return;
	}
	vsnprintf(msg, sizeof(msg), fmt, ap);
	r->say(r->say_ctx, level, msg);
}

void
sre_fixrepo_say(const struct sre_fixrepo *r, int level, const char *fmt,
    ...)
{
	va_list ap;

	va_start(ap, fmt);
	sre_fixrepo_vsay(r, level, fmt, ap);
	va_end(ap);
}

void
sre_fixrepo_scrub(const struct sre_fixrepo *r, char *s)
{
	const char *tok = r->token;
	size_t n;
	char *p;

	if (tok == NULL || (n = strlen(tok)) < 4)
		return;
	while ((p = strstr(s, tok)) != NULL) {
		memset(p, '*', 3);
		memmove(p + 3, p + n, strlen(p + n) + 1);
	}
}

int
sre_fixrepo_identity(struct sre_fixrepo *r, const char *author, char *err,
    size_t errlen)
{
	static const char *const vars[] = {
		"GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME",
		"GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL"
	};
	const char *lt, *gt;
	char name[300];
	int i, n = 0;

	if (author == NULL) {
		for (i = 0; i < 4; i++)
			if (getenv(vars[i]) == NULL) {
				snprintf(r->ident[n], sizeof(r->ident[n]),
				    "%s=%s", vars[i], i < 2 ? "SRE-Space" :
				    "sre-fix@localhost");
				r->identv[n] = r->ident[n];
				n++;
			}
		r->identv[n] = NULL;
		return 0;
	}
	lt = strchr(author, '<');
	gt = lt ? strchr(lt, '>') : NULL;
	if (lt == NULL || gt == NULL || gt[1] != '\0' || lt == author ||
	    !sre_http_header_ok(author)) {
		snprintf(err, errlen, "--author: want 'NAME <EMAIL>'");
		return -1;
	}
	snprintf(name, sizeof(name), "%.*s", (int)(lt - author), author);
	while (name[0] && name[strlen(name) - 1] == ' ')
		name[strlen(name) - 1] = '\0';
	for (i = 0; i < 4; i++) {
		if (i < 2)
			snprintf(r->ident[i], sizeof(r->ident[i]), "%s=%s",
			    vars[i], name);
		else
			snprintf(r->ident[i], sizeof(r->ident[i]), "%s=%.*s",
			    vars[i], (int)(gt - lt - 1), lt + 1);
		r->identv[i] = r->ident[i];
	}
	r->identv[4] = NULL;
	return 0;
}

int
sre_fixrepo_git(struct sre_fixrepo *r, const char *dir,
    const char *const *args, const char *in, size_t inlen, char *err,
    size_t errlen)
{
	struct sre_subproc_result res;
	int locked, rc;

	/* Made when first needed: a fix refused early touches nothing. */
	if (dir == r->root && r->lockfd < 0 && r->lockpath[0] != '\0' &&
	    (r->lockfd = open(r->lockpath, O_RDWR | O_CREAT | O_CLOEXEC,
	    0644)) < 0) {
		sre_fixrepo_say(r, SRE_FIX_INFO, "%s: %s: concurrent sre-fix "
		    "processes may collide", r->lockpath, strerror(errno));
		r->lockpath[0] = '\0';
	}
	locked = dir == r->root && r->lockfd >= 0 &&
	    flock(r->lockfd, LOCK_EX) == 0;
	rc = sre_git(dir, args, r->identv, in, inlen, &res, err, errlen);
	if (locked)
		flock(r->lockfd, LOCK_UN);
	sre_subproc_result_free(&res);
	if (rc != 0)
		sre_fixrepo_scrub(r, err);
	return rc;
}

int
sre_fixrepo_line(struct sre_fixrepo *r, const char *dir,
    const char *const *args, char *out, size_t outlen, char *err,
    size_t errlen)
{
	int rc = sre_git_line(dir, args, out, outlen, err, errlen);

	if (rc != 0)
		sre_fixrepo_scrub(r, err);
	return rc;
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb;
	(void)f;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

void
sre_fixrepo_rmtree(const char *path)
{
	nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- opening ------------------------------------------------------- */

static int
is_url(const char *s)
{
	const char *colon = strchr(s, ':'), *slash = strchr(s, '/');

	return strstr(s, "://") != NULL || (colon != NULL && strchr(s, '@') &&
	    (slash == NULL || colon < slash));
}

/* repo with the credentials of a URL left out. */
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

/* A URL: our bare clone of it, under state/repos, named by its hash. */
static int
open_url(struct sre_fixrepo *r, const char *url, const char *state,
    char *err, size_t errlen)
{
	char dir[PATH_MAX], name[64];
	struct stat sb;
	const char *cl[] = { "clone", "--bare", "--quiet", "--", url, name,
	    NULL };
	const char *cf[] = { "config", "remote.origin.fetch",
	    "+refs/heads/*:refs/remotes/origin/*", NULL };

	snprintf(name, sizeof(name), "%016llx.git", (unsigned long long)
	    sre_fnv1a64_str(SRE_FNV64_BASIS, url));
	if (snprintf(dir, sizeof(dir), "%s/repos", state) >= (int)sizeof(dir) ||
	    snprintf(r->root, sizeof(r->root), "%s/repos/%s", state, name) >=
	    (int)sizeof(r->root)) {
		snprintf(err, errlen, "%s: path too long", state);
		return EX_CONFIG;
	}
	snprintf(r->remote, sizeof(r->remote), "origin");
	if (stat(r->root, &sb) == 0)
		return EX_OK;
	if (mkdir(state, 0777) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", state, strerror(errno));
		return EX_CANTCREAT;
	}
	if (mkdir(dir, 0777) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return EX_CANTCREAT;
	}
	if (sre_fixrepo_git(r, dir, cl, NULL, 0, err, errlen) != 0) {
		char why[1024];

		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, errlen, "cloning %s: %s", r->display, why);
		sre_fixrepo_rmtree(r->root);
		return EX_UNAVAILABLE;
	}
	sre_fixrepo_git(r, r->root, cf, NULL, 0, err, errlen);
	return EX_OK;
}

/* A path: the top of a working tree, or a bare repository. */
static int
open_path(struct sre_fixrepo *r, const char *repo, char *err, size_t errlen)
{
	const char *tl[] = { "rev-parse", "--show-toplevel", NULL };
	const char *bare[] = { "rev-parse", "--is-bare-repository", NULL };
	char real[PATH_MAX], top[PATH_MAX], line[512];

	if (realpath(repo, real) == NULL) {
		snprintf(err, errlen, "--repo %s: %s", repo, strerror(errno));
		return EX_NOINPUT;
	}
	if (sre_fixrepo_line(r, real, bare, line, sizeof(line), err,
	    errlen) != 0) {
		snprintf(err, errlen, "--repo %s: not a git repository", repo);
		return EX_CONFIG;
	}
	if (strcmp(line, "true") != 0 && (sre_fixrepo_line(r, real, tl, top,
	    sizeof(top), err, errlen) != 0 || strcmp(top, real) != 0)) {
		snprintf(err, errlen, "--repo %s: not the top of a git working "
		    "tree", repo);
		return EX_CONFIG;
	}
	snprintf(r->root, sizeof(r->root), "%s", real);
	return EX_OK;
}

/* The lock file in the repository's common git directory ("": none). */
static void
find_lock(struct sre_fixrepo *r)
{
	const char *cd[] = { "rev-parse", "--git-common-dir", NULL };
	char line[512], err[256];

	if (sre_fixrepo_line(r, r->root, cd, line, sizeof(line), err,
	    sizeof(err)) != 0 || snprintf(r->lockpath, sizeof(r->lockpath),
	    "%s%s%s/sre-fix.lock", line[0] == '/' ? "" : r->root,
	    line[0] == '/' ? "" : "/", line) >= (int)sizeof(r->lockpath))
		r->lockpath[0] = '\0';
}

/* The base branch: asked for, else the remote's HEAD, else ours, else
 * main. */
static int
find_base(struct sre_fixrepo *r, const char *want, char *err, size_t errlen)
{
	const char *sr[] = { "ls-remote", "--symref", r->remote, "HEAD",
	    NULL };
	const char *sh[] = { "symbolic-ref", "--short", "HEAD", NULL };
	char line[512];

	if (want != NULL)
		snprintf(r->base, sizeof(r->base), "%s", want);
	else {
		r->base[0] = '\0';
		if (r->has_remote && sre_fixrepo_line(r, r->root, sr, line,
		    sizeof(line), err, errlen) == 0 &&
		    strncmp(line, "ref: refs/heads/", 16) == 0)
			snprintf(r->base, sizeof(r->base), "%.*s",
			    (int)strcspn(line + 16, "\t "), line + 16);
		if (r->base[0] == '\0' && sre_fixrepo_line(r, r->root, sh,
		    line, sizeof(line), err, errlen) == 0)
			snprintf(r->base, sizeof(r->base), "%.200s", line);
		if (r->base[0] == '\0')
			snprintf(r->base, sizeof(r->base), "main");
	}
	if (!sre_gitops_ref_ok(r->base) && strchr(r->base, '/') == NULL) {
		snprintf(err, errlen, "--base %s: not a usable branch name",
		    r->base);
		return EX_USAGE;
	}
	return EX_OK;
}

int
sre_fixrepo_open(struct sre_fixrepo *r, const struct sre_fixrepo_want *w,
    const char *statedir, char *err, size_t errlen)
{
	const char *gu[] = { "remote", "get-url", r->remote, NULL };
	int ex;

	if (snprintf(r->wtdir, sizeof(r->wtdir), "%s/worktrees", statedir) >=
	    (int)sizeof(r->wtdir) || (mkdir(r->wtdir, 0777) < 0 &&
	    errno != EEXIST)) {
		snprintf(err, errlen, "%s: %s", r->wtdir, strerror(errno));
		return EX_CANTCREAT;
	}
	display_of(w->repo, r->display, sizeof(r->display));
	if (is_url(w->repo))
		ex = open_url(r, w->repo, statedir, err, errlen);
	else {
		ex = open_path(r, w->repo, err, errlen);
		snprintf(r->remote, sizeof(r->remote), "%s",
		    w->remote ? w->remote : "origin");
	}
	if (ex != EX_OK)
		return ex;
	r->has_remote = sre_fixrepo_line(r, r->root, gu, r->url,
	    sizeof(r->url), err, errlen) == 0;
	if (!r->has_remote) {
		r->url[0] = '\0';
		if (w->remote != NULL) {
			snprintf(err, errlen, "--remote %s: no such remote",
			    r->remote);
			return EX_CONFIG;
		}
	}
	find_lock(r);
	return find_base(r, w->base, err, errlen);
}

/* ---- worktrees and refs -------------------------------------------- */

void
sre_fixrepo_wt_remove(struct sre_fixrepo *r, const char *wt)
{
	const char *rm[] = { "worktree", "remove", "--force", "--force", wt,
	    NULL };
	const char *prune[] = { "worktree", "prune", NULL };
	char err[1024];
	struct stat sb;

	if (stat(wt, &sb) == 0 &&
	    sre_fixrepo_git(r, r->root, rm, NULL, 0, err, sizeof(err)) != 0) {
		sre_fixrepo_rmtree(wt);
		sre_fixrepo_git(r, r->root, prune, NULL, 0, err, sizeof(err));
	}
}

int
sre_fixrepo_wt_add(struct sre_fixrepo *r, const char *wt, const char *commit,
    char *err, size_t errlen)
{
	/* --force: a worktree of ours left registered by a crash is
	 * taken over (no "git worktree prune", which could race with
	 * another sre-fix adding its own). */
	const char *add[] = { "worktree", "add", "--quiet", "--force",
	    "--detach", wt, commit, NULL };

	sre_fixrepo_wt_remove(r, wt);		/* left over by a crash */
	return sre_fixrepo_git(r, r->root, add, NULL, 0, err, errlen) == 0 ?
	    0 : -1;
}

int
sre_fixrepo_fetch(struct sre_fixrepo *r, const char *branch, char *out,
    size_t outlen, char *err, size_t errlen)
{
	char spec[600], ref[400], track[400];
	const char *ls[] = { "ls-remote", "--heads", r->remote, ref, NULL };
	const char *fetch[] = { "fetch", "--quiet", "--no-tags", r->remote,
	    spec, NULL };
	const char *rev[] = { "rev-parse", "--verify", "--quiet", track,
	    NULL };
	char line[512];
	int tries;

	snprintf(ref, sizeof(ref), "refs/heads/%s", branch);
	if (sre_fixrepo_line(r, r->root, ls, line, sizeof(line), err,
	    errlen) != 0)
		return -1;
	if (line[0] == '\0')
		return 0;
	snprintf(track, sizeof(track), "refs/remotes/%s/%s", r->remote,
	    branch);
	snprintf(spec, sizeof(spec), "+refs/heads/%s:%s", branch, track);
	/* Another sre-fix fetching the same ref holds its lock a moment. */
	for (tries = 0; sre_fixrepo_git(r, r->root, fetch, NULL, 0, err,
	    errlen) != 0; tries++) {
		if (tries == 5 || strstr(err, "lock") == NULL)
			return -1;
		usleep(100000 * (tries + 1));
	}
	return sre_fixrepo_line(r, r->root, rev, out, outlen, err, errlen) ==
	    0 ? 1 : -1;
}

int
sre_fixrepo_local(struct sre_fixrepo *r, const char *branch, char *out,
    size_t outlen)
{
	char ref[400], err[1024];
	const char *rev[] = { "rev-parse", "--verify", "--quiet", ref, NULL };

	snprintf(ref, sizeof(ref), "refs/heads/%s", branch);
	return sre_fixrepo_line(r, r->root, rev, out, outlen, err,
	    sizeof(err)) == 0 && out[0] != '\0';
}

int
sre_fixrepo_base_commit(struct sre_fixrepo *r, char *out, size_t outlen,
    char *err, size_t errlen)
{
	int rc;

	if (r->has_remote) {
		if ((rc = sre_fixrepo_fetch(r, r->base, out, outlen, err,
		    errlen)) == 0)
			snprintf(err, errlen, "the remote has no branch %s",
			    r->base);
		return rc == 1 ? 0 : -1;
	}
	if (!sre_fixrepo_local(r, r->base, out, outlen)) {
		snprintf(err, errlen, "no branch %s", r->base);
		return -1;
	}
	return 0;
}

int
sre_fixrepo_push(struct sre_fixrepo *r, const char *commit,
    const char *branch, char *err, size_t errlen)
{
	char spec[600];
	const char *pv[] = { "push", "--quiet", "--porcelain", r->remote,
	    spec, NULL };

	snprintf(spec, sizeof(spec), "%s:refs/heads/%s", commit, branch);
	return sre_fixrepo_git(r, r->root, pv, NULL, 0, err, errlen) == 0 ?
	    0 : -1;
}

int
sre_fixrepo_push_delete(struct sre_fixrepo *r, const char *branch,
    char *err, size_t errlen)
{
	char ref[400];
	const char *del[] = { "push", "--quiet", r->remote, ref, NULL };

	snprintf(ref, sizeof(ref), ":refs/heads/%s", branch);
	return sre_fixrepo_git(r, r->root, del, NULL, 0, err, errlen) == 0 ?
	    0 : -1;
}
