/*
 * sre-tail: the event stream in plain words, for people.
 *
 * Reads events (sre-events(7)) from FILE, --in URL or standard input and
 * prints each as one or a few plain lines (narrate.h): the anomaly with
 * its value and baseline, the root cause and its confidence, the verdict
 * and the rules that fired, the commit, the escalation, the post-mortem.
 * With -f it follows a file as it grows, like tail -f; a Redis or Kafka
 * URL is followed by nature.  It only reads: nothing is acknowledged or
 * written back to a bus.  A line that is not an event is reported with
 * its number (telemetry goes through sre-scout first) and skipped.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "narrate.h"
#include "sre.h"

#define FOLLOW_MS	200

static struct {
	struct sre_common c;
	int follow;
	const char *file;
	unsigned long long lineno, events, rejected;
	int out_failed;
} opt;

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: sre-tail [-fhqVv] [-i URL] [--max-line N] [FILE]\n"
	    "  -f, --follow       at the end of FILE, wait for more, "
	    "like tail -f\n"
	    "  -i, --in URL       read from URL: -, file:PATH, "
	    "redis://HOST:PORT/STREAM,\n"
	    "                     kafka://HOST:PORT/TOPIC (default -; "
	    "FILE = file:FILE)\n"
	    "      --max-line N   longest line in bytes (default 16777216)\n"
	    "  -q, --quiet        report errors only\n"
	    "  -v, --verbose      report more (topology events too)\n"
	    "  -h, --help         this help\n"
	    "  -V, --version      print the version\n");
}

static void
say(void *ctx, const char *line)
{
	(void)ctx;
	if (!opt.out_failed && (puts(line) == EOF || fflush(stdout) == EOF))
		opt.out_failed = errno != 0 ? errno : EIO;
}

/* One input line: an event said, anything else reported. */
static void
on_line(const char *where, const char *line, size_t len)
{
	char err[512];
	jv ev;

	if (len == strspn(line, " \t\r"))
		return;
	ev = sre_json_object(line, len, err, sizeof(err));
	if (jv_is_valid(ev) && sre_jv_str(ev, "type") == NULL)
		snprintf(err, sizeof(err), "not an event (no \"type\"; "
		    "telemetry goes through sre-scout first)");
	if (!jv_is_valid(ev) || sre_jv_str(ev, "type") == NULL) {
		sre_warnx("%s: %s", where, err);
		opt.rejected++;
		jv_free(ev);
		return;
	}
	opt.events++;
	sre_narrate_event(ev, sre_verbosity() > 0, say, NULL);
	jv_free(ev);
}

/*
 * A file, read with our own buffer so that -f can wait at its end for
 * more (a line still being written is kept until its newline).
 */
static int
tail_file(const char *path)
{
	size_t max = opt.c.max_line ? opt.c.max_line : SRE_LINE_MAX_DEFAULT;
	size_t cap = 65536, len = 0, skip = 0;
	char *buf, where[4200], *nl;
	ssize_t n;
	int fd, ex = EX_OK;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		sre_warn("%s", path);
		return errno == ENOENT || errno == EACCES ? EX_NOINPUT :
		    EX_IOERR;
	}
	/* one byte beyond cap, always: the NUL of a last line */
	if ((buf = malloc(cap + 1)) == NULL) {
		close(fd);
		sre_warnx("out of memory");
		return EX_OSERR;
	}
	while (!sre_stopping() && !opt.out_failed) {
		if (len == cap) {
			char *nb;

			if (cap > max) {	/* an over-long line: skip it */
				opt.lineno++;
				sre_warnx("%s:%llu: line too long (over %zu "
				    "bytes)", path, opt.lineno, max);
				opt.rejected++;
				skip = 1;
				len = 0;
				continue;
			}
			if ((nb = realloc(buf, cap * 2 + 1)) == NULL) {
				sre_warnx("out of memory");
				ex = EX_OSERR;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			sre_warn("reading %s", path);
			ex = EX_IOERR;
			break;
		}
		if (n == 0) {
			if (!opt.follow)
				break;
			poll(NULL, 0, FOLLOW_MS);
			continue;
		}
		len += (size_t)n;
		while ((nl = memchr(buf, '\n', len)) != NULL) {
			size_t l = (size_t)(nl - buf);

			*nl = '\0';
			if (skip)
				skip = 0;
			else if (l > max) {
				opt.lineno++;
				sre_warnx("%s:%llu: line too long (over %zu "
				    "bytes)", path, opt.lineno, max);
				opt.rejected++;
			} else {
				opt.lineno++;
				snprintf(where, sizeof(where), "%s:%llu", path,
				    opt.lineno);
				on_line(where, buf, l);
			}
			memmove(buf, nl + 1, len - l - 1);
			len -= l + 1;
		}
	}
	if (ex == EX_OK && len > 0 && !skip && !opt.out_failed) {
		buf[len] = '\0';	/* a last line without its newline */
		opt.lineno++;
		snprintf(where, sizeof(where), "%s:%llu", path, opt.lineno);
		if (len > max) {
			sre_warnx("%s: line too long (over %zu bytes)", where,
			    max);
			opt.rejected++;
		} else
			on_line(where, buf, len);
	}
	free(buf);
	close(fd);
	return ex;
}

/* Any other bus end: read as it comes, never acknowledged. */
static int
tail_bus(const char *url)
{
	struct sre_bus_opts bo = { opt.c.max_line };
	struct sre_bus *in;
	char err[1024];
	const char *line;
	size_t len;
	int ex = EX_OK, rc;

	if ((in = sre_bus_open(url, SRE_BUS_IN, &bo, err, sizeof(err),
	    &ex)) == NULL) {
		sre_warnx("%s", err);
		return ex;
	}
	while (!opt.out_failed && ((rc = sre_bus_read(in, &line, &len, -1)) ==
	    SRE_READ_LINE || rc == SRE_READ_TOOLONG)) {
		if (rc == SRE_READ_TOOLONG) {
			sre_warnx("%s: line too long", sre_bus_where(in));
			opt.rejected++;
			continue;
		}
		opt.lineno++;
		on_line(sre_bus_where(in), line, len);
	}
	if (!opt.out_failed && rc == SRE_READ_ERROR) {
		sre_warnx("reading %s: %s", url, sre_bus_error(in));
		ex = sre_bus_gone(in) ? EX_UNAVAILABLE : EX_IOERR;
	}
	sre_bus_close(in);
	return ex;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		SRE_COMMON_LONGOPTS,
		{ "follow", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 }
	};
	int ch, ex, in_set = 0;

	sre_init("sre-tail");
	sre_common_init(&opt.c);
	while ((ch = getopt_long(argc, argv, SRE_COMMON_SHORTOPTS "f",
	    longopts, NULL)) != -1) {
		if (ch == 'o') {
			sre_warnx("--out: sre-tail writes text to standard "
			    "output only");
			usage(stderr);
			return EX_USAGE;
		}
		if (ch == 'i')
			in_set = 1;
		switch (sre_opt_common(&opt.c, ch, optarg)) {
		case 1:
			continue;
		case -1:
			return EX_USAGE;
		}
		switch (ch) {
		case 'f':
			opt.follow = 1;
			break;
		case 'h':
			usage(stdout);
			return EX_OK;
		case 'V':
			sre_print_version();
			return EX_OK;
		default:
			usage(stderr);
			return EX_USAGE;
		}
	}
	if (argc - optind > 1 || (argc - optind == 1 && in_set)) {
		sre_warnx("one input: FILE or --in URL");
		usage(stderr);
		return EX_USAGE;
	}
	sre_signals_init();
	if (argc - optind == 1)
		opt.file = argv[optind];
	else if (strncmp(opt.c.in, "file:", 5) == 0)
		opt.file = opt.c.in + 5;
	if (opt.file != NULL && strcmp(opt.file, "-") != 0)
		ex = tail_file(opt.file);
	else
		ex = tail_bus(opt.file != NULL ? "-" : opt.c.in);
	if (opt.out_failed) {
		if (opt.out_failed != EPIPE)
			sre_warnx("writing output failed: %s",
			    strerror(opt.out_failed));
		return opt.out_failed == EPIPE ? EX_OK : EX_IOERR;
	}
	sre_info("%llu lines, %llu events, %llu rejected", opt.lineno,
	    opt.events, opt.rejected);
	if (ex == EX_OK && opt.rejected > 0)
		ex = EX_DATAERR;
	return ex;
}
