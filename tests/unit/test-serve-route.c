/* test-serve-route.c: lib/serve's routing, the checks of a request's first
 * call (method, bearer tokens, content type and encoding, declared size)
 * and the shape of its error answers, all without a socket. */
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "route.h"
#include "srv.h"
#include "tap.h"

/* Check a request to url with the head h under conf; the answer's code
 * (0 when it may go on), rq filled. */
static int
check(const struct sre_srv_conf *conf, const char *url,
    const struct sre_req_head *h, struct sre_req *rq, char *body, size_t n)
{
	struct sre_answer a = SRE_ANSWER_INIT;
	const char *rest;
	int code;

	memset(rq, 0, sizeof(*rq));
	rq->route = sre_route_of(url, &rest);
	code = sre_route_check(conf, rq, h, &a) ? a.code : 0;
	if (body != NULL) {
		body[0] = '\0';
		if (a.body.n > 0 && a.body.n < n) {
			memcpy(body, a.body.p, a.body.n);
			body[a.body.n] = '\0';
		}
	}
	sre_answer_free(&a);
	return code;
}

int
main(void)
{
	struct sre_srv_conf conf = { .max_body = 1000 };
	struct sre_answer a = SRE_ANSWER_INIT;
	struct sre_req rq;
	struct sre_req_head h;
	const char *rest;
	char body[512];

	sre_init("test-serve-route");

	/* routing */
	ok(sre_route_of("/v1/traces", &rest) == R_TRACES && rest == NULL,
	    "/v1/traces");
	ok(sre_route_of("/api/v1/write", &rest) == R_WRITE, "remote write");
	ok(sre_route_of("/incidents", &rest) == R_INCIDENTS, "/incidents");
	ok(sre_route_of("/incidents/inc-1", &rest) == R_INCIDENT &&
	    strcmp(rest, "inc-1") == 0, "/incidents/{id} gives the id");
	ok(sre_route_of("/incidents/", &rest) == R_INCIDENT &&
	    strcmp(rest, "") == 0, "an empty id is still the route");
	ok(sre_route_of("/", &rest) == R_STATIC, "/ is the dashboard");
	ok(sre_route_of("/v1/traces/x", &rest) == R_STATIC,
	    "no prefix match for exact routes");
	ok(strcmp(sre_route_name(R_INCIDENT), "/incidents/{id}") == 0 &&
	    strcmp(sre_route_name(R_STATIC), "static") == 0, "route names");
	ok(sre_route_post(R_LOGS) && sre_route_post(R_INJECT) &&
	    !sre_route_post(R_HEALTH) && !sre_route_post(R_STATIC),
	    "which routes take POST");

	/* content types */
	ok(sre_ctype_is(" Application/JSON; charset=utf-8",
	    "application/json"), "parameters and case ignored");
	ok(!sre_ctype_is("application/jsonx", "application/json"),
	    "no prefix match");
	ok(!sre_ctype_is(NULL, "application/json"), "no header");

	/* methods */
	h = (struct sre_req_head){ .method = "GET" };
	ok(check(&conf, "/system/health", &h, &rq, NULL, 0) == 0,
	    "GET /system/health goes on");
	h.method = "HEAD";
	ok(check(&conf, "/metrics", &h, &rq, NULL, 0) == 0, "HEAD too");
	h.method = "POST";
	ok(check(&conf, "/metrics", &h, &rq, body, sizeof(body)) == 405 &&
	    strcmp(body, "{\"error\":\"method POST not allowed here\"}") == 0,
	    "POST /metrics: 405 %s", body);
	h.method = "GET";
	ok(check(&conf, "/v1/traces", &h, &rq, body, sizeof(body)) == 405 &&
	    strstr(body, "\"code\":2,\"message\":") != NULL,
	    "GET /v1/traces: 405 as a google.rpc.Status: %s", body);
	h.method = "DELETE";
	ok(check(&conf, "/", &h, &rq, NULL, 0) == 405, "DELETE /: 405");

	/* the API token */
	h = (struct sre_req_head){ .method = "POST" };
	ok(check(&conf, "/demo/inject-failure", &h, &rq, body,
	    sizeof(body)) == 401 && strstr(body, "SRE_API_TOKEN is not set"),
	    "no API token configured: changes refused: %s", body);
	conf.api_token = "s3cret";
	h.auth = "Bearer wrong";
	ok(check(&conf, "/demo/inject-failure", &h, &rq, body,
	    sizeof(body)) == 401 && strstr(body, "valid Authorization"),
	    "a wrong token: 401");
	h.auth = "Bearer s3cret";
	ok(check(&conf, "/demo/inject-failure", &h, &rq, NULL, 0) == 0,
	    "the right token goes on");

	/* the ingest token */
	h = (struct sre_req_head){ .method = "POST",
	    .ctype = "application/json" };
	ok(check(&conf, "/v1/logs", &h, &rq, NULL, 0) == 0,
	    "no ingest token configured: open");
	conf.ingest_token = "in";
	ok(check(&conf, "/v1/logs", &h, &rq, NULL, 0) == 401,
	    "ingest token configured, none given: 401");
	h.auth = "Bearer in";
	ok(check(&conf, "/v1/logs", &h, &rq, NULL, 0) == 0,
	    "the ingest token goes on");
	h.auth = NULL;
	ok(check(&conf, "/system/health", &(struct sre_req_head){
	    .method = "GET" }, &rq, NULL, 0) == 0,
	    "reading needs no ingest token");
	conf.ingest_token = NULL;

	/* content type and encoding */
	h = (struct sre_req_head){ .method = "POST",
	    .ctype = "application/x-protobuf" };
	ok(check(&conf, "/v1/traces", &h, &rq, NULL, 0) == 0 && rq.proto &&
	    !rq.gzip, "OTLP protobuf");
	h.ctype = "text/plain";
	ok(check(&conf, "/v1/traces", &h, &rq, body, sizeof(body)) == 415 &&
	    strstr(body, "application/json or application/x-protobuf"),
	    "OTLP text/plain: 415 %s", body);
	h = (struct sre_req_head){ .method = "POST",
	    .ctype = "application/json", .cenc = "GZIP" };
	ok(check(&conf, "/v1/metrics", &h, &rq, NULL, 0) == 0 && rq.gzip,
	    "gzip in any case");
	h.cenc = "br";
	ok(check(&conf, "/v1/metrics", &h, &rq, NULL, 0) == 415,
	    "brotli: 415");
	h.cenc = "identity";
	ok(check(&conf, "/v1/metrics", &h, &rq, NULL, 0) == 0 && !rq.gzip,
	    "identity");
	h = (struct sre_req_head){ .method = "POST",
	    .ctype = "application/x-protobuf", .cenc = "snappy" };
	ok(check(&conf, "/api/v1/write", &h, &rq, NULL, 0) == 0 &&
	    rq.snappy && !rq.gzip, "remote write: snappy");
	h.cenc = "gzip";
	ok(check(&conf, "/api/v1/write", &h, &rq, body, sizeof(body)) == 415
	    && strstr(body, "snappy"), "remote write gzip: 415");
	h = (struct sre_req_head){ .method = "POST",
	    .ctype = "application/x-protobuf" };
	ok(check(&conf, "/v1/alertmanager", &h, &rq, NULL, 0) == 415,
	    "Alertmanager takes JSON only");

	/* declared size */
	h = (struct sre_req_head){ .method = "POST",
	    .ctype = "application/json", .clen = "1001" };
	ok(check(&conf, "/v1/alertmanager", &h, &rq, body, sizeof(body)) ==
	    413 && strstr(body, "body over 1000 bytes"), "over: 413");
	h.clen = "1000";
	ok(check(&conf, "/v1/alertmanager", &h, &rq, NULL, 0) == 0,
	    "at the limit: fine");
	h.clen = "junk";
	ok(check(&conf, "/v1/alertmanager", &h, &rq, NULL, 0) == 0,
	    "a bad Content-Length is libmicrohttpd's to refuse");

	/* error answers */
	sre_answer_fail(&a, R_TRACES, 1, 429, "1", "full");
	ok(a.code == 429 && strcmp(a.retry, "1") == 0 &&
	    strcmp(a.ctype, "application/x-protobuf") == 0 && a.body.n == 8 &&
	    memcmp(a.body.p, "\x08\x0e\x12\x04" "full", 8) == 0,
	    "protobuf google.rpc.Status, UNAVAILABLE for 429");
	sre_answer_fail(&a, R_LOGS, 0, 400, NULL, "bad \"x\"");
	ok(a.body.n > 0 && strcmp(a.body.p,
	    "{\"code\":3,\"message\":\"bad \\\"x\\\"\"}") == 0,
	    "JSON Status, INVALID_ARGUMENT, escaped: %s", a.body.p);
	sre_answer_fail(&a, R_INCIDENTS, 0, 404, NULL, "none");
	ok(strcmp(a.body.p, "{\"error\":\"none\"}") == 0 && a.retry == NULL,
	    "elsewhere {\"error\"}: %s", a.body.p);
	sre_answer_free(&a);
	ok(a.code == 0 && a.body.p == NULL && a.fd == -1, "freed and reset");
	return tap_done();
}
