#!/usr/bin/env python3
"""faultproxy.py - a fault-injecting HTTP/1.1 reverse proxy for the Sluice tests.

Standard library only (Python 3.11+). It sits on loopback between an OpenSearch
client and a real OpenSearch-compatible server and injects faults on request.

Command line
------------
    python3 faultproxy.py --upstream http://127.0.0.1:PORT [--port 0]
                          [--port-file FILE] [--verbose]

* Listens on 127.0.0.1:--port (0, the default, = any free port).
* Once ready it prints exactly one line to stdout (flushed) and nothing else
  ever goes to stdout:
      listening http://127.0.0.1:NNNN
  and, if --port-file is given, writes the port number (decimal, newline) to
  that file atomically (temp file + rename).
* Exits with status 0 on SIGTERM or SIGINT (open connections, including
  stalled ones, are dropped).
* --verbose logs one line per request to stderr.

Proxying
--------
* Keep-alive client connections (any number of requests per connection);
  `Connection: close` (or HTTP/1.0 without keep-alive) closes after the
  response.
* Request bodies: Content-Length bodies are forwarded byte for byte (gzip
  bodies with `Content-Encoding: gzip` untouched); chunked bodies are
  de-chunked and forwarded with a Content-Length. `Expect: 100-continue` is
  answered with `100 Continue` by the proxy and not forwarded.
* Every proxied request gets a fresh upstream connection (`Connection: close`).
  The client's Host header is kept (so signed requests stay valid); the path is
  prefixed with the --upstream path, if any.
* The whole upstream response (Content-Length, chunked or until-EOF) is read
  and sent to the client with a Content-Length (and without Transfer-Encoding).
  Content-Encoding and all other end-to-end headers are kept.
* If the upstream cannot be reached the client gets 502
  `{"error":{"type":"proxy_upstream_exception","reason":"..."},"status":502}`
  (outcome "upstream_error").

Order of checks for every proxied request: auth (401, consumes no rule), then
the fault queue (the first matching rule wins), then max-body (413; only when
no rule matched), then plain forwarding.

Control API (same port; paths starting with /__proxy/ are never forwarded,
never logged, never subject to auth/faults; answers are JSON with
Content-Length; bad input gets 400 {"error": "..."}; unknown path 404)
---------------------------------------------------------------------------
POST   /__proxy/faults    body: a JSON list of rules (a single rule object is
                          also accepted). Rules are appended to a FIFO queue.
                          Answer: the pending queue (as GET).
GET    /__proxy/faults    -> [rule..., each with "remaining": n]
DELETE /__proxy/faults    clears the queue -> {"cleared": n}

  A rule: {"kind": K, "count": 1, "match": null, ...kind options}
    count  how many matching requests it applies to (default 1, >= 1).
    match  substring the request target (path + "?query") must contain, e.g.
           "_bulk"; null/absent matches every proxied request.
    For each proxied request the queue is scanned in order and the first rule
    whose match fits is used and its remaining count decremented (removed at
    0). Requests that no rule matches are passed through.

  Kinds (outcome recorded in the request log in brackets):
    status        ["status:<N>"] answer without contacting upstream.
                  "status": int (default 503); "body": string (sent as is) or
                  any other JSON value (serialised), default
                  {"error":{"type":T,"reason":R},"status":N} with T/R per
                  status: 400 illegal_argument_exception, 401/403
                  security_exception, 404 index_not_found_exception, 408/504
                  timeout_exception, 409 version_conflict_engine_exception,
                  413 content_too_long_exception, 429
                  es_rejected_execution_exception ("rejected execution"), 500
                  internal_server_error, 502 bad_gateway_exception, 503
                  unavailable_shards_exception, other: "exception";
                  "headers": {name: value} added to the response
                  (Content-Type defaults to application/json; charset=UTF-8).
                  The connection stays open (keep-alive).
    reset         ["reset"] read the request, then close with SO_LINGER 0
                  (the client sees ECONNRESET), no response.
    stall         ["stall"] read the request, send nothing for "seconds"
                  (default 30), then close normally (FIN). Other connections
                  are unaffected.
    truncate      ["truncate"] forward; send the upstream status line and
                  headers with the full Content-Length but only the first
                  len(body)//2 bytes of the body (still encoded as upstream
                  sent it), then close (FIN).
    reject_items  ["reject_items"] forward, then rewrite the _bulk JSON
                  response. Options: "items": [0-based indices],
                  "every": N (1-based: every=2 -> 2nd, 4th, 6th... item, i.e.
                  0-based indices 1, 3, 5...), both -> union, neither -> ALL
                  items; "status" (429), "type"
                  ("es_rejected_execution_exception"), "reason"
                  ("rejected execution of coordinating operation").
                  Each selected item {"op": {...}} becomes
                  {"op": {"_index": (kept if present), "_id": (kept if
                  present), "status": S, "error": {"type": T, "reason": R}}}
                  and top-level "errors" is set to true. A gzip/deflate
                  upstream response is decoded and re-sent uncompressed
                  without Content-Encoding. If the (filter_path-filtered)
                  upstream response has no "items", the items are synthesised
                  from the request's NDJSON actions (gzip request bodies are
                  decoded): non-selected ones as {"op": {"_index", "_id" (if
                  given), "status": 201 for create/index, 200 for
                  update/delete}}. If "items" is present but shorter than
                  the request (filter_path=items.*.error keeps only failed
                  items), indices refer to the response's list as is.
                  A non-JSON upstream answer is passed through unchanged.
    delay         ["delay"] forward normally, then wait "seconds" (default 1)
                  before sending the response.

POST   /__proxy/ism       {"enabled": true}: from then on the proxy answers the
                          ISM plugin's policy API itself, as OpenSearch does
                          (the local server has no ISM): GET /_plugins/_ism/policies
                          lists; GET .../policies/ID 200 {"_id","_version",
                          "_seq_no","_primary_term","policy":{...,"policy_id"}} or
                          404 status_exception "Policy not found"; PUT .../ID
                          creates (201; 409 version_conflict_engine_exception if
                          it exists), or with ?if_seq_no=&if_primary_term= updates
                          (200; 409 if they are not the current ones). A policy
                          without description, default_state, states, a
                          default_state among the states, transitions to known
                          states or ism_template index_patterns is 400
                          illegal_argument_exception. {"enabled": false} forgets
                          the policies; GET /__proxy/ism lists them.
POST   /__proxy/dashboards {"enabled": true, "fail": [ids]}: from then on the
                          proxy answers POST .../api/saved_objects/_import itself, as
                          OpenSearch Dashboards does: 400 without `osd-xsrf: true`,
                          without multipart/form-data and its boundary, without a
                          part named "file" whose filename ends in .ndjson, or with
                          a line that is not a saved object; otherwise 200
                          {"success","successCount","errors"}: an object whose
                          references name no object of the file (or of an earlier
                          import) fails with missing_references, an id in "fail"
                          with "unknown". GET /__proxy/dashboards lists the
                          imported objects by id.
POST   /__proxy/auth      {"username": "u", "password": "p"}: from then on a
                          proxied request whose Authorization header is not
                          exactly "Basic " + base64("u:p") gets 401
                          {"error":{"type":"security_exception","reason":
                          "missing authentication credentials"},"status":401}
                          with `WWW-Authenticate: Basic realm="security"`
                          (outcome "401"). {"username": null} turns it off.
                          -> {"auth": "u" | null}
POST   /__proxy/max-body  {"bytes": N}: a proxied request whose body as
                          received (compressed size; de-chunked) exceeds N
                          bytes gets 413 {"error":{"type":
                          "content_too_long_exception","reason":"request body
                          too large"},"status":413} (outcome "413").
                          {"bytes": null} turns it off. -> {"max_body": N|null}
GET    /__proxy/requests  -> [{"method", "path" (request target incl. query),
                          "headers": {lowercased name: value} (repeated
                          headers joined with ", "), "body_bytes": N,
                          "outcome": "forwarded" | "status:<N>" | "reset" |
                          "stall" | "truncate" | "reject_items" | "401" |
                          "413" | "delay" | "upstream_error",
                          "status": status sent to the client or null}, ...]
                          in arrival order (an entry appears as soon as the
                          request is read; "status" is filled when sent).
DELETE /__proxy/requests  clears the log -> {"cleared": n}
POST   /__proxy/reset     clears faults, log, auth and max-body -> {"reset": true}
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gzip
import http
import json
import os
import signal
import socket
import struct
import sys
import urllib.parse
import zlib

READ_LIMIT = 1 << 20  # longest header / chunk-size line accepted

HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-connection", "transfer-encoding", "te",
    "trailer", "trailers", "upgrade", "proxy-authenticate", "proxy-authorization",
}

ERROR_TYPES = {
    400: ("illegal_argument_exception", "bad request"),
    401: ("security_exception", "missing authentication credentials"),
    403: ("security_exception", "no permissions for the action"),
    404: ("index_not_found_exception", "no such index"),
    408: ("timeout_exception", "request timed out"),
    409: ("version_conflict_engine_exception", "version conflict, document already exists"),
    413: ("content_too_long_exception", "request body too large"),
    429: ("es_rejected_execution_exception", "rejected execution"),
    500: ("internal_server_error", "internal server error"),
    502: ("bad_gateway_exception", "bad gateway"),
    503: ("unavailable_shards_exception", "service unavailable"),
    504: ("timeout_exception", "gateway timeout"),
}

KINDS = {"status", "reset", "stall", "truncate", "reject_items", "delay"}


class BadRequest(Exception):
    pass


def reason_phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def error_body(status: int, etype: str | None = None, reason: str | None = None) -> bytes:
    dtype, dreason = ERROR_TYPES.get(status, ("exception", reason_phrase(status).lower()))
    doc = {"error": {"type": etype or dtype, "reason": reason or dreason}, "status": status}
    return json.dumps(doc, separators=(",", ":")).encode()


class Headers:
    """Ordered, case-preserving header list with case-insensitive lookup."""

    def __init__(self, items=None):
        self.items: list[tuple[str, str]] = list(items or [])

    def get(self, name: str, default=None):
        name = name.lower()
        for k, v in self.items:
            if k.lower() == name:
                return v
        return default

    def get_all(self, name: str) -> list[str]:
        name = name.lower()
        return [v for k, v in self.items if k.lower() == name]

    def remove(self, name: str):
        name = name.lower()
        self.items = [(k, v) for k, v in self.items if k.lower() != name]

    def set(self, name: str, value: str):
        self.remove(name)
        self.items.append((name, value))

    def has(self, name: str) -> bool:
        return self.get(name) is not None

    def as_dict(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for k, v in self.items:
            k = k.lower()
            out[k] = out[k] + ", " + v if k in out else v
        return out

    def tokens(self, name: str) -> set[str]:
        out = set()
        for v in self.get_all(name):
            out.update(t.strip().lower() for t in v.split(",") if t.strip())
        return out


async def read_headers(reader: asyncio.StreamReader) -> Headers:
    headers = Headers()
    while True:
        line = await reader.readuntil(b"\n")
        line = line.rstrip(b"\r\n")
        if not line:
            return headers
        if line[:1] in (b" ", b"\t") and headers.items:  # obsolete folding
            k, v = headers.items[-1]
            headers.items[-1] = (k, v + " " + line.decode("latin-1").strip())
            continue
        name, sep, value = line.decode("latin-1").partition(":")
        if not sep or not name.strip():
            raise BadRequest(f"malformed header line {line[:80]!r}")
        headers.items.append((name.strip(), value.strip()))


async def read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts = []
    while True:
        line = await reader.readuntil(b"\n")
        size_text = line.split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise BadRequest(f"bad chunk size {size_text[:40]!r}")
        if size == 0:
            await read_headers(reader)  # trailers, discarded
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        crlf = await reader.readuntil(b"\n")
        if crlf.strip():
            raise BadRequest("missing CRLF after chunk")


async def read_body(reader: asyncio.StreamReader, headers: Headers) -> bytes:
    if "chunked" in headers.tokens("transfer-encoding"):
        return await read_chunked(reader)
    cl = headers.get("content-length")
    if cl is not None:
        try:
            n = int(cl.split(",")[0].strip())
        except ValueError:
            raise BadRequest(f"bad Content-Length {cl!r}")
        if n < 0:
            raise BadRequest("negative Content-Length")
        return await reader.readexactly(n) if n else b""
    return b""


class Request:
    def __init__(self, method, target, version, headers, body):
        self.method: str = method
        self.target: str = target
        self.version: str = version
        self.headers: Headers = headers
        self.body: bytes = body

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]

    def wants_close(self) -> bool:
        conn = self.headers.tokens("connection")
        if self.version == "HTTP/1.0":
            return "keep-alive" not in conn
        return "close" in conn


class Response:
    def __init__(self, status, reason, headers, body):
        self.status: int = status
        self.reason: str = reason
        self.headers: Headers = headers
        self.body: bytes = body


class Proxy:
    def __init__(self, upstream: str, verbose: bool):
        u = urllib.parse.urlsplit(upstream)
        if u.scheme != "http" or not u.hostname:
            raise SystemExit(f"--upstream must be http://host:port, got {upstream!r}")
        self.up_host = u.hostname
        self.up_port = u.port or 80
        self.up_prefix = u.path.rstrip("/")
        self.up_netloc = u.netloc
        self.verbose = verbose
        self.rules: list[dict] = []
        self.log: list[dict] = []
        self.auth: str | None = None
        self.auth_user: str | None = None
        self.max_body: int | None = None
        self.ism: dict | None = None  # policy id -> {"seq": n, "version": n, "policy": {...}}
        self.dashboards: dict | None = None  # {"fail": set of ids, "objects": {id: object}}
        self.tasks: set[asyncio.Task] = set()
        self.writers: set[asyncio.StreamWriter] = set()

    # ------------------------------------------------------------ plumbing

    def note(self, msg: str):
        if self.verbose:
            print(f"faultproxy: {msg}", file=sys.stderr, flush=True)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        task = asyncio.current_task()
        self.tasks.add(task)
        self.writers.add(writer)
        try:
            while True:
                keep = await self.one_request(reader, writer)
                if not keep:
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError,
                BrokenPipeError):
            pass
        except asyncio.CancelledError:
            pass
        except Exception as e:  # pragma: no cover - keep the proxy alive
            print(f"faultproxy: connection error: {e!r}", file=sys.stderr, flush=True)
        finally:
            self.writers.discard(writer)
            self.tasks.discard(task)
            if not writer.is_closing():
                writer.close()

    async def one_request(self, reader, writer) -> bool:
        """Serve one request. Returns True to keep the connection open."""
        try:
            line = await reader.readuntil(b"\n")
        except asyncio.IncompleteReadError:
            return False  # clean EOF between requests
        line = line.rstrip(b"\r\n")
        if not line:
            return True  # tolerate stray CRLF between requests
        try:
            parts = line.decode("latin-1").split()
            if len(parts) != 3 or not parts[2].startswith("HTTP/"):
                raise BadRequest(f"malformed request line {line[:80]!r}")
            method, target, version = parts
            headers = await read_headers(reader)
            if "100-continue" in headers.tokens("expect") and version != "HTTP/1.0":
                writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                await writer.drain()
            body = await read_body(reader, headers)
        except BadRequest as e:
            await self.send(writer, 400, json.dumps({"error": str(e)}).encode(), close=True)
            return False
        req = Request(method, target, version, headers, body)
        if req.path.startswith("/__proxy/"):
            status, doc = self.control(req)
            await self.send(writer, status, json.dumps(doc).encode(), close=req.wants_close())
            return not req.wants_close()
        return await self.proxied(req, writer)

    async def send(self, writer, status: int, body: bytes, headers: Headers | None = None,
                   close: bool = False, reason: str | None = None, head: bool = False):
        h = Headers(headers.items if headers else [])
        if not h.has("content-type") and body:
            h.items.append(("Content-Type", "application/json; charset=UTF-8"))
        if not (100 <= status < 200 or status in (204, 304)) and not head:
            h.set("Content-Length", str(len(body)))
        elif head and not h.has("content-length"):
            h.set("Content-Length", str(len(body)))
        if close:
            h.set("Connection", "close")
        writer.write(self.head_bytes(status, reason or reason_phrase(status), h))
        if body and not head and status not in (204, 304):
            writer.write(body)
        await writer.drain()

    @staticmethod
    def head_bytes(status: int, reason: str, headers: Headers) -> bytes:
        lines = [f"HTTP/1.1 {status} {reason}"]
        lines += [f"{k}: {v}" for k, v in headers.items]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    # ------------------------------------------------------------ control

    def control(self, req: Request):
        path, method = req.path, req.method.upper()
        try:
            payload = json.loads(req.body) if req.body.strip() else None
        except ValueError as e:
            return 400, {"error": f"invalid JSON: {e}"}
        try:
            if path == "/__proxy/faults":
                if method == "GET":
                    return 200, self.rules
                if method == "DELETE":
                    n = len(self.rules)
                    self.rules.clear()
                    return 200, {"cleared": n}
                if method == "POST":
                    rules = payload if isinstance(payload, list) else [payload]
                    parsed = [self.parse_rule(r) for r in rules]
                    self.rules.extend(parsed)
                    return 200, self.rules
            elif path == "/__proxy/requests":
                if method == "GET":
                    return 200, self.log
                if method == "DELETE":
                    n = len(self.log)
                    self.log.clear()
                    return 200, {"cleared": n}
            elif path == "/__proxy/auth":
                if method == "POST":
                    if not isinstance(payload, dict):
                        raise BadRequest("expected {\"username\": ..., \"password\": ...}")
                    user = payload.get("username")
                    if user is None:
                        self.auth = self.auth_user = None
                    else:
                        pw = payload.get("password") or ""
                        token = base64.b64encode(f"{user}:{pw}".encode()).decode()
                        self.auth = "Basic " + token
                        self.auth_user = str(user)
                    return 200, {"auth": self.auth_user}
            elif path == "/__proxy/dashboards":
                if method == "GET":
                    return 200, (self.dashboards or {}).get("objects", {})
                if method == "POST":
                    if not isinstance(payload, dict) or not isinstance(payload.get("enabled"), bool):
                        raise BadRequest("expected {\"enabled\": true|false, \"fail\": [ids]}")
                    self.dashboards = ({"fail": set(payload.get("fail") or []), "objects": {}}
                                       if payload["enabled"] else None)
                    return 200, {"dashboards": payload["enabled"]}
            elif path == "/__proxy/ism":
                if method == "GET":
                    return 200, {k: v["policy"] for k, v in (self.ism or {}).items()}
                if method == "POST":
                    if not isinstance(payload, dict) or not isinstance(payload.get("enabled"), bool):
                        raise BadRequest("expected {\"enabled\": true|false}")
                    self.ism = {} if payload["enabled"] else None
                    return 200, {"ism": payload["enabled"]}
            elif path == "/__proxy/max-body":
                if method == "POST":
                    if not isinstance(payload, dict) or "bytes" not in payload:
                        raise BadRequest("expected {\"bytes\": N | null}")
                    n = payload["bytes"]
                    if n is not None and (not isinstance(n, int) or isinstance(n, bool) or n < 0):
                        raise BadRequest("bytes must be a non-negative integer or null")
                    self.max_body = n
                    return 200, {"max_body": n}
            elif path == "/__proxy/reset":
                if method == "POST":
                    self.rules.clear()
                    self.log.clear()
                    self.auth = self.auth_user = None
                    self.max_body = None
                    return 200, {"reset": True}
            else:
                return 404, {"error": f"no control endpoint {path}"}
            return 405, {"error": f"{method} not allowed on {path}"}
        except BadRequest as e:
            return 400, {"error": str(e)}

    # ------------------------------------------------------------ Dashboards

    def import_answer(self, req: Request):
        def bad(message):
            return 400, {"statusCode": 400, "error": "Bad Request", "message": message}
        if req.method.upper() != "POST":
            return 404, {"statusCode": 404, "error": "Not Found", "message": "Not Found"}
        if (req.headers.get("osd-xsrf") or "") != "true":
            return bad("Request must contain a osd-xsrf header.")
        ctype = req.headers.get("content-type") or ""
        if not ctype.startswith("multipart/form-data") or "boundary=" not in ctype:
            return 415, {"statusCode": 415, "error": "Unsupported Media Type",
                         "message": "Unsupported Media Type"}
        boundary = ctype.split("boundary=", 1)[1].strip().strip('"').encode()
        file = None
        for part in req.body.split(b"--" + boundary):
            if b"\r\n\r\n" not in part:
                continue
            head, content = part.split(b"\r\n\r\n", 1)
            head = head.decode("latin-1")
            if 'name="file"' in head:
                if 'filename="' not in head or not head.split('filename="', 1)[1].split('"')[0].endswith(".ndjson"):
                    return bad("Invalid file extension")
                file = content[:-2] if content.endswith(b"\r\n") else content
        if file is None:
            return bad('[request body.file]: expected value of type [object] but got [undefined]')
        objects = []
        for line in file.decode("utf-8").splitlines():
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                return bad("Unexpected token in JSON")
            if not isinstance(obj, dict) or not all(k in obj for k in ("type", "id", "attributes")):
                return bad("a line is not a saved object")
            objects.append(obj)
        known = {(o["type"], o["id"]) for o in objects} | {
            (o["type"], o["id"]) for o in self.dashboards["objects"].values()}
        errors = []
        for obj in objects:
            title = obj["attributes"].get("title")
            missing = [{"type": r.get("type"), "id": r.get("id")} for r in obj.get("references", [])
                       if (r.get("type"), r.get("id")) not in known]
            if missing:
                errors.append({"id": obj["id"], "type": obj["type"], "title": title, "meta": {"title": title},
                               "error": {"type": "missing_references", "references": missing}})
            elif obj["id"] in self.dashboards["fail"]:
                errors.append({"id": obj["id"], "type": obj["type"], "title": title, "meta": {"title": title},
                               "error": {"type": "unknown", "message": "forced by the test", "statusCode": 500}})
            else:
                self.dashboards["objects"][obj["id"]] = obj
        answer = {"success": not errors, "successCount": len(objects) - len(errors)}
        if errors:
            answer["errors"] = errors
        return 200, answer

    # ------------------------------------------------------------ ISM

    def ism_answer(self, req: Request):
        def error(status, etype, reason):
            return status, {"error": {"root_cause": [{"type": etype, "reason": reason}], "type": etype,
                                      "reason": reason}, "status": status}
        parts = urllib.parse.urlsplit(req.target)
        query = urllib.parse.parse_qs(parts.query)
        rest = parts.path[len("/_plugins/_ism/policies"):].strip("/")
        method = req.method.upper()
        if not rest:
            if method != "GET":
                return error(405, "exception", "method not allowed")
            policies = [dict(v["policy"], policy_id=k) for k, v in self.ism.items()]
            return 200, {"policies": [{"_id": p["policy_id"], "policy": p} for p in policies],
                         "total_policies": len(policies)}
        pid = rest
        current = self.ism.get(pid)
        if method == "GET":
            if current is None:
                return error(404, "status_exception", "Policy not found")
            return 200, {"_id": pid, "_version": current["version"], "_seq_no": current["seq"],
                         "_primary_term": 1, "policy": dict(current["policy"], policy_id=pid)}
        if method == "DELETE":
            if current is None:
                return error(404, "status_exception", "Policy not found")
            del self.ism[pid]
            return 200, {"_id": pid, "result": "deleted"}
        if method != "PUT":
            return error(405, "exception", "method not allowed")
        try:
            body = json.loads(req.body)
        except ValueError:
            return error(400, "parse_exception", "request body is required and must be JSON")
        policy = body.get("policy") if isinstance(body, dict) else None
        problem = self.ism_problem(policy)
        if problem:
            return error(400, "illegal_argument_exception", problem)
        seq, term = query.get("if_seq_no"), query.get("if_primary_term")
        if seq or term:
            if current is None or seq != [str(current["seq"])] or term != ["1"]:
                return error(409, "version_conflict_engine_exception",
                             f"[{pid}]: version conflict, required seqNo [{seq}], primary term [{term}]")
            current.update(seq=current["seq"] + 1, version=current["version"] + 1, policy=policy)
            return 200, {"_id": pid, "_version": current["version"], "_primary_term": 1,
                         "_seq_no": current["seq"], "policy": {"policy": policy}}
        if current is not None:
            return error(409, "version_conflict_engine_exception",
                         f"[{pid}]: version conflict, document already exists (current version [{current['version']}])")
        self.ism[pid] = {"seq": 0, "version": 1, "policy": policy}
        return 201, {"_id": pid, "_version": 1, "_primary_term": 1, "_seq_no": 0, "policy": {"policy": policy}}

    @staticmethod
    def ism_problem(policy) -> str | None:
        if not isinstance(policy, dict):
            return "a policy body is {\"policy\": {...}}"
        for key in ("description", "default_state", "states"):
            if key not in policy:
                return f"policy has no {key}"
        states = policy["states"]
        if not isinstance(states, list) or not states:
            return "states must be a non-empty list"
        names = [st.get("name") for st in states if isinstance(st, dict)]
        if policy["default_state"] not in names:
            return f"default_state [{policy['default_state']}] is not a state"
        for st in states:
            for tr in st.get("transitions", []):
                if tr.get("state_name") not in names:
                    return f"transition to unknown state [{tr.get('state_name')}]"
            for action in st.get("actions", []):
                if not isinstance(action, dict) or len(action) != 1:
                    return "each action is an object with one key"
        for template in policy.get("ism_template", []):
            if not isinstance(template.get("index_patterns"), list) or not template["index_patterns"]:
                return "ism_template needs index_patterns"
        return None

    @staticmethod
    def parse_rule(r) -> dict:
        if not isinstance(r, dict):
            raise BadRequest(f"a rule must be an object, got {r!r}")
        kind = r.get("kind")
        if kind not in KINDS:
            raise BadRequest(f"unknown kind {kind!r}; expected one of {sorted(KINDS)}")
        count = r.get("count", 1)
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise BadRequest("count must be an integer >= 1")
        match = r.get("match")
        if match is not None and not isinstance(match, str):
            raise BadRequest("match must be a string or null")
        for key in ("seconds",):
            if key in r and (not isinstance(r[key], (int, float)) or r[key] < 0):
                raise BadRequest(f"{key} must be a non-negative number")
        if kind == "status":
            st = r.get("status", 503)
            if not isinstance(st, int) or not 100 <= st <= 999:
                raise BadRequest("status must be an HTTP status code")
            if "headers" in r and not isinstance(r["headers"], dict):
                raise BadRequest("headers must be an object")
        if kind == "reject_items":
            items = r.get("items")
            if items is not None and (not isinstance(items, list)
                                      or not all(isinstance(i, int) for i in items)):
                raise BadRequest("items must be a list of integers")
            every = r.get("every")
            if every is not None and (not isinstance(every, int) or every < 1):
                raise BadRequest("every must be an integer >= 1")
        rule = dict(r)
        rule["count"] = count
        rule["match"] = match
        rule["remaining"] = count
        return rule

    def take_rule(self, req: Request) -> dict | None:
        for i, rule in enumerate(self.rules):
            if rule["match"] is None or rule["match"] in req.target:
                rule["remaining"] -= 1
                if rule["remaining"] <= 0:
                    del self.rules[i]
                return rule
        return None

    # ------------------------------------------------------------ proxying

    async def proxied(self, req: Request, writer) -> bool:
        entry = {
            "method": req.method,
            "path": req.target,
            "headers": req.headers.as_dict(),
            "body_bytes": len(req.body),
            "outcome": None,
            "status": None,
        }
        self.log.append(entry)
        close = req.wants_close()
        head = req.method.upper() == "HEAD"

        async def reply(status, body, headers=None, outcome=None):
            entry["outcome"] = outcome or f"status:{status}"
            entry["status"] = status
            self.note(f"{req.method} {req.target} -> {entry['outcome']}")
            await self.send(writer, status, body, headers, close=close, head=head)
            return not close

        if self.auth is not None and (req.headers.get("authorization") or "").strip() != self.auth:
            h = Headers([("WWW-Authenticate", 'Basic realm="security"')])
            return await reply(401, error_body(401), h, "401")

        if self.dashboards is not None and req.path.endswith("/api/saved_objects/_import"):
            status, doc = self.import_answer(req)
            return await reply(status, json.dumps(doc).encode(), None, f"import:{status}")

        if self.ism is not None and req.path.startswith("/_plugins/_ism/policies"):
            status, doc = self.ism_answer(req)
            return await reply(status, json.dumps(doc).encode(), None, f"ism:{status}")

        rule = self.take_rule(req)
        kind = rule["kind"] if rule else None

        if kind is None and self.max_body is not None and len(req.body) > self.max_body:
            return await reply(413, error_body(413), None, "413")

        if kind == "status":
            status = rule.get("status", 503)
            body = rule.get("body")
            if body is None:
                body = error_body(status)
            elif isinstance(body, str):
                body = body.encode()
            else:
                body = json.dumps(body).encode()
            h = Headers([(str(k), str(v)) for k, v in (rule.get("headers") or {}).items()])
            return await reply(status, body, h)

        if kind == "reset":
            entry["outcome"] = "reset"
            self.note(f"{req.method} {req.target} -> reset")
            sock = writer.get_extra_info("socket")
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except (OSError, AttributeError):
                pass
            writer.transport.abort()
            return False

        if kind == "stall":
            entry["outcome"] = "stall"
            self.note(f"{req.method} {req.target} -> stall")
            await asyncio.sleep(float(rule.get("seconds", 30)))
            return False

        try:
            resp = await self.forward(req)
        except (OSError, asyncio.IncompleteReadError, BadRequest, asyncio.LimitOverrunError) as e:
            return await reply(502, error_body(502, "proxy_upstream_exception",
                                               f"upstream failed: {e!r}"),
                               None, "upstream_error")

        out_headers = Headers([(k, v) for k, v in resp.headers.items
                               if k.lower() not in HOP_BY_HOP])
        conn_named = resp.headers.tokens("connection") - {"close", "keep-alive"}
        out_headers.items = [(k, v) for k, v in out_headers.items
                             if k.lower() not in conn_named]

        if kind == "truncate":
            entry["outcome"] = "truncate"
            entry["status"] = resp.status
            self.note(f"{req.method} {req.target} -> truncate")
            out_headers.set("Content-Length", str(len(resp.body)))
            writer.write(self.head_bytes(resp.status, resp.reason, out_headers))
            writer.write(resp.body[: len(resp.body) // 2])
            await writer.drain()
            writer.close()
            try:
                await writer.wait_closed()
            except (ConnectionError, OSError):
                pass
            return False

        body = resp.body
        if kind == "reject_items":
            try:
                new_body = self.reject_items(req, resp, rule)
            except Exception as e:  # keep going with the original answer
                print(f"faultproxy: reject_items could not rewrite: {e!r}",
                      file=sys.stderr, flush=True)
                new_body = None
            if new_body is not None:
                body = new_body
                out_headers.remove("content-encoding")
                out_headers.remove("content-length")
                if not out_headers.has("content-type"):
                    out_headers.set("Content-Type", "application/json; charset=UTF-8")

        if kind == "delay":
            await asyncio.sleep(float(rule.get("seconds", 1)))

        if head:
            # Keep upstream's Content-Length for HEAD (it describes a GET body).
            if resp.headers.has("content-length"):
                out_headers.set("Content-Length", resp.headers.get("content-length"))
        else:
            out_headers.remove("content-length")
        return await reply(resp.status, body, out_headers, kind or "forwarded")

    async def forward(self, req: Request) -> Response:
        reader, writer = await asyncio.open_connection(self.up_host, self.up_port,
                                                       limit=READ_LIMIT)
        try:
            h = Headers()
            conn_named = req.headers.tokens("connection")
            for k, v in req.headers.items:
                lk = k.lower()
                if lk in HOP_BY_HOP or lk in conn_named or lk in ("expect", "content-length"):
                    continue
                h.items.append((k, v))
            if not h.has("host"):
                h.items.insert(0, ("Host", self.up_netloc))
            if req.body or req.headers.has("content-length") or \
                    req.headers.has("transfer-encoding") or \
                    req.method.upper() in ("POST", "PUT", "PATCH"):
                h.items.append(("Content-Length", str(len(req.body))))
            h.items.append(("Connection", "close"))
            target = self.up_prefix + req.target if self.up_prefix else req.target
            lines = [f"{req.method} {target} HTTP/1.1"] + [f"{k}: {v}" for k, v in h.items]
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + req.body)
            await writer.drain()

            while True:
                status_line = (await reader.readuntil(b"\n")).rstrip(b"\r\n").decode("latin-1")
                parts = status_line.split(" ", 2)
                if len(parts) < 2 or not parts[0].startswith("HTTP/"):
                    raise BadRequest(f"malformed upstream status line {status_line[:80]!r}")
                status = int(parts[1])
                reason = parts[2] if len(parts) > 2 else reason_phrase(status)
                rh = await read_headers(reader)
                if 100 <= status < 200 and status != 101:
                    continue  # interim response, e.g. 100 Continue
                break
            if req.method.upper() == "HEAD" or status in (204, 304) or 100 <= status < 200:
                body = b""
            elif "chunked" in rh.tokens("transfer-encoding"):
                body = await read_chunked(reader)
            elif rh.has("content-length"):
                body = await reader.readexactly(int(rh.get("content-length").split(",")[0]))
            else:
                body = await reader.read()  # until EOF
            return Response(status, reason, rh, body)
        finally:
            writer.close()
            try:
                await writer.wait_closed()
            except (ConnectionError, OSError):
                pass

    # ------------------------------------------------------------ reject_items

    @staticmethod
    def bulk_ops(req: Request) -> list[tuple[str, dict]]:
        """(op, metadata) for every action of a _bulk request body."""
        body = req.body
        enc = req.headers.tokens("content-encoding")
        if "gzip" in enc or body[:2] == b"\x1f\x8b":
            body = gzip.decompress(body)
        elif "deflate" in enc:
            body = zlib.decompress(body)
        segments = [s for s in req.path.split("/") if s]
        default_index = segments[0] if len(segments) >= 2 and segments[-1] == "_bulk" else None
        ops = []
        lines = iter(body.split(b"\n"))
        for line in lines:
            if not line.strip():
                continue
            action = json.loads(line)
            (op, meta), = action.items()
            meta = dict(meta or {})
            if "_index" not in meta and default_index:
                meta["_index"] = urllib.parse.unquote(default_index)
            ops.append((op, meta))
            if op != "delete":
                next(lines, None)
        return ops

    def reject_items(self, req: Request, resp: Response, rule: dict) -> bytes | None:
        raw = resp.body
        enc = resp.headers.tokens("content-encoding")
        if "gzip" in enc or raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        elif "deflate" in enc:
            raw = zlib.decompress(raw)
        try:
            doc = json.loads(raw) if raw.strip() else {}
        except ValueError:
            return None
        if not isinstance(doc, dict):
            return None
        items = doc.get("items")
        if not isinstance(items, list) or not items:
            # filter_path may have removed every item: rebuild them from the request.
            try:
                ops = self.bulk_ops(req)
            except Exception:
                ops = []
            if not ops:
                return None
            items = []
            for op, meta in ops:
                inner = {k: meta[k] for k in ("_index", "_id") if k in meta}
                inner["status"] = 201 if op in ("create", "index") else 200
                items.append({op: inner})
            doc["items"] = items
        n = len(items)
        chosen = set()
        sel_items, every = rule.get("items"), rule.get("every")
        if sel_items is None and every is None:
            chosen = set(range(n))
        if sel_items is not None:
            chosen |= {i for i in sel_items if 0 <= i < n}
        if every is not None:
            chosen |= set(range(every - 1, n, every))
        status = rule.get("status", 429)
        etype = rule.get("type", "es_rejected_execution_exception")
        reason = rule.get("reason", "rejected execution of coordinating operation")
        for i in sorted(chosen):
            item = items[i]
            if not isinstance(item, dict) or len(item) != 1:
                continue
            (op, inner), = item.items()
            inner = inner if isinstance(inner, dict) else {}
            new = {k: inner[k] for k in ("_index", "_id") if k in inner}
            new["status"] = status
            new["error"] = {"type": etype, "reason": reason}
            items[i] = {op: new}
        if chosen:
            doc["errors"] = True
        return json.dumps(doc, separators=(",", ":")).encode()


async def main_async(args) -> int:
    proxy = Proxy(args.upstream, args.verbose)
    server = await asyncio.start_server(proxy.handle, "127.0.0.1", args.port, limit=READ_LIMIT)
    port = server.sockets[0].getsockname()[1]

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{port}\n")
        os.replace(tmp, args.port_file)
    print(f"listening http://127.0.0.1:{port}", flush=True)

    await stop.wait()
    server.close()
    for w in list(proxy.writers):
        w.transport.abort()
    for t in list(proxy.tasks):
        t.cancel()
    if proxy.tasks:
        await asyncio.wait(list(proxy.tasks), timeout=2)
    await server.wait_closed()
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description="fault-injecting HTTP/1.1 reverse proxy")
    p.add_argument("--upstream", required=True, help="http://127.0.0.1:PORT")
    p.add_argument("--port", type=int, default=0, help="port to listen on (0 = any free port)")
    p.add_argument("--port-file", help="also write the port to this file")
    p.add_argument("--verbose", action="store_true", help="log each request to stderr")
    p.add_argument(
        "--exit-on-stdin-eof", action="store_true",
        help="exit when stdin closes (the test that started it has gone, even if killed)")
    args = p.parse_args()
    if args.exit_on_stdin_eof:
        import threading

        def watch_stdin():
            while sys.stdin.buffer.read(4096):
                pass
            os._exit(0)

        threading.Thread(target=watch_stdin, daemon=True).start()
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
