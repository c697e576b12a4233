/* test-curate-report.c: --since/--until times, truth lines, hit lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "curate-report.h"
#include "store-tmp.h"
#include "tap.h"

#define NOW 1700000000000LL

static void
test_time(void)
{
	int64_t t = -1;

	ok(sre_curate_parse_time("1234", NOW, &t) == 0 && t == 1234,
	    "epoch ms");
	ok(sre_curate_parse_time("-90s", NOW, &t) == 0 && t == NOW - 90000,
	    "-90s");
	ok(sre_curate_parse_time("-2d", NOW, &t) == 0 &&
	    t == NOW - 2 * 86400000LL, "-2d");
	ok(sre_curate_parse_time("2024-01-02", NOW, &t) == 0 &&
	    t == 1704153600000LL, "a date");
	ok(sre_curate_parse_time("2024-01-02T03:04:05Z", NOW, &t) == 0 &&
	    t == 1704153600000LL + (3 * 3600 + 4 * 60 + 5) * 1000LL,
	    "a date and time");
	ok(sre_curate_parse_time("2024-01-02T03:04", NOW, &t) == 0 &&
	    t == 1704153600000LL + (3 * 3600 + 4 * 60) * 1000LL,
	    "no seconds");
	ok(sre_curate_parse_time("-5w", NOW, &t) < 0, "-5w: no such unit");
	ok(sre_curate_parse_time("-5sx", NOW, &t) < 0, "trailing junk");
	ok(sre_curate_parse_time("2024-13-01", NOW, &t) < 0, "month 13");
	ok(sre_curate_parse_time("1969-12-31", NOW, &t) < 0, "before 1970");
	ok(sre_curate_parse_time("2024-01-02X", NOW, &t) < 0, "junk after");
	ok(sre_curate_parse_time("12ab", NOW, &t) < 0, "not a number");
}

static void
test_truth_add(void)
{
	jv out = jv_array(), problems = jv_array();

	ok(sre_curate_truth_add(jv_parse("{\"incident\":\"i1\","
	    "\"service\":\"cart\"}"), "t:1", &out, &problems) == 0 &&
	    jv_array_length(jv_copy(out)) == 1, "an entry is kept");
	ok(sre_curate_truth_add(jv_parse("{\"faults\":[{\"culprit\":\"db\","
	    "\"operation\":\"q\",\"start_ms\":10,\"end_ms\":20},"
	    "{\"culprit\":\"x\"}]}"), "t:2", &out, &problems) < 0,
	    "a bad fault: -1");
	ok(jv_array_length(jv_copy(out)) == 2, "the good fault is kept");
	{
		jv e = jv_array_get(jv_copy(out), 1);
		jv s = jv_object_get(jv_copy(e), jv_string("service"));
		jv n = jv_object_get(e, jv_string("end_ms"));

		ok(jv_get_kind(s) == JV_KIND_STRING &&
		    strcmp(jv_string_value(s), "db") == 0 &&
		    jv_number_value(n) == 20, "culprit becomes service");
		jv_free(s);
		jv_free(n);
	}
	ok(sre_curate_truth_add(jv_parse("{\"faults\":3}"), "t:3", &out,
	    &problems) < 0, "faults not an array");
	ok(sre_curate_truth_add(jv_parse("{\"service\":\"x\"}"), "t:4", &out,
	    &problems) < 0, "no incident nor fingerprint");
	{
		jv p1 = jv_array_get(jv_copy(problems), 0);
		jv p3 = jv_array_get(jv_copy(problems), 2);

		ok(jv_array_length(jv_copy(problems)) == 3, "three problems");
		ok(strcmp(jv_string_value(p1), "t:2: faults[1]: want "
		    "\"culprit\", \"start_ms\" and \"end_ms\"") == 0,
		    "the fault's index: %s", jv_string_value(p1));
		ok(strcmp(jv_string_value(p3), "t:4: want \"incident\" or "
		    "\"fingerprint\", and \"service\"") == 0, "where first");
		jv_free(p1);
		jv_free(p3);
	}
	jv_free(out);
	jv_free(problems);
}

static void
test_truth_read(void)
{
	char path[] = "/tmp/test-curate-report.XXXXXX";
	const char *text = "{\"fingerprint\":\"f\",\"root_cause\":\"db\"}\n"
	    "\n" "not json\n" "{\"incident\":\"i\",\"service\":\"s\"}\n";
	jv out, problems;
	int fd = mkstemp(path), ex;

	ok(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text),
	    "a truth file");
	close(fd);
	ex = sre_curate_truth_read(path, 1 << 20, &out, &problems);
	ok(ex == 65, "a bad line: EX_DATAERR (%d)", ex);
	ok(jv_array_length(jv_copy(out)) == 2, "the good lines are kept");
	ok(jv_array_length(jv_copy(problems)) == 1, "one problem");
	jv_free(out);
	jv_free(problems);
	unlink(path);
	ex = sre_curate_truth_read(path, 1 << 20, &out, &problems);
	ok(ex != 0 && jv_array_length(jv_copy(problems)) == 1,
	    "a missing file: %d, one message", ex);
	jv_free(out);
	jv_free(problems);
}

static void
test_hit(void)
{
	char line[256];
	jv h = jv_parse("{\"score\":0.5,\"incident\":\"inc-1\","
	    "\"summary\":\"db down\"}");

	sre_curate_hit_line(h, line, sizeof(line));
	ok(strcmp(line, "0.500  inc-1                    open           "
	    "-                        db down\n") == 0, "a hit: '%s'", line);
	jv_free(h);
}

static void
test_similar(void)
{
	struct sre_store *st;
	struct sre_txn *t;
	char err[512];
	int ex = 0;
	jv hits;

	if (tmp_init("test-curate-report") < 0 || (st = tmp_open("s")) ==
	    NULL) {
		ok(0, "a scratch store");
		return;
	}
	ok(sre_store_read(st, &t, err, sizeof(err)) == EX_OK, "read");
	hits = sre_curate_similar(t, "inc-nope", NULL, 5, err, sizeof(err),
	    &ex);
	ok(!jv_is_valid(hits) && ex == EX_NOINPUT &&
	    strcmp(err, "search: no incident 'inc-nope' in the store") == 0,
	    "no such incident: EX_NOINPUT, %s", err);
	jv_free(hits);
	hits = sre_curate_similar(t, NULL, "db timeout", 5, err, sizeof(err),
	    &ex);
	ok(jv_get_kind(hits) == JV_KIND_ARRAY &&
	    jv_array_length(jv_copy(hits)) == 0, "text, empty store: no hits");
	jv_free(hits);
	sre_txn_end(t);
	sre_store_close(st);
	tmp_done();
}

int
main(void)
{
	test_similar();
	test_time();
	test_truth_add();
	test_truth_read();
	test_hit();
	return tap_done();
}
