/* anon.c: placeholders for names, addresses and tokens (see anon.h). */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "anon.h"
#include "hash.h"

enum kind { A_SVC, A_EMAIL, A_URL, A_IP, A_HOST, A_ID, A_SECRET, A_NKIND };
static const char *const prefix[A_NKIND] = {
	"svc", "email", "url", "ip", "host", "id", "secret"
};

struct ent {
	char *orig, *ph;
};

struct sre_anon {
	struct ent *e;
	size_t n, cap;
	uint32_t *by_orig, *by_ph;	/* hash tables of index + 1 */
	size_t hcap;
	unsigned count[A_NKIND];
	size_t *svc;		/* entries that are services, by length */
	size_t nsvc, capsvc;
};

/* A growable output string. */
struct buf {
	char *p;
	size_t n, cap;
	int oom;
};

static void
put(struct buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->n + n + 1 > b->cap) {
		size_t nc = b->cap ? b->cap : 128;
		char *np;

		while (nc < b->n + n + 1)
			nc *= 2;
		if ((np = realloc(b->p, nc)) == NULL) {
			b->oom = 1;
			return;
		}
		b->p = np;
		b->cap = nc;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

static char *
done(struct buf *b)
{
	if (b->oom) {
		free(b->p);
		return NULL;
	}
	if (b->p == NULL)
		return strdup("");
	return b->p;
}

static uint64_t
hash(const char *s, size_t n)
{
	return sre_fnv1a64(SRE_FNV64_BASIS, s, n);
}

struct sre_anon *
sre_anon_new(void)
{
	return calloc(1, sizeof(struct sre_anon));
}

void
sre_anon_free(struct sre_anon *a)
{
	size_t i;

	if (a == NULL)
		return;
	for (i = 0; i < a->n; i++) {
		free(a->e[i].orig);
		free(a->e[i].ph);
	}
	free(a->e);
	free(a->by_orig);
	free(a->by_ph);
	free(a->svc);
	free(a);
}

size_t
sre_anon_count(const struct sre_anon *a)
{
	return a->n;
}

static long
find(const struct sre_anon *a, const uint32_t *tab, int ph, const char *s,
    size_t n)
{
	size_t i;

	if (a->hcap == 0)
		return -1;
	for (i = hash(s, n) & (a->hcap - 1); tab[i] != 0;
	    i = (i + 1) & (a->hcap - 1)) {
		const char *k = ph ? a->e[tab[i] - 1].ph : a->e[tab[i] - 1].orig;

		if (strncmp(k, s, n) == 0 && k[n] == '\0')
			return tab[i] - 1;
	}
	return -1;
}

static int
rehash(struct sre_anon *a)
{
	size_t nc = a->hcap ? a->hcap * 2 : 64, i, j;
	uint32_t *bo = calloc(nc, sizeof(*bo)), *bp = calloc(nc, sizeof(*bp));

	if (bo == NULL || bp == NULL) {
		free(bo);
		free(bp);
		return -1;
	}
	for (i = 0; i < a->n; i++) {
		for (j = hash(a->e[i].orig, strlen(a->e[i].orig)) & (nc - 1);
		    bo[j] != 0; j = (j + 1) & (nc - 1))
			;
		bo[j] = (uint32_t)i + 1;
		for (j = hash(a->e[i].ph, strlen(a->e[i].ph)) & (nc - 1);
		    bp[j] != 0; j = (j + 1) & (nc - 1))
			;
		bp[j] = (uint32_t)i + 1;
	}
	free(a->by_orig);
	free(a->by_ph);
	a->by_orig = bo;
	a->by_ph = bp;
	a->hcap = nc;
	return 0;
}

/* The placeholder of original s (n bytes) of kind k; "redacted" when
 * full; NULL when out of memory. */
static const char *
map(struct sre_anon *a, enum kind k, const char *s, size_t n)
{
	long i = find(a, a->by_orig, 0, s, n);
	char ph[32];
	struct ent *e;

	if (i >= 0)
		return a->e[i].ph;
	if (a->n >= SRE_ANON_MAX)
		return "redacted";
	if ((a->n + 1) * 2 > a->hcap && rehash(a) < 0)
		return NULL;
	if (a->n == a->cap) {
		size_t nc = a->cap ? a->cap * 2 : 32;
		struct ent *ne = realloc(a->e, nc * sizeof(*ne));

		if (ne == NULL)
			return NULL;
		a->e = ne;
		a->cap = nc;
	}
	snprintf(ph, sizeof(ph), "%s-%u", prefix[k], ++a->count[k]);
	e = &a->e[a->n];
	if ((e->orig = strndup(s, n)) == NULL)
		return NULL;
	if ((e->ph = strdup(ph)) == NULL) {
		free(e->orig);
		return NULL;
	}
	a->n++;
	/* index both ways (the table has room: checked above) */
	{
		size_t j;

		for (j = hash(s, n) & (a->hcap - 1); a->by_orig[j] != 0;
		    j = (j + 1) & (a->hcap - 1))
			;
		a->by_orig[j] = (uint32_t)a->n;
		for (j = hash(ph, strlen(ph)) & (a->hcap - 1);
		    a->by_ph[j] != 0; j = (j + 1) & (a->hcap - 1))
			;
		a->by_ph[j] = (uint32_t)a->n;
	}
	return e->ph;
}

const char *
sre_anon_service(struct sre_anon *a, const char *name)
{
	long before = (long)a->n;
	const char *ph;
	size_t i, len;

	if (name == NULL || (len = strlen(name)) == 0)
		return NULL;
	ph = map(a, A_SVC, name, len);
	if (ph == NULL || (long)a->n == before)
		return ph;
	/* keep the services sorted longest first for sre_anon_text */
	if (a->nsvc == a->capsvc) {
		size_t nc = a->capsvc ? a->capsvc * 2 : 16;
		size_t *ns = realloc(a->svc, nc * sizeof(*ns));

		if (ns == NULL)
			return ph;
		a->svc = ns;
		a->capsvc = nc;
	}
	for (i = a->nsvc; i > 0 &&
	    strlen(a->e[a->svc[i - 1]].orig) < len; i--)
		a->svc[i] = a->svc[i - 1];
	a->svc[i] = a->n - 1;
	a->nsvc++;
	return ph;
}

const char *
sre_anon_id(struct sre_anon *a, const char *s)
{
	if (s == NULL || *s == '\0')
		return NULL;
	return map(a, A_ID, s, strlen(s));
}

const char *
sre_anon_original(const struct sre_anon *a, const char *placeholder)
{
	long i = find(a, a->by_ph, 1, placeholder, strlen(placeholder));

	return i >= 0 ? a->e[i].orig : NULL;
}

static int
alnum(int c)
{
	return isalnum((unsigned char)c);
}

/* Pass 1: registered service names between non-alphanumerics. */
static char *
services(struct sre_anon *a, const char *t)
{
	struct buf b = { 0 };
	const char *p = t;

	while (*p != '\0') {
		size_t i, best = 0;
		const char *ph = NULL;

		if (p == t || !alnum(p[-1]))
			for (i = 0; i < a->nsvc; i++) {
				const struct ent *e = &a->e[a->svc[i]];
				size_t n = strlen(e->orig);

				if (strncmp(p, e->orig, n) == 0 &&
				    !alnum(p[n])) {
					best = n;
					ph = e->ph;
					break;
				}
			}
		if (ph != NULL) {
			put(&b, ph, strlen(ph));
			p += best;
		} else {
			put(&b, p, 1);
			p++;
		}
	}
	return done(&b);
}

static int
separator(int c)
{
	return c == '\0' || isspace((unsigned char)c) ||
	    strchr("\"'`()[]{}<>,;=|", c) != NULL;
}

static int
is_placeholder(const char *s, size_t n)
{
	int k;

	for (k = 0; k < A_NKIND; k++) {
		size_t pl = strlen(prefix[k]), i;

		if (n > pl + 1 && strncmp(s, prefix[k], pl) == 0 &&
		    s[pl] == '-') {
			for (i = pl + 1; i < n && isdigit((unsigned char)s[i]);)
				i++;
			if (i == n)
				return 1;
		}
	}
	return n == 8 && strncmp(s, "redacted", 8) == 0;
}

/* An IPv4 address (and :port) at s: its length, or 0. */
static size_t
ipv4_at(const char *s, size_t n)
{
	size_t i = 0;
	int part;

	for (part = 0; part < 4; part++) {
		size_t d = 0;

		while (i < n && isdigit((unsigned char)s[i]) && d < 3) {
			i++;
			d++;
		}
		if (d == 0 || (i < n && isdigit((unsigned char)s[i])))
			return 0;
		if (part < 3) {
			if (i >= n || s[i] != '.')
				return 0;
			i++;
		}
	}
	if (i < n && (s[i] == '.' || alnum(s[i])))
		return 0;
	if (i + 1 < n && s[i] == ':' && isdigit((unsigned char)s[i + 1])) {
		i++;
		while (i < n && isdigit((unsigned char)s[i]))
			i++;
	}
	return i;
}

static int
ipv6(const char *s, size_t n)
{
	size_t i, colons = 0, hexl = 0;

	if (n < 3)
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] == ':')
			colons++;
		else if (isxdigit((unsigned char)s[i])) {
			if (!isdigit((unsigned char)s[i]))
				hexl++;
		} else if (s[i] != '.' && s[i] != '[' && s[i] != ']' &&
		    s[i] != '%')
			return 0;
	}
	return colons >= 2 && (hexl > 0 || strstr(s, "::") != NULL);
}

static int
host(const char *s, size_t n)
{
	static const char *const tlds[] = {
		"com", "net", "org", "io", "dev", "local", "internal", "svc",
		"cluster", "lan", "corp", "cloud", "app", "co", "uk", "de",
		"fr", "eu", "us", "ai", "example", "test", "localhost", NULL
	};
	size_t i, labels = 1, last = 0;
	int k;

	for (i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (i == 0 || s[i - 1] == '.')
				return 0;
			labels++;
			last = i + 1;
		} else if (isupper((unsigned char)s[i]) || s[i] == '_' ||
		    (!islower((unsigned char)s[i]) &&
		    !isdigit((unsigned char)s[i]) && s[i] != '-'))
			return 0;
	}
	if (labels < 2 || last >= n)
		return 0;
	for (i = last; i < n; i++)
		if (!islower((unsigned char)s[i]))
			return 0;
	if (n - last < 2)
		return 0;
	if (labels >= 3)
		return 1;
	for (k = 0; tlds[k] != NULL; k++)
		if (strlen(tlds[k]) == n - last &&
		    strncmp(s + last, tlds[k], n - last) == 0)
			return 1;
	return 0;
}

static int
secretish(const char *s, size_t n)
{
	static const char *const pre[] = {
		"sk-", "sk_", "pk_", "rk_", "ghp_", "gho_", "ghs_", "ghu_",
		"github_pat_", "xoxb-", "xoxp-", "xoxa-", "AKIA", "ASIA",
		"glpat-", "eyJ", "AIza", NULL
	};
	size_t i, letters = 0, digits = 0;
	int k;

	for (k = 0; pre[k] != NULL; k++) {
		size_t pl = strlen(pre[k]);

		if (n > pl + 6 && strncmp(s, pre[k], pl) == 0)
			return 1;
	}
	if (n < 20 || s[0] == '/')
		return 0;
	for (i = 0; i < n; i++) {
		if (isalpha((unsigned char)s[i]))
			letters++;
		else if (isdigit((unsigned char)s[i]))
			digits++;
		else if (s[i] != '-' && s[i] != '_' && s[i] != '+' &&
		    s[i] != '/' && s[i] != '.')
			return 0;
	}
	return letters >= 4 && digits >= 4;
}

/* Hex ids: trace and span ids, UUIDs. */
static int
hexid(const char *s, size_t n)
{
	size_t i, digits = 0, dashes = 0;

	for (i = 0; i < n; i++) {
		if (s[i] == '-')
			dashes++;
		else if (!isxdigit((unsigned char)s[i]))
			return 0;
		else if (isdigit((unsigned char)s[i]))
			digits++;
	}
	return n - dashes >= 8 && digits > 0 && (dashes == 0 ||
	    (n == 36 && dashes == 4));
}

static int
idish(const char *s, size_t n)
{
	size_t i, digits = 0, letters = 0, hex = 0, run = 0, maxrun = 0;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (isdigit(c)) {
			digits++;
			if (++run > maxrun)
				maxrun = run;
		} else {
			run = 0;
			if (isalpha(c))
				letters++;
		}
		if (isxdigit(c))
			hex++;
	}
	if (maxrun >= 6)
		return 1;	/* long numbers: ids, account numbers */
	if (hex == n && n >= 8 && digits > 0)
		return 1;	/* hex ids, trace and span ids */
	if (n >= 8 && digits >= 2 && letters >= 1)
		return 1;	/* mixed ids: Q-3F2A91C0, blk_1234 */
	return 0;
}

/* Is the word before position p (in text t) one that announces a
 * secret? */
static int
after_secret_word(const char *t, const char *p)
{
	static const char *const words[] = {
		"bearer", "token", "password", "passwd", "secret", "apikey",
		"api_key", "key", NULL
	};
	const char *e = p, *s;
	int k;

	while (e > t && (isspace((unsigned char)e[-1]) || e[-1] == '=' ||
	    e[-1] == ':'))
		e--;
	for (s = e; s > t && (alnum(s[-1]) || s[-1] == '_');)
		s--;
	for (k = 0; words[k] != NULL; k++)
		if ((size_t)(e - s) == strlen(words[k]) &&
		    strncasecmp(s, words[k], (size_t)(e - s)) == 0)
			return 1;
	return 0;
}

/* Pass 2: tokens. */
static char *
tokens(struct sre_anon *a, const char *t)
{
	struct buf b = { 0 };
	const char *p = t;

	while (*p != '\0') {
		const char *s = p, *ph = NULL;
		size_t n, trim;

		if (separator(*p)) {
			put(&b, p, 1);
			p++;
			continue;
		}
		while (!separator(*p))
			p++;
		/* a URL runs to white space or a quote, '=' and all */
		if (memmem(s, (size_t)(p - s), "://", 3) != NULL)
			while (*p != '\0' && !isspace((unsigned char)*p) &&
			    strchr("\"'`<>", *p) == NULL)
				p++;
		n = (size_t)(p - s);
		/* trailing punctuation stays as it is */
		for (trim = n; trim > 0 && strchr(".:!?-", s[trim - 1]) != NULL;)
			trim--;
		if (trim == 0 || is_placeholder(s, trim)) {
			put(&b, s, n);
			continue;
		}
		if (after_secret_word(t, s) && trim >= 6)
			ph = map(a, A_SECRET, s, trim);
		else if (memmem(s, trim, "://", 3) != NULL)
			ph = map(a, A_URL, s, trim);
		else if (memchr(s, '@', trim) != NULL &&
		    memchr(memchr(s, '@', trim), '.',
		    trim - (size_t)((const char *)memchr(s, '@', trim) - s)) !=
		    NULL)
			ph = map(a, A_EMAIL, s, trim);
		else if (ipv6(s, trim))
			ph = map(a, A_IP, s, trim);
		else if (hexid(s, trim))
			ph = map(a, A_ID, s, trim);
		else if (secretish(s, trim))
			ph = map(a, A_SECRET, s, trim);
		else if (host(s, trim))
			ph = map(a, A_HOST, s, trim);
		if (ph != NULL) {
			put(&b, ph, strlen(ph));
			put(&b, s + trim, n - trim);
			continue;
		}
		/* Inside the token: IPv4 addresses, then id-like parts
		 * between '-', '/', ':' and '>' when the whole is not. */
		if (idish(s, trim) && !memchr(s, '/', trim) &&
		    !memchr(s, ':', trim) && !memchr(s, '.', trim)) {
			if ((ph = map(a, A_ID, s, trim)) != NULL) {
				put(&b, ph, strlen(ph));
				put(&b, s + trim, n - trim);
				continue;
			}
		}
		{
			size_t i = 0;

			while (i < n) {
				size_t ip = 0, j;

				if (i == 0 || (!isdigit((unsigned char)s[i - 1]) &&
				    s[i - 1] != '.'))
					ip = ipv4_at(s + i, n - i);
				if (ip > 0) {
					if ((ph = map(a, A_IP, s + i, ip)) != NULL)
						put(&b, ph, strlen(ph));
					i += ip;
					continue;
				}
				/* a part up to the next / : or > */
				for (j = i; j < n && strchr("/:>", s[j]) == NULL;)
					j++;
				if (j > i && idish(s + i, j - i) &&
				    (ph = map(a, A_ID, s + i, j - i)) != NULL) {
					put(&b, ph, strlen(ph));
					i = j;
				} else {
					put(&b, s + i, j > i ? j - i : 1);
					i = j > i ? j : i + 1;
				}
			}
		}
	}
	return done(&b);
}

char *
sre_anon_text(struct sre_anon *a, const char *text, size_t max)
{
	char *s1, *s2;
	size_t n;

	if (text == NULL)
		return strdup("");
	if ((s1 = services(a, text)) == NULL)
		return NULL;
	s2 = tokens(a, s1);
	free(s1);
	if (s2 == NULL)
		return NULL;
	if (max > 0 && (n = strlen(s2)) > max) {
		n = max;
		/* do not cut a UTF-8 sequence */
		while (n > 0 && ((unsigned char)s2[n] & 0xc0) == 0x80)
			n--;
		s2[n] = '\0';
	}
	return s2;
}

char *
sre_anon_restore(const struct sre_anon *a, const char *text)
{
	struct buf b = { 0 };
	const char *p = text;

	if (text == NULL)
		return strdup("");
	while (*p != '\0') {
		int k, hit = 0;

		if (p == text || !alnum(p[-1]))
			for (k = 0; k < A_NKIND && !hit; k++) {
				size_t pl = strlen(prefix[k]), i;
				long e;

				if (strncmp(p, prefix[k], pl) != 0 ||
				    p[pl] != '-' ||
				    !isdigit((unsigned char)p[pl + 1]))
					continue;
				for (i = pl + 1; isdigit((unsigned char)p[i]);)
					i++;
				if (alnum(p[i]))
					continue;
				if ((e = find(a, a->by_ph, 1, p, i)) < 0)
					continue;
				put(&b, a->e[e].orig, strlen(a->e[e].orig));
				p += i;
				hit = 1;
			}
		if (!hit) {
			put(&b, p, 1);
			p++;
		}
	}
	return done(&b);
}
