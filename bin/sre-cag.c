/*
 * sre-cag: tier-1 diagnosis for known patterns.
 *
 * Sits before sre-brain and passes every event through unchanged.  For an
 * `anomaly` whose fingerprint has an entry in the store's CAG table with
 * enough verified successes (--min-successes, default 2) and a good
 * enough success ratio (--min-ratio, default 0.8), it writes at once,
 * right after the anomaly, a `diagnosis` with source sre-cag, the cached
 * proposal and a confidence from the track record.  One per incident.
 * Each diagnosis is signed with the control key (mac.h).
 *
 * The store is opened read-only; sre-curate fills it.  With no store yet,
 * sre-cag passes everything through and looks again every few seconds.
 * Lines are scanned with the allocation-free parser of json.h: only a hit
 * costs a full parse.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>

#include "cag.h"
#include "json.h"
#include "mac.h"
#include "sre.h"
#include "store.h"

enum { OPT_MIN_RATIO = SRE_OPT_TOOL, OPT_MIN_SUCCESSES };
#define RECENT			1024	/* incidents remembered as diagnosed */
#define RETRY_MS		5000	/* looking for a store that is not there */
#define FIELD_MAX		(SRE_STORE_KEY_MAX + 1)

static struct {
	struct sre_common c;
	struct sre_cag_rule rule;
	struct sre_store *st;
	struct sre_mac_key key;
	int64_t next_try;	/* monotonic ms of the next open attempt */
	int warned;		/* a store error was reported */
	char recent[RECENT][FIELD_MAX];
	unsigned next_recent;
	unsigned long long anomalies, diagnosed;
} opt;

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: sre-cag [-hqVv] [-i URL] [--max-line N] [--min-ratio R] "
	    "[--min-successes N]\n"
	    "               [-o URL] [--state-dir DIR] [FILE]\n"
	    "  -i, --in URL            read events from URL (default -)\n"
	    "  -o, --out URL           write events to URL (default -)\n"
	    "      --min-successes N   verified successes a fix needs "
	    "(default 2)\n"
	    "      --min-ratio R       successes / attempts a fix needs "
	    "(default 0.8)\n"
	    "      --state-dir DIR     where the store is (default "
	    "$SRE_STATE_DIR or .sre)\n"
	    "      --max-line N        longest line in bytes (default "
	    "16777216)\n"
	    "  -q, --quiet             report errors only\n"
	    "  -v, --verbose           report more\n"
	    "  -h, --help              this help\n"
	    "  -V, --version           print the version\n");
}

/* Open the store if it is there.  EX_OK (open or not there yet) or the
 * code of a store we must not use. */
static int
try_open(int first)
{
	struct sre_store_opts so = { SRE_STORE_RDONLY, 0, 0 };
	char err[1024];
	int ex;

	opt.next_try = sre_mono_ms() + RETRY_MS;
	ex = sre_store_open(&opt.st, sre_state_dir(&opt.c), &so, err,
	    sizeof(err));
	if (ex == EX_OK) {
		if (!first)
			sre_notice("the store %s is here: known fixes are on",
			    sre_store_path(opt.st));
		return EX_OK;
	}
	if (ex == EX_NOINPUT) {
		if (first)
			sre_notice("%s: passing events through until it "
			    "appears", err);
		return EX_OK;
	}
	if (first) {
		sre_warnx("cannot open the store: %s", err);
		return ex;
	}
	if (!opt.warned) {
		sre_warnx("cannot open the store: %s", err);
		opt.warned = 1;
	}
	return EX_OK;
}

struct fields {
	char type[16];
	char incident[FIELD_MAX];
	char fp[FIELD_MAX];
};

/* Copy a string slice (unescaped) into a field; too long: empty. */
static void
field(char *dst, size_t size, const struct sre_json_str *s, int flags)
{
	char buf[FIELD_MAX * 3];
	size_t n;

	if (s->n >= size || s->n >= sizeof(buf) / 3) {
		dst[0] = '\0';
		return;
	}
	if (flags & SRE_JSON_STR_ESC) {
		n = sre_json_unescape(s->p, s->n, buf, SRE_JSON_UNESC_REPLACE);
		if (n >= size || memchr(buf, '\0', n) != NULL) {
			dst[0] = '\0';
			return;
		}
		memcpy(dst, buf, n);
	} else {
		n = s->n;
		memcpy(dst, s->p, n);
	}
	dst[n] = '\0';
}

/* Check that the line is a JSON object and pick the fields we need. */
static int
scan(const char *line, size_t len, struct fields *f, char *err,
    size_t errlen)
{
	struct sre_json j;
	struct sre_json_str k, s;
	const char *msg;
	size_t off;
	int fl;

	memset(f, 0, sizeof(*f));
	sre_json_init(&j, line, len, 0);
	if (sre_json_peek(&j) != SRE_JSON_OBJECT &&
	    sre_json_error(&j, NULL) == NULL) {
		snprintf(err, errlen, "not a JSON object");
		return -1;
	}
	if (sre_json_obj_begin(&j) == 0)
		while (sre_json_obj_next(&j, &k, NULL) > 0) {
			char *dst = NULL;
			size_t size = 0;

			if (SRE_JSON_KEY_IS(k, "type"))
				dst = f->type, size = sizeof(f->type);
			else if (SRE_JSON_KEY_IS(k, "incident"))
				dst = f->incident, size = sizeof(f->incident);
			else if (SRE_JSON_KEY_IS(k, "fingerprint"))
				dst = f->fp, size = sizeof(f->fp);
			if (dst != NULL && sre_json_peek(&j) ==
			    SRE_JSON_STRING) {
				if ((fl = sre_json_string(&j, &s)) >= 0)
					field(dst, size, &s, fl);
			} else if (dst != NULL) {
				dst[0] = '\0';
				sre_json_skip(&j);
			} else
				sre_json_skip(&j);
		}
	if (sre_json_end(&j) < 0) {
		msg = sre_json_error(&j, &off);
		snprintf(err, errlen, "not JSON: %s at byte %zu",
		    msg != NULL ? msg : "bad input", off);
		return -1;
	}
	return 0;
}

static int
seen(const char *incident)
{
	unsigned i;

	for (i = 0; i < RECENT; i++)
		if (strcmp(opt.recent[i], incident) == 0)
			return 1;
	return 0;
}

static void
remember(const char *incident)
{
	strlcpy(opt.recent[opt.next_recent], incident, FIELD_MAX);
	opt.next_recent = (opt.next_recent + 1) % RECENT;
}

/* The known fix for an anomaly, emitted after it. */
static void
consider(struct sre_stream *s, const struct fields *f, const char *line,
    size_t len)
{
	struct sre_txn *t;
	char err[1024];
	jv entry, an;
	int r, ex;

	if (opt.st == NULL && (sre_mono_ms() < opt.next_try ||
	    try_open(0) != EX_OK || opt.st == NULL))
		return;
	if ((ex = sre_store_read(opt.st, &t, err, sizeof(err))) != EX_OK) {
		if (!opt.warned)
			sre_warnx("reading the store: %s", err);
		opt.warned = 1;
		return;
	}
	r = sre_cag_lookup(t, f->fp, &opt.rule, &entry);
	if (r < 0 && !opt.warned) {
		sre_warnx("reading the store: %s", sre_txn_error(t, NULL));
		opt.warned = 1;
	}
	sre_txn_end(t);
	if (r <= 0)
		return;
	if (seen(f->incident)) {
		jv_free(entry);
		return;
	}
	an = sre_stream_event(line, len, 0, err, sizeof(err));
	if (jv_is_valid(an)) {
		sre_stream_emit_jv(s, sre_mac_sign(&opt.key,
		    sre_cag_diagnosis(an, entry)));
		remember(f->incident);
		opt.diagnosed++;
	} else
		sre_info("%s: anomaly left to sre-brain: %s",
		    sre_stream_where(s), err);
	jv_free(an);
	jv_free(entry);
}

static int
on_line(struct sre_stream *s, const char *line, size_t len, void *ctx)
{
	struct fields f;
	char err[512];

	(void)ctx;
	if (scan(line, len, &f, err, sizeof(err)) < 0) {
		sre_stream_reject(s, "%s", err);
		return 0;
	}
	if (sre_stream_emit(s, line, len) < 0)
		return 0;
	if (strcmp(f.type, "anomaly") == 0) {
		opt.anomalies++;
		if (f.incident[0] != '\0' && f.fp[0] != '\0')
			consider(s, &f, line, len);
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		SRE_COMMON_LONGOPTS,
		{ "min-ratio", required_argument, NULL, OPT_MIN_RATIO },
		{ "min-successes", required_argument, NULL,
		    OPT_MIN_SUCCESSES },
		{ NULL, 0, NULL, 0 }
	};
	struct sre_stream s;
	char err[512];
	long long n;
	int ch, ex;

	sre_init("sre-cag");
	sre_common_init(&opt.c);
	opt.rule.min_successes = SRE_CAG_MIN_SUCCESSES;
	opt.rule.min_ratio = SRE_CAG_MIN_RATIO;
	while ((ch = sre_getopt(&opt.c, argc, argv, "", longopts,
	    usage, &ex)) != -1) {
		switch (ch) {
		case OPT_MIN_RATIO:
			if (sre_opt_real("--min-ratio", optarg, 0, 1, 0,
			    &opt.rule.min_ratio) < 0)
				return EX_USAGE;
			break;
		case OPT_MIN_SUCCESSES:
			if (sre_opt_count("--min-successes", optarg, 1,
			    1000000, &n) < 0)
				return EX_USAGE;
			opt.rule.min_successes = (long)n;
			break;
		}
	}
	if ((ex = sre_opt_end(&opt.c, argc, argv, ex, usage)) >= 0)
		return ex;
	if ((ex = sre_mac_key_load(&opt.key, &opt.c, err, sizeof(err))) !=
	    EX_OK) {
		sre_warnx("%s", err);
		return ex;
	}
	if ((ex = try_open(1)) != EX_OK)
		return ex;
	if ((ex = sre_stream_open(&s, &opt.c)) != EX_OK) {
		sre_store_close(opt.st);
		return ex;
	}
	ex = sre_stream_run(&s, on_line, NULL, NULL);
	sre_info("%llu lines, %llu anomalies, %llu diagnosed from the CAG "
	    "table, %llu rejected", s.lines, opt.anomalies, opt.diagnosed,
	    s.rejected);
	sre_store_close(opt.st);
	return ex;
}
