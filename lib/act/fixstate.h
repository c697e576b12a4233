/*
 * fixstate.h: what sre-fix keeps and reports while it acts: its settings
 * and handles (struct sre_fix), the action events it writes, and what it
 * remembers of the events it has seen, in memory and in the store.
 *
 * The store holds (keys through sre_policy_key, so any id fits):
 *	fix:verdict:<verdict id>	the action a verdict got (replayed
 *					when the verdict comes again)
 *	fix:done:<incident>		the incident's outcome (once each)
 *	fix:diagnosis:<diagnosis id>	a verified diagnosis's gist
 *	fix:pending			the fixes under verification
 *					(fixverify.h)
 *
 * Trust (mac.h): an approving verdict is acted on only when it follows a
 * verified diagnosis of the same incident that made the same proposal,
 * and both confidences are numbers from 0 to 1 (sre_fix_verdict_ok).
 *
 * The library prints nothing: action events go to the emit callback,
 * messages to the say callback of f->repo (fixrepo.h).
 */
#ifndef SRE_FIXSTATE_H
#define SRE_FIXSTATE_H

#include <stddef.h>
#include <stdint.h>

#include <jv.h>

#include "evtime.h"
#include "fixrepo.h"
#include "github.h"
#include "gitops.h"
#include "mac.h"

#define SRE_FIX_MAX_ANOMALIES	1000	/* kept in memory, then forgotten */
#define SRE_FIX_MAX_DIAGNOSES	1000

struct sre_policy;
struct sre_store;

/* Hands one signed action event (a line without a newline) on: 0, or -1
 * when it could not be written. */
typedef int sre_fix_emit_fn(void *ctx, const char *line, size_t len);

struct sre_fix {
	/* Set by the caller (after sre_fix_init): */
	struct sre_fixrepo repo;	/* opened: sre_fixrepo_open */
	struct sre_policy *policy;	/* the catalog's limits; borrowed */
	struct sre_gitops_layout layout;
	struct sre_github gh;		/* used when use_github is set */
	int use_github;
	jv labels;			/* of issues and pull requests */
	struct sre_store *st;		/* borrowed */
	struct sre_mac_key key;		/* signs actions, checks inputs */
	int64_t window_ms;		/* the verify window; 0: none */
	int auto_merge, dry_run, no_push;
	sre_fix_emit_fn *emit;
	void *emit_ctx;
	/* Kept by the library: */
	struct sre_evclock clock;	/* fed by the caller (sre_evclock_see) */
	jv pending;			/* incident -> what is verified */
	jv anomalies;			/* incident -> last anomaly seen */
	jv diagnoses;			/* id -> verified diagnosis's gist */
	unsigned long long actions;	/* action events emitted */
};

/* What one fix (or revert) made, so that it can be undone or verified. */
struct sre_fix_made {
	char branch[256];
	char commit[64];
	char pr_url[512];
	char issue_url[512];
	long pr, issue;			/* 0: none */
	int pushed, merged, local;
	char merge_sha[64];		/* GitHub's merge commit, if any */
};

/*
 * Zero f, with empty state, no labels, a 10-minute verify window, and
 * the callbacks: say (messages, fixrepo.h) and emit (action events), both
 * called with ctx.
 */
void sre_fix_init(struct sre_fix *f, sre_fix_say_fn *say,
    sre_fix_emit_fn *emit, void *ctx);

/* Free what f holds (not the store nor the policy).  f may be NULL. */
void sre_fix_free(struct sre_fix *f);

/* Say a message through f->repo (sre_fixrepo_say). */
void sre_fix_say(struct sre_fix *f, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The text under key in the store (malloc'd), or NULL when there is none
 * or the store failed (said as a warning). */
char *sre_fix_kv_get(struct sre_fix *f, const char *key);

/*
 * A new action event of incident inc at ts: status, the repository,
 * branch, commit and pr_url (NULL or "": null) and detail (NULL: "", the
 * GitHub token masked).  The event is not signed yet.
 */
jv sre_fix_action(struct sre_fix *f, const char *inc, int64_t ts,
    const char *status, const char *branch, const char *commit,
    const char *pr_url, const char *detail);

/*
 * Sign ev (consumed) and hand it to f->emit, after it is stored under
 * fix:verdict:<verdict_id> (verdict_id may be NULL: not stored) and, when
 * done is set, as incident inc's outcome.  Returns a sysexits code: not
 * EX_OK when signing, memory or the store failed (nothing emitted).
 */
int sre_fix_record(struct sre_fix *f, jv ev, const char *verdict_id,
    const char *inc, int done);

/* The action event verdict vid got already (malloc'd text), or NULL. */
char *sre_fix_replay(struct sre_fix *f, const char *vid);

/* Remember the anomaly ev (borrowed) as incident inc's latest: the
 * evidence a commit message cites. */
void sre_fix_note_anomaly(struct sre_fix *f, jv ev, const char *inc);

/*
 * Remember what the verified diagnosis ev (borrowed; its id a string)
 * proposed, in memory and in the store, so that a verdict read after a
 * restart finds it.  Returns a sysexits code.
 */
int sre_fix_note_diagnosis(struct sre_fix *f, jv ev);

/*
 * Whether the verified approving verdict v (borrowed, an object with a
 * string incident) may be acted on: it names a diagnosis noted by
 * sre_fix_note_diagnosis, of the same incident, with an equal proposal,
 * and both confidences are numbers from 0 to 1.  0, or -1 with the
 * reason in why.
 */
int sre_fix_verdict_ok(struct sre_fix *f, jv v, char *why, size_t whylen);

#endif
