/*
 * test-opt.c: the option helpers (counts, reals, the one duration rule),
 * the input naming of bus.c (a bare path, .gz) and the line helpers the
 * stream loop uses (blank lines, the pretty-printed JSON hint).
 */
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <zlib.h>

#include "bus.h"
#include "diag.h"
#include "evtime.h"
#include "line.h"
#include "opt.h"
#include "tap.h"

static void
test_count(void)
{
	long long v = -1;

	ok(sre_opt_count("--n", "5", 1, 10, &v) == 0 && v == 5, "5 in 1..10");
	ok(sre_opt_count("--n", "1", 1, 10, &v) == 0 && v == 1 &&
	    sre_opt_count("--n", "10", 1, 10, &v) == 0 && v == 10,
	    "both bounds are in");
	v = 7;
	ok(sre_opt_count("--n", "0", 1, 10, &v) < 0 && v == 7,
	    "below: refused, *out untouched");
	ok(sre_opt_count("--n", "11", 1, 10, &v) < 0, "above: refused");
	ok(sre_opt_count("--n", "3x", 1, 10, &v) < 0 &&
	    sre_opt_count("--n", "", 1, 10, &v) < 0 &&
	    sre_opt_count("--n", "2.5", 1, 10, &v) < 0 &&
	    sre_opt_count("--n", "99999999999999999999", 1, LLONG_MAX, &v) <
	    0, "not whole numbers: refused");
}

static void
test_real(void)
{
	double d = -1;

	ok(sre_opt_real("--r", "0.5", 0, 1, 0, &d) == 0 && d == 0.5, "0.5");
	ok(sre_opt_real("--r", "0", 0, 1, 0, &d) == 0 && d == 0,
	    "a closed minimum takes the minimum");
	ok(sre_opt_real("--r", "0", 0, 1, SRE_OPT_ABOVE, &d) < 0,
	    "SRE_OPT_ABOVE refuses the minimum");
	ok(sre_opt_real("--r", "1", 0, 1, SRE_OPT_ABOVE, &d) == 0 && d == 1,
	    "the maximum is in");
	ok(sre_opt_real("--r", "1.01", 0, 1, 0, &d) < 0, "above max");
	ok(sre_opt_real("--r", "nan", 0, 1, 0, &d) < 0 &&
	    sre_opt_real("--r", "inf", 0, HUGE_VAL, SRE_OPT_NOMAX, &d) < 0 &&
	    sre_opt_real("--r", "1e999", 0, HUGE_VAL, SRE_OPT_NOMAX, &d) <
	    0, "nan, inf and overflow: refused");
	ok(sre_opt_real("--r", "0.5 ", 0, 1, 0, &d) < 0 &&
	    sre_opt_real("--r", "", 0, 1, 0, &d) < 0 &&
	    sre_opt_real("--r", "lots", 0, 1, 0, &d) < 0,
	    "trailing junk, empty, words: refused");
}

static void
test_duration(void)
{
	int64_t ms = -1;

	ok(sre_opt_duration("--d", "10s", 0, SRE_DURATION_MAX, &ms) == 0 &&
	    ms == 10000, "10s");
	ok(sre_opt_duration("--d", "90", 0, SRE_DURATION_MAX, &ms) == 0 &&
	    ms == 90000, "a bare number is seconds");
	ok(sre_opt_duration("--d", "1.5h", 0, SRE_DURATION_MAX, &ms) == 0 &&
	    ms == 5400000, "1.5h");
	ok(sre_opt_duration("--d", "7d", 0, SRE_DURATION_MAX, &ms) == 0 &&
	    ms == 7 * 86400000LL, "7d");
	/* The rule: round to the nearest millisecond, half up.  Truncating
	 * (sre-scout's old parser) made 1.005s 1004 ms and 0.57h a
	 * millisecond short, as these have no exact binary form. */
	ok(sre_opt_duration("--d", "1.005s", 0, SRE_DURATION_MAX, &ms) == 0 &&
	    ms == 1005, "1.005s is 1005 ms, not 1004");
	ok(sre_opt_duration("--d", "0.57h", 0, SRE_DURATION_MAX, &ms) == 0 &&
	    ms == 2052000, "0.57h is 2052000 ms, not 2051999");
	ok(sre_opt_duration("--d", "4.35m", 0, SRE_DURATION_MAX, &ms) == 0 &&
	    ms == 261000, "4.35m is 261000 ms");
	ok(sre_opt_duration("--d", "0.4ms", 0, SRE_DURATION_MAX, &ms) == 0 &&
	    ms == 0, "0.4ms rounds down to 0");
	ok(sre_opt_duration("--d", "0.5ms", 0, SRE_DURATION_MAX, &ms) == 0 &&
	    ms == 1, "0.5ms rounds half up to 1");
	ok(sre_opt_duration("--d", "0.4ms", 1, SRE_DURATION_MAX, &ms) < 0,
	    "a minimum applies after rounding");
	ok(sre_opt_duration("--d", "999ms", 1000, SRE_DURATION_MAX, &ms) < 0 &&
	    sre_opt_duration("--d", "1s", 1000, SRE_DURATION_MAX, &ms) == 0 &&
	    ms == 1000, "bounds are inclusive");
	ok(sre_opt_duration("--d", "1h", 1000, 3600000, &ms) == 0 &&
	    sre_opt_duration("--d", "61m", 1000, 3600000, &ms) < 0,
	    "a maximum");
	ok(sre_opt_duration("--d", "3660d", 0, SRE_DURATION_MAX, &ms) == 0 &&
	    sre_opt_duration("--d", "3661d", 0, SRE_DURATION_MAX, &ms) < 0,
	    "10 years at most");
	ok(sre_opt_duration("--d", "-1s", 0, SRE_DURATION_MAX, &ms) < 0 &&
	    sre_opt_duration("--d", "1w", 0, SRE_DURATION_MAX, &ms) < 0 &&
	    sre_opt_duration("--d", "", 0, SRE_DURATION_MAX, &ms) < 0 &&
	    sre_opt_duration("--d", " 1s", 0, SRE_DURATION_MAX, &ms) < 0 &&
	    sre_opt_duration("--d", "1s ", 0, SRE_DURATION_MAX, &ms) < 0 &&
	    sre_opt_duration("--d", "nan", 0, SRE_DURATION_MAX, &ms) < 0 &&
	    sre_opt_duration("--d", "10parsecs", 0, SRE_DURATION_MAX, &ms) <
	    0, "malformed durations: refused");
}

static void
test_input(void)
{
	struct sre_common c;
	char *one[] = { "events.ndjson" }, *two[] = { "a", "b" },
	    *dash[] = { "-" };

	sre_common_init(&c);
	ok(sre_opt_input(&c, 0, NULL) == 0 && strcmp(c.in, "-") == 0,
	    "no operand: --in as it was");
	ok(sre_opt_input(&c, 1, one) == 0 && strcmp(c.in, one[0]) == 0,
	    "FILE becomes the input");
	sre_common_init(&c);
	ok(sre_opt_input(&c, 2, two) < 0, "two operands: refused");
	ok(sre_opt_input(&c, 1, dash) == 0 && strcmp(c.in, "-") == 0,
	    "- is standard input");
	c.in = "file:x";
	ok(sre_opt_input(&c, 1, one) < 0, "FILE and --in: refused");
	c.in = NULL;
	ok(sre_opt_input(&c, 1, one) == 0 && strcmp(c.in, one[0]) == 0,
	    "no input by default (sre-serve): FILE is taken");
}

static int usages_out, usages_err;

static void
count_usage(FILE *fp)
{
	if (fp == stdout)
		usages_out++;
	else
		usages_err++;
}

/* Run sre_getopt over argv (NULL-terminated); the tool's letters "w:"
 * and the long option --wide (0x1100).  Returns the options seen, "w=5s,"
 * and so on, in out. */
static int
getopt_run(char **argv, const char *letters, struct sre_common *c, char *out,
    size_t outlen)
{
	static const struct option longopts[] = {
		SRE_COMMON_LONGOPTS,
		{ "wide", no_argument, NULL, SRE_OPT_TOOL },
		{ NULL, 0, NULL, 0 }
	};
	int argc = 0, ch, ex;

	while (argv[argc] != NULL)
		argc++;
	optind = 0;	/* glibc: start afresh */
	opterr = 0;
	sre_common_init(c);
	*out = '\0';
	while ((ch = sre_getopt(c, argc, argv, letters, longopts, count_usage,
	    &ex)) != -1) {
		char one[64];

		if (ch == SRE_OPT_TOOL)
			snprintf(one, sizeof(one), "wide,");
		else
			snprintf(one, sizeof(one), "%c=%s,", ch,
			    optarg ? optarg : "");
		strncat(out, one, outlen - strlen(out) - 1);
	}
	return ex;
}

static void
test_end(void)
{
	struct sre_common c;
	char *argv1[] = { "tool", "-q", "in.ndjson", NULL };
	char *argv2[] = { "tool", "a", "b", NULL };

	int before = usages_err;

	sre_common_init(&c);
	optind = 2;
	ok(sre_opt_end(&c, 3, argv1, 0, count_usage) == 0 &&
	    usages_err == before, "--help or --version: exit 0");
	ok(sre_opt_end(&c, 3, argv1, -1, count_usage) == -1 &&
	    strcmp(c.in, "in.ndjson") == 0, "go on: the operand is the input");
	sre_common_init(&c);
	optind = 1;
	ok(sre_opt_end(&c, 3, argv2, -1, count_usage) == EX_USAGE &&
	    usages_err == before + 1, "two operands: EX_USAGE after the usage");
	optind = 1;
}

static void
test_getopt(void)
{
	struct sre_common c;
	char seen[256];
	char *a1[] = { "t", "-q", "-w", "5s", "--max-line", "100", "--wide",
	    "-i", "x", "op", NULL };
	char *a2[] = { "t", "-w", "1", "-h", "-w", "2", NULL };
	char *a3[] = { "t", "--bogus", NULL };
	char *a4[] = { "t", "-w", NULL };
	char *a5[] = { "t", "-i", "a", "-i", "b", NULL };
	char *a6[] = { "t", "--max-line", "3", NULL };
	char *a7[] = { "t", "-V", NULL };

	ok(getopt_run(a1, "w:", &c, seen, sizeof(seen)) == -1 &&
	    strcmp(seen, "w=5s,wide,") == 0, "own options handed out: %s",
	    seen);
	ok(strcmp(c.in, "x") == 0 && c.max_line == 100 && c.verbosity == -1,
	    "common options taken");
	ok(optind == 9, "optind at the operand (%d)", optind);
	usages_out = usages_err = 0;
	ok(getopt_run(a2, "w:", &c, seen, sizeof(seen)) == EX_OK &&
	    strcmp(seen, "w=1,") == 0 && usages_out == 1,
	    "-h: usage on stdout, the loop ends, exit 0");
	ok(getopt_run(a3, "w:", &c, seen, sizeof(seen)) == EX_USAGE &&
	    usages_err == 1, "an unknown option: usage on stderr, 64");
	ok(getopt_run(a4, "w:", &c, seen, sizeof(seen)) == EX_USAGE &&
	    usages_err == 2, "a missing argument: 64");
	ok(getopt_run(a5, "i:", &c, seen, sizeof(seen)) == -1 &&
	    strcmp(seen, "i=a,i=b,") == 0 && strcmp(c.in, "-") == 0,
	    "a common letter in the tool's string goes to the tool");
	ok(getopt_run(a6, "", &c, seen, sizeof(seen)) == EX_USAGE,
	    "a bad common value: 64");
	ok(getopt_run(a7, "w:", &c, seen, sizeof(seen)) == EX_OK,
	    "-V: exit 0");
}

static void
test_lines(void)
{
	ok(sre_line_blank("", 0) && sre_line_blank(" \t\r", 3) &&
	    !sre_line_blank(" x", 2), "blank lines");
	ok(sre_line_pretty("{", 1) && sre_line_pretty("  }", 3) &&
	    sre_line_pretty("},", 2) && sre_line_pretty("    ]", 5),
	    "a lone bracket looks pretty-printed");
	ok(sre_line_pretty("  \"resourceSpans\": [", 20) &&
	    sre_line_pretty("\"key\" : \"value\",", 16),
	    "a member line looks pretty-printed");
	ok(sre_line_pretty("{\"resourceSpans\": [", 19) &&
	    sre_line_pretty("[{", 2), "an opening line looks pretty-printed");
	ok(!sre_line_pretty("{\"a\":1", 6) && !sre_line_pretty("hello", 5) &&
	    !sre_line_pretty("\"just a string\"", 15) &&
	    !sre_line_pretty("", 0), "other bad lines do not");
}

/* Read every line of a bus URL into one string ("a|b|"). */
static int
read_all(const char *url, char *out, size_t outlen, char *where,
    size_t wlen)
{
	struct sre_bus *b;
	const char *line;
	char err[512];
	size_t len;
	int ex, rc;

	*out = '\0';
	if ((b = sre_bus_open(url, SRE_BUS_IN, NULL, err, sizeof(err),
	    &ex)) == NULL)
		return -ex;
	while ((rc = sre_bus_read(b, &line, &len, -1)) == SRE_READ_LINE) {
		strncat(out, line, outlen - strlen(out) - 1);
		strncat(out, "|", outlen - strlen(out) - 1);
	}
	snprintf(where, wlen, "%s", sre_bus_where(b));
	sre_bus_close(b);
	return rc == SRE_READ_EOF ? 0 : rc;
}

static void
test_bus(void)
{
	char dir[] = "/tmp/test-opt-XXXXXX", path[256], url[300], got[256],
	    where[300], want[300];
	struct sre_bus *b;
	char err[512];
	gzFile gz;
	FILE *fp;
	int ex;

	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(path, sizeof(path), "%s/a:b.ndjson", dir);
	if ((fp = fopen(path, "w")) == NULL)
		abort();
	fputs("one\ntwo\n", fp);
	fclose(fp);
	ok(read_all(path, got, sizeof(got), where, sizeof(where)) == 0 &&
	    strcmp(got, "one|two|") == 0, "a bare path (with a ':') is a file");
	snprintf(want, sizeof(want), "%s:2", path);
	ok(strcmp(where, want) == 0, "named PATH:LINE: %s", where);
	snprintf(url, sizeof(url), "file:%s", path);
	ok(read_all(url, got, sizeof(got), where, sizeof(where)) == 0 &&
	    strcmp(got, "one|two|") == 0, "file:PATH as before");

	snprintf(path, sizeof(path), "%s/x.ndjson.gz", dir);
	if ((gz = gzopen(path, "wb")) == NULL)
		abort();
	gzputs(gz, "{\"a\":1}\n{\"b\":2}\nlast");
	gzclose(gz);
	ok(read_all(path, got, sizeof(got), where, sizeof(where)) == 0 &&
	    strcmp(got, "{\"a\":1}|{\"b\":2}|last|") == 0,
	    "a .gz file is read through gzip: %s", got);
	snprintf(want, sizeof(want), "%s:3", path);
	ok(strcmp(where, want) == 0, "lines of a .gz counted: %s", where);

	/* A truncated .gz: the lines before the damage, then an error. */
	{
		char trunc[300], buf[4096];
		int fd;
		ssize_t n;
		struct sre_bus *tb;
		const char *line;
		size_t len;
		int rc, lines = 0;

		snprintf(trunc, sizeof(trunc), "%s/t.gz", dir);
		if ((gz = gzopen(trunc, "wb")) == NULL)
			abort();
		for (rc = 0; rc < 2000; rc++)
			gzprintf(gz, "{\"n\":%d,\"pad\":\"%d\"}\n", rc,
			    rc * 7919);
		gzclose(gz);
		fd = open(trunc, O_RDWR);
		n = read(fd, buf, sizeof(buf));
		if (n < 100 || ftruncate(fd, n / 2) < 0)
			abort();
		close(fd);
		tb = sre_bus_open(trunc, SRE_BUS_IN, NULL, err, sizeof(err),
		    &ex);
		while ((rc = sre_bus_read(tb, &line, &len, -1)) ==
		    SRE_READ_LINE)
			lines++;
		ok(rc == SRE_READ_ERROR && strstr(sre_bus_error(tb),
		    "gzip") != NULL, "a truncated .gz is an error: %s",
		    sre_bus_error(tb));
		sre_bus_close(tb);
	}

	snprintf(path, sizeof(path), "%s/missing.gz", dir);
	b = sre_bus_open(path, SRE_BUS_IN, NULL, err, sizeof(err), &ex);
	ok(b == NULL && ex == EX_NOINPUT, "a missing file: EX_NOINPUT");
	b = sre_bus_open("nosuch://x", SRE_BUS_IN, NULL, err, sizeof(err),
	    &ex);
	ok(b == NULL && ex == EX_CONFIG, "an unknown scheme stays an error");

	snprintf(path, sizeof(path), "rm -rf %s", dir);
	if (system(path) != 0)
		abort();
}

int
main(void)
{
	sre_init("test-opt");
	test_count();
	test_real();
	test_duration();
	test_input();
	test_end();
	test_getopt();
	test_lines();
	test_bus();
	return tap_done();
}
