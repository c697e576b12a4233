/* stream.c: the shared read-callback-write loop. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "event.h"
#include "sig.h"
#include "stream.h"

int
sre_stream_open(struct sre_stream *s, const struct sre_common *c)
{
	struct sre_bus_opts bo = { .maxlen = c->max_line };
	char err[1024];
	int ex;

	memset(s, 0, sizeof(*s));
	s->idle_ms = -1;
	if ((s->in = sre_bus_open(c->in, SRE_BUS_IN, &bo, err, sizeof(err),
	    &ex)) == NULL) {
		sre_warnx("%s", err);
		return ex;
	}
	if ((s->out = sre_bus_open(c->out, SRE_BUS_OUT, &bo, err, sizeof(err),
	    &ex)) == NULL) {
		sre_warnx("%s", err);
		sre_bus_close(s->in);
		s->in = NULL;
		return ex;
	}
	return EX_OK;
}

const char *
sre_stream_where(struct sre_stream *s)
{
	return sre_bus_where(s->in);
}

void
sre_stream_reject(struct sre_stream *s, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	s->rejected++;
	sre_warnx("%s: %s", sre_bus_where(s->in), msg);
}

static void
out_failed(struct sre_stream *s, int rc)
{
	if (rc == SRE_WRITE_EPIPE)
		s->epipe = 1;
	else if (!s->failed) {
		sre_warnx("writing output to %s failed: %s",
		    sre_bus_url(s->out), sre_bus_error(s->out));
		s->failed = sre_bus_gone(s->out) ? EX_UNAVAILABLE : EX_IOERR;
	}
}

int
sre_stream_emit(struct sre_stream *s, const char *line, size_t len)
{
	int rc;

	if (s->epipe || s->failed)
		return -1;
	if ((rc = sre_bus_write(s->out, line, len)) != SRE_WRITE_OK) {
		out_failed(s, rc);
		return -1;
	}
	s->emitted++;
	return 0;
}

int
sre_stream_emit_jv(struct sre_stream *s, jv v)
{
	size_t len;
	char *line = sre_jv_dump(v, &len);
	int rc;

	if (line == NULL) {
		sre_warnx("out of memory");
		s->failed = EX_OSERR;
		return -1;
	}
	rc = sre_stream_emit(s, line, len);
	free(line);
	return rc;
}

/* Flush the output and acknowledge the input read so far. */
static int
settle(struct sre_stream *s)
{
	int rc;

	if (s->epipe || s->failed)
		return -1;
	if ((rc = sre_bus_flush(s->out)) != SRE_WRITE_OK) {
		out_failed(s, rc);
		return -1;
	}
	if (sre_bus_ack(s->in) < 0) {
		sre_warnx("%s: acknowledging input failed",
		    sre_bus_url(s->in));
		s->failed = EX_UNAVAILABLE;
		return -1;
	}
	return 0;
}

int
sre_stream_run(struct sre_stream *s, sre_line_fn on_line,
    sre_idle_fn on_idle, void *ctx)
{
	const char *line;
	size_t len;
	int rc, ex, wclose;

	for (;;) {
		if (sre_stopping())
			break;
		if (!sre_bus_ready(s->in) && settle(s) < 0)
			break;
		rc = sre_bus_read(s->in, &line, &len,
		    on_idle != NULL ? s->idle_ms : -1);
		if (rc == SRE_READ_EOF || rc == SRE_READ_STOP)
			break;
		if (rc == SRE_READ_TIMEOUT) {
			if ((ex = on_idle(s, 0, ctx)) != 0) {
				s->failed = ex;
				break;
			}
			continue;
		}
		if (rc == SRE_READ_ERROR) {
			sre_warnx("reading %s failed: %s", sre_bus_url(s->in),
			    sre_bus_error(s->in));
			s->failed = sre_bus_gone(s->in) ? EX_UNAVAILABLE :
			    EX_IOERR;
			break;
		}
		s->lines++;
		if (rc == SRE_READ_TOOLONG) {
			sre_stream_reject(s, "line too long (%zu bytes, the "
			    "maximum is set by --max-line)", len);
			continue;
		}
		if ((ex = on_line(s, line, len, ctx)) != 0) {
			s->failed = ex;
			break;
		}
		if (s->epipe || s->failed)
			break;
	}
	if (on_idle != NULL && !s->failed && !s->epipe &&
	    (ex = on_idle(s, 1, ctx)) != 0)
		s->failed = ex;
	settle(s);
	sre_bus_close(s->in);
	wclose = sre_bus_close(s->out);
	s->in = s->out = NULL;
	if (wclose == SRE_WRITE_ERROR && !s->failed) {
		sre_warn("writing output failed");
		s->failed = EX_IOERR;
	}
	if (s->failed)
		return s->failed;
	/* A closed output, or a stop asked for by SIGTERM/SIGINT, ends the
	 * tool as it was asked to: 0. */
	if (s->epipe || sre_stopping())
		return EX_OK;
	return s->rejected ? EX_DATAERR : EX_OK;
}
