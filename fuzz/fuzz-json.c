/*
 * fuzz-json: libFuzzer target for lib/core/json.c.
 *
 * Three readings of the same bytes must agree: the validating skipper
 * (sre_json_skip), a walk with the general pull calls, and a walk that
 * tries the expected-key fast paths first the way lib/telemetry/otlp.c does.  Every
 * string is decoded and must come out as valid UTF-8; numbers must be
 * self-consistent; mark/seek must read a value the same way twice.  The
 * input is copied to a buffer of its exact size, so ASan catches any read
 * past the end.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t sink;

static void
check_string(struct sre_json_str s, int flags)
{
	char *out = malloc(s.n * 3 + 1);
	size_t n, i;

	if (out == NULL)
		abort();
	n = sre_json_unescape(s.p, s.n, out, SRE_JSON_UNESC_REPLACE);
	if (n > s.n * 3 || !sre_json_utf8_valid(out, n))
		abort();
	if (!(flags & SRE_JSON_STR_ESC) && !(flags & SRE_JSON_STR_BADUTF8) &&
	    (n != s.n || memcmp(out, s.p, n) != 0))
		abort();	/* nothing to decode: the same bytes */
	if ((flags & SRE_JSON_STR_BADUTF8) && sre_json_utf8_valid(s.p, s.n))
		abort();
	if (!(flags & (SRE_JSON_STR_BADUTF8 | SRE_JSON_STR_NONASCII)))
		for (i = 0; i < s.n; i++)
			if ((unsigned char)s.p[i] >= 0x80)
				abort();
	/* without REPLACE the output is never longer than the input */
	if (sre_json_unescape(s.p, s.n, out, 0) > s.n)
		abort();
	free(out);
}

static void
check_number(const struct sre_json_num *n)
{
	if ((n->flags & SRE_JSON_NUM_I64) && (double)n->i != n->d)
		abort();
	if ((n->flags & SRE_JSON_NUM_U64) && (double)n->u != n->d &&
	    !(n->u == 0 && n->d == 0))
		abort();
	if ((n->flags & (SRE_JSON_NUM_I64 | SRE_JSON_NUM_U64)) &&
	    !(n->flags & SRE_JSON_NUM_INT))
		abort();
	if (isnan(n->d))
		abort();
}

/* Walk one value; fast: try the expected-key calls first. */
static int
walk(struct sre_json *j, int fast)
{
	struct sre_json_str s;
	struct sre_json_num num;
	struct sre_json_mark m;
	size_t after;
	int rc, b, f, first = 1;

	switch (sre_json_peek(j)) {
	case SRE_JSON_OBJECT:
		if (fast) {
			rc = sre_json_obj_begin_key(j, "key", 3);
			if (rc < 0)
				return -1;
			if (rc > 0) {
				if (walk(j, fast) < 0)
					return -1;
				rc = sre_json_obj_next_key(j, "value", 5);
				if (rc < 0 || (rc > 0 && walk(j, fast) < 0))
					return -1;
				if ((rc = sre_json_obj_end(j)) != 0)
					return rc < 0 ? -1 : 0;
				first = 0;
				goto members;
			}
		}
		if (sre_json_obj_begin(j) < 0)
			return -1;
members:
		for (;;) {
			if (fast) {
				rc = sre_json_obj_next_key(j, "stringValue", 11);
				if (rc < 0)
					return -1;
				if (rc > 0) {
					if (walk(j, fast) < 0)
						return -1;
					first = 0;
					continue;
				}
			}
			if ((rc = sre_json_obj_next(j, &s, NULL)) <= 0)
				break;
			if (first) {
				/* read the first member twice via mark/seek */
				first = 0;
				sre_json_mark(j, &m);
				if (sre_json_skip(j) < 0)
					return -1;
				after = j->pos;
				sre_json_seek(j, &m);
				if (walk(j, fast) < 0 || j->pos != after)
					abort();
				continue;
			}
			if (walk(j, fast) < 0)
				return -1;
		}
		return rc;
	case SRE_JSON_ARRAY:
		if (sre_json_arr_begin(j) < 0)
			return -1;
		while ((rc = sre_json_arr_next(j)) > 0)
			if (walk(j, fast) < 0)
				return -1;
		return rc;
	case SRE_JSON_STRING:
		if ((f = sre_json_string(j, &s)) < 0)
			return -1;
		check_string(s, f);
		return 0;
	case SRE_JSON_NUMBER:
		if (sre_json_number(j, &num) < 0)
			return -1;
		check_number(&num);
		sink += num.u;
		return 0;
	case SRE_JSON_TRUE:
	case SRE_JSON_FALSE:
		return sre_json_bool(j, &b);
	case SRE_JSON_NULL:
		return sre_json_null(j);
	default:
		return -1;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sre_json j;
	char *buf = malloc(size ? size : 1);
	int a, b, c, d;
	size_t off_a, off_b;
	uint64_t u;
	int64_t i;
	double x;

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);

	sre_json_init(&j, buf, size, 0);
	a = sre_json_skip(&j) == 0 && sre_json_end(&j) == 0;
	sre_json_error(&j, &off_a);

	sre_json_init(&j, buf, size, 0);
	b = walk(&j, 0) == 0 && sre_json_end(&j) == 0;
	sre_json_error(&j, &off_b);

	sre_json_init(&j, buf, size, 0);
	c = walk(&j, 1) == 0 && sre_json_end(&j) == 0;

	/* strict UTF-8 accepts less, never more */
	sre_json_init(&j, buf, size, SRE_JSON_STRICT_UTF8);
	d = sre_json_skip(&j) == 0 && sre_json_end(&j) == 0;

	if (a != b || a != c || (d && !a))
		abort();
	if (!a && (off_a > size || off_b > size))
		abort();

	/* leave from inside the top-level container */
	sre_json_init(&j, buf, size, 0);
	if (sre_json_peek(&j) == SRE_JSON_OBJECT && sre_json_obj_begin(&j) == 0) {
		struct sre_json_str k;

		if (sre_json_obj_next(&j, &k, NULL) > 0)
			(void)sre_json_leave(&j);
		if (a && (j.err != NULL || sre_json_end(&j) < 0))
			abort();
	} else if (sre_json_peek(&j) == SRE_JSON_ARRAY &&
	    sre_json_arr_begin(&j) == 0) {
		if (sre_json_arr_next(&j) > 0)
			(void)sre_json_leave(&j);
		if (a && (j.err != NULL || sre_json_end(&j) < 0))
			abort();
	}

	/* checked conversions never read past n */
	(void)sre_json_parse_u64(buf, size, &u);
	(void)sre_json_parse_i64(buf, size, &i);
	(void)sre_json_parse_double(buf, size, &x);
	free(buf);
	return 0;
}
