/*
 * curate-report.h: what sre-curate's subcommands read besides the store:
 * the --since/--until times, the --truth file that judges a report, and
 * the text line of a search hit.
 *
 *	jv truth, problems;
 *	ex = sre_curate_truth_read(path, max_line, &truth, &problems);
 *	sre_warnx_list("", problems);
 *	... sre_curate_report(st, since, until, truth, ...) ...
 */
#ifndef SRE_CURATE_REPORT_H
#define SRE_CURATE_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include <jv.h>

#include "store.h"

/*
 * A time for --since and --until into *out (epoch ms): epoch ms, an ISO
 * 8601 UTC date or time (YYYY-MM-DD[THH:MM[:SS]][Z]), or -N[smhd], that
 * long before now_ms.  0, or -1 when s is none of these.
 */
int sre_curate_parse_time(const char *s, int64_t now_ms, int64_t *out);

/*
 * One parsed line of a truth file (t, taken): either a generator's truth
 * file (examples/marketplace, examples/traces), one object whose
 * "faults" each become an entry {service, operation?, start_ms, end_ms},
 * or one truth entry with "incident" or "fingerprint" and "service" or
 * "root_cause".  Appends the entries to the array *out and a message per
 * problem, prefixed by where, to the array *problems.  0, or -1 when
 * something was wrong (the good faults are appended all the same).
 */
int sre_curate_truth_add(jv t, const char *where, jv *out, jv *problems);

/*
 * Read the truth file at path (lines up to max_line bytes): *out the
 * array of its entries, *problems an array of messages (both new, the
 * caller frees them).  EX_OK; EX_DATAERR when a line was bad (the others
 * are kept); EX_USAGE, EX_NOINPUT, EX_IOERR... when the file could not be
 * read (one message says why).
 */
int sre_curate_truth_read(const char *path, size_t max_line, jv *out,
    jv *problems);

/*
 * The incidents of the read transaction t most like the stored incident
 * `incident` or, when incident is NULL, like text: an array of at most
 * limit hits (sre_txn_similar).  jv_invalid() with a message in err and
 * *ex set (EX_NOINPUT: no such incident; else the store's code) when
 * there are none to give.
 */
jv sre_curate_similar(struct sre_txn *t, const char *incident,
    const char *text, int limit, char *err, size_t errlen, int *ex);

/*
 * The text line of one search hit (borrowed): score, incident, outcome
 * ("open" if none), fingerprint ("-" if none) and summary, with a newline;
 * truncated to fit buf.
 */
void sre_curate_hit_line(jv h, char *buf, size_t len);

#endif
