/*
 * policy.h: sre-guard's decisions, as sre-policy(5) describes them.
 *
 * A policy is a YAML file: limits for the built-in safety checks, change
 * freeze windows, and ordered rules, each an id, a jq condition (libjq)
 * over the diagnosis with the guard's context bound to $ctx, a decision
 * and a reason; the first rule that matches decides, else the default.
 *
 * The built-in checks run first and cannot be removed by a rule: the
 * remediation catalog (catalog.h: actions, params, config keys on the
 * policy's allowlist, replicas within its bounds), unknown targets,
 * patches outside the target's directory, rollbacks to tags never
 * deployed, scale beyond the blast radius, low confidence, freeze
 * windows, rate limits and the loop threshold.  A policy may set their
 * limits; a limit looser than the built-in default is reported as a
 * warning (sre_policy_warnings) every time the policy is loaded, so it is
 * never switched off silently.
 *
 *	jv problems;
 *	struct sre_policy *p = sre_policy_load("policy.yaml", &problems);
 *	if (p == NULL)
 *		... each string of problems is "FILE:LINE: message" ...
 *	jv v = sre_policy_decide(p, diagnosis, &facts, NULL, NULL);
 *	... v is {"decision", "reasons", "rules"} ...
 *	sre_policy_free(p);
 */
#ifndef SRE_POLICY_H
#define SRE_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include <jv.h>

#include "catalog.h"

enum sre_decision { SRE_APPROVE = 0, SRE_VETO = 1, SRE_ESCALATE = 2 };

/* "approve", "veto", "escalate". */
const char *sre_decision_name(int d);
/* The decision named s, or -1. */
int sre_decision_parse(const char *s);

/* Built-in defaults; looser settings are warned about. */
#define SRE_POLICY_MIN_CONFIDENCE	0.6
#define SRE_POLICY_MAX_SCALE_FACTOR	2.0
#define SRE_POLICY_MAX_REPLICAS		SRE_CATALOG_MAX_REPLICAS
#define SRE_POLICY_APPROVALS_HOUR	10
#define SRE_POLICY_SERVICE_HOUR		3
#define SRE_POLICY_LOOP_THRESHOLD	3
#define SRE_POLICY_LOOP_WINDOW_MS	3600000
#define SRE_POLICY_MAX_ACTIONS		2

struct sre_policy_limits {
	double min_confidence;
	int low_confidence;		/* SRE_VETO or SRE_ESCALATE */
	double max_scale_factor;	/* replicas change by at most this */
	long min_replicas;		/* every service, unless it says */
	long max_replicas;
	long approvals_per_hour;	/* 0: no limit (warned) */
	long service_approvals_per_hour;
	long loop_threshold;		/* acts per fingerprint per window */
	int64_t loop_window_ms;
	long max_actions;		/* changes per incident (sre-fix), the
					   steps and next remedies included */
};

struct sre_policy;

/*
 * Parse a policy from text; name is used in messages.  Returns the
 * policy, or NULL with *problems an array of "NAME:LINE: message"
 * strings (every error found, jq compile errors named by rule id).  On
 * success *problems is an empty array.
 */
struct sre_policy *sre_policy_parse(const char *text, size_t len,
    const char *name, jv *problems);

/* Read and parse a file; path NULL gives the built-in default policy
 * (no rules, default approve, the built-in limits). */
struct sre_policy *sre_policy_load(const char *path, jv *problems);

void sre_policy_free(struct sre_policy *p);

/* The limits in force.  Borrowed. */
const struct sre_policy_limits *sre_policy_limits(const struct sre_policy *p);

/* Texts saying which limits are looser than the built-in defaults. */
jv sre_policy_warnings(const struct sre_policy *p);

/* The number of rules, and the default decision. */
int sre_policy_nrules(const struct sre_policy *p);
int sre_policy_default(const struct sre_policy *p);

/*
 * Add a freeze window: "YYYY-MM-DD[THH:MM[:SS]][Z]/YYYY-MM-DD...",
 * or a weekly one "DAYS[ HH:MM-HH:MM]" in UTC, DAYS being "*", a day
 * (Mon..Sun), a list "Sat,Sun" or a range "Mon-Fri"; a time range that
 * ends before it starts runs past midnight.  0, or -1 with err.
 */
int sre_policy_add_freeze(struct sre_policy *p, const char *spec, char *err,
    size_t errlen);

/* The freeze window in force at ts_ms (its text, borrowed), or NULL. */
const char *sre_policy_frozen(const struct sre_policy *p, int64_t ts_ms);

/* What the guard found out about a diagnosis, for the built-in checks
 * and for $ctx. */
struct sre_guard_facts {
	int have_repo;			/* --repo given and readable */
	jv services;			/* array of names (borrowed) */
	int target_exists;
	long replicas;			/* the target's now; -1 unknown */
	int repo_fault;			/* sre_catalog_repo_check's fault */
	const char *repo_problem;	/* and why (a patch, a rollback's
					   tag), or NULL */
	long approvals_hour;		/* approvals in the last hour */
	long service_approvals_hour;	/* of the target */
	long fingerprint_actions;	/* approvals of the fingerprint in
					   the loop window */
	int recovered;			/* a recovery passed since the anomaly */
	int acked;			/* a human acknowledged the incident */
	int dry_run;
};

/* Called for each check and rule: id, and what came of it. */
typedef void (*sre_policy_explain_fn)(void *ctx, const char *id,
    const char *outcome);

/*
 * The $ctx object the rules see for diagnosis d (borrowed) and facts f:
 * ts_ms, time, weekday, hour, repo, services, target_exists, replicas,
 * new_replicas, approvals_last_hour, service_approvals_last_hour,
 * fingerprint_actions, frozen, recovered, acked, dry_run, limits.
 */
jv sre_policy_context(const struct sre_policy *p, jv d,
    const struct sre_guard_facts *f);

/*
 * Decide on diagnosis d (borrowed): the built-in checks in order, then
 * the rules, then the default; an escalation of an acknowledged incident
 * becomes a veto.  A rule whose condition fails at run time escalates.
 * Returns {"decision": NAME, "reasons": [...], "rules": [...]}.
 */
jv sre_policy_decide(const struct sre_policy *p, jv d,
    const struct sre_guard_facts *f, sre_policy_explain_fn explain,
    void *ectx);

/*
 * What the policy allows service (may be NULL) under the catalog: the
 * global replica bounds of limits, then those of the "*" entry of
 * services, then the service's own; config keys likewise (built in:
 * SRE_CATALOG_CONFIG_KEYS).  out borrows from p.
 */
void sre_policy_catalog(const struct sre_policy *p, const char *service,
    struct sre_catalog_limits *out);

/* The new replica count a scale proposal asks for given the current
 * one (-1 unknown: counted as 1); -1 when p is not a valid scale. */
long sre_policy_scale_target(jv proposal, long current);

#endif
