/* yamlset.c: one scalar of a YAML document, read or set in place. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#include "sbuf.h"
#include "yamlset.h"

#define MAX_DEPTH	128
#define MAX_COMPS	32
#define COMP_MAX	256

enum { YN_SCALAR, YN_SEQ, YN_MAP, YN_ALIAS };

struct ynode {
	int kind;
	int style;		/* scalars: yaml_scalar_style_t; else 1 flow */
	int anchored;
	char *value;		/* scalars */
	size_t vlen;
	size_t start, end;	/* character indexes (libyaml marks) */
	size_t line, col;	/* 0-based */
	struct ynode *kids;	/* maps: key, value, key, value... */
	size_t nkids, cap;
};

struct doc {
	struct ynode root;
	int have_root;
};

static void
node_free(struct ynode *n)
{
	size_t i;

	for (i = 0; i < n->nkids; i++)
		node_free(&n->kids[i]);
	free(n->kids);
	free(n->value);
	memset(n, 0, sizeof(*n));
}

static void
parse_error(yaml_parser_t *p, char *err, size_t errlen)
{
	snprintf(err, errlen, "line %zu: %s%s%s",
	    (p->problem_mark.line) + 1,
	    p->problem ? p->problem : "YAML error",
	    p->context ? " " : "", p->context ? p->context : "");
}

static struct ynode *
kid_new(struct ynode *n)
{
	if (n->nkids == n->cap) {
		struct ynode *nk = sre_grow(n->kids, &n->cap, sizeof(*nk), 8);

		if (nk == NULL)
			return NULL;
		n->kids = nk;
	}
	memset(&n->kids[n->nkids], 0, sizeof(struct ynode));
	return &n->kids[n->nkids++];
}

/* Build n from ev (consumed) and, for collections, the events after it. */
static int
build(yaml_parser_t *p, yaml_event_t *ev, struct ynode *n, int depth,
    char *err, size_t errlen)
{
	yaml_event_t kev;
	int end_type, rc = -1;

	n->start = ev->start_mark.index;
	n->end = ev->end_mark.index;
	n->line = ev->start_mark.line;
	n->col = ev->start_mark.column;
	if (depth > MAX_DEPTH) {
		snprintf(err, errlen, "line %zu: nested too deeply",
		    n->line + 1);
		yaml_event_delete(ev);
		return -1;
	}
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		n->kind = YN_SCALAR;
		n->style = ev->data.scalar.style;
		n->anchored = ev->data.scalar.anchor != NULL;
		n->vlen = ev->data.scalar.length;
		if ((n->value = malloc(n->vlen + 1)) == NULL) {
			snprintf(err, errlen, "out of memory");
			yaml_event_delete(ev);
			return -1;
		}
		memcpy(n->value, ev->data.scalar.value, n->vlen);
		n->value[n->vlen] = '\0';
		yaml_event_delete(ev);
		return 0;
	case YAML_ALIAS_EVENT:
		n->kind = YN_ALIAS;
		yaml_event_delete(ev);
		return 0;
	case YAML_SEQUENCE_START_EVENT:
		n->kind = YN_SEQ;
		n->style = ev->data.sequence_start.style ==
		    YAML_FLOW_SEQUENCE_STYLE;
		n->anchored = ev->data.sequence_start.anchor != NULL;
		end_type = YAML_SEQUENCE_END_EVENT;
		break;
	case YAML_MAPPING_START_EVENT:
		n->kind = YN_MAP;
		n->style = ev->data.mapping_start.style ==
		    YAML_FLOW_MAPPING_STYLE;
		n->anchored = ev->data.mapping_start.anchor != NULL;
		end_type = YAML_MAPPING_END_EVENT;
		break;
	default:
		snprintf(err, errlen, "line %zu: unexpected YAML event",
		    n->line + 1);
		yaml_event_delete(ev);
		return -1;
	}
	yaml_event_delete(ev);
	for (;;) {
		struct ynode *k;

		if (!yaml_parser_parse(p, &kev)) {
			parse_error(p, err, errlen);
			return -1;
		}
		if ((int)kev.type == end_type) {
			if (n->style)	/* flow: up to the closing bracket */
				n->end = kev.end_mark.index;
			yaml_event_delete(&kev);
			rc = 0;
			break;
		}
		if ((k = kid_new(n)) == NULL) {
			snprintf(err, errlen, "out of memory");
			yaml_event_delete(&kev);
			break;
		}
		if (build(p, &kev, k, depth + 1, err, errlen) < 0)
			break;
		if (!n->style && k->end > n->end)
			n->end = k->end;
	}
	return rc;
}

static int
doc_parse(const char *text, size_t len, struct doc *d, char *err,
    size_t errlen)
{
	yaml_parser_t p;
	yaml_event_t ev;
	int rc = -1;

	memset(d, 0, sizeof(*d));
	if (!yaml_parser_initialize(&p)) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	for (;;) {
		if (!yaml_parser_parse(&p, &ev)) {
			parse_error(&p, err, errlen);
			break;
		}
		if (ev.type == YAML_STREAM_END_EVENT ||
		    ev.type == YAML_DOCUMENT_END_EVENT) {
			yaml_event_delete(&ev);
			rc = 0;
			break;
		}
		if (ev.type == YAML_STREAM_START_EVENT ||
		    ev.type == YAML_DOCUMENT_START_EVENT) {
			yaml_event_delete(&ev);
			continue;
		}
		if (d->have_root) {
			yaml_event_delete(&ev);
			snprintf(err, errlen, "unexpected YAML event");
			break;
		}
		d->have_root = 1;
		if (build(&p, &ev, &d->root, 0, err, errlen) < 0)
			break;
	}
	yaml_parser_delete(&p);
	if (rc < 0)
		node_free(&d->root);
	return rc;
}

/* ---- paths -------------------------------------------------------- */

enum { C_KEY, C_INDEX, C_MATCH };

struct comp {
	int kind;
	size_t index;
	char key[COMP_MAX];
	char val[COMP_MAX];
};

/* Read a key, quoted or bare, up to one of stops; advance *sp. */
static int
read_key(const char **sp, const char *stops, char *out, size_t outlen)
{
	const char *s = *sp;
	size_t n = 0;

	if (*s == '"') {
		for (s++; *s != '"'; s++) {
			if (*s == '\0')
				return -1;
			if (*s == '\\' && (s[1] == '"' || s[1] == '\\'))
				s++;
			if (n + 1 >= outlen)
				return -1;
			out[n++] = *s;
		}
		s++;
	} else {
		while (*s != '\0' && strchr(stops, *s) == NULL) {
			if (n + 1 >= outlen)
				return -1;
			out[n++] = *s++;
		}
	}
	out[n] = '\0';
	*sp = s;
	return n > 0 ? 0 : -1;
}

static int
path_parse(const char *path, struct comp *c, int *nc, char *err,
    size_t errlen)
{
	const char *s = path;
	int n = 0;

	while (*s != '\0') {
		if (n == MAX_COMPS)
			goto bad;
		memset(&c[n], 0, sizeof(c[n]));
		if (*s == '[') {
			s++;
			if (isdigit((unsigned char)*s)) {
				char *end;

				errno = 0;
				c[n].kind = C_INDEX;
				c[n].index = strtoul(s, &end, 10);
				if (errno != 0 || *end != ']')
					goto bad;
				s = end + 1;
			} else {
				c[n].kind = C_MATCH;
				if (read_key(&s, "=]", c[n].key,
				    sizeof(c[n].key)) < 0 || *s++ != '=' ||
				    read_key(&s, "]", c[n].val,
				    sizeof(c[n].val)) < 0 || *s++ != ']')
					goto bad;
			}
		} else {
			if (n > 0 && *s++ != '.')
				goto bad;
			c[n].kind = C_KEY;
			if (read_key(&s, ".[", c[n].key, sizeof(c[n].key)) < 0)
				goto bad;
		}
		n++;
	}
	if (n == 0)
		goto bad;
	*nc = n;
	return 0;
bad:
	snprintf(err, errlen, "bad YAML path '%s'", path);
	return -1;
}

static int
scalar_is(const struct ynode *n, const char *s)
{
	return n->kind == YN_SCALAR && n->vlen == strlen(s) &&
	    memcmp(n->value, s, n->vlen) == 0;
}

static struct ynode *
map_get(struct ynode *m, const char *key)
{
	size_t i;

	if (m->kind != YN_MAP)
		return NULL;
	for (i = 0; i + 1 < m->nkids; i += 2)
		if (scalar_is(&m->kids[i], key))
			return &m->kids[i + 1];
	return NULL;
}

/*
 * Follow the path.  Returns the node, or NULL with *stop set to the
 * number of components followed and *at to the last node reached.
 */
static struct ynode *
walk(struct ynode *root, const struct comp *c, int nc, int *stop,
    struct ynode **at)
{
	struct ynode *n = root, *next;
	int i;
	size_t k;

	for (i = 0; i < nc; i++) {
		next = NULL;
		switch (c[i].kind) {
		case C_KEY:
			next = map_get(n, c[i].key);
			break;
		case C_INDEX:
			if (n->kind == YN_SEQ && c[i].index < n->nkids)
				next = &n->kids[c[i].index];
			break;
		case C_MATCH:
			if (n->kind != YN_SEQ)
				break;
			for (k = 0; k < n->nkids && next == NULL; k++) {
				struct ynode *v = map_get(&n->kids[k],
				    c[i].key);

				if (v != NULL && scalar_is(v, c[i].val))
					next = &n->kids[k];
			}
			break;
		}
		if (next == NULL) {
			*stop = i;
			*at = n;
			return NULL;
		}
		n = next;
	}
	return n;
}

/* ---- bytes -------------------------------------------------------- */

/* The byte offset of character index idx (libyaml counts characters;
 * a UTF-8 byte order mark is not counted). */
static size_t
byte_off(const char *text, size_t len, size_t idx)
{
	size_t off = 0, chars = 0;

	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		off = 3;
	while (off < len && chars < idx) {
		off++;
		while (off < len && ((unsigned char)text[off] & 0xc0) == 0x80)
			off++;
		chars++;
	}
	return off;
}

/* ---- rendering scalars -------------------------------------------- */

static int
has_ctl(const char *v)
{
	for (; *v != '\0'; v++)
		if ((unsigned char)*v < 0x20 || *v == 0x7f)
			return 1;
	return 0;
}

/* Would a plain scalar v be read as something other than a string? */
static int
looks_typed(const char *v)
{
	static const char *const words[] = {
		"true", "false", "yes", "no", "on", "off", "y", "n", "null",
		"~", ".inf", "-.inf", "+.inf", ".nan", NULL
	};
	const char *const *w;
	const char *s;

	for (w = words; *w != NULL; w++)
		if (strcasecmp(v, *w) == 0)
			return 1;
	if (strchr("0123456789+-.", *v) == NULL)
		return 0;
	for (s = v; *s != '\0'; s++)
		if (!isxdigit((unsigned char)*s) &&
		    strchr("+-.:_xXoOTZ ", *s) == NULL)
			return 0;
	return 1;
}

static int
plain_ok(const char *v, unsigned flags)
{
	size_t n = strlen(v);

	if (n == 0 || has_ctl(v) || v[0] == ' ' || v[n - 1] == ' ')
		return 0;
	if (strchr("?:,[]{}#&*!|>'\"%@`", v[0]) != NULL)
		return 0;
	if (v[0] == '-' && (n == 1 || v[1] == ' '))
		return 0;
	if (strstr(v, ": ") != NULL || strstr(v, " #") != NULL ||
	    v[n - 1] == ':' || strpbrk(v, ",[]{}") != NULL)
		return 0;
	if ((flags & SRE_YAML_STRING) && looks_typed(v))
		return 0;
	return 1;
}

static void
render_double(struct sre_sbuf *b, const char *v)
{
	char esc[8];

	sre_sbuf_add(b, "\"", 1);
	for (; *v != '\0'; v++) {
		unsigned char ch = (unsigned char)*v;

		if (ch == '"' || ch == '\\') {
			esc[0] = '\\';
			esc[1] = (char)ch;
			sre_sbuf_add(b, esc, 2);
		} else if (ch < 0x20 || ch == 0x7f) {
			snprintf(esc, sizeof(esc), "\\x%02x", ch);
			sre_sbuf_adds(b, esc);
		} else
			sre_sbuf_add(b, v, 1);
	}
	sre_sbuf_add(b, "\"", 1);
}

static void
render(struct sre_sbuf *b, const char *v, int style, unsigned flags)
{
	if (style == YAML_PLAIN_SCALAR_STYLE && plain_ok(v, flags)) {
		sre_sbuf_adds(b, v);
		return;
	}
	if (style == YAML_SINGLE_QUOTED_SCALAR_STYLE && !has_ctl(v)) {
		sre_sbuf_add(b, "'", 1);
		for (; *v != '\0'; v++) {
			sre_sbuf_add(b, v, 1);
			if (*v == '\'')
				sre_sbuf_add(b, "'", 1);	/* '' is a quote */
		}
		sre_sbuf_add(b, "'", 1);
		return;
	}
	render_double(b, v);
}

/* ---- the API ------------------------------------------------------ */

int
sre_yaml_get(const char *text, size_t len, const char *path, char **value,
    char *err, size_t errlen)
{
	struct comp c[MAX_COMPS];
	struct ynode *n, *at;
	struct doc d;
	int nc, stop, rc;

	*value = NULL;
	if (path_parse(path, c, &nc, err, errlen) < 0 ||
	    doc_parse(text, len, &d, err, errlen) < 0)
		return -1;
	rc = 0;
	if (d.have_root &&
	    (n = walk(&d.root, c, nc, &stop, &at)) != NULL) {
		if (n->kind != YN_SCALAR) {
			snprintf(err, errlen, "line %zu: %s is not a scalar",
			    n->line + 1, path);
			rc = -1;
		} else if ((*value = strdup(n->value)) == NULL) {
			snprintf(err, errlen, "out of memory");
			rc = -1;
		} else
			rc = 1;
	}
	node_free(&d.root);
	return rc;
}

/* The text to insert for the keys c[from..nc) under block mapping m. */
static int
insertion(const char *text, size_t len, struct ynode *m,
    const struct comp *c, int from, int nc, const char *value,
    unsigned flags, struct sre_sbuf *ins, size_t *at, char *err, size_t errlen)
{
	size_t indent, end;
	int i;

	for (i = from; i < nc; i++)
		if (c[i].kind != C_KEY) {
			snprintf(err, errlen, "cannot create a sequence item");
			return -1;
		}
	if (m->kind != YN_MAP || m->style || m->nkids == 0) {
		snprintf(err, errlen, "line %zu: cannot add '%s' here: not a "
		    "block mapping", m->line + 1, c[from].key);
		return -1;
	}
	indent = m->kids[0].col;
	/* After the line on which the mapping's last value ends. */
	end = byte_off(text, len, m->end);
	while (end < len && text[end] != '\n')
		end++;
	if (end < len)
		end++;
	else
		sre_sbuf_add(ins, "\n", 1);
	*at = end;
	for (i = from; i < nc; i++) {
		size_t k;

		for (k = 0; k < indent + 2 * (size_t)(i - from); k++)
			sre_sbuf_add(ins, " ", 1);
		render(ins, c[i].key, YAML_PLAIN_SCALAR_STYLE, SRE_YAML_STRING);
		if (i + 1 < nc)
			sre_sbuf_add(ins, ":\n", 2);
		else {
			sre_sbuf_add(ins, ": ", 2);
			render(ins, value, YAML_PLAIN_SCALAR_STYLE, flags);
			sre_sbuf_add(ins, "\n", 1);
		}
	}
	return 0;
}

int
sre_yaml_set(const char *text, size_t len, const char *path,
    const char *value, unsigned flags, char **out, size_t *outlen,
    char *err, size_t errlen)
{
	struct comp c[MAX_COMPS];
	struct sre_sbuf b = { 0 }, rep = { 0 };
	struct ynode *n, *at = NULL;
	struct doc d;
	size_t from, to;
	int nc, stop = 0, rc = -1;

	*out = NULL;
	*outlen = 0;
	if (strchr(value, '\n') != NULL || strchr(value, '\r') != NULL) {
		snprintf(err, errlen, "a value with a line break");
		return -1;
	}
	if (path_parse(path, c, &nc, err, errlen) < 0 ||
	    doc_parse(text, len, &d, err, errlen) < 0)
		return -1;
	if (!d.have_root) {
		snprintf(err, errlen, "empty YAML document");
		goto done;
	}
	if ((n = walk(&d.root, c, nc, &stop, &at)) == NULL) {
		if (!(flags & SRE_YAML_CREATE)) {
			snprintf(err, errlen, "%s: not found", path);
			goto done;
		}
		if (insertion(text, len, at, c, stop, nc, value, flags, &rep,
		    &from, err, errlen) < 0)
			goto done;
		to = from;
	} else {
		if (n->kind != YN_SCALAR) {
			snprintf(err, errlen, "line %zu: %s is not a scalar",
			    n->line + 1, path);
			goto done;
		}
		if (n->style == YAML_LITERAL_SCALAR_STYLE ||
		    n->style == YAML_FOLDED_SCALAR_STYLE || n->anchored) {
			snprintf(err, errlen, "line %zu: %s is a block or "
			    "anchored scalar", n->line + 1, path);
			goto done;
		}
		from = byte_off(text, len, n->start);
		to = byte_off(text, len, n->end);
		if (n->vlen == 0 && n->style == YAML_PLAIN_SCALAR_STYLE) {
			/* "key:" with no value: the mark sits after the
			 * colon; put one space before the new value. */
			sre_sbuf_add(&rep, " ", 1);
			to = from;
		}
		render(&rep, value, n->style, flags);
	}
	sre_sbuf_add(&b, text, from);
	sre_sbuf_add(&b, rep.p, rep.n);
	sre_sbuf_add(&b, text + to, len - to);
	if (rep.oom || (*out = sre_sbuf_take(&b, outlen)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	rc = 0;
done:
	sre_sbuf_free(&b);
	sre_sbuf_free(&rep);
	node_free(&d.root);
	return rc;
}

/* ---- YAML to jv ---------------------------------------------------- */

static int
is_number(const char *s)
{
	const char *p = s;

	if (*p == '-' || *p == '+')
		p++;
	if (!isdigit((unsigned char)*p) &&
	    !(*p == '.' && isdigit((unsigned char)p[1])))
		return 0;
	while (isdigit((unsigned char)*p))
		p++;
	if (*p == '.')
		for (p++; isdigit((unsigned char)*p); p++)
			;
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '-' || *p == '+')
			p++;
		if (!isdigit((unsigned char)*p))
			return 0;
		while (isdigit((unsigned char)*p))
			p++;
	}
	return *p == '\0';
}

static jv
to_jv(const struct ynode *n, unsigned flags, char *err, size_t errlen)
{
	jv v;
	size_t i;

	switch (n->kind) {
	case YN_SCALAR:
		if (n->style != YAML_PLAIN_SCALAR_STYLE)
			return jv_string_sized(n->value, (int)n->vlen);
		if (n->vlen == 0 || strcmp(n->value, "~") == 0 ||
		    strcasecmp(n->value, "null") == 0)
			return jv_null();
		if (strcasecmp(n->value, "true") == 0)
			return jv_true();
		if (strcasecmp(n->value, "false") == 0)
			return jv_false();
		if (is_number(n->value))
			return jv_number(strtod(n->value, NULL));
		return jv_string_sized(n->value, (int)n->vlen);
	case YN_SEQ:
		v = jv_array();
		for (i = 0; i < n->nkids; i++) {
			jv k = to_jv(&n->kids[i], flags, err, errlen);

			if (!jv_is_valid(k)) {
				jv_free(v);
				return k;
			}
			v = jv_array_append(v, k);
		}
		return v;
	case YN_MAP:
		v = jv_object();
		if (flags & SRE_YAML_LINES)
			v = jv_object_set(v, jv_string("__line__"),
			    jv_number((double)n->line + 1));
		for (i = 0; i + 1 < n->nkids; i += 2) {
			const struct ynode *k = &n->kids[i];
			jv val;

			if (k->kind != YN_SCALAR) {
				snprintf(err, errlen, "line %zu: a key that is "
				    "not a scalar", k->line + 1);
				jv_free(v);
				return jv_invalid();
			}
			val = to_jv(&n->kids[i + 1], flags, err, errlen);
			if (!jv_is_valid(val)) {
				jv_free(v);
				return val;
			}
			v = jv_object_set(v, jv_string_sized(k->value,
			    (int)k->vlen), val);
		}
		return v;
	default:
		snprintf(err, errlen, "line %zu: aliases are not supported",
		    n->line + 1);
		return jv_invalid();
	}
}

jv
sre_yaml_to_jv(const char *text, size_t len, unsigned flags, char *err,
    size_t errlen)
{
	struct doc d;
	jv v;

	if (memchr(text, '\0', len) != NULL) {
		snprintf(err, errlen, "line 1: a NUL byte");
		return jv_invalid();
	}
	if (doc_parse(text, len, &d, err, errlen) < 0)
		return jv_invalid();
	v = d.have_root ? to_jv(&d.root, flags, err, errlen) : jv_null();
	node_free(&d.root);
	return v;
}
