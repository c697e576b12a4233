/* bus.c: URL dispatch for bus ends; the stdio and file back-ends. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <zlib.h>

#include "bus.h"
#include "buskey.h"
#include "diag.h"

struct fdbus {
	struct sre_reader *r;
	struct sre_writer *w;
	gzFile gz;		/* a .gz input, read through zlib */
	char gzerr[256];	/* its last error */
};

/* Names ending in .gz are read through gzip (zlib reads a file that is
 * not compressed as it is). */
static int
gz_name(const char *path)
{
	size_t n = strlen(path);

	return n > 3 && strcmp(path + n - 3, ".gz") == 0;
}

static ssize_t
gz_rd(void *ctx, void *buf, size_t n)
{
	struct fdbus *f = ctx;
	const char *msg;
	int k, zerr;

	if (n > INT_MAX)
		n = INT_MAX;
	k = gzread(f->gz, buf, (unsigned)n);
	msg = gzerror(f->gz, &zerr);
	/* The end of a truncated file reads as 0 with Z_BUF_ERROR. */
	if (k > 0 || (k == 0 && zerr == Z_OK))
		return k;
	if (zerr == Z_ERRNO)
		snprintf(f->gzerr, sizeof(f->gzerr), "%s", strerror(errno));
	else {
		/* zlib says "<fd:3>: what"; the bus names the file. */
		const char *w = strstr(msg, ": ");

		snprintf(f->gzerr, sizeof(f->gzerr), "gzip: %s",
		    w != NULL ? w + 2 : msg);
	}
	errno = EIO;
	return -1;
}

static void
gz_done(void *ctx)
{
	struct fdbus *f = ctx;

	gzclose(f->gz);
	f->gz = NULL;
}

/* Open PATH for reading into f: through zlib when its name says .gz. */
static int
fd_open_in(struct fdbus *f, const char *path, size_t maxlen)
{
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	if (!gz_name(path)) {
		if ((f->r = sre_reader_new(fd, maxlen, 1)) == NULL)
			close(fd);
		return 0;
	}
	if ((f->gz = gzdopen(fd, "rb")) == NULL) {
		close(fd);
		errno = ENOMEM;
		return 0;
	}
	gzbuffer(f->gz, 128 * 1024);
	if ((f->r = sre_reader_new_fn(gz_rd, gz_done, f, maxlen)) == NULL)
		gz_done(f);
	return 0;
}

static void *
fd_open(const char *url, enum sre_bus_mode mode, size_t maxlen, char *err,
    size_t errlen, int *ex)
{
	struct fdbus *f;
	const char *path = NULL;
	int fd;

	if (strcmp(url, "-") != 0) {
		path = url + 5;		/* "file:" */
		if (*path == '\0') {
			snprintf(err, errlen, "%s: empty path", url);
			*ex = EX_USAGE;
			return NULL;
		}
	}
	if ((f = calloc(1, sizeof(*f))) == NULL) {
		snprintf(err, errlen, "%s: %s", url, strerror(errno));
		*ex = EX_OSERR;
		return NULL;
	}
	if (mode == SRE_BUS_IN) {
		if (path == NULL)
			f->r = sre_reader_new(STDIN_FILENO, maxlen, 0);
		else if (fd_open_in(f, path, maxlen) < 0) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			*ex = EX_NOINPUT;	/* missing or unreadable */
			free(f);
			return NULL;
		}
	} else {
		if (path == NULL)
			fd = STDOUT_FILENO;
		else if ((fd = open(path, O_WRONLY | O_CREAT | O_APPEND |
		    O_CLOEXEC, 0666)) < 0) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			*ex = EX_CANTCREAT;
			free(f);
			return NULL;
		}
		f->w = sre_writer_new(fd, path != NULL);
	}
	if (f->r == NULL && f->w == NULL) {
		snprintf(err, errlen, "%s: out of memory", url);
		*ex = EX_OSERR;
		free(f);
		return NULL;
	}
	return f;
}

static int
fd_read(void *be, const char **line, size_t *len, int timeout_ms)
{
	return sre_reader_next(((struct fdbus *)be)->r, line, len, timeout_ms);
}

static int
fd_write(void *be, const char *line, size_t len)
{
	return sre_writer_line(((struct fdbus *)be)->w, line, len);
}

static int
fd_flush(void *be)
{
	struct fdbus *f = be;

	return f->w ? sre_writer_flush(f->w) : SRE_WRITE_OK;
}

static int
fd_ack(void *be)
{
	(void)be;
	return 0;
}

static int
fd_ready(void *be)
{
	struct fdbus *f = be;

	return f->r ? sre_reader_ready(f->r) : 0;
}

static unsigned long long
fd_lineno(void *be)
{
	struct fdbus *f = be;

	return f->r ? sre_reader_lineno(f->r) : 0;
}

static int
fd_close(void *be)
{
	struct fdbus *f = be;
	int rc;

	sre_reader_free(f->r);
	rc = sre_writer_free(f->w);
	free(f);
	return rc;
}

static const char *
fd_error(void *be)
{
	struct fdbus *f = be;

	return f->gzerr[0] != '\0' ? f->gzerr : NULL;
}

static const struct sre_bus_ops fd_ops = {
	"file", fd_open, fd_read, fd_write, fd_flush, fd_ack, fd_ready,
	fd_lineno, fd_close, fd_error, NULL, NULL, NULL
};

/* A URL scheme: a letter, then letters, digits, "+", "-" or ".". */
static int
is_scheme(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || !((s[0] >= 'a' && s[0] <= 'z') ||
	    (s[0] >= 'A' && s[0] <= 'Z')))
		return 0;
	for (i = 1; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || strchr("+-.", s[i])))
			return 0;
	return 1;
}

/* Linked in by the tools whose link lists name them (see the Makefile). */
extern const struct sre_bus_ops sre_bus_redis_ops __attribute__((weak));
extern const struct sre_bus_ops sre_bus_kafka_ops __attribute__((weak));

#define MAX_BACKENDS 8
static const struct sre_bus_ops *backends[MAX_BACKENDS] = { &fd_ops };
static int nbackends = 1;

static void
register_linked(void)
{
	static int done;

	if (done)
		return;
	done = 1;
	if (&sre_bus_redis_ops != NULL)
		sre_bus_register(&sre_bus_redis_ops);
	if (&sre_bus_kafka_ops != NULL)
		sre_bus_register(&sre_bus_kafka_ops);
}

int
sre_bus_register(const struct sre_bus_ops *ops)
{
	int i;

	for (i = 0; i < nbackends; i++)
		if (strcmp(backends[i]->scheme, ops->scheme) == 0)
			return 0;
	if (nbackends == MAX_BACKENDS)
		return -1;
	backends[nbackends++] = ops;
	return 0;
}

struct sre_bus {
	const struct sre_bus_ops *ops;
	void *be;
	char *url;
	char where[512];
};

struct sre_bus *
sre_bus_open(const char *url, enum sre_bus_mode mode,
    const struct sre_bus_opts *opts, char *err, size_t errlen, int *ex)
{
	const struct sre_bus_ops *ops = NULL;
	const char *colon;
	char *path = NULL;
	struct sre_bus *b;
	size_t slen;
	int i;

	*ex = EX_OK;
	register_linked();
	if (url == NULL || *url == '\0') {
		snprintf(err, errlen, "empty bus URL");
		*ex = EX_USAGE;
		return NULL;
	}
	if (strcmp(url, "-") == 0)
		ops = &fd_ops;
	else if ((colon = strchr(url, ':')) == NULL ||
	    !is_scheme(url, (size_t)(colon - url))) {
		/* A bare path is a file (./a:b too: no scheme before ':'). */
		ops = &fd_ops;
		if (asprintf(&path, "file:%s", url) < 0) {
			snprintf(err, errlen, "%s: out of memory", url);
			*ex = EX_OSERR;
			return NULL;
		}
		url = path;
	} else {
		slen = (size_t)(colon - url);
		for (i = 0; i < nbackends; i++)
			if (strlen(backends[i]->scheme) == slen &&
			    strncmp(backends[i]->scheme, url, slen) == 0)
				ops = backends[i];
		if (ops == NULL && ((slen == 5 && strncmp(url, "redis", 5) ==
		    0) || (slen == 5 && strncmp(url, "kafka", 5) == 0))) {
			snprintf(err, errlen, "%s: %s was built without the "
			    "%.*s back-end", url, sre_progname(), (int)slen,
			    url);
			*ex = EX_CONFIG;
			return NULL;
		}
		if (ops == NULL) {
			snprintf(err, errlen, "%s: unsupported bus scheme "
			    "'%.*s'", url, (int)slen, url);
			*ex = EX_CONFIG;
			return NULL;
		}
	}
	if ((b = calloc(1, sizeof(*b))) == NULL ||
	    (b->url = path != NULL ? path : strdup(url)) == NULL) {
		free(b);
		free(path);
		snprintf(err, errlen, "%s: out of memory", url);
		*ex = EX_OSERR;
		return NULL;
	}
	b->ops = ops;
	b->be = ops->open(b->url, mode, opts ? opts->maxlen : 0, err, errlen,
	    ex);
	if (b->be == NULL) {
		free(b->url);
		free(b);
		return NULL;
	}
	return b;
}

int
sre_bus_read(struct sre_bus *b, const char **line, size_t *len,
    int timeout_ms)
{
	int rc = b->ops->read(b->be, line, len, timeout_ms);

	/* A UTF-8 byte-order mark (a file saved by an editor, files
	 * concatenated) is no part of a line: every tool skips it alike. */
	if (rc == SRE_READ_LINE && *len >= 3 &&
	    memcmp(*line, "\xef\xbb\xbf", 3) == 0) {
		*line += 3;
		*len -= 3;
	}
	return rc;
}

static int
write_keyed(void *ctx, const char *key, size_t keylen, const char *line,
    size_t len)
{
	struct sre_bus *b = ctx;

	return b->ops->write_key(b->be, key, keylen, line, len);
}

int
sre_bus_write(struct sre_bus *b, const char *line, size_t len)
{
	int rc;

	if (b->ops->keyed == NULL || !b->ops->keyed(b->be))
		return b->ops->write(b->be, line, len);
	while (len > 0 && line[len - 1] == '\n')
		len--;
	rc = sre_buskey_split(line, len, write_keyed, b);
	return rc;
}

int
sre_bus_flush(struct sre_bus *b)
{
	return b->ops->flush(b->be);
}

int
sre_bus_ack(struct sre_bus *b)
{
	return b->ops->ack(b->be);
}

int
sre_bus_ready(struct sre_bus *b)
{
	return b->ops->ready(b->be);
}

const char *
sre_bus_where(struct sre_bus *b)
{
	unsigned long long n = b->ops->lineno(b->be);

	if (strcmp(b->url, "-") == 0)
		snprintf(b->where, sizeof(b->where), "line %llu", n);
	else if (strncmp(b->url, "file:", 5) == 0)
		snprintf(b->where, sizeof(b->where), "%s:%llu", b->url + 5, n);
	else
		snprintf(b->where, sizeof(b->where), "%s: message %llu",
		    b->url, n);
	return b->where;
}

int
sre_bus_gone(struct sre_bus *b)
{
	return b->ops->gone != NULL && b->ops->gone(b->be);
}

const char *
sre_bus_error(struct sre_bus *b)
{
	const char *e = b->ops->error ? b->ops->error(b->be) : NULL;

	return e != NULL && *e != '\0' ? e : strerror(errno);
}

const char *
sre_bus_url(const struct sre_bus *b)
{
	return b->url;
}

int
sre_bus_close(struct sre_bus *b)
{
	int rc;

	if (b == NULL)
		return SRE_WRITE_OK;
	rc = b->ops->close(b->be);
	free(b->url);
	free(b);
	return rc;
}
