/*
 * commitmsg.c: the texts of a fix, from untrusted events (commitmsg.h).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "commitmsg.h"
#include "event.h"
#include "evtime.h"
#include "sbuf.h"

void
sre_commitmsg_oneline(char *out, size_t outlen, const char *s)
{
	size_t i;

	snprintf(out, outlen, "%s", s ? s : "");
	for (i = 0; out[i] != '\0'; i++)
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			out[i] = ' ';
}

/* one as a Markdown code span, fenced with more backticks than it holds. */
static void
code_span(char *out, size_t outlen, const char *one)
{
	size_t i, o, n, run = 0, most = 0;

	for (i = 0; one[i] != '\0'; i++) {
		run = one[i] == '`' ? run + 1 : 0;
		if (run > most)
			most = run;
	}
	n = i;
	/* fence, space, text, space, fence, NUL */
	if (n == 0 || outlen < 2 * (most + 1) + 3 + 1) {
		snprintf(out, outlen, "%s", "");
		return;
	}
	if (n > outlen - 2 * (most + 1) - 3)
		n = outlen - 2 * (most + 1) - 3;
	o = 0;
	for (i = 0; i <= most; i++)
		out[o++] = '`';
	out[o++] = ' ';
	memcpy(out + o, one, n);
	o += n;
	out[o++] = ' ';
	for (i = 0; i <= most; i++)
		out[o++] = '`';
	out[o] = '\0';
}

void
sre_commitmsg_untrusted(char *out, size_t outlen, const char *s, int md)
{
	char one[1024];
	size_t i, o;

	sre_commitmsg_oneline(one, sizeof(one), s);
	if (md) {
		code_span(out, outlen, one);
		return;
	}
	for (i = 0, o = 0; one[i] != '\0' && o + 2 < outlen; i++) {
		out[o++] = one[i];
		if ((one[i] == '#' || (one[i] == '-' && i >= 2 &&
		    strncasecmp(one + i - 2, "GH", 2) == 0)) &&
		    isdigit((unsigned char)one[i + 1]))
			out[o++] = ' ';
	}
	out[o] = '\0';
}

/* The head: title, incident, root causes, confidence, summary, proposal. */
static void
story_head(struct sre_sbuf *d, jv v, const struct sre_gitops_edit *e, int md)
{
	char a[512], b[512], c[512], num[64];
	jv rc = sre_jv_get(v, "root_causes");
	jv prop = sre_jv_get(v, "proposal");
	double conf, sc;
	char *pj;
	int i, n;

	sre_commitmsg_untrusted(a, sizeof(a), e->summary, 0);
	if (md)
		sre_sbuf_addf(d, "## SRE-Space: %s\n\n", a);
	else
		sre_sbuf_addf(d, "sre-fix: %.60s%s\n\n", a, strlen(a) > 60 ?
		    "..." : "");
	sre_commitmsg_untrusted(a, sizeof(a), sre_jv_str(v, "incident"), md);
	sre_sbuf_addf(d, md ? "**Incident:** %s  \n" : "Incident: %s\n", a);
	n = jv_get_kind(rc) == JV_KIND_ARRAY ? jv_array_length(jv_copy(rc)) :
	    0;
	for (i = 0; i < n && i < 3; i++) {
		jv r = jv_array_get(jv_copy(rc), i);

		sre_commitmsg_untrusted(a, sizeof(a), sre_jv_str(r, "service"),
		    md);
		sre_commitmsg_untrusted(b, sizeof(b), sre_jv_str(r,
		    "operation"), md);
		sre_commitmsg_untrusted(c, sizeof(c), sre_jv_str(r, "reason"),
		    md);
		num[0] = '\0';
		if (sre_jv_num(r, "score", &sc) == 0)
			snprintf(num, sizeof(num), " (score %.2f)", sc);
		sre_sbuf_addf(d, md ? "**Root cause%s:** %s%s%s%s: %s  \n" :
		    "Root cause%s: %s%s%s%s: %s\n", i ? " (also)" : "", a,
		    *b ? " " : "", b, num, c);
		jv_free(r);
	}
	if (sre_jv_num(v, "confidence", &conf) == 0)
		sre_sbuf_addf(d, md ? "**Confidence:** %.2f  \n" :
		    "Confidence: %.2f\n", conf);
	sre_commitmsg_untrusted(a, sizeof(a), sre_jv_str(v, "summary"), md);
	if (*a)
		sre_sbuf_addf(d, md ? "**Summary:** %s  \n" : "Summary: %s\n",
		    a);
	if (jv_is_valid(prop) && (pj = sre_jv_dump(jv_copy(prop), NULL)) !=
	    NULL) {
		/* A patch's diff is in the change itself; keep it short. */
		if (strlen(pj) > 300)
			pj[300] = '\0';
		sre_commitmsg_untrusted(b, sizeof(b), pj, md);
		sre_sbuf_addf(d, md ? "**Proposal:** %s  \n" :
		    "Proposal: %s\n", b);
		free(pj);
	}
	jv_free(rc);
	jv_free(prop);
}

/* The evidence: diagnosis and verdict, rules, fingerprint, anomaly. */
static void
story_evidence(struct sre_sbuf *d, jv v, jv an, int md)
{
	char a[512], b[512], c[512];
	double o = 0, bl = 0;
	char *pj;
	jv x;

	sre_sbuf_adds(d, md ? "\n### Evidence\n\n" : "\nEvidence:\n");
	sre_commitmsg_untrusted(a, sizeof(a), sre_jv_str(v, "diagnosis"), md);
	sre_commitmsg_untrusted(b, sizeof(b), sre_jv_str(v, "id"), md);
	sre_sbuf_addf(d, "- diagnosis %s, approved by verdict %s", *a ? a :
	    "?", *b ? b : "?");
	x = sre_jv_get(v, "rules");
	if (jv_get_kind(x) == JV_KIND_INVALID)
		jv_free(x);
	else if ((pj = sre_jv_dump(x, NULL)) != NULL) {
		sre_commitmsg_oneline(c, sizeof(c), pj);
		sre_sbuf_addf(d, " (rules %s)", c);
		free(pj);
	} else
		d->oom = 1;
	sre_sbuf_adds(d, "\n");
	sre_commitmsg_untrusted(a, sizeof(a), sre_jv_str(v, "fingerprint"),
	    md);
	if (*a)
		sre_sbuf_addf(d, "- fingerprint %s\n", a);
	if (jv_get_kind(an) != JV_KIND_OBJECT)
		return;
	sre_commitmsg_untrusted(a, sizeof(a), sre_jv_str(an, "service"), md);
	sre_commitmsg_untrusted(b, sizeof(b), sre_jv_str(an, "signal"), md);
	sre_jv_num(an, "observed", &o);
	sre_jv_num(an, "baseline", &bl);
	sre_sbuf_addf(d, "- anomaly on %s: %s observed %g against a baseline "
	    "of %g\n", a, b, o, bl);
	x = sre_jv_get(an, "evidence");
	if (jv_get_kind(x) == JV_KIND_OBJECT &&
	    (pj = sre_jv_dump(jv_copy(x), NULL)) != NULL) {
		if (strlen(pj) > 400)
			pj[400] = '\0';
		sre_commitmsg_untrusted(c, sizeof(c), pj, md);
		sre_sbuf_addf(d, "- evidence: %s\n", c);
		free(pj);
	}
	jv_free(x);
}

char *
sre_commitmsg_story(jv v, jv an, const struct sre_gitops_edit *e, int md,
    long issue)
{
	struct sre_sbuf d = { 0 };
	const char *inc = sre_jv_str(v, "incident");
	char a[512];

	story_head(&d, v, e, md);
	story_evidence(&d, v, an, md);
	sre_commitmsg_untrusted(a, sizeof(a), e->files, md);
	sre_sbuf_addf(&d, "- files: %s\n", a);
	if (e->reverted[0])
		sre_sbuf_addf(&d, "- reverts commit %s\n", e->reverted);
	if (md && issue > 0)
		sre_sbuf_addf(&d, "\nCloses #%ld\n", issue);
	/* An incident id can name a branch (sre_gitops_ref_ok): as is. */
	sre_sbuf_addf(&d, "\nSRE-Incident: %s\n", inc ? inc : "");
	if (d.oom || d.p == NULL) {
		sre_sbuf_free(&d);
		return NULL;
	}
	return d.p;
}

char *
sre_commitmsg_revert(const char *inc, int64_t window_ms, const char *target)
{
	struct sre_sbuf d = { 0 };
	char w[32];

	sre_duration_fmt(window_ms, w, sizeof(w));
	sre_sbuf_addf(&d, "sre-fix: revert the fix for incident %s\n\n"
	    "No recovery of incident %s followed within %s of the fix,"
	    "\nso the fix is undone and a human takes over.\n\n"
	    "This reverts commit %s.\n\nSRE-Incident: %s\n", inc, inc, w,
	    target, inc);
	if (d.oom || d.p == NULL) {
		sre_sbuf_free(&d);
		return NULL;
	}
	return d.p;
}
