/*
 * nab-run: run lib/tsad over the Numenta Anomaly Benchmark corpus, write
 * the results in NAB's own layout, and score them with a reimplementation
 * of NAB's scorer (nab/sweeper.py, nab/runner.py, NAB v1.1).
 *
 *	nab-run [-q] [-d nabdir] [-o outdir] [-n name] [-D detector]
 *	        [-P key=value ...] [-s published-subset.csv]
 *	nab-run --selftest [-d nabdir]
 *
 * Scoring, as NAB does it:
 *  - each file's first min(floor(0.15 N), 750) rows are probationary and
 *    not scored;
 *  - a row in an anomaly window [l, r] (width w = r - l + 1) detected at i
 *    is worth tp * S(-(r - i + 1) / w) / S(-1), where
 *    S(y) = 2 / (1 + exp(5 y)) - 1 (and -1 for y >= 3); only the best
 *    (earliest) detection of a window counts; an undetected window costs
 *    -fn;
 *  - a detection outside every window costs fp * S((i - r') / (w' - 1))
 *    after a window [l', r'], or -fp before the first window;
 *  - a row is detected when its anomaly score >= the threshold; the
 *    threshold is the one that maximises the corpus total for the
 *    profile (a sweep over every distinct score);
 *  - normalised = 100 * (raw - null) / (perfect - null), null being the
 *    null detector's optimised raw score and perfect = windows * tp.
 *
 * The detector's own alarm threshold (cfg.threshold) decides where an
 * alarm starts its quiet period, so it shapes the scores NAB sweeps.
 * NAB fits one threshold per detector on the corpus; nab-run does the
 * same with cfg.threshold (a grid, the best standard score), unless
 * --no-fit is given or it is set with -P threshold=X.  One configuration writes the results,
 * so NAB's own scorer, sweeping its threshold on them, finds the same.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jv.h>

#include "tsad.h"

#define NPROFILES 3

struct profile {
	const char *name;
	double tp, fp, fn;
};

static const struct profile profiles[NPROFILES] = {
	{ "standard", 1.0, 0.11, 1.0 },
	{ "reward_low_FP_rate", 1.0, 0.22, 1.0 },
	{ "reward_low_FN_rate", 1.0, 0.11, 2.0 },
};

struct window {
	size_t l, r;
};

struct series {
	char *rel;		/* "category/file.csv" */
	size_t n;
	int64_t *ts;		/* seconds since the epoch */
	char (*tstr)[32];	/* timestamp as written in the file */
	char (*vstr)[32];	/* value as written in the file */
	double *val;
	double *score;
	int *comp;		/* strongest tsad component per row */
	size_t nwin;
	struct window *win;
};

struct corpus {
	struct series *s;
	size_t n;
	size_t nwin;
};

static struct {
	const char *nabdir;
	const char *outdir;
	const char *name;
	const char *detector;
	const char *published;
	int quiet;
	int verbose;
	int selftest;
	int fit;		/* fit cfg.threshold on the corpus */
	int thr_given;		/* -P threshold=... given */
	struct sre_tsad_config cfg;
	const char *scout;	/* -D scout: the sre-scout to run */
	char *scout_args[8];	/* -a: its options (none: its defaults) */
	int nargs;
	char tmpdir[64];	/* its input, output and state */
	double scout_s;		/* wall time in sre-scout */
} opt;

extern char **environ;

static void
die(const char *fmt, ...)
{
	va_list ap;

	fputs("nab-run: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* snprintf into a path buffer; a truncated path is an error. */
static void pathf(char *buf, size_t sz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
pathf(char *buf, size_t sz, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sz, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sz)
		die("path too long: %s", buf);
}

static void *
xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz);

	if (p == NULL)
		die("out of memory");
	return p;
}

static double
now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* ---- time stamps ---------------------------------------------------- */

static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* "YYYY-MM-DD HH:MM:SS[.ffffff]" to seconds; -1 on a bad string. */
static int
parse_ts(const char *s, int64_t *out)
{
	int y, mo, d, h, mi, se, n = 0;

	if (sscanf(s, "%4d-%2d-%2d %2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &se,
	    &n) != 6 || n == 0)
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    se > 60)
		return -1;
	*out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
	return 0;
}

/* ---- corpus --------------------------------------------------------- */

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
load_csv(struct series *s, const char *path)
{
	FILE *f;
	char line[256], *comma, *e;
	size_t cap = 1024, lineno = 0;

	if ((f = fopen(path, "r")) == NULL)
		die("%s: %s", path, strerror(errno));
	s->ts = xcalloc(cap, sizeof(*s->ts));
	s->tstr = xcalloc(cap, sizeof(*s->tstr));
	s->vstr = xcalloc(cap, sizeof(*s->vstr));
	s->val = xcalloc(cap, sizeof(*s->val));
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		if (lineno == 1)
			continue;	/* header */
		if ((comma = strchr(line, ',')) == NULL)
			die("%s:%zu: no comma", path, lineno);
		*comma = '\0';
		if (s->n == cap) {
			cap *= 2;
			s->ts = realloc(s->ts, cap * sizeof(*s->ts));
			s->tstr = realloc(s->tstr, cap * sizeof(*s->tstr));
			s->vstr = realloc(s->vstr, cap * sizeof(*s->vstr));
			s->val = realloc(s->val, cap * sizeof(*s->val));
			if (!s->ts || !s->tstr || !s->vstr || !s->val)
				die("out of memory");
		}
		if (parse_ts(line, &s->ts[s->n]) != 0)
			die("%s:%zu: bad timestamp", path, lineno);
		if (strlen(line) >= 32 || strlen(comma + 1) >= 32)
			die("%s:%zu: field too long", path, lineno);
		strcpy(s->tstr[s->n], line);
		strcpy(s->vstr[s->n], comma + 1);
		errno = 0;
		s->val[s->n] = strtod(comma + 1, &e);
		if (e == comma + 1 || errno != 0)
			die("%s:%zu: bad value", path, lineno);
		s->n++;
	}
	fclose(f);
	s->score = xcalloc(s->n, sizeof(*s->score));
	s->comp = xcalloc(s->n, sizeof(*s->comp));
}

static size_t
find_ts(const struct series *s, int64_t t)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (s->ts[i] == t)
			return i;
	return SIZE_MAX;
}

static jv
load_json(const char *path)
{
	jv j = jv_load_file(path, 0);

	if (!jv_is_valid(j)) {
		jv m = jv_invalid_get_msg(j);
		die("%s: %s", path, jv_get_kind(m) == JV_KIND_STRING ?
		    jv_string_value(m) : "cannot load");
	}
	/* jv_load_file gives the array of the file's JSON texts. */
	if (jv_get_kind(j) != JV_KIND_ARRAY || jv_array_length(jv_copy(j)) != 1)
		die("%s: want exactly one JSON text", path);
	return jv_array_get(j, 0);
}

/* Every data/<category>/<file>.csv with its windows from the label file. */
static void
load_corpus(struct corpus *c, const char *nabdir)
{
	char path[4096], **names = NULL;
	size_t nn = 0, cap = 0, i, k;
	DIR *top, *sub;
	struct dirent *de, *fe;
	jv labels, wins;

	pathf(path, sizeof(path), "%s/data", nabdir);
	if ((top = opendir(path)) == NULL)
		die("%s: %s", path, strerror(errno));
	while ((de = readdir(top)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		pathf(path, sizeof(path), "%s/data/%s", nabdir, de->d_name);
		if ((sub = opendir(path)) == NULL)
			continue;
		while ((fe = readdir(sub)) != NULL) {
			size_t l = strlen(fe->d_name);
			if (l < 5 || strcmp(fe->d_name + l - 4, ".csv") != 0)
				continue;
			if (nn == cap) {
				cap = cap ? 2 * cap : 64;
				names = realloc(names, cap * sizeof(*names));
				if (names == NULL)
					die("out of memory");
			}
			if (asprintf(&names[nn], "%s/%s", de->d_name,
			    fe->d_name) < 0)
				die("out of memory");
			nn++;
		}
		closedir(sub);
	}
	closedir(top);
	if (nn == 0)
		die("%s/data: no csv files", nabdir);
	qsort(names, nn, sizeof(*names), cmp_str);

	pathf(path, sizeof(path), "%s/labels/combined_windows.json", nabdir);
	labels = load_json(path);
	if (jv_get_kind(labels) != JV_KIND_OBJECT)
		die("%s: not an object", path);

	c->s = xcalloc(nn, sizeof(*c->s));
	c->n = nn;
	c->nwin = 0;
	for (i = 0; i < nn; i++) {
		struct series *s = &c->s[i];

		s->rel = names[i];
		pathf(path, sizeof(path), "%s/data/%s", nabdir, s->rel);
		load_csv(s, path);
		wins = jv_object_get(jv_copy(labels), jv_string(s->rel));
		if (jv_get_kind(wins) != JV_KIND_ARRAY)
			die("%s: no labels", s->rel);
		s->nwin = (size_t)jv_array_length(jv_copy(wins));
		s->win = xcalloc(s->nwin, sizeof(*s->win));
		for (k = 0; k < s->nwin; k++) {
			jv w = jv_array_get(jv_copy(wins), (int)k);
			jv a, b;
			int64_t ta, tb;

			if (jv_get_kind(w) != JV_KIND_ARRAY ||
			    jv_array_length(jv_copy(w)) != 2)
				die("%s: bad window", s->rel);
			a = jv_array_get(jv_copy(w), 0);
			b = jv_array_get(jv_copy(w), 1);
			if (jv_get_kind(a) != JV_KIND_STRING ||
			    jv_get_kind(b) != JV_KIND_STRING ||
			    parse_ts(jv_string_value(a), &ta) != 0 ||
			    parse_ts(jv_string_value(b), &tb) != 0)
				die("%s: bad window time", s->rel);
			s->win[k].l = find_ts(s, ta);
			s->win[k].r = find_ts(s, tb);
			if (s->win[k].l == SIZE_MAX || s->win[k].r == SIZE_MAX ||
			    s->win[k].r < s->win[k].l)
				die("%s: window %s not in the data", s->rel,
				    jv_string_value(a));
			jv_free(a);
			jv_free(b);
			jv_free(w);
		}
		jv_free(wins);
		c->nwin += s->nwin;
	}
	jv_free(labels);
	free(names);
}

static void
free_corpus(struct corpus *c)
{
	size_t i;

	for (i = 0; i < c->n; i++) {
		struct series *s = &c->s[i];

		free(s->rel);
		free(s->ts);
		free(s->tstr);
		free(s->vstr);
		free(s->val);
		free(s->score);
		free(s->comp);
		free(s->win);
	}
	free(c->s);
}

/* ---- scorer ----------------------------------------------------------- */

static double
scaled_sigmoid(double y)
{
	if (y >= 3.0)
		return -1.0;
	return 2.0 / (1.0 + exp(5.0 * y)) - 1.0;
}

static size_t
probation_len(size_t n)
{
	double a = floor(0.15 * (double)n), b = 0.15 * 5000;

	return (size_t)ceil(a < b ? a : b);
}

/* One scorable row: its score, its weighted sweep score, its window. */
struct row {
	double score;
	double sweep;
	long win;		/* corpus-wide window id, -1 outside windows */
	size_t order;
};

/*
 * Rows of one series as nab/sweeper.py calcSweepScore makes them; the
 * probationary rows are left out.  Returns the number of rows written.
 */
static size_t
sweep_rows(const struct series *s, const double *score,
    const struct profile *p, long win0, struct row *out, size_t order0)
{
	size_t i, k = 0, nw = 0, prob = probation_len(s->n), m = 0;
	long cur = -1;
	double maxtp = scaled_sigmoid(-1.0), width = 0, pwidth = 0;
	size_t right = 0, pright = SIZE_MAX;

	for (i = 0; i < s->n; i++) {
		double w;

		if (cur < 0 && nw < s->nwin && i == s->win[nw].l) {
			cur = (long)nw;
			right = s->win[nw].r;
			width = (double)(right - s->win[nw].l + 1);
			nw++;
		}
		if (cur >= 0)
			w = scaled_sigmoid(-((double)right - (double)i + 1) /
			    width) * p->tp / maxtp;
		else if (pright == SIZE_MAX)
			w = scaled_sigmoid(3.0) * p->fp;
		else
			w = scaled_sigmoid(fabs((double)pright - (double)i) /
			    (pwidth - 1)) * p->fp;
		if (i >= prob) {
			out[m].score = score[i];
			out[m].sweep = w;
			out[m].win = cur >= 0 ? win0 + cur : -1;
			out[m].order = order0 + k;
			m++;
		}
		k++;
		if (cur >= 0 && i == right) {
			pright = right;
			pwidth = width;
			cur = -1;
		}
	}
	return m;
}

static int
cmp_row(const void *a, const void *b)
{
	const struct row *x = a, *y = b;

	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

struct counts {
	size_t tp, tn, fp, fn;
};

struct best {
	double threshold;
	double score;
	struct counts c;
};

/*
 * nab/sweeper.py calcScoreByThreshold plus the optimiser's pick: sweep the
 * thresholds from high to low over rows[] (sorted here) and return the
 * first threshold with the highest total.  nwin is the number of windows
 * the rows can fall in (ids 0..nwin-1).
 */
static struct best
sweep_best(struct row *rows, size_t m, size_t nwin, const struct profile *p)
{
	double *partw = xcalloc(nwin, sizeof(*partw));
	unsigned char *used = xcalloc(nwin, 1);
	double fpsum = 0, wsum = 0, total;
	struct best b;
	struct counts c = { 0, 0, 0, 0 };
	size_t i, j;

	for (i = 0; i < m; i++) {
		if (rows[i].win >= 0) {
			c.fn++;
			if (!used[rows[i].win]) {
				used[rows[i].win] = 1;
				partw[rows[i].win] = -p->fn;
				wsum -= p->fn;
			}
		} else
			c.tn++;
	}
	qsort(rows, m, sizeof(*rows), cmp_row);
	b.threshold = 1.1;
	b.score = fpsum + wsum;
	b.c = c;
	for (i = 0; i < m; i = j) {
		for (j = i; j < m && rows[j].score == rows[i].score; j++) {
			long w = rows[j].win;
			if (w < 0) {
				fpsum += rows[j].sweep;
				c.fp++;
				c.tn--;
			} else {
				if (rows[j].sweep > partw[w]) {
					wsum += rows[j].sweep - partw[w];
					partw[w] = rows[j].sweep;
				}
				c.tp++;
				c.fn--;
			}
		}
		total = fpsum + wsum;
		if (total > b.score) {
			b.score = total;
			b.threshold = rows[i].score;
			b.c = c;
		}
	}
	free(partw);
	free(used);
	return b;
}

/* Rows of the whole corpus for one profile; *nrows set. */
static struct row *
corpus_rows(const struct corpus *c, double *const *scores,
    const struct profile *p, size_t *nrows)
{
	size_t total = 0, i, m = 0, order = 0;
	long win0 = 0;
	struct row *rows;

	for (i = 0; i < c->n; i++)
		total += c->s[i].n;
	rows = xcalloc(total, sizeof(*rows));
	for (i = 0; i < c->n; i++) {
		m += sweep_rows(&c->s[i], scores[i], p, win0, rows + m, order);
		order += c->s[i].n;
		win0 += (long)c->s[i].nwin;
	}
	*nrows = m;
	return rows;
}

/* Optimised raw score of one detector's scores over the corpus. */
static struct best
score_corpus(const struct corpus *c, double *const *scores,
    const struct profile *p)
{
	size_t m;
	struct row *rows = corpus_rows(c, scores, p, &m);
	struct best b = sweep_best(rows, m, c->nwin, p);

	free(rows);
	return b;
}

/* Raw score of one series at a fixed threshold (nab/scorer.py per file). */
static double
score_file(const struct series *s, const double *score,
    const struct profile *p, double thr, struct counts *cnt)
{
	struct row *rows = xcalloc(s->n, sizeof(*rows));
	size_t m = sweep_rows(s, score, p, 0, rows, 0), i;
	double *partw = xcalloc(s->nwin, sizeof(*partw));
	unsigned char *used = xcalloc(s->nwin, 1);
	double tot = 0;
	struct counts c = { 0, 0, 0, 0 };

	for (i = 0; i < m; i++) {
		long w = rows[i].win;
		int det = rows[i].score >= thr;

		if (w >= 0 && !used[w]) {
			used[w] = 1;
			partw[w] = -p->fn;
		}
		if (w < 0) {
			if (det) {
				tot += rows[i].sweep;
				c.fp++;
			} else
				c.tn++;
		} else {
			if (det) {
				if (rows[i].sweep > partw[w])
					partw[w] = rows[i].sweep;
				c.tp++;
			} else
				c.fn++;
		}
	}
	for (i = 0; i < s->nwin; i++)
		if (used[i])
			tot += partw[i];
	if (cnt != NULL)
		*cnt = c;
	free(rows);
	free(partw);
	free(used);
	return tot;
}

static double
normalise(double raw, double null_raw, double perfect)
{
	return 100.0 * (raw - null_raw) / (perfect - null_raw);
}

/* ---- detectors -------------------------------------------------------- */

static void
detect_null(const struct series *s, double *out)
{
	memset(out, 0, s->n * sizeof(*out));
}

static void
detect_perfect(const struct series *s, double *out)
{
	size_t k;

	memset(out, 0, s->n * sizeof(*out));
	for (k = 0; k < s->nwin; k++)
		out[s->win[k].l] = 1.0;
}

static void
detect_tsad(const struct series *s, double *out)
{
	struct sre_tsad *d = sre_tsad_new(&opt.cfg);
	struct sre_tsad_result r;
	size_t i;

	if (d == NULL)
		die("sre_tsad_new: %s", strerror(errno));
	for (i = 0; i < s->n; i++) {
		if (sre_tsad_update(d, s->ts[i] * 1000, s->val[i], &r) != 0)
			r.event_score = 0;
		out[i] = r.event_score;
		if (s->comp != NULL)
			s->comp[i] = r.component;
	}
	sre_tsad_free(d);
}

/*
 * The product: the file as plain metric points, one `sre-scout` run with
 * its defaults (a state directory of its own), and a detection (score 1)
 * at each row an anomaly event names.  sre-scout must accept every line.
 */
static void
detect_scout(const struct series *s, double *out)
{
	char in[4096], res[4096], err[4096], state[4096], svc[256], *line;
	char *argv[12] = { (char *)opt.scout, "--state-dir", state };
	const char *slash = strrchr(s->rel, '/');
	posix_spawn_file_actions_t fa;
	size_t i, k, from = 0, cap = 0;
	ssize_t len;
	double t0;
	pid_t pid;
	FILE *f;
	int st;

	for (i = 0; i < (size_t)opt.nargs; i++)
		argv[3 + i] = opt.scout_args[i];
	argv[3 + i] = NULL;
	pathf(svc, sizeof(svc), "%s", slash != NULL ? slash + 1 : s->rel);
	svc[strcspn(svc, ".")] = '\0';
	pathf(in, sizeof(in), "%s/in.ndjson", opt.tmpdir);
	pathf(res, sizeof(res), "%s/out.ndjson", opt.tmpdir);
	pathf(err, sizeof(err), "%s/err", opt.tmpdir);
	pathf(state, sizeof(state), "%s/state", opt.tmpdir);
	if ((f = fopen(in, "w")) == NULL)
		die("%s: %s", in, strerror(errno));
	for (i = 0; i < s->n; i++)
		fprintf(f, "{\"ts_ms\":%lld,\"metric\":\"value\",\"value\":"
		    "%.17g,\"labels\":{\"service\":\"%s\"}}\n",
		    (long long)s->ts[i] * 1000, s->val[i], svc);
	if (fclose(f) != 0)
		die("%s: write failed", in);
	if (posix_spawn_file_actions_init(&fa) != 0 ||
	    posix_spawn_file_actions_addopen(&fa, 0, in, O_RDONLY, 0) != 0 ||
	    posix_spawn_file_actions_addopen(&fa, 1, res, O_WRONLY | O_CREAT |
	    O_TRUNC, 0600) != 0 ||
	    posix_spawn_file_actions_addopen(&fa, 2, err, O_WRONLY | O_CREAT |
	    O_TRUNC, 0600) != 0)
		die("posix_spawn_file_actions: out of memory");
	t0 = now_s();
	if ((errno = posix_spawn(&pid, opt.scout, &fa, NULL, argv,
	    environ)) != 0)
		die("%s: %s", opt.scout, strerror(errno));
	posix_spawn_file_actions_destroy(&fa);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			die("waitpid: %s", strerror(errno));
	opt.scout_s += now_s() - t0;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		die("%s: %s exited %d (see %s): every point must be accepted",
		    s->rel, opt.scout, WIFEXITED(st) ? WEXITSTATUS(st) : -1,
		    err);
	memset(out, 0, s->n * sizeof(*out));
	if ((f = fopen(res, "r")) == NULL)
		die("%s: %s", res, strerror(errno));
	line = NULL;
	while ((len = getline(&line, &cap, f)) > 0) {
		jv ev = jv_parse_sized(line, (int)len), ty, ts;
		int64_t t;

		if (jv_get_kind(ev) != JV_KIND_OBJECT) {
			jv_free(ev);
			continue;
		}
		ty = jv_object_get(jv_copy(ev), jv_string("type"));
		ts = jv_object_get(ev, jv_string("ts_ms"));
		if (jv_get_kind(ty) == JV_KIND_STRING &&
		    strcmp(jv_string_value(ty), "anomaly") == 0 &&
		    jv_get_kind(ts) == JV_KIND_NUMBER) {
			/* The row of that time: events come in the order
			 * of the points, and a file may repeat a time or
			 * step back, so the next such row, else the first. */
			t = (int64_t)jv_number_value(ts) / 1000;
			for (k = from; k < s->n && s->ts[k] != t; k++)
				;
			if (k == s->n)
				for (k = 0; k < s->n && s->ts[k] != t; k++)
					;
			if (k == s->n)
				die("%s: an anomaly at %lld s names no row",
				    s->rel, (long long)t);
			out[k] = 1.0;
			from = k + 1;
		}
		jv_free(ty);
		jv_free(ts);
	}
	free(line);
	fclose(f);
}

/* ---- results in NAB's layout -------------------------------------------- */

static void
mkdirs(const char *path)
{
	char buf[4096], *p;

	pathf(buf, sizeof(buf), "%s", path);
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0777) != 0 && errno != EEXIST)
			die("mkdir %s: %s", buf, strerror(errno));
		*p = '/';
	}
	if (mkdir(buf, 0777) != 0 && errno != EEXIST)
		die("mkdir %s: %s", buf, strerror(errno));
}

/* results/<name>/<category>/<name>_<file>.csv */
static void
write_results(const struct corpus *c, double *const *scores,
    const char *outdir, const char *name)
{
	char dir[4096], path[4096], cat[256];
	size_t i, j, k;

	for (i = 0; i < c->n; i++) {
		const struct series *s = &c->s[i];
		const char *slash = strchr(s->rel, '/');
		FILE *f;

		pathf(cat, sizeof(cat), "%.*s", (int)(slash - s->rel),
		    s->rel);
		pathf(dir, sizeof(dir), "%s/%s/%s", outdir, name, cat);
		mkdirs(dir);
		pathf(path, sizeof(path), "%s/%s_%s", dir, name, slash + 1);
		if ((f = fopen(path, "w")) == NULL)
			die("%s: %s", path, strerror(errno));
		fputs("timestamp,value,anomaly_score,label\n", f);
		for (j = 0, k = 0; j < s->n; j++) {
			int lab = 0;

			while (k < s->nwin && s->win[k].r < j)
				k++;
			if (k < s->nwin && s->win[k].l <= j)
				lab = 1;
			fprintf(f, "%s,%s,%.6f,%d\n", s->tstr[j], s->vstr[j],
			    scores[i][j], lab);
		}
		if (fclose(f) != 0)
			die("%s: write failed", path);
	}
}

/*
 * Read back the anomaly_score column of results written in NAB's layout,
 * so the scores scored are exactly those in the files.
 */
static void
read_results(const struct corpus *c, double **scores, const char *outdir,
    const char *name)
{
	char path[4096], line[256];
	size_t i, j;

	for (i = 0; i < c->n; i++) {
		const struct series *s = &c->s[i];
		const char *slash = strchr(s->rel, '/');
		FILE *f;

		pathf(path, sizeof(path), "%s/%s/%.*s/%s_%s", outdir, name,
		    (int)(slash - s->rel), s->rel, name, slash + 1);
		if ((f = fopen(path, "r")) == NULL)
			die("%s: %s", path, strerror(errno));
		if (fgets(line, sizeof(line), f) == NULL)
			die("%s: empty", path);
		for (j = 0; j < s->n; j++) {
			char *a, *b;

			if (fgets(line, sizeof(line), f) == NULL ||
			    (a = strchr(line, ',')) == NULL ||
			    (b = strchr(a + 1, ',')) == NULL)
				die("%s: short or bad row %zu", path, j + 2);
			scores[i][j] = strtod(b + 1, NULL);
		}
		fclose(f);
	}
}

/* ---- published numbers -------------------------------------------------- */

struct pubbest {
	double whole;		/* normalised, whole 58-file corpus */
	char whole_name[32];
	double subset;		/* normalised over the files here */
	char subset_name[32];
	int nfiles;
};

/* Best normalised score per profile from published/final_results.json. */
static void
published_whole(const char *nabdir, struct pubbest *pb)
{
	char path[4096];
	jv all, k;
	int i, p;

	pathf(path, sizeof(path), "%s/published/final_results.json",
	    nabdir);
	all = load_json(path);
	if (jv_get_kind(all) != JV_KIND_OBJECT)
		die("%s: not an object", path);
	k = jv_keys(jv_copy(all));
	for (i = 0; i < jv_array_length(jv_copy(k)); i++) {
		jv name = jv_array_get(jv_copy(k), i);
		jv d = jv_object_get(jv_copy(all), jv_copy(name));

		for (p = 0; p < NPROFILES; p++) {
			jv v;
			if (jv_get_kind(d) != JV_KIND_OBJECT)
				break;
			v = jv_object_get(jv_copy(d),
			    jv_string(profiles[p].name));
			if (jv_get_kind(v) == JV_KIND_NUMBER &&
			    jv_number_value(v) > pb[p].whole) {
				pb[p].whole = jv_number_value(v);
				snprintf(pb[p].whole_name,
				    sizeof(pb[p].whole_name), "%s",
				    jv_string_value(name));
			}
			jv_free(v);
		}
		jv_free(d);
		jv_free(name);
	}
	jv_free(k);
	jv_free(all);
}

/*
 * Published per-file raw scores (Detector,Profile,File,Threshold,Score,...)
 * summed over the files of this corpus and normalised the same way as ours.
 */
static void
published_subset(const char *path, const struct corpus *c,
    const double *null_raw, struct pubbest *pb)
{
	char line[512], det[16][32];
	double sum[16][NPROFILES];
	int nf[16][NPROFILES], nd = 0, i, p;
	FILE *f;

	if (path == NULL || (f = fopen(path, "r")) == NULL)
		return;
	memset(sum, 0, sizeof(sum));
	memset(nf, 0, sizeof(nf));
	while (fgets(line, sizeof(line), f) != NULL) {
		char *fld[10], *q = line;
		int n = 0;
		size_t s;

		if (line[0] == '#' || line[0] == '\n')
			continue;
		line[strcspn(line, "\r\n")] = '\0';
		while (n < 10 && (fld[n] = strsep(&q, ",")) != NULL)
			n++;
		if (n < 5)
			continue;
		for (p = 0; p < NPROFILES; p++)
			if (strcmp(fld[1], profiles[p].name) == 0)
				break;
		for (s = 0; s < c->n; s++)
			if (strcmp(fld[2], c->s[s].rel) == 0)
				break;
		if (p == NPROFILES || s == c->n)
			continue;
		for (i = 0; i < nd; i++)
			if (strcmp(det[i], fld[0]) == 0)
				break;
		if (i == nd) {
			if (nd == 16)
				continue;
			snprintf(det[nd++], sizeof(det[0]), "%s", fld[0]);
		}
		sum[i][p] += strtod(fld[4], NULL);
		nf[i][p]++;
	}
	fclose(f);
	for (p = 0; p < NPROFILES; p++) {
		double perfect = (double)c->nwin * profiles[p].tp;
		for (i = 0; i < nd; i++) {
			double v;
			if (nf[i][p] != (int)c->n)
				continue;	/* not every file: no figure */
			v = normalise(sum[i][p], null_raw[p], perfect);
			if (pb[p].nfiles == 0 || v > pb[p].subset) {
				pb[p].subset = v;
				pb[p].nfiles = nf[i][p];
				snprintf(pb[p].subset_name,
				    sizeof(pb[p].subset_name), "%s", det[i]);
			}
		}
	}
}

/* With -v: where each detection of a file falls, at threshold thr. */
static void
show_detections(const struct series *s, const double *score, double thr)
{
	size_t i, k, prob = probation_len(s->n);
	int shown = 0;

	for (k = 0; k < s->nwin; k++) {
		size_t j, at = s->win[k].l;

		for (j = s->win[k].l; j <= s->win[k].r; j++)
			if (score[j] > score[at])
				at = j;
		printf("    window %zu: [%zu, %zu] mid %zu, best %.3f at "
		    "%+.2f (%s)\n", k, s->win[k].l, s->win[k].r,
		    (s->win[k].l + s->win[k].r) / 2, score[at],
		    ((double)at - (double)s->win[k].l) /
		    (double)(s->win[k].r - s->win[k].l + 1),
		    sre_tsad_component_name(s->comp[at]));
	}
	for (i = prob; i < s->n && shown < 40; i++) {
		const char *where = "FP";
		char buf[64] = "";

		if (score[i] < thr)
			continue;
		for (k = 0; k < s->nwin; k++) {
			if (i >= s->win[k].l && i <= s->win[k].r) {
				where = "IN";
				snprintf(buf, sizeof(buf), "w%zu %+.2f", k,
				    ((double)i - (double)s->win[k].l) /
				    (double)(s->win[k].r - s->win[k].l + 1));
			}
		}
		printf("    %6zu %s %.3f %-7s %s %s\n", i, s->tstr[i], score[i],
		    sre_tsad_component_name(s->comp[i]), where, buf);
		shown++;
	}
}

/* ---- the run ---------------------------------------------------------- */

static double **
run_detector(const struct corpus *c, void (*fn)(const struct series *,
    double *))
{
	double **sc = xcalloc(c->n, sizeof(*sc));
	size_t i;

	for (i = 0; i < c->n; i++) {
		sc[i] = xcalloc(c->s[i].n, sizeof(**sc));
		fn(&c->s[i], sc[i]);
	}
	return sc;
}

static void
free_scores(const struct corpus *c, double **sc)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		free(sc[i]);
	free(sc);
}

/*
 * NAB's per-file score tables (published-subset.csv, ARTime rows: scored
 * by NAB's current sweeper) give each file's scorable rows split into
 * in-window (TP + FN) and outside (TN + FP): the probationary period and
 * the window rows must match ours exactly.
 */
static int
check_published_counts(const struct corpus *c, int *nt)
{
	char line[512];
	FILE *f;
	int fails = 0, seen = 0;

	if (opt.published == NULL || (f = fopen(opt.published, "r")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		char *fld[10], *q = line;
		int n = 0, ok;
		size_t k;
		struct counts ours;
		double *zero;
		long in, out;

		if (line[0] == '#')
			continue;
		line[strcspn(line, "\r\n")] = '\0';
		while (n < 10 && (fld[n] = strsep(&q, ",")) != NULL)
			n++;
		if (n < 10 || strcmp(fld[0], "ARTime") != 0 ||
		    strcmp(fld[1], "standard") != 0)
			continue;
		for (k = 0; k < c->n; k++)
			if (strcmp(c->s[k].rel, fld[2]) == 0)
				break;
		if (k == c->n)
			continue;
		zero = xcalloc(c->s[k].n, sizeof(*zero));
		score_file(&c->s[k], zero, &profiles[0], 2.0, &ours);
		free(zero);
		in = atol(fld[5]) + atol(fld[8]);
		out = atol(fld[6]) + atol(fld[7]);
		ok = (long)ours.fn == in && (long)ours.tn == out;
		(*nt)++;
		seen++;
		printf("%s %d - %s: scorable rows in windows %zu (NAB %ld), "
		    "outside %zu (NAB %ld)\n", ok ? "ok" : "not ok", *nt,
		    fld[2], ours.fn, in, ours.tn, out);
		fails += !ok;
	}
	fclose(f);
	return fails;
}

static int
selftest(const struct corpus *c)
{
	double **nul = run_detector(c, detect_null);
	double **per = run_detector(c, detect_perfect);
	int p, fails = 0;
	char path[4096];
	jv all;
	size_t allwin = 0;
	int nt;

	for (p = 0; p < NPROFILES; p++) {
		const struct profile *pr = &profiles[p];
		struct best bn = score_corpus(c, nul, pr);
		struct best bp = score_corpus(c, per, pr);
		double perfect = (double)c->nwin * pr->tp;
		double nn = normalise(bn.score, bn.score, perfect);
		double np = normalise(bp.score, bn.score, perfect);
		int ok1 = fabs(nn) < 1e-9 && fabs(bn.score +
		    (double)c->nwin * pr->fn) < 1e-9;
		int ok2 = fabs(np - 100.0) < 1e-9;

		printf("%s %d - %s: null raw %.4f -> %.2f, perfect raw %.4f "
		    "-> %.2f\n", ok1 && ok2 ? "ok" : "not ok", p + 1,
		    pr->name, bn.score, nn, bp.score, np);
		fails += !(ok1 && ok2);
	}

	/*
	 * NAB's published null row (config/thresholds.json) is the null
	 * detector's raw score over all 58 files: every window missed.  The
	 * label file lists every window, so it is reproducible here.
	 */
	pathf(path, sizeof(path), "%s/labels/combined_windows.json",
	    opt.nabdir);
	all = load_json(path);
	{
		jv k = jv_keys(jv_copy(all));
		int i;
		for (i = 0; i < jv_array_length(jv_copy(k)); i++) {
			jv v = jv_object_get(jv_copy(all),
			    jv_array_get(jv_copy(k), i));
			allwin += (size_t)jv_array_length(v);
		}
		jv_free(k);
	}
	jv_free(all);
	pathf(path, sizeof(path), "%s/published/thresholds.json",
	    opt.nabdir);
	all = load_json(path);
	for (p = 0; p < NPROFILES; p++) {
		jv v = jv_getpath(jv_copy(all), JV_ARRAY(jv_string("null"),
		    jv_string(profiles[p].name), jv_string("score")));
		double want = jv_get_kind(v) == JV_KIND_NUMBER ?
		    jv_number_value(v) : NAN;
		double got = -(double)allwin * profiles[p].fn;
		int ok = fabs(want - got) < 1e-9;

		printf("%s %d - published null raw %s: %.4f, ours over %zu "
		    "windows %.4f\n", ok ? "ok" : "not ok", NPROFILES + p + 1,
		    profiles[p].name, want, allwin, got);
		fails += !ok;
		jv_free(v);
	}
	jv_free(all);
	nt = 2 * NPROFILES;
	fails += check_published_counts(c, &nt);
	printf("1..%d\n", nt);
	free_scores(c, nul);
	free_scores(c, per);
	return fails ? 1 : 0;
}

struct param {
	const char *name;
	char type;	/* d double, u uint32, l int64 */
	size_t off;
};

#define P(n, t) { #n, t, offsetof(struct sre_tsad_config, n) }
static const struct param params[] = {
	P(threshold, 'd'), P(hysteresis, 'd'), P(warmup, 'u'),
	P(refractory, 'u'), P(period_ms, 'l'), P(period2_ms, 'l'), P(level_rate, 'd'),
	P(lik_rate, 'd'), P(short_len, 'u'), P(damp, 'd'), P(components, 'u'),
};
#undef P

static void
set_param(const char *kv)
{
	const char *eq = strchr(kv, '=');
	size_t i;
	char *base = (char *)&opt.cfg;

	if (eq == NULL)
		die("-P %s: want key=value", kv);
	for (i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
		if (strlen(params[i].name) != (size_t)(eq - kv) ||
		    strncmp(params[i].name, kv, (size_t)(eq - kv)) != 0)
			continue;
		switch (params[i].type) {
		case 'd':
			*(double *)(base + params[i].off) = strtod(eq + 1,
			    NULL);
			return;
		case 'u':
			*(uint32_t *)(base + params[i].off) =
			    (uint32_t)strtoul(eq + 1, NULL, 10);
			return;
		default:
			*(int64_t *)(base + params[i].off) =
			    strtoll(eq + 1, NULL, 10);
			return;
		}
	}
	die("-P %s: unknown parameter", kv);
}

/*
 * Fit cfg.threshold as NAB fits a detector's threshold: over a grid, the
 * one whose scores give the best optimised standard score; ties go to the
 * higher threshold.
 */
static void
fit_threshold(const struct corpus *c)
{
	double best = -1e300, bt = opt.cfg.threshold, t, v;
	double **sc;
	int k;

	for (k = 70; k >= 20; k--) {
		t = k / 100.0;
		opt.cfg.threshold = t;
		sc = run_detector(c, detect_tsad);
		v = score_corpus(c, sc, &profiles[0]).score;
		free_scores(c, sc);
		if (v > best) {
			best = v;
			bt = t;
		}
	}
	opt.cfg.threshold = bt;
}

/* ---- categories: scores of each, and leave-one-category-out ---------- */

static size_t
cat_len(const struct series *s)
{
	const char *slash = strchr(s->rel, '/');

	return slash != NULL ? (size_t)(slash - s->rel) : strlen(s->rel);
}

static int
in_cat(const struct series *s, const char *cat)
{
	return cat_len(s) == strlen(cat) && strncmp(s->rel, cat,
	    cat_len(s)) == 0;
}

/* The distinct categories (folders), in corpus order; *n set. */
static char **
categories(const struct corpus *c, size_t *n)
{
	char **v = xcalloc(c->n, sizeof(*v));
	size_t i, k;

	*n = 0;
	for (i = 0; i < c->n; i++) {
		for (k = 0; k < *n; k++)
			if (in_cat(&c->s[i], v[k]))
				break;
		if (k == *n && (v[(*n)++] = strndup(c->s[i].rel,
		    cat_len(&c->s[i]))) == NULL)
			die("out of memory");
	}
	return v;
}

/* A view of the files of category cat (keep = 1) or of all the others
 * (keep = 0), with their scores (sc may be NULL).  Free out->s only. */
static void
subset(const struct corpus *c, double *const *sc, const char *cat, int keep,
    struct corpus *out, double ***osc)
{
	size_t i;

	out->s = xcalloc(c->n, sizeof(*out->s));
	out->n = out->nwin = 0;
	if (osc != NULL)
		*osc = xcalloc(c->n, sizeof(**osc));
	for (i = 0; i < c->n; i++) {
		if (in_cat(&c->s[i], cat) != keep)
			continue;
		if (osc != NULL)
			(*osc)[out->n] = sc[i];
		out->s[out->n++] = c->s[i];
		out->nwin += c->s[i].nwin;
	}
}

/* Raw score of every file at one fixed threshold. */
static double
score_fixed(const struct corpus *c, double *const *scores,
    const struct profile *p, double thr)
{
	double tot = 0;
	size_t i;

	for (i = 0; i < c->n; i++)
		tot += score_file(&c->s[i], scores[i], p, thr, NULL);
	return tot;
}

/* "standard 12.34" or, for files without windows, the raw score. */
static void
print_norm(double raw, double null_raw, size_t nwin, const struct profile *p)
{
	if (nwin > 0)
		printf(" %6.2f", normalise(raw, null_raw, (double)nwin * p->tp));
	else
		printf(" %6s", "-");
	printf(" (raw %7.3f)", raw);
}

/*
 * The product's scores per category: one threshold for every file, no
 * fitting, so a category's score is what it would be held out.
 */
static void
product_categories(const struct corpus *c, double *const *sc,
    double *const *nul)
{
	struct corpus h;
	double **hs, **hn;
	char **cats;
	size_t ncat, k;
	int p;

	cats = categories(c, &ncat);
	printf("per category (nothing fitted: each is a held-out score)\n");
	for (k = 0; k < ncat; k++) {
		subset(c, nul, cats[k], 1, &h, &hn);
		free(h.s);
		subset(c, sc, cats[k], 1, &h, &hs);
		printf("  %-24s %2zu files, %2zu windows:", cats[k], h.n,
		    h.nwin);
		for (p = 0; p < NPROFILES; p++)
			print_norm(score_fixed(&h, hs, &profiles[p], 0.5),
			    score_corpus(&h, hn, &profiles[p]).score, h.nwin,
			    &profiles[p]);
		printf("\n");
		free(hs);
		free(hn);
		free(h.s);
		free(cats[k]);
	}
	free(cats);
}

static void fit_threshold(const struct corpus *c);

/*
 * Leave one category out: the detector's threshold and NAB's score
 * threshold are fitted on the other categories, the held-out one is
 * scored with them.  The sum over the held-out categories, normalised
 * as the full score is, shows how much of the full score is fitting.
 */
static void
leave_one_out(const struct corpus *c)
{
	struct corpus f, h;
	double **fs, **hs, **hn, thr[NPROFILES], keep = opt.cfg.threshold;
	double raw[NPROFILES], nraw[NPROFILES], r, nr;
	char **cats;
	size_t ncat, k;
	int p;

	cats = categories(c, &ncat);
	memset(raw, 0, sizeof(raw));
	memset(nraw, 0, sizeof(nraw));
	printf("leave one category out (detector and NAB thresholds fitted "
	    "on the other categories;\n  profiles standard, low_FP, low_FN):"
	    "\n");
	for (k = 0; k < ncat; k++) {
		subset(c, NULL, cats[k], 0, &f, NULL);
		subset(c, NULL, cats[k], 1, &h, NULL);
		opt.cfg.threshold = keep;
		fit_threshold(&f);
		fs = run_detector(&f, detect_tsad);
		hs = run_detector(&h, detect_tsad);
		hn = run_detector(&h, detect_null);
		printf("  %-24s held out (detector threshold %.2f):", cats[k],
		    opt.cfg.threshold);
		for (p = 0; p < NPROFILES; p++) {
			thr[p] = score_corpus(&f, fs, &profiles[p]).threshold;
			r = score_fixed(&h, hs, &profiles[p], thr[p]);
			nr = score_corpus(&h, hn, &profiles[p]).score;
			raw[p] += r;
			nraw[p] += nr;
			print_norm(r, nr, h.nwin, &profiles[p]);
		}
		printf("\n");
		free_scores(&f, fs);
		free_scores(&h, hs);
		free_scores(&h, hn);
		free(f.s);
		free(h.s);
		free(cats[k]);
	}
	printf("  %-24s                              :", "all, held out");
	for (p = 0; p < NPROFILES; p++)
		print_norm(raw[p], nraw[p], c->nwin, &profiles[p]);
	printf("\n");
	free(cats);
	opt.cfg.threshold = keep;
}

static void
usage(FILE *f)
{
	fputs("usage: nab-run [-qv] [--no-fit] [-d nabdir] [-o outdir] "
	    "[-n name]\n"
	    "               [-D tsad|scout|null|perfect] [-S sre-scout] "
	    "[-a option]\n"
	    "               [-P key=value]\n"
	    "               [-s published-subset.csv]\n"
	    "       nab-run --selftest [-d nabdir]\n", f);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "selftest", no_argument, NULL, 'T' },
		{ "no-fit", no_argument, NULL, 'N' },
		{ NULL, 0, NULL, 0 }
	};
	struct corpus c;
	struct pubbest pb[NPROFILES];
	double **sc, **nul, null_raw[NPROFILES], t0, t0f, t1, t2, t3;
	void (*fn)(const struct series *, double *) = detect_tsad;
	int ch, p;
	size_t i, npts = 0;

	opt.nabdir = "/work/shared/data/nab";
	opt.outdir = "bench/nab/out/results";
	opt.name = "sre";
	opt.detector = "tsad";
	sre_tsad_config_default(&opt.cfg);
	opt.fit = 1;
	opt.scout = "bin/sre-scout";
	while ((ch = getopt_long(argc, argv, "a:D:d:hn:o:P:qS:s:v", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'D':
			opt.detector = optarg;
			break;
		case 'd':
			opt.nabdir = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'n':
			opt.name = optarg;
			break;
		case 'o':
			opt.outdir = optarg;
			break;
		case 'N':
			opt.fit = 0;
			break;
		case 'P':
			set_param(optarg);
			if (strncmp(optarg, "threshold=", 10) == 0)
				opt.thr_given = 1;
			break;
		case 'q':
			opt.quiet = 1;
			break;
		case 'S':
			opt.scout = optarg;
			break;
		case 'a':
			if (opt.nargs == 8)
				die("-a: 8 at most");
			opt.scout_args[opt.nargs++] = optarg;
			break;
		case 's':
			opt.published = optarg;
			break;
		case 'T':
			opt.selftest = 1;
			break;
		case 'v':
			opt.verbose++;
			break;
		default:
			usage(stderr);
			return 64;
		}
	}
	if (strcmp(opt.detector, "null") == 0)
		fn = detect_null;
	else if (strcmp(opt.detector, "perfect") == 0)
		fn = detect_perfect;
	else if (strcmp(opt.detector, "scout") == 0) {
		fn = detect_scout;
		pathf(opt.tmpdir, sizeof(opt.tmpdir), "/tmp/nab-run.XXXXXX");
		if (mkdtemp(opt.tmpdir) == NULL)
			die("mkdtemp: %s", strerror(errno));
	} else if (strcmp(opt.detector, "tsad") != 0)
		die("-D %s: unknown detector", opt.detector);

	t0 = now_s();
	load_corpus(&c, opt.nabdir);
	for (i = 0; i < c.n; i++)
		npts += c.s[i].n;
	if (opt.selftest) {
		int rc = selftest(&c);

		free_corpus(&c);
		return rc;
	}

	t0f = now_s();
	nul = run_detector(&c, detect_null);
	for (p = 0; p < NPROFILES; p++)
		null_raw[p] = score_corpus(&c, nul, &profiles[p]).score;

	if (fn == detect_tsad && opt.fit && !opt.thr_given)
		fit_threshold(&c);
	t1 = now_s();
	sc = run_detector(&c, fn);
	t2 = now_s();
	write_results(&c, sc, opt.outdir, opt.name);
	read_results(&c, sc, opt.outdir, opt.name);

	memset(pb, 0, sizeof(pb));
	published_whole(opt.nabdir, pb);
	published_subset(opt.published, &c, null_raw, pb);

	if (opt.verbose) {
		printf("%-56s %9s %9s %9s\n", "file", profiles[0].name,
		    "low_FP", "low_FN");
	}
	{
		struct best b[NPROFILES];
		double norm[NPROFILES];

		for (p = 0; p < NPROFILES; p++) {
			b[p] = score_corpus(&c, sc, &profiles[p]);
			if (fn == detect_scout) {
				/* Detections are the anomaly events, as
				 * they are: no threshold to fit. */
				b[p].threshold = 0.5;
				b[p].score = score_fixed(&c, sc, &profiles[p],
				    0.5);
			}
			norm[p] = normalise(b[p].score, null_raw[p],
			    (double)c.nwin * profiles[p].tp);
		}
		if (opt.verbose) {
			for (i = 0; i < c.n; i++) {
				printf("%-56s", c.s[i].rel);
				for (p = 0; p < NPROFILES; p++) {
					struct counts k;
					double v = score_file(&c.s[i], sc[i],
					    &profiles[p], b[p].threshold, &k);
					printf(" %9.4f", v);
					if (p == 0)
						printf(" (tp %zu fp %zu)",
						    k.tp, k.fp);
				}
				printf("\n");
				if (opt.verbose > 1)
					show_detections(&c.s[i], sc[i],
					    b[0].threshold);
			}
			printf("\n");
		}
		t3 = now_s();
		if (fn == detect_scout)
			printf("NAB v1.1 scores of '%s' (%s with its defaults, "
			    "one run per file) over %zu files, %zu windows, %zu "
			    "points\n", opt.name, opt.scout, c.n, c.nwin, npts);
		else
			printf("NAB v1.1 scores of '%s' (lib/tsad alone, a "
			    "component bench, %zu bytes per series) over %zu "
			    "files, %zu windows, %zu points\n", opt.name,
			    sre_tsad_bytes(), c.n, c.nwin, npts);
		if (fn == detect_tsad)
			printf("detector threshold %.2f (%s)\n",
			    opt.cfg.threshold, opt.thr_given ? "given" :
			    opt.fit ? "fitted on the corpus, standard profile;"
			    " --no-fit keeps the default" : "the default");
		printf("%-19s %6s %9s %8s | %-22s %5s | %-22s %5s\n",
		    "profile", "ours", "threshold", "raw",
		    "published best, 58", "ratio",
		    "published, these files", "ratio");
		for (p = 0; p < NPROFILES; p++) {
			char a[64], s2[64], r2[16];

			snprintf(a, sizeof(a), "%.1f %s", pb[p].whole,
			    pb[p].whole_name);
			if (pb[p].nfiles) {
				snprintf(s2, sizeof(s2), "%.1f %s",
				    pb[p].subset, pb[p].subset_name);
				snprintf(r2, sizeof(r2), "%.2f",
				    norm[p] / pb[p].subset);
			} else {
				snprintf(s2, sizeof(s2), "-");
				snprintf(r2, sizeof(r2), "-");
			}
			printf("%-19s %6.2f %9.6f %8.3f | %-22s %5.2f | "
			    "%-22s %5s\n", profiles[p].name, norm[p],
			    b[p].threshold, b[p].score, a,
			    pb[p].whole > 0 ? norm[p] / pb[p].whole : 0, s2,
			    r2);
		}
		if (fn == detect_scout)
			product_categories(&c, sc, nul);
		else if (fn == detect_tsad && opt.fit && !opt.thr_given)
			leave_one_out(&c);
		printf("time: load %.2fs, fit %.2fs, detect %.3fs (%.2f "
		    "us/point%s), write+score %.2fs, total %.2fs\n",
		    t0f - t0, t1 - t0f, t2 - t1, 1e6 * (fn == detect_scout ?
		    opt.scout_s : t2 - t1) / (double)npts, fn == detect_scout ?
		    " in sre-scout, reading JSON included" : "", t3 - t2,
		    t3 - t0);
		printf("results: %s/%s/<category>/%s_<file>.csv\n",
		    opt.outdir, opt.name, opt.name);
	}
	free_scores(&c, sc);
	free_scores(&c, nul);
	free_corpus(&c);
	if (opt.tmpdir[0] != '\0') {
		static const char *const left[] = { "in.ndjson", "out.ndjson",
		    "err" };
		char path[4096];

		for (i = 0; i < 3; i++) {
			pathf(path, sizeof(path), "%s/%s", opt.tmpdir, left[i]);
			unlink(path);
		}
		pathf(path, sizeof(path), "%s/state", opt.tmpdir);
		rmdir(path);
		rmdir(opt.tmpdir);
	}
	if (fflush(stdout) != 0 || ferror(stdout))
		die("writing output failed");
	return 0;
}
