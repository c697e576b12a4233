/* http.c: libcurl requests with retries, backoff and rate-limit waits. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "http.h"
#include "sbuf.h"
#include "sig.h"

#define BODY_MAX (32u * 1024 * 1024)

struct sink {
	struct sre_sbuf b;
	int over;
};

static size_t
on_body(char *data, size_t size, size_t n, void *ctx)
{
	struct sink *s = ctx;
	size_t k = size * n;

	if (s->b.n + k > BODY_MAX) {
		s->over = 1;
		return 0;
	}
	sre_sbuf_add(&s->b, data, k);
	return s->b.oom ? 0 : k;
}

/* Header name match, case-insensitive; returns the value or NULL. */
static const char *
header_value(const char *line, size_t n, const char *name, size_t *vlen)
{
	size_t k = strlen(name);
	const char *v;

	if (n <= k || strncasecmp(line, name, k) != 0 || line[k] != ':')
		return NULL;
	for (v = line + k + 1; v < line + n && (*v == ' ' || *v == '\t'); v++)
		;
	*vlen = (size_t)(line + n - v);
	while (*vlen > 0 && isspace((unsigned char)v[*vlen - 1]))
		(*vlen)--;
	return v;
}

static long long
num_of(const char *v, size_t n)
{
	char buf[32];
	char *end;
	long long x;

	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, v, n);
	buf[n] = '\0';
	errno = 0;
	x = strtoll(buf, &end, 10);
	return errno == 0 && *end == '\0' && x >= 0 ? x : -1;
}

static size_t
on_header(char *data, size_t size, size_t n, void *ctx)
{
	struct sre_http_resp *rs = ctx;
	size_t k = size * n, vl;
	const char *v;

	/* A new response (after a 100 Continue) starts over. */
	if (k >= 5 && strncmp(data, "HTTP/", 5) == 0) {
		rs->ratelimit_remaining = rs->ratelimit_reset = -1;
		rs->retry_after_s = -1;
	} else if ((v = header_value(data, k, "X-RateLimit-Remaining",
	    &vl)) != NULL)
		rs->ratelimit_remaining = num_of(v, vl);
	else if ((v = header_value(data, k, "X-RateLimit-Reset", &vl)) !=
	    NULL)
		rs->ratelimit_reset = num_of(v, vl);
	else if ((v = header_value(data, k, "Retry-After", &vl)) != NULL)
		rs->retry_after_s = (long)num_of(v, vl);
	return k;
}

char *
sre_http_redact(const char *url, char *out, size_t outlen)
{
	const char *s = strstr(url, "://"), *host, *end, *at;

	if (s == NULL) {
		snprintf(out, outlen, "(a URL)");
		return out;
	}
	host = s + 3;
	end = host + strcspn(host, "/?#");
	at = memchr(host, '@', (size_t)(end - host));
	if (at != NULL)
		host = at + 1;
	snprintf(out, outlen, "%.*s%.*s", (int)(s + 3 - url), url,
	    (int)(end - host), host);
	return out;
}

int
sre_http_header_ok(const char *s)
{
	return s != NULL && strpbrk(s, "\r\n") == NULL;
}

void
sre_http_resp_free(struct sre_http_resp *rs)
{
	if (rs == NULL)
		return;
	free(rs->body);
	rs->body = NULL;
	rs->bodylen = 0;
}

static void
sleep_ms(long ms)
{
	struct timespec ts;

	/* Sleep in slices so SIGTERM cuts a long wait short. */
	while (ms > 0 && !sre_stopping()) {
		long slice = ms > 200 ? 200 : ms;

		ts.tv_sec = slice / 1000;
		ts.tv_nsec = (slice % 1000) * 1000000L;
		nanosleep(&ts, NULL);
		ms -= slice;
	}
}

static int
retryable(const struct sre_http_resp *rs)
{
	return rs->status >= 500 || rs->status == 429 ||
	    (rs->status == 403 && rs->ratelimit_remaining == 0);
}

/* How long the server asked us to wait, in ms, or -1 if it did not. */
static long
asked_wait(const struct sre_http_resp *rs)
{
	if (rs->retry_after_s >= 0)
		return rs->retry_after_s * 1000;
	if (rs->ratelimit_remaining == 0 && rs->ratelimit_reset > 0) {
		/* The reset is the server's wall clock, not event time. */
		long long d = (rs->ratelimit_reset - (long long)time(NULL)) *
		    1000;

		return d > 0 ? (long)d : 0;
	}
	return -1;
}

static void
global_init(void)
{
	static int done;

	if (!done) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		done = 1;
	}
}

int
sre_http_do(const struct sre_http_req *rq, struct sre_http_resp *rs,
    char *err, size_t errlen)
{
	struct curl_slist *hl = NULL, *nl;
	char where[256], cerr[CURL_ERROR_SIZE];
	const char *env = getenv("SRE_HTTP_BACKOFF_MS");
	long backoff = rq->backoff_ms, wait, maxwait;
	int tries, i, got = 0;
	CURL *c;

	memset(rs, 0, sizeof(*rs));
	rs->ratelimit_remaining = rs->ratelimit_reset = -1;
	rs->retry_after_s = -1;
	sre_http_redact(rq->url, where, sizeof(where));
	if (backoff <= 0)
		backoff = env != NULL && *env != '\0' ? strtol(env, NULL, 10) :
		    500;
	if (backoff < 0)
		backoff = 0;
	maxwait = rq->max_wait_ms > 0 ? rq->max_wait_ms : 60000;
	tries = 1 + (rq->retries < 0 ? 0 : rq->retries == 0 ? 3 : rq->retries);
	global_init();
	if ((c = curl_easy_init()) == NULL) {
		snprintf(err, errlen, "%s: cannot set up libcurl", where);
		return -1;
	}
	for (i = 0; rq->headers != NULL && rq->headers[i] != NULL; i++) {
		if ((nl = curl_slist_append(hl, rq->headers[i])) == NULL) {
			snprintf(err, errlen, "out of memory");
			curl_slist_free_all(hl);
			curl_easy_cleanup(c);
			return -1;
		}
		hl = nl;
	}
	for (i = 0; i < tries; i++) {
		struct sink body = { 0 };
		CURLcode rc;

		curl_easy_reset(c);
		curl_easy_setopt(c, CURLOPT_URL, rq->url);
#if LIBCURL_VERSION_NUM >= 0x075500
		curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
		curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
		    rq->timeout_ms > 0 ? rq->timeout_ms : 15000L);
		curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
		curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
		curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
		curl_easy_setopt(c, CURLOPT_HEADERDATA, rs);
		if (rq->body != NULL) {
			curl_easy_setopt(c, CURLOPT_POSTFIELDS, rq->body);
			curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
			    (curl_off_t)rq->bodylen);
		}
		if (rq->method != NULL)
			curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, rq->method);
		cerr[0] = '\0';
		rs->ratelimit_remaining = rs->ratelimit_reset = -1;
		rs->retry_after_s = -1;
		rs->attempts = i + 1;
		rc = curl_easy_perform(c);
		free(rs->body);
		rs->body = body.b.p;
		rs->bodylen = body.b.n;
		if (rc != CURLE_OK) {
			rs->status = 0;
			got = 0;
			snprintf(err, errlen, "%s: %s", where, body.over ?
			    "response too large" : body.b.oom ? "out of memory" :
			    cerr[0] ? cerr : curl_easy_strerror(rc));
		} else {
			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE,
			    &rs->status);
			got = 1;
			if (!retryable(rs))
				break;
			snprintf(err, errlen, "%s: HTTP %ld", where,
			    rs->status);
		}
		if (i + 1 == tries || sre_stopping())
			break;
		wait = got ? asked_wait(rs) : -1;
		if (wait > maxwait)
			break;		/* not worth waiting: give it back */
		if (wait < 0)
			wait = backoff;
		sleep_ms(wait);
		backoff *= 2;
	}
	curl_slist_free_all(hl);
	curl_easy_cleanup(c);
	return got ? 0 : -1;
}
