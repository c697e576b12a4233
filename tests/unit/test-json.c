/*
 * test-json: the pull parser of lib/core/json.h: structure, strings and
 * escapes, numbers, errors and their offsets, truncation at every byte
 * (on exact-size heap copies, so the sanitizer build catches any read past
 * the end), nesting caps, skip/leave/mark/seek and the expected-key fast
 * paths.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "tap.h"

#define LIT(s)	s, sizeof(s) - 1

/* A heap copy of exactly n bytes: reading past it is an ASan error. */
static char *
dup_exact(const char *s, size_t n)
{
	char *p = malloc(n ? n : 1);

	if (p == NULL)
		abort();
	memcpy(p, s, n);
	return p;
}

/* Skip the whole document: 0 if valid. */
static int
valid(const char *s, size_t n)
{
	struct sre_json j;
	char *p = dup_exact(s, n);
	int rc;

	sre_json_init(&j, p, n, 0);
	rc = sre_json_skip(&j) < 0 || sre_json_end(&j) < 0 ? -1 : 0;
	free(p);
	return rc;
}

/* Walk a value with the pull calls, checking every scalar; 0 if valid. */
static int
walk(struct sre_json *j, int depth)
{
	struct sre_json_str s;
	struct sre_json_num num;
	char *buf;
	int rc, b;

	switch (sre_json_peek(j)) {
	case SRE_JSON_OBJECT:
		if (sre_json_obj_begin(j) < 0)
			return -1;
		while ((rc = sre_json_obj_next(j, &s, NULL)) > 0)
			if (walk(j, depth + 1) < 0)
				return -1;
		return rc;
	case SRE_JSON_ARRAY:
		if (sre_json_arr_begin(j) < 0)
			return -1;
		while ((rc = sre_json_arr_next(j)) > 0)
			if (walk(j, depth + 1) < 0)
				return -1;
		return rc;
	case SRE_JSON_STRING:
		if (sre_json_string(j, &s) < 0)
			return -1;
		buf = malloc(s.n * 3 + 1);
		sre_json_unescape(s.p, s.n, buf, SRE_JSON_UNESC_REPLACE);
		free(buf);
		return 0;
	case SRE_JSON_NUMBER:
		return sre_json_number(j, &num);
	case SRE_JSON_TRUE:
	case SRE_JSON_FALSE:
		return sre_json_bool(j, &b);
	case SRE_JSON_NULL:
		return sre_json_null(j);
	default:
		return -1;
	}
}

static int
walk_doc(const char *s, size_t n)
{
	struct sre_json j;
	char *p = dup_exact(s, n);
	int rc;

	sre_json_init(&j, p, n, 0);
	rc = walk(&j, 0) < 0 || sre_json_end(&j) < 0 ? -1 : 0;
	free(p);
	return rc;
}

/* The error message and offset of skipping s. */
static const char *
error_of(const char *s, size_t n, size_t *off)
{
	static struct sre_json j;	/* the message is static in json.c */

	sre_json_init(&j, s, n, 0);
	if (sre_json_skip(&j) == 0 && sre_json_end(&j) == 0)
		return NULL;
	return sre_json_error(&j, off);
}

static int
num(const char *s, struct sre_json_num *out)
{
	struct sre_json j;
	char *p = dup_exact(s, strlen(s));
	int rc;

	sre_json_init(&j, p, strlen(s), 0);
	rc = sre_json_number(&j, out) < 0 || sre_json_end(&j) < 0 ? -1 : 0;
	free(p);
	return rc;
}

/* Decode the one string s (with quotes) into out (NUL-terminated). */
static int
str(const char *s, char *out, size_t outsz, unsigned jflags)
{
	struct sre_json j;
	struct sre_json_str v;
	char *p = dup_exact(s, strlen(s));
	int f;
	size_t n;

	sre_json_init(&j, p, strlen(s), jflags);
	f = sre_json_string(&j, &v);
	if (f >= 0 && v.n * 3 < outsz) {
		n = sre_json_unescape(v.p, v.n, out, SRE_JSON_UNESC_REPLACE);
		out[n] = '\0';
	}
	free(p);
	return f;
}

static const char *const docs[] = {
	"{\"a\":[1,2.5,-3e-2,true,false,null,\"x\\n\\u00e9\"],\"b\":{}}",
	"[[],{},[[]],{\"\":\"\"}]",
	"{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":"
	    "\"service.name\",\"value\":{\"stringValue\":\"api\"}}]}}]}",
	" { \"k\" : [ 1 , { \"x\" : \"\\ud83d\\ude00\" } ] } \n",
	"\"just a string with a longer body that spans the sixty-four byte "
	    "blocks of the scanner, twice over, yes, really quite long\"",
	"-0.0e+0",
	"12345678901234567890123",
};

int
main(void)
{
	struct sre_json j;
	struct sre_json_str s;
	struct sre_json_num n;
	struct sre_json_mark m;
	char out[1024];
	const char *e;
	size_t i, k, off;
	int b;
	unsigned kf;

	/* valid documents, and every proper prefix is an error */
	for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		size_t len = strlen(docs[i]), bad = 0;

		ok(valid(docs[i], len) == 0, "doc %zu valid (skip)", i);
		ok(walk_doc(docs[i], len) == 0, "doc %zu valid (walk)", i);
		for (k = 0; k < len; k++) {
			int sv = valid(docs[i], k), wv = walk_doc(docs[i], k);

			/* a prefix of a number can be a number; of an object,
			   array or string never a value */
			if (sv != wv || (strchr("{[\"", docs[i][0]) && sv == 0))
				bad++;
		}
		ok(bad == 0, "doc %zu: every prefix refused (skip and walk "
		    "agree)", i);
	}
	ok(valid(LIT("{\"a\":1")) < 0, "truncated object");
	ok(valid(LIT("{\"a\":\"x")) < 0, "truncated string");
	ok(valid(LIT("{\"a\":\"x\\")) < 0, "truncated escape");
	ok(valid(LIT("\"\\u12")) < 0, "truncated \\u escape");
	ok(valid(LIT("tru")) < 0, "truncated literal");
	ok(valid(LIT("")) < 0, "empty input");
	ok(valid(LIT("   ")) < 0, "only whitespace");

	/* error messages and offsets */
	e = error_of(LIT("{\"a\":\"xyz"), &off);
	ok(e && strcmp(e, "unterminated string") == 0 && off == 5,
	    "unterminated string at its quote: %s at %zu", e ? e : "-", off);
	e = error_of(LIT("{\"a\":\"xyz\n"), &off);
	ok(e && strcmp(e, "unterminated string") == 0,
	    "a line cut in a string is unterminated: %s", e ? e : "-");
	e = error_of(LIT("[\"a\x01\"]"), &off);
	ok(e && strcmp(e, "control character in string") == 0 && off == 3,
	    "control character: %s at %zu", e ? e : "-", off);
	e = error_of(LIT("[\"a\\q\"]"), &off);
	ok(e && strcmp(e, "invalid escape in string") == 0 && off == 3,
	    "bad escape: %s at %zu", e ? e : "-", off);
	e = error_of(LIT("[\"\\u00zz\"]"), &off);
	ok(e && strcmp(e, "invalid \\u escape") == 0, "bad \\u: %s",
	    e ? e : "-");
	e = error_of(LIT("[1,]"), &off);
	ok(e && off == 3, "trailing comma at 3: %s at %zu", e ? e : "-", off);
	e = error_of(LIT("{\"a\" 1}"), &off);
	ok(e && strcmp(e, "expected ':' after a key") == 0, "missing colon: %s",
	    e ? e : "-");
	e = error_of(LIT("{1:2}"), &off);
	ok(e && strcmp(e, "expected a string key") == 0, "number key: %s",
	    e ? e : "-");
	e = error_of(LIT("[1 2]"), &off);
	ok(e && strcmp(e, "expected ',' or ']'") == 0 && off == 3,
	    "missing comma: %s at %zu", e ? e : "-", off);
	e = error_of(LIT("{\"a\":1]"), &off);
	ok(e && strcmp(e, "expected ',' or '}'") == 0, "mismatched bracket: %s",
	    e ? e : "-");
	e = error_of(LIT("{} {}"), &off);
	ok(e && strcmp(e, "trailing characters after the value") == 0 &&
	    off == 3, "two values: %s at %zu", e ? e : "-", off);
	e = error_of(LIT("\x00"), &off);
	ok(e && strcmp(e, "unexpected character") == 0, "NUL byte: %s",
	    e ? e : "-");
	for (i = 0; i < 6; i++) {
		static const char *const badnum[] = {
			"01", "1.", "-", "1e", "+1", ".5"
		};

		ok(valid(badnum[i], strlen(badnum[i])) < 0, "bad number %s",
		    badnum[i]);
	}

	/* nesting */
	{
		char deep[2 * 300];

		memset(deep, '[', 300);
		memset(deep + 300, ']', 300);
		sre_json_init(&j, deep + 300 - SRE_JSON_DEPTH_DEFAULT,
		    2 * SRE_JSON_DEPTH_DEFAULT, 0);
		ok(sre_json_skip(&j) == 0, "%d levels allowed",
		    SRE_JSON_DEPTH_DEFAULT);
		sre_json_init(&j, deep + 300 - 257, 2 * 257, 0);
		ok(sre_json_skip(&j) < 0 &&
		    strcmp(sre_json_error(&j, NULL), "nesting too deep") == 0,
		    "257 levels too deep");
		sre_json_init(&j, deep + 300 - 3, 6, 0);
		sre_json_set_max_depth(&j, 2);
		ok(sre_json_skip(&j) < 0, "max depth 2: 3 levels refused");
		sre_json_init(&j, deep + 300 - 3, 6, 0);
		sre_json_set_max_depth(&j, 2);
		ok(sre_json_arr_begin(&j) == 0 && sre_json_arr_next(&j) == 1 &&
		    sre_json_arr_begin(&j) == 0 && sre_json_arr_next(&j) == 1 &&
		    sre_json_arr_begin(&j) < 0, "max depth 2 in pull calls");
		sre_json_init(&j, deep, 300, 0);
		sre_json_set_max_depth(&j, 5000);
		ok(j.max_depth == SRE_JSON_DEPTH_MAX, "depth cap clamped");
	}

	/* strings */
	ok(str("\"plain\"", out, sizeof(out), 0) == 0 &&
	    strcmp(out, "plain") == 0, "plain string, no flags");
	ok(str("\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"", out, sizeof(out), 0) ==
	    SRE_JSON_STR_ESC && strcmp(out, "a\"b\\c/d\b\f\n\r\t") == 0,
	    "short escapes");
	ok(str("\"caf\\u00e9 \\u20ac\"", out, sizeof(out), 0) ==
	    SRE_JSON_STR_ESC && strcmp(out, "caf\xc3\xa9 \xe2\x82\xac") == 0,
	    "\\u escapes to UTF-8");
	ok(str("\"\\ud83d\\ude00\"", out, sizeof(out), 0) >= 0 &&
	    strcmp(out, "\xf0\x9f\x98\x80") == 0, "surrogate pair joined");
	ok(str("\"\\ud83dx\"", out, sizeof(out), 0) >= 0 &&
	    strcmp(out, "\xef\xbf\xbdx") == 0, "lone high surrogate: U+FFFD");
	ok(str("\"\\ude00\"", out, sizeof(out), 0) >= 0 &&
	    strcmp(out, "\xef\xbf\xbd") == 0, "lone low surrogate: U+FFFD");
	ok(str("\"\\ud83d\\u0041\"", out, sizeof(out), 0) >= 0 &&
	    strcmp(out, "\xef\xbf\xbd" "A") == 0,
	    "high surrogate then a non-surrogate");
	ok(str("\"\xc3\xa9t\xc3\xa9\"", out, sizeof(out), 0) ==
	    SRE_JSON_STR_NONASCII && strcmp(out, "\xc3\xa9t\xc3\xa9") == 0,
	    "raw UTF-8 kept");
	ok(str("\"a\xff" "b\"", out, sizeof(out), 0) ==
	    (SRE_JSON_STR_NONASCII | SRE_JSON_STR_BADUTF8) &&
	    strcmp(out, "a\xef\xbf\xbd" "b") == 0,
	    "invalid UTF-8 flagged and replaced");
	ok(str("\"a\xff" "b\"", out, sizeof(out), SRE_JSON_STRICT_UTF8) < 0,
	    "invalid UTF-8 refused in strict mode");
	ok(str("\"\xed\xa0\x80\"", out, sizeof(out), 0) ==
	    (SRE_JSON_STR_NONASCII | SRE_JSON_STR_BADUTF8),
	    "UTF-8 encoded surrogate is invalid");
	ok(str("\"\xc0\xaf\"", out, sizeof(out), 0) ==
	    (SRE_JSON_STR_NONASCII | SRE_JSON_STR_BADUTF8), "overlong invalid");
	ok(str("\"\xf4\x90\x80\x80\"", out, sizeof(out), 0) ==
	    (SRE_JSON_STR_NONASCII | SRE_JSON_STR_BADUTF8),
	    "above U+10FFFF invalid");
	{
		/* a string crossing several 64-byte blocks, escape at a
		   block edge */
		char big[300];

		big[0] = '"';
		memset(big + 1, 'x', 280);
		memcpy(big + 63, "\\n", 2);
		memcpy(big + 127, "\\u0041", 6);
		big[281] = '"';
		big[282] = '\0';
		sre_json_init(&j, big, 282, 0);
		ok(sre_json_string(&j, &s) == SRE_JSON_STR_ESC && s.n == 280,
		    "long string: 280 bytes between the quotes");
		k = sre_json_unescape(s.p, s.n, out, 0);
		ok(k == 280 - 1 - 5 && out[62] == '\n' && out[125] == 'A' &&
		    out[126] == 'x', "long string: escapes at block edges");
	}
	ok(sre_json_unescape(LIT("a\\"), out, 0) == 2 &&
	    memcmp(out, "a\\", 2) == 0, "unescape: dangling backslash copied");
	ok(sre_json_unescape(LIT("\\u12"), out, 0) == 4,
	    "unescape: short \\u copied");
	ok(sre_json_unescape(LIT("\\u0000"), out, 0) == 1 && out[0] == '\0',
	    "unescape: \\u0000 is a NUL byte");
	ok(sre_json_utf8_valid(LIT("h\xc3\xa9llo")) == 1 &&
	    sre_json_utf8_valid(LIT("\xe2\x82")) == 0, "utf8_valid");

	/* numbers */
	ok(num("0", &n) == 0 && (n.flags & SRE_JSON_NUM_I64) && n.i == 0,
	    "0");
	ok(num("9007199254740993", &n) == 0 && n.i == 9007199254740993LL,
	    "2^53+1 exact");
	ok(num("-9223372036854775808", &n) == 0 &&
	    (n.flags & SRE_JSON_NUM_I64) && n.i == INT64_MIN, "INT64_MIN");
	ok(num("9223372036854775808", &n) == 0 &&
	    !(n.flags & SRE_JSON_NUM_I64) && (n.flags & SRE_JSON_NUM_U64) &&
	    n.u == 9223372036854775808ULL, "2^63: u64 only");
	ok(num("18446744073709551615", &n) == 0 && n.u == UINT64_MAX,
	    "UINT64_MAX exact");
	ok(num("18446744073709551616", &n) == 0 &&
	    n.flags == SRE_JSON_NUM_INT && n.d == 18446744073709551616.0,
	    "2^64: integer but only a double");
	ok(num("-9223372036854775809", &n) == 0 &&
	    n.flags == SRE_JSON_NUM_INT && n.d == -9223372036854775808.0,
	    "below INT64_MIN: double");
	ok(num("0.1", &n) == 0 && n.d == 0.1 && n.flags == 0, "0.1");
	ok(num("1e22", &n) == 0 && n.d == 1e22, "1e22");
	ok(num("1.7976931348623157e308", &n) == 0 &&
	    n.d == 1.7976931348623157e308, "DBL_MAX");
	ok(num("1e400", &n) == 0 && isinf(n.d), "1e400 is inf");
	ok(num("-1e400", &n) == 0 && isinf(n.d) && n.d < 0, "-1e400 is -inf");
	ok(num("1e-400", &n) == 0 && n.d == 0, "1e-400 is 0");
	ok(num("4.9406564584124654e-324", &n) == 0 &&
	    n.d == 4.9406564584124654e-324, "smallest denormal");
	ok(num("2.2250738585072011e-308", &n) == 0 &&
	    n.d == 2.2250738585072011e-308, "hard case near DBL_MIN");
	ok(num("123456789012345678901234567890e-10", &n) == 0 &&
	    n.d == 12345678901234567890.123456789, "many digits");
	ok(num("-0", &n) == 0 && n.i == 0 && signbit(n.d), "-0");
	ok(num("1E+2", &n) == 0 && n.d == 100, "1E+2");
	ok(num("0.000001234", &n) == 0 && n.d == 0.000001234, "leading zeros");
	{
		/* 1000 significant digits: the sticky digit rounding */
		char big[1100];

		big[0] = '1';
		big[1] = '.';
		memset(big + 2, '0', 1000);
		memcpy(big + 2 + 1000, "1e0", 4);
		ok(num(big, &n) == 0 && n.d == 1.0, "1.000...0001 (1000 digits)");
		memset(big, '9', 1050);
		big[1050] = '\0';
		ok(num(big, &n) == 0 && isinf(n.d) && n.d > 0,
		    "1050 nines overflow to inf");
	}
	ok(num("1e99999999999999999999", &n) == 0 && isinf(n.d),
	    "huge exponent saturates");

	/* checked conversions */
	{
		uint64_t u;
		int64_t v;
		double d;

		ok(sre_json_parse_u64(LIT("1700000000123456789"), &u) == 0 &&
		    u == 1700000000123456789ULL, "parse_u64 19 digits");
		ok(sre_json_parse_u64(LIT("18446744073709551615"), &u) == 0 &&
		    u == UINT64_MAX, "parse_u64 max");
		ok(sre_json_parse_u64(LIT("18446744073709551616"), &u) < 0,
		    "parse_u64 overflow");
		ok(sre_json_parse_u64(LIT("99999999999999999999"), &u) < 0,
		    "parse_u64 20 nines overflow");
		ok(sre_json_parse_u64(LIT("12345678a"), &u) < 0 &&
		    sre_json_parse_u64(LIT("1234567:9"), &u) < 0 &&
		    sre_json_parse_u64(LIT(""), &u) < 0 &&
		    sre_json_parse_u64(LIT("-1"), &u) < 0,
		    "parse_u64 rejects non-digits");
		ok(sre_json_parse_u64(LIT("0000000000000000000000042"), &u) ==
		    0 && u == 42, "parse_u64 leading zeros");
		ok(sre_json_parse_i64(LIT("-9223372036854775808"), &v) == 0 &&
		    v == INT64_MIN, "parse_i64 min");
		ok(sre_json_parse_i64(LIT("9223372036854775808"), &v) < 0,
		    "parse_i64 overflow");
		ok(sre_json_parse_double(LIT("NaN"), &d) == 0 && isnan(d) &&
		    sre_json_parse_double(LIT("-Infinity"), &d) == 0 &&
		    isinf(d) && d < 0, "parse_double NaN, -Infinity");
		ok(sre_json_parse_double(LIT("2.5"), &d) == 0 && d == 2.5 &&
		    sre_json_parse_double(LIT("2.5x"), &d) < 0 &&
		    sre_json_parse_double(LIT(" 2"), &d) < 0,
		    "parse_double is strict");
	}

	/* pull calls, skip, leave, mark and seek */
	{
		static const char doc[] =
		    "{\"a\":1,\"skip\":{\"x\":[1,{\"y\":\"z\"}]},\"b\":\"two\","
		    "\"c\":[true,null]}";
		int64_t a = 0;

		sre_json_init(&j, doc, sizeof(doc) - 1, 0);
		ok(sre_json_peek(&j) == SRE_JSON_OBJECT &&
		    sre_json_obj_begin(&j) == 0, "object opened");
		ok(sre_json_obj_next(&j, &s, &kf) == 1 && SRE_JSON_KEY_IS(s, "a")
		    && kf == 0, "key a");
		ok(sre_json_number(&j, &n) == 0 && (a = n.i) == 1, "a = 1");
		ok(sre_json_obj_next(&j, &s, NULL) == 1 &&
		    SRE_JSON_KEY_IS(s, "skip") && sre_json_skip(&j) == 0,
		    "skip a nested value");
		sre_json_mark(&j, &m);
		ok(sre_json_obj_next(&j, &s, NULL) == 1 &&
		    SRE_JSON_KEY_IS(s, "b") && sre_json_string(&j, &s) == 0 &&
		    SRE_JSON_KEY_IS(s, "two"), "b = two");
		sre_json_seek(&j, &m);
		ok(sre_json_obj_next(&j, &s, NULL) == 1 &&
		    SRE_JSON_KEY_IS(s, "b") && sre_json_skip(&j) == 0,
		    "seek back and read b again");
		ok(sre_json_obj_next(&j, &s, NULL) == 1 &&
		    sre_json_arr_begin(&j) == 0 && sre_json_arr_next(&j) == 1 &&
		    sre_json_bool(&j, &b) == 0 && b == 1, "c[0] = true");
		ok(sre_json_leave(&j) == 0, "leave the array");
		ok(sre_json_obj_next(&j, &s, NULL) == 0 && sre_json_end(&j) == 0,
		    "object ends, document ends");

		sre_json_init(&j, doc, sizeof(doc) - 1, 0);
		ok(sre_json_obj_begin(&j) == 0 &&
		    sre_json_obj_next(&j, &s, NULL) == 1 && sre_json_leave(&j) ==
		    0 && sre_json_end(&j) == 0, "leave with a value pending");
		sre_json_init(&j, doc, sizeof(doc) - 1, 0);
		ok(sre_json_obj_begin(&j) == 0 && sre_json_leave(&j) == 0 &&
		    sre_json_end(&j) == 0, "leave right after the brace");
		sre_json_init(&j, doc, sizeof(doc) - 1, 0);
		ok(sre_json_obj_begin(&j) == 0 && sre_json_arr_next(&j) < 0,
		    "arr_next in an object is an error");
		sre_json_init(&j, doc, sizeof(doc) - 1, 0);
		ok(sre_json_string(&j, &s) < 0 && sre_json_skip(&j) < 0 &&
		    sre_json_peek(&j) == SRE_JSON_NONE,
		    "errors are sticky");
		(void)a;
	}

	/* expected-key fast paths */
	{
		static const char kv[] =
		    "[{\"key\":\"k\",\"value\":{\"stringValue\":\"v\"}},"
		    "{ \"key\":\"k2\",\"value\":1},{\"value\":2,\"key\":\"k3\"}]";

		sre_json_init(&j, kv, sizeof(kv) - 1, 0);
		ok(sre_json_arr_begin(&j) == 0 && sre_json_arr_next(&j) == 1,
		    "kv array");
		ok(sre_json_obj_begin_key(&j, LIT("key")) == 1 &&
		    sre_json_string(&j, &s) == 0 && SRE_JSON_KEY_IS(s, "k"),
		    "begin_key matched");
		ok(sre_json_obj_next_key(&j, LIT("nope")) == 0 &&
		    sre_json_obj_next_key(&j, LIT("value")) == 1,
		    "next_key: miss, then match");
		ok(sre_json_obj_begin_key(&j, LIT("stringValue")) == 1 &&
		    sre_json_skip(&j) == 0 && sre_json_obj_end(&j) == 1 &&
		    sre_json_obj_end(&j) == 1, "nested begin_key, two ends");
		ok(sre_json_arr_next(&j) == 1 &&
		    sre_json_obj_begin_key(&j, LIT("key")) == 0 &&
		    sre_json_obj_begin(&j) == 0 &&
		    sre_json_obj_next(&j, &s, NULL) == 1 &&
		    SRE_JSON_KEY_IS(s, "key"), "whitespace: general path");
		ok(sre_json_skip(&j) == 0 && sre_json_obj_end(&j) == 0 &&
		    sre_json_obj_next_key(&j, LIT("value")) == 1 &&
		    sre_json_skip(&j) == 0 && sre_json_obj_end(&j) == 1,
		    "obj_end 0 when a member follows");
		ok(sre_json_arr_next(&j) == 1 &&
		    sre_json_obj_begin_key(&j, LIT("key")) == 0 &&
		    sre_json_obj_begin(&j) == 0 &&
		    sre_json_obj_next_key(&j, LIT("key")) == 0 &&
		    sre_json_obj_next_key(&j, LIT("value")) == 1,
		    "first member by next_key");
		ok(sre_json_skip(&j) == 0 &&
		    sre_json_obj_next(&j, &s, NULL) == 1 &&
		    sre_json_skip(&j) == 0 && sre_json_obj_next(&j, &s, NULL) ==
		    0 && sre_json_arr_next(&j) == 0 && sre_json_end(&j) == 0,
		    "fast and general calls mix");
		sre_json_init(&j, LIT("{\"ke"), 0);
		ok(sre_json_obj_begin_key(&j, LIT("key")) == 0,
		    "begin_key never reads past the end");
		sre_json_init(&j, LIT("{\"k\\u0065y\":1}"), 0);
		ok(sre_json_obj_begin_key(&j, LIT("key")) == 0 &&
		    sre_json_obj_begin(&j) == 0 &&
		    sre_json_obj_next(&j, &s, &kf) == 1 &&
		    (kf & SRE_JSON_STR_ESC), "escaped key: general path, flagged");
	}
	return tap_done();
}
