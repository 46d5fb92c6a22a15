#!/usr/bin/python3
"""test/harness/alerting/http_receiver.py PORT LOGFILE

A loopback HTTP receiver for the alerting tests: records every POST (path,
headers, body) as one JSON line in LOGFILE and answers 200 -- except under
/flaky/, where each distinct path answers 500 twice and then 200, under
/fail4xx/, which always answers 403, and under /slow/, which answers only
after 60 s (to test cancellation).  Debian's python3 only (no packages)."""
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port = int(sys.argv[1])
logfile = sys.argv[2]
lock = threading.Lock()
seen = {}


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        if self.path.startswith("/slow/"):
            time.sleep(60)
        with lock:
            n = seen.get(self.path, 0) + 1
            seen[self.path] = n
            if self.path.startswith("/flaky/") and n <= 2:
                code = 500
            elif self.path.startswith("/fail4xx/"):
                code = 403
            else:
                code = 200
            with open(logfile, "a") as f:
                f.write(json.dumps({"path": self.path, "n": n, "code": code,
                                    "headers": {k.lower(): v for k, v in self.headers.items()},
                                    "body": body.decode("utf-8", "replace")}) + "\n")
        reply = b'{"ok": true}' if code == 200 else b'{"error": "try again"}'
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, fmt, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
