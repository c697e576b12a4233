/* scout-silence.c: silences for sre-scout (see scout-silence.h). */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jv.h>

#include "event.h"
#include "evtime.h"
#include "sbuf.h"
#include "scout-silence.h"

#define MAX_SILENCES 4096

struct silence {
	char *service, *operation, *signal;	/* NULL: any */
	int64_t start, end;
};

struct sre_silences {
	char *path;
	struct timespec mtime;
	off_t size;
	ino_t ino;
	int seen;
	struct silence *v;
	size_t n;
};

struct sre_silences *
sre_silences_new(const char *path)
{
	struct sre_silences *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	if ((s->path = strdup(path)) == NULL) {
		free(s);
		return NULL;
	}
	return s;
}

static void
clear(struct silence *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].service);
		free(v[i].operation);
		free(v[i].signal);
	}
	free(v);
}

void
sre_silences_free(struct sre_silences *s)
{
	if (s == NULL)
		return;
	clear(s->v, s->n);
	free(s->path);
	free(s);
}

/* A time member: a number of epoch ms, or RFC 3339 text. */
static int
get_time(jv o, const char *key, int64_t dflt, int64_t *out, char *err,
    size_t errlen)
{
	jv v = jv_object_get(jv_copy(o), jv_string(key));
	double d;
	int rc = 0;

	switch (jv_get_kind(v)) {
	case JV_KIND_INVALID:
	case JV_KIND_NULL:
		*out = dflt;
		break;
	case JV_KIND_NUMBER:
		d = jv_number_value(v);
		if (!(d >= 0 && d < 1e16))
			rc = -1;
		else
			*out = (int64_t)d;
		break;
	case JV_KIND_STRING:
		if (sre_time_parse_rfc3339(jv_string_value(v), out) < 0)
			rc = -1;
		break;
	default:
		rc = -1;
	}
	if (rc < 0)
		snprintf(err, errlen, "%s: not epoch ms or RFC 3339 time", key);
	jv_free(v);
	return rc;
}

static int
get_pattern(jv o, const char *key, char **out, char *err, size_t errlen)
{
	jv v = jv_object_get(jv_copy(o), jv_string(key));
	int rc = 0;

	*out = NULL;
	switch (jv_get_kind(v)) {
	case JV_KIND_INVALID:
	case JV_KIND_NULL:
		break;
	case JV_KIND_STRING:
		if ((*out = strdup(jv_string_value(v))) == NULL) {
			snprintf(err, errlen, "out of memory");
			rc = -1;
		}
		break;
	default:
		snprintf(err, errlen, "%s: not a string", key);
		rc = -1;
	}
	jv_free(v);
	return rc;
}

static int
parse_line(const char *line, size_t len, struct silence *sl, char *err,
    size_t errlen)
{
	jv o = sre_json_object(line, len, err, errlen);
	int rc = -1;

	memset(sl, 0, sizeof(*sl));
	if (!jv_is_valid(o))
		return -1;
	if (get_pattern(o, "service", &sl->service, err, errlen) == 0 &&
	    get_pattern(o, "operation", &sl->operation, err, errlen) == 0 &&
	    get_pattern(o, "signal", &sl->signal, err, errlen) == 0 &&
	    get_time(o, "start", INT64_MIN, &sl->start, err, errlen) == 0 &&
	    get_time(o, "end", INT64_MAX, &sl->end, err, errlen) == 0) {
		if (sl->end <= sl->start)
			snprintf(err, errlen, "end is not after start");
		else
			rc = 0;
	}
	jv_free(o);
	if (rc < 0) {
		free(sl->service);
		free(sl->operation);
		free(sl->signal);
	}
	return rc;
}

int
sre_silences_poll(struct sre_silences *s, char *err, size_t errlen)
{
	struct stat st;
	FILE *fp;
	char *line = NULL, msg[512];
	size_t cap = 0, n = 0, lineno = 0, ncap = 0;
	ssize_t len;
	struct silence *v = NULL, *nv;
	const char *p;
	int rc = 1;

	*err = '\0';
	if (stat(s->path, &st) < 0) {
		snprintf(err, errlen, "%s: %s", s->path, strerror(errno));
		return -1;
	}
	if (s->seen && st.st_mtim.tv_sec == s->mtime.tv_sec &&
	    st.st_mtim.tv_nsec == s->mtime.tv_nsec && st.st_size == s->size &&
	    st.st_ino == s->ino)
		return 0;
	if ((fp = fopen(s->path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", s->path, strerror(errno));
		return -1;
	}
	while ((len = getline(&line, &cap, fp)) >= 0) {
		lineno++;
		while (len > 0 && (line[len - 1] == '\n' ||
		    line[len - 1] == '\r'))
			line[--len] = '\0';
		for (p = line; *p == ' ' || *p == '\t'; p++)
			;
		if (*p == '\0' || *p == '#')
			continue;
		if (n == MAX_SILENCES) {
			snprintf(err, errlen, "%s:%zu: more than %d silences",
			    s->path, lineno, MAX_SILENCES);
			rc = -1;
			break;
		}
		if (n == ncap) {
			if ((nv = sre_grow(v, &ncap, sizeof(*v), 16)) == NULL) {
				snprintf(err, errlen, "out of memory");
				rc = -1;
				break;
			}
			v = nv;
		}
		if (parse_line(line, (size_t)len, &v[n], msg,
		    sizeof(msg)) < 0) {
			snprintf(err, errlen, "%s:%zu: %s", s->path, lineno,
			    msg);
			rc = -1;
			break;
		}
		n++;
	}
	if (rc > 0 && ferror(fp)) {
		snprintf(err, errlen, "%s: %s", s->path, strerror(errno));
		rc = -1;
	}
	fclose(fp);
	free(line);
	/* Remember this version either way: a bad file is reported once. */
	s->seen = 1;
	s->mtime = st.st_mtim;
	s->size = st.st_size;
	s->ino = st.st_ino;
	if (rc < 0) {
		clear(v, n);
		return -1;
	}
	clear(s->v, s->n);
	s->v = v;
	s->n = n;
	return 1;
}

static int
pmatch(const char *pat, const char *s)
{
	if (pat == NULL)
		return 1;
	if (s == NULL)
		return strcmp(pat, "*") == 0;
	return fnmatch(pat, s, 0) == 0;
}

int
sre_silences_match(const struct sre_silences *s, const char *service,
    const char *operation, const char *signal, int64_t t_ms)
{
	size_t i;
	const struct silence *sl;

	if (s == NULL)
		return 0;
	for (i = 0; i < s->n; i++) {
		sl = &s->v[i];
		if (t_ms >= sl->start && t_ms < sl->end &&
		    pmatch(sl->service, service) &&
		    pmatch(sl->operation, operation) &&
		    pmatch(sl->signal, signal))
			return 1;
	}
	return 0;
}

size_t
sre_silences_count(const struct sre_silences *s)
{
	return s != NULL ? s->n : 0;
}
