/*
 * audit.c: the architecture audit: incidents, topology and manifests in,
 * findings out (see audit.h).
 *
 * Reading only gathers facts per incident (struct inc) and per call edge;
 * every finding is worked out at the end over the incidents of the window,
 * in time order, so the order in which a store and a recording deliver
 * their events changes nothing.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "audit.h"
#include "event.h"
#include "evtime.h"
#include "sbuf.h"
#include "yamlset.h"

#define NONE INT64_MAX		/* a time not seen */
#define MANIFEST_MAX (4 * 1024 * 1024)
#define LIST_MAX 5		/* incident ids shown per finding */

/* What one incident told us. */
struct inc {
	char *id;
	int64_t first_ms;	/* its first event */
	int64_t anomaly_ms;	/* its first anomaly */
	int64_t recovered_ms;	/* its first recovery */
	int64_t fixed_ms;	/* its first fix committed or in a PR */
	int64_t pm_mttr;	/* a postmortem's mttr_ms, -1 none */
	int64_t diag_ms;	/* the diagnosis whose root cause we keep */
	int64_t approve_ms;	/* the approval whose proposal we keep */
	char *service;		/* of the first anomaly */
	char *fingerprint;	/* of the first anomaly */
	char *diag_fp;		/* of the diagnosis, when no anomaly has one */
	char *root;		/* top root cause of the latest diagnosis */
	char *outcome;		/* a postmortem's */
	jv proposal;		/* approved verdict's, else the diagnosis' */
	int approve, veto, escalate, escalations, acted, cag;
	int llm_calls, llm_fallbacks;
	int64_t prompt_tokens, completion_tokens;
	double llm_latency_ms;
	jv models;		/* model -> calls */
	jv detectors;		/* "service/signal" -> anomalies */
	jv veto_rules;		/* rule -> vetoes it fired in */
};

struct sre_audit {
	struct sre_audit_limits lim;
	int64_t now_ms, since_ms;
	jv seen;		/* event id -> true */
	jv index;		/* incident id -> position in incs */
	struct inc *incs;
	size_t ninc, cap;
	jv edges;		/* callee -> caller -> {calls, errors} */
	jv replicas;		/* service -> {replicas, path} */
	jv manifest_findings;	/* found while reading manifests */
	unsigned long long events, duplicates, topology, manifests;
};

/* ---- limits and severities ----------------------------------------- */

void
sre_audit_limits_init(struct sre_audit_limits *l)
{
	l->window_ms = 7LL * 86400000;
	l->chronic = 3;
	l->fan_in = 2;
	l->noisy = 5;
	l->noisy_ratio = 0.1;
	l->mttr_growth = 1.5;
	l->mttr_min = 2;
	l->mttr_slow_s = 1800;
	l->llm_tokens = 20000;
	l->llm_usd_per_mtok = 0;
	l->veto_ratio = 0.5;
	l->veto_min = 4;
}

int
sre_audit_limit_set(struct sre_audit_limits *l, const char *assign,
    char *err, size_t errlen)
{
	static const struct {
		const char *name;
		size_t off;
		double min, max;
	} tab[] = {
#define LIM(m, lo, hi) { #m, offsetof(struct sre_audit_limits, m), lo, hi }
		LIM(chronic, 1, 1e9),
		LIM(fan_in, 1, 1e9),
		LIM(llm_tokens, 0, 1e15),
		LIM(llm_usd_per_mtok, 0, 1e9),
		LIM(mttr_growth, 1, 1e9),
		LIM(mttr_min, 1, 1e9),
		LIM(mttr_slow_s, 0, 1e9),
		LIM(noisy, 1, 1e9),
		LIM(noisy_ratio, 0, 1),
		LIM(veto_min, 1, 1e9),
		LIM(veto_ratio, 0, 1),
#undef LIM
	};
	const char *eq = strchr(assign, '='), *val;
	size_t n, i;
	char *end;
	double d;
	int64_t ms;

	if (eq == NULL || eq == assign) {
		snprintf(err, errlen, "%s: want NAME=VALUE", assign);
		return -1;
	}
	n = (size_t)(eq - assign);
	val = eq + 1;
	if (n == 6 && strncmp(assign, "window", n) == 0) {
		if (sre_duration_parse(val, &ms) < 0) {
			snprintf(err, errlen, "%s: want a duration such as 7d",
			    assign);
			return -1;
		}
		l->window_ms = ms;
		return 0;
	}
	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		if (strlen(tab[i].name) != n ||
		    strncmp(tab[i].name, assign, n) != 0)
			continue;
		errno = 0;
		d = strtod(val, &end);
		if (strcmp(tab[i].name, "mttr_slow_s") == 0 && *val != '\0' &&
		    *end != '\0' && sre_duration_parse(val, &ms) == 0) {
			d = (double)ms / 1000;	/* "30m" */
			end = (char *)val + strlen(val);
		}
		if (errno != 0 || end == val || *end != '\0' || !isfinite(d) ||
		    d < tab[i].min || d > tab[i].max) {
			snprintf(err, errlen, "%s: want a number from %g to %g",
			    assign, tab[i].min, tab[i].max);
			return -1;
		}
		*(double *)(void *)((char *)l + tab[i].off) = d;
		return 0;
	}
	snprintf(err, errlen, "%.*s: no such threshold", (int)n, assign);
	return -1;
}

int
sre_audit_severity(const char *name)
{
	if (name == NULL)
		return -1;
	if (strcmp(name, "info") == 0)
		return SRE_SEV_INFO;
	if (strcmp(name, "warning") == 0)
		return SRE_SEV_WARNING;
	if (strcmp(name, "critical") == 0)
		return SRE_SEV_CRITICAL;
	return -1;
}

const char *
sre_audit_severity_name(int sev)
{
	switch (sev) {
	case SRE_SEV_CRITICAL:
		return "critical";
	case SRE_SEV_WARNING:
		return "warning";
	default:
		return "info";
	}
}

/* ---- small jv helpers ---------------------------------------------- */

static double
num_or(jv o, const char *k, double dflt)
{
	double d;

	return sre_jv_num(o, k, &d) == 0 && isfinite(d) ? d : dflt;
}

/* o with member k increased by d (missing: 0).  Consumes o. */
static jv
bump(jv o, const char *k, double d)
{
	return jv_object_set(o, jv_string(k), jv_number(num_or(o, k, 0) + d));
}

static jv
set(jv o, const char *k, jv v)
{
	return jv_object_set(o, jv_string(k), v);
}

static jv
num(double d)
{
	return jv_number(d);
}

/* The key of the largest number in o (borrowed) as a jv string, ties
 * going to the first key in sorted order; jv_null() for an empty object. */
static jv
top_key(jv o, double *count)
{
	jv keys = jv_keys(jv_copy(o)), best = jv_null();
	double bn = -1;
	int i, n = jv_array_length(jv_copy(keys));

	for (i = 0; i < n; i++) {
		jv k = jv_array_get(jv_copy(keys), i);
		double v = num_or(o, jv_string_value(k), 0);

		if (v > bn) {
			bn = v;
			jv_free(best);
			best = k;
		} else {
			jv_free(k);
		}
	}
	jv_free(keys);
	if (count != NULL)
		*count = bn < 0 ? 0 : bn;
	return best;
}

/* The text of a string jv (borrowed), NULL for anything else. */
static const char *
str_or_null(jv s)
{
	return jv_get_kind(s) == JV_KIND_STRING ? jv_string_value(s) : NULL;
}

/* Replace *dst with a copy of s (s may be NULL: nothing changes). */
static int
keep(char **dst, const char *s)
{
	char *c;

	if (s == NULL || *s == '\0')
		return 0;
	if ((c = strdup(s)) == NULL)
		return -1;
	free(*dst);
	*dst = c;
	return 0;
}

/* "1.5s", "5m30s", "2h05m", "3d04h". */
static void
dur(int64_t ms, char *buf, size_t len)
{
	if (ms < 0)
		ms = 0;
	if (ms < 1000)
		snprintf(buf, len, "%lldms", (long long)ms);
	else if (ms < 60000)
		snprintf(buf, len, "%.3gs", (double)ms / 1000);
	else if (ms < 3600000)
		snprintf(buf, len, "%lldm%02llds", (long long)(ms / 60000),
		    (long long)(ms / 1000 % 60));
	else if (ms < 86400000)
		snprintf(buf, len, "%lldh%02lldm", (long long)(ms / 3600000),
		    (long long)(ms / 60000 % 60));
	else
		snprintf(buf, len, "%lldd%02lldh", (long long)(ms / 86400000),
		    (long long)(ms / 3600000 % 24));
}

/* The audited window in words: "7d", or "all time". */
static void
window_words(const struct sre_audit *a, char *buf, size_t len)
{
	if (a->lim.window_ms > 0)
		sre_duration_fmt(a->lim.window_ms, buf, len);
	else
		snprintf(buf, len, "all time");
}

/* "scale pricing-engine" for a proposal (borrowed). Consumes nothing. */
static jv
proposal_text(jv p)
{
	const char *act = sre_jv_str(p, "action"), *tgt = sre_jv_str(p, "target");

	if (act == NULL)
		return jv_string("an unnamed fix");
	return tgt != NULL ? jv_string_fmt("%s %s", act, tgt) :
	    jv_string(act);
}

/* ---- the audit ----------------------------------------------------- */

struct sre_audit *
sre_audit_new(const struct sre_audit_limits *lim, int64_t now_ms)
{
	struct sre_audit *a = calloc(1, sizeof(*a));

	if (a == NULL)
		return NULL;
	a->lim = *lim;
	a->now_ms = now_ms;
	a->since_ms = lim->window_ms > 0 ? now_ms - lim->window_ms : INT64_MIN;
	a->seen = jv_object();
	a->index = jv_object();
	a->edges = jv_object();
	a->replicas = jv_object();
	a->manifest_findings = jv_array();
	return a;
}

static void
inc_free(struct inc *i)
{
	free(i->id);
	free(i->service);
	free(i->fingerprint);
	free(i->diag_fp);
	free(i->root);
	free(i->outcome);
	jv_free(i->proposal);
	jv_free(i->models);
	jv_free(i->detectors);
	jv_free(i->veto_rules);
}

void
sre_audit_free(struct sre_audit *a)
{
	size_t i;

	if (a == NULL)
		return;
	for (i = 0; i < a->ninc; i++)
		inc_free(&a->incs[i]);
	free(a->incs);
	jv_free(a->seen);
	jv_free(a->index);
	jv_free(a->edges);
	jv_free(a->replicas);
	jv_free(a->manifest_findings);
	free(a);
}

static struct inc *
inc_get(struct sre_audit *a, const char *id)
{
	jv pos = sre_jv_get(a->index, id);
	struct inc *i;

	if (jv_get_kind(pos) == JV_KIND_NUMBER) {
		i = &a->incs[(size_t)jv_number_value(pos)];
		jv_free(pos);
		return i;
	}
	jv_free(pos);
	if (a->ninc == a->cap) {
		struct inc *n = sre_grow(a->incs, &a->cap, sizeof(*n), 64);

		if (n == NULL)
			return NULL;
		a->incs = n;
	}
	i = &a->incs[a->ninc];
	memset(i, 0, sizeof(*i));
	if ((i->id = strdup(id)) == NULL)
		return NULL;
	i->first_ms = i->anomaly_ms = i->recovered_ms = i->fixed_ms = NONE;
	i->diag_ms = i->approve_ms = INT64_MIN;
	i->pm_mttr = -1;
	i->proposal = jv_null();
	i->models = jv_object();
	i->detectors = jv_object();
	i->veto_rules = jv_object();
	a->index = set(a->index, id, num((double)a->ninc));
	a->ninc++;
	return i;
}

static void
take_topology(struct sre_audit *a, jv ev, int64_t ts)
{
	jv edges = sre_jv_get(ev, "edges");
	int i, n;

	if (ts < a->since_ms || jv_get_kind(edges) != JV_KIND_ARRAY) {
		jv_free(edges);
		return;
	}
	a->topology++;
	n = jv_array_length(jv_copy(edges));
	for (i = 0; i < n; i++) {
		jv e = jv_array_get(jv_copy(edges), i);
		const char *from = sre_jv_str(e, "from"), *to = sre_jv_str(e, "to");

		if (from != NULL && to != NULL && *from && *to &&
		    strcmp(from, to) != 0) {
			jv callers = sre_jv_get(a->edges, to), c;

			if (jv_get_kind(callers) != JV_KIND_OBJECT) {
				jv_free(callers);
				callers = jv_object();
			}
			c = sre_jv_get(callers, from);
			if (jv_get_kind(c) != JV_KIND_OBJECT) {
				jv_free(c);
				c = jv_object();
			}
			c = bump(c, "calls", num_or(e, "calls", 0));
			c = bump(c, "errors", num_or(e, "errors", 0));
			callers = set(callers, from, c);
			a->edges = set(a->edges, to, callers);
		}
		jv_free(e);
	}
	jv_free(edges);
}

static int
take_llm(struct inc *i, jv llm)
{
	const char *status = sre_jv_str(llm, "status");
	const char *model = sre_jv_str(llm, "model");
	double p = num_or(llm, "prompt_tokens", -1);
	double c = num_or(llm, "completion_tokens", -1);
	double t = num_or(llm, "total_tokens", -1);

	if (p < 0 && c < 0 && t >= 0)
		p = t;	/* only the total is known */
	if ((status != NULL && strcmp(status, "ok") == 0) || p > 0 || c > 0) {
		i->llm_calls++;
		i->prompt_tokens += p > 0 ? (int64_t)p : 0;
		i->completion_tokens += c > 0 ? (int64_t)c : 0;
		i->llm_latency_ms += num_or(llm, "latency_ms", 0);
		i->models = bump(i->models, model ? model : "unknown", 1);
	} else if (status != NULL) {
		i->llm_fallbacks++;
	}
	return 0;
}

static int
take_incident_event(struct sre_audit *a, const char *type, jv ev,
    int64_t ts)
{
	struct inc *i = inc_get(a, sre_jv_str(ev, "incident"));
	const char *s;
	jv v;

	if (i == NULL)
		return -1;
	if (ts < i->first_ms)
		i->first_ms = ts;
	if (strcmp(type, "anomaly") == 0) {
		const char *svc = sre_jv_str(ev, "service");
		const char *sig = sre_jv_str(ev, "signal");
		jv key = jv_string_fmt("%s/%s", svc && *svc ? svc : "?",
		    sig && *sig ? sig : "?");

		i->detectors = bump(i->detectors, jv_string_value(key), 1);
		jv_free(key);
		if (ts < i->anomaly_ms) {
			i->anomaly_ms = ts;
			if (keep(&i->service, svc) < 0 ||
			    keep(&i->fingerprint, sre_jv_str(ev,
			    "fingerprint")) < 0)
				return -1;
		}
	} else if (strcmp(type, "recovery") == 0) {
		if (ts < i->recovered_ms)
			i->recovered_ms = ts;
	} else if (strcmp(type, "diagnosis") == 0) {
		if ((s = sre_jv_str(ev, "source")) != NULL &&
		    strcmp(s, "sre-cag") == 0)
			i->cag = 1;
		v = sre_jv_get(ev, "llm");
		if (jv_get_kind(v) == JV_KIND_OBJECT)
			take_llm(i, v);
		jv_free(v);
		if (ts >= i->diag_ms) {
			jv rc = sre_jv_get(ev, "root_causes");

			i->diag_ms = ts;
			if (jv_get_kind(rc) == JV_KIND_ARRAY &&
			    jv_array_length(jv_copy(rc)) > 0) {
				jv top = jv_array_get(jv_copy(rc), 0);
				int r = keep(&i->root, sre_jv_str(top,
				    "service"));

				jv_free(top);
				if (r < 0) {
					jv_free(rc);
					return -1;
				}
			}
			jv_free(rc);
			if (keep(&i->diag_fp, sre_jv_str(ev, "fingerprint")) < 0)
				return -1;
			v = sre_jv_get(ev, "proposal");
			if (i->approve_ms == INT64_MIN &&
			    jv_get_kind(v) == JV_KIND_OBJECT) {
				jv_free(i->proposal);
				i->proposal = v;
			} else {
				jv_free(v);
			}
		}
	} else if (strcmp(type, "verdict") == 0) {
		s = sre_jv_str(ev, "decision");
		if (s != NULL && strcmp(s, "approve") == 0) {
			i->approve++;
			i->acted = 1;
			v = sre_jv_get(ev, "proposal");
			if (ts >= i->approve_ms && jv_get_kind(v) ==
			    JV_KIND_OBJECT) {
				i->approve_ms = ts;
				jv_free(i->proposal);
				i->proposal = v;
			} else {
				jv_free(v);
			}
		} else if (s != NULL && strcmp(s, "veto") == 0) {
			i->veto++;
			v = sre_jv_get(ev, "rules");
			if (jv_get_kind(v) == JV_KIND_ARRAY) {
				jv_array_foreach(v, k, r) {
					if (jv_get_kind(r) == JV_KIND_STRING)
						i->veto_rules = bump(
						    i->veto_rules,
						    jv_string_value(r), 1);
					jv_free(r);
					(void)k;
				}
			}
			jv_free(v);
		} else if (s != NULL && strcmp(s, "escalate") == 0) {
			i->escalate++;
			i->acted = 1;
		}
	} else if (strcmp(type, "action") == 0) {
		s = sre_jv_str(ev, "status");
		if (s != NULL && (strcmp(s, "committed") == 0 ||
		    strcmp(s, "pr_opened") == 0) && ts < i->fixed_ms)
			i->fixed_ms = ts;
		if (s == NULL || strcmp(s, "skipped") != 0)
			i->acted = 1;
	} else if (strcmp(type, "escalation") == 0) {
		i->escalations++;
		i->acted = 1;
	} else if (strcmp(type, "postmortem") == 0) {
		int64_t m;

		if (sre_jv_int(ev, "mttr_ms", &m) == 0 && m >= 0)
			i->pm_mttr = m;
		if (keep(&i->outcome, sre_jv_str(ev, "outcome")) < 0)
			return -1;
	}
	return 1;
}

int
sre_audit_event(struct sre_audit *a, jv ev)
{
	static const char *const facts[] = {
		"anomaly", "recovery", "diagnosis", "verdict", "action",
		"escalation", "postmortem", "topology", NULL
	};
	const char *type = sre_jv_str(ev, "type"), *id = sre_jv_str(ev, "id");
	int64_t ts = 0;
	int k, rc;

	if (type == NULL)
		return 0;
	for (k = 0; facts[k] != NULL; k++)
		if (strcmp(type, facts[k]) == 0)
			break;
	if (facts[k] == NULL)
		return 0;
	if (id != NULL) {
		if (jv_object_has(jv_copy(a->seen), jv_string(id))) {
			a->duplicates++;
			return 0;
		}
		a->seen = set(a->seen, id, jv_true());
	}
	sre_jv_int(ev, "ts_ms", &ts);
	if (strcmp(type, "topology") == 0) {
		take_topology(a, ev, ts);
		a->events++;
		return 1;
	}
	if (sre_jv_str(ev, "incident") == NULL ||
	    *sre_jv_str(ev, "incident") == '\0')
		return 0;
	if ((rc = take_incident_event(a, type, ev, ts)) > 0)
		a->events++;
	return rc;
}

/* ---- manifests ----------------------------------------------------- */

static jv
finding(const char *name, int sev, const char *subject, jv detail,
    jv evidence, jv recommendation)
{
	jv f = jv_object();

	f = set(f, "finding", jv_string(name));
	f = set(f, "severity", jv_string(sre_audit_severity_name(sev)));
	f = set(f, "subject", jv_string(subject));
	f = set(f, "detail", detail);
	f = set(f, "evidence", evidence);
	f = set(f, "recommendation", recommendation);
	return f;
}

static int
has_member(jv o, const char *path)
{
	char buf[128], *p, *save = buf;
	jv cur = jv_copy(o);
	int ok = 1;

	snprintf(buf, sizeof(buf), "%s", path);
	while (ok && (p = strsep(&save, ".")) != NULL) {
		jv next = sre_jv_get(cur, p);

		jv_free(cur);
		cur = next;
		ok = jv_get_kind(cur) != JV_KIND_INVALID &&
		    jv_get_kind(cur) != JV_KIND_NULL;
	}
	jv_free(cur);
	return ok;
}

static void
manifest_invalid(struct sre_audit *a, const char *service, const char *path,
    const char *why)
{
	jv ev = jv_object();

	ev = set(ev, "file", jv_string(path));
	ev = set(ev, "error", jv_string(why));
	a->manifest_findings = jv_array_append(a->manifest_findings,
	    finding("manifest_invalid", SRE_SEV_WARNING, service,
	    jv_string_fmt("%s cannot be read as a Kubernetes manifest: %s",
	    path, why), ev, jv_string("Fix the manifest: kubectl refuses it, "
	    "sre-fix cannot edit it, and the audit cannot check it.")));
}

/* What container c of a manifest lacks (limits and requests, probes):
 * appended to *lim_list and *probe_list, the worst severity of each in
 * *lim_sev and *probe_sev.  Borrows c. */
static void
check_container(jv c, jv *lim_list, int *lim_sev, jv *probe_list,
    int *probe_sev)
{
	jv miss = jv_array(), pmiss = jv_array();
	const char *name = sre_jv_str(c, "name");

	if (!has_member(c, "resources.limits.memory")) {
		miss = jv_array_append(miss,
		    jv_string("limits.memory"));
		*lim_sev = SRE_SEV_WARNING;
	}
	if (!has_member(c, "resources.requests.cpu"))
		miss = jv_array_append(miss, jv_string("requests.cpu"));
	if (!has_member(c, "resources.requests.memory"))
		miss = jv_array_append(miss,
		    jv_string("requests.memory"));
	if (jv_array_length(jv_copy(miss)) > 0) {
		if (*lim_sev < 0)
			*lim_sev = SRE_SEV_INFO;
		*lim_list = jv_array_append(*lim_list, set(set(jv_object(),
		    "container", jv_string(name ? name : "?")),
		    "missing", miss));
	} else {
		jv_free(miss);
	}
	if (!has_member(c, "readinessProbe")) {
		pmiss = jv_array_append(pmiss,
		    jv_string("readinessProbe"));
		*probe_sev = SRE_SEV_WARNING;
	}
	if (!has_member(c, "livenessProbe"))
		pmiss = jv_array_append(pmiss,
		    jv_string("livenessProbe"));
	if (jv_array_length(jv_copy(pmiss)) > 0) {
		if (*probe_sev < 0)
			*probe_sev = SRE_SEV_INFO;
		*probe_list = jv_array_append(*probe_list, set(set(
		    jv_object(), "container", jv_string(name ? name :
		    "?")), "missing", pmiss));
	} else {
		jv_free(pmiss);
	}
}

int
sre_audit_manifest(struct sre_audit *a, const char *service,
    const char *path, const char *text, size_t len, char *err,
    size_t errlen)
{
	jv doc, containers, lim_list = jv_array(), probe_list = jv_array();
	const char *kind;
	int lim_sev = -1, probe_sev = -1, i, n;

	doc = sre_yaml_to_jv(text, len, 0, err, errlen);
	if (!jv_is_valid(doc)) {
		jv_free(doc);
		manifest_invalid(a, service, path, err);
		jv_free(lim_list);
		jv_free(probe_list);
		return -1;
	}
	kind = sre_jv_str(doc, "kind");
	if (kind == NULL || (strcmp(kind, "Deployment") != 0 &&
	    strcmp(kind, "StatefulSet") != 0 &&
	    strcmp(kind, "DaemonSet") != 0)) {
		jv_free(doc);
		jv_free(lim_list);
		jv_free(probe_list);
		return 0;
	}
	a->manifests++;
	if (strcmp(kind, "DaemonSet") != 0) {
		jv spec = sre_jv_get(doc, "spec"), r = jv_object();
		double reps = 1;	/* Kubernetes' default */

		if (has_member(spec, "replicas"))
			reps = num_or(spec, "replicas", -1);
		jv_free(spec);
		r = set(r, "replicas", num(reps));
		r = set(r, "file", jv_string(path));
		a->replicas = set(a->replicas, service, r);
	}
	containers = sre_jv_get(doc, "spec");
	containers = jv_get_kind(containers) == JV_KIND_OBJECT ?
	    jv_object_get(containers, jv_string("template")) : containers;
	containers = jv_get_kind(containers) == JV_KIND_OBJECT ?
	    jv_object_get(containers, jv_string("spec")) : containers;
	containers = jv_get_kind(containers) == JV_KIND_OBJECT ?
	    jv_object_get(containers, jv_string("containers")) : containers;
	if (jv_get_kind(containers) != JV_KIND_ARRAY ||
	    (n = jv_array_length(jv_copy(containers))) == 0) {
		snprintf(err, errlen, "a %s without "
		    "spec.template.spec.containers", kind);
		jv_free(containers);
		jv_free(doc);
		jv_free(lim_list);
		jv_free(probe_list);
		manifest_invalid(a, service, path, err);
		return -1;
	}
	for (i = 0; i < n; i++) {
		jv c = jv_array_get(jv_copy(containers), i);

		check_container(c, &lim_list, &lim_sev, &probe_list,
		    &probe_sev);
		jv_free(c);
	}
	jv_free(containers);
	jv_free(doc);
	if (lim_sev >= 0) {
		jv ev = set(set(jv_object(), "file", jv_string(path)),
		    "containers", jv_copy(lim_list));
		a->manifest_findings = jv_array_append(a->manifest_findings,
		    finding("missing_limits", lim_sev, service, lim_sev ==
		    SRE_SEV_WARNING ? jv_string_fmt("%s runs without a memory "
		    "limit (%s)", service, path) : jv_string_fmt("%s does not "
		    "request the CPU and memory it needs (%s)", service, path),
		    ev, jv_string_fmt("Set resources.limits.memory and "
		    "resources.requests (cpu, memory) on every container of %s "
		    "in %s: without a limit one leak takes the node's memory "
		    "and its neighbours with it, and without requests the "
		    "scheduler places pods blind.", service, path)));
	}
	if (probe_sev >= 0) {
		jv ev = set(set(jv_object(), "file", jv_string(path)),
		    "containers", jv_copy(probe_list));
		a->manifest_findings = jv_array_append(a->manifest_findings,
		    finding("missing_probes", probe_sev, service, probe_sev ==
		    SRE_SEV_WARNING ? jv_string_fmt("%s has no readiness probe "
		    "(%s): traffic reaches pods that cannot serve", service,
		    path) : jv_string_fmt("%s has no liveness probe (%s): a "
		    "stuck pod is never restarted", service, path), ev,
		    jv_string_fmt("Add a readinessProbe (traffic only to pods "
		    "that can serve) and a livenessProbe (restart a stuck pod) "
		    "to every container of %s in %s; rollouts that sre-fix "
		    "starts and the recoveries sre-scout verifies rely on "
		    "them.", service, path)));
	}
	jv_free(lim_list);
	jv_free(probe_list);
	return 1;
}

static int
read_file(const char *path, char **text, size_t *len)
{
	FILE *fp = fopen(path, "re");
	struct stat sb;
	size_t n;
	char *buf;

	if (fp == NULL)
		return -1;
	if (fstat(fileno(fp), &sb) < 0 || sb.st_size > MANIFEST_MAX) {
		if (errno == 0 || sb.st_size > MANIFEST_MAX)
			errno = EFBIG;
		fclose(fp);
		return -1;
	}
	if ((buf = malloc((size_t)sb.st_size + 1)) == NULL) {
		fclose(fp);
		return -1;
	}
	n = fread(buf, 1, (size_t)sb.st_size, fp);
	if (ferror(fp)) {
		free(buf);
		fclose(fp);
		errno = EIO;
		return -1;
	}
	fclose(fp);
	buf[n] = '\0';
	*text = buf;
	*len = n;
	return 0;
}

static int
dot_filter(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

int
sre_audit_repo(struct sre_audit *a, const char *dir, char *err,
    size_t errlen)
{
	static const char *const names[] = { "deployment.yaml",
		"deployment.yml", NULL };
	struct dirent **list;
	char path[4096], shown[4096], merr[512];
	int i, n, k, taken = 0, rc = 0, saved = 0;

	if (snprintf(path, sizeof(path), "%s/services", dir) >=
	    (int)sizeof(path)) {
		snprintf(err, errlen, "%s: path too long", dir);
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((n = scandir(path, &list, dot_filter, alphasort)) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		const char *svc = list[i]->d_name;

		for (k = 0; rc == 0 && names[k] != NULL; k++) {
			char *text;
			size_t len;
			struct stat sb;

			if (snprintf(path, sizeof(path), "%s/services/%s/%s",
			    dir, svc, names[k]) >= (int)sizeof(path) ||
			    snprintf(shown, sizeof(shown), "services/%s/%s",
			    svc, names[k]) >= (int)sizeof(shown))
				continue;
			if (stat(path, &sb) < 0 || !S_ISREG(sb.st_mode))
				continue;
			if (read_file(path, &text, &len) < 0) {
				saved = errno;
				snprintf(err, errlen, "%s: %s", path,
				    strerror(saved));
				rc = -1;
				break;
			}
			if (sre_audit_manifest(a, svc, shown, text, len, merr,
			    sizeof(merr)) > 0)
				taken++;
			free(text);
			break;
		}
		free(list[i]);
	}
	free(list);
	if (rc < 0) {
		errno = saved;
		return -1;
	}
	return taken;
}

void
sre_audit_stats(const struct sre_audit *a, struct sre_audit_stats *st)
{
	size_t i;

	memset(st, 0, sizeof(*st));
	st->events = a->events;
	st->duplicates = a->duplicates;
	st->incidents = a->ninc;
	for (i = 0; i < a->ninc; i++)
		if (a->incs[i].first_ms >= a->since_ms)
			st->in_window++;
	st->topology = a->topology;
	st->manifests = a->manifests;
}

/* ---- findings ------------------------------------------------------ */

/* The service an incident is about: its root cause, else where it was
 * seen. */
static const char *
inc_service(const struct inc *i)
{
	return i->root != NULL ? i->root : i->service;
}

static const char *
inc_fp(const struct inc *i)
{
	return i->fingerprint != NULL ? i->fingerprint : i->diag_fp;
}

static const char *
inc_outcome(const struct inc *i)
{
	if (i->outcome != NULL)
		return i->outcome;
	if (i->recovered_ms != NONE)
		return "auto_resolved";
	if (i->escalations > 0)
		return "escalated";
	return "open";
}

static int64_t
inc_mttr(const struct inc *i)
{
	if (i->pm_mttr >= 0)
		return i->pm_mttr;
	if (i->anomaly_ms != NONE && i->recovered_ms != NONE &&
	    i->recovered_ms >= i->anomaly_ms)
		return i->recovered_ms - i->anomaly_ms;
	return -1;
}

static int
by_time(const void *x, const void *y)
{
	const struct inc *a = *(const struct inc *const *)x;
	const struct inc *b = *(const struct inc *const *)y;

	if (a->first_ms != b->first_ms)
		return a->first_ms < b->first_ms ? -1 : 1;
	return strcmp(a->id, b->id);
}

/* The incidents of the window in time order (a malloc'd array). */
static struct inc **
window_incs(struct sre_audit *a, size_t *n)
{
	struct inc **v = calloc(a->ninc + 1, sizeof(*v));
	size_t i;

	*n = 0;
	if (v == NULL)
		return NULL;
	for (i = 0; i < a->ninc; i++)
		if (a->incs[i].first_ms >= a->since_ms)
			v[(*n)++] = &a->incs[i];
	qsort(v, *n, sizeof(*v), by_time);
	return v;
}

/* Keep the newest LIST_MAX ids of an array of ids. */
static jv
last_ids(jv ids)
{
	int n = jv_array_length(jv_copy(ids));

	if (n <= LIST_MAX)
		return ids;
	return jv_array_slice(ids, n - LIST_MAX, n);
}

static jv
chronic(struct sre_audit *a, struct inc **v, size_t n, jv out)
{
	jv per = jv_object(), keys;
	char win[32];
	size_t k;
	int i, nk;

	window_words(a, win, sizeof(win));
	for (k = 0; k < n; k++) {
		const char *svc = inc_service(v[k]), *fp = inc_fp(v[k]);
		jv s;

		if (svc == NULL)
			continue;
		s = sre_jv_get(per, svc);
		if (jv_get_kind(s) != JV_KIND_OBJECT) {
			jv_free(s);
			s = set(set(set(jv_object(), "ids", jv_array()),
			    "fingerprints", jv_object()), "outcomes",
			    jv_object());
		}
		s = set(s, "ids", jv_array_append(sre_jv_get(s, "ids"),
		    jv_string(v[k]->id)));
		if (fp != NULL)
			s = set(s, "fingerprints", bump(sre_jv_get(s,
			    "fingerprints"), fp, 1));
		s = set(s, "outcomes", bump(sre_jv_get(s, "outcomes"),
		    inc_outcome(v[k]), 1));
		per = set(per, svc, s);
	}
	keys = jv_keys(jv_copy(per));
	nk = jv_array_length(jv_copy(keys));
	for (i = 0; i < nk; i++) {
		jv key = jv_array_get(jv_copy(keys), i);
		const char *svc = jv_string_value(key);
		jv s = sre_jv_get(per, svc), ids = sre_jv_get(s, "ids");
		jv fps = sre_jv_get(s, "fingerprints"), ev;
		int cnt = jv_array_length(jv_copy(ids));
		double topn = 0;
		jv topj = top_key(fps, &topn), rec;
		const char *top = str_or_null(topj);

		if (cnt >= a->lim.chronic) {
			if (top != NULL)
				rec = jv_string_fmt("Look past the per-incident "
				    "fixes at the design of %s: its capacity, "
				    "timeouts, retries and what it depends on. "
				    "Start with fingerprint %s (%d of its %d "
				    "incidents).", svc, top, (int)topn, cnt);
			else
				rec = jv_string_fmt("Look past the per-incident "
				    "fixes at the design of %s: its capacity, "
				    "timeouts, retries and what it depends on.",
				    svc);
			ev = jv_object();
			ev = set(ev, "incidents", num(cnt));
			ev = set(ev, "window", jv_string(win));
			ev = set(ev, "latest", last_ids(jv_copy(ids)));
			ev = set(ev, "fingerprints", jv_copy(fps));
			ev = set(ev, "outcomes", sre_jv_get(s, "outcomes"));
			out = jv_array_append(out, finding("chronic_offender",
			    cnt >= 2 * a->lim.chronic ? SRE_SEV_CRITICAL :
			    SRE_SEV_WARNING, svc, jv_string_fmt("%s had %d "
			    "incidents in %s (the threshold is %g)", svc, cnt,
			    win, a->lim.chronic), ev, rec));
		}
		jv_free(topj);
		jv_free(fps);
		jv_free(ids);
		jv_free(s);
		jv_free(key);
	}
	jv_free(keys);
	jv_free(per);
	return out;
}

static jv
fix_not_sticking(struct inc **v, size_t n, jv out)
{
	jv done = jv_object();
	size_t k, j;

	for (k = 0; k < n; k++) {
		const char *fp = inc_fp(v[k]);
		jv fixes = jv_array(), back = jv_array(), ev, ptext;
		const struct inc *first = NULL;
		int64_t fixed = NONE;
		const char *subject;
		int nback;

		if (fp == NULL || v[k]->fixed_ms == NONE ||
		    jv_object_has(jv_copy(done), jv_string(fp))) {
			jv_free(fixes);
			jv_free(back);
			continue;
		}
		done = set(done, fp, jv_true());
		/* From the first fix of fp on: every fix, every return. */
		for (j = k; j < n; j++) {
			const char *f = inc_fp(v[j]);

			if (f == NULL || strcmp(f, fp) != 0)
				continue;
			if (j > k && v[j]->first_ms > fixed)
				back = jv_array_append(back,
				    jv_string(v[j]->id));
			if (v[j]->fixed_ms != NONE) {
				jv fx = jv_object();

				if (first == NULL)
					first = v[j];
				if (v[j]->fixed_ms < fixed)
					fixed = v[j]->fixed_ms;
				fx = set(fx, "incident", jv_string(v[j]->id));
				fx = set(fx, "fixed_ms",
				    num((double)v[j]->fixed_ms));
				fx = set(fx, "proposal",
				    jv_copy(v[j]->proposal));
				fixes = jv_array_append(fixes, fx);
			}
		}
		if ((nback = jv_array_length(jv_copy(back))) == 0) {
			jv_free(fixes);
			jv_free(back);
			continue;
		}
		subject = sre_jv_str(first->proposal, "target");
		if (subject == NULL)
			subject = inc_service(first) ? inc_service(first) :
			    "unknown";
		ptext = proposal_text(first->proposal);
		ev = jv_object();
		ev = set(ev, "fingerprint", jv_string(fp));
		ev = set(ev, "fixes", last_ids(fixes));
		ev = set(ev, "recurrences", num(nback));
		ev = set(ev, "recurred", last_ids(back));
		out = jv_array_append(out, finding("fix_not_sticking",
		    nback >= 2 ? SRE_SEV_CRITICAL : SRE_SEV_WARNING, subject,
		    jv_string_fmt("fingerprint %s came back %d time%s after "
		    "the fix \"%s\" of incident %s", fp, nback, nback == 1 ?
		    "" : "s", jv_string_value(ptext), first->id), ev,
		    jv_string_fmt("The fix \"%s\" relieves a symptom and does "
		    "not last: find the cause behind fingerprint %s (a leak, "
		    "growing load, a failing dependency) and make the lasting "
		    "change in Git by hand; until then sre-cag keeps applying "
		    "the same fix.", jv_string_value(ptext), fp)));
		jv_free(ptext);
	}
	jv_free(done);
	return out;
}

static jv
spof(struct sre_audit *a, jv out)
{
	jv keys = jv_keys(jv_copy(a->edges));
	int i, nk = jv_array_length(jv_copy(keys));

	for (i = 0; i < nk; i++) {
		jv key = jv_array_get(jv_copy(keys), i);
		const char *svc = jv_string_value(key);
		jv callers = sre_jv_get(a->edges, svc);
		jv rep = sre_jv_get(a->replicas, svc);
		jv names = jv_keys(jv_copy(callers)), ev;
		int fan = jv_array_length(jv_copy(names));
		double reps = num_or(rep, "replicas", -1), calls = 0, errs = 0;

		if (fan >= a->lim.fan_in && reps >= 0 && reps <= 1) {
			jv_object_foreach(callers, ck, cv) {
				calls += num_or(cv, "calls", 0);
				errs += num_or(cv, "errors", 0);
				jv_free(ck);
				jv_free(cv);
			}
			ev = jv_object();
			ev = set(ev, "callers", jv_copy(names));
			ev = set(ev, "fan_in", num(fan));
			ev = set(ev, "calls", num(calls));
			ev = set(ev, "errors", num(errs));
			ev = set(ev, "replicas", num(reps));
			ev = set(ev, "file", sre_jv_get(rep, "file"));
			out = jv_array_append(out, finding(
			    "single_point_of_failure", fan >= 2 *
			    a->lim.fan_in ? SRE_SEV_CRITICAL : SRE_SEV_WARNING,
			    svc, jv_string_fmt("%s runs %g replica%s and %d "
			    "services call it", svc, reps, reps == 1 ? "" : "s",
			    fan), ev, jv_string_fmt("Run at least 2 replicas of "
			    "%s (spec.replicas in %s) spread over nodes, with a "
			    "PodDisruptionBudget, or let its %d callers degrade "
			    "without it (a fallback, a circuit breaker).", svc,
			    sre_jv_str(rep, "file") ? sre_jv_str(rep, "file") :
			    "its manifest", fan)));
		}
		jv_free(names);
		jv_free(rep);
		jv_free(callers);
		jv_free(key);
	}
	jv_free(keys);
	return out;
}

static jv
noisy(struct sre_audit *a, struct inc **v, size_t n, jv out)
{
	jv per = jv_object(), keys;
	char win[32];
	size_t k;
	int i, nk;

	window_words(a, win, sizeof(win));
	for (k = 0; k < n; k++) {
		jv_object_foreach(v[k]->detectors, dk, dv) {
			jv d = sre_jv_get(per, jv_string_value(dk));

			if (jv_get_kind(d) != JV_KIND_OBJECT) {
				jv_free(d);
				d = jv_object();
			}
			d = bump(d, "anomalies", jv_number_value(dv));
			d = bump(d, "incidents", 1);
			d = bump(d, "acted", v[k]->acted ? 1 : 0);
			d = bump(d, "recovered", !v[k]->acted &&
			    v[k]->recovered_ms != NONE ? 1 : 0);
			d = bump(d, "vetoed", v[k]->veto > 0 ? 1 : 0);
			per = set(per, jv_string_value(dk), d);
			jv_free(dk);
			jv_free(dv);
		}
	}
	keys = jv_keys(jv_copy(per));
	nk = jv_array_length(jv_copy(keys));
	for (i = 0; i < nk; i++) {
		jv key = jv_array_get(jv_copy(keys), i);
		const char *name = jv_string_value(key), *slash;
		jv d = sre_jv_get(per, name), ev, svc, sig;
		double an = num_or(d, "anomalies", 0);
		double ni = num_or(d, "incidents", 0);
		double acted = num_or(d, "acted", 0);

		if ((slash = strrchr(name, '/')) == NULL)
			slash = name + strlen(name);
		svc = jv_string_sized(name, (int)(slash - name));
		sig = jv_string(*slash ? slash + 1 : "?");
		if (an >= a->lim.noisy && ni > 0 &&
		    acted / ni < a->lim.noisy_ratio) {
			ev = set(set(jv_copy(d), "service", jv_copy(svc)),
			    "signal", jv_copy(sig));
			ev = set(ev, "window", jv_string(win));
			out = jv_array_append(out, finding("noisy_detector",
			    acted == 0 ? SRE_SEV_WARNING : SRE_SEV_INFO, name,
			    jv_string_fmt("the %s detector of %s raised %g "
			    "anomalies in %g incidents in %s; %s led to an "
			    "action (%g recovered on their own)",
			    jv_string_value(sig), jv_string_value(svc), an, ni,
			    win, acted == 0 ? "none" : "few",
			    num_or(d, "recovered", 0)), ev,
			    jv_string_fmt("Raise the threshold of the %s "
			    "detector for %s or lengthen its baseline (see "
			    "sre-scout), or send it to a dashboard instead of "
			    "the loop: anomalies nobody acts on cost diagnosis "
			    "time and teach people to ignore alerts.",
			    jv_string_value(sig), jv_string_value(svc))));
		}
		jv_free(svc);
		jv_free(sig);
		jv_free(d);
		jv_free(key);
	}
	jv_free(keys);
	jv_free(per);
	return out;
}

static int
cmp_i64(const void *x, const void *y)
{
	int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;

	return a < b ? -1 : a > b;
}

static int64_t
median(const int64_t *v, size_t n)
{
	int64_t *c = malloc(n * sizeof(*c)), m;

	if (c == NULL || n == 0) {
		free(c);
		return 0;
	}
	memcpy(c, v, n * sizeof(*c));
	qsort(c, n, sizeof(*c), cmp_i64);
	m = n % 2 ? c[n / 2] : (c[n / 2 - 1] + c[n / 2]) / 2;
	free(c);
	return m;
}

/* The MTTR checks over vals (time order) of subject (a service or
 * "all"). */
static jv
mttr_checks(struct sre_audit *a, const char *subject, const int64_t *vals,
    size_t n, int slow, jv out)
{
	size_t half = n / 2;
	char b1[32], b2[32], b3[32];

	if (n >= 2 * (size_t)a->lim.mttr_min) {
		int64_t m1 = median(vals, half), m2 = median(vals + half,
		    n - half);
		double ratio = m1 > 0 ? (double)m2 / (double)m1 : 0;

		if (m1 > 0 && ratio >= a->lim.mttr_growth &&
		    m2 - m1 >= 60000) {
			jv ev = jv_object();

			ev = set(ev, "incidents", num((double)n));
			ev = set(ev, "earlier_median_ms", num((double)m1));
			ev = set(ev, "later_median_ms", num((double)m2));
			ev = set(ev, "ratio", num(round(ratio * 100) / 100));
			dur(m1, b1, sizeof(b1));
			dur(m2, b2, sizeof(b2));
			out = jv_array_append(out, finding("mttr_trend",
			    ratio >= 2 * a->lim.mttr_growth ?
			    SRE_SEV_CRITICAL : SRE_SEV_WARNING, subject,
			    jv_string_fmt("the median time to recover %s "
			    "rose from %s (first %zu incidents) to %s (last "
			    "%zu), %.1f times", strcmp(subject, "all") == 0 ?
			    "over all services" : subject, b1, half, b2,
			    n - half, ratio), ev, jv_string("Recovery is "
			    "getting slower: check whether sre-cag still knows "
			    "the fixes, whether the guard escalates more often, "
			    "and whether the incidents changed in kind; compare "
			    "the post-mortems of the earliest and the latest.")));
		}
	}
	if (slow && n > 0) {
		int64_t m = median(vals, n);

		if ((double)m > a->lim.mttr_slow_s * 1000) {
			jv ev = jv_object();

			ev = set(ev, "incidents", num((double)n));
			ev = set(ev, "median_ms", num((double)m));
			ev = set(ev, "threshold_ms",
			    num(a->lim.mttr_slow_s * 1000));
			dur(m, b1, sizeof(b1));
			sre_duration_fmt((int64_t)(a->lim.mttr_slow_s * 1000),
			    b3, sizeof(b3));
			out = jv_array_append(out, finding("slow_mttr",
			    (double)m > 4 * a->lim.mttr_slow_s * 1000 ?
			    SRE_SEV_CRITICAL : SRE_SEV_WARNING, subject,
			    jv_string_fmt("%s takes %s to recover (median of "
			    "%zu incident%s; the threshold is %s)", subject, b1,
			    n, n == 1 ? "" : "s", b3), ev, jv_string_fmt("Shorten the path to a "
			    "fix for %s: teach sre-cag its known fixes, give "
			    "the guard a policy that lets safe fixes through, "
			    "and make its rollouts faster (readiness probes, "
			    "smaller images).", subject)));
		}
	}
	return out;
}

static jv
mttr(struct sre_audit *a, struct inc **v, size_t n, jv out)
{
	int64_t *all = calloc(n + 1, sizeof(*all)), *one;
	jv done = jv_object();
	size_t k, j, na = 0, no;

	if (all == NULL || (one = calloc(n + 1, sizeof(*one))) == NULL) {
		free(all);
		jv_free(done);
		return out;
	}
	for (k = 0; k < n; k++)
		if (inc_mttr(v[k]) >= 0)
			all[na++] = inc_mttr(v[k]);
	out = mttr_checks(a, "all", all, na, 0, out);
	for (k = 0; k < n; k++) {
		const char *svc = inc_service(v[k]);

		if (svc == NULL || jv_object_has(jv_copy(done),
		    jv_string(svc)))
			continue;
		done = set(done, svc, jv_true());
		for (no = 0, j = k; j < n; j++)
			if (inc_service(v[j]) != NULL &&
			    strcmp(inc_service(v[j]), svc) == 0 &&
			    inc_mttr(v[j]) >= 0)
				one[no++] = inc_mttr(v[j]);
		out = mttr_checks(a, svc, one, no, 1, out);
	}
	jv_free(done);
	free(one);
	free(all);
	return out;
}

static jv
llm_spend(struct sre_audit *a, struct inc **v, size_t n, jv out)
{
	jv models = jv_object(), ev, rec, modelj;
	int64_t prompt = 0, compl = 0, maxtok = -1;
	double latency = 0, per, topn;
	const char *maxid = NULL, *model;
	int used = 0, calls = 0, fallbacks = 0, cag = 0, sev;
	char win[32];
	size_t k;

	window_words(a, win, sizeof(win));
	for (k = 0; k < n; k++) {
		int64_t t = v[k]->prompt_tokens + v[k]->completion_tokens;

		fallbacks += v[k]->llm_fallbacks;
		cag += v[k]->cag;
		if (v[k]->llm_calls == 0)
			continue;
		used++;
		calls += v[k]->llm_calls;
		prompt += v[k]->prompt_tokens;
		compl += v[k]->completion_tokens;
		latency += v[k]->llm_latency_ms;
		if (t > maxtok) {
			maxtok = t;
			maxid = v[k]->id;
		}
		jv_object_foreach(v[k]->models, mk, mv) {
			models = bump(models, jv_string_value(mk),
			    jv_number_value(mv));
			jv_free(mk);
			jv_free(mv);
		}
	}
	if (used == 0) {
		jv_free(models);
		return out;
	}
	per = (double)(prompt + compl) / used;
	modelj = top_key(models, &topn);
	model = str_or_null(modelj);
	sev = per > a->lim.llm_tokens ? SRE_SEV_WARNING : SRE_SEV_INFO;
	ev = jv_object();
	ev = set(ev, "incidents", num((double)n));
	ev = set(ev, "incidents_with_llm", num(used));
	ev = set(ev, "calls", num(calls));
	ev = set(ev, "fallbacks", num(fallbacks));
	ev = set(ev, "prompt_tokens", num((double)prompt));
	ev = set(ev, "completion_tokens", num((double)compl));
	ev = set(ev, "tokens_per_incident", num(round(per)));
	ev = set(ev, "budget_tokens", num(a->lim.llm_tokens));
	ev = set(ev, "latency_ms_mean", num(round(latency / calls)));
	ev = set(ev, "max", set(set(jv_object(), "incident", jv_string(maxid)),
	    "tokens", num((double)maxtok)));
	ev = set(ev, "models", jv_copy(models));
	ev = set(ev, "cag_answers", num(cag));
	if (a->lim.llm_usd_per_mtok > 0) {
		double usd = (double)(prompt + compl) / 1e6 *
		    a->lim.llm_usd_per_mtok;

		ev = set(ev, "cost_usd", num(round(usd * 10000) / 10000));
		ev = set(ev, "cost_per_incident_usd",
		    num(round(usd / used * 10000) / 10000));
	}
	if (sev == SRE_SEV_WARNING)
		rec = jv_string_fmt("Cut the tokens per incident: send less "
		    "evidence in the prompt, let sre-cag answer the known "
		    "fingerprints (it answered %d of %zu incidents), keep "
		    "MAX_LLM_CONCURRENCY low, or raise the budget "
		    "(--threshold llm_tokens=N) if the answers are worth it.",
		    cag, n);
	else
		rec = jv_string("Within budget: keep an eye on the tokens per "
		    "incident as the incidents change.");
	out = jv_array_append(out, finding("llm_spend", sev, model ? model :
	    "llm", jv_string_fmt("%s used %lld tokens over %d incident%s in "
	    "%s: %.0f per incident (the budget is %g), %d call%s, %.1fs mean "
	    "latency", model ? model : "the LLM", (long long)(prompt + compl),
	    used, used == 1 ? "" : "s", win, per, a->lim.llm_tokens, calls,
	    calls == 1 ? "" : "s", latency / calls / 1000), ev, rec));
	jv_free(modelj);
	jv_free(models);
	return out;
}

static jv
guard(struct sre_audit *a, struct inc **v, size_t n, jv out)
{
	jv rules = jv_object(), ev, top_rules = jv_array(), keys, topj;
	int approve = 0, veto = 0, esc = 0, total, i, nk;
	const char *top;
	double ratio, topn;
	char win[32];
	size_t k;

	window_words(a, win, sizeof(win));
	for (k = 0; k < n; k++) {
		approve += v[k]->approve;
		veto += v[k]->veto;
		esc += v[k]->escalate;
		jv_object_foreach(v[k]->veto_rules, rk, rv) {
			rules = bump(rules, jv_string_value(rk),
			    jv_number_value(rv));
			jv_free(rk);
			jv_free(rv);
		}
	}
	total = approve + veto + esc;
	ratio = total > 0 ? (double)veto / total : 0;
	if (total < a->lim.veto_min || ratio < a->lim.veto_ratio) {
		jv_free(rules);
		jv_free(top_rules);
		return out;
	}
	topj = top_key(rules, &topn);
	top = str_or_null(topj);
	keys = jv_keys(jv_copy(rules));
	nk = jv_array_length(jv_copy(keys));
	for (i = 0; i < nk; i++) {
		jv rk = jv_array_get(jv_copy(keys), i);

		top_rules = jv_array_append(top_rules, set(set(jv_object(),
		    "rule", jv_copy(rk)), "vetoes", num(num_or(rules,
		    jv_string_value(rk), 0))));
		jv_free(rk);
	}
	jv_free(keys);
	ev = jv_object();
	ev = set(ev, "verdicts", num(total));
	ev = set(ev, "approve", num(approve));
	ev = set(ev, "veto", num(veto));
	ev = set(ev, "escalate", num(esc));
	ev = set(ev, "veto_ratio", num(round(ratio * 100) / 100));
	ev = set(ev, "rules", top_rules);
	out = jv_array_append(out, finding("guard_vetoes", ratio >= 0.8 ?
	    SRE_SEV_CRITICAL : SRE_SEV_WARNING, "sre-guard",
	    top != NULL ? jv_string_fmt("sre-guard vetoed %d of %d proposals "
	    "(%.0f%%) in %s; rule %s fired in %.0f of the vetoes", veto, total,
	    ratio * 100, win, top, topn) : jv_string_fmt("sre-guard vetoed %d "
	    "of %d proposals (%.0f%%) in %s", veto, total, ratio * 100, win),
	    ev, jv_string_fmt("Either the brain proposes what the policy "
	    "forbids or the policy is too strict: read the vetoes%s%s "
	    "(sre-policy(5)) and change the rule or the remediation the "
	    "brain draws from; a loop vetoed most of the time only delays "
	    "the human who fixes it.", top ? " of rule " : "",
	    top ? top : "")));
	jv_free(topj);
	jv_free(rules);
	return out;
}

static int
sev_of(jv f)
{
	int s = sre_audit_severity(sre_jv_str(f, "severity"));

	return s < 0 ? 0 : s;
}

static int
cmp_findings(const void *x, const void *y)
{
	jv a = *(const jv *)x, b = *(const jv *)y;
	int c;

	if (sev_of(a) != sev_of(b))
		return sev_of(b) - sev_of(a);
	if ((c = strcmp(sre_jv_str(a, "finding"), sre_jv_str(b,
	    "finding"))) != 0)
		return c;
	return strcmp(sre_jv_str(a, "subject"), sre_jv_str(b, "subject"));
}

jv
sre_audit_findings(struct sre_audit *a)
{
	jv out = jv_copy(a->manifest_findings), sorted;
	struct inc **v;
	size_t n;
	jv *arr;
	int i, cnt;

	if ((v = window_incs(a, &n)) == NULL) {
		jv_free(out);
		return jv_invalid();
	}
	out = chronic(a, v, n, out);
	out = fix_not_sticking(v, n, out);
	out = spof(a, out);
	out = noisy(a, v, n, out);
	out = mttr(a, v, n, out);
	out = llm_spend(a, v, n, out);
	out = guard(a, v, n, out);
	free(v);
	cnt = jv_array_length(jv_copy(out));
	if ((arr = calloc((size_t)cnt + 1, sizeof(*arr))) == NULL) {
		jv_free(out);
		return jv_invalid();
	}
	for (i = 0; i < cnt; i++)
		arr[i] = jv_array_get(jv_copy(out), i);
	jv_free(out);
	qsort(arr, (size_t)cnt, sizeof(*arr), cmp_findings);
	sorted = jv_array();
	for (i = 0; i < cnt; i++)
		sorted = jv_array_append(sorted, arr[i]);
	free(arr);
	return sorted;
}

int
sre_audit_worst(jv findings)
{
	int worst = -1;

	if (jv_get_kind(findings) != JV_KIND_ARRAY)
		return -1;
	jv_array_foreach(findings, i, f) {
		if (sev_of(f) > worst)
			worst = sev_of(f);
		jv_free(f);
		(void)i;
	}
	return worst;
}

/* ---- the Markdown report ------------------------------------------- */

/* Text for a Markdown table cell: '|' escaped, newlines as spaces. */
static void
cell(FILE *fp, const char *s)
{
	for (; s != NULL && *s != '\0'; s++) {
		if (*s == '|')
			fputs("\\|", fp);
		else if (*s == '\n' || *s == '\r')
			fputc(' ', fp);
		else
			fputc(*s, fp);
	}
}

static void
md_value(FILE *fp, jv v)
{
	if (jv_get_kind(v) == JV_KIND_STRING) {
		fputs(jv_string_value(v), fp);
		jv_free(v);
	} else {
		jv d = jv_dump_string(v, 0);

		fprintf(fp, "`%s`", jv_string_value(d));
		jv_free(d);
	}
}

char *
sre_audit_markdown(const struct sre_audit *a, jv findings)
{
	struct sre_audit_stats st;
	char *buf = NULL, now[32], since[32], win[32];
	size_t len = 0;
	int counts[3] = { 0, 0, 0 }, n, i;
	FILE *fp;

	if ((fp = open_memstream(&buf, &len)) == NULL)
		return NULL;
	sre_audit_stats(a, &st);
	sre_time_fmt(a->now_ms, now, sizeof(now));
	window_words(a, win, sizeof(win));
	n = jv_get_kind(findings) == JV_KIND_ARRAY ?
	    jv_array_length(jv_copy(findings)) : 0;
	for (i = 0; i < n; i++) {
		jv f = jv_array_get(jv_copy(findings), i);

		counts[sev_of(f)]++;
		jv_free(f);
	}
	fprintf(fp, "# Architecture audit\n\n");
	if (a->lim.window_ms > 0) {
		sre_time_fmt(a->since_ms, since, sizeof(since));
		fprintf(fp, "Audited at %s over the last %s (since %s).\n\n",
		    now, win, since);
	} else {
		fprintf(fp, "Audited at %s over all the facts at hand.\n\n",
		    now);
	}
	fprintf(fp, "Facts: %llu incidents (%llu in the window), %llu events "
	    "(%llu repeated ids skipped), %llu topology windows, "
	    "%llu manifests.\n\n", st.incidents, st.in_window, st.events,
	    st.duplicates, st.topology, st.manifests);
	fprintf(fp, "| severity | findings |\n| --- | ---: |\n");
	for (i = SRE_SEV_CRITICAL; i >= SRE_SEV_INFO; i--)
		fprintf(fp, "| %s | %d |\n", sre_audit_severity_name(i),
		    counts[i]);
	fprintf(fp, "\n## Findings\n\n");
	if (n == 0)
		fprintf(fp, "No findings.\n");
	else
		fprintf(fp, "| # | severity | finding | subject | detail |\n"
		    "| ---: | --- | --- | --- | --- |\n");
	for (i = 0; i < n; i++) {
		jv f = jv_array_get(jv_copy(findings), i);

		fprintf(fp, "| %d | %s | %s | ", i + 1,
		    sre_jv_str(f, "severity"), sre_jv_str(f, "finding"));
		cell(fp, sre_jv_str(f, "subject"));
		fputs(" | ", fp);
		cell(fp, sre_jv_str(f, "detail"));
		fputs(" |\n", fp);
		jv_free(f);
	}
	for (i = 0; i < n; i++) {
		jv f = jv_array_get(jv_copy(findings), i);
		jv ev = sre_jv_get(f, "evidence");
		const char *detail;

		if ((detail = sre_jv_str(f, "detail")) == NULL || *detail == '\0')
			detail = "-";
		fprintf(fp, "\n### %d. %s: %s (%s)\n\n%s.\n\n", i + 1,
		    sre_jv_str(f, "finding"), sre_jv_str(f, "subject"),
		    sre_jv_str(f, "severity"), detail);
		if (jv_get_kind(ev) == JV_KIND_OBJECT &&
		    jv_object_length(jv_copy(ev)) > 0) {
			jv keys = jv_keys(jv_copy(ev));
			int k, nk = jv_array_length(jv_copy(keys));

			fprintf(fp, "Evidence:\n\n");
			for (k = 0; k < nk; k++) {
				jv key = jv_array_get(jv_copy(keys), k);

				fprintf(fp, "- %s: ", jv_string_value(key));
				md_value(fp, sre_jv_get(ev,
				    jv_string_value(key)));
				fputc('\n', fp);
				jv_free(key);
			}
			jv_free(keys);
			fputc('\n', fp);
		}
		fprintf(fp, "Recommendation: %s\n", sre_jv_str(f,
		    "recommendation"));
		jv_free(ev);
		jv_free(f);
	}
	if (fclose(fp) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}
