/*
 * json.h: a fast, allocation-free JSON pull parser over one byte buffer
 * (one NDJSON line), for the telemetry hot path where jv_parse is too slow.
 *
 * The caller drives the structure: it asks what comes next (sre_json_peek),
 * opens objects and arrays, walks their members, reads scalars, and skips
 * whatever it does not care about (sre_json_skip).  Everything is validated
 * as it is read: strings (escapes, control characters, UTF-8), numbers
 * (RFC 8259 grammar), nesting (depth cap), separators, truncation.  The
 * parser never reads outside [buf, buf + len), needs no NUL terminator and
 * never allocates.
 *
 * Errors are sticky: after the first error every call fails the same way,
 * so a caller may check once at the end.  sre_json_error() gives a static
 * message and the byte offset where the problem was found.
 *
 * Ownership: the parser borrows the buffer; it must stay unchanged while
 * the parser, or any slice taken from it, is in use.  Slices (struct
 * sre_json_str) point into the buffer, between the quotes, still escaped:
 * the flags returned with them say whether sre_json_unescape is needed.
 *
 * Typical use:
 *
 *	struct sre_json j;
 *	struct sre_json_str k, s;
 *
 *	sre_json_init(&j, line, len, 0);
 *	if (sre_json_obj_begin(&j) == 0)
 *		while (sre_json_obj_next(&j, &k, NULL) > 0)
 *			if (SRE_JSON_KEY_IS(k, "name") &&
 *			    sre_json_peek(&j) == SRE_JSON_STRING)
 *				sre_json_string(&j, &s);
 *			else
 *				sre_json_skip(&j);
 *	if (sre_json_end(&j) < 0)
 *		... sre_json_error(&j, &off) ...
 */
#ifndef SRE_JSON_H
#define SRE_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Hard cap on nesting; sre_json_init's default is SRE_JSON_DEPTH_DEFAULT. */
#define SRE_JSON_DEPTH_MAX	1024
#define SRE_JSON_DEPTH_DEFAULT	256

enum sre_json_type {
	SRE_JSON_NONE = 0,	/* error or end of input (see sre_json_error) */
	SRE_JSON_OBJECT,
	SRE_JSON_ARRAY,
	SRE_JSON_STRING,
	SRE_JSON_NUMBER,
	SRE_JSON_TRUE,
	SRE_JSON_FALSE,
	SRE_JSON_NULL
};

/* sre_json_init flags. */
#define SRE_JSON_STRICT_UTF8	0x1	/* invalid UTF-8 in a string is an error */

/* Flags returned by sre_json_string and sre_json_obj_next (key flags). */
#define SRE_JSON_STR_ESC	0x1	/* contains backslash escapes */
#define SRE_JSON_STR_NONASCII	0x2	/* contains bytes >= 0x80 */
#define SRE_JSON_STR_BADUTF8	0x4	/* contains invalid UTF-8 (tolerant mode) */

/* A slice of the input: n bytes at p, not NUL-terminated.  Borrowed. */
struct sre_json_str {
	const char *p;
	size_t n;
};

/* True if slice k equals the string literal lit (bytewise, no unescaping). */
#define SRE_JSON_KEY_IS(k, lit) \
	((k).n == sizeof(lit) - 1 && sre_json__same((k).p, (lit), \
	    sizeof(lit) - 1))

static inline int sre_json__same(const char *a, const char *b, size_t n);

/* Number flags. */
#define SRE_JSON_NUM_INT	0x1	/* no fraction, no exponent */
#define SRE_JSON_NUM_I64	0x2	/* .i holds the exact value */
#define SRE_JSON_NUM_U64	0x4	/* .u holds the exact value */

struct sre_json_num {
	double d;		/* always set: nearest double (may be +-inf) */
	int64_t i;		/* exact, if flags & SRE_JSON_NUM_I64 */
	uint64_t u;		/* exact, if flags & SRE_JSON_NUM_U64 */
	unsigned flags;
};

/* Parser state.  Public so it can live on the stack; use the functions. */
struct sre_json {
	const char *buf;
	size_t len;
	size_t pos;		/* next byte to read */
	int depth;		/* open containers */
	int max_depth;
	int first;		/* just after '{' or '[' */
	unsigned flags;
	const char *err;	/* static message, NULL if no error */
	size_t err_off;
	/* the 64-byte block at offset blk, as bit masks of special bytes */
	size_t blk;
	uint64_t blk_special;	/* '"', '\\', and bytes < 0x20 */
	uint64_t blk_high;	/* bytes >= 0x80 */
	uint64_t stack[SRE_JSON_DEPTH_MAX / 64];	/* 1 bit per level: object */
};

/* A saved position: see sre_json_mark. */
struct sre_json_mark {
	size_t pos;
	int depth;
	int first;
};

/*
 * Start parsing len bytes at buf (borrowed, not NUL-terminated).  flags:
 * 0 or SRE_JSON_STRICT_UTF8.  Never fails.
 */
void sre_json_init(struct sre_json *j, const char *buf, size_t len,
    unsigned flags);

/* Set the nesting cap (1..SRE_JSON_DEPTH_MAX; clamped).  Call after init. */
void sre_json_set_max_depth(struct sre_json *j, int max_depth);

/*
 * Skip whitespace and return the type of the next value without consuming
 * it.  SRE_JSON_NONE if the input ends, a byte cannot start a value, or an
 * error is pending (then sre_json_error says why).  Call it only where a
 * value is expected: at the top, after sre_json_obj_next returned 1, or
 * after sre_json_arr_next returned 1.
 */
static inline enum sre_json_type sre_json_peek(struct sre_json *j);

/* Consume '{' / '['.  0 on success, -1 on error (wrong type, too deep). */
static inline int sre_json_obj_begin(struct sre_json *j);
static inline int sre_json_arr_begin(struct sre_json *j);

/*
 * Advance to the next member of the current object.  Returns 1 and sets
 * *key (escaped slice; may be NULL if not wanted) with the ':' consumed, so
 * the member's value comes next and must be read or skipped; 0 when the
 * object ends ('}' consumed); -1 on error.  *key_flags (may be NULL) gets
 * the SRE_JSON_STR_* flags of the key.
 */
static inline int sre_json_obj_next(struct sre_json *j,
    struct sre_json_str *key, unsigned *key_flags);

/*
 * Fast paths for members whose key the caller expects, for JSON written
 * compactly by a program (OTLP's {"key":...,"value":...}).  key must be
 * n plain bytes (no '"', '\\' or control characters).  Each matches the
 * exact bytes only (after leading whitespace): 1 if matched and consumed,
 * 0 if not (nothing consumed: use the general calls), -1 on error.
 *   sre_json_obj_begin_key: '{"KEY":'  (like obj_begin + obj_next)
 *   sre_json_obj_next_key:  ',"KEY":' ('"KEY":' for the first member)
 *   sre_json_obj_end:       '}'        (the object ends)
 */
static inline int sre_json_obj_begin_key(struct sre_json *j, const char *key,
    size_t n);
static inline int sre_json_obj_next_key(struct sre_json *j, const char *key,
    size_t n);
static inline int sre_json_obj_end(struct sre_json *j);

/*
 * Advance to the next element of the current array: 1 if an element comes
 * next (read or skip it), 0 when the array ends (']' consumed), -1 on error.
 */
static inline int sre_json_arr_next(struct sre_json *j);

/*
 * Read a string value.  Returns its SRE_JSON_STR_* flags (>= 0) and sets
 * *s to the bytes between the quotes, escapes still in (borrowed from the
 * buffer); -1 on error (not a string, bad escape, control character,
 * truncated, invalid UTF-8 in strict mode).
 */
static inline int sre_json_string(struct sre_json *j, struct sre_json_str *s);

/*
 * Read a number value into *n (see struct sre_json_num).  Integers of up to
 * 64 bits are exact (see the flags); .d is the nearest double (short
 * decimals exactly, others through strtod on a locale-independent copy;
 * overflow gives +-inf, underflow 0).  -1 on error (not a number, bad
 * syntax).
 */
int sre_json_number(struct sre_json *j, struct sre_json_num *n);

/* Read true/false (sets *b to 1/0) or null.  0 on success, -1 on error. */
int sre_json_bool(struct sre_json *j, int *b);
int sre_json_null(struct sre_json *j);

/* Skip one value of any type, validating it.  0 on success, -1 on error. */
int sre_json_skip(struct sre_json *j);

/*
 * Skip the rest of the innermost open object or array, up to and including
 * its closing bracket (e.g. to stop walking an object early).  A member
 * whose key was just returned by sre_json_obj_next is skipped too.
 */
int sre_json_leave(struct sre_json *j);

/*
 * At the end of the top-level value: 0 if only whitespace remains and no
 * error is pending, -1 otherwise ("trailing characters after the value").
 */
int sre_json_end(struct sre_json *j);

/*
 * Check that the len bytes at p are exactly one JSON value (RFC 8259:
 * strings, escapes, numbers, literals, nesting up to SRE_JSON_DEPTH_MAX,
 * nothing but whitespace after it).  Returns the value's type, or
 * SRE_JSON_NONE with "MESSAGE at byte N" in err (errlen bytes; cut to
 * fit), "truncated: MESSAGE at byte N" when the text ends too soon.  Strict where libjq is lenient (nan, single quotes, comments).
 */
enum sre_json_type sre_json_check(const char *p, size_t len, char *err,
    size_t errlen);

/*
 * The pending error: a static message, and its byte offset in *off (may be
 * NULL); NULL if there is no error.
 */
const char *sre_json_error(const struct sre_json *j, size_t *off);

/*
 * Record the current position (where a value is expected) to come back to
 * it later with sre_json_seek, e.g. to read a member again once its
 * siblings are known.  Seeking is only valid between positions inside the
 * same open container (the enclosing levels must be the same).
 */
static inline void sre_json_mark(const struct sre_json *j,
    struct sre_json_mark *m);
static inline void sre_json_seek(struct sre_json *j,
    const struct sre_json_mark *m);

/* sre_json_unescape flags. */
#define SRE_JSON_UNESC_REPLACE	0x1	/* invalid UTF-8 becomes U+FFFD */

/*
 * Decode the n bytes of a string body at p (as sre_json_string returns it)
 * into out, which must have room for n bytes, or 3 * n bytes with
 * SRE_JSON_UNESC_REPLACE.  Escapes are decoded (surrogate pairs joined,
 * a lone surrogate becomes U+FFFD); with SRE_JSON_UNESC_REPLACE each byte
 * of an invalid UTF-8 sequence becomes U+FFFD, so the output is valid
 * UTF-8.  Malformed escapes (which the parser never returns) are copied
 * as they are.  Returns the number of bytes written; out is not
 * NUL-terminated.  Never reads p beyond n bytes.
 */
size_t sre_json_unescape(const char *p, size_t n, char *out, unsigned flags);

/*
 * Checked conversions of a text slice (e.g. an OTLP 64-bit integer sent as
 * a JSON string).  Only an optional '-' (not for u64) and decimal digits
 * are accepted for the integers; the double accepts JSON number syntax
 * plus "NaN", "Infinity", "-Infinity" (the proto3 JSON forms).  0 on
 * success, -1 on empty input, bad syntax or overflow; *out is untouched
 * on failure.
 */
int sre_json_parse_u64(const char *p, size_t n, uint64_t *out);
int sre_json_parse_i64(const char *p, size_t n, int64_t *out);
int sre_json_parse_double(const char *p, size_t n, double *out);

/* 1 if the n bytes at p are valid UTF-8, else 0. */
int sre_json_utf8_valid(const char *p, size_t n);

/*
 * ---- Inline fast paths ------------------------------------------------
 *
 * The calls made once per token are defined here so that they inline into
 * their callers (measured: 13-15% of the OTLP reader's time).  Everything
 * named sre_json__* is private to json.h and json.c.
 */

/* Private, in json.c: record an error (first one wins); returns -1. */
int sre_json__fail(struct sre_json *j, const char *msg, size_t off);
/* Private, in json.c: scan the string whose quote is at j->pos. */
int sre_json__scan_string(struct sre_json *j, struct sre_json_str *s);
/* Private, in json.c: the type of value each byte starts, or NONE. */
extern const unsigned char sre_json__start_type[256];

static inline int
sre_json__failhere(struct sre_json *j, int c, const char *msg)
{
	return sre_json__fail(j, c < 0 ? "unexpected end of input" : msg,
	    j->pos);
}

/* Skip whitespace; the next byte, or -1 at the end of the input. */
static inline int
sre_json__ws(struct sre_json *j)
{
	const unsigned char *b = (const unsigned char *)j->buf;
	size_t i = j->pos, n = j->len;

	while (i < n) {
		unsigned c = b[i];

		if (c > ' ' || (c != ' ' && c != '\n' && c != '\r' && c != '\t')) {
			j->pos = i;
			return (int)c;
		}
		i++;
	}
	j->pos = i;
	return -1;
}

static inline int
sre_json__is_obj(const struct sre_json *j)
{
	int d = j->depth - 1;

	return (int)((j->stack[d >> 6] >> (d & 63)) & 1);
}

/* Open a container (the bracket is at j->pos). */
static inline int
sre_json__push(struct sre_json *j, int obj)
{
	int d = j->depth;

	if (d >= j->max_depth)
		return sre_json__fail(j, "nesting too deep", j->pos);
	if (obj)
		j->stack[d >> 6] |= (uint64_t)1 << (d & 63);
	else
		j->stack[d >> 6] &= ~((uint64_t)1 << (d & 63));
	j->depth = d + 1;
	j->pos++;
	j->first = 1;
	return 0;
}

/* a[0..n) == b[0..n), for keys up to 32 bytes without a call to memcmp. */
static inline int
sre_json__same(const char *a, const char *b, size_t n)
{
	uint64_t x, y, x2, y2;
	uint32_t u, v, u2, v2;

	if (n > 16) {
		if (n > 32)
			return memcmp(a, b, n) == 0;
		return sre_json__same(a, b, 16) &&
		    sre_json__same(a + n - 16, b + n - 16, 16);
	}
	if (n >= 8) {
		memcpy(&x, a, 8);
		memcpy(&y, b, 8);
		memcpy(&x2, a + n - 8, 8);
		memcpy(&y2, b + n - 8, 8);
		return ((x ^ y) | (x2 ^ y2)) == 0;
	}
	if (n >= 4) {
		memcpy(&u, a, 4);
		memcpy(&v, b, 4);
		memcpy(&u2, a + n - 4, 4);
		memcpy(&v2, b + n - 4, 4);
		return ((u ^ v) | (u2 ^ v2)) == 0;
	}
	while (n > 0) {
		if (*a++ != *b++)
			return 0;
		n--;
	}
	return 1;
}

static inline enum sre_json_type
sre_json_peek(struct sre_json *j)
{
	enum sre_json_type t;
	int c;

	if (j->err != NULL)
		return SRE_JSON_NONE;
	c = sre_json__ws(j);
	if (c < 0) {
		sre_json__fail(j, "unexpected end of input", j->pos);
		return SRE_JSON_NONE;
	}
	t = (enum sre_json_type)sre_json__start_type[c];
	if (t == SRE_JSON_NONE)
		sre_json__fail(j, "unexpected character", j->pos);
	return t;
}

static inline int
sre_json_obj_begin(struct sre_json *j)
{
	int c;

	if (j->err != NULL)
		return -1;
	if ((c = sre_json__ws(j)) != '{')
		return sre_json__failhere(j, c, "expected an object");
	return sre_json__push(j, 1);
}

static inline int
sre_json_arr_begin(struct sre_json *j)
{
	int c;

	if (j->err != NULL)
		return -1;
	if ((c = sre_json__ws(j)) != '[')
		return sre_json__failhere(j, c, "expected an array");
	return sre_json__push(j, 0);
}

static inline int
sre_json_obj_next(struct sre_json *j, struct sre_json_str *key,
    unsigned *key_flags)
{
	int c, f;

	if (j->err != NULL)
		return -1;
	if (j->depth == 0 || !sre_json__is_obj(j))
		return sre_json__fail(j, "not in an object", j->pos);
	c = sre_json__ws(j);
	if (c == '}') {
		j->pos++;
		j->depth--;
		j->first = 0;
		return 0;
	}
	if (j->first)
		j->first = 0;
	else {
		if (c != ',')
			return sre_json__failhere(j, c, "expected ',' or '}'");
		j->pos++;
		c = sre_json__ws(j);
	}
	if (c != '"')
		return sre_json__failhere(j, c, "expected a string key");
	if ((f = sre_json__scan_string(j, key)) < 0)
		return -1;
	if (key_flags != NULL)
		*key_flags = (unsigned)f;
	if ((c = sre_json__ws(j)) != ':')
		return sre_json__failhere(j, c, "expected ':' after a key");
	j->pos++;
	return 1;
}

static inline int
sre_json_obj_begin_key(struct sre_json *j, const char *key, size_t n)
{
	const char *p;

	if (j->err != NULL)
		return -1;
	if (sre_json__ws(j) != '{' || j->len - j->pos < n + 4)
		return 0;
	p = j->buf + j->pos;
	if (p[1] != '"' || !sre_json__same(p + 2, key, n) || p[n + 2] != '"' ||
	    p[n + 3] != ':')
		return 0;
	if (sre_json__push(j, 1) < 0)
		return -1;
	j->pos += n + 3;	/* push consumed the '{' */
	j->first = 0;
	return 1;
}

static inline int
sre_json_obj_next_key(struct sre_json *j, const char *key, size_t n)
{
	const char *p;
	size_t k;
	int c;

	if (j->err != NULL)
		return -1;
	if (j->depth == 0 || !sre_json__is_obj(j))
		return sre_json__fail(j, "not in an object", j->pos);
	c = sre_json__ws(j);
	k = j->first ? 0 : 1;
	if (c != (j->first ? '"' : ',') || j->len - j->pos < n + 3 + k)
		return 0;
	p = j->buf + j->pos + k;
	if (p[0] != '"' || !sre_json__same(p + 1, key, n) || p[n + 1] != '"' ||
	    p[n + 2] != ':')
		return 0;
	j->pos += k + n + 3;
	j->first = 0;
	return 1;
}

static inline int
sre_json_obj_end(struct sre_json *j)
{
	if (j->err != NULL)
		return -1;
	if (j->depth == 0 || !sre_json__is_obj(j))
		return sre_json__fail(j, "not in an object", j->pos);
	if (sre_json__ws(j) != '}')
		return 0;
	j->pos++;
	j->depth--;
	j->first = 0;
	return 1;
}

static inline int
sre_json_arr_next(struct sre_json *j)
{
	int c;

	if (j->err != NULL)
		return -1;
	if (j->depth == 0 || sre_json__is_obj(j))
		return sre_json__fail(j, "not in an array", j->pos);
	c = sre_json__ws(j);
	if (c == ']') {
		j->pos++;
		j->depth--;
		j->first = 0;
		return 0;
	}
	if (j->first) {
		j->first = 0;
		return 1;
	}
	if (c != ',')
		return sre_json__failhere(j, c, "expected ',' or ']'");
	j->pos++;
	return 1;
}

static inline int
sre_json_string(struct sre_json *j, struct sre_json_str *s)
{
	int c;

	if (j->err != NULL)
		return -1;
	if ((c = sre_json__ws(j)) != '"')
		return sre_json__failhere(j, c, "expected a string");
	return sre_json__scan_string(j, s);
}

static inline void
sre_json_mark(const struct sre_json *j, struct sre_json_mark *m)
{
	m->pos = j->pos;
	m->depth = j->depth;
	m->first = j->first;
}

static inline void
sre_json_seek(struct sre_json *j, const struct sre_json_mark *m)
{
	j->pos = m->pos;
	j->depth = m->depth;
	j->first = m->first;
}

#endif
