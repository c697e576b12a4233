/*
 * commitmsg.h: the texts sre-fix writes into git and onto GitHub (commit
 * messages, pull request and issue bodies), made from untrusted events.
 *
 *	char *msg = sre_commitmsg_story(verdict, anomaly, &edit, 0, 0);
 *	if (msg == NULL) ... out of memory ...;
 *	git commit -F - < msg;
 *	free(msg);
 *
 * Text from events is untrusted: it can neither add lines to a message
 * (a forged "SRE-Incident:" trailer) nor, on GitHub, mention a team,
 * close an issue or load an image (sre_commitmsg_untrusted).
 */
#ifndef SRE_COMMITMSG_H
#define SRE_COMMITMSG_H

#include <stddef.h>
#include <stdint.h>

#include <jv.h>

#include "gitops.h"

/*
 * One line of s (NULL: "") into out (outlen bytes, truncated to fit):
 * control characters become spaces.
 */
void sre_commitmsg_oneline(char *out, size_t outlen, const char *s);

/*
 * s (NULL: "") made harmless for a commit message or title (md 0) or for
 * GitHub Markdown (md 1), into out (outlen bytes), on one line
 * (sre_commitmsg_oneline).  In Markdown the text becomes a code span,
 * fenced with more backticks than it holds, where GitHub makes no
 * mention, reference or link; empty text, or an out too small for the
 * fences, gives "".  Otherwise a "#" or "GH-" before a digit gets a space
 * after it, so no closing keyword or reference can act.  s is cut to 1023
 * bytes first.
 */
void sre_commitmsg_untrusted(char *out, size_t outlen, const char *s,
    int md);

/*
 * The story of a fix: the commit message (md 0) or the Markdown body of
 * its issue and pull request (md 1).  Borrows verdict (the approving
 * verdict: incident, root_causes, confidence, summary, proposal,
 * diagnosis, id, rules, fingerprint, any of them may be missing) and
 * anomaly (the incident's last anomaly, or anything else for none).
 * e is what the change did; issue, when above 0 and md is 1, is closed by
 * the pull request ("Closes #N").  The text ends with the trailer
 * "SRE-Incident: <incident>" (the incident id as is: the caller has
 * checked it with sre_gitops_ref_ok).  Returns a malloc'd string, or NULL
 * when out of memory: never a text with a part left out.
 */
char *sre_commitmsg_story(jv verdict, jv anomaly,
    const struct sre_gitops_edit *e, int md, long issue);

/*
 * The message of the commit that reverts target (a commit id) for
 * incident inc, as no recovery followed within window_ms.  Ends with the
 * SRE-Incident trailer.  Returns a malloc'd string, or NULL when out of
 * memory.
 */
char *sre_commitmsg_revert(const char *inc, int64_t window_ms,
    const char *target);

#endif
