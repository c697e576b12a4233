/* test-audit.c: the findings of sre-jules, one check at a time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "diag.h"
#include "event.h"
#include "tap.h"

#define NOW 1700000000000LL
#define MIN 60000LL
#define DAY 86400000LL

static int seq;

/* Feed one event written as JSON with %-substitutions; a fresh id unless
 * the text has one. */
static int
feed(struct sre_audit *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
feed(struct sre_audit *a, const char *fmt, ...)
{
	char buf[4096];
	va_list ap;
	jv ev;
	int rc;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	ev = jv_parse(buf);
	if (!jv_is_valid(ev)) {
		printf("# bad test JSON: %s\n", buf);
		jv_free(ev);
		return -2;
	}
	if (!jv_object_has(jv_copy(ev), jv_string("id")))
		ev = jv_object_set(ev, jv_string("id"),
		    jv_string_fmt("ev-%d", ++seq));
	ev = jv_object_set(ev, jv_string("v"), jv_number(1));
	ev = jv_object_set(ev, jv_string("source"), jv_string("test"));
	rc = sre_audit_event(a, ev);
	jv_free(ev);
	return rc;
}

/* The severity of the finding of this name and subject, -1 if absent. */
static int
sev(jv findings, const char *name, const char *subject)
{
	int found = -1;

	jv_array_foreach(findings, i, f) {
		if (strcmp(sre_jv_str(f, "finding"), name) == 0 &&
		    strcmp(sre_jv_str(f, "subject"), subject) == 0)
			found = sre_audit_severity(sre_jv_str(f, "severity"));
		jv_free(f);
		(void)i;
	}
	return found;
}

static int
count(jv findings, const char *name)
{
	int n = 0;

	jv_array_foreach(findings, i, f) {
		if (strcmp(sre_jv_str(f, "finding"), name) == 0)
			n++;
		jv_free(f);
		(void)i;
	}
	return n;
}

/* An incident of service svc at time t: anomaly, and a recovery after
 * mttr minutes (none when < 0). */
static void
incident(struct sre_audit *a, const char *id, const char *svc,
    const char *fp, long long t, int mttr)
{
	feed(a, "{\"type\":\"anomaly\",\"incident\":\"%s\",\"ts_ms\":%lld,"
	    "\"service\":\"%s\",\"signal\":\"latency\",\"fingerprint\":\"%s\"}",
	    id, t, svc, fp);
	if (mttr >= 0)
		feed(a, "{\"type\":\"recovery\",\"incident\":\"%s\","
		    "\"ts_ms\":%lld}", id, t + mttr * MIN);
}

static struct sre_audit *
fresh(struct sre_audit_limits *l)
{
	struct sre_audit_limits d;

	if (l == NULL) {
		sre_audit_limits_init(&d);
		l = &d;
	}
	return sre_audit_new(l, NOW);
}

static void
test_limits(void)
{
	struct sre_audit_limits l;
	char err[256];

	sre_audit_limits_init(&l);
	ok(l.window_ms == 7 * DAY && l.chronic == 3 && l.veto_ratio == 0.5,
	    "defaults: 7d, 3 incidents, half the verdicts");
	ok(sre_audit_limit_set(&l, "chronic=5", err, sizeof(err)) == 0 &&
	    l.chronic == 5, "chronic=5");
	ok(sre_audit_limit_set(&l, "window=1d", err, sizeof(err)) == 0 &&
	    l.window_ms == DAY, "window=1d");
	ok(sre_audit_limit_set(&l, "mttr_slow_s=30m", err, sizeof(err)) == 0 &&
	    l.mttr_slow_s == 1800, "mttr_slow_s takes a duration");
	ok(sre_audit_limit_set(&l, "mttr_slow_s=90", err, sizeof(err)) == 0 &&
	    l.mttr_slow_s == 90, "or seconds");
	ok(sre_audit_limit_set(&l, "nope=1", err, sizeof(err)) < 0 &&
	    strstr(err, "no such threshold") != NULL, "unknown name: %s", err);
	ok(sre_audit_limit_set(&l, "veto_ratio=2", err, sizeof(err)) < 0 &&
	    strstr(err, "from 0 to 1") != NULL, "out of range: %s", err);
	ok(sre_audit_limit_set(&l, "chronic=lots", err, sizeof(err)) < 0,
	    "not a number");
	ok(sre_audit_limit_set(&l, "chronic", err, sizeof(err)) < 0 &&
	    strstr(err, "NAME=VALUE") != NULL, "no '='");
	ok(sre_audit_severity("warning") == SRE_SEV_WARNING &&
	    sre_audit_severity("critical") == SRE_SEV_CRITICAL &&
	    sre_audit_severity("info") == SRE_SEV_INFO &&
	    sre_audit_severity("high") == -1 && sre_audit_severity(NULL) == -1,
	    "severities");
	ok(strcmp(sre_audit_severity_name(SRE_SEV_CRITICAL), "critical") == 0,
	    "severity names");
}

static void
test_events(void)
{
	struct sre_audit *a = fresh(NULL);
	struct sre_audit_stats st;
	jv f;

	ok(feed(a, "{\"type\":\"anomaly\",\"id\":\"x1\",\"incident\":\"i\","
	    "\"ts_ms\":%lld,\"service\":\"s\"}", NOW) == 1, "an anomaly is used");
	ok(feed(a, "{\"type\":\"anomaly\",\"id\":\"x1\",\"incident\":\"i\","
	    "\"ts_ms\":%lld,\"service\":\"s\"}", NOW) == 0,
	    "the same id again is skipped");
	ok(feed(a, "{\"type\":\"governor\",\"ts_ms\":%lld}", NOW) == 0,
	    "other types are not facts");
	ok(feed(a, "{\"type\":\"anomaly\",\"ts_ms\":%lld}", NOW) == 0,
	    "an anomaly without an incident is not either");
	/* Members of the wrong kind are ignored, never fatal. */
	ok(feed(a, "{\"type\":\"topology\",\"ts_ms\":%lld,\"edges\":\"x\"}",
	    NOW) == 1, "topology with bad edges");
	ok(feed(a, "{\"type\":\"topology\",\"ts_ms\":%lld,\"edges\":[1,{\"from\""
	    ":2,\"to\":\"b\"},{\"from\":\"a\",\"to\":\"b\",\"calls\":\"x\"}]}",
	    NOW) == 1, "topology with bad edge members");
	ok(feed(a, "{\"type\":\"diagnosis\",\"incident\":\"i\",\"ts_ms\":%lld,"
	    "\"root_causes\":\"x\",\"llm\":5,\"proposal\":[]}", NOW) == 1,
	    "diagnosis of wrong kinds");
	ok(feed(a, "{\"type\":\"diagnosis\",\"incident\":\"i\",\"ts_ms\":%lld,"
	    "\"root_causes\":[1,2],\"llm\":{\"prompt_tokens\":\"many\"}}",
	    NOW) == 1, "root cause not an object");
	ok(feed(a, "{\"type\":\"verdict\",\"incident\":\"i\",\"ts_ms\":%lld,"
	    "\"decision\":\"veto\",\"rules\":{\"a\":1}}", NOW) == 1,
	    "verdict with rules of the wrong kind");
	ok(feed(a, "{\"type\":\"postmortem\",\"incident\":\"i\",\"ts_ms\":%lld,"
	    "\"mttr_ms\":null,\"outcome\":7}", NOW) == 1, "postmortem nulls");
	sre_audit_stats(a, &st);
	ok(st.events == 7 && st.duplicates == 1 && st.incidents == 1 &&
	    st.in_window == 1 && st.topology == 1, "stats: %llu events, "
	    "%llu dup, %llu incidents, %llu topology", st.events,
	    st.duplicates, st.incidents, st.topology);
	f = sre_audit_findings(a);
	ok(jv_get_kind(f) == JV_KIND_ARRAY && jv_array_length(jv_copy(f)) == 0,
	    "nothing to find in noise");
	ok(sre_audit_worst(f) == -1, "no worst severity");
	jv_free(f);
	sre_audit_free(a);
	sre_audit_free(NULL);
}

static void
test_chronic_and_window(void)
{
	struct sre_audit_limits l;
	struct sre_audit *a;
	char id[32];
	jv f;
	int i;

	a = fresh(NULL);
	incident(a, "a1", "svc", "fp", NOW - DAY, 5);
	incident(a, "a2", "svc", "fp", NOW - 2 * DAY, 5);
	incident(a, "a0", "svc", "fp", NOW - 8 * DAY, 5);
	f = sre_audit_findings(a);
	ok(sev(f, "chronic_offender", "svc") == -1,
	    "2 incidents in the window: not chronic");
	jv_free(f);
	incident(a, "a3", "svc", "fp", NOW - 3 * DAY, 5);
	f = sre_audit_findings(a);
	ok(sev(f, "chronic_offender", "svc") == SRE_SEV_WARNING,
	    "3 incidents: chronic, a warning");
	jv_free(f);
	for (i = 4; i < 7; i++) {
		snprintf(id, sizeof(id), "a%d", i);
		incident(a, id, "svc", "fp", NOW - i * 3600000LL, 5);
	}
	f = sre_audit_findings(a);
	ok(sev(f, "chronic_offender", "svc") == SRE_SEV_CRITICAL,
	    "twice the threshold: critical");
	jv_free(f);
	sre_audit_free(a);

	/* The root cause names the service, not where it was seen. */
	a = fresh(NULL);
	for (i = 0; i < 3; i++) {
		snprintf(id, sizeof(id), "r%d", i);
		incident(a, id, "frontend", "fp", NOW - (i + 1) * DAY, 5);
		feed(a, "{\"type\":\"diagnosis\",\"incident\":\"%s\","
		    "\"ts_ms\":%lld,\"root_causes\":[{\"service\":\"db\"}]}",
		    id, NOW - (i + 1) * DAY + 1000);
	}
	f = sre_audit_findings(a);
	ok(sev(f, "chronic_offender", "db") == SRE_SEV_WARNING &&
	    sev(f, "chronic_offender", "frontend") == -1,
	    "chronic offender by root cause");
	jv_free(f);
	sre_audit_free(a);

	sre_audit_limits_init(&l);
	l.window_ms = 0;
	a = fresh(&l);
	incident(a, "o1", "old", "fp", NOW - 30 * DAY, 5);
	incident(a, "o2", "old", "fp", NOW - 20 * DAY, 5);
	incident(a, "o3", "old", "fp", NOW - 10 * DAY, 5);
	f = sre_audit_findings(a);
	ok(sev(f, "chronic_offender", "old") == SRE_SEV_WARNING,
	    "window 0: all time counts");
	jv_free(f);
	sre_audit_free(a);
}

static void
fix(struct sre_audit *a, const char *id, long long t)
{
	feed(a, "{\"type\":\"verdict\",\"incident\":\"%s\",\"ts_ms\":%lld,"
	    "\"decision\":\"approve\",\"proposal\":{\"action\":\"restart\","
	    "\"target\":\"api\"}}", id, t);
	feed(a, "{\"type\":\"action\",\"incident\":\"%s\",\"ts_ms\":%lld,"
	    "\"status\":\"committed\"}", id, t + 1000);
}

static void
test_fix_not_sticking(void)
{
	struct sre_audit *a = fresh(NULL);
	jv f;

	incident(a, "b0", "api", "fp-a", NOW - 5 * DAY, 3);
	incident(a, "b1", "api", "fp-a", NOW - 4 * DAY, 3);
	f = sre_audit_findings(a);
	ok(count(f, "fix_not_sticking") == 0, "a return without a fix: none");
	jv_free(f);
	fix(a, "b1", NOW - 4 * DAY + MIN);
	feed(a, "{\"type\":\"action\",\"incident\":\"b0\",\"ts_ms\":%lld,"
	    "\"status\":\"dry_run\"}", NOW - 5 * DAY + MIN);
	f = sre_audit_findings(a);
	ok(count(f, "fix_not_sticking") == 0,
	    "the last incident fixed, a dry run before: none");
	jv_free(f);
	incident(a, "b2", "api", "fp-a", NOW - 2 * DAY, 3);
	incident(a, "c1", "api", "fp-other", NOW - DAY, 3);
	f = sre_audit_findings(a);
	ok(sev(f, "fix_not_sticking", "api") == SRE_SEV_WARNING,
	    "back once after a fix: a warning");
	jv_free(f);
	incident(a, "b3", "api", "fp-a", NOW - DAY, 3);
	f = sre_audit_findings(a);
	ok(sev(f, "fix_not_sticking", "api") == SRE_SEV_CRITICAL,
	    "back twice: critical");
	ok(count(f, "fix_not_sticking") == 1, "one finding per fingerprint");
	jv_free(f);
	sre_audit_free(a);
}

static const char deploy[] =
    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: %s\n"
    "spec:\n%s  template:\n    spec:\n      containers:\n"
    "        - name: main\n          image: x:1\n%s%s";
static const char res[] =
    "          resources:\n            requests: {cpu: 1, memory: 1Gi}\n"
    "            limits: {memory: 1Gi}\n";
static const char probes[] =
    "          readinessProbe: {tcpSocket: {port: 80}}\n"
    "          livenessProbe: {tcpSocket: {port: 80}}\n";

static int
manifest(struct sre_audit *a, const char *svc, const char *replicas,
    const char *r, const char *p)
{
	char text[2048], err[256];

	snprintf(text, sizeof(text), deploy, svc, replicas, r, p);
	return sre_audit_manifest(a, svc, "deployment.yaml", text,
	    strlen(text), err, sizeof(err));
}

static void
test_manifests_and_spof(void)
{
	struct sre_audit *a = fresh(NULL);
	char err[256];
	jv f;

	ok(manifest(a, "cache", "  replicas: 1\n", res, probes) == 1,
	    "a Deployment is taken");
	ok(manifest(a, "db", "", res, probes) == 1,
	    "replicas absent: one, as Kubernetes defaults");
	ok(manifest(a, "api", "  replicas: 3\n", res, probes) == 1,
	    "three replicas");
	ok(manifest(a, "bare", "  replicas: 2\n", "", "") == 1,
	    "no resources, no probes");
	ok(manifest(a, "half", "  replicas: 2\n",
	    "          resources: {limits: {memory: 1Gi}}\n",
	    "          readinessProbe: {tcpSocket: {port: 80}}\n") == 1,
	    "limits without requests, readiness without liveness");
	ok(sre_audit_manifest(a, "cm", "cm.yaml", "kind: ConfigMap\n", 16, err,
	    sizeof(err)) == 0, "a ConfigMap is not a workload");
	ok(sre_audit_manifest(a, "bad", "bad.yaml", "a: [1\n", 6, err,
	    sizeof(err)) < 0 && strstr(err, "line") != NULL,
	    "bad YAML: %s", err);
	ok(sre_audit_manifest(a, "empty", "e.yaml", "kind: Deployment\n", 17,
	    err, sizeof(err)) < 0, "a Deployment without containers");
	/* Callers: cache 2, db 2 (one of them itself), api 3. */
	feed(a, "{\"type\":\"topology\",\"ts_ms\":%lld,\"edges\":["
	    "{\"from\":\"a\",\"to\":\"cache\",\"calls\":5,\"errors\":1},"
	    "{\"from\":\"b\",\"to\":\"cache\",\"calls\":5,\"errors\":0},"
	    "{\"from\":\"a\",\"to\":\"db\"},{\"from\":\"db\",\"to\":\"db\"},"
	    "{\"from\":\"a\",\"to\":\"api\"},{\"from\":\"b\",\"to\":\"api\"},"
	    "{\"from\":\"c\",\"to\":\"api\"},{\"from\":\"a\",\"to\":\"nomanifest\"},"
	    "{\"from\":\"b\",\"to\":\"nomanifest\"}]}", NOW - 3600000);
	feed(a, "{\"type\":\"topology\",\"ts_ms\":%lld,\"edges\":["
	    "{\"from\":\"x\",\"to\":\"db\"}]}", NOW - 30 * DAY);
	f = sre_audit_findings(a);
	ok(sev(f, "single_point_of_failure", "cache") == SRE_SEV_WARNING,
	    "one replica, two callers: a single point of failure");
	ok(sev(f, "single_point_of_failure", "db") == -1,
	    "self-calls and edges older than the window do not count");
	ok(sev(f, "single_point_of_failure", "api") == -1,
	    "three replicas: fine");
	ok(sev(f, "single_point_of_failure", "nomanifest") == -1,
	    "no manifest, no verdict");
	ok(sev(f, "missing_limits", "bare") == SRE_SEV_WARNING &&
	    sev(f, "missing_probes", "bare") == SRE_SEV_WARNING,
	    "no limits, no probes: warnings");
	ok(sev(f, "missing_limits", "half") == SRE_SEV_INFO &&
	    sev(f, "missing_probes", "half") == SRE_SEV_INFO,
	    "no requests, no liveness: info");
	ok(sev(f, "missing_limits", "cache") == -1 &&
	    sev(f, "missing_probes", "cache") == -1, "a complete manifest");
	ok(sev(f, "manifest_invalid", "bad") == SRE_SEV_WARNING &&
	    sev(f, "manifest_invalid", "empty") == SRE_SEV_WARNING,
	    "invalid manifests are findings");
	ok(sre_audit_worst(f) == SRE_SEV_WARNING, "the worst is a warning");
	jv_free(f);
	feed(a, "{\"type\":\"topology\",\"ts_ms\":%lld,\"edges\":["
	    "{\"from\":\"c\",\"to\":\"cache\"},{\"from\":\"d\",\"to\":\"cache\"}"
	    "]}", NOW);
	f = sre_audit_findings(a);
	ok(sev(f, "single_point_of_failure", "cache") == SRE_SEV_CRITICAL,
	    "four callers: critical");
	jv_free(f);
	sre_audit_free(a);
}

static void
test_noisy(void)
{
	struct sre_audit *a = fresh(NULL);
	int i;
	jv f;

	for (i = 0; i < 5; i++)
		feed(a, "{\"type\":\"anomaly\",\"incident\":\"n%d\",\"ts_ms\":"
		    "%lld,\"service\":\"web\",\"signal\":\"log\"}", i % 2,
		    NOW - DAY + i);
	f = sre_audit_findings(a);
	ok(sev(f, "noisy_detector", "web/log") == SRE_SEV_WARNING,
	    "5 anomalies, never acted on: a warning");
	jv_free(f);
	feed(a, "{\"type\":\"action\",\"incident\":\"n1\",\"ts_ms\":%lld,"
	    "\"status\":\"skipped\"}", NOW - DAY + 10);
	f = sre_audit_findings(a);
	ok(sev(f, "noisy_detector", "web/log") == SRE_SEV_WARNING,
	    "a skipped action is no action");
	jv_free(f);
	feed(a, "{\"type\":\"escalation\",\"incident\":\"n1\",\"ts_ms\":%lld}",
	    NOW - DAY + 20);
	f = sre_audit_findings(a);
	ok(sev(f, "noisy_detector", "web/log") == -1,
	    "one of two incidents escalated: not noisy");
	jv_free(f);
	sre_audit_free(a);
}

static void
test_mttr(void)
{
	struct sre_audit *a = fresh(NULL);
	jv f;

	incident(a, "m1", "svc", "fp1", NOW - 6 * DAY, 4);
	incident(a, "m2", "svc", "fp2", NOW - 5 * DAY, 6);
	incident(a, "m3", "other", "fp3", NOW - 3 * DAY, 5);
	incident(a, "m4", "other", "fp4", NOW - 2 * DAY, 6);
	f = sre_audit_findings(a);
	ok(count(f, "mttr_trend") == 0, "a steady MTTR: no trend");
	jv_free(f);
	incident(a, "m5", "svc", "fp5", NOW - 2 * DAY, 40);
	incident(a, "m6", "svc", "fp6", NOW - DAY, -1);
	/* The postmortem's mttr_ms wins over anomaly-to-recovery. */
	feed(a, "{\"type\":\"postmortem\",\"incident\":\"m6\",\"ts_ms\":%lld,"
	    "\"mttr_ms\":%lld,\"outcome\":\"auto_resolved\"}", NOW, 20 * MIN);
	f = sre_audit_findings(a);
	ok(sev(f, "mttr_trend", "svc") == SRE_SEV_CRITICAL,
	    "svc: 5m then 30m, 6 times: critical");
	ok(sev(f, "mttr_trend", "all") == SRE_SEV_CRITICAL,
	    "all: 5m then 20m, 4 times: critical");
	ok(sev(f, "mttr_trend", "other") == -1, "two incidents: no trend");
	ok(count(f, "slow_mttr") == 0, "medians under 30m: not slow");
	jv_free(f);
	incident(a, "m8", "other", "fp8", NOW - DAY, 9);
	incident(a, "m9", "other", "fp9", NOW - DAY / 2, 10);
	f = sre_audit_findings(a);
	ok(sev(f, "mttr_trend", "other") == SRE_SEV_WARNING,
	    "other: 5m30s then 9m30s, 1.7 times: a warning");
	jv_free(f);
	incident(a, "m7", "slow", "fp7", NOW - DAY, 45);
	f = sre_audit_findings(a);
	ok(sev(f, "slow_mttr", "slow") == SRE_SEV_WARNING,
	    "45 minutes to recover: slow");
	jv_free(f);
	sre_audit_free(a);
}

static void
test_llm_and_guard(void)
{
	struct sre_audit_limits l;
	struct sre_audit *a;
	jv f, ev;
	int i;

	sre_audit_limits_init(&l);
	l.llm_usd_per_mtok = 2;
	a = fresh(&l);
	incident(a, "l1", "svc", "fp", NOW - DAY, 5);
	feed(a, "{\"type\":\"diagnosis\",\"incident\":\"l1\",\"ts_ms\":%lld,"
	    "\"llm\":{\"model\":\"m\",\"status\":\"ok\",\"prompt_tokens\":9000,"
	    "\"completion_tokens\":1000,\"latency_ms\":500}}", NOW - DAY);
	incident(a, "l2", "svc", "fp", NOW - DAY, 5);
	feed(a, "{\"type\":\"diagnosis\",\"incident\":\"l2\",\"ts_ms\":%lld,"
	    "\"llm\":{\"model\":\"m\",\"total_tokens\":20000}}", NOW - DAY);
	feed(a, "{\"type\":\"diagnosis\",\"incident\":\"l2\",\"ts_ms\":%lld,"
	    "\"llm\":{\"model\":\"m\",\"status\":\"fallback\"}}", NOW - DAY);
	f = sre_audit_findings(a);
	ok(sev(f, "llm_spend", "m") == SRE_SEV_INFO,
	    "15000 tokens per incident: within the budget, info");
	jv_array_foreach(f, k, x) {
		if (strcmp(sre_jv_str(x, "finding"), "llm_spend") == 0) {
			double d = -1, c = -1;

			ev = jv_object_get(jv_copy(x), jv_string("evidence"));
			sre_jv_num(ev, "tokens_per_incident", &d);
			sre_jv_num(ev, "cost_usd", &c);
			ok(d == 15000 && c == 0.06, "evidence: %g tokens per "
			    "incident, $%g", d, c);
			ok(sre_jv_num(ev, "fallbacks", &d) == 0 && d == 1,
			    "a fallback is counted, not as a call");
			jv_free(ev);
		}
		jv_free(x);
		(void)k;
	}
	jv_free(f);
	feed(a, "{\"type\":\"diagnosis\",\"incident\":\"l1\",\"ts_ms\":%lld,"
	    "\"llm\":{\"model\":\"m\",\"prompt_tokens\":30000}}", NOW - DAY);
	f = sre_audit_findings(a);
	ok(sev(f, "llm_spend", "m") == SRE_SEV_WARNING,
	    "30000 per incident: over the budget");
	ok(count(f, "guard_vetoes") == 0, "no verdicts, no guard finding");
	jv_free(f);
	sre_audit_free(a);

	a = fresh(NULL);
	for (i = 0; i < 4; i++)
		feed(a, "{\"type\":\"verdict\",\"incident\":\"g%d\",\"ts_ms\":"
		    "%lld,\"decision\":\"%s\",\"rules\":[\"r%d\"]}", i,
		    NOW - DAY, i == 0 ? "approve" : "veto", i % 2);
	f = sre_audit_findings(a);
	ok(sev(f, "guard_vetoes", "sre-guard") == SRE_SEV_WARNING,
	    "3 of 4 vetoed: a warning");
	jv_free(f);
	feed(a, "{\"type\":\"verdict\",\"incident\":\"g9\",\"ts_ms\":%lld,"
	    "\"decision\":\"approve\"}", NOW - DAY);
	feed(a, "{\"type\":\"verdict\",\"incident\":\"g8\",\"ts_ms\":%lld,"
	    "\"decision\":\"escalate\"}", NOW - DAY);
	f = sre_audit_findings(a);
	ok(sev(f, "guard_vetoes", "sre-guard") == SRE_SEV_WARNING,
	    "3 of 6: still half");
	jv_free(f);
	feed(a, "{\"type\":\"verdict\",\"incident\":\"g7\",\"ts_ms\":%lld,"
	    "\"decision\":\"approve\"}", NOW - DAY);
	f = sre_audit_findings(a);
	ok(count(f, "guard_vetoes") == 0, "3 of 7: fine");
	jv_free(f);
	sre_audit_free(a);
}

static void
test_order_and_markdown(void)
{
	struct sre_audit *a = fresh(NULL);
	char *md;
	jv f;
	int i, last = 3;

	f = jv_array();
	md = sre_audit_markdown(a, f);	/* borrows f */
	jv_free(f);
	ok(md != NULL && strstr(md, "# Architecture audit") != NULL &&
	    strstr(md, "No findings.") != NULL, "an empty report");
	free(md);
	manifest(a, "bare", "  replicas: 2\n", "", "");
	manifest(a, "half", "  replicas: 2\n",
	    "          resources: {limits: {memory: 1Gi}}\n", "");
	for (i = 0; i < 6; i++)
		incident(a, i % 2 ? "k1" : "k2", "x|y", "fp", NOW - DAY, 5);
	incident(a, "k3", "x|y", "fp", NOW - DAY, 5);
	incident(a, "k4", "x|y", "fp", NOW - DAY, 5);
	f = sre_audit_findings(a);
	jv_array_foreach(f, k, x) {
		int s = sre_audit_severity(sre_jv_str(x, "severity"));
		jv e = jv_object_get(jv_copy(x), jv_string("evidence"));

		if (s > last)
			last = 99;
		else
			last = s;
		ok(sre_jv_str(x, "recommendation") != NULL &&
		    jv_get_kind(e) == JV_KIND_OBJECT,
		    "%s has evidence and a recommendation",
		    sre_jv_str(x, "finding"));
		jv_free(e);
		jv_free(x);
		(void)k;
	}
	ok(last != 99, "the most severe first");
	md = sre_audit_markdown(a, f);
	ok(md != NULL && strstr(md, "| 1 | warning |") != NULL,
	    "a summary table");
	ok(md != NULL && strstr(md, "x\\|y") != NULL,
	    "'|' escaped in table cells");
	ok(md != NULL && strstr(md, "Recommendation: ") != NULL &&
	    strstr(md, "Evidence:") != NULL, "sections per finding");
	free(md);
	jv_free(f);
	sre_audit_free(a);
}

int
main(void)
{
	sre_init("test-audit");
	test_limits();
	test_events();
	test_chronic_and_window();
	test_fix_not_sticking();
	test_manifests_and_spof();
	test_noisy();
	test_mttr();
	test_llm_and_guard();
	test_order_and_markdown();
	return tap_done();
}
