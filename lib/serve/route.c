/* route.c: routes and the checks of a request's first call (route.h). */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <bsd/stdlib.h>

#include "serve.h"
#include "srv.h"

static const char *const route_names[N_ROUTES] = {
	"/v1/traces", "/v1/metrics", "/v1/logs", "/api/v1/write",
	"/v1/alertmanager", "/system/health", "/metrics", "/incidents",
	"/incidents/{id}", "/reports/metrics", "/events",
	"/demo/inject-failure", "static", "other"
};

const char *
sre_route_name(enum sre_route r)
{
	return route_names[r];
}

enum sre_route
sre_route_of(const char *url, const char **rest)
{
	static const struct { const char *path; enum sre_route r; } exact[] = {
		{ "/v1/traces", R_TRACES }, { "/v1/metrics", R_METRICS_IN },
		{ "/v1/logs", R_LOGS }, { "/api/v1/write", R_WRITE },
		{ "/v1/alertmanager", R_ALERTS },
		{ "/system/health", R_HEALTH }, { "/metrics", R_PROM },
		{ "/incidents", R_INCIDENTS }, { "/reports/metrics", R_REPORT },
		{ "/events", R_EVENTS },
		{ "/demo/inject-failure", R_INJECT }, { NULL, R_OTHER }
	};
	int i;

	*rest = NULL;
	for (i = 0; exact[i].path != NULL; i++)
		if (strcmp(url, exact[i].path) == 0)
			return exact[i].r;
	if (strncmp(url, "/incidents/", 11) == 0) {
		*rest = url + 11;
		return R_INCIDENT;
	}
	return R_STATIC;
}

int
sre_route_post(enum sre_route r)
{
	return r <= R_ALERTS || r == R_INJECT;
}

int
sre_ctype_is(const char *v, const char *t)
{
	size_t n = strlen(t);

	if (v == NULL)
		return 0;
	while (*v == ' ')
		v++;
	return strncasecmp(v, t, n) == 0 && (v[n] == '\0' || v[n] == ';' ||
	    v[n] == ' ');
}

/* The content type and encoding of an ingest route: 0, or 1 refused. */
static int
check_type(struct sre_req *rq, const struct sre_req_head *h,
    struct sre_answer *a)
{
	const char *ce = h->cenc;

	if (rq->route <= R_LOGS) {
		if (sre_ctype_is(h->ctype, "application/x-protobuf"))
			rq->proto = 1;
		else if (!sre_ctype_is(h->ctype, "application/json")) {
			sre_answer_fail(a, rq->route, 0, 415, NULL,
			    "Content-Type: application/json or "
			    "application/x-protobuf");
			return 1;
		}
	} else if (rq->route == R_WRITE) {
		if (!sre_ctype_is(h->ctype, "application/x-protobuf")) {
			sre_answer_fail(a, rq->route, 0, 415, NULL,
			    "Content-Type: application/x-protobuf");
			return 1;
		}
		if (ce != NULL && strcasecmp(ce, "snappy") != 0) {
			sre_answer_fail(a, rq->route, 0, 415, NULL,
			    "Content-Encoding: snappy");
			return 1;
		}
		ce = NULL;
		rq->snappy = 1;
	} else if (!sre_ctype_is(h->ctype, "application/json")) {
		sre_answer_fail(a, rq->route, 0, 415, NULL,
		    "Content-Type: application/json");
		return 1;
	}
	if (ce != NULL && strcasecmp(ce, "identity") != 0) {
		if (strcasecmp(ce, "gzip") != 0) {
			sre_answer_fail(a, rq->route, rq->proto, 415, NULL,
			    "Content-Encoding: gzip or none");
			return 1;
		}
		rq->gzip = 1;
	}
	return 0;
}

int
sre_route_check(const struct sre_srv_conf *conf, struct sre_req *rq,
    const struct sre_req_head *h, struct sre_answer *a)
{
	const char *errstr;
	long long declared;
	int post = sre_route_post(rq->route);

	if (post != (strcmp(h->method, "POST") == 0) || (!post &&
	    strcmp(h->method, "GET") != 0 && strcmp(h->method, "HEAD") != 0)) {
		sre_answer_fail(a, rq->route, 0, 405, NULL,
		    "method %s not allowed here", h->method);
		return 1;
	}
	if (rq->route == R_INJECT && !sre_serve_bearer_ok(h->auth,
	    conf->api_token)) {
		sre_answer_fail(a, rq->route, 0, 401, NULL, "%s",
		    conf->api_token == NULL ? "SRE_API_TOKEN is not set: "
		    "changes are refused" : "a valid Authorization: Bearer "
		    "token is needed");
		return 1;
	}
	if (rq->route <= R_ALERTS && conf->ingest_token != NULL &&
	    !sre_serve_bearer_ok(h->auth, conf->ingest_token)) {
		sre_answer_fail(a, rq->route, 0, 401, NULL, "a valid "
		    "Authorization: Bearer token is needed");
		return 1;
	}
	if (rq->route > R_ALERTS)
		return 0;
	if (check_type(rq, h, a))
		return 1;
	if (h->clen != NULL) {
		declared = strtonum(h->clen, 0, LLONG_MAX, &errstr);
		if (errstr == NULL && (unsigned long long)declared >
		    conf->max_body) {
			sre_answer_fail(a, rq->route, rq->proto, 413, NULL,
			    "body over %zu bytes", conf->max_body);
			return 1;
		}
	}
	return 0;
}
