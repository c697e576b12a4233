/*
 * brain-anomaly.h: what sre-brain keeps of the anomalies it reads.
 *
 * Each anomaly is kept whole while its line is short, else as a trimmed
 * copy (evidence is for ranking and for the people reading a diagnosis;
 * a megabyte of it per anomaly is only a way to fill our memory), and
 * weighed, so that --max-memory bounds what all incidents hold.
 *
 * Per fingerprint, the series' recurrences are kept too (struct
 * sre_brain_series): the largest deviation it showed in each occurrence,
 * an incident and within it each episode between its recoveries.  The
 * reasoner (rca.h, opts.chronic) discounts a series that does this
 * often.
 */
#ifndef SRE_BRAIN_ANOMALY_H
#define SRE_BRAIN_ANOMALY_H

#include <stddef.h>

#include <jv.h>

#define SRE_BRAIN_KEEP_LINE	4096	/* an anomaly over this is trimmed */
#define SRE_BRAIN_KEEP_STRING	1024	/* ... its strings to this many bytes */
#define SRE_BRAIN_KEEP_ITEMS	32	/* ... its arrays to this many items */
#define SRE_BRAIN_KEEP_DEPTH	4	/* ... and its nesting to this deep */

/*
 * A copy of v small enough to keep: strings cut to KEEP_STRING bytes (at
 * a character), arrays to KEEP_ITEMS items, objects to KEEP_ITEMS
 * members, nothing deeper than KEEP_DEPTH (an array or object there
 * becomes empty).  Consumes v; depth is v's own, 0 at the top.
 */
jv sre_brain_trim(jv v, int depth);

/*
 * What v takes in memory, roughly, as libjq holds it: a header per value,
 * a slot per array item or object member, the bytes of each string.
 * Borrows v.  The same in every build (a process-wide count such as
 * mallinfo is blind under the sanitizers).
 */
size_t sre_brain_weight(jv v);

/* The anomaly ev (consumed) as kept, read from a line of len bytes:
 * trimmed past SRE_BRAIN_KEEP_LINE; its weight in *size. */
jv sre_brain_keep(jv ev, size_t len, size_t *size);

#define SRE_BRAIN_SEEN_MAX	 8192	/* fingerprints remembered */
#define SRE_BRAIN_SEEN_INCIDENTS 8	/* occurrences each */

struct sre_brain_series {
	jv seen;	/* fingerprint -> {"INCIDENT#EPISODE": deviation} */
	jv episodes;	/* fingerprint -> its recoveries so far */
	size_t nseen;
};

/* Start empty; sre_brain_series_free when done. */
void sre_brain_series_init(struct sre_brain_series *s);
void sre_brain_series_free(struct sre_brain_series *s);

/*
 * Anomaly ev (borrowed) of incident: remember its deviation
 * (sre_rca_deviation) for the current episode of its fingerprint, if
 * larger.  Past SRE_BRAIN_SEEN_MAX fingerprints or SRE_BRAIN_SEEN_INCIDENTS
 * occurrences of one, news is not kept; an anomaly without a fingerprint
 * or a deviation, or of an incident id over 296 bytes, neither.
 */
void sre_brain_series_add(struct sre_brain_series *s, const char *incident,
    jv ev);

/* The series of fingerprint fp (NULL: nothing) recovered: its next
 * anomaly starts another episode (when the series is known). */
void sre_brain_series_recovered(struct sre_brain_series *s, const char *fp);

/*
 * For the anomalies (borrowed) of incident: fingerprint -> what its
 * series did in other occurrences, as opts.chronic of rca.h wants it: the
 * largest deviation in other incidents, or the second largest of this
 * incident's own episodes, whichever is larger (an anomaly of the largest
 * episode is judged against the next; those of the others against it,
 * which is no smaller).  Fingerprints seen nowhere else are left out.
 */
jv sre_brain_series_chronic(const struct sre_brain_series *s,
    const char *incident, jv anomalies);

#endif
