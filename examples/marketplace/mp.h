/*
 * mp.h: internals of sre-marketplace, the synthetic insurance marketplace
 * traffic generator.  One header for the few files of the example:
 *
 *   util.c         PRNG (xoshiro256**), growable buffers, JSON writers,
 *                  duration and time parsing
 *   topo.c         the service catalog, the topology drawn from a seed,
 *                  --list-services, the truth file, the GitOps template
 *   gen.c          traces (and logs, metrics) for one request, batching
 *                  into OTLP/JSON lines
 *   live.c         the control file and the GitOps repository re-read in
 *                  --live mode
 *   marketplace.c  options and the main loop
 *
 * Nothing here is part of libsre: the generator is test-data tooling and
 * stands alone (it links libm only).
 */
#ifndef MP_H
#define MP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define MP_MAX_SVC    32
#define MP_MAX_OPS    64
#define MP_MAX_CALLS  10
#define MP_MAX_FAULTS 32
#define MP_NSLOT      2   /* resource variants per service: 0 current, 1 new release */
#define MP_NEPOCH     64  /* live: batches waiting for their traces to end */

#define NS_PER_MS INT64_C(1000000)
#define NS_PER_S  INT64_C(1000000000)

/* ---- util.c ---------------------------------------------------------- */

/* xoshiro256** seeded through splitmix64: fast, small, good enough. */
struct mp_rng {
	uint64_t s[4];
};

void mp_rng_seed(struct mp_rng *r, uint64_t seed, uint64_t stream);

static inline uint64_t
mp_rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static inline uint64_t
mp_rng_next(struct mp_rng *r)
{
	uint64_t *s = r->s;
	uint64_t res = mp_rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = mp_rotl(s[3], 45);
	return res;
}

/* Uniform in [0, 1). */
static inline double
mp_rng_unit(struct mp_rng *r)
{
	return (double)(mp_rng_next(r) >> 11) * 0x1.0p-53;
}

/* Uniform integer in [0, n); n > 0. */
static inline uint32_t
mp_rng_below(struct mp_rng *r, uint32_t n)
{
	return (uint32_t)(((mp_rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

double mp_rng_normal(struct mp_rng *r);
/* Log-normal with the given median and shape sigma. */
double mp_rng_lognormal(struct mp_rng *r, double median, double sigma);
double mp_rng_exp(struct mp_rng *r, double mean);

/*
 * A growable byte buffer.  mp_buf_reserve() aborts the program on
 * allocation failure (the generator has nothing sensible to fall back to).
 */
struct mp_buf {
	char *p;
	size_t len, cap;
};

void mp_buf_reserve(struct mp_buf *b, size_t more);
void mp_buf_free(struct mp_buf *b);

static inline void
mp_buf_put(struct mp_buf *b, const char *s, size_t n)
{
	if (b->cap - b->len < n)
		mp_buf_reserve(b, n);
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static inline void
mp_buf_putc(struct mp_buf *b, char c)
{
	if (b->cap == b->len)
		mp_buf_reserve(b, 1);
	b->p[b->len++] = c;
}

static inline void
mp_buf_puts(struct mp_buf *b, const char *s)
{
	mp_buf_put(b, s, strlen(s));
}

/* Append a string literal without strlen(). */
#define MP_LIT(b, s) mp_buf_put((b), "" s, sizeof(s) - 1)

void mp_buf_u64(struct mp_buf *b, uint64_t v);
void mp_buf_i64(struct mp_buf *b, int64_t v);
/* A double with up to `prec` decimals, trailing zeros kept short. */
void mp_buf_dbl(struct mp_buf *b, double v, int prec);
/* Lowercase hex of n bytes. */
void mp_buf_hex(struct mp_buf *b, const uint8_t *p, size_t n);
/* 16 hex digits of a span id. */
void mp_buf_hex64(struct mp_buf *b, uint64_t v);
/* A JSON string, quotes included, escaped as needed. */
void mp_buf_jstr(struct mp_buf *b, const char *s);
void mp_buf_printf(struct mp_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* OTLP attribute helpers: `first` is false when a comma must precede. */
void mp_attr_str(struct mp_buf *b, bool first, const char *key, const char *val);
void mp_attr_int(struct mp_buf *b, bool first, const char *key, int64_t val);

/*
 * "90", "90s", "1500ms", "10m", "1h" to nanoseconds; bare numbers are
 * seconds.  Returns -1 on a malformed or negative value.
 */
int64_t mp_parse_duration(const char *s);
/*
 * A fault time: an offset with a unit ("20m", "90s") or a bare number of
 * seconds from `start_ns`; a bare number >= 1e11 is absolute epoch ms.
 * Returns -1 on error.
 */
int64_t mp_parse_when(const char *s, int64_t start_ns);
/* Strict number parsers: 0 on success, -1 on junk or range errors. */
int mp_parse_u64(const char *s, uint64_t *out);
int mp_parse_dbl(const char *s, double *out);

/* ---- topo.c ---------------------------------------------------------- */

enum mp_layer { L_EDGE, L_API, L_DOMAIN, L_DATA };
enum mp_ds { DS_NONE, DS_POSTGRES, DS_REDIS, DS_KAFKA };
enum mp_lang { LANG_JAVA, LANG_GO, LANG_PY, LANG_NODE, LANG_ENVOY, LANG_NATIVE };

/* What an operation's INFO chatter talks about. */
enum mp_topic {
	T_NONE, T_ACCESS, T_QUOTE, T_POLICY, T_CLAIM, T_PAYMENT, T_PRICE,
	T_SCORE, T_OFFER, T_NOTIFY, T_DOC, T_CUSTOMER, T_KYC, T_RULES,
	T_UNDERWRITE, T_DASH
};

struct mp_svc_def {
	const char *name;
	int layer;
	int ds;
	int lang;
	float weight;     /* chance of being picked among the optional services */
	float jitter;     /* 0..1: how naturally heavy-tailed (decoy candidates) */
	int mem_mb;       /* typical resident memory */
	int cpu_m;        /* CPU request, millicores */
};

struct mp_call_def {
	const char *to;   /* operation key */
	float p;          /* probability the call happens */
	uint8_t group;    /* 0 sequential; calls with the same nonzero group run in parallel */
	uint8_t critical; /* a failure fails the caller */
};

struct mp_op_def {
	const char *key;        /* catalog key, e.g. "quote.create" */
	const char *exec[4];    /* services that may serve it, first present wins */
	const char *method;     /* HTTP method, or the db operation (SELECT, GET, publish) */
	const char *route;      /* HTTP route, or db collection / topic */
	const char *stmt;       /* db.query.text, or NULL */
	const char *fn;         /* in-process name when caller and callee coincide */
	float median_ms;        /* self time */
	float sigma;
	float weight;           /* edge routes only: share of traffic */
	int topic;
	const char *ext_host;   /* an uninstrumented external dependency */
	float ext_ms;
	struct mp_call_def calls[MP_MAX_CALLS];
};

struct mp_svc {
	const struct mp_svc_def *def;
	const char *name;
	int layer, ds;
	char version[24];      /* deployed version (image tag) */
	char version_new[24];  /* resource slot 1: a release being rolled out */
	char image_repo[64];
	int replicas, pool_size, pool_timeout_ms;
	int replicas0, pool_size0; /* the topology's own values */
	char restarted_at[40]; /* live: the restartedAt annotation read last */
	int64_t restart_ns;    /* live: when it last changed (a rollout), 0 never */
	bool decoy;
	double sigma_mult;
	double net_ms;         /* median one-way network latency into it */
	int ncallee;
	int callee[MP_MAX_SVC];
	bool has_callers;

	/* per batch (epoch): span and log JSON, per resource slot */
	struct mp_buf spans[MP_NEPOCH][MP_NSLOT], logs[MP_NEPOCH][MP_NSLOT];
	uint32_t nspans[MP_NEPOCH][MP_NSLOT], nlogs[MP_NEPOCH][MP_NSLOT];
	struct mp_buf res[MP_NSLOT]; /* resource JSON */

	/* metrics */
	uint64_t req_total, err_total;
	uint64_t win_req, win_err;
	double win_busy_ms;    /* self time */
	double win_dur_ms;     /* server span time: active requests by Little's law */
	double win_pool_over;  /* pool demand / size, max seen */
	double win_rho;
	double mem_mb;
	double extra_cpu;      /* fault-driven CPU share in this window */
};

struct mp_op {
	const struct mp_op_def *def;
	int svc;
	char name[64];         /* span name on the serving side */
	double median_ms, sigma;
	int ncall;
	struct {
		int op;
		float p;
		uint8_t group, critical;
	} call[MP_MAX_CALLS];
};

struct mp_topo {
	uint64_t seed;
	int nsvc;
	struct mp_svc svc[MP_MAX_SVC];
	int nop;
	struct mp_op op[MP_MAX_OPS];
	int nroute;
	int route[MP_MAX_OPS];
	double route_cum[MP_MAX_OPS];
	int nedge;
	struct {
		int from, to;
	} edge[MP_MAX_SVC * MP_MAX_SVC];
};

/* Build the topology for (seed, n); n in 8..20. */
void mp_topo_build(struct mp_topo *t, uint64_t seed, int n);
int mp_topo_find(const struct mp_topo *t, const char *name);
/* An operation of service `svc` by span name or catalog key; -1 if none. */
int mp_topo_find_op(const struct mp_topo *t, int svc, const char *name);
/* Pick n decoys among the naturally jittery services (seeded). */
int mp_topo_pick_decoys(struct mp_topo *t, int n);
void mp_topo_list(const struct mp_topo *t, FILE *fp);
/* Render the resource JSON of a service's slots (after a version change). */
void mp_topo_resource(struct mp_topo *t, int svc);
/* The instrumentation scope: `NAME","version":"VERSION` (to sit in quotes). */
const char *mp_topo_scope(const struct mp_svc *s);
const char *mp_topo_log_scope(const struct mp_svc *s);
const char *mp_layer_name(int layer);
/* Write services/<svc>/{deployment.yaml,config.env}; 0 or -1 (errno set). */
int mp_topo_write_gitops(const struct mp_topo *t, const char *dir);

/* ---- faults ------------------------------------------------------------ */

enum mp_fkind {
	F_NONE, F_LATENCY, F_ERROR, F_BOTH, F_NETWORK, F_CPU, F_RELEASE,
	F_SATURATION, F_POOL, F_LEAK, F_STUCK
};
#define F_LAST F_STUCK

struct mp_fault {
	int kind;
	int svc;               /* culprit */
	int op;                /* -1: every operation */
	int64_t start_ns, end_ns;
	double intensity;      /* 1 = the default strength */
	char from_version[24], to_version[24];
	/* live mode */
	bool live;             /* from the control file */
	bool cleared;          /* no longer in the control file (history) */
	char bad_tag[24];      /* release: errors while this tag is deployed */
	double load0;          /* saturation: load at injection */
	int replicas0;         /* saturation: replicas at injection */
	double pool_needed;    /* pool: connections demanded */
	bool announced;        /* release: the start log line is out */
	bool biting;           /* live: the desired state lets it act */
	int64_t bite_ns, heal_ns; /* live: when it last began / stopped acting, 0 never */
};

const char *mp_fault_name(int kind);
int mp_fault_kind(const char *s); /* -1 if unknown */

/* ---- gen.c ------------------------------------------------------------- */

struct mp_gen {
	struct mp_topo *t;
	struct mp_rng rng;     /* traces */
	struct mp_rng lrng;    /* logs and metrics: traces stay the same with or without them */
	struct mp_rng brng;    /* batch sizes */

	struct mp_fault fault[MP_MAX_FAULTS];
	int nfault;

	double base_error_rate;
	bool logs, metrics, live, gitops;
	int64_t start_ns, end_ns;  /* end_ns INT64_MAX: no end */
	double rate, ramp;
	double load;           /* live multiplier (control file load=) */
	int64_t ramp_span_ns;

	FILE *out;
	struct mp_buf line;    /* pending output */

	/*
	 * Batches.  Batch mode fills epoch 0 and writes it when big enough.
	 * Live mode starts a new epoch every second (or when one is big enough)
	 * and writes an epoch once all its traces have ended: spans never
	 * come from the future.
	 */
	int ep;                /* the epoch being filled */
	struct mp_epoch {
		uint32_t traces, nlogs;
		int64_t t0, max_end, closed_ns;
		bool pending;
	} epo[MP_NEPOCH];
	size_t batch_bytes, batch_target;

	int64_t metrics_next_ns;
	int64_t metrics_t0;

	/* counters for the report */
	uint64_t ntraces, nspans, nlogs, nmetric_lines, nlines, nbytes;
	bool write_error;
};

void mp_gen_init(struct mp_gen *g, struct mp_topo *t, uint64_t seed);
/* Request rate (per second) at event time `t`. */
double mp_gen_rate_at(const struct mp_gen *g, int64_t t);
/* Generate one request entering at `t0`. */
void mp_gen_trace(struct mp_gen *g, int64_t t0);
/* True when the batch should go out now. */
bool mp_gen_batch_full(const struct mp_gen *g, int64_t now_event);
/* Emit the current batch (traces line, then logs line) into g->line. */
void mp_gen_flush_batch(struct mp_gen *g);
/* Emit every batch, oldest first. */
void mp_gen_flush_all(struct mp_gen *g);
/* Live: close the current epoch and start the next. */
void mp_gen_live_rotate(struct mp_gen *g, int64_t now);
/* Live: emit closed epochs whose traces have all ended; true if any. */
bool mp_gen_live_flush_done(struct mp_gen *g, int64_t now);
/* Emit a metrics line for the window ending at `t`. */
void mp_gen_metrics(struct mp_gen *g, int64_t t);
/* Write g->line out; `force` writes even small amounts. */
void mp_gen_drain(struct mp_gen *g, bool force);
/* A one-off log record (e.g. release start), outside any trace. */
void mp_gen_log_event(struct mp_gen *g, int svc, int slot, int64_t t, int sev,
    const char *msg);
/* Live: does fault f act at time t, given the current desired state? */
bool mp_gen_fault_bites(const struct mp_gen *g, const struct mp_fault *f, int64_t t);
/* Live: note faults that began or stopped acting; true if any changed. */
bool mp_gen_track_faults(struct mp_gen *g, int64_t now);
/* The truth file. */
int mp_gen_write_truth(const struct mp_gen *g, const char *path);

/* ---- live.c ------------------------------------------------------------ */

/* What a file looked like when last read: re-read when it differs. */
struct mp_fstat {
	int64_t mtime_ns;
	int64_t size;
	uint64_t ino;
	bool exists;
};

struct mp_live {
	const char *control;
	const char *gitops;
	struct mp_fstat control_st, svc_st[MP_MAX_SVC][2];
	bool control_seen;
	char bad_tag[24];      /* global release_bad_tag */
	double intensity;      /* global default */
};

int64_t mp_now_ns(void);
/* Sleep until realtime `t` or a signal; returns early on EINTR. */
void mp_sleep_until(int64_t t);
/*
 * Re-read the GitOps repository if anything changed: versions (image
 * tags), replicas, DB_POOL_SIZE.  Returns 1 if something changed, 0 if not,
 * -1 if the directory is unreadable (message in errbuf).
 */
int mp_live_gitops(struct mp_live *l, struct mp_gen *g, bool force, char *errbuf,
    size_t errlen);
/* Re-read the control file if its mtime changed; 1 changed, 0 not. */
int mp_live_control(struct mp_live *l, struct mp_gen *g, int64_t now, FILE *diag);

#endif
