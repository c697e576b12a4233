#!/usr/bin/env python3
"""fakehub: a stand-in for the GitHub REST API and for webhooks, on loopback.

The sre-fix and sre-escalate tests point GITHUB_API_URL and --webhook at it.
It checks every request (method, path, Authorization header, Accept and
User-Agent headers, JSON body shape) and answers as GitHub would, keeping
issues and pull requests in memory.  Each request is appended to --log as
one JSON line: method, path, query, what the checks found ("auth": "ok",
"missing" or "bad"), and the body; the Authorization value itself is never
written.  Failures can be injected to test retries and clean-up.

    fakehub.py --port-file F --log L [--token T] [--fail 'POST /pulls']
               [--fail-status 422] [--ratelimit-once] [--retry-after-once]
               [--hook-fail N] [--hook-status 500]

Standard library only; binds 127.0.0.1 on a free port written to F.
"""
import argparse
import json
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlsplit

ARGS = None
LOCK = threading.Lock()
STATE = {"next": 1, "issues": {}, "pulls": {}, "hooks": 0, "limited": False,
         "retried": False}


def log(entry):
    with open(ARGS.log, "a", encoding="utf-8") as f:
        f.write(json.dumps(entry, sort_keys=True) + "\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fakehub/1"

    def log_message(self, *args):  # quiet
        pass

    def reply(self, status, obj=None, headers=None):
        body = b"" if obj is None else json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        if not raw:
            return None, raw
        try:
            return json.loads(raw), raw
        except ValueError:
            return "NOT-JSON", raw

    def handle_any(self, method):
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        obj, raw = self.body()
        auth = self.headers.get("Authorization")
        entry = {
            "method": method,
            "path": url.path,
            "query": query,
            "auth": "missing" if auth is None else
                    ("ok" if auth == "Bearer " + (ARGS.token or "") else "bad"),
            "accept": self.headers.get("Accept"),
            "ua": self.headers.get("User-Agent"),
            "content_type": self.headers.get("Content-Type"),
            "body": obj,
        }
        with LOCK:
            log(entry)
            try:
                self.route(method, url.path, query, obj, entry)
            except Exception as e:  # a bug here must not hang the tests
                self.reply(500, {"message": "fakehub: %s" % e})

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_PUT(self):
        self.handle_any("PUT")

    def do_PATCH(self):
        self.handle_any("PATCH")

    def do_DELETE(self):
        self.handle_any("DELETE")

    # ---- routes ----------------------------------------------------

    def route(self, method, path, query, obj, entry):
        if path == "/hook":
            STATE["hooks"] += 1
            if STATE["hooks"] <= ARGS.hook_fail:
                return self.reply(ARGS.hook_status, {"ok": False})
            if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
                return self.reply(400, {"message": "no text"})
            return self.reply(200, {"ok": True})
        if path == "/__state":
            return self.reply(200, {"issues": STATE["issues"],
                                    "pulls": STATE["pulls"]})
        m = re.fullmatch(r"/repos/([^/]+)/([^/]+)(/.*)", path)
        if not m:
            return self.reply(404, {"message": "Not Found"})
        owner, repo, rest = m.groups()
        if entry["auth"] != "ok":
            return self.reply(401, {"message": "Bad credentials"})
        if entry["accept"] != "application/vnd.github+json" or not entry["ua"]:
            return self.reply(400, {"message": "Accept or User-Agent missing"})
        if method in ("POST", "PUT", "PATCH") and \
                entry["content_type"] != "application/json":
            return self.reply(415, {"message": "want application/json"})
        if ARGS.ratelimit_once and not STATE["limited"]:
            STATE["limited"] = True
            return self.reply(403, {"message": "API rate limit exceeded"}, {
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(int(time.time()) + 1)})
        if ARGS.retry_after_once and not STATE["retried"]:
            STATE["retried"] = True
            return self.reply(429, {"message": "slow down"},
                              {"Retry-After": "1"})
        route = "%s %s" % (method, re.sub(r"/\d+", "/N", rest))
        if ARGS.fail and route == ARGS.fail:
            return self.reply(ARGS.fail_status,
                              {"message": "injected failure"})
        base = "https://github.example/%s/%s" % (owner, repo)
        limits = {"X-RateLimit-Remaining": "4999",
                  "X-RateLimit-Reset": str(int(time.time()) + 3600)}

        if route == "GET /pulls":
            head = query.get("head", "")
            hits = [p for p in STATE["pulls"].values()
                    if "%s:%s" % (owner, p["head"]["ref"]) == head]
            return self.reply(200, hits, limits)
        if route == "POST /issues":
            if not (isinstance(obj, dict) and isinstance(obj.get("title"), str)
                    and isinstance(obj.get("body"), str)
                    and isinstance(obj.get("labels"), list)
                    and all(isinstance(x, str) for x in obj["labels"])):
                return self.reply(422, {"message": "Validation Failed"})
            n = STATE["next"]
            STATE["next"] += 1
            issue = {"number": n, "title": obj["title"], "state": "open",
                     "html_url": "%s/issues/%d" % (base, n),
                     "labels": [{"name": x} for x in obj["labels"]]}
            STATE["issues"][str(n)] = issue
            return self.reply(201, issue, limits)
        if route == "POST /pulls":
            if not (isinstance(obj, dict) and all(
                    isinstance(obj.get(k), str) and obj.get(k)
                    for k in ("title", "head", "base", "body"))):
                return self.reply(422, {"message": "Validation Failed"})
            for p in STATE["pulls"].values():
                if p["head"]["ref"] == obj["head"] and p["state"] == "open":
                    return self.reply(422, {
                        "message": "A pull request already exists for %s:%s."
                        % (owner, obj["head"])})
            n = STATE["next"]
            STATE["next"] += 1
            pr = {"number": n, "title": obj["title"], "state": "open",
                  "html_url": "%s/pull/%d" % (base, n),
                  "head": {"ref": obj["head"]}, "base": {"ref": obj["base"]},
                  "body": obj["body"], "labels": [], "merged": False,
                  "comments": []}
            STATE["pulls"][str(n)] = pr
            return self.reply(201, pr, limits)
        m = re.fullmatch(r"/(issues|pulls)/(\d+)(/\w+)?", rest)
        if not m:
            return self.reply(404, {"message": "Not Found"})
        kind, n, sub = m.group(1), m.group(2), m.group(3) or ""
        thing = STATE["pulls"].get(n) or STATE["issues"].get(n)
        if thing is None:
            return self.reply(404, {"message": "Not Found"})
        if method == "POST" and sub == "/labels":
            if not (isinstance(obj, dict) and isinstance(obj.get("labels"), list)):
                return self.reply(422, {"message": "Validation Failed"})
            thing["labels"] = [{"name": x} for x in obj["labels"]]
            return self.reply(200, thing["labels"], limits)
        if method == "POST" and sub == "/comments":
            if not (isinstance(obj, dict) and isinstance(obj.get("body"), str)):
                return self.reply(422, {"message": "Validation Failed"})
            thing.setdefault("comments", []).append(obj["body"])
            return self.reply(201, {"id": len(thing["comments"])}, limits)
        if method == "PATCH" and sub == "":
            if not (isinstance(obj, dict) and obj.get("state") in
                    ("open", "closed")):
                return self.reply(422, {"message": "Validation Failed"})
            thing["state"] = obj["state"]
            return self.reply(200, thing, limits)
        if method == "PUT" and sub == "/merge" and kind == "pulls":
            if thing["state"] != "open":
                return self.reply(405, {"message": "not mergeable"})
            thing["merged"] = True
            thing["state"] = "closed"
            return self.reply(200, {"merged": True, "message": "merged",
                                    "sha": "%040x" % (0xabc000 + int(n))},
                              limits)
        return self.reply(404, {"message": "Not Found"})


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--token")
    ap.add_argument("--fail")
    ap.add_argument("--fail-status", type=int, default=422)
    ap.add_argument("--ratelimit-once", action="store_true")
    ap.add_argument("--retry-after-once", action="store_true")
    ap.add_argument("--hook-fail", type=int, default=0)
    ap.add_argument("--hook-status", type=int, default=500)
    ARGS = ap.parse_args()
    srv = HTTPServer(("127.0.0.1", 0), Handler)
    with open(ARGS.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    import os
    os.rename(ARGS.port_file + ".tmp", ARGS.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
