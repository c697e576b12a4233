/*
 * narrate: the voice of `make demo`.
 *
 * Follows files of events (sre-events(7)) as they grow, like tail -f,
 * and says in plain lines what the loop is doing: the anomaly that opened
 * an incident (when, where), the root cause and its confidence, the
 * verdict and the rules that fired, the commit with its diff stat, the
 * recovery, the post-mortem with its MTTR.  The demo driver speaks
 * through it too, with events of the private type "x-demo" (what: say,
 * inject, deployed), so that every line comes out in one order.
 *
 *	narrate [-g GIT_DIR] [-s START_MS] FILE ...
 *
 * -g names the git directory whose commits get a diff stat; -s is the
 * zero of the elapsed time printed in front of every line (default: now).
 * A file that does not exist yet is waited for.  SIGTERM or SIGINT: read
 * what the files hold by then, say it, exit 0.
 *
 * Only the demo uses it: it is not one of the tools of sre(7).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>

#include "narrate.h"
#include "sre.h"
#include "subproc.h"

#define MAX_FILES	8
#define MAX_INCIDENTS	64
#define POLL_MS		100

struct src {
	const char *path;
	int fd;
	char *buf;
	size_t len, cap;
};

struct incident {
	char id[64];
	int64_t first_seen;	/* wall clock, ms */
	int64_t fix_live;	/* when the fix's commit was deployed */
	char fix_commit[64];
	int anomalies, pending, recovered, all_clear;
	int opening;		/* its first anomalies are being gathered */
	jv best;		/* the strongest of them */
	char pending_svcs[256];
};

static struct {
	const char *git_dir;
	int64_t start_ms;
	struct src src[MAX_FILES];
	int nsrc;
	struct incident inc[MAX_INCIDENTS];
	int ninc;
	int64_t bad_live;	/* the newest bad release went live (wall ms) */
	int awaiting_bad;	/* an injection not yet deployed */
	int topology_said;
} opt;

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: narrate [-g GIT_DIR] [-s START_MS] FILE ...\n");
}

/* ---- output ------------------------------------------------------------- */

static void say(const char *fmt, ...) SRE_PRINTF(1, 2);

static void
say(const char *fmt, ...)
{
	va_list ap;
	double t = (double)(sre_now_ms() - opt.start_ms) / 1000;

	printf("[%6.1fs] ", t < 0 ? 0 : t);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/* ---- incidents ---------------------------------------------------------- */

static struct incident *
incident(const char *id, int create)
{
	int i;

	if (id == NULL)
		return NULL;
	for (i = 0; i < opt.ninc; i++)
		if (strcmp(opt.inc[i].id, id) == 0)
			return &opt.inc[i];
	if (!create)
		return NULL;
	if (opt.ninc == MAX_INCIDENTS) {
		/* the oldest goes: a demo has a handful */
		jv_free(opt.inc[0].best);
		memmove(&opt.inc[0], &opt.inc[1], sizeof(opt.inc[0]) *
		    (MAX_INCIDENTS - 1));
		opt.ninc--;
	}
	memset(&opt.inc[opt.ninc], 0, sizeof(opt.inc[0]));
	strlcpy(opt.inc[opt.ninc].id, id, sizeof(opt.inc[0].id));
	opt.inc[opt.ninc].best = jv_null();
	return &opt.inc[opt.ninc++];
}

static void say_detected(struct incident *c);

/* Say what joined incidents since the last time: the anomalies that
 * opened one, or how many series joined it. */
static void
flush_pending(void)
{
	int i;

	for (i = 0; i < opt.ninc; i++) {
		struct incident *c = &opt.inc[i];

		if (c->pending == 0)
			continue;
		if (c->opening)
			say_detected(c);
		else
			say("  +%d anomalous series joined the incident (%s); %d "
			    "so far", c->pending, c->pending_svcs,
			    c->anomalies);
		c->opening = 0;
		c->pending = 0;
		c->pending_svcs[0] = '\0';
	}
}

static void
add_service(struct incident *c, const char *svc)
{
	char hay[sizeof(c->pending_svcs) + 4], probe[160];

	if (svc == NULL)
		return;
	/* ", a, b," holds ", a," : a word already in the list */
	snprintf(hay, sizeof(hay), ", %s,", c->pending_svcs);
	snprintf(probe, sizeof(probe), ", %s,", svc);
	if (strstr(hay, probe) != NULL)
		return;
	if (c->pending_svcs[0] != '\0')
		strlcat(c->pending_svcs, ", ", sizeof(c->pending_svcs));
	strlcat(c->pending_svcs, svc, sizeof(c->pending_svcs));
}

/* ---- events ------------------------------------------------------------- */

static void
on_demo(jv ev, int64_t now)
{
	const char *what = sre_jv_str(ev, "what");
	const char *text = sre_jv_str(ev, "text");

	if (what == NULL)
		return;
	if (strcmp(what, "say") == 0 && text != NULL) {
		say("%s", text);
	} else if (strcmp(what, "inject") == 0) {
		const char *svc = sre_jv_str(ev, "service");
		const char *tag = sre_jv_str(ev, "tag");
		const char *commit = sre_jv_str(ev, "commit");

		opt.awaiting_bad = 1;
		say("bad release: the CD pipeline commits %s %s on main "
		    "(%.7s), and the marketplace's control file says %s is a "
		    "bad build", svc ? svc : "?", tag ? tag : "?",
		    commit ? commit : "?", tag ? tag : "?");
	} else if (strcmp(what, "deployed") == 0) {
		const char *commit = sre_jv_str(ev, "commit");
		const char *subject = sre_jv_str(ev, "subject");
		int i;

		if (commit == NULL)
			return;
		for (i = 0; i < opt.ninc; i++)
			if (opt.inc[i].fix_commit[0] != '\0' &&
			    opt.inc[i].fix_live == 0 &&
			    strncmp(opt.inc[i].fix_commit, commit,
			    strlen(commit)) == 0)
				opt.inc[i].fix_live = now;
		if (opt.awaiting_bad) {
			opt.awaiting_bad = 0;
			opt.bad_live = now;
		}
		say("deployed: the CD agent brought the marketplace's checkout "
		    "to main %.7s: %s", commit, subject ? subject : "");
	}
}

/* Which anomaly says best where the problem is: one of an operation's
 * own signal over a log or service-wide one, then the higher score. */
static int
stronger(jv a, jv b)
{
	const char *sa = sre_jv_str(a, "signal"), *sb = sre_jv_str(b, "signal");
	int ra = sre_jv_str(a, "operation") != NULL && sa != NULL &&
	    strcmp(sa, "log") != 0;
	int rb = sre_jv_str(b, "operation") != NULL && sb != NULL &&
	    strcmp(sb, "log") != 0;
	double x = 0, y = 0;

	if (ra != rb)
		return ra > rb;
	sre_jv_num(a, "score", &x);
	sre_jv_num(b, "score", &y);
	return x > y;
}

static void
say_detected(struct incident *c)
{
	jv ev = c->best;
	const char *svc = sre_jv_str(ev, "service");
	const char *op = sre_jv_str(ev, "operation");
	const char *sig = sre_jv_str(ev, "signal");
	double obs = 0, base = 0, score = 0;
	int64_t ws = 0, we = 0;
	char a[32], b[32], t1[16], t2[16], d[32], after[96];

	sre_jv_num(ev, "observed", &obs);
	sre_jv_num(ev, "baseline", &base);
	sre_jv_num(ev, "score", &score);
	sre_jv_int(ev, "window_start_ms", &ws);
	sre_jv_int(ev, "window_end_ms", &we);
	after[0] = '\0';
	if (opt.bad_live > 0 && c->first_seen >= opt.bad_live)
		snprintf(after, sizeof(after), ", %s after the bad release went "
		    "live", sre_narrate_dur((double)(c->first_seen - opt.bad_live), d,
		    sizeof(d)));
	say("anomaly detected by sre-scout in the window %s-%s%s: %d series "
	    "on %s", sre_narrate_clock(ws, t1, sizeof(t1)), sre_narrate_clock(we, t2,
	    sizeof(t2)), after, c->pending, c->pending_svcs);
	say("  strongest: %s%s%s %s %s against a baseline of %s (score %.1f)",
	    svc ? svc : "?", op ? " " : "", op ? op : "", sig ? sig : "?",
	    sre_narrate_value(sig, obs, a, sizeof(a)), sre_narrate_value(sig, base, b, sizeof(b)),
	    score);
	say("  incident %s opened", c->id);
	jv_free(c->best);
	c->best = jv_null();
}

static void
on_anomaly(jv ev, int64_t now)
{
	struct incident *c = incident(sre_jv_str(ev, "incident"), 1);

	if (c == NULL)
		return;
	c->anomalies++;
	c->pending++;
	add_service(c, sre_jv_str(ev, "service"));
	if (c->anomalies == 1) {
		c->first_seen = now;
		c->opening = 1;
		jv_free(c->best);
		c->best = jv_copy(ev);
	} else if (c->opening && stronger(ev, c->best)) {
		jv_free(c->best);
		c->best = jv_copy(ev);
	}
}

static void
on_recovery(jv ev, int64_t now)
{
	struct incident *c = incident(sre_jv_str(ev, "incident"), 0);
	const char *svc = sre_jv_str(ev, "service");
	const char *op = sre_jv_str(ev, "operation");
	int64_t remaining = -1;
	char d[32], after[96];

	flush_pending();
	if (sre_jv_int(ev, "remaining", &remaining) != 0)
		remaining = -1;
	if (c == NULL) {
		say("recovery: %s%s%s back to normal", svc ? svc : "?",
		    op ? " " : "", op ? op : "");
		return;
	}
	c->recovered++;
	if (remaining == 0) {
		c->all_clear = 1;
		after[0] = '\0';
		if (c->fix_live > 0)
			snprintf(after, sizeof(after), ", %s after the fix went "
			    "live", sre_narrate_dur((double)(now - c->fix_live), d,
			    sizeof(d)));
		say("recovery verified by sre-scout: all %d anomalous series of "
		    "the incident are back to their baselines%s", c->anomalies,
		    after);
	} else if (c->recovered == 1)
		say("recovery: %s%s%s back to normal (%lld series still "
		    "anomalous)", svc ? svc : "?", op ? " " : "", op ? op : "",
		    (long long)remaining);
}

static void
on_diagnosis(jv ev, int64_t now)
{
	struct incident *c = incident(sre_jv_str(ev, "incident"), 1);
	const char *src = sre_jv_str(ev, "source");
	const char *summary = sre_jv_str(ev, "summary");
	const char *fp = sre_jv_str(ev, "fingerprint");
	double conf = 0;
	int64_t rev = 1;
	char p[512], d[32], mem[512], when[96];
	jv rc, top;

	flush_pending();
	sre_jv_num(ev, "confidence", &conf);
	sre_jv_int(ev, "revision", &rev);
	sre_narrate_proposal(ev, p, sizeof(p));
	sre_narrate_joined(ev, "memory", ", ", mem, sizeof(mem));
	when[0] = '\0';
	if (c != NULL && c->first_seen > 0)
		snprintf(when, sizeof(when), "%s after the first anomaly",
		    sre_narrate_dur((double)(now - c->first_seen), d, sizeof(d)));
	if (src != NULL && strcmp(src, "sre-cag") == 0) {
		jv cag = jv_object_get(jv_copy(ev), jv_string("cag"));
		double ok = 0, bad = 0;

		sre_jv_num(cag, "successes", &ok);
		sre_jv_num(cag, "failures", &bad);
		jv_free(cag);
		say("sre-cag answered from memory, %s: known fingerprint %s, "
		    "fixed %.0f of %.0f times before (past incidents: %s); "
		    "confidence %.3f; sre-brain stands aside", when,
		    fp ? fp : "?", ok, ok + bad, mem[0] ? mem : "none", conf);
		say("  proposal: %s", p);
		return;
	}
	rc = jv_object_get(jv_copy(ev), jv_string("root_causes"));
	top = jv_get_kind(rc) == JV_KIND_ARRAY && jv_array_length(jv_copy(rc))
	    > 0 ? jv_array_get(jv_copy(rc), 0) : jv_null();
	jv_free(rc);
	if (rev > 1)
		say("updated diagnosis (revision %lld) from %s", (long long)rev,
		    src ? src : "?");
	say("root cause (%s, built-in reasoner, %s): %s%s%s (%s), confidence "
	    "%.3f", src ? src : "?", when, sre_jv_str(top, "service") ?
	    sre_jv_str(top, "service") : "?", sre_jv_str(top, "operation") ?
	    " " : "", sre_jv_str(top, "operation") ? sre_jv_str(top,
	    "operation") : "", sre_jv_str(top, "kind") ? sre_jv_str(top,
	    "kind") : "cause", conf);
	if (sre_jv_str(top, "reason") != NULL)
		say("  why: %s", sre_jv_str(top, "reason"));
	else if (summary != NULL)
		say("  why: %s", summary);
	if (mem[0] != '\0')
		say("  similar past incidents: %s", mem);
	say("  proposal: %s", p);
	jv_free(top);
}

static void
on_verdict(jv ev)
{
	const char *decision = sre_jv_str(ev, "decision");
	char rules[256], reasons[512];
	jv dry = jv_object_get(jv_copy(ev), jv_string("dry_run"));

	flush_pending();
	sre_narrate_joined(ev, "rules", ", ", rules, sizeof(rules));
	sre_narrate_joined(ev, "reasons", "; ", reasons, sizeof(reasons));
	say("verdict (sre-guard): %s%s; rules fired: %s; reasons: %s",
	    decision ? decision : "?", jv_get_kind(dry) == JV_KIND_TRUE ?
	    " (dry run)" : "", rules[0] ? rules : "none",
	    reasons[0] ? reasons : "none");
	jv_free(dry);
}

/* The diff stat of a commit, each line said with an indent. */
static void
diff_stat(const char *commit)
{
	const char *argv[] = { "git", "--git-dir", opt.git_dir, "show",
	    "--stat=76", "--format=", commit, NULL };
	struct sre_subproc sp = { .argv = argv, .timeout_ms = 10000 };
	struct sre_subproc_result r;
	char err[256], *line, *save = NULL;

	if (opt.git_dir == NULL)
		return;
	if (sre_subproc_run(&sp, &r, err, sizeof(err)) < 0 || r.status != 0) {
		say("  (no diff stat: %s)", r.err && r.err[0] ? r.err : err);
		sre_subproc_result_free(&r);
		return;
	}
	for (line = strtok_r(r.out, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		if (line[strspn(line, " ")] != '\0')
			say("  %s", line + strspn(line, " "));
	sre_subproc_result_free(&r);
}

static void
on_action(jv ev)
{
	struct incident *c = incident(sre_jv_str(ev, "incident"), 1);
	const char *st = sre_jv_str(ev, "status");
	const char *commit = sre_jv_str(ev, "commit");
	const char *branch = sre_jv_str(ev, "branch");
	const char *detail = sre_jv_str(ev, "detail");
	const char *repo = sre_jv_str(ev, "repo");
	jv merged = jv_object_get(jv_copy(ev), jv_string("merged"));

	flush_pending();
	if (st != NULL && (strcmp(st, "committed") == 0 ||
	    strcmp(st, "pr_opened") == 0) && commit != NULL) {
		say("commit %.7s by sre-fix on branch %s%s of %s: %s", commit,
		    branch ? branch : "?", jv_get_kind(merged) == JV_KIND_TRUE ?
		    ", merged into main" : "", repo ? repo : "?",
		    detail ? detail : "");
		if (c != NULL)
			strlcpy(c->fix_commit, commit, sizeof(c->fix_commit));
		diff_stat(commit);
	} else
		say("sre-fix: %s%s%s", st ? st : "?", detail ? ": " : "",
		    detail ? detail : "");
	jv_free(merged);
}

static void
on_postmortem(jv ev)
{
	struct incident *ic = incident(sre_jv_str(ev, "incident"), 0);
	const char *outcome = sre_jv_str(ev, "outcome");
	const char *path = sre_jv_str(ev, "path");
	const char *learned = sre_jv_str(ev, "learned");
	double mttr = -1, fix = -1, det = -1;
	char a[32], b[32], c[32];

	flush_pending();
	sre_jv_num(ev, "mttr_ms", &mttr);
	sre_jv_num(ev, "fix_ms", &fix);
	sre_jv_num(ev, "detect_ms", &det);
	say("post-mortem (sre-curate): %s; MTTR %s (first anomaly to verified "
	    "recovery), time to fix %s (first anomaly to the commit), time to "
	    "detect %s; learned: %s", outcome ? outcome : "?",
	    mttr >= 0 ? sre_narrate_dur(mttr, a, sizeof(a)) : "n/a",
	    fix >= 0 ? sre_narrate_dur(fix, b, sizeof(b)) : "n/a",
	    det >= 0 ? sre_narrate_dur(det, c, sizeof(c)) : "n/a",
	    learned ? learned : "nothing");
	if (path != NULL)
		say("  %s", path);
	if (ic != NULL && ic->recovered > 0 && !ic->all_clear)
		say("  (sre-curate closed the incident at its first recovery "
		    "event, while sre-scout still had series of it anomalous)");
}

static void
on_event(const char *line, size_t len)
{
	char err[256];
	jv ev = sre_json_object(line, len, err, sizeof(err));
	const char *type;
	int64_t now = sre_now_ms();

	if (!jv_is_valid(ev)) {
		jv_free(ev);
		return;		/* not ours to judge: the tools report it */
	}
	if ((type = sre_jv_str(ev, "type")) == NULL)
		;
	else if (strcmp(type, "x-demo") == 0) {
		flush_pending();
		on_demo(ev, now);
	} else if (strcmp(type, "anomaly") == 0)
		on_anomaly(ev, now);
	else if (strcmp(type, "recovery") == 0)
		on_recovery(ev, now);
	else if (strcmp(type, "diagnosis") == 0)
		on_diagnosis(ev, now);
	else if (strcmp(type, "verdict") == 0)
		on_verdict(ev);
	else if (strcmp(type, "action") == 0)
		on_action(ev);
	else if (strcmp(type, "postmortem") == 0)
		on_postmortem(ev);
	else if (strcmp(type, "escalation") == 0) {
		const char *r = sre_jv_str(ev, "reason");
		const char *ch = sre_jv_str(ev, "channel");

		flush_pending();
		say("escalation (sre-escalate) on %s: %s", ch ? ch : "?",
		    r ? r : "?");
	} else if (strcmp(type, "error") == 0) {
		const char *d = sre_jv_str(ev, "detail");

		flush_pending();
		say("error from %s: %s", sre_jv_str(ev, "source") ?
		    sre_jv_str(ev, "source") : "?", d ? d : "?");
	} else if (strcmp(type, "topology") == 0 && !opt.topology_said) {
		jv e = jv_object_get(jv_copy(ev), jv_string("edges"));
		jv s = jv_object_get(jv_copy(ev), jv_string("services"));

		opt.topology_said = 1;
		say("sre-scout sees the call graph: %d services, %d call edges "
		    "so far", jv_get_kind(s) == JV_KIND_ARRAY ?
		    jv_array_length(jv_copy(s)) : 0, jv_get_kind(e) ==
		    JV_KIND_ARRAY ? jv_array_length(jv_copy(e)) : 0);
		jv_free(e);
		jv_free(s);
	}
	jv_free(ev);
}

/* ---- following files ---------------------------------------------------- */

/* Read what src holds now and narrate its complete lines; at_end: the
 * last line too, even without its newline. */
static void
pump(struct src *s, int at_end)
{
	ssize_t n;
	char *nl, *p;

	if (s->fd < 0 && (s->fd = open(s->path, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	for (;;) {
		if (s->cap - s->len < 65536) {
			size_t cap = s->cap ? s->cap * 2 : 131072;
			char *b = realloc(s->buf, cap);

			if (b == NULL) {
				sre_warn("%s", s->path);
				return;
			}
			s->buf = b;
			s->cap = cap;
		}
		n = read(s->fd, s->buf + s->len, s->cap - s->len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		s->len += (size_t)n;
	}
	p = s->buf;
	while (p != NULL && (nl = memchr(p, '\n', s->len - (size_t)(p -
	    s->buf))) != NULL) {
		*nl = '\0';
		on_event(p, (size_t)(nl - p));
		p = nl + 1;
	}
	if (p != NULL && p != s->buf) {
		s->len -= (size_t)(p - s->buf);
		memmove(s->buf, p, s->len);
	}
	if (at_end && s->len > 0) {
		s->buf[s->len] = '\0';
		on_event(s->buf, s->len);
		s->len = 0;
	}
}

int
main(int argc, char *argv[])
{
	const char *errstr;
	struct timespec ts = { 0, POLL_MS * 1000000L };
	int ch, i;

	sre_init("narrate");
	opt.start_ms = sre_now_ms();
	while ((ch = getopt(argc, argv, "g:hs:")) != -1) {
		switch (ch) {
		case 'g':
			opt.git_dir = optarg;
			break;
		case 'h':
			usage(stdout);
			return EX_OK;
		case 's':
			opt.start_ms = strtonum(optarg, 0, INT64_MAX, &errstr);
			if (errstr != NULL) {
				sre_warnx("-s %s: %s", optarg, errstr);
				return EX_USAGE;
			}
			break;
		default:
			usage(stderr);
			return EX_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1 || argc > MAX_FILES) {
		usage(stderr);
		return EX_USAGE;
	}
	for (i = 0; i < argc; i++) {
		opt.src[i].path = argv[i];
		opt.src[i].fd = -1;
	}
	opt.nsrc = argc;
	while (!sre_stopping()) {
		/* In order, each to its end: a line the driver wrote after
		 * seeing an event comes out after that event. */
		for (i = 0; i < opt.nsrc; i++)
			pump(&opt.src[i], 0);
		flush_pending();
		nanosleep(&ts, NULL);
	}
	for (i = 0; i < opt.nsrc; i++)
		pump(&opt.src[i], 1);
	flush_pending();
	for (i = 0; i < opt.ninc; i++)
		jv_free(opt.inc[i].best);
	for (i = 0; i < opt.nsrc; i++) {
		if (opt.src[i].fd >= 0)
			close(opt.src[i].fd);
		free(opt.src[i].buf);
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		sre_warnx("writing output failed");
		return EX_IOERR;
	}
	return EX_OK;
}
