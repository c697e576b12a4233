/*
 * brain-anomaly.c: what sre-brain keeps of the anomalies it reads
 * (brain-anomaly.h).
 */
#include <stdio.h>
#include <string.h>

#include "brain-anomaly.h"
#include "event.h"
#include "rca.h"

jv
sre_brain_trim(jv v, int depth)
{
	jv out;
	int n, k;

	switch (jv_get_kind(v)) {
	case JV_KIND_STRING:
		if (jv_string_length_bytes(jv_copy(v)) <= SRE_BRAIN_KEEP_STRING)
			return v;
		out = jv_string_sized(jv_string_value(v),
		    SRE_BRAIN_KEEP_STRING);
		jv_free(v);
		/* A cut UTF-8 sequence is repaired by jv_string_sized. */
		return out;
	case JV_KIND_ARRAY:
		if (depth >= SRE_BRAIN_KEEP_DEPTH) {
			jv_free(v);
			return jv_array();
		}
		out = jv_array();
		n = jv_array_length(jv_copy(v));
		for (k = 0; k < n && k < SRE_BRAIN_KEEP_ITEMS; k++)
			out = jv_array_append(out, sre_brain_trim(
			    jv_array_get(jv_copy(v), k), depth + 1));
		jv_free(v);
		return out;
	case JV_KIND_OBJECT:
		if (depth >= SRE_BRAIN_KEEP_DEPTH) {
			jv_free(v);
			return jv_object();
		}
		out = jv_object();
		k = 0;
		jv_object_foreach(v, key, val) {
			if (k++ < SRE_BRAIN_KEEP_ITEMS)
				out = jv_object_set(out, key,
				    sre_brain_trim(val, depth + 1));
			else {
				jv_free(key);
				jv_free(val);
			}
		}
		jv_free(v);
		return out;
	default:
		return v;
	}
}

size_t
sre_brain_weight(jv v)
{
	size_t w = 32;

	switch (jv_get_kind(v)) {
	case JV_KIND_STRING:
		return w + (size_t)jv_string_length_bytes(jv_copy(v));
	case JV_KIND_ARRAY:
		jv_array_foreach(v, k, x) {
			(void)k;
			w += 16 + sre_brain_weight(x);
			jv_free(x);
		}
		return w;
	case JV_KIND_OBJECT:
		jv_object_foreach(v, key, val) {
			w += 48 + sre_brain_weight(key) + sre_brain_weight(val);
			jv_free(key);
			jv_free(val);
		}
		return w;
	default:
		return w;
	}
}

jv
sre_brain_keep(jv ev, size_t len, size_t *size)
{
	if (len > SRE_BRAIN_KEEP_LINE)
		ev = sre_brain_trim(ev, 0);
	*size = sre_brain_weight(ev);
	return ev;
}

void
sre_brain_series_init(struct sre_brain_series *s)
{
	s->seen = jv_object();
	s->episodes = jv_object();
	s->nseen = 0;
}

void
sre_brain_series_free(struct sre_brain_series *s)
{
	jv_free(s->seen);
	jv_free(s->episodes);
	s->seen = s->episodes = jv_null();
	s->nseen = 0;
}

/* The number member key of obj (borrowed), else 0. */
static double
count_of(jv obj, const char *key)
{
	jv n = sre_jv_get(obj, key);
	double k = jv_get_kind(n) == JV_KIND_NUMBER ? jv_number_value(n) : 0;

	jv_free(n);
	return k;
}

void
sre_brain_series_recovered(struct sre_brain_series *s, const char *fp)
{
	jv per;
	int known;

	if (fp == NULL)
		return;
	per = sre_jv_get(s->seen, fp);
	known = jv_get_kind(per) == JV_KIND_OBJECT;
	jv_free(per);
	if (known)
		s->episodes = jv_object_set(s->episodes, jv_string(fp),
		    jv_number(count_of(s->episodes, fp) + 1));
}

void
sre_brain_series_add(struct sre_brain_series *s, const char *incident, jv ev)
{
	const char *fp = sre_jv_str(ev, "fingerprint");
	double dev = sre_rca_deviation(ev), old = -1;
	char inc[320];
	jv per, v;

	/* (an id too long for the key would pass for another incident's) */
	if (fp == NULL || dev < 0 || strlen(incident) + 24 > sizeof(inc))
		return;
	snprintf(inc, sizeof(inc), "%s#%.0f", incident,
	    count_of(s->episodes, fp));
	per = sre_jv_get(s->seen, fp);
	if (jv_get_kind(per) != JV_KIND_OBJECT) {
		jv_free(per);
		if (s->nseen >= SRE_BRAIN_SEEN_MAX)
			return;
		s->nseen++;
		per = jv_object();
	}
	v = sre_jv_get(per, inc);
	if (jv_get_kind(v) == JV_KIND_NUMBER)
		old = jv_number_value(v);
	else if (jv_object_length(jv_copy(per)) >= SRE_BRAIN_SEEN_INCIDENTS) {
		jv_free(v);
		jv_free(per);
		return;
	}
	jv_free(v);
	if (dev > old)
		per = jv_object_set(per, jv_string(inc), jv_number(dev));
	s->seen = jv_object_set(s->seen, jv_string(fp), per);
}

jv
sre_brain_series_chronic(const struct sre_brain_series *s,
    const char *incident, jv anomalies)
{
	jv out = jv_object();
	size_t idlen = strlen(incident);

	jv_array_foreach(anomalies, k, ev) {
		const char *fp = sre_jv_str(ev, "fingerprint");
		jv per = fp != NULL ? sre_jv_get(s->seen, fp) : jv_null();
		double m = -1, own1 = -1, own2 = -1;

		if (jv_get_kind(per) == JV_KIND_OBJECT) {
			jv_object_foreach(per, inc, v) {
				const char *x_id = jv_string_value(inc);
				double x = jv_get_kind(v) == JV_KIND_NUMBER ?
				    jv_number_value(v) : -1;

				if (strncmp(x_id, incident, idlen) != 0 ||
				    x_id[idlen] != '#') {
					if (x > m)
						m = x;
				} else if (x > own1) {
					own2 = own1;
					own1 = x;
				} else if (x > own2)
					own2 = x;
				jv_free(inc);
				jv_free(v);
			}
		}
		if (own2 > m)
			m = own2;
		jv_free(per);
		if (m >= 0)
			out = jv_object_set(out, jv_string(fp), jv_number(m));
		jv_free(ev);
	}
	return out;
}
