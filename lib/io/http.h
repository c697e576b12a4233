/*
 * http.h: one HTTP request over libcurl, with retries and backoff.
 *
 * Generic on purpose: the GitHub client (github.h), webhooks
 * (sre-escalate) and the LLM client use it.  A request is retried on
 * connection failures, timeouts, 5xx, 429 and a 403 that carries
 * "X-RateLimit-Remaining: 0"; the wait before a retry is what the server
 * asked for (Retry-After seconds, or until X-RateLimit-Reset) when it
 * said so, else an exponential backoff (backoff_ms, doubled each time).
 * A wait the server asks for that is longer than max_wait_ms is not
 * waited: the response is returned as it is.
 *
 * Secrets: request headers (Authorization) and bodies are never written
 * anywhere by this module, and messages name a URL only by its scheme,
 * host and port (sre_http_redact), since webhook URLs carry tokens in
 * their paths.  Redirects are not followed (a redirect would carry the
 * Authorization header elsewhere); only http and https are spoken.
 *
 *	struct sre_http_req rq = { .method = "POST", .url = url,
 *	    .headers = hdrs, .body = json, .bodylen = strlen(json) };
 *	struct sre_http_resp rs;
 *	if (sre_http_do(&rq, &rs, err, sizeof(err)) < 0)
 *		... no response: err ...
 *	else if (rs.status / 100 != 2)
 *		... the server said no ...
 *	sre_http_resp_free(&rs);
 */
#ifndef SRE_HTTP_H
#define SRE_HTTP_H

#include <stddef.h>

struct sre_http_req {
	const char *method;		/* NULL: GET, or POST with a body */
	const char *url;
	const char *const *headers;	/* "Name: value", NULL terminated */
	const char *body;		/* may be NULL */
	size_t bodylen;
	long timeout_ms;		/* per attempt; 0: 15000 */
	int retries;			/* extra attempts; < 0: none, 0: 3 */
	long backoff_ms;		/* first backoff; 0: $SRE_HTTP_BACKOFF_MS,
					   else 500 */
	long max_wait_ms;		/* longest wait the server may ask
					   for; 0: 60000 */
};

struct sre_http_resp {
	long status;			/* HTTP status of the last attempt */
	char *body;			/* NUL terminated (malloc), or NULL */
	size_t bodylen;
	long long ratelimit_remaining;	/* X-RateLimit-Remaining, or -1 */
	long long ratelimit_reset;	/* X-RateLimit-Reset (epoch s), or -1 */
	long retry_after_s;		/* Retry-After seconds, or -1 */
	int attempts;
};

/*
 * Send the request, retrying as described above.  Returns 0 when a
 * response came (any status: the caller judges it), -1 when none did
 * after every attempt (err says why, with the URL redacted).  rs is
 * always set up; free it with sre_http_resp_free.
 */
int sre_http_do(const struct sre_http_req *rq, struct sre_http_resp *rs,
    char *err, size_t errlen);

/* Free a response's body; accepts a zeroed one. */
void sre_http_resp_free(struct sre_http_resp *rs);

/* "scheme://host[:port]" of url into out, dropping user info, path and
 * query: safe to print.  Returns out. */
char *sre_http_redact(const char *url, char *out, size_t outlen);

/* Non-zero when s may go into a header value: no CR, LF or NUL. */
int sre_http_header_ok(const char *s);

#endif
