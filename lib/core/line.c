/* line.c: bounded NDJSON line reader and whole-line writer. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "line.h"
#include "sig.h"

#define CHUNK (64 * 1024)

struct sre_reader {
	int fd, own, eof;
	size_t maxlen;
	char *buf;
	size_t cap, start, end;	/* unread bytes are buf[start..end) */
	size_t scan;		/* bytes after start known to hold no '\n' */
	int skipping;		/* discarding an over-long line */
	size_t skipped;
	unsigned long long lineno;
};

struct sre_reader *
sre_reader_new(int fd, size_t maxlen, int own)
{
	struct sre_reader *r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->fd = fd;
	r->own = own;
	r->maxlen = maxlen ? maxlen : SRE_LINE_MAX_DEFAULT;
	r->cap = CHUNK;
	if ((r->buf = malloc(r->cap + 1)) == NULL) {
		free(r);
		return NULL;
	}
	return r;
}

void
sre_reader_free(struct sre_reader *r)
{
	if (r == NULL)
		return;
	if (r->own)
		close(r->fd);
	free(r->buf);
	free(r);
}

unsigned long long
sre_reader_lineno(const struct sre_reader *r)
{
	return r->lineno;
}

int
sre_reader_ready(const struct sre_reader *r)
{
	return memchr(r->buf + r->start + r->scan, '\n',
	    r->end - r->start - r->scan) != NULL;
}

/* Make room for at least CHUNK more bytes, compacting first. */
static int
make_room(struct sre_reader *r)
{
	size_t n = r->end - r->start, ncap;
	char *nb;

	if (r->start > 0) {
		memmove(r->buf, r->buf + r->start, n);
		r->start = 0;
		r->end = n;
	}
	if (r->cap - r->end >= CHUNK)
		return 0;
	ncap = r->cap * 2;
	if (ncap > r->maxlen + CHUNK + 1)
		ncap = r->maxlen + CHUNK + 1;
	if (ncap <= r->cap)
		return 0;
	if ((nb = realloc(r->buf, ncap + 1)) == NULL)
		return -1;
	r->buf = nb;
	r->cap = ncap;
	return 0;
}


/* Read more bytes.  1 got some, 0 EOF, or a negative/other SRE_READ_*. */
static int
fill(struct sre_reader *r, long long deadline)
{
	ssize_t n;

	if (make_room(r) < 0)
		return SRE_READ_ERROR;
	for (;;) {
		if (sre_stopping())
			return SRE_READ_STOP;
		if (deadline >= 0) {
			struct pollfd pfd = { .fd = r->fd, .events = POLLIN };
			long long left = deadline - sre_mono_ms();
			int pr;

			if (left < 0)
				left = 0;
			pr = poll(&pfd, 1, (int)left);
			if (pr < 0) {
				if (errno == EINTR)
					continue;
				return SRE_READ_ERROR;
			}
			if (pr == 0)
				return SRE_READ_TIMEOUT;
		}
		n = read(r->fd, r->buf + r->end, r->cap - r->end);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN && deadline < 0) {
				struct pollfd pfd = { .fd = r->fd, .events = POLLIN };

				if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
					return SRE_READ_ERROR;
				continue;
			}
			return SRE_READ_ERROR;
		}
		if (n == 0)
			return 0;
		r->end += (size_t)n;
		return 1;
	}
}

int
sre_reader_next(struct sre_reader *r, const char **line, size_t *len,
    int timeout_ms)
{
	long long deadline = timeout_ms < 0 ? -1 : sre_mono_ms() + timeout_ms;
	char *nl;
	int rc;

	for (;;) {
		size_t avail = r->end - r->start;

		nl = memchr(r->buf + r->start + r->scan, '\n', avail - r->scan);
		if (r->skipping) {
			if (nl != NULL) {
				size_t n = (size_t)(nl - (r->buf + r->start));

				r->skipped += n;
				r->start += n + 1;
				r->scan = 0;
				r->skipping = 0;
				r->lineno++;
				*len = r->skipped;
				*line = NULL;
				return SRE_READ_TOOLONG;
			}
			r->skipped += avail;
			r->start = r->end = 0;
			r->scan = 0;
		} else if (nl != NULL) {
			size_t n = (size_t)(nl - (r->buf + r->start));

			if (n > r->maxlen) {
				r->start += n + 1;
				r->scan = 0;
				r->lineno++;
				*len = n;
				*line = NULL;
				return SRE_READ_TOOLONG;
			}
			*nl = '\0';
			*line = r->buf + r->start;
			*len = n;
			r->start += n + 1;
			r->scan = 0;
			r->lineno++;
			return SRE_READ_LINE;
		} else if (avail > r->maxlen) {
			r->skipping = 1;
			r->skipped = avail;
			r->start = r->end = 0;
			r->scan = 0;
		} else {
			r->scan = avail;
		}
		if (r->eof)
			break;
		rc = fill(r, deadline);
		if (rc == 0) {
			r->eof = 1;
			continue;
		}
		if (rc != 1)
			return rc;
	}
	/* End of input: a last line without a newline is still a line. */
	if (r->skipping) {
		r->skipping = 0;
		r->lineno++;
		*len = r->skipped;
		*line = NULL;
		return SRE_READ_TOOLONG;
	}
	if (r->end > r->start) {
		*len = r->end - r->start;
		r->buf[r->end] = '\0';
		*line = r->buf + r->start;
		r->start = r->end = 0;
		r->scan = 0;
		r->lineno++;
		return SRE_READ_LINE;
	}
	return SRE_READ_EOF;
}

struct sre_writer {
	int fd, own, broken;
	char *buf;
	size_t cap, len;
};

struct sre_writer *
sre_writer_new(int fd, int own)
{
	struct sre_writer *w;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	w->fd = fd;
	w->own = own;
	w->cap = CHUNK;
	if ((w->buf = malloc(w->cap)) == NULL) {
		free(w);
		return NULL;
	}
	return w;
}

static int
write_all(struct sre_writer *w, const char *p, size_t n)
{
	ssize_t k;

	while (n > 0) {
		k = write(w->fd, p, n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			w->broken = 1;
			return errno == EPIPE ? SRE_WRITE_EPIPE : SRE_WRITE_ERROR;
		}
		p += k;
		n -= (size_t)k;
	}
	return SRE_WRITE_OK;
}

int
sre_writer_flush(struct sre_writer *w)
{
	int rc;

	if (w->broken) {
		errno = EPIPE;
		return SRE_WRITE_EPIPE;
	}
	rc = write_all(w, w->buf, w->len);
	w->len = 0;
	return rc;
}

int
sre_writer_line(struct sre_writer *w, const char *line, size_t len)
{
	int nl = len == 0 || line[len - 1] != '\n';
	int rc;

	if (w->len + len + 1 > w->cap) {
		if ((rc = sre_writer_flush(w)) != SRE_WRITE_OK)
			return rc;
		if (len + 1 > w->cap) {
			/* A line larger than the buffer goes out directly. */
			if ((rc = write_all(w, line, len)) != SRE_WRITE_OK)
				return rc;
			return nl ? write_all(w, "\n", 1) : SRE_WRITE_OK;
		}
	}
	memcpy(w->buf + w->len, line, len);
	w->len += len;
	if (nl)
		w->buf[w->len++] = '\n';
	return SRE_WRITE_OK;
}

size_t
sre_writer_pending(const struct sre_writer *w)
{
	return w->len;
}

int
sre_writer_free(struct sre_writer *w)
{
	int rc;

	if (w == NULL)
		return SRE_WRITE_OK;
	rc = w->broken ? SRE_WRITE_OK : sre_writer_flush(w);
	if (w->own && close(w->fd) < 0 && rc == SRE_WRITE_OK)
		rc = SRE_WRITE_ERROR;
	free(w->buf);
	free(w);
	return rc;
}
