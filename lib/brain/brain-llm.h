/*
 * brain-llm.h: what sre-brain asks an LLM, and how it checks the answer.
 *
 * The request is an OpenAI chat-completions body: a system message with
 * the rules, a user message holding the incident as one JSON document
 * (its anomalies and their evidence, the call edges, the built-in
 * reasoner's ranked candidates and proposal, log templates, similar past
 * incidents), and a response_format of type json_schema asking for
 * {root_causes, confidence, summary, proposal}.  Telemetry is bounded
 * (at most SRE_BRAIN_LLM_ANOMALIES anomalies, a few messages each, short
 * strings; the whole document at most SRE_BRAIN_LLM_MAX_PROMPT bytes)
 * and quoted as data: every string sits inside the JSON document, which
 * the system message declares to be data, never instructions.  With an
 * anonymiser, service names, hosts, addresses, ids and anything
 * token-like are replaced by placeholders first (anon.h).
 *
 * The answer is untrusted.  It is accepted only when the response is a
 * chat completion whose first choice holds JSON content (not a refusal,
 * not cut short) that matches the schema: 1 to 10 root causes naming
 * services of this incident, scores and confidence in 0..1, a proposal
 * from the catalog (patch is not taken from an LLM) whose target is a
 * service of this incident and whose params fit the action.  Placeholders
 * are mapped back before checking; text is stripped of control
 * characters and cut short.
 */
#ifndef SRE_BRAIN_LLM_H
#define SRE_BRAIN_LLM_H

#include <stddef.h>

#include <jv.h>

#include "anon.h"

#define SRE_BRAIN_LLM_ANOMALIES	25
#define SRE_BRAIN_LLM_MAX_PROMPT	(24 * 1024)

struct sre_brain_llm_in {
	const char *incident;
	jv anomalies;		/* borrowed: the incident's anomaly events */
	jv builtin;		/* borrowed: the built-in diagnosis */
	jv templates;		/* borrowed: array of {template, count} */
	jv memory;		/* borrowed: array of memory entries */
	struct sre_anon *anon;	/* NULL: names go as they are */
};

/* The request body for model.  Registers this incident's services with
 * the anonymiser.  Never fails but for memory (jv_invalid()). */
jv sre_brain_llm_request(const char *model, const struct sre_brain_llm_in *in);

/* The system message (for tests and the man page). */
const char *sre_brain_llm_system(void);

/*
 * Check a response body (len bytes).  Returns an object
 *	{"root_causes", "confidence", "summary", "proposal",
 *	 "model" (string or null), "usage" {"prompt_tokens",
 *	 "completion_tokens", "total_tokens"} (numbers, or null)}
 * with placeholders mapped back, or jv_invalid_with_msg() saying what was
 * wrong, in a few words fit for a diagnosis note.
 */
jv sre_brain_llm_answer(const char *body, size_t len,
    const struct sre_brain_llm_in *in);

#endif
