/*
 * metrics.h: /system/health and /metrics, and the main thread's watch that
 * feeds them (the governor's file, sre-serve's memory, open incidents).
 */
#ifndef SRE_SERVE_METRICS_H
#define SRE_SERVE_METRICS_H

#include "srv.h"

/* Measure memory (PSS, else RSS) and the open incidents into s, for
 * /system/health.  Takes jlock and slock. */
void sre_srv_measure(struct sre_srv *s);

/*
 * The main thread's loop until sre_stopping(): polls the governor's file
 * every 250 ms (what it leaves out keeps its default) and measures once a
 * second.  A governor file that cannot be read is reported at -v.
 */
void sre_srv_watch(struct sre_srv *s);

/*
 * GET /system/health: status, version, governor, memory, open incidents,
 * each input's last arrival, the output's state and uptime, as JSON; 200
 * when ok, 503 when degraded (the governor says so, the output is gone or
 * the queue is over conf.max_queue).  Takes the locks in turn.
 */
void sre_metrics_health(struct sre_srv *s, struct sre_answer *a);

/*
 * GET /metrics: the Prometheus text (version 0.0.4) of the requests by
 * route and code, records received, output lines and queue, events by
 * type, open incidents and the MTTR histogram (when the store can be read
 * or does not exist yet), the governor's mode, memory, and each input's
 * last arrival.  500 when out of memory.
 */
void sre_metrics_prom(struct sre_srv *s, struct sre_answer *a);

#endif
