/* retime.c: a JSON grammar check that rewrites known timestamps. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "retime.h"

struct scan {
	const char *s;
	size_t len, pos;
	int64_t delta_ns;
	int64_t first_ns;	/* earliest point-in-time member */
	int64_t first_start_ns;	/* earliest startTimeUnixNano */
	struct sre_sbuf *out;
	size_t copied;		/* bytes of s already copied to out */
	char *err;
	size_t errlen;
	int oom;
};

static const struct {
	const char *key;
	int64_t unit;		/* nanoseconds per unit */
} known[] = {
	/* Negative units are shifted but do not date the record: a window
	 * start or a span's end says nothing about when the record began.
	 * startTimeUnixNano dates a record only when nothing else does: on a
	 * cumulative metric point it is the counter's start, not the
	 * point's time. */
	{ "startTimeUnixNano", 1 }, { "endTimeUnixNano", -1 },
	{ "timeUnixNano", 1 }, { "observedTimeUnixNano", 1 },
	{ "__REALTIME_TIMESTAMP", 1000 },
	{ "_SOURCE_REALTIME_TIMESTAMP", 1000 }, { "ts_ms", 1000000 },
	{ "window_start_ms", -1000000 }, { "window_end_ms", -1000000 },
};

static int
fail(struct scan *sc, const char *what)
{
	if (sc->pos >= sc->len)
		snprintf(sc->err, sc->errlen, "truncated JSON: %s at end of "
		    "line (byte %zu)", what, sc->pos);
	else
		snprintf(sc->err, sc->errlen, "bad JSON at byte %zu: %s",
		    sc->pos, what);
	return -1;
}

static void
skip_ws(struct scan *sc)
{
	while (sc->pos < sc->len && (sc->s[sc->pos] == ' ' ||
	    sc->s[sc->pos] == '\t' || sc->s[sc->pos] == '\n' ||
	    sc->s[sc->pos] == '\r'))
		sc->pos++;
}

static int
put(struct scan *sc, const char *p, size_t n)
{
	sre_sbuf_add(sc->out, p, n);
	if (sc->out->oom)
		sc->oom = 1;
	return sc->oom ? -1 : 0;
}

/* A string starting at pos (on the quote); sets [*a, *b) to its body. */
static int
scan_string(struct scan *sc, size_t *a, size_t *b)
{
	static const char hex[] = "0123456789abcdefABCDEF";
	unsigned char c;
	int i;

	sc->pos++;
	*a = sc->pos;
	while (sc->pos < sc->len) {
		c = (unsigned char)sc->s[sc->pos];
		if (c == '"') {
			*b = sc->pos++;
			return 0;
		}
		if (c < 0x20)
			return fail(sc, "control character in string");
		if (c == '\\') {
			if (++sc->pos >= sc->len)
				break;
			c = (unsigned char)sc->s[sc->pos];
			if (c == 'u') {
				for (i = 0; i < 4; i++)
					if (++sc->pos >= sc->len ||
					    strchr(hex, sc->s[sc->pos]) == NULL ||
					    sc->s[sc->pos] == '\0')
						return fail(sc, "bad \\u escape");
			} else if (strchr("\"\\/bfnrt", c) == NULL || c == 0)
				return fail(sc, "bad escape in string");
		}
		sc->pos++;
	}
	return fail(sc, "unterminated string");
}

static int
scan_number(struct scan *sc)
{
	size_t start = sc->pos;

	if (sc->pos < sc->len && sc->s[sc->pos] == '-')
		sc->pos++;
	if (sc->pos < sc->len && sc->s[sc->pos] == '0')
		sc->pos++;
	else if (sc->pos < sc->len && sc->s[sc->pos] >= '1' &&
	    sc->s[sc->pos] <= '9')
		while (sc->pos < sc->len && sc->s[sc->pos] >= '0' &&
		    sc->s[sc->pos] <= '9')
			sc->pos++;
	else {
		sc->pos = start;
		return fail(sc, "unexpected character");
	}
	if (sc->pos < sc->len && sc->s[sc->pos] == '.') {
		sc->pos++;
		if (sc->pos >= sc->len || sc->s[sc->pos] < '0' ||
		    sc->s[sc->pos] > '9')
			return fail(sc, "bad number");
		while (sc->pos < sc->len && sc->s[sc->pos] >= '0' &&
		    sc->s[sc->pos] <= '9')
			sc->pos++;
	}
	if (sc->pos < sc->len && (sc->s[sc->pos] == 'e' ||
	    sc->s[sc->pos] == 'E')) {
		sc->pos++;
		if (sc->pos < sc->len && (sc->s[sc->pos] == '+' ||
		    sc->s[sc->pos] == '-'))
			sc->pos++;
		if (sc->pos >= sc->len || sc->s[sc->pos] < '0' ||
		    sc->s[sc->pos] > '9')
			return fail(sc, "bad number");
		while (sc->pos < sc->len && sc->s[sc->pos] >= '0' &&
		    sc->s[sc->pos] <= '9')
			sc->pos++;
	}
	return 0;
}

/* Parse [a, b) as a non-negative decimal integer; -1 if it is not one. */
static int
digits(const char *p, size_t n, int64_t *v)
{
	int64_t x = 0;
	size_t i;

	if (n == 0 || n > 19)
		return -1;
	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		if (x > (INT64_MAX - (p[i] - '0')) / 10)
			return -1;
		x = x * 10 + (p[i] - '0');
	}
	*v = x;
	return 0;
}

/* A known time value spans [a, b) of digits: note it, rewrite it.
 * is_start: it is a startTimeUnixNano. */
static int
time_value(struct scan *sc, size_t a, size_t b, int64_t unit, int is_start)
{
	int64_t v, ns, shifted;
	int dates = unit > 0;
	char num[32];
	int n;

	if (!dates)
		unit = -unit;
	/* Not an integer, or 0 (OTLP's "unknown"): left alone. */
	if (digits(sc->s + a, b - a, &v) < 0 || v == 0)
		return 0;
	if (v > INT64_MAX / unit)
		return 0;
	ns = v * unit;
	if (dates && is_start) {
		if (sc->first_start_ns == SRE_RETIME_NONE ||
		    ns < sc->first_start_ns)
			sc->first_start_ns = ns;
	} else if (dates && (sc->first_ns == SRE_RETIME_NONE ||
	    ns < sc->first_ns))
		sc->first_ns = ns;
	if (sc->out == NULL || sc->delta_ns == 0)
		return 0;
	/* Shift in the member's unit; an overflow leaves the value alone. */
	if (__builtin_add_overflow(v, sc->delta_ns / unit, &shifted) ||
	    shifted < 0)
		return 0;
	n = snprintf(num, sizeof(num), "%lld", (long long)shifted);
	if (put(sc, sc->s + sc->copied, a - sc->copied) < 0 ||
	    put(sc, num, (size_t)n) < 0)
		return -1;
	sc->copied = b;
	return 0;
}

static int64_t
known_unit(const char *k, size_t n, int *is_start)
{
	size_t i;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strlen(known[i].key) == n && memcmp(known[i].key, k, n) ==
		    0) {
			*is_start = i == 0;
			return known[i].unit;
		}
	return 0;
}

/*
 * The grammar as a loop over an explicit stack, so deep nesting costs no C
 * stack.  stack[d] is '{' or '['.
 */
static int
scan_object(struct scan *sc)
{
	char stack[SRE_RETIME_MAX_DEPTH];
	int depth = 0;
	int64_t unit = 0;	/* set when the value is a known time */
	int is_start = 0;
	size_t a, b;
	char c;

	skip_ws(sc);
	if (sc->pos >= sc->len)
		return fail(sc, "empty line");
	if (sc->s[sc->pos] != '{')
		return fail(sc, "not a JSON object");
	goto value;
	for (;;) {
		/* After a value: a comma, or the end of the container. */
		skip_ws(sc);
		if (depth == 0)
			break;
		if (sc->pos >= sc->len)
			return fail(sc, "unclosed container");
		c = sc->s[sc->pos];
		if (c == ',') {
			sc->pos++;
			if (stack[depth - 1] == '[')
				goto value;
			goto key;
		}
		if ((c == '}' && stack[depth - 1] == '{') ||
		    (c == ']' && stack[depth - 1] == '[')) {
			sc->pos++;
			depth--;
			continue;
		}
		return fail(sc, "expected ',' or the end of the container");
key:
		skip_ws(sc);
		if (sc->pos >= sc->len || sc->s[sc->pos] != '"')
			return fail(sc, "expected a member name");
		if (scan_string(sc, &a, &b) < 0)
			return -1;
		unit = known_unit(sc->s + a, b - a, &is_start);
		skip_ws(sc);
		if (sc->pos >= sc->len || sc->s[sc->pos] != ':')
			return fail(sc, "expected ':'");
		sc->pos++;
value:
		skip_ws(sc);
		if (sc->pos >= sc->len)
			return fail(sc, "expected a value");
		c = sc->s[sc->pos];
		if (c == '{' || c == '[') {
			if (depth == SRE_RETIME_MAX_DEPTH)
				return fail(sc, "nested too deep");
			stack[depth++] = c;
			sc->pos++;
			unit = 0;
			skip_ws(sc);
			if (sc->pos < sc->len &&
			    sc->s[sc->pos] == (c == '{' ? '}' : ']')) {
				sc->pos++;
				depth--;
				continue;
			}
			if (c == '{')
				goto key;
			goto value;
		}
		if (c == '"') {
			if (scan_string(sc, &a, &b) < 0)
				return -1;
		} else if (c == 't' || c == 'f' || c == 'n') {
			const char *lit = c == 't' ? "true" : c == 'f' ?
			    "false" : "null";
			size_t n = strlen(lit);

			if (sc->len - sc->pos < n ||
			    memcmp(sc->s + sc->pos, lit, n) != 0)
				return fail(sc, "bad literal");
			sc->pos += n;
			unit = 0;
		} else {
			a = sc->pos;
			if (scan_number(sc) < 0)
				return -1;
			b = sc->pos;
		}
		if (unit != 0 && time_value(sc, a, b, unit, is_start) < 0)
			return -1;
		unit = 0;
	}
	if (sc->pos != sc->len)
		return fail(sc, "extra data after the object");
	return 0;
}

int
sre_retime(const char *line, size_t len, int64_t delta_ns,
    struct sre_sbuf *out, int64_t *first_ns, char *err, size_t errlen)
{
	struct scan sc = {
		.s = line, .len = len, .delta_ns = delta_ns,
		.first_ns = SRE_RETIME_NONE, .first_start_ns = SRE_RETIME_NONE,
		.out = out, .err = err,
		.errlen = errlen
	};

	if (out != NULL) {
		if (out->oom)
			sre_sbuf_free(out);	/* start over after a failure */
		out->n = 0;
	}
	if (scan_object(&sc) < 0) {
		if (sc.oom)
			snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (out != NULL && put(&sc, line + sc.copied, len - sc.copied) < 0)
		sc.oom = 1;
	if (sc.oom) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	*first_ns = sc.first_ns != SRE_RETIME_NONE ? sc.first_ns :
	    sc.first_start_ns;
	return 0;
}
