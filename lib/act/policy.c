/* policy.c: sre-guard's policy: limits, freeze windows, jq rules. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jq.h>

#include "event.h"
#include "evtime.h"
#include "gitops.h"
#include "policy.h"
#include "yamlset.h"

#define POLICY_MAX	(1u * 1024 * 1024)
#define MAX_RULES	256
#define MAX_FREEZE	64
#define MAX_SERVICES	1024
#define MAX_KEYS	256

/* A "services" entry: what the catalog allows one service ("*": all). */
struct svc {
	char *name;
	long min, max;			/* 0: not said */
	char **keys;			/* NULL: not said; NULL terminated */
};

struct rule {
	char *id;
	char *when;
	char *reason;
	int decision;
	int line;
	jq_state *jq;
};

struct freeze {
	char *spec;
	int weekly;
	int64_t from, until;		/* absolute */
	unsigned days;			/* weekly: bit 0 Sunday .. 6 */
	int start, end;			/* minutes of the day */
};

struct sre_policy {
	struct sre_policy_limits lim;
	struct rule rules[MAX_RULES];
	int nrules;
	int dflt;
	char *dflt_reason;
	struct freeze fz[MAX_FREEZE];
	int nfz;
	struct svc *svc;
	int nsvc;
	jv warnings;
};

static const char *const decisions[] = { "approve", "veto", "escalate" };

const char *
sre_decision_name(int d)
{
	return d >= 0 && d <= 2 ? decisions[d] : "?";
}

int
sre_decision_parse(const char *s)
{
	int i;

	for (i = 0; s != NULL && i < 3; i++)
		if (strcmp(s, decisions[i]) == 0)
			return i;
	return -1;
}

static void
limits_default(struct sre_policy_limits *l)
{
	l->min_confidence = SRE_POLICY_MIN_CONFIDENCE;
	l->low_confidence = SRE_VETO;
	l->max_scale_factor = SRE_POLICY_MAX_SCALE_FACTOR;
	l->min_replicas = SRE_CATALOG_MIN_REPLICAS;
	l->max_replicas = SRE_POLICY_MAX_REPLICAS;
	l->approvals_per_hour = SRE_POLICY_APPROVALS_HOUR;
	l->service_approvals_per_hour = SRE_POLICY_SERVICE_HOUR;
	l->loop_threshold = SRE_POLICY_LOOP_THRESHOLD;
	l->loop_window_ms = SRE_POLICY_LOOP_WINDOW_MS;
	l->max_actions = SRE_POLICY_MAX_ACTIONS;
}

void
sre_policy_free(struct sre_policy *p)
{
	int i;

	if (p == NULL)
		return;
	for (i = 0; i < p->nrules; i++) {
		free(p->rules[i].id);
		free(p->rules[i].when);
		free(p->rules[i].reason);
		if (p->rules[i].jq != NULL)
			jq_teardown(&p->rules[i].jq);
	}
	for (i = 0; i < p->nfz; i++)
		free(p->fz[i].spec);
	for (i = 0; i < p->nsvc; i++) {
		char **k;

		free(p->svc[i].name);
		for (k = p->svc[i].keys; k != NULL && *k != NULL; k++)
			free(*k);
		free(p->svc[i].keys);
	}
	free(p->svc);
	free(p->dflt_reason);
	jv_free(p->warnings);
	free(p);
}

static struct sre_policy *
policy_new(void)
{
	struct sre_policy *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	limits_default(&p->lim);
	p->dflt = SRE_APPROVE;
	p->warnings = jv_array();
	return p;
}

/* ---- problems ------------------------------------------------------ */

struct parse {
	const char *name;
	jv problems;
};

static void problem(struct parse *ps, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
problem(struct parse *ps, int line, const char *fmt, ...)
{
	char msg[1024], full[1400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		snprintf(full, sizeof(full), "%s:%d: %s", ps->name, line, msg);
	else
		snprintf(full, sizeof(full), "%s: %s", ps->name, msg);
	ps->problems = jv_array_append(ps->problems, jv_string(full));
}

static int
line_of(jv obj)
{
	double d;

	return sre_jv_num(obj, "__line__", &d) == 0 ? (int)d : 0;
}

/* ---- freeze windows ------------------------------------------------ */

static const char *const wdays[] = {
	"sun", "mon", "tue", "wed", "thu", "fri", "sat"
};

static int
day_of(const char *s, size_t n)
{
	int i;

	if (n != 3)
		return -1;
	for (i = 0; i < 7; i++)
		if (strncasecmp(s, wdays[i], 3) == 0)
			return i;
	return -1;
}

static int
hhmm(const char *s, int *min)
{
	int h, m;

	if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]) ||
	    s[2] != ':' || !isdigit((unsigned char)s[3]) ||
	    !isdigit((unsigned char)s[4]))
		return -1;
	h = (s[0] - '0') * 10 + s[1] - '0';
	m = (s[3] - '0') * 10 + s[4] - '0';
	if (h > 24 || m > 59 || (h == 24 && m != 0))
		return -1;
	*min = h * 60 + m;
	return 0;
}

static int
parse_days(const char *s, size_t n, unsigned *mask)
{
	const char *p = s, *end = s + n;

	*mask = 0;
	if (n == 1 && *s == '*') {
		*mask = 0x7f;
		return 0;
	}
	while (p < end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *stop = comma ? comma : end;
		const char *dash = memchr(p, '-', (size_t)(stop - p));
		int a, b;

		if (dash != NULL) {
			a = day_of(p, (size_t)(dash - p));
			b = day_of(dash + 1, (size_t)(stop - dash - 1));
		} else
			a = b = day_of(p, (size_t)(stop - p));
		if (a < 0 || b < 0)
			return -1;
		for (;; a = (a + 1) % 7) {
			*mask |= 1u << a;
			if (a == b)
				break;
		}
		p = comma ? comma + 1 : end;
	}
	return *mask ? 0 : -1;
}

int
sre_policy_add_freeze(struct sre_policy *p, const char *spec, char *err,
    size_t errlen)
{
	struct freeze f;
	const char *slash, *sp;
	char a[64], b[64];

	memset(&f, 0, sizeof(f));
	if (p->nfz == MAX_FREEZE) {
		snprintf(err, errlen, "at most %d freeze windows", MAX_FREEZE);
		return -1;
	}
	if ((slash = strchr(spec, '/')) != NULL) {
		if ((size_t)(slash - spec) >= sizeof(a) ||
		    strlen(slash + 1) >= sizeof(b))
			goto bad;
		snprintf(a, sizeof(a), "%.*s", (int)(slash - spec), spec);
		snprintf(b, sizeof(b), "%s", slash + 1);
		if (sre_time_parse(a, &f.from) < 0 ||
		    sre_time_parse(b, &f.until) < 0 || f.until <= f.from)
			goto bad;
	} else {
		f.weekly = 1;
		sp = strchr(spec, ' ');
		if (parse_days(spec, sp ? (size_t)(sp - spec) : strlen(spec),
		    &f.days) < 0)
			goto bad;
		f.start = 0;
		f.end = 24 * 60;
		if (sp != NULL) {
			while (*sp == ' ')
				sp++;
			if (strlen(sp) != 11 || hhmm(sp, &f.start) < 0 ||
			    sp[5] != '-' || hhmm(sp + 6, &f.end) < 0 ||
			    f.start == f.end)
				goto bad;
		}
	}
	if ((f.spec = strdup(spec)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	p->fz[p->nfz++] = f;
	return 0;
bad:
	snprintf(err, errlen, "bad freeze window '%.100s' (want FROM/UNTIL "
	    "times or \"DAYS[ HH:MM-HH:MM]\")", spec);
	return -1;
}

const char *
sre_policy_frozen(const struct sre_policy *p, int64_t ts)
{
	time_t t = (time_t)(ts / 1000);
	struct tm tm;
	int i, m, wd, prev;

	if (gmtime_r(&t, &tm) == NULL)
		return NULL;
	m = tm.tm_hour * 60 + tm.tm_min;
	wd = tm.tm_wday;
	prev = (wd + 6) % 7;
	for (i = 0; i < p->nfz; i++) {
		const struct freeze *f = &p->fz[i];

		if (!f->weekly) {
			if (ts >= f->from && ts < f->until)
				return f->spec;
		} else if (f->start < f->end) {
			if ((f->days & (1u << wd)) && m >= f->start &&
			    m < f->end)
				return f->spec;
		} else if (((f->days & (1u << wd)) && m >= f->start) ||
		    ((f->days & (1u << prev)) && m < f->end))
			return f->spec;
	}
	return NULL;
}

/* ---- parsing ------------------------------------------------------- */

static int
id_ok(const char *s)
{
	const char *q;

	if (s == NULL || *s == '\0' || strlen(s) > 64)
		return 0;
	for (q = s; *q != '\0'; q++)
		if (!isalnum((unsigned char)*q) && strchr("._-", *q) == NULL)
			return 0;
	return 1;
}

/* jq's compile messages, collected. */
static void
jq_err_cb(void *data, jv msg)
{
	jv *errs = data;

	if (jv_get_kind(msg) == JV_KIND_STRING &&
	    jv_get_kind(*errs) == JV_KIND_ARRAY &&
	    jv_array_length(jv_copy(*errs)) == 0)
		*errs = jv_array_append(*errs, jv_copy(msg));
	jv_free(msg);
}

/* "jq: error: X at <top-level>, line N:..." -> "X" */
static void
jq_msg_tidy(const char *m, char *out, size_t outlen)
{
	const char *cut;
	size_t n;

	if (strncmp(m, "jq: error: ", 11) == 0)
		m += 11;
	n = strlen(m);
	if ((cut = strstr(m, " at <top-level>")) != NULL)
		n = (size_t)(cut - m);
	if ((cut = strstr(m, " (Unix shell quoting issues?)")) != NULL &&
	    (size_t)(cut - m) < n)
		n = (size_t)(cut - m);
	if ((cut = memchr(m, '\n', n)) != NULL)
		n = (size_t)(cut - m);
	snprintf(out, outlen, "%.*s", (int)n, m);
}

static jq_state *
rule_compile(const char *when, char *err, size_t errlen)
{
	jq_state *jq = jq_init();
	jv errs = jv_array();
	char *prog;
	size_t n;

	if (jq == NULL) {
		snprintf(err, errlen, "out of memory");
		jv_free(errs);
		return NULL;
	}
	/* The condition sees the diagnosis as "." and the context as $ctx;
	 * its first line stays line 1 of the program. */
	n = strlen(when) + 64;
	if ((prog = malloc(n)) == NULL) {
		jq_teardown(&jq);
		jv_free(errs);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(prog, n, ".[0] as $ctx | .[1] | (%s\n)", when);
	jq_set_error_cb(jq, jq_err_cb, &errs);
	if (!jq_compile(jq, prog)) {
		jv m = jv_array_length(jv_copy(errs)) > 0 ?
		    jv_array_get(jv_copy(errs), 0) : jv_string("does not "
		    "compile");

		jq_msg_tidy(jv_string_value(m), err, errlen);
		jv_free(m);
		jq_teardown(&jq);
		free(prog);
		jv_free(errs);
		return NULL;
	}
	jq_set_error_cb(jq, NULL, NULL);
	free(prog);
	jv_free(errs);
	return jq;
}

static const char *
str_member(jv o, const char *k)
{
	return sre_jv_str(o, k);
}

static void
parse_rule(struct sre_policy *p, struct parse *ps, jv r, int idx)
{
	struct rule *ru;
	const char *id, *when, *dec, *reason;
	char err[512];
	int line = line_of(r), i, bad = 0;

	if (jv_get_kind(r) != JV_KIND_OBJECT) {
		problem(ps, 0, "rule %d is not a mapping", idx + 1);
		return;
	}
	id = str_member(r, "id");
	when = str_member(r, "when");
	dec = str_member(r, "decision");
	reason = str_member(r, "reason");
	jv_object_foreach(r, k, v) {
		const char *ks = jv_string_value(k);

		if (strcmp(ks, "id") && strcmp(ks, "when") &&
		    strcmp(ks, "decision") && strcmp(ks, "reason") &&
		    strcmp(ks, "__line__")) {
			problem(ps, line, "rule %d: unknown key '%s'", idx + 1,
			    ks);
			bad = 1;
		}
		jv_free(k);
		jv_free(v);
	}
	if (!id_ok(id)) {
		problem(ps, line, "rule %d: id must be 1-64 letters, digits, "
		    "'.', '_' or '-'", idx + 1);
		return;
	}
	for (i = 0; i < p->nrules; i++)
		if (strcmp(p->rules[i].id, id) == 0) {
			problem(ps, line, "rule '%s': the id is used twice", id);
			bad = 1;
		}
	if (when == NULL || *when == '\0') {
		problem(ps, line, "rule '%s': no 'when' condition", id);
		bad = 1;
	}
	if (sre_decision_parse(dec) < 0) {
		problem(ps, line, "rule '%s': decision must be approve, veto "
		    "or escalate", id);
		bad = 1;
	}
	if (bad)
		return;
	if (p->nrules == MAX_RULES) {
		problem(ps, line, "more than %d rules", MAX_RULES);
		return;
	}
	ru = &p->rules[p->nrules];
	memset(ru, 0, sizeof(*ru));
	if ((ru->jq = rule_compile(when, err, sizeof(err))) == NULL) {
		problem(ps, line, "rule '%s': jq: %s", id, err);
		return;
	}
	ru->id = strdup(id);
	ru->when = strdup(when);
	ru->reason = reason ? strdup(reason) : NULL;
	ru->decision = sre_decision_parse(dec);
	ru->line = line;
	p->nrules++;
}

static void
warn_loose(struct sre_policy *p, const char *what, const char *builtin,
    const char *now)
{
	char msg[256];

	snprintf(msg, sizeof(msg), "the policy loosens %s from the built-in "
	    "%s to %s", what, builtin, now);
	p->warnings = jv_array_append(p->warnings, jv_string(msg));
}

static int
num_limit(struct parse *ps, jv lim, const char *key, double lo, double hi,
    double *out)
{
	jv v = sre_jv_get(lim, key);
	int rc = 0;

	if (jv_get_kind(v) == JV_KIND_INVALID) {
		jv_free(v);
		return 0;
	}
	if (jv_get_kind(v) != JV_KIND_NUMBER || jv_number_value(v) < lo ||
	    jv_number_value(v) > hi) {
		problem(ps, line_of(lim), "limits: %s must be a number from %g "
		    "to %g", key, lo, hi);
		rc = -1;
	} else {
		*out = jv_number_value(v);
		rc = 1;
	}
	jv_free(v);
	return rc;
}

static void
parse_limits(struct sre_policy *p, struct parse *ps, jv lim)
{
	struct sre_policy_limits *l = &p->lim;
	const char *s;
	char b[64];
	double d;

	if (jv_get_kind(lim) != JV_KIND_OBJECT) {
		problem(ps, 0, "limits must be a mapping");
		return;
	}
	jv_object_foreach(lim, k, v) {
		static const char *const known[] = {
			"min_confidence", "low_confidence", "max_scale_factor",
			"min_replicas", "max_replicas", "approvals_per_hour",
			"service_approvals_per_hour", "loop_threshold",
			"loop_window", "max_actions", "__line__", NULL
		};
		const char *const *w;
		const char *ks = jv_string_value(k);

		for (w = known; *w != NULL && strcmp(*w, ks) != 0; w++)
			;
		if (*w == NULL)
			problem(ps, line_of(lim), "limits: unknown key '%s'",
			    ks);
		jv_free(k);
		jv_free(v);
	}
	if (num_limit(ps, lim, "min_confidence", 0, 1, &d) > 0)
		l->min_confidence = d;
	if ((s = str_member(lim, "low_confidence")) != NULL) {
		int dec = sre_decision_parse(s);

		if (dec != SRE_VETO && dec != SRE_ESCALATE)
			problem(ps, line_of(lim), "limits: low_confidence must "
			    "be veto or escalate");
		else
			l->low_confidence = dec;
	}
	if (num_limit(ps, lim, "max_scale_factor", 1, 1000, &d) > 0)
		l->max_scale_factor = d;
	if (num_limit(ps, lim, "min_replicas", 1, SRE_CATALOG_REPLICAS_MAX,
	    &d) > 0)
		l->min_replicas = (long)d;
	if (num_limit(ps, lim, "max_replicas", 1, SRE_CATALOG_REPLICAS_MAX,
	    &d) > 0)
		l->max_replicas = (long)d;
	if (l->min_replicas > l->max_replicas)
		problem(ps, line_of(lim), "limits: min_replicas %ld is above "
		    "max_replicas %ld", l->min_replicas, l->max_replicas);
	if (num_limit(ps, lim, "approvals_per_hour", 0, 1e6, &d) > 0)
		l->approvals_per_hour = (long)d;
	if (num_limit(ps, lim, "service_approvals_per_hour", 0, 1e6, &d) > 0)
		l->service_approvals_per_hour = (long)d;
	if (num_limit(ps, lim, "loop_threshold", 0, 1e6, &d) > 0)
		l->loop_threshold = (long)d;
	if (num_limit(ps, lim, "max_actions", 1, 10, &d) > 0)
		l->max_actions = (long)d;
	if ((s = str_member(lim, "loop_window")) != NULL) {
		int64_t ms;

		if (sre_duration_parse(s, &ms) < 0 || ms < 60000)
			problem(ps, line_of(lim), "limits: loop_window must be "
			    "a duration of at least 1m");
		else
			l->loop_window_ms = ms;
	}

	/* Looser than built in: said out loud. */
	if (l->min_confidence < SRE_POLICY_MIN_CONFIDENCE) {
		snprintf(b, sizeof(b), "%g", l->min_confidence);
		warn_loose(p, "min_confidence", "0.6", b);
	}
	if (l->max_scale_factor > SRE_POLICY_MAX_SCALE_FACTOR) {
		snprintf(b, sizeof(b), "%g", l->max_scale_factor);
		warn_loose(p, "max_scale_factor", "2", b);
	}
	if (l->max_replicas > SRE_POLICY_MAX_REPLICAS) {
		snprintf(b, sizeof(b), "%ld", l->max_replicas);
		warn_loose(p, "max_replicas", "50", b);
	}
	if (l->approvals_per_hour == 0 ||
	    l->approvals_per_hour > SRE_POLICY_APPROVALS_HOUR) {
		snprintf(b, sizeof(b), "%ld", l->approvals_per_hour);
		warn_loose(p, "approvals_per_hour", "10",
		    l->approvals_per_hour ? b : "no limit");
	}
	if (l->service_approvals_per_hour == 0 ||
	    l->service_approvals_per_hour > SRE_POLICY_SERVICE_HOUR) {
		snprintf(b, sizeof(b), "%ld", l->service_approvals_per_hour);
		warn_loose(p, "service_approvals_per_hour", "3",
		    l->service_approvals_per_hour ? b : "no limit");
	}
	if (l->loop_threshold == 0 ||
	    l->loop_threshold > SRE_POLICY_LOOP_THRESHOLD) {
		snprintf(b, sizeof(b), "%ld", l->loop_threshold);
		warn_loose(p, "loop_threshold", "3",
		    l->loop_threshold ? b : "no limit");
	}
	if (l->loop_window_ms < SRE_POLICY_LOOP_WINDOW_MS) {
		sre_duration_fmt(l->loop_window_ms, b, sizeof(b));
		warn_loose(p, "loop_window", "1h", b);
	}
}

/* One entry of "services": NAME: {config_keys: [...], min_replicas,
 * max_replicas}. */
static void
parse_service(struct sre_policy *p, struct parse *ps, const char *name,
    jv v)
{
	struct svc *sv;
	jv keys;
	double d;
	int i, n, line = line_of(v);

	if (strcmp(name, "*") != 0 && !sre_gitops_service_ok(name)) {
		problem(ps, line, "services: '%s' is not a service name (or "
		    "\"*\")", name);
		return;
	}
	if (jv_get_kind(v) != JV_KIND_OBJECT) {
		problem(ps, line, "services: %s must be a mapping", name);
		return;
	}
	jv_object_foreach(v, k, m) {
		const char *ks = jv_string_value(k);

		if (strcmp(ks, "config_keys") && strcmp(ks, "min_replicas") &&
		    strcmp(ks, "max_replicas") && strcmp(ks, "__line__"))
			problem(ps, line, "services: %s: unknown key '%s'",
			    name, ks);
		jv_free(k);
		jv_free(m);
	}
	if (p->nsvc == MAX_SERVICES) {
		problem(ps, line, "services: more than %d", MAX_SERVICES);
		return;
	}
	if (p->nsvc % 16 == 0) {
		struct svc *m = realloc(p->svc, (size_t)(p->nsvc + 16) *
		    sizeof(*m));

		if (m == NULL) {
			problem(ps, line, "out of memory");
			return;
		}
		p->svc = m;
	}
	sv = &p->svc[p->nsvc++];
	memset(sv, 0, sizeof(*sv));
	sv->name = strdup(name);
	if (num_limit(ps, v, "min_replicas", 1, SRE_CATALOG_REPLICAS_MAX,
	    &d) > 0)
		sv->min = (long)d;
	if (num_limit(ps, v, "max_replicas", 1, SRE_CATALOG_REPLICAS_MAX,
	    &d) > 0)
		sv->max = (long)d;
	if (sv->min > 0 && sv->max > 0 && sv->min > sv->max)
		problem(ps, line, "services: %s: min_replicas %ld is above "
		    "max_replicas %ld", name, sv->min, sv->max);
	if (sv->max > SRE_POLICY_MAX_REPLICAS) {
		char what[128], b[32];

		snprintf(what, sizeof(what), "max_replicas of %s", name);
		snprintf(b, sizeof(b), "%ld", sv->max);
		warn_loose(p, what, "50", b);
	}
	keys = sre_jv_get(v, "config_keys");
	if (jv_get_kind(keys) == JV_KIND_INVALID) {
		jv_free(keys);
		return;
	}
	if (jv_get_kind(keys) != JV_KIND_ARRAY ||
	    (n = jv_array_length(jv_copy(keys))) > MAX_KEYS) {
		problem(ps, line, "services: %s: config_keys must be a list of "
		    "at most %d names", name, MAX_KEYS);
		jv_free(keys);
		return;
	}
	if ((sv->keys = calloc((size_t)n + 1, sizeof(char *))) == NULL) {
		problem(ps, line, "out of memory");
		jv_free(keys);
		return;
	}
	for (i = 0; i < n; i++) {
		jv k = jv_array_get(jv_copy(keys), i);

		if (jv_get_kind(k) != JV_KIND_STRING ||
		    !sre_catalog_key_ok(jv_string_value(k)))
			problem(ps, line, "services: %s: config_keys: item %d "
			    "is not an environment name (A-Z, 0-9, _)", name,
			    i + 1);
		else
			sv->keys[i] = strdup(jv_string_value(k));
		jv_free(k);
		if (sv->keys[i] == NULL)
			break;
	}
	jv_free(keys);
}

struct sre_policy *
sre_policy_parse(const char *text, size_t len, const char *name,
    jv *problems)
{
	struct parse ps = { name, jv_array() };
	struct sre_policy *p;
	char err[512];
	jv doc, v;
	int i, n;

	if ((p = policy_new()) == NULL) {
		problem(&ps, 0, "out of memory");
		*problems = ps.problems;
		return NULL;
	}
	doc = sre_yaml_to_jv(text, len, SRE_YAML_LINES, err, sizeof(err));
	if (!jv_is_valid(doc)) {
		problem(&ps, 0, "%s", err);
		goto out;
	}
	if (jv_get_kind(doc) == JV_KIND_NULL) {
		jv_free(doc);
		doc = jv_object();
	}
	if (jv_get_kind(doc) != JV_KIND_OBJECT) {
		problem(&ps, 1, "a policy is a mapping (see sre-policy(5))");
		goto out;
	}
	jv_object_foreach(doc, k, val) {
		static const char *const known[] = {
			"version", "limits", "services", "freeze", "rules",
			"default", "__line__", NULL
		};
		const char *const *w;
		const char *ks = jv_string_value(k);

		for (w = known; *w != NULL && strcmp(*w, ks) != 0; w++)
			;
		if (*w == NULL)
			problem(&ps, 0, "unknown key '%s'", ks);
		jv_free(k);
		jv_free(val);
	}
	v = sre_jv_get(doc, "version");
	if (jv_get_kind(v) != JV_KIND_INVALID &&
	    (jv_get_kind(v) != JV_KIND_NUMBER || jv_number_value(v) != 1))
		problem(&ps, 0, "version must be 1");
	jv_free(v);
	v = sre_jv_get(doc, "limits");
	if (jv_get_kind(v) != JV_KIND_INVALID && jv_get_kind(v) != JV_KIND_NULL)
		parse_limits(p, &ps, v);
	jv_free(v);
	v = sre_jv_get(doc, "services");
	if (jv_get_kind(v) == JV_KIND_OBJECT) {
		jv_object_foreach(v, k, sv) {
			if (strcmp(jv_string_value(k), "__line__") != 0)
				parse_service(p, &ps, jv_string_value(k), sv);
			jv_free(k);
			jv_free(sv);
		}
	} else if (jv_get_kind(v) != JV_KIND_INVALID &&
	    jv_get_kind(v) != JV_KIND_NULL)
		problem(&ps, 0, "services must be a mapping");
	jv_free(v);
	v = sre_jv_get(doc, "freeze");
	if (jv_get_kind(v) == JV_KIND_ARRAY) {
		n = jv_array_length(jv_copy(v));
		for (i = 0; i < n; i++) {
			jv f = jv_array_get(jv_copy(v), i);

			if (jv_get_kind(f) != JV_KIND_STRING)
				problem(&ps, 0, "freeze: item %d is not a "
				    "string", i + 1);
			else if (sre_policy_add_freeze(p, jv_string_value(f),
			    err, sizeof(err)) < 0)
				problem(&ps, 0, "freeze: %s", err);
			jv_free(f);
		}
	} else if (jv_get_kind(v) != JV_KIND_INVALID &&
	    jv_get_kind(v) != JV_KIND_NULL)
		problem(&ps, 0, "freeze must be a list");
	jv_free(v);
	v = sre_jv_get(doc, "rules");
	if (jv_get_kind(v) == JV_KIND_ARRAY) {
		n = jv_array_length(jv_copy(v));
		for (i = 0; i < n; i++) {
			jv r = jv_array_get(jv_copy(v), i);

			parse_rule(p, &ps, r, i);
			jv_free(r);
		}
	} else if (jv_get_kind(v) != JV_KIND_INVALID &&
	    jv_get_kind(v) != JV_KIND_NULL)
		problem(&ps, 0, "rules must be a list");
	jv_free(v);
	v = sre_jv_get(doc, "default");
	if (jv_get_kind(v) == JV_KIND_STRING) {
		if ((p->dflt = sre_decision_parse(jv_string_value(v))) < 0)
			problem(&ps, 0, "default must be approve, veto or "
			    "escalate");
	} else if (jv_get_kind(v) == JV_KIND_OBJECT) {
		const char *r = str_member(v, "reason");

		if ((p->dflt = sre_decision_parse(str_member(v,
		    "decision"))) < 0)
			problem(&ps, line_of(v), "default: decision must be "
			    "approve, veto or escalate");
		if (r != NULL)
			p->dflt_reason = strdup(r);
	} else if (jv_get_kind(v) != JV_KIND_INVALID)
		problem(&ps, 0, "default must be a decision");
	jv_free(v);
out:
	jv_free(doc);
	if (jv_array_length(jv_copy(ps.problems)) > 0) {
		sre_policy_free(p);
		p = NULL;
	}
	*problems = ps.problems;
	return p;
}

struct sre_policy *
sre_policy_load(const char *path, jv *problems)
{
	struct sre_policy *p;
	char *buf;
	size_t n = 0;
	FILE *fp;

	if (path == NULL) {
		*problems = jv_array();
		if ((p = policy_new()) == NULL)
			*problems = jv_array_append(*problems,
			    jv_string("out of memory"));
		return p;
	}
	if ((fp = fopen(path, "re")) == NULL) {
		char msg[1024];

		snprintf(msg, sizeof(msg), "%s: %s", path, strerror(errno));
		*problems = jv_array_append(jv_array(), jv_string(msg));
		return NULL;
	}
	if ((buf = malloc(POLICY_MAX + 1)) == NULL) {
		fclose(fp);
		*problems = jv_array_append(jv_array(),
		    jv_string("out of memory"));
		return NULL;
	}
	n = fread(buf, 1, POLICY_MAX + 1, fp);
	if (ferror(fp) || n > POLICY_MAX) {
		char msg[1024];

		snprintf(msg, sizeof(msg), "%s: %s", path, ferror(fp) ?
		    strerror(errno) : "larger than 1 MiB");
		fclose(fp);
		free(buf);
		*problems = jv_array_append(jv_array(), jv_string(msg));
		return NULL;
	}
	fclose(fp);
	p = sre_policy_parse(buf, n, path, problems);
	free(buf);
	return p;
}

const struct sre_policy_limits *
sre_policy_limits(const struct sre_policy *p)
{
	return &p->lim;
}

jv
sre_policy_warnings(const struct sre_policy *p)
{
	return jv_copy(p->warnings);
}

int
sre_policy_nrules(const struct sre_policy *p)
{
	return p->nrules;
}

int
sre_policy_default(const struct sre_policy *p)
{
	return p->dflt;
}

/* ---- deciding ------------------------------------------------------ */

static void
svc_apply(const struct svc *sv, struct sre_catalog_limits *out)
{
	if (sv->min > 0)
		out->min_replicas = sv->min;
	if (sv->max > 0)
		out->max_replicas = sv->max;
	if (sv->keys != NULL)
		out->config_keys = (const char *const *)sv->keys;
}

void
sre_policy_catalog(const struct sre_policy *p, const char *service,
    struct sre_catalog_limits *out)
{
	int i;

	sre_catalog_limits_default(out);
	out->min_replicas = p->lim.min_replicas;
	out->max_replicas = p->lim.max_replicas;
	for (i = 0; i < p->nsvc; i++)
		if (strcmp(p->svc[i].name, "*") == 0)
			svc_apply(&p->svc[i], out);
	for (i = 0; service != NULL && i < p->nsvc; i++)
		if (strcmp(p->svc[i].name, service) == 0)
			svc_apply(&p->svc[i], out);
}

long
sre_policy_scale_target(jv proposal, long current)
{
	jv params = sre_jv_get(proposal, "params");
	double r, d;
	long out = -1;

	if (current < 0)
		current = 1;
	if (sre_jv_num(params, "replicas", &r) == 0 && r == floor(r))
		out = (long)r;
	else if (sre_jv_num(params, "delta", &d) == 0 && d == floor(d))
		out = current + (long)d;
	jv_free(params);
	return out;
}

static jv
limits_jv(const struct sre_policy_limits *l)
{
	jv o = jv_object();

	o = jv_object_set(o, jv_string("min_confidence"),
	    jv_number(l->min_confidence));
	o = jv_object_set(o, jv_string("low_confidence"),
	    jv_string(sre_decision_name(l->low_confidence)));
	o = jv_object_set(o, jv_string("max_scale_factor"),
	    jv_number(l->max_scale_factor));
	o = jv_object_set(o, jv_string("min_replicas"),
	    jv_number((double)l->min_replicas));
	o = jv_object_set(o, jv_string("max_replicas"),
	    jv_number((double)l->max_replicas));
	o = jv_object_set(o, jv_string("approvals_per_hour"),
	    jv_number((double)l->approvals_per_hour));
	o = jv_object_set(o, jv_string("service_approvals_per_hour"),
	    jv_number((double)l->service_approvals_per_hour));
	o = jv_object_set(o, jv_string("loop_threshold"),
	    jv_number((double)l->loop_threshold));
	o = jv_object_set(o, jv_string("loop_window_ms"),
	    jv_number((double)l->loop_window_ms));
	o = jv_object_set(o, jv_string("max_actions"),
	    jv_number((double)l->max_actions));
	return o;
}

static int64_t
ts_of(jv d)
{
	int64_t ts;

	return sre_jv_int(d, "ts_ms", &ts) == 0 ? ts : sre_now_ms();
}

jv
sre_policy_context(const struct sre_policy *p, jv d,
    const struct sre_guard_facts *f)
{
	static const char *const names[] = {
		"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"
	};
	int64_t ts = ts_of(d);
	time_t t = (time_t)(ts / 1000);
	const char *fz = sre_policy_frozen(p, ts);
	jv c = jv_object(), prop;
	char stamp[64];
	struct tm tm;
	long nr;

	if (gmtime_r(&t, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	sre_time_fmt(ts, stamp, sizeof(stamp));
	prop = sre_jv_get(d, "proposal");
	nr = jv_get_kind(prop) == JV_KIND_OBJECT &&
	    sre_jv_str(prop, "action") != NULL &&
	    strcmp(sre_jv_str(prop, "action"), "scale") == 0 ?
	    sre_policy_scale_target(prop, f->replicas) : -1;
	jv_free(prop);
	c = jv_object_set(c, jv_string("ts_ms"), jv_number((double)ts));
	c = jv_object_set(c, jv_string("time"), jv_string(stamp));
	c = jv_object_set(c, jv_string("weekday"),
	    jv_string(names[tm.tm_wday % 7]));
	c = jv_object_set(c, jv_string("hour"), jv_number(tm.tm_hour));
	c = jv_object_set(c, jv_string("repo"), jv_bool(f->have_repo));
	c = jv_object_set(c, jv_string("services"),
	    jv_get_kind(f->services) == JV_KIND_ARRAY ? jv_copy(f->services) :
	    jv_array());
	c = jv_object_set(c, jv_string("target_exists"),
	    jv_bool(f->target_exists));
	c = jv_object_set(c, jv_string("replicas"), f->replicas >= 0 ?
	    jv_number((double)f->replicas) : jv_null());
	c = jv_object_set(c, jv_string("new_replicas"), nr >= 0 ?
	    jv_number((double)nr) : jv_null());
	c = jv_object_set(c, jv_string("approvals_last_hour"),
	    jv_number((double)f->approvals_hour));
	c = jv_object_set(c, jv_string("service_approvals_last_hour"),
	    jv_number((double)f->service_approvals_hour));
	c = jv_object_set(c, jv_string("fingerprint_actions"),
	    jv_number((double)f->fingerprint_actions));
	c = jv_object_set(c, jv_string("frozen"), fz ? jv_string(fz) :
	    jv_null());
	c = jv_object_set(c, jv_string("recovered"), jv_bool(f->recovered));
	c = jv_object_set(c, jv_string("acked"), jv_bool(f->acked));
	c = jv_object_set(c, jv_string("dry_run"), jv_bool(f->dry_run));
	c = jv_object_set(c, jv_string("limits"), limits_jv(&p->lim));
	return c;
}

struct decide {
	sre_policy_explain_fn explain;
	void *ectx;
	int decision;
	const char *rule;
	char reason[1024];
	int decided;
};

static void
say(struct decide *dc, const char *id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
say(struct decide *dc, const char *id, const char *fmt, ...)
{
	char msg[1200];
	va_list ap;

	if (dc->explain == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	dc->explain(dc->ectx, id, msg);
}

static void fire(struct decide *dc, const char *id, int decision,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
fire(struct decide *dc, const char *id, int decision, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dc->reason, sizeof(dc->reason), fmt, ap);
	va_end(ap);
	dc->decision = decision;
	dc->rule = id;
	dc->decided = 1;
	say(dc, id, "%s: %s", sre_decision_name(decision), dc->reason);
}

/* The built-in checks, in order; the first that fires decides.  Long
 * (about 125 lines) on purpose: the order is the policy's precedence,
 * read top to bottom as sre-policy(5) lists it; each check is a few
 * lines. */
static void
builtins(const struct sre_policy *p, jv d, const struct sre_guard_facts *f,
    struct decide *dc)
{
	const struct sre_policy_limits *l = &p->lim;
	const char *action, *target, *fz;
	const char *incident = sre_jv_str(d, "incident");
	const char *fp = sre_jv_str(d, "fingerprint");
	struct sre_catalog_limits cl;
	char why[512], w[32];
	double conf = 0;
	long nr, cur;
	int changes, fault;
	jv prop = sre_jv_get(d, "proposal");

	sre_policy_catalog(p, sre_jv_str(prop, "target"), &cl);
	if ((fault = sre_catalog_check(prop, &cl, why, sizeof(why))) !=
	    SRE_CATALOG_OK) {
		fire(dc, sre_catalog_rule(fault), SRE_VETO, "%s", why);
		goto out;
	}
	say(dc, "builtin:catalog", "pass");
	action = sre_jv_str(prop, "action");
	target = sre_jv_str(prop, "target");
	changes = strcmp(action, "observe") != 0;
	if (f->recovered) {
		fire(dc, "builtin:stale", SRE_VETO, "incident %s recovered "
		    "before the fix: the diagnosis is stale",
		    incident ? incident : "?");
		goto out;
	}
	say(dc, "builtin:stale", "pass");
	if (target == NULL) {
		fire(dc, "builtin:target", SRE_VETO, "%s without a target: "
		    "nothing to act on", action);
		goto out;
	}
	if (!f->have_repo) {
		fire(dc, "builtin:target", SRE_ESCALATE, "no GitOps repository "
		    "to check target %s against (--repo)", target);
		goto out;
	}
	if (!f->target_exists) {
		fire(dc, "builtin:target", SRE_VETO, "target %s is not a "
		    "service of the GitOps repository", target);
		goto out;
	}
	say(dc, "builtin:target", "pass");
	if (f->repo_problem != NULL) {
		fire(dc, sre_catalog_rule(f->repo_fault), SRE_VETO, "%s%s",
		    f->repo_fault == SRE_CATALOG_PATCH ? "patch refused: " : "",
		    f->repo_problem);
		goto out;
	}
	if (strcmp(action, "patch") == 0)
		say(dc, "builtin:patch", "pass");
	else if (strcmp(action, "rollback") == 0)
		say(dc, "builtin:history", "pass");
	if (strcmp(action, "scale") == 0) {
		cur = f->replicas >= 0 ? f->replicas : 1;
		nr = sre_policy_scale_target(prop, f->replicas);
		if (sre_catalog_replicas_ok(&cl, target, nr, why,
		    sizeof(why)) < 0) {
			fire(dc, "builtin:blast-radius", SRE_VETO, "%s", why);
			goto out;
		}
		if ((double)nr > (double)cur * l->max_scale_factor ||
		    (double)nr * l->max_scale_factor < (double)cur) {
			fire(dc, "builtin:blast-radius", SRE_VETO, "scale %s "
			    "from %ld to %ld replicas: more than a factor of "
			    "%g", target, cur, nr, l->max_scale_factor);
			goto out;
		}
		say(dc, "builtin:blast-radius", "pass: %ld to %ld replicas",
		    cur, nr);
	}
	if (sre_jv_num(d, "confidence", &conf) < 0 || isnan(conf))
		conf = 0;
	if (conf < l->min_confidence) {
		fire(dc, "builtin:confidence", l->low_confidence, "confidence "
		    "%g below %g", conf, l->min_confidence);
		goto out;
	}
	say(dc, "builtin:confidence", "pass: %g at least %g", conf,
	    l->min_confidence);
	if (!changes) {
		/* a culprit named with confidence, and no remedy of the
		 * catalog backed by the evidence: a human, now */
		fire(dc, "builtin:observe", SRE_ESCALATE, "%s is the likely "
		    "origin (confidence %g) and no remedy of the catalog "
		    "follows from the evidence: a human decides", target,
		    conf);
		goto out;
	}
	if ((fz = sre_policy_frozen(p, ts_of(d))) != NULL) {
		fire(dc, "builtin:freeze", SRE_ESCALATE, "change freeze (%s)",
		    fz);
		goto out;
	}
	say(dc, "builtin:freeze", "pass");
	if (l->approvals_per_hour > 0 &&
	    f->approvals_hour >= l->approvals_per_hour) {
		fire(dc, "builtin:rate", SRE_ESCALATE, "%ld approvals in the "
		    "last hour: the limit is %ld", f->approvals_hour,
		    l->approvals_per_hour);
		goto out;
	}
	if (l->service_approvals_per_hour > 0 &&
	    f->service_approvals_hour >= l->service_approvals_per_hour) {
		fire(dc, "builtin:rate", SRE_ESCALATE, "%ld approvals for %s "
		    "in the last hour: the limit is %ld",
		    f->service_approvals_hour, target,
		    l->service_approvals_per_hour);
		goto out;
	}
	say(dc, "builtin:rate", "pass");
	if (l->loop_threshold > 0 &&
	    f->fingerprint_actions >= l->loop_threshold) {
		sre_duration_fmt(l->loop_window_ms, w, sizeof(w));
		fire(dc, "builtin:loop", SRE_ESCALATE, "fingerprint %s acted on "
		    "%ld times within %s: a human decides", fp ? fp : "(none)",
		    f->fingerprint_actions, w);
		goto out;
	}
	say(dc, "builtin:loop", "pass");
out:
	jv_free(prop);
}

/* 1 matched, 0 not, -1 failed (msg in err). */
static int
rule_eval(const struct rule *r, jv input, char *err, size_t errlen)
{
	jv out;
	int k;

	jq_start(r->jq, input, 0);
	out = jq_next(r->jq);
	if (!jv_is_valid(out)) {
		jv msg = jv_invalid_get_msg(out);
		int failed = jv_get_kind(msg) != JV_KIND_NULL;

		if (failed) {
			if (jv_get_kind(msg) == JV_KIND_STRING)
				snprintf(err, errlen, "%s",
				    jv_string_value(msg));
			else {
				jv s = jv_dump_string(jv_copy(msg), 0);

				snprintf(err, errlen, "%s", jv_string_value(s));
				jv_free(s);
			}
		}
		jv_free(msg);
		return failed ? -1 : 0;
	}
	k = jv_get_kind(out);
	jv_free(out);
	return k != JV_KIND_FALSE && k != JV_KIND_NULL;
}

jv
sre_policy_decide(const struct sre_policy *p, jv d,
    const struct sre_guard_facts *f, sre_policy_explain_fn explain,
    void *ectx)
{
	struct decide dc;
	jv out, rules = jv_array(), reasons = jv_array();
	char err[512];
	int i;

	memset(&dc, 0, sizeof(dc));
	dc.explain = explain;
	dc.ectx = ectx;
	builtins(p, d, f, &dc);
	if (!dc.decided && p->nrules > 0) {
		jv ctx = sre_policy_context(p, d, f);

		for (i = 0; i < p->nrules && !dc.decided; i++) {
			const struct rule *r = &p->rules[i];
			jv in = jv_array_append(jv_array_append(jv_array(),
			    jv_copy(ctx)), jv_copy(d));
			int m = rule_eval(r, in, err, sizeof(err));

			if (m < 0)
				fire(&dc, r->id, SRE_ESCALATE, "rule %s failed: "
				    "%s", r->id, err);
			else if (m > 0)
				fire(&dc, r->id, r->decision, "%s",
				    r->reason ? r->reason : r->id);
			else
				say(&dc, r->id, "no match");
		}
		jv_free(ctx);
	}
	if (!dc.decided)
		fire(&dc, "default", p->dflt, "%s", p->dflt_reason ?
		    p->dflt_reason : p->dflt == SRE_APPROVE ? "within policy" :
		    "no rule approved it");
	rules = jv_array_append(rules, jv_string(dc.rule));
	reasons = jv_array_append(reasons, jv_string(dc.reason));
	if (dc.decision == SRE_ESCALATE && f->acked) {
		const char *inc = sre_jv_str(d, "incident");

		fire(&dc, "builtin:acked", SRE_VETO, "a human acknowledged "
		    "incident %s: not escalated again", inc ? inc : "?");
		rules = jv_array_append(rules, jv_string(dc.rule));
		reasons = jv_array_append(reasons, jv_string(dc.reason));
	}
	out = jv_object();
	out = jv_object_set(out, jv_string("decision"),
	    jv_string(sre_decision_name(dc.decision)));
	out = jv_object_set(out, jv_string("reasons"), reasons);
	out = jv_object_set(out, jv_string("rules"), rules);
	return out;
}
