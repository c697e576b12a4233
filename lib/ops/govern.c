/* govern.c: governor state file, hysteresis, /proc and cgroup sampling. */
#include <ctype.h>
#include <stddef.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jv.h>

#include "event.h"
#include "file.h"
#include "govern.h"

void
sre_gov_knobs(struct sre_gov_state *st, int cloud, int max_llm)
{
	int normal_llm = max_llm > 0 ? max_llm : cloud ? 1 : 0;

	if (st->degraded) {
		st->llm_concurrency = 1;
		st->loop_interval_s = 120;
		st->sample_rate = cloud ? 0.05 : 0.5;
	} else {
		st->llm_concurrency = normal_llm;
		st->loop_interval_s = 60;
		st->sample_rate = cloud ? 0.1 : 1.0;
	}
}

int
sre_gov_write(const char *dir, const struct sre_gov_state *st, char *err,
    size_t errlen)
{
	char path[4096], text[1024];
	int n, e;

	if (snprintf(path, sizeof(path), "%s/%s", dir, SRE_GOV_FILE) >=
	    (int)sizeof(path)) {
		snprintf(err, errlen, "%s: path too long", dir);
		errno = ENAMETOOLONG;
		return -1;
	}
	n = snprintf(text, sizeof(text),
	    "{\"mode\":\"%s\",\"usage_bytes\":%lld,\"threshold_bytes\":%lld,"
	    "\"low_bytes\":%lld,\"since_ms\":%lld,\"updated_ms\":%lld,"
	    "\"llm_concurrency\":%d,\"loop_interval_s\":%d,"
	    "\"sample_rate\":%.4g,\"cpu_seconds\":%.3f,\"pid\":%ld}\n",
	    st->degraded ? "degraded" : "normal", (long long)st->usage_bytes,
	    (long long)st->threshold_bytes, (long long)st->low_bytes,
	    (long long)st->since_ms, (long long)st->updated_ms,
	    st->llm_concurrency, st->loop_interval_s, st->sample_rate,
	    st->cpu_seconds, (long)getpid());
	if (n < 0 || n >= (int)sizeof(text)) {
		snprintf(err, errlen, "state too long");
		return -1;
	}
	if (sre_file_replace(path, text, (size_t)n, 0644) < 0) {
		e = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		errno = e;
		return -1;
	}
	return 0;
}

/* Borrows o.  Sets *out from a number member; 1 set, 0 absent, -1 bad. */
static int
num_member(jv o, const char *key, double *out)
{
	jv m = jv_object_get(jv_copy(o), jv_string(key));
	int rc = 0;

	if (jv_get_kind(m) == JV_KIND_NUMBER) {
		*out = jv_number_value(m);
		rc = 1;
	} else if (jv_is_valid(m) && jv_get_kind(m) != JV_KIND_NULL)
		rc = -1;
	jv_free(m);
	return rc;
}

int
sre_gov_parse(const char *text, size_t len, struct sre_gov_state *st,
    char *err, size_t errlen)
{
	static const struct {
		const char *key;
		int kind;	/* 0 int64, 1 int, 2 double */
		size_t off;
	} nums[] = {
		{ "usage_bytes", 0, offsetof(struct sre_gov_state, usage_bytes) },
		{ "threshold_bytes", 0,
		    offsetof(struct sre_gov_state, threshold_bytes) },
		{ "low_bytes", 0, offsetof(struct sre_gov_state, low_bytes) },
		{ "since_ms", 0, offsetof(struct sre_gov_state, since_ms) },
		{ "updated_ms", 0, offsetof(struct sre_gov_state, updated_ms) },
		{ "llm_concurrency", 1,
		    offsetof(struct sre_gov_state, llm_concurrency) },
		{ "loop_interval_s", 1,
		    offsetof(struct sre_gov_state, loop_interval_s) },
		{ "sample_rate", 2, offsetof(struct sre_gov_state, sample_rate) },
		{ "cpu_seconds", 2, offsetof(struct sre_gov_state, cpu_seconds) },
	};
	struct sre_gov_state s = *st;
	const char *mode;
	char msg[256];
	size_t i;
	double d;
	jv o;

	o = sre_json_object(text, len, msg, sizeof(msg));
	if (!jv_is_valid(o)) {
		snprintf(err, errlen, "%s", msg);
		return -1;
	}
	if ((mode = sre_jv_str(o, "mode")) == NULL) {
		snprintf(err, errlen, "field 'mode': want a string");
		jv_free(o);
		return -1;
	}
	if (strcmp(mode, "normal") == 0)
		s.degraded = 0;
	else if (strcmp(mode, "degraded") == 0)
		s.degraded = 1;
	else {
		snprintf(err, errlen, "field 'mode': '%.32s' is neither normal "
		    "nor degraded", mode);
		jv_free(o);
		return -1;
	}
	for (i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		int rc = num_member(o, nums[i].key, &d);
		char *p = (char *)&s + nums[i].off;

		if (rc < 0 || (rc == 1 && (d != d || d < 0 || d > 9e18))) {
			snprintf(err, errlen, "field '%s': want a number >= 0",
			    nums[i].key);
			jv_free(o);
			return -1;
		}
		if (rc == 0)
			continue;
		if (nums[i].kind == 0)
			*(int64_t *)(void *)p = (int64_t)d;
		else if (nums[i].kind == 1)
			*(int *)(void *)p = d > 1e6 ? 1000000 : (int)d;
		else
			*(double *)(void *)p = d;
	}
	if (s.sample_rate <= 0 || s.sample_rate > 1) {
		snprintf(err, errlen, "field 'sample_rate': want 0 < rate <= 1");
		jv_free(o);
		return -1;
	}
	jv_free(o);
	*st = s;
	return 0;
}

int
sre_gov_watch_init(struct sre_gov_watch *w, const char *dir)
{
	memset(w, 0, sizeof(*w));
	if (snprintf(w->path, sizeof(w->path), "%s/%s", dir, SRE_GOV_FILE) >=
	    (int)sizeof(w->path))
		return -1;
	return 0;
}

int
sre_gov_poll(struct sre_gov_watch *w, struct sre_gov_state *st, char *err,
    size_t errlen)
{
	char text[4096];
	struct stat sb;
	ssize_t n;
	int fd;

	err[0] = '\0';
	if (stat(w->path, &sb) < 0) {
		w->missing = 1;
		return -1;
	}
	if (!w->missing && w->seen &&
	    sb.st_mtim.tv_sec == w->mtime.tv_sec &&
	    sb.st_mtim.tv_nsec == w->mtime.tv_nsec && sb.st_size == w->size)
		return 0;
	if ((fd = open(w->path, O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "%s: %s", w->path, strerror(errno));
		return -1;
	}
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n < 0) {
		snprintf(err, errlen, "%s: %s", w->path, strerror(errno));
		return -1;
	}
	/* Remember this version even when bad: it is not re-read until it
	 * changes, so a broken file is reported once. */
	w->mtime = sb.st_mtim;
	w->size = sb.st_size;
	w->missing = 0;
	w->seen = 1;
	while (n > 0 && isspace((unsigned char)text[n - 1]))
		n--;
	text[n] = '\0';
	if (sre_gov_parse(text, (size_t)n, st, err, errlen) < 0)
		return -1;
	return 1;
}

void
sre_gov_fsm_init(struct sre_gov_fsm *f, int64_t threshold, int64_t low,
    int64_t hold_ms, int64_t recover_ms, int64_t now_ms)
{
	memset(f, 0, sizeof(*f));
	f->threshold = threshold;
	f->low = low > 0 && low <= threshold ? low : threshold;
	f->hold_ms = hold_ms;
	f->recover_ms = recover_ms;
	f->since_ms = now_ms;
	f->above_ms = f->below_ms = -1;
}

int
sre_gov_fsm_step(struct sre_gov_fsm *f, int64_t usage, int64_t now_ms)
{
	if (f->threshold <= 0) {
		if (f->degraded) {
			f->degraded = 0;
			f->since_ms = now_ms;
			return 1;
		}
		return 0;
	}
	if (!f->degraded) {
		if (usage <= f->threshold) {
			f->above_ms = -1;
			return 0;
		}
		if (f->above_ms < 0)
			f->above_ms = now_ms;
		if (now_ms - f->above_ms < f->hold_ms)
			return 0;
		f->degraded = 1;
		f->since_ms = now_ms;
		f->above_ms = -1;
		f->below_ms = -1;
		return 1;
	}
	if (usage >= f->low) {
		f->below_ms = -1;
		return 0;
	}
	if (f->below_ms < 0)
		f->below_ms = now_ms;
	if (now_ms - f->below_ms < f->recover_ms)
		return 0;
	f->degraded = 0;
	f->since_ms = now_ms;
	f->below_ms = -1;
	return 1;
}

/* Read a small /proc or cgroup file into buf; -1 when gone. */
static int
slurp(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

/* The value in kB of a "Name:   123 kB" line, or -1. */
static int64_t
kb_field(const char *text, const char *name)
{
	const char *p = strstr(text, name);

	if (p == NULL)
		return -1;
	p += strlen(name);
	while (*p == ' ' || *p == '\t')
		p++;
	if (!isdigit((unsigned char)*p))
		return -1;
	return strtoll(p, NULL, 10) * 1024;
}

int64_t
sre_mem_pid(pid_t pid)
{
	char path[64], buf[4096];
	int64_t v;

	snprintf(path, sizeof(path), "/proc/%ld/smaps_rollup", (long)pid);
	if (slurp(path, buf, sizeof(buf)) == 0 &&
	    (v = kb_field(buf, "\nPss:")) >= 0)
		return v;
	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if (slurp(path, buf, sizeof(buf)) < 0)
		return -1;
	if ((v = kb_field(buf, "\nVmRSS:")) >= 0)
		return v;
	return 0;	/* a zombie or kernel thread: no memory of its own */
}

/* utime + stime (fields 14, 15) and the ppid (field 4) of /proc/PID/stat. */
static int
proc_stat(pid_t pid, pid_t *ppid, double *cpu)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	long pp;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if (slurp(path, buf, sizeof(buf)) < 0)
		return -1;
	/* The command name may hold spaces and parentheses: skip to the
	 * last ')'. */
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	if (sscanf(p + 2, "%*c %ld %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu "
	    "%llu", &pp, &ut, &st) != 3)
		return -1;
	*ppid = (pid_t)pp;
	*cpu = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
	return 0;
}

double
sre_cpu_pid(pid_t pid)
{
	pid_t pp;
	double cpu;

	return proc_stat(pid, &pp, &cpu) < 0 ? -1 : cpu;
}

int64_t
sre_mem_tree(pid_t root, double *cpu_seconds)
{
	struct { pid_t pid, ppid; double cpu; } *ps = NULL, *np;
	size_t n = 0, cap = 0, i;
	int64_t total = 0, m;
	double cpu = 0;
	struct dirent *de;
	int changed;
	char *in;
	DIR *d;

	if ((d = opendir("/proc")) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		pid_t pid, pp;
		double c;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = (pid_t)strtol(de->d_name, NULL, 10);
		if (proc_stat(pid, &pp, &c) < 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			if ((np = realloc(ps, cap * sizeof(*ps))) == NULL) {
				free(ps);
				closedir(d);
				return -1;
			}
			ps = np;
		}
		ps[n].pid = pid;
		ps[n].ppid = pp;
		ps[n].cpu = c;
		n++;
	}
	closedir(d);
	/* Mark the tree: iterate until no new member is found. */
	if ((in = calloc(n ? n : 1, 1)) == NULL) {
		free(ps);
		return -1;
	}
	for (i = 0; i < n; i++)
		if (ps[i].pid == root)
			in[i] = 1;
	do {
		changed = 0;
		for (i = 0; i < n; i++) {
			size_t j;

			if (in[i])
				continue;
			for (j = 0; j < n; j++)
				if (in[j] && ps[j].pid == ps[i].ppid) {
					in[i] = 1;
					changed = 1;
					break;
				}
		}
	} while (changed);
	total = -1;
	for (i = 0; i < n; i++) {
		if (!in[i])
			continue;
		if ((m = sre_mem_pid(ps[i].pid)) >= 0)
			total = (total < 0 ? 0 : total) + m;
		cpu += ps[i].cpu;
	}
	free(in);
	free(ps);
	if (cpu_seconds != NULL)
		*cpu_seconds = cpu;
	return total;
}

int64_t
sre_mem_cgroup(const char *dir, double *cpu_seconds)
{
	char path[4096], buf[4096];
	const char *p;

	if (cpu_seconds != NULL) {
		*cpu_seconds = 0;
		snprintf(path, sizeof(path), "%s/cpu.stat", dir);
		if (slurp(path, buf, sizeof(buf)) == 0 &&
		    (p = strstr(buf, "usage_usec ")) != NULL)
			*cpu_seconds = (double)strtoll(p + 11, NULL, 10) / 1e6;
	}
	if (snprintf(path, sizeof(path), "%s/memory.current", dir) >=
	    (int)sizeof(path) || slurp(path, buf, sizeof(buf)) < 0 ||
	    !isdigit((unsigned char)buf[0]))
		return -1;
	return strtoll(buf, NULL, 10);
}

int64_t
sre_mem_cgroup_max(const char *dir)
{
	char path[4096], buf[64];

	if (snprintf(path, sizeof(path), "%s/memory.max", dir) >=
	    (int)sizeof(path) || slurp(path, buf, sizeof(buf)) < 0 ||
	    !isdigit((unsigned char)buf[0]))
		return 0;
	return strtoll(buf, NULL, 10);
}

int
sre_cgroup_self(char *buf, size_t len)
{
	char text[4096], *p, *nl;

	/* cgroup v2: a single line "0::/path". */
	if (slurp("/proc/self/cgroup", text, sizeof(text)) < 0 ||
	    (p = strstr(text, "0::")) == NULL)
		return -1;
	p += 3;
	if ((nl = strchr(p, '\n')) != NULL)
		*nl = '\0';
	if (snprintf(buf, len, "/sys/fs/cgroup%s", strcmp(p, "/") == 0 ? "" :
	    p) >= (int)len)
		return -1;
	return access(buf, R_OK) == 0 ? 0 : -1;
}
