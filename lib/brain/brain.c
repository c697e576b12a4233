/*
 * brain.c: sre-brain's engine (brain.h): the incidents, kept in a hash
 * table and a list from the least recently touched, and the events that
 * feed them.  Diagnosing one is brain-ask.c's; when is brain-settle.c's.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brain-diag.h"
#include "brain-int.h"
#include "clock.h"
#include "event.h"
#include "hash.h"
#include "sig.h"

void
sre_brain_say(struct sre_brain *b, enum sre_brain_say how, int at_line,
    const char *fmt, ...)
{
	char msg[4096];	/* an incident id may be long */
	va_list ap;

	if (b->c.say == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	b->c.say(b->c.ctx, how, at_line, msg);
}

void
sre_brain_inc_note(struct incident *i, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if (jv_array_length(jv_copy(i->notes)) >= 20)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	i->notes = jv_array_append(i->notes, jv_string(buf));
}

/* ---- incidents ------------------------------------------------------ */

static struct incident **
bucket(struct sre_brain *b, const char *id)
{
	return &b->hash[sre_fnv1a64_str(SRE_FNV64_BASIS, id) &
	    (SRE_BRAIN_HASH - 1)];
}

static struct incident *
inc_find(struct sre_brain *b, const char *id)
{
	struct incident *i;

	for (i = *bucket(b, id); i != NULL; i = i->hnext)
		if (strcmp(i->id, id) == 0)
			return i;
	return NULL;
}

static void
lru_unlink(struct sre_brain *b, struct incident *i)
{
	if (i->prev != NULL)
		i->prev->next = i->next;
	else
		b->head = i->next;
	if (i->next != NULL)
		i->next->prev = i->prev;
	else
		b->tail = i->prev;
	i->prev = i->next = NULL;
}

static void
lru_append(struct sre_brain *b, struct incident *i)
{
	i->prev = b->tail;
	i->next = NULL;
	if (b->tail != NULL)
		b->tail->next = i;
	else
		b->head = i;
	b->tail = i;
}

static void
inc_touch(struct sre_brain *b, struct incident *i)
{
	lru_unlink(b, i);
	lru_append(b, i);
	i->touched_ms = b->clock;
}

static void
inc_free(struct sre_brain *b, struct incident *i)
{
	struct incident **pp;

	for (pp = bucket(b, i->id); *pp != NULL; pp = &(*pp)->hnext)
		if (*pp == i) {
			*pp = i->hnext;
			break;
		}
	lru_unlink(b, i);
	b->nincidents--;
	b->bytes -= i->bytes;
	free(i->id);
	jv_free(i->anomalies);
	jv_free(i->last);
	jv_free(i->cag_proposal);
	jv_free(i->failed);
	jv_free(i->recovered);
	jv_free(i->notes);
	jv_free(i->builtin);
	jv_free(i->llm_in);
	sre_anon_free(i->anon);
	free(i);
}

/*
 * Make room: forget the least recently touched incident that is not
 * waiting for the LLM (diagnosing it first if it never was).  Returns 1
 * when one was forgotten, 0 when none could be.
 */
static int
inc_evict(struct sre_brain *b, const char *why)
{
	struct incident *i;

	for (i = b->head; i != NULL; i = i->next)
		if (i->st.state != SRE_BRAIN_WAIT_LLM)
			break;
	if (i == NULL)
		return 0;
	if (i->st.state == SRE_BRAIN_PENDING && i->nanom > 0) {
		sre_brain_diagnose(b, i, 0);
		if (i->st.state == SRE_BRAIN_PENDING)	/* no waiting now */
			sre_brain_diagnose(b, i, 0);
		if (i->st.state == SRE_BRAIN_WAIT_LLM)
			return 0;
	}
	if (b->n.evicted++ == 0)
		sre_brain_say(b, SRE_BRAIN_NOTICE, 0, "%s: forgetting the "
		    "least recent incidents, each diagnosed first", why);
	inc_free(b, i);
	return 1;
}

/* Incident id, found or made (evicting past --max-incidents); NULL when
 * out of memory. */
static struct incident *
inc_get(struct sre_brain *b, const char *id)
{
	struct incident *i = inc_find(b, id), **h;

	if (i != NULL)
		return i;
	while (b->nincidents >= b->c.max_incidents && b->head != NULL &&
	    inc_evict(b, "more open incidents than --max-incidents"))
		;
	if ((i = calloc(1, sizeof(*i))) == NULL ||
	    (i->id = strdup(id)) == NULL) {
		free(i);
		return NULL;
	}
	i->anomalies = jv_array();
	i->last = jv_null();
	i->cag_proposal = jv_null();
	i->failed = jv_array();
	i->recovered = jv_object();
	i->notes = jv_array();
	i->builtin = jv_null();
	i->llm_in = jv_null();
	sre_brain_settle_init(&i->st);
	h = bucket(b, id);
	i->hnext = *h;
	*h = i;
	lru_append(b, i);
	i->touched_ms = b->clock;
	b->nincidents++;
	b->n.incidents++;
	return i;
}

/* Forget the least recently touched incidents while the anomalies kept
 * pass --max-memory (never the one just touched: it is last). */
static void
inc_fit(struct sre_brain *b)
{
	while (b->bytes > b->c.max_memory && b->nincidents > 1 &&
	    inc_evict(b, "the anomalies kept pass --max-memory"))
		;
}

/* Incident i is due at `due` (>= 0; -1 changes nothing). */
static void
schedule(struct sre_brain *b, int64_t due)
{
	if (due >= 0 && (b->next_due < 0 || due < b->next_due))
		b->next_due = due;
}

/* Diagnose every incident whose settle time is over (all: every one
 * with a due time). */
static void
run_due(struct sre_brain *b, int all)
{
	struct incident *i, *nx;
	int64_t next = -1;

	if (!all && (b->next_due < 0 || b->clock < b->next_due))
		return;
	for (i = b->head; i != NULL; i = nx) {
		nx = i->next;
		if (i->st.due_ms < 0)
			continue;
		if (sre_brain_settle_is_due(&i->st, b->clock, all)) {
			if (i->st.state == SRE_BRAIN_HELD)
				i->st.due_ms = -1;
			else {
				sre_brain_diagnose(b, i, !sre_stopping());
				/* at the end nothing more arrives: a first
				 * observe waits no longer */
				if (all && i->st.state == SRE_BRAIN_PENDING)
					sre_brain_diagnose(b, i,
					    !sre_stopping());
				/* waiting on: due again later */
				if (i->st.due_ms >= 0 && (next < 0 ||
				    i->st.due_ms < next))
					next = i->st.due_ms;
			}
		} else if (next < 0 || i->st.due_ms < next)
			next = i->st.due_ms;
	}
	b->next_due = next;
}

/* Forget incidents nobody has spoken of for a long time (a closed one
 * after a settle time). */
static void
sweep(struct sre_brain *b)
{
	struct incident *i, *nx;

	for (i = b->head; i != NULL; i = nx) {
		nx = i->next;
		if (b->clock - i->touched_ms < (i->closed ? b->c.settle_ms :
		    SRE_BRAIN_TTL_MS))
			break;
		if (i->st.state == SRE_BRAIN_WAIT_LLM || i->st.due_ms >= 0)
			continue;
		inc_free(b, i);
	}
}

/* ---- the events ----------------------------------------------------- */

/* Incident i holds --max-anomalies: keep the strongest, replacing the
 * weakest by ev (borrowed, len bytes) if weaker. */
static void
keep_strongest(struct sre_brain *b, struct incident *i, jv ev, size_t len)
{
	int k, weakest = -1;
	double ws = 0, sc = 0, x;
	size_t size;

	sre_jv_num(ev, "score", &sc);
	for (k = 0; k < i->nanom; k++) {
		jv a = jv_array_get(jv_copy(i->anomalies), k);

		x = 0;
		sre_jv_num(a, "score", &x);
		if (weakest < 0 || x < ws) {
			weakest = k;
			ws = x;
		}
		jv_free(a);
	}
	if (!i->capped_noted) {
		i->capped_noted = 1;
		sre_brain_inc_note(i, "more than %ld anomalies: the weakest "
		    "were left out", b->c.max_anomalies);
	}
	if (weakest >= 0 && sc > ws) {
		/* Counted as added: the weakest's size is not known, and
		 * the bound only has to hold. */
		i->anomalies = jv_array_set(i->anomalies, weakest,
		    sre_brain_keep(jv_copy(ev), len, &size));
		i->bytes += size;
		b->bytes += size;
	}
}

/* An anomaly of event time ts (-1: none) older than the diagnosis out
 * there, or than the settle time allows, is said once per incident. */
static void
note_late(struct sre_brain *b, struct incident *i, int64_t ts)
{
	if (i->late_noted || !((i->st.revision > 0 && i->st.first_ms >= 0 &&
	    ts < i->st.first_ms) || (b->clock >= 0 &&
	    ts < b->clock - b->c.settle_ms)))
		return;
	i->late_noted = 1;
	sre_brain_say(b, SRE_BRAIN_NOTICE, 1, "incident %s: anomaly from "
	    "%lld ms before the newest event (out of order); taken", i->id,
	    (long long)(b->clock - ts));
	sre_brain_inc_note(i, "anomalies arrived out of order");
}

static void
on_anomaly(struct sre_brain *b, struct incident *i, jv ev, size_t len,
    int64_t ts)
{
	const char *fp = sre_jv_str(ev, "fingerprint");
	size_t size;

	sre_rca_graph_anomaly(b->g, ev);
	sre_brain_series_add(&b->series, i->id, ev);
	b->n.anomalies++;
	if (ts < 0)
		ts = b->clock;
	if (i->nanom >= b->c.max_anomalies)
		keep_strongest(b, i, ev, len);
	else {
		i->anomalies = jv_array_append(i->anomalies,
		    sre_brain_keep(jv_copy(ev), len, &size));
		i->bytes += size;
		b->bytes += size;
		i->nanom++;
	}
	inc_fit(b);
	if (fp != NULL)
		i->recovered = jv_object_delete(i->recovered, jv_string(fp));
	i->closed = 0;
	note_late(b, i, ts);
	schedule(b, sre_brain_settle_anomaly(&i->st, ts, b->clock,
	    b->c.settle_ms));
}

/* Has every anomaly of i with a fingerprint recovered? */
static int
all_recovered(struct incident *i)
{
	int k, all = 1;

	for (k = 0; k < i->nanom && all; k++) {
		jv a = jv_array_get(jv_copy(i->anomalies), k), r;
		const char *f = sre_jv_str(a, "fingerprint");

		if (f != NULL) {
			r = sre_jv_get(i->recovered, f);
			all = jv_get_kind(r) == JV_KIND_TRUE;
			jv_free(r);
		}
		jv_free(a);
	}
	return all;
}

static void
on_recovery(struct sre_brain *b, struct incident *i, jv ev)
{
	const char *fp = sre_jv_str(ev, "fingerprint");

	if (fp != NULL)
		i->recovered = jv_object_set(i->recovered, jv_string(fp),
		    jv_true());
	sre_brain_series_recovered(&b->series, fp);
	if (i->nanom == 0) {
		if (!i->early_noted) {
			i->early_noted = 1;
			sre_brain_say(b, SRE_BRAIN_NOTICE, 1, "incident %s: a "
			    "recovery before any anomaly (out of order); "
			    "kept", i->id);
			sre_brain_inc_note(i, "a recovery arrived before its "
			    "anomaly (out of order)");
		}
		return;
	}
	if (all_recovered(i) && i->st.state == SRE_BRAIN_DONE)
		i->closed = 1;
}

static void
on_diagnosis(struct sre_brain *b, struct incident *i, jv ev)
{
	const char *src = sre_jv_str(ev, "source");
	int64_t rev = 1;

	if (src != NULL && strcmp(src, "sre-cag") == 0) {
		jv_free(i->cag_proposal);
		i->cag_proposal = sre_jv_get(ev, "proposal");
	} else if (src != NULL && strcmp(src, "sre-brain") == 0) {
		sre_jv_int(ev, "revision", &rev);
		jv_free(i->last);
		i->last = jv_copy(ev);
	}
	if (sre_brain_settle_foreign(&i->st, src, rev, i->nanom))
		b->n.held++;
}

static void
on_action(struct sre_brain *b, struct incident *i, jv ev)
{
	const char *st = sre_jv_str(ev, "status");
	jv p;

	switch (sre_brain_settle_action(&i->st, st, i->nanom,
	    jv_get_kind(i->last) == JV_KIND_OBJECT, b->clock,
	    b->c.settle_ms)) {
	case SRE_BRAIN_ACT_CAG_FAILED:
		if (jv_get_kind(i->cag_proposal) == JV_KIND_OBJECT)
			i->failed = jv_array_append(i->failed,
			    jv_copy(i->cag_proposal));
		break;
	case SRE_BRAIN_ACT_OURS_FAILED:
		p = sre_jv_get(i->last, "proposal");
		if (jv_get_kind(p) == JV_KIND_OBJECT)
			i->failed = jv_array_append(i->failed, p);
		else
			jv_free(p);
		sre_brain_inc_note(i, "an action on the earlier proposal %s",
		    st);
		break;
	case SRE_BRAIN_ACT_NONE:
		return;
	}
	schedule(b, i->st.due_ms);
}

static void
on_topology(struct sre_brain *b, jv ev)
{
	char err[512];
	size_t skipped = 0;

	if (sre_rca_graph_topology(b->g, ev, &skipped, err, sizeof(err)) < 0)
		sre_brain_say(b, SRE_BRAIN_REJECT, 1, "%s", err);
	else if (skipped > 0)
		sre_brain_say(b, SRE_BRAIN_INFO, 1, "topology: %zu malformed "
		    "edges or services skipped", skipped);
	if (sre_rca_graph_dropped(b->g) > b->graph_dropped) {
		if (b->graph_dropped == 0)
			sre_brain_say(b, SRE_BRAIN_NOTICE, 0, "the call graph "
			    "is full: %zu services, %zu edges; more are left "
			    "out", sre_rca_graph_services(b->g),
			    sre_rca_graph_edges(b->g));
		b->graph_dropped = sre_rca_graph_dropped(b->g);
	}
}

/* The clock moves on to ev's time (a sane one, never back). */
static void
clock_event(struct sre_brain *b, jv ev)
{
	int64_t ts = -1;

	if (sre_jv_int(ev, "ts_ms", &ts) == 0 && ts > 0 &&
	    ts < 32503680000000LL && ts > b->clock)
		b->clock = ts;
	b->clock_input = b->clock;
	b->mono_input = sre_mono_msf();
}

int
sre_brain_event(struct sre_brain *b, jv ev, size_t len)
{
	const char *type, *incident, *svc;
	char err[512];
	int64_t ts = -1;
	struct incident *i;

	clock_event(b, ev);
	type = sre_jv_str(ev, "type");
	incident = sre_jv_str(ev, "incident");
	if (type == NULL)
		return 0;
	if (strcmp(type, "topology") == 0) {
		on_topology(b, ev);
		return 0;
	}
	if (incident == NULL || *incident == '\0')
		return 0;
	if (sre_mac_control(type) && strcmp(type, "verdict") != 0 &&
	    sre_mac_check(b->c.key, ev, err, sizeof(err)) < 0) {
		sre_brain_say(b, SRE_BRAIN_REJECT, 1, "%s: ignored", err);
		return 0;
	}
	if (strcmp(type, "anomaly") == 0) {
		svc = sre_jv_str(ev, "service");
		if (svc == NULL || *svc == '\0') {
			sre_brain_say(b, SRE_BRAIN_REJECT, 1, "anomaly without "
			    "a service: passed on, not diagnosed");
			return 0;
		}
		if ((i = inc_get(b, incident)) == NULL)
			return -1;
		inc_touch(b, i);
		sre_jv_int(ev, "ts_ms", &ts);
		on_anomaly(b, i, ev, len, ts > 0 ? ts : -1);
	} else if (strcmp(type, "recovery") == 0) {
		if ((i = inc_get(b, incident)) == NULL)
			return -1;
		inc_touch(b, i);
		on_recovery(b, i, ev);
	} else if (strcmp(type, "diagnosis") == 0) {
		if ((i = inc_get(b, incident)) == NULL)
			return -1;
		inc_touch(b, i);
		on_diagnosis(b, i, ev);
	} else if (strcmp(type, "action") == 0) {
		if ((i = inc_find(b, incident)) != NULL) {
			inc_touch(b, i);
			on_action(b, i, ev);
		}
	}
	return 0;
}

/* ---- the loop's hooks ----------------------------------------------- */

static void
govern(struct sre_brain *b)
{
	if (b->c.govern != NULL)
		b->c.govern(b->c.ctx);
}

void
sre_brain_line_done(struct sre_brain *b)
{
	run_due(b, 0);
	sweep(b);
	govern(b);
	/* keep transfers moving while input flows, a few times a second
	 * at most when nothing is due */
	if (b->c.llm != NULL && sre_llm_pending(b->c.llm) > 0 &&
	    sre_mono_msf() - b->llm_performed >= 5)
		sre_brain_llm_poll(b);
}

void
sre_brain_idle(struct sre_brain *b)
{
	double now = sre_mono_msf();

	/* Live input went quiet: event time goes on with the wall clock. */
	if (b->clock >= 0) {
		int64_t live = b->clock_input + (int64_t)(now - b->mono_input);

		if (live > b->clock)
			b->clock = live;
	}
	run_due(b, 0);
	sre_brain_llm_poll(b);
	govern(b);
	sweep(b);
}

int
sre_brain_idle_ms(struct sre_brain *b)
{
	long t = -1, lt;

	if (b->next_due >= 0)
		t = 200;
	if (b->c.llm != NULL && (lt = sre_llm_timeout(b->c.llm)) >= 0) {
		if (lt < 1)
			lt = 1;
		if (t < 0 || lt < t)
			t = lt;
	}
	return (int)t;
}

void
sre_brain_finish(struct sre_brain *b)
{
	struct incident *i;
	struct sre_llm *l = b->c.llm;

	/* every incident still gathering is diagnosed now */
	run_due(b, 1);
	if (l == NULL)
		return;
	while (sre_llm_pending(l) > 0 && !sre_stopping()) {
		sre_llm_wait(l, 100);
		sre_brain_llm_poll(b);
		govern(b);
	}
	if (sre_llm_pending(l) > 0) {
		sre_llm_cancel_all(l, "stopped before the LLM answered");
		sre_brain_llm_poll(b);
	}
	/* anything left waiting (should be none) goes out as it is */
	for (i = b->head; i != NULL; i = i->next)
		if (i->st.state == SRE_BRAIN_WAIT_LLM) {
			jv d = i->builtin;

			i->builtin = jv_null();
			sre_brain_emit(b, i, sre_brain_note(d, "LLM answer "
			    "lost: the built-in diagnosis stands"));
		}
}

/* ---- the engine ----------------------------------------------------- */

void
sre_brain_conf_init(struct sre_brain_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->settle_ms = 10000;		/* one sre-scout window */
	c->evidence_ms = -1;		/* one more settle time */
	c->top = 5;
	c->max_incidents = 10000;
	c->max_anomalies = 1000;
	c->max_memory = 16L << 20;
}

struct sre_brain *
sre_brain_new(const struct sre_brain_conf *conf)
{
	struct sre_logmine_conf lmc;
	struct sre_brain *b;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	b->c = *conf;
	b->clock = b->clock_input = -1;
	b->next_due = -1;
	sre_brain_series_init(&b->series);
	if ((b->g = sre_rca_graph_new(0, 0)) == NULL) {
		sre_brain_free(b);
		return NULL;
	}
	sre_logmine_conf_init(&lmc);
	lmc.max_groups = 2000;
	lmc.max_bytes = 8u << 20;
	b->miner = sre_logmine_new(&lmc);
	return b;
}

void
sre_brain_free(struct sre_brain *b)
{
	if (b == NULL)
		return;
	while (b->head != NULL)
		inc_free(b, b->head);
	sre_logmine_free(b->miner);
	sre_rca_graph_free(b->g);
	sre_brain_series_free(&b->series);
	free(b);
}

const struct sre_brain_stats *
sre_brain_stats(const struct sre_brain *b)
{
	return &b->n;
}
