/*
 * sre-bus: move event lines from one bus end to another.
 *
 * Reads NDJSON from --in, checks each line (JSON object, and by default a
 * valid event envelope as sre-events(7) defines it), and writes the lines
 * it keeps to --out byte for byte.  --filter passes only some event types;
 * --raw moves any JSON object (telemetry into a topic, say).  A bad line is
 * reported with its number and skipped; the lines around it go on.
 * --sign signs every control event (diagnosis, verdict, action) on the way
 * with the control key (mac.h), as an operator who holds the key would.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mac.h"
#include "sre.h"

#define MAX_TYPES 32

static struct {
	struct sre_common c;
	int raw, sign;
	struct sre_mac_key key;
	int ntypes;
	char *types[MAX_TYPES];
	unsigned long long filtered, signed_;
} opt;

#define OPT_SIGN 0x100

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: sre-bus [-hqrVv] [-f TYPE[,TYPE...]] [-i URL] "
	    "[--max-line N] [-o URL]\n"
	    "               [--sign] [--state-dir DIR]\n"
	    "  -i, --in URL       read from URL: -, file:PATH, "
	    "redis://HOST:PORT/STREAM,\n"
	    "                     kafka://HOST:PORT/TOPIC (default -)\n"
	    "  -o, --out URL      write to URL (default -)\n"
	    "  -f, --filter LIST  pass only events of these types\n"
	    "  -r, --raw          pass any JSON object, not only events\n"
	    "      --sign         sign diagnoses, verdicts and actions with "
	    "the control key\n"
	    "      --max-line N   longest line in bytes (default 16777216)\n"
	    "      --state-dir DIR  where --sign finds the control key "
	    "(default\n"
	    "                     $SRE_STATE_DIR or .sre)\n"
	    "  -q, --quiet        report errors only\n"
	    "  -v, --verbose      report more\n"
	    "  -h, --help         this help\n"
	    "  -V, --version      print the version\n");
}

static int
add_types(char *list)
{
	char *t;

	while ((t = strsep(&list, ",")) != NULL) {
		if (*t == '\0')
			continue;
		if (opt.ntypes == MAX_TYPES) {
			sre_warnx("--filter: at most %d types", MAX_TYPES);
			return -1;
		}
		if (!sre_event_type_known(t))
			sre_notice("--filter: '%s' is not a type of "
			    "sre-events(7); passing it anyway", t);
		opt.types[opt.ntypes++] = t;
	}
	if (opt.ntypes == 0) {
		sre_warnx("--filter: empty type list");
		return -1;
	}
	return 0;
}

static int
wanted(const char *type)
{
	int i;

	if (opt.ntypes == 0)
		return 1;
	for (i = 0; i < opt.ntypes; i++)
		if (type != NULL && strcmp(opt.types[i], type) == 0)
			return 1;
	return 0;
}

static int
on_line(struct sre_stream *s, const char *line, size_t len, void *ctx)
{
	char err[512];
	jv ev;

	(void)ctx;
	if (len == strspn(line, " \t\r"))
		return 0;	/* blank lines carry nothing */
	ev = sre_json_object(line, len, err, sizeof(err));
	if (!jv_is_valid(ev)) {
		sre_stream_reject(s, "%s", err);
		return 0;
	}
	if (!opt.raw && sre_event_check(ev, err, sizeof(err)) < 0) {
		sre_stream_reject(s, "%s", err);
		jv_free(ev);
		return 0;
	}
	if (!wanted(sre_jv_str(ev, "type")))
		opt.filtered++;
	else if (opt.sign && sre_mac_control(sre_jv_str(ev, "type"))) {
		opt.signed_++;
		sre_stream_emit_jv(s, sre_mac_sign(&opt.key, jv_copy(ev)));
	} else
		sre_stream_emit(s, line, len);
	jv_free(ev);
	return 0;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		SRE_COMMON_LONGOPTS,
		{ "filter", required_argument, NULL, 'f' },
		{ "raw", no_argument, NULL, 'r' },
		{ "sign", no_argument, NULL, OPT_SIGN },
		{ NULL, 0, NULL, 0 }
	};
	struct sre_stream s;
	char err[512];
	int ch, ex;

	sre_init("sre-bus");
	sre_common_init(&opt.c);
	while ((ch = getopt_long(argc, argv, SRE_COMMON_SHORTOPTS "f:r",
	    longopts, NULL)) != -1) {
		switch (sre_opt_common(&opt.c, ch, optarg)) {
		case 1:
			continue;
		case -1:
			return EX_USAGE;
		}
		switch (ch) {
		case 'f':
			if (add_types(optarg) < 0)
				return EX_USAGE;
			break;
		case 'h':
			usage(stdout);
			return EX_OK;
		case 'r':
			opt.raw = 1;
			break;
		case OPT_SIGN:
			opt.sign = 1;
			break;
		case 'V':
			sre_print_version();
			return EX_OK;
		default:
			usage(stderr);
			return EX_USAGE;
		}
	}
	if (optind != argc) {
		sre_warnx("unexpected argument: %s", argv[optind]);
		usage(stderr);
		return EX_USAGE;
	}
	if (opt.sign && (ex = sre_mac_key_load(&opt.key, &opt.c, err,
	    sizeof(err))) != EX_OK) {
		sre_warnx("%s", err);
		return ex;
	}
	if ((ex = sre_stream_open(&s, &opt.c)) != EX_OK)
		return ex;
	ex = sre_stream_run(&s, on_line, NULL, NULL);
	sre_info("%llu lines, %llu passed, %llu signed, %llu filtered, "
	    "%llu rejected", s.lines, s.emitted, opt.signed_, opt.filtered,
	    s.rejected);
	return ex;
}
