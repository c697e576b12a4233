/*
 * rca-bench: the two halves of bench/rca around sre-brain.
 *
 *   rca-bench cases -f FAULT_START_MS [-i INCIDENT] [-w DETECT_S]
 *	[-b BASE_S] [-o OFFSET_S] < traces.ndjson
 *	Read the OTLP/JSON traces sre-marketplace wrote (the fault starting
 *	at FAULT_START_MS); compare each series in DETECT_S seconds (30)
 *	from OFFSET_S (0) after the fault's start with the BASE_S seconds
 *	(120) before it, as a simple detector would,
 *	and write what sre-scout writes for them (the anomaly evidence
 *	schema of sre-events(7)): one topology event, then the anomaly
 *	events of one incident, evidence included.
 *
 *   rca-bench score [-f] [-r] LIST
 *	LIST has one case per line: "id culprit kind layer diagnoses-file
 *	stderr-file events-file fault-start-ms"; the diagnosis scored is the
 *	last revision of the first incident diagnosed after the fault began.  Prints AC@1, AC@3, Avg@5 of the root-cause service
 *	(RCAEval's definitions), a calibration table of the confidence, and
 *	the time to diagnosis sre-brain reported (-v).  -f also fits the
 *	confidence's logistic coefficients to these cases and prints them.
 *	-r: real cases (bench/rca/run -n), whose lines carry a ninth field,
 *	the seconds of fault-free traffic before the fault: per fault kind
 *	AC@1, AC@3, Avg@5, incidents opened before the onset (false alarms)
 *	and the delays from the onset to the first anomaly and to the
 *	first diagnosis naming the culprit.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jv.h>

#include "event.h"
#include "otlp.h"
#include "rca.h"

/* ---- interning ------------------------------------------------------ */

struct names {
	char **v;
	size_t n, cap;
};

static int
intern(struct names *t, const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (strlen(t->v[i]) == len && memcmp(t->v[i], p, len) == 0)
			return (int)i;
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 64;
		t->v = realloc(t->v, t->cap * sizeof(*t->v));
		if (t->v == NULL)
			abort();
	}
	t->v[t->n] = strndup(p, len);
	if (t->v[t->n] == NULL)
		abort();
	return (int)t->n++;
}

/* ---- numbers -------------------------------------------------------- */

struct vec {
	double *v;
	size_t n, cap;
};

static void
vec_add(struct vec *a, double x)
{
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 64;
		a->v = realloc(a->v, a->cap * sizeof(double));
		if (a->v == NULL)
			abort();
	}
	a->v[a->n++] = x;
}

static int
cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
quant(struct vec *a, double q)
{
	size_t i;

	if (a->n == 0)
		return 0;
	qsort(a->v, a->n, sizeof(double), cmp_d);
	i = (size_t)ceil(q * (double)a->n);
	if (i > 0)
		i--;
	if (i >= a->n)
		i = a->n - 1;
	return a->v[i];
}

/* ---- cases: spans to anomalies -------------------------------------- */

enum { BASE, FAULT, NPER };

struct series {		/* a (service, operation) */
	int svc, op;
	struct vec dur[NPER], self[NPER];
	double n[NPER], err[NPER];
};

struct edge {		/* caller service -> callee service */
	int from, to;
	struct vec dur[NPER], gap[NPER];
	double n[NPER], err[NPER];
};

struct ver {
	int svc, ver;
	double spans, errors;
	uint64_t first_ns;
};

struct msg {
	int svc, text;
	double count;
};

struct span {
	uint64_t sid, parent;
	int svc, op, kind, ver, addr, msg;
	uint64_t st, en;
	int err, server_child;
	double child_ns;	/* union of children */
};

static struct {
	struct names svc, op, ver, text;
	struct series *s;
	size_t ns, caps;
	struct edge *e;
	size_t ne, cape;
	struct ver *v;
	size_t nv, capv;
	struct msg *m;
	size_t nm, capm;
	double svc_n[NPER][256], svc_err[NPER][256];
	uint64_t base_from, base_to, fault_from, fault_to;	/* ns */
	struct span *sp;
	size_t nsp, capsp;
	struct sre_otlp *rd;
} C;

static struct series *
series_of(int svc, int op)
{
	size_t i;

	for (i = 0; i < C.ns; i++)
		if (C.s[i].svc == svc && C.s[i].op == op)
			return &C.s[i];
	if (C.ns == C.caps) {
		C.caps = C.caps ? C.caps * 2 : 64;
		if ((C.s = realloc(C.s, C.caps * sizeof(*C.s))) == NULL)
			abort();
	}
	memset(&C.s[C.ns], 0, sizeof(C.s[0]));
	C.s[C.ns].svc = svc;
	C.s[C.ns].op = op;
	return &C.s[C.ns++];
}

static struct edge *
edge_of(int from, int to)
{
	size_t i;

	for (i = 0; i < C.ne; i++)
		if (C.e[i].from == from && C.e[i].to == to)
			return &C.e[i];
	if (C.ne == C.cape) {
		C.cape = C.cape ? C.cape * 2 : 64;
		if ((C.e = realloc(C.e, C.cape * sizeof(*C.e))) == NULL)
			abort();
	}
	memset(&C.e[C.ne], 0, sizeof(C.e[0]));
	C.e[C.ne].from = from;
	C.e[C.ne].to = to;
	return &C.e[C.ne++];
}

static void
ver_add(int svc, int ver, int err, uint64_t t)
{
	size_t i;

	for (i = 0; i < C.nv; i++)
		if (C.v[i].svc == svc && C.v[i].ver == ver)
			break;
	if (i == C.nv) {
		if (C.nv == C.capv) {
			C.capv = C.capv ? C.capv * 2 : 64;
			if ((C.v = realloc(C.v, C.capv * sizeof(*C.v))) == NULL)
				abort();
		}
		memset(&C.v[i], 0, sizeof(C.v[0]));
		C.v[i].svc = svc;
		C.v[i].ver = ver;
		C.v[i].first_ns = t;
		C.nv++;
	}
	C.v[i].spans++;
	C.v[i].errors += err;
	if (t < C.v[i].first_ns)
		C.v[i].first_ns = t;
}

static void
msg_add(int svc, int text)
{
	size_t i;

	for (i = 0; i < C.nm; i++)
		if (C.m[i].svc == svc && C.m[i].text == text) {
			C.m[i].count++;
			return;
		}
	if (C.nm == C.capm) {
		C.capm = C.capm ? C.capm * 2 : 64;
		if ((C.m = realloc(C.m, C.capm * sizeof(*C.m))) == NULL)
			abort();
	}
	C.m[C.nm].svc = svc;
	C.m[C.nm].text = text;
	C.m[C.nm].count = 1;
	C.nm++;
}

static uint64_t
hex64(struct sre_json_str s)
{
	uint8_t b[8];
	uint64_t v = 0;
	int n = sre_otlp_id_bytes(s, b, sizeof(b)), i;

	for (i = 0; i < n; i++)
		v = v << 8 | b[i];
	return v;
}

static int
on_span(void *arg, const struct sre_otlp_span *s)
{
	struct span *x;

	(void)arg;
	if (C.nsp == C.capsp) {
		C.capsp = C.capsp ? C.capsp * 2 : 4096;
		if ((C.sp = realloc(C.sp, C.capsp * sizeof(*C.sp))) == NULL)
			abort();
	}
	x = &C.sp[C.nsp++];
	memset(x, 0, sizeof(*x));
	x->sid = hex64(s->span_id);
	x->parent = hex64(s->parent_span_id);
	x->svc = intern(&C.svc, s->res->service.p ? s->res->service.p : "",
	    s->res->service.n);
	x->op = intern(&C.op, s->name.p ? s->name.p : "", s->name.n);
	x->ver = intern(&C.ver, s->res->service_version.p ?
	    s->res->service_version.p : "", s->res->service_version.n);
	x->addr = s->server_address.n ? intern(&C.svc, s->server_address.p,
	    s->server_address.n) : -1;
	x->kind = s->kind;
	x->st = s->start_ns;
	x->en = s->end_ns > s->start_ns ? s->end_ns : s->start_ns;
	x->err = s->status == SRE_OTLP_STATUS_ERROR || s->http_status >= 500;
	x->msg = x->err && s->status_message.n ? intern(&C.text,
	    s->status_message.p, s->status_message.n < 200 ?
	    s->status_message.n : 200) : -1;
	x->server_child = -1;
	return 0;
}

static int
period(uint64_t t)
{
	if (t >= C.base_from && t < C.base_to)
		return BASE;
	if (t >= C.fault_from && t < C.fault_to)
		return FAULT;
	return -1;
}

struct iv {
	size_t parent;
	uint64_t st, en;
};

static int
cmp_iv(const void *a, const void *b)
{
	const struct iv *x = a, *y = b;

	if (x->parent != y->parent)
		return x->parent < y->parent ? -1 : 1;
	return x->st < y->st ? -1 : x->st > y->st;
}

/* The spans of one line are whole traces: join them up. */
static void
process_line(void)
{
	size_t cap = 16, i, j, niv = 0;
	size_t *tab;
	struct iv *ivs;

	while (cap < C.nsp * 2)
		cap *= 2;
	tab = calloc(cap, sizeof(size_t));
	ivs = calloc(C.nsp + 1, sizeof(*ivs));
	if (tab == NULL || ivs == NULL)
		abort();
	for (i = 0; i < C.nsp; i++) {
		for (j = (C.sp[i].sid * 0x9e3779b97f4a7c15ULL) & (cap - 1);
		    tab[j] != 0; j = (j + 1) & (cap - 1))
			;
		tab[j] = i + 1;
	}
	for (i = 0; i < C.nsp; i++) {
		struct span *s = &C.sp[i];
		size_t p = 0;

		if (s->parent == 0)
			continue;
		for (j = (s->parent * 0x9e3779b97f4a7c15ULL) & (cap - 1);
		    tab[j] != 0; j = (j + 1) & (cap - 1))
			if (C.sp[tab[j] - 1].sid == s->parent) {
				p = tab[j];
				break;
			}
		if (p == 0)
			continue;
		ivs[niv].parent = p - 1;
		ivs[niv].st = s->st;
		ivs[niv].en = s->en;
		niv++;
		if (s->kind == SRE_OTLP_KIND_SERVER &&
		    C.sp[p - 1].kind == SRE_OTLP_KIND_CLIENT)
			C.sp[p - 1].server_child = (int)i;
	}
	qsort(ivs, niv, sizeof(*ivs), cmp_iv);
	for (i = 0; i < niv;) {
		size_t p = ivs[i].parent;
		uint64_t cs = ivs[i].st, ce = ivs[i].en;
		double sum = 0;

		for (; i < niv && ivs[i].parent == p; i++) {
			if (ivs[i].st > ce) {
				sum += (double)(ce - cs);
				cs = ivs[i].st;
				ce = ivs[i].en;
			} else if (ivs[i].en > ce)
				ce = ivs[i].en;
		}
		sum += (double)(ce - cs);
		C.sp[p].child_ns = sum;
	}
	for (i = 0; i < C.nsp; i++) {
		struct span *s = &C.sp[i];
		int per = period(s->st);
		double dur = (double)(s->en - s->st) / 1e6;

		if (per < 0)
			continue;
		if (s->kind == SRE_OTLP_KIND_SERVER ||
		    s->kind == SRE_OTLP_KIND_INTERNAL) {
			struct series *se = series_of(s->svc, s->op);
			double self = dur - s->child_ns / 1e6;

			vec_add(&se->dur[per], dur);
			vec_add(&se->self[per], self > 0 ? self : 0);
			se->n[per]++;
			se->err[per] += s->err;
			if (s->kind == SRE_OTLP_KIND_SERVER && s->svc < 256) {
				C.svc_n[per][s->svc]++;
				C.svc_err[per][s->svc] += s->err;
			}
			if (per == FAULT && s->kind == SRE_OTLP_KIND_SERVER)
				ver_add(s->svc, s->ver, s->err, s->st);
			if (per == FAULT && s->msg >= 0)
				msg_add(s->svc, s->msg);
		} else if (s->kind == SRE_OTLP_KIND_CLIENT) {
			int to = -1;
			double gap = dur;
			struct edge *e;

			if (s->server_child >= 0) {
				struct span *c = &C.sp[s->server_child];

				to = c->svc;
				gap = dur - (double)(c->en - c->st) / 1e6;
			} else if (s->addr >= 0 && s->addr != s->svc &&
			    s->addr < 256 && C.svc_n[BASE][s->addr] +
			    C.svc_n[FAULT][s->addr] > 0)
				to = s->addr;	/* a service that failed to
						   answer (a pool) */
			if (to < 0 || to == s->svc)
				continue;
			e = edge_of(s->svc, to);
			vec_add(&e->dur[per], dur);
			vec_add(&e->gap[per], gap > 0 ? gap : 0);
			e->n[per]++;
			e->err[per] += s->err;
			if (per == FAULT && s->msg >= 0)
				msg_add(s->svc, s->msg);
		}
	}
	free(tab);
	free(ivs);
	C.nsp = 0;
}

static uint64_t
fnv(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static jv
fingerprint(const char *svc, const char *op, const char *signal,
    const char *scope)
{
	char buf[1024], fp[17];

	snprintf(buf, sizeof(buf), "%s\x1f%s\x1f%s\x1f%s", svc, op ? op : "",
	    signal, scope);
	snprintf(fp, sizeof(fp), "%016llx", (unsigned long long)fnv(buf));
	return jv_string(fp);
}

static jv
ob(double o, double b)
{
	return jv_object_set(jv_object_set(jv_object(), jv_string("observed"),
	    jv_number(round(o * 1000) / 1000)), jv_string("baseline"),
	    jv_number(round(b * 1000) / 1000));
}

static int
svc_known(int i)
{
	return C.svc_n[BASE][i] + C.svc_n[FAULT][i] > 0;
}

static jv
edge_json(struct edge *e, int with_base)
{
	jv o = jv_object();

	o = jv_object_set(o, jv_string("from"), jv_string(C.svc.v[e->from]));
	o = jv_object_set(o, jv_string("to"), jv_string(C.svc.v[e->to]));
	o = jv_object_set(o, jv_string("calls"), jv_number(e->n[with_base ?
	    FAULT : BASE]));
	o = jv_object_set(o, jv_string("errors"), jv_number(e->err[with_base ?
	    FAULT : BASE]));
	o = jv_object_set(o, jv_string("p95_ms"), jv_number(round(quant(
	    &e->dur[with_base ? FAULT : BASE], 0.95) * 1000) / 1000));
	o = jv_object_set(o, jv_string("edge_ms"), jv_number(round(quant(
	    &e->gap[with_base ? FAULT : BASE], 0.95) * 1000) / 1000));
	if (with_base) {
		o = jv_object_set(o, jv_string("baseline_p95_ms"),
		    jv_number(round(quant(&e->dur[BASE], 0.95) * 1000) / 1000));
		o = jv_object_set(o, jv_string("baseline_edge_ms"),
		    jv_number(round(quant(&e->gap[BASE], 0.95) * 1000) /
		    1000));
	}
	return o;
}

static jv
evidence(int svc, const char *scope, struct series *se, double det_s,
    double base_s)
{
	jv evd = jv_object(), edges = jv_array(), vers = jv_array(),
	    msgs = jv_array();
	size_t i, k;

	evd = jv_object_set(evd, jv_string("scope"), jv_string(scope));
	if (se != NULL) {
		evd = jv_object_set(evd, jv_string("self_ms"),
		    ob(quant(&se->self[FAULT], 0.95),
		    quant(&se->self[BASE], 0.95)));
		evd = jv_object_set(evd, jv_string("total_ms"),
		    ob(quant(&se->dur[FAULT], 0.95),
		    quant(&se->dur[BASE], 0.95)));
		evd = jv_object_set(evd, jv_string("latency_ms"), jv_object_set(
		    jv_object_set(jv_object_set(jv_object(), jv_string("p50"),
		    jv_number(round(quant(&se->dur[FAULT], 0.5) * 1000) /
		    1000)), jv_string("p95"), jv_number(round(quant(
		    &se->dur[FAULT], 0.95) * 1000) / 1000)), jv_string("p99"),
		    jv_number(round(quant(&se->dur[FAULT], 0.99) * 1000) /
		    1000)));
		evd = jv_object_set(evd, jv_string("error_ratio"),
		    ob(se->n[FAULT] ? se->err[FAULT] / se->n[FAULT] : 0,
		    se->n[BASE] ? se->err[BASE] / se->n[BASE] : 0));
		evd = jv_object_set(evd, jv_string("throughput"),
		    ob(se->n[FAULT] / det_s, se->n[BASE] / base_s));
	} else if (svc < 256) {
		evd = jv_object_set(evd, jv_string("error_ratio"),
		    ob(C.svc_n[FAULT][svc] ? C.svc_err[FAULT][svc] /
		    C.svc_n[FAULT][svc] : 0, C.svc_n[BASE][svc] ?
		    C.svc_err[BASE][svc] / C.svc_n[BASE][svc] : 0));
		evd = jv_object_set(evd, jv_string("throughput"),
		    ob(C.svc_n[FAULT][svc] / det_s, C.svc_n[BASE][svc] /
		    base_s));
	}
	for (i = 0; i < C.ne; i++)
		if ((C.e[i].from == svc || C.e[i].to == svc) &&
		    C.e[i].n[FAULT] > 0 && svc_known(C.e[i].to))
			edges = jv_array_append(edges, edge_json(&C.e[i], 1));
	evd = jv_object_set(evd, jv_string("edges"), edges);
	for (i = 0; i < C.nv; i++)
		if (C.v[i].svc == svc && C.ver.v[C.v[i].ver][0] != '\0') {
			jv v = jv_object();

			v = jv_object_set(v, jv_string("version"),
			    jv_string(C.ver.v[C.v[i].ver]));
			v = jv_object_set(v, jv_string("first_seen_ms"),
			    jv_number((double)(C.v[i].first_ns / 1000000)));
			v = jv_object_set(v, jv_string("spans"),
			    jv_number(C.v[i].spans));
			v = jv_object_set(v, jv_string("errors"),
			    jv_number(C.v[i].errors));
			vers = jv_array_append(vers, v);
		}
	evd = jv_object_set(evd, jv_string("versions"), vers);
	/* top 5 messages by count */
	for (k = 0; k < 5; k++) {
		int best = -1;

		for (i = 0; i < C.nm; i++)
			if (C.m[i].svc == svc && C.m[i].count > 0 &&
			    (best < 0 || C.m[i].count > C.m[best].count))
				best = (int)i;
		if (best < 0)
			break;
		msgs = jv_array_append(msgs, jv_object_set(jv_object_set(
		    jv_object(), jv_string("text"),
		    jv_string(C.text.v[C.m[best].text])), jv_string("count"),
		    jv_number(C.m[best].count)));
		C.m[best].count = -C.m[best].count;
	}
	for (i = 0; i < C.nm; i++)
		if (C.m[i].svc == svc && C.m[i].count < 0)
			C.m[i].count = -C.m[i].count;
	evd = jv_object_set(evd, jv_string("messages"), msgs);
	evd = jv_object_set(evd, jv_string("sampled"), jv_number(1));
	return evd;
}

static void
emit(jv ev)
{
	jv d = jv_dump_string(ev, 0);

	puts(jv_string_value(d));
	jv_free(d);
}

static int n_emitted;

static void
anomaly(const char *incident, int64_t ts, int svc, const char *op,
    const char *signal, double o, double b, double score, jv evd)
{
	jv ev = jv_object();
	char id[64];
	const char *scope = sre_jv_str(evd, "scope");

	snprintf(id, sizeof(id), "%s-a%03d", incident, ++n_emitted);
	ev = jv_object_set(ev, jv_string("v"), jv_number(1));
	ev = jv_object_set(ev, jv_string("type"), jv_string("anomaly"));
	ev = jv_object_set(ev, jv_string("id"), jv_string(id));
	ev = jv_object_set(ev, jv_string("incident"), jv_string(incident));
	ev = jv_object_set(ev, jv_string("ts_ms"), jv_number((double)ts));
	ev = jv_object_set(ev, jv_string("source"), jv_string("rca-bench"));
	ev = jv_object_set(ev, jv_string("service"),
	    jv_string(C.svc.v[svc]));
	ev = jv_object_set(ev, jv_string("operation"),
	    op ? jv_string(op) : jv_null());
	ev = jv_object_set(ev, jv_string("signal"), jv_string(signal));
	ev = jv_object_set(ev, jv_string("observed"),
	    jv_number(round(o * 1000) / 1000));
	ev = jv_object_set(ev, jv_string("baseline"),
	    jv_number(round(b * 1000) / 1000));
	ev = jv_object_set(ev, jv_string("score"),
	    jv_number(round((score > 1000 ? 1000 : score) * 100) / 100));
	ev = jv_object_set(ev, jv_string("window_start_ms"),
	    jv_number((double)(C.fault_from / 1000000)));
	ev = jv_object_set(ev, jv_string("window_end_ms"),
	    jv_number((double)ts));
	ev = jv_object_set(ev, jv_string("fingerprint"), fingerprint(
	    C.svc.v[svc], op, signal, scope ? scope : "operation"));
	ev = jv_object_set(ev, jv_string("evidence"), evd);
	emit(ev);
}

static int
cases(int argc, char **argv)
{
	const char *inc = "INC-1";
	double det_s = 30, base_s = 120, off_s = 0;
	char *line = NULL, incident[128];
	size_t cap = 0, i;
	ssize_t len;
	int ch;
	jv tev, tedges, svcs;
	int64_t fstart = -1;
	struct sre_otlp_handler h = { .span = on_span };
	struct sre_otlp_result res;
	int64_t ts;

	while ((ch = getopt(argc, argv, "b:f:i:o:w:")) != -1)
		switch (ch) {
		case 'o':
			off_s = strtod(optarg, NULL);
			break;
		case 'b':
			base_s = strtod(optarg, NULL);
			break;
		case 'f':
			fstart = strtoll(optarg, NULL, 10);
			break;
		case 'i':
			inc = optarg;
			break;
		case 'w':
			det_s = strtod(optarg, NULL);
			break;
		default:
			return 64;
		}
	if (fstart <= 0) {
		fprintf(stderr, "rca-bench: cases: -f FAULT_START_MS needed\n");
		return 64;
	}
	C.base_to = (uint64_t)fstart * 1000000;
	C.base_from = C.base_to - (uint64_t)(base_s * 1e9);
	C.fault_from = C.base_to + (uint64_t)(off_s * 1e9);
	C.fault_to = C.fault_from + (uint64_t)(det_s * 1e9);
	snprintf(incident, sizeof(incident), "%s", inc);
	C.rd = sre_otlp_new(0);
	while ((len = getline(&line, &cap, stdin)) > 0) {
		sre_otlp_read(C.rd, line, (size_t)len, &h, &res);
		process_line();
	}
	free(line);
	sre_otlp_free(C.rd);

	/* topology: the baseline's edges */
	tev = jv_object();
	tev = jv_object_set(tev, jv_string("v"), jv_number(1));
	tev = jv_object_set(tev, jv_string("type"), jv_string("topology"));
	tev = jv_object_set(tev, jv_string("id"), jv_string("topo-1"));
	tev = jv_object_set(tev, jv_string("ts_ms"), jv_number((double)fstart));
	tev = jv_object_set(tev, jv_string("source"), jv_string("rca-bench"));
	tedges = jv_array();
	for (i = 0; i < C.ne; i++)
		if (C.e[i].n[BASE] > 0 && svc_known(C.e[i].to))
			tedges = jv_array_append(tedges, edge_json(&C.e[i], 0));
	svcs = jv_array();
	for (i = 0; i < C.svc.n && i < 256; i++)
		if (svc_known((int)i))
			svcs = jv_array_append(svcs, jv_string(C.svc.v[i]));
	tev = jv_object_set(tev, jv_string("edges"), tedges);
	tev = jv_object_set(tev, jv_string("services"), svcs);
	tev = jv_object_set(tev, jv_string("window_start_ms"),
	    jv_number((double)(C.base_from / 1000000)));
	tev = jv_object_set(tev, jv_string("window_end_ms"),
	    jv_number((double)fstart));
	emit(tev);

	ts = (int64_t)(C.fault_to / 1000000);
	/* per operation: latency and errors */
	for (i = 0; i < C.ns; i++) {
		struct series *se = &C.s[i];
		double pb, pf, eb, ef, sb, sf;

		if (se->n[BASE] < 20 || se->n[FAULT] < 8)
			continue;
		pb = quant(&se->dur[BASE], 0.95);
		pf = quant(&se->dur[FAULT], 0.95);
		eb = se->err[BASE] / se->n[BASE];
		ef = se->err[FAULT] / se->n[FAULT];
		/* total latency, or self time (a slow service under slow
		 * callees hides in the total) */
		sf = quant(&se->self[FAULT], 0.95);
		sb = quant(&se->self[BASE], 0.95);
		if ((pf > 1.4 * pb && pf - pb > 3) || sf > 1.5 * sb + 3) {
			double z = (pf - pb) / (0.1 * pb + 0.5);
			double zs = (sf - sb) / (0.1 * sb + 0.5);

			anomaly(incident, ts, se->svc, C.op.v[se->op],
			    "latency", pf, pb, z > zs ? z : zs,
			    evidence(se->svc, "operation", se, det_s,
			    base_s));
		}
		if (ef - eb > 0.02 && ef > 2 * eb + 0.005)
			anomaly(incident, ts, se->svc, C.op.v[se->op],
			    "errors", ef, eb, (ef - eb) / sqrt(eb * (1 - eb) /
			    se->n[BASE] + 1e-4), evidence(se->svc, "operation",
			    se, det_s, base_s));
	}
	/* per service: throughput */
	for (i = 0; i < C.svc.n && i < 256; i++) {
		double tb = C.svc_n[BASE][i] / base_s, tf = C.svc_n[FAULT][i] /
		    det_s;

		if (C.svc_n[BASE][i] >= 50 && tb > 0 && (tf > 1.5 * tb))
			anomaly(incident, ts, (int)i, NULL, "throughput", tf,
			    tb, 3 * log2(tf / tb), evidence((int)i, "service",
			    NULL, det_s, base_s));
	}
	/* per edge: edge time */
	for (i = 0; i < C.ne; i++) {
		struct edge *e = &C.e[i];
		double gb, gf;

		if (e->n[BASE] < 10 || e->n[FAULT] < 5 || !svc_known(e->to))
			continue;
		gb = quant(&e->gap[BASE], 0.95);
		gf = quant(&e->gap[FAULT], 0.95);
		if (gf > 2 * gb + 5) {
			jv evd = evidence(e->to, "edge", NULL, det_s, base_s);

			evd = jv_object_set(evd, jv_string("edge"),
			    jv_object_set(jv_object_set(jv_object(),
			    jv_string("from"), jv_string(C.svc.v[e->from])),
			    jv_string("to"), jv_string(C.svc.v[e->to])));
			anomaly(incident, ts, e->to, NULL, "latency",
			    quant(&e->dur[FAULT], 0.95),
			    quant(&e->dur[BASE], 0.95), (gf - gb) /
			    (0.1 * gb + 0.5), evd);
		}
	}
	return 0;
}

/* ---- score ---------------------------------------------------------- */

struct res {
	int rank;		/* of the culprit, 1-based; 0 not found */
	int detected;		/* the culprit shows in the anomalies */
	double conf, share, lead, origin, ms;
	int correct;
	char kind[32], layer[32], fkind[32], action[32];
	char group[16];		/* -r: the case's day (its id to the '_') */
	int false_inc;		/* incidents opened before the fault began */
	double clean_s;		/* seconds of traffic before it (-r) */
	double delay_s;		/* first anomaly at or after the onset */
	double named_s;		/* first diagnosis naming the culprit first */
};

/*
 * The case's timeline in sre-brain's output (anomalies pass through it):
 * incidents whose first anomaly came before the fault began (false
 * alarms), the seconds from the onset to the first anomaly at or after
 * it, and to the first diagnosis after it whose top root cause is the
 * culprit (-1: none).
 */
static void
timeline(const char *path, int64_t fault_ms, const char *culprit,
    struct res *r)
{
	FILE *fp = fopen(path, "r");
	char *line = NULL, (*seen)[128] = NULL;
	size_t cap = 0, ns = 0, cs = 0, k;

	r->delay_s = r->named_s = -1;
	if (fp == NULL)
		return;
	while (getline(&line, &cap, fp) > 0) {
		jv v = jv_parse(line);
		const char *t = sre_jv_str(v, "type");
		const char *i = sre_jv_str(v, "incident");
		int64_t ts = 0;

		if (t == NULL || i == NULL || sre_jv_int(v, "ts_ms", &ts) != 0) {
			jv_free(v);
			continue;
		}
		if (strcmp(t, "anomaly") == 0) {
			for (k = 0; k < ns; k++)
				if (strcmp(seen[k], i) == 0)
					break;
			if (k == ns) {
				if (ns == cs) {
					cs = cs ? cs * 2 : 16;
					seen = realloc(seen, cs * sizeof(*seen));
					if (seen == NULL)
						abort();
				}
				snprintf(seen[ns++], sizeof(seen[0]), "%s", i);
				if (ts < fault_ms)
					r->false_inc++;
			}
			if (ts >= fault_ms && r->delay_s < 0)
				r->delay_s = (double)(ts - fault_ms) / 1000;
		} else if (strcmp(t, "diagnosis") == 0 && ts >= fault_ms &&
		    r->named_s < 0) {
			jv rcs = jv_object_get(jv_copy(v),
			    jv_string("root_causes"));
			jv rc0 = jv_get_kind(rcs) == JV_KIND_ARRAY &&
			    jv_array_length(jv_copy(rcs)) > 0 ?
			    jv_array_get(jv_copy(rcs), 0) : jv_null();
			const char *s = sre_jv_str(rc0, "service");

			if (s != NULL && strcmp(s, culprit) == 0)
				r->named_s = (double)(ts - fault_ms) / 1000;
			jv_free(rc0);
			jv_free(rcs);
		}
		jv_free(v);
	}
	free(seen);
	free(line);
	fclose(fp);
}

/*
 * The diagnosis scored.  Generated cases: the first incident diagnosed
 * after the fault began (an earlier one is a false alarm), its last
 * revision.  Real cases (real), where incidents open before the fault:
 * the incident that took the first anomaly at or after the onset, and
 * the diagnosis of it that stands at the end of the output (an update
 * that would not change the picture is not written, so the standing one
 * may predate the onset).
 */
static jv
read_diag(const char *path, int64_t fault_ms, int real)
{
	FILE *fp = fopen(path, "r");
	char *line = NULL, inc[256] = "";
	size_t cap = 0;
	jv last = jv_null(), all = jv_array();

	if (fp == NULL) {
		jv_free(all);
		return last;
	}
	while (getline(&line, &cap, fp) > 0) {
		jv v = jv_parse(line);
		const char *t = sre_jv_str(v, "type");
		const char *i = sre_jv_str(v, "incident");
		int64_t ts = 0;

		sre_jv_int(v, "ts_ms", &ts);
		if (t == NULL || i == NULL) {
			jv_free(v);
			continue;
		}
		if (real && inc[0] == '\0' && strcmp(t, "anomaly") == 0 &&
		    ts >= fault_ms)
			snprintf(inc, sizeof(inc), "%s", i);
		if (strcmp(t, "diagnosis") != 0)
			jv_free(v);
		else if (real)
			all = jv_array_append(all, v);
		else if ((inc[0] == '\0' && ts >= fault_ms) ||
		    strcmp(inc, i) == 0) {
			snprintf(inc, sizeof(inc), "%s", i);
			jv_free(last);
			last = v;
		} else
			jv_free(v);
	}
	jv_array_foreach(all, k, d) {
		const char *i = sre_jv_str(d, "incident");

		if (inc[0] != '\0' && i != NULL && strcmp(i, inc) == 0) {
			jv_free(last);
			last = d;
		} else
			jv_free(d);
	}
	jv_free(all);
	free(line);
	fclose(fp);
	return last;
}

/* Does the culprit show in the anomalies (as a service or an edge's
 * endpoint)?  If not, the detector missed it and no reasoner could. */
static int
detected(const char *path, const char *culprit)
{
	FILE *fp = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	int found = 0;

	if (fp == NULL)
		return 0;
	while (!found && getline(&line, &cap, fp) > 0) {
		jv v = jv_parse(line), evd, e;
		const char *t = sre_jv_str(v, "type"), *s;

		if (t != NULL && strcmp(t, "anomaly") == 0) {
			const char *sig = sre_jv_str(v, "signal");

			/* load alone is no sign of the fault */
			s = sre_jv_str(v, "service");
			found = s != NULL && strcmp(s, culprit) == 0 &&
			    (sig == NULL || strcmp(sig, "throughput") != 0);
			evd = jv_object_get(jv_copy(v), jv_string("evidence"));
			e = jv_get_kind(evd) == JV_KIND_OBJECT ?
			    jv_object_get(jv_copy(evd), jv_string("edge")) :
			    jv_null();
			s = sre_jv_str(e, "to");
			if (s != NULL && strcmp(s, culprit) == 0)
				found = 1;
			jv_free(e);
			jv_free(evd);
		}
		jv_free(v);
	}
	free(line);
	fclose(fp);
	return found;
}

static double
diag_ms(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *line = NULL, *p;
	size_t cap = 0;
	double best = -1;

	if (fp == NULL)
		return -1;
	while (getline(&line, &cap, fp) > 0)
		if ((p = strstr(line, "diagnosed in ")) != NULL) {
			double v = strtod(p + 13, NULL);

			if (v > best)
				best = v;
		}
	free(line);
	fclose(fp);
	return best;
}

/* The confidence's logistic coefficients fitted to the cases i with
 * skip == NULL or a kind other than skip. */
static void
fit_w(const struct res *r, int n, const char *skip, double w[4])
{
	double lr = 0.5;
	int it, i, k, m = 0;

	for (k = 0; k < 4; k++)
		w[k] = 0;
	for (i = 0; i < n; i++)
		m += skip == NULL || strcmp(r[i].kind, skip) != 0;
	if (m == 0)
		return;
	for (it = 0; it < 20000; it++) {
		double g[4] = { 0, 0, 0, 0 };

		for (i = 0; i < n; i++) {
			double x[4] = { 1, r[i].share, r[i].lead, r[i].origin };
			double z = 0, p;

			if (skip != NULL && strcmp(r[i].kind, skip) == 0)
				continue;
			for (k = 0; k < 4; k++)
				z += w[k] * x[k];
			p = 1 / (1 + exp(-z));
			for (k = 0; k < 4; k++)
				g[k] += (p - r[i].correct) * x[k];
		}
		for (k = 0; k < 4; k++)
			w[k] -= lr * (g[k] / m + 0.001 * (k ? w[k] : 0));
	}
}

static void
fit(struct res *r, int n)
{
	double w[4];

	fit_w(r, n, NULL, w);
	printf("fit: b0 %.2f share %.2f lead %.2f origin %.2f\n", w[0], w[1],
	    w[2], w[3]);
}

/* Expected calibration error of confidences p against r[].correct, in
 * the bins of the calibration table. */
static double
ece_of(const struct res *r, const double *p, int n)
{
	static const double edges[] = { 0, 0.5, 0.7, 0.8, 0.9, 0.95,
	    1.0001 };
	double ece = 0;
	int b, i;

	for (b = 0; b + 1 < (int)(sizeof(edges) / sizeof(edges[0])); b++) {
		int t = 0, c = 0;
		double sc = 0;

		for (i = 0; i < n; i++)
			if (p[i] >= edges[b] && p[i] < edges[b + 1]) {
				t++;
				c += r[i].correct;
				sc += p[i];
			}
		if (t > 0)
			ece += fabs(sc / t - (double)c / t) * t / n;
	}
	return ece;
}

/*
 * Leave one fault kind out: the confidence refitted on the other kinds'
 * cases, judged on the kind left out; the ECE over all the held-out
 * predictions, beside the one of the product's own coefficients.
 */
static void
loko(const struct res *r, int n)
{
	double *p = calloc((size_t)n, sizeof(double)), w[4];
	int i;

	if (p == NULL)
		abort();
	for (i = 0; i < n; i++) {
		double z;

		fit_w(r, n, r[i].kind, w);
		z = w[0] + w[1] * r[i].share + w[2] * r[i].lead + w[3] *
		    r[i].origin;
		p[i] = 1 / (1 + exp(-z));
	}
	printf("confidence refitted leaving one fault kind out: ECE %.3f on "
	    "the kinds left out", ece_of(r, p, n));
	for (i = 0; i < n; i++)
		p[i] = r[i].conf;
	printf(" (sre-brain's coefficients: %.3f)\n", ece_of(r, p, n));
	free(p);
}

/* AC@1, AC@3, Avg@5 of the cases whose kind is kind (NULL: all; "resource":
 * the resource faults of the real cases). */
static void
kind_row(const struct res *r, int n, const char *kind)
{
	int t = 0, ac[6] = { 0 }, i, k;

	for (i = 0; i < n; i++) {
		if (kind != NULL && strcmp(kind, "resource") == 0 ?
		    strncmp(r[i].kind, "cpu_", 4) != 0 &&
		    strcmp(r[i].kind, "network_delay") != 0 :
		    kind != NULL && strcmp(kind, r[i].kind) != 0)
			continue;
		t++;
		for (k = 1; k <= 5; k++)
			if (r[i].rank >= 1 && r[i].rank <= k)
				ac[k]++;
	}
	if (t == 0)
		return;
	printf("  %-16s %5d %7.3f %7.3f %7.3f\n", kind ? kind : "all", t,
	    (double)ac[1] / t, (double)ac[3] / t,
	    ((double)ac[1] + ac[2] + ac[3] + ac[4] + ac[5]) / (5.0 * t));
}

static int
cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* AC@1, AC@3 and false incidents per case of the cases of one day. */
static void
group_row(const struct res *r, int n, const char *group)
{
	int t = 0, a1 = 0, a3 = 0, fi = 0, i;

	for (i = 0; i < n; i++) {
		if (strcmp(r[i].group, group) != 0)
			continue;
		t++;
		a1 += r[i].rank == 1;
		a3 += r[i].rank >= 1 && r[i].rank <= 3;
		fi += r[i].false_inc;
	}
	if (t > 0)
		printf("  %-16s %5d %7.3f %7.3f %10.2f\n", group, t,
		    (double)a1 / t, (double)a3 / t, (double)fi / t);
}

/* False incidents before the onset and detection delays (-r). */
static void
real_summary(const struct res *r, int n)
{
	const char *seen[64];
	int ns = 0, i, j, fi = 0, over1 = 0, nd = 0, nn = 0;
	double clean = 0, *d, *nm;

	printf("\nby fault kind      cases    AC@1    AC@3   Avg@5\n");
	for (i = 0; i < n; i++) {
		for (j = 0; j < ns; j++)
			if (strcmp(seen[j], r[i].kind) == 0)
				break;
		if (j == ns && ns < 64)
			seen[ns++] = r[i].kind;
	}
	for (j = 0; j < ns; j++)
		kind_row(r, n, seen[j]);
	kind_row(r, n, "resource");
	kind_row(r, n, NULL);
	/* Nothing is fitted on these cases: each day is a held-out group,
	 * and a change that helps one day only shows here. */
	printf("\nby day             cases    AC@1    AC@3  false/case\n");
	for (ns = 0, i = 0; i < n; i++) {
		for (j = 0; j < ns; j++)
			if (strcmp(seen[j], r[i].group) == 0)
				break;
		if (j == ns && ns < 64) {
			seen[ns++] = r[i].group;
			group_row(r, n, r[i].group);
		}
	}
	if ((d = calloc((size_t)n, sizeof(*d))) == NULL ||
	    (nm = calloc((size_t)n, sizeof(*nm))) == NULL)
		abort();
	for (i = 0; i < n; i++) {
		fi += r[i].false_inc;
		over1 += r[i].false_inc > 1;
		clean += r[i].clean_s;
		if (r[i].delay_s >= 0)
			d[nd++] = r[i].delay_s;
		if (r[i].named_s >= 0)
			nm[nn++] = r[i].named_s;
	}
	qsort(d, (size_t)nd, sizeof(*d), cmp_dbl);
	qsort(nm, (size_t)nn, sizeof(*nm), cmp_dbl);
	printf("\nfalse incidents (first anomaly before the onset): %d in %d "
	    "cases, %.2f per case, %d cases with more than 1",
	    fi, n, (double)fi / n, over1);
	if (clean > 0)
		printf(", %.1f per hour of fault-free traffic (%.1f h)",
		    fi / (clean / 3600), clean / 3600);
	printf("\ndetection: %d of %d cases have an anomaly after the onset",
	    nd, n);
	if (nd > 0)
		printf(", delay median %.0f s, max %.0f s", d[nd / 2],
		    d[nd - 1]);
	printf("\nnamed: %d of %d cases get a diagnosis whose top root cause "
	    "is the culprit", nn, n);
	if (nn > 0)
		printf(", median %.0f s after the onset", nm[nn / 2]);
	printf("\n");
	free(d);
	free(nm);
}

static int
score(int argc, char **argv)
{
	FILE *fp;
	char *line = NULL;
	size_t cap = 0;
	struct res *r = NULL;
	int n = 0, capr = 0, i, ac[6] = { 0 }, dofit = 0, ch, nodiag = 0;
	int real = 0;
	double brier = 0, maxms = 0, summs = 0;
	int nms = 0;
	static const double edges[] = { 0, 0.5, 0.7, 0.8, 0.9, 0.95, 1.0001 };

	while ((ch = getopt(argc, argv, "fr")) != -1)
		if (ch == 'f')
			dofit = 1;
		else if (ch == 'r')
			real = 1;
	if (optind >= argc || (fp = fopen(argv[optind], "r")) == NULL) {
		fprintf(stderr, "rca-bench: score LIST\n");
		return 66;
	}
	while (getline(&line, &cap, fp) > 0) {
		char id[256], culprit[256], kind[32], layer[32], dpath[1024],
		    epath[1024], vpath[1024];
		long long fault_ms = 0;
		double clean_s = 0;
		jv d, rcs, feat;
		int k, nr;

		if (sscanf(line, "%255s %255s %31s %31s %1023s %1023s %1023s "
		    "%lld %lf", id, culprit, kind, layer, dpath, epath, vpath,
		    &fault_ms, &clean_s) < 7)
			continue;
		if (n == capr) {
			capr = capr ? capr * 2 : 64;
			if ((r = realloc(r, (size_t)capr * sizeof(*r))) == NULL)
				abort();
		}
		memset(&r[n], 0, sizeof(r[n]));
		snprintf(r[n].kind, sizeof(r[n].kind), "%s", kind);
		snprintf(r[n].layer, sizeof(r[n].layer), "%s", layer);
		snprintf(r[n].group, sizeof(r[n].group), "%.*s",
		    (int)strcspn(id, "_"), id);
		r[n].detected = detected(vpath, culprit);
		r[n].clean_s = clean_s;
		if (real)
			timeline(vpath, fault_ms, culprit, &r[n]);
		d = read_diag(dpath, fault_ms, real);
		if (jv_get_kind(d) != JV_KIND_OBJECT) {
			nodiag++;
			if (real)
				printf("  %-20s %-15s %-22s no diagnosis  false "
				    "%d  delay %3.0f s%s\n", id, kind, culprit,
				    r[n].false_inc, r[n].delay_s,
				    r[n].detected ? "" : "  (not detected)");
			else
				printf("  %-48s no diagnosis%s\n", id,
				    r[n].detected ? "" :
				    " (the detector saw nothing of the culprit)");
			jv_free(d);
			n++;
			continue;
		}
		rcs = jv_object_get(jv_copy(d), jv_string("root_causes"));
		nr = jv_get_kind(rcs) == JV_KIND_ARRAY ?
		    jv_array_length(jv_copy(rcs)) : 0;
		for (k = 0; k < nr; k++) {
			jv rc = jv_array_get(jv_copy(rcs), k);
			const char *s = sre_jv_str(rc, "service");

			if (s != NULL && strcmp(s, culprit) == 0 &&
			    r[n].rank == 0)
				r[n].rank = k + 1;
			jv_free(rc);
		}
		sre_jv_num(d, "confidence", &r[n].conf);
		feat = jv_object_get(jv_copy(d), jv_string("features"));
		sre_jv_num(feat, "share", &r[n].share);
		sre_jv_num(feat, "lead", &r[n].lead);
		sre_jv_num(feat, "origin", &r[n].origin);
		{
			jv p = jv_object_get(jv_copy(d), jv_string("proposal"));
			const char *a = sre_jv_str(p, "action");

			snprintf(r[n].action, sizeof(r[n].action), "%s",
			    a ? a : "-");
			jv_free(p);
		}
		{
			const char *fk = sre_jv_str(d, "kind");

			snprintf(r[n].fkind, sizeof(r[n].fkind), "%s",
			    fk ? fk : "-");
		}
		jv_free(feat);
		r[n].correct = r[n].rank == 1;
		r[n].ms = diag_ms(epath);
		if (r[n].ms >= 0) {
			summs += r[n].ms;
			nms++;
			if (r[n].ms > maxms)
				maxms = r[n].ms;
		}
		{
			jv rc0 = jv_array_get(jv_copy(rcs), 0);
			const char *top = sre_jv_str(rc0, "service");

			char named[32] = "never";

			if (r[n].named_s >= 0)
				snprintf(named, sizeof(named), "%.0f s",
				    r[n].named_s);
			if (real)
				printf("  %-20s %-15s %-22s rank %d  top %-22s "
				    "conf %.2f  false %d  delay %3.0f s  named "
				    "%s%s\n", id, kind, culprit, r[n].rank,
				    top ? top : "-", r[n].conf, r[n].false_inc,
				    r[n].delay_s, named, r[n].detected ? "" :
				    "  (not detected)");
			else
				printf("  %-48s %-10s %-9s rank %d  top %-22s "
				    "conf %.2f  %s/%s%s\n", id, kind, layer,
				    r[n].rank, top ? top : "-", r[n].conf,
				    r[n].fkind, r[n].action, r[n].detected ?
				    "" : "  (not detected)");
			jv_free(rc0);
		}
		jv_free(rcs);
		jv_free(d);
		n++;
	}
	free(line);
	fclose(fp);
	if (n == 0) {
		printf("no cases\n");
		return 1;
	}
	for (i = 0; i < n; i++) {
		int k;

		for (k = 1; k <= 5; k++)
			if (r[i].rank >= 1 && r[i].rank <= k)
				ac[k]++;
		brier += (r[i].conf - r[i].correct) * (r[i].conf -
		    r[i].correct);
	}
	printf("\ncases %d (without a diagnosis: %d)\n", n, nodiag);
	printf("AC@1 %.3f  AC@3 %.3f  Avg@5 %.3f  (all cases; RCAEval's "
	    "AC@k and Avg@k)\n", (double)ac[1] / n, (double)ac[3] / n,
	    ((double)ac[1] + ac[2] + ac[3] + ac[4] + ac[5]) / (5.0 * n));
	{
		int dn = 0, dac[6] = { 0 }, k;

		for (i = 0; i < n; i++) {
			if (!r[i].detected)
				continue;
			dn++;
			for (k = 1; k <= 5; k++)
				if (r[i].rank >= 1 && r[i].rank <= k)
					dac[k]++;
		}
		if (dn > 0 && dn < n)
			printf("AC@1 %.3f  AC@3 %.3f  Avg@5 %.3f  (the %d cases "
			    "whose culprit the detector saw)\n",
			    (double)dac[1] / dn, (double)dac[3] / dn,
			    ((double)dac[1] + dac[2] + dac[3] + dac[4] +
			    dac[5]) / (5.0 * dn), dn);
	}
	if (real)
		real_summary(r, n);
	else {
		/* by fault kind and layer */
		const char *seen[64];
		int ns = 0, j;

		for (i = 0; i < n; i++) {
			for (j = 0; j < ns; j++)
				if (strcmp(seen[j], r[i].kind) == 0)
					break;
			if (j == ns && ns < 64)
				seen[ns++] = r[i].kind;
		}
		printf("by fault kind (AC@1):");
		for (j = 0; j < ns; j++) {
			int t = 0, c = 0;

			for (i = 0; i < n; i++)
				if (strcmp(r[i].kind, seen[j]) == 0) {
					t++;
					c += r[i].correct;
				}
			printf(" %s %d/%d", seen[j], c, t);
		}
		ns = 0;
		for (i = 0; i < n; i++) {
			for (j = 0; j < ns; j++)
				if (strcmp(seen[j], r[i].layer) == 0)
					break;
			if (j == ns && ns < 64)
				seen[ns++] = r[i].layer;
		}
		printf("\nby layer (AC@1):");
		for (j = 0; j < ns; j++) {
			int t = 0, c = 0;

			for (i = 0; i < n; i++)
				if (strcmp(r[i].layer, seen[j]) == 0) {
					t++;
					c += r[i].correct;
				}
			printf(" %s %d/%d", seen[j], c, t);
		}
		printf("\n");
	}
	printf("\ncalibration (confidence of the top root cause):\n");
	printf("  %-12s %6s %10s %10s\n", "confidence", "cases",
	    "mean conf", "accuracy");
	{
		double ece = 0;

		for (i = 0; i + 1 < (int)(sizeof(edges) / sizeof(edges[0]));
		    i++) {
			int t = 0, c = 0, k;
			double sc = 0;

			for (k = 0; k < n; k++)
				if (r[k].conf >= edges[i] &&
				    r[k].conf < edges[i + 1]) {
					t++;
					c += r[k].correct;
					sc += r[k].conf;
				}
			if (t == 0) {
				printf("  [%.2f,%.2f) %6d %10s %10s\n", edges[i],
				    edges[i + 1] > 1 ? 1.0 : edges[i + 1], 0,
				    "-", "-");
				continue;
			}
			ece += fabs(sc / t - (double)c / t) * t / n;
			printf("  [%.2f,%.2f) %6d %10.3f %10.3f\n", edges[i],
			    edges[i + 1] > 1 ? 1.0 : edges[i + 1], t, sc / t,
			    (double)c / t);
		}
		printf("  ECE %.3f  Brier %.3f\n", ece, brier / n);
	}
	if (nms > 0)
		printf("\ntime to diagnosis after the settle time (built-in "
		    "reasoner): mean %.2f ms, max %.2f ms over %d cases\n",
		    summs / nms, maxms, nms);
	if (dofit)
		fit(r, n);
	if (real)
		loko(r, n);
	free(r);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: rca-bench cases -f MS [-i ID] [-w S] [-b S]"
		    " < traces\n       rca-bench score [-f] LIST\n");
		return 64;
	}
	if (strcmp(argv[1], "cases") == 0)
		return cases(argc - 1, argv + 1);
	if (strcmp(argv[1], "score") == 0)
		return score(argc - 1, argv + 1);
	fprintf(stderr, "rca-bench: unknown mode %s\n", argv[1]);
	return 64;
}
