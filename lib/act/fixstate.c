/*
 * fixstate.c: sre-fix's settings, action events and memory
 * (fixstate.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "event.h"
#include "fixstate.h"
#include "policy.h"
#include "store.h"
#include "verify.h"

#define KEY_MAX		256
#define ERR_MAX		1024

void
sre_fix_init(struct sre_fix *f, sre_fix_say_fn *say, sre_fix_emit_fn *emit,
    void *ctx)
{
	memset(f, 0, sizeof(*f));
	sre_fixrepo_init(&f->repo, say, ctx);
	f->window_ms = SRE_VERIFY_MAX_MS;	/* fitted below it (verify.h) */
	f->labels = jv_array();
	f->emit = emit;
	f->emit_ctx = ctx;
	f->pending = jv_object();
	f->anomalies = jv_object();
	f->diagnoses = jv_object();
}

void
sre_fix_free(struct sre_fix *f)
{
	if (f == NULL)
		return;
	sre_fixrepo_close(&f->repo);
	jv_free(f->labels);
	jv_free(f->pending);
	jv_free(f->anomalies);
	jv_free(f->diagnoses);
	f->labels = f->pending = f->anomalies = f->diagnoses = jv_null();
}

void
sre_fix_say(struct sre_fix *f, int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sre_fixrepo_vsay(&f->repo, level, fmt, ap);
	va_end(ap);
}

/* ---- the store ----------------------------------------------------- */

struct kvop {
	const char *key[4];
	const char *val[4];		/* NULL: delete */
	int n;
};

static int
kv_apply(struct sre_txn *t, void *ctx)
{
	const struct kvop *op = ctx;
	int i;

	for (i = 0; i < op->n; i++) {
		if (op->val[i] != NULL) {
			if (sre_txn_kv_put(t, op->key[i], op->val[i]) < 0)
				return -1;
		} else if (sre_txn_kv_del(t, op->key[i]) < 0)
			return -1;
	}
	return 0;
}

static int
kv_write(struct sre_fix *f, struct kvop *op)
{
	char err[ERR_MAX];
	int ex;

	if ((ex = sre_store_write(f->st, kv_apply, op, err, sizeof(err))) !=
	    EX_OK)
		sre_fix_say(f, SRE_FIX_WARN, "%s", err);
	return ex;
}

char *
sre_fix_kv_get(struct sre_fix *f, const char *key)
{
	struct sre_txn *t;
	const char *v;
	char err[ERR_MAX], *out = NULL;

	if (sre_store_read(f->st, &t, err, sizeof(err)) != EX_OK) {
		sre_fix_say(f, SRE_FIX_WARN, "%s", err);
		return NULL;
	}
	if (sre_txn_kv_get(t, key, &v, NULL) == 1)
		out = strdup(v);
	sre_txn_end(t);
	return out;
}

/* ---- action events ------------------------------------------------- */

jv
sre_fix_action(struct sre_fix *f, const char *inc, int64_t ts,
    const char *status, const char *branch, const char *commit,
    const char *pr_url, const char *detail)
{
	jv ev = sre_event_new("action", inc);
	char d[4096];

	snprintf(d, sizeof(d), "%s", detail ? detail : "");
	sre_fixrepo_scrub(&f->repo, d);
	ev = jv_object_set(ev, jv_string("ts_ms"), jv_number((double)ts));
	ev = jv_object_set(ev, jv_string("status"), jv_string(status));
	ev = jv_object_set(ev, jv_string("repo"), jv_string(f->repo.display));
	ev = jv_object_set(ev, jv_string("branch"), branch ?
	    jv_string(branch) : jv_null());
	ev = jv_object_set(ev, jv_string("commit"), commit && *commit ?
	    jv_string(commit) : jv_null());
	ev = jv_object_set(ev, jv_string("pr_url"), pr_url && *pr_url ?
	    jv_string(pr_url) : jv_null());
	ev = jv_object_set(ev, jv_string("detail"), jv_string(d));
	return ev;
}

int
sre_fix_record(struct sre_fix *f, jv ev, const char *verdict_id,
    const char *inc, int done)
{
	char vkey[KEY_MAX], dkey[KEY_MAX];
	struct kvop op = { { NULL }, { NULL }, 0 };
	char *line;
	size_t len;
	int ex = EX_OK;

	ev = sre_mac_sign(&f->key, ev);
	if (!jv_is_valid(ev) || (line = sre_jv_dump(ev, &len)) == NULL)
		return EX_OSERR;
	if (verdict_id != NULL) {
		sre_store_key(vkey, sizeof(vkey), SRE_STORE_FIX_VERDICT,
		    verdict_id);
		op.key[op.n] = vkey;
		op.val[op.n++] = line;
	}
	if (done) {
		sre_store_key(dkey, sizeof(dkey), "fix:done:", inc);
		op.key[op.n] = dkey;
		op.val[op.n++] = line;
	}
	if (op.n > 0)
		ex = kv_write(f, &op);
	if (ex == EX_OK) {
		if (f->emit != NULL)
			f->emit(f->emit_ctx, line, len);
		f->actions++;
	}
	free(line);
	return ex;
}

char *
sre_fix_replay(struct sre_fix *f, const char *vid)
{
	char key[KEY_MAX];

	sre_store_key(key, sizeof(key), SRE_STORE_FIX_VERDICT, vid);
	return sre_fix_kv_get(f, key);
}

/* ---- what was seen ------------------------------------------------- */

/* A new object with the members keep[] of ev (borrowed); a missing one
 * left out, or set to null when nulls is set. */
static jv
pick(jv ev, const char *const *keep, int nulls)
{
	jv o = jv_object();

	for (; *keep != NULL; keep++) {
		jv v = sre_jv_get(ev, *keep);

		if (jv_get_kind(v) != JV_KIND_INVALID)
			o = jv_object_set(o, jv_string(*keep), v);
		else {
			jv_free(v);
			if (nulls)
				o = jv_object_set(o, jv_string(*keep),
				    jv_null());
		}
	}
	return o;
}

/* Set id's entry of the memory *m, forgetting all of it when full. */
static void
remember(jv *m, const char *id, jv v, int max)
{
	if (jv_object_length(jv_copy(*m)) >= max) {
		jv_free(*m);
		*m = jv_object();
	}
	*m = jv_object_set(*m, jv_string(id), v);
}

void
sre_fix_note_anomaly(struct sre_fix *f, jv ev, const char *inc)
{
	static const char *const keep[] = {
		"service", "operation", "signal", "observed", "baseline",
		"score", "evidence", "window_start_ms", "window_end_ms", NULL
	};

	remember(&f->anomalies, inc, pick(ev, keep, 0),
	    SRE_FIX_MAX_ANOMALIES);
}

int
sre_fix_note_diagnosis(struct sre_fix *f, jv ev)
{
	static const char *const keep[] = { "incident", "proposal",
	    "confidence", NULL };
	struct kvop op = { { NULL }, { NULL }, 0 };
	const char *id = sre_jv_str(ev, "id");
	char key[KEY_MAX], *text;
	jv d = pick(ev, keep, 1);
	int ex;

	if ((text = sre_jv_dump(jv_copy(d), NULL)) == NULL) {
		jv_free(d);
		return EX_OSERR;
	}
	sre_store_key(key, sizeof(key), SRE_STORE_FIX_DIAGNOSIS, id);
	op.key[op.n] = key;
	op.val[op.n++] = text;
	ex = kv_write(f, &op);
	free(text);
	remember(&f->diagnoses, id, d, SRE_FIX_MAX_DIAGNOSES);
	return ex;
}

/* The gist sre_fix_note_diagnosis kept of diagnosis id, or null. */
static jv
diagnosis_get(struct sre_fix *f, const char *id)
{
	char key[KEY_MAX], *text;
	jv d = sre_jv_get(f->diagnoses, id);

	if (jv_get_kind(d) == JV_KIND_OBJECT)
		return d;
	jv_free(d);
	sre_store_key(key, sizeof(key), SRE_STORE_FIX_DIAGNOSIS, id);
	if ((text = sre_fix_kv_get(f, key)) == NULL)
		return jv_null();
	d = jv_parse(text);
	free(text);
	if (jv_get_kind(d) != JV_KIND_OBJECT) {
		jv_free(d);
		return jv_null();
	}
	return d;
}

/* A confidence member that is a number from 0 to 1. */
static int
confidence_ok(jv o)
{
	double c;

	return sre_jv_num(o, "confidence", &c) == 0 && c >= 0 && c <= 1;
}

/* Why diagnosis d (its gist, borrowed) does not back verdict v, or NULL
 * when it does; why holds the text. */
static const char *
backs(jv v, jv d, const char *did, char *why, size_t whylen)
{
	const char *inc = sre_jv_str(v, "incident");
	const char *dinc = sre_jv_str(d, "incident");
	jv a, b;

	if (dinc == NULL || strcmp(dinc, inc) != 0) {
		snprintf(why, whylen, "verdict for incident %.64s follows a "
		    "diagnosis of incident %.64s", inc, dinc ? dinc : "?");
		return why;
	}
	a = sre_jv_get(v, "proposal");
	b = sre_jv_get(d, "proposal");
	if (jv_get_kind(a) != JV_KIND_OBJECT || !jv_equal(a, b)) {
		if (jv_get_kind(a) != JV_KIND_OBJECT) {
			jv_free(a);
			jv_free(b);
		}
		snprintf(why, whylen, "verdict's proposal is not the one "
		    "diagnosis %.64s made", did);
		return why;
	}
	if (!confidence_ok(v) || !confidence_ok(d)) {
		snprintf(why, whylen, "%s's confidence is not a number from 0 "
		    "to 1", confidence_ok(v) ? "diagnosis" : "verdict");
		return why;
	}
	return NULL;
}

int
sre_fix_verdict_ok(struct sre_fix *f, jv v, char *why, size_t whylen)
{
	const char *did = sre_jv_str(v, "diagnosis");
	const char *bad;
	jv d;

	if (did == NULL) {
		snprintf(why, whylen, "verdict names no diagnosis");
		return -1;
	}
	d = diagnosis_get(f, did);
	if (jv_get_kind(d) != JV_KIND_OBJECT) {
		jv_free(d);
		snprintf(why, whylen, "verdict follows no verified diagnosis "
		    "(%.64s not seen)", did);
		return -1;
	}
	bad = backs(v, d, did, why, whylen);
	jv_free(d);
	return bad != NULL ? -1 : 0;
}
