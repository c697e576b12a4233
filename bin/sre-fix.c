/*
 * sre-fix: carry out approved verdicts through GitOps.
 *
 * Reads events and passes every one on.  For each `verdict` that
 * approves, it makes the remediation catalog's change in a git worktree
 * of its own (one per incident, under the state directory), commits it
 * with the incident, root cause and evidence in the message and an
 * "SRE-Incident: <id>" trailer, pushes branch sre/<incident> to the
 * remote and, with GITHUB_PERSONAL_ACCESS_TOKEN and a GitHub repository,
 * opens an issue and a pull request (merged with --auto-merge).  It then
 * writes an `action` event.  A second approval for an incident finds the
 * branch (or pull request) and does nothing; a failure at any step undoes
 * the steps before it, so no branch or pull request is left half made.
 *
 * Closed loop: a fix not followed by a `recovery` of its incident within
 * --verify-window (event time) is reverted (a revert commit, or a revert
 * pull request) and reported as `reverted`, for a human to take over.
 *
 * Trust (mac.h): sre-fix acts only on an approving verdict signed by
 * sre-guard that follows a diagnosis signed by sre-brain or sre-cag (same
 * id as the verdict's "diagnosis", same incident, an equal proposal; kept
 * in the store, so across a restart too) and whose confidence, and the
 * diagnosis', is a number from 0 to 1.  Any other
 * verdict, and an unsigned diagnosis, is reported as a rejected line, passed
 * on and not acted on.  Its own actions are signed.
 *
 * The work is lib/act's: fix.h acts, fixverify.h closes the loop,
 * fixstate.h keeps what was seen, fixrepo.h drives git, commitmsg.h
 * writes the messages.  This file holds the options, the set-up and the
 * per-line loop.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fix.h"
#include "fixverify.h"
#include "http.h"
#include "policy.h"
#include "sre.h"
#include "store.h"

static struct {
	struct sre_common c;
	const char *repo_arg;
	const char *remote_arg;
	const char *base_arg;
	const char *github_arg;
	const char *labels_arg;
	const char *author;
	const char *policy_arg;
	struct sre_fix f;
	struct sre_stream *s;
} opt;

enum {
	OPT_AUTHOR = SRE_OPT_TOOL, OPT_AUTO_MERGE, OPT_BASE, OPT_CONFIG_PATH,
	OPT_DEPLOYMENT_PATH, OPT_GITHUB, OPT_LABELS, OPT_NO_PUSH, OPT_REMOTE,
	OPT_VERIFY_WINDOW
};

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: sre-fix [-hnqVv] [--author 'NAME <EMAIL>'] [--auto-merge] "
	    "[--base BRANCH]\n"
	    "               [--config-path TEMPLATE] [--deployment-path "
	    "TEMPLATE]\n"
	    "               [--github OWNER/REPO] [-i URL] [--labels LIST] "
	    "[--max-line N]\n"
	    "               [--no-push] [-o URL] [-p FILE] [-r PATH | URL] "
	    "[--remote NAME]\n"
	    "               [--state-dir DIR] [--verify-window DURATION] [FILE]\n"
	    "  -r, --repo PATH|URL      the GitOps repository (default "
	    "$SRE_GITOPS_REPO, else .)\n"
	    "      --remote NAME        the remote to push to (default "
	    "origin)\n"
	    "      --base BRANCH        the branch fixes start from (default: "
	    "the remote's HEAD)\n"
	    "      --github OWNER/REPO  the GitHub repository (default "
	    "$GITHUB_REPOSITORY,\n"
	    "                           else the remote's URL)\n"
	    "      --labels LIST        labels of issues and pull requests "
	    "(sre-space,incident)\n"
	    "      --auto-merge         merge fixes into the base branch\n"
	    "  -p, --policy FILE        the config keys and replica bounds "
	    "allowed, sre-policy(5)\n"
	    "                           (default $SRE_POLICY, else built in)\n"
	    "      --verify-window D    revert a fix not followed by recovery "
	    "within D at most\n"
	    "                           (3m, less when the incident's windows "
	    "are short; 0: never)\n"
	    "  -n, --dry-run            only show the diff of each fix\n"
	    "      --no-push            commit on the local branch only\n"
	    "      --author 'NAME <EMAIL>'  who commits (default SRE-Space "
	    "<sre-fix@localhost>)\n"
	    "      --deployment-path T / --config-path T   the layout's path "
	    "templates\n"
	    "  -i, --in URL / -o, --out URL / --state-dir DIR / --max-line N\n"
	    "  -q, --quiet / -v, --verbose / -h, --help / -V, --version\n");
}

/* ---- what the library hands back ----------------------------------- */

static void
say(void *ctx, int level, const char *msg)
{
	(void)ctx;
	if (level == SRE_FIX_WARN)
		sre_warnx("%s", msg);
	else if (level == SRE_FIX_INFO)
		sre_info("%s", msg);
	else if (sre_verbosity() >= 0)
		fputs(msg, stderr);
}

static int
emit(void *ctx, const char *line, size_t len)
{
	(void)ctx;
	return sre_stream_emit(opt.s, line, len);
}

/* ---- the loop ------------------------------------------------------ */

/* An approving verdict: its answer again if it was delivered before,
 * else acted on when it may be. */
static int
on_verdict(struct sre_stream *s, jv ev)
{
	char err[512], *old;
	int ex = EX_OK;

	if ((old = sre_fix_replay(&opt.f, sre_jv_str(ev, "id"))) != NULL) {
		/* Delivered again: the same answer, not a new act. */
		sre_stream_emit(s, old, strlen(old));
		free(old);
	} else if (sre_fix_verdict_ok(&opt.f, ev, err, sizeof(err)) < 0)
		sre_stream_reject(s, "%s: ignored", err);
	else
		ex = sre_fix_act(&opt.f, ev);
	return ex;
}

static int
on_event(struct sre_stream *s, const struct sre_event_in *e, void *ctx)
{
	char err[512];
	const char *type = e->type, *inc, *dec;
	jv ev = e->ev;
	int ex = EX_OK;

	(void)ctx;
	inc = sre_jv_str(ev, "incident");
	if (strcmp(type, "recovery") == 0 && inc != NULL) {
		int had = 0;

		if ((ex = sre_fix_recovery(&opt.f, ev, inc, &had)) == EX_OK &&
		    had)
			sre_info("%s: recovered: the fix holds", inc);
	} else if (strcmp(type, "anomaly") == 0 && inc != NULL)
		sre_fix_note_anomaly(&opt.f, ev, inc);
	else if ((strcmp(type, "diagnosis") == 0 ||
	    strcmp(type, "verdict") == 0) &&
	    sre_mac_check(&opt.f.key, ev, err, sizeof(err)) < 0)
		sre_stream_reject(s, "%s: ignored", err);
	else if (strcmp(type, "diagnosis") == 0)
		ex = sre_fix_note_diagnosis(&opt.f, ev);
	else if (strcmp(type, "verdict") == 0 &&
	    (dec = sre_jv_str(ev, "decision")) != NULL &&
	    strcmp(dec, "approve") == 0)
		ex = on_verdict(s, ev);
	if (ex == EX_OK)
		ex = sre_fix_verify_due(&opt.f);
	return ex;
}

static int
on_idle(struct sre_stream *s, int at_end, void *ctx)
{
	(void)s;
	(void)at_end;
	(void)ctx;
	sre_fix_pending_load(&opt.f);
	return sre_fix_verify_due(&opt.f);
}

/* ---- setting up ---------------------------------------------------- */

/* GITHUB_API_URL, GITHUB_PERSONAL_ACCESS_TOKEN and --github. */
static int
setup_github(void)
{
	const char *tok = getenv("GITHUB_PERSONAL_ACCESS_TOKEN");
	const char *api = getenv("GITHUB_API_URL");
	struct sre_github *gh = &opt.f.gh;

	gh->api = api != NULL && *api != '\0' ? api : SRE_GITHUB_API;
	if (strncmp(gh->api, "https://", 8) != 0 &&
	    strncmp(gh->api, "http://", 7) != 0) {
		sre_warnx("GITHUB_API_URL: not an http(s) URL");
		return EX_CONFIG;
	}
	if (tok != NULL && *tok != '\0') {
		if (!sre_http_header_ok(tok)) {
			sre_warnx("GITHUB_PERSONAL_ACCESS_TOKEN: unusable "
			    "characters");
			return EX_CONFIG;
		}
		gh->token = opt.f.repo.token = tok;
	}
	if (opt.github_arg != NULL) {
		if (sre_github_repo(gh, opt.github_arg, NULL) < 0) {
			sre_warnx("--github %s: want OWNER/REPO",
			    opt.github_arg);
			return EX_USAGE;
		}
		opt.f.use_github = gh->token != NULL;
		if (!opt.f.use_github)
			sre_notice("--github without "
			    "GITHUB_PERSONAL_ACCESS_TOKEN: no pull requests");
	}
	return EX_OK;
}

/* Without --github, the GitHub repository from the remote's URL. */
static void
github_from_remote(void)
{
	struct sre_github *gh = &opt.f.gh;
	const char *h;
	char host[256];

	if (!opt.f.repo.has_remote || opt.github_arg != NULL ||
	    gh->token == NULL)
		return;
	snprintf(host, sizeof(host), "github.com");
	if (strcmp(gh->api, SRE_GITHUB_API) != 0 &&
	    (h = strstr(gh->api, "://")) != NULL)
		snprintf(host, sizeof(host), "%.*s", (int)strcspn(h + 3, "/:"),
		    h + 3);
	opt.f.use_github = sre_github_repo(gh, opt.f.repo.url, host) == 0;
}

/* The state directory, the repository, the store and the key. */
static int
setup_state(void)
{
	const char *state = sre_state_dir(&opt.c);
	struct sre_fixrepo_want want = { opt.repo_arg, opt.remote_arg,
	    opt.base_arg };
	char err[1024], statedir[PATH_MAX];
	int ex;

	if (sre_state_dir_make(&opt.c) < 0) {
		sre_warn("%s", state);
		return EX_CANTCREAT;
	}
	/* git runs in other directories: the worktrees need a full path. */
	if (realpath(state, statedir) == NULL) {
		sre_warn("%s", state);
		return EX_CANTCREAT;
	}
	if ((ex = sre_fixrepo_open(&opt.f.repo, &want, statedir, err,
	    sizeof(err))) != EX_OK) {
		sre_warnx("%s", err);
		return ex;
	}
	github_from_remote();
	if (opt.f.auto_merge && (!opt.f.repo.has_remote || opt.f.no_push))
		sre_warnx("--auto-merge needs a remote to push to: ignored");
	if (opt.f.repo.has_remote && !opt.f.use_github && opt.f.gh.token !=
	    NULL)
		sre_info("the remote is not on GitHub: no pull requests");
	if (!opt.f.repo.has_remote || opt.f.no_push)
		opt.f.use_github = 0;
	if ((ex = sre_store_open(&opt.f.st, state, NULL, err, sizeof(err))) !=
	    EX_OK || (ex = sre_mac_key_load(&opt.f.key, &opt.c, err,
	    sizeof(err))) != EX_OK) {
		sre_warnx("%s", err);
		return ex;
	}
	sre_fix_pending_load(&opt.f);
	return EX_OK;
}

static int
setup(void)
{
	char err[1024], *labels, *l, *sp;
	jv problems;
	int ex;

	if (sre_gitops_layout_check(&opt.f.layout, err, sizeof(err)) < 0 ||
	    sre_fixrepo_identity(&opt.f.repo, opt.author, err,
	    sizeof(err)) < 0) {
		sre_warnx("%s", err);
		return EX_USAGE;
	}
	opt.f.policy = sre_policy_load(opt.policy_arg, &problems);
	sre_warnx_list("", problems);
	if (opt.f.policy == NULL)
		return EX_CONFIG;
	if ((ex = setup_github()) != EX_OK)
		return ex;
	if ((labels = strdup(opt.labels_arg)) == NULL)
		return EX_OSERR;
	for (sp = labels; (l = strsep(&sp, ",")) != NULL;)
		if (*l != '\0')
			opt.f.labels = jv_array_append(opt.f.labels,
			    jv_string(l));
	free(labels);
	return setup_state();
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		SRE_COMMON_LONGOPTS,
		{ "author", required_argument, NULL, OPT_AUTHOR },
		{ "auto-merge", no_argument, NULL, OPT_AUTO_MERGE },
		{ "base", required_argument, NULL, OPT_BASE },
		{ "config-path", required_argument, NULL, OPT_CONFIG_PATH },
		{ "deployment-path", required_argument, NULL,
		    OPT_DEPLOYMENT_PATH },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "github", required_argument, NULL, OPT_GITHUB },
		{ "labels", required_argument, NULL, OPT_LABELS },
		{ "no-push", no_argument, NULL, OPT_NO_PUSH },
		{ "policy", required_argument, NULL, 'p' },
		{ "remote", required_argument, NULL, OPT_REMOTE },
		{ "repo", required_argument, NULL, 'r' },
		{ "verify-window", required_argument, NULL, OPT_VERIFY_WINDOW },
		{ NULL, 0, NULL, 0 }
	};
	struct sre_stream s;
	const char *env;
	int ch, ex;

	sre_init("sre-fix");
	sre_common_init(&opt.c);
	sre_fix_init(&opt.f, say, emit, NULL);
	opt.labels_arg = "sre-space,incident";
	if ((env = getenv("SRE_GITOPS_REPO")) != NULL && *env != '\0')
		opt.repo_arg = env;
	if ((env = getenv("GITHUB_REPOSITORY")) != NULL && *env != '\0')
		opt.github_arg = env;
	if ((env = getenv("SRE_POLICY")) != NULL && *env != '\0')
		opt.policy_arg = env;
	while ((ch = sre_getopt(&opt.c, argc, argv, "np:r:", longopts, usage,
	    &ex)) != -1) {
		switch (ch) {
		case OPT_AUTHOR:
			opt.author = optarg;
			break;
		case OPT_AUTO_MERGE:
			opt.f.auto_merge = 1;
			break;
		case OPT_BASE:
			opt.base_arg = optarg;
			break;
		case OPT_CONFIG_PATH:
			opt.f.layout.config = optarg;
			break;
		case OPT_DEPLOYMENT_PATH:
			opt.f.layout.deployment = optarg;
			break;
		case OPT_GITHUB:
			opt.github_arg = optarg;
			break;
		case OPT_LABELS:
			opt.labels_arg = optarg;
			break;
		case OPT_NO_PUSH:
			opt.f.no_push = 1;
			break;
		case OPT_REMOTE:
			opt.remote_arg = optarg;
			break;
		case OPT_VERIFY_WINDOW:
			if (sre_opt_duration("--verify-window", optarg, 0,
			    SRE_DURATION_MAX, &opt.f.window_ms) < 0)
				return EX_USAGE;
			break;
		case 'n':
			opt.f.dry_run = 1;
			break;
		case 'p':
			opt.policy_arg = optarg;
			break;
		case 'r':
			opt.repo_arg = optarg;
			break;
		}
	}
	if ((ex = sre_opt_end(&opt.c, argc, argv, ex, usage)) >= 0)
		return ex;
	if (opt.repo_arg == NULL)
		opt.repo_arg = ".";
	if ((ex = setup()) == EX_OK && (ex = sre_stream_open(&s, &opt.c)) ==
	    EX_OK) {
		opt.s = &s;
		if (opt.f.window_ms > 0)
			s.idle_ms = 1000;
		s.clock = &opt.f.clock;
		ex = sre_stream_events(&s, SRE_STREAM_PASS, on_event, on_idle,
		    NULL);
		sre_info("%llu lines, %llu actions, %llu rejected", s.lines,
		    opt.f.actions, s.rejected);
	}
	sre_store_close(opt.f.st);
	sre_policy_free(opt.f.policy);
	sre_fix_free(&opt.f);
	return ex;
}
