/*
 * scout-eval.c: sre-scout's engine, the judging side: when a window
 * closes, every series is weighed against its baseline, raised and
 * cleared series go through hysteresis and the silences, raised ones are
 * grouped into incidents, and the anomaly, recovery and topology events
 * are written, with their evidence (see scout.h and the anomaly evidence
 * schema in sre-scout(1)).  Reports of rejected and tolerated records go
 * out here too.  The bottom of the package: it calls none of scout.c,
 * scout-par.c, scout-read.c.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "scout-int.h"

#define LAT_FLOOR	0.15	/* log units: a 16% change is one unit */
#define GAP_FLOOR	0.20
#define TPUT_FLOOR	0.25
#define LEARN_RATE	0.1
#define CLIP		3.0
#define MAX_EV_EDGES	16
#define CONNECT_DEPTH	3
#define MAX_TOLERATED	100	/* tolerated records reported, then counted */

/* ---- reports ---------------------------------------------------------- */

void
sre__eval_report(struct sre_scout *sc, int reject, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (reject)
		sc->st.rejected++;
	else {
		sc->st.tolerated++;
		if (++sc->reports > MAX_TOLERATED + 1)
			return;
	}
	if (sc->h.report == NULL)
		return;
	if (!reject && sc->reports == MAX_TOLERATED + 1) {
		sc->h.report(sc->h.arg, sc->cur_tag, 0, "more tolerated "
		    "records: counted, no longer reported");
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	sc->h.report(sc->h.arg, sc->cur_tag, reject, msg);
}

enum kind { K_OP, K_EDGE, K_LOG, K_MET };

/* A series that changed state in this window. */
struct change {
	enum kind kind;
	uint32_t idx;
	int sig;		/* SIG_* for operations */
	struct sig *s;
	const char *service, *operation, *signal, *scope;
	const char *from, *to;	/* an edge's services */
	const char *extra;	/* a metric's labels (fingerprint) */
	uint32_t svc, svc2;
	double score, observed, baseline;
	int skip;		/* silenced */
};

struct changes {
	struct change *v;
	size_t n, cap;
};

static int
push(struct changes *c, const struct change *x)
{
	struct change *nv;

	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 16;
		if ((nv = realloc(c->v, c->cap * sizeof(*nv))) == NULL)
			return -1;
		c->v = nv;
	}
	c->v[c->n++] = *x;
	return 0;
}

static int
strcmp0(const char *a, const char *b)
{
	return strcmp(a != NULL ? a : "", b != NULL ? b : "");
}

static int
cmp_change(const void *pa, const void *pb)
{
	const struct change *a = pa, *b = pb;
	int c;

	if ((c = strcmp(a->service, b->service)) != 0 ||
	    (c = strcmp0(a->operation, b->operation)) != 0 ||
	    (c = strcmp(a->signal, b->signal)) != 0 ||
	    (c = strcmp(a->scope, b->scope)) != 0 ||
	    (c = strcmp0(a->from, b->from)) != 0 ||
	    (c = strcmp0(a->extra, b->extra)) != 0)
		return c;
	return 0;
}

void
sre_scout_fingerprint(char out[17], const char *service,
    const char *operation, const char *signal, const char *scope,
    const char *from, const char *to)
{
	const char *part[6] = { service, operation, signal, scope, from, to };
	uint64_t h = SRE_FNV64_BASIS;
	int i;

	/* Each part ends in a unit separator, so "ab"+"c" is not "a"+"bc". */
	for (i = 0; i < 6; i++) {
		if (i >= 4 && part[i] == NULL)
			continue;
		h = sre_fnv1a64_str(h, part[i] ? part[i] : "");
		h = sre_fnv1a64(h, "\x1f", 1);
	}
	snprintf(out, 17, "%016llx", (unsigned long long)h);
}

/* ---- JSON helpers -------------------------------------------------------- */

static jv
num(double x)
{
	if (!isfinite(x))
		return jv_null();
	return jv_number(round(x * 1000) / 1000);
}

static jv
set(jv o, const char *k, jv v)
{
	return jv_object_set(o, jv_string(k), v);
}

static jv
pair(double observed, double baseline)
{
	return set(set(jv_object(), "observed", num(observed)), "baseline",
	    num(baseline));
}

static double
bexp(const struct sre_baseline *b, double shift)
{
	return b->n ? exp(b->mean) - shift : NAN;
}

/* ---- the call graph ------------------------------------------------------ */

/* Is there a call path of at most depth edges from a to b? */
static int
reaches(const struct sre_scout *sc, uint32_t a, uint32_t b, int depth)
{
	uint32_t i;
	const struct edge *e;

	if (depth == 0)
		return 0;
	for (i = 0; i < sc->tedges.n; i++) {
		e = &sc->edges[i];
		if (!e->live || e->from != a)
			continue;
		if (e->to == b || (e->to != a &&
		    reaches(sc, e->to, b, depth - 1)))
			return 1;
	}
	return 0;
}

static int
connected(void *arg, uint32_t a, uint32_t b)
{
	const struct sre_scout *sc = arg;

	return a == b || reaches(sc, a, b, CONNECT_DEPTH) ||
	    reaches(sc, b, a, CONNECT_DEPTH);
}

/* ---- evidence ------------------------------------------------------------ */

static const struct edgewin *
eslot(const struct edge *e, uint64_t g)
{
	const struct edgewin *w = &e->w[g % NSLOT];

	return w->gen == g ? w : NULL;
}

static const struct opwin *
oslot(const struct op *o, uint64_t g)
{
	const struct opwin *w = &o->w[g % NSLOT];

	return w->gen == g ? w : NULL;
}

static const struct svcwin *
sslot(const struct svc *s, uint64_t g)
{
	const struct svcwin *w = &s->w[g % NSLOT];

	return w->gen == g ? w : NULL;
}

static jv
edge_json(const struct sre_scout *sc, const struct edge *e,
    const struct edgewin *w, int full)
{
	jv o = jv_object();

	o = set(o, "from", jv_string(sc->svcs[e->from].name));
	o = set(o, "to", jv_string(sc->svcs[e->to].name));
	o = set(o, "calls", jv_number(round(w->wn)));
	o = set(o, "errors", jv_number(round(w->werr)));
	o = set(o, "p95_ms", num(sre_sketch_quantile(&w->client, 0.95)));
	if (full)
		o = set(o, "baseline_p95_ms", num(bexp(&e->bclient, 0)));
	if (w->gap.count > 0)
		o = set(o, "edge_ms", num(sre_sketch_quantile(&w->gap, 0.95)));
	if (full && e->bgap.n > 0)
		o = set(o, "baseline_edge_ms", num(bexp(&e->bgap, 0.1)));
	return o;
}

static int
cmp_edge_idx(const void *pa, const void *pb, void *arg)
{
	const struct sre_scout *sc = arg;
	const struct edge *a = &sc->edges[*(const uint32_t *)pa];
	const struct edge *b = &sc->edges[*(const uint32_t *)pb];
	int c;

	if ((c = strcmp(sc->svcs[a->from].name, sc->svcs[b->from].name)) != 0)
		return c;
	return strcmp(sc->svcs[a->to].name, sc->svcs[b->to].name);
}

/* The edges with data in window g, in name order; svc NONE: all. */
static size_t
window_edges(const struct sre_scout *sc, uint64_t g, uint32_t svc,
    uint32_t *out, size_t max)
{
	size_t n = 0;
	uint32_t i;
	const struct edge *e;

	for (i = 0; i < sc->tedges.n && n < max; i++) {
		e = &sc->edges[i];
		if (!e->live || eslot(e, g) == NULL)
			continue;
		if (svc != NONE && e->from != svc && e->to != svc)
			continue;
		out[n++] = i;
	}
	qsort_r(out, n, sizeof(*out), cmp_edge_idx, (void *)sc);
	return n;
}

static jv
ev_edges(const struct sre_scout *sc, uint32_t svc, uint64_t g)
{
	uint32_t idx[MAX_EV_EDGES];
	size_t n, i;
	jv a = jv_array();

	n = window_edges(sc, g, svc, idx, MAX_EV_EDGES);
	for (i = 0; i < n; i++)
		a = jv_array_append(a, edge_json(sc, &sc->edges[idx[i]],
		    eslot(&sc->edges[idx[i]], g), 1));
	return a;
}

static jv
ev_versions(const struct sre_scout *sc, uint32_t svc, uint64_t g)
{
	const struct svc *s = &sc->svcs[svc];
	const struct svcwin *w = sslot(s, g);
	jv a = jv_array(), o;
	int i;

	if (w == NULL)
		return a;
	for (i = 0; i < w->nver; i++) {
		o = jv_object();
		o = set(o, "version", jv_string_sized(s->ver[w->ver[i].v],
		    s->verlen[w->ver[i].v]));
		o = set(o, "first_seen_ms",
		    jv_number((double)s->ver_first[w->ver[i].v]));
		o = set(o, "spans", jv_number(w->ver[i].spans));
		o = set(o, "errors", jv_number(w->ver[i].errors));
		a = jv_array_append(a, o);
	}
	return a;
}

/*
 * The version the window's newest replaced, when it is not in the window
 * itself (a rollout already complete): of the service's other known
 * versions, the one first seen last before the newest.  jv_invalid()
 * when there is none.
 */
static jv
ev_prev_version(const struct sre_scout *sc, uint32_t svc, uint64_t g)
{
	const struct svc *s = &sc->svcs[svc];
	const struct svcwin *w = sslot(s, g);
	int i, k, in, newest = -1, prev = -1;
	jv o;

	if (w == NULL || w->nver == 0)
		return jv_invalid();
	for (i = 0; i < w->nver; i++)
		if (newest < 0 || s->ver_first[w->ver[i].v] >
		    s->ver_first[newest])
			newest = w->ver[i].v;
	for (k = 0; k < s->nver; k++) {
		for (in = 0, i = 0; i < w->nver; i++)
			if (w->ver[i].v == k)
				in = 1;
		if (in || s->ver_first[k] >= s->ver_first[newest])
			continue;
		if (prev < 0 || s->ver_first[k] > s->ver_first[prev])
			prev = k;
	}
	if (prev < 0)
		return jv_invalid();
	o = jv_object();
	o = set(o, "version", jv_string_sized(s->ver[prev], s->verlen[prev]));
	o = set(o, "first_seen_ms", jv_number((double)s->ver_first[prev]));
	return o;
}

static uint32_t
tpl_find(const struct sre_scout *sc, uint32_t svc, uint64_t id)
{
	uint32_t i;

	/* Evidence only: a scan is cheap enough. */
	for (i = 0; i < sc->ttpls.n; i++)
		if (sc->tpls[i].live && sc->tpls[i].id == id &&
		    sc->tpls[i].svc == svc)
			return i;
	return NONE;
}

/* A template's expected count per window, decayed to window g. */
static double
tpl_baseline(const struct tpl *t, uint64_t g)
{
	uint64_t missed;

	if (t->windows == 0)
		return 0;
	missed = g > t->last_gen + 1 ? g - t->last_gen - 1 : 0;
	if (missed > 200)
		return 0;
	return t->ewma * pow(1 - LEARN_RATE, (double)missed);
}

static jv
ev_templates(const struct sre_scout *sc, uint32_t svc, uint64_t g,
    const struct window *win)
{
	const struct svcwin *w = sslot(&sc->svcs[svc], g);
	struct sre_logmine_match m;
	const struct tpl *t;
	jv a = jv_array(), o;
	uint32_t ti;
	double base;
	char id[17];
	int i, isnew;

	if (w == NULL)
		return a;
	for (i = 0; i < w->ntpl; i++) {
		if ((ti = tpl_find(sc, svc, w->tpl[i].id)) == NONE)
			continue;
		t = &sc->tpls[ti];
		base = tpl_baseline(t, g);
		isnew = t->windows == 0 && t->first_ms >= win->start &&
		    win->start >= sc->first_ms + sc->cfg.warmup_ms;
		if (!isnew && !(w->tpl[i].count >= 3 * base + 3))
			continue;
		sre_logmine_id_str(w->tpl[i].id, id);
		o = jv_object();
		o = set(o, "template_id", jv_string(id));
		if (sre_logmine_get(sc->lm, w->tpl[i].id, &m) == 0)
			o = set(o, "template", jv_string_sized(m.tmpl,
			    (int)m.tmpl_len));
		else
			o = set(o, "template", jv_string_sized(
			    w->tpl[i].example, w->tpl[i].len));
		o = set(o, "count", jv_number(w->tpl[i].count));
		o = set(o, "baseline", num(base));
		if (isnew)
			o = set(o, "new", jv_true());
		a = jv_array_append(a, o);
		if (jv_array_length(jv_copy(a)) >= 5)
			break;
	}
	return a;
}

static int
cmp_msg(const void *pa, const void *pb)
{
	const struct msg *a = *(const struct msg *const *)pa;
	const struct msg *b = *(const struct msg *const *)pb;

	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	return strcmp(a->text, b->text);
}

static jv
ev_messages(const struct op *o, uint64_t g)
{
	const struct msg *m[NMSG];
	jv a = jv_array();
	int i, n = 0;

	if (o->msgs == NULL)
		return a;
	for (i = 0; i < NMSG; i++)
		if (o->msgs[i].gen == g && o->msgs[i].count > 0)
			m[n++] = &o->msgs[i];
	if (n > 1)
		qsort(m, (size_t)n, sizeof(m[0]), cmp_msg);
	for (i = 0; i < n && i < 5; i++)
		a = jv_array_append(a, set(set(jv_object(), "text",
		    jv_string_sized(m[i]->text, m[i]->len)), "count",
		    jv_number(m[i]->count)));
	return a;
}

static int
cmp_ex(const void *pa, const void *pb)
{
	const struct exemplar *a = pa, *b = pb;

	if (a->score != b->score)
		return a->score > b->score ? -1 : 1;
	return memcmp(a->tid, b->tid, TID_LEN);
}

static jv
ev_traces(const struct opwin *w)
{
	static const char hex[] = "0123456789abcdef";
	struct exemplar ex[NEX];
	char id[2 * TID_LEN];
	jv a = jv_array();
	int i, k;

	if (w == NULL)
		return a;
	memcpy(ex, w->ex, sizeof(ex));
	if (w->nex > 1)
		qsort(ex, w->nex, sizeof(ex[0]), cmp_ex);
	for (i = 0; i < w->nex; i++) {
		for (k = 0; k < TID_LEN; k++) {
			id[2 * k] = hex[ex[i].tid[k] >> 4];
			id[2 * k + 1] = hex[ex[i].tid[k] & 15];
		}
		a = jv_array_append(a, jv_string_sized(id, (int)sizeof(id)));
	}
	return a;
}

/* Messages of a log anomaly: the service's busiest warning/error
 * templates, by an example of each. */
static jv
ev_log_messages(const struct svcwin *w)
{
	const struct tplcount *t[NTPL], *x;
	jv a = jv_array();
	int i, j, n = 0;

	if (w == NULL)
		return a;
	for (i = 0; i < w->ntpl; i++)
		t[n++] = &w->tpl[i];
	for (i = 1; i < n; i++)		/* insertion sort: count, level */
		for (j = i; j > 0 && (t[j]->count > t[j - 1]->count ||
		    (t[j]->count == t[j - 1]->count &&
		    t[j]->level > t[j - 1]->level)); j--) {
			x = t[j];
			t[j] = t[j - 1];
			t[j - 1] = x;
		}
	for (i = 0; i < n && i < 5; i++)
		a = jv_array_append(a, set(set(jv_object(), "text",
		    jv_string_sized(t[i]->example, t[i]->len)), "count",
		    jv_number(t[i]->count)));
	return a;
}

static void
op_figures(const struct op *o, const struct opwin *w, double secs, jv *ev)
{
	jv lat;

	if (w == NULL) {
		*ev = set(*ev, "throughput", pair(0, bexp(&o->btput, 0.01)));
		return;
	}
	if (w->total.count > 0) {
		lat = jv_object();
		lat = set(lat, "p50", num(sre_sketch_quantile(&w->total, 0.5)));
		lat = set(lat, "p95", num(sre_sketch_quantile(&w->total,
		    0.95)));
		lat = set(lat, "p99", num(sre_sketch_quantile(&w->total,
		    0.99)));
		*ev = set(*ev, "latency_ms", lat);
		*ev = set(*ev, "total_ms", pair(sre_sketch_quantile(&w->total,
		    0.95), bexp(&o->b95, 0)));
	}
	if (w->self.count > 0)
		*ev = set(*ev, "self_ms", pair(sre_sketch_quantile(&w->self,
		    0.95), bexp(&o->bself, 0.05)));
	*ev = set(*ev, "error_ratio", pair(w->wn > 0 ? w->werr / w->wn : 0,
	    o->berr.n ? o->berr.mean : NAN));
	*ev = set(*ev, "throughput", pair(w->wn / secs, bexp(&o->btput,
	    0.01)));
}

static jv
evidence(struct sre_scout *sc, const struct change *c, uint64_t g,
    const struct window *win)
{
	double secs = (double)(win->end - win->start) / 1000;
	jv ev = jv_object(), tpl, prev;
	const struct op *o;
	const struct edge *e;
	const struct edgewin *ew;
	const struct metric *m;
	jv traces, labels;
	int i;

	ev = set(ev, "scope", jv_string(c->scope));
	switch (c->kind) {
	case K_OP:
		o = &sc->ops[c->idx];
		ev = set(ev, "traces", ev_traces(oslot(o, g)));
		ev = set(ev, "messages", ev_messages(o, g));
		ev = set(ev, "edges", ev_edges(sc, o->svc, g));
		op_figures(o, oslot(o, g), secs, &ev);
		break;
	case K_EDGE:
		e = &sc->edges[c->idx];
		ew = eslot(e, g);
		ev = set(ev, "edge", set(set(jv_object(), "from",
		    jv_string(c->from)), "to", jv_string(c->to)));
		traces = jv_array();
		for (i = 0; ew != NULL && i < ew->ncli; i++)
			if (sc->ops[ew->cli[i]].live)
				traces = jv_array_concat(traces,
				    ev_traces(oslot(&sc->ops[ew->cli[i]], g)));
		ev = set(ev, "traces", jv_array_slice(traces, 0,
		    jv_array_length(jv_copy(traces)) < 5 ?
		    jv_array_length(jv_copy(traces)) : 5));
		ev = set(ev, "edges", ev_edges(sc, e->to, g));
		if (ew != NULL)
			ev = set(ev, "total_ms", pair(sre_sketch_quantile(
			    &ew->client, 0.95), bexp(&e->bclient, 0)));
		break;
	case K_LOG:
		ev = set(ev, "messages", ev_log_messages(sslot(
		    &sc->svcs[c->svc], g)));
		ev = set(ev, "edges", ev_edges(sc, c->svc, g));
		break;
	case K_MET:
		m = &sc->mets[c->idx];
		ev = set(ev, "metric", jv_string(m->name));
		labels = jv_parse(m->labels);
		if (jv_get_kind(labels) != JV_KIND_OBJECT) {
			jv_free(labels);
			labels = jv_object();
		}
		ev = set(ev, "labels", labels);
		break;
	}
	tpl = ev_templates(sc, c->svc, g, win);
	if (jv_array_length(jv_copy(tpl)) > 0)
		ev = set(ev, "templates", tpl);
	else
		jv_free(tpl);
	ev = set(ev, "versions", ev_versions(sc, c->svc, g));
	prev = ev_prev_version(sc, c->svc, g);
	if (jv_is_valid(prev))
		ev = set(ev, "previous_version", prev);
	else
		jv_free(prev);
	ev = set(ev, "sampled", jv_number(sc->rate));
	return ev;
}

/* ---- judging -------------------------------------------------------------- */

struct judge {
	struct sre_scout *sc;
	uint64_t g;
	const struct window *win;
	double secs;
	int complete, canraise;
	double T;
	struct changes raised, cleared;
	int failed;
};

static void
note(struct judge *j, struct sig *s, enum sre_hyst_change ch,
    const struct change *c)
{
	if (ch == SRE_HYST_RAISE) {
		s->stale = 0;
		if (push(&j->raised, c) < 0)
			j->failed = 1;
	} else if (ch == SRE_HYST_CLEAR) {
		s->stale = 0;
		if (s->emitted && push(&j->cleared, c) < 0)
			j->failed = 1;
		if (!s->emitted)
			s->inc = SRE_INCIDENT_NONE;
	}
}

/* A series with nothing to judge in this window. */
static enum sre_hyst_change
idle_step(struct judge *j, struct sig *s)
{
	s->h.hot = 0;
	if (s->h.anomalous && ++s->stale >= j->sc->cfg.stale_windows) {
		s->h.anomalous = 0;
		s->h.calm = 0;
		return SRE_HYST_CLEAR;
	}
	return SRE_HYST_NONE;
}

static double
lat_z(const struct sre_baseline *b, double v, double min_delta, int *ok)
{
	double z;

	if (!isfinite(v) || b->n == 0) {
		*ok = 0;
		return 0;
	}
	z = sre_baseline_z(b, log(v + 0.01), LAT_FLOOR);
	*ok = v - (exp(b->mean) - 0.01) >= min_delta;
	return z;
}

/*
 * How far e errors in n calls stand above a ratio p, in standard units:
 * the signed root of the likelihood-ratio statistic, 2 n KL(e/n || p).
 * Unlike the normal approximation it does not make a few errors among
 * few calls at a tiny ratio look like a catastrophe.
 */
static double
binom_z(uint32_t e, uint32_t n, double p)
{
	double r, d;

	if (n == 0)
		return 0;
	r = (double)e / n;
	d = (r > 0 ? r * log(r / p) : 0) +
	    (r < 1 ? (1 - r) * log((1 - r) / (1 - p)) : 0);
	if (d < 0)
		d = 0;
	return (r >= p ? 1 : -1) * sqrt(2 * n * d);
}

static void
carry_drop(struct op *o)
{
	sre_sketch_reset(&o->ctotal);
	sre_sketch_reset(&o->cself);
	o->cn = o->cerr = o->cwin = 0;
	o->cwn = o->cwerr = 0;
}

/*
 * Windows a series is judged over: 1 for a series with 3 * min_samples
 * spans a window or more (a p95 of its own) and for a very sparse one
 * (the carry gathers it); between the two, enough windows for about
 * 3 * min_samples spans, POOL_MAX at most.
 */
static uint32_t
pool_horizon(const struct op *o, const struct sre_scout_config *cfg)
{
	double want = 3.0 * cfg->min_samples;
	uint32_t h;

	if (o->windows < 2 || o->navg >= want ||
	    o->navg * POOL_MAX < cfg->min_samples)
		return 1;
	h = (uint32_t)ceil(want / o->navg);
	return h > POOL_MAX ? POOL_MAX : h;
}

/* What an operation is judged on in this window: its own counts, a
 * thin series' pooled windows, or a sparse one's carry. */
struct opview {
	struct opwin *w;	/* this window's, NULL without data */
	struct sre_sketch *tot, *slf;	/* NULL: nothing to judge yet */
	uint32_t n, e;		/* spans, errors */
	double wn, werr;	/* the same scaled */
	uint32_t h;		/* windows pooled */
};

/* A thin series' last v->h windows pooled into its carry sketches. */
static void
op_pool(struct judge *j, struct op *o, struct opview *v)
{
	uint64_t k;

	/*
	 * A thin series (fewer than 3 * min_samples spans a window, but at
	 * least min_samples over POOL_MAX windows) is judged over the last
	 * h windows pooled, so that a tail quantile has the spans it
	 * needs; the carry is not used.  One odd window weighs on h pools
	 * in a row: raising takes h - 1 more windows above the threshold
	 * than a dense series.
	 */
	carry_drop(o);
	v->n = v->e = 0;
	v->wn = v->werr = 0;
	for (k = 0; k < v->h && k < j->g; k++) {
		const struct opwin *pw = &o->w[(j->g - k) % NSLOT];

		if (pw->gen != j->g - k)
			continue;
		sre_sketch_merge(&o->ctotal, &pw->total);
		sre_sketch_merge(&o->cself, &pw->self);
		v->n += pw->n;
		v->e += pw->err;
		v->wn += pw->wn;
		v->werr += pw->werr;
	}
	v->tot = &o->ctotal;
	v->slf = &o->cself;
}

/*
 * The operation's view of window j->g.  A sparse series: a window short
 * of min_samples is carried over to the next (sketches merged, counts
 * added) until the series has enough to judge, for CARRY_MAX windows at
 * most.
 */
static void
op_view(struct judge *j, struct op *o, struct opview *v)
{
	const struct sre_scout_config *cfg = &j->sc->cfg;
	struct opwin *w = &o->w[j->g % NSLOT];

	if (w->gen != j->g)
		w = NULL;
	if (w != NULL)
		o->windows++;
	v->w = w;
	v->tot = w != NULL ? &w->total : NULL;
	v->slf = w != NULL ? &w->self : NULL;
	v->n = w != NULL ? w->n : 0;
	v->e = w != NULL ? w->err : 0;
	v->wn = w != NULL ? w->wn : 0;
	v->werr = w != NULL ? w->werr : 0;
	v->h = pool_horizon(o, cfg);
	o->navg = o->windows <= 1 && w != NULL ? (float)v->n :
	    0.9f * o->navg + 0.1f * (float)v->n;
	if (w != NULL && v->h > 1)
		op_pool(j, o, v);
	else if (w != NULL && o->cwin > 0) {
		sre_sketch_merge(&o->ctotal, &w->total);
		sre_sketch_merge(&o->cself, &w->self);
		v->tot = &o->ctotal;
		v->slf = &o->cself;
		v->n += o->cn;
		v->e += o->cerr;
		v->wn += o->cwn;
		v->werr += o->cwerr;
	}
	if (w != NULL && v->h > 1) {
		if (v->n < cfg->min_samples)
			v->tot = v->slf = NULL;
	} else if (w != NULL && v->n < cfg->min_samples) {
		if (o->cwin == 0) {
			sre_sketch_merge(&o->ctotal, &w->total);
			sre_sketch_merge(&o->cself, &w->self);
		}
		o->cn = v->n;
		o->cerr = v->e;
		o->cwn = v->wn;
		o->cwerr = v->werr;
		if (++o->cwin > CARRY_MAX)
			carry_drop(o);
		v->tot = v->slf = NULL;
	} else if (w != NULL)
		o->cwin = 0;	/* judged: the carry is spent below */
}

/* Latency: p50, p95 of the duration, p95 of the self time. */
static enum sre_hyst_change
op_latency(struct judge *j, struct op *o, const struct opview *v,
    struct change *c)
{
	const struct sre_scout_config *cfg = &j->sc->cfg;
	const struct sre_sketch *tot = v->tot, *slf = v->slf;
	double p50, p95, s95 = NAN, z50, z95, zs, score, tails, T = j->T;
	int ok50, ok95, oks, above, below, mature;
	enum sre_hyst_change ch;

	if (tot == NULL || tot->count < cfg->min_samples)
		return v->w == NULL ? idle_step(j, c->s) :
		    SRE_HYST_NONE;	/* carried over */
	p50 = sre_sketch_quantile(tot, 0.5);
	p95 = sre_sketch_quantile(tot, 0.95);
	/* A p95 from fewer than 3 * min_samples spans is one or two odd
	 * spans: it does not count. */
	if (slf->count >= 3 * cfg->min_samples)
		s95 = sre_sketch_quantile(slf, 0.95);
	z50 = lat_z(&o->b50, p50, cfg->min_delta_ms, &ok50);
	z95 = tot->count >= 3 * cfg->min_samples ?
	    lat_z(&o->b95, p95, cfg->min_delta_ms, &ok95) : (ok95 = 0);
	zs = lat_z(&o->bself, s95, cfg->min_delta_ms, &oks);
	score = 0;
	if (ok50 && z50 > score)
		score = z50;
	if (ok95 && z95 > score)
		score = z95;
	if (oks && zs > score)
		score = zs;
	mature = o->b50.n >= cfg->min_windows;
	above = j->canraise && mature && score >= T;
	/*
	 * Calm: the median back and the tails under the threshold.  A
	 * window straddling the end of a fault still holds a few slow
	 * spans: with the median back and the tails under twice the
	 * threshold it counts as calm, but the window that clears must be
	 * calm outright.
	 */
	tails = (ok95 ? z95 : 0) > (oks ? zs : 0) ? (ok95 ? z95 : 0) :
	    (oks ? zs : 0);
	below = (ok50 ? z50 : 0) < T / 2 && (tails < T ||
	    (tails < 2 * T && c->s->h.calm + 1u < cfg->recover_windows));
	ch = sre_hyst_step(&c->s->h, above, score >= 2 * T, below,
	    cfg->raise_windows + v->h - 1, cfg->recover_windows);
	if (!c->s->h.anomalous && !above) {
		sre_baseline_learn(&o->b50, log(p50 + 0.01), LAT_FLOOR,
		    LEARN_RATE, CLIP);
		if (tot->count >= 3 * cfg->min_samples)
			sre_baseline_learn(&o->b95, log(p95 + 0.01),
			    LAT_FLOOR, LEARN_RATE, CLIP);
		if (isfinite(s95))
			sre_baseline_learn(&o->bself, log(s95 + 0.01),
			    LAT_FLOOR, LEARN_RATE, CLIP);
	}
	c->score = score;
	c->observed = p95;
	c->baseline = bexp(&o->b95, 0.01);
	if (!isfinite(c->baseline) || tot->count < 3 * cfg->min_samples) {
		c->observed = p50;
		c->baseline = bexp(&o->b50, 0.01);
	}
	return ch;
}

/* Errors: against a binomial expectation at the learned ratio. */
static enum sre_hyst_change
op_errors(struct judge *j, struct op *o, const struct opview *v,
    struct change *c)
{
	const struct sre_scout_config *cfg = &j->sc->cfg;
	double ratio, p0, p, z, T = j->T;
	int above, below, mature;
	enum sre_hyst_change ch;

	if (v->tot == NULL || v->n < cfg->min_samples)
		return v->w == NULL ? idle_step(j, c->s) : SRE_HYST_NONE;
	ratio = v->wn > 0 ? v->werr / v->wn : 0;
	mature = o->berr.n >= cfg->min_windows;
	p0 = o->berr.n ? o->berr.mean : 0;
	if (p0 < 0)
		p0 = 0;
	p = p0 < 0.002 ? 0.002 : p0;
	z = binom_z(v->e, v->n, p);
	above = j->canraise && ((mature && z >= T &&
	    ratio - p0 >= 0.05 && v->e >= 3) ||
	    (!mature && o->berr.n > 0 && ratio >= 0.5 && v->e >= 10));
	below = ratio - p0 < 0.02 || z < T / 2;
	ch = sre_hyst_step(&c->s->h, above, z >= 2 * T &&
	    ratio - p0 >= 0.1, below, cfg->raise_windows + v->h - 1,
	    cfg->recover_windows);
	if (!c->s->h.anomalous && !above)
		sre_baseline_learn(&o->berr, ratio, 0.01, LEARN_RATE,
		    CLIP);
	c->score = z;
	c->observed = ratio;
	c->baseline = p0;
	return ch;
}

/* Throughput: a drop below a third or a surge above three times. */
static enum sre_hyst_change
op_tput(struct judge *j, struct op *o, const struct opview *v,
    struct change *c)
{
	const struct sre_scout_config *cfg = &j->sc->cfg;
	const struct opwin *w = v->w;
	double rate, x, base, z, T = j->T;
	int above, below, mature;
	enum sre_hyst_change ch;

	if (!j->complete || (w == NULL && o->btput.n == 0))
		return idle_step(j, c->s);
	rate = w != NULL ? w->wn / j->secs : 0;
	x = log(rate + 0.01);
	base = bexp(&o->btput, 0.01);
	z = sre_baseline_z(&o->btput, x, TPUT_FLOOR);
	mature = o->btput.n >= cfg->min_windows &&
	    base * j->secs >= 20;
	above = j->canraise && mature && ((z <= -T && rate < base / 3) ||
	    (z >= T && rate > base * 3));
	below = fabs(z) < T / 2 || (rate > base / 1.5 &&
	    rate < base * 1.5);
	ch = sre_hyst_step(&c->s->h, above, fabs(z) >= 2 * T, below,
	    cfg->raise_windows, cfg->recover_windows);
	/* Not from a series' first window: it began when the series did,
	 * mid-window, and its rate is a fraction of the real one (the
	 * baseline would then hang on where the warm-up's first window
	 * fell). */
	if (!c->s->h.anomalous && !above && (w != NULL ? o->windows > 1 :
	    mature))
		sre_baseline_learn(&o->btput, x, TPUT_FLOOR,
		    LEARN_RATE, CLIP);
	if (w == NULL && c->s->h.anomalous && ++c->s->stale >=
	    cfg->stale_windows) {
		c->s->h.anomalous = 0;
		ch = SRE_HYST_CLEAR;
	}
	c->score = fabs(z);
	c->observed = rate;
	c->baseline = base;
	return ch;
}

/* An operation's three signals in window j->g. */
static void
judge_op(struct judge *j, uint32_t idx)
{
	struct sre_scout *sc = j->sc;
	struct op *o = &sc->ops[idx];
	struct opview v;
	struct change c;

	op_view(j, o, &v);
	memset(&c, 0, sizeof(c));
	c.kind = K_OP;
	c.idx = idx;
	c.service = sc->svcs[o->svc].name;
	c.operation = o->name;
	c.scope = "operation";
	c.svc = o->svc;
	c.svc2 = SRE_INCIDENT_NOSVC;

	c.sig = SIG_LAT;
	c.s = &o->sig[SIG_LAT];
	c.signal = "latency";
	note(j, c.s, op_latency(j, o, &v, &c), &c);

	c.sig = SIG_FAIL;
	c.s = &o->sig[SIG_FAIL];
	c.signal = "errors";
	note(j, c.s, op_errors(j, o, &v, &c), &c);
	if (v.tot == &o->ctotal)
		carry_drop(o);

	c.sig = SIG_TPUT;
	c.s = &o->sig[SIG_TPUT];
	c.signal = "throughput";
	note(j, c.s, op_tput(j, o, &v, &c), &c);
}

static void
judge_edge(struct judge *j, uint32_t idx)
{
	struct sre_scout *sc = j->sc;
	const struct sre_scout_config *cfg = &sc->cfg;
	struct edge *e = &sc->edges[idx];
	struct edgewin *w = &e->w[j->g % NSLOT];
	struct change c;
	enum sre_hyst_change ch;
	double gap, z, base, T = j->T, cl;
	int above, below, ok;

	if (w->gen != j->g)
		w = NULL;
	memset(&c, 0, sizeof(c));
	c.kind = K_EDGE;
	c.idx = idx;
	c.s = &e->sig;
	c.service = sc->svcs[e->to].name;
	c.operation = NULL;
	c.signal = "latency";
	c.scope = "edge";
	c.from = sc->svcs[e->from].name;
	c.to = sc->svcs[e->to].name;
	c.svc = e->to;
	c.svc2 = e->from;
	if (w != NULL && w->client.count >= cfg->min_samples &&
	    !e->sig.h.anomalous) {
		cl = sre_sketch_quantile(&w->client, 0.95);
		sre_baseline_learn(&e->bclient, log(cl), LAT_FLOOR, LEARN_RATE,
		    CLIP);
	}
	if (w != NULL && w->gap.count >= cfg->min_samples) {
		gap = sre_sketch_quantile(&w->gap, 0.95);
		z = sre_baseline_z(&e->bgap, log(gap + 0.1), GAP_FLOOR);
		base = bexp(&e->bgap, 0.1);
		ok = e->bgap.n > 0 && gap - base >= cfg->min_delta_ms;
		if (!ok && z > 0)
			z = 0;
		above = j->canraise && e->bgap.n >= cfg->min_windows &&
		    z >= T;
		below = z < T / 2;
		ch = sre_hyst_step(&e->sig.h, above, z >= 2 * T, below,
		    cfg->raise_windows, cfg->recover_windows);
		if (!e->sig.h.anomalous && !above)
			sre_baseline_learn(&e->bgap, log(gap + 0.1), GAP_FLOOR,
			    LEARN_RATE, CLIP);
		c.score = z;
		c.observed = gap;
		c.baseline = base;
	} else
		ch = idle_step(j, &e->sig);
	note(j, &e->sig, ch, &c);
}

static void
judge_log(struct judge *j, uint32_t idx)
{
	struct sre_scout *sc = j->sc;
	const struct sre_scout_config *cfg = &sc->cfg;
	struct svc *s = &sc->svcs[idx];
	const struct svcwin *w = sslot(s, j->g);
	struct change c;
	enum sre_hyst_change ch;
	double e, wn, le, lw, ze, zw, T = j->T, score;
	int ae, aw, above, below;

	if ((w == NULL || w->logs == 0) && s->log_windows == 0)
		return;
	if (!j->complete && (w == NULL || w->logs == 0))
		return;
	memset(&c, 0, sizeof(c));
	c.kind = K_LOG;
	c.idx = idx;
	c.s = &s->sig;
	c.service = s->name;
	c.signal = "log";
	c.scope = "service";
	c.svc = idx;
	c.svc2 = SRE_INCIDENT_NOSVC;
	e = w != NULL ? w->lerr : 0;
	wn = w != NULL ? w->lwarn : 0;
	le = s->blerr.n ? s->blerr.mean * j->secs : 0;
	lw = s->blwarn.n ? s->blwarn.mean * j->secs : 0;
	ze = (e - le) / sqrt(le + 1);
	zw = (wn - lw) / sqrt(lw + 1);
	ae = e >= 5 && e >= 2 * le + 3 && ze >= T;
	aw = wn >= 10 && wn >= 3 * lw + 5 && zw >= T;
	score = 0;
	if (ae)
		score = ze;
	if (aw && zw > score)
		score = zw;
	above = j->canraise && s->log_windows >= cfg->min_windows &&
	    (ae || aw);
	below = (ze < T / 2 || e < 2 * le + 3) &&
	    (zw < T / 2 || wn < 3 * lw + 5);
	ch = sre_hyst_step(&s->sig.h, above, score >= 2 * T, below,
	    cfg->raise_windows, cfg->recover_windows);
	if (!s->sig.h.anomalous && !above) {
		sre_baseline_learn(&s->blerr, e / j->secs, 1e-3, LEARN_RATE,
		    1e9);
		sre_baseline_learn(&s->blwarn, wn / j->secs, 1e-3, LEARN_RATE,
		    1e9);
		s->log_windows++;
	}
	c.score = score > 0 ? score : (ze > zw ? ze : zw);
	c.observed = ae || !aw ? e : wn;
	c.baseline = ae || !aw ? le : lw;
	note(j, &s->sig, ch, &c);
}

/* ---- the events ------------------------------------------------------------ */

static jv
base_event(const char *type, const char *incident, const struct change *c,
    const struct window *win, char fp[17])
{
	jv ev = sre_event_new(type, incident);

	sre_scout_fingerprint(fp, c->service, c->operation, c->signal,
	    c->scope, c->kind == K_EDGE ? c->from : c->extra,
	    c->kind == K_EDGE ? c->to : NULL);
	ev = set(ev, "ts_ms", jv_number((double)win->end));
	ev = set(ev, "service", jv_string(c->service));
	ev = set(ev, "operation", c->operation != NULL ?
	    jv_string(c->operation) : jv_null());
	ev = set(ev, "signal", jv_string(c->signal));
	return ev;
}

static int
emit(struct sre_scout *sc, jv ev)
{
	if (sc->gone) {
		jv_free(ev);
		return -1;
	}
	if (sc->h.emit(sc->h.arg, ev) != 0) {
		sc->gone = 1;
		return -1;
	}
	return 0;
}

static int
emit_anomaly(struct sre_scout *sc, const struct change *c, uint64_t g,
    const struct window *win, const char *incident)
{
	char fp[17];
	jv ev = base_event("anomaly", incident, c, win, fp);

	ev = set(ev, "observed", num(c->observed));
	ev = set(ev, "baseline", num(c->baseline));
	ev = set(ev, "score", jv_number(round(c->score * 100) / 100));
	ev = set(ev, "window_start_ms", jv_number((double)win->start));
	ev = set(ev, "window_end_ms", jv_number((double)win->end));
	ev = set(ev, "fingerprint", jv_string(fp));
	ev = set(ev, "evidence", evidence(sc, c, g, win));
	sc->st.anomalies++;
	return emit(sc, ev);
}

static int
emit_recovery(struct sre_scout *sc, const struct change *c,
    const struct window *win, const char *incident, unsigned remaining)
{
	char fp[17];
	jv ev = base_event("recovery", incident, c, win, fp);

	ev = set(ev, "fingerprint", jv_string(fp));
	ev = set(ev, "scope", jv_string(c->scope));
	if (c->kind == K_EDGE)
		ev = set(ev, "edge", set(set(jv_object(), "from",
		    jv_string(c->from)), "to", jv_string(c->to)));
	ev = set(ev, "window_start_ms", jv_number((double)win->start));
	ev = set(ev, "window_end_ms", jv_number((double)win->end));
	ev = set(ev, "remaining", jv_number(remaining));
	sc->st.recoveries++;
	return emit(sc, ev);
}

static int
cmp_name(const void *pa, const void *pb)
{
	return strcmp(*(const char *const *)pa, *(const char *const *)pb);
}

static int
emit_topology(struct sre_scout *sc, uint64_t g, const struct window *win)
{
	uint32_t *idx;
	const char **names;
	size_t n, i, k, nn = 0;
	jv ev, edges, svcs;
	const struct edge *e;
	int rc;

	if (sc->cfg.topology_every == 0)
		return 0;
	if (!sc->topo_changed && sc->topo_gen != 0 &&
	    g - sc->topo_gen < sc->cfg.topology_every)
		return 0;
	if ((idx = malloc(sc->tedges.cap * sizeof(*idx))) == NULL)
		return 0;
	n = window_edges(sc, g, NONE, idx, sc->tedges.cap);
	if (n == 0 || (names = malloc(2 * n * sizeof(*names))) == NULL) {
		free(idx);
		return 0;
	}
	edges = jv_array();
	for (i = 0; i < n; i++) {
		e = &sc->edges[idx[i]];
		edges = jv_array_append(edges, edge_json(sc, e, eslot(e, g), 0));
		names[nn++] = sc->svcs[e->from].name;
		names[nn++] = sc->svcs[e->to].name;
	}
	qsort(names, nn, sizeof(*names), cmp_name);
	svcs = jv_array();
	for (i = 0, k = 0; i < nn; i++)
		if (i == 0 || strcmp(names[i], names[k]) != 0) {
			svcs = jv_array_append(svcs, jv_string(names[i]));
			k = i;
		}
	free(names);
	free(idx);
	ev = sre_event_new("topology", NULL);
	ev = set(ev, "ts_ms", jv_number((double)win->end));
	ev = set(ev, "window_start_ms", jv_number((double)win->start));
	ev = set(ev, "window_end_ms", jv_number((double)win->end));
	ev = set(ev, "services", svcs);
	ev = set(ev, "edges", edges);
	ev = set(ev, "sampled", jv_number(sc->rate));
	rc = emit(sc, ev);
	sc->topo_gen = g;
	sc->topo_changed = 0;
	sc->st.topologies++;
	return rc;
}

/* After the evidence: learn this window's template counts. */
static void
learn_templates(struct sre_scout *sc, uint64_t g)
{
	const struct svcwin *w;
	struct tpl *t;
	uint32_t s, ti;
	int i;

	for (s = 0; s < sc->tsvcs.n; s++) {
		if (!sc->svcs[s].live || (w = sslot(&sc->svcs[s], g)) == NULL)
			continue;
		for (i = 0; i < w->ntpl; i++) {
			if ((ti = tpl_find(sc, s, w->tpl[i].id)) == NONE)
				continue;
			t = &sc->tpls[ti];
			t->ewma = tpl_baseline(t, g);
			t->ewma += (t->windows ? LEARN_RATE : 1) *
			    (w->tpl[i].count - t->ewma);
			t->windows++;
			t->last_gen = g;
		}
	}
}

int
sre__eval_window(struct sre_scout *sc, uint64_t g, int complete)
{
	struct judge j;
	const struct window *win = sre__scout_window(sc, g);
	struct sre_incident_req *req = NULL;
	struct change *c;
	const char *id;
	size_t i, n;
	uint32_t k;
	int rc = 0, pass, solo;

	if (win == NULL || win->records == 0)
		return 0;	/* nothing came: a gap in the stream */
	memset(&j, 0, sizeof(j));
	j.sc = sc;
	j.g = g;
	j.win = win;
	j.secs = (double)(win->end - win->start) / 1000;
	j.complete = complete;
	j.canraise = win->end - sc->first_ms >= sc->cfg.warmup_ms;
	j.T = sc->cfg.threshold;
	for (k = 0; k < sc->tops.n; k++)
		if (sc->ops[k].live)
			judge_op(&j, k);
	for (k = 0; k < sc->tedges.n; k++)
		if (sc->edges[k].live)
			judge_edge(&j, k);
	for (k = 0; k < sc->tsvcs.n; k++)
		if (sc->svcs[k].live)
			judge_log(&j, k);

	/*
	 * Raised: silences, then incidents, then the events.  Spans and
	 * edges open incidents; a log series alone ("solo")
	 * joins an open incident it is connected to, but opens one only
	 * after solo_windows windows in a row: a spike in a gauge is not
	 * an incident.
	 */
	if (j.raised.n > 1)
		qsort(j.raised.v, j.raised.n, sizeof(*j.raised.v),
		    cmp_change);
	if (j.raised.n > 0 &&
	    (req = calloc(j.raised.n, sizeof(*req))) == NULL)
		j.failed = 1;
	for (pass = 0; pass < 2 && req != NULL; pass++) {
		for (i = n = 0; i < j.raised.n; i++) {
			c = &j.raised.v[i];
			solo = c->kind == K_MET || c->kind == K_LOG;
			if (c->skip || solo != pass)
				continue;
			if (sc->h.silenced != NULL && sc->h.silenced(sc->h.arg,
			    c->service, c->operation, c->signal, win->end)) {
				c->skip = 1;
				c->s->emitted = 0;
				c->s->inc = SRE_INCIDENT_NONE;
				sc->st.silenced++;
				continue;
			}
			if (solo && c->s->h.hot < sc->cfg.solo_windows &&
			    !sre_incidents_open(sc->inc, c->s->inc) &&
			    !sre_incidents_connects(sc->inc, c->svc, c->svc2,
			    connected, sc)) {
				/* Not yet: raised again next window. */
				c->skip = 1;
				c->s->h.anomalous = 0;
				continue;
			}
			req[n].svc = c->svc;
			req[n].svc2 = c->svc2;
			req[n].prev = c->s->inc;
			n++;
		}
		sre_incidents_assign(sc->inc, req, n, win->end, connected, sc);
		for (i = n = 0; i < j.raised.n; i++) {
			c = &j.raised.v[i];
			solo = c->kind == K_MET || c->kind == K_LOG;
			if (c->skip || solo != pass)
				continue;
			c->s->inc = req[n].inc;
			c->s->emitted = 1;
			n++;
		}
	}
	for (i = 0; req != NULL && i < j.raised.n && rc == 0; i++) {
		c = &j.raised.v[i];
		if (c->skip)
			continue;
		id = sre_incidents_id(sc->inc, c->s->inc);
		rc = emit_anomaly(sc, c, g, win, id != NULL ? id : "");
	}
	free(req);

	/* Recovered. */
	if (j.cleared.n > 1)
		qsort(j.cleared.v, j.cleared.n, sizeof(*j.cleared.v),
		    cmp_change);
	for (i = 0; i < j.cleared.n; i++) {
		c = &j.cleared.v[i];
		id = sre_incidents_id(sc->inc, c->s->inc);
		sre_incidents_release(sc->inc, c->s->inc);
		if (rc == 0)
			rc = emit_recovery(sc, c, win, id != NULL ? id : "",
			    sre_incidents_active(sc->inc, c->s->inc));
		c->s->emitted = 0;
	}
	sre__eval_tick(sc, win->end);
	if (rc == 0)
		rc = emit_topology(sc, g, win);
	learn_templates(sc, g);
	free(j.raised.v);
	free(j.cleared.v);
	if (j.failed && rc == 0)
		sre__eval_report(sc, 0, "out of memory judging a window: "
		    "some changes were lost");
	return rc;
}

void
sre__eval_tick(struct sre_scout *sc, int64_t now_ms)
{
	sre_incidents_window(sc->inc, now_ms);
	if (now_ms > sc->inc_tick_ms)
		sc->inc_tick_ms = now_ms;
}

/*
 * A metric series judged at its own point: raised, it joins the open
 * incident it is connected to, or opens one (lib/tsad raises at the
 * metric threshold, a one in 10^20 event by default, so a gauge alone is
 * worth an incident);
 * back, its recovery is written.  The event's window is the span from
 * the series' previous point to this one.
 */
int
sre__eval_metric(struct sre_scout *sc, uint32_t idx, int raise,
    int64_t t_ms, double observed, double baseline, double score)
{
	struct metric *m = &sc->mets[idx];
	struct sre_incident_req req;
	struct window win;
	struct change c;
	const char *id;
	int rc;

	memset(&c, 0, sizeof(c));
	c.kind = K_MET;
	c.idx = idx;
	c.s = &m->sig;
	c.service = sc->svcs[m->svc].name;
	c.operation = m->name;
	c.signal = "metric";
	c.scope = "metric";
	c.extra = m->labels;
	c.svc = m->svc;
	c.svc2 = SRE_INCIDENT_NOSVC;
	if (score > 0.999)
		score = 0.999;
	/* lib/tsad's score s is L / (L + 5), L = -log10 of the tail
	 * probability: the score written is L. */
	c.score = 5 * score / (1 - score);
	c.observed = observed;
	c.baseline = baseline;
	memset(&win, 0, sizeof(win));
	win.start = m->prev_ms > 0 && m->prev_ms < t_ms ? m->prev_ms : t_ms;
	win.end = t_ms;
	if (!raise) {
		if (!m->sig.emitted) {
			m->sig.inc = SRE_INCIDENT_NONE;
			return 0;
		}
		id = sre_incidents_id(sc->inc, m->sig.inc);
		sre_incidents_release(sc->inc, m->sig.inc);
		m->sig.emitted = 0;
		return emit_recovery(sc, &c, &win, id != NULL ? id : "",
		    sre_incidents_active(sc->inc, m->sig.inc));
	}
	if (sc->h.silenced != NULL && sc->h.silenced(sc->h.arg, c.service,
	    c.operation, c.signal, t_ms)) {
		m->sig.emitted = 0;
		m->sig.inc = SRE_INCIDENT_NONE;
		sc->st.silenced++;
		return 0;
	}
	memset(&req, 0, sizeof(req));
	req.svc = c.svc;
	req.svc2 = c.svc2;
	req.prev = m->sig.inc;
	sre_incidents_assign(sc->inc, &req, 1, t_ms, connected, sc);
	m->sig.inc = req.inc;
	m->sig.emitted = 1;
	id = sre_incidents_id(sc->inc, m->sig.inc);
	rc = emit_anomaly(sc, &c, 0, &win, id != NULL ? id : "");
	return rc;
}
