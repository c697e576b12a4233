/*
 * mac.h: authenticated control events (sre-events(7), "mac").
 *
 * The control events, `diagnosis`, `verdict` and `action`, choose what is
 * committed to production configuration, so each carries a MAC from the
 * tool that issued it: member "mac", 64 lowercase hex digits, the
 * HMAC-SHA-512-256 (libsodium's crypto_auth) of the event's canonical
 * form.  The canonical form is the event without its "mac" member, dumped
 * compactly with the keys of every object sorted (libjq's JV_PRINT_SORTED),
 * so member order and re-serialisation do not matter; any changed member
 * does.
 *
 *	struct sre_mac_key key;
 *	if ((ex = sre_mac_key_load(&key, &opt.c, err, sizeof(err))) != EX_OK)
 *		... report err, exit ex ...
 *	ev = sre_mac_sign(&key, ev);		(issuers)
 *	if (sre_mac_check(&key, ev, why, sizeof(why)) < 0)
 *		sre_stream_reject(s, "%s: ignored", why);	(verifiers)
 *
 * The key: SRE_CONTROL_KEY (64 hex digits) when set, else the file
 * control.key in the state directory (64 hex digits and a newline),
 * created on first use with mode 0600 from libsodium's random source.
 */
#ifndef SRE_MAC_H
#define SRE_MAC_H

#include <stddef.h>

#include <jv.h>

#include "opt.h"

#define SRE_MAC_KEY_FILE	"control.key"
#define SRE_MAC_KEY_BYTES	32	/* crypto_auth_KEYBYTES */
#define SRE_MAC_BYTES		32	/* crypto_auth_BYTES */

struct sre_mac_key {
	unsigned char k[SRE_MAC_KEY_BYTES];
};

/*
 * Load the key: SRE_CONTROL_KEY, else <state dir>/control.key, made (and
 * the state directory with it) when missing.  Returns EX_OK; EX_CONFIG
 * with a message in err when the variable or the file's content is not 64
 * hex digits, or the file is not a regular file or is readable or writable
 * by group or others; EX_CANTCREAT or EX_IOERR when it cannot be made or
 * read; EX_SOFTWARE when libsodium cannot start.
 */
int sre_mac_key_load(struct sre_mac_key *key, const struct sre_common *c,
    char *err, size_t errlen);

/* Parse 64 hex digits (nothing else) into key: 0, or -1. */
int sre_mac_key_parse(struct sre_mac_key *key, const char *hex);

/* Non-zero for the control types: diagnosis, verdict, action. */
int sre_mac_control(const char *type);

/*
 * The tools that issue events of a control type, for messages: "sre-guard",
 * "sre-brain or sre-cag"; NULL for other types.
 */
const char *sre_mac_issuers(const char *type);

/* Non-zero when source (may be NULL) issues events of this control type. */
int sre_mac_issuer(const char *type, const char *source);

/* (The three above, in mac-type.c, need no libsodium.) */

/*
 * Sign ev (consumed): any "mac" member is replaced by the MAC of the rest.
 * Returns the signed event, or jv_invalid() when ev is not an object or
 * memory ran out.
 */
jv sre_mac_sign(const struct sre_mac_key *key, jv ev);

/*
 * Verify ev's "mac" against its canonical form (borrows ev): 0 when it
 * verifies (compared in constant time), -1 when it is missing, is not 64
 * hex digits or does not verify, with the reason in why.
 */
int sre_mac_verify(const struct sre_mac_key *key, jv ev, char *why,
    size_t whylen);

/*
 * The check verifiers make (borrows ev): a control event whose source is
 * one of its type's issuers and whose MAC verifies.  0, or -1 with why
 * naming the event and the reason, e.g. "verdict not signed by
 * sre-guard", "verdict from sre-guard: mac does not verify (altered, or
 * signed with another key)", "verdict from sre-scout, not from sre-guard".
 * Events of other types give -1 too ("not a control event").
 */
int sre_mac_check(const struct sre_mac_key *key, jv ev, char *why,
    size_t whylen);

#endif
