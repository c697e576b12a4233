/*
 * store-memory.c: what makes incidents findable again: their feature
 * terms (services, operations, signals, templates, words, fingerprints),
 * the similarity index of terms to incidents, the fingerprint index, and
 * the ranked search over them (sre_txn_similar).
 */
#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <bsd/stdlib.h>
#include <lmdb.h>

#include "event.h"
#include "sbuf.h"
#include "store-int.h"

#define DF_MAX		20000	/* terms commoner than this are noise */

/* ---- features and terms ----------------------------------------------- */

struct terms {
	char **v;
	size_t n, cap;
};

static void
terms_free(struct terms *ts)
{
	size_t i;

	for (i = 0; i < ts->n; i++)
		free(ts->v[i]);
	free(ts->v);
	ts->v = NULL;
	ts->n = ts->cap = 0;
}

static int
terms_add(struct terms *ts, const char *prefix, const char *s, size_t n)
{
	size_t pn = strlen(prefix);
	char *term;

	if (n == 0)
		return 0;
	if (pn + n > SRE_STORE_KEY_MAX)
		n = SRE_STORE_KEY_MAX - pn;
	if (ts->n == ts->cap) {
		char **v = sre_grow(ts->v, &ts->cap, sizeof(*v), 16);

		if (v == NULL)
			return -1;
		ts->v = v;
	}
	if ((term = malloc(pn + n + 1)) == NULL)
		return -1;
	memcpy(term, prefix, pn);
	memcpy(term + pn, s, n);
	term[pn + n] = '\0';
	/* A NUL inside would cut the key short: such a term is dropped. */
	if (strlen(term) != pn + n) {
		free(term);
		return 0;
	}
	ts->v[ts->n++] = term;
	return 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Terms of the feature member name (an array of strings) of rec. */
static int
terms_member(struct terms *ts, jv rec, const char *name, const char *prefix)
{
	jv a = jv_object_get(jv_copy(rec), jv_string(name));
	int i, n, rc = 0;

	if (jv_get_kind(a) == JV_KIND_STRING) {
		rc = terms_add(ts, prefix, jv_string_value(a),
		    (size_t)jv_string_length_bytes(jv_copy(a)));
	} else if (jv_get_kind(a) == JV_KIND_ARRAY) {
		n = jv_array_length(jv_copy(a));
		for (i = 0; i < n && i < FEATURE_MAX && rc == 0; i++) {
			jv s = jv_array_get(jv_copy(a), i);

			if (jv_get_kind(s) == JV_KIND_STRING)
				rc = terms_add(ts, prefix, jv_string_value(s),
				    (size_t)jv_string_length_bytes(jv_copy(s)));
			jv_free(s);
		}
	}
	jv_free(a);
	return rc;
}

/* The sorted, unique feature terms of a record (borrowed). */
static int
terms_of(jv rec, struct terms *ts)
{
	size_t i, j;

	memset(ts, 0, sizeof(*ts));
	if (jv_get_kind(rec) != JV_KIND_OBJECT)
		return 0;
	if (terms_member(ts, rec, "fingerprint", "f:") < 0 ||
	    terms_member(ts, rec, "fingerprints", "f:") < 0 ||
	    terms_member(ts, rec, "services", "s:") < 0 ||
	    terms_member(ts, rec, "operations", "o:") < 0 ||
	    terms_member(ts, rec, "signals", "g:") < 0 ||
	    terms_member(ts, rec, "templates", "t:") < 0 ||
	    terms_member(ts, rec, "words", "w:") < 0) {
		terms_free(ts);
		return -1;
	}
	if (ts->n == 0)
		return 0;
	qsort(ts->v, ts->n, sizeof(*ts->v), cmp_str);
	for (i = j = 1; i < ts->n; i++) {
		if (strcmp(ts->v[i], ts->v[j - 1]) == 0)
			free(ts->v[i]);
		else
			ts->v[j++] = ts->v[i];
	}
	ts->n = j;
	return 0;
}

static const char *const stop_words[] = {
	"and", "are", "but", "for", "from", "has", "have", "into", "its",
	"not", "of", "on", "than", "that", "the", "then", "this", "was",
	"were", "with", NULL
};

static int
is_stop(const char *w)
{
	const char *const *s;

	for (s = stop_words; *s != NULL; s++)
		if (strcmp(*s, w) == 0)
			return 1;
	return 0;
}

jv
store_add_unique(jv a, const char *s)
{
	int i, n = jv_array_length(jv_copy(a));

	for (i = 0; i < n; i++) {
		jv e = jv_array_get(jv_copy(a), i);
		int same = strcmp(jv_string_value(e), s) == 0;

		jv_free(e);
		if (same)
			return a;
	}
	if (n >= FEATURE_MAX)
		return a;
	return jv_array_append(a, jv_string(s));
}

jv
sre_store_text_features(const char *text)
{
	jv words = jv_array(), names = jv_array(), out = jv_object();
	char w[64], tok[SRE_STORE_KEY_MAX + 1];
	const char *p = text != NULL ? text : "";
	size_t n;

	/* Words: lowercased runs of letters and digits, not all digits. */
	while (*p != '\0') {
		int digits = 1;

		while (*p != '\0' && !isalnum((unsigned char)*p))
			p++;
		for (n = 0; isalnum((unsigned char)*p); p++) {
			if (!isdigit((unsigned char)*p))
				digits = 0;
			if (n < sizeof(w) - 1)
				w[n++] = (char)tolower((unsigned char)*p);
		}
		w[n] = '\0';
		if (n >= 2 && !digits && !is_stop(w))
			words = store_add_unique(words, w);
	}
	/* Names: whitespace-separated tokens, punctuation trimmed. */
	for (p = text != NULL ? text : ""; *p != '\0';) {
		while (*p != '\0' && isspace((unsigned char)*p))
			p++;
		for (n = 0; *p != '\0' && !isspace((unsigned char)*p); p++)
			if (n < sizeof(tok) - 1)
				tok[n++] = *p;
		while (n > 0 && strchr(",.;:!?()\"'", tok[n - 1]) != NULL)
			n--;
		tok[n] = '\0';
		if (n > 0)
			names = store_add_unique(names, tok[0] == '(' ||
			    tok[0] == '"' || tok[0] == '\'' ? tok + 1 : tok);
	}
	out = jv_object_set(out, jv_string("words"), words);
	out = jv_object_set(out, jv_string("services"), jv_copy(names));
	out = jv_object_set(out, jv_string("signals"), jv_copy(names));
	out = jv_object_set(out, jv_string("fingerprints"), names);
	return out;
}

/* ---- indexes ---------------------------------------------------------- */

static int
open_key(struct key *k, jv rec, const char *id)
{
	const char *status = sre_jv_str(rec, "status");
	int64_t last = 0;

	if (status == NULL || strcmp(status, "open") != 0)
		return 0;
	if (sre_jv_int(rec, "last_ms", &last) < 0 || last < 0)
		last = 0;
	k->n = 0;
	key_u64(k, (uint64_t)last);
	key_cat(k, id);
	return 1;
}

int
store_index_update(struct sre_txn *t, const char *id, jv old, jv rec)
{
	const char *ofp = sre_jv_str(old, "fingerprint");
	const char *nfp = sre_jv_str(rec, "fingerprint");
	struct terms a, b;
	struct key ko, kn;
	size_t i, j, idn = strlen(id);
	int ho, hn, rc = 0;

	if (terms_of(old, &a) < 0)
		return sre_txn_fail(t, EX_OSERR, "out of memory");
	if (terms_of(rec, &b) < 0) {
		terms_free(&a);
		return sre_txn_fail(t, EX_OSERR, "out of memory");
	}
	/* Merge the two sorted lists: drop what went, add what came. */
	for (i = j = 0; rc == 0 && (i < a.n || j < b.n);) {
		int c = i == a.n ? 1 : j == b.n ? -1 :
		    strcmp(a.v[i], b.v[j]);

		if (c < 0)
			rc = store_del(t, DB_SIM, a.v[i], strlen(a.v[i]), id,
			    idn) < 0;
		else if (c > 0)
			rc = store_put(t, DB_SIM, b.v[j], strlen(b.v[j]), id,
			    idn, MDB_NODUPDATA) < 0;
		i += c <= 0;
		j += c >= 0;
	}
	terms_free(&a);
	terms_free(&b);
	if (rc != 0)
		return -1;
	if (ofp != NULL && (nfp == NULL || strcmp(ofp, nfp) != 0) &&
	    sre_store_key_ok(ofp) &&
	    store_del(t, DB_FPS, ofp, strlen(ofp), id, idn) < 0)
		return -1;
	if (nfp != NULL && sre_store_key_ok(nfp) &&
	    store_put(t, DB_FPS, nfp, strlen(nfp), id, idn, MDB_NODUPDATA) < 0)
		return -1;
	ho = open_key(&ko, old, id);
	hn = open_key(&kn, rec, id);
	if (ho && (!hn || ko.n != kn.n || memcmp(ko.b, kn.b, ko.n) != 0) &&
	    store_del(t, DB_OPEN, ko.b, ko.n, NULL, 0) < 0)
		return -1;
	if (hn && store_put(t, DB_OPEN, kn.b, kn.n, "", 0, 0) < 0)
		return -1;
	return 0;
}

/* ---- memory ----------------------------------------------------------- */

struct newest {
	int max, n;
	jv out;
};

/* Walking back: the newest first. */
static int
newest_fn(struct scan *s, void *ctx)
{
	struct newest *w = ctx;

	if (w->n >= w->max)
		return 1;
	w->out = jv_array_append(w->out, jv_string_sized(s->v.mv_data,
	    (int)s->v.mv_size));
	w->n++;
	return 0;
}

jv
sre_txn_fingerprint_incidents(struct sre_txn *t, const char *fp, int max)
{
	struct newest w = { max, 0, jv_array() };
	jv rev;
	int i;

	if (!sre_store_key_ok(fp)) {
		store_badkey(t, "fingerprint", fp);
		jv_free(w.out);
		return jv_invalid();
	}
	/* The newest max, by id: walk back, then put them in id order. */
	if (store_scan(t, DB_FPS, SCAN_DUPS_BACK, fp, strlen(fp), 0, newest_fn,
	    &w) < 0) {
		jv_free(w.out);
		return jv_invalid();
	}
	rev = jv_array();
	for (i = w.n - 1; i >= 0; i--)
		rev = jv_array_append(rev, jv_array_get(jv_copy(w.out), i));
	jv_free(w.out);
	return rev;
}

/* How many incidents carry term: -1 on error. */
static long long
term_df(struct sre_txn *t, MDB_cursor *c, const char *term)
{
	MDB_val k = { strlen(term), (void *)(uintptr_t)term }, v;
	size_t count;
	int r, rc;

	if ((r = store_step(t, c, &k, &v, MDB_SET)) <= 0)
		return r;
	if ((rc = LMDB(mdb_cursor_count(c, &count))) != 0)
		return store_dberr(t, rc, "similarity");
	return (long long)count;
}

static double
term_weight(const char *term, long long df, long long n)
{
	double w = log(1.0 + (double)n / (double)df);

	return term[0] == 'f' ? 2 * w : w;
}

struct hit {
	const char *id;		/* borrowed from the transaction's pages */
	size_t n;
	int term;
	double w2;
};

struct cand {
	size_t first, count;	/* its hits */
	double dot, score;
};

static int
cmp_hit(const void *a, const void *b)
{
	const struct hit *x = a, *y = b;
	size_t n = x->n < y->n ? x->n : y->n;
	int c = memcmp(x->id, y->id, n);

	if (c != 0)
		return c;
	if (x->n != y->n)
		return x->n < y->n ? -1 : 1;
	return x->term - y->term;
}

/* Candidates: the higher dot product (or score) first, then the newer
 * (greater) id.  ctx: the hits. */
static int
cmp_cand_by(const void *a, const void *b, const struct hit *hits,
    int by_score)
{
	const struct cand *x = a, *y = b;
	double kx = by_score ? x->score : x->dot;
	double ky = by_score ? y->score : y->dot;
	const struct hit *hx = &hits[x->first], *hy = &hits[y->first];

	if (kx != ky)
		return kx > ky ? -1 : 1;
	return -cmp_hit(hx, hy);
}

static int
cmp_cand_dot(const void *a, const void *b, void *ctx)
{
	return cmp_cand_by(a, b, ctx, 0);
}

static int
cmp_cand_score(const void *a, const void *b, void *ctx)
{
	return cmp_cand_by(a, b, ctx, 1);
}

/* The norm of a candidate's own term vector. */
static int
cand_norm(struct sre_txn *t, MDB_cursor *c, jv rec, long long n, double *out)
{
	struct terms ts;
	double sum = 0;
	size_t i;

	if (terms_of(rec, &ts) < 0)
		return sre_txn_fail(t, EX_OSERR, "out of memory");
	for (i = 0; i < ts.n; i++) {
		long long df = term_df(t, c, ts.v[i]);
		double w;

		if (df < 0) {
			terms_free(&ts);
			return -1;
		}
		if (df == 0 || df > DF_MAX)
			continue;
		w = term_weight(ts.v[i], df, n);
		sum += w * w;
	}
	terms_free(&ts);
	*out = sqrt(sum);
	return 0;
}

static jv
copy_member(jv out, jv rec, const char *name)
{
	jv m;

	/* An index entry whose record is gone (a damaged store) gives
	 * null: nothing to copy. */
	if (jv_get_kind(rec) != JV_KIND_OBJECT)
		return out;
	m = jv_object_get(jv_copy(rec), jv_string(name));

	if (jv_is_valid(m) && jv_get_kind(m) != JV_KIND_NULL)
		return jv_object_set(out, jv_string(name), m);
	jv_free(m);
	return out;
}

/* The hits of one query term: the incidents that carry it. */
struct hits {
	struct hit *v;
	size_t n, cap;
	const char *exclude;
	int term;
	double w2;
};

static int
hit_fn(struct scan *s, void *ctx)
{
	struct hits *hs = ctx;
	const char *ex = hs->exclude;

	if (ex != NULL && s->v.mv_size == strlen(ex) &&
	    memcmp(s->v.mv_data, ex, s->v.mv_size) == 0)
		return 0;
	if (hs->n == hs->cap) {
		struct hit *h = sre_grow(hs->v, &hs->cap, sizeof(*h), 64);

		if (h == NULL)
			return sre_txn_fail(s->t, EX_OSERR, "out of memory");
		hs->v = h;
	}
	hs->v[hs->n].id = s->v.mv_data;
	hs->v[hs->n].n = s->v.mv_size;
	hs->v[hs->n].term = hs->term;
	hs->v[hs->n].w2 = hs->w2;
	hs->n++;
	return 0;
}

jv
sre_txn_similar(struct sre_txn *t, jv q, const char *exclude, int max)
{
	struct terms qt;
	struct hits hs = { NULL, 0, 0, exclude, 0, 0 };
	struct hit *hits;
	struct cand *cands = NULL;
	size_t nhits, ncands = 0, i, j, top;
	double qnorm = 0;
	long long n;
	MDB_cursor *c = NULL;
	jv out = jv_array();
	int rc;

	if (terms_of(q, &qt) < 0) {
		sre_txn_fail(t, EX_OSERR, "out of memory");
		goto fail;
	}
	if ((n = sre_txn_incident_count(t)) < 0 ||
	    store_cursor(t, DB_SIM, &c) < 0)
		goto fail;
	for (i = 0; i < qt.n; i++) {
		long long df = term_df(t, c, qt.v[i]);
		double w;

		if (df < 0)
			goto fail;
		if (df == 0 || df > DF_MAX)
			continue;
		w = term_weight(qt.v[i], df, n);
		qnorm += w * w;
		hs.term = (int)i;
		hs.w2 = w * w;
		if (store_scan(t, DB_SIM, SCAN_DUPS, qt.v[i],
		    strlen(qt.v[i]), 0, hit_fn, &hs) < 0)
			goto fail;
	}
	hits = hs.v;
	nhits = hs.n;
	if (nhits == 0)
		goto done;
	qsort(hits, nhits, sizeof(*hits), cmp_hit);
	if ((cands = calloc(nhits, sizeof(*cands))) == NULL) {
		sre_txn_fail(t, EX_OSERR, "out of memory");
		goto fail;
	}
	for (i = 0; i < nhits; i = j) {
		cands[ncands].first = i;
		for (j = i; j < nhits && hits[j].n == hits[i].n &&
		    memcmp(hits[j].id, hits[i].id, hits[i].n) == 0; j++)
			cands[ncands].dot += hits[j].w2;
		cands[ncands].count = j - i;
		ncands++;
	}
	qsort_r(cands, ncands, sizeof(*cands), cmp_cand_dot, hits);
	top = (size_t)max * 4 + 16;
	if (top > ncands)
		top = ncands;
	for (i = 0; i < top; i++) {
		const struct hit *h = &hits[cands[i].first];
		jv rec = store_get_json(t, DB_INCIDENTS, h->id, h->n);
		double dn = 0;

		if (!jv_is_valid(rec))
			goto fail;
		rc = cand_norm(t, c, rec, n, &dn);
		jv_free(rec);
		if (rc < 0)
			goto fail;
		cands[i].score = dn > 0 && qnorm > 0 ?
		    cands[i].dot / (sqrt(qnorm) * dn) : 0;
		if (cands[i].score > 1)
			cands[i].score = 1;
	}
	qsort_r(cands, top, sizeof(*cands), cmp_cand_score, hits);
	for (i = 0; i < top && (int)i < max; i++) {
		const struct hit *h = &hits[cands[i].first];
		jv rec = store_get_json(t, DB_INCIDENTS, h->id, h->n);
		jv o = jv_object(), shared = jv_array();

		if (!jv_is_valid(rec)) {
			jv_free(o);
			jv_free(shared);
			goto fail;
		}
		for (j = 0; j < cands[i].count; j++)
			shared = jv_array_append(shared, jv_string(
			    qt.v[hits[cands[i].first + j].term]));
		o = jv_object_set(o, jv_string("incident"),
		    jv_string_sized(h->id, (int)h->n));
		o = jv_object_set(o, jv_string("score"),
		    jv_number(round(cands[i].score * 1000) / 1000));
		o = jv_object_set(o, jv_string("shared"), shared);
		o = copy_member(o, rec, "fingerprint");
		o = copy_member(o, rec, "outcome");
		o = copy_member(o, rec, "summary");
		o = copy_member(o, rec, "proposal");
		o = copy_member(o, rec, "root_cause");
		jv_free(rec);
		out = jv_array_append(out, o);
	}
done:
	if (c != NULL)
		mdb_cursor_close(c);
	free(hs.v);
	free(cands);
	terms_free(&qt);
	return out;
fail:
	if (c != NULL)
		mdb_cursor_close(c);
	free(hs.v);
	free(cands);
	terms_free(&qt);
	jv_free(out);
	if (t->ex == 0)
		sre_txn_fail(t, EX_SOFTWARE, "similarity search failed");
	return jv_invalid();
}

