/* rca.c: the built-in root-cause reasoner (see rca.h for the method). */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "event.h"
#include "hash.h"
#include "rca.h"
#include "sbuf.h"

/* ---- a string -> index map (open addressing) ------------------------ */

struct strmap {
	const char **keys;	/* borrowed from the owner */
	uint32_t *vals;
	size_t cap, n;		/* cap a power of two, or 0 */
};

static void
strmap_free(struct strmap *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}

/* The value of key (len bytes), or -1. */
static long
strmap_get(const struct strmap *m, const char *key, size_t len)
{
	size_t i;

	if (m->cap == 0)
		return -1;
	for (i = sre_fnv1a64(SRE_FNV64_BASIS, key, len) & (m->cap - 1);
	    m->keys[i] != NULL; i = (i + 1) & (m->cap - 1))
		if (strncmp(m->keys[i], key, len) == 0 &&
		    m->keys[i][len] == '\0')
			return m->vals[i];
	return -1;
}

static int
strmap_grow(struct strmap *m)
{
	size_t ncap = m->cap ? m->cap * 2 : 64, i, j;
	const char **nk = calloc(ncap, sizeof(*nk));
	uint32_t *nv = calloc(ncap, sizeof(*nv));

	if (nk == NULL || nv == NULL) {
		free(nk);
		free(nv);
		return -1;
	}
	for (i = 0; i < m->cap; i++) {
		if (m->keys[i] == NULL)
			continue;
		for (j = sre_fnv1a64_str(SRE_FNV64_BASIS, m->keys[i]) &
		    (ncap - 1); nk[j] != NULL; j = (j + 1) & (ncap - 1))
			;
		nk[j] = m->keys[i];
		nv[j] = m->vals[i];
	}
	free(m->keys);
	free(m->vals);
	m->keys = nk;
	m->vals = nv;
	m->cap = ncap;
	return 0;
}

/* Insert key (borrowed, must outlive the map) -> val; key must be new. */
static int
strmap_put(struct strmap *m, const char *key, uint32_t val)
{
	size_t i;

	if ((m->n + 1) * 2 > m->cap && strmap_grow(m) < 0)
		return -1;
	for (i = sre_fnv1a64_str(SRE_FNV64_BASIS, key) & (m->cap - 1);
	    m->keys[i] != NULL; i = (i + 1) & (m->cap - 1))
		;
	m->keys[i] = key;
	m->vals[i] = val;
	m->n++;
	return 0;
}

/* ---- the learned call graph ----------------------------------------- */

struct gedge {
	uint32_t from, to;
	double calls, errors, p95_ms, edge_ms;
};

struct adj {
	uint32_t *v;
	uint32_t n, cap;
};

struct sre_rca_graph {
	size_t max_services, max_edges, dropped;
	char **names;
	struct adj *out, *in;	/* per node: edge indices */
	size_t nnames, capnames;
	struct strmap map;
	struct gedge *edges;
	size_t nedges, capedges;
	uint64_t *ekeys;	/* edge hash: (from << 32 | to) + 1, 0 empty */
	uint32_t *evals;
	size_t ecap;
};

struct sre_rca_graph *
sre_rca_graph_new(size_t max_services, size_t max_edges)
{
	struct sre_rca_graph *g = calloc(1, sizeof(*g));

	if (g == NULL)
		return NULL;
	g->max_services = max_services ? max_services : SRE_RCA_MAX_SERVICES;
	g->max_edges = max_edges ? max_edges : SRE_RCA_MAX_EDGES;
	return g;
}

void
sre_rca_graph_free(struct sre_rca_graph *g)
{
	size_t i;

	if (g == NULL)
		return;
	for (i = 0; i < g->nnames; i++) {
		free(g->names[i]);
		free(g->out[i].v);
		free(g->in[i].v);
	}
	free(g->names);
	free(g->out);
	free(g->in);
	strmap_free(&g->map);
	free(g->edges);
	free(g->ekeys);
	free(g->evals);
	free(g);
}

size_t
sre_rca_graph_services(const struct sre_rca_graph *g)
{
	return g ? g->nnames : 0;
}

size_t
sre_rca_graph_edges(const struct sre_rca_graph *g)
{
	return g ? g->nedges : 0;
}

size_t
sre_rca_graph_dropped(const struct sre_rca_graph *g)
{
	return g ? g->dropped : 0;
}

static int
name_ok(const char *s)
{
	size_t n;

	if (s == NULL || (n = strlen(s)) == 0 || n >= SRE_RCA_NAME_MAX)
		return 0;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20)
			return 0;
	return 1;
}

static long
graph_find(const struct sre_rca_graph *g, const char *name)
{
	return g ? strmap_get(&g->map, name, strlen(name)) : -1;
}

int
sre_rca_graph_has(const struct sre_rca_graph *g, const char *service)
{
	return service != NULL && graph_find(g, service) >= 0;
}

/* The node of name, created when missing; -1 when full or bad. */
static long
graph_node(struct sre_rca_graph *g, const char *name)
{
	long id = graph_find(g, name);
	char *copy;

	if (id >= 0)
		return id;
	if (!name_ok(name))
		return -1;
	if (g->nnames >= g->max_services) {
		g->dropped++;
		return -1;
	}
	if (g->nnames == g->capnames) {
		size_t nc = g->capnames ? g->capnames * 2 : 64;
		char **nn = reallocarray(g->names, nc, sizeof(*nn));
		struct adj *no, *ni;

		if (nn == NULL)
			return -1;
		g->names = nn;
		if ((no = reallocarray(g->out, nc, sizeof(*no))) == NULL)
			return -1;
		g->out = no;
		if ((ni = reallocarray(g->in, nc, sizeof(*ni))) == NULL)
			return -1;
		g->in = ni;
		g->capnames = nc;
	}
	if ((copy = strdup(name)) == NULL)
		return -1;
	if (strmap_put(&g->map, copy, (uint32_t)g->nnames) < 0) {
		free(copy);
		return -1;
	}
	g->names[g->nnames] = copy;
	memset(&g->out[g->nnames], 0, sizeof(struct adj));
	memset(&g->in[g->nnames], 0, sizeof(struct adj));
	return (long)g->nnames++;
}

static int
adj_add(struct adj *a, uint32_t v)
{
	if (a->n == a->cap) {
		uint32_t nc = a->cap ? a->cap * 2 : 4;
		uint32_t *nv = reallocarray(a->v, nc, sizeof(*nv));

		if (nv == NULL)
			return -1;
		a->v = nv;
		a->cap = nc;
	}
	a->v[a->n++] = v;
	return 0;
}

static uint64_t
mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static long
edge_find(const struct sre_rca_graph *g, uint32_t from, uint32_t to)
{
	uint64_t key = ((uint64_t)from << 32 | to) + 1;
	size_t i;

	if (g->ecap == 0)
		return -1;
	for (i = mix64(key) & (g->ecap - 1); g->ekeys[i] != 0;
	    i = (i + 1) & (g->ecap - 1))
		if (g->ekeys[i] == key)
			return g->evals[i];
	return -1;
}

static int
edge_hash_put(struct sre_rca_graph *g, uint64_t key, uint32_t val)
{
	size_t i;

	if ((g->nedges + 1) * 2 > g->ecap) {
		size_t nc = g->ecap ? g->ecap * 2 : 256, j, k;
		uint64_t *nk = calloc(nc, sizeof(*nk));
		uint32_t *nv = calloc(nc, sizeof(*nv));

		if (nk == NULL || nv == NULL) {
			free(nk);
			free(nv);
			return -1;
		}
		for (j = 0; j < g->ecap; j++) {
			if (g->ekeys[j] == 0)
				continue;
			for (k = mix64(g->ekeys[j]) & (nc - 1); nk[k] != 0;
			    k = (k + 1) & (nc - 1))
				;
			nk[k] = g->ekeys[j];
			nv[k] = g->evals[j];
		}
		free(g->ekeys);
		free(g->evals);
		g->ekeys = nk;
		g->evals = nv;
		g->ecap = nc;
	}
	for (i = mix64(key) & (g->ecap - 1); g->ekeys[i] != 0;
	    i = (i + 1) & (g->ecap - 1))
		;
	g->ekeys[i] = key;
	g->evals[i] = val;
	return 0;
}

/* Number member or -1 (absent, wrong kind, negative, not finite). */
static double
num_or(jv obj, const char *key, double dflt)
{
	double d;

	if (sre_jv_num(obj, key, &d) < 0 || d < 0 || d > 1e15)
		return dflt;
	return d;
}

/* Learn one edge object (borrowed).  1 taken, 0 skipped. */
static int
graph_edge(struct sre_rca_graph *g, jv e)
{
	const char *from = sre_jv_str(e, "from"), *to = sre_jv_str(e, "to");
	long a, b, ei;
	struct gedge *ge;

	if (!name_ok(from) || !name_ok(to))
		return 0;
	if ((a = graph_node(g, from)) < 0 || (b = graph_node(g, to)) < 0)
		return 0;
	if ((ei = edge_find(g, (uint32_t)a, (uint32_t)b)) < 0) {
		if (g->nedges >= g->max_edges) {
			g->dropped++;
			return 0;
		}
		if (g->nedges == g->capedges) {
			struct gedge *ne = sre_grow(g->edges, &g->capedges,
			    sizeof(*ne), 64);

			if (ne == NULL)
				return 0;
			g->edges = ne;
		}
		if (edge_hash_put(g, ((uint64_t)a << 32 | (uint64_t)b) + 1,
		    (uint32_t)g->nedges) < 0 ||
		    adj_add(&g->out[a], (uint32_t)g->nedges) < 0 ||
		    adj_add(&g->in[b], (uint32_t)g->nedges) < 0)
			return 0;
		ei = (long)g->nedges++;
		memset(&g->edges[ei], 0, sizeof(g->edges[ei]));
		g->edges[ei].from = (uint32_t)a;
		g->edges[ei].to = (uint32_t)b;
		g->edges[ei].p95_ms = g->edges[ei].edge_ms = -1;
	}
	ge = &g->edges[ei];
	ge->calls = num_or(e, "calls", ge->calls);
	ge->errors = num_or(e, "errors", ge->errors);
	ge->p95_ms = num_or(e, "p95_ms", ge->p95_ms);
	ge->edge_ms = num_or(e, "edge_ms", ge->edge_ms);
	return 1;
}

long
sre_rca_graph_topology(struct sre_rca_graph *g, jv ev, size_t *skipped,
    char *err, size_t errlen)
{
	jv edges, svcs;
	long taken = 0;
	size_t skip = 0;
	int i, n;

	if (skipped != NULL)
		*skipped = 0;
	if (jv_get_kind(ev) != JV_KIND_OBJECT) {
		snprintf(err, errlen, "topology: not an object");
		return -1;
	}
	edges = jv_object_get(jv_copy(ev), jv_string("edges"));
	if (jv_get_kind(edges) != JV_KIND_ARRAY) {
		jv_free(edges);
		snprintf(err, errlen, "topology without an 'edges' array");
		return -1;
	}
	svcs = jv_object_get(jv_copy(ev), jv_string("services"));
	if (jv_get_kind(svcs) == JV_KIND_ARRAY) {
		n = jv_array_length(jv_copy(svcs));
		for (i = 0; i < n; i++) {
			jv s = jv_array_get(jv_copy(svcs), i);

			if (jv_get_kind(s) != JV_KIND_STRING ||
			    graph_node(g, jv_string_value(s)) < 0)
				skip++;
			jv_free(s);
		}
	}
	jv_free(svcs);
	n = jv_array_length(jv_copy(edges));
	for (i = 0; i < n; i++) {
		jv e = jv_array_get(jv_copy(edges), i);

		if (graph_edge(g, e))
			taken++;
		else
			skip++;
		jv_free(e);
	}
	jv_free(edges);
	if (skipped != NULL)
		*skipped = skip;
	return taken;
}

/* The evidence object of an event (new reference; null when none). */
static jv
evidence_of(jv ev)
{
	jv e;

	if (jv_get_kind(ev) != JV_KIND_OBJECT)
		return jv_null();
	e = jv_object_get(jv_copy(ev), jv_string("evidence"));
	if (jv_get_kind(e) != JV_KIND_OBJECT) {
		jv_free(e);
		return jv_null();
	}
	return e;
}

/* Member of kind k (new reference), else jv_null(). */
static jv
member_kind(jv obj, const char *key, jv_kind k)
{
	jv m;

	if (jv_get_kind(obj) != JV_KIND_OBJECT)
		return jv_null();
	m = jv_object_get(jv_copy(obj), jv_string(key));
	if (jv_get_kind(m) != k) {
		jv_free(m);
		return jv_null();
	}
	return m;
}

long
sre_rca_graph_anomaly(struct sre_rca_graph *g, jv ev)
{
	jv evd = evidence_of(ev), edges, edge;
	long taken = 0;
	int i, n;

	edges = member_kind(evd, "edges", JV_KIND_ARRAY);
	if (jv_get_kind(edges) == JV_KIND_ARRAY) {
		n = jv_array_length(jv_copy(edges));
		for (i = 0; i < n && i < 10000; i++) {
			jv e = jv_array_get(jv_copy(edges), i);

			if (jv_get_kind(e) == JV_KIND_OBJECT)
				taken += graph_edge(g, e);
			jv_free(e);
		}
	}
	jv_free(edges);
	edge = member_kind(evd, "edge", JV_KIND_OBJECT);
	if (jv_get_kind(edge) == JV_KIND_OBJECT)
		taken += graph_edge(g, edge);
	jv_free(edge);
	jv_free(evd);
	return taken;
}

/* ---- one diagnosis -------------------------------------------------- */

enum { SIG_LAT, SIG_ERR, SIG_THR, SIG_LOG, SIG_METRIC, SIG_OTHER };
enum { SC_OP, SC_SVC, SC_EDGE, SC_METRIC };
enum kind {
	K_NONE, K_SYMPTOM, K_LATENCY, K_CPU, K_ERRORS, K_RELEASE, K_NETWORK,
	K_POOL, K_SATURATION
};
static const char *const kind_names[] = {
	"none", "symptom", "latency", "cpu", "errors", "release", "network",
	"pool", "saturation"
};

/* A call edge of the incident, merged from the evidence. */
struct iedge {
	int from, to;		/* candidates */
	double calls, errors;
	double p95, base_p95;	/* -1 unknown */
	double gap, base_gap;	/* edge time: -1 unknown */
	int anomalous;		/* an edge-scope anomaly names it */
	double anom_obs, anom_base;
	double blame;		/* share of the caller's errors naming it */
	double w, wb;		/* the walk's forward and back weights */
};

/* One anomaly's evidence of a service's own change. */
#define MAXEV 8
#define RELEASE_RECENT_MS (10 * 60 * 1000.0)	/* a version this new: a release */

struct ev1 {
	double o, b, score, support;
	int self;		/* self time (else total latency) */
};

struct cand {
	const char *name;	/* borrowed from the anomalies or the graph */
	long gid;		/* graph node or -1 */
	int nanom;		/* own anomalies (edge scope excluded) */
	double maxscore;
	int has_tot, has_self, has_err, has_thr;
	double tot_obs, tot_base, self_obs, self_base;
	double err_obs, err_base, thr_obs, thr_base;
	int has_rel;
	const char *rel_new, *rel_old;
	double rel_new_ratio, rel_old_ratio;
	double metric, logs;	/* their weight in the origin */
	double metric_raw, logs_raw;	/* their significance */
	const char *metric_name;	/* the strongest metric anomaly */
	double metric_o, metric_b, log_o, log_b;
	int cpu_metric;		/* a CPU metric rose */
	double msg_total, msg_named;	/* message counts; naming others */
	double blamed, blamed_pool;	/* shares of others' messages */
	int queue_msgs, pool_msgs;
	int in_total, in_slow, out_total, out_slow;
	double in_gap_sum, out_gap_sum;
	double in_share, out_share;	/* of its slow edges, see attribute() */
	double out_lat, out_err;	/* explained by callees */
	const char *best_op;
	double best_op_score;
	double score_lat, score_err;	/* strongest anomaly per signal */
	struct ev1 lat[MAXEV], err[MAXEV];	/* the strongest anomalies */
	int nlat, nerr;
	const char *fp;
	double fp_score;
	/* scores */
	double own_lat, own_err, rel, net, egress, pool, blame, sym, origin;
	double pi;
	enum kind kind;
	int edge_only;		/* known only as an edge endpoint */
};

struct dx {
	const struct sre_rca_graph *g;
	struct cand *c;
	size_t n, cap;
	struct strmap map;
	struct iedge *e;
	size_t ne, cape;
	uint64_t *ekeys;	/* edge hash: (from << 32 | to) + 1 */
	uint32_t *evals;
	size_t ecap;
	jv notes;
	size_t no_service, too_many;
	double maxscore;	/* of all anomalies */
	const char *first_fp;
	jv chronic;		/* borrowed: opts.chronic */
	size_t nchronic;	/* anomalies discounted as chronic */
	char **owned;		/* names we had to copy */
	size_t nowned, capowned;
};

static double
sat(double x)
{
	return x <= 0 ? 0 : 1 - exp(-x);
}

static double
clamp01(double x)
{
	return x < 0 ? 0 : x > 1 ? 1 : x;
}

/* The candidate of name (borrowed: must outlive dx), created on demand;
 * -1 when full or not a name. */
static int
cand_of(struct dx *d, const char *name)
{
	long i = strmap_get(&d->map, name, strlen(name));

	if (i >= 0)
		return (int)i;
	if (!name_ok(name) || d->n >= SRE_RCA_MAX_CANDIDATES) {
		if (name_ok(name))
			d->too_many++;
		return -1;
	}
	if (d->n == d->cap) {
		struct cand *nc_ = sre_grow(d->c, &d->cap, sizeof(*nc_), 32);

		if (nc_ == NULL)
			return -1;
		d->c = nc_;
	}
	if (strmap_put(&d->map, name, (uint32_t)d->n) < 0)
		return -1;
	memset(&d->c[d->n], 0, sizeof(d->c[d->n]));
	d->c[d->n].name = name;
	d->c[d->n].gid = graph_find(d->g, name);
	d->c[d->n].tot_base = d->c[d->n].self_base = -1;
	return (int)d->n++;
}

static void
note(struct dx *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
note(struct dx *d, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	d->notes = jv_array_append(d->notes, jv_string(buf));
}

/* Reads {"observed", "baseline"} into *o, *b: 1 when both are there. */
static int
obs_base(jv evd, const char *key, double *o, double *b)
{
	jv m = member_kind(evd, key, JV_KIND_OBJECT);
	int ok = 0;

	if (jv_get_kind(m) == JV_KIND_OBJECT) {
		*o = num_or(m, "observed", -1);
		*b = num_or(m, "baseline", -1);
		ok = *o >= 0 && *b >= 0;
	}
	jv_free(m);
	return ok;
}

static int
signal_of(const char *s)
{
	if (s == NULL)
		return SIG_OTHER;
	if (strcmp(s, "latency") == 0)
		return SIG_LAT;
	if (strcmp(s, "errors") == 0)
		return SIG_ERR;
	if (strcmp(s, "throughput") == 0)
		return SIG_THR;
	if (strcmp(s, "log") == 0)
		return SIG_LOG;
	if (strcmp(s, "metric") == 0)
		return SIG_METRIC;
	return SIG_OTHER;
}

#define MAX_IEDGES 65536

static struct iedge *
iedge_of(struct dx *d, int from, int to)
{
	uint64_t key = ((uint64_t)(uint32_t)from << 32 | (uint32_t)to) + 1;
	size_t i;

	if (d->ecap > 0)
		for (i = mix64(key) & (d->ecap - 1); d->ekeys[i] != 0;
		    i = (i + 1) & (d->ecap - 1))
			if (d->ekeys[i] == key)
				return &d->e[d->evals[i]];
	if (d->ne >= MAX_IEDGES)
		return NULL;
	if ((d->ne + 1) * 2 > d->ecap) {
		size_t nc = d->ecap ? d->ecap * 2 : 64, j, k;
		uint64_t *nk = calloc(nc, sizeof(*nk));
		uint32_t *nv = calloc(nc, sizeof(*nv));

		if (nk == NULL || nv == NULL) {
			free(nk);
			free(nv);
			return NULL;
		}
		for (j = 0; j < d->ecap; j++) {
			if (d->ekeys[j] == 0)
				continue;
			for (k = mix64(d->ekeys[j]) & (nc - 1); nk[k] != 0;
			    k = (k + 1) & (nc - 1))
				;
			nk[k] = d->ekeys[j];
			nv[k] = d->evals[j];
		}
		free(d->ekeys);
		free(d->evals);
		d->ekeys = nk;
		d->evals = nv;
		d->ecap = nc;
	}
	if (d->ne == d->cape) {
		struct iedge *ne = sre_grow(d->e, &d->cape, sizeof(*ne), 32);

		if (ne == NULL)
			return NULL;
		d->e = ne;
	}
	for (i = mix64(key) & (d->ecap - 1); d->ekeys[i] != 0;
	    i = (i + 1) & (d->ecap - 1))
		;
	d->ekeys[i] = key;
	d->evals[i] = (uint32_t)d->ne;
	memset(&d->e[d->ne], 0, sizeof(d->e[d->ne]));
	d->e[d->ne].from = from;
	d->e[d->ne].to = to;
	d->e[d->ne].p95 = d->e[d->ne].base_p95 = -1;
	d->e[d->ne].gap = d->e[d->ne].base_gap = -1;
	return &d->e[d->ne++];
}

static double
maxd(double a, double b)
{
	return a > b ? a : b;
}

/* Merge one evidence edge (borrowed). */
static void
take_edge(struct dx *d, jv e)
{
	const char *from = sre_jv_str(e, "from"), *to = sre_jv_str(e, "to");
	struct iedge *ie;
	int a, b;

	if (!name_ok(from) || !name_ok(to) || strcmp(from, to) == 0)
		return;
	if ((a = cand_of(d, from)) < 0 || (b = cand_of(d, to)) < 0)
		return;
	if ((ie = iedge_of(d, a, b)) == NULL)
		return;
	ie->calls = maxd(ie->calls, num_or(e, "calls", 0));
	ie->errors = maxd(ie->errors, num_or(e, "errors", 0));
	ie->p95 = maxd(ie->p95, num_or(e, "p95_ms", -1));
	ie->base_p95 = maxd(ie->base_p95, num_or(e, "baseline_p95_ms", -1));
	ie->gap = maxd(ie->gap, num_or(e, "edge_ms", -1));
	ie->base_gap = maxd(ie->base_gap, num_or(e, "baseline_edge_ms", -1));
}

/* Versions: a new one that carries the errors is a bad release. */
/*
 * A service's versions in an anomaly's window.  The newest is new if an
 * older one shares the window with it (a rollout under way) or, when the
 * rollout is complete, if it was first seen at most RELEASE_RECENT_MS
 * before the window ended and the scout names the version it replaced
 * (prev, the evidence's previous_version): the old error ratio is then
 * the series' baseline (base_err, -1 when unknown).
 */
static void
take_versions(struct cand *c, jv vers, jv prev, double end_ms,
    double base_err)
{
	int i, n = jv_array_length(jv_copy(vers));
	const char *newest = NULL, *other = NULL;
	double newest_ms = -1, nspans = 0, nerr = 0, ospans = 0, oerr = 0;
	double ospans_best = -1;

	for (i = 0; i < n && i < 64; i++) {
		jv v = jv_array_get(jv_copy(vers), i);
		const char *name = sre_jv_str(v, "version");
		double first = num_or(v, "first_seen_ms", 0);

		if (name != NULL && first > newest_ms) {
			newest_ms = first;
			newest = name;
		}
		jv_free(v);
	}
	if (newest == NULL)
		return;
	for (i = 0; i < n && i < 64; i++) {
		jv v = jv_array_get(jv_copy(vers), i);
		const char *name = sre_jv_str(v, "version");
		double sp = num_or(v, "spans", 0), er = num_or(v, "errors", 0);

		if (name == NULL) {
			jv_free(v);
			continue;
		}
		if (name == newest || strcmp(name, newest) == 0) {
			nspans += sp;
			nerr += er;
		} else {
			ospans += sp;
			oerr += er;
			if (sp > ospans_best) {
				ospans_best = sp;
				other = name;
			}
		}
		jv_free(v);
	}
	if (other == NULL && jv_get_kind(prev) == JV_KIND_OBJECT &&
	    end_ms > 0 && newest_ms >= end_ms - RELEASE_RECENT_MS) {
		const char *pv = sre_jv_str(prev, "version");

		if (pv != NULL && strcmp(pv, newest) != 0) {
			other = pv;
			ospans = 1;
			oerr = base_err > 0 ? base_err : 0;
		}
	}
	if (other == NULL || nspans < 1)
		return;
	{
		double nr = nerr / nspans, orr = ospans > 0 ? oerr / ospans : 0;

		/* Errors that came with the new version and not the old. */
		if (nr >= 0.03 && nr > 3 * orr + 0.005 && nerr >= 2 &&
		    nr > c->rel_new_ratio) {
			c->has_rel = 1;
			c->rel_new = newest;
			c->rel_old = other;
			c->rel_new_ratio = nr;
			c->rel_old_ratio = orr;
		}
	}
}

static int
has_word(const char *text, const char *word)
{
	const char *p = text;
	size_t n = strlen(word);

	while ((p = strcasestr(p, word)) != NULL) {
		if ((p == text || !isalnum((unsigned char)p[-1])) &&
		    !isalnum((unsigned char)p[n]))
			return 1;
		p += n;
	}
	return 0;
}

static int
name_char(int ch)
{
	return isalnum(ch) || ch == '-' || ch == '_' || ch == '.';
}

/*
 * Messages of candidate ci: which other services they name (by token
 * lookup: cheap whatever the graph's size), which look like a pool or a
 * queue.  Blame goes to the services named.
 */
static void
take_messages(struct dx *d, int ci, jv msgs, double strength)
{
	int i, n = jv_array_length(jv_copy(msgs)), k;
	double total = 0, cnts[32];
	int named[32], pools[32];

	if (n > 32)
		n = 32;
	for (i = 0; i < n; i++) {
		jv m = jv_array_get(jv_copy(msgs), i);
		const char *text = sre_jv_str(m, "text"), *p, *q;
		double cnt = num_or(m, "count", 1);

		if (jv_get_kind(m) == JV_KIND_STRING)
			text = jv_string_value(m);
		named[i] = -1;
		pools[i] = 0;
		cnts[i] = 0;
		if (text == NULL) {
			jv_free(m);
			continue;
		}
		cnts[i] = cnt < 1 ? 1 : cnt;
		total += cnts[i];
		pools[i] = has_word(text, "pool");
		if (has_word(text, "queue"))
			d->c[ci].queue_msgs++;
		/* Tokens that are service names other than our own: by
		 * lookup, cheap whatever the graph's size. */
		for (p = text; *p != '\0' && p - text < 4096;) {
			while (*p != '\0' && !name_char((unsigned char)*p))
				p++;
			for (q = p; *q != '\0' && name_char((unsigned char)*q);)
				q++;
			if (q > p && q - p < SRE_RCA_NAME_MAX) {
				long kk = strmap_get(&d->map, p, (size_t)(q - p));
				long gk = kk < 0 && d->g != NULL ?
				    strmap_get(&d->g->map, p, (size_t)(q - p)) :
				    -1;

				if (kk < 0 && gk >= 0)
					kk = cand_of(d, d->g->names[gk]);
				if (kk >= 0 && kk != ci) {
					named[i] = (int)kk;
					break;
				}
			}
			p = q;
		}
		jv_free(m);
	}
	if (total <= 0)
		return;
	/* Shares of this anomaly's messages: naming another service
	 * explains our errors by it, and blames it. */
	for (i = 0; i < n; i++) {
		double share;

		if (named[i] < 0) {
			if (pools[i])
				d->c[ci].pool_msgs++;
			continue;
		}
		share = 0;
		for (k = 0; k < n; k++)
			if (named[k] == named[i])
				share += cnts[k];
		/* background errors blame nobody: weigh by how much the
		 * blamer's errors rose */
		share = share / total * strength;
		if (share < 0.02)
			continue;
		if (share > d->c[named[i]].blamed)
			d->c[named[i]].blamed = share;
		if (pools[i]) {
			if (share > d->c[named[i]].blamed_pool)
				d->c[named[i]].blamed_pool = share;
			d->c[named[i]].pool_msgs++;
		}
		/* who blames whom is an edge of the walk */
		{
			struct iedge *ie = iedge_of(d, ci, named[i]);

			if (ie != NULL && share > ie->blame)
				ie->blame = share;
		}
	}
	for (i = 0; i < n; i++) {
		d->c[ci].msg_total += cnts[i];
		if (named[i] >= 0)
			d->c[ci].msg_named += cnts[i];
	}
}

/* Keep the MAXEV strongest pieces of evidence. */
static void
ev_add(struct ev1 *v, int *n, const struct ev1 *e)
{
	int k, weakest = 0;

	if (*n < MAXEV) {
		v[(*n)++] = *e;
		return;
	}
	for (k = 1; k < MAXEV; k++)
		if ((v[k].o - v[k].b) * v[k].support <
		    (v[weakest].o - v[weakest].b) * v[weakest].support)
			weakest = k;
	if ((e->o - e->b) * e->support >
	    (v[weakest].o - v[weakest].b) * v[weakest].support)
		v[weakest] = *e;
}

/* A CPU metric by its name? */
static int
cpu_name(const char *metric)
{
	return metric != NULL && (strstr(metric, "cpu") != NULL ||
	    strstr(metric, "CPU") != NULL);
}

/* Is ev no larger than what its series did in other incidents? */
static int
is_chronic(const struct dx *d, jv ev)
{
	const char *fp = sre_jv_str(ev, "fingerprint");
	double prior, dev;
	jv v;

	if (fp == NULL || jv_get_kind(d->chronic) != JV_KIND_OBJECT)
		return 0;
	v = jv_object_get(jv_copy(d->chronic), jv_string(fp));
	prior = jv_get_kind(v) == JV_KIND_NUMBER ? jv_number_value(v) : -1;
	jv_free(v);
	dev = sre_rca_deviation(ev);
	return prior >= 0 && dev >= 0 && dev <= prior + log(1.5);
}

/* One anomaly in hand (borrowed), as take_anomaly reads it. */
struct anom {
	jv ev, evd;		/* the event, its evidence */
	const char *svc, *op;
	int sig, sc, ci;	/* SIG_*, SC_*, its candidate */
	double score, o, b;	/* score, observed, baseline */
	double support;		/* how many spans stand behind it, 0.2..1 */
};

/* The edges an anomaly's evidence saw (they may create candidates). */
static void
take_edges(struct dx *d, jv evd)
{
	jv m = member_kind(evd, "edges", JV_KIND_ARRAY);

	if (jv_get_kind(m) == JV_KIND_ARRAY) {
		int i, n = jv_array_length(jv_copy(m));

		for (i = 0; i < n && i < 256; i++) {
			jv e = jv_array_get(jv_copy(m), i);

			take_edge(d, e);
			jv_free(e);
		}
	}
	jv_free(m);
}

/* An edge's own anomaly: it marks the edge into the candidate. */
static void
take_edge_anomaly(struct dx *d, const struct anom *a)
{
	jv e = member_kind(a->evd, "edge", JV_KIND_OBJECT);
	const char *from = sre_jv_str(e, "from");
	struct cand *c;
	int fi;

	if (name_ok(from) && strcmp(from, a->svc) != 0 &&
	    (fi = cand_of(d, from)) >= 0) {
		struct iedge *ie = iedge_of(d, fi, a->ci);

		if (ie != NULL) {
			ie->anomalous = 1;
			if (a->sig == SIG_LAT) {
				ie->anom_obs = maxd(ie->anom_obs, a->o);
				ie->anom_base = maxd(ie->anom_base, a->b);
			}
			if (a->sig == SIG_ERR && a->o > 0 && ie->calls <= 0) {
				ie->calls = 100;
				ie->errors = maxd(ie->errors, 100 * a->o);
			}
		}
	}
	jv_free(e);
	c = &d->c[a->ci];
	if (c->fp == NULL)
		c->fp = sre_jv_str(a->ev, "fingerprint");
}

/* A p95 or a ratio from a handful of spans says little: the support of
 * an anomaly is its spans in the window, over 40. */
static double
support_of(jv ev, jv evd)
{
	double t, tb, ws = num_or(ev, "window_start_ms", -1);
	double we = num_or(ev, "window_end_ms", -1), support = 1;

	if (obs_base(evd, "throughput", &t, &tb) && ws >= 0 && we > ws)
		support = clamp01(t * (we - ws) / 1000 / 40);
	return support < 0.2 ? 0.2 : support;
}

/* The candidate's scores, fingerprint and operation. */
static void
cand_scores(struct dx *d, struct cand *c, const struct anom *a)
{
	double score = a->score;

	c->nanom++;
	if (score > c->maxscore)
		c->maxscore = score;
	if (a->sig == SIG_LAT && score > c->score_lat)
		c->score_lat = score;
	if (a->sig == SIG_ERR && score > c->score_err)
		c->score_err = score;
	if (score > d->maxscore)
		d->maxscore = score;
	if (score > c->fp_score || c->fp == NULL) {
		c->fp_score = score;
		c->fp = sre_jv_str(a->ev, "fingerprint");
	}
	if (a->op != NULL && (a->sig == SIG_LAT || a->sig == SIG_ERR) &&
	    score > c->best_op_score) {
		c->best_op = a->op;
		c->best_op_score = score;
	}
}

/* The largest total, self and error changes the candidate showed. */
static void
cand_changes(struct cand *c, const struct anom *a)
{
	double o2, b2, o = a->o, b = a->b;
	int sig = a->sig;

	if (obs_base(a->evd, "total_ms", &o2, &b2) ||
	    (sig == SIG_LAT && a->sc == SC_OP && (o2 = o) >= 0 &&
	    (b2 = b) >= 0)) {
		if (!c->has_tot || o2 - b2 > c->tot_obs - c->tot_base) {
			c->tot_obs = o2;
			c->tot_base = b2;
		}
		c->has_tot = 1;
	}
	if (obs_base(a->evd, "self_ms", &o2, &b2)) {
		if (!c->has_self || o2 - b2 > c->self_obs - c->self_base) {
			c->self_obs = o2;
			c->self_base = b2;
		}
		c->has_self = 1;
	}
	if (obs_base(a->evd, "error_ratio", &o2, &b2) ||
	    (sig == SIG_ERR && (o2 = o) >= 0 && (b2 = b) >= 0 && o2 <= 1)) {
		if (o2 <= 1 && b2 <= 1 &&
		    (!c->has_err || o2 - b2 > c->err_obs - c->err_base)) {
			c->err_obs = o2;
			c->err_base = b2;
			c->has_err = 1;
		}
	}
}

/* Each operation's latency or error anomaly is evidence of its own. */
static void
cand_evidence(struct cand *c, const struct anom *a)
{
	double o2, b2, o = a->o, b = a->b;

	if (a->sig == SIG_LAT && a->sc == SC_OP) {
		struct ev1 e1 = { -1, -1, a->score, a->support, 0 };

		if (obs_base(a->evd, "self_ms", &o2, &b2)) {
			e1.o = o2;
			e1.b = b2;
			e1.self = 1;
		} else if (obs_base(a->evd, "total_ms", &o2, &b2) ||
		    ((o2 = o) >= 0 && (b2 = b) >= 0)) {
			e1.o = o2;
			e1.b = b2;
		}
		if (e1.o >= 0 && e1.b >= 0)
			ev_add(c->lat, &c->nlat, &e1);
	}
	if (a->sig == SIG_ERR) {
		struct ev1 e1 = { -1, -1, a->score, a->support, 0 };

		if (obs_base(a->evd, "error_ratio", &o2, &b2) ||
		    ((o2 = o) >= 0 && (b2 = b) >= 0)) {
			e1.o = o2;
			e1.b = b2;
		}
		if (e1.o >= 0 && e1.b >= 0 && e1.o <= 1 && e1.b <= 1)
			ev_add(c->err, &c->nerr, &e1);
	}
}

/* Throughput, metrics and logs. */
static void
cand_signals(struct cand *c, const struct anom *a)
{
	double o2, b2, o = a->o, b = a->b;

	if (obs_base(a->evd, "throughput", &o2, &b2) ||
	    (a->sig == SIG_THR && (o2 = o) >= 0 && (b2 = b) >= 0)) {
		if (!c->has_thr || o2 / maxd(b2, 1e-9) >
		    c->thr_obs / maxd(c->thr_base, 1e-9)) {
			c->thr_obs = o2;
			c->thr_base = b2;
		}
		c->has_thr = 1;
	}
	if (a->sig == SIG_METRIC || a->sc == SC_METRIC) {
		const char *metric = sre_jv_str(a->evd, "metric");

		if (sat(a->score / 6) > c->metric_raw) {
			c->metric_raw = sat(a->score / 6);
			c->metric_name = metric != NULL ? metric : a->op;
			c->metric_o = o;
			c->metric_b = b;
		}
		if (cpu_name(metric) && o > b)
			c->cpu_metric = 1;
	}
	if (a->sig == SIG_LOG && sat(a->score / 6) > c->logs_raw) {
		c->logs_raw = sat(a->score / 6);
		c->log_o = o;
		c->log_b = b;
	}
}

/* The versions and the error messages the evidence names. */
static void
cand_versions_messages(struct dx *d, const struct anom *a)
{
	double o2, b2;
	jv m;

	m = member_kind(a->evd, "versions", JV_KIND_ARRAY);
	if (jv_get_kind(m) == JV_KIND_ARRAY) {
		jv prev = member_kind(a->evd, "previous_version",
		    JV_KIND_OBJECT);
		double be = -1;

		if (obs_base(a->evd, "error_ratio", &o2, &b2) && b2 >= 0 &&
		    b2 <= 1)
			be = b2;
		take_versions(&d->c[a->ci], m, prev, num_or(a->ev,
		    "window_end_ms", num_or(a->ev, "ts_ms", 0)), be);
		jv_free(prev);
	}
	jv_free(m);
	m = member_kind(a->evd, "messages", JV_KIND_ARRAY);
	if (jv_get_kind(m) == JV_KIND_ARRAY) {
		double ed = 0;

		if (obs_base(a->evd, "error_ratio", &o2, &b2) && o2 <= 1)
			ed = o2 - b2;
		else if (a->sig == SIG_ERR && a->o >= 0 && a->b >= 0 &&
		    a->o <= 1)
			ed = a->o - a->b;
		take_messages(d, a->ci, m, sat(maxd(ed, 0) * 10));
	}
	jv_free(m);
}

/* Read one anomaly (borrowed) into the candidates. */
static void
take_anomaly(struct dx *d, jv ev)
{
	const char *svc = sre_jv_str(ev, "service");
	const char *type = sre_jv_str(ev, "type"), *scope;
	struct anom a;
	struct cand *c;

	if (type != NULL && strcmp(type, "anomaly") != 0)
		return;
	if (!name_ok(svc)) {
		d->no_service++;
		return;
	}
	if (d->first_fp == NULL)
		d->first_fp = sre_jv_str(ev, "fingerprint");
	memset(&a, 0, sizeof(a));
	a.ev = ev;
	a.svc = svc;
	a.sig = signal_of(sre_jv_str(ev, "signal"));
	a.score = num_or(ev, "score", 1);
	a.evd = evidence_of(ev);
	scope = sre_jv_str(a.evd, "scope");
	a.sc = scope == NULL ? SC_OP : strcmp(scope, "edge") == 0 ? SC_EDGE :
	    strcmp(scope, "metric") == 0 ? SC_METRIC :
	    strcmp(scope, "service") == 0 ? SC_SVC : SC_OP;
	if ((a.ci = cand_of(d, svc)) < 0) {
		jv_free(a.evd);
		return;
	}
	a.op = sre_jv_str(ev, "operation");
	a.o = num_or(ev, "observed", -1);
	a.b = num_or(ev, "baseline", -1);
	if (a.score > 1e6)
		a.score = 1e6;

	/* A chronic symptom: its service stays a candidate; neither its
	 * own evidence nor the edges it saw count. */
	if (is_chronic(d, ev)) {
		d->nchronic++;
		jv_free(a.evd);
		return;
	}
	/* Edges first: they may create candidates (and move d->c). */
	take_edges(d, a.evd);
	if (a.sc == SC_EDGE) {
		take_edge_anomaly(d, &a);
		jv_free(a.evd);
		return;
	}
	a.support = support_of(ev, a.evd);
	c = &d->c[a.ci];
	cand_scores(d, c, &a);
	cand_changes(c, &a);
	cand_evidence(c, &a);
	cand_signals(c, &a);
	cand_versions_messages(d, &a);
	jv_free(a.evd);
}

/* Add the graph's edges among the candidates, and the in/out degrees. */
static void
take_graph(struct dx *d)
{
	const struct sre_rca_graph *g = d->g;
	size_t i, n = d->n;
	uint32_t k;

	if (g == NULL)
		return;
	for (i = 0; i < n; i++) {
		long gid = d->c[i].gid;

		if (gid < 0)
			continue;
		for (k = 0; k < g->out[gid].n; k++) {
			const struct gedge *ge = &g->edges[g->out[gid].v[k]];
			long to = strmap_get(&d->map, g->names[ge->to],
			    strlen(g->names[ge->to]));

			if (to >= 0 && (size_t)to != i)
				(void)iedge_of(d, (int)i, (int)to);
		}
	}
}

/* The edge time that grew on e, in ms (0 when it did not or unknown). */
static double
gap_delta(const struct dx *d, const struct iedge *e)
{
	const struct cand *to = &d->c[e->to];

	if (e->gap >= 0 && e->base_gap >= 0)
		return e->gap - e->base_gap;
	/* Without edge times: what the client saw beyond the callee. */
	if (e->p95 >= 0 && e->base_p95 >= 0) {
		double callee = to->has_tot ? to->tot_obs - to->tot_base : 0;

		if (to->has_tot || to->edge_only || to->nanom == 0)
			return e->p95 - e->base_p95 - maxd(callee, 0);
	}
	if (e->anomalous && e->anom_obs > 0 && e->anom_base >= 0 &&
	    !to->has_tot)
		return e->anom_obs - e->anom_base;
	return 0;
}

static int
gap_slow(const struct iedge *e, double dg)
{
	double base = e->base_gap >= 0 ? e->base_gap : 0;

	return dg > 5 && dg > base;
}

static double
lat_delta(const struct cand *c)
{
	return c->has_tot ? c->tot_obs - c->tot_base : 0;
}

static double
err_delta(const struct cand *c)
{
	return c->has_err ? c->err_obs - c->err_base : 0;
}

/* Degrees from the graph (complete) or the incident (partial). */
static void
degrees(struct dx *d)
{
	size_t i;

	for (i = 0; i < d->ne; i++) {
		struct iedge *e = &d->e[i];
		double dg = gap_delta(d, e);
		int slow = gap_slow(e, dg);
		double dl = e->p95 >= 0 && e->base_p95 >= 0 ?
		    e->p95 - e->base_p95 : 0;
		double er = e->calls > 0 ? e->errors / e->calls : 0;

		d->c[e->to].in_total++;
		d->c[e->from].out_total++;
		if (slow) {
			d->c[e->to].in_slow++;
			d->c[e->to].in_gap_sum += dg;
			d->c[e->from].out_slow++;
			d->c[e->from].out_gap_sum += dg;
		}
		/* What the callee explains of the caller's latency. */
		if (dl <= 0)
			dl = maxd(lat_delta(&d->c[e->to]), 0) + (slow ? dg : 0);
		d->c[e->from].out_lat = maxd(d->c[e->from].out_lat, dl);
		/* the failed calls' share, else the callee's own rise */
		d->c[e->from].out_err = maxd(d->c[e->from].out_err,
		    maxd(er, err_delta(&d->c[e->to])));
	}
	for (i = 0; i < d->n; i++) {
		struct cand *c = &d->c[i];

		if (c->gid >= 0) {
			if ((int)d->g->in[c->gid].n > c->in_total)
				c->in_total = (int)d->g->in[c->gid].n;
			if ((int)d->g->out[c->gid].n > c->out_total)
				c->out_total = (int)d->g->out[c->gid].n;
		}
		if (c->nanom == 0)
			c->edge_only = 1;
	}
}

/*
 * Who a slowed edge belongs to.  An edge u -> v whose edge time grew is
 * either v's (network or a queue in front of it: then the edges into v
 * from its other callers slowed too) or u's (the caller starved of CPU
 * or its egress: then u's calls to its other callees slowed too).  The
 * endpoint whose edges slowed more broadly explains it: v gets
 * fin / (fin + fout) of it, u the rest, where fin is the share of v's
 * callers whose edges slowed and fout the share of u's callees.  Being
 * called by many or calling many earns nothing by itself: both are
 * shares, not counts.
 */
static void
attribute(struct dx *d)
{
	size_t i;

	for (i = 0; i < d->ne; i++) {
		const struct iedge *e = &d->e[i];
		struct cand *u = &d->c[e->from], *v = &d->c[e->to];
		double fin, fout, sv;

		if (!gap_slow(e, gap_delta(d, e)))
			continue;
		fin = (double)v->in_slow / (v->in_total > 0 ? v->in_total : 1);
		fout = (double)u->out_slow / (u->out_total > 0 ?
		    u->out_total : 1);
		sv = fin + fout > 0 ? fin / (fin + fout) : 0.5;
		v->in_share += sv;
		u->out_share += 1 - sv;
	}
}

/*
 * How much an anomaly's score says: scores are robust deviations (as
 * BARO's), so 3 is a hint and 10 is certain; a detector that scores
 * in 0..1 gives probabilities, taken as they are.
 */
static double
significance(const struct dx *d, double score)
{
	if (d->maxscore <= 1)
		return clamp01(score);
	return sat(score / 4);
}

/* The origin score of every candidate from its own evidence. */
static void
origins(struct dx *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		struct cand *c = &d->c[i];
		double dlt, r, base, expl, keep;
		int k;

		/* Own latency: self time, else total minus what callees
		 * explain; every operation that shows it is evidence (a
		 * noisy-or), each weighed by its significance and support. */
		keep = 1;
		for (k = 0; k < c->nlat; k++) {
			const struct ev1 *e = &c->lat[k];

			base = maxd(e->b, 0.05);
			dlt = e->o - e->b - (e->self ? 0 : c->out_lat);
			r = (base + dlt) / base;
			if (dlt > maxd(2.0, 0.3 * base) && r > 1.25)
				keep *= 1 - sat(log2(r) * 1.2) * sat(dlt / 15) *
				    significance(d, e->score) * e->support;
		}
		c->own_lat = 1 - keep;
		/* Own errors: not those whose messages name a callee, nor
		 * those its callees' failed calls explain. */
		keep = 1;
		for (k = 0; k < c->nerr; k++) {
			const struct ev1 *e = &c->err[k];

			dlt = e->o - e->b;
			if (dlt > 0.005 && e->o > 1.5 * e->b)
				keep *= 1 - sat(dlt * 8) *
				    significance(d, e->score) * e->support;
		}
		if (keep < 1) {
			expl = c->msg_total > 0 ? c->msg_named / c->msg_total :
			    0;
			if (c->err_obs > 0)
				expl = maxd(expl, clamp01(c->out_err /
				    c->err_obs));
			c->own_err = (1 - keep) * (1 - clamp01(expl));
		}
		if (c->has_rel)
			c->rel = sat(c->rel_new_ratio * 8) * 0.9 + 0.1;
		/* Edge time: every edge into it slowed (network in front of
		 * it, a pool), or every edge out of it (its own egress). */
		if (c->in_slow > 0) {
			double m = c->in_gap_sum / c->in_slow;

			c->net = sat(m / 20) * c->in_share / c->in_slow;
		}
		if (c->out_slow >= 2) {
			double m = c->out_gap_sum / c->out_slow;

			c->egress = sat(m / 20) * c->out_share / c->out_slow;
		}
		if (c->blamed > 0) {
			c->blame = 0.9 * c->blamed;
			/* a service that passes the blame on is a conduit */
			if (c->msg_total > 0)
				c->blame *= 1 - clamp01(c->msg_named /
				    c->msg_total);
		}
		if (c->blamed_pool > 0)
			c->pool = maxd(c->net, c->blame) *
			    (c->blamed_pool >= c->blamed * 0.3 ? 1 : 0.5);
		/* Metrics and logs: a change in its own CPU, memory or
		 * error logs says more when its spans or the calls into it
		 * show the fault too (two signals agreeing) than alone. */
		{
			int corr = c->own_lat > 0.05 || c->own_err > 0.05 ||
			    c->net > 0.05 || c->egress > 0.05;

			c->metric = c->metric_raw * (corr ? 0.9 : 0.5);
			c->logs = c->logs_raw * (corr ? 0.6 : 0.3);
		}
		/* Symptom strength: how visibly it suffers. */
		c->sym = maxd(c->has_tot && c->tot_obs > c->tot_base ?
		    sat(log2(c->tot_obs / maxd(c->tot_base, 0.05))) : 0,
		    sat(maxd(err_delta(c), 0) * 8));
		c->origin = 1 - (1 - c->own_lat) * (1 - c->own_err) *
		    (1 - c->rel) * (1 - c->net) * (1 - c->egress) *
		    (1 - c->pool) * (1 - 0.6 * c->blame) * (1 - c->metric) *
		    (1 - c->logs);
		if (c->origin > c->sym)
			c->sym = c->origin;
	}
}

/* What kind of fault a candidate's evidence shows. */
static enum kind
kind_of(const struct cand *c)
{
	double best = 0.05;
	enum kind k = c->sym > 0 ? K_SYMPTOM : K_NONE;

	if (c->rel > best && c->has_rel)
		return K_RELEASE;
	if (c->pool > best && c->pool >= 0.5 * maxd(c->net, c->blame))
		return K_POOL;
	if (c->own_err > best) {
		best = c->own_err;
		k = K_ERRORS;
	}
	if (c->own_lat > best) {
		best = c->own_lat;
		k = K_LATENCY;
		if (c->has_thr && c->thr_obs > 1.2 * c->thr_base &&
		    c->thr_base > 0)
			k = K_SATURATION;
		else if (c->queue_msgs > 0)
			k = K_SATURATION;
		else if (c->cpu_metric)
			k = K_CPU;
	}
	if (c->net > best || c->egress > best) {
		best = maxd(c->net, c->egress);
		k = K_NETWORK;
	}
	if (c->blame > best && k == K_SYMPTOM)
		k = K_ERRORS;
	/* its CPU rose while its spans or the calls into it slowed: CPU
	 * starvation shows before its handler runs, on the caller side */
	if (c->cpu_metric && (k == K_LATENCY || (k == K_NETWORK &&
	    c->net >= c->egress)))
		k = K_CPU;
	return k;
}

/*
 * How much callee v can explain caller u's symptoms over edge e: its
 * error rise against u's, its latency (and the edge's) against u's,
 * mixed by what u suffers from; u's messages naming v count too.
 */
static double
explains(const struct dx *d, const struct iedge *e)
{
	const struct cand *u = &d->c[e->from], *v = &d->c[e->to];
	double ue = err_delta(u), ul = lat_delta(u), se, sl, we = 0, wl = 0;
	double ve, vl, w, strength = maxd(v->sym, v->origin);

	se = ue > 0.005 ? sat(ue * 8) : 0;
	sl = u->has_tot && ul > 1 ?
	    sat(log2(u->tot_obs / maxd(u->tot_base, 0.05))) : 0;
	if (se + sl <= 0)
		w = strength;
	else {
		ve = maxd(err_delta(v), e->calls > 0 ? e->errors / e->calls : 0);
		vl = maxd(lat_delta(v), 0) + maxd(gap_delta(d, e), 0);
		if (e->p95 >= 0 && e->base_p95 >= 0)
			vl = maxd(vl, e->p95 - e->base_p95);
		if (se > 0)
			we = clamp01(ve / ue);
		if (sl > 0)
			wl = clamp01(vl / ul);
		w = (se * we + sl * wl) / (se + sl) * strength;
	}
	return maxd(w, e->blame * strength);
}

/* The personalized PageRank over the anomaly subgraph. */
static void
walk(struct dx *d, double alpha, int iters)
{
	size_t n = d->n, i, k;
	double *p = calloc(n, sizeof(double)), *pi = calloc(n, sizeof(double));
	double *nx = calloc(n, sizeof(double)), *rowsum = calloc(n,
	    sizeof(double)), sum = 0;
	int it;

	if (p == NULL || pi == NULL || nx == NULL || rowsum == NULL) {
		for (i = 0; i < n; i++)
			d->c[i].pi = d->c[i].origin;
		goto out;
	}
	for (i = 0; i < n; i++) {
		p[i] = d->c[i].origin + 0.02 * d->c[i].sym + 1e-4;
		sum += p[i];
	}
	for (i = 0; i < n; i++) {
		p[i] /= sum;
		pi[i] = p[i];
		rowsum[i] = 2 * d->c[i].origin;	/* the self loop */
	}
	/* Forward: caller -> callee that explains it; back: 0.15 of the
	 * caller's suffering, so that the walk is never trapped. */
	for (k = 0; k < d->ne; k++) {
		struct iedge *e = &d->e[k];

		e->w = explains(d, e);
		e->wb = 0.15 * d->c[e->from].sym;
		rowsum[e->from] += e->w;
		rowsum[e->to] += e->wb;
	}
	for (it = 0; it < iters; it++) {
		double dangling = 0, diff = 0;

		for (i = 0; i < n; i++) {
			nx[i] = 0;
			if (rowsum[i] <= 0)
				dangling += pi[i];
		}
		for (i = 0; i < n; i++)
			if (rowsum[i] > 0)
				nx[i] += pi[i] * 2 * d->c[i].origin / rowsum[i];
		for (k = 0; k < d->ne; k++) {
			const struct iedge *e = &d->e[k];

			if (rowsum[e->from] > 0)
				nx[e->to] += pi[e->from] * e->w /
				    rowsum[e->from];
			if (rowsum[e->to] > 0)
				nx[e->from] += pi[e->to] * e->wb /
				    rowsum[e->to];
		}
		for (i = 0; i < n; i++) {
			double v = (1 - alpha) * p[i] + alpha * (nx[i] +
			    dangling * p[i]);

			diff += fabs(v - pi[i]);
			pi[i] = v;
		}
		if (diff < 1e-10)
			break;
	}
	for (i = 0; i < n; i++)
		d->c[i].pi = pi[i];
out:
	free(p);
	free(pi);
	free(nx);
	free(rowsum);
}

/* Any cycle among the incident's edges?  Iterative DFS, no recursion. */
static int
has_cycle(const struct dx *d, int *at)
{
	size_t n = d->n, i, k;
	unsigned char *color = calloc(n, 1);
	int *stack = calloc(n + 1, sizeof(int)), *pos = calloc(n, sizeof(int));
	size_t *first = calloc(n + 1, sizeof(size_t));
	int *adjv = calloc(d->ne + 1, sizeof(int)), found = 0, sp;

	if (color == NULL || stack == NULL || pos == NULL || first == NULL ||
	    adjv == NULL)
		goto out;
	/* CSR adjacency */
	for (k = 0; k < d->ne; k++)
		first[d->e[k].from + 1]++;
	for (i = 0; i < n; i++)
		first[i + 1] += first[i];
	{
		size_t *fill = calloc(n, sizeof(size_t));

		if (fill == NULL)
			goto out;
		for (k = 0; k < d->ne; k++) {
			int f = d->e[k].from;

			adjv[first[f] + fill[f]++] = d->e[k].to;
		}
		free(fill);
	}
	for (i = 0; i < n && !found; i++) {
		if (color[i])
			continue;
		sp = 0;
		stack[sp++] = (int)i;
		color[i] = 1;
		pos[i] = 0;
		while (sp > 0 && !found) {
			int u = stack[sp - 1];

			if (first[u] + (size_t)pos[u] < first[u + 1]) {
				int v = adjv[first[u] + (size_t)pos[u]++];

				if (color[v] == 1) {
					found = 1;
					*at = v;
				} else if (color[v] == 0) {
					color[v] = 1;
					pos[v] = 0;
					stack[sp++] = v;
				}
			} else {
				color[u] = 2;
				sp--;
			}
		}
	}
out:
	free(color);
	free(stack);
	free(pos);
	free(first);
	free(adjv);
	return found;
}

/* ---- text ----------------------------------------------------------- */

/* "12 ms", "0.4 ms", "1.3 s" */
static void
fmt_ms(char *buf, size_t len, double ms)
{
	if (ms >= 10000)
		snprintf(buf, len, "%.1f s", ms / 1000);
	else if (ms >= 10)
		snprintf(buf, len, "%.0f ms", ms);
	else
		snprintf(buf, len, "%.1f ms", ms);
}

static void
fmt_pct(char *buf, size_t len, double r)
{
	if (r >= 0.1)
		snprintf(buf, len, "%.0f%%", r * 100);
	else
		snprintf(buf, len, "%.1f%%", r * 100);
}

/* Names of up to 3 candidates that call ci, for the reason. */
static void
callers_of(const struct dx *d, int ci, char *buf, size_t len)
{
	size_t k, used = 0;
	int n = 0, more = 0;

	buf[0] = '\0';
	for (k = 0; k < d->ne; k++) {
		const struct iedge *e = &d->e[k];
		const struct cand *f = &d->c[e->from];

		if (e->to != ci || f->sym <= 0.05)
			continue;
		if (n == 3) {
			more++;
			continue;
		}
		used += (size_t)snprintf(buf + used, used < len ? len - used : 0,
		    "%s%s", n ? ", " : "", f->name);
		n++;
	}
	if (more && used < len)
		snprintf(buf + used, len - used, " and %d more", more);
	if (used >= len && len > 4)
		memcpy(buf + len - 4, "...", 4);
}

/* The callee that best explains ci's symptoms, or -1. */
static int
explainer_of(const struct dx *d, int ci)
{
	size_t k;
	int best = -1;
	double bw = 0;

	for (k = 0; k < d->ne; k++) {
		const struct iedge *e = &d->e[k];
		double w;

		if (e->from != ci)
			continue;
		w = d->c[e->to].pi;
		if (w > bw) {
			bw = w;
			best = e->to;
		}
	}
	return best;
}

/* The reason's end: the candidate's metrics and logs, each with the
 * numbers, and whom it explains (appended to buf, len bytes). */
static void
reason_more(const struct dx *d, int ci, char *buf, size_t len)
{
	const struct cand *c = &d->c[ci];
	char who[300];
	size_t used = 0;

#define ADD(...) do { if (used < len) used += (size_t)snprintf(buf + used, \
    len - used, __VA_ARGS__); } while (0)
	if (c->metric_raw > 0 && c->metric_name != NULL) {
		ADD("; its %s %s %s (%.3g, baseline %.3g)",
		    cpu_name(c->metric_name) ? "CPU use" : "metric",
		    c->metric_name, c->metric_o >=
		    c->metric_b ? "rose" : "fell", c->metric_o, c->metric_b);
	}
	if (c->logs_raw > 0) {
		if (c->log_o >= 0 && c->log_b >= 0)
			ADD("; its error and warning logs surged (%.3g in "
			    "the window, baseline %.3g)", c->log_o, c->log_b);
		else
			ADD("; its error and warning logs surged");
	}
	if (c->kind != K_SYMPTOM && c->kind != K_NONE) {
		callers_of(d, ci, who, sizeof(who));
		if (who[0] != '\0')
			ADD("; explains %s", who);
		if (c->blamed > 0 && c->kind != K_POOL)
			ADD("; named in others' error messages");
	}
#undef ADD
}

static void
reason_of(const struct dx *d, int ci, char *buf, size_t len)
{
	const struct cand *c = &d->c[ci];
	char a[32], b[32];
	size_t used = 0;
	int ex;

#define ADD(...) do { if (used < len) used += (size_t)snprintf(buf + used, \
    len - used, __VA_ARGS__); } while (0)
	buf[0] = '\0';
	switch (c->kind) {
	case K_RELEASE:
		fmt_pct(a, sizeof(a), c->rel_new_ratio);
		fmt_pct(b, sizeof(b), c->rel_old_ratio);
		ADD("errors came with the new version %s (%s of its spans "
		    "failed, %s on %s): a bad release", c->rel_new, a, b,
		    c->rel_old);
		break;
	case K_POOL:
		ADD("callers wait for its connections and fail naming it "
		    "(connection pool)");
		if (c->in_slow > 0) {
			fmt_ms(a, sizeof(a), c->in_gap_sum / c->in_slow);
			ADD("; edge time into it up %s on %d of %d callers "
			    "while its own spans stayed fast", a, c->in_slow,
			    c->in_total);
		}
		break;
	case K_NETWORK:
		if (c->net >= c->egress) {
			fmt_ms(a, sizeof(a), c->in_gap_sum / maxd(c->in_slow, 1));
			ADD("every call into it slowed (edge time up %s on %d "
			    "of %d callers) while its own spans did not: "
			    "network in front of it", a, c->in_slow,
			    c->in_total);
		} else {
			fmt_ms(a, sizeof(a), c->out_gap_sum /
			    maxd(c->out_slow, 1));
			ADD("every call it makes slowed (edge time up %s on "
			    "%d of %d callees): its own network", a,
			    c->out_slow, c->out_total);
		}
		break;
	case K_ERRORS:
		if (c->own_err > 0.05) {
			fmt_pct(a, sizeof(a), c->err_base);
			fmt_pct(b, sizeof(b), c->err_obs);
			ADD("its own errors rose from %s to %s while its "
			    "calls did not fail", a, b);
		} else
			ADD("other services' errors name it");
		break;
	case K_LATENCY:
	case K_CPU:
	case K_SATURATION:
		if (c->kind == K_CPU && c->net > c->own_lat) {
			fmt_ms(a, sizeof(a), c->in_gap_sum /
			    maxd(c->in_slow, 1));
			ADD("calls into it slowed (edge time up %s on %d of %d "
			    "callers)", a, c->in_slow, c->in_total);
		} else if (c->has_self) {
			fmt_ms(a, sizeof(a), c->self_base);
			fmt_ms(b, sizeof(b), c->self_obs);
			ADD("its own self time (p95) rose from %s to %s", a, b);
		} else {
			fmt_ms(a, sizeof(a), c->tot_obs - c->tot_base -
			    c->out_lat);
			ADD("its latency rose by %s more than its callees "
			    "explain", a);
		}
		if (c->out_total > 0 && c->out_lat < 2)
			ADD(" while its callees stayed healthy");
		if (c->kind == K_SATURATION) {
			if (c->has_thr && c->thr_base > 0)
				ADD("; throughput %.1fx its baseline: latency "
				    "grows with load", c->thr_obs / c->thr_base);
			else
				ADD("; requests queue");
		}
		break;
	case K_SYMPTOM:
		ex = explainer_of(d, ci);
		if (c->has_tot && c->tot_obs > c->tot_base) {
			fmt_ms(a, sizeof(a), c->tot_base);
			fmt_ms(b, sizeof(b), c->tot_obs);
			ADD("latency rose from %s to %s", a, b);
		} else if (c->has_err) {
			fmt_pct(a, sizeof(a), c->err_obs);
			ADD("errors at %s", a);
		} else
			ADD("anomalous");
		if (c->has_self && c->self_obs <= c->self_base * 1.25 + 2)
			ADD(" but its own self time did not");
		if (ex >= 0)
			ADD(": a symptom, explained by %s", d->c[ex].name);
		else
			ADD(": a symptom");
		break;
	case K_NONE:
	default:
		ADD("next to the anomalies, no evidence of its own");
		break;
	}
	reason_more(d, ci, buf + used, used < len ? len - used : 0);
#undef ADD
}

/* ---- confidence and proposal --------------------------------------- */

/*
 * Fitted on bench/rca training cases (seeds apart from the evaluation
 * set) by logistic regression; see bench/rca/README.
 */
#define CAL_B0	(-3.53)
#define CAL_SHARE 1.87
#define CAL_LEAD 2.58
#define CAL_ORIGIN 5.04

double
sre_rca_confidence(double share, double lead, double origin)
{
	double z = CAL_B0 + CAL_SHARE * clamp01(share) +
	    CAL_LEAD * clamp01(lead) + CAL_ORIGIN * clamp01(origin);
	double p = 1 / (1 + exp(-z));

	/* A winner with little evidence of its own is ranked by the call
	 * graph alone: a guess, whatever its share. */
	if (origin < 0.3)
		p *= (clamp01(origin) + 0.05) / 0.35;
	return floor(clamp01(p) * 1000 + 0.5) / 1000;
}

static jv
proposal(const char *action, const char *target, jv params)
{
	jv p = jv_object();

	p = jv_object_set(p, jv_string("action"), jv_string(action));
	p = jv_object_set(p, jv_string("target"),
	    target ? jv_string(target) : jv_null());
	return jv_object_set(p, jv_string("params"), params);
}

static int
same_proposal(jv a, jv b)
{
	const char *aa = sre_jv_str(a, "action"), *ab = sre_jv_str(b, "action");
	const char *ta = sre_jv_str(a, "target"), *tb = sre_jv_str(b, "target");

	return aa != NULL && ab != NULL && strcmp(aa, ab) == 0 &&
	    ((ta == NULL && tb == NULL) ||
	    (ta != NULL && tb != NULL && strcmp(ta, tb) == 0));
}

static int
failed_before(jv failed, jv p)
{
	int i, n;

	if (jv_get_kind(failed) != JV_KIND_ARRAY)
		return 0;
	n = jv_array_length(jv_copy(failed));
	for (i = 0; i < n; i++) {
		jv f = jv_array_get(jv_copy(failed), i);
		int same = same_proposal(f, p);

		jv_free(f);
		if (same)
			return 1;
	}
	return 0;
}

static int
datastore_name(const char *s)
{
	static const char *const hints[] = {
		"db", "database", "postgres", "postgresql", "pg", "mysql",
		"mariadb", "mongo", "mongodb", "redis", "cache", "memcached",
		"kafka", "bus", "queue", "rabbitmq", "elasticsearch",
		"cassandra", "etcd", "store", NULL
	};
	char tok[SRE_RCA_NAME_MAX];
	const char *p = s, *q;
	int i;

	while (*p != '\0') {
		while (*p != '\0' && !isalnum((unsigned char)*p))
			p++;
		for (q = p; isalnum((unsigned char)*q);)
			q++;
		if (q > p && (size_t)(q - p) < sizeof(tok)) {
			size_t k;

			for (k = 0; k < (size_t)(q - p); k++)
				tok[k] = (char)tolower((unsigned char)p[k]);
			tok[k] = '\0';
			for (i = 0; hints[i] != NULL; i++)
				if (strcmp(tok, hints[i]) == 0)
					return 1;
		}
		p = q;
	}
	return 0;
}

/*
 * Call fn on the text of each message and template in the evidence of
 * the anomalies (of service only, when not NULL), until it returns
 * non-zero; returns that value, or 0.
 */
static int
each_text(jv anomalies, const char *service,
    int (*fn)(const char *text, void *arg), void *arg)
{
	int i, n = jv_array_length(jv_copy(anomalies)), r = 0;

	for (i = 0; i < n && i < 4096 && r == 0; i++) {
		jv ev = jv_array_get(jv_copy(anomalies), i);
		jv evd = evidence_of(ev);
		const char *keys[] = { "messages", "templates" };
		const char *svc = sre_jv_str(ev, "service");
		int k;

		for (k = 0; k < 2 && r == 0 && (service == NULL ||
		    (svc != NULL && strcmp(svc, service) == 0)); k++) {
			jv m = member_kind(evd, keys[k], JV_KIND_ARRAY);
			int j, mn = jv_get_kind(m) == JV_KIND_ARRAY ?
			    jv_array_length(jv_copy(m)) : 0;

			for (j = 0; j < mn && j < 32 && r == 0; j++) {
				jv x = jv_array_get(jv_copy(m), j);
				const char *t = jv_get_kind(x) ==
				    JV_KIND_STRING ? jv_string_value(x) :
				    sre_jv_str(x, k ? "template" : "text");

				if (t != NULL)
					r = fn(t, arg);
				jv_free(x);
			}
			jv_free(m);
		}
		jv_free(evd);
		jv_free(ev);
	}
	return r;
}

struct pool_hint {
	const char *target;
	long size;
};

static int
pool_hint_of(const char *t, void *arg)
{
	struct pool_hint *h = arg;
	const char *p;

	if (strstr(t, h->target) != NULL &&
	    (p = strstr(t, "pool size ")) != NULL) {
		long v = strtol(p + 10, NULL, 10);

		if (v > 0 && v < 100000)
			h->size = v;
	}
	return h->size != 0;
}

/* A pool size named in the evidence text ("pool size 20"), or 0. */
static long
pool_size_hint(jv anomalies, const char *target)
{
	struct pool_hint h = { target, 0 };

	each_text(anomalies, NULL, pool_hint_of, &h);
	return h.size;
}

static int
process_text(const char *t, void *arg)
{
	(void)arg;
	return (int)sre_catalog_evidence_of_text(t);
}

/*
 * Process-state evidence (SRE_EV_PROCESS) of target: its own metric
 * anomalies of resident memory, or its own messages and templates that
 * read as memory not given back, stuck workers or a crash loop
 * (sre_catalog_evidence_of_*).  The catalog's evidence for a restart.
 */
static unsigned
process_evidence(jv anomalies, const char *target)
{
	int i, n = jv_array_length(jv_copy(anomalies));
	unsigned have = 0;

	for (i = 0; i < n && i < 4096 && have == 0; i++) {
		jv ev = jv_array_get(jv_copy(anomalies), i);
		const char *svc = sre_jv_str(ev, "service");

		if (svc != NULL && strcmp(svc, target) == 0 &&
		    signal_of(sre_jv_str(ev, "signal")) == SIG_METRIC) {
			jv evd = evidence_of(ev);
			const char *metric = sre_jv_str(evd, "metric");

			have |= sre_catalog_evidence_of_metric(metric != NULL ?
			    metric : sre_jv_str(ev, "operation"),
			    num_or(ev, "observed", -1),
			    num_or(ev, "baseline", -1));
			jv_free(evd);
		}
		jv_free(ev);
	}
	if (have == 0 && each_text(anomalies, target, process_text, NULL))
		have = SRE_EV_PROCESS;
	return have;
}

/* ---- the diagnosis -------------------------------------------------- */

static int
by_pi(const void *a, const void *b, void *arg)
{
	const struct dx *d = arg;
	const struct cand *x = &d->c[*(const int *)a];
	const struct cand *y = &d->c[*(const int *)b];

	if (x->pi != y->pi)
		return x->pi > y->pi ? -1 : 1;
	return strcmp(x->name, y->name);
}

void
sre_rca_opts_init(struct sre_rca_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->known_fix = jv_null();
	o->failed = jv_null();
	o->chronic = jv_null();
}

double
sre_rca_deviation(jv ev)
{
	double o = num_or(ev, "observed", -1), b = num_or(ev, "baseline", -1);

	if (o < 0 || b < 0)
		return -1;
	return fabs(log((o + 1e-3) / (b + 1e-3)));
}

static void
dx_free(struct dx *d)
{
	free(d->c);
	free(d->e);
	free(d->ekeys);
	free(d->evals);
	strmap_free(&d->map);
	jv_free(d->notes);
}

/* Read the anomalies and the graph into d, and walk it. */
static void
dx_read(struct dx *d, jv anomalies, const struct sre_rca_opts *o)
{
	int i, n, at;

	n = jv_get_kind(anomalies) == JV_KIND_ARRAY ?
	    jv_array_length(jv_copy(anomalies)) : 0;
	for (i = 0; i < n; i++) {
		jv ev = jv_array_get(jv_copy(anomalies), i);

		if (jv_get_kind(ev) == JV_KIND_OBJECT)
			take_anomaly(d, ev);
		jv_free(ev);
	}
	if (d->nchronic)
		note(d, "%zu anomal%s no larger than their series showed "
		    "before counted as chronic symptoms", d->nchronic,
		    d->nchronic == 1 ? "y" : "ies");
	if (d->no_service)
		note(d, "%zu anomal%s without a service left out",
		    d->no_service, d->no_service == 1 ? "y" : "ies");
	if (d->too_many)
		note(d, "more than %d candidate services: %zu left out",
		    SRE_RCA_MAX_CANDIDATES, d->too_many);
	take_graph(d);
	degrees(d);
	attribute(d);
	origins(d);
	walk(d, o->damping > 0 && o->damping < 1 ? o->damping : 0.85,
	    o->iterations > 0 ? o->iterations : 100);
	if (d->n > 0 && has_cycle(d, &at))
		note(d, "the call graph has a cycle through %s",
		    d->c[at].name);
}

/* The ranked root causes, top at most (order: candidates by pi). */
static jv
root_causes(const struct dx *d, const int *order, int top, double total)
{
	char reason[1024];
	jv rcs = jv_array();
	int i;

	for (i = 0; i < (int)d->n && i < top; i++) {
		const struct cand *c = &d->c[order[i]];
		jv rc;

		/* Services known only through edges, with nothing to show,
		 * are not causes. */
		if (c->origin <= 0 && c->sym <= 0 && i > 0)
			break;
		rc = jv_object();
		reason_of(d, order[i], reason, sizeof(reason));
		rc = jv_object_set(rc, jv_string("service"),
		    jv_string(c->name));
		rc = jv_object_set(rc, jv_string("operation"),
		    c->best_op ? jv_string(c->best_op) : jv_null());
		rc = jv_object_set(rc, jv_string("score"), jv_number(
		    floor(c->pi / (total > 0 ? total : 1) * 1000 + 0.5) /
		    1000));
		rc = jv_object_set(rc, jv_string("kind"),
		    jv_string(kind_names[c->kind]));
		rc = jv_object_set(rc, jv_string("reason"), jv_string(reason));
		rcs = jv_array_append(rcs, rc);
	}
	return rcs;
}

/* The fix that worked before for this fingerprint, if it still fits. */
static jv
known_fix(const struct dx *d, const struct sre_rca_opts *o)
{
	jv kp = jv_object_get(jv_copy(o->known_fix), jv_string("proposal"));
	const char *kt = sre_jv_str(kp, "target");
	char e[128];

	if (sre_catalog_check(kp, NULL, e, sizeof(e)) == SRE_CATALOG_OK &&
	    kt != NULL && strmap_get(&d->map, kt, strlen(kt)) >= 0 &&
	    !failed_before(o->failed, kp))
		return kp;
	jv_free(kp);
	return jv_invalid();
}

/* The action for the top candidate w of kind wk (strong: confident
 * enough to act), or jv_invalid(). */
static jv
action_for(const struct cand *w, enum kind wk, int strong, jv anomalies,
    const struct sre_rca_opts *o)
{
	jv prop = jv_invalid();

	if (strong && wk == K_RELEASE) {
		jv params = jv_object();

		if (w->rel_old != NULL)
			params = jv_object_set(params, jv_string("to"),
			    jv_string(w->rel_old));
		prop = proposal("rollback", w->name, params);
	} else if (strong && wk == K_POOL) {
		long size = pool_size_hint(anomalies, w->name);
		char v[32];

		snprintf(v, sizeof(v), "%ld", size > 0 ? size * 2 : 40);
		prop = proposal("config", w->name, jv_object_set(
		    jv_object_set(jv_object(), jv_string("key"),
		    jv_string("DB_POOL_SIZE")), jv_string("value"),
		    jv_string(v)));
	} else if (strong && wk != K_SYMPTOM && wk != K_NONE &&
	    process_evidence(anomalies, w->name)) {
		/* the catalog's evidence for a restart: memory not given
		 * back, stuck workers, a crash loop */
		prop = proposal("restart", w->name, jv_object());
	} else if (strong && (wk == K_SATURATION ||
	    ((wk == K_LATENCY || wk == K_CPU) &&
	    datastore_name(w->name)))) {
		prop = proposal("scale", w->name, jv_object_set(
		    jv_object(), jv_string("delta"),
		    jv_number(wk == K_SATURATION ? 2 : 1)));
	}
	/* else no evidence backs a change (sre_catalog_evidence_ok):
	 * observe, and sre-guard calls a human with the diagnosis */
	if (jv_is_valid(prop) && failed_before(o->failed, prop)) {
		jv_free(prop);
		prop = jv_invalid();
	}
	return prop;
}

/* The proposal for the top candidate w (NULL: none); *known: 1 when it
 * is the known fix. */
static jv
propose(const struct dx *d, const struct cand *w, double conf,
    jv anomalies, const struct sre_rca_opts *o, int *known)
{
	jv prop = jv_invalid();
	int strong = w != NULL && conf >= 0.5 && w->origin >= 0.3;
	char why[512];

	*known = 0;
	if (w != NULL && jv_get_kind(o->known_fix) == JV_KIND_OBJECT) {
		prop = known_fix(d, o);
		*known = jv_is_valid(prop);
	}
	if (!jv_is_valid(prop) && w != NULL)
		prop = action_for(w, w->kind, strong, anomalies, o);
	/* Only what the catalog takes leaves here (a release's old version
	 * that is no image tag, say, does not). */
	if (jv_is_valid(prop) && sre_catalog_check(prop, NULL, why,
	    sizeof(why)) != SRE_CATALOG_OK) {
		jv_free(prop);
		prop = jv_invalid();
	}
	if (!jv_is_valid(prop))
		prop = proposal("observe", w != NULL &&
		    sre_gitops_service_ok(w->name) ? w->name : NULL, jv_object());
	return prop;
}

/* The summary: the top candidate w, the runner-up, the proposal. */
static void
summarize(const struct dx *d, const struct cand *w, double conf,
    const int *order, jv prop, int known, const struct sre_rca_opts *o,
    char *summary, size_t len)
{
	int strong = w != NULL && conf >= 0.5 && w->origin >= 0.3;
	char reason[1024];
	const char *act = sre_jv_str(prop, "action");
	size_t used = 0;

#define ADD(...) do { if (used < len) used += (size_t)snprintf( \
    summary + used, len - used, __VA_ARGS__); } while (0)
	summary[0] = '\0';
	if (w == NULL) {
		ADD("No anomaly with a service to diagnose.");
		return;
	}
	reason_of(d, (int)(w - d->c), reason, sizeof(reason));
	if (w->kind == K_SYMPTOM || w->kind == K_NONE)
		ADD("The origin is unclear; %s ranks first by the call "
		    "graph: %s.", w->name, reason);
	else
		ADD("%s is the likely origin (%s): %s.", w->name,
		    kind_names[w->kind], reason);
	if (d->n > 1) {
		const struct cand *r2 = &d->c[order[1]];

		if (r2->pi > 0)
			ADD(" Runner-up: %s.", r2->name);
	}
	if (act != NULL && strcmp(act, "observe") == 0 && !strong)
		ADD(" The evidence is too weak to act on: observe.");
	else if (act != NULL && strcmp(act, "observe") == 0)
		ADD(" No remedy of the catalog follows from the evidence (a "
		    "restart needs memory growth, a stuck worker or a crash "
		    "loop): observe, for a human to take over.");
	else if (known) {
		double s = num_or(o->known_fix, "successes", 0);

		ADD(" Proposal: %s %s, the fix that worked %.0f time%s "
		    "before for this fingerprint.", act,
		    sre_jv_str(prop, "target"), s, s == 1 ? "" : "s");
	} else
		ADD(" Proposal: %s %s.", act, sre_jv_str(prop, "target"));
#undef ADD
}

/* What the confidence was computed from. */
static jv
features_of(double share, double lead, const struct cand *w, size_t n)
{
	jv f = jv_object();

	f = jv_object_set(f, jv_string("share"),
	    jv_number(floor(share * 1000 + 0.5) / 1000));
	f = jv_object_set(f, jv_string("lead"),
	    jv_number(floor(lead * 1000 + 0.5) / 1000));
	f = jv_object_set(f, jv_string("origin"), jv_number(
	    floor((w ? w->origin : 0) * 1000 + 0.5) / 1000));
	f = jv_object_set(f, jv_string("candidates"), jv_number((double)n));
	return f;
}

jv
sre_rca_diagnose(const struct sre_rca_graph *g, jv anomalies,
    const struct sre_rca_opts *opts)
{
	struct dx d;
	struct sre_rca_opts o;
	jv out, rcs, prop;
	int *order = NULL, i, top, known_fix_used = 0;
	double total = 0, share = 0, lead = 0, conf = 0;
	const struct cand *w = NULL;
	char summary[2048];
	const char *fp = NULL;
	enum kind wk = K_NONE;

	if (opts != NULL)
		o = *opts;
	else
		sre_rca_opts_init(&o);
	top = o.top > 0 ? o.top : 5;
	memset(&d, 0, sizeof(d));
	d.g = g;
	d.notes = jv_array();
	d.chronic = o.chronic;
	dx_read(&d, anomalies, &o);

	order = calloc(d.n + 1, sizeof(int));
	if (order == NULL) {
		dx_free(&d);
		return jv_invalid();
	}
	for (i = 0; i < (int)d.n; i++) {
		order[i] = i;
		total += d.c[i].pi;
		d.c[i].kind = kind_of(&d.c[i]);
	}
	qsort_r(order, d.n, sizeof(int), by_pi, &d);
	rcs = root_causes(&d, order, top, total);

	if (d.n > 0 && total > 0) {
		double p1 = d.c[order[0]].pi, p2 = d.n > 1 ?
		    d.c[order[1]].pi : 0;

		w = &d.c[order[0]];
		wk = w->kind;
		share = p1 / total;
		lead = p1 > 0 ? (p1 - p2) / p1 : 0;
		conf = sre_rca_confidence(share, lead, w->origin);
		fp = w->fp;
	}
	if (fp == NULL)
		fp = d.first_fp;
	prop = propose(&d, w, conf, anomalies, &o, &known_fix_used);
	summarize(&d, w, conf, order, prop, known_fix_used, &o, summary,
	    sizeof(summary));

	out = jv_object();
	out = jv_object_set(out, jv_string("root_causes"), rcs);
	out = jv_object_set(out, jv_string("confidence"), jv_number(conf));
	out = jv_object_set(out, jv_string("summary"), jv_string(summary));
	out = jv_object_set(out, jv_string("proposal"), prop);
	out = jv_object_set(out, jv_string("fingerprint"),
	    fp ? jv_string(fp) : jv_null());
	out = jv_object_set(out, jv_string("kind"),
	    jv_string(kind_names[wk]));
	out = jv_object_set(out, jv_string("notes"), jv_copy(d.notes));
	out = jv_object_set(out, jv_string("features"),
	    features_of(share, lead, w, d.n));
	free(order);
	dx_free(&d);
	return out;
}
