/* api.c: the store's API and the demo's chaos (api.h). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/stdlib.h>

#include "api.h"
#include "curate.h"
#include "diag.h"
#include "event.h"
#include "file.h"
#include "store.h"

const double sre_mttr_le[7] = { 60, 300, 600, 1800, 3600, 14400, 86400 };

/* Open the store read-only once it exists.  Call with jlock held. */
static int
store(struct sre_srv *s, char *err, size_t errlen)
{
	struct sre_store_opts so = { .flags = SRE_STORE_RDONLY };
	int ex;

	if (s->st != NULL)
		return EX_OK;
	ex = sre_store_open(&s->st, s->conf.state_dir, &so, err, errlen);
	if (ex != EX_OK)
		s->st = NULL;
	return ex;
}

static int
scan_one(jv rec, void *ctx)
{
	struct sre_scan *sc = ctx;
	const char *st = sre_jv_str(rec, "status");
	double mttr;
	size_t i;

	if (st != NULL && strcmp(st, "open") == 0)
		sc->open++;
	if (sre_jv_num(rec, "mttr_ms", &mttr) == 0 && mttr >= 0) {
		for (i = 0; i < 7 && mttr / 1000 > sre_mttr_le[i]; i++)
			;
		sc->mttr[i]++;
		sc->mttr_sum += mttr / 1000;
		sc->mttr_n++;
	}
	if (jv_get_kind(sc->list) == JV_KIND_ARRAY &&
	    (sc->status == NULL || (st != NULL &&
	    strcmp(st, sc->status) == 0)) &&
	    jv_array_length(jv_copy(sc->list)) < sc->limit)
		sc->list = jv_array_append(sc->list, jv_copy(rec));
	return 0;
}

int
sre_srv_scan(struct sre_srv *s, struct sre_scan *sc, char *err,
    size_t errlen)
{
	struct sre_txn *t;
	int ex;

	if ((ex = store(s, err, errlen)) != EX_OK)
		return ex;
	if ((ex = sre_store_read(s->st, &t, err, errlen)) != EX_OK)
		return ex;
	if (sre_txn_incident_scan(t, scan_one, sc) < 0) {
		snprintf(err, errlen, "%s", sre_txn_error(t, &ex));
		sre_txn_end(t);
		return ex ? ex : EX_SOFTWARE;
	}
	sre_txn_end(t);
	return EX_OK;
}

/* Newest first: incidents sorted by last_ms, descending. */
static jv
newest_first(jv list)
{
	jv keyed = jv_array(), out = jv_array();
	int i, n = jv_array_length(jv_copy(list));
	double last;

	for (i = 0; i < n; i++) {
		jv rec = jv_array_get(jv_copy(list), i);

		if (sre_jv_num(rec, "last_ms", &last) < 0)
			last = 0;
		keyed = jv_array_append(keyed, JV_ARRAY(jv_number(-last),
		    rec));
	}
	jv_free(list);
	keyed = jv_sort(keyed, jv_copy(keyed));
	n = jv_array_length(jv_copy(keyed));
	for (i = 0; i < n; i++)
		out = jv_array_append(out, jv_array_get(jv_array_get(
		    jv_copy(keyed), i), 1));
	jv_free(keyed);
	return out;
}

void
sre_api_incidents(struct sre_srv *s, const char *status, const char *limit,
    struct sre_answer *a)
{
	struct sre_scan sc = { .list = jv_null(), .limit = 100 };
	const char *errstr;
	char err[1024];
	int ex;

	if (status != NULL && strcmp(status, "open") != 0 &&
	    strcmp(status, "closed") != 0) {
		sre_answer_fail(a, R_INCIDENTS, 0, 400, NULL,
		    "status: not open or closed");
		return;
	}
	sc.status = status;
	if (limit != NULL) {
		sc.limit = strtonum(limit, 1, 10000, &errstr);
		if (errstr != NULL) {
			sre_answer_fail(a, R_INCIDENTS, 0, 400, NULL,
			    "limit: %s", errstr);
			return;
		}
	}
	pthread_mutex_lock(&s->jlock);
	sc.list = jv_array();
	ex = sre_srv_scan(s, &sc, err, sizeof(err));
	if (ex != EX_OK && ex != EX_NOINPUT) {
		jv_free(sc.list);
		sre_answer_fail(a, R_INCIDENTS, 0, 503, "5", "store: %s", err);
	} else
		sre_answer_jv(a, R_INCIDENTS, 200, JV_OBJECT(
		    jv_string("incidents"), newest_first(sc.list),
		    jv_string("open"), jv_number((double)sc.open)));
	pthread_mutex_unlock(&s->jlock);
}

/* The incident id's record, timeline and postmortem; jlock held. */
static void
incident(struct sre_txn *t, const char *id, struct sre_answer *a)
{
	jv rec, tl, out;
	const char *st;
	char *md;

	rec = sre_txn_incident_get(t, id);
	if (jv_get_kind(rec) != JV_KIND_OBJECT) {
		sre_txn_end(t);
		jv_free(rec);
		sre_answer_fail(a, R_INCIDENT, 0, 404, NULL,
		    "no such incident");
		return;
	}
	tl = sre_txn_timeline(t, id);
	sre_txn_end(t);
	if (!jv_is_valid(tl)) {
		jv_free(tl);
		tl = jv_array();
	}
	out = JV_OBJECT(jv_string("incident"), jv_copy(rec),
	    jv_string("timeline"), jv_copy(tl));
	st = sre_jv_str(rec, "status");
	if (st != NULL && strcmp(st, "closed") == 0 &&
	    (md = sre_curate_markdown(rec, tl, jv_null())) != NULL) {
		out = jv_object_set(out, jv_string("postmortem"),
		    jv_string(md));
		free(md);
	}
	jv_free(rec);
	jv_free(tl);
	sre_answer_jv(a, R_INCIDENT, 200, out);
}

void
sre_api_incident(struct sre_srv *s, const char *id, struct sre_answer *a)
{
	struct sre_txn *t;
	char err[1024];
	int ex;

	if (*id == '\0' || strlen(id) > SRE_STORE_KEY_MAX) {
		sre_answer_fail(a, R_INCIDENT, 0, 404, NULL,
		    "no such incident");
		return;
	}
	pthread_mutex_lock(&s->jlock);
	if ((ex = store(s, err, sizeof(err))) == EX_NOINPUT)
		sre_answer_fail(a, R_INCIDENT, 0, 404, NULL,
		    "no such incident");
	else if (ex != EX_OK || sre_store_read(s->st, &t, err,
	    sizeof(err)) != EX_OK)
		sre_answer_fail(a, R_INCIDENT, 0, 503, "5", "store: %s", err);
	else
		incident(t, id, a);
	pthread_mutex_unlock(&s->jlock);
}

void
sre_api_report(struct sre_srv *s, const char *since, struct sre_answer *a)
{
	const char *errstr;
	int64_t from = 0;
	char err[1024];
	jv rep;
	int ex;

	if (since != NULL) {
		from = strtonum(since, 0, INT64_MAX, &errstr);
		if (errstr != NULL) {
			sre_answer_fail(a, R_REPORT, 0, 400, NULL,
			    "since: epoch milliseconds %s", errstr);
			return;
		}
	}
	pthread_mutex_lock(&s->jlock);
	if ((ex = store(s, err, sizeof(err))) != EX_OK) {
		if (ex == EX_NOINPUT)
			sre_answer_fail(a, R_REPORT, 0, 404, NULL,
			    "no store yet: %s", err);
		else
			sre_answer_fail(a, R_REPORT, 0, 503, "5",
			    "store: %s", err);
	} else {
		rep = sre_curate_report(s->st, from, INT64_MAX, 0, jv_null(),
		    err, sizeof(err), &ex);
		if (!jv_is_valid(rep)) {
			jv_free(rep);
			sre_answer_fail(a, R_REPORT, 0, 503, "5",
			    "report: %s", err);
		} else
			sre_answer_jv(a, R_REPORT, 200, rep);
	}
	pthread_mutex_unlock(&s->jlock);
}

/* 1 when s is 1 to max of a-z, 0-9, '-', '_', '.'; else 0. */
static int
word_ok(const char *s, size_t max)
{
	size_t n;

	for (n = 0; s[n] != '\0'; n++)
		if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' &&
		    s[n] <= '9') || s[n] == '-' || s[n] == '_' || s[n] == '.'))
			return 0;
	return n > 0 && n <= max;
}

void
sre_api_inject(struct sre_srv *s, const char *type, const char *svc,
    struct sre_answer *a)
{
	static const char *const faults[] = { "none", "latency", "error",
	    "both", "network", "cpu", "release", "saturation", "pool", NULL };
	struct sre_sbuf *b = &a->body;
	char text[256];
	int n, i;

	if (s->conf.control == NULL) {
		sre_answer_fail(a, R_INJECT, 0, 404, NULL, "no --control "
		    "file: the demo's chaos is off");
		return;
	}
	for (i = 0; faults[i] != NULL && (type == NULL ||
	    strcmp(faults[i], type) != 0); i++)
		;
	if (faults[i] == NULL) {
		sre_answer_fail(a, R_INJECT, 0, 400, NULL, "type: one of none, "
		    "latency, error, both, network, cpu, release, saturation, "
		    "pool");
		return;
	}
	if (i > 0 && (svc == NULL || !word_ok(svc, 64))) {
		sre_answer_fail(a, R_INJECT, 0, 400, NULL, "service: 1 to 64 "
		    "of a-z, 0-9, '-', '_', '.'");
		return;
	}
	n = i == 0 ? snprintf(text, sizeof(text), "fault=none\n") :
	    snprintf(text, sizeof(text), "fault=%s culprit=%s\n", type, svc);
	/* Replaced whole: the marketplace never reads half a file. */
	if (sre_file_replace(s->conf.control, text, (size_t)n, 0644) < 0) {
		sre_warnx("%s: %s", s->conf.control, strerror(errno));
		sre_answer_fail(a, R_INJECT, 0, 500, NULL, "writing the "
		    "control file failed");
		return;
	}
	sre_info("chaos: %.*s", n - 1, text);
	sre_sbuf_adds(b, "{\"fault\":");
	sre_sbuf_jstr(b, type, strlen(type));
	sre_sbuf_adds(b, ",\"service\":");
	if (i > 0)
		sre_sbuf_jstr(b, svc, strlen(svc));
	else
		sre_sbuf_adds(b, "null");
	sre_sbuf_adds(b, "}");
	a->code = 200;
	a->ctype = "application/json";
}
