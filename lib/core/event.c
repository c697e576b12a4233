/* event.c: the event envelope, ids and time. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bsd/stdlib.h>

#include "diag.h"
#include "event.h"
#include "json.h"

static const char *const types[] = {
	"anomaly", "recovery", "topology", "diagnosis", "verdict", "action",
	"escalation", "postmortem", "governor", "audit", "error", NULL
};
/* Types that stand outside any incident. */
static const char *const no_incident[] = {
	"topology", "governor", "audit", NULL
};

static int
in_list(const char *const *list, const char *s)
{
	for (; *list != NULL; list++)
		if (strcmp(*list, s) == 0)
			return 1;
	return 0;
}

int
sre_event_type_known(const char *type)
{
	return in_list(types, type);
}

int
sre_event_type_has_incident(const char *type)
{
	return in_list(types, type) && !in_list(no_incident, type);
}

/* splitmix64: the deterministic stream used when SRE_SEED is set. */
static uint64_t
splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t
rand64(void)
{
	static int seeded = -1;
	static uint64_t state;

	if (seeded < 0) {
		const char *s = getenv("SRE_SEED");

		seeded = s != NULL && *s != '\0';
		if (seeded)
			state = strtoull(s, NULL, 10);
	}
	if (seeded)
		return splitmix(&state);
	return ((uint64_t)arc4random() << 32) | arc4random();
}

void
sre_id_new(char *out)
{
	static const char b32[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
	uint64_t t = (uint64_t)sre_now_ms(), hi = rand64(), lo = rand64();
	int i;

	/* 48 bits of time in 10 chars, 80 bits of randomness in 16. */
	for (i = 9; i >= 0; i--, t >>= 5)
		out[i] = b32[t & 31];
	for (i = 0; i < 8; i++, hi >>= 5)
		out[10 + i] = b32[hi & 31];
	for (i = 0; i < 8; i++, lo >>= 5)
		out[18 + i] = b32[lo & 31];
	out[SRE_ID_LEN] = '\0';
}

jv
sre_event_new(const char *type, const char *incident)
{
	char id[SRE_ID_LEN + 1];
	jv ev = jv_object();

	sre_id_new(id);
	ev = jv_object_set(ev, jv_string("v"), jv_number(SRE_EVENT_VERSION));
	ev = jv_object_set(ev, jv_string("type"), jv_string(type));
	ev = jv_object_set(ev, jv_string("id"), jv_string(id));
	if (incident != NULL)
		ev = jv_object_set(ev, jv_string("incident"),
		    jv_string(incident));
	ev = jv_object_set(ev, jv_string("ts_ms"),
	    jv_number((double)sre_now_ms()));
	ev = jv_object_set(ev, jv_string("source"),
	    jv_string(sre_progname()));
	return ev;
}

jv
sre_json_object(const char *line, size_t len, char *err, size_t errlen)
{
	jv v;

	if (memchr(line, '\0', len) != NULL) {
		snprintf(err, errlen, "not JSON: NUL byte at offset %zu",
		    (size_t)((const char *)memchr(line, '\0', len) - line));
		return jv_invalid();
	}
	/* libjq 1.6 is lenient (it takes nan, for one): check the grammar
	 * strictly first, with messages that name the byte. */
	{
		char msg[256];

		if (sre_json_check(line, len, msg, sizeof(msg)) ==
		    SRE_JSON_NONE) {
			snprintf(err, errlen, "not JSON: %s", msg);
			return jv_invalid();
		}
	}
	v = jv_parse_sized(line, (int)(len > INT32_MAX ? INT32_MAX : len));
	if (!jv_is_valid(v)) {
		jv msg = jv_invalid_get_msg(v);

		if (jv_get_kind(msg) == JV_KIND_STRING) {
			const char *m = jv_string_value(msg);
			/* libjq quotes the whole input after this: binary or
			 * megabytes of it have no place on stderr. */
			const char *cut = strstr(m, " (while parsing");
			int n = cut ? (int)(cut - m) : (int)strlen(m);

			snprintf(err, errlen, "not JSON: %.*s", n, m);
		} else
			snprintf(err, errlen, "not JSON");
		jv_free(msg);
		return jv_invalid();
	}
	if (jv_get_kind(v) != JV_KIND_OBJECT) {
		snprintf(err, errlen, "not a JSON object but %s",
		    jv_kind_name(jv_get_kind(v)));
		jv_free(v);
		return jv_invalid();
	}
	return v;
}

jv
sre_jv_get(jv obj, const char *key)
{
	if (jv_get_kind(obj) != JV_KIND_OBJECT)
		return jv_invalid();
	return jv_object_get(jv_copy(obj), jv_string(key));
}

const char *
sre_jv_str(jv obj, const char *key)
{
	jv m = sre_jv_get(obj, key);
	const char *s = NULL;

	if (jv_get_kind(m) == JV_KIND_STRING)
		s = jv_string_value(m);	/* still held by obj */
	jv_free(m);
	return s;
}

int
sre_jv_num(jv obj, const char *key, double *out)
{
	jv m = sre_jv_get(obj, key);
	int rc = -1;

	if (jv_get_kind(m) == JV_KIND_NUMBER && isfinite(jv_number_value(m))) {
		*out = jv_number_value(m);
		rc = 0;
	}
	jv_free(m);
	return rc;
}

int
sre_jv_int(jv obj, const char *key, int64_t *out)
{
	double d;

	if (sre_jv_num(obj, key, &d) < 0 || d != floor(d) ||
	    fabs(d) > 9007199254740992.0)
		return -1;
	*out = (int64_t)d;
	return 0;
}

static const char *
kind_of(jv obj, const char *key)
{
	jv m = sre_jv_get(obj, key);
	const char *k = !jv_is_valid(m) ? "missing" :
	    jv_get_kind(m) == JV_KIND_STRING && jv_string_length_bytes(
	    jv_copy(m)) == 0 ? "an empty string" :
	    jv_kind_name(jv_get_kind(m));

	jv_free(m);
	return k;
}

int
sre_event_check(jv ev, char *err, size_t errlen)
{
	const char *type, *s;
	int64_t n;
	double c;

	if (jv_get_kind(ev) != JV_KIND_OBJECT) {
		snprintf(err, errlen, "event is not an object");
		return -1;
	}
	if (sre_jv_int(ev, "v", &n) < 0) {
		snprintf(err, errlen, "field 'v': want an integer, got %s",
		    kind_of(ev, "v"));
		return -1;
	}
	if (n != SRE_EVENT_VERSION) {
		snprintf(err, errlen, "field 'v': unsupported version %lld",
		    (long long)n);
		return -1;
	}
	if ((type = sre_jv_str(ev, "type")) == NULL || *type == '\0') {
		snprintf(err, errlen, "field 'type': want a non-empty string, "
		    "got %s", kind_of(ev, "type"));
		return -1;
	}
	if ((s = sre_jv_str(ev, "id")) == NULL || *s == '\0') {
		snprintf(err, errlen, "field 'id': want a non-empty string, "
		    "got %s", kind_of(ev, "id"));
		return -1;
	}
	if (sre_jv_int(ev, "ts_ms", &n) < 0 || n < 0) {
		snprintf(err, errlen, "field 'ts_ms': want a non-negative "
		    "integer, got %s", kind_of(ev, "ts_ms"));
		return -1;
	}
	if (sre_jv_str(ev, "source") == NULL) {
		snprintf(err, errlen, "field 'source': want a string, got %s",
		    kind_of(ev, "source"));
		return -1;
	}
	if (sre_event_type_has_incident(type) &&
	    ((s = sre_jv_str(ev, "incident")) == NULL || *s == '\0')) {
		snprintf(err, errlen, "field 'incident': %s %s event needs a "
		    "non-empty string, got %s", strchr("aeiou", type[0]) ?
		    "an" : "a", type, kind_of(ev, "incident"));
		return -1;
	}
	/* A confidence chooses what is done: a number from 0 to 1. */
	if ((strcmp(type, "diagnosis") == 0 || strcmp(type, "verdict") == 0) &&
	    jv_object_has(jv_copy(ev), jv_string("confidence")) &&
	    (sre_jv_num(ev, "confidence", &c) < 0 || !(c >= 0 && c <= 1))) {
		if (sre_jv_num(ev, "confidence", &c) == 0)
			snprintf(err, errlen, "field 'confidence': want a "
			    "number from 0 to 1, got %g", c);
		else
			snprintf(err, errlen, "field 'confidence': want a "
			    "number from 0 to 1, got %s",
			    kind_of(ev, "confidence"));
		return -1;
	}
	return 0;
}

char *
sre_jv_dump(jv v, size_t *len)
{
	jv s = jv_dump_string(v, 0);
	char *out;
	int n;

	if (jv_get_kind(s) != JV_KIND_STRING) {
		jv_free(s);
		return NULL;
	}
	n = jv_string_length_bytes(jv_copy(s));
	if ((out = malloc((size_t)n + 1)) != NULL) {
		memcpy(out, jv_string_value(s), (size_t)n);
		out[n] = '\0';
		if (len != NULL)
			*len = (size_t)n;
	}
	jv_free(s);
	return out;
}
