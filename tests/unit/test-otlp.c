/*
 * test-otlp: the line reader of lib/telemetry/otlp.h on tests/fixtures/otlp: the
 * upstream OTLP examples, then one edge case per fixture line (wrong
 * types, huge numbers, end before start, escapes, surrogates, invalid
 * UTF-8, keys out of order, truncation, garbage), plain points, journal
 * entries and other lines.  The callbacks copy what they get, walking the
 * attribute lists while the record is still borrowed.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otlp.h"
#include "tap.h"

#define MAXREC	16
#define STR	160

struct span_copy {
	char svc[STR], ver[STR], scope[STR], name[STR], tid[STR], sid[STR],
	    psid[STR], msg[STR], srv[STR], peer[STR], db[STR], route[STR],
	    method[STR], exc_type[STR], exc_msg[STR], err_type[STR],
	    attrs[STR];
	int kind, status, http;
	uint64_t start, end, dur;
	size_t n_events;
	unsigned quirks, rquirks;
};

struct point_copy {
	char svc[STR], metric[STR], unit[STR], attrs[STR];
	int type, temp, mono, scale, pos_off, neg_off;
	uint64_t t, st, count, zero;
	double v, sum, min, max;
	int64_t iv;
	unsigned has, quirks;
	size_t nb, nbounds, npos, nneg, nq;
	uint64_t buckets[8], pos[8], neg[8];
	double bounds[8], q[8], qv[8];
};

struct log_copy {
	char svc[STR], host[STR], body[600], sevtext[STR], tid[STR], sid[STR],
	    event[STR], unit[STR], ident[STR], attrs[STR];
	uint64_t t, obs;
	int sev, prio, btype;
	unsigned quirks;
};

static struct {
	struct sre_otlp *r;
	struct sre_otlp_result res;
	int rc;
	size_t ns, np, nl, nr;
	struct span_copy s[MAXREC];
	struct point_copy p[MAXREC];
	struct log_copy l[MAXREC];
	char rej[MAXREC][256];
	size_t rej_off[MAXREC];
	int stop_after;		/* stop after this many records (0: never) */
} T;

static void
cp(char *dst, struct sre_json_str s)
{
	size_t n = s.n < STR - 1 ? s.n : STR - 1;

	if (n > 0)	/* an empty slice may have p == NULL */
		memcpy(dst, s.p, n);
	dst[n] = '\0';
}

/* "k=v;k=v" through the attribute iterator, during the callback. */
static void
render_attrs(char *dst, size_t sz, struct sre_json_str attrs)
{
	struct sre_otlp_attr_iter it;
	struct sre_otlp_attr a;
	size_t off = 0;
	int rc, k;

	dst[0] = '\0';
	sre_otlp_attr_begin(&it, attrs);
	while ((rc = sre_otlp_attr_next(T.r, &it, &a)) > 0) {
		k = snprintf(dst + off, sz - off, "%s%.*s=%.*s", off ? ";" : "",
		    (int)a.key.n, a.key.p, (int)a.v.s.n, a.v.s.p);
		if (k < 0 || (size_t)k >= sz - off)
			break;
		off += (size_t)k;
	}
	if (rc < 0)
		snprintf(dst, sz, "ERROR");
}

static int
on_span(void *arg, const struct sre_otlp_span *s)
{
	struct span_copy *c;

	(void)arg;
	if (T.ns == MAXREC)
		return 0;
	c = &T.s[T.ns++];
	cp(c->svc, s->res->service);
	cp(c->ver, s->res->service_version);
	cp(c->scope, s->res->scope);
	cp(c->name, s->name);
	cp(c->tid, s->trace_id);
	cp(c->sid, s->span_id);
	cp(c->psid, s->parent_span_id);
	cp(c->msg, s->status_message);
	cp(c->srv, s->server_address);
	cp(c->peer, s->peer_service);
	cp(c->db, s->db_system);
	cp(c->route, s->http_route);
	cp(c->method, s->http_method);
	cp(c->exc_type, s->exception_type);
	cp(c->exc_msg, s->exception_message);
	cp(c->err_type, s->error_type);
	render_attrs(c->attrs, sizeof(c->attrs), s->attrs);
	c->kind = s->kind;
	c->status = s->status;
	c->http = s->http_status;
	c->start = s->start_ns;
	c->end = s->end_ns;
	c->dur = s->duration_ns;
	c->n_events = s->n_events;
	c->quirks = s->quirks;
	c->rquirks = s->res->quirks;
	return T.stop_after && T.ns + T.np + T.nl >= (size_t)T.stop_after ?
	    42 : 0;
}

static int
on_point(void *arg, const struct sre_otlp_point *p)
{
	struct point_copy *c;
	size_t i;

	(void)arg;
	if (T.np == MAXREC)
		return 0;
	c = &T.p[T.np++];
	cp(c->svc, p->res->service);
	cp(c->metric, p->metric);
	cp(c->unit, p->unit);
	render_attrs(c->attrs, sizeof(c->attrs), p->attrs);
	c->type = p->type;
	c->temp = p->temporality;
	c->mono = p->monotonic;
	c->t = p->time_ns;
	c->st = p->start_ns;
	c->v = p->value;
	c->iv = p->ivalue;
	c->count = p->count;
	c->sum = p->sum;
	c->min = p->min;
	c->max = p->max;
	c->has = p->has;
	c->quirks = p->quirks;
	c->scale = p->scale;
	c->zero = p->zero_count;
	c->pos_off = p->pos_offset;
	c->neg_off = p->neg_offset;
	c->nb = p->n_bucket_counts;
	c->nbounds = p->n_bounds;
	c->npos = p->n_pos;
	c->nneg = p->n_neg;
	c->nq = p->n_quantiles;
	for (i = 0; i < 8 && i < p->n_bucket_counts; i++)
		c->buckets[i] = p->bucket_counts[i];
	for (i = 0; i < 8 && i < p->n_bounds; i++)
		c->bounds[i] = p->bounds[i];
	for (i = 0; i < 8 && i < p->n_pos; i++)
		c->pos[i] = p->pos_counts[i];
	for (i = 0; i < 8 && i < p->n_neg; i++)
		c->neg[i] = p->neg_counts[i];
	for (i = 0; i < 8 && i < p->n_quantiles; i++) {
		c->q[i] = p->quantiles[i];
		c->qv[i] = p->quantile_values[i];
	}
	return 0;
}

static int
on_log(void *arg, const struct sre_otlp_log *l)
{
	struct log_copy *c;
	size_t n;

	(void)arg;
	if (T.nl == MAXREC)
		return 0;
	c = &T.l[T.nl++];
	cp(c->svc, l->res->service);
	cp(c->host, l->res->host);
	n = l->body.n < sizeof(c->body) - 1 ? l->body.n : sizeof(c->body) - 1;
	if (n > 0)
		memcpy(c->body, l->body.p, n);
	c->body[n] = '\0';
	cp(c->sevtext, l->severity_text);
	cp(c->tid, l->trace_id);
	cp(c->sid, l->span_id);
	cp(c->event, l->event_name);
	cp(c->unit, l->unit);
	cp(c->ident, l->identifier);
	render_attrs(c->attrs, sizeof(c->attrs), l->attrs);
	c->t = l->time_ns;
	c->obs = l->observed_ns;
	c->sev = l->severity;
	c->prio = l->priority;
	c->btype = l->body_type;
	c->quirks = l->quirks;
	return 0;
}

static int
on_reject(void *arg, const struct sre_otlp_reject *rj)
{
	(void)arg;
	if (T.nr < MAXREC) {
		snprintf(T.rej[T.nr], sizeof(T.rej[0]), "%s", rj->msg);
		T.rej_off[T.nr] = rj->off;
	}
	T.nr++;
	return 0;
}

static const struct sre_otlp_handler H = {
	on_span, on_point, on_log, on_reject, NULL
};

static char *
fixture(const char *name, size_t *len)
{
	const char *root = getenv("SRE_ROOT");
	char path[1024];
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof(path), "%s/tests/fixtures/otlp/%s",
	    root ? root : ".", name);
	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	buf[n] = '\0';
	*len = (size_t)n;
	return buf;
}

/* Read bytes as one line (an exact heap copy, for the sanitizers). */
static int
feed(const char *p, size_t n)
{
	char *copy = malloc(n ? n : 1);

	memcpy(copy, p, n);
	T.ns = T.np = T.nl = T.nr = 0;
	T.rc = sre_otlp_read(T.r, copy, n, &H, &T.res);
	free(copy);
	return T.rc;
}

/* Read line `lineno` (from 1) of a fixture; -100 if it is missing. */
static int
line(const char *name, int lineno)
{
	char *buf, *p, *nl;
	size_t len;
	int i, rc = -100;

	if ((buf = fixture(name, &len)) == NULL)
		return rc;
	for (p = buf, i = 1; p < buf + len; p = nl + 1, i++) {
		nl = memchr(p, '\n', (size_t)(buf + len - p));
		if (nl == NULL)
			nl = buf + len;
		if (i == lineno) {
			/* with its newline, as getline gives it */
			rc = feed(p, (size_t)(nl - p) + (nl < buf + len));
			break;
		}
	}
	free(buf);
	return rc;
}

#define EQ(a, b)	(strcmp((a), (b)) == 0)

static void
test_upstream(void)
{
	ok(line("trace.ndjson", 1) == SRE_OTLP_OK &&
	    T.res.format == SRE_OTLP_TRACES && T.res.records == 1 && T.ns == 1,
	    "upstream trace: one span");
	ok(EQ(T.s[0].svc, "my.service") && EQ(T.s[0].scope, "my.library") &&
	    EQ(T.s[0].name, "I'm a server span") && T.s[0].kind == 2,
	    "span: service, scope, name, kind");
	ok(EQ(T.s[0].tid, "5B8EFFF798038103D269B633813FC60C") &&
	    EQ(T.s[0].sid, "EEE19B7EC3C1B174") &&
	    EQ(T.s[0].psid, "EEE19B7EC3C1B173"), "span: ids");
	ok(T.s[0].start == 1544712660000000000ULL &&
	    T.s[0].end == 1544712661000000000ULL &&
	    T.s[0].dur == 1000000000ULL && T.s[0].quirks == 0,
	    "span: times exact, no quirks");
	ok(EQ(T.s[0].attrs, "my.span.attr=some value"), "span: attrs %s",
	    T.s[0].attrs);

	ok(line("metrics.ndjson", 1) == SRE_OTLP_OK &&
	    T.res.format == SRE_OTLP_METRICS && T.np == 4,
	    "upstream metrics: four points");
	ok(EQ(T.p[0].metric, "my.counter") && T.p[0].type == SRE_OTLP_SUM &&
	    T.p[0].temp == 1 && T.p[0].mono == 1 && T.p[0].v == 5 &&
	    (T.p[0].has & SRE_OTLP_HAS_VALUE) &&
	    !(T.p[0].has & SRE_OTLP_HAS_INT), "counter: sum, delta, 5");
	ok(EQ(T.p[1].metric, "my.gauge") && T.p[1].type == SRE_OTLP_GAUGE &&
	    T.p[1].v == 10 && T.p[1].t == 1544712660300000000ULL &&
	    EQ(T.p[1].attrs, "my.gauge.attr=some value"), "gauge 10");
	ok(T.p[2].type == SRE_OTLP_HISTOGRAM && T.p[2].count == 2 &&
	    T.p[2].sum == 2 && T.p[2].nb == 2 && T.p[2].buckets[0] == 1 &&
	    T.p[2].buckets[1] == 1 && T.p[2].nbounds == 1 &&
	    T.p[2].bounds[0] == 1 && T.p[2].max == 2 &&
	    (T.p[2].has & SRE_OTLP_HAS_MAX), "histogram buckets");
	ok(T.p[3].type == SRE_OTLP_EXP_HISTOGRAM && T.p[3].count == 3 &&
	    T.p[3].zero == 1 && T.p[3].pos_off == 1 && T.p[3].npos == 2 &&
	    T.p[3].pos[1] == 2, "exponential histogram buckets");

	ok(line("logs.ndjson", 1) == SRE_OTLP_OK &&
	    T.res.format == SRE_OTLP_LOGS && T.nl == 1, "upstream logs");
	ok(EQ(T.l[0].svc, "my.service") && EQ(T.l[0].body,
	    "Example log record") && T.l[0].btype == SRE_OTLP_V_STRING &&
	    T.l[0].sev == 10 && EQ(T.l[0].sevtext, "Information") &&
	    T.l[0].t == 1544712660300000000ULL && T.l[0].prio == -1 &&
	    EQ(T.l[0].sid, "EEE19B7EC3C1B174"), "log record fields");
	ok(strstr(T.l[0].attrs, "boolean.attribute=true;int.attribute=10;"
	    "double.attribute=637.704;array.attribute={\"values\"") != NULL,
	    "log attrs of every kind: %s", T.l[0].attrs);
}

static void
test_traces(void)
{
	ok(line("traces-edge.ndjson", 1) == SRE_OTLP_OK && T.ns == 2 &&
	    T.nr == 0, "wrong types with a reading: 2 spans, none rejected");
	ok(T.s[0].kind == SRE_OTLP_KIND_CLIENT && T.s[0].status == 2 &&
	    EQ(T.s[0].msg, "boom") && T.s[0].start == 1700000000000000000ULL &&
	    T.s[0].dur == 250000000 && T.s[0].http == 503 &&
	    EQ(T.s[0].srv, "users.svc") && EQ(T.s[0].peer, "users") &&
	    EQ(T.s[0].psid, "") && EQ(T.s[0].ver, "2.0"),
	    "enum names, numeric times, intValue as a number, null");
	ok(T.s[1].http == 404 && (T.s[1].quirks & SRE_OTLP_Q_CONVERTED) &&
	    EQ(T.s[1].db, "postgresql") && EQ(T.s[1].srv, "db1") &&
	    T.s[1].status == 0, "old semconv; status code as a string: "
	    "converted");

	ok(line("traces-edge.ndjson", 2) == SRE_OTLP_OK && T.ns == 3 &&
	    T.nr == 3 && T.res.records == 3 && T.res.rejected == 3,
	    "times: 3 delivered, 3 rejected");
	ok(EQ(T.s[0].name, "a") && T.s[0].dur == 0 &&
	    (T.s[0].quirks & SRE_OTLP_Q_END_BEFORE_START),
	    "end before start: duration 0, flagged");
	ok(EQ(T.s[1].name, "b") && T.s[1].end == 1000 &&
	    (T.s[1].quirks & SRE_OTLP_Q_NO_END), "no end: flagged");
	ok(EQ(T.s[2].name, "f") && T.s[2].start == 3000 &&
	    (T.s[2].quirks & SRE_OTLP_Q_NO_START), "no start: flagged");
	ok(EQ(T.rej[0], "resourceSpans[0].scopeSpans[0].spans[2]: "
	    "startTimeUnixNano: missing"), "no time: %s", T.rej[0]);
	ok(EQ(T.rej[1], "resourceSpans[0].scopeSpans[0].spans[3]: "
	    "startTimeUnixNano: not an unsigned 64-bit integer"),
	    "garbage time: %s", T.rej[1]);
	ok(EQ(T.rej[2], "resourceSpans[0].scopeSpans[0].spans[4]: "
	    "status.code: not a status code"), "bad status: %s", T.rej[2]);
	ok(EQ(T.res.msg, T.rej[0]), "result keeps the first rejection");

	ok(line("traces-edge.ndjson", 3) == SRE_OTLP_OK && T.ns == 2 &&
	    T.nr == 2, "huge numbers: 2 delivered, 2 rejected");
	ok(T.s[0].start == UINT64_MAX && T.s[0].end == UINT64_MAX &&
	    T.s[0].kind == 0 && T.s[0].http == 0 &&
	    (T.s[0].quirks & SRE_OTLP_Q_IGNORED), "UINT64_MAX times exact; "
	    "kind 1e400 and status 10^20 ignored");
	ok(strstr(T.rej[0], "spans[1]: startTimeUnixNano: not an unsigned") &&
	    strstr(T.rej[1], "spans[2]: startTimeUnixNano"),
	    "2^64 and -5 rejected");
	ok(EQ(T.s[1].name, "float") && T.s[1].start == 1500 &&
	    (T.s[1].quirks & SRE_OTLP_Q_CONVERTED), "1.5e3 read as 1500");

	ok(line("traces-edge.ndjson", 4) == SRE_OTLP_OK && T.ns == 2,
	    "escapes: 2 spans");
	ok(EQ(T.s[0].svc, "caf\xc3\xa9 \"q\" \\ \t/"),
	    "escaped service name decoded: %s", T.s[0].svc);
	ok(EQ(T.s[0].name, "smile \xf0\x9f\x98\x80"), "surrogate pair");
	ok(EQ(T.s[1].name, "lone \xef\xbf\xbdx"),
	    "escaped key; lone surrogate becomes U+FFFD");
	ok(EQ(T.s[1].route, "/a/b") && EQ(T.s[1].attrs, "http.route=/a/b"),
	    "escaped \"key\" member; \\/ in a value");

	ok(line("traces-edge.ndjson", 5) == SRE_OTLP_OK && T.ns == 1 &&
	    EQ(T.s[0].name, "bad \xef\xbf\xbd\xef\xbf\xbd utf8 \xc3\xa9") &&
	    (T.s[0].quirks & SRE_OTLP_Q_BAD_UTF8),
	    "invalid UTF-8 replaced, flagged");

	ok(line("traces-edge.ndjson", 6) == SRE_OTLP_OK && T.ns == 1 &&
	    EQ(T.s[0].svc, "late-svc") && EQ(T.s[0].scope, "") &&
	    T.s[0].http == 500 && T.s[0].dur == 10,
	    "resource after the spans, value before key, whitespace");

	ok(line("traces-edge.ndjson", 7) == SRE_OTLP_OK && T.ns == 1 &&
	    EQ(T.s[0].svc, "legacy") && EQ(T.s[0].scope, "old"),
	    "instrumentationLibrarySpans");

	ok(line("traces-edge.ndjson", 8) == SRE_OTLP_OK && T.ns == 0 &&
	    T.nr == 3, "wrong shapes: 3 rejections");
	ok(EQ(T.rej[0], "resourceSpans[0].scopeSpans[0]: spans: not an array")
	    && EQ(T.rej[1], "resourceSpans[0].scopeSpans[1].spans[0]: "
	    "not an object") && strstr(T.rej[2], "spans[2]: status: not an "
	    "object"), "list, element and field named");

	ok(line("traces-edge.ndjson", 9) == SRE_OTLP_OK && T.ns == 1 &&
	    EQ(T.s[0].exc_type, "TimeoutError") &&
	    EQ(T.s[0].exc_msg, "deadline exceeded") && T.s[0].n_events == 2 &&
	    EQ(T.s[0].err_type, "timeout") && T.s[0].status == 2,
	    "exception event wins over the span attribute");
}

static void
test_bad(void)
{
	static const char *const want[] = {
		"resourceSpans[0]: unterminated string at byte 90",
		("resourceSpans[0].scopeSpans[0].spans[1]: unterminated string "
		    "at byte 200"),
		"unexpected character at byte 0",
		"resourceSpans[0]: invalid escape in string at byte 92",
		"resourceSpans[0]: control character in string at byte 92",
		"nesting too deep at byte 260",
		"trailing characters after the value at byte 21",
		/* no resource: the spans were being skipped (deferred) */
		"resourceSpans[0]: invalid number at byte 63",
		"resourceSpans[0]: expected a string key at byte 55",
		"invalid literal at byte 5",
		"invalid \\u escape at byte 6",
		"unexpected end of input at byte 2",
	};
	struct sre_otlp *atomic;
	size_t i;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		ok(line("bad.ndjson", (int)i + 1) == SRE_OTLP_EJSON &&
		    T.res.format == SRE_OTLP_MALFORMED && EQ(T.res.msg, want[i]),
		    "bad line %zu: %s", i + 1, T.res.msg);
	ok(line("bad.ndjson", 2) == SRE_OTLP_EJSON && T.res.records == 1 &&
	    T.ns == 1 && EQ(T.s[0].name, "done") && T.res.err_off == 200,
	    "records before a syntax error are delivered and counted");
	atomic = sre_otlp_new(SRE_OTLP_ATOMIC);
	sre_otlp_free(T.r);
	T.r = atomic;
	ok(line("bad.ndjson", 2) == SRE_OTLP_EJSON && T.res.records == 0 &&
	    T.ns == 0 && strstr(T.res.msg, "unterminated string at byte 200"),
	    "ATOMIC: none delivered: %s", T.res.msg);
	ok(line("trace.ndjson", 1) == SRE_OTLP_OK && T.ns == 1,
	    "ATOMIC: a good line is read");
	sre_otlp_free(T.r);
	T.r = sre_otlp_new(0);
}

static void
test_metrics(void)
{
	ok(line("metrics-edge.ndjson", 1) == SRE_OTLP_OK && T.np == 2,
	    "sum before its temporality: 2 points");
	ok(T.p[0].temp == 2 && T.p[0].mono == 1 && T.p[0].iv == 42 &&
	    (T.p[0].has & SRE_OTLP_HAS_INT) && T.p[0].st == 1690000000000000000ULL
	    && (T.p[0].has & SRE_OTLP_HAS_START) && EQ(T.p[0].attrs,
	    "route=/a") && EQ(T.p[0].svc, "m1"),
	    "temporality by name, asInt as a number");
	ok(T.p[1].iv == -7 && T.p[1].v == -7 && T.p[1].temp == 2,
	    "asInt as a string, negative");

	ok(line("metrics-edge.ndjson", 2) == SRE_OTLP_OK && T.np == 2 &&
	    T.nr == 0, "histograms: 2 points");
	ok(T.p[0].count == 6 && T.p[0].sum == 31.5 && T.p[0].min == 1 &&
	    T.p[0].max == 20 && T.p[0].nb == 3 && T.p[0].buckets[1] == 2 &&
	    T.p[0].nbounds == 2 && T.p[0].bounds[1] == 10,
	    "counts as numbers and strings");
	ok(T.p[1].nb == 0 && T.p[1].nbounds == 0 && T.p[1].count == 3 &&
	    (T.p[1].quirks & SRE_OTLP_Q_IGNORED),
	    "buckets that do not fit the bounds dropped");

	ok(line("metrics-edge.ndjson", 3) == SRE_OTLP_OK && T.np == 1 &&
	    T.nr == 1 && EQ(T.p[0].metric, "late.name") && T.p[0].v == 1.5,
	    "name after the data");
	ok(EQ(T.rej[0], "resourceMetrics[0].scopeMetrics[0].metrics[1]: name:"
	    " missing"), "%s", T.rej[0]);

	ok(line("metrics-edge.ndjson", 4) == SRE_OTLP_OK && T.np == 3 &&
	    T.nr == 3, "values: 3 points, 3 rejected");
	ok(isnan(T.p[0].v) && (T.p[0].has & SRE_OTLP_HAS_VALUE),
	    "\"NaN\" read");
	ok(!(T.p[1].has & SRE_OTLP_HAS_VALUE), "no recorded value flag");
	ok(T.p[2].t == 9 && T.p[2].v == 4 &&
	    (T.p[2].quirks & SRE_OTLP_Q_NO_TIME), "start time used, flagged");
	ok(strstr(T.rej[0], "gauge.dataPoints[1]: asDouble: not a number") &&
	    strstr(T.rej[1], "dataPoints[2]: asDouble: missing") &&
	    strstr(T.rej[2], "dataPoints[4]: timeUnixNano: missing"),
	    "rejections name the field");

	ok(line("metrics-edge.ndjson", 5) == SRE_OTLP_OK && T.np == 2,
	    "summary and exponential histogram");
	ok(T.p[0].type == SRE_OTLP_SUMMARY && T.p[0].count == 5 &&
	    T.p[0].nq == 2 && T.p[0].q[1] == 0.99 && T.p[0].qv[1] == 5,
	    "quantiles");
	ok(T.p[1].scale == 3 && T.p[1].neg_off == -1 && T.p[1].nneg == 2 &&
	    T.p[1].npos == 3 && T.p[1].pos[0] == 3 && T.p[1].temp == 1,
	    "exponential buckets");
}

static void
test_logs(void)
{
	ok(line("logs-edge.ndjson", 1) == SRE_OTLP_OK && T.nl == 1 &&
	    T.l[0].sev == 13 && T.l[0].t == 1700000000000000001ULL &&
	    T.l[0].btype == SRE_OTLP_V_KVLIST &&
	    strncmp(T.l[0].body, "{\"values\":[{\"key\":\"k\"", 20) == 0 &&
	    EQ(T.l[0].sid, "b7ad6b7169203331"),
	    "severity by name, observed time, kvlist body");
	ok(line("logs-edge.ndjson", 2) == SRE_OTLP_OK && T.nl == 2 &&
	    T.nr == 1, "2 records, 1 rejected");
	ok(T.l[0].t == 18446744073709551000ULL && T.l[0].sev == 17 &&
	    EQ(T.l[0].body, "42") && T.l[0].btype == SRE_OTLP_V_INT,
	    "timestamp past INT64_MAX, int body");
	ok(EQ(T.l[1].body, "timeless") && T.l[1].sev == 0 &&
	    (T.l[1].quirks & SRE_OTLP_Q_NO_TIME) &&
	    (T.l[1].quirks & SRE_OTLP_Q_IGNORED), "no time; severity 99");
	ok(strstr(T.rej[0], "logRecords[1]: timeUnixNano"), "%s", T.rej[0]);
}

static void
test_flat(void)
{
	ok(line("points.ndjson", 1) == SRE_OTLP_OK &&
	    T.res.format == SRE_OTLP_POINT && T.np == 1 &&
	    EQ(T.p[0].metric, "cpu") && T.p[0].v == 0.5 &&
	    T.p[0].t == 1700000000000000000ULL &&
	    EQ(T.p[0].attrs, "host=a;core=1") && EQ(T.p[0].svc, ""),
	    "plain point");
	ok(line("points.ndjson", 2) == SRE_OTLP_OK && T.np == 1 &&
	    T.p[0].v == 42 && (T.p[0].quirks & SRE_OTLP_Q_CONVERTED) &&
	    T.p[0].t == 1700000000001000000ULL, "strings for numbers");
	ok(line("points.ndjson", 3) == SRE_OTLP_OK && T.np == 0 &&
	    T.nr == 1 && EQ(T.rej[0], "value: not a number"), "%s", T.rej[0]);
	ok(line("points.ndjson", 4) == SRE_OTLP_OK && T.np == 1 &&
	    (T.p[0].quirks & SRE_OTLP_Q_NO_TIME), "no ts_ms");
	ok(line("points.ndjson", 5) == SRE_OTLP_OK &&
	    T.res.format == SRE_OTLP_UNKNOWN && T.np == 0,
	    "an event line is not a point");
	ok(line("points.ndjson", 6) == SRE_OTLP_OK && T.nr == 1,
	    "ts_ms out of range: %s", T.rej[0]);
	ok(line("points.ndjson", 7) == SRE_OTLP_OK && EQ(T.p[0].attrs, "a=b"),
	    "OTLP attributes as labels");

	ok(line("journal.ndjson", 1) == SRE_OTLP_OK &&
	    T.res.format == SRE_OTLP_JOURNAL && T.nl == 1, "journal entry");
	ok(EQ(T.l[0].svc, "nginx") && EQ(T.l[0].unit, "nginx.service") &&
	    EQ(T.l[0].ident, "nginx") && EQ(T.l[0].host, "web1") &&
	    T.l[0].prio == 3 && T.l[0].sev == 17 && EQ(T.l[0].sevtext, "err") &&
	    T.l[0].t == 1700000000123456000ULL &&
	    EQ(T.l[0].body, "upstream timed out"), "journal fields");
	ok(line("journal.ndjson", 2) == SRE_OTLP_OK && T.nl == 1 &&
	    EQ(T.l[0].body, "hi\xef\xbf\xbd") && EQ(T.l[0].svc, "app") &&
	    (T.l[0].quirks & SRE_OTLP_Q_BAD_UTF8), "binary MESSAGE");
	ok(line("journal.ndjson", 3) == SRE_OTLP_OK && T.nl == 1 &&
	    EQ(T.l[0].body, "") && (T.l[0].quirks & SRE_OTLP_Q_TRUNCATED) &&
	    EQ(T.l[0].svc, "kernel"), "MESSAGE withheld (null)");
	ok(line("journal.ndjson", 4) == SRE_OTLP_OK && T.nl == 1 &&
	    EQ(T.l[0].body, "first") && EQ(T.l[0].svc, "cron") &&
	    T.l[0].prio == -1, "repeated field: the first value");
	ok(line("journal.ndjson", 5) == SRE_OTLP_OK && T.nr == 1 &&
	    EQ(T.rej[0], "MESSAGE: not a string or byte array"), "%s",
	    T.rej[0]);
	ok(line("journal.ndjson", 6) == SRE_OTLP_OK && T.nr == 1 &&
	    strstr(T.rej[0], "__REALTIME_TIMESTAMP"), "%s", T.rej[0]);

	ok(line("other.ndjson", 1) == SRE_OTLP_OK &&
	    T.res.format == SRE_OTLP_UNKNOWN, "event line: unknown");
	ok(line("other.ndjson", 2) == SRE_OTLP_OK &&
	    T.res.format == SRE_OTLP_EMPTY && line("other.ndjson", 3) ==
	    SRE_OTLP_OK && T.res.format == SRE_OTLP_EMPTY, "blank lines");
	ok(line("other.ndjson", 4) == SRE_OTLP_OK &&
	    T.res.format == SRE_OTLP_UNKNOWN && line("other.ndjson", 5) ==
	    SRE_OTLP_OK && T.res.format == SRE_OTLP_UNKNOWN &&
	    line("other.ndjson", 6) == SRE_OTLP_OK &&
	    T.res.format == SRE_OTLP_UNKNOWN, "array, string, {}: unknown");
	ok(line("other.ndjson", 7) == SRE_OTLP_OK &&
	    T.res.format == SRE_OTLP_TRACES && T.res.records == 0 &&
	    line("other.ndjson", 8) == SRE_OTLP_OK &&
	    T.res.format == SRE_OTLP_TRACES, "empty and null requests");
}

static void
test_api(void)
{
	struct sre_otlp_value v;
	struct sre_json_str attrs, id;
	uint8_t b[16];
	char *big, *p;
	size_t i, n, cap;

	/* a callback stops the line */
	T.stop_after = 1;
	ok(line("traces-edge.ndjson", 1) == SRE_OTLP_STOP && T.ns == 1 &&
	    T.res.stop == 42, "callback stop");
	T.stop_after = 0;

	/* NULL callbacks: read and counted, not delivered */
	{
		struct sre_otlp_handler none;
		struct sre_otlp_result res;
		static const char l[] = "{\"resourceSpans\":[{\"scopeSpans\":"
		    "[{\"spans\":[{\"startTimeUnixNano\":\"1\"},{\"x\":1}]}]}]}";

		memset(&none, 0, sizeof(none));
		ok(sre_otlp_read(T.r, l, sizeof(l) - 1, &none, &res) ==
		    SRE_OTLP_OK && res.records == 1 && res.rejected == 1,
		    "NULL callbacks");
	}

	/* problems of the resource itself reach the records */
	{
		static const char l[] = "{\"resourceSpans\":[{\"resource\":"
		    "{\"attributes\":\"x\"},\"scopeSpans\":[{\"scope\":7,"
		    "\"spans\":[{\"startTimeUnixNano\":\"1\"}]}]}]}";

		ok(feed(l, sizeof(l) - 1) == SRE_OTLP_OK && T.ns == 1 &&
		    (T.s[0].rquirks & SRE_OTLP_Q_IGNORED) &&
		    !(T.s[0].quirks & SRE_OTLP_Q_IGNORED),
		    "resource quirks");
	}

	/* attr_find, outside the iterator */
	attrs.p = "[{\"key\":\"a\",\"value\":{\"intValue\":\"7\"}},"
	    "{\"key\":\"b\",\"value\":{\"boolValue\":true}}]";
	attrs.n = strlen(attrs.p);
	ok(sre_otlp_attr_find(T.r, attrs, "b", &v) == 1 &&
	    v.type == SRE_OTLP_V_BOOL && v.i == 1 &&
	    sre_otlp_attr_find(T.r, attrs, "a", &v) == 1 && v.i == 7 &&
	    sre_otlp_attr_find(T.r, attrs, "c", &v) == 0, "attr_find");
	attrs.p = "{\"x\":\"\\u00e9\",\"y\":2.5,\"z\":null}";
	attrs.n = strlen(attrs.p);
	ok(sre_otlp_attr_find(T.r, attrs, "x", &v) == 1 &&
	    v.s.n == 2 && memcmp(v.s.p, "\xc3\xa9", 2) == 0 &&
	    sre_otlp_attr_find(T.r, attrs, "y", &v) == 1 &&
	    v.type == SRE_OTLP_V_DOUBLE && v.d == 2.5 &&
	    sre_otlp_attr_find(T.r, attrs, "z", &v) == 1 &&
	    v.type == SRE_OTLP_V_NONE, "labels object");
	attrs.p = "42";
	attrs.n = 2;
	ok(sre_otlp_attr_find(T.r, attrs, "x", &v) == -1, "not a list: -1");

	/* ids */
	id.p = "5B8EFFF798038103D269B633813FC60C";
	id.n = 32;
	ok(sre_otlp_id_bytes(id, b, sizeof(b)) == 16 && b[0] == 0x5b &&
	    b[15] == 0x0c, "trace id bytes");
	id.n = 31;
	ok(sre_otlp_id_bytes(id, b, sizeof(b)) == -1, "odd length");
	id.p = "zz";
	id.n = 2;
	ok(sre_otlp_id_bytes(id, b, sizeof(b)) == -1, "not hex");
	ok(EQ(sre_otlp_format_name(SRE_OTLP_JOURNAL), "journal"),
	    "format names");

	/* a line with many escaped strings: the scratch arena grows past a
	   block, earlier slices stay valid */
	n = 4000;
	cap = 200 + n * 120;
	big = malloc(cap);
	p = big;
	p += snprintf(p, cap, "{\"resourceSpans\":[{\"resource\":{\"attributes"
	    "\":[{\"key\":\"service.name\",\"value\":{\"stringValue\":\"s\\u00e9"
	    "\"}}]},\"scopeSpans\":[{\"spans\":[");
	for (i = 0; i < n; i++)
		p += snprintf(p, cap - (size_t)(p - big), "%s{\"name\":\"op\\t%zu "
		    "\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\","
		    "\"startTimeUnixNano\":\"1\"}", i ? "," : "", i);
	p += snprintf(p, cap - (size_t)(p - big), "]}]}]}");
	ok(feed(big, (size_t)(p - big)) == SRE_OTLP_OK &&
	    T.res.records == n && EQ(T.s[0].name, "op\t0 \xc3\xa9\xc3\xa9"
	    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9") &&
	    EQ(T.s[0].svc, "s\xc3\xa9"), "4000 escaped spans in one line");
	free(big);
}

int
main(void)
{
	T.r = sre_otlp_new(0);
	ok(T.r != NULL, "reader");
	ok(line("trace.ndjson", 1) != -100, "fixtures found (SRE_ROOT=%s)",
	    getenv("SRE_ROOT") ? getenv("SRE_ROOT") : ".");
	test_upstream();
	test_traces();
	test_bad();
	test_metrics();
	test_logs();
	test_flat();
	test_api();
	sre_otlp_free(T.r);
	return tap_done();
}
