#!/usr/bin/python3
"""test/harness/http/httpfix.py PORT — loopback HTTP fixtures for the HTTP connectors.

A real HTTP/1.1 server (keep-alive, threads) with one route per behaviour the
tests need: every pagination style, every auth type (and an OAuth2 token
endpoint), 429 with Retry-After, 500 then 200, slow and oversized responses,
redirects, gzip, a SOAP endpoint, an echo of what was sent, and a receiver
for HTTP targets that records batches and Idempotency-Keys.  State (failure
counters, tokens, received batches) is kept per "key" query parameter so that
tests do not disturb each other.  Everything stays on 127.0.0.1.
"""
import base64
import gzip
import json
import os
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

LOCK = threading.Lock()
COUNTS = {}            # key -> requests seen (flaky routes)
TOKENS = {}            # token -> [token_no, uses]
TOKEN_NO = [0]
RECEIVED = {}          # key -> [batch records]
SEEN_KEYS = {}         # idempotency key -> times seen
BENCH = {}             # (per_page, page) -> body bytes

USER, PASSWORD = "alice", "s3cret-pw"
BEARER = "tok-1234567890"
API_KEY = "key-abcdef123"
CLIENT_ID, CLIENT_SECRET = "cid-etl", "csecret-789xyz"


def items(first, n, total):
    out = []
    for i in range(first, min(first + n, total + 1)):
        out.append({"id": i, "name": "item %d" % i, "price": i * 1.5, "active": i % 2 == 0,
                    "created_at": "2024-01-%02dT10:00:00Z" % (1 + i % 28), "tags": ["t%d" % (i % 3)]})
    return out


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    # ---------------------------------------------------------------- helpers
    def q(self, name, default=None):
        v = self.query.get(name)
        return v[0] if v else default

    def send(self, status, body, ctype="application/json", headers=None):
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode()
        hdrs = dict(headers or {})
        if "gzip" in self.headers.get("Accept-Encoding", "") and self.path.startswith("/gzip"):
            body = gzip.compress(body)
            hdrs["Content-Encoding"] = "gzip"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in hdrs.items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def count(self, key):
        with LOCK:
            COUNTS[key] = COUNTS.get(key, 0) + 1
            return COUNTS[key]

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    # ---------------------------------------------------------------- routes
    def do_GET(self):
        self.route()

    def do_POST(self):
        self.body = self.read_body()
        self.route()

    def do_PUT(self):
        self.do_POST()

    def do_PATCH(self):
        self.do_POST()

    def route(self):
        u = urlsplit(self.path)
        self.query = parse_qs(u.query, keep_blank_values=True)
        if not hasattr(self, "body"):
            self.body = b""
        name = "r_" + u.path.strip("/").replace("/", "_").replace("-", "_")
        fn = getattr(self, name, None)
        if fn is None:
            return self.send(404, {"error": "no route %s" % u.path})
        try:
            fn()
        except BrokenPipeError:
            pass
        finally:
            self.body = b""

    # pagination ------------------------------------------------------------
    def r_items(self):
        """page / per_page; total_pages and total in the body"""
        page, per = int(self.q("page", "1")), int(self.q("per_page", "10"))
        total = int(self.q("total", "25"))
        pages = (total + per - 1) // per
        body = {"data": items((page - 1) * per + 1, per, total), "page": page}
        if self.q("no_total") is None:
            body["total_pages"] = pages
            body["total"] = total
        self.send(200, body)

    def r_offset(self):
        off, lim = int(self.q("offset", "0")), int(self.q("limit", "10"))
        total = int(self.q("total", "25"))
        self.send(200, {"items": items(off + 1, lim, total), "total": total})

    def r_cursor(self):
        cur = self.q("cursor")
        n = int(cur[1:]) if cur else 0
        recs = items(n * 10 + 1, 10, 25)
        nxt = "c%d" % (n + 1) if (n + 1) * 10 < 25 else None
        self.send(200, {"results": recs, "next": nxt})

    def r_link(self):
        page = int(self.q("page", "1"))
        hdrs = {}
        if page < 3:
            hdrs["Link"] = '</link?page=1>; rel="first", </link?page=%d>; rel="next"' % (page + 1)
        self.send(200, items((page - 1) * 10 + 1, 10, 25), headers=hdrs)

    def r_next(self):
        page = int(self.q("page", "1"))
        body = {"data": items((page - 1) * 10 + 1, 10, 25), "links": {}}
        if page < 3:
            # relative on page 1, absolute on page 2
            body["links"]["next"] = ("next?page=%d" % (page + 1) if page == 1 else
                                     "http://%s/next?page=%d" % (self.headers["Host"], page + 1))
        self.send(200, body)

    def r_ndjson(self):
        page = int(self.q("page", "1"))
        recs = items((page - 1) * 10 + 1, 10, 25)
        self.send(200, "".join(json.dumps(r) + "\n" for r in recs), "application/x-ndjson")

    def r_csv(self):
        page = int(self.q("page", "1"))
        recs = items((page - 1) * 10 + 1, 10, 25)
        lines = ["id,name,price"] + ["%d,%s,%s" % (r["id"], r["name"], r["price"]) for r in recs]
        hdrs = {"Link": '</csv?page=%d>; rel="next"' % (page + 1)} if recs else {}
        self.send(200, "\n".join(lines) + "\n", "text/csv", hdrs)

    def r_bench(self):
        """pre-built pages; delay_ms of latency per page"""
        page, per = int(self.q("page", "1")), int(self.q("per_page", "1000"))
        pages = int(self.q("pages", "100"))
        time.sleep(int(self.q("delay_ms", "20")) / 1000.0)
        key = (per, page, pages)
        body = BENCH.get(key)
        if body is None:
            first = (page - 1) * per + 1
            recs = [{"id": i, "name": "name %d" % i, "amount": i * 0.25, "flag": i % 2 == 0,
                     "ts": "2024-03-01T12:00:00Z"} for i in range(first, first + per)] if page <= pages else []
            body = json.dumps({"data": recs, "total_pages": pages}).encode()
            BENCH[key] = body
        self.send(200, body)

    # data checks -------------------------------------------------------------
    def r_typed(self):
        """records whose 'amount' is bad on page 2, record 3"""
        page = int(self.q("page", "1"))
        recs = [{"id": (page - 1) * 5 + i, "amount": str(i)} for i in range(1, 6)]
        if page == 2:
            recs[2]["amount"] = "12,5"
        self.send(200, {"data": recs, "total_pages": 3})

    def r_raw(self):
        """the request's body back as the response: exact JSON texts (duplicate keys, exponents)"""
        self.send(200, getattr(self, "body", b""))

    def r_latin1(self):
        """JSON in Latin-1, not UTF-8: the byte after "caf" is 0xE9"""
        self.send(200, '{"data": [{"id": 1, "name": "caf\xe9"}]}'.encode("latin-1"))

    def r_notjson(self):
        self.send(200, "<html>oops " + self.headers.get("Authorization", "") + "</html>", "text/html")

    def r_echo(self):
        """what the request looked like, as one record"""
        self.send(200, [{"method": self.command, "path": urlsplit(self.path).path,
                         "query": urlsplit(self.path).query,
                         "body": self.body.decode("utf-8", "replace"),
                         "content_type": self.headers.get("Content-Type"),
                         "x_team": self.headers.get("X-Team"),
                         "user_agent": self.headers.get("User-Agent"),
                         "authorization": "present" if self.headers.get("Authorization") else None}])

    # auth --------------------------------------------------------------------
    def denied(self, why):
        # echoes what it got, as careless servers do: the connector must mask it
        got = self.headers.get("Authorization") or self.headers.get("X-API-Key") or self.q("api_key") or ""
        self.send(401, {"error": why, "received": got}, headers={"WWW-Authenticate": 'Basic realm="fix"'})

    def r_auth_basic(self):
        want = "Basic " + base64.b64encode(("%s:%s" % (USER, PASSWORD)).encode()).decode()
        if self.headers.get("Authorization") != want:
            return self.denied("bad basic credentials")
        self.send(200, [{"id": 1, "auth": "basic"}])

    def r_auth_bearer(self):
        if self.headers.get("Authorization") != "Bearer " + BEARER:
            return self.denied("bad bearer token")
        self.send(200, [{"id": 1, "auth": "bearer"}])

    def r_auth_key_header(self):
        if self.headers.get("X-API-Key") != API_KEY:
            return self.denied("bad api key")
        self.send(200, [{"id": 1, "auth": "api_key header"}])

    def r_auth_key_query(self):
        if self.q("api_key") != API_KEY:
            return self.denied("bad api key")
        self.send(200, [{"id": 1, "auth": "api_key query", "other": self.q("other")}])

    def r_oauth_token(self):
        form = parse_qs(self.body.decode())
        cid = csec = None
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            cid, _, csec = base64.b64decode(auth[6:]).decode().partition(":")
        else:
            cid = (form.get("client_id") or [None])[0]
            csec = (form.get("client_secret") or [None])[0]
        if form.get("grant_type") != ["client_credentials"] or cid != CLIENT_ID or csec != CLIENT_SECRET:
            return self.send(401, {"error": "invalid_client"})
        with LOCK:
            TOKEN_NO[0] += 1
            tok = "at-%d-%s" % (TOKEN_NO[0], "x" * 12)
            TOKENS[tok] = [TOKEN_NO[0], 0]
        self.send(200, {"access_token": tok, "token_type": "Bearer",
                        "expires_in": int(self.q("expires_in", "3600")),
                        "scope": (form.get("scope") or [""])[0]})

    def r_auth_oauth(self):
        """a token is good for uses= requests, then 401 (the server 'revoked' it)"""
        auth = self.headers.get("Authorization", "")
        tok = auth[7:] if auth.startswith("Bearer ") else None
        uses = int(self.q("uses", "1000"))
        with LOCK:
            t = TOKENS.get(tok)
            if t is not None:
                t[1] += 1
                if t[1] > uses:
                    del TOKENS[tok]
                    t = None
        if t is None:
            return self.denied("invalid token")
        page = int(self.q("page", "1"))
        self.send(200, {"data": [{"id": page, "token_no": t[0]}], "total_pages": int(self.q("pages", "1"))})

    # failures ----------------------------------------------------------------
    def r_flaky(self):
        """the first fail= requests for key= answer status= (429 with Retry-After)"""
        n = self.count("flaky:" + self.q("key", ""))
        status = int(self.q("status", "500"))
        if n <= int(self.q("fail", "1")):
            hdrs = {}
            if self.q("retry_after"):
                hdrs["Retry-After"] = self.q("retry_after")
            return self.send(status, {"error": "try again", "attempt": n}, headers=hdrs)
        self.send(200, [{"id": 1, "attempt": n}])

    def r_slow(self):
        time.sleep(int(self.q("ms", "1000")) / 1000.0)
        self.send(200, [{"id": 1, "slow": True}])

    def r_big(self):
        n = int(self.q("bytes", "2000000"))
        if self.q("chunked"):
            # no Content-Length: the cap must hold while reading
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = b" " * 65536
            sent = 0
            try:
                while sent < n:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    sent += len(chunk)
                self.wfile.write(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass
            return
        self.send(200, "[" + " " * n + "]")

    def r_redirect(self):
        self.send(302, {"moved": True}, headers={"Location": self.q("to", "/items")})

    def r_gzip_items(self):
        enc = "gzip" in self.headers.get("Accept-Encoding", "")
        self.send(200, [{"id": 1, "gzip_offered": enc}])

    # SOAP ----------------------------------------------------------------------
    CUSTOMERS = {"north": [(1, "Ann & Co"), (2, "Bjørn <AS>")], "south": [(3, "Carla")]}

    def r_soap(self):
        action = self.headers.get("SOAPAction", "")
        text = self.body.decode("utf-8", "replace")
        m = re.search(r"<c:Region>(.*?)</c:Region>", text, re.S)
        region = m.group(1) if m else ""
        if action != '"urn:GetCustomers"' or region == "FAIL" or "&" in region.replace("&amp;", "").replace("&lt;", "").replace("&gt;", "").replace("&quot;", "").replace("&apos;", ""):
            fault = ('<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
                     "<soapenv:Body><soapenv:Fault><faultcode>soapenv:Client</faultcode>"
                     "<faultstring>unknown region or action</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>")
            return self.send(500, fault, "text/xml; charset=utf-8")
        rows = "".join("<c:Customer><c:Id>%d</c:Id><c:Name>%s</c:Name></c:Customer>" %
                       (i, n.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))
                       for i, n in self.CUSTOMERS.get(region, []))
        echo = "<c:Echo>%s</c:Echo>" % region
        xml = ('<?xml version="1.0" encoding="utf-8"?>'
               '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:c="urn:erp">'
               "<soapenv:Body><c:GetCustomersResponse>%s%s</c:GetCustomersResponse></soapenv:Body></soapenv:Envelope>"
               % (rows, echo))
        self.send(200, xml, "text/xml; charset=utf-8")

    # HTTP target receiver --------------------------------------------------------
    def r_receive(self):
        key = self.q("key", "")
        ikey = self.headers.get("Idempotency-Key")
        text = self.body.decode()
        ctype = self.headers.get("Content-Type", "")
        if "ndjson" in ctype:
            rows = [json.loads(l) for l in text.splitlines() if l.strip()]
        else:
            rows = json.loads(text)
        with LOCK:
            SEEN_KEYS[ikey] = SEEN_KEYS.get(ikey, 0) + 1
            attempt = SEEN_KEYS[ikey]
            batches = RECEIVED.setdefault(key, [])
            seq = len(batches) + 1
        fail = self.q("fail_batch")
        if fail and attempt == 1 and any(r.get("id") == int(fail) for r in rows):
            with LOCK:
                batches.append({"seq": seq, "idempotency_key": ikey, "rows": len(rows), "attempt": attempt,
                                "status": 500, "method": self.command, "content_type": ctype,
                                "first_id": rows[0].get("id"), "last_id": rows[-1].get("id")})
            return self.send(500, {"error": "temporarily unavailable"})
        if self.q("always_fail") and any(r.get("id") == int(self.q("always_fail")) for r in rows):
            with LOCK:
                batches.append({"seq": seq, "idempotency_key": ikey, "rows": len(rows), "attempt": attempt,
                                "status": 503, "method": self.command, "content_type": ctype})
            return self.send(503, {"error": "down"})
        with LOCK:
            batches.append({"seq": seq, "idempotency_key": ikey, "rows": len(rows), "attempt": attempt,
                            "status": 200, "method": self.command, "content_type": ctype,
                            "first_id": rows[0].get("id") if rows else None,
                            "last_id": rows[-1].get("id") if rows else None})
        self.send(200, {"accepted": len(rows)})

    def r_receive_log(self):
        with LOCK:
            self.send(200, list(RECEIVED.get(self.q("key", ""), [])))


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128     # the default 5 drops SYNs of concurrent connects (a 1 s retransmit)


def main():
    port = int(sys.argv[1])
    srv = Server(("127.0.0.1", port), Handler)
    # --workers N (benchmarks only): N processes accept on the one socket, so
    # the server's own CPU is not what a benchmark measures; state (counters,
    # tokens, received batches) is then per process, which only /bench can bear
    workers = int(sys.argv[sys.argv.index("--workers") + 1]) if "--workers" in sys.argv else 1
    for _ in range(workers - 1):
        if os.fork() == 0:
            break
    print("httpfix listening on 127.0.0.1:%d" % port, flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
