/*
 * brain-diag.c: the parts of a diagnosis beyond the ranking
 * (brain-diag.h).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brain-diag.h"
#include "event.h"

jv
sre_brain_or_null(jv v)
{
	if (jv_is_valid(v))
		return v;
	jv_free(v);
	return jv_null();
}

/* The length of arr (borrowed), 0 when it is not an array. */
static int
length(jv arr)
{
	return jv_get_kind(arr) == JV_KIND_ARRAY ?
	    jv_array_length(jv_copy(arr)) : 0;
}

/* The index of the first item of arr (borrowed) whose member key is the
 * string s, or -1. */
static int
find_by(jv arr, const char *key, const char *s)
{
	int j, n = length(arr), at = -1;

	for (j = 0; j < n && at < 0; j++) {
		jv x = jv_array_get(jv_copy(arr), j);
		const char *xs = sre_jv_str(x, key);

		if (xs != NULL && strcmp(xs, s) == 0)
			at = j;
		jv_free(x);
	}
	return at;
}

/* The templates that anomaly evidence evd (borrowed) carries, added to
 * out (consumed, returned) while there is room; sets *carried to how
 * many it carries. */
static jv
carried_templates(jv out, jv evd, int *carried)
{
	jv ts = sre_jv_get(evd, "templates");
	int k, nk = length(ts);

	*carried = nk;
	for (k = 0; k < nk && length(out) < SRE_BRAIN_TEMPLATES; k++) {
		jv t = jv_array_get(jv_copy(ts), k), o;
		const char *tid = sre_jv_str(t, "template_id");
		const char *tt = sre_jv_str(t, "template");
		double cnt = 0, base = 0;

		if (tt == NULL || find_by(out, "template", tt) >= 0) {
			jv_free(t);
			continue;
		}
		sre_jv_num(t, "count", &cnt);
		sre_jv_num(t, "baseline", &base);
		o = jv_object();
		o = jv_object_set(o, jv_string("template_id"),
		    tid ? jv_string(tid) : jv_null());
		o = jv_object_set(o, jv_string("template"), jv_string(tt));
		o = jv_object_set(o, jv_string("count"), jv_number(cnt));
		o = jv_object_set(o, jv_string("baseline"), jv_number(base));
		out = jv_array_append(out, o);
		jv_free(t);
	}
	jv_free(ts);
	return out;
}

/* The templates mined from the messages of anomaly evidence evd
 * (borrowed), added to out (consumed, returned). */
static jv
mined_templates(jv out, jv evd, struct sre_logmine *miner)
{
	jv ms = sre_jv_get(evd, "messages");
	int k, nm = length(ms);

	for (k = 0; k < nm && k < 8; k++) {
		jv m = jv_array_get(jv_copy(ms), k);
		const char *tx = sre_jv_str(m, "text");
		struct sre_logmine_match lm;
		char idb[17];
		double cnt = 1, c0 = 0;
		int at;

		if (tx == NULL || sre_logmine_add(miner, tx, strnlen(tx, 4096),
		    &lm) < 0) {
			jv_free(m);
			continue;
		}
		sre_jv_num(m, "count", &cnt);
		sre_logmine_id_str(lm.id, idb);
		if ((at = find_by(out, "template_id", idb)) >= 0) {
			jv x = jv_array_get(jv_copy(out), at);

			sre_jv_num(x, "count", &c0);
			out = jv_array_set(out, at, jv_object_set(x,
			    jv_string("count"), jv_number(c0 + cnt)));
		} else if (length(out) < SRE_BRAIN_TEMPLATES) {
			jv o = jv_object();

			o = jv_object_set(o, jv_string("template_id"),
			    jv_string(idb));
			o = jv_object_set(o, jv_string("template"),
			    jv_string(lm.tmpl));
			o = jv_object_set(o, jv_string("count"),
			    jv_number(cnt));
			out = jv_array_append(out, o);
		}
		jv_free(m);
	}
	jv_free(ms);
	return out;
}

jv
sre_brain_templates(struct sre_logmine *miner, jv anomalies,
    const char *service)
{
	jv out = jv_array();
	int i, n = length(anomalies), carried;

	if (service == NULL)
		return out;
	for (i = 0; i < n; i++) {
		jv ev = jv_array_get(jv_copy(anomalies), i), evd;
		const char *s = sre_jv_str(ev, "service");

		if (s == NULL || strcmp(s, service) != 0) {
			jv_free(ev);
			continue;
		}
		evd = sre_jv_get(ev, "evidence");
		out = carried_templates(out, evd, &carried);
		/* no templates: mine the messages */
		if (carried == 0 && miner != NULL)
			out = mined_templates(out, evd, miner);
		jv_free(evd);
		jv_free(ev);
	}
	return out;
}

/* Does arr (borrowed) hold the string s? */
static int
has_string(jv arr, const char *s)
{
	int k, n = length(arr), same = 0;

	for (k = 0; k < n && !same; k++) {
		jv x = jv_array_get(jv_copy(arr), k);

		same = jv_get_kind(x) == JV_KIND_STRING &&
		    strcmp(jv_string_value(x), s) == 0;
		jv_free(x);
	}
	return same;
}

/* arr (consumed, returned) with s appended when not NULL, not there yet
 * and arr holds fewer than max. */
static jv
add_unique(jv arr, const char *s, int max)
{
	if (s == NULL || length(arr) >= max || has_string(arr, s))
		return arr;
	return jv_array_append(arr, jv_string(s));
}

jv
sre_brain_memory_query(jv anomalies, jv rcs, jv templates)
{
	jv fps = jv_array(), svcs = jv_array(), ops = jv_array(),
	    sigs = jv_array(), tids = jv_array(), q = jv_object();
	int i, n = length(anomalies);

	/* the top root cause's fingerprints lead */
	if (length(rcs) > 0) {
		jv rc = jv_array_get(jv_copy(rcs), 0);
		const char *top = sre_jv_str(rc, "service");

		for (i = 0; i < n && top != NULL; i++) {
			jv ev = jv_array_get(jv_copy(anomalies), i);
			const char *s = sre_jv_str(ev, "service");

			if (s != NULL && strcmp(s, top) == 0)
				fps = add_unique(fps, sre_jv_str(ev,
				    "fingerprint"), 16);
			jv_free(ev);
		}
		jv_free(rc);
	}
	for (i = 0; i < n; i++) {
		jv ev = jv_array_get(jv_copy(anomalies), i);

		fps = add_unique(fps, sre_jv_str(ev, "fingerprint"), 16);
		svcs = add_unique(svcs, sre_jv_str(ev, "service"), 64);
		ops = add_unique(ops, sre_jv_str(ev, "operation"), 64);
		sigs = add_unique(sigs, sre_jv_str(ev, "signal"), 8);
		jv_free(ev);
	}
	n = length(templates);
	for (i = 0; i < n; i++) {
		jv t = jv_array_get(jv_copy(templates), i);

		tids = add_unique(tids, sre_jv_str(t, "template_id"), 16);
		jv_free(t);
	}
	q = jv_object_set(q, jv_string("fingerprints"), fps);
	q = jv_object_set(q, jv_string("services"), svcs);
	q = jv_object_set(q, jv_string("operations"), ops);
	q = jv_object_set(q, jv_string("signals"), sigs);
	return jv_object_set(q, jv_string("templates"), tids);
}

void
sre_brain_memory_sentence(jv memory, char *buf, size_t len)
{
	const char *id, *outcome, *act, *tgt;
	jv m, p;

	buf[0] = '\0';
	if (length(memory) == 0)
		return;
	m = jv_array_get(jv_copy(memory), 0);
	id = sre_jv_str(m, "incident");
	outcome = sre_jv_str(m, "outcome");
	p = sre_jv_get(m, "proposal");
	act = sre_jv_str(p, "action");
	tgt = sre_jv_str(p, "target");
	if (act != NULL)
		snprintf(buf, len, " Similar past incident %s (%s): %s %s was "
		    "done then.", id ? id : "?", outcome ? outcome : "outcome "
		    "unknown", act, tgt ? tgt : "");
	else
		snprintf(buf, len, " Similar past incident %s (%s).",
		    id ? id : "?", outcome ? outcome : "outcome unknown");
	jv_free(p);
	jv_free(m);
}

jv
sre_brain_summary_tail(jv d, const char *tail)
{
	const char *s = sre_jv_str(d, "summary");
	char *t;
	jv out;

	if (tail[0] == '\0' || s == NULL)
		return d;
	if (asprintf(&t, "%s%s", s, tail) < 0)
		return d;
	out = jv_object_set(d, jv_string("summary"), jv_string(t));
	free(t);
	return out;
}

jv
sre_brain_note(jv d, const char *note)
{
	jv notes = sre_jv_get(d, "notes");

	if (jv_get_kind(notes) != JV_KIND_ARRAY) {
		jv_free(notes);
		notes = jv_array();
	}
	notes = jv_array_append(notes, jv_string(note));
	return jv_object_set(d, jv_string("notes"), notes);
}

jv
sre_brain_llm_field(const char *model, const char *status,
    double latency_ms, int attempts, jv usage, int anonymized,
    const char *error)
{
	jv l = jv_object();

	l = jv_object_set(l, jv_string("model"), jv_string(model));
	l = jv_object_set(l, jv_string("status"), jv_string(status));
	if (jv_get_kind(usage) == JV_KIND_OBJECT) {
		jv_object_foreach(usage, k, v)
			l = jv_object_set(l, k, v);
	}
	jv_free(usage);
	l = jv_object_set(l, jv_string("latency_ms"),
	    jv_number(floor(latency_ms * 10 + 0.5) / 10));
	l = jv_object_set(l, jv_string("attempts"), jv_number(attempts));
	l = jv_object_set(l, jv_string("anonymized"), jv_bool(anonymized));
	if (error != NULL)
		l = jv_object_set(l, jv_string("error"), jv_string(error));
	return l;
}

/* The answer's root causes (arc, borrowed), each with the kind the
 * reasoner gave its service in brc (borrowed), if it named it. */
static jv
merged_causes(jv arc, jv brc)
{
	jv merged = jv_array();
	int k, n = length(arc), nb = length(brc);

	for (k = 0; k < n; k++) {
		jv rc = jv_array_get(jv_copy(arc), k);
		const char *s = sre_jv_str(rc, "service");
		int j;

		for (j = 0; j < nb && s != NULL; j++) {
			jv x = jv_array_get(jv_copy(brc), j);
			const char *xs = sre_jv_str(x, "service");

			if (xs != NULL && strcmp(xs, s) == 0)
				rc = jv_object_set(rc, jv_string("kind"),
				    sre_jv_get(x, "kind"));
			jv_free(x);
		}
		merged = jv_array_append(merged, rc);
	}
	return merged;
}

jv
sre_brain_llm_merge(jv d, jv ans)
{
	jv brc = sre_jv_get(d, "root_causes"), arc = sre_jv_get(ans,
	    "root_causes");
	jv b0 = length(brc) > 0 ? jv_array_get(jv_copy(brc), 0) : jv_null();
	jv a0 = length(arc) > 0 ? jv_array_get(jv_copy(arc), 0) : jv_null();
	const char *bs = sre_jv_str(b0, "service");
	const char *as = sre_jv_str(a0, "service");
	double bc = 0, ac = 0, c;
	char note[512];

	sre_jv_num(d, "confidence", &bc);
	sre_jv_num(ans, "confidence", &ac);
	d = jv_object_set(d, jv_string("root_causes"), merged_causes(arc,
	    brc));
	d = jv_object_set(d, jv_string("summary"), sre_jv_get(ans,
	    "summary"));
	d = jv_object_set(d, jv_string("proposal"), sre_jv_get(ans,
	    "proposal"));
	if (bs != NULL && as != NULL && strcmp(bs, as) != 0) {
		/* The reasoner's confidence is calibrated; the LLM's is
		 * not.  Disagreement lowers it. */
		c = ac < 1 - bc ? ac : 1 - bc;
		if (c < 0.05)
			c = 0.05;
		d = jv_object_set(d, jv_string("confidence"),
		    jv_number(floor(c * 1000 + 0.5) / 1000));
		snprintf(note, sizeof(note), "the LLM ranks %s first; the "
		    "built-in reasoner ranked %s first", as, bs);
		d = sre_brain_note(d, note);
	}
	jv_free(a0);
	jv_free(b0);
	jv_free(arc);
	jv_free(brc);
	return d;
}
