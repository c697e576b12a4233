/*
 * scout-read.c: sre-scout's engine, the reading side: records in,
 * windows opened and closed, series found or made (within their caps),
 * spans held until their children and callees are in (see scout.h).
 * Judging a closed window or a metric point is scout-eval.c's, below
 * this file; the public API (scout.c) and the parser threads
 * (scout-par.c) call it from above.
 */
#include <endian.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "event.h"
#include "scout-int.h"

#define MIN_TIME_MS	946684800000LL	/* 2000-01-01 */
#define MAX_TIME_MS	4102444800000LL	/* 2100-01-01 */
#define JUMP_MS		3600000LL
#define JUMP_AGREE	64
#define CHILD_HORIZON_MS 60000

/* ---- hashing --------------------------------------------------------- */

static inline uint64_t
hstr(struct sre_json_str s, uint64_t seed)
{
	return sre__scout_hash(s.p, s.n, seed);
}

/* ---- hash index (linear probing, backward-shift deletion) ------------- */

static int
hidx_init(struct hidx *ix, uint32_t entries)
{
	uint32_t size = 16;

	while (size < entries * 2u)
		size <<= 1;
	if ((ix->s = calloc(size, sizeof(*ix->s))) == NULL)
		return -1;
	ix->mask = size - 1;
	return 0;
}

static void
hidx_del_at(struct hidx *ix, uint32_t pos)
{
	uint32_t i = pos, j = pos, k, m = ix->mask;

	for (;;) {
		j = (j + 1) & m;
		if (ix->s[j].idx == 0)
			break;
		k = (uint32_t)ix->s[j].hash & m;
		/* Leave s[j] where it is if its home lies in (i, j]. */
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		ix->s[i] = ix->s[j];
		i = j;
	}
	ix->s[i].idx = 0;
	ix->s[i].hash = 0;
}

static void
hidx_del(struct hidx *ix, uint64_t hash, uint32_t idx)
{
	uint32_t pos;

	for (pos = (uint32_t)hash & ix->mask; ix->s[pos].idx != 0;
	    pos = (pos + 1) & ix->mask)
		if (ix->s[pos].idx == idx + 1) {
			hidx_del_at(ix, pos);
			return;
		}
}

static void
hidx_put(struct hidx *ix, uint64_t hash, uint32_t idx)
{
	uint32_t pos;

	for (pos = (uint32_t)hash & ix->mask; ix->s[pos].idx != 0;
	    pos = (pos + 1) & ix->mask)
		;
	ix->s[pos].hash = hash;
	ix->s[pos].idx = idx + 1;
}

static int
table_init(struct table *t, uint32_t cap)
{
	memset(t, 0, sizeof(*t));
	t->cap = cap;
	return hidx_init(&t->ix, cap);
}

static const char *
quirk_words(unsigned q, char *buf, size_t len)
{
	static const struct {
		unsigned bit;
		const char *word;
	} w[] = {
		{ SRE_OTLP_Q_CONVERTED, "a field of the wrong type converted" },
		{ SRE_OTLP_Q_IGNORED, "an unreadable optional field ignored" },
		{ SRE_OTLP_Q_NO_START, "no start time" },
		{ SRE_OTLP_Q_NO_END, "no end time" },
		{ SRE_OTLP_Q_END_BEFORE_START, "end before start" },
		{ SRE_OTLP_Q_NO_TIME, "no timestamp" },
		{ SRE_OTLP_Q_BAD_UTF8, "invalid UTF-8 replaced" },
		{ SRE_OTLP_Q_TRUNCATED, "a value cut short" },
	};
	size_t i, off = 0;
	int n;

	buf[0] = '\0';
	for (i = 0; i < sizeof(w) / sizeof(w[0]); i++)
		if (q & w[i].bit) {
			n = snprintf(buf + off, len - off, "%s%s",
			    off ? ", " : "", w[i].word);
			if (n < 0 || (size_t)n >= len - off)
				break;
			off += (size_t)n;
		}
	return buf;
}

static int
clip_len(size_t n)
{
	return n > 80 ? 80 : (int)n;
}

/* ---- windows ------------------------------------------------------------ */

#define PLACE_OK	0
#define PLACE_LATE	1
#define PLACE_AHEAD	2

/* The open window holding event time t (ms), 0 if none. */
static inline uint64_t
window_for(const struct sre_scout *sc, int64_t t)
{
	uint64_t g;
	const struct window *w;

	if (sc->oldest == 0)
		return 0;
	for (g = sc->newest; g >= sc->oldest; g--) {
		w = &sc->win[g % NSLOT];
		if (t >= w->start) {
			return t < w->end ? g : 0;
		}
		if (g == sc->oldest)
			break;
	}
	return 0;
}

static int
evict_ok(const struct sre_scout *sc, uint64_t last_gen)
{
	return sc->oldest == 0 || last_gen < sc->oldest;
}

static void finalize(struct sre_scout *sc, struct pspan *p);

/* Judge every waiting span that ends before end_ms. */
static void
pend_before(struct sre_scout *sc, int64_t end_ms)
{
	uint64_t lim = (uint64_t)end_ms * 1000000u;
	uint32_t i;
	struct pspan *p;

	for (i = sc->phead; i != sc->ptail; i++) {
		p = &sc->pend[i & sc->pmask];
		if (!p->done && p->end < lim)
			finalize(sc, p);
	}
	while (sc->phead != sc->ptail && sc->pend[sc->phead & sc->pmask].done)
		sc->phead++;
}

/* Judge the waiting spans at the head that are due (end <= wm). */
static void
pend_due(struct sre_scout *sc, int64_t wm_ms)
{
	uint64_t lim;
	struct pspan *p;

	if (wm_ms <= 0)
		return;
	lim = (uint64_t)wm_ms * 1000000u;
	while (sc->phead != sc->ptail) {
		p = &sc->pend[sc->phead & sc->pmask];
		if (!p->done) {
			if (p->end > lim)
				break;
			finalize(sc, p);
		}
		sc->phead++;
	}
}

static void ctab_sweep(struct sre_scout *sc, uint64_t horizon_ns);

/* Close the oldest open window. */
static int
close_oldest(struct sre_scout *sc, int complete)
{
	const struct window *w = &sc->win[sc->oldest % NSLOT];
	uint64_t g = sc->oldest;
	int rc;

	pend_before(sc, w->end);
	rc = sre__eval_window(sc, g, complete);
	if (w->start > CHILD_HORIZON_MS)
		ctab_sweep(sc, (uint64_t)(w->start - CHILD_HORIZON_MS) *
		    1000000u);
	sc->closed_end = w->end;
	if (sc->oldest == sc->newest)
		sc->oldest = sc->newest = 0;
	else
		sc->oldest++;
	sc->st.windows++;
	if (rc < 0)
		sc->gone = 1;
	return rc;
}

/* Close the windows that are due at stream time now (ms). */
static int
close_due(struct sre_scout *sc, int64_t now)
{
	int64_t wm = now - sc->cfg.lateness_ms;

	pend_due(sc, wm);
	while (sc->oldest != 0 && sc->win[sc->oldest % NSLOT].end <= wm)
		if (close_oldest(sc, 1) < 0)
			return -1;
	return 0;
}

/*
 * The stream time is robust: the WM_K-th largest event time seen (the
 * root of a min-heap of the WM_K largest), so that a few records far
 * ahead of the rest (the spans of one long trace, exported by its start)
 * do not close the windows the rest of the stream is still filling.
 */
static void
wm_push(struct sre_scout *sc, int64_t t)
{
	int64_t *h = sc->wm;
	unsigned i, c;

	if (sc->wm_n < WM_K) {
		for (i = sc->wm_n++; i > 0 && h[(i - 1) / 2] > t; i = (i - 1) / 2)
			h[i] = h[(i - 1) / 2];
		h[i] = t;
		return;
	}
	if (t <= h[0])
		return;
	for (i = 0; (c = 2 * i + 1) < WM_K; i = c) {
		if (c + 1 < WM_K && h[c + 1] < h[c])
			c++;
		if (h[c] >= t)
			break;
		h[i] = h[c];
	}
	h[i] = t;
}

static unsigned
open_count(const struct sre_scout *sc)
{
	return sc->oldest == 0 ? 0 : (unsigned)(sc->newest - sc->oldest + 1);
}

static void
open_newest(struct sre_scout *sc, int64_t start, int64_t len)
{
	uint64_t g = ++sc->gen_seq;
	struct window *w = &sc->win[g % NSLOT];

	w->start = start;
	w->end = start + len;
	w->gen = g;
	w->records = 0;
	if (sc->oldest == 0)
		sc->oldest = g;
	sc->newest = g;
}

/*
 * Make sure an open window holds t: windows are contiguous, opened
 * forwards as records need them (at most NSLOT at a time), and backwards
 * only before the first window closed (the stream's first records may be
 * ahead of the rest).  After a gap in the stream longer than the open
 * windows could span, they start again at t.
 */
static int
place(struct sre_scout *sc, int64_t t)
{
	int64_t len = sc->next_window_ms, start;
	struct window *o, *w;
	uint64_t g;

	if (t < sc->closed_end)
		return PLACE_LATE;
	if (sc->oldest == 0) {
		if (sc->closed_end != 0 && t < sc->closed_end +
		    (int64_t)NSLOT * len)
			start = sc->closed_end;
		else
			start = t - (t % len + len) % len;
		open_newest(sc, start, len);
	}
	while (t < sc->win[sc->oldest % NSLOT].start) {
		if (sc->closed_end != 0 || open_count(sc) >= NSLOT)
			return PLACE_LATE;
		o = &sc->win[sc->oldest % NSLOT];
		g = sc->oldest - 1;
		w = &sc->win[g % NSLOT];
		w->end = o->start;
		w->start = o->start - (o->end - o->start);
		w->gen = g;
		w->records = 0;
		sc->oldest = g;
	}
	while (t >= sc->win[sc->newest % NSLOT].end) {
		if (open_count(sc) >= NSLOT)
			return PLACE_AHEAD;
		open_newest(sc, sc->win[sc->newest % NSLOT].end, len);
	}
	return PLACE_OK;
}

/* A confirmed jump of the stream time: close everything, start again. */
static int
jump_to(struct sre_scout *sc, int64_t t)
{
	while (sc->oldest != 0)
		if (close_oldest(sc, 1) < 0)
			return -1;
	pend_before(sc, INT64_MAX / 1000000);
	sc->wm_n = 0;
	sc->stream_ms = sc->idle_max_ms = t;
	if (t > sc->max_ms)
		sc->max_ms = t;
	return 0;
}

/*
 * A record at event time t: move the stream time, close what is due and
 * find the window for t: *g is its gen, or 0 when the record is late or
 * too far ahead (counted).  -1 when the output went away.
 */
static int
advance(struct sre_scout *sc, int64_t t, uint64_t *g)
{
	int64_t s;

	*g = 0;
	if (!sc->have_time) {
		sc->have_time = 1;
		sc->first_ms = sc->max_ms = sc->stream_ms = t;
		sc->idle_max_ms = t;
		sc->max_moved = 1;
	}
	if (sc->jumping) {
		sc->jumping = 0;
		if (jump_to(sc, t) < 0)
			return -1;
	}
	wm_push(sc, t);
	if (t > sc->max_ms) {
		sc->max_ms = t;
		sc->max_moved = 1;
	}
	s = sc->wm[0];
	if (s > sc->stream_ms) {
		sc->stream_ms = s;
		if (s > sc->idle_max_ms)
			sc->idle_max_ms = s;
		if (close_due(sc, sc->idle_max_ms) < 0)
			return -1;
	}
	switch (place(sc, t)) {
	case PLACE_LATE:
		sc->st.late++;
		return sc->gone ? -1 : 0;
	case PLACE_AHEAD:
		sc->st.ahead++;
		return sc->gone ? -1 : 0;
	}
	if (sc->gone)
		return -1;
	*g = window_for(sc, t);
	if (*g != 0)
		sc->win[*g % NSLOT].records++;
	return 0;
}

/*
 * Check a record's event time.  0 to go on, -1 rejected (reported).  The
 * record is named by what, name and of (slices: name may be empty).
 */
static int
time_ok(struct sre_scout *sc, int64_t t, const char *what,
    struct sre_json_str name, struct sre_json_str of)
{
	char rec[256];

	if (t >= MIN_TIME_MS && t <= MAX_TIME_MS &&
	    (!sc->have_time || t <= sc->stream_ms + JUMP_MS)) {
		sc->jump_n = 0;
		return 0;
	}
	snprintf(rec, sizeof(rec), "%s%s%.*s%s%s%.*s%s", what,
	    name.n ? " '" : "", clip_len(name.n), name.p, name.n ? "'" : "",
	    of.n ? " of '" : "", clip_len(of.n), of.p, of.n ? "'" : "");
	if (t < MIN_TIME_MS || t > MAX_TIME_MS) {
		sre__eval_report(sc, 1, "%s: timestamp %lld ms is not between "
		    "2000 and 2100", rec, (long long)t);
		return -1;
	}
	if (sc->jump_n > 0 && llabs(t - sc->jump_ms) < JUMP_MS)
		sc->jump_n++;
	else {
		sc->jump_ms = t;
		sc->jump_n = 1;
	}
	if (sc->jump_n < JUMP_AGREE) {
		sre__eval_report(sc, 1, "%s: timestamp %lld ms is more than an "
		    "hour ahead of the stream (%lld ms)", rec, (long long)t,
		    (long long)sc->stream_ms);
		return -1;
	}
	sc->jump_n = 0;
	sc->jumping = 1;	/* a real jump: advance() starts over */
	return 0;
}

/* ---- tables ------------------------------------------------------------- */

/*
 * A free entry of a table: an unused one, else one the clock hand finds
 * idle (evict(sc, i) says yes and clears it).  NONE when all are busy.
 */
static uint32_t
table_slot(struct sre_scout *sc, struct table *t,
    int (*evict)(struct sre_scout *, uint32_t))
{
	uint32_t k, i;

	if (t->n < t->cap)
		return t->n++;
	for (k = 0; k < t->cap; k++) {
		i = t->hand++ % t->cap;
		if (evict(sc, i)) {
			sc->st.evicted++;
			return i;
		}
	}
	return NONE;
}

static int
sig_busy(const struct sig *s)
{
	return s->h.anomalous;
}

static void
svc_unref(struct sre_scout *sc, uint32_t s)
{
	if (s != NONE && sc->svcs[s].refs > 0)
		sc->svcs[s].refs--;
}

static int
svc_evict(struct sre_scout *sc, uint32_t i)
{
	struct svc *s = &sc->svcs[i];

	if (!s->live)
		return 1;
	if (s->refs > 0 || sig_busy(&s->sig) ||
	    !evict_ok(sc, s->last_gen))
		return 0;
	hidx_del(&sc->tsvcs.ix, s->hash, i);
	free(s->name);
	memset(s, 0, sizeof(*s));
	sc->st.services--;
	return 1;
}

static uint32_t
svc_get(struct sre_scout *sc, const char *name, size_t len)
{
	uint64_t hash;
	uint32_t pos, i;
	struct svc *s;

	if (len == 0) {
		name = "unknown_service";
		len = strlen(name);
	}
	hash = sre__scout_hash(name, len, 0x5e5);
	for (pos = (uint32_t)hash & sc->tsvcs.ix.mask;
	    sc->tsvcs.ix.s[pos].idx != 0;
	    pos = (pos + 1) & sc->tsvcs.ix.mask) {
		if (sc->tsvcs.ix.s[pos].hash != hash)
			continue;
		s = &sc->svcs[sc->tsvcs.ix.s[pos].idx - 1];
		if (s->len == len && memcmp(s->name, name, len) == 0)
			return sc->tsvcs.ix.s[pos].idx - 1;
	}
	i = table_slot(sc, &sc->tsvcs, svc_evict);
	if (i == NONE)
		return NONE;
	s = &sc->svcs[i];
	memset(s, 0, sizeof(*s));
	if ((s->name = malloc(len + 1)) == NULL)
		return NONE;
	memcpy(s->name, name, len);
	s->name[len] = '\0';
	s->len = len;
	s->hash = hash;
	s->live = 1;
	s->last_gen = sc->newest;
	sre_baseline_init(&s->blerr);
	sre_baseline_init(&s->blwarn);
	hidx_put(&sc->tsvcs.ix, hash, i);
	sc->st.services++;
	return i;
}

static void
op_clear(struct op *o)
{
	int k;

	for (k = 0; k < NSLOT; k++) {
		sre_sketch_free(&o->w[k].total);
		sre_sketch_free(&o->w[k].self);
	}
	sre_sketch_free(&o->ctotal);
	sre_sketch_free(&o->cself);
	free(o->name);
	free(o->msgs);
	memset(o, 0, sizeof(*o));
}

static int
op_evict(struct sre_scout *sc, uint32_t i)
{
	struct op *o = &sc->ops[i];
	int k;

	if (!o->live)
		return 1;
	if (!evict_ok(sc, o->last_gen))
		return 0;
	for (k = 0; k < NSIG_OP; k++)
		if (sig_busy(&o->sig[k]))
			return 0;
	hidx_del(&sc->tops.ix, o->hash, i);
	svc_unref(sc, o->svc);
	op_clear(o);
	sc->st.series--;
	return 1;
}

/* The key of (service, operation): nh is the name's sre__scout_hash
 * with seed OP_SEED (a worker may have computed it). */
#define OP_SEED 0x09
static inline uint64_t
op_hash(uint32_t svc, uint64_t nh)
{
	return sre__scout_mix(nh ^ ((uint64_t)(svc + 1) * 0x9e3779b97f4a7c15ULL));
}

static uint32_t
op_get(struct sre_scout *sc, uint32_t svc, const char *name, size_t len,
    uint64_t nh)
{
	uint64_t hash;
	uint32_t pos, i;
	struct op *o;
	int k;

	hash = op_hash(svc, nh);
	for (pos = (uint32_t)hash & sc->tops.ix.mask;
	    sc->tops.ix.s[pos].idx != 0; pos = (pos + 1) & sc->tops.ix.mask) {
		if (sc->tops.ix.s[pos].hash != hash)
			continue;
		/* The 64-bit key, the service and the length decide: the
		 * name's bytes are not compared (a collision among a few
		 * thousand names is a one in 10^12 event, and the compare
		 * is a cache miss per span). */
		o = &sc->ops[sc->tops.ix.s[pos].idx - 1];
		if (o->svc == svc && o->len == len)
			return sc->tops.ix.s[pos].idx - 1;
	}
	i = table_slot(sc, &sc->tops, op_evict);
	if (i == NONE)
		return NONE;
	o = &sc->ops[i];
	memset(o, 0, sizeof(*o));
	if ((o->name = malloc(len + 1)) == NULL)
		return NONE;
	memcpy(o->name, name, len);
	o->name[len] = '\0';
	o->len = len;
	o->hash = hash;
	o->svc = svc;
	o->live = 1;
	for (k = 0; k < NSLOT; k++) {
		sre_sketch_init(&o->w[k].total, sc->cfg.accuracy, SKETCH_BINS);
		sre_sketch_init(&o->w[k].self, sc->cfg.accuracy, SKETCH_BINS);
		sre_sketch_set_pool(&o->w[k].total, &sc->pool);
		sre_sketch_set_pool(&o->w[k].self, &sc->pool);
	}
	sre_sketch_init(&o->ctotal, sc->cfg.accuracy, SKETCH_BINS);
	sre_sketch_init(&o->cself, sc->cfg.accuracy, SKETCH_BINS);
	sre_sketch_set_pool(&o->ctotal, &sc->pool);
	sre_sketch_set_pool(&o->cself, &sc->pool);
	sre_baseline_init(&o->b50);
	sre_baseline_init(&o->b95);
	sre_baseline_init(&o->bself);
	sre_baseline_init(&o->berr);
	sre_baseline_init(&o->btput);
	sc->svcs[svc].refs++;
	hidx_put(&sc->tops.ix, hash, i);
	sc->st.series++;
	return i;
}

static void
edge_clear(struct edge *e)
{
	int k;

	for (k = 0; k < NSLOT; k++) {
		sre_sketch_free(&e->w[k].client);
		sre_sketch_free(&e->w[k].gap);
	}
	memset(e, 0, sizeof(*e));
}

static int
edge_evict(struct sre_scout *sc, uint32_t i)
{
	struct edge *e = &sc->edges[i];

	if (!e->live)
		return 1;
	if (sig_busy(&e->sig) || !evict_ok(sc, e->last_gen))
		return 0;
	hidx_del(&sc->tedges.ix, e->hash, i);
	svc_unref(sc, e->from);
	svc_unref(sc, e->to);
	edge_clear(e);
	sc->st.edges--;
	sc->topo_changed = 1;
	return 1;
}

static uint32_t
edge_get(struct sre_scout *sc, uint32_t from, uint32_t to)
{
	uint64_t hash = sre__scout_mix(((uint64_t)from << 32 | to) ^ 0xed9e);
	uint32_t pos, i;
	struct edge *e;
	int k;

	for (pos = (uint32_t)hash & sc->tedges.ix.mask;
	    sc->tedges.ix.s[pos].idx != 0;
	    pos = (pos + 1) & sc->tedges.ix.mask) {
		e = &sc->edges[sc->tedges.ix.s[pos].idx - 1];
		if (e->from == from && e->to == to)
			return sc->tedges.ix.s[pos].idx - 1;
	}
	i = table_slot(sc, &sc->tedges, edge_evict);
	if (i == NONE)
		return NONE;
	e = &sc->edges[i];
	memset(e, 0, sizeof(*e));
	e->hash = hash;
	e->from = from;
	e->to = to;
	e->live = 1;
	for (k = 0; k < NSLOT; k++) {
		sre_sketch_init(&e->w[k].client, sc->cfg.accuracy, SKETCH_BINS);
		sre_sketch_init(&e->w[k].gap, sc->cfg.accuracy, SKETCH_BINS);
		sre_sketch_set_pool(&e->w[k].client, &sc->pool);
		sre_sketch_set_pool(&e->w[k].gap, &sc->pool);
	}
	sre_baseline_init(&e->bgap);
	sre_baseline_init(&e->bclient);
	sc->svcs[from].refs++;
	sc->svcs[to].refs++;
	hidx_put(&sc->tedges.ix, hash, i);
	sc->st.edges++;
	sc->topo_changed = 1;
	return i;
}

static int
met_evict(struct sre_scout *sc, uint32_t i)
{
	struct metric *m = &sc->mets[i];

	if (!m->live)
		return 1;
	/* Idle: not raised, and no point for 10 of its spacings while
	 * the metric time moved on (a series still sending keeps what it
	 * learnt; a newcomer finds no room and is counted instead). */
	if (sig_busy(&m->sig) || m->seen == sc->point_seq ||
	    (double)(sc->met_max_ms - m->max_ms) <= 10 * (m->step_ms > 1000 ?
	    m->step_ms : 1000))
		return 0;
	hidx_del(&sc->tmets.ix, m->hash, i);
	svc_unref(sc, m->svc);
	sre_tsad_free(m->d);
	free(m->name);
	free(m->labels);
	memset(m, 0, sizeof(*m));
	sc->st.metrics--;
	return 1;
}

static int
tpl_evict(struct sre_scout *sc, uint32_t i)
{
	struct tpl *t = &sc->tpls[i];

	if (!t->live)
		return 1;
	if (!evict_ok(sc, t->last_gen))
		return 0;
	hidx_del(&sc->ttpls.ix, t->hash, i);
	svc_unref(sc, t->svc);
	memset(t, 0, sizeof(*t));
	return 1;
}

/* ---- per-window slots ---------------------------------------------------- */

/* A slot taken for a new window: a sketch that grew wide gives its
 * buckets back to the pool, a narrow one keeps them. */
static inline void
sketch_renew(struct sre_sketch *k)
{
	if (k->cap > SKETCH_KEEP)
		sre_sketch_free(k);
	else
		sre_sketch_reset(k);
}

static inline struct opwin *
op_slot(struct op *o, uint64_t g)
{
	struct opwin *w = &o->w[g % NSLOT];

	if (w->gen != g) {
		w->gen = g;
		w->n = w->err = 0;
		w->wn = w->werr = 0;
		w->nex = 0;
		sketch_renew(&w->total);
		sketch_renew(&w->self);
	}
	return w;
}

static inline struct svcwin *
svc_slot(struct svc *s, uint64_t g)
{
	struct svcwin *w = &s->w[g % NSLOT];

	if (w->gen != g) {
		w->gen = g;
		w->spans = w->errors = 0;
		w->wspans = w->werrors = 0;
		w->logs = w->lerr = w->lwarn = 0;
		w->ntpl = w->nver = 0;
	}
	return w;
}

static inline struct edgewin *
edge_slot(struct edge *e, uint64_t g)
{
	struct edgewin *w = &e->w[g % NSLOT];

	if (w->gen != g) {
		w->gen = g;
		w->n = w->err = 0;
		w->wn = w->werr = 0;
		w->ncli = 0;
		sketch_renew(&w->client);
		sketch_renew(&w->gap);
	}
	return w;
}

/* ---- spans waiting for their children ---------------------------------- */

static inline uint64_t
child_key(uint64_t tkey, uint64_t id)
{
	uint64_t k = sre__scout_mix(tkey ^ (id * 0x9e3779b97f4a7c15ULL));

	return k ? k : 1;
}

static void
ctab_del_at(struct sre_scout *sc, uint32_t pos)
{
	uint32_t i = pos, j = pos, k, m = sc->cmask;

	for (;;) {
		j = (j + 1) & m;
		if (sc->ctab[j].key == 0)
			break;
		k = (uint32_t)sc->ctab[j].key & m;
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		sc->ctab[i] = sc->ctab[j];
		i = j;
	}
	sc->ctab[i].key = 0;
	sc->cn--;
}

/* A time as us after base, clamped to what an int32 holds. */
static inline int32_t
rel_us(uint64_t t, uint64_t base)
{
	int64_t d = t >= base ? (int64_t)((t - base) / 1000) :
	    -(int64_t)((base - t) / 1000);

	if (d > INT32_MAX)
		return INT32_MAX;
	if (d < INT32_MIN + 1)
		return INT32_MIN + 1;
	return (int32_t)d;
}

/* Double the table (when it is half full), up to cmax entries. */
static int
ctab_grow(struct sre_scout *sc)
{
	struct child *old = sc->ctab, *nt;
	uint32_t osize = sc->cmask + 1, size = osize * 2, i, pos;

	if (size > sc->cmax || (nt = calloc(size, sizeof(*nt))) == NULL)
		return -1;
	for (i = 0; i < osize; i++) {
		if (old[i].key == 0)
			continue;
		for (pos = (uint32_t)old[i].key & (size - 1); nt[pos].key != 0;
		    pos = (pos + 1) & (size - 1))
			;
		nt[pos] = old[i];
	}
	free(old);
	sc->ctab = nt;
	sc->cmask = size - 1;
	return 0;
}

/* Count a child span [start, end] of parent key. */
static void
ctab_add(struct sre_scout *sc, uint64_t key, uint64_t start, uint64_t end,
    uint32_t svc, int kind, double ms, int err)
{
	uint32_t pos;
	struct child *c;
	int i, j, best;
	int32_t lo, hi;
	int64_t gap, bg;

	if (sc->cn >= (sc->cmask + 1) / 2 && ctab_grow(sc) < 0 &&
	    sc->cn >= (sc->cmask + 1) / 4 * 3) {
		sc->st.early++;	/* no room: that parent will miss it */
		return;
	}
	for (pos = (uint32_t)key & sc->cmask; sc->ctab[pos].key != 0;
	    pos = (pos + 1) & sc->cmask)
		if (sc->ctab[pos].key == key)
			break;
	c = &sc->ctab[pos];
	if (c->key == 0) {
		memset(c, 0, sizeof(*c));
		c->key = key;
		c->base = start;
		c->last_end = INT32_MIN + 1;
		sc->cn++;
	}
	lo = rel_us(start, c->base);
	hi = rel_us(end, c->base);
	if (hi > c->last_end)
		c->last_end = hi;
	if (c->any_svc1 == 0)
		c->any_svc1 = svc + 1;
	if ((kind == SRE_OTLP_KIND_SERVER || kind == SRE_OTLP_KIND_CONSUMER) &&
	    (c->srv_svc1 == 0 || ms > c->srv_ms)) {
		c->srv_svc1 = svc + 1;
		c->srv_ms = (float)ms;
		c->srv_err = (uint8_t)err;
	}
	/* Merge [lo, hi] into the covered intervals. */
	for (i = 0; i < c->nint; i++) {
		if (lo <= c->hi[i] && hi >= c->lo[i]) {
			if (lo < c->lo[i])
				c->lo[i] = lo;
			if (hi > c->hi[i])
				c->hi[i] = hi;
			/* It may now touch the others. */
			for (j = 0; j < c->nint; j++) {
				if (j == i || c->lo[j] > c->hi[i] ||
				    c->hi[j] < c->lo[i])
					continue;
				if (c->lo[j] < c->lo[i])
					c->lo[i] = c->lo[j];
				if (c->hi[j] > c->hi[i])
					c->hi[i] = c->hi[j];
				c->lo[j] = c->lo[c->nint - 1];
				c->hi[j] = c->hi[c->nint - 1];
				c->nint--;
				if (i == c->nint)
					i = j;
				j = -1;
			}
			return;
		}
	}
	if (c->nint < 3) {
		c->lo[c->nint] = lo;
		c->hi[c->nint] = hi;
		c->nint++;
		return;
	}
	/* Full: widen the nearest interval over the gap (over-covers). */
	best = 0;
	bg = INT64_MAX;
	for (i = 0; i < 3; i++) {
		gap = lo > c->hi[i] ? (int64_t)lo - c->hi[i] :
		    (int64_t)c->lo[i] - hi;
		if (gap < bg) {
			bg = gap;
			best = i;
		}
	}
	if (lo < c->lo[best])
		c->lo[best] = lo;
	if (hi > c->hi[best])
		c->hi[best] = hi;
}

static int
ctab_take(struct sre_scout *sc, uint64_t key, struct child *out)
{
	uint32_t pos;

	if (sc->cn == 0)
		return 0;
	for (pos = (uint32_t)key & sc->cmask; sc->ctab[pos].key != 0;
	    pos = (pos + 1) & sc->cmask)
		if (sc->ctab[pos].key == key) {
			*out = sc->ctab[pos];
			ctab_del_at(sc, pos);
			return 1;
		}
	return 0;
}

/* Forget children whose parent never came (ended before horizon). */
static void
ctab_sweep(struct sre_scout *sc, uint64_t horizon)
{
	uint32_t i = 0;
	struct child *c;

	while (i <= sc->cmask) {
		c = &sc->ctab[i];
		if (c->key != 0 && rel_us(horizon, c->base) > c->last_end)
			ctab_del_at(sc, i);	/* something may move into i */
		else
			i++;
	}
}

static void
edge_count(struct sre_scout *sc, const struct pspan *p, uint32_t callee,
    double ms, double gap, int has_gap, int err)
{
	uint32_t e = edge_get(sc, p->svc, callee);
	struct edgewin *w;
	struct edge *ed;
	int i;

	if (e == NONE) {
		sc->st.dropped++;
		return;
	}
	ed = &sc->edges[e];
	ed->last_gen = p->gen;
	sc->svcs[p->svc].last_gen = sc->svcs[callee].last_gen = p->gen;
	w = edge_slot(ed, p->gen);
	w->n++;
	w->wn += p->w;
	if (err) {
		w->err++;
		w->werr += p->w;
	}
	if (p->lat_ok) {
		sre_sketch_add(&w->client, ms);
		if (has_gap)
			sre_sketch_add(&w->gap, gap > 0 ? gap : 0);
	}
	for (i = 0; i < w->ncli; i++)
		if (w->cli[i] == p->op)
			return;
	if (w->ncli < NCLI)
		w->cli[w->ncli++] = p->op;
}

/* A span's children are in (as far as they will be): count its self time
 * and the call edge it makes. */
static void
finalize(struct sre_scout *sc, struct pspan *p)
{
	struct child c;
	double ms, covered = 0, self;
	int32_t lo, hi, slo, shi;
	struct opwin *w;
	struct op *o;
	int i, has;

	p->done = 1;
	has = ctab_take(sc, child_key(p->tkey, p->id), &c);
	ms = (double)(p->end - p->start) / 1e6;
	if (has) {
		slo = rel_us(p->start, c.base);
		shi = rel_us(p->end, c.base);
		for (i = 0; i < c.nint; i++) {
			lo = c.lo[i] > slo ? c.lo[i] : slo;
			hi = c.hi[i] < shi ? c.hi[i] : shi;
			if (hi > lo)
				covered += (double)(hi - lo) / 1e3;
		}
	}
	self = ms - covered;
	if (self < 0)
		self = 0;
	o = &sc->ops[p->op];
	if (p->lat_ok && o->live) {
		w = op_slot(o, p->gen);
		sre_sketch_add(&w->self, self);
	}
	if (!has)
		return;
	if (c.srv_svc1 != 0 && c.srv_svc1 - 1 != p->svc &&
	    (p->kind == SRE_OTLP_KIND_CLIENT ||
	    p->kind == SRE_OTLP_KIND_PRODUCER))
		edge_count(sc, p, c.srv_svc1 - 1, ms, ms - c.srv_ms, 1,
		    p->err || c.srv_err);
	else if (c.any_svc1 != 0 && c.any_svc1 - 1 != p->svc)
		edge_count(sc, p, c.any_svc1 - 1, ms, 0, 0, p->err);
}

static void
pend_push(struct sre_scout *sc, const struct pspan *p)
{
	if (sc->ptail - sc->phead > sc->pmask) {
		/* Full: judge the oldest now, children or not. */
		struct pspan *h = &sc->pend[sc->phead & sc->pmask];

		if (!h->done) {
			finalize(sc, h);
			sc->st.early++;
		}
		sc->phead++;
	}
	sc->pend[sc->ptail++ & sc->pmask] = *p;
}

/* ---- records ----------------------------------------------------------- */

static uint8_t
svc_version(struct sre_scout *sc, uint32_t s, struct sre_json_str v,
    int64_t t)
{
	struct svc *sv = &sc->svcs[s];
	size_t len = v.n < VER_LEN ? v.n : VER_LEN;
	int i, oldest = 0;

	if (v.n == 0)
		return UINT8_MAX;
	for (i = 0; i < sv->nver; i++)
		if (sv->verlen[i] == len && memcmp(sv->ver[i], v.p, len) == 0)
			return (uint8_t)i;
	if (sv->nver < NVER)
		i = sv->nver++;
	else {
		for (i = 1; i < NVER; i++)
			if (sv->ver_first[i] < sv->ver_first[oldest])
				oldest = i;
		i = oldest;
	}
	memcpy(sv->ver[i], v.p, len);
	sv->verlen[i] = (uint8_t)len;
	sv->ver_first[i] = t;
	return (uint8_t)i;
}

/* The service of a record's resource, cached for the resource. */
static uint32_t
res_svc(struct sre_scout *sc, const struct span_in *in, int64_t t)
{
	if (sc->cres_index == in->res_index &&
	    sc->cres_serial == sc->line_serial && sc->csvc != NONE &&
	    sc->svcs[sc->csvc].live)
		return sc->csvc;
	sc->cres_index = in->res_index;
	sc->cres_serial = sc->line_serial;
	sc->csvc = svc_get(sc, in->svc.p, in->svc.n);
	sc->cver = sc->csvc == NONE ? UINT8_MAX :
	    svc_version(sc, sc->csvc, in->ver, t);
	return sc->csvc;
}

static inline int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Keep the trace as an exemplar if it is among the window's five most
 * telling (errors first, then the slowest).  Ids that are not 32 hex
 * digits are not kept. */
static void
exemplar(struct opwin *w, struct sre_json_str tid, double score)
{
	uint8_t id[TID_LEN];
	int i, lo = 0, h, l;

	if (tid.n != 2 * TID_LEN)
		return;
	if (w->nex == NEX) {
		for (i = 1; i < NEX; i++)
			if (w->ex[i].score < w->ex[lo].score)
				lo = i;
		if (score <= w->ex[lo].score)
			return;
	}
	for (i = 0; i < TID_LEN; i++) {
		h = hexval((unsigned char)tid.p[2 * i]);
		l = hexval((unsigned char)tid.p[2 * i + 1]);
		if (h < 0 || l < 0)
			return;
		id[i] = (uint8_t)(h << 4 | l);
	}
	i = w->nex < NEX ? w->nex++ : lo;
	memcpy(w->ex[i].tid, id, TID_LEN);
	w->ex[i].score = score;
}

/*
 * Count an error message of operation o in window g.  The table is
 * shared by the open windows: an entry of a closed window is free, one of
 * an open window is kept until it closes (a one-off of window g may give
 * way to another of g).
 */
static void
op_message(struct sre_scout *sc, struct op *o, uint64_t g, const char *text,
    size_t len)
{
	struct msg *m;
	uint64_t h;
	int i, pick = -1;

	if (len == 0)
		return;
	if (len >= MSG_LEN)
		len = MSG_LEN - 1;
	if (o->msgs == NULL && (o->msgs = calloc(NMSG, sizeof(*o->msgs))) ==
	    NULL)
		return;
	h = sre__scout_hash(text, len, 0x3e55);
	for (i = 0; i < NMSG; i++) {
		m = &o->msgs[i];
		if (m->gen == g && m->hash == h) {
			m->count++;
			return;
		}
		if (m->gen < sc->oldest || m->count == 0) {
			pick = i;	/* free */
			break;
		}
		if (m->gen == g && m->count == 1 && pick < 0)
			pick = i;
	}
	if (pick < 0)
		return;
	for (; i < NMSG; i++)	/* the same message further on? */
		if (o->msgs[i].gen == g && o->msgs[i].hash == h) {
			o->msgs[i].count++;
			return;
		}
	m = &o->msgs[pick];
	m->gen = g;
	m->hash = h;
	m->count = 1;
	m->len = (uint16_t)len;
	memcpy(m->text, text, len);
	m->text[len] = '\0';
}

/* A span of service s in window g, by its version too. */
static void
svc_count(struct sre_scout *sc, uint32_t s, uint64_t g, int err, double w)
{
	struct svcwin *sw;
	int i;

	sc->svcs[s].last_gen = g;
	sw = svc_slot(&sc->svcs[s], g);
	sw->spans++;
	sw->wspans += w;
	if (err) {
		sw->errors++;
		sw->werrors += w;
	}
	if (sc->cver != UINT8_MAX) {
		for (i = 0; i < sw->nver; i++)
			if (sw->ver[i].v == sc->cver)
				break;
		if (i == sw->nver && sw->nver < NVER) {
			sw->ver[i].v = sc->cver;
			sw->ver[i].spans = sw->ver[i].errors = 0;
			sw->nver++;
		}
		if (i < sw->nver) {
			sw->ver[i].spans++;
			sw->ver[i].errors += (uint32_t)err;
		}
	}
}

/* Apply one span, read here or by a worker (struct span_in). */
int
sre__read_span(struct sre_scout *sc, const struct span_in *in)
{
	struct pspan p;
	struct opwin *ow;
	struct op *o;
	uint64_t end;
	int64_t end_ms;
	uint32_t s, oi;
	uint64_t g;
	double ms, w;
	char buf[256], hs[32];
	const char *mt;
	size_t ml;
	int err, lat_ok = 1;

	sc->st.spans++;
	if (in->quirks != 0) {
		sre__eval_report(sc, 0, "span '%.*s' of '%.*s': tolerated: %s",
		    clip_len(in->name.n), in->name.p, clip_len(in->svc.n),
		    in->svc.p, quirk_words(in->quirks, buf, sizeof(buf)));
		if (in->quirks & (SRE_OTLP_Q_NO_START | SRE_OTLP_Q_NO_END |
		    SRE_OTLP_Q_END_BEFORE_START))
			lat_ok = 0;
	}
	end = in->end;
	ms = (double)in->dur / 1e6;
	if (lat_ok && ms > (double)sc->cfg.max_duration_ms) {
		/* Its end is not credible either: it counts at its start. */
		sre__eval_report(sc, 0, "span '%.*s' of '%.*s': duration %.0f "
		    "ms is beyond --max-duration: not used for latency",
		    clip_len(in->name.n), in->name.p, clip_len(in->svc.n),
		    in->svc.p, ms);
		lat_ok = 0;
		end = in->start;
		ms = 0;
	}
	end_ms = (int64_t)(end / 1000000u);
	if (time_ok(sc, end_ms, "span", in->name, in->svc) < 0)
		return 0;
	if (!lat_ok)
		sc->st.no_latency++;
	if (sc->rate < 1 && (double)(in->tkey >> 11) * 0x1.0p-53 >= sc->rate) {
		sc->st.sampled_out++;
		return 0;
	}
	/* Time first: the stream moves on even when the series finds no
	 * room (and closed windows make room). */
	if (advance(sc, end_ms, &g) < 0)
		return -1;
	if (g == 0)
		return 0;
	if ((s = res_svc(sc, in, end_ms)) == NONE ||
	    (oi = op_get(sc, s, in->name.p, in->name.n, in->name_hash)) ==
	    NONE) {
		sc->st.dropped++;
		return 0;
	}
	w = 1 / sc->rate;
	err = in->status == SRE_OTLP_STATUS_ERROR || in->http >= 500;
	o = &sc->ops[oi];
	o->last_gen = g;
	ow = op_slot(o, g);
	ow->n++;
	ow->wn += w;
	if (err) {
		ow->err++;
		ow->werr += w;
	}
	if (lat_ok)
		sre_sketch_add(&ow->total, ms);
	exemplar(ow, in->tid, err ? 1e15 + ms : ms);
	if (err) {
		mt = in->msg.p;
		ml = in->msg.n;
		if (ml == 0 && in->http > 0) {
			snprintf(hs, sizeof(hs), "HTTP %d", in->http);
			mt = hs;
			ml = strlen(hs);
		}
		op_message(sc, o, g, mt, ml);
	}
	svc_count(sc, s, g, err, w);
	p.tkey = in->tkey;
	p.id = in->id;
	p.parent = in->parent;
	p.start = in->start;
	p.end = end;
	p.gen = g;
	p.op = oi;
	p.svc = s;
	p.w = (float)w;
	p.kind = (uint8_t)in->kind;
	p.err = (uint8_t)err;
	p.lat_ok = (uint8_t)lat_ok;
	p.done = 0;
	if (p.parent != 0)
		ctab_add(sc, child_key(p.tkey, p.parent), p.start, p.end, s,
		    in->kind, ms, err);
	pend_push(sc, &p);
	return sc->gone ? -1 : 0;
}

/* What the engine needs of a span, from lib/otlp's record.  Borrows. */
void
sre__read_span_in(const struct sre_otlp_span *sp, struct span_in *in)
{
	in->svc = sp->res->service;
	in->ver = sp->res->service_version;
	in->res_index = sp->res->index;
	in->name = sp->name;
	in->name_hash = hstr(sp->name, OP_SEED);
	in->tid = sp->trace_id;
	in->msg = sp->status_message;
	if (in->msg.n == 0)
		in->msg = sp->exception_message;
	if (in->msg.n == 0)
		in->msg = sp->error_type;
	in->tkey = hstr(sp->trace_id, 0x7ace);
	in->id = hstr(sp->span_id, 0x5a11);
	in->parent = sp->parent_span_id.n ? hstr(sp->parent_span_id, 0x5a11) :
	    0;
	in->start = sp->start_ns;
	in->end = sp->end_ns;
	in->dur = sp->duration_ns;
	in->kind = sp->kind;
	in->status = sp->status;
	in->http = sp->http_status;
	in->quirks = sp->quirks;
}

static int
on_span(void *arg, const struct sre_otlp_span *sp)
{
	struct span_in in;

	sre__read_span_in(sp, &in);
	return sre__read_span(arg, &in);
}

/* A label of a point that names its service, if any. */
static struct sre_json_str
point_service(struct sre_scout *sc, const struct sre_otlp_point *pt)
{
	static const char *const keys[] = { "service.name", "service", "job",
	    "host", "host.name", NULL };
	struct sre_otlp_value v;
	struct sre_json_str none = { "", 0 };
	int i;

	if (pt->res->service.n > 0)
		return pt->res->service;
	for (i = 0; keys[i] != NULL; i++)
		if (sre_otlp_attr_find(sc->rd, pt->attrs, keys[i], &v) == 1 &&
		    v.type == SRE_OTLP_V_STRING && v.s.n > 0)
			return v.s;
	if (pt->metric.n > 0)
		return pt->metric;
	return none;
}

/* The labels of a point as a JSON object's text (malloc'd). */
static char *
point_labels(struct sre_scout *sc, const struct sre_otlp_point *pt)
{
	struct sre_otlp_attr_iter it;
	struct sre_otlp_attr a;
	jv o = jv_object(), v;
	char *text;
	size_t len;
	int n = 0;

	sre_otlp_attr_begin(&it, pt->attrs);
	while (n < 16 && sre_otlp_attr_next(sc->rd, &it, &a) == 1) {
		switch (a.v.type) {
		case SRE_OTLP_V_INT:
		case SRE_OTLP_V_DOUBLE:
			v = jv_number(a.v.d);
			break;
		case SRE_OTLP_V_BOOL:
			v = jv_bool(a.v.i != 0);
			break;
		default:
			v = jv_string_sized(a.v.s.p,
			    (int)(a.v.s.n > 200 ? 200 : a.v.s.n));
		}
		o = jv_object_set(o, jv_string_sized(a.key.p,
		    (int)(a.key.n > 100 ? 100 : a.key.n)), v);
		n++;
	}
	text = sre_jv_dump(o, &len);
	return text;
}

/*
 * A hash of a JSON text's slice without the white space between its
 * tokens, so that {"a": 1} and {"a":1} name one series.
 */
static uint64_t
hjson(struct sre_json_str s, uint64_t seed)
{
	char buf[256];
	size_t i, n = 0;
	int instr = 0, esc = 0;
	uint64_t h = seed;

	for (i = 0; i < s.n; i++) {
		char c = s.p[i];

		if (instr) {
			if (esc)
				esc = 0;
			else if (c == '\\')
				esc = 1;
			else if (c == '"')
				instr = 0;
		} else if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
			continue;
		else if (c == '"')
			instr = 1;
		buf[n++] = c;
		if (n == sizeof(buf)) {
			h = sre__scout_hash(buf, n, h);
			n = 0;
		}
	}
	return sre__scout_hash(buf, n, h);
}

static uint32_t
met_get(struct sre_scout *sc, const struct sre_otlp_point *pt)
{
	struct sre_json_str sname = point_service(sc, pt);
	uint64_t hash;
	uint32_t pos, i, s;
	struct metric *m;

	hash = hstr(pt->metric, hstr(sname, 0x3e7));
	hash = hjson(pt->attrs, hash);
	for (pos = (uint32_t)hash & sc->tmets.ix.mask;
	    sc->tmets.ix.s[pos].idx != 0;
	    pos = (pos + 1) & sc->tmets.ix.mask)
		if (sc->tmets.ix.s[pos].hash == hash)
			return sc->tmets.ix.s[pos].idx - 1;
	if ((s = svc_get(sc, sname.p, sname.n)) == NONE)
		return NONE;
	i = table_slot(sc, &sc->tmets, met_evict);
	if (i == NONE)
		return NONE;
	m = &sc->mets[i];
	memset(m, 0, sizeof(*m));
	if ((m->d = sre_tsad_new(&sc->tcfg)) == NULL ||
	    (m->name = malloc(pt->metric.n + 1)) == NULL ||
	    (m->labels = point_labels(sc, pt)) == NULL) {
		sre_tsad_free(m->d);
		free(m->name);
		memset(m, 0, sizeof(*m));
		return NONE;
	}
	memcpy(m->name, pt->metric.p, pt->metric.n);
	m->name[pt->metric.n] = '\0';
	m->hash = hash;
	m->svc = s;
	m->live = 1;
	sc->svcs[s].refs++;
	hidx_put(&sc->tmets.ix, hash, i);
	sc->st.metrics++;
	return i;
}

/* The value a point stands for; 0 when it has one, -1 to skip it. */
static int
point_value(struct metric *m, const struct sre_otlp_point *pt, double *out)
{
	double dt, v;

	switch (pt->type) {
	case SRE_OTLP_GAUGE:
		if (!(pt->has & SRE_OTLP_HAS_VALUE))
			return -1;
		*out = pt->value;
		return 0;
	case SRE_OTLP_SUM:
		if (!(pt->has & SRE_OTLP_HAS_VALUE))
			return -1;
		if (pt->temporality == 2 && pt->monotonic) {
			/* Cumulative: the rate since the last point. */
			v = pt->value;
			if (!m->has_prev || pt->time_ns <= m->prev_t ||
			    v < m->prev) {
				m->has_prev = 1;
				m->prev = v;
				m->prev_t = pt->time_ns;
				return -1;
			}
			dt = (double)(pt->time_ns - m->prev_t) / 1e9;
			*out = (v - m->prev) / dt;
			m->counter = 1;
			m->delta = v - m->prev;
			m->dt = dt;
			m->prev = v;
			m->prev_t = pt->time_ns;
			return 0;
		}
		if (pt->temporality == 1 && (pt->has & SRE_OTLP_HAS_START) &&
		    pt->time_ns > pt->start_ns) {
			*out = pt->value /
			    ((double)(pt->time_ns - pt->start_ns) / 1e9);
			return 0;
		}
		*out = pt->value;
		return 0;
	case SRE_OTLP_HISTOGRAM:
	case SRE_OTLP_EXP_HISTOGRAM:
	case SRE_OTLP_SUMMARY:
		if (!(pt->has & SRE_OTLP_HAS_SUM))
			return -1;
		if (pt->temporality == 2) {
			if (!m->has_prev || pt->count < m->prev_count ||
			    pt->time_ns <= m->prev_t) {
				m->has_prev = 1;
				m->prev_count = pt->count;
				m->prev_sum = pt->sum;
				m->prev_t = pt->time_ns;
				return -1;
			}
			if (pt->count == m->prev_count)
				return -1;
			*out = (pt->sum - m->prev_sum) /
			    (double)(pt->count - m->prev_count);
			m->prev_count = pt->count;
			m->prev_sum = pt->sum;
			m->prev_t = pt->time_ns;
			return 0;
		}
		if (pt->count == 0)
			return -1;
		*out = pt->sum / (double)pt->count;
		return 0;
	}
	return -1;
}

/* What one point of a metric series made of it. */
struct verdict {
	double score;		/* in lib/tsad's scale, [0, 1) */
	double expected, scale;	/* the expectation and its spread */
	int alarm;		/* raise (when not raised already) */
};

/*
 * A sparse counter (a few increments per point, errors say): lib/tsad
 * reads the step from nothing to one as a huge surprise, so such a
 * counter is judged as counts instead, against a Poisson expectation at
 * its learned rate.  Returns 1 when it judged the point this way.
 */
static int
counter_point(struct sre_scout *sc, struct metric *m, struct verdict *vd)
{
	double lam, z, L;

	lam = m->brate.n ? m->brate.mean * m->dt : 0;
	if (lam < 0)
		lam = 0;
	if (lam >= 5 && m->brate.n >= 20)
		return 0;	/* dense: lib/tsad reads it well */
	z = (m->delta - lam) / sqrt(lam + 1);
	/* The tail in decades, as a score in lib/tsad's scale. */
	L = z > 0 ? z * z / (2 * M_LN10) : 0;
	vd->score = L / (L + 5);
	vd->expected = lam / m->dt;
	vd->scale = sqrt(lam + 1) / m->dt;
	vd->alarm = m->brate.n >= 20 && m->delta >= 5 &&
	    z >= sc->cfg.threshold && m->delta >= 3 * lam + 3;
	if (!vd->alarm)
		sre_baseline_learn(&m->brate, m->delta / m->dt, 1e-3, 0.05, 1e9);
	return 1;
}

/*
 * A metric series' state after its point (t, v) judged: raised on an
 * alarm; raised, back once recover_windows points in a row lie within
 * BACK_Z spreads (as they were when it was raised) of what is expected,
 * or once SETTLE_POINTS points in a row scored calm (a new level that
 * stays is the normal one now).
 */
#define BACK_Z	3.0
#define SETTLE_POINTS 100
static int
met_judge(struct sre_scout *sc, uint32_t i, int64_t t, double v,
    const struct verdict *vd)
{
	struct metric *m = &sc->mets[i];
	struct sre_hyst *h = &m->sig.h;
	int rc = 0;

	if (!h->anomalous) {
		if (vd->alarm) {
			h->anomalous = 1;
			h->calm = 0;
			m->quiet = 0;
			m->a_scale = vd->scale;
			rc = sre__eval_metric(sc, i, 1, t, v, vd->expected,
			    vd->score);
		}
	} else {
		if (fabs(v - vd->expected) <= BACK_Z * m->a_scale) {
			if (h->calm < UINT8_MAX)
				h->calm++;
		} else
			h->calm = 0;
		if (vd->score < sc->cfg.metric_threshold * 0.8)
			m->quiet++;
		else
			m->quiet = 0;
		if (h->calm >= sc->cfg.recover_windows ||
		    m->quiet >= SETTLE_POINTS) {
			h->anomalous = 0;
			rc = sre__eval_metric(sc, i, 0, t, v, vd->expected,
			    vd->score);
		}
	}
	m->prev_ms = m->max_ms;
	return rc < 0 || sc->gone ? -1 : 0;
}

/*
 * A metric point's time, against its own series' clock: any gap ahead
 * is fine (a sparse or backfilled series); behind its latest point, it
 * may be late by the allowed lateness or LATE_STEPS of its usual
 * spacing, whichever is longer.  0 to go on, -1 rejected (reported).
 */
#define LATE_STEPS 64
static int
met_time(struct sre_scout *sc, struct metric *m, int64_t t,
    const struct sre_otlp_point *pt)
{
	int64_t allowed;
	double g;

	if (m->max_ms == 0 || t >= m->max_ms) {
		if (m->max_ms != 0 && t > m->max_ms) {
			g = (double)(t - m->max_ms);
			/* The spacing: a running estimate that follows a
			 * changed cadence, not thrown by a gap. */
			if (m->step_ms == 0)
				m->step_ms = g;
			else
				m->step_ms += 0.1 * (g < 4 * m->step_ms ? g -
				    m->step_ms : 3 * m->step_ms);
		}
		if (t > m->max_ms)
			m->max_ms = t;
		return 0;
	}
	allowed = sc->cfg.lateness_ms;
	if (LATE_STEPS * m->step_ms > (double)allowed)
		allowed = (int64_t)(LATE_STEPS * m->step_ms);
	if (m->max_ms - t <= allowed)
		return 0;
	sre__eval_report(sc, 1, "point of '%.*s': timestamp %lld ms is %lld "
	    "ms behind its series' latest point (%lld ms): older than the "
	    "series allows (%lld ms)", clip_len(pt->metric.n), pt->metric.p,
	    (long long)t, (long long)(m->max_ms - t), (long long)m->max_ms,
	    (long long)allowed);
	return -1;
}

/*
 * Raised metric series that went quiet: a series with no point for
 * SETTLE_POINTS of its spacings (a minute at least) while the metric
 * time moved on to now recovers, so a gauge that died raised does not
 * hold its incident open.
 */
static int
met_stale(struct sre_scout *sc, int64_t now)
{
	struct metric *m;
	double gap;
	uint32_t i;

	for (i = 0; i < sc->tmets.n; i++) {
		m = &sc->mets[i];
		if (!m->live || !m->sig.h.anomalous)
			continue;
		gap = m->step_ms > 60000 ? m->step_ms : 60000;
		if ((double)(now - m->max_ms) <= SETTLE_POINTS * gap)
			continue;
		m->sig.h.anomalous = 0;
		m->prev_ms = m->max_ms;
		if (sre__eval_metric(sc, i, 0, now, NAN, NAN, 0) < 0)
			return -1;
	}
	return 0;
}

static int
on_point(void *arg, const struct sre_otlp_point *pt)
{
	struct sre_scout *sc = arg;
	struct sre_tsad_result r;
	struct verdict vd;
	struct metric *m;
	char buf[256];
	uint32_t i;
	int64_t t;
	double v;

	sc->st.points++;
	if (pt->quirks != 0)
		sre__eval_report(sc, 0, "point of '%.*s': tolerated: %s",
		    clip_len(pt->metric.n), pt->metric.p,
		    quirk_words(pt->quirks, buf, sizeof(buf)));
	t = (int64_t)(pt->time_ns / 1000000u);
	if ((pt->quirks & SRE_OTLP_Q_NO_TIME) || t == 0) {
		t = sc->met_max_ms > sc->max_ms ? sc->met_max_ms : sc->max_ms;
		if (t == 0) {
			sre__eval_report(sc, 1, "point of '%.*s': no "
			    "timestamp", clip_len(pt->metric.n), pt->metric.p);
			return 0;
		}
	}
	if (t < MIN_TIME_MS || t > MAX_TIME_MS) {
		sre__eval_report(sc, 1, "point of '%.*s': timestamp %lld ms "
		    "is not between 2000 and 2100", clip_len(pt->metric.n),
		    pt->metric.p, (long long)t);
		return 0;
	}
	sc->point_seq++;
	if ((i = met_get(sc, pt)) == NONE) {
		sc->st.dropped++;
		return 0;
	}
	m = &sc->mets[i];
	m->seen = sc->point_seq;
	if (met_time(sc, m, t, pt) < 0)
		return 0;
	if (t > sc->met_max_ms)
		sc->met_max_ms = t;
	/* Incidents age with the windows; without spans closing them,
	 * with the metric points' time. */
	if (t >= sc->inc_tick_ms + 2 * sc->next_window_ms) {
		if (met_stale(sc, t) < 0)
			return -1;
		sre__eval_tick(sc, t);
	}
	if (point_value(m, pt, &v) < 0 || !isfinite(v))
		return 0;
	if (m->counter && counter_point(sc, m, &vd))
		return met_judge(sc, i, t, v, &vd);
	if (sre_tsad_update(m->d, t, v, &r) < 0)
		return 0;
	vd.score = r.score;
	vd.expected = r.expected;
	vd.scale = r.scale;
	vd.alarm = r.alarm;
	return met_judge(sc, i, t, v, &vd);
}

static int
log_level(const struct sre_otlp_log *l)
{
	const char *t = l->severity_text.p;
	size_t n = l->severity_text.n;

	if (l->priority >= 0)
		return l->priority <= 3 ? LVL_ERROR :
		    l->priority == 4 ? LVL_WARN : LVL_INFO;
	if (l->severity >= 17)
		return LVL_ERROR;
	if (l->severity >= 13)
		return LVL_WARN;
	if (l->severity > 0 || n == 0)
		return LVL_INFO;
	if ((n >= 3 && strncasecmp(t, "ERR", 3) == 0) ||
	    (n >= 4 && strncasecmp(t, "CRIT", 4) == 0) ||
	    (n >= 5 && strncasecmp(t, "FATAL", 5) == 0) ||
	    (n >= 5 && strncasecmp(t, "ALERT", 5) == 0) ||
	    (n >= 5 && strncasecmp(t, "EMERG", 5) == 0))
		return LVL_ERROR;
	if (n >= 4 && strncasecmp(t, "WARN", 4) == 0)
		return LVL_WARN;
	return LVL_INFO;
}

static uint32_t
tpl_get(struct sre_scout *sc, uint32_t s, uint64_t id)
{
	uint64_t hash = sre__scout_mix(id ^ ((uint64_t)s * 0x9e3779b97f4a7c15ULL));
	uint32_t pos, i;
	struct tpl *t;

	for (pos = (uint32_t)hash & sc->ttpls.ix.mask;
	    sc->ttpls.ix.s[pos].idx != 0;
	    pos = (pos + 1) & sc->ttpls.ix.mask) {
		t = &sc->tpls[sc->ttpls.ix.s[pos].idx - 1];
		if (t->id == id && t->svc == s)
			return sc->ttpls.ix.s[pos].idx - 1;
	}
	i = table_slot(sc, &sc->ttpls, tpl_evict);
	if (i == NONE)
		return NONE;
	t = &sc->tpls[i];
	memset(t, 0, sizeof(*t));
	t->hash = hash;
	t->id = id;
	t->svc = s;
	t->live = 1;
	t->first_ms = sc->max_ms;
	sc->svcs[s].refs++;
	hidx_put(&sc->ttpls.ix, hash, i);
	return i;
}

static int
on_log(void *arg, const struct sre_otlp_log *l)
{
	static const struct sre_json_str none = { "", 0 };
	struct sre_scout *sc = arg;
	struct span_in lin;
	struct sre_logmine_match mm;
	struct svcwin *w;
	struct tplcount *tc;
	char buf[256];
	uint32_t s;
	int64_t t;
	uint64_t g;
	int lvl, i, lo;
	size_t n;

	sc->st.logs++;
	if (l->quirks & ~(unsigned)SRE_OTLP_Q_TRUNCATED)
		sre__eval_report(sc, 0, "log record of '%.*s': tolerated: %s",
		    clip_len(l->res->service.n), l->res->service.p,
		    quirk_words(l->quirks, buf, sizeof(buf)));
	t = (int64_t)(l->time_ns / 1000000u);
	if ((l->quirks & SRE_OTLP_Q_NO_TIME) || t == 0) {
		if (!sc->have_time) {
			sre__eval_report(sc, 1, "log record of '%.*s': no "
			    "timestamp", clip_len(l->res->service.n),
			    l->res->service.p);
			return 0;
		}
		t = sc->max_ms;
	}
	if (time_ok(sc, t, "log record", none, l->res->service) < 0)
		return 0;
	lin.svc = l->res->service;
	lin.ver = l->res->service_version;
	lin.res_index = l->res->index;
	if (advance(sc, t, &g) < 0)
		return -1;
	if (g == 0)
		return 0;
	if ((s = res_svc(sc, &lin, t)) == NONE) {
		sc->st.dropped++;
		return 0;
	}
	sc->svcs[s].last_gen = g;
	w = svc_slot(&sc->svcs[s], g);
	w->logs++;
	lvl = log_level(l);
	if (lvl == LVL_INFO)
		return 0;
	if (lvl == LVL_ERROR)
		w->lerr++;
	else
		w->lwarn++;
	n = l->body.n > 2048 ? 2048 : l->body.n;
	if (n == 0 || sre_logmine_add(sc->lm, l->body.p, n, &mm) < 0)
		return 0;
	for (i = 0; i < w->ntpl; i++)
		if (w->tpl[i].id == mm.id) {
			w->tpl[i].count++;
			if (lvl > w->tpl[i].level)
				w->tpl[i].level = (uint8_t)lvl;
			return 0;
		}
	if (w->ntpl < NTPL)
		i = w->ntpl++;
	else {
		/* Full: a newcomer takes the place of a one-off. */
		for (lo = 0, i = 1; i < NTPL; i++)
			if (w->tpl[i].count < w->tpl[lo].count)
				lo = i;
		if (w->tpl[lo].count > 1)
			return 0;
		i = lo;
	}
	tc = &w->tpl[i];
	tc->id = mm.id;
	tc->count = 1;
	tc->level = (uint8_t)lvl;
	n = n < EXAMPLE_LEN - 1 ? n : EXAMPLE_LEN - 1;
	memcpy(tc->example, l->body.p, n);
	tc->example[n] = '\0';
	tc->len = (uint16_t)n;
	if (tpl_get(sc, s, mm.id) == NONE)
		sc->st.dropped++;
	return 0;
}

static int
on_reject(void *arg, const struct sre_otlp_reject *rj)
{
	sre__eval_report(arg, 1, "%s", rj->msg);
	return 0;
}

/* ---- the engine's tables, made and freed ------------------------------ */

int
sre__read_init(struct sre_scout *sc)
{
	const struct sre_scout_config *cfg = &sc->cfg;
	struct sre_logmine_conf lc;
	uint32_t nsvc, nmet, size;

	sre_logmine_conf_init(&lc);
	lc.max_groups = cfg->max_series;
	lc.max_bytes = 4u << 20;
	lc.max_line = 2048;
	nsvc = cfg->max_series / 8 < 64 ? 64 : cfg->max_series / 8;
	nmet = cfg->max_series / 4 < 64 ? 64 : cfg->max_series / 4;
	for (size = 64; size < cfg->max_pending; size <<= 1)
		;
	if ((sc->rd = sre_otlp_new(0)) == NULL ||
	    (sc->lm = sre_logmine_new(&lc)) == NULL ||
	    (sc->inc = sre_incidents_new(cfg->incident_hold,
	    cfg->max_incidents)) == NULL ||
	    table_init(&sc->tops, cfg->max_series) < 0 ||
	    table_init(&sc->tmets, nmet) < 0 ||
	    table_init(&sc->ttpls, cfg->max_series) < 0 ||
	    table_init(&sc->tedges, cfg->max_series / 2) < 0 ||
	    table_init(&sc->tsvcs, nsvc) < 0 ||
	    (sc->ops = calloc(cfg->max_series, sizeof(*sc->ops))) == NULL ||
	    (sc->mets = calloc(nmet, sizeof(*sc->mets))) == NULL ||
	    (sc->tpls = calloc(cfg->max_series, sizeof(*sc->tpls))) == NULL ||
	    (sc->edges = calloc(cfg->max_series / 2,
	    sizeof(*sc->edges))) == NULL ||
	    (sc->svcs = calloc(nsvc, sizeof(*sc->svcs))) == NULL ||
	    (sc->pend = calloc(size, sizeof(*sc->pend))) == NULL ||
	    (sc->ctab = calloc(1024, sizeof(*sc->ctab))) == NULL)
		return -1;
	sc->pool.limit = (size_t)cfg->max_series * 2048;
	sc->pmask = size - 1;
	sc->cmask = 1024 - 1;
	sc->cmax = size;
	sc->oh.span = on_span;
	sc->oh.point = on_point;
	sc->oh.log = on_log;
	sc->oh.reject = on_reject;
	sc->oh.arg = sc;
	return 0;
}

void
sre__read_free(struct sre_scout *sc)
{
	uint32_t i;

	for (i = 0; sc->ops != NULL && i < sc->tops.n; i++)
		op_clear(&sc->ops[i]);
	for (i = 0; sc->edges != NULL && i < sc->tedges.n; i++)
		edge_clear(&sc->edges[i]);
	for (i = 0; sc->mets != NULL && i < sc->tmets.n; i++) {
		sre_tsad_free(sc->mets[i].d);
		free(sc->mets[i].name);
		free(sc->mets[i].labels);
	}
	for (i = 0; sc->svcs != NULL && i < sc->tsvcs.n; i++)
		free(sc->svcs[i].name);
	free(sc->ops);
	free(sc->edges);
	free(sc->mets);
	free(sc->tpls);
	free(sc->svcs);
	free(sc->tops.ix.s);
	free(sc->tedges.ix.s);
	free(sc->tmets.ix.s);
	free(sc->ttpls.ix.s);
	free(sc->tsvcs.ix.s);
	free(sc->pend);
	free(sc->ctab);
	sre_otlp_free(sc->rd);
	sre_logmine_free(sc->lm);
	sre_incidents_free(sc->inc);
}

/* ---- a line, and the stream's end ------------------------------------ */

void
sre__read_begin(struct sre_scout *sc, uint64_t tag)
{
	sc->cur_tag = tag;
	sc->st.lines++;
	sc->line_serial++;
	sc->max_moved = 0;
}

int
sre__read_end(struct sre_scout *sc, const char *line, size_t len,
    int format, const char *err)
{
	if (sc->max_moved)
		sc->mono_at_max = sre_mono_ms();
	if (sc->gone)
		return -1;
	if ((format == SRE_OTLP_UNKNOWN || format == SRE_OTLP_MALFORMED) &&
	    sc->h.other != NULL)
		sc->h.other(sc->h.arg, sc->cur_tag, line, len, format, err);
	return sc->gone ? -1 : 0;
}

int
sre__read_line(struct sre_scout *sc, const char *line, size_t len,
    uint64_t tag)
{
	struct sre_otlp_result res;
	int rc;

	sre__read_begin(sc, tag);
	rc = sre_otlp_read(sc->rd, line, len, &sc->oh, &res);
	if (rc == SRE_OTLP_ENOMEM)
		sre__eval_report(sc, 1, "out of memory reading the line");
	return sre__read_end(sc, line, len, (int)res.format,
	    rc == SRE_OTLP_EJSON ? res.msg : "");
}

int
sre__read_idle(struct sre_scout *sc)
{
	int64_t now;

	if (!sc->have_time || sc->oldest == 0)
		return 0;
	now = sc->max_ms + (sre_mono_ms() - sc->mono_at_max);
	if (now < sc->stream_ms)
		now = sc->stream_ms;
	if (now <= sc->idle_max_ms)
		return 0;
	sc->idle_max_ms = now;
	return close_due(sc, now);
}

int
sre__read_finish(struct sre_scout *sc)
{
	while (sc->oldest != 0 && !sc->gone)
		if (close_oldest(sc, sc->win[sc->oldest % NSLOT].end <=
		    sc->max_ms) < 0)
			return -1;
	return sc->gone ? -1 : 0;
}
