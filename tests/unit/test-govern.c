/* test-govern.c: hysteresis, the state file round trip, the watcher. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "govern.h"
#include "tap.h"

#define MB (1024LL * 1024)
#define PARSE(s) sre_gov_parse(s, strlen(s), &rd, err, sizeof(err))

static void
test_fsm(void)
{
	struct sre_gov_fsm f;
	int flips = 0, t;

	sre_gov_fsm_init(&f, 100 * MB, 90 * MB, 1000, 5000, 0);
	ok(sre_gov_fsm_step(&f, 50 * MB, 0) == 0 && !f.degraded, "below: normal");
	ok(sre_gov_fsm_step(&f, 150 * MB, 100) == 0 && !f.degraded,
	    "above, but not for the hold time yet");
	ok(sre_gov_fsm_step(&f, 80 * MB, 600) == 0 && !f.degraded,
	    "a dip resets the hold");
	ok(sre_gov_fsm_step(&f, 150 * MB, 700) == 0, "above again");
	ok(sre_gov_fsm_step(&f, 150 * MB, 1600) == 0, "900 ms: still normal");
	ok(sre_gov_fsm_step(&f, 150 * MB, 1700) == 1 && f.degraded &&
	    f.since_ms == 1700, "1000 ms above: degraded");
	ok(sre_gov_fsm_step(&f, 95 * MB, 2000) == 0 && f.degraded,
	    "between low and threshold: stays degraded");
	ok(sre_gov_fsm_step(&f, 50 * MB, 3000) == 0 && f.degraded,
	    "below low: recovery time starts");
	ok(sre_gov_fsm_step(&f, 92 * MB, 4000) == 0 && f.degraded,
	    "above low again: recovery restarts");
	ok(sre_gov_fsm_step(&f, 50 * MB, 5000) == 0, "below low");
	ok(sre_gov_fsm_step(&f, 50 * MB, 9999) == 0 && f.degraded,
	    "4999 ms below: still degraded");
	ok(sre_gov_fsm_step(&f, 50 * MB, 10000) == 1 && !f.degraded,
	    "5000 ms below: normal");

	/* Usage oscillating around the threshold faster than the hold
	 * never flips; around the low mark it never recovers. */
	sre_gov_fsm_init(&f, 100 * MB, 90 * MB, 1000, 5000, 0);
	for (t = 0; t < 60000; t += 100)
		flips += sre_gov_fsm_step(&f, (t / 100) % 2 ? 150 * MB :
		    60 * MB, t);
	ok(flips == 0, "no flapping on a fast oscillation (%d flips)", flips);
	sre_gov_fsm_init(&f, 0, 0, 0, 0, 0);
	ok(sre_gov_fsm_step(&f, 900 * MB, 10) == 0 && !f.degraded,
	    "no threshold: never degraded");
}

static void
test_state(void)
{
	char dir[] = "/tmp/test-govern-XXXXXX", err[256], path[300];
	struct sre_gov_state st, rd;
	struct sre_gov_watch w;
	FILE *fp;

	if (mkdtemp(dir) == NULL)
		tap_bail("mkdtemp failed");
	ok(sre_gov_watch_init(&w, dir) == 0, "watch");
	memset(&rd, 0, sizeof(rd));
	rd.sample_rate = 1;
	ok(sre_gov_poll(&w, &rd, err, sizeof(err)) == -1 && err[0] == '\0',
	    "absent file: -1, no message");

	memset(&st, 0, sizeof(st));
	st.degraded = 1;
	st.usage_bytes = 500 * MB;
	st.threshold_bytes = 450 * MB;
	st.since_ms = 1700000000000LL;
	sre_gov_knobs(&st, 1, 0);
	ok(st.llm_concurrency == 1 && st.loop_interval_s == 120 &&
	    st.sample_rate < 0.1, "cloud degraded knobs");
	ok(sre_gov_write(dir, &st, err, sizeof(err)) == 0, "write: %s", err);
	ok(sre_gov_poll(&w, &rd, err, sizeof(err)) == 1, "poll sees it");
	ok(rd.degraded && rd.usage_bytes == 500 * MB &&
	    rd.since_ms == 1700000000000LL && rd.llm_concurrency == 1,
	    "round trip");
	ok(sre_gov_poll(&w, &rd, err, sizeof(err)) == 0, "unchanged: 0");

	st.degraded = 0;
	sre_gov_knobs(&st, 0, 4);
	ok(st.llm_concurrency == 4 && st.sample_rate == 1.0 &&
	    st.loop_interval_s == 60, "local normal knobs with a cap of 4");
	st.usage_bytes = 1;	/* a different size, so a change is seen
				 * even within the same mtime tick */
	ok(sre_gov_write(dir, &st, err, sizeof(err)) == 0, "rewrite");
	ok(sre_gov_poll(&w, &rd, err, sizeof(err)) == 1 && !rd.degraded,
	    "flip back seen");

	snprintf(path, sizeof(path), "%s/governor.json", dir);
	if ((fp = fopen(path, "w")) == NULL)
		tap_bail("cannot write governor.json");
	fputs("{\"mode\":\"panic\"}", fp);
	fclose(fp);
	ok(sre_gov_poll(&w, &rd, err, sizeof(err)) == -1 &&
	    strstr(err, "'mode'") != NULL && !rd.degraded,
	    "bad mode: error, state kept (%s)", err);
	ok(PARSE("{\"mode\":\"normal\",\"sample_rate\":\"x\"}") == -1 && strstr(err, "sample_rate"),
	    "wrong kind named");
	ok(PARSE("{\"mode\":\"normal\",\"sample_rate\":0}") == -1, "a sample rate of 0 is refused");
	ok(PARSE("garbage") == -1,
	    "garbage refused");
	unlink(path);
	ok(rmdir(dir) == 0, "the writes left no temporary file behind");
	ok(sre_gov_write("/nonexistent/dir", &st, err, sizeof(err)) == -1 &&
	    strstr(err, "/nonexistent/dir") != NULL, "unwritable dir: %s", err);
}

static void
test_measure(void)
{
	double cpu = -1;
	int64_t self = sre_mem_pid(getpid()), tree;

	ok(self > 0, "own memory %lld bytes", (long long)self);
	tree = sre_mem_tree(getpid(), &cpu);
	ok(tree >= self && cpu >= 0, "tree includes self");
	ok(sre_mem_pid(0x7ffffff0) == -1, "a missing pid: -1");
	ok(sre_mem_cgroup("/nonexistent", NULL) == -1, "a missing cgroup: -1");
}

int
main(void)
{
	test_fsm();
	test_state();
	test_measure();
	return tap_done();
}
