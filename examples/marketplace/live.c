/*
 * live.c: --live mode's inputs.  The control file injects and clears
 * chaos; the GitOps repository is the desired state that decides whether
 * a fault still bites (the deployed image tag for a bad release, replicas
 * for saturation, DB_POOL_SIZE for pool exhaustion, a rollout of the pods
 * for a leak or stuck workers).  Both are polled by
 * mtime, size and inode: cheap, and a `git checkout` or `git revert`
 * rewrites the files it changes.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#include "mp.h"

int64_t
mp_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

void
mp_sleep_until(int64_t t)
{
	struct timespec ts;

	ts.tv_sec = (time_t)(t / NS_PER_S);
	ts.tv_nsec = (long)(t % NS_PER_S);
	/* EINTR (a signal) ends the sleep early: the caller re-checks */
	clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &ts, NULL);
}

/* Refresh *st from path; true if it differs from before. */
static bool
changed(const char *path, struct mp_fstat *st)
{
	struct stat sb;
	struct mp_fstat now = { 0, 0, 0, false };

	if (stat(path, &sb) == 0) {
		now.exists = true;
		now.mtime_ns = (int64_t)sb.st_mtim.tv_sec * NS_PER_S + sb.st_mtim.tv_nsec;
		now.size = (int64_t)sb.st_size;
		now.ino = (uint64_t)sb.st_ino;
	}
	if (now.exists == st->exists && now.mtime_ns == st->mtime_ns && now.size == st->size &&
	    now.ino == st->ino)
		return false;
	*st = now;
	return true;
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/* A YAML scalar: drop a trailing comment and quotes. */
static char *
scalar(char *s)
{
	char *h;

	s = trim(s);
	if ((h = strstr(s, " #")) != NULL)
		*h = '\0';
	s = trim(s);
	if ((*s == '"' || *s == '\'') && strlen(s) >= 2 && s[strlen(s) - 1] == *s) {
		s[strlen(s) - 1] = '\0';
		s++;
	}
	return s;
}

/*
 * The first `replicas:`, the first container `image:` and the first
 * restartedAt annotation (a rollout of the pods) of a Deployment.
 * Not a YAML parser: the files are ours and the template keeps them simple.
 */
static void
read_deployment(const char *path, int *replicas, char *tag, size_t taglen, char *rst,
    size_t rstlen)
{
	FILE *fp = fopen(path, "r");
	char line[1024];
	bool got_r = false, got_i = false, got_a = false;

	if (fp == NULL)
		return;
	while (fgets(line, sizeof(line), fp) && !(got_r && got_i && got_a)) {
		char *p = trim(line), *a;

		if (*p == '#')
			continue;
		if (!got_a && (a = strstr(p, "restartedAt:")) != NULL) {
			snprintf(rst, rstlen, "%s", scalar(a + 12));
			got_a = true;
			continue;
		}
		if (p[0] == '-' && p[1] == ' ')
			p = trim(p + 1);
		if (!got_r && strncmp(p, "replicas:", 9) == 0) {
			uint64_t v;

			if (mp_parse_u64(scalar(p + 9), &v) == 0 && v < 10000) {
				*replicas = (int)v;
				got_r = true;
			}
		} else if (!got_i && strncmp(p, "image:", 6) == 0) {
			char *img = scalar(p + 6), *slash = strrchr(img, '/'), *colon = strrchr(img, ':');

			if (colon && (!slash || colon > slash) && colon[1]) {
				snprintf(tag, taglen, "%s", colon + 1);
				got_i = true;
			}
		}
	}
	fclose(fp);
}

static void
read_config(const char *path, struct mp_svc *s)
{
	FILE *fp = fopen(path, "r");
	char line[1024];

	if (fp == NULL)
		return;
	while (fgets(line, sizeof(line), fp)) {
		char *p = trim(line), *eq;
		uint64_t v;

		if (*p == '#' || (eq = strchr(p, '=')) == NULL)
			continue;
		*eq = '\0';
		if (strcmp(trim(p), "DB_POOL_SIZE") == 0 && mp_parse_u64(scalar(eq + 1), &v) == 0 &&
		    v > 0 && v < 100000)
			s->pool_size = (int)v;
		else if (strcmp(trim(p), "DB_POOL_TIMEOUT_MS") == 0 &&
		    mp_parse_u64(scalar(eq + 1), &v) == 0 && v > 0 && v < 600000)
			s->pool_timeout_ms = (int)v;
	}
	fclose(fp);
}

int
mp_live_gitops(struct mp_live *l, struct mp_gen *g, bool force, char *errbuf, size_t errlen)
{
	struct mp_topo *t = g->t;
	char path[1100];
	struct stat sb;
	int any = 0;

	snprintf(path, sizeof(path), "%s/services", l->gitops);
	if (stat(path, &sb) != 0) {
		snprintf(errbuf, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(sb.st_mode)) {
		snprintf(errbuf, errlen, "%s: not a directory", path);
		return -1;
	}
	for (int i = 0; i < t->nsvc; i++) {
		struct mp_svc *s = &t->svc[i];
		bool dep, cfg;

		snprintf(path, sizeof(path), "%s/services/%s/deployment.yaml", l->gitops, s->name);
		dep = changed(path, &l->svc_st[i][0]);
		if (dep || force) {
			char tag[sizeof(s->version)], rst[sizeof(s->restarted_at)];
			int replicas = s->replicas;

			snprintf(tag, sizeof(tag), "%s", s->version);
			snprintf(rst, sizeof(rst), "%s", s->restarted_at);
			read_deployment(path, &replicas, tag, sizeof(tag), rst, sizeof(rst));
			if (strcmp(rst, s->restarted_at) != 0) {
				/* a rollout: new pods, process state gone */
				if (!force) {
					fprintf(stderr, "sre-marketplace: gitops: %s restarted (%s)\n",
					    s->name, rst);
					s->restart_ns = mp_now_ns();
					any = 1;
				}
				snprintf(s->restarted_at, sizeof(s->restarted_at), "%s", rst);
			}
			if (strcmp(tag, s->version) != 0) {
				/* spans before the change keep the old resource */
				mp_gen_flush_all(g);
				if (!force)
					fprintf(stderr, "sre-marketplace: gitops: %s image tag %s -> %s\n",
					    s->name, s->version, tag);
				snprintf(s->version, sizeof(s->version), "%s", tag);
				mp_topo_resource(t, i);
				any = 1;
			}
			if (replicas != s->replicas) {
				if (!force)
					fprintf(stderr, "sre-marketplace: gitops: %s replicas %d -> %d\n",
					    s->name, s->replicas, replicas);
				s->replicas = replicas;
				any = 1;
			}
		}
		snprintf(path, sizeof(path), "%s/services/%s/config.env", l->gitops, s->name);
		cfg = changed(path, &l->svc_st[i][1]);
		if (cfg || force) {
			int before = s->pool_size;

			read_config(path, s);
			if (before != s->pool_size) {
				if (!force)
					fprintf(stderr, "sre-marketplace: gitops: %s DB_POOL_SIZE %d -> %d\n",
					    s->name, before, s->pool_size);
				any = 1;
			}
		}
	}
	return any;
}

/*
 * The next whitespace-separated token of *sp, NUL-terminated in place; a
 * value may be quoted (op="POST /v1/price").  NULL at the end of the line.
 */
static char *
next_token(char **sp)
{
	char *p = *sp, *tok, *o;

	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	if (*p == '\0') {
		*sp = p;
		return NULL;
	}
	tok = o = p;
	while (*p && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') {
		if (*p == '"') {
			for (p++; *p && *p != '"'; p++)
				*o++ = *p;
			if (*p == '"')
				p++;
			continue;
		}
		*o++ = *p++;
	}
	if (*p)
		p++;
	*o = '\0';
	*sp = p;
	return tok;
}

/* One fault wanted by the control file. */
struct want {
	int kind, svc, op;
	double intensity, pool_needed;
	char bad_tag[24];
};

static int
parse_line(char *line, struct mp_live *l, struct mp_gen *g, struct want *w, int lineno,
    FILE *diag)
{
	char *rest = line, *tok;
	bool has_fault = false;
	const char *culprit = NULL, *op = NULL;

	memset(w, 0, sizeof(*w));
	w->svc = w->op = -1;
	w->intensity = l->intensity > 0 ? l->intensity : 1;
	while ((tok = next_token(&rest)) != NULL) {
		char *eq = strchr(tok, '='), *v;
		double d;

		if (*tok == '#')
			break;
		if (eq == NULL) {
			fprintf(diag, "sre-marketplace: control: line %d: '%s' is not key=value\n", lineno,
			    tok);
			continue;
		}
		*eq = '\0';
		v = eq + 1;
		if (strcmp(tok, "fault") == 0) {
			if ((w->kind = mp_fault_kind(v)) < 0) {
				fprintf(diag, "sre-marketplace: control: line %d: unknown fault '%s'\n",
				    lineno, v);
				return -1;
			}
			has_fault = true;
		} else if (strcmp(tok, "culprit") == 0 || strcmp(tok, "service") == 0)
			culprit = v;
		else if (strcmp(tok, "operation") == 0 || strcmp(tok, "op") == 0)
			op = v;
		else if (strcmp(tok, "intensity") == 0 && mp_parse_dbl(v, &d) == 0 && d > 0)
			w->intensity = d;
		else if (strcmp(tok, "pool_needed") == 0 && mp_parse_dbl(v, &d) == 0 && d > 0)
			w->pool_needed = d;
		else if (strcmp(tok, "release_bad_tag") == 0 || strcmp(tok, "bad_tag") == 0) {
			snprintf(w->bad_tag, sizeof(w->bad_tag), "%s", v);
			if (!has_fault)
				snprintf(l->bad_tag, sizeof(l->bad_tag), "%s", v);
		} else if (strcmp(tok, "load") == 0 && mp_parse_dbl(v, &d) == 0 && d > 0)
			g->load = d;
		else
			fprintf(diag, "sre-marketplace: control: line %d: ignoring '%s=%s'\n", lineno,
			    tok, v);
	}
	if (!has_fault || w->kind == F_NONE)
		return 0;
	if (culprit == NULL || (w->svc = mp_topo_find(g->t, culprit)) < 0) {
		fprintf(diag, "sre-marketplace: control: line %d: fault=%s needs culprit=SERVICE (a known one)\n",
		    lineno, mp_fault_name(w->kind));
		return -1;
	}
	if (w->kind == F_POOL && g->t->svc[w->svc].ds != DS_POSTGRES) {
		fprintf(diag, "sre-marketplace: control: line %d: fault=pool needs a PostgreSQL datastore culprit\n",
		    lineno);
		return -1;
	}
	if (op && (w->op = mp_topo_find_op(g->t, w->svc, op)) < 0) {
		fprintf(diag, "sre-marketplace: control: line %d: %s has no operation '%s'\n", lineno,
		    culprit, op);
		return -1;
	}
	return 1;
}

/* Drop cleared faults (the oldest history) to make room. */
static void
compact(struct mp_gen *g)
{
	int j = 0;

	for (int i = 0; i < g->nfault; i++)
		if (!g->fault[i].cleared)
			g->fault[j++] = g->fault[i];
	g->nfault = j;
}

int
mp_live_control(struct mp_live *l, struct mp_gen *g, int64_t now, FILE *diag)
{
	struct want want[MP_MAX_FAULTS];
	int nwant = 0, lineno = 0;
	bool keep[MP_MAX_FAULTS] = { false };
	char line[1024];
	FILE *fp;

	if (!changed(l->control, &l->control_st))
		return 0;
	l->bad_tag[0] = '\0';
	g->load = 1;
	if ((fp = fopen(l->control, "r")) != NULL) {
		while (fgets(line, sizeof(line), fp)) {
			struct want w;

			lineno++;
			if (parse_line(line, l, g, &w, lineno, diag) == 1 && nwant < MP_MAX_FAULTS)
				want[nwant++] = w;
		}
		fclose(fp);
	} else if (errno != ENOENT)
		fprintf(diag, "sre-marketplace: control: %s: %s\n", l->control, strerror(errno));

	/* keep what is still wanted, clear what is not */
	for (int i = 0; i < g->nfault; i++) {
		struct mp_fault *f = &g->fault[i];

		if (!f->live || f->cleared)
			continue;
		for (int k = 0; k < nwant; k++) {
			if (!keep[k] && want[k].kind == f->kind && want[k].svc == f->svc &&
			    want[k].op == f->op) {
				keep[k] = true;
				f->intensity = want[k].intensity;
				goto next;
			}
		}
		f->cleared = true;
		f->end_ns = now;
		fprintf(diag, "sre-marketplace: control: cleared %s on %s\n", mp_fault_name(f->kind),
		    g->t->svc[f->svc].name);
next:;
	}
	for (int k = 0; k < nwant; k++) {
		struct mp_fault *f;
		struct mp_svc *s;
		const char *tag;

		if (keep[k])
			continue;
		if (g->nfault == MP_MAX_FAULTS)
			compact(g);
		if (g->nfault == MP_MAX_FAULTS) {
			fprintf(diag, "sre-marketplace: control: too many faults\n");
			break;
		}
		f = &g->fault[g->nfault++];
		s = &g->t->svc[want[k].svc];
		memset(f, 0, sizeof(*f));
		f->kind = want[k].kind;
		f->svc = want[k].svc;
		f->op = want[k].op;
		f->intensity = want[k].intensity;
		f->start_ns = now;
		f->end_ns = INT64_MAX;
		f->live = true;
		f->load0 = mp_gen_rate_at(g, now) / (g->load > 0 ? g->load : 1);
		f->replicas0 = s->replicas;
		f->pool_needed = want[k].pool_needed > 0 ? want[k].pool_needed
		                                         : (1 + 0.5 * f->intensity) * s->pool_size;
		snprintf(f->from_version, sizeof(f->from_version), "%s", s->version);
		if (f->kind == F_RELEASE) {
			tag = want[k].bad_tag[0] ? want[k].bad_tag : l->bad_tag;
			if (g->gitops) {
				/* errors while this tag is deployed: by default the one deployed now */
				snprintf(f->bad_tag, sizeof(f->bad_tag), "%s", tag[0] ? tag : s->version);
				memcpy(f->to_version, f->bad_tag, sizeof(f->to_version));
			} else {
				if (tag[0]) {
					snprintf(s->version_new, sizeof(s->version_new), "%s", tag);
					mp_gen_flush_all(g);
					mp_topo_resource(g->t, f->svc);
				}
				snprintf(f->to_version, sizeof(f->to_version), "%s", s->version_new);
			}
		}
		fprintf(diag, "sre-marketplace: control: injected %s on %s\n", mp_fault_name(f->kind),
		    s->name);
	}
	return 1;
}
