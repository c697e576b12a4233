/*
 * opt.h: the options every tool shares, and the state directory.
 *
 *	-i, --in URL        read from a bus URL (default -)
 *	-o, --out URL       write to a bus URL (default -)
 *	    --state-dir DIR state (default $SRE_STATE_DIR, else ./.sre)
 *	    --max-line N    longest input line in bytes (default 16 MiB)
 *	-q, --quiet         errors only
 *	-v, --verbose       more detail on stderr (repeatable)
 *	-h, --help          the tool's usage on stdout, exit 0
 *	-V, --version       "sre-NAME VERSION", exit 0
 *
 * A tool puts SRE_COMMON_LONGOPTS in its getopt_long table and reads its
 * options with sre_getopt(), which takes the common ones (and -h, -V, bad
 * options) and hands out the tool's own.  Its own long options are named
 * OPT_NAME in one enum starting at SRE_OPT_TOOL (above the common ones):
 *
 *	enum { OPT_HOLD = SRE_OPT_TOOL, OPT_WARMUP };
 *
 * Option values go through the checked helpers below (sre_opt_count,
 * sre_opt_real, sre_opt_duration): each reports "NAME ARG: why" on stderr
 * and returns -1, and the tool exits EX_USAGE.  The input is named one way
 * in every tool: an operand FILE ("-": standard input) or --in URL, where a
 * bare path means file:PATH and a name ending in .gz is read through gzip
 * (bus.h); sre_opt_input() takes the operand.
 */
#ifndef SRE_OPT_H
#define SRE_OPT_H

#include <getopt.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SRE_OPT_STATE_DIR 0x1001
#define SRE_OPT_MAX_LINE  0x1002
#define SRE_OPT_TOOL      0x1100	/* a tool's own OPT_ values start here */

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

/*
 * getopt_long(3) for a tool: the common options (SRE_COMMON_SHORTOPTS and
 * SRE_COMMON_LONGOPTS, which the tool's table must hold) are taken here,
 * with -h (usage to stdout), -V (the version) and a bad option or value
 * (reported, usage to stderr).  Returns the tool's next own option, or -1
 * when the loop ends: then *ex is -1 when the tool goes on (optind is the
 * first operand), else the code to exit with (EX_OK after -h or -V,
 * EX_USAGE).  shortopts holds the tool's own letters only (a leading "+"
 * stops at the first operand, as getopt's); a common letter named there
 * too ("i:") is handed to the tool instead.
 *
 *	while ((ch = sre_getopt(&opt.c, argc, argv, "w:", longopts, usage,
 *	    &ex)) != -1) {
 *		switch (ch) {
 *		case 'w':
 *			if (sre_opt_duration("--window", optarg, 1000,
 *			    SRE_DURATION_MAX, &opt.window_ms) < 0)
 *				return EX_USAGE;
 *			break;
 *		}
 *	}
 *	if (ex >= 0)
 *		return ex;
 */
int sre_getopt(struct sre_common *c, int argc, char *const argv[],
    const char *shortopts, const struct option *longopts,
    void (*usage)(FILE *), int *ex);

/*
 * The operands left after the options (argc, argv from optind on): at most
 * one FILE, the input, used as --in ("-" is standard input).  c->in NULL
 * or "-" means --in was not given.  Returns 0, or -1 after reporting two
 * operands or a FILE given with --in (EX_USAGE).
 */
int sre_opt_input(struct sre_common *c, int argc, char *const argv[]);

/*
 * The end of a tool's option loop: ex as sre_getopt left it (>= 0: exit
 * with it), then the operands from optind on through sre_opt_input (usage
 * on stderr when they are wrong).  -1 to go on, or the exit code.
 *
 *	if ((ex = sre_opt_end(&opt.c, argc, argv, ex, usage)) >= 0)
 *		return ex;
 */
int sre_opt_end(struct sre_common *c, int argc, char *const argv[], int ex,
    void (*usage)(FILE *));

/*
 * A whole number from min to max (decimal, strtonum(3)).  Returns 0 with
 * *out set, or -1 after "NAME ARG: too small; want a whole number from MIN
 * to MAX" (invalid, too small, too large).
 */
int sre_opt_count(const char *name, const char *arg, long long min,
    long long max, long long *out);

/* sre_opt_real flags: min itself is refused; max is a cap against
 * overflow only, not said in the message. */
#define SRE_OPT_ABOVE	0x1
#define SRE_OPT_NOMAX	0x2

/*
 * A finite real number from min to max (strtod(3), the whole argument).
 * Returns 0 with *out set, or -1 after "NAME ARG: want a number from MIN
 * to MAX" ("above MIN", "of at least MIN" as the flags say).
 */
int sre_opt_real(const char *name, const char *arg, double min, double max,
    int flags, double *out);

/*
 * A duration from min_ms to max_ms, read by sre_duration_parse() (the one
 * duration parser, evtime.h): a number with a unit ms, s, m, h or d, a bare
 * number being seconds, fractions allowed ("1.5h", "0.25s") and rounded to
 * the nearest millisecond (half up: "1.0005s" is 1001 ms; truncating would
 * make "1.005s" 1004 ms, as 1.005 has no exact binary form).  At most 10
 * years.  Returns 0 with *out set, or -1 after "NAME ARG: not a duration
 * from MIN to MAX (such as 500ms, 10s, 2m, 1h, 7d)".
 */
int sre_opt_duration(const char *name, const char *arg, int64_t min_ms,
    int64_t max_ms, int64_t *out);

/* Print "sre-NAME VERSION" to stdout. */
void sre_print_version(void);

/* The state directory: --state-dir, $SRE_STATE_DIR, else ".sre". */
const char *sre_state_dir(const struct sre_common *c);

/* mkdir -p: create dir and its parents if missing, mode 0777 less the
 * umask.  Returns 0, or -1 with errno set. */
int sre_mkdirs(const char *dir);

/*
 * Create the state directory (and its parents) if missing.  Returns 0, or
 * -1 with errno set (the tool reports it and exits EX_CANTCREAT).
 */
int sre_state_dir_make(const struct sre_common *c);

#endif
