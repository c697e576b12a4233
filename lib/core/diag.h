/*
 * diag.h: diagnostics for every tool, "sre-NAME: message" on stderr.
 *
 * sre_init() is called first thing in main(): it records the tool name,
 * makes sure fds 0-2 are open (so a file we open never becomes stdout),
 * and installs the signal handling of sig.h.  The library itself never
 * prints: tools report what library calls return through these.
 */
#ifndef SRE_DIAG_H
#define SRE_DIAG_H

#include <sysexits.h>

#include <jv.h>

#define SRE_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* Set the tool name ("sre-bus") and sanitize fds 0-2. */
void sre_init(const char *name);

/* The name given to sre_init(), "sre" before it. Borrowed. */
const char *sre_progname(void);

/* -1 quiet (errors only), 0 normal, 1 and more verbose. */
void sre_set_verbosity(int level);
int sre_verbosity(void);

/* "sre-NAME: message\n" on stderr. */
void sre_warnx(const char *fmt, ...) SRE_PRINTF(1, 2);
/* The same with ": strerror(errno)" appended. */
void sre_warn(const char *fmt, ...) SRE_PRINTF(1, 2);
/* sre_warnx("%s%s", prefix, item) for each string of list (consumed),
 * such as the problems sre_policy_load returns. */
void sre_warnx_list(const char *prefix, jv list);
/* Printed only at verbosity >= 1. */
void sre_info(const char *fmt, ...) SRE_PRINTF(1, 2);
/* Printed unless quiet (-q): notices such as the exit summary. */
void sre_notice(const char *fmt, ...) SRE_PRINTF(1, 2);

#endif
