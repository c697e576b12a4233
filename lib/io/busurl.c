/* busurl.c: parse SCHEME://HOST:PORT/NAME?k=v&k=v bus URLs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>

#include "busurl.h"

static int
name_ok(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!(*s >= 'a' && *s <= 'z') && !(*s >= 'A' && *s <= 'Z') &&
		    !(*s >= '0' && *s <= '9') && strchr("._-:", *s) == NULL)
			return 0;
	return 1;
}

int
sre_busurl_parse(const char *url, const char *scheme, int defport,
    struct sre_busurl *u, char *err, size_t errlen)
{
	char buf[1024], *p, *host, *path, *query, *port, *kv;
	size_t slen = strlen(scheme);
	const char *errstr;

	memset(u, 0, sizeof(*u));
	if (strncmp(url, scheme, slen) != 0 ||
	    strncmp(url + slen, "://", 3) != 0) {
		snprintf(err, errlen, "%s: want %s://HOST:PORT/NAME", url,
		    scheme);
		return -1;
	}
	if (strlcpy(buf, url + slen + 3, sizeof(buf)) >= sizeof(buf)) {
		snprintf(err, errlen, "%.64s...: URL too long", url);
		return -1;
	}
	host = buf;
	if ((path = strchr(host, '/')) == NULL) {
		snprintf(err, errlen, "%s: no /NAME (the stream or topic)",
		    url);
		return -1;
	}
	*path++ = '\0';
	if ((query = strchr(path, '?')) != NULL)
		*query++ = '\0';
	u->port = defport;
	if ((port = strrchr(host, ':')) != NULL) {
		*port++ = '\0';
		u->port = (int)strtonum(port, 1, 65535, &errstr);
		if (errstr != NULL) {
			snprintf(err, errlen, "%s: port %s: %s", url, port,
			    errstr);
			return -1;
		}
	}
	if (*host == '\0')
		host = "127.0.0.1";
	if (strlcpy(u->host, host, sizeof(u->host)) >= sizeof(u->host) ||
	    strlcpy(u->name, path, sizeof(u->name)) >= sizeof(u->name)) {
		snprintf(err, errlen, "%s: host or name too long", url);
		return -1;
	}
	if (!name_ok(u->name)) {
		snprintf(err, errlen, "%s: bad name '%s' (letters, digits, "
		    "'.', '_', '-', ':')", url, u->name);
		return -1;
	}
	while (query != NULL && (kv = strsep(&query, "&")) != NULL) {
		if (*kv == '\0')
			continue;
		if ((p = strchr(kv, '=')) == NULL || u->nq == SRE_BUSURL_MAXQ) {
			snprintf(err, errlen, "%s: bad query '%s'", url, kv);
			return -1;
		}
		*p++ = '\0';
		if (strlcpy(u->qkey[u->nq], kv, sizeof(u->qkey[0])) >=
		    sizeof(u->qkey[0]) || strlcpy(u->qval[u->nq], p,
		    sizeof(u->qval[0])) >= sizeof(u->qval[0]) || !name_ok(p)) {
			snprintf(err, errlen, "%s: bad query value for '%s'",
			    url, kv);
			return -1;
		}
		u->nq++;
	}
	return 0;
}

const char *
sre_busurl_get(const struct sre_busurl *u, const char *key, const char *def)
{
	int i;

	for (i = 0; i < u->nq; i++)
		if (strcmp(u->qkey[i], key) == 0)
			return u->qval[i];
	return def;
}
