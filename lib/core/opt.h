/*
 * opt.h: the options every tool shares, and the state directory.
 *
 *	-i, --in URL        read from a bus URL (default -)
 *	-o, --out URL       write to a bus URL (default -)
 *	    --state-dir DIR state (default $SRE_STATE_DIR, else ./.sre)
 *	    --max-line N    longest input line in bytes (default 16 MiB)
 *	-q, --quiet         errors only
 *	-v, --verbose       more detail on stderr (repeatable)
 *	-h, --help / -V, --version are handled by each tool (its own usage).
 *
 * A tool puts SRE_COMMON_LONGOPTS in its getopt_long table and
 * SRE_COMMON_SHORTOPTS in its short option string, and hands every option
 * to sre_opt_common() first.
 */
#ifndef SRE_OPT_H
#define SRE_OPT_H

#include <getopt.h>
#include <stddef.h>

#define SRE_OPT_STATE_DIR 0x1001
#define SRE_OPT_MAX_LINE  0x1002

#define SRE_COMMON_SHORTOPTS "hi:o:qVv"
#define SRE_COMMON_LONGOPTS \
	{ "help", no_argument, NULL, 'h' }, \
	{ "in", required_argument, NULL, 'i' }, \
	{ "max-line", required_argument, NULL, SRE_OPT_MAX_LINE }, \
	{ "out", required_argument, NULL, 'o' }, \
	{ "quiet", no_argument, NULL, 'q' }, \
	{ "state-dir", required_argument, NULL, SRE_OPT_STATE_DIR }, \
	{ "verbose", no_argument, NULL, 'v' }, \
	{ "version", no_argument, NULL, 'V' }

struct sre_common {
	const char *in;		/* bus URL, default "-" */
	const char *out;	/* bus URL, default "-" */
	const char *state_dir;	/* NULL: environment or default */
	size_t max_line;	/* 0: SRE_LINE_MAX_DEFAULT */
	int verbosity;
};

/* Defaults: in and out "-", everything else unset. */
void sre_common_init(struct sre_common *c);

/*
 * Take option ch with argument arg if it is a common one.  Returns 1 when
 * taken, 0 when not a common option, -1 when its value is bad (reported on
 * stderr; the tool exits EX_USAGE).  -h and -V are left to the tool.
 */
int sre_opt_common(struct sre_common *c, int ch, const char *arg);

/* Print "sre-NAME VERSION" to stdout. */
void sre_print_version(void);

/* The state directory: --state-dir, $SRE_STATE_DIR, else ".sre". */
const char *sre_state_dir(const struct sre_common *c);

/*
 * Create the state directory (and its parents) if missing.  Returns 0, or
 * -1 with errno set (the tool reports it and exits EX_CANTCREAT).
 */
int sre_state_dir_make(const struct sre_common *c);

#endif
