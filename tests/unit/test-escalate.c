/* test-escalate.c: mail addresses, mail through a stand-in sendmail. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "escalate.h"
#include "tap.h"

static void
test_mail_ok(void)
{
	ok(sre_escalate_mail_ok("oncall@example.com"), "a plain address");
	ok(!sre_escalate_mail_ok(NULL), "NULL");
	ok(!sre_escalate_mail_ok(""), "empty");
	ok(!sre_escalate_mail_ok("-oQ/tmp@x"), "a leading '-' (an option)");
	ok(!sre_escalate_mail_ok("nobody"), "no '@'");
	ok(!sre_escalate_mail_ok("a b@example.com"), "a space");
	ok(!sre_escalate_mail_ok("a@x,b@y"), "a list");
	ok(!sre_escalate_mail_ok("a@x\n"), "a newline");
}

/* Read a whole small file into buf. */
static void
slurp(const char *path, char *buf, size_t len)
{
	FILE *fp = fopen(path, "r");
	size_t n = 0;

	if (fp != NULL) {
		n = fread(buf, 1, len - 1, fp);
		fclose(fp);
	}
	buf[n] = '\0';
}

static void
test_mail(void)
{
	char dir[] = "/tmp/test-escalate.XXXXXX", sm[256], got[256],
	    script[1024], err[1024], text[4096];
	FILE *fp;

	if (mkdtemp(dir) == NULL) {
		ok(0, "mkdtemp");
		return;
	}
	snprintf(sm, sizeof(sm), "%s/sendmail", dir);
	snprintf(got, sizeof(got), "%s/got", dir);
	snprintf(script, sizeof(script), "#!/bin/sh\n"
	    "printf '%%s|' \"$@\" >'%s'\ncat >>'%s'\n"
	    "case \"$3\" in bad@*) echo 'no such user' >&2; exit 67;; esac\n",
	    got, got);
	fp = fopen(sm, "w");
	ok(fp != NULL && fputs(script, fp) >= 0 && fclose(fp) == 0 &&
	    chmod(sm, 0700) == 0, "a stand-in sendmail");
	ok(sre_escalate_mail(sm, "oncall@example.com", "db is down",
	    "inc-1\nX-Evil: yes", err, sizeof(err)) == 1, "mail sent: %s",
	    err);
	slurp(got, text, sizeof(text));
	ok(strncmp(text, "-oi|--|oncall@example.com|To: oncall@example.com\n",
	    48) == 0, "argv: -oi -- ADDRESS");
	ok(strstr(text, "Subject: [sre] incident inc-1 X-Evil: yes needs a "
	    "human\n") != NULL, "the incident on one line in the subject");
	ok(strstr(text, "\n\ndb is down\n") != NULL, "the text as the body");
	ok(sre_escalate_mail(sm, "bad@example.com", "x", "inc-2", err,
	    sizeof(err)) == 0 && strstr(err, "exited 67: no such user") !=
	    NULL, "sendmail's failure: %s", err);
	snprintf(script, sizeof(script), "%s/none", dir);
	ok(sre_escalate_mail(script, "a@b", "x", "i", err, sizeof(err)) ==
	    0 && *err != '\0', "no sendmail: %s", err);
	unlink(sm);
	unlink(got);
	rmdir(dir);
}

int
main(void)
{
	test_mail_ok();
	test_mail();
	return tap_done();
}
