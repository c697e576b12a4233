/* test-catalog: the remediation catalog, table-driven; patches as git
 * reads them; the tags a deployment ran. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog.h"
#include "subproc.h"
#include "tap.h"

#define OK	SRE_CATALOG_OK
#define ACTION	SRE_CATALOG_ACTION
#define TARGET	SRE_CATALOG_TARGET
#define PARAMS	SRE_CATALOG_PARAMS
#define BOUNDS	SRE_CATALOG_BOUNDS
#define ALLOW	SRE_CATALOG_ALLOWLIST

static char tmp[PATH_MAX];

/*
 * Each proposal, judged by its forms alone (lim NULL, as sre-brain and the
 * LLM validator do) and under the built-in limits (as sre-guard and
 * sre-fix do).  The first rows are those lib/brain/rca.c and lib/act/gitops.c once
 * disagreed on.
 */
static const struct {
	const char *json;
	int forms, limits;
	const char *what;
} cases[] = {
	{ "{\"action\":\"scale\",\"target\":\"a\",\"params\":{\"replicas\":3,"
	  "\"delta\":1}}", PARAMS, PARAMS, "scale with replicas and delta" },
	{ "{\"action\":\"config\",\"target\":\"a\",\"params\":{\"key\":"
	  "\"log_level\",\"value\":\"debug\"}}", PARAMS, PARAMS,
	  "a config key in lower case" },
	{ "{\"action\":\"scale\",\"target\":\"a\",\"params\":{\"replicas\":"
	  "5000}}", OK, BOUNDS, "5000 replicas: a form, beyond the limits" },
	{ "{\"action\":\"observe\",\"target\":null,\"params\":{}}", OK, OK,
	  "observe with a null target" },
	{ "{\"action\":\"observe\"}", OK, OK, "observe without a target" },
	/* actions and targets */
	{ "{\"action\":\"restart\",\"target\":\"a\",\"params\":{}}", OK, OK,
	  "restart" },
	{ "{\"action\":\"restart\",\"target\":\"a\"}", OK, OK,
	  "restart without params" },
	{ "{\"action\":\"restart\",\"target\":\"a\",\"params\":null}", OK, OK,
	  "restart with null params" },
	{ "{\"action\":\"restart\",\"target\":null}", TARGET, TARGET,
	  "restart without a target" },
	{ "{\"action\":\"restart\",\"target\":\"a b\"}", TARGET, TARGET,
	  "a target that is not a name" },
	{ "{\"action\":\"restart\",\"target\":\"../etc\"}", TARGET, TARGET,
	  "a target reaching out" },
	{ "{\"action\":\"restart\",\"target\":\"a\\u0000b\"}", TARGET, TARGET,
	  "a target with a NUL" },
	{ "{\"action\":\"restart\",\"target\":3}", TARGET, TARGET,
	  "a target that is a number" },
	{ "{\"action\":\"reboot\",\"target\":\"a\"}", ACTION, ACTION,
	  "not in the catalog" },
	{ "{\"target\":\"a\"}", ACTION, ACTION, "no action" },
	{ "[]", ACTION, ACTION, "not an object" },
	{ "null", ACTION, ACTION, "no proposal" },
	{ "{\"action\":\"restart\",\"target\":\"a\",\"params\":[]}", PARAMS,
	  PARAMS, "params that are a list" },
	{ "{\"action\":\"restart\",\"target\":\"a\",\"params\":{\"now\":1}}",
	  PARAMS, PARAMS, "restart takes no params" },
	{ "{\"action\":\"observe\",\"target\":\"a\",\"params\":{\"x\":1}}",
	  PARAMS, PARAMS, "observe takes no params" },
	/* scale */
	{ "{\"action\":\"scale\",\"target\":\"a\",\"params\":{\"replicas\":3}}",
	  OK, OK, "scale to 3" },
	{ "{\"action\":\"scale\",\"target\":\"a\",\"params\":{\"delta\":2}}",
	  OK, OK, "scale by 2" },
	{ "{\"action\":\"scale\",\"target\":\"a\",\"params\":{\"delta\":-1}}",
	  OK, OK, "scale by -1" },
	{ "{\"action\":\"scale\",\"target\":\"a\",\"params\":{\"delta\":0}}",
	  PARAMS, PARAMS, "scale by 0" },
	{ "{\"action\":\"scale\",\"target\":\"a\",\"params\":{}}", PARAMS,
	  PARAMS, "scale by nothing" },
	{ "{\"action\":\"scale\",\"target\":\"a\",\"params\":{\"replicas\":"
	  "-1}}", PARAMS, PARAMS, "-1 replicas" },
	{ "{\"action\":\"scale\",\"target\":\"a\",\"params\":{\"replicas\":"
	  "1.5}}", PARAMS, PARAMS, "1.5 replicas" },
	{ "{\"action\":\"scale\",\"target\":\"a\",\"params\":{\"replicas\":"
	  "\"3\"}}", PARAMS, PARAMS, "replicas as a string" },
	{ "{\"action\":\"scale\",\"target\":\"a\",\"params\":{\"replicas\":"
	  "1e308}}", PARAMS, PARAMS, "1e308 replicas" },
	{ "{\"action\":\"scale\",\"target\":\"a\",\"params\":{\"replicas\":"
	  "1000000}}", PARAMS, PARAMS, "a million replicas" },
	{ "{\"action\":\"scale\",\"target\":\"a\",\"params\":{\"replicas\":"
	  "0}}", OK, BOUNDS, "to zero" },
	{ "{\"action\":\"scale\",\"target\":\"a\",\"params\":{\"replicas\":"
	  "50}}", OK, OK, "50: the built-in limit itself" },
	{ "{\"action\":\"scale\",\"target\":\"a\",\"params\":{\"replicas\":"
	  "51}}", OK, BOUNDS, "51: above the built-in limit" },
	{ "{\"action\":\"scale\",\"target\":\"a\",\"params\":{\"delta\":"
	  "1.5}}", PARAMS, PARAMS, "half a delta" },
	{ "{\"action\":\"scale\",\"target\":\"a\",\"params\":{\"delta\":"
	  "5000}}", PARAMS, PARAMS, "a delta beyond 1000" },
	/* config */
	{ "{\"action\":\"config\",\"target\":\"a\",\"params\":{\"key\":"
	  "\"DB_POOL_SIZE\",\"value\":\"40\"}}", OK, OK, "DB_POOL_SIZE" },
	{ "{\"action\":\"config\",\"target\":\"a\",\"params\":{\"key\":"
	  "\"DB_HOST\",\"value\":\"attacker.example.net\"}}", OK, ALLOW,
	  "DB_HOST is not on the built-in allowlist" },
	{ "{\"action\":\"config\",\"target\":\"a\",\"params\":{\"key\":"
	  "\"x; rm -rf /\",\"value\":\"40\"}}", PARAMS, PARAMS,
	  "a key that is no name" },
	{ "{\"action\":\"config\",\"target\":\"a\",\"params\":{\"key\":"
	  "\"LOG_LEVEL\"}}", PARAMS, PARAMS, "config without a value" },
	{ "{\"action\":\"config\",\"target\":\"a\",\"params\":{\"value\":"
	  "\"x\"}}", PARAMS, PARAMS, "config without a key" },
	{ "{\"action\":\"config\",\"target\":\"a\",\"params\":{\"key\":"
	  "\"LOG_LEVEL\",\"value\":\"\"}}", OK, OK, "an empty value" },
	{ "{\"action\":\"config\",\"target\":\"a\",\"params\":{\"key\":"
	  "\"LOG_LEVEL\",\"value\":7}}", PARAMS, PARAMS, "a number as value" },
	{ "{\"action\":\"config\",\"target\":\"a\",\"params\":{\"key\":"
	  "\"LOG_LEVEL\",\"value\":\"a\\nb\"}}", PARAMS, PARAMS, "a newline" },
	{ "{\"action\":\"config\",\"target\":\"a\",\"params\":{\"key\":"
	  "\"LOG_LEVEL\",\"value\":\"info\\u0000\\nEVIL=1\"}}", PARAMS, PARAMS,
	  "a NUL, and what C would not see behind it" },
	{ "{\"action\":\"config\",\"target\":\"a\",\"params\":{\"key\":"
	  "\"LOG_LEVEL\",\"value\":\"a\\u000bb\"}}", PARAMS, PARAMS, "\\v" },
	{ "{\"action\":\"config\",\"target\":\"a\",\"params\":{\"key\":"
	  "\"LOG_LEVEL\",\"value\":\"a\\u000cb\"}}", PARAMS, PARAMS, "\\f" },
	{ "{\"action\":\"config\",\"target\":\"a\",\"params\":{\"key\":"
	  "\"LOG_LEVEL\",\"value\":\"a\\tb\"}}", PARAMS, PARAMS, "a tab" },
	{ "{\"action\":\"config\",\"target\":\"a\",\"params\":{\"key\":"
	  "\"LOG_LEVEL\",\"value\":\"a\\u007fb\"}}", PARAMS, PARAMS, "DEL" },
	{ "{\"action\":\"config\",\"target\":\"a\",\"params\":{\"key\":"
	  "\"LOG_LEVEL\",\"value\":\"a\\u0085b\"}}", PARAMS, PARAMS,
	  "C1 (NEL)" },
	{ "{\"action\":\"config\",\"target\":\"a\",\"params\":{\"key\":"
	  "\"LOG_LEVEL\",\"value\":\"a\\u2028b\"}}", PARAMS, PARAMS,
	  "U+2028" },
	{ "{\"action\":\"config\",\"target\":\"a\",\"params\":{\"key\":"
	  "\"LOG_LEVEL\",\"value\":\"a\\u2029b\"}}", PARAMS, PARAMS,
	  "U+2029" },
	{ "{\"action\":\"config\",\"target\":\"a\",\"params\":{\"key\":"
	  "\"LOG_LEVEL\",\"value\":\"a\\u202eb\"}}", PARAMS, PARAMS,
	  "a right-to-left override" },
	{ "{\"action\":\"config\",\"target\":\"a\",\"params\":{\"key\":"
	  "\"LOG_LEVEL\",\"value\":\"caf\\u00e9 \\u2014 ok\"}}", OK, OK,
	  "other text stays" },
	{ "{\"action\":\"config\",\"target\":\"a\",\"params\":{\"key\":"
	  "\"LOG_LEVEL\",\"value\":\"debug\",\"file\":\"x\"}}", PARAMS, PARAMS,
	  "config with a param of its own" },
	/* rollback */
	{ "{\"action\":\"rollback\",\"target\":\"a\",\"params\":{}}", OK, OK,
	  "rollback by revert" },
	{ "{\"action\":\"rollback\",\"target\":\"a\",\"params\":{\"to\":null}}",
	  OK, OK, "rollback to null: by revert" },
	{ "{\"action\":\"rollback\",\"target\":\"a\",\"params\":{\"to\":"
	  "\"1.2.0\"}}", OK, OK, "rollback to a tag" },
	{ "{\"action\":\"rollback\",\"target\":\"a\",\"params\":{\"to\":3}}",
	  PARAMS, PARAMS, "a tag that is a number" },
	{ "{\"action\":\"rollback\",\"target\":\"a\",\"params\":{\"to\":"
	  "\"1.2;rm\"}}", PARAMS, PARAMS, "a strange tag" },
	{ "{\"action\":\"rollback\",\"target\":\"a\",\"params\":{\"to\":"
	  "\"\"}}", PARAMS, PARAMS, "an empty tag" },
	{ "{\"action\":\"rollback\",\"target\":\"a\",\"params\":{\"to\":"
	  "\"1.2\\u0000evil\"}}", PARAMS, PARAMS, "a tag with a NUL" },
	/* patch */
	{ "{\"action\":\"patch\",\"target\":\"a\",\"params\":{\"diff\":"
	  "\"--- a/x\\n+++ b/x\\n\"}}", OK, OK, "a diff (its paths: git's)" },
	{ "{\"action\":\"patch\",\"target\":\"a\",\"params\":{}}", PARAMS,
	  PARAMS, "patch without a diff" },
	{ "{\"action\":\"patch\",\"target\":\"a\",\"params\":{\"diff\":\"\"}}",
	  PARAMS, PARAMS, "an empty diff" },
	{ "{\"action\":\"patch\",\"target\":\"a\",\"params\":{\"diff\":"
	  "\"x\\u0000y\"}}", PARAMS, PARAMS, "a diff with a NUL" },
};

static void
test_table(void)
{
	struct sre_catalog_limits lim;
	char why[512];
	size_t i;

	sre_catalog_limits_default(&lim);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		jv p = jv_parse(cases[i].json);
		int f, g;

		why[0] = '\0';
		f = sre_catalog_check(p, NULL, why, sizeof(why));
		ok(f == cases[i].forms, "%s: forms %s%s%s", cases[i].what,
		    f ? sre_catalog_rule(f) : "pass", f ? ": " : "", why);
		why[0] = '\0';
		g = sre_catalog_check(p, &lim, why, sizeof(why));
		ok(g == cases[i].limits, "%s: limits %s%s%s", cases[i].what,
		    g ? sre_catalog_rule(g) : "pass", g ? ": " : "", why);
		jv_free(p);
	}
}

static void
test_limits(void)
{
	static const char *const keys[] = { "DB_HOST", NULL };
	static const char *const none[] = { NULL };
	struct sre_catalog_limits lim = { 2, 6, keys };
	char why[512];
	jv p;

	p = jv_parse("{\"action\":\"config\",\"target\":\"db\",\"params\":"
	    "{\"key\":\"DB_HOST\",\"value\":\"db.internal\"}}");
	ok(sre_catalog_check(p, &lim, why, sizeof(why)) == OK,
	    "a key on the service's own list");
	lim.config_keys = none;
	ok(sre_catalog_check(p, &lim, why, sizeof(why)) == ALLOW &&
	    strstr(why, "allowed: none") != NULL, "an empty list: %s", why);
	jv_free(p);
	p = jv_parse("{\"action\":\"scale\",\"target\":\"db\",\"params\":"
	    "{\"replicas\":1}}");
	ok(sre_catalog_check(p, &lim, why, sizeof(why)) == BOUNDS &&
	    strcmp(why, "scale db to 1 replicas: below the minimum of 2") == 0,
	    "below the service's minimum: %s", why);
	jv_free(p);
	ok(sre_catalog_replicas_ok(&lim, "db", 7, why, sizeof(why)) < 0 &&
	    strcmp(why, "scale db to 7 replicas: above the limit of 6") == 0,
	    "above the service's maximum: %s", why);
	ok(sre_catalog_replicas_ok(NULL, "db", 0, why, sizeof(why)) < 0 &&
	    strstr(why, "never to zero") != NULL, "never to zero");
	ok(sre_catalog_replicas_ok(NULL, "db", 50, why, sizeof(why)) == 0,
	    "50 within the built-in limits");
	ok(sre_catalog_key_ok("DB_POOL_SIZE") && sre_catalog_key_ok("_X1") &&
	    !sre_catalog_key_ok("1X") && !sre_catalog_key_ok("a") &&
	    !sre_catalog_key_ok(""), "key forms");
	ok(sre_catalog_text_ok("abc", 3) && !sre_catalog_text_ok("a\0b", 3) &&
	    !sre_catalog_text_ok("\xef\xbb\xbfx", 4) &&
	    !sre_catalog_text_ok("a\xe2\x80\x8b", 4) &&
	    sre_catalog_text_ok("\xe2\x80\x94", 3), "text: BOM and zero "
	    "width refused, a dash kept");
}

static int
sh(const char *script)
{
	const char *argv[] = { "sh", "-c", script, NULL };
	struct sre_subproc sp = { .argv = argv, .cwd = tmp };
	struct sre_subproc_result r;
	char err[512];
	int rc;

	rc = sre_subproc_run(&sp, &r, err, sizeof(err)) == 0 ? r.status : -1;
	if (rc != 0)
		printf("# %s: %s%s\n", script, err, r.err ? r.err : "");
	sre_subproc_result_free(&r);
	return rc;
}

static void
patch_is(const char *diff, int want, const char *msg, const char *what)
{
	char why[512] = "";
	int f = sre_catalog_patch_check(tmp, NULL, "a", diff, strlen(diff),
	    why, sizeof(why));

	ok(f == want && (msg == NULL || strstr(why, msg) != NULL), "%s: %s%s",
	    what, f ? sre_catalog_rule(f) : "pass", why);
}

static void
test_patches(void)
{
	patch_is("--- a/services/a/config.env\n+++ b/services/a/config.env\n"
	    "@@ -1 +1 @@\n-A=1\n+A=2\n", OK, NULL, "inside the target");
	patch_is("--- a/services/b/config.env\n+++ b/services/b/config.env\n"
	    "@@ -1 +1 @@\n-A=1\n+A=2\n", SRE_CATALOG_PATCH,
	    "services/b/config.env is outside the directory of a",
	    "another service");
	patch_is("diff --git a/services/a/config.env b/services/a/config.env\n"
	    "similarity index 100%\nrename from services/a/config.env\n"
	    "rename to .github/workflows/evil.yml\n", SRE_CATALOG_PATCH,
	    ".github/workflows/evil.yml is CI configuration",
	    "a rename out through git's headers");
	patch_is("diff --git a/services/a/config.env b/services/a/config.env\n"
	    "similarity index 100%\nrename old services/a/config.env\n"
	    "rename new .github/workflows/evil.yml\n", SRE_CATALOG_PATCH,
	    ".github/workflows/evil.yml is CI configuration",
	    "rename old/new, the older spelling");
	patch_is("diff --git a/services/a/config.env b/services/a/config.env\n"
	    "similarity index 100%\ncopy from services/a/config.env\n"
	    "copy to services/b/config.env\n", SRE_CATALOG_PATCH,
	    "services/b/config.env is outside", "a copy into another service");
	patch_is("diff --git a/services/a/x b/services/a/y\nsimilarity index "
	    "100%\nrename from services/a/x\nrename to services/a/y\n", OK,
	    NULL, "a rename inside the target");
	patch_is("diff --git a/services/b/config.env b/services/b/config.env\n"
	    "deleted file mode 100644\n--- a/services/b/config.env\n"
	    "+++ /dev/null\n@@ -1 +0,0 @@\n-A=1\n", SRE_CATALOG_PATCH,
	    "outside", "deleting another service's file");
	patch_is("diff --git a/services/a/l b/services/a/l\nnew file mode "
	    "120644\n--- /dev/null\n+++ b/services/a/l\n@@ -0,0 +1 @@\n"
	    "+/etc/passwd\n", SRE_CATALOG_PATCH, "mode 120644",
	    "a symlink by mode 120644");
	patch_is("diff --git a/services/a/m b/services/a/m\nnew file mode "
	    "160644\n--- /dev/null\n+++ b/services/a/m\n@@ -0,0 +1 @@\n+x\n",
	    SRE_CATALOG_PATCH, "mode 160644", "a submodule by mode 160644");
	patch_is("diff --git a/services/a/config.env b/services/a/config.env\n"
	    "old mode 100644\nnew mode 120000\n", SRE_CATALOG_PATCH,
	    "mode 120000", "a mode change to a symlink");
	patch_is("diff --git a/services/a/run b/services/a/run\nnew file mode "
	    "100755\n--- /dev/null\n+++ b/services/a/run\n@@ -0,0 +1 @@\n+x\n",
	    OK, NULL, "an executable file");
	patch_is("diff --git a/services/a/x b/services/a/x\nGIT binary patch\n"
	    "literal 1\nIcmZo*0000y00961\n\nliteral 0\nHcmV?d00001\n\n",
	    SRE_CATALOG_PATCH, NULL, "a binary patch");
	patch_is("--- a/services/a/up/x\n+++ b/services/a/up/x\n@@ -0,0 +1 @@"
	    "\n+x\n", SRE_CATALOG_PATCH, "leads out",
	    "through a symlink leading out");
	patch_is("--- a/services/a/../../x\n+++ b/services/a/../../x\n"
	    "@@ -0,0 +1 @@\n+x\n", SRE_CATALOG_PATCH, "outside the repository",
	    "../");
	patch_is("--- \"a/services/a/\\tx\"\n+++ \"b/services/a/\\tx\"\n"
	    "@@ -0,0 +1 @@\n+x\n", SRE_CATALOG_PATCH, "file names are",
	    "a quoted name with a tab");
	patch_is("hello\n", SRE_CATALOG_PATCH, "git apply", "not a patch");
}

static void
test_history(void)
{
	char err[512], why[512];
	jv tags, p;

	if (sh("git init -q -b main . && git config user.email t@t && "
	    "git config user.name t && mkdir -p services/a && "
	    "printf 'spec:\\n  template:\\n    spec:\\n      containers:\\n"
	    "        - name: a\\n          image: r.example/a:1.0.0\\n' > "
	    "services/a/deployment.yaml && git add -A && git commit -qm 1 && "
	    "sed -i 's/1.0.0/1.1.0/' services/a/deployment.yaml && "
	    "git commit -qam 2 && sed -i 's/1.1.0/1.0.0/' "
	    "services/a/deployment.yaml && git commit -qam 3") != 0) {
		ok(0, "a repository with three releases");
		return;
	}
	tags = sre_catalog_deployed(tmp, NULL, "a", err, sizeof(err));
	{
		jv d = jv_dump_string(jv_copy(tags), 0);

		ok(jv_is_valid(d) && strcmp(jv_string_value(d),
		    "[\"1.0.0\",\"1.1.0\"]") == 0, "the tags deployed, newest "
		    "first, once each: %s", jv_string_value(d));
		jv_free(d);
	}
	jv_free(tags);
	p = jv_parse("{\"action\":\"rollback\",\"target\":\"a\",\"params\":"
	    "{\"to\":\"1.1.0\"}}");
	ok(sre_catalog_repo_check(tmp, NULL, p, why, sizeof(why)) == OK,
	    "a rollback to a tag deployed before");
	jv_free(p);
	p = jv_parse("{\"action\":\"rollback\",\"target\":\"a\",\"params\":"
	    "{\"to\":\"6.6.6\"}}");
	ok(sre_catalog_repo_check(tmp, NULL, p, why, sizeof(why)) ==
	    SRE_CATALOG_HISTORY && strstr(why, "never ran it") != NULL &&
	    strstr(why, "1.0.0, 1.1.0") != NULL, "a tag never deployed: %s",
	    why);
	jv_free(p);
	p = jv_parse("{\"action\":\"rollback\",\"target\":\"b\",\"params\":"
	    "{\"to\":\"1.0.0\"}}");
	ok(sre_catalog_repo_check(tmp, NULL, p, why, sizeof(why)) ==
	    SRE_CATALOG_HISTORY && strstr(why, "deployed before: nothing") !=
	    NULL, "another service's tag: %s", why);
	jv_free(p);
	p = jv_parse("{\"action\":\"rollback\",\"target\":\"a\",\"params\":"
	    "{}}");
	ok(sre_catalog_repo_check(tmp, NULL, p, why, sizeof(why)) == OK,
	    "a rollback by revert needs no tag");
	jv_free(p);
	p = jv_parse("{\"action\":\"rollback\",\"target\":\"a\",\"params\":"
	    "{\"to\":\"1.0.0\"}}");
	ok(sre_catalog_repo_check("/nonexistent", NULL, p, why,
	    sizeof(why)) == SRE_CATALOG_HISTORY && strstr(why, "cannot be "
	    "read") != NULL, "no repository, no history: %s", why);
	jv_free(p);
	/* A root below the top of a repository: paths are still the
	 * root's, not prefixed with its subdirectory. */
	{
		char sub[PATH_MAX + 8], why2[512];
		const char *d = "--- a/services/a/config.env\n"
		    "+++ b/services/a/config.env\n@@ -1 +1 @@\n-A=1\n+A=2\n";
		const char *ci = "--- a/.github/x\n+++ b/.github/x\n"
		    "@@ -0,0 +1 @@\n+x\n";

		snprintf(sub, sizeof(sub), "%s/sub", tmp);
		ok(sh("mkdir -p sub/services/a && printf 'A=1\\n' > "
		    "sub/services/a/config.env") == 0 &&
		    sre_catalog_patch_check(sub, NULL, "a", d, strlen(d), why2,
		    sizeof(why2)) == OK, "a root inside a repository: %s",
		    why2);
		ok(sre_catalog_patch_check(sub, NULL, "a", ci, strlen(ci), why2,
		    sizeof(why2)) == SRE_CATALOG_PATCH && strstr(why2,
		    ".github/x is CI") != NULL, "and its paths are its own: %s",
		    why2);
		sh("rm -rf sub");
	}
	/* What git staged, judged after the patch is applied. */
	ok(sh("ln -s /etc/passwd services/a/l && git add services/a/l") == 0 && sre_catalog_staged_check(tmp, NULL,
	    "a", why, sizeof(why)) == SRE_CATALOG_PATCH && strstr(why,
	    "mode 120000") != NULL, "a staged symlink: %s", why);
	ok(sh("git rm -q --cached services/a/l && rm services/a/l && "
	    "printf 'A=2\\n' > services/a/config.env && git add -A") == 0 &&
	    sre_catalog_staged_check(tmp, NULL, "a", why, sizeof(why)) == OK,
	    "a staged edit of the target's file");
}

/* What each action needs, and what counts as process state. */
static void
test_evidence(void)
{
	char why[256];

	ok(sre_catalog_evidence_needed("rollback") == SRE_EV_RELEASE &&
	    sre_catalog_evidence_needed("scale") == SRE_EV_LOAD &&
	    sre_catalog_evidence_needed("config") == SRE_EV_RESOURCE &&
	    sre_catalog_evidence_needed("restart") == SRE_EV_PROCESS &&
	    sre_catalog_evidence_needed("observe") == 0 &&
	    sre_catalog_evidence_needed("nope") == 0,
	    "each action's evidence");
	ok(sre_catalog_evidence_ok("restart", SRE_EV_LOAD, why,
	    sizeof(why)) == 0 && strcmp(why, "restart needs a process state "
	    "a restart clears (memory growth, a stuck worker, a crash loop): "
	    "none in the evidence") == 0, "a restart without it: %s", why);
	ok(sre_catalog_evidence_ok("restart", SRE_EV_PROCESS | SRE_EV_LOAD,
	    NULL, 0) == 1 && sre_catalog_evidence_ok("observe", 0, NULL, 0) ==
	    1, "with it; observe needs none");
	ok(sre_catalog_evidence_of_text("unhandled error: "
	    "java.lang.OutOfMemoryError: Java heap space") == SRE_EV_PROCESS &&
	    sre_catalog_evidence_of_text("watchdog: worker w-3 stuck for 40 s")
	    == SRE_EV_PROCESS && sre_catalog_evidence_of_text("Back-off "
	    "restarting failed container") == SRE_EV_PROCESS,
	    "memory, stuck workers, a crash loop in messages");
	ok(sre_catalog_evidence_of_text("timed out after 3000 ms waiting for "
	    "a worker thread") == 0 && sre_catalog_evidence_of_text("GC pause "
	    "(G1 Evacuation Pause) 120 ms, heap 80% used") == 0 &&
	    sre_catalog_evidence_of_text("OOM command not allowed when used "
	    "memory > 'maxmemory'") == 0 &&
	    sre_catalog_evidence_of_text(NULL) == 0,
	    "a worker timing out, a GC pause, a full cache are not");
	ok(sre_catalog_evidence_of_metric("process.memory.usage", 1.6e9,
	    0.9e9) == SRE_EV_PROCESS && sre_catalog_evidence_of_metric(
	    "process.memory.usage", 1.0e9, 0.9e9) == 0 &&
	    sre_catalog_evidence_of_metric("process.cpu.utilization", 0.9,
	    0.2) == 0 && sre_catalog_evidence_of_metric(NULL, 2, 1) == 0 &&
	    sre_catalog_evidence_of_metric("container_memory_rss", 2, 0) == 0,
	    "memory growth by its metric, 1.3 times the baseline");
}

int
main(void)
{
	char path[PATH_MAX + 64];

	test_table();
	test_evidence();
	test_limits();
	snprintf(tmp, sizeof(tmp), "/tmp/test-catalog.XXXXXX");
	if (mkdtemp(tmp) == NULL) {
		ok(0, "mkdtemp");
		return tap_done();
	}
	if (sh("mkdir -p services/a services/b out && printf 'A=1\\n' > "
	    "services/a/config.env && printf 'A=1\\n' > services/b/config.env "
	    "&& ln -s / services/a/up") == 0)
		test_patches();
	else
		ok(0, "a scratch tree");
	test_history();
	snprintf(path, sizeof(path), "rm -rf '%s'", tmp);
	sh(path);
	return tap_done();
}
