/*
 * anon.h: stable placeholders for what telemetry must not carry off the
 * machine, and the way back.
 *
 *	struct sre_anon *a = sre_anon_new();
 *	sre_anon_service(a, "pricing-engine");		-> "svc-1"
 *	char *t = sre_anon_text(a, "upstream pricing-engine failed: "
 *	    "read tcp 10.42.3.17:43122", 500);
 *		-> "upstream svc-1 failed: read tcp ip-1"
 *	char *back = sre_anon_restore(a, "svc-1 is the origin");
 *		-> "pricing-engine is the origin"
 *	sre_anon_free(a);
 *
 * What is replaced in text, in this order: the service names registered
 * (anywhere, between non-alphanumeric characters), e-mail addresses
 * (email-N), URLs (url-N), IPv4 and IPv6 addresses with their ports
 * (ip-N), host names with a dot (host-N), and token-like words: UUIDs,
 * hex runs, long digit runs, words mixing letters and digits, known key
 * prefixes (sk-, ghp_, xox, AKIA...), and the word after "Bearer"
 * (id-N or secret-N).  The same original always gets the same
 * placeholder within one sre_anon, so a reader can still follow which
 * service is which; placeholders are numbered in order of first sight.
 *
 * Restoring replaces whole placeholder words (svc-1 but not svc-12 for
 * svc-1) by their originals; unknown placeholders stay as they are.
 *
 * Memory is bounded: at most SRE_ANON_MAX originals; beyond that every
 * new one becomes "redacted" (and cannot be restored).
 */
#ifndef SRE_ANON_H
#define SRE_ANON_H

#include <stddef.h>

#define SRE_ANON_MAX 4096

struct sre_anon;

/* A new, empty mapping; NULL when out of memory. */
struct sre_anon *sre_anon_new(void);

/* Free; accepts NULL. */
void sre_anon_free(struct sre_anon *a);

/*
 * Register a service name and return its placeholder (borrowed, valid
 * while a lives); the same name gives the same placeholder.  NULL when
 * name is empty or memory ran out.
 */
const char *sre_anon_service(struct sre_anon *a, const char *name);

/*
 * Map s as an identifier whatever it looks like (incident ids) and return
 * its placeholder id-N (borrowed); NULL when s is empty or memory ran out.
 */
const char *sre_anon_id(struct sre_anon *a, const char *s);

/*
 * The text with everything above replaced, cut to at most max bytes
 * (0: no limit) at a character boundary.  A malloc'd string the caller
 * frees; NULL when out of memory.
 */
char *sre_anon_text(struct sre_anon *a, const char *text, size_t max);

/* The text with placeholders turned back into their originals.
 * malloc'd; NULL when out of memory. */
char *sre_anon_restore(const struct sre_anon *a, const char *text);

/* The original of exactly this placeholder (borrowed), or NULL. */
const char *sre_anon_original(const struct sre_anon *a,
    const char *placeholder);

/* Originals mapped so far. */
size_t sre_anon_count(const struct sre_anon *a);

#endif
