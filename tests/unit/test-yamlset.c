/* test-yamlset: YAML scalar and KEY=VALUE edits change only the value. */
#include <stdlib.h>
#include <string.h>

#include "envset.h"
#include "tap.h"
#include "yamlset.h"

static char err[512];

/* Set path to value in text; compare with want (NULL: expect failure). */
static void
set_is(const char *text, const char *path, const char *value, unsigned fl,
    const char *want, const char *what)
{
	char *out = NULL;
	size_t n;
	int rc = sre_yaml_set(text, strlen(text), path, value, fl, &out, &n,
	    err, sizeof(err));

	if (want == NULL)
		ok(rc < 0, "%s: refused (%s)", what, err);
	else {
		ok(rc == 0 && out != NULL && n == strlen(want) &&
		    memcmp(out, want, n) == 0, "%s", what);
		if (rc == 0 && strcmp(out, want) != 0)
			printf("# got:\n%s# want:\n%s", out, want);
		else if (rc < 0)
			printf("# error: %s\n", err);
	}
	free(out);
}

static void
get_is(const char *text, const char *path, int wrc, const char *want,
    const char *what)
{
	char *v = NULL;
	int rc = sre_yaml_get(text, strlen(text), path, &v, err, sizeof(err));

	ok(rc == wrc && (want == NULL || (v != NULL && strcmp(v, want) == 0)),
	    "%s", what);
	free(v);
}

static const char deploy[] =
    "# a comment: with a colon\n"
    "apiVersion: apps/v1\n"
    "kind: Deployment\n"
    "metadata:\n"
    "  name: quote-api   # trailing comment\n"
    "  labels:\n"
    "    app.kubernetes.io/name: quote-api\n"
    "spec:\n"
    "  replicas: 2 # two\n"
    "  template:\n"
    "    metadata:\n"
    "      annotations:\n"
    "        sre-space/restartedAt: \"2023-11-14T22:13:20Z\"\n"
    "    spec:\n"
    "      containers:\n"
    "        - name: proxy\n"
    "          image: 'registry/proxy:0.9'\n"
    "        - name: quote-api\n"
    "          image: registry/quote-api:1.4.0\n";

static void
replace(char *buf, size_t len, const char *from, const char *to)
{
	char *p = strstr(buf, from);
	size_t fl = strlen(from), tl = strlen(to);

	if (p == NULL || strlen(buf) - fl + tl >= len)
		return;
	memmove(p + tl, p + fl, strlen(p + fl) + 1);
	memcpy(p, to, tl);
}

static void
test_set(void)
{
	char want[2048];

	snprintf(want, sizeof(want), "%s", deploy);
	replace(want, sizeof(want), "replicas: 2 #", "replicas: 4 #");
	set_is(deploy, "spec.replicas", "4", 0, want,
	    "plain scalar: only its bytes change, comment kept");

	snprintf(want, sizeof(want), "%s", deploy);
	replace(want, sizeof(want), "\"2023-11-14T22:13:20Z\"",
	    "\"2024-01-02T03:04:05Z\"");
	set_is(deploy, "spec.template.metadata.annotations."
	    "\"sre-space/restartedAt\"", "2024-01-02T03:04:05Z", 0, want,
	    "double-quoted scalar keeps its quotes");

	snprintf(want, sizeof(want), "%s", deploy);
	replace(want, sizeof(want), "'registry/proxy:0.9'",
	    "'it''s:1'");
	set_is(deploy, "spec.template.spec.containers[0].image", "it's:1", 0,
	    want, "single-quoted scalar keeps its quotes, quote doubled");

	snprintf(want, sizeof(want), "%s", deploy);
	replace(want, sizeof(want), "quote-api:1.4.0", "quote-api:1.3.4");
	set_is(deploy, "spec.template.spec.containers[name=quote-api].image",
	    "registry/quote-api:1.3.4", SRE_YAML_STRING, want,
	    "[key=value] selects a sequence item");

	snprintf(want, sizeof(want), "%s", deploy);
	replace(want, sizeof(want), "    app.kubernetes.io/name: quote-api",
	    "    app.kubernetes.io/name: \"a: b\"");
	set_is(deploy, "metadata.labels.\"app.kubernetes.io/name\"", "a: b", 0,
	    want, "a quoted key holds dots; a value needing quotes gets them");

	snprintf(want, sizeof(want), "%s", deploy);
	replace(want, sizeof(want), "name: quote-api   #",
	    "name: \"true\"   #");
	set_is(deploy, "metadata.name", "true", SRE_YAML_STRING, want,
	    "SRE_YAML_STRING quotes what would read as a boolean");
	snprintf(want, sizeof(want), "%s", deploy);
	replace(want, sizeof(want), "replicas: 2 #", "replicas: \"10\" #");
	set_is(deploy, "spec.replicas", "10", SRE_YAML_STRING, want,
	    "SRE_YAML_STRING quotes what would read as a number");

	set_is(deploy, "spec.nothere", "1", 0, NULL, "a missing key without "
	    "SRE_YAML_CREATE");
	set_is(deploy, "spec.template", "1", 0, NULL, "a mapping is not a "
	    "scalar");
	set_is(deploy, "spec.replicas", "1\nevil: 2", 0, NULL,
	    "a value with a line break");
	set_is(deploy, "spec..replicas", "1", 0, NULL, "an empty path part");
	set_is(deploy, "spec.template.spec.containers[9].image", "x", 0, NULL,
	    "an index past the end");
	set_is("a: [1\n", "a", "x", 0, NULL, "bad YAML");
	set_is("a: |\n  text\n", "a", "x", 0, NULL, "a block scalar");
	set_is("a: &x 1\nb: *x\n", "a", "2", 0, NULL, "an anchored scalar");
}

static void
test_create(void)
{
	const char *in =
	    "spec:\n"
	    "  template:\n"
	    "    metadata:\n"
	    "      labels:\n"
	    "        app: x   # c\n"
	    "    # a comment that stays below\n"
	    "    spec: {}\n";
	const char *want =
	    "spec:\n"
	    "  template:\n"
	    "    metadata:\n"
	    "      labels:\n"
	    "        app: x   # c\n"
	    "      annotations:\n"
	    "        sre-space/restartedAt: \"2024-01-01T00:00:00Z\"\n"
	    "    # a comment that stays below\n"
	    "    spec: {}\n";

	set_is(in, "spec.template.metadata.annotations.\"sre-space/"
	    "restartedAt\"", "2024-01-01T00:00:00Z", SRE_YAML_CREATE |
	    SRE_YAML_STRING, want, "missing mappings are added, indented as "
	    "siblings");
	set_is("a: 1", "b", "2", SRE_YAML_CREATE, "a: 1\nb: 2\n",
	    "a key added at the end of a file without a newline");
	set_is("a: {x: 1}\n", "a.y", "2", SRE_YAML_CREATE, NULL,
	    "no key is added to a flow mapping");
	set_is("a:\n  - 1\n", "a[1]", "2", SRE_YAML_CREATE, NULL,
	    "no sequence item is created");
	set_is("a:\nb: 2\n", "a", "x", 0, "a: x\nb: 2\n",
	    "an empty value is filled in");
}

static void
test_offsets(void)
{
	const char *in = "\xef\xbb\xbf# \xc3\xa9t\xc3\xa9\r\nk: \"v\xc3\xa4lue\""
	    " # \xe2\x9c\x93\r\nn: 3\r\n";
	const char *want = "\xef\xbb\xbf# \xc3\xa9t\xc3\xa9\r\nk: \"v\xc3\xa4lue\""
	    " # \xe2\x9c\x93\r\nn: 42\r\n";

	set_is(in, "n", "42", 0, want, "a BOM, UTF-8 and CRLF before the "
	    "value: byte offsets right");
	get_is(in, "k", 1, "v\xc3\xa4lue", "get decodes a quoted value");
}

static void
test_get(void)
{
	get_is(deploy, "spec.replicas", 1, "2", "get a plain scalar");
	get_is(deploy, "spec.template.spec.containers[name=proxy].image", 1,
	    "registry/proxy:0.9", "get through [key=value]");
	get_is(deploy, "spec.nothere", 0, NULL, "get of a missing key is 0");
	get_is(deploy, "spec", -1, NULL, "get of a mapping is an error");
	get_is("", "a", 0, NULL, "get in an empty document");
}

static void
test_jv(void)
{
	const char *in = "a: 1\nb: [true, null, \"2\", x, 1.5e2, ~]\n"
	    "c:\n  d: ''\n";
	jv v = sre_yaml_to_jv(in, strlen(in), 0, err, sizeof(err));
	jv s = jv_dump_string(jv_copy(v), JV_PRINT_SORTED);

	ok(strcmp(jv_string_value(s), "{\"a\":1,\"b\":[true,null,\"2\",\"x\","
	    "150,null],\"c\":{\"d\":\"\"}}") == 0, "to_jv types: %s",
	    jv_string_value(s));
	jv_free(s);
	jv_free(v);
	v = sre_yaml_to_jv(in, strlen(in), SRE_YAML_LINES, err, sizeof(err));
	s = jv_object_get(jv_object_get(jv_copy(v), jv_string("c")),
	    jv_string("__line__"));
	ok(jv_get_kind(s) == JV_KIND_NUMBER && jv_number_value(s) == 4,
	    "SRE_YAML_LINES: a mapping's line");
	jv_free(s);
	jv_free(v);
	v = sre_yaml_to_jv("a: &x 1\nb: *x\n", 14, 0, err, sizeof(err));
	ok(!jv_is_valid(v) && strstr(err, "aliases") != NULL,
	    "to_jv refuses aliases: %s", err);
	jv_free(v);
	v = sre_yaml_to_jv("a: [\n", 5, 0, err, sizeof(err));
	ok(!jv_is_valid(v) && strncmp(err, "line ", 5) == 0,
	    "to_jv reports the line of bad YAML: %s", err);
	jv_free(v);
}

static void
env_is(const char *text, const char *key, const char *value,
    const char *want, const char *what)
{
	char *out = NULL;
	size_t n;
	int rc = sre_env_set(text, strlen(text), key, value, &out, &n, err,
	    sizeof(err));

	if (want == NULL)
		ok(rc < 0, "%s: refused (%s)", what, err);
	else
		ok(rc == 0 && strcmp(out, want) == 0, "%s", what);
	free(out);
}

static void
test_env(void)
{
	const char *in = "# comment\nA=1\n  export B=\"two\"\r\nC='3'\n\nA=4\n";
	char *v = NULL;

	env_is(in, "A", "9", "# comment\nA=9\n  export B=\"two\"\r\nC='3'\n\n"
	    "A=9\n", "every line setting the key, only the value");
	env_is(in, "B", "deux", "# comment\nA=1\n  export B=\"deux\"\r\n"
	    "C='3'\n\nA=4\n", "quotes, export and CRLF kept");
	env_is(in, "D", "new", "# comment\nA=1\n  export B=\"two\"\r\nC='3'\n"
	    "\nA=4\nD=new\n", "a missing key is appended");
	env_is("X=1", "Y", "2", "X=1\nY=2\n", "appended after a last line "
	    "without a newline");
	env_is("X=1\r\n", "Y", "2", "X=1\r\nY=2\r\n", "appended with CRLF");
	env_is(in, "C", "it's", NULL, "a quote inside its own quotes");
	env_is(in, "A B", "1", NULL, "a bad key");
	env_is(in, "A", "1\nEVIL=1", NULL, "a value with a line break");
	env_is(in, "AB", "1", "# comment\nA=1\n  export B=\"two\"\r\nC='3'\n\n"
	    "A=4\nAB=1\n", "a key is not matched by its prefix");
	ok(sre_env_get(in, strlen(in), "A", &v) == 1 && strcmp(v, "4") == 0,
	    "get: the last line wins");
	free(v);
	ok(sre_env_get(in, strlen(in), "B", &v) == 1 && strcmp(v, "two") == 0,
	    "get: without quotes");
	free(v);
	ok(sre_env_get(in, strlen(in), "Z", &v) == 0 && v == NULL,
	    "get: missing");
	ok(!sre_env_key_ok("1A") && sre_env_key_ok("_A1") &&
	    !sre_env_key_ok(""), "key syntax");
	ok(sre_env_value_ok("debug") && !sre_env_value_ok("a\vb") &&
	    !sre_env_value_ok("a\fb") && !sre_env_value_ok("a\xe2\x80\xa8" "b") &&
	    !sre_env_value_ok("a\x7f"), "values: no \\v, \\f, U+2028, DEL");
}

int
main(void)
{
	test_set();
	test_create();
	test_offsets();
	test_get();
	test_jv();
	test_env();
	return tap_done();
}
