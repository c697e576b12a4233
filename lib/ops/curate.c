/* curate.c: incidents, post-mortems, learning, metrics (see curate.h). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <bsd/stdlib.h>

#include "curate.h"
#include "diag.h"
#include "event.h"
#include "evtime.h"
#include "file.h"
#include "store.h"

#define FEATURE_MAX	64
#define STALE_BATCH	64	/* stale incidents closed per transaction */

/* ---- small jv helpers --------------------------------------------------- */

static jv
set(jv o, const char *k, jv v)
{
	return jv_object_set(o, jv_string(k), v);
}

/* sre_jv_get, a miss made jv_null(): records here copy members as they
 * are (set(rec, k, member(ev, k))) and test them against null. */
static jv
member(jv o, const char *k)
{
	jv m = sre_jv_get(o, k);

	if (jv_is_valid(m))
		return m;
	jv_free(m);
	return jv_null();
}

static int
has(jv o, const char *k)
{
	jv m = member(o, k);
	int r = jv_get_kind(m) != JV_KIND_NULL;

	jv_free(m);
	return r;
}

static int64_t
iget(jv o, const char *k, int64_t dflt)
{
	int64_t v;

	return sre_jv_int(o, k, &v) == 0 ? v : dflt;
}

static jv
num(int64_t v)
{
	return jv_number((double)v);
}

static int
kind_is(jv o, const char *k, jv_kind kind)
{
	jv m = member(o, k);
	int r = jv_get_kind(m) == kind;

	jv_free(m);
	return r;
}

/* Copy member k of from into to when it is not null. */
static jv
copy_if(jv to, jv from, const char *k)
{
	jv m = member(from, k);

	if (jv_get_kind(m) == JV_KIND_NULL) {
		jv_free(m);
		return to;
	}
	return set(to, k, m);
}

/* Add string s to the array member k of rec, once, up to FEATURE_MAX. */
static jv
feature(jv rec, const char *k, const char *s)
{
	jv a = member(rec, k);
	int i, n;

	if (s == NULL || *s == '\0' || strlen(s) > SRE_STORE_KEY_MAX) {
		jv_free(a);
		return rec;
	}
	if (jv_get_kind(a) != JV_KIND_ARRAY) {
		jv_free(a);
		a = jv_array();
	}
	n = jv_array_length(jv_copy(a));
	for (i = 0; i < n; i++) {
		jv e = jv_array_get(jv_copy(a), i);
		int same = jv_get_kind(e) == JV_KIND_STRING &&
		    strcmp(jv_string_value(e), s) == 0;

		jv_free(e);
		if (same) {
			jv_free(a);
			return rec;
		}
	}
	if (n >= FEATURE_MAX) {
		jv_free(a);
		return rec;
	}
	return set(rec, k, jv_array_append(a, jv_string(s)));
}

/* The words of text as features of rec. */
static jv
words(jv rec, const char *text)
{
	jv f, w;
	int i, n;

	if (text == NULL)
		return rec;
	f = sre_store_text_features(text);
	w = member(f, "words");
	n = jv_array_length(jv_copy(w));
	for (i = 0; i < n; i++) {
		jv s = jv_array_get(jv_copy(w), i);

		rec = feature(rec, "words", jv_string_value(s));
		jv_free(s);
	}
	jv_free(w);
	jv_free(f);
	return rec;
}

/* Each string of array member k of o, passed to fn. */
static jv
each_string(jv rec, jv o, const char *k, jv (*fn)(jv, const char *,
    const char *), const char *arg)
{
	jv a = member(o, k);
	int i, n;

	if (jv_get_kind(a) == JV_KIND_STRING) {
		rec = fn(rec, arg, jv_string_value(a));
	} else if (jv_get_kind(a) == JV_KIND_ARRAY) {
		n = jv_array_length(jv_copy(a));
		for (i = 0; i < n && i < FEATURE_MAX; i++) {
			jv s = jv_array_get(jv_copy(a), i);

			if (jv_get_kind(s) == JV_KIND_STRING)
				rec = fn(rec, arg, jv_string_value(s));
			jv_free(s);
		}
	}
	jv_free(a);
	return rec;
}

static jv
feature_fn(jv rec, const char *k, const char *s)
{
	return feature(rec, k, s);
}

static jv
words_fn(jv rec, const char *k, const char *s)
{
	(void)k;
	return words(rec, s);
}

/* ---- files ----------------------------------------------------------------- */

static int
ex_errno(int e)
{
	switch (e) {
	case EACCES:
	case EPERM:
	case EROFS:
		return EX_CONFIG;
	case ENOMEM:
		return EX_OSERR;
	}
	return EX_IOERR;
}

/* The post-mortem file name of an incident: its id where that is a safe
 * name, else the safe characters and a hash (ids must not collide). */
static void
pm_name(const char *inc, char *out, size_t len)
{
	char id[SRE_ID_LEN + 1];
	size_t i, n = 0;
	int changed = 0;

	for (i = 0; inc[i] != '\0' && n + 32 < len; i++) {
		char ch = inc[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' ||
		    (ch == '.' && i > 0))) {
			ch = '_';
			changed = 1;
		}
		out[n++] = ch;
	}
	if (inc[i] != '\0')
		changed = 1;
	out[n] = '\0';
	if (changed) {
		sre_store_id_derive(id, 0, "file", inc);
		snprintf(out + n, len - n, "-%.8s", id + 10);
		n = strlen(out);
	}
	snprintf(out + n, len - n, ".md");
}

/* ---- the apply transaction ------------------------------------------------ */

struct apply {
	struct sre_curate *c;
	jv ev;			/* borrowed */
	const char *type, *id, *inc;
	int64_t ts, clock;
	jv out;			/* postmortem events of this transaction */
	int stored;
};

static const char *
str(jv o, const char *k)
{
	return sre_jv_str(o, k);
}

static jv
rec_new(const char *inc, int64_t ts)
{
	jv r = jv_object();

	r = set(r, "incident", jv_string(inc));
	r = set(r, "status", jv_string("open"));
	r = set(r, "outcome", jv_null());
	r = set(r, "fingerprint", jv_null());
	r = set(r, "first_ms", num(ts));
	r = set(r, "last_ms", num(ts));
	r = set(r, "events", num(0));
	r = set(r, "services", jv_array());
	r = set(r, "operations", jv_array());
	r = set(r, "signals", jv_array());
	r = set(r, "templates", jv_array());
	r = set(r, "words", jv_array());
	return r;
}

static jv
on_anomaly(jv rec, jv ev, int64_t ts)
{
	const char *svc = str(ev, "service"), *op = str(ev, "operation");
	jv evidence = member(ev, "evidence");
	double score, best;

	if (!has(rec, "anomaly_ms") || ts < iget(rec, "anomaly_ms", ts)) {
		jv a = jv_object();

		rec = set(rec, "anomaly_ms", num(ts));
		if (kind_is(ev, "window_start_ms", JV_KIND_NUMBER))
			rec = set(rec, "window_start_ms",
			    member(ev, "window_start_ms"));
		else
			rec = set(rec, "window_start_ms", jv_null());
		a = copy_if(a, ev, "service");
		a = copy_if(a, ev, "operation");
		a = copy_if(a, ev, "signal");
		a = copy_if(a, ev, "observed");
		a = copy_if(a, ev, "baseline");
		a = copy_if(a, ev, "score");
		a = copy_if(a, ev, "evidence");
		rec = set(rec, "anomaly", a);
	}
	if (!has(rec, "fingerprint") && str(ev, "fingerprint") != NULL)
		rec = set(rec, "fingerprint", member(ev, "fingerprint"));
	if (sre_jv_num(ev, "score", &score) == 0 &&
	    (sre_jv_num(rec, "score", &best) < 0 || score > best))
		rec = set(rec, "score", jv_number(score));
	rec = feature(rec, "services", svc);
	if (svc != NULL && op != NULL) {
		char buf[2 * SRE_STORE_KEY_MAX];

		if ((size_t)snprintf(buf, sizeof(buf), "%s %s", svc, op) <
		    sizeof(buf))
			rec = feature(rec, "operations", buf);
	}
	rec = feature(rec, "signals", str(ev, "signal"));
	rec = each_string(rec, evidence, "templates", feature_fn, "templates");
	rec = each_string(rec, evidence, "template", feature_fn, "templates");
	rec = each_string(rec, evidence, "messages", words_fn, NULL);
	rec = each_string(rec, evidence, "message", words_fn, NULL);
	jv_free(evidence);
	return rec;
}

static jv
on_diagnosis(jv rec, jv ev, int64_t ts)
{
	jv d = jv_object(), rcs = member(ev, "root_causes"), top = jv_null();
	const char *src = str(ev, "source");
	int i, n;

	d = copy_if(d, ev, "id");
	d = copy_if(d, ev, "source");
	d = set(d, "ts_ms", num(ts));
	d = copy_if(d, ev, "confidence");
	d = copy_if(d, ev, "summary");
	if (jv_get_kind(rcs) == JV_KIND_ARRAY) {
		n = jv_array_length(jv_copy(rcs));
		if (n > 0)
			top = jv_array_get(jv_copy(rcs), 0);
		for (i = 0; i < n && i < 8; i++) {
			jv rc = jv_array_get(jv_copy(rcs), i);

			rec = feature(rec, "services", str(rc, "service"));
			rec = words(rec, str(rc, "reason"));
			jv_free(rc);
		}
		d = set(d, "root_causes", jv_array_slice(jv_copy(rcs), 0,
		    n < 3 ? n : 3));
	}
	jv_free(rcs);
	d = copy_if(d, ev, "proposal");
	d = copy_if(d, ev, "memory");
	rec = set(rec, "diagnosis", d);
	if (jv_get_kind(top) == JV_KIND_OBJECT)
		rec = set(rec, "root_cause", top);
	else
		jv_free(top);
	rec = copy_if(rec, ev, "summary");
	rec = words(rec, str(ev, "summary"));
	if (kind_is(ev, "proposal", JV_KIND_OBJECT) &&
	    !kind_is(rec, "verdict", JV_KIND_OBJECT))
		rec = set(rec, "proposal", member(ev, "proposal"));
	if (!has(rec, "fingerprint") && str(ev, "fingerprint") != NULL)
		rec = set(rec, "fingerprint", member(ev, "fingerprint"));
	if (src != NULL && strcmp(src, "sre-cag") == 0)
		rec = set(rec, "cag", jv_true());
	return rec;
}

static jv
on_verdict(jv rec, jv ev, int64_t ts)
{
	jv v = jv_object();
	const char *d = str(ev, "decision");

	v = copy_if(v, ev, "decision");
	v = copy_if(v, ev, "reasons");
	v = copy_if(v, ev, "rules");
	v = copy_if(v, ev, "proposal");
	v = set(v, "ts_ms", num(ts));
	rec = set(rec, "verdict", v);
	if (d != NULL && strcmp(d, "approve") == 0 &&
	    kind_is(ev, "proposal", JV_KIND_OBJECT))
		rec = set(rec, "proposal", member(ev, "proposal"));
	return rec;
}

static int
is_fix(const char *status)
{
	return status != NULL && (strcmp(status, "committed") == 0 ||
	    strcmp(status, "pr_opened") == 0);
}

static jv
on_action(jv rec, jv ev, int64_t ts)
{
	jv a = jv_object();

	a = copy_if(a, ev, "status");
	a = copy_if(a, ev, "repo");
	a = copy_if(a, ev, "branch");
	a = copy_if(a, ev, "commit");
	a = copy_if(a, ev, "pr_url");
	a = copy_if(a, ev, "detail");
	a = set(a, "ts_ms", num(ts));
	if (is_fix(str(ev, "status")) && !has(rec, "fix")) {
		rec = set(rec, "fix", jv_copy(a));
		rec = set(rec, "fixed_ms", num(ts));
	}
	if (is_fix(str(ev, "status")))
		rec = set(rec, "last_fix", jv_copy(a));	/* the one that held */
	rec = set(rec, "action", a);
	if (!has(rec, "proposal") && kind_is(ev, "proposal", JV_KIND_OBJECT))
		rec = set(rec, "proposal", member(ev, "proposal"));
	return rec;
}

static jv
on_escalation(jv rec, jv ev, int64_t ts)
{
	jv e = jv_object();

	e = copy_if(e, ev, "reason");
	e = copy_if(e, ev, "channel");
	e = copy_if(e, ev, "delivered");
	e = set(e, "ts_ms", num(ts));
	return set(rec, "escalation", e);
}

/* A metric b - a when both are known and b >= a, else null. */
static jv
span(jv rec, const char *a, const char *b)
{
	int64_t x, y;

	if (sre_jv_int(rec, a, &x) < 0 || sre_jv_int(rec, b, &y) < 0 || y < x)
		return jv_null();
	return num(y - x);
}

static int
txn_errno(struct sre_txn *t, int e, const char *what, const char *path)
{
	return sre_txn_fail(t, ex_errno(e), "%s %s: %s", what, path,
	    strerror(e));
}

static const char *outcome_text(const char *o, int healed);

/* Why an incident closed as it did, in a line: the outcome's meaning,
 * and what says so (the fix that held, the escalation's reason). */
static jv
close_reason(jv r, const char *outcome, int healed)
{
	jv x, out;
	const char *t = outcome_text(outcome, healed), *why = NULL;
	char buf[600];

	if (strcmp(outcome, "escalated") == 0) {
		x = member(r, "escalation");
		why = str(x, "reason");
	} else if (strcmp(outcome, "auto_resolved") == 0 && !healed) {
		x = member(r, "last_fix");
		why = str(x, "detail");
	} else
		x = jv_null();
	if (why != NULL)
		snprintf(buf, sizeof(buf), "%s: %.500s", t, why);
	else
		snprintf(buf, sizeof(buf), "%s", t);
	out = jv_string(buf);
	jv_free(x);
	return out;
}

/*
 * Close the incident in *rec with outcome at event time at: metrics,
 * learning, the post-mortem file, the outbox.  The caller stores *rec.
 */
static int
close_incident(struct sre_txn *t, struct apply *a, jv *rec,
    const char *outcome, int64_t at)
{
	const char *inc = str(*rec, "incident"), *fp = str(*rec, "fingerprint");
	char name[256], path[4400], id[SRE_ID_LEN + 1];
	jv r = *rec, proposal = member(r, "proposal"), tl, cag = jv_null(), pm;
	int64_t fixed, recovered;
	int fixed_it, healed;
	char *md;

	fixed_it = sre_jv_int(r, "fixed_ms", &fixed) == 0;
	healed = strcmp(outcome, "auto_resolved") == 0 && (!fixed_it ||
	    (sre_jv_int(r, "recovered_ms", &recovered) == 0 &&
	    recovered < fixed));
	r = set(r, "status", jv_string("closed"));
	r = set(r, "outcome", jv_string(outcome));
	r = set(r, "reason", close_reason(r, outcome, healed));
	r = set(r, "closed_ms", num(at));
	r = set(r, "self_healed", jv_bool(healed));
	r = set(r, "detect_ms", span(r, "window_start_ms", "anomaly_ms"));
	r = set(r, "fix_ms", span(r, "anomaly_ms", "fixed_ms"));
	r = set(r, "mttr_ms", strcmp(outcome, "auto_resolved") == 0 ?
	    span(r, "anomaly_ms", "recovered_ms") : jv_null());
	/* Learning: a fix and what became of it. */
	r = set(r, "learned", jv_null());
	if (fixed_it && !healed && fp != NULL &&
	    jv_get_kind(proposal) == JV_KIND_OBJECT) {
		int success = strcmp(outcome, "auto_resolved") == 0;
		jv root = member(r, "root_cause");

		if (sre_txn_cag_learn(t, fp, proposal, success, inc, at,
		    root) < 0) {
			jv_free(root);
			goto fail;
		}
		jv_free(root);
		r = set(r, "learned", jv_string(success ? "success" :
		    "failure"));
		fp = str(r, "fingerprint");
		cag = sre_txn_cag_get(t, fp, proposal);
		if (!jv_is_valid(cag))
			goto fail;
	}
	inc = str(r, "incident");
	pm_name(inc, name, sizeof(name));
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", a->c->pmdir, name) >=
	    sizeof(path)) {
		sre_txn_fail(t, EX_CONFIG, "post-mortem path too long");
		goto fail;
	}
	r = set(r, "path", jv_string(path));
	tl = sre_txn_timeline(t, inc);
	if (!jv_is_valid(tl))
		goto fail;
	md = sre_curate_markdown(r, tl, cag);
	jv_free(tl);
	if (md == NULL) {
		sre_txn_fail(t, EX_OSERR, "out of memory");
		goto fail;
	}
	if (sre_file_replace(path, md, strlen(md), 0644) < 0) {
		txn_errno(t, errno, "writing", path);
		free(md);
		goto fail;
	}
	free(md);
	pm = sre_event_new("postmortem", inc);
	sre_store_id_derive(id, at, "postmortem", inc);
	pm = set(pm, "id", jv_string(id));
	pm = set(pm, "ts_ms", num(at));
	pm = set(pm, "outcome", jv_string(outcome));
	pm = set(pm, "reason", member(r, "reason"));
	pm = set(pm, "mttr_ms", member(r, "mttr_ms"));
	pm = set(pm, "fix_ms", member(r, "fix_ms"));
	pm = set(pm, "detect_ms", member(r, "detect_ms"));
	pm = set(pm, "path", jv_string(path));
	pm = set(pm, "fingerprint", member(r, "fingerprint"));
	pm = set(pm, "learned", member(r, "learned"));
	if (sre_txn_outbox_put(t, inc, pm) < 0) {
		jv_free(pm);
		goto fail;
	}
	a->out = jv_array_append(a->out, pm);
	jv_free(proposal);
	jv_free(cag);
	*rec = r;
	return 0;
fail:
	jv_free(proposal);
	jv_free(cag);
	*rec = r;
	return -1;
}

/* Close the open incidents whose last event is older than the clock by
 * the timeout, at that event time plus the timeout. */
static int
close_stale(struct sre_txn *t, struct apply *a)
{
	int64_t limit = a->clock - a->c->timeout_ms;
	jv ids;
	int i, n, rc = 0;

	if (a->clock < 0 || limit <= 0)
		return 0;
	ids = sre_txn_open_before(t, limit, STALE_BATCH);
	if (!jv_is_valid(ids))
		return -1;
	n = jv_array_length(jv_copy(ids));
	for (i = 0; i < n && rc == 0; i++) {
		jv id = jv_array_get(jv_copy(ids), i);
		jv rec = sre_txn_incident_get(t, jv_string_value(id));

		if (!jv_is_valid(rec) || jv_get_kind(rec) != JV_KIND_OBJECT)
			rc = jv_is_valid(rec) ? 0 : -1;
		else if ((rc = close_incident(t, a, &rec, "unresolved",
		    iget(rec, "last_ms", 0) + a->c->timeout_ms)) == 0)
			rc = sre_txn_incident_put(t, rec);
		jv_free(rec);
		jv_free(id);
	}
	jv_free(ids);
	return rc;
}

static int
apply_fn(struct sre_txn *t, void *ctx)
{
	struct apply *a = ctx;
	jv rec;
	int r;

	/* A repeat after a full map starts over. */
	jv_free(a->out);
	a->out = jv_array();
	a->stored = 0;
	if (a->inc == NULL)
		return close_stale(t, a) < 0 ? -1 : 0;
	if ((r = sre_txn_timeline_add(t, a->inc, a->ts, a->id, a->ev)) <= 0)
		return r < 0 ? -1 : 1;	/* seen before: nothing changes */
	a->stored = 1;
	rec = sre_txn_incident_get(t, a->inc);
	if (!jv_is_valid(rec))
		return -1;
	if (jv_get_kind(rec) != JV_KIND_OBJECT) {
		jv_free(rec);
		rec = rec_new(a->inc, a->ts);
	}
	rec = set(rec, "events", num(iget(rec, "events", 0) + 1));
	if (strcmp(str(rec, "status") ? str(rec, "status") : "", "open") != 0)
		goto put;	/* a late event of a closed incident */
	if (a->ts < iget(rec, "first_ms", a->ts))
		rec = set(rec, "first_ms", num(a->ts));
	if (a->ts > iget(rec, "last_ms", a->ts))
		rec = set(rec, "last_ms", num(a->ts));
	if (strcmp(a->type, "anomaly") == 0)
		rec = on_anomaly(rec, a->ev, a->ts);
	else if (strcmp(a->type, "diagnosis") == 0)
		rec = on_diagnosis(rec, a->ev, a->ts);
	else if (strcmp(a->type, "verdict") == 0)
		rec = on_verdict(rec, a->ev, a->ts);
	else if (strcmp(a->type, "action") == 0)
		rec = on_action(rec, a->ev, a->ts);
	else if (strcmp(a->type, "recovery") == 0) {
		int64_t left;

		if (!has(rec, "fingerprint") && str(a->ev, "fingerprint"))
			rec = set(rec, "fingerprint", member(a->ev,
			    "fingerprint"));
		/* sre-scout says how many of the incident's series are still
		 * anomalous: the incident is over with the last of them. */
		if (sre_jv_int(a->ev, "remaining", &left) < 0 || left < 0)
			left = 0;
		/* Only an incident an anomaly opened recovers (and teaches):
		 * a recovery of one never seen open proves nothing. */
		if (left == 0 && has(rec, "anomaly_ms")) {
			if (!has(rec, "recovered_ms"))
				rec = set(rec, "recovered_ms", num(a->ts));
			if (close_incident(t, a, &rec, "auto_resolved",
			    a->ts) < 0)
				goto fail;
		}
	} else if (strcmp(a->type, "escalation") == 0) {
		rec = on_escalation(rec, a->ev, a->ts);
		if (close_incident(t, a, &rec, "escalated", a->ts) < 0)
			goto fail;
	}
put:
	r = sre_txn_incident_put(t, rec);
	jv_free(rec);
	if (r < 0)
		return -1;
	return close_stale(t, a) < 0 ? -1 : 0;
fail:
	jv_free(rec);
	return -1;
}

static int
sample_fn(struct sre_txn *t, void *ctx)
{
	struct apply *a = ctx;
	int r = sre_txn_sample_add(t, a->ts, a->id, a->ev);

	a->stored = r > 0;
	return r < 0 ? -1 : r == 0 ? 1 : 0;
}

/* ---- the public side -------------------------------------------------------- */

/* Remove the temporary files of writers that died (kill -9) before their
 * rename: "NAME.md.tmpPID" whose PID is gone. */
static void
sweep(const char *dirpath)
{
	char path[4400];
	struct dirent *de;
	const char *p;
	char *end;
	long pid;
	DIR *d;

	if ((d = opendir(dirpath)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if ((p = strstr(de->d_name, ".md.tmp")) == NULL)
			continue;
		pid = strtol(p + 7, &end, 10);
		if (*end != '\0' || pid <= 0 || pid == (long)getpid() ||
		    kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dirpath,
		    de->d_name) < sizeof(path))
			unlink(path);
	}
	closedir(d);
}

int
sre_curate_init(struct sre_curate *c, struct sre_store *st,
    const struct sre_curate_opts *opts, char *err, size_t errlen)
{
	memset(c, 0, sizeof(*c));
	c->st = st;
	c->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms :
	    SRE_CURATE_TIMEOUT_MS;
	c->clock_ms = -1;
	c->pending = jv_array();
	if ((size_t)snprintf(c->pmdir, sizeof(c->pmdir), "%s/%s",
	    opts->state_dir, SRE_CURATE_PMDIR) >= sizeof(c->pmdir)) {
		snprintf(err, errlen, "%s: path too long", opts->state_dir);
		return EX_CONFIG;
	}
	if (mkdir(c->pmdir, 0777) < 0 && errno != EEXIST) {
		int e = errno;

		snprintf(err, errlen, "cannot create %s: %s", c->pmdir,
		    strerror(e));
		return ex_errno(e);
	}
	sweep(c->pmdir);
	return EX_OK;
}

void
sre_curate_free(struct sre_curate *c)
{
	jv_free(c->pending);
	c->pending = jv_null();
}

/* Events far in the future do not move the clock: one bad timestamp
 * must not close every open incident. */
static int64_t
clock_after(struct sre_curate *c, int64_t ts)
{
	int64_t limit = sre_now_ms() + 24LL * 3600 * 1000;

	if (ts > limit || ts <= c->clock_ms)
		return c->clock_ms;
	return ts;
}

static int
run(struct sre_curate *c, struct apply *a, sre_store_fn fn, char *err,
    size_t errlen)
{
	int ex, i, n;

	a->c = c;
	a->out = jv_array();
	ex = sre_store_write(c->st, fn, a, err, errlen);
	if (ex == EX_OK) {
		n = jv_array_length(jv_copy(a->out));
		for (i = 0; i < n; i++)
			c->pending = jv_array_append(c->pending,
			    jv_array_get(jv_copy(a->out), i));
		c->closed += (unsigned long long)n;
		c->clock_ms = a->clock;
	}
	jv_free(a->out);
	return ex;
}

int
sre_curate_event(struct sre_curate *c, jv ev, char *err, size_t errlen)
{
	struct apply a;
	int64_t ts = 0;
	int ex;

	memset(&a, 0, sizeof(a));
	a.ev = ev;
	a.type = sre_jv_str(ev, "type");
	a.id = sre_jv_str(ev, "id");
	a.inc = sre_jv_str(ev, "incident");
	sre_jv_int(ev, "ts_ms", &ts);
	a.ts = ts;
	a.clock = c->clock_ms;
	if (a.type == NULL || a.id == NULL) {
		snprintf(err, errlen, "not an event (no type or id)");
		return EX_DATAERR;
	}
	if (!sre_store_key_ok(a.id)) {
		snprintf(err, errlen, "field 'id': longer than %d bytes",
		    SRE_STORE_KEY_MAX);
		return EX_DATAERR;
	}
	if (strcmp(a.type, "governor") == 0) {
		ex = run(c, &a, sample_fn, err, errlen);
		goto done;
	}
	if (strcmp(a.type, "postmortem") == 0 || a.inc == NULL) {
		c->ignored++;
		return EX_OK;
	}
	if (!sre_store_key_ok(a.inc)) {
		snprintf(err, errlen, "field 'incident': longer than %d bytes",
		    SRE_STORE_KEY_MAX);
		return EX_DATAERR;
	}
	a.clock = clock_after(c, ts);
	ex = run(c, &a, apply_fn, err, errlen);
done:
	if (ex == EX_OK) {
		if (a.stored)
			c->stored++;
		else
			c->duplicates++;
	}
	return ex;
}

int
sre_curate_tick(struct sre_curate *c, int64_t now_ms, char *err,
    size_t errlen)
{
	struct apply a;

	if (c->clock_ms < 0 || now_ms <= c->clock_ms)
		return EX_OK;
	memset(&a, 0, sizeof(a));
	a.clock = clock_after(c, now_ms);
	if (a.clock == c->clock_ms)
		return EX_OK;
	return run(c, &a, apply_fn, err, errlen);
}

int
sre_curate_recover(struct sre_curate *c, char *err, size_t errlen)
{
	struct sre_txn *t;
	jv list;
	int ex, i, n;

	if ((ex = sre_store_read(c->st, &t, err, errlen)) != EX_OK)
		return ex;
	list = sre_txn_outbox_list(t);
	if (!jv_is_valid(list)) {
		snprintf(err, errlen, "%s", sre_txn_error(t, &ex));
		sre_txn_end(t);
		return ex;
	}
	sre_txn_end(t);
	n = jv_array_length(jv_copy(list));
	for (i = 0; i < n; i++) {
		jv e = jv_array_get(jv_copy(list), i);

		c->pending = jv_array_append(c->pending, member(e, "value"));
		jv_free(e);
	}
	jv_free(list);
	return EX_OK;
}

jv
sre_curate_take(struct sre_curate *c)
{
	jv p = c->pending;

	c->pending = jv_array();
	return p;
}

struct deliv {
	jv events;
};

static int
delivered_fn(struct sre_txn *t, void *ctx)
{
	struct deliv *d = ctx;
	int i, n = jv_array_length(jv_copy(d->events));

	for (i = 0; i < n; i++) {
		jv e = jv_array_get(jv_copy(d->events), i);
		const char *inc = sre_jv_str(e, "incident");
		const char *id = sre_jv_str(e, "id");
		jv cur;
		int r = 0;

		/* Only the entry still holding this very event goes. */
		if (inc != NULL && id != NULL && sre_store_key_ok(inc)) {
			jv list = sre_txn_outbox_list(t);
			int j, m;

			if (!jv_is_valid(list)) {
				jv_free(e);
				return -1;
			}
			m = jv_array_length(jv_copy(list));
			for (j = 0; j < m && r == 0; j++) {
				jv o = jv_array_get(jv_copy(list), j);
				const char *k = sre_jv_str(o, "key");

				cur = member(o, "value");
				if (k != NULL && strcmp(k, inc) == 0 &&
				    sre_jv_str(cur, "id") != NULL &&
				    strcmp(sre_jv_str(cur, "id"), id) == 0)
					r = sre_txn_outbox_del(t, inc) < 0 ?
					    -1 : 1;
				jv_free(cur);
				jv_free(o);
			}
			jv_free(list);
		}
		jv_free(e);
		if (r < 0)
			return -1;
	}
	return 0;
}

int
sre_curate_delivered(struct sre_curate *c, jv events, char *err,
    size_t errlen)
{
	struct deliv d = { events };
	int ex = EX_OK;

	if (jv_array_length(jv_copy(events)) > 0)
		ex = sre_store_write(c->st, delivered_fn, &d, err, errlen);
	jv_free(events);
	return ex;
}

/* ---- Markdown ----------------------------------------------------------------- */

void
sre_curate_iso(int64_t ms, char *buf, size_t len)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;

	if (ms < 0 || gmtime_r(&s, &tm) == NULL) {
		snprintf(buf, len, "?");
		return;
	}
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

/* A duration in ms as text: "850 ms", "12.5 s", "3 min 5 s", "2 h 3 min". */
static void
dur(int64_t ms, char *buf, size_t len)
{
	if (ms < 1000)
		snprintf(buf, len, "%" PRId64 " ms", ms);
	else if (ms < 120000)
		snprintf(buf, len, "%.1f s", (double)ms / 1000);
	else if (ms < 7200000)
		snprintf(buf, len, "%" PRId64 " min %" PRId64 " s",
		    ms / 60000, ms / 1000 % 60);
	else
		snprintf(buf, len, "%" PRId64 " h %" PRId64 " min",
		    ms / 3600000, ms / 60000 % 60);
}

/* Text fit for one Markdown table cell or line: no newlines, no pipes. */
static void
md_text(FILE *fp, const char *s)
{
	for (; s != NULL && *s != '\0'; s++) {
		if (*s == '|')
			fputs("\\|", fp);
		else if (*s == '\n' || *s == '\r' || *s == '\t')
			fputc(' ', fp);
		else
			fputc(*s, fp);
	}
}

/* A JSON value in backticks (compact), or its string. */
static void
md_json(FILE *fp, jv v)
{
	size_t n;
	char *s;

	if (jv_get_kind(v) == JV_KIND_STRING) {
		md_text(fp, jv_string_value(v));
		jv_free(v);
		return;
	}
	if ((s = sre_jv_dump(v, &n)) == NULL)
		return;
	fputc('`', fp);
	md_text(fp, s);
	fputc('`', fp);
	free(s);
}

static void
md_metric(FILE *fp, jv rec, const char *k, const char *label,
    const char *what)
{
	char buf[64];
	int64_t v;

	if (sre_jv_int(rec, k, &v) == 0) {
		dur(v, buf, sizeof(buf));
		fprintf(fp, "- %s: **%s** (%s, %s = %" PRId64 ")\n", label, buf,
		    what, k, v);
	} else
		fprintf(fp, "- %s: unknown (%s)\n", label, what);
}

/* Strings of array member k, comma-separated. */
static void
md_list(FILE *fp, jv o, const char *k, const char *none)
{
	jv a = member(o, k);
	int i, n = 0;

	if (jv_get_kind(a) == JV_KIND_ARRAY)
		n = jv_array_length(jv_copy(a));
	for (i = 0; i < n; i++) {
		jv e = jv_array_get(jv_copy(a), i);

		if (i > 0)
			fputs(", ", fp);
		md_json(fp, e);
	}
	if (n == 0)
		fputs(none, fp);
	jv_free(a);
}

/* One line of detail about an event for the timeline. */
static void
md_detail(FILE *fp, jv ev)
{
	const char *type = sre_jv_str(ev, "type"), *s;
	double d;

	if (type == NULL)
		return;
	if (strcmp(type, "anomaly") == 0) {
		md_text(fp, sre_jv_str(ev, "service"));
		if ((s = sre_jv_str(ev, "operation")) != NULL) {
			fputc(' ', fp);
			md_text(fp, s);
		}
		fputs(": ", fp);
		md_text(fp, sre_jv_str(ev, "signal"));
		if (sre_jv_num(ev, "observed", &d) == 0)
			fprintf(fp, " %g", d);
		if (sre_jv_num(ev, "baseline", &d) == 0)
			fprintf(fp, " against %g", d);
		if (sre_jv_num(ev, "score", &d) == 0)
			fprintf(fp, " (score %g)", d);
	} else if (strcmp(type, "diagnosis") == 0) {
		md_text(fp, sre_jv_str(ev, "summary"));
		if (sre_jv_num(ev, "confidence", &d) == 0)
			fprintf(fp, " (confidence %g)", d);
	} else if (strcmp(type, "verdict") == 0) {
		md_text(fp, sre_jv_str(ev, "decision"));
	} else if (strcmp(type, "action") == 0) {
		md_text(fp, sre_jv_str(ev, "status"));
		if ((s = sre_jv_str(ev, "commit")) != NULL) {
			fputs(" commit ", fp);
			md_text(fp, s);
		}
		if ((s = sre_jv_str(ev, "pr_url")) != NULL) {
			fputs(" ", fp);
			md_text(fp, s);
		}
	} else if (strcmp(type, "recovery") == 0) {
		md_text(fp, sre_jv_str(ev, "service"));
		fputs(" back to normal", fp);
	} else if (strcmp(type, "escalation") == 0) {
		md_text(fp, sre_jv_str(ev, "reason"));
		if ((s = sre_jv_str(ev, "channel")) != NULL) {
			fputs(" via ", fp);
			md_text(fp, s);
		}
	}
}

/* Rows of the timeline shown: the first and the last ones of a long
 * incident, with a count of those left out between. */
#define MD_HEAD	150
#define MD_TAIL	50

static void
md_timeline(FILE *fp, jv tl, int64_t t0)
{
	int i, n = jv_array_length(jv_copy(tl));

	fputs("| Time (UTC) | +s | Event | Source | Detail |\n", fp);
	fputs("| --- | --- | --- | --- | --- |\n", fp);
	for (i = 0; i < n; i++) {
		jv ev;
		int64_t ts = 0;
		char iso[40];

		if (n > MD_HEAD + MD_TAIL && i == MD_HEAD) {
			fprintf(fp, "| ... | | | | %d more events, in the "
			    "store (sre-curate export) |\n",
			    n - MD_HEAD - MD_TAIL);
			i = n - MD_TAIL;
		}
		ev = jv_array_get(jv_copy(tl), i);

		sre_jv_int(ev, "ts_ms", &ts);
		sre_curate_iso(ts, iso, sizeof(iso));
		fprintf(fp, "| %s | %.1f | ", iso, (double)(ts - t0) / 1000);
		md_text(fp, sre_jv_str(ev, "type"));
		fputs(" | ", fp);
		md_text(fp, sre_jv_str(ev, "source"));
		fputs(" | ", fp);
		md_detail(fp, ev);
		fputs(" |\n", fp);
		jv_free(ev);
	}
}

static const char *
outcome_text(const char *o, int healed)
{
	if (o == NULL)
		return "";
	if (strcmp(o, "auto_resolved") == 0)
		return healed ? "recovered without a fix" :
		    "resolved by the fix, verified by recovery";
	if (strcmp(o, "escalated") == 0)
		return "handed to a human";
	if (strcmp(o, "unresolved") == 0)
		return "no news within the timeout";
	return "";
}

static void
md_root_cause(FILE *fp, jv rec)
{
	jv d = member(rec, "diagnosis"), rcs = member(d, "root_causes");
	jv an = member(rec, "anomaly"), evd = member(an, "evidence");
	int i, n = 0;
	double conf;

	fputs("\n## Root cause\n\n", fp);
	if (jv_get_kind(rcs) == JV_KIND_ARRAY)
		n = jv_array_length(jv_copy(rcs));
	for (i = 0; i < n; i++) {
		jv rc = jv_array_get(jv_copy(rcs), i);
		const char *op = sre_jv_str(rc, "operation");
		double score;

		fprintf(fp, "%d. **", i + 1);
		md_text(fp, sre_jv_str(rc, "service"));
		fputs("**", fp);
		if (op != NULL) {
			fputs(" ", fp);
			md_text(fp, op);
		}
		if (sre_jv_num(rc, "score", &score) == 0)
			fprintf(fp, " (score %g)", score);
		if (sre_jv_str(rc, "reason") != NULL) {
			fputs(": ", fp);
			md_text(fp, sre_jv_str(rc, "reason"));
		}
		fputc('\n', fp);
		jv_free(rc);
	}
	if (n == 0)
		fputs("No root cause was named.\n", fp);
	if (sre_jv_num(d, "confidence", &conf) == 0) {
		fprintf(fp, "\nConfidence %g, diagnosed by ", conf);
		md_text(fp, sre_jv_str(d, "source"));
		fputs(".\n", fp);
	}
	if (jv_get_kind(evd) == JV_KIND_OBJECT) {
		jv keys = jv_keys(jv_copy(evd));
		int k, m = jv_array_length(jv_copy(keys));

		fputs("\nEvidence:\n\n", fp);
		for (k = 0; k < m; k++) {
			jv key = jv_array_get(jv_copy(keys), k);

			fputs("- ", fp);
			md_text(fp, jv_string_value(key));
			fputs(": ", fp);
			md_json(fp, jv_object_get(jv_copy(evd), key));
			fputc('\n', fp);
		}
		jv_free(keys);
	}
	jv_free(evd);
	jv_free(an);
	jv_free(rcs);
	jv_free(d);
}

static void
md_decision(FILE *fp, jv rec)
{
	jv v = member(rec, "verdict"), p = member(rec, "proposal");
	jv a = member(rec, "action"), fix = member(rec, "fix");
	const char *s;

	fputs("\n## Decision\n\n", fp);
	if (jv_get_kind(p) == JV_KIND_OBJECT) {
		fputs("Proposal: ", fp);
		md_text(fp, sre_jv_str(p, "action"));
		fputs(" on ", fp);
		md_text(fp, sre_jv_str(p, "target"));
		if (has(p, "params")) {
			fputs(" with ", fp);
			md_json(fp, member(p, "params"));
		}
		fputs(".\n\n", fp);
	}
	if (jv_get_kind(v) == JV_KIND_OBJECT) {
		fputs("Verdict: **", fp);
		md_text(fp, sre_jv_str(v, "decision"));
		fputs("**; rules: ", fp);
		md_list(fp, v, "rules", "none");
		fputs("; reasons: ", fp);
		md_list(fp, v, "reasons", "none");
		fputs(".\n", fp);
	} else
		fputs("No verdict was given.\n", fp);
	fputs("\n## Action\n\n", fp);
	if (jv_get_kind(fix) == JV_KIND_OBJECT || jv_get_kind(a) ==
	    JV_KIND_OBJECT) {
		int fixed = jv_get_kind(fix) == JV_KIND_OBJECT;
		jv x = fixed ? fix : a;

		fputs("Status: **", fp);
		md_text(fp, sre_jv_str(x, "status"));
		fputs("**", fp);
		if ((s = sre_jv_str(x, "repo")) != NULL) {
			fputs("; repository ", fp);
			md_text(fp, s);
		}
		if ((s = sre_jv_str(x, "branch")) != NULL) {
			fputs("; branch `", fp);
			md_text(fp, s);
			fputs("`", fp);
		}
		if ((s = sre_jv_str(x, "commit")) != NULL) {
			fputs("; commit `", fp);
			md_text(fp, s);
			fputs("`", fp);
		}
		if ((s = sre_jv_str(x, "pr_url")) != NULL) {
			fputs("; pull request <", fp);
			md_text(fp, s);
			fputs(">", fp);
		}
		fputs(".\n", fp);
		if (fixed && jv_get_kind(a) == JV_KIND_OBJECT &&
		    (s = sre_jv_str(a, "status")) != NULL &&
		    !is_fix(s)) {
			fputs("Latest action status: ", fp);
			md_text(fp, s);
			fputs(".\n", fp);
		}
	} else
		fputs("No action was taken.\n", fp);
	jv_free(v);
	jv_free(p);
	jv_free(a);
	jv_free(fix);
}

char *
sre_curate_markdown(jv rec, jv tl, jv cag)
{
	char *buf = NULL, iso[40];
	size_t len = 0;
	FILE *fp;
	const char *s;
	int64_t t0 = iget(rec, "anomaly_ms", iget(rec, "first_ms", 0));
	jv d, an, e;

	if ((fp = open_memstream(&buf, &len)) == NULL)
		return NULL;
	fputs("# Post-mortem: ", fp);
	md_text(fp, sre_jv_str(rec, "incident"));
	fputs("\n\n| | |\n| --- | --- |\n| Outcome | **", fp);
	md_text(fp, sre_jv_str(rec, "outcome"));
	fprintf(fp, "** (%s) |\n", outcome_text(sre_jv_str(rec, "outcome"),
	    kind_is(rec, "self_healed", JV_KIND_TRUE)));
	fputs("| Fingerprint | ", fp);
	if ((s = sre_jv_str(rec, "fingerprint")) != NULL) {
		fputc('`', fp);
		md_text(fp, s);
		fputc('`', fp);
	} else
		fputs("none", fp);
	fputs(" |\n| Services | ", fp);
	md_list(fp, rec, "services", "none");
	fputs(" |\n| Signals | ", fp);
	md_list(fp, rec, "signals", "none");
	sre_curate_iso(t0, iso, sizeof(iso));
	fprintf(fp, " |\n| Began | %s |\n", iso);
	sre_curate_iso(iget(rec, "closed_ms", 0), iso, sizeof(iso));
	fprintf(fp, "| Closed | %s |\n| Events | %" PRId64 " |\n", iso,
	    iget(rec, "events", 0));

	fputs("\n## Summary\n\n", fp);
	d = member(rec, "diagnosis");
	an = member(rec, "anomaly");
	if (jv_get_kind(an) == JV_KIND_OBJECT) {
		fputs("First anomaly: ", fp);
		e = jv_object_set(jv_copy(an), jv_string("type"),
		    jv_string("anomaly"));
		md_detail(fp, e);
		jv_free(e);
		fputs(".\n", fp);
	}
	if ((s = sre_jv_str(d, "summary")) != NULL) {
		fputs("Diagnosis: ", fp);
		md_text(fp, s);
		fputs("\n", fp);
	} else
		fputs("No diagnosis was made.\n", fp);
	jv_free(an);

	fputs("\n## Timeline\n\n", fp);
	md_timeline(fp, tl, t0);
	md_root_cause(fp, rec);
	md_decision(fp, rec);

	fputs("\n## Metrics\n\n", fp);
	md_metric(fp, rec, "detect_ms", "Time to detect",
	    "start of the first anomalous window to the first anomaly");
	md_metric(fp, rec, "fix_ms", "Time to fix",
	    "first anomaly to the commit or pull request");
	md_metric(fp, rec, "mttr_ms", "Time to recover",
	    "first anomaly to verified recovery");

	fputs("\n## Memory\n\n", fp);
	if (kind_is(rec, "cag", JV_KIND_TRUE))
		fputs("The fix came from the CAG table (sre-cag): a known "
		    "fingerprint with a verified track record.\n", fp);
	fputs("Similar past incidents the diagnosis drew on: ", fp);
	md_list(fp, d, "memory", "none");
	fputs(".\n", fp);
	jv_free(d);

	fputs("\n## Learning\n\n", fp);
	if ((s = sre_jv_str(rec, "learned")) != NULL &&
	    jv_get_kind(cag) == JV_KIND_OBJECT) {
		fprintf(fp, "The fix counted as a %s for this fingerprint "
		    "and proposal: verified %" PRId64 " of %" PRId64 " times "
		    "so far.\n", s, iget(cag, "successes", 0),
		    iget(cag, "successes", 0) + iget(cag, "failures", 0));
	} else if (kind_is(rec, "self_healed", JV_KIND_TRUE))
		fputs("Nothing learned: the service recovered without a "
		    "fix.\n", fp);
	else
		fputs("Nothing learned: no fix was applied.\n", fp);
	if (fclose(fp) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* ---- report -------------------------------------------------------------------- */

struct vec {
	int64_t *v;
	size_t n, cap;
};

static int
vec_add(struct vec *x, int64_t v)
{
	if (x->n == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 32;
		int64_t *p = reallocarray(x->v, cap, sizeof(*p));

		if (p == NULL)
			return -1;
		x->v = p;
		x->cap = cap;
	}
	x->v[x->n++] = v;
	return 0;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* {"p50","p90","n"}: nearest rank; null percentiles when n is 0. */
static jv
percentiles(struct vec *x)
{
	jv o = jv_object();
	size_t r50, r90;

	if (x->n == 0) {
		o = set(o, "p50", jv_null());
		o = set(o, "p90", jv_null());
	} else {
		qsort(x->v, x->n, sizeof(*x->v), cmp_i64);
		r50 = (x->n * 50 + 99) / 100;
		r90 = (x->n * 90 + 99) / 100;
		o = set(o, "p50", num(x->v[r50 - 1]));
		o = set(o, "p90", num(x->v[r90 - 1]));
	}
	return set(o, "n", num((int64_t)x->n));
}

struct sample {
	int64_t ts;
	double cpu;		/* cumulative, corrected for restarts */
	int64_t rss;
};

struct rep {
	int64_t since, until;
	jv truth;
	struct vec fix, mttr, detect;
	long long incidents, closed, auto_resolved, escalated, unresolved,
	    healed, judged, matched;
	jv spans;		/* [start, end] of each incident */
	struct vec open;	/* when each open incident's verify window
				   began (its fix, else its first anomaly) */
	int64_t newest;		/* the newest event time of any incident */
	long long overdue;	/* open past their verify window */
	struct sample *s;
	size_t ns, caps;
	double last_raw;
	int oom;
};

/* A fault's truth entry covers ts when start_ms <= ts <= end_ms. */
static int
in_window(jv t, int64_t ts)
{
	int64_t a, b;

	return ts >= 0 && sre_jv_int(t, "start_ms", &a) == 0 &&
	    sre_jv_int(t, "end_ms", &b) == 0 && ts >= a && ts <= b;
}

static int
truth_for(struct rep *r, jv rec, jv *out)
{
	int i, n = jv_array_length(jv_copy(r->truth));
	const char *inc = sre_jv_str(rec, "incident");
	const char *fp = sre_jv_str(rec, "fingerprint");
	int found = 0;

	for (i = 0; i < n; i++) {
		jv t = jv_array_get(jv_copy(r->truth), i);
		const char *ti = sre_jv_str(t, "incident");
		const char *tf = sre_jv_str(t, "fingerprint");

		if (ti != NULL && inc != NULL && strcmp(ti, inc) == 0) {
			jv_free(*out);
			*out = t;
			return 1;	/* an incident's own truth wins */
		}
		if (!found && ti == NULL && tf == NULL &&
		    in_window(t, iget(rec, "anomaly_ms",
		    iget(rec, "first_ms", -1)))) {
			jv_free(*out);
			*out = jv_copy(t);
			found = 1;
		}
		if (!found && ti == NULL && tf != NULL && fp != NULL &&
		    strcmp(tf, fp) == 0) {
			jv_free(*out);
			*out = jv_copy(t);
			found = 1;
		}
		jv_free(t);
	}
	return found;
}

static int
report_fn(jv rec, void *ctx)
{
	struct rep *r = ctx;
	int64_t start = iget(rec, "anomaly_ms", iget(rec, "first_ms", -1)), v;
	const char *outcome = sre_jv_str(rec, "outcome");
	jv t = jv_null(), sp;

	v = iget(rec, "closed_ms", iget(rec, "last_ms", start));
	if (v > r->newest)
		r->newest = v;
	if (start < r->since || start >= r->until)
		return 0;
	r->incidents++;
	if (outcome == NULL && vec_add(&r->open, iget(rec, "fixed_ms",
	    start)) < 0)
		r->oom = 1;
	if (outcome != NULL) {
		r->closed++;
		if (strcmp(outcome, "auto_resolved") == 0) {
			r->auto_resolved++;
			if (kind_is(rec, "self_healed", JV_KIND_TRUE))
				r->healed++;
		} else if (strcmp(outcome, "escalated") == 0)
			r->escalated++;
		else if (strcmp(outcome, "unresolved") == 0)
			r->unresolved++;
	}
	if ((sre_jv_int(rec, "fix_ms", &v) == 0 && vec_add(&r->fix, v) < 0) ||
	    (sre_jv_int(rec, "mttr_ms", &v) == 0 &&
	    vec_add(&r->mttr, v) < 0) ||
	    (sre_jv_int(rec, "detect_ms", &v) == 0 &&
	    vec_add(&r->detect, v) < 0))
		r->oom = 1;
	if (jv_get_kind(r->truth) == JV_KIND_ARRAY && truth_for(r, rec, &t)) {
		jv rc = member(rec, "root_cause");
		const char *want = sre_jv_str(t, "service");
		const char *wop = sre_jv_str(t, "operation");
		const char *got = sre_jv_str(rc, "service");
		const char *gop = sre_jv_str(rc, "operation");

		if (want == NULL)
			want = sre_jv_str(t, "root_cause");
		r->judged++;
		if (want != NULL && got != NULL && strcmp(want, got) == 0 &&
		    (wop == NULL || (gop != NULL && strcmp(wop, gop) == 0)))
			r->matched++;
		jv_free(rc);
	}
	jv_free(t);
	sp = jv_array_append(jv_array(), num(iget(rec, "first_ms", start)));
	sp = jv_array_append(sp, num(iget(rec, "closed_ms",
	    iget(rec, "last_ms", start))));
	r->spans = jv_array_append(r->spans, sp);
	return 0;
}

static int
sample_scan_fn(jv ev, void *ctx)
{
	struct rep *r = ctx;
	struct sample *s;
	double cpu = -1;
	int64_t rss = -1, ts = 0;

	sre_jv_int(ev, "ts_ms", &ts);
	sre_jv_num(ev, "cpu_seconds", &cpu);
	sre_jv_int(ev, "rss_bytes", &rss);
	if (r->ns == r->caps) {
		size_t cap = r->caps ? r->caps * 2 : 64;

		if ((s = reallocarray(r->s, cap, sizeof(*s))) == NULL) {
			r->oom = 1;
			return 1;
		}
		r->s = s;
		r->caps = cap;
	}
	s = &r->s[r->ns];
	s->ts = ts;
	s->rss = rss;
	/* cpu_seconds only grows; a drop is a restart counting from 0. */
	if (r->ns == 0)
		s->cpu = 0;
	else if (cpu < 0)
		s->cpu = r->s[r->ns - 1].cpu;
	else
		s->cpu = r->s[r->ns - 1].cpu + (cpu >= r->last_raw ?
		    cpu - r->last_raw : cpu);
	if (cpu >= 0)
		r->last_raw = cpu;
	r->ns++;
	return 0;
}

/* Index of the last sample at or before ts, -1 if none. */
static long
sample_at(const struct rep *r, int64_t ts)
{
	long lo = 0, hi = (long)r->ns - 1, best = -1;

	while (lo <= hi) {
		long mid = lo + (hi - lo) / 2;

		if (r->s[mid].ts <= ts) {
			best = mid;
			lo = mid + 1;
		} else
			hi = mid - 1;
	}
	return best;
}

static jv
resource(struct rep *r)
{
	jv o = jv_object();
	double cpu_sum = 0, total = 0, peak_sum = 0;
	int64_t peak = -1;
	long measured = 0, first = -1, last = -1, i, k;
	int n = jv_array_length(jv_copy(r->spans));

	for (i = 0; i < (long)r->ns; i++) {
		if (r->s[i].ts < r->since || r->s[i].ts >= r->until)
			continue;
		if (first < 0)
			first = i;
		last = i;
		if (r->s[i].rss > peak)
			peak = r->s[i].rss;
	}
	if (first < 0) {
		jv_free(o);
		return jv_null();
	}
	total = r->s[last].cpu - r->s[first].cpu;
	for (k = 0; k < n; k++) {
		jv sp = jv_array_get(jv_copy(r->spans), (int)k);
		jv a = jv_array_get(jv_copy(sp), 0), b = jv_array_get(sp, 1);
		int64_t s0 = (int64_t)jv_number_value(a);
		int64_t s1 = (int64_t)jv_number_value(b);
		long i0 = sample_at(r, s0), i1 = sample_at(r, s1);
		int64_t pk = -1;

		jv_free(a);
		jv_free(b);
		if (i1 < 0)
			continue;	/* no sample by its end */
		if (i0 < 0)
			i0 = 0;
		for (i = i0; i <= i1; i++)
			if (r->s[i].rss > pk)
				pk = r->s[i].rss;
		cpu_sum += r->s[i1].cpu - r->s[i0].cpu;
		if (pk >= 0)
			peak_sum += (double)pk;
		measured++;
	}
	o = set(o, "samples", num(last - first + 1));
	o = set(o, "cpu_seconds", jv_number(round(total * 1000) / 1000));
	o = set(o, "peak_rss_bytes", peak >= 0 ? num(peak) : jv_null());
	o = set(o, "incidents_measured", num(measured));
	o = set(o, "cpu_seconds_per_incident", measured ?
	    jv_number(round(cpu_sum / (double)measured * 1000) / 1000) :
	    jv_null());
	o = set(o, "peak_rss_bytes_per_incident", measured ?
	    num((int64_t)llround(peak_sum / (double)measured)) : jv_null());
	return o;
}

static jv
ratio(long long a, long long b)
{
	if (b == 0)
		return jv_null();
	return jv_number(round((double)a / (double)b * 10000) / 10000);
}

jv
sre_curate_report(struct sre_store *st, int64_t since_ms, int64_t until_ms,
    int64_t verify_ms, jv truth, char *err, size_t errlen, int *ex)
{
	int64_t ref;
	size_t i;
	struct rep r;
	struct sre_txn *t;
	jv o = jv_object(), x;
	int64_t from;

	memset(&r, 0, sizeof(r));
	r.since = since_ms;
	r.until = until_ms;
	r.truth = truth;
	r.spans = jv_array();
	if ((*ex = sre_store_read(st, &t, err, errlen)) != EX_OK)
		goto fail;
	from = since_ms > 86400000 ? since_ms - 86400000 : 0;
	if (sre_txn_incident_scan(t, report_fn, &r) < 0 ||
	    sre_txn_sample_scan(t, from, INT64_MAX, sample_scan_fn, &r) < 0) {
		snprintf(err, errlen, "%s", sre_txn_error(t, ex));
		sre_txn_end(t);
		goto fail;
	}
	sre_txn_end(t);
	if (r.oom) {
		snprintf(err, errlen, "out of memory");
		*ex = EX_OSERR;
		goto fail;
	}
	o = set(o, "since_ms", since_ms > 0 ? num(since_ms) : jv_null());
	o = set(o, "until_ms", until_ms < INT64_MAX ? num(until_ms) :
	    jv_null());
	o = set(o, "incidents", num(r.incidents));
	o = set(o, "closed", num(r.closed));
	o = set(o, "open", num(r.incidents - r.closed));
	x = jv_object();
	x = set(x, "auto_resolved", num(r.auto_resolved));
	x = set(x, "escalated", num(r.escalated));
	x = set(x, "unresolved", num(r.unresolved));
	x = set(x, "self_healed", num(r.healed));
	o = set(o, "outcomes", x);
	o = set(o, "time_to_fix_ms", percentiles(&r.fix));
	o = set(o, "mttr_ms", percentiles(&r.mttr));
	o = set(o, "detect_ms", percentiles(&r.detect));
	/* open incidents past their verify window are failures */
	if (verify_ms <= 0)
		verify_ms = SRE_CURATE_VERIFY_MS;
	ref = until_ms < INT64_MAX ? until_ms : r.newest;
	for (i = 0; i < r.open.n; i++)
		if (ref - r.open.v[i] > verify_ms)
			r.overdue++;
	o = set(o, "overdue", num(r.overdue));
	o = set(o, "verify_window_ms", num(verify_ms));
	o = set(o, "autonomous_success_rate", ratio(r.auto_resolved,
	    r.closed + r.overdue));
	if (jv_get_kind(truth) == JV_KIND_ARRAY) {
		x = jv_object();
		x = set(x, "rate", ratio(r.matched, r.judged));
		x = set(x, "matched", num(r.matched));
		x = set(x, "n", num(r.judged));
		o = set(o, "cognitive_accuracy", x);
	} else
		o = set(o, "cognitive_accuracy", jv_null());
	o = set(o, "resource", resource(&r));
	free(r.fix.v);
	free(r.mttr.v);
	free(r.detect.v);
	free(r.open.v);
	free(r.s);
	jv_free(r.spans);
	*ex = EX_OK;
	return o;
fail:
	free(r.fix.v);
	free(r.mttr.v);
	free(r.detect.v);
	free(r.open.v);
	free(r.s);
	jv_free(r.spans);
	jv_free(o);
	return jv_invalid();
}

static void
text_pct(FILE *fp, const char *label, jv rep, const char *k)
{
	jv p = member(rep, k);
	char a[64], b[64];
	int64_t v50, v90;

	fprintf(fp, "%-26s", label);
	if (sre_jv_int(p, "p50", &v50) == 0 && sre_jv_int(p, "p90", &v90) ==
	    0) {
		dur(v50, a, sizeof(a));
		dur(v90, b, sizeof(b));
		fprintf(fp, "p50 %s, p90 %s (n=%" PRId64 ")\n", a, b,
		    iget(p, "n", 0));
	} else
		fputs("n/a (none measured)\n", fp);
	jv_free(p);
}

static void
mib(char *buf, size_t len, double bytes)
{
	snprintf(buf, len, "%.1f MiB", bytes / 1048576.0);
}

char *
sre_curate_report_text(jv rep)
{
	char *buf = NULL, a[64], b[64];
	size_t len = 0;
	FILE *fp;
	jv x;
	double d;
	int64_t v;

	if ((fp = open_memstream(&buf, &len)) == NULL) {
		jv_free(rep);
		return NULL;
	}
	fprintf(fp, "%-26s", "range");
	if (sre_jv_int(rep, "since_ms", &v) == 0)
		sre_curate_iso(v, a, sizeof(a));
	else
		snprintf(a, sizeof(a), "the beginning");
	if (sre_jv_int(rep, "until_ms", &v) == 0)
		sre_curate_iso(v, b, sizeof(b));
	else
		snprintf(b, sizeof(b), "now");
	fprintf(fp, "%s to %s\n", a, b);
	fprintf(fp, "%-26s%" PRId64 " (%" PRId64 " closed, %" PRId64 " open)\n",
	    "incidents", iget(rep, "incidents", 0), iget(rep, "closed", 0),
	    iget(rep, "open", 0));
	x = member(rep, "outcomes");
	fprintf(fp, "%-26sauto_resolved %" PRId64 " (self-healed %" PRId64
	    "), escalated %" PRId64 ", unresolved %" PRId64 "\n", "outcomes",
	    iget(x, "auto_resolved", 0), iget(x, "self_healed", 0),
	    iget(x, "escalated", 0), iget(x, "unresolved", 0));
	jv_free(x);
	text_pct(fp, "time to fix", rep, "time_to_fix_ms");
	text_pct(fp, "MTTR", rep, "mttr_ms");
	text_pct(fp, "time to detect", rep, "detect_ms");
	fprintf(fp, "%-26s", "autonomous success rate");
	x = member(rep, "outcomes");
	sre_duration_fmt(iget(rep, "verify_window_ms", 0), a, sizeof(a));
	if (sre_jv_num(rep, "autonomous_success_rate", &d) == 0)
		fprintf(fp, "%.1f%% (%" PRId64 " of %" PRId64 " closed, %"
		    PRId64 " open past the %s verify window)\n", d * 100,
		    iget(x, "auto_resolved", 0), iget(rep, "closed", 0),
		    iget(rep, "overdue", 0), a);
	else
		fprintf(fp, "n/a (nothing closed, %" PRId64 " open within "
		    "the %s verify window)\n", iget(rep, "open", 0), a);
	jv_free(x);
	fprintf(fp, "%-26s", "cognitive accuracy");
	x = member(rep, "cognitive_accuracy");
	if (jv_get_kind(x) != JV_KIND_OBJECT)
		fputs("n/a (no --truth)\n", fp);
	else if (sre_jv_num(x, "rate", &d) == 0)
		fprintf(fp, "%.1f%% (%" PRId64 " of %" PRId64 " with a known "
		    "root cause)\n", d * 100, iget(x, "matched", 0),
		    iget(x, "n", 0));
	else
		fputs("n/a (no incident with a known root cause)\n", fp);
	jv_free(x);
	fprintf(fp, "%-26s", "resource efficiency");
	x = member(rep, "resource");
	if (jv_get_kind(x) != JV_KIND_OBJECT)
		fputs("n/a (no governor samples)\n", fp);
	else {
		if (sre_jv_num(x, "cpu_seconds_per_incident", &d) == 0) {
			mib(a, sizeof(a), (double)iget(x,
			    "peak_rss_bytes_per_incident", 0));
			fprintf(fp, "%.3f CPU s and %s peak per incident "
			    "cycle (%" PRId64 " measured); ", d, a,
			    iget(x, "incidents_measured", 0));
		}
		sre_jv_num(x, "cpu_seconds", &d);
		mib(b, sizeof(b), (double)iget(x, "peak_rss_bytes", 0));
		fprintf(fp, "%.3f CPU s in all, peak %s (%" PRId64
		    " samples)\n", d, b, iget(x, "samples", 0));
	}
	jv_free(x);
	jv_free(rep);
	if (fclose(fp) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}
