/*
 * test-logmine: lib/telemetry/logmine.c, the template miner and the header format
 * parser.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logmine.h"
#include "tap.h"

static uint64_t
add(struct sre_logmine *lm, const char *msg, struct sre_logmine_match *m)
{
	struct sre_logmine_match tmp;

	if (m == NULL)
		m = &tmp;
	if (sre_logmine_add(lm, msg, strlen(msg), m) < 0)
		return 0;
	return m->id;
}

static void
test_same_template(void)
{
	struct sre_logmine *lm = sre_logmine_new(NULL);
	struct sre_logmine_match m;
	uint64_t a, b, c;

	a = add(lm, "Served block blk_123 to /10.0.0.1", &m);
	ok(m.is_new, "first message makes a group");
	b = add(lm, "Served block blk_-6952295868487656571 to /10.251.9.2",
	    &m);
	ok(a == b && !m.is_new, "numbers, signed ids and addresses: same id");
	ok(strcmp(m.tmpl, "Served block blk_<*> to <*>") == 0,
	    "template masks them: %s", m.tmpl);
	ok(m.count == 2, "count 2");
	c = add(lm, "Served block blk_99 to /10.0.0.3", &m);
	ok(c == a && m.count == 3, "third one joins");

	a = add(lm, "[instance: 550e8400-e29b-41d4-a716-446655440000] "
	    "Took 1.25 seconds to spawn the instance", NULL);
	b = add(lm, "[instance: b9000564-fe1a-409b-b8cc-1e88b294cd1d] "
	    "Took 17.5 seconds to spawn the instance", &m);
	ok(a == b, "UUIDs and floats: same id (%s)", m.tmpl);
	a = add(lm, "session opened for user root by (uid=0) at "
	    "Fri Jul  1 07:57:30 2005", NULL);
	b = add(lm, "session opened for user root by (uid=509) at "
	    "Sat Jun 25 09:20:24 2005", &m);
	ok(a == b, "dates with names: same id (%s)", m.tmpl);
	a = add(lm, "chrome.exe close, 1190 bytes (1.16 KB) sent, lifetime "
	    "00:02", NULL);
	b = add(lm, "chrome.exe close, 0 bytes sent, lifetime <1 sec", &m);
	ok(a == b, "size annotations and units: same id (%s)", m.tmpl);
	a = add(lm, "BLOCK* ask 10.250.18.114:50010 to delete blk_1", NULL);
	b = add(lm, "BLOCK* ask 10.250.17.177:50010 to delete blk_-85 blk_-91 "
	    "blk_70", &m);
	ok(a == b, "a list of like ids is one value (%s)", m.tmpl);
	sre_logmine_free(lm);
}

static void
test_different_shapes(void)
{
	struct sre_logmine *lm = sre_logmine_new(NULL);
	uint64_t a, b, c, d, e;

	a = add(lm, "Accepted password for root from 1.2.3.4 port 22 ssh2",
	    NULL);
	b = add(lm, "Connection closed by 1.2.3.4 [preauth]", NULL);
	c = add(lm, "Failed password for invalid user x from 1.2.3.4 port 22 "
	    "ssh2", NULL);
	ok(a != b && a != c && b != c, "different shapes, different ids");
	/* One word apart, few values: constants, not variables. */
	d = add(lm, "proxy.cse.cuhk.edu.hk:5070 open through proxy "
	    "proxy.cse.cuhk.edu.hk:5070 HTTPS", NULL);
	e = add(lm, "183.62.156.108:22 open through proxy "
	    "socks.cse.cuhk.edu.hk:5070 SOCKS5", NULL);
	ok(d != e, "HTTPS and SOCKS5 stay apart");
	a = add(lm, "VM Paused (Lifecycle Event)", NULL);
	b = add(lm, "VM Resumed (Lifecycle Event)", NULL);
	c = add(lm, "VM Started (Lifecycle Event)", NULL);
	d = add(lm, "VM Stopped (Lifecycle Event)", NULL);
	ok(a != b && b != c && c != d && a != d,
	    "four capitalized states stay apart");
	ok(add(lm, "VM Paused (Lifecycle Event)", NULL) == a,
	    "and each keeps its id");
	sre_logmine_free(lm);
}

struct merges {
	int	 n;
	uint64_t from, into;
};

static void
on_merge(void *arg, uint64_t from, uint64_t into)
{
	struct merges *m = arg;

	m->n++;
	m->from = from;
	m->into = into;
}

static void
test_word_variables(void)
{
	struct sre_logmine_conf conf;
	struct sre_logmine *lm;
	struct sre_logmine_match m;
	struct merges mg = { 0 };
	const char *users[] = { "cyrus", "news", "test", "guest", "oracle" };
	uint64_t first, id;

	sre_logmine_conf_init(&conf);
	conf.on_merge = on_merge;
	conf.merge_arg = &mg;
	lm = sre_logmine_new(&conf);
	first = add(lm, "session closed for user cyrus", NULL);
	for (int r = 0; r < 3; r++)
		for (size_t i = 0; i < 5; i++) {
			char buf[64];

			snprintf(buf, sizeof(buf), "session closed for user %s",
			    users[i]);
			id = add(lm, buf, &m);
		}
	ok(id == first, "user names merge into the first id");
	ok(strcmp(m.tmpl, "session closed for user <*>") == 0,
	    "template: %s", m.tmpl);
	ok(mg.n == 2 && mg.into == first, "on_merge reported %d merges", mg.n);
	ok(m.count == 16, "counts add up on merge: %llu",
	    (unsigned long long)m.count);
	ok(sre_logmine_get(lm, first, &m) == 0 && m.count == 16 &&
	    strcmp(m.tmpl, "session closed for user <*>") == 0,
	    "get finds the survivor");
	errno = 0;
	ok(sre_logmine_get(lm, mg.from, &m) == -1 && errno == ENOENT,
	    "get: a merged id is gone");
	sre_logmine_free(lm);
}

static void
test_stable_ids(void)
{
	struct sre_logmine *x = sre_logmine_new(NULL);
	struct sre_logmine *y = sre_logmine_new(NULL);
	struct sre_logmine_match m;
	uint64_t a, b, c;
	char s[17];

	a = add(x, "Invalid user webmaster from 173.234.31.186", NULL);
	add(y, "Received disconnect from 1.2.3.4: 11: Bye Bye [preauth]",
	    NULL);
	add(y, "Connection closed by 5.6.7.8 [preauth]", NULL);
	b = add(y, "Invalid user webmaster from 10.0.0.1", NULL);
	ok(a == b, "same first template, same id in another miner");
	/* Generalizing keeps the id. */
	c = add(x, "Invalid user webmaster from 173.234.31.186 port 22", NULL);
	add(x, "Invalid user webmaster from 1.1.1.1 port 23", &m);
	ok(m.id == c, "id kept while the template changes");
	sre_logmine_id_str(0x0123456789abcdefULL, s);
	ok(strcmp(s, "0123456789abcdef") == 0, "id_str: %s", s);
	sre_logmine_free(x);
	sre_logmine_free(y);
}

static int
sum_counts(const struct sre_logmine_match *m, void *arg)
{
	*(uint64_t *)arg += m->count;
	return 0;
}

static void
test_eviction(void)
{
	struct sre_logmine_conf conf;
	struct sre_logmine *lm;
	struct sre_logmine_stats st;
	struct sre_logmine_match m;
	uint64_t hot, total = 0;
	size_t peak = 0;
	char buf[256];
	int hot_kept = 1;

	sre_logmine_conf_init(&conf);
	conf.max_groups = 50;
	lm = sre_logmine_new(&conf);
	hot = add(lm, "heartbeat ok from node 1", NULL);
	for (int i = 0; i < 20000; i++) {
		/* Words, not numbers: each line its own shape. */
		unsigned k = (unsigned)i, n = 1 + (unsigned)i % 7;
		size_t o = 0;

		for (unsigned w = 0; w < n; w++) {
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%c%c%c",
			    w ? " " : "", 'a' + k % 26, 'a' + (k / 26) % 26,
			    'a' + (k / 676) % 26);
			k = k * 7u + 3u;
		}
		add(lm, buf, NULL);
		if (i % 10 == 0 && add(lm, "heartbeat ok from node 2", &m) != hot)
			hot_kept = 0;
		sre_logmine_stats(lm, &st);
		if (st.bytes > peak)
			peak = st.bytes;
	}
	sre_logmine_stats(lm, &st);
	ok(st.groups <= 50, "groups capped: %llu",
	    (unsigned long long)st.groups);
	ok(st.evicted > 10000, "least used evicted: %llu",
	    (unsigned long long)st.evicted);
	ok(hot_kept, "a busy template survives eviction with its id");
	ok(peak < 4u << 20, "memory bounded: peak %zu bytes", peak);
	sre_logmine_foreach(lm, sum_counts, &total);
	ok(total <= st.lines && total > 2000, "foreach sees the groups: %llu",
	    (unsigned long long)total);
	sre_logmine_free(lm);

	/* The byte budget holds with long unique lines too. */
	sre_logmine_conf_init(&conf);
	conf.max_bytes = 3u << 20;
	lm = sre_logmine_new(&conf);
	ok(lm != NULL, "a 3 MiB budget is enough to start");
	peak = 0;
	for (int i = 0; lm && i < 3000; i++) {
		char *line = malloc(8000);

		for (int k = 0; k < 7999; k++)
			line[k] = (k % 9 == 8) ? ' ' :
			    (char)('a' + (i * 31 + k * 7 + k / 9) % 26);
		line[7999] = '\0';
		sre_logmine_add(lm, line, 7999, NULL);
		free(line);
		sre_logmine_stats(lm, &st);
		if (st.bytes > peak)
			peak = st.bytes;
	}
	ok(peak <= (3u << 20) + 64 * 1024, "byte budget kept: peak %zu", peak);
	sre_logmine_free(lm);
	conf.max_bytes = 1024;
	errno = 0;
	ok(sre_logmine_new(&conf) == NULL && errno == EINVAL,
	    "a budget below the fixed tables is EINVAL");
}

static void
test_garbage(void)
{
	struct sre_logmine *lm = sre_logmine_new(NULL);
	struct sre_logmine_stats st;
	struct sre_logmine_match m;
	size_t big = 1u << 20;
	char *buf = malloc(big);
	unsigned seed = 12345;
	int fine = 1;

	for (size_t i = 0; i < big; i++)
		buf[i] = (char)("ab1 .:=<*>/"[i % 11]);
	ok(sre_logmine_add(lm, buf, big, &m) == 0, "1 MiB line accepted");
	ok(m.tmpl_len < 4 * 65536, "template bounded: %zu bytes", m.tmpl_len);
	for (int r = 0; r < 2000; r++) {
		size_t n = (size_t)(r * 37 % 3000);

		for (size_t i = 0; i < n; i++) {
			seed = seed * 1103515245u + 12345u;
			buf[i] = (char)(seed >> 16);
		}
		if (sre_logmine_add(lm, buf, n, &m) < 0 ||
		    strlen(m.tmpl) != m.tmpl_len)
			fine = 0;
	}
	ok(fine, "binary garbage, NUL bytes included, is mined");
	ok(sre_logmine_add(lm, "", 0, &m) == 0 && m.tmpl_len == 0,
	    "empty message: empty template");
	ok(sre_logmine_add(lm, NULL, 0, &m) == 0, "NULL message accepted");
	memset(buf, ' ', 5000);
	for (int i = 0; i < 5000; i += 2)
		buf[i] = 'x';
	ok(sre_logmine_add(lm, buf, 5000, &m) == 0, "2500 tokens accepted");
	sre_logmine_stats(lm, &st);
	ok(st.truncated >= 2, "cut messages counted: %llu",
	    (unsigned long long)st.truncated);
	free(buf);
	sre_logmine_free(lm);
	sre_logmine_free(NULL);
}

static void
test_mask(void)
{
	struct sre_logmine *lm = sre_logmine_new(NULL);
	char out[256];
	const char *in = "uid=0 rhost=10.0.0.1:22 took 12 ms at "
	    "Fri Jul  1 07:57:30 2005 req=550e8400-e29b-41d4-a716-446655440000 "
	    "via ns.example.com:80 blk_-42 node109 ssh2 (1.16 KB) fe80::1";
	size_t n = sre_logmine_mask(lm, in, strlen(in), out, sizeof(out));

	ok(strcmp(out, "uid=<*> rhost=<*> took <*> at <*> req=<*> via <*> "
	    "blk_<*> node<*> ssh2 <*>") == 0, "maskers: %s", out);
	ok(n == strlen(out), "length returned");
	n = sre_logmine_mask(lm, in, strlen(in), out, 8);
	ok(n > 8 && strlen(out) == 7, "truncated output is terminated");
	sre_logmine_free(lm);
}

static void
test_conf(void)
{
	struct sre_logmine_conf conf;

	sre_logmine_conf_init(&conf);
	conf.sim_threshold = 1.5;
	errno = 0;
	ok(sre_logmine_new(&conf) == NULL && errno == EINVAL, "st 1.5: EINVAL");
	sre_logmine_conf_init(&conf);
	conf.depth = 2;
	ok(sre_logmine_new(&conf) == NULL, "depth 2: EINVAL");
}

struct fcase {
	const char *fmt, *line;
	int	    match;
	const char *field, *want;	/* want NULL: the field is absent */
};

static void
test_format(void)
{
	static const struct fcase cases[] = {
		{ "<Date> <Time> <Pid> <Level> <Component>: <Content>",
		  "081109 203615 148 INFO dfs.DataNode$PacketResponder: "
		  "PacketResponder 1 for block blk_38865049064139660 "
		  "terminating\r", 1, "Content", "PacketResponder 1 for block "
		  "blk_38865049064139660 terminating" },
		{ "<Date> <Time> <Pid> <Level> <Component>: <Content>",
		  "081109 203615 148 INFO dfs.DataNode$PacketResponder: x", 1,
		  "Component", "dfs.DataNode$PacketResponder" },
		{ "<Month> <Date> <Time> <Level> <Component>(\\[<PID>\\])?: "
		  "<Content>", "Jun 14 15:16:01 combo sshd(pam_unix)[19939]: "
		  "check pass; user unknown", 1, "PID", "19939" },
		{ "<Month> <Date> <Time> <Level> <Component>(\\[<PID>\\])?: "
		  "<Content>", "Jun 14 15:16:01 combo sshd(pam_unix)[19939]: "
		  "check pass; user unknown", 1, "Component", "sshd(pam_unix)" },
		{ "<Month> <Date> <Time> <Level> <Component>(\\[<PID>\\])?: "
		  "<Content>", "Jul  1 09:00:55 combo kernel: Linux version "
		  "2.6.5", 1, "PID", NULL },
		{ "<Month> <Date> <Time> <Level> <Component>(\\[<PID>\\])?: "
		  "<Content>", "Jul  1 09:00:55 combo kernel: Linux version "
		  "2.6.5", 1, "Content", "Linux version 2.6.5" },
		{ "\\[<Time>\\] \\[<Level>\\] <Content>",
		  "[Sun Dec 04 04:47:44 2005] [notice] workerEnv.init() ok "
		  "/etc/httpd/conf/workers2.properties", 1, "Level", "notice" },
		{ "<Time>\\|<Component>\\|<Pid>\\|<Content>",
		  "20171223-22:15:29:606|Step_LSC|30002312|onStandStepChanged "
		  "3579", 1, "Content", "onStandStepChanged 3579" },
		{ "<Date> <Time> - <Level>  \\[<Node>:<Component>@<Id>\\] - "
		  "<Content>", "2015-07-29 17:41:44,747 - INFO  [QuorumPeer["
		  "myid=1]/0:0:0:0:0:0:0:0:2181:FastLeaderElection@774] - "
		  "Notification time out: 3200", 1, "Component",
		  /* lazy fields, as Loghub's regular expression has it */
		  "0:0:0:0:0:0:0:2181:FastLeaderElection" },
		{ "<Date> <Time> - <Level>  \\[<Node>:<Component>@<Id>\\] - "
		  "<Content>", "2015-07-29 17:41:44,747 - INFO  [QuorumPeer["
		  "myid=1]/0:0:0:0:0:0:0:0:2181:FastLeaderElection@774] - "
		  "Notification time out: 3200", 1, "Id", "774" },
		{ "\\[<Time>\\] <Program> - <Content>", "[10.30 16:49:06] "
		  "chrome.exe - proxy.cse.cuhk.edu.hk:5070 open through proxy",
		  1, "Program", "chrome.exe" },
		/* Lines that do not fit. */
		{ "<Date> <Time> <Pid> <Level> <Component>: <Content>",
		  "this line has no colon at all", 0, NULL, NULL },
		{ "\\[<Time>\\] \\[<Level>\\] <Content>",
		  "Sun Dec 04 04:47:44 2005 [notice] no brackets", 0, NULL,
		  NULL },
		{ "<Time>\\|<Component>\\|<Pid>\\|<Content>", "", 0, NULL,
		  NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct fcase *c = &cases[i];
		char err[128];
		struct sre_logmine_format *f = sre_logmine_format_new(c->fmt,
		    err, sizeof(err));
		struct sre_logmine_field fl[16];
		int r, k;

		if (f == NULL) {
			ok(0, "format %zu compiles: %s", i, err);
			continue;
		}
		r = sre_logmine_format_parse(f, c->line, strlen(c->line), fl);
		if (!c->match) {
			ok(r == -1, "case %zu: no match", i);
		} else if (r != 0) {
			ok(0, "case %zu: match", i);
		} else {
			k = sre_logmine_format_field_index(f, c->field);
			if (c->want == NULL)
				ok(k >= 0 && fl[k].p == NULL,
				    "case %zu: %s absent", i, c->field);
			else
				ok(k >= 0 && fl[k].p &&
				    fl[k].len == strlen(c->want) &&
				    memcmp(fl[k].p, c->want, fl[k].len) == 0,
				    "case %zu: %s = \"%.*s\"", i, c->field,
				    k >= 0 && fl[k].p ? (int)fl[k].len : 0,
				    k >= 0 && fl[k].p ? fl[k].p : "");
		}
		sre_logmine_format_free(f);
	}
	{
		struct sre_logmine_format *f = sre_logmine_format_new(
		    "<Date> <Time> <Pid> <Level> <Component>: <Content>", NULL,
		    0);

		ok(sre_logmine_format_nfields(f) == 6 &&
		    strcmp(sre_logmine_format_field_name(f, 4), "Component") == 0
		    && sre_logmine_format_field_index(f, "Nope") == -1,
		    "field names and indexes");
		sre_logmine_format_free(f);
	}
	{
		static const char *bad[] = { "no fields", "<Open", "<>",
		    "(<A>", "<A>)", "<A> <A>", "<A>\\" };

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			char err[128] = "";

			errno = 0;
			ok(sre_logmine_format_new(bad[i], err, sizeof(err)) ==
			    NULL && errno == EINVAL && err[0],
			    "bad format \"%s\": %s", bad[i], err);
		}
	}
	{
		/* Backtracking stays bounded on a nasty line. */
		struct sre_logmine_format *f = sre_logmine_format_new(
		    "<A> <B> <C> <D> <E> <F> <G>: <H>", NULL, 0);
		char line[4001];
		struct sre_logmine_field fl[8];

		memset(line, ' ', 4000);
		for (int i = 0; i < 4000; i += 2)
			line[i] = 'a';
		line[4000] = '\0';
		ok(sre_logmine_format_parse(f, line, 4000, fl) == -1,
		    "pathological line fails quickly");
		sre_logmine_format_free(f);
	}
}

int
main(void)
{
	test_same_template();
	test_different_shapes();
	test_word_variables();
	test_stable_ids();
	test_eviction();
	test_garbage();
	test_mask();
	test_conf();
	test_format();
	return tap_done();
}
