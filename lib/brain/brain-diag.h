/*
 * brain-diag.h: the parts of a `diagnosis` beyond the reasoner's ranking
 * (rca.h): the culprit's log templates, the query for similar past
 * incidents and what they say, notes, and an LLM's answer merged in.
 *
 * Every function here works on jv values alone (and the log miner), so
 * each can be tested without the engine (brain.h) that calls them.
 */
#ifndef SRE_BRAIN_DIAG_H
#define SRE_BRAIN_DIAG_H

#include <stddef.h>

#include <jv.h>

#include "logmine.h"

/*
 * v (consumed), or jv_null() when v is not valid: a member that
 * sre_jv_get (event.h) did not find becomes a JSON null, as an event's
 * optional members are written.
 */
jv sre_brain_or_null(jv v);

/* Log templates of a diagnosis, at most. */
#define SRE_BRAIN_TEMPLATES	5

/*
 * The new or surging log templates of service among the anomalies
 * (borrowed): as the anomalies' evidence carries them ("templates":
 * {template_id, template, count, baseline}, distinct texts), else mined
 * from the evidence's messages (the first 8 of each anomaly, each
 * {text, count}) with miner (NULL: not mined), counts of one template
 * added.  At most SRE_BRAIN_TEMPLATES; an empty array when service is
 * NULL.
 */
jv sre_brain_templates(struct sre_logmine *miner, jv anomalies,
    const char *service);

/*
 * The query for memory (brain-memory.h) from the anomalies, root causes
 * and templates (all borrowed): the top root cause's fingerprints first,
 * then every other (16 at most), the services and operations (64 each),
 * signals (8) and template ids (16), each distinct.
 */
jv sre_brain_memory_query(jv anomalies, jv rcs, jv templates);

/*
 * "What was done then", for the summary: one sentence (with a leading
 * space) about the first of memory (borrowed: sre_brain_mem_lookup's
 * array), or "" when memory is empty.  Cut to fit len bytes.
 */
void sre_brain_memory_sentence(jv memory, char *buf, size_t len);

/* d (consumed) with tail appended to its summary (when it has one and
 * tail is not empty). */
jv sre_brain_summary_tail(jv d, const char *tail);

/* d (consumed) with note appended to its "notes" (made an array when it
 * is missing or not one). */
jv sre_brain_note(jv d, const char *note);

/*
 * The "llm" member of a diagnosis: {model, status, the members of usage
 * (consumed; an object, else ignored), latency_ms (rounded to 0.1),
 * attempts, anonymized, error (when not NULL)}.
 */
jv sre_brain_llm_field(const char *model, const char *status,
    double latency_ms, int attempts, jv usage, int anonymized,
    const char *error);

/*
 * The built-in diagnosis d (consumed) with an LLM's checked answer (ans,
 * borrowed: sre_brain_llm_answer's object) merged in: the answer's root
 * causes (each keeping the reasoner's kind where it names the same
 * service), summary and proposal.  When the two rank different services
 * first, the confidence drops to the smaller of the LLM's and 1 minus
 * the reasoner's (at least 0.05; the reasoner's is calibrated, the LLM's
 * is not) and a note says so.
 */
jv sre_brain_llm_merge(jv d, jv ans);

#endif
