/*
 * brain-settle.c: when sre-brain speaks about an incident (brain-settle.h).
 */
#include <math.h>
#include <string.h>

#include "brain-settle.h"
#include "event.h"

void
sre_brain_settle_init(struct sre_brain_settle *st)
{
	memset(st, 0, sizeof(*st));
	st->state = SRE_BRAIN_EMPTY;
	st->due_ms = -1;
	st->first_ms = -1;
}

int64_t
sre_brain_settle_anomaly(struct sre_brain_settle *st, int64_t ts,
    int64_t clock, int64_t settle_ms)
{
	int64_t due;

	if (st->first_ms < 0 || ts < st->first_ms)
		st->first_ms = ts;
	switch (st->state) {
	case SRE_BRAIN_EMPTY:
		st->state = SRE_BRAIN_PENDING;
		due = (ts > clock ? ts : (ts > 0 ? ts : clock)) + settle_ms;
		st->due_ms = due < clock ? clock : due;
		return st->due_ms;
	case SRE_BRAIN_DONE:
		/* news after a diagnosis: look again once it settles */
		if (st->due_ms >= 0)
			return -1;
		st->due_ms = clock + settle_ms;
		return st->due_ms;
	case SRE_BRAIN_PENDING:
	case SRE_BRAIN_HELD:
	case SRE_BRAIN_WAIT_LLM:
		break;
	}
	return -1;
}

/* Still gathering: nothing said about it yet. */
static int
gathering(const struct sre_brain_settle *st)
{
	return st->state == SRE_BRAIN_PENDING || st->state == SRE_BRAIN_EMPTY;
}

int
sre_brain_settle_foreign(struct sre_brain_settle *st, const char *source,
    int64_t rev, int nanom)
{
	int first = 0;

	if (source != NULL && strcmp(source, "sre-cag") == 0) {
		if (!st->cag) {
			st->cag = 1;
			first = 1;
		}
		if (gathering(st)) {
			st->state = SRE_BRAIN_HELD;
			st->due_ms = -1;
		}
	} else if (source != NULL && strcmp(source, "sre-brain") == 0) {
		/* ours, from an earlier run: do not say it again */
		if (rev > st->revision)
			st->revision = (int)(rev < SRE_BRAIN_MAX_REVISIONS ?
			    rev : SRE_BRAIN_MAX_REVISIONS);
		if (gathering(st)) {
			st->state = nanom > 0 ? SRE_BRAIN_DONE :
			    SRE_BRAIN_EMPTY;
			st->due_ms = -1;
		}
	}
	return first;
}

enum sre_brain_act
sre_brain_settle_action(struct sre_brain_settle *st, const char *status,
    int nanom, int has_last, int64_t clock, int64_t settle_ms)
{
	if (status == NULL || (strcmp(status, "failed") != 0 &&
	    strcmp(status, "reverted") != 0))
		return SRE_BRAIN_ACT_NONE;
	if (st->cag && !st->cag_failed) {
		/* the known fix did not work: now it is ours */
		st->cag_failed = 1;
		if (st->state == SRE_BRAIN_HELD)
			st->state = nanom > 0 ? SRE_BRAIN_PENDING :
			    SRE_BRAIN_EMPTY;
		if (nanom > 0) {
			int64_t due = st->first_ms + settle_ms;

			st->due_ms = due > clock ? due : clock;
		}
		return SRE_BRAIN_ACT_CAG_FAILED;
	}
	if (st->state == SRE_BRAIN_DONE && has_last) {
		/* our own proposal failed: that changes the picture */
		st->due_ms = clock;
		return SRE_BRAIN_ACT_OURS_FAILED;
	}
	return SRE_BRAIN_ACT_NONE;
}

int
sre_brain_settle_is_due(const struct sre_brain_settle *st, int64_t clock,
    int all)
{
	return st->due_ms >= 0 && (all || st->due_ms <= clock);
}

/* Two optional strings differ (one missing, or other text). */
static int
differ(const char *a, const char *b)
{
	return (a == NULL) != (b == NULL) || (a != NULL && strcmp(a, b) != 0);
}

int
sre_brain_material(jv last, jv d)
{
	jv a = sre_jv_get(last, "root_causes"), c = sre_jv_get(d,
	    "root_causes");
	jv a0 = jv_get_kind(a) == JV_KIND_ARRAY ? jv_array_get(a, 0) :
	    (jv_free(a), jv_invalid());
	jv c0 = jv_get_kind(c) == JV_KIND_ARRAY ? jv_array_get(c, 0) :
	    (jv_free(c), jv_invalid());
	jv pa = sre_jv_get(last, "proposal"), pc = sre_jv_get(d, "proposal");
	double c1 = 0, c2 = 0;
	int ch;

	sre_jv_num(last, "confidence", &c1);
	sre_jv_num(d, "confidence", &c2);
	ch = differ(sre_jv_str(a0, "service"), sre_jv_str(c0, "service")) ||
	    differ(sre_jv_str(pa, "action"), sre_jv_str(pc, "action")) ||
	    differ(sre_jv_str(pa, "target"), sre_jv_str(pc, "target")) ||
	    fabs(c1 - c2) >= 0.2 ||
	    /* another kind of fault (network or CPU, say) is another
	     * picture */
	    differ(sre_jv_str(last, "kind"), sre_jv_str(d, "kind"));
	jv_free(a0);
	jv_free(c0);
	jv_free(pa);
	jv_free(pc);
	return ch;
}

int
sre_brain_settle_speak(const struct sre_brain_settle *st, jv last, jv d)
{
	if (st->revision > 0 && jv_get_kind(last) == JV_KIND_OBJECT &&
	    !sre_brain_material(last, d))
		return 0;
	return st->revision < SRE_BRAIN_MAX_REVISIONS;
}

int
sre_brain_settle_wait(struct sre_brain_settle *st, jv d, int64_t clock,
    int64_t wait_ms)
{
	jv p;
	const char *action;
	int wait;

	if (st->revision > 0 || st->waited || wait_ms <= 0)
		return 0;
	p = sre_jv_get(d, "proposal");
	action = sre_jv_str(p, "action");
	wait = action != NULL && strcmp(action, "observe") == 0;
	jv_free(p);
	if (!wait)
		return 0;
	st->waited = 1;
	st->state = SRE_BRAIN_PENDING;
	st->due_ms = (clock > 0 ? clock : 0) + wait_ms;
	return 1;
}

int
sre_brain_settle_emitted(struct sre_brain_settle *st)
{
	st->state = SRE_BRAIN_DONE;
	return ++st->revision;
}

jv
sre_brain_supersede(jv ev, int rev, jv last)
{
	const char *prev;

	ev = jv_object_set(ev, jv_string("revision"), jv_number(rev));
	if (rev > 1) {
		prev = sre_jv_str(last, "id");
		ev = jv_object_set(ev, jv_string("supersedes"),
		    prev ? jv_string(prev) : jv_null());
	}
	return ev;
}
