/*
 * sbuf.c: a growable byte buffer with JSON writers (see sbuf.h).
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbuf.h"

int
sre_sbuf_reserve(struct sre_sbuf *b, size_t more)
{
	size_t cap;
	char *p;

	if (b->oom)
		return -1;
	if (b->cap - b->n > more)
		return 0;
	cap = b->cap ? b->cap : 4096;
	while (cap - b->n <= more) {
		if (cap > SIZE_MAX / 2) {
			b->oom = 1;
			return -1;
		}
		cap *= 2;
	}
	if ((p = realloc(b->p, cap)) == NULL) {
		b->oom = 1;
		return -1;
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

void
sre_sbuf_add(struct sre_sbuf *b, const void *p, size_t n)
{
	if (n == 0 || sre_sbuf_reserve(b, n) < 0)
		return;
	memcpy(b->p + b->n, p, n);
	b->n += n;
	b->p[b->n] = '\0';
}

void
sre_sbuf_adds(struct sre_sbuf *b, const char *s)
{
	sre_sbuf_add(b, s, strlen(s));
}

void
sre_sbuf_addf(struct sre_sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (sre_sbuf_reserve(b, 64) < 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= b->cap - b->n) {
		if (sre_sbuf_reserve(b, (size_t)n + 1) < 0)
			return;
		va_start(ap, fmt);
		vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
		va_end(ap);
	}
	b->n += (size_t)n;
}

/* Length of the valid UTF-8 sequence at p (n bytes left), 0 if invalid. */
static size_t
utf8_len(const unsigned char *p, size_t n)
{
	unsigned c = p[0];
	size_t len, i;
	unsigned cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, cp = c & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

void
sre_sbuf_jstr(struct sre_sbuf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run, l;
	char esc[6];

	sre_sbuf_add(b, "\"", 1);
	while (i < n) {
		for (run = i; run < n && p[run] >= 0x20 && p[run] < 0x80 &&
		    p[run] != '"' && p[run] != '\\'; run++)
			;
		sre_sbuf_add(b, s + i, run - i);
		if ((i = run) >= n)
			break;
		if (p[i] >= 0x80) {
			if ((l = utf8_len(p + i, n - i)) == 0) {
				sre_sbuf_add(b, "\xef\xbf\xbd", 3);
				i++;
			} else {
				sre_sbuf_add(b, s + i, l);
				i += l;
			}
			continue;
		}
		esc[0] = '\\';
		switch (p[i]) {
		case '"': esc[1] = '"'; l = 2; break;
		case '\\': esc[1] = '\\'; l = 2; break;
		case '\n': esc[1] = 'n'; l = 2; break;
		case '\r': esc[1] = 'r'; l = 2; break;
		case '\t': esc[1] = 't'; l = 2; break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[p[i] >> 4];
			esc[5] = hex[p[i] & 15];
			l = 6;
		}
		sre_sbuf_add(b, esc, l);
		i++;
	}
	sre_sbuf_add(b, "\"", 1);
}

/* The shortest %g form that reads back as d. */
static void
fmt_double(char *buf, size_t len, double d)
{
	snprintf(buf, len, "%.15g", d);
	if (strtod(buf, NULL) != d)
		snprintf(buf, len, "%.17g", d);
}

void
sre_sbuf_jnum(struct sre_sbuf *b, double d)
{
	char buf[40];

	if (!isfinite(d)) {
		sre_sbuf_adds(b, "null");
		return;
	}
	fmt_double(buf, sizeof(buf), d);
	sre_sbuf_adds(b, buf);
}

void
sre_sbuf_free(struct sre_sbuf *b)
{
	if (b == NULL)
		return;
	free(b->p);
	b->p = NULL;
	b->n = b->cap = 0;
	b->oom = 0;
}

char *
sre_sbuf_take(struct sre_sbuf *b, size_t *len)
{
	char *p;

	if (b->oom) {
		sre_sbuf_free(b);
		return NULL;
	}
	if ((p = b->p) == NULL && (p = calloc(1, 1)) == NULL)
		return NULL;
	if (len != NULL)
		*len = b->n;
	b->p = NULL;
	b->n = b->cap = 0;
	return p;
}

void *
sre_grow(void *a, size_t *cap, size_t size, size_t first)
{
	size_t nc = *cap ? *cap * 2 : first;
	void *p;

	if (nc < *cap || (p = reallocarray(a, nc, size)) == NULL)
		return NULL;
	*cap = nc;
	return p;
}
