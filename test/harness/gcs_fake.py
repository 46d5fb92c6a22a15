#!/usr/bin/env python3
"""test/harness/gcs_fake.py — a FAKE standing in for Google Cloud Storage.

No emulator of GCS's XML API with HMAC signatures exists here, so the gcs
connector is tested against this loopback server instead.  It is a fake, not
GCS: it implements the part of the XML API metaetl uses (path-style
/bucket/key; ListObjectsV2 paging with list-type=2, max-keys and
continuation tokens; HEAD; GET with Range and If-Match; PUT; multipart
uploads), keeps objects in memory, and answers errors in the XML API's
<Error><Code/><Message/></Error> form.

What it is for is checking requests: every request must carry a valid
signature, verified here with this file's own implementation of the V4
algorithm (GOOG4-HMAC-SHA256 with x-goog-* headers, as GCS documents for
HMAC keys, and AWS4-HMAC-SHA256 with x-amz-* headers, which the XML API also
accepts), a payload hash that matches the body, and a date within 15
minutes.  Keys:
    GOOG1METAETLREADWRITE / gcs-fake-rw-secret     read and write
    GOOG1METAETLREADONLY  / gcs-fake-ro-secret     read only (writes: 403)
Faults, by key prefix: "throttled/" answers 503 SlowDown to the first two
requests for each object, "throttled-forever/" always.  GET /_stats
(unsigned) reports request counts and uploads in progress, for tests that
check an aborted upload left nothing behind.

Usage: gcs_fake.py --port P [--tls-port Q --cert C --key K] [--bucket B]
"""
import argparse
import base64
import datetime
import hashlib
import hmac
import http.server
import json
import re
import ssl
import threading
import urllib.parse
import uuid
from xml.etree import ElementTree

KEYS = {
    "GOOG1METAETLREADWRITE": ("gcs-fake-rw-secret", True),
    "GOOG1METAETLREADONLY": ("gcs-fake-ro-secret", False),
}
MIN_PART = 5 * 1024 * 1024

lock = threading.Lock()
buckets = {}          # bucket -> {key: (bytes, etag)}
uploads = {}          # upload id -> (bucket, key, {part number: bytes})
faults = {}           # (method, bucket, key) -> requests seen
stats = {"requests": 0, "rejected_signatures": 0}


def enc(s, keep_slash):
    return urllib.parse.quote(s, safe="-_.~" + ("/" if keep_slash else ""))


def canonical_query(raw):
    pairs = []
    for part in raw.split("&") if raw else []:
        if not part:
            continue
        name, _, value = part.partition("=")
        pairs.append((enc(urllib.parse.unquote(name), False), enc(urllib.parse.unquote(value), False)))
    pairs.sort()
    return "&".join(f"{n}={v}" for n, v in pairs)


def verify(handler, body):
    """None if the request is properly signed, else (status, code, message)."""
    auth = handler.headers.get("Authorization", "")
    m = re.match(r"^(GOOG4|AWS4)-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/(goog4|aws4)_request, "
                 r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$", auth)
    if not m:
        return 403, "AccessDenied", "Anonymous or malformed authorization."
    alg, key_id, date, region, service, term, signed, signature = m.groups()
    goog = alg == "GOOG4"
    if term != alg.lower():
        return 400, "AuthorizationHeaderMalformed", "Scope terminator does not match the algorithm."
    if key_id not in KEYS:
        return 403, "InvalidAccessKeyId", "The access key does not exist."
    secret = KEYS[key_id][0]
    date_header = "x-goog-date" if goog else "x-amz-date"
    hash_header = "x-goog-content-sha256" if goog else "x-amz-content-sha256"
    names = signed.split(";")
    if "host" not in names or date_header not in names:
        return 400, "AuthorizationHeaderMalformed", f"host and {date_header} must be signed."
    stamp = handler.headers.get(date_header, "")
    try:
        when = datetime.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        return 400, "AuthorizationHeaderMalformed", "Bad date."
    if abs((datetime.datetime.now(datetime.timezone.utc) - when).total_seconds()) > 900 or stamp[:8] != date:
        return 403, "RequestTimeTooSkewed", "The request time is too far from the server's."
    payload = handler.headers.get(hash_header)
    if payload is None:
        return 400, "MissingContentSha256", f"{hash_header} is required."
    if payload != "UNSIGNED-PAYLOAD" and payload != hashlib.sha256(body).hexdigest():
        return 400, "BadDigest", "The payload hash does not match the body."
    path, _, query = handler.path.partition("?")
    lines = []
    for n in names:
        values = handler.headers.get_all(n) or []
        lines.append(n + ":" + ",".join(" ".join(v.split()) for v in values))
    creq = "\n".join([handler.command, enc(urllib.parse.unquote(path), True), canonical_query(query),
                      "\n".join(lines) + "\n", signed, payload])
    scope = f"{date}/{region}/{service}/{term}_request"
    sts = "\n".join([f"{alg}-HMAC-SHA256", stamp, scope, hashlib.sha256(creq.encode()).hexdigest()])
    k = hmac.new((alg + secret).encode(), date.encode(), hashlib.sha256).digest()
    for part in (region, service, f"{term}_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    want = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(want, signature):
        stats["rejected_signatures"] += 1
        return 403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided."
    handler.can_write = KEYS[key_id][1]
    return None


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body=b"", headers=None):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if self.command == "HEAD":
            self.send_header("Content-Length", (headers or {}).get("Content-Length", "0"))
            self.end_headers()
            return
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def error(self, status, code, message):
        body = (f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code>"
                f"<Message>{message}</Message></Error>").encode()
        self.reply(status, body if self.command != "HEAD" else b"", {"Content-Type": "application/xml"})

    def handle_any(self):
        length = int(self.headers.get("Content-Length", "0") or 0)
        body = self.rfile.read(length) if length else b""
        path, _, query = self.path.partition("?")
        if path == "/_stats":
            with lock:
                out = dict(stats, uploads=len(uploads),
                           objects={b: sorted(o) for b, o in buckets.items()})
            return self.reply(200, json.dumps(out).encode(), {"Content-Type": "application/json"})
        with lock:
            stats["requests"] += 1
        self.can_write = False
        bad = verify(self, body)
        if bad:
            return self.error(*bad)
        q = urllib.parse.parse_qs(query, keep_blank_values=True)
        parts = urllib.parse.unquote(path).lstrip("/").split("/", 1)
        bucket, key = parts[0], parts[1] if len(parts) > 1 else ""
        if bucket not in buckets:
            return self.error(404, "NoSuchBucket", "The specified bucket does not exist.")
        if self.command in ("PUT", "POST", "DELETE") and not self.can_write:
            return self.error(403, "AccessDenied", "The key may not write.")
        if key.startswith("throttled/") or key.startswith("throttled-forever/"):
            with lock:
                n = faults.get((self.command, bucket, key), 0)
                faults[(self.command, bucket, key)] = n + 1
            if key.startswith("throttled-forever/") or n < 2:
                return self.error(503, "SlowDown", "Please reduce your request rate.")
        if not key:
            if self.command == "GET" and q.get("list-type") == ["2"]:
                return self.list(bucket, q)
            return self.error(400, "InvalidRequest", "Unsupported bucket request.")
        if self.command == "POST" and "uploads" in q:
            uid = uuid.uuid4().hex
            with lock:
                uploads[uid] = (bucket, key, {})
            return self.reply(200, (f"<?xml version='1.0' encoding='UTF-8'?><InitiateMultipartUploadResult>"
                                    f"<Bucket>{bucket}</Bucket><Key>{key}</Key><UploadId>{uid}</UploadId>"
                                    f"</InitiateMultipartUploadResult>").encode())
        if "uploadId" in q:
            return self.multipart(bucket, key, q, body)
        objects = buckets[bucket]
        if self.command == "PUT":
            etag = '"' + hashlib.md5(body).hexdigest() + '"'
            with lock:
                objects[key] = (body, etag)
            return self.reply(200, b"", {"ETag": etag})
        if self.command in ("GET", "HEAD"):
            with lock:
                obj = objects.get(key)
            if obj is None:
                return self.error(404, "NoSuchKey", "The specified key does not exist.")
            data, etag = obj
            im = self.headers.get("If-Match")
            if im and im != etag:
                return self.error(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold.")
            rng = self.headers.get("Range")
            if self.command == "HEAD" or not rng:
                return self.reply(200, data, {"ETag": etag, "Content-Length": str(len(data))})
            m = re.match(r"bytes=(\d+)-(\d+)$", rng)
            a, b = int(m.group(1)), min(int(m.group(2)), len(data) - 1)
            if a >= len(data):
                return self.error(416, "InvalidRange", "The requested range cannot be satisfied.")
            return self.reply(206, data[a:b + 1], {"ETag": etag, "Content-Range": f"bytes {a}-{b}/{len(data)}"})
        if self.command == "DELETE":
            with lock:
                objects.pop(key, None)
            return self.reply(204)
        return self.error(405, "MethodNotAllowed", "The method is not allowed.")

    def list(self, bucket, q):
        prefix = q.get("prefix", [""])[0]
        limit = int(q.get("max-keys", ["1000"])[0])
        after = q.get("continuation-token", [None])[0]
        after = base64.urlsafe_b64decode(after).decode() if after else None
        with lock:
            keys = sorted(k for k in buckets[bucket] if k.startswith(prefix) and (after is None or k > after))
            page = [(k, buckets[bucket][k]) for k in keys[:limit]]
        out = ["<?xml version='1.0' encoding='UTF-8'?>",
               "<ListBucketResult xmlns='http://doc.s3.amazonaws.com/2006-03-01'>",
               f"<Name>{bucket}</Name><Prefix>{prefix}</Prefix><KeyCount>{len(page)}</KeyCount>"]
        for k, (data, etag) in page:
            out.append(f"<Contents><Key>{k}</Key><Size>{len(data)}</Size><ETag>{etag}</ETag></Contents>")
        truncated = len(keys) > limit
        out.append(f"<IsTruncated>{'true' if truncated else 'false'}</IsTruncated>")
        if truncated:
            token = base64.urlsafe_b64encode(page[-1][0].encode()).decode()
            out.append(f"<NextContinuationToken>{token}</NextContinuationToken>")
        out.append("</ListBucketResult>")
        return self.reply(200, "".join(out).encode(), {"Content-Type": "application/xml"})

    def multipart(self, bucket, key, q, body):
        uid = q["uploadId"][0]
        with lock:
            up = uploads.get(uid)
        if up is None or up[:2] != (bucket, key):
            return self.error(404, "NoSuchUpload", "The specified upload does not exist.")
        if self.command == "PUT" and "partNumber" in q:
            n = int(q["partNumber"][0])
            etag = '"' + hashlib.md5(body).hexdigest() + '"'
            with lock:
                up[2][n] = body
            return self.reply(200, b"", {"ETag": etag})
        if self.command == "DELETE":
            with lock:
                uploads.pop(uid, None)
            return self.reply(204)
        if self.command == "POST":
            listed = [(int(p.find("PartNumber").text), p.find("ETag").text)
                      for p in ElementTree.fromstring(body).iter("Part")]
            data = []
            for i, (n, etag) in enumerate(listed):
                part = up[2].get(n)
                if part is None or '"' + hashlib.md5(part).hexdigest() + '"' != etag:
                    return self.error(400, "InvalidPart", f"Part {n} was not uploaded as listed.")
                if i < len(listed) - 1 and len(part) < MIN_PART:
                    return self.error(400, "EntityTooSmall", f"Part {n} is smaller than 5 MiB.")
                data.append(part)
            blob = b"".join(data)
            etag = '"' + hashlib.md5(blob).hexdigest() + f'-{len(listed)}"'
            with lock:
                buckets[bucket][key] = (blob, etag)
                uploads.pop(uid, None)
            return self.reply(200, (f"<?xml version='1.0' encoding='UTF-8'?><CompleteMultipartUploadResult>"
                                    f"<Bucket>{bucket}</Bucket><Key>{key}</Key><ETag>{etag}</ETag>"
                                    f"</CompleteMultipartUploadResult>").encode())
        return self.error(405, "MethodNotAllowed", "The method is not allowed.")

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--tls-port", type=int)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--bucket", default="metaetl-test")
    a = ap.parse_args()
    buckets[a.bucket] = {}
    servers = [http.server.ThreadingHTTPServer(("127.0.0.1", a.port), Handler)]
    if a.tls_port:
        tls = http.server.ThreadingHTTPServer(("127.0.0.1", a.tls_port), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.cert, a.key)
        tls.socket = ctx.wrap_socket(tls.socket, server_side=True)
        servers.append(tls)
    for s in servers[1:]:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    servers[0].serve_forever()


if __name__ == "__main__":
    main()
