/*
 * fuzz-otlp: libFuzzer target for lib/telemetry/otlp.c (and lib/core/json.c under it).
 *
 * Reads the input as one line, with every callback touching every byte of
 * every slice (so ASan sees any bad pointer or length) and checking the
 * contracts of otlp.h: text fields are valid UTF-8, durations match the
 * quirks, histogram arrays are consistent, attribute lists can be walked.
 * Then: the line is malformed exactly when the tokenizer says it is not
 * JSON; the ATOMIC reader delivers the same records, or none when the
 * line is malformed; records + rejections match the callbacks.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "otlp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct ctx {
	struct sre_otlp *r;
	size_t records, rejects;
	uint64_t sum;
};

static void
touch(struct ctx *c, struct sre_json_str s)
{
	size_t i;

	for (i = 0; i < s.n; i++)
		c->sum += (unsigned char)s.p[i];
}

/* A text field: readable, and valid UTF-8 as otlp.h promises. */
static void
text(struct ctx *c, struct sre_json_str s)
{
	touch(c, s);
	if (s.n > 0 && !sre_json_utf8_valid(s.p, s.n))
		abort();
}

static void
attrs(struct ctx *c, struct sre_json_str a)
{
	struct sre_otlp_attr_iter it;
	struct sre_otlp_attr at;
	int rc, n = 0;

	touch(c, a);
	sre_otlp_attr_begin(&it, a);
	while ((rc = sre_otlp_attr_next(c->r, &it, &at)) > 0 && n++ < 1000) {
		text(c, at.key);
		touch(c, at.v.s);
		if (at.v.type == SRE_OTLP_V_STRING)
			text(c, at.v.s);
	}
}

static void
resource(struct ctx *c, const struct sre_otlp_resource *r)
{
	text(c, r->service);
	text(c, r->service_version);
	text(c, r->service_namespace);
	text(c, r->host);
	text(c, r->scope);
	text(c, r->scope_version);
	attrs(c, r->attrs);
}

static int
on_span(void *arg, const struct sre_otlp_span *s)
{
	struct ctx *c = arg;
	uint8_t id[16];

	c->records++;
	resource(c, s->res);
	text(c, s->trace_id);
	text(c, s->span_id);
	text(c, s->parent_span_id);
	text(c, s->name);
	text(c, s->status_message);
	text(c, s->http_method);
	text(c, s->http_route);
	text(c, s->server_address);
	text(c, s->peer_service);
	text(c, s->db_system);
	text(c, s->rpc_service);
	text(c, s->error_type);
	text(c, s->exception_type);
	text(c, s->exception_message);
	attrs(c, s->attrs);
	touch(c, s->events);
	(void)sre_otlp_id_bytes(s->trace_id, id, sizeof(id));
	if (s->kind < 0 || s->kind > 5 || s->status < 0 || s->status > 2)
		abort();
	if (s->start_ns == 0 && s->end_ns == 0)
		abort();	/* no time at all is rejected */
	if (s->end_ns >= s->start_ns) {
		if (s->duration_ns != s->end_ns - s->start_ns ||
		    (s->quirks & SRE_OTLP_Q_END_BEFORE_START))
			abort();
	} else if (s->duration_ns != 0 ||
	    !(s->quirks & SRE_OTLP_Q_END_BEFORE_START))
		abort();
	if (s->http_status != 0 && (s->http_status < 100 ||
	    s->http_status > 999))
		abort();
	return 0;
}

static int
on_point(void *arg, const struct sre_otlp_point *p)
{
	struct ctx *c = arg;
	size_t i;

	c->records++;
	resource(c, p->res);
	text(c, p->metric);
	text(c, p->unit);
	attrs(c, p->attrs);
	if (p->metric.n == 0 && p->type != SRE_OTLP_GAUGE)
		abort();	/* OTLP metrics without a name are rejected */
	for (i = 0; i < p->n_bucket_counts; i++)
		c->sum += p->bucket_counts[i];
	for (i = 0; i < p->n_bounds; i++)
		c->sum += (uint64_t)(p->bounds[i] == p->bounds[i]);
	for (i = 0; i < p->n_pos; i++)
		c->sum += p->pos_counts[i];
	for (i = 0; i < p->n_neg; i++)
		c->sum += p->neg_counts[i];
	for (i = 0; i < p->n_quantiles; i++)
		c->sum += (uint64_t)(p->quantiles[i] == p->quantile_values[i]);
	if (p->type == SRE_OTLP_HISTOGRAM && p->n_bucket_counts != 0 &&
	    p->n_bucket_counts != p->n_bounds + 1)
		abort();
	return 0;
}

static int
on_log(void *arg, const struct sre_otlp_log *l)
{
	struct ctx *c = arg;

	c->records++;
	resource(c, l->res);
	text(c, l->severity_text);
	text(c, l->body);
	text(c, l->trace_id);
	text(c, l->span_id);
	text(c, l->event_name);
	text(c, l->unit);
	text(c, l->identifier);
	attrs(c, l->attrs);
	if (l->severity < 0 || l->severity > 24 || l->priority < -1 ||
	    l->priority > 7)
		abort();
	return 0;
}

static int
on_reject(void *arg, const struct sre_otlp_reject *rj)
{
	struct ctx *c = arg;

	c->rejects++;
	if (rj->msg == NULL || strlen(rj->msg) == 0 || strlen(rj->msg) > 255)
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sre_otlp_handler h = { on_span, on_point, on_log, on_reject,
	    NULL };
	struct sre_otlp_result res, res2;
	struct ctx c, c2;
	struct sre_json j;
	char *buf = malloc(size ? size : 1);
	int rc, rc2, json_ok, blank = 1;
	size_t i;

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	for (i = 0; i < size; i++)
		if (buf[i] != ' ' && buf[i] != '\n' && buf[i] != '\r' &&
		    buf[i] != '\t')
			blank = 0;
	sre_json_init(&j, buf, size, 0);
	json_ok = sre_json_skip(&j) == 0 && sre_json_end(&j) == 0;

	memset(&c, 0, sizeof(c));
	c.r = sre_otlp_new(0);
	h.arg = &c;
	rc = sre_otlp_read(c.r, buf, size, &h, &res);
	if (rc == SRE_OTLP_ENOMEM) {
		sre_otlp_free(c.r);
		free(buf);
		return 0;
	}
	if (rc != SRE_OTLP_OK && rc != SRE_OTLP_EJSON)
		abort();
	if ((rc == SRE_OTLP_EJSON) != (!json_ok && !blank))
		abort();	/* the reader and the tokenizer agree */
	if ((rc == SRE_OTLP_EJSON) != (res.format == SRE_OTLP_MALFORMED))
		abort();
	if (blank && res.format != SRE_OTLP_EMPTY)
		abort();
	if (res.records != c.records || res.rejected != c.rejects)
		abort();
	if (rc == SRE_OTLP_EJSON && (res.msg[0] == '\0' || res.err_off > size))
		abort();
	if (res.rejected > 0 && res.msg[0] == '\0')
		abort();

	/* the same reader again (scratch reuse), then an ATOMIC one */
	memset(&c2, 0, sizeof(c2));
	c2.r = c.r;
	h.arg = &c2;
	rc2 = sre_otlp_read(c.r, buf, size, &h, &res2);
	if (rc2 != rc || c2.records != c.records || c2.sum != c.sum)
		abort();
	sre_otlp_free(c.r);

	memset(&c2, 0, sizeof(c2));
	c2.r = sre_otlp_new(SRE_OTLP_ATOMIC);
	rc2 = sre_otlp_read(c2.r, buf, size, &h, &res2);
	if (rc2 != rc || res2.format != res.format)
		abort();
	if (rc == SRE_OTLP_EJSON ? c2.records != 0 || c2.rejects != 0 :
	    c2.records != c.records || c2.rejects != c.rejects)
		abort();
	sre_otlp_free(c2.r);
	free(buf);
	return 0;
}
