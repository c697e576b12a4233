/* verify.c: after a fix: the verify window, what a new approval means,
 * and what follows a fix that did not end the fault (verify.h). */
#include <stdio.h>
#include <string.h>

#include "event.h"
#include "verify.h"

int64_t
sre_verify_window(int64_t scout_window_ms, int64_t max_ms)
{
	int64_t w;

	if (max_ms <= 0)
		max_ms = SRE_VERIFY_MAX_MS;
	if (scout_window_ms <= 0)
		return max_ms;
	w = scout_window_ms > INT64_MAX / SRE_VERIFY_WINDOWS ? max_ms :
	    scout_window_ms * SRE_VERIFY_WINDOWS;
	if (w < SRE_VERIFY_MIN_MS)
		w = SRE_VERIFY_MIN_MS;
	return w < max_ms ? w : max_ms;
}

static int
flag(jv rec, const char *key)
{
	jv v;
	int k;

	if (jv_get_kind(rec) != JV_KIND_OBJECT)
		return 0;
	v = jv_object_get(jv_copy(rec), jv_string(key));
	k = jv_get_kind(v);
	jv_free(v);
	return k == JV_KIND_TRUE;
}

static long
actions_of(jv rec)
{
	int64_t n = 0;

	if (jv_get_kind(rec) != JV_KIND_OBJECT ||
	    sre_jv_int(rec, "actions", &n) < 0 || n < 0)
		return 0;
	return (long)n;
}

int
sre_verify_same(jv a, jv b)
{
	const char *aa = sre_jv_str(a, "action"), *ab = sre_jv_str(b, "action");
	const char *ta = sre_jv_str(a, "target"), *tb = sre_jv_str(b, "target");
	jv pa, pb;
	int same;

	if (aa == NULL || ab == NULL || strcmp(aa, ab) != 0 ||
	    (ta == NULL) != (tb == NULL) ||
	    (ta != NULL && strcmp(ta, tb) != 0))
		return 0;
	pa = jv_object_get(jv_copy(a), jv_string("params"));
	pb = jv_object_get(jv_copy(b), jv_string("params"));
	/* an absent params is an empty one */
	if (jv_get_kind(pa) != JV_KIND_OBJECT) {
		jv_free(pa);
		pa = jv_object();
	}
	if (jv_get_kind(pb) != JV_KIND_OBJECT) {
		jv_free(pb);
		pb = jv_object();
	}
	same = jv_equal(pa, pb);
	return same;
}

int
sre_verify_gate(jv rec, jv proposal, long max_actions, char *why,
    size_t whylen)
{
	jv last;
	int same;

	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (jv_get_kind(rec) != JV_KIND_OBJECT)
		return SRE_GATE_ACT;
	if (flag(rec, "verified")) {
		snprintf(why, whylen, "recovered: the fix holds");
		return SRE_GATE_DONE;
	}
	last = jv_object_get(jv_copy(rec), jv_string("proposal"));
	same = jv_get_kind(last) == JV_KIND_OBJECT &&
	    sre_verify_same(last, proposal);
	jv_free(last);
	if (same && flag(rec, "open")) {
		snprintf(why, whylen, "the same change is live and being "
		    "verified");
		return SRE_GATE_WAIT;
	}
	if (actions_of(rec) >= (max_actions > 0 ? max_actions : 1)) {
		snprintf(why, whylen, "%ld change%s made for the incident, the "
		    "most the policy allows (max_actions): a human takes over",
		    actions_of(rec), actions_of(rec) == 1 ? "" : "s");
		return SRE_GATE_LIMIT;
	}
	if (same) {
		/* the same change again, after it was undone: no */
		snprintf(why, whylen, "the same change was made and undone "
		    "already: a human takes over");
		return SRE_GATE_LIMIT;
	}
	return flag(rec, "open") ? SRE_GATE_SUPERSEDE : SRE_GATE_ACT;
}

int
sre_verify_next(jv rec, long max_actions)
{
	jv p = jv_object_get(jv_copy(rec), jv_string("proposal"));
	const char *action = sre_jv_str(p, "action");
	int next = SRE_NEXT_REVERT;

	if (action != NULL && strcmp(action, "scale") == 0 &&
	    flag(rec, "helped") &&
	    actions_of(rec) < (max_actions > 0 ? max_actions : 1))
		next = SRE_NEXT_STEP;
	else if (action != NULL && strcmp(action, "restart") == 0)
		next = SRE_NEXT_GIVE_UP;
	jv_free(p);
	return next;
}

jv
sre_verify_partial(jv rec, int64_t now_ms, int64_t scout_window_ms)
{
	jv p;
	const char *action;
	int64_t dl, step;

	if (jv_get_kind(rec) != JV_KIND_OBJECT || !flag(rec, "open"))
		return rec;
	p = jv_object_get(jv_copy(rec), jv_string("proposal"));
	action = sre_jv_str(p, "action");
	if (action != NULL && strcmp(action, "scale") == 0 &&
	    !flag(rec, "helped") && scout_window_ms > 0 &&
	    sre_jv_int(rec, "deadline_ms", &dl) == 0) {
		step = now_ms + SRE_VERIFY_STEP_WINDOWS * scout_window_ms;
		if (step < dl)
			rec = jv_object_set(rec, jv_string("deadline_ms"),
			    jv_number((double)step));
	}
	jv_free(p);
	return jv_object_set(rec, jv_string("helped"), jv_true());
}
