/*
 * serve.h: the parts of sre-serve that do not speak HTTP: checking an
 * OTLP/JSON body and making it one line, Alertmanager webhooks to events,
 * request paths that are safe to map to files, and token comparison.
 */
#ifndef SRE_SERVE_H
#define SRE_SERVE_H

#include <stddef.h>

#include "serve-pb.h"

/*
 * Check an OTLP/JSON request body of kind k (len bytes at body, which is
 * modified: its line breaks, which JSON only allows between tokens,
 * become spaces, so the body is one line).  sre-scout's reader checks
 * it; *records gets the records delivered and *rejected those it would
 * reject (the first reason in msg).  Returns 0 when the body is one
 * request of kind k, 1 when it is valid JSON with no records of any kind
 * ("{}": nothing to write), -1 when it is not JSON or a request of
 * another kind (msg says why).
 */
int sre_serve_otlp_json(enum sre_pb_kind k, char *body, size_t len,
    size_t *records, size_t *rejected, char *msg, size_t msglen);

/*
 * An Alertmanager webhook (payload version 4, len bytes at body) to
 * events of sre-events(7), one line each ending in a newline appended to
 * out: a firing alert becomes an anomaly, a resolved one a recovery.
 * Both carry the incident "am-FINGERPRINT-STARTS" (FINGERPRINT is
 * Alertmanager's, STARTS the alert's startsAt in epoch ms), so the
 * recovery joins the anomaly's incident; "fingerprint" is Alertmanager's
 * (a hash of the alert's labels: the same whenever that alert fires
 * again), signal "metric", operation the alertname; the service is the alert's "service" label,
 * else "job", else "instance", else "unknown".  *firing and *resolved
 * count the events; *rejected the alerts left out (msg says why the
 * first was).  Returns 0, or -1 when the body is not a version 4 webhook
 * (msg says why).  Uses libjq and sre_id_new: not thread-safe.
 */
int sre_serve_alerts(const char *body, size_t len, struct sre_sbuf *out,
    size_t *firing, size_t *resolved, size_t *rejected, char *msg,
    size_t msglen);

/*
 * Non-zero when a request path is safe to look up under a directory: it
 * starts with "/", and has no "..", no "//", no backslash, no NUL, no
 * control character and no percent sign (libmicrohttpd has already
 * decoded %XX once: a "%" left means a double encoding).
 */
int sre_serve_path_ok(const char *path);

/*
 * Compare a presented "Authorization" header value with "Bearer " and the
 * token in time independent of where they differ.  Non-zero when equal;
 * zero when hdr is NULL or token is NULL or empty.
 */
int sre_serve_bearer_ok(const char *hdr, const char *token);

#endif
