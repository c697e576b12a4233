/*
 * test-brain: sre-brain's engine and its parts (lib/brain/brain*.c): when
 * an incident is diagnosed and how a revision supersedes (brain-settle),
 * what is kept of an anomaly and of its series (brain-anomaly), the parts
 * of a diagnosis (brain-diag), and the engine fed events through brain.h
 * as the tool feeds it.  The tool itself, the LLM and memory against a
 * store are tested by tests/sre-brain.bats.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brain-anomaly.h"
#include "brain-diag.h"
#include "brain-settle.h"
#include "brain.h"
#include "diag.h"
#include "event.h"
#include "mac.h"
#include "tap.h"

#define KEY "5eb15a1f0a4c7d2e9b3f6a8c1d0e2f4a6b8c0d2e4f6a8b0c2d4e6f8a0b2c4d6e"

static jv
J(const char *text)
{
	jv v = jv_parse(text);

	if (!jv_is_valid(v)) {
		fprintf(stderr, "bad test JSON: %s\n", text);
		exit(2);
	}
	return v;
}

/* The string member key of v (borrowed), or "" (for messages). */
static const char *
S(jv v, const char *key)
{
	const char *s = sre_jv_str(v, key);

	return s ? s : "";
}

static double
N(jv v, const char *key)
{
	double d = -1;

	sre_jv_num(v, key, &d);
	return d;
}

/* ---- brain-settle --------------------------------------------------- */

static void
test_settle_anomaly(void)
{
	struct sre_brain_settle st;
	int64_t due;

	sre_brain_settle_init(&st);
	ok(st.state == SRE_BRAIN_EMPTY && st.due_ms == -1 &&
	    st.first_ms == -1 && st.revision == 0 && !st.cag,
	    "settle: a new incident is empty, nothing due");
	due = sre_brain_settle_anomaly(&st, 1000, 1000, 10000);
	ok(due == 11000 && st.due_ms == 11000 &&
	    st.state == SRE_BRAIN_PENDING && st.first_ms == 1000,
	    "settle: a first anomaly is due a settle time after it");
	due = sre_brain_settle_anomaly(&st, 500, 2000, 10000);
	ok(due == -1 && st.due_ms == 11000 && st.first_ms == 500,
	    "settle: more while pending change nothing but the first time");

	sre_brain_settle_init(&st);
	due = sre_brain_settle_anomaly(&st, 1000, 50000, 10000);
	ok(due == 50000, "settle: an old first anomaly is due now, never "
	    "before the clock (%lld)", (long long)due);
	sre_brain_settle_init(&st);
	due = sre_brain_settle_anomaly(&st, 90000, 50000, 10000);
	ok(due == 100000, "settle: one ahead of the clock counts from its "
	    "own time (%lld)", (long long)due);

	st.state = SRE_BRAIN_DONE;
	st.due_ms = -1;
	due = sre_brain_settle_anomaly(&st, 60000, 60000, 10000);
	ok(due == 70000 && st.state == SRE_BRAIN_DONE,
	    "settle: news after a diagnosis is looked at once it settles");
	due = sre_brain_settle_anomaly(&st, 65000, 65000, 10000);
	ok(due == -1 && st.due_ms == 70000,
	    "settle: ... and not pushed back by more news");

	st.state = SRE_BRAIN_HELD;
	st.due_ms = -1;
	ok(sre_brain_settle_anomaly(&st, 1, 1, 10) == -1 && st.due_ms == -1,
	    "settle: a held incident is not scheduled");
	st.state = SRE_BRAIN_WAIT_LLM;
	ok(sre_brain_settle_anomaly(&st, 1, 1, 10) == -1 && st.due_ms == -1,
	    "settle: nor one waiting for the LLM");
}

static void
test_settle_foreign(void)
{
	struct sre_brain_settle st;

	sre_brain_settle_init(&st);
	sre_brain_settle_anomaly(&st, 1000, 1000, 10000);
	ok(sre_brain_settle_foreign(&st, "sre-cag", 1, 1) == 1 &&
	    st.state == SRE_BRAIN_HELD && st.due_ms == -1 && st.cag,
	    "foreign: sre-cag's diagnosis holds an incident gathering");
	ok(sre_brain_settle_foreign(&st, "sre-cag", 1, 1) == 0,
	    "foreign: ... counted once");

	sre_brain_settle_init(&st);
	st.state = SRE_BRAIN_DONE;
	sre_brain_settle_foreign(&st, "sre-cag", 1, 1);
	ok(st.state == SRE_BRAIN_DONE && st.cag,
	    "foreign: one we diagnosed already is not held");

	sre_brain_settle_init(&st);
	sre_brain_settle_anomaly(&st, 1000, 1000, 10000);
	ok(sre_brain_settle_foreign(&st, "sre-brain", 3, 2) == 0 &&
	    st.state == SRE_BRAIN_DONE && st.revision == 3 && st.due_ms == -1,
	    "foreign: ours from an earlier run is adopted, not said again");
	sre_brain_settle_foreign(&st, "sre-brain", 2, 2);
	ok(st.revision == 3, "foreign: an older revision does not lower it");
	sre_brain_settle_foreign(&st, "sre-brain", 1000, 2);
	ok(st.revision == SRE_BRAIN_MAX_REVISIONS,
	    "foreign: a revision past the bound is taken as the bound");

	sre_brain_settle_init(&st);
	sre_brain_settle_foreign(&st, "sre-brain", 1, 0);
	ok(st.state == SRE_BRAIN_EMPTY && st.revision == 1,
	    "foreign: without anomalies it stays empty");
	sre_brain_settle_init(&st);
	sre_brain_settle_anomaly(&st, 1000, 1000, 10000);
	ok(sre_brain_settle_foreign(&st, "sre-scout", 5, 1) == 0 &&
	    sre_brain_settle_foreign(&st, NULL, 5, 1) == 0 &&
	    st.state == SRE_BRAIN_PENDING && st.revision == 0,
	    "foreign: other sources change nothing");
}

static void
test_settle_action(void)
{
	struct sre_brain_settle st;

	sre_brain_settle_init(&st);
	sre_brain_settle_anomaly(&st, 1000, 1000, 10000);
	sre_brain_settle_foreign(&st, "sre-cag", 1, 1);
	ok(sre_brain_settle_action(&st, "committed", 1, 0, 5000, 10000) ==
	    SRE_BRAIN_ACT_NONE && sre_brain_settle_action(&st, NULL, 1, 0,
	    5000, 10000) == SRE_BRAIN_ACT_NONE && st.state == SRE_BRAIN_HELD,
	    "action: one that did not fail changes nothing");
	ok(sre_brain_settle_action(&st, "failed", 1, 0, 5000, 10000) ==
	    SRE_BRAIN_ACT_CAG_FAILED && st.state == SRE_BRAIN_PENDING &&
	    st.due_ms == 11000 && st.cag_failed,
	    "action: sre-cag's fix failed: ours, due a settle time after the "
	    "first anomaly");

	sre_brain_settle_init(&st);
	sre_brain_settle_anomaly(&st, 1000, 1000, 10000);
	sre_brain_settle_foreign(&st, "sre-cag", 1, 1);
	sre_brain_settle_action(&st, "reverted", 1, 0, 30000, 10000);
	ok(st.due_ms == 30000, "action: ... never before the clock");

	sre_brain_settle_init(&st);
	sre_brain_settle_foreign(&st, "sre-cag", 1, 0);
	ok(sre_brain_settle_action(&st, "failed", 0, 0, 30000, 10000) ==
	    SRE_BRAIN_ACT_CAG_FAILED && st.state == SRE_BRAIN_EMPTY &&
	    st.due_ms == -1, "action: ... and without anomalies not due");

	sre_brain_settle_init(&st);
	st.state = SRE_BRAIN_DONE;
	st.revision = 1;
	ok(sre_brain_settle_action(&st, "failed", 2, 1, 40000, 10000) ==
	    SRE_BRAIN_ACT_OURS_FAILED && st.due_ms == 40000 &&
	    st.state == SRE_BRAIN_DONE,
	    "action: our proposal failed: look again now");
	st.due_ms = -1;
	ok(sre_brain_settle_action(&st, "failed", 2, 0, 40000, 10000) ==
	    SRE_BRAIN_ACT_NONE && st.due_ms == -1,
	    "action: ... only when our diagnosis is known");
	st.state = SRE_BRAIN_PENDING;
	ok(sre_brain_settle_action(&st, "failed", 2, 1, 40000, 10000) ==
	    SRE_BRAIN_ACT_NONE, "action: ... and out there");
}

static void
test_settle_due(void)
{
	struct sre_brain_settle st;

	sre_brain_settle_init(&st);
	ok(!sre_brain_settle_is_due(&st, 100, 0) &&
	    !sre_brain_settle_is_due(&st, 100, 1),
	    "due: nothing due is never due");
	st.due_ms = 200;
	ok(!sre_brain_settle_is_due(&st, 199, 0) &&
	    sre_brain_settle_is_due(&st, 200, 0) &&
	    sre_brain_settle_is_due(&st, 0, 1),
	    "due: at its time, or when all are");
}

static void
test_material(void)
{
	jv a = J("{\"root_causes\":[{\"service\":\"db\"}],\"confidence\":0.9,"
	    "\"kind\":\"pool\",\"proposal\":{\"action\":\"config\",\"target\":"
	    "\"db\"}}");
	jv b = jv_copy(a);

	ok(!sre_brain_material(a, b), "material: the same picture is not");
	jv_free(b);
	b = jv_object_set(jv_copy(a), jv_string("confidence"),
	    jv_number(0.75));
	ok(!sre_brain_material(a, b), "material: confidence moved by 0.15 is "
	    "not");
	jv_free(b);
	b = jv_object_set(jv_copy(a), jv_string("confidence"), jv_number(0.7));
	ok(sre_brain_material(a, b), "material: by 0.2 it is");
	jv_free(b);
	b = jv_object_set(jv_copy(a), jv_string("root_causes"),
	    J("[{\"service\":\"api\"}]"));
	ok(sre_brain_material(a, b), "material: another top root cause");
	jv_free(b);
	b = jv_object_set(jv_copy(a), jv_string("proposal"),
	    J("{\"action\":\"restart\",\"target\":\"db\"}"));
	ok(sre_brain_material(a, b), "material: another action");
	jv_free(b);
	b = jv_object_set(jv_copy(a), jv_string("proposal"),
	    J("{\"action\":\"config\",\"target\":\"api\"}"));
	ok(sre_brain_material(a, b), "material: another target");
	jv_free(b);
	b = jv_object_set(jv_copy(a), jv_string("kind"), jv_string("network"));
	ok(sre_brain_material(a, b), "material: another kind of fault");
	jv_free(b);
	b = jv_object_delete(jv_copy(a), jv_string("kind"));
	ok(sre_brain_material(a, b), "material: a kind no longer named");
	jv_free(b);
	b = J("{\"confidence\":0.9}");
	ok(sre_brain_material(a, b) && sre_brain_material(b, a),
	    "material: a diagnosis without root causes differs (no abort)");
	jv_free(b);
	jv_free(a);
}

static void
test_speak(void)
{
	struct sre_brain_settle st;
	jv last = J("{\"id\":\"D1\",\"root_causes\":[{\"service\":\"db\"}],"
	    "\"confidence\":0.9}");
	jv same = J("{\"root_causes\":[{\"service\":\"db\"}],\"confidence\":"
	    "0.85}");
	jv other = J("{\"root_causes\":[{\"service\":\"api\"}],\"confidence\":"
	    "0.85}");
	jv ev;

	sre_brain_settle_init(&st);
	ok(sre_brain_settle_speak(&st, jv_null(), same),
	    "speak: the first diagnosis goes out");
	ok(sre_brain_settle_emitted(&st) == 1 && st.state == SRE_BRAIN_DONE,
	    "speak: ... as revision 1");
	ok(!sre_brain_settle_speak(&st, last, same),
	    "speak: the same picture is not said again");
	ok(sre_brain_settle_speak(&st, last, other),
	    "speak: another one is");
	ok(sre_brain_settle_speak(&st, jv_null(), same),
	    "speak: with nothing out there to compare, it is said");
	ok(sre_brain_settle_emitted(&st) == 2, "speak: ... as revision 2");
	st.revision = SRE_BRAIN_MAX_REVISIONS;
	ok(!sre_brain_settle_speak(&st, last, other),
	    "speak: not past %d revisions", SRE_BRAIN_MAX_REVISIONS);

	ev = sre_brain_supersede(jv_object(), 1, last);
	ok(N(ev, "revision") == 1 && !jv_is_valid(sre_jv_get(ev,
	    "supersedes")), "supersede: revision 1 supersedes nothing");
	jv_free(ev);
	ev = sre_brain_supersede(jv_object(), 2, last);
	ok(N(ev, "revision") == 2 && strcmp(S(ev, "supersedes"), "D1") == 0,
	    "supersede: revision 2 supersedes the one out there");
	jv_free(ev);
	ev = sre_brain_supersede(jv_object(), 3, jv_null());
	{
		jv sup = sre_jv_get(ev, "supersedes");

		ok(jv_get_kind(sup) == JV_KIND_NULL,
		    "supersede: null when its id is unknown");
		jv_free(sup);
	}
	jv_free(ev);
	jv_free(last);
	jv_free(same);
	jv_free(other);
}

/* ---- brain-anomaly -------------------------------------------------- */

static void
test_keep(void)
{
	char big[3000];
	jv v, t, deep;
	size_t size;
	int k;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	t = sre_brain_trim(jv_string(big), 0);
	ok(jv_string_length_bytes(jv_copy(t)) == SRE_BRAIN_KEEP_STRING,
	    "trim: a long string is cut to %d bytes", SRE_BRAIN_KEEP_STRING);
	jv_free(t);
	v = jv_array();
	for (k = 0; k < 40; k++)
		v = jv_array_append(v, jv_number(k));
	t = sre_brain_trim(v, 0);
	ok(jv_array_length(jv_copy(t)) == SRE_BRAIN_KEEP_ITEMS,
	    "trim: an array keeps %d items", SRE_BRAIN_KEEP_ITEMS);
	jv_free(t);
	deep = J("{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":1}}}},\"n\":[1,2]}");
	t = sre_brain_trim(deep, 0);
	v = J("{\"a\":{\"b\":{\"c\":{\"d\":{}}}},\"n\":[1,2]}");
	ok(jv_equal(jv_copy(t), jv_copy(v)), "trim: nothing deeper than %d",
	    SRE_BRAIN_KEEP_DEPTH);
	jv_free(t);
	jv_free(v);

	v = jv_string("abc");
	ok(sre_brain_weight(v) == 35, "weight: a string is a header and its "
	    "bytes");
	jv_free(v);
	v = J("[1]");
	ok(sre_brain_weight(v) == 80, "weight: an array a slot per item");
	jv_free(v);
	v = J("{\"a\":1}");
	ok(sre_brain_weight(v) == 145, "weight: an object a slot, key and "
	    "value per member");
	jv_free(v);

	v = sre_brain_keep(jv_string(big), 100, &size);
	ok(jv_string_length_bytes(jv_copy(v)) == (int)strlen(big) &&
	    size == 32 + strlen(big), "keep: a short line is kept whole");
	jv_free(v);
	v = sre_brain_keep(jv_string(big), SRE_BRAIN_KEEP_LINE + 1, &size);
	ok(jv_string_length_bytes(jv_copy(v)) == SRE_BRAIN_KEEP_STRING &&
	    size == 32 + SRE_BRAIN_KEEP_STRING, "keep: a long one trimmed");
	jv_free(v);
}

static jv
anomaly(const char *fp, double observed, double baseline)
{
	char buf[256];

	snprintf(buf, sizeof(buf), "{\"fingerprint\":\"%s\",\"observed\":%g,"
	    "\"baseline\":%g}", fp, observed, baseline);
	return J(buf);
}

static void
test_series(void)
{
	struct sre_brain_series s;
	jv a = anomaly("f1", 100, 10), b = anomaly("f1", 1000, 10), c, mine;
	double da = log((100 + 1e-3) / (10 + 1e-3));
	double db = log((1000 + 1e-3) / (10 + 1e-3));

	sre_brain_series_init(&s);
	sre_brain_series_add(&s, "INC-A", a);
	mine = jv_array_append(jv_array(), jv_copy(a));
	c = sre_brain_series_chronic(&s, "INC-A", mine);
	ok(jv_object_length(jv_copy(c)) == 0,
	    "series: an incident's only episode is not chronic to itself");
	jv_free(c);
	c = sre_brain_series_chronic(&s, "INC-B", mine);
	ok(fabs(N(c, "f1") - da) < 1e-9,
	    "series: another incident sees its deviation");
	jv_free(c);
	/* INC-A's id is a prefix of INC-AB's: still another incident */
	c = sre_brain_series_chronic(&s, "INC-AB", mine);
	ok(fabs(N(c, "f1") - da) < 1e-9, "series: ... even one whose id "
	    "begins with it");
	jv_free(c);
	sre_brain_series_recovered(&s, "f1");
	sre_brain_series_add(&s, "INC-A", b);
	c = sre_brain_series_chronic(&s, "INC-A", mine);
	ok(fabs(N(c, "f1") - da) < 1e-9,
	    "series: after a recovery, the second largest own episode counts");
	jv_free(c);
	c = sre_brain_series_chronic(&s, "INC-B", mine);
	ok(fabs(N(c, "f1") - db) < 1e-9, "series: others see the largest");
	jv_free(c);
	sre_brain_series_recovered(&s, "nope");
	ok(jv_object_length(jv_copy(s.episodes)) == 1,
	    "series: the recovery of an unknown series is not kept");
	jv_free(mine);
	sre_brain_series_free(&s);
	jv_free(a);
	jv_free(b);
}

/* ---- brain-diag ----------------------------------------------------- */

static void
test_templates(void)
{
	struct sre_logmine_conf lc;
	struct sre_logmine *lm;
	jv anoms = J("[{\"service\":\"db\",\"evidence\":{\"templates\":["
	    "{\"template_id\":\"t1\",\"template\":\"pool exhausted\",\"count\":"
	    "9,\"baseline\":0},{\"template_id\":\"t1b\",\"template\":\"pool "
	    "exhausted\",\"count\":1}]}},{\"service\":\"api\",\"evidence\":{"
	    "\"templates\":[{\"template\":\"not this one\"}]}},"
	    "{\"service\":\"db\",\"evidence\":{\"messages\":[{\"text\":\"conn "
	    "7 refused\",\"count\":2},{\"text\":\"conn 9 refused\",\"count\":"
	    "3}]}}]");
	jv t, x;

	t = sre_brain_templates(NULL, anoms, NULL);
	ok(jv_get_kind(t) == JV_KIND_ARRAY && jv_array_length(jv_copy(t)) ==
	    0, "templates: none without a culprit");
	jv_free(t);
	t = sre_brain_templates(NULL, anoms, "db");
	x = jv_array_get(jv_copy(t), 0);
	ok(jv_array_length(jv_copy(t)) == 1 && strcmp(S(x, "template"),
	    "pool exhausted") == 0 && N(x, "count") == 9 &&
	    N(x, "baseline") == 0, "templates: the culprit's, as carried, "
	    "each text once");
	jv_free(x);
	jv_free(t);
	sre_logmine_conf_init(&lc);
	lm = sre_logmine_new(&lc);
	t = sre_brain_templates(lm, anoms, "db");
	x = jv_array_get(jv_copy(t), 1);
	ok(jv_array_length(jv_copy(t)) == 2 && N(x, "count") == 5 &&
	    strlen(S(x, "template_id")) == 16,
	    "templates: mined from messages where none are carried, counts "
	    "of one template added (%s)", S(x, "template"));
	jv_free(x);
	jv_free(t);
	sre_logmine_free(lm);
	jv_free(anoms);
}

static void
test_memory_parts(void)
{
	jv anoms = J("[{\"service\":\"api\",\"fingerprint\":\"fa\","
	    "\"operation\":\"GET /\",\"signal\":\"latency\"},{\"service\":"
	    "\"db\",\"fingerprint\":\"fd\",\"signal\":\"errors\"},{\"service\":"
	    "\"db\",\"fingerprint\":\"fd\",\"signal\":\"latency\"}]");
	jv rcs = J("[{\"service\":\"db\"}]");
	jv tmpl = J("[{\"template_id\":\"t1\"},{\"template_id\":\"t1\"}]");
	jv q = sre_brain_memory_query(anoms, rcs, tmpl), want;
	jv mem;
	char buf[600];

	want = J("{\"fingerprints\":[\"fd\",\"fa\"],\"services\":[\"api\","
	    "\"db\"],\"operations\":[\"GET /\"],\"signals\":[\"latency\","
	    "\"errors\"],\"templates\":[\"t1\"]}");
	ok(jv_equal(jv_copy(q), want), "memory query: the culprit's "
	    "fingerprints first, each value once");
	jv_free(q);

	mem = J("[]");
	sre_brain_memory_sentence(mem, buf, sizeof(buf));
	ok(buf[0] == '\0', "memory sentence: none without memory");
	jv_free(mem);
	mem = J("[{\"incident\":\"INC-7\",\"outcome\":\"auto_resolved\","
	    "\"proposal\":{\"action\":\"rollback\",\"target\":\"api\"}}]");
	sre_brain_memory_sentence(mem, buf, sizeof(buf));
	ok(strcmp(buf, " Similar past incident INC-7 (auto_resolved): "
	    "rollback api was done then.") == 0, "memory sentence: %s", buf);
	jv_free(mem);
	mem = J("[{\"incident\":\"INC-8\"}]");
	sre_brain_memory_sentence(mem, buf, sizeof(buf));
	ok(strcmp(buf, " Similar past incident INC-8 (outcome unknown).") == 0,
	    "memory sentence: %s", buf);
	jv_free(mem);
	jv_free(anoms);
	jv_free(rcs);
	jv_free(tmpl);
}

static void
test_diag_parts(void)
{
	jv d = J("{\"summary\":\"db is the origin.\"}"), l, v;

	d = sre_brain_summary_tail(d, " More.");
	ok(strcmp(S(d, "summary"), "db is the origin. More.") == 0,
	    "summary tail: appended");
	d = sre_brain_summary_tail(d, "");
	ok(strcmp(S(d, "summary"), "db is the origin. More.") == 0,
	    "summary tail: nothing to add");
	d = sre_brain_note(d, "one");
	d = sre_brain_note(d, "two");
	v = J("[\"one\",\"two\"]");
	l = sre_jv_get(d, "notes");
	ok(jv_equal(l, v), "note: notes made and appended");
	jv_free(d);

	v = sre_brain_or_null(sre_jv_get(jv_null(), "x"));
	ok(jv_get_kind(v) == JV_KIND_NULL, "or_null: a miss is null");
	v = sre_brain_or_null(jv_number(3));
	ok(jv_get_kind(v) == JV_KIND_NUMBER, "or_null: a value stays");
	jv_free(v);

	l = sre_brain_llm_field("m1", "ok", 12.345, 2,
	    J("{\"total_tokens\":9}"), 1, NULL);
	v = J("{\"model\":\"m1\",\"status\":\"ok\",\"total_tokens\":9,"
	    "\"latency_ms\":12.3,\"attempts\":2,\"anonymized\":true}");
	ok(jv_equal(l, v), "llm field: usage merged, latency rounded");
	l = sre_brain_llm_field("m1", "fallback", 0, 0, jv_null(), 0, "boom");
	ok(strcmp(S(l, "error"), "boom") == 0, "llm field: the error named");
	jv_free(l);
}

static void
test_llm_merge(void)
{
	jv d = J("{\"root_causes\":[{\"service\":\"db\",\"kind\":\"pool\"},"
	    "{\"service\":\"api\",\"kind\":\"symptom\"}],\"confidence\":0.9,"
	    "\"summary\":\"built-in\",\"notes\":[]}");
	jv agree = J("{\"root_causes\":[{\"service\":\"db\",\"score\":0.7}],"
	    "\"confidence\":0.6,\"summary\":\"llm\",\"proposal\":{\"action\":"
	    "\"observe\"}}");
	jv differ = J("{\"root_causes\":[{\"service\":\"api\",\"score\":0.7}],"
	    "\"confidence\":0.8,\"summary\":\"llm\",\"proposal\":{\"action\":"
	    "\"observe\"}}");
	jv m, rc;

	m = sre_brain_llm_merge(jv_copy(d), agree);
	rc = sre_jv_get(m, "root_causes");
	rc = jv_array_get(rc, 0);
	ok(strcmp(S(m, "summary"), "llm") == 0 && N(m, "confidence") == 0.9 &&
	    strcmp(S(rc, "kind"), "pool") == 0,
	    "merge: the LLM's ranking and words, the reasoner's kind and "
	    "confidence when they agree");
	jv_free(rc);
	jv_free(m);
	m = sre_brain_llm_merge(jv_copy(d), differ);
	ok(fabs(N(m, "confidence") - 0.1) < 1e-9,
	    "merge: disagreement lowers the confidence (%.3f)",
	    N(m, "confidence"));
	rc = sre_jv_get(m, "notes");
	ok(jv_array_length(jv_copy(rc)) == 1, "merge: ... and says so");
	jv_free(rc);
	jv_free(m);
	jv_free(agree);
	jv_free(differ);
	jv_free(d);
}

/* ---- the engine ----------------------------------------------------- */

struct seen {
	jv out;		/* emitted events */
	jv said;	/* "LEVEL[@]: msg" */
};

static void
collect(void *ctx, jv ev)
{
	struct seen *s = ctx;

	s->out = jv_array_append(s->out, ev);
}

static void
hear(void *ctx, enum sre_brain_say how, int at_line, const char *msg)
{
	static const char *const names[] = { "warn", "notice", "info",
	    "reject" };
	struct seen *s = ctx;
	char buf[1200];

	snprintf(buf, sizeof(buf), "%s%s: %s", names[how], at_line ? "@" : "",
	    msg);
	s->said = jv_array_append(s->said, jv_string(buf));
}

/* How many messages said hold text. */
static int
heard(struct seen *s, const char *text)
{
	int n = 0;

	jv_array_foreach(s->said, k, m) {
		(void)k;
		n += strstr(jv_string_value(m), text) != NULL;
		jv_free(m);
	}
	return n;
}

/* Does a note of diagnosis d (borrowed) hold text? */
static int
noted(jv d, const char *text)
{
	jv notes = jv_dump_string(sre_jv_get(d, "notes"), 0);
	int yes = jv_is_valid(notes) &&
	    strstr(jv_string_value(notes), text) != NULL;

	jv_free(notes);
	return yes;
}

static int
emitted(struct seen *s)
{
	return jv_array_length(jv_copy(s->out));
}

static jv
last_out(struct seen *s)
{
	return jv_array_get(jv_copy(s->out), emitted(s) - 1);
}

/* Feed one event (consumed) as the tool does. */
static int
feed(struct sre_brain *b, jv ev)
{
	jv d = jv_dump_string(jv_copy(ev), 0);
	int rc = sre_brain_event(b, ev, (size_t)jv_string_length_bytes(d));

	jv_free(ev);
	sre_brain_line_done(b);
	return rc;
}

static jv
ev_anomaly(const char *inc, const char *svc, const char *fp, int64_t ts,
    double observed)
{
	jv ev = sre_event_new("anomaly", inc);

	ev = jv_object_set(ev, jv_string("ts_ms"), jv_number((double)ts));
	ev = jv_object_set(ev, jv_string("service"), jv_string(svc));
	ev = jv_object_set(ev, jv_string("fingerprint"), jv_string(fp));
	ev = jv_object_set(ev, jv_string("signal"), jv_string("latency"));
	ev = jv_object_set(ev, jv_string("operation"), jv_string("GET /"));
	ev = jv_object_set(ev, jv_string("observed"), jv_number(observed));
	ev = jv_object_set(ev, jv_string("baseline"), jv_number(10));
	return jv_object_set(ev, jv_string("score"), jv_number(observed / 10));
}

/* A control event (unsigned) of type from source about incident inc. */
static jv
ev_control(const char *type, const char *inc, int64_t ts, const char *source)
{
	jv ev = sre_event_new(type, inc);

	ev = jv_object_set(ev, jv_string("ts_ms"), jv_number((double)ts));
	return jv_object_set(ev, jv_string("source"), jv_string(source));
}

static jv
ev_tick(int64_t ts)
{
	jv ev = sre_event_new("heartbeat", NULL);

	return jv_object_set(ev, jv_string("ts_ms"), jv_number((double)ts));
}

static struct sre_brain *
engine(struct seen *s, struct sre_mac_key *key, long max_incidents)
{
	struct sre_brain_conf c;

	s->out = jv_array();
	s->said = jv_array();
	sre_brain_conf_init(&c);
	ok(c.settle_ms == 10000 && c.top == 5 && c.max_incidents == 10000 &&
	    c.max_anomalies == 1000 && c.max_memory == 16u << 20,
	    "engine: the defaults of sre-brain(1)");
	c.key = key;
	c.emit = collect;
	c.say = hear;
	c.ctx = s;
	if (max_incidents > 0)
		c.max_incidents = max_incidents;
	return sre_brain_new(&c);
}

static void
done_engine(struct sre_brain *b, struct seen *s)
{
	sre_brain_free(b);
	jv_free(s->out);
	jv_free(s->said);
}

static void
test_engine_settle(struct sre_mac_key *key)
{
	struct seen s;
	struct sre_brain *b = engine(&s, key, 0);
	const struct sre_brain_stats *n = sre_brain_stats(b);
	int64_t t = 1700000000000LL;
	jv d, d2;
	char why[256];

	ok(feed(b, ev_anomaly("INC-1", "db", "fd", t, 900)) == 0 &&
	    feed(b, ev_anomaly("INC-1", "api", "fa", t + 1000, 300)) == 0 &&
	    emitted(&s) == 0, "engine: anomalies gather while they settle");
	ok(sre_brain_idle_ms(b) == 200, "engine: something due: come back "
	    "in 200 ms");
	feed(b, ev_tick(t + 9999));
	ok(emitted(&s) == 0, "engine: not before the settle time");
	feed(b, ev_tick(t + 10000));
	d = last_out(&s);
	ok(emitted(&s) == 1 && strcmp(S(d, "type"), "diagnosis") == 0 &&
	    strcmp(S(d, "incident"), "INC-1") == 0 &&
	    strcmp(S(d, "source"), "sre-brain") == 0 &&
	    N(d, "revision") == 1 && N(d, "anomalies") == 2 &&
	    N(d, "ts_ms") == (double)(t + 10000) &&
	    !jv_is_valid(sre_jv_get(d, "supersedes")),
	    "engine: one diagnosis once the settle time is over");
	ok(sre_mac_check(key, d, why, sizeof(why)) == 0,
	    "engine: signed (%s)", why);
	ok(sre_brain_idle_ms(b) == -1, "engine: nothing due: wait as long "
	    "as it takes");
	jv_free(d);

	/* the same picture again: looked at, not said */
	feed(b, ev_anomaly("INC-1", "db", "fd", t + 12000, 950));
	feed(b, ev_tick(t + 22000));
	ok(emitted(&s) == 1 && n->diagnoses == 1,
	    "engine: more of the same is looked at, not said again");

	/* our proposal failed: looked at again at once */
	d = last_out(&s);
	feed(b, sre_mac_sign(key, jv_object_set(ev_control("action", "INC-1",
	    t + 23000, "sre-fix"), jv_string("status"), jv_string("failed"))));
	ok(emitted(&s) == 2 && n->updates == 1,
	    "engine: a failed action brings a revision at once");
	d2 = last_out(&s);
	ok(N(d2, "revision") == 2 && strcmp(S(d2, "supersedes"), S(d, "id")) ==
	    0, "engine: revision 2 supersedes 1");
	ok(noted(d2, "an action on the earlier proposal failed"),
	    "engine: ... and notes why");
	jv_free(d2);
	jv_free(d);
	ok(n->anomalies == 3 && n->incidents == 1,
	    "engine: counts (%llu anomalies, %llu incidents)", n->anomalies,
	    n->incidents);
	done_engine(b, &s);
}

static void
test_engine_cag(struct sre_mac_key *key)
{
	struct seen s;
	struct sre_brain *b = engine(&s, key, 0);
	int64_t t = 1700000000000LL;
	jv cag, act, d;

	feed(b, ev_anomaly("INC-2", "db", "fd", t, 900));
	cag = ev_control("diagnosis", "INC-2", t, "sre-cag");
	cag = jv_object_set(cag, jv_string("proposal"), J("{\"action\":"
	    "\"restart\",\"target\":\"db\",\"params\":{}}"));
	feed(b, jv_copy(cag));
	ok(heard(&s, "reject@") == 1 && heard(&s, "ignored") == 1,
	    "engine: an unsigned diagnosis is rejected and ignored");
	feed(b, sre_mac_sign(key, cag));
	feed(b, ev_tick(t + 20000));
	ok(emitted(&s) == 0 && sre_brain_stats(b)->held == 1,
	    "engine: sre-cag's diagnosis holds the incident");
	act = ev_control("action", "INC-2", t + 21000, "sre-fix");
	act = jv_object_set(act, jv_string("status"), jv_string("reverted"));
	feed(b, sre_mac_sign(key, act));
	d = last_out(&s);
	ok(emitted(&s) == 1 && noted(d, "the known fix proposed by sre-cag "
	    "failed"), "engine: its fix reverted, the incident is ours");
	jv_free(d);
	done_engine(b, &s);
}

static void
test_engine_bounds(struct sre_mac_key *key)
{
	struct seen s;
	struct sre_brain *b = engine(&s, key, 1);
	int64_t t = 1700000000000LL;
	jv ev;

	ev = ev_anomaly("INC-3", "db", "fd", t, 900);
	ev = jv_object_delete(ev, jv_string("service"));
	feed(b, ev);
	ok(heard(&s, "reject@: anomaly without a service") == 1 &&
	    sre_brain_stats(b)->incidents == 0,
	    "engine: an anomaly without a service is rejected");
	feed(b, ev_anomaly("INC-3", "db", "fd", t, 900));
	feed(b, ev_anomaly("INC-4", "api", "fa", t + 1, 900));
	ev = last_out(&s);
	ok(emitted(&s) == 1 && strcmp(S(ev, "incident"), "INC-3") == 0 &&
	    heard(&s, "notice: more open incidents than --max-incidents") == 1,
	    "engine: past --max-incidents the least recent is diagnosed, "
	    "then forgotten");
	jv_free(ev);
	feed(b, ev_anomaly("INC-4", "api", "fa", t - 60000, 900));
	ok(heard(&s, "notice@: incident INC-4: anomaly from 60001 ms") == 1,
	    "engine: an anomaly out of order is said, about the line");
	sre_brain_finish(b);
	ev = last_out(&s);
	ok(emitted(&s) == 2 && strcmp(S(ev, "incident"), "INC-4") == 0,
	    "engine: at the end every incident gathering is diagnosed");
	jv_free(ev);
	done_engine(b, &s);
}

int
main(void)
{
	struct sre_mac_key key;

	sre_init("sre-brain");
	test_settle_anomaly();
	test_settle_foreign();
	test_settle_action();
	test_settle_due();
	test_material();
	test_speak();
	test_keep();
	test_series();
	test_templates();
	test_memory_parts();
	test_diag_parts();
	test_llm_merge();
	if (sre_mac_key_parse(&key, KEY) < 0) {
		fprintf(stderr, "bad test key\n");
		return 2;
	}
	test_engine_settle(&key);
	test_engine_cag(&key);
	test_engine_bounds(&key);
	return tap_done();
}
