/* github.c: a handful of GitHub REST API calls over http.h. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "github.h"
#include "http.h"

static int
part_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n >= 128 || (n == 1 && s[0] == '.') ||
	    (n == 2 && s[0] == '.' && s[1] == '.'))
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && strchr("._-", s[i]) == NULL)
			return 0;
	return 1;
}

static int
set_slug(struct sre_github *g, const char *s, size_t n)
{
	const char *slash = memchr(s, '/', n);
	size_t on, rn;

	if (n > 4 && memcmp(s + n - 4, ".git", 4) == 0)
		n -= 4;
	while (n > 0 && s[n - 1] == '/')
		n--;
	if (slash == NULL || (size_t)(slash - s) >= n)
		return -1;
	on = (size_t)(slash - s);
	rn = n - on - 1;
	if (!part_ok(s, on) || !part_ok(slash + 1, rn))
		return -1;
	memcpy(g->owner, s, on);
	g->owner[on] = '\0';
	memcpy(g->repo, slash + 1, rn);
	g->repo[rn] = '\0';
	return 0;
}

int
sre_github_repo(struct sre_github *g, const char *s, const char *host)
{
	static const char *const pre[] = {
		"https://", "http://", "ssh://git@", "git://", "ssh://", NULL
	};
	const char *const *p;
	size_t hl;

	if (host == NULL)
		host = "github.com";
	hl = strlen(host);
	if (strstr(s, "://") == NULL && strncmp(s, "git@", 4) != 0)
		return set_slug(g, s, strlen(s));
	if (strncmp(s, "git@", 4) == 0) {
		if (strncmp(s + 4, host, hl) != 0 || s[4 + hl] != ':')
			return -1;
		return set_slug(g, s + 5 + hl, strlen(s + 5 + hl));
	}
	for (p = pre; *p != NULL; p++) {
		size_t k = strlen(*p);
		const char *h = s + k;

		if (strncmp(s, *p, k) != 0)
			continue;
		if (strchr(h, '@') != NULL && strchr(h, '@') <
		    h + strcspn(h, "/"))
			h = strchr(h, '@') + 1;	/* user info */
		if (strncmp(h, host, hl) != 0 || h[hl] != '/')
			return -1;
		return set_slug(g, h + hl + 1, strlen(h + hl + 1));
	}
	return -1;
}

int
sre_github_call(const struct sre_github *g, const char *method,
    const char *path, jv body, jv *out, long *status, char *err,
    size_t errlen)
{
	char url[2048], auth[1024], ua[64];
	const char *hdrs[8];
	struct sre_http_req rq;
	struct sre_http_resp rs;
	char *text = NULL;
	size_t tlen = 0;
	int h = 0, rc = -1;

	*out = jv_null();
	*status = 0;
	if (g->token == NULL || !sre_http_header_ok(g->token) ||
	    strlen(g->token) > 900) {
		snprintf(err, errlen, "GitHub token unusable");
		jv_free(body);
		return -1;
	}
	if (snprintf(url, sizeof(url), "%s/repos/%s/%s%s",
	    g->api ? g->api : SRE_GITHUB_API, g->owner, g->repo, path) >=
	    (int)sizeof(url)) {
		snprintf(err, errlen, "GitHub URL too long");
		jv_free(body);
		return -1;
	}
	/* A trailing slash on the base would double up. */
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", g->token);
	snprintf(ua, sizeof(ua), "User-Agent: sre-fix/%s", SRE_VERSION);
	hdrs[h++] = auth;
	hdrs[h++] = "Accept: application/vnd.github+json";
	hdrs[h++] = "X-GitHub-Api-Version: 2022-11-28";
	hdrs[h++] = ua;
	if (jv_get_kind(body) != JV_KIND_NULL) {
		hdrs[h++] = "Content-Type: application/json";
		if ((text = sre_jv_dump(body, &tlen)) == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	} else
		jv_free(body);
	hdrs[h] = NULL;
	memset(&rq, 0, sizeof(rq));
	rq.method = method;
	rq.url = url;
	rq.headers = hdrs;
	rq.body = text;
	rq.bodylen = tlen;
	rq.retries = g->retries;
	rq.max_wait_ms = g->max_wait_ms;
	if (sre_http_do(&rq, &rs, err, errlen) < 0)
		goto done;
	*status = rs.status;
	if (rs.status / 100 != 2) {
		jv e = rs.body ? jv_parse(rs.body) : jv_invalid();
		const char *m = jv_is_valid(e) ? sre_jv_str(e, "message") :
		    NULL;

		if (rs.status == 403 && rs.ratelimit_remaining == 0)
			m = "rate limit exhausted";
		snprintf(err, errlen, "GitHub %s %s: HTTP %ld%s%.200s", method,
		    path, rs.status, m ? ": " : "", m ? m : "");
		jv_free(e);
		goto done;
	}
	if (rs.body != NULL && rs.bodylen > 0) {
		jv v = jv_parse_sized(rs.body, (int)rs.bodylen);

		if (!jv_is_valid(v)) {
			jv_free(v);
			snprintf(err, errlen, "GitHub %s %s: a reply that is "
			    "not JSON", method, path);
			goto done;
		}
		*out = v;
	}
	rc = 0;
done:
	/* The header buffer held the token: do not leave it around. */
	explicit_bzero(auth, sizeof(auth));
	sre_http_resp_free(&rs);
	free(text);
	return rc;
}

int
sre_github_pr_find(const struct sre_github *g, const char *branch, jv *pr,
    char *err, size_t errlen)
{
	char path[512];
	long status;
	jv out;

	*pr = jv_null();
	snprintf(path, sizeof(path), "/pulls?state=all&head=%s:%s", g->owner,
	    branch);
	if (sre_github_call(g, "GET", path, jv_null(), &out, &status, err,
	    errlen) < 0)
		return -1;
	if (jv_get_kind(out) != JV_KIND_ARRAY) {
		jv_free(out);
		snprintf(err, errlen, "GitHub GET /pulls: not a list");
		return -1;
	}
	if (jv_array_length(jv_copy(out)) == 0) {
		jv_free(out);
		return 0;
	}
	*pr = jv_array_get(out, 0);
	return 1;
}

int
sre_github_issue_open(const struct sre_github *g, const char *title,
    const char *body, jv labels, jv *issue, char *err, size_t errlen)
{
	jv b = jv_object();
	long status;

	b = jv_object_set(b, jv_string("title"), jv_string(title));
	b = jv_object_set(b, jv_string("body"), jv_string(body));
	b = jv_object_set(b, jv_string("labels"), jv_copy(labels));
	return sre_github_call(g, "POST", "/issues", b, issue, &status, err,
	    errlen);
}

int
sre_github_pr_open(const struct sre_github *g, const char *title,
    const char *head, const char *base, const char *body, jv *pr,
    char *err, size_t errlen)
{
	jv b = jv_object();
	long status;

	b = jv_object_set(b, jv_string("title"), jv_string(title));
	b = jv_object_set(b, jv_string("head"), jv_string(head));
	b = jv_object_set(b, jv_string("base"), jv_string(base));
	b = jv_object_set(b, jv_string("body"), jv_string(body));
	b = jv_object_set(b, jv_string("maintainer_can_modify"), jv_true());
	return sre_github_call(g, "POST", "/pulls", b, pr, &status, err,
	    errlen);
}

int
sre_github_labels_add(const struct sre_github *g, long number, jv labels,
    char *err, size_t errlen)
{
	char path[64];
	long status;
	jv out;
	int rc;

	snprintf(path, sizeof(path), "/issues/%ld/labels", number);
	rc = sre_github_call(g, "POST", path, jv_object_set(jv_object(),
	    jv_string("labels"), jv_copy(labels)), &out, &status, err, errlen);
	jv_free(out);
	return rc;
}

int
sre_github_merge(const struct sre_github *g, long number, char *sha,
    size_t shalen, char *err, size_t errlen)
{
	char path[64];
	long status;
	jv out;
	int rc;

	snprintf(path, sizeof(path), "/pulls/%ld/merge", number);
	rc = sre_github_call(g, "PUT", path, jv_object_set(jv_object(),
	    jv_string("merge_method"), jv_string("merge")), &out, &status, err,
	    errlen);
	if (rc == 0 && sha != NULL && shalen > 0) {
		const char *s = sre_jv_str(out, "sha");

		snprintf(sha, shalen, "%s", s ? s : "");
	}
	jv_free(out);
	return rc;
}

int
sre_github_comment(const struct sre_github *g, long number, const char *body,
    char *err, size_t errlen)
{
	char path[64];
	long status;
	jv out;
	int rc;

	snprintf(path, sizeof(path), "/issues/%ld/comments", number);
	rc = sre_github_call(g, "POST", path, jv_object_set(jv_object(),
	    jv_string("body"), jv_string(body)), &out, &status, err, errlen);
	jv_free(out);
	return rc;
}

int
sre_github_close(const struct sre_github *g, int kind, long number,
    char *err, size_t errlen)
{
	char path[64];
	long status;
	jv out;
	int rc;

	snprintf(path, sizeof(path), "/%s/%ld", kind == 'p' ? "pulls" :
	    "issues", number);
	rc = sre_github_call(g, "PATCH", path, jv_object_set(jv_object(),
	    jv_string("state"), jv_string("closed")), &out, &status, err,
	    errlen);
	jv_free(out);
	return rc;
}
