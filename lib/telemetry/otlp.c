/*
 * otlp.c: the line reader of otlp.h, on top of the json.h pull parser.
 *
 * Records are delivered when their object closes, so the members of a
 * record may come in any order.  The context of a record (the resource
 * with service.name, a metric's name and temporality) must be known
 * before its records are read; writers put it first (protobuf field
 * order), but JSON does not promise it, so when a list of records comes
 * before its context the list is skipped, remembered (sre_json_mark) and
 * read again once the enclosing object is done.  Sums and histograms
 * always defer their dataPoints, since aggregationTemporality follows them
 * in field order.  The scope name is best effort (no second pass).
 *
 * Hot path: OTLP attributes ({"key":...,"value":{"stringValue":...}}) are
 * matched byte for byte with sre_json_obj_begin_key and friends, and only
 * the keys a record uses are decoded; the general calls take over
 * whenever the bytes differ (whitespace, escapes, another order).
 *
 * Strings are delivered zero-copy when they need no decoding; escaped or
 * invalid UTF-8 ones are decoded into an arena of blocks that is reset per
 * line (blocks never move, so earlier slices stay valid for the line).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otlp.h"

#define ARENA_BLOCK	(64 * 1024)
#define ARENA_KEEP	(1024 * 1024)	/* scratch kept between lines */
#define BODY_MAX	512		/* rendering of a non-string body */
#define DEFER_MAX	4

struct block {
	struct block *next;
	size_t size, used;
	char data[];
};

/* Per-point numeric arrays (8-byte elements: uint64_t or double). */
enum { A_BUCKETS, A_BOUNDS, A_POS, A_NEG, A_QUANT, A_QVAL, A_N };

struct arr {
	void *v;
	size_t n, cap;
};

struct sre_otlp {
	unsigned flags;
	struct block *blocks, *cur;
	struct arr arr[A_N];
	/* the line in hand */
	struct sre_json j;
	const struct sre_otlp_handler *h;
	struct sre_otlp_result *res;
	enum sre_otlp_format fmt;
	int nomem;
	int stopped;
	/* where we are, for messages: pname[i][pidx[i]] for i < lvl */
	int lvl;
	const char *pname[6];
	size_t pidx[6];
	char msg[256];
};

enum sig { SIG_TRACES, SIG_METRICS, SIG_LOGS };

static const char *const group_name[] = {
	"resourceSpans", "resourceMetrics", "resourceLogs"
};
static const char *const scope_list_name[] = {
	"scopeSpans", "scopeMetrics", "scopeLogs"
};
static const char *const record_list_name[] = {
	"spans", "metrics", "logRecords"
};

/* Field reader outcomes. */
enum { F_ERR = -1, F_OK = 0, F_ABSENT, F_BAD };

/* The first problem that makes a record unreadable. */
struct rej {
	const char *field;
	const char *why;
	size_t off;
};

#define KEY	SRE_JSON_KEY_IS

/* ---- scratch memory ------------------------------------------------ */

static void
arena_reset(struct sre_otlp *r)
{
	struct block *b, **bp;
	size_t kept = 0;

	/* keep up to ARENA_KEEP bytes of blocks, free the rest */
	for (bp = &r->blocks; (b = *bp) != NULL;) {
		if (kept + b->size > ARENA_KEEP && kept > 0) {
			*bp = b->next;
			free(b);
			continue;
		}
		kept += b->size;
		b->used = 0;
		bp = &b->next;
	}
	r->cur = r->blocks;
}

static char *
arena_alloc(struct sre_otlp *r, size_t n)
{
	struct block *b, *nb;
	size_t size;

	if (n == 0)
		n = 1;
	for (b = r->cur; b != NULL; b = b->next) {
		if (b != r->cur)
			b->used = 0;
		if (b->size - b->used >= n) {
			char *p = b->data + b->used;

			b->used += n;
			r->cur = b;
			return p;
		}
		if (b->next == NULL)
			break;
	}
	size = n > ARENA_BLOCK ? n : ARENA_BLOCK;
	if (size > SIZE_MAX - sizeof(*nb) || (nb = malloc(sizeof(*nb) +
	    size)) == NULL) {
		r->nomem = 1;
		return NULL;
	}
	nb->size = size;
	nb->used = n;
	if (b == NULL) {
		nb->next = NULL;
		r->blocks = nb;
	} else {
		nb->next = b->next;
		b->next = nb;
	}
	r->cur = nb;
	return nb->data;
}

static int
arr_push(struct sre_otlp *r, int k, const void *elem)
{
	struct arr *a = &r->arr[k];

	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 32;
		void *v;

		if (cap > SIZE_MAX / 8 || (v = realloc(a->v, cap * 8)) == NULL) {
			r->nomem = 1;
			return -1;
		}
		a->v = v;
		a->cap = cap;
	}
	memcpy((char *)a->v + a->n * 8, elem, 8);
	a->n++;
	return 0;
}

/* ---- messages ------------------------------------------------------ */

/* Append s to the NUL-terminated text in buf (size sz), cutting it short. */
static void
cat(char *buf, size_t sz, size_t *off, const char *s)
{
	size_t n = strlen(s);

	if (*off >= sz - 1)
		return;
	if (n > sz - 1 - *off)
		n = sz - 1 - *off;
	memcpy(buf + *off, s, n);
	*off += n;
	buf[*off] = '\0';
}

/* "resourceSpans[0].scopeSpans[1].spans[2]" for the first upto levels. */
static size_t
path(const struct sre_otlp *r, int upto, char *buf, size_t sz)
{
	char idx[32];
	size_t off = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; i < upto; i++) {
		if (i > 0)
			cat(buf, sz, &off, ".");
		cat(buf, sz, &off, r->pname[i]);
		snprintf(idx, sizeof(idx), "[%zu]", r->pidx[i]);
		cat(buf, sz, &off, idx);
	}
	return off;
}

/*
 * Report a rejection: of the element at r->lvl's path (field NULL), or of
 * one of its fields.  Returns -1 only if the callback asked to stop.
 */
static int
reject(struct sre_otlp *r, const char *field, const char *why, size_t off)
{
	size_t n;

	n = path(r, r->lvl, r->msg, sizeof(r->msg));
	if (field != NULL) {
		if (n > 0)
			cat(r->msg, sizeof(r->msg), &n, ": ");
		cat(r->msg, sizeof(r->msg), &n, field);
	}
	if (n > 0)
		cat(r->msg, sizeof(r->msg), &n, ": ");
	cat(r->msg, sizeof(r->msg), &n, why);
	r->res->rejected++;
	if (r->res->msg[0] == '\0') {
		n = 0;
		cat(r->res->msg, sizeof(r->res->msg), &n, r->msg);
	}
	if (r->h->reject != NULL) {
		struct sre_otlp_reject x;
		int rc;

		x.format = r->fmt;
		x.msg = r->msg;
		x.off = off;
		rc = r->h->reject(r->h->arg, &x);
		if (rc != 0) {
			r->res->stop = rc;
			r->stopped = 1;
			return -1;
		}
	}
	return 0;
}

static void
set_rej(struct rej *x, const char *field, const char *why, size_t off)
{
	if (x->field == NULL) {
		x->field = field;
		x->why = why;
		x->off = off;
	}
}

/* Reject the record at r->lvl for x's reason. */
static int
reject_rec(struct sre_otlp *r, const struct rej *x)
{
	return reject(r, x->field, x->why, x->off);
}

/* ---- field readers (a value is pending) ------------------------------ */

/* Replace invalid UTF-8 in s by U+FFFD (arena copy). */
static int
sanitize(struct sre_otlp *r, struct sre_json_str *s, unsigned *quirks)
{
	const unsigned char *p = (const unsigned char *)s->p;
	char *d;
	size_t i, o = 0;

	if (sre_json_utf8_valid(s->p, s->n))
		return 0;
	if (s->n > SIZE_MAX / 3 || (d = arena_alloc(r, s->n * 3)) == NULL)
		return -1;
	for (i = 0; i < s->n;) {
		size_t k = 1;

		if (p[i] >= 0x80) {
			for (k = 2; k <= 4 && i + k <= s->n; k++)
				if (sre_json_utf8_valid(s->p + i, k))
					break;
			if (k > 4 || i + k > s->n) {
				memcpy(d + o, "\xef\xbf\xbd", 3);
				o += 3;
				i++;
				continue;
			}
		}
		memcpy(d + o, s->p + i, k);
		o += k;
		i += k;
	}
	s->p = d;
	s->n = o;
	*quirks |= SRE_OTLP_Q_BAD_UTF8;
	return 0;
}

/* Read a string, decoding it into the arena if it needs it. */
static int
get_str(struct sre_otlp *r, struct sre_json *j, struct sre_json_str *s,
    unsigned *quirks)
{
	int f = sre_json_string(j, s);
	char *d;

	if (f < 0)
		return -1;
	if (f & (SRE_JSON_STR_ESC | SRE_JSON_STR_BADUTF8)) {
		size_t cap = s->n;

		if (f & SRE_JSON_STR_BADUTF8) {
			if (cap > SIZE_MAX / 3)
				return r->nomem = 1, -1;
			cap *= 3;
			*quirks |= SRE_OTLP_Q_BAD_UTF8;
		}
		if ((d = arena_alloc(r, cap)) == NULL)
			return -1;
		s->n = sre_json_unescape(s->p, s->n, d, SRE_JSON_UNESC_REPLACE);
		s->p = d;
	}
	return 0;
}

static int
f_skip_bad(struct sre_json *j)
{
	return sre_json_skip(j) < 0 ? F_ERR : F_BAD;
}

static int
f_null(struct sre_json *j)
{
	return sre_json_null(j) < 0 ? F_ERR : F_ABSENT;
}

static int
f_str(struct sre_otlp *r, struct sre_json *j, struct sre_json_str *out,
    unsigned *quirks)
{
	switch (sre_json_peek(j)) {
	case SRE_JSON_STRING:
		return get_str(r, j, out, quirks) < 0 ? F_ERR : F_OK;
	case SRE_JSON_NULL:
		return f_null(j);
	case SRE_JSON_NONE:
		return F_ERR;
	default:
		return f_skip_bad(j);
	}
}

/* Raw (escaped) string slice, for numeric text. */
static int
raw_str(struct sre_json *j, struct sre_json_str *s)
{
	int f = sre_json_string(j, s);

	if (f < 0)
		return F_ERR;
	return (f & SRE_JSON_STR_ESC) ? F_BAD : F_OK;
}

/* uint64 (fixed64 times, counts): a string of digits or a number. */
static int
f_u64(struct sre_json *j, uint64_t *out, unsigned *quirks)
{
	struct sre_json_num num;
	struct sre_json_str s;
	int rc;

	switch (sre_json_peek(j)) {
	case SRE_JSON_STRING:
		if ((rc = raw_str(j, &s)) != F_OK)
			return rc;
		return sre_json_parse_u64(s.p, s.n, out) < 0 ? F_BAD : F_OK;
	case SRE_JSON_NUMBER:
		if (sre_json_number(j, &num) < 0)
			return F_ERR;
		if (num.flags & SRE_JSON_NUM_U64) {
			*out = num.u;
			return F_OK;
		}
		if (num.d >= 0 && num.d < 18446744073709551616.0) {
			*out = (uint64_t)num.d;
			*quirks |= SRE_OTLP_Q_CONVERTED;
			return F_OK;
		}
		return F_BAD;
	case SRE_JSON_NULL:
		return f_null(j);
	case SRE_JSON_NONE:
		return F_ERR;
	default:
		return f_skip_bad(j);
	}
}

struct enumname {
	const char *name;
	int value;
};

static const struct enumname kind_names[] = {
	{ "SPAN_KIND_UNSPECIFIED", 0 }, { "SPAN_KIND_INTERNAL", 1 },
	{ "SPAN_KIND_SERVER", 2 }, { "SPAN_KIND_CLIENT", 3 },
	{ "SPAN_KIND_PRODUCER", 4 }, { "SPAN_KIND_CONSUMER", 5 },
	{ "UNSPECIFIED", 0 }, { "INTERNAL", 1 }, { "SERVER", 2 },
	{ "CLIENT", 3 }, { "PRODUCER", 4 }, { "CONSUMER", 5 },
	{ NULL, 0 }
};

static const struct enumname status_names[] = {
	{ "STATUS_CODE_UNSET", 0 }, { "STATUS_CODE_OK", 1 },
	{ "STATUS_CODE_ERROR", 2 }, { "UNSET", 0 }, { "OK", 1 },
	{ "ERROR", 2 }, { NULL, 0 }
};

static const struct enumname temporality_names[] = {
	{ "AGGREGATION_TEMPORALITY_UNSPECIFIED", 0 },
	{ "AGGREGATION_TEMPORALITY_DELTA", 1 },
	{ "AGGREGATION_TEMPORALITY_CUMULATIVE", 2 },
	{ NULL, 0 }
};

/* SEVERITY_NUMBER_INFO, SEVERITY_NUMBER_WARN3, ... */
static int
severity_name(const char *p, size_t n, int64_t *out)
{
	static const char *const base[] = {
		"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"
	};
	size_t i, bl;

	if (n == 27 && memcmp(p, "SEVERITY_NUMBER_UNSPECIFIED", 27) == 0) {
		*out = 0;
		return 0;
	}
	if (n < 16 || memcmp(p, "SEVERITY_NUMBER_", 16) != 0)
		return -1;
	p += 16;
	n -= 16;
	for (i = 0; i < 6; i++) {
		bl = strlen(base[i]);
		if (n < bl || memcmp(p, base[i], bl) != 0)
			continue;
		if (n == bl) {
			*out = (int64_t)(i * 4 + 1);
			return 0;
		}
		if (n == bl + 1 && p[bl] >= '2' && p[bl] <= '4') {
			*out = (int64_t)(i * 4 + 1 + (size_t)(p[bl] - '1'));
			return 0;
		}
	}
	return -1;
}

/*
 * int64 / enum: a number, a string of digits, or (tab != NULL) an enum
 * name.  sev: use the severity names.
 */
static int
f_i64(struct sre_json *j, int64_t *out, unsigned *quirks,
    const struct enumname *tab, int sev)
{
	struct sre_json_num num;
	struct sre_json_str s;
	int rc;

	switch (sre_json_peek(j)) {
	case SRE_JSON_STRING:
		if ((rc = raw_str(j, &s)) != F_OK)
			return rc;
		if (sre_json_parse_i64(s.p, s.n, out) == 0) {
			if (tab != NULL || sev)
				*quirks |= SRE_OTLP_Q_CONVERTED;
			return F_OK;
		}
		if (sev)
			return severity_name(s.p, s.n, out) == 0 ? F_OK : F_BAD;
		for (; tab != NULL && tab->name != NULL; tab++)
			if (strlen(tab->name) == s.n &&
			    memcmp(tab->name, s.p, s.n) == 0) {
				*out = tab->value;
				return F_OK;
			}
		return F_BAD;
	case SRE_JSON_NUMBER:
		if (sre_json_number(j, &num) < 0)
			return F_ERR;
		if (num.flags & SRE_JSON_NUM_I64) {
			*out = num.i;
			return F_OK;
		}
		if (num.d == floor(num.d) && num.d >= -9223372036854775808.0 &&
		    num.d < 9223372036854775808.0) {
			*out = (int64_t)num.d;
			*quirks |= SRE_OTLP_Q_CONVERTED;
			return F_OK;
		}
		return F_BAD;
	case SRE_JSON_NULL:
		return f_null(j);
	case SRE_JSON_NONE:
		return F_ERR;
	default:
		return f_skip_bad(j);
	}
}

/* double: a number, or a string ("1.5", "NaN", "Infinity"). */
static int
f_double(struct sre_json *j, double *out)
{
	struct sre_json_num num;
	struct sre_json_str s;
	int rc;

	switch (sre_json_peek(j)) {
	case SRE_JSON_NUMBER:
		if (sre_json_number(j, &num) < 0)
			return F_ERR;
		*out = num.d;
		return F_OK;
	case SRE_JSON_STRING:
		if ((rc = raw_str(j, &s)) != F_OK)
			return rc;
		return sre_json_parse_double(s.p, s.n, out) < 0 ? F_BAD : F_OK;
	case SRE_JSON_NULL:
		return f_null(j);
	case SRE_JSON_NONE:
		return F_ERR;
	default:
		return f_skip_bad(j);
	}
}

static int
f_bool(struct sre_json *j, int *out, unsigned *quirks)
{
	struct sre_json_num num;
	struct sre_json_str s;
	int rc;

	switch (sre_json_peek(j)) {
	case SRE_JSON_TRUE:
	case SRE_JSON_FALSE:
		return sre_json_bool(j, out) < 0 ? F_ERR : F_OK;
	case SRE_JSON_STRING:
		if ((rc = raw_str(j, &s)) != F_OK)
			return rc;
		*quirks |= SRE_OTLP_Q_CONVERTED;
		if (KEY(s, "true") || KEY(s, "1"))
			*out = 1;
		else if (KEY(s, "false") || KEY(s, "0"))
			*out = 0;
		else
			return F_BAD;
		return F_OK;
	case SRE_JSON_NUMBER:
		if (sre_json_number(j, &num) < 0)
			return F_ERR;
		*quirks |= SRE_OTLP_Q_CONVERTED;
		*out = num.d != 0;
		return F_OK;
	case SRE_JSON_NULL:
		return f_null(j);
	case SRE_JSON_NONE:
		return F_ERR;
	default:
		return f_skip_bad(j);
	}
}

/*
 * The raw JSON text of the pending value, which must be of type want
 * (else it is skipped and F_BAD returned; null is F_ABSENT).
 */
static int
f_raw(struct sre_json *j, enum sre_json_type want, struct sre_json_str *out)
{
	enum sre_json_type t = sre_json_peek(j);
	size_t start = j->pos;

	if (t == SRE_JSON_NONE)
		return F_ERR;
	if (t == SRE_JSON_NULL)
		return f_null(j);
	if (sre_json_skip(j) < 0)
		return F_ERR;
	if (t != want)
		return F_BAD;
	out->p = j->buf + start;
	out->n = j->pos - start;
	return F_OK;
}

/* Key of the member just announced, decoded into kb if escaped. */
static int
next_key(struct sre_json *j, struct sre_json_str *k, char kb[64])
{
	unsigned f = 0;
	int rc = sre_json_obj_next(j, k, &f);

	if (rc > 0 && (f & SRE_JSON_STR_ESC) && k->n <= 64) {
		k->n = sre_json_unescape(k->p, k->n, kb, 0);
		k->p = kb;
	}
	return rc;
}

/*
 * The pending value should be an object: 1 if it is (and it is opened),
 * 0 if it is null (consumed), 2 if it is something else (skipped), -1.
 */
static int
open_obj(struct sre_json *j)
{
	switch (sre_json_peek(j)) {
	case SRE_JSON_OBJECT:
		return sre_json_obj_begin(j) < 0 ? -1 : 1;
	case SRE_JSON_NULL:
		return sre_json_null(j) < 0 ? -1 : 0;
	case SRE_JSON_NONE:
		return -1;
	default:
		return sre_json_skip(j) < 0 ? -1 : 2;
	}
}

/* ---- AnyValue, KeyValue --------------------------------------------- */

static void
raw_text(const struct sre_json *j, size_t start, struct sre_json_str *s)
{
	s->p = j->buf + start;
	s->n = j->pos - start;
	if (s->n >= 2 && s->p[0] == '"') {
		s->p++;
		s->n -= 2;
	}
}

/* Read an AnyValue object ({"stringValue": ...}).  0 or -1. */
static int
read_anyvalue(struct sre_otlp *r, struct sre_json *j, struct sre_otlp_value *v,
    unsigned *quirks)
{
	struct sre_json_str k;
	char kb[64];
	size_t start;
	int rc, f, b;

	memset(v, 0, sizeof(*v));
	/* fast path: {"stringValue":"..."} as writers write it */
	if ((rc = sre_json_obj_begin_key(j, "stringValue", 11)) != 0) {
		if (rc < 0)
			return -1;
		if ((f = f_str(r, j, &v->s, quirks)) == F_ERR)
			return -1;
		if (f == F_OK)
			v->type = SRE_OTLP_V_STRING;
		else if (f == F_BAD)
			*quirks |= SRE_OTLP_Q_IGNORED;
		if ((rc = sre_json_obj_end(j)) != 0)
			return rc < 0 ? -1 : 0;
	} else if ((rc = sre_json_obj_begin_key(j, "intValue", 8)) != 0) {
		if (rc < 0 || sre_json_peek(j) == SRE_JSON_NONE)
			return -1;
		start = j->pos;
		if ((f = f_i64(j, &v->i, quirks, NULL, 0)) == F_ERR)
			return -1;
		if (f == F_OK) {
			v->type = SRE_OTLP_V_INT;
			v->d = (double)v->i;
			raw_text(j, start, &v->s);
		} else if (f == F_BAD)
			*quirks |= SRE_OTLP_Q_IGNORED;
		if ((rc = sre_json_obj_end(j)) != 0)
			return rc < 0 ? -1 : 0;
	} else {
		if ((rc = open_obj(j)) <= 0)
			return rc;
		if (rc == 2) {
			*quirks |= SRE_OTLP_Q_IGNORED;
			return 0;
		}
	}
	while ((rc = next_key(j, &k, kb)) > 0) {
		if (sre_json_peek(j) == SRE_JSON_NONE)
			return -1;
		start = j->pos;
		f = F_OK;
		if (KEY(k, "stringValue")) {
			if ((f = f_str(r, j, &v->s, quirks)) == F_OK)
				v->type = SRE_OTLP_V_STRING;
		} else if (KEY(k, "intValue")) {
			if ((f = f_i64(j, &v->i, quirks, NULL, 0)) == F_OK) {
				v->type = SRE_OTLP_V_INT;
				v->d = (double)v->i;
				raw_text(j, start, &v->s);
			}
		} else if (KEY(k, "doubleValue")) {
			if ((f = f_double(j, &v->d)) == F_OK) {
				v->type = SRE_OTLP_V_DOUBLE;
				raw_text(j, start, &v->s);
			}
		} else if (KEY(k, "boolValue")) {
			if ((f = f_bool(j, &b, quirks)) == F_OK) {
				v->type = SRE_OTLP_V_BOOL;
				v->i = b;
				v->s.p = b ? "true" : "false";
				v->s.n = b ? 4 : 5;
			}
		} else if (KEY(k, "bytesValue")) {
			if ((f = f_str(r, j, &v->s, quirks)) == F_OK)
				v->type = SRE_OTLP_V_BYTES;
		} else if (KEY(k, "arrayValue")) {
			if ((f = f_raw(j, SRE_JSON_OBJECT, &v->s)) == F_OK)
				v->type = SRE_OTLP_V_ARRAY;
		} else if (KEY(k, "kvlistValue")) {
			if ((f = f_raw(j, SRE_JSON_OBJECT, &v->s)) == F_OK)
				v->type = SRE_OTLP_V_KVLIST;
		} else if (sre_json_skip(j) < 0)
			return -1;
		if (f == F_ERR)
			return -1;
		if (f == F_BAD)
			*quirks |= SRE_OTLP_Q_IGNORED;
	}
	return rc;
}

/* Skip an AnyValue, fast for {"stringValue":"..."}. */
static int
skip_anyvalue(struct sre_json *j)
{
	int rc = sre_json_obj_begin_key(j, "stringValue", 11);

	if (rc < 0)
		return -1;
	if (rc == 0)
		return sre_json_skip(j);
	if (sre_json_skip(j) < 0 || (rc = sre_json_obj_end(j)) < 0)
		return -1;
	return rc > 0 ? 0 : sre_json_leave(j);
}

typedef int (*want_fn)(struct sre_json_str key);

/*
 * Read one KeyValue {"key": ..., "value": ...}.  The value is decoded only
 * if want(key) is non-zero; *id gets that (0: unwanted, or no key).
 */
static int
read_kv(struct sre_otlp *r, struct sre_json *j, want_fn want,
    struct sre_json_str *key, int *id, struct sre_otlp_value *v,
    unsigned *quirks)
{
	struct sre_json_mark vm, end;
	struct sre_json_str k;
	char kb[64];
	int rc, have_key = 0, have_vm = 0;

	*id = 0;
	memset(v, 0, sizeof(*v));	/* a KeyValue may have no value */
	/* fast path: {"key":"...","value":{...}} as writers write it */
	if ((rc = sre_json_obj_begin_key(j, "key", 3)) != 0) {
		if (rc < 0 || (rc = f_str(r, j, key, quirks)) == F_ERR)
			return -1;
		if (rc == F_OK) {
			have_key = 1;
			*id = want(*key);
			if ((rc = sre_json_obj_next_key(j, "value", 5)) < 0)
				return -1;
			if (rc > 0) {
				if (*id != 0) {
					if (read_anyvalue(r, j, v, quirks) < 0)
						return -1;
				} else if (skip_anyvalue(j) < 0)
					return -1;
				if ((rc = sre_json_obj_end(j)) != 0)
					return rc < 0 ? -1 : 0;
			}
		}
	} else {
		if ((rc = open_obj(j)) <= 0)
			return rc;
		if (rc == 2) {
			*quirks |= SRE_OTLP_Q_IGNORED;
			return 0;
		}
	}
	while ((rc = next_key(j, &k, kb)) > 0) {
		if (KEY(k, "key")) {
			rc = f_str(r, j, key, quirks);
			if (rc == F_ERR)
				return -1;
			if (rc == F_OK) {
				have_key = 1;
				*id = want(*key);
			}
		} else if (KEY(k, "value")) {
			if (have_key) {
				if (*id != 0) {
					if (read_anyvalue(r, j, v, quirks) < 0)
						return -1;
				} else if (sre_json_skip(j) < 0)
					return -1;
			} else {
				sre_json_mark(j, &vm);
				have_vm = 1;
				if (sre_json_skip(j) < 0)
					return -1;
			}
		} else if (sre_json_skip(j) < 0)
			return -1;
	}
	if (rc < 0)
		return -1;
	if (have_vm && *id != 0) {
		sre_json_mark(j, &end);
		sre_json_seek(j, &vm);
		if (read_anyvalue(r, j, v, quirks) < 0)
			return -1;
		sre_json_seek(j, &end);
	}
	return 0;
}

/*
 * Walk an attribute array with read_kv, calling apply for wanted keys.
 * *raw (may be NULL) gets the array's JSON text.
 */
static int
read_attrs(struct sre_otlp *r, struct sre_json *j, want_fn want,
    void (*apply)(void *, int, const struct sre_otlp_value *, unsigned *),
    void *ctx, struct sre_json_str *raw, unsigned *quirks)
{
	struct sre_otlp_value v;
	struct sre_json_str key;
	enum sre_json_type t = sre_json_peek(j);
	size_t start = j->pos;
	int rc, id;

	if (t == SRE_JSON_NONE)
		return -1;
	if (t == SRE_JSON_NULL)
		return sre_json_null(j);
	if (t != SRE_JSON_ARRAY) {
		*quirks |= SRE_OTLP_Q_IGNORED;
		return sre_json_skip(j);
	}
	if (sre_json_arr_begin(j) < 0)
		return -1;
	while ((rc = sre_json_arr_next(j)) > 0) {
		if (read_kv(r, j, want, &key, &id, &v, quirks) < 0)
			return -1;
		if (id != 0)
			apply(ctx, id, &v, quirks);
	}
	if (rc < 0)
		return -1;
	if (raw != NULL) {
		raw->p = j->buf + start;
		raw->n = j->pos - start;
	}
	return 0;
}

/* A string attribute value into *dst; other kinds are ignored. */
static void
set_str_attr(struct sre_json_str *dst, const struct sre_otlp_value *v,
    unsigned *quirks)
{
	if (v->type == SRE_OTLP_V_STRING)
		*dst = v->s;
	else if (v->type != SRE_OTLP_V_NONE)
		*quirks |= SRE_OTLP_Q_IGNORED;
}

/* ---- resource, scope ------------------------------------------------ */

enum { RA_NAME = 1, RA_VERSION, RA_NAMESPACE, RA_HOST };

static int
want_resource(struct sre_json_str k)
{
	switch (k.n) {
	case 9:
		return KEY(k, "host.name") ? RA_HOST : 0;
	case 12:
		return KEY(k, "service.name") ? RA_NAME : 0;
	case 15:
		return KEY(k, "service.version") ? RA_VERSION : 0;
	case 17:
		return KEY(k, "service.namespace") ? RA_NAMESPACE : 0;
	default:
		return 0;
	}
}

static void
apply_resource(void *ctx, int id, const struct sre_otlp_value *v,
    unsigned *quirks)
{
	struct sre_otlp_resource *res = ctx;

	switch (id) {
	case RA_NAME:
		set_str_attr(&res->service, v, quirks);
		break;
	case RA_VERSION:
		set_str_attr(&res->service_version, v, quirks);
		break;
	case RA_NAMESPACE:
		set_str_attr(&res->service_namespace, v, quirks);
		break;
	case RA_HOST:
		set_str_attr(&res->host, v, quirks);
		break;
	default:
		break;
	}
}

static int
read_resource(struct sre_otlp *r, struct sre_json *j,
    struct sre_otlp_resource *res, unsigned *quirks)
{
	struct sre_json_str k;
	char kb[64];
	int rc;

	if ((rc = open_obj(j)) <= 0)
		return rc;
	if (rc == 2) {
		*quirks |= SRE_OTLP_Q_IGNORED;
		return 0;
	}
	while ((rc = next_key(j, &k, kb)) > 0) {
		if (KEY(k, "attributes")) {
			if (read_attrs(r, j, want_resource, apply_resource, res,
			    &res->attrs, quirks) < 0)
				return -1;
		} else if (sre_json_skip(j) < 0)
			return -1;
	}
	return rc;
}

static int
read_scope(struct sre_otlp *r, struct sre_json *j,
    struct sre_otlp_resource *res, unsigned *quirks)
{
	struct sre_json_str k;
	char kb[64];
	int rc;

	if ((rc = open_obj(j)) <= 0)
		return rc;
	if (rc == 2) {
		*quirks |= SRE_OTLP_Q_IGNORED;
		return 0;
	}
	while ((rc = next_key(j, &k, kb)) > 0) {
		if (KEY(k, "name"))
			rc = f_str(r, j, &res->scope, quirks);
		else if (KEY(k, "version"))
			rc = f_str(r, j, &res->scope_version, quirks);
		else
			rc = sre_json_skip(j) < 0 ? F_ERR : F_OK;
		if (rc == F_ERR)
			return -1;
		if (rc == F_BAD)
			*quirks |= SRE_OTLP_Q_IGNORED;
	}
	return rc;
}

/* ---- lists ---------------------------------------------------------- */

typedef int (*elem_fn)(struct sre_otlp *r, struct sre_json *j, void *ctx);

/*
 * The pending value is a list named name: call elem for each element with
 * the path extended.  A list that is not an array is rejected as a whole.
 */
static int
read_list(struct sre_otlp *r, struct sre_json *j, const char *name,
    elem_fn elem, void *ctx)
{
	enum sre_json_type t = sre_json_peek(j);
	size_t off = j->pos;
	int lvl = r->lvl, rc;

	if (t == SRE_JSON_NONE)
		return -1;
	if (t == SRE_JSON_NULL)
		return sre_json_null(j);
	if (t != SRE_JSON_ARRAY) {
		if (sre_json_skip(j) < 0)
			return -1;
		return reject(r, name, "not an array", off);
	}
	if (sre_json_arr_begin(j) < 0)
		return -1;
	r->pname[lvl] = name;
	r->pidx[lvl] = 0;
	r->lvl = lvl + 1;
	while ((rc = sre_json_arr_next(j)) > 0) {
		if (elem(r, j, ctx) < 0)
			return -1;
		r->pidx[lvl]++;
	}
	if (rc < 0)
		return -1;
	r->lvl = lvl;
	return 0;
}

/*
 * Open the pending list element as an object.  1: opened; 0: null, or
 * not an object (rejected, skipped); -1.
 */
static int
open_elem(struct sre_otlp *r, struct sre_json *j)
{
	size_t off;
	int rc;

	if (sre_json_peek(j) == SRE_JSON_NONE)
		return -1;
	off = j->pos;
	if ((rc = open_obj(j)) == 2)
		return reject(r, NULL, "not an object", off) < 0 ? -1 : 0;
	return rc;
}

static int
deliver_stop(struct sre_otlp *r, int rc)
{
	if (rc != 0) {
		r->res->stop = rc;
		r->stopped = 1;
		return -1;
	}
	return 0;
}

/* ---- spans ---------------------------------------------------------- */

enum {
	SA_HTTP_STATUS = 1, SA_HTTP_STATUS_OLD, SA_METHOD, SA_METHOD_OLD,
	SA_ROUTE, SA_SERVER_ADDR, SA_PEER_NAME, SA_PEER_SERVICE,
	SA_DB_SYSTEM, SA_DB_SYSTEM_NAME, SA_RPC_SERVICE, SA_ERROR_TYPE,
	SA_EXC_TYPE, SA_EXC_MSG
};

static int
want_span(struct sre_json_str k)
{
	switch (k.n) {
	case 9:
		return KEY(k, "db.system") ? SA_DB_SYSTEM : 0;
	case 10:
		if (KEY(k, "http.route"))
			return SA_ROUTE;
		return KEY(k, "error.type") ? SA_ERROR_TYPE : 0;
	case 11:
		if (KEY(k, "http.method"))
			return SA_METHOD_OLD;
		return KEY(k, "rpc.service") ? SA_RPC_SERVICE : 0;
	case 12:
		return KEY(k, "peer.service") ? SA_PEER_SERVICE : 0;
	case 13:
		return KEY(k, "net.peer.name") ? SA_PEER_NAME : 0;
	case 14:
		if (KEY(k, "server.address"))
			return SA_SERVER_ADDR;
		if (KEY(k, "db.system.name"))
			return SA_DB_SYSTEM_NAME;
		return KEY(k, "exception.type") ? SA_EXC_TYPE : 0;
	case 16:
		return KEY(k, "http.status_code") ? SA_HTTP_STATUS_OLD : 0;
	case 17:
		return KEY(k, "exception.message") ? SA_EXC_MSG : 0;
	case 19:
		return KEY(k, "http.request.method") ? SA_METHOD : 0;
	case 25:
		return KEY(k, "http.response.status_code") ? SA_HTTP_STATUS : 0;
	default:
		return 0;
	}
}

struct span_ctx {
	struct sre_otlp_span *s;
	unsigned newer;		/* fields set by the current semconv name */
};

/* An HTTP status code attribute: 100..999 as an int, "503", 503.0. */
static int
http_status(const struct sre_otlp_value *v, unsigned *quirks)
{
	int64_t i = 0;

	switch (v->type) {
	case SRE_OTLP_V_INT:
		i = v->i;
		break;
	case SRE_OTLP_V_STRING:
		if (sre_json_parse_i64(v->s.p, v->s.n, &i) < 0)
			i = 0;
		*quirks |= SRE_OTLP_Q_CONVERTED;
		break;
	case SRE_OTLP_V_DOUBLE:
		if (v->d == floor(v->d) && v->d >= 0 && v->d < 1000)
			i = (int64_t)v->d;
		*quirks |= SRE_OTLP_Q_CONVERTED;
		break;
	default:
		break;
	}
	if (i < 100 || i > 999) {
		*quirks |= SRE_OTLP_Q_IGNORED;
		return 0;
	}
	return (int)i;
}

/* Set a field, the newer semconv name winning over the older one. */
static void
set_pref(struct span_ctx *c, struct sre_json_str *dst, unsigned bit, int newer,
    const struct sre_otlp_value *v, unsigned *quirks)
{
	if (!newer && (c->newer & bit))
		return;
	set_str_attr(dst, v, quirks);
	if (newer && v->type == SRE_OTLP_V_STRING)
		c->newer |= bit;
}

static void
apply_span(void *ctx, int id, const struct sre_otlp_value *v, unsigned *quirks)
{
	struct span_ctx *c = ctx;
	struct sre_otlp_span *s = c->s;
	int st;

	switch (id) {
	case SA_HTTP_STATUS:
	case SA_HTTP_STATUS_OLD:
		if (id == SA_HTTP_STATUS_OLD && (c->newer & 1))
			break;
		st = http_status(v, quirks);
		if (st != 0) {
			s->http_status = st;
			if (id == SA_HTTP_STATUS)
				c->newer |= 1;
		}
		break;
	case SA_METHOD:
	case SA_METHOD_OLD:
		set_pref(c, &s->http_method, 2, id == SA_METHOD, v, quirks);
		break;
	case SA_SERVER_ADDR:
	case SA_PEER_NAME:
		set_pref(c, &s->server_address, 4, id == SA_SERVER_ADDR, v,
		    quirks);
		break;
	case SA_DB_SYSTEM:
	case SA_DB_SYSTEM_NAME:
		set_pref(c, &s->db_system, 8, id == SA_DB_SYSTEM_NAME, v,
		    quirks);
		break;
	case SA_EXC_TYPE:
		/* an exception event's own attribute wins over the span's */
		if (s->exception_type.n == 0)
			set_str_attr(&s->exception_type, v, quirks);
		break;
	case SA_EXC_MSG:
		if (s->exception_message.n == 0)
			set_str_attr(&s->exception_message, v, quirks);
		break;
	case SA_ROUTE:
		set_str_attr(&s->http_route, v, quirks);
		break;
	case SA_PEER_SERVICE:
		set_str_attr(&s->peer_service, v, quirks);
		break;
	case SA_RPC_SERVICE:
		set_str_attr(&s->rpc_service, v, quirks);
		break;
	case SA_ERROR_TYPE:
		set_str_attr(&s->error_type, v, quirks);
		break;
	default:
		break;
	}
}

static int
want_exception(struct sre_json_str k)
{
	if (KEY(k, "exception.type"))
		return SA_EXC_TYPE;
	if (KEY(k, "exception.message"))
		return SA_EXC_MSG;
	return 0;
}

struct exc {
	struct sre_json_str type, message;
};

static void
apply_exception(void *ctx, int id, const struct sre_otlp_value *v,
    unsigned *quirks)
{
	struct exc *e = ctx;

	set_str_attr(id == SA_EXC_TYPE ? &e->type : &e->message, v, quirks);
}

/* events: count them; keep the first exception event's type and message. */
static int
read_events(struct sre_otlp *r, struct sre_json *j, struct sre_otlp_span *s,
    unsigned *quirks)
{
	struct sre_json_str k, name;
	enum sre_json_type t = sre_json_peek(j);
	size_t start = j->pos;
	struct exc e;
	char kb[64];
	int rc, ex_seen = 0;

	if (t == SRE_JSON_NONE)
		return -1;
	if (t == SRE_JSON_NULL)
		return sre_json_null(j);
	if (t != SRE_JSON_ARRAY) {
		*quirks |= SRE_OTLP_Q_IGNORED;
		return sre_json_skip(j);
	}
	if (sre_json_arr_begin(j) < 0)
		return -1;
	while ((rc = sre_json_arr_next(j)) > 0) {
		if ((rc = open_obj(j)) < 0)
			return -1;
		if (rc != 1) {
			if (rc == 2)
				*quirks |= SRE_OTLP_Q_IGNORED;
			continue;
		}
		s->n_events++;
		memset(&e, 0, sizeof(e));
		name.n = 0;
		while ((rc = next_key(j, &k, kb)) > 0) {
			if (KEY(k, "name"))
				rc = f_str(r, j, &name, quirks);
			else if (KEY(k, "attributes"))
				rc = read_attrs(r, j, want_exception,
				    apply_exception, &e, NULL, quirks);
			else
				rc = sre_json_skip(j);
			if (rc < 0)
				return -1;
		}
		if (rc < 0)
			return -1;
		if (!ex_seen && KEY(name, "exception")) {
			ex_seen = 1;
			if (e.type.n > 0)
				s->exception_type = e.type;
			if (e.message.n > 0)
				s->exception_message = e.message;
		}
	}
	if (rc < 0)
		return -1;
	s->events.p = j->buf + start;
	s->events.n = j->pos - start;
	return 0;
}

static int
read_status(struct sre_otlp *r, struct sre_json *j, struct sre_otlp_span *s,
    struct rej *x)
{
	struct sre_json_str k;
	int64_t code;
	char kb[64];
	size_t off;
	int rc;

	if ((rc = open_obj(j)) <= 0)
		return rc;
	if (rc == 2) {
		set_rej(x, "status", "not an object", j->pos);
		return 0;
	}
	while ((rc = next_key(j, &k, kb)) > 0) {
		if (sre_json_peek(j) == SRE_JSON_NONE)
			return -1;
		off = j->pos;
		if (KEY(k, "code")) {
			rc = f_i64(j, &code, &s->quirks, status_names, 0);
			if (rc == F_OK && (code < 0 || code > 2))
				rc = F_BAD;
			if (rc == F_OK)
				s->status = (int)code;
			else if (rc == F_BAD)
				set_rej(x, "status.code", "not a status code",
				    off);
		} else if (KEY(k, "message")) {
			rc = f_str(r, j, &s->status_message, &s->quirks);
			if (rc == F_BAD)
				s->quirks |= SRE_OTLP_Q_IGNORED;
		} else
			rc = sre_json_skip(j);
		if (rc < 0)
			return -1;
	}
	return rc;
}

/* Span members, in protobuf field order (the order writers use). */
enum {
	SK_END, SK_OTHER, SK_TRACE_ID, SK_SPAN_ID, SK_TRACE_STATE,
	SK_PARENT, SK_FLAGS, SK_NAME, SK_KIND, SK_START, SK_ENDTIME,
	SK_ATTRS, SK_DROPPED_ATTRS, SK_EVENTS, SK_DROPPED_EVENTS, SK_LINKS,
	SK_DROPPED_LINKS, SK_STATUS, SK_N
};

static const struct {
	const char *name;
	size_t len;
} span_key[SK_N] = {
	[SK_TRACE_ID] = { "traceId", 7 },
	[SK_SPAN_ID] = { "spanId", 6 },
	[SK_TRACE_STATE] = { "traceState", 10 },
	[SK_PARENT] = { "parentSpanId", 12 },
	[SK_FLAGS] = { "flags", 5 },
	[SK_NAME] = { "name", 4 },
	[SK_KIND] = { "kind", 4 },
	[SK_START] = { "startTimeUnixNano", 17 },
	[SK_ENDTIME] = { "endTimeUnixNano", 15 },
	[SK_ATTRS] = { "attributes", 10 },
	[SK_DROPPED_ATTRS] = { "droppedAttributesCount", 22 },
	[SK_EVENTS] = { "events", 6 },
	[SK_DROPPED_EVENTS] = { "droppedEventsCount", 18 },
	[SK_LINKS] = { "links", 5 },
	[SK_DROPPED_LINKS] = { "droppedLinksCount", 17 },
	[SK_STATUS] = { "status", 6 },
};

/*
 * The next member of a span: its SK_* id (the value is pending), SK_END
 * when the span ends, -1.  The keys that usually come next are matched
 * as bytes first, which saves scanning them.
 */
static int
next_span_key(struct sre_json *j, int *next)
{
	struct sre_json_str k;
	char kb[64];
	int i, rc;

	for (i = *next; i < SK_N && i < *next + 4; i++) {
		rc = sre_json_obj_next_key(j, span_key[i].name, span_key[i].len);
		if (rc < 0)
			return -1;
		if (rc > 0) {
			*next = i + 1;
			return i;
		}
	}
	if ((rc = next_key(j, &k, kb)) <= 0)
		return rc < 0 ? -1 : SK_END;
	for (i = SK_TRACE_ID; i < SK_N; i++)
		if (k.n == span_key[i].len &&
		    memcmp(k.p, span_key[i].name, k.n) == 0) {
			*next = i + 1;
			return i;
		}
	return SK_OTHER;
}

static int
read_span(struct sre_otlp *r, struct sre_json *j, void *ctx)
{
	struct sre_otlp_span s;
	struct span_ctx sc;
	struct rej x = { NULL, NULL, 0 };
	int64_t kind;
	size_t off;
	int rc, key, next = SK_TRACE_ID;

	if ((rc = open_elem(r, j)) <= 0)
		return rc;
	memset(&s, 0, sizeof(s));
	s.res = ctx;
	s.index = r->pidx[r->lvl - 1];
	sc.s = &s;
	sc.newer = 0;
	while ((key = next_span_key(j, &next)) > SK_END) {
		if (sre_json_peek(j) == SRE_JSON_NONE)
			return -1;
		off = j->pos;
		rc = F_OK;
		switch (key) {
		case SK_TRACE_ID:
			if ((rc = f_str(r, j, &s.trace_id, &s.quirks)) == F_BAD)
				s.quirks |= SRE_OTLP_Q_IGNORED;
			break;
		case SK_SPAN_ID:
			if ((rc = f_str(r, j, &s.span_id, &s.quirks)) == F_BAD)
				s.quirks |= SRE_OTLP_Q_IGNORED;
			break;
		case SK_PARENT:
			if ((rc = f_str(r, j, &s.parent_span_id, &s.quirks)) ==
			    F_BAD)
				s.quirks |= SRE_OTLP_Q_IGNORED;
			break;
		case SK_NAME:
			if ((rc = f_str(r, j, &s.name, &s.quirks)) == F_BAD)
				s.quirks |= SRE_OTLP_Q_IGNORED;
			break;
		case SK_KIND:
			rc = f_i64(j, &kind, &s.quirks, kind_names, 0);
			if (rc == F_OK && kind >= 0 && kind <= 5)
				s.kind = (int)kind;
			else if (rc != F_ABSENT && rc != F_ERR) {
				rc = F_OK;
				s.quirks |= SRE_OTLP_Q_IGNORED;
			}
			break;
		case SK_START:
			if ((rc = f_u64(j, &s.start_ns, &s.quirks)) == F_BAD)
				set_rej(&x, "startTimeUnixNano",
				    "not an unsigned 64-bit integer", off);
			break;
		case SK_ENDTIME:
			if ((rc = f_u64(j, &s.end_ns, &s.quirks)) == F_BAD)
				set_rej(&x, "endTimeUnixNano",
				    "not an unsigned 64-bit integer", off);
			break;
		case SK_ATTRS:
			rc = read_attrs(r, j, want_span, apply_span, &sc,
			    &s.attrs, &s.quirks);
			break;
		case SK_EVENTS:
			rc = read_events(r, j, &s, &s.quirks);
			break;
		case SK_STATUS:
			rc = read_status(r, j, &s, &x);
			break;
		default:
			rc = sre_json_skip(j);
			break;
		}
		if (rc < 0)
			return -1;
	}
	if (key < 0)
		return -1;
	if (x.field == NULL && s.start_ns == 0 && s.end_ns == 0)
		set_rej(&x, "startTimeUnixNano", "missing", j->pos);
	if (x.field != NULL)
		return reject_rec(r, &x);
	if (s.start_ns == 0) {
		s.start_ns = s.end_ns;
		s.quirks |= SRE_OTLP_Q_NO_START;
	} else if (s.end_ns == 0) {
		s.end_ns = s.start_ns;
		s.quirks |= SRE_OTLP_Q_NO_END;
	} else if (s.end_ns < s.start_ns)
		s.quirks |= SRE_OTLP_Q_END_BEFORE_START;
	else
		s.duration_ns = s.end_ns - s.start_ns;
	r->res->records++;
	if (r->h->span != NULL)
		return deliver_stop(r, r->h->span(r->h->arg, &s));
	return 0;
}

/* ---- metrics -------------------------------------------------------- */

struct metric_ctx {
	const struct sre_otlp_resource *res;
	struct sre_json_str name, unit;
	enum sre_otlp_metric_type type;
	int temporality;
	int monotonic;
	unsigned quirks;
};

static const char *const dp_name[] = {
	"", "gauge.dataPoints", "sum.dataPoints", "histogram.dataPoints",
	"exponentialHistogram.dataPoints", "summary.dataPoints"
};

/* An array of uint64 (counts) or doubles (bounds) into r->arr[k]. */
static int
read_num_array(struct sre_json *j, struct sre_otlp *r, int k, int dbl,
    const char *field, struct rej *x, unsigned *quirks)
{
	enum sre_json_type t = sre_json_peek(j);
	size_t off = j->pos;
	uint64_t u;
	double d;
	int rc;

	r->arr[k].n = 0;
	if (t == SRE_JSON_NONE)
		return -1;
	if (t == SRE_JSON_NULL)
		return sre_json_null(j);
	if (t != SRE_JSON_ARRAY) {
		set_rej(x, field, "not an array", off);
		return sre_json_skip(j);
	}
	if (sre_json_arr_begin(j) < 0)
		return -1;
	while ((rc = sre_json_arr_next(j)) > 0) {
		if (sre_json_peek(j) == SRE_JSON_NONE)
			return -1;
		off = j->pos;
		rc = dbl ? f_double(j, &d) : f_u64(j, &u, quirks);
		if (rc == F_ERR)
			return -1;
		if (rc != F_OK) {
			set_rej(x, field, dbl ? "element not a number" :
			    "element not an unsigned 64-bit integer", off);
			continue;
		}
		if (arr_push(r, k, dbl ? (const void *)&d : (const void *)&u) <
		    0)
			return -1;
	}
	return rc;
}

/* exponential histogram buckets: {"offset": n, "bucketCounts": [...]} */
static int
read_exp_buckets(struct sre_json *j, struct sre_otlp *r, int k, int *offset,
    const char *field, struct rej *x, unsigned *quirks)
{
	struct sre_json_str key;
	int64_t o;
	char kb[64];
	size_t off;
	int rc;

	r->arr[k].n = 0;
	if (sre_json_peek(j) == SRE_JSON_NONE)
		return -1;
	off = j->pos;
	if ((rc = open_obj(j)) <= 0)
		return rc;
	if (rc == 2) {
		set_rej(x, field, "not an object", off);
		return 0;
	}
	while ((rc = next_key(j, &key, kb)) > 0) {
		if (sre_json_peek(j) == SRE_JSON_NONE)
			return -1;
		off = j->pos;
		if (KEY(key, "offset")) {
			rc = f_i64(j, &o, quirks, NULL, 0);
			if (rc == F_OK && o >= -2147483647 && o <= 2147483647)
				*offset = (int)o;
			else if (rc != F_ABSENT && rc != F_ERR)
				set_rej(x, field, "offset: not an integer", off);
		} else if (KEY(key, "bucketCounts"))
			rc = read_num_array(j, r, k, 0, field, x, quirks);
		else
			rc = sre_json_skip(j);
		if (rc < 0)
			return -1;
	}
	return rc;
}

/* summary quantileValues: [{"quantile": q, "value": v}, ...] */
static int
read_quantiles(struct sre_json *j, struct sre_otlp *r, struct rej *x,
    unsigned *quirks)
{
	enum sre_json_type t = sre_json_peek(j);
	struct sre_json_str key;
	char kb[64];
	double q, v;
	size_t off = j->pos;
	int rc;

	r->arr[A_QUANT].n = 0;
	r->arr[A_QVAL].n = 0;
	if (t == SRE_JSON_NONE)
		return -1;
	if (t == SRE_JSON_NULL)
		return sre_json_null(j);
	if (t != SRE_JSON_ARRAY) {
		set_rej(x, "quantileValues", "not an array", off);
		return sre_json_skip(j);
	}
	if (sre_json_arr_begin(j) < 0)
		return -1;
	while ((rc = sre_json_arr_next(j)) > 0) {
		if (sre_json_peek(j) == SRE_JSON_NONE)
			return -1;
		off = j->pos;
		if ((rc = open_obj(j)) < 0)
			return -1;
		if (rc != 1) {
			set_rej(x, "quantileValues", "element not an object",
			    off);
			continue;
		}
		q = v = 0;	/* proto3: zero values may be omitted */
		while ((rc = next_key(j, &key, kb)) > 0) {
			if (sre_json_peek(j) == SRE_JSON_NONE)
				return -1;
			off = j->pos;
			if (KEY(key, "quantile"))
				rc = f_double(j, &q);
			else if (KEY(key, "value"))
				rc = f_double(j, &v);
			else
				rc = sre_json_skip(j) < 0 ? F_ERR : F_OK;
			if (rc == F_ERR)
				return -1;
			if (rc == F_BAD)
				set_rej(x, "quantileValues",
				    "element not a number", off);
		}
		if (rc < 0)
			return -1;
		if (arr_push(r, A_QUANT, &q) < 0 || arr_push(r, A_QVAL, &v) < 0)
			return -1;
	}
	(void)quirks;
	return rc;
}

/* One member k of a data point into p; a bad value is noted in x (the
 * point rejected) or in p's quirks (ignored).  F_* or -1. */
static int
point_member(struct sre_otlp *r, struct sre_json *j, struct sre_json_str k,
    struct sre_otlp_point *p, struct rej *x, uint64_t *flags)
{
	size_t off = j->pos;
	int64_t i64;
	double d;
	int rc = F_OK;

	if (KEY(k, "timeUnixNano")) {
		if ((rc = f_u64(j, &p->time_ns, &p->quirks)) == F_BAD)
			set_rej(x, "timeUnixNano",
			    "not an unsigned 64-bit integer", off);
	} else if (KEY(k, "startTimeUnixNano")) {
		if ((rc = f_u64(j, &p->start_ns, &p->quirks)) == F_BAD)
			p->quirks |= SRE_OTLP_Q_IGNORED;
	} else if (KEY(k, "attributes")) {
		if ((rc = f_raw(j, SRE_JSON_ARRAY, &p->attrs)) == F_BAD)
			p->quirks |= SRE_OTLP_Q_IGNORED;
	} else if (KEY(k, "asDouble")) {
		rc = f_double(j, &p->value);
		if (rc == F_OK) {
			p->has |= SRE_OTLP_HAS_VALUE;
			p->has &= ~(unsigned)SRE_OTLP_HAS_INT;
		} else if (rc == F_BAD)
			set_rej(x, "asDouble", "not a number", off);
	} else if (KEY(k, "asInt")) {
		rc = f_i64(j, &p->ivalue, &p->quirks, NULL, 0);
		if (rc == F_OK) {
			p->value = (double)p->ivalue;
			p->has |= SRE_OTLP_HAS_VALUE | SRE_OTLP_HAS_INT;
		} else if (rc == F_BAD)
			set_rej(x, "asInt", "not a 64-bit integer",
			    off);
	} else if (KEY(k, "count")) {
		if ((rc = f_u64(j, &p->count, &p->quirks)) == F_BAD)
			set_rej(x, "count",
			    "not an unsigned 64-bit integer", off);
	} else if (KEY(k, "sum")) {
		if ((rc = f_double(j, &p->sum)) == F_OK)
			p->has |= SRE_OTLP_HAS_SUM;
		else if (rc == F_BAD)
			set_rej(x, "sum", "not a number", off);
	} else if (KEY(k, "min") || KEY(k, "max")) {
		int is_min = k.p[1] == 'i';

		if ((rc = f_double(j, &d)) == F_OK) {
			*(is_min ? &p->min : &p->max) = d;
			p->has |= is_min ? SRE_OTLP_HAS_MIN :
			    SRE_OTLP_HAS_MAX;
		} else if (rc == F_BAD)
			p->quirks |= SRE_OTLP_Q_IGNORED;
	} else if (KEY(k, "bucketCounts")) {
		rc = read_num_array(j, r, A_BUCKETS, 0, "bucketCounts",
		    x, &p->quirks);
	} else if (KEY(k, "explicitBounds")) {
		rc = read_num_array(j, r, A_BOUNDS, 1, "explicitBounds",
		    x, &p->quirks);
	} else if (KEY(k, "scale")) {
		rc = f_i64(j, &i64, &p->quirks, NULL, 0);
		if (rc == F_OK && i64 >= -1000 && i64 <= 1000)
			p->scale = (int)i64;
		else if (rc == F_OK || rc == F_BAD) {
			rc = F_OK;
			set_rej(x, "scale", "not a small integer", off);
		}
	} else if (KEY(k, "zeroCount")) {
		if ((rc = f_u64(j, &p->zero_count, &p->quirks)) == F_BAD)
			set_rej(x, "zeroCount",
			    "not an unsigned 64-bit integer", off);
	} else if (KEY(k, "positive")) {
		rc = read_exp_buckets(j, r, A_POS, &p->pos_offset,
		    "positive", x, &p->quirks);
	} else if (KEY(k, "negative")) {
		rc = read_exp_buckets(j, r, A_NEG, &p->neg_offset,
		    "negative", x, &p->quirks);
	} else if (KEY(k, "quantileValues")) {
		rc = read_quantiles(j, r, x, &p->quirks);
	} else if (KEY(k, "flags")) {
		if ((rc = f_u64(j, flags, &p->quirks)) == F_BAD)
			p->quirks |= SRE_OTLP_Q_IGNORED;
	} else
		rc = sre_json_skip(j);
	return rc;
}

static int
read_point(struct sre_otlp *r, struct sre_json *j, void *ctx)
{
	const struct metric_ctx *m = ctx;
	struct sre_otlp_point p;
	struct sre_json_str k;
	struct rej x = { NULL, NULL, 0 };
	uint64_t flags = 0;
	char kb[64];
	int rc, k_arr;

	if ((rc = open_elem(r, j)) <= 0)
		return rc;
	memset(&p, 0, sizeof(p));
	p.res = m->res;
	p.metric = m->name;
	p.unit = m->unit;
	p.type = m->type;
	p.temporality = m->temporality;
	p.monotonic = m->monotonic;
	p.quirks = m->quirks;
	for (k_arr = 0; k_arr < A_N; k_arr++)
		r->arr[k_arr].n = 0;
	while ((rc = next_key(j, &k, kb)) > 0) {
		if (sre_json_peek(j) == SRE_JSON_NONE)
			return -1;
		rc = point_member(r, j, k, &p, &x, &flags);
		if (rc < 0)
			return -1;
	}
	if (rc < 0)
		return -1;
	if (x.field == NULL && p.time_ns == 0) {
		if (p.start_ns != 0) {
			p.time_ns = p.start_ns;
			p.quirks |= SRE_OTLP_Q_NO_TIME;
		} else
			set_rej(&x, "timeUnixNano", "missing", j->pos);
	}
	if (x.field == NULL && (p.type == SRE_OTLP_GAUGE ||
	    p.type == SRE_OTLP_SUM) && !(p.has & SRE_OTLP_HAS_VALUE) &&
	    !(flags & 1))
		set_rej(&x, "asDouble", "missing (no asDouble, no asInt)",
		    j->pos);
	if (p.start_ns != 0)
		p.has |= SRE_OTLP_HAS_START;
	p.bucket_counts = r->arr[A_BUCKETS].v;
	p.n_bucket_counts = r->arr[A_BUCKETS].n;
	p.bounds = r->arr[A_BOUNDS].v;
	p.n_bounds = r->arr[A_BOUNDS].n;
	p.pos_counts = r->arr[A_POS].v;
	p.n_pos = r->arr[A_POS].n;
	p.neg_counts = r->arr[A_NEG].v;
	p.n_neg = r->arr[A_NEG].n;
	p.quantiles = r->arr[A_QUANT].v;
	p.quantile_values = r->arr[A_QVAL].v;
	p.n_quantiles = r->arr[A_QUANT].n;
	/* buckets that do not fit the bounds: keep count and sum only */
	if (p.type == SRE_OTLP_HISTOGRAM && (p.n_bucket_counts != 0 ||
	    p.n_bounds != 0) && p.n_bucket_counts != p.n_bounds + 1) {
		p.n_bucket_counts = 0;
		p.n_bounds = 0;
		p.quirks |= SRE_OTLP_Q_IGNORED;
	}
	if (x.field != NULL)
		return reject_rec(r, &x);
	r->res->records++;
	if (r->h->point != NULL)
		return deliver_stop(r, r->h->point(r->h->arg, &p));
	return 0;
}

/* gauge/sum/histogram/...: {"dataPoints": [...], "aggregationTemporality"...} */
static int
read_metric_data(struct sre_otlp *r, struct sre_json *j, struct metric_ctx *m,
    const char *field)
{
	struct sre_json_mark def[DEFER_MAX], end;
	struct sre_json_str k;
	int64_t t;
	char kb[64];
	size_t off = j->pos;
	int rc, b, nd = 0, i;
	int defer = m->type == SRE_OTLP_SUM || m->type == SRE_OTLP_HISTOGRAM ||
	    m->type == SRE_OTLP_EXP_HISTOGRAM;

	if ((rc = open_obj(j)) <= 0)
		return rc;
	if (rc == 2)
		return reject(r, field, "not an object", off);
	while ((rc = next_key(j, &k, kb)) > 0) {
		if (KEY(k, "dataPoints")) {
			if (defer && nd < DEFER_MAX) {
				sre_json_mark(j, &def[nd++]);
				rc = sre_json_skip(j);
			} else
				rc = read_list(r, j, dp_name[m->type],
				    read_point, m);
		} else if (KEY(k, "aggregationTemporality")) {
			rc = f_i64(j, &t, &m->quirks, temporality_names, 0);
			if (rc == F_OK && t >= 0 && t <= 2)
				m->temporality = (int)t;
			else if (rc != F_ABSENT && rc != F_ERR)
				m->quirks |= SRE_OTLP_Q_IGNORED;
		} else if (KEY(k, "isMonotonic")) {
			rc = f_bool(j, &b, &m->quirks);
			if (rc == F_OK)
				m->monotonic = b;
			else if (rc == F_BAD)
				m->quirks |= SRE_OTLP_Q_IGNORED;
		} else
			rc = sre_json_skip(j);
		if (rc < 0)
			return -1;
	}
	if (rc < 0)
		return -1;
	if (nd > 0) {
		sre_json_mark(j, &end);
		for (i = 0; i < nd; i++) {
			sre_json_seek(j, &def[i]);
			if (read_list(r, j, dp_name[m->type], read_point, m) < 0)
				return -1;
		}
		sre_json_seek(j, &end);
	}
	return 0;
}

static int
metric_type(struct sre_json_str k)
{
	if (KEY(k, "gauge"))
		return SRE_OTLP_GAUGE;
	if (KEY(k, "sum"))
		return SRE_OTLP_SUM;
	if (KEY(k, "histogram"))
		return SRE_OTLP_HISTOGRAM;
	if (KEY(k, "exponentialHistogram"))
		return SRE_OTLP_EXP_HISTOGRAM;
	if (KEY(k, "summary"))
		return SRE_OTLP_SUMMARY;
	return 0;
}

static const char *const type_name[] = {
	"", "gauge", "sum", "histogram", "exponentialHistogram", "summary"
};

static int
read_metric(struct sre_otlp *r, struct sre_json *j, void *ctx)
{
	struct sre_json_mark def[DEFER_MAX], end;
	int deftype[DEFER_MAX];
	struct metric_ctx m;
	struct sre_json_str k;
	char kb[64];
	size_t off, name_off = 0;
	int rc, type, nd = 0, i, name_bad = 0;

	if ((rc = open_elem(r, j)) <= 0)
		return rc;
	memset(&m, 0, sizeof(m));
	m.res = ctx;
	while ((rc = next_key(j, &k, kb)) > 0) {
		if (sre_json_peek(j) == SRE_JSON_NONE)
			return -1;
		off = j->pos;
		if (KEY(k, "name")) {
			rc = f_str(r, j, &m.name, &m.quirks);
			if (rc == F_BAD) {
				name_bad = 1;
				name_off = off;
			}
		} else if (KEY(k, "unit")) {
			if ((rc = f_str(r, j, &m.unit, &m.quirks)) == F_BAD)
				m.quirks |= SRE_OTLP_Q_IGNORED;
		} else if ((type = metric_type(k)) != 0) {
			if (m.name.n == 0 && nd < DEFER_MAX) {
				deftype[nd] = type;
				sre_json_mark(j, &def[nd++]);
				rc = sre_json_skip(j);
			} else {
				m.type = type;
				rc = read_metric_data(r, j, &m, type_name[type]);
			}
		} else
			rc = sre_json_skip(j);
		if (rc < 0)
			return -1;
	}
	if (rc < 0)
		return -1;
	if (nd == 0)
		return 0;
	if (m.name.n == 0)
		return reject(r, "name", name_bad ? "not a string" : "missing",
		    name_bad ? name_off : j->pos);
	sre_json_mark(j, &end);
	for (i = 0; i < nd; i++) {
		sre_json_seek(j, &def[i]);
		m.type = deftype[i];
		m.temporality = 0;
		m.monotonic = 0;
		if (read_metric_data(r, j, &m, type_name[m.type]) < 0)
			return -1;
	}
	sre_json_seek(j, &end);
	return 0;
}

/* ---- logs ----------------------------------------------------------- */

/* Cut s to at most max bytes, on a UTF-8 character boundary. */
static void
cut(struct sre_json_str *s, size_t max, unsigned *quirks)
{
	size_t n = max;

	if (s->n <= max)
		return;
	while (n > 0 && ((unsigned char)s->p[n] & 0xc0) == 0x80)
		n--;
	s->n = n;
	*quirks |= SRE_OTLP_Q_TRUNCATED;
}

static int
read_log(struct sre_otlp *r, struct sre_json *j, void *ctx)
{
	struct sre_otlp_log l;
	struct sre_otlp_value v;
	struct sre_json_str k;
	struct rej x = { NULL, NULL, 0 };
	int64_t sev;
	char kb[64];
	size_t off;
	int rc;

	if ((rc = open_elem(r, j)) <= 0)
		return rc;
	memset(&l, 0, sizeof(l));
	l.res = ctx;
	l.priority = -1;
	while ((rc = next_key(j, &k, kb)) > 0) {
		if (sre_json_peek(j) == SRE_JSON_NONE)
			return -1;
		off = j->pos;
		rc = F_OK;
		if (KEY(k, "timeUnixNano")) {
			if ((rc = f_u64(j, &l.time_ns, &l.quirks)) == F_BAD)
				set_rej(&x, "timeUnixNano",
				    "not an unsigned 64-bit integer", off);
		} else if (KEY(k, "observedTimeUnixNano")) {
			if ((rc = f_u64(j, &l.observed_ns, &l.quirks)) == F_BAD)
				l.quirks |= SRE_OTLP_Q_IGNORED;
		} else if (KEY(k, "severityNumber")) {
			rc = f_i64(j, &sev, &l.quirks, NULL, 1);
			if (rc == F_OK && sev >= 0 && sev <= 24)
				l.severity = (int)sev;
			else if (rc == F_OK || rc == F_BAD) {
				rc = F_OK;
				l.quirks |= SRE_OTLP_Q_IGNORED;
			}
		} else if (KEY(k, "severityText")) {
			if ((rc = f_str(r, j, &l.severity_text, &l.quirks)) ==
			    F_BAD)
				l.quirks |= SRE_OTLP_Q_IGNORED;
		} else if (KEY(k, "body")) {
			if ((rc = read_anyvalue(r, j, &v, &l.quirks)) == 0) {
				l.body_type = v.type;
				l.body = v.s;
				if (v.type == SRE_OTLP_V_ARRAY ||
				    v.type == SRE_OTLP_V_KVLIST) {
					cut(&l.body, BODY_MAX, &l.quirks);
					rc = sanitize(r, &l.body, &l.quirks);
				}
			}
		} else if (KEY(k, "attributes")) {
			if ((rc = f_raw(j, SRE_JSON_ARRAY, &l.attrs)) == F_BAD)
				l.quirks |= SRE_OTLP_Q_IGNORED;
		} else if (KEY(k, "traceId")) {
			if ((rc = f_str(r, j, &l.trace_id, &l.quirks)) == F_BAD)
				l.quirks |= SRE_OTLP_Q_IGNORED;
		} else if (KEY(k, "spanId")) {
			if ((rc = f_str(r, j, &l.span_id, &l.quirks)) == F_BAD)
				l.quirks |= SRE_OTLP_Q_IGNORED;
		} else if (KEY(k, "eventName")) {
			if ((rc = f_str(r, j, &l.event_name, &l.quirks)) ==
			    F_BAD)
				l.quirks |= SRE_OTLP_Q_IGNORED;
		} else
			rc = sre_json_skip(j);
		if (rc < 0)
			return -1;
	}
	if (rc < 0)
		return -1;
	if (x.field != NULL)
		return reject_rec(r, &x);
	if (l.time_ns == 0) {
		l.time_ns = l.observed_ns;
		if (l.time_ns == 0)
			l.quirks |= SRE_OTLP_Q_NO_TIME;
	}
	r->res->records++;
	if (r->h->log != NULL)
		return deliver_stop(r, r->h->log(r->h->arg, &l));
	return 0;
}

/* ---- the request hierarchy ------------------------------------------ */

struct group_ctx {
	enum sig sig;
	struct sre_otlp_resource *res;
};

static elem_fn const record_fn[] = { read_span, read_metric, read_log };

static int
is_scope_list(enum sig sig, struct sre_json_str k)
{
	static const char *const legacy[] = {
		"instrumentationLibrarySpans", "instrumentationLibraryMetrics",
		"instrumentationLibraryLogs"
	};

	return (k.n == strlen(scope_list_name[sig]) &&
	    memcmp(k.p, scope_list_name[sig], k.n) == 0) ||
	    (k.n == strlen(legacy[sig]) && memcmp(k.p, legacy[sig], k.n) == 0);
}

static int
is_record_list(enum sig sig, struct sre_json_str k)
{
	return k.n == strlen(record_list_name[sig]) &&
	    memcmp(k.p, record_list_name[sig], k.n) == 0;
}

/*
 * scopeSpans[i]: {"scope": {...}, "spans": [...]}.  The scope is not
 * worth a second pass: records before it (rare) have no scope name.
 */
static int
read_scope_group(struct sre_otlp *r, struct sre_json *j, void *ctx)
{
	const struct group_ctx *g = ctx;
	struct sre_otlp_resource rs = *g->res;
	struct sre_json_str k;
	char kb[64];
	int rc;

	if ((rc = open_elem(r, j)) <= 0)
		return rc;
	rs.scope.n = 0;
	rs.scope_version.n = 0;
	while ((rc = next_key(j, &k, kb)) > 0) {
		if (KEY(k, "scope") || KEY(k, "instrumentationLibrary"))
			rc = read_scope(r, j, &rs, &rs.quirks);
		else if (is_record_list(g->sig, k))
			rc = read_list(r, j, record_list_name[g->sig],
			    record_fn[g->sig], &rs);
		else
			rc = sre_json_skip(j);
		if (rc < 0)
			return -1;
	}
	return rc;
}

/* resourceSpans[i]: {"resource": {...}, "scopeSpans": [...]} */
static int
read_resource_group(struct sre_otlp *r, struct sre_json *j, void *ctx)
{
	const enum sig *sig = ctx;
	struct sre_otlp_resource res;
	struct group_ctx g;
	struct sre_json_mark def[DEFER_MAX], end;
	struct sre_json_str k;
	char kb[64];
	int rc, nd = 0, seen = 0, i;

	if ((rc = open_elem(r, j)) <= 0)
		return rc;
	memset(&res, 0, sizeof(res));
	res.index = r->pidx[r->lvl - 1];
	g.sig = *sig;
	g.res = &res;
	while ((rc = next_key(j, &k, kb)) > 0) {
		if (KEY(k, "resource")) {
			rc = read_resource(r, j, &res, &res.quirks);
			seen = 1;
		} else if (is_scope_list(*sig, k)) {
			if (!seen && nd < DEFER_MAX) {
				sre_json_mark(j, &def[nd++]);
				rc = sre_json_skip(j);
			} else
				rc = read_list(r, j, scope_list_name[*sig],
				    read_scope_group, &g);
		} else
			rc = sre_json_skip(j);
		if (rc < 0)
			return -1;
	}
	if (rc < 0)
		return -1;
	if (nd > 0) {
		sre_json_mark(j, &end);
		for (i = 0; i < nd; i++) {
			sre_json_seek(j, &def[i]);
			if (read_list(r, j, scope_list_name[*sig],
			    read_scope_group, &g) < 0)
				return -1;
		}
		sre_json_seek(j, &end);
	}
	return 0;
}

/* ---- flat lines: plain metric points, journal entries ---------------- */

enum {
	FL_TS_MS, FL_METRIC, FL_VALUE, FL_LABELS, FL_TYPE,
	FL_MESSAGE, FL_PRIORITY, FL_UNIT, FL_IDENT, FL_COMM, FL_HOST,
	FL_REALTIME, FL_CURSOR, FL_N
};

static const char *const flat_key[FL_N] = {
	"ts_ms", "metric", "value", "labels", "type",
	"MESSAGE", "PRIORITY", "_SYSTEMD_UNIT", "SYSLOG_IDENTIFIER", "_COMM",
	"_HOSTNAME", "__REALTIME_TIMESTAMP", "__CURSOR"
};

struct flat {
	struct sre_json_mark m[FL_N];
	unsigned seen;
};

#define SEEN(f, k)	(((f)->seen >> (k)) & 1)

/* Seek to a flat field's value; the caller reads it. */
static size_t
flat_seek(struct sre_json *j, const struct flat *f, int k)
{
	sre_json_seek(j, &f->m[k]);
	sre_json_peek(j);
	return j->pos;
}

static int
read_plain_point(struct sre_otlp *r, struct sre_json *j, const struct flat *f)
{
	static const struct sre_otlp_resource nores;
	struct sre_otlp_point p;
	struct rej x = { NULL, NULL, 0 };
	struct sre_json_num num;
	struct sre_json_str s;
	uint64_t ms;
	size_t off;
	int rc;

	memset(&p, 0, sizeof(p));
	p.res = &nores;
	p.type = SRE_OTLP_GAUGE;
	off = flat_seek(j, f, FL_METRIC);
	if ((rc = f_str(r, j, &p.metric, &p.quirks)) == F_ERR)
		return -1;
	if (rc != F_OK)
		set_rej(&x, "metric", "not a string", off);
	off = flat_seek(j, f, FL_VALUE);
	switch (sre_json_peek(j)) {
	case SRE_JSON_NUMBER:
		if (sre_json_number(j, &num) < 0)
			return -1;
		p.value = num.d;
		p.has |= SRE_OTLP_HAS_VALUE;
		if (num.flags & SRE_JSON_NUM_I64) {
			p.ivalue = num.i;
			p.has |= SRE_OTLP_HAS_INT;
		}
		break;
	case SRE_JSON_STRING:
		if (raw_str(j, &s) == F_ERR)
			return -1;
		if (sre_json_parse_double(s.p, s.n, &p.value) == 0) {
			p.has |= SRE_OTLP_HAS_VALUE;
			p.quirks |= SRE_OTLP_Q_CONVERTED;
		} else
			set_rej(&x, "value", "not a number", off);
		break;
	case SRE_JSON_NONE:
		return -1;
	default:
		set_rej(&x, "value", "not a number", off);
		break;
	}
	if (SEEN(f, FL_TS_MS)) {
		off = flat_seek(j, f, FL_TS_MS);
		rc = f_u64(j, &ms, &p.quirks);
		if (rc == F_ERR)
			return -1;
		if (rc == F_BAD)
			set_rej(&x, "ts_ms", "not an unsigned 64-bit integer",
			    off);
		else if (rc == F_OK && ms > UINT64_MAX / 1000000)
			set_rej(&x, "ts_ms", "out of range", off);
		else if (rc == F_OK)
			p.time_ns = ms * 1000000;
	}
	if (p.time_ns == 0)
		p.quirks |= SRE_OTLP_Q_NO_TIME;
	if (SEEN(f, FL_LABELS)) {
		flat_seek(j, f, FL_LABELS);
		if (sre_json_peek(j) == SRE_JSON_ARRAY)
			rc = f_raw(j, SRE_JSON_ARRAY, &p.attrs);
		else
			rc = f_raw(j, SRE_JSON_OBJECT, &p.attrs);
		if (rc == F_ERR)
			return -1;
		if (rc == F_BAD)
			p.quirks |= SRE_OTLP_Q_IGNORED;
	}
	if (x.field != NULL)
		return reject_rec(r, &x);
	r->res->records++;
	if (r->h->point != NULL)
		return deliver_stop(r, r->h->point(r->h->arg, &p));
	return 0;
}

/*
 * A journal field: a string, an array of byte values (binary data), or an
 * array of those (a field repeated: the first is used).  null (a value too
 * large for journalctl to print) gives an empty string and Q_TRUNCATED.
 * F_OK, F_BAD (not readable), F_ERR.
 */
static int
journal_field(struct sre_otlp *r, struct sre_json *j, struct sre_json_str *out,
    unsigned *quirks, int nested)
{
	struct sre_json_num num;
	size_t start, n = 0;
	char *d;
	int rc, bad = 0;

	switch (sre_json_peek(j)) {
	case SRE_JSON_STRING:
		return get_str(r, j, out, quirks) < 0 ? F_ERR : F_OK;
	case SRE_JSON_NULL:
		*quirks |= SRE_OTLP_Q_TRUNCATED;
		return f_null(j);
	case SRE_JSON_ARRAY:
		break;
	case SRE_JSON_NONE:
		return F_ERR;
	default:
		return f_skip_bad(j);
	}
	start = j->pos;
	if (sre_json_arr_begin(j) < 0)
		return F_ERR;
	if ((rc = sre_json_arr_next(j)) <= 0)
		return rc < 0 ? F_ERR : F_OK;		/* [] */
	if (sre_json_peek(j) != SRE_JSON_NUMBER) {
		if (nested)
			return sre_json_leave(j) < 0 ? F_ERR : F_BAD;
		/* several values: the first */
		rc = journal_field(r, j, out, quirks, 1);
		if (rc == F_ERR || sre_json_leave(j) < 0)
			return F_ERR;
		return rc;
	}
	/* bytes: at most one per 2 characters of JSON text, so this fits */
	if ((d = arena_alloc(r, (j->len - start) / 2 + 1)) == NULL)
		return F_ERR;
	do {
		if (sre_json_peek(j) != SRE_JSON_NUMBER) {
			if (sre_json_skip(j) < 0)
				return F_ERR;
			bad = 1;
			continue;
		}
		if (sre_json_number(j, &num) < 0)
			return F_ERR;
		if (!(num.flags & SRE_JSON_NUM_U64) || num.u > 255)
			bad = 1;
		else
			d[n++] = (char)num.u;
	} while ((rc = sre_json_arr_next(j)) > 0);
	if (rc < 0)
		return F_ERR;
	if (bad)
		return F_BAD;
	out->p = d;
	out->n = n;
	return sanitize(r, out, quirks) < 0 ? F_ERR : F_OK;
}

static const char *const prio_name[] = {
	"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"
};
/* syslog priority to OTel severity number (ERROR and up for 0..3) */
static const int prio_severity[] = { 21, 19, 18, 17, 13, 10, 9, 5 };

static int
read_journal(struct sre_otlp *r, struct sre_json *j, const struct flat *f)
{
	struct sre_otlp_resource res;
	struct sre_otlp_log l;
	struct sre_json_str comm = { NULL, 0 }, s;
	struct rej x = { NULL, NULL, 0 };
	uint64_t us;
	int64_t prio;
	size_t off;
	int rc;

	memset(&res, 0, sizeof(res));
	memset(&l, 0, sizeof(l));
	l.res = &res;
	l.priority = -1;
	if (SEEN(f, FL_MESSAGE)) {
		off = flat_seek(j, f, FL_MESSAGE);
		if ((rc = journal_field(r, j, &l.body, &l.quirks, 0)) == F_ERR)
			return -1;
		if (rc == F_BAD)
			set_rej(&x, "MESSAGE", "not a string or byte array",
			    off);
		l.body_type = SRE_OTLP_V_STRING;
	}
	if (SEEN(f, FL_PRIORITY)) {
		flat_seek(j, f, FL_PRIORITY);
		rc = f_i64(j, &prio, &l.quirks, NULL, 0);
		if (rc == F_ERR)
			return -1;
		if (rc == F_OK && prio >= 0 && prio <= 7) {
			l.priority = (int)prio;
			l.severity = prio_severity[prio];
			l.severity_text.p = prio_name[prio];
			l.severity_text.n = strlen(prio_name[prio]);
		} else if (rc != F_ABSENT)
			l.quirks |= SRE_OTLP_Q_IGNORED;
	}
	if (SEEN(f, FL_REALTIME)) {
		off = flat_seek(j, f, FL_REALTIME);
		rc = f_u64(j, &us, &l.quirks);
		if (rc == F_ERR)
			return -1;
		if (rc == F_BAD || (rc == F_OK && us > UINT64_MAX / 1000))
			set_rej(&x, "__REALTIME_TIMESTAMP",
			    "not microseconds since the epoch", off);
		else if (rc == F_OK)
			l.time_ns = us * 1000;
	}
	if (l.time_ns == 0)
		l.quirks |= SRE_OTLP_Q_NO_TIME;
	if (SEEN(f, FL_UNIT)) {
		flat_seek(j, f, FL_UNIT);
		if ((rc = journal_field(r, j, &l.unit, &l.quirks, 0)) == F_ERR)
			return -1;
		if (rc == F_BAD)
			l.quirks |= SRE_OTLP_Q_IGNORED;
	}
	if (SEEN(f, FL_IDENT)) {
		flat_seek(j, f, FL_IDENT);
		if ((rc = journal_field(r, j, &l.identifier, &l.quirks, 0)) ==
		    F_ERR)
			return -1;
		if (rc == F_BAD)
			l.quirks |= SRE_OTLP_Q_IGNORED;
	}
	if (SEEN(f, FL_COMM)) {
		flat_seek(j, f, FL_COMM);
		if ((rc = journal_field(r, j, &comm, &l.quirks, 0)) == F_ERR)
			return -1;
		if (rc == F_BAD)
			l.quirks |= SRE_OTLP_Q_IGNORED;
	}
	if (SEEN(f, FL_HOST)) {
		flat_seek(j, f, FL_HOST);
		if ((rc = journal_field(r, j, &res.host, &l.quirks, 0)) ==
		    F_ERR)
			return -1;
		if (rc == F_BAD)
			l.quirks |= SRE_OTLP_Q_IGNORED;
	}
	s = l.unit;
	if (s.n > 8 && memcmp(s.p + s.n - 8, ".service", 8) == 0)
		s.n -= 8;
	if (s.n == 0)
		s = l.identifier;
	if (s.n == 0)
		s = comm;
	res.service = s;
	if (x.field != NULL)
		return reject_rec(r, &x);
	r->res->records++;
	if (r->h->log != NULL)
		return deliver_stop(r, r->h->log(r->h->arg, &l));
	return 0;
}

/* ---- the line ------------------------------------------------------- */

static int
flat_index(struct sre_json_str k)
{
	int i;

	for (i = 0; i < FL_N; i++)
		if (k.n == strlen(flat_key[i]) &&
		    memcmp(k.p, flat_key[i], k.n) == 0)
			return i;
	return -1;
}

/* The top-level object (opened). */
static int
read_top(struct sre_otlp *r, struct sre_json *j)
{
	static const enum sig sigs[] = { SIG_TRACES, SIG_METRICS, SIG_LOGS };
	static const enum sre_otlp_format fmts[] = {
		SRE_OTLP_TRACES, SRE_OTLP_METRICS, SRE_OTLP_LOGS
	};
	struct sre_json_mark end;
	struct sre_json_str k;
	struct flat f;
	char kb[64];
	int rc, s, fi, otlp = 0;

	f.seen = 0;
	while ((rc = next_key(j, &k, kb)) > 0) {
		for (s = 0; s < 3; s++)
			if (k.n == strlen(group_name[s]) &&
			    memcmp(k.p, group_name[s], k.n) == 0)
				break;
		if (s < 3) {
			otlp = 1;
			r->fmt = r->res->format = fmts[s];
			rc = read_list(r, j, group_name[s], read_resource_group,
			    (void *)&sigs[s]);
		} else {
			if (k.n > 0 && k.n <= 20 && (fi = flat_index(k)) >= 0 &&
			    !SEEN(&f, fi)) {
				sre_json_mark(j, &f.m[fi]);
				f.seen |= 1u << fi;
			}
			rc = sre_json_skip(j);
		}
		if (rc < 0)
			return -1;
	}
	if (rc < 0)
		return -1;
	if (otlp)
		return 0;
	/* flat: only deliver once the whole line is known to be valid */
	if (sre_json_end(j) < 0)
		return -1;
	sre_json_mark(j, &end);
	rc = 0;
	if (SEEN(&f, FL_METRIC) && SEEN(&f, FL_VALUE) && !SEEN(&f, FL_TYPE)) {
		r->fmt = r->res->format = SRE_OTLP_POINT;
		rc = read_plain_point(r, j, &f);
	} else if (SEEN(&f, FL_REALTIME) || SEEN(&f, FL_CURSOR) ||
	    (SEEN(&f, FL_MESSAGE) && (SEEN(&f, FL_PRIORITY) ||
	    SEEN(&f, FL_UNIT) || SEEN(&f, FL_IDENT)))) {
		r->fmt = r->res->format = SRE_OTLP_JOURNAL;
		rc = read_journal(r, j, &f);
	} else
		r->fmt = r->res->format = SRE_OTLP_UNKNOWN;
	if (rc == 0)
		sre_json_seek(j, &end);
	return rc;
}

static int
malformed(struct sre_otlp *r, const struct sre_json *j, int in_path)
{
	struct sre_otlp_result *res = r->res;
	const char *e;
	char num[48];
	size_t off, n = 0;

	e = sre_json_error(j, &off);
	if (e == NULL)
		e = "invalid JSON";
	if (in_path)
		n = path(r, r->lvl, res->msg, sizeof(res->msg));
	else
		res->msg[0] = '\0';
	if (n > 0)
		cat(res->msg, sizeof(res->msg), &n, ": ");
	cat(res->msg, sizeof(res->msg), &n, e);
	snprintf(num, sizeof(num), " at byte %zu", off);
	cat(res->msg, sizeof(res->msg), &n, num);
	res->err_off = off;
	res->format = SRE_OTLP_MALFORMED;
	return SRE_OTLP_EJSON;
}

struct sre_otlp *
sre_otlp_new(unsigned flags)
{
	struct sre_otlp *r = calloc(1, sizeof(*r));

	if (r != NULL)
		r->flags = flags;
	return r;
}

void
sre_otlp_free(struct sre_otlp *r)
{
	struct block *b, *next;
	int i;

	if (r == NULL)
		return;
	for (b = r->blocks; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
	for (i = 0; i < A_N; i++)
		free(r->arr[i].v);
	free(r);
}

int
sre_otlp_read(struct sre_otlp *r, const char *line, size_t len,
    const struct sre_otlp_handler *h, struct sre_otlp_result *res)
{
	struct sre_json *j = &r->j;
	size_t i;
	int rc;

	res->format = SRE_OTLP_EMPTY;
	res->records = 0;
	res->rejected = 0;
	res->err_off = 0;
	res->stop = 0;
	res->msg[0] = '\0';
	r->h = h;
	r->res = res;
	r->fmt = SRE_OTLP_UNKNOWN;
	r->nomem = 0;
	r->stopped = 0;
	r->lvl = 0;
	arena_reset(r);

	for (i = 0; i < len; i++)
		if (line[i] != ' ' && line[i] != '\n' && line[i] != '\r' &&
		    line[i] != '\t')
			break;
	if (i == len)
		return SRE_OTLP_OK;

	if (r->flags & SRE_OTLP_ATOMIC) {
		sre_json_init(j, line, len, 0);
		if (sre_json_skip(j) < 0 || sre_json_end(j) < 0)
			return malformed(r, j, 0);
	}
	sre_json_init(j, line, len, 0);
	if (sre_json_peek(j) != SRE_JSON_OBJECT) {
		if (sre_json_skip(j) < 0 || sre_json_end(j) < 0)
			return malformed(r, j, 0);
		res->format = SRE_OTLP_UNKNOWN;
		return SRE_OTLP_OK;
	}
	rc = sre_json_obj_begin(j);
	if (rc == 0)
		rc = read_top(r, j);
	if (rc == 0)
		rc = sre_json_end(j);
	if (rc < 0) {
		if (r->stopped)
			return SRE_OTLP_STOP;
		if (r->nomem) {
			snprintf(res->msg, sizeof(res->msg), "%s", "out of memory");
			return SRE_OTLP_ENOMEM;
		}
		return malformed(r, j, 1);
	}
	return SRE_OTLP_OK;
}

const char *
sre_otlp_format_name(enum sre_otlp_format f)
{
	switch (f) {
	case SRE_OTLP_EMPTY:
		return "empty";
	case SRE_OTLP_TRACES:
		return "traces";
	case SRE_OTLP_METRICS:
		return "metrics";
	case SRE_OTLP_LOGS:
		return "logs";
	case SRE_OTLP_POINT:
		return "point";
	case SRE_OTLP_JOURNAL:
		return "journal";
	case SRE_OTLP_UNKNOWN:
		return "unknown";
	case SRE_OTLP_MALFORMED:
		return "malformed";
	}
	return "?";
}

/* ---- attribute lists ------------------------------------------------- */

static int
want_all(struct sre_json_str k)
{
	(void)k;
	return 1;
}

void
sre_otlp_attr_begin(struct sre_otlp_attr_iter *it, struct sre_json_str attrs)
{
	sre_json_init(&it->j, attrs.p, attrs.n, 0);
	it->state = attrs.n == 0 ? 3 : 0;
}

/* A plain label value: a JSON scalar, or raw JSON for containers. */
static int
read_label_value(struct sre_otlp *r, struct sre_json *j,
    struct sre_otlp_value *v, unsigned *quirks)
{
	struct sre_json_num num;
	size_t start;
	int b;

	memset(v, 0, sizeof(*v));
	switch (sre_json_peek(j)) {
	case SRE_JSON_STRING:
		v->type = SRE_OTLP_V_STRING;
		return get_str(r, j, &v->s, quirks);
	case SRE_JSON_NUMBER:
		start = j->pos;
		if (sre_json_number(j, &num) < 0)
			return -1;
		v->d = num.d;
		if (num.flags & SRE_JSON_NUM_I64) {
			v->type = SRE_OTLP_V_INT;
			v->i = num.i;
		} else
			v->type = SRE_OTLP_V_DOUBLE;
		raw_text(j, start, &v->s);
		return 0;
	case SRE_JSON_TRUE:
	case SRE_JSON_FALSE:
		if (sre_json_bool(j, &b) < 0)
			return -1;
		v->type = SRE_OTLP_V_BOOL;
		v->i = b;
		v->s.p = b ? "true" : "false";
		v->s.n = b ? 4 : 5;
		return 0;
	case SRE_JSON_NULL:
		return sre_json_null(j);
	case SRE_JSON_ARRAY:
		v->type = SRE_OTLP_V_ARRAY;
		return f_raw(j, SRE_JSON_ARRAY, &v->s) == F_ERR ? -1 : 0;
	case SRE_JSON_OBJECT:
		v->type = SRE_OTLP_V_KVLIST;
		return f_raw(j, SRE_JSON_OBJECT, &v->s) == F_ERR ? -1 : 0;
	default:
		return -1;
	}
}

int
sre_otlp_attr_next(struct sre_otlp *r, struct sre_otlp_attr_iter *it,
    struct sre_otlp_attr *a)
{
	struct sre_json *j = &it->j;
	unsigned quirks = 0, kf = 0;
	int rc, id;

	switch (it->state) {
	case 0:
		if (sre_json_peek(j) == SRE_JSON_ARRAY) {
			if (sre_json_arr_begin(j) < 0)
				break;
			it->state = 1;
		} else if (sre_json_peek(j) == SRE_JSON_OBJECT) {
			if (sre_json_obj_begin(j) < 0)
				break;
			it->state = 2;
		} else
			break;
		return sre_otlp_attr_next(r, it, a);
	case 1:
		while ((rc = sre_json_arr_next(j)) > 0) {
			if (read_kv(r, j, want_all, &a->key, &id, &a->v,
			    &quirks) < 0)
				goto fail;
			if (id != 0)
				return 1;
		}
		if (rc == 0) {
			it->state = 3;
			return 0;
		}
		break;
	case 2:
		rc = sre_json_obj_next(j, &a->key, &kf);
		if (rc == 0) {
			it->state = 3;
			return 0;
		}
		if (rc < 0)
			break;
		if (kf & (SRE_JSON_STR_ESC | SRE_JSON_STR_BADUTF8)) {
			char *d = arena_alloc(r, a->key.n * 3);

			if (d == NULL)
				break;
			a->key.n = sre_json_unescape(a->key.p, a->key.n, d,
			    SRE_JSON_UNESC_REPLACE);
			a->key.p = d;
		}
		if (read_label_value(r, j, &a->v, &quirks) < 0)
			break;
		return 1;
	case 3:
		return 0;
	default:
		break;
	}
fail:
	it->state = 4;
	return -1;
}

int
sre_otlp_attr_find(struct sre_otlp *r, struct sre_json_str attrs,
    const char *key, struct sre_otlp_value *v)
{
	struct sre_otlp_attr_iter it;
	struct sre_otlp_attr a;
	size_t n = strlen(key);
	int rc;

	sre_otlp_attr_begin(&it, attrs);
	while ((rc = sre_otlp_attr_next(r, &it, &a)) > 0)
		if (a.key.n == n && memcmp(a.key.p, key, n) == 0) {
			*v = a.v;
			return 1;
		}
	return rc;
}

int
sre_otlp_id_bytes(struct sre_json_str id, uint8_t *out, size_t outsz)
{
	size_t i;

	if (id.n % 2 != 0 || id.n / 2 > outsz)
		return -1;
	for (i = 0; i < id.n; i += 2) {
		int hi, lo;
		unsigned char c = (unsigned char)id.p[i],
		    d = (unsigned char)id.p[i + 1];

		hi = c >= '0' && c <= '9' ? c - '0' :
		    (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ?
		    (c | 0x20) - 'a' + 10 : -1;
		lo = d >= '0' && d <= '9' ? d - '0' :
		    (d | 0x20) >= 'a' && (d | 0x20) <= 'f' ?
		    (d | 0x20) - 'a' + 10 : -1;
		if (hi < 0 || lo < 0)
			return -1;
		out[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	return (int)(id.n / 2);
}
