/* llm.c: chat completions over libcurl multi (see llm.h). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "clock.h"
#include "llm.h"

#ifndef SRE_VERSION
#define SRE_VERSION "0"
#endif

enum { Q_QUEUED, Q_RUNNING, Q_WAIT, Q_DONE };

struct req {
	uint64_t tag;
	char *body;
	size_t len;
	int state, attempts;
	double t0, next_ms;	/* monotonic ms */
	CURL *h;
	struct curl_slist *hdr;
	char *resp;
	size_t rlen, rcap;
	int too_big, ok;
	size_t max;		/* response bytes at most */
	long status;
	char error[256];
	char cerr[CURL_ERROR_SIZE];
	struct req *next;	/* in submission order */
};

struct sre_llm {
	CURLM *multi;
	char endpoint[2048];
	char *auth;		/* "Authorization: Bearer ..." or NULL */
	int local;
	long timeout_ms, backoff_ms, max_backoff_ms;
	int retries, concurrency, running, peak;
	size_t max_response, npending;
	struct req *head, *tail;	/* pending, oldest first */
	struct req *done, *done_tail;	/* finished, not handed out */
};

static int
host_is_local(const char *host)
{
	if (host == NULL)
		return 0;
	if (strcasecmp(host, "localhost") == 0 || strcmp(host, "::1") == 0 ||
	    strcmp(host, "[::1]") == 0)
		return 1;
	return strncmp(host, "127.", 4) == 0 &&
	    strspn(host + 4, "0123456789.") == strlen(host + 4);
}

struct sre_llm *
sre_llm_new(const struct sre_llm_conf *c, char *err, size_t errlen)
{
	static int inited;
	struct sre_llm *l;
	const char *url = c->url && *c->url ? c->url : SRE_LLM_DEFAULT_URL;
	CURLU *u;
	char *scheme = NULL, *host = NULL;
	size_t n;

	if (!inited) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			snprintf(err, errlen, "libcurl failed to start");
			return NULL;
		}
		inited = 1;
	}
	if ((u = curl_url()) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
		snprintf(err, errlen, "LLM URL '%.200s': not an http or https "
		    "URL", url);
		curl_free(scheme);
		curl_free(host);
		curl_url_cleanup(u);
		return NULL;
	}
	if ((l = calloc(1, sizeof(*l))) == NULL) {
		snprintf(err, errlen, "out of memory");
		curl_free(scheme);
		curl_free(host);
		curl_url_cleanup(u);
		return NULL;
	}
	l->local = host_is_local(host);
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	n = strlen(url);
	while (n > 0 && url[n - 1] == '/')
		n--;
	if (n + sizeof("/chat/completions") > sizeof(l->endpoint)) {
		snprintf(err, errlen, "LLM URL too long");
		free(l);
		return NULL;
	}
	memcpy(l->endpoint, url, n);
	memcpy(l->endpoint + n, "/chat/completions",
	    sizeof("/chat/completions"));
	if (c->api_key != NULL && *c->api_key != '\0') {
		size_t klen = strlen(c->api_key), i;

		for (i = 0; i < klen; i++)
			if ((unsigned char)c->api_key[i] < 0x21 ||
			    c->api_key[i] == 0x7f) {
				snprintf(err, errlen, "the API key holds a "
				    "space or a control character");
				free(l);
				return NULL;
			}
		if ((l->auth = malloc(klen + 32)) == NULL) {
			free(l);
			snprintf(err, errlen, "out of memory");
			return NULL;
		}
		snprintf(l->auth, klen + 32, "Authorization: Bearer %s",
		    c->api_key);
	}
	l->timeout_ms = c->timeout_ms > 0 ? c->timeout_ms : 30000;
	l->retries = c->retries >= 0 ? c->retries : 3;
	l->backoff_ms = c->backoff_ms > 0 ? c->backoff_ms : 500;
	l->max_backoff_ms = c->max_backoff_ms > 0 ? c->max_backoff_ms : 30000;
	l->concurrency = c->concurrency > 0 ? c->concurrency : 4;
	l->max_response = c->max_response > 0 ? c->max_response : 1 << 20;
	if ((l->multi = curl_multi_init()) == NULL) {
		snprintf(err, errlen, "libcurl: no multi handle");
		free(l->auth);
		free(l);
		return NULL;
	}
	return l;
}

static void
req_free(struct req *r)
{
	if (r == NULL)
		return;
	free(r->body);
	free(r->resp);
	curl_slist_free_all(r->hdr);
	free(r);
}

static void
req_stop(struct sre_llm *l, struct req *r)
{
	if (r->h != NULL) {
		curl_multi_remove_handle(l->multi, r->h);
		curl_easy_cleanup(r->h);
		r->h = NULL;
		l->running--;
	}
	curl_slist_free_all(r->hdr);
	r->hdr = NULL;
}

void
sre_llm_free(struct sre_llm *l)
{
	struct req *r, *nx;

	if (l == NULL)
		return;
	for (r = l->head; r != NULL; r = nx) {
		nx = r->next;
		req_stop(l, r);
		req_free(r);
	}
	for (r = l->done; r != NULL; r = nx) {
		nx = r->next;
		req_free(r);
	}
	curl_multi_cleanup(l->multi);
	if (l->auth != NULL) {
		explicit_bzero(l->auth, strlen(l->auth));
		free(l->auth);
	}
	free(l);
}

const char *
sre_llm_endpoint(const struct sre_llm *l)
{
	return l->endpoint;
}

int
sre_llm_is_local(const struct sre_llm *l)
{
	return l->local;
}

void
sre_llm_set_concurrency(struct sre_llm *l, int n)
{
	l->concurrency = n > 0 ? n : 1;
}

int
sre_llm_concurrency(const struct sre_llm *l)
{
	return l->concurrency;
}

size_t
sre_llm_pending(const struct sre_llm *l)
{
	return l->npending;
}

int
sre_llm_peak(const struct sre_llm *l)
{
	return l->peak;
}

int
sre_llm_submit(struct sre_llm *l, uint64_t tag, const char *body,
    size_t len)
{
	struct req *r;

	if (l->npending >= SRE_LLM_QUEUE_MAX + (size_t)l->concurrency)
		return -1;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return -1;
	if ((r->body = malloc(len + 1)) == NULL) {
		free(r);
		return -1;
	}
	memcpy(r->body, body, len);
	r->body[len] = '\0';
	r->len = len;
	r->tag = tag;
	r->max = l->max_response;
	r->state = Q_QUEUED;
	r->t0 = sre_mono_msf();
	if (l->tail != NULL)
		l->tail->next = r;
	else
		l->head = r;
	l->tail = r;
	l->npending++;
	return 0;
}

static size_t
on_data(char *p, size_t size, size_t nmemb, void *arg)
{
	struct req *r = arg;
	size_t n = size * nmemb;

	if (r->too_big || r->rlen + n > r->max) {
		r->too_big = 1;
		return 0;	/* curl ends the transfer: CURLE_WRITE_ERROR */
	}
	if (r->rlen + n + 1 > r->rcap) {
		size_t nc = r->rcap ? r->rcap : 4096;
		char *nr;

		while (nc < r->rlen + n + 1)
			nc *= 2;
		if ((nr = realloc(r->resp, nc)) == NULL)
			return 0;
		r->resp = nr;
		r->rcap = nc;
	}
	memcpy(r->resp + r->rlen, p, n);
	r->rlen += n;
	r->resp[r->rlen] = '\0';
	return n;
}

static int
start(struct sre_llm *l, struct req *r)
{
	CURL *h = curl_easy_init();
	struct curl_slist *hdr = NULL, *t;

	if (h == NULL)
		return -1;
	t = curl_slist_append(hdr, "Content-Type: application/json");
	if (t != NULL)
		hdr = curl_slist_append(t, "Accept: application/json");
	if (hdr != NULL)
		hdr = curl_slist_append(hdr, "Expect:");
	if (hdr != NULL && l->auth != NULL)
		hdr = curl_slist_append(hdr, l->auth);
	if (hdr == NULL) {
		curl_slist_free_all(t);
		curl_easy_cleanup(h);
		return -1;
	}
	free(r->resp);
	r->resp = NULL;
	r->rlen = r->rcap = 0;
	r->too_big = 0;
	r->cerr[0] = '\0';
	curl_easy_setopt(h, CURLOPT_URL, l->endpoint);
	curl_easy_setopt(h, CURLOPT_POST, 1L);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, r->body);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->len);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)l->max_response);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, l->timeout_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
	    l->timeout_ms < 10000 ? l->timeout_ms : 10000L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(h, CURLOPT_PROTOCOLS,
	    (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(h, CURLOPT_USERAGENT, "sre-space/" SRE_VERSION);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, r->cerr);
	curl_easy_setopt(h, CURLOPT_PRIVATE, r);
	if (curl_multi_add_handle(l->multi, h) != CURLM_OK) {
		curl_slist_free_all(hdr);
		curl_easy_cleanup(h);
		return -1;
	}
	r->h = h;
	r->hdr = hdr;
	r->state = Q_RUNNING;
	r->attempts++;
	l->running++;
	if (l->running > l->peak)
		l->peak = l->running;
	return 0;
}

/* Move r from the pending list to the done list. */
static void
finish(struct sre_llm *l, struct req *r)
{
	struct req **pp;

	req_stop(l, r);
	for (pp = &l->head; *pp != NULL; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	l->tail = NULL;
	for (pp = &l->head; *pp != NULL; pp = &(*pp)->next)
		l->tail = *pp;
	r->next = NULL;
	r->state = Q_DONE;
	if (l->done_tail != NULL)
		l->done_tail->next = r;
	else
		l->done = r;
	l->done_tail = r;
	l->npending--;
}

/* An API error's "type" or "code": a short identifier only (the message
 * may quote parts of the request or the key). */
static void
api_error_code(const char *body, char *out, size_t outlen)
{
	const char *keys[] = { "\"code\"", "\"type\"" };
	int k;

	out[0] = '\0';
	if (body == NULL)
		return;
	for (k = 0; k < 2; k++) {
		const char *p = strstr(body, keys[k]);
		size_t n = 0;

		if (p == NULL)
			continue;
		p += strlen(keys[k]);
		p += strspn(p, " \t:");
		if (*p != '"')
			continue;
		p++;
		while (n + 1 < outlen && n < 40 &&
		    (islower((unsigned char)p[n]) || p[n] == '_' ||
		    isdigit((unsigned char)p[n])))
			n++;
		if (p[n] != '"' || n == 0)
			continue;
		memcpy(out, p, n);
		out[n] = '\0';
		return;
	}
}

static void
completed(struct sre_llm *l, struct req *r, CURLcode rc)
{
	long status = 0;
	curl_off_t ra = -1;
	int retry = 0;
	double delay;

	curl_easy_getinfo(r->h, CURLINFO_RESPONSE_CODE, &status);
#if LIBCURL_VERSION_NUM >= 0x074200
	curl_easy_getinfo(r->h, CURLINFO_RETRY_AFTER, &ra);
#endif
	r->status = status;
	if (rc == CURLE_OK && status >= 200 && status < 300 && r->rlen > 0) {
		r->ok = 1;
		r->error[0] = '\0';
		finish(l, r);
		return;
	}
	if (rc != CURLE_OK) {
		switch (rc) {
		case CURLE_OPERATION_TIMEDOUT:
			snprintf(r->error, sizeof(r->error), "timed out after "
			    "%ld ms", l->timeout_ms);
			retry = 1;
			break;
		case CURLE_FILESIZE_EXCEEDED:
		case CURLE_WRITE_ERROR:
		case CURLE_ABORTED_BY_CALLBACK:
			snprintf(r->error, sizeof(r->error), "response larger "
			    "than %zu bytes", l->max_response);
			break;
		default:
			snprintf(r->error, sizeof(r->error), "%s",
			    r->cerr[0] ? r->cerr : curl_easy_strerror(rc));
			retry = rc == CURLE_COULDNT_CONNECT ||
			    rc == CURLE_COULDNT_RESOLVE_HOST ||
			    rc == CURLE_GOT_NOTHING || rc == CURLE_RECV_ERROR ||
			    rc == CURLE_SEND_ERROR ||
			    rc == CURLE_PARTIAL_FILE;
			break;
		}
	} else {
		char code[48];

		api_error_code(r->resp, code, sizeof(code));
		if (status >= 200 && status < 300)
			snprintf(r->error, sizeof(r->error), "HTTP %ld with "
			    "an empty body", status);
		else
			snprintf(r->error, sizeof(r->error), "HTTP %ld%s%s",
			    status, code[0] ? " " : "", code);
		retry = status == 429 || status == 408 || status >= 500;
	}
	if (!retry || r->attempts > l->retries) {
		if (retry && r->attempts > 1) {
			size_t n = strlen(r->error);

			snprintf(r->error + n, sizeof(r->error) - n,
			    " (after %d attempts)", r->attempts);
		}
		finish(l, r);
		return;
	}
	/* Back off: Retry-After when the server says (curl gives 0 when
	 * it did not), else doubling. */
	if (ra > 0)
		delay = (double)ra * 1000;
	else {
		int k;

		delay = (double)l->backoff_ms;
		for (k = 1; k < r->attempts && delay < l->max_backoff_ms; k++)
			delay *= 2;
	}
	if (delay > l->max_backoff_ms)
		delay = (double)l->max_backoff_ms;
	req_stop(l, r);
	r->state = Q_WAIT;
	r->next_ms = sre_mono_msf() + delay;
}

static void
start_ready(struct sre_llm *l)
{
	struct req *r, *nx;
	double now = sre_mono_msf();

	for (r = l->head; r != NULL && l->running < l->concurrency; r = nx) {
		nx = r->next;
		if ((r->state == Q_QUEUED ||
		    (r->state == Q_WAIT && r->next_ms <= now)) &&
		    start(l, r) < 0) {
			snprintf(r->error, sizeof(r->error), "cannot start a "
			    "transfer (out of memory)");
			finish(l, r);
		}
	}
}

size_t
sre_llm_perform(struct sre_llm *l)
{
	int still = 0, left, rounds;
	CURLMsg *m;

	for (rounds = 0; rounds < 4; rounds++) {
		start_ready(l);
		curl_multi_perform(l->multi, &still);
		left = 0;
		while ((m = curl_multi_info_read(l->multi, &left)) != NULL) {
			struct req *r = NULL;

			if (m->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE,
			    (char **)&r);
			if (r != NULL)
				completed(l, r, m->data.result);
		}
		/* Go round again only when finished transfers made room for
		 * queued ones. */
		if (l->running >= l->concurrency || l->head == NULL)
			break;
		{
			struct req *r;
			int ready = 0;

			for (r = l->head; r != NULL; r = r->next)
				if (r->state == Q_QUEUED)
					ready = 1;
			if (!ready)
				break;
		}
	}
	return l->npending;
}

int
sre_llm_result(struct sre_llm *l, struct sre_llm_result *out)
{
	struct req *r = l->done;

	memset(out, 0, sizeof(*out));
	if (r == NULL)
		return 0;
	l->done = r->next;
	if (l->done == NULL)
		l->done_tail = NULL;
	out->tag = r->tag;
	out->ok = r->ok;
	out->status = r->status;
	out->body = r->resp;
	out->len = r->rlen;
	r->resp = NULL;
	out->attempts = r->attempts;
	out->latency_ms = sre_mono_msf() - r->t0;
	snprintf(out->error, sizeof(out->error), "%s", r->error);
	req_free(r);
	return 1;
}

void
sre_llm_result_free(struct sre_llm_result *r)
{
	free(r->body);
	r->body = NULL;
}

long
sre_llm_timeout(struct sre_llm *l)
{
	struct req *r;
	double now = sre_mono_msf(), best = -1;
	long ct = -1;

	if (l->done != NULL)
		return 0;
	for (r = l->head; r != NULL; r = r->next) {
		double w;

		if (r->state == Q_QUEUED && l->running < l->concurrency)
			return 0;
		if (r->state != Q_WAIT)
			continue;
		w = r->next_ms - now;
		if (w < 0)
			w = 0;
		if (best < 0 || w < best)
			best = w;
	}
	if (l->running > 0) {
		curl_multi_timeout(l->multi, &ct);
		/* curl may say -1 (no timer) while sockets are open: poll. */
		if (ct < 0 || ct > 50)
			ct = 50;
		if (best < 0 || ct < best)
			best = (double)ct;
	}
	return best < 0 ? -1 : (long)(best + 0.999);
}

size_t
sre_llm_wait(struct sre_llm *l, int timeout_ms)
{
	long t = sre_llm_timeout(l);

	if (t < 0)
		return l->npending;
	if (t > timeout_ms)
		t = timeout_ms;
	if (l->running > 0)
		curl_multi_poll(l->multi, NULL, 0, (int)t, NULL);
	else if (t > 0) {
		struct timespec ts = { t / 1000, (t % 1000) * 1000000L };

		nanosleep(&ts, NULL);
	}
	return sre_llm_perform(l);
}

void
sre_llm_cancel_all(struct sre_llm *l, const char *why)
{
	while (l->head != NULL) {
		struct req *r = l->head;

		snprintf(r->error, sizeof(r->error), "%s", why);
		r->ok = 0;
		finish(l, r);
	}
}
