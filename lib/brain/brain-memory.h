/*
 * brain-memory.h: what sre-brain remembers of past incidents, as one small
 * interface over the LMDB store of store.h (written by sre-curate and
 * sre-cag).
 *
 *	struct sre_brain_mem *m;
 *	sre_brain_mem_open(&m, state_dir, err, sizeof(err));
 *	jv fix;
 *	jv mem = sre_brain_mem_lookup(m, query, incident, 5, &fix, err,
 *	    sizeof(err));
 *	sre_brain_mem_close(m);
 *
 * The store is opened read-only, and only when it exists: a brain that
 * starts before anything was curated has an empty memory, and looks
 * again (at most every 30 s) until the store appears.
 */
#ifndef SRE_BRAIN_MEMORY_H
#define SRE_BRAIN_MEMORY_H

#include <stddef.h>

#include <jv.h>

struct sre_brain_mem;

/*
 * Set up memory over <state_dir>/store.  Returns EX_OK with *m set (the
 * store may not exist yet: sre_brain_mem_ready says), or a sysexits code
 * with a message in err for a store that exists but cannot be read
 * (another schema, permissions).
 */
int sre_brain_mem_open(struct sre_brain_mem **m, const char *state_dir,
    char *err, size_t errlen);

/* Close; accepts NULL. */
void sre_brain_mem_close(struct sre_brain_mem *m);

/* Non-zero when a store is open. */
int sre_brain_mem_ready(struct sre_brain_mem *m);

/*
 * Similar past incidents for query (borrowed): an object with the arrays
 * "fingerprints", "services", "operations", "signals", "templates" and
 * "words" (any may be missing).  First the incidents that share a
 * fingerprint (newest first), then those the store's similarity index
 * finds, without exclude (this incident; may be NULL), at most max in
 * all.  Returns an array of {"incident", "via" ("fingerprint" or
 * "similarity"), "score", "outcome", "proposal", "summary"} (members the
 * record lacks are null).  *known_fix gets the best known fix for one of
 * the fingerprints (a CAG entry with at least one success and no more
 * failures than successes), else jv_null().  On a store error returns
 * an empty array with a message in err (err is "" otherwise).
 */
jv sre_brain_mem_lookup(struct sre_brain_mem *m, jv query,
    const char *exclude, int max, jv *known_fix, char *err, size_t errlen);

#endif
