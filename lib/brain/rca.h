/*
 * rca.h: the built-in root-cause reasoner of sre-brain(1): deterministic,
 * no network, no clock.
 *
 *	struct sre_rca_graph *g = sre_rca_graph_new(0, 0);
 *	for each topology event ev:
 *		sre_rca_graph_topology(g, ev, err, sizeof(err));
 *	for each anomaly event ev:
 *		sre_rca_graph_anomaly(g, ev);
 *	...
 *	jv d = sre_rca_diagnose(g, anomalies, &opts);
 *	sre_rca_graph_free(g);
 *
 * The call graph.  A graph of service names learned from topology events
 * (their "edges" and "services") and from the call edges anomalies carry in
 * their evidence.  It is bounded: at most max_services names and max_edges
 * edges; what does not fit is counted (sre_rca_graph_dropped) and left out.
 * Cycles are allowed (A calls B calls A happens); nothing here walks the
 * graph recursively.
 *
 * The method.  For one incident (its anomaly events), every service that
 * is anomalous, is an endpoint of an anomalous call edge, or is named by
 * another service's error messages becomes a candidate.  Each candidate
 * gets an origin score from its own evidence, in the spirit of BARO's
 * robust change scores on a service's own metrics, discounting what its
 * callees explain:
 *
 *   - its own self time rose (the span minus its children): latency or CPU
 *     starvation born here;
 *   - its own errors rose while the calls it makes did not fail (errors
 *     whose messages name a callee, "upstream X failed", are X's);
 *   - a new service.version carries the errors (a bad release);
 *   - call edges into it slowed while its own spans did not (the edge
 *     time: network, a connection pool in front of it, CPU starvation
 *     before its handler runs); a slowed edge is shared between its two
 *     ends by how broadly each end's edges slowed (shares of callers and
 *     of callees, not counts: being called by many earns nothing);
 *   - other services' error messages name it ("waiting for db-policy");
 *   - its metric and log anomalies, weighed more when its traces agree
 *     (a CPU metric that rose with them: the fault is cpu);
 *   - anomalies no larger than their series showed in other incidents or
 *     in earlier episodes (opts.chronic) are chronic symptoms: not
 *     counted.
 *
 * Then a personalized PageRank over the anomaly subgraph, as MicroRCA
 * does: the walk starts at candidates in proportion to their origin
 * scores, moves from a caller to the callees whose anomalies explain its
 * symptoms (and along blame in messages), stays at a node in proportion
 * to its own origin evidence, and steps back to callers with a small
 * weight so that it cannot be trapped.  The stationary probability ranks
 * the candidates; each rank's `reason` says which evidence put it there.
 *
 * Confidence is a logistic function of the winner's share of the
 * probability, its lead over the runner-up and the strength of its own
 * evidence, with coefficients fitted on bench/rca cases (see
 * bench/rca/README): across many cases, diagnoses given 0.9 are right
 * about 90% of the time.
 *
 * The proposal comes from the remediation catalog of sre-events(7) by
 * evidence: a bad release -> rollback (to the old version); a connection
 * pool -> config DB_POOL_SIZE; latency that grows with throughput, or a
 * datastore's own latency -> scale; CPU starvation, own errors, network ->
 * restart; a known successful fix for the fingerprint (opts.known_fix) is
 * reused; weak evidence -> observe.  Every proposal is judged by the
 * catalog (catalog.h) before it leaves; one it refuses becomes observe.
 *
 * jv ownership is libjq's; the functions here borrow their jv arguments
 * (they say so) and return new values.  Everything read from events is
 * untrusted: wrong kinds, missing members, absurd numbers are tolerated.
 */
#ifndef SRE_RCA_H
#define SRE_RCA_H

#include <stddef.h>
#include <stdint.h>

#include <jv.h>

#define SRE_RCA_MAX_SERVICES	100000	/* default graph bounds */
#define SRE_RCA_MAX_EDGES	1000000
#define SRE_RCA_MAX_CANDIDATES	4096	/* per diagnosis */
#define SRE_RCA_NAME_MAX	256	/* longer service names are refused */

struct sre_rca_graph;

/* A new empty graph; 0 for either bound means the default.  NULL when
 * out of memory. */
struct sre_rca_graph *sre_rca_graph_new(size_t max_services,
    size_t max_edges);

/* Free; accepts NULL. */
void sre_rca_graph_free(struct sre_rca_graph *g);

/*
 * Learn from a topology event (borrowed): its "services" and "edges".
 * Returns the number of edges taken, or -1 with a message in err when ev
 * has no "edges" array.  Malformed edges (no from/to strings, a name too
 * long) are skipped and counted in *skipped (may be NULL).
 */
long sre_rca_graph_topology(struct sre_rca_graph *g, jv ev, size_t *skipped,
    char *err, size_t errlen);

/* Learn the call edges in an anomaly's evidence (borrowed).  Returns the
 * number of edges taken. */
long sre_rca_graph_anomaly(struct sre_rca_graph *g, jv ev);

/* Sizes, and what did not fit under the bounds. */
size_t sre_rca_graph_services(const struct sre_rca_graph *g);
size_t sre_rca_graph_edges(const struct sre_rca_graph *g);
size_t sre_rca_graph_dropped(const struct sre_rca_graph *g);

/* Non-zero when the graph knows this service. */
int sre_rca_graph_has(const struct sre_rca_graph *g, const char *service);

struct sre_rca_opts {
	int top;		/* root causes to return; 0: 5 */
	double damping;		/* PageRank damping; 0: 0.85 */
	int iterations;		/* at most; 0: 100 */
	/*
	 * A known successful fix for this incident's fingerprint from
	 * memory (borrowed): a CAG entry {"proposal", "successes",
	 * "failures", "incidents"} or jv_null().  Reused when its target is
	 * among the candidates.
	 */
	jv known_fix;
	/* Proposals that already failed for this incident (borrowed: an
	 * array of proposal objects, or jv_null()): never proposed again. */
	jv failed;
	/*
	 * Recurring anomalies (borrowed: an object fingerprint -> the
	 * largest deviation, sre_rca_deviation(), its series showed in its
	 * other occurrences: other incidents, or earlier episodes of this
	 * one between recoveries; or jv_null()).  An anomaly of this
	 * incident no larger than 1.5 times that is a chronic symptom, not
	 * this incident's origin: its service stays a candidate, neither
	 * its own evidence nor the call edges it saw count (a note says how
	 * many).
	 */
	jv chronic;
};

/* How far an anomaly event (borrowed) is from its baseline: |ln((observed
 * + 1e-3) / (baseline + 1e-3))|, -1 when either is missing. */
double sre_rca_deviation(jv ev);

/* Defaults for opts (known_fix and failed jv_null()). */
void sre_rca_opts_init(struct sre_rca_opts *o);

/*
 * Diagnose one incident from its anomaly events (borrowed: an array of
 * event objects; entries that are not anomalies with a service are
 * skipped) over graph g (may be NULL).  Returns an object:
 *
 *	"root_causes"	[{"service", "operation" (or null), "score" (0..1,
 *			  the share of the walk's probability), "reason",
 *			  "kind"}] best first, at most opts.top
 *	"confidence"	0..1, calibrated
 *	"summary"	one paragraph
 *	"proposal"	{"action", "target", "params"}
 *	"fingerprint"	of the top root cause's strongest anomaly (or the
 *			incident's first), null when none
 *	"kind"		what kind of fault the evidence shows: "latency",
 *			"cpu", "errors", "release", "network", "pool",
 *			"saturation", "symptom" (only propagated effects),
 *			"none"
 *	"notes"		[strings]: what was odd in the input (cycles,
 *			anomalies without a service, truncation)
 *	"features"	{"share", "lead", "origin", "candidates"}: what the
 *			confidence was computed from
 *
 * Never fails on bad data: an incident with no usable anomaly gives an
 * empty root_causes, confidence 0 and an observe proposal with target
 * null.  jv_invalid() only when out of memory.
 */
jv sre_rca_diagnose(const struct sre_rca_graph *g, jv anomalies,
    const struct sre_rca_opts *opts);

/*
 * The calibrated confidence for the features a diagnosis reports: the
 * winner's probability share, its lead over the runner-up (0..1) and its
 * own origin score (0..1).  Exposed for the benchmark and the tests.
 */
double sre_rca_confidence(double share, double lead, double origin);

#endif
