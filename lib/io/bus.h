/*
 * bus.h: where a tool reads its lines from and writes them to.
 *
 * A bus end is opened from a URL:
 *
 *	-		stdin (reading) or stdout (writing)
 *	file:PATH	a file; read from the start, written by appending
 *	PATH		the same: a bare path (no "scheme:" before any ':')
 *			is a file, and sre_bus_url() names it file:PATH
 *	redis://HOST:PORT/STREAM?group=G	Redis Streams (bus-redis.c)
 *	kafka://HOST:PORT/TOPIC?group=G		Kafka (bus-kafka.c)
 *
 * An input file whose name ends in .gz is read through gzip (zlib).
 *
 * Every back-end implements struct sre_bus_ops; tools only see struct
 * sre_bus, so a new back-end is a new ops table known to bus.c and no
 * tool changes.  The networked back-ends are weak references: a tool
 * links them (and hiredis, librdkafka) only if its link list names them,
 * and a URL for one it lacks is a configuration error.  Delivery is at-least-once: a reading end remembers
 * what it handed out and sre_bus_ack() confirms it once the output it led
 * to has been written (a no-op for pipes and files).
 */
#ifndef SRE_BUS_H
#define SRE_BUS_H

#include <stddef.h>

#include "line.h"

enum sre_bus_mode { SRE_BUS_IN, SRE_BUS_OUT };

struct sre_bus;

struct sre_bus_ops {
	const char *scheme;	/* "file", "redis", ... ("-" is stdio) */
	/* Open; on failure return NULL with a message in err and *ex set to
	 * a sysexits code (EX_NOINPUT, EX_CONFIG, EX_UNAVAILABLE...). */
	void *(*open)(const char *url, enum sre_bus_mode mode, size_t maxlen,
	    char *err, size_t errlen, int *ex);
	/* As sre_reader_next. */
	int (*read)(void *be, const char **line, size_t *len, int timeout_ms);
	/* As sre_writer_line. */
	int (*write)(void *be, const char *line, size_t len);
	int (*flush)(void *be);
	int (*ack)(void *be);
	/* Non-zero when a line can be read without waiting. */
	int (*ready)(void *be);
	unsigned long long (*lineno)(void *be);
	int (*close)(void *be);
	/* The back-end's last error in words, or NULL (optional). */
	const char *(*error)(void *be);
	/* Non-zero when the service behind it stayed unreachable through
	 * every retry (optional): the tool exits 69, not 74. */
	int (*gone)(void *be);
	/* Non-zero when lines should carry partition keys (optional): then
	 * bus.c writes through write_key, never write. */
	int (*keyed)(void *be);
	/* As write, with the line's key (NULL, 0: none; see buskey.h). */
	int (*write_key)(void *be, const char *key, size_t keylen,
	    const char *line, size_t len);
};

struct sre_bus_opts {
	size_t maxlen;		/* longest line read; 0 for the default */
};

/*
 * Open a bus end.  On failure returns NULL, writes a message naming the
 * URL into err and a sysexits code into *ex: EX_USAGE for a malformed URL,
 * EX_CONFIG for an unknown or unavailable scheme, EX_NOINPUT for a missing
 * input file, EX_CANTCREAT or EX_IOERR for output.
 */
struct sre_bus *sre_bus_open(const char *url, enum sre_bus_mode mode,
    const struct sre_bus_opts *opts, char *err, size_t errlen, int *ex);

/* Read one line (see sre_reader_next for the codes and the borrowing). */
int sre_bus_read(struct sre_bus *b, const char **line, size_t *len,
    int timeout_ms);

/* Write one line (see sre_writer_line).  On a partitioned bus (Kafka; Redis
 * with partitions=N) the line goes with its key: the incident of an event,
 * the service of telemetry; an OTLP request about several services goes
 * as one request per service (buskey.h). */
int sre_bus_write(struct sre_bus *b, const char *line, size_t len);

/* Write out buffered lines. */
int sre_bus_flush(struct sre_bus *b);

/* Confirm the lines read so far (after their output was written). */
int sre_bus_ack(struct sre_bus *b);

/* Non-zero when the next read will not wait. */
int sre_bus_ready(struct sre_bus *b);

/* For diagnostics: "line 12" on stdin, "PATH:12" for files. Borrowed,
 * valid until the next call. */
const char *sre_bus_where(struct sre_bus *b);

/* Words for the last failure: the back-end's, else strerror(errno).
 * Borrowed. */
const char *sre_bus_error(struct sre_bus *b);

/* Non-zero when the service behind b (Redis, Kafka) is unreachable after
 * its retries: the failure is EX_UNAVAILABLE, not an I/O error. */
int sre_bus_gone(struct sre_bus *b);

/* The name of the bus end as given ("-", "file:x"). Borrowed. */
const char *sre_bus_url(const struct sre_bus *b);

/* Flush, close, free.  Returns an SRE_WRITE_* code.  Accepts NULL. */
int sre_bus_close(struct sre_bus *b);

/* Register a back-end (bus-redis.c and bus-kafka.c call this). */
int sre_bus_register(const struct sre_bus_ops *ops);

#endif
