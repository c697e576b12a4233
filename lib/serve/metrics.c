/* metrics.c: /system/health and /metrics (metrics.h). */
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "clock.h"
#include "diag.h"
#include "metrics.h"
#include "sig.h"

/* One consistent copy of the counters, taken lock by lock. */
struct snapshot {
	unsigned long long req[N_ROUTES][SRE_SRV_NCODES], records[3], points;
	unsigned long long alerts_firing, alerts_resolved, written;
	unsigned long long types[SRE_SRV_NTYPES];
	int64_t last_ms[N_INPUTS];
	size_t queued;
	int out_failed, degraded, gov_seen;
	struct sre_gov_state gov;
	int64_t mem;
	long long open;
};

static const char *const type_names[SRE_SRV_NTYPES] = { "anomaly",
	"recovery", "topology", "diagnosis", "verdict", "action",
	"escalation", "postmortem", "governor", "other" };

static void
snap(struct sre_srv *s, struct snapshot *sn)
{
	pthread_mutex_lock(&s->slock);
	memcpy(sn->req, s->req, sizeof(sn->req));
	memcpy(sn->records, s->records, sizeof(sn->records));
	memcpy(sn->last_ms, s->last_ms, sizeof(sn->last_ms));
	sn->points = s->points;
	sn->alerts_firing = s->alerts_firing;
	sn->alerts_resolved = s->alerts_resolved;
	sn->written = s->written;
	sn->gov = s->gov;
	sn->gov_seen = s->gov_seen;
	sn->mem = s->mem;
	sn->open = s->open;
	pthread_mutex_unlock(&s->slock);
	pthread_mutex_lock(&s->rlock);
	memcpy(sn->types, s->types, sizeof(sn->types));
	pthread_mutex_unlock(&s->rlock);
	pthread_mutex_lock(&s->qlock);
	sn->queued = s->queued;
	sn->out_failed = s->out_failed;
	pthread_mutex_unlock(&s->qlock);
	sn->degraded = sn->gov_seen && sn->gov.degraded;
}

void
sre_srv_measure(struct sre_srv *s)
{
	struct sre_scan sc = { .list = jv_null() };
	int64_t mem = sre_mem_pid(getpid());
	char err[1024];
	int ex;

	pthread_mutex_lock(&s->jlock);
	ex = sre_srv_scan(s, &sc, err, sizeof(err));
	pthread_mutex_unlock(&s->jlock);
	pthread_mutex_lock(&s->slock);
	s->mem = mem;
	s->open = ex == EX_OK ? sc.open : ex == EX_NOINPUT ? 0 : -1;
	pthread_mutex_unlock(&s->slock);
}

void
sre_srv_watch(struct sre_srv *s)
{
	char err[1024];
	int i, r;

	sre_srv_measure(s);
	for (i = 0; !sre_stopping(); i++) {
		/* Members the file leaves out keep these values. */
		struct sre_gov_state g = { .sample_rate = 1 };

		if ((r = sre_gov_poll(&s->gw, &g, err, sizeof(err))) == 1) {
			pthread_mutex_lock(&s->slock);
			s->gov = g;
			s->gov_seen = 1;
			pthread_mutex_unlock(&s->slock);
		} else if (r < 0 && err[0] != '\0')
			sre_info("%s", err);
		if (i % 4 == 3)
			sre_srv_measure(s);
		poll(NULL, 0, 250);
	}
}

void
sre_metrics_health(struct sre_srv *s, struct sre_answer *a)
{
	struct snapshot sn;
	int i, ok;
	jv out, in;

	/* Cheap: what the main thread measured within the last second. */
	snap(s, &sn);
	pthread_mutex_lock(&s->jlock);
	ok = !sn.degraded && !sn.out_failed && sn.queued <= s->conf.max_queue;
	in = jv_object();
	for (i = 0; i < N_INPUTS; i++)
		in = jv_object_set(in, jv_string(sre_input_name(i)),
		    sn.last_ms[i] ? jv_number((double)sn.last_ms[i]) :
		    jv_null());
	out = JV_OBJECT(jv_string("status"), jv_string(ok ? "ok" :
	    "degraded"), jv_string("version"), jv_string(SRE_VERSION),
	    jv_string("governor"), jv_string(!sn.gov_seen ? "unknown" :
	    sn.degraded ? "degraded" : "normal"),
	    jv_string("memory_bytes"), jv_number((double)sn.mem),
	    jv_string("incidents_open"), sn.open >= 0 ?
	    jv_number((double)sn.open) : jv_null(),
	    jv_string("last_ms"), in,
	    jv_string("output"), JV_OBJECT(jv_string("ok"),
	    jv_bool(!sn.out_failed), jv_string("queued_bytes"),
	    jv_number((double)sn.queued), jv_string("lines"),
	    jv_number((double)sn.written)),
	    jv_string("uptime_ms"),
	    jv_number((double)(sre_now_ms() - s->started_ms)));
	sre_answer_jv(a, R_HEALTH, ok ? 200 : 503, out);
	pthread_mutex_unlock(&s->jlock);
}

/* The request counters, received records and the output's state. */
static void
prom_serve(struct sre_sbuf *b, const struct snapshot *sn)
{
	size_t r, c;

	sre_sbuf_adds(b,
	    "# HELP sre_serve_requests_total HTTP requests answered, by route "
	    "and status code.\n"
	    "# TYPE sre_serve_requests_total counter\n");
	for (r = 0; r < N_ROUTES; r++)
		for (c = 0; c < SRE_SRV_NCODES; c++)
			if (sn->req[r][c] > 0)
				sre_sbuf_addf(b, "sre_serve_requests_total"
				    "{route=\"%s\",code=\"%d\"} %llu\n",
				    sre_route_name(r), sre_srv_code(c),
				    sn->req[r][c]);
	sre_sbuf_addf(b,
	    "# HELP sre_serve_received_total Telemetry records received, by "
	    "kind.\n"
	    "# TYPE sre_serve_received_total counter\n"
	    "sre_serve_received_total{kind=\"span\"} %llu\n"
	    "sre_serve_received_total{kind=\"datapoint\"} %llu\n"
	    "sre_serve_received_total{kind=\"log\"} %llu\n"
	    "sre_serve_received_total{kind=\"sample\"} %llu\n"
	    "sre_serve_received_total{kind=\"alert_firing\"} %llu\n"
	    "sre_serve_received_total{kind=\"alert_resolved\"} %llu\n"
	    "# HELP sre_serve_output_lines_total Lines written to the output.\n"
	    "# TYPE sre_serve_output_lines_total counter\n"
	    "sre_serve_output_lines_total %llu\n"
	    "# HELP sre_serve_output_queue_bytes Output waiting to be written.\n"
	    "# TYPE sre_serve_output_queue_bytes gauge\n"
	    "sre_serve_output_queue_bytes %zu\n"
	    "# HELP sre_serve_output_up Whether the output still takes lines.\n"
	    "# TYPE sre_serve_output_up gauge\n"
	    "sre_serve_output_up %d\n",
	    sn->records[0], sn->records[1], sn->records[2], sn->points,
	    sn->alerts_firing, sn->alerts_resolved, sn->written, sn->queued,
	    !sn->out_failed);
}

/* Open incidents and the MTTR histogram of the scan sc. */
static void
prom_incidents(struct sre_sbuf *b, const struct sre_scan *sc)
{
	unsigned long long cum = 0;
	size_t i;

	sre_sbuf_addf(b,
	    "# HELP sre_incidents_open Incidents open in the store.\n"
	    "# TYPE sre_incidents_open gauge\n"
	    "sre_incidents_open %lld\n"
	    "# HELP sre_mttr_seconds Time from first anomaly to "
	    "verified recovery of closed incidents.\n"
	    "# TYPE sre_mttr_seconds histogram\n", sc->open);
	for (i = 0; i < 7; i++) {
		cum += sc->mttr[i];
		sre_sbuf_addf(b, "sre_mttr_seconds_bucket{le=\"%g\"} %llu\n",
		    sre_mttr_le[i], cum);
	}
	cum += sc->mttr[7];
	sre_sbuf_addf(b, "sre_mttr_seconds_bucket{le=\"+Inf\"} %llu\n"
	    "sre_mttr_seconds_sum %.3f\nsre_mttr_seconds_count %llu\n",
	    cum, sc->mttr_sum, sc->mttr_n);
}

void
sre_metrics_prom(struct sre_srv *s, struct sre_answer *a)
{
	struct sre_scan sc = { .list = jv_null() };
	struct sre_sbuf *b = &a->body;
	struct snapshot sn;
	char err[1024];
	size_t i;
	int ex;

	snap(s, &sn);
	pthread_mutex_lock(&s->jlock);
	ex = sre_srv_scan(s, &sc, err, sizeof(err));
	pthread_mutex_unlock(&s->jlock);
	prom_serve(b, &sn);
	sre_sbuf_adds(b,
	    "# HELP sre_events_total Events read from the input, by type.\n"
	    "# TYPE sre_events_total counter\n");
	for (i = 0; i < SRE_SRV_NTYPES; i++)
		sre_sbuf_addf(b, "sre_events_total{type=\"%s\"} %llu\n",
		    type_names[i], sn.types[i]);
	if (ex == EX_OK || ex == EX_NOINPUT)
		prom_incidents(b, &sc);
	sre_sbuf_adds(b, "# HELP sre_governor_mode The governor's mode (1 "
	    "for the mode it is in).\n# TYPE sre_governor_mode gauge\n");
	sre_sbuf_addf(b, "sre_governor_mode{mode=\"normal\"} %d\n"
	    "sre_governor_mode{mode=\"degraded\"} %d\n",
	    sn.gov_seen && !sn.degraded, sn.degraded);
	sre_sbuf_addf(b, "# HELP sre_serve_memory_bytes Memory of sre-serve "
	    "(PSS, else RSS).\n# TYPE sre_serve_memory_bytes gauge\n"
	    "sre_serve_memory_bytes %lld\n", (long long)sn.mem);
	sre_sbuf_adds(b, "# HELP sre_serve_last_receive_timestamp_seconds "
	    "When each input last received something.\n"
	    "# TYPE sre_serve_last_receive_timestamp_seconds gauge\n");
	for (i = 0; i < N_INPUTS; i++)
		if (sn.last_ms[i] > 0)
			sre_sbuf_addf(b, "sre_serve_last_receive_timestamp_"
			    "seconds{input=\"%s\"} %.3f\n", sre_input_name(i),
			    sn.last_ms[i] / 1000.0);
	if (b->oom)
		sre_answer_fail(a, R_PROM, 0, 500, NULL, "out of memory");
	else {
		a->code = 200;
		a->ctype = "text/plain; version=0.0.4; charset=utf-8";
	}
}
