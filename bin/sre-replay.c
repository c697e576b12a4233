/*
 * sre-replay: replay recorded telemetry or events at a chosen speed.
 *
 * Reads an NDJSON recording (OTLP/JSON export lines, journalctl -o json,
 * metric points or events) and writes its lines to --out.  With --speed N
 * the gaps between records follow the recording's own timestamps divided
 * by N; without it lines go out as fast as they can.  --rebase-time shifts
 * every known timestamp so the first record happens now; --loop plays the
 * recording again and again, each pass shifted by its length so event time
 * keeps moving forward.  Lines are copied byte for byte apart from the
 * digits of the timestamps (see retime.h); a line that is not a JSON
 * object is reported and skipped.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bsd/stdlib.h>

#include "evtime.h"
#include "progress.h"
#include "retime.h"
#include "sre.h"

static struct {
	struct sre_common c;
	double speed;		/* 0: as fast as possible */
	int loop;
	int rebase;
	long long max_loops;	/* 0: for ever */
	int64_t max_gap_ms;	/* longest pause waited for; 0: any */
} opt;

/* Replay state across lines and passes. */
struct replay {
	struct sre_sbuf buf;
	int64_t t0_ns;		/* recording time of the first record */
	int64_t tmin_ns, tmax_ns;	/* range seen in this pass */
	int64_t delta_ns;	/* shift applied to this pass */
	int64_t base_delta_ns;	/* the --rebase-time shift */
	long long wall0_ns;	/* monotonic clock at the first record */
	int64_t last_ns;	/* recording time of the previous record */
	int have_last;		/* last_ns is set (this pass) */
	int started;
	unsigned long long records;
	struct sre_progress prog;	/* "N records so far" on a terminal */
};

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: sre-replay [-hlqrVv] [--loops N] [--max-line N] [-o URL] "
	    "[-s N]\n"
	    "                  [--max-gap DURATION] [--state-dir DIR] "
	    "[-i URL | FILE]\n"
	    "  -s, --speed N      pace records at N times the recorded speed\n"
	    "                     (default: as fast as possible)\n"
	    "      --max-gap D    do not wait out a jump in the recording's time\n"
	    "                     longer than D (default 1h; 0: wait any)\n"
	    "  -l, --loop         replay again at the end, time moving on\n"
	    "      --loops N      stop after N passes (implies --loop)\n"
	    "  -r, --rebase-time  shift timestamps so the first record is now\n"
	    "  -i, --in URL       read from URL (default -); FILE, a path, is "
	    "file:FILE,\n"
	    "                     read through gzip when it ends in .gz\n"
	    "  -o, --out URL      write to URL (default -)\n"
	    "      --max-line N   longest line in bytes (default 16777216)\n"
	    "      --state-dir DIR  accepted; sre-replay keeps no state\n"
	    "  -q, --quiet        report errors only\n"
	    "  -v, --verbose      report more\n"
	    "  -h, --help         this help\n"
	    "  -V, --version      print the version\n");
}

static long long
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Sleep until the monotonic clock reads when_ns; 0, or -1 on a stop. */
static int
sleep_until(long long when_ns)
{
	struct timespec ts;

	ts.tv_sec = when_ns / 1000000000LL;
	ts.tv_nsec = when_ns % 1000000000LL;
	while (!sre_stopping()) {
		int rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts,
		    NULL);

		if (rc == 0)
			return 0;
		if (rc != EINTR)
			return 0;
	}
	return -1;
}

/* |b - a| in ns, as a double (any two int64 times). */
static double
jump(int64_t a, int64_t b)
{
	return fabs((double)b - (double)a);
}

static int
on_line(struct sre_stream *s, const char *line, size_t len, void *ctx)
{
	struct replay *rp = ctx;
	int64_t t_ns;
	char err[256];

	if (sre_retime(line, len, 0, NULL, &t_ns, err, sizeof(err)) < 0) {
		sre_stream_reject(s, "%s", err);
		return 0;
	}
	if (t_ns != SRE_RETIME_NONE) {
		if (!rp->started) {
			rp->started = 1;
			rp->t0_ns = t_ns;
			rp->wall0_ns = mono_ns();
			if (opt.rebase)
				rp->base_delta_ns = (sre_now_ms() * 1000000LL) -
				    t_ns;
			rp->delta_ns = rp->base_delta_ns;
			rp->tmin_ns = rp->tmax_ns = t_ns;
		}
		if (!rp->have_last) {
			rp->last_ns = t_ns;
			rp->have_last = 1;
		}
		if (opt.speed > 0 && opt.max_gap_ms > 0 &&
		    jump(rp->last_ns, t_ns) > opt.max_gap_ms * 1000000.0) {
			/* One absurd timestamp (or a long pause) is not
			 * waited out: pacing starts again from here, and
			 * again when the recording jumps back. */
			char w[32];

			sre_duration_fmt(opt.max_gap_ms, w, sizeof(w));
			sre_warnx("%s: the recording's time jumps by more than "
			    "--max-gap %s: not waited for",
			    sre_stream_where(s), w);
			rp->t0_ns = t_ns + rp->delta_ns - rp->base_delta_ns;
			rp->wall0_ns = mono_ns();
		}
		rp->last_ns = t_ns;
		if (t_ns < rp->tmin_ns)
			rp->tmin_ns = t_ns;
		if (t_ns > rp->tmax_ns)
			rp->tmax_ns = t_ns;
		if (opt.speed > 0) {
			/* Recorded offset from the first record, this pass's
			 * shift included, scaled to wall time. */
			double off = (double)(t_ns + rp->delta_ns -
			    rp->base_delta_ns - rp->t0_ns) / opt.speed;
			long long when;

			if (off > 4e18)		/* no overflow: "never" */
				off = 4e18;
			when = rp->wall0_ns + (long long)off;

			if (when > mono_ns()) {
				if (sre_bus_flush(s->out) != SRE_WRITE_OK)
					return 0;	/* emit reports */
				if (sleep_until(when) < 0)
					return 0;
			}
		}
	}
	rp->records++;
	if (sre_progress_due(&rp->prog))
		sre_progress_show(&rp->prog, "%llu records", rp->records);
	if (rp->delta_ns == 0)
		return sre_stream_emit(s, line, len), 0;
	if (sre_retime(line, len, rp->delta_ns, &rp->buf, &t_ns, err,
	    sizeof(err)) < 0) {
		sre_warnx("%s", err);
		return EX_OSERR;
	}
	sre_stream_emit(s, rp->buf.p, rp->buf.n);
	return 0;
}

static int
play(struct replay *rp, const char *url)
{
	struct sre_stream s;
	struct sre_common c = opt.c;
	long long pass;
	int ex = EX_OK, ex1;

	for (pass = 0; opt.max_loops == 0 || pass < opt.max_loops; pass++) {
		unsigned long long before = rp->records;

		rp->have_last = 0;	/* a pass starting over is no jump */
		c.in = url;
		/* Each pass appends to the same output; "-" stays stdout. */
		if ((ex1 = sre_stream_open(&s, &c)) != EX_OK)
			return ex1;
		ex1 = sre_stream_run(&s, on_line, NULL, rp);
		if (ex1 != EX_OK && ex1 != EX_DATAERR)
			return ex1;
		if (ex1 == EX_DATAERR)
			ex = EX_DATAERR;
		if (s.epipe || sre_stopping() || !opt.loop)
			break;
		if (rp->records == before) {
			sre_warnx("%s: nothing to replay", url);
			break;
		}
		/* The next pass starts one mean gap after this one ended. */
		if (rp->started) {
			int64_t span = rp->tmax_ns - rp->tmin_ns;
			int64_t gap = rp->records - before > 1 ?
			    span / (int64_t)(rp->records - before - 1) :
			    1000000000LL;

			if (gap <= 0)
				gap = 1000000;
			rp->delta_ns += span + gap;
		}
	}
	return ex;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		SRE_COMMON_LONGOPTS,
		{ "loop", no_argument, NULL, 'l' },
		{ "loops", required_argument, NULL, 'L' },
		{ "max-gap", required_argument, NULL, 'G' },
		{ "rebase-time", no_argument, NULL, 'r' },
		{ "speed", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 }
	};
	struct replay rp;
	const char *url;
	int ch, ex;

	sre_init("sre-replay");
	sre_common_init(&opt.c);
	opt.max_gap_ms = 3600000;
	while ((ch = sre_getopt(&opt.c, argc, argv, "lrs:", longopts,
	    usage, &ex)) != -1) {
		switch (ch) {
		case 'G':
			if (sre_opt_duration("--max-gap", optarg, 0,
			    SRE_DURATION_MAX, &opt.max_gap_ms) < 0)
				return EX_USAGE;
			break;
		case 'l':
			opt.loop = 1;
			break;
		case 'L':
			if (sre_opt_count("--loops", optarg, 1, LLONG_MAX,
			    &opt.max_loops) < 0)
				return EX_USAGE;
			opt.loop = 1;
			break;
		case 'r':
			opt.rebase = 1;
			break;
		case 's':
			if (sre_opt_real("--speed", optarg, 0, HUGE_VAL,
			    SRE_OPT_ABOVE | SRE_OPT_NOMAX, &opt.speed) < 0)
				return EX_USAGE;
			break;
		}
	}
	if ((ex = sre_opt_end(&opt.c, argc, argv, ex, usage)) >= 0)
		return ex;
	url = opt.c.in;
	if (opt.loop && strcmp(url, "-") == 0) {
		sre_warnx("--loop needs a file, not standard input");
		return EX_USAGE;
	}
	memset(&rp, 0, sizeof(rp));
	sre_progress_init(&rp.prog);
	ex = play(&rp, url);
	sre_progress_end(&rp.prog);
	sre_info("%llu records replayed", rp.records);
	sre_sbuf_free(&rp.buf);
	return ex;
}
