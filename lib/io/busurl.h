/*
 * busurl.h: the parts of a networked bus URL,
 *
 *	SCHEME://HOST:PORT/NAME?key=value&key=value
 *
 * shared by the Redis and Kafka back-ends.  Private to lib/.
 */
#ifndef SRE_BUSURL_H
#define SRE_BUSURL_H

#include <stddef.h>

#define SRE_BUSURL_MAXQ 8

struct sre_busurl {
	char host[256];
	int port;
	char name[256];		/* stream or topic */
	int nq;
	char qkey[SRE_BUSURL_MAXQ][32];
	char qval[SRE_BUSURL_MAXQ][128];
};

/*
 * Parse url (which starts with scheme "://").  defport is used when the
 * port is missing.  Returns 0, or -1 with a message in err.
 */
int sre_busurl_parse(const char *url, const char *scheme, int defport,
    struct sre_busurl *u, char *err, size_t errlen);

/* The value of query key, or def when absent.  Borrowed. */
const char *sre_busurl_get(const struct sre_busurl *u, const char *key,
    const char *def);

#endif
