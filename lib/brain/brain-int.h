/*
 * brain-int.h: the engine's own structures, shared by brain.c (incidents
 * and the events that feed them) and brain-ask.c (diagnosing one: the
 * reasoner, memory, the LLM, the event written).  Not for tools: they use
 * brain.h.
 */
#ifndef SRE_BRAIN_INT_H
#define SRE_BRAIN_INT_H

#include <stdint.h>

#include <jv.h>

#include "anon.h"
#include "brain-anomaly.h"
#include "brain-settle.h"
#include "brain.h"
#include "logmine.h"
#include "rca.h"

#define SRE_BRAIN_HASH	16384	/* incident buckets, a power of 2 */
#define SRE_BRAIN_TTL_MS	(60 * 60 * 1000)	/* forget incidents
							 * idle this long */

struct incident {
	char *id;
	jv anomalies;
	int nanom;
	size_t bytes;		/* sre_brain_weight() of the anomalies kept */
	int64_t touched_ms;
	struct sre_brain_settle st;
	jv last;		/* the diagnosis out there, or null */
	jv cag_proposal;
	int closed;		/* every series recovered after a diagnosis */
	jv failed;		/* proposals that failed */
	jv recovered;		/* fingerprint -> true */
	jv notes;		/* what was odd about its input */
	int late_noted, early_noted, capped_noted;
	/* waiting for the LLM */
	uint64_t tag;
	jv builtin;
	struct sre_anon *anon;
	jv llm_in;		/* the anomalies as asked */
	struct incident *hnext, *prev, *next;
};

struct sre_brain {
	struct sre_brain_conf c;
	struct sre_rca_graph *g;
	struct sre_logmine *miner;
	struct incident *hash[SRE_BRAIN_HASH];
	struct incident *head, *tail;	/* least recently touched first */
	long nincidents;
	size_t bytes;		/* of every incident's anomalies */
	int64_t clock;		/* event time, -1 before any */
	int64_t clock_input;	/* the clock at the last line */
	double mono_input;
	int64_t next_due;
	uint64_t next_tag;
	size_t graph_dropped;
	struct sre_brain_series series;
	double llm_performed;
	struct sre_brain_stats n;
};

/* conf.say with a message formatted as printf does. */
void sre_brain_say(struct sre_brain *b, enum sre_brain_say how, int at_line,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Note what was odd about incident i's input for its diagnosis (20 at
 * most). */
void sre_brain_inc_note(struct incident *i, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Diagnose incident i now (brain-ask.c): emit, or with allow_llm and an
 * LLM configured ask it and emit when it answers (sre_brain_llm_poll). */
void sre_brain_diagnose(struct sre_brain *b, struct incident *i,
    int allow_llm);

/* Write diagnosis d (consumed) as incident i's next revision. */
void sre_brain_emit(struct sre_brain *b, struct incident *i, jv d);

/* Take the LLM's finished answers, if any. */
void sre_brain_llm_poll(struct sre_brain *b);

#endif
