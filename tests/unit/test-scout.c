/*
 * test-scout.c: sre-scout's small modules: robust baselines and
 * hysteresis (lib/detect), incident grouping (lib/incident), silences
 * (lib/scout-silence), fingerprints and the metric path's clocks
 * (lib/scout).
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "detect.h"
#include "evtime.h"
#include "incident.h"
#include "scout-silence.h"
#include "scout.h"
#include "tap.h"

/* A call graph for the incident tests: 0 -> 1 -> 2 -> 3, and 5 -> 6. */
static int
chain(void *arg, uint32_t a, uint32_t b)
{
	(void)arg;
	if (a > b) {
		uint32_t t = a;

		a = b;
		b = t;
	}
	return (a <= 3 && b <= 3) || (a == 5 && b == 6);
}

static void
test_baseline(void)
{
	struct sre_baseline b;
	double z;
	int i;

	sre_baseline_init(&b);
	ok(sre_baseline_z(&b, 5, 0.1) == 0, "an empty baseline scores 0");
	for (i = 0; i < 50; i++)
		sre_baseline_learn(&b, 10 + (i % 2 ? 0.5 : -0.5), 0.01, 0.1, 3);
	ok(fabs(b.mean - 10) < 0.1, "the location learns the level (%g)",
	    b.mean);
	ok(b.dev > 0.3 && b.dev < 0.7, "the scale learns the spread (%g)",
	    b.dev);
	z = sre_baseline_z(&b, 15, 0.01);
	ok(z > 5, "a jump scores high (%g)", z);
	ok(fabs(sre_baseline_z(&b, 10, 0.01)) < 1, "the level scores low");
	/* One absurd value moves the location by one bounded step. */
	sre_baseline_learn(&b, 1e12, 0.01, 0.1, 3);
	ok(b.mean < 10.5, "one absurd value does not poison it (%g)", b.mean);
	sre_baseline_learn(&b, NAN, 0.01, 0.1, 3);
	ok(isfinite(b.mean) && isfinite(b.dev), "NaN is ignored");
	/* The floor keeps a flat series from exploding. */
	sre_baseline_init(&b);
	for (i = 0; i < 20; i++)
		sre_baseline_learn(&b, 3, 0.2, 0.1, 3);
	ok(fabs(sre_baseline_z(&b, 3.1, 0.2) - 0.5) < 1e-9,
	    "a flat series is judged against the floor");
}

static void
test_hysteresis(void)
{
	struct sre_hyst h;
	int i, changes = 0;

	memset(&h, 0, sizeof(h));
	ok(sre_hyst_step(&h, 1, 0, 0, 2, 2) == SRE_HYST_NONE,
	    "one window at the threshold is not enough");
	ok(sre_hyst_step(&h, 1, 0, 0, 2, 2) == SRE_HYST_RAISE,
	    "two in a row raise");
	ok(sre_hyst_step(&h, 0, 0, 1, 2, 2) == SRE_HYST_NONE &&
	    sre_hyst_step(&h, 0, 0, 0, 2, 2) == SRE_HYST_NONE &&
	    sre_hyst_step(&h, 0, 0, 1, 2, 2) == SRE_HYST_NONE,
	    "a window between the levels resets the calm count");
	ok(sre_hyst_step(&h, 0, 0, 1, 2, 2) == SRE_HYST_CLEAR,
	    "two calm windows clear");
	memset(&h, 0, sizeof(h));
	ok(sre_hyst_step(&h, 1, 1, 0, 2, 2) == SRE_HYST_RAISE,
	    "strong evidence raises at once");
	/* A score hovering between the levels never flaps. */
	memset(&h, 0, sizeof(h));
	for (i = 0; i < 100; i++)
		changes += sre_hyst_step(&h, i % 2, 0, 0, 2, 2) !=
		    SRE_HYST_NONE;
	ok(changes == 0, "alternating windows never raise");
}

static void
test_incidents(void)
{
	struct sre_incidents *is = sre_incidents_new(2, 4);
	struct sre_incident_req r[4];
	sre_incident_t first;
	const char *id;
	int i;

	ok(is != NULL, "a store");
	memset(r, 0, sizeof(r));
	r[0].svc = 3;
	r[0].svc2 = SRE_INCIDENT_NOSVC;
	r[1].svc = 0;
	r[1].svc2 = SRE_INCIDENT_NOSVC;
	r[2].svc = 6;
	r[2].svc2 = SRE_INCIDENT_NOSVC;
	ok(sre_incidents_assign(is, r, 3, 1000, chain, NULL) == 2,
	    "connected series share one incident, the unconnected open "
	    "another");
	ok(r[0].inc == r[1].inc && r[0].inc != r[2].inc,
	    "the chain 0..3 is one incident, 6 another");
	ok(r[0].opened + r[1].opened == 1 && r[2].opened == 1,
	    "each incident is opened by one series");
	first = r[0].inc;
	id = sre_incidents_id(is, first);
	ok(id != NULL && strlen(id) == SRE_ID_LEN, "incidents have ULIDs");
	/* A later series connected to an open incident joins it. */
	memset(r, 0, sizeof(r));
	r[0].svc = 2;
	r[0].svc2 = SRE_INCIDENT_NOSVC;
	ok(sre_incidents_assign(is, r, 1, 2000, chain, NULL) == 0 &&
	    r[0].inc == first, "a connected series joins the open incident");
	ok(sre_incidents_connects(is, 1, SRE_INCIDENT_NOSVC, chain, NULL) &&
	    !sre_incidents_connects(is, 9, SRE_INCIDENT_NOSVC, chain, NULL),
	    "connects() says whether a service would join");
	ok(sre_incidents_active(is, first) == 3, "three series active");
	for (i = 0; i < 3; i++)
		sre_incidents_release(is, first);
	ok(sre_incidents_window(is, 3000) == 0 && sre_incidents_open(is,
	    first), "an incident stays open while it holds");
	/* A flapping series comes back to its own incident. */
	memset(r, 0, sizeof(r));
	r[0].svc = 9;
	r[0].svc2 = SRE_INCIDENT_NOSVC;
	r[0].prev = first;
	sre_incidents_assign(is, r, 1, 4000, chain, NULL);
	ok(r[0].inc == first && !r[0].opened,
	    "a series flapping back rejoins its incident");
	sre_incidents_release(is, first);
	sre_incidents_window(is, 5000);
	ok(sre_incidents_window(is, 6000) >= 1 && !sre_incidents_open(is,
	    first) && sre_incidents_id(is, first) == NULL,
	    "after hold calm windows it is over, its handle stale");
	memset(r, 0, sizeof(r));
	r[0].svc = 1;
	r[0].svc2 = SRE_INCIDENT_NOSVC;
	sre_incidents_assign(is, r, 1, 7000, chain, NULL);
	ok(r[0].opened && r[0].inc != first,
	    "a new problem after the end opens a new incident");
	ok(sre_incidents_total(is) == 3, "three incidents in all");
	sre_incidents_release(is, 0);	/* the null handle: nothing */
	sre_incidents_free(is);
	sre_incidents_free(NULL);
}

static void
test_silences(void)
{
	char path[] = "/tmp/test-scout-silences-XXXXXX", err[512];
	struct sre_silences *s;
	int64_t ms;
	FILE *fp;
	int fd;

	ok(sre_time_parse_rfc3339("2023-11-14T22:13:20Z", &ms) == 0 &&
	    ms == 1700000000000, "RFC 3339 in UTC");
	ok(sre_time_parse_rfc3339("2023-11-14T23:13:20.5+01:00", &ms) == 0 &&
	    ms == 1700000000500, "with a fraction and an offset");
	ok(sre_time_parse_rfc3339("yesterday", &ms) < 0 &&
	    sre_time_parse_rfc3339("2023-13-01T00:00:00Z", &ms) < 0 &&
	    sre_time_parse_rfc3339("2023-11-14T22:13:20", &ms) < 0,
	    "not times, bad months, no zone: refused");
	fd = mkstemp(path);
	fp = fdopen(fd, "w");
	fprintf(fp, "# maintenance\n\n"
	    "{\"service\":\"db-*\",\"start\":1000,\"end\":2000}\n"
	    "{\"service\":\"api\",\"operation\":\"GET /x\",\"signal\":"
	    "\"latency\"}\n");
	fclose(fp);
	s = sre_silences_new(path);
	ok(sre_silences_poll(s, err, sizeof(err)) == 1 &&
	    sre_silences_count(s) == 2, "two silences read");
	ok(sre_silences_poll(s, err, sizeof(err)) == 0, "unchanged: not "
	    "read again");
	ok(sre_silences_match(s, "db-policy", NULL, "errors", 1500) &&
	    !sre_silences_match(s, "db-policy", NULL, "errors", 2000) &&
	    !sre_silences_match(s, "db-policy", NULL, "errors", 999),
	    "patterns and [start, end)");
	ok(sre_silences_match(s, "api", "GET /x", "latency", 5) &&
	    !sre_silences_match(s, "api", "GET /x", "errors", 5) &&
	    !sre_silences_match(s, "api", NULL, "latency", 5),
	    "operation and signal match too");
	sleep(0);
	fp = fopen(path, "w");
	fprintf(fp, "{\"service\":\"x\",\"end\":\"soon\"}\n");
	fclose(fp);
	ok(sre_silences_poll(s, err, sizeof(err)) == -1 &&
	    strstr(err, ":1: end: not epoch ms") != NULL &&
	    sre_silences_count(s) == 2, "a bad file keeps the silences in "
	    "force and says where (%s)", err);
	unlink(path);
	ok(sre_silences_poll(s, err, sizeof(err)) == -1 &&
	    strstr(err, "No such file") != NULL, "a missing file is said");
	sre_silences_free(s);
	ok(!sre_silences_match(NULL, "a", "b", "c", 1), "no silences: none "
	    "match");
}

static void
test_fingerprint(void)
{
	char a[17], b[17], c[17], d[17];

	sre_scout_fingerprint(a, "api", "GET /x", "latency", "operation",
	    NULL, NULL);
	sre_scout_fingerprint(b, "api", "GET /x", "latency", "operation",
	    NULL, NULL);
	sre_scout_fingerprint(c, "api", NULL, "latency", "edge", "gw",
	    "api");
	sre_scout_fingerprint(d, "api", "", "latency", "edge", "gw2", "api");
	ok(strcmp(a, b) == 0 && strlen(a) == 16, "the same series, the same "
	    "fingerprint (%s)", a);
	ok(strcmp(a, c) != 0 && strcmp(c, d) != 0,
	    "scope and edge ends tell series apart");
	ok(strcmp(a, "20af62687077741d") == 0, "stable across hosts: FNV-1a of the "
	    "identity");
	ok(strcmp(c, "845990a8e60fe356") == 0 &&
	    strcmp(d, "f54e4ae60b137450") == 0, "edge fingerprints stable "
	    "across hosts (%s %s)", c, d);
}

/* The metric path: what the hooks saw. */
struct seen {
	int anomalies, recoveries, rejects;
	char last_reject[512];
};

static int
seen_emit(void *arg, jv ev)
{
	struct seen *s = arg;
	jv t = jv_object_get(ev, jv_string("type"));

	if (jv_get_kind(t) == JV_KIND_STRING) {
		s->anomalies += strcmp(jv_string_value(t), "anomaly") == 0;
		s->recoveries += strcmp(jv_string_value(t), "recovery") == 0;
	}
	jv_free(t);
	return 0;
}

static void
seen_report(void *arg, uint64_t tag, int reject, const char *msg)
{
	struct seen *s = arg;

	(void)tag;
	if (reject) {
		s->rejects++;
		snprintf(s->last_reject, sizeof(s->last_reject), "%s", msg);
	}
}

static void
put_point(struct sre_scout *sc, const char *name, long long t, double v)
{
	char line[256];
	int n;

	n = snprintf(line, sizeof(line), "{\"ts_ms\":%lld,\"metric\":\"%s\","
	    "\"value\":%.3f,\"labels\":{\"service\":\"svc\"}}", t, name, v);
	sre_scout_submit(sc, line, (size_t)n, 1);
}

/* Noise in [-1, 1): a small deterministic generator (xorshift64*). */
static double
wobble(void)
{
	static uint64_t x = 88172645463325252ULL;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	return ((x * 2685821657736338717ULL) >> 11) * 0x1.0p-52 - 1;
}

static void
test_metric_clocks(void)
{
	struct sre_scout_config cfg;
	struct sre_scout_hooks h;
	struct sre_scout *sc;
	struct seen s;
	char err[256];
	long long t0 = 1700000000000LL;
	int i;

	memset(&s, 0, sizeof(s));
	memset(&h, 0, sizeof(h));
	h.emit = seen_emit;
	h.report = seen_report;
	h.arg = &s;
	sre_scout_config_default(&cfg);
	sc = sre_scout_new(&cfg, &h, err, sizeof(err));
	ok(sc != NULL, "an engine with the defaults");
	/* 300 hours of an hourly series, then the same span of time of a
	 * minute series from its start: each on its own clock. */
	for (i = 0; i < 300; i++)
		put_point(sc, "hourly", t0 + i * 3600000LL, 100 + wobble());
	for (i = 0; i < 300; i++)
		put_point(sc, "minutely", t0 + i * 60000LL,
		    50 + wobble() + (i == 250 ? 30 : 0));
	ok(s.rejects == 0, "a minute series 300 hours behind an hourly one "
	    "is accepted (%d rejected)", s.rejects);
	ok(s.anomalies == 1 && s.recoveries == 1, "its spike at point 250 "
	    "is raised and recovers (%d, %d)", s.anomalies, s.recoveries);
	/* Behind its own latest by 2 minutes: within its lateness. */
	put_point(sc, "minutely", t0 + 297 * 60000LL, 50);
	ok(s.rejects == 0, "a point 2 minutes late is accepted");
	put_point(sc, "minutely", t0 - 86400000LL, 50);
	ok(s.rejects == 1 && strstr(s.last_reject, "behind its series' "
	    "latest point") != NULL, "one a day behind it is rejected: %s",
	    s.last_reject);
	ok(sre_scout_stats(sc)->metrics == 2 &&
	    sre_scout_stats(sc)->points == 602, "2 series, 602 points");
	ok(sre_scout_finish(sc) == 0, "finish");
	sre_scout_free(sc);

	/* A gauge that dies raised recovers once the metric time moves
	 * on by 100 of its spacings. */
	memset(&s, 0, sizeof(s));
	sc = sre_scout_new(&cfg, &h, err, sizeof(err));
	for (i = 0; i < 151; i++) {
		put_point(sc, "other", t0 + i * 60000LL, 50 + wobble());
		put_point(sc, "dying", t0 + i * 60000LL, 20 + wobble() +
		    (i >= 140 ? 30 : 0));
	}
	ok(s.anomalies == 1 && s.recoveries == 0, "a gauge raised by its "
	    "last points (%d, %d)", s.anomalies, s.recoveries);
	for (; i < 230; i++)
		put_point(sc, "other", t0 + i * 60000LL, 50 + wobble());
	ok(s.recoveries == 0, "not back 80 minutes after it stopped");
	for (; i < 260; i++)
		put_point(sc, "other", t0 + i * 60000LL, 50 + wobble());
	ok(s.anomalies == 1 && s.recoveries == 1, "back 100 of its spacings "
	    "after (%d, %d)", s.anomalies, s.recoveries);
	sre_scout_free(sc);

	/* More series than room, all sending: the ones in keep what they
	 * learnt (no eviction churn); the rest are counted and dropped. */
	memset(&s, 0, sizeof(s));
	cfg.max_series = 256;	/* 64 metric series */
	sc = sre_scout_new(&cfg, &h, err, sizeof(err));
	for (i = 0; i < 200; i++) {
		int k;
		char name[16];

		for (k = 0; k < 70; k++) {
			snprintf(name, sizeof(name), "m%d", k);
			put_point(sc, name, t0 + i * 60000LL, 10 + wobble() +
			    (k == 0 && i == 180 ? 30 : 0));
		}
	}
	ok(sre_scout_stats(sc)->evicted == 0 &&
	    sre_scout_stats(sc)->dropped == 6 * 200 &&
	    sre_scout_stats(sc)->metrics == 64, "70 series sending, room "
	    "for 64: %llu evicted, %llu dropped",
	    (unsigned long long)sre_scout_stats(sc)->evicted,
	    (unsigned long long)sre_scout_stats(sc)->dropped);
	ok(s.anomalies >= 1, "a series in still learns and raises (%d)",
	    s.anomalies);
	sre_scout_free(sc);
}

int
main(void)
{
	test_baseline();
	test_hysteresis();
	test_incidents();
	test_silences();
	test_fingerprint();
	test_metric_clocks();
	return tap_done();
}
