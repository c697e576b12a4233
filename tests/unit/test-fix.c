/*
 * test-fix: sre-fix's library (lib/act/commitmsg, fixrepo, fixstate, fix,
 * fixverify) against temporary git repositories: a working repository
 * with one service and a bare remote it pushes to.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "clock.h"
#include "commitmsg.h"
#include "event.h"
#include "fix.h"
#include "fixrepo.h"
#include "fixstate.h"
#include "fixverify.h"
#include "policy.h"
#include "store.h"
#include "tap.h"

#define T0	1700000000000LL		/* the tests' event time */

static char tmp[PATH_MAX], work[PATH_MAX + 32], remote[PATH_MAX + 32];
static char state[PATH_MAX + 32], err[1024];
static jv emitted;			/* the action events, parsed */
static char said[16384];		/* what the library said, "W: ...\n" */

static void
say_cb(void *ctx, int level, const char *msg)
{
	size_t n = strlen(said);

	(void)ctx;
	snprintf(said + n, sizeof(said) - n, "%c: %s\n", level ==
	    SRE_FIX_WARN ? 'W' : level == SRE_FIX_INFO ? 'I' : 'T', msg);
}

static int
emit_cb(void *ctx, const char *line, size_t len)
{
	(void)ctx;
	emitted = jv_array_append(emitted, jv_parse_sized(line, (int)len));
	return 0;
}

/* The last action event emitted (a new reference), or null. */
static jv
last(void)
{
	int n = jv_array_length(jv_copy(emitted));

	return n > 0 ? jv_array_get(jv_copy(emitted), n - 1) : jv_null();
}

/* The kind of member k of o (borrowed). */
static jv_kind
kind(jv o, const char *k)
{
	jv v = sre_jv_get(o, k);
	jv_kind r = jv_get_kind(v);

	jv_free(v);
	return r;
}

static int
last_is(const char *status)
{
	jv ev = last();
	const char *s = sre_jv_str(ev, "status");
	int r = s != NULL && strcmp(s, status) == 0;

	if (!r)
		printf("# status %s, want %s\n", s ? s : "(none)", status);
	jv_free(ev);
	return r;
}

/* git in dir with the arguments (NULL-terminated); its first line of
 * output in out (may be NULL).  0 when git exited 0. */
static int
git(const char *dir, char *out, size_t outlen, ...)
{
	const char *argv[16];
	struct sre_subproc_result r;
	va_list ap;
	int n = 0, rc;

	va_start(ap, outlen);
	while (n < 15 && (argv[n] = va_arg(ap, const char *)) != NULL)
		n++;
	va_end(ap);
	argv[n] = NULL;
	rc = sre_git(dir, argv, NULL, NULL, 0, &r, err, sizeof(err));
	if (out != NULL)
		snprintf(out, outlen, "%.*s", (int)strcspn(r.out ? r.out : "",
		    "\n"), r.out ? r.out : "");
	sre_subproc_result_free(&r);
	return rc;
}

/* The whole message of commit rev in the remote. */
static void
message(const char *rev, char *out, size_t outlen)
{
	const char *argv[] = { "log", "-1", "--format=%B", rev, NULL };
	struct sre_subproc_result r;

	out[0] = '\0';
	if (sre_git(remote, argv, NULL, NULL, 0, &r, err, sizeof(err)) == 0)
		snprintf(out, outlen, "%s", r.out);
	sre_subproc_result_free(&r);
}

static void
put(const char *rel, const char *text)
{
	char p[PATH_MAX + 256];
	FILE *fp;

	snprintf(p, sizeof(p), "%s/%s", work, rel);
	if ((fp = fopen(p, "w")) != NULL) {
		fputs(text, fp);
		fclose(fp);
	}
}

static const char deployment[] =
    "apiVersion: apps/v1\n"
    "kind: Deployment\n"
    "metadata:\n"
    "  name: api\n"
    "spec:\n"
    "  replicas: 2\n"
    "  template:\n"
    "    metadata:\n"
    "      annotations:\n"
    "        sre-space/restartedAt: \"2023-11-14T22:13:20Z\"\n"
    "    spec:\n"
    "      containers:\n"
    "        - name: api\n"
    "          image: registry.example.com/api:1.0.0\n";

/* The working repository (main, one commit) and its bare remote. */
static int
fixture(void)
{
	char p[PATH_MAX + 64];

	snprintf(tmp, sizeof(tmp), "%s/test-fix.XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(tmp) == NULL)
		return -1;
	setenv("HOME", tmp, 1);
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	setenv("GIT_AUTHOR_NAME", "Fixture", 1);
	setenv("GIT_AUTHOR_EMAIL", "fixture@example.com", 1);
	setenv("GIT_COMMITTER_NAME", "Fixture", 1);
	setenv("GIT_COMMITTER_EMAIL", "fixture@example.com", 1);
	unsetenv("SRE_CONTROL_KEY");
	snprintf(work, sizeof(work), "%s/work", tmp);
	snprintf(remote, sizeof(remote), "%s/remote.git", tmp);
	snprintf(state, sizeof(state), "%s/state", tmp);
	if (mkdir(work, 0755) < 0 || mkdir(state, 0755) < 0)
		return -1;
	snprintf(p, sizeof(p), "%s/services", work);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/services/api", work);
	if (mkdir(p, 0755) < 0)
		return -1;
	put("services/api/deployment.yaml", deployment);
	put("services/api/config.env", "DB_POOL_SIZE=10\n");
	return git(work, NULL, 0, "init", "-q", "-b", "main", ".", NULL) ||
	    git(work, NULL, 0, "add", "-A", NULL) ||
	    git(work, NULL, 0, "commit", "-q", "-m", "initial", NULL) ||
	    git(tmp, NULL, 0, "init", "-q", "--bare", "-b", "main",
	    "remote.git", NULL) ||
	    git(work, NULL, 0, "remote", "add", "origin", remote, NULL) ||
	    git(work, NULL, 0, "push", "-q", "origin", "main", NULL) ? -1 : 0;
}

static int
rm_tree(void)
{
	struct sre_fixrepo r;

	sre_fixrepo_init(&r, NULL, NULL);
	sre_fixrepo_rmtree(tmp);
	return access(tmp, F_OK) != 0;
}

/* ---- commit messages ----------------------------------------------- */

static jv
verdict(const char *id, const char *inc, const char *action,
    const char *params, double conf)
{
	char text[2048];

	snprintf(text, sizeof(text), "{\"v\":1,\"type\":\"verdict\","
	    "\"id\":\"%s\",\"incident\":\"%s\",\"ts_ms\":%lld,"
	    "\"source\":\"sre-guard\",\"decision\":\"approve\","
	    "\"rules\":[\"default\"],\"diagnosis\":\"D-%s\","
	    "\"fingerprint\":\"fp-%s\",\"confidence\":%g,"
	    "\"summary\":\"api is unwell\",\"root_causes\":[{\"service\":"
	    "\"api\",\"operation\":\"GET /x\",\"score\":0.9,\"reason\":"
	    "\"errors since the deploy\"}],\"proposal\":{\"action\":\"%s\","
	    "\"target\":\"api\",\"params\":%s}}", id, inc, T0 + 100, inc,
	    inc, conf, action, params);
	return jv_parse(text);
}

static void
test_message(void)
{
	struct sre_gitops_edit e = { "scale api from 2 to 4 replicas", "",
	    "services/api/deployment.yaml" };
	jv v = verdict("V1", "inc-1", "scale", "{\"replicas\":4}", 0.9);
	jv an = jv_parse("{\"service\":\"api\",\"signal\":\"errors\","
	    "\"observed\":12,\"baseline\":1}");
	char out[64], *msg, *end;

	sre_commitmsg_oneline(out, sizeof(out), "a\nb\rc\x7f");
	ok(strcmp(out, "a b c ") == 0, "oneline: control characters become "
	    "spaces");
	sre_commitmsg_untrusted(out, sizeof(out), "Fixes #42, GH-7", 0);
	ok(strcmp(out, "Fixes # 42, GH- 7") == 0, "untrusted: no issue "
	    "reference survives in a message (%s)", out);
	sre_commitmsg_untrusted(out, sizeof(out), "@team `x``", 1);
	ok(strcmp(out, "``` @team `x`` ```") == 0, "untrusted: Markdown "
	    "text is a code span fenced longer than it holds (%s)", out);
	sre_commitmsg_untrusted(out, 5, "abc", 1);
	ok(strcmp(out, "") == 0, "untrusted: no room for the fences: empty");
	sre_commitmsg_untrusted(out, 6, "abc", 1);
	ok(strcmp(out, "` a `") == 0, "untrusted: cut to fit in the fences");

	msg = sre_commitmsg_story(v, an, &e, 0, 0);
	ok(msg != NULL && strncmp(msg, "sre-fix: scale api from 2 to 4 "
	    "replicas\n\nIncident: inc-1\n", 53) == 0, "story: title and "
	    "incident");
	ok(msg != NULL && strstr(msg, "\nRoot cause: api GET /x (score "
	    "0.90): errors since the deploy\n") != NULL &&
	    strstr(msg, "\n- diagnosis D-inc-1, approved by verdict V1 "
	    "(rules [\"default\"])\n") != NULL &&
	    strstr(msg, "\n- anomaly on api: errors observed 12 against a "
	    "baseline of 1\n") != NULL, "story: cause, evidence, anomaly");
	end = msg != NULL ? msg + strlen(msg) : NULL;
	ok(end != NULL && end - msg > 21 && strcmp(end - 21,
	    "\nSRE-Incident: inc-1\n") == 0, "story: ends with the trailer");
	free(msg);
	jv_free(v);

	/* A forged trailer in a summary stays on its own line's middle. */
	v = jv_parse("{\"incident\":\"inc-2\",\"summary\":\"x\\n"
	    "SRE-Incident: other\"}");
	msg = sre_commitmsg_story(v, jv_null(), &e, 0, 0);
	ok(msg != NULL && strstr(msg, "\nSRE-Incident: other") == NULL &&
	    strstr(msg, "Summary: x SRE-Incident: other\n") != NULL,
	    "story: no line can be added from an event");
	free(msg);
	msg = sre_commitmsg_story(v, jv_null(), &e, 1, 17);
	ok(msg != NULL && strstr(msg, "## SRE-Space: scale api") == msg &&
	    strstr(msg, "\nCloses #17\n") != NULL, "story in Markdown: "
	    "heading, and the issue it closes");
	free(msg);
	jv_free(v);
	jv_free(an);

	msg = sre_commitmsg_revert("inc-3", 60000, "abc123");
	ok(msg != NULL && strstr(msg, "within 1m of the fix") != NULL &&
	    strstr(msg, "This reverts commit abc123.\n") != NULL &&
	    strcmp(msg + strlen(msg) - 21, "\nSRE-Incident: inc-3\n") == 0,
	    "revert message: window, commit, trailer");
	free(msg);
}

/* ---- the repository ------------------------------------------------ */

static void
test_repo(void)
{
	struct sre_fixrepo r;
	struct sre_fixrepo_want w = { NULL, NULL, NULL };
	char plain[PATH_MAX + 64], sub[PATH_MAX + 64], sha[64], sha2[64];
	char wt[PATH_MAX + 64], msg[128];
	struct stat sb;

	sre_fixrepo_init(&r, say_cb, NULL);
	ok(sre_fixrepo_identity(&r, "nobody", err, sizeof(err)) < 0 &&
	    strstr(err, "--author") != NULL, "identity: 'nobody' is refused");
	ok(sre_fixrepo_identity(&r, "Ann Bot <ann@example.com>", err,
	    sizeof(err)) == 0 && strcmp(r.identv[0],
	    "GIT_AUTHOR_NAME=Ann Bot") == 0 && strcmp(r.identv[3],
	    "GIT_COMMITTER_EMAIL=ann@example.com") == 0 && r.identv[4] ==
	    NULL, "identity: NAME <EMAIL> for author and committer");
	ok(sre_fixrepo_identity(&r, NULL, err, sizeof(err)) == 0 &&
	    r.identv[0] == NULL, "identity: the environment's when set");

	snprintf(plain, sizeof(plain), "%s/plain", tmp);
	mkdir(plain, 0755);
	w.repo = plain;
	ok(sre_fixrepo_open(&r, &w, state, err, sizeof(err)) == EX_CONFIG &&
	    strstr(err, "not a git repository") != NULL,
	    "open: a plain directory is EX_CONFIG");
	snprintf(sub, sizeof(sub), "%s/services", work);
	w.repo = sub;
	ok(sre_fixrepo_open(&r, &w, state, err, sizeof(err)) == EX_CONFIG &&
	    strstr(err, "not the top") != NULL,
	    "open: a subdirectory is EX_CONFIG");
	w.repo = "/nonexistent/repo";
	ok(sre_fixrepo_open(&r, &w, state, err, sizeof(err)) == EX_NOINPUT,
	    "open: a missing path is EX_NOINPUT");
	w.repo = work;
	w.remote = "nope";
	ok(sre_fixrepo_open(&r, &w, state, err, sizeof(err)) == EX_CONFIG &&
	    strstr(err, "no such remote") != NULL,
	    "open: an unknown --remote is EX_CONFIG");
	w.remote = NULL;
	w.base = "a b";
	ok(sre_fixrepo_open(&r, &w, state, err, sizeof(err)) == EX_USAGE,
	    "open: an unusable --base is EX_USAGE");
	w.base = NULL;
	ok(sre_fixrepo_open(&r, &w, state, err, sizeof(err)) == EX_OK &&
	    r.has_remote && strcmp(r.url, remote) == 0 &&
	    strcmp(r.base, "main") == 0 && strcmp(r.remote, "origin") == 0 &&
	    stat(r.wtdir, &sb) == 0, "open: remote, base main from the "
	    "remote's HEAD, worktree directory made");

	git(work, sha2, sizeof(sha2), "rev-parse", "main", NULL);
	ok(sre_fixrepo_base_commit(&r, sha, sizeof(sha), err,
	    sizeof(err)) == 0 && strcmp(sha, sha2) == 0,
	    "base_commit: main's commit, fetched");
	ok(sre_fixrepo_fetch(&r, "nope", sha, sizeof(sha), err,
	    sizeof(err)) == 0, "fetch: a branch the remote lacks is 0");
	ok(sre_fixrepo_local(&r, "main", sha, sizeof(sha)) == 1 &&
	    sre_fixrepo_local(&r, "nope", sha, sizeof(sha)) == 0,
	    "local: found, and not");
	ok(sre_fixrepo_push(&r, sha2, "t/pushed", err, sizeof(err)) == 0 &&
	    sre_fixrepo_fetch(&r, "t/pushed", sha, sizeof(sha), err,
	    sizeof(err)) == 1 && strcmp(sha, sha2) == 0,
	    "push, then fetch: the same commit");
	ok(sre_fixrepo_push_delete(&r, "t/pushed", err, sizeof(err)) == 0 &&
	    sre_fixrepo_fetch(&r, "t/pushed", sha, sizeof(sha), err,
	    sizeof(err)) == 0, "push_delete: the branch is gone");
	ok(sre_fixrepo_push(&r, "0000000000000000000000000000000000000001",
	    "t/x", err, sizeof(err)) < 0 && err[0] != '\0',
	    "push of a commit that is not there fails, with git's message");

	snprintf(wt, sizeof(wt), "%s/t1", r.wtdir);
	ok(sre_fixrepo_wt_add(&r, wt, sha2, err, sizeof(err)) == 0 &&
	    stat(wt, &sb) == 0, "wt_add: a worktree on the commit");
	ok(sre_fixrepo_wt_add(&r, wt, sha2, err, sizeof(err)) == 0,
	    "wt_add: one left behind is taken over");
	sre_fixrepo_wt_remove(&r, wt);
	ok(stat(wt, &sb) < 0 && git(work, msg, sizeof(msg), "worktree",
	    "list", "--porcelain", NULL) == 0, "wt_remove: gone");

	r.token = "ghp_SECRETtoken";
	snprintf(msg, sizeof(msg), "https://x:ghp_SECRETtoken@h/ and "
	    "ghp_SECRETtoken");
	sre_fixrepo_scrub(&r, msg);
	ok(strcmp(msg, "https://x:***@h/ and ***") == 0, "scrub: the token "
	    "masked everywhere");
	sre_fixrepo_close(&r);
}

/* ---- acting -------------------------------------------------------- */

static struct sre_store *st;
static struct sre_policy *pol;

static int
fix_open(struct sre_fix *f)
{
	struct sre_fixrepo_want w = { work, NULL, NULL };

	sre_fix_init(f, say_cb, emit_cb, NULL);
	f->st = st;
	f->policy = pol;
	f->clock.event_ms = T0;
	f->clock.wall_ms = sre_now_ms();
	f->clock.set = 1;
	return sre_fixrepo_identity(&f->repo, NULL, err, sizeof(err)) == 0 &&
	    sre_fixrepo_open(&f->repo, &w, state, err, sizeof(err)) ==
	    EX_OK ? 0 : -1;
}

/* Note the diagnosis verdict v follows (its proposal and confidence). */
static int
note_diag(struct sre_fix *f, jv v, const char *inc, double conf)
{
	char id[64];
	jv d = jv_object();
	int ex;

	snprintf(id, sizeof(id), "D-%s", inc);
	d = jv_object_set(d, jv_string("id"), jv_string(id));
	d = jv_object_set(d, jv_string("incident"), jv_string(inc));
	d = jv_object_set(d, jv_string("confidence"), jv_number(conf));
	d = jv_object_set(d, jv_string("proposal"), sre_jv_get(v, "proposal"));
	ex = sre_fix_note_diagnosis(f, d);
	jv_free(d);
	return ex;
}

static void
test_trust(struct sre_fix *f)
{
	jv v = verdict("V-t", "inc-t", "scale", "{\"replicas\":3}", 0.9);
	jv other = verdict("V-t2", "inc-t", "scale", "{\"replicas\":5}", 0.9);
	jv ev;
	char *old, why[256];

	ok(sre_fix_verdict_ok(f, v, why, sizeof(why)) < 0 &&
	    strstr(why, "no verified diagnosis") != NULL,
	    "verdict_ok: no diagnosis seen");
	ok(note_diag(f, v, "inc-t", 0.9) == EX_OK &&
	    sre_fix_verdict_ok(f, v, why, sizeof(why)) == 0,
	    "verdict_ok: after its diagnosis");
	ok(sre_fix_verdict_ok(f, other, why, sizeof(why)) < 0 &&
	    strstr(why, "proposal is not the one") != NULL,
	    "verdict_ok: another proposal");
	jv_free(other);
	other = verdict("V-t3", "inc-u", "scale", "{\"replicas\":3}", 0.9);
	other = jv_object_set(other, jv_string("diagnosis"),
	    jv_string("D-inc-t"));
	ok(sre_fix_verdict_ok(f, other, why, sizeof(why)) < 0 &&
	    strstr(why, "follows a diagnosis of incident inc-t") != NULL,
	    "verdict_ok: another incident's diagnosis");
	jv_free(other);
	other = verdict("V-t4", "inc-t", "scale", "{\"replicas\":3}", 1.5);
	ok(sre_fix_verdict_ok(f, other, why, sizeof(why)) < 0 &&
	    strstr(why, "verdict's confidence") != NULL,
	    "verdict_ok: a confidence above 1");
	jv_free(other);

	/* Forgotten in memory, found in the store (a restart). */
	jv_free(f->diagnoses);
	f->diagnoses = jv_object();
	ok(sre_fix_verdict_ok(f, v, why, sizeof(why)) == 0,
	    "verdict_ok: the diagnosis from the store");

	f->repo.token = "ghp_SECRETtoken";
	ev = sre_fix_action(f, "inc-t", T0, "skipped", NULL, NULL, NULL,
	    "token ghp_SECRETtoken here");
	f->repo.token = NULL;
	ok(sre_fix_record(f, ev, "V-t", "inc-t", 0) == EX_OK &&
	    last_is("skipped"), "record: emitted");
	ev = last();
	ok(strcmp(sre_jv_str(ev, "detail"), "token *** here") == 0 &&
	    sre_mac_verify(&f->key, ev, why, sizeof(why)) == 0,
	    "record: the token masked, the event signed");
	jv_free(ev);
	old = sre_fix_replay(f, "V-t");
	ok(old != NULL && strstr(old, "\"status\":\"skipped\"") != NULL,
	    "replay: the verdict's answer from the store");
	free(old);
	ok(sre_fix_replay(f, "V-none") == NULL, "replay: none for another");
	jv_free(v);
}

/* Approve: diagnosis noted, then acted on. */
static int
approve(struct sre_fix *f, jv v)
{
	const char *inc = sre_jv_str(v, "incident");
	double c = 0.9;
	int ex;

	sre_jv_num(v, "confidence", &c);
	note_diag(f, v, inc, c);
	ex = sre_fix_act(f, v);
	jv_free(v);
	return ex;
}

static void
test_act(struct sre_fix *f)
{
	char sha[64], main0[64], text[4096], wt[PATH_MAX + 64];
	struct stat sb;
	jv ev, p;

	git(remote, main0, sizeof(main0), "rev-parse", "main", NULL);
	ok(approve(f, verdict("V1", "inc-1", "scale", "{\"replicas\":4}",
	    0.9)) == EX_OK && last_is("committed"), "act: a scale is "
	    "committed");
	ev = last();
	ok(git(remote, sha, sizeof(sha), "rev-parse", "sre/inc-1", NULL) ==
	    0 && strcmp(sha, sre_jv_str(ev, "commit")) == 0,
	    "act: pushed to sre/inc-1 on the remote");
	message("sre/inc-1", text, sizeof(text));
	ok(strstr(text, "sre-fix: scale api from 2 to 4 replicas\n") ==
	    text && strstr(text, "\n\nSRE-Incident: inc-1\n") != NULL,
	    "act: the commit message, with its trailer");
	ok(sre_fixrepo_local(&f->repo, "sre/inc-1", sha, sizeof(sha)) == 1,
	    "act: the local branch too");
	p = sre_jv_get(f->pending, "inc-1");
	ok(jv_get_kind(p) == JV_KIND_OBJECT && sre_jv_str(p, "commit") &&
	    strcmp(sre_jv_str(p, "commit"), sre_jv_str(ev, "commit")) == 0,
	    "act: the fix is under verification");
	jv_free(p);
	jv_free(ev);

	ok(approve(f, verdict("V1b", "inc-1", "scale", "{\"replicas\":4}",
	    0.9)) == EX_OK && last_is("skipped"), "act: once per incident");
	ev = last();
	ok(strstr(sre_jv_str(ev, "detail"), "the same change is live and "
	    "being verified") != NULL, "act: the second says so");
	jv_free(ev);

	ok(approve(f, verdict("V2", "a..b", "scale", "{\"replicas\":4}",
	    0.9)) == EX_OK && last_is("failed"), "act: an incident id that "
	    "cannot name a branch fails");
	ok(approve(f, verdict("V3", "inc-3", "scale", "{\"replicas\":900}",
	    0.9)) == EX_OK && last_is("failed") && strstr(said, "inc-3: ") !=
	    NULL, "act: the catalog refuses 900 replicas, said");

	said[0] = '\0';
	f->dry_run = 1;
	ok(approve(f, verdict("V4", "inc-4", "scale", "{\"replicas\":3}",
	    0.9)) == EX_OK && last_is("dry_run"), "act: a dry run");
	f->dry_run = 0;
	ev = last();
	ok(strstr(sre_jv_str(ev, "diff"), "+  replicas: 3") != NULL &&
	    strstr(said, "T: diff --git") == said &&
	    !sre_fixrepo_local(&f->repo, "sre/inc-4", sha, sizeof(sha)),
	    "act: the diff shown and in the event; no branch");
	jv_free(ev);

	ok(approve(f, verdict("V5", "inc-5", "observe", "{}", 0.9)) ==
	    EX_OK && last_is("skipped"), "act: an observe changes nothing");
	p = sre_jv_get(f->pending, "inc-5");
	ok(kind(p, "observe") == JV_KIND_TRUE,
	    "act: the observe is watched");
	jv_free(p);

	/* A push that fails (pushes go to a path that is no repository;
	 * fetches still work): all undone. */
	ok(git(work, NULL, 0, "config", "remote.origin.pushurl", "/nonexistent",
	    NULL) == 0, "pushes fail from here on: %s", err);
	said[0] = '\0';
	ok(approve(f, verdict("V6", "inc-6", "scale", "{\"replicas\":5}",
	    0.9)) == EX_OK && last_is("failed"), "act: a failed push fails");
	snprintf(wt, sizeof(wt), "%s/inc-6", f->repo.wtdir);
	ok(!sre_fixrepo_local(&f->repo, "sre/inc-6", sha, sizeof(sha)) &&
	    stat(wt, &sb) < 0 && strstr(said, "W: inc-6: ") != NULL,
	    "act: no branch, no worktree left; said");
	git(work, NULL, 0, "config", "--unset", "remote.origin.pushurl", NULL);
	ok(git(remote, sha, sizeof(sha), "rev-parse", "main", NULL) == 0 &&
	    strcmp(sha, main0) == 0, "act: the remote's main untouched");

	f->repo.has_remote = 1;
	snprintf(f->repo.base, sizeof(f->repo.base), "gone");
	ok(approve(f, verdict("V7", "inc-7", "scale", "{\"replicas\":5}",
	    0.9)) == EX_OK && last_is("failed"), "act: no base branch fails");
	ev = last();
	ok(strstr(sre_jv_str(ev, "detail"), "no branch gone") != NULL,
	    "act: and says why");
	jv_free(ev);
	snprintf(f->repo.base, sizeof(f->repo.base), "main");
}

/* ---- verifying ----------------------------------------------------- */

static void
test_pending(struct sre_fix *f)
{
	struct sre_fix_made m = { "sre/x", "abc", "", "", 0, 0, 1, 0, 1, "" };
	jv p = jv_parse("{\"a\":{\"deadline_ms\":100},\"b\":{\"deadline_ms\":"
	    "200},\"c\":{}}"), due, e;
	int had = -1;

	due = sre_fix_due(p, 150);
	e = jv_array_get(jv_copy(due), 0);
	ok(jv_array_length(jv_copy(due)) == 1 && jv_get_kind(e) ==
	    JV_KIND_STRING && strcmp(jv_string_value(e), "a") == 0,
	    "due: only what is past its deadline");
	jv_free(e);
	jv_free(due);
	jv_free(p);
	due = sre_fix_due(jv_null(), 150);
	ok(jv_array_length(due) == 0, "due: nothing in null");

	e = sre_fix_pending_entry(&m, 500, 0, jv_null());
	ok(strcmp(sre_jv_str(e, "branch"), "sre/x") == 0 &&
	    kind(e, "pushed") == JV_KIND_TRUE &&
	    kind(e, "merged") == JV_KIND_FALSE &&
	    kind(e, "observe") == JV_KIND_FALSE,
	    "entry: what the fix made");
	jv_free(e);

	f->window_ms = 0;
	ok(sre_fix_watch(f, "inc-w", &m, T0, 0, jv_null()) == EX_OK &&
	    kind(f->pending, "inc-w") == JV_KIND_INVALID,
	    "watch: no window, nothing watched");
	f->window_ms = 1000;
	ok(sre_fix_watch(f, "inc-w", &m, T0, 0, jv_null()) == EX_OK,
	    "watch: a window");
	e = sre_jv_get(f->pending, "inc-w");
	ok(sre_jv_int(e, "deadline_ms", &(int64_t){ 0 }) == 0 &&
	    jv_get_kind(e) == JV_KIND_OBJECT, "watch: the entry is there");
	jv_free(e);
	jv_free(f->pending);
	f->pending = jv_object();
	sre_fix_pending_load(f);
	ok(kind(f->pending, "inc-w") == JV_KIND_OBJECT,
	    "pending_load: kept in the store");
	ok(sre_fix_recovered(f, "inc-w", &had) == EX_OK && had == 1 &&
	    kind(f->pending, "inc-w") == JV_KIND_INVALID,
	    "recovered: the window ends");
	ok(sre_fix_recovered(f, "inc-w", &had) == EX_OK && had == 0,
	    "recovered: again, nothing was watched");
}

/* Move the event clock past every deadline and verify. */
static int
verify_later(struct sre_fix *f, int64_t ms)
{
	sre_evclock_see(&f->clock, sre_evclock_now(&f->clock) + ms);
	return sre_fix_verify_due(f);
}

static void
test_verify(struct sre_fix *f)
{
	char text[4096], sha[64];
	int n0;
	jv ev, p;

	/* A minute, on a clock that starts now. */
	f->window_ms = 60000;
	f->clock.event_ms = T0 + 100;
	f->clock.wall_ms = sre_now_ms();
	/* What test_act left under verification ends. */
	ok(sre_fix_recovered(f, "inc-1", NULL) == EX_OK &&
	    sre_fix_recovered(f, "inc-5", NULL) == EX_OK &&
	    jv_object_length(jv_copy(f->pending)) == 0, "nothing pending");
	ok(approve(f, verdict("V10", "inc-10", "observe", "{}", 0.9)) ==
	    EX_OK, "an observe to escalate");
	ok(approve(f, verdict("V11", "inc-11", "config",
	    "{\"key\":\"DB_POOL_SIZE\",\"value\":\"40\"}", 0.9)) == EX_OK &&
	    last_is("committed"), "a config fix to revert");
	ev = last();
	n0 = jv_array_length(jv_copy(emitted));
	ok(verify_later(f, 0) == EX_OK && jv_array_length(jv_copy(emitted)) ==
	    n0, "verify_due: nothing before the deadline");
	ok(verify_later(f, 120000) == EX_OK && jv_array_length(jv_copy(
	    emitted)) == n0 + 2, "verify_due: both after it");
	p = sre_jv_get(f->pending, "inc-11");
	ok(jv_object_length(jv_copy(f->pending)) == 1 &&
	    jv_get_kind(sre_jv_get(p, "open")) == JV_KIND_FALSE,
	    "verify_due: both claimed; the reverted change's entry kept, "
	    "closed, for the next remedy");
	jv_free(p);
	message("sre/inc-11", text, sizeof(text));
	ok(strstr(text, "sre-fix: revert the fix for incident inc-11\n") ==
	    text && strstr(text, sre_jv_str(ev, "commit")) != NULL,
	    "revert: a revert commit on the fix's branch, pushed");
	git(remote, sha, sizeof(sha), "show", "sre/inc-11:services/api/"
	    "config.env", NULL);
	ok(strcmp(sha, "DB_POOL_SIZE=10") == 0, "revert: the file as before");
	jv_free(ev);
	for (n0 = 0; n0 < 2; n0++) {
		ev = jv_array_get(jv_copy(emitted), jv_array_length(jv_copy(
		    emitted)) - 2 + n0);
		if (strcmp(sre_jv_str(ev, "incident"), "inc-10") == 0)
			ok(strcmp(sre_jv_str(ev, "status"), "failed") == 0 &&
			    strstr(sre_jv_str(ev, "detail"), "did not "
			    "recover within 1m") != NULL, "escalate: the "
			    "observe failed, for a human");
		else
			ok(strcmp(sre_jv_str(ev, "status"), "reverted") == 0,
			    "revert: reported");
		jv_free(ev);
	}

	/* Merged (auto_merge without GitHub: pushed onto main), then
	 * reverted on main too. */
	f->auto_merge = 1;
	ok(approve(f, verdict("V12", "inc-12", "scale", "{\"replicas\":6}",
	    0.9)) == EX_OK && last_is("committed"), "a merged fix");
	f->auto_merge = 0;
	ev = last();
	ok(kind(ev, "merged") == JV_KIND_TRUE &&
	    git(remote, sha, sizeof(sha), "rev-parse", "main", NULL) == 0 &&
	    strcmp(sha, sre_jv_str(ev, "commit")) == 0, "merged: main is the "
	    "fix");
	jv_free(ev);
	ok(verify_later(f, 120000) == EX_OK && last_is("reverted"),
	    "revert of a merged fix");
	ev = last();
	ok(strcmp(sre_jv_str(ev, "branch"), "sre/inc-12-revert") == 0,
	    "revert: on its own branch");
	message("main", text, sizeof(text));
	ok(strstr(text, "revert the fix for incident inc-12") != NULL,
	    "revert: pushed onto main");
	jv_free(ev);

	/* Failure: nothing recorded to revert. */
	p = jv_parse("{\"deadline_ms\":0}");
	ok(sre_fix_revert(f, "inc-13", p, T0) == EX_OK && last_is("failed"),
	    "revert with no record of the fix fails");
	ev = last();
	ok(strstr(sre_jv_str(ev, "detail"), "no record of the fix") != NULL,
	    "and says why");
	jv_free(ev);
	jv_free(p);
	p = jv_parse("{\"branch\":\"sre/none\",\"commit\":\"abc\"}");
	ok(sre_fix_revert(f, "inc-14", p, T0) == EX_OK && last_is("failed"),
	    "revert of a branch that is gone fails");
	ev = last();
	ok(strstr(sre_jv_str(ev, "detail"), "branch sre/none is gone") !=
	    NULL, "and names it");
	jv_free(ev);
	jv_free(p);
}

int
main(void)
{
	struct sre_fix f;
	struct stat sb;
	jv problems;

	emitted = jv_array();
	if (fixture() < 0) {
		ok(0, "fixture: %s", err);
		return tap_done();
	}
	test_message();
	test_repo();
	pol = sre_policy_load(NULL, &problems);
	jv_free(problems);
	ok(pol != NULL && sre_store_open(&st, state, NULL, err,
	    sizeof(err)) == EX_OK, "the store and the built-in policy");
	ok(fix_open(&f) == 0, "a fix context on the repository: %s", err);
	test_trust(&f);
	test_act(&f);
	test_pending(&f);
	test_verify(&f);
	sre_fix_free(&f);
	sre_fix_free(NULL);
	sre_store_close(st);
	sre_policy_free(pol);
	jv_free(emitted);
	ok(rm_tree() && stat(tmp, &sb) < 0, "the temporary tree removed");
	return tap_done();
}
