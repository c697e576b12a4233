/*
 * gen.c: one request at a time, depth first, into OTLP/JSON.
 *
 * A request enters at the edge gateway on a route drawn by weight.  Each
 * operation draws its self time (log-normal), does part of it, makes its
 * calls (sequential, or parallel for a fan-out group), then finishes.  A
 * call between services is a CLIENT span in the caller and a SERVER span
 * in the callee; the gaps between the two are the network.  A call that
 * stays inside one service (a template served by its caller) is an
 * INTERNAL span.  Spans are serialized post-order, straight into the
 * per-service buffers of the current batch: nothing is kept per span.
 *
 * Faults act where they would in a real system: self time (latency, cpu,
 * saturation), status (error, release), the network in front of a
 * service (network), the connection pool in front of a datastore (pool).
 * Failures propagate: a critical call that fails fails its caller.
 */
#include <math.h>
#include <stdlib.h>

#include "mp.h"

enum { K_INTERNAL = 1, K_SERVER = 2, K_CLIENT = 3 };
enum { SEV_INFO = 9, SEV_WARN = 13, SEV_ERROR = 17 };
enum err { E_OK, E_INTERNAL, E_RELEASE, E_POOL, E_OVERLOAD, E_UPSTREAM, E_BASE, E_OOM, E_STUCK };

static const char *const fault_names[] = {
	"none", "latency", "error", "both", "network", "cpu", "release", "saturation", "pool",
	"leak", "stuck",
};

const char *
mp_fault_name(int kind)
{
	return kind >= 0 && kind <= F_LAST ? fault_names[kind] : "none";
}

int
mp_fault_kind(const char *s)
{
	for (int i = 0; i <= F_LAST; i++)
		if (strcmp(s, fault_names[i]) == 0)
			return i;
	return -1;
}

/* The outcome of an operation or a call, as its caller sees it. */
struct res {
	int64_t end;
	int code;           /* 0 ok; else an HTTP-like status */
	int err;            /* enum err */
	const char *detail; /* static text: the root cause, for the callers' messages */
	int via;            /* the service that answered (the immediate callee) */
};

/* Per request. */
struct tctx {
	uint8_t trace[16];
	int64_t t0;
	int act[MP_MAX_FAULTS];
	int nact;
};

/* What the active faults do to one span of one service. */
struct eff {
	double lat_mult, lat_add_ms;  /* latency */
	double cpu_med;               /* cpu: median multiplier, 0 none */
	double err_p;                 /* error: probability */
	int err_kind;
	double rho;                   /* saturation: utilization, 0 none */
	double gc_p, stuck_p;         /* leak: GC pause odds; stuck: share of requests */
	bool latency, cpu;
};

static const char *const products[] = { "motor", "home", "travel", "pet", "life", "liability" };
static const char *const regions[] = { "north", "south", "east", "west", "capital" };

/* ---- exceptions and messages ------------------------------------------ */

struct exc {
	const char *type, *msg;
};

static const struct exc fail_java[] = {
	{ "java.util.concurrent.TimeoutException", "timed out after 3000 ms waiting for a worker thread" },
	{ "org.springframework.dao.CannotAcquireLockException", "could not obtain lock on row in relation \"quotes\"" },
	{ "java.lang.IllegalStateException", "tariff table not loaded for product" },
	{ "org.springframework.web.client.ResourceAccessException", "I/O error on POST request: Connection reset" },
};
static const struct exc fail_go[] = {
	{ "*errors.errorString", "context deadline exceeded" },
	{ "*net.OpError", "read tcp 10.42.3.17:43122->10.42.7.4:8080: read: connection reset by peer" },
	{ "*json.SyntaxError", "invalid character '<' looking for beginning of value" },
};
static const struct exc fail_py[] = {
	{ "RuntimeError", "model inference failed: worker process exited unexpectedly" },
	{ "sqlalchemy.exc.OperationalError", "server closed the connection unexpectedly" },
	{ "asyncio.TimeoutError", "timed out waiting for feature store" },
};
static const struct exc fail_node[] = {
	{ "Error", "socket hang up" },
	{ "FetchError", "request to http://template-store/v2/templates failed, reason: ETIMEDOUT" },
};
static const struct exc fail_envoy[] = {
	{ "envoy.upstream_reset", "upstream connect error or disconnect/reset before headers. reset reason: overflow" },
};
static const struct exc fail_pg[] = {
	{ "40P01", "ERROR: deadlock detected" },
	{ "57014", "ERROR: canceling statement due to statement timeout" },
	{ "53300", "FATAL: sorry, too many clients already" },
};
static const struct exc fail_redis[] = {
	{ "LOADING", "LOADING Redis is loading the dataset in memory" },
	{ "OOM", "OOM command not allowed when used memory > 'maxmemory'" },
};
static const struct exc fail_kafka[] = {
	{ "NOT_LEADER_OR_FOLLOWER", "NOT_LEADER_OR_FOLLOWER: this server is not the leader for partition 7" },
	{ "REQUEST_TIMED_OUT", "REQUEST_TIMED_OUT: produce request timed out after 30000 ms" },
};

/* What a bad release breaks. */
static const struct exc rel_exc[] = {
	[LANG_JAVA] = { "java.lang.NullPointerException",
	    "Cannot invoke \"java.math.BigDecimal.multiply(java.math.BigDecimal)\" because \"coverage.limit\" is null" },
	[LANG_GO] = { "runtime.Error", "runtime error: invalid memory address or nil pointer dereference" },
	[LANG_PY] = { "KeyError", "'deductible_tier'" },
	[LANG_NODE] = { "TypeError", "Cannot read properties of undefined (reading 'premiumBreakdown')" },
	[LANG_ENVOY] = { "envoy.config", "no healthy upstream: route config v2 points to a missing cluster" },
	[LANG_NATIVE] = { "42703", "ERROR: column \"risk_score_v2\" does not exist" },
};

/* What a leak ends in: the runtime out of memory. */
static const struct exc oom_exc[] = {
	[LANG_JAVA] = { "java.lang.OutOfMemoryError", "Java heap space" },
	[LANG_GO] = { "runtime.throw", "runtime: out of memory: cannot allocate 8388608-byte block" },
	[LANG_PY] = { "MemoryError", "out of memory allocating the quote cache" },
	[LANG_NODE] = { "RangeError", "FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory" },
	[LANG_ENVOY] = { "envoy.overload", "out of memory: overload manager stopped accepting requests" },
	[LANG_NATIVE] = { "53200", "ERROR: out of memory" },
};

#define NELEM(a) ((uint32_t)(sizeof(a) / sizeof((a)[0])))

static const struct exc *
pick_failure(struct mp_gen *g, const struct mp_svc *s)
{
	switch (s->ds) {
	case DS_POSTGRES:
		return &fail_pg[mp_rng_below(&g->rng, NELEM(fail_pg))];
	case DS_REDIS:
		return &fail_redis[mp_rng_below(&g->rng, NELEM(fail_redis))];
	case DS_KAFKA:
		return &fail_kafka[mp_rng_below(&g->rng, NELEM(fail_kafka))];
	default:
		break;
	}
	switch (s->def->lang) {
	case LANG_JAVA:
		return &fail_java[mp_rng_below(&g->rng, NELEM(fail_java))];
	case LANG_GO:
		return &fail_go[mp_rng_below(&g->rng, NELEM(fail_go))];
	case LANG_PY:
		return &fail_py[mp_rng_below(&g->rng, NELEM(fail_py))];
	case LANG_NODE:
		return &fail_node[mp_rng_below(&g->rng, NELEM(fail_node))];
	default:
		return &fail_envoy[0];
	}
}

static const char *
reason(int code)
{
	switch (code) {
	case 500:
		return "Internal Server Error";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	default:
		return "Error";
	}
}

/* ---- rates, ids, faults ------------------------------------------------- */

void
mp_gen_init(struct mp_gen *g, struct mp_topo *t, uint64_t seed)
{
	memset(g, 0, sizeof(*g));
	g->t = t;
	mp_rng_seed(&g->rng, seed, 10);
	mp_rng_seed(&g->lrng, seed, 11);
	mp_rng_seed(&g->brng, seed, 12);
	g->rate = 20;
	g->ramp = 1;
	g->load = 1;
	g->base_error_rate = 0.0005;
	g->batch_target = 30000;
}

double
mp_gen_rate_at(const struct mp_gen *g, int64_t t)
{
	double r = g->rate * g->load;

	if (g->ramp != 1 && g->ramp_span_ns > 0) {
		double f = (double)(t - g->start_ns) / (double)g->ramp_span_ns;

		if (f < 0)
			f = 0;
		if (f > 1)
			f = 1;
		r *= 1 + (g->ramp - 1) * f;
	}
	return r;
}

static uint64_t
new_id(struct mp_gen *g)
{
	uint64_t v;

	while ((v = mp_rng_next(&g->rng)) == 0)
		;
	return v;
}

static inline int64_t
ms_ns(double ms)
{
	return (int64_t)(ms * 1e6);
}

static bool
fault_active(const struct mp_gen *g, const struct mp_fault *f, int64_t t)
{
	(void)g;
	return f->kind != F_NONE && !f->cleared && t >= f->start_ns && t < f->end_ns;
}

/* A release bound to an image tag (live, GitOps): errors while it is deployed. */
static bool
release_by_tag(const struct mp_gen *g, const struct mp_fault *f)
{
	return g->gitops && f->bad_tag[0] != '\0';
}

/*
 * Live, with GitOps: a leak or stuck workers are process state, and a
 * rollout of the culprit's pods (the restartedAt annotation changed after
 * the fault began) clears them.
 */
static bool
cleared_by_restart(const struct mp_gen *g, const struct mp_fault *f)
{
	return (f->kind == F_LEAK || f->kind == F_STUCK) && g->gitops &&
	    g->t->svc[f->svc].restart_ns > f->start_ns;
}

/* Which resource variant (pod generation) serves this span. */
static int
pick_slot(struct mp_gen *g, const struct tctx *c, int svc)
{
	for (int i = 0; i < c->nact; i++) {
		const struct mp_fault *f = &g->fault[c->act[i]];
		double frac;

		if (f->kind != F_RELEASE || f->svc != svc || release_by_tag(g, f))
			continue;
		/* a rolling update: new pods take over within a minute */
		frac = (double)(c->t0 - f->start_ns) / 60e9;
		if (frac >= 1 || mp_rng_unit(&g->rng) < frac)
			return 1;
	}
	return 0;
}

static void
effects(struct mp_gen *g, const struct tctx *c, int svc, int op, int slot, struct eff *e)
{
	const struct mp_svc *s = &g->t->svc[svc];

	memset(e, 0, sizeof(*e));
	e->lat_mult = 1;
	for (int i = 0; i < c->nact; i++) {
		const struct mp_fault *f = &g->fault[c->act[i]];
		double in = f->intensity;

		if (f->svc != svc)
			continue;
		if (f->op >= 0 && f->op != op)
			continue;
		switch (f->kind) {
		case F_LATENCY:
		case F_BOTH:
			e->latency = true;
			e->lat_mult *= 1 + 3 * in;
			e->lat_add_ms += 100 * in;
			if (f->kind == F_BOTH) {
				e->err_p += 0.3 * in;
				e->err_kind = E_INTERNAL;
			}
			break;
		case F_ERROR:
			e->err_p += 0.3 * in;
			e->err_kind = E_INTERNAL;
			break;
		case F_CPU:
			e->cpu = true;
			e->cpu_med = 1 + 1.5 * in;
			break;
		case F_RELEASE:
			if (release_by_tag(g, f) ? strcmp(s->version, f->bad_tag) == 0 : slot == 1) {
				e->err_p += 0.4 * in;
				e->err_kind = E_RELEASE;
			}
			break;
		case F_LEAK:
			/* a heap that full GCs no longer reclaim: long pauses,
			 * then allocations that fail */
			if (cleared_by_restart(g, f))
				break;
			e->gc_p += 0.25 * in;
			e->err_p += 0.08 * in;
			e->err_kind = E_OOM;
			break;
		case F_STUCK:
			/* workers blocked for good: requests wait for one of
			 * the few left, some give up */
			if (!cleared_by_restart(g, f))
				e->stuck_p += 0.3 * in;
			break;
		case F_SATURATION: {
			double load = mp_gen_rate_at(g, c->t0) / (f->load0 > 0 ? f->load0 : 1);
			double rho = 0.75 * in * load * (double)f->replicas0 /
			    (double)(s->replicas > 0 ? s->replicas : 1);

			if (rho > e->rho)
				e->rho = rho;
			break;
		}
		default:
			break;
		}
	}
	if (e->err_p > 0.95)
		e->err_p = 0.95;
}

/* Pool demand over size for a datastore, 0 when no pool fault is active. */
static double
pool_over(const struct mp_gen *g, const struct tctx *c, int svc)
{
	const struct mp_svc *s = &g->t->svc[svc];
	double over = 0;

	for (int i = 0; i < c->nact; i++) {
		const struct mp_fault *f = &g->fault[c->act[i]];
		double o;

		if (f->kind != F_POOL || f->svc != svc)
			continue;
		o = f->pool_needed / (double)(s->pool_size > 0 ? s->pool_size : 1);
		if (o > over)
			over = o;
	}
	return over;
}

/* Extra one-way network delay into a service, ms (network fault). */
static double
net_extra(struct mp_gen *g, const struct tctx *c, int svc, double share)
{
	double add = 0;

	for (int i = 0; i < c->nact; i++) {
		const struct mp_fault *f = &g->fault[c->act[i]];

		if (f->kind != F_NETWORK || f->svc != svc)
			continue;
		add += mp_rng_lognormal(&g->rng, share * f->intensity, 0.6);
		/* a retransmission now and then */
		if (mp_rng_unit(&g->rng) < 0.02 * f->intensity)
			add += 200;
	}
	return add;
}

/* A decoy: naturally heavy tails and GC-like stalls, stationary in time. */
static double
decoy_ms(struct mp_gen *g, double median, double sigma, bool *spike)
{
	double v = mp_rng_lognormal(&g->rng, median, sigma * 2.2);

	*spike = false;
	if (mp_rng_unit(&g->rng) < 0.03) {
		double pareto = pow(1 - mp_rng_unit(&g->rng), -1 / 1.3);

		if (pareto > 60)
			pareto = 60;
		v += median * 4 * pareto;
		*spike = true;
	}
	return v;
}

/* ---- JSON: spans and log records ------------------------------------ */

static struct mp_buf *
span_begin(struct mp_gen *g, const struct tctx *c, int svc, int slot, uint64_t sid,
    uint64_t parent, const char *name, int kind, int64_t st, int64_t en)
{
	struct mp_svc *s = &g->t->svc[svc];
	struct mp_buf *b = &s->spans[g->ep][slot];

	g->batch_bytes -= b->len;
	if (s->nspans[g->ep][slot]++)
		mp_buf_putc(b, ',');
	MP_LIT(b, "{\"traceId\":\"");
	mp_buf_hex(b, c->trace, 16);
	MP_LIT(b, "\",\"spanId\":\"");
	mp_buf_hex64(b, sid);
	MP_LIT(b, "\",\"parentSpanId\":\"");
	if (parent)
		mp_buf_hex64(b, parent);
	MP_LIT(b, "\",\"name\":");
	mp_buf_jstr(b, name);
	MP_LIT(b, ",\"kind\":");
	mp_buf_putc(b, (char)('0' + kind));
	MP_LIT(b, ",\"startTimeUnixNano\":\"");
	mp_buf_u64(b, (uint64_t)st);
	MP_LIT(b, "\",\"endTimeUnixNano\":\"");
	mp_buf_u64(b, (uint64_t)en);
	MP_LIT(b, "\",\"attributes\":[");
	g->nspans++;
	return b;
}

static void
span_end(struct mp_gen *g, struct mp_buf *b, bool error, const char *msg, const struct exc *ex,
    int64_t ex_t)
{
	MP_LIT(b, "]");
	if (ex) {
		MP_LIT(b, ",\"events\":[{\"timeUnixNano\":\"");
		mp_buf_u64(b, (uint64_t)ex_t);
		MP_LIT(b, "\",\"name\":\"exception\",\"attributes\":[");
		mp_attr_str(b, true, "exception.type", ex->type);
		mp_attr_str(b, false, "exception.message", ex->msg);
		MP_LIT(b, "]}]");
	}
	if (error) {
		MP_LIT(b, ",\"status\":{\"code\":2,\"message\":");
		mp_buf_jstr(b, msg ? msg : "");
		MP_LIT(b, "}}");
	} else
		MP_LIT(b, ",\"status\":{\"code\":0}}");
	g->batch_bytes += b->len;
}

static void
log_rec(struct mp_gen *g, int svc, int slot, int64_t t, int sev, const char *msg,
    const uint8_t *trace, uint64_t sid)
{
	struct mp_svc *s = &g->t->svc[svc];
	struct mp_buf *b = &s->logs[g->ep][slot];

	if (s->nlogs[g->ep][slot]++)
		mp_buf_putc(b, ',');
	MP_LIT(b, "{\"timeUnixNano\":\"");
	mp_buf_u64(b, (uint64_t)t);
	MP_LIT(b, "\",\"observedTimeUnixNano\":\"");
	mp_buf_u64(b, (uint64_t)t + 1000 + mp_rng_below(&g->lrng, 5000000));
	MP_LIT(b, "\",\"severityNumber\":");
	mp_buf_u64(b, (uint64_t)sev);
	if (sev >= SEV_ERROR)
		MP_LIT(b, ",\"severityText\":\"ERROR\"");
	else if (sev >= SEV_WARN)
		MP_LIT(b, ",\"severityText\":\"WARN\"");
	else
		MP_LIT(b, ",\"severityText\":\"INFO\"");
	MP_LIT(b, ",\"body\":{\"stringValue\":");
	mp_buf_jstr(b, msg);
	MP_LIT(b, "}");
	if (trace) {
		MP_LIT(b, ",\"traceId\":\"");
		mp_buf_hex(b, trace, 16);
		MP_LIT(b, "\",\"spanId\":\"");
		mp_buf_hex64(b, sid);
		MP_LIT(b, "\"");
	}
	MP_LIT(b, "}");
	g->nlogs++;
	g->epo[g->ep].nlogs++;
}

void
mp_gen_log_event(struct mp_gen *g, int svc, int slot, int64_t t, int sev, const char *msg)
{
	if (g->logs)
		log_rec(g, svc, slot, t, sev, msg, NULL, 0);
}

/* INFO chatter: what the service would say about a request that went well. */
static void
chatter(struct mp_gen *g, const struct tctx *c, const struct mp_op *o, int slot, uint64_t sid,
    int64_t st, int64_t en, int code)
{
	struct mp_rng *r = &g->lrng;
	const struct mp_svc *s = &g->t->svc[o->svc];
	const char *prod = products[mp_rng_below(r, NELEM(products))];
	unsigned id = (unsigned)mp_rng_next(r), cust = 1000000 + mp_rng_below(r, 8999999);
	double eur = 80 + mp_rng_exp(r, 420);
	double ms = (double)(en - st) / 1e6;
	char msg[256];

	switch (o->def->topic) {
	case T_ACCESS:
		snprintf(msg, sizeof(msg),
		    "[%s] \"%s HTTP/1.1\" %d - %u %.0fms \"%s\" x-request-id=%08x-%04x",
		    "gateway", o->name, code, 200 + mp_rng_below(r, 6000), ms,
		    s->ncallee ? g->t->svc[s->callee[0]].name : "-", id, id >> 16);
		break;
	case T_QUOTE:
		snprintf(msg, sizeof(msg), "quote Q-%08X created product=%s offers=%u best_premium=%.2f EUR",
		    id, prod, 1 + mp_rng_below(r, 4), eur);
		break;
	case T_POLICY:
		snprintf(msg, sizeof(msg), "policy P-%08X bound product=%s annual_premium=%.2f EUR holder=C%07u",
		    id, prod, eur, cust);
		break;
	case T_CLAIM:
		snprintf(msg, sizeof(msg), "claim C-%08X registered policy=P-%08X kind=%s reserve=%.2f EUR",
		    id, id ^ 0x5a5a5a5au, prod, eur * 6);
		break;
	case T_PAYMENT:
		snprintf(msg, sizeof(msg), "payment captured amount=%.2f EUR psp_ref=psp_%08x%08x",
		    eur, id, (unsigned)mp_rng_next(r));
		break;
	case T_PRICE:
		snprintf(msg, sizeof(msg), "priced product=%s region=%s tariff=2023.%u premium=%.2f EUR factors=%u",
		    prod, regions[mp_rng_below(r, NELEM(regions))], 1 + mp_rng_below(r, 11), eur,
		    8 + mp_rng_below(r, 30));
		break;
	case T_SCORE:
		snprintf(msg, sizeof(msg), "fraud score %.3f for customer C%07u (threshold 0.820) model=gbm-2023-10",
		    mp_rng_unit(r) * 0.7, cust);
		break;
	case T_OFFER:
		snprintf(msg, sizeof(msg), "partner offer premium=%.2f EUR product=%s in %.0f ms", eur, prod,
		    ms);
		break;
	case T_NOTIFY:
		snprintf(msg, sizeof(msg), "email queued to customer C%07u template=policy-confirmation-%s",
		    cust, prod);
		break;
	case T_DOC:
		snprintf(msg, sizeof(msg), "rendered policy schedule for %s (%u pages, %u KB)", prod,
		    2 + mp_rng_below(r, 14), 40 + mp_rng_below(r, 600));
		break;
	case T_CUSTOMER:
		snprintf(msg, sizeof(msg), "customer C%07u loaded (segment=%s)", cust,
		    mp_rng_below(r, 2) ? "retail" : "broker");
		break;
	case T_KYC:
		snprintf(msg, sizeof(msg), "identity check passed for customer C%07u score=%u", cust,
		    60 + mp_rng_below(r, 40));
		break;
	case T_RULES:
		snprintf(msg, sizeof(msg), "evaluated %u rating rules for product=%s ruleset=v%u",
		    20 + mp_rng_below(r, 180), prod, 40 + mp_rng_below(r, 3));
		break;
	case T_UNDERWRITE:
		snprintf(msg, sizeof(msg), "underwriting decision=%s risk_class=%c customer=C%07u",
		    mp_rng_unit(r) < 0.9 ? "accept" : "refer", 'A' + (int)mp_rng_below(r, 5), cust);
		break;
	case T_DASH:
		snprintf(msg, sizeof(msg), "dashboard assembled for customer C%07u policies=%u claims=%u",
		    cust, 1 + mp_rng_below(r, 4), mp_rng_below(r, 3));
		break;
	default:
		return;
	}
	log_rec(g, o->svc, slot, en - ms_ns(0.05), SEV_INFO, msg, c->trace, sid);
}

/* ---- the request ------------------------------------------------------ */

/* internal: an in-process call, served by the caller's pod (slot). */
static struct res run_op(struct mp_gen *g, struct tctx *c, int oi, int64_t start,
    uint64_t parent, bool internal, int slot);

/* An uninstrumented external dependency: a CLIENT span with no server side. */
static int64_t
external_call(struct mp_gen *g, struct tctx *c, const struct mp_op *o, int slot, uint64_t parent,
    int64_t t, bool *fail)
{
	const struct mp_svc *s = &g->t->svc[o->svc];
	uint64_t id = new_id(g);
	double ms;
	bool spike = false;
	int64_t en;
	struct mp_buf *b;
	char url[160];

	if (s->decoy)
		ms = decoy_ms(g, o->def->ext_ms, 0.45 * s->sigma_mult, &spike);
	else
		ms = mp_rng_lognormal(&g->rng, o->def->ext_ms, 0.45 * s->sigma_mult);
	*fail = false;
	if (g->base_error_rate > 0 && mp_rng_unit(&g->rng) < g->base_error_rate * 10) {
		*fail = true;
		ms = 2500;  /* the partner timeout */
	}
	en = t + ms_ns(ms);
	snprintf(url, sizeof(url), "https://%s%s", o->def->ext_host,
	    o->def->topic == T_DOC ? "/marketplace-docs" : "/v2/requests");
	b = span_begin(g, c, o->svc, slot, id, parent, o->def->method, K_CLIENT, t, en);
	mp_attr_str(b, true, "http.request.method", o->def->method);
	mp_attr_str(b, false, "server.address", o->def->ext_host);
	mp_attr_str(b, false, "url.full", url);
	if (!*fail)
		mp_attr_int(b, false, "http.response.status_code", 200);
	else
		mp_attr_str(b, false, "error.type", "timeout");
	span_end(g, b, *fail, *fail ? "context deadline exceeded (Client.Timeout exceeded while awaiting headers)" : NULL,
	    NULL, 0);
	if (g->logs && (spike || *fail)) {
		char msg[200];

		snprintf(msg, sizeof(msg), *fail ? "%s did not answer within %.0f ms, offer skipped"
		                                 : "%s slow to respond: %.0f ms",
		    o->def->ext_host, ms);
		log_rec(g, o->svc, slot, en, *fail ? SEV_ERROR : SEV_WARN, msg, c->trace, parent);
	}
	return en;
}

/* Caller `o` (span `parent`, resource `slot`) calls operation `to` at time `t`. */
static struct res
do_call(struct mp_gen *g, struct tctx *c, const struct mp_op *o, int slot, uint64_t parent,
    int to, int64_t t)
{
	struct mp_topo *tp = g->t;
	const struct mp_op *callee = &tp->op[to];
	const struct mp_svc *cs = &tp->svc[callee->svc];
	struct res r;
	uint64_t cid;
	double out_ms, back_ms, wait_ms = 0, over = 0;
	bool pool_fail = false;
	int64_t st;
	struct mp_buf *b;
	char msg[240];

	if (callee->svc == o->svc)
		return run_op(g, c, to, t, parent, true, slot);

	cid = new_id(g);
	out_ms = mp_rng_lognormal(&g->rng, cs->net_ms, 0.5);
	back_ms = mp_rng_lognormal(&g->rng, cs->net_ms * 0.8, 0.5);
	if (c->nact) {
		out_ms += net_extra(g, c, callee->svc, 80);
		back_ms += net_extra(g, c, callee->svc, 25);
		if (cs->ds == DS_POSTGRES && (over = pool_over(g, c, callee->svc)) > 1) {
			/*
			 * Queue for a connection, give up after the pool timeout.
			 * Demand 1.5 times the pool is the default fault.
			 */
			double sev = (over - 1) / 0.5;

			if (mp_rng_unit(&g->rng) < (sev > 1.8 ? 0.9 : 0.5 * sev)) {
				wait_ms = mp_rng_exp(&g->rng, cs->pool_timeout_ms * 0.6 * sev);
				if (wait_ms >= cs->pool_timeout_ms) {
					wait_ms = cs->pool_timeout_ms;
					pool_fail = true;
				}
			}
		}
	}

	if (pool_fail) {
		int waiting = (int)(cs->pool_size * (over - 1) + mp_rng_below(&g->rng, 12));

		r.end = t + ms_ns(wait_ms) + ms_ns(0.05);
		r.code = 503;
		r.err = E_POOL;
		r.detail = "connection pool exhausted";
		r.via = callee->svc;
		snprintf(msg, sizeof(msg), "connection pool exhausted after %d ms waiting for %s",
		    cs->pool_timeout_ms, cs->name);
		b = span_begin(g, c, o->svc, slot, cid, parent, callee->name, K_CLIENT, t, r.end);
		mp_attr_str(b, true, "db.system", "postgresql");
		mp_attr_str(b, false, "db.operation.name", callee->def->method);
		mp_attr_str(b, false, "db.collection.name", callee->def->route);
		mp_attr_str(b, false, "server.address", cs->name);
		mp_attr_str(b, false, "error.type", "PoolTimeoutError");
		span_end(g, b, true, msg, NULL, 0);
		if (g->logs) {
			char lm[300];

			snprintf(lm, sizeof(lm), "%s (pool size %d, %d waiting, timeout %d ms)", msg,
			    cs->pool_size, waiting, cs->pool_timeout_ms);
			log_rec(g, o->svc, slot, r.end, SEV_ERROR, lm, c->trace, cid);
		}
		return r;
	}

	st = t + ms_ns(wait_ms + out_ms);
	r = run_op(g, c, to, st, cid, false, 0);
	r.end += ms_ns(back_ms);
	r.via = callee->svc;

	b = span_begin(g, c, o->svc, slot, cid, parent, callee->name, K_CLIENT, t, r.end);
	switch (cs->ds) {
	case DS_POSTGRES:
		mp_attr_str(b, true, "db.system", "postgresql");
		mp_attr_str(b, false, "db.operation.name", callee->def->method);
		mp_attr_str(b, false, "db.collection.name", callee->def->route);
		mp_attr_str(b, false, "server.address", cs->name);
		mp_attr_int(b, false, "server.port", 6432);
		break;
	case DS_REDIS:
		mp_attr_str(b, true, "db.system", "redis");
		mp_attr_str(b, false, "db.operation.name", callee->def->method);
		mp_attr_str(b, false, "server.address", cs->name);
		mp_attr_int(b, false, "server.port", 6379);
		break;
	case DS_KAFKA:
		mp_attr_str(b, true, "messaging.system", "kafka");
		mp_attr_str(b, false, "messaging.operation.type", "publish");
		mp_attr_str(b, false, "messaging.destination.name", callee->def->route);
		mp_attr_str(b, false, "server.address", cs->name);
		break;
	default:
		mp_attr_str(b, true, "http.request.method", callee->def->method);
		mp_attr_str(b, false, "server.address", cs->name);
		mp_attr_int(b, false, "server.port", 8080);
		mp_attr_int(b, false, "http.response.status_code", r.code ? r.code : 200);
		break;
	}
	if (r.code) {
		if (cs->ds == DS_NONE)
			snprintf(msg, sizeof(msg), "%d %s from %s", r.code, reason(r.code), cs->name);
		else
			snprintf(msg, sizeof(msg), "%s", r.detail ? r.detail : "query failed");
		mp_attr_str(b, false, "error.type", cs->ds == DS_NONE ? (r.code == 503 ? "503" : "500")
		                                                       : "db_error");
	}
	span_end(g, b, r.code != 0, msg, NULL, 0);

	if (g->logs) {
		double ms = (double)(r.end - t) / 1e6;

		if (wait_ms > 500) {
			char lm[240];

			snprintf(lm, sizeof(lm), "waited %.0f ms for a %s connection (pool size %d, %d waiting)",
			    wait_ms, cs->name, cs->pool_size,
			    (int)(cs->pool_size * (over - 1)) + (int)mp_rng_below(&g->lrng, 8));
			log_rec(g, o->svc, slot, t + ms_ns(wait_ms), SEV_WARN, lm, c->trace, cid);
		} else if (out_ms + back_ms > 60 && mp_rng_unit(&g->lrng) < 0.3) {
			char lm[240];

			snprintf(lm, sizeof(lm), "upstream %s slow: %s took %.0f ms", cs->name, callee->name,
			    ms);
			log_rec(g, o->svc, slot, r.end, SEV_WARN, lm, c->trace, cid);
		}
	}
	return r;
}

/* One operation in progress: what run_op's steps share. */
struct opst {
	const struct mp_op *o;
	struct mp_svc *s;
	int oi, slot;
	bool internal;
	uint64_t sid;
	struct eff e;
	double self, wait, pre;     /* ms */
	bool spike;                 /* a decoy's stall */
	bool own;                   /* fails by itself ... */
	int own_err, own_code, fail_at; /* ... how, and before which call */
	struct res fail;            /* a critical call that failed */
	const struct exc *ex;       /* the exception event, if any */
	int64_t start, end;
	int code;                   /* the span's error status code, 0 ok */
	char msg[320];
};

/* Self time, queueing and the span's own failure, faults included. */
static void
draw_work(struct mp_gen *g, const struct tctx *c, struct opst *st)
{
	const struct mp_op *o = st->o;
	struct mp_svc *s = st->s;
	struct eff *e = &st->e;

	if (s->decoy)
		st->self = decoy_ms(g, o->median_ms, o->sigma, &st->spike);
	else
		st->self = mp_rng_lognormal(&g->rng, o->median_ms, o->sigma);

	if (c->nact) {
		effects(g, c, o->svc, st->oi, st->slot, e);
		if (e->latency)
			st->self = st->self * e->lat_mult + mp_rng_lognormal(&g->rng, e->lat_add_ms, 0.4);
		if (e->cpu) {
			st->self *= mp_rng_lognormal(&g->rng, e->cpu_med, 0.45);
			if (mp_rng_unit(&g->rng) < 0.05)
				st->self += mp_rng_lognormal(&g->rng, 80, 0.5);
		}
		if (e->gc_p > 0 && mp_rng_unit(&g->rng) < e->gc_p)
			st->self += mp_rng_lognormal(&g->rng, 250, 0.5);
		if (e->stuck_p > 0 && !st->internal && mp_rng_unit(&g->rng) < e->stuck_p) {
			/* no idle worker: the request waits, and past the
			 * timeout it is refused */
			st->wait = mp_rng_lognormal(&g->rng, 1500, 0.7);
			if (st->wait > 3000) {
				st->wait = 3000;
				st->own = true;
				st->own_err = E_STUCK;
				st->own_code = 503;
				st->fail_at = 0;
			}
		}
		if (e->rho > 0 && !st->internal) {
			/* M/M/1-like queueing in front of the service, past a knee */
			double rho = e->rho > 0.98 ? 0.98 : e->rho;

			s->win_rho = e->rho > s->win_rho ? e->rho : s->win_rho;
			if (rho > 0.6 && mp_rng_unit(&g->rng) < rho) {
				double mean = o->median_ms * 4 * (rho - 0.6) / (1 - rho);

				st->wait = mp_rng_exp(&g->rng, mean);
				if (st->wait > 30 * o->median_ms + 2000)
					st->wait = 30 * o->median_ms + 2000;
			}
			if (e->rho > 0.95 && mp_rng_unit(&g->rng) < (e->rho - 0.95) * 1.5) {
				st->own = true;
				st->own_err = E_OVERLOAD;
				st->own_code = 503;
				st->fail_at = 0;
				st->self *= 0.2;
			}
		}
		if (!st->own && e->err_p > 0 && mp_rng_unit(&g->rng) < e->err_p) {
			st->own = true;
			st->own_err = e->err_kind;
			st->own_code = (e->err_kind == E_INTERNAL && mp_rng_unit(&g->rng) < 0.3) ? 503 : 500;
			st->fail_at = (int)mp_rng_below(&g->rng, (uint32_t)o->ncall + 1);
		}
	}
	if (!st->own && g->base_error_rate > 0 && s->layer != L_DATA && s->layer != L_EDGE &&
	    mp_rng_unit(&g->rng) < g->base_error_rate) {
		st->own = true;
		st->own_err = E_BASE;
		st->own_code = 500;
		st->fail_at = (int)mp_rng_below(&g->rng, (uint32_t)o->ncall + 1);
	}
}

/* The calls, from time t on: sequential, or parallel within a group. */
static int64_t
make_calls(struct mp_gen *g, struct tctx *c, struct opst *st, int64_t t)
{
	const struct mp_op *o = st->o;
	struct res r;

	if (o->def->ext_host && (!st->own || st->fail_at > 0)) {
		bool xfail;

		t = external_call(g, c, o, st->slot, st->sid, t, &xfail) + ms_ns(0.02);
		if (xfail && !st->own) {
			st->fail.code = 504;
			st->fail.err = E_UPSTREAM;
			st->fail.detail = "timeout calling external dependency";
			st->fail.via = o->svc;
		}
	}
	for (int i = 0; i < o->ncall && !st->fail.code;) {
		if (st->own && i >= st->fail_at)
			break;
		if (o->call[i].group == 0) {
			if (o->call[i].p >= 1 || mp_rng_unit(&g->rng) < o->call[i].p) {
				r = do_call(g, c, o, st->slot, st->sid, o->call[i].op, t);
				t = r.end + ms_ns(0.01 + 0.05 * mp_rng_unit(&g->rng));
				if (r.code && o->call[i].critical)
					st->fail = r;
			}
			i++;
		} else {
			int grp = o->call[i].group;
			int64_t gs = t, gend = t;

			for (; i < o->ncall && o->call[i].group == grp; i++) {
				if (o->call[i].p < 1 && mp_rng_unit(&g->rng) >= o->call[i].p)
					continue;
				r = do_call(g, c, o, st->slot, st->sid, o->call[i].op, gs);
				gs += ms_ns(0.02 + 0.04 * mp_rng_unit(&g->rng));
				if (r.end > gend)
					gend = r.end;
				if (r.code && o->call[i].critical && !st->fail.code)
					st->fail = r;
			}
			t = gend + ms_ns(0.02);
		}
	}
	return t;
}

/* The span's status code and message, and its exception. */
static void
set_status(struct mp_gen *g, struct opst *st)
{
	const struct mp_svc *s = st->s;
	const struct res *f = &st->fail;

	st->code = 0;
	st->msg[0] = '\0';
	if (st->own) {
		st->code = st->own_code;
		switch (st->own_err) {
		case E_RELEASE:
			st->ex = &rel_exc[s->def->lang];
			snprintf(st->msg, sizeof(st->msg), "%s: %s", st->ex->type, st->ex->msg);
			break;
		case E_OVERLOAD:
			snprintf(st->msg, sizeof(st->msg),
			    "503 Service Unavailable: request queue full (depth %d)",
			    (int)(100 + mp_rng_below(&g->rng, 400)));
			break;
		case E_OOM:
			st->ex = &oom_exc[s->def->lang];
			snprintf(st->msg, sizeof(st->msg), "%s: %s", st->ex->type, st->ex->msg);
			break;
		case E_STUCK:
			snprintf(st->msg, sizeof(st->msg),
			    "503 Service Unavailable: no idle worker after 3000 ms (%d of 16 workers stuck)",
			    (int)(11 + mp_rng_below(&g->rng, 5)));
			break;
		default:
			st->ex = pick_failure(g, s);
			if (s->ds == DS_NONE)
				snprintf(st->msg, sizeof(st->msg), "%s: %s", st->ex->type, st->ex->msg);
			else if (s->ds == DS_POSTGRES)
				snprintf(st->msg, sizeof(st->msg), "%s (SQLSTATE %s)", st->ex->msg,
				    st->ex->type);
			else
				snprintf(st->msg, sizeof(st->msg), "%s", st->ex->msg);
			break;
		}
	} else if (f->code) {
		st->code = s->layer == L_EDGE || f->code == 504 ? f->code
		                                                : (f->err == E_POOL ? 503 : 500);
		if (f->via >= 0 && f->via != st->o->svc)
			snprintf(st->msg, sizeof(st->msg), "upstream %s failed: %s",
			    g->t->svc[f->via].name, f->detail ? f->detail : "dependency error");
		else
			snprintf(st->msg, sizeof(st->msg), "%s", f->detail ? f->detail : "internal error");
	}
}

static void
write_span(struct mp_gen *g, const struct tctx *c, struct opst *st, uint64_t parent)
{
	const struct mp_op *o = st->o;
	const struct mp_svc *s = st->s;
	struct mp_buf *b;

	if (st->internal) {
		const char *fn = o->def->fn ? o->def->fn : o->name;

		b = span_begin(g, c, o->svc, st->slot, st->sid, parent, fn, K_INTERNAL, st->start,
		    st->end);
		mp_attr_str(b, true, "code.function.name", fn);
	} else {
		b = span_begin(g, c, o->svc, st->slot, st->sid, parent, o->name, K_SERVER, st->start,
		    st->end);
		switch (s->ds) {
		case DS_POSTGRES:
			mp_attr_str(b, true, "db.system", "postgresql");
			mp_attr_str(b, false, "db.operation.name", o->def->method);
			mp_attr_str(b, false, "db.collection.name", o->def->route);
			mp_attr_str(b, false, "db.query.text", o->def->stmt);
			break;
		case DS_REDIS:
			mp_attr_str(b, true, "db.system", "redis");
			mp_attr_str(b, false, "db.operation.name", o->def->method);
			mp_attr_str(b, false, "db.query.text", o->def->stmt);
			break;
		case DS_KAFKA:
			mp_attr_str(b, true, "messaging.system", "kafka");
			mp_attr_str(b, false, "messaging.operation.type", "receive");
			mp_attr_str(b, false, "messaging.destination.name", o->def->route);
			mp_attr_int(b, false, "messaging.destination.partition.id",
			    (int64_t)mp_rng_below(&g->rng, 12));
			break;
		default: {
			int hc = st->code;

			/* a few client errors: not span errors for a server (semconv) */
			if (!hc) {
				hc = strcmp(o->def->method, "POST") == 0 ? 201 : 200;
				if (s->layer <= L_API && mp_rng_unit(&g->rng) < 0.01)
					hc = o->def->method[0] == 'G' ? 404 : 422;
			}
			mp_attr_str(b, true, "http.request.method", o->def->method);
			mp_attr_str(b, false, "http.route", o->def->route);
			mp_attr_int(b, false, "http.response.status_code", hc);
			if (st->code)
				mp_attr_str(b, false, "error.type", st->code == 503 ? "503" : "500");
			if (g->logs && !st->code &&
			    mp_rng_unit(&g->lrng) < (s->layer == L_EDGE ? 0.05 : 0.08))
				chatter(g, c, o, st->slot, st->sid, st->start, st->end, hc);
			break;
		}
		}
	}
	span_end(g, b, st->code != 0, st->msg, st->ex, st->start + ms_ns(st->wait + st->pre));
}

/* WARN and ERROR lines about what went wrong in this operation. */
static void
trouble_logs(struct mp_gen *g, const struct tctx *c, const struct opst *st)
{
	static const char *const cpu_fmt[] = {
		[LANG_JAVA] = "GC pause (G1 Evacuation Pause) %u ms, heap %u%% used",
		[LANG_GO] = "scheduler latency %u ms, %u goroutines runnable",
		[LANG_PY] = "event loop blocked for %u ms (%u tasks pending)",
		[LANG_NODE] = "event loop lag %u ms, %u active handles",
		[LANG_ENVOY] = "worker thread overloaded: %u ms dispatch delay, %u%% cpu",
		[LANG_NATIVE] = "slow operation: %u ms, %u%% cpu",
	};
	const struct mp_op *o = st->o;
	const struct mp_svc *s = st->s;
	const char *what = st->internal && o->def->fn ? o->def->fn : o->name;
	double ms = (double)(st->end - st->start) / 1e6;
	int svc = o->svc, slot = st->slot;
	char lm[800];

	if (st->own && st->own_err != E_OVERLOAD) {
		snprintf(lm, sizeof(lm), "unhandled error in %s: %s", what, st->msg);
		log_rec(g, svc, slot, st->end, SEV_ERROR, lm, c->trace, st->sid);
	} else if (st->own) {
		snprintf(lm, sizeof(lm), "rejected %s: request queue full (depth %u, replicas %d)",
		    what, 100 + mp_rng_below(&g->lrng, 400), s->replicas);
		log_rec(g, svc, slot, st->start, SEV_ERROR, lm, c->trace, st->sid);
	} else if (st->fail.code && mp_rng_unit(&g->lrng) < 0.6) {
		snprintf(lm, sizeof(lm), "request %s failed with %d: %s", what, st->code, st->msg);
		log_rec(g, svc, slot, st->end, SEV_ERROR, lm, c->trace, st->sid);
	}
	if (ms > 1000 && ms > 10 * o->median_ms && mp_rng_unit(&g->lrng) < 0.5) {
		snprintf(lm, sizeof(lm), "slow request: %s took %.0f ms", what, ms);
		log_rec(g, svc, slot, st->end, SEV_WARN, lm, c->trace, st->sid);
	} else if (st->e.latency && !st->internal && mp_rng_unit(&g->lrng) < 0.1) {
		snprintf(lm, sizeof(lm), "%s took %.0f ms, over its %.0f ms latency objective", what,
		    ms, o->median_ms * 4 + 50);
		log_rec(g, svc, slot, st->end, SEV_WARN, lm, c->trace, st->sid);
	}
	if (st->e.cpu && mp_rng_unit(&g->lrng) < 0.04) {
		snprintf(lm, sizeof(lm), cpu_fmt[s->def->lang], 40 + mp_rng_below(&g->lrng, 300),
		    60 + mp_rng_below(&g->lrng, 38));
		log_rec(g, svc, slot, st->start, SEV_WARN, lm, c->trace, st->sid);
	}
	if (st->e.gc_p > 0 && mp_rng_unit(&g->lrng) < 0.08) {
		snprintf(lm, sizeof(lm),
		    "memory not reclaimed after full GC: resident %u MB of %u MB limit, "
		    "growing %u MB/min", (unsigned)(s->mem_mb * (1.7 + 0.2 * mp_rng_unit(&g->lrng))),
		    (unsigned)(s->mem_mb * 2), 40 + mp_rng_below(&g->lrng, 30));
		log_rec(g, svc, slot, st->start, SEV_WARN, lm, c->trace, st->sid);
	}
	if (st->e.stuck_p > 0 && mp_rng_unit(&g->lrng) < 0.06) {
		snprintf(lm, sizeof(lm),
		    "watchdog: worker %s-worker-%u stuck for %u s in %s, %u of 16 workers stuck",
		    s->name, mp_rng_below(&g->lrng, 16), 30 + mp_rng_below(&g->lrng, 600), what,
		    11 + mp_rng_below(&g->lrng, 5));
		log_rec(g, svc, slot, st->start, SEV_WARN, lm, c->trace, st->sid);
	} else if (st->wait > 200 && mp_rng_unit(&g->lrng) < 0.1) {
		snprintf(lm, sizeof(lm),
		    "request queue depth %u above soft limit 64 (replicas %d, waited %.0f ms)",
		    64 + mp_rng_below(&g->lrng, 300), s->replicas, st->wait);
		log_rec(g, svc, slot, st->start, SEV_WARN, lm, c->trace, st->sid);
	}
	if (st->spike && mp_rng_unit(&g->lrng) < 0.3) {
		snprintf(lm, sizeof(lm), "%s took %.0f ms (p50 %.0f ms)", what, ms, o->median_ms);
		log_rec(g, svc, slot, st->end, SEV_WARN, lm, c->trace, st->sid);
	}
}

/*
 * Run operation oi from `start` as a SERVER span (or INTERNAL when the
 * caller serves it in-process, in the caller's pod `slot`), its calls
 * included; write its span; return what its caller sees.
 */
static struct res
run_op(struct mp_gen *g, struct tctx *c, int oi, int64_t start, uint64_t parent, bool internal,
    int slot)
{
	struct opst st;
	double post;
	int64_t t;
	struct res r;

	memset(&st, 0, sizeof(st));
	st.o = &g->t->op[oi];
	st.s = &g->t->svc[st.o->svc];
	st.oi = oi;
	st.internal = internal;
	st.sid = new_id(g);
	st.slot = internal ? slot : (c->nact ? pick_slot(g, c, st.o->svc) : 0);
	st.fail_at = st.o->ncall;
	st.fail.via = -1;
	st.e.lat_mult = 1;
	st.start = start;

	draw_work(g, c, &st);
	st.pre = st.self * (0.3 + 0.3 * mp_rng_unit(&g->rng));
	post = st.self - st.pre;
	t = make_calls(g, c, &st, start + ms_ns(st.wait + st.pre));
	if (st.fail.code || st.own)
		post *= 0.3;
	st.end = t + ms_ns(post);
	if (st.end <= start)
		st.end = start + 1000;
	set_status(g, &st);
	write_span(g, c, &st, parent);

	/* metrics */
	if (!internal) {
		st.s->win_req++;
		if (st.code)
			st.s->win_err++;
		st.s->win_dur_ms += (double)(st.end - start) / 1e6;
	}
	st.s->win_busy_ms += st.self;
	if (g->logs)
		trouble_logs(g, c, &st);

	r.end = st.end;
	r.code = st.code;
	r.err = st.own ? st.own_err : (st.fail.code ? E_UPSTREAM : E_OK);
	r.via = st.o->svc;
	r.detail = NULL;
	if (st.own) {
		switch (st.own_err) {
		case E_RELEASE:
			r.detail = rel_exc[st.s->def->lang].msg;
			break;
		case E_OVERLOAD:
			r.detail = "request queue full";
			break;
		case E_STUCK:
			r.detail = "no idle worker";
			break;
		default:
			r.detail = st.ex ? st.ex->msg : "internal error";
			break;
		}
	} else if (st.fail.code)
		r.detail = st.fail.detail;
	return r;
}

static int
pick_route(struct mp_gen *g)
{
	const struct mp_topo *t = g->t;
	double u = mp_rng_unit(&g->rng) * t->route_cum[t->nroute - 1];

	for (int i = 0; i < t->nroute; i++)
		if (u < t->route_cum[i])
			return t->route[i];
	return t->route[t->nroute - 1];
}

void
mp_gen_trace(struct mp_gen *g, int64_t t0)
{
	struct tctx c;
	uint64_t a, b;

	c.t0 = t0;
	c.nact = 0;
	for (int i = 0; i < g->nfault; i++) {
		struct mp_fault *f = &g->fault[i];

		if (!fault_active(g, f, t0))
			continue;
		c.act[c.nact++] = i;
		if (f->kind == F_RELEASE && !f->announced && !release_by_tag(g, f)) {
			char m[160];

			f->announced = true;
			snprintf(m, sizeof(m), "starting %s version %s (rolling update from %s)",
			    g->t->svc[f->svc].name, g->t->svc[f->svc].version_new,
			    g->t->svc[f->svc].version);
			mp_gen_log_event(g, f->svc, 1, f->start_ns > g->start_ns ? f->start_ns : t0,
			    SEV_INFO, m);
		}
	}
	a = new_id(g);
	b = mp_rng_next(&g->rng);
	for (int i = 0; i < 8; i++) {
		c.trace[i] = (uint8_t)(a >> (56 - 8 * i));
		c.trace[8 + i] = (uint8_t)(b >> (56 - 8 * i));
	}
	{
		struct mp_epoch *e = &g->epo[g->ep];
		struct res r;

		if (e->traces == 0)
			e->t0 = t0;
		r = run_op(g, &c, pick_route(g), t0, 0, false, 0);
		if (r.end > e->max_end)
			e->max_end = r.end;
		e->traces++;
	}
	g->ntraces++;
}

bool
mp_gen_batch_full(const struct mp_gen *g, int64_t now_event)
{
	const struct mp_epoch *e = &g->epo[g->ep];

	if (e->traces == 0)
		return false;
	return g->batch_bytes >= g->batch_target || now_event - e->t0 >= 2 * NS_PER_S;
}

static void
emit_group(struct mp_gen *g, bool logs, int ep)
{
	struct mp_topo *t = g->t;
	struct mp_buf *L = &g->line;
	bool first = true;

	if (logs)
		MP_LIT(L, "{\"resourceLogs\":[");
	else
		MP_LIT(L, "{\"resourceSpans\":[");
	for (int i = 0; i < t->nsvc; i++) {
		struct mp_svc *s = &t->svc[i];

		for (int k = 0; k < MP_NSLOT; k++) {
			struct mp_buf *b = logs ? &s->logs[ep][k] : &s->spans[ep][k];
			uint32_t *n = logs ? &s->nlogs[ep][k] : &s->nspans[ep][k];

			if (*n == 0)
				continue;
			if (!first)
				mp_buf_putc(L, ',');
			first = false;
			mp_buf_put(L, s->res[k].p, s->res[k].len);
			if (logs) {
				MP_LIT(L, "Logs\":[{\"scope\":{\"name\":\"");
				mp_buf_puts(L, mp_topo_log_scope(s));
				MP_LIT(L, "\"},\"logRecords\":[");
			} else {
				MP_LIT(L, "Spans\":[{\"scope\":{\"name\":\"");
				mp_buf_puts(L, mp_topo_scope(s));
				MP_LIT(L, "\"},\"spans\":[");
			}
			mp_buf_put(L, b->p, b->len);
			MP_LIT(L, "]}]}");
			b->len = 0;
			*n = 0;
		}
	}
	MP_LIT(L, "]}\n");
	g->nlines++;
}

static void
flush_epoch(struct mp_gen *g, int ep)
{
	struct mp_epoch *e = &g->epo[ep];

	if (e->traces > 0)
		emit_group(g, false, ep);
	if (e->nlogs > 0)
		emit_group(g, true, ep);
	memset(e, 0, sizeof(*e));
}

void
mp_gen_flush_batch(struct mp_gen *g)
{
	flush_epoch(g, g->ep);
	g->batch_bytes = 0;
	/* collector batches vary in size: 10 to 50 KB lines */
	g->batch_target = 8000 + mp_rng_below(&g->brng, 30000);
	mp_gen_drain(g, false);
}

void
mp_gen_flush_all(struct mp_gen *g)
{
	for (int i = 1; i <= MP_NEPOCH; i++) {
		int ep = (g->ep + i) % MP_NEPOCH;

		if (g->epo[ep].traces || g->epo[ep].nlogs)
			flush_epoch(g, ep);
	}
	g->batch_bytes = 0;
	mp_gen_drain(g, false);
}

void
mp_gen_live_rotate(struct mp_gen *g, int64_t now)
{
	struct mp_epoch *e = &g->epo[g->ep];

	e->closed_ns = now;
	e->pending = e->traces || e->nlogs;
	g->ep = (g->ep + 1) % MP_NEPOCH;
	/* the ring is full: out it goes, finished or not */
	if (g->epo[g->ep].pending)
		flush_epoch(g, g->ep);
	g->batch_bytes = 0;
	g->batch_target = 8000 + mp_rng_below(&g->brng, 30000);
}

bool
mp_gen_live_flush_done(struct mp_gen *g, int64_t now)
{
	bool any = false;

	for (int i = 1; i < MP_NEPOCH; i++) {
		int ep = (g->ep + i) % MP_NEPOCH;
		struct mp_epoch *e = &g->epo[ep];

		if (e->pending && (now >= e->max_end || now - e->closed_ns >= 30 * NS_PER_S)) {
			flush_epoch(g, ep);
			any = true;
		}
	}
	return any;
}

static void
metric_head(struct mp_buf *L, const char *name, const char *unit, const char *type)
{
	MP_LIT(L, "{\"name\":\"");
	mp_buf_puts(L, name);
	MP_LIT(L, "\",\"unit\":\"");
	mp_buf_puts(L, unit);
	MP_LIT(L, "\",\"");
	mp_buf_puts(L, type);
	MP_LIT(L, "\":{\"dataPoints\":[");
}

static void
point_dbl(struct mp_buf *L, int64_t t0, int64_t t, double v, const char *akey, const char *aval)
{
	if (t0) {
		MP_LIT(L, "{\"startTimeUnixNano\":\"");
		mp_buf_u64(L, (uint64_t)t0);
		MP_LIT(L, "\",\"timeUnixNano\":\"");
	} else
		MP_LIT(L, "{\"timeUnixNano\":\"");
	mp_buf_u64(L, (uint64_t)t);
	MP_LIT(L, "\",\"asDouble\":");
	mp_buf_dbl(L, v, 4);
	if (akey) {
		MP_LIT(L, ",\"attributes\":[");
		mp_attr_str(L, true, akey, aval);
		MP_LIT(L, "]");
	}
	MP_LIT(L, "}");
}

static void
point_int(struct mp_buf *L, int64_t t0, int64_t t, int64_t v, const char *akey, const char *aval)
{
	if (t0) {
		MP_LIT(L, "{\"startTimeUnixNano\":\"");
		mp_buf_u64(L, (uint64_t)t0);
		MP_LIT(L, "\",\"timeUnixNano\":\"");
	} else
		MP_LIT(L, "{\"timeUnixNano\":\"");
	mp_buf_u64(L, (uint64_t)t);
	MP_LIT(L, "\",\"asInt\":\"");
	mp_buf_i64(L, v);
	MP_LIT(L, "\"");
	if (akey) {
		MP_LIT(L, ",\"attributes\":[");
		mp_attr_str(L, true, akey, aval);
		MP_LIT(L, "]");
	}
	MP_LIT(L, "}");
}

void
mp_gen_metrics(struct mp_gen *g, int64_t t)
{
	struct mp_topo *tp = g->t;
	struct mp_buf *L = &g->line;
	struct mp_rng *r = &g->lrng;
	double win_s = 10;
	struct tctx c;

	/* faults active now, for the gauges they move */
	c.t0 = t;
	c.nact = 0;
	for (int i = 0; i < g->nfault; i++)
		if (fault_active(g, &g->fault[i], t))
			c.act[c.nact++] = i;

	MP_LIT(L, "{\"resourceMetrics\":[");
	for (int i = 0; i < tp->nsvc; i++) {
		struct mp_svc *s = &tp->svc[i];
		double cores = s->replicas * s->def->cpu_m / 1000.0;
		double cpu, mem, active, over;
		bool cpu_fault = false;
		double leak = 0;	/* resident memory added by a leak, share */

		for (int k = 0; k < c.nact; k++) {
			const struct mp_fault *f = &g->fault[c.act[k]];

			if (f->svc == i && f->kind == F_CPU)
				cpu_fault = true;
			/* found when it is already large, growing ~0.4x a minute */
			if (f->svc == i && f->kind == F_LEAK && !cleared_by_restart(g, f)) {
				double l = 0.7 * f->intensity + 0.4 * (double)(t - f->start_ns) / 60e9;

				leak = l > leak ? (l < 1.6 ? l : 1.6) : leak;
			}
		}
		s->req_total += s->win_req;
		s->err_total += s->win_err;
		cpu = 0.06 + 0.9 * s->win_busy_ms / (win_s * 1000 * (cores > 0 ? cores : 1)) +
		    0.015 * mp_rng_normal(r);
		if (cpu_fault)
			cpu += 0.35 * (0.7 + 0.6 * mp_rng_unit(r));
		if (s->win_rho > 0.5)
			cpu = cpu > 0.9 * s->win_rho ? cpu : 0.9 * s->win_rho;
		if (cpu < 0.01)
			cpu = 0.01;
		if (cpu > 0.99)
			cpu = 0.99;
		mem = s->mem_mb * (1 + 0.06 * sin((double)(t - g->start_ns) / 1e9 / 900 * 6.2831853) +
		                      0.01 * mp_rng_normal(r) + leak);
		active = s->win_dur_ms / (win_s * 1000);

		if (i)
			mp_buf_putc(L, ',');
		mp_buf_put(L, s->res[0].p, s->res[0].len);
		MP_LIT(L, "Metrics\":[{\"scope\":{\"name\":\"marketplace.runtime\",\"version\":\"1.0.0\"},\"metrics\":[");
		metric_head(L, "process.cpu.utilization", "1", "gauge");
		point_dbl(L, 0, t, cpu, NULL, NULL);
		MP_LIT(L, "]}},");
		metric_head(L, "process.memory.usage", "By", "gauge");
		point_int(L, 0, t, (int64_t)(mem * 1048576), NULL, NULL);
		MP_LIT(L, "]}},");
		metric_head(L, "http.server.active_requests", "{request}", "gauge");
		point_dbl(L, 0, t, active, NULL, NULL);
		MP_LIT(L, "]}},");
		metric_head(L, "http.server.request.count", "{request}", "sum");
		point_int(L, g->start_ns, t, (int64_t)s->req_total, NULL, NULL);
		MP_LIT(L, "],\"aggregationTemporality\":2,\"isMonotonic\":true}},");
		metric_head(L, "http.server.error.count", "{request}", "sum");
		point_int(L, g->start_ns, t, (int64_t)s->err_total, NULL, NULL);
		MP_LIT(L, "],\"aggregationTemporality\":2,\"isMonotonic\":true}}");
		if (s->ds == DS_POSTGRES) {
			double used = s->pool_size * (0.15 + 0.5 * active / (s->replicas + 1.0)) +
			    mp_rng_below(r, 3);

			over = pool_over(g, &c, i);
			if (over > 1)
				used = s->pool_size;
			if (used > s->pool_size)
				used = s->pool_size;
			MP_LIT(L, ",");
			metric_head(L, "db.client.connection.count", "{connection}", "gauge");
			point_int(L, 0, t, (int64_t)used, "db.client.connection.state", "used");
			MP_LIT(L, ",");
			point_int(L, 0, t, (int64_t)(s->pool_size - used), "db.client.connection.state",
			    "idle");
			MP_LIT(L, "]}},");
			metric_head(L, "db.client.connection.max", "{connection}", "gauge");
			point_int(L, 0, t, s->pool_size, NULL, NULL);
			MP_LIT(L, "]}},");
			metric_head(L, "db.client.connection.pending_requests", "{request}", "gauge");
			point_int(L, 0, t, over > 1 ? (int64_t)(s->pool_size * (over - 1)) : 0, NULL, NULL);
			MP_LIT(L, "]}}");
		}
		MP_LIT(L, "]}]}");
		s->win_req = s->win_err = 0;
		s->win_busy_ms = s->win_dur_ms = 0;
		s->win_rho = 0;
	}
	MP_LIT(L, "]}\n");
	g->nmetric_lines++;
	g->nlines++;
	mp_gen_drain(g, false);
}

void
mp_gen_drain(struct mp_gen *g, bool force)
{
	if (g->line.len == 0 || (!force && g->line.len < (1u << 20)))
		return;
	if (!g->write_error && fwrite(g->line.p, 1, g->line.len, g->out) != g->line.len)
		g->write_error = true;
	g->nbytes += g->line.len;
	g->line.len = 0;
}

/* ---- live fault state -------------------------------------------------- */

bool
mp_gen_fault_bites(const struct mp_gen *g, const struct mp_fault *f, int64_t t)
{
	const struct mp_svc *s = &g->t->svc[f->svc];

	if (!fault_active(g, f, t))
		return false;
	switch (f->kind) {
	case F_RELEASE:
		return !release_by_tag(g, f) || strcmp(s->version, f->bad_tag) == 0;
	case F_SATURATION:
		return 0.75 * f->intensity * mp_gen_rate_at(g, t) / (f->load0 > 0 ? f->load0 : 1) *
		    f->replicas0 / (s->replicas > 0 ? s->replicas : 1) > 0.6;
	case F_POOL:
		return f->pool_needed > s->pool_size;
	case F_LEAK:
	case F_STUCK:
		return !cleared_by_restart(g, f);
	default:
		return true;
	}
}

bool
mp_gen_track_faults(struct mp_gen *g, int64_t now)
{
	bool any = false;

	for (int i = 0; i < g->nfault; i++) {
		struct mp_fault *f = &g->fault[i];
		bool b = mp_gen_fault_bites(g, f, now);

		if (b == f->biting)
			continue;
		f->biting = b;
		if (b) {
			f->bite_ns = now;
			f->heal_ns = 0;
		} else
			f->heal_ns = now;
		any = true;
	}
	return any;
}

/* ---- the truth file ---------------------------------------------------- */

int
mp_gen_write_truth(const struct mp_gen *g, const char *path)
{
	const struct mp_topo *t = g->t;
	struct mp_buf b = { 0 };
	bool first = true;
	char tmp[1100];
	FILE *fp;
	int rc = 0;

	MP_LIT(&b, "{\"seed\":");
	mp_buf_u64(&b, t->seed);
	MP_LIT(&b, ",\"start_ms\":");
	mp_buf_i64(&b, g->start_ns / NS_PER_MS);
	MP_LIT(&b, ",\"end_ms\":");
	if (g->end_ns == INT64_MAX)
		MP_LIT(&b, "null");
	else
		mp_buf_i64(&b, g->end_ns / NS_PER_MS);
	MP_LIT(&b, ",\"rate\":");
	mp_buf_dbl(&b, g->rate, 3);
	MP_LIT(&b, ",\"rate_ramp\":");
	mp_buf_dbl(&b, g->ramp, 3);
	MP_LIT(&b, ",\"faults\":[");
	for (int i = 0; i < g->nfault; i++) {
		const struct mp_fault *f = &g->fault[i];
		const struct mp_svc *s = &t->svc[f->svc];

		if (f->kind == F_NONE)
			continue;
		if (!first)
			mp_buf_putc(&b, ',');
		first = false;
		MP_LIT(&b, "{\"kind\":");
		mp_buf_jstr(&b, mp_fault_name(f->kind));
		MP_LIT(&b, ",\"culprit\":");
		mp_buf_jstr(&b, s->name);
		MP_LIT(&b, ",\"operation\":");
		if (f->op >= 0)
			mp_buf_jstr(&b, t->op[f->op].name);
		else
			MP_LIT(&b, "null");
		MP_LIT(&b, ",\"layer\":");
		mp_buf_jstr(&b, mp_layer_name(s->layer));
		MP_LIT(&b, ",\"start_ms\":");
		mp_buf_i64(&b, f->start_ns / NS_PER_MS);
		MP_LIT(&b, ",\"end_ms\":");
		if (f->end_ns == INT64_MAX)
			MP_LIT(&b, "null");
		else
			mp_buf_i64(&b, f->end_ns / NS_PER_MS);
		MP_LIT(&b, ",\"intensity\":");
		mp_buf_dbl(&b, f->intensity, 3);
		if (f->kind == F_RELEASE) {
			MP_LIT(&b, ",\"from_version\":");
			mp_buf_jstr(&b, f->from_version);
			MP_LIT(&b, ",\"to_version\":");
			mp_buf_jstr(&b, f->to_version);
		}
		if (f->live)
			MP_LIT(&b, ",\"source\":\"control\"");
		if (g->live) {
			/* when the desired state let it act, and when it stopped */
			MP_LIT(&b, ",\"effective_ms\":");
			if (f->bite_ns)
				mp_buf_i64(&b, f->bite_ns / NS_PER_MS);
			else
				MP_LIT(&b, "null");
			MP_LIT(&b, ",\"resolved_ms\":");
			if (f->heal_ns)
				mp_buf_i64(&b, f->heal_ns / NS_PER_MS);
			else
				MP_LIT(&b, "null");
		}
		MP_LIT(&b, "}");
	}
	MP_LIT(&b, "],\"decoys\":[");
	first = true;
	for (int i = 0; i < t->nsvc; i++) {
		if (!t->svc[i].decoy)
			continue;
		if (!first)
			mp_buf_putc(&b, ',');
		first = false;
		mp_buf_jstr(&b, t->svc[i].name);
	}
	MP_LIT(&b, "],\"services\":[");
	for (int i = 0; i < t->nsvc; i++) {
		if (i)
			mp_buf_putc(&b, ',');
		mp_buf_jstr(&b, t->svc[i].name);
	}
	MP_LIT(&b, "],\"layers\":{");
	for (int i = 0; i < t->nsvc; i++) {
		if (i)
			mp_buf_putc(&b, ',');
		mp_buf_jstr(&b, t->svc[i].name);
		mp_buf_putc(&b, ':');
		mp_buf_jstr(&b, mp_layer_name(t->svc[i].layer));
	}
	MP_LIT(&b, "},\"versions\":{");
	for (int i = 0; i < t->nsvc; i++) {
		if (i)
			mp_buf_putc(&b, ',');
		mp_buf_jstr(&b, t->svc[i].name);
		mp_buf_putc(&b, ':');
		mp_buf_jstr(&b, t->svc[i].version);
	}
	MP_LIT(&b, "},\"edges\":[");
	for (int i = 0; i < t->nedge; i++) {
		if (i)
			mp_buf_putc(&b, ',');
		MP_LIT(&b, "{\"from\":");
		mp_buf_jstr(&b, t->svc[t->edge[i].from].name);
		MP_LIT(&b, ",\"to\":");
		mp_buf_jstr(&b, t->svc[t->edge[i].to].name);
		MP_LIT(&b, "}");
	}
	MP_LIT(&b, "]}\n");

	/* write then rename, so a reader never sees half a file (live mode rewrites it) */
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		mp_buf_free(&b);
		return -1;
	}
	if ((fp = fopen(tmp, "w")) == NULL) {
		mp_buf_free(&b);
		return -1;
	}
	if (fwrite(b.p, 1, b.len, fp) != b.len)
		rc = -1;
	if (fclose(fp) != 0)
		rc = -1;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -1;
	if (rc != 0)
		remove(tmp);
	mp_buf_free(&b);
	return rc;
}
