/* test-gitops: safe paths, the tree, children, URLs (the catalog and
 * patches: test-catalog). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "github.h"
#include "gitops.h"
#include "http.h"
#include "subproc.h"
#include "tap.h"

static char err[1024], tmp[PATH_MAX];

static void
put(const char *rel, const char *text)
{
	char p[PATH_MAX + 256];
	FILE *fp;

	snprintf(p, sizeof(p), "%s/%s", tmp, rel);
	if ((fp = fopen(p, "w")) != NULL) {
		fputs(text, fp);
		fclose(fp);
	}
}

static void
dir(const char *rel)
{
	char p[PATH_MAX + 256];

	snprintf(p, sizeof(p), "%s/%s", tmp, rel);
	mkdir(p, 0755);
}

static void
test_relpath(void)
{
	static const char *const bad[] = {
		"", "/etc/passwd", "../x", "a/../../x", "a//b", "./a", "a/.",
		".git/config", "services/x/.GIT/hooks", "a/..", NULL
	};
	const char *const *b;
	int all = 1;

	for (b = bad; *b != NULL; b++)
		if (sre_gitops_relpath_ok(*b, err, sizeof(err)) == 0) {
			printf("# accepted: %s\n", *b);
			all = 0;
		}
	ok(all, "unclean paths are refused");
	ok(sre_gitops_relpath_ok("services/a/deployment.yaml", err,
	    sizeof(err)) == 0 && sre_gitops_relpath_ok("a/.gitx/..b", err,
	    sizeof(err)) == 0, "clean paths pass");
	ok(sre_gitops_path_sensitive(".github/workflows/x.yml") != NULL &&
	    sre_gitops_path_sensitive("services/a/.gitlab-ci.yml") != NULL &&
	    sre_gitops_path_sensitive("Jenkinsfile") != NULL,
	    "CI configuration is sensitive");
	ok(sre_gitops_path_sensitive("services/a/secret.yaml") != NULL &&
	    sre_gitops_path_sensitive("services/a/tls.key") != NULL &&
	    sre_gitops_path_sensitive("services/a/.env") != NULL &&
	    sre_gitops_path_sensitive("services/a/id_rsa") != NULL &&
	    sre_gitops_path_sensitive(".gitmodules") != NULL,
	    "secret-looking names and git metadata are sensitive");
	ok(sre_gitops_path_sensitive("services/a/config.env") == NULL &&
	    sre_gitops_path_sensitive("services/a/deployment.yaml") == NULL,
	    "the layout's files are not");
}

static void
test_layout(void)
{
	struct sre_gitops_layout l = { NULL, NULL };
	struct sre_gitops_layout bad = { "services/x{service}/d.yaml", NULL };
	struct sre_gitops_layout two = { "{service}/{service}.yaml", NULL };
	struct sre_gitops_layout up = { "../{service}/d.yaml", NULL };
	char p[256];

	ok(sre_gitops_layout_check(&l, err, sizeof(err)) == 0,
	    "the default layout");
	ok(sre_gitops_layout_check(&bad, err, sizeof(err)) < 0 &&
	    sre_gitops_layout_check(&two, err, sizeof(err)) < 0 &&
	    sre_gitops_layout_check(&up, err, sizeof(err)) < 0,
	    "{service} must be one whole directory, inside");
	ok(sre_gitops_path(&l, 'd', "quote-api", p, sizeof(p)) == 0 &&
	    strcmp(p, "services/quote-api/deployment.yaml") == 0,
	    "deployment path");
	ok(sre_gitops_path(&l, 's', "quote-api", p, sizeof(p)) == 0 &&
	    strcmp(p, "services/quote-api") == 0, "service directory");
	ok(sre_gitops_path(&l, 'c', "../x", p, sizeof(p)) < 0,
	    "no path for a bad service name");
	ok(sre_gitops_service_ok("a.b_c-1") && !sre_gitops_service_ok("-a") &&
	    !sre_gitops_service_ok("a..b") && !sre_gitops_service_ok("a/b"),
	    "service names");
	ok(sre_gitops_ref_ok("01HF7YAT00QE34KCHWWGSR3TZT") &&
	    !sre_gitops_ref_ok("a..b") && !sre_gitops_ref_ok("-x") &&
	    !sre_gitops_ref_ok("x.lock") && !sre_gitops_ref_ok("a b") &&
	    !sre_gitops_ref_ok("a/b"), "branch name parts");
}

static void
test_tree(void)
{
	struct sre_gitops_layout l = { NULL, NULL };
	char out[PATH_MAX + 256], outside[PATH_MAX + 64], *text;
	size_t len;
	jv s;

	snprintf(tmp, sizeof(tmp), "/tmp/test-gitops.XXXXXX");
	if (mkdtemp(tmp) == NULL) {
		ok(0, "mkdtemp");
		return;
	}
	dir("repo");
	dir("repo/services");
	dir("repo/services/a");
	dir("repo/services/b");
	dir("repo/services/empty");
	dir("repo/services/-bad");
	dir("out");
	put("repo/services/a/deployment.yaml", "spec:\n  replicas: 3\n");
	put("repo/services/b/config.env", "A=1\n");
	put("repo/services/-bad/config.env", "A=1\n");
	put("out/deployment.yaml", "spec:\n  replicas: 9\n");
	snprintf(outside, sizeof(outside), "%s/out", tmp);
	snprintf(out, sizeof(out), "%s/repo/services/link", tmp);
	if (symlink(outside, out) < 0)
		perror("symlink");
	snprintf(out, sizeof(out), "%s/repo/services/b/up.env", tmp);
	if (symlink("../../../out/deployment.yaml", out) < 0)
		perror("symlink");
	snprintf(out, sizeof(out), "%s/repo/services/b/in.env", tmp);
	if (symlink("config.env", out) < 0)
		perror("symlink");
	snprintf(out, sizeof(out), "%s/repo", tmp);

	s = sre_gitops_services(out, &l, err, sizeof(err));
	{
		jv d = jv_dump_string(jv_copy(s), 0);

		ok(strcmp(jv_string_value(d), "[\"a\",\"b\"]") == 0,
		    "services: directories with a file of the layout, no "
		    "symlinks: %s", jv_string_value(d));
		jv_free(d);
	}
	{
		long n = 0;

		ok(sre_gitops_replicas(out, &l, "a", &n, err, sizeof(err)) == 1 &&
		    n == 3, "replicas read from the deployment");
		ok(sre_gitops_replicas(out, &l, "b", &n, err, sizeof(err)) == 0,
		    "no deployment: 0");
	}
	{
		char res[PATH_MAX + 256], repo[PATH_MAX + 256];

		snprintf(repo, sizeof(repo), "%s", out);
		ok(sre_gitops_resolve(repo, "services/link/deployment.yaml", res,
		    sizeof(res), err, sizeof(err)) < 0 &&
		    strstr(err, "leads out") != NULL,
		    "a symlinked directory leading out is refused");
		ok(sre_gitops_resolve(repo, "services/b/up.env", res,
		    sizeof(res), err, sizeof(err)) < 0,
		    "a symlinked file leading out is refused");
		ok(sre_gitops_resolve(repo, "services/b/in.env", res,
		    sizeof(res), err, sizeof(err)) == 0,
		    "a symlink that stays inside resolves");
		ok(sre_gitops_resolve(repo, "services/new/dir/f", res,
		    sizeof(res), err, sizeof(err)) == 0 &&
		    strstr(res, "/repo/services/new/dir/f") != NULL,
		    "a path that does not exist yet resolves under the root");
		ok(sre_gitops_read(repo, "services/b/in.env", &text, &len, err,
		    sizeof(err)) < 0, "read refuses to follow a symlink");
		ok(sre_gitops_write(repo, "services/b/in.env", "X", 1, err,
		    sizeof(err)) < 0, "write refuses a symlink in place");
		ok(sre_gitops_write(repo, "services/a/deployment.yaml",
		    "spec:\n  replicas: 4\n", 20, err, sizeof(err)) == 0 &&
		    sre_gitops_read(repo, "services/a/deployment.yaml", &text,
		    &len, err, sizeof(err)) == 1 && len == 20 &&
		    strstr(text, "replicas: 4") != NULL, "write, read back");
		free(text);
		ok(sre_gitops_read(repo, "services/a/none", &text, &len, err,
		    sizeof(err)) == 0, "read of a missing file is 0");
	}
	jv_free(s);
	{
		/* Clean up the scratch tree. */
		const char *argv[] = { "rm", "-rf", tmp, NULL };
		struct sre_subproc sp = { .argv = argv };
		struct sre_subproc_result r;

		sre_subproc_run(&sp, &r, err, sizeof(err));
		sre_subproc_result_free(&r);
	}
}

static void
test_subproc(void)
{
	const char *argv[] = { "sh", "-c", "cat; echo \"$SRE_T:$HOME_X\" >&2; "
	    "pwd; exit 3", NULL };
	const char *set[] = { "SRE_T=yes", NULL };
	const char *unset[] = { "HOME_X", NULL };
	struct sre_subproc sp = { .argv = argv, .cwd = "/", .env_set = set,
	    .env_unset = unset, .in = "input\n", .inlen = 6 };
	struct sre_subproc_result r;
	char line[64];

	setenv("HOME_X", "leak", 1);
	ok(sre_subproc_run(&sp, &r, err, sizeof(err)) == 0 &&
	    strcmp(r.out, "input\n/\n") == 0 && strcmp(r.err, "yes:\n") == 0 &&
	    r.status == 3, "stdin, stdout, stderr, cwd, env and status");
	sre_subproc_result_free(&r);
	{
		const char *slow[] = { "sleep", "5", NULL };
		struct sre_subproc s2 = { .argv = slow, .timeout_ms = 100 };

		ok(sre_subproc_run(&s2, &r, err, sizeof(err)) == 0 &&
		    r.timed_out && r.status == 128 + 9, "a time limit kills");
		sre_subproc_result_free(&r);
	}
	{
		const char *none[] = { "/nonexistent/program", NULL };
		struct sre_subproc s3 = { .argv = none };

		ok(sre_subproc_run(&s3, &r, err, sizeof(err)) < 0 &&
		    strstr(err, "/nonexistent/program") != NULL,
		    "a program that cannot start: %s", err);
		sre_subproc_result_free(&r);
	}
	{
		/* A shell never sees argv: metacharacters stay bytes. */
		const char *echo[] = { "printf", "%s", "$(touch /tmp/x);`id`",
		    NULL };
		struct sre_subproc s4 = { .argv = echo };

		ok(sre_subproc_run(&s4, &r, err, sizeof(err)) == 0 &&
		    strcmp(r.out, "$(touch /tmp/x);`id`") == 0,
		    "arguments are not interpreted");
		sre_subproc_result_free(&r);
	}
	ok(strcmp(sre_subproc_firstline("\n  one \r\ntwo", line,
	    sizeof(line)), "one") == 0, "first line");
}

static void
test_urls(void)
{
	struct sre_github g;
	char b[256];

	memset(&g, 0, sizeof(g));
	ok(sre_github_repo(&g, "acme/gitops", NULL) == 0 &&
	    strcmp(g.owner, "acme") == 0 && strcmp(g.repo, "gitops") == 0,
	    "OWNER/REPO");
	ok(sre_github_repo(&g, "https://github.com/o/r.git", NULL) == 0 &&
	    strcmp(g.repo, "r") == 0, "an https remote");
	ok(sre_github_repo(&g, "git@github.com:o2/r2.git", NULL) == 0 &&
	    strcmp(g.owner, "o2") == 0, "an ssh remote");
	ok(sre_github_repo(&g, "https://x:tok@github.com/o3/r3", NULL) == 0 &&
	    strcmp(g.owner, "o3") == 0, "user info is skipped");
	ok(sre_github_repo(&g, "https://gitlab.com/o/r", NULL) < 0 &&
	    sre_github_repo(&g, "/srv/git/r.git", NULL) < 0 &&
	    sre_github_repo(&g, "o/../r", NULL) < 0, "not GitHub");
	ok(sre_github_repo(&g, "https://ghe.example/o/r", "ghe.example") == 0,
	    "an Enterprise host");
	ok(strcmp(sre_http_redact("https://u:p@hooks.example:8443/T/B/XYZ?t=1",
	    b, sizeof(b)), "https://hooks.example:8443") == 0,
	    "redact: only scheme, host, port");
	ok(sre_http_header_ok("abc") && !sre_http_header_ok("a\r\nX: y"),
	    "header values");
}

int
main(void)
{
	test_relpath();
	test_layout();
	test_tree();
	test_subproc();
	test_urls();
	return tap_done();
}
