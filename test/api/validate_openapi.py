#!/usr/bin/python3
"""test/api/validate_openapi.py DOC: validates an OpenAPI 3.1 document against
the OpenAPI Initiative's 3.1 JSON Schema (schema-base: the document and every
Schema Object in it use the OAS base dialect), vendored in test/api/oas-3.1/
so that the check never touches the network.  Also checks what the schema
cannot: every $ref inside the document resolves, every operation has an
operationId (unique) and documents a 2xx response.  Prints 'openapi ok'."""
import json
import os
import sys

import jsonschema

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "oas-3.1")
store = {}
for rel in ("schema.json", "schema-base.json", "dialect/base.schema.json", "meta/base.schema.json"):
    with open(os.path.join(here, rel)) as f:
        s = json.load(f)
    store[s["$id"]] = s
# the JSON Schema 2020-12 meta-schemas ship with the jsonschema package
for cls in (jsonschema.Draft202012Validator,):
    store[cls.META_SCHEMA["$id"]] = cls.META_SCHEMA
vocab_dir = os.path.join(os.path.dirname(jsonschema.__file__), "schemas", "vocabularies")
for root, _, files in os.walk(vocab_dir):
    for name in files:
        with open(os.path.join(root, name)) as f:
            s = json.load(f)
        if "$id" in s:
            store[s["$id"]] = s

with open(sys.argv[1]) as f:
    doc = json.load(f)
base = store["https://spec.openapis.org/oas/3.1/schema-base/2021-04-15"]
resolver = jsonschema.RefResolver.from_schema(base, store=store)
v = jsonschema.Draft202012Validator(base, resolver=resolver)
errors = sorted(v.iter_errors(doc), key=lambda e: list(e.path))
for e in errors:
    print("schema: %s: %s" % ("/".join(map(str, e.path)), e.message))


def walk(node, path):
    if isinstance(node, dict):
        for k, val in node.items():
            if k == "$ref" and isinstance(val, str):
                yield path, val
            else:
                yield from walk(val, path + [k])
    elif isinstance(node, list):
        for i, val in enumerate(node):
            yield from walk(val, path + [str(i)])


problems = len(errors)
for path, r in walk(doc, []):
    if not r.startswith("#/"):
        print("ref: %s: %s is not local" % ("/".join(path), r))
        problems += 1
        continue
    target = doc
    for part in r[2:].split("/"):
        target = target.get(part) if isinstance(target, dict) else None
    if target is None:
        print("ref: %s: %s does not resolve" % ("/".join(path), r))
        problems += 1
ids = []
for p, item in doc["paths"].items():
    for method, o in item.items():
        if method == "parameters":
            continue
        ids.append(o.get("operationId"))
        if not any(str(c).startswith("2") for c in o.get("responses", {})):
            print("operation %s %s has no 2xx response" % (method, p))
            problems += 1
if None in ids or len(set(ids)) != len(ids):
    print("operationIds missing or repeated: %s" % ids)
    problems += 1
if problems:
    sys.exit(1)
print("openapi ok: %d paths, %d operations" % (len(doc["paths"]), len(ids)))
