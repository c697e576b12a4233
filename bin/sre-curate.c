/*
 * sre-curate: the long-term memory of SRE-Space.
 *
 * Reads every event of the loop and keeps, in the LMDB store under the
 * state directory, each incident's timeline and record.  When an incident
 * closes (recovery after a fix: auto_resolved; escalation: escalated; no
 * news within --timeout of event time: unresolved) it writes a Markdown
 * post-mortem to <state-dir>/postmortems/, learns (a verified fix counts
 * as a success of its fingerprint's CAG entry, a fix without recovery as
 * a failure) and writes a `postmortem` event.  Applying the same events
 * again changes nothing.  A diagnosis, verdict or action without a valid
 * signature of its issuer (mac.h) is reported and left out of the records,
 * so a fix is credited only from sre-fix's signed actions; a recovery
 * closes, and teaches, only an incident opened by an anomaly seen here.
 *
 * Subcommands read the store: `report` (the reliability metrics), `search`
 * (similar past incidents), `export` and `import` (NDJSON, lossless), and
 * `gc --keep-days N`.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bsd/stdlib.h>

#include "curate.h"
#include "curate-report.h"
#include "evtime.h"
#include "mac.h"
#include "sre.h"
#include "store.h"

enum {
	OPT_INCIDENT = SRE_OPT_TOOL, OPT_JSON, OPT_KEEP_DAYS, OPT_LIMIT,
	OPT_SINCE, OPT_TIMEOUT, OPT_TRUTH, OPT_UNTIL, OPT_VERIFY
};

static struct {
	struct sre_common c;
	const char *incident;
	const char *truth;
	int json;
	long long keep_days;	/* -1: not given */
	long long limit;
	int64_t since, until;
	int64_t timeout_ms;
	int64_t verify_ms;	/* report: 0 for the default */
	struct sre_store *st;
	struct sre_curate cur;
	struct sre_mac_key key;
	int64_t base_ms;	/* the event clock as events last moved it */
	int64_t wall_at_base;	/* sre_now_ms() then */
} opt;

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: sre-curate [-hqVv] [-i URL] [--max-line N] [-o URL] "
	    "[--state-dir DIR]\n"
	    "                  [--timeout SECONDS] [FILE]\n"
	    "       sre-curate report [--json] [--since TIME] [--truth FILE] "
	    "[--until TIME]\n"
	    "                         [--verify-window DURATION]\n"
	    "       sre-curate search [--json] [--limit N] "
	    "[--incident ID | TEXT ...]\n"
	    "       sre-curate export [-o URL]\n"
	    "       sre-curate import [-i URL] [FILE]\n"
	    "       sre-curate gc --keep-days N\n"
	    "  -i, --in URL         read events (import: records) from URL "
	    "(default -)\n"
	    "  -o, --out URL        write postmortem events (export: records) "
	    "to URL\n"
	    "      --state-dir DIR  the store and post-mortems (default "
	    "$SRE_STATE_DIR or .sre)\n"
	    "      --timeout SEC    close an incident as unresolved after SEC "
	    "seconds of\n"
	    "                       event time without news (default 1800)\n"
	    "      --json           report and search as JSON\n"
	    "      --since TIME     report from TIME: epoch ms, YYYY-MM-DD"
	    "[THH:MM[:SS]][Z],\n"
	    "                       or -N[smhd] before now\n"
	    "      --until TIME     report up to TIME (exclusive)\n"
	    "      --verify-window D  an incident open D after its fix (or its "
	    "first\n"
	    "                       anomaly) counts as a failure (default 3m)\n"
	    "      --truth FILE     known root causes, for cognitive accuracy:\n"
	    "                       NDJSON, or a generator's truth file\n"
	    "      --limit N        search: at most N results (default 5)\n"
	    "      --incident ID    search: incidents similar to this one\n"
	    "      --keep-days N    gc: keep closed incidents of the last N "
	    "days\n"
	    "      --max-line N     longest line in bytes (default 16777216)\n"
	    "  -q, --quiet          report errors only\n"
	    "  -v, --verbose        report more\n"
	    "  -h, --help           this help\n"
	    "  -V, --version        print the version\n");
}

static int
store_open(unsigned flags)
{
	struct sre_store_opts so = { flags, 0, 0 };
	char err[1024];
	int ex;

	ex = sre_store_open(&opt.st, sre_state_dir(&opt.c), &so, err,
	    sizeof(err));
	if (ex != EX_OK) {
		sre_warnx("cannot open the store: %s", err);
		return ex;
	}
	if (sre_store_migrated(opt.st))
		sre_notice("migrated the store %s from schema %d to %d",
		    sre_store_path(opt.st), sre_store_migrated(opt.st),
		    SRE_STORE_SCHEMA);
	return EX_OK;
}

/* ---- the stream ------------------------------------------------------------ */

/* Write out the postmortem events queued, flush, then let the outbox go. */
static int
deliver(struct sre_stream *s)
{
	jv pm = sre_curate_take(&opt.cur);
	int i, n = jv_array_length(jv_copy(pm)), ex, rc;
	char err[1024];

	if (n == 0) {
		jv_free(pm);
		return 0;
	}
	for (i = 0; i < n; i++)
		if (sre_stream_emit_jv(s, jv_array_get(jv_copy(pm), i)) < 0) {
			jv_free(pm);
			return 0;	/* the loop sees why */
		}
	/* Only what reached the output leaves the outbox. */
	if ((rc = sre_bus_flush(s->out)) != SRE_WRITE_OK) {
		if (rc == SRE_WRITE_EPIPE)
			s->epipe = 1;
		else if (!s->failed) {
			sre_warn("writing output to %s failed",
			    sre_bus_url(s->out));
			s->failed = EX_IOERR;
		}
		jv_free(pm);
		return 0;
	}
	if ((ex = sre_curate_delivered(&opt.cur, pm, err, sizeof(err))) !=
	    EX_OK) {
		sre_warnx("%s", err);
		return ex;
	}
	return 0;
}

static int
on_event(struct sre_stream *s, const struct sre_event_in *e, void *ctx)
{
	char err[1024];
	int64_t before = opt.cur.clock_ms;
	int ex;

	(void)ctx;
	if (sre_mac_control(e->type) &&
	    sre_mac_check(&opt.key, e->ev, err, sizeof(err)) < 0) {
		sre_stream_reject(s, "%s: ignored", err);
		return 0;
	}
	ex = sre_curate_event(&opt.cur, e->ev, err, sizeof(err));
	if (ex == EX_DATAERR) {
		sre_stream_reject(s, "%s", err);
		return 0;
	}
	if (ex != EX_OK) {
		sre_warnx("%s", err);
		return ex;
	}
	if (opt.cur.clock_ms != before) {
		opt.base_ms = opt.cur.clock_ms;
		opt.wall_at_base = sre_now_ms();
	}
	return deliver(s);
}

/* A quiet stream: event time goes on as the wall clock does, so stale
 * incidents close even when nothing more arrives. */
static int
on_idle(struct sre_stream *s, int at_end, void *ctx)
{
	char err[1024];
	int ex;

	(void)ctx;
	if (!at_end && opt.wall_at_base > 0) {
		ex = sre_curate_tick(&opt.cur, opt.base_ms +
		    (sre_now_ms() - opt.wall_at_base), err, sizeof(err));
		if (ex != EX_OK) {
			sre_warnx("%s", err);
			return ex;
		}
	}
	return deliver(s);
}

static int
cmd_curate(void)
{
	struct sre_curate_opts co = { sre_state_dir(&opt.c), opt.timeout_ms };
	struct sre_stream s;
	char err[1024];
	int ex;

	if ((ex = sre_mac_key_load(&opt.key, &opt.c, err, sizeof(err))) !=
	    EX_OK) {
		sre_warnx("%s", err);
		return ex;
	}
	if ((ex = store_open(0)) != EX_OK)
		return ex;
	if ((ex = sre_curate_init(&opt.cur, opt.st, &co, err,
	    sizeof(err))) != EX_OK ||
	    (ex = sre_curate_recover(&opt.cur, err, sizeof(err))) != EX_OK) {
		sre_warnx("%s", err);
		goto out;
	}
	if ((ex = sre_stream_open(&s, &opt.c)) != EX_OK)
		goto out;
	s.idle_ms = 1000;
	if ((ex = deliver(&s)) == EX_OK)
		ex = sre_stream_events(&s, 0, on_event, on_idle, NULL);
	else {
		sre_bus_close(s.in);
		sre_bus_close(s.out);
	}
	sre_info("%llu lines: %llu stored, %llu already stored, %llu "
	    "ignored, %llu rejected; %llu incidents closed", s.lines,
	    opt.cur.stored, opt.cur.duplicates, opt.cur.ignored, s.rejected,
	    opt.cur.closed);
out:
	sre_curate_free(&opt.cur);
	sre_store_close(opt.st);
	return ex;
}

/* ---- report ------------------------------------------------------------------ */

/* Print text to stdout and check that it got there. */
static int
print(const char *text)
{
	if (fputs(text, stdout) == EOF || fflush(stdout) == EOF) {
		sre_warn("writing output failed");
		return EX_IOERR;
	}
	return EX_OK;
}

static int
print_jv(jv v)
{
	size_t n;
	char *s = sre_jv_dump(v, &n);
	int ex;

	if (s == NULL) {
		sre_warnx("out of memory");
		return EX_OSERR;
	}
	ex = print(s);
	free(s);
	return ex == EX_OK ? print("\n") : ex;
}

static int
cmd_report(void)
{
	char err[1024], *text;
	jv truth = jv_null(), problems, rep;
	int ex;

	if (opt.truth != NULL) {
		ex = sre_curate_truth_read(opt.truth, opt.c.max_line, &truth,
		    &problems);
		sre_warnx_list("", problems);
		if (ex != EX_OK) {
			jv_free(truth);
			return ex;
		}
	}
	if ((ex = store_open(SRE_STORE_RDONLY)) != EX_OK) {
		jv_free(truth);
		return ex;
	}
	rep = sre_curate_report(opt.st, opt.since, opt.until, opt.verify_ms,
	    truth, err, sizeof(err), &ex);
	jv_free(truth);
	sre_store_close(opt.st);
	if (!jv_is_valid(rep)) {
		sre_warnx("%s", err);
		return ex;
	}
	if (opt.json)
		return print_jv(rep);
	if ((text = sre_curate_report_text(rep)) == NULL) {
		sre_warnx("out of memory");
		return EX_OSERR;
	}
	ex = print(text);
	free(text);
	return ex;
}

/* ---- search ------------------------------------------------------------------- */

static int
print_hit(jv h)
{
	char line[2048];

	sre_curate_hit_line(h, line, sizeof(line));
	return print(line);
}

static int
cmd_search(char **words, int nwords)
{
	struct sre_txn *t;
	char err[1024], text[8192];
	size_t off = 0;
	int ex, i, n;
	jv hits;

	if (opt.incident == NULL && nwords == 0) {
		sre_warnx("search: give --incident ID or some text");
		return EX_USAGE;
	}
	if (opt.incident != NULL && nwords > 0) {
		sre_warnx("search: give --incident ID or text, not both");
		return EX_USAGE;
	}
	text[0] = '\0';
	for (i = 0; i < nwords; i++) {
		int w = snprintf(text + off, sizeof(text) - off, "%s%s",
		    i ? " " : "", words[i]);

		if (w < 0 || (size_t)w >= sizeof(text) - off) {
			sre_warnx("search: text too long");
			return EX_USAGE;
		}
		off += (size_t)w;
	}
	if ((ex = store_open(SRE_STORE_RDONLY)) != EX_OK)
		return ex;
	if ((ex = sre_store_read(opt.st, &t, err, sizeof(err))) != EX_OK) {
		sre_warnx("%s", err);
		sre_store_close(opt.st);
		return ex;
	}
	hits = sre_curate_similar(t, opt.incident, text, (int)opt.limit,
	    err, sizeof(err), &ex);
	if (!jv_is_valid(hits)) {
		sre_warnx("%s", err);
		jv_free(hits);
		sre_txn_end(t);
		sre_store_close(opt.st);
		return ex;
	}
	sre_txn_end(t);
	sre_store_close(opt.st);
	n = jv_array_length(jv_copy(hits));
	for (i = 0; i < n && ex == EX_OK; i++) {
		jv h = jv_array_get(jv_copy(hits), i);

		ex = opt.json ? print_jv(h) : print_hit(h);
		if (!opt.json)
			jv_free(h);
	}
	jv_free(hits);
	return ex;
}

/* ---- export, import, gc --------------------------------------------------------- */

static int
export_line(const char *line, size_t len, void *ctx)
{
	struct sre_bus *out = ctx;

	return sre_bus_write(out, line, len) == SRE_WRITE_OK ? 0 : EX_IOERR;
}

static int
cmd_export(void)
{
	struct sre_bus_opts bo = { opt.c.max_line };
	struct sre_bus *out;
	char err[1024];
	int ex, wc;

	if ((ex = store_open(SRE_STORE_RDONLY)) != EX_OK)
		return ex;
	if ((out = sre_bus_open(opt.c.out, SRE_BUS_OUT, &bo, err, sizeof(err),
	    &ex)) == NULL) {
		sre_warnx("%s", err);
		sre_store_close(opt.st);
		return ex;
	}
	ex = sre_store_export(opt.st, export_line, out, err, sizeof(err));
	wc = sre_bus_close(out);
	sre_store_close(opt.st);
	if (wc == SRE_WRITE_EPIPE)
		return EX_OK;
	/* "export stopped": export_line could not write; any other error
	 * is the store's, and says so itself. */
	if (wc != SRE_WRITE_OK || (ex != EX_OK &&
	    strcmp(err, "export stopped") == 0)) {
		sre_warn("writing output to %s failed", opt.c.out);
		return EX_IOERR;
	}
	if (ex != EX_OK)
		sre_warnx("%s", err);
	return ex;
}

struct import {
	jv rec;
};

static int
import_fn(struct sre_txn *t, void *ctx)
{
	struct import *im = ctx;

	return sre_txn_import(t, im->rec);
}

/* A record of sre-curate export: any JSON object (the store checks it). */
static int
on_import(struct sre_stream *s, const struct sre_event_in *e, void *ctx)
{
	struct import im = { .rec = e->ev };
	char err[1024];
	int ex;

	(void)ctx;
	ex = sre_store_write(opt.st, import_fn, &im, err, sizeof(err));
	if (ex == EX_DATAERR) {
		sre_stream_reject(s, "%s", err);
		return 0;
	}
	if (ex != EX_OK)
		sre_warnx("%s", err);
	return ex;
}

static int
cmd_import(void)
{
	struct sre_stream s;
	int ex;

	if ((ex = store_open(0)) != EX_OK)
		return ex;
	if ((ex = sre_stream_open(&s, &opt.c)) == EX_OK)
		ex = sre_stream_events(&s, SRE_STREAM_ANY, on_import, NULL,
		    NULL);
	sre_info("%llu records read, %llu rejected", s.lines, s.rejected);
	sre_store_close(opt.st);
	return ex;
}

static int
cmd_gc(void)
{
	struct sre_store_gc_stats gs;
	char err[1024];
	int ex;

	if (opt.keep_days < 0) {
		sre_warnx("gc: --keep-days N is required");
		return EX_USAGE;
	}
	if ((ex = store_open(0)) != EX_OK)
		return ex;
	ex = sre_store_gc(opt.st, sre_now_ms() - opt.keep_days * 86400000LL,
	    &gs, err, sizeof(err));
	sre_store_close(opt.st);
	if (ex != EX_OK) {
		sre_warnx("gc: %s", err);
		return ex;
	}
	sre_notice("gc: removed %lld incidents (%lld events), %lld samples, "
	    "%lld window counters", gs.incidents, gs.events, gs.samples,
	    gs.windows);
	return EX_OK;
}

/* ---- main ----------------------------------------------------------------------- */

static int
is_command(const char *s)
{
	static const char *const cmds[] = { "report", "search", "export",
	    "import", "gc", NULL };
	int i;

	for (i = 0; cmds[i] != NULL; i++)
		if (strcmp(s, cmds[i]) == 0)
			return 1;
	return 0;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		SRE_COMMON_LONGOPTS,
		{ "incident", required_argument, NULL, OPT_INCIDENT },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "keep-days", required_argument, NULL, OPT_KEEP_DAYS },
		{ "limit", required_argument, NULL, OPT_LIMIT },
		{ "since", required_argument, NULL, OPT_SINCE },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "truth", required_argument, NULL, OPT_TRUTH },
		{ "until", required_argument, NULL, OPT_UNTIL },
		{ "verify-window", required_argument, NULL, OPT_VERIFY },
		{ NULL, 0, NULL, 0 }
	};
	const char *cmd;
	long long n;
	int ch, ex;

	sre_init("sre-curate");
	sre_common_init(&opt.c);
	opt.keep_days = -1;
	opt.limit = 5;
	opt.until = INT64_MAX;
	while ((ch = sre_getopt(&opt.c, argc, argv, "", longopts,
	    usage, &ex)) != -1) {
		switch (ch) {
		case OPT_INCIDENT:
			opt.incident = optarg;
			break;
		case OPT_JSON:
			opt.json = 1;
			break;
		case OPT_KEEP_DAYS:
			if (sre_opt_count("--keep-days", optarg, 0, 1000000,
			    &opt.keep_days) < 0)
				return EX_USAGE;
			break;
		case OPT_LIMIT:
			if (sre_opt_count("--limit", optarg, 1, 10000,
			    &opt.limit) < 0)
				return EX_USAGE;
			break;
		case OPT_SINCE:
		case OPT_UNTIL:
			if (sre_curate_parse_time(optarg, sre_now_ms(),
			    ch == OPT_SINCE ? &opt.since :
			    &opt.until) < 0) {
				sre_warnx("%s %s: not a time (epoch ms, "
				    "YYYY-MM-DD[THH:MM[:SS]][Z] or -N[smhd])",
				    ch == OPT_SINCE ? "--since" : "--until",
				    optarg);
				return EX_USAGE;
			}
			break;
		case OPT_TIMEOUT:
			if (sre_opt_count("--timeout", optarg, 1, 365LL * 86400,
			    &n) < 0)
				return EX_USAGE;
			opt.timeout_ms = n * 1000;
			break;
		case OPT_TRUTH:
			opt.truth = optarg;
			break;
		case OPT_VERIFY:
			if (sre_opt_duration("--verify-window", optarg, 1,
			    SRE_DURATION_MAX, &opt.verify_ms) < 0)
				return EX_USAGE;
			break;
		}
	}
	if (ex >= 0)
		return ex;
	cmd = optind < argc ? argv[optind] : "";
	/* A first operand that is no command is the input FILE: "-", a
	 * file, or a path with a "/" (./report is the file, report the
	 * command). */
	if (*cmd != '\0' && !is_command(cmd)) {
		if (strcmp(cmd, "-") != 0 && strchr(cmd, '/') == NULL &&
		    access(cmd, F_OK) < 0) {
			sre_warnx("unknown command: %s (nor a file)", cmd);
			usage(stderr);
			return EX_USAGE;
		}
		cmd = "";
	} else if (*cmd != '\0')
		optind++;
	if (strcmp(cmd, "search") == 0)
		return cmd_search(argv + optind, argc - optind);
	if ((*cmd == '\0' || strcmp(cmd, "import") == 0) &&
	    sre_opt_input(&opt.c, argc - optind, argv + optind) < 0) {
		usage(stderr);
		return EX_USAGE;
	}
	if (*cmd != '\0' && strcmp(cmd, "import") != 0 && optind != argc) {
		sre_warnx("unexpected argument: %s", argv[optind]);
		usage(stderr);
		return EX_USAGE;
	}
	if (*cmd == '\0')
		return cmd_curate();
	if (strcmp(cmd, "report") == 0)
		return cmd_report();
	if (strcmp(cmd, "export") == 0)
		return cmd_export();
	if (strcmp(cmd, "import") == 0)
		return cmd_import();
	if (strcmp(cmd, "gc") == 0)
		return cmd_gc();
	sre_warnx("unknown command: %s", cmd);
	usage(stderr);
	return EX_USAGE;
}
