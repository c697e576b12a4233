/*
 * sre-scout: streaming anomaly detection and incident grouping.
 *
 * Reads telemetry (OTLP/JSON traces, metrics and logs, plain metric
 * points, journal entries) from --in, judges it in event-time windows
 * against learned baselines (lib/scout/scout.c), and writes anomaly, recovery
 * and topology events to --out.  Lines that are sre events already are
 * passed on untouched, except control events (diagnosis, verdict, action):
 * telemetry must never carry a decision, so those are reported and dropped
 * unless --relay-events says otherwise.  Anything else that is not
 * telemetry is reported and skipped.  Silences come from a file re-read when it changes; the
 * governor's state file (<state-dir>/governor.json) turns degraded mode
 * on and off: sampling drops and windows lengthen while it lasts.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/stdlib.h>

#include "govern.h"
#include "mac.h"
#include "progress.h"
#include "scout-silence.h"
#include "scout.h"
#include "sre.h"

static struct {
	struct sre_common c;
	struct sre_scout_config cfg;
	const char *silences;
	int silences_given;
	double degraded_sample;
	int64_t degraded_window;
	int sample_given;
	int relay_events;
} opt;

#define NWHERE 64	/* lines in flight at most (lib/scout/scout-par.c: fewer) */

/* What the callbacks share. */
struct ctx {
	struct sre_stream *s;
	char where[NWHERE][256];	/* "line N" of the lines in flight */
	struct sre_scout *sc;
	struct sre_silences *sil;
	struct sre_gov_watch gw;
	int gov;
	int degraded;
	uint64_t reject_line;
	uint64_t polled_windows;
	char silences_path[PATH_MAX];
	char sil_err[1200], gov_err[700];	/* the last complaints */
	struct sre_progress prog;	/* "N lines ... so far" on a terminal */
};

enum {
	OPT_DEGRADED_SAMPLE = SRE_OPT_TOOL, OPT_DEGRADED_WINDOW, OPT_HOLD, OPT_MAX_DURATION,
	OPT_MAX_PENDING, OPT_MAX_SERIES, OPT_METRIC_THRESHOLD, OPT_MIN_SAMPLES,
	OPT_RECOVER, OPT_RELAY_EVENTS, OPT_SILENCES, OPT_THREADS, OPT_TOPOLOGY, OPT_WARMUP
};

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: sre-scout [-hqVv] [--degraded-sample RATE] "
	    "[--degraded-window DURATION]\n"
	    "                 [--hold N] [-i URL] [-l DURATION] "
	    "[--max-duration DURATION]\n"
	    "                 [--max-line N] [--max-pending N] "
	    "[--max-series N]\n"
	    "                 [--metric-threshold SCORE] [--min-samples N] "
	    "[-o URL]\n"
	    "                 [--recover N] [--relay-events] [-s RATE] "
	    "[--silences FILE]\n"
	    "                 [--state-dir DIR] [-t Z] [--threads N] "
	    "[--topology N]\n"
	    "                 [-w DURATION] [--warmup DURATION] [FILE]\n"
	    "  -i, --in URL              read telemetry from URL (default -)\n"
	    "  -o, --out URL             write events to URL (default -)\n"
	    "  -w, --window DURATION     window length (default 10s)\n"
	    "  -l, --lateness DURATION   allowed lateness (default 5s; a metric"
	    "\n"
	    "                            series: or 64 of its spacings)\n"
	    "      --warmup DURATION     spans, logs: raise nothing before "
	    "(default 2m)\n"
	    "  -s, --sample RATE         keep this share of traces (default 1;"
	    " ENV=cloud 0.1)\n"
	    "  -t, --threshold Z         robust z-score to raise (default 4.5)"
	    "\n"
	    "      --metric-threshold S  metric detector score to raise "
	    "(default 0.35)\n"
	    "      --min-samples N       spans per window to judge (default "
	    "10)\n"
	    "      --recover N           calm windows (metric: points) to "
	    "recover (default 2)\n"
	    "      --relay-events        pass on diagnoses, verdicts and "
	    "actions read\n"
	    "                            (default: reported and dropped)\n"
	    "      --hold N              calm windows to end an incident "
	    "(default 3)\n"
	    "      --max-series N        series held at most (default 2000)\n"
	    "      --max-pending N       spans held for self time (default "
	    "32768)\n"
	    "      --max-duration D      longer spans: no latency (default "
	    "1h)\n"
	    "      --silences FILE       silences (default "
	    "<state-dir>/silences.ndjson)\n"
	    "      --topology N          topology every N windows, 0 never "
	    "(default 6)\n"
	    "      --threads N           parser threads (default: processors"
	    " - 1, at most 3)\n"
	    "      --degraded-sample R   sampling when degraded (default 0.1)"
	    "\n"
	    "      --degraded-window D   window when degraded (default 3 "
	    "windows)\n"
	    "      --state-dir DIR       state (default $SRE_STATE_DIR or "
	    ".sre)\n"
	    "      --max-line N          longest line in bytes (default "
	    "16777216)\n"
	    "  -q, --quiet               report errors only\n"
	    "  -v, --verbose             report more\n"
	    "  -h, --help                this help\n"
	    "  -V, --version             print the version\n");
}

/* A count option into a uint32_t field of the configuration. */
static int
count(const char *name, const char *arg, long long min, long long max,
    uint32_t *out)
{
	long long v;

	if (sre_opt_count(name, arg, min, max, &v) < 0)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* ---- callbacks --------------------------------------------------------- */

static int
emit(void *arg, jv ev)
{
	struct ctx *x = arg;

	return sre_stream_emit_jv(x->s, ev) < 0 ? -1 : 0;
}

static const char *
where(struct ctx *x, uint64_t tag)
{
	return x->where[tag % NWHERE];
}

/* Lines are applied after they were read (parser threads): diagnostics
 * name the line the engine gives back, not the reader's. */
static void
reject(struct ctx *x, uint64_t tag, const char *msg)
{
	if (x->reject_line != tag) {
		/* The first rejection of a line counts the line. */
		x->reject_line = tag;
		x->s->rejected++;
	}
	sre_warnx("%s: %s", where(x, tag), msg);
}

static void
report(void *arg, uint64_t tag, int rej, const char *msg)
{
	struct ctx *x = arg;

	if (rej)
		reject(x, tag, msg);
	else
		sre_notice("%s: %s", where(x, tag), msg);
}

/* Not telemetry: events pass on untouched, anything else is refused. */
static void
other(void *arg, uint64_t tag, const char *line, size_t len, int format,
    const char *err)
{
	struct ctx *x = arg;
	char msg[512];
	int checked;
	jv ev;

	if (format == SRE_OTLP_MALFORMED) {
		snprintf(msg, sizeof(msg), "not JSON: %s", err);
		reject(x, tag, msg);
		sre_stream_hint(x->s, where(x, tag), line, len);
		return;
	}
	ev = sre_stream_event(line, len, SRE_STREAM_ANY, msg, sizeof(msg));
	checked = jv_is_valid(ev) && sre_event_check(ev, msg, sizeof(msg)) == 0;
	if (checked && !opt.relay_events &&
	    sre_mac_control(sre_jv_str(ev, "type"))) {
		snprintf(msg, sizeof(msg), "%s in the telemetry: dropped (a "
		    "control event is relayed only with --relay-events)",
		    sre_jv_str(ev, "type"));
		reject(x, tag, msg);
	} else if (checked)
		sre_stream_emit(x->s, line, len);
	else if (jv_is_valid(ev) && sre_jv_str(ev, "type") != NULL) {
		char why[600];

		snprintf(why, sizeof(why), "not a valid event: %s", msg);
		reject(x, tag, why);
	} else
		reject(x, tag, "not telemetry (OTLP/JSON, a metric point, a "
		    "journal entry) nor an event");
	jv_free(ev);
}

static int
silenced(void *arg, const char *service, const char *operation,
    const char *signal, int64_t t_ms)
{
	struct ctx *x = arg;

	return sre_silences_match(x->sil, service, operation, signal, t_ms);
}

/* Warn about a file once per distinct complaint. */
static void
complain(char *last, size_t len, const char *msg)
{
	if (strcmp(last, msg) == 0)
		return;
	snprintf(last, len, "%s", msg);
	if (*msg != '\0')
		sre_warnx("%s", msg);
}

static void
poll_silences(struct ctx *x)
{
	char err[1024], msg[1100];
	int rc;

	rc = sre_silences_poll(x->sil, err, sizeof(err));
	if (rc > 0) {
		sre_info("silences: %zu in force", sre_silences_count(x->sil));
		complain(x->sil_err, sizeof(x->sil_err), "");
	} else if (rc < 0) {
		/* The default file need not exist. */
		if (!opt.silences_given && strstr(err, "No such file") != NULL)
			return;
		snprintf(msg, sizeof(msg), "%s (the silences in force stay)",
		    err);
		complain(x->sil_err, sizeof(x->sil_err), msg);
	}
}

static void
poll_governor(struct ctx *x)
{
	struct sre_gov_state st;
	char err[512], msg[600];
	double rate;
	int rc;

	if (!x->gov)
		return;
	memset(&st, 0, sizeof(st));
	st.sample_rate = 1;	/* kept when the file names none */
	rc = sre_gov_poll(&x->gw, &st, err, sizeof(err));
	if (rc < 0 && err[0] != '\0') {
		snprintf(msg, sizeof(msg), "governor: %s", err);
		complain(x->gov_err, sizeof(x->gov_err), msg);
	} else if (rc > 0)
		complain(x->gov_err, sizeof(x->gov_err), "");
	if (rc <= 0 || st.degraded == x->degraded)
		return;
	x->degraded = st.degraded;
	if (st.degraded) {
		/* The governor's rate when it names one, else ours. */
		rate = st.sample_rate < 1 ? st.sample_rate :
		    opt.degraded_sample;
		if (rate > opt.cfg.sample_rate)
			rate = opt.cfg.sample_rate;
		sre_scout_set_sample_rate(x->sc, rate);
		sre_scout_set_window(x->sc, opt.degraded_window);
		sre_notice("governor: degraded: sampling %g, windows of %lld "
		    "ms", rate, (long long)opt.degraded_window);
	} else {
		sre_scout_set_sample_rate(x->sc, opt.cfg.sample_rate);
		sre_scout_set_window(x->sc, opt.cfg.window_ms);
		sre_notice("governor: normal: sampling %g, windows of %lld ms",
		    opt.cfg.sample_rate, (long long)opt.cfg.window_ms);
	}
}

/* Re-read the silences and the governor's state once per window. */
static void
poll_files(struct ctx *x, int force)
{
	uint64_t w = sre_scout_stats(x->sc)->windows;

	if (!force && w == x->polled_windows)
		return;
	x->polled_windows = w;
	poll_silences(x);
	poll_governor(x);
}

static int
on_line(struct sre_stream *s, const char *line, size_t len, void *arg)
{
	struct ctx *x = arg;

	snprintf(x->where[s->lines % NWHERE], sizeof(x->where[0]), "%s",
	    sre_stream_where(s));
	if (sre_scout_submit(x->sc, line, len, s->lines) < 0)
		return s->epipe ? 0 : EX_SOFTWARE;
	poll_files(x, 0);
	if (sre_progress_due(&x->prog)) {
		const struct sre_scout_stats *st = sre_scout_stats(x->sc);

		sre_progress_show(&x->prog, "%llu lines, %llu spans, %llu points, "
		    "%llu log records, %llu anomalies", s->lines,
		    (unsigned long long)st->spans,
		    (unsigned long long)st->points,
		    (unsigned long long)st->logs,
		    (unsigned long long)st->anomalies);
	}
	return 0;
}

static int
on_idle(struct sre_stream *s, int at_end, void *arg)
{
	struct ctx *x = arg;
	int rc;

	rc = at_end ? sre_scout_finish(x->sc) : sre_scout_idle(x->sc);
	if (rc < 0)
		return s->epipe ? 0 : EX_SOFTWARE;
	if (!at_end)
		poll_files(x, 1);
	return 0;
}

static void
summary(struct sre_scout *sc, const struct sre_stream *s)
{
	const struct sre_scout_stats *st = sre_scout_stats(sc);

	sre_notice("%llu lines, %llu spans, %llu points, %llu log records, "
	    "%llu rejected lines, %llu anomalies (%llu silenced), %llu "
	    "recoveries, %llu incidents, %.2f anomalies per incident",
	    s->lines, (unsigned long long)st->spans,
	    (unsigned long long)st->points, (unsigned long long)st->logs,
	    s->rejected, (unsigned long long)st->anomalies,
	    (unsigned long long)st->silenced,
	    (unsigned long long)st->recoveries,
	    (unsigned long long)st->incidents,
	    st->incidents ? (double)st->anomalies / (double)st->incidents : 0);
	sre_info("%llu windows, %llu late, %llu sampled out, %llu without "
	    "latency, %llu tolerated, %llu evicted, %llu dropped, %llu judged "
	    "early; %u operations, %u edges, %u services, %u metric series",
	    (unsigned long long)st->windows, (unsigned long long)st->late,
	    (unsigned long long)st->sampled_out,
	    (unsigned long long)st->no_latency,
	    (unsigned long long)st->tolerated,
	    (unsigned long long)st->evicted, (unsigned long long)st->dropped,
	    (unsigned long long)st->early, st->series, st->edges, st->services,
	    st->metrics);
}

/*
 * The options into opt: -1 to go on, or the exit code.  Long: one flat
 * case per option (19 of them), then the defaults that depend on them.
 */
static int
parse_options(int argc, char *argv[])
{
	static const struct option longopts[] = {
		SRE_COMMON_LONGOPTS,
		{ "degraded-sample", required_argument, NULL,
		    OPT_DEGRADED_SAMPLE },
		{ "degraded-window", required_argument, NULL,
		    OPT_DEGRADED_WINDOW },
		{ "hold", required_argument, NULL, OPT_HOLD },
		{ "lateness", required_argument, NULL, 'l' },
		{ "max-duration", required_argument, NULL, OPT_MAX_DURATION },
		{ "max-pending", required_argument, NULL, OPT_MAX_PENDING },
		{ "max-series", required_argument, NULL, OPT_MAX_SERIES },
		{ "metric-threshold", required_argument, NULL,
		    OPT_METRIC_THRESHOLD },
		{ "min-samples", required_argument, NULL, OPT_MIN_SAMPLES },
		{ "recover", required_argument, NULL, OPT_RECOVER },
		{ "relay-events", no_argument, NULL, OPT_RELAY_EVENTS },
		{ "sample", required_argument, NULL, 's' },
		{ "silences", required_argument, NULL, OPT_SILENCES },
		{ "threads", required_argument, NULL, OPT_THREADS },
		{ "threshold", required_argument, NULL, 't' },
		{ "topology", required_argument, NULL, OPT_TOPOLOGY },
		{ "warmup", required_argument, NULL, OPT_WARMUP },
		{ "window", required_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 }
	};
	const char *env;
	int ch, ex, lateness_given = 0, dw_given = 0, threads_given = 0;
	uint32_t threads = 0;
	long ncpu;

	while ((ch = sre_getopt(&opt.c, argc, argv, "l:s:t:w:", longopts,
	    usage, &ex)) != -1) {
		switch (ch) {
		case OPT_DEGRADED_SAMPLE:
			if (sre_opt_real("--degraded-sample", optarg, 0, 1,
			    SRE_OPT_ABOVE,
			    &opt.degraded_sample) < 0)
				return EX_USAGE;
			break;
		case OPT_DEGRADED_WINDOW:
			if (sre_opt_duration("--degraded-window", optarg, 1000,
			    SRE_DURATION_MAX, &opt.degraded_window) < 0)
				return EX_USAGE;
			dw_given = 1;
			break;
		case OPT_HOLD:
			if (count("--hold", optarg, 0, 1000,
			    &opt.cfg.incident_hold) < 0)
				return EX_USAGE;
			break;
		case 'l':
			if (sre_opt_duration("--lateness", optarg, 0,
			    SRE_DURATION_MAX, &opt.cfg.lateness_ms) < 0)
				return EX_USAGE;
			lateness_given = 1;
			break;
		case OPT_MAX_DURATION:
			if (sre_opt_duration("--max-duration", optarg, 1,
			    SRE_DURATION_MAX, &opt.cfg.max_duration_ms) < 0)
				return EX_USAGE;
			break;
		case OPT_MAX_PENDING:
			if (count("--max-pending", optarg, 64, 1 << 24,
			    &opt.cfg.max_pending) < 0)
				return EX_USAGE;
			break;
		case OPT_MAX_SERIES:
			if (count("--max-series", optarg, 16, 1000000,
			    &opt.cfg.max_series) < 0)
				return EX_USAGE;
			break;
		case OPT_METRIC_THRESHOLD:
			if (sre_opt_real("--metric-threshold", optarg, 0, 1,
			    SRE_OPT_ABOVE,
			    &opt.cfg.metric_threshold) < 0)
				return EX_USAGE;
			break;
		case OPT_MIN_SAMPLES:
			if (count("--min-samples", optarg, 1, 1000000,
			    &opt.cfg.min_samples) < 0)
				return EX_USAGE;
			break;
		case OPT_RECOVER:
			if (count("--recover", optarg, 1, 200,
			    &opt.cfg.recover_windows) < 0)
				return EX_USAGE;
			break;
		case 's':
			if (sre_opt_real("--sample", optarg, 0, 1,
			    SRE_OPT_ABOVE,
			    &opt.cfg.sample_rate) < 0)
				return EX_USAGE;
			opt.sample_given = 1;
			break;
		case OPT_SILENCES:
			opt.silences = optarg;
			opt.silences_given = 1;
			break;
		case 't':
			if (sre_opt_real("--threshold", optarg, 0, 1000,
			    SRE_OPT_ABOVE,
			    &opt.cfg.threshold) < 0)
				return EX_USAGE;
			break;
		case OPT_THREADS:
			if (count("--threads", optarg, 0, 16,
			    &threads) < 0)
				return EX_USAGE;
			threads_given = 1;
			break;
		case OPT_TOPOLOGY:
			if (count("--topology", optarg, 0, 1000000,
			    &opt.cfg.topology_every) < 0)
				return EX_USAGE;
			break;
		case 'w':
			if (sre_opt_duration("--window", optarg, 1000,
			    SRE_DURATION_MAX, &opt.cfg.window_ms) < 0)
				return EX_USAGE;
			break;
		case OPT_RELAY_EVENTS:
			opt.relay_events = 1;
			break;
		case OPT_WARMUP:
			if (sre_opt_duration("--warmup", optarg, 0,
			    SRE_DURATION_MAX, &opt.cfg.warmup_ms) < 0)
				return EX_USAGE;
			break;
		}
	}
	if ((ex = sre_opt_end(&opt.c, argc, argv, ex, usage)) >= 0)
		return ex;
	/* The profile: ENV=cloud samples a tenth of the traces. */
	env = getenv("ENV");
	if (!opt.sample_given && env != NULL && strcmp(env, "cloud") == 0)
		opt.cfg.sample_rate = 0.1;
	if (!lateness_given && opt.cfg.lateness_ms > opt.cfg.window_ms / 2)
		opt.cfg.lateness_ms = opt.cfg.window_ms / 2;
	if (lateness_given && opt.cfg.lateness_ms > 2 * opt.cfg.window_ms) {
		sre_warnx("--lateness: at most twice the window");
		return EX_USAGE;
	}
	if (!dw_given)
		opt.degraded_window = 3 * opt.cfg.window_ms;
	/* Parser threads: one per processor beyond ours, three at most. */
	if (!threads_given) {
		ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		threads = ncpu > 1 ? (uint32_t)(ncpu > 4 ? 3 : ncpu - 1) : 0;
	}
	opt.cfg.threads = threads;
	return -1;
}

int
main(int argc, char *argv[])
{
	struct sre_scout_hooks hooks;
	struct sre_stream s;
	struct ctx x;
	const char *dir;
	char err[512];
	int ex;

	sre_init("sre-scout");
	sre_common_init(&opt.c);
	sre_scout_config_default(&opt.cfg);
	opt.degraded_sample = 0.1;
	memset(&x, 0, sizeof(x));
	if ((ex = parse_options(argc, argv)) >= 0)
		return ex;
	dir = sre_state_dir(&opt.c);
	if (opt.silences == NULL) {
		if ((size_t)snprintf(x.silences_path, sizeof(x.silences_path),
		    "%s/silences.ndjson", dir) >= sizeof(x.silences_path)) {
			sre_warnx("--state-dir: path too long");
			return EX_USAGE;
		}
		opt.silences = x.silences_path;
	}
	if ((x.sil = sre_silences_new(opt.silences)) == NULL) {
		sre_warnx("out of memory");
		return EX_OSERR;
	}
	if (sre_silences_poll(x.sil, err, sizeof(err)) < 0) {
		if (opt.silences_given) {
			sre_warnx("%s", err);
			sre_silences_free(x.sil);
			return EX_CONFIG;
		}
		if (strstr(err, "No such file") == NULL)
			complain(x.sil_err, sizeof(x.sil_err), err);
	}
	x.gov = sre_gov_watch_init(&x.gw, dir) == 0;
	hooks.emit = emit;
	hooks.report = report;
	hooks.other = other;
	hooks.silenced = silenced;
	hooks.arg = &x;
	if ((x.sc = sre_scout_new(&opt.cfg, &hooks, err, sizeof(err))) ==
	    NULL) {
		sre_warnx("%s", err);
		sre_silences_free(x.sil);
		return errno == ENOMEM ? EX_OSERR : EX_USAGE;
	}
	poll_governor(&x);
	if ((ex = sre_stream_open(&s, &opt.c)) != EX_OK) {
		sre_scout_free(x.sc);
		sre_silences_free(x.sil);
		return ex;
	}
	x.s = &s;
	s.idle_ms = 250;	/* also how long a lone line may wait for a parser */
	sre_progress_init(&x.prog);
	ex = sre_stream_run(&s, on_line, on_idle, &x);
	sre_progress_end(&x.prog);
	summary(x.sc, &s);
	sre_scout_free(x.sc);
	sre_silences_free(x.sil);
	return ex;
}
