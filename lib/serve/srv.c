/* srv.c: sre-serve's shared state, counters and answers (srv.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "event.h"
#include "srv.h"
#include "store.h"

static const int codes[SRE_SRV_NCODES] = { 200, 204, 206, 304, 400, 401,
	403, 404, 405, 413, 415, 429, 500, 503 };

static const char *const input_names[N_INPUTS] = {
	"traces", "metrics", "logs", "remote_write", "alertmanager", "events"
};

struct sre_srv *
sre_srv_new(const struct sre_srv_conf *conf)
{
	struct sre_srv *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->conf = *conf;
	pthread_mutex_init(&s->qlock, NULL);
	pthread_cond_init(&s->qcond, NULL);
	pthread_mutex_init(&s->rlock, NULL);
	pthread_cond_init(&s->rcond, NULL);
	pthread_mutex_init(&s->slock, NULL);
	pthread_mutex_init(&s->jlock, NULL);
	s->started_ms = sre_now_ms();
	if (sre_gov_watch_init(&s->gw, conf->state_dir) < 0) {
		sre_srv_free(s);
		errno = ENAMETOOLONG;
		return NULL;
	}
	return s;
}

void
sre_srv_free(struct sre_srv *s)
{
	struct sre_chunk *c;
	int i;

	if (s == NULL)
		return;
	sre_store_close(s->st);
	for (i = 0; i < SRE_SRV_RING; i++)
		free(s->ring[i]);
	while ((c = s->head) != NULL) {
		s->head = c->next;
		free(c);
	}
	pthread_mutex_destroy(&s->qlock);
	pthread_cond_destroy(&s->qcond);
	pthread_mutex_destroy(&s->rlock);
	pthread_cond_destroy(&s->rcond);
	pthread_mutex_destroy(&s->slock);
	pthread_mutex_destroy(&s->jlock);
	free(s);
}

void
sre_srv_count(struct sre_srv *s, enum sre_route r, int code)
{
	size_t i;

	for (i = 0; i < SRE_SRV_NCODES && codes[i] != code; i++)
		;
	pthread_mutex_lock(&s->slock);
	if (i < SRE_SRV_NCODES)
		s->req[r][i]++;
	pthread_mutex_unlock(&s->slock);
}

int
sre_srv_code(size_t i)
{
	return codes[i];
}

void
sre_srv_seen(struct sre_srv *s, enum sre_input in)
{
	int64_t now = sre_now_ms();

	pthread_mutex_lock(&s->slock);
	s->last_ms[in] = now;
	pthread_mutex_unlock(&s->slock);
}

const char *
sre_input_name(enum sre_input in)
{
	return input_names[in];
}

/* The google.rpc.Code of an HTTP status, as OTLP/HTTP maps them. */
static int
grpc_code(int code)
{
	return code == 400 ? 3 : code == 401 ? 16 : code == 413 ? 8 :
	    code == 429 || code == 503 ? 14 : 2;
}

void
sre_answer_fail(struct sre_answer *a, enum sre_route r, int proto,
    int code, const char *retry, const char *fmt, ...)
{
	struct sre_sbuf *b = &a->body;
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	sre_sbuf_free(b);
	a->code = code;
	a->retry = retry;
	if (r <= R_LOGS && proto) {
		/* google.rpc.Status: code = 1 (varint), message = 2. */
		unsigned char hdr[16];
		size_t n = strlen(msg), h = 0;

		hdr[h++] = 0x08;
		hdr[h++] = (unsigned char)grpc_code(code);
		hdr[h++] = 0x12;
		for (; n >= 0x80; n >>= 7)
			hdr[h++] = (unsigned char)(n | 0x80);
		hdr[h++] = (unsigned char)n;
		sre_sbuf_add(b, hdr, h);
		sre_sbuf_adds(b, msg);
		a->ctype = "application/x-protobuf";
		return;
	}
	if (r <= R_LOGS)
		sre_sbuf_addf(b, "{\"code\":%d,\"message\":", grpc_code(code));
	else
		sre_sbuf_adds(b, "{\"error\":");
	sre_sbuf_jstr(b, msg, strlen(msg));
	sre_sbuf_adds(b, "}");
	a->ctype = "application/json";
}

void
sre_answer_set(struct sre_answer *a, int code, const char *ctype,
    const void *data, size_t n)
{
	a->code = code;
	a->ctype = ctype;
	sre_sbuf_free(&a->body);
	sre_sbuf_add(&a->body, data, n);
}

void
sre_answer_jv(struct sre_answer *a, enum sre_route r, int code, jv v)
{
	size_t n;
	char *t;

	if ((t = sre_jv_dump(v, &n)) == NULL) {
		sre_answer_fail(a, r, 0, 500, NULL, "out of memory");
		return;
	}
	sre_answer_set(a, code, "application/json", t, n);
	free(t);
}

void
sre_answer_free(struct sre_answer *a)
{
	sre_sbuf_free(&a->body);
	if (a->fd >= 0)
		close(a->fd);
	*a = (struct sre_answer)SRE_ANSWER_INIT;
}
