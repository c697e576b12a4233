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

enum { OPT_SIGN = SRE_OPT_TOOL };

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: sre-bus [-hqrVv] [-f TYPE[,TYPE...]] [-i URL] "
	    "[--max-line N] [-o URL]\n"
	    "               [--sign] [--state-dir DIR] [FILE]\n"
	    "  -i, --in URL       read from URL: -, a path, file:PATH, "
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
on_event(struct sre_stream *s, const struct sre_event_in *e, void *ctx)
{
	(void)ctx;
	if (!wanted(e->type))
		opt.filtered++;
	else if (opt.sign && sre_mac_control(e->type)) {
		opt.signed_++;
		sre_stream_emit_jv(s, sre_mac_sign(&opt.key, jv_copy(e->ev)));
	} else
		sre_stream_emit(s, e->line, e->len);
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
	while ((ch = sre_getopt(&opt.c, argc, argv, "f:r", longopts,
	    usage, &ex)) != -1) {
		switch (ch) {
		case 'f':
			if (add_types(optarg) < 0)
				return EX_USAGE;
			break;
		case 'r':
			opt.raw = 1;
			break;
		case OPT_SIGN:
			opt.sign = 1;
			break;
		}
	}
	if ((ex = sre_opt_end(&opt.c, argc, argv, ex, usage)) >= 0)
		return ex;
	if (opt.sign && (ex = sre_mac_key_load(&opt.key, &opt.c, err,
	    sizeof(err))) != EX_OK) {
		sre_warnx("%s", err);
		return ex;
	}
	if ((ex = sre_stream_open(&s, &opt.c)) != EX_OK)
		return ex;
	ex = sre_stream_events(&s, opt.raw ? SRE_STREAM_ANY : 0, on_event, NULL,
	    NULL);
	sre_info("%llu lines, %llu passed, %llu signed, %llu filtered, "
	    "%llu rejected", s.lines, s.emitted, opt.signed_, opt.filtered,
	    s.rejected);
	return ex;
}
