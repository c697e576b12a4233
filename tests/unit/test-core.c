/*
 * test-core: the small shared pieces of lib/core: FNV-1a (lib/core/hash.c,
 * against the published test vectors), replacing a file whole
 * (lib/core/file.c) and the one jv member getter (lib/core/event.c).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "event.h"
#include "file.h"
#include "hash.h"
#include "tap.h"

static char *
slurp(const char *path)
{
	static char buf[256];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return NULL;
	buf[n] = '\0';
	return buf;
}

static int
entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void
test_hash(void)
{
	/* Vectors of the FNV reference (draft-eastlake-fnv). */
	ok(sre_fnv1a64(SRE_FNV64_BASIS, "", 0) == 0xcbf29ce484222325ULL,
	    "fnv1a64 of nothing is the basis");
	ok(sre_fnv1a64(SRE_FNV64_BASIS, "a", 1) == 0xaf63dc4c8601ec8cULL,
	    "fnv1a64(\"a\")");
	ok(sre_fnv1a64_str(SRE_FNV64_BASIS, "foobar") == 0x85944171f73967e8ULL,
	    "fnv1a64(\"foobar\")");
	ok(sre_fnv1a64(sre_fnv1a64(SRE_FNV64_BASIS, "foo", 3), "bar", 3) ==
	    0x85944171f73967e8ULL, "chained pieces hash as the whole");
	ok(sre_fnv1a32(SRE_FNV32_BASIS, "a", 1) == 0xe40c292cu,
	    "fnv1a32(\"a\")");
	ok(sre_fnv1a32(SRE_FNV32_BASIS, "foobar", 6) == 0xbf9cf968u,
	    "fnv1a32(\"foobar\")");
}

static void
test_file(void)
{
	char dir[] = "/tmp/test-core.XXXXXX", path[256], bad[300];
	struct stat st;
	const char *s;

	if (mkdtemp(dir) == NULL) {
		ok(0, "mkdtemp: %s", strerror(errno));
		return;
	}
	snprintf(path, sizeof(path), "%s/state.json", dir);
	ok(sre_file_replace(path, "one\n", 4, 0600) == 0, "a new file");
	s = slurp(path);
	ok(s != NULL && strcmp(s, "one\n") == 0, "holds the text");
	ok(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600,
	    "with the mode asked for");
	ok(sre_file_replace(path, "two", 3, 0644) == 0, "replaced");
	s = slurp(path);
	ok(s != NULL && strcmp(s, "two") == 0, "holds the new text only");
	ok(stat(path, &st) == 0 && (st.st_mode & 07777) == 0644,
	    "the new mode exactly (no umask)");
	ok(entries(dir) == 1, "no temporary file left behind");
	snprintf(bad, sizeof(bad), "%s/missing/x", dir);
	errno = 0;
	ok(sre_file_replace(bad, "x", 1, 0644) < 0 && errno == ENOENT,
	    "a missing directory fails with ENOENT");
	/* rename(2) over a directory fails: the target stays, no litter. */
	snprintf(bad, sizeof(bad), "%s/sub", dir);
	ok(mkdir(bad, 0700) == 0, "a directory as target");
	ok(sre_file_replace(bad, "x", 1, 0644) < 0 && errno == EISDIR,
	    "replacing a directory fails with EISDIR");
	ok(entries(dir) == 2, "and leaves no temporary file");
	rmdir(bad);
	unlink(path);
	rmdir(dir);
}

static void
test_get(void)
{
	jv o = jv_parse("{\"a\":1,\"n\":null,\"s\":\"x\"}"), m;
	jv str = jv_string("not an object");

	m = sre_jv_get(o, "a");
	ok(jv_get_kind(m) == JV_KIND_NUMBER && jv_number_value(m) == 1,
	    "a member");
	jv_free(m);
	m = sre_jv_get(o, "n");
	ok(jv_get_kind(m) == JV_KIND_NULL, "a null member is null");
	jv_free(m);
	m = sre_jv_get(o, "zz");
	ok(!jv_is_valid(m), "a missing member is invalid");
	jv_free(m);
	m = sre_jv_get(str, "a");
	ok(!jv_is_valid(m), "any other kind gives invalid, no assert");
	jv_free(m);
	jv_free(str);
	ok(strcmp(sre_jv_str(o, "s"), "x") == 0, "sre_jv_str still borrows");
	jv_free(o);
}

int
main(void)
{
	test_hash();
	test_file();
	test_get();
	return tap_done();
}
