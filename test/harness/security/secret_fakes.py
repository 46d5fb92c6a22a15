#!/usr/bin/python3
"""test/harness/security/secret_fakes.py PORT DIR -- loopback FAKES of the
secret stores no real server can run here, plus an echo endpoint.

No HashiCorp Vault or Azure Key Vault server is installable on this machine
(Debian has neither), so the security tests talk to this stand-in.  It
implements only what metaetl calls, with the real wire formats:

  Vault KV v2 (token auth):
    GET /v1/<mount>/data/<path>   header X-Vault-Token
        200 {"data": {"data": {...}, "metadata": {...}}} | 403 {"errors": [...]}
  Azure Key Vault (OAuth2 client credentials):
    POST /azure/token             form grant_type, client_id, client_secret, scope
        200 {"access_token": ..., "expires_in": 3599, "token_type": "Bearer"}
    GET /azure/secrets/<name>?api-version=7.4   header Authorization: Bearer
        200 {"value": ..., "id": ...}
  Echo (a receiver that repeats what it was sent, as careless servers do):
    any /echo/...  -> 400 with the path, the headers and the body in the reply

Secrets served are read from DIR/vault.json ({"path": {...}}) and
DIR/azure.json ({"name": "value"}); the expected token and client secret
from DIR/auth.json.  Requests are appended to DIR/requests.log.
"""
import json
import os
import sys
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(sys.argv[1])
DIR = sys.argv[2]


def load(name):
    with open(os.path.join(DIR, name)) as f:
        return json.load(f)


class Handler(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        with open(os.path.join(DIR, "requests.log"), "a") as f:
            f.write("%s %s\n" % (self.command, self.path))

    def reply(self, status, obj, ctype="application/json"):
        body = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def echo(self, body=b""):
        text = "%s %s\n%s\n%s" % (self.command, self.path, str(self.headers), body.decode("utf-8", "replace"))
        self.reply(400, text.encode(), "text/plain")

    def do_GET(self):
        auth = load("auth.json")
        url = urllib.parse.urlparse(self.path)
        if url.path.startswith("/echo"):
            return self.echo()
        if url.path.startswith("/v1/"):
            parts = url.path.split("/")
            # /v1/<mount>/data/<path...>
            if len(parts) < 5 or parts[3] != "data":
                return self.reply(404, {"errors": []})
            if self.headers.get("X-Vault-Token") != auth["vault_token"]:
                # a real Vault does not echo the token; this fake does, to test masking
                return self.reply(403, {"errors": ["permission denied for token %s" %
                                                   self.headers.get("X-Vault-Token")]})
            secrets = load("vault.json")
            path = "/".join(parts[4:])
            if path not in secrets:
                return self.reply(404, {"errors": []})
            return self.reply(200, {"data": {"data": secrets[path], "metadata": {"version": 1}}})
        if url.path.startswith("/azure/secrets/"):
            if self.headers.get("Authorization") != "Bearer " + auth["azure_access_token"]:
                return self.reply(401, {"error": {"code": "Unauthorized",
                                                  "message": "bad token %s" % self.headers.get("Authorization")}})
            name = url.path.split("/")[-1]
            secrets = load("azure.json")
            if name not in secrets:
                return self.reply(404, {"error": {"code": "SecretNotFound"}})
            return self.reply(200, {"value": secrets[name], "id": "https://fake.vault/secrets/" + name})
        self.reply(404, {})

    def do_POST(self):
        auth = load("auth.json")
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n)
        url = urllib.parse.urlparse(self.path)
        if url.path.startswith("/echo"):
            return self.echo(body)
        if url.path == "/azure/token":
            form = urllib.parse.parse_qs(body.decode())
            if form.get("client_secret", [""])[0] != auth["azure_client_secret"]:
                return self.reply(401, {"error": "invalid_client",
                                        "error_description": "bad secret %s" % form.get("client_secret")})
            return self.reply(200, {"access_token": auth["azure_access_token"], "expires_in": 3599,
                                    "token_type": "Bearer"})
        self.reply(404, {})


ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
