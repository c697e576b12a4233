/*
 * sre-serve: the HTTP way in to SRE-Space, its API and its dashboard.
 *
 * Receives OTLP/HTTP (JSON and protobuf, gzip or not), Prometheus remote
 * write and Alertmanager webhooks, and writes what it receives to --out,
 * one line per OTLP request, metric point or event, as sre-scout reads
 * them.  A writer thread owns the output: requests queue their lines and
 * are answered 429 with Retry-After when the queue is full, 503 when the
 * output is gone, so nothing accepted is dropped.  Events read from --in
 * feed /events (Server-Sent Events, resumable from a bounded ring) and the
 * counters of /metrics; /incidents and /reports/metrics read the store;
 * /demo/inject-failure writes the demo marketplace's control file; / is
 * the dashboard.  libmicrohttpd runs one thread per connection, so a slow
 * client holds only its own thread.  SIGTERM stops accepting, lets the
 * requests in hand finish, writes out the queue and exits 0.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <bsd/stdlib.h>
#include <microhttpd.h>
#include <zlib.h>

#include "curate.h"
#include "evtime.h"
#include "govern.h"
#include "serve.h"
#include "sre.h"
#include "store.h"

#define RING_SIZE	1024	/* events kept for Last-Event-ID resume */
#define SSE_BLOCK	(64 * 1024)

enum route {
	R_TRACES, R_METRICS_IN, R_LOGS, R_WRITE, R_ALERTS, R_HEALTH,
	R_PROM, R_INCIDENTS, R_INCIDENT, R_REPORT, R_EVENTS, R_INJECT,
	R_STATIC, R_OTHER, N_ROUTES
};

static const char *const route_names[N_ROUTES] = {
	"/v1/traces", "/v1/metrics", "/v1/logs", "/api/v1/write",
	"/v1/alertmanager", "/system/health", "/metrics", "/incidents",
	"/incidents/{id}", "/reports/metrics", "/events",
	"/demo/inject-failure", "static", "other"
};

/* Inputs whose last arrival /system/health reports. */
enum input { IN_TRACES, IN_METRICS, IN_LOGS, IN_WRITE, IN_ALERTS, IN_EVENTS,
	N_INPUTS };
static const char *const input_names[N_INPUTS] = {
	"traces", "metrics", "logs", "remote_write", "alertmanager", "events"
};

static const int codes[] = { 200, 204, 206, 304, 400, 401, 403, 404, 405,
	413, 415, 429, 500, 503 };
#define N_CODES (sizeof(codes) / sizeof(codes[0]))

static const char *const event_types[] = { "anomaly", "recovery",
	"topology", "diagnosis", "verdict", "action", "escalation",
	"postmortem", "governor", NULL };
#define N_TYPES 10		/* the list above and "other" */

/* A chunk of output lines waiting for the writer. */
struct chunk {
	struct chunk *next;
	size_t n;
	char data[];
};

static struct {
	struct sre_common c;
	const char *listen;
	const char *dashboard;
	const char *control;
	const char *cors;
	size_t max_body;
	size_t max_header;
	size_t max_queue;
	unsigned max_conn;
	unsigned timeout_s;
	const char *api_token;
	const char *ingest_token;
} opt;

/* Everything the threads share, behind its locks. */
struct srv {
	struct MHD_Daemon *d;
	struct sre_bus *out, *in;
	/* output queue: qlock */
	pthread_mutex_t qlock;
	pthread_cond_t qcond;
	struct chunk *head, *tail;
	size_t queued;
	int closing;		/* no more chunks will come */
	int out_failed;		/* the output is gone */
	/* event ring and counters: rlock */
	pthread_mutex_t rlock;
	pthread_cond_t rcond;
	char *ring[RING_SIZE];
	unsigned long long ring_seq[RING_SIZE];
	unsigned long long seq;	/* last sequence number given */
	unsigned long long types[N_TYPES];
	int in_done;
	/* statistics: slock */
	pthread_mutex_t slock;
	unsigned long long req[N_ROUTES][N_CODES];
	unsigned long long records[3];	/* spans, points, logs */
	unsigned long long points, alerts_firing, alerts_resolved;
	unsigned long long written;	/* lines written out */
	int64_t last_ms[N_INPUTS];
	struct sre_gov_watch gw;
	struct sre_gov_state gov;
	int gov_seen;
	/* measured once a second by the main thread, for /system/health */
	int64_t mem;
	long long open;		/* incidents open; -1 when unknown */
	/* libjq, the store, sre_id_new: jlock */
	pthread_mutex_t jlock;
	struct sre_store *st;
	int64_t started_ms;
};

/* Per-request state, from the first call to the completion callback. */
struct req {
	enum route route;
	int done;		/* a response was queued */
	int gzip, snappy, proto;
	size_t max;
	struct sre_sbuf body;
	int too_big;
	/* SSE */
	unsigned long long next;
	struct sre_sbuf pending;
	size_t pend_off;
	struct srv *s;
};

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: sre-serve [-hqVv] [--control FILE] [--cors ORIGIN] "
	    "[--dashboard DIR] [-i URL]\n"
	    "                 [-l ADDR:PORT] [--max-body N] "
	    "[--max-connections N]\n"
	    "                 [--max-header N] [--max-line N] [--max-queue N] "
	    "[-o URL]\n"
	    "                 [--state-dir DIR] [--timeout DURATION]\n"
	    "  -l, --listen ADDR:PORT  listen there (default 127.0.0.1:8001)\n"
	    "  -o, --out URL           write received telemetry and events "
	    "(default -)\n"
	    "  -i, --in URL            read events for /events and /metrics\n"
	    "      --dashboard DIR     serve the dashboard from DIR\n"
	    "      --control FILE      the marketplace control file for "
	    "/demo/inject-failure\n"
	    "      --cors ORIGIN       allow this origin (or *) across sites\n"
	    "      --max-body N        largest request body, also once "
	    "inflated (default 4194304)\n"
	    "      --max-header N      memory for a request's headers "
	    "(default 32768)\n"
	    "      --max-connections N at most N clients at once "
	    "(default 256)\n"
	    "      --max-queue N       output bytes waiting before 429 "
	    "(default 16777216)\n"
	    "      --timeout DURATION  close idle connections (default 30s)\n"
	    "      --state-dir DIR     the store and governor.json\n"
	    "      --max-line N        longest --in line (default 16777216)\n"
	    "  -q, --quiet             report errors only\n"
	    "  -v, --verbose           report more\n"
	    "  -h, --help              this help\n"
	    "  -V, --version           print the version\n");
}

/* ---- statistics ------------------------------------------------------- */

static void
count_req(struct srv *s, enum route r, int code)
{
	size_t i;

	for (i = 0; i < N_CODES && codes[i] != code; i++)
		;
	pthread_mutex_lock(&s->slock);
	if (i < N_CODES)
		s->req[r][i]++;
	pthread_mutex_unlock(&s->slock);
}

static void
seen_input(struct srv *s, enum input in)
{
	int64_t now = sre_now_ms();

	pthread_mutex_lock(&s->slock);
	s->last_ms[in] = now;
	pthread_mutex_unlock(&s->slock);
}

/* ---- responses -------------------------------------------------------- */

static void
cors(struct MHD_Response *rsp, struct MHD_Connection *conn)
{
	const char *origin;

	if (opt.cors == NULL)
		return;
	if (strcmp(opt.cors, "*") == 0) {
		MHD_add_response_header(rsp, "Access-Control-Allow-Origin",
		    "*");
		return;
	}
	origin = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin");
	if (origin != NULL && strcmp(origin, opt.cors) == 0) {
		MHD_add_response_header(rsp, "Access-Control-Allow-Origin",
		    opt.cors);
		MHD_add_response_header(rsp, "Vary", "Origin");
	}
}

/* Queue rsp (destroyed here) with code, and count it.  NULL rsp: MHD_NO. */
static enum MHD_Result
send_rsp(struct MHD_Connection *conn, struct req *rq, int code,
    struct MHD_Response *rsp)
{
	enum MHD_Result ret;

	if (rsp == NULL)
		return MHD_NO;
	ret = MHD_queue_response(conn, (unsigned)code, rsp);
	MHD_destroy_response(rsp);
	rq->done = 1;
	count_req(rq->s, rq->route, code);
	return ret;
}

/* Queue a response of n bytes of type ctype (copied); counts it. */
static enum MHD_Result
reply(struct MHD_Connection *conn, struct req *rq, int code,
    const char *ctype, const void *data, size_t n, const char *retry)
{
	struct MHD_Response *rsp;

	rsp = MHD_create_response_from_buffer(n, (void *)data,
	    MHD_RESPMEM_MUST_COPY);
	if (rsp == NULL)
		return MHD_NO;
	if (ctype != NULL)
		MHD_add_response_header(rsp, "Content-Type", ctype);
	if (retry != NULL)
		MHD_add_response_header(rsp, "Retry-After", retry);
	MHD_add_response_header(rsp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(rsp, "Cache-Control", "no-store");
	if (code == 405)
		MHD_add_response_header(rsp, "Allow", rq->route <= R_ALERTS ||
		    rq->route == R_INJECT ? "POST, OPTIONS" : "GET, HEAD");
	cors(rsp, conn);
	return send_rsp(conn, rq, code, rsp);
}

/* A JSON error {"error": msg} (OTLP routes: a google.rpc.Status). */
static enum MHD_Result
fail(struct MHD_Connection *conn, struct req *rq, int code,
    const char *retry, const char *fmt, ...)
{
	struct sre_sbuf b = { 0 };
	enum MHD_Result ret;
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (rq->route <= R_LOGS && rq->proto) {
		/* google.rpc.Status: code = 1 (varint), message = 2. */
		unsigned char hdr[16];
		size_t n = strlen(msg), h = 0;
		int grpc = code == 400 ? 3 : code == 401 ? 16 : code == 413 ?
		    8 : code == 429 || code == 503 ? 14 : 2;

		hdr[h++] = 0x08;
		hdr[h++] = (unsigned char)grpc;
		hdr[h++] = 0x12;
		for (; n >= 0x80; n >>= 7)
			hdr[h++] = (unsigned char)(n | 0x80);
		hdr[h++] = (unsigned char)n;
		sre_sbuf_add(&b, hdr, h);
		sre_sbuf_adds(&b, msg);
		ret = reply(conn, rq, code, "application/x-protobuf", b.p,
		    b.n, retry);
	} else {
		if (rq->route <= R_LOGS)
			sre_sbuf_addf(&b, "{\"code\":%d,\"message\":",
			    code == 400 ? 3 : code == 401 ? 16 : code == 413 ?
			    8 : code == 429 || code == 503 ? 14 : 2);
		else
			sre_sbuf_adds(&b, "{\"error\":");
		sre_sbuf_jstr(&b, msg, strlen(msg));
		sre_sbuf_adds(&b, "}");
		ret = reply(conn, rq, code, "application/json", b.p, b.n,
		    retry);
	}
	sre_sbuf_free(&b);
	return ret;
}

static enum MHD_Result
reply_jv(struct MHD_Connection *conn, struct req *rq, int code, jv v)
{
	enum MHD_Result ret;
	size_t n;
	char *t;

	if ((t = sre_jv_dump(v, &n)) == NULL)
		return fail(conn, rq, 500, NULL, "out of memory");
	ret = reply(conn, rq, code, "application/json", t, n, NULL);
	free(t);
	return ret;
}

/* ---- the output queue ------------------------------------------------- */

/*
 * Queue n bytes of lines (each ending in a newline).  0 when queued; 429
 * when the queue is full; 503 when the output has failed or is closing.
 */
static int
enqueue(struct srv *s, const char *lines, size_t n)
{
	struct chunk *c;
	int code = 0;

	if (n == 0)
		return 0;
	pthread_mutex_lock(&s->qlock);
	if (s->out_failed || s->closing)
		code = 503;
	else if (s->queued > 0 && s->queued + n > opt.max_queue)
		code = 429;
	pthread_mutex_unlock(&s->qlock);
	if (code != 0)
		return code;
	if ((c = malloc(sizeof(*c) + n)) == NULL)
		return 503;
	c->next = NULL;
	c->n = n;
	memcpy(c->data, lines, n);
	pthread_mutex_lock(&s->qlock);
	if (s->tail != NULL)
		s->tail->next = c;
	else
		s->head = c;
	s->tail = c;
	s->queued += n;
	pthread_cond_signal(&s->qcond);
	pthread_mutex_unlock(&s->qlock);
	return 0;
}

/* The writer: lines out in order; flush whenever the queue runs dry. */
static void *
writer(void *arg)
{
	struct srv *s = arg;
	unsigned long long lines;
	struct chunk *c;
	char *p, *e, *nl;
	int dirty = 0, bad;

	for (;;) {
		pthread_mutex_lock(&s->qlock);
		while (s->head == NULL && !s->closing && !dirty)
			pthread_cond_wait(&s->qcond, &s->qlock);
		c = s->head;
		if (c != NULL && (s->head = c->next) == NULL)
			s->tail = NULL;
		pthread_mutex_unlock(&s->qlock);
		if (c == NULL) {
			if (dirty) {
				if (sre_bus_flush(s->out) != SRE_WRITE_OK)
					goto failed;
				dirty = 0;
				continue;
			}
			break;	/* closing and empty */
		}
		lines = 0;
		bad = 0;
		for (p = c->data, e = c->data + c->n; p < e && !bad; p = nl + 1) {
			if ((nl = memchr(p, '\n', (size_t)(e - p))) == NULL)
				nl = e;
			if (sre_bus_write(s->out, p, (size_t)(nl - p)) !=
			    SRE_WRITE_OK)
				bad = 1;
			else
				lines++;
		}
		pthread_mutex_lock(&s->qlock);
		s->queued -= c->n;
		pthread_mutex_unlock(&s->qlock);
		free(c);
		pthread_mutex_lock(&s->slock);
		s->written += lines;
		pthread_mutex_unlock(&s->slock);
		if (bad)
			goto failed;
		dirty = 1;
	}
	return NULL;
failed:
	sre_warnx("writing to %s: %s; refusing telemetry from now on",
	    sre_bus_url(s->out), sre_bus_error(s->out));
	pthread_mutex_lock(&s->qlock);
	s->out_failed = 1;
	while ((c = s->head) != NULL) {
		s->head = c->next;
		s->queued -= c->n;
		free(c);
	}
	s->tail = NULL;
	pthread_mutex_unlock(&s->qlock);
	return NULL;
}

/* ---- the event reader (--in) ------------------------------------------ */

static void *
reader(void *arg)
{
	struct srv *s = arg;
	const char *line, *type;
	char err[256];
	size_t len, t;
	unsigned slot;
	jv ev;
	int r;

	for (;;) {
		r = sre_bus_read(s->in, &line, &len, 500);
		if (r == SRE_READ_TIMEOUT) {
			if (sre_stopping())
				break;
			continue;
		}
		if (r == SRE_READ_TOOLONG) {
			sre_warnx("%s: line of %zu bytes skipped",
			    sre_bus_where(s->in), len);
			continue;
		}
		if (r != SRE_READ_LINE)
			break;
		pthread_mutex_lock(&s->jlock);
		ev = sre_json_object(line, len, err, sizeof(err));
		if (jv_is_valid(ev) && sre_event_check(ev, err,
		    sizeof(err)) < 0) {
			jv_free(ev);
			ev = jv_invalid();
		}
		if (!jv_is_valid(ev)) {
			pthread_mutex_unlock(&s->jlock);
			jv_free(ev);
			sre_warnx("%s: %s", sre_bus_where(s->in), err);
			continue;
		}
		type = sre_jv_str(ev, "type");
		for (t = 0; event_types[t] != NULL &&
		    strcmp(event_types[t], type) != 0; t++)
			;
		jv_free(ev);
		pthread_mutex_unlock(&s->jlock);
		sre_bus_ack(s->in);
		seen_input(s, IN_EVENTS);
		pthread_mutex_lock(&s->rlock);
		slot = (unsigned)(++s->seq % RING_SIZE);
		free(s->ring[slot]);
		s->ring[slot] = strndup(line, len);
		s->ring_seq[slot] = s->seq;
		s->types[t]++;
		pthread_cond_broadcast(&s->rcond);
		pthread_mutex_unlock(&s->rlock);
	}
	if (r == SRE_READ_ERROR)
		sre_warnx("reading %s: %s", sre_bus_url(s->in),
		    sre_bus_error(s->in));
	pthread_mutex_lock(&s->rlock);
	s->in_done = 1;
	pthread_cond_broadcast(&s->rcond);
	pthread_mutex_unlock(&s->rlock);
	return NULL;
}

/* ---- Server-Sent Events ----------------------------------------------- */

static ssize_t
sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct req *rq = cls;
	struct srv *s = rq->s;
	unsigned long long oldest;
	struct timespec ts;
	unsigned slot;
	int idle = 0;
	size_t n;

	(void)pos;
	while (rq->pend_off >= rq->pending.n) {
		rq->pending.n = rq->pend_off = 0;
		pthread_mutex_lock(&s->rlock);
		/* Wait for the next event, a second at a time, watching for
		 * the signal to stop; after 15 s of nothing, a comment keeps
		 * proxies and the browser from closing the stream (and finds
		 * out whether the client is still there). */
		while (rq->next > s->seq && !sre_stopping() && idle < 15) {
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 1;
			if (pthread_cond_timedwait(&s->rcond, &s->rlock,
			    &ts) == ETIMEDOUT)
				idle++;
		}
		if (rq->next > s->seq) {
			pthread_mutex_unlock(&s->rlock);
			if (sre_stopping())
				return MHD_CONTENT_READER_END_OF_STREAM;
			sre_sbuf_adds(&rq->pending, ": keepalive\n\n");
			break;
		}
		oldest = s->seq >= RING_SIZE ? s->seq - RING_SIZE + 1 : 1;
		if (rq->next < oldest)
			rq->next = oldest;	/* what fell off is gone */
		slot = (unsigned)(rq->next % RING_SIZE);
		sre_sbuf_addf(&rq->pending, "id: %llu\nevent: sre\ndata: ",
		    rq->next);
		sre_sbuf_adds(&rq->pending, s->ring[slot] ? s->ring[slot] :
		    "{}");
		sre_sbuf_adds(&rq->pending, "\n\n");
		rq->next++;
		pthread_mutex_unlock(&s->rlock);
	}
	if (rq->pending.oom)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	n = rq->pending.n - rq->pend_off;
	if (n > max)
		n = max;
	memcpy(buf, rq->pending.p + rq->pend_off, n);
	rq->pend_off += n;
	return (ssize_t)n;
}

static enum MHD_Result
sse_start(struct MHD_Connection *conn, struct req *rq)
{
	struct MHD_Response *rsp;
	const char *last;
	unsigned long long id;
	char *end;

	pthread_mutex_lock(&rq->s->rlock);
	rq->next = rq->s->seq + 1;
	pthread_mutex_unlock(&rq->s->rlock);
	last = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    "Last-Event-ID");
	if (last == NULL)
		last = MHD_lookup_connection_value(conn,
		    MHD_GET_ARGUMENT_KIND, "since");
	if (last != NULL && *last != '\0') {
		errno = 0;
		id = strtoull(last, &end, 10);
		if (errno == 0 && *end == '\0')
			rq->next = id + 1;
	}
	rq->pend_off = 0;
	sre_sbuf_adds(&rq->pending, "retry: 2000\n\n");
	rsp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, SSE_BLOCK,
	    sse_read, rq, NULL);
	if (rsp == NULL)
		return MHD_NO;
	MHD_add_response_header(rsp, "Content-Type", "text/event-stream");
	MHD_add_response_header(rsp, "Cache-Control", "no-store");
	MHD_add_response_header(rsp, "X-Accel-Buffering", "no");
	cors(rsp, conn);
	return send_rsp(conn, rq, 200, rsp);
}

/* ---- the store -------------------------------------------------------- */

/* Open the store read-only once it exists.  Call with jlock held. */
static int
store(struct srv *s, char *err, size_t errlen)
{
	struct sre_store_opts so = { .flags = SRE_STORE_RDONLY };
	int ex;

	if (s->st != NULL)
		return EX_OK;
	ex = sre_store_open(&s->st, sre_state_dir(&opt.c), &so, err, errlen);
	if (ex != EX_OK)
		s->st = NULL;
	return ex;
}

struct scan {
	jv list;
	const char *status;
	long long open, limit;
	unsigned long long mttr[8];	/* histogram buckets */
	double mttr_sum;
	unsigned long long mttr_n;
};

static const double mttr_le[] = { 60, 300, 600, 1800, 3600, 14400, 86400 };

static int
scan_one(jv rec, void *ctx)
{
	struct scan *sc = ctx;
	const char *st = sre_jv_str(rec, "status");
	double mttr;
	size_t i;

	if (st != NULL && strcmp(st, "open") == 0)
		sc->open++;
	if (sre_jv_num(rec, "mttr_ms", &mttr) == 0 && mttr >= 0) {
		for (i = 0; i < 7 && mttr / 1000 > mttr_le[i]; i++)
			;
		sc->mttr[i]++;
		sc->mttr_sum += mttr / 1000;
		sc->mttr_n++;
	}
	if (jv_get_kind(sc->list) == JV_KIND_ARRAY &&
	    (sc->status == NULL || (st != NULL &&
	    strcmp(st, sc->status) == 0)) &&
	    jv_array_length(jv_copy(sc->list)) < sc->limit)
		sc->list = jv_array_append(sc->list, jv_copy(rec));
	return 0;
}

/* Scan incident records into sc.  jlock held.  EX_OK, EX_NOINPUT, ... */
static int
scan_incidents(struct srv *s, struct scan *sc, char *err, size_t errlen)
{
	struct sre_txn *t;
	int ex;

	if ((ex = store(s, err, errlen)) != EX_OK)
		return ex;
	if ((ex = sre_store_read(s->st, &t, err, errlen)) != EX_OK)
		return ex;
	if (sre_txn_incident_scan(t, scan_one, sc) < 0) {
		snprintf(err, errlen, "%s", sre_txn_error(t, &ex));
		sre_txn_end(t);
		return ex ? ex : EX_SOFTWARE;
	}
	sre_txn_end(t);
	return EX_OK;
}

/* Newest first: incidents sorted by last_ms, descending. */
static jv
newest_first(jv list)
{
	jv keyed = jv_array(), out = jv_array();
	int i, n = jv_array_length(jv_copy(list));
	double last;

	for (i = 0; i < n; i++) {
		jv rec = jv_array_get(jv_copy(list), i);

		if (sre_jv_num(rec, "last_ms", &last) < 0)
			last = 0;
		keyed = jv_array_append(keyed, JV_ARRAY(jv_number(-last),
		    rec));
	}
	jv_free(list);
	keyed = jv_sort(keyed, jv_copy(keyed));
	n = jv_array_length(jv_copy(keyed));
	for (i = 0; i < n; i++)
		out = jv_array_append(out, jv_array_get(jv_array_get(
		    jv_copy(keyed), i), 1));
	jv_free(keyed);
	return out;
}

static enum MHD_Result
get_incidents(struct MHD_Connection *conn, struct req *rq)
{
	struct scan sc = { .list = jv_null(), .limit = 100 };
	const char *st, *lim, *errstr;
	char err[1024];
	jv out;
	int ex;

	st = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND,
	    "status");
	if (st != NULL && strcmp(st, "open") != 0 && strcmp(st, "closed") != 0)
		return fail(conn, rq, 400, NULL, "status: not open or closed");
	sc.status = st;
	if ((lim = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND,
	    "limit")) != NULL) {
		sc.limit = strtonum(lim, 1, 10000, &errstr);
		if (errstr != NULL)
			return fail(conn, rq, 400, NULL, "limit: %s", errstr);
	}
	pthread_mutex_lock(&rq->s->jlock);
	sc.list = jv_array();
	ex = scan_incidents(rq->s, &sc, err, sizeof(err));
	if (ex != EX_OK && ex != EX_NOINPUT) {
		jv_free(sc.list);
		pthread_mutex_unlock(&rq->s->jlock);
		return fail(conn, rq, 503, "5", "store: %s", err);
	}
	out = JV_OBJECT(jv_string("incidents"), newest_first(sc.list),
	    jv_string("open"), jv_number((double)sc.open));
	pthread_mutex_unlock(&rq->s->jlock);
	return reply_jv(conn, rq, 200, out);
}

static enum MHD_Result
get_incident(struct MHD_Connection *conn, struct req *rq, const char *id)
{
	struct sre_txn *t;
	char err[1024], *md;
	jv rec, tl, out;
	const char *st;
	int ex;

	if (*id == '\0' || strlen(id) > SRE_STORE_KEY_MAX)
		return fail(conn, rq, 404, NULL, "no such incident");
	pthread_mutex_lock(&rq->s->jlock);
	if ((ex = store(rq->s, err, sizeof(err))) == EX_NOINPUT) {
		pthread_mutex_unlock(&rq->s->jlock);
		return fail(conn, rq, 404, NULL, "no such incident");
	}
	if (ex != EX_OK || (ex = sre_store_read(rq->s->st, &t, err,
	    sizeof(err))) != EX_OK) {
		pthread_mutex_unlock(&rq->s->jlock);
		return fail(conn, rq, 503, "5", "store: %s", err);
	}
	rec = sre_txn_incident_get(t, id);
	if (jv_get_kind(rec) != JV_KIND_OBJECT) {
		sre_txn_end(t);
		jv_free(rec);
		pthread_mutex_unlock(&rq->s->jlock);
		return fail(conn, rq, 404, NULL, "no such incident");
	}
	tl = sre_txn_timeline(t, id);
	sre_txn_end(t);
	if (!jv_is_valid(tl)) {
		jv_free(tl);
		tl = jv_array();
	}
	out = JV_OBJECT(jv_string("incident"), jv_copy(rec),
	    jv_string("timeline"), jv_copy(tl));
	st = sre_jv_str(rec, "status");
	if (st != NULL && strcmp(st, "closed") == 0 &&
	    (md = sre_curate_markdown(rec, tl, jv_null())) != NULL) {
		out = jv_object_set(out, jv_string("postmortem"),
		    jv_string(md));
		free(md);
	}
	jv_free(rec);
	jv_free(tl);
	pthread_mutex_unlock(&rq->s->jlock);
	return reply_jv(conn, rq, 200, out);
}

static enum MHD_Result
get_report(struct MHD_Connection *conn, struct req *rq)
{
	const char *since, *errstr;
	int64_t from = 0;
	char err[1024];
	jv rep;
	int ex;

	if ((since = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND,
	    "since")) != NULL) {
		from = strtonum(since, 0, INT64_MAX, &errstr);
		if (errstr != NULL)
			return fail(conn, rq, 400, NULL,
			    "since: epoch milliseconds %s", errstr);
	}
	pthread_mutex_lock(&rq->s->jlock);
	if ((ex = store(rq->s, err, sizeof(err))) != EX_OK) {
		pthread_mutex_unlock(&rq->s->jlock);
		if (ex == EX_NOINPUT)
			return fail(conn, rq, 404, NULL, "no store yet: %s",
			    err);
		return fail(conn, rq, 503, "5", "store: %s", err);
	}
	rep = sre_curate_report(rq->s->st, from, INT64_MAX, 0, jv_null(), err,
	    sizeof(err), &ex);
	pthread_mutex_unlock(&rq->s->jlock);
	if (!jv_is_valid(rep)) {
		jv_free(rep);
		return fail(conn, rq, 503, "5", "report: %s", err);
	}
	pthread_mutex_lock(&rq->s->jlock);
	{
		enum MHD_Result r = reply_jv(conn, rq, 200, rep);

		pthread_mutex_unlock(&rq->s->jlock);
		return r;
	}
}

/* ---- health and metrics ----------------------------------------------- */

struct snapshot {
	unsigned long long req[N_ROUTES][N_CODES], records[3], points;
	unsigned long long alerts_firing, alerts_resolved, written;
	unsigned long long types[N_TYPES];
	int64_t last_ms[N_INPUTS];
	size_t queued;
	int out_failed, degraded, gov_seen;
	struct sre_gov_state gov;
	int64_t mem;
	long long open;
};

static void
snap(struct srv *s, struct snapshot *sn)
{
	pthread_mutex_lock(&s->slock);
	memcpy(sn->req, s->req, sizeof(sn->req));
	memcpy(sn->records, s->records, sizeof(sn->records));
	memcpy(sn->last_ms, s->last_ms, sizeof(sn->last_ms));
	sn->points = s->points;
	sn->alerts_firing = s->alerts_firing;
	sn->alerts_resolved = s->alerts_resolved;
	sn->written = s->written;
	sn->gov = s->gov;
	sn->gov_seen = s->gov_seen;
	sn->mem = s->mem;
	sn->open = s->open;
	pthread_mutex_unlock(&s->slock);
	pthread_mutex_lock(&s->rlock);
	memcpy(sn->types, s->types, sizeof(sn->types));
	pthread_mutex_unlock(&s->rlock);
	pthread_mutex_lock(&s->qlock);
	sn->queued = s->queued;
	sn->out_failed = s->out_failed;
	pthread_mutex_unlock(&s->qlock);
	sn->degraded = sn->gov_seen && sn->gov.degraded;
}

static enum MHD_Result
get_health(struct MHD_Connection *conn, struct req *rq)
{
	struct snapshot sn;
	int i, ok;
	jv out, in;

	/* Cheap: what the main thread measured within the last second. */
	snap(rq->s, &sn);
	pthread_mutex_lock(&rq->s->jlock);
	ok = !sn.degraded && !sn.out_failed && sn.queued <= opt.max_queue;
	in = jv_object();
	for (i = 0; i < N_INPUTS; i++)
		in = jv_object_set(in, jv_string(input_names[i]),
		    sn.last_ms[i] ? jv_number((double)sn.last_ms[i]) :
		    jv_null());
	out = JV_OBJECT(jv_string("status"), jv_string(ok ? "ok" :
	    "degraded"), jv_string("version"), jv_string(SRE_VERSION),
	    jv_string("governor"), jv_string(!sn.gov_seen ? "unknown" :
	    sn.degraded ? "degraded" : "normal"),
	    jv_string("memory_bytes"), jv_number((double)sn.mem),
	    jv_string("incidents_open"), sn.open >= 0 ?
	    jv_number((double)sn.open) : jv_null(),
	    jv_string("last_ms"), in,
	    jv_string("output"), JV_OBJECT(jv_string("ok"),
	    jv_bool(!sn.out_failed), jv_string("queued_bytes"),
	    jv_number((double)sn.queued), jv_string("lines"),
	    jv_number((double)sn.written)),
	    jv_string("uptime_ms"),
	    jv_number((double)(sre_now_ms() - rq->s->started_ms)));
	{
		enum MHD_Result r = reply_jv(conn, rq, ok ? 200 : 503, out);

		pthread_mutex_unlock(&rq->s->jlock);
		return r;
	}
}

static enum MHD_Result
get_metrics(struct MHD_Connection *conn, struct req *rq)
{
	struct scan sc = { .list = jv_null() };
	struct sre_sbuf b = { 0 };
	struct snapshot sn;
	unsigned long long cum = 0;
	enum MHD_Result ret;
	char err[1024];
	size_t r, c, i;
	int ex;

	snap(rq->s, &sn);
	pthread_mutex_lock(&rq->s->jlock);
	ex = scan_incidents(rq->s, &sc, err, sizeof(err));
	pthread_mutex_unlock(&rq->s->jlock);
	sre_sbuf_adds(&b,
	    "# HELP sre_serve_requests_total HTTP requests answered, by route "
	    "and status code.\n"
	    "# TYPE sre_serve_requests_total counter\n");
	for (r = 0; r < N_ROUTES; r++)
		for (c = 0; c < N_CODES; c++)
			if (sn.req[r][c] > 0)
				sre_sbuf_addf(&b, "sre_serve_requests_total"
				    "{route=\"%s\",code=\"%d\"} %llu\n",
				    route_names[r], codes[c], sn.req[r][c]);
	sre_sbuf_addf(&b,
	    "# HELP sre_serve_received_total Telemetry records received, by "
	    "kind.\n"
	    "# TYPE sre_serve_received_total counter\n"
	    "sre_serve_received_total{kind=\"span\"} %llu\n"
	    "sre_serve_received_total{kind=\"datapoint\"} %llu\n"
	    "sre_serve_received_total{kind=\"log\"} %llu\n"
	    "sre_serve_received_total{kind=\"sample\"} %llu\n"
	    "sre_serve_received_total{kind=\"alert_firing\"} %llu\n"
	    "sre_serve_received_total{kind=\"alert_resolved\"} %llu\n"
	    "# HELP sre_serve_output_lines_total Lines written to the output.\n"
	    "# TYPE sre_serve_output_lines_total counter\n"
	    "sre_serve_output_lines_total %llu\n"
	    "# HELP sre_serve_output_queue_bytes Output waiting to be written.\n"
	    "# TYPE sre_serve_output_queue_bytes gauge\n"
	    "sre_serve_output_queue_bytes %zu\n"
	    "# HELP sre_serve_output_up Whether the output still takes lines.\n"
	    "# TYPE sre_serve_output_up gauge\n"
	    "sre_serve_output_up %d\n",
	    sn.records[0], sn.records[1], sn.records[2], sn.points,
	    sn.alerts_firing, sn.alerts_resolved, sn.written, sn.queued,
	    !sn.out_failed);
	sre_sbuf_adds(&b,
	    "# HELP sre_events_total Events read from the input, by type.\n"
	    "# TYPE sre_events_total counter\n");
	for (i = 0; i < N_TYPES; i++)
		sre_sbuf_addf(&b, "sre_events_total{type=\"%s\"} %llu\n",
		    i < N_TYPES - 1 ? event_types[i] : "other", sn.types[i]);
	if (ex == EX_OK || ex == EX_NOINPUT) {
		sre_sbuf_addf(&b,
		    "# HELP sre_incidents_open Incidents open in the store.\n"
		    "# TYPE sre_incidents_open gauge\n"
		    "sre_incidents_open %lld\n"
		    "# HELP sre_mttr_seconds Time from first anomaly to "
		    "verified recovery of closed incidents.\n"
		    "# TYPE sre_mttr_seconds histogram\n", sc.open);
		for (i = 0; i < 7; i++) {
			cum += sc.mttr[i];
			sre_sbuf_addf(&b, "sre_mttr_seconds_bucket{le=\"%g\"} "
			    "%llu\n", mttr_le[i], cum);
		}
		cum += sc.mttr[7];
		sre_sbuf_addf(&b, "sre_mttr_seconds_bucket{le=\"+Inf\"} %llu\n"
		    "sre_mttr_seconds_sum %.3f\nsre_mttr_seconds_count %llu\n",
		    cum, sc.mttr_sum, sc.mttr_n);
	}
	sre_sbuf_adds(&b, "# HELP sre_governor_mode The governor's mode (1 "
	    "for the mode it is in).\n# TYPE sre_governor_mode gauge\n");
	sre_sbuf_addf(&b, "sre_governor_mode{mode=\"normal\"} %d\n"
	    "sre_governor_mode{mode=\"degraded\"} %d\n",
	    sn.gov_seen && !sn.degraded, sn.degraded);
	sre_sbuf_addf(&b, "# HELP sre_serve_memory_bytes Memory of sre-serve "
	    "(PSS, else RSS).\n# TYPE sre_serve_memory_bytes gauge\n"
	    "sre_serve_memory_bytes %lld\n", (long long)sn.mem);
	sre_sbuf_adds(&b, "# HELP sre_serve_last_receive_timestamp_seconds "
	    "When each input last received something.\n"
	    "# TYPE sre_serve_last_receive_timestamp_seconds gauge\n");
	for (i = 0; i < N_INPUTS; i++)
		if (sn.last_ms[i] > 0)
			sre_sbuf_addf(&b, "sre_serve_last_receive_timestamp_"
			    "seconds{input=\"%s\"} %.3f\n", input_names[i],
			    sn.last_ms[i] / 1000.0);
	if (b.oom)
		ret = fail(conn, rq, 500, NULL, "out of memory");
	else
		ret = reply(conn, rq, 200, "text/plain; version=0.0.4; "
		    "charset=utf-8", b.p, b.n, NULL);
	sre_sbuf_free(&b);
	return ret;
}

/* ---- the demo's chaos ------------------------------------------------- */

static int
word_ok(const char *s, size_t max)
{
	size_t n;

	for (n = 0; s[n] != '\0'; n++)
		if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' &&
		    s[n] <= '9') || s[n] == '-' || s[n] == '_' || s[n] == '.'))
			return 0;
	return n > 0 && n <= max;
}

static enum MHD_Result
post_inject(struct MHD_Connection *conn, struct req *rq)
{
	static const char *const faults[] = { "none", "latency", "error",
	    "both", "network", "cpu", "release", "saturation", "pool", NULL };
	const char *type, *svc;
	char tmp[4096], text[256];
	struct sre_sbuf b = { 0 };
	enum MHD_Result ret;
	int fd, n, i;

	if (opt.control == NULL)
		return fail(conn, rq, 404, NULL, "no --control file: the "
		    "demo's chaos is off");
	type = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND,
	    "type");
	svc = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND,
	    "service");
	for (i = 0; faults[i] != NULL && (type == NULL ||
	    strcmp(faults[i], type) != 0); i++)
		;
	if (faults[i] == NULL)
		return fail(conn, rq, 400, NULL, "type: one of none, latency, "
		    "error, both, network, cpu, release, saturation, pool");
	if (i > 0 && (svc == NULL || !word_ok(svc, 64)))
		return fail(conn, rq, 400, NULL, "service: 1 to 64 of a-z, "
		    "0-9, '-', '_', '.'");
	n = i == 0 ? snprintf(text, sizeof(text), "fault=none\n") :
	    snprintf(text, sizeof(text), "fault=%s culprit=%s\n", type, svc);
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", opt.control) >=
	    (int)sizeof(tmp))
		return fail(conn, rq, 500, NULL, "control path too long");
	/* Write then rename: the marketplace never reads half a file. */
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
	    O_NOFOLLOW, 0644)) < 0 || write(fd, text, (size_t)n) != n ||
	    fsync(fd) < 0 || close(fd) < 0 || rename(tmp, opt.control) < 0) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		unlink(tmp);
		sre_warnx("%s: %s", opt.control, strerror(e));
		return fail(conn, rq, 500, NULL, "writing the control file "
		    "failed");
	}
	sre_info("chaos: %.*s", n - 1, text);
	sre_sbuf_adds(&b, "{\"fault\":");
	sre_sbuf_jstr(&b, type, strlen(type));
	sre_sbuf_adds(&b, ",\"service\":");
	if (i > 0)
		sre_sbuf_jstr(&b, svc, strlen(svc));
	else
		sre_sbuf_adds(&b, "null");
	sre_sbuf_adds(&b, "}");
	ret = reply(conn, rq, 200, "application/json", b.p, b.n, NULL);
	sre_sbuf_free(&b);
	return ret;
}

/* ---- the dashboard ---------------------------------------------------- */

static const char *
mime(const char *path)
{
	static const char *const types[][2] = {
		{ ".html", "text/html; charset=utf-8" },
		{ ".js", "text/javascript; charset=utf-8" },
		{ ".css", "text/css; charset=utf-8" },
		{ ".svg", "image/svg+xml" },
		{ ".json", "application/json" },
		{ ".png", "image/png" },
		{ ".ico", "image/x-icon" },
		{ NULL, NULL }
	};
	const char *dot = strrchr(path, '.');
	int i;

	for (i = 0; dot != NULL && types[i][0] != NULL; i++)
		if (strcmp(dot, types[i][0]) == 0)
			return types[i][1];
	return "application/octet-stream";
}

static enum MHD_Result
get_static(struct MHD_Connection *conn, struct req *rq, const char *url)
{
	struct MHD_Response *rsp;
	struct stat sb;
	int dfd, fd;

	if (opt.dashboard == NULL)
		return fail(conn, rq, 404, NULL, "no dashboard (--dashboard)");
	if (!sre_serve_path_ok(url))
		return fail(conn, rq, 400, NULL, "bad path");
	if (strcmp(url, "/") == 0)
		url = "/index.html";
	if ((dfd = open(opt.dashboard, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) < 0)
		return fail(conn, rq, 404, NULL, "no such file");
	/* No symbolic link is followed below the directory. */
	fd = openat(dfd, url + 1, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	close(dfd);
	if (fd < 0 || fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		if (fd >= 0)
			close(fd);
		return fail(conn, rq, 404, NULL, "no such file");
	}
	if ((rsp = MHD_create_response_from_fd((uint64_t)sb.st_size, fd)) ==
	    NULL) {
		close(fd);
		return MHD_NO;
	}
	MHD_add_response_header(rsp, "Content-Type", mime(url));
	MHD_add_response_header(rsp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(rsp, "Content-Security-Policy",
	    "default-src 'self'; img-src 'self' data:; "
	    "frame-ancestors 'none'");
	MHD_add_response_header(rsp, "Cache-Control", "no-cache");
	return send_rsp(conn, rq, 200, rsp);
}

/* ---- ingest ----------------------------------------------------------- */

/* Inflate a gzip body into out, at most max bytes: 0, 1 over, -1 bad. */
static int
gunzip(const struct sre_sbuf *in, struct sre_sbuf *out, size_t max)
{
	unsigned char buf[65536];
	z_stream z;
	int rc;

	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
		return -1;
	z.next_in = (unsigned char *)in->p;
	z.avail_in = (uInt)in->n;
	do {
		z.next_out = buf;
		z.avail_out = sizeof(buf);
		rc = inflate(&z, Z_NO_FLUSH);
		if (rc != Z_OK && rc != Z_STREAM_END) {
			inflateEnd(&z);
			return -1;
		}
		if (out->n + (sizeof(buf) - z.avail_out) > max) {
			inflateEnd(&z);
			return 1;
		}
		sre_sbuf_add(out, buf, sizeof(buf) - z.avail_out);
	} while (rc != Z_STREAM_END && (z.avail_in > 0 || z.avail_out == 0));
	inflateEnd(&z);
	if (rc != Z_STREAM_END)
		return -1;
	return out->oom ? -1 : 0;
}

static enum MHD_Result
ingest_otlp(struct MHD_Connection *conn, struct req *rq, char *body,
    size_t len)
{
	static const char *const rej[] = { "rejectedSpans",
	    "rejectedDataPoints", "rejectedLogRecords" };
	enum sre_pb_kind k = (enum sre_pb_kind)rq->route;
	struct sre_sbuf out = { 0 }, resp = { 0 };
	size_t records = 0, rejected = 0;
	enum MHD_Result ret;
	char msg[512];
	int rc, code = 0;

	msg[0] = '\0';
	if (rq->proto) {
		rc = sre_pb_otlp_json(k, (uint8_t *)body, len, &out, &records,
		    msg, sizeof(msg));
		if (rc == 0 && records == 0 && out.n > 0) {
			/* An empty request: nothing to write. */
			out.n = 0;
			rc = 1;
		}
	} else {
		rc = sre_serve_otlp_json(k, body, len, &records, &rejected,
		    msg, sizeof(msg));
		if (rc == 0)
			sre_sbuf_add(&out, body, len);
	}
	if (rc < 0) {
		sre_sbuf_free(&out);
		if (out.oom)
			return fail(conn, rq, 503, "1", "out of memory");
		return fail(conn, rq, 400, NULL, "%s", msg);
	}
	if (rc == 0) {
		sre_sbuf_add(&out, "\n", 1);
		if (out.oom || (code = enqueue(rq->s, out.p, out.n)) != 0) {
			sre_sbuf_free(&out);
			if (out.oom)
				return fail(conn, rq, 503, "1",
				    "out of memory");
			return fail(conn, rq, code, code == 429 ? "1" : "5",
			    code == 429 ? "output backed up" :
			    "output unavailable");
		}
	}
	sre_sbuf_free(&out);
	pthread_mutex_lock(&rq->s->slock);
	rq->s->records[k] += records;
	pthread_mutex_unlock(&rq->s->slock);
	seen_input(rq->s, (enum input)k);
	if (rq->proto) {
		if (sre_pb_otlp_response(k, (int64_t)rejected, rejected ? msg :
		    NULL, &resp) < 0)
			return fail(conn, rq, 503, "1", "out of memory");
		ret = reply(conn, rq, 200, "application/x-protobuf", resp.p,
		    resp.n, NULL);
	} else {
		if (rejected > 0) {
			sre_sbuf_addf(&resp, "{\"partialSuccess\":{\"%s\":"
			    "\"%zu\",\"errorMessage\":", rej[k], rejected);
			sre_sbuf_jstr(&resp, msg, strlen(msg));
			sre_sbuf_adds(&resp, "}}");
		} else
			sre_sbuf_adds(&resp, "{}");
		ret = reply(conn, rq, 200, "application/json", resp.p, resp.n,
		    NULL);
	}
	sre_sbuf_free(&resp);
	return ret;
}

static enum MHD_Result
ingest_write(struct MHD_Connection *conn, struct req *rq, char *body,
    size_t len)
{
	struct sre_sbuf out = { 0 };
	size_t points, skipped;
	char msg[512];
	int rc, code;

	rc = sre_pb_remote_write((uint8_t *)body, len, opt.max_body * 8,
	    &out, &points, &skipped, msg, sizeof(msg));
	if (rc != 0) {
		sre_sbuf_free(&out);
		return fail(conn, rq, rc > 0 ? 413 : 400, NULL, "%s", msg);
	}
	if ((code = enqueue(rq->s, out.p, out.n)) != 0) {
		sre_sbuf_free(&out);
		/* Remote write senders must retry a 5xx and need only
		 * retry a 429 (Prometheus does not by default). */
		return fail(conn, rq, 503, code == 429 ? "1" : "5",
		    code == 429 ? "output backed up" : "output unavailable");
	}
	sre_sbuf_free(&out);
	pthread_mutex_lock(&rq->s->slock);
	rq->s->points += points;
	pthread_mutex_unlock(&rq->s->slock);
	seen_input(rq->s, IN_WRITE);
	return reply(conn, rq, 204, NULL, "", 0, NULL);
}

static enum MHD_Result
ingest_alerts(struct MHD_Connection *conn, struct req *rq, char *body,
    size_t len)
{
	struct sre_sbuf out = { 0 }, resp = { 0 };
	size_t firing, resolved, rejected;
	enum MHD_Result ret;
	char msg[512];
	int rc, code;

	pthread_mutex_lock(&rq->s->jlock);
	rc = sre_serve_alerts(body, len, &out, &firing, &resolved, &rejected,
	    msg, sizeof(msg));
	pthread_mutex_unlock(&rq->s->jlock);
	if (rc < 0 || out.oom) {
		sre_sbuf_free(&out);
		return fail(conn, rq, 400, NULL, "%s", out.oom ?
		    "out of memory" : msg);
	}
	if ((code = enqueue(rq->s, out.p, out.n)) != 0) {
		sre_sbuf_free(&out);
		/* Alertmanager retries a 5xx, not a 429. */
		return fail(conn, rq, 503, code == 429 ? "1" : "5",
		    code == 429 ? "output backed up" : "output unavailable");
	}
	sre_sbuf_free(&out);
	if (rejected > 0)
		sre_warnx("/v1/alertmanager: %zu alert(s) left out: %s",
		    rejected, msg);
	pthread_mutex_lock(&rq->s->slock);
	rq->s->alerts_firing += firing;
	rq->s->alerts_resolved += resolved;
	pthread_mutex_unlock(&rq->s->slock);
	seen_input(rq->s, IN_ALERTS);
	sre_sbuf_addf(&resp, "{\"anomalies\":%zu,\"recoveries\":%zu,"
	    "\"rejected\":%zu", firing, resolved, rejected);
	if (rejected > 0) {
		sre_sbuf_adds(&resp, ",\"error\":");
		sre_sbuf_jstr(&resp, msg, strlen(msg));
	}
	sre_sbuf_adds(&resp, "}");
	ret = reply(conn, rq, 200, "application/json", resp.p, resp.n, NULL);
	sre_sbuf_free(&resp);
	return ret;
}

/* ---- routing ---------------------------------------------------------- */

static enum route
route_of(const char *url, const char **rest)
{
	static const struct { const char *path; enum route r; } exact[] = {
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

static int
is_post_route(enum route r)
{
	return r <= R_ALERTS || r == R_INJECT;
}

/* Has the content type t (parameters after ';' ignored)? */
static int
ctype_is(const char *v, const char *t)
{
	size_t n = strlen(t);

	if (v == NULL)
		return 0;
	while (*v == ' ')
		v++;
	return strncasecmp(v, t, n) == 0 && (v[n] == '\0' || v[n] == ';' ||
	    v[n] == ' ');
}

/* First call of a request: method, route, auth, type, declared size. */
static enum MHD_Result
first(struct MHD_Connection *conn, struct req *rq, const char *method)
{
	const char *ct, *ce, *cl, *auth, *errstr;
	long long declared;

	if (strcmp(method, "OPTIONS") == 0 && opt.cors != NULL) {
		struct MHD_Response *rsp;

		rsp = MHD_create_response_from_buffer(0, (void *)"",
		    MHD_RESPMEM_PERSISTENT);
		if (rsp == NULL)
			return MHD_NO;
		MHD_add_response_header(rsp, "Access-Control-Allow-Methods",
		    "GET, POST, OPTIONS");
		MHD_add_response_header(rsp, "Access-Control-Allow-Headers",
		    "Authorization, Content-Type, Content-Encoding, "
		    "Last-Event-ID");
		MHD_add_response_header(rsp, "Access-Control-Max-Age",
		    "600");
		cors(rsp, conn);
		return send_rsp(conn, rq, 204, rsp);
	}
	if (is_post_route(rq->route) != (strcmp(method, "POST") == 0) ||
	    (!is_post_route(rq->route) && strcmp(method, "GET") != 0 &&
	    strcmp(method, "HEAD") != 0))
		return fail(conn, rq, 405, NULL, "method %s not allowed here",
		    method);
	auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    "Authorization");
	if (rq->route == R_INJECT && !sre_serve_bearer_ok(auth,
	    opt.api_token))
		return fail(conn, rq, 401, NULL, opt.api_token == NULL ?
		    "SRE_API_TOKEN is not set: changes are refused" :
		    "a valid Authorization: Bearer token is needed");
	if (rq->route <= R_ALERTS && opt.ingest_token != NULL &&
	    !sre_serve_bearer_ok(auth, opt.ingest_token))
		return fail(conn, rq, 401, NULL, "a valid Authorization: "
		    "Bearer token is needed");
	if (rq->route > R_ALERTS)
		return MHD_YES;
	ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    "Content-Type");
	ce = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    "Content-Encoding");
	if (rq->route <= R_LOGS) {
		if (ctype_is(ct, "application/x-protobuf"))
			rq->proto = 1;
		else if (!ctype_is(ct, "application/json"))
			return fail(conn, rq, 415, NULL, "Content-Type: "
			    "application/json or application/x-protobuf");
	} else if (rq->route == R_WRITE) {
		if (!ctype_is(ct, "application/x-protobuf"))
			return fail(conn, rq, 415, NULL, "Content-Type: "
			    "application/x-protobuf");
		if (ce != NULL && strcasecmp(ce, "snappy") != 0)
			return fail(conn, rq, 415, NULL, "Content-Encoding: "
			    "snappy");
		ce = NULL;
		rq->snappy = 1;
	} else if (!ctype_is(ct, "application/json"))
		return fail(conn, rq, 415, NULL, "Content-Type: "
		    "application/json");
	if (ce != NULL && strcasecmp(ce, "identity") != 0) {
		if (strcasecmp(ce, "gzip") != 0)
			return fail(conn, rq, 415, NULL, "Content-Encoding: "
			    "gzip or none");
		rq->gzip = 1;
	}
	if ((cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    "Content-Length")) != NULL) {
		declared = strtonum(cl, 0, LLONG_MAX, &errstr);
		if (errstr == NULL && (unsigned long long)declared >
		    opt.max_body)
			return fail(conn, rq, 413, NULL, "body over %zu bytes",
			    opt.max_body);
	}
	return MHD_YES;
}

static enum MHD_Result
handle(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **con_cls)
{
	struct srv *s = cls;
	struct req *rq = *con_cls;
	struct sre_sbuf raw = { 0 };
	const char *rest;
	enum MHD_Result ret;
	int rc;

	(void)version;
	if (rq == NULL) {
		if ((rq = calloc(1, sizeof(*rq))) == NULL)
			return MHD_NO;
		rq->s = s;
		rq->route = route_of(url, &rest);
		*con_cls = rq;
		return first(conn, rq, method);
	}
	if (rq->done) {
		*upload_size = 0;	/* answered: the rest is discarded */
		return MHD_YES;
	}
	if (*upload_size > 0) {
		if (rq->body.n + *upload_size > opt.max_body)
			rq->too_big = 1;
		else
			sre_sbuf_add(&rq->body, upload, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	if (rq->too_big)
		return fail(conn, rq, 413, NULL, "body over %zu bytes",
		    opt.max_body);
	if (rq->body.oom)
		return fail(conn, rq, 503, "1", "out of memory");
	route_of(url, &rest);
	switch (rq->route) {
	case R_TRACES:
	case R_METRICS_IN:
	case R_LOGS:
	case R_ALERTS:
		if (rq->gzip) {
			if ((rc = gunzip(&rq->body, &raw, opt.max_body)) != 0) {
				sre_sbuf_free(&raw);
				return rc > 0 ? fail(conn, rq, 413, NULL,
				    "body over %zu bytes once inflated",
				    opt.max_body) : fail(conn, rq, 400, NULL,
				    "damaged gzip body");
			}
			sre_sbuf_free(&rq->body);
			rq->body = raw;
		}
		if (rq->route == R_ALERTS)
			return ingest_alerts(conn, rq, rq->body.p ?
			    rq->body.p : "", rq->body.n);
		{
			char empty[1] = "";

			return ingest_otlp(conn, rq, rq->body.p ? rq->body.p :
			    empty, rq->body.n);
		}
	case R_WRITE:
		return ingest_write(conn, rq, rq->body.p ? rq->body.p : "",
		    rq->body.n);
	case R_HEALTH:
		return get_health(conn, rq);
	case R_PROM:
		return get_metrics(conn, rq);
	case R_INCIDENTS:
		return get_incidents(conn, rq);
	case R_INCIDENT:
		return get_incident(conn, rq, rest);
	case R_REPORT:
		return get_report(conn, rq);
	case R_EVENTS:
		/* Without --in the stream stays open and quiet. */
		return sse_start(conn, rq);
	case R_INJECT:
		return post_inject(conn, rq);
	default:
		ret = get_static(conn, rq, url);
		return ret;
	}
}

static void
completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct req *rq = *con_cls;

	(void)cls;
	(void)conn;
	if (rq == NULL)
		return;
	if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK && !rq->done)
		sre_info("%s: request ended before it was answered (%d); "
		    "nothing of it was written", route_names[rq->route],
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

/* ---- main ------------------------------------------------------------- */

/* Free what main made (the buses and the store are closed already). */
static void
srv_free(struct srv *s)
{
	int i;

	for (i = 0; i < RING_SIZE; i++)
		free(s->ring[i]);
	free(s);
	free((void *)opt.api_token);
	free((void *)opt.ingest_token);
	opt.api_token = opt.ingest_token = NULL;
}

/* Memory and open incidents, for /system/health. */
static void
measure(struct srv *s)
{
	struct scan sc = { .list = jv_null() };
	int64_t mem = sre_mem_pid(getpid());
	char err[1024];
	int ex;

	pthread_mutex_lock(&s->jlock);
	ex = scan_incidents(s, &sc, err, sizeof(err));
	pthread_mutex_unlock(&s->jlock);
	pthread_mutex_lock(&s->slock);
	s->mem = mem;
	s->open = ex == EX_OK ? sc.open : ex == EX_NOINPUT ? 0 : -1;
	pthread_mutex_unlock(&s->slock);
}

static int
parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len)
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

static int
size_opt(const char *name, const char *arg, long long lo, long long hi,
    size_t *out)
{
	const char *errstr;
	long long v = strtonum(arg, lo, hi, &errstr);

	if (errstr != NULL) {
		sre_warnx("%s: '%s' is %s", name, arg, errstr);
		return -1;
	}
	*out = (size_t)v;
	return 0;
}

/* A token from the environment, then removed from it: no child or
 * /proc/PID/environ reader inherits it. */
static const char *
token_env(const char *name)
{
	const char *v = getenv(name);
	char *copy;

	if (v == NULL || *v == '\0')
		return NULL;
	copy = strdup(v);
	unsetenv(name);
	return copy;
}

enum {
	OPT_CONTROL = 0x2001, OPT_CORS, OPT_DASHBOARD, OPT_MAX_BODY,
	OPT_MAX_CONN, OPT_MAX_HEADER, OPT_MAX_QUEUE, OPT_TIMEOUT
};

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		SRE_COMMON_LONGOPTS,
		{ "control", required_argument, NULL, OPT_CONTROL },
		{ "cors", required_argument, NULL, OPT_CORS },
		{ "dashboard", required_argument, NULL, OPT_DASHBOARD },
		{ "listen", required_argument, NULL, 'l' },
		{ "max-body", required_argument, NULL, OPT_MAX_BODY },
		{ "max-connections", required_argument, NULL, OPT_MAX_CONN },
		{ "max-header", required_argument, NULL, OPT_MAX_HEADER },
		{ "max-queue", required_argument, NULL, OPT_MAX_QUEUE },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ NULL, 0, NULL, 0 }
	};
	struct sre_bus_opts bo = { 0 };
	struct sockaddr_storage ss;
	pthread_t wt, rt;
	socklen_t sslen;
	struct srv *s;
	char err[1024];
	int ch, ex, r, i;
	int64_t ms;
	size_t v;

	sre_init("sre-serve");
	sre_common_init(&opt.c);
	opt.c.in = NULL;
	opt.listen = "127.0.0.1:8001";
	opt.max_body = 4u << 20;
	opt.max_header = 32768;
	opt.max_queue = 16u << 20;
	opt.max_conn = 256;
	opt.timeout_s = 30;
	while ((ch = getopt_long(argc, argv, SRE_COMMON_SHORTOPTS "l:",
	    longopts, NULL)) != -1) {
		if ((r = sre_opt_common(&opt.c, ch, optarg)) < 0)
			return EX_USAGE;
		if (r > 0)
			continue;
		switch (ch) {
		case 'h':
			usage(stdout);
			return EX_OK;
		case 'l':
			opt.listen = optarg;
			break;
		case 'V':
			sre_print_version();
			return EX_OK;
		case OPT_CONTROL:
			opt.control = optarg;
			break;
		case OPT_CORS:
			opt.cors = optarg;
			break;
		case OPT_DASHBOARD:
			opt.dashboard = optarg;
			break;
		case OPT_MAX_BODY:
			if (size_opt("--max-body", optarg, 1024, 1LL << 30,
			    &opt.max_body) < 0)
				return EX_USAGE;
			break;
		case OPT_MAX_CONN:
			if (size_opt("--max-connections", optarg, 1, 10000,
			    &v) < 0)
				return EX_USAGE;
			opt.max_conn = (unsigned)v;
			break;
		case OPT_MAX_HEADER:
			if (size_opt("--max-header", optarg, 4096, 1 << 20,
			    &opt.max_header) < 0)
				return EX_USAGE;
			break;
		case OPT_MAX_QUEUE:
			if (size_opt("--max-queue", optarg, 1024, 1LL << 32,
			    &opt.max_queue) < 0)
				return EX_USAGE;
			break;
		case OPT_TIMEOUT:
			if (sre_duration_parse(optarg, &ms) < 0 || ms < 1000 ||
			    ms > 3600 * 1000) {
				sre_warnx("--timeout: '%s' is not a duration "
				    "from 1s to 1h", optarg);
				return EX_USAGE;
			}
			opt.timeout_s = (unsigned)(ms / 1000);
			break;
		default:
			usage(stderr);
			return EX_USAGE;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return EX_USAGE;
	}
	if (parse_listen(opt.listen, &ss, &sslen) < 0) {
		sre_warnx("--listen: '%s' is not ADDR:PORT (an IP address; "
		    "[ADDR] for IPv6)", opt.listen);
		return EX_USAGE;
	}
	opt.api_token = token_env("SRE_API_TOKEN");
	opt.ingest_token = token_env("SRE_INGEST_TOKEN");
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		sre_warnx("out of memory");
		return EX_OSERR;
	}
	pthread_mutex_init(&s->qlock, NULL);
	pthread_cond_init(&s->qcond, NULL);
	pthread_mutex_init(&s->rlock, NULL);
	pthread_cond_init(&s->rcond, NULL);
	pthread_mutex_init(&s->slock, NULL);
	pthread_mutex_init(&s->jlock, NULL);
	s->started_ms = sre_now_ms();
	bo.maxlen = opt.c.max_line;
	if (sre_gov_watch_init(&s->gw, sre_state_dir(&opt.c)) < 0) {
		sre_warnx("--state-dir: path too long");
		srv_free(s);
		return EX_USAGE;
	}
	if ((s->out = sre_bus_open(opt.c.out, SRE_BUS_OUT, &bo, err,
	    sizeof(err), &ex)) == NULL) {
		sre_warnx("%s", err);
		srv_free(s);
		return ex;
	}
	if (opt.c.in != NULL && (s->in = sre_bus_open(opt.c.in, SRE_BUS_IN,
	    &bo, err, sizeof(err), &ex)) == NULL) {
		sre_warnx("%s", err);
		sre_bus_close(s->out);
		srv_free(s);
		return ex;
	}
	s->d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION |
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC |
	    MHD_USE_ERROR_LOG | (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
	    0, NULL, NULL, handle, s,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	    MHD_OPTION_CONNECTION_LIMIT, opt.max_conn,
	    MHD_OPTION_CONNECTION_TIMEOUT, opt.timeout_s,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, opt.max_header,
	    MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
	    MHD_OPTION_THREAD_STACK_SIZE, (size_t)(512 * 1024),
	    MHD_OPTION_END);
	if (s->d == NULL) {
		sre_warnx("cannot listen on %s: %s", opt.listen,
		    strerror(errno ? errno : EADDRINUSE));
		sre_bus_close(s->out);
		sre_bus_close(s->in);
		srv_free(s);
		return EX_UNAVAILABLE;
	}
	if (pthread_create(&wt, NULL, writer, s) != 0 || (s->in != NULL &&
	    pthread_create(&rt, NULL, reader, s) != 0)) {
		sre_warnx("cannot start a thread");
		return EX_OSERR;
	}
	{
		const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->d,
		    MHD_DAEMON_INFO_BIND_PORT);
		char host[INET6_ADDRSTRLEN];
		const char *colon = strrchr(opt.listen, ':');
		size_t hn = (size_t)(colon - opt.listen);

		/* With port 0 the system picks one: say which. */
		if (hn >= sizeof(host))
			hn = sizeof(host) - 1;
		memcpy(host, opt.listen, hn);
		host[hn] = '\0';
		sre_notice("listening on %s:%u", host,
		    di ? (unsigned)di->port : 0u);
	}
	/* The main thread: the governor's file, memory and open incidents
	 * for /system/health, and the signal to stop. */
	measure(s);
	for (i = 0; !sre_stopping(); i++) {
		/* Members the file leaves out keep these values. */
		struct sre_gov_state g = { .sample_rate = 1 };

		if ((r = sre_gov_poll(&s->gw, &g, err, sizeof(err))) == 1) {
			pthread_mutex_lock(&s->slock);
			s->gov = g;
			s->gov_seen = 1;
			pthread_mutex_unlock(&s->slock);
		} else if (r < 0 && err[0] != '\0')
			sre_info("%s", err);
		if (i % 4 == 3)
			measure(s);
		poll(NULL, 0, 250);
	}
	/* Drain: stop listening, let requests in hand finish (SSE streams
	 * see the stop and end), then write out what was accepted. */
	close(MHD_quiesce_daemon(s->d));
	MHD_stop_daemon(s->d);
	pthread_mutex_lock(&s->qlock);
	s->closing = 1;
	pthread_cond_signal(&s->qcond);
	pthread_mutex_unlock(&s->qlock);
	pthread_join(wt, NULL);
	if (s->in != NULL)
		pthread_join(rt, NULL);
	ex = s->out_failed ? EX_IOERR : EX_OK;
	if (sre_bus_close(s->out) != SRE_WRITE_OK && !s->out_failed) {
		sre_warnx("writing to %s failed", opt.c.out);
		ex = EX_IOERR;
	}
	sre_bus_close(s->in);
	pthread_mutex_lock(&s->jlock);
	sre_store_close(s->st);
	pthread_mutex_unlock(&s->jlock);
	sre_info("stopped: %llu lines written", s->written);
	srv_free(s);
	return ex;
}
