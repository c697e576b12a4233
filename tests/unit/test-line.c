/* test-line.c: the bounded line reader and the whole-line writer. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "line.h"
#include "tap.h"

/* A reader over a pipe already holding data (and closed for writing). */
static struct sre_reader *
reader_on(const char *data, size_t n, size_t maxlen)
{
	int p[2];

	if (pipe(p) < 0)
		abort();
	if (n > 0 && write(p[1], data, n) != (ssize_t)n)
		abort();
	close(p[1]);
	return sre_reader_new(p[0], maxlen, 1);
}

/* A reader over a temporary file (for inputs larger than a pipe). */
static struct sre_reader *
reader_file(const char *data, size_t n, size_t maxlen)
{
	char path[] = "/tmp/test-line-XXXXXX";
	int fd = mkstemp(path);

	if (fd < 0 || write(fd, data, n) != (ssize_t)n)
		abort();
	unlink(path);
	lseek(fd, 0, SEEK_SET);
	return sre_reader_new(fd, maxlen, 1);
}

static void
test_lines(void)
{
	struct sre_reader *r = reader_on("one\ntwo\r\n\nlast", 14, 0);
	const char *l;
	size_t n;

	ok(sre_reader_next(r, &l, &n, -1) == SRE_READ_LINE &&
	    n == 3 && strcmp(l, "one") == 0, "first line");
	ok(sre_reader_lineno(r) == 1, "line number 1");
	ok(sre_reader_next(r, &l, &n, -1) == SRE_READ_LINE &&
	    n == 4 && memcmp(l, "two\r", 4) == 0, "CR is kept (the caller decides)");
	ok(sre_reader_next(r, &l, &n, -1) == SRE_READ_LINE && n == 0,
	    "an empty line is a line");
	ok(sre_reader_next(r, &l, &n, -1) == SRE_READ_LINE && n == 4 &&
	    strcmp(l, "last") == 0, "a last line without a newline");
	ok(sre_reader_lineno(r) == 4, "line number 4");
	ok(sre_reader_next(r, &l, &n, -1) == SRE_READ_EOF, "then EOF");
	ok(sre_reader_next(r, &l, &n, -1) == SRE_READ_EOF, "EOF again");
	sre_reader_free(r);
}

static void
test_toolong(void)
{
	size_t big = 300000, i;
	char *data = malloc(big + 64);
	struct sre_reader *r;
	const char *l;
	size_t n;

	strcpy(data, "ok1\n");
	for (i = 4; i < 4 + big; i++)
		data[i] = 'x';
	memcpy(data + 4 + big, "\nok2\nxxxxxxxxxxx", 17);
	r = reader_file(data, 4 + big + 16, 1000);
	ok(sre_reader_next(r, &l, &n, -1) == SRE_READ_LINE &&
	    strcmp(l, "ok1") == 0, "line before a long one");
	ok(sre_reader_next(r, &l, &n, -1) == SRE_READ_TOOLONG && n == big,
	    "the long line is skipped and its length told (%zu)", n);
	ok(sre_reader_lineno(r) == 2, "it still has a number");
	ok(sre_reader_next(r, &l, &n, -1) == SRE_READ_LINE &&
	    strcmp(l, "ok2") == 0, "line after a long one");
	ok(sre_reader_next(r, &l, &n, -1) == SRE_READ_LINE && n == 11,
	    "short last line");
	sre_reader_free(r);

	/* A too-long line that ends the input without a newline. */
	r = reader_file(data + 4, big, 1000);
	ok(sre_reader_next(r, &l, &n, -1) == SRE_READ_TOOLONG && n == big,
	    "too-long last line without a newline");
	ok(sre_reader_next(r, &l, &n, -1) == SRE_READ_EOF, "then EOF");
	sre_reader_free(r);

	/* Exactly at the limit passes; one over does not. */
	r = reader_on("abcd\nabcde\n", 11, 4);
	ok(sre_reader_next(r, &l, &n, -1) == SRE_READ_LINE && n == 4,
	    "a line of exactly maxlen bytes passes");
	ok(sre_reader_next(r, &l, &n, -1) == SRE_READ_TOOLONG && n == 5,
	    "maxlen + 1 is too long");
	sre_reader_free(r);
	free(data);
}

static void
test_timeout(void)
{
	struct sre_reader *r;
	const char *l;
	size_t n;
	int p[2];

	if (pipe(p) < 0)
		abort();
	r = sre_reader_new(p[0], 0, 1);
	ok(write(p[1], "part", 4) == 4, "write a partial line");
	ok(sre_reader_next(r, &l, &n, 50) == SRE_READ_TIMEOUT,
	    "no complete line: timeout");
	ok(!sre_reader_ready(r), "not ready");
	ok(write(p[1], "ial\nnext\n", 9) == 9, "complete it");
	ok(sre_reader_next(r, &l, &n, 50) == SRE_READ_LINE &&
	    strcmp(l, "partial") == 0, "the partial data was kept");
	ok(sre_reader_ready(r), "the next line is buffered: ready");
	ok(sre_reader_next(r, &l, &n, 0) == SRE_READ_LINE &&
	    strcmp(l, "next") == 0, "buffered line with a zero timeout");
	close(p[1]);
	ok(sre_reader_next(r, &l, &n, 50) == SRE_READ_EOF, "EOF");
	sre_reader_free(r);
}

static void
test_writer(void)
{
	struct sre_writer *w;
	char buf[256];
	ssize_t k;
	int p[2];
	char *big;

	if (pipe(p) < 0)
		abort();
	w = sre_writer_new(p[1], 0);
	ok(sre_writer_line(w, "a", 1) == SRE_WRITE_OK, "buffer a line");
	ok(sre_writer_line(w, "b\n", 2) == SRE_WRITE_OK,
	    "a line with its newline gets no second one");
	ok(sre_writer_pending(w) == 4, "4 bytes pending");
	ok(sre_writer_flush(w) == SRE_WRITE_OK, "flush");
	k = read(p[0], buf, sizeof(buf));
	ok(k == 4 && memcmp(buf, "a\nb\n", 4) == 0, "whole lines written");

	/* A line larger than the buffer goes out whole. */
	big = malloc(200000);
	memset(big, 'z', 200000);
	/* Best effort: a pipe big enough that the write does not block. */
	(void)fcntl(p[0], F_SETPIPE_SZ, 1 << 20);
	ok(sre_writer_line(w, big, 100000) == SRE_WRITE_OK, "a big line");
	ok(sre_writer_flush(w) == SRE_WRITE_OK, "flushed");
	{
		size_t got = 0;

		while (got < 100001 && (k = read(p[0], big + 100000,
		    100000)) > 0)
			got += (size_t)k;
		ok(got == 100001, "big line and newline arrived (%zu)", got);
	}
	close(p[0]);
	ok(sre_writer_line(w, "x", 1) == SRE_WRITE_OK, "buffered after close");
	ok(sre_writer_flush(w) == SRE_WRITE_EPIPE, "reader gone: EPIPE");
	ok(sre_writer_flush(w) == SRE_WRITE_EPIPE, "and it stays broken");
	ok(sre_writer_free(w) == SRE_WRITE_OK, "free after EPIPE is quiet");
	close(p[1]);
	free(big);
	sre_reader_free(NULL);
	ok(sre_writer_free(NULL) == SRE_WRITE_OK, "free(NULL) is fine");
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	test_lines();
	test_toolong();
	test_timeout();
	test_writer();
	return tap_done();
}
