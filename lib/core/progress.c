/*
 * progress.c: "so far" on standard error (progress.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "diag.h"
#include "progress.h"

#define FIRST_MS	2000
#define EVERY_MS	1000
#define CHECK_EVERY	64

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
sre_progress_init(struct sre_progress *p)
{
	const char *env = getenv("SRE_PROGRESS_MS");
	int64_t first = FIRST_MS;

	p->on = isatty(STDERR_FILENO) && sre_verbosity() >= 0;
	p->shown = 0;
	p->calls = 0;
	p->every_ms = EVERY_MS;
	if (env != NULL && *env != '\0') {
		char *end;
		long v = strtol(env, &end, 10);

		if (*end == '\0' && v >= 0 && v <= 3600000)
			first = p->every_ms = v;
	}
	p->next_ms = mono_ms() + first;
}

int
sre_progress_due(struct sre_progress *p)
{
	int64_t now;

	if (!p->on || (p->every_ms > 0 && ++p->calls % CHECK_EVERY != 0))
		return 0;
	if ((now = mono_ms()) < p->next_ms)
		return 0;
	p->next_ms = now + p->every_ms;
	return 1;
}

void
sre_progress_show(struct sre_progress *p, const char *fmt, ...)
{
	va_list ap;

	if (!p->on)
		return;
	fprintf(stderr, "\r%s: ", sre_progname());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" so far\033[K", stderr);
	fflush(stderr);
	p->shown = 1;
}

void
sre_progress_end(struct sre_progress *p)
{
	if (p->shown) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
		p->shown = 0;
	}
}
