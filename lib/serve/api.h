/*
 * api.h: sre-serve's API over the store (/incidents, /incidents/{id},
 * /reports/metrics) and the demo's chaos (/demo/inject-failure).  The
 * store is opened read-only the first time it exists; every function
 * takes jlock for libjq and the store.  Query values arrive as strings
 * (NULL when absent) and are checked here.
 */
#ifndef SRE_SERVE_API_H
#define SRE_SERVE_API_H

#include "srv.h"

/* What a scan of the incident records counts (the API and /metrics). */
struct sre_scan {
	jv list;		/* jv_array to collect into, or jv_null */
	const char *status;	/* collect only these; NULL: all */
	long long open, limit;
	unsigned long long mttr[8];	/* histogram buckets, sre_mttr_le */
	double mttr_sum;
	unsigned long long mttr_n;
};

/* The upper bounds (seconds) of the first 7 MTTR buckets; the 8th is +Inf. */
extern const double sre_mttr_le[7];

/*
 * Scan the incident records into sc (open count, MTTR histogram, and up
 * to sc->limit records of sc->status into sc->list when it is an array).
 * Call with jlock held.  EX_OK; EX_NOINPUT when there is no store yet;
 * another sysexits code with err set when the store fails.
 */
int sre_srv_scan(struct sre_srv *s, struct sre_scan *sc, char *err,
    size_t errlen);

/* GET /incidents?status=open|closed&limit=1..10000 (default 100):
 * {"incidents": [newest first], "open": N}; 400 on a bad parameter, 503
 * when the store fails (no store: none). */
void sre_api_incidents(struct sre_srv *s, const char *status,
    const char *limit, struct sre_answer *a);

/* GET /incidents/{id}: {"incident", "timeline", and for a closed one
 * "postmortem" (markdown)}; 404 when there is none, 503 when the store
 * fails. */
void sre_api_incident(struct sre_srv *s, const char *id,
    struct sre_answer *a);

/* GET /reports/metrics?since=EPOCH_MS: the curated report; 400 on a bad
 * since, 404 without a store, 503 when it fails. */
void sre_api_report(struct sre_srv *s, const char *since,
    struct sre_answer *a);

/*
 * POST /demo/inject-failure?type=T&service=S: replace conf.control whole
 * with "fault=none" or "fault=T culprit=S" (sre_file_replace, mode 0644)
 * and answer {"fault": T, "service": S|null}.  404 without a control file;
 * 400 when T is not a known fault or S is not 1 to 64 of [a-z0-9._-]
 * (needed unless T is none); 500 when writing fails.  The token was
 * checked by sre_route_check.
 */
void sre_api_inject(struct sre_srv *s, const char *type, const char *svc,
    struct sre_answer *a);

#endif
