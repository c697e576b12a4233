/* stream.c: the shared read-callback-write loop. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "event.h"
#include "line.h"
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
sre_stream_hint(struct sre_stream *s, const char *where, const char *line,
    size_t len)
{
	if (s->hinted || line == NULL || !sre_line_pretty(line, len))
		return;
	s->hinted = 1;
	sre_warnx("%s: hint: this looks like pretty-printed JSON; every tool "
	    "reads one JSON object per line (NDJSON): jq -c . FILE writes it "
	    "so", where != NULL ? where : sre_bus_where(s->in));
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
	sre_stream_hint(s, NULL, s->line, s->len);
}

jv
sre_stream_event(const char *line, size_t len, int flags, char *err,
    size_t errlen)
{
	jv ev = sre_json_object(line, len, err, errlen);

	if (jv_is_valid(ev) && !(flags & SRE_STREAM_ANY) &&
	    sre_event_check(ev, err, errlen) < 0) {
		jv_free(ev);
		return jv_invalid();
	}
	return ev;
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
		if (sre_line_blank(line, len))
			continue;	/* blank lines carry nothing */
		s->line = line;
		s->len = len;
		ex = on_line(s, line, len, ctx);
		s->line = NULL;
		if (ex != 0) {
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

/* sre_stream_events: the callback and flags, behind sre_stream_run. */
struct events {
	sre_event_fn on_event;
	sre_idle_fn on_idle;
	int flags;
	void *ctx;
};

static int
event_line(struct sre_stream *s, const char *line, size_t len, void *arg)
{
	struct events *e = arg;
	struct sre_event_in in;
	char err[512];
	int64_t ts;
	int ex;

	in.ev = sre_stream_event(line, len, e->flags, err, sizeof(err));
	if (!jv_is_valid(in.ev)) {
		jv_free(in.ev);
		sre_stream_reject(s, "%s", err);
		return 0;
	}
	if ((e->flags & SRE_STREAM_PASS) && sre_stream_emit(s, line, len) < 0) {
		jv_free(in.ev);
		return 0;	/* the output is gone: the loop ends */
	}
	if (s->clock != NULL && sre_jv_int(in.ev, "ts_ms", &ts) == 0 &&
	    sre_evclock_see(s->clock, ts) < 0)
		sre_warnx("%s: ts_ms %lld is far ahead of the event clock and "
		    "the wall clock: not taken for timers",
		    sre_stream_where(s), (long long)ts);
	in.type = sre_jv_str(in.ev, "type");
	in.line = line;
	in.len = len;
	ex = e->on_event(s, &in, e->ctx);
	jv_free(in.ev);
	return ex;
}

static int
event_idle(struct sre_stream *s, int at_end, void *arg)
{
	struct events *e = arg;

	return e->on_idle(s, at_end, e->ctx);
}

int
sre_stream_events(struct sre_stream *s, int flags, sre_event_fn on_event,
    sre_idle_fn on_idle, void *ctx)
{
	struct events e = { on_event, on_idle, flags, ctx };

	return sre_stream_run(s, event_line, on_idle != NULL ? event_idle :
	    NULL, &e);
}
