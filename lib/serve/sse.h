/*
 * sse.h: the events read from --in, kept in a ring of the last
 * SRE_SRV_RING for /events (Server-Sent Events, resumable with
 * Last-Event-ID) and counted by type for /metrics.
 */
#ifndef SRE_SERVE_SSE_H
#define SRE_SERVE_SSE_H

#include <stddef.h>
#include <sys/types.h>

#include "srv.h"

#define SRE_SSE_END	(-1)	/* the stream is over (the server stops) */
#define SRE_SSE_ERROR	(-2)	/* out of memory: close the stream */

/*
 * Add the event line (len bytes, copied) of type to the ring under the
 * next sequence number, count its type ("other" when type is NULL or not
 * an event type) and wake the streams.  Takes rlock.
 */
void sre_sse_push(struct sre_srv *s, const char *line, size_t len,
    const char *type);

/*
 * The reader thread (arg: the struct sre_srv): reads events from s->in
 * until it ends or sre_stopping(), checks each (a bad line is reported
 * and skipped), acks it and pushes it.  Sets s->in_done at the end.
 */
void *sre_srv_reader(void *arg);

/*
 * Start rq's stream: from the event after last (a Last-Event-ID or
 * ?since= value; NULL, empty or not a number: from the next event), with
 * the "retry" line first.  Takes rlock.
 */
void sre_sse_begin(struct sre_srv *s, struct sre_req *rq, const char *last);

/*
 * Fill buf (max bytes) with the stream's next bytes: the events from
 * rq->next on (those that fell off the ring are skipped), each as
 * "id: N\nevent: sre\ndata: LINE\n\n"; when none comes within 15 s, a
 * keepalive comment.  Blocks while there is nothing.  Returns the bytes
 * given, SRE_SSE_END once sre_stopping() with nothing left, or
 * SRE_SSE_ERROR when out of memory.
 */
ssize_t sre_sse_read(struct sre_req *rq, char *buf, size_t max);

#endif
