/*
 * curate-report.c: times, truth files and search hits for sre-curate's
 * subcommands (see curate-report.h).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include <bsd/stdlib.h>

#include "bus.h"
#include "curate-report.h"
#include "event.h"
#include "evtime.h"
#include "line.h"

/* -N[smhd]: N units before now_ms. */
static int
parse_ago(const char *s, int64_t now_ms, int64_t *out)
{
	long long n, unit;
	char *end;

	errno = 0;
	n = strtoll(s + 1, &end, 10);
	if (errno != 0 || end == s + 1 || n < 0 || n > 1000000000LL)
		return -1;
	switch (*end) {
	case 's': unit = 1000; break;
	case 'm': unit = 60000; break;
	case 'h': unit = 3600000; break;
	case 'd': unit = 86400000; break;
	default: return -1;
	}
	if (end[1] != '\0')
		return -1;
	*out = now_ms - n * unit;
	return 0;
}

int
sre_curate_parse_time(const char *s, int64_t now_ms, int64_t *out)
{
	const char *errstr;
	long long n;
	int64_t ms;

	if (s[0] == '-')
		return parse_ago(s, now_ms, out);
	if (strchr(s, '-') == NULL) {
		n = strtonum(s, 0, INT64_MAX / 2, &errstr);
		if (errstr != NULL)
			return -1;
		*out = n;
		return 0;
	}
	/* A date before 1970 is no event time. */
	if (sre_time_parse(s, &ms) < 0 || ms < 0)
		return -1;
	*out = ms;
	return 0;
}

/* Append "where: message" to *problems. */
static void
problem(jv *problems, const char *where, const char *msg)
{
	*problems = jv_array_append(*problems,
	    jv_string_fmt("%s: %s", where, msg));
}

/* The "faults" of a generator's truth file (t, taken) into *out. */
static int
truth_faults(jv t, const char *where, jv *out, jv *problems)
{
	jv faults = jv_object_get(t, jv_string("faults"));
	int i, n, bad = 0;

	if (jv_get_kind(faults) != JV_KIND_ARRAY) {
		problem(problems, where, "field 'faults': want an array");
		jv_free(faults);
		return -1;
	}
	n = jv_array_length(jv_copy(faults));
	for (i = 0; i < n; i++) {
		jv f = jv_array_get(jv_copy(faults), i), e;
		const char *svc = sre_jv_str(f, "culprit");
		const char *op = sre_jv_str(f, "operation");
		int64_t start, end;

		if (svc == NULL || sre_jv_int(f, "start_ms", &start) != 0 ||
		    sre_jv_int(f, "end_ms", &end) != 0) {
			char msg[128];

			snprintf(msg, sizeof(msg), "faults[%d]: want "
			    "\"culprit\", \"start_ms\" and \"end_ms\"", i);
			problem(problems, where, msg);
			bad = 1;
			jv_free(f);
			continue;
		}
		e = jv_object_set(jv_object(), jv_string("service"),
		    jv_string(svc));
		if (op != NULL)
			e = jv_object_set(e, jv_string("operation"),
			    jv_string(op));
		e = jv_object_set(e, jv_string("start_ms"),
		    jv_number((double)start));
		e = jv_object_set(e, jv_string("end_ms"),
		    jv_number((double)end));
		*out = jv_array_append(*out, e);
		jv_free(f);
	}
	jv_free(faults);
	return bad ? -1 : 0;
}

int
sre_curate_truth_add(jv t, const char *where, jv *out, jv *problems)
{
	if (jv_get_kind(t) == JV_KIND_OBJECT &&
	    jv_object_has(jv_copy(t), jv_string("faults")))
		return truth_faults(t, where, out, problems);
	if ((sre_jv_str(t, "incident") == NULL &&
	    sre_jv_str(t, "fingerprint") == NULL) ||
	    (sre_jv_str(t, "service") == NULL &&
	    sre_jv_str(t, "root_cause") == NULL)) {
		problem(problems, where, "want \"incident\" or "
		    "\"fingerprint\", and \"service\"");
		jv_free(t);
		return -1;
	}
	*out = jv_array_append(*out, t);
	return 0;
}

int
sre_curate_truth_read(const char *path, size_t max_line, jv *out,
    jv *problems)
{
	struct sre_bus_opts bo = { max_line };
	struct sre_bus *in;
	char url[4200], err[1024];
	const char *line;
	size_t len;
	int ex = EX_OK, rc;
	jv t;

	*out = jv_array();
	*problems = jv_array();
	if ((size_t)snprintf(url, sizeof(url), "file:%s", path) >=
	    sizeof(url)) {
		*problems = jv_array_append(*problems,
		    jv_string("--truth: path too long"));
		return EX_USAGE;
	}
	if ((in = sre_bus_open(url, SRE_BUS_IN, &bo, err, sizeof(err),
	    &ex)) == NULL) {
		*problems = jv_array_append(*problems, jv_string(err));
		return ex;
	}
	while ((rc = sre_bus_read(in, &line, &len, -1)) == SRE_READ_LINE ||
	    rc == SRE_READ_TOOLONG) {
		if (rc == SRE_READ_TOOLONG) {
			problem(problems, sre_bus_where(in), "line too long");
			ex = EX_DATAERR;
			continue;
		}
		if (sre_line_blank(line, len))
			continue;
		t = sre_json_object(line, len, err, sizeof(err));
		if (!jv_is_valid(t)) {
			problem(problems, sre_bus_where(in), err);
			jv_free(t);
			ex = EX_DATAERR;
			continue;
		}
		if (sre_curate_truth_add(t, sre_bus_where(in), out,
		    problems) != 0)
			ex = EX_DATAERR;
	}
	if (rc == SRE_READ_ERROR) {
		*problems = jv_array_append(*problems, jv_string_fmt(
		    "reading %s failed: %s", path, strerror(errno)));
		ex = EX_IOERR;
	}
	sre_bus_close(in);
	return ex;
}

jv
sre_curate_similar(struct sre_txn *t, const char *incident,
    const char *text, int limit, char *err, size_t errlen, int *ex)
{
	jv q, hits;

	if (incident != NULL) {
		q = sre_txn_incident_get(t, incident);
		if (jv_is_valid(q) && jv_get_kind(q) != JV_KIND_OBJECT) {
			snprintf(err, errlen, "search: no incident '%s' in the "
			    "store", incident);
			jv_free(q);
			*ex = EX_NOINPUT;
			return jv_invalid();
		}
	} else
		q = sre_store_text_features(text);
	hits = jv_is_valid(q) ? sre_txn_similar(t, q, incident, limit) :
	    jv_invalid();
	jv_free(q);
	if (!jv_is_valid(hits)) {
		snprintf(err, errlen, "%s", sre_txn_error(t, ex));
		if (*ex == 0)
			*ex = EX_SOFTWARE;
	}
	return hits;
}

void
sre_curate_hit_line(jv h, char *buf, size_t len)
{
	const char *inc = sre_jv_str(h, "incident");
	const char *outcome = sre_jv_str(h, "outcome");
	const char *fp = sre_jv_str(h, "fingerprint");
	const char *s = sre_jv_str(h, "summary");
	double score = 0;

	sre_jv_num(h, "score", &score);
	snprintf(buf, len, "%.3f  %-24s %-14s %-24s %s\n", score,
	    inc != NULL ? inc : "(null)", outcome != NULL ? outcome : "open",
	    fp != NULL ? fp : "-", s != NULL ? s : "");
}
