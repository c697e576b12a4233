/* incident.c: grouping raised series into incidents (see incident.h). */
#include <stdlib.h>
#include <string.h>

#include "incident.h"

struct inc {
	uint64_t gen;		/* bumped when the incident ends */
	uint64_t seq;		/* opening order: lower is older */
	int open;
	unsigned active;	/* series anomalous now */
	unsigned calm;		/* windows since the last one recovered */
	int64_t opened_ms;
	uint32_t nsvc;
	uint32_t svc[SRE_INCIDENT_MAX_SERVICES];
	char id[SRE_ID_LEN + 1];
};

struct sre_incidents {
	unsigned hold, max_open, count;
	uint64_t seq, total;
	struct inc *slot;
};

#define SLOT_BITS 16

static sre_incident_t
handle(const struct sre_incidents *is, size_t i)
{
	return (is->slot[i].gen << SLOT_BITS) | (i + 1);
}

static struct inc *
lookup(const struct sre_incidents *is, sre_incident_t h)
{
	size_t i = (size_t)(h & ((1u << SLOT_BITS) - 1));
	struct inc *c;

	if (i == 0 || i > is->max_open)
		return NULL;
	c = &is->slot[i - 1];
	if (!c->open || c->gen != h >> SLOT_BITS)
		return NULL;
	return c;
}

struct sre_incidents *
sre_incidents_new(unsigned hold, unsigned max_open)
{
	struct sre_incidents *is;

	if (max_open < 1)
		max_open = 1;
	if (max_open > (1u << SLOT_BITS) - 1)
		max_open = (1u << SLOT_BITS) - 1;
	if ((is = calloc(1, sizeof(*is))) == NULL)
		return NULL;
	if ((is->slot = calloc(max_open, sizeof(*is->slot))) == NULL) {
		free(is);
		return NULL;
	}
	is->hold = hold;
	is->max_open = max_open;
	return is;
}

void
sre_incidents_free(struct sre_incidents *is)
{
	if (is == NULL)
		return;
	free(is->slot);
	free(is);
}

static int
conn(uint32_t a, uint32_t b, sre_incident_connected_fn fn, void *arg)
{
	if (a == SRE_INCIDENT_NOSVC || b == SRE_INCIDENT_NOSVC)
		return 0;
	return a == b || (fn != NULL && fn(arg, a, b));
}

static int
req_conn(const struct sre_incident_req *x, const struct sre_incident_req *y,
    sre_incident_connected_fn fn, void *arg)
{
	return conn(x->svc, y->svc, fn, arg) || conn(x->svc, y->svc2, fn, arg) ||
	    conn(x->svc2, y->svc, fn, arg) || conn(x->svc2, y->svc2, fn, arg);
}

static int
inc_conn(const struct inc *c, const struct sre_incident_req *r,
    sre_incident_connected_fn fn, void *arg)
{
	uint32_t i;

	for (i = 0; i < c->nsvc; i++)
		if (conn(c->svc[i], r->svc, fn, arg) ||
		    conn(c->svc[i], r->svc2, fn, arg))
			return 1;
	return 0;
}

static void
add_svc(struct inc *c, uint32_t s)
{
	uint32_t i;

	if (s == SRE_INCIDENT_NOSVC)
		return;
	for (i = 0; i < c->nsvc; i++)
		if (c->svc[i] == s)
			return;
	if (c->nsvc < SRE_INCIDENT_MAX_SERVICES)
		c->svc[c->nsvc++] = s;
}

static size_t
find(size_t *up, size_t i)
{
	while (up[i] != i)
		i = up[i] = up[up[i]];
	return i;
}

int
sre_incidents_assign(struct sre_incidents *is, struct sre_incident_req *req,
    size_t n, int64_t now_ms, sre_incident_connected_fn connected, void *arg)
{
	size_t *up, i, j, r;
	struct inc *best, *c;
	size_t k, newest;
	int opened = 0, full = 0;

	if (n == 0)
		return 0;
	if ((up = malloc(n * sizeof(*up))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		up[i] = i;
		req[i].inc = SRE_INCIDENT_NONE;
		req[i].opened = 0;
	}
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if (find(up, i) != find(up, j) &&
			    req_conn(&req[i], &req[j], connected, arg))
				up[find(up, j)] = find(up, i);
	for (i = 0; i < n; i++) {
		r = find(up, i);
		if (r != i)
			continue;
		/* The oldest incident the group belongs or connects to. */
		best = NULL;
		for (j = 0; j < n; j++) {
			if (find(up, j) != r)
				continue;
			c = lookup(is, req[j].prev);
			if (c != NULL && (best == NULL || c->seq < best->seq))
				best = c;
		}
		if (best == NULL)
			for (k = 0; k < is->max_open; k++) {
				c = &is->slot[k];
				if (!c->open || (best != NULL &&
				    c->seq > best->seq))
					continue;
				for (j = 0; j < n; j++)
					if (find(up, j) == r &&
					    inc_conn(c, &req[j], connected, arg)) {
						best = c;
						break;
					}
			}
		if (best == NULL) {
			for (k = 0; k < is->max_open; k++)
				if (!is->slot[k].open)
					break;
			if (k < is->max_open) {
				best = &is->slot[k];
				best->open = 1;
				best->seq = ++is->seq;
				best->active = best->calm = 0;
				best->nsvc = 0;
				best->opened_ms = now_ms;
				sre_id_new(best->id);
				is->count++;
				is->total++;
				opened++;
				for (j = 0; j < n; j++)
					if (find(up, j) == r) {
						req[j].opened = 1;
						break;
					}
			} else {
				/* Full: the newest incident takes them. */
				full = 1;
				newest = 0;
				for (k = 1; k < is->max_open; k++)
					if (is->slot[k].seq >
					    is->slot[newest].seq)
						newest = k;
				best = &is->slot[newest];
			}
		}
		for (j = 0; j < n; j++) {
			if (find(up, j) != r)
				continue;
			req[j].inc = handle(is, (size_t)(best - is->slot));
			best->active++;
			best->calm = 0;
			add_svc(best, req[j].svc);
			add_svc(best, req[j].svc2);
		}
	}
	free(up);
	return full ? -1 : opened;
}

int
sre_incidents_connects(const struct sre_incidents *is, uint32_t svc,
    uint32_t svc2, sre_incident_connected_fn connected, void *arg)
{
	struct sre_incident_req r;
	size_t k;

	memset(&r, 0, sizeof(r));
	r.svc = svc;
	r.svc2 = svc2;
	for (k = 0; k < is->max_open; k++)
		if (is->slot[k].open &&
		    inc_conn(&is->slot[k], &r, connected, arg))
			return 1;
	return 0;
}

void
sre_incidents_release(struct sre_incidents *is, sre_incident_t h)
{
	struct inc *c = lookup(is, h);

	if (c != NULL && c->active > 0)
		c->active--;
}

int
sre_incidents_window(struct sre_incidents *is, int64_t now_ms)
{
	size_t k;
	int ended = 0;
	struct inc *c;

	(void)now_ms;
	for (k = 0; k < is->max_open; k++) {
		c = &is->slot[k];
		if (!c->open || c->active > 0)
			continue;
		if (++c->calm >= is->hold) {
			c->open = 0;
			c->gen++;
			is->count--;
			ended++;
		}
	}
	return ended;
}

const char *
sre_incidents_id(const struct sre_incidents *is, sre_incident_t h)
{
	const struct inc *c = lookup(is, h);

	return c != NULL ? c->id : NULL;
}

int
sre_incidents_open(const struct sre_incidents *is, sre_incident_t h)
{
	return lookup(is, h) != NULL;
}

unsigned
sre_incidents_active(const struct sre_incidents *is, sre_incident_t h)
{
	const struct inc *c = lookup(is, h);

	return c != NULL ? c->active : 0;
}

uint64_t
sre_incidents_total(const struct sre_incidents *is)
{
	return is->total;
}

unsigned
sre_incidents_count(const struct sre_incidents *is)
{
	return is->count;
}
