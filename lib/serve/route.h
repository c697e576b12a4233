/*
 * route.h: sre-serve's routes, and what a request must bring to one
 * (method, bearer token, content type and encoding, declared size), all
 * decided from strings so that it needs no socket.
 */
#ifndef SRE_SERVE_ROUTE_H
#define SRE_SERVE_ROUTE_H

/* The ingest routes come first (sre_route_post and the OTLP error shape
 * rely on the order): R_TRACES..R_LOGS are OTLP, R_WRITE is Prometheus
 * remote write, R_ALERTS the Alertmanager webhook. */
enum sre_route {
	R_TRACES, R_METRICS_IN, R_LOGS, R_WRITE, R_ALERTS, R_HEALTH,
	R_PROM, R_INCIDENTS, R_INCIDENT, R_REPORT, R_EVENTS, R_INJECT,
	R_STATIC, R_OTHER, N_ROUTES
};

struct sre_srv_conf;
struct sre_req;
struct sre_answer;

/* The request headers sre_route_check looks at; NULL when absent. */
struct sre_req_head {
	const char *method, *ctype, *cenc, *clen, *auth;
};

/* The route's name as /metrics labels it ("/v1/traces", "static", ...). */
const char *sre_route_name(enum sre_route r);

/*
 * The route of url (the path, no query).  *rest is set to what follows
 * "/incidents/" for R_INCIDENT, else NULL.  A path no route names is
 * R_STATIC (the dashboard's files).
 */
enum sre_route sre_route_of(const char *url, const char **rest);

/* 1 when r takes POST (ingest and /demo/inject-failure), else 0. */
int sre_route_post(enum sre_route r);

/* 1 when the Content-Type value v (may be NULL) is t, parameters after
 * ';' ignored, case-insensitive; else 0. */
int sre_ctype_is(const char *v, const char *t);

/*
 * The checks of a request's first call, in this order: the method fits
 * the route (405), the bearer token (401: /demo/inject-failure needs
 * conf->api_token; ingest needs conf->ingest_token when set), then for
 * ingest the content type and encoding (415) and a declared
 * Content-Length over conf->max_body (413).  Sets rq->proto, rq->gzip and
 * rq->snappy from the headers.  Returns 0 when the request may go on, or
 * 1 with the refusal in a (which the caller frees).  OPTIONS is the
 * caller's (CORS preflight).
 */
int sre_route_check(const struct sre_srv_conf *conf, struct sre_req *rq,
    const struct sre_req_head *h, struct sre_answer *a);

#endif
