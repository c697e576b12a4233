/*
 * brain-ask.c: diagnosing one incident (brain-int.h): the built-in
 * reasoner (rca.h) with what memory knows (brain-memory.h), the LLM asked
 * as well when one is configured (brain-llm.h, through libcurl multi so
 * that the stream never waits for it), the diagnosis event written.
 */
#include <stdio.h>
#include <string.h>

#include "brain-diag.h"
#include "brain-int.h"
#include "brain-llm.h"
#include "clock.h"
#include "event.h"
#include "store.h"

/* Similar past incidents for i (an array), from its anomalies, root
 * causes and templates (borrowed); a known fix for its fingerprints in
 * *fix (else null). */
static jv
recall(struct sre_brain *b, struct incident *i, jv rcs, jv tmpl, jv *fix)
{
	jv q = sre_brain_memory_query(i->anomalies, rcs, tmpl), memory;
	char err[512];

	memory = sre_brain_mem_lookup(b->c.mem, q, i->id, 5, fix, err,
	    sizeof(err));
	if (err[0] != '\0')
		sre_brain_say(b, SRE_BRAIN_WARN, 0, "incident %s: %s", i->id,
		    err);
	jv_free(q);
	return memory;
}

/* Diagnosis d (consumed) with what was odd about i's input noted. */
static jv
with_notes(struct incident *i, jv d)
{
	jv notes = sre_jv_get(d, "notes");

	if (jv_get_kind(notes) != JV_KIND_ARRAY) {
		jv_free(notes);
		notes = jv_array();
	}
	jv_array_foreach(i->notes, k, n)
		notes = jv_array_append(notes, n);
	if (jv_object_length(jv_copy(i->recovered)) > 0 &&
	    i->st.revision == 0)
		notes = jv_array_append(notes, jv_string("some of its "
		    "anomalies recovered before the diagnosis"));
	if (i->st.cag_failed)
		notes = jv_array_append(notes, jv_string("the known fix "
		    "proposed by sre-cag failed"));
	return jv_object_set(d, jv_string("notes"), notes);
}

/*
 * The built-in diagnosis of incident i: a first pass of the reasoner
 * names the culprit, whose fingerprints lead the memory lookup; a known
 * fix found there is reused (a second pass).  Then the culprit's log
 * templates, similar past incidents and notes.  jv_invalid() when out of
 * memory.
 */
static jv
builtin(struct sre_brain *b, struct incident *i)
{
	struct sre_rca_opts o;
	jv d, rcs, top, tmpl, memory = jv_array(), fix = jv_null();
	char sentence[600];

	sre_rca_opts_init(&o);
	o.top = b->c.top;
	o.failed = i->failed;
	o.chronic = sre_brain_series_chronic(&b->series, i->id, i->anomalies);
	d = sre_rca_diagnose(b->g, i->anomalies, &o);
	if (!jv_is_valid(d)) {
		jv_free(o.chronic);
		jv_free(memory);
		return d;
	}
	rcs = sre_jv_get(d, "root_causes");
	top = jv_get_kind(rcs) == JV_KIND_ARRAY && jv_array_length(
	    jv_copy(rcs)) > 0 ? jv_array_get(jv_copy(rcs), 0) : jv_null();
	tmpl = sre_brain_templates(b->miner, i->anomalies, sre_jv_str(top,
	    "service"));
	if (b->c.mem != NULL) {
		jv_free(memory);
		memory = recall(b, i, rcs, tmpl, &fix);
		if (jv_get_kind(fix) == JV_KIND_OBJECT) {
			o.known_fix = fix;
			jv_free(d);
			d = sre_rca_diagnose(b->g, i->anomalies, &o);
		}
	}
	jv_free(o.chronic);
	jv_free(fix);
	jv_free(rcs);
	jv_free(top);
	if (!jv_is_valid(d)) {
		jv_free(memory);
		jv_free(tmpl);
		return d;
	}
	sre_brain_memory_sentence(memory, sentence, sizeof(sentence));
	d = sre_brain_summary_tail(d, sentence);
	d = jv_object_set(d, jv_string("memory"), memory);
	d = jv_object_set(d, jv_string("templates"), tmpl);
	d = with_notes(i, d);
	return jv_object_set(d, jv_string("anomalies"), jv_number(i->nanom));
}

/* The "llm" member for a diagnosis (model NULL: the configured one). */
static jv
llm_field(struct sre_brain *b, const char *status, double latency,
    int attempts, jv usage, const char *model, const char *error)
{
	return sre_brain_llm_field(model ? model : b->c.model, status,
	    latency, attempts, usage, b->c.anonymize, error);
}

/* Ask the LLM about incident i, diagnosed d (consumed) by the reasoner;
 * when it cannot be asked, d goes out as it is, with a note. */
static void
ask(struct sre_brain *b, struct incident *i, jv d)
{
	struct sre_brain_llm_in in;
	jv body, dump;

	memset(&in, 0, sizeof(in));
	sre_anon_free(i->anon);
	i->anon = b->c.anonymize ? sre_anon_new() : NULL;
	in.incident = i->id;
	in.anomalies = i->anomalies;
	in.builtin = d;
	in.templates = sre_jv_get(d, "templates");
	in.memory = sre_jv_get(d, "memory");
	in.anon = i->anon;
	body = sre_brain_llm_request(b->c.model, &in);
	jv_free(in.templates);
	jv_free(in.memory);
	dump = jv_is_valid(body) ? jv_dump_string(body, 0) : body;
	if (jv_is_valid(dump) && sre_llm_submit(b->c.llm, ++b->next_tag,
	    jv_string_value(dump), (size_t)jv_string_length_bytes(
	    jv_copy(dump))) == 0) {
		jv_free(dump);
		i->tag = b->next_tag;
		jv_free(i->builtin);
		i->builtin = d;
		jv_free(i->llm_in);
		i->llm_in = jv_copy(i->anomalies);
		i->st.state = SRE_BRAIN_WAIT_LLM;
		sre_llm_perform(b->c.llm);
		return;
	}
	jv_free(dump);
	b->n.llm_fallback++;
	d = jv_object_set(d, jv_string("llm"), llm_field(b, "fallback", 0, 0,
	    jv_null(), NULL, "too many LLM requests waiting"));
	d = sre_brain_note(d, "LLM not asked (too many requests waiting): "
	    "the built-in diagnosis stands");
	sre_brain_emit(b, i, d);
}

void
sre_brain_diagnose(struct sre_brain *b, struct incident *i, int allow_llm)
{
	double t0 = sre_mono_msf();
	jv d;

	i->st.due_ms = -1;
	if (i->nanom == 0)
		return;
	d = builtin(b, i);
	if (!jv_is_valid(d)) {
		jv_free(d);
		sre_brain_say(b, SRE_BRAIN_WARN, 0, "incident %s: out of memory",
		    i->id);
		return;
	}
	sre_brain_say(b, SRE_BRAIN_INFO, 0, "incident %s: diagnosed in %.3f "
	    "ms (%d anomalies)", i->id, sre_mono_msf() - t0, i->nanom);
	if (sre_brain_settle_wait(&i->st, d, b->clock, b->c.evidence_ms < 0 ?
	    b->c.settle_ms : b->c.evidence_ms)) {
		/* no remedy yet: the deciding evidence may be on its way */
		sre_brain_say(b, SRE_BRAIN_INFO, 0, "incident %s: nothing to "
		    "propose yet: one more settle time", i->id);
		jv_free(d);
	} else if (!sre_brain_settle_speak(&i->st, i->last, d)) {
		jv_free(d);
		i->st.state = SRE_BRAIN_DONE;
	} else if (allow_llm && b->c.llm != NULL)
		ask(b, i, d);
	else
		sre_brain_emit(b, i, d);
}

void
sre_brain_emit(struct sre_brain *b, struct incident *i, jv d)
{
	char id[SRE_ID_LEN + 1], rev[64];
	int64_t ts = b->clock >= 0 ? b->clock : sre_now_ms();
	int r = sre_brain_settle_emitted(&i->st);
	jv ev;

	snprintf(rev, sizeof(rev), "sre-brain/diagnosis/%d", r);
	sre_store_id_derive(id, ts, i->id, rev);
	ev = sre_event_new("diagnosis", i->id);
	ev = jv_object_set(ev, jv_string("id"), jv_string(id));
	ev = jv_object_set(ev, jv_string("ts_ms"), jv_number((double)ts));
	jv_object_foreach(d, k, v)
		ev = jv_object_set(ev, k, v);
	jv_free(d);
	ev = sre_brain_supersede(ev, r, i->last);
	if (r > 1)
		b->n.updates++;
	b->n.diagnoses++;
	ev = sre_mac_sign(b->c.key, ev);
	jv_free(i->last);
	i->last = jv_copy(ev);
	b->c.emit(b->c.ctx, ev);
}

/* The LLM was not heard or not believed (what, why): d (consumed) goes
 * out as the reasoner made it, with a note. */
static void
fall_back(struct sre_brain *b, struct incident *i, jv d,
    const struct sre_llm_result *r, const char *what, const char *why)
{
	char note[512];

	b->n.llm_fallback++;
	snprintf(note, sizeof(note), "%s (%s): the built-in diagnosis stands",
	    what, why);
	sre_brain_say(b, SRE_BRAIN_NOTICE, 0, "incident %s: %s: %s", i->id,
	    what, why);
	d = sre_brain_note(d, note);
	d = jv_object_set(d, jv_string("llm"), llm_field(b, "fallback",
	    r->latency_ms, r->attempts, jv_null(), NULL, why));
	sre_brain_emit(b, i, d);
}

/* An LLM request finished: merge or fall back, then emit. */
static void
llm_done(struct sre_brain *b, const struct sre_llm_result *r)
{
	struct incident *i;
	struct sre_brain_llm_in in;
	jv d, ans, msg;

	for (i = b->head; i != NULL; i = i->next)
		if (i->st.state == SRE_BRAIN_WAIT_LLM && i->tag == r->tag)
			break;
	if (i == NULL)
		return;
	d = i->builtin;
	i->builtin = jv_null();
	if (!r->ok) {
		fall_back(b, i, d, r, "LLM request failed", r->error);
		return;
	}
	memset(&in, 0, sizeof(in));
	in.incident = i->id;
	in.anomalies = i->llm_in;
	in.builtin = d;
	in.anon = i->anon;
	ans = sre_brain_llm_answer(r->body, r->len, &in);
	if (!jv_is_valid(ans)) {
		msg = jv_invalid_get_msg(ans);
		fall_back(b, i, d, r, "LLM answer rejected", jv_get_kind(msg) ==
		    JV_KIND_STRING ? jv_string_value(msg) : "invalid answer");
		jv_free(msg);
		return;
	}
	d = sre_brain_llm_merge(d, ans);
	d = jv_object_set(d, jv_string("llm"), llm_field(b, "ok",
	    r->latency_ms, r->attempts, sre_jv_get(ans, "usage"),
	    sre_jv_str(ans, "model"), NULL));
	jv_free(ans);
	b->n.llm_ok++;
	sre_brain_emit(b, i, d);
}

void
sre_brain_llm_poll(struct sre_brain *b)
{
	struct sre_llm_result r;

	if (b->c.llm == NULL)
		return;
	sre_llm_perform(b->c.llm);
	b->llm_performed = sre_mono_msf();
	while (sre_llm_result(b->c.llm, &r) == 1) {
		llm_done(b, &r);
		sre_llm_result_free(&r);
	}
}
