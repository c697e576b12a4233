/*
 * srv.h: the state sre-serve's threads share, the per-request state, and
 * the answer a route builds before the HTTP layer (httpd.h) sends it.
 *
 * One struct sre_srv per server.  Its members are grouped by the lock that
 * guards them: qlock the output queue (ingest.h), rlock the event ring
 * (sse.h), slock the counters, jlock libjq and the store.  A route's
 * function fills a struct sre_answer and never touches the socket, so each
 * can be tested without one.
 */
#ifndef SRE_SERVE_SRV_H
#define SRE_SERVE_SRV_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <jv.h>

#include "govern.h"
#include "route.h"
#include "sbuf.h"

#define SRE_SRV_RING	1024	/* events kept for Last-Event-ID resume */
#define SRE_SRV_NCODES	14	/* the status codes /metrics counts */
#define SRE_SRV_NTYPES	10	/* the event types /metrics counts, "other" */

/* Inputs whose last arrival /system/health reports. */
enum sre_input { IN_TRACES, IN_METRICS, IN_LOGS, IN_WRITE, IN_ALERTS,
	IN_EVENTS, N_INPUTS };

/* What the options decided; strings are borrowed for the server's life. */
struct sre_srv_conf {
	const char *state_dir;	/* the store and governor.json */
	const char *dashboard;	/* NULL: no dashboard */
	const char *control;	/* NULL: /demo/inject-failure is off */
	const char *cors;	/* NULL, "*" or one origin */
	size_t max_body, max_queue;
	const char *api_token;	/* NULL: changes are refused */
	const char *ingest_token;	/* NULL: ingest is open */
};

/* A chunk of output lines waiting for the writer. */
struct sre_chunk {
	struct sre_chunk *next;
	size_t n;
	char data[];
};

struct sre_bus;
struct sre_store;

struct sre_srv {
	struct sre_srv_conf conf;
	void *httpd;		/* the HTTP daemon (httpd.h) */
	struct sre_bus *out, *in;
	/* output queue: qlock */
	pthread_mutex_t qlock;
	pthread_cond_t qcond;
	struct sre_chunk *head, *tail;
	size_t queued;
	int closing;		/* no more chunks will come */
	int out_failed;		/* the output is gone */
	/* event ring and counters: rlock */
	pthread_mutex_t rlock;
	pthread_cond_t rcond;
	char *ring[SRE_SRV_RING];
	unsigned long long ring_seq[SRE_SRV_RING];
	unsigned long long seq;	/* last sequence number given */
	unsigned long long types[SRE_SRV_NTYPES];
	int in_done;
	/* statistics: slock */
	pthread_mutex_t slock;
	unsigned long long req[N_ROUTES][SRE_SRV_NCODES];
	unsigned long long records[3];	/* spans, points, logs */
	unsigned long long points, alerts_firing, alerts_resolved;
	unsigned long long written;	/* lines written out */
	int64_t last_ms[N_INPUTS];
	struct sre_gov_watch gw;
	struct sre_gov_state gov;
	int gov_seen;
	/* measured once a second by the main thread, for /system/health */
	int64_t mem;
	long long open;		/* incidents open; -1 when unknown */
	/* libjq, the store, sre_id_new: jlock */
	pthread_mutex_t jlock;
	struct sre_store *st;
	int64_t started_ms;
	/* the threads of sre_srv_start */
	pthread_t wt, rt;
};

/* Per-request state, from the first call to the completion callback. */
struct sre_req {
	enum sre_route route;
	int done;		/* a response was queued */
	int gzip, snappy, proto;
	struct sre_sbuf body;
	int too_big;
	/* SSE */
	unsigned long long next;
	struct sre_sbuf pending;
	size_t pend_off;
	struct sre_srv *s;
};

/*
 * What a route answers.  code 0: nothing yet.  ctype and retry point to
 * static strings (or NULL); body is owned.  fd >= 0: the answer is that
 * file's fd_size bytes instead of body (the dashboard's files; the fd is
 * owned and passed on to the HTTP layer).
 */
struct sre_answer {
	int code;
	const char *ctype;
	const char *retry;
	struct sre_sbuf body;
	int fd;
	uint64_t fd_size;
};

#define SRE_ANSWER_INIT { .fd = -1 }

/*
 * A new server for conf (copied; its strings stay the caller's), its locks
 * made, sre_gov_watch set on conf->state_dir and its start time taken.
 * NULL when out of memory (ENOMEM) or when the state directory's path is
 * too long (ENAMETOOLONG).
 */
struct sre_srv *sre_srv_new(const struct sre_srv_conf *conf);

/* Free s: the store it opened, the ring, what is still queued, the locks,
 * s.  The buses are the caller's; the daemon is sre_srv_stop's.  NULL is
 * a no-op. */
void sre_srv_free(struct sre_srv *s);

/* Count an answer of code on r for /metrics (codes it does not list are
 * not counted).  Takes slock. */
void sre_srv_count(struct sre_srv *s, enum sre_route r, int code);

/* The status code of index i of the counted codes (i < SRE_SRV_NCODES). */
int sre_srv_code(size_t i);

/* Note that input in received something now.  Takes slock. */
void sre_srv_seen(struct sre_srv *s, enum sre_input in);

/* The name /system/health and /metrics give input in ("traces", ...). */
const char *sre_input_name(enum sre_input in);

/*
 * Set a to an error of code with the message fmt: {"error": msg}, or on
 * the OTLP routes (r <= R_LOGS) a google.rpc.Status, as protobuf when
 * proto is set and as JSON otherwise.  retry: Retry-After or NULL.  Any
 * earlier body of a is dropped.
 */
void sre_answer_fail(struct sre_answer *a, enum sre_route r, int proto,
    int code, const char *retry, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* Set a to code with n bytes of data (copied) of type ctype (static). */
void sre_answer_set(struct sre_answer *a, int code, const char *ctype,
    const void *data, size_t n);

/* Set a to code with v dumped as JSON; v is consumed.  Call with jlock
 * held (libjq).  Out of memory: a 500. */
void sre_answer_jv(struct sre_answer *a, enum sre_route r, int code, jv v);

/* Free what a holds (body; fd when still open) and reset it. */
void sre_answer_free(struct sre_answer *a);

#endif
