/* test-serve-api.c: lib/serve's answers that need no socket: the API over
 * a state directory without a store, the demo's control file, the
 * dashboard's files, /system/health, /metrics and the event ring behind
 * /events. */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "diag.h"
#include "event.h"
#include "metrics.h"
#include "serve-answer.h"
#include "sse.h"
#include "static.h"
#include "tap.h"

static char dir[] = "/tmp/test-serve-api.XXXXXX";

/* d/name in a static buffer. */
static const char *
path(const char *d, const char *name)
{
	static char buf[600];

	snprintf(buf, sizeof(buf), "%s/%s", d, name);
	return buf;
}

static char *
slurp(const char *path)
{
	static char buf[256];
	FILE *f = fopen(path, "r");
	size_t n;

	if (f == NULL)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

static void
api(struct sre_srv *s)
{
	struct sre_answer a = SRE_ANSWER_INIT;

	sre_api_incidents(s, NULL, NULL, &a);
	ok(a.code == 200 && strcmp(text(&a),
	    "{\"incidents\":[],\"open\":0}") == 0,
	    "no store yet: no incidents: %s", text(&a));
	sre_answer_free(&a);
	sre_api_incidents(s, "pending", NULL, &a);
	ok(a.code == 400 && strstr(text(&a), "status: not open or closed"),
	    "a bad status: 400");
	sre_answer_free(&a);
	sre_api_incidents(s, "open", "0", &a);
	ok(a.code == 400 && strstr(text(&a), "limit: "), "limit 0: %s",
	    text(&a));
	sre_answer_free(&a);
	sre_api_incident(s, "inc-1", &a);
	ok(a.code == 404 && strstr(text(&a), "no such incident"),
	    "an incident without a store: 404");
	sre_answer_free(&a);
	sre_api_incident(s, "", &a);
	ok(a.code == 404, "an empty id: 404");
	sre_answer_free(&a);
	sre_api_report(s, "-1", &a);
	ok(a.code == 400 && strstr(text(&a), "since: epoch milliseconds"),
	    "a negative since: 400 %s", text(&a));
	sre_answer_free(&a);
	sre_api_report(s, NULL, &a);
	ok(a.code == 404 && strstr(text(&a), "no store yet"),
	    "a report without a store: 404");
	sre_answer_free(&a);
}

static void
inject(struct sre_srv *s, const char *control)
{
	struct sre_answer a = SRE_ANSWER_INIT;
	struct stat sb;
	char *t;

	sre_api_inject(s, "latency", "cart", &a);
	ok(a.code == 404 && strstr(text(&a), "no --control file"),
	    "no control file: 404");
	sre_answer_free(&a);
	s->conf.control = control;
	sre_api_inject(s, "melt", "cart", &a);
	ok(a.code == 400 && strstr(text(&a), "type: one of none"),
	    "an unknown fault: 400");
	sre_answer_free(&a);
	sre_api_inject(s, "latency", "Cart;rm", &a);
	ok(a.code == 400 && strstr(text(&a), "service: 1 to 64"),
	    "a service out of [a-z0-9._-]: 400");
	sre_answer_free(&a);
	sre_api_inject(s, "latency", NULL, &a);
	ok(a.code == 400, "a fault without a service: 400");
	sre_answer_free(&a);
	ok(access(control, F_OK) != 0, "nothing written on a refusal");
	sre_api_inject(s, "latency", "cart-api", &a);
	ok(a.code == 200 && strcmp(text(&a),
	    "{\"fault\":\"latency\",\"service\":\"cart-api\"}") == 0,
	    "latency injected: %s", text(&a));
	sre_answer_free(&a);
	t = slurp(control);
	ok(t != NULL && strcmp(t, "fault=latency culprit=cart-api\n") == 0,
	    "the control file holds the fault and its culprit");
	ok(stat(control, &sb) == 0 && (sb.st_mode & 07777) == 0644,
	    "mode 0644");
	sre_api_inject(s, "none", NULL, &a);
	ok(a.code == 200 && strcmp(text(&a),
	    "{\"fault\":\"none\",\"service\":null}") == 0, "none: %s",
	    text(&a));
	sre_answer_free(&a);
	t = slurp(control);
	ok(t != NULL && strcmp(t, "fault=none\n") == 0, "cleared");
}

static void
files(void)
{
	struct sre_answer a = SRE_ANSWER_INIT;
	char dash[512], path[600];
	int fd;

	snprintf(dash, sizeof(dash), "%s/dash", dir);
	mkdir(dash, 0755);
	snprintf(path, sizeof(path), "%s/index.html", dash);
	fd = open(path, O_WRONLY | O_CREAT, 0644);
	ok(fd >= 0 && write(fd, "<html>", 6) == 6, "index.html made");
	close(fd);
	snprintf(path, sizeof(path), "%s/link.js", dash);
	ok(symlink("/etc/passwd", path) == 0, "a symbolic link made");

	sre_static_open(dash, "/", &a);
	ok(a.code == 200 && a.fd >= 0 && a.fd_size == 6 &&
	    strcmp(a.ctype, "text/html; charset=utf-8") == 0,
	    "/ is index.html");
	sre_answer_free(&a);
	sre_static_open(dash, "/link.js", &a);
	ok(a.code == 404 && a.fd < 0, "a symbolic link is not followed");
	sre_answer_free(&a);
	sre_static_open(dash, "/../etc/passwd", &a);
	ok(a.code == 400, "leaving the directory: 400");
	sre_answer_free(&a);
	sre_static_open(dash, "/nope.css", &a);
	ok(a.code == 404, "no such file: 404");
	sre_answer_free(&a);
	sre_static_open(NULL, "/", &a);
	ok(a.code == 404 && strstr(text(&a), "--dashboard"),
	    "no dashboard: 404");
	sre_answer_free(&a);
	ok(strcmp(sre_static_mime("/a.b.js"), "text/javascript; "
	    "charset=utf-8") == 0 && strcmp(sre_static_mime("/x"),
	    "application/octet-stream") == 0 &&
	    strcmp(sre_static_mime("/i.svg"), "image/svg+xml") == 0,
	    "types by extension");
}

static void
health(struct sre_srv *s)
{
	struct sre_answer a = SRE_ANSWER_INIT;
	char msg[256];
	jv v, lm, tr, am;

	sre_srv_count(s, R_HEALTH, 200);
	sre_srv_count(s, R_HEALTH, 200);
	sre_srv_count(s, R_INJECT, 401);
	sre_srv_count(s, R_INJECT, 418);	/* not a counted code */
	sre_srv_seen(s, IN_ALERTS);
	sre_metrics_health(s, &a);
	v = sre_json_object(a.body.p, a.body.n, msg, sizeof(msg));
	ok(a.code == 200 && jv_is_valid(v), "health is JSON: %s", text(&a));
	ok(sre_jv_str(v, "status") && strcmp(sre_jv_str(v, "status"),
	    "ok") == 0 && strcmp(sre_jv_str(v, "governor"), "unknown") == 0,
	    "ok, governor unknown");
	lm = sre_jv_get(v, "last_ms");
	tr = sre_jv_get(lm, "traces");
	am = sre_jv_get(lm, "alertmanager");
	ok(jv_get_kind(tr) == JV_KIND_NULL && jv_get_kind(am) ==
	    JV_KIND_NUMBER, "last arrivals");
	jv_free(tr);
	jv_free(am);
	jv_free(lm);
	jv_free(v);
	sre_answer_free(&a);
	s->out_failed = 1;
	sre_metrics_health(s, &a);
	ok(a.code == 503 && strstr(text(&a), "\"status\":\"degraded\""),
	    "a failed output: 503 degraded");
	sre_answer_free(&a);
	s->out_failed = 0;

	sre_sse_push(s, "{\"type\":\"anomaly\"}", 18, "anomaly");
	sre_sse_push(s, "{\"type\":\"mystery\"}", 18, "mystery");
	sre_metrics_prom(s, &a);
	ok(a.code == 200 && strstr(a.ctype, "version=0.0.4"), "Prometheus "
	    "text");
	ok(strstr(text(&a), "sre_serve_requests_total{route=\"/system/"
	    "health\",code=\"200\"} 2\n") &&
	    strstr(text(&a), "{route=\"/demo/inject-failure\",code=\"401\"} "
	    "1\n") && !strstr(text(&a), "code=\"418\""),
	    "requests by route and code");
	ok(strstr(text(&a), "sre_events_total{type=\"anomaly\"} 1\n") &&
	    strstr(text(&a), "sre_events_total{type=\"other\"} 1\n"),
	    "events by type, the unknown as other");
	ok(strstr(text(&a), "sre_incidents_open 0\n") &&
	    strstr(text(&a), "sre_mttr_seconds_bucket{le=\"+Inf\"} 0\n"),
	    "no store: nothing open, an empty histogram");
	ok(strstr(text(&a), "sre_serve_last_receive_timestamp_seconds{input="
	    "\"alertmanager\"}") && !strstr(text(&a), "{input=\"traces\"}"),
	    "last arrival only for inputs that received");
	sre_answer_free(&a);
}

static void
events(struct sre_srv *s)
{
	struct sre_req rq = { .s = s };
	char buf[4096], line[32];
	ssize_t n;
	int i;

	/* the ring holds the two events of health() */
	sre_sse_begin(s, &rq, "0");
	n = sre_sse_read(&rq, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	ok(n > 0 && strcmp(buf, "retry: 2000\n\n") == 0, "retry first");
	n = sre_sse_read(&rq, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	ok(strcmp(buf, "id: 1\nevent: sre\ndata: {\"type\":\"anomaly\"}\n\n")
	    == 0, "event 1 in full");
	n = sre_sse_read(&rq, buf, 5);
	buf[n > 0 ? n : 0] = '\0';
	ok(n == 5 && strcmp(buf, "id: 2") == 0, "max respected");
	sre_sbuf_free(&rq.pending);
	for (i = 0; i < SRE_SRV_RING + 8; i++) {
		snprintf(line, sizeof(line), "{\"n\":%d}", i);
		sre_sse_push(s, line, strlen(line), NULL);
	}
	rq = (struct sre_req){ .s = s };
	sre_sse_begin(s, &rq, "1");	/* long gone */
	sre_sse_read(&rq, buf, sizeof(buf));
	n = sre_sse_read(&rq, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	ok(strncmp(buf, "id: 11\n", 7) == 0 && strstr(buf, "{\"n\":8}"),
	    "resumed at the oldest event kept");
	sre_sbuf_free(&rq.pending);
}

int
main(void)
{
	struct sre_srv_conf conf = { .max_body = 1 << 20,
	    .max_queue = 1 << 20 };
	char control[600];
	struct sre_srv *s;

	setenv("SRE_NOW", "1700000000000", 1);
	sre_init("test-serve-api");
	if (mkdtemp(dir) == NULL)
		tap_bail("mkdtemp");
	conf.state_dir = dir;
	if ((s = sre_srv_new(&conf)) == NULL)
		tap_bail("sre_srv_new");
	snprintf(control, sizeof(control), "%s/control", dir);
	api(s);
	inject(s, control);
	files();
	health(s);
	events(s);
	sre_srv_free(s);
	ok(unlink(control) == 0 && unlink(path(dir, "dash/index.html")) == 0
	    && unlink(path(dir, "dash/link.js")) == 0 &&
	    rmdir(path(dir, "dash")) == 0 && rmdir(dir) == 0,
	    "nothing else was left in the state directory");
	return tap_done();
}
