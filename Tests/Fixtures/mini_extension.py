#!/usr/bin/env python3
"""mini_extension.py - a minimal scripted Lambda external extension for the LambdaSimulator tests.

Standard library only. It does what an extension must (register, subscribe to the Telemetry API
with a small HTTP listener, loop on /next, exit on SHUTDOWN) and writes down everything it sees,
so a test can compare it with the simulator's ledger. Environment variables choose misbehaviour.

Records (in $MINI_OUT, one JSON object per line, appended):
  events.jsonl      {"pid", "event", "delivery"} for every event of every delivery it acknowledged
                    (written before the 2xx; "delivery" numbers the deliveries this process received)
  deliveries.jsonl  {"pid", "count", "status"} per delivery received
  lifecycle.jsonl   {"pid", "step": "register"|"subscribe"|"event", ...} (answers and /next events)
  probes.jsonl      {"pid", "kind", "request", "status", "body"} for each probe request

Variables:
  MINI_OUT                  folder for the records (required)
  MINI_REGISTER_PROBES      JSON list of {"name", "events"} registrations tried before the real one
  MINI_SUBSCRIBE_PROBES     JSON list of subscription bodies tried before the real one; "$URI" in a
                            body's destination URI is replaced with the listener's URI
  MINI_EVENTS               events to register for (default INVOKE,SHUTDOWN)
  MINI_ACCEPT_ACCOUNT_ID    1: send Lambda-Extension-Accept-Feature: accountId
  MINI_SUBSCRIBE            0: do not subscribe
  MINI_SCHEMA               schemaVersion (default 2022-12-13)
  MINI_TYPES                types (default platform,function,extension)
  MINI_TIMEOUT_MS           buffering.timeoutMs (default 25)
  MINI_ACK_STATUSES         statuses for successive deliveries, the last one repeats (default 200)
  MINI_ACK_DELAY_MS         pause before answering a delivery
  MINI_ACK_DELAY_ONCE       1: pause only for the first delivery per $MINI_OUT (while
                            $MINI_OUT/ack-delayed is absent), so a restarted process answers at once
  MINI_PRINT_PER_DELIVERY   1: print a line per delivery (which Lambda feeds back as telemetry)
  MINI_INIT_DELAY_MS        pause before registering, only while $MINI_OUT/init-delayed is absent
  MINI_INIT_ERROR           1: report /init/error and exit 1 instead of looping
  MINI_ON_INVOKE            stall: never call /next again; late:MS: call it MS after the INVOKE
                            (only once per $MINI_OUT: while $MINI_OUT/invoke-misbehaved is absent)
  MINI_EXIT_ERROR           1: report /exit/error at SHUTDOWN (then behave as MINI_ON_SHUTDOWN says)
  MINI_ON_SHUTDOWN          exit (default) | hang: never exit | drain:MS: exit 0 once no delivery
                            came for MS
"""
import json
import os
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

API = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"]
NAME = os.path.basename(sys.argv[0])
OUT = os.environ["MINI_OUT"]
LOCK = threading.Lock()
DELIVERIES = [0]
LAST_DELIVERY = [time.monotonic()]
IN_PROGRESS = [0]


def record(file, entry):
    entry = dict(entry, pid=os.getpid())
    with LOCK, open(os.path.join(OUT, file), "a") as handle:
        handle.write(json.dumps(entry) + "\n")
        handle.flush()


def call(method, path, body=None, headers=None):
    """One request to the platform API, no timeout (as /next requires); (status, headers, body)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(API + path, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


class Listener(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        try:
            events = json.loads(body)
            assert isinstance(events, list)
        except Exception:
            # Malformed: refused, and not counted in the MINI_ACK_STATUSES sequence.
            record("deliveries.jsonl", {"count": 0, "status": 400, "malformed": True})
            self.send_response(400)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        with LOCK:
            DELIVERIES[0] += 1
            number = DELIVERIES[0]
            IN_PROGRESS[0] += 1
        statuses = os.environ.get("MINI_ACK_STATUSES", "200").split(",")
        status = int(statuses[min(number, len(statuses)) - 1])
        delay = int(os.environ.get("MINI_ACK_DELAY_MS", "0"))
        if delay and os.environ.get("MINI_ACK_DELAY_ONCE") == "1":
            ack_flag = os.path.join(OUT, "ack-delayed")
            if os.path.exists(ack_flag):
                delay = 0
            else:
                open(ack_flag, "w").close()
        record("deliveries.jsonl", {"count": len(events), "status": status})
        if delay:
            time.sleep(delay / 1000)
        if 200 <= status < 300:
            for event in events:
                record("events.jsonl", {"event": event, "delivery": number})
        if os.environ.get("MINI_PRINT_PER_DELIVERY") == "1":
            print(f"delivery {number}: {len(events)} events", flush=True)
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()
        with LOCK:
            IN_PROGRESS[0] -= 1
            LAST_DELIVERY[0] = time.monotonic()

    def log_message(self, *args):
        pass


def main():
    delay_flag = os.path.join(OUT, "init-delayed")
    if os.environ.get("MINI_INIT_DELAY_MS") and not os.path.exists(delay_flag):
        open(delay_flag, "w").close()
        time.sleep(int(os.environ["MINI_INIT_DELAY_MS"]) / 1000)

    for probe in json.loads(os.environ.get("MINI_REGISTER_PROBES", "[]")):
        status, _, body = call(
            "POST", "/2020-01-01/extension/register", {"events": probe["events"]},
            {"Lambda-Extension-Name": probe["name"]})
        record("probes.jsonl", {"kind": "register", "request": probe, "status": status, "body": body})

    headers = {"Lambda-Extension-Name": NAME}
    if os.environ.get("MINI_ACCEPT_ACCOUNT_ID") == "1":
        headers["Lambda-Extension-Accept-Feature"] = "accountId"
    events = os.environ.get("MINI_EVENTS", "INVOKE,SHUTDOWN").split(",")
    status, answer_headers, body = call("POST", "/2020-01-01/extension/register", {"events": events}, headers)
    identifier = answer_headers.get("Lambda-Extension-Identifier")
    record("lifecycle.jsonl", {"step": "register", "status": status, "body": body, "identifier": identifier,
                               "environment": dict(os.environ)})
    if status != 200:
        sys.exit(1)
    identified = {"Lambda-Extension-Identifier": identifier, "Content-Type": "application/json"}

    if os.environ.get("MINI_INIT_ERROR") == "1":
        call("POST", "/2020-01-01/extension/init/error",
             {"errorMessage": "told to fail", "errorType": "Extension.Scripted", "stackTrace": []},
             dict(identified, **{"Lambda-Extension-Function-Error-Type": "Extension.Scripted"}))
        sys.exit(1)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Listener)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    uri = f"http://sandbox.localdomain:{server.server_address[1]}/telemetry"

    for probe in json.loads(os.environ.get("MINI_SUBSCRIBE_PROBES", "[]")):
        text = json.dumps(probe).replace("$URI", uri)
        status, _, body = call("PUT", "/2022-07-01/telemetry", json.loads(text), identified)
        record("probes.jsonl", {"kind": "subscribe", "request": json.loads(text), "status": status, "body": body})

    if os.environ.get("MINI_SUBSCRIBE", "1") == "1":
        subscription = {
            "schemaVersion": os.environ.get("MINI_SCHEMA", "2022-12-13"),
            "destination": {"protocol": "HTTP", "URI": uri},
            "types": os.environ.get("MINI_TYPES", "platform,function,extension").split(","),
            "buffering": {"maxItems": 1000, "maxBytes": 262144,
                          "timeoutMs": int(os.environ.get("MINI_TIMEOUT_MS", "25"))},
        }
        status, _, body = call("PUT", "/2022-07-01/telemetry", subscription, identified)
        record("lifecycle.jsonl", {"step": "subscribe", "status": status, "body": body})

    while True:
        status, _, body = call("GET", "/2020-01-01/extension/event/next", None, identified)
        event = json.loads(body) if status == 200 else {"status": status, "body": body}
        record("lifecycle.jsonl", {"step": "event", "event": event})
        if event.get("eventType") == "INVOKE":
            behaviour = os.environ.get("MINI_ON_INVOKE", "")
            flag = os.path.join(OUT, "invoke-misbehaved")
            if os.path.exists(flag):
                behaviour = ""
            elif behaviour:
                open(flag, "w").close()
            if behaviour == "stall":
                while True:
                    time.sleep(3600)
            if behaviour.startswith("late:"):
                time.sleep(int(behaviour[5:]) / 1000)
        elif event.get("eventType") == "SHUTDOWN":
            if os.environ.get("MINI_EXIT_ERROR") == "1":
                call("POST", "/2020-01-01/extension/exit/error",
                     {"errorMessage": "told to fail", "errorType": "Extension.Scripted", "stackTrace": []},
                     dict(identified, **{"Lambda-Extension-Function-Error-Type": "Extension.ScriptedExit"}))
            behaviour = os.environ.get("MINI_ON_SHUTDOWN", "exit")
            if behaviour == "hang":
                while True:
                    time.sleep(3600)
            if behaviour.startswith("drain:"):
                quiet = int(behaviour[6:]) / 1000
                with LOCK:
                    LAST_DELIVERY[0] = time.monotonic()
                while True:
                    with LOCK:
                        waited = 0 if IN_PROGRESS[0] else time.monotonic() - LAST_DELIVERY[0]
                    if waited >= quiet:
                        break
                    time.sleep(quiet - waited)
            sys.exit(0)
        else:
            sys.exit(2)


main()
