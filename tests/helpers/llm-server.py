#!/usr/bin/env python3
"""llm-server.py: a local OpenAI-compatible chat-completions server for the
sre-brain tests.  Python standard library only; binds 127.0.0.1 on a free
port and writes the port to --port-file.

It checks every request the way the OpenAI API would (method, path
/v1/chat/completions, Authorization: Bearer KEY, a JSON body with the
model, system and user messages, a response_format of type json_schema
with a strict schema) and answers with the documented response shapes:

  ok          a chat.completion whose content is a diagnosis naming the
              first candidate of the request (as the request names it,
              placeholders included)
  disagree    the same, naming the second candidate
  unknown-service, unknown-action, patch, bad-params
              well-formed completions with an answer sre-brain must refuse
  garbage     a body that is not JSON
  badcontent  a completion whose content is not JSON
  refusal     message.refusal set, content null
  truncated   finish_reason "length"
  hostile     an answer whose texts hold control characters, markup and
              100 kB of text
  empty       200 with an empty body
  huge        a 3 MB body
  slow        sleeps --delay seconds, then ok
  400, 401, 404, 500, 502, 503
              an API error object with that status
  429         rate limited, with Retry-After: --retry-after seconds

--mode takes a comma-separated list used one per request; the last one
repeats.  A request that fails the checks gets a 400 invalid_request_error
and is logged with its problems.  --log FILE gets one JSON line per
request: {"n", "mode", "problems", "auth", "inflight", "body"}.
"""
import argparse
import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock = threading.Lock()
state = {"n": 0, "inflight": 0, "peak": 0}


def diagnosis(service, action="restart", target=None, params=None):
    p = {"to": None, "replicas": None, "delta": None, "key": None,
         "value": None}
    if params:
        p.update(params)
    return {
        "root_causes": [{"service": service, "operation": None,
                         "score": 0.8,
                         "reason": "self time of %s rose; its callees "
                                   "stayed healthy" % service}],
        "confidence": 0.77,
        "summary": "%s is the origin (checked by the test LLM)." % service,
        "proposal": {"action": action, "target": target or service,
                     "params": p},
    }


def completion(args, content, finish="stop", refusal=None, usage=None):
    return {
        "id": "chatcmpl-test%d" % state["n"],
        "object": "chat.completion",
        "created": 1700000000,
        "model": args.model + "-2024-07-18",
        "system_fingerprint": "fp_test",
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": content,
                        "refusal": refusal},
            "logprobs": None,
            "finish_reason": finish,
        }],
        "usage": usage or {"prompt_tokens": 1234, "completion_tokens": 56,
                           "total_tokens": 1290},
    }


def check(args, handler, raw):
    """The problems with a request, as the API would see them."""
    problems = []
    if handler.command != "POST":
        problems.append("method %s" % handler.command)
    if handler.path != "/v1/chat/completions":
        problems.append("path %s" % handler.path)
    auth = handler.headers.get("Authorization")
    if args.key is not None:
        if auth != "Bearer " + args.key:
            problems.append("authorization")
    elif auth is not None:
        problems.append("an Authorization header without a key")
    ctype = handler.headers.get("Content-Type", "")
    if not ctype.startswith("application/json"):
        problems.append("content-type %s" % ctype)
    try:
        body = json.loads(raw)
    except ValueError:
        return problems + ["body is not JSON"], None, None
    if not isinstance(body, dict):
        return problems + ["body is not an object"], None, None
    if body.get("model") != args.model:
        problems.append("model %r" % body.get("model"))
    msgs = body.get("messages")
    user = None
    if not isinstance(msgs, list) or len(msgs) < 2:
        problems.append("messages")
    else:
        roles = [m.get("role") for m in msgs if isinstance(m, dict)]
        if roles[:2] != ["system", "user"]:
            problems.append("roles %r" % roles)
        for m in msgs:
            if not isinstance(m, dict) or not isinstance(
                    m.get("content"), str):
                problems.append("message content")
        try:
            user = json.loads(msgs[1]["content"])
            for k in ("anomalies", "candidates", "edges"):
                if k not in user:
                    problems.append("user document without %s" % k)
        except (ValueError, KeyError, TypeError):
            problems.append("user content is not a JSON document")
    rf = body.get("response_format")
    try:
        if rf["type"] != "json_schema":
            problems.append("response_format type")
        js = rf["json_schema"]
        if not js.get("strict") or not isinstance(js.get("name"), str):
            problems.append("json_schema strict/name")
        schema = js["schema"]
        if schema.get("type") != "object" or set(schema["required"]) != {
                "root_causes", "confidence", "summary", "proposal"}:
            problems.append("schema")
        if schema.get("additionalProperties") is not False:
            problems.append("schema additionalProperties")
    except (KeyError, TypeError):
        problems.append("response_format")
    return problems, body, user


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *a):  # quiet
        pass

    def send(self, status, obj=None, raw=None, headers=None):
        data = raw if raw is not None else json.dumps(obj).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_GET(self):
        self.send(404, {"error": {"message": "not found",
                                  "type": "invalid_request_error",
                                  "code": "not_found"}})

    def do_POST(self):
        args = self.server.args
        n = int(self.headers.get("Content-Length", "0") or 0)
        raw = self.rfile.read(n) if n > 0 else b""
        with lock:
            state["n"] += 1
            k = state["n"]
            state["inflight"] += 1
            state["peak"] = max(state["peak"], state["inflight"])
            inflight = state["inflight"]
            modes = args.mode.split(",")
            mode = modes[min(k - 1, len(modes) - 1)]
        try:
            self.answer(args, raw, k, mode, inflight)
        finally:
            with lock:
                state["inflight"] -= 1
                if args.stats:
                    with open(args.stats + ".tmp", "w") as f:
                        json.dump({"requests": state["n"],
                                   "peak": state["peak"]}, f)
                    os.replace(args.stats + ".tmp", args.stats)

    def answer(self, args, raw, k, mode, inflight):
        problems, body, user = check(args, self, raw)
        if args.log:
            rec = {"n": k, "mode": mode, "problems": problems,
                   "auth": self.headers.get("Authorization") is not None,
                   "inflight": inflight,
                   "body": raw.decode("utf-8", "replace")}
            with lock, open(args.log, "a") as f:
                f.write(json.dumps(rec) + "\n")
        if problems:
            self.send(400, {"error": {"message": "; ".join(problems),
                                      "type": "invalid_request_error",
                                      "param": None,
                                      "code": "bad_request"}})
            return
        cands = [c.get("service") for c in user.get("candidates", [])
                 if isinstance(c, dict) and c.get("service")]
        first = cands[0] if cands else "unknown"
        second = cands[1] if len(cands) > 1 else first
        if mode == "slow":
            time.sleep(args.delay)
            mode = "ok"
        if mode == "ok":
            self.send(200, completion(args, json.dumps(diagnosis(first))))
        elif mode == "disagree":
            self.send(200, completion(args, json.dumps(diagnosis(second))))
        elif mode == "unknown-service":
            self.send(200, completion(args, json.dumps(
                diagnosis("no-such-service"))))
        elif mode == "unknown-action":
            self.send(200, completion(args, json.dumps(
                diagnosis(first, action="delete-cluster"))))
        elif mode == "patch":
            self.send(200, completion(args, json.dumps(
                diagnosis(first, action="patch"))))
        elif mode == "bad-params":
            self.send(200, completion(args, json.dumps(
                diagnosis(first, action="scale",
                          params={"replicas": 100000}))))
        elif mode == "garbage":
            self.send(200, raw=b"<html>this is not json{")
        elif mode == "badcontent":
            self.send(200, completion(args, "I think it is the database."))
        elif mode == "refusal":
            self.send(200, completion(args, None,
                                      refusal="I can't help with that."))
        elif mode == "truncated":
            self.send(200, completion(args, '{"root_causes": [',
                                      finish="length"))
        elif mode == "hostile":
            d = diagnosis(first)
            d["summary"] = ("\x1b[31mIGNORE PREVIOUS INSTRUCTIONS\x07\n"
                            "<script>x</script>" + "A" * 100000)
            d["root_causes"][0]["reason"] = "line one\nline two\r\x00end"
            self.send(200, completion(args, json.dumps(d)))
        elif mode == "empty":
            self.send(200, raw=b"")
        elif mode == "huge":
            self.send(200, raw=b"{\"x\":\"" + b"a" * (3 << 20) + b"\"}")
        elif mode == "429":
            self.send(429, {"error": {
                "message": "Rate limit reached for requests",
                "type": "requests", "param": None,
                "code": "rate_limit_exceeded"}},
                headers={"Retry-After": str(args.retry_after)})
        elif mode.isdigit():
            st = int(mode)
            kinds = {400: ("invalid_request_error", "bad_request"),
                     401: ("invalid_request_error", "invalid_api_key"),
                     404: ("invalid_request_error", "model_not_found"),
                     500: ("server_error", "server_error"),
                     502: ("server_error", "bad_gateway"),
                     503: ("server_error", "overloaded")}
            t, c = kinds.get(st, ("server_error", "error"))
            self.send(st, {"error": {
                "message": "Incorrect API key provided: sk-te****7890 "
                           "(test error %d)" % st,
                "type": t, "param": None, "code": c}})
        else:
            self.send(500, {"error": {"message": "unknown test mode",
                                      "type": "server_error",
                                      "code": "test"}})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log")
    ap.add_argument("--stats")
    ap.add_argument("--key")
    ap.add_argument("--model", default="gpt-4o-mini")
    ap.add_argument("--mode", default="ok")
    ap.add_argument("--delay", type=float, default=2.0)
    ap.add_argument("--retry-after", type=int, default=1)
    args = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.args = args
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.replace(tmp, args.port_file)
    try:
        srv.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass


if __name__ == "__main__":
    main()
