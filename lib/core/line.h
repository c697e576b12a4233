/*
 * line.h: NDJSON line I/O on file descriptors.
 *
 * The reader hands out one line at a time without its newline, with a
 * maximum length: a longer line is skipped to its end and reported as
 * SRE_READ_TOOLONG, so one huge record never stops the stream.  A last
 * line without a newline is still a line.  Lines carry their 1-based
 * number for diagnostics.
 *
 * The writer writes whole lines: each call appends one line and a newline
 * to a buffer that is written out, looping over short writes and EINTR,
 * when it fills or on sre_writer_flush().  A closed pipe is reported as
 * SRE_WRITE_EPIPE so the tool can end quietly.
 */
#ifndef SRE_LINE_H
#define SRE_LINE_H

#include <stddef.h>
#include <sys/types.h>

#define SRE_LINE_MAX_DEFAULT (16u * 1024 * 1024)

enum sre_read {
	SRE_READ_ERROR = -1,	/* read(2) failed, errno set */
	SRE_READ_EOF = 0,	/* end of input */
	SRE_READ_LINE = 1,	/* a line is in hand */
	SRE_READ_TOOLONG = 2,	/* a line over the maximum was skipped */
	SRE_READ_STOP = 3,	/* SIGTERM/SIGINT arrived while waiting */
	SRE_READ_TIMEOUT = 4	/* no complete line within the timeout */
};

struct sre_reader;

/*
 * A reader over fd (not closed by sre_reader_free unless own is set).
 * maxlen 0 means SRE_LINE_MAX_DEFAULT.  Returns NULL when out of memory.
 */
struct sre_reader *sre_reader_new(int fd, size_t maxlen, int own);

/*
 * A reader over a read function instead of a descriptor (a decompressor):
 * rd(ctx, buf, n) returns the bytes read, 0 at the end, or -1 with errno
 * set.  It must not wait for long (no timeout applies to it).  done(ctx),
 * if not NULL, is called by sre_reader_free.  NULL when out of memory.
 */
struct sre_reader *sre_reader_new_fn(ssize_t (*rd)(void *, void *, size_t),
    void (*done)(void *), void *ctx, size_t maxlen);

/*
 * Read the next line.  On SRE_READ_LINE *line points at the line, NUL
 * terminated, valid until the next call (borrowed), and *len is its length
 * without the newline.  On SRE_READ_TOOLONG *len is the length that was
 * skipped.  timeout_ms < 0 waits for ever; otherwise SRE_READ_TIMEOUT is
 * returned when no complete line arrived in time (partial data is kept).
 */
int sre_reader_next(struct sre_reader *r, const char **line, size_t *len,
    int timeout_ms);

/* The number of the line last returned (1-based), 0 before any. */
unsigned long long sre_reader_lineno(const struct sre_reader *r);

/* Non-zero when a complete line is already buffered (no read needed). */
int sre_reader_ready(const struct sre_reader *r);

/* Free the reader; accepts NULL. */
void sre_reader_free(struct sre_reader *r);

/* Non-zero when the line holds nothing but spaces, tabs and CRs: a blank
 * line carries nothing and every tool skips it. */
int sre_line_blank(const char *line, size_t len);

/*
 * Non-zero when a line that is not a JSON value looks like a piece of
 * pretty-printed JSON: a lone bracket ("{", "}," ...), a member line
 * ("\"name\": ...") or an opening line ending in "{", "[" or ",".
 * Tools read one JSON object per line; this is the hint to give.
 */
int sre_line_pretty(const char *line, size_t len);

enum sre_write {
	SRE_WRITE_OK = 0,
	SRE_WRITE_ERROR = -1,	/* errno set */
	SRE_WRITE_EPIPE = -2	/* the reader went away */
};

struct sre_writer;

/* A writer over fd; own: close fd on free.  NULL when out of memory. */
struct sre_writer *sre_writer_new(int fd, int own);

/*
 * Append one line (len bytes; a newline is added unless the line already
 * ends with one).  Returns SRE_WRITE_OK or an error from writing out a full
 * buffer.
 */
int sre_writer_line(struct sre_writer *w, const char *line, size_t len);

/* Write out everything buffered.  SRE_WRITE_OK or an error. */
int sre_writer_flush(struct sre_writer *w);

/* Bytes waiting in the buffer. */
size_t sre_writer_pending(const struct sre_writer *w);

/* Flush, close if owned, free.  Returns the flush result.  Accepts NULL. */
int sre_writer_free(struct sre_writer *w);

#endif
