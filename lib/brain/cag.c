/* cag.c: tier-1 diagnosis from the CAG table (see cag.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "brain-diag.h"
#include "cag.h"
#include "event.h"
#include "store.h"

double
sre_cag_confidence(int64_t s, int64_t f)
{
	if (s < 0)
		s = 0;
	if (f < 0)
		f = 0;
	return round((double)(s + 1) / (double)(s + f + 2) * 1000) / 1000;
}

int
sre_cag_lookup(struct sre_txn *t, const char *fp,
    const struct sre_cag_rule *rule, jv *entry)
{
	if (!sre_store_key_ok(fp))
		return 0;	/* could never have been learned */
	return sre_txn_cag_best(t, fp, rule->min_successes, rule->min_ratio,
	    entry);
}

jv
sre_cag_diagnosis(jv anomaly, jv entry)
{
	const char *inc = sre_jv_str(anomaly, "incident");
	const char *fp = sre_jv_str(entry, "fingerprint");
	jv proposal = sre_brain_or_null(sre_jv_get(entry, "proposal"));
	jv known = sre_jv_get(entry, "root_cause");
	jv ev, rc = jv_object(), cag = jv_object();
	int64_t s = 0, f = 0, ts = 0;
	const char *svc, *act, *target;
	char id[SRE_ID_LEN + 1], reason[256], summary[1024];
	double conf;

	sre_jv_int(entry, "successes", &s);
	sre_jv_int(entry, "failures", &f);
	sre_jv_int(anomaly, "ts_ms", &ts);
	conf = sre_cag_confidence(s, f);
	act = sre_jv_str(proposal, "action");
	target = sre_jv_str(proposal, "target");
	/* The root cause: as learned, else the fix's target, else where the
	 * anomaly showed. */
	if ((svc = sre_jv_str(known, "service")) == NULL &&
	    (svc = target) == NULL)
		svc = sre_jv_str(anomaly, "service");
	snprintf(reason, sizeof(reason), "known fingerprint: the fix was "
	    "verified %lld of %lld times", (long long)s, (long long)(s + f));
	rc = jv_object_set(rc, jv_string("service"),
	    svc != NULL ? jv_string(svc) : jv_null());
	rc = jv_object_set(rc, jv_string("operation"),
	    sre_jv_str(known, "operation") != NULL ?
	    sre_jv_get(known, "operation") : jv_null());
	rc = jv_object_set(rc, jv_string("score"), jv_number(conf));
	rc = jv_object_set(rc, jv_string("reason"), jv_string(reason));
	snprintf(summary, sizeof(summary), "known pattern %s: %s on %s fixed "
	    "it %lld of %lld times", fp != NULL ? fp : "?",
	    act != NULL ? act : "?", target != NULL ? target : "?",
	    (long long)s, (long long)(s + f));
	ev = sre_event_new("diagnosis", inc);
	sre_store_id_derive(id, ts, "sre-cag", inc);
	ev = jv_object_set(ev, jv_string("id"), jv_string(id));
	ev = jv_object_set(ev, jv_string("ts_ms"), jv_number((double)ts));
	ev = jv_object_set(ev, jv_string("source"), jv_string("sre-cag"));
	ev = jv_object_set(ev, jv_string("root_causes"),
	    jv_array_append(jv_array(), rc));
	ev = jv_object_set(ev, jv_string("confidence"), jv_number(conf));
	ev = jv_object_set(ev, jv_string("summary"), jv_string(summary));
	ev = jv_object_set(ev, jv_string("proposal"), proposal);
	ev = jv_object_set(ev, jv_string("memory"),
	    sre_brain_or_null(sre_jv_get(entry, "incidents")));
	ev = jv_object_set(ev, jv_string("fingerprint"),
	    fp != NULL ? jv_string(fp) : jv_null());
	cag = jv_object_set(cag, jv_string("successes"), jv_number((double)s));
	cag = jv_object_set(cag, jv_string("failures"), jv_number((double)f));
	ev = jv_object_set(ev, jv_string("cag"), cag);
	jv_free(known);
	return ev;
}
