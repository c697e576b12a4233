/*
 * event.h: the event envelope of sre-events(7), on libjq's jv values.
 *
 * jv ownership is libjq's: a function consumes the jv it is given and
 * returns a new reference, except where a comment says "Borrows".  The
 * accessors below borrow and never abort on a wrong kind: telemetry and
 * events are untrusted, and libjq asserts on accessors of the wrong kind.
 *
 * Time and ids can be pinned for golden tests: SRE_NOW (epoch ms) fixes
 * sre_now_ms(); SRE_SEED (an integer) makes ids a deterministic sequence.
 */
#ifndef SRE_EVENT_H
#define SRE_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include <jv.h>

#include "clock.h"

#define SRE_EVENT_VERSION 1
#define SRE_ID_LEN 26		/* ULID: 10 chars of time, 16 of randomness */

/*
 * Write a new unique id into out (at least SRE_ID_LEN + 1 bytes): a ULID,
 * Crockford base32, sortable by creation time.
 */
void sre_id_new(char *out);

/*
 * A new event object with the envelope filled in: v, type, id, incident
 * (left out when NULL), ts_ms (sre_now_ms()) and source (the tool name).
 * Borrows its string arguments.
 */
jv sre_event_new(const char *type, const char *incident);

/* Non-zero when events of this type carry an incident id. */
int sre_event_type_has_incident(const char *type);

/* Non-zero for the types sre-events(7) defines. */
int sre_event_type_known(const char *type);

/*
 * Parse one line as a JSON object.  Returns the object, or jv_invalid()
 * with a message in err naming what is wrong (not JSON, not an object).
 */
jv sre_json_object(const char *line, size_t len, char *err, size_t errlen);

/*
 * Check an event's envelope.  Borrows ev.  Returns 0 when valid, or -1
 * with a message naming the field in err.  Unknown fields and unknown
 * types are accepted (they are passed on untouched).  The confidence of
 * a diagnosis or verdict, when present, must be a number from 0 to 1.
 */
int sre_event_check(jv ev, char *err, size_t errlen);

/*
 * The one member getter: borrows obj (of any kind) and returns its member
 * key as a new reference, or jv_invalid() when obj is not an object or has
 * no such member (a member that is JSON null comes back as jv_null()).
 */
jv sre_jv_get(jv obj, const char *key);

/*
 * Borrowing accessors: the string of a string member (NULL when missing or
 * of another kind; valid while obj lives), an integral number member as
 * int64 (0 and -1 returned when missing, not a number or not integral), a
 * number member as double.  obj may be of any kind.
 */
const char *sre_jv_str(jv obj, const char *key);
int sre_jv_int(jv obj, const char *key, int64_t *out);
int sre_jv_num(jv obj, const char *key, double *out);

/*
 * The compact one-line JSON text of v, in a malloc'd string the caller
 * frees, its length in *len (len may be NULL).  Consumes v.  NULL when
 * out of memory.
 */
char *sre_jv_dump(jv v, size_t *len);

#endif
