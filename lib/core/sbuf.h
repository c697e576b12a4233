/*
 * sbuf.h: a growable byte buffer, and JSON written into it; a growable
 * array of any element (sre_grow, at the end).
 *
 *	struct sre_sbuf b = { 0 };
 *	sre_sbuf_adds(&b, "{\"name\":");
 *	sre_sbuf_jstr(&b, name, strlen(name));
 *	sre_sbuf_adds(&b, "}");
 *	if (b.oom) ... ;
 *	write(fd, b.p, b.n);
 *	sre_sbuf_free(&b);
 *
 * The bytes are b.p[0 .. b.n), followed by a NUL once anything was added.
 * An allocation failure sets b.oom; later appends then do nothing, so a
 * writer checks once at the end.
 */
#ifndef SRE_SBUF_H
#define SRE_SBUF_H

#include <stddef.h>

/* Zero it to start; sre_sbuf_free when done (NULL is fine). */
struct sre_sbuf {
	char *p;
	size_t n, cap;
	int oom;
};

void sre_sbuf_add(struct sre_sbuf *b, const void *p, size_t n);
void sre_sbuf_adds(struct sre_sbuf *b, const char *s);
void sre_sbuf_addf(struct sre_sbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Append s (n bytes) as a quoted JSON string. */
void sre_sbuf_jstr(struct sre_sbuf *b, const char *s, size_t n);
/* Append a double as JSON (non-finite values become null). */
void sre_sbuf_jnum(struct sre_sbuf *b, double d);
void sre_sbuf_free(struct sre_sbuf *b);

/*
 * Hand the bytes over: a NUL-terminated string the caller frees (an
 * empty one when nothing was added), *len its length (len may be NULL);
 * b is left empty.  NULL after an allocation failure (the bytes are
 * freed then).
 */
char *sre_sbuf_take(struct sre_sbuf *b, size_t *len);

/* Make room for more bytes (and a NUL) past b->n: 0, or -1 (b->oom). */
int sre_sbuf_reserve(struct sre_sbuf *b, size_t more);

/*
 * Make room in a full array: a holds *cap elements of size bytes each; it
 * grows to twice *cap elements (first when *cap is 0).  Returns the array,
 * perhaps moved, with *cap updated; or NULL when out of memory or the size
 * overflows, a and *cap left as they were.
 *
 *	if (v->n == v->cap && (p = sre_grow(v->p, &v->cap, sizeof(*p),
 *	    16)) == NULL)
 *		return -1;
 */
void *sre_grow(void *a, size_t *cap, size_t size, size_t first);

#endif
