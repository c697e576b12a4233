/* ingest.c: OTLP, remote write and alerts to output lines (ingest.h). */
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "bus.h"
#include "diag.h"
#include "ingest.h"
#include "serve-pb.h"
#include "serve.h"

int
sre_srv_enqueue(struct sre_srv *s, const char *lines, size_t n)
{
	struct sre_chunk *c;
	int code = 0;

	if (n == 0)
		return 0;
	pthread_mutex_lock(&s->qlock);
	if (s->out_failed || s->closing)
		code = 503;
	else if (s->queued > 0 && s->queued + n > s->conf.max_queue)
		code = 429;
	pthread_mutex_unlock(&s->qlock);
	if (code != 0)
		return code;
	if ((c = malloc(sizeof(*c) + n)) == NULL)
		return 503;
	c->next = NULL;
	c->n = n;
	memcpy(c->data, lines, n);
	pthread_mutex_lock(&s->qlock);
	if (s->tail != NULL)
		s->tail->next = c;
	else
		s->head = c;
	s->tail = c;
	s->queued += n;
	pthread_cond_signal(&s->qcond);
	pthread_mutex_unlock(&s->qlock);
	return 0;
}

/* Write chunk c's lines; the count written.  *bad: a write failed. */
static unsigned long long
write_chunk(struct sre_srv *s, const struct sre_chunk *c, int *bad)
{
	unsigned long long lines = 0;
	const char *p, *e, *nl;

	*bad = 0;
	for (p = c->data, e = c->data + c->n; p < e && !*bad; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(e - p))) == NULL)
			nl = e;
		if (sre_bus_write(s->out, p, (size_t)(nl - p)) != SRE_WRITE_OK)
			*bad = 1;
		else
			lines++;
	}
	return lines;
}

/* The output failed: say so once, refuse from now on, drop the queue. */
static void
writer_failed(struct sre_srv *s)
{
	struct sre_chunk *c;

	sre_warnx("writing to %s: %s; refusing telemetry from now on",
	    sre_bus_url(s->out), sre_bus_error(s->out));
	pthread_mutex_lock(&s->qlock);
	s->out_failed = 1;
	while ((c = s->head) != NULL) {
		s->head = c->next;
		s->queued -= c->n;
		free(c);
	}
	s->tail = NULL;
	pthread_mutex_unlock(&s->qlock);
}

void *
sre_srv_writer(void *arg)
{
	struct sre_srv *s = arg;
	unsigned long long lines;
	struct sre_chunk *c;
	int dirty = 0, bad, failed = 0;

	for (;;) {
		pthread_mutex_lock(&s->qlock);
		while (s->head == NULL && !s->closing && !dirty)
			pthread_cond_wait(&s->qcond, &s->qlock);
		c = s->head;
		if (c != NULL && (s->head = c->next) == NULL)
			s->tail = NULL;
		pthread_mutex_unlock(&s->qlock);
		if (c == NULL) {
			if (!dirty)
				break;	/* closing and empty */
			if (sre_bus_flush(s->out) != SRE_WRITE_OK) {
				failed = 1;
				break;
			}
			dirty = 0;
			continue;
		}
		lines = write_chunk(s, c, &bad);
		pthread_mutex_lock(&s->qlock);
		s->queued -= c->n;
		pthread_mutex_unlock(&s->qlock);
		free(c);
		pthread_mutex_lock(&s->slock);
		s->written += lines;
		pthread_mutex_unlock(&s->slock);
		if (bad) {
			failed = 1;
			break;
		}
		dirty = 1;
	}
	if (failed)
		writer_failed(s);
	return NULL;
}

int
sre_gunzip(const struct sre_sbuf *in, struct sre_sbuf *out, size_t max)
{
	unsigned char buf[65536];
	z_stream z;
	int rc;

	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
		return -1;
	z.next_in = (unsigned char *)in->p;
	z.avail_in = (uInt)in->n;
	do {
		z.next_out = buf;
		z.avail_out = sizeof(buf);
		rc = inflate(&z, Z_NO_FLUSH);
		if (rc != Z_OK && rc != Z_STREAM_END) {
			inflateEnd(&z);
			return -1;
		}
		if (out->n + (sizeof(buf) - z.avail_out) > max) {
			inflateEnd(&z);
			return 1;
		}
		sre_sbuf_add(out, buf, sizeof(buf) - z.avail_out);
	} while (rc != Z_STREAM_END && (z.avail_in > 0 || z.avail_out == 0));
	inflateEnd(&z);
	if (rc != Z_STREAM_END)
		return -1;
	return out->oom ? -1 : 0;
}

/* Queue out's lines; 0, or the refusal set in a.  retry5xx: a full queue
 * answers 503 (senders that do not retry a 429). */
static int
queue_or_fail(struct sre_srv *s, struct sre_req *rq, struct sre_sbuf *out,
    int retry5xx, struct sre_answer *a)
{
	int code;

	if (out->oom) {
		sre_answer_fail(a, rq->route, rq->proto, 503, "1",
		    "out of memory");
		return -1;
	}
	if ((code = sre_srv_enqueue(s, out->p, out->n)) == 0)
		return 0;
	sre_answer_fail(a, rq->route, rq->proto, retry5xx ? 503 : code,
	    code == 429 ? "1" : "5", code == 429 ? "output backed up" :
	    "output unavailable");
	return -1;
}

/* The answer to an OTLP request that was accepted, wholly or in part. */
static void
otlp_answer(struct sre_req *rq, size_t rejected, const char *msg,
    struct sre_answer *a)
{
	static const char *const rej[] = { "rejectedSpans",
	    "rejectedDataPoints", "rejectedLogRecords" };
	enum sre_pb_kind k = (enum sre_pb_kind)rq->route;
	struct sre_sbuf resp = { 0 };

	if (rq->proto) {
		if (sre_pb_otlp_response(k, (int64_t)rejected, rejected ? msg :
		    NULL, &resp) < 0)
			sre_answer_fail(a, rq->route, 1, 503, "1",
			    "out of memory");
		else
			sre_answer_set(a, 200, "application/x-protobuf",
			    resp.p, resp.n);
	} else {
		if (rejected > 0) {
			sre_sbuf_addf(&resp, "{\"partialSuccess\":{\"%s\":"
			    "\"%zu\",\"errorMessage\":", rej[k], rejected);
			sre_sbuf_jstr(&resp, msg, strlen(msg));
			sre_sbuf_adds(&resp, "}}");
		} else
			sre_sbuf_adds(&resp, "{}");
		sre_answer_set(a, 200, "application/json", resp.p, resp.n);
	}
	sre_sbuf_free(&resp);
}

static void
ingest_otlp(struct sre_srv *s, struct sre_req *rq, char *body, size_t len,
    struct sre_answer *a)
{
	enum sre_pb_kind k = (enum sre_pb_kind)rq->route;
	struct sre_sbuf out = { 0 };
	size_t records = 0, rejected = 0;
	char msg[512];
	int rc;

	msg[0] = '\0';
	if (rq->proto) {
		rc = sre_pb_otlp_json(k, (uint8_t *)body, len, &out, &records,
		    msg, sizeof(msg));
		if (rc == 0 && records == 0 && out.n > 0) {
			/* An empty request: nothing to write. */
			out.n = 0;
			rc = 1;
		}
	} else {
		rc = sre_serve_otlp_json(k, body, len, &records, &rejected,
		    msg, sizeof(msg));
		if (rc == 0)
			sre_sbuf_add(&out, body, len);
	}
	if (rc < 0) {
		if (out.oom)
			sre_answer_fail(a, rq->route, rq->proto, 503, "1",
			    "out of memory");
		else
			sre_answer_fail(a, rq->route, rq->proto, 400, NULL,
			    "%s", msg);
		sre_sbuf_free(&out);
		return;
	}
	if (rc == 0) {
		sre_sbuf_add(&out, "\n", 1);
		if (queue_or_fail(s, rq, &out, 0, a) < 0) {
			sre_sbuf_free(&out);
			return;
		}
	}
	sre_sbuf_free(&out);
	pthread_mutex_lock(&s->slock);
	s->records[k] += records;
	pthread_mutex_unlock(&s->slock);
	sre_srv_seen(s, (enum sre_input)k);
	otlp_answer(rq, rejected, msg, a);
}

static void
ingest_write(struct sre_srv *s, struct sre_req *rq, char *body, size_t len,
    struct sre_answer *a)
{
	struct sre_sbuf out = { 0 };
	size_t points, skipped;
	char msg[512];
	int rc;

	rc = sre_pb_remote_write((uint8_t *)body, len, s->conf.max_body * 8,
	    &out, &points, &skipped, msg, sizeof(msg));
	if (rc != 0) {
		sre_sbuf_free(&out);
		sre_answer_fail(a, rq->route, 0, rc > 0 ? 413 : 400, NULL,
		    "%s", msg);
		return;
	}
	/* Remote write senders must retry a 5xx and need only retry a 429
	 * (Prometheus does not by default). */
	rc = queue_or_fail(s, rq, &out, 1, a);
	sre_sbuf_free(&out);
	if (rc < 0)
		return;
	pthread_mutex_lock(&s->slock);
	s->points += points;
	pthread_mutex_unlock(&s->slock);
	sre_srv_seen(s, IN_WRITE);
	sre_answer_set(a, 204, NULL, "", 0);
}

static void
ingest_alerts(struct sre_srv *s, struct sre_req *rq, char *body,
    size_t len, struct sre_answer *a)
{
	struct sre_sbuf out = { 0 }, resp = { 0 };
	size_t firing, resolved, rejected;
	char msg[512];
	int rc;

	pthread_mutex_lock(&s->jlock);
	rc = sre_serve_alerts(body, len, &out, &firing, &resolved, &rejected,
	    msg, sizeof(msg));
	pthread_mutex_unlock(&s->jlock);
	if (rc < 0 || out.oom) {
		sre_answer_fail(a, rq->route, 0, 400, NULL, "%s", out.oom ?
		    "out of memory" : msg);
		sre_sbuf_free(&out);
		return;
	}
	/* Alertmanager retries a 5xx, not a 429. */
	rc = queue_or_fail(s, rq, &out, 1, a);
	sre_sbuf_free(&out);
	if (rc < 0)
		return;
	if (rejected > 0)
		sre_warnx("/v1/alertmanager: %zu alert(s) left out: %s",
		    rejected, msg);
	pthread_mutex_lock(&s->slock);
	s->alerts_firing += firing;
	s->alerts_resolved += resolved;
	pthread_mutex_unlock(&s->slock);
	sre_srv_seen(s, IN_ALERTS);
	sre_sbuf_addf(&resp, "{\"anomalies\":%zu,\"recoveries\":%zu,"
	    "\"rejected\":%zu", firing, resolved, rejected);
	if (rejected > 0) {
		sre_sbuf_adds(&resp, ",\"error\":");
		sre_sbuf_jstr(&resp, msg, strlen(msg));
	}
	sre_sbuf_adds(&resp, "}");
	sre_answer_set(a, 200, "application/json", resp.p, resp.n);
	sre_sbuf_free(&resp);
}

void
sre_ingest(struct sre_srv *s, struct sre_req *rq, struct sre_answer *a)
{
	struct sre_sbuf raw = { 0 };
	char empty[1] = "";
	int rc;

	if (rq->route == R_WRITE) {
		ingest_write(s, rq, rq->body.p ? rq->body.p : empty,
		    rq->body.n, a);
		return;
	}
	if (rq->gzip) {
		if ((rc = sre_gunzip(&rq->body, &raw, s->conf.max_body)) != 0) {
			sre_sbuf_free(&raw);
			if (rc > 0)
				sre_answer_fail(a, rq->route, rq->proto, 413,
				    NULL, "body over %zu bytes once inflated",
				    s->conf.max_body);
			else
				sre_answer_fail(a, rq->route, rq->proto, 400,
				    NULL, "damaged gzip body");
			return;
		}
		sre_sbuf_free(&rq->body);
		rq->body = raw;
	}
	if (rq->route == R_ALERTS)
		ingest_alerts(s, rq, rq->body.p ? rq->body.p : empty,
		    rq->body.n, a);
	else
		ingest_otlp(s, rq, rq->body.p ? rq->body.p : empty,
		    rq->body.n, a);
}
