/*
 * brain.h: sre-brain's engine: incidents gathered from the event stream,
 * each diagnosed once its anomalies settle (brain-settle.h), revised when
 * the picture changes, the LLM asked as well when one is configured.
 *
 *	struct sre_brain_conf c;
 *	sre_brain_conf_init(&c);
 *	c.emit = write_it; c.say = report_it; c.ctx = stream;
 *	b = sre_brain_new(&c);
 *	for each checked event ev, read from a line of len bytes:
 *		if (sre_brain_event(b, ev, len) < 0) out of memory;
 *		sre_brain_line_done(b);
 *	when the input is quiet: sre_brain_idle(b), and wait at most
 *	    sre_brain_idle_ms(b) for more;
 *	at its end: sre_brain_finish(b);
 *	sre_brain_free(b);
 *
 * Time is event time: the largest ts_ms read, carried on by the wall clock
 * while live input is quiet.  The engine never prints and never exits:
 * diagnoses go to conf.emit, messages to conf.say.  It reads the event
 * types anomaly, recovery, diagnosis (sre-cag's and its own from an
 * earlier run), action and topology; the rest is not its business.
 */
#ifndef SRE_BRAIN_H
#define SRE_BRAIN_H

#include <stddef.h>
#include <stdint.h>

#include <jv.h>

#include "brain-memory.h"
#include "llm.h"
#include "mac.h"

/* What conf.say is told. */
enum sre_brain_say {
	SRE_BRAIN_WARN,		/* an error (sre_warnx) */
	SRE_BRAIN_NOTICE,	/* worth knowing (sre_notice) */
	SRE_BRAIN_INFO,		/* with -v (sre_info) */
	SRE_BRAIN_REJECT	/* the current line is rejected for msg */
};

struct sre_brain_conf {
	int64_t settle_ms;	/* gather an incident's anomalies this long */
	int64_t evidence_ms;	/* a first diagnosis proposing no change
				 * waits this much more for the evidence
				 * that decides (brain-settle.h); 0 not,
				 * -1 one settle time */
	int top;		/* root causes per diagnosis */
	long max_incidents;	/* incidents remembered at once */
	long max_anomalies;	/* anomalies kept per incident */
	size_t max_memory;	/* bytes of anomalies kept, in all */
	const struct sre_mac_key *key;	/* signs diagnoses, checks control
					 * events; borrowed */
	struct sre_brain_mem *mem;	/* similar past incidents; NULL none;
					 * borrowed */
	struct sre_llm *llm;	/* NULL: the built-in reasoner alone;
				 * borrowed */
	const char *model;	/* the LLM's model */
	int anonymize;		/* replace names sent to the LLM */
	/* A diagnosis event, signed (consumed). */
	void (*emit)(void *ctx, jv ev);
	/* A message of kind how; at_line: about the line just read. */
	void (*say)(void *ctx, enum sre_brain_say how, int at_line,
	    const char *msg);
	/* Wherever the LLM's concurrency may be revised (after each line,
	 * while idle, while waiting for answers); may be NULL. */
	void (*govern)(void *ctx);
	void *ctx;
};

/* Counts for the tool's report. */
struct sre_brain_stats {
	unsigned long long anomalies, incidents, diagnoses, updates,
	    llm_ok, llm_fallback, held, evicted;
};

/* Defaults: settle 10 s, top 5, 10000 incidents, 1000 anomalies each,
 * 16 MiB; no key, memory or LLM; the callbacks NULL (set emit and say). */
void sre_brain_conf_init(struct sre_brain_conf *c);

/* A new engine on conf (copied; what it points to is borrowed and must
 * outlive the engine), or NULL when out of memory. */
struct sre_brain *sre_brain_new(const struct sre_brain_conf *conf);

/* Free the engine and every incident; accepts NULL.  Emits nothing:
 * call sre_brain_finish first. */
void sre_brain_free(struct sre_brain *b);

/*
 * Take one event ev (borrowed; sre_event_check passed) read from a line
 * of len bytes: moves the clock, feeds the incident it names.  A line the
 * engine cannot use is reported through say (SRE_BRAIN_REJECT): a
 * topology it cannot read, a control event without a valid signature, an
 * anomaly without a service.  Returns 0, or -1 when out of memory.
 */
int sre_brain_event(struct sre_brain *b, jv ev, size_t len);

/* After each line: diagnose what is due, forget idle incidents, keep LLM
 * transfers moving. */
void sre_brain_line_done(struct sre_brain *b);

/* The input is quiet: event time goes on with the wall clock; diagnose
 * what is due, take the LLM's answers, forget idle incidents. */
void sre_brain_idle(struct sre_brain *b);

/* How long (ms) the caller may wait for input before it calls
 * sre_brain_idle; -1: as long as it likes. */
int sre_brain_idle_ms(struct sre_brain *b);

/* The input ended (or the tool is stopping): diagnose every incident
 * still gathering, wait for the LLM's answers (unless stopping), emit
 * what is left with the built-in diagnosis. */
void sre_brain_finish(struct sre_brain *b);

/* Borrowed; valid while b lives. */
const struct sre_brain_stats *sre_brain_stats(const struct sre_brain *b);

#endif
