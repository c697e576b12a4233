/*
 * govern.h: the runtime governor's state, its hysteresis, and what it
 * measures.
 *
 * sre-govern publishes <state-dir>/governor.json (write to a temporary
 * file, then rename: readers never see half a file):
 *
 *	{"mode":"normal","usage_bytes":..,"threshold_bytes":..,"low_bytes":..,
 *	 "since_ms":..,"updated_ms":..,"llm_concurrency":1,
 *	 "loop_interval_s":60,"sample_rate":1.0,"cpu_seconds":..,"pid":..}
 *
 * Every other tool polls it with struct sre_gov_watch, which re-reads
 * the file only when its mtime (or size) changed: a stat(2) per poll.
 */
#ifndef SRE_GOVERN_H
#define SRE_GOVERN_H

#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define SRE_GOV_FILE "governor.json"

struct sre_gov_state {
	int degraded;		/* mode: 0 normal, 1 degraded */
	int64_t usage_bytes;	/* memory in use by what is governed */
	int64_t threshold_bytes;	/* 0: no threshold (never degraded) */
	int64_t low_bytes;	/* back to normal below this */
	int64_t since_ms;	/* when the current mode began */
	int64_t updated_ms;	/* when this state was written */
	int llm_concurrency;	/* 0: no cap */
	int loop_interval_s;
	double sample_rate;	/* 0 < rate <= 1 */
	double cpu_seconds;	/* CPU used by what is governed */
};

/* The profile's knobs for a mode.  cloud: ENV=cloud; concurrency from
 * MAX_LLM_CONCURRENCY when set (max_llm > 0). */
void sre_gov_knobs(struct sre_gov_state *st, int cloud, int max_llm);

/*
 * Write st atomically as <dir>/governor.json.  Returns 0, or -1 with a
 * message in err (errno kept).
 */
int sre_gov_write(const char *dir, const struct sre_gov_state *st,
    char *err, size_t errlen);

/*
 * Parse a governor.json text into st.  Missing members keep st's values;
 * a wrong kind is an error.  Returns 0 or -1 with a message in err.
 */
int sre_gov_parse(const char *text, size_t len, struct sre_gov_state *st,
    char *err, size_t errlen);

/* A cheap poller of a governor.json. */
struct sre_gov_watch {
	char path[4096];
	struct timespec mtime;
	off_t size;
	int seen;		/* a state has been read */
	int missing;		/* the file was absent at the last poll */
};

/* Watch <dir>/governor.json.  Returns 0, -1 if the path is too long. */
int sre_gov_watch_init(struct sre_gov_watch *w, const char *dir);

/*
 * Poll: 1 when the file changed and st holds the new state, 0 when
 * nothing changed (st untouched), -1 when it is missing or unreadable or
 * malformed (st untouched; err says why, or is empty when simply absent).
 */
int sre_gov_poll(struct sre_gov_watch *w, struct sre_gov_state *st,
    char *err, size_t errlen);

/* The hysteresis: degraded after usage stays above the threshold for
 * hold_ms; normal after it stays below low for recover_ms. */
struct sre_gov_fsm {
	int64_t threshold, low;	/* bytes; threshold 0 disables */
	int64_t hold_ms, recover_ms;
	int degraded;
	int64_t since_ms;	/* start of the current mode */
	int64_t above_ms;	/* first sample above (-1 none) */
	int64_t below_ms;	/* first sample below low (-1 none) */
};

void sre_gov_fsm_init(struct sre_gov_fsm *f, int64_t threshold, int64_t low,
    int64_t hold_ms, int64_t recover_ms, int64_t now_ms);

/* Feed one sample.  Returns 1 when the mode changed, else 0. */
int sre_gov_fsm_step(struct sre_gov_fsm *f, int64_t usage, int64_t now_ms);

/*
 * Measurements.  Each returns bytes (or seconds) >= 0, or -1 when the
 * process or file is gone.  sre_mem_pid prefers PSS from smaps_rollup
 * (shared pages counted once across a tree) and falls back to RSS.
 */
int64_t sre_mem_pid(pid_t pid);
double sre_cpu_pid(pid_t pid);
/* The process and all its descendants (scans /proc once). */
int64_t sre_mem_tree(pid_t root, double *cpu_seconds);
/* A cgroup v2 directory: memory.current, and cpu.stat usage_usec. */
int64_t sre_mem_cgroup(const char *dir, double *cpu_seconds);
/* memory.max of a cgroup v2 directory; 0 for "max" or when absent. */
int64_t sre_mem_cgroup_max(const char *dir);
/* This process's own cgroup v2 directory into buf; -1 if none. */
int sre_cgroup_self(char *buf, size_t len);

#endif
