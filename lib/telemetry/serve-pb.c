/*
 * serve-pb.c: OTLP and remote-write protobuf to the lines SRE-Space reads
 * (see serve-pb.h).  Decoding is protobuf-c's, from proto/otlp.proto.
 */
#include <math.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <protobuf-c/protobuf-c.h>
#include <snappy-c.h>

#include "otlp.pb-c.h"
#include "sbuf.h"
#include "serve-pb.h"

#define PB_MAX_DEPTH 64		/* nested messages we accept */

/* ---- protojson pieces ----------------------------------------------- */

/* A double as protojson writes it: non-finite values as strings. */
static void
pj_double(struct sre_sbuf *b, double d)
{
	if (isnan(d))
		sre_sbuf_adds(b, "\"NaN\"");
	else if (isinf(d))
		sre_sbuf_adds(b, d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
	else
		sre_sbuf_jnum(b, d);
}

static void
key(struct sre_sbuf *b, int *first, const char *k)
{
	size_t n = strlen(k);

	if (sre_sbuf_reserve(b, n + 4) < 0)
		return;
	if (!*first)
		b->p[b->n++] = ',';
	*first = 0;
	b->p[b->n++] = '"';
	memcpy(b->p + b->n, k, n);
	b->n += n;
	b->p[b->n++] = '"';
	b->p[b->n++] = ':';
	b->p[b->n] = '\0';
}

/* v in decimal, quoted if q: printf costs more than the rest together. */
static void
dec(struct sre_sbuf *b, uint64_t v, int neg, int q)
{
	char buf[24];
	size_t i = sizeof(buf);

	if (q)
		buf[--i] = '"';
	do
		buf[--i] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	if (neg)
		buf[--i] = '-';
	if (q)
		buf[--i] = '"';
	sre_sbuf_add(b, buf + i, sizeof(buf) - i);
}

static void
sdec(struct sre_sbuf *b, int64_t v, int q)
{
	dec(b, v < 0 ? 0 - (uint64_t)v : (uint64_t)v, v < 0, q);
}

static void
kstr(struct sre_sbuf *b, int *first, const char *k, const char *s)
{
	if (s == NULL || *s == '\0')
		return;
	key(b, first, k);
	sre_sbuf_jstr(b, s, strlen(s));
}

static void
ku64(struct sre_sbuf *b, int *first, const char *k, uint64_t v)
{
	if (v == 0)
		return;
	key(b, first, k);
	dec(b, v, 0, 1);
}

static void
kint(struct sre_sbuf *b, int *first, const char *k, long long v)
{
	if (v == 0)
		return;
	key(b, first, k);
	sdec(b, v, 0);
}

static void
khex(struct sre_sbuf *b, int *first, const char *k, ProtobufCBinaryData d)
{
	static const char hex[] = "0123456789abcdef";
	char buf[2 * 64];
	size_t i;

	if (d.len == 0)
		return;
	key(b, first, k);
	sre_sbuf_add(b, "\"", 1);
	for (i = 0; i < d.len; i++) {
		buf[2 * (i % 64)] = hex[d.data[i] >> 4];
		buf[2 * (i % 64) + 1] = hex[d.data[i] & 15];
		if (i % 64 == 63 || i + 1 == d.len)
			sre_sbuf_add(b, buf, 2 * (i % 64 + 1));
	}
	sre_sbuf_add(b, "\"", 1);
}

static void
base64(struct sre_sbuf *b, const uint8_t *p, size_t n)
{
	static const char t[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char o[4];
	size_t i;
	unsigned v;

	sre_sbuf_add(b, "\"", 1);
	for (i = 0; i + 2 < n; i += 3) {
		v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
		o[0] = t[v >> 18];
		o[1] = t[v >> 12 & 63];
		o[2] = t[v >> 6 & 63];
		o[3] = t[v & 63];
		sre_sbuf_add(b, o, 4);
	}
	if (i < n) {
		v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0);
		o[0] = t[v >> 18];
		o[1] = t[v >> 12 & 63];
		o[2] = i + 1 < n ? t[v >> 6 & 63] : '=';
		o[3] = '=';
		sre_sbuf_add(b, o, 4);
	}
	sre_sbuf_add(b, "\"", 1);
}

static void anyvalue(struct sre_sbuf *b, const Sre__Otlp__AnyValue *v);

static void
kvlist(struct sre_sbuf *b, Sre__Otlp__KeyValue *const *kv, size_t n)
{
	size_t i;

	sre_sbuf_add(b, "[", 1);
	for (i = 0; i < n; i++) {
		if (i > 0)
			sre_sbuf_add(b, ",", 1);
		sre_sbuf_adds(b, "{\"key\":");
		sre_sbuf_jstr(b, kv[i]->key ? kv[i]->key : "",
		    kv[i]->key ? strlen(kv[i]->key) : 0);
		sre_sbuf_adds(b, ",\"value\":");
		anyvalue(b, kv[i]->value);
		sre_sbuf_add(b, "}", 1);
	}
	sre_sbuf_add(b, "]", 1);
}

static void
kattrs(struct sre_sbuf *b, int *first, Sre__Otlp__KeyValue *const *kv,
    size_t n)
{
	if (n == 0)
		return;
	key(b, first, "attributes");
	kvlist(b, kv, n);
}

static void
anyvalue(struct sre_sbuf *b, const Sre__Otlp__AnyValue *v)
{
	size_t i;

	if (v == NULL) {
		sre_sbuf_adds(b, "{}");
		return;
	}
	switch (v->value_case) {
	case SRE__OTLP__ANY_VALUE__VALUE_STRING_VALUE:
		sre_sbuf_adds(b, "{\"stringValue\":");
		sre_sbuf_jstr(b, v->string_value, strlen(v->string_value));
		sre_sbuf_add(b, "}", 1);
		break;
	case SRE__OTLP__ANY_VALUE__VALUE_BOOL_VALUE:
		sre_sbuf_adds(b, v->bool_value ? "{\"boolValue\":true}" :
		    "{\"boolValue\":false}");
		break;
	case SRE__OTLP__ANY_VALUE__VALUE_INT_VALUE:
		sre_sbuf_adds(b, "{\"intValue\":");
		sdec(b, v->int_value, 1);
		sre_sbuf_add(b, "}", 1);
		break;
	case SRE__OTLP__ANY_VALUE__VALUE_DOUBLE_VALUE:
		sre_sbuf_adds(b, "{\"doubleValue\":");
		pj_double(b, v->double_value);
		sre_sbuf_add(b, "}", 1);
		break;
	case SRE__OTLP__ANY_VALUE__VALUE_ARRAY_VALUE:
		sre_sbuf_adds(b, "{\"arrayValue\":{\"values\":[");
		for (i = 0; v->array_value && i < v->array_value->n_values;
		    i++) {
			if (i > 0)
				sre_sbuf_add(b, ",", 1);
			anyvalue(b, v->array_value->values[i]);
		}
		sre_sbuf_adds(b, "]}}");
		break;
	case SRE__OTLP__ANY_VALUE__VALUE_KVLIST_VALUE:
		sre_sbuf_adds(b, "{\"kvlistValue\":{\"values\":");
		if (v->kvlist_value)
			kvlist(b, v->kvlist_value->values,
			    v->kvlist_value->n_values);
		else
			sre_sbuf_adds(b, "[]");
		sre_sbuf_adds(b, "}}");
		break;
	case SRE__OTLP__ANY_VALUE__VALUE_BYTES_VALUE:
		sre_sbuf_adds(b, "{\"bytesValue\":");
		base64(b, v->bytes_value.data, v->bytes_value.len);
		sre_sbuf_add(b, "}", 1);
		break;
	default:
		sre_sbuf_adds(b, "{}");
	}
}

/* "resource":{...} and "scope":{...}, with the key before each. */
static void
resource(struct sre_sbuf *b, int *first, const Sre__Otlp__Resource *r)
{
	int f = 1;

	if (r == NULL)
		return;
	key(b, first, "resource");
	sre_sbuf_add(b, "{", 1);
	kattrs(b, &f, r->attributes, r->n_attributes);
	kint(b, &f, "droppedAttributesCount", r->dropped_attributes_count);
	sre_sbuf_add(b, "}", 1);
}

static void
scope(struct sre_sbuf *b, int *first, const Sre__Otlp__InstrumentationScope *s)
{
	int f = 1;

	if (s == NULL)
		return;
	key(b, first, "scope");
	sre_sbuf_add(b, "{", 1);
	kstr(b, &f, "name", s->name);
	kstr(b, &f, "version", s->version);
	kattrs(b, &f, s->attributes, s->n_attributes);
	kint(b, &f, "droppedAttributesCount", s->dropped_attributes_count);
	sre_sbuf_add(b, "}", 1);
}

/* ---- traces --------------------------------------------------------- */

static void
span(struct sre_sbuf *b, const Sre__Otlp__Span *s)
{
	int f = 1, g;
	size_t i;

	sre_sbuf_add(b, "{", 1);
	khex(b, &f, "traceId", s->trace_id);
	khex(b, &f, "spanId", s->span_id);
	kstr(b, &f, "traceState", s->trace_state);
	khex(b, &f, "parentSpanId", s->parent_span_id);
	kint(b, &f, "flags", s->flags);
	kstr(b, &f, "name", s->name);
	kint(b, &f, "kind", s->kind);
	ku64(b, &f, "startTimeUnixNano", s->start_time_unix_nano);
	ku64(b, &f, "endTimeUnixNano", s->end_time_unix_nano);
	kattrs(b, &f, s->attributes, s->n_attributes);
	kint(b, &f, "droppedAttributesCount", s->dropped_attributes_count);
	if (s->n_events > 0) {
		key(b, &f, "events");
		sre_sbuf_add(b, "[", 1);
		for (i = 0; i < s->n_events; i++) {
			const Sre__Otlp__Span__Event *e = s->events[i];

			sre_sbuf_adds(b, i > 0 ? ",{" : "{");
			g = 1;
			ku64(b, &g, "timeUnixNano", e->time_unix_nano);
			kstr(b, &g, "name", e->name);
			kattrs(b, &g, e->attributes, e->n_attributes);
			kint(b, &g, "droppedAttributesCount",
			    e->dropped_attributes_count);
			sre_sbuf_add(b, "}", 1);
		}
		sre_sbuf_add(b, "]", 1);
	}
	kint(b, &f, "droppedEventsCount", s->dropped_events_count);
	if (s->n_links > 0) {
		key(b, &f, "links");
		sre_sbuf_add(b, "[", 1);
		for (i = 0; i < s->n_links; i++) {
			const Sre__Otlp__Span__Link *l = s->links[i];

			sre_sbuf_adds(b, i > 0 ? ",{" : "{");
			g = 1;
			khex(b, &g, "traceId", l->trace_id);
			khex(b, &g, "spanId", l->span_id);
			kstr(b, &g, "traceState", l->trace_state);
			kattrs(b, &g, l->attributes, l->n_attributes);
			kint(b, &g, "droppedAttributesCount",
			    l->dropped_attributes_count);
			kint(b, &g, "flags", l->flags);
			sre_sbuf_add(b, "}", 1);
		}
		sre_sbuf_add(b, "]", 1);
	}
	kint(b, &f, "droppedLinksCount", s->dropped_links_count);
	key(b, &f, "status");
	sre_sbuf_add(b, "{", 1);
	g = 1;
	if (s->status != NULL) {
		kstr(b, &g, "message", s->status->message);
		kint(b, &g, "code", s->status->code);
	}
	sre_sbuf_add(b, "}", 1);
	sre_sbuf_add(b, "}", 1);
}

static size_t
traces(struct sre_sbuf *b, const Sre__Otlp__ExportTraceServiceRequest *rq)
{
	size_t i, j, k, n = 0;
	int f;

	sre_sbuf_adds(b, "{\"resourceSpans\":[");
	for (i = 0; i < rq->n_resource_spans; i++) {
		const Sre__Otlp__ResourceSpans *rs = rq->resource_spans[i];

		sre_sbuf_adds(b, i > 0 ? ",{" : "{");
		f = 1;
		resource(b, &f, rs->resource);
		key(b, &f, "scopeSpans");
		sre_sbuf_add(b, "[", 1);
		for (j = 0; j < rs->n_scope_spans; j++) {
			const Sre__Otlp__ScopeSpans *ss = rs->scope_spans[j];
			int g = 1;

			sre_sbuf_adds(b, j > 0 ? ",{" : "{");
			scope(b, &g, ss->scope);
			key(b, &g, "spans");
			sre_sbuf_add(b, "[", 1);
			for (k = 0; k < ss->n_spans; k++) {
				if (k > 0)
					sre_sbuf_add(b, ",", 1);
				span(b, ss->spans[k]);
			}
			sre_sbuf_add(b, "]", 1);
			n += ss->n_spans;
			kstr(b, &g, "schemaUrl", ss->schema_url);
			sre_sbuf_add(b, "}", 1);
		}
		sre_sbuf_add(b, "]", 1);
		kstr(b, &f, "schemaUrl", rs->schema_url);
		sre_sbuf_add(b, "}", 1);
	}
	sre_sbuf_adds(b, "]}");
	return n;
}

/* ---- metrics -------------------------------------------------------- */

static void
point_head(struct sre_sbuf *b, int *f, Sre__Otlp__KeyValue *const *kv,
    size_t n, uint64_t start, uint64_t time)
{
	kattrs(b, f, kv, n);
	ku64(b, f, "startTimeUnixNano", start);
	ku64(b, f, "timeUnixNano", time);
}

static void
kdouble(struct sre_sbuf *b, int *f, const char *k, double d)
{
	key(b, f, k);
	pj_double(b, d);
}

static void
u64_array(struct sre_sbuf *b, int *f, const char *k, const uint64_t *v,
    size_t n)
{
	size_t i;

	if (n == 0)
		return;
	key(b, f, k);
	sre_sbuf_add(b, "[", 1);
	for (i = 0; i < n; i++) {
		if (i > 0)
			sre_sbuf_add(b, ",", 1);
		dec(b, v[i], 0, 1);
	}
	sre_sbuf_add(b, "]", 1);
}

static size_t
number_points(struct sre_sbuf *b, Sre__Otlp__NumberDataPoint *const *p,
    size_t n)
{
	size_t i;
	int f;

	sre_sbuf_adds(b, "\"dataPoints\":[");
	for (i = 0; i < n; i++) {
		sre_sbuf_adds(b, i > 0 ? ",{" : "{");
		f = 1;
		point_head(b, &f, p[i]->attributes, p[i]->n_attributes,
		    p[i]->start_time_unix_nano, p[i]->time_unix_nano);
		if (p[i]->value_case ==
		    SRE__OTLP__NUMBER_DATA_POINT__VALUE_AS_DOUBLE)
			kdouble(b, &f, "asDouble", p[i]->as_double);
		else if (p[i]->value_case ==
		    SRE__OTLP__NUMBER_DATA_POINT__VALUE_AS_INT) {
			key(b, &f, "asInt");
			sdec(b, p[i]->as_int, 1);
		}
		kint(b, &f, "flags", p[i]->flags);
		sre_sbuf_add(b, "}", 1);
	}
	sre_sbuf_add(b, "]", 1);
	return n;
}

static size_t
histogram_points(struct sre_sbuf *b,
    Sre__Otlp__HistogramDataPoint *const *p, size_t n)
{
	size_t i, j;
	int f;

	sre_sbuf_adds(b, "\"dataPoints\":[");
	for (i = 0; i < n; i++) {
		const Sre__Otlp__HistogramDataPoint *d = p[i];

		sre_sbuf_adds(b, i > 0 ? ",{" : "{");
		f = 1;
		point_head(b, &f, d->attributes, d->n_attributes,
		    d->start_time_unix_nano, d->time_unix_nano);
		ku64(b, &f, "count", d->count);
		if (d->has_sum_case ==
		    SRE__OTLP__HISTOGRAM_DATA_POINT__HAS_SUM_SUM)
			kdouble(b, &f, "sum", d->sum);
		u64_array(b, &f, "bucketCounts", d->bucket_counts,
		    d->n_bucket_counts);
		if (d->n_explicit_bounds > 0) {
			key(b, &f, "explicitBounds");
			sre_sbuf_add(b, "[", 1);
			for (j = 0; j < d->n_explicit_bounds; j++) {
				if (j > 0)
					sre_sbuf_add(b, ",", 1);
				pj_double(b, d->explicit_bounds[j]);
			}
			sre_sbuf_add(b, "]", 1);
		}
		kint(b, &f, "flags", d->flags);
		if (d->has_min_case ==
		    SRE__OTLP__HISTOGRAM_DATA_POINT__HAS_MIN_MIN)
			kdouble(b, &f, "min", d->min);
		if (d->has_max_case ==
		    SRE__OTLP__HISTOGRAM_DATA_POINT__HAS_MAX_MAX)
			kdouble(b, &f, "max", d->max);
		sre_sbuf_add(b, "}", 1);
	}
	sre_sbuf_add(b, "]", 1);
	return n;
}

static void
buckets(struct sre_sbuf *b, int *f, const char *k,
    const Sre__Otlp__ExponentialHistogramDataPoint__Buckets *bk)
{
	int g = 1;

	if (bk == NULL)
		return;
	key(b, f, k);
	sre_sbuf_add(b, "{", 1);
	kint(b, &g, "offset", bk->offset);
	u64_array(b, &g, "bucketCounts", bk->bucket_counts,
	    bk->n_bucket_counts);
	sre_sbuf_add(b, "}", 1);
}

static size_t
exp_points(struct sre_sbuf *b,
    Sre__Otlp__ExponentialHistogramDataPoint *const *p, size_t n)
{
	size_t i;
	int f;

	sre_sbuf_adds(b, "\"dataPoints\":[");
	for (i = 0; i < n; i++) {
		const Sre__Otlp__ExponentialHistogramDataPoint *d = p[i];

		sre_sbuf_adds(b, i > 0 ? ",{" : "{");
		f = 1;
		point_head(b, &f, d->attributes, d->n_attributes,
		    d->start_time_unix_nano, d->time_unix_nano);
		ku64(b, &f, "count", d->count);
		if (d->has_sum_case ==
		    SRE__OTLP__EXPONENTIAL_HISTOGRAM_DATA_POINT__HAS_SUM_SUM)
			kdouble(b, &f, "sum", d->sum);
		kint(b, &f, "scale", d->scale);
		ku64(b, &f, "zeroCount", d->zero_count);
		buckets(b, &f, "positive", d->positive);
		buckets(b, &f, "negative", d->negative);
		kint(b, &f, "flags", d->flags);
		if (d->has_min_case ==
		    SRE__OTLP__EXPONENTIAL_HISTOGRAM_DATA_POINT__HAS_MIN_MIN)
			kdouble(b, &f, "min", d->min);
		if (d->has_max_case ==
		    SRE__OTLP__EXPONENTIAL_HISTOGRAM_DATA_POINT__HAS_MAX_MAX)
			kdouble(b, &f, "max", d->max);
		if (d->zero_threshold != 0)
			kdouble(b, &f, "zeroThreshold", d->zero_threshold);
		sre_sbuf_add(b, "}", 1);
	}
	sre_sbuf_add(b, "]", 1);
	return n;
}

static size_t
summary_points(struct sre_sbuf *b, Sre__Otlp__SummaryDataPoint *const *p,
    size_t n)
{
	size_t i, j;
	int f;

	sre_sbuf_adds(b, "\"dataPoints\":[");
	for (i = 0; i < n; i++) {
		const Sre__Otlp__SummaryDataPoint *d = p[i];

		sre_sbuf_adds(b, i > 0 ? ",{" : "{");
		f = 1;
		point_head(b, &f, d->attributes, d->n_attributes,
		    d->start_time_unix_nano, d->time_unix_nano);
		ku64(b, &f, "count", d->count);
		kdouble(b, &f, "sum", d->sum);
		if (d->n_quantile_values > 0) {
			key(b, &f, "quantileValues");
			sre_sbuf_add(b, "[", 1);
			for (j = 0; j < d->n_quantile_values; j++) {
				sre_sbuf_adds(b, j > 0 ? ",{\"quantile\":" :
				    "{\"quantile\":");
				pj_double(b, d->quantile_values[j]->quantile);
				sre_sbuf_adds(b, ",\"value\":");
				pj_double(b, d->quantile_values[j]->value);
				sre_sbuf_add(b, "}", 1);
			}
			sre_sbuf_add(b, "]", 1);
		}
		kint(b, &f, "flags", d->flags);
		sre_sbuf_add(b, "}", 1);
	}
	sre_sbuf_add(b, "]", 1);
	return n;
}

static size_t
metric(struct sre_sbuf *b, const Sre__Otlp__Metric *m)
{
	size_t n = 0;
	int f = 1;

	sre_sbuf_add(b, "{", 1);
	kstr(b, &f, "name", m->name);
	kstr(b, &f, "description", m->description);
	kstr(b, &f, "unit", m->unit);
	switch (m->data_case) {
	case SRE__OTLP__METRIC__DATA_GAUGE:
		key(b, &f, "gauge");
		sre_sbuf_add(b, "{", 1);
		n = number_points(b, m->gauge->data_points,
		    m->gauge->n_data_points);
		sre_sbuf_add(b, "}", 1);
		break;
	case SRE__OTLP__METRIC__DATA_SUM:
		key(b, &f, "sum");
		sre_sbuf_add(b, "{", 1);
		n = number_points(b, m->sum->data_points,
		    m->sum->n_data_points);
		if (m->sum->aggregation_temporality != 0)
			sre_sbuf_addf(b, ",\"aggregationTemporality\":%d",
			    (int)m->sum->aggregation_temporality);
		if (m->sum->is_monotonic)
			sre_sbuf_adds(b, ",\"isMonotonic\":true");
		sre_sbuf_add(b, "}", 1);
		break;
	case SRE__OTLP__METRIC__DATA_HISTOGRAM:
		key(b, &f, "histogram");
		sre_sbuf_add(b, "{", 1);
		n = histogram_points(b, m->histogram->data_points,
		    m->histogram->n_data_points);
		if (m->histogram->aggregation_temporality != 0)
			sre_sbuf_addf(b, ",\"aggregationTemporality\":%d",
			    (int)m->histogram->aggregation_temporality);
		sre_sbuf_add(b, "}", 1);
		break;
	case SRE__OTLP__METRIC__DATA_EXPONENTIAL_HISTOGRAM:
		key(b, &f, "exponentialHistogram");
		sre_sbuf_add(b, "{", 1);
		n = exp_points(b, m->exponential_histogram->data_points,
		    m->exponential_histogram->n_data_points);
		if (m->exponential_histogram->aggregation_temporality != 0)
			sre_sbuf_addf(b, ",\"aggregationTemporality\":%d",
			    (int)m->exponential_histogram->
			    aggregation_temporality);
		sre_sbuf_add(b, "}", 1);
		break;
	case SRE__OTLP__METRIC__DATA_SUMMARY:
		key(b, &f, "summary");
		sre_sbuf_add(b, "{", 1);
		n = summary_points(b, m->summary->data_points,
		    m->summary->n_data_points);
		sre_sbuf_add(b, "}", 1);
		break;
	default:
		break;
	}
	sre_sbuf_add(b, "}", 1);
	return n;
}

static size_t
metrics(struct sre_sbuf *b, const Sre__Otlp__ExportMetricsServiceRequest *rq)
{
	size_t i, j, k, n = 0;
	int f;

	sre_sbuf_adds(b, "{\"resourceMetrics\":[");
	for (i = 0; i < rq->n_resource_metrics; i++) {
		const Sre__Otlp__ResourceMetrics *rm = rq->resource_metrics[i];

		sre_sbuf_adds(b, i > 0 ? ",{" : "{");
		f = 1;
		resource(b, &f, rm->resource);
		key(b, &f, "scopeMetrics");
		sre_sbuf_add(b, "[", 1);
		for (j = 0; j < rm->n_scope_metrics; j++) {
			const Sre__Otlp__ScopeMetrics *sm =
			    rm->scope_metrics[j];
			int g = 1;

			sre_sbuf_adds(b, j > 0 ? ",{" : "{");
			scope(b, &g, sm->scope);
			key(b, &g, "metrics");
			sre_sbuf_add(b, "[", 1);
			for (k = 0; k < sm->n_metrics; k++) {
				if (k > 0)
					sre_sbuf_add(b, ",", 1);
				n += metric(b, sm->metrics[k]);
			}
			sre_sbuf_add(b, "]", 1);
			kstr(b, &g, "schemaUrl", sm->schema_url);
			sre_sbuf_add(b, "}", 1);
		}
		sre_sbuf_add(b, "]", 1);
		kstr(b, &f, "schemaUrl", rm->schema_url);
		sre_sbuf_add(b, "}", 1);
	}
	sre_sbuf_adds(b, "]}");
	return n;
}

/* ---- logs ----------------------------------------------------------- */

static void
logrec(struct sre_sbuf *b, const Sre__Otlp__LogRecord *l)
{
	int f = 1;

	sre_sbuf_add(b, "{", 1);
	ku64(b, &f, "timeUnixNano", l->time_unix_nano);
	ku64(b, &f, "observedTimeUnixNano", l->observed_time_unix_nano);
	kint(b, &f, "severityNumber", l->severity_number);
	kstr(b, &f, "severityText", l->severity_text);
	if (l->body != NULL) {
		key(b, &f, "body");
		anyvalue(b, l->body);
	}
	kattrs(b, &f, l->attributes, l->n_attributes);
	kint(b, &f, "droppedAttributesCount", l->dropped_attributes_count);
	kint(b, &f, "flags", l->flags);
	khex(b, &f, "traceId", l->trace_id);
	khex(b, &f, "spanId", l->span_id);
	kstr(b, &f, "eventName", l->event_name);
	sre_sbuf_add(b, "}", 1);
}

static size_t
logs(struct sre_sbuf *b, const Sre__Otlp__ExportLogsServiceRequest *rq)
{
	size_t i, j, k, n = 0;
	int f;

	sre_sbuf_adds(b, "{\"resourceLogs\":[");
	for (i = 0; i < rq->n_resource_logs; i++) {
		const Sre__Otlp__ResourceLogs *rl = rq->resource_logs[i];

		sre_sbuf_adds(b, i > 0 ? ",{" : "{");
		f = 1;
		resource(b, &f, rl->resource);
		key(b, &f, "scopeLogs");
		sre_sbuf_add(b, "[", 1);
		for (j = 0; j < rl->n_scope_logs; j++) {
			const Sre__Otlp__ScopeLogs *sl = rl->scope_logs[j];
			int g = 1;

			sre_sbuf_adds(b, j > 0 ? ",{" : "{");
			scope(b, &g, sl->scope);
			key(b, &g, "logRecords");
			sre_sbuf_add(b, "[", 1);
			for (k = 0; k < sl->n_log_records; k++) {
				if (k > 0)
					sre_sbuf_add(b, ",", 1);
				logrec(b, sl->log_records[k]);
			}
			sre_sbuf_add(b, "]", 1);
			n += sl->n_log_records;
			kstr(b, &g, "schemaUrl", sl->schema_url);
			sre_sbuf_add(b, "}", 1);
		}
		sre_sbuf_add(b, "]", 1);
		kstr(b, &f, "schemaUrl", rl->schema_url);
		sre_sbuf_add(b, "}", 1);
	}
	sre_sbuf_adds(b, "]}");
	return n;
}

/* ---- nesting guard -------------------------------------------------- */

/*
 * protobuf-c recurses once per nested message and has no limit of its
 * own, so a body of a few megabytes of nested AnyValues would exhaust the
 * stack.  Before unpacking, walk the wire format: a length-delimited
 * field whose payload parses as fields is taken as a message and walked
 * in turn.  Returns the depth reached (capped at PB_MAX_DEPTH + 1), or -1
 * when p..end is not a well-formed sequence of fields.
 */
static int
wire_depth(const uint8_t *p, const uint8_t *end, int depth)
{
	uint64_t tag, len;
	int shift, d, max = depth;

	if (depth > PB_MAX_DEPTH)
		return depth;
	while (p < end) {
		for (tag = 0, shift = 0; p < end && shift < 64; shift += 7) {
			tag |= (uint64_t)(*p & 0x7f) << shift;
			if (!(*p++ & 0x80))
				break;
			if (p == end)
				return -1;
		}
		if (tag >> 3 == 0)
			return -1;
		switch (tag & 7) {
		case 0:
			while (p < end && (*p & 0x80))
				p++;
			if (p++ >= end)
				return -1;
			break;
		case 1:
			if (end - p < 8)
				return -1;
			p += 8;
			break;
		case 5:
			if (end - p < 4)
				return -1;
			p += 4;
			break;
		case 2:
			for (len = 0, shift = 0; p < end && shift < 64;
			    shift += 7) {
				len |= (uint64_t)(*p & 0x7f) << shift;
				if (!(*p++ & 0x80))
					break;
				if (p == end)
					return -1;
			}
			if (len > (uint64_t)(end - p))
				return -1;
			if (len > 0 && (d = wire_depth(p, p + len, depth + 1)) >
			    max)
				max = d;
			if (max > PB_MAX_DEPTH)
				return max;
			p += len;
			break;
		default:
			return -1;
		}
	}
	return max;
}

/* ---- an arena for protobuf-c ----------------------------------------- */

/*
 * protobuf-c allocates every message, string and array on its own: most of
 * the time of a request went to malloc and free.  An arena hands out
 * memory from large blocks and frees them all at once.
 */
struct arena {
	struct block {
		struct block *next;
		size_t used, cap;
		max_align_t data[];
	} *head;
	int oom;
};

#define ARENA_BLOCK (256 * 1024)

static void *
arena_alloc(void *ctx, size_t n)
{
	struct arena *a = ctx;
	struct block *b = a->head;
	size_t cap;
	void *p;

	n = (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
	if (b == NULL || b->cap - b->used < n) {
		cap = n > ARENA_BLOCK ? n : ARENA_BLOCK;
		if ((b = malloc(sizeof(*b) + cap)) == NULL) {
			a->oom = 1;
			return NULL;
		}
		b->used = 0;
		b->cap = cap;
		b->next = a->head;
		a->head = b;
	}
	p = (char *)b->data + b->used;
	b->used += n;
	return p;
}

static void
arena_free(void *ctx, void *p)
{
	(void)ctx;
	(void)p;
}

static void
arena_done(struct arena *a)
{
	struct block *b;

	while ((b = a->head) != NULL) {
		a->head = b->next;
		free(b);
	}
}

/* ---- entry points --------------------------------------------------- */

int
sre_pb_otlp_json(enum sre_pb_kind k, const uint8_t *body, size_t len,
    struct sre_sbuf *out, size_t *records, char *err, size_t errlen)
{
	static const char *const names[] = { "ExportTraceServiceRequest",
	    "ExportMetricsServiceRequest", "ExportLogsServiceRequest" };
	struct arena ar = { 0 };
	ProtobufCAllocator al = { arena_alloc, arena_free, &ar };
	ProtobufCMessage *m;

	*records = 0;
	if (wire_depth(body, body + len, 0) > PB_MAX_DEPTH) {
		snprintf(err, errlen, "protobuf nested deeper than %d messages",
		    PB_MAX_DEPTH);
		return -1;
	}
	switch (k) {
	case SRE_PB_TRACES:
		m = (ProtobufCMessage *)sre__otlp__export_trace_service_request__unpack(
		    &al, len, body);
		break;
	case SRE_PB_METRICS:
		m = (ProtobufCMessage *)sre__otlp__export_metrics_service_request__unpack(
		    &al, len, body);
		break;
	default:
		m = (ProtobufCMessage *)sre__otlp__export_logs_service_request__unpack(
		    &al, len, body);
		break;
	}
	if (m == NULL) {
		snprintf(err, errlen, ar.oom ? "out of memory" :
		    "not a valid protobuf %s", names[k]);
		arena_done(&ar);
		return -1;
	}
	switch (k) {
	case SRE_PB_TRACES:
		*records = traces(out,
		    (Sre__Otlp__ExportTraceServiceRequest *)m);
		break;
	case SRE_PB_METRICS:
		*records = metrics(out,
		    (Sre__Otlp__ExportMetricsServiceRequest *)m);
		break;
	default:
		*records = logs(out, (Sre__Otlp__ExportLogsServiceRequest *)m);
		break;
	}
	arena_done(&ar);
	if (out->oom) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

int
sre_pb_otlp_response(enum sre_pb_kind k, int64_t rejected, const char *msg,
    struct sre_sbuf *out)
{
	Sre__Otlp__ExportTraceServiceResponse tr =
	    SRE__OTLP__EXPORT_TRACE_SERVICE_RESPONSE__INIT;
	Sre__Otlp__ExportTracePartialSuccess tp =
	    SRE__OTLP__EXPORT_TRACE_PARTIAL_SUCCESS__INIT;
	Sre__Otlp__ExportMetricsServiceResponse mr =
	    SRE__OTLP__EXPORT_METRICS_SERVICE_RESPONSE__INIT;
	Sre__Otlp__ExportMetricsPartialSuccess mp =
	    SRE__OTLP__EXPORT_METRICS_PARTIAL_SUCCESS__INIT;
	Sre__Otlp__ExportLogsServiceResponse lr =
	    SRE__OTLP__EXPORT_LOGS_SERVICE_RESPONSE__INIT;
	Sre__Otlp__ExportLogsPartialSuccess lp =
	    SRE__OTLP__EXPORT_LOGS_PARTIAL_SUCCESS__INIT;
	const ProtobufCMessage *m;
	int partial = rejected > 0 || msg != NULL;
	size_t n;

	tp.rejected_spans = mp.rejected_data_points =
	    lp.rejected_log_records = rejected;
	tp.error_message = mp.error_message = lp.error_message =
	    (char *)(msg ? msg : "");
	tr.partial_success = partial ? &tp : NULL;
	mr.partial_success = partial ? &mp : NULL;
	lr.partial_success = partial ? &lp : NULL;
	m = k == SRE_PB_TRACES ? &tr.base : k == SRE_PB_METRICS ? &mr.base :
	    &lr.base;
	n = protobuf_c_message_get_packed_size(m);
	if (sre_sbuf_reserve(out, n + 1) < 0)
		return -1;
	out->n += protobuf_c_message_pack(m, (uint8_t *)out->p + out->n);
	return 0;
}

static int
label_cmp(const void *a, const void *b)
{
	const Sre__Otlp__Label *x = *(Sre__Otlp__Label *const *)a;
	const Sre__Otlp__Label *y = *(Sre__Otlp__Label *const *)b;

	return strcmp(x->name ? x->name : "", y->name ? y->name : "");
}

int
sre_pb_remote_write(const uint8_t *body, size_t len, size_t max_raw,
    struct sre_sbuf *out, size_t *points, size_t *skipped, char *err,
    size_t errlen)
{
	Sre__Otlp__WriteRequest *wr;
	size_t raw_len, i, j, k, mark;
	const char *name, *service;
	char *raw;

	*points = *skipped = 0;
	if (snappy_uncompressed_length((const char *)body, len, &raw_len) !=
	    SNAPPY_OK) {
		snprintf(err, errlen, "not a snappy-compressed body");
		return -1;
	}
	if (raw_len > max_raw) {
		snprintf(err, errlen, "uncompressed body of %zu bytes is over "
		    "the limit of %zu", raw_len, max_raw);
		return 1;
	}
	if ((raw = malloc(raw_len ? raw_len : 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (snappy_uncompress((const char *)body, len, raw, &raw_len) !=
	    SNAPPY_OK) {
		free(raw);
		snprintf(err, errlen, "damaged snappy data");
		return -1;
	}
	if (wire_depth((uint8_t *)raw, (uint8_t *)raw + raw_len, 0) >
	    PB_MAX_DEPTH ||
	    (wr = sre__otlp__write_request__unpack(NULL, raw_len,
	    (uint8_t *)raw)) == NULL) {
		free(raw);
		snprintf(err, errlen, "not a valid protobuf WriteRequest");
		return -1;
	}
	free(raw);
	for (i = 0; i < wr->n_timeseries; i++) {
		Sre__Otlp__TimeSeries *ts = wr->timeseries[i];

		if (ts->n_labels > 1)
			qsort(ts->labels, ts->n_labels, sizeof(*ts->labels),
			    label_cmp);
		name = service = NULL;
		for (k = 0; k < ts->n_labels; k++) {
			const char *ln = ts->labels[k]->name;

			if (ln == NULL || ts->labels[k]->value == NULL)
				continue;
			if (strcmp(ln, "__name__") == 0)
				name = ts->labels[k]->value;
			else if (strcmp(ln, "service") == 0)
				service = ts->labels[k]->value;
			else if (strcmp(ln, "job") == 0 && service == NULL)
				service = ts->labels[k]->value;
		}
		/* "job" sorts before "service": a later "service" wins. */
		for (j = 0; j < ts->n_samples; j++) {
			const Sre__Otlp__Sample *s = ts->samples[j];

			if (!isfinite(s->value)) {
				(*skipped)++;
				continue;
			}
			mark = out->n;
			sre_sbuf_addf(out, "{\"ts_ms\":%lld,\"metric\":",
			    (long long)s->timestamp);
			sre_sbuf_jstr(out, name ? name : "",
			    name ? strlen(name) : 0);
			sre_sbuf_adds(out, ",\"value\":");
			sre_sbuf_jnum(out, s->value);
			sre_sbuf_adds(out, ",\"labels\":{");
			for (k = 0; k < ts->n_labels; k++) {
				const Sre__Otlp__Label *l = ts->labels[k];

				if (l->name == NULL || l->value == NULL ||
				    strcmp(l->name, "__name__") == 0 ||
				    strcmp(l->name, "service") == 0)
					continue;
				if (!out->oom && out->p[out->n - 1] != '{')
					sre_sbuf_add(out, ",", 1);
				sre_sbuf_jstr(out, l->name, strlen(l->name));
				sre_sbuf_add(out, ":", 1);
				sre_sbuf_jstr(out, l->value, strlen(l->value));
			}
			if (service != NULL) {
				if (!out->oom && out->p[out->n - 1] != '{')
					sre_sbuf_add(out, ",", 1);
				sre_sbuf_adds(out, "\"service\":");
				sre_sbuf_jstr(out, service, strlen(service));
			}
			sre_sbuf_adds(out, "}}\n");
			if (out->oom) {
				out->n = mark;
				break;
			}
			(*points)++;
		}
	}
	sre__otlp__write_request__free_unpacked(wr, NULL);
	if (out->oom) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}
