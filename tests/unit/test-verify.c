/* test-verify: after a fix (lib/act/verify.c): the window, the gate, what
 * follows a fix that did not end the fault. */
#include <string.h>

#include <jv.h>

#include "event.h"
#include "tap.h"
#include "verify.h"

static jv
J(const char *s)
{
	return jv_parse(s);
}

static int
gate(const char *rec, const char *prop, long max, char *why, size_t len)
{
	jv r = J(rec), p = J(prop);
	int g = sre_verify_gate(r, p, max, why, len);

	jv_free(r);
	jv_free(p);
	return g;
}

static int
next(const char *rec, long max)
{
	jv r = J(rec);
	int n = sre_verify_next(r, max);

	jv_free(r);
	return n;
}

int
main(void)
{
	char why[256];
	const char *scale = "{\"action\":\"scale\",\"target\":\"q\","
	    "\"params\":{\"delta\":2}}";
	const char *cfg = "{\"action\":\"config\",\"target\":\"db\","
	    "\"params\":{\"key\":\"DB_POOL_SIZE\",\"value\":\"40\"}}";
	jv r, a, b;
	int64_t dl = 0;

	/* the window follows the cadence of the incident's windows */
	ok(sre_verify_window(5000, 0) == 60000, "5 s windows: 60 s");
	ok(sre_verify_window(10000, 0) == 120000, "10 s windows: 2 min");
	ok(sre_verify_window(60000, 0) == SRE_VERIFY_MAX_MS &&
	    SRE_VERIFY_MAX_MS == 180000, "1 min windows: the 3 min bound");
	ok(sre_verify_window(1000, 0) == SRE_VERIFY_MIN_MS, "at least 30 s");
	ok(sre_verify_window(5000, 40000) == 40000, "at most --verify-window");
	ok(sre_verify_window(0, 600000) == 600000, "cadence unknown: the bound");

	/* the same change, params absent or empty */
	a = J("{\"action\":\"restart\",\"target\":\"q\"}");
	b = J("{\"action\":\"restart\",\"target\":\"q\",\"params\":{}}");
	ok(sre_verify_same(a, b), "absent params are empty ones");
	jv_free(b);
	b = J(scale);
	ok(!sre_verify_same(a, b), "another action is another change");
	jv_free(a);
	a = J("{\"action\":\"scale\",\"target\":\"q\",\"params\":{\"delta\":1}}");
	ok(!sre_verify_same(a, b), "other params too");
	jv_free(a);
	jv_free(b);

	/* the gate */
	ok(gate("null", scale, 2, why, sizeof(why)) == SRE_GATE_ACT,
	    "nothing done yet: act");
	ok(gate("{\"verified\":true,\"actions\":1}", scale, 2, why,
	    sizeof(why)) == SRE_GATE_DONE && strstr(why, "holds") != NULL,
	    "verified: done (%s)", why);
	ok(gate("{\"actions\":1,\"open\":true,\"proposal\":{\"action\":"
	    "\"scale\",\"target\":\"q\",\"params\":{\"delta\":2}}}", scale, 2,
	    why, sizeof(why)) == SRE_GATE_WAIT, "the same change live: wait "
	    "(%s)", why);
	ok(gate("{\"actions\":1,\"open\":true,\"proposal\":{\"action\":"
	    "\"restart\",\"target\":\"db\"}}", cfg, 2, why, sizeof(why)) ==
	    SRE_GATE_SUPERSEDE, "a revision that differs supersedes an "
	    "unverified change");
	ok(gate("{\"actions\":1,\"open\":false,\"proposal\":{\"action\":"
	    "\"restart\",\"target\":\"db\"}}", cfg, 2, why, sizeof(why)) ==
	    SRE_GATE_ACT, "after a revert: the next remedy");
	ok(gate("{\"actions\":2,\"open\":false,\"proposal\":{\"action\":"
	    "\"restart\",\"target\":\"db\"}}", cfg, 2, why, sizeof(why)) ==
	    SRE_GATE_LIMIT && strstr(why, "max_actions") != NULL,
	    "two changes made: a human (%s)", why);
	ok(gate("{\"actions\":1,\"open\":false,\"proposal\":{\"action\":"
	    "\"config\",\"target\":\"db\",\"params\":{\"key\":"
	    "\"DB_POOL_SIZE\",\"value\":\"40\"}}}", cfg, 3, why, sizeof(why))
	    == SRE_GATE_LIMIT, "the same change after it was undone: a human");

	/* at the deadline */
	ok(next("{\"actions\":1,\"helped\":true,\"proposal\":{\"action\":"
	    "\"scale\",\"target\":\"q\"}}", 2) == SRE_NEXT_STEP,
	    "a scale that helped steps again");
	ok(next("{\"actions\":2,\"helped\":true,\"proposal\":{\"action\":"
	    "\"scale\",\"target\":\"q\"}}", 2) == SRE_NEXT_REVERT,
	    "up to max_actions");
	ok(next("{\"actions\":1,\"proposal\":{\"action\":\"scale\","
	    "\"target\":\"q\"}}", 2) == SRE_NEXT_REVERT,
	    "a scale that did not help is reverted");
	ok(next("{\"actions\":1,\"helped\":true,\"proposal\":{\"action\":"
	    "\"restart\",\"target\":\"q\"}}", 2) == SRE_NEXT_GIVE_UP,
	    "a restart cannot be undone: given up, no commit");
	ok(next("{\"actions\":1,\"proposal\":{\"action\":\"config\","
	    "\"target\":\"q\"}}", 2) == SRE_NEXT_REVERT, "a config is reverted");

	/* a partial recovery */
	r = J("{\"actions\":1,\"open\":true,\"deadline_ms\":100000}");
	r = jv_object_set(r, jv_string("proposal"), J(scale));
	r = sre_verify_partial(r, 50000, 5000);
	ok(sre_jv_int(r, "deadline_ms", &dl) == 0 && dl == 70000,
	    "a scale that helped: its deadline 4 windows on");
	r = sre_verify_partial(r, 60000, 5000);
	ok(sre_jv_int(r, "deadline_ms", &dl) == 0 && dl == 70000,
	    "once, from the first partial recovery");
	jv_free(r);
	r = J("{\"actions\":1,\"open\":true,\"deadline_ms\":100000}");
	r = jv_object_set(r, jv_string("proposal"), J(cfg));
	r = sre_verify_partial(r, 50000, 5000);
	ok(sre_jv_int(r, "deadline_ms", &dl) == 0 && dl == 100000,
	    "another change keeps its window");
	jv_free(r);
	return tap_done();
}
