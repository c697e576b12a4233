/*
 * envset.h: read and set one KEY=VALUE line of an environment file (a
 * service's config.env), changing only the bytes of the value: comments,
 * blank lines, order, quotes and line endings stay as they were.
 *
 * Lines are "KEY=VALUE", optionally indented or prefixed with "export ";
 * lines starting with '#' are comments.  A value in double or single
 * quotes keeps its quotes.
 */
#ifndef SRE_ENVSET_H
#define SRE_ENVSET_H

#include <stddef.h>

/* Non-zero for a key of letters, digits and '_' not starting with a
 * digit, at most 128 bytes. */
int sre_env_key_ok(const char *key);

/* Non-zero for a value of at most 4096 bytes without a control
 * character (sre_catalog_text_ok: no CR, LF, \v, \f, U+2028...). */
int sre_env_value_ok(const char *value);

/*
 * The value of key (quotes removed) in a malloc'd string in *value: 1
 * when found (the last line that sets it), 0 when not, -1 when out of
 * memory.
 */
int sre_env_get(const char *text, size_t len, const char *key,
    char **value);

/*
 * A copy of text with every line that sets key given value (in the
 * line's quotes, if any); a missing key is appended as KEY=VALUE with the
 * file's line ending.  The copy is malloc'd and NUL terminated.  Returns
 * 0, or -1 with a message in err (bad key or value, a quote inside a
 * quoted value, out of memory).
 */
int sre_env_set(const char *text, size_t len, const char *key,
    const char *value, char **out, size_t *outlen, char *err,
    size_t errlen);

#endif
