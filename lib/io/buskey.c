/* buskey.c: partition keys of bus lines; OTLP requests split by service. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buskey.h"
#include "hash.h"
#include "json.h"

/* One resource of an OTLP request: its bytes and its service. */
struct res {
	size_t off, len;
	struct sre_json_str svc;	/* n == 0: none */
	int done;
};

struct scan {
	struct sre_json_str key;	/* the line's key; n == 0: none */
	struct sre_json_str fallback;	/* "metric", SYSLOG_IDENTIFIER */
	const char *member;		/* "resourceSpans"... */
	size_t mlen;
	struct res *res;
	size_t nres, capres;
};

/* In an OTLP attribute list: the stringValue of service.name. */
static void
service_name(struct sre_json *j, struct sre_json_str *svc)
{
	struct sre_json_str k, s, name, val;
	int isname;

	if (sre_json_arr_begin(j) < 0)
		return;
	while (sre_json_arr_next(j) > 0) {
		if (sre_json_peek(j) != SRE_JSON_OBJECT ||
		    sre_json_obj_begin(j) < 0) {
			sre_json_skip(j);
			continue;
		}
		isname = 0;
		name.n = val.n = 0;
		val.p = NULL;
		while (sre_json_obj_next(j, &k, NULL) > 0) {
			if (SRE_JSON_KEY_IS(k, "key") &&
			    sre_json_peek(j) == SRE_JSON_STRING) {
				sre_json_string(j, &name);
				isname = SRE_JSON_KEY_IS(name, "service.name");
			} else if (SRE_JSON_KEY_IS(k, "value") &&
			    sre_json_peek(j) == SRE_JSON_OBJECT) {
				sre_json_obj_begin(j);
				while (sre_json_obj_next(j, &k, NULL) > 0)
					if (SRE_JSON_KEY_IS(k, "stringValue") &&
					    sre_json_peek(j) ==
					    SRE_JSON_STRING) {
						sre_json_string(j, &s);
						val = s;
					} else
						sre_json_skip(j);
			} else
				sre_json_skip(j);
		}
		if (isname && val.p != NULL && svc->n == 0)
			*svc = val;
	}
}

/* One element of resourceSpans (...): find resource.attributes. */
static void
resource(struct sre_json *j, struct res *r)
{
	struct sre_json_str k;

	if (sre_json_peek(j) != SRE_JSON_OBJECT || sre_json_obj_begin(j) < 0) {
		sre_json_skip(j);
		return;
	}
	while (sre_json_obj_next(j, &k, NULL) > 0) {
		if (!SRE_JSON_KEY_IS(k, "resource") ||
		    sre_json_peek(j) != SRE_JSON_OBJECT) {
			sre_json_skip(j);
			continue;
		}
		sre_json_obj_begin(j);
		while (sre_json_obj_next(j, &k, NULL) > 0)
			if (SRE_JSON_KEY_IS(k, "attributes") &&
			    sre_json_peek(j) == SRE_JSON_ARRAY)
				service_name(j, &r->svc);
			else
				sre_json_skip(j);
	}
}

static int
resources(struct sre_json *j, struct scan *sc, struct sre_json_str *name)
{
	struct res *r;

	sc->member = name->p;
	sc->mlen = name->n;
	if (sre_json_arr_begin(j) < 0)
		return 0;
	while (sre_json_arr_next(j) > 0) {
		if (sc->nres == sc->capres) {
			size_t n = sc->capres ? sc->capres * 2 : 16;
			struct res *nr = reallocarray(sc->res, n,
			    sizeof(*nr));

			if (nr == NULL)
				return -1;
			sc->res = nr;
			sc->capres = n;
		}
		if (sre_json_peek(j) == SRE_JSON_NONE)
			break;
		r = &sc->res[sc->nres++];
		memset(r, 0, sizeof(*r));
		r->off = j->pos;
		resource(j, r);
		r->len = j->pos - r->off;
	}
	return 0;
}

static int
scan(const char *line, size_t len, struct scan *sc)
{
	struct sre_json j;
	struct sre_json_str k, s;

	sre_json_init(&j, line, len, 0);
	if (sre_json_peek(&j) != SRE_JSON_OBJECT || sre_json_obj_begin(&j) < 0)
		return 0;
	while (sre_json_obj_next(&j, &k, NULL) > 0) {
		if ((SRE_JSON_KEY_IS(k, "resourceSpans") ||
		    SRE_JSON_KEY_IS(k, "resourceMetrics") ||
		    SRE_JSON_KEY_IS(k, "resourceLogs")) &&
		    sre_json_peek(&j) == SRE_JSON_ARRAY && sc->member == NULL) {
			if (resources(&j, sc, &k) < 0)
				return -1;
		} else if ((SRE_JSON_KEY_IS(k, "incident") ||
		    SRE_JSON_KEY_IS(k, "_SYSTEMD_UNIT")) &&
		    sre_json_peek(&j) == SRE_JSON_STRING) {
			sre_json_string(&j, &sc->key);
		} else if ((SRE_JSON_KEY_IS(k, "metric") ||
		    SRE_JSON_KEY_IS(k, "SYSLOG_IDENTIFIER")) &&
		    sre_json_peek(&j) == SRE_JSON_STRING) {
			sre_json_string(&j, &sc->fallback);
		} else if (SRE_JSON_KEY_IS(k, "labels") &&
		    sre_json_peek(&j) == SRE_JSON_OBJECT) {
			sre_json_obj_begin(&j);
			while (sre_json_obj_next(&j, &k, NULL) > 0)
				if (SRE_JSON_KEY_IS(k, "service") &&
				    sre_json_peek(&j) == SRE_JSON_STRING)
					sre_json_string(&j, &s), sc->key = s;
				else
					sre_json_skip(&j);
		} else
			sre_json_skip(&j);
	}
	if (sre_json_end(&j) < 0) {
		/* Not one JSON object: no key, no split. */
		sc->key.n = sc->fallback.n = 0;
		sc->nres = 0;
		sc->member = NULL;
	}
	return 0;
}

static int
same(const struct sre_json_str *a, const struct sre_json_str *b)
{
	return a->n == b->n && (a->n == 0 || memcmp(a->p, b->p, a->n) == 0);
}

/* Write one request per service, each with the resources of it. */
static int
split(const char *line, struct scan *sc, sre_buskey_out out, void *ctx)
{
	char *buf;
	size_t i, m, n, cap = 0;
	int rc = 0;

	for (i = 0; i < sc->nres; i++)
		cap += sc->res[i].len + 1;
	cap += sc->mlen + 8;
	if ((buf = malloc(cap)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	for (i = 0; i < sc->nres && rc == 0; i++) {
		if (sc->res[i].done)
			continue;
		n = 0;
		buf[n++] = '{';
		buf[n++] = '"';
		memcpy(buf + n, sc->member, sc->mlen);
		n += sc->mlen;
		memcpy(buf + n, "\":[", 3);
		n += 3;
		for (m = i; m < sc->nres; m++) {
			if (sc->res[m].done || !same(&sc->res[m].svc,
			    &sc->res[i].svc))
				continue;
			if (m != i)
				buf[n++] = ',';
			memcpy(buf + n, line + sc->res[m].off, sc->res[m].len);
			n += sc->res[m].len;
			sc->res[m].done = 1;
		}
		buf[n++] = ']';
		buf[n++] = '}';
		rc = out(ctx, sc->res[i].svc.n ? sc->res[i].svc.p : NULL,
		    sc->res[i].svc.n, buf, n);
	}
	free(buf);
	return rc;
}

int
sre_buskey_split(const char *line, size_t len, sre_buskey_out out,
    void *ctx)
{
	struct scan sc;
	size_t i;
	int rc;

	memset(&sc, 0, sizeof(sc));
	if (scan(line, len, &sc) < 0) {
		free(sc.res);
		errno = ENOMEM;
		return -1;
	}
	if (sc.nres > 0) {
		for (i = 1; i < sc.nres; i++)
			if (!same(&sc.res[i].svc, &sc.res[0].svc))
				break;
		if (i < sc.nres)
			rc = split(line, &sc, out, ctx);
		else
			rc = out(ctx, sc.res[0].svc.n ? sc.res[0].svc.p : NULL,
			    sc.res[0].svc.n, line, len);
		free(sc.res);
		return rc;
	}
	free(sc.res);
	if (sc.key.n == 0)
		sc.key = sc.fallback;
	return out(ctx, sc.key.n ? sc.key.p : NULL, sc.key.n, line, len);
}

unsigned long
sre_buskey_hash(const char *key, size_t keylen)
{
	return sre_fnv1a32(SRE_FNV32_BASIS, key, keylen);
}
