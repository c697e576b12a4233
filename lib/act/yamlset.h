/*
 * yamlset.h: read and set one scalar in a YAML document, changing only
 * the bytes of that value: comments, indentation, quoting style and every
 * other byte stay as they were.  The scalar is found with libyaml, whose
 * marks locate it (they count characters; we map them to bytes).
 *
 * A path names a node from the root of the first document:
 *
 *	spec.replicas
 *	spec.template.metadata.annotations."sre-space/restartedAt"
 *	spec.template.spec.containers[0].image
 *	spec.template.spec.containers[name=quote-api].image
 *
 * Keys are separated by dots; a key holding '.', '[', ']' or '"' is
 * written in double quotes (with \" and \\ inside).  [N] is an item of a
 * sequence, [KEY=VALUE] the first item that is a mapping whose KEY is the
 * scalar VALUE.
 *
 *	char *out, err[256];
 *	size_t outlen;
 *	if (sre_yaml_set(text, len, "spec.replicas", "4", 0, &out, &outlen,
 *	    err, sizeof(err)) < 0)
 *		... err ...
 *
 * Also here: a YAML to jv conversion for configuration files (policies).
 */
#ifndef SRE_YAMLSET_H
#define SRE_YAMLSET_H

#include <stddef.h>

#include <jv.h>

/* sre_yaml_set flags */
#define SRE_YAML_CREATE	0x1	/* add missing mapping keys at the end of
				   the deepest block mapping on the path */
#define SRE_YAML_STRING	0x2	/* the value is a string: quote it where a
				   plain scalar would read as a number, a
				   boolean, null or a time */

/*
 * The scalar at path, decoded (quotes and escapes resolved) in a malloc'd
 * string in *value.  Returns 1 when found, 0 when the path leads nowhere,
 * -1 with a message in err for bad YAML, a bad path, or a path that ends
 * on a mapping or sequence.
 */
int sre_yaml_get(const char *text, size_t len, const char *path,
    char **value, char *err, size_t errlen);

/*
 * A copy of text (malloc'd, NUL terminated, into *out and *outlen) with
 * the scalar at path set to value, in the scalar's own style: a plain
 * scalar stays plain unless value needs quotes (then double quotes), a
 * quoted one keeps its quotes.  Block scalars (| and >), aliases and
 * values holding a newline or NUL are refused.  With SRE_YAML_CREATE a
 * missing key is added (as are missing mappings on the way), indented
 * as its siblings.  Returns 0, or -1 with a message in err.
 */
int sre_yaml_set(const char *text, size_t len, const char *path,
    const char *value, unsigned flags, char **out, size_t *outlen,
    char *err, size_t errlen);

/* sre_yaml_to_jv flags */
#define SRE_YAML_LINES	0x1	/* each object gets "__line__": the 1-based
				   line where its mapping starts */

/*
 * The first document of text as a jv value: mappings become objects
 * (keys must be scalars), sequences arrays, quoted scalars strings, and
 * plain scalars null (null, ~, empty), booleans (true, false), numbers
 * (integers and decimals) or strings.  Anchors and aliases are refused.
 * Returns the value, or jv_invalid() with "line N: message" in err.
 */
jv sre_yaml_to_jv(const char *text, size_t len, unsigned flags, char *err,
    size_t errlen);

#endif
