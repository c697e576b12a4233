/* test-serve.c: sre-serve's checks and conversions that need no HTTP:
 * safe paths, bearer tokens, OTLP/JSON bodies, Alertmanager webhooks, and
 * the JSON writer they use. */
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "event.h"
#include "sbuf.h"
#include "serve.h"
#include "tap.h"

static int
otlp(enum sre_pb_kind k, const char *text, size_t *rec, size_t *rej,
    char *msg, size_t n)
{
	char *body = strdup(text);
	int rc = sre_serve_otlp_json(k, body, strlen(body), rec, rej, msg, n);

	free(body);
	return rc;
}

int
main(void)
{
	static const char *const bad_paths[] = { "", "x", "/..", "/../etc",
	    "/a/../b", "/a/..", "//etc/passwd", "/a\\b", "/%2e%2e/x", "/a%00",
	    "/a\nb", "/a\x7f", NULL };
	struct sre_sbuf b = { 0 };
	size_t rec, rej, fir, res, bad;
	char msg[512];
	const char *am;
	int i, rc;

	setenv("SRE_NOW", "1700000000000", 1);
	setenv("SRE_SEED", "1", 1);
	sre_init("test-serve");

	/* paths */
	ok(sre_serve_path_ok("/"), "/ is fine");
	ok(sre_serve_path_ok("/index.html"), "a file");
	ok(sre_serve_path_ok("/sub/a.b.css"), "dots in names");
	ok(sre_serve_path_ok("/.well-known/x"), "a leading dot");
	for (i = 0; bad_paths[i] != NULL; i++)
		ok(!sre_serve_path_ok(bad_paths[i]), "refused: path %d", i);

	/* tokens */
	ok(sre_serve_bearer_ok("Bearer s3cret", "s3cret"), "the token");
	ok(sre_serve_bearer_ok("bearer s3cret", "s3cret"), "scheme in any case");
	ok(!sre_serve_bearer_ok("Bearer s3cre", "s3cret"), "a prefix");
	ok(!sre_serve_bearer_ok("Bearer s3cretx", "s3cret"), "longer");
	ok(!sre_serve_bearer_ok("Bearer ", "s3cret"), "empty");
	ok(!sre_serve_bearer_ok("Basic s3cret", "s3cret"), "another scheme");
	ok(!sre_serve_bearer_ok(NULL, "s3cret"), "no header");
	ok(!sre_serve_bearer_ok("Bearer ", ""), "no token configured");
	ok(!sre_serve_bearer_ok("Bearer x", NULL), "no token at all");

	/* OTLP/JSON bodies */
	rc = otlp(SRE_PB_TRACES, "{\"resourceSpans\":[{\"scopeSpans\":[{"
	    "\"spans\":[{\"traceId\":\"5b8efff798038103d269b633813fc60c\","
	    "\"spanId\":\"eee19b7ec3c1b174\",\"name\":\"a\",\n"
	    "\"startTimeUnixNano\":\"1\",\"endTimeUnixNano\":\"2\"},"
	    "{\"name\":\"no time\"}]}]}]}", &rec, &rej, msg, sizeof(msg));
	ok(rc == 0 && rec == 1 && rej == 1, "one span taken, one rejected "
	    "(rc %d, %zu, %zu)", rc, rec, rej);
	ok(strstr(msg, "spans[1]") != NULL, "the rejection named: %s", msg);
	ok(otlp(SRE_PB_TRACES, "{}", &rec, &rej, msg, sizeof(msg)) == 1,
	    "{} is an empty request");
	rc = otlp(SRE_PB_LOGS, "{\"resourceSpans\":[]}", &rec, &rej, msg,
	    sizeof(msg));
	ok(rc == -1 && strcmp(msg, "a traces request, not logs") == 0,
	    "the wrong kind: %s", msg);
	ok(otlp(SRE_PB_METRICS, "{\"resourceMetrics\":[", &rec, &rej, msg,
	    sizeof(msg)) == -1 && msg[0] != '\0', "not JSON: %s", msg);

	/* Alertmanager */
	am = "{\"version\":\"4\",\"status\":\"firing\",\"alerts\":["
	    "{\"status\":\"firing\",\"labels\":{\"alertname\":\"A\","
	    "\"job\":\"j\",\"severity\":\"critical\"},\"annotations\":"
	    "{\"value\":\"2.5\"},\"startsAt\":\"2023-11-14T22:13:20Z\","
	    "\"fingerprint\":\"abc123\"},"
	    "{\"status\":\"resolved\",\"labels\":{\"alertname\":\"A\","
	    "\"job\":\"j\"},\"startsAt\":\"2023-11-14T22:13:20Z\","
	    "\"endsAt\":\"2023-11-14T22:14:20Z\",\"fingerprint\":\"abc123\"},"
	    "{\"status\":\"firing\",\"fingerprint\":\"../x\","
	    "\"startsAt\":\"2023-11-14T22:13:20Z\"},"
	    "{\"status\":\"pending\",\"fingerprint\":\"a\"}, 7]}";
	rc = sre_serve_alerts(am, strlen(am), &b, &fir, &res, &bad, msg,
	    sizeof(msg));
	ok(rc == 0 && fir == 1 && res == 1 && bad == 3, "1 firing, 1 resolved, "
	    "3 left out (rc %d: %zu %zu %zu)", rc, fir, res, bad);
	ok(strstr(msg, "alerts[2]: field 'fingerprint'") != NULL,
	    "the first left out named: %s", msg);
	ok(b.p != NULL && strstr(b.p, "\"type\":\"anomaly\",\"id\":") != NULL &&
	    strstr(b.p, "\"incident\":\"am-abc123-1700000000000\"") != NULL &&
	    strstr(b.p, "\"service\":\"j\"") != NULL &&
	    strstr(b.p, "\"observed\":2.5") != NULL &&
	    strstr(b.p, "\"score\":10") != NULL, "the anomaly");
	ok(b.p != NULL && strstr(b.p, "\"type\":\"recovery\"") != NULL &&
	    strstr(b.p, "\"window_end_ms\":1700000060000") != NULL,
	    "the recovery ends when the alert did");
	{
		char *nl = b.p ? strchr(b.p, '\n') : NULL;
		jv ev = nl ? sre_json_object(b.p, (size_t)(nl - b.p), msg,
		    sizeof(msg)) : jv_invalid();

		ok(jv_is_valid(ev) && sre_event_check(ev, msg,
		    sizeof(msg)) == 0, "a valid event");
		jv_free(ev);
	}
	sre_sbuf_free(&b);
	ok(sre_serve_alerts("{\"version\":\"3\"}", 15, &b, &fir, &res, &bad,
	    msg, sizeof(msg)) == -1 && strstr(msg, "'version'") != NULL,
	    "version 3 refused: %s", msg);
	ok(sre_serve_alerts("[]", 2, &b, &fir, &res, &bad, msg,
	    sizeof(msg)) == -1, "not an object");
	sre_sbuf_free(&b);

	/* the JSON writer */
	sre_sbuf_jstr(&b, "a\"b\\c\n\x01\xff\xc3\xa9", 10);
	ok(b.n > 0 && strcmp(b.p, "\"a\\\"b\\\\c\\n\\u0001\xef\xbf\xbd\xc3\xa9\"")
	    == 0, "escapes, U+FFFD for bad UTF-8, good UTF-8 kept: %s", b.p);
	sre_sbuf_free(&b);
	sre_sbuf_jnum(&b, 0.1);
	sre_sbuf_adds(&b, " ");
	sre_sbuf_jnum(&b, 1e300 * 1e300);
	sre_sbuf_adds(&b, " ");
	sre_sbuf_jnum(&b, 12.5);
	ok(strcmp(b.p, "0.1 null 12.5") == 0, "shortest numbers: %s", b.p);
	sre_sbuf_free(&b);
	sre_sbuf_free(NULL);
	return tap_done();
}
