/*
 * fixrepo.h: the GitOps repository as sre-fix works on it: opening it
 * (a local clone, or a bare clone of a URL under the state directory),
 * git commands under a lock, worktrees of its own, branches, fetches and
 * pushes.
 *
 *	struct sre_fixrepo r;
 *	sre_fixrepo_init(&r, say, ctx);
 *	if (sre_fixrepo_identity(&r, author, err, sizeof(err)) < 0 ||
 *	    (ex = sre_fixrepo_open(&r, &want, statedir, err, sizeof(err))) !=
 *	    EX_OK) ... report err ...;
 *	sre_fixrepo_base_commit(&r, sha, sizeof(sha), err, sizeof(err));
 *	...
 *	sre_fixrepo_close(&r);
 *
 * git's worktree bookkeeping is not safe against a concurrent "worktree
 * add": fetch, branch and worktree commands read every worktree's files.
 * So git commands on the repository itself (not inside a worktree) hold
 * an flock on <git-common-dir>/sre-fix.lock, shared by every sre-fix on
 * that repository.  Messages of git that hold the GitHub token (r->token)
 * have it masked before they reach err.
 *
 * The library prints nothing: what is worth saying but is no error goes
 * to the say callback (which may be NULL).
 */
#ifndef SRE_FIXREPO_H
#define SRE_FIXREPO_H

#include <limits.h>
#include <stdarg.h>
#include <stddef.h>

/*
 * What a message to say is: a warning, a note shown with -v only, or
 * text shown as is unless quiet (a dry run's diff).
 */
enum { SRE_FIX_WARN, SRE_FIX_INFO, SRE_FIX_TEXT };

typedef void sre_fix_say_fn(void *ctx, int level, const char *msg);

struct sre_fixrepo {
	char root[PATH_MAX];		/* the repository (or our clone) */
	char display[1024];		/* the repository, credentials removed */
	char remote[64];		/* the remote pushed to */
	char url[512];			/* its URL ("" without a remote) */
	char base[256];			/* the branch fixes start from */
	int has_remote;
	int lockfd;			/* see above; -1 until needed */
	char lockpath[PATH_MAX + 64];	/* "": no lock */
	char wtdir[PATH_MAX];		/* <state>/worktrees */
	char ident[4][320];		/* GIT_AUTHOR_NAME=... */
	const char *identv[5];		/* NULL-terminated */
	const char *token;		/* masked in messages; may be NULL */
	sre_fix_say_fn *say;
	void *say_ctx;
};

/* What sre_fixrepo_open is asked for (strings borrowed; NULL: default). */
struct sre_fixrepo_want {
	const char *repo;		/* a path or a URL (required) */
	const char *remote;		/* default "origin" */
	const char *base;		/* default the remote's HEAD, else ours */
};

/* Zero r, with no lock open and say (may be NULL) for messages. */
void sre_fixrepo_init(struct sre_fixrepo *r, sre_fix_say_fn *say,
    void *ctx);

/* Close r's lock file.  r may be NULL. */
void sre_fixrepo_close(struct sre_fixrepo *r);

/* Say a message through r's callback (printf-like, cut to 4 KB; level
 * SRE_FIX_TEXT is never cut); nothing without a callback. */
void sre_fixrepo_say(const struct sre_fixrepo *r, int level,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void sre_fixrepo_vsay(const struct sre_fixrepo *r, int level,
    const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));

/*
 * Who commits: author "NAME <EMAIL>", or NULL for SRE-Space
 * <sre-fix@localhost> where the environment's GIT_AUTHOR_NAME and the
 * like are unset.  Sets r->identv.  0, or -1 with a message in err.
 */
int sre_fixrepo_identity(struct sre_fixrepo *r, const char *author,
    char *err, size_t errlen);

/*
 * Open the repository: a local path must be the top of a working tree or
 * a bare repository; a URL is cloned bare under statedir/repos (once; a
 * later run fetches).  Finds the remote (its URL in r->url), the base
 * branch and the lock; worktrees go under statedir/worktrees (made
 * here).  statedir is an absolute path.  Returns a sysexits code
 * (EX_NOINPUT, EX_CONFIG, EX_USAGE, EX_CANTCREAT, EX_UNAVAILABLE) with a
 * message in err.
 */
int sre_fixrepo_open(struct sre_fixrepo *r,
    const struct sre_fixrepo_want *w, const char *statedir, char *err,
    size_t errlen);

/* Mask the token in s (NUL-terminated), in place. */
void sre_fixrepo_scrub(const struct sre_fixrepo *r, char *s);

/*
 * Run git in dir (sre_git), with r's identity, under the lock when dir is
 * r->root (the pointer itself).  in (may be NULL) is its standard input.
 * 0 when git exited 0, else non-zero with git's message in err.
 */
int sre_fixrepo_git(struct sre_fixrepo *r, const char *dir,
    const char *const *args, const char *in, size_t inlen, char *err,
    size_t errlen);

/* As sre_fixrepo_git without the lock, keeping the first line of
 * standard output in out. */
int sre_fixrepo_line(struct sre_fixrepo *r, const char *dir,
    const char *const *args, char *out, size_t outlen, char *err,
    size_t errlen);

/* Remove the file tree at path (no symlink followed).  Best effort. */
void sre_fixrepo_rmtree(const char *path);

/* Add a detached worktree at wt on commit, taking over one left behind
 * by a crash.  0, or -1 with a message in err. */
int sre_fixrepo_wt_add(struct sre_fixrepo *r, const char *wt,
    const char *commit, char *err, size_t errlen);

/* Remove the worktree at wt, if there is one.  Best effort. */
void sre_fixrepo_wt_remove(struct sre_fixrepo *r, const char *wt);

/* Fetch branch from the remote and put its commit in out: 1 found, 0 the
 * remote has no such branch, -1 error (err). */
int sre_fixrepo_fetch(struct sre_fixrepo *r, const char *branch, char *out,
    size_t outlen, char *err, size_t errlen);

/* The commit of the local branch in out: 1, or 0 when there is none. */
int sre_fixrepo_local(struct sre_fixrepo *r, const char *branch, char *out,
    size_t outlen);

/* The commit of the base branch (fetched from the remote if there is
 * one) in out: 0, or -1 with a message in err. */
int sre_fixrepo_base_commit(struct sre_fixrepo *r, char *out, size_t outlen,
    char *err, size_t errlen);

/* Push commit to branch on the remote: 0, or -1 (err). */
int sre_fixrepo_push(struct sre_fixrepo *r, const char *commit,
    const char *branch, char *err, size_t errlen);

/* Delete branch on the remote: 0, or -1 (err). */
int sre_fixrepo_push_delete(struct sre_fixrepo *r, const char *branch,
    char *err, size_t errlen);

#endif
