/*
 * buskey.h: the partition key of a bus line, so that everything about one
 * series or one incident lands in one partition and is read by one member
 * of a consumer group.  Private to lib/ (bus.c).
 *
 * The key of a line is, by its shape:
 *
 *	an event (sre-events(7))	its "incident"
 *	OTLP/JSON (resourceSpans, resourceMetrics, resourceLogs)
 *					the resource's service.name
 *	a metric point			labels.service, else "metric"
 *	a journald record		_SYSTEMD_UNIT, else SYSLOG_IDENTIFIER
 *
 * and none otherwise (topology, governor and audit events; lines that are
 * not JSON objects).  Keys are the bytes of the JSON string, escapes and
 * all: one name always gives one key.
 */
#ifndef SRE_BUSKEY_H
#define SRE_BUSKEY_H

#include <stddef.h>

/* Called once per line to write: key is NULL (keylen 0) for none.
 * Returns 0, or non-zero to stop (sre_buskey_split returns it). */
typedef int (*sre_buskey_out)(void *ctx, const char *key, size_t keylen,
    const char *line, size_t len);

/*
 * Hand line to out with its key.  An OTLP request whose resources belong
 * to several services is split: one request per service holding that
 * service's resources in their order (other top-level members, which
 * OTLP requests do not have, are dropped); out sees them in the order of
 * each service's first resource.  Every other line goes out whole.
 * Returns 0, out's first non-zero return, or -1 (errno ENOMEM).
 */
int sre_buskey_split(const char *line, size_t len, sre_buskey_out out,
    void *ctx);

/* The 32-bit FNV-1a hash of a key, the Redis partition of a line being
 * sre_buskey_hash(key) % partitions. */
unsigned long sre_buskey_hash(const char *key, size_t keylen);

#endif
