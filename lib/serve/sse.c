/* sse.c: the event ring and /events (sse.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus.h"
#include "diag.h"
#include "event.h"
#include "sig.h"
#include "sse.h"
#include "stream.h"

static const char *const event_types[SRE_SRV_NTYPES] = { "anomaly",
	"recovery", "topology", "diagnosis", "verdict", "action",
	"escalation", "postmortem", "governor", NULL };

void
sre_sse_push(struct sre_srv *s, const char *line, size_t len,
    const char *type)
{
	unsigned slot;
	size_t t;

	for (t = 0; event_types[t] != NULL && (type == NULL ||
	    strcmp(event_types[t], type) != 0); t++)
		;
	pthread_mutex_lock(&s->rlock);
	slot = (unsigned)(++s->seq % SRE_SRV_RING);
	free(s->ring[slot]);
	s->ring[slot] = strndup(line, len);
	s->ring_seq[slot] = s->seq;
	s->types[t]++;
	pthread_cond_broadcast(&s->rcond);
	pthread_mutex_unlock(&s->rlock);
}

void *
sre_srv_reader(void *arg)
{
	struct sre_srv *s = arg;
	const char *line;
	char err[256], *type;
	size_t len;
	jv ev;
	int r;

	for (;;) {
		r = sre_bus_read(s->in, &line, &len, 500);
		if (r == SRE_READ_TIMEOUT) {
			if (sre_stopping())
				break;
			continue;
		}
		if (r == SRE_READ_TOOLONG) {
			sre_warnx("%s: line of %zu bytes skipped",
			    sre_bus_where(s->in), len);
			continue;
		}
		if (r != SRE_READ_LINE)
			break;
		pthread_mutex_lock(&s->jlock);
		ev = sre_stream_event(line, len, 0, err, sizeof(err));
		if (!jv_is_valid(ev)) {
			pthread_mutex_unlock(&s->jlock);
			jv_free(ev);
			sre_warnx("%s: %s", sre_bus_where(s->in), err);
			continue;
		}
		type = sre_jv_str(ev, "type") ? strdup(sre_jv_str(ev,
		    "type")) : NULL;
		jv_free(ev);
		pthread_mutex_unlock(&s->jlock);
		sre_bus_ack(s->in);
		sre_srv_seen(s, IN_EVENTS);
		sre_sse_push(s, line, len, type);
		free(type);
	}
	if (r == SRE_READ_ERROR)
		sre_warnx("reading %s: %s", sre_bus_url(s->in),
		    sre_bus_error(s->in));
	pthread_mutex_lock(&s->rlock);
	s->in_done = 1;
	pthread_cond_broadcast(&s->rcond);
	pthread_mutex_unlock(&s->rlock);
	return NULL;
}

void
sre_sse_begin(struct sre_srv *s, struct sre_req *rq, const char *last)
{
	unsigned long long id;
	char *end;

	pthread_mutex_lock(&s->rlock);
	rq->next = s->seq + 1;
	pthread_mutex_unlock(&s->rlock);
	if (last != NULL && *last != '\0') {
		errno = 0;
		id = strtoull(last, &end, 10);
		if (errno == 0 && *end == '\0')
			rq->next = id + 1;
	}
	rq->pend_off = 0;
	sre_sbuf_adds(&rq->pending, "retry: 2000\n\n");
}

/* Add the next event (or a keepalive) to rq->pending; 0, or SRE_SSE_END. */
static int
sse_next(struct sre_srv *s, struct sre_req *rq)
{
	unsigned long long oldest;
	struct timespec ts;
	unsigned slot;
	int idle = 0;

	pthread_mutex_lock(&s->rlock);
	/* Wait for the next event, a second at a time, watching for the
	 * signal to stop; after 15 s of nothing, a comment keeps proxies and
	 * the browser from closing the stream (and finds out whether the
	 * client is still there). */
	while (rq->next > s->seq && !sre_stopping() && idle < 15) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		if (pthread_cond_timedwait(&s->rcond, &s->rlock, &ts) ==
		    ETIMEDOUT)
			idle++;
	}
	if (rq->next > s->seq) {
		pthread_mutex_unlock(&s->rlock);
		if (sre_stopping())
			return SRE_SSE_END;
		sre_sbuf_adds(&rq->pending, ": keepalive\n\n");
		return 1;
	}
	oldest = s->seq >= SRE_SRV_RING ? s->seq - SRE_SRV_RING + 1 : 1;
	if (rq->next < oldest)
		rq->next = oldest;	/* what fell off is gone */
	slot = (unsigned)(rq->next % SRE_SRV_RING);
	sre_sbuf_addf(&rq->pending, "id: %llu\nevent: sre\ndata: ", rq->next);
	sre_sbuf_adds(&rq->pending, s->ring[slot] ? s->ring[slot] : "{}");
	sre_sbuf_adds(&rq->pending, "\n\n");
	rq->next++;
	pthread_mutex_unlock(&s->rlock);
	return 0;
}

ssize_t
sre_sse_read(struct sre_req *rq, char *buf, size_t max)
{
	size_t n;
	int r;

	while (rq->pend_off >= rq->pending.n) {
		rq->pending.n = rq->pend_off = 0;
		if ((r = sse_next(rq->s, rq)) == SRE_SSE_END)
			return SRE_SSE_END;
		if (r == 1)
			break;
	}
	if (rq->pending.oom)
		return SRE_SSE_ERROR;
	n = rq->pending.n - rq->pend_off;
	if (n > max)
		n = max;
	memcpy(buf, rq->pending.p + rq->pend_off, n);
	rq->pend_off += n;
	return (ssize_t)n;
}
