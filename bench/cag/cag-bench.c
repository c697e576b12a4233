/*
 * cag-bench: what sre-cag costs (bench/cag/run drives it).
 *
 *	cag-bench populate STATE-DIR K	    K fingerprints with a known fix
 *					    (and K/4 that fall short)
 *	cag-bench lookups STATE-DIR K N	    N lookups: per second, with a
 *					    read transaction each, and in one
 *	cag-bench latency K N -- CMD ...    N events through CMD one at a
 *					    time: round trip p50/p99 in us
 *
 * The latency driver writes one event, waits for all its output (the
 * event, and a diagnosis for an anomaly of a known fingerprint), then
 * writes the next: the round trip of one event through the tool.  Run it
 * on `cat` too and the difference is what sre-cag adds to the pipeline.
 * Events: half anomalies (4 in 5 of a known fingerprint, each a new
 * incident), half other types.  Deterministic (a fixed seed).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <bsd/stdlib.h>

#include "cag.h"
#include "diag.h"
#include "store.h"

static uint64_t seed = 42;

static uint64_t
rnd(void)
{
	uint64_t z = (seed += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int
cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static long long
num(const char *s, long long lo, long long hi)
{
	const char *errstr;
	long long n = strtonum(s, lo, hi, &errstr);

	if (errstr != NULL) {
		sre_warnx("%s: %s", s, errstr);
		exit(EX_USAGE);
	}
	return n;
}

static struct sre_store *
open_store(const char *dir, unsigned flags)
{
	struct sre_store_opts o = { flags, 0, 0 };
	struct sre_store *st;
	char err[1024];
	int ex = sre_store_open(&st, dir, &o, err, sizeof(err));

	if (ex != EX_OK) {
		sre_warnx("%s", err);
		exit(ex);
	}
	return st;
}

struct pop {
	long k;
};

static int
populate_fn(struct sre_txn *t, void *ctx)
{
	struct pop *p = ctx;
	char fp[64], target[32], inc[32];
	long i;
	int j, n;

	for (i = 0; i < p->k + p->k / 4; i++) {
		jv prop, rc;

		snprintf(fp, sizeof(fp), "fp-%06ld", i);
		snprintf(target, sizeof(target), "svc-%ld", i % 97);
		prop = jv_object_set(jv_object(), jv_string("action"),
		    jv_string("scale"));
		prop = jv_object_set(prop, jv_string("target"),
		    jv_string(target));
		prop = jv_object_set(prop, jv_string("params"),
		    jv_object_set(jv_object(), jv_string("replicas"),
		    jv_number(3)));
		rc = jv_object_set(jv_object(), jv_string("service"),
		    jv_string(target));
		/* The first k are known fixes; the rest have one success. */
		n = i < p->k ? 3 : 1;
		for (j = 0; j < n; j++) {
			snprintf(inc, sizeof(inc), "inc-%ld-%d", i, j);
			if (sre_txn_cag_learn(t, fp, prop, 1, inc,
			    1700000000000LL, rc) < 0) {
				jv_free(prop);
				jv_free(rc);
				return -1;
			}
		}
		jv_free(prop);
		jv_free(rc);
	}
	return 0;
}

static int
populate(const char *dir, long k)
{
	struct sre_store *st = open_store(dir, 0);
	struct pop p = { k };
	char err[1024];
	int ex = sre_store_write(st, populate_fn, &p, err, sizeof(err));

	if (ex != EX_OK)
		sre_warnx("%s", err);
	sre_store_close(st);
	return ex;
}

static int
lookups(const char *dir, long k, long n)
{
	struct sre_store *st = open_store(dir, SRE_STORE_RDONLY);
	struct sre_cag_rule rule = { SRE_CAG_MIN_SUCCESSES,
	    SRE_CAG_MIN_RATIO };
	struct sre_txn *t;
	char fp[64], err[1024];
	long i, hits = 0;
	double t0, t1, t2;
	jv e;

	t0 = now_us();
	for (i = 0; i < n; i++) {
		snprintf(fp, sizeof(fp), "fp-%06ld", (long)(rnd() %
		    (uint64_t)(k + k / 2)));
		if (sre_store_read(st, &t, err, sizeof(err)) != EX_OK)
			return EX_SOFTWARE;
		if (sre_cag_lookup(t, fp, &rule, &e) > 0) {
			hits++;
			jv_free(e);
		}
		sre_txn_end(t);
	}
	t1 = now_us();
	sre_store_read(st, &t, err, sizeof(err));
	for (i = 0; i < n; i++) {
		snprintf(fp, sizeof(fp), "fp-%06ld", (long)(rnd() %
		    (uint64_t)(k + k / 2)));
		if (sre_cag_lookup(t, fp, &rule, &e) > 0)
			jv_free(e);
	}
	sre_txn_end(t);
	t2 = now_us();
	printf("lookups %ld hit_rate %.2f per_txn_per_s %.0f "
	    "one_txn_per_s %.0f\n", n, (double)hits / (double)n,
	    (double)n / ((t1 - t0) / 1e6), (double)n / ((t2 - t1) / 1e6));
	sre_store_close(st);
	return EX_OK;
}

/* Read from fd until want newlines arrived. */
static int
read_lines(int fd, int want)
{
	char buf[65536];
	ssize_t r;
	int got = 0, i;

	while (got < want) {
		struct pollfd p = { fd, POLLIN, 0 };

		if (poll(&p, 1, 10000) <= 0) {
			sre_warnx("no output within 10 s");
			return -1;
		}
		if ((r = read(fd, buf, sizeof(buf))) <= 0) {
			sre_warnx("the tool closed its output");
			return -1;
		}
		for (i = 0; i < r; i++)
			got += buf[i] == '\n';
	}
	return 0;
}

static int
latency(long k, long n, char **cmd, int expect_diag)
{
	int in[2], out[2], status;
	double *rt, t0, sum = 0;
	char line[1024];
	pid_t pid;
	long i;

	if ((rt = calloc((size_t)n, sizeof(*rt))) == NULL)
		return EX_OSERR;
	if (pipe(in) < 0 || pipe(out) < 0) {
		free(rt);
		return EX_OSERR;
	}
	if ((pid = fork()) == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[0]);
		close(in[1]);
		close(out[0]);
		close(out[1]);
		execvp(cmd[0], cmd);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	for (i = 0; i < n; i++) {
		uint64_t r = rnd();
		int known = 0, len;

		if (r % 2 == 0) {
			long f = (long)(r / 2 % 5 == 4 ? k * 10 + (long)(r %
			    1000) : (long)(r / 10 % (uint64_t)k));

			known = f < k;
			len = snprintf(line, sizeof(line), "{\"v\":1,\"type\":"
			    "\"anomaly\",\"id\":\"b%ld\",\"incident\":\"bi-%ld\","
			    "\"ts_ms\":%lld,\"source\":\"sre-scout\",\"service\":"
			    "\"svc-%ld\",\"operation\":\"GET /\",\"signal\":"
			    "\"latency\",\"observed\":812.5,\"baseline\":120.25,"
			    "\"score\":9.1,\"window_start_ms\":1,\"window_end_ms\":"
			    "2,\"fingerprint\":\"fp-%06ld\",\"evidence\":{\"traces"
			    "\":[\"4bf92f3577b34da6a3ce929d0e0e4736\"]}}\n", i, i,
			    1700000000000LL + i, f % 97, f);
		} else
			len = snprintf(line, sizeof(line), "{\"v\":1,\"type\":"
			    "\"verdict\",\"id\":\"b%ld\",\"incident\":\"bi-%ld\","
			    "\"ts_ms\":%lld,\"source\":\"sre-guard\",\"decision\":"
			    "\"approve\",\"reasons\":[\"confidence 0.9\"],\"rules"
			    "\":[\"r1\"],\"proposal\":{\"action\":\"scale\","
			    "\"target\":\"svc-1\",\"params\":{\"replicas\":3}}}\n",
			    i, i, 1700000000000LL + i);
		t0 = now_us();
		if (write(in[1], line, (size_t)len) != len ||
		    read_lines(out[0], known && expect_diag ? 2 : 1) < 0) {
			kill(pid, SIGTERM);
			free(rt);
			return EX_SOFTWARE;
		}
		rt[i] = now_us() - t0;
		sum += rt[i];
	}
	close(in[1]);
	waitpid(pid, &status, 0);
	qsort(rt, (size_t)n, sizeof(*rt), cmp_d);
	printf("events %ld p50_us %.1f p99_us %.1f mean_us %.1f\n", n,
	    rt[(n * 50 + 99) / 100 - 1], rt[(n * 99 + 99) / 100 - 1],
	    sum / (double)n);
	free(rt);
	return EX_OK;
}

int
main(int argc, char *argv[])
{
	sre_init("cag-bench");
	signal(SIGPIPE, SIG_IGN);
	if (argc == 4 && strcmp(argv[1], "populate") == 0)
		return populate(argv[2], (long)num(argv[3], 1, 10000000));
	if (argc == 5 && strcmp(argv[1], "lookups") == 0)
		return lookups(argv[2], (long)num(argv[3], 1, 10000000),
		    (long)num(argv[4], 1, 100000000));
	if (argc >= 6 && strcmp(argv[1], "latency") == 0 &&
	    strcmp(argv[4], "--") == 0)
		return latency((long)num(argv[2], 1, 10000000),
		    (long)num(argv[3], 1, 10000000), argv + 5,
		    strstr(argv[5], "sre-cag") != NULL);
	fprintf(stderr, "usage: cag-bench populate STATE-DIR K\n"
	    "       cag-bench lookups STATE-DIR K N\n"
	    "       cag-bench latency K N -- COMMAND [ARG ...]\n");
	return EX_USAGE;
}
