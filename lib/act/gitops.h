/*
 * gitops.h: the GitOps repository as sre-guard and sre-fix see it.
 *
 * The layout (DESIGN.md) gives each service a deployment and an
 * environment file, by path templates holding "{service}" as one whole
 * path component:
 *
 *	services/{service}/deployment.yaml	a Kubernetes Deployment
 *	services/{service}/config.env		KEY=VALUE lines
 *
 * The service's directory is the template up to that component.
 *
 * Safety rules kept here, for both tools:
 * - paths from proposals and patches are clean relative paths: no "..",
 *   no absolute path, no ".git" component, nothing in CI configuration or
 *   secret-looking (and, catalog.h, inside the target's directory);
 * - a path is resolved under the repository root; a symlink on the way
 *   that leads out of the root is refused;
 * - git runs as a child with an argv (subproc.h), with hooks switched off
 *   and no terminal prompt.
 *
 * The remediation catalog (rollback, scale, config, restart, patch,
 * observe) is judged by catalog.h and carried out in a working tree by
 * sre_gitops_apply.
 */
#ifndef SRE_GITOPS_H
#define SRE_GITOPS_H

#include <stddef.h>
#include <stdint.h>

#include <jv.h>

#include "subproc.h"

#define SRE_GITOPS_DEPLOYMENT	"services/{service}/deployment.yaml"
#define SRE_GITOPS_CONFIG	"services/{service}/config.env"
#define SRE_GITOPS_RESTARTED	"sre-space/restartedAt"
#define SRE_GITOPS_PATH_MAX	4096

struct sre_catalog_limits;

struct sre_gitops_layout {
	const char *deployment;		/* NULL: SRE_GITOPS_DEPLOYMENT */
	const char *config;		/* NULL: SRE_GITOPS_CONFIG */
};

/* ---- layout -------------------------------------------------------- */

/* Check both templates; 0, or -1 with a message in err. */
int sre_gitops_layout_check(const struct sre_gitops_layout *l, char *err,
    size_t errlen);

/* Non-zero for a usable service name: letters, digits, '.', '_', '-',
 * starting with a letter or digit, at most 63 bytes. */
int sre_gitops_service_ok(const char *name);

/* The deployment (which 'd'), config ('c') or directory ('s') path of a
 * service, relative to the root.  0, or -1 when it does not fit. */
int sre_gitops_path(const struct sre_gitops_layout *l, int which,
    const char *service, char *out, size_t outlen);

/*
 * The services of the repository at root: directories (not symlinks) of
 * the layout holding a deployment or a config file, sorted by name.
 * Returns an array of strings, or jv_invalid() with a message in err.
 */
jv sre_gitops_services(const char *root, const struct sre_gitops_layout *l,
    char *err, size_t errlen);

/* ---- paths --------------------------------------------------------- */

/*
 * Check a repository-relative path: not empty, not absolute, no empty,
 * "." or ".." component, no ".git" component.  0, or -1 with why.
 */
int sre_gitops_relpath_ok(const char *rel, char *why, size_t whylen);

/*
 * Why a patch may not touch rel, or NULL when it may: a git metadata
 * file, CI configuration, a secret-looking name.  Static text.
 */
const char *sre_gitops_path_sensitive(const char *rel);

/*
 * Resolve rel (checked as above) under root into out (an absolute path,
 * which need not exist yet).  Every symlink on the existing part of the
 * path must resolve inside the root.  0, or -1 with a message in err.
 */
int sre_gitops_resolve(const char *root, const char *rel, char *out,
    size_t outlen, char *err, size_t errlen);

/*
 * Read a regular file (not a symlink) at rel under root into a malloc'd,
 * NUL terminated buffer.  1 read, 0 missing, -1 error (err).
 */
int sre_gitops_read(const char *root, const char *rel, char **text,
    size_t *len, char *err, size_t errlen);

/*
 * Replace the regular file at rel under root with len bytes of text,
 * through a temporary file renamed over it (keeping its mode).  A symlink
 * in its place is refused.  0, or -1 with a message in err.
 */
int sre_gitops_write(const char *root, const char *rel, const char *text,
    size_t len, char *err, size_t errlen);

/* ---- the deployment ------------------------------------------------ */

/*
 * The image of service's container in a deployment's text (the
 * container named after the service, else the first): 1 with *image
 * (malloc'd), 0 when there is none, -1 on a YAML error (err).
 */
int sre_gitops_image(const char *text, size_t len, const char *service,
    char **image, char *err, size_t errlen);

/* The replicas of a service's deployment: 1 with *n set, 0 when the
 * deployment or the field is missing, -1 on error (err). */
int sre_gitops_replicas(const char *root, const struct sre_gitops_layout *l,
    const char *service, long *n, char *err, size_t errlen);

/* ---- git ----------------------------------------------------------- */

/*
 * Run git in dir: "git -C DIR -c core.hooksPath=/dev/null ARGS..." (also
 * protocol.ext.allow=never and gc.auto=0), with
 * no terminal prompts, LC_ALL=C, env (may be NULL) added to the
 * environment and input (may be NULL) on standard input.  r receives the
 * outputs (free it with sre_subproc_result_free).  Returns 0 when git
 * exited 0, 1 when it failed (err holds its first line of stderr), -1
 * when it could not be run (err).
 */
int sre_git(const char *dir, const char *const *args, const char *const *env,
    const char *input, size_t inlen, struct sre_subproc_result *r,
    char *err, size_t errlen);

/* As sre_git, keeping only the first line of standard output in out. */
int sre_git_line(const char *dir, const char *const *args, char *out,
    size_t outlen, char *err, size_t errlen);

/* Non-zero for a usable branch-name component (an incident id in
 * sre/<incident>): [A-Za-z0-9._-], not starting with '.' or '-', no
 * "..", not ending in ".lock", at most 100 bytes. */
int sre_gitops_ref_ok(const char *s);

/* What sre_gitops_apply did. */
struct sre_gitops_edit {
	char summary[512];	/* "scale pricing from 2 to 4 replicas" */
	char reverted[64];	/* rollback by revert: the commit undone */
	char files[1024];	/* the files changed, space separated */
};

/*
 * Carry out proposal (borrowed) in the working tree wt, whose HEAD is the
 * base.  It is judged first, whoever approved it: by the catalog under
 * lim (NULL: the built-in limits) and against wt's repository
 * (sre_catalog_check, sre_catalog_repo_check); a scale by a delta is
 * held to lim's bounds too.  Then: edit the files with only the value's
 * bytes changed, or revert the newest commit on the service's directory,
 * or apply a patch after "git apply --check" and look at what git
 * staged (sre_catalog_staged_check); and stage the result.  now_ms
 * stamps restarts.  0 done, 1 nothing to change (err says why), or -1
 * with a message in err (nothing is committed either way).
 */
int sre_gitops_apply(const char *wt, jv proposal,
    const struct sre_gitops_layout *l, const struct sre_catalog_limits *lim,
    int64_t now_ms, struct sre_gitops_edit *e, char *err, size_t errlen);

#endif
