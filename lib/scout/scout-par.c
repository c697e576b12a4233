/*
 * scout-par.c: reading lines on several threads, judging them on one.
 *
 * Parsing OTLP/JSON is most of sre-scout's work, and lines are
 * independent: worker threads (and the caller, while it would otherwise
 * wait) parse submitted lines into compact span records, and the caller
 * applies them to the engine strictly in the order the lines came.  All
 * the engine's state is touched by the caller's thread only, so the
 * output is the same, byte for byte, with any number of threads.
 *
 * Only lines of spans go this way.  A line that turns out to hold metric
 * points or log records is handed back whole (the worker stops at the
 * first such record) and read again in order by the caller, as are very
 * short lines (not worth a hand-over) and very long ones (not worth a
 * copy).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "scout-int.h"

#define PAR_MIN_LINE	2048
#define PAR_MAX_LINE	(1u << 20)
#define AREF		0x80000000u	/* a string in the arena */

enum { B_FREE, B_READY, B_BUSY, B_DONE };

/* A slice of the line, or of the batch's arena (AREF). */
struct sref {
	uint32_t off, len;
};

struct rspan {
	uint64_t tkey, id, parent, start, end, dur, name_hash;
	struct sref svc, ver, name, tid, msg;
	uint32_t res_index;
	int16_t http;
	uint8_t kind, status;
	uint16_t quirks;
};

struct batch {
	int state;
	uint64_t seq, tag;
	char *line;
	size_t len, cap;
	int serial;		/* the caller must read it again */
	int format;
	char err[256];
	struct rspan *sp;
	size_t nsp, capsp;
	char *arena;
	size_t alen, acap;
	struct sref *msg;	/* rejections, in the arena */
	size_t nmsg, capmsg;
	int oom;
};

struct par {
	pthread_mutex_t mu;
	pthread_cond_t work, done;
	pthread_t *th;
	unsigned nth, started;
	int stop;
	struct batch *b;
	unsigned nb;
	uint64_t next, head;	/* seq to give out; seq to apply next */
};

struct worker {
	struct sre_scout *sc;
	struct sre_otlp *rd;
};

/* ---- the worker side: a line into records --------------------------------- */

static int
grow(void **p, size_t *cap, size_t need, size_t size)
{
	size_t ncap = *cap ? *cap : 16;
	void *np;

	if (need <= *cap)
		return 0;
	while (ncap < need)
		ncap *= 2;
	if ((np = realloc(*p, ncap * size)) == NULL)
		return -1;
	*p = np;
	*cap = ncap;
	return 0;
}

static struct sref
ref(struct batch *b, struct sre_json_str s)
{
	struct sref r = { 0, 0 };

	if (s.n == 0 || s.n >= AREF)
		return r;
	if (s.p >= b->line && s.p + s.n <= b->line + b->len) {
		r.off = (uint32_t)(s.p - b->line);
		r.len = (uint32_t)s.n;
		return r;
	}
	/* Decoded into the reader's scratch: keep a copy. */
	if (b->alen + s.n >= AREF ||
	    grow((void **)&b->arena, &b->acap, b->alen + s.n, 1) < 0) {
		b->oom = 1;
		return r;
	}
	memcpy(b->arena + b->alen, s.p, s.n);
	r.off = (uint32_t)b->alen | AREF;
	r.len = (uint32_t)s.n;
	b->alen += s.n;
	return r;
}

static struct sre_json_str
deref(const struct batch *b, struct sref r)
{
	struct sre_json_str s;

	s.p = r.off & AREF ? b->arena + (r.off & ~AREF) : b->line + r.off;
	s.n = r.len;
	if (r.len == 0)
		s.p = "";
	return s;
}

static int
w_span(void *arg, const struct sre_otlp_span *sp)
{
	struct batch *b = arg;
	struct span_in in;
	struct rspan *r;

	if (grow((void **)&b->sp, &b->capsp, b->nsp + 1, sizeof(*b->sp)) < 0) {
		b->oom = 1;
		return 1;
	}
	sre__read_span_in(sp, &in);
	r = &b->sp[b->nsp++];
	r->tkey = in.tkey;
	r->id = in.id;
	r->parent = in.parent;
	r->start = in.start;
	r->end = in.end;
	r->dur = in.dur;
	r->name_hash = in.name_hash;
	r->svc = ref(b, in.svc);
	r->ver = ref(b, in.ver);
	r->name = ref(b, in.name);
	r->tid = ref(b, in.tid);
	r->msg = ref(b, in.msg);
	r->res_index = (uint32_t)in.res_index;
	r->http = (int16_t)(in.http > 999 || in.http < 0 ? 0 : in.http);
	r->kind = (uint8_t)in.kind;
	r->status = (uint8_t)in.status;
	r->quirks = (uint16_t)in.quirks;
	return b->oom;
}

static int
w_other(void *arg, const void *rec)
{
	struct batch *b = arg;

	(void)rec;
	b->serial = 1;		/* points or logs: the caller reads it */
	return 1;
}

static int
w_point(void *arg, const struct sre_otlp_point *p)
{
	return w_other(arg, p);
}

static int
w_log(void *arg, const struct sre_otlp_log *l)
{
	return w_other(arg, l);
}

static int
w_reject(void *arg, const struct sre_otlp_reject *rj)
{
	struct batch *b = arg;
	struct sre_json_str s = { rj->msg, strlen(rj->msg) };

	if (grow((void **)&b->msg, &b->capmsg, b->nmsg + 1,
	    sizeof(*b->msg)) < 0) {
		b->oom = 1;
		return 1;
	}
	b->msg[b->nmsg++] = ref(b, s);	/* a copy: it is the reader's */
	return b->oom;
}

static void
parse(struct batch *b, struct sre_otlp *rd)
{
	struct sre_otlp_handler h = { w_span, w_point, w_log, w_reject, b };
	struct sre_otlp_result res;
	int rc;

	b->nsp = b->alen = b->nmsg = 0;
	b->serial = b->oom = 0;
	b->err[0] = '\0';
	rc = sre_otlp_read(rd, b->line, b->len, &h, &res);
	b->format = (int)res.format;
	if (rc == SRE_OTLP_EJSON)
		snprintf(b->err, sizeof(b->err), "%s", res.msg);
	if (rc == SRE_OTLP_ENOMEM || b->oom)
		b->serial = 1;
}

static void *
worker_main(void *arg)
{
	struct worker *wk = arg;
	struct par *pr = wk->sc->par;
	struct batch *b;
	uint64_t q;

	pthread_mutex_lock(&pr->mu);
	for (;;) {
		b = NULL;
		for (q = pr->head; q < pr->next; q++)
			if (pr->b[q % pr->nb].state == B_READY) {
				b = &pr->b[q % pr->nb];
				break;
			}
		if (b == NULL) {
			if (pr->stop)
				break;
			pthread_cond_wait(&pr->work, &pr->mu);
			continue;
		}
		b->state = B_BUSY;
		pthread_mutex_unlock(&pr->mu);
		parse(b, wk->rd);
		pthread_mutex_lock(&pr->mu);
		b->state = B_DONE;
		pthread_cond_broadcast(&pr->done);
	}
	pthread_mutex_unlock(&pr->mu);
	sre_otlp_free(wk->rd);
	free(wk);
	return NULL;
}

/* ---- the caller's side ---------------------------------------------------- */

int
sre__par_init(struct sre_scout *sc, unsigned nth)
{
	struct par *pr;
	struct worker *wk;
	unsigned i;

	if (nth == 0)
		return 0;
	if ((pr = calloc(1, sizeof(*pr))) == NULL)
		return -1;
	pr->nb = 2 * (nth + 1) + 2;
	if ((pr->b = calloc(pr->nb, sizeof(*pr->b))) == NULL ||
	    (pr->th = calloc(nth, sizeof(*pr->th))) == NULL) {
		free(pr->b);
		free(pr);
		return -1;
	}
	pthread_mutex_init(&pr->mu, NULL);
	pthread_cond_init(&pr->work, NULL);
	pthread_cond_init(&pr->done, NULL);
	sc->par = pr;
	for (i = 0; i < nth; i++) {
		if ((wk = calloc(1, sizeof(*wk))) == NULL)
			break;
		wk->sc = sc;
		if ((wk->rd = sre_otlp_new(0)) == NULL) {
			free(wk);
			break;
		}
		if (pthread_create(&pr->th[i], NULL, worker_main, wk) != 0) {
			sre_otlp_free(wk->rd);
			free(wk);
			break;
		}
		pr->started++;
	}
	pr->nth = pr->started;
	return 0;
}

void
sre__par_free(struct sre_scout *sc)
{
	struct par *pr = sc->par;
	unsigned i;

	if (pr == NULL)
		return;
	pthread_mutex_lock(&pr->mu);
	pr->stop = 1;
	pthread_cond_broadcast(&pr->work);
	pthread_mutex_unlock(&pr->mu);
	for (i = 0; i < pr->started; i++)
		pthread_join(pr->th[i], NULL);
	for (i = 0; i < pr->nb; i++) {
		free(pr->b[i].line);
		free(pr->b[i].sp);
		free(pr->b[i].arena);
		free(pr->b[i].msg);
	}
	pthread_mutex_destroy(&pr->mu);
	pthread_cond_destroy(&pr->work);
	pthread_cond_destroy(&pr->done);
	free(pr->th);
	free(pr->b);
	free(pr);
	sc->par = NULL;
}

/* Apply a parsed batch, in order. */
static int
apply(struct sre_scout *sc, struct batch *b)
{
	struct span_in in;
	const struct rspan *r;
	struct sre_json_str m;
	size_t i;

	if (b->serial)
		return sre__read_line(sc, b->line, b->len, b->tag);
	sre__read_begin(sc, b->tag);
	for (i = 0; i < b->nmsg; i++) {
		m = deref(b, b->msg[i]);
		sre__eval_report(sc, 1, "%.*s", (int)m.n, m.p);
	}
	for (i = 0; i < b->nsp && !sc->gone; i++) {
		r = &b->sp[i];
		in.svc = deref(b, r->svc);
		in.ver = deref(b, r->ver);
		in.name = deref(b, r->name);
		in.tid = deref(b, r->tid);
		in.msg = deref(b, r->msg);
		in.res_index = r->res_index;
		in.tkey = r->tkey;
		in.id = r->id;
		in.parent = r->parent;
		in.start = r->start;
		in.end = r->end;
		in.dur = r->dur;
		in.name_hash = r->name_hash;
		in.kind = r->kind;
		in.status = r->status;
		in.http = r->http;
		in.quirks = r->quirks;
		if (sre__read_span(sc, &in) < 0)
			break;
	}
	return sre__read_end(sc, b->line, b->len, b->format, b->err);
}

/*
 * Make one step of progress: apply the next batch if it is parsed, else
 * parse a waiting one here, else wait for a worker.  0, or -1 when the
 * output went away.
 */
static int
step(struct sre_scout *sc)
{
	struct par *pr = sc->par;
	struct batch *b, *head;
	uint64_t q;
	int rc;

	pthread_mutex_lock(&pr->mu);
	head = &pr->b[pr->head % pr->nb];
	if (head->state == B_DONE) {
		pthread_mutex_unlock(&pr->mu);
		rc = apply(sc, head);
		pthread_mutex_lock(&pr->mu);
		head->state = B_FREE;
		pr->head++;
		pthread_mutex_unlock(&pr->mu);
		return rc;
	}
	for (q = pr->head; q < pr->next; q++) {
		b = &pr->b[q % pr->nb];
		if (b->state == B_READY) {
			b->state = B_BUSY;
			pthread_mutex_unlock(&pr->mu);
			parse(b, sc->rd);
			pthread_mutex_lock(&pr->mu);
			b->state = B_DONE;
			pthread_mutex_unlock(&pr->mu);
			return 0;
		}
	}
	pthread_cond_wait(&pr->done, &pr->mu);
	pthread_mutex_unlock(&pr->mu);
	return 0;
}

int
sre__par_drain(struct sre_scout *sc)
{
	struct par *pr = sc->par;

	if (pr == NULL)
		return sc->gone ? -1 : 0;
	while (pr->head < pr->next)
		if (step(sc) < 0) {
			/* Gone: drop the rest unread. */
			while (pr->head < pr->next) {
				pthread_mutex_lock(&pr->mu);
				while (pr->b[pr->head % pr->nb].state == B_BUSY)
					pthread_cond_wait(&pr->done, &pr->mu);
				pr->b[pr->head % pr->nb].state = B_FREE;
				pr->head++;
				pthread_mutex_unlock(&pr->mu);
			}
			return -1;
		}
	return sc->gone ? -1 : 0;
}

int
sre__par_submit(struct sre_scout *sc, const char *line, size_t len,
    uint64_t tag)
{
	struct par *pr = sc->par;
	struct batch *b;

	if (pr == NULL || pr->nth == 0 || len < PAR_MIN_LINE ||
	    len > PAR_MAX_LINE) {
		if (sre__par_drain(sc) < 0)
			return -1;
		return sre__read_line(sc, line, len, tag);
	}
	while (pr->next - pr->head >= pr->nb)
		if (step(sc) < 0)
			return sre__par_drain(sc), -1;
	b = &pr->b[pr->next % pr->nb];
	if (grow((void **)&b->line, &b->cap, len + 1, 1) < 0) {
		if (sre__par_drain(sc) < 0)
			return -1;
		return sre__read_line(sc, line, len, tag);
	}
	memcpy(b->line, line, len);
	b->line[len] = '\0';
	b->len = len;
	b->tag = tag;
	pthread_mutex_lock(&pr->mu);
	b->seq = pr->next++;
	b->state = B_READY;
	pthread_cond_signal(&pr->work);
	/* Apply whatever is ready, without waiting. */
	while (pr->head < pr->next &&
	    pr->b[pr->head % pr->nb].state == B_DONE) {
		b = &pr->b[pr->head % pr->nb];
		pthread_mutex_unlock(&pr->mu);
		if (apply(sc, b) < 0) {
			pthread_mutex_lock(&pr->mu);
			b->state = B_FREE;
			pr->head++;
			pthread_mutex_unlock(&pr->mu);
			return sre__par_drain(sc), -1;
		}
		pthread_mutex_lock(&pr->mu);
		b->state = B_FREE;
		pr->head++;
	}
	pthread_mutex_unlock(&pr->mu);
	return 0;
}
