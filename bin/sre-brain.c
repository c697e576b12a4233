/*
 * sre-brain: root-cause analysis that names the origin, not the loudest
 * symptom.
 *
 * Reads events, gathers each incident's anomalies for a settle time
 * (event time: --settle, one scout window by default), and writes one
 * `diagnosis` per incident: ranked root causes with their reasons, a
 * calibrated confidence, a proposal from the remediation catalog, similar
 * past incidents from the store, the culprit's new log templates.  Later
 * anomalies that change the picture materially give an updated diagnosis
 * (revision 2, 3, ...).  Every line read is passed on unchanged.
 *
 * The engine is lib/brain/brain.h: incidents, settle times and revisions
 * (brain-settle.h), the reasoner (rca.h: deterministic, no network).  With
 * --llm (or OPENAI_API_KEY set), an OpenAI-compatible endpoint is asked as
 * well, through libcurl multi so that the stream never waits for it; its
 * answer is checked (brain-llm.h) and replaces the built-in diagnosis only
 * when valid.  This file holds the options, the LLM's client and the
 * governor's word on its concurrency, and the loop.
 *
 * An incident that sre-cag already diagnosed (a known fix) is left alone
 * unless an `action` for it fails or is reverted.  Each diagnosis is signed
 * (mac.h); a diagnosis or action read without a valid signature of its
 * issuer is reported, passed on and otherwise ignored.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/stdlib.h>

#include "brain.h"
#include "govern.h"
#include "sre.h"

static struct {
	struct sre_common c;
	struct sre_brain_conf b;	/* settle, top, the bounds */
	int pass;		/* pass input lines on */
	int llm;		/* -1 unset, 0 off, 1 on */
	int anonymize;		/* -1 default, 0, 1 */
	const char *model;
	const char *llm_url;
	long llm_timeout_ms;
	int llm_retries;
	int llm_concurrency;
	int memory;
	struct sre_mac_key key;
} opt;

/* What the loop's callbacks share. */
struct tool {
	struct sre_stream s;
	struct sre_brain *b;
	struct sre_llm *llm;
	struct sre_gov_watch gw;
	int gov_ok, degraded, base_concurrency;
	double gov_polled;
};

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: sre-brain [-hqVv] [--anonymize | --no-anonymize] "
	    "[-i URL] [--llm | --no-llm]\n"
	    "                 [--llm-concurrency N] [--llm-retries N] "
	    "[--llm-timeout T]\n"
	    "                 [--llm-url URL] [--max-anomalies N] "
	    "[--max-incidents N]\n"
	    "                 [--max-line N] [--max-memory MB] [--model NAME] "
	    "[--no-memory]\n"
	    "                 [--no-pass]"
	    "\n"
	    "                 [-o URL] [--settle T] [--evidence-wait T] "
	    "[--state-dir DIR]\n"
	    "                 [--top N] [FILE]\n"
	    "  -i, --in URL            read events from URL (default -)\n"
	    "  -o, --out URL           write to URL (default -)\n"
	    "      --settle T          gather an incident's anomalies this "
	    "long (10s)\n"
	    "      --evidence-wait T   a first diagnosis with no remedy "
	    "waits this much\n"
	    "                          more for deciding evidence (one "
	    "settle time; 0: not)\n"
	    "      --top N             root causes per diagnosis (5)\n"
	    "      --no-pass           write diagnoses only\n"
	    "      --no-memory         do not look for similar past "
	    "incidents\n"
	    "      --llm, --no-llm     ask an LLM too (default: when "
	    "OPENAI_API_KEY is set)\n"
	    "      --model NAME        LLM model (SRE_LLM_MODEL, "
	    "gpt-4o-mini)\n"
	    "      --llm-url URL       endpoint (OPENAI_BASE_URL, "
	    "https://api.openai.com/v1)\n"
	    "      --llm-timeout T     per request attempt (30s)\n"
	    "      --llm-retries N     retries on 429, 5xx, timeouts (3)\n"
	    "      --llm-concurrency N requests in flight "
	    "(MAX_LLM_CONCURRENCY, 4)\n"
	    "      --anonymize         replace names and ids sent to the "
	    "LLM (default unless local)\n"
	    "      --no-anonymize      send them as they are\n"
	    "      --max-incidents N   incidents remembered at once (10000)\n"
	    "      --max-anomalies N   anomalies kept per incident (1000)\n"
	    "      --max-memory MB     anomalies kept in all, in MiB (16)\n"
	    "      --state-dir DIR     state: the store (default "
	    "$SRE_STATE_DIR, ./.sre)\n"
	    "      --max-line N        longest input line in bytes\n"
	    "  -q, --quiet             report errors only\n"
	    "  -v, --verbose           report more\n"
	    "  -h, --help              this help\n"
	    "  -V, --version           print the version\n");
}

/* ---- the engine's callbacks ----------------------------------------- */

static void
emit(void *ctx, jv ev)
{
	struct tool *t = ctx;

	sre_stream_emit_jv(&t->s, ev);
}

static void
say(void *ctx, enum sre_brain_say how, int at_line, const char *msg)
{
	struct tool *t = ctx;
	const char *where = at_line ? sre_stream_where(&t->s) : NULL;

	switch (how) {
	case SRE_BRAIN_REJECT:
		sre_stream_reject(&t->s, "%s", msg);
		break;
	case SRE_BRAIN_WARN:
		sre_warnx("%s%s%s", where ? where : "", where ? ": " : "", msg);
		break;
	case SRE_BRAIN_NOTICE:
		sre_notice("%s%s%s", where ? where : "", where ? ": " : "", msg);
		break;
	case SRE_BRAIN_INFO:
		sre_info("%s%s%s", where ? where : "", where ? ": " : "", msg);
		break;
	}
}

/* The governor's word on LLM concurrency. */
static void
governor(void *ctx)
{
	struct tool *t = ctx;
	struct sre_gov_state st;
	char err[256];
	double now = sre_mono_msf();
	int rc, n;

	if (t->llm == NULL || !t->gov_ok || now - t->gov_polled < 1000)
		return;
	t->gov_polled = now;
	memset(&st, 0, sizeof(st));
	sre_gov_knobs(&st, 0, 0);	/* what the file leaves out */
	rc = sre_gov_poll(&t->gw, &st, err, sizeof(err));
	if (rc < 0 && err[0] != '\0')	/* reported once: until it changes */
		sre_notice("governor: %s", err);
	if (rc == 1) {
		t->degraded = st.degraded;
		n = st.degraded ? 1 : st.llm_concurrency > 0 ?
		    st.llm_concurrency : t->base_concurrency;
		if (n > t->base_concurrency)
			n = t->base_concurrency;
		if (n != sre_llm_concurrency(t->llm))
			sre_info("governor: %s, LLM concurrency %d",
			    st.degraded ? "degraded" : "normal", n);
		sre_llm_set_concurrency(t->llm, n);
	} else if (rc < 0 && t->degraded) {
		/* the file went away: back to the configured figure */
		t->degraded = 0;
		sre_llm_set_concurrency(t->llm, t->base_concurrency);
	}
}

/* ---- the loop ------------------------------------------------------- */

static int
on_event(struct sre_stream *s, const struct sre_event_in *e, void *ctx)
{
	struct tool *t = ctx;
	int ex = 0;

	if (sre_brain_event(t->b, e->ev, e->len) < 0) {
		sre_warnx("out of memory");
		ex = EX_OSERR;
	} else
		sre_brain_line_done(t->b);
	s->idle_ms = sre_brain_idle_ms(t->b);
	return ex;
}

static int
on_idle(struct sre_stream *s, int at_end, void *ctx)
{
	struct tool *t = ctx;

	if (at_end) {
		sre_brain_finish(t->b);
		return 0;
	}
	sre_brain_idle(t->b);
	s->idle_ms = sre_brain_idle_ms(t->b);
	return 0;
}

/* ---- setting up ----------------------------------------------------- */

/* The LLM's client, when asked for (--llm, or OPENAI_API_KEY set). */
static int
setup_llm(struct tool *t)
{
	struct sre_llm_conf lc;
	const char *key = getenv("OPENAI_API_KEY");
	const char *url = opt.llm_url ? opt.llm_url : getenv("OPENAI_BASE_URL");
	const char *env = getenv("ENV"), *mc = getenv("MAX_LLM_CONCURRENCY");
	char err[512];
	int on = opt.llm;

	if (on < 0)
		on = key != NULL && *key != '\0';
	if (!on)
		return EX_OK;
	if ((url == NULL || *url == '\0') && (key == NULL || *key == '\0')) {
		sre_warnx("--llm: OPENAI_API_KEY is needed for %s (or set "
		    "OPENAI_BASE_URL to a local server)", SRE_LLM_DEFAULT_URL);
		return EX_CONFIG;
	}
	memset(&lc, 0, sizeof(lc));
	lc.url = url;
	lc.api_key = key;
	lc.timeout_ms = opt.llm_timeout_ms;
	lc.retries = opt.llm_retries;
	if (opt.llm_concurrency > 0)
		lc.concurrency = opt.llm_concurrency;
	else if (mc != NULL && *mc != '\0') {
		long long n;

		if (sre_opt_count("MAX_LLM_CONCURRENCY", mc, 1, 1024, &n) < 0)
			return EX_CONFIG;
		lc.concurrency = (int)n;
	} else if (env != NULL && strcmp(env, "cloud") == 0)
		lc.concurrency = 1;
	else
		lc.concurrency = 4;
	t->base_concurrency = lc.concurrency;
	if ((t->llm = sre_llm_new(&lc, err, sizeof(err))) == NULL) {
		sre_warnx("%s", err);
		return EX_CONFIG;
	}
	opt.b.llm = t->llm;
	opt.b.model = opt.model ? opt.model : getenv("SRE_LLM_MODEL");
	if (opt.b.model == NULL || *opt.b.model == '\0')
		opt.b.model = SRE_LLM_DEFAULT_MODEL;
	opt.b.anonymize = opt.anonymize >= 0 ? opt.anonymize :
	    !sre_llm_is_local(t->llm);
	sre_info("LLM: %s at %s, %d at a time, %s", opt.b.model,
	    sre_llm_endpoint(t->llm), lc.concurrency, opt.b.anonymize ?
	    "anonymised" : "not anonymised");
	t->gov_ok = sre_gov_watch_init(&t->gw, sre_state_dir(&opt.c)) == 0;
	t->gov_polled = -1e9;
	governor(t);
	return EX_OK;
}

/* Memory, the key, the engine and the stream; then the loop.  Returns
 * the exit status. */
static int
run(struct tool *t)
{
	const struct sre_brain_stats *n;
	struct sre_brain_mem *mem = NULL;
	char err[512];
	int ex;

	if ((ex = setup_llm(t)) != EX_OK)
		return ex;
	if (opt.memory && (ex = sre_brain_mem_open(&mem,
	    sre_state_dir(&opt.c), err, sizeof(err))) != EX_OK) {
		sre_warnx("%s", err);
		return ex;
	}
	if (mem != NULL && !sre_brain_mem_ready(mem))
		sre_info("no store under %s yet: memory is empty",
		    sre_state_dir(&opt.c));
	if ((ex = sre_mac_key_load(&opt.key, &opt.c, err, sizeof(err))) !=
	    EX_OK) {
		sre_warnx("%s", err);
		goto out;
	}
	opt.b.key = &opt.key;
	opt.b.mem = mem;
	opt.b.emit = emit;
	opt.b.say = say;
	opt.b.govern = governor;
	opt.b.ctx = t;
	if ((t->b = sre_brain_new(&opt.b)) == NULL) {
		sre_warnx("out of memory");
		ex = EX_OSERR;
		goto out;
	}
	if ((ex = sre_stream_open(&t->s, &opt.c)) != EX_OK)
		goto out;
	t->s.idle_ms = -1;
	ex = sre_stream_events(&t->s, opt.pass ? SRE_STREAM_PASS : 0,
	    on_event, on_idle, t);
	n = sre_brain_stats(t->b);
	sre_info("%llu lines, %llu anomalies, %llu incidents, %llu "
	    "diagnoses (%llu updates), %llu left to sre-cag, %llu rejected",
	    t->s.lines, n->anomalies, n->incidents, n->diagnoses, n->updates,
	    n->held, t->s.rejected);
	if (t->llm != NULL)
		sre_info("LLM: %llu answers taken, %llu fell back, at most %d "
		    "at once", n->llm_ok, n->llm_fallback,
		    sre_llm_peak(t->llm));
out:
	sre_brain_free(t->b);
	sre_brain_mem_close(mem);
	return ex;
}

enum {
	OPT_ANON = SRE_OPT_TOOL, OPT_NOANON, OPT_LLM, OPT_NOLLM, OPT_CONC,
	OPT_RETRIES, OPT_TIMEOUT, OPT_URL, OPT_MAXANOM, OPT_MAXINC,
	OPT_MAXMEM, OPT_MODEL, OPT_NOMEM, OPT_NOPASS, OPT_SETTLE, OPT_TOP,
	OPT_EVWAIT
};

static const struct option longopts[] = {
	SRE_COMMON_LONGOPTS,
	{ "anonymize", no_argument, NULL, OPT_ANON },
	{ "llm", no_argument, NULL, OPT_LLM },
	{ "llm-concurrency", required_argument, NULL, OPT_CONC },
	{ "llm-retries", required_argument, NULL, OPT_RETRIES },
	{ "llm-timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "llm-url", required_argument, NULL, OPT_URL },
	{ "max-anomalies", required_argument, NULL, OPT_MAXANOM },
	{ "max-incidents", required_argument, NULL, OPT_MAXINC },
	{ "max-memory", required_argument, NULL, OPT_MAXMEM },
	{ "model", required_argument, NULL, OPT_MODEL },
	{ "no-anonymize", no_argument, NULL, OPT_NOANON },
	{ "no-llm", no_argument, NULL, OPT_NOLLM },
	{ "no-memory", no_argument, NULL, OPT_NOMEM },
	{ "no-pass", no_argument, NULL, OPT_NOPASS },
	{ "settle", required_argument, NULL, OPT_SETTLE },
	{ "evidence-wait", required_argument, NULL, OPT_EVWAIT },
	{ "top", required_argument, NULL, OPT_TOP },
	{ NULL, 0, NULL, 0 }
};

/* Parse the command line into opt: -1 to go on, else the exit status
 * (-h, -V, bad usage). */
static int
options(int argc, char *argv[])
{
	long long n;
	int64_t d;
	int ch, ex;

	sre_common_init(&opt.c);
	sre_brain_conf_init(&opt.b);
	opt.pass = 1;
	opt.llm = -1;
	opt.anonymize = -1;
	opt.llm_timeout_ms = 30000;
	opt.llm_retries = 3;
	opt.memory = 1;
	while ((ch = sre_getopt(&opt.c, argc, argv, "", longopts, usage,
	    &ex)) != -1) {
		switch (ch) {
		case OPT_ANON:
			opt.anonymize = 1;
			break;
		case OPT_CONC:
			if (sre_opt_count("--llm-concurrency", optarg, 1, 1024,
			    &n) < 0)
				return EX_USAGE;
			opt.llm_concurrency = (int)n;
			break;
		case OPT_LLM:
			opt.llm = 1;
			break;
		case OPT_MAXANOM:
			if (sre_opt_count("--max-anomalies", optarg, 1, 1000000,
			    &n) < 0)
				return EX_USAGE;
			opt.b.max_anomalies = n;
			break;
		case OPT_MAXMEM:
			if (sre_opt_count("--max-memory", optarg, 1, 65536,
			    &n) < 0)
				return EX_USAGE;
			opt.b.max_memory = (size_t)n << 20;
			break;
		case OPT_MAXINC:
			if (sre_opt_count("--max-incidents", optarg, 1,
			    10000000, &n) < 0)
				return EX_USAGE;
			opt.b.max_incidents = n;
			break;
		case OPT_MODEL:
			if (*optarg == '\0' || strlen(optarg) > 200) {
				sre_warnx("--model: a name of 1 to 200 bytes");
				return EX_USAGE;
			}
			opt.model = optarg;
			break;
		case OPT_NOANON:
			opt.anonymize = 0;
			break;
		case OPT_NOLLM:
			opt.llm = 0;
			break;
		case OPT_NOMEM:
			opt.memory = 0;
			break;
		case OPT_NOPASS:
			opt.pass = 0;
			break;
		case OPT_RETRIES:
			if (sre_opt_count("--llm-retries", optarg, 0, 20, &n) < 0)
				return EX_USAGE;
			opt.llm_retries = (int)n;
			break;
		case OPT_EVWAIT:
			if (sre_opt_duration("--evidence-wait", optarg, 0,
			    SRE_DURATION_MAX, &opt.b.evidence_ms) < 0)
				return EX_USAGE;
			break;
		case OPT_SETTLE:
			if (sre_opt_duration("--settle", optarg, 0,
			    SRE_DURATION_MAX, &opt.b.settle_ms) < 0)
				return EX_USAGE;
			break;
		case OPT_TIMEOUT:
			if (sre_opt_duration("--llm-timeout", optarg, 1, 600000,
			    &d) < 0)
				return EX_USAGE;
			opt.llm_timeout_ms = (long)d;
			break;
		case OPT_TOP:
			if (sre_opt_count("--top", optarg, 1, 100, &n) < 0)
				return EX_USAGE;
			opt.b.top = (int)n;
			break;
		case OPT_URL:
			opt.llm_url = optarg;
			break;
		}
	}
	if ((ex = sre_opt_end(&opt.c, argc, argv, ex, usage)) >= 0)
		return ex;
	return -1;
}

int
main(int argc, char *argv[])
{
	struct tool t;
	int ex;

	sre_init("sre-brain");
	if ((ex = options(argc, argv)) >= 0)
		return ex;
	memset(&t, 0, sizeof(t));
	ex = run(&t);
	sre_llm_free(t.llm);
	return ex;
}
