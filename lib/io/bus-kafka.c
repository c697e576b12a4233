/*
 * bus-kafka.c: Kafka as a bus end, on librdkafka.
 *
 *	kafka://HOST:PORT/TOPIC?group=G&drain=1&session_ms=N&key=auto&retry=D
 *
 * Reading joins consumer group G (default "sre") with automatic commits
 * off; offsets are committed only when sre_bus_ack() says the output of
 * what was read is written: at-least-once, and a restarted tool resumes
 * after the last committed line.  A new group starts at the earliest
 * offset.  drain=1 ends the input once every assigned partition is at its
 * end (tests, batch jobs).  session_ms (default 10000) is how long the
 * group waits for a member that went away without leaving (killed)
 * before its partitions go to the others.
 *
 * Writing produces one message per line, keyed as buskey.h says (key=none:
 * unkeyed); sre_bus_flush() waits for every delivery report and fails if
 * any message was not delivered.
 *
 * Brokers that cannot be reached at the start are asked again (librdkafka
 * reconnects with its own backoff) for retry=DURATION (default
 * SRE_BUS_RETRY, else 30s), then the open fails with EX_UNAVAILABLE; every
 * broker away that long while reading, or a message not delivered within
 * it, makes the bus end "gone": the tool exits 69.
 *
 * librdkafka's own logging is silenced: errors come back through the
 * bus calls, and the tool reports them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include "bus.h"
#include "clock.h"
#include "busurl.h"
#include "evtime.h"
#include "sig.h"

#define POLL_MS 200

struct kbus {
	rd_kafka_t *rk;
	struct sre_busurl u;
	enum sre_bus_mode mode;
	size_t maxlen;
	int drain;
	int keyed;		/* key=auto (default), not key=none */
	int64_t retry_ms;	/* brokers away this long: gone */
	long long down_since;	/* all brokers unreachable since; 0: up */
	int gone;
	rd_kafka_message_t *cur;	/* the message handed out last */
	rd_kafka_message_t *peek;	/* polled by k_ready, not yet read */
	char *buf;			/* its payload, NUL terminated */
	size_t bufcap;
	int uncommitted;
	int eofs;		/* partitions at their end since a message */
	int failed;		/* delivery failures since the last flush */
	unsigned long long count;
	char err[512];
};

static void
quiet_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	(void)rk;
	(void)level;
	(void)fac;
	(void)buf;
}

/* librdkafka's errors come here from the polls: note an outage. */
static void
on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	struct kbus *k = opaque;

	(void)rk;
	if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN && k->down_since == 0) {
		k->down_since = sre_mono_ms();
		snprintf(k->err, sizeof(k->err), "%s", reason);
	}
}

static void
on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct kbus *k = opaque;

	(void)rk;
	if (m->err) {
		k->failed++;
		if (m->err == RD_KAFKA_RESP_ERR__MSG_TIMED_OUT ||
		    m->err == RD_KAFKA_RESP_ERR__TRANSPORT)
			k->gone = 1;
		snprintf(k->err, sizeof(k->err), "delivery failed: %s",
		    rd_kafka_err2str(m->err));
	}
}

static int
set(rd_kafka_conf_t *conf, const char *name, const char *value, char *err,
    size_t errlen)
{
	if (rd_kafka_conf_set(conf, name, value, err, errlen) !=
	    RD_KAFKA_CONF_OK)
		return -1;
	return 0;
}

static void *
k_open(const char *url, enum sre_bus_mode mode, size_t maxlen, char *err,
    size_t errlen, int *ex)
{
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_topic_partition_list_t *subs;
	rd_kafka_conf_t *conf;
	rd_kafka_resp_err_t e;
	struct kbus *k;
	char brokers[300], cerr[256], timeout[24];
	const char *s;
	long long until;
	int attempts = 0;

	if ((k = calloc(1, sizeof(*k))) == NULL) {
		snprintf(err, errlen, "%s: out of memory", url);
		*ex = EX_OSERR;
		return NULL;
	}
	if (sre_busurl_parse(url, "kafka", 9092, &k->u, err, errlen) < 0) {
		free(k);
		*ex = EX_USAGE;
		return NULL;
	}
	k->mode = mode;
	k->maxlen = maxlen ? maxlen : SRE_LINE_MAX_DEFAULT;
	k->drain = strcmp(sre_busurl_get(&k->u, "drain", "0"), "1") == 0;
	s = sre_busurl_get(&k->u, "key", "auto");
	if (strcmp(s, "auto") != 0 && strcmp(s, "none") != 0) {
		snprintf(err, errlen, "%s: key=%s: want auto or none", url, s);
		free(k);
		*ex = EX_USAGE;
		return NULL;
	}
	k->keyed = strcmp(s, "auto") == 0;
	s = sre_busurl_get(&k->u, "retry", getenv("SRE_BUS_RETRY") ?
	    getenv("SRE_BUS_RETRY") : "30s");
	if (sre_duration_parse(s, &k->retry_ms) < 0) {
		snprintf(err, errlen, "%s: retry=%s: not a duration", url, s);
		free(k);
		*ex = EX_USAGE;
		return NULL;
	}
	snprintf(timeout, sizeof(timeout), "%lld", (long long)(k->retry_ms <
	    1000 ? 1000 : k->retry_ms));
	snprintf(brokers, sizeof(brokers), "%s:%d", k->u.host, k->u.port);
	conf = rd_kafka_conf_new();
	rd_kafka_conf_set_log_cb(conf, quiet_log);
	rd_kafka_conf_set_opaque(conf, k);
	rd_kafka_conf_set_error_cb(conf, on_error);
	if (set(conf, "bootstrap.servers", brokers, cerr, sizeof(cerr)) < 0 ||
	    (mode == SRE_BUS_IN && (
	    set(conf, "group.id", sre_busurl_get(&k->u, "group", "sre"), cerr,
	    sizeof(cerr)) < 0 ||
	    set(conf, "enable.auto.commit", "false", cerr, sizeof(cerr)) < 0 ||
	    set(conf, "auto.offset.reset", "earliest", cerr, sizeof(cerr)) < 0 ||
	    set(conf, "enable.partition.eof", "true", cerr, sizeof(cerr)) <
	    0 || set(conf, "session.timeout.ms", sre_busurl_get(&k->u,
	    "session_ms", "10000"), cerr, sizeof(cerr)) < 0 ||
	    set(conf, "heartbeat.interval.ms", "1000", cerr, sizeof(cerr)) <
	    0)) || (mode == SRE_BUS_OUT && (
	    set(conf, "enable.idempotence", "true", cerr, sizeof(cerr)) < 0 ||
	    set(conf, "linger.ms", "5", cerr, sizeof(cerr)) < 0 ||
	    set(conf, "message.timeout.ms", timeout, cerr, sizeof(cerr)) <
	    0))) {
		snprintf(err, errlen, "%s: %s", url, cerr);
		rd_kafka_conf_destroy(conf);
		free(k);
		*ex = EX_CONFIG;
		return NULL;
	}
	if (mode == SRE_BUS_OUT)
		rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
	k->rk = rd_kafka_new(mode == SRE_BUS_IN ? RD_KAFKA_CONSUMER :
	    RD_KAFKA_PRODUCER, conf, cerr, sizeof(cerr));
	if (k->rk == NULL) {
		snprintf(err, errlen, "%s: %s", url, cerr);
		rd_kafka_conf_destroy(conf);
		free(k);
		*ex = EX_CONFIG;
		return NULL;
	}
	/* Is anybody there?  librdkafka connects again with backoff (100 ms
	 * doubling to 10 s); ask until retry_ms is spent. */
	until = sre_mono_ms() + k->retry_ms;
	do {
		long long left = until - sre_mono_ms();

		attempts++;
		e = rd_kafka_metadata(k->rk, 0, NULL, &md, left > 5000 ? 5000 :
		    left < 500 ? 500 : (int)left);
	} while (e != RD_KAFKA_RESP_ERR_NO_ERROR && sre_mono_ms() < until &&
	    !sre_stopping());
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
		snprintf(err, errlen, "%s: broker %s unreachable: %s (for "
		    "%lld ms)", url, brokers, rd_kafka_err2str(e),
		    (long long)k->retry_ms);
		rd_kafka_destroy(k->rk);
		free(k);
		*ex = EX_UNAVAILABLE;
		return NULL;
	}
	rd_kafka_metadata_destroy(md);
	if (mode == SRE_BUS_IN) {
		rd_kafka_poll_set_consumer(k->rk);
		subs = rd_kafka_topic_partition_list_new(1);
		rd_kafka_topic_partition_list_add(subs, k->u.name,
		    RD_KAFKA_PARTITION_UA);
		e = rd_kafka_subscribe(k->rk, subs);
		rd_kafka_topic_partition_list_destroy(subs);
		if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
			snprintf(err, errlen, "%s: subscribe: %s", url,
			    rd_kafka_err2str(e));
			rd_kafka_destroy(k->rk);
			free(k);
			*ex = EX_UNAVAILABLE;
			return NULL;
		}
	}
	return k;
}


static int
assigned(struct kbus *k)
{
	rd_kafka_topic_partition_list_t *l = NULL;
	int n = 0;

	if (rd_kafka_assignment(k->rk, &l) == RD_KAFKA_RESP_ERR_NO_ERROR &&
	    l != NULL)
		n = l->cnt;
	if (l != NULL)
		rd_kafka_topic_partition_list_destroy(l);
	return n;
}

/*
 * drain=1: is every assigned partition read to its end?  A consumer that
 * starts at a committed offset already at the end gets no end-of-partition
 * event, so compare positions (else committed offsets, else the low mark)
 * with the high watermarks.
 */
static int
drained(struct kbus *k)
{
	rd_kafka_topic_partition_list_t *l = NULL, *c;
	int64_t lo, hi, off;
	int i, done = 0;

	if (rd_kafka_assignment(k->rk, &l) != RD_KAFKA_RESP_ERR_NO_ERROR ||
	    l == NULL || l->cnt == 0)
		goto out;
	c = rd_kafka_topic_partition_list_copy(l);
	rd_kafka_position(k->rk, l);
	rd_kafka_committed(k->rk, c, 2000);
	done = 1;
	for (i = 0; i < l->cnt && done; i++) {
		if (rd_kafka_query_watermark_offsets(k->rk, l->elems[i].topic,
		    l->elems[i].partition, &lo, &hi, 2000) !=
		    RD_KAFKA_RESP_ERR_NO_ERROR) {
			done = 0;
			break;
		}
		off = l->elems[i].offset;
		if (off < 0)
			off = c->elems[i].offset;
		if (off < 0)
			off = lo;
		if (off < hi)
			done = 0;
	}
	rd_kafka_topic_partition_list_destroy(c);
out:
	if (l != NULL)
		rd_kafka_topic_partition_list_destroy(l);
	return done;
}

/*
 * Every broker went away: are they back (a metadata answer)?  -1 and gone
 * once they stayed away for retry_ms.
 */
static int
outage(struct kbus *k)
{
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_resp_err_t e;

	e = rd_kafka_metadata(k->rk, 0, NULL, &md, 500);
	if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
		rd_kafka_metadata_destroy(md);
		k->down_since = 0;
		return 0;
	}
	if (sre_mono_ms() - k->down_since < k->retry_ms)
		return 0;
	snprintf(k->err, sizeof(k->err), "%.255s:%d: every broker unreachable "
	    "for %lld ms: %s", k->u.host, k->u.port, (long long)k->retry_ms,
	    rd_kafka_err2str(e));
	k->gone = 1;
	errno = EIO;
	return -1;
}

static int
k_read(void *be, const char **line, size_t *len, int timeout_ms)
{
	struct kbus *k = be;
	long long deadline = timeout_ms < 0 ? -1 : sre_mono_ms() + timeout_ms;
	rd_kafka_message_t *m;
	int wait;

	if (k->cur != NULL) {
		rd_kafka_message_destroy(k->cur);
		k->cur = NULL;
	}
	if (k->gone) {
		errno = EIO;
		return SRE_READ_ERROR;
	}
	for (;;) {
		if (sre_stopping())
			return SRE_READ_STOP;
		wait = POLL_MS;
		if (deadline >= 0) {
			long long left = deadline - sre_mono_ms();

			if (left <= 0)
				return SRE_READ_TIMEOUT;
			if (left < wait)
				wait = (int)left;
		}
		if (k->down_since != 0 && outage(k) < 0)
			return SRE_READ_ERROR;
		if (k->peek != NULL) {
			m = k->peek;
			k->peek = NULL;
		} else if ((m = rd_kafka_consumer_poll(k->rk, wait)) == NULL) {
			if (k->down_since == 0 && k->drain && drained(k))
				return SRE_READ_EOF;
			continue;
		}
		if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
			rd_kafka_message_destroy(m);
			k->eofs++;
			if (k->drain && k->eofs >= assigned(k))
				return SRE_READ_EOF;
			continue;
		}
		if (m->err) {
			snprintf(k->err, sizeof(k->err), "%s",
			    rd_kafka_message_errstr(m));
			if (m->err == RD_KAFKA_RESP_ERR__TRANSPORT ||
			    m->err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
				if (m->err ==
				    RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN &&
				    k->down_since == 0)
					k->down_since = sre_mono_ms();
				rd_kafka_message_destroy(m);
				continue;	/* librdkafka reconnects */
			}
			rd_kafka_message_destroy(m);
			errno = EIO;
			return SRE_READ_ERROR;
		}
		k->eofs = 0;
		k->cur = m;
		k->count++;
		k->uncommitted = 1;
		*len = m->len;
		if (m->len > k->maxlen) {
			*line = NULL;
			return SRE_READ_TOOLONG;
		}
		if (m->len + 1 > k->bufcap) {
			size_t n = m->len + 1 > 4096 ? m->len + 1 : 4096;
			char *nb = realloc(k->buf, n);

			if (nb == NULL) {
				errno = ENOMEM;
				return SRE_READ_ERROR;
			}
			k->buf = nb;
			k->bufcap = n;
		}
		if (m->len > 0)
			memcpy(k->buf, m->payload, m->len);
		k->buf[m->len] = '\0';
		*line = k->buf;
		return SRE_READ_LINE;
	}
}

static int
k_write_key(void *be, const char *key, size_t keylen, const char *line,
    size_t len)
{
	struct kbus *k = be;
	rd_kafka_resp_err_t e;
	int tries;

	while (len > 0 && line[len - 1] == '\n')
		len--;
	for (tries = 0; tries < 100; tries++) {
		e = rd_kafka_producev(k->rk, RD_KAFKA_V_TOPIC(k->u.name),
		    RD_KAFKA_V_KEY((void *)key, keylen),
		    RD_KAFKA_V_VALUE((void *)line, len),
		    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
		if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL)
			break;
		rd_kafka_poll(k->rk, 100);
	}
	rd_kafka_poll(k->rk, 0);
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
		snprintf(k->err, sizeof(k->err), "produce: %s",
		    rd_kafka_err2str(e));
		errno = EIO;
		return SRE_WRITE_ERROR;
	}
	return SRE_WRITE_OK;
}

static int
k_write(void *be, const char *line, size_t len)
{
	return k_write_key(be, NULL, 0, line, len);
}

static int
k_keyed(void *be)
{
	return ((struct kbus *)be)->keyed;
}

static int
k_flush(void *be)
{
	struct kbus *k = be;
	rd_kafka_resp_err_t e;

	if (k->mode != SRE_BUS_OUT)
		return SRE_WRITE_OK;
	e = rd_kafka_flush(k->rk, (int)(k->retry_ms + 10000));
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
		snprintf(k->err, sizeof(k->err), "flush: %s",
		    rd_kafka_err2str(e));
		errno = EIO;
		return SRE_WRITE_ERROR;
	}
	if (k->failed) {
		k->failed = 0;
		errno = EIO;
		return SRE_WRITE_ERROR;
	}
	return SRE_WRITE_OK;
}

static int
k_ack(void *be)
{
	struct kbus *k = be;
	rd_kafka_resp_err_t e;

	if (k->mode != SRE_BUS_IN || !k->uncommitted)
		return 0;
	e = rd_kafka_commit(k->rk, NULL, 0);
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR &&
	    e != RD_KAFKA_RESP_ERR__NO_OFFSET) {
		/* The brokers away: commit later (what is not committed
		 * comes again: at-least-once), until retry_ms is spent. */
		if (k->down_since == 0)
			k->down_since = sre_mono_ms();
		if (sre_mono_ms() - k->down_since < k->retry_ms)
			return 0;
		snprintf(k->err, sizeof(k->err), "%.255s:%d: every broker "
		    "unreachable for %lld ms: commit: %s", k->u.host,
		    k->u.port, (long long)k->retry_ms, rd_kafka_err2str(e));
		k->gone = 1;	/* the next read says so */
		return 0;
	}
	k->uncommitted = 0;
	return 0;
}

/* A message already fetched by librdkafka: read it without waiting, and
 * commit once the queue is empty, not after every message. */
static int
k_ready(void *be)
{
	struct kbus *k = be;

	if (k->mode != SRE_BUS_IN)
		return 0;
	if (k->peek == NULL)
		k->peek = rd_kafka_consumer_poll(k->rk, 0);
	return k->peek != NULL && k->peek->err == RD_KAFKA_RESP_ERR_NO_ERROR;
}

static unsigned long long
k_lineno(void *be)
{
	return ((struct kbus *)be)->count;
}

static const char *
k_error(void *be)
{
	return ((struct kbus *)be)->err;
}

static int
k_gone(void *be)
{
	return ((struct kbus *)be)->gone;
}

static int
k_close(void *be)
{
	struct kbus *k = be;
	int rc = SRE_WRITE_OK;

	if (k->cur != NULL)
		rd_kafka_message_destroy(k->cur);
	if (k->peek != NULL)
		rd_kafka_message_destroy(k->peek);
	if (k->mode == SRE_BUS_OUT)
		rc = k_flush(k);
	else
		rd_kafka_consumer_close(k->rk);
	rd_kafka_destroy(k->rk);
	free(k->buf);
	free(k);
	return rc;
}

const struct sre_bus_ops sre_bus_kafka_ops = {
	"kafka", k_open, k_read, k_write, k_flush, k_ack, k_ready, k_lineno,
	k_close, k_error, k_gone, k_keyed, k_write_key
};
