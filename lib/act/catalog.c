/* catalog.c: the remediation catalog: actions, params, limits, and what
 * git says a patch and a repository's history hold. */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "event.h"

/* ---- the table ----------------------------------------------------- */

enum { T_TAG, T_INT, T_KEY, T_TEXT, T_DIFF };

static const struct param {
	const char *action, *name;
	int type, required;
	long lo, hi;		/* T_INT: the value; else the length */
} params[] = {
	{ "rollback", "to", T_TAG, 0, 1, SRE_CATALOG_TAG_MAX },
	{ "scale", "replicas", T_INT, 0, 0, SRE_CATALOG_REPLICAS_MAX },
	{ "scale", "delta", T_INT, 0, -SRE_CATALOG_DELTA_MAX,
	    SRE_CATALOG_DELTA_MAX },
	{ "config", "key", T_KEY, 1, 1, SRE_CATALOG_KEY_MAX },
	{ "config", "value", T_TEXT, 1, 0, SRE_CATALOG_VALUE_MAX },
	{ "patch", "diff", T_DIFF, 1, 1, SRE_CATALOG_DIFF_MAX },
};
#define NPARAMS	(sizeof(params) / sizeof(params[0]))

static const char *const actions[] = {
	"rollback", "scale", "config", "restart", "patch", "observe", NULL
};

static const char *const default_keys[] = { SRE_CATALOG_CONFIG_KEYS, NULL };

const char *
sre_catalog_rule(int fault)
{
	static const char *const rules[] = {
		"", "builtin:catalog", "builtin:target", "builtin:params",
		"builtin:blast-radius", "builtin:allowlist", "builtin:history",
		"builtin:patch", "builtin:repo"
	};

	return fault >= 0 && fault <= SRE_CATALOG_ERROR ? rules[fault] :
	    "builtin:catalog";
}

void
sre_catalog_limits_default(struct sre_catalog_limits *lim)
{
	lim->min_replicas = SRE_CATALOG_MIN_REPLICAS;
	lim->max_replicas = SRE_CATALOG_MAX_REPLICAS;
	lim->config_keys = default_keys;
}

int
sre_catalog_action_known(const char *action)
{
	const char *const *a;

	for (a = actions; action != NULL && *a != NULL; a++)
		if (strcmp(*a, action) == 0)
			return 1;
	return 0;
}

int
sre_catalog_text_ok(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i;

	for (i = 0; i < len; i++) {
		if (p[i] < 0x20 || p[i] == 0x7f)
			return 0;
		if (p[i] == 0xc2 && i + 1 < len && p[i + 1] >= 0x80 &&
		    p[i + 1] <= 0x9f)
			return 0;	/* C1 */
		if (p[i] == 0xe2 && i + 2 < len) {
			unsigned c = (unsigned)p[i + 1] << 8 | p[i + 2];

			if ((c >= 0x808b && c <= 0x808f) ||	/* 200B-F */
			    (c >= 0x80a8 && c <= 0x80ae) ||	/* 2028-E */
			    (c >= 0x81a6 && c <= 0x81a9))	/* 2066-9 */
				return 0;
		}
		if (p[i] == 0xef && i + 2 < len && p[i + 1] == 0xbb &&
		    p[i + 2] == 0xbf)
			return 0;	/* FEFF */
	}
	return 1;
}

static int
tag_ok(const char *s)
{
	const char *p;

	if (!isalnum((unsigned char)*s) && *s != '_')
		return 0;
	for (p = s; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && strchr("._-", *p) == NULL)
			return 0;
	return 1;
}

int
sre_catalog_key_ok(const char *s)
{
	const char *p;

	if (s == NULL || strlen(s) > SRE_CATALOG_KEY_MAX)
		return 0;
	if (!isupper((unsigned char)*s) && *s != '_')
		return 0;
	for (p = s; *p != '\0'; p++)
		if (!isupper((unsigned char)*p) && !isdigit((unsigned char)*p) &&
		    *p != '_')
			return 0;
	return 1;
}

/* One param against its row; SRE_CATALOG_OK or SRE_CATALOG_PARAMS. */
static int
param_check(const struct param *pr, jv v, long *num, char *why,
    size_t whylen)
{
	const char *s;
	size_t n;
	double d;

	if (pr->type == T_INT) {
		if (jv_get_kind(v) != JV_KIND_NUMBER) {
			snprintf(why, whylen, "%s %s must be an integer, not "
			    "%s", pr->action, pr->name,
			    jv_kind_name(jv_get_kind(v)));
			return SRE_CATALOG_PARAMS;
		}
		d = jv_number_value(v);
		if (!(d >= (double)pr->lo && d <= (double)pr->hi) ||
		    d != (double)(long)d) {
			snprintf(why, whylen, "%s %s must be an integer from "
			    "%ld to %ld", pr->action, pr->name, pr->lo, pr->hi);
			return SRE_CATALOG_PARAMS;
		}
		*num = (long)d;
		return SRE_CATALOG_OK;
	}
	if (jv_get_kind(v) != JV_KIND_STRING) {
		snprintf(why, whylen, "%s %s must be a string, not %s",
		    pr->action, pr->name, jv_kind_name(jv_get_kind(v)));
		return SRE_CATALOG_PARAMS;
	}
	s = jv_string_value(v);
	n = (size_t)jv_string_length_bytes(jv_copy(v));
	if (n < (size_t)pr->lo || n > (size_t)pr->hi) {
		snprintf(why, whylen, "%s %s must be %ld to %ld bytes long",
		    pr->action, pr->name, pr->lo, pr->hi);
		return SRE_CATALOG_PARAMS;
	}
	if (pr->type == T_DIFF) {
		if (memchr(s, '\0', n) != NULL) {
			snprintf(why, whylen, "patch diff holds a NUL byte");
			return SRE_CATALOG_PARAMS;
		}
		return SRE_CATALOG_OK;
	}
	if (!sre_catalog_text_ok(s, n)) {
		snprintf(why, whylen, "%s %s holds a control character (NUL, "
		    "C0, C1, DEL, U+2028/U+2029 or an invisible mark)",
		    pr->action, pr->name);
		return SRE_CATALOG_PARAMS;
	}
	if (pr->type == T_TAG && !tag_ok(s)) {
		snprintf(why, whylen, "rollback to '%.64s': not an image tag "
		    "(letters, digits, '.', '_', '-')", s);
		return SRE_CATALOG_PARAMS;
	}
	if (pr->type == T_KEY && !sre_catalog_key_ok(s)) {
		snprintf(why, whylen, "config key '%.64s' is not an "
		    "environment name (A-Z, 0-9, _)", s);
		return SRE_CATALOG_PARAMS;
	}
	return SRE_CATALOG_OK;
}

static int
key_allowed(const struct sre_catalog_limits *lim, const char *key)
{
	const char *const *k;

	for (k = lim->config_keys; k != NULL && *k != NULL; k++)
		if (strcmp(*k, key) == 0)
			return 1;
	return 0;
}

static void
keys_list(const struct sre_catalog_limits *lim, char *out, size_t outlen)
{
	const char *const *k;
	size_t n = 0;

	out[0] = '\0';
	for (k = lim->config_keys; k != NULL && *k != NULL && n < outlen;
	    k++)
		n += (size_t)snprintf(out + n, outlen - n, "%s%s",
		    k == lim->config_keys ? "" : ", ", *k);
	if (out[0] == '\0')
		snprintf(out, outlen, "none");
}

int
sre_catalog_replicas_ok(const struct sre_catalog_limits *lim,
    const char *target, long want, char *why, size_t whylen)
{
	struct sre_catalog_limits def;

	if (lim == NULL) {
		sre_catalog_limits_default(&def);
		lim = &def;
	}
	if (want < 1) {
		snprintf(why, whylen, "scale %s to %ld replicas: never to zero",
		    target, want);
		return -1;
	}
	if (want < lim->min_replicas) {
		snprintf(why, whylen, "scale %s to %ld replicas: below the "
		    "minimum of %ld", target, want, lim->min_replicas);
		return -1;
	}
	if (want > lim->max_replicas) {
		snprintf(why, whylen, "scale %s to %ld replicas: above the "
		    "limit of %ld", target, want, lim->max_replicas);
		return -1;
	}
	return 0;
}

int
sre_catalog_check(jv p, const struct sre_catalog_limits *lim, char *why,
    size_t whylen)
{
	const char *action, *target = NULL;
	jv t, ps;
	long num[NPARAMS] = { 0 };
	int seen[NPARAMS], fault = SRE_CATALOG_OK;
	size_t i;

	if (jv_get_kind(p) != JV_KIND_OBJECT) {
		snprintf(why, whylen, jv_get_kind(p) == JV_KIND_NULL ||
		    jv_get_kind(p) == JV_KIND_INVALID ? "no proposal" :
		    "the proposal is not an object");
		return SRE_CATALOG_ACTION;
	}
	action = sre_jv_str(p, "action");
	if (!sre_catalog_action_known(action)) {
		snprintf(why, whylen, "action '%.64s' is not in the remediation "
		    "catalog", action ? action : "(none)");
		return SRE_CATALOG_ACTION;
	}
	t = jv_object_get(jv_copy(p), jv_string("target"));
	if (jv_get_kind(t) == JV_KIND_STRING) {
		target = jv_string_value(t);
		if (strlen(target) != (size_t)jv_string_length_bytes(
		    jv_copy(t)) || !sre_gitops_service_ok(target)) {
			snprintf(why, whylen, "target '%.64s' is not a service "
			    "name", target);
			jv_free(t);
			return SRE_CATALOG_TARGET;
		}
	} else if (!((jv_get_kind(t) == JV_KIND_NULL ||
	    jv_get_kind(t) == JV_KIND_INVALID) &&
	    strcmp(action, "observe") == 0)) {
		snprintf(why, whylen, "%s needs a target service", action);
		jv_free(t);
		return SRE_CATALOG_TARGET;
	}
	jv_free(t);

	ps = jv_object_get(jv_copy(p), jv_string("params"));
	if (jv_get_kind(ps) == JV_KIND_NULL ||
	    jv_get_kind(ps) == JV_KIND_INVALID) {
		jv_free(ps);
		ps = jv_object();
	}
	if (jv_get_kind(ps) != JV_KIND_OBJECT) {
		snprintf(why, whylen, "params is not an object");
		jv_free(ps);
		return SRE_CATALOG_PARAMS;
	}
	memset(seen, 0, sizeof(seen));
	/* Every param given must be one of the action's. */
	jv_object_foreach(ps, k, v) {
		const char *ks = jv_string_value(k);

		for (i = 0; i < NPARAMS; i++)
			if (strcmp(params[i].action, action) == 0 &&
			    strcmp(params[i].name, ks) == 0)
				break;
		if (fault == SRE_CATALOG_OK && i == NPARAMS) {
			snprintf(why, whylen, "%s takes no param '%.64s'",
			    action, ks);
			fault = SRE_CATALOG_PARAMS;
		} else if (fault == SRE_CATALOG_OK && i < NPARAMS &&
		    !(jv_get_kind(v) == JV_KIND_NULL && !params[i].required)) {
			fault = param_check(&params[i], v, &num[i], why,
			    whylen);
			seen[i] = 1;
		}
		jv_free(k);
		jv_free(v);
	}
	for (i = 0; fault == SRE_CATALOG_OK && i < NPARAMS; i++)
		if (params[i].required && !seen[i] &&
		    strcmp(params[i].action, action) == 0) {
			snprintf(why, whylen, "%s needs param '%s'", action,
			    params[i].name);
			fault = SRE_CATALOG_PARAMS;
		}
	if (fault == SRE_CATALOG_OK && strcmp(action, "scale") == 0) {
		/* rows 1 and 2: replicas, delta; exactly one. */
		if (seen[1] == seen[2]) {
			snprintf(why, whylen, "scale needs replicas or delta "
			    "(exactly one of them)");
			fault = SRE_CATALOG_PARAMS;
		} else if (seen[2] && num[2] == 0) {
			snprintf(why, whylen, "scale by a delta of 0 changes "
			    "nothing");
			fault = SRE_CATALOG_PARAMS;
		} else if (seen[1] && lim != NULL &&
		    sre_catalog_replicas_ok(lim, target, num[1], why,
		    whylen) < 0)
			fault = SRE_CATALOG_BOUNDS;
	}
	if (fault == SRE_CATALOG_OK && lim != NULL &&
	    strcmp(action, "config") == 0) {
		const char *key = sre_jv_str(ps, "key");
		char list[512];

		if (!key_allowed(lim, key)) {
			keys_list(lim, list, sizeof(list));
			snprintf(why, whylen, "config key %s is not allowed for "
			    "%s (allowed: %s)", key, target, list);
			fault = SRE_CATALOG_ALLOWLIST;
		}
	}
	jv_free(ps);
	return fault;
}

/* ---- what a proposal may touch ------------------------------------- */

static int
inside(const struct sre_gitops_layout *l, int which, const char *target,
    const char *rel)
{
	struct sre_gitops_layout one;
	char dir[SRE_GITOPS_PATH_MAX];
	size_t n;

	/* The directory of either template: 's' reads the deployment's. */
	one.deployment = which == 'c' ? (l && l->config ? l->config :
	    SRE_GITOPS_CONFIG) : (l ? l->deployment : NULL);
	one.config = NULL;
	if (sre_gitops_path(&one, 's', target, dir, sizeof(dir)) < 0)
		return 0;
	n = strlen(dir);
	return strncmp(rel, dir, n) == 0 && rel[n] == '/';
}

int
sre_catalog_may_touch(const struct sre_gitops_layout *l, const char *target,
    const char *rel, char *why, size_t whylen)
{
	const char *s;

	if (sre_gitops_relpath_ok(rel, why, whylen) < 0)
		return -1;
	if ((s = sre_gitops_path_sensitive(rel)) != NULL) {
		snprintf(why, whylen, "%.200s is %s", rel, s);
		return -1;
	}
	if (target == NULL || (!inside(l, 'd', target, rel) &&
	    !inside(l, 'c', target, rel))) {
		snprintf(why, whylen, "%.200s is outside the directory of %s",
		    rel, target ? target : "the target");
		return -1;
	}
	return 0;
}

/* ---- patches, as git reads them ------------------------------------ */

/* Letters, digits and ._-+@,= between slashes: nothing git would quote,
 * nothing that makes its summary lines ambiguous. */
static int
name_plain(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) &&
		    strchr("._-+@,=/", s[i]) == NULL)
			return 0;
	return n > 0;
}

struct judge {
	const char *root, *target;
	const struct sre_gitops_layout *l;
	char *why;
	size_t whylen;
	int files;
};

static int
judge_path(struct judge *j, const char *s, size_t n)
{
	char rel[SRE_GITOPS_PATH_MAX], res[SRE_GITOPS_PATH_MAX], err[512];

	if (n >= sizeof(rel)) {
		snprintf(j->why, j->whylen, "a path of %zu bytes", n);
		return -1;
	}
	memcpy(rel, s, n);
	rel[n] = '\0';
	if (!name_plain(rel, n)) {
		snprintf(j->why, j->whylen, "'%.200s': file names are letters, "
		    "digits and ._-+@,=/ only", rel);
		return -1;
	}
	if (sre_catalog_may_touch(j->l, j->target, rel, j->why,
	    j->whylen) < 0)
		return -1;
	if (j->root != NULL && sre_gitops_resolve(j->root, rel, res,
	    sizeof(res), err, sizeof(err)) < 0) {
		snprintf(j->why, j->whylen, "%s", err);
		return -1;
	}
	return 0;
}

static int
judge_mode(struct judge *j, const char *m, const char *name)
{
	if ((strncmp(m, "100644", 6) == 0 || strncmp(m, "100755", 6) == 0) &&
	    (m[6] == ' ' || m[6] == '\0'))
		return 0;
	snprintf(j->why, j->whylen, "%.200s: mode %.6s: only regular files "
	    "(100644, 100755); no symbolic links or submodules", name, m);
	return -1;
}

/* "old => new" or "prefix{old => new}" of a rename or copy line. */
static int
judge_rename(struct judge *j, const char *s, size_t n)
{
	const char *arrow = NULL, *brace, *p;
	char a[SRE_GITOPS_PATH_MAX], b[SRE_GITOPS_PATH_MAX];
	size_t pre = 0;
	int na, nb;

	for (p = s; p + 4 <= s + n; p++)
		if (memcmp(p, " => ", 4) == 0) {
			if (arrow != NULL)
				goto bad;
			arrow = p;
		}
	if (arrow == NULL)
		goto bad;
	brace = memchr(s, '{', (size_t)(arrow - s));
	if (brace != NULL) {
		if (s[n - 1] != '}')
			goto bad;
		pre = (size_t)(brace - s);
		na = snprintf(a, sizeof(a), "%.*s%.*s", (int)pre, s,
		    (int)(arrow - brace - 1), brace + 1);
		nb = snprintf(b, sizeof(b), "%.*s%.*s", (int)pre, s,
		    (int)(s + n - 1 - arrow - 4), arrow + 4);
	} else {
		na = snprintf(a, sizeof(a), "%.*s", (int)(arrow - s), s);
		nb = snprintf(b, sizeof(b), "%.*s", (int)(s + n - arrow - 4),
		    arrow + 4);
	}
	if (na < 0 || nb < 0 || (size_t)na >= sizeof(a) ||
	    (size_t)nb >= sizeof(b))
		goto bad;
	return judge_path(j, a, (size_t)na) < 0 ||
	    judge_path(j, b, (size_t)nb) < 0 ? -1 : 0;
bad:
	snprintf(j->why, j->whylen, "git's rename or copy line '%.200s' is "
	    "not one this check reads", s);
	return -1;
}

/* One summary line of git apply, without its leading space and '\n'. */
static int
judge_summary(struct judge *j, char *s, size_t n)
{
	char *pct;

	s[n] = '\0';
	if (strncmp(s, "create mode ", 12) == 0 ||
	    strncmp(s, "delete mode ", 12) == 0) {
		if (n < 20 || s[18] != ' ')
			goto bad;
		return judge_mode(j, s + 12, s + 19) < 0 ||
		    judge_path(j, s + 19, n - 19) < 0 ? -1 : 0;
	}
	if (strncmp(s, "create ", 7) == 0 || strncmp(s, "delete ", 7) == 0)
		return judge_path(j, s + 7, n - 7);
	if (strncmp(s, "mode change ", 12) == 0) {
		if (n < 28 || memcmp(s + 18, " => ", 4) != 0)
			goto bad;
		if (judge_mode(j, s + 12, s + 12) < 0 ||
		    judge_mode(j, s + 22, n > 29 ? s + 29 : s + 12) < 0)
			return -1;
		return n > 29 ? judge_path(j, s + 29, n - 29) : 0;
	}
	if (strncmp(s, "rename ", 7) == 0 || strncmp(s, "copy ", 5) == 0 ||
	    strncmp(s, "rewrite ", 8) == 0) {
		size_t k = s[0] == 'c' ? 5 : s[1] == 'e' && s[2] == 'n' ? 7 : 8;

		if ((pct = strrchr(s, '(')) == NULL || pct < s + k + 1 ||
		    pct[-1] != ' ')
			goto bad;
		if (k == 8)
			return judge_path(j, s + k, (size_t)(pct - 1 - s) - k);
		return judge_rename(j, s + k, (size_t)(pct - 1 - s) - k);
	}
bad:
	snprintf(j->why, j->whylen, "git's summary line '%.200s' is not one "
	    "this check reads", s);
	return -1;
}

static int
judge_output(struct judge *j, char *out, size_t len)
{
	size_t off = 0;

	while (off < len) {
		char *s = out + off, *e;

		if (*s == ' ') {	/* --summary: lines */
			if ((e = memchr(s, '\n', len - off)) == NULL)
				e = out + len;
			if (judge_summary(j, s + 1, (size_t)(e - s - 1)) < 0)
				return -1;
			off = (size_t)(e - out) + 1;
			continue;
		}
		/* --numstat -z: "ADDED\tDELETED\tPATH\0" */
		if ((e = memchr(s, '\0', len - off)) == NULL)
			e = out + len;
		if (s[0] == '-') {
			snprintf(j->why, j->whylen, "binary patches are not "
			    "accepted");
			return -1;
		}
		{
			char *t1 = memchr(s, '\t', (size_t)(e - s)), *t2;

			t2 = t1 ? memchr(t1 + 1, '\t', (size_t)(e - t1 - 1)) :
			    NULL;
			if (t2 == NULL) {
				snprintf(j->why, j->whylen, "git apply --numstat "
				    "printed what this check cannot read");
				return -1;
			}
			if (judge_path(j, t2 + 1, (size_t)(e - t2 - 1)) < 0)
				return -1;
		}
		j->files++;
		off = (size_t)(e - out) + 1;
	}
	if (j->files == 0) {
		snprintf(j->why, j->whylen, "git finds no file in the patch");
		return -1;
	}
	return 0;
}

int
sre_catalog_patch_check(const char *root, const struct sre_gitops_layout *l,
    const char *target, const char *diff, size_t len, char *why,
    size_t whylen)
{
	const char *argv[] = { "apply", "--numstat", "--summary", "-z",
	    "--whitespace=nowarn", "-", NULL };
	struct sre_subproc_result r;
	struct judge j = { root, target, l, why, whylen, 0 };
	char err[512], *in, real[PATH_MAX], ceiling[PATH_MAX + 32], *slash;
	const char *env[] = { ceiling, NULL };
	int rc;

	if (len == 0 || len > SRE_CATALOG_DIFF_MAX ||
	    memchr(diff, '\0', len) != NULL) {
		snprintf(why, whylen, "a patch must be 1 byte to 1 MiB of text");
		return SRE_CATALOG_PATCH;
	}
	/* A diff whose last line lacks its newline is "corrupt" to git. */
	if ((in = malloc(len + 1)) == NULL) {
		snprintf(why, whylen, "out of memory");
		return SRE_CATALOG_ERROR;
	}
	memcpy(in, diff, len);
	if (diff[len - 1] != '\n')
		in[len++] = '\n';
	/* Paths are the root's: git must not find a repository above it
	 * (and prefix its subdirectory to every name). */
	ceiling[0] = '\0';
	if (root != NULL && realpath(root, real) != NULL &&
	    (slash = strrchr(real, '/')) != NULL && slash != real) {
		*slash = '\0';
		snprintf(ceiling, sizeof(ceiling), "GIT_CEILING_DIRECTORIES=%s",
		    real);
	}
	rc = sre_git(root ? root : "/", argv, ceiling[0] ? env : NULL, in,
	    len, &r, err, sizeof(err));
	free(in);
	if (rc < 0) {
		snprintf(why, whylen, "%s", err);
		sre_subproc_result_free(&r);
		return SRE_CATALOG_ERROR;
	}
	if (rc > 0) {
		snprintf(why, whylen, "%s", err);
		sre_subproc_result_free(&r);
		return SRE_CATALOG_PATCH;
	}
	rc = judge_output(&j, r.out, r.outlen);
	sre_subproc_result_free(&r);
	return rc < 0 ? SRE_CATALOG_PATCH : SRE_CATALOG_OK;
}

int
sre_catalog_staged_check(const char *wt, const struct sre_gitops_layout *l,
    const char *target, char *why, size_t whylen)
{
	const char *argv[] = { "diff", "--cached", "--raw", "-z",
	    "--no-renames", "--no-abbrev", "HEAD", NULL };
	struct sre_subproc_result r;
	struct judge j = { wt, target, l, why, whylen, 0 };
	char err[512], *p, *e, *end;
	int rc;

	rc = sre_git(wt, argv, NULL, NULL, 0, &r, err, sizeof(err));
	if (rc != 0) {
		snprintf(why, whylen, "%s", err);
		sre_subproc_result_free(&r);
		return SRE_CATALOG_ERROR;
	}
	/* ":OLDMODE NEWMODE OLDSHA NEWSHA STATUS\0PATH\0" */
	end = r.out + r.outlen;
	for (p = r.out; p < end; p = e + 1) {
		char *path;

		if ((e = memchr(p, '\0', (size_t)(end - p))) == NULL ||
		    *p != ':' || e - p < 15 || p[7] != ' ') {
			snprintf(why, whylen, "git diff --raw printed what "
			    "this check cannot read");
			rc = -1;
			break;
		}
		path = e + 1;
		if (path >= end || (e = memchr(path, '\0',
		    (size_t)(end - path))) == NULL) {
			snprintf(why, whylen, "git diff --raw: no path");
			rc = -1;
			break;
		}
		if ((strncmp(p + 1, "000000", 6) != 0 &&
		    judge_mode(&j, p + 1, path) < 0) ||
		    (strncmp(p + 8, "000000", 6) != 0 &&
		    judge_mode(&j, p + 8, path) < 0) ||
		    judge_path(&j, path, (size_t)(e - path)) < 0) {
			rc = -1;
			break;
		}
	}
	sre_subproc_result_free(&r);
	return rc < 0 ? SRE_CATALOG_PATCH : SRE_CATALOG_OK;
}

/* ---- the history of a deployment ----------------------------------- */

static jv
tag_add(jv tags, const char *image)
{
	const char *slash = strrchr(image, '/');
	const char *colon = strrchr(slash ? slash : image, ':');
	int i, n;

	if (colon == NULL || strchr(image, '@') != NULL || colon[1] == '\0')
		return tags;
	n = jv_array_length(jv_copy(tags));
	for (i = 0; i < n; i++) {
		jv t = jv_array_get(jv_copy(tags), i);
		int same = strcmp(jv_string_value(t), colon + 1) == 0;

		jv_free(t);
		if (same)
			return tags;
	}
	return jv_array_append(tags, jv_string(colon + 1));
}

jv
sre_catalog_deployed(const char *root, const struct sre_gitops_layout *l,
    const char *target, char *err, size_t errlen)
{
	char rel[SRE_GITOPS_PATH_MAX], max[32];
	const char *logv[] = { "log", "--format=%H", max, "HEAD", "--", rel,
	    NULL };
	const char *catv[] = { "cat-file", "--batch", NULL };
	struct sre_subproc_result r, c;
	char *in = NULL, *p, *nl, *end;
	size_t inlen = 0, cap = 0;
	jv tags = jv_array();

	if (sre_gitops_path(l, 'd', target, rel, sizeof(rel)) < 0) {
		snprintf(err, errlen, "bad service name");
		return jv_invalid();
	}
	snprintf(max, sizeof(max), "-n%d", SRE_CATALOG_HISTORY_MAX);
	if (sre_git(root, logv, NULL, NULL, 0, &r, err, errlen) != 0) {
		sre_subproc_result_free(&r);
		jv_free(tags);
		return jv_invalid();
	}
	/* "SHA:PATH\n" per commit, for one cat-file --batch. */
	for (p = r.out; *p != '\0'; p = nl + 1) {
		size_t need;

		if ((nl = strchr(p, '\n')) == NULL)
			break;
		need = (size_t)(nl - p) + strlen(rel) + 2;
		if (inlen + need + 1 > cap) {
			char *m;

			cap = (inlen + need + 1) * 2;
			if ((m = realloc(in, cap)) == NULL) {
				free(in);
				sre_subproc_result_free(&r);
				jv_free(tags);
				snprintf(err, errlen, "out of memory");
				return jv_invalid();
			}
			in = m;
		}
		inlen += (size_t)snprintf(in + inlen, cap - inlen, "%.*s:%s\n",
		    (int)(nl - p), p, rel);
	}
	sre_subproc_result_free(&r);
	if (inlen == 0) {
		free(in);
		return tags;
	}
	if (sre_git(root, catv, NULL, in, inlen, &c, err, errlen) != 0) {
		free(in);
		sre_subproc_result_free(&c);
		jv_free(tags);
		return jv_invalid();
	}
	free(in);
	/* "SHA blob SIZE\nCONTENT\n", or "NAME missing\n". */
	end = c.out + c.outlen;
	for (p = c.out; p < end; ) {
		char *sp, *image = NULL, e2[256];
		long size;

		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			break;
		sp = memchr(p, ' ', (size_t)(nl - p));
		if (sp == NULL || strncmp(sp, " blob ", 6) != 0) {
			p = nl + 1;
			continue;
		}
		size = strtol(sp + 6, NULL, 10);
		if (size < 0 || size > end - nl - 1)
			break;
		if (sre_gitops_image(nl + 1, (size_t)size, target, &image, e2,
		    sizeof(e2)) == 1)
			tags = tag_add(tags, image);
		free(image);
		p = nl + 1 + size + 1;
	}
	sre_subproc_result_free(&c);
	return tags;
}

int
sre_catalog_repo_check(const char *root, const struct sre_gitops_layout *l,
    jv proposal, char *why, size_t whylen)
{
	const char *action = sre_jv_str(proposal, "action");
	const char *target = sre_jv_str(proposal, "target");
	jv ps = jv_object_get(jv_copy(proposal), jv_string("params"));
	const char *to = sre_jv_str(ps, "to");
	const char *diff = sre_jv_str(ps, "diff");
	int rc = SRE_CATALOG_OK;

	if (action != NULL && target != NULL &&
	    strcmp(action, "rollback") == 0 && to != NULL) {
		char err[512], list[512];
		jv tags = sre_catalog_deployed(root, l, target, err,
		    sizeof(err));
		int i, n, found = 0;
		size_t k = 0;

		if (!jv_is_valid(tags)) {
			snprintf(why, whylen, "rollback to %s: the history of "
			    "%s cannot be read: %s", to, target, err);
			rc = SRE_CATALOG_HISTORY;
		} else {
			n = jv_array_length(jv_copy(tags));
			list[0] = '\0';
			for (i = 0; i < n; i++) {
				jv t = jv_array_get(jv_copy(tags), i);

				if (strcmp(jv_string_value(t), to) == 0)
					found = 1;
				if (k < sizeof(list))
					k += (size_t)snprintf(list + k,
					    sizeof(list) - k, "%s%s",
					    i ? ", " : "", jv_string_value(t));
				jv_free(t);
			}
			if (!found) {
				snprintf(why, whylen, "rollback to %s: %s never "
				    "ran it (deployed before: %s)", to, target,
				    n ? list : "nothing");
				rc = SRE_CATALOG_HISTORY;
			}
			jv_free(tags);
		}
		jv_free(ps);
		return rc;
	}
	if (action != NULL && strcmp(action, "patch") == 0 && diff != NULL)
		rc = sre_catalog_patch_check(root, l, target, diff,
		    strlen(diff), why, whylen);
	jv_free(ps);
	return rc;
}

/* ---- evidence ------------------------------------------------------ */

static const struct evidence {
	const char *action;
	unsigned need;
	const char *text;
} evidence[] = {
	{ "rollback", SRE_EV_RELEASE, "a new version with the errors" },
	{ "scale", SRE_EV_LOAD,
	    "latency or errors rising with the load per replica" },
	{ "config", SRE_EV_RESOURCE, "a named resource exhausted" },
	{ "restart", SRE_EV_PROCESS, "a process state a restart clears "
	    "(memory growth, a stuck worker, a crash loop)" },
};
#define NEVIDENCE	(sizeof(evidence) / sizeof(evidence[0]))

static const struct evidence *
evidence_for(const char *action)
{
	size_t i;

	for (i = 0; action != NULL && i < NEVIDENCE; i++)
		if (strcmp(evidence[i].action, action) == 0)
			return &evidence[i];
	return NULL;
}

unsigned
sre_catalog_evidence_needed(const char *action)
{
	const struct evidence *e = evidence_for(action);

	return e != NULL ? e->need : 0;
}

const char *
sre_catalog_evidence_text(const char *action)
{
	const struct evidence *e = evidence_for(action);

	return e != NULL ? e->text : "";
}

int
sre_catalog_evidence_ok(const char *action, unsigned have, char *why,
    size_t whylen)
{
	const struct evidence *e = evidence_for(action);

	if (e == NULL || (have & e->need) == e->need)
		return 1;
	if (why != NULL && whylen > 0)
		snprintf(why, whylen, "%s needs %s: none in the evidence",
		    action, e->text);
	return 0;
}

/* Phrases of process state a restart clears, matched without case. */
static const char *const process_phrases[] = {
	/* memory a process does not give back */
	"out of memory", "outofmemoryerror", "memoryerror", "heap limit",
	"not reclaimed", "memory leak", "oomkilled",
	/* workers that do not come back */
	"workers stuck", "worker stuck", "stuck for", "hung thread",
	"thread starvation", "no idle worker",
	/* a crash loop */
	"crashloopbackoff", "back-off restarting", "restarted too often",
	NULL
};

unsigned
sre_catalog_evidence_of_text(const char *text)
{
	size_t i;

	if (text == NULL)
		return 0;
	for (i = 0; process_phrases[i] != NULL; i++)
		if (strcasestr(text, process_phrases[i]) != NULL)
			return SRE_EV_PROCESS;
	return 0;
}

unsigned
sre_catalog_evidence_of_metric(const char *metric, double observed,
    double baseline)
{
	if (metric == NULL || baseline <= 0 || observed < 1.3 * baseline)
		return 0;
	if (strstr(metric, "process.memory") != NULL ||
	    strstr(metric, "memory.usage") != NULL ||
	    strstr(metric, "memory.working_set") != NULL ||
	    strstr(metric, "rss") != NULL)
		return SRE_EV_PROCESS;
	return 0;
}
