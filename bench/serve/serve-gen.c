/*
 * serve-gen: an OTLP ExportTraceServiceRequest of N spans, as protobuf and
 * as the OTLP/JSON sre-serve makes of it, for bench/serve/run.
 *
 *	serve-gen N PB-FILE JSON-FILE
 *
 * The spans look like the marketplace's: one service, server spans with
 * HTTP attributes, 16-byte trace ids, 8-byte span ids, a parent for all
 * but the first of every ten.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/stdlib.h>

#include "otlp.pb-c.h"
#include "serve-pb.h"

static Sre__Otlp__KeyValue *
kv_str(const char *k, const char *v)
{
	Sre__Otlp__KeyValue *kv = calloc(1, sizeof(*kv));
	Sre__Otlp__AnyValue *av = calloc(1, sizeof(*av));

	if (kv == NULL || av == NULL)
		exit(71);
	sre__otlp__key_value__init(kv);
	sre__otlp__any_value__init(av);
	av->value_case = SRE__OTLP__ANY_VALUE__VALUE_STRING_VALUE;
	av->string_value = (char *)v;
	kv->key = (char *)k;
	kv->value = av;
	return kv;
}

static Sre__Otlp__KeyValue *
kv_int(const char *k, int64_t v)
{
	Sre__Otlp__KeyValue *kv = kv_str(k, "");

	kv->value->value_case = SRE__OTLP__ANY_VALUE__VALUE_INT_VALUE;
	kv->value->int_value = v;
	return kv;
}

int
main(int argc, char **argv)
{
	Sre__Otlp__ExportTraceServiceRequest rq =
	    SRE__OTLP__EXPORT_TRACE_SERVICE_REQUEST__INIT;
	Sre__Otlp__ResourceSpans rs = SRE__OTLP__RESOURCE_SPANS__INIT;
	Sre__Otlp__Resource res = SRE__OTLP__RESOURCE__INIT;
	Sre__Otlp__ScopeSpans ss = SRE__OTLP__SCOPE_SPANS__INIT;
	Sre__Otlp__InstrumentationScope scope =
	    SRE__OTLP__INSTRUMENTATION_SCOPE__INIT;
	Sre__Otlp__ResourceSpans *rsp = &rs;
	Sre__Otlp__ScopeSpans *ssp = &ss;
	Sre__Otlp__KeyValue *rattr[2];
	struct sre_sbuf json = { 0 };
	const char *errstr;
	uint8_t *ids, *pb;
	size_t n, i, len, records;
	char err[256];
	FILE *f;

	if (argc != 4) {
		fprintf(stderr, "usage: serve-gen N PB-FILE JSON-FILE\n");
		return 64;
	}
	n = (size_t)strtonum(argv[1], 1, 1000000, &errstr);
	if (errstr != NULL) {
		fprintf(stderr, "serve-gen: N is %s\n", errstr);
		return 64;
	}
	rattr[0] = kv_str("service.name", "pricing-engine");
	rattr[1] = kv_str("service.version", "2.4.1");
	res.attributes = rattr;
	res.n_attributes = 2;
	rs.resource = &res;
	scope.name = "bench";
	ss.scope = &scope;
	ss.spans = calloc(n, sizeof(*ss.spans));
	ids = calloc(n, 24);
	if (ss.spans == NULL || ids == NULL)
		return 71;
	srandom(7);
	for (i = 0; i < n; i++) {
		Sre__Otlp__Span *s = calloc(1, sizeof(*s));
		Sre__Otlp__KeyValue **a = calloc(4, sizeof(*a));
		uint8_t *id = ids + 24 * i;
		size_t j;

		if (s == NULL || a == NULL)
			return 71;
		sre__otlp__span__init(s);
		for (j = 0; j < 24; j++)
			id[j] = (uint8_t)random();
		if (i % 10 != 0)
			memcpy(id, ids + 24 * (i - i % 10), 16);
		s->trace_id.data = id;
		s->trace_id.len = 16;
		s->span_id.data = id + 16;
		s->span_id.len = 8;
		if (i % 10 != 0) {
			s->parent_span_id.data = ids + 24 * (i - i % 10) + 16;
			s->parent_span_id.len = 8;
		}
		s->name = "POST /v1/price";
		s->kind = 2;
		s->start_time_unix_nano = 1700000000000000000ULL + i * 1000000;
		s->end_time_unix_nano = s->start_time_unix_nano + 12345678;
		a[0] = kv_str("http.request.method", "POST");
		a[1] = kv_str("http.route", "/v1/price");
		a[2] = kv_int("http.response.status_code", i % 50 ? 200 : 500);
		a[3] = kv_str("server.address", "pricing-engine");
		s->attributes = a;
		s->n_attributes = 4;
		ss.spans[i] = s;
	}
	ss.n_spans = n;
	rs.scope_spans = &ssp;
	rs.n_scope_spans = 1;
	rq.resource_spans = &rsp;
	rq.n_resource_spans = 1;
	len = sre__otlp__export_trace_service_request__get_packed_size(&rq);
	if ((pb = malloc(len)) == NULL)
		return 71;
	sre__otlp__export_trace_service_request__pack(&rq, pb);
	if (sre_pb_otlp_json(SRE_PB_TRACES, pb, len, &json, &records, err,
	    sizeof(err)) < 0) {
		fprintf(stderr, "serve-gen: %s\n", err);
		return 70;
	}
	if ((f = fopen(argv[2], "w")) == NULL || fwrite(pb, 1, len, f) != len ||
	    fclose(f) != 0 || (f = fopen(argv[3], "w")) == NULL ||
	    fwrite(json.p, 1, json.n, f) != json.n || fclose(f) != 0) {
		perror("serve-gen");
		return 73;
	}
	printf("%zu spans: %zu bytes protobuf, %zu bytes JSON\n", records, len,
	    json.n);
	return 0;
}
