/*
 * serve.c: sre-serve's checks and conversions that need no HTTP (see
 * serve.h).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jv.h>

#include "event.h"
#include "evtime.h"
#include "otlp.h"
#include "serve.h"

struct count {
	size_t records;
};

static int
on_record(void *arg)
{
	((struct count *)arg)->records++;
	return 0;
}

static int
on_span(void *arg, const struct sre_otlp_span *s)
{
	(void)s;
	return on_record(arg);
}

static int
on_point(void *arg, const struct sre_otlp_point *p)
{
	(void)p;
	return on_record(arg);
}

static int
on_log(void *arg, const struct sre_otlp_log *l)
{
	(void)l;
	return on_record(arg);
}

int
sre_serve_otlp_json(enum sre_pb_kind k, char *body, size_t len,
    size_t *records, size_t *rejected, char *msg, size_t msglen)
{
	static const enum sre_otlp_format want[] = { SRE_OTLP_TRACES,
	    SRE_OTLP_METRICS, SRE_OTLP_LOGS };
	struct count c = { 0 };
	struct sre_otlp_handler h = { .span = on_span, .point = on_point,
	    .log = on_log, .arg = &c };
	struct sre_otlp_result res;
	struct sre_otlp *rd;
	size_t i;
	int rc;

	*records = *rejected = 0;
	msg[0] = '\0';
	for (i = 0; i < len; i++)
		if (body[i] == '\n' || body[i] == '\r')
			body[i] = ' ';
	if ((rd = sre_otlp_new(SRE_OTLP_ATOMIC)) == NULL) {
		snprintf(msg, msglen, "out of memory");
		return -1;
	}
	rc = sre_otlp_read(rd, body, len, &h, &res);
	sre_otlp_free(rd);
	if (rc == SRE_OTLP_EJSON || rc == SRE_OTLP_ENOMEM) {
		snprintf(msg, msglen, "%s", res.msg);
		return -1;
	}
	*records = c.records;
	*rejected = res.rejected;
	if (res.format == want[k]) {
		if (res.msg[0] != '\0')
			snprintf(msg, msglen, "%s", res.msg);
		return 0;
	}
	if (res.format == SRE_OTLP_UNKNOWN || res.format == SRE_OTLP_EMPTY) {
		/* {} or a request of no known kind: OTLP allows an empty
		 * request; anything else with records is of another kind. */
		return 1;
	}
	snprintf(msg, msglen, "a %s request, not %s",
	    sre_otlp_format_name(res.format), sre_otlp_format_name(want[k]));
	return -1;
}

/* ---- Alertmanager ----------------------------------------------------- */

static const char *
label(jv labels, const char *const *keys)
{
	const char *s;

	for (; *keys != NULL; keys++)
		if ((s = sre_jv_str(labels, *keys)) != NULL && *s != '\0')
			return s;
	return NULL;
}

static int
fingerprint_ok(const char *fp)
{
	size_t n = 0;

	for (; fp[n] != '\0'; n++)
		if (!isalnum((unsigned char)fp[n]))
			return 0;
	return n > 0 && n <= 64;
}

/* Severity label to a score: how bad the alert says it is. */
static double
score_of(const char *severity)
{
	if (severity == NULL)
		return 5;
	if (strcasecmp(severity, "critical") == 0 ||
	    strcasecmp(severity, "page") == 0)
		return 10;
	if (strcasecmp(severity, "warning") == 0)
		return 5;
	return 1;
}

/* One alert to one event appended to out: 0, or -1 with msg set.
 * Borrows a. */
static int
alert_event(jv a, size_t i, struct sre_sbuf *out, int *resolved, char *msg,
    size_t msglen)
{
	static const char *const svc_keys[] = { "service", "job", "instance",
	    NULL };
	const char *status, *fp, *starts, *ends, *service, *name, *url, *v;
	char incident[128], err[200];
	int64_t start_ms, end_ms, now = sre_now_ms();
	jv labels, ev, ann, evid;
	double d;
	char *line;
	size_t n;

	if (jv_get_kind(a) != JV_KIND_OBJECT) {
		snprintf(msg, msglen, "alerts[%zu]: not an object", i);
		return -1;
	}
	status = sre_jv_str(a, "status");
	fp = sre_jv_str(a, "fingerprint");
	starts = sre_jv_str(a, "startsAt");
	if (status == NULL || (strcmp(status, "firing") != 0 &&
	    strcmp(status, "resolved") != 0)) {
		snprintf(msg, msglen, "alerts[%zu]: field 'status': not "
		    "\"firing\" or \"resolved\"", i);
		return -1;
	}
	if (fp == NULL || !fingerprint_ok(fp)) {
		snprintf(msg, msglen, "alerts[%zu]: field 'fingerprint': not "
		    "1 to 64 letters and digits", i);
		return -1;
	}
	if (starts == NULL || sre_time_parse(starts, &start_ms) < 0) {
		snprintf(msg, msglen, "alerts[%zu]: field 'startsAt': not an "
		    "RFC 3339 UTC time", i);
		return -1;
	}
	labels = jv_object_get(jv_copy(a), jv_string("labels"));
	if (jv_get_kind(labels) != JV_KIND_OBJECT) {
		jv_free(labels);
		labels = jv_object();
	}
	ann = jv_object_get(jv_copy(a), jv_string("annotations"));
	if (jv_get_kind(ann) != JV_KIND_OBJECT) {
		jv_free(ann);
		ann = jv_object();
	}
	*resolved = strcmp(status, "resolved") == 0;
	snprintf(incident, sizeof(incident), "am-%s-%lld", fp,
	    (long long)start_ms);
	service = label(labels, svc_keys);
	name = sre_jv_str(labels, "alertname");
	ev = sre_event_new(*resolved ? "recovery" : "anomaly", incident);
	ev = jv_object_set(ev, jv_string("service"),
	    jv_string(service ? service : "unknown"));
	ev = jv_object_set(ev, jv_string("operation"),
	    name ? jv_string(name) : jv_null());
	ev = jv_object_set(ev, jv_string("signal"), jv_string("metric"));
	ev = jv_object_set(ev, jv_string("fingerprint"), jv_string(fp));
	if (*resolved) {
		ends = sre_jv_str(a, "endsAt");
		if (ends == NULL || sre_time_parse(ends, &end_ms) < 0 ||
		    end_ms < start_ms)
			end_ms = now;
		ev = jv_object_set(ev, jv_string("window_end_ms"),
		    jv_number((double)end_ms));
	} else {
		/* The alert says something is wrong, not by how much: the
		 * observed value comes from a "value" annotation when the
		 * rule gives one. */
		v = sre_jv_str(ann, "value");
		ev = jv_object_set(ev, jv_string("observed"),
		    v != NULL && sscanf(v, "%lf", &d) == 1 ? jv_number(d) :
		    jv_null());
		ev = jv_object_set(ev, jv_string("baseline"), jv_null());
		ev = jv_object_set(ev, jv_string("score"),
		    jv_number(score_of(sre_jv_str(labels, "severity"))));
		ev = jv_object_set(ev, jv_string("window_start_ms"),
		    jv_number((double)start_ms));
		ev = jv_object_set(ev, jv_string("window_end_ms"),
		    jv_number((double)(now > start_ms ? now : start_ms)));
		evid = jv_object();
		evid = jv_object_set(evid, jv_string("scope"),
		    jv_string("metric"));
		evid = jv_object_set(evid, jv_string("metric"),
		    name ? jv_string(name) : jv_null());
		evid = jv_object_set(evid, jv_string("labels"), jv_copy(labels));
		evid = jv_object_set(evid, jv_string("annotations"),
		    jv_copy(ann));
		if ((url = sre_jv_str(a, "generatorURL")) != NULL)
			evid = jv_object_set(evid, jv_string("generator_url"),
			    jv_string(url));
		ev = jv_object_set(ev, jv_string("evidence"), evid);
	}
	jv_free(labels);
	jv_free(ann);
	if (sre_event_check(ev, err, sizeof(err)) < 0) {
		jv_free(ev);
		snprintf(msg, msglen, "alerts[%zu]: %s", i, err);
		return -1;
	}
	if ((line = sre_jv_dump(ev, &n)) == NULL) {
		snprintf(msg, msglen, "out of memory");
		return -1;
	}
	sre_sbuf_add(out, line, n);
	sre_sbuf_add(out, "\n", 1);
	free(line);
	return 0;
}

int
sre_serve_alerts(const char *body, size_t len, struct sre_sbuf *out,
    size_t *firing, size_t *resolved, size_t *rejected, char *msg,
    size_t msglen)
{
	char err[256], amsg[512];
	const char *ver;
	jv w, alerts;
	int i, n, res;

	*firing = *resolved = *rejected = 0;
	msg[0] = '\0';
	w = sre_json_object(body, len, err, sizeof(err));
	if (!jv_is_valid(w)) {
		jv_free(w);
		snprintf(msg, msglen, "%s", err);
		return -1;
	}
	if ((ver = sre_jv_str(w, "version")) == NULL || strcmp(ver, "4") != 0) {
		jv_free(w);
		snprintf(msg, msglen, "field 'version': not \"4\"");
		return -1;
	}
	alerts = jv_object_get(w, jv_string("alerts"));
	if (jv_get_kind(alerts) != JV_KIND_ARRAY) {
		jv_free(alerts);
		snprintf(msg, msglen, "field 'alerts': not an array");
		return -1;
	}
	n = jv_array_length(jv_copy(alerts));
	for (i = 0; i < n; i++) {
		jv a = jv_array_get(jv_copy(alerts), i);
		int rc = alert_event(a, (size_t)i, out, &res, amsg,
		    sizeof(amsg));

		jv_free(a);
		if (rc < 0) {
			if ((*rejected)++ == 0)
				snprintf(msg, msglen, "%s", amsg);
			continue;
		}
		if (res)
			(*resolved)++;
		else
			(*firing)++;
	}
	jv_free(alerts);
	return 0;
}

/* ---- paths and tokens ------------------------------------------------- */

int
sre_serve_path_ok(const char *path)
{
	const unsigned char *p = (const unsigned char *)path;

	if (p[0] != '/')
		return 0;
	for (; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f || *p == '\\' || *p == '%')
			return 0;
		if (*p == '/' && p[1] == '/')
			return 0;
		if (*p == '.' && p[1] == '.')
			return 0;
	}
	return 1;
}

int
sre_serve_bearer_ok(const char *hdr, const char *token)
{
	volatile unsigned diff;
	size_t hn, tn, i;

	if (hdr == NULL || token == NULL || (tn = strlen(token)) == 0)
		return 0;
	if (strncasecmp(hdr, "Bearer ", 7) != 0)
		return 0;
	hdr += 7;
	hn = strlen(hdr);
	/* Every byte of the token is compared whatever the header holds,
	 * so the time taken says nothing of where they differ. */
	diff = hn != tn;
	for (i = 0; i < tn; i++)
		diff |= (unsigned char)token[i] ^
		    (unsigned char)(hn > 0 ? hdr[i % hn] : 0);
	return diff == 0;
}
