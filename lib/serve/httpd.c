/* httpd.c: sre-serve's libmicrohttpd glue (httpd.h). */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/stdlib.h>
#include <microhttpd.h>

#include "api.h"
#include "diag.h"
#include "httpd.h"
#include "ingest.h"
#include "metrics.h"
#include "sse.h"
#include "static.h"

#define SSE_BLOCK	(64 * 1024)

static void
cors(const struct sre_srv *s, struct MHD_Response *rsp,
    struct MHD_Connection *conn)
{
	const char *origin, *allow = s->conf.cors;

	if (allow == NULL)
		return;
	if (strcmp(allow, "*") == 0) {
		MHD_add_response_header(rsp, "Access-Control-Allow-Origin",
		    "*");
		return;
	}
	origin = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin");
	if (origin != NULL && strcmp(origin, allow) == 0) {
		MHD_add_response_header(rsp, "Access-Control-Allow-Origin",
		    allow);
		MHD_add_response_header(rsp, "Vary", "Origin");
	}
}

/* Queue rsp (destroyed here) with code, and count it.  NULL rsp: MHD_NO. */
static enum MHD_Result
send_rsp(struct MHD_Connection *conn, struct sre_req *rq, int code,
    struct MHD_Response *rsp)
{
	enum MHD_Result ret;

	if (rsp == NULL)
		return MHD_NO;
	ret = MHD_queue_response(conn, (unsigned)code, rsp);
	MHD_destroy_response(rsp);
	rq->done = 1;
	sre_srv_count(rq->s, rq->route, code);
	return ret;
}

/* A dashboard file: its own headers, no CORS.  The fd is passed on. */
static struct MHD_Response *
file_rsp(struct sre_answer *a)
{
	struct MHD_Response *rsp;

	if ((rsp = MHD_create_response_from_fd(a->fd_size, a->fd)) == NULL)
		return NULL;
	a->fd = -1;
	MHD_add_response_header(rsp, "Content-Type", a->ctype);
	MHD_add_response_header(rsp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(rsp, "Content-Security-Policy",
	    "default-src 'self'; img-src 'self' data:; "
	    "frame-ancestors 'none'");
	MHD_add_response_header(rsp, "Cache-Control", "no-cache");
	return rsp;
}

/* Send a (then freed) on conn, and count it. */
static enum MHD_Result
send_answer(struct MHD_Connection *conn, struct sre_req *rq,
    struct sre_answer *a)
{
	struct MHD_Response *rsp;
	int code = a->code;

	if (a->fd >= 0)
		rsp = file_rsp(a);
	else {
		if (a->body.oom)
			sre_answer_fail(a, rq->route, rq->proto, 500, NULL,
			    "out of memory");
		rsp = MHD_create_response_from_buffer(a->body.n,
		    a->body.p ? a->body.p : (void *)"", MHD_RESPMEM_MUST_COPY);
		code = a->code;
		if (rsp != NULL) {
			if (a->ctype != NULL)
				MHD_add_response_header(rsp, "Content-Type",
				    a->ctype);
			if (a->retry != NULL)
				MHD_add_response_header(rsp, "Retry-After",
				    a->retry);
			MHD_add_response_header(rsp, "X-Content-Type-Options",
			    "nosniff");
			MHD_add_response_header(rsp, "Cache-Control",
			    "no-store");
			if (code == 405)
				MHD_add_response_header(rsp, "Allow",
				    sre_route_post(rq->route) ?
				    "POST, OPTIONS" : "GET, HEAD");
			cors(rq->s, rsp, conn);
		}
	}
	sre_answer_free(a);
	return send_rsp(conn, rq, code, rsp);
}

static ssize_t
sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	ssize_t n;

	(void)pos;
	n = sre_sse_read(cls, buf, max);
	if (n == SRE_SSE_END)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (n == SRE_SSE_ERROR)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	return n;
}

static enum MHD_Result
sse_start(struct MHD_Connection *conn, struct sre_req *rq)
{
	struct MHD_Response *rsp;
	const char *last;

	last = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    "Last-Event-ID");
	if (last == NULL)
		last = MHD_lookup_connection_value(conn,
		    MHD_GET_ARGUMENT_KIND, "since");
	sre_sse_begin(rq->s, rq, last);
	rsp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, SSE_BLOCK,
	    sse_read, rq, NULL);
	if (rsp == NULL)
		return MHD_NO;
	MHD_add_response_header(rsp, "Content-Type", "text/event-stream");
	MHD_add_response_header(rsp, "Cache-Control", "no-store");
	MHD_add_response_header(rsp, "X-Accel-Buffering", "no");
	cors(rq->s, rsp, conn);
	return send_rsp(conn, rq, 200, rsp);
}

/* The CORS preflight's answer. */
static enum MHD_Result
preflight(struct MHD_Connection *conn, struct sre_req *rq)
{
	struct MHD_Response *rsp;

	rsp = MHD_create_response_from_buffer(0, (void *)"",
	    MHD_RESPMEM_PERSISTENT);
	if (rsp == NULL)
		return MHD_NO;
	MHD_add_response_header(rsp, "Access-Control-Allow-Methods",
	    "GET, POST, OPTIONS");
	MHD_add_response_header(rsp, "Access-Control-Allow-Headers",
	    "Authorization, Content-Type, Content-Encoding, Last-Event-ID");
	MHD_add_response_header(rsp, "Access-Control-Max-Age", "600");
	cors(rq->s, rsp, conn);
	return send_rsp(conn, rq, 204, rsp);
}

static const char *
header(struct MHD_Connection *conn, const char *name)
{
	return MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);
}

static const char *
query(struct MHD_Connection *conn, const char *name)
{
	return MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, name);
}

/* First call of a request: method, route, auth, type, declared size. */
static enum MHD_Result
first(struct MHD_Connection *conn, struct sre_req *rq, const char *method)
{
	struct sre_answer a = SRE_ANSWER_INIT;
	struct sre_req_head h;

	if (strcmp(method, "OPTIONS") == 0 && rq->s->conf.cors != NULL)
		return preflight(conn, rq);
	h.method = method;
	h.auth = header(conn, "Authorization");
	h.ctype = header(conn, "Content-Type");
	h.cenc = header(conn, "Content-Encoding");
	h.clen = header(conn, "Content-Length");
	if (sre_route_check(&rq->s->conf, rq, &h, &a))
		return send_answer(conn, rq, &a);
	return MHD_YES;
}

/* The whole request is in: answer it. */
static enum MHD_Result
dispatch(struct MHD_Connection *conn, struct sre_req *rq, const char *url)
{
	struct sre_answer a = SRE_ANSWER_INIT;
	struct sre_srv *s = rq->s;
	const char *rest;

	sre_route_of(url, &rest);
	switch (rq->route) {
	case R_TRACES:
	case R_METRICS_IN:
	case R_LOGS:
	case R_WRITE:
	case R_ALERTS:
		sre_ingest(s, rq, &a);
		break;
	case R_HEALTH:
		sre_metrics_health(s, &a);
		break;
	case R_PROM:
		sre_metrics_prom(s, &a);
		break;
	case R_INCIDENTS:
		sre_api_incidents(s, query(conn, "status"),
		    query(conn, "limit"), &a);
		break;
	case R_INCIDENT:
		sre_api_incident(s, rest, &a);
		break;
	case R_REPORT:
		sre_api_report(s, query(conn, "since"), &a);
		break;
	case R_EVENTS:
		/* Without --in the stream stays open and quiet. */
		return sse_start(conn, rq);
	case R_INJECT:
		sre_api_inject(s, query(conn, "type"), query(conn, "service"),
		    &a);
		break;
	default:
		sre_static_open(s->conf.dashboard, url, &a);
		break;
	}
	return send_answer(conn, rq, &a);
}

static enum MHD_Result
handle(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **con_cls)
{
	struct sre_answer a = SRE_ANSWER_INIT;
	struct sre_req *rq = *con_cls;
	struct sre_srv *s = cls;
	const char *rest;

	(void)version;
	if (rq == NULL) {
		if ((rq = calloc(1, sizeof(*rq))) == NULL)
			return MHD_NO;
		rq->s = s;
		rq->route = sre_route_of(url, &rest);
		*con_cls = rq;
		return first(conn, rq, method);
	}
	if (rq->done) {
		*upload_size = 0;	/* answered: the rest is discarded */
		return MHD_YES;
	}
	if (*upload_size > 0) {
		if (rq->body.n + *upload_size > s->conf.max_body)
			rq->too_big = 1;
		else
			sre_sbuf_add(&rq->body, upload, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	if (rq->too_big)
		sre_answer_fail(&a, rq->route, rq->proto, 413, NULL,
		    "body over %zu bytes", s->conf.max_body);
	else if (rq->body.oom)
		sre_answer_fail(&a, rq->route, rq->proto, 503, "1",
		    "out of memory");
	else
		return dispatch(conn, rq, url);
	return send_answer(conn, rq, &a);
}

static void
completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct sre_req *rq = *con_cls;

	(void)cls;
	(void)conn;
	if (rq == NULL)
		return;
	if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK && !rq->done)
		sre_info("%s: request ended before it was answered (%d); "
		    "nothing of it was written", sre_route_name(rq->route),
		    (int)toe);
	sre_sbuf_free(&rq->body);
	sre_sbuf_free(&rq->pending);
	free(rq);
	*con_cls = NULL;
}

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[512];
	size_t n;

	(void)cls;
	if (sre_verbosity() < 1)
		return;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	sre_info("libmicrohttpd: %s", buf);
}

int
sre_parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	const char *colon, *errstr;
	char host[INET6_ADDRSTRLEN + 2];
	size_t hn;
	int port;

	if ((colon = strrchr(s, ':')) == NULL)
		return -1;
	port = (int)strtonum(colon + 1, 0, 65535, &errstr);
	if (errstr != NULL || (hn = (size_t)(colon - s)) >= sizeof(host))
		return -1;
	memcpy(host, s, hn);
	host[hn] = '\0';
	memset(ss, 0, sizeof(*ss));
	if (hn > 2 && host[0] == '[' && host[hn - 1] == ']') {
		host[hn - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &in6->sin6_addr) != 1)
			return -1;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*in6);
		return 0;
	}
	if (inet_pton(AF_INET, host, &in4->sin_addr) != 1)
		return -1;
	in4->sin_family = AF_INET;
	in4->sin_port = htons((uint16_t)port);
	*len = sizeof(*in4);
	return 0;
}

int
sre_srv_start(struct sre_srv *s, const struct sre_httpd_opts *o, char *err,
    size_t errlen)
{
	struct MHD_Daemon *d;

	d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION |
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC |
	    MHD_USE_ERROR_LOG | (o->addr.ss_family == AF_INET6 ?
	    MHD_USE_IPv6 : 0),
	    0, NULL, NULL, handle, s,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
	    MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)&o->addr,
	    MHD_OPTION_CONNECTION_LIMIT, o->max_conn,
	    MHD_OPTION_CONNECTION_TIMEOUT, o->timeout_s,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, o->max_header,
	    MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
	    MHD_OPTION_THREAD_STACK_SIZE, (size_t)(512 * 1024),
	    MHD_OPTION_END);
	if (d == NULL) {
		snprintf(err, errlen, "%s", strerror(errno ? errno :
		    EADDRINUSE));
		return EX_UNAVAILABLE;
	}
	s->httpd = d;
	if (pthread_create(&s->wt, NULL, sre_srv_writer, s) != 0 ||
	    (s->in != NULL && pthread_create(&s->rt, NULL, sre_srv_reader,
	    s) != 0)) {
		snprintf(err, errlen, "cannot start a thread");
		return EX_OSERR;
	}
	return EX_OK;
}

unsigned
sre_srv_port(struct sre_srv *s)
{
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->httpd,
	    MHD_DAEMON_INFO_BIND_PORT);

	return di ? (unsigned)di->port : 0u;
}

int
sre_srv_stop(struct sre_srv *s)
{
	close(MHD_quiesce_daemon(s->httpd));
	MHD_stop_daemon(s->httpd);
	s->httpd = NULL;
	pthread_mutex_lock(&s->qlock);
	s->closing = 1;
	pthread_cond_signal(&s->qcond);
	pthread_mutex_unlock(&s->qlock);
	pthread_join(s->wt, NULL);
	if (s->in != NULL)
		pthread_join(s->rt, NULL);
	return s->out_failed ? EX_IOERR : EX_OK;
}
