/* test-anon: placeholders for names, addresses and tokens (lib/telemetry/anon.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "anon.h"
#include "tap.h"

/* Anonymise text; check it equals want and restores to the original. */
static void
round_trip(struct sre_anon *a, const char *text, const char *want)
{
	char *t = sre_anon_text(a, text, 0), *back;

	ok(t != NULL && strcmp(t, want) == 0, "'%s' -> '%s'", text,
	    t ? t : "(null)");
	back = sre_anon_restore(a, t ? t : "");
	ok(back != NULL && strcmp(back, text) == 0, "and back (%s)",
	    back ? back : "(null)");
	free(t);
	free(back);
}

int
main(void)
{
	struct sre_anon *a = sre_anon_new();
	const char *p1, *p2;
	char *t, big[64];
	int i;

	p1 = sre_anon_service(a, "pricing-engine");
	p2 = sre_anon_service(a, "db-policy");
	ok(p1 && strcmp(p1, "svc-1") == 0 && p2 && strcmp(p2, "svc-2") == 0,
	    "services get svc-N in order of sight");
	ok(strcmp(sre_anon_service(a, "pricing-engine"), "svc-1") == 0,
	    "the same name, the same placeholder");
	ok(sre_anon_service(a, "") == NULL && sre_anon_service(a, NULL) ==
	    NULL, "no name, no placeholder");
	sre_anon_service(a, "pricing");	/* a prefix of another name */

	round_trip(a, "upstream pricing-engine failed",
	    "upstream svc-1 failed");
	round_trip(a, "pricing calls pricing-engine",
	    "svc-3 calls svc-1");
	round_trip(a, "waiting for db-policy (pool size 20)",
	    "waiting for svc-2 (pool size 20)");
	round_trip(a, "read tcp 10.42.3.17:43122->10.42.7.4:8080: reset",
	    "read tcp ip-1->ip-2: reset");
	round_trip(a, "mail ops@example.com now", "mail email-1 now");
	round_trip(a, "GET https://api.example.com/v1/x?token=abc done",
	    "GET url-1 done");
	round_trip(a, "host db01.prod.internal is down", "host host-1 is down");
	round_trip(a, "trace 4bf92f3577b34da6a3ce929d0e0e4736 span "
	    "00f067aa0ba902b7", "trace id-1 span id-2");
	round_trip(a, "uuid 123e4567-e89b-12d3-a456-426614174000",
	    "uuid id-3");
	round_trip(a, "quote Q-3F2A91C0 created", "quote id-4 created");
	round_trip(a, "Authorization: Bearer abcdefgh12345678",
	    "Authorization: Bearer secret-1");
	round_trip(a, "key sk-proj-AbCdEf0123456789xyz leaked",
	    "key secret-2 leaked");
	round_trip(a, "fe80::1ff:fe23:4567:890a answered", "ip-3 answered");
	round_trip(a, "GET /users/1234567/orders", "GET /users/id-5/orders");
	round_trip(a, "java.lang.IllegalStateException: tariff table not "
	    "loaded", "java.lang.IllegalStateException: tariff table not "
	    "loaded");
	round_trip(a, "timed out after 3000 ms, p95 12.5 ms, version 2.3.0",
	    "timed out after 3000 ms, p95 12.5 ms, version 2.3.0");
	round_trip(a, "", "");

	/* stable: the same address, the same placeholder */
	t = sre_anon_text(a, "again 10.42.3.17:43122 and ops@example.com", 0);
	ok(t && strcmp(t, "again ip-1 and email-1") == 0, "stable mapping: %s",
	    t ? t : "");
	free(t);

	/* restoring whole words only */
	t = sre_anon_restore(a, "svc-1, svc-12 and xsvc-1 and svc-1x and "
	    "svc-2.");
	ok(t && strcmp(t, "pricing-engine, svc-12 and xsvc-1 and svc-1x and "
	    "db-policy.") == 0, "only whole placeholders are restored: %s",
	    t ? t : "");
	free(t);
	ok(sre_anon_original(a, "svc-2") && strcmp(sre_anon_original(a,
	    "svc-2"), "db-policy") == 0 && sre_anon_original(a, "svc-99") ==
	    NULL, "sre_anon_original");

	/* cut at max bytes, on a character boundary */
	t = sre_anon_text(a, "h\xc3\xa9h\xc3\xa9h\xc3\xa9", 4);
	ok(t && strlen(t) <= 4 && strcmp(t, "h\xc3\xa9h") == 0, "cut at a "
	    "character boundary (%zu bytes)", t ? strlen(t) : 0);
	free(t);
	t = sre_anon_text(a, "\xff\xfe binary \x01\x02 pricing-engine", 0);
	ok(t && strstr(t, "svc-1") != NULL && strstr(t, "pricing-engine") ==
	    NULL, "binary bytes do no harm");
	free(t);
	sre_anon_free(a);
	sre_anon_free(NULL);

	/* bounded: beyond SRE_ANON_MAX originals, "redacted" */
	a = sre_anon_new();
	for (i = 0; i < SRE_ANON_MAX + 10; i++) {
		snprintf(big, sizeof(big), "svc%05d", i);
		sre_anon_service(a, big);
	}
	ok(sre_anon_count(a) == SRE_ANON_MAX, "at most %d originals",
	    SRE_ANON_MAX);
	t = sre_anon_text(a, "ops@example.org", 0);
	ok(t && strcmp(t, "redacted") == 0, "then new ones are redacted (%s)",
	    t ? t : "");
	free(t);
	sre_anon_free(a);
	return tap_done();
}
