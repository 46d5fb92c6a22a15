#!/usr/bin/python3
"""test/harness/lineage/validate_openlineage.py SCHEMA_DIR FILE...

Validates OpenLineage RunEvents against the OpenLineage JSON Schema in
SCHEMA_DIR (OpenLineage.json and facets/*.json, test/fixtures/openlineage):
the event against #/$defs/RunEvent, and every facet it carries against its
own facet schema (an unknown facet is an error, so nothing goes unchecked).
Formats are checked too: date-time (RFC 3339), uuid, uri.

Each FILE holds one JSON value per line: an event, or a receiver log record
({"body": "<event text>", ...}, see openlineage_receiver.py).  Prints one line
per event (eventType job.name) and exits 1 if any is invalid.
Debian's python3 with python3-jsonschema (4.x)."""
import datetime
import glob
import json
import os
import re
import sys
import urllib.parse
import uuid

import jsonschema

schema_dir = sys.argv[1]
store = {}
facet_schemas = {}
with open(os.path.join(schema_dir, "OpenLineage.json")) as f:
    core = json.load(f)
store[core["$id"]] = core
for path in glob.glob(os.path.join(schema_dir, "facets", "*.json")):
    with open(path) as f:
        s = json.load(f)
    store[s["$id"]] = s
    for key in s.get("properties", {}):
        facet_schemas[key] = s

checker = jsonschema.FormatChecker(formats=())


@checker.checks("date-time", raises=ValueError)
def check_datetime(value):
    if not isinstance(value, str):
        return True
    if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", value):
        raise ValueError("not RFC 3339: %r" % value)
    datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return True


@checker.checks("uuid", raises=ValueError)
def check_uuid(value):
    if isinstance(value, str):
        uuid.UUID(value)
        if len(value) != 36:
            raise ValueError("not a canonical uuid: %r" % value)
    return True


@checker.checks("uri", raises=ValueError)
def check_uri(value):
    if isinstance(value, str):
        u = urllib.parse.urlsplit(value)
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", u.scheme or ""):
            raise ValueError("not a URI (no scheme): %r" % value)
        if re.search(r"\s", value):
            raise ValueError("not a URI (white space): %r" % value)
    return True


def validator_for(schema_doc, ref=None):
    root = schema_doc if ref is None else {"$ref": schema_doc["$id"] + ref}
    resolver = jsonschema.RefResolver(schema_doc["$id"], schema_doc, store=store)
    return jsonschema.Draft202012Validator(root, resolver=resolver, format_checker=checker)


event_validator = validator_for(core, "#/$defs/RunEvent")
facet_validators = {k: validator_for(s) for k, s in facet_schemas.items()}


def facet_errors(where, facets):
    out = []
    for key, value in (facets or {}).items():
        v = facet_validators.get(key)
        if v is None:
            out.append("%s: facet %r has no schema to check it against" % (where, key))
            continue
        for e in v.iter_errors({key: value}):
            out.append("%s.%s: %s (at %s)" % (where, key, e.message, "/".join(map(str, e.absolute_path))))
    return out


def event_errors(ev):
    errs = ["event: %s (at %s)" % (e.message, "/".join(map(str, e.absolute_path)))
            for e in event_validator.iter_errors(ev)]
    errs += facet_errors("run.facets", ev.get("run", {}).get("facets"))
    errs += facet_errors("job.facets", ev.get("job", {}).get("facets"))
    for kind in ("inputs", "outputs"):
        for i, d in enumerate(ev.get(kind, [])):
            errs += facet_errors("%s[%d].facets" % (kind, i), d.get("facets"))
            extra = "inputFacets" if kind == "inputs" else "outputFacets"
            errs += facet_errors("%s[%d].%s" % (kind, i, extra), d.get(extra))
    return errs


bad = 0
total = 0
for name in sys.argv[2:]:
    with open(name) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            rec = json.loads(line)
            ev = json.loads(rec["body"]) if isinstance(rec, dict) and "body" in rec else rec
            total += 1
            errs = event_errors(ev)
            print("%s %s%s" % (ev.get("eventType"), ev.get("job", {}).get("name"), " INVALID" if errs else ""))
            for e in errs:
                print("  " + e)
            bad += 1 if errs else 0
print("%d events, %d invalid" % (total, bad))
sys.exit(1 if bad or total == 0 else 0)
