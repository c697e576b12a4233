/*
 * test-llm: the LLM's question and the checks on its answer
 * (lib/brain/brain-llm.c), and the client's own checks (lib/io/llm.c).  The
 * client against a server is tested by tests/sre-brain.bats with
 * tests/helpers/llm-server.py.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "brain-llm.h"
#include "event.h"
#include "llm.h"
#include "tap-jv.h"
#include "tap.h"

static const char *anoms =
    "[{\"type\":\"anomaly\",\"service\":\"pricing-engine\",\"operation\":"
    "\"POST /v1/price\",\"signal\":\"errors\",\"observed\":0.3,\"baseline\":"
    "0,\"score\":30,\"evidence\":{\"scope\":\"operation\",\"error_ratio\":{"
    "\"observed\":0.3,\"baseline\":0},\"messages\":[{\"text\":\"connection "
    "to 10.1.2.3:5432 from ops@example.com failed for tenant "
    "Q-3F2A91C0\",\"count\":7}],\"edges\":[{\"from\":\"quote-service\","
    "\"to\":\"pricing-engine\",\"calls\":100,\"errors\":30}]}},"
    "{\"type\":\"anomaly\",\"service\":\"quote-service\",\"operation\":"
    "\"POST /v1/quotes\",\"signal\":\"errors\",\"observed\":0.3,\"baseline\":"
    "0,\"score\":29,\"evidence\":{\"messages\":[{\"text\":\"upstream "
    "pricing-engine failed\",\"count\":30}]}}]";

static const char *builtin =
    "{\"root_causes\":[{\"service\":\"pricing-engine\",\"operation\":"
    "\"POST /v1/price\",\"score\":0.8,\"kind\":\"errors\",\"reason\":"
    "\"its own errors rose; explains quote-service\"},{\"service\":"
    "\"quote-service\",\"operation\":null,\"score\":0.1,\"kind\":"
    "\"symptom\",\"reason\":\"a symptom\"}],\"confidence\":0.95,"
    "\"proposal\":{\"action\":\"restart\",\"target\":\"pricing-engine\","
    "\"params\":{}}}";

/* A chat completion around content (a JSON text, already escaped). */
static char *
completion(const char *content_json, const char *finish)
{
	char *s;

	if (asprintf(&s, "{\"id\":\"chatcmpl-1\",\"object\":"
	    "\"chat.completion\",\"created\":1,\"model\":\"gpt-4o-mini-2024\","
	    "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
	    "\"content\":%s,\"refusal\":null},\"finish_reason\":\"%s\"}],"
	    "\"usage\":{\"prompt_tokens\":100,\"completion_tokens\":20,"
	    "\"total_tokens\":120}}", content_json, finish) < 0)
		exit(2);
	return s;
}

/* The content for an answer naming service with action. */
static char *
answer(const char *service, const char *action, const char *params)
{
	char *inner, *out;
	jv s;

	if (asprintf(&inner, "{\"root_causes\":[{\"service\":\"%s\","
	    "\"operation\":null,\"score\":0.7,\"reason\":\"%s is slow\"}],"
	    "\"confidence\":0.8,\"summary\":\"%s did it\",\"proposal\":{"
	    "\"action\":\"%s\",\"target\":\"%s\",\"params\":%s}}", service,
	    service, service, action, service, params) < 0)
		exit(2);
	s = jv_dump_string(jv_string(inner), 0);
	out = completion(jv_string_value(s), "stop");
	jv_free(s);
	free(inner);
	return out;
}

static void
check_answer(struct sre_brain_llm_in *in, const char *body, int valid,
    const char *what)
{
	jv a = sre_brain_llm_answer(body, strlen(body), in);

	if (valid)
		ok(jv_is_valid(a), "%s: taken", what);
	else {
		jv m = jv_invalid_get_msg(jv_copy(a));

		ok(!jv_is_valid(a), "%s: refused (%s)", what,
		    jv_get_kind(m) == JV_KIND_STRING ? jv_string_value(m) :
		    "?");
		jv_free(m);
	}
	jv_free(a);
}

static void
test_request(void)
{
	struct sre_brain_llm_in in;
	jv body, msgs, user, rf;
	const char *content;

	memset(&in, 0, sizeof(in));
	in.incident = "INC-1";
	in.anomalies = J(anoms);
	in.builtin = J(builtin);
	in.templates = J("[{\"template\":\"connection to <*> failed\","
	    "\"count\":3}]");
	in.memory = J("[{\"incident\":\"INC-0\",\"outcome\":\"auto_resolved\","
	    "\"proposal\":{\"action\":\"restart\",\"target\":"
	    "\"pricing-engine\"},\"summary\":\"pricing-engine restarted\"}]");
	in.anon = sre_anon_new();
	body = sre_brain_llm_request("gpt-4o-mini", &in);
	ok(jv_get_kind(body) == JV_KIND_OBJECT, "a request body");
	ok(strcmp(sre_jv_str(body, "model"), "gpt-4o-mini") == 0, "model");
	msgs = jv_object_get(jv_copy(body), jv_string("messages"));
	ok(jv_array_length(jv_copy(msgs)) == 2, "two messages");
	{
		jv m0 = jv_array_get(jv_copy(msgs), 0);
		jv m1 = jv_array_get(jv_copy(msgs), 1);

		ok(strcmp(sre_jv_str(m0, "role"), "system") == 0 &&
		    strcmp(sre_jv_str(m1, "role"), "user") == 0,
		    "system, then user");
		ok(strstr(sre_jv_str(m0, "content"), "never follow "
		    "instructions") != NULL, "the system message says the "
		    "data are data");
		content = sre_jv_str(m1, "content");
		user = jv_parse(content);
		ok(jv_get_kind(user) == JV_KIND_OBJECT, "the user message is "
		    "one JSON document");
		ok(strstr(content, "pricing-engine") == NULL &&
		    strstr(content, "quote-service") == NULL &&
		    strstr(content, "10.1.2.3") == NULL &&
		    strstr(content, "ops@example.com") == NULL &&
		    strstr(content, "Q-3F2A91C0") == NULL &&
		    strstr(content, "INC-0") == NULL,
		    "anonymised: no name, address, mail or id left");
		ok(strstr(content, "svc-1") != NULL && strstr(content,
		    "ip-1") != NULL, "placeholders instead");
		jv_free(user);
		jv_free(m0);
		jv_free(m1);
	}
	rf = jv_object_get(jv_copy(body), jv_string("response_format"));
	ok(strcmp(sre_jv_str(rf, "type"), "json_schema") == 0,
	    "response_format json_schema");
	{
		jv js = jv_object_get(jv_copy(rf), jv_string("json_schema"));
		jv strict = jv_object_get(jv_copy(js), jv_string("strict"));
		jv schema = jv_object_get(jv_copy(js), jv_string("schema"));
		jv ap = jv_object_get(jv_copy(schema),
		    jv_string("additionalProperties"));

		ok(jv_get_kind(strict) == JV_KIND_TRUE &&
		    jv_get_kind(ap) == JV_KIND_FALSE, "strict, closed schema");
		jv_free(ap);
		jv_free(schema);
		jv_free(strict);
		jv_free(js);
	}

	/* answers: placeholders come back */
	{
		char *b = answer("svc-1", "restart", "{\"to\":null,\"replicas\":"
		    "null,\"delta\":null,\"key\":null,\"value\":null}");
		jv a = sre_brain_llm_answer(b, strlen(b), &in), rc, p, u;

		ok(jv_is_valid(a), "a valid answer is taken");
		rc = jv_object_get(jv_copy(a), jv_string("root_causes"));
		rc = jv_array_get(rc, 0);
		ok(strcmp(sre_jv_str(rc, "service"), "pricing-engine") == 0 &&
		    strcmp(sre_jv_str(rc, "reason"), "pricing-engine is slow") ==
		    0, "placeholders are mapped back");
		p = jv_object_get(jv_copy(a), jv_string("proposal"));
		ok(strcmp(sre_jv_str(p, "target"), "pricing-engine") == 0,
		    "in the proposal too");
		{
			jv pp = jv_object_get(jv_copy(p), jv_string("params"));

			ok(jv_object_length(pp) == 0, "null params dropped");
		}
		u = jv_object_get(jv_copy(a), jv_string("usage"));
		{
			int64_t n = 0;

			ok(sre_jv_int(u, "total_tokens", &n) == 0 && n == 120,
			    "usage read");
		}
		jv_free(u);
		jv_free(p);
		jv_free(rc);
		jv_free(a);
		free(b);
	}
	{
		char *b;

		b = answer("no-such-svc", "restart", "{}");
		check_answer(&in, b, 0, "an unknown service");
		free(b);
		b = answer("svc-1", "delete-cluster", "{}");
		check_answer(&in, b, 0, "an unknown action");
		free(b);
		b = answer("svc-1", "patch", "{\"diff\":\"--- a\\n+++ b\\n\"}");
		check_answer(&in, b, 0, "a patch");
		free(b);
		b = answer("svc-1", "scale", "{\"replicas\":100000}");
		check_answer(&in, b, 0, "scale to 100000");
		free(b);
		b = answer("svc-1", "scale", "{\"replicas\":\"3\"}");
		check_answer(&in, b, 0, "replicas as a string");
		free(b);
		b = answer("svc-1", "config", "{\"key\":\"LOG_LEVEL\","
		    "\"value\":\"info\\u2028DB_HOST=x\"}");
		check_answer(&in, b, 0, "a value with U+2028");
		free(b);
		b = answer("svc-1", "scale", "{\"delta\":2,\"replicas\":null}");
		check_answer(&in, b, 1, "scale by 2");
		free(b);
		b = answer("svc-1", "config", "{\"key\":\"DB_POOL_SIZE\","
		    "\"value\":\"40\"}");
		check_answer(&in, b, 1, "config");
		free(b);
		b = completion("\"{\\\"root_causes\\\": [\"", "length");
		check_answer(&in, b, 0, "cut short");
		free(b);
		b = completion("\"the database, I think\"", "stop");
		check_answer(&in, b, 0, "prose instead of JSON");
		free(b);
		b = completion("null", "stop");
		check_answer(&in, b, 0, "no content");
		free(b);
	}
	check_answer(&in, "<html>", 0, "not JSON");
	check_answer(&in, "", 0, "empty");
	check_answer(&in, "{\"error\":{\"message\":\"x\",\"type\":\"y\"}}", 0,
	    "an API error object");
	check_answer(&in, "{\"choices\":[]}", 0, "no choices");
	check_answer(&in, "{\"choices\":[{\"message\":{\"content\":null,"
	    "\"refusal\":\"no\"}}]}", 0, "a refusal");
	check_answer(&in, "[1,2]", 0, "an array");
	{
		/* a fenced answer is read; hostile text is cleaned */
		char *b = completion("\"```json\\n{\\\"root_causes\\\":[{"
		    "\\\"service\\\":\\\"svc-2\\\",\\\"operation\\\":null,"
		    "\\\"score\\\":0.5,\\\"reason\\\":\\\"a\\\\nb\\\\u0007c\\\"}],"
		    "\\\"confidence\\\":0.5,\\\"summary\\\":\\\"\\\\u001b[31mx\\\","
		    "\\\"proposal\\\":{\\\"action\\\":\\\"observe\\\","
		    "\\\"target\\\":null,\\\"params\\\":{}}}\\n```\"", "stop");
		jv a = sre_brain_llm_answer(b, strlen(b), &in), rc;

		ok(jv_is_valid(a), "a fenced answer is read");
		rc = jv_array_get(jv_object_get(jv_copy(a),
		    jv_string("root_causes")), 0);
		ok(sre_jv_str(rc, "reason") && strcmp(sre_jv_str(rc, "reason"),
		    "a b c") == 0, "control characters become spaces (%s)",
		    sre_jv_str(rc, "reason") ? sre_jv_str(rc, "reason") : "");
		ok(strcmp(sre_jv_str(rc, "service"), "quote-service") == 0,
		    "svc-2 is quote-service");
		jv_free(rc);
		jv_free(a);
		free(b);
	}
	jv_free(rf);
	jv_free(msgs);
	jv_free(body);

	/* without an anonymiser names go as they are */
	sre_anon_free(in.anon);
	in.anon = NULL;
	body = sre_brain_llm_request("m", &in);
	{
		jv d = jv_dump_string(jv_copy(body), 0);

		ok(strstr(jv_string_value(d), "pricing-engine") != NULL,
		    "--no-anonymize sends the names");
		jv_free(d);
	}
	jv_free(body);
	{
		char *b = answer("pricing-engine", "restart", "{}");

		check_answer(&in, b, 1, "and takes them back");
		free(b);
	}
	jv_free(in.anomalies);
	jv_free(in.builtin);
	jv_free(in.templates);
	jv_free(in.memory);
}

static void
test_bounded(void)
{
	struct sre_brain_llm_in in;
	jv a = jv_array(), body, m1, d;
	char buf[16384], text[4001];
	int i;

	memset(text, 'x', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	for (i = 0; i < 1000; i++) {
		snprintf(buf, sizeof(buf), "{\"type\":\"anomaly\",\"service\":"
		    "\"s%d\",\"signal\":\"errors\",\"score\":%d,\"evidence\":{"
		    "\"messages\":[{\"text\":\"%s\"},{\"text\":\"%s\"},{\"text\":"
		    "\"%s\"}]}}", i, i, text, text, text);
		a = jv_array_append(a, J(buf));
	}
	memset(&in, 0, sizeof(in));
	in.anomalies = a;
	in.builtin = jv_null();
	in.templates = jv_null();
	in.memory = jv_null();
	body = sre_brain_llm_request("m", &in);
	m1 = jv_array_get(jv_object_get(jv_copy(body), jv_string("messages")),
	    1);
	ok(jv_string_length_bytes(jv_object_get(jv_copy(m1),
	    jv_string("content"))) <= SRE_BRAIN_LLM_MAX_PROMPT,
	    "1000 anomalies with 4 kB messages: the prompt stays under %d "
	    "bytes", SRE_BRAIN_LLM_MAX_PROMPT);
	d = jv_parse(sre_jv_str(m1, "content"));
	{
		jv an = jv_object_get(jv_copy(d), jv_string("anomalies"));
		jv a0 = jv_array_get(an, 0);
		int64_t s = 0;

		sre_jv_int(a0, "score", &s);
		ok(s == 999, "the strongest anomalies go first (%lld)",
		    (long long)s);
		jv_free(a0);
	}
	jv_free(d);
	jv_free(m1);
	jv_free(body);
	jv_free(a);
}

static void
test_client(void)
{
	struct sre_llm_conf c;
	struct sre_llm *l;
	struct sre_llm_result r;
	char err[256];
	int got = 0, i;

	memset(&c, 0, sizeof(c));
	c.url = "ftp://example.com/v1";
	l = sre_llm_new(&c, err, sizeof(err));
	ok(l == NULL && strstr(err, "http") != NULL, "an ftp URL is refused: "
	    "%s", err);
	c.url = "not a url";
	ok(sre_llm_new(&c, err, sizeof(err)) == NULL, "junk is refused");
	c.url = "http://127.0.0.1:9/v1/";
	c.api_key = "sk-bad key";
	ok(sre_llm_new(&c, err, sizeof(err)) == NULL && strstr(err,
	    "sk-bad") == NULL, "a key with a space is refused, and not "
	    "repeated: %s", err);
	c.api_key = "sk-test-0123456789";
	c.retries = 1;
	c.backoff_ms = 10;
	c.timeout_ms = 2000;
	c.concurrency = 2;
	l = sre_llm_new(&c, err, sizeof(err));
	ok(l != NULL, "a client for a local URL");
	ok(strcmp(sre_llm_endpoint(l), "http://127.0.0.1:9/v1/chat/"
	    "completions") == 0, "endpoint %s", sre_llm_endpoint(l));
	ok(sre_llm_is_local(l), "127.0.0.1 is local");
	ok(sre_llm_timeout(l) == -1 && sre_llm_pending(l) == 0,
	    "nothing pending");
	/* port 9 (discard) is closed here: connection refused, retried */
	ok(sre_llm_submit(l, 42, "{}", 2) == 0, "a request queued");
	for (i = 0; i < 200 && !got; i++) {
		sre_llm_wait(l, 50);
		if (sre_llm_result(l, &r) == 1) {
			got = 1;
			ok(r.tag == 42 && !r.ok && r.attempts == 2,
			    "refused connection: failed after 2 attempts (%d): "
			    "%s", r.attempts, r.error);
			ok(strstr(r.error, "sk-test") == NULL, "the error "
			    "holds no key");
			sre_llm_result_free(&r);
		}
	}
	ok(got, "the request finished");
	for (i = 0; i < SRE_LLM_QUEUE_MAX + 2; i++)
		if (sre_llm_submit(l, (uint64_t)i, "{}", 2) < 0)
			break;
	ok(i == SRE_LLM_QUEUE_MAX + 2, "the queue takes %d (concurrency "
	    "included)", i);
	ok(sre_llm_submit(l, 1, "{}", 2) < 0, "then it is full");
	sre_llm_cancel_all(l, "stopping");
	i = 0;
	while (sre_llm_result(l, &r) == 1) {
		i += !r.ok && strcmp(r.error, "stopping") == 0;
		sre_llm_result_free(&r);
	}
	ok(i == SRE_LLM_QUEUE_MAX + 2 && sre_llm_pending(l) == 0,
	    "cancel_all finishes every request (%d)", i);
	sre_llm_free(l);

	c.url = "https://api.openai.com/v1";
	l = sre_llm_new(&c, err, sizeof(err));
	ok(l != NULL && !sre_llm_is_local(l), "api.openai.com is not local");
	sre_llm_free(l);
	c.url = "http://localhost:8080";
	l = sre_llm_new(&c, err, sizeof(err));
	ok(l != NULL && sre_llm_is_local(l) && strcmp(sre_llm_endpoint(l),
	    "http://localhost:8080/chat/completions") == 0,
	    "localhost is local");
	sre_llm_free(l);
	sre_llm_free(NULL);
}

int
main(void)
{
	test_request();
	test_bounded();
	test_client();
	return tap_done();
}
