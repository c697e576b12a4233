/*
 * catalog.h: the remediation catalog of DESIGN.md, in one place.
 *
 * A proposal is {"action", "target", "params"}.  The catalog says which
 * actions exist, which params each takes (their JSON types and bounds,
 * which are required; any other param is refused), and what a proposal
 * may touch: files of its target service's directory only.  sre-brain
 * (its own proposals and the LLM's), sre-guard and sre-fix all judge a
 * proposal here, so they cannot disagree:
 *
 *	action    params                           changes
 *	rollback  to: tag (optional)               the image tag, or a revert
 *	scale     replicas: integer 0..10000, or  spec.replicas
 *	          delta: integer -1000..1000, not 0 (exactly one of them)
 *	config    key: [A-Z_][A-Z0-9_]*, at most 64; value: text, at most
 *	          1024 bytes                       one key of config.env
 *	restart   (none)                           the restartedAt annotation
 *	patch     diff: at most 1 MiB              the files git says it does
 *	observe   (none); target may be null       nothing
 *
 * Every string is refused when it holds a NUL (JSON "\u0000": C would
 * see only the part before it), a C0 or C1 control character, DEL,
 * U+2028/U+2029, or an invisible direction or width mark.
 *
 * Beyond the forms, a proposal is judged against limits the policy sets
 * per service (struct sre_catalog_limits: replica bounds, the config keys
 * allowed) and against the GitOps repository: a rollback goes only to a
 * tag the service's deployment file carried in the repository's history,
 * and a patch's paths, renames, copies and modes are read by git itself
 * ("git apply --numstat --summary -z"), each path inside the target's
 * directory, no mode but 100644 and 100755.
 *
 * Faults name the built-in check of sre-guard that refuses them
 * (sre_catalog_rule).  Nothing here prints; git runs through sre_git
 * (argv only, no shell).
 */
#ifndef SRE_CATALOG_H
#define SRE_CATALOG_H

#include <stddef.h>

#include <jv.h>

#include "gitops.h"

#define SRE_CATALOG_REPLICAS_MAX	10000
#define SRE_CATALOG_DELTA_MAX		1000
#define SRE_CATALOG_KEY_MAX		64
#define SRE_CATALOG_VALUE_MAX		1024
#define SRE_CATALOG_TAG_MAX		128
#define SRE_CATALOG_DIFF_MAX		(1024 * 1024)
#define SRE_CATALOG_HISTORY_MAX		500	/* commits read for tags */

/* Built-in limits: replicas 1..50 and these config keys (tuning knobs;
 * no hosts, URLs or ports). */
#define SRE_CATALOG_MIN_REPLICAS	1
#define SRE_CATALOG_MAX_REPLICAS	50
#define SRE_CATALOG_CONFIG_KEYS \
	"LOG_LEVEL", "DB_POOL_SIZE", "DB_POOL_TIMEOUT_MS", \
	"RESERVE_POOL_SIZE", "MAX_CLIENT_CONN", "REQUEST_TIMEOUT_MS", \
	"WORKER_THREADS", "RATE_LIMIT_RPS", "PARTNER_TIMEOUT_MS", \
	"PARTNER_MAX_RETRIES"

enum sre_catalog_fault {
	SRE_CATALOG_OK = 0,
	SRE_CATALOG_ACTION,	/* not an action of the catalog */
	SRE_CATALOG_TARGET,	/* no target, or not a service name */
	SRE_CATALOG_PARAMS,	/* a param missing, unknown, of the wrong
				   type or out of its bounds */
	SRE_CATALOG_BOUNDS,	/* replicas outside the policy's bounds */
	SRE_CATALOG_ALLOWLIST,	/* a config key the policy does not allow */
	SRE_CATALOG_HISTORY,	/* a rollback to a tag never deployed */
	SRE_CATALOG_PATCH,	/* a patch git reads as touching too much */
	SRE_CATALOG_ERROR	/* could not tell (git failed, no memory) */
};

/* The sre-guard rule that a fault fires: "builtin:catalog",
 * "builtin:target", "builtin:params", "builtin:blast-radius",
 * "builtin:allowlist", "builtin:history", "builtin:patch",
 * "builtin:repo"; "" for SRE_CATALOG_OK.  Static text. */
const char *sre_catalog_rule(int fault);

/* What the policy allows one service. */
struct sre_catalog_limits {
	long min_replicas;
	long max_replicas;
	const char *const *config_keys;	/* NULL terminated (borrowed) */
};

/* The built-in limits (SRE_CATALOG_MIN/MAX_REPLICAS and _CONFIG_KEYS). */
void sre_catalog_limits_default(struct sre_catalog_limits *lim);

/* Non-zero for an action of the catalog. */
int sre_catalog_action_known(const char *action);

/* Non-zero for a config key: [A-Z_][A-Z0-9_]*, at most 64 bytes. */
int sre_catalog_key_ok(const char *key);

/*
 * Non-zero when len bytes of s are text a param may carry: no NUL, no
 * C0 or C1 control, no DEL, no U+2028/U+2029, no direction or width
 * marks (U+200B-U+200F, U+202A-U+202E, U+2066-U+2069, U+FEFF).
 */
int sre_catalog_text_ok(const char *s, size_t len);

/*
 * Judge a proposal (borrowed) by the catalog's forms and, when lim is
 * not NULL, by lim: an absolute replica count within its bounds, a
 * config key on its list.  Returns SRE_CATALOG_OK, or a fault with the
 * reason in why.
 */
int sre_catalog_check(jv proposal, const struct sre_catalog_limits *lim,
    char *why, size_t whylen);

/*
 * Is want replicas of target within lim (NULL: the built-in limits)?
 * 0, or -1 with why ("scale quote-api to 51 replicas: above the limit
 * of 50", "... to 0 replicas: never to zero").
 */
int sre_catalog_replicas_ok(const struct sre_catalog_limits *lim,
    const char *target, long want, char *why, size_t whylen);

/*
 * May a proposal for target touch rel?  A clean relative path
 * (sre_gitops_relpath_ok), not sensitive (sre_gitops_path_sensitive),
 * inside the directory of target under either path template.  0, or
 * -1 with why.
 */
int sre_catalog_may_touch(const struct sre_gitops_layout *l,
    const char *target, const char *rel, char *why, size_t whylen);

/*
 * Judge a patch for target by what git reads in it: "git apply --numstat
 * --summary -z" run in root (a directory; it need not be a repository;
 * NULL: "/", and symbolic links are not looked at), with no repository
 * above root looked for, so that paths are root's own.
 * Every path, old and new, renamed or copied, must pass
 * sre_catalog_may_touch and resolve under root without a symlink leading
 * out; every mode git names must be 100644 or 100755; binary patches are
 * refused.  SRE_CATALOG_OK, SRE_CATALOG_PATCH with why, or
 * SRE_CATALOG_ERROR when git could not be run.
 */
int sre_catalog_patch_check(const char *root,
    const struct sre_gitops_layout *l, const char *target, const char *diff,
    size_t len, char *why, size_t whylen);

/*
 * After a patch is applied to the index of the worktree wt: what git
 * says changed ("git diff --cached --raw -z --no-renames HEAD") must be
 * files of target with modes 100644 or 100755 (deletions included).
 * SRE_CATALOG_OK, SRE_CATALOG_PATCH or SRE_CATALOG_ERROR, with why.
 */
int sre_catalog_staged_check(const char *wt,
    const struct sre_gitops_layout *l, const char *target, char *why,
    size_t whylen);

/*
 * The image tags target's deployment file carried in the history of the
 * repository at root (HEAD, the newest SRE_CATALOG_HISTORY_MAX commits
 * that changed it), newest first, without repeats.  An array of strings,
 * or jv_invalid() with err.
 */
jv sre_catalog_deployed(const char *root, const struct sre_gitops_layout *l,
    const char *target, char *err, size_t errlen);

/*
 * Judge a proposal (borrowed, its forms already checked) against the
 * repository at root: a rollback "to" must be among the tags deployed
 * before (sre_catalog_deployed), a patch must pass
 * sre_catalog_patch_check.  SRE_CATALOG_OK, SRE_CATALOG_HISTORY,
 * SRE_CATALOG_PATCH or SRE_CATALOG_ERROR, with why.
 */
int sre_catalog_repo_check(const char *root,
    const struct sre_gitops_layout *l, jv proposal, char *why,
    size_t whylen);

/*
 * The evidence each action needs: a remedy follows from evidence, or a
 * human is called.  Whoever proposes (sre-brain's reasoner) says which of
 * these the diagnosis shows of its target; an action whose evidence is
 * missing is not proposed: the proposal is observe, and sre-guard
 * escalates it with the diagnosis.
 *
 *	rollback  SRE_EV_RELEASE   a new version with the errors (the old
 *				   one, in the same window, without them)
 *	scale     SRE_EV_LOAD      latency or errors rising with the load
 *				   per replica (throughput up, queues)
 *	config    SRE_EV_RESOURCE  a named resource exhausted (a pool)
 *	restart   SRE_EV_PROCESS   a process state a restart clears: memory
 *				   growth, stuck workers, a crash loop
 *	patch     (none asked)     only an LLM writes one; sre-guard judges it
 *	observe   (none)
 */
#define SRE_EV_RELEASE	0x1u
#define SRE_EV_LOAD	0x2u
#define SRE_EV_RESOURCE	0x4u
#define SRE_EV_PROCESS	0x8u

/* The evidence action needs (SRE_EV_*; 0 for patch, observe and unknown
 * actions), and what it is in words ("" for none).  Static text. */
unsigned sre_catalog_evidence_needed(const char *action);
const char *sre_catalog_evidence_text(const char *action);

/*
 * Does the evidence have (SRE_EV_* bits) back action?  1 when it does (or
 * the action needs none), 0 when not, with why ("restart needs a process
 * state a restart clears (memory growth, a stuck worker, a crash loop):
 * none in the evidence").
 */
int sre_catalog_evidence_ok(const char *action, unsigned have, char *why,
    size_t whylen);

/*
 * The process-state evidence in one log or error message (untrusted
 * text, NUL terminated): SRE_EV_PROCESS when it reads as memory a process
 * does not give back (out of memory, not reclaimed, a leak), stuck or
 * hung workers, or a crash loop; else 0.  Phrases, not single words: a
 * "worker" timing out or a GC pause alone is no such state.
 */
unsigned sre_catalog_evidence_of_text(const char *text);

/*
 * The same for a metric anomaly: SRE_EV_PROCESS when metric names the
 * resident memory of a process ("process.memory.usage", "...rss...",
 * "...memory.working_set...") and observed is at least 1.3 times the
 * baseline; else 0.
 */
unsigned sre_catalog_evidence_of_metric(const char *metric, double observed,
    double baseline);

#endif
