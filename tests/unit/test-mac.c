/* test-mac.c: signing and verifying control events (lib/core/mac.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "event.h"
#include "mac.h"
#include "opt.h"
#include "tap.h"

#define KEY1 "5eb1e5ca1ab1e0c0ffee5eb1e5ca1ab1e0c0ffee5eb1e5ca1ab1e0c0ffee0001"
#define KEYZ "zzb1e5ca1ab1e0c0ffee5eb1e5ca1ab1e0c0ffee5eb1e5ca1ab1e0c0ffee0001"
#define KEY2 "5eb1e5ca1ab1e0c0ffee5eb1e5ca1ab1e0c0ffee5eb1e5ca1ab1e0c0ffee0002"

static const char verdict[] =
    "{\"v\":1,\"type\":\"verdict\",\"id\":\"01V\",\"incident\":\"inc-1\","
    "\"ts_ms\":1700000000000,\"source\":\"sre-guard\",\"decision\":"
    "\"approve\",\"reasons\":[\"ok\"],\"rules\":[],\"confidence\":0.9,"
    "\"proposal\":{\"action\":\"scale\",\"target\":\"quote-api\","
    "\"params\":{\"replicas\":3}}}";

/* The same event, members (and nested members) in another order. */
static const char reordered[] =
    "{\"proposal\":{\"params\":{\"replicas\":3},\"target\":\"quote-api\","
    "\"action\":\"scale\"},\"confidence\":0.9,\"rules\":[],\"reasons\":"
    "[\"ok\"],\"decision\":\"approve\",\"source\":\"sre-guard\","
    "\"ts_ms\":1700000000000,\"incident\":\"inc-1\",\"id\":\"01V\","
    "\"type\":\"verdict\",\"v\":1}";

static jv
parse(const char *s)
{
	char err[256];
	jv v = sre_json_object(s, strlen(s), err, sizeof(err));

	if (!jv_is_valid(v)) {
		fprintf(stderr, "test-mac: %s\n", err);
		exit(2);
	}
	return v;
}

/* Verifies with key k after setting member name to value (JSON text). */
static int
verifies_with(const struct sre_mac_key *k, jv signed_ev, const char *name,
    const char *value)
{
	char why[256];
	jv ev = jv_copy(signed_ev);
	int rc;

	if (name != NULL)
		ev = jv_object_set(ev, jv_string(name), jv_parse(value));
	rc = sre_mac_check(k, ev, why, sizeof(why));
	jv_free(ev);
	return rc == 0;
}

static void
test_sign_verify(void)
{
	struct sre_mac_key k1, k2;
	char why[256];
	jv ev, s, r;
	const char *mac;

	ok(sre_mac_key_parse(&k1, KEY1) == 0, "a key of 64 hex digits");
	ok(sre_mac_key_parse(&k2, KEY2) == 0, "another key");
	ok(sre_mac_key_parse(&k2, "5eb1") < 0, "a short key is refused");
	ok(sre_mac_key_parse(&k2, KEY1 "0") < 0, "a long key is refused");
	ok(sre_mac_key_parse(&k2, KEYZ) < 0,
	    "a key with a non-hex digit is refused");
	sre_mac_key_parse(&k2, KEY2);

	ev = parse(verdict);
	s = sre_mac_sign(&k1, jv_copy(ev));
	mac = sre_jv_str(s, "mac");
	ok(mac != NULL && strlen(mac) == 64 && strspn(mac,
	    "0123456789abcdef") == 64, "the mac is 64 lowercase hex digits");
	ok(verifies_with(&k1, s, NULL, NULL), "sign, then verify");
	ok(!verifies_with(&k2, s, NULL, NULL), "another key does not verify");
	ok(!verifies_with(&k1, ev, NULL, NULL), "no mac does not verify");

	/* Any changed member breaks it. */
	ok(!verifies_with(&k1, s, "incident", "\"inc-2\""), "incident changed");
	ok(!verifies_with(&k1, s, "decision", "\"veto\""), "decision changed");
	ok(!verifies_with(&k1, s, "confidence", "0.91"), "confidence changed");
	ok(!verifies_with(&k1, s, "proposal", "{\"action\":\"scale\","
	    "\"target\":\"quote-api\",\"params\":{\"replicas\":50}}"),
	    "a nested parameter changed");
	ok(!verifies_with(&k1, s, "extra", "1"), "a member added");
	ok(!verifies_with(&k1, s, "ts_ms", "1700000000001"), "time changed");
	{
		jv less = jv_object_delete(jv_copy(s), jv_string("rules"));

		ok(sre_mac_check(&k1, less, why, sizeof(why)) < 0,
		    "a member removed");
		jv_free(less);
	}

	/* Missing and garbled macs. */
	ok(!verifies_with(&k1, s, "mac", "\"00\""), "a short mac");
	ok(!verifies_with(&k1, s, "mac", "7"), "a mac that is a number");
	ok(!verifies_with(&k1, s, "mac", "\"" KEY1 "\""), "a wrong mac");
	ok(!verifies_with(&k1, s, "mac", "\"" KEYZ "\""),
	    "a mac with non-hex digits");
	r = jv_object_set(jv_copy(ev), jv_string("mac"), jv_string("x"));
	ok(sre_mac_verify(&k1, r, why, sizeof(why)) < 0 &&
	    strstr(why, "64 hex") != NULL, "garbled mac: %s", why);
	jv_free(r);

	/* Member order does not matter; re-signing replaces the mac. */
	r = parse(reordered);
	r = jv_object_set(r, jv_string("mac"), jv_object_get(jv_copy(s),
	    jv_string("mac")));
	ok(verifies_with(&k1, r, NULL, NULL), "member order does not matter");
	jv_free(r);
	r = sre_mac_sign(&k1, jv_copy(s));
	ok(jv_equal(jv_copy(r), jv_copy(s)), "signing again gives the same");
	jv_free(r);

	/* Messages name the event and the reason. */
	ok(sre_mac_check(&k1, ev, why, sizeof(why)) < 0 &&
	    strcmp(why, "verdict not signed by sre-guard") == 0,
	    "unsigned: %s", why);
	r = jv_object_set(jv_copy(s), jv_string("decision"),
	    jv_string("veto"));
	ok(sre_mac_check(&k1, r, why, sizeof(why)) < 0 &&
	    strstr(why, "does not verify") != NULL, "altered: %s", why);
	jv_free(r);
	r = sre_mac_sign(&k1, jv_object_set(jv_copy(ev), jv_string("source"),
	    jv_string("sre-scout")));
	ok(sre_mac_check(&k1, r, why, sizeof(why)) < 0 &&
	    strstr(why, "not from sre-guard") != NULL,
	    "signed, from the wrong tool: %s", why);
	jv_free(r);
	r = parse("{\"type\":\"anomaly\"}");
	ok(sre_mac_check(&k1, r, why, sizeof(why)) < 0, "not a control event");
	jv_free(r);
	ok(sre_mac_control("diagnosis") && sre_mac_control("verdict") &&
	    sre_mac_control("action") && !sre_mac_control("anomaly") &&
	    !sre_mac_control(NULL), "the control types");
	ok(strcmp(sre_mac_issuers("diagnosis"), "sre-brain or sre-cag") == 0,
	    "the issuers of a diagnosis");
	r = sre_mac_sign(&k1, jv_string("not an object"));
	ok(!jv_is_valid(r), "only objects are signed");
	jv_free(r);
	jv_free(s);
	jv_free(ev);
}

static void
test_key_file(void)
{
	char dir[] = "/tmp/test-mac.XXXXXX", path[256], err[512];
	struct sre_common c;
	struct sre_mac_key a, b;
	struct stat sb;
	FILE *fp;
	jv s;
	int ex;

	if (mkdtemp(dir) == NULL) {
		ok(0, "mkdtemp");
		return;
	}
	unsetenv("SRE_CONTROL_KEY");
	sre_common_init(&c);
	snprintf(path, sizeof(path), "%s/state/control.key", dir);
	{
		char state[128];

		snprintf(state, sizeof(state), "%s/state", dir);
		c.state_dir = strdup(state);
	}
	ex = sre_mac_key_load(&a, &c, err, sizeof(err));
	ok(ex == EX_OK, "the key is made on first use: %s",
	    ex == EX_OK ? "" : err);
	ok(stat(path, &sb) == 0 && S_ISREG(sb.st_mode) &&
	    (sb.st_mode & 0777) == 0600, "control.key has mode 0600");
	ok(sre_mac_key_load(&b, &c, err, sizeof(err)) == EX_OK &&
	    memcmp(a.k, b.k, sizeof(a.k)) == 0, "and read back the same");
	s = sre_mac_sign(&a, parse(verdict));
	ok(verifies_with(&b, s, NULL, NULL), "what one signs the other "
	    "verifies");
	jv_free(s);

	chmod(path, 0640);
	ex = sre_mac_key_load(&b, &c, err, sizeof(err));
	ok(ex == EX_CONFIG && strstr(err, "0640") != NULL,
	    "a group-readable key is refused: %s", err);
	chmod(path, 0600);
	if ((fp = fopen(path, "w")) != NULL) {
		fputs("not a key\n", fp);
		fclose(fp);
	}
	ex = sre_mac_key_load(&b, &c, err, sizeof(err));
	ok(ex == EX_CONFIG && strstr(err, "64 hex") != NULL,
	    "bad content is refused: %s", err);

	setenv("SRE_CONTROL_KEY", KEY2, 1);
	ok(sre_mac_key_load(&b, &c, err, sizeof(err)) == EX_OK,
	    "SRE_CONTROL_KEY comes first");
	sre_mac_key_parse(&a, KEY2);
	ok(memcmp(a.k, b.k, sizeof(a.k)) == 0, "and is the key");
	setenv("SRE_CONTROL_KEY", "123", 1);
	ok(sre_mac_key_load(&b, &c, err, sizeof(err)) == EX_CONFIG,
	    "a bad SRE_CONTROL_KEY is refused: %s", err);
	unsetenv("SRE_CONTROL_KEY");

	unlink(path);
	snprintf(path, sizeof(path), "%s/state", dir);
	rmdir(path);
	rmdir(dir);
	free((char *)c.state_dir);
}

static void
test_confidence(void)
{
	static const char *const bad[] = { "1.5", "1e308", "-0.1", "\"0.9\"",
	    "null", "true", "[0.5]", NULL };
	const char *const *b;
	char line[1024], err[256];

	for (b = bad; *b != NULL; b++) {
		jv ev;

		snprintf(line, sizeof(line), "{\"v\":1,\"type\":\"verdict\","
		    "\"id\":\"x\",\"incident\":\"i\",\"ts_ms\":1,\"source\":"
		    "\"sre-guard\",\"confidence\":%s}", *b);
		ev = parse(line);
		ok(sre_event_check(ev, err, sizeof(err)) < 0 &&
		    strstr(err, "confidence") != NULL, "confidence %s: %s",
		    *b, err);
		jv_free(ev);
	}
	snprintf(line, sizeof(line), "{\"v\":1,\"type\":\"diagnosis\","
	    "\"id\":\"x\",\"incident\":\"i\",\"ts_ms\":1,\"source\":"
	    "\"sre-brain\",\"confidence\":nan}");
	ok(!jv_is_valid(sre_json_object(line, strlen(line), err,
	    sizeof(err))), "confidence nan is not JSON");
	{
		jv ev = parse("{\"v\":1,\"type\":\"diagnosis\",\"id\":\"x\","
		    "\"incident\":\"i\",\"ts_ms\":1,\"source\":\"sre-brain\","
		    "\"confidence\":1}");

		ok(sre_event_check(ev, err, sizeof(err)) == 0,
		    "confidence 1 is fine");
		jv_free(ev);
	}
}

int
main(void)
{
	test_sign_verify();
	test_key_file();
	test_confidence();
	return tap_done();
}
