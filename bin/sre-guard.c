/*
 * sre-guard: decide whether a diagnosis may be acted on.
 *
 * Reads events, passes every one on, and after each `diagnosis` writes a
 * `verdict` (approve, veto or escalate) with its reasons and the ids of
 * the rules that fired.  The built-in safety checks run first (the
 * remediation catalog of catalog.h with the policy's allowlists and
 * bounds, target, a patch as git reads it, a rollback's tag in the
 * repository's history, blast radius, confidence, freeze, rate limits,
 * loop threshold), then the policy's jq rules of sre-policy(5), first
 * match wins, then the default.  `anomaly` and `recovery` events are
 * watched so that a diagnosis of an incident that has already recovered
 * is vetoed as stale.  Counters (approvals per hour, acts per
 * fingerprint), recoveries and the verdicts given live in the LMDB store
 * under --state-dir, so a restart neither resets a limit nor decides one
 * diagnosis twice.
 *
 * Only a diagnosis signed by sre-brain or sre-cag (mac.h) is judged; any
 * other is reported, passed on unchanged and not judged.  Each verdict is
 * signed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "catalog.h"
#include "gitops.h"
#include "mac.h"
#include "policy.h"
#include "sre.h"
#include "store.h"

#define KEY_MAX 256
#define HOUR_MS 3600000

static struct {
	struct sre_common c;
	const char *policy;
	const char *check;
	const char *repo;
	struct sre_gitops_layout layout;
	int dry_run, explain;
	int nfreeze;
	const char *freeze[32];
	struct sre_policy *p;
	struct sre_store *st;
	struct sre_mac_key key;
	unsigned long long verdicts;
} opt;

enum {
	OPT_CHECK = SRE_OPT_TOOL, OPT_CONFIG_PATH, OPT_DEPLOYMENT_PATH, OPT_DRY_RUN,
	OPT_EXPLAIN, OPT_FREEZE, OPT_POLICY, OPT_REPO
};

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: sre-guard [-hnqVvx] [--config-path TEMPLATE] "
	    "[--deployment-path TEMPLATE]\n"
	    "                 [--freeze SPEC] [-i URL] [--max-line N] [-o URL] "
	    "[-p FILE]\n"
	    "                 [-r PATH] [--state-dir DIR] [FILE]\n"
	    "       sre-guard --check FILE\n"
	    "  -p, --policy FILE   the policy, sre-policy(5) (default "
	    "$SRE_POLICY, else\n"
	    "                      the built-in limits and default approve)\n"
	    "      --check FILE    validate a policy and exit\n"
	    "  -r, --repo PATH     the GitOps checkout (default "
	    "$SRE_GITOPS_REPO)\n"
	    "      --deployment-path TEMPLATE  (default "
	    SRE_GITOPS_DEPLOYMENT ")\n"
	    "      --config-path TEMPLATE      (default " SRE_GITOPS_CONFIG
	    ")\n"
	    "      --freeze SPEC   add a change-freeze window (repeatable)\n"
	    "  -n, --dry-run       mark approvals so that sre-fix only shows "
	    "the diff\n"
	    "  -x, --explain       write each check and rule's outcome to "
	    "stderr\n"
	    "  -i, --in URL / -o, --out URL / --state-dir DIR / --max-line N\n"
	    "  -q, --quiet / -v, --verbose / -h, --help / -V, --version\n");
}

/* ---- the store ----------------------------------------------------- */

struct q {
	const char *incident, *target, *fp, *diag_id;
	int64_t ts, loop_ms;
	/* answers */
	char *verdict;			/* a verdict already given */
	int recovered, acked;
	int64_t recovered_ms;
	int64_t approvals, service, fpcount;
};

static void
names(const struct q *q, char *svc, char *fp, size_t n)
{
	char tmp[KEY_MAX];

	sre_store_key(svc, n, "guard:svc:", q->target ? q->target : "");
	if (q->fp != NULL)
		sre_store_key(fp, n, "guard:fp:", q->fp);
	else {
		snprintf(tmp, sizeof(tmp), "guard:fp:incident:");
		sre_store_key(fp, n, tmp, q->incident);
	}
}

static int
read_state(struct q *q, char *err, size_t errlen)
{
	char key[KEY_MAX], svc[KEY_MAX], fp[KEY_MAX];
	struct sre_txn *t;
	const char *v;
	int ex, r;

	if ((ex = sre_store_read(opt.st, &t, err, errlen)) != EX_OK)
		return ex;
	if (q->diag_id != NULL) {
		sre_store_key(key, sizeof(key), "guard:verdict:", q->diag_id);
		if ((r = sre_txn_kv_get(t, key, &v, NULL)) == 1)
			q->verdict = strdup(v);
		else if (r < 0)
			goto fail;
	}
	sre_store_key(key, sizeof(key), "guard:recovered:", q->incident);
	if ((r = sre_txn_kv_get(t, key, &v, NULL)) < 0)
		goto fail;
	if (r == 1) {
		q->recovered = 1;
		q->recovered_ms = strtoll(v, NULL, 10);
	}
	sre_store_key(key, sizeof(key), SRE_STORE_ACK, q->incident);
	if ((r = sre_txn_kv_get(t, key, &v, NULL)) < 0)
		goto fail;
	q->acked = r == 1;
	if (q->target != NULL) {
		names(q, svc, fp, sizeof(svc));
		if (sre_txn_window_sum(t, "guard:approve", q->ts - HOUR_MS + 1,
		    q->ts + 1, &q->approvals) < 0 ||
		    sre_txn_window_sum(t, svc, q->ts - HOUR_MS + 1, q->ts + 1,
		    &q->service) < 0 ||
		    sre_txn_window_sum(t, fp, q->ts - q->loop_ms + 1, q->ts + 1,
		    &q->fpcount) < 0)
			goto fail;
	}
	sre_txn_end(t);
	return EX_OK;
fail:
	snprintf(err, errlen, "%s", sre_txn_error(t, &ex));
	sre_txn_end(t);
	return ex ? ex : EX_SOFTWARE;
}

struct rec {
	const struct q *q;
	const char *verdict;		/* to remember */
	int count;			/* an approval to count */
	int what;			/* 'r' recovery, 'a' anomaly, 'v' */
};

static int
record(struct sre_txn *t, void *ctx)
{
	const struct rec *r = ctx;
	const struct q *q = r->q;
	char key[KEY_MAX], svc[KEY_MAX], fp[KEY_MAX], num[32];

	if (r->what == 'r') {
		snprintf(num, sizeof(num), "%lld", (long long)q->ts);
		sre_store_key(key, sizeof(key), "guard:recovered:",
		    q->incident);
		return sre_txn_kv_put(t, key, num);
	}
	if (r->what == 'a') {
		sre_store_key(key, sizeof(key), "guard:recovered:",
		    q->incident);
		return sre_txn_kv_del(t, key) < 0 ? -1 : 0;
	}
	sre_store_key(key, sizeof(key), "guard:verdict:", q->diag_id);
	if (sre_txn_kv_put(t, key, r->verdict) < 0)
		return -1;
	if (!r->count)
		return 0;
	names(q, svc, fp, sizeof(svc));
	if (sre_txn_window_add(t, "guard:approve", q->ts, 1) < 0 ||
	    sre_txn_window_add(t, svc, q->ts, 1) < 0 ||
	    sre_txn_window_add(t, fp, q->ts, 1) < 0)
		return -1;
	return 0;
}

static int
store_write(struct rec *r)
{
	char err[1024];
	int ex;

	if ((ex = sre_store_write(opt.st, record, r, err, sizeof(err))) !=
	    EX_OK)
		sre_warnx("%s", err);
	return ex;
}

/* ---- deciding ------------------------------------------------------ */

static void
explain(void *ctx, const char *id, const char *outcome)
{
	sre_warnx("explain %s: %s: %s", (const char *)ctx, id, outcome);
}

/* What the checks need to know; why holds the repository's problem. */
static void
facts_gather(jv d, struct sre_guard_facts *f, const struct q *q, char *why,
    size_t whylen)
{
	jv prop = jv_object_get(jv_copy(d), jv_string("proposal"));
	const char *action = sre_jv_str(prop, "action");
	char err[512];
	int i, n;

	memset(f, 0, sizeof(*f));
	f->services = jv_null();
	f->replicas = -1;
	if (opt.repo != NULL) {
		f->services = sre_gitops_services(opt.repo, &opt.layout, err,
		    sizeof(err));
		if (!jv_is_valid(f->services)) {
			sre_warnx("%s", err);
			f->services = jv_null();
		} else
			f->have_repo = 1;
	}
	n = f->have_repo ? jv_array_length(jv_copy(f->services)) : 0;
	for (i = 0; i < n && q->target != NULL; i++) {
		jv s = jv_array_get(jv_copy(f->services), i);

		if (strcmp(jv_string_value(s), q->target) == 0)
			f->target_exists = 1;
		jv_free(s);
	}
	if (f->target_exists && sre_gitops_replicas(opt.repo, &opt.layout,
	    q->target, &f->replicas, err, sizeof(err)) <= 0)
		f->replicas = -1;
	/* A patch as git reads it, a rollback's tag in the history. */
	if (f->target_exists && action != NULL &&
	    (f->repo_fault = sre_catalog_repo_check(opt.repo, &opt.layout,
	    prop, why, whylen)) != SRE_CATALOG_OK)
		f->repo_problem = why;
	jv_free(prop);
	f->approvals_hour = (long)q->approvals;
	f->service_approvals_hour = (long)q->service;
	f->fingerprint_actions = (long)q->fpcount;
	f->recovered = q->recovered;
	f->acked = q->acked;
	f->dry_run = opt.dry_run;
}

static jv
copy_member(jv to, jv from, const char *name)
{
	jv v = jv_object_get(jv_copy(from), jv_string(name));

	if (jv_get_kind(v) == JV_KIND_INVALID)
		return to;
	return jv_object_set(to, jv_string(name), v);
}

static int
on_diagnosis(struct sre_stream *s, jv d)
{
	const struct sre_policy_limits *l = sre_policy_limits(opt.p);
	struct sre_guard_facts f;
	struct q q;
	struct rec r;
	char err[1024], why[512];
	const char *action;
	jv prop, v, ev;
	char *line;
	size_t len;
	int ex, approve;

	memset(&q, 0, sizeof(q));
	q.incident = sre_jv_str(d, "incident");
	q.diag_id = sre_jv_str(d, "id");
	q.fp = sre_jv_str(d, "fingerprint");
	q.loop_ms = l->loop_window_ms;
	if (sre_jv_int(d, "ts_ms", &q.ts) < 0)
		q.ts = sre_now_ms();
	prop = jv_object_get(jv_copy(d), jv_string("proposal"));
	q.target = sre_jv_str(prop, "target");
	action = sre_jv_str(prop, "action");
	if ((ex = read_state(&q, err, sizeof(err))) != EX_OK) {
		sre_warnx("%s", err);
		jv_free(prop);
		return ex;
	}
	if (q.verdict != NULL) {
		/* Delivered again: the same verdict, counted once. */
		sre_info("%s: diagnosis %s decided before", q.incident,
		    q.diag_id);
		sre_stream_emit(s, q.verdict, strlen(q.verdict));
		free(q.verdict);
		jv_free(prop);
		return 0;
	}
	facts_gather(d, &f, &q, why, sizeof(why));
	v = sre_policy_decide(opt.p, d, &f, opt.explain ? explain : NULL,
	    (void *)q.incident);
	jv_free(f.services);
	approve = strcmp(sre_jv_str(v, "decision"), "approve") == 0;

	ev = sre_event_new("verdict", q.incident);
	ev = jv_object_set(ev, jv_string("ts_ms"), jv_number((double)q.ts));
	ev = jv_object_set(ev, jv_string("decision"),
	    jv_object_get(jv_copy(v), jv_string("decision")));
	ev = jv_object_set(ev, jv_string("reasons"),
	    jv_object_get(jv_copy(v), jv_string("reasons")));
	ev = jv_object_set(ev, jv_string("rules"),
	    jv_object_get(jv_copy(v), jv_string("rules")));
	ev = jv_object_set(ev, jv_string("proposal"),
	    jv_get_kind(prop) == JV_KIND_INVALID ? jv_null() : jv_copy(prop));
	if (q.diag_id != NULL)
		ev = jv_object_set(ev, jv_string("diagnosis"),
		    jv_string(q.diag_id));
	ev = copy_member(ev, d, "fingerprint");
	ev = copy_member(ev, d, "confidence");
	ev = copy_member(ev, d, "summary");
	ev = copy_member(ev, d, "root_causes");
	if (approve && opt.dry_run)
		ev = jv_object_set(ev, jv_string("dry_run"), jv_true());
	jv_free(v);
	jv_free(prop);
	ev = sre_mac_sign(&opt.key, ev);
	if (!jv_is_valid(ev) || (line = sre_jv_dump(ev, &len)) == NULL) {
		sre_warnx("out of memory");
		return EX_OSERR;
	}
	r.q = &q;
	r.verdict = line;
	r.what = 'v';
	r.count = approve && !opt.dry_run && action != NULL &&
	    strcmp(action, "observe") != 0;
	if ((ex = store_write(&r)) != EX_OK) {
		free(line);
		return ex;
	}
	opt.verdicts++;
	sre_stream_emit(s, line, len);
	free(line);
	return 0;
}

/* Every event goes on (SRE_STREAM_PASS); a verdict follows its diagnosis. */
static int
on_event(struct sre_stream *s, const struct sre_event_in *e, void *ctx)
{
	char err[512];
	const char *type = e->type;
	struct q q;
	struct rec r;
	jv ev = e->ev;
	int ex = 0;

	(void)ctx;
	memset(&q, 0, sizeof(q));
	q.incident = sre_jv_str(ev, "incident");
	if (sre_jv_int(ev, "ts_ms", &q.ts) < 0)
		q.ts = sre_now_ms();
	if (strcmp(type, "diagnosis") == 0) {
		if (sre_mac_check(&opt.key, ev, err, sizeof(err)) < 0)
			sre_stream_reject(s, "%s: ignored", err);
		else
			ex = on_diagnosis(s, ev);
	}
	else if (strcmp(type, "recovery") == 0) {
		r = (struct rec){ .q = &q, .what = 'r' };
		ex = store_write(&r);
	} else if (strcmp(type, "anomaly") == 0) {
		/* A new anomaly after a recovery reopens the incident. */
		if ((ex = read_state(&q, err, sizeof(err))) != EX_OK)
			sre_warnx("%s", err);
		else if (q.recovered && q.ts > q.recovered_ms) {
			r = (struct rec){ .q = &q, .what = 'a' };
			ex = store_write(&r);
		}
	}
	return ex;
}

static int
check_policy(const char *path)
{
	struct sre_policy *p;
	char prefix[1024];
	jv problems;

	p = sre_policy_load(path, &problems);
	sre_warnx_list("", problems);
	if (p == NULL)
		return EX_CONFIG;
	snprintf(prefix, sizeof(prefix), "%.1000s: warning: ", path);
	sre_warnx_list(prefix, sre_policy_warnings(p));
	printf("%s: %d rule%s, default %s\n", path, sre_policy_nrules(p),
	    sre_policy_nrules(p) == 1 ? "" : "s",
	    sre_decision_name(sre_policy_default(p)));
	sre_policy_free(p);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		sre_warn("writing output failed");
		return EX_IOERR;
	}
	return EX_OK;
}

static int
setup(void)
{
	char err[1024];
	struct stat sb;
	jv problems;
	int i, ex;

	if (sre_gitops_layout_check(&opt.layout, err, sizeof(err)) < 0) {
		sre_warnx("%s", err);
		return EX_USAGE;
	}
	if (opt.repo != NULL && (stat(opt.repo, &sb) < 0 ||
	    !S_ISDIR(sb.st_mode))) {
		sre_warnx("--repo %s: not a directory (sre-guard reads a "
		    "checkout)", opt.repo);
		return EX_CONFIG;
	}
	opt.p = sre_policy_load(opt.policy, &problems);
	sre_warnx_list("", problems);
	if (opt.p == NULL)
		return EX_CONFIG;
	/* Looser limits are said every time, whatever -q says. */
	sre_warnx_list("warning: ", sre_policy_warnings(opt.p));
	for (i = 0; i < opt.nfreeze; i++)
		if (sre_policy_add_freeze(opt.p, opt.freeze[i], err,
		    sizeof(err)) < 0) {
			sre_warnx("--freeze: %s", err);
			return EX_USAGE;
		}
	if ((ex = sre_store_open_keyed(&opt.st, &opt.key, &opt.c, err,
	    sizeof(err))) != EX_OK) {
		sre_warnx("%s", err);
		return ex;
	}
	return EX_OK;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		SRE_COMMON_LONGOPTS,
		{ "check", required_argument, NULL, OPT_CHECK },
		{ "config-path", required_argument, NULL, OPT_CONFIG_PATH },
		{ "deployment-path", required_argument, NULL,
		    OPT_DEPLOYMENT_PATH },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "explain", no_argument, NULL, 'x' },
		{ "freeze", required_argument, NULL, OPT_FREEZE },
		{ "policy", required_argument, NULL, 'p' },
		{ "repo", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 }
	};
	struct sre_stream s;
	int ch, ex;

	sre_init("sre-guard");
	sre_common_init(&opt.c);
	opt.policy = getenv("SRE_POLICY");
	opt.repo = getenv("SRE_GITOPS_REPO");
	if (opt.policy != NULL && *opt.policy == '\0')
		opt.policy = NULL;
	if (opt.repo != NULL && *opt.repo == '\0')
		opt.repo = NULL;
	while ((ch = sre_getopt(&opt.c, argc, argv, "np:r:x", longopts,
	    usage, &ex)) != -1) {
		switch (ch) {
		case OPT_CHECK:
			opt.check = optarg;
			break;
		case OPT_CONFIG_PATH:
			opt.layout.config = optarg;
			break;
		case OPT_DEPLOYMENT_PATH:
			opt.layout.deployment = optarg;
			break;
		case OPT_FREEZE:
			if (opt.nfreeze == 32) {
				sre_warnx("--freeze: at most 32");
				return EX_USAGE;
			}
			opt.freeze[opt.nfreeze++] = optarg;
			break;
		case 'n':
			opt.dry_run = 1;
			break;
		case 'p':
			opt.policy = optarg;
			break;
		case 'r':
			opt.repo = optarg;
			break;
		case 'x':
			opt.explain = 1;
			break;
		}
	}
	if ((ex = sre_opt_end(&opt.c, argc, argv, ex, usage)) >= 0)
		return ex;
	if (opt.check != NULL)
		return check_policy(opt.check);
	if ((ex = setup()) != EX_OK) {
		sre_policy_free(opt.p);
		return ex;
	}
	if ((ex = sre_stream_open(&s, &opt.c)) == EX_OK) {
		ex = sre_stream_events(&s, SRE_STREAM_PASS, on_event, NULL,
		    NULL);
		sre_info("%llu lines, %llu verdicts, %llu rejected", s.lines,
		    opt.verdicts, s.rejected);
	}
	sre_store_close(opt.st);
	sre_policy_free(opt.p);
	return ex;
}
