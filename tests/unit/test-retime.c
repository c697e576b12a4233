/* test-retime.c: the JSON grammar check and timestamp shifting. */
#include <stdlib.h>
#include <string.h>

#include "retime.h"
#include "tap.h"

static struct sre_sbuf buf;

/* Shift s by delta; return the output (or NULL on error, err set). */
static const char *
shift(const char *s, int64_t delta, int64_t *first, char *err)
{
	if (sre_retime(s, strlen(s), delta, &buf, first, err, 256) < 0)
		return NULL;
	return buf.p;
}

static int
bad(const char *s, const char *want)
{
	char err[256];
	int64_t f;

	if (sre_retime(s, strlen(s), 0, NULL, &f, err, sizeof(err)) == 0)
		return 0;
	return strstr(err, want) != NULL;
}

int
main(void)
{
	char err[256];
	const char *o;
	int64_t f;
	char *deep;
	int i;

	o = shift("{\"startTimeUnixNano\":\"1700000000000000001\"}", 5, &f, err);
	ok(o && strcmp(o, "{\"startTimeUnixNano\":\"1700000000000000006\"}")
	    == 0, "ns string shifted exactly");
	ok(f == 1700000000000000001LL, "first time is the original");
	o = shift("{\"a\":[{\"timeUnixNano\":1000,\"ts_ms\":2}],\"ts_ms\":1}",
	    3000000, &f, err);
	ok(o && strcmp(o, "{\"a\":[{\"timeUnixNano\":3001000,\"ts_ms\":5}],"
	    "\"ts_ms\":4}") == 0, "numbers and nested members: %s", o);
	ok(f == 1000, "earliest of all: %lld", (long long)f);
	o = shift("{\"__REALTIME_TIMESTAMP\":\"10\"}", 2000, &f, err);
	ok(o && strcmp(o, "{\"__REALTIME_TIMESTAMP\":\"12\"}") == 0 &&
	    f == 10000, "journald microseconds");
	o = shift("{\"window_start_ms\":1,\"x\":\"ts_ms\"}", 1000000, &f, err);
	ok(o && strcmp(o, "{\"window_start_ms\":2,\"x\":\"ts_ms\"}") == 0 &&
	    f == SRE_RETIME_NONE,
	    "windows shift but do not date; a value named like a key is not one");
	o = shift("{\"ts_ms\":-5,\"timeUnixNano\":\"1e9\",\"endTimeUnixNano\":"
	    "\"9223372036854775807\"}", 10, &f, err);
	ok(o && strcmp(o, "{\"ts_ms\":-5,\"timeUnixNano\":\"1e9\","
	    "\"endTimeUnixNano\":\"9223372036854775807\"}") == 0,
	    "negative, non-integer and overflowing values are left alone");
	o = shift("  {\"ts_ms\" : 7 , \"s\":\"\\u00e9\\\"\"}  ", -7000000, &f,
	    err);
	ok(o && strcmp(o, "  {\"ts_ms\" : 0 , \"s\":\"\\u00e9\\\"\"}  ") == 0,
	    "white space and escapes are kept byte for byte");
	o = shift("{\"ts_ms\":7}", -8000000, &f, err);
	ok(o && strcmp(o, "{\"ts_ms\":7}") == 0, "no shift below zero");

	ok(bad("", "empty line"), "empty");
	ok(bad("[]", "not a JSON object"), "array");
	ok(bad("{\"a\":1", "truncated"), "truncated");
	ok(bad("{\"a\":tru}", "bad literal"), "bad literal");
	ok(bad("{\"a\":01}", "expected ','"), "leading zero");
	ok(bad("{\"a\":1.}", "bad number"), "bad fraction");
	ok(bad("{\"a\":1e}", "bad number"), "bad exponent");
	ok(bad("{\"a\":\"\\q\"}", "bad escape"), "bad escape");
	ok(bad("{\"a\":\"\\u12g4\"}", "\\u escape"), "bad \\u");
	ok(bad("{\"a\":\"x\x01\"}", "control character"), "control char");
	ok(bad("{\"a\" 1}", "expected ':'"), "missing colon");
	ok(bad("{1:1}", "member name"), "number as a key");
	ok(bad("{\"a\":1,}", "member name"), "trailing comma");
	ok(bad("{\"a\":[1,]}", "unexpected character"), "trailing comma in array");
	ok(bad("{\"a\":[}", "unexpected"), "mismatched brackets");
	ok(bad("{} {}", "extra data"), "two objects");
	ok(bad("{\"a\":\"unterminated", "unterminated string"), "unterminated");
	deep = malloc(200002);
	deep[0] = '{';
	deep[1] = '"';
	deep[2] = 'a';
	deep[3] = '"';
	deep[4] = ':';
	for (i = 5; i < 200000; i++)
		deep[i] = '[';
	deep[200000] = '\0';
	ok(bad(deep, "nested too deep"), "deep nesting refused, no recursion");
	free(deep);
	o = "{\"a\":[[],{},\"\",0,-0.5e+3,true,false,null]}";
	ok(sre_retime(o, strlen(o), 0, NULL, &f, err, sizeof(err)) == 0,
	    "every kind of value");
	sre_sbuf_free(&buf);
	return tap_done();
}
