/*
 * serve-answer.h: for lib/serve's unit tests (test-serve-*.c), an answer's
 * body as a C string.
 */
#ifndef SERVE_ANSWER_H
#define SERVE_ANSWER_H

#include <string.h>

#include "srv.h"

/* a's body, NUL-terminated in a static buffer (cut at 8 KiB); "" if none. */
static const char *
text(const struct sre_answer *a)
{
	static char buf[8192];
	size_t n = a->body.n < sizeof(buf) - 1 ? a->body.n : sizeof(buf) - 1;

	if (n > 0)
		memcpy(buf, a->body.p, n);
	buf[n] = '\0';
	return buf;
}

#endif
