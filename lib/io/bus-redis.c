/*
 * bus-redis.c: Redis Streams as a bus end.
 *
 *	redis://HOST:PORT/STREAM?group=G&consumer=C&maxlen=N&drain=1
 *
 * Reading joins consumer group G (default "sre", created at the start of
 * the stream if missing) as consumer C (default: the host name, so a
 * restarted tool picks up what it had been handed but not acknowledged:
 * it first re-reads its pending entries, then new ones with ">").  Then,
 * and every claim=DURATION (default 30s; 0 never), it takes over with
 * XAUTOCLAIM the entries of the group that stayed pending that long (a
 * consumer killed and not restarted, or restarted under another name).
 * Lines
 * are acknowledged with XACK only when sre_bus_ack() says their output is
 * written: at-least-once.  Each entry carries the line in its "line"
 * field (another producer's first field is taken otherwise).  drain=1
 * ends the input when the stream has nothing new (tests, batch jobs).
 *
 * Writing appends entries with XADD, trimmed to about maxlen entries
 * (default 100000) so a stream cannot grow without bound; commands are
 * pipelined and their replies checked on flush.
 *
 * A connection that drops (Redis restarted, a network blip) is made again
 * with exponential backoff, from 100 ms up to 5 s between attempts, for
 * retry=DURATION in all (default SRE_BUS_RETRY, else 30s); then the
 * command that failed is sent again (lines not yet confirmed are written
 * again: at-least-once).  Past the budget the bus end is "gone" and the
 * tool exits 69.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <hiredis.h>

#include <bsd/stdlib.h>

#include "bus.h"
#include "clock.h"
#include "evtime.h"
#include "busurl.h"
#include "buskey.h"
#include "sig.h"

#define BATCH "100"
#define PIPELINE_MAX 256
#define BLOCK_MS 1000

struct rbus {
	redisContext *c;
	struct sre_busurl u;
	char group[128], consumer[128];
	enum sre_bus_mode mode;
	size_t maxlen;		/* longest line */
	char trim[24];		/* XADD MAXLEN ~ */
	int drain;
	int pending_phase;	/* re-reading our own pending entries */
	int claim_phase;	/* taking over others' stale entries */
	int64_t claim_ms;	/* entries idle this long are stale; 0: never */
	long long last_claim;	/* when the last claim round ended */
	char cursor[64];	/* XAUTOCLAIM's */
	redisReply *batch;	/* the last XREADGROUP reply */
	redisReply *entries;	/* its entry array (borrowed from batch) */
	size_t next;
	char **unacked;
	size_t nunacked, capunacked;
	int inflight;		/* pipelined XADDs without a reply read */
	char *sent[PIPELINE_MAX];	/* their lines, to send again */
	size_t sentlen[PIPELINE_MAX];
	int sentpart[PIPELINE_MAX];	/* their partition, -1: none */
	int partitions;		/* writing: STREAM.k, k = hash(key) % N */
	unsigned long rr;	/* the next partition of a line without key */
	int64_t retry_ms;	/* reconnecting, in all */
	int gone;		/* reconnecting failed for retry_ms */
	unsigned long long count;
	char err[512];
};

/* Connect, retrying with backoff for r->retry_ms; -1 and r->gone when
 * Redis stays away (or we are told to stop). */
static int
rconnect(struct rbus *r)
{
	struct timeval tv = { 2, 0 }, io = { 5, 0 };
	long long until = sre_mono_ms() + r->retry_ms, delay = 100;
	int attempt;

	for (attempt = 0;; attempt++) {
		if (attempt > 0) {
			long long left = until - sre_mono_ms();
			struct timespec ts;

			if (sre_stopping())
				return -1;
			if (left <= 0)
				break;
			if (delay > left)
				delay = left;
			ts.tv_sec = delay / 1000;
			ts.tv_nsec = (delay % 1000) * 1000000L;
			nanosleep(&ts, NULL);
			if (delay < 5000)
				delay *= 2;
		}
		if (r->c != NULL)
			redisFree(r->c);
		r->c = redisConnectWithTimeout(r->u.host, r->u.port, tv);
		if (r->c != NULL && r->c->err == 0) {
			redisSetTimeout(r->c, io);
			return 0;
		}
		snprintf(r->err, sizeof(r->err), "%.255s:%d: %.200s (after "
		    "%d attempts)", r->u.host, r->u.port, r->c ?
		    r->c->errstr : "out of memory", attempt + 1);
	}
	r->gone = 1;
	return -1;
}

/* Did the last command fail on the connection (not on Redis' answer)? */
static int
dropped(const struct rbus *r)
{
	return r->c == NULL || r->c->err != 0;
}

/* Run a command given as argv; returns the reply or NULL (r->err set). */
static redisReply *
command(struct rbus *r, int argc, const char **argv)
{
	redisReply *rep;

	rep = redisCommandArgv(r->c, argc, argv, NULL);
	if (rep == NULL) {
		snprintf(r->err, sizeof(r->err), "%s", r->c->errstr);
		return NULL;
	}
	if (rep->type == REDIS_REPLY_ERROR) {
		snprintf(r->err, sizeof(r->err), "%s", rep->str);
		freeReplyObject(rep);
		return NULL;
	}
	return rep;
}

static int
ensure_group(struct rbus *r)
{
	const char *argv[] = { "XGROUP", "CREATE", r->u.name, r->group, "0",
	    "MKSTREAM" };
	redisReply *rep = redisCommandArgv(r->c, 6, argv, NULL);

	if (rep == NULL) {
		snprintf(r->err, sizeof(r->err), "%s", r->c->errstr);
		return -1;
	}
	if (rep->type == REDIS_REPLY_ERROR &&
	    strncmp(rep->str, "BUSYGROUP", 9) != 0) {
		snprintf(r->err, sizeof(r->err), "XGROUP CREATE: %s", rep->str);
		freeReplyObject(rep);
		return -1;
	}
	freeReplyObject(rep);
	return 0;
}

static void *
r_open(const char *url, enum sre_bus_mode mode, size_t maxlen, char *err,
    size_t errlen, int *ex)
{
	struct rbus *r;
	char host[128];
	const char *s, *errstr;

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		snprintf(err, errlen, "%s: out of memory", url);
		*ex = EX_OSERR;
		return NULL;
	}
	if (sre_busurl_parse(url, "redis", 6379, &r->u, err, errlen) < 0) {
		free(r);
		*ex = EX_USAGE;
		return NULL;
	}
	r->mode = mode;
	r->maxlen = maxlen ? maxlen : SRE_LINE_MAX_DEFAULT;
	snprintf(r->group, sizeof(r->group), "%s",
	    sre_busurl_get(&r->u, "group", "sre"));
	if (gethostname(host, sizeof(host)) < 0 || host[0] == '\0')
		snprintf(host, sizeof(host), "sre");
	host[sizeof(host) - 1] = '\0';
	snprintf(r->consumer, sizeof(r->consumer), "%s",
	    sre_busurl_get(&r->u, "consumer", host));
	snprintf(r->trim, sizeof(r->trim), "%s",
	    sre_busurl_get(&r->u, "maxlen", "100000"));
	s = sre_busurl_get(&r->u, "partitions", "1");
	r->partitions = (int)strtonum(s, 1, 1024, &errstr);
	if (errstr != NULL) {
		snprintf(err, errlen, "%s: partitions=%s: %s (1 to 1024)",
		    url, s, errstr);
		free(r);
		*ex = EX_USAGE;
		return NULL;
	}
	s = sre_busurl_get(&r->u, "drain", "0");
	r->drain = strcmp(s, "1") == 0;
	s = sre_busurl_get(&r->u, "retry", getenv("SRE_BUS_RETRY") ?
	    getenv("SRE_BUS_RETRY") : "30s");
	if (sre_duration_parse(s, &r->retry_ms) < 0) {
		snprintf(err, errlen, "%s: retry=%s: not a duration", url, s);
		free(r);
		*ex = EX_USAGE;
		return NULL;
	}
	s = sre_busurl_get(&r->u, "claim", "30s");
	if (sre_duration_parse(s, &r->claim_ms) < 0) {
		snprintf(err, errlen, "%s: claim=%s: not a duration", url, s);
		free(r);
		*ex = EX_USAGE;
		return NULL;
	}
	r->pending_phase = 1;
	snprintf(r->cursor, sizeof(r->cursor), "0-0");
	if (rconnect(r) < 0 || (mode == SRE_BUS_IN && ensure_group(r) < 0)) {
		snprintf(err, errlen, "%s: %s", url, r->err);
		*ex = EX_UNAVAILABLE;
		if (r->c != NULL)
			redisFree(r->c);
		free(r);
		return NULL;
	}
	return r;
}

/* Remember an entry id for XACK. */
static int
note_unacked(struct rbus *r, const char *id)
{
	if (r->nunacked == r->capunacked) {
		size_t n = r->capunacked ? r->capunacked * 2 : 128;
		char **nu = reallocarray(r->unacked, n, sizeof(*nu));

		if (nu == NULL)
			return -1;
		r->unacked = nu;
		r->capunacked = n;
	}
	if ((r->unacked[r->nunacked] = strdup(id)) == NULL)
		return -1;
	r->nunacked++;
	return 0;
}


/*
 * One round of XAUTOCLAIM: entries of the group idle for claim_ms (their
 * consumer died, or was renamed) become ours.  1 got entries, 0 none
 * (the round is over), -1 error.
 */
static int
claim(struct rbus *r)
{
	char idle[24];
	const char *argv[] = { "XAUTOCLAIM", r->u.name, r->group, r->consumer,
	    idle, r->cursor, "COUNT", BATCH };
	redisReply *rep;

	snprintf(idle, sizeof(idle), "%lld", (long long)r->claim_ms);
	while ((rep = command(r, 8, argv)) == NULL)
		if (!dropped(r) || rconnect(r) < 0 || ensure_group(r) < 0)
			return -1;
	/* [cursor, [[id, [field, value, ...]], ...], [deleted id, ...]] */
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 2 ||
	    rep->element[0]->type != REDIS_REPLY_STRING ||
	    rep->element[1]->type != REDIS_REPLY_ARRAY) {
		freeReplyObject(rep);
		snprintf(r->err, sizeof(r->err), "unexpected XAUTOCLAIM reply");
		return -1;
	}
	snprintf(r->cursor, sizeof(r->cursor), "%s", rep->element[0]->str);
	if (rep->element[1]->elements == 0 && strcmp(r->cursor, "0-0") == 0) {
		freeReplyObject(rep);
		return 0;
	}
	r->batch = rep;
	r->entries = rep->element[1];
	r->next = 0;
	return 1;
}

/* Fetch the next batch; 1 got entries, 0 none within block_ms, -1 error. */
static int
fetch(struct rbus *r, int block_ms)
{
	char block[16];
	const char *argv[] = { "XREADGROUP", "GROUP", r->group, r->consumer,
	    "COUNT", BATCH, "BLOCK", block, "STREAMS", r->u.name, ">" };
	redisReply *rep;
	int rc;

	if (r->batch != NULL) {
		freeReplyObject(r->batch);
		r->batch = NULL;
		r->entries = NULL;
	}
	if (!r->pending_phase && !r->claim_phase && r->claim_ms > 0 &&
	    sre_mono_ms() - r->last_claim >= r->claim_ms)
		r->claim_phase = 1;
	while (r->claim_phase) {
		if ((rc = claim(r)) != 0)
			return rc;
		if (strcmp(r->cursor, "0-0") == 0) {
			r->claim_phase = 0;
			r->last_claim = sre_mono_ms();
		}
	}
	if (r->pending_phase)
		argv[10] = "0";
	snprintf(block, sizeof(block), "%d", block_ms);
	while ((rep = command(r, 11, argv)) == NULL) {
		/* The connection dropped: connect again (with backoff) and
		 * ask again; Redis' own errors are final. */
		if (!dropped(r) || rconnect(r) < 0 || ensure_group(r) < 0)
			return -1;
	}
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements == 0) {
		freeReplyObject(rep);
		if (r->pending_phase) {
			r->pending_phase = 0;
			r->claim_phase = r->claim_ms > 0;
			return fetch(r, block_ms);
		}
		return 0;
	}
	/* [[stream, [[id, [field, value, ...]], ...]]] */
	if (rep->element[0]->type != REDIS_REPLY_ARRAY ||
	    rep->element[0]->elements != 2 ||
	    rep->element[0]->element[1]->type != REDIS_REPLY_ARRAY) {
		freeReplyObject(rep);
		snprintf(r->err, sizeof(r->err), "unexpected XREADGROUP reply");
		return -1;
	}
	r->batch = rep;
	r->entries = rep->element[0]->element[1];
	r->next = 0;
	if (r->entries->elements == 0 && r->pending_phase) {
		r->pending_phase = 0;
		r->claim_phase = r->claim_ms > 0;
		return fetch(r, block_ms);
	}
	return r->entries->elements > 0;
}

static int
r_read(void *be, const char **line, size_t *len, int timeout_ms)
{
	struct rbus *r = be;
	long long deadline = timeout_ms < 0 ? -1 : sre_mono_ms() + timeout_ms;
	redisReply *e, *fields, *v;
	size_t i;
	int rc;

	for (;;) {
		while (r->entries != NULL && r->next < r->entries->elements) {
			e = r->entries->element[r->next++];
			if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
			    e->element[0]->type != REDIS_REPLY_STRING)
				continue;
			if (note_unacked(r, e->element[0]->str) < 0) {
				errno = ENOMEM;
				return SRE_READ_ERROR;
			}
			fields = e->element[1];
			/* A deleted entry still pending has no fields. */
			if (fields->type != REDIS_REPLY_ARRAY ||
			    fields->elements < 2)
				continue;
			v = fields->element[1];
			for (i = 0; i + 1 < fields->elements; i += 2)
				if (fields->element[i]->type ==
				    REDIS_REPLY_STRING &&
				    strcmp(fields->element[i]->str, "line") == 0)
					v = fields->element[i + 1];
			if (v->type != REDIS_REPLY_STRING)
				continue;
			r->count++;
			*len = v->len;
			if (v->len > r->maxlen) {
				*line = NULL;
				return SRE_READ_TOOLONG;
			}
			*line = v->str;
			return SRE_READ_LINE;
		}
		if (sre_stopping())
			return SRE_READ_STOP;
		{
			long long left = deadline < 0 ? BLOCK_MS :
			    deadline - sre_mono_ms();
			int block = left > BLOCK_MS ? BLOCK_MS :
			    left < 1 ? 1 : (int)left;

			rc = fetch(r, block);
		}
		if (rc < 0) {
			/* Told to stop while reconnecting: a stop, not an
			 * outage. */
			if (sre_stopping())
				return SRE_READ_STOP;
			errno = EIO;
			return SRE_READ_ERROR;
		}
		if (rc == 0) {
			if (r->drain)
				return SRE_READ_EOF;
			if (deadline >= 0 && sre_mono_ms() >= deadline)
				return SRE_READ_TIMEOUT;
		}
	}
}

/* Pipeline one XADD of line (without its newline) to partition part
 * (STREAM.part), or to STREAM when part is -1. */
static int
append_xadd(struct rbus *r, int part, const char *line, size_t len)
{
	char name[sizeof(r->u.name) + 16];
	const char *argv[] = { "XADD", name, "MAXLEN", "~", r->trim, "*",
	    "line", line };
	size_t lens[8];
	int i;

	if (part < 0)
		snprintf(name, sizeof(name), "%s", r->u.name);
	else
		snprintf(name, sizeof(name), "%s.%d", r->u.name, part);
	for (i = 0; i < 7; i++)
		lens[i] = strlen(argv[i]);
	lens[7] = len;
	return redisAppendCommandArgv(r->c, 8, argv, lens) == REDIS_OK ? 0 : -1;
}

static void
forget_sent(struct rbus *r)
{
	int i;

	for (i = 0; i < r->inflight; i++) {
		free(r->sent[i]);
		r->sent[i] = NULL;
	}
	r->inflight = 0;
}

static int
r_flush(void *be)
{
	struct rbus *r = be;
	redisReply *rep;
	int rc = SRE_WRITE_OK, done = 0, i;

	while (done < r->inflight) {
		if (redisGetReply(r->c, (void **)&rep) != REDIS_OK) {
			/* Lines from done on may not have been added: connect
			 * again and send them again. */
			snprintf(r->err, sizeof(r->err), "%s", r->c->errstr);
			if (rconnect(r) < 0) {
				forget_sent(r);
				errno = EIO;
				return SRE_WRITE_ERROR;
			}
			for (i = done; i < r->inflight; i++)
				if (append_xadd(r, r->sentpart[i], r->sent[i],
				    r->sentlen[i]) < 0) {
					forget_sent(r);
					errno = ENOMEM;
					return SRE_WRITE_ERROR;
				}
			continue;
		}
		done++;
		if (rep->type == REDIS_REPLY_ERROR) {
			snprintf(r->err, sizeof(r->err), "XADD: %s", rep->str);
			errno = EIO;
			rc = SRE_WRITE_ERROR;
		}
		freeReplyObject(rep);
	}
	forget_sent(r);
	return rc;
}

static int
r_write_key(void *be, const char *key, size_t keylen, const char *line,
    size_t len)
{
	struct rbus *r = be;
	char *copy;
	int part = -1;

	while (len > 0 && line[len - 1] == '\n')
		len--;
	if ((copy = malloc(len + 1)) == NULL) {
		errno = ENOMEM;
		return SRE_WRITE_ERROR;
	}
	memcpy(copy, line, len);
	copy[len] = '\0';
	if (r->partitions > 1)
		part = (int)((key != NULL ? sre_buskey_hash(key, keylen) :
		    r->rr++) % (unsigned long)r->partitions);
	if (append_xadd(r, part, copy, len) < 0) {
		free(copy);
		errno = ENOMEM;
		return SRE_WRITE_ERROR;
	}
	r->sent[r->inflight] = copy;
	r->sentlen[r->inflight] = len;
	r->sentpart[r->inflight] = part;
	if (++r->inflight >= PIPELINE_MAX)
		return r_flush(r);
	return SRE_WRITE_OK;
}

static int
r_write(void *be, const char *line, size_t len)
{
	return r_write_key(be, NULL, 0, line, len);
}

static int
r_keyed(void *be)
{
	return ((struct rbus *)be)->partitions > 1;
}

static int
r_ack(void *be)
{
	struct rbus *r = be;
	const char **argv;
	redisReply *rep;
	size_t i, n;
	int rc = 0;

	if (r->mode != SRE_BUS_IN || r->nunacked == 0)
		return 0;
	n = r->nunacked;
	if ((argv = calloc(n + 3, sizeof(*argv))) == NULL)
		return -1;
	argv[0] = "XACK";
	argv[1] = r->u.name;
	argv[2] = r->group;
	for (i = 0; i < n; i++)
		argv[3 + i] = r->unacked[i];
	while ((rep = command(r, (int)(n + 3), argv)) == NULL)
		if (!dropped(r) || rconnect(r) < 0)
			break;
	if (rep == NULL)
		rc = -1;
	else
		freeReplyObject(rep);
	free(argv);
	for (i = 0; i < n; i++)
		free(r->unacked[i]);
	r->nunacked = 0;
	return rc;
}

static int
r_ready(void *be)
{
	struct rbus *r = be;

	return r->entries != NULL && r->next < r->entries->elements;
}

static const char *
r_error(void *be)
{
	return ((struct rbus *)be)->err;
}

static unsigned long long
r_lineno(void *be)
{
	return ((struct rbus *)be)->count;
}

static int
r_close(void *be)
{
	struct rbus *r = be;
	size_t i;
	int rc = SRE_WRITE_OK;

	if (r->mode == SRE_BUS_OUT)
		rc = r_flush(r);
	forget_sent(r);
	if (r->batch != NULL)
		freeReplyObject(r->batch);
	for (i = 0; i < r->nunacked; i++)
		free(r->unacked[i]);
	free(r->unacked);
	redisFree(r->c);
	free(r);
	return rc;
}

static int
r_gone(void *be)
{
	return ((struct rbus *)be)->gone;
}

const struct sre_bus_ops sre_bus_redis_ops = {
	"redis", r_open, r_read, r_write, r_flush, r_ack, r_ready, r_lineno,
	r_close, r_error, r_gone, r_keyed, r_write_key
};
