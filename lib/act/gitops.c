/* gitops.c: the GitOps repository: layout, safe paths, patches, git. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bsd/string.h>

#include "catalog.h"
#include "envset.h"
#include "event.h"
#include "evtime.h"
#include "file.h"
#include "gitops.h"
#include "yamlset.h"

#define FILE_MAX	(8u * 1024 * 1024)
#define PLACEHOLDER	"{service}"

static const char *
tmpl_of(const struct sre_gitops_layout *l, int which)
{
	if (which == 'd')
		return l && l->deployment ? l->deployment :
		    SRE_GITOPS_DEPLOYMENT;
	return l && l->config ? l->config : SRE_GITOPS_CONFIG;
}

int
sre_gitops_service_ok(const char *name)
{
	const char *p;

	if (name == NULL || !isalnum((unsigned char)*name) ||
	    strlen(name) > 63)
		return 0;
	for (p = name; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && strchr("._-", *p) == NULL)
			return 0;
	return strstr(name, "..") == NULL;
}

int
sre_gitops_relpath_ok(const char *rel, char *why, size_t whylen)
{
	const char *p = rel, *e;
	size_t n;

	if (rel == NULL || *rel == '\0') {
		snprintf(why, whylen, "an empty path");
		return -1;
	}
	if (*rel == '/') {
		snprintf(why, whylen, "%.200s is an absolute path", rel);
		return -1;
	}
	for (;;) {
		e = strchr(p, '/');
		n = e ? (size_t)(e - p) : strlen(p);
		if (n == 0 || (n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.')) {
			snprintf(why, whylen, "%.200s reaches outside the "
			    "repository", rel);
			return -1;
		}
		if (n == 4 && strncasecmp(p, ".git", 4) == 0) {
			snprintf(why, whylen, "%.200s is inside .git", rel);
			return -1;
		}
		if (e == NULL)
			break;
		p = e + 1;
	}
	return 0;
}

/* Does the template hold {service} as exactly one whole component? */
static int
tmpl_ok(const char *t)
{
	const char *s = strstr(t, PLACEHOLDER);
	char probe[SRE_GITOPS_PATH_MAX], why[64];

	if (s == NULL || strstr(s + 1, PLACEHOLDER) != NULL)
		return 0;
	if ((s != t && s[-1] != '/') || s[strlen(PLACEHOLDER)] != '/')
		return 0;
	if (snprintf(probe, sizeof(probe), "%.*sx%s", (int)(s - t), t,
	    s + strlen(PLACEHOLDER)) >= (int)sizeof(probe))
		return 0;
	return sre_gitops_relpath_ok(probe, why, sizeof(why)) == 0;
}

int
sre_gitops_layout_check(const struct sre_gitops_layout *l, char *err,
    size_t errlen)
{
	if (!tmpl_ok(tmpl_of(l, 'd'))) {
		snprintf(err, errlen, "bad deployment path template '%s': it "
		    "needs {service} as one directory", tmpl_of(l, 'd'));
		return -1;
	}
	if (!tmpl_ok(tmpl_of(l, 'c'))) {
		snprintf(err, errlen, "bad config path template '%s': it "
		    "needs {service} as one directory", tmpl_of(l, 'c'));
		return -1;
	}
	return 0;
}

int
sre_gitops_path(const struct sre_gitops_layout *l, int which,
    const char *service, char *out, size_t outlen)
{
	const char *t = tmpl_of(l, which == 'c' ? 'c' : 'd');
	const char *s = strstr(t, PLACEHOLDER);
	int n;

	if (s == NULL || !sre_gitops_service_ok(service))
		return -1;
	if (which == 's')
		n = snprintf(out, outlen, "%.*s%s", (int)(s - t), t, service);
	else
		n = snprintf(out, outlen, "%.*s%s%s", (int)(s - t), t,
		    service, s + strlen(PLACEHOLDER));
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
is_regular(const char *root, const char *rel)
{
	char path[SRE_GITOPS_PATH_MAX];
	struct stat st;

	if (snprintf(path, sizeof(path), "%s/%s", root, rel) >=
	    (int)sizeof(path))
		return 0;
	return lstat(path, &st) == 0 && S_ISREG(st.st_mode);
}

jv
sre_gitops_services(const char *root, const struct sre_gitops_layout *l,
    char *err, size_t errlen)
{
	const char *t = tmpl_of(l, 'd'), *s = strstr(t, PLACEHOLDER);
	char dir[SRE_GITOPS_PATH_MAX], rel[SRE_GITOPS_PATH_MAX];
	char **names = NULL;
	size_t n = 0, cap = 0, i;
	struct dirent *de;
	DIR *d;
	jv out;

	if (s == NULL || snprintf(dir, sizeof(dir), "%s/%.*s", root,
	    (int)(s - t), t) >= (int)sizeof(dir)) {
		snprintf(err, errlen, "bad layout");
		return jv_invalid();
	}
	if ((d = opendir(dir)) == NULL) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return jv_invalid();
	}
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		char p[SRE_GITOPS_PATH_MAX];

		if (!sre_gitops_service_ok(de->d_name))
			continue;
		if (snprintf(p, sizeof(p), "%s%s", dir, de->d_name) >=
		    (int)sizeof(p) || lstat(p, &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		if (!((sre_gitops_path(l, 'd', de->d_name, rel,
		    sizeof(rel)) == 0 && is_regular(root, rel)) ||
		    (sre_gitops_path(l, 'c', de->d_name, rel,
		    sizeof(rel)) == 0 && is_regular(root, rel))))
			continue;
		if (n == cap) {
			char **nn = reallocarray(names, cap ? cap * 2 : 16,
			    sizeof(*nn));

			if (nn == NULL)
				break;
			names = nn;
			cap = cap ? cap * 2 : 16;
		}
		if ((names[n] = strdup(de->d_name)) != NULL)
			n++;
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof(*names), cmp_str);
	out = jv_array();
	for (i = 0; i < n; i++) {
		out = jv_array_append(out, jv_string(names[i]));
		free(names[i]);
	}
	free(names);
	return out;
}

/* ---- paths --------------------------------------------------------- */

static int
under(const char *path, const char *root)
{
	size_t n = strlen(root);

	if (strcmp(root, "/") == 0)
		return 1;
	return strncmp(path, root, n) == 0 &&
	    (path[n] == '\0' || path[n] == '/');
}

int
sre_gitops_resolve(const char *root, const char *rel, char *out,
    size_t outlen, char *err, size_t errlen)
{
	char rroot[PATH_MAX], full[SRE_GITOPS_PATH_MAX], real[PATH_MAX];
	char why[256];
	const char *base;
	struct stat st;
	size_t cut, dirlen;

	if (sre_gitops_relpath_ok(rel, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s", why);
		return -1;
	}
	if (realpath(root, rroot) == NULL) {
		snprintf(err, errlen, "%s: %s", root, strerror(errno));
		return -1;
	}
	if (snprintf(full, sizeof(full), "%s/%s", rroot, rel) >=
	    (int)sizeof(full)) {
		snprintf(err, errlen, "%.200s: path too long", rel);
		return -1;
	}
	/* The directory: its longest existing prefix, resolved, must stay
	 * under the root. */
	base = strrchr(full, '/') + 1;
	dirlen = (size_t)(base - full - 1);
	cut = dirlen;
	for (;;) {
		char save = full[cut];

		full[cut] = '\0';
		if (lstat(full, &st) == 0) {
			if (realpath(full, real) == NULL) {
				snprintf(err, errlen, "%.200s: %s", rel,
				    strerror(errno));
				return -1;
			}
			full[cut] = save;
			break;
		}
		full[cut] = save;
		if (cut == 0) {
			snprintf(err, errlen, "%s: %s", root, strerror(errno));
			return -1;
		}
		while (cut > 0 && full[cut - 1] != '/')
			cut--;
		if (cut > 0)
			cut--;
	}
	if (!under(real, rroot))
		goto out_of_root;
	if (snprintf(out, outlen, "%s%s", real, full + cut) >= (int)outlen) {
		snprintf(err, errlen, "%.200s: path too long", rel);
		return -1;
	}
	/* The last name is left as it is (readers and writers refuse a
	 * symlink there), but one leading out is named as such. */
	if (lstat(out, &st) == 0 && S_ISLNK(st.st_mode) &&
	    (realpath(out, real) == NULL || !under(real, rroot)))
		goto out_of_root;
	return 0;
out_of_root:
	snprintf(err, errlen, "%.200s leads out of the repository through a "
	    "symbolic link", rel);
	return -1;
}

int
sre_gitops_read(const char *root, const char *rel, char **text,
    size_t *len, char *err, size_t errlen)
{
	char path[SRE_GITOPS_PATH_MAX];
	struct stat st;
	ssize_t got;
	size_t n = 0;
	char *buf;
	int fd;

	*text = NULL;
	*len = 0;
	if (sre_gitops_resolve(root, rel, path, sizeof(path), err, errlen) < 0)
		return -1;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", rel, errno == ELOOP ?
		    "a symbolic link" : strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (size_t)st.st_size > FILE_MAX) {
		snprintf(err, errlen, "%s: not a regular file of at most "
		    "8 MiB", rel);
		close(fd);
		return -1;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		close(fd);
		return -1;
	}
	while (n < (size_t)st.st_size &&
	    (got = read(fd, buf + n, (size_t)st.st_size - n)) != 0) {
		if (got < 0) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "%s: %s", rel, strerror(errno));
			free(buf);
			close(fd);
			return -1;
		}
		n += (size_t)got;
	}
	close(fd);
	buf[n] = '\0';
	*text = buf;
	*len = n;
	return 1;
}

int
sre_gitops_write(const char *root, const char *rel, const char *text,
    size_t len, char *err, size_t errlen)
{
	char path[SRE_GITOPS_PATH_MAX];
	mode_t mode = 0644;
	struct stat st;

	if (sre_gitops_resolve(root, rel, path, sizeof(path), err, errlen) < 0)
		return -1;
	if (lstat(path, &st) == 0) {
		if (!S_ISREG(st.st_mode)) {
			snprintf(err, errlen, "%s: not a regular file", rel);
			return -1;
		}
		mode = st.st_mode & 07777;
	}
	if (sre_file_replace(path, text, len, mode) < 0) {
		snprintf(err, errlen, "%s: %s", rel, strerror(errno));
		return -1;
	}
	return 0;
}

/* ---- sensitive names ----------------------------------------------- */

static int
contains_ci(const char *hay, const char *needle)
{
	return strcasestr(hay, needle) != NULL;
}

const char *
sre_gitops_path_sensitive(const char *rel)
{
	static const char *const ci_first[] = {
		".github", ".gitlab", ".circleci", ".buildkite", ".woodpecker",
		".drone.yml", ".gitlab-ci.yml", ".travis.yml", ".woodpecker.yml",
		"jenkinsfile", "azure-pipelines.yml", "bitbucket-pipelines.yml",
		"appveyor.yml", ".appveyor.yml", "cloudbuild.yaml",
		"cloudbuild.yml", ".ci", NULL
	};
	static const char *const secret[] = {
		"secret", "credential", "password", "passwd", "token",
		"private", "id_rsa", "id_dsa", "id_ecdsa", "id_ed25519",
		"kubeconfig", ".pem", ".key", ".p12", ".pfx", ".jks",
		".keystore", ".netrc", ".npmrc", ".pypirc", ".ssh", ".gnupg",
		".kube", ".aws", ".docker", NULL
	};
	const char *base = strrchr(rel, '/'), *p;
	const char *const *w;
	size_t n;

	base = base ? base + 1 : rel;
	/* Each component, for CI directories anywhere. */
	for (p = rel; *p != '\0'; p += n + (p[n] == '/')) {
		n = strcspn(p, "/");
		for (w = ci_first; *w != NULL; w++)
			if (strlen(*w) == n && strncasecmp(p, *w, n) == 0)
				return "CI configuration";
	}
	if (strncasecmp(base, ".git", 4) == 0)
		return "git metadata";
	if (strcasecmp(base, ".env") == 0 || strncasecmp(base, ".env.", 5) == 0)
		return "a secret-looking name";
	for (w = secret; *w != NULL; w++)
		if (contains_ci(rel, *w))
			return "a secret-looking name";
	return NULL;
}

/* An integral number member: 1 and *v, 0 when missing, -1 otherwise. */
static int
int_member(jv obj, const char *key, long *v)
{
	jv m;
	double d;

	if (jv_get_kind(obj) != JV_KIND_OBJECT)
		return 0;
	m = jv_object_get(jv_copy(obj), jv_string(key));
	if (jv_get_kind(m) == JV_KIND_INVALID || jv_get_kind(m) == JV_KIND_NULL) {
		jv_free(m);
		return 0;
	}
	if (jv_get_kind(m) != JV_KIND_NUMBER) {
		jv_free(m);
		return -1;
	}
	d = jv_number_value(m);
	jv_free(m);
	if (d != (double)(long)d || d < -1e6 || d > 1e6)
		return -1;
	*v = (long)d;
	return 1;
}

static int
parse_long(const char *s, long *v)
{
	char *end;

	errno = 0;
	*v = strtol(s, &end, 10);
	return errno == 0 && end != s && *end == '\0' ? 0 : -1;
}

int
sre_gitops_replicas(const char *root, const struct sre_gitops_layout *l,
    const char *service, long *n, char *err, size_t errlen)
{
	char rel[SRE_GITOPS_PATH_MAX], *text, *v;
	size_t len;
	int rc;

	if (sre_gitops_path(l, 'd', service, rel, sizeof(rel)) < 0) {
		snprintf(err, errlen, "bad service name");
		return -1;
	}
	if ((rc = sre_gitops_read(root, rel, &text, &len, err, errlen)) <= 0)
		return rc;
	rc = sre_yaml_get(text, len, "spec.replicas", &v, err, errlen);
	free(text);
	if (rc == 1) {
		if (parse_long(v, n) < 0) {
			snprintf(err, errlen, "%s: spec.replicas is not a "
			    "number", rel);
			rc = -1;
		}
		free(v);
	}
	return rc;
}

/* ---- git ----------------------------------------------------------- */

int
sre_git(const char *dir, const char *const *args, const char *const *env,
    const char *input, size_t inlen, struct sre_subproc_result *r,
    char *err, size_t errlen)
{
	static const char *const unset[] = {
		"GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE",
		"GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES",
		"GIT_COMMON_DIR", "GIT_NAMESPACE", "GIT_PREFIX", NULL
	};
	const char *argv[64], *envv[32];
	struct sre_subproc sp;
	char line[512];
	int a = 0, e = 0, i;

	argv[a++] = "git";
	argv[a++] = "-C";
	argv[a++] = dir;
	argv[a++] = "-c";
	argv[a++] = "core.hooksPath=/dev/null";
	argv[a++] = "-c";
	argv[a++] = "protocol.ext.allow=never";
	argv[a++] = "-c";
	argv[a++] = "gc.auto=0";	/* no gc under another's worktree */
	for (i = 0; args[i] != NULL; i++) {
		if (a == (int)(sizeof(argv) / sizeof(argv[0])) - 1) {
			snprintf(err, errlen, "too many git arguments");
			memset(r, 0, sizeof(*r));
			return -1;
		}
		argv[a++] = args[i];
	}
	argv[a] = NULL;
	envv[e++] = "GIT_TERMINAL_PROMPT=0";
	envv[e++] = "LC_ALL=C";
	envv[e++] = "GIT_PAGER=cat";
	envv[e++] = "GIT_ASKPASS=/bin/false";
	envv[e++] = "SSH_ASKPASS=/bin/false";
	for (i = 0; env != NULL && env[i] != NULL && e < 31; i++)
		envv[e++] = env[i];
	envv[e] = NULL;
	memset(&sp, 0, sizeof(sp));
	sp.argv = argv;
	sp.env_set = envv;
	sp.env_unset = unset;
	sp.in = input;
	sp.inlen = inlen;
	sp.timeout_ms = 300000;
	if (sre_subproc_run(&sp, r, err, errlen) < 0)
		return -1;
	if (r->status != 0) {
		sre_subproc_firstline(r->err, line, sizeof(line));
		if (r->timed_out)
			snprintf(err, errlen, "git %s: timed out", args[0]);
		else if (line[0] == '\0')
			snprintf(err, errlen, "git %s exited %d", args[0],
			    r->status);
		else
			snprintf(err, errlen, "git %s: %s", args[0], line);
		return 1;
	}
	return 0;
}

int
sre_git_line(const char *dir, const char *const *args, char *out,
    size_t outlen, char *err, size_t errlen)
{
	struct sre_subproc_result r;
	int rc = sre_git(dir, args, NULL, NULL, 0, &r, err, errlen);

	if (rc == 0)
		sre_subproc_firstline(r.out, out, outlen);
	else if (outlen > 0)
		out[0] = '\0';
	sre_subproc_result_free(&r);
	return rc;
}

int
sre_gitops_ref_ok(const char *s)
{
	const char *p;
	size_t n;

	if (s == NULL || *s == '\0' || *s == '.' || *s == '-' ||
	    (n = strlen(s)) > 100 || strstr(s, "..") != NULL ||
	    (n >= 5 && strcmp(s + n - 5, ".lock") == 0))
		return 0;
	for (p = s; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && strchr("._-", *p) == NULL)
			return 0;
	return 1;
}

/* ---- carrying out a proposal -------------------------------------- */

static int
edit_file(const char *wt, const char *rel, char *text, size_t len,
    char *out, size_t outlen, struct sre_gitops_edit *e, char *err,
    size_t errlen)
{
	const char *add[] = { "add", "--", rel, NULL };
	struct sre_subproc_result r;
	int rc;

	(void)text;
	(void)len;
	if (sre_gitops_write(wt, rel, out, outlen, err, errlen) < 0)
		return -1;
	rc = sre_git(wt, add, NULL, NULL, 0, &r, err, errlen);
	sre_subproc_result_free(&r);
	if (rc != 0)
		return -1;
	snprintf(e->files, sizeof(e->files), "%s", rel);
	return 0;
}

static int
apply_scale(const char *wt, const char *svc, jv params,
    const struct sre_gitops_layout *l, const struct sre_catalog_limits *lim,
    struct sre_gitops_edit *e, char *err, size_t errlen)
{
	char rel[SRE_GITOPS_PATH_MAX], num[32], *text = NULL, *out = NULL;
	char *cur = NULL;
	long now = 1, want, v;
	size_t len, outlen;
	int rc = -1, got;

	if (sre_gitops_path(l, 'd', svc, rel, sizeof(rel)) < 0 ||
	    (got = sre_gitops_read(wt, rel, &text, &len, err, errlen)) < 0)
		return -1;
	if (got == 0) {
		snprintf(err, errlen, "%s: no such file", rel);
		return -1;
	}
	if ((got = sre_yaml_get(text, len, "spec.replicas", &cur, err,
	    errlen)) < 0)
		goto done;
	if (got == 1 && parse_long(cur, &now) < 0) {
		snprintf(err, errlen, "%s: spec.replicas is not a number", rel);
		goto done;
	}
	if (int_member(params, "replicas", &v) == 1)
		want = v;
	else if (int_member(params, "delta", &v) == 1)
		want = now + v;
	else {
		snprintf(err, errlen, "scale needs replicas or delta");
		goto done;
	}
	if (sre_catalog_replicas_ok(lim, svc, want, err, errlen) < 0)
		goto done;
	if (want == now) {
		snprintf(err, errlen, "%s already runs %ld replicas", svc, now);
		rc = 1;
		goto done;
	}
	snprintf(num, sizeof(num), "%ld", want);
	if (sre_yaml_set(text, len, "spec.replicas", num, SRE_YAML_CREATE,
	    &out, &outlen, err, errlen) < 0 ||
	    edit_file(wt, rel, text, len, out, outlen, e, err, errlen) < 0)
		goto done;
	snprintf(e->summary, sizeof(e->summary), "scale %s from %ld to %ld "
	    "replicas", svc, now, want);
	rc = 0;
done:
	free(cur);
	free(text);
	free(out);
	return rc;
}

static int
apply_config(const char *wt, const char *svc, jv params,
    const struct sre_gitops_layout *l, struct sre_gitops_edit *e,
    char *err, size_t errlen)
{
	const char *key = sre_jv_str(params, "key");
	const char *val = sre_jv_str(params, "value");
	char rel[SRE_GITOPS_PATH_MAX], *text = NULL, *out = NULL, *old = NULL;
	size_t len, outlen;
	int rc = -1, got;

	if (key == NULL || val == NULL ||
	    sre_gitops_path(l, 'c', svc, rel, sizeof(rel)) < 0) {
		snprintf(err, errlen, "config needs key and value");
		return -1;
	}
	if ((got = sre_gitops_read(wt, rel, &text, &len, err, errlen)) < 0)
		return -1;
	if (got == 0) {
		snprintf(err, errlen, "%s: no such file", rel);
		return -1;
	}
	if ((got = sre_env_get(text, len, key, &old)) < 0) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	if (got == 1 && strcmp(old, val) == 0) {
		snprintf(err, errlen, "%s is already %s in %s", key, val, rel);
		rc = 1;
		goto done;
	}
	if (sre_env_set(text, len, key, val, &out, &outlen, err, errlen) < 0 ||
	    edit_file(wt, rel, text, len, out, outlen, e, err, errlen) < 0)
		goto done;
	if (got == 1)
		snprintf(e->summary, sizeof(e->summary), "set %s=%s for %s "
		    "(was %s)", key, val, svc, old);
	else
		snprintf(e->summary, sizeof(e->summary), "set %s=%s for %s",
		    key, val, svc);
	rc = 0;
done:
	free(old);
	free(text);
	free(out);
	return rc;
}

static int
apply_restart(const char *wt, const char *svc, int64_t now_ms,
    const struct sre_gitops_layout *l, struct sre_gitops_edit *e,
    char *err, size_t errlen)
{
	const char *path = "spec.template.metadata.annotations.\""
	    SRE_GITOPS_RESTARTED "\"";
	char rel[SRE_GITOPS_PATH_MAX], stamp[64], *text = NULL, *out = NULL;
	char *old = NULL;
	size_t len, outlen;
	int rc = -1, got;

	if (sre_gitops_path(l, 'd', svc, rel, sizeof(rel)) < 0 ||
	    (got = sre_gitops_read(wt, rel, &text, &len, err, errlen)) < 0)
		return -1;
	if (got == 0) {
		snprintf(err, errlen, "%s: no such file", rel);
		return -1;
	}
	sre_time_fmt(now_ms, stamp, sizeof(stamp));
	if (sre_yaml_get(text, len, path, &old, err, errlen) == 1 &&
	    strcmp(old, stamp) == 0) {
		snprintf(err, errlen, "%s was restarted at %s already", svc,
		    stamp);
		rc = 1;
		goto done;
	}
	if (sre_yaml_set(text, len, path, stamp, SRE_YAML_CREATE |
	    SRE_YAML_STRING, &out, &outlen, err, errlen) < 0 ||
	    edit_file(wt, rel, text, len, out, outlen, e, err, errlen) < 0)
		goto done;
	snprintf(e->summary, sizeof(e->summary), "restart %s (restartedAt "
	    "%s)", svc, stamp);
	rc = 0;
done:
	free(old);
	free(text);
	free(out);
	return rc;
}

/* The image of svc's container (by name, else the first), and the YAML
 * path it was found at: 1, 0 when none, -1 on error. */
static int
image_path(const char *text, size_t len, const char *svc, char *path,
    size_t pathlen, char **image, char *err, size_t errlen)
{
	int got;

	snprintf(path, pathlen, "spec.template.spec.containers[name=%s].image",
	    svc);
	if ((got = sre_yaml_get(text, len, path, image, err, errlen)) == 0) {
		snprintf(path, pathlen, "spec.template.spec.containers[0].image");
		got = sre_yaml_get(text, len, path, image, err, errlen);
	}
	return got;
}

int
sre_gitops_image(const char *text, size_t len, const char *service,
    char **image, char *err, size_t errlen)
{
	char path[256];

	*image = NULL;
	return image_path(text, len, service, path, sizeof(path), image, err,
	    errlen);
}

static int
apply_image_tag(const char *wt, const char *svc, const char *to,
    const struct sre_gitops_layout *l, struct sre_gitops_edit *e,
    char *err, size_t errlen)
{
	char rel[SRE_GITOPS_PATH_MAX], path[256], img[1024];
	char *text = NULL, *out = NULL, *cur = NULL;
	const char *slash, *colon;
	size_t len, outlen;
	int rc = -1, got;

	if (sre_gitops_path(l, 'd', svc, rel, sizeof(rel)) < 0 ||
	    (got = sre_gitops_read(wt, rel, &text, &len, err, errlen)) < 0)
		return -1;
	if (got == 0) {
		snprintf(err, errlen, "%s: no such file", rel);
		return -1;
	}
	if ((got = image_path(text, len, svc, path, sizeof(path), &cur, err,
	    errlen)) <= 0) {
		if (got == 0)
			snprintf(err, errlen, "%s: no container image", rel);
		goto done;
	}
	if (strchr(cur, '@') != NULL) {
		snprintf(err, errlen, "%s: the image is pinned by digest", rel);
		goto done;
	}
	slash = strrchr(cur, '/');
	colon = strrchr(slash ? slash : cur, ':');
	if (snprintf(img, sizeof(img), "%.*s:%s", colon ? (int)(colon - cur) :
	    (int)strlen(cur), cur, to) >= (int)sizeof(img)) {
		snprintf(err, errlen, "image name too long");
		goto done;
	}
	if (strcmp(img, cur) == 0) {
		snprintf(err, errlen, "%s already runs %s", svc, img);
		rc = 1;
		goto done;
	}
	if (sre_yaml_set(text, len, path, img, SRE_YAML_STRING, &out, &outlen,
	    err, errlen) < 0 ||
	    edit_file(wt, rel, text, len, out, outlen, e, err, errlen) < 0)
		goto done;
	snprintf(e->summary, sizeof(e->summary), "roll %s back to %s (image "
	    "was %s)", svc, to, cur);
	rc = 0;
done:
	free(cur);
	free(text);
	free(out);
	return rc;
}

/*
 * The files staged in wt (against HEAD) into e->files; with dir, each
 * must be inside it (commit names the change undone).  0, or -1 (err).
 */
static int
staged_names(const char *wt, const char *dir, const char *commit,
    struct sre_gitops_edit *e, char *err, size_t errlen)
{
	const char *namev[] = { "diff", "--cached", "--name-only", "HEAD",
	    NULL };
	struct sre_subproc_result r;
	size_t dl = dir ? strlen(dir) : 0;
	char *p, *nl;

	if (sre_git(wt, namev, NULL, NULL, 0, &r, err, errlen) != 0) {
		sre_subproc_result_free(&r);
		return -1;
	}
	e->files[0] = '\0';
	for (p = r.out; *p != '\0'; p = nl + 1) {
		if ((nl = strchr(p, '\n')) == NULL)
			nl = p + strlen(p) - 1;
		*nl = '\0';
		if (*p == '\0')
			break;
		if (dir != NULL && (strncmp(p, dir, dl) != 0 || p[dl] != '/')) {
			snprintf(err, errlen, "commit %.12s also changes %.200s:"
			    " not rolled back automatically", commit, p);
			sre_subproc_result_free(&r);
			return -1;
		}
		if (e->files[0] != '\0')
			strlcat(e->files, " ", sizeof(e->files));
		strlcat(e->files, p, sizeof(e->files));
	}
	sre_subproc_result_free(&r);
	return 0;
}

static int
apply_revert(const char *wt, const char *svc,
    const struct sre_gitops_layout *l, struct sre_gitops_edit *e,
    char *err, size_t errlen)
{
	char dir[SRE_GITOPS_PATH_MAX], spec[SRE_GITOPS_PATH_MAX + 8];
	char line[512], subject[256];
	const char *logv[] = { "log", "-1", "--no-merges", "--format=%H %s",
	    "HEAD", "--", spec, NULL };
	const char *revv[] = { "revert", "--no-commit", line, NULL };
	struct sre_subproc_result r;
	int rc;

	if (sre_gitops_path(l, 's', svc, dir, sizeof(dir)) < 0)
		return -1;
	snprintf(spec, sizeof(spec), "%s/", dir);
	if (sre_git_line(wt, logv, line, sizeof(line), err, errlen) != 0)
		return -1;
	if (strlen(line) < 41 || line[40] != ' ') {
		snprintf(err, errlen, "no commit changes %s: nothing to roll "
		    "back", dir);
		return 1;
	}
	snprintf(subject, sizeof(subject), "%.200s", line + 41);
	line[40] = '\0';
	snprintf(e->reverted, sizeof(e->reverted), "%.40s", line);
	rc = sre_git(wt, revv, NULL, NULL, 0, &r, err, errlen);
	sre_subproc_result_free(&r);
	if (rc != 0)
		return -1;
	if (staged_names(wt, dir, line, e, err, errlen) < 0)
		return -1;
	if (e->files[0] == '\0') {
		snprintf(err, errlen, "reverting %.12s changes nothing", line);
		return 1;
	}
	snprintf(e->summary, sizeof(e->summary), "roll %s back: revert %.12s "
	    "(%s)", svc, line, subject);
	return 0;
}

static int
apply_patch(const char *wt, const char *svc, jv params,
    const struct sre_gitops_layout *l, struct sre_gitops_edit *e,
    char *err, size_t errlen)
{
	const char *diff = sre_jv_str(params, "diff");
	const char *checkv[] = { "apply", "--check", "--index",
	    "--whitespace=nowarn", "-", NULL };
	const char *applyv[] = { "apply", "--index", "--whitespace=nowarn",
	    "-", NULL };
	struct sre_subproc_result r;
	char why[512], *fixed;
	size_t n;
	int rc;

	/* sre_gitops_apply had git read it: paths, renames, copies, modes. */
	if (diff == NULL)
		return -1;
	/* A diff whose last line lacks its newline is "corrupt" to git. */
	n = strlen(diff);
	if ((fixed = malloc(n + 2)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memcpy(fixed, diff, n + 1);
	if (n > 0 && fixed[n - 1] != '\n') {
		fixed[n++] = '\n';
		fixed[n] = '\0';
	}
	rc = sre_git(wt, checkv, NULL, fixed, n, &r, err, errlen);
	sre_subproc_result_free(&r);
	if (rc == 0) {
		rc = sre_git(wt, applyv, NULL, fixed, n, &r, err, errlen);
		sre_subproc_result_free(&r);
	}
	free(fixed);
	if (rc != 0)
		return -1;
	/* And what it staged, as git says: the target's files, plain. */
	if (sre_catalog_staged_check(wt, l, svc, why, sizeof(why)) !=
	    SRE_CATALOG_OK) {
		snprintf(err, errlen, "patch refused: %s", why);
		return -1;
	}
	if (staged_names(wt, NULL, NULL, e, err, errlen) < 0)
		return -1;
	snprintf(e->summary, sizeof(e->summary), "patch %s (%.400s)", svc,
	    e->files);
	return 0;
}

int
sre_gitops_apply(const char *wt, jv proposal,
    const struct sre_gitops_layout *l, const struct sre_catalog_limits *lim,
    int64_t now_ms, struct sre_gitops_edit *e, char *err, size_t errlen)
{
	struct sre_catalog_limits def;
	const char *action, *svc, *to;
	char why[512];
	jv params;
	int rc;

	memset(e, 0, sizeof(*e));
	if (lim == NULL) {
		sre_catalog_limits_default(&def);
		lim = &def;
	}
	/* The catalog and the repository, again: nothing is taken on
	 * trust from whoever approved it. */
	if ((rc = sre_catalog_check(proposal, lim, why, sizeof(why))) !=
	    SRE_CATALOG_OK || (rc = sre_catalog_repo_check(wt, l, proposal,
	    why, sizeof(why))) != SRE_CATALOG_OK) {
		snprintf(err, errlen, "%s%s", rc == SRE_CATALOG_PATCH ?
		    "patch refused: " : "", why);
		return -1;
	}
	action = sre_jv_str(proposal, "action");
	svc = sre_jv_str(proposal, "target");
	params = jv_object_get(jv_copy(proposal), jv_string("params"));
	if (jv_get_kind(params) != JV_KIND_OBJECT) {
		jv_free(params);
		params = jv_object();
	}
	if (strcmp(action, "scale") == 0)
		rc = apply_scale(wt, svc, params, l, lim, e, err, errlen);
	else if (strcmp(action, "config") == 0)
		rc = apply_config(wt, svc, params, l, e, err, errlen);
	else if (strcmp(action, "restart") == 0)
		rc = apply_restart(wt, svc, now_ms, l, e, err, errlen);
	else if (strcmp(action, "rollback") == 0) {
		to = sre_jv_str(params, "to");
		rc = to != NULL ?
		    apply_image_tag(wt, svc, to, l, e, err, errlen) :
		    apply_revert(wt, svc, l, e, err, errlen);
	} else if (strcmp(action, "patch") == 0)
		rc = apply_patch(wt, svc, params, l, e, err, errlen);
	else {
		snprintf(err, errlen, "observe: nothing to change");
		rc = 1;
	}
	jv_free(params);
	return rc;
}
