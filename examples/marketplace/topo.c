/*
 * topo.c: the insurance marketplace.  A fixed catalog of services and
 * operation templates; a seed picks which services exist (8 core ones plus
 * a weighted draw of optional ones) and jitters versions, replicas and
 * medians.  Each operation template names the services that may serve it,
 * first present wins, so any subset stays a coherent call graph: without
 * a policy-api, quote-api serves the policy routes; without a
 * customer-profile, quote-service looks customers up in-process (an
 * INTERNAL span).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "mp.h"

/* Layer order: edge, API, domain, datastores.  The first 8 are the core. */
static const struct mp_svc_def catalog[] = {
	{ "edge-gateway", L_EDGE, DS_NONE, LANG_ENVOY, 0, 0.0f, 160, 500 },
	{ "quote-api", L_API, DS_NONE, LANG_JAVA, 0, 0.0f, 640, 500 },
	{ "policy-api", L_API, DS_NONE, LANG_JAVA, 0.8f, 0.0f, 600, 400 },
	{ "claims-api", L_API, DS_NONE, LANG_JAVA, 0.6f, 0.0f, 560, 300 },
	{ "partner-api", L_API, DS_NONE, LANG_GO, 0.5f, 0.0f, 90, 250 },
	{ "web-bff", L_API, DS_NONE, LANG_NODE, 0.5f, 0.1f, 280, 300 },
	{ "quote-service", L_DOMAIN, DS_NONE, LANG_JAVA, 0, 0.0f, 820, 750 },
	{ "pricing-engine", L_DOMAIN, DS_NONE, LANG_JAVA, 0, 0.0f, 1100, 1000 },
	{ "policy-service", L_DOMAIN, DS_NONE, LANG_JAVA, 0, 0.0f, 720, 500 },
	{ "partner-adapter-acme", L_DOMAIN, DS_NONE, LANG_GO, 0, 0.8f, 70, 200 },
	{ "underwriting-service", L_DOMAIN, DS_NONE, LANG_JAVA, 0.8f, 0.1f, 760, 500 },
	{ "rating-rules", L_DOMAIN, DS_NONE, LANG_JAVA, 0.5f, 0.0f, 540, 400 },
	{ "fraud-detector", L_DOMAIN, DS_NONE, LANG_PY, 0.8f, 0.5f, 1400, 1000 },
	{ "kyc-verifier", L_DOMAIN, DS_NONE, LANG_GO, 0.5f, 0.7f, 60, 200 },
	{ "claims-service", L_DOMAIN, DS_NONE, LANG_JAVA, 0.8f, 0.0f, 700, 500 },
	{ "payment-service", L_DOMAIN, DS_NONE, LANG_GO, 0.8f, 0.2f, 110, 300 },
	{ "customer-profile", L_DOMAIN, DS_NONE, LANG_GO, 0.6f, 0.0f, 95, 250 },
	{ "document-service", L_DOMAIN, DS_NONE, LANG_PY, 0.5f, 0.6f, 900, 500 },
	{ "notification-service", L_DOMAIN, DS_NONE, LANG_NODE, 0.5f, 0.4f, 210, 200 },
	{ "partner-adapter-globex", L_DOMAIN, DS_NONE, LANG_GO, 0.6f, 0.8f, 75, 200 },
	{ "partner-adapter-initech", L_DOMAIN, DS_NONE, LANG_GO, 0.4f, 0.8f, 68, 200 },
	{ "db-policy", L_DATA, DS_POSTGRES, LANG_NATIVE, 0, 0.0f, 48, 500 },
	{ "redis-cache", L_DATA, DS_REDIS, LANG_NATIVE, 0, 0.0f, 380, 500 },
	{ "db-quotes", L_DATA, DS_POSTGRES, LANG_NATIVE, 0.6f, 0.0f, 44, 500 },
	{ "db-claims", L_DATA, DS_POSTGRES, LANG_NATIVE, 0.5f, 0.0f, 40, 500 },
	{ "event-bus", L_DATA, DS_KAFKA, LANG_NATIVE, 0.9f, 0.0f, 1500, 1000 },
};
#define NCATALOG ((int)(sizeof(catalog) / sizeof(catalog[0])))

static bool
is_core(const struct mp_svc_def *d, int n)
{
	/* a queue belongs in any marketplace of ten services or more */
	return d->weight == 0 || (d->ds == DS_KAFKA && n >= 10);
}

#define C(to, p, g, crit) { to, p, g, crit }

/*
 * Operation templates.  median_ms is self time: the work the service does
 * itself, children and network excluded.
 */
static const struct mp_op_def ops[] = {
	/* edge routes: weight is the share of traffic */
	{ "edge.quote.create", { "edge-gateway" }, "POST", "/api/v1/quotes", NULL, NULL,
	  0.8f, 0.25f, 30, T_ACCESS, NULL, 0, { C("api.quote.create", 1, 0, 1) } },
	{ "edge.quote.get", { "edge-gateway" }, "GET", "/api/v1/quotes/{id}", NULL, NULL,
	  0.6f, 0.25f, 22, T_ACCESS, NULL, 0, { C("api.quote.get", 1, 0, 1) } },
	{ "edge.policy.bind", { "edge-gateway" }, "POST", "/api/v1/policies", NULL, NULL,
	  0.9f, 0.25f, 7, T_ACCESS, NULL, 0, { C("api.policy.bind", 1, 0, 1) } },
	{ "edge.policy.get", { "edge-gateway" }, "GET", "/api/v1/policies/{id}", NULL, NULL,
	  0.6f, 0.25f, 12, T_ACCESS, NULL, 0, { C("api.policy.get", 1, 0, 1) } },
	{ "edge.claim.submit", { "edge-gateway" }, "POST", "/api/v1/claims", NULL, NULL,
	  1.0f, 0.25f, 4, T_ACCESS, NULL, 0, { C("api.claim.submit", 1, 0, 1) } },
	{ "edge.claim.get", { "edge-gateway" }, "GET", "/api/v1/claims/{id}", NULL, NULL,
	  0.6f, 0.25f, 6, T_ACCESS, NULL, 0, { C("api.claim.get", 1, 0, 1) } },
	{ "edge.dashboard", { "edge-gateway" }, "GET", "/api/v1/me/dashboard", NULL, NULL,
	  0.7f, 0.25f, 9, T_ACCESS, NULL, 0, { C("api.dashboard", 1, 0, 1) } },
	{ "edge.partner.quote", { "edge-gateway" }, "POST", "/partner/v1/quotes", NULL, NULL,
	  0.8f, 0.25f, 10, T_ACCESS, NULL, 0, { C("api.partner.quote", 1, 0, 1) } },

	/* web / API layer */
	{ "api.quote.create", { "quote-api" }, "POST", "/quotes", NULL, "QuoteController.create",
	  4.0f, 0.3f, 0, T_QUOTE, NULL, 0,
	  { C("cache.get.session", 1, 0, 0), C("quote.create", 1, 0, 1) } },
	{ "api.quote.get", { "quote-api" }, "GET", "/quotes/{id}", NULL, "QuoteController.get",
	  1.8f, 0.3f, 0, T_NONE, NULL, 0,
	  { C("cache.get.quote", 1, 0, 0), C("quote.get", 0.35f, 0, 1) } },
	{ "api.policy.bind", { "policy-api", "quote-api" }, "POST", "/policies", NULL,
	  "PolicyController.bind", 5.0f, 0.3f, 0, T_POLICY, NULL, 0,
	  { C("uw.assess", 1, 0, 1), C("policy.bind", 1, 0, 1), C("payment.charge", 1, 0, 1) } },
	{ "api.policy.get", { "policy-api", "web-bff", "quote-api" }, "GET", "/policies/{id}",
	  NULL, "PolicyController.get", 1.8f, 0.3f, 0, T_NONE, NULL, 0,
	  { C("policy.get", 1, 0, 1) } },
	{ "api.claim.submit", { "claims-api", "policy-api", "quote-api" }, "POST", "/claims",
	  NULL, "ClaimController.submit", 4.0f, 0.3f, 0, T_CLAIM, NULL, 0,
	  { C("claim.submit", 1, 0, 1) } },
	{ "api.claim.get", { "claims-api", "web-bff", "policy-api", "quote-api" }, "GET",
	  "/claims/{id}", NULL, "ClaimController.get", 1.8f, 0.3f, 0, T_NONE, NULL, 0,
	  { C("claim.get", 1, 0, 1) } },
	{ "api.dashboard", { "web-bff", "policy-api", "quote-api" }, "GET", "/me/dashboard",
	  NULL, "DashboardController.get", 5.5f, 0.35f, 0, T_DASH, NULL, 0,
	  { C("customer.get", 1, 1, 1), C("policy.get", 1, 1, 0), C("claim.get", 0.6f, 1, 0) } },
	{ "api.partner.quote", { "partner-api", "quote-api" }, "POST", "/partner/quotes", NULL,
	  "PartnerController.quote", 2.5f, 0.3f, 0, T_QUOTE, NULL, 0,
	  { C("cache.get.apikey", 1, 0, 1), C("quote.create", 1, 0, 1) } },

	/* domain services */
	{ "quote.create", { "quote-service" }, "POST", "/v1/quotes", NULL, "QuoteService.create",
	  8.0f, 0.3f, 0, T_QUOTE, NULL, 0,
	  { C("customer.get", 0.8f, 0, 1), C("price.compute", 1, 0, 1),
	    C("offer.acme", 1, 1, 0), C("offer.globex", 1, 1, 0), C("offer.initech", 1, 1, 0),
	    C("db.quotes.insert", 1, 0, 1), C("cache.set.quote", 1, 0, 0),
	    C("mq.quote.created", 1, 0, 0) } },
	{ "quote.get", { "quote-service" }, "GET", "/v1/quotes/{id}", NULL, "QuoteService.get",
	  2.0f, 0.3f, 0, T_NONE, NULL, 0, { C("db.quotes.select", 1, 0, 1) } },
	{ "price.compute", { "pricing-engine", "quote-service" }, "POST", "/v1/price", NULL,
	  "PricingEngine.compute", 22.0f, 0.35f, 0, T_PRICE, NULL, 0,
	  { C("cache.get.tariff", 1, 0, 0), C("rules.eval", 1, 0, 1), C("fraud.score", 0.4f, 0, 0) } },
	{ "rules.eval", { "rating-rules", "pricing-engine", "quote-service" }, "POST",
	  "/v1/rules/evaluate", NULL, "RatingRules.evaluate", 5.0f, 0.3f, 0, T_RULES, NULL, 0,
	  { C("cache.get.ruleset", 0.9f, 0, 0) } },
	{ "offer.acme", { "partner-adapter-acme" }, "POST", "/v1/offers", NULL, "acme.Offer",
	  4.0f, 0.3f, 0, T_OFFER, "api.acme-insurance.example", 110, { { 0 } } },
	{ "offer.globex", { "partner-adapter-globex" }, "POST", "/v1/offers", NULL, "globex.Offer",
	  5.0f, 0.3f, 0, T_OFFER, "api.globex-mutual.example", 160, { { 0 } } },
	{ "offer.initech", { "partner-adapter-initech" }, "POST", "/v1/offers", NULL,
	  "initech.Offer", 4.0f, 0.3f, 0, T_OFFER, "partners.initech-assurance.example", 85,
	  { { 0 } } },
	{ "uw.assess", { "underwriting-service", "policy-service" }, "POST",
	  "/v1/underwriting/assessments", NULL, "Underwriting.assess", 14.0f, 0.35f, 0,
	  T_UNDERWRITE, NULL, 0,
	  { C("fraud.score", 1, 0, 1), C("kyc.verify", 0.6f, 0, 1), C("db.claims.history", 1, 0, 1) } },
	{ "fraud.score", { "fraud-detector" }, "POST", "/v1/score", NULL, "fraud.score",
	  16.0f, 0.45f, 0, T_SCORE, NULL, 0, { C("cache.get.features", 1, 0, 0) } },
	{ "kyc.verify", { "kyc-verifier" }, "POST", "/v1/verifications", NULL, "kyc.Verify",
	  3.0f, 0.3f, 0, T_KYC, "api.kyc-provider.example", 230, { { 0 } } },
	{ "policy.bind", { "policy-service" }, "POST", "/v1/policies", NULL, "PolicyService.bind",
	  9.0f, 0.3f, 0, T_POLICY, NULL, 0,
	  { C("db.policy.insert", 1, 0, 1), C("doc.render", 1, 0, 0), C("mq.policy.bound", 1, 0, 0),
	    C("notify.send", 1, 0, 0) } },
	{ "policy.get", { "policy-service" }, "GET", "/v1/policies/{id}", NULL, "PolicyService.get",
	  2.5f, 0.3f, 0, T_NONE, NULL, 0,
	  { C("cache.get.policy", 1, 0, 0), C("db.policy.select", 0.4f, 0, 1) } },
	{ "payment.charge", { "payment-service", "policy-service" }, "POST", "/v1/payments", NULL,
	  "payments.Charge", 6.0f, 0.3f, 0, T_PAYMENT, "api.psp-payments.example", 210,
	  { C("db.payment.insert", 1, 0, 1), C("mq.payment.captured", 1, 0, 0) } },
	{ "claim.submit", { "claims-service", "policy-service" }, "POST", "/v1/claims", NULL,
	  "ClaimService.submit", 11.0f, 0.3f, 0, T_CLAIM, NULL, 0,
	  { C("policy.get", 1, 0, 1), C("fraud.score", 1, 0, 1), C("db.claims.insert", 1, 0, 1),
	    C("doc.store", 1, 0, 0), C("mq.claim.submitted", 1, 0, 0) } },
	{ "claim.get", { "claims-service", "policy-service" }, "GET", "/v1/claims/{id}", NULL,
	  "ClaimService.get", 2.5f, 0.3f, 0, T_NONE, NULL, 0, { C("db.claims.select", 1, 0, 1) } },
	{ "customer.get", { "customer-profile", "quote-service", "policy-service" }, "GET",
	  "/v1/customers/{id}", NULL, "customers.Get", 2.0f, 0.3f, 0, T_CUSTOMER, NULL, 0,
	  { C("cache.get.customer", 1, 0, 0), C("db.customer.select", 0.3f, 0, 1) } },
	{ "doc.render", { "document-service" }, "POST", "/v1/documents/render", NULL,
	  "documents.render", 85.0f, 0.5f, 0, T_DOC, NULL, 0, { { 0 } } },
	{ "doc.store", { "document-service" }, "PUT", "/v1/documents/{id}", NULL, "documents.store",
	  8.0f, 0.3f, 0, T_DOC, "s3.eu-west-1.amazonaws.com", 28, { { 0 } } },
	{ "notify.send", { "notification-service" }, "POST", "/v1/notifications", NULL,
	  "notifications.send", 3.0f, 0.3f, 0, T_NOTIFY, "email-relay.example", 45, { { 0 } } },

	/* datastores: method is the db operation, route the table or topic */
	{ "db.quotes.insert", { "db-quotes", "db-policy" }, "INSERT", "quotes",
	  "INSERT INTO quotes (id, customer_id, product, premium_cents, status) VALUES ($1, $2, $3, $4, 'OPEN')",
	  NULL, 2.2f, 0.35f, 0, T_NONE, NULL, 0, { { 0 } } },
	{ "db.quotes.select", { "db-quotes", "db-policy" }, "SELECT", "quotes",
	  "SELECT id, product, premium_cents, status FROM quotes WHERE id = $1",
	  NULL, 0.9f, 0.35f, 0, T_NONE, NULL, 0, { { 0 } } },
	{ "db.policy.insert", { "db-policy" }, "INSERT", "policies",
	  "INSERT INTO policies (id, quote_id, holder_id, starts_on, premium_cents) VALUES ($1, $2, $3, $4, $5)",
	  NULL, 2.6f, 0.35f, 0, T_NONE, NULL, 0, { { 0 } } },
	{ "db.policy.select", { "db-policy" }, "SELECT", "policies",
	  "SELECT id, status, product, premium_cents, renewal_date FROM policies WHERE id = $1",
	  NULL, 1.0f, 0.35f, 0, T_NONE, NULL, 0, { { 0 } } },
	{ "db.payment.insert", { "db-policy" }, "INSERT", "payments",
	  "INSERT INTO payments (id, policy_id, amount_cents, psp_ref, status) VALUES ($1, $2, $3, $4, $5)",
	  NULL, 1.8f, 0.35f, 0, T_NONE, NULL, 0, { { 0 } } },
	{ "db.customer.select", { "db-policy" }, "SELECT", "customers",
	  "SELECT id, name, birth_date, postcode, risk_class FROM customers WHERE id = $1",
	  NULL, 0.9f, 0.35f, 0, T_NONE, NULL, 0, { { 0 } } },
	{ "db.claims.history", { "db-claims", "db-policy" }, "SELECT", "claims",
	  "SELECT count(*), sum(paid_cents) FROM claims WHERE holder_id = $1 AND reported_at > now() - interval '5 years'",
	  NULL, 3.5f, 0.4f, 0, T_NONE, NULL, 0, { { 0 } } },
	{ "db.claims.insert", { "db-claims", "db-policy" }, "INSERT", "claims",
	  "INSERT INTO claims (id, policy_id, kind, reported_at, reserve_cents) VALUES ($1, $2, $3, $4, $5)",
	  NULL, 2.8f, 0.35f, 0, T_NONE, NULL, 0, { { 0 } } },
	{ "db.claims.select", { "db-claims", "db-policy" }, "SELECT", "claims",
	  "SELECT id, status, kind, reserve_cents FROM claims WHERE id = $1",
	  NULL, 1.1f, 0.35f, 0, T_NONE, NULL, 0, { { 0 } } },
	{ "cache.get.session", { "redis-cache" }, "GET", NULL, "GET session:{id}", NULL,
	  0.2f, 0.3f, 0, T_NONE, NULL, 0, { { 0 } } },
	{ "cache.get.quote", { "redis-cache" }, "GET", NULL, "GET quote:{id}", NULL,
	  0.22f, 0.3f, 0, T_NONE, NULL, 0, { { 0 } } },
	{ "cache.set.quote", { "redis-cache" }, "SET", NULL, "SET quote:{id} ? EX 900", NULL,
	  0.25f, 0.3f, 0, T_NONE, NULL, 0, { { 0 } } },
	{ "cache.get.tariff", { "redis-cache" }, "HGETALL", NULL, "HGETALL tariff:{product}:{region}",
	  NULL, 0.3f, 0.3f, 0, T_NONE, NULL, 0, { { 0 } } },
	{ "cache.get.ruleset", { "redis-cache" }, "GET", NULL, "GET ruleset:{product}:current", NULL,
	  0.25f, 0.3f, 0, T_NONE, NULL, 0, { { 0 } } },
	{ "cache.get.features", { "redis-cache" }, "MGET", NULL, "MGET features:{customer}:*", NULL,
	  0.35f, 0.3f, 0, T_NONE, NULL, 0, { { 0 } } },
	{ "cache.get.policy", { "redis-cache" }, "GET", NULL, "GET policy:{id}", NULL,
	  0.2f, 0.3f, 0, T_NONE, NULL, 0, { { 0 } } },
	{ "cache.get.customer", { "redis-cache" }, "GET", NULL, "GET customer:{id}", NULL,
	  0.2f, 0.3f, 0, T_NONE, NULL, 0, { { 0 } } },
	{ "cache.get.apikey", { "redis-cache" }, "GET", NULL, "GET apikey:{hash}", NULL,
	  0.18f, 0.3f, 0, T_NONE, NULL, 0, { { 0 } } },
	{ "mq.quote.created", { "event-bus" }, "publish", "quote.created", NULL, NULL,
	  1.4f, 0.35f, 0, T_NONE, NULL, 0, { { 0 } } },
	{ "mq.policy.bound", { "event-bus" }, "publish", "policy.bound", NULL, NULL,
	  1.4f, 0.35f, 0, T_NONE, NULL, 0, { { 0 } } },
	{ "mq.payment.captured", { "event-bus" }, "publish", "payment.captured", NULL, NULL,
	  1.4f, 0.35f, 0, T_NONE, NULL, 0, { { 0 } } },
	{ "mq.claim.submitted", { "event-bus" }, "publish", "claim.submitted", NULL, NULL,
	  1.4f, 0.35f, 0, T_NONE, NULL, 0, { { 0 } } },
};
#define NOPS ((int)(sizeof(ops) / sizeof(ops[0])))

const char *
mp_layer_name(int layer)
{
	switch (layer) {
	case L_EDGE:
		return "edge";
	case L_API:
		return "api";
	case L_DOMAIN:
		return "domain";
	default:
		return "datastore";
	}
}

int
mp_topo_find(const struct mp_topo *t, const char *name)
{
	for (int i = 0; i < t->nsvc; i++)
		if (strcmp(t->svc[i].name, name) == 0)
			return i;
	return -1;
}

int
mp_topo_find_op(const struct mp_topo *t, int svc, const char *name)
{
	for (int i = 0; i < t->nop; i++)
		if (t->op[i].svc == svc &&
		    (strcmp(t->op[i].name, name) == 0 || strcmp(t->op[i].def->key, name) == 0))
			return i;
	return -1;
}

static int
op_by_key(const struct mp_topo *t, const char *key)
{
	for (int i = 0; i < t->nop; i++)
		if (strcmp(t->op[i].def->key, key) == 0)
			return i;
	return -1;
}

static const char *
lang_sdk(int lang)
{
	static const char *const n[] = { "java", "go", "python", "nodejs", "cpp", "cpp" };

	return n[lang];
}

static const char *
lang_scope(int lang)
{
	static const char *const n[] = {
		"io.opentelemetry.spring-webmvc-6.0\",\"version\":\"2.10.0-alpha",
		"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp\",\"version\":\"0.57.0",
		"opentelemetry.instrumentation.fastapi\",\"version\":\"0.49b2",
		"@opentelemetry/instrumentation-http\",\"version\":\"0.55.0",
		"envoy\",\"version\":\"1.31.2",
		"marketplace.datastore-proxy\",\"version\":\"0.9.4",
	};

	return n[lang];
}

void
mp_topo_resource(struct mp_topo *t, int i)
{
	struct mp_svc *s = &t->svc[i];

	for (int k = 0; k < MP_NSLOT; k++) {
		struct mp_buf *b = &s->res[k];

		b->len = 0;
		MP_LIT(b, "{\"resource\":{\"attributes\":[");
		mp_attr_str(b, true, "service.name", s->name);
		mp_attr_str(b, false, "service.namespace", "marketplace");
		mp_attr_str(b, false, "service.version", k == 0 ? s->version : s->version_new);
		mp_attr_str(b, false, "deployment.environment.name", "production");
		mp_attr_str(b, false, "telemetry.sdk.name", "opentelemetry");
		mp_attr_str(b, false, "telemetry.sdk.language", lang_sdk(s->def->lang));
		MP_LIT(b, "]},\"scope");
		/* the caller appends Spans/Logs/Metrics */
	}
}

const char *
mp_topo_scope(const struct mp_svc *s)
{
	return lang_scope(s->def->lang);
}

const char *
mp_topo_log_scope(const struct mp_svc *s)
{
	static const char *const n[] = {
		"io.opentelemetry.logback-appender-1.0\",\"version\":\"2.10.0-alpha",
		"go.opentelemetry.io/contrib/bridges/otelslog\",\"version\":\"0.7.0",
		"opentelemetry.sdk._logs\",\"version\":\"1.28.2",
		"@opentelemetry/winston-transport\",\"version\":\"0.8.0",
		"envoy.access_loggers.open_telemetry\",\"version\":\"1.31.2",
		"marketplace.datastore-proxy\",\"version\":\"0.9.4",
	};

	return n[s->def->lang];
}

static void
add_edge(struct mp_topo *t, int from, int to)
{
	struct mp_svc *s = &t->svc[from];

	for (int i = 0; i < s->ncallee; i++)
		if (s->callee[i] == to)
			return;
	s->callee[s->ncallee++] = to;
	t->edge[t->nedge].from = from;
	t->edge[t->nedge].to = to;
	t->nedge++;
	t->svc[to].has_callers = true;
}

static double
jit(struct mp_rng *r, double lo, double hi)
{
	return lo + (hi - lo) * mp_rng_unit(r);
}

void
mp_topo_build(struct mp_topo *t, uint64_t seed, int n)
{
	struct mp_rng r;
	double key[NCATALOG];
	bool pick[NCATALOG];
	int nopt = 0, want = n;

	memset(t, 0, sizeof(*t));
	t->seed = seed;
	mp_rng_seed(&r, seed, 1);

	/* core services, then a weighted draw without replacement */
	for (int i = 0; i < NCATALOG; i++) {
		double u = mp_rng_unit(&r);

		pick[i] = is_core(&catalog[i], n);
		if (pick[i])
			want--;
		key[i] = pick[i] ? -1 : pow(u, 1.0 / catalog[i].weight);
		if (!pick[i])
			nopt++;
	}
	for (; want > 0 && nopt > 0; want--, nopt--) {
		int best = -1;

		for (int i = 0; i < NCATALOG; i++)
			if (!pick[i] && (best < 0 || key[i] > key[best]))
				best = i;
		pick[best] = true;
	}

	for (int i = 0; i < NCATALOG; i++) {
		const struct mp_svc_def *d = &catalog[i];
		struct mp_svc *s;

		if (!pick[i])
			continue;
		s = &t->svc[t->nsvc++];
		s->def = d;
		s->name = d->name;
		s->layer = d->layer;
		s->ds = d->ds;
		switch (d->ds) {
		case DS_POSTGRES:
			/* a PgBouncer in front of a managed PostgreSQL */
			snprintf(s->version, sizeof(s->version), "1.23.1");
			snprintf(s->image_repo, sizeof(s->image_repo), "docker.io/bitnami/pgbouncer");
			s->replicas = 2;
			s->pool_size = 16 + 4 * (int)mp_rng_below(&r, 3);
			break;
		case DS_REDIS:
			snprintf(s->version, sizeof(s->version), "7.2.5");
			snprintf(s->image_repo, sizeof(s->image_repo), "docker.io/library/redis");
			s->replicas = 1;
			break;
		case DS_KAFKA:
			snprintf(s->version, sizeof(s->version), "3.7.1");
			snprintf(s->image_repo, sizeof(s->image_repo), "docker.io/apache/kafka");
			s->replicas = 3;
			break;
		default:
			if (d->lang == LANG_ENVOY) {
				snprintf(s->version, sizeof(s->version), "1.31.2");
				snprintf(s->image_repo, sizeof(s->image_repo),
				    "docker.io/envoyproxy/envoy");
			} else {
				snprintf(s->version, sizeof(s->version), "%u.%u.%u",
				    1 + mp_rng_below(&r, 3), mp_rng_below(&r, 12),
				    mp_rng_below(&r, 10));
				snprintf(s->image_repo, sizeof(s->image_repo),
				    "registry.example.com/marketplace/%s", d->name);
			}
			s->replicas = d->layer == L_EDGE ? 3 : 2 + (int)mp_rng_below(&r, 3);
			break;
		}
		{
			/* a release: the next minor version */
			unsigned ma = 1, mi = 0, pa = 0;

			if (sscanf(s->version, "%u.%u.%u", &ma, &mi, &pa) < 2)
				ma = 1;
			snprintf(s->version_new, sizeof(s->version_new), "%u.%u.0", ma, mi + 1);
		}
		s->pool_timeout_ms = 5000;
		s->replicas0 = s->replicas;
		s->pool_size0 = s->pool_size;
		s->sigma_mult = 1.0 + d->jitter * 0.6;
		s->net_ms = d->layer == L_API ? jit(&r, 0.45, 0.7) : jit(&r, 0.25, 0.45);
		s->mem_mb = d->mem_mb * jit(&r, 0.85, 1.15);
	}

	/* resolve operations: the first present executor serves */
	for (int i = 0; i < NOPS; i++) {
		const struct mp_op_def *d = &ops[i];
		struct mp_op *o;
		int svc = -1;

		for (int k = 0; k < 4 && d->exec[k] && svc < 0; k++)
			svc = mp_topo_find(t, d->exec[k]);
		if (svc < 0)
			continue;
		o = &t->op[t->nop++];
		o->def = d;
		o->svc = svc;
		if (t->svc[svc].ds == DS_REDIS)
			snprintf(o->name, sizeof(o->name), "%s", d->method);
		else
			snprintf(o->name, sizeof(o->name), "%s %s", d->method, d->route);
		o->median_ms = d->median_ms * jit(&r, 0.8, 1.25);
		o->sigma = d->sigma * t->svc[svc].sigma_mult;
	}
	for (int i = 0; i < t->nop; i++) {
		struct mp_op *o = &t->op[i];

		for (int k = 0; k < MP_MAX_CALLS && o->def->calls[k].to; k++) {
			const struct mp_call_def *c = &o->def->calls[k];
			int to = op_by_key(t, c->to);

			if (to < 0)
				continue;
			o->call[o->ncall].op = to;
			o->call[o->ncall].p = c->p;
			o->call[o->ncall].group = c->group;
			o->call[o->ncall].critical = c->critical;
			o->ncall++;
			if (t->op[to].svc != o->svc)
				add_edge(t, o->svc, t->op[to].svc);
		}
		if (o->def->weight > 0) {
			double w = o->def->weight * jit(&r, 0.7, 1.3);

			t->route[t->nroute] = i;
			t->route_cum[t->nroute] = (t->nroute ? t->route_cum[t->nroute - 1] : 0) + w;
			t->nroute++;
		}
	}
	for (int i = 0; i < t->nsvc; i++)
		mp_topo_resource(t, i);
}

int
mp_topo_pick_decoys(struct mp_topo *t, int n)
{
	struct mp_rng r;
	double key[MP_MAX_SVC];
	int got = 0;

	mp_rng_seed(&r, t->seed, 2);
	for (int i = 0; i < t->nsvc; i++) {
		const struct mp_svc *s = &t->svc[i];
		double w = s->def->jitter;

		/* jittery services first, then any API or domain service */
		if (s->layer != L_API && s->layer != L_DOMAIN)
			key[i] = -2;
		else if (w > 0)
			key[i] = pow(mp_rng_unit(&r), 1.0 / w);
		else
			key[i] = -1 + mp_rng_unit(&r) * 0.5;
	}
	for (; got < n; got++) {
		int best = -1;

		for (int i = 0; i < t->nsvc; i++)
			if (!t->svc[i].decoy && key[i] > -2 && (best < 0 || key[i] > key[best]))
				best = i;
		if (best < 0)
			break;
		t->svc[best].decoy = true;
	}
	return got;
}

void
mp_topo_list(const struct mp_topo *t, FILE *fp)
{
	fprintf(fp, "# seed %llu, %d services, %d edges\n", (unsigned long long)t->seed, t->nsvc,
	    t->nedge);
	fprintf(fp, "%-24s %-10s %-8s %-8s %s\n", "service", "layer", "version", "replicas",
	    "callees");
	for (int i = 0; i < t->nsvc; i++) {
		const struct mp_svc *s = &t->svc[i];

		fprintf(fp, "%-24s %-10s %-8s %-8d ", s->name, mp_layer_name(s->layer), s->version,
		    s->replicas);
		if (s->ncallee == 0)
			fputs("-", fp);
		for (int k = 0; k < s->ncallee; k++)
			fprintf(fp, "%s%s", k ? "," : "", t->svc[s->callee[k]].name);
		fputc('\n', fp);
	}
}

/* ---- the GitOps template -------------------------------------------- */

static int
mkdirs(const char *path)
{
	char tmp[1024];

	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0777) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(tmp, 0777) != 0 && errno != EEXIST)
		return -1;
	return 0;
}

static void
write_deployment(const struct mp_topo *t, const struct mp_svc *s, FILE *fp)
{
	int port = 8080, mem = (int)(s->def->mem_mb * 1.25), cpu = s->def->cpu_m;
	const char *probe = "http";

	switch (s->ds) {
	case DS_POSTGRES:
		port = 6432;
		probe = "tcp";
		break;
	case DS_REDIS:
		port = 6379;
		probe = "redis";
		break;
	case DS_KAFKA:
		port = 9092;
		probe = "tcp";
		break;
	default:
		if (s->layer == L_EDGE)
			port = 8443;
		break;
	}
	mem = (mem + 63) / 64 * 64;

	fprintf(fp, "# services/%s/deployment.yaml\n", s->name);
	fprintf(fp, "#\n# %s: %s layer of the insurance marketplace.\n", s->name,
	    mp_layer_name(s->layer));
	if (s->ncallee) {
		fputs("# Calls: ", fp);
		for (int k = 0; k < s->ncallee; k++)
			fprintf(fp, "%s%s", k ? ", " : "", t->svc[s->callee[k]].name);
		fputs(".\n", fp);
	}
	if (s->ds == DS_POSTGRES)
		fputs("# This Deployment is the PgBouncer pooler in front of the managed\n"
		      "# PostgreSQL instance; callers connect to it.  Its pool size is\n"
		      "# DB_POOL_SIZE in config.env.\n",
		    fp);
	else if (s->ds == DS_KAFKA)
		fputs("# Kafka brokers (KRaft) carrying the marketplace's domain events\n"
		      "# (quote.created, policy.bound, ...).  Kept a Deployment so that every\n"
		      "# service has the same layout; storage lives outside the pods.\n",
		    fp);
	else if (s->ds == DS_REDIS)
		fputs("# Redis as a cache (sessions, quotes, tariffs, features): losing it\n"
		      "# costs latency, not data.\n",
		    fp);
	fputs("#\n# Managed through GitOps: change it with a pull request.  sre-fix edits\n"
	      "# only the value it sets (spec.replicas, the image tag, the restartedAt\n"
	      "# annotation) and leaves formatting and comments as they are.\n",
	    fp);
	fprintf(fp,
	    "apiVersion: apps/v1\n"
	    "kind: Deployment\n"
	    "metadata:\n"
	    "  name: %s\n"
	    "  namespace: marketplace\n"
	    "  labels:\n"
	    "    app.kubernetes.io/name: %s\n"
	    "    app.kubernetes.io/part-of: insurance-marketplace\n"
	    "    app.kubernetes.io/component: %s\n"
	    "spec:\n"
	    "  # Scaled by hand or by sre-fix \"scale\" proposals (no HPA: Git stays\n"
	    "  # the source of truth for capacity).\n"
	    "  replicas: %d\n"
	    "  revisionHistoryLimit: 5\n"
	    "  selector:\n"
	    "    matchLabels:\n"
	    "      app.kubernetes.io/name: %s\n"
	    "  strategy:\n"
	    "    type: RollingUpdate\n"
	    "    rollingUpdate:\n"
	    "      maxSurge: 25%%\n"
	    "      maxUnavailable: 0\n"
	    "  template:\n"
	    "    metadata:\n"
	    "      labels:\n"
	    "        app.kubernetes.io/name: %s\n"
	    "      annotations:\n"
	    "        # Bumped by sre-fix \"restart\" proposals to roll the pods.\n"
	    "        sre-space/restartedAt: \"2023-11-14T22:13:20Z\"\n"
	    "    spec:\n"
	    "      terminationGracePeriodSeconds: 30\n"
	    "      containers:\n"
	    "        - name: %s\n"
	    "          # The tag is the deployed version: a rollback sets it back.\n"
	    "          image: %s:%s\n"
	    "          imagePullPolicy: IfNotPresent\n"
	    "          ports:\n"
	    "            - name: main\n"
	    "              containerPort: %d\n"
	    "          envFrom:\n"
	    "            # generated from config.env by the kustomize configMapGenerator\n"
	    "            - configMapRef:\n"
	    "                name: %s-config\n",
	    s->name, s->name, mp_layer_name(s->layer), s->replicas, s->name, s->name, s->name,
	    s->image_repo, s->version, port, s->name);
	if (s->ds == DS_NONE)
		fprintf(fp,
		    "          env:\n"
		    "            - name: OTEL_SERVICE_NAME\n"
		    "              value: %s\n"
		    "            - name: OTEL_EXPORTER_OTLP_ENDPOINT\n"
		    "              value: http://otel-collector.observability:4318\n",
		    s->name);
	fprintf(fp,
	    "          resources:\n"
	    "            requests:\n"
	    "              cpu: %dm\n"
	    "              memory: %dMi\n"
	    "            limits:\n"
	    "              memory: %dMi\n",
	    cpu, mem, mem * 3 / 2);
	if (strcmp(probe, "http") == 0)
		fprintf(fp,
		    "          readinessProbe:\n"
		    "            httpGet:\n"
		    "              path: %s\n"
		    "              port: main\n"
		    "            periodSeconds: 5\n"
		    "            failureThreshold: 3\n"
		    "          livenessProbe:\n"
		    "            httpGet:\n"
		    "              path: %s\n"
		    "              port: main\n"
		    "            initialDelaySeconds: 20\n"
		    "            periodSeconds: 10\n"
		    "            failureThreshold: 3\n",
		    s->layer == L_EDGE ? "/ready" : "/health/ready",
		    s->layer == L_EDGE ? "/ready" : "/health/live");
	else if (strcmp(probe, "redis") == 0)
		fputs("          readinessProbe:\n"
		      "            exec:\n"
		      "              command: [\"redis-cli\", \"ping\"]\n"
		      "            periodSeconds: 5\n"
		      "          livenessProbe:\n"
		      "            tcpSocket:\n"
		      "              port: main\n"
		      "            initialDelaySeconds: 15\n"
		      "            periodSeconds: 10\n",
		    fp);
	else
		fputs("          readinessProbe:\n"
		      "            tcpSocket:\n"
		      "              port: main\n"
		      "            periodSeconds: 5\n"
		      "          livenessProbe:\n"
		      "            tcpSocket:\n"
		      "              port: main\n"
		      "            initialDelaySeconds: 15\n"
		      "            periodSeconds: 10\n",
		    fp);
}

static void
write_config(const struct mp_topo *t, const struct mp_svc *s, FILE *fp)
{
	fprintf(fp, "# services/%s/config.env: environment of %s (KEY=VALUE).\n", s->name,
	    s->name);
	fputs("# sre-fix \"config\" proposals change one value in place.\n", fp);
	switch (s->ds) {
	case DS_POSTGRES:
		fprintf(fp,
		    "# PgBouncer: server connections per database/user pair.  Callers queue\n"
		    "# for one when all are busy and fail after DB_POOL_TIMEOUT_MS.\n"
		    "DB_POOL_SIZE=%d\n"
		    "DB_POOL_TIMEOUT_MS=5000\n"
		    "POOL_MODE=transaction\n"
		    "MAX_CLIENT_CONN=1000\n"
		    "RESERVE_POOL_SIZE=0\n"
		    "SERVER_IDLE_TIMEOUT=600\n",
		    s->pool_size);
		return;
	case DS_REDIS:
		fputs("MAXMEMORY=768mb\n"
		      "MAXMEMORY_POLICY=allkeys-lru\n"
		      "APPENDONLY=no\n"
		      "TIMEOUT=0\n",
		    fp);
		return;
	case DS_KAFKA:
		fputs("KAFKA_NUM_PARTITIONS=12\n"
		      "KAFKA_DEFAULT_REPLICATION_FACTOR=3\n"
		      "KAFKA_MIN_INSYNC_REPLICAS=2\n"
		      "KAFKA_LOG_RETENTION_HOURS=168\n",
		    fp);
		return;
	default:
		break;
	}
	fputs("LOG_LEVEL=info\n", fp);
	fprintf(fp, "HTTP_PORT=%d\n", s->layer == L_EDGE ? 8443 : 8080);
	fputs("REQUEST_TIMEOUT_MS=3000\n", fp);
	fputs("OTEL_TRACES_SAMPLER=parentbased_always_on\n", fp);
	for (int k = 0; k < s->ncallee; k++) {
		const struct mp_svc *c = &t->svc[s->callee[k]];
		char key[64];
		int j = 0;

		for (const char *p = c->name; *p && j < 40; p++)
			key[j++] = *p == '-' ? '_' : (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
		key[j] = '\0';
		switch (c->ds) {
		case DS_POSTGRES:
			fprintf(fp, "%s_URL=postgres://%s.marketplace:6432/%s\n", key, c->name,
			    c->name + 3);
			fprintf(fp, "%s_CONNECT_TIMEOUT_MS=5000\n", key);
			break;
		case DS_REDIS:
			fprintf(fp, "%s_URL=redis://%s.marketplace:6379/0\n", key, c->name);
			break;
		case DS_KAFKA:
			fprintf(fp, "KAFKA_BOOTSTRAP_SERVERS=%s.marketplace:9092\n", c->name);
			break;
		default:
			fprintf(fp, "%s_URL=http://%s.marketplace:8080\n", key, c->name);
			break;
		}
	}
	if (s->layer == L_EDGE)
		fputs("RATE_LIMIT_RPS=2000\n", fp);
	if (strncmp(s->name, "partner-adapter-", 16) == 0)
		fputs("PARTNER_TIMEOUT_MS=2500\nPARTNER_MAX_RETRIES=1\n", fp);
	if (s->ds == DS_NONE && s->layer != L_EDGE)
		fprintf(fp, "WORKER_THREADS=%d\n", s->def->lang == LANG_JAVA ? 200 : 64);
}

static int
write_kustomization(const struct mp_topo *t, const char *dir)
{
	char path[1024];
	FILE *fp;

	if (snprintf(path, sizeof(path), "%s/kustomization.yaml", dir) >= (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fp = fopen(path, "w")) == NULL)
		return -1;
	fprintf(fp,
	    "# kustomization.yaml: the insurance marketplace (sre-marketplace --seed %llu\n"
	    "# --services %d).  `kubectl apply -k .` deploys it; each config.env becomes\n"
	    "# a ConfigMap whose name carries a content hash, so a config change rolls\n"
	    "# the pods that use it.\n"
	    "apiVersion: kustomize.config.k8s.io/v1beta1\n"
	    "kind: Kustomization\n"
	    "namespace: marketplace\n"
	    "resources:\n",
	    (unsigned long long)t->seed, t->nsvc);
	for (int i = 0; i < t->nsvc; i++)
		fprintf(fp, "  - services/%s/deployment.yaml\n", t->svc[i].name);
	fputs("configMapGenerator:\n", fp);
	for (int i = 0; i < t->nsvc; i++)
		fprintf(fp, "  - name: %s-config\n    envs:\n      - services/%s/config.env\n",
		    t->svc[i].name, t->svc[i].name);
	return fclose(fp);
}

int
mp_topo_write_gitops(const struct mp_topo *t, const char *dir)
{
	char path[1024];

	if (mkdirs(dir) != 0 || write_kustomization(t, dir) != 0)
		return -1;

	for (int i = 0; i < t->nsvc; i++) {
		const struct mp_svc *s = &t->svc[i];
		FILE *fp;

		if (snprintf(path, sizeof(path), "%s/services/%s", dir, s->name) >=
		    (int)sizeof(path)) {
			errno = ENAMETOOLONG;
			return -1;
		}
		if (mkdirs(path) != 0)
			return -1;
		snprintf(path, sizeof(path), "%s/services/%s/deployment.yaml", dir, s->name);
		if ((fp = fopen(path, "w")) == NULL)
			return -1;
		write_deployment(t, s, fp);
		if (fclose(fp) != 0)
			return -1;
		snprintf(path, sizeof(path), "%s/services/%s/config.env", dir, s->name);
		if ((fp = fopen(path, "w")) == NULL)
			return -1;
		write_config(t, s, fp);
		if (fclose(fp) != 0)
			return -1;
	}
	return 0;
}
