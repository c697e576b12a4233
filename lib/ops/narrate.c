/*
 * narrate.c: events in plain words (narrate.h).
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bsd/string.h>

#include "diag.h"
#include "event.h"
#include "narrate.h"

const char *
sre_narrate_dur(double ms, char *buf, size_t len)
{
	if (fabs(ms) < 1000)
		snprintf(buf, len, "%.0f ms", ms);
	else
		snprintf(buf, len, "%.1f s", ms / 1000);
	return buf;
}

const char *
sre_narrate_clock(int64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL || strftime(buf, len, "%H:%M:%S",
	    &tm) == 0)
		snprintf(buf, len, "%lld", (long long)ms);
	return buf;
}

const char *
sre_narrate_value(const char *signal, double v, char *buf, size_t len)
{
	if (signal != NULL && strcmp(signal, "errors") == 0 && v <= 1)
		snprintf(buf, len, "%.1f%%", v * 100);
	else if (signal != NULL && strcmp(signal, "latency") == 0)
		snprintf(buf, len, "%.0f ms", v);
	else if (signal != NULL && strcmp(signal, "throughput") == 0)
		snprintf(buf, len, "%.1f/s", v);
	else
		snprintf(buf, len, "%.3g", v);
	return buf;
}

/* The compact JSON of a member, in buf ("" when missing or null). */
static const char *
json_of(jv obj, const char *key, char *buf, size_t len)
{
	jv m;
	char *s;

	buf[0] = '\0';
	if (jv_get_kind(obj) != JV_KIND_OBJECT)
		return buf;
	m = jv_object_get(jv_copy(obj), jv_string(key));
	if (!jv_is_valid(m) || jv_get_kind(m) == JV_KIND_NULL) {
		jv_free(m);
		return buf;
	}
	if ((s = sre_jv_dump(m, NULL)) != NULL) {
		strlcpy(buf, s, len);
		free(s);
	}
	return buf;
}

const char *
sre_narrate_joined(jv obj, const char *key, const char *sep, char *buf,
    size_t len)
{
	jv a;
	int i, n;

	buf[0] = '\0';
	if (jv_get_kind(obj) != JV_KIND_OBJECT)
		return buf;
	a = jv_object_get(jv_copy(obj), jv_string(key));
	if (jv_get_kind(a) != JV_KIND_ARRAY) {
		jv_free(a);
		return buf;
	}
	n = jv_array_length(jv_copy(a));
	for (i = 0; i < n; i++) {
		jv e = jv_array_get(jv_copy(a), i);

		if (jv_get_kind(e) == JV_KIND_STRING) {
			if (buf[0] != '\0')
				strlcat(buf, sep, len);
			strlcat(buf, jv_string_value(e), len);
		}
		jv_free(e);
	}
	jv_free(a);
	return buf;
}

const char *
sre_narrate_proposal(jv ev, char *buf, size_t len)
{
	jv p = jv_get_kind(ev) == JV_KIND_OBJECT ?
	    jv_object_get(jv_copy(ev), jv_string("proposal")) : jv_null();
	const char *a = sre_jv_str(p, "action"), *t = sre_jv_str(p, "target");
	char params[256];

	json_of(p, "params", params, sizeof(params));
	snprintf(buf, len, "%s %s%s%s", a ? a : "?", t ? t : "?",
	    strcmp(params, "{}") == 0 || params[0] == '\0' ? "" : " ",
	    strcmp(params, "{}") == 0 ? "" : params);
	jv_free(p);
	return buf;
}

/* ---- one event ---------------------------------------------------------- */

struct out {
	sre_say_fn say;
	void *ctx;
	char when[16];
	int n;
};

static void line(struct out *o, const char *fmt, ...) SRE_PRINTF(2, 3);

/* Blank out what a terminal would obey: C0 controls, DEL, and the C1
 * controls as UTF-8 (C2 80 to C2 9F).  Event fields are untrusted. */
static void
defang(char *s)
{
	unsigned char *p;

	for (p = (unsigned char *)s; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			*p = ' ';
		else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			p[0] = ' ';
			p[1] = ' ';
			p++;
		}
}

/* One line: the event's time, then the text (a continuation when it
 * starts with blanks). */
static void
line(struct out *o, const char *fmt, ...)
{
	char text[2048], buf[2100];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	snprintf(buf, sizeof(buf), "%-8s %s", o->n == 0 ? o->when : "", text);
	defang(buf);
	o->say(o->ctx, buf);
	o->n++;
}

static const char *
str(jv ev, const char *key)
{
	const char *s = sre_jv_str(ev, key);

	return s != NULL ? s : "?";
}

/* "SERVICE OPERATION" or "SERVICE" of an object, in buf. */
static const char *
where(jv obj, char *buf, size_t len)
{
	const char *op = sre_jv_str(obj, "operation");

	snprintf(buf, len, "%s%s%s", str(obj, "service"), op ? " " : "",
	    op ? op : "");
	return buf;
}

static void
anomaly(struct out *o, jv ev)
{
	const char *sig = sre_jv_str(ev, "signal");
	double obs = 0, base = 0, score = 0;
	char w[256], a[32], b[32];

	sre_jv_num(ev, "observed", &obs);
	sre_jv_num(ev, "baseline", &base);
	sre_jv_num(ev, "score", &score);
	line(o, "anomaly: %s %s %s against a baseline of %s (score %.1f), "
	    "incident %s", where(ev, w, sizeof(w)), sig ? sig : "?",
	    sre_narrate_value(sig, obs, a, sizeof(a)),
	    sre_narrate_value(sig, base, b, sizeof(b)), score,
	    str(ev, "incident"));
}

static void
recovery(struct out *o, jv ev)
{
	int64_t left = -1;
	char w[256];

	if (sre_jv_int(ev, "remaining", &left) == 0 && left == 0)
		line(o, "recovery: %s back to normal; every series of incident "
		    "%s is back to its baseline", where(ev, w, sizeof(w)),
		    str(ev, "incident"));
	else if (left > 0)
		line(o, "recovery: %s back to normal (%lld series of incident "
		    "%s still anomalous)", where(ev, w, sizeof(w)),
		    (long long)left, str(ev, "incident"));
	else
		line(o, "recovery: %s back to normal, incident %s",
		    where(ev, w, sizeof(w)), str(ev, "incident"));
}

static void
diagnosis(struct out *o, jv ev)
{
	const char *src = sre_jv_str(ev, "source");
	double conf = 0;
	char p[512], mem[512], w[256];
	jv rc, top;

	sre_jv_num(ev, "confidence", &conf);
	sre_narrate_proposal(ev, p, sizeof(p));
	sre_narrate_joined(ev, "memory", ", ", mem, sizeof(mem));
	if (src != NULL && strcmp(src, "sre-cag") == 0) {
		line(o, "known fix (sre-cag, from memory) for incident %s: "
		    "fingerprint %s, confidence %.3f", str(ev, "incident"),
		    str(ev, "fingerprint"), conf);
		line(o, "  proposal: %s", p);
		return;
	}
	rc = jv_object_get(jv_copy(ev), jv_string("root_causes"));
	top = jv_get_kind(rc) == JV_KIND_ARRAY && jv_array_length(jv_copy(rc))
	    > 0 ? jv_array_get(jv_copy(rc), 0) : jv_null();
	jv_free(rc);
	line(o, "root cause (%s) of incident %s: %s (%s), confidence %.3f",
	    src ? src : "?", str(ev, "incident"), where(top, w, sizeof(w)),
	    sre_jv_str(top, "kind") ? sre_jv_str(top, "kind") : "cause",
	    conf);
	if (sre_jv_str(top, "reason") != NULL)
		line(o, "  why: %s", sre_jv_str(top, "reason"));
	else if (sre_jv_str(ev, "summary") != NULL)
		line(o, "  why: %s", sre_jv_str(ev, "summary"));
	if (mem[0] != '\0')
		line(o, "  similar past incidents: %s", mem);
	line(o, "  proposal: %s", p);
	jv_free(top);
}

static void
verdict(struct out *o, jv ev)
{
	char rules[256], reasons[1024];
	jv dry = jv_object_get(jv_copy(ev), jv_string("dry_run"));

	sre_narrate_joined(ev, "rules", ", ", rules, sizeof(rules));
	sre_narrate_joined(ev, "reasons", "; ", reasons, sizeof(reasons));
	line(o, "verdict (sre-guard) on incident %s: %s%s; rules fired: %s; "
	    "reasons: %s", str(ev, "incident"), str(ev, "decision"),
	    jv_get_kind(dry) == JV_KIND_TRUE ? " (dry run)" : "",
	    rules[0] ? rules : "none", reasons[0] ? reasons : "none");
	jv_free(dry);
}

static void
action(struct out *o, jv ev)
{
	const char *st = sre_jv_str(ev, "status");
	const char *commit = sre_jv_str(ev, "commit");
	const char *url = sre_jv_str(ev, "pr_url");
	jv merged = jv_object_get(jv_copy(ev), jv_string("merged"));

	if (commit != NULL)
		line(o, "fix (sre-fix) for incident %s: %s, commit %.7s on "
		    "branch %s%s of %s: %s", str(ev, "incident"),
		    st ? st : "?", commit, str(ev, "branch"),
		    jv_get_kind(merged) == JV_KIND_TRUE ? ", merged" : "",
		    str(ev, "repo"), str(ev, "detail"));
	else
		line(o, "fix (sre-fix) for incident %s: %s: %s",
		    str(ev, "incident"), st ? st : "?", str(ev, "detail"));
	if (url != NULL)
		line(o, "  pull request: %s", url);
	jv_free(merged);
}

static void
escalation(struct out *o, jv ev)
{
	jv d = jv_object_get(jv_copy(ev), jv_string("delivered"));

	line(o, "escalation (sre-escalate) of incident %s by %s%s: %s",
	    str(ev, "incident"), str(ev, "channel"),
	    jv_get_kind(d) == JV_KIND_FALSE ? " (not delivered)" : "",
	    str(ev, "reason"));
	jv_free(d);
}

static void
postmortem(struct out *o, jv ev)
{
	double mttr = -1, fix = -1, det = -1;
	char a[32], b[32], c[32];

	sre_jv_num(ev, "mttr_ms", &mttr);
	sre_jv_num(ev, "fix_ms", &fix);
	sre_jv_num(ev, "detect_ms", &det);
	line(o, "post-mortem (sre-curate) of incident %s: %s; MTTR %s, time "
	    "to fix %s, time to detect %s", str(ev, "incident"),
	    str(ev, "outcome"), mttr >= 0 ? sre_narrate_dur(mttr, a,
	    sizeof(a)) : "n/a", fix >= 0 ? sre_narrate_dur(fix, b,
	    sizeof(b)) : "n/a", det >= 0 ? sre_narrate_dur(det, c,
	    sizeof(c)) : "n/a");
	if (sre_jv_str(ev, "path") != NULL)
		line(o, "  %s", sre_jv_str(ev, "path"));
}

static void
governor(struct out *o, jv ev)
{
	double rss = -1, thr = -1;

	sre_jv_num(ev, "rss_bytes", &rss);
	sre_jv_num(ev, "threshold_bytes", &thr);
	if (thr > 0)
		line(o, "governor (sre-govern): %s, %.0f MB of %.0f MB",
		    str(ev, "mode"), rss / 1048576, thr / 1048576);
	else
		line(o, "governor (sre-govern): %s, %.0f MB", str(ev, "mode"),
		    rss / 1048576);
}

int
sre_narrate_event(jv ev, int verbose, sre_say_fn say, void *ctx)
{
	struct out o = { say, ctx, "", 0 };
	const char *type = sre_jv_str(ev, "type");
	int64_t ts = 0;

	if (type == NULL)
		return 0;
	if (sre_jv_int(ev, "ts_ms", &ts) == 0)
		sre_narrate_clock(ts, o.when, sizeof(o.when));
	else
		strlcpy(o.when, "?", sizeof(o.when));
	if (strcmp(type, "anomaly") == 0)
		anomaly(&o, ev);
	else if (strcmp(type, "recovery") == 0)
		recovery(&o, ev);
	else if (strcmp(type, "diagnosis") == 0)
		diagnosis(&o, ev);
	else if (strcmp(type, "verdict") == 0)
		verdict(&o, ev);
	else if (strcmp(type, "action") == 0)
		action(&o, ev);
	else if (strcmp(type, "escalation") == 0)
		escalation(&o, ev);
	else if (strcmp(type, "postmortem") == 0)
		postmortem(&o, ev);
	else if (strcmp(type, "governor") == 0)
		governor(&o, ev);
	else if (strcmp(type, "audit") == 0)
		line(&o, "audit (sre-jules): %s %s on %s: %s",
		    str(ev, "severity"), str(ev, "finding"),
		    str(ev, "subject"), str(ev, "detail"));
	else if (strcmp(type, "error") == 0)
		line(&o, "error (%s): %s", str(ev, "source"),
		    str(ev, "detail"));
	else if (strcmp(type, "topology") != 0 || verbose)
		line(&o, "%s (%s)", type, str(ev, "source"));
	return o.n;
}
