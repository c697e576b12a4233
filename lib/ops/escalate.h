/*
 * escalate.h: the channels of sre-escalate(1) that reach a human: a
 * webhook (a JSON POST with a Slack-compatible "text") and mail through
 * sendmail(8).
 *
 *	char err[1024];
 *	if (!sre_escalate_webhook(url, text, inc, reason, tier, err,
 *	    sizeof(err)) && *err != '\0')
 *		sre_warnx("webhook: %s", err);
 *
 * No shell sees any of these strings: sendmail runs by execve with the
 * address after "--", and the mail's subject is the incident on one line.
 */
#ifndef SRE_ESCALATE_H
#define SRE_ESCALATE_H

#include <stddef.h>

/*
 * 1 when a is a mail address sendmail may take as an argument: an "@",
 * at most 254 bytes, no leading "-", no space, control character or any
 * of <>,;" ; else 0 (NULL is 0).
 */
int sre_escalate_mail_ok(const char *a);

/*
 * POST {"text","incident","reason","tier","source":"sre-escalate"} to
 * url (sre_http_do: retried with backoff).  1 when it answered 2xx;
 * 0 otherwise, with err saying why (the URL redacted), or empty when
 * memory ran out.
 */
int sre_escalate_webhook(const char *url, const char *text, const char *inc,
    const char *reason, int tier, char *err, size_t errlen);

/*
 * Mail text to the address `to` (checked with sre_escalate_mail_ok) by
 * running `sendmail -oi -- to`, the message on its standard input, with
 * the subject "[sre] incident INC needs a human" (inc on one line).  1
 * when sendmail exited 0; 0 otherwise, with err saying why, or empty when
 * memory ran out.
 */
int sre_escalate_mail(const char *sendmail, const char *to, const char *text,
    const char *inc, char *err, size_t errlen);

#endif
