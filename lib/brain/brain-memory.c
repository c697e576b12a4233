/* brain-memory.c: sre-brain's memory over the store (brain-memory.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "brain-diag.h"
#include "brain-memory.h"
#include "event.h"
#include "store.h"

#define RETRY_MS 30000

struct sre_brain_mem {
	char *dir;
	struct sre_store *st;
	double last_try;	/* monotonic ms of the last open attempt */
};

/* Open the store if it is there: EX_OK (open or absent) or a code. */
static int
try_open(struct sre_brain_mem *m, char *err, size_t errlen)
{
	struct sre_store_opts o = { .flags = SRE_STORE_RDONLY };
	int ex;

	m->last_try = sre_mono_msf();
	ex = sre_store_open(&m->st, m->dir, &o, err, errlen);
	if (ex == EX_NOINPUT) {
		m->st = NULL;
		err[0] = '\0';
		return EX_OK;
	}
	if (ex != EX_OK)
		m->st = NULL;
	return ex;
}

int
sre_brain_mem_open(struct sre_brain_mem **out, const char *state_dir,
    char *err, size_t errlen)
{
	struct sre_brain_mem *m = calloc(1, sizeof(*m));
	int ex;

	*out = NULL;
	err[0] = '\0';
	if (m == NULL || (m->dir = strdup(state_dir)) == NULL) {
		free(m);
		snprintf(err, errlen, "out of memory");
		return EX_OSERR;
	}
	if ((ex = try_open(m, err, errlen)) != EX_OK) {
		free(m->dir);
		free(m);
		return ex;
	}
	*out = m;
	return EX_OK;
}

void
sre_brain_mem_close(struct sre_brain_mem *m)
{
	if (m == NULL)
		return;
	sre_store_close(m->st);
	free(m->dir);
	free(m);
}

int
sre_brain_mem_ready(struct sre_brain_mem *m)
{
	return m != NULL && m->st != NULL;
}

static int
seen(jv out, const char *id)
{
	int i, n = jv_array_length(jv_copy(out));

	for (i = 0; i < n; i++) {
		jv e = jv_array_get(jv_copy(out), i);
		const char *x = sre_jv_str(e, "incident");
		int same = x != NULL && strcmp(x, id) == 0;

		jv_free(e);
		if (same)
			return 1;
	}
	return 0;
}

static jv
entry(const char *id, const char *via, double score, jv rec)
{
	jv e = jv_object();
	jv s = sre_brain_or_null(sre_jv_get(rec, "summary"));

	e = jv_object_set(e, jv_string("incident"), jv_string(id));
	e = jv_object_set(e, jv_string("via"), jv_string(via));
	e = jv_object_set(e, jv_string("score"), jv_number(score));
	e = jv_object_set(e, jv_string("outcome"), sre_brain_or_null(
	    sre_jv_get(rec, "outcome")));
	e = jv_object_set(e, jv_string("proposal"), sre_brain_or_null(
	    sre_jv_get(rec, "proposal")));
	/* a past summary is context, not a document: keep it short */
	if (jv_get_kind(s) == JV_KIND_STRING &&
	    jv_string_length_bytes(jv_copy(s)) > 300) {
		char buf[304];

		snprintf(buf, sizeof(buf), "%.296s...", jv_string_value(s));
		jv_free(s);
		s = jv_string(buf);
	}
	return jv_object_set(e, jv_string("summary"), s);
}

jv
sre_brain_mem_lookup(struct sre_brain_mem *m, jv query, const char *exclude,
    int max, jv *known_fix, char *err, size_t errlen)
{
	struct sre_txn *t = NULL;
	jv out = jv_array(), fps;
	int i, n, ex;

	*known_fix = jv_null();
	err[0] = '\0';
	if (m == NULL || max <= 0)
		return out;
	if (m->st == NULL) {
		if (sre_mono_msf() - m->last_try < RETRY_MS)
			return out;
		if (try_open(m, err, errlen) != EX_OK || m->st == NULL)
			return out;
	}
	if ((ex = sre_store_read(m->st, &t, err, errlen)) != EX_OK)
		return out;
	fps = sre_jv_get(query, "fingerprints");
	n = jv_get_kind(fps) == JV_KIND_ARRAY ? jv_array_length(jv_copy(fps)) :
	    0;
	for (i = 0; i < n && i < 16; i++) {
		jv fp = jv_array_get(jv_copy(fps), i), ids, entry_;
		int k, nk;

		if (jv_get_kind(fp) != JV_KIND_STRING ||
		    !sre_store_key_ok(jv_string_value(fp))) {
			jv_free(fp);
			continue;
		}
		if (jv_get_kind(*known_fix) == JV_KIND_NULL &&
		    sre_txn_cag_best(t, jv_string_value(fp), 1, 0.5,
		    &entry_) == 1)
			*known_fix = entry_;
		ids = sre_txn_fingerprint_incidents(t, jv_string_value(fp), 64);
		nk = jv_get_kind(ids) == JV_KIND_ARRAY ?
		    jv_array_length(jv_copy(ids)) : 0;
		/* newest first: ids are ULIDs, stored in id order */
		for (k = nk - 1; k >= 0 &&
		    jv_array_length(jv_copy(out)) < max; k--) {
			jv id = jv_array_get(jv_copy(ids), k), rec;
			const char *s = jv_get_kind(id) == JV_KIND_STRING ?
			    jv_string_value(id) : NULL;

			if (s == NULL || (exclude != NULL &&
			    strcmp(s, exclude) == 0) || seen(out, s)) {
				jv_free(id);
				continue;
			}
			rec = sre_txn_incident_get(t, s);
			if (jv_get_kind(rec) == JV_KIND_OBJECT)
				out = jv_array_append(out, entry(s,
				    "fingerprint", 1, rec));
			jv_free(rec);
			jv_free(id);
		}
		jv_free(ids);
		jv_free(fp);
	}
	jv_free(fps);
	if (jv_array_length(jv_copy(out)) < max) {
		jv sim = sre_txn_similar(t, query, exclude, max * 2);

		n = jv_get_kind(sim) == JV_KIND_ARRAY ?
		    jv_array_length(jv_copy(sim)) : 0;
		for (i = 0; i < n && jv_array_length(jv_copy(out)) < max; i++) {
			jv e = jv_array_get(jv_copy(sim), i);
			const char *s = sre_jv_str(e, "incident");
			double score = 0;

			sre_jv_num(e, "score", &score);
			if (s != NULL && !seen(out, s) && score > 0)
				out = jv_array_append(out, entry(s,
				    "similarity", score, e));
			jv_free(e);
		}
		if (!jv_is_valid(sim)) {
			int code;

			snprintf(err, errlen, "memory: %s",
			    sre_txn_error(t, &code));
		}
		jv_free(sim);
	}
	sre_txn_end(t);
	return out;
}
