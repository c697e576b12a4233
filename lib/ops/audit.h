/*
 * audit.h: the architecture audit of sre-jules(1): facts in, findings out.
 *
 *	struct sre_audit_limits lim;
 *	struct sre_audit *a;
 *
 *	sre_audit_limits_init(&lim);
 *	a = sre_audit_new(&lim, sre_now_ms());
 *	for each event ev (a store's timelines, a recording):
 *		sre_audit_event(a, ev);
 *	sre_audit_repo(a, "./gitops", err, sizeof(err));
 *	findings = sre_audit_findings(a);
 *	md = sre_audit_markdown(a, findings);
 *	sre_audit_free(a);
 *
 * Facts are events of sre-events(7): anomaly, recovery, diagnosis (its
 * "llm" member counts LLM spend), verdict, action, escalation, postmortem
 * (its mttr_ms is preferred to the one worked out from anomaly and
 * recovery), topology; and the Kubernetes manifests of a GitOps
 * repository (services/<service>/deployment.yaml).  Events are taken once
 * per id, so a store and a recording of the same loop can both be given.
 *
 * The audit covers the incidents whose first event falls in the window
 * [now - window, now] (everything when the window is 0) and the topology
 * events of the window.  Findings are worked out by sre_audit_findings,
 * not while reading, so the order of the facts does not matter.
 *
 * A finding is a JSON object:
 *
 *	{"finding":"single_point_of_failure","severity":"critical",
 *	 "subject":"redis-cache","detail":"...","evidence":{...},
 *	 "recommendation":"..."}
 *
 * findings (the names of sre-jules(1)): chronic_offender,
 * fix_not_sticking, single_point_of_failure, missing_limits,
 * missing_probes, manifest_invalid, noisy_detector, mttr_trend,
 * slow_mttr, llm_spend, guard_vetoes.
 *
 * jv ownership is libjq's; functions that borrow say so.  The library
 * never prints: sre_audit_event and sre_audit_repo return what went wrong.
 */
#ifndef SRE_AUDIT_H
#define SRE_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include <jv.h>

enum sre_severity {
	SRE_SEV_INFO = 0,
	SRE_SEV_WARNING = 1,
	SRE_SEV_CRITICAL = 2
};

/* The thresholds of the findings; sre_audit_limits_init sets defaults. */
struct sre_audit_limits {
	int64_t window_ms;	/* the audited window; 0: everything (7d) */
	double chronic;		/* incidents of a service: chronic (3) */
	double fan_in;		/* callers of a one-replica service (2) */
	double noisy;		/* anomalies of a detector at least (5) */
	double noisy_ratio;	/* acted-on share of its incidents below
				   this: noisy (0.1) */
	double mttr_growth;	/* later median MTTR over earlier (1.5) */
	double mttr_min;	/* incidents per half for a trend (2) */
	double mttr_slow_s;	/* median MTTR above this: slow (1800) */
	double llm_tokens;	/* LLM tokens per incident above this (20000) */
	double llm_usd_per_mtok;	/* price per million tokens (0: none) */
	double veto_ratio;	/* vetoed share of verdicts at least (0.5) */
	double veto_min;	/* verdicts needed to judge the guard (4) */
};

/* Fill in the defaults above. */
void sre_audit_limits_init(struct sre_audit_limits *l);

/*
 * Set one limit from "NAME=VALUE": the member names above (window as a
 * duration, "7d"; mttr_slow_s in seconds or as a duration).  Returns 0,
 * or -1 with a message in err naming what is wrong.
 */
int sre_audit_limit_set(struct sre_audit_limits *l, const char *assign,
    char *err, size_t errlen);

/* "info", "warning", "critical" to SRE_SEV_*, -1 for anything else. */
int sre_audit_severity(const char *name);

/* The name of a severity ("info" for an out-of-range value). Static. */
const char *sre_audit_severity_name(int sev);

struct sre_audit;

/* A new audit at time now_ms with a copy of lim.  NULL when out of
 * memory. */
struct sre_audit *sre_audit_new(const struct sre_audit_limits *lim,
    int64_t now_ms);

/* Free it; accepts NULL. */
void sre_audit_free(struct sre_audit *a);

/*
 * Take one event (borrowed; its envelope already checked).  Returns 1
 * when it was used, 0 when it is not a fact of the audit (another type,
 * or an id already taken), -1 when out of memory.  Members of a wrong
 * kind are ignored, never fatal.
 */
int sre_audit_event(struct sre_audit *a, jv ev);

/*
 * Take the manifest of service at path (text of len bytes, borrowed):
 * a Kubernetes Deployment, StatefulSet or DaemonSet.  Its replicas feed
 * the single-point-of-failure check; its containers are checked for
 * resource limits and probes.  Returns 1 when taken, 0 when it is another
 * kind of object, -1 when it is not YAML (a manifest_invalid finding is
 * recorded, with the message also in err).
 */
int sre_audit_manifest(struct sre_audit *a, const char *service,
    const char *path, const char *text, size_t len, char *err,
    size_t errlen);

/*
 * Take every services/<service>/deployment.yaml (or .yml) under dir, a
 * GitOps repository.  Returns the number of manifests read, or -1 with a
 * message in err when dir or its services/ directory cannot be read or a
 * manifest cannot be read (errno kept).  Manifests that are not YAML are
 * findings, not errors.
 */
int sre_audit_repo(struct sre_audit *a, const char *dir, char *err,
    size_t errlen);

/* What the audit has read so far. */
struct sre_audit_stats {
	unsigned long long events;	/* events used */
	unsigned long long duplicates;	/* events skipped: id seen */
	unsigned long long incidents;	/* incidents seen */
	unsigned long long in_window;	/* incidents in the window */
	unsigned long long topology;	/* topology events in the window */
	unsigned long long manifests;	/* manifests taken */
};

void sre_audit_stats(const struct sre_audit *a, struct sre_audit_stats *st);

/*
 * The findings: an array of objects as above, the most severe first, then
 * by finding and subject.  Can be called more than once.  jv_invalid()
 * when out of memory.
 */
jv sre_audit_findings(struct sre_audit *a);

/* The highest severity in findings (borrowed), -1 when there are none. */
int sre_audit_worst(jv findings);

/*
 * The Markdown report of findings (borrowed) as audited by a: what was
 * read, a summary table, then each finding with its evidence and
 * recommendation.  A malloc'd string, NULL when out of memory.
 */
char *sre_audit_markdown(const struct sre_audit *a, jv findings);

#endif
