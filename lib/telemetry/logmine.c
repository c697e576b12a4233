/*
 * logmine.c: online log template mining in the spirit of Drain (He et al.,
 * "Drain: An Online Log Parsing Approach with Fixed Depth Tree", ICWS
 * 2017), with regex-free maskers, bounded memory and stable ids; and the
 * Loghub-style header format parser.  Contracts are in logmine.h.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "logmine.h"

#define WILD "<*>"
#define WILD_LEN 3

/* ---- character classes ---------------------------------------------- */

enum {
	C_DIGIT = 0x01,
	C_ALPHA = 0x02,
	C_HEX = 0x04,
	C_SPACE = 0x08,
	C_NUMSEP = 0x10, /* may join the parts of a number: . : , / _ + - */
	C_OPEN = 0x20, /* stripped before a token's core */
	C_CLOSE = 0x40, /* stripped after a token's core */
	C_UPPER = 0x80,
};

/*
 * The class of each byte, a constant table so that miners in different
 * threads share nothing mutable.  Control bytes (NUL included) and DEL
 * split tokens like white space; bytes >= 0x80 (UTF-8) are punctuation.
 * Opening bytes: ( [ { < " ' ` ~ =; closing: ) ] } > " ' ` , ; : . ! ? =;
 * number separators: . : , / _ + -.
 */
static const unsigned char ctab[256] = {
    0x08,
    0x08,
    0x08,
    0x08,
    0x08,
    0x08,
    0x08,
    0x08,
    0x08,
    0x08,
    0x08,
    0x08,
    0x08,
    0x08,
    0x08,
    0x08,
    0x08,
    0x08,
    0x08,
    0x08,
    0x08,
    0x08,
    0x08,
    0x08,
    0x08,
    0x08,
    0x08,
    0x08,
    0x08,
    0x08,
    0x08,
    0x08,
    0x08,
    0x40,
    0x60,
    0x00,
    0x00,
    0x00,
    0x00,
    0x60,
    0x20,
    0x40,
    0x00,
    0x10,
    0x50,
    0x10,
    0x50,
    0x10,
    0x05,
    0x05,
    0x05,
    0x05,
    0x05,
    0x05,
    0x05,
    0x05,
    0x05,
    0x05,
    0x50,
    0x40,
    0x20,
    0x60,
    0x40,
    0x40,
    0x00,
    0x86,
    0x86,
    0x86,
    0x86,
    0x86,
    0x86,
    0x82,
    0x82,
    0x82,
    0x82,
    0x82,
    0x82,
    0x82,
    0x82,
    0x82,
    0x82,
    0x82,
    0x82,
    0x82,
    0x82,
    0x82,
    0x82,
    0x82,
    0x82,
    0x82,
    0x82,
    0x20,
    0x00,
    0x40,
    0x00,
    0x10,
    0x60,
    0x06,
    0x06,
    0x06,
    0x06,
    0x06,
    0x06,
    0x02,
    0x02,
    0x02,
    0x02,
    0x02,
    0x02,
    0x02,
    0x02,
    0x02,
    0x02,
    0x02,
    0x02,
    0x02,
    0x02,
    0x02,
    0x02,
    0x02,
    0x02,
    0x02,
    0x02,
    0x20,
    0x00,
    0x40,
    0x20,
    0x08,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
};

/* White space as a regular expression's \s sees it. */
#define FMT_SPACE(c)                                                           \
	((c) == ' ' || ((unsigned char)(c) >= 9 && (unsigned char)(c) <= 13))
#define IS(c, cls) (ctab[(unsigned char)(c)] & (cls))
#define ALNUM(c) IS(c, C_DIGIT | C_ALPHA)

/* ---- hashing ---------------------------------------------------------- */


/* A token's hash; 0 is kept for "wildcard". */
static uint64_t
tok_hash(const char *p, size_t n)
{
	uint64_t h = sre_fnv1a64(SRE_FNV64_BASIS, p, n);

	return h ? h : 1;
}

/* ---- masking ----------------------------------------------------------- */

/*
 * One token of the message in hand, masked: its bytes are in lm->mbuf at
 * off.  A var token (a "<*>" or a digit inside) goes down the wildcard
 * branch of the tree, as numbers do in Drain, and fills a template's
 * wildcard; a plain one (no "<*>") is a word.
 */
struct mtok {
	uint32_t off, len;
	uint64_t h;
	unsigned char wild; /* exactly "<*>" */
	unsigned char plain; /* no "<*>" inside */
	unsigned char var; /* a "<*>" or a digit inside */
};

static int
is_unit(const char *s, size_t n)
{
	static const char *const units[] = {"B", "KB", "MB", "GB", "TB", "PB",
	    "kB", "KiB", "MiB", "GiB", "TiB", "K", "M", "G", "k", "ms", "us",
	    "ns", "s", "sec", "secs", "min", "mins", "%", NULL};

	for (size_t i = 0; units[i]; i++)
		if (strlen(units[i]) == n && memcmp(units[i], s, n) == 0)
			return 1;
	return 0;
}

/* A UUID, 8-4-4-4-12 hex digits, at s (n bytes available)? */
static int
is_uuid(const char *s, size_t n)
{
	static const unsigned char grp[] = {8, 4, 4, 4, 12};
	size_t i = 0;

	if (n < 36)
		return 0;
	for (size_t g = 0; g < 5; g++) {
		for (size_t k = 0; k < grp[g]; k++, i++)
			if (!IS(s[i], C_HEX))
				return 0;
		if (g < 4 && s[i++] != '-')
			return 0;
	}
	return n == 36 || !ALNUM(s[36]);
}

/*
 * Is the core s[0..n) a number-like value as a whole: digits joined by
 * separators (IPv4:port, times, dates, floats, versions), an IPv6
 * address, or a run of hex groups (MAC addresses, hashes)?
 */
static int
whole_value(const char *s, size_t n, unsigned maskers)
{
	size_t digits = 0, hex = 0, alpha_hex = 0, colons = 0, other = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (IS(c, C_DIGIT))
			digits++;
		else if (IS(c, C_HEX))
			alpha_hex++;
		else if (IS(c, C_NUMSEP))
			colons += c == ':';
		else
			other++;
	}
	hex = digits + alpha_hex;
	if (digits == 0 || other)
		return 0;
	if (alpha_hex == 0)
		return (maskers &
		           (SRE_LOGMINE_MASK_NUM | SRE_LOGMINE_MASK_IP)) != 0;
	/* Hex letters: an IPv6 address or a long hex value. */
	if ((maskers & SRE_LOGMINE_MASK_IP) && colons >= 2 &&
	    (colons >= 5 || memmem(s, n, "::", 2)))
		return 1;
	return (maskers & SRE_LOGMINE_MASK_HEX) && hex >= 8;
}

/*
 * A host name: three or more labels of letters, digits, '-' and '_'
 * joined by dots, the last one a top-level domain of 2 to 6 lower-case
 * letters, then maybe ":port".  ("java.util.Map" ends in upper case.)
 */
static int
is_host(const char *s, size_t n)
{
	size_t dots = 0, label = 0, tld = 0, i;
	int tld_ok = 1;

	for (i = 0; i < n && s[i] != ':'; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '.') {
			if (label == 0)
				return 0;
			dots++;
			label = 0;
			tld = 0;
			tld_ok = 1;
			continue;
		}
		if (!ALNUM(c) && c != '-' && c != '_')
			return 0;
		label++;
		tld++;
		if (!(c >= 'a' && c <= 'z'))
			tld_ok = 0;
	}
	if (dots < 2 || label == 0 || !tld_ok || tld < 2 || tld > 6)
		return 0;
	if (i < n) {
		/* ":port" */
		if (i + 1 == n)
			return 0;
		for (i++; i < n; i++)
			if (!IS(s[i], C_DIGIT))
				return 0;
	}
	return 1;
}

/*
 * Masks one token in[0..n) into out (room for 3 * n + 3 bytes); returns
 * the output length.
 */
static size_t
mask_token(const char *in, size_t n, char *out, unsigned maskers)
{
	size_t a = 0, b = n, o = 0, i;

	if (maskers == 0) {
		memcpy(out, in, n);
		return n;
	}
	while (a < b && IS(in[a], C_OPEN))
		a++;
	while (b > a && IS(in[b - 1], C_CLOSE))
		b--;
	/* key=value: the value is what gets masked. */
	for (i = a; i < b &&
	     (ALNUM(in[i]) || in[i] == '_' || in[i] == '-' || in[i] == '.');
	     i++)
		;
	if (i > a && i + 1 < b && in[i] == '=') {
		a = i + 1;
		while (a < b && IS(in[a], C_OPEN) && in[a] != '<')
			a++;
	}
	/* "<1" and "~5": the comparison belongs to the value. */
	if (a > 0 &&
	    (in[a - 1] == '<' || in[a - 1] == '~' || in[a - 1] == '>') &&
	    a < b && IS(in[a], C_DIGIT) && (b == n || in[b] != '>'))
		a--;
	memcpy(out, in, a);
	o = a;
	if (a < b && (maskers & SRE_LOGMINE_MASK_URL) && b - a > 3 &&
	    memmem(in + a, b - a, "://", 3)) {
		memcpy(out + o, WILD, WILD_LEN);
		o += WILD_LEN;
		goto suffix;
	}
	if (a < b && (maskers & SRE_LOGMINE_MASK_PATH) && in[a] == '/' &&
	    memchr(in + a + 1, '/', b - a - 1)) {
		memcpy(out + o, WILD, WILD_LEN);
		o += WILD_LEN;
		goto suffix;
	}
	if (a < b && (maskers & SRE_LOGMINE_MASK_HOST) &&
	    is_host(in + a, b - a)) {
		memcpy(out + o, WILD, WILD_LEN);
		o += WILD_LEN;
		goto suffix;
	}
	if (a < b) {
		size_t s0 =
		    in[a] == '<' || in[a] == '~' || in[a] == '>' ? a + 1 : a;

		if (s0 < b && whole_value(in + s0, b - s0, maskers)) {
			memcpy(out + o, WILD, WILD_LEN);
			o += WILD_LEN;
			goto suffix;
		}
	}
	/* Piece by piece: alphanumeric runs and the bytes between them. */
	for (i = a; i < b;) {
		size_t j, digits = 0, alpha = 0, hexonly = 1, lead_alpha;
		int mask = 0;

		if (!ALNUM(in[i])) {
			out[o++] = in[i++];
			continue;
		}
		if ((maskers & SRE_LOGMINE_MASK_HEX) &&
		    is_uuid(in + i, b - i)) {
			j = i + 36;
			mask = 2;
			goto emit;
		}
		for (j = i; j < b && ALNUM(in[j]); j++) {
			if (IS(in[j], C_DIGIT))
				digits++;
			else
				alpha++;
			if (!IS(in[j], C_HEX))
				hexonly = 0;
		}
		if (digits == 0)
			goto literal;
		lead_alpha = 0;
		while (i + lead_alpha < j && IS(in[i + lead_alpha], C_ALPHA))
			lead_alpha++;
		if (alpha == 0 || IS(in[i], C_DIGIT)) {
			/* 123, 0x1f, 12ms, 3rd */
			if (maskers &
			    (alpha == 0 ? SRE_LOGMINE_MASK_NUM
			                : SRE_LOGMINE_MASK_NUM |
			                SRE_LOGMINE_MASK_HEX))
				mask = 2;
		} else if ((maskers & SRE_LOGMINE_MASK_HEX) &&
		    ((hexonly && j - i >= 8) || (j - i >= 8 && digits >= 2))) {
			/* a692162415ae, session ids */
			mask = 2;
		} else if ((maskers & SRE_LOGMINE_MASK_NUM) &&
		    lead_alpha + digits == j - i && digits >= 2) {
			/* node109: keep the word, mask the number */
			memcpy(out + o, in + i, lead_alpha);
			o += lead_alpha;
			i += lead_alpha;
			mask = 1;
		}
	emit:
		if (mask) {
			/* A sign before a number is part of it: blk_-42. */
			if (mask == 2 && i > a &&
			    (in[i - 1] == '-' || in[i - 1] == '+') &&
			    (i - 1 == a || !ALNUM(in[i - 2])) && o > a &&
			    out[o - 1] == in[i - 1])
				o--;
			/* Join "<*>.<*>", "<*>:<*>"...: one value. */
			if (o >= a + WILD_LEN + 1 && IS(out[o - 1], C_NUMSEP) &&
			    memcmp(out + o - 1 - WILD_LEN, WILD, WILD_LEN) == 0)
				o--;
			else {
				memcpy(out + o, WILD, WILD_LEN);
				o += WILD_LEN;
			}
			i = j;
			continue;
		}
	literal:
		memcpy(out + o, in + i, j - i);
		o += j - i;
		i = j;
	}
suffix:
	memcpy(out + o, in + b, n - b);
	return o + n - b;
}

/* ---- groups and the tree ------------------------------------------------ */

struct gtok {
	uint32_t off, len; /* into group->buf */
	uint64_t h; /* 0: wildcard */
	int plain; /* no "<*>" inside */
};

struct node;

struct group {
	uint64_t id;
	uint64_t count;
	uint64_t last; /* sequence of the last message */
	uint64_t born; /* creation sequence */
	size_t heap_i;
	struct node *leaf;
	size_t leaf_i;
	uint32_t ntok;
	struct gtok *tok;
	char *buf; /* token bytes */
	char *text; /* template text */
	size_t text_len;
	size_t bytes;
};

struct node {
	struct node *parent;
	uint64_t h; /* key token hash; 0 for the wildcard child */
	char *key;
	uint32_t key_len;
	uint32_t len_key; /* for a length node: the token count */
	struct node **kid;
	uint32_t nkid, kidcap;
	struct node *wild;
	struct group **grp;
	uint32_t ngrp, grpcap;
};

struct sre_logmine {
	struct sre_logmine_conf conf;
	unsigned char delim[256];
	unsigned levels; /* token levels: depth - 3 */
	struct node **bylen; /* max_tokens + 1 length nodes */
	struct group **heap; /* min-heap on (count, last) */
	size_t ngroups;
	uint64_t *idtab; /* open addressing: live ids, 0 empty */
	struct group **idgrp;
	size_t idcap;
	uint64_t seq;
	struct sre_logmine_stats st;
	/* scratch for one message */
	char *mbuf;
	size_t mcap;
	struct mtok *mt;
	unsigned char *posvar; /* max_tokens */
	struct cand *cand; /* candcap */
	uint64_t *hv; /* candcap + 1 */
	size_t candcap;
};

/* ---- the least-used heap ------------------------------------------------ */

static int
less(const struct group *x, const struct group *y)
{
	return x->count < y->count ||
	    (x->count == y->count && x->last < y->last);
}

static void
heap_set(struct sre_logmine *lm, size_t i, struct group *g)
{
	lm->heap[i] = g;
	g->heap_i = i;
}

static void
heap_up(struct sre_logmine *lm, size_t i)
{
	struct group *g = lm->heap[i];

	while (i > 0) {
		size_t p = (i - 1) / 2;

		if (!less(g, lm->heap[p]))
			break;
		heap_set(lm, i, lm->heap[p]);
		i = p;
	}
	heap_set(lm, i, g);
}

static void
heap_down(struct sre_logmine *lm, size_t i)
{
	struct group *g = lm->heap[i];
	size_t n = lm->ngroups;

	for (;;) {
		size_t l = 2 * i + 1, m = i;
		struct group *best = g;

		if (l < n && less(lm->heap[l], best))
			best = lm->heap[m = l];
		if (l + 1 < n && less(lm->heap[l + 1], best))
			best = lm->heap[m = l + 1];
		if (m == i)
			break;
		heap_set(lm, i, best);
		i = m;
	}
	heap_set(lm, i, g);
}

static void
heap_remove(struct sre_logmine *lm, struct group *g)
{
	size_t i = g->heap_i;
	struct group *m;

	lm->ngroups--;
	if (i == lm->ngroups)
		return;
	m = lm->heap[lm->ngroups];
	heap_set(lm, i, m);
	heap_up(lm, i);
	heap_down(lm, m->heap_i);
}

/* ---- the id table -------------------------------------------------------- */

static size_t
id_slot(const struct sre_logmine *lm, uint64_t id)
{
	size_t i = (size_t)(id * 0x9E3779B97F4A7C15ULL) & (lm->idcap - 1);

	while (lm->idtab[i] && lm->idtab[i] != id)
		i = (i + 1) & (lm->idcap - 1);
	return i;
}

static void
id_put(struct sre_logmine *lm, struct group *g)
{
	size_t i = id_slot(lm, g->id);

	lm->idtab[i] = g->id;
	lm->idgrp[i] = g;
}

static void
id_del(struct sre_logmine *lm, uint64_t id)
{
	size_t i = id_slot(lm, id), j = i;

	if (!lm->idtab[i])
		return;
	/* Backward-shift deletion keeps linear probing tombstone-free. */
	for (;;) {
		size_t k;

		lm->idtab[i] = 0;
		lm->idgrp[i] = NULL;
		for (;;) {
			j = (j + 1) & (lm->idcap - 1);
			if (!lm->idtab[j])
				return;
			k = (size_t)(lm->idtab[j] * 0x9E3779B97F4A7C15ULL) &
			    (lm->idcap - 1);
			if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
				continue;
			break;
		}
		lm->idtab[i] = lm->idtab[j];
		lm->idgrp[i] = lm->idgrp[j];
		i = j;
	}
}

/* ---- nodes -----------------------------------------------------------------
 */

static struct node *
node_new(struct sre_logmine *lm, struct node *parent, uint64_t h,
    const char *key, size_t key_len)
{
	struct node *n = calloc(1, sizeof(*n));

	if (n == NULL)
		return NULL;
	if (key_len) {
		n->key = malloc(key_len);
		if (n->key == NULL) {
			free(n);
			return NULL;
		}
		memcpy(n->key, key, key_len);
	}
	n->key_len = (uint32_t)key_len;
	n->h = h;
	n->parent = parent;
	lm->st.bytes += sizeof(*n) + key_len;
	return n;
}

static struct node *
node_find(const struct node *n, uint64_t h, const char *key, size_t len)
{
	for (uint32_t i = 0; i < n->nkid; i++) {
		struct node *k = n->kid[i];

		if (k->h == h && k->key_len == len &&
		    memcmp(k->key, key, len) == 0)
			return k;
	}
	return NULL;
}

static int
node_addkid(struct sre_logmine *lm, struct node *n, struct node *k)
{
	if (n->nkid == n->kidcap) {
		uint32_t cap = n->kidcap ? n->kidcap * 2 : 4;
		struct node **p = realloc(n->kid, cap * sizeof(*p));

		if (p == NULL)
			return -1;
		lm->st.bytes += (cap - n->kidcap) * sizeof(*p);
		n->kid = p;
		n->kidcap = cap;
	}
	n->kid[n->nkid++] = k;
	return 0;
}

static void
node_free(struct sre_logmine *lm, struct node *n)
{
	lm->st.bytes -= sizeof(*n) + n->key_len + n->kidcap * sizeof(*n->kid) +
	    n->grpcap * sizeof(*n->grp);
	free(n->key);
	free(n->kid);
	free(n->grp);
	free(n);
}

/* Frees n and its empty ancestors. */
static void
node_prune(struct sre_logmine *lm, struct node *n)
{
	while (n && n->nkid == 0 && n->wild == NULL && n->ngrp == 0) {
		struct node *p = n->parent;

		if (p == NULL)
			lm->bylen[n->len_key] = NULL;
		else if (p->wild == n)
			p->wild = NULL;
		else
			for (uint32_t i = 0; i < p->nkid; i++)
				if (p->kid[i] == n) {
					p->kid[i] = p->kid[--p->nkid];
					break;
				}
		node_free(lm, n);
		n = p;
	}
}

/* ---- groups ------------------------------------------------------------- */

static void
group_text(struct group *g)
{
	char *t = g->text;

	for (uint32_t i = 0; i < g->ntok; i++) {
		if (i)
			*t++ = ' ';
		if (g->tok[i].h == 0) {
			memcpy(t, WILD, WILD_LEN);
			t += WILD_LEN;
		} else {
			memcpy(t, g->buf + g->tok[i].off, g->tok[i].len);
			t += g->tok[i].len;
		}
	}
	*t = '\0';
	g->text_len = (size_t)(t - g->text);
}

static void
group_free(struct sre_logmine *lm, struct group *g)
{
	if (g == NULL)
		return;
	lm->st.bytes -= g->bytes;
	free(g->tok);
	free(g->buf);
	free(g->text);
	free(g);
}

static struct group *
group_new(struct sre_logmine *lm, const struct mtok *mt, uint32_t n)
{
	struct group *g = calloc(1, sizeof(*g));
	size_t bytes = 0, textcap;

	if (g == NULL)
		return NULL;
	for (uint32_t i = 0; i < n; i++)
		bytes += mt[i].len;
	/* A wildcard may later replace a shorter token in the text. */
	textcap = bytes + (size_t)n * (WILD_LEN + 1) + 1;
	g->tok = malloc((n ? n : 1) * sizeof(*g->tok));
	g->buf = malloc(bytes ? bytes : 1);
	g->text = malloc(textcap);
	if (g->tok == NULL || g->buf == NULL || g->text == NULL) {
		free(g->tok);
		free(g->buf);
		free(g->text);
		free(g);
		return NULL;
	}
	bytes = 0;
	for (uint32_t i = 0; i < n; i++) {
		memcpy(g->buf + bytes, lm->mbuf + mt[i].off, mt[i].len);
		g->tok[i].off = (uint32_t)bytes;
		g->tok[i].len = mt[i].len;
		g->tok[i].h = mt[i].wild ? 0 : mt[i].h;
		g->tok[i].plain = mt[i].plain;
		bytes += mt[i].len;
	}
	g->ntok = n;
	group_text(g);
	g->bytes = sizeof(*g) + n * sizeof(*g->tok) + bytes + textcap;
	lm->st.bytes += g->bytes;
	return g;
}

/* Detaches g from its leaf, the heap and the id table, then frees it. */
static void
group_drop(struct sre_logmine *lm, struct group *g)
{
	struct node *leaf = g->leaf;

	leaf->grp[g->leaf_i] = leaf->grp[--leaf->ngrp];
	leaf->grp[g->leaf_i]->leaf_i = g->leaf_i;
	heap_remove(lm, g);
	id_del(lm, g->id);
	group_free(lm, g);
	node_prune(lm, leaf);
}

static int
group_same(const struct group *x, const struct group *y)
{
	if (x->ntok != y->ntok)
		return 0;
	for (uint32_t i = 0; i < x->ntok; i++) {
		if (x->tok[i].h != y->tok[i].h)
			return 0;
		if (x->tok[i].h &&
		    (x->tok[i].len != y->tok[i].len ||
		        memcmp(x->buf + x->tok[i].off, y->buf + y->tok[i].off,
		            x->tok[i].len) != 0))
			return 0;
	}
	return 1;
}

/* ---- configuration and life cycle --------------------------------------- */

void
sre_logmine_conf_init(struct sre_logmine_conf *conf)
{
	memset(conf, 0, sizeof(*conf));
	conf->sim_threshold = 0.5;
	conf->depth = 4;
	conf->max_children = 100;
	conf->max_groups = 10000;
	conf->max_tokens = 256;
	conf->max_line = 65536;
	conf->max_bytes = 64u << 20;
	conf->maskers = SRE_LOGMINE_MASK_DEFAULT;
	conf->max_values = 3;
	conf->max_values_caps = 8;
}

struct sre_logmine *
sre_logmine_new(const struct sre_logmine_conf *conf)
{
	struct sre_logmine_conf def;
	struct sre_logmine *lm;
	size_t cap;

	sre_logmine_conf_init(&def);
	if (conf == NULL)
		conf = &def;
	lm = calloc(1, sizeof(*lm));
	if (lm == NULL)
		return NULL;
	lm->conf = *conf;
	if (lm->conf.sim_threshold == 0)
		lm->conf.sim_threshold = def.sim_threshold;
	if (lm->conf.depth == 0)
		lm->conf.depth = def.depth;
	if (lm->conf.max_children == 0)
		lm->conf.max_children = def.max_children;
	if (lm->conf.max_groups == 0)
		lm->conf.max_groups = def.max_groups;
	if (lm->conf.max_tokens == 0)
		lm->conf.max_tokens = def.max_tokens;
	if (lm->conf.max_values == 0)
		lm->conf.max_values = def.max_values;
	if (lm->conf.max_values_caps == 0)
		lm->conf.max_values_caps = def.max_values_caps;
	if (lm->conf.max_bytes == 0)
		lm->conf.max_bytes = def.max_bytes;
	if (lm->conf.max_line == 0)
		lm->conf.max_line = def.max_line;
	if (!(lm->conf.sim_threshold > 0 && lm->conf.sim_threshold <= 1) ||
	    lm->conf.depth < 3 || lm->conf.depth > 16 ||
	    lm->conf.max_children < 2 || lm->conf.max_tokens > 65536 ||
	    lm->conf.max_line > (1u << 28) ||
	    lm->conf.max_groups > ((size_t)1 << 30)) {
		free(lm);
		errno = EINVAL;
		return NULL;
	}
	lm->levels = lm->conf.depth - 3;
	if (lm->conf.delims)
		for (const char *p = lm->conf.delims; *p; p++)
			lm->delim[(unsigned char)*p] = 1;
	lm->conf.delims = NULL;
	for (cap = 16; cap < lm->conf.max_groups * 2; cap *= 2)
		;
	lm->idcap = cap;
	lm->mcap = 3 * lm->conf.max_line + 3 * lm->conf.max_tokens + 16;
	lm->bylen = calloc(lm->conf.max_tokens + 1, sizeof(*lm->bylen));
	lm->heap = calloc(lm->conf.max_groups, sizeof(*lm->heap));
	lm->idtab = calloc(cap, sizeof(*lm->idtab));
	lm->idgrp = calloc(cap, sizeof(*lm->idgrp));
	lm->mbuf = malloc(lm->mcap);
	lm->mt = calloc(lm->conf.max_tokens, sizeof(*lm->mt));
	lm->posvar = calloc(lm->conf.max_tokens, 1);
	if (!lm->bylen || !lm->heap || !lm->idtab || !lm->idgrp || !lm->mbuf ||
	    !lm->mt || !lm->posvar) {
		sre_logmine_free(lm);
		errno = ENOMEM;
		return NULL;
	}
	lm->st.bytes = sizeof(*lm) + lm->mcap +
	    (lm->conf.max_tokens + 1) * sizeof(*lm->bylen) +
	    lm->conf.max_groups * sizeof(*lm->heap) +
	    cap * (sizeof(*lm->idtab) + sizeof(*lm->idgrp)) +
	    lm->conf.max_tokens * (sizeof(*lm->mt) + 1);
	if (lm->st.bytes >= lm->conf.max_bytes) {
		/* The budget must leave room for some groups. */
		sre_logmine_free(lm);
		errno = EINVAL;
		return NULL;
	}
	return lm;
}

static void
tree_free(struct sre_logmine *lm, struct node *n)
{
	if (n == NULL)
		return;
	for (uint32_t i = 0; i < n->nkid; i++)
		tree_free(lm, n->kid[i]);
	tree_free(lm, n->wild);
	node_free(lm, n);
}

void
sre_logmine_free(struct sre_logmine *lm)
{
	if (lm == NULL)
		return;
	if (lm->heap)
		for (size_t i = 0; i < lm->ngroups; i++)
			group_free(lm, lm->heap[i]);
	if (lm->bylen)
		for (size_t i = 0; i <= lm->conf.max_tokens; i++)
			tree_free(lm, lm->bylen[i]);
	free(lm->bylen);
	free(lm->heap);
	free(lm->idtab);
	free(lm->idgrp);
	free(lm->mbuf);
	free(lm->mt);
	free(lm->posvar);
	free(lm->cand);
	free(lm->hv);
	free(lm);
}

/* ---- tokenizing -----------------------------------------------------------
 */

static int
is_sep(const struct sre_logmine *lm, unsigned char c)
{
	return IS(c, C_SPACE) || lm->delim[c];
}

/* Is mt[i] a wildcard that was a whole number, ready to take a unit? */
static int
unit_host(const char *mbuf, const struct mtok *t)
{
	const char *s = mbuf + t->off;
	size_t n = t->len;

	if (n < WILD_LEN || memcmp(s + n - WILD_LEN, WILD, WILD_LEN) != 0)
		return 0;
	for (size_t i = 0; i + WILD_LEN < n; i++)
		if (!IS(s[i], C_OPEN))
			return 0;
	return 1;
}

static void
tok_finish(struct mtok *t, const char *mbuf)
{
	const char *s = mbuf + t->off;
	int digit = 0;

	t->wild = t->len == WILD_LEN && memcmp(s, WILD, WILD_LEN) == 0;
	t->plain = memmem(s, t->len, WILD, WILD_LEN) == NULL;
	for (uint32_t i = 0; !digit && i < t->len; i++)
		if (IS(s[i], C_DIGIT))
			digit = 1;
	t->var = !t->plain || digit;
	t->h = tok_hash(s, t->len);
}

/* Is the word s[0..n) a month or weekday name, as dates spell them? */
static int
is_date_word(const char *s, size_t n)
{
	static const char *const names[] = {"Jan", "Feb", "Mar", "Apr", "May",
	    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec", "Mon", "Tue",
	    "Wed", "Thu", "Fri", "Sat", "Sun", "January", "February", "March",
	    "April", "June", "July", "August", "September", "October",
	    "November", "December", "Monday", "Tuesday", "Wednesday",
	    "Thursday", "Friday", "Saturday", "Sunday", NULL};

	while (n > 0 && (s[n - 1] == ',' || s[n - 1] == '.'))
		n--;
	if (n < 3 || !IS(s[0], C_ALPHA))
		return 0;
	for (size_t i = 0; names[i]; i++)
		if (strlen(names[i]) == n && memcmp(names[i], s, n) == 0)
			return 1;
	return 0;
}

/*
 * "at Fri Jul  1 07:57:30 2005": month and weekday names next to a
 * masked number are part of a date.  Right to left, so that "Fri" sees
 * the "Jul" masked just before.
 */
static void
mask_dates(struct sre_logmine *lm, uint32_t n)
{
	for (uint32_t i = n; i-- > 0;) {
		struct mtok *t = &lm->mt[i];

		if (!t->plain || !is_date_word(lm->mbuf + t->off, t->len))
			continue;
		if ((i + 1 < n && lm->mt[i + 1].wild) ||
		    (i > 0 && lm->mt[i - 1].wild)) {
			memcpy(lm->mbuf + t->off, WILD, WILD_LEN);
			t->len = WILD_LEN;
			tok_finish(t, lm->mbuf);
		}
	}
}

/*
 * A run of masked tokens is one value: "<*> <*> <*>" (a date, a list of
 * numbers) becomes "<*>", and so does a list of like ids "blk_<*>
 * blk_<*>", whatever its length.
 */
static uint32_t
collapse(struct sre_logmine *lm, uint32_t n)
{
	uint32_t k = 0;

	for (uint32_t i = 0; i < n; i++) {
		const struct mtok *t = &lm->mt[i];

		if (k > 0 && !t->plain && lm->mt[k - 1].h == t->h &&
		    lm->mt[k - 1].len == t->len)
			continue;
		lm->mt[k++] = *t;
	}
	return k;
}

/*
 * Splits and masks msg into lm->mbuf and lm->mt; returns the token count.
 */
static uint32_t
tokenize(struct sre_logmine *lm, const char *msg, size_t len)
{
	unsigned maskers = lm->conf.maskers;
	size_t i = 0, o = 0, maxt = lm->conf.max_tokens;
	uint32_t n = 0;
	int cut = 0;

	if (len > lm->conf.max_line) {
		len = lm->conf.max_line;
		cut = 1;
	}
	while (i < len) {
		size_t s, e;
		struct mtok *t;

		while (i < len && is_sep(lm, (unsigned char)msg[i]))
			i++;
		if (i == len)
			break;
		s = i;
		if (n + 1 == maxt) {
			/* The last token takes the rest of the line. */
			e = len;
			while (e > s && is_sep(lm, (unsigned char)msg[e - 1]))
				e--;
			for (size_t k = s; k < e; k++)
				if (is_sep(lm, (unsigned char)msg[k])) {
					cut = 1;
					break;
				}
		} else
			for (e = s;
			     e < len && !is_sep(lm, (unsigned char)msg[e]); e++)
				;
		i = e;
		t = &lm->mt[n];
		t->off = (uint32_t)o;
		t->len =
		    (uint32_t)mask_token(msg + s, e - s, lm->mbuf + o, maskers);
		if (n + 1 == maxt)
			/* The rest of the line: its separators become spaces.
			 */
			for (uint32_t k = 0; k < t->len; k++)
				if (is_sep(lm, (unsigned char)lm->mbuf[o + k]))
					lm->mbuf[o + k] = ' ';
		/* "12 ms", "(1.2 KB)": the unit joins its number. */
		if ((maskers & SRE_LOGMINE_MASK_UNIT) && n > 0 &&
		    unit_host(lm->mbuf, &lm->mt[n - 1])) {
			const char *u = lm->mbuf + o;
			size_t ul = t->len;

			while (ul > 0 && IS(u[ul - 1], C_CLOSE))
				ul--;
			if (ul > 0 && is_unit(u, ul)) {
				struct mtok *p = &lm->mt[n - 1];
				const char *ps = lm->mbuf + p->off;
				size_t sl = t->len - ul;

				/* Append the unit's closing bytes to p. */
				memmove(lm->mbuf + p->off + p->len, u + ul, sl);
				p->len += (uint32_t)sl;
				o = p->off + p->len;
				/* "(1.2 KB)" annotates a number: drop it. */
				if (p->len == WILD_LEN + 2 && ps[0] == '(' &&
				    ps[p->len - 1] == ')') {
					o = p->off;
					n--;
				} else
					tok_finish(p, lm->mbuf);
				continue;
			}
		}
		o += t->len;
		tok_finish(t, lm->mbuf);
		n++;
	}
	if (cut)
		lm->st.truncated++;
	if (maskers & SRE_LOGMINE_MASK_NUM)
		mask_dates(lm, n);
	return collapse(lm, n);
}

/* ---- the miner -------------------------------------------------------- */

static struct node *
tree_search(const struct sre_logmine *lm, uint32_t n)
{
	struct node *nd = lm->bylen[n];

	for (uint32_t i = 0; nd && i < lm->levels && i < n; i++) {
		const struct mtok *t = &lm->mt[i];
		struct node *k = NULL;

		if (!t->var)
			k = node_find(nd, t->h, lm->mbuf + t->off, t->len);
		nd = k ? k : nd->wild;
	}
	return nd;
}

/* Finds or makes the leaf for a new group with the message's tokens. */
static struct node *
tree_insert(struct sre_logmine *lm, uint32_t n)
{
	struct node *nd = lm->bylen[n];

	if (nd == NULL) {
		nd = lm->bylen[n] = node_new(lm, NULL, 0, NULL, 0);
		if (nd == NULL)
			return NULL;
		nd->len_key = n;
	}
	for (uint32_t i = 0; i < lm->levels && i < n; i++) {
		const struct mtok *t = &lm->mt[i];
		const char *key = lm->mbuf + t->off;
		struct node *k = NULL;
		uint32_t kids = nd->nkid + (nd->wild != NULL);
		int make_tok = 0;

		if (!t->var)
			k = node_find(nd, t->h, key, t->len);
		if (k) {
			nd = k;
			continue;
		}
		if (!t->var)
			make_tok = nd->wild ? kids < lm->conf.max_children
			                    : kids + 1 < lm->conf.max_children;
		if (make_tok) {
			k = node_new(lm, nd, t->h, key, t->len);
			if (k == NULL || node_addkid(lm, nd, k) < 0) {
				if (k)
					node_free(lm, k);
				node_prune(lm, nd);
				return NULL;
			}
		} else if (nd->wild)
			k = nd->wild;
		else {
			k = nd->wild = node_new(lm, nd, 0, NULL, 0);
			if (k == NULL) {
				node_prune(lm, nd);
				return NULL;
			}
		}
		nd = k;
	}
	return nd;
}

static void
fill(struct sre_logmine_match *out, const struct group *g)
{
	out->id = g->id;
	out->tmpl = g->text;
	out->tmpl_len = g->text_len;
	out->count = g->count;
	out->is_new = 0;
	out->changed = 0;
	out->merged = 0;
}

static int
add_new(struct sre_logmine *lm, uint32_t n, struct sre_logmine_match *out)
{
	struct group *g = group_new(lm, lm->mt, n);
	struct node *leaf;

	if (g == NULL)
		return -1;
	/* Evict first: it may prune the path the new group will take. */
	while (lm->ngroups > 0 &&
	    (lm->ngroups >= lm->conf.max_groups ||
	        lm->st.bytes > lm->conf.max_bytes)) {
		group_drop(lm, lm->heap[0]);
		lm->st.evicted++;
	}
	leaf = tree_insert(lm, n);
	if (leaf == NULL)
		goto fail;
	if (leaf->ngrp == leaf->grpcap) {
		uint32_t cap = leaf->grpcap ? leaf->grpcap * 2 : 2;
		struct group **p = realloc(leaf->grp, cap * sizeof(*p));

		if (p == NULL) {
			node_prune(lm, leaf);
			goto fail;
		}
		lm->st.bytes += (cap - leaf->grpcap) * sizeof(*p);
		leaf->grp = p;
		leaf->grpcap = cap;
	}
	g->id = sre_fnv1a64(SRE_FNV64_BASIS, g->text, g->text_len);
	while (g->id == 0 || lm->idtab[id_slot(lm, g->id)])
		g->id = sre_fnv1a64(SRE_FNV64_BASIS, &g->id, sizeof(g->id));
	g->count = 1;
	g->born = g->last = lm->seq;
	g->leaf = leaf;
	g->leaf_i = leaf->ngrp;
	leaf->grp[leaf->ngrp++] = g;
	lm->heap[lm->ngroups++] = g;
	heap_up(lm, lm->ngroups - 1);
	id_put(lm, g);
	lm->st.created++;
	if (out) {
		fill(out, g);
		out->is_new = 1;
	}
	return 0;
fail:
	group_free(lm, g);
	errno = ENOMEM;
	return -1;
}

/*
 * Does t[0..tn) fit the pattern p[0..pn), where each "<*>" of p stands
 * for any run of bytes?
 */
static int
glob_fit(const char *p, size_t pn, const char *t, size_t tn)
{
	size_t i = 0, j = 0, star_i = SIZE_MAX, star_j = 0;

	/* Bounded work: long tokens simply do not fit. */
	if (pn > 512 || tn > 512)
		return 0;
	/* Each "<*>" takes at least one byte: "rhost=" is not "rhost=<*>". */
	while (j < tn) {
		if (i + WILD_LEN <= pn && memcmp(p + i, WILD, WILD_LEN) == 0) {
			i += WILD_LEN;
			star_i = i;
			star_j = ++j;
		} else if (i < pn && p[i] == t[j]) {
			i++;
			j++;
		} else if (star_i != SIZE_MAX) {
			i = star_i;
			j = ++star_j;
		} else
			return 0;
	}
	return i == pn;
}

/*
 * How template token i of g compares with message token m: equal, a
 * wildcard, a soft mismatch (masked parts explain the difference:
 * "blk_<*>" and "<*>"), or a hard one (two different words).
 */
enum { T_EQ, T_WILD, T_SOFT, T_HARD };

static int
has_alpha(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (IS(s[i], C_ALPHA))
			return 1;
	return 0;
}

static int
cmp_tok(const char *ts, size_t tl, int tplain, uint64_t th, const char *ms,
    size_t ml, int mplain, uint64_t mh)
{
	if (th == 0 || mh == 0)
		return T_WILD;
	if (th == mh && tl == ml && memcmp(ts, ms, ml) == 0)
		return T_EQ;
	if (tplain && mplain)
		return T_HARD;
	if ((!tplain && glob_fit(ts, tl, ms, ml)) ||
	    (!mplain && glob_fit(ms, ml, ts, tl)))
		return T_SOFT;
	if (!tplain && !mplain) {
		/*
		 * Two values of different shapes ("rdd_<*>" and
		 * "broadcast_<*>_piece0") are one variable, unless one is
		 * the other plus more ("LOGIN(uid=<*>)" and "(uid=<*>)").
		 */
		size_t k = tl < ml ? tl : ml;

		if (memcmp(ts + tl - k, ms + ml - k, k) == 0 ||
		    memcmp(ts, ms, k) == 0)
			return T_HARD;
		return T_SOFT;
	}
	/* "()" against "(<*>)": an empty value. */
	if (!has_alpha(tplain ? ts : ms, tplain ? tl : ml))
		return T_SOFT;
	return T_HARD;
}

static int
tok_cmp(
    const struct group *g, uint32_t i, const char *mbuf, const struct mtok *m)
{
	const struct gtok *t = &g->tok[i];

	return cmp_tok(g->buf + t->off, t->len, t->plain, t->h, mbuf + m->off,
	    m->len, m->plain, m->h);
}

static int
gtok_cmp(const struct group *g, const struct group *o, uint32_t i)
{
	const struct gtok *t = &g->tok[i], *u = &o->tok[i];

	return cmp_tok(g->buf + t->off, t->len, t->plain, t->h, o->buf + u->off,
	    u->len, u->plain, u->h);
}

struct cand {
	struct group *g;
	uint32_t sim, par, hard;
	int join;
};

/* Scores g against the message: Drain's similarity, plus hard mismatches. */
static void
score(const struct sre_logmine *lm, struct group *g, uint32_t n, struct cand *c)
{
	c->g = g;
	c->sim = c->par = c->hard = 0;
	c->join = 0;
	for (uint32_t i = 0; i < n; i++)
		switch (tok_cmp(g, i, lm->mbuf, &lm->mt[i])) {
		case T_EQ:
			c->sim++;
			break;
		case T_WILD:
			c->par++;
			/* A masked token fills a wildcard. */
			if (lm->mt[i].var)
				c->sim++;
			break;
		case T_HARD:
			c->hard++;
			break;
		default:
			break;
		}
}

static int
better(const struct cand *x, const struct cand *best)
{
	return best == NULL || x->sim > best->sim ||
	    (x->sim == best->sim && x->par > best->par);
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * No group takes the message as it is, but the similar groups in cand
 * differ from it by words.  A word position is a variable when some
 * similar group already has a wildcard there, or when more than
 * max_values distinct words were seen there: then the groups differing
 * from the message only at such positions may join (marked c->join).
 * Below that count the words are kept as constants and the message
 * makes a group of its own: "SOCKS5"/"HTTPS", "root"/"admin" stay apart,
 * while user names soon outnumber the threshold and merge.  Returns the
 * best joinable candidate or NULL.
 */
static struct cand *
family(struct sre_logmine *lm, struct cand *cand, size_t nc, uint32_t n)
{
	struct cand *best = NULL;
	unsigned char *var = lm->posvar;

	for (uint32_t p = 0; p < n; p++) {
		const struct mtok *m = &lm->mt[p];
		size_t k = 0, distinct = 1;
		int caps;

		var[p] = 0;
		if (!m->plain)
			continue;
		for (size_t c = 0; c < nc; c++) {
			const struct gtok *t = &cand[c].g->tok[p];

			if (t->h == 0) {
				var[p] = 1;
				break;
			}
			lm->hv[k++] = t->h;
		}
		if (var[p])
			continue;
		lm->hv[k++] = m->h;
		qsort(lm->hv, k, sizeof(*lm->hv), cmp_u64);
		for (size_t i = 1; i < k; i++)
			distinct += lm->hv[i] != lm->hv[i - 1];
		caps = IS(lm->mbuf[m->off], C_UPPER);
		for (size_t c = 0; caps && c < nc; c++)
			caps =
			    IS(cand[c].g->buf[cand[c].g->tok[p].off], C_UPPER);
		var[p] = distinct >
		    (caps ? lm->conf.max_values_caps : lm->conf.max_values);
	}
	for (size_t c = 0; c < nc; c++) {
		struct group *g = cand[c].g;
		int ok = 1;

		for (uint32_t p = 0; ok && p < n; p++)
			if (!var[p] &&
			    tok_cmp(g, p, lm->mbuf, &lm->mt[p]) == T_HARD)
				ok = 0;
		cand[c].join = ok;
		if (ok && better(&cand[c], best))
			best = &cand[c];
	}
	return best;
}

/* Does a "<*>" of x[0..xn) straddle position k?  Then where it starts. */
static size_t
wild_at(const char *x, size_t xn, size_t k)
{
	for (size_t q = k >= WILD_LEN - 1 ? k - (WILD_LEN - 1) : 0; q < k; q++)
		if (q + WILD_LEN <= xn && q + WILD_LEN > k &&
		    memcmp(x + q, WILD, WILD_LEN) == 0)
			return q;
	return SIZE_MAX;
}

/*
 * The longest common prefix of x and y that ends with punctuation
 * ("rhost=", "blk_"), not inside a "<*>".
 */
static size_t
common_prefix(const char *x, size_t xn, const char *y, size_t yn)
{
	size_t k = 0, q;

	while (k < xn && k < yn && x[k] == y[k])
		k++;
	while (k > 0 && ALNUM(x[k - 1]))
		k--;
	if ((q = wild_at(x, xn, k)) != SIZE_MAX)
		k = q;
	return k;
}

/* The same for suffixes, which must start with punctuation. */
static size_t
common_suffix(const char *x, size_t xn, const char *y, size_t yn)
{
	size_t k = 0, q;

	while (k < xn && k < yn && x[xn - 1 - k] == y[yn - 1 - k])
		k++;
	while (k > 0 && ALNUM(x[xn - k]))
		k--;
	if (k > 0 && (q = wild_at(x, xn, xn - k)) != SIZE_MAX)
		k = xn - (q + WILD_LEN);
	return k;
}

/*
 * Template token i of g takes in the value s[0..n): unchanged when it
 * equals it or, as a pattern, covers it ("rhost=<*>" covers
 * "rhost=zummit.com"); else it keeps the common prefix and suffix that
 * end at punctuation around a new "<*>" ("user=root", "user=guest":
 * "user=<*>"), or becomes a wildcard.  Returns whether it changed.
 */
static int
generalize(struct group *g, uint32_t i, const char *s, size_t n)
{
	struct gtok *t = &g->tok[i];
	char *ts = g->buf + t->off;
	size_t pre, suf;

	if (t->h == 0)
		return 0;
	if (t->len == n && memcmp(ts, s, n) == 0)
		return 0;
	if (!t->plain && glob_fit(ts, t->len, s, n))
		return 0;
	pre = common_prefix(ts, t->len, s, n);
	suf = common_suffix(ts + pre, t->len - pre, s + pre, n - pre);
	if (pre + suf == 0 || pre + suf + WILD_LEN > t->len) {
		t->h = 0;
		return 1;
	}
	memmove(ts + pre + WILD_LEN, ts + t->len - suf, suf);
	memcpy(ts + pre, WILD, WILD_LEN);
	t->len = (uint32_t)(pre + WILD_LEN + suf);
	t->plain = 0;
	t->h = tok_hash(ts, t->len);
	return 1;
}

/* Merges o into g: g's template takes a wildcard wherever they differ. */
static void
absorb(struct sre_logmine *lm, struct group *g, struct group *o)
{
	for (uint32_t i = 0; i < g->ntok; i++) {
		const struct gtok *u = &o->tok[i];

		if (u->h == 0)
			g->tok[i].h = 0;
		else
			generalize(g, i, o->buf + u->off, u->len);
	}
	g->count += o->count;
	if (o->last > g->last)
		g->last = o->last;
	if (o->born < g->born) {
		/* The older id lives on. */
		uint64_t id = g->id;

		id_del(lm, id);
		id_del(lm, o->id);
		g->id = o->id;
		g->born = o->born;
		o->id = id;
		id_put(lm, g);
		id_put(lm, o);
	}
	if (lm->conf.on_merge)
		lm->conf.on_merge(lm->conf.merge_arg, o->id, g->id);
	group_drop(lm, o);
	lm->st.merged++;
}

/*
 * The message stands alone, but what it showed may have made variables
 * of some positions (lm->posvar): similar groups that differ from one
 * another only there merge, the older taking the younger.
 */
static void
regroup(struct sre_logmine *lm, struct cand *cand, size_t nc, uint32_t n)
{
	const unsigned char *var = lm->posvar;

	for (size_t c = 0; c < nc; c++)
		for (size_t d = 0; cand[c].g && d < nc; d++) {
			struct group *x = cand[c].g, *y = cand[d].g;
			uint32_t p;

			if (y == NULL || y == x || y->born < x->born)
				continue;
			for (p = 0; p < n; p++)
				if (!var[p] && gtok_cmp(x, y, p) == T_HARD)
					break;
			if (p < n)
				continue;
			absorb(lm, x, y);
			group_text(x);
			cand[d].g = NULL;
		}
}

static int
grow_scratch(struct sre_logmine *lm, size_t need)
{
	struct cand *c;
	uint64_t *h;
	size_t cap;

	if (need <= lm->candcap)
		return 0;
	cap = lm->candcap ? lm->candcap : 16;
	while (cap < need)
		cap *= 2;
	c = realloc(lm->cand, cap * sizeof(*c));
	if (c == NULL)
		return -1;
	lm->cand = c;
	h = realloc(lm->hv, (cap + 1) * sizeof(*h));
	if (h == NULL)
		return -1;
	lm->hv = h;
	lm->st.bytes += (cap - lm->candcap) * (sizeof(*c) + sizeof(*h));
	lm->candcap = cap;
	return 0;
}

int
sre_logmine_add(struct sre_logmine *lm, const char *msg, size_t len,
    struct sre_logmine_match *out)
{
	struct node *leaf;
	struct cand *best = NULL;
	struct group *g;
	size_t nc = 0;
	uint32_t n;
	unsigned merged = 0;
	int changed = 0;

	if (msg == NULL)
		len = 0;
	lm->seq++;
	lm->st.lines++;
	n = tokenize(lm, msg, len);
	leaf = tree_search(lm, n);
	if (leaf && leaf->ngrp) {
		if (grow_scratch(lm, leaf->ngrp) < 0) {
			errno = ENOMEM;
			return -1;
		}
		for (uint32_t k = 0; k < leaf->ngrp; k++) {
			struct cand *c = &lm->cand[nc];

			score(lm, leaf->grp[k], n, c);
			if (n && (double)c->sim < lm->conf.sim_threshold * n)
				continue;
			if (c->hard == 0 && better(c, best))
				best = c;
			nc++;
		}
		if (best) {
			/* Cand entries may move below; keep the pick. */
			struct cand pick = *best;

			lm->cand[0] = pick;
			best = &lm->cand[0];
			nc = 1;
			best->join = 1;
		} else if (nc) {
			best = family(lm, lm->cand, nc, n);
			if (best == NULL)
				regroup(lm, lm->cand, nc, n);
		}
	}
	if (best == NULL)
		return add_new(lm, n, out);
	g = best->g;
	for (uint32_t i = 0; i < n; i++)
		if (lm->mt[i].wild) {
			changed |= g->tok[i].h != 0;
			g->tok[i].h = 0;
		} else
			changed |= generalize(
			    g, i, lm->mbuf + lm->mt[i].off, lm->mt[i].len);
	g->count++;
	g->last = lm->seq;
	for (size_t c = 0; c < nc; c++)
		if (lm->cand[c].join && lm->cand[c].g != g) {
			absorb(lm, g, lm->cand[c].g);
			merged++;
			changed = 1;
		}
	if (changed) {
		struct node *lf = g->leaf;

		/* A template that became another one's twin merges with it. */
		for (uint32_t k = 0; k < lf->ngrp; k++) {
			struct group *o = lf->grp[k];

			if (o != g && group_same(o, g)) {
				absorb(lm, g, o);
				merged++;
				break;
			}
		}
		group_text(g);
	}
	heap_down(lm, g->heap_i);
	if (out) {
		fill(out, g);
		out->changed = changed;
		out->merged = merged;
	}
	return 0;
}

size_t
sre_logmine_mask(
    struct sre_logmine *lm, const char *msg, size_t len, char *buf, size_t cap)
{
	uint64_t cut = lm->st.truncated;
	uint32_t n = tokenize(lm, msg, msg ? len : 0);
	size_t o = 0;

	lm->st.truncated = cut;

	for (uint32_t i = 0; i < n; i++) {
		const struct mtok *t = &lm->mt[i];

		if (i) {
			if (o + 1 < cap)
				buf[o] = ' ';
			o++;
		}
		if (o < cap)
			memcpy(buf + o, lm->mbuf + t->off,
			    o + t->len < cap ? t->len : cap - 1 - o);
		o += t->len;
	}
	buf[o < cap ? o : cap - 1] = '\0';
	return o;
}

int
sre_logmine_get(
    const struct sre_logmine *lm, uint64_t id, struct sre_logmine_match *out)
{
	size_t i;

	if (id == 0 || (i = id_slot(lm, id), lm->idtab[i] == 0)) {
		errno = ENOENT;
		return -1;
	}
	fill(out, lm->idgrp[i]);
	return 0;
}

int
sre_logmine_foreach(const struct sre_logmine *lm,
    int (*fn)(const struct sre_logmine_match *m, void *arg), void *arg)
{
	for (size_t i = 0; i < lm->ngroups; i++) {
		struct sre_logmine_match m;
		int r;

		fill(&m, lm->heap[i]);
		if ((r = fn(&m, arg)) != 0)
			return r;
	}
	return 0;
}

void
sre_logmine_stats(const struct sre_logmine *lm, struct sre_logmine_stats *st)
{
	*st = lm->st;
	st->groups = lm->ngroups;
}

void
sre_logmine_id_str(uint64_t id, char buf[17])
{
	static const char hx[] = "0123456789abcdef";

	for (int i = 15; i >= 0; i--, id >>= 4)
		buf[i] = hx[id & 15];
	buf[16] = '\0';
}

/* ---- header formats ------------------------------------------------------ */

enum { E_LIT, E_WS, E_FIELD, E_OPEN, E_CLOSE };

struct elem {
	int kind;
	char c; /* E_LIT */
	int opt; /* E_OPEN: optional */
	size_t other; /* E_OPEN: index of its E_CLOSE */
	size_t field; /* E_FIELD: index; E_OPEN: first field */
	size_t field_end; /* E_OPEN: one past its last field */
};

struct sre_logmine_format {
	struct elem *e;
	size_t ne;
	char **name;
	size_t nfields;
};

static void
ferr(char *err, size_t errlen, const char *msg, size_t pos)
{
	if (errlen > 0)
		snprintf(err, errlen, "%s at offset %zu", msg, pos);
	errno = EINVAL;
}

void
sre_logmine_format_free(struct sre_logmine_format *f)
{
	if (f == NULL)
		return;
	for (size_t i = 0; i < f->nfields; i++)
		free(f->name[i]);
	free(f->name);
	free(f->e);
	free(f);
}

struct sre_logmine_format *
sre_logmine_format_new(const char *fmt, char *err, size_t errlen)
{
	struct sre_logmine_format *f;
	size_t n = strlen(fmt), stack[32], depth = 0;

	if (errlen > 0)
		err[0] = '\0';
	f = calloc(1, sizeof(*f));
	if (f == NULL)
		return NULL;
	/* At most one element per format byte. */
	f->e = calloc(n + 1, sizeof(*f->e));
	f->name = calloc(n / 2 + 1, sizeof(*f->name));
	if (f->e == NULL || f->name == NULL)
		goto nomem;
	for (size_t i = 0; i < n;) {
		struct elem *e = &f->e[f->ne];
		unsigned char c = (unsigned char)fmt[i];

		if (c == '<') {
			const char *close = strchr(fmt + i + 1, '>');
			size_t len;

			if (close == NULL) {
				ferr(err, errlen, "unterminated <", i);
				goto bad;
			}
			len = (size_t)(close - fmt) - i - 1;
			if (len == 0 || memchr(fmt + i + 1, '<', len)) {
				ferr(err, errlen, "bad field name", i);
				goto bad;
			}
			for (size_t k = 0; k < f->nfields; k++)
				if (strlen(f->name[k]) == len &&
				    memcmp(f->name[k], fmt + i + 1, len) == 0) {
					ferr(err, errlen, "duplicate field", i);
					goto bad;
				}
			f->name[f->nfields] = strndup(fmt + i + 1, len);
			if (f->name[f->nfields] == NULL)
				goto nomem;
			e->kind = E_FIELD;
			e->field = f->nfields++;
			f->ne++;
			i += len + 2;
		} else if (FMT_SPACE(c)) {
			while (i < n && FMT_SPACE(fmt[i]))
				i++;
			e->kind = E_WS;
			f->ne++;
		} else if (c == '(') {
			if (depth == sizeof(stack) / sizeof(stack[0])) {
				ferr(err, errlen, "groups nested too deep", i);
				goto bad;
			}
			e->kind = E_OPEN;
			e->field = f->nfields;
			stack[depth++] = f->ne++;
			i++;
		} else if (c == ')') {
			struct elem *o;

			if (depth == 0) {
				ferr(err, errlen, "unbalanced )", i);
				goto bad;
			}
			o = &f->e[stack[--depth]];
			o->other = f->ne;
			o->field_end = f->nfields;
			e->kind = E_CLOSE;
			i++;
			if (i < n && fmt[i] == '?') {
				o->opt = 1;
				i++;
			}
			f->ne++;
		} else {
			if (c == '\\') {
				if (i + 1 == n) {
					ferr(err, errlen, "trailing \\", i);
					goto bad;
				}
				c = (unsigned char)fmt[++i];
			}
			e->kind = E_LIT;
			e->c = (char)c;
			f->ne++;
			i++;
		}
	}
	if (depth) {
		ferr(err, errlen, "unbalanced (", n);
		goto bad;
	}
	if (f->nfields == 0) {
		ferr(err, errlen, "no <field>", 0);
		goto bad;
	}
	return f;
nomem:
	sre_logmine_format_free(f);
	errno = ENOMEM;
	return NULL;
bad:
	sre_logmine_format_free(f);
	errno = EINVAL;
	return NULL;
}

size_t
sre_logmine_format_nfields(const struct sre_logmine_format *f)
{
	return f->nfields;
}

const char *
sre_logmine_format_field_name(const struct sre_logmine_format *f, size_t i)
{
	return i < f->nfields ? f->name[i] : NULL;
}

int
sre_logmine_format_field_index(
    const struct sre_logmine_format *f, const char *name)
{
	for (size_t i = 0; i < f->nfields; i++)
		if (strcmp(f->name[i], name) == 0)
			return (int)i;
	return -1;
}

struct fmatch {
	const struct sre_logmine_format *f;
	const char *s;
	size_t n;
	struct sre_logmine_field *out;
	long budget;
};

static int
fmatch_at(struct fmatch *m, size_t ei, size_t si)
{
	const struct sre_logmine_format *f = m->f;

	for (;;) {
		const struct elem *e;

		if (--m->budget < 0)
			return 0;
		if (ei == f->ne)
			return si == m->n;
		e = &f->e[ei];
		switch (e->kind) {
		case E_LIT:
			if (si == m->n || m->s[si] != e->c)
				return 0;
			ei++;
			si++;
			continue;
		case E_CLOSE:
			ei++;
			continue;
		case E_OPEN:
			if (!e->opt) {
				ei++;
				continue;
			}
			if (fmatch_at(m, ei + 1, si))
				return 1;
			for (size_t k = e->field; k < e->field_end; k++) {
				m->out[k].p = NULL;
				m->out[k].len = 0;
			}
			ei = e->other + 1;
			continue;
		case E_WS: {
			size_t k = si;

			while (k < m->n && FMT_SPACE(m->s[k]))
				k++;
			/* Greedy, as \s+ is. */
			for (; k > si; k--)
				if (fmatch_at(m, ei + 1, k))
					return 1;
			return 0;
		}
		case E_FIELD: {
			size_t nx = ei + 1;
			struct sre_logmine_field *o = &m->out[e->field];

			while (nx < f->ne && f->e[nx].kind == E_CLOSE)
				nx++;
			if (nx == f->ne) {
				/* The last field takes the rest. */
				o->p = m->s + si;
				o->len = m->n - si;
				return fmatch_at(m, nx, m->n);
			}
			/* Lazy, as .*? is. */
			for (size_t k = si; k <= m->n; k++) {
				if (f->e[nx].kind == E_LIT &&
				    (k == m->n || m->s[k] != f->e[nx].c))
					continue;
				if (f->e[nx].kind == E_WS &&
				    (k == m->n || !FMT_SPACE(m->s[k])))
					continue;
				o->p = m->s + si;
				o->len = k - si;
				if (fmatch_at(m, ei + 1, k))
					return 1;
				if (m->budget < 0)
					return 0;
			}
			return 0;
		}
		}
		return 0;
	}
}

int
sre_logmine_format_parse(const struct sre_logmine_format *f, const char *line,
    size_t len, struct sre_logmine_field *fields)
{
	struct fmatch m;

	while (len > 0 && FMT_SPACE(line[0])) {
		line++;
		len--;
	}
	while (len > 0 && FMT_SPACE(line[len - 1]))
		len--;
	for (size_t k = 0; k < f->nfields; k++) {
		fields[k].p = NULL;
		fields[k].len = 0;
	}
	m.f = f;
	m.s = line;
	m.n = len;
	m.out = fields;
	m.budget = 200000;
	return fmatch_at(&m, 0, 0) ? 0 : -1;
}
