/*
 * subproc.h: run a program as a child with an argv, never through a shell.
 *
 * Untrusted strings (branch names, commit messages, paths from a patch)
 * reach git and sendmail only as argv elements or on standard input, so
 * no shell ever parses them.  The child gets the parent's environment
 * with some names set or removed (and never the secrets the tools read:
 * GITHUB_PERSONAL_ACCESS_TOKEN, OPENAI_API_KEY, SRE_CONTROL_KEY and the
 * like, unless env_set names one), its own working directory, SIGPIPE,
 * SIGINT and SIGTERM back at their defaults, an empty signal mask, and no
 * file descriptor of ours beyond 0-2.
 *
 *	const char *argv[] = { "git", "-C", dir, "status", NULL };
 *	struct sre_subproc sp = { .argv = argv };
 *	struct sre_subproc_result r;
 *
 *	if (sre_subproc_run(&sp, &r, err, sizeof(err)) < 0)
 *		... could not start: err ...
 *	else if (r.status != 0)
 *		... failed: r.err ...
 *	sre_subproc_result_free(&r);
 */
#ifndef SRE_SUBPROC_H
#define SRE_SUBPROC_H

#include <stddef.h>

struct sre_subproc {
	const char *const *argv;	/* argv[0] is looked up in PATH */
	const char *cwd;		/* NULL: the parent's */
	const char *const *env_set;	/* "NAME=VALUE" set in the child */
	const char *const *env_unset;	/* names removed in the child */
	const char *in;			/* standard input; NULL: /dev/null */
	size_t inlen;
	size_t out_max;			/* captured bytes kept per stream;
					   0: 16 MiB (the rest is drained) */
	int timeout_ms;			/* > 0: SIGKILL after this long */
};

struct sre_subproc_result {
	char *out;		/* standard output, NUL terminated (malloc) */
	size_t outlen;
	char *err;		/* standard error, NUL terminated (malloc) */
	size_t errlen;
	int status;		/* exit status; 128 + N when killed by N */
	int timed_out;		/* killed for running past timeout_ms */
};

/*
 * Run sp->argv to completion, feeding sp->in and capturing both outputs.
 * Returns 0 when the child ran (look at r->status), or -1 with a message
 * in err when it could not be started or waited for.  r is always set
 * up, so sre_subproc_result_free(r) is safe after either.
 */
int sre_subproc_run(const struct sre_subproc *sp, struct sre_subproc_result *r,
    char *err, size_t errlen);

/* Free the captured outputs; accepts a zeroed or freed result. */
void sre_subproc_result_free(struct sre_subproc_result *r);

/*
 * The first line of text (up to a newline, trailing blanks trimmed) copied
 * into out, for one-line diagnostics from a child's stderr.  Returns out.
 */
char *sre_subproc_firstline(const char *text, char *out, size_t outlen);

#endif
