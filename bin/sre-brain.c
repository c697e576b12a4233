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
 * The reasoner is lib/brain/rca.c: deterministic, no network.  With --llm (or
 * OPENAI_API_KEY set), an OpenAI-compatible endpoint is asked as well,
 * through libcurl multi so that the stream never waits for it; its answer
 * is checked and replaces the built-in diagnosis only when valid.
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
#include <time.h>

#include <bsd/stdlib.h>

#include "anon.h"
#include "brain-llm.h"
#include "brain-memory.h"
#include "govern.h"
#include "llm.h"
#include "logmine.h"
#include "mac.h"
#include "rca.h"
#include "sre.h"
#include "store.h"

#define SETTLE_MS	10000		/* one sre-scout window */
#define TTL_MS		(60 * 60 * 1000)	/* forget incidents idle this long */
#define MAX_INCIDENTS	10000
#define MAX_ANOMALIES	1000
#define MAX_REVISIONS	20
#define MAX_MEMORY	(16L << 20)	/* bytes of anomalies kept, in all */
#define KEEP_LINE	4096		/* an anomaly over this is trimmed */
#define KEEP_STRING	1024		/* ... its strings to this many bytes */
#define KEEP_ITEMS	32		/* ... its arrays to this many items */
#define KEEP_DEPTH	4		/* ... and its nesting to this deep */
#define HASH_SIZE	16384

static struct {
	struct sre_common c;
	int64_t settle_ms;
	int top;
	int pass;		/* pass input lines on */
	int llm;		/* -1 unset, 0 off, 1 on */
	int anonymize;		/* -1 default, 0, 1 */
	const char *model;
	const char *llm_url;
	long llm_timeout_ms;
	int llm_retries;
	int llm_concurrency;
	int memory;
	long max_incidents;
	long max_anomalies;
	long max_memory;
	struct sre_mac_key key;
} opt;

enum ist { I_PENDING, I_WAIT_LLM, I_DONE, I_HELD, I_EMPTY };

struct incident {
	char *id;
	jv anomalies;
	int nanom;
	size_t bytes;		/* weight() of the anomalies kept */
	int64_t first_ms, touched_ms;
	int64_t due_ms;		/* diagnose at this event time; -1 none */
	enum ist state;
	int revision;
	jv last;		/* the diagnosis out there, or null */
	jv cag_proposal;
	int cag, cag_failed, closed;
	jv failed;		/* proposals that failed */
	jv recovered;		/* fingerprint -> true */
	jv notes;		/* what was odd about its input */
	int late_noted, early_noted, capped_noted;
	/* waiting for the LLM */
	uint64_t tag;
	jv builtin;
	struct sre_anon *anon;
	jv llm_in;		/* [anomalies, templates, memory] as asked */
	struct incident *hnext, *prev, *next;
};

struct brain {
	struct sre_stream *s;
	struct sre_rca_graph *g;
	struct sre_brain_mem *mem;
	struct sre_logmine *miner;
	struct sre_llm *llm;
	int anonymize;
	const char *model;
	struct sre_gov_watch gw;
	int gov_ok, degraded, base_concurrency;
	double gov_polled;
	struct incident *hash[HASH_SIZE];
	struct incident *head, *tail;	/* least recently touched first */
	long nincidents;
	size_t bytes;		/* of every incident's anomalies */
	int64_t clock;		/* event time, -1 before any */
	int64_t clock_input;	/* the clock at the last line */
	double mono_input;
	int64_t next_due;
	uint64_t next_tag;
	size_t graph_dropped;
	jv seen;		/* fingerprint -> {occurrence: deviation} */
	jv episodes;		/* fingerprint -> its recoveries */
	size_t nseen;
	double llm_performed;
	unsigned long long anomalies, incidents, diagnoses, updates,
	    llm_ok, llm_fallback, held, evicted;
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
	    "                 [-o URL] [--settle T] [--state-dir DIR] "
	    "[--top N]\n"
	    "  -i, --in URL            read events from URL (default -)\n"
	    "  -o, --out URL           write to URL (default -)\n"
	    "      --settle T          gather an incident's anomalies this "
	    "long (10s)\n"
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

/* "10s", "500ms", "2m", "1h", a bare number of seconds; -1 if bad. */
static int64_t
duration_ms(const char *s)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || !isfinite(v) || v < 0)
		return -1;
	if (*end == '\0' || strcmp(end, "s") == 0)
		v *= 1000;
	else if (strcmp(end, "ms") == 0)
		;
	else if (strcmp(end, "m") == 0)
		v *= 60000;
	else if (strcmp(end, "h") == 0)
		v *= 3600000;
	else
		return -1;
	if (v > 1e12)
		return -1;
	return (int64_t)v;
}

static long
number(const char *name, const char *s, long lo, long hi)
{
	const char *errstr;
	long long v = strtonum(s, lo, hi, &errstr);

	if (errstr != NULL) {
		sre_warnx("%s %s: %s (%ld..%ld)", name, s, errstr, lo, hi);
		return -1;
	}
	return (long)v;
}

/* ---- incidents ------------------------------------------------------ */

static uint64_t
hash_id(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static struct incident *
inc_find(struct brain *b, const char *id)
{
	struct incident *i;

	for (i = b->hash[hash_id(id) & (HASH_SIZE - 1)]; i != NULL;
	    i = i->hnext)
		if (strcmp(i->id, id) == 0)
			return i;
	return NULL;
}

static void
lru_unlink(struct brain *b, struct incident *i)
{
	if (i->prev != NULL)
		i->prev->next = i->next;
	else
		b->head = i->next;
	if (i->next != NULL)
		i->next->prev = i->prev;
	else
		b->tail = i->prev;
	i->prev = i->next = NULL;
}

static void
lru_append(struct brain *b, struct incident *i)
{
	i->prev = b->tail;
	i->next = NULL;
	if (b->tail != NULL)
		b->tail->next = i;
	else
		b->head = i;
	b->tail = i;
}

static void
inc_touch(struct brain *b, struct incident *i)
{
	lru_unlink(b, i);
	lru_append(b, i);
	i->touched_ms = b->clock;
}

static void
inc_free(struct brain *b, struct incident *i)
{
	struct incident **pp;

	for (pp = &b->hash[hash_id(i->id) & (HASH_SIZE - 1)]; *pp != NULL;
	    pp = &(*pp)->hnext)
		if (*pp == i) {
			*pp = i->hnext;
			break;
		}
	lru_unlink(b, i);
	b->nincidents--;
	b->bytes -= i->bytes;
	free(i->id);
	jv_free(i->anomalies);
	jv_free(i->last);
	jv_free(i->cag_proposal);
	jv_free(i->failed);
	jv_free(i->recovered);
	jv_free(i->notes);
	jv_free(i->builtin);
	jv_free(i->llm_in);
	sre_anon_free(i->anon);
	free(i);
}

static void diagnose(struct brain *b, struct incident *i, int allow_llm);
static jv chronic_of(struct brain *b, struct incident *i);

/* Make room: forget the least recently touched incident that is not
 * waiting for the LLM (diagnosing it first if it never was). */
static void
inc_evict(struct brain *b, const char *why)
{
	struct incident *i;

	for (i = b->head; i != NULL; i = i->next)
		if (i->state != I_WAIT_LLM)
			break;
	if (i == NULL)
		return;
	if (i->state == I_PENDING && i->nanom > 0) {
		diagnose(b, i, 0);
		if (i->state == I_WAIT_LLM)
			return;
	}
	if (b->evicted++ == 0)
		sre_notice("%s: forgetting the least recent incidents, each "
		    "diagnosed first", why);
	inc_free(b, i);
}

static struct incident *
inc_get(struct brain *b, const char *id)
{
	struct incident *i = inc_find(b, id);
	uint64_t h;

	if (i != NULL)
		return i;
	while (b->nincidents >= opt.max_incidents && b->head != NULL) {
		long before = b->nincidents;

		inc_evict(b, "more open incidents than --max-incidents");
		if (b->nincidents == before)
			break;
	}
	if ((i = calloc(1, sizeof(*i))) == NULL ||
	    (i->id = strdup(id)) == NULL) {
		free(i);
		return NULL;
	}
	i->anomalies = jv_array();
	i->last = jv_null();
	i->cag_proposal = jv_null();
	i->failed = jv_array();
	i->recovered = jv_object();
	i->notes = jv_array();
	i->builtin = jv_null();
	i->llm_in = jv_null();
	i->due_ms = -1;
	i->first_ms = -1;
	i->state = I_EMPTY;
	h = hash_id(id) & (HASH_SIZE - 1);
	i->hnext = b->hash[h];
	b->hash[h] = i;
	lru_append(b, i);
	i->touched_ms = b->clock;
	b->nincidents++;
	b->incidents++;
	return i;
}

static void
inc_note(struct incident *i, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
inc_note(struct incident *i, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if (jv_array_length(jv_copy(i->notes)) >= 20)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	i->notes = jv_array_append(i->notes, jv_string(buf));
}

static void
schedule(struct brain *b, struct incident *i, int64_t due)
{
	i->due_ms = due;
	if (b->next_due < 0 || due < b->next_due)
		b->next_due = due;
}

/* ---- what goes into a diagnosis ------------------------------------- */

static int
jv_has_string(jv arr, const char *s)
{
	int k, n = jv_array_length(jv_copy(arr));

	for (k = 0; k < n; k++) {
		jv x = jv_array_get(jv_copy(arr), k);
		int same = jv_get_kind(x) == JV_KIND_STRING &&
		    strcmp(jv_string_value(x), s) == 0;

		jv_free(x);
		if (same)
			return 1;
	}
	return 0;
}

static jv
add_unique(jv arr, const char *s, int max)
{
	if (s == NULL || jv_array_length(jv_copy(arr)) >= max ||
	    jv_has_string(arr, s))
		return arr;
	return jv_array_append(arr, jv_string(s));
}

/*
 * The culprit's new or surging log templates: as the anomalies carry
 * them, else mined from their error messages with lib/logmine.
 */
static jv
templates_of(struct brain *b, jv anomalies, const char *service)
{
	jv out = jv_array();
	int i, n = jv_array_length(jv_copy(anomalies)), k, nk;

	if (service == NULL)
		return out;
	for (i = 0; i < n; i++) {
		jv ev = jv_array_get(jv_copy(anomalies), i);
		const char *s = sre_jv_str(ev, "service");
		jv evd, ts;

		if (s == NULL || strcmp(s, service) != 0) {
			jv_free(ev);
			continue;
		}
		evd = jv_object_get(jv_copy(ev), jv_string("evidence"));
		ts = jv_get_kind(evd) == JV_KIND_OBJECT ?
		    jv_object_get(jv_copy(evd), jv_string("templates")) :
		    jv_null();
		nk = jv_get_kind(ts) == JV_KIND_ARRAY ?
		    jv_array_length(jv_copy(ts)) : 0;
		for (k = 0; k < nk && jv_array_length(jv_copy(out)) < 5; k++) {
			jv t = jv_array_get(jv_copy(ts), k), o;
			const char *tid = sre_jv_str(t, "template_id");
			const char *tt = sre_jv_str(t, "template");
			double cnt = 0, base = 0;
			int j, dup = 0, no = jv_array_length(jv_copy(out));

			if (tt == NULL) {
				jv_free(t);
				continue;
			}
			for (j = 0; j < no && !dup; j++) {
				jv x = jv_array_get(jv_copy(out), j);
				const char *xt = sre_jv_str(x, "template");

				dup = xt != NULL && strcmp(xt, tt) == 0;
				jv_free(x);
			}
			if (dup) {
				jv_free(t);
				continue;
			}
			sre_jv_num(t, "count", &cnt);
			sre_jv_num(t, "baseline", &base);
			o = jv_object();
			o = jv_object_set(o, jv_string("template_id"),
			    tid ? jv_string(tid) : jv_null());
			o = jv_object_set(o, jv_string("template"),
			    jv_string(tt));
			o = jv_object_set(o, jv_string("count"),
			    jv_number(cnt));
			o = jv_object_set(o, jv_string("baseline"),
			    jv_number(base));
			out = jv_array_append(out, o);
			jv_free(t);
		}
		jv_free(ts);
		/* no templates: mine the messages */
		if (nk == 0 && b->miner != NULL) {
			jv ms = jv_get_kind(evd) == JV_KIND_OBJECT ?
			    jv_object_get(jv_copy(evd), jv_string("messages")) :
			    jv_null();
			int nm = jv_get_kind(ms) == JV_KIND_ARRAY ?
			    jv_array_length(jv_copy(ms)) : 0;

			for (k = 0; k < nm && k < 8; k++) {
				jv m = jv_array_get(jv_copy(ms), k);
				const char *tx = sre_jv_str(m, "text");
				struct sre_logmine_match lm;
				char idb[17];
				double cnt = 1;
				int j, no, dup = 0;

				if (tx == NULL || sre_logmine_add(b->miner, tx,
				    strnlen(tx, 4096), &lm) < 0) {
					jv_free(m);
					continue;
				}
				sre_jv_num(m, "count", &cnt);
				sre_logmine_id_str(lm.id, idb);
				no = jv_array_length(jv_copy(out));
				for (j = 0; j < no && !dup; j++) {
					jv x = jv_array_get(jv_copy(out), j);
					const char *xi = sre_jv_str(x,
					    "template_id");

					if (xi != NULL && strcmp(xi, idb) == 0) {
						double c0 = 0;

						sre_jv_num(x, "count", &c0);
						out = jv_array_set(out, j,
						    jv_object_set(jv_copy(x),
						    jv_string("count"),
						    jv_number(c0 + cnt)));
						dup = 1;
					}
					jv_free(x);
				}
				if (!dup && no < 5)
					out = jv_array_append(out, jv_object_set(
					    jv_object_set(jv_object_set(
					    jv_object(), jv_string("template_id"),
					    jv_string(idb)),
					    jv_string("template"), jv_string(
					    lm.tmpl)), jv_string("count"),
					    jv_number(cnt)));
				jv_free(m);
			}
			jv_free(ms);
		}
		jv_free(evd);
		jv_free(ev);
	}
	return out;
}

/* The query for memory: fingerprints first, then features. */
static jv
memory_query(jv anomalies, jv rcs, jv templates)
{
	jv fps = jv_array(), svcs = jv_array(), ops = jv_array(),
	    sigs = jv_array(), tids = jv_array(), q = jv_object();
	int i, n = jv_array_length(jv_copy(anomalies));

	/* the top root cause's fingerprints lead */
	if (jv_get_kind(rcs) == JV_KIND_ARRAY && jv_array_length(
	    jv_copy(rcs)) > 0) {
		jv rc = jv_array_get(jv_copy(rcs), 0);
		const char *top = sre_jv_str(rc, "service");

		for (i = 0; i < n && top != NULL; i++) {
			jv ev = jv_array_get(jv_copy(anomalies), i);
			const char *s = sre_jv_str(ev, "service");

			if (s != NULL && strcmp(s, top) == 0)
				fps = add_unique(fps, sre_jv_str(ev,
				    "fingerprint"), 16);
			jv_free(ev);
		}
		jv_free(rc);
	}
	for (i = 0; i < n; i++) {
		jv ev = jv_array_get(jv_copy(anomalies), i);

		fps = add_unique(fps, sre_jv_str(ev, "fingerprint"), 16);
		svcs = add_unique(svcs, sre_jv_str(ev, "service"), 64);
		ops = add_unique(ops, sre_jv_str(ev, "operation"), 64);
		sigs = add_unique(sigs, sre_jv_str(ev, "signal"), 8);
		jv_free(ev);
	}
	n = jv_array_length(jv_copy(templates));
	for (i = 0; i < n; i++) {
		jv t = jv_array_get(jv_copy(templates), i);

		tids = add_unique(tids, sre_jv_str(t, "template_id"), 16);
		jv_free(t);
	}
	q = jv_object_set(q, jv_string("fingerprints"), fps);
	q = jv_object_set(q, jv_string("services"), svcs);
	q = jv_object_set(q, jv_string("operations"), ops);
	q = jv_object_set(q, jv_string("signals"), sigs);
	return jv_object_set(q, jv_string("templates"), tids);
}

/* "What was done then", for the summary. */
static void
memory_sentence(jv memory, char *buf, size_t len)
{
	jv m;
	const char *id, *outcome, *act, *tgt;
	jv p;

	buf[0] = '\0';
	if (jv_array_length(jv_copy(memory)) == 0)
		return;
	m = jv_array_get(jv_copy(memory), 0);
	id = sre_jv_str(m, "incident");
	outcome = sre_jv_str(m, "outcome");
	p = jv_object_get(jv_copy(m), jv_string("proposal"));
	act = sre_jv_str(p, "action");
	tgt = sre_jv_str(p, "target");
	if (act != NULL)
		snprintf(buf, len, " Similar past incident %s (%s): %s %s was "
		    "done then.", id ? id : "?", outcome ? outcome : "outcome "
		    "unknown", act, tgt ? tgt : "");
	else
		snprintf(buf, len, " Similar past incident %s (%s).",
		    id ? id : "?", outcome ? outcome : "outcome unknown");
	jv_free(p);
	jv_free(m);
}

static jv
set_summary_tail(jv d, const char *tail)
{
	const char *s = sre_jv_str(d, "summary");
	char *t;
	jv out;

	if (tail[0] == '\0' || s == NULL)
		return d;
	if (asprintf(&t, "%s%s", s, tail) < 0)
		return d;
	out = jv_object_set(d, jv_string("summary"), jv_string(t));
	free(t);
	return out;
}

/* Did the picture change enough to say so again? */
static int
material(jv last, jv d)
{
	jv a = jv_object_get(jv_copy(last), jv_string("root_causes"));
	jv c = jv_object_get(jv_copy(d), jv_string("root_causes"));
	jv a0 = jv_array_get(a, 0), c0 = jv_array_get(c, 0);
	jv pa = jv_object_get(jv_copy(last), jv_string("proposal"));
	jv pc = jv_object_get(jv_copy(d), jv_string("proposal"));
	const char *s1 = sre_jv_str(a0, "service"), *s2 = sre_jv_str(c0,
	    "service");
	const char *x1 = sre_jv_str(pa, "action"), *x2 = sre_jv_str(pc,
	    "action");
	const char *t1 = sre_jv_str(pa, "target"), *t2 = sre_jv_str(pc,
	    "target");
	const char *k1, *k2;
	double c1 = 0, c2 = 0;
	int ch = 0;

	sre_jv_num(last, "confidence", &c1);
	sre_jv_num(d, "confidence", &c2);
	if ((s1 == NULL) != (s2 == NULL) || (s1 && strcmp(s1, s2) != 0))
		ch = 1;
	if ((x1 == NULL) != (x2 == NULL) || (x1 && strcmp(x1, x2) != 0))
		ch = 1;
	if ((t1 == NULL) != (t2 == NULL) || (t1 && strcmp(t1, t2) != 0))
		ch = 1;
	if (fabs(c1 - c2) >= 0.2)
		ch = 1;
	/* another kind of fault (network or CPU, say) is another picture */
	k1 = sre_jv_str(last, "kind");
	k2 = sre_jv_str(d, "kind");
	if ((k1 == NULL) != (k2 == NULL) || (k1 && strcmp(k1, k2) != 0))
		ch = 1;
	jv_free(a0);
	jv_free(c0);
	jv_free(pa);
	jv_free(pc);
	return ch;
}

/* Write diagnosis d (consumed) for incident i. */
static void
emit(struct brain *b, struct incident *i, jv d)
{
	char id[SRE_ID_LEN + 1], rev[64];
	int64_t ts = b->clock >= 0 ? b->clock : sre_now_ms();
	jv ev;

	i->revision++;
	snprintf(rev, sizeof(rev), "sre-brain/diagnosis/%d", i->revision);
	sre_store_id_derive(id, ts, i->id, rev);
	ev = sre_event_new("diagnosis", i->id);
	ev = jv_object_set(ev, jv_string("id"), jv_string(id));
	ev = jv_object_set(ev, jv_string("ts_ms"), jv_number((double)ts));
	jv_object_foreach(d, k, v)
		ev = jv_object_set(ev, k, v);
	jv_free(d);
	ev = jv_object_set(ev, jv_string("revision"),
	    jv_number(i->revision));
	if (i->revision > 1) {
		const char *prev = sre_jv_str(i->last, "id");

		ev = jv_object_set(ev, jv_string("supersedes"),
		    prev ? jv_string(prev) : jv_null());
		b->updates++;
	}
	b->diagnoses++;
	ev = sre_mac_sign(&opt.key, ev);
	jv_free(i->last);
	i->last = jv_copy(ev);
	i->state = I_DONE;
	sre_stream_emit_jv(b->s, ev);
}

static jv
llm_field(struct brain *b, const char *status, double latency, int attempts,
    jv usage, const char *model, const char *error)
{
	jv l = jv_object();

	l = jv_object_set(l, jv_string("model"),
	    jv_string(model ? model : b->model));
	l = jv_object_set(l, jv_string("status"), jv_string(status));
	if (jv_get_kind(usage) == JV_KIND_OBJECT) {
		jv_object_foreach(usage, k, v)
			l = jv_object_set(l, k, v);
	}
	jv_free(usage);
	l = jv_object_set(l, jv_string("latency_ms"),
	    jv_number(floor(latency * 10 + 0.5) / 10));
	l = jv_object_set(l, jv_string("attempts"), jv_number(attempts));
	l = jv_object_set(l, jv_string("anonymized"),
	    jv_bool(b->anonymize));
	if (error != NULL)
		l = jv_object_set(l, jv_string("error"), jv_string(error));
	return l;
}

static jv
add_note(jv d, const char *note)
{
	jv notes = jv_object_get(jv_copy(d), jv_string("notes"));

	if (jv_get_kind(notes) != JV_KIND_ARRAY) {
		jv_free(notes);
		notes = jv_array();
	}
	notes = jv_array_append(notes, jv_string(note));
	return jv_object_set(d, jv_string("notes"), notes);
}

/*
 * Diagnose incident i now with the built-in reasoner; then either emit,
 * or (allow_llm and an LLM configured) ask the LLM and emit when it
 * answers.
 */
static void
diagnose(struct brain *b, struct incident *i, int allow_llm)
{
	struct sre_rca_opts o;
	double t0 = sre_mono_msf(), dt;
	jv d, memory = jv_array(), fix = jv_null(), q, rcs, tmpl, top, notes;
	jv chronic;
	char err[512], sentence[600];
	const char *topsvc;

	i->due_ms = -1;
	if (i->nanom == 0)
		return;
	sre_rca_opts_init(&o);
	o.top = opt.top;
	o.failed = i->failed;
	chronic = chronic_of(b, i);
	o.chronic = chronic;
	/* a first pass names the culprit, whose fingerprints lead the
	 * memory lookup; a known fix found there is reused */
	d = sre_rca_diagnose(b->g, i->anomalies, &o);
	if (!jv_is_valid(d)) {
		sre_warnx("incident %s: out of memory", i->id);
		jv_free(chronic);
		return;
	}
	rcs = jv_object_get(jv_copy(d), jv_string("root_causes"));
	top = jv_array_length(jv_copy(rcs)) > 0 ? jv_array_get(jv_copy(rcs),
	    0) : jv_null();
	topsvc = sre_jv_str(top, "service");
	tmpl = templates_of(b, i->anomalies, topsvc);
	if (opt.memory && b->mem != NULL) {
		q = memory_query(i->anomalies, rcs, tmpl);
		jv_free(memory);
		memory = sre_brain_mem_lookup(b->mem, q, i->id, 5, &fix, err,
		    sizeof(err));
		if (err[0] != '\0')
			sre_warnx("incident %s: %s", i->id, err);
		jv_free(q);
		if (jv_get_kind(fix) == JV_KIND_OBJECT) {
			o.known_fix = fix;
			jv_free(d);
			d = sre_rca_diagnose(b->g, i->anomalies, &o);
			if (!jv_is_valid(d)) {
				jv_free(chronic);
				jv_free(fix);
				jv_free(memory);
				jv_free(rcs);
				jv_free(top);
				jv_free(tmpl);
				return;
			}
		}
	}
	jv_free(chronic);
	jv_free(fix);
	jv_free(rcs);
	jv_free(top);
	memory_sentence(memory, sentence, sizeof(sentence));
	d = set_summary_tail(d, sentence);
	d = jv_object_set(d, jv_string("memory"), memory);
	d = jv_object_set(d, jv_string("templates"), tmpl);
	notes = jv_object_get(jv_copy(d), jv_string("notes"));
	jv_array_foreach(i->notes, k, n)
		notes = jv_array_append(notes, n);
	if (jv_object_length(jv_copy(i->recovered)) > 0 &&
	    i->revision == 0)
		notes = jv_array_append(notes, jv_string("some of its "
		    "anomalies recovered before the diagnosis"));
	if (i->cag_failed)
		notes = jv_array_append(notes, jv_string("the known fix "
		    "proposed by sre-cag failed"));
	d = jv_object_set(d, jv_string("notes"), notes);
	d = jv_object_set(d, jv_string("anomalies"), jv_number(i->nanom));
	dt = sre_mono_msf() - t0;
	sre_info("incident %s: diagnosed in %.3f ms (%d anomalies)", i->id,
	    dt, i->nanom);

	if (i->revision > 0 && jv_get_kind(i->last) == JV_KIND_OBJECT &&
	    !material(i->last, d)) {
		jv_free(d);
		i->state = I_DONE;
		return;
	}
	if (i->revision >= MAX_REVISIONS) {
		jv_free(d);
		i->state = I_DONE;
		return;
	}
	if (allow_llm && b->llm != NULL) {
		struct sre_brain_llm_in in;
		jv body, dump;

		memset(&in, 0, sizeof(in));
		sre_anon_free(i->anon);
		i->anon = b->anonymize ? sre_anon_new() : NULL;
		in.incident = i->id;
		in.anomalies = i->anomalies;
		in.builtin = d;
		in.templates = jv_object_get(jv_copy(d), jv_string("templates"));
		in.memory = jv_object_get(jv_copy(d), jv_string("memory"));
		in.anon = i->anon;
		body = sre_brain_llm_request(b->model, &in);
		jv_free(in.templates);
		jv_free(in.memory);
		dump = jv_is_valid(body) ? jv_dump_string(body, 0) : body;
		if (jv_is_valid(dump) && sre_llm_submit(b->llm, ++b->next_tag,
		    jv_string_value(dump), (size_t)jv_string_length_bytes(
		    jv_copy(dump))) == 0) {
			jv_free(dump);
			i->tag = b->next_tag;
			jv_free(i->builtin);
			i->builtin = d;
			jv_free(i->llm_in);
			i->llm_in = jv_copy(i->anomalies);
			i->state = I_WAIT_LLM;
			sre_llm_perform(b->llm);
			return;
		}
		jv_free(dump);
		b->llm_fallback++;
		d = jv_object_set(d, jv_string("llm"), llm_field(b, "fallback",
		    0, 0, jv_null(), NULL, "too many LLM requests waiting"));
		d = add_note(d, "LLM not asked (too many requests waiting): "
		    "the built-in diagnosis stands");
	}
	emit(b, i, d);
}

/* An LLM request finished: merge or fall back, then emit. */
static void
llm_done(struct brain *b, struct sre_llm_result *r)
{
	struct incident *i;
	struct sre_brain_llm_in in;
	jv d, ans;
	char note[512];

	for (i = b->head; i != NULL; i = i->next)
		if (i->state == I_WAIT_LLM && i->tag == r->tag)
			break;
	if (i == NULL)
		return;
	d = i->builtin;
	i->builtin = jv_null();
	memset(&in, 0, sizeof(in));
	in.incident = i->id;
	in.anomalies = i->llm_in;
	in.builtin = d;
	in.anon = i->anon;
	if (!r->ok) {
		b->llm_fallback++;
		snprintf(note, sizeof(note), "LLM request failed (%s): the "
		    "built-in diagnosis stands", r->error);
		sre_notice("incident %s: LLM request failed: %s", i->id,
		    r->error);
		d = add_note(d, note);
		d = jv_object_set(d, jv_string("llm"), llm_field(b, "fallback",
		    r->latency_ms, r->attempts, jv_null(), NULL, r->error));
		emit(b, i, d);
		return;
	}
	ans = sre_brain_llm_answer(r->body, r->len, &in);
	if (!jv_is_valid(ans)) {
		jv msg = jv_invalid_get_msg(ans);
		const char *m = jv_get_kind(msg) == JV_KIND_STRING ?
		    jv_string_value(msg) : "invalid answer";

		b->llm_fallback++;
		snprintf(note, sizeof(note), "LLM answer rejected (%s): the "
		    "built-in diagnosis stands", m);
		sre_notice("incident %s: LLM answer rejected: %s", i->id, m);
		d = add_note(d, note);
		d = jv_object_set(d, jv_string("llm"), llm_field(b, "fallback",
		    r->latency_ms, r->attempts, jv_null(), NULL, m));
		jv_free(msg);
		emit(b, i, d);
		return;
	}
	{
		jv brc = jv_object_get(jv_copy(d), jv_string("root_causes"));
		jv arc = jv_object_get(jv_copy(ans), jv_string("root_causes"));
		jv b0 = jv_array_length(jv_copy(brc)) > 0 ?
		    jv_array_get(jv_copy(brc), 0) : jv_null();
		jv a0 = jv_array_get(jv_copy(arc), 0);
		const char *bs = sre_jv_str(b0, "service");
		const char *as = sre_jv_str(a0, "service");
		double bc = 0, ac = 0;
		const char *model = sre_jv_str(ans, "model");
		jv merged = jv_array();
		int k, n = jv_array_length(jv_copy(arc));

		sre_jv_num(d, "confidence", &bc);
		sre_jv_num(ans, "confidence", &ac);
		/* keep the reasoner's kind where it names the same service */
		for (k = 0; k < n; k++) {
			jv rc = jv_array_get(jv_copy(arc), k);
			const char *s = sre_jv_str(rc, "service");
			int j, nb = jv_array_length(jv_copy(brc));

			for (j = 0; j < nb; j++) {
				jv x = jv_array_get(jv_copy(brc), j);
				const char *xs = sre_jv_str(x, "service");

				if (xs != NULL && s != NULL &&
				    strcmp(xs, s) == 0)
					rc = jv_object_set(rc, jv_string("kind"),
					    jv_object_get(jv_copy(x),
					    jv_string("kind")));
				jv_free(x);
			}
			merged = jv_array_append(merged, rc);
		}
		d = jv_object_set(d, jv_string("root_causes"), merged);
		d = jv_object_set(d, jv_string("summary"),
		    jv_object_get(jv_copy(ans), jv_string("summary")));
		d = jv_object_set(d, jv_string("proposal"),
		    jv_object_get(jv_copy(ans), jv_string("proposal")));
		if (bs != NULL && as != NULL && strcmp(bs, as) != 0) {
			/* The reasoner's confidence is calibrated; the
			 * LLM's is not.  Disagreement lowers it. */
			double c = ac < 1 - bc ? ac : 1 - bc;

			if (c < 0.05)
				c = 0.05;
			d = jv_object_set(d, jv_string("confidence"),
			    jv_number(floor(c * 1000 + 0.5) / 1000));
			snprintf(note, sizeof(note), "the LLM ranks %s first; "
			    "the built-in reasoner ranked %s first", as, bs);
			d = add_note(d, note);
		}
		d = jv_object_set(d, jv_string("llm"), llm_field(b, "ok",
		    r->latency_ms, r->attempts, jv_object_get(jv_copy(ans),
		    jv_string("usage")), model, NULL));
		jv_free(a0);
		jv_free(b0);
		jv_free(arc);
		jv_free(brc);
	}
	jv_free(ans);
	b->llm_ok++;
	emit(b, i, d);
}

static void
llm_poll(struct brain *b)
{
	struct sre_llm_result r;

	if (b->llm == NULL)
		return;
	sre_llm_perform(b->llm);
	b->llm_performed = sre_mono_msf();
	while (sre_llm_result(b->llm, &r) == 1) {
		llm_done(b, &r);
		sre_llm_result_free(&r);
	}
}

/* The governor's word on LLM concurrency. */
static void
governor(struct brain *b)
{
	struct sre_gov_state st;
	char err[256];
	double now = sre_mono_msf();
	int rc, n;

	if (b->llm == NULL || !b->gov_ok || now - b->gov_polled < 1000)
		return;
	b->gov_polled = now;
	memset(&st, 0, sizeof(st));
	sre_gov_knobs(&st, 0, 0);	/* what the file leaves out */
	rc = sre_gov_poll(&b->gw, &st, err, sizeof(err));
	if (rc < 0 && err[0] != '\0')	/* reported once: until it changes */
		sre_notice("governor: %s", err);
	if (rc == 1) {
		b->degraded = st.degraded;
		n = st.degraded ? 1 : st.llm_concurrency > 0 ?
		    st.llm_concurrency : b->base_concurrency;
		if (n > b->base_concurrency)
			n = b->base_concurrency;
		if (n != sre_llm_concurrency(b->llm))
			sre_info("governor: %s, LLM concurrency %d",
			    st.degraded ? "degraded" : "normal", n);
		sre_llm_set_concurrency(b->llm, n);
	} else if (rc < 0 && b->degraded) {
		/* the file went away: back to the configured figure */
		b->degraded = 0;
		sre_llm_set_concurrency(b->llm, b->base_concurrency);
	}
}

/* Diagnose every incident whose settle time is over. */
static void
run_due(struct brain *b, int all)
{
	struct incident *i, *nx;
	int64_t next = -1;

	if (!all && (b->next_due < 0 || b->clock < b->next_due))
		return;
	for (i = b->head; i != NULL; i = nx) {
		nx = i->next;
		if (i->due_ms < 0)
			continue;
		if (all || i->due_ms <= b->clock) {
			if (i->state == I_HELD && !all) {
				i->due_ms = -1;
				continue;
			}
			if (i->state != I_HELD)
				diagnose(b, i, !sre_stopping());
			else
				i->due_ms = -1;
		} else if (next < 0 || i->due_ms < next)
			next = i->due_ms;
	}
	b->next_due = next;
}

/* Forget incidents nobody has spoken of for a long time. */
static void
sweep(struct brain *b)
{
	struct incident *i, *nx;

	for (i = b->head; i != NULL; i = nx) {
		nx = i->next;
		if (b->clock - i->touched_ms < (i->closed ? opt.settle_ms :
		    TTL_MS))
			break;
		if (i->state == I_WAIT_LLM || i->due_ms >= 0)
			continue;
		inc_free(b, i);
	}
}

/* ---- the events ----------------------------------------------------- */

/*
 * A copy of v small enough to keep: strings cut to KEEP_STRING bytes,
 * arrays to KEEP_ITEMS items, objects to KEEP_ITEMS members, nothing
 * deeper than KEEP_DEPTH.  Consumes v.  Evidence is for ranking and for
 * the people reading a diagnosis; a megabyte of it per anomaly is only a
 * way to fill our memory.
 */
static jv
trimmed(jv v, int depth)
{
	jv out;
	int n, k;

	switch (jv_get_kind(v)) {
	case JV_KIND_STRING:
		if (jv_string_length_bytes(jv_copy(v)) <= KEEP_STRING)
			return v;
		out = jv_string_sized(jv_string_value(v), KEEP_STRING);
		jv_free(v);
		/* A cut UTF-8 sequence is repaired by jv_string_sized. */
		return out;
	case JV_KIND_ARRAY:
		if (depth >= KEEP_DEPTH) {
			jv_free(v);
			return jv_array();
		}
		out = jv_array();
		n = jv_array_length(jv_copy(v));
		for (k = 0; k < n && k < KEEP_ITEMS; k++)
			out = jv_array_append(out,
			    trimmed(jv_array_get(jv_copy(v), k), depth + 1));
		jv_free(v);
		return out;
	case JV_KIND_OBJECT:
		if (depth >= KEEP_DEPTH) {
			jv_free(v);
			return jv_object();
		}
		out = jv_object();
		k = 0;
		jv_object_foreach(v, key, val) {
			if (k++ < KEEP_ITEMS)
				out = jv_object_set(out, key,
				    trimmed(val, depth + 1));
			else {
				jv_free(key);
				jv_free(val);
			}
		}
		jv_free(v);
		return out;
	default:
		return v;
	}
}

/*
 * What v takes in memory, roughly, as libjq holds it: a header per value,
 * a slot per array item or object member, the bytes of each string.
 * Borrows v.  The text of a line says little (50 short trace ids are 50
 * allocations), and a process-wide count (mallinfo) is blind under the
 * sanitizers: this walk is the same in every build.
 */
static size_t
weight(jv v)
{
	size_t w = 32;

	switch (jv_get_kind(v)) {
	case JV_KIND_STRING:
		return w + (size_t)jv_string_length_bytes(jv_copy(v));
	case JV_KIND_ARRAY:
		jv_array_foreach(v, k, x) {
			(void)k;
			w += 16 + weight(x);
			jv_free(x);
		}
		return w;
	case JV_KIND_OBJECT:
		jv_object_foreach(v, key, val) {
			w += 48 + weight(key) + weight(val);
			jv_free(key);
			jv_free(val);
		}
		return w;
	default:
		return w;
	}
}

/* The anomaly as kept (consumes ev), and its weight. */
static jv
kept(jv ev, size_t len, size_t *size)
{
	if (len > KEEP_LINE)
		ev = trimmed(ev, 0);
	*size = weight(ev);
	return ev;
}

/* Forget the least recently touched incidents while the anomalies kept
 * pass --max-memory (never the one just touched: it is last). */
static void
inc_fit(struct brain *b)
{
	while (b->bytes > (size_t)opt.max_memory && b->nincidents > 1) {
		long before = b->nincidents;

		inc_evict(b, "the anomalies kept pass --max-memory");
		if (b->nincidents == before)
			break;
	}
}

/*
 * Recurring series: per fingerprint, the largest deviation it showed in
 * each occurrence: an incident, and within it each episode between its
 * recoveries ("INCIDENT#EPISODE"; at most SEEN_INCIDENTS occurrences a
 * fingerprint and SEEN_MAX fingerprints: past that, news is not kept).
 */
#define SEEN_MAX	8192
#define SEEN_INCIDENTS	8

/* The series of fp recovered: its next anomaly starts an episode. */
static void
seen_recovered(struct brain *b, const char *fp)
{
	jv per, n;
	double k = 0;

	if (fp == NULL)
		return;
	per = jv_object_get(jv_copy(b->seen), jv_string(fp));
	if (jv_get_kind(per) != JV_KIND_OBJECT) {
		jv_free(per);
		return;
	}
	jv_free(per);
	n = jv_object_get(jv_copy(b->episodes), jv_string(fp));
	if (jv_get_kind(n) == JV_KIND_NUMBER)
		k = jv_number_value(n);
	jv_free(n);
	b->episodes = jv_object_set(b->episodes, jv_string(fp),
	    jv_number(k + 1));
}

static void
seen_add(struct brain *b, const char *incident, jv ev)
{
	const char *fp = sre_jv_str(ev, "fingerprint");
	double dev = sre_rca_deviation(ev), old = -1, ep = 0;
	char inc[320];
	jv per, v;

	/* (an id too long for the key would pass for another incident's) */
	if (fp == NULL || dev < 0 || strlen(incident) + 24 > sizeof(inc))
		return;
	v = jv_object_get(jv_copy(b->episodes), jv_string(fp));
	if (jv_get_kind(v) == JV_KIND_NUMBER)
		ep = jv_number_value(v);
	jv_free(v);
	snprintf(inc, sizeof(inc), "%s#%.0f", incident, ep);
	per = jv_object_get(jv_copy(b->seen), jv_string(fp));
	if (jv_get_kind(per) != JV_KIND_OBJECT) {
		jv_free(per);
		if (b->nseen >= SEEN_MAX)
			return;
		b->nseen++;
		per = jv_object();
	}
	v = jv_object_get(jv_copy(per), jv_string(inc));
	if (jv_get_kind(v) == JV_KIND_NUMBER)
		old = jv_number_value(v);
	else if (jv_object_length(jv_copy(per)) >= SEEN_INCIDENTS) {
		jv_free(v);
		jv_free(per);
		return;
	}
	jv_free(v);
	if (dev > old)
		per = jv_object_set(per, jv_string(inc), jv_number(dev));
	b->seen = jv_object_set(b->seen, jv_string(fp), per);
}

/*
 * For incident i: fingerprint -> what its anomalies' series did in other
 * occurrences (opts.chronic of rca.h): the largest deviation in other
 * incidents, or the second largest of i's own episodes (an anomaly of
 * the largest episode is judged against the next; those of the others
 * against it, which is no smaller).
 */
static jv
chronic_of(struct brain *b, struct incident *i)
{
	jv out = jv_object();
	size_t idlen = strlen(i->id);

	jv_array_foreach(i->anomalies, k, ev) {
		const char *fp = sre_jv_str(ev, "fingerprint");
		jv per = fp != NULL ? jv_object_get(jv_copy(b->seen),
		    jv_string(fp)) : jv_null();
		double m = -1, own1 = -1, own2 = -1;

		if (jv_get_kind(per) == JV_KIND_OBJECT) {
			jv_object_foreach(per, inc, v) {
				const char *s = jv_string_value(inc);
				double x = jv_get_kind(v) == JV_KIND_NUMBER ?
				    jv_number_value(v) : -1;

				if (strncmp(s, i->id, idlen) != 0 ||
				    s[idlen] != '#') {
					if (x > m)
						m = x;
				} else if (x > own1) {
					own2 = own1;
					own1 = x;
				} else if (x > own2)
					own2 = x;
				jv_free(inc);
				jv_free(v);
			}
		}
		if (own2 > m)
			m = own2;
		jv_free(per);
		if (m >= 0)
			out = jv_object_set(out, jv_string(fp), jv_number(m));
		jv_free(ev);
	}
	return out;
}

static void
on_anomaly(struct brain *b, struct incident *i, jv ev, size_t len,
    int64_t ts)
{
	const char *fp = sre_jv_str(ev, "fingerprint");
	size_t size;

	sre_rca_graph_anomaly(b->g, ev);
	seen_add(b, i->id, ev);
	b->anomalies++;
	if (ts < 0)
		ts = b->clock;
	if (i->nanom >= opt.max_anomalies) {
		/* keep the strongest: replace the weakest if weaker */
		int k, weakest = -1;
		double ws = 0, sc = 0, x;

		sre_jv_num(ev, "score", &sc);
		for (k = 0; k < i->nanom; k++) {
			jv a = jv_array_get(jv_copy(i->anomalies), k);

			x = 0;
			sre_jv_num(a, "score", &x);
			if (weakest < 0 || x < ws) {
				weakest = k;
				ws = x;
			}
			jv_free(a);
		}
		if (!i->capped_noted) {
			i->capped_noted = 1;
			inc_note(i, "more than %ld anomalies: the weakest were "
			    "left out", opt.max_anomalies);
		}
		if (weakest >= 0 && sc > ws) {
			/* Counted as added: the weakest's size is not
			 * known, and the bound only has to hold. */
			i->anomalies = jv_array_set(i->anomalies, weakest,
			    kept(jv_copy(ev), len, &size));
			i->bytes += size;
			b->bytes += size;
		}
	} else {
		i->anomalies = jv_array_append(i->anomalies,
		    kept(jv_copy(ev), len, &size));
		i->bytes += size;
		b->bytes += size;
		i->nanom++;
	}
	inc_fit(b);
	if (fp != NULL)
		i->recovered = jv_object_delete(i->recovered, jv_string(fp));
	i->closed = 0;
	/* Out of order: older than the diagnosis out there, or older
	 * than the settle time allows. */
	if (!i->late_noted && ((i->revision > 0 && i->first_ms >= 0 &&
	    ts < i->first_ms) || (b->clock >= 0 &&
	    ts < b->clock - opt.settle_ms))) {
		i->late_noted = 1;
		sre_notice("%s: incident %s: anomaly from %lld ms before the "
		    "newest event (out of order); taken", sre_stream_where(b->s),
		    i->id, (long long)(b->clock - ts));
		inc_note(i, "anomalies arrived out of order");
	}
	if (i->first_ms < 0 || ts < i->first_ms)
		i->first_ms = ts;
	switch (i->state) {
	case I_EMPTY:
		i->state = I_PENDING;
		schedule(b, i, (ts > b->clock ? ts : (ts > 0 ? ts : b->clock)) +
		    opt.settle_ms);
		if (i->due_ms < b->clock)
			schedule(b, i, b->clock);
		break;
	case I_PENDING:
		break;
	case I_DONE:
		/* news after a diagnosis: look again once it settles */
		if (i->due_ms < 0)
			schedule(b, i, b->clock + opt.settle_ms);
		break;
	case I_HELD:
	case I_WAIT_LLM:
		break;
	}
}

static void
on_recovery(struct brain *b, struct incident *i, jv ev)
{
	const char *fp = sre_jv_str(ev, "fingerprint");
	int k, all = 1;

	if (fp != NULL)
		i->recovered = jv_object_set(i->recovered, jv_string(fp),
		    jv_true());
	seen_recovered(b, fp);
	if (i->nanom == 0) {
		if (!i->early_noted) {
			i->early_noted = 1;
			sre_notice("%s: incident %s: a recovery before any "
			    "anomaly (out of order); kept", sre_stream_where(
			    b->s), i->id);
			inc_note(i, "a recovery arrived before its anomaly "
			    "(out of order)");
		}
		return;
	}
	for (k = 0; k < i->nanom && all; k++) {
		jv a = jv_array_get(jv_copy(i->anomalies), k);
		const char *f = sre_jv_str(a, "fingerprint");

		if (f != NULL) {
			jv r = jv_object_get(jv_copy(i->recovered),
			    jv_string(f));

			all = jv_get_kind(r) == JV_KIND_TRUE;
			jv_free(r);
		}
		jv_free(a);
	}
	if (all && i->state == I_DONE)
		i->closed = 1;
}

static void
on_diagnosis(struct brain *b, struct incident *i, jv ev)
{
	const char *src = sre_jv_str(ev, "source");

	if (src != NULL && strcmp(src, "sre-cag") == 0) {
		jv_free(i->cag_proposal);
		i->cag_proposal = jv_object_get(jv_copy(ev),
		    jv_string("proposal"));
		if (!i->cag) {
			i->cag = 1;
			b->held++;
		}
		if (i->state == I_PENDING || i->state == I_EMPTY) {
			i->state = I_HELD;
			i->due_ms = -1;
		}
	} else if (src != NULL && strcmp(src, "sre-brain") == 0) {
		int64_t rev = 1;

		/* ours, from an earlier run: do not say it again */
		sre_jv_int(ev, "revision", &rev);
		if (rev > i->revision)
			i->revision = (int)(rev < MAX_REVISIONS ? rev :
			    MAX_REVISIONS);
		jv_free(i->last);
		i->last = jv_copy(ev);
		if (i->state == I_PENDING || i->state == I_EMPTY) {
			i->state = i->nanom > 0 ? I_DONE : I_EMPTY;
			i->due_ms = -1;
		}
	}
}

static void
on_action(struct brain *b, struct incident *i, jv ev)
{
	const char *st = sre_jv_str(ev, "status");

	if (st == NULL || (strcmp(st, "failed") != 0 &&
	    strcmp(st, "reverted") != 0))
		return;
	if (i->cag && !i->cag_failed) {
		/* the known fix did not work: now it is ours */
		i->cag_failed = 1;
		if (jv_get_kind(i->cag_proposal) == JV_KIND_OBJECT)
			i->failed = jv_array_append(i->failed,
			    jv_copy(i->cag_proposal));
		if (i->state == I_HELD)
			i->state = i->nanom > 0 ? I_PENDING : I_EMPTY;
		if (i->nanom > 0) {
			int64_t due = i->first_ms + opt.settle_ms;

			schedule(b, i, due > b->clock ? due : b->clock);
		}
	} else if (i->state == I_DONE && jv_get_kind(i->last) ==
	    JV_KIND_OBJECT) {
		/* our own proposal failed: that changes the picture */
		jv p = jv_object_get(jv_copy(i->last), jv_string("proposal"));

		if (jv_get_kind(p) == JV_KIND_OBJECT)
			i->failed = jv_array_append(i->failed, p);
		else
			jv_free(p);
		inc_note(i, "an action on the earlier proposal %s", st);
		schedule(b, i, b->clock);
	}
}

static int
on_line(struct sre_stream *s, const char *line, size_t len, void *ctx)
{
	struct brain *b = ctx;
	char err[512];
	const char *type, *incident;
	int64_t ts = -1;
	struct incident *i;
	jv ev;

	if (len == strspn(line, " \t\r"))
		return 0;
	ev = sre_json_object(line, len, err, sizeof(err));
	if (!jv_is_valid(ev)) {
		sre_stream_reject(s, "%s", err);
		return 0;
	}
	if (sre_event_check(ev, err, sizeof(err)) < 0) {
		sre_stream_reject(s, "%s", err);
		jv_free(ev);
		return 0;
	}
	if (opt.pass)
		sre_stream_emit(s, line, len);
	if (sre_jv_int(ev, "ts_ms", &ts) == 0 && ts > 0 &&
	    ts < 32503680000000LL && ts > b->clock)
		b->clock = ts;
	b->clock_input = b->clock;
	b->mono_input = sre_mono_msf();
	type = sre_jv_str(ev, "type");
	incident = sre_jv_str(ev, "incident");
	if (type == NULL)
		goto out;
	if (strcmp(type, "topology") == 0) {
		size_t skipped = 0;

		if (sre_rca_graph_topology(b->g, ev, &skipped, err,
		    sizeof(err)) < 0)
			sre_stream_reject(s, "%s", err);
		else if (skipped > 0)
			sre_info("%s: topology: %zu malformed edges or "
			    "services skipped", sre_stream_where(s), skipped);
		if (sre_rca_graph_dropped(b->g) > b->graph_dropped) {
			if (b->graph_dropped == 0)
				sre_notice("the call graph is full: %zu "
				    "services, %zu edges; more are left out",
				    sre_rca_graph_services(b->g),
				    sre_rca_graph_edges(b->g));
			b->graph_dropped = sre_rca_graph_dropped(b->g);
		}
		goto out;
	}
	if (incident == NULL || *incident == '\0')
		goto out;
	if (sre_mac_control(type) && strcmp(type, "verdict") != 0 &&
	    sre_mac_check(&opt.key, ev, err, sizeof(err)) < 0) {
		sre_stream_reject(s, "%s: ignored", err);
		goto out;
	}
	if (strcmp(type, "anomaly") == 0) {
		const char *svc = sre_jv_str(ev, "service");

		if (svc == NULL || *svc == '\0') {
			sre_stream_reject(s, "anomaly without a service: "
			    "passed on, not diagnosed");
			goto out;
		}
		if ((i = inc_get(b, incident)) == NULL)
			goto oom;
		inc_touch(b, i);
		sre_jv_int(ev, "ts_ms", &ts);
		on_anomaly(b, i, ev, len, ts > 0 ? ts : -1);
	} else if (strcmp(type, "recovery") == 0) {
		if ((i = inc_get(b, incident)) == NULL)
			goto oom;
		inc_touch(b, i);
		on_recovery(b, i, ev);
	} else if (strcmp(type, "diagnosis") == 0) {
		if ((i = inc_get(b, incident)) == NULL)
			goto oom;
		inc_touch(b, i);
		on_diagnosis(b, i, ev);
	} else if (strcmp(type, "action") == 0) {
		if ((i = inc_find(b, incident)) != NULL) {
			inc_touch(b, i);
			on_action(b, i, ev);
		}
	}
out:
	jv_free(ev);
	run_due(b, 0);
	sweep(b);
	governor(b);
	/* keep transfers moving while input flows, a few times a second
	 * at most when nothing is due */
	if (b->llm != NULL && sre_llm_pending(b->llm) > 0 &&
	    sre_mono_msf() - b->llm_performed >= 5)
		llm_poll(b);
	return 0;
oom:
	jv_free(ev);
	sre_warnx("out of memory");
	return EX_OSERR;
}

/* How long the loop may wait for input before it must come back. */
static int
next_idle(struct brain *b)
{
	long t = -1, lt;

	if (b->next_due >= 0)
		t = 200;
	if (b->llm != NULL && (lt = sre_llm_timeout(b->llm)) >= 0) {
		if (lt < 1)
			lt = 1;
		if (t < 0 || lt < t)
			t = lt;
	}
	return (int)t;
}

static void
finish_all(struct brain *b)
{
	struct incident *i;

	/* every incident still gathering is diagnosed now */
	run_due(b, 1);
	if (b->llm == NULL)
		return;
	while (sre_llm_pending(b->llm) > 0 && !sre_stopping()) {
		sre_llm_wait(b->llm, 100);
		llm_poll(b);
		governor(b);
	}
	if (sre_llm_pending(b->llm) > 0) {
		sre_llm_cancel_all(b->llm, "stopped before the LLM answered");
		llm_poll(b);
	}
	/* anything left waiting (should be none) goes out as it is */
	for (i = b->head; i != NULL; i = i->next)
		if (i->state == I_WAIT_LLM) {
			jv d = i->builtin;

			i->builtin = jv_null();
			emit(b, i, add_note(d, "LLM answer lost: the built-in "
			    "diagnosis stands"));
		}
}

static int
on_idle(struct sre_stream *s, int at_end, void *ctx)
{
	struct brain *b = ctx;
	double now = sre_mono_msf();

	if (at_end) {
		finish_all(b);
		return 0;
	}
	/* Live input went quiet: event time goes on with the wall clock. */
	if (b->clock >= 0) {
		int64_t live = b->clock_input + (int64_t)(now - b->mono_input);

		if (live > b->clock)
			b->clock = live;
	}
	run_due(b, 0);
	llm_poll(b);
	governor(b);
	sweep(b);
	s->idle_ms = next_idle(b);
	return 0;
}

static int
on_line_idle(struct sre_stream *s, const char *line, size_t len, void *ctx)
{
	int rc = on_line(s, line, len, ctx);

	s->idle_ms = next_idle(ctx);
	return rc;
}

/* ---- setting up ----------------------------------------------------- */

static int
setup_llm(struct brain *b)
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
		long n = number("MAX_LLM_CONCURRENCY", mc, 1, 1024);

		if (n < 0)
			return EX_CONFIG;
		lc.concurrency = (int)n;
	} else if (env != NULL && strcmp(env, "cloud") == 0)
		lc.concurrency = 1;
	else
		lc.concurrency = 4;
	b->base_concurrency = lc.concurrency;
	if ((b->llm = sre_llm_new(&lc, err, sizeof(err))) == NULL) {
		sre_warnx("%s", err);
		return EX_CONFIG;
	}
	b->model = opt.model ? opt.model : getenv("SRE_LLM_MODEL");
	if (b->model == NULL || *b->model == '\0')
		b->model = SRE_LLM_DEFAULT_MODEL;
	b->anonymize = opt.anonymize >= 0 ? opt.anonymize :
	    !sre_llm_is_local(b->llm);
	sre_info("LLM: %s at %s, %d at a time, %s", b->model,
	    sre_llm_endpoint(b->llm), lc.concurrency, b->anonymize ?
	    "anonymised" : "not anonymised");
	b->gov_ok = sre_gov_watch_init(&b->gw, sre_state_dir(&opt.c)) == 0;
	b->gov_polled = -1e9;
	governor(b);
	return EX_OK;
}

enum {
	O_ANON = 0x2001, O_NOANON, O_LLM, O_NOLLM, O_CONC, O_RETRIES,
	O_TIMEOUT, O_URL, O_MAXANOM, O_MAXINC, O_MAXMEM, O_MODEL, O_NOMEM, O_NOPASS,
	O_SETTLE, O_TOP
};

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		SRE_COMMON_LONGOPTS,
		{ "anonymize", no_argument, NULL, O_ANON },
		{ "llm", no_argument, NULL, O_LLM },
		{ "llm-concurrency", required_argument, NULL, O_CONC },
		{ "llm-retries", required_argument, NULL, O_RETRIES },
		{ "llm-timeout", required_argument, NULL, O_TIMEOUT },
		{ "llm-url", required_argument, NULL, O_URL },
		{ "max-anomalies", required_argument, NULL, O_MAXANOM },
		{ "max-incidents", required_argument, NULL, O_MAXINC },
		{ "max-memory", required_argument, NULL, O_MAXMEM },
		{ "model", required_argument, NULL, O_MODEL },
		{ "no-anonymize", no_argument, NULL, O_NOANON },
		{ "no-llm", no_argument, NULL, O_NOLLM },
		{ "no-memory", no_argument, NULL, O_NOMEM },
		{ "no-pass", no_argument, NULL, O_NOPASS },
		{ "settle", required_argument, NULL, O_SETTLE },
		{ "top", required_argument, NULL, O_TOP },
		{ NULL, 0, NULL, 0 }
	};
	struct sre_stream s;
	struct sre_logmine_conf lmc;
	struct brain *b;
	struct incident *i;
	char err[512];
	int ch, ex;
	long n;

	sre_init("sre-brain");
	sre_common_init(&opt.c);
	opt.settle_ms = SETTLE_MS;
	opt.top = 5;
	opt.pass = 1;
	opt.llm = -1;
	opt.anonymize = -1;
	opt.llm_timeout_ms = 30000;
	opt.llm_retries = 3;
	opt.memory = 1;
	opt.max_incidents = MAX_INCIDENTS;
	opt.max_memory = MAX_MEMORY;
	opt.max_anomalies = MAX_ANOMALIES;
	while ((ch = getopt_long(argc, argv, SRE_COMMON_SHORTOPTS, longopts,
	    NULL)) != -1) {
		switch (sre_opt_common(&opt.c, ch, optarg)) {
		case 1:
			continue;
		case -1:
			return EX_USAGE;
		}
		switch (ch) {
		case O_ANON:
			opt.anonymize = 1;
			break;
		case O_CONC:
			if ((n = number("--llm-concurrency", optarg, 1,
			    1024)) < 0)
				return EX_USAGE;
			opt.llm_concurrency = (int)n;
			break;
		case O_LLM:
			opt.llm = 1;
			break;
		case O_MAXANOM:
			if ((opt.max_anomalies = number("--max-anomalies",
			    optarg, 1, 1000000)) < 0)
				return EX_USAGE;
			break;
		case O_MAXMEM:
			if ((opt.max_memory = number("--max-memory", optarg,
			    1, 65536)) < 0)
				return EX_USAGE;
			opt.max_memory <<= 20;
			break;
		case O_MAXINC:
			if ((opt.max_incidents = number("--max-incidents",
			    optarg, 1, 10000000)) < 0)
				return EX_USAGE;
			break;
		case O_MODEL:
			if (*optarg == '\0' || strlen(optarg) > 200) {
				sre_warnx("--model: a name of 1 to 200 bytes");
				return EX_USAGE;
			}
			opt.model = optarg;
			break;
		case O_NOANON:
			opt.anonymize = 0;
			break;
		case O_NOLLM:
			opt.llm = 0;
			break;
		case O_NOMEM:
			opt.memory = 0;
			break;
		case O_NOPASS:
			opt.pass = 0;
			break;
		case O_RETRIES:
			if ((n = number("--llm-retries", optarg, 0, 20)) < 0)
				return EX_USAGE;
			opt.llm_retries = (int)n;
			break;
		case O_SETTLE:
			if ((opt.settle_ms = duration_ms(optarg)) < 0) {
				sre_warnx("--settle %s: not a duration (10s, "
				    "500ms, 2m)", optarg);
				return EX_USAGE;
			}
			break;
		case O_TIMEOUT:
			if ((opt.llm_timeout_ms = duration_ms(optarg)) <= 0 ||
			    opt.llm_timeout_ms > 600000) {
				sre_warnx("--llm-timeout %s: a duration up to "
				    "10m", optarg);
				return EX_USAGE;
			}
			break;
		case O_TOP:
			if ((n = number("--top", optarg, 1, 100)) < 0)
				return EX_USAGE;
			opt.top = (int)n;
			break;
		case O_URL:
			opt.llm_url = optarg;
			break;
		case 'h':
			usage(stdout);
			return EX_OK;
		case 'V':
			sre_print_version();
			return EX_OK;
		default:
			usage(stderr);
			return EX_USAGE;
		}
	}
	if (optind != argc) {
		sre_warnx("unexpected argument: %s", argv[optind]);
		usage(stderr);
		return EX_USAGE;
	}
	if ((b = calloc(1, sizeof(*b))) == NULL) {
		sre_warnx("out of memory");
		return EX_OSERR;
	}
	b->clock = b->clock_input = -1;
	b->next_due = -1;
	b->seen = jv_object();
	b->episodes = jv_object();
	if ((b->g = sre_rca_graph_new(0, 0)) == NULL) {
		sre_warnx("out of memory");
		free(b);
		return EX_OSERR;
	}
	sre_logmine_conf_init(&lmc);
	lmc.max_groups = 2000;
	lmc.max_bytes = 8u << 20;
	b->miner = sre_logmine_new(&lmc);
	if ((ex = setup_llm(b)) != EX_OK)
		goto out;
	if (opt.memory && (ex = sre_brain_mem_open(&b->mem,
	    sre_state_dir(&opt.c), err, sizeof(err))) != EX_OK) {
		sre_warnx("%s", err);
		goto out;
	}
	if (b->mem != NULL && !sre_brain_mem_ready(b->mem))
		sre_info("no store under %s yet: memory is empty",
		    sre_state_dir(&opt.c));
	if ((ex = sre_mac_key_load(&opt.key, &opt.c, err, sizeof(err))) !=
	    EX_OK) {
		sre_warnx("%s", err);
		goto out;
	}
	if ((ex = sre_stream_open(&s, &opt.c)) != EX_OK)
		goto out;
	b->s = &s;
	s.idle_ms = -1;
	ex = sre_stream_run(&s, on_line_idle, on_idle, b);
	sre_info("%llu lines, %llu anomalies, %llu incidents, %llu "
	    "diagnoses (%llu updates), %llu left to sre-cag, %llu rejected",
	    s.lines, b->anomalies, b->incidents, b->diagnoses, b->updates,
	    b->held, s.rejected);
	if (b->llm != NULL)
		sre_info("LLM: %llu answers taken, %llu fell back, at most %d "
		    "at once", b->llm_ok, b->llm_fallback,
		    sre_llm_peak(b->llm));
out:
	while ((i = b->head) != NULL)
		inc_free(b, i);
	sre_llm_free(b->llm);
	sre_brain_mem_close(b->mem);
	sre_logmine_free(b->miner);
	sre_rca_graph_free(b->g);
	jv_free(b->seen);
	jv_free(b->episodes);
	free(b);
	return ex;
}
