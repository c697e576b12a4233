/*
 * sre-escalate: call a human.
 *
 * Reads events and passes every one on.  A `verdict` that escalates, and
 * an `action` that failed or was reverted, open an escalation for their
 * incident: a notice on standard error (always), to a webhook (a JSON
 * POST with a Slack-compatible "text", retried with backoff) and by mail
 * through sendmail(8), as the tiers say: "--tier 0:stderr --tier
 * 15m:webhook --tier 45m:mail" sends the next tier's notice when nobody
 * has acknowledged the incident within its delay.  One incident gets one
 * escalation per --interval however often it is reported; a `recovery`
 * closes it.  Each delivery is written as an `escalation` event.
 *
 * "sre-escalate ack INCIDENT" records in the store that a human took the
 * incident: no further tiers go out, and sre-guard stops escalating it.
 *
 * Only a verdict signed by sre-guard and an action signed by sre-fix
 * (mac.h) escalate: any other verdict or action is reported as a rejected
 * line, passed on, and pages nobody (a forged line must not flood a
 * human's pager, nor stand in for the loop's word).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>

#include "commitmsg.h"
#include "escalate.h"
#include "evtime.h"
#include "mac.h"
#include "policy.h"
#include "sre.h"
#include "store.h"

#define KEY_MAX		256
#define MAX_TIERS	8
#define CH_STDERR	0x1
#define CH_WEBHOOK	0x2
#define CH_MAIL		0x4

struct tier {
	int64_t delay_ms;
	unsigned channels;
};

static struct {
	struct sre_common c;
	const char *webhook;
	const char *mail;
	const char *sendmail;
	const char *by;
	int64_t interval_ms;
	struct tier tiers[MAX_TIERS];
	int ntiers;
	struct sre_store *st;
	struct sre_mac_key key;
	jv open;			/* incident -> escalation record */
	struct sre_evclock clock;
	unsigned long long notices;
} opt;

enum { OPT_BY = SRE_OPT_TOOL, OPT_INTERVAL, OPT_MAIL, OPT_SENDMAIL, OPT_TIER,
    OPT_WEBHOOK };

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: sre-escalate [-hqVv] [-i URL] [--interval DURATION] "
	    "[-m ADDRESS]\n"
	    "                    [--max-line N] [-o URL] [--sendmail PATH] "
	    "[--state-dir DIR]\n"
	    "                    [-t DELAY:CHANNEL[,CHANNEL...]] [-w URL] "
	    "[FILE]\n"
	    "       sre-escalate [--by NAME] [--state-dir DIR] ack incident\n"
	    "  -w, --webhook URL     POST notices to URL (default "
	    "$SRE_WEBHOOK_URL)\n"
	    "  -m, --mail ADDRESS    mail notices through sendmail(8)\n"
	    "      --sendmail PATH   the sendmail program (default $SENDMAIL, "
	    "else\n"
	    "                        /usr/sbin/sendmail)\n"
	    "  -t, --tier D:CH[,CH]  after D unacknowledged, notify on these "
	    "channels:\n"
	    "                        stderr, webhook, mail (repeatable; "
	    "default 0:all)\n"
	    "      --interval D      one escalation per incident per D "
	    "(default 30m)\n"
	    "      --by NAME         who acknowledges (default $USER)\n"
	    "  -i, --in URL / -o, --out URL / --state-dir DIR / --max-line N\n"
	    "  -q, --quiet / -v, --verbose / -h, --help / -V, --version\n");
}

/* ---- options ------------------------------------------------------- */

static int
parse_tier(char *arg)
{
	char *colon = strchr(arg, ':'), *list, *ch;
	struct tier t = { 0, 0 };

	if (opt.ntiers == MAX_TIERS) {
		sre_warnx("--tier: at most %d tiers", MAX_TIERS);
		return -1;
	}
	if (colon == NULL) {
		sre_warnx("--tier %s: want DELAY:CHANNEL[,CHANNEL...]", arg);
		return -1;
	}
	*colon = '\0';
	if (sre_opt_duration("--tier", arg, 0, SRE_DURATION_MAX,
	    &t.delay_ms) < 0)
		return -1;
	for (list = colon + 1; (ch = strsep(&list, ",")) != NULL;) {
		if (strcmp(ch, "stderr") == 0)
			t.channels |= CH_STDERR;
		else if (strcmp(ch, "webhook") == 0)
			t.channels |= CH_WEBHOOK;
		else if (strcmp(ch, "mail") == 0)
			t.channels |= CH_MAIL;
		else {
			sre_warnx("--tier: unknown channel '%s' (stderr, "
			    "webhook, mail)", ch);
			return -1;
		}
	}
	if (opt.ntiers > 0 && t.delay_ms <= opt.tiers[opt.ntiers - 1].delay_ms) {
		sre_warnx("--tier: delays must grow from tier to tier");
		return -1;
	}
	opt.tiers[opt.ntiers++] = t;
	return 0;
}

/* ---- the store ----------------------------------------------------- */

static int
put_fn(struct sre_txn *t, void *ctx)
{
	const char *const *kv = ctx;

	return sre_txn_kv_put(t, kv[0], kv[1]);
}

static int
kv_put(const char *key, const char *val)
{
	const char *kv[2] = { key, val };
	char err[1024];
	int ex;

	if ((ex = sre_store_write(opt.st, put_fn, (void *)kv, err,
	    sizeof(err))) != EX_OK)
		sre_warnx("%s", err);
	return ex;
}

static char *
kv_get(const char *key)
{
	struct sre_txn *t;
	const char *v;
	char err[1024], *out = NULL;

	if (sre_store_read(opt.st, &t, err, sizeof(err)) != EX_OK) {
		sre_warnx("%s", err);
		return NULL;
	}
	if (sre_txn_kv_get(t, key, &v, NULL) == 1)
		out = strdup(v);
	sre_txn_end(t);
	return out;
}

static int
acked(const char *inc)
{
	char key[KEY_MAX], *v;

	sre_store_key(key, sizeof(key), SRE_STORE_ACK, inc);
	if ((v = kv_get(key)) == NULL)
		return 0;
	free(v);
	return 1;
}

static int
open_save(void)
{
	size_t len;
	char *text = sre_jv_dump(jv_copy(opt.open), &len);
	int ex;

	if (text == NULL)
		return EX_OSERR;
	ex = kv_put("esc:open", text);
	free(text);
	return ex;
}

/* ---- delivering ---------------------------------------------------- */

static int
emit_escalation(struct sre_stream *s, const char *inc, int64_t now,
    const char *reason, const char *channel, int delivered, int tier,
    const char *trigger)
{
	jv ev = sre_event_new("escalation", inc);

	ev = jv_object_set(ev, jv_string("ts_ms"), jv_number((double)now));
	ev = jv_object_set(ev, jv_string("reason"), jv_string(reason));
	ev = jv_object_set(ev, jv_string("channel"), jv_string(channel));
	ev = jv_object_set(ev, jv_string("delivered"), jv_bool(delivered));
	ev = jv_object_set(ev, jv_string("tier"), jv_number(tier));
	if (trigger != NULL)
		ev = jv_object_set(ev, jv_string("trigger"),
		    jv_string(trigger));
	opt.notices++;
	return sre_stream_emit_jv(s, ev) < 0 && s->failed ? s->failed : 0;
}

static int
deliver(struct sre_stream *s, const char *inc, jv rec, int k, int64_t now)
{
	const char *reason = sre_jv_str(rec, "reason");
	const char *trigger = sre_jv_str(rec, "trigger");
	unsigned ch = opt.tiers[k].channels;
	char text[2048], r1[1500], i1[256], err[1024];
	int ex = 0, ok;

	sre_commitmsg_oneline(r1, sizeof(r1), reason);
	sre_commitmsg_oneline(i1, sizeof(i1), inc);
	snprintf(text, sizeof(text), "SRE-Space: incident %s needs a human "
	    "(tier %d): %s", i1, k, r1);
	/* Standard error always hears it. */
	sre_warnx("%s", text);
	if (ch & CH_STDERR)
		ex = emit_escalation(s, inc, now, r1, "stderr", 1, k, trigger);
	if (!ex && (ch & CH_WEBHOOK)) {
		ok = sre_escalate_webhook(opt.webhook, text, inc, r1, k, err,
		    sizeof(err));
		if (!ok && *err != '\0')
			sre_warnx("webhook: %s", err);
		ex = emit_escalation(s, inc, now, r1, "webhook", ok, k,
		    trigger);
	}
	if (!ex && (ch & CH_MAIL)) {
		ok = sre_escalate_mail(opt.sendmail, opt.mail, text, inc, err,
		    sizeof(err));
		if (!ok && *err != '\0')
			sre_warnx("mail: %s", err);
		ex = emit_escalation(s, inc, now, r1, "mail", ok, k, trigger);
	}
	return ex;
}

/* Send every tier that is due; forget what is over. */
static int
deliver_due(struct sre_stream *s)
{
	int64_t now = sre_evclock_now(&opt.clock);
	jv keys = jv_keys(jv_copy(opt.open));
	int i, n = jv_array_length(jv_copy(keys)), ex = 0, changed = 0;

	for (i = 0; i < n && !ex; i++) {
		jv k = jv_array_get(jv_copy(keys), i);
		const char *inc = jv_string_value(k);
		jv rec = jv_object_get(jv_copy(opt.open), jv_copy(k));
		double first = 0, tier = 0, last = 0;

		sre_jv_num(rec, "first_ms", &first);
		sre_jv_num(rec, "tier", &tier);
		sre_jv_num(rec, "last_ms", &last);
		while (!ex && tier < opt.ntiers &&
		    (double)now >= first + (double)opt.tiers[(int)tier].delay_ms) {
			if (acked(inc)) {
				sre_info("%s: acknowledged: no more tiers",
				    inc);
				tier = opt.ntiers;
				break;
			}
			ex = deliver(s, inc, rec, (int)tier, now);
			tier++;
			last = (double)now;
			changed = 1;
		}
		if (tier >= opt.ntiers && (double)now - last >=
		    (double)opt.interval_ms) {
			opt.open = jv_object_delete(opt.open, jv_copy(k));
			changed = 1;
		} else if (changed) {
			rec = jv_object_set(rec, jv_string("tier"),
			    jv_number(tier));
			rec = jv_object_set(rec, jv_string("last_ms"),
			    jv_number(last));
			opt.open = jv_object_set(opt.open, jv_copy(k),
			    jv_copy(rec));
		}
		jv_free(rec);
		jv_free(k);
	}
	jv_free(keys);
	if (changed && !ex)
		ex = open_save();
	return ex;
}

/* ---- the stream ---------------------------------------------------- */

static void
join_reasons(jv ev, char *out, size_t outlen)
{
	jv r = jv_object_get(jv_copy(ev), jv_string("reasons"));
	int i, n = jv_get_kind(r) == JV_KIND_ARRAY ?
	    jv_array_length(jv_copy(r)) : 0;

	out[0] = '\0';
	for (i = 0; i < n; i++) {
		jv x = jv_array_get(jv_copy(r), i);

		if (jv_get_kind(x) == JV_KIND_STRING) {
			if (out[0] != '\0')
				strlcat(out, "; ", outlen);
			strlcat(out, jv_string_value(x), outlen);
		}
		jv_free(x);
	}
	jv_free(r);
}

static int
trigger(jv ev, const char *inc, const char *why)
{
	int64_t now = sre_evclock_now(&opt.clock);
	const char *id = sre_jv_str(ev, "id");
	jv rec = jv_object_get(jv_copy(opt.open), jv_string(inc));
	double last = 0;

	if (jv_get_kind(rec) == JV_KIND_OBJECT) {
		const char *was = sre_jv_str(rec, "trigger");

		sre_jv_num(rec, "last_ms", &last);
		if (was != NULL && id != NULL && strcmp(was, id) == 0) {
			jv_free(rec);
			return 0;	/* the same event again */
		}
		if ((double)now - last < (double)opt.interval_ms) {
			sre_info("%s: escalated already within the interval",
			    inc);
			jv_free(rec);
			return 0;
		}
	}
	jv_free(rec);
	if (acked(inc)) {
		sre_info("%s: acknowledged by a human: not escalated", inc);
		return 0;
	}
	rec = jv_object();
	rec = jv_object_set(rec, jv_string("first_ms"), jv_number((double)now));
	rec = jv_object_set(rec, jv_string("last_ms"), jv_number((double)now));
	rec = jv_object_set(rec, jv_string("tier"), jv_number(0));
	rec = jv_object_set(rec, jv_string("reason"), jv_string(why));
	if (id != NULL)
		rec = jv_object_set(rec, jv_string("trigger"), jv_string(id));
	opt.open = jv_object_set(opt.open, jv_string(inc), rec);
	return open_save();
}

/* A revert after which the loop goes on ("next": true: the next remedy
 * in rank, or a revision's): no human yet. */
static int
next_remedy(jv ev)
{
	jv v = jv_object_get(jv_copy(ev), jv_string("next"));
	int k = jv_get_kind(v);

	jv_free(v);
	return k == JV_KIND_TRUE;
}

static int
on_event(struct sre_stream *s, const struct sre_event_in *e, void *ctx)
{
	char err[512], why[2048], more[1800];
	const char *type = e->type, *inc, *st;
	jv ev = e->ev;
	int ex = 0;

	(void)ctx;
	inc = sre_jv_str(ev, "incident");
	why[0] = '\0';
	if ((strcmp(type, "verdict") == 0 || strcmp(type, "action") == 0) &&
	    sre_mac_check(&opt.key, ev, err, sizeof(err)) < 0)
		sre_stream_reject(s, "%s: ignored", err);
	else if (inc != NULL && strcmp(type, "verdict") == 0 &&
	    (st = sre_jv_str(ev, "decision")) != NULL &&
	    strcmp(st, "escalate") == 0) {
		join_reasons(ev, more, sizeof(more));
		snprintf(why, sizeof(why), "verdict escalate: %s", more);
	} else if (inc != NULL && strcmp(type, "action") == 0 &&
	    (st = sre_jv_str(ev, "status")) != NULL &&
	    (strcmp(st, "failed") == 0 || (strcmp(st, "reverted") == 0 &&
	    !next_remedy(ev)))) {
		sre_commitmsg_oneline(more, sizeof(more),
		    sre_jv_str(ev, "detail"));
		snprintf(why, sizeof(why), "%s: %s", strcmp(st, "failed") == 0 ?
		    "action failed" : "fix reverted", more);
	} else if (inc != NULL && strcmp(type, "recovery") == 0) {
		jv had = jv_object_get(jv_copy(opt.open), jv_string(inc));

		if (jv_get_kind(had) == JV_KIND_OBJECT) {
			opt.open = jv_object_delete(opt.open, jv_string(inc));
			ex = open_save();
		}
		jv_free(had);
	}
	if (why[0] != '\0')
		ex = trigger(ev, inc, why);
	if (!ex)
		ex = deliver_due(s);
	return ex;
}

static int
on_idle(struct sre_stream *s, int at_end, void *ctx)
{
	(void)at_end;
	(void)ctx;
	return deliver_due(s);
}

/* ---- main ---------------------------------------------------------- */

/* Non-zero when inc is an incident this store knows: one escalated (open
 * or not yet closed) or one sre-curate recorded. */
static int
known(const char *inc)
{
	char err[1024], *text = kv_get("esc:open");
	struct sre_txn *t;
	int found = 0;
	jv open, rec;

	if (text != NULL) {
		open = jv_parse(text);
		found = jv_get_kind(open) == JV_KIND_OBJECT &&
		    jv_object_has(jv_copy(open), jv_string(inc));
		jv_free(open);
		free(text);
	}
	if (found || sre_store_read(opt.st, &t, err, sizeof(err)) != EX_OK)
		return found;
	rec = sre_txn_incident_get(t, inc);
	found = jv_get_kind(rec) == JV_KIND_OBJECT;
	jv_free(rec);
	sre_txn_end(t);
	return found;
}

static int
ack(const char *inc)
{
	char key[KEY_MAX], err[1024];
	jv rec = jv_object();
	size_t len;
	char *text;
	int ex;

	if (*inc == '\0' || !sre_store_key_ok(inc)) {
		sre_warnx("ack: not an incident id: %s", inc);
		return EX_USAGE;
	}
	if ((ex = sre_store_open(&opt.st, sre_state_dir(&opt.c), NULL, err,
	    sizeof(err))) != EX_OK) {
		sre_warnx("%s", err);
		return ex;
	}
	if (!known(inc)) {
		sre_warnx("ack: no incident '%s': none was escalated, and the "
		    "store in %s has no record of it", inc,
		    sre_state_dir(&opt.c));
		sre_store_close(opt.st);
		jv_free(rec);
		return EX_NOINPUT;
	}
	rec = jv_object_set(rec, jv_string("ts_ms"),
	    jv_number((double)sre_now_ms()));
	rec = jv_object_set(rec, jv_string("by"), jv_string(opt.by));
	sre_store_key(key, sizeof(key), SRE_STORE_ACK, inc);
	if ((text = sre_jv_dump(rec, &len)) == NULL)
		ex = EX_OSERR;
	else
		ex = kv_put(key, text);
	free(text);
	if (ex == EX_OK)
		sre_info("%s: acknowledged by %s", inc, opt.by);
	sre_store_close(opt.st);
	return ex;
}

/* Check --webhook, --mail and --tier against each other; default tier. */
static int
check_channels(void)
{
	int i;

	if (opt.webhook != NULL && strncmp(opt.webhook, "http://", 7) != 0 &&
	    strncmp(opt.webhook, "https://", 8) != 0) {
		sre_warnx("--webhook: not an http(s) URL");
		return -1;
	}
	if (opt.mail != NULL && !sre_escalate_mail_ok(opt.mail)) {
		sre_warnx("--mail %s: not a mail address", opt.mail);
		return -1;
	}
	if (opt.ntiers == 0) {
		opt.tiers[0].delay_ms = 0;
		opt.tiers[0].channels = CH_STDERR |
		    (opt.webhook ? CH_WEBHOOK : 0) | (opt.mail ? CH_MAIL : 0);
		opt.ntiers = 1;
	}
	for (i = 0; i < opt.ntiers; i++) {
		if ((opt.tiers[i].channels & CH_WEBHOOK) && !opt.webhook) {
			sre_warnx("--tier: webhook without --webhook");
			return -1;
		}
		if ((opt.tiers[i].channels & CH_MAIL) && !opt.mail) {
			sre_warnx("--tier: mail without --mail");
			return -1;
		}
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		SRE_COMMON_LONGOPTS,
		{ "by", required_argument, NULL, OPT_BY },
		{ "interval", required_argument, NULL, OPT_INTERVAL },
		{ "mail", required_argument, NULL, 'm' },
		{ "sendmail", required_argument, NULL, OPT_SENDMAIL },
		{ "tier", required_argument, NULL, 't' },
		{ "webhook", required_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 }
	};
	struct sre_stream s;
	const char *env;
	char err[1024];
	int ch, ex;

	sre_init("sre-escalate");
	sre_common_init(&opt.c);
	opt.interval_ms = 30 * 60000;
	opt.open = jv_null();
	opt.sendmail = (env = getenv("SENDMAIL")) != NULL && *env != '\0' ?
	    env : "/usr/sbin/sendmail";
	opt.by = (env = getenv("USER")) != NULL && *env != '\0' ? env :
	    "someone";
	if ((env = getenv("SRE_WEBHOOK_URL")) != NULL && *env != '\0')
		opt.webhook = env;
	while ((ch = sre_getopt(&opt.c, argc, argv, "m:t:w:", longopts,
	    usage, &ex)) != -1) {
		switch (ch) {
		case OPT_BY:
			opt.by = optarg;
			break;
		case OPT_INTERVAL:
			if (sre_opt_duration("--interval", optarg, 0,
			    SRE_DURATION_MAX, &opt.interval_ms) < 0)
				return EX_USAGE;
			break;
		case OPT_SENDMAIL:
			opt.sendmail = optarg;
			break;
		case 'm':
			opt.mail = optarg;
			break;
		case 't':
			if (parse_tier(optarg) < 0)
				return EX_USAGE;
			break;
		case 'w':
			opt.webhook = optarg;
			break;
		}
	}
	if (ex >= 0)
		return ex;
	if (optind < argc && strcmp(argv[optind], "ack") == 0) {
		if (argc - optind != 2) {
			sre_warnx("ack: one incident id");
			usage(stderr);
			return EX_USAGE;
		}
		return ack(argv[optind + 1]);
	}
	if (sre_opt_input(&opt.c, argc - optind, argv + optind) < 0) {
		usage(stderr);
		return EX_USAGE;
	}
	if (check_channels() < 0)
		return EX_USAGE;
	if ((ex = sre_store_open_keyed(&opt.st, &opt.key, &opt.c, err,
	    sizeof(err))) != EX_OK) {
		sre_warnx("%s", err);
		return ex;
	}
	{
		char *p = kv_get("esc:open");

		opt.open = p != NULL ? jv_parse(p) : jv_object();
		free(p);
		if (jv_get_kind(opt.open) != JV_KIND_OBJECT) {
			jv_free(opt.open);
			opt.open = jv_object();
		}
	}
	if ((ex = sre_stream_open(&s, &opt.c)) == EX_OK) {
		s.idle_ms = 1000;
		s.clock = &opt.clock;
		ex = sre_stream_events(&s, SRE_STREAM_PASS, on_event,
		    on_idle, NULL);
		sre_info("%llu lines, %llu notices, %llu rejected", s.lines,
		    opt.notices, s.rejected);
	}
	sre_store_close(opt.st);
	jv_free(opt.open);
	return ex;
}
