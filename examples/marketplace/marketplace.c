/*
 * sre-marketplace: a synthetic insurance marketplace that writes OTLP/JSON
 * traces (and optionally logs and metrics) as the OpenTelemetry Collector
 * file exporter does, one Export*ServiceRequest per line.  The topology
 * comes from a seed; faults, decoys and load are options; a truth file
 * says what was injected where and when.  Batch mode runs on event time as
 * fast as it can (the benchmark source); --live runs on the wall clock and
 * takes chaos from a control file and desired state from a GitOps
 * repository (the closed-loop demo).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "mp.h"

#ifndef SRE_VERSION
#define SRE_VERSION "0.1.0"
#endif

#define EX_USAGE   64
#define EX_NOINPUT 66
#define EX_SOFTWARE 70
#define EX_IOERR   74

static volatile sig_atomic_t stop_flag;

static struct {
	uint64_t seed;
	int nsvc;
	double rate, ramp, base_err;
	int64_t duration_ns;
	bool duration_set;
	int64_t start_ms;
	bool start_set;
	const char *decoy[MP_MAX_SVC];
	int ndecoy, ndecoys;
	/* the options of fault i follow its --fault */
	const char *fkind[MP_MAX_FAULTS], *fculprit[MP_MAX_FAULTS], *fop[MP_MAX_FAULTS];
	const char *fstart[MP_MAX_FAULTS], *fend[MP_MAX_FAULTS], *fint[MP_MAX_FAULTS];
	int nfault;
	const char *truth, *output, *control, *gitops, *write_gitops;
	bool logs, metrics, list, live, stats;
} opt = { .seed = 1, .nsvc = 12, .rate = 20, .ramp = 1, .base_err = 0.0005,
	  .duration_ns = 600 * NS_PER_S, .start_ms = INT64_C(1700000000000) };

static void
usage(FILE *fp)
{
	fputs("usage: sre-marketplace [-s SEED] [-n SERVICES] [-r RATE] [-d DURATION]\n"
	      "           [--start EPOCH_MS] [--rate-ramp FACTOR] [--decoy SERVICE] [--decoys N]\n"
	      "           [-f KIND -c SERVICE [--fault-op OP] [--fault-start T] [--fault-end T]\n"
	      "            [--intensity X]]... [--base-error-rate P] [--logs] [--metrics]\n"
	      "           [-t TRUTH] [-o FILE] [--live [--control FILE] [--gitops DIR]]\n"
	      "       sre-marketplace [-s SEED] [-n SERVICES] --list-services\n"
	      "       sre-marketplace [-s SEED] [-n SERVICES] --write-gitops DIR\n"
	      "\n"
	      "Synthetic insurance marketplace traffic as OTLP/JSON lines (collector\n"
	      "file exporter format): ExportTraceServiceRequest per line, plus\n"
	      "ExportLogsServiceRequest (--logs) and ExportMetricsServiceRequest\n"
	      "(--metrics, every 10 s of event time).\n"
	      "\n"
	      "  -s, --seed N            topology and traffic seed (default 1)\n"
	      "  -n, --services N        number of services, 8..20 (default 12)\n"
	      "  -r, --rate R            requests per second, event time (default 20)\n"
	      "  -d, --duration D        run length: 90s, 10m, 1h (default 10m; --live: forever)\n"
	      "      --start EPOCH_MS    event time of the first request (default 1700000000000)\n"
	      "      --rate-ramp F       rate grows linearly to F times R by the end\n"
	      "      --decoy SERVICE     naturally heavy-tailed latency, not a fault (repeatable)\n"
	      "      --decoys N          pick N jittery services as decoys\n"
	      "  -f, --fault KIND        none latency error both network cpu release\n"
	      "                          saturation pool leak stuck; repeatable: -c, --fault-op,\n"
	      "                          --fault-start, --fault-end, --intensity set the\n"
	      "                          fault given last\n"
	      "  -c, --culprit SERVICE   where the fault is (default: drawn from the seed)\n"
	      "      --fault-op OP       latency/error on one operation only (span name)\n"
	      "      --fault-start T     offset (20m, 90s) or epoch ms (default: a third in)\n"
	      "      --fault-end T       offset or epoch ms (default: the end of the run)\n"
	      "      --intensity X       fault strength, 1 = default\n"
	      "      --base-error-rate P background 5xx rate per span (default 0.0005)\n"
	      "      --logs              also write OTLP log lines\n"
	      "      --metrics           also write OTLP metric lines\n"
	      "  -t, --truth FILE        write the injected faults, topology and decoys\n"
	      "  -o, --output FILE       write here instead of stdout\n"
	      "      --list-services     print the topology (service, layer, callees) and exit\n"
	      "      --write-gitops DIR  write services/<svc>/{deployment.yaml,config.env}\n"
	      "      --live              event time is the wall clock\n"
	      "      --control FILE      live chaos: key=value lines, re-read on change\n"
	      "      --gitops DIR        live desired state: image tags, replicas, DB_POOL_SIZE\n"
	      "      --stats             a summary on stderr at the end (spans, MB/s)\n"
	      "  -h, --help              this help\n"
	      "  -V, --version           print the version\n",
	    fp);
}

static void __attribute__((noreturn, format(printf, 1, 2)))
die_usage(const char *fmt, ...)
{
	va_list ap;

	fputs("sre-marketplace: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n", stderr);
	exit(EX_USAGE);
}

static void
on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

enum {
	O_START = 256, O_RAMP, O_DECOY, O_DECOYS, O_FOP, O_FSTART, O_FEND, O_INTENSITY, O_BASEERR,
	O_LOGS, O_METRICS, O_LIST, O_LIVE, O_CONTROL, O_GITOPS, O_WGITOPS, O_STATS,
};

static const struct option longopts[] = {
	{ "base-error-rate", required_argument, NULL, O_BASEERR },
	{ "control", required_argument, NULL, O_CONTROL },
	{ "culprit", required_argument, NULL, 'c' },
	{ "decoy", required_argument, NULL, O_DECOY },
	{ "decoys", required_argument, NULL, O_DECOYS },
	{ "duration", required_argument, NULL, 'd' },
	{ "fault", required_argument, NULL, 'f' },
	{ "fault-end", required_argument, NULL, O_FEND },
	{ "fault-op", required_argument, NULL, O_FOP },
	{ "fault-start", required_argument, NULL, O_FSTART },
	{ "gitops", required_argument, NULL, O_GITOPS },
	{ "help", no_argument, NULL, 'h' },
	{ "intensity", required_argument, NULL, O_INTENSITY },
	{ "list-services", no_argument, NULL, O_LIST },
	{ "live", no_argument, NULL, O_LIVE },
	{ "logs", no_argument, NULL, O_LOGS },
	{ "metrics", no_argument, NULL, O_METRICS },
	{ "operation", required_argument, NULL, O_FOP },
	{ "output", required_argument, NULL, 'o' },
	{ "rate", required_argument, NULL, 'r' },
	{ "rate-ramp", required_argument, NULL, O_RAMP },
	{ "seed", required_argument, NULL, 's' },
	{ "services", required_argument, NULL, 'n' },
	{ "start", required_argument, NULL, O_START },
	{ "stats", no_argument, NULL, O_STATS },
	{ "truth", required_argument, NULL, 't' },
	{ "version", no_argument, NULL, 'V' },
	{ "write-gitops", required_argument, NULL, O_WGITOPS },
	{ NULL, 0, NULL, 0 },
};

/* Set an option of the latest --fault. */
static void
fault_opt(const char **arr, const char *v, const char *what)
{
	if (opt.nfault == 0)
		die_usage("%s belongs to a --fault: give the --fault first", what);
	if (arr[opt.nfault - 1] != NULL)
		die_usage("%s given twice for fault %d", what, opt.nfault);
	arr[opt.nfault - 1] = v;
}

static void
parse_options(int argc, char **argv)
{
	int c;

	opterr = 0; /* our own messages: "sre-marketplace: ..." */
	while ((c = getopt_long(argc, argv, ":c:d:f:hn:o:r:s:t:V", longopts, NULL)) != -1) {
		double d;
		uint64_t u;

		switch (c) {
		case 'c':
			fault_opt(opt.fculprit, optarg, "--culprit");
			break;
		case 'd':
			if ((opt.duration_ns = mp_parse_duration(optarg)) <= 0)
				die_usage("bad duration '%s' (e.g. 90s, 10m, 1h)", optarg);
			opt.duration_set = true;
			break;
		case 'f':
			if (opt.nfault >= MP_MAX_FAULTS)
				die_usage("too many faults (at most %d)", MP_MAX_FAULTS);
			opt.fkind[opt.nfault++] = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'n':
			if (mp_parse_u64(optarg, &u) != 0 || u < 8 || u > 20)
				die_usage("--services must be 8..20, not '%s'", optarg);
			opt.nsvc = (int)u;
			break;
		case 'o':
			opt.output = optarg;
			break;
		case 'r':
			if (mp_parse_dbl(optarg, &d) != 0 || d <= 0 || d > 1e6)
				die_usage("bad rate '%s' (requests per second, > 0)", optarg);
			opt.rate = d;
			break;
		case 's':
			if (mp_parse_u64(optarg, &u) != 0)
				die_usage("bad seed '%s'", optarg);
			opt.seed = u;
			break;
		case 't':
			opt.truth = optarg;
			break;
		case 'V':
			printf("sre-marketplace %s\n", SRE_VERSION);
			exit(0);
		case O_BASEERR:
			if (mp_parse_dbl(optarg, &d) != 0 || d < 0 || d > 1)
				die_usage("bad --base-error-rate '%s' (0..1)", optarg);
			opt.base_err = d;
			break;
		case O_CONTROL:
			opt.control = optarg;
			break;
		case O_DECOY:
			if (opt.ndecoy >= MP_MAX_SVC)
				die_usage("too many --decoy options");
			opt.decoy[opt.ndecoy++] = optarg;
			break;
		case O_DECOYS:
			if (mp_parse_u64(optarg, &u) != 0 || u > 8)
				die_usage("--decoys must be 0..8, not '%s'", optarg);
			opt.ndecoys = (int)u;
			break;
		case O_FEND:
			fault_opt(opt.fend, optarg, "--fault-end");
			break;
		case O_FOP:
			fault_opt(opt.fop, optarg, "--fault-op");
			break;
		case O_FSTART:
			fault_opt(opt.fstart, optarg, "--fault-start");
			break;
		case O_GITOPS:
			opt.gitops = optarg;
			break;
		case O_INTENSITY:
			fault_opt(opt.fint, optarg, "--intensity");
			break;
		case O_LIST:
			opt.list = true;
			break;
		case O_LIVE:
			opt.live = true;
			break;
		case O_LOGS:
			opt.logs = true;
			break;
		case O_METRICS:
			opt.metrics = true;
			break;
		case O_RAMP:
			if (mp_parse_dbl(optarg, &d) != 0 || d <= 0 || d > 1000)
				die_usage("bad --rate-ramp '%s' (a factor > 0)", optarg);
			opt.ramp = d;
			break;
		case O_START:
			if (mp_parse_u64(optarg, &u) != 0 || u > UINT64_C(9000000000000))
				die_usage("bad --start '%s' (epoch milliseconds)", optarg);
			opt.start_ms = (int64_t)u;
			opt.start_set = true;
			break;
		case O_STATS:
			opt.stats = true;
			break;
		case O_WGITOPS:
			opt.write_gitops = optarg;
			break;
		case ':':
			die_usage("option '%s' needs an argument (see --help)", argv[optind - 1]);
		default:
			if (optopt)
				die_usage("unknown option '-%c' (see --help)", optopt);
			die_usage("unknown option '%s' (see --help)", argv[optind - 1]);
		}
	}
	if (optind < argc)
		die_usage("unexpected argument '%s'", argv[optind]);
	if (opt.live && opt.start_set)
		die_usage("--start and --live exclude each other (live event time is now)");
	if (!opt.live && (opt.control || opt.gitops))
		die_usage("--control and --gitops need --live");
}

/* A default culprit for a fault kind, drawn from the seed. */
static int
default_culprit(const struct mp_topo *t, int kind, int idx)
{
	struct mp_rng r;
	int cand[MP_MAX_SVC], n = 0;

	mp_rng_seed(&r, t->seed, 100 + (uint64_t)idx);
	for (int i = 0; i < t->nsvc; i++) {
		const struct mp_svc *s = &t->svc[i];

		if (kind == F_POOL ? s->ds == DS_POSTGRES
		                   : (s->layer == L_DOMAIN && !s->decoy && s->has_callers))
			cand[n++] = i;
	}
	return n ? cand[mp_rng_below(&r, (uint32_t)n)] : -1;
}

static void
setup_faults(struct mp_gen *g, struct mp_topo *t)
{
	for (int i = 0; i < opt.nfault; i++) {
		struct mp_fault *f = &g->fault[g->nfault];
		struct mp_svc *s;
		int kind = mp_fault_kind(opt.fkind[i]);
		double in = 1;

		if (kind < 0)
			die_usage("unknown fault kind '%s' (none latency error both network cpu "
			          "release saturation pool leak stuck)", opt.fkind[i]);
		memset(f, 0, sizeof(*f));
		f->kind = kind;
		f->op = -1;
		if (opt.fculprit[i]) {
			if ((f->svc = mp_topo_find(t, opt.fculprit[i])) < 0)
				die_usage("unknown service '%s' (see --list-services)", opt.fculprit[i]);
		} else if ((f->svc = default_culprit(t, kind, i)) < 0)
			die_usage("no service fits a %s fault", opt.fkind[i]);
		s = &t->svc[f->svc];
		if (kind == F_POOL && s->ds != DS_POSTGRES)
			die_usage("a pool fault needs a PostgreSQL datastore culprit, not '%s'", s->name);
		if (kind == F_NETWORK && !s->has_callers)
			die_usage("a network fault needs a culprit with callers, not '%s'", s->name);
		if (opt.fop[i] && (f->op = mp_topo_find_op(t, f->svc, opt.fop[i])) < 0)
			die_usage("%s has no operation '%s'", s->name, opt.fop[i]);
		if (opt.fint[i] && (mp_parse_dbl(opt.fint[i], &in) != 0 || in <= 0 || in > 100))
			die_usage("bad --intensity '%s' (> 0, 1 = default)", opt.fint[i]);
		f->intensity = in;
		f->start_ns = g->end_ns == INT64_MAX ? g->start_ns
		                                     : g->start_ns + (g->end_ns - g->start_ns) / 3;
		f->end_ns = g->end_ns;
		if (opt.fstart[i] && (f->start_ns = mp_parse_when(opt.fstart[i], g->start_ns)) < 0)
			die_usage("bad --fault-start '%s' (20m, 90s or epoch ms)", opt.fstart[i]);
		if (opt.fend[i] && (f->end_ns = mp_parse_when(opt.fend[i], g->start_ns)) < 0)
			die_usage("bad --fault-end '%s' (20m, 90s or epoch ms)", opt.fend[i]);
		if (f->end_ns <= f->start_ns)
			die_usage("fault %d ends before it starts", i + 1);
		f->load0 = mp_gen_rate_at(g, f->start_ns);
		f->replicas0 = s->replicas;
		f->pool_needed = (1 + 0.5 * in) * s->pool_size;
		snprintf(f->from_version, sizeof(f->from_version), "%s", s->version);
		snprintf(f->to_version, sizeof(f->to_version), "%s", s->version_new);
		if (kind != F_NONE)
			g->nfault++;
	}
}

static void
setup_decoys(struct mp_topo *t)
{
	for (int i = 0; i < opt.ndecoy; i++) {
		int k = mp_topo_find(t, opt.decoy[i]);

		if (k < 0)
			die_usage("unknown decoy service '%s' (see --list-services)", opt.decoy[i]);
		t->svc[k].decoy = true;
	}
	if (opt.ndecoys)
		mp_topo_pick_decoys(t, opt.ndecoys);
}

static int
finish_output(struct mp_gen *g)
{
	mp_gen_drain(g, true);
	if (g->write_error || fflush(g->out) != 0 || ferror(g->out)) {
		fprintf(stderr, "sre-marketplace: writing output failed: %s\n", strerror(errno));
		return EX_IOERR;
	}
	if (g->out != stdout && fclose(g->out) != 0) {
		fprintf(stderr, "sre-marketplace: writing output failed: %s\n", strerror(errno));
		return EX_IOERR;
	}
	return 0;
}

static void
write_truth(const struct mp_gen *g)
{
	if (opt.truth && mp_gen_write_truth(g, opt.truth) != 0) {
		fprintf(stderr, "sre-marketplace: %s: %s\n", opt.truth, strerror(errno));
		exit(EX_IOERR);
	}
}

/*
 * Generate traffic: Poisson arrivals at the (ramped) rate; a batch goes out
 * when it is big enough or 2 s old (1 s of wall clock in live mode).
 */
static int
run(struct mp_gen *g, struct mp_live *live)
{
	struct mp_rng arr;
	int64_t t = g->start_ns, next_poll = 0, next_gitops = 0, last_rotate = mp_now_ns();
	char err[1200];

	mp_rng_seed(&arr, opt.seed, 13);
	g->metrics_next_ns = g->start_ns + 10 * NS_PER_S;
	for (;;) {
		double rate = mp_gen_rate_at(g, t);

		t += (int64_t)(mp_rng_exp(&arr, 1.0 / rate) * 1e9) + 1;
		if (t >= g->end_ns)
			break;
		while (opt.live && !stop_flag) {
			int64_t now = mp_now_ns(), wake;

			if (now >= next_poll) {
				bool changed = false;

				next_poll = now + 200 * NS_PER_MS;
				if (live->gitops && now >= next_gitops) {
					next_gitops = now + NS_PER_S;
					if (mp_live_gitops(live, g, false, err, sizeof(err)) < 0)
						fprintf(stderr, "sre-marketplace: gitops: %s\n", err);
				}
				if (live->control && mp_live_control(live, g, now, stderr) > 0)
					changed = true;
				if (mp_gen_track_faults(g, now))
					changed = true;
				if (changed)
					write_truth(g);
			}
			if (now - last_rotate >= NS_PER_S || g->batch_bytes >= g->batch_target) {
				mp_gen_live_rotate(g, now);
				last_rotate = now;
			}
			if (mp_gen_live_flush_done(g, now) || g->line.len) {
				mp_gen_drain(g, true);
				if (fflush(g->out) != 0)
					g->write_error = true;
			}
			if (g->write_error)
				return finish_output(g);
			if (now >= t)
				break;
			wake = t < next_poll ? t : next_poll;
			mp_sleep_until(wake);
		}
		if (stop_flag)
			break;
		while (opt.metrics && t >= g->metrics_next_ns) {
			if (!opt.live)
				mp_gen_flush_batch(g);
			mp_gen_metrics(g, g->metrics_next_ns);
			g->metrics_next_ns += 10 * NS_PER_S;
		}
		mp_gen_trace(g, t);
		if (!opt.live && mp_gen_batch_full(g, t))
			mp_gen_flush_batch(g);
		if (g->write_error)
			break;
	}
	if (opt.live) {
		/* let the traces in hand end (the collector would wait too) */
		int64_t cap = mp_now_ns() + 30 * NS_PER_S;

		mp_gen_live_rotate(g, mp_now_ns());
		while (!stop_flag && !g->write_error) {
			int64_t now = mp_now_ns();
			bool left = false;

			if (mp_gen_live_flush_done(g, now)) {
				mp_gen_drain(g, true);
				if (fflush(g->out) != 0)
					g->write_error = true;
			}
			for (int i = 0; i < MP_NEPOCH; i++)
				left |= g->epo[i].pending;
			if (!left || now >= cap)
				break;
			mp_sleep_until(now + 100 * NS_PER_MS);
		}
	}
	mp_gen_flush_all(g);
	while (opt.metrics && !stop_flag && !opt.live && g->metrics_next_ns <= g->end_ns) {
		mp_gen_metrics(g, g->metrics_next_ns);
		g->metrics_next_ns += 10 * NS_PER_S;
	}
	return finish_output(g);
}

int
main(int argc, char **argv)
{
	static struct mp_topo topo;
	static struct mp_gen gen;
	struct mp_live live;
	struct sigaction sa;
	struct timespec t0, t1;
	int rc;

	parse_options(argc, argv);
	mp_topo_build(&topo, opt.seed, opt.nsvc);
	setup_decoys(&topo);

	if (opt.list) {
		mp_topo_list(&topo, stdout);
		return fflush(stdout) == 0 ? 0 : EX_IOERR;
	}
	if (opt.write_gitops) {
		if (mp_topo_write_gitops(&topo, opt.write_gitops) != 0) {
			fprintf(stderr, "sre-marketplace: %s: %s\n", opt.write_gitops, strerror(errno));
			return EX_IOERR;
		}
		return 0;
	}

	mp_gen_init(&gen, &topo, opt.seed);
	gen.rate = opt.rate;
	gen.ramp = opt.ramp;
	gen.base_error_rate = opt.base_err;
	gen.logs = opt.logs;
	gen.metrics = opt.metrics;
	gen.live = opt.live;
	gen.gitops = opt.gitops != NULL;
	if (opt.live) {
		gen.start_ns = mp_now_ns() / NS_PER_MS * NS_PER_MS;
		gen.end_ns = opt.duration_set ? gen.start_ns + opt.duration_ns : INT64_MAX;
	} else {
		gen.start_ns = opt.start_ms * NS_PER_MS;
		gen.end_ns = gen.start_ns + opt.duration_ns;
	}
	gen.ramp_span_ns = gen.end_ns == INT64_MAX ? 0 : gen.end_ns - gen.start_ns;

	memset(&live, 0, sizeof(live));
	live.control = opt.control;
	live.gitops = opt.gitops;
	live.intensity = 1;
	if (opt.gitops) {
		char err[1200];

		if (mp_live_gitops(&live, &gen, true, err, sizeof(err)) < 0) {
			fprintf(stderr, "sre-marketplace: gitops: %s\n", err);
			return EX_NOINPUT;
		}
	}
	setup_faults(&gen, &topo);

	if (opt.output && strcmp(opt.output, "-") != 0) {
		if ((gen.out = fopen(opt.output, "w")) == NULL) {
			fprintf(stderr, "sre-marketplace: %s: %s\n", opt.output, strerror(errno));
			return EX_IOERR;
		}
	} else
		gen.out = stdout;
	write_truth(&gen);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = run(&gen, &live);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (opt.live && opt.truth)
		write_truth(&gen);
	if (opt.stats) {
		double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;

		if (s <= 0)
			s = 1e-9;
		fprintf(stderr,
		    "sre-marketplace: %llu traces, %llu spans, %llu logs, %llu metric lines, "
		    "%llu lines, %.1f MB in %.2f s: %.1f MB/s, %.0f spans/s\n",
		    (unsigned long long)gen.ntraces, (unsigned long long)gen.nspans,
		    (unsigned long long)gen.nlogs, (unsigned long long)gen.nmetric_lines,
		    (unsigned long long)gen.nlines, (double)gen.nbytes / 1e6, s,
		    (double)gen.nbytes / 1e6 / s, (double)gen.nspans / s);
	}
	return rc;
}
