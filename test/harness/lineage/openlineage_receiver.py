#!/usr/bin/python3
"""test/harness/lineage/openlineage_receiver.py PORT LOGFILE

A loopback OpenLineage endpoint for the lineage tests: records every POST
(path, headers, body) as one JSON line in LOGFILE and answers 201 -- except
under /flaky/, where the first two POSTs answer 503 (the sender must retry),
and under /reject/, which always answers 400 (a permanent failure).
Debian's python3 only (no packages)."""
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port = int(sys.argv[1])
logfile = sys.argv[2]
lock = threading.Lock()
count = {"flaky": 0}


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        with lock:
            code = 201
            if self.path.startswith("/flaky/"):
                count["flaky"] += 1
                if count["flaky"] <= 2:
                    code = 503
            elif self.path.startswith("/reject/"):
                code = 400
            with open(logfile, "a") as f:
                f.write(json.dumps({"path": self.path, "code": code,
                                    "headers": {k.lower(): v for k, v in self.headers.items()},
                                    "body": body.decode("utf-8", "replace")}) + "\n")
        reply = b"{}" if code < 300 else b'{"error": "not now"}'
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, fmt, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
