/*
 * escalate.c: webhook and mail delivery for sre-escalate (see escalate.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jv.h>

#include "commitmsg.h"
#include "escalate.h"
#include "event.h"
#include "http.h"
#include "subproc.h"

int
sre_escalate_mail_ok(const char *a)
{
	const char *p;

	if (a == NULL || *a == '\0' || *a == '-' || strchr(a, '@') == NULL ||
	    strlen(a) > 254)
		return 0;
	for (p = a; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f || strchr("<>,;\"",
		    *p) != NULL)
			return 0;
	return 1;
}

int
sre_escalate_webhook(const char *url, const char *text, const char *inc,
    const char *reason, int tier, char *err, size_t errlen)
{
	const char *hdrs[] = { "Content-Type: application/json",
	    "User-Agent: sre-escalate/" SRE_VERSION, NULL };
	struct sre_http_req rq;
	struct sre_http_resp rs;
	char where[256];
	jv body = jv_object();
	size_t len;
	char *json;
	int ok;

	*err = '\0';
	body = jv_object_set(body, jv_string("text"), jv_string(text));
	body = jv_object_set(body, jv_string("incident"), jv_string(inc));
	body = jv_object_set(body, jv_string("reason"), jv_string(reason));
	body = jv_object_set(body, jv_string("tier"), jv_number(tier));
	body = jv_object_set(body, jv_string("source"),
	    jv_string("sre-escalate"));
	if ((json = sre_jv_dump(body, &len)) == NULL)
		return 0;
	memset(&rq, 0, sizeof(rq));
	rq.method = "POST";
	rq.url = url;
	rq.headers = hdrs;
	rq.body = json;
	rq.bodylen = len;
	if (sre_http_do(&rq, &rs, err, errlen) < 0)
		ok = 0;
	else if (rs.status / 100 != 2) {
		snprintf(err, errlen, "%s: HTTP %ld after %d attempt%s",
		    sre_http_redact(url, where, sizeof(where)), rs.status,
		    rs.attempts, rs.attempts == 1 ? "" : "s");
		ok = 0;
	} else
		ok = 1;
	sre_http_resp_free(&rs);
	free(json);
	return ok;
}

int
sre_escalate_mail(const char *sendmail, const char *to, const char *text,
    const char *inc, char *err, size_t errlen)
{
	const char *argv[] = { sendmail, "-oi", "--", to, NULL };
	struct sre_subproc sp;
	struct sre_subproc_result r;
	char line[512], subj[300], *msg;
	size_t n;
	int ok;

	*err = '\0';
	sre_commitmsg_oneline(subj, sizeof(subj), inc);
	n = strlen(text) + strlen(subj) + strlen(to) + 256;
	if ((msg = malloc(n)) == NULL)
		return 0;
	snprintf(msg, n, "To: %s\nSubject: [sre] incident %s needs a human\n"
	    "Content-Type: text/plain; charset=utf-8\n"
	    "X-Mailer: sre-escalate/%s\n\n%s\n", to, subj, SRE_VERSION, text);
	memset(&sp, 0, sizeof(sp));
	sp.argv = argv;
	sp.in = msg;
	sp.inlen = strlen(msg);
	sp.timeout_ms = 60000;
	if (sre_subproc_run(&sp, &r, err, errlen) < 0)
		ok = 0;
	else if (r.status != 0) {
		snprintf(err, errlen, "%s exited %d: %s", sendmail, r.status,
		    sre_subproc_firstline(r.err, line, sizeof(line)));
		ok = 0;
	} else
		ok = 1;
	sre_subproc_result_free(&r);
	free(msg);
	return ok;
}
