/*
 * test-rca: the built-in reasoner (lib/brain/rca.c) and sre-brain's memory
 * (lib/brain/brain-memory.c).
 *
 *	test-rca			the checks, in TAP
 *	test-rca --make-store DIR	write a store with past incidents
 *					for tests/sre-brain.bats, and exit
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "brain-memory.h"
#include "event.h"
#include "rca.h"
#include "store.h"
#include "tap-jv.h"
#include "tap.h"

#define T0 "1700000010000"

/* The top root cause's service of a diagnosis (borrowed) or "". */
static const char *
top_of(jv d)
{
	static char buf[256];
	jv rcs = jv_object_get(jv_copy(d), jv_string("root_causes"));
	jv r0;
	const char *s;

	buf[0] = '\0';
	if (jv_get_kind(rcs) == JV_KIND_ARRAY && jv_array_length(jv_copy(rcs)) >
	    0) {
		r0 = jv_array_get(jv_copy(rcs), 0);
		s = sre_jv_str(r0, "service");
		if (s != NULL)
			snprintf(buf, sizeof(buf), "%s", s);
		jv_free(r0);
	}
	jv_free(rcs);
	return buf;
}

static const char *
prop_str(jv d, const char *key)
{
	static char buf[256];
	jv p = jv_object_get(jv_copy(d), jv_string("proposal"));
	const char *s = sre_jv_str(p, key);

	snprintf(buf, sizeof(buf), "%s", s ? s : "(null)");
	jv_free(p);
	return buf;
}

static const char *topo =
    "{\"type\":\"topology\",\"services\":[\"edge\",\"api\",\"svc\",\"db\"],"
    "\"edges\":[{\"from\":\"edge\",\"to\":\"api\",\"calls\":100},"
    "{\"from\":\"api\",\"to\":\"svc\",\"calls\":100},"
    "{\"from\":\"svc\",\"to\":\"db\",\"calls\":100}]}";

/* An errors chain: db fails, the others pass it on. */
static const char *chain =
    "[{\"type\":\"anomaly\",\"service\":\"db\",\"operation\":\"SELECT\","
    "\"signal\":\"errors\",\"observed\":0.3,\"baseline\":0,\"score\":30,"
    "\"fingerprint\":\"fp-db\",\"evidence\":{\"scope\":\"operation\","
    "\"error_ratio\":{\"observed\":0.3,\"baseline\":0},\"messages\":[{\"text\":"
    "\"ERROR: deadlock detected\",\"count\":30}]}},"
    "{\"type\":\"anomaly\",\"service\":\"svc\",\"operation\":\"GET /x\","
    "\"signal\":\"errors\",\"observed\":0.3,\"baseline\":0,\"score\":30,"
    "\"fingerprint\":\"fp-svc\",\"evidence\":{\"scope\":\"operation\","
    "\"error_ratio\":{\"observed\":0.3,\"baseline\":0},\"messages\":[{\"text\":"
    "\"upstream db failed: query failed\",\"count\":30}]}},"
    "{\"type\":\"anomaly\",\"service\":\"api\",\"operation\":\"GET /x\","
    "\"signal\":\"errors\",\"observed\":0.29,\"baseline\":0,\"score\":29,"
    "\"fingerprint\":\"fp-api\",\"evidence\":{\"scope\":\"operation\","
    "\"error_ratio\":{\"observed\":0.29,\"baseline\":0},\"messages\":[{\"text\":"
    "\"500 Internal Server Error from svc\",\"count\":29}]}}]";

static void
test_graph(void)
{
	struct sre_rca_graph *g = sre_rca_graph_new(0, 0), *small;
	char err[256], longname[400];
	size_t skipped = 0;
	jv t;
	long n;

	t = J(topo);
	n = sre_rca_graph_topology(g, t, &skipped, err, sizeof(err));
	ok(n == 3 && skipped == 0, "a topology's edges are learned (%ld)", n);
	ok(sre_rca_graph_services(g) == 4 && sre_rca_graph_edges(g) == 3,
	    "services and edges counted");
	n = sre_rca_graph_topology(g, t, &skipped, err, sizeof(err));
	ok(sre_rca_graph_edges(g) == 3, "the same edges again add nothing");
	jv_free(t);
	ok(sre_rca_graph_has(g, "svc") && !sre_rca_graph_has(g, "nope"),
	    "sre_rca_graph_has");

	t = J("{\"type\":\"topology\"}");
	ok(sre_rca_graph_topology(g, t, NULL, err, sizeof(err)) == -1 &&
	    strstr(err, "edges") != NULL, "a topology without edges is "
	    "refused: %s", err);
	jv_free(t);
	t = J("{\"edges\":[1,{\"from\":3},{\"from\":\"a\",\"to\":\"b\","
	    "\"calls\":\"many\",\"p95_ms\":-1},null]}");
	n = sre_rca_graph_topology(g, t, &skipped, err, sizeof(err));
	ok(n == 1 && skipped == 3, "bad edges are skipped, wrong-kind stats "
	    "ignored (%ld taken, %zu skipped)", n, skipped);
	jv_free(t);
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	t = jv_object_set(jv_object(), jv_string("edges"), jv_array_append(
	    jv_array(), jv_object_set(jv_object_set(jv_object(),
	    jv_string("from"), jv_string(longname)), jv_string("to"),
	    jv_string("b"))));
	n = sre_rca_graph_topology(g, t, &skipped, err, sizeof(err));
	ok(n == 0 && skipped == 1, "a name of 400 bytes is refused");
	jv_free(t);
	sre_rca_graph_free(g);

	small = sre_rca_graph_new(3, 2);
	t = J(topo);
	sre_rca_graph_topology(small, t, &skipped, err, sizeof(err));
	ok(sre_rca_graph_services(small) == 3 && sre_rca_graph_edges(small) <=
	    2 && sre_rca_graph_dropped(small) > 0, "bounds hold: %zu services, "
	    "%zu edges, %zu dropped", sre_rca_graph_services(small),
	    sre_rca_graph_edges(small), sre_rca_graph_dropped(small));
	jv_free(t);
	sre_rca_graph_free(small);
	sre_rca_graph_free(NULL);
}

static void
test_chain(void)
{
	struct sre_rca_graph *g = sre_rca_graph_new(0, 0);
	struct sre_rca_opts o;
	jv t = J(topo), a = J(chain), d, d2, rcs;
	char err[128];
	double c = 0;

	sre_rca_graph_topology(g, t, NULL, err, sizeof(err));
	sre_rca_opts_init(&o);
	d = sre_rca_diagnose(g, a, &o);
	ok(strcmp(top_of(d), "db") == 0, "an error born in db is ranked first "
	    "(got %s)", top_of(d));
	sre_jv_num(d, "confidence", &c);
	ok(c > 0.8 && c <= 1, "with a high confidence (%.3f)", c);
	ok(strcmp(prop_str(d, "action"), "observe") == 0 &&
	    strcmp(prop_str(d, "target"), "db") == 0, "own errors and nothing "
	    "a restart clears: observe db");
	ok(strcmp(sre_jv_str(d, "fingerprint"), "fp-db") == 0,
	    "the fingerprint is the culprit's");
	ok(strcmp(sre_jv_str(d, "kind"), "errors") == 0, "kind errors");
	rcs = jv_object_get(jv_copy(d), jv_string("root_causes"));
	ok(jv_array_length(jv_copy(rcs)) == 3, "three candidates ranked");
	{
		jv r0 = jv_array_get(jv_copy(rcs), 0);
		const char *reason = sre_jv_str(r0, "reason");

		ok(reason != NULL && strstr(reason, "own errors") != NULL,
		    "the reason says why: %s", reason ? reason : "(none)");
		jv_free(r0);
	}
	jv_free(rcs);
	/* deterministic */
	d2 = sre_rca_diagnose(g, a, &o);
	ok(jv_equal(jv_copy(d), jv_copy(d2)), "the same input gives the same "
	    "diagnosis");
	jv_free(d2);
	/* without a graph: the messages still lead there */
	d2 = sre_rca_diagnose(NULL, a, &o);
	ok(strcmp(top_of(d2), "db") == 0, "without a topology too (%s)",
	    top_of(d2));
	jv_free(d2);
	/* memory a process does not give back: the evidence for a restart */
	{
		jv a2 = J("[{\"type\":\"anomaly\",\"service\":\"db\","
		    "\"operation\":\"SELECT\",\"signal\":\"errors\","
		    "\"observed\":0.3,\"baseline\":0,\"score\":30,"
		    "\"fingerprint\":\"fp-db\",\"evidence\":{\"scope\":"
		    "\"operation\",\"error_ratio\":{\"observed\":0.3,"
		    "\"baseline\":0},\"messages\":[{\"text\":\"ERROR: out "
		    "of memory\",\"count\":30}]}},"
		    "{\"type\":\"anomaly\",\"service\":\"db\",\"operation\":"
		    "\"process.memory.usage\",\"signal\":\"metric\","
		    "\"observed\":1.8e9,\"baseline\":0.9e9,\"score\":12,"
		    "\"evidence\":{\"scope\":\"metric\",\"metric\":"
		    "\"process.memory.usage\"}}]");
		jv a3 = jv_array_append(jv_copy(a), jv_array_get(jv_copy(a2),
		    1));

		/* both ways: its messages, its memory metric */
		a2 = jv_array_concat(jv_array_slice(jv_copy(a), 1, 3),
		    jv_array_slice(a2, 0, 1));
		d2 = sre_rca_diagnose(g, a2, &o);
		ok(strcmp(prop_str(d2, "action"), "restart") == 0 &&
		    strcmp(prop_str(d2, "target"), "db") == 0, "out of memory "
		    "in its messages: restart db");
		jv_free(d2);
		d2 = sre_rca_diagnose(g, a3, &o);
		ok(strcmp(prop_str(d2, "action"), "restart") == 0,
		    "its memory at twice its baseline: restart (%s)",
		    prop_str(d2, "action"));
		jv_free(d2);
		jv_free(a2);
		jv_free(a3);
	}
	/* a known fix is reused, a failed one never */
	o.known_fix = J("{\"proposal\":{\"action\":\"rollback\",\"target\":"
	    "\"db\",\"params\":{\"to\":\"1.2.3\"}},\"successes\":3,"
	    "\"failures\":0}");
	d2 = sre_rca_diagnose(g, a, &o);
	ok(strcmp(prop_str(d2, "action"), "rollback") == 0,
	    "a known fix for the fingerprint is reused");
	ok(strstr(sre_jv_str(d2, "summary"), "worked 3 times") != NULL,
	    "and the summary says so");
	jv_free(d2);
	o.failed = J("[{\"action\":\"rollback\",\"target\":\"db\"},"
	    "{\"action\":\"restart\",\"target\":\"db\"}]");
	d2 = sre_rca_diagnose(g, a, &o);
	ok(strcmp(prop_str(d2, "action"), "observe") == 0, "proposals that "
	    "failed are not made again (%s)", prop_str(d2, "action"));
	jv_free(d2);
	jv_free(o.known_fix);
	jv_free(o.failed);
	jv_free(d);
	jv_free(a);
	jv_free(t);
	sre_rca_graph_free(g);
}

/* Recurring anomalies: chronic symptoms by their size elsewhere. */
static void
test_chronic(void)
{
	jv a = J(chain), d, ev, notes;
	struct sre_rca_opts o;
	double dev;

	ev = jv_array_get(jv_copy(a), 0);
	dev = sre_rca_deviation(ev);
	ok(dev > 5.6 && dev < 5.8, "deviation |ln(o/b)| with 1e-3 added "
	    "(%.3f)", dev);
	jv_free(ev);
	ev = J("{\"observed\":3}");
	ok(sre_rca_deviation(ev) == -1, "no baseline: no deviation");
	jv_free(ev);
	ev = J("{\"observed\":\"x\",\"baseline\":-1}");
	ok(sre_rca_deviation(ev) == -1, "wrong kinds: no deviation");
	jv_free(ev);

	sre_rca_opts_init(&o);
	/* db's errors were as large in another incident: chronic */
	o.chronic = jv_object_set(jv_object(), jv_string("fp-db"),
	    jv_number(dev));
	d = sre_rca_diagnose(NULL, a, &o);
	notes = jv_object_get(jv_copy(d), jv_string("notes"));
	ev = jv_array_length(jv_copy(notes)) > 0 ?
	    jv_array_get(jv_copy(notes), 0) : jv_string("");
	ok(strstr(jv_string_value(ev), "1 anomaly no larger than their "
	    "series showed before") != NULL, "an anomaly as large as before "
	    "is set aside, and said");
	jv_free(ev);
	ok(strcmp(top_of(d), "db") == 0, "its service stays a candidate: the "
	    "others' messages still name db (%s)", top_of(d));
	jv_free(notes);
	jv_free(d);
	jv_free(o.chronic);
	/* far smaller before: the anomaly counts */
	o.chronic = jv_object_set(jv_object(), jv_string("fp-db"),
	    jv_number(dev - 1));
	d = sre_rca_diagnose(NULL, a, &o);
	notes = jv_object_get(jv_copy(d), jv_string("notes"));
	ok(jv_array_length(jv_copy(notes)) == 0, "an anomaly 2.7 times larger "
	    "than before is evidence");
	jv_free(notes);
	jv_free(d);
	jv_free(o.chronic);
	/* wrong kinds are ignored */
	o.chronic = J("{\"fp-db\":\"big\",\"fp-svc\":null}");
	d = sre_rca_diagnose(NULL, a, &o);
	ok(strcmp(top_of(d), "db") == 0, "a chronic map of wrong kinds is "
	    "ignored");
	jv_free(d);
	jv_free(o.chronic);
	o.chronic = J("[1,2]");
	d = sre_rca_diagnose(NULL, a, &o);
	ok(strcmp(top_of(d), "db") == 0, "so is one that is not an object");
	jv_free(d);
	jv_free(o.chronic);
	jv_free(a);
}

static void
test_kinds(void)
{
	jv a, d;

	/* network: both edges into svc slowed, svc's spans did not */
	a = J("[{\"type\":\"anomaly\",\"service\":\"svc\",\"signal\":\"latency\","
	    "\"observed\":150,\"baseline\":45,\"score\":80,\"evidence\":{"
	    "\"scope\":\"edge\",\"edge\":{\"from\":\"a\",\"to\":\"svc\"},"
	    "\"edges\":[{\"from\":\"a\",\"to\":\"svc\",\"calls\":100,"
	    "\"p95_ms\":150,\"baseline_p95_ms\":45,\"edge_ms\":105,"
	    "\"baseline_edge_ms\":0.5},{\"from\":\"b\",\"to\":\"svc\",\"calls\":"
	    "100,\"p95_ms\":150,\"baseline_p95_ms\":45,\"edge_ms\":104,"
	    "\"baseline_edge_ms\":0.5}]}},{\"type\":\"anomaly\",\"service\":\"a\","
	    "\"operation\":\"GET\",\"signal\":\"latency\",\"observed\":160,"
	    "\"baseline\":55,\"score\":50,\"evidence\":{\"self_ms\":{\"observed\""
	    ":5,\"baseline\":5},\"total_ms\":{\"observed\":160,\"baseline\":55}}}]");
	d = sre_rca_diagnose(NULL, a, NULL);
	ok(strcmp(top_of(d), "svc") == 0 && strcmp(sre_jv_str(d, "kind"),
	    "network") == 0, "edge time into one service: network there (%s, "
	    "%s)", top_of(d), sre_jv_str(d, "kind"));
	jv_free(d);
	jv_free(a);

	/* release */
	a = J("[{\"type\":\"anomaly\",\"service\":\"svc\",\"operation\":\"GET\","
	    "\"signal\":\"errors\",\"observed\":0.1,\"baseline\":0,\"score\":20,"
	    "\"evidence\":{\"error_ratio\":{\"observed\":0.1,\"baseline\":0},"
	    "\"versions\":[{\"version\":\"1.0.0\",\"first_seen_ms\":1,\"spans\":"
	    "300,\"errors\":0},{\"version\":\"1.1.0\",\"first_seen_ms\":5000,"
	    "\"spans\":100,\"errors\":40}]}}]");
	d = sre_rca_diagnose(NULL, a, NULL);
	ok(strcmp(prop_str(d, "action"), "rollback") == 0, "a new version "
	    "with the errors: rollback");
	{
		jv p = jv_object_get(jv_copy(d), jv_string("proposal"));
		jv pp = jv_object_get(p, jv_string("params"));

		ok(sre_jv_str(pp, "to") && strcmp(sre_jv_str(pp, "to"),
		    "1.0.0") == 0, "to the old version");
		jv_free(pp);
	}
	jv_free(d);
	jv_free(a);

	/* probability-like scores (0..1) are read as such */
	a = J("[{\"type\":\"anomaly\",\"service\":\"svc\",\"operation\":\"GET\","
	    "\"signal\":\"latency\",\"observed\":400,\"baseline\":30,\"score\":"
	    "0.99,\"evidence\":{\"self_ms\":{\"observed\":380,\"baseline\":20}}},"
	    "{\"type\":\"anomaly\",\"service\":\"a\",\"operation\":\"GET\","
	    "\"signal\":\"latency\",\"observed\":420,\"baseline\":50,\"score\":"
	    "0.97,\"evidence\":{\"self_ms\":{\"observed\":5,\"baseline\":5},"
	    "\"edges\":[{\"from\":\"a\",\"to\":\"svc\",\"p95_ms\":400,"
	    "\"baseline_p95_ms\":30}]}}]");
	d = sre_rca_diagnose(NULL, a, NULL);
	ok(strcmp(top_of(d), "svc") == 0, "scores in 0..1 work too (%s)",
	    top_of(d));
	jv_free(d);
	jv_free(a);
}

static void
test_bad(void)
{
	static const char *const bad[] = {
		"[]", "{}", "null", "[1,\"x\",null,[]]",
		"[{\"type\":\"anomaly\"}]",
		"[{\"type\":\"anomaly\",\"service\":7,\"evidence\":\"no\"}]",
		"[{\"type\":\"anomaly\",\"service\":\"s\",\"score\":\"high\","
		    "\"observed\":{},\"evidence\":{\"edges\":\"no\",\"messages\":"
		    "[1,{\"text\":3},{\"count\":\"x\"}],\"versions\":[{}],"
		    "\"self_ms\":[],\"edge\":7}}]",
		"[{\"type\":\"anomaly\",\"service\":\"s\",\"signal\":\"errors\","
		    "\"observed\":1e308,\"baseline\":-5,\"score\":1e300,"
		    "\"evidence\":{\"error_ratio\":{\"observed\":5,\"baseline\":"
		    "-1},\"edges\":[{\"from\":\"s\",\"to\":\"s\"}]}}]",
		"[{\"type\":\"recovery\",\"service\":\"s\"}]",
		NULL
	};
	int i;

	for (i = 0; bad[i] != NULL; i++) {
		jv a = J(bad[i]), d = sre_rca_diagnose(NULL, a, NULL);

		ok(jv_get_kind(d) == JV_KIND_OBJECT && sre_jv_str(d,
		    "summary") != NULL, "bad input %d gives a diagnosis, not a "
		    "crash", i);
		jv_free(d);
		jv_free(a);
	}
	{
		jv a = J("[{\"type\":\"anomaly\",\"operation\":\"x\"}]");
		jv d = sre_rca_diagnose(NULL, a, NULL);
		jv notes = jv_object_get(jv_copy(d), jv_string("notes"));
		jv n0 = jv_array_get(notes, 0);

		ok(jv_get_kind(n0) == JV_KIND_STRING && strstr(
		    jv_string_value(n0), "without a service") != NULL,
		    "an anomaly without a service is noted");
		ok(strcmp(prop_str(d, "action"), "observe") == 0 &&
		    strcmp(prop_str(d, "target"), "(null)") == 0,
		    "nothing to diagnose: observe, no target");
		jv_free(n0);
		jv_free(d);
		jv_free(a);
	}
}

/* A 10,000-service graph with a cycle, 1000 anomalies: bounded time. */
static void
test_big(void)
{
	struct sre_rca_graph *g = sre_rca_graph_new(0, 0);
	jv edges = jv_array(), t, a = jv_array(), d;
	char from[32], to[32], err[128];
	struct timespec t0, t1;
	double ms;
	int i;

	for (i = 1; i < 10000; i++) {
		snprintf(from, sizeof(from), "s%d", (i * 7919) % i);
		snprintf(to, sizeof(to), "s%d", i);
		edges = jv_array_append(edges, jv_object_set(jv_object_set(
		    jv_object(), jv_string("from"), jv_string(from)),
		    jv_string("to"), jv_string(to)));
	}
	edges = jv_array_append(edges, J("{\"from\":\"s9999\",\"to\":\"s0\"}"));
	t = jv_object_set(jv_object(), jv_string("edges"), edges);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	sre_rca_graph_topology(g, t, NULL, err, sizeof(err));
	for (i = 0; i < 1000; i++) {
		char buf[512];

		snprintf(buf, sizeof(buf), "{\"type\":\"anomaly\",\"service\":"
		    "\"s%d\",\"signal\":\"errors\",\"observed\":0.3,"
		    "\"baseline\":0.01,\"evidence\":{\"error_ratio\":{"
		    "\"observed\":0.3,\"baseline\":0.01},\"messages\":[{"
		    "\"text\":\"upstream s%d failed\"}]}}", (i * 37) % 10000,
		    (i * 37 + 1) % 10000);
		a = jv_array_append(a, J(buf));
	}
	d = sre_rca_diagnose(g, a, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1000 +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	ok(jv_get_kind(d) == JV_KIND_OBJECT && top_of(d)[0] != '\0',
	    "a 10,000-service graph with 1000 anomalies is diagnosed");
	ok(ms < 5000, "in bounded time (%.0f ms, ASan included)", ms);
	jv_free(d);
	jv_free(a);
	jv_free(t);
	sre_rca_graph_free(g);
}

static void
test_confidence(void)
{
	ok(sre_rca_confidence(0.9, 0.9, 0.95) > sre_rca_confidence(0.5, 0.2,
	    0.95) && sre_rca_confidence(0.9, 0.9, 0.95) > sre_rca_confidence(
	    0.9, 0.9, 0.4), "confidence grows with share, lead and origin");
	ok(sre_rca_confidence(1, 1, 0) < 0.2, "no evidence of its own: low "
	    "confidence (%.3f)", sre_rca_confidence(1, 1, 0));
}

/* ---- memory --------------------------------------------------------- */

static int
fill(struct sre_txn *t, void *ctx)
{
	jv rec, p;

	(void)ctx;
	rec = J("{\"incident\":\"INC-PAST-1\",\"status\":\"closed\","
	    "\"last_ms\":1699990000000,\"fingerprint\":\"fp-db\","
	    "\"outcome\":\"auto_resolved\",\"summary\":\"db deadlocks after "
	    "1.3.0; rolled back\",\"proposal\":{\"action\":\"rollback\","
	    "\"target\":\"db\",\"params\":{\"to\":\"1.2.3\"}},\"services\":[\"db\",\"svc\"],\"signals\":"
	    "[\"errors\"],\"operations\":[\"SELECT\"]}");
	if (sre_txn_incident_put(t, rec) < 0) {
		jv_free(rec);
		return -1;
	}
	jv_free(rec);
	rec = J("{\"incident\":\"INC-PAST-2\",\"status\":\"closed\","
	    "\"last_ms\":1699991000000,\"fingerprint\":\"fp-other\","
	    "\"outcome\":\"escalated\",\"summary\":\"svc errors\","
	    "\"services\":[\"svc\",\"api\"],\"signals\":[\"errors\"],"
	    "\"operations\":[\"GET /x\"]}");
	if (sre_txn_incident_put(t, rec) < 0) {
		jv_free(rec);
		return -1;
	}
	jv_free(rec);
	p = J("{\"action\":\"rollback\",\"target\":\"db\",\"params\":{"
	    "\"to\":\"1.2.3\"}}");
	if (sre_txn_cag_learn(t, "fp-db", p, 1, "INC-PAST-1", 1699990000000,
	    jv_null()) < 0 || sre_txn_cag_learn(t, "fp-db", p, 1, "INC-PAST-0",
	    1699980000000, jv_null()) < 0) {
		jv_free(p);
		return -1;
	}
	jv_free(p);
	return 0;
}

static int
make_store(const char *dir, char *err, size_t errlen)
{
	struct sre_store *st;
	int ex;

	if ((ex = sre_store_open(&st, dir, NULL, err, errlen)) != EX_OK)
		return ex;
	ex = sre_store_write(st, fill, NULL, err, errlen);
	sre_store_close(st);
	return ex;
}

static void
test_memory(void)
{
	char dir[] = "/tmp/test-rca.XXXXXX", err[512];
	struct sre_brain_mem *m = NULL;
	jv q, mem, fix;
	int ex;

	if (mkdtemp(dir) == NULL) {
		ok(0, "mkdtemp");
		return;
	}
	ex = sre_brain_mem_open(&m, dir, err, sizeof(err));
	ok(ex == EX_OK && m != NULL && !sre_brain_mem_ready(m),
	    "no store yet: memory opens empty");
	q = J("{\"fingerprints\":[\"fp-db\"],\"services\":[\"db\",\"svc\"],"
	    "\"signals\":[\"errors\"]}");
	mem = sre_brain_mem_lookup(m, q, "INC-NOW", 5, &fix, err, sizeof(err));
	ok(jv_array_length(jv_copy(mem)) == 0 && jv_get_kind(fix) ==
	    JV_KIND_NULL, "and finds nothing");
	jv_free(mem);
	jv_free(fix);
	sre_brain_mem_close(m);

	ex = make_store(dir, err, sizeof(err));
	ok(ex == EX_OK, "a store with past incidents (%s)", err);
	ex = sre_brain_mem_open(&m, dir, err, sizeof(err));
	ok(ex == EX_OK && sre_brain_mem_ready(m), "memory opens it "
	    "read-only");
	mem = sre_brain_mem_lookup(m, q, "INC-NOW", 5, &fix, err, sizeof(err));
	{
		jv e0 = jv_array_get(jv_copy(mem), 0);
		const char *id = sre_jv_str(e0, "incident");

		ok(id != NULL && strcmp(id, "INC-PAST-1") == 0 &&
		    strcmp(sre_jv_str(e0, "via"), "fingerprint") == 0,
		    "the incident with the same fingerprint comes first");
		ok(sre_jv_str(e0, "outcome") && strcmp(sre_jv_str(e0,
		    "outcome"), "auto_resolved") == 0, "with its outcome");
		jv_free(e0);
	}
	ok(jv_array_length(jv_copy(mem)) == 2, "then the similar one (%d in "
	    "all)", jv_array_length(jv_copy(mem)));
	ok(jv_get_kind(fix) == JV_KIND_OBJECT, "the known fix is found");
	jv_free(mem);
	jv_free(fix);
	mem = sre_brain_mem_lookup(m, q, "INC-PAST-1", 5, &fix, err,
	    sizeof(err));
	ok(jv_array_length(jv_copy(mem)) == 1, "the incident itself is left "
	    "out");
	jv_free(mem);
	jv_free(fix);
	jv_free(q);
	sre_brain_mem_close(m);
	{
		char cmd[600];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (strncmp(dir, "/tmp/test-rca.", 14) == 0 && system(cmd) != 0)
			fprintf(stderr, "cleanup failed\n");
	}
}

int
main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--make-store") == 0) {
		char err[512];
		int ex = make_store(argv[2], err, sizeof(err));

		if (ex != EX_OK)
			fprintf(stderr, "test-rca: %s\n", err);
		return ex;
	}
	test_graph();
	test_chain();
	test_chronic();
	test_kinds();
	test_bad();
	test_big();
	test_confidence();
	test_memory();
	return tap_done();
}
