/*
 * ingest.h: what sre-serve receives (OTLP/HTTP, Prometheus remote write,
 * Alertmanager webhooks) becomes output lines, queued for one writer
 * thread that owns the output bus.  A full queue answers 429 (503 on the
 * routes whose senders retry only a 5xx); a failed output answers 503, so
 * nothing accepted is dropped.
 */
#ifndef SRE_SERVE_INGEST_H
#define SRE_SERVE_INGEST_H

#include "sbuf.h"
#include "srv.h"

/*
 * Queue n bytes of lines (each ending in a newline) for the writer.  0
 * when queued (or n is 0); 429 when the queue holds something and n more
 * would pass conf.max_queue; 503 when the output has failed, is closing,
 * or memory ran out.  Takes qlock.
 */
int sre_srv_enqueue(struct sre_srv *s, const char *lines, size_t n);

/*
 * The writer thread (arg: the struct sre_srv): writes the queue's lines to
 * s->out in order, flushes whenever the queue runs dry, counts the lines
 * in s->written, and returns once s->closing is set and the queue is
 * empty.  A failed write is reported once, sets s->out_failed and drops
 * what is queued.
 */
void *sre_srv_writer(void *arg);

/* Inflate the gzip data in into out, at most max bytes: 0, 1 when over
 * max, -1 when damaged (or out of memory). */
int sre_gunzip(const struct sre_sbuf *in, struct sre_sbuf *out, size_t max);

/*
 * Answer an ingest request (rq->route <= R_ALERTS) whose whole body is in
 * rq->body: inflate it (rq->gzip), convert it, queue its lines and count
 * what it held; the answer is the protocol's (OTLP partial success, 204 for
 * remote write, a count for Alertmanager) or its error.  rq->body may be
 * replaced by its inflated form.  Takes qlock, slock, jlock.
 */
void sre_ingest(struct sre_srv *s, struct sre_req *rq, struct sre_answer *a);

#endif
