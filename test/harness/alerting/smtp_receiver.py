#!/usr/bin/python3
"""test/harness/alerting/smtp_receiver.py PORT MAILDIR [CERT KEY [implicit]]

A loopback SMTP server (Debian's python3-aiosmtpd) for the alerting tests.
Every message received is written to MAILDIR/NNN.eml, with its envelope in
MAILDIR/NNN.json.  AUTH PLAIN/LOGIN is offered (user metaetl, password
smtp-s3cret) without requiring TLS; given CERT and KEY it also offers
STARTTLS, or, with "implicit", speaks TLS from the start (smtps).  Runs
until SIGTERM."""
import json
import os
import signal
import ssl
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

port = int(sys.argv[1])
maildir = sys.argv[2]
os.makedirs(maildir, exist_ok=True)
count = [0]
lock = threading.Lock()
IMPLICIT = len(sys.argv) > 5 and sys.argv[5] == "implicit"


class Handler:
    async def handle_DATA(self, server, session, envelope):
        with lock:
            count[0] += 1
            n = count[0]
        base = os.path.join(maildir, "%03d" % n)
        with open(base + ".eml", "wb") as f:
            f.write(envelope.original_content or envelope.content)
        with open(base + ".json", "w") as f:
            json.dump({"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
                       "authenticated": bool(session.authenticated),
                       "tls": session.ssl is not None or IMPLICIT}, f)
        return "250 Message accepted for delivery"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == b"metaetl" and auth_data.password == b"smtp-s3cret"
    return AuthResult(success=ok)


kwargs = dict(authenticator=authenticator, auth_require_tls=False)
if len(sys.argv) > 4:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(sys.argv[3], sys.argv[4])
    if IMPLICIT:
        kwargs["ssl_context"] = ctx
    else:
        kwargs["tls_context"] = ctx
controller = Controller(Handler(), hostname="127.0.0.1", port=port, **kwargs)
controller.start()
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *a: stop.set())
signal.signal(signal.SIGINT, lambda *a: stop.set())
stop.wait()
controller.stop()
