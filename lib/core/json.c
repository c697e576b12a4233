/*
 * json.c: the JSON pull parser of json.h.
 *
 * Speed comes from three things: the caller skips what it does not need
 * with a non-recursive validating skipper (skip_until), strings are scanned
 * 16 bytes at a time for the only bytes that matter (quote, backslash,
 * control characters, and bytes >= 0x80 when UTF-8 must be checked), and
 * numbers are converted without strtod in the common cases (exact integers,
 * and Clinger's fast path for short decimals).
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "json.h"

/* Significant digits kept for strtod; more cannot change the rounding. */
#define NUM_DIGITS_MAX	800

int
sre_json__fail(struct sre_json *j, const char *msg, size_t off)
{
	if (j->err == NULL) {
		j->err = msg;
		j->err_off = off;
	}
	return -1;
}

static int
fail(struct sre_json *j, const char *msg)
{
	return sre_json__fail(j, msg, j->pos);
}

#define ws	sre_json__ws
#define is_obj	sre_json__is_obj
#define push	sre_json__push

/*
 * Length of the valid UTF-8 sequence starting at s (s[0] >= 0x80), n bytes
 * available; 0 if invalid (bad lead, bad continuation, overlong, surrogate,
 * above U+10FFFF, truncated).
 */
static inline size_t
utf8_seq(const unsigned char *s, size_t n)
{
	unsigned c = s[0];

	if (c >= 0xc2 && c <= 0xdf) {
		if (n >= 2 && (s[1] & 0xc0) == 0x80)
			return 2;
		return 0;
	}
	if (c >= 0xe0 && c <= 0xef) {
		unsigned lo = 0x80, hi = 0xbf;

		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
		if (n >= 3 && s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80)
			return 3;
		return 0;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		unsigned lo = 0x80, hi = 0xbf;

		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
		if (n >= 4 && s[1] >= lo && s[1] <= hi &&
		    (s[2] & 0xc0) == 0x80 && (s[3] & 0xc0) == 0x80)
			return 4;
		return 0;
	}
	return 0;
}

static inline int
hexval(unsigned c)
{
	if (c >= '0' && c <= '9')
		return (int)(c - '0');
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return (int)(c - 'a' + 10);
	return -1;
}

static inline int
hex4(const unsigned char *s, unsigned *cp)
{
	int a = hexval(s[0]), b = hexval(s[1]), c = hexval(s[2]),
	    d = hexval(s[3]);

	if ((a | b | c | d) < 0)
		return 0;
	*cp = (unsigned)(a << 12 | b << 8 | c << 4 | d);
	return 1;
}

/*
 * Compute the masks of the 64-byte block at offset base (a multiple of
 * 64): bit k is set if byte base + k is special.  Past the end of the
 * input the block is padded with spaces, which are not special.
 */
static void
load_block(struct sre_json *j, size_t base)
{
	const unsigned char *b = (const unsigned char *)j->buf + base;
	unsigned char pad[64];
	uint64_t special = 0, high = 0;
	int k;

	if (j->len - base < 64) {
		memset(pad, ' ', sizeof(pad));
		memcpy(pad, b, j->len - base);
		b = pad;
	}
#if defined(__SSE2__)
	{
		const __m128i q = _mm_set1_epi8('"');
		const __m128i bs = _mm_set1_epi8('\\');
		const __m128i c1f = _mm_set1_epi8(0x1f);

		for (k = 0; k < 64; k += 16) {
			__m128i v = _mm_loadu_si128(
			    (const __m128i *)(const void *)(b + k));
			__m128i m = _mm_or_si128(_mm_or_si128(
			    _mm_cmpeq_epi8(v, q), _mm_cmpeq_epi8(v, bs)),
			    _mm_cmpeq_epi8(_mm_min_epu8(v, c1f), v));

			special |= (uint64_t)(unsigned)_mm_movemask_epi8(m) << k;
			high |= (uint64_t)(unsigned)_mm_movemask_epi8(v) << k;
		}
	}
#else
	for (k = 0; k < 64; k++) {
		if (b[k] == '"' || b[k] == '\\' || b[k] < 0x20)
			special |= (uint64_t)1 << k;
		if (b[k] >= 0x80)
			high |= (uint64_t)1 << k;
	}
#endif
	j->blk = base;
	j->blk_special = special;
	j->blk_high = high;
}

/*
 * Scan the string whose opening quote is at j->pos.  utf8: check UTF-8
 * (needed to report flags; the skipper only does it in strict mode).
 * Returns the SRE_JSON_STR_* flags, or -1.  The block masks make the
 * search for the next special byte a shift and a count of trailing zeros,
 * shared by all the short strings of a block.
 */
static inline __attribute__((always_inline)) int
scan_string(struct sre_json *j, struct sre_json_str *s, int utf8)
{
	const unsigned char *b = (const unsigned char *)j->buf;
	size_t n = j->len, start = j->pos + 1, i = start;
	int flags = 0;

	for (;;) {
		size_t base = i & ~(size_t)63;
		uint64_t m;
		unsigned c;

		if (i >= n)
			return sre_json__fail(j, "unterminated string", start - 1);
		if (base != j->blk)
			load_block(j, base);
		m = j->blk_special;
		if (utf8)
			m |= j->blk_high;
		m >>= i - base;
		if (m == 0) {
			i = base + 64;
			continue;
		}
		i += (size_t)__builtin_ctzll(m);
		if (i >= n)
			return sre_json__fail(j, "unterminated string", start - 1);
		c = b[i];
		if (c == '"') {
			if (s != NULL) {
				s->p = j->buf + start;
				s->n = i - start;
			}
			j->pos = i + 1;
			return flags;
		}
		if (c == '\\') {
			unsigned cp;

			flags |= SRE_JSON_STR_ESC;
			if (i + 1 >= n)
				return sre_json__fail(j, "unterminated string",
				    start - 1);
			switch (b[i + 1]) {
			case '"': case '\\': case '/': case 'b': case 'f':
			case 'n': case 'r': case 't':
				i += 2;
				break;
			case 'u':
				if (i + 6 > n)
					return sre_json__fail(j,
					    "unterminated string", start - 1);
				if (!hex4(b + i + 2, &cp))
					return sre_json__fail(j, "invalid \\u escape",
					    i);
				i += 6;
				break;
			default:
				return sre_json__fail(j, "invalid escape in string", i);
			}
			continue;
		}
		if (c < 0x20) {
			/* a line cut inside a string: say so */
			if (c == '\n' || c == '\r') {
				size_t k = i;

				while (k < n && (b[k] == '\n' || b[k] == '\r' ||
				    b[k] == ' ' || b[k] == '\t'))
					k++;
				if (k == n)
					return sre_json__fail(j, "unterminated string",
					    start - 1);
			}
			return sre_json__fail(j, "control character in string", i);
		}
		/* c >= 0x80 */
		flags |= SRE_JSON_STR_NONASCII;
		{
			size_t k = utf8_seq(b + i, n - i);

			if (k == 0) {
				if (j->flags & SRE_JSON_STRICT_UTF8)
					return sre_json__fail(j,
					    "invalid UTF-8 in string", i);
				flags |= SRE_JSON_STR_BADUTF8;
				k = 1;
			}
			i += k;
		}
	}
}

int
sre_json__scan_string(struct sre_json *j, struct sre_json_str *s)
{
	return scan_string(j, s, 1);
}

struct numtext {
	size_t end;		/* one past the last byte */
	int neg;
	int is_int;
};

/* Check the grammar of the number at b[i..n).  0 or -1 (sets *bad). */
static int
scan_number_syntax(const unsigned char *b, size_t n, size_t i,
    struct numtext *t, size_t *bad)
{
	t->neg = 0;
	t->is_int = 1;
	if (i < n && b[i] == '-') {
		t->neg = 1;
		i++;
	}
	if (i >= n || b[i] < '0' || b[i] > '9') {
		*bad = i;
		return -1;
	}
	if (b[i] == '0')
		i++;
	else
		while (i < n && b[i] >= '0' && b[i] <= '9')
			i++;
	if (i < n && b[i] == '.') {
		t->is_int = 0;
		i++;
		if (i >= n || b[i] < '0' || b[i] > '9') {
			*bad = i;
			return -1;
		}
		while (i < n && b[i] >= '0' && b[i] <= '9')
			i++;
	}
	if (i < n && (b[i] == 'e' || b[i] == 'E')) {
		t->is_int = 0;
		i++;
		if (i < n && (b[i] == '+' || b[i] == '-'))
			i++;
		if (i >= n || b[i] < '0' || b[i] > '9') {
			*bad = i;
			return -1;
		}
		while (i < n && b[i] >= '0' && b[i] <= '9')
			i++;
	}
	/* "01", "1x", "1.5.2": say so here rather than "expected ','". */
	if (i < n && ((b[i] >= '0' && b[i] <= '9') || b[i] == '.' ||
	    b[i] == 'e' || b[i] == 'E' || b[i] == '+' || b[i] == '-' ||
	    ((b[i] | 0x20) >= 'a' && (b[i] | 0x20) <= 'z'))) {
		*bad = i;
		return -1;
	}
	t->end = i;
	return 0;
}

static const double pow10_exact[] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
};

/*
 * Decimal text b[start..t->end) (valid grammar) to double: exact fast path
 * when the significand fits 53 bits and the power of ten is exact, else
 * strtod on "DIGITSeEXP" (no decimal point, so the locale cannot matter),
 * with the significand cut to NUM_DIGITS_MAX digits plus a sticky digit.
 */
static double
to_double(const unsigned char *b, size_t start, const struct numtext *t)
{
	char buf[NUM_DIGITS_MAX + 40];
	size_t i = start + (size_t)t->neg, nd = 0;
	uint64_t m = 0;
	int64_t x = 0;		/* value = D * 10^x */
	int frac = 0, sticky = 0, fast = 1;
	double d;

	for (; i < t->end; i++) {
		unsigned c = b[i];

		if (c == '.') {
			frac = 1;
			continue;
		}
		if (c == 'e' || c == 'E')
			break;
		if (nd == 0 && c == '0') {
			if (frac)
				x--;
			continue;
		}
		if (nd < NUM_DIGITS_MAX) {
			if (nd < 19)
				m = m * 10 + (c - '0');
			else
				fast = 0;
			buf[nd++] = (char)c;
			if (frac)
				x--;
		} else {
			if (c != '0')
				sticky = 1;
			if (!frac)
				x++;
		}
	}
	if (i < t->end) {
		/* exponent, saturated: beyond 10^9 the result is 0 or inf */
		int eneg = 0;
		int64_t e = 0;

		i++;
		if (b[i] == '+' || b[i] == '-')
			eneg = b[i++] == '-';
		for (; i < t->end; i++)
			if (e < 1000000000)
				e = e * 10 + (b[i] - '0');
		x += eneg ? -e : e;
	}
	if (nd == 0)
		return t->neg ? -0.0 : 0.0;
	if (fast && !sticky && m <= ((uint64_t)1 << 53) && x >= -22 &&
	    x <= 22) {
		d = (double)m;
		d = x < 0 ? d / pow10_exact[-x] : d * pow10_exact[x];
		return t->neg ? -d : d;
	}
	if (sticky) {
		buf[nd++] = '1';
		x--;
	}
	if (x > 2000000000)
		x = 2000000000;
	if (x < -2000000000)
		x = -2000000000;
	{
		int saved = errno;
		int k = snprintf(buf + nd, sizeof(buf) - nd, "e%lld",
		    (long long)x);

		if (k < 0 || (size_t)k >= sizeof(buf) - nd)
			return 0.0;	/* cannot happen: 12 bytes at most */
		d = strtod(buf, NULL);
		errno = saved;
	}
	return t->neg ? -d : d;
}

/* Convert the number at b[start..) into *num. */
static int
convert_number(const unsigned char *b, size_t n, size_t start,
    struct sre_json_num *num, size_t *end, size_t *bad)
{
	struct numtext t;

	if (scan_number_syntax(b, n, start, &t, bad) < 0)
		return -1;
	*end = t.end;
	num->flags = 0;
	num->i = 0;
	num->u = 0;
	if (t.is_int) {
		size_t i = start + (size_t)t.neg;
		uint64_t mag = 0;
		int over = 0;

		for (; i < t.end; i++) {
			unsigned dg = b[i] - '0';

			if (mag > (UINT64_MAX - dg) / 10) {
				over = 1;
				break;
			}
			mag = mag * 10 + dg;
		}
		if (!over) {
			num->flags = SRE_JSON_NUM_INT;
			if (!t.neg) {
				num->u = mag;
				num->flags |= SRE_JSON_NUM_U64;
				if (mag <= (uint64_t)INT64_MAX) {
					num->i = (int64_t)mag;
					num->flags |= SRE_JSON_NUM_I64;
				}
				num->d = (double)mag;
			} else {
				if (mag <= (uint64_t)INT64_MAX) {
					num->i = -(int64_t)mag;
					num->flags |= SRE_JSON_NUM_I64;
				} else if (mag == (uint64_t)INT64_MAX + 1) {
					num->i = INT64_MIN;
					num->flags |= SRE_JSON_NUM_I64;
				}
				if (mag == 0)
					num->flags |= SRE_JSON_NUM_U64;
				num->d = -(double)mag;
			}
			return 0;
		}
		num->flags = SRE_JSON_NUM_INT;
	}
	num->d = to_double(b, start, &t);
	return 0;
}

void
sre_json_init(struct sre_json *j, const char *buf, size_t len, unsigned flags)
{
	j->buf = buf;
	j->len = len;
	j->pos = 0;
	j->depth = 0;
	j->max_depth = SRE_JSON_DEPTH_DEFAULT;
	j->first = 0;
	j->flags = flags;
	j->err = NULL;
	j->err_off = 0;
	j->blk = (size_t)-1;
	/* j->stack is written before it is read (push), no need to clear */
}

void
sre_json_set_max_depth(struct sre_json *j, int max_depth)
{
	if (max_depth < 1)
		max_depth = 1;
	if (max_depth > SRE_JSON_DEPTH_MAX)
		max_depth = SRE_JSON_DEPTH_MAX;
	j->max_depth = max_depth;
}

/* The type of value a byte starts; SRE_JSON_NONE for the others. */
const unsigned char sre_json__start_type[256] = {
	['{'] = SRE_JSON_OBJECT, ['['] = SRE_JSON_ARRAY,
	['"'] = SRE_JSON_STRING, ['-'] = SRE_JSON_NUMBER,
	['0'] = SRE_JSON_NUMBER, ['1'] = SRE_JSON_NUMBER,
	['2'] = SRE_JSON_NUMBER, ['3'] = SRE_JSON_NUMBER,
	['4'] = SRE_JSON_NUMBER, ['5'] = SRE_JSON_NUMBER,
	['6'] = SRE_JSON_NUMBER, ['7'] = SRE_JSON_NUMBER,
	['8'] = SRE_JSON_NUMBER, ['9'] = SRE_JSON_NUMBER,
	['t'] = SRE_JSON_TRUE, ['f'] = SRE_JSON_FALSE, ['n'] = SRE_JSON_NULL
};

int
sre_json_number(struct sre_json *j, struct sre_json_num *num)
{
	size_t end, bad;
	int c;

	if (j->err != NULL)
		return -1;
	c = ws(j);
	if (c != '-' && (c < '0' || c > '9'))
		return fail(j, c < 0 ? "unexpected end of input" :
		    "expected a number");
	if (convert_number((const unsigned char *)j->buf, j->len, j->pos, num,
	    &end, &bad) < 0)
		return sre_json__fail(j, bad >= j->len ? "unexpected end of input" :
		    "invalid number", bad);
	j->pos = end;
	return 0;
}

static int
literal(struct sre_json *j, const char *lit, size_t n)
{
	if (j->len - j->pos < n) {
		if (memcmp(j->buf + j->pos, lit, j->len - j->pos) == 0)
			return sre_json__fail(j, "unexpected end of input", j->len);
		return fail(j, "invalid literal");
	}
	if (memcmp(j->buf + j->pos, lit, n) != 0)
		return fail(j, "invalid literal");
	j->pos += n;
	return 0;
}

int
sre_json_bool(struct sre_json *j, int *b)
{
	int c;

	if (j->err != NULL)
		return -1;
	c = ws(j);
	if (c == 't') {
		*b = 1;
		return literal(j, "true", 4);
	}
	if (c == 'f') {
		*b = 0;
		return literal(j, "false", 5);
	}
	return fail(j, c < 0 ? "unexpected end of input" : "expected a boolean");
}

int
sre_json_null(struct sre_json *j)
{
	int c;

	if (j->err != NULL)
		return -1;
	c = ws(j);
	if (c != 'n')
		return fail(j, c < 0 ? "unexpected end of input" :
		    "expected null");
	return literal(j, "null", 4);
}

enum { ST_VALUE, ST_FIRST, ST_AFTER };

/*
 * The skipper: a validating state machine that runs until the nesting
 * depth is back to base after a complete value.  It keeps its container
 * stack in j->stack, so it needs no recursion.
 */
static int
skip_until(struct sre_json *j, int base, int st)
{
	const unsigned char *b = (const unsigned char *)j->buf;
	int utf8 = (j->flags & SRE_JSON_STRICT_UTF8) != 0;
	struct numtext t;
	size_t bad;
	int c;

	if (st == ST_FIRST)
		goto first;
	if (st == ST_AFTER)
		goto after;
value:
	c = ws(j);
	switch (c) {
	case '{':
		if (push(j, 1) < 0)
			return -1;
		goto first;
	case '[':
		if (push(j, 0) < 0)
			return -1;
		goto first;
	case '"':
		if ((utf8 ? scan_string(j, NULL, 1) : scan_string(j, NULL, 0)) < 0)
			return -1;
		goto after;
	case '-': case '0': case '1': case '2': case '3': case '4':
	case '5': case '6': case '7': case '8': case '9':
		if (scan_number_syntax(b, j->len, j->pos, &t, &bad) < 0)
			return sre_json__fail(j, bad >= j->len ?
			    "unexpected end of input" : "invalid number", bad);
		j->pos = t.end;
		goto after;
	case 't':
		if (literal(j, "true", 4) < 0)
			return -1;
		goto after;
	case 'f':
		if (literal(j, "false", 5) < 0)
			return -1;
		goto after;
	case 'n':
		if (literal(j, "null", 4) < 0)
			return -1;
		goto after;
	case -1:
		return fail(j, "unexpected end of input");
	default:
		return fail(j, "unexpected character");
	}
first:
	c = ws(j);
	if (is_obj(j)) {
		if (c == '}') {
			j->pos++;
			j->depth--;
			goto after;
		}
		goto key;
	}
	if (c == ']') {
		j->pos++;
		j->depth--;
		goto after;
	}
	goto value;
key:
	c = ws(j);
	if (c != '"')
		return fail(j, c < 0 ? "unexpected end of input" :
		    "expected a string key");
	if ((utf8 ? scan_string(j, NULL, 1) : scan_string(j, NULL, 0)) < 0)
		return -1;
	c = ws(j);
	if (c != ':')
		return fail(j, c < 0 ? "unexpected end of input" :
		    "expected ':' after a key");
	j->pos++;
	goto value;
after:
	if (j->depth <= base) {
		j->first = 0;
		return 0;
	}
	c = ws(j);
	if (c == ',') {
		j->pos++;
		if (is_obj(j))
			goto key;
		goto value;
	}
	if (is_obj(j)) {
		if (c == '}') {
			j->pos++;
			j->depth--;
			goto after;
		}
		return fail(j, c < 0 ? "unexpected end of input" :
		    "expected ',' or '}'");
	}
	if (c == ']') {
		j->pos++;
		j->depth--;
		goto after;
	}
	return fail(j, c < 0 ? "unexpected end of input" :
	    "expected ',' or ']'");
}

int
sre_json_skip(struct sre_json *j)
{
	if (j->err != NULL)
		return -1;
	return skip_until(j, j->depth, ST_VALUE);
}

int
sre_json_leave(struct sre_json *j)
{
	size_t k;

	if (j->err != NULL)
		return -1;
	if (j->depth == 0)
		return fail(j, "not in an object or array");
	if (j->first)
		return skip_until(j, j->depth - 1, ST_FIRST);
	/*
	 * A value is pending if the last byte consumed was ':' (a key was
	 * returned), ',' or '[' (an element was announced).
	 */
	k = j->pos;
	while (k > 0) {
		unsigned c = (unsigned char)j->buf[k - 1];

		if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
			k--;
			continue;
		}
		if (c == ':' || c == ',' || c == '[')
			return skip_until(j, j->depth - 1, ST_VALUE);
		break;
	}
	return skip_until(j, j->depth - 1, ST_AFTER);
}

int
sre_json_end(struct sre_json *j)
{
	if (j->err != NULL)
		return -1;
	if (j->depth != 0)
		return fail(j, "value not complete");
	if (ws(j) != -1)
		return fail(j, "trailing characters after the value");
	return 0;
}

enum sre_json_type
sre_json_check(const char *p, size_t len, char *err, size_t errlen)
{
	struct sre_json j;
	enum sre_json_type t;
	const char *msg;
	size_t off;

	sre_json_init(&j, p, len, 0);
	sre_json_set_max_depth(&j, SRE_JSON_DEPTH_MAX);
	t = sre_json_peek(&j);
	if (t != SRE_JSON_NONE && sre_json_skip(&j) == 0 &&
	    sre_json_end(&j) == 0)
		return t;
	if ((msg = sre_json_error(&j, &off)) == NULL) {
		msg = "empty";
		off = 0;
	}
	snprintf(err, errlen, "%s%s at byte %zu", off >= len && len > 0 ?
	    "truncated: " : "", msg, off);
	return SRE_JSON_NONE;
}

const char *
sre_json_error(const struct sre_json *j, size_t *off)
{
	if (off != NULL)
		*off = j->err != NULL ? j->err_off : 0;
	return j->err;
}

static size_t
put_utf8(char *o, unsigned cp)
{
	unsigned char *u = (unsigned char *)o;

	if (cp < 0x80) {
		u[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		u[0] = (unsigned char)(0xc0 | cp >> 6);
		u[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		u[0] = (unsigned char)(0xe0 | cp >> 12);
		u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	u[0] = (unsigned char)(0xf0 | cp >> 18);
	u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
	u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
	u[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

size_t
sre_json_unescape(const char *p, size_t n, char *out, unsigned flags)
{
	const unsigned char *s = (const unsigned char *)p;
	size_t i = 0, o = 0;

	while (i < n) {
		unsigned c = s[i];

		if (c == '\\' && i + 1 < n) {
			unsigned cp, lo;
			char e = 0;

			switch (s[i + 1]) {
			case '"': e = '"'; break;
			case '\\': e = '\\'; break;
			case '/': e = '/'; break;
			case 'b': e = '\b'; break;
			case 'f': e = '\f'; break;
			case 'n': e = '\n'; break;
			case 'r': e = '\r'; break;
			case 't': e = '\t'; break;
			case 'u':
				if (i + 6 > n || !hex4(s + i + 2, &cp))
					break;
				i += 6;
				if (cp >= 0xd800 && cp <= 0xdbff) {
					if (i + 6 <= n && s[i] == '\\' &&
					    s[i + 1] == 'u' &&
					    hex4(s + i + 2, &lo) &&
					    lo >= 0xdc00 && lo <= 0xdfff) {
						cp = 0x10000 +
						    ((cp - 0xd800) << 10) +
						    (lo - 0xdc00);
						i += 6;
					} else
						cp = 0xfffd;
				} else if (cp >= 0xdc00 && cp <= 0xdfff)
					cp = 0xfffd;
				o += put_utf8(out + o, cp);
				continue;
			default:
				break;
			}
			if (e != 0) {
				out[o++] = e;
				i += 2;
				continue;
			}
			/* malformed escape: copy the backslash as it is */
		} else if (c >= 0x80 && (flags & SRE_JSON_UNESC_REPLACE)) {
			size_t k = utf8_seq(s + i, n - i);

			if (k == 0) {
				o += put_utf8(out + o, 0xfffd);
				i++;
				continue;
			}
			memcpy(out + o, s + i, k);
			o += k;
			i += k;
			continue;
		}
		out[o++] = (char)c;
		i++;
	}
	return o;
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
/* Eight ASCII digits at p to their value; -1 if one is not a digit. */
static inline int
digits8(const char *p, uint64_t *v)
{
	uint64_t x;

	memcpy(&x, p, 8);
	if ((((x & 0xf0f0f0f0f0f0f0f0ULL) |
	    (((x + 0x0606060606060606ULL) & 0xf0f0f0f0f0f0f0f0ULL) >> 4)) !=
	    0x3333333333333333ULL))
		return -1;
	x -= 0x3030303030303030ULL;
	x = x * 10 + (x >> 8);
	x = (((x & 0x000000ff000000ffULL) * (100 + (1000000ULL << 32))) +
	    (((x >> 16) & 0x000000ff000000ffULL) * (1 + (10000ULL << 32)))) >>
	    32;
	*v = x;
	return 0;
}
#endif

int
sre_json_parse_u64(const char *p, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;

	if (n == 0)
		return -1;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	/* up to 16 digits cannot overflow: eight at a time */
	for (; i + 8 <= n && i + 8 <= 16; i += 8) {
		uint64_t d8;

		if (digits8(p + i, &d8) < 0)
			return -1;
		v = v * 100000000 + d8;
	}
#endif
	for (; i < n; i++) {
		unsigned d = (unsigned char)p[i] - '0';

		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int
sre_json_parse_i64(const char *p, size_t n, int64_t *out)
{
	uint64_t v;

	if (n > 0 && p[0] == '-') {
		if (sre_json_parse_u64(p + 1, n - 1, &v) < 0 ||
		    v > (uint64_t)INT64_MAX + 1)
			return -1;
		*out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
		return 0;
	}
	if (sre_json_parse_u64(p, n, &v) < 0 || v > (uint64_t)INT64_MAX)
		return -1;
	*out = (int64_t)v;
	return 0;
}

int
sre_json_parse_double(const char *p, size_t n, double *out)
{
	struct sre_json_num num;
	size_t end, bad;

	if (n == 3 && memcmp(p, "NaN", 3) == 0) {
		*out = NAN;
		return 0;
	}
	if (n == 8 && memcmp(p, "Infinity", 8) == 0) {
		*out = INFINITY;
		return 0;
	}
	if (n == 9 && memcmp(p, "-Infinity", 9) == 0) {
		*out = -INFINITY;
		return 0;
	}
	if (n == 0 || convert_number((const unsigned char *)p, n, 0, &num,
	    &end, &bad) < 0 || end != n)
		return -1;
	*out = num.d;
	return 0;
}

int
sre_json_utf8_valid(const char *p, size_t n)
{
	const unsigned char *s = (const unsigned char *)p;
	size_t i = 0;

	while (i < n) {
		size_t k;

		if (s[i] < 0x80) {
			i++;
			continue;
		}
		k = utf8_seq(s + i, n - i);
		if (k == 0)
			return 0;
		i += k;
	}
	return 1;
}
