/*
 * otlp-bench: how fast libsre reads telemetry lines.  Reads FILE into
 * memory, then times sre_otlp_read over every line (a span callback that
 * does the minimum an aggregator does: touches service, name, duration and
 * status), and prints MB/s and records/s.  With -t, times the bare
 * tokenizer instead (sre_json_skip over each line).
 *
 *	otlp-bench [-at] [-n ROUNDS] FILE
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "otlp.h"

struct agg {
	uint64_t spans, errors, dur, points, logs, bytes;
};

static int
on_span(void *arg, const struct sre_otlp_span *s)
{
	struct agg *a = arg;

	a->spans++;
	a->errors += s->status == SRE_OTLP_STATUS_ERROR;
	a->dur += s->duration_ns;
	a->bytes += s->res->service.n + s->name.n;
	return 0;
}

static int
on_point(void *arg, const struct sre_otlp_point *p)
{
	struct agg *a = arg;

	a->points++;
	a->bytes += p->metric.n;
	return 0;
}

static int
on_log(void *arg, const struct sre_otlp_log *l)
{
	struct agg *a = arg;

	a->logs++;
	a->bytes += l->body.n;
	return 0;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *
slurp(const char *path, size_t *len)
{
	struct stat st;
	char *buf;
	size_t off = 0;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY)) < 0 || fstat(fd, &st) < 0)
		return NULL;
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		close(fd);
		return NULL;
	}
	while (off < (size_t)st.st_size &&
	    (n = read(fd, buf + off, (size_t)st.st_size - off)) > 0)
		off += (size_t)n;
	close(fd);
	*len = off;
	return buf;
}

static void
usage(void)
{
	fprintf(stderr, "usage: otlp-bench [-at] [-n rounds] file\n");
	exit(64);
}

/*
 * Read FILE rounds times; report the best round (the machine is shared).
 */
int
main(int argc, char **argv)
{
	struct sre_otlp_handler h;
	struct sre_otlp_result res;
	struct sre_otlp *r;
	struct agg a;
	const char *p, *end, *nl;
	char *buf;
	size_t len, lines, bad, rejected;
	double t, best = 0;
	char *ep;
	long l;
	int c, rounds = 3, tok = 0, i;
	unsigned flags = 0;

	while ((c = getopt(argc, argv, "an:t")) != -1) {
		switch (c) {
		case 'a':
			flags |= SRE_OTLP_ATOMIC;
			break;
		case 'n':
			errno = 0;
			l = strtol(optarg, &ep, 10);
			if (errno != 0 || *ep != '\0' || l < 1 || l > 1000)
				usage();
			rounds = (int)l;
			break;
		case 't':
			tok = 1;
			break;
		default:
			usage();
		}
	}
	if (optind + 1 != argc)
		usage();
	if ((buf = slurp(argv[optind], &len)) == NULL) {
		fprintf(stderr, "otlp-bench: %s: %s\n", argv[optind],
		    strerror(errno));
		return 66;
	}
	if ((r = sre_otlp_new(flags)) == NULL) {
		fprintf(stderr, "otlp-bench: out of memory\n");
		return 70;
	}
	memset(&h, 0, sizeof(h));
	h.span = on_span;
	h.point = on_point;
	h.log = on_log;
	h.arg = &a;
	for (i = 0; i < rounds; i++) {
		memset(&a, 0, sizeof(a));
		lines = bad = rejected = 0;
		t = now();
		for (p = buf, end = buf + len; p < end; p = nl + 1) {
			if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
				nl = end;
			lines++;
			if (tok) {
				struct sre_json j;

				sre_json_init(&j, p, (size_t)(nl - p), 0);
				if (sre_json_skip(&j) < 0 || sre_json_end(&j) < 0)
					bad++;
				continue;
			}
			if (sre_otlp_read(r, p, (size_t)(nl - p), &h, &res) !=
			    SRE_OTLP_OK)
				bad++;
			rejected += res.rejected;
		}
		t = now() - t;
		if (i == 0 || t < best)
			best = t;
	}
	printf("otlp-bench: %s: %.1f MB, %zu lines (%zu bad), %llu spans, "
	    "%llu points, %llu logs, %zu rejected\n", tok ? "tokenizer" :
	    "reader", (double)len / 1e6, lines, bad,
	    (unsigned long long)a.spans, (unsigned long long)a.points,
	    (unsigned long long)a.logs, rejected);
	printf("otlp-bench: best of %d: %.4f s, %.0f MB/s, %.0f spans/s\n",
	    rounds, best, (double)len / 1e6 / best, (double)a.spans / best);
	sre_otlp_free(r);
	free(buf);
	return 0;
}
