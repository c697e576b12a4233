/*
 * sre-jules: the architecture auditor, run from cron or a systemd timer.
 *
 * Reads what the loop remembers (the store of sre-curate: every incident's
 * timeline), recordings of its events (--events, -i), the topology events
 * among them, and with --repo the GitOps manifests; finds what no single
 * incident shows (chronic offenders, fixes that do not stick, single
 * points of failure, manifests without limits or probes, noisy detectors,
 * slowing recovery, LLM spend, a guard that vetoes most proposals) and
 * writes each finding as an `audit` event and all of them as a Markdown
 * report.  --fail-on makes findings an exit status for CI; --loop audits
 * again every loop_interval_s of the governor's state file.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "audit-store.h"
#include "evtime.h"
#include "file.h"
#include "govern.h"
#include "sre.h"
#include "store.h"

#define MAX_SOURCES 16
#define BUS_IDLE_MS 2000	/* a topic that is quiet this long is read */
#define GOV_POLL_MS 100

enum {
	OPT_FAIL_ON = SRE_OPT_TOOL, OPT_INTERVAL, OPT_INTERVAL_SCALE, OPT_NO_REPORT,
	OPT_NO_STORE, OPT_REPORT
};

static struct {
	struct sre_common c;
	struct sre_audit_limits lim;
	const char *sources[MAX_SOURCES];	/* bus URLs of recordings */
	int nsources;
	const char *repo;
	const char *report;	/* NULL: under <state-dir>/audits */
	int no_report, no_store, loop;
	int fail_on;		/* a severity, -1 none */
	double interval_s, scale;
	int out_gone;		/* the output failed or was closed */
} opt;

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: sre-jules [-hlqVv] [-e FILE] [--fail-on SEVERITY] [-i URL] "
	    "[--interval S]\n"
	    "                 [--interval-scale F] [--max-line N] [--no-report] "
	    "[--no-store]\n"
	    "                 [-o URL] [-r DIR] [--report FILE] "
	    "[--state-dir DIR]\n"
	    "                 [-t NAME=VALUE] [-w DURATION] [FILE ...]\n"
	    "  -e, --events FILE      read a recording of events (- for stdin; "
	    "repeatable)\n"
	    "  -i, --in URL           read events from a bus URL until it is "
	    "quiet\n"
	    "      --no-store         do not read the store under the state "
	    "directory\n"
	    "  -r, --repo DIR         audit the GitOps manifests in DIR\n"
	    "  -w, --window DURATION  audit incidents of the last DURATION "
	    "(7d; 0: all)\n"
	    "  -t, --threshold N=V    change a threshold (see sre-jules(1))\n"
	    "  -o, --out URL          write audit events to URL (default -)\n"
	    "      --report FILE      write the Markdown report to FILE\n"
	    "      --no-report        write no report\n"
	    "      --fail-on SEV      exit 1 on a finding of SEV or worse "
	    "(info, warning,\n"
	    "                         critical)\n"
	    "  -l, --loop             audit again every loop_interval_s of "
	    "governor.json\n"
	    "      --interval S       the interval without a governor file "
	    "(60)\n"
	    "      --interval-scale F multiply intervals by F (tests)\n"
	    "      --max-line N       longest event line in bytes "
	    "(default 16777216)\n"
	    "      --state-dir DIR    the store, governor.json, audits/ "
	    "(default\n"
	    "                         $SRE_STATE_DIR or .sre)\n"
	    "  -q, --quiet / -v, --verbose / -h, --help / -V, --version\n");
}

/* A recording: a bus URL, "-" or a path (bus.h reads a bare path). */
static int
add_source(const char *arg)
{
	if (opt.nsources == MAX_SOURCES) {
		sre_warnx("at most %d event sources", MAX_SOURCES);
		return -1;
	}
	opt.sources[opt.nsources++] = arg;
	return 0;
}

/* ---- reading ------------------------------------------------------- */

/* Read one source to its end (a network topic: until it is quiet). */
static int
read_source(struct sre_audit *a, const char *url, unsigned long long *bad)
{
	struct sre_bus_opts bo = { .maxlen = opt.c.max_line };
	struct sre_bus *b;
	const char *line;
	char err[1024];
	size_t len;
	int ex = EX_OK, rc, idle;
	jv ev;

	if ((b = sre_bus_open(url, SRE_BUS_IN, &bo, err, sizeof(err),
	    &ex)) == NULL) {
		sre_warnx("%s", err);
		return ex;
	}
	idle = strstr(url, "://") != NULL ? BUS_IDLE_MS : -1;
	for (;;) {
		rc = sre_bus_read(b, &line, &len, idle);
		if (rc == SRE_READ_EOF || rc == SRE_READ_TIMEOUT ||
		    rc == SRE_READ_STOP)
			break;
		if (rc == SRE_READ_ERROR) {
			sre_warnx("reading %s failed: %s", url,
			    sre_bus_error(b));
			ex = EX_IOERR;
			break;
		}
		if (rc == SRE_READ_TOOLONG) {
			sre_warnx("%s: line longer than %zu bytes, skipped",
			    sre_bus_where(b), opt.c.max_line ? opt.c.max_line :
			    (size_t)SRE_LINE_MAX_DEFAULT);
			(*bad)++;
			continue;
		}
		if (sre_line_blank(line, len))
			continue;
		ev = sre_stream_event(line, len, 0, err, sizeof(err));
		if (jv_is_valid(ev)) {
			if (sre_audit_event(a, ev) < 0) {
				jv_free(ev);
				sre_warnx("out of memory");
				ex = EX_OSERR;
				break;
			}
		} else {
			sre_warnx("%s: %s", sre_bus_where(b), err);
			(*bad)++;
		}
		jv_free(ev);
	}
	sre_bus_ack(b);
	sre_bus_close(b);
	return ex;
}

/* Feed the timelines of the store's incidents; *found says whether there
 * is a store. */
static int
read_store(struct sre_audit *a, int *found)
{
	struct sre_store_opts so = { .flags = SRE_STORE_RDONLY };
	struct sre_store *st;
	struct sre_txn *t;
	char err[1024];
	int ex;

	*found = 0;
	ex = sre_store_open(&st, sre_state_dir(&opt.c), &so, err, sizeof(err));
	if (ex == EX_NOINPUT)
		return EX_OK;
	if (ex != EX_OK) {
		sre_warnx("%s", err);
		return ex;
	}
	*found = 1;
	if ((ex = sre_store_read(st, &t, err, sizeof(err))) != EX_OK) {
		sre_warnx("%s", err);
		sre_store_close(st);
		return ex;
	}
	if (sre_audit_store(a, t, opt.lim.window_ms > 0 ? sre_now_ms() -
	    opt.lim.window_ms : INT64_MIN) == 0) {
		sre_txn_end(t);
		sre_store_close(st);
		return EX_OK;
	}
	sre_warnx("reading the store %s failed: %s", sre_store_path(st),
	    sre_txn_error(t, &ex));
	sre_txn_end(t);
	sre_store_close(st);
	return ex ? ex : EX_SOFTWARE;
}

/* ---- writing ------------------------------------------------------- */

/* Write the findings as audit events; 0, or -1 when the output is gone. */
static int
emit(struct sre_bus *out, jv findings)
{
	int rc = SRE_WRITE_OK;

	jv_array_foreach(findings, i, f) {
		jv ev = jv_object_merge(sre_event_new("audit", NULL), f);
		size_t len;
		char *line = sre_jv_dump(ev, &len);

		if (line == NULL) {
			rc = SRE_WRITE_ERROR;
			errno = ENOMEM;
		} else if (rc == SRE_WRITE_OK) {
			rc = sre_bus_write(out, line, len);
		}
		free(line);
		(void)i;
	}
	if (rc == SRE_WRITE_OK)
		rc = sre_bus_flush(out);
	if (rc == SRE_WRITE_OK)
		return 0;
	if (rc != SRE_WRITE_EPIPE)
		sre_warnx("writing to %s failed: %s", sre_bus_url(out),
		    sre_bus_error(out));
	opt.out_gone = rc == SRE_WRITE_EPIPE ? 1 : 2;
	return -1;
}

static int
write_all(int fd, const char *s, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, s, n)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Replace path with text: through a temporary file and rename(2) for a
 * regular file (a reader never sees half a report), in place otherwise
 * (/dev/stdout). */
static int
write_report(const char *path, const char *text)
{
	struct stat sb;
	int fd;

	if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) {
		if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0) {
			sre_warn("cannot open %s", path);
			return EX_CANTCREAT;
		}
		if (write_all(fd, text, strlen(text)) < 0) {
			sre_warn("writing %s failed", path);
			close(fd);
			return EX_IOERR;
		}
		close(fd);
		return EX_OK;
	}
	if (sre_file_replace(path, text, strlen(text), 0644) < 0) {
		if (errno == EIO || errno == ENOSPC || errno == EDQUOT) {
			sre_warn("writing %s failed", path);
			return EX_IOERR;
		}
		sre_warn("cannot create %s", path);
		return EX_CANTCREAT;
	}
	return EX_OK;
}

/* The report: --report FILE, else <state-dir>/audits/audit-STAMP.md and
 * latest.md (with --loop, latest.md only). */
static int
report(const char *md, char *shown, size_t shownlen)
{
	const char *dir = sre_state_dir(&opt.c);
	char adir[4096], path[4096], stamp[32];
	time_t t;
	struct tm tm;
	int ex;

	if (opt.report != NULL) {
		if ((ex = write_report(opt.report, md)) == EX_OK)
			snprintf(shown, shownlen, "%s", opt.report);
		return ex;
	}
	if (snprintf(adir, sizeof(adir), "%s/audits", dir) >=
	    (int)sizeof(adir)) {
		sre_warnx("%s: path too long", dir);
		return EX_CANTCREAT;
	}
	if (sre_state_dir_make(&opt.c) < 0 ||
	    (mkdir(adir, 0755) < 0 && errno != EEXIST)) {
		sre_warn("cannot create %s", adir);
		return EX_CANTCREAT;
	}
	if (!opt.loop) {
		t = (time_t)(sre_now_ms() / 1000);
		if (gmtime_r(&t, &tm) == NULL ||
		    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm) == 0 ||
		    snprintf(path, sizeof(path), "%s/audit-%s.md", adir,
		    stamp) >= (int)sizeof(path)) {
			sre_warnx("%s: path too long", adir);
			return EX_CANTCREAT;
		}
		if ((ex = write_report(path, md)) != EX_OK)
			return ex;
		snprintf(shown, shownlen, "%s", path);
	}
	if (snprintf(path, sizeof(path), "%s/latest.md", adir) >=
	    (int)sizeof(path)) {
		sre_warnx("%s: path too long", adir);
		return EX_CANTCREAT;
	}
	if ((ex = write_report(path, md)) == EX_OK && opt.loop)
		snprintf(shown, shownlen, "%s", path);
	return ex;
}

/* ---- one audit ----------------------------------------------------- */

/* Audit once; *worst is the highest severity found (-1 none), *count the
 * findings. */
static int
audit(struct sre_bus *out, int *worst, int *count)
{
	struct sre_audit *a;
	struct sre_audit_stats st;
	unsigned long long bad = 0;
	char err[1024], shown[4096] = "";
	int ex = EX_OK, rc, found = 0, i, sev[3] = { 0, 0, 0 };
	char *md;
	jv findings;

	*worst = -1;
	*count = 0;
	if ((a = sre_audit_new(&opt.lim, sre_now_ms())) == NULL) {
		sre_warnx("out of memory");
		return EX_OSERR;
	}
	if (!opt.no_store && (ex = read_store(a, &found)) != EX_OK)
		goto done;
	if (!opt.no_store && !found && opt.nsources == 0 && opt.repo == NULL) {
		sre_warnx("no store in %s/%s, and neither --events nor --repo "
		    "given", sre_state_dir(&opt.c), SRE_STORE_DIR);
		ex = EX_NOINPUT;
		goto done;
	}
	if (!found && !opt.no_store)
		sre_info("no store in %s/%s", sre_state_dir(&opt.c),
		    SRE_STORE_DIR);
	for (i = 0; i < opt.nsources && !sre_stopping(); i++)
		if ((ex = read_source(a, opt.sources[i], &bad)) != EX_OK)
			goto done;
	if (opt.repo != NULL &&
	    (rc = sre_audit_repo(a, opt.repo, err, sizeof(err))) < 0) {
		sre_warnx("--repo: %s", err);
		ex = errno == ENOENT || errno == ENOTDIR ? EX_NOINPUT :
		    EX_IOERR;
		goto done;
	}
	findings = sre_audit_findings(a);
	if (!jv_is_valid(findings)) {
		jv_free(findings);
		sre_warnx("out of memory");
		ex = EX_OSERR;
		goto done;
	}
	*worst = sre_audit_worst(findings);
	*count = jv_array_length(jv_copy(findings));
	jv_array_foreach(findings, k, f) {
		sev[sre_audit_severity(sre_jv_str(f, "severity"))]++;
		jv_free(f);
		(void)k;
	}
	if (emit(out, findings) < 0 && opt.out_gone == 2)
		ex = EX_IOERR;
	if (ex == EX_OK && !opt.no_report) {
		if ((md = sre_audit_markdown(a, findings)) == NULL) {
			sre_warnx("out of memory");
			ex = EX_OSERR;
		} else {
			ex = report(md, shown, sizeof(shown));
			free(md);
		}
	}
	jv_free(findings);
	sre_audit_stats(a, &st);
	sre_notice("%d finding%s (%d critical, %d warning, %d info) over %llu "
	    "incidents, %llu topology windows, %llu manifests%s%s", *count,
	    *count == 1 ? "" : "s", sev[2], sev[1], sev[0], st.in_window,
	    st.topology, st.manifests, *shown ? "; report " : "", shown);
	if (ex == EX_OK && bad > 0)
		ex = EX_DATAERR;
done:
	sre_audit_free(a);
	return ex;
}

/* ---- the loop ------------------------------------------------------ */

struct gov {
	struct sre_gov_watch w;
	int interval_s;		/* in force */
	const char *mode;	/* "normal", "degraded", "no governor" */
	int warned;
};

/* Poll governor.json; 1 when the interval in force changed. */
static int
gov_poll(struct gov *g)
{
	struct sre_gov_state st;
	char err[512];
	int rc, before = g->interval_s;

	/* A file that leaves members out gets the normal profile's. */
	memset(&st, 0, sizeof(st));
	sre_gov_knobs(&st, 0, 0);
	rc = sre_gov_poll(&g->w, &st, err, sizeof(err));
	if (rc == 0)
		return 0;
	if (rc > 0) {
		g->warned = 0;
		g->mode = st.degraded ? "degraded" : "normal";
		g->interval_s = st.loop_interval_s > 0 ? st.loop_interval_s :
		    (int)opt.interval_s;
	} else {
		if (*err != '\0' && !g->warned) {
			sre_warnx("%s: %s; auditing every %g s", g->w.path, err,
			    opt.interval_s);
			g->warned = 1;
		}
		g->mode = "no governor";
		g->interval_s = (int)opt.interval_s;
	}
	return g->interval_s != before;
}

static int
loop(struct sre_bus *out)
{
	struct gov g;
	int64_t t0 = sre_mono_ms(), start, deadline, now;
	int ex, worst, count, runs = 0;

	memset(&g, 0, sizeof(g));
	if (sre_gov_watch_init(&g.w, sre_state_dir(&opt.c)) < 0) {
		sre_warnx("%s: path too long", sre_state_dir(&opt.c));
		return EX_USAGE;
	}
	g.interval_s = (int)opt.interval_s;
	g.mode = "no governor";
	gov_poll(&g);
	for (;;) {
		start = sre_mono_ms();
		ex = audit(out, &worst, &count);
		runs++;
		if (opt.out_gone)
			return opt.out_gone == 2 ? EX_IOERR : EX_OK;
		if (ex != EX_OK)
			sre_warnx("audit %d failed (exit %d); trying again", runs,
			    ex);
		gov_poll(&g);
		sre_info("run %d at +%lld ms: %d findings; next in %.2f s (%s)",
		    runs, (long long)(start - t0), count,
		    g.interval_s * opt.scale, g.mode);
		while (!sre_stopping()) {
			struct timespec ts;
			int64_t wait;

			if (gov_poll(&g))
				sre_notice("audit interval now %d s (%s)%s",
				    g.interval_s, g.mode, opt.scale != 1 ?
				    ", scaled by --interval-scale" : "");
			deadline = start + (int64_t)(g.interval_s * opt.scale *
			    1000);
			if ((now = sre_mono_ms()) >= deadline)
				break;
			wait = deadline - now < GOV_POLL_MS ? deadline - now :
			    GOV_POLL_MS;
			ts.tv_sec = 0;
			ts.tv_nsec = (long)(wait * 1000000);
			nanosleep(&ts, NULL);	/* a signal cuts it short */
		}
		if (sre_stopping())
			return EX_OK;
	}
}

/* Options that cannot go together: 0, or -1 said why. */
static int
check_options(void)
{
	int i;

	if (opt.no_store && opt.nsources == 0 && opt.repo == NULL) {
		sre_warnx("--no-store: nothing to audit without --events or "
		    "--repo");
		return -1;
	}
	if (opt.loop) {
		if (opt.fail_on >= 0) {
			sre_warnx("--fail-on is for one audit, not --loop");
			return -1;
		}
		for (i = 0; i < opt.nsources; i++)
			if (strcmp(opt.sources[i], "-") == 0) {
				sre_warnx("--loop cannot read standard input "
				    "again; record to a file");
				return -1;
			}
	}
	if (opt.no_report && opt.report != NULL) {
		sre_warnx("--report and --no-report");
		return -1;
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		SRE_COMMON_LONGOPTS,
		{ "events", required_argument, NULL, 'e' },
		{ "fail-on", required_argument, NULL, OPT_FAIL_ON },
		{ "interval", required_argument, NULL, OPT_INTERVAL },
		{ "interval-scale", required_argument, NULL, OPT_INTERVAL_SCALE },
		{ "loop", no_argument, NULL, 'l' },
		{ "no-report", no_argument, NULL, OPT_NO_REPORT },
		{ "no-store", no_argument, NULL, OPT_NO_STORE },
		{ "report", required_argument, NULL, OPT_REPORT },
		{ "repo", required_argument, NULL, 'r' },
		{ "threshold", required_argument, NULL, 't' },
		{ "window", required_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 }
	};
	struct sre_bus *out;
	char err[1024];
	int ch, ex, worst, count, rc;

	sre_init("sre-jules");
	sre_common_init(&opt.c);
	sre_audit_limits_init(&opt.lim);
	opt.fail_on = -1;
	opt.interval_s = 60;
	opt.scale = 1;
	while ((ch = sre_getopt(&opt.c, argc, argv, "e:i:lr:t:w:", longopts,
	    usage, &ex)) != -1) {
		switch (ch) {
		case 'e':
		case 'i':	/* a source, not the one input: repeatable */
			if (add_source(optarg) < 0)
				return EX_USAGE;
			break;
		case OPT_FAIL_ON:
			if ((opt.fail_on = sre_audit_severity(optarg)) < 0) {
				sre_warnx("--fail-on %s: want info, warning or "
				    "critical", optarg);
				return EX_USAGE;
			}
			break;
		case OPT_INTERVAL:
			if (sre_opt_real("--interval", optarg, 1, 86400 * 7, 0,
			    &opt.interval_s) < 0)
				return EX_USAGE;
			break;
		case OPT_INTERVAL_SCALE:
			if (sre_opt_real("--interval-scale", optarg, 0.001, 1000, 0,
			    &opt.scale) < 0)
				return EX_USAGE;
			break;
		case 'l':
			opt.loop = 1;
			break;
		case OPT_NO_REPORT:
			opt.no_report = 1;
			break;
		case OPT_NO_STORE:
			opt.no_store = 1;
			break;
		case 'r':
			opt.repo = optarg;
			break;
		case OPT_REPORT:
			opt.report = optarg;
			break;
		case 't':
			if (sre_audit_limit_set(&opt.lim, optarg, err,
			    sizeof(err)) < 0) {
				sre_warnx("--threshold %s", err);
				return EX_USAGE;
			}
			break;
		case 'w':
			if (sre_opt_duration("--window", optarg, 0,
			    SRE_DURATION_MAX, &opt.lim.window_ms) < 0)
				return EX_USAGE;
			break;
		}
	}
	if (ex >= 0)
		return ex;
	/* Operands are recordings too, as -e gives them. */
	for (; optind < argc; optind++)
		if (add_source(argv[optind]) < 0)
			return EX_USAGE;
	if (check_options() < 0)
		return EX_USAGE;
	if ((out = sre_bus_open(opt.c.out, SRE_BUS_OUT, NULL, err,
	    sizeof(err), &ex)) == NULL) {
		sre_warnx("%s", err);
		return ex;
	}
	if (opt.loop) {
		ex = loop(out);
	} else {
		ex = audit(out, &worst, &count);
		if (ex == EX_OK && opt.fail_on >= 0 && worst >= opt.fail_on)
			ex = 1;
	}
	rc = sre_bus_close(out);
	if (rc == SRE_WRITE_ERROR && ex == EX_OK && !opt.out_gone) {
		sre_warn("writing output failed");
		ex = EX_IOERR;
	}
	return ex;
}
