/*
 * github.h: the few GitHub REST API calls sre-fix makes: find, open,
 * label, merge, comment on and close issues and pull requests.
 *
 * The API base URL is configurable (GITHUB_API_URL; GitHub Enterprise, or
 * a local stand-in in tests).  Requests carry "Authorization: Bearer
 * TOKEN", "Accept: application/vnd.github+json", the API version and a
 * User-Agent; they go through http.h, so rate limits (X-RateLimit-*,
 * Retry-After) are honoured and the token is never written anywhere.
 *
 * jv ownership is libjq's: arguments are borrowed unless a comment says
 * "Consumes"; results are new references.
 */
#ifndef SRE_GITHUB_H
#define SRE_GITHUB_H

#include <stddef.h>

#include <jv.h>

#define SRE_GITHUB_API	"https://api.github.com"

struct sre_github {
	const char *api;	/* base URL, no trailing slash needed */
	char owner[128];
	char repo[128];
	const char *token;	/* never logged */
	int retries;		/* as sre_http_req.retries */
	long max_wait_ms;	/* as sre_http_req.max_wait_ms */
};

/*
 * Take "OWNER/REPO" or a GitHub remote URL (https://github.com/O/R(.git),
 * git@github.com:O/R(.git), ssh://git@github.com/O/R(.git)) into g's owner
 * and repo.  host (may be NULL: "github.com") is the host a URL must
 * name.  0, or -1 when it is neither.
 */
int sre_github_repo(struct sre_github *g, const char *s, const char *host);

/*
 * Call the API: method and a path under /repos/OWNER/REPO ("/pulls"),
 * with body (consumed; jv_null() for none) sent as JSON.  Returns 0 on a
 * 2xx with the parsed response in *out (null when empty), or -1 with
 * *status (0 when there was no response) and a message in err that
 * holds GitHub's "message" but never the token.
 */
int sre_github_call(const struct sre_github *g, const char *method,
    const char *path, jv body, jv *out, long *status, char *err,
    size_t errlen);

/* The pull request (open or closed) whose head is branch: 1 with *pr
 * set, 0 when none, -1 on error. */
int sre_github_pr_find(const struct sre_github *g, const char *branch,
    jv *pr, char *err, size_t errlen);

/* Open an issue with labels (an array of strings, borrowed). */
int sre_github_issue_open(const struct sre_github *g, const char *title,
    const char *body, jv labels, jv *issue, char *err, size_t errlen);

/* Open a pull request of head into base. */
int sre_github_pr_open(const struct sre_github *g, const char *title,
    const char *head, const char *base, const char *body, jv *pr,
    char *err, size_t errlen);

/* Add labels (borrowed array) to issue or pull request number. */
int sre_github_labels_add(const struct sre_github *g, long number,
    jv labels, char *err, size_t errlen);

/* Merge pull request number ("merge" method); its merge commit into sha
 * (may be NULL). */
int sre_github_merge(const struct sre_github *g, long number, char *sha,
    size_t shalen, char *err, size_t errlen);

/* Comment on issue or pull request number. */
int sre_github_comment(const struct sre_github *g, long number,
    const char *body, char *err, size_t errlen);

/* Close an issue ('i') or a pull request ('p'). */
int sre_github_close(const struct sre_github *g, int kind, long number,
    char *err, size_t errlen);

#endif
