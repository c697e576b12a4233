/* test-policy: sre-guard's decisions, freeze windows, durations, times. */
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "evtime.h"
#include "policy.h"
#include "tap.h"

/* 2023-11-14T22:13:20Z, a Tuesday. */
#define TUE 1700000000000LL

static jv
diag(const char *action, const char *target, const char *params,
    double conf, int64_t ts)
{
	char buf[1024];

	snprintf(buf, sizeof(buf), "{\"v\":1,\"type\":\"diagnosis\",\"id\":"
	    "\"D\",\"incident\":\"inc-1\",\"ts_ms\":%lld,\"source\":\"t\","
	    "\"confidence\":%g,\"fingerprint\":\"fp\",\"proposal\":{"
	    "\"action\":\"%s\",\"target\":\"%s\",\"params\":%s}}",
	    (long long)ts, conf, action, target, params);
	return jv_parse(buf);
}

static struct sre_guard_facts
facts(void)
{
	struct sre_guard_facts f;

	memset(&f, 0, sizeof(f));
	f.have_repo = 1;
	f.services = jv_parse("[\"quote-api\",\"db-policy\"]");
	f.target_exists = 1;
	f.replicas = 2;
	return f;
}

/* decide and compare "decision rule" with want. */
static void
decide_is(const struct sre_policy *p, jv d, const struct sre_guard_facts *f,
    const char *want, const char *what)
{
	jv v = sre_policy_decide(p, d, f, NULL, NULL);
	jv rules = jv_object_get(jv_copy(v), jv_string("rules"));
	jv r0 = jv_array_get(jv_copy(rules), jv_array_length(jv_copy(rules)) - 1);
	char got[256];

	snprintf(got, sizeof(got), "%s %s", sre_jv_str(v, "decision"),
	    jv_string_value(r0));
	ok(strcmp(got, want) == 0, "%s: %s", what, got);
	jv_free(r0);
	jv_free(rules);
	jv_free(v);
	jv_free(d);
}

static struct sre_policy *
parse(const char *text, jv *problems)
{
	return sre_policy_parse(text, strlen(text), "p.yaml", problems);
}

static void
test_builtins(void)
{
	jv problems;
	struct sre_policy *p = sre_policy_load(NULL, &problems);
	struct sre_guard_facts f = facts();

	ok(p != NULL && jv_array_length(jv_copy(problems)) == 0,
	    "the built-in default policy");
	jv_free(problems);
	decide_is(p, diag("scale", "quote-api", "{\"replicas\":4}", 0.9, TUE),
	    &f, "approve default", "within the limits");
	decide_is(p, diag("drop", "quote-api", "{}", 0.9, TUE), &f,
	    "veto builtin:catalog", "not in the catalog");
	decide_is(p, diag("scale", "../x", "{\"replicas\":1}", 0.9, TUE), &f,
	    "veto builtin:target", "a target that is no service name");
	decide_is(p, diag("scale", "quote-api", "{\"replicas\":\"4\"}", 0.9,
	    TUE), &f, "veto builtin:params", "replicas not a number");
	decide_is(p, diag("scale", "quote-api", "{\"replicas\":0}", 0.9, TUE),
	    &f, "veto builtin:blast-radius", "scale to zero");
	decide_is(p, diag("scale", "quote-api", "{\"replicas\":5}", 0.9, TUE),
	    &f, "veto builtin:blast-radius", "more than doubled");
	decide_is(p, diag("scale", "quote-api", "{\"delta\":-1}", 0.9, TUE),
	    &f, "approve default", "halved is within the factor");
	decide_is(p, diag("restart", "quote-api", "{}", 0.59, TUE), &f,
	    "veto builtin:confidence", "below 0.6");
	decide_is(p, diag("restart", "quote-api", "{}", 0.6, TUE), &f,
	    "approve default", "0.6 itself passes");
	f.recovered = 1;
	decide_is(p, diag("restart", "quote-api", "{}", 0.9, TUE), &f,
	    "veto builtin:stale", "recovered already");
	f.recovered = 0;
	f.target_exists = 0;
	decide_is(p, diag("restart", "nope", "{}", 0.9, TUE), &f,
	    "veto builtin:target", "not a service of the repository");
	f.have_repo = 0;
	decide_is(p, diag("restart", "nope", "{}", 0.9, TUE), &f,
	    "escalate builtin:target", "no repository: a human decides");
	jv_free(f.services);
	f = facts();
	f.repo_fault = SRE_CATALOG_PATCH;
	f.repo_problem = "x is inside .git";
	decide_is(p, diag("patch", "quote-api", "{\"diff\":\"x\"}", 0.9, TUE),
	    &f, "veto builtin:patch", "a patch the tool refused");
	f.repo_fault = SRE_CATALOG_HISTORY;
	f.repo_problem = "rollback to 9.9.9: quote-api never ran it";
	decide_is(p, diag("rollback", "quote-api", "{\"to\":\"9.9.9\"}",
	    0.9, TUE), &f, "veto builtin:history", "a tag never deployed");
	f.repo_fault = SRE_CATALOG_OK;
	f.repo_problem = NULL;
	f.approvals_hour = 10;
	decide_is(p, diag("restart", "quote-api", "{}", 0.9, TUE), &f,
	    "escalate builtin:rate", "ten approvals this hour");
	decide_is(p, diag("observe", "quote-api", "{}", 0.9, TUE), &f,
	    "escalate builtin:observe", "observe is not rate limited: a "
	    "confident one with no remedy calls a human");
	f.approvals_hour = 0;
	f.service_approvals_hour = 3;
	decide_is(p, diag("restart", "quote-api", "{}", 0.9, TUE), &f,
	    "escalate builtin:rate", "three for the service");
	f.service_approvals_hour = 0;
	f.fingerprint_actions = 3;
	decide_is(p, diag("restart", "quote-api", "{}", 0.9, TUE), &f,
	    "escalate builtin:loop", "the fourth act on a fingerprint");
	f.acked = 1;
	decide_is(p, diag("restart", "quote-api", "{}", 0.9, TUE), &f,
	    "veto builtin:acked", "an acknowledged incident is not escalated");
	jv_free(f.services);
	sre_policy_free(p);
}

static void
test_rules(void)
{
	jv problems;
	struct sre_guard_facts f = facts();
	struct sre_policy *p = parse(
	    "version: 1\n"
	    "limits:\n"
	    "  min_confidence: 0.5\n"
	    "rules:\n"
	    "  - id: db\n"
	    "    when: .proposal.target | startswith(\"db-\")\n"
	    "    decision: escalate\n"
	    "    reason: by hand\n"
	    "  - id: ctx\n"
	    "    when: $ctx.weekday == \"Tue\" and $ctx.replicas == 2 and "
	    "$ctx.new_replicas == 3\n"
	    "    decision: veto\n"
	    "  - id: err\n"
	    "    when: .proposal.action == \"config\" and (1 | ascii_downcase)\n"
	    "    decision: approve\n"
	    "  - id: empty\n"
	    "    when: empty\n"
	    "    decision: veto\n"
	    "default:\n"
	    "  decision: veto\n"
	    "  reason: nothing matched\n", &problems);

	ok(p != NULL, "a policy with rules parses");
	ok(jv_array_length(sre_policy_warnings(p)) == 1,
	    "a lower min_confidence is a warning");
	jv_free(problems);
	decide_is(p, diag("restart", "db-policy", "{}", 0.9, TUE), &f,
	    "escalate db", "the first rule that matches");
	decide_is(p, diag("scale", "quote-api", "{\"replicas\":3}", 0.9, TUE),
	    &f, "veto ctx", "$ctx holds the weekday and replicas");
	decide_is(p, diag("config", "quote-api", "{\"key\":\"LOG_LEVEL\","
	    "\"value\":\"b\"}", 0.9, TUE), &f, "escalate err",
	    "a rule failing at run time escalates");
	decide_is(p, diag("restart", "quote-api", "{}", 0.9, TUE), &f,
	    "veto default", "empty is no match; then the default");
	decide_is(p, diag("restart", "quote-api", "{}", 0.55, TUE), &f,
	    "veto default", "the lower min_confidence applies");
	{
		jv d = diag("restart", "db-policy", "{}", 0.9, TUE);
		jv v = sre_policy_decide(p, d, &f, NULL, NULL);
		jv r = jv_object_get(jv_copy(v), jv_string("reasons"));
		jv r0 = jv_array_get(r, 0);

		ok(strcmp(jv_string_value(r0), "by hand") == 0,
		    "a rule's reason is the verdict's");
		jv_free(r0);
		jv_free(v);
		jv_free(d);
	}
	jv_free(f.services);
	sre_policy_free(p);
}

static int
has(jv problems, const char *s)
{
	int i, n = jv_array_length(jv_copy(problems)), found = 0;

	for (i = 0; i < n; i++) {
		jv m = jv_array_get(jv_copy(problems), i);

		if (strstr(jv_string_value(m), s) != NULL)
			found = 1;
		jv_free(m);
	}
	return found;
}

static void
test_problems(void)
{
	jv problems;
	struct sre_policy *p = parse(
	    "rules:\n"
	    "  - id: ok\n"
	    "    when: \"true\"\n"
	    "    decision: approve\n"
	    "  - id: bad\n"
	    "    when: .a ==\n"
	    "    decision: veto\n"
	    "  - id: ok\n"
	    "    when: \"true\"\n"
	    "    decision: nope\n"
	    "  - id: x\n"
	    "    when: \"true\"\n"
	    "    decision: veto\n"
	    "    color: red\n"
	    "limits:\n"
	    "  loop_window: 5s\n"
	    "freeze: [\"Funday\"]\n"
	    "default: perhaps\n"
	    "extra: 1\n", &problems);

	ok(p == NULL, "a broken policy does not load");
	ok(has(problems, "p.yaml:5: rule 'bad': jq: syntax error"),
	    "a jq error names the rule and its line");
	ok(has(problems, "rule 'ok': the id is used twice"), "duplicate ids");
	ok(has(problems, "decision must be approve, veto or escalate"),
	    "a bad decision");
	ok(has(problems, "rule 4: unknown key 'color'"), "an unknown rule key");
	ok(has(problems, "loop_window must be a duration of at least 1m"),
	    "a short loop window");
	ok(has(problems, "bad freeze window 'Funday'"), "a bad freeze window");
	ok(has(problems, "default must be approve"), "a bad default");
	ok(has(problems, "unknown key 'extra'"), "an unknown top-level key");
	jv_free(problems);
	p = parse("- a list\n", &problems);
	ok(p == NULL && has(problems, "a policy is a mapping"),
	    "a policy is a mapping");
	jv_free(problems);
	p = parse("", &problems);
	ok(p != NULL && sre_policy_nrules(p) == 0 &&
	    sre_policy_default(p) == SRE_APPROVE, "an empty file is the "
	    "default policy");
	jv_free(problems);
	sre_policy_free(p);
	p = parse("limits:\n  max_actions: 3\n", &problems);
	ok(p != NULL && sre_policy_limits(p)->max_actions == 3,
	    "max_actions: changes per incident");
	jv_free(problems);
	sre_policy_free(p);
	p = parse("", &problems);
	ok(p != NULL && sre_policy_limits(p)->max_actions ==
	    SRE_POLICY_MAX_ACTIONS && SRE_POLICY_MAX_ACTIONS == 2,
	    "at most 2 by default");
	jv_free(problems);
	sre_policy_free(p);
	p = parse("limits:\n  max_actions: 0\n", &problems);
	ok(p == NULL && has(problems, "max_actions must be a number from 1 "
	    "to 10"), "max_actions from 1 to 10");
	jv_free(problems);
	p = parse("limits:\n  approvals_per_hour: 0\n  max_scale_factor: 3\n",
	    &problems);
	ok(p != NULL && jv_array_length(sre_policy_warnings(p)) == 2,
	    "switching a limit off or loosening it is warned about");
	jv_free(problems);
	sre_policy_free(p);
}

static void
test_freeze(void)
{
	jv problems;
	struct sre_policy *p = sre_policy_load(NULL, &problems);
	char err[256];

	jv_free(problems);
	ok(sre_policy_add_freeze(p, "Tue 22:00-06:00", err, sizeof(err)) == 0,
	    "a weekly window over midnight");
	ok(sre_policy_frozen(p, TUE) != NULL, "Tuesday 22:13 is frozen");
	ok(sre_policy_frozen(p, TUE + 7 * 3600000LL) != NULL,
	    "Wednesday 05:13 is frozen (past midnight)");
	ok(sre_policy_frozen(p, TUE + 9 * 3600000LL) == NULL,
	    "Wednesday 07:13 is not");
	ok(sre_policy_frozen(p, TUE - 3600000LL) == NULL,
	    "Tuesday 21:13 is not");
	sre_policy_free(p);
	p = sre_policy_load(NULL, &problems);
	jv_free(problems);
	ok(sre_policy_add_freeze(p, "Sat,Sun", err, sizeof(err)) == 0 &&
	    sre_policy_add_freeze(p, "2023-12-24/2023-12-27", err,
	    sizeof(err)) == 0, "days and dates");
	ok(sre_policy_frozen(p, TUE + 4 * 86400000LL) != NULL,
	    "Saturday is frozen");
	ok(sre_policy_frozen(p, TUE + 2 * 86400000LL) == NULL,
	    "Thursday is not");
	ok(sre_policy_frozen(p, 1703462400000LL) != NULL,
	    "2023-12-25 (a Monday) is frozen");
	ok(sre_policy_add_freeze(p, "Mon-Fri 09:00", err, sizeof(err)) < 0 &&
	    sre_policy_add_freeze(p, "2023-12-27/2023-12-24", err,
	    sizeof(err)) < 0 && sre_policy_add_freeze(p, "Mon 25:00-26:00",
	    err, sizeof(err)) < 0, "malformed windows are refused");
	ok(sre_policy_add_freeze(p, "Fri-Mon", err, sizeof(err)) == 0,
	    "a day range over the weekend");
	sre_policy_free(p);
}

static void
test_time(void)
{
	int64_t ms;
	char b[64];

	ok(sre_duration_parse("15m", &ms) == 0 && ms == 900000, "15m");
	ok(sre_duration_parse("90", &ms) == 0 && ms == 90000, "a bare number "
	    "is seconds");
	ok(sre_duration_parse("1.5h", &ms) == 0 && ms == 5400000, "1.5h");
	ok(sre_duration_parse("250ms", &ms) == 0 && ms == 250, "250ms");
	ok(sre_duration_parse("-1s", &ms) < 0 && sre_duration_parse("1w", &ms)
	    < 0 && sre_duration_parse("", &ms) < 0 &&
	    sre_duration_parse("99999d", &ms) < 0, "bad durations");
	sre_duration_fmt(3600000, b, sizeof(b));
	ok(strcmp(b, "1h") == 0, "format 1h");
	sre_duration_fmt(90000, b, sizeof(b));
	ok(strcmp(b, "90s") == 0, "format 90s");
	sre_time_fmt(TUE, b, sizeof(b));
	ok(strcmp(b, "2023-11-14T22:13:20Z") == 0, "format a time");
	ok(sre_time_parse("2023-11-14T22:13:20Z", &ms) == 0 && ms == TUE,
	    "parse it back");
	ok(sre_time_parse("2023-11-14T22:13:20.5", &ms) == 0 &&
	    ms == TUE + 500, "a fraction");
	ok(sre_time_parse("2023-11-14", &ms) == 0 && ms == 1699920000000LL,
	    "a date");
	ok(sre_time_parse("2023-13-01", &ms) < 0 &&
	    sre_time_parse("2023-11-14T22", &ms) < 0, "bad times");
}

static void
test_scale_target(void)
{
	jv p = jv_parse("{\"params\":{\"delta\":3}}");

	ok(sre_policy_scale_target(p, 2) == 5, "delta from the current");
	ok(sre_policy_scale_target(p, -1) == 4, "unknown current counts as 1");
	jv_free(p);
}

static void
test_services(void)
{
	struct sre_catalog_limits cl;
	struct sre_policy *p;
	jv problems;

	p = parse("limits:\n  max_replicas: 20\nservices:\n  \"*\":\n"
	    "    config_keys:\n      - LOG_LEVEL\n  db:\n    config_keys: []\n"
	    "    min_replicas: 2\n    max_replicas: 80\n", &problems);
	ok(p != NULL && jv_array_length(jv_copy(problems)) == 0,
	    "services parse");
	jv_free(problems);
	if (p == NULL)
		return;
	ok(jv_array_length(sre_policy_warnings(p)) == 1, "a service's "
	    "max_replicas above 50 is warned about");
	sre_policy_catalog(p, "api", &cl);
	ok(cl.min_replicas == 1 && cl.max_replicas == 20 &&
	    cl.config_keys[0] != NULL && strcmp(cl.config_keys[0],
	    "LOG_LEVEL") == 0 && cl.config_keys[1] == NULL,
	    "\"*\" over the limits");
	sre_policy_catalog(p, "db", &cl);
	ok(cl.min_replicas == 2 && cl.max_replicas == 80 &&
	    cl.config_keys[0] == NULL, "the service's own entry wins");
	sre_policy_free(p);
	p = parse("", &problems);
	jv_free(problems);
	sre_policy_catalog(p, "api", &cl);
	ok(cl.max_replicas == 50 && cl.config_keys[0] != NULL &&
	    strcmp(cl.config_keys[1], "DB_POOL_SIZE") == 0, "built in");
	sre_policy_free(p);
	p = parse("services:\n  \"a b\": {}\n  db:\n    config_keys:\n"
	    "      - db_host\n    min_replicas: 5\n    max_replicas: 3\n"
	    "    replicas: 1\n", &problems);
	ok(p == NULL && jv_array_length(jv_copy(problems)) == 4,
	    "bad services: a name, a key, bounds crossed, an unknown key");
	jv_free(problems);
}

int
main(void)
{
	setenv("SRE_NOW", "1700000000000", 1);
	test_builtins();
	test_rules();
	test_problems();
	test_freeze();
	test_time();
	test_scale_target();
	test_services();
	return tap_done();
}
