/* envset.c: one value of a KEY=VALUE file, read or set in place. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "envset.h"
#include "sbuf.h"

int
sre_env_key_ok(const char *key)
{
	const char *p;

	if (key == NULL || *key == '\0' || isdigit((unsigned char)*key) ||
	    strlen(key) > 128)
		return 0;
	for (p = key; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && *p != '_')
			return 0;
	return 1;
}

int
sre_env_value_ok(const char *value)
{
	return value != NULL && strlen(value) <= 4096 &&
	    sre_catalog_text_ok(value, strlen(value));
}

/* One line: where its value starts and ends (quotes excluded), or -1. */
struct line {
	size_t start, end;	/* the line, without its line break */
	size_t vstart, vend;	/* the value's bytes */
	char quote;		/* '"', '\'' or 0 */
};

static int
line_sets(const char *text, const struct line *l, const char *key,
    struct line *out)
{
	size_t p = l->start, klen = strlen(key);

	while (p < l->end && (text[p] == ' ' || text[p] == '\t'))
		p++;
	if (l->end - p > 7 && memcmp(text + p, "export ", 7) == 0)
		for (p += 7; p < l->end && text[p] == ' '; p++)
			;
	if (l->end - p <= klen || memcmp(text + p, key, klen) != 0 ||
	    text[p + klen] != '=')
		return 0;
	*out = *l;
	out->vstart = p + klen + 1;
	out->vend = l->end;
	out->quote = 0;
	if (out->vend - out->vstart >= 2 &&
	    (text[out->vstart] == '"' || text[out->vstart] == '\'') &&
	    text[out->vend - 1] == text[out->vstart]) {
		out->quote = text[out->vstart];
		out->vstart++;
		out->vend--;
	}
	return 1;
}

/* Call back for each line; stop when fn returns non-zero. */
static void
each_line(const char *text, size_t len, int (*fn)(const struct line *,
    void *), void *ctx)
{
	size_t p = 0;

	while (p < len) {
		struct line l = { 0 };
		const char *nl = memchr(text + p, '\n', len - p);
		size_t next = nl ? (size_t)(nl - text) + 1 : len;

		l.start = p;
		l.end = nl ? (size_t)(nl - text) : len;
		if (l.end > l.start && text[l.end - 1] == '\r')
			l.end--;
		if (fn(&l, ctx))
			return;
		p = next;
	}
}

struct getctx {
	const char *text, *key;
	struct line found;
	int n;
};

static int
get_fn(const struct line *l, void *vctx)
{
	struct getctx *g = vctx;
	struct line m;

	if (line_sets(g->text, l, g->key, &m)) {
		g->found = m;
		g->n++;
	}
	return 0;
}

int
sre_env_get(const char *text, size_t len, const char *key, char **value)
{
	struct getctx g = { text, key, { 0 }, 0 };

	*value = NULL;
	each_line(text, len, get_fn, &g);
	if (g.n == 0)
		return 0;
	if ((*value = strndup(text + g.found.vstart,
	    g.found.vend - g.found.vstart)) == NULL)
		return -1;
	return 1;
}

struct setctx {
	const char *text, *key, *value;
	struct sre_sbuf out;
	size_t copied;
	int n, badquote;
};

static int
set_fn(const struct line *l, void *vctx)
{
	struct setctx *s = vctx;
	struct line m;

	if (!line_sets(s->text, l, s->key, &m))
		return 0;
	if (m.quote != 0 && strchr(s->value, m.quote) != NULL) {
		s->badquote = 1;
		return 1;
	}
	sre_sbuf_add(&s->out, s->text + s->copied, m.vstart - s->copied);
	sre_sbuf_add(&s->out, s->value, strlen(s->value));
	s->copied = m.vend;
	s->n++;
	return 0;
}

int
sre_env_set(const char *text, size_t len, const char *key,
    const char *value, char **out, size_t *outlen, char *err,
    size_t errlen)
{
	struct setctx s = { text, key, value, { NULL, 0, 0, 0 }, 0, 0, 0 };

	*out = NULL;
	*outlen = 0;
	if (!sre_env_key_ok(key)) {
		snprintf(err, errlen, "bad key '%.64s'", key);
		return -1;
	}
	if (!sre_env_value_ok(value)) {
		snprintf(err, errlen, "bad value for %s: a line break or "
		    "too long", key);
		return -1;
	}
	each_line(text, len, set_fn, &s);
	if (s.badquote) {
		sre_sbuf_free(&s.out);
		snprintf(err, errlen, "value for %s holds its own quote "
		    "character", key);
		return -1;
	}
	sre_sbuf_add(&s.out, text + s.copied, len - s.copied);
	if (s.n == 0) {
		const char *nl = memchr(text, '\n', len);
		const char *eol = nl != NULL && nl > text && nl[-1] == '\r' ?
		    "\r\n" : "\n";

		if (len > 0 && text[len - 1] != '\n')
			sre_sbuf_add(&s.out, eol, strlen(eol));
		sre_sbuf_add(&s.out, key, strlen(key));
		sre_sbuf_add(&s.out, "=", 1);
		sre_sbuf_add(&s.out, value, strlen(value));
		sre_sbuf_add(&s.out, eol, strlen(eol));
	}
	if ((*out = sre_sbuf_take(&s.out, outlen)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}
