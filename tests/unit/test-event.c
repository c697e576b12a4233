/* test-event.c: ids, time, envelope checks, borrowing accessors. */
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "event.h"
#include "tap.h"

static int
check(const char *line, char *err, size_t n)
{
	jv ev = sre_json_object(line, strlen(line), err, n);
	int rc;

	if (!jv_is_valid(ev))
		return -2;
	rc = sre_event_check(ev, err, n);
	jv_free(ev);
	return rc;
}

int
main(void)
{
	char a[SRE_ID_LEN + 1], b[SRE_ID_LEN + 1], err[256];
	size_t len;
	char *s;
	int64_t i;
	double d;
	jv ev;

	sre_init("test-event");
	unsetenv("SRE_SEED");
	setenv("SRE_NOW", "1700000000000", 1);
	ok(sre_now_ms() == 1700000000000LL, "SRE_NOW pins the clock");
	sre_id_new(a);
	sre_id_new(b);
	ok(strlen(a) == SRE_ID_LEN && strcmp(a, b) != 0,
	    "ids are %d chars and unique (%s %s)", SRE_ID_LEN, a, b);
	ok(memcmp(a, b, 10) == 0, "same ms, same time prefix");
	setenv("SRE_NOW", "1700000000001", 1);
	sre_id_new(b);
	ok(strcmp(a, b) < 0, "later ids sort after earlier ones");
	unsetenv("SRE_NOW");
	ok(sre_now_ms() > 1700000000000LL, "real clock otherwise");

	ev = sre_event_new("anomaly", "inc-1");
	ok(sre_event_check(ev, err, sizeof(err)) == 0, "a new event is valid");
	ok(strcmp(sre_jv_str(ev, "source"), "test-event") == 0,
	    "source is the tool name");
	ok(sre_jv_int(ev, "v", &i) == 0 && i == 1, "v is 1");
	ok(sre_jv_str(ev, "nope") == NULL, "missing member: NULL");
	ok(sre_jv_str(ev, "v") == NULL, "wrong kind: NULL, no abort");
	ok(sre_jv_int(ev, "type", &i) < 0, "wrong kind for int: -1");
	s = sre_jv_dump(jv_copy(ev), &len);
	ok(s != NULL && len == strlen(s) && s[0] == '{' &&
	    strchr(s, '\n') == NULL, "dump is one compact line");
	free(s);
	jv_free(ev);
	ev = sre_event_new("topology", NULL);
	ok(sre_event_check(ev, err, sizeof(err)) == 0 &&
	    sre_jv_str(ev, "incident") == NULL, "topology has no incident");
	jv_free(ev);

	ok(sre_jv_str(jv_number(1), "x") == NULL, "accessor on a non-object");
	ev = jv_parse("{\"n\":1.5,\"big\":1e300,\"int\":42}");
	ok(sre_jv_int(ev, "n", &i) < 0, "1.5 is not an integer");
	ok(sre_jv_int(ev, "big", &i) < 0, "1e300 is out of range");
	ok(sre_jv_num(ev, "n", &d) == 0 && d == 1.5, "number accessor");
	ok(sre_jv_int(ev, "int", &i) == 0 && i == 42, "int accessor");
	jv_free(ev);

	ok(check("{\"v\":1,\"type\":\"anomaly\",\"id\":\"x\",\"incident\":"
	    "\"i\",\"ts_ms\":5,\"source\":\"s\"}", err, sizeof(err)) == 0,
	    "minimal anomaly is valid");
	ok(check("{\"v\":1,\"type\":\"weird\",\"id\":\"x\",\"ts_ms\":5,"
	    "\"source\":\"s\"}", err, sizeof(err)) == 0,
	    "unknown types are valid without an incident");
	ok(check("{\"v\":1,\"type\":\"anomaly\",\"id\":\"x\",\"ts_ms\":5,"
	    "\"source\":\"s\"}", err, sizeof(err)) < 0 &&
	    strstr(err, "'incident'") != NULL, "anomaly needs an incident");
	ok(check("{\"v\":\"1\",\"type\":\"audit\",\"id\":\"x\",\"ts_ms\":5,"
	    "\"source\":\"s\"}", err, sizeof(err)) < 0 &&
	    strstr(err, "'v'") != NULL && strstr(err, "string") != NULL,
	    "v as a string names the field and the kind: %s", err);
	ok(check("{\"v\":1,\"type\":\"audit\",\"id\":\"x\",\"ts_ms\":5.5,"
	    "\"source\":\"s\"}", err, sizeof(err)) < 0 &&
	    strstr(err, "'ts_ms'") != NULL, "fractional ts_ms");
	ok(check("{\"v\":1,\"type\":\"audit\",\"id\":\"x\",\"ts_ms\":5}",
	    err, sizeof(err)) < 0 && strstr(err, "'source'") != NULL,
	    "missing source");
	ok(check("[1]", err, sizeof(err)) == -2 &&
	    strstr(err, "array") != NULL, "an array is not an object");
	ok(check("{\"a\":\x01}", err, sizeof(err)) == -2, "garbage");
	ev = sre_json_object("{}\0{}", 5, err, sizeof(err));
	ok(!jv_is_valid(ev) && strstr(err, "NUL") != NULL,
	    "NUL bytes are refused");
	jv_free(ev);
	return tap_done();
}
