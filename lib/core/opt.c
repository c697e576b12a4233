/* opt.c: the common options and the state directory. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>

#include <bsd/stdlib.h>

#include "diag.h"
#include "evtime.h"
#include "line.h"
#include "opt.h"

void
sre_common_init(struct sre_common *c)
{
	memset(c, 0, sizeof(*c));
	c->in = "-";
	c->out = "-";
}

int
sre_opt_common(struct sre_common *c, int ch, const char *arg)
{
	long long n;

	switch (ch) {
	case 'i':
		c->in = arg;
		return 1;
	case 'o':
		c->out = arg;
		return 1;
	case 'q':
		c->verbosity = -1;
		sre_set_verbosity(c->verbosity);
		return 1;
	case 'v':
		if (c->verbosity < 0)
			c->verbosity = 0;
		c->verbosity++;
		sre_set_verbosity(c->verbosity);
		return 1;
	case SRE_OPT_STATE_DIR:
		if (*arg == '\0') {
			sre_warnx("--state-dir: empty path");
			return -1;
		}
		c->state_dir = arg;
		return 1;
	case SRE_OPT_MAX_LINE:
		if (sre_opt_count("--max-line", arg, 16, 1LL << 32, &n) < 0)
			return -1;
		c->max_line = (size_t)n;
		return 1;
	}
	return 0;
}

int
sre_getopt(struct sre_common *c, int argc, char *const argv[],
    const char *shortopts, const struct option *longopts,
    void (*usage)(FILE *), int *ex)
{
	/* "+" (stop at the first operand) must lead the whole string. */
	const char *plus = *shortopts == '+' ? "+" : "";
	char all[128];
	int ch;

	*ex = -1;
	if ((size_t)snprintf(all, sizeof(all), "%s%s%s", plus,
	    SRE_COMMON_SHORTOPTS, shortopts + strlen(plus)) >= sizeof(all))
		abort();	/* a tool's option string: fixed, short */
	while ((ch = getopt_long(argc, argv, all, longopts, NULL)) != -1) {
		/* (strchr finds the NUL of any long-only value) */
		if (ch > 0 && ch < 0x100 && ch != ':' && ch != '?' &&
		    strchr(shortopts, ch) != NULL)
			return ch;
		switch (sre_opt_common(c, ch, optarg)) {
		case 1:
			continue;
		case -1:
			*ex = EX_USAGE;
			return -1;
		}
		switch (ch) {
		case 'h':
			usage(stdout);
			*ex = EX_OK;
			return -1;
		case 'V':
			sre_print_version();
			*ex = EX_OK;
			return -1;
		case '?':
		case ':':
			usage(stderr);
			*ex = EX_USAGE;
			return -1;
		}
		return ch;
	}
	return -1;
}

int
sre_opt_input(struct sre_common *c, int argc, char *const argv[])
{
	if (argc > 1) {
		sre_warnx("unexpected argument: %s (one input FILE at most)",
		    argv[1]);
		return -1;
	}
	if (argc == 0)
		return 0;
	if (c->in != NULL && strcmp(c->in, "-") != 0) {
		sre_warnx("give either FILE or --in, not both");
		return -1;
	}
	if (*argv[0] == '\0') {
		sre_warnx("empty FILE operand");
		return -1;
	}
	c->in = argv[0];
	return 0;
}

int
sre_opt_end(struct sre_common *c, int argc, char *const argv[], int ex,
    void (*usage)(FILE *))
{
	if (ex >= 0)
		return ex;
	if (sre_opt_input(c, argc - optind, argv + optind) < 0) {
		usage(stderr);
		return EX_USAGE;
	}
	return -1;
}

int
sre_opt_count(const char *name, const char *arg, long long min,
    long long max, long long *out)
{
	const char *errstr;
	long long v = strtonum(arg, min, max, &errstr);

	if (errstr != NULL) {
		sre_warnx("%s %s: %s; want a whole number from %lld to %lld",
		    name, arg, errstr, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

int
sre_opt_real(const char *name, const char *arg, double min, double max,
    int flags, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (end != arg && *end == '\0' && errno == 0 && isfinite(v) &&
	    v >= min && !((flags & SRE_OPT_ABOVE) && v == min) && v <= max) {
		*out = v;
		return 0;
	}
	if ((flags & SRE_OPT_NOMAX) && (flags & SRE_OPT_ABOVE))
		sre_warnx("%s %s: want a number above %g", name, arg, min);
	else if (flags & SRE_OPT_NOMAX)
		sre_warnx("%s %s: want a number of at least %g", name, arg,
		    min);
	else if (flags & SRE_OPT_ABOVE)
		sre_warnx("%s %s: want a number above %g, at most %g", name,
		    arg, min, max);
	else
		sre_warnx("%s %s: want a number from %g to %g", name, arg, min,
		    max);
	return -1;
}

int
sre_opt_duration(const char *name, const char *arg, int64_t min_ms,
    int64_t max_ms, int64_t *out)
{
	char lo[32], hi[32], range[80] = "";
	int64_t v;

	if (sre_duration_parse(arg, &v) == 0 && v >= min_ms && v <= max_ms) {
		*out = v;
		return 0;
	}
	sre_duration_fmt(min_ms, lo, sizeof(lo));
	sre_duration_fmt(max_ms, hi, sizeof(hi));
	if (min_ms > 0 && max_ms < SRE_DURATION_MAX)
		snprintf(range, sizeof(range), " from %s to %s", lo, hi);
	else if (min_ms > 0)
		snprintf(range, sizeof(range), " of at least %s", lo);
	else if (max_ms < SRE_DURATION_MAX)
		snprintf(range, sizeof(range), " up to %s", hi);
	sre_warnx("%s %s: not a duration%s (such as 500ms, 10s, 2m, 1h, 7d)",
	    name, arg, range);
	return -1;
}

void
sre_print_version(void)
{
	printf("%s %s\n", sre_progname(), SRE_VERSION);
}

const char *
sre_state_dir(const struct sre_common *c)
{
	const char *s;

	if (c != NULL && c->state_dir != NULL)
		return c->state_dir;
	if ((s = getenv("SRE_STATE_DIR")) != NULL && *s != '\0')
		return s;
	return ".sre";
}

int
sre_state_dir_make(const struct sre_common *c)
{
	return sre_mkdirs(sre_state_dir(c));
}

int
sre_mkdirs(const char *dir)
{
	char path[4096], *p;

	if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (p = path + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0777) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(path, 0777) < 0 && errno != EEXIST)
		return -1;
	return 0;
}
