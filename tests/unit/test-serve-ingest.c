/* test-serve-ingest.c: lib/serve's ingest without a socket: OTLP/JSON and
 * Alertmanager bodies to queued lines, gzip, the queue's limits and their
 * answers, the writer thread to a file, and sre_parse_listen. */
#include <netinet/in.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "bus.h"
#include "diag.h"
#include "httpd.h"
#include "ingest.h"
#include "serve-answer.h"
#include "tap.h"

#define SPAN "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{" \
	"\"traceId\":\"5b8efff798038103d269b633813fc60c\",\"spanId\":" \
	"\"eee19b7ec3c1b174\",\"name\":\"a\",\"startTimeUnixNano\":\"1\"," \
	"\"endTimeUnixNano\":\"2\"}]}]}]}"

/* Answer a request of route r with body text (gzip'd when gz). */
static void
post(struct sre_srv *s, enum sre_route r, const char *text, int gz,
    struct sre_answer *a)
{
	struct sre_req rq = { .route = r, .gzip = gz, .s = s };

	if (gz) {
		uLongf n = compressBound(strlen(text)) + 32;
		unsigned char *out = malloc(n);
		z_stream z;

		memset(&z, 0, sizeof(z));
		deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8,
		    Z_DEFAULT_STRATEGY);
		z.next_in = (unsigned char *)text;
		z.avail_in = (uInt)strlen(text);
		z.next_out = out;
		z.avail_out = (uInt)n;
		deflate(&z, Z_FINISH);
		sre_sbuf_add(&rq.body, out, n - z.avail_out);
		deflateEnd(&z);
		free(out);
	} else
		sre_sbuf_adds(&rq.body, text);
	sre_ingest(s, &rq, a);
	sre_sbuf_free(&rq.body);
}

static void
listen_addr(void)
{
	struct sockaddr_storage ss;
	socklen_t len;

	ok(sre_parse_listen("127.0.0.1:8001", &ss, &len) == 0 &&
	    ss.ss_family == AF_INET && len == sizeof(struct sockaddr_in),
	    "IPv4");
	ok(sre_parse_listen("[::1]:0", &ss, &len) == 0 &&
	    ss.ss_family == AF_INET6, "IPv6 in brackets, port 0");
	ok(sre_parse_listen("localhost:80", &ss, &len) < 0, "a name: no");
	ok(sre_parse_listen("127.0.0.1:65536", &ss, &len) < 0,
	    "port over 65535");
	ok(sre_parse_listen("127.0.0.1", &ss, &len) < 0, "no port");
	ok(sre_parse_listen("::1:80", &ss, &len) < 0, "IPv6 without []");
}

int
main(void)
{
	struct sre_srv_conf conf = { .state_dir = "/nonexistent",
	    .max_body = 1 << 20, .max_queue = 600 };
	struct sre_answer a = SRE_ANSWER_INIT;
	struct sre_bus_opts bo = { .maxlen = 1 << 20 };
	char path[] = "/tmp/test-serve-ingest.XXXXXX", url[64], err[256];
	char buf[2048];
	struct sre_srv *s;
	pthread_t wt;
	size_t queued;
	FILE *f;
	int fd, ex;

	setenv("SRE_NOW", "1700000000000", 1);
	setenv("SRE_SEED", "1", 1);
	sre_init("test-serve-ingest");
	listen_addr();
	if ((s = sre_srv_new(&conf)) == NULL)
		tap_bail("sre_srv_new");
	s->conf.max_queue = 2 * (strlen(SPAN) + 1);	/* two spans fit */

	post(s, R_TRACES, SPAN, 0, &a);
	ok(a.code == 200 && strcmp(text(&a), "{}") == 0, "a span: 200 {}");
	ok(s->head != NULL && s->head->n == strlen(SPAN) + 1 &&
	    memcmp(s->head->data, SPAN "\n", s->head->n) == 0,
	    "queued as one line");
	ok(s->records[0] == 1 && s->last_ms[IN_TRACES] > 0,
	    "counted, arrival noted");
	sre_answer_free(&a);
	post(s, R_TRACES, SPAN, 1, &a);
	ok(a.code == 200 && s->queued == 2 * (strlen(SPAN) + 1),
	    "gzip'd: inflated and queued (%zu)", s->queued);
	sre_answer_free(&a);
	post(s, R_TRACES, SPAN, 0, &a);
	ok(a.code == 429 && strcmp(a.retry, "1") == 0 &&
	    strstr(text(&a), "output backed up") &&
	    strstr(text(&a), "\"code\":14"), "queue full: 429 %s", text(&a));
	sre_answer_free(&a);
	queued = s->queued;
	post(s, R_METRICS_IN, "{}", 0, &a);
	ok(a.code == 200 && s->queued == queued,
	    "an empty request: 200, nothing queued");
	sre_answer_free(&a);
	post(s, R_LOGS, SPAN, 0, &a);
	ok(a.code == 400 && strstr(text(&a), "a traces request, not logs"),
	    "the wrong kind: 400 %s", text(&a));
	sre_answer_free(&a);
	{
		struct sre_req rq = { .route = R_TRACES, .gzip = 1, .s = s };

		sre_sbuf_adds(&rq.body, "not gzip");
		sre_ingest(s, &rq, &a);
		ok(a.code == 400 && strstr(text(&a), "damaged gzip body"),
		    "damaged gzip: 400");
		sre_sbuf_free(&rq.body);
		sre_answer_free(&a);
	}
	post(s, R_ALERTS, "{\"version\":\"4\",\"alerts\":[{\"status\":"
	    "\"firing\",\"labels\":{\"alertname\":\"A\",\"job\":\"j\"},"
	    "\"startsAt\":\"2023-11-14T22:13:20Z\",\"fingerprint\":\"f1\"}]}",
	    0, &a);
	ok(a.code == 503 && strcmp(a.retry, "1") == 0,
	    "Alertmanager, queue full: 503 (it retries no 429): %s",
	    text(&a));
	sre_answer_free(&a);
	post(s, R_WRITE, "junk", 0, &a);
	ok(a.code == 400, "remote write, not snappy: 400 %s", text(&a));
	sre_answer_free(&a);

	/* the writer: what is queued goes out, in order, then it ends */
	if ((fd = mkstemp(path)) < 0)
		tap_bail("mkstemp");
	close(fd);
	snprintf(url, sizeof(url), "file:%s", path);
	if ((s->out = sre_bus_open(url, SRE_BUS_OUT, &bo, err, sizeof(err),
	    &ex)) == NULL)
		tap_bail(err);
	pthread_create(&wt, NULL, sre_srv_writer, s);
	pthread_mutex_lock(&s->qlock);
	s->closing = 1;
	pthread_cond_signal(&s->qcond);
	pthread_mutex_unlock(&s->qlock);
	pthread_join(wt, NULL);
	ok(s->written == 2 && s->queued == 0 && !s->out_failed,
	    "two lines written");
	ok(sre_srv_enqueue(s, "x\n", 2) == 503, "closing: 503");
	sre_bus_close(s->out);
	f = fopen(path, "r");
	buf[0] = '\0';
	if (f != NULL) {
		buf[fread(buf, 1, sizeof(buf) - 1, f)] = '\0';
		fclose(f);
	}
	ok(strcmp(buf, SPAN "\n" SPAN "\n") == 0, "the file holds both");
	unlink(path);
	sre_srv_free(s);
	return tap_done();
}
