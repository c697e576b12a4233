/*
 * sre-govern: the runtime governor.
 *
 * Samples the memory (PSS, else RSS) and CPU of what it governs: a cgroup
 * v2 directory, a list of pids or pidfiles, the command it runs itself
 * (sre-govern [options] -- CMD ARGS, forwarding SIGTERM/SIGINT), or by
 * default its own cgroup.  When usage stays above the threshold for the
 * hold time it switches to degraded mode; it returns to normal only when
 * usage stays below the low mark for the recovery time.  Each change, and
 * every --period, it publishes <state-dir>/governor.json atomically (the
 * knobs the other tools obey: llm_concurrency, loop_interval_s,
 * sample_rate) and writes a `governor` event.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bsd/stdlib.h>

#include "govern.h"
#include "sre.h"

#define MAX_PIDS 64
#define MB (1024LL * 1024)

extern char **environ;

static struct {
	struct sre_common c;
	const char *cgroup;
	int npids, npidfiles;
	pid_t pids[MAX_PIDS];
	const char *pidfiles[MAX_PIDS];
	double threshold_mb, low_mb;	/* < 0: unset */
	double hold_s, recover_s, interval_s, period_s;
	int once, cloud, max_llm;
} opt;

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: sre-govern [-hqVv] [--cgroup DIR] [--hold S] [--interval S] "
	    "[--low MB]\n"
	    "                  [--once] [-o URL] [--period S] [--pid PID] "
	    "[--pidfile FILE]\n"
	    "                  [--recover S] [--state-dir DIR] "
	    "[--threshold MB]\n"
	    "                  [-- command [argument ...]]\n"
	    "  -c, --cgroup DIR    govern a cgroup v2 directory\n"
	    "  -p, --pid PID       govern a process and its children "
	    "(repeatable)\n"
	    "  -P, --pidfile FILE  govern the process named in FILE "
	    "(repeatable)\n"
	    "  -t, --threshold MB  degrade above this (default: "
	    "$MEMORY_THRESHOLD_MB,\n"
	    "                      450 with ENV=cloud, none with ENV=local)\n"
	    "  -l, --low MB        back to normal below this (default 90%% of "
	    "the threshold)\n"
	    "      --hold S        seconds above the threshold before "
	    "degrading (1)\n"
	    "      --recover S     seconds below the low mark before "
	    "recovering (10)\n"
	    "      --interval S    seconds between samples (0.5)\n"
	    "      --period S      seconds between periodic events (30)\n"
	    "  -1, --once          print one sample and exit\n"
	    "  -o, --out URL       write governor events to URL (default -)\n"
	    "      --state-dir DIR where governor.json goes (default "
	    "$SRE_STATE_DIR or .sre)\n"
	    "  -q, --quiet / -v, --verbose / -h, --help / -V, --version\n");
}

/* Seconds and megabytes: at least min, capped at 1e7 against overflow. */
static int
seconds(const char *name, const char *arg, double min, double *out)
{
	return sre_opt_real(name, arg, min, 1e7, SRE_OPT_NOMAX, out);
}


static int
read_pidfile(const char *path, pid_t *pid)
{
	char buf[32];
	const char *errstr;
	FILE *fp;
	long long v;

	if ((fp = fopen(path, "re")) == NULL)
		return -1;
	if (fgets(buf, sizeof(buf), fp) == NULL) {
		fclose(fp);
		return -1;
	}
	fclose(fp);
	buf[strcspn(buf, " \t\r\n")] = '\0';
	v = strtonum(buf, 1, 4194304, &errstr);
	if (errstr != NULL)
		return -1;
	*pid = (pid_t)v;
	return 0;
}

/* One sample of what is governed: bytes (>= 0), cpu in *cpu. */
static int64_t
sample(pid_t child, const char *cgroup, double *cpu)
{
	int64_t total = 0, m;
	double c;
	pid_t pid;
	int i;

	*cpu = 0;
	if (cgroup != NULL)
		return sre_mem_cgroup(cgroup, cpu);
	if (child > 0) {
		m = sre_mem_tree(child, cpu);
		return m < 0 ? 0 : m;
	}
	for (i = 0; i < opt.npids + opt.npidfiles; i++) {
		if (i < opt.npids)
			pid = opt.pids[i];
		else if (read_pidfile(opt.pidfiles[i - opt.npids], &pid) < 0)
			continue;	/* not running now */
		if ((m = sre_mem_tree(pid, &c)) > 0) {
			total += m;
			*cpu += c;
		}
	}
	return total;
}

static int
emit(struct sre_bus *out, const struct sre_gov_state *st, const char *why)
{
	jv ev = sre_event_new("governor", NULL);
	size_t len;
	char *line;
	int rc;

	ev = jv_object_set(ev, jv_string("mode"),
	    jv_string(st->degraded ? "degraded" : "normal"));
	ev = jv_object_set(ev, jv_string("rss_bytes"),
	    jv_number((double)st->usage_bytes));
	ev = jv_object_set(ev, jv_string("threshold_bytes"),
	    jv_number((double)st->threshold_bytes));
	ev = jv_object_set(ev, jv_string("low_bytes"),
	    jv_number((double)st->low_bytes));
	ev = jv_object_set(ev, jv_string("since_ms"),
	    jv_number((double)st->since_ms));
	ev = jv_object_set(ev, jv_string("cpu_seconds"),
	    jv_number(round(st->cpu_seconds * 1000) / 1000));
	ev = jv_object_set(ev, jv_string("llm_concurrency"),
	    jv_number(st->llm_concurrency));
	ev = jv_object_set(ev, jv_string("loop_interval_s"),
	    jv_number(st->loop_interval_s));
	ev = jv_object_set(ev, jv_string("sample_rate"),
	    jv_number(st->sample_rate));
	ev = jv_object_set(ev, jv_string("reason"), jv_string(why));
	if ((line = sre_jv_dump(ev, &len)) == NULL)
		return EX_OSERR;
	rc = sre_bus_write(out, line, len);
	free(line);
	if (rc == SRE_WRITE_OK)
		rc = sre_bus_flush(out);
	if (rc == SRE_WRITE_EPIPE)
		return -1;
	if (rc != SRE_WRITE_OK) {
		sre_warn("writing to %s failed", sre_bus_url(out));
		return EX_IOERR;
	}
	return 0;
}

static int
spawn(char **argv, pid_t *pid)
{
	int rc = posix_spawnp(pid, argv[0], NULL, NULL, argv, environ);

	if (rc != 0) {
		errno = rc;
		sre_warn("cannot run %s", argv[0]);
		return -1;
	}
	return 0;
}

/* The exit status sre-govern passes on for a child's wait status. */
static int
child_status(int ws)
{
	if (WIFEXITED(ws))
		return WEXITSTATUS(ws);
	if (WIFSIGNALED(ws))
		return 128 + WTERMSIG(ws);
	return EX_SOFTWARE;
}

static int
govern(struct sre_bus *out, char **cmd)
{
	const char *dir = sre_state_dir(&opt.c);
	char err[512], cgbuf[4096];
	const char *cgroup = opt.cgroup;
	struct sre_gov_state st;
	struct sre_gov_fsm fsm;
	long long t0, now, last_pub;
	pid_t child = 0;
	int64_t thr, low;
	int ws, rc, ex = EX_OK;

	thr = (int64_t)(opt.threshold_mb * MB);
	low = opt.low_mb > 0 ? (int64_t)(opt.low_mb * MB) : thr / 10 * 9;
	if (cmd != NULL && spawn(cmd, &child) < 0)
		return EX_UNAVAILABLE;
	if (cgroup == NULL && child == 0 && opt.npids + opt.npidfiles == 0) {
		/* By default, our own cgroup (a systemd unit's), or, where
		 * it has no memory accounting, our own process. */
		if (sre_cgroup_self(cgbuf, sizeof(cgbuf)) == 0 &&
		    sre_mem_cgroup(cgbuf, NULL) >= 0)
			cgroup = cgbuf;
		else
			opt.pids[opt.npids++] = getpid();
	}
	if (cgroup != NULL && sre_mem_cgroup(cgroup, NULL) < 0) {
		sre_warnx("%s: not a cgroup v2 directory with memory.current",
		    cgroup);
		return EX_CONFIG;
	}
	if (!opt.once && sre_state_dir_make(&opt.c) < 0) {
		sre_warn("cannot create state directory %s", dir);
		return EX_CANTCREAT;
	}
	memset(&st, 0, sizeof(st));
	t0 = sre_mono_ms();
	sre_gov_fsm_init(&fsm, thr, low, (int64_t)(opt.hold_s * 1000),
	    (int64_t)(opt.recover_s * 1000), t0);
	st.threshold_bytes = thr;
	st.low_bytes = thr > 0 ? fsm.low : 0;
	st.since_ms = sre_now_ms();
	last_pub = -1;
	for (;;) {
		int changed;

		now = sre_mono_ms();
		st.usage_bytes = sample(child, cgroup, &st.cpu_seconds);
		if (st.usage_bytes < 0) {
			sre_warnx("%s: the cgroup is gone", cgroup);
			ex = EX_UNAVAILABLE;
			break;
		}
		changed = sre_gov_fsm_step(&fsm, st.usage_bytes, now);
		st.degraded = fsm.degraded;
		if (changed)
			st.since_ms = sre_now_ms();
		st.updated_ms = sre_now_ms();
		sre_gov_knobs(&st, opt.cloud, opt.max_llm);
		if (opt.once)
			return emit(out, &st, "once") > 0 ? EX_IOERR : EX_OK;
		if (changed)
			sre_notice("%s: usage %.1f MB, threshold %.1f MB, low "
			    "%.1f MB", st.degraded ? "degraded" : "normal",
			    st.usage_bytes / (double)MB, thr / (double)MB,
			    fsm.low / (double)MB);
		if (changed || last_pub < 0 ||
		    now - last_pub >= (long long)(opt.period_s * 1000)) {
			if (sre_gov_write(dir, &st, err, sizeof(err)) < 0) {
				sre_warnx("writing the state failed: %s", err);
				ex = errno == ENOSPC || errno == EIO ?
				    EX_IOERR : EX_CANTCREAT;
				break;
			}
			rc = emit(out, &st, changed ? "change" : "periodic");
			if (rc > 0) {
				ex = rc;
				break;
			}
			last_pub = now;
		}
		if (child > 0 && waitpid(child, &ws, WNOHANG) == child) {
			ex = child_status(ws);
			child = 0;
			break;
		}
		if (!sre_stopping()) {
			struct timespec ts;
			long long ns = (long long)(opt.interval_s * 1e9);

			ts.tv_sec = ns / 1000000000LL;
			ts.tv_nsec = ns % 1000000000LL;
			nanosleep(&ts, NULL);	/* a signal cuts it short */
		}
		if (sre_stopping())
			break;
	}
	if (child > 0) {
		/* Pass the stop on and wait for the child to finish. */
		kill(child, sre_stop_signal() > 0 ? sre_stop_signal() : SIGTERM);
		while (waitpid(child, &ws, 0) < 0 && errno == EINTR)
			;
		ex = child_status(ws);
		if (ex == 128 + SIGTERM || ex == 128 + SIGINT)
			ex = EX_OK;	/* stopped as asked */
	}
	return ex;
}

static int
env_number(const char *name, double *out)
{
	const char *s = getenv(name);
	char *end;

	if (s == NULL || *s == '\0')
		return 0;
	errno = 0;
	*out = strtod(s, &end);
	if (errno || end == s || *end != '\0' || !isfinite(*out) || *out < 0) {
		sre_warnx("%s=%s: want a number >= 0", name, s);
		return -1;
	}
	return 1;
}

/*
 * Check what to govern (argc commands words left) against the options;
 * the threshold defaults from the environment.  EX_OK or an exit code.
 */
static int
check_target(int argc)
{
	double d;
	int rc;

	if ((opt.cgroup != NULL) + (opt.npids + opt.npidfiles > 0) +
	    (argc > 0) > 1) {
		sre_warnx("govern one thing: a cgroup, pids, or a command");
		return EX_USAGE;
	}
	if (opt.once && argc > 0) {
		sre_warnx("--once samples what runs already; it runs no command");
		return EX_USAGE;
	}
	if (opt.threshold_mb < 0) {
		if ((rc = env_number("MEMORY_THRESHOLD_MB", &d)) < 0)
			return EX_CONFIG;
		opt.threshold_mb = rc ? d : opt.cloud ? 450 : 0;
	}
	if (opt.low_mb > opt.threshold_mb && opt.threshold_mb > 0) {
		sre_warnx("--low %g is above the threshold %g", opt.low_mb,
		    opt.threshold_mb);
		return EX_USAGE;
	}
	return EX_OK;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		SRE_COMMON_LONGOPTS,
		{ "cgroup", required_argument, NULL, 'c' },
		{ "hold", required_argument, NULL, 'H' },
		{ "interval", required_argument, NULL, 'I' },
		{ "low", required_argument, NULL, 'l' },
		{ "once", no_argument, NULL, '1' },
		{ "period", required_argument, NULL, 'E' },
		{ "pid", required_argument, NULL, 'p' },
		{ "pidfile", required_argument, NULL, 'P' },
		{ "recover", required_argument, NULL, 'R' },
		{ "threshold", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 }
	};
	struct sre_bus *out;
	const char *env;
	long long n;
	char err[512];
	double d;
	int ch, ex, rc;

	sre_init("sre-govern");
	sre_common_init(&opt.c);
	opt.threshold_mb = opt.low_mb = -1;
	opt.hold_s = 1;
	opt.recover_s = 10;
	opt.interval_s = 0.5;
	opt.period_s = 30;
	env = getenv("ENV");
	opt.cloud = env != NULL && strcmp(env, "cloud") == 0;
	if ((rc = env_number("MAX_LLM_CONCURRENCY", &d)) < 0)
		return EX_CONFIG;
	if (rc)
		opt.max_llm = d > 1000 ? 1000 : (int)d;
	while ((ch = sre_getopt(&opt.c, argc, argv, "+1c:l:p:P:t:", longopts,
	    usage, &ex)) != -1) {
		switch (ch) {
		case '1':
			opt.once = 1;
			break;
		case 'c':
			opt.cgroup = optarg;
			break;
		case 'E':
			if (seconds("--period", optarg, 0.1, &opt.period_s) < 0)
				return EX_USAGE;
			break;
		case 'H':
			if (seconds("--hold", optarg, 0, &opt.hold_s) < 0)
				return EX_USAGE;
			break;
		case 'I':
			if (seconds("--interval", optarg, 0.05,
			    &opt.interval_s) < 0)
				return EX_USAGE;
			break;
		case 'l':
			if (seconds("--low", optarg, 0, &opt.low_mb) < 0)
				return EX_USAGE;
			break;
		case 'p':
			if (opt.npids == MAX_PIDS) {
				sre_warnx("--pid: at most %d", MAX_PIDS);
				return EX_USAGE;
			}
			if (sre_opt_count("--pid", optarg, 1, 4194304, &n) < 0)
				return EX_USAGE;
			opt.pids[opt.npids++] = (pid_t)n;
			break;
		case 'P':
			if (opt.npidfiles == MAX_PIDS) {
				sre_warnx("--pidfile: at most %d", MAX_PIDS);
				return EX_USAGE;
			}
			opt.pidfiles[opt.npidfiles++] = optarg;
			break;
		case 'R':
			if (seconds("--recover", optarg, 0, &opt.recover_s) < 0)
				return EX_USAGE;
			break;
		case 't':
			if (seconds("--threshold", optarg, 0,
			    &opt.threshold_mb) < 0)
				return EX_USAGE;
			break;
		}
	}
	if (ex >= 0)
		return ex;
	argc -= optind;
	argv += optind;
	if ((ex = check_target(argc)) != EX_OK)
		return ex;
	if ((out = sre_bus_open(opt.c.out, SRE_BUS_OUT, NULL, err,
	    sizeof(err), &ex)) == NULL) {
		sre_warnx("%s", err);
		return ex;
	}
	ex = govern(out, argc > 0 ? argv : NULL);
	if (sre_bus_close(out) == SRE_WRITE_ERROR && ex == EX_OK) {
		sre_warn("writing output failed");
		ex = EX_IOERR;
	}
	return ex;
}
