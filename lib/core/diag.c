/* diag.c: the sre-NAME: diagnostics family and process start-up. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "diag.h"
#include "sig.h"

static const char *progname = "sre";
static int verbosity;

void
sre_init(const char *name)
{
	int fd;

	progname = name;
	/* Keep fds 0-2 open so that no later open() lands on them. */
	while ((fd = open("/dev/null", O_RDWR)) >= 0 && fd <= 2)
		;
	if (fd > 2)
		close(fd);
	sre_signals_init();
}

const char *
sre_progname(void)
{
	return progname;
}

void
sre_set_verbosity(int level)
{
	verbosity = level;
}

int
sre_verbosity(void)
{
	return verbosity;
}

static void
vreport(int errnum, const char *fmt, va_list ap)
{
	char msg[4096];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (errnum)
		fprintf(stderr, "%s: %s: %s\n", progname, msg, strerror(errnum));
	else
		fprintf(stderr, "%s: %s\n", progname, msg);
}

void
sre_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(0, fmt, ap);
	va_end(ap);
}

void
sre_warnx_list(const char *prefix, jv list)
{
	int i, n = jv_get_kind(list) == JV_KIND_ARRAY ?
	    jv_array_length(jv_copy(list)) : 0;

	for (i = 0; i < n; i++) {
		jv m = jv_array_get(jv_copy(list), i);

		if (jv_get_kind(m) == JV_KIND_STRING)
			sre_warnx("%s%s", prefix, jv_string_value(m));
		jv_free(m);
	}
	jv_free(list);
}

void
sre_warn(const char *fmt, ...)
{
	va_list ap;
	int e = errno;

	va_start(ap, fmt);
	vreport(e, fmt, ap);
	va_end(ap);
}

void
sre_info(const char *fmt, ...)
{
	va_list ap;

	if (verbosity < 1)
		return;
	va_start(ap, fmt);
	vreport(0, fmt, ap);
	va_end(ap);
}

void
sre_notice(const char *fmt, ...)
{
	va_list ap;

	if (verbosity < 0)
		return;
	va_start(ap, fmt);
	vreport(0, fmt, ap);
	va_end(ap);
}
