/*
 * sre-logmine: log template mining.
 *
 * Reads log messages, one per line: raw text lines (split by --format
 * into header fields and Content first, if given), `journalctl -o json`
 * entries (MESSAGE, PRIORITY, _SYSTEMD_UNIT, __REALTIME_TIMESTAMP) or
 * OTLP/JSON ExportLogsServiceRequest lines (one per logRecord, its body
 * the message).  Each message goes through lib/logmine's online miner,
 * and one NDJSON record per message says which template it belongs to:
 *
 *	{"template_id":"5fa1...","template":"Invalid user <*> from <*>",
 *	 "message":"Invalid user admin from 10.0.0.9","service":"sshd",...}
 *
 * --summary adds, at the end, one record per template with its count.
 * A line that cannot be used (off --format, a rejected log record) is
 * reported with its number and skipped; the stream goes on.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/stdlib.h>

#include "logmine.h"
#include "otlp.h"
#include "sbuf.h"
#include "sre.h"

enum { IN_AUTO, IN_RAW, IN_JSON };

#define MAX_MERGED 16

static struct {
	struct sre_common c;
	const char *format;
	int input;
	int summary;
	struct sre_logmine_conf conf;
} opt;

struct ctx {
	struct sre_stream *s;
	struct sre_logmine *lm;
	struct sre_logmine_format *fmt;
	struct sre_logmine_field *fields;
	int content; /* index of <Content> in fields */
	struct sre_otlp *otlp;
	struct sre_sbuf out;
	uint64_t merged[MAX_MERGED][2]; /* from, into: merges caused by the
	                                   message in hand */
	size_t nmerged;
	int ex; /* an EX_* code that ends the loop */
	unsigned long long other; /* trace and metric lines passed over */
};

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: sre-logmine [-hqsVv] [-d depth] [-f format] [-i URL] "
	    "[--input mode]\n"
	    "                   [-m list] [--max-line N] [-n N] [-o URL] "
	    "[--state-dir DIR]\n"
	    "                   [-t threshold] [file]\n"
	    "  -f, --format FMT     split raw lines: '<Date> <Time> <Level> "
	    "<Content>'\n"
	    "      --input MODE     auto, raw or json (default auto)\n"
	    "  -s, --summary        end with one record per template and its "
	    "count\n"
	    "  -t, --threshold ST   similarity to join a template, 0..1 "
	    "(default 0.5)\n"
	    "  -d, --depth N        parse tree depth, 3..16 (default 4)\n"
	    "  -n, --max-templates N  templates kept at most (default 10000)\n"
	    "  -m, --mask LIST      maskers: num,hex,ip,url,path,unit,host, "
	    "all, none\n"
	    "  -i, --in URL         read from URL: -, file:PATH, "
	    "redis://HOST:PORT/STREAM,\n"
	    "                       kafka://HOST:PORT/TOPIC (default -)\n"
	    "  -o, --out URL        write to URL (default -)\n"
	    "      --max-line N     longest line in bytes (default 16777216)\n"
	    "      --state-dir DIR  accepted; sre-logmine keeps no state\n"
	    "  -q, --quiet          report errors only\n"
	    "  -v, --verbose        report more\n"
	    "  -h, --help           this help\n"
	    "  -V, --version        print the version\n");
}

/* ---- JSON output ------------------------------------------------------- */

static void
put_key(struct sre_sbuf *b, const char *key)
{
	sre_sbuf_add(b, ",\"", 2);
	sre_sbuf_adds(b, key);
	sre_sbuf_add(b, "\":", 2);
}

static void
put_id(struct sre_sbuf *b, uint64_t id)
{
	char s[17];

	sre_logmine_id_str(id, s);
	sre_sbuf_add(b, "\"", 1);
	sre_sbuf_add(b, s, 16);
	sre_sbuf_add(b, "\"", 1);
}

static void
put_u64(struct sre_sbuf *b, unsigned long long v)
{
	char s[24];
	int n = snprintf(s, sizeof(s), "%llu", v);

	sre_sbuf_add(b, s, (size_t)n);
}

/* ---- mining ------------------------------------------------------------ */

static void
on_merge(void *arg, uint64_t from, uint64_t into)
{
	struct ctx *x = arg;

	if (x->nmerged < MAX_MERGED) {
		x->merged[x->nmerged][0] = from;
		x->merged[x->nmerged++][1] = into;
	}
}

/* What we know of a message besides its text. */
struct meta {
	uint64_t ts_ms; /* 0: unknown */
	const char *service, *unit, *severity;
	size_t service_len, unit_len, severity_len;
	int priority; /* -1: unknown */
};

/* Mine one message and write its record. */
static int
mine(struct ctx *x, const char *msg, size_t len, const struct meta *m)
{
	struct sre_logmine_match r;
	struct sre_sbuf *b = &x->out;

	x->nmerged = 0;
	if (sre_logmine_add(x->lm, msg, len, &r) < 0) {
		sre_warn("mining");
		return EX_SOFTWARE;
	}
	b->n = 0;
	sre_sbuf_adds(b, "{\"template_id\":");
	put_id(b, r.id);
	put_key(b, "template");
	sre_sbuf_jstr(b, r.tmpl, r.tmpl_len);
	put_key(b, "message");
	sre_sbuf_jstr(b, msg, len);
	if (r.is_new) {
		put_key(b, "new");
		sre_sbuf_adds(b, "true");
	}
	if (m && m->ts_ms) {
		put_key(b, "ts_ms");
		put_u64(b, m->ts_ms);
	}
	if (m && m->service_len) {
		put_key(b, "service");
		sre_sbuf_jstr(b, m->service, m->service_len);
	}
	if (m && m->unit_len) {
		put_key(b, "unit");
		sre_sbuf_jstr(b, m->unit, m->unit_len);
	}
	if (m && m->priority >= 0) {
		put_key(b, "priority");
		put_u64(b, (unsigned long long)m->priority);
	}
	if (m && m->severity_len) {
		put_key(b, "severity");
		sre_sbuf_jstr(b, m->severity, m->severity_len);
	}
	if (x->fmt && m == NULL) {
		/* The header fields of a --format line, Content aside. */
		int first = 1;

		put_key(b, "fields");
		sre_sbuf_add(b, "{", 1);
		for (size_t i = 0; i < sre_logmine_format_nfields(x->fmt);
		     i++) {
			const char *name;

			if ((int)i == x->content || x->fields[i].p == NULL)
				continue;
			if (!first)
				sre_sbuf_add(b, ",", 1);
			first = 0;
			name = sre_logmine_format_field_name(x->fmt, i);
			sre_sbuf_jstr(b, name, strlen(name));
			sre_sbuf_add(b, ":", 1);
			sre_sbuf_jstr(b, x->fields[i].p, x->fields[i].len);
		}
		sre_sbuf_add(b, "}", 1);
	}
	if (x->nmerged) {
		/* {"gone id":"surviving id",...} */
		put_key(b, "merged");
		sre_sbuf_add(b, "{", 1);
		for (size_t i = 0; i < x->nmerged; i++) {
			if (i)
				sre_sbuf_add(b, ",", 1);
			put_id(b, x->merged[i][0]);
			sre_sbuf_add(b, ":", 1);
			put_id(b, x->merged[i][1]);
		}
		sre_sbuf_add(b, "}", 1);
	}
	sre_sbuf_add(b, "}", 1);
	if (b->oom) {
		sre_warnx("out of memory");
		return EX_OSERR;
	}
	sre_stream_emit(x->s, b->p, b->n);
	return 0;
}

static int
on_log(void *arg, const struct sre_otlp_log *l)
{
	struct ctx *x = arg;
	struct meta m;

	memset(&m, 0, sizeof(m));
	m.ts_ms = l->time_ns / 1000000;
	m.service = l->res->service.p;
	m.service_len = l->res->service.n;
	m.unit = l->unit.p;
	m.unit_len = l->unit.n;
	m.priority = l->priority;
	if (l->priority < 0) {
		m.severity = l->severity_text.p;
		m.severity_len = l->severity_text.n;
	}
	if ((x->ex = mine(x, l->body.p ? l->body.p : "", l->body.n, &m)) != 0)
		return 1;
	return 0;
}

static int
on_reject(void *arg, const struct sre_otlp_reject *rj)
{
	struct ctx *x = arg;

	sre_stream_reject(x->s, "%s", rj->msg);
	return 0;
}

static int
raw_line(struct ctx *x, const char *line, size_t len)
{
	if (x->fmt == NULL)
		return mine(x, line, len, NULL);
	if (sre_logmine_format_parse(x->fmt, line, len, x->fields) < 0) {
		sre_stream_reject(x->s, "does not match --format");
		return 0;
	}
	return mine(x, x->fields[x->content].p ? x->fields[x->content].p : "",
	    x->fields[x->content].len, NULL);
}

static int
on_line(struct sre_stream *s, const char *line, size_t len, void *ctx)
{
	struct ctx *x = ctx;
	struct sre_otlp_handler h = {
	    .log = on_log, .reject = on_reject, .arg = x};
	struct sre_otlp_result res;
	size_t lead = strspn(line, " \t\r");
	int rc;

	x->s = s;
	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n'))
		len--;
	if (opt.input == IN_RAW || (opt.input == IN_AUTO && line[lead] != '{'))
		return raw_line(x, line, len);
	x->ex = 0;
	rc = sre_otlp_read(x->otlp, line, len, &h, &res);
	if (rc == SRE_OTLP_STOP)
		return x->ex;
	if (rc == SRE_OTLP_ENOMEM) {
		sre_warnx("out of memory");
		return EX_OSERR;
	}
	switch (res.format) {
	case SRE_OTLP_LOGS:
	case SRE_OTLP_JOURNAL:
		return 0;
	case SRE_OTLP_MALFORMED:
	case SRE_OTLP_UNKNOWN:
		/* In auto mode, a line that merely looks like JSON is text. */
		if (opt.input == IN_AUTO)
			return raw_line(x, line, len);
		if (res.format == SRE_OTLP_MALFORMED)
			sre_stream_reject(s, "%s", res.msg);
		else
			sre_stream_reject(s,
			    "not an OTLP logs request nor a "
			    "journal entry");
		return 0;
	default:
		/* Traces and metrics share streams with logs: not ours, and
		 * not wrong either. */
		x->other++;
		return 0;
	}
}

/* ---- the summary --------------------------------------------------------- */

struct tsum {
	uint64_t id, count;
	char *tmpl;
	size_t len;
};

struct tlist {
	struct tsum *v;
	size_t n, cap;
	int oom;
};

static int
collect(const struct sre_logmine_match *m, void *arg)
{
	struct tlist *l = arg;

	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 256;
		struct tsum *v = reallocarray(l->v, cap, sizeof(*v));

		if (v == NULL) {
			l->oom = 1;
			return 1;
		}
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n].id = m->id;
	l->v[l->n].count = m->count;
	l->v[l->n].len = m->tmpl_len;
	if ((l->v[l->n].tmpl = strdup(m->tmpl)) == NULL) {
		l->oom = 1;
		return 1;
	}
	l->n++;
	return 0;
}

/* Most frequent first; ties by id, so the output is stable. */
static int
by_count(const void *a, const void *b)
{
	const struct tsum *x = a, *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

static int
on_idle(struct sre_stream *s, int at_end, void *ctx)
{
	struct ctx *x = ctx;
	struct tlist l = {NULL, 0, 0, 0};
	int ex = 0;

	if (!at_end || !opt.summary)
		return 0;
	sre_logmine_foreach(x->lm, collect, &l);
	if (l.oom) {
		sre_warnx("out of memory");
		ex = EX_OSERR;
	} else
		qsort(l.v, l.n, sizeof(*l.v), by_count);
	for (size_t i = 0; i < l.n; i++) {
		struct sre_sbuf *b = &x->out;

		if (ex == 0) {
			b->n = 0;
			sre_sbuf_adds(b, "{\"template_id\":");
			put_id(b, l.v[i].id);
			put_key(b, "template");
			sre_sbuf_jstr(b, l.v[i].tmpl, l.v[i].len);
			put_key(b, "count");
			put_u64(b, l.v[i].count);
			sre_sbuf_add(b, "}", 1);
			if (b->oom) {
				sre_warnx("out of memory");
				ex = EX_OSERR;
			} else if (sre_stream_emit(s, b->p, b->n) < 0)
				ex = EX_OK;
		}
		free(l.v[i].tmpl);
	}
	free(l.v);
	return ex;
}

/* ---- options ------------------------------------------------------------- */

static int
parse_masks(const char *arg, unsigned *out)
{
	static const struct {
		const char *name;
		unsigned bit;
	} names[] = {
	    {"num", SRE_LOGMINE_MASK_NUM},
	    {"hex", SRE_LOGMINE_MASK_HEX},
	    {"ip", SRE_LOGMINE_MASK_IP},
	    {"url", SRE_LOGMINE_MASK_URL},
	    {"path", SRE_LOGMINE_MASK_PATH},
	    {"unit", SRE_LOGMINE_MASK_UNIT},
	    {"host", SRE_LOGMINE_MASK_HOST},
	    {"all", SRE_LOGMINE_MASK_DEFAULT},
	    {"none", 0},
	};
	char *list = strdup(arg), *p = list, *t;
	unsigned m = 0;
	int ok = list != NULL;

	while (ok && (t = strsep(&p, ",")) != NULL) {
		size_t i;

		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (strcmp(t, names[i].name) == 0)
				break;
		if (i == sizeof(names) / sizeof(names[0])) {
			sre_warnx("--mask: unknown masker '%s'", t);
			ok = 0;
		} else
			m |= names[i].bit;
	}
	free(list);
	*out = m;
	return ok ? 0 : -1;
}

static int
parse_options(int argc, char *argv[])
{
	static const struct option longopts[] = {SRE_COMMON_LONGOPTS,
	    {"depth", required_argument, NULL, 'd'},
	    {"format", required_argument, NULL, 'f'},
	    {"input", required_argument, NULL, 'I'},
	    {"mask", required_argument, NULL, 'm'},
	    {"max-templates", required_argument, NULL, 'n'},
	    {"summary", no_argument, NULL, 's'},
	    {"threshold", required_argument, NULL, 't'}, {NULL, 0, NULL, 0}};
	long long n;
	int ch, ex;

	while ((ch = sre_getopt(&opt.c, argc, argv, "d:f:m:n:st:", longopts,
	    usage, &ex)) != -1) {
		switch (ch) {
		case 'd':
			if (sre_opt_count("--depth", optarg, 3, 16, &n) < 0)
				return EX_USAGE;
			opt.conf.depth = (unsigned)n;
			break;
		case 'f':
			opt.format = optarg;
			break;
		case 'I':
			if (strcmp(optarg, "auto") == 0)
				opt.input = IN_AUTO;
			else if (strcmp(optarg, "raw") == 0)
				opt.input = IN_RAW;
			else if (strcmp(optarg, "json") == 0)
				opt.input = IN_JSON;
			else {
				sre_warnx("--input %s: want auto, raw or json",
				    optarg);
				return EX_USAGE;
			}
			break;
		case 'm':
			if (parse_masks(optarg, &opt.conf.maskers) < 0)
				return EX_USAGE;
			break;
		case 'n':
			if (sre_opt_count("--max-templates", optarg, 1,
			    1 << 24, &n) < 0)
				return EX_USAGE;
			opt.conf.max_groups = (size_t)n;
			break;
		case 's':
			opt.summary = 1;
			break;
		case 't':
			if (sre_opt_real("--threshold", optarg, 0, 1,
			    SRE_OPT_ABOVE, &opt.conf.sim_threshold) < 0)
				return EX_USAGE;
			break;
		}
	}
	if (ex >= 0)
		return ex == EX_OK ? -1 : ex;	/* -h, -V: done */
	return EX_OK;
}

int
main(int argc, char *argv[])
{
	struct sre_stream s;
	struct ctx x;
	struct sre_logmine_stats st;
	char err[256];
	int ex;

	sre_init("sre-logmine");
	sre_common_init(&opt.c);
	sre_logmine_conf_init(&opt.conf);
	if ((ex = parse_options(argc, argv)) != EX_OK)
		return ex < 0 ? EX_OK : ex;
	if (sre_opt_input(&opt.c, argc - optind, argv + optind) < 0) {
		usage(stderr);
		return EX_USAGE;
	}
	memset(&x, 0, sizeof(x));
	if (opt.format) {
		x.fmt = sre_logmine_format_new(opt.format, err, sizeof(err));
		if (x.fmt == NULL) {
			ex = errno == ENOMEM ? EX_OSERR : EX_USAGE;
			if (errno == ENOMEM)
				sre_warn("--format");
			else
				sre_warnx("--format: %s", err);
			goto done;
		}
		x.content = sre_logmine_format_field_index(x.fmt, "Content");
		if (x.content < 0) {
			sre_warnx("--format: no <Content> field");
			ex = EX_USAGE;
			goto done;
		}
		x.fields = reallocarray(
		    NULL, sre_logmine_format_nfields(x.fmt), sizeof(*x.fields));
	}
	opt.conf.on_merge = on_merge;
	opt.conf.merge_arg = &x;
	x.lm = sre_logmine_new(&opt.conf);
	x.otlp = sre_otlp_new(0);
	if (x.lm == NULL || x.otlp == NULL || (x.fmt && x.fields == NULL)) {
		ex = errno == EINVAL ? EX_CONFIG : EX_OSERR;
		sre_warn("starting");
		goto done;
	}
	if ((ex = sre_stream_open(&s, &opt.c)) != EX_OK)
		goto done;
	ex = sre_stream_run(&s, on_line, on_idle, &x);
	sre_logmine_stats(x.lm, &st);
	sre_info("%llu lines, %llu rejected, %llu not logs, %llu templates "
	         "(%llu evicted, %llu merged)",
	    s.lines, s.rejected, x.other, (unsigned long long)st.groups,
	    (unsigned long long)st.evicted, (unsigned long long)st.merged);
done:
	sre_logmine_free(x.lm);
	sre_logmine_format_free(x.fmt);
	sre_otlp_free(x.otlp);
	free(x.fields);
	sre_sbuf_free(&x.out);
	return ex;
}
