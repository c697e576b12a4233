/*
 * scout-int.h: the engine's state, shared by scout.c (the API),
 * scout-par.c (parser threads), scout-read.c (reading records, windows,
 * tables, spans waiting for their children) and scout-eval.c (judging
 * closed windows, incidents, the events).  Not a public API.
 */
#ifndef SRE_SCOUT_INT_H
#define SRE_SCOUT_INT_H

#include <endian.h>
#include <stdint.h>
#include <string.h>

#include "detect.h"
#include "incident.h"
#include "logmine.h"
#include "scout.h"
#include "sketch.h"
#include "tsad.h"

#define NSLOT	6	/* open windows at most */
#define WM_K	64	/* the stream time is the WM_K-th latest time */
#define GEN_BASE (1u << 20)	/* room to open windows backwards */
#define NEX	5	/* exemplar traces per operation window */
#define NMSG	6	/* error messages remembered per operation */
#define NTPL	8	/* log templates counted per service window */
#define NVER	4	/* service.version values per service */
#define NCLI	3	/* client operations remembered per edge window */
#define MSG_LEN	128	/* bytes of a message kept */
#define EXAMPLE_LEN 96	/* bytes of a log example kept */
#define TID_LEN	16	/* bytes of a trace id (32 hex digits) */
#define VER_LEN	32
#define NONE	UINT32_MAX
#define SKETCH_BINS 256	/* buckets per sketch at most */
#define SKETCH_KEEP 48	/* kept across windows */
#define CARRY_MAX 6	/* windows a sparse series is carried at most */
#define POOL_MAX 3	/* windows a thin series is judged over at most */

enum { SIG_LAT, SIG_FAIL, SIG_TPUT, NSIG_OP };	/* an operation's signals */
enum { LVL_INFO, LVL_WARN, LVL_ERROR };

/* A series' alarm state for one signal. */
struct sig {
	struct sre_hyst h;
	uint8_t emitted;	/* this episode's anomaly went out */
	uint16_t stale;		/* windows without data while anomalous */
	sre_incident_t inc;	/* incident of this (or the last) episode */
};

struct exemplar {
	double score;		/* errors first, then the slowest */
	uint8_t tid[TID_LEN];	/* the trace id, decoded */
};

struct opwin {
	uint64_t gen;		/* the window these counts belong to */
	uint32_t n, err;	/* spans and errors seen (not scaled) */
	double wn, werr;	/* the same scaled by 1 / sampling rate */
	struct sre_sketch total, self;	/* ms */
	uint8_t nex;
	struct exemplar ex[NEX];
};

struct msg {
	uint64_t gen, hash;
	uint32_t count;
	uint16_t len;
	char text[MSG_LEN];
};

struct op {
	uint64_t hash;
	uint32_t svc;
	int live;
	char *name;
	size_t len;
	uint64_t last_gen;	/* last window with data */
	uint32_t windows;	/* windows with data */
	float navg;		/* spans per window, running mean */
	struct opwin w[NSLOT];
	struct sre_baseline b50, b95, bself, berr, btput;
	struct sig sig[NSIG_OP];
	struct msg *msgs;	/* NMSG, allocated at the first error */
	/* A sparse series: windows short of min_samples are carried over
	 * (the sketches merged) until there are enough to judge. */
	struct sre_sketch ctotal, cself;
	uint32_t cn, cerr, cwin;
	double cwn, cwerr;
};

struct edgewin {
	uint64_t gen;
	uint32_t n, err;
	double wn, werr;
	struct sre_sketch client, gap;	/* caller's span; uncovered part */
	uint8_t ncli;
	uint32_t cli[NCLI];	/* client operations (exemplars) */
};

struct edge {
	uint64_t hash;
	uint32_t from, to;	/* services */
	int live;
	uint64_t last_gen;
	struct edgewin w[NSLOT];
	struct sre_baseline bgap, bclient;
	struct sig sig;
};

struct tplcount {
	uint64_t id;
	uint32_t count;
	uint8_t level;
	uint16_t len;
	char example[EXAMPLE_LEN];
};

struct verwin {
	uint8_t v;		/* index into the service's versions */
	uint32_t spans, errors;
};

struct svcwin {
	uint64_t gen;
	uint32_t spans, errors;
	double wspans, werrors;
	uint32_t logs, lerr, lwarn;
	uint8_t ntpl, nver;
	struct tplcount tpl[NTPL];
	struct verwin ver[NVER];
};

struct svc {
	uint64_t hash;
	char *name;
	size_t len;
	int live;
	uint32_t refs;		/* operations, edges, metrics, templates */
	uint64_t last_gen;
	struct svcwin w[NSLOT];
	uint8_t nver;
	uint8_t verlen[NVER];
	char ver[NVER][VER_LEN];
	int64_t ver_first[NVER];
	uint32_t log_windows;	/* windows with logs learnt */
	struct sre_baseline blerr, blwarn;	/* records per second */
	struct sig sig;		/* logs */
};

/*
 * A metric series keeps its own clock and is judged point by point, as
 * its points come (scout.h: "Metric series").
 */
struct metric {
	uint64_t hash;
	uint32_t svc;
	int live;
	char *name;
	char *labels;		/* a JSON object's text */
	struct sre_tsad *d;
	int has_prev, counter;	/* counter: a monotonic sum */
	uint64_t prev_t, prev_count;
	double prev, prev_sum;
	double delta, dt;	/* counter: the last increment, over dt s */
	struct sre_baseline brate;	/* counter: its rate per second */
	int64_t max_ms;		/* its clock: the latest point's time */
	int64_t prev_ms;	/* the point before that */
	double step_ms;		/* its typical spacing, running */
	uint64_t seen;		/* sc->point_seq when it last had a point */
	double a_scale;		/* the spread when it was raised */
	uint32_t quiet;		/* points in a row scored calm while raised */
	struct sig sig;
};

struct tpl {
	uint64_t hash, id;
	uint32_t svc;
	int live;
	double ewma;		/* records per window */
	int64_t first_ms;
	uint64_t last_gen;
	uint32_t windows;
};

/* A span waiting for its children and callee to be counted. */
struct pspan {
	uint64_t tkey, id, parent;
	uint64_t start, end;	/* ns */
	uint64_t gen;
	uint32_t op, svc;
	float w;
	uint8_t kind, err, lat_ok, done;
};

/* What a span's children told about it (one cache line). */
struct child {
	uint64_t key;		/* 0: empty */
	uint64_t base;		/* ns: times below are us after it */
	int32_t lo[3], hi[3];	/* covered intervals */
	int32_t last_end;
	float srv_ms;		/* the longest SERVER/CONSUMER child */
	uint32_t srv_svc1;	/* its service + 1, 0 none */
	uint32_t any_svc1;	/* a child's service + 1 */
	uint8_t nint, srv_err;
};

struct window {
	int64_t start, end;	/* ms */
	uint64_t gen;
	uint64_t records;	/* records placed in it */
};

struct hslot {
	uint64_t hash;
	uint32_t idx;		/* entry + 1, 0 empty */
};

struct hidx {
	struct hslot *s;
	uint32_t mask;
};

struct table {
	struct hidx ix;
	uint32_t n, cap, hand;
};

struct sre_scout {
	struct sre_scout_config cfg;
	struct sre_scout_hooks h;
	struct sre_otlp *rd;
	struct sre_otlp_handler oh;
	struct sre_logmine *lm;
	struct sre_incidents *inc;
	struct sre_tsad_config tcfg;
	struct sre_sketch_pool pool;	/* all sketches' buckets */

	/* Windows: gens oldest..newest are open, at win[gen % NSLOT]. */
	struct window win[NSLOT];
	uint64_t oldest, newest;	/* 0: none open */
	uint64_t gen_seq;	/* the last gen given out */
	int64_t closed_end;	/* end of the last window closed */
	int64_t next_window_ms;
	int64_t first_ms, max_ms;	/* event time: first, latest */
	int64_t stream_ms;	/* the robust stream time (wm_push) */
	int64_t wm[WM_K];
	unsigned wm_n;
	int have_time, jumping;
	int64_t idle_max_ms;	/* max_ms moved on by the wall clock */
	int64_t mono_at_max;	/* wall clock (monotonic ms) then */
	int max_moved;
	int64_t jump_ms;
	uint32_t jump_n;
	int64_t met_max_ms;	/* the latest metric point's time */
	int64_t inc_tick_ms;	/* incidents last aged at (event time) */
	uint64_t point_seq;	/* metric points taken */
	double rate;

	struct op *ops;
	struct edge *edges;
	struct svc *svcs;
	struct metric *mets;
	struct tpl *tpls;
	struct table tops, tedges, tsvcs, tmets, ttpls;

	struct pspan *pend;
	uint32_t pmask, phead, ptail;
	struct child *ctab;	/* grows as needed up to cmax entries */
	uint32_t cmask, cn, cmax;

	/* The resource of the record in hand, cached per line. */
	uint64_t line_serial;
	size_t cres_index;
	uint64_t cres_serial;
	uint32_t csvc;
	uint8_t cver;

	struct par *par;	/* parser threads (scout-par.c), or NULL */
	uint64_t cur_tag;	/* the tag of the line being applied */
	uint64_t topo_gen;	/* window of the last topology event */
	int topo_changed;
	int gone;		/* the output went away */
	uint32_t reports;
	char err[256];
	struct sre_scout_stats st;
};

static inline uint64_t
sre__scout_mix(uint64_t h)
{
	h ^= h >> 32;
	h *= 0xd6e8feb86659fd93ULL;
	h ^= h >> 32;
	h *= 0xd6e8feb86659fd93ULL;
	h ^= h >> 32;
	return h;
}

/* A fast hash of short strings; the same on every host (little-endian
 * loads), so sampling by trace id is the same everywhere. */
static inline uint64_t
sre__scout_hash(const void *p, size_t n, uint64_t seed)
{
	const unsigned char *s = p;
	uint64_t h = seed ^ (n * 0x9e3779b97f4a7c15ULL), v;
	size_t i;

	for (; n >= 8; s += 8, n -= 8) {
		memcpy(&v, s, sizeof(v));
		h = (h ^ le64toh(v)) * 0xbf58476d1ce4e5b9ULL;
		h ^= h >> 29;
	}
	if (n > 0) {
		for (v = 0, i = 0; i < n; i++)
			v |= (uint64_t)s[i] << (8 * i);
		h = (h ^ v) * 0x94d049bb133111ebULL;
	}
	return sre__scout_mix(h);
}

/* A span as the engine needs it (slices borrowed). */
struct span_in {
	struct sre_json_str svc, ver, name, tid, msg;
	uint64_t name_hash;	/* of name, for the operation's key */
	size_t res_index;
	uint64_t tkey, id, parent;	/* hashes of the ids; parent 0: root */
	uint64_t start, end, dur;	/* ns */
	int kind, status, http;
	unsigned quirks;
};

/*
 * The package calls downward only: scout.c (the API) -> scout-par.c ->
 * scout-read.c -> scout-eval.c; each file's functions below are called
 * only by the files above it.
 */

/* The open window gen, or NULL. */
static inline const struct window *
sre__scout_window(const struct sre_scout *sc, uint64_t gen)
{
	if (gen == 0 || sc->oldest == 0 || gen < sc->oldest ||
	    gen > sc->newest)
		return NULL;
	return &sc->win[gen % NSLOT];
}

/* scout-par.c: parser threads (threads 0 or 1: none). */
int sre__par_init(struct sre_scout *sc, unsigned threads);
void sre__par_free(struct sre_scout *sc);
int sre__par_submit(struct sre_scout *sc, const char *line, size_t len,
    uint64_t tag);
int sre__par_drain(struct sre_scout *sc);

/* scout-read.c: the tables made (0, or -1 out of memory) and freed. */
int sre__read_init(struct sre_scout *sc);
void sre__read_free(struct sre_scout *sc);
/* Read a line whole, here (tag: the caller's, for reports). */
int sre__read_line(struct sre_scout *sc, const char *line, size_t len,
    uint64_t tag);
/* Around the records of a line read elsewhere: begin, the records, end
 * (format and err: how the line read, for lines that are not telemetry). */
void sre__read_begin(struct sre_scout *sc, uint64_t tag);
int sre__read_end(struct sre_scout *sc, const char *line, size_t len,
    int format, const char *err);
int sre__read_span(struct sre_scout *sc, const struct span_in *in);
void sre__read_span_in(const struct sre_otlp_span *sp, struct span_in *in);
/* The wall clock moved on with no input: close the windows due. */
int sre__read_idle(struct sre_scout *sc);
/* The stream ended: close every open window. */
int sre__read_finish(struct sre_scout *sc);

/* scout-eval.c: judge window gen (complete: the stream went past its
 * end).  Returns 0, or -1 when the output went away. */
int sre__eval_window(struct sre_scout *sc, uint64_t gen, int complete);
/* Metric series idx was raised (raise = 1) or is back (0) at its point
 * t_ms: silences, incidents, the event.  0, or -1 (output gone). */
int sre__eval_metric(struct sre_scout *sc, uint32_t idx, int raise,
    int64_t t_ms, double observed, double baseline, double score);
/* Age the incidents at event time now_ms (a window, or a metric point
 * when no window is closing). */
void sre__eval_tick(struct sre_scout *sc, int64_t now_ms);
/* A rejected (reject = 1) or tolerated record, to the report hook. */
void sre__eval_report(struct sre_scout *sc, int reject, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));

#endif
