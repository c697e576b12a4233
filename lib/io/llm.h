/*
 * llm.h: an OpenAI-compatible chat-completions client on libcurl's multi
 * interface, made to sit inside a stream loop without ever blocking it.
 *
 *	struct sre_llm *l = sre_llm_new(&conf, err, sizeof(err));
 *	sre_llm_submit(l, tag, body, len);	   queue a request
 *	... in the loop, after each line and on idle:
 *	sre_llm_perform(l);			   move transfers on
 *	while (sre_llm_result(l, &r) == 1) {	   take finished ones
 *		... r.tag, r.ok, r.body ...
 *		sre_llm_result_free(&r);
 *	}
 *	timeout = sre_llm_timeout(l);		   when to come back
 *	...
 *	sre_llm_free(l);
 *
 * Requests are POSTed as JSON to <url>/chat/completions with
 * "Authorization: Bearer <api_key>" when a key is set.  At most
 * `concurrency` transfers run at once; the others wait in a queue
 * (bounded: sre_llm_submit fails when it is full).  Each attempt has a
 * timeout.  A connection failure, a timeout, HTTP 429 or 5xx is retried
 * up to `retries` times after a backoff that doubles from backoff_ms,
 * or after the server's Retry-After (seconds or an HTTP date), capped at
 * max_backoff_ms.  Other statuses are final.  Redirects are not
 * followed (the key must not travel to another host) and only http and
 * https are spoken.
 *
 * Secrets: the key goes into one request header and nowhere else; no
 * error message, result or diagnostic of this module contains it or the
 * request headers.
 *
 * The module never prints and never exits.  Not thread-safe: one client
 * per thread.
 */
#ifndef SRE_LLM_H
#define SRE_LLM_H

#include <stddef.h>
#include <stdint.h>

#define SRE_LLM_DEFAULT_URL	"https://api.openai.com/v1"
#define SRE_LLM_DEFAULT_MODEL	"gpt-4o-mini"
#define SRE_LLM_QUEUE_MAX	256	/* waiting requests at most */

struct sre_llm_conf {
	const char *url;	/* base URL; NULL: SRE_LLM_DEFAULT_URL */
	const char *api_key;	/* NULL or "": no Authorization header */
	long timeout_ms;	/* per attempt; 0: 30000 */
	int retries;		/* after the first attempt; < 0: 3 */
	long backoff_ms;	/* first backoff; 0: 500 */
	long max_backoff_ms;	/* cap, Retry-After included; 0: 30000 */
	int concurrency;	/* transfers at once; 0: 4 */
	size_t max_response;	/* bytes; 0: 1 MiB */
};

struct sre_llm_result {
	uint64_t tag;		/* as submitted */
	int ok;			/* HTTP 2xx and a body */
	long status;		/* last HTTP status, 0 if none came */
	char *body;		/* the last response body (NUL-terminated,
				   malloc'd; NULL if none) */
	size_t len;
	int attempts;
	double latency_ms;	/* from submission to the end */
	char error[256];	/* when !ok: what went wrong */
};

struct sre_llm;

/*
 * A new client.  Checks the URL (http or https, a host).  Returns NULL
 * with a message in err for a bad configuration or when libcurl cannot
 * start.
 */
struct sre_llm *sre_llm_new(const struct sre_llm_conf *conf, char *err,
    size_t errlen);

/* Free, aborting transfers in progress; accepts NULL. */
void sre_llm_free(struct sre_llm *l);

/* The endpoint requests go to (borrowed). */
const char *sre_llm_endpoint(const struct sre_llm *l);

/* Non-zero when the endpoint's host is this machine (localhost,
 * 127.0.0.0/8, ::1). */
int sre_llm_is_local(const struct sre_llm *l);

/*
 * Queue one request: body (len bytes, copied) is the JSON to POST.
 * Returns 0, or -1 when the queue is full or out of memory.
 */
int sre_llm_submit(struct sre_llm *l, uint64_t tag, const char *body,
    size_t len);

/*
 * Move transfers on without blocking: start queued ones (up to the
 * concurrency), read what arrived, finish and retry.  Returns the number
 * of requests not yet finished.
 */
size_t sre_llm_perform(struct sre_llm *l);

/*
 * Hand out one finished request: 1 with *r filled (free it with
 * sre_llm_result_free), 0 when none is finished.
 */
int sre_llm_result(struct sre_llm *l, struct sre_llm_result *r);

/* Free what a result holds; accepts a zeroed result. */
void sre_llm_result_free(struct sre_llm_result *r);

/*
 * Milliseconds until sre_llm_perform should be called again (0: now),
 * or -1 when nothing is pending.
 */
long sre_llm_timeout(struct sre_llm *l);

/*
 * Wait up to timeout_ms for transfer activity (curl_multi_poll) and
 * move transfers on.  For draining at the end of input.  Returns the
 * number of requests not yet finished.
 */
size_t sre_llm_wait(struct sre_llm *l, int timeout_ms);

/* Change the concurrency (>= 1); running transfers are not stopped. */
void sre_llm_set_concurrency(struct sre_llm *l, int n);
int sre_llm_concurrency(const struct sre_llm *l);

/* Requests queued, running or waiting to retry. */
size_t sre_llm_pending(const struct sre_llm *l);

/* The most transfers that ran at once so far. */
int sre_llm_peak(const struct sre_llm *l);

/* Finish every pending request as failed with error why. */
void sre_llm_cancel_all(struct sre_llm *l, const char *why);

#endif
