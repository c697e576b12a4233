/*
 * scout.c: sre-scout's engine, the public face (scout.h): its
 * configuration, made and freed, lines submitted, the stream's idle
 * moments and its end.  The package reads downward only:
 *
 *	scout.c		this API
 *	scout-par.c	lines parsed on worker threads, applied in order
 *	scout-read.c	records in: windows, series, spans and their children
 *	scout-eval.c	judging: baselines, silences, incidents, the events
 *	scout-int.h	the engine's state, shared by the four
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scout-int.h"

/* ---- the public face ---------------------------------------------------- */

void
sre_scout_config_default(struct sre_scout_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->window_ms = 10000;
	cfg->lateness_ms = 5000;
	cfg->warmup_ms = 120000;
	cfg->sample_rate = 1;
	cfg->max_series = 2000;
	cfg->max_pending = 32768;
	cfg->min_samples = 10;
	cfg->min_windows = 5;
	cfg->threshold = 4.5;
	cfg->raise_windows = 2;
	cfg->recover_windows = 2;
	cfg->incident_hold = 3;
	cfg->solo_windows = 3;
	cfg->stale_windows = 30;
	cfg->max_duration_ms = 3600000;
	cfg->min_delta_ms = 2;
	cfg->metric_threshold = 0.35;
	cfg->topology_every = 6;
	cfg->accuracy = 0.02;
	cfg->max_incidents = 256;
}

static int
bad(char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "%s", what);
	errno = EINVAL;
	return -1;
}

static int
check_config(const struct sre_scout_config *c, char *err, size_t errlen)
{
	if (c->window_ms < 1000 || c->window_ms > 86400000)
		return bad(err, errlen, "window: 1 s to 1 day");
	if (c->lateness_ms < 0 || c->lateness_ms > 2 * c->window_ms)
		return bad(err, errlen, "lateness: 0 to twice the window");
	if (c->warmup_ms < 0)
		return bad(err, errlen, "warm-up: not negative");
	if (!(c->sample_rate > 0 && c->sample_rate <= 1))
		return bad(err, errlen, "sample rate: above 0, at most 1");
	if (c->max_series < 16 || c->max_series > 1000000)
		return bad(err, errlen, "max series: 16 to 1000000");
	if (c->max_pending < 64 || c->max_pending > (1u << 24))
		return bad(err, errlen, "max pending: 64 to 16777216");
	if (!(c->threshold > 0) || !(c->metric_threshold > 0 &&
	    c->metric_threshold <= 1))
		return bad(err, errlen, "threshold: above 0 (metric: at most "
		    "1)");
	if (!(c->accuracy > 0 && c->accuracy < 0.5))
		return bad(err, errlen, "accuracy: between 0 and 0.5");
	if (c->max_duration_ms < 1 || c->min_delta_ms < 0)
		return bad(err, errlen, "max duration, min delta: positive");
	if (c->raise_windows < 1 || c->raise_windows > 200 ||
	    c->recover_windows < 1 || c->recover_windows > 200 ||
	    c->incident_hold > 1000 || c->stale_windows < 1 ||
	    c->stale_windows > 60000)
		return bad(err, errlen, "window counts out of range");
	return 0;
}

struct sre_scout *
sre_scout_new(const struct sre_scout_config *cfg,
    const struct sre_scout_hooks *h, char *err, size_t errlen)
{
	struct sre_scout *sc;

	if (check_config(cfg, err, errlen) < 0)
		return NULL;
	if ((sc = calloc(1, sizeof(*sc))) == NULL)
		goto nomem;
	sc->cfg = *cfg;
	sc->h = *h;
	sc->rate = cfg->sample_rate;
	sc->next_window_ms = cfg->window_ms;
	sc->csvc = NONE;
	sc->gen_seq = GEN_BASE;
	sre_tsad_config_default(&sc->tcfg);
	sc->tcfg.threshold = cfg->metric_threshold;
	sc->tcfg.warmup = 130;
	if (sre__read_init(sc) < 0 || sre__par_init(sc, cfg->threads) < 0) {
		sre_scout_free(sc);
		goto nomem;
	}
	return sc;
nomem:
	snprintf(err, errlen, "out of memory");
	errno = ENOMEM;
	return NULL;
}

void
sre_scout_free(struct sre_scout *sc)
{
	if (sc == NULL)
		return;
	sre__par_free(sc);
	sre__read_free(sc);
	free(sc);
}

int
sre_scout_submit(struct sre_scout *sc, const char *line, size_t len,
    uint64_t tag)
{
	if (sc->gone)
		return -1;
	if (sc->par != NULL)
		return sre__par_submit(sc, line, len, tag);
	return sre__read_line(sc, line, len, tag);
}

int
sre_scout_drain(struct sre_scout *sc)
{
	return sre__par_drain(sc);
}

int
sre_scout_idle(struct sre_scout *sc)
{
	if (sre__par_drain(sc) < 0 || sc->gone)
		return -1;
	return sre__read_idle(sc);
}

int
sre_scout_finish(struct sre_scout *sc)
{
	if (sre__par_drain(sc) < 0)
		return -1;
	return sre__read_finish(sc);
}

int
sre_scout_set_sample_rate(struct sre_scout *sc, double rate)
{
	if (!(rate > 0 && rate <= 1))
		return -1;
	sc->rate = rate;
	return 0;
}

int
sre_scout_set_window(struct sre_scout *sc, int64_t window_ms)
{
	if (window_ms < 1000 || window_ms > 86400000)
		return -1;
	sc->next_window_ms = window_ms;
	if (sc->cfg.lateness_ms > 2 * window_ms)
		sc->cfg.lateness_ms = 2 * window_ms;
	return 0;
}

double
sre_scout_sample_rate(const struct sre_scout *sc)
{
	return sc->rate;
}

int64_t
sre_scout_window(const struct sre_scout *sc)
{
	return sc->next_window_ms;
}

const struct sre_scout_stats *
sre_scout_stats(struct sre_scout *sc)
{
	sc->st.incidents = sre_incidents_total(sc->inc);
	return &sc->st;
}
