/*
 * incident.h: grouping raised series into incidents, for sre-scout.
 *
 * An incident is a set of series (an operation's latency, an edge, a
 * service's logs...) that went anomalous together: overlapping in time
 * and connected in the call graph.  Services are small integers chosen by
 * the caller; whether two services are connected is the caller's answer
 * too (sre-scout asks its learned call graph), so this module knows
 * nothing of spans.
 *
 * The rules, applied once per window to the series raised in it:
 *
 *   1. A series that belonged to an incident still open goes back to it
 *      (a flapping series never opens a second incident).
 *   2. The raised series are joined into groups: two are in one group
 *      when their services are connected.
 *   3. A group joins the oldest open incident that holds a series of the
 *      group (rule 1) or a service connected to one of the group's; a
 *      group connected to nothing opens a new incident.
 *
 * An incident is open while some series in it is anomalous, and for
 * hold windows after the last one recovered; then it is over, and a new
 * problem, connected or not, opens a new incident.  Incidents are named
 * by handles that stay valid (and say "over") after the incident ends.
 *
 * Memory: at most max_open incidents at a time, each remembering at most
 * SRE_INCIDENT_MAX_SERVICES services.  Beyond max_open, a new group joins
 * the incident opened last instead (and the caller is told).
 */
#ifndef SRE_INCIDENT_H
#define SRE_INCIDENT_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"

#define SRE_INCIDENT_MAX_SERVICES 64
#define SRE_INCIDENT_NONE 0	/* the null handle */
#define SRE_INCIDENT_NOSVC UINT32_MAX

/* Handle: slot in the low 16 bits, a generation above. */
typedef uint64_t sre_incident_t;

struct sre_incidents;

/* Whether services a and b are connected (a == b is asked too). */
typedef int (*sre_incident_connected_fn)(void *arg, uint32_t a, uint32_t b);

/* One raised series, in a batch given to sre_incidents_assign. */
struct sre_incident_req {
	uint32_t svc;		/* the series' service */
	uint32_t svc2;		/* a second one (an edge's caller) or NOSVC */
	sre_incident_t prev;	/* the incident it last belonged to, or NONE */
	/* Filled in: */
	sre_incident_t inc;	/* the incident it joins */
	int opened;		/* it opened that incident */
};

/* A new store: hold windows of calm before an incident is over,
 * max_open incidents at a time (>= 1).  NULL when out of memory. */
struct sre_incidents *sre_incidents_new(unsigned hold, unsigned max_open);
void sre_incidents_free(struct sre_incidents *is);

/*
 * Assign the n series raised in one window (see the rules above).
 * now_ms is the window's end (event time); ids of new incidents come from
 * sre_id_new().  Returns the number of incidents opened, or -1 if one
 * could not be (max_open: those series joined the newest incident).
 */
int sre_incidents_assign(struct sre_incidents *is,
    struct sre_incident_req *req, size_t n, int64_t now_ms,
    sre_incident_connected_fn connected, void *arg);

/*
 * Non-zero when a series of service svc (and svc2, or NOSVC) would join
 * an open incident by rule 3: one holds a connected service.
 */
int sre_incidents_connects(const struct sre_incidents *is, uint32_t svc,
    uint32_t svc2, sre_incident_connected_fn connected, void *arg);

/* A series of incident h recovered (or was dropped).  Stale h: no-op. */
void sre_incidents_release(struct sre_incidents *is, sre_incident_t h);

/*
 * The end of a window: an incident with no anomalous series counts one
 * calm window more; after hold of them it is over.  Returns how many
 * incidents ended.
 */
int sre_incidents_window(struct sre_incidents *is, int64_t now_ms);

/* The incident's id (a ULID), or NULL when h is stale.  Borrowed. */
const char *sre_incidents_id(const struct sre_incidents *is,
    sre_incident_t h);

/* Non-zero while incident h is open. */
int sre_incidents_open(const struct sre_incidents *is, sre_incident_t h);

/* Series of incident h anomalous now (0 when stale). */
unsigned sre_incidents_active(const struct sre_incidents *is,
    sre_incident_t h);

/* Incidents ever opened, and open now. */
uint64_t sre_incidents_total(const struct sre_incidents *is);
unsigned sre_incidents_count(const struct sre_incidents *is);

#endif
