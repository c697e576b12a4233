/* opt.c: the common options and the state directory. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <bsd/stdlib.h>

#include "diag.h"
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
	const char *errstr;
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
		n = strtonum(arg, 16, 1LL << 32, &errstr);
		if (errstr != NULL) {
			sre_warnx("--max-line %s: %s (16 to 4294967296 bytes)",
			    arg, errstr);
			return -1;
		}
		c->max_line = (size_t)n;
		return 1;
	}
	return 0;
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
	char path[4096], *p;
	const char *dir = sre_state_dir(c);

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
