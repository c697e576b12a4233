/*
 * logmine-bench: grouping accuracy and speed of lib/telemetry/logmine.c on the
 * Loghub 2k data sets.
 *
 *	logmine-bench [-d DIR] [-k K] [-p DEPTH] [-r REPEAT] [-s ST]
 *	    [-D DATASET [-L]]
 *
 * For every data set in DIR (default $LOGHUB_DIR, else
 * /work/shared/data/loghub): split each raw line of <DS>/<DS>_2k.log with
 * the data set's Loghub header format (sre_logmine_format_*), mine the
 * Content, and score the groups against <DS>/<DS>_2k.log_structured.csv
 * (EventId, the original labels the published figures use).
 *
 * Grouping accuracy (GA), as the Loghub benchmark (logparser's
 * evaluator.get_accuracy) defines it: a message is correctly parsed when
 * the set of messages in its predicted group equals the set of messages
 * in its ground-truth group; GA is the fraction of such messages.
 *
 * Two runs per data set:
 *   general  default configuration (st 0.5, depth 4), built-in maskers
 *            only: what sre-logmine does with no options.
 *   tuned    the per-data-set settings the Loghub benchmark gave Drain
 *            (its preprocessing regular expressions, applied here with
 *            POSIX regcomp before mining, its similarity threshold and
 *            depth) plus the same built-in maskers.
 * Published figures come from DIR/published: Drain's, and the best
 * parser's per data set and on average (logparser README table).
 *
 * Speed: every raw line of every data set, repeated REPEAT times
 * (default 20: 480,000 lines), through format parsing and mining with
 * the default configuration; lines per minute of CPU time (one core).
 *
 * -D DATASET dumps "EventId<TAB>template id<TAB>template<TAB>content"
 * for one data set (tuned, or general with -x) and scores nothing else.
 */
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "logmine.h"

/* Overrides of the default configuration (0: keep the default). */
static double	opt_st;
static unsigned opt_depth, opt_k;

struct dataset {
	const char *name;
	const char *format;
	double	    st;
	unsigned    depth;
	const char *regex[4];	/* Loghub's, translated to POSIX ERE */
};

/*
 * The Loghub benchmark's settings for Drain (logparser benchmark/
 * Drain_benchmark.py).  Translations: \d -> [0-9], \s -> [[:space:]],
 * [\w-] -> [[:alnum:]_-], and /.+?\s (lazy) -> /[^[:space:]]+[[:space:]].
 */
static const struct dataset sets[] = {
	{ "HDFS", "<Date> <Time> <Pid> <Level> <Component>: <Content>", 0.5, 4,
	  { "blk_-?[0-9]+", "([0-9]+\\.){3}[0-9]+(:[0-9]+)?" } },
	{ "Hadoop", "<Date> <Time> <Level> \\[<Process>\\] <Component>: "
	  "<Content>", 0.5, 4, { "([0-9]+\\.){3}[0-9]+" } },
	{ "Spark", "<Date> <Time> <Level> <Component>: <Content>", 0.5, 4,
	  { "([0-9]+\\.){3}[0-9]+", "\\b[KGTM]?B\\b",
	    "([[:alnum:]_-]+\\.){2,}[[:alnum:]_-]+" } },
	{ "Zookeeper", "<Date> <Time> - <Level>  \\[<Node>:<Component>@<Id>\\]"
	  " - <Content>", 0.5, 4,
	  { "(/|)([0-9]+\\.){3}[0-9]+(:[0-9]+)?" } },
	{ "BGL", "<Label> <Timestamp> <Date> <Node> <Time> <NodeRepeat> "
	  "<Type> <Component> <Level> <Content>", 0.5, 4,
	  { "core\\.[0-9]+" } },
	{ "HPC", "<LogId> <Node> <Component> <State> <Time> <Flag> <Content>",
	  0.5, 4, { "=[0-9]+" } },
	{ "Linux", "<Month> <Date> <Time> <Level> <Component>(\\[<PID>\\])?: "
	  "<Content>", 0.39, 6,
	  { "([0-9]+\\.){3}[0-9]+", "[0-9]{2}:[0-9]{2}:[0-9]{2}" } },
	{ "HealthApp", "<Time>\\|<Component>\\|<Pid>\\|<Content>", 0.2, 4,
	  { NULL } },
	{ "Apache", "\\[<Time>\\] \\[<Level>\\] <Content>", 0.5, 4,
	  { "([0-9]+\\.){3}[0-9]+" } },
	{ "Proxifier", "\\[<Time>\\] <Program> - <Content>", 0.6, 3,
	  { "<[0-9]+[[:space:]]sec",
	    "([[:alnum:]_-]+\\.)+[[:alnum:]_-]+(:[0-9]+)?",
	    "[0-9]{2}:[0-9]{2}(:[0-9]{2})*", "[KGTM]B" } },
	{ "OpenSSH", "<Date> <Day> <Time> <Component> sshd\\[<Pid>\\]: "
	  "<Content>", 0.6, 5,
	  { "([0-9]+\\.){3}[0-9]+",
	    "([[:alnum:]_-]+\\.){2,}[[:alnum:]_-]+" } },
	{ "OpenStack", "<Logrecord> <Date> <Time> <Pid> <Level> <Component> "
	  "\\[<ADDR>\\] <Content>", 0.5, 5,
	  { "(([0-9]+\\.){3}[0-9]+,?)+", "/[^[:space:]]+[[:space:]]",
	    "[0-9]+" } },
};
#define NSETS (sizeof(sets) / sizeof(sets[0]))

struct lines {
	char  **v;
	size_t *len;
	size_t	n, cap;
};

static void *
xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (p == NULL) {
		fprintf(stderr, "logmine-bench: out of memory\n");
		exit(70);
	}
	return p;
}

static void
lines_push(struct lines *l, const char *s, size_t n)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 1024;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
		l->len = xrealloc(l->len, l->cap * sizeof(*l->len));
	}
	l->v[l->n] = xrealloc(NULL, n + 1);
	memcpy(l->v[l->n], s, n);
	l->v[l->n][n] = '\0';
	l->len[l->n++] = n;
}

static void
lines_free(struct lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	free(l->len);
	memset(l, 0, sizeof(*l));
}

/* Reads a file's lines, without their CR LF. */
static int
read_lines(const char *path, struct lines *l)
{
	FILE *fp = fopen(path, "r");
	char *buf = NULL;
	size_t cap = 0;
	ssize_t n;

	if (fp == NULL)
		return -1;
	while ((n = getline(&buf, &cap, fp)) >= 0) {
		while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
			n--;
		lines_push(l, buf, (size_t)n);
	}
	free(buf);
	fclose(fp);
	return 0;
}

/*
 * Reads the structured CSV: one record per log line, quoted fields may
 * hold commas, doubled quotes and newlines.  Keeps the Content and
 * EventId columns.
 */
static int
read_csv(const char *path, struct lines *content, struct lines *event)
{
	FILE *fp = fopen(path, "r");
	char *field = NULL;
	size_t fcap = 0;
	int c, ccol = -1, ecol = -1, header = 1;

	if (fp == NULL)
		return -1;
	for (;;) {
		int inq = 0, col = 0, eof;
		size_t fn = 0;
		char *cval = NULL, *eval = NULL;
		size_t clen = 0, elen = 0;

		for (;;) {
			c = getc(fp);
			eof = c == EOF;
			if (!eof && inq) {
				if (c == '"') {
					int d = getc(fp);

					if (d == '"') {
						c = '"';
					} else {
						ungetc(d, fp);
						inq = 0;
						continue;
					}
				}
			} else if (!eof && c == '"' && fn == 0) {
				inq = 1;
				continue;
			} else if (eof || c == ',' || c == '\n') {
				if (fn > 0 && field[fn - 1] == '\r' && c != ',')
					fn--;
				if (fn + 1 > fcap)
					field = xrealloc(field, fcap = fn + 1);
				field[fn] = '\0';
				if (header) {
					if (strcmp(field, "Content") == 0)
						ccol = col;
					if (strcmp(field, "EventId") == 0)
						ecol = col;
				} else if (col == ccol) {
					cval = strdup(field);
					clen = fn;
				} else if (col == ecol) {
					eval = strdup(field);
					elen = fn;
				}
				fn = 0;
				col++;
				if (c == ',')
					continue;
				break;
			}
			if (fn + 1 >= fcap)
				field = xrealloc(field, fcap = 2 * fcap + 64);
			field[fn++] = (char)c;
		}
		if (!header && eval) {
			lines_push(content, cval ? cval : "", cval ? clen : 0);
			lines_push(event, eval, elen);
		}
		free(cval);
		free(eval);
		if (header && (ccol < 0 || ecol < 0))
			break;
		header = 0;
		if (eof)
			break;
	}
	free(field);
	fclose(fp);
	return ccol < 0 || ecol < 0 ? -1 : 0;
}

/* Interns strings as small integers (a linear table is plenty here). */
struct intern {
	char  **s;
	size_t	n, cap;
};

static size_t
intern(struct intern *t, const char *s)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->s[i], s) == 0)
			return i;
	if (t->n == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 64;
		t->s = xrealloc(t->s, t->cap * sizeof(*t->s));
	}
	if ((t->s[t->n] = strdup(s)) == NULL)
		exit(70);
	return t->n++;
}

static void
intern_free(struct intern *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->s[i]);
	free(t->s);
}

/*
 * logparser's get_accuracy: for each predicted group, if all its lines
 * carry one ground-truth event and that event has exactly as many lines,
 * they all count as correct.
 */
static double
grouping_accuracy(const size_t *pred, size_t npred, const size_t *truth,
    size_t ntruth, size_t n)
{
	size_t *psize = calloc(npred, sizeof(*psize));
	size_t *tsize = calloc(ntruth, sizeof(*tsize));
	size_t *first = malloc(npred * sizeof(*first));
	unsigned char *mixed = calloc(npred, 1);
	size_t correct = 0;

	if (!psize || !tsize || !first || !mixed)
		exit(70);
	for (size_t i = 0; i < npred; i++)
		first[i] = (size_t)-1;
	for (size_t i = 0; i < n; i++) {
		psize[pred[i]]++;
		tsize[truth[i]]++;
		if (first[pred[i]] == (size_t)-1)
			first[pred[i]] = truth[i];
		else if (first[pred[i]] != truth[i])
			mixed[pred[i]] = 1;
	}
	for (size_t g = 0; g < npred; g++)
		if (psize[g] && !mixed[g] && tsize[first[g]] == psize[g])
			correct += psize[g];
	free(psize);
	free(tsize);
	free(first);
	free(mixed);
	return n ? (double)correct / (double)n : 0;
}

/* Replaces every match of every regex in s by "<*>", like re.sub. */
static char *
premask(const regex_t *re, size_t nre, const char *s)
{
	char *cur = strdup(s);

	for (size_t r = 0; r < nre; r++) {
		size_t cap = strlen(cur) * 3 + 8, o = 0;
		char *out = xrealloc(NULL, cap);
		const char *p = cur;
		regmatch_t m;
		int flags = 0;

		while (*p && regexec(&re[r], p, 1, &m, flags) == 0) {
			size_t so = (size_t)m.rm_so, eo = (size_t)m.rm_eo;

			memcpy(out + o, p, so);
			o += so;
			memcpy(out + o, "<*>", 3);
			o += 3;
			if (eo == so) {
				if (p[so] == '\0')
					break;
				out[o++] = p[so];
				eo++;
			}
			p += eo;
			flags = REG_NOTBOL;
		}
		strcpy(out + o, p);
		free(cur);
		cur = out;
	}
	return cur;
}

struct published {
	double drain, best;
	char   best_name[32];
};

/* Per data set: Drain's figure and the best parser's, from the CSVs. */
static void
read_published(const char *dir, const char *ds, struct published *pub)
{
	static const char *files[] = { "logparser_readme_benchmarks.csv",
	    "logparser_docs_benchmark_rst.csv" };
	char path[4096], *buf = NULL;
	size_t cap = 0;

	pub->drain = pub->best = -1;
	strcpy(pub->best_name, "?");
	for (size_t f = 0; f < 2; f++) {
		FILE *fp;
		ssize_t n;

		if ((size_t)snprintf(path, sizeof(path), "%s/published/%s", dir,
		    files[f]) >= sizeof(path) || (fp = fopen(path, "r")) == NULL)
			continue;
		while ((n = getline(&buf, &cap, fp)) > 0) {
			char *parser = strtok(buf, ",\r\n");
			char *d = strtok(NULL, ",\r\n");
			char *a = strtok(NULL, ",\r\n");
			char *b = strtok(NULL, ",\r\n");
			double ga;

			if (!parser || !d || !a || strcmp(d, ds) != 0)
				continue;
			/* README table: F1, Accuracy; docs table: GA. */
			ga = strtod(b ? b : a, NULL);
			if (strcmp(parser, "Drain") == 0 && pub->drain < 0)
				pub->drain = ga;
			if (ga > pub->best) {
				pub->best = ga;
				if ((size_t)snprintf(pub->best_name,
				    sizeof(pub->best_name), "%s", parser) >=
				    sizeof(pub->best_name))
					pub->best_name[0] = '\0';
			}
		}
		fclose(fp);
	}
	free(buf);
}

/* The best parser on average over our data sets, from the README table. */
static void
best_average(const char *dir, char *name, size_t namelen, double *avg)
{
	char path[4096], *buf = NULL;
	size_t cap = 0;
	FILE *fp;
	ssize_t n;
	struct { char name[32]; double sum; int k; } p[64];
	size_t np = 0;

	*avg = -1;
	snprintf(name, namelen, "?");
	if ((size_t)snprintf(path, sizeof(path),
	    "%s/published/logparser_readme_benchmarks.csv", dir) >= sizeof(path)
	    || (fp = fopen(path, "r")) == NULL)
		return;
	while ((n = getline(&buf, &cap, fp)) > 0) {
		char *parser = strtok(buf, ",\r\n");
		char *d = strtok(NULL, ",\r\n");
		char *f1 = strtok(NULL, ",\r\n");
		char *ga = strtok(NULL, ",\r\n");
		size_t i, s;

		if (!parser || !d || !f1 || !ga)
			continue;
		for (s = 0; s < NSETS && strcmp(sets[s].name, d) != 0; s++)
			;
		if (s == NSETS)
			continue;
		for (i = 0; i < np && strcmp(p[i].name, parser) != 0; i++)
			;
		if (i == np) {
			if (np == 64)
				continue;
			if ((size_t)snprintf(p[np].name, sizeof(p[np].name),
			    "%s", parser) >= sizeof(p[np].name))
				continue;
			p[np].sum = 0;
			p[np++].k = 0;
		}
		p[i].sum += strtod(ga, NULL);
		p[i].k++;
	}
	fclose(fp);
	free(buf);
	for (size_t i = 0; i < np; i++)
		if (p[i].k == (int)NSETS && p[i].sum / NSETS > *avg) {
			*avg = p[i].sum / NSETS;
			if ((size_t)snprintf(name, namelen, "%s", p[i].name)
			    >= namelen)
				name[namelen - 1] = '\0';
		}
}

/* Merges reported by the miner: from -> into, followed at the end. */
struct merges {
	uint64_t *from, *into;
	size_t	  n, cap;
};

static void
on_merge(void *arg, uint64_t from, uint64_t into)
{
	struct merges *m = arg;

	if (m->n == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 64;
		m->from = xrealloc(m->from, m->cap * sizeof(*m->from));
		m->into = xrealloc(m->into, m->cap * sizeof(*m->into));
	}
	m->from[m->n] = from;
	m->into[m->n++] = into;
}

static uint64_t
resolve(const struct merges *m, uint64_t id)
{
	for (size_t guard = 0; guard <= m->n; guard++) {
		size_t i;

		for (i = m->n; i-- > 0;)
			if (m->from[i] == id)
				break;
		if (i == (size_t)-1)
			return id;
		id = m->into[i];
	}
	return id;
}

struct run {
	double ga;
	double ga_corrected;	/* against loghub-2.0's corrected labels;
				   -1 without them */
	size_t groups, unmatched, content_diff;
};

static int
print_group(const struct sre_logmine_match *m, void *arg)
{
	char id[17];

	(void)arg;
	sre_logmine_id_str(m->id, id);
	printf("T\t%s\t%llu\t%s\n", id, (unsigned long long)m->count, m->tmpl);
	return 0;
}

/*
 * Mines one data set; tuned selects the Loghub settings.  With dump, prints
 * each line's ground truth and result.
 */
static int
run_set(const char *dir, const struct dataset *ds, int tuned, int dump,
    struct run *res)
{
	char path[4096], err[256];
	struct lines raw = { 0 }, content = { 0 }, event = { 0 };
	struct lines ccontent = { 0 }, cevent = { 0 };
	struct sre_logmine_conf conf;
	struct sre_logmine *lm;
	struct sre_logmine_format *fmt;
	struct sre_logmine_field *fields;
	struct intern pid = { 0 }, tid = { 0 };
	struct merges mg = { 0 };
	uint64_t *ids;
	regex_t re[4];
	size_t nre = 0, *pred, *truth;
	int ci;

	memset(res, 0, sizeof(*res));
	snprintf(path, sizeof(path), "%s/%s/%s_2k.log", dir, ds->name, ds->name);
	if (read_lines(path, &raw) < 0) {
		fprintf(stderr, "logmine-bench: %s: %s\n", path, strerror(errno));
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%s/%s_2k.log_structured.csv", dir,
	    ds->name, ds->name);
	if (read_csv(path, &content, &event) < 0) {
		fprintf(stderr, "logmine-bench: %s: cannot read\n", path);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%s/%s_2k.log_structured_corrected.csv",
	    dir, ds->name, ds->name);
	if (read_csv(path, &ccontent, &cevent) < 0 || cevent.n != raw.n)
		lines_free(&cevent);
	if (raw.n != event.n) {
		fprintf(stderr, "logmine-bench: %s: %zu lines, %zu labels\n",
		    ds->name, raw.n, event.n);
		return -1;
	}
	fmt = sre_logmine_format_new(ds->format, err, sizeof(err));
	if (fmt == NULL) {
		fprintf(stderr, "logmine-bench: %s: %s\n", ds->name, err);
		return -1;
	}
	ci = sre_logmine_format_field_index(fmt, "Content");
	fields = calloc(sre_logmine_format_nfields(fmt), sizeof(*fields));
	sre_logmine_conf_init(&conf);
	conf.sim_threshold = opt_st;
	conf.depth = opt_depth;
	conf.max_values = opt_k;
	if (tuned) {
		conf.sim_threshold = ds->st;
		conf.depth = ds->depth;
		for (; nre < 4 && ds->regex[nre]; nre++)
			if (regcomp(&re[nre], ds->regex[nre], REG_EXTENDED)) {
				fprintf(stderr, "logmine-bench: bad regex %s\n",
				    ds->regex[nre]);
				return -1;
			}
	}
	conf.on_merge = on_merge;
	conf.merge_arg = &mg;
	lm = sre_logmine_new(&conf);
	ids = calloc(raw.n, sizeof(*ids));
	pred = calloc(raw.n, sizeof(*pred));
	truth = calloc(raw.n, sizeof(*truth));
	if (lm == NULL || fields == NULL || pred == NULL || truth == NULL ||
	    ids == NULL)
		exit(70);
	for (size_t i = 0; i < raw.n; i++) {
		struct sre_logmine_match m;
		const char *msg;
		size_t len;
		char *pre;

		truth[i] = intern(&tid, event.v[i]);
		if (sre_logmine_format_parse(fmt, raw.v[i], raw.len[i],
		    fields) < 0) {
			/* Loghub drops such lines: they cannot be right. */
			res->unmatched++;
			ids[i] = 0;
			continue;
		}
		msg = fields[ci].p ? fields[ci].p : "";
		len = fields[ci].len;
		if (len != content.len[i] ||
		    memcmp(msg, content.v[i], len) != 0)
			res->content_diff++;
		pre = strndup(msg, len);
		if (nre) {
			char *t = premask(re, nre, pre);

			free(pre);
			pre = t;
		}
		if (sre_logmine_add(lm, pre, strlen(pre), &m) < 0)
			exit(70);
		ids[i] = m.id;
		free(pre);
	}
	/* A line belongs to the group its group was merged into. */
	for (size_t i = 0; i < raw.n; i++) {
		char idbuf[17];

		sre_logmine_id_str(resolve(&mg, ids[i]), idbuf);
		pred[i] = intern(&pid, ids[i] ? idbuf : "(unmatched)");
	}
	if (dump) {
		sre_logmine_foreach(lm, print_group, NULL);
		for (size_t i = 0; i < raw.n; i++) {
			const char *id = pid.s[pred[i]];

			printf("%s\t%s\t%.*s\n", event.v[i], id,
			    (int)content.len[i], content.v[i]);
		}
	}
	res->ga = grouping_accuracy(pred, pid.n, truth, tid.n, raw.n);
	res->ga_corrected = -1;
	if (cevent.n == raw.n) {
		struct intern cid = { 0 };

		for (size_t i = 0; i < raw.n; i++)
			truth[i] = intern(&cid, cevent.v[i]);
		res->ga_corrected = grouping_accuracy(pred, pid.n, truth, cid.n,
		    raw.n);
		intern_free(&cid);
	}
	res->groups = pid.n;
	for (size_t r = 0; r < nre; r++)
		regfree(&re[r]);
	sre_logmine_free(lm);
	sre_logmine_format_free(fmt);
	free(fields);
	free(pred);
	free(truth);
	free(ids);
	free(mg.from);
	free(mg.into);
	intern_free(&pid);
	intern_free(&tid);
	lines_free(&raw);
	lines_free(&content);
	lines_free(&event);
	lines_free(&ccontent);
	lines_free(&cevent);
	return 0;
}

static double
cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Format parsing and mining of every raw line, repeat times. */
static int
speed(const char *dir, unsigned repeat)
{
	struct lines raw[NSETS];
	struct sre_logmine_format *fmt[NSETS];
	struct sre_logmine *lm = sre_logmine_new(NULL);
	struct sre_logmine_field fields[16];
	struct sre_logmine_stats st;
	size_t total = 0, bytes = 0;
	double t0, t1;

	if (lm == NULL)
		return -1;
	for (size_t s = 0; s < NSETS; s++) {
		char path[4096];

		memset(&raw[s], 0, sizeof(raw[s]));
		snprintf(path, sizeof(path), "%s/%s/%s_2k.log", dir,
		    sets[s].name, sets[s].name);
		if (read_lines(path, &raw[s]) < 0)
			return -1;
		fmt[s] = sre_logmine_format_new(sets[s].format, NULL, 0);
		if (fmt[s] == NULL || sre_logmine_format_nfields(fmt[s]) > 16)
			return -1;
	}
	t0 = cpu_seconds();
	for (unsigned r = 0; r < repeat; r++)
		for (size_t s = 0; s < NSETS; s++) {
			int ci = sre_logmine_format_field_index(fmt[s],
			    "Content");

			for (size_t i = 0; i < raw[s].n; i++) {
				const char *msg = raw[s].v[i];
				size_t len = raw[s].len[i];

				if (sre_logmine_format_parse(fmt[s], msg, len,
				    fields) == 0 && fields[ci].p) {
					msg = fields[ci].p;
					len = fields[ci].len;
				}
				if (sre_logmine_add(lm, msg, len, NULL) < 0)
					return -1;
				total++;
				bytes += raw[s].len[i] + 1;
			}
		}
	t1 = cpu_seconds();
	sre_logmine_stats(lm, &st);
	printf("speed: %zu lines (%.1f MB, the 12 data sets %u times), "
	    "%.2f s CPU: %.0f lines/minute on one core (%.2f M lines/min); "
	    "%llu templates, %zu KB held\n", total, bytes / 1e6, repeat,
	    t1 - t0, total / (t1 - t0) * 60, total / (t1 - t0) * 60 / 1e6,
	    (unsigned long long)st.groups, st.bytes / 1024);
	for (size_t s = 0; s < NSETS; s++) {
		lines_free(&raw[s]);
		sre_logmine_format_free(fmt[s]);
	}
	sre_logmine_free(lm);

	/*
	 * The worst case: 200,000 lines of random words, nearly all of a new
	 * shape, so the miner creates, compares and evicts all the time.
	 */
	if ((lm = sre_logmine_new(NULL)) == NULL)
		return -1;
	{
		static const char *words[] = { "alpha", "bravo", "charlie",
		    "delta", "echo", "foxtrot", "golf", "hotel", "india",
		    "juliet", "kilo", "lima", "mike", "november", "oscar",
		    "papa" };
		uint32_t x = 2463534242u;
		char line[512];

		total = 0;
		t0 = cpu_seconds();
		for (int i = 0; i < 200000; i++) {
			size_t o = 0;
			int nw = 4 + (int)(x % 9);

			for (int w = 0; w < nw; w++) {
				x ^= x << 13;
				x ^= x >> 17;
				x ^= x << 5;
				o += (size_t)snprintf(line + o, sizeof(line) - o,
				    "%s%s%s", w ? " " : "", words[x % 16],
				    words[(x >> 4) % 16]);
			}
			if (sre_logmine_add(lm, line, o, NULL) < 0)
				return -1;
			total++;
		}
		t1 = cpu_seconds();
	}
	sre_logmine_stats(lm, &st);
	printf("speed, worst case: %zu lines of random words, %.2f s CPU: "
	    "%.0f lines/minute (%llu templates kept, %llu evicted, "
	    "%zu KB held)\n", total, t1 - t0, total / (t1 - t0) * 60,
	    (unsigned long long)st.groups, (unsigned long long)st.evicted,
	    st.bytes / 1024);
	sre_logmine_free(lm);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *dir = getenv("LOGHUB_DIR"), *dump = NULL;
	unsigned repeat = 20;
	int c, tuned_dump = 0;
	double sum_o = 0, sum_t = 0, sum_c = 0, sum_d = 0, sum_b = 0;
	double best_avg;
	char best_name[32];
	int below = 0, k = 0;

	if (dir == NULL || *dir == '\0')
		dir = "/work/shared/data/loghub";
	while ((c = getopt(argc, argv, "D:d:k:Lp:r:s:")) != -1) {
		switch (c) {
		case 'D':
			dump = optarg;
			break;
		case 'd':
			dir = optarg;
			break;
		case 'k':
			opt_k = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'L':
			tuned_dump = 1;
			break;
		case 'p':
			opt_depth = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'r':
			repeat = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 's':
			opt_st = strtod(optarg, NULL);
			break;
		default:
			fprintf(stderr, "usage: logmine-bench [-d DIR] [-k K] "
			    "[-p DEPTH] [-r REPEAT] [-s ST] [-D DATASET [-L]]\n");
			return 64;
		}
	}
	if (access(dir, R_OK) != 0) {
		printf("logmine-bench: %s: no Loghub data; skipped\n", dir);
		return 0;
	}
	if (dump) {
		struct run r;

		for (size_t s = 0; s < NSETS; s++)
			if (strcmp(sets[s].name, dump) == 0) {
				if (run_set(dir, &sets[s], tuned_dump, 1, &r) < 0)
					return 1;
				fprintf(stderr, "GA %.4f groups %zu\n", r.ga,
				    r.groups);
				return 0;
			}
		fprintf(stderr, "logmine-bench: no data set %s\n", dump);
		return 64;
	}
	printf("Loghub 2k grouping accuracy (GA, original labels), %s\n", dir);
	printf("%-10s %7s %7s %7s  %-10s %9s %9s\n", "dataset", "ours",
	    "Drain", "best", "(parser)", "ours+LH", "corrected");
	for (size_t s = 0; s < NSETS; s++) {
		struct run t, o;
		struct published pub;

		if (run_set(dir, &sets[s], 0, 0, &o) < 0 ||
		    run_set(dir, &sets[s], 1, 0, &t) < 0)
			return 1;
		read_published(dir, sets[s].name, &pub);
		printf("%-10s %7.4f %7.4f %7.4f  %-10s %9.4f %9.4f",
		    sets[s].name, o.ga, pub.drain, pub.best, pub.best_name, t.ga,
		    o.ga_corrected);
		if (o.unmatched || o.content_diff)
			printf("  [%zu lines off format, %zu contents differ "
			    "from the CSV]", o.unmatched, o.content_diff);
		if (o.ga < pub.drain) {
			printf("  BELOW DRAIN");
			below++;
		}
		printf("\n");
		sum_o += o.ga;
		sum_t += t.ga;
		sum_c += o.ga_corrected;
		sum_d += pub.drain;
		sum_b += pub.best;
		k++;
	}
	best_average(dir, best_name, sizeof(best_name), &best_avg);
	printf("%-10s %7.4f %7.4f %7.4f  %-10s %9.4f %9.4f\n", "average",
	    sum_o / k, sum_d / k, sum_b / k, "(each best)", sum_t / k,
	    sum_c / k);
	printf("best published parser on average: %s %.4f; ours %.4f is %s; "
	    "%d data set(s) below Drain\n", best_name, best_avg, sum_o / k,
	    sum_o / k > best_avg ? "above" : "NOT above", below);
	printf("ours: default configuration (st %.2g, depth %u), built-in "
	    "maskers, no per-data-set settings\n",
	    opt_st ? opt_st : 0.5, opt_depth ? opt_depth : 4);
	printf("ours+LH: the same plus Loghub's per-data-set Drain settings "
	    "(preprocessing regexes, st, depth)\n");
	printf("corrected: ours against loghub-2.0's corrected labels "
	    "(Khan et al. 2022), never tuned on\n");
	fflush(stdout);
	if (speed(dir, repeat) < 0) {
		fprintf(stderr, "logmine-bench: speed run failed\n");
		return 1;
	}
	return 0;
}
