#!/usr/bin/env python3
"""test/harness/azure_setup.py ENDPOINT — create the container the tests use
on a fresh Azurite and print `export` lines for two SAS tokens.

Azurite's well-known development account (devstoreaccount1 and its
published key) signs the requests, with this file's own SharedKey
implementation (Python's hmac, not metaetl's C), so the tests also check
metaetl against an independent signer.  The account SAS tokens are
read-write-list (METAETL_AZURITE_SAS) and read-list only
(METAETL_AZURITE_RO_SAS).  Standard library only.
"""
import base64
import datetime
import hashlib
import hmac
import sys
import urllib.parse
import urllib.request

ACCOUNT = "devstoreaccount1"
KEY = base64.b64decode("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==")
VERSION = "2021-08-06"
endpoint = sys.argv[1].rstrip("/")


def shared_key_request(method, path, query):
    url = endpoint + path + ("?" + urllib.parse.urlencode(query) if query else "")
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%a, %d %b %Y %H:%M:%S GMT")
    headers = {"x-ms-date": date, "x-ms-version": VERSION}
    resource = "/" + ACCOUNT + urllib.parse.urlparse(url).path
    for k in sorted(query):
        resource += f"\n{k.lower()}:{query[k]}"
    ctype = "application/octet-stream" if method == "PUT" else ""
    # VERB, Content-Encoding, -Language, -Length (empty for 0), -MD5, -Type, Date, If-* (4), Range
    sts = "\n".join([method, "", "", "", "", ctype, "", "", "", "", "", ""]) + "\n"
    sts += "".join(f"{k}:{headers[k]}\n" for k in sorted(headers)) + resource
    sig = base64.b64encode(hmac.new(KEY, sts.encode(), hashlib.sha256).digest()).decode()
    headers["Authorization"] = f"SharedKey {ACCOUNT}:{sig}"
    if ctype:
        headers["Content-Type"] = ctype
    req = urllib.request.Request(url, method=method, headers=headers, data=b"" if method == "PUT" else None)
    with urllib.request.urlopen(req) as r:
        return r.status


def account_sas(permissions):
    expiry = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    sv, ss, srt, spr = "2019-12-12", "b", "sco", "https,http"
    sts = "\n".join([ACCOUNT, permissions, ss, srt, "", expiry, "", spr, sv]) + "\n"
    sig = base64.b64encode(hmac.new(KEY, sts.encode(), hashlib.sha256).digest()).decode()
    return urllib.parse.urlencode({"sv": sv, "ss": ss, "srt": srt, "sp": permissions, "se": expiry,
                                   "spr": spr, "sig": sig})


assert shared_key_request("PUT", "/metaetl-test", {"restype": "container"}) == 201
print(f"export METAETL_AZURITE_SAS='{account_sas('rwdlac')}'")
print(f"export METAETL_AZURITE_RO_SAS='{account_sas('rl')}'")
