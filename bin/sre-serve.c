/*
 * sre-serve: the HTTP way in to SRE-Space, its API and its dashboard.
 *
 * Receives OTLP/HTTP (JSON and protobuf, gzip or not), Prometheus remote
 * write and Alertmanager webhooks, and writes what it receives to --out,
 * one line per OTLP request, metric point or event, as sre-scout reads
 * them.  Events read from --in feed /events and /metrics; /incidents and
 * /reports/metrics read the store; /demo/inject-failure writes the demo
 * marketplace's control file; / is the dashboard.  The work is lib/serve's
 * (httpd.h walks it); this file reads the options, opens the buses, serves
 * until SIGTERM, drains and reports.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpd.h"
#include "metrics.h"
#include "sre.h"

static struct {
	struct sre_common c;
	const char *listen;
	const char *dashboard;
	const char *control;
	const char *cors;
	size_t max_body;
	size_t max_queue;
	const char *api_token;
	const char *ingest_token;
} opt;

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: sre-serve [-hqVv] [--control FILE] [--cors ORIGIN] "
	    "[--dashboard DIR] [-i URL]\n"
	    "                 [-l ADDR:PORT] [--max-body N] "
	    "[--max-connections N]\n"
	    "                 [--max-header N] [--max-line N] [--max-queue N] "
	    "[-o URL]\n"
	    "                 [--state-dir DIR] [--timeout DURATION] [FILE]\n"
	    "  -l, --listen ADDR:PORT  listen there (default 127.0.0.1:8001)\n"
	    "  -o, --out URL           write received telemetry and events "
	    "(default -)\n"
	    "  -i, --in URL            read events for /events and /metrics\n"
	    "      --dashboard DIR     serve the dashboard from DIR\n"
	    "      --control FILE      the marketplace control file for "
	    "/demo/inject-failure\n"
	    "      --cors ORIGIN       allow this origin (or *) across sites\n"
	    "      --max-body N        largest request body, also once "
	    "inflated (default 4194304)\n"
	    "      --max-header N      memory for a request's headers "
	    "(default 32768)\n"
	    "      --max-connections N at most N clients at once "
	    "(default 256)\n"
	    "      --max-queue N       output bytes waiting before 429 "
	    "(default 16777216)\n"
	    "      --timeout DURATION  close idle connections (default 30s)\n"
	    "      --state-dir DIR     the store and governor.json\n"
	    "      --max-line N        longest --in line (default 16777216)\n"
	    "  -q, --quiet             report errors only\n"
	    "  -v, --verbose           report more\n"
	    "  -h, --help              this help\n"
	    "  -V, --version           print the version\n");
}

/* A token from the environment, then removed from it: no child or
 * /proc/PID/environ reader inherits it. */
static const char *
token_env(const char *name)
{
	const char *v = getenv(name);
	char *copy;

	if (v == NULL || *v == '\0')
		return NULL;
	copy = strdup(v);
	unsetenv(name);
	return copy;
}

enum {
	OPT_CONTROL = SRE_OPT_TOOL, OPT_CORS, OPT_DASHBOARD, OPT_MAX_BODY,
	OPT_MAX_CONN, OPT_MAX_HEADER, OPT_MAX_QUEUE, OPT_TIMEOUT
};

/* Say where it listens: with port 0 the system picks one. */
static void
listening(struct sre_srv *s)
{
	char host[64];
	const char *colon = strrchr(opt.listen, ':');
	size_t hn = (size_t)(colon - opt.listen);

	if (hn >= sizeof(host))
		hn = sizeof(host) - 1;
	memcpy(host, opt.listen, hn);
	host[hn] = '\0';
	sre_notice("listening on %s:%u", host, sre_srv_port(s));
}

/* Open the buses, serve until told to stop, drain, report. */
static int
serve(const struct sre_httpd_opts *ho)
{
	struct sre_srv_conf conf = {
		.state_dir = sre_state_dir(&opt.c), .dashboard = opt.dashboard,
		.control = opt.control, .cors = opt.cors,
		.max_body = opt.max_body, .max_queue = opt.max_queue,
		.api_token = opt.api_token, .ingest_token = opt.ingest_token
	};
	struct sre_bus_opts bo = { .maxlen = opt.c.max_line };
	struct sre_srv *s;
	char err[1024];
	int ex;

	if ((s = sre_srv_new(&conf)) == NULL) {
		if (errno == ENAMETOOLONG) {
			sre_warnx("--state-dir: path too long");
			return EX_USAGE;
		}
		sre_warnx("out of memory");
		return EX_OSERR;
	}
	if ((s->out = sre_bus_open(opt.c.out, SRE_BUS_OUT, &bo, err,
	    sizeof(err), &ex)) == NULL || (opt.c.in != NULL &&
	    (s->in = sre_bus_open(opt.c.in, SRE_BUS_IN, &bo, err,
	    sizeof(err), &ex)) == NULL)) {
		sre_warnx("%s", err);
		sre_bus_close(s->out);
		sre_srv_free(s);
		return ex;
	}
	if ((ex = sre_srv_start(s, ho, err, sizeof(err))) != EX_OK) {
		if (ex == EX_OSERR) {
			sre_warnx("%s", err);
			return ex;
		}
		sre_warnx("cannot listen on %s: %s", opt.listen, err);
		sre_bus_close(s->out);
		sre_bus_close(s->in);
		sre_srv_free(s);
		return ex;
	}
	listening(s);
	sre_srv_watch(s);
	ex = sre_srv_stop(s);
	if (sre_bus_close(s->out) != SRE_WRITE_OK && !s->out_failed) {
		sre_warnx("writing to %s failed", opt.c.out);
		ex = EX_IOERR;
	}
	sre_bus_close(s->in);
	sre_info("stopped: %llu lines written", s->written);
	sre_srv_free(s);
	return ex;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		SRE_COMMON_LONGOPTS,
		{ "control", required_argument, NULL, OPT_CONTROL },
		{ "cors", required_argument, NULL, OPT_CORS },
		{ "dashboard", required_argument, NULL, OPT_DASHBOARD },
		{ "listen", required_argument, NULL, 'l' },
		{ "max-body", required_argument, NULL, OPT_MAX_BODY },
		{ "max-connections", required_argument, NULL, OPT_MAX_CONN },
		{ "max-header", required_argument, NULL, OPT_MAX_HEADER },
		{ "max-queue", required_argument, NULL, OPT_MAX_QUEUE },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ NULL, 0, NULL, 0 }
	};
	struct sre_httpd_opts ho = { .max_conn = 256, .timeout_s = 30,
	    .max_header = 32768 };
	long long n;
	int64_t ms;
	int ch, ex;

	sre_init("sre-serve");
	sre_common_init(&opt.c);
	opt.c.in = NULL;
	opt.listen = "127.0.0.1:8001";
	opt.max_body = 4u << 20;
	opt.max_queue = 16u << 20;
	while ((ch = sre_getopt(&opt.c, argc, argv, "l:", longopts,
	    usage, &ex)) != -1) {
		switch (ch) {
		case 'l':
			opt.listen = optarg;
			break;
		case OPT_CONTROL:
			opt.control = optarg;
			break;
		case OPT_CORS:
			opt.cors = optarg;
			break;
		case OPT_DASHBOARD:
			opt.dashboard = optarg;
			break;
		case OPT_MAX_BODY:
			if (sre_opt_count("--max-body", optarg, 1024,
			    1LL << 30, &n) < 0)
				return EX_USAGE;
			opt.max_body = (size_t)n;
			break;
		case OPT_MAX_CONN:
			if (sre_opt_count("--max-connections", optarg, 1,
			    10000, &n) < 0)
				return EX_USAGE;
			ho.max_conn = (unsigned)n;
			break;
		case OPT_MAX_HEADER:
			if (sre_opt_count("--max-header", optarg, 4096,
			    1 << 20, &n) < 0)
				return EX_USAGE;
			ho.max_header = (size_t)n;
			break;
		case OPT_MAX_QUEUE:
			if (sre_opt_count("--max-queue", optarg, 1024,
			    1LL << 32, &n) < 0)
				return EX_USAGE;
			opt.max_queue = (size_t)n;
			break;
		case OPT_TIMEOUT:
			if (sre_opt_duration("--timeout", optarg, 1000,
			    3600 * 1000, &ms) < 0)
				return EX_USAGE;
			ho.timeout_s = (unsigned)(ms / 1000);
			break;
		}
	}
	if ((ex = sre_opt_end(&opt.c, argc, argv, ex, usage)) >= 0)
		return ex;
	if (sre_parse_listen(opt.listen, &ho.addr, &ho.addrlen) < 0) {
		sre_warnx("--listen: '%s' is not ADDR:PORT (an IP address; "
		    "[ADDR] for IPv6)", opt.listen);
		return EX_USAGE;
	}
	opt.api_token = token_env("SRE_API_TOKEN");
	opt.ingest_token = token_env("SRE_INGEST_TOKEN");
	ex = serve(&ho);
	free((void *)opt.api_token);
	free((void *)opt.ingest_token);
	return ex;
}
