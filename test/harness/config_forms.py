#!/usr/bin/env python3
"""Every documented configuration form registers (case 14_config_forms).

    config_forms.py gen SCHEMA VOCAB DOCS_DIR OUT.sql OUT.json
    config_forms.py check OUT.json RESULTS

gen walks docs/config-schema.json and the validator's vocabulary
(etl._config_vocabulary(), the tables validate_config checks against) and
writes one SQL query per form: a minimal pipeline for every source type,
target type and mode, transform type, quality rule kind, incremental mode,
on_schema_change and engine, each again with every option key its type
takes, each again with a misspelt key; and every ```yaml example of
docs/*.md, wrapped in a minimal pipeline when it is a fragment (sources:,
sla:, ...).  check reads psql's output and fails (exit 1) when a form is
refused, a misspelt key is not refused at its config path, or the schema and
the validator disagree on a type, mode, key or param (in either direction).
"""
import glob
import json
import re
import sys

import yaml


class CoreLoader(yaml.SafeLoader):
    """YAML 1.2 core schema booleans, as metaetl reads them (on/yes/no stay text)."""


CoreLoader.yaml_implicit_resolvers = {k: [(t, r) for t, r in v if t != "tag:yaml.org,2002:bool"]
                                      for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}
for _ch in "tTfF":
    CoreLoader.yaml_implicit_resolvers.setdefault(_ch, []).append(
        ("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")))

SRC = {"id": "s", "type": "postgresql", "table": "forms.src"}
TGT = {"id": "t", "type": "postgresql", "table": "forms.out"}
# types read without a connection (the rest name one; it need not exist yet:
# a warning)
NO_CONNECTION = {"postgresql", "postgres", "table", "query", "inline", "csv", "json", "ndjson", "file"}
# values for keys whose kind alone does not say enough
KEY_SAMPLES = {
    "rows": [{"id": 1, "name": "a"}], "split_key": "id", "workers": 2, "query": "SELECT id, name FROM forms.src",
    "table": "forms.src", "path": "/tmp/forms/in.csv", "file": "/tmp/forms/in.csv", "key": "in/x.csv",
    "prefix": "in/", "pattern": "*.csv", "envelope": "<GetAll/>", "records_xpath": "//row",
    "action": "urn:GetAll", "columns": {"id": "int", "name": "text"}, "types": {"id": "int"},
    "namespaces": {"x": "urn:x"}, "delimiter": ";", "quote": "'", "escape": "\\", "null": "NA",
    "encoding": "UTF8", "file_column": "source_file", "records": "$.items", "body": {"q": 1},
    "headers": {"X-Test": "1"}, "params": {"page": 1}, "auth": {"type": "bearer", "credential": "tok"},
    "pagination": {"type": "page", "param": "page"}, "batch_size": 100, "idempotency_header": "Idempotency-Key",
    "schema": "forms", "options": {}, "header": True, "close_deleted": True, "bulk": "auto",
}
# keys that need another key with them (or instead of a one-of key)
KEY_WITH = {"pattern": {"prefix": "in/"}, "split_key": {"table": "forms.src"}, "workers": {"split_key": "id", "table": "forms.src"}}
# format: the type's own, or csv
FORMAT_OF = {"csv": "csv", "json": "json", "ndjson": "ndjson"}
RULES = {
    "completeness": {"column": "name"}, "validity": {"column": "id", "check": "range", "min": 0},
    "uniqueness": {"column": "id"}, "consistency": {"expression": "id > 0"},
    "referential": {"column": "id", "ref_table": "forms.src", "ref_column": "id"},
    "freshness": {"column": "ts", "max_age": "1 day"}, "row_count": {"min": 1},
    "schema": {"required_columns": ["id"]}, "custom": {"query": "SELECT 0"},
    "min": {"column": "id", "min": 0}, "max": {"column": "id", "max": 10}, "mean": {"column": "id", "min": 0},
    "sum": {"column": "id", "min": 0}, "stddev": {"column": "id", "max": 10}, "median": {"column": "id", "min": 0},
    "quantile": {"column": "id", "q": 0.5, "min": 0}, "distinct_count": {"column": "id", "min": 1},
    "proportion_unique": {"column": "id", "min": 0.5}, "most_common": {"column": "name", "in": ["a"]},
    "distinct_values": {"column": "name", "contains": ["a"]}, "monotonic": {"column": "id", "direction": "increasing", "order_by": "ts"},
    "parseable": {"column": "name", "as": "numeric"}, "date_format": {"column": "name", "format": "YYYY-MM-DD"},
    "column_pair": {"columns": ["id", "amount"], "check": "less"}, "columns": {"contains": ["id"]},
    "column_count": {"min": 1}, "column_types": {"types": {"id": "integer"}},
    "row_count_equal": {"ref": "forms.src"}, "outliers": {"columns": ["amount"], "method": "iqr"},
    "drift": {"column": "amount", "method": "ks"}, "range": {"column": "id", "min": 0},
    "pattern": {"column": "name", "pattern": "^[a-z]+$"}, "format": {"column": "name", "format": "email"},
    "allowed_values": {"column": "name", "values": ["a", "b"]}, "length": {"column": "name", "max": 10},
}
STEPS = {
    "filter": {"condition": "id > 0"}, "map": {"columns": {"id2": "id * 2"}}, "select": {"columns": ["id"]},
    "drop": {"columns": ["name"]}, "aggregate": {"groupby_cols": ["name"], "agg_functions": {"id": "sum"}},
    "join": {"right": "forms.src", "on": ["id"]}, "pivot": {"index": ["id"], "columns": "name", "values": "amount",
                                                           "pivot_values": ["a"]},
    "unpivot": {"id_cols": ["id"], "value_cols": ["name"]}, "dedupe": {"keys": ["id"]},
    "sort": {"by": ["id"]}, "limit": {"n": 5}, "union": {"inputs": ["s"]},
    "window": {"partition_by": ["name"], "order_by": ["id"], "columns": {"rn": "row_number()"}},
    "fill_null": {"values": {"name": "?"}}, "sql": {"query": "SELECT id FROM {{input}}"},
    "udf": {"function": "pg_catalog.upper", "args": ["name"], "output": "up"},
}
PARAM_SAMPLES = {
    "having": "sum(id) > 0", "count_rows": "n", "aggregates": [{"column": "id", "function": "sum", "as": "total"}],
    "mapping": {"name": "label"}, "casts": {"id": "bigint"}, "left_on": ["id"], "right_on": ["id"],
    "condition": "id > 0", "suffixes": ["_a", "_b"], "how": "left", "agg": "sum", "max_values": 5,
    "name_col": "k", "value_col": "v", "order": "id", "max_values": 5, "keep": "last", "distinct": True,
    "set_returning": False, "output": "up", "partition_by": ["name"], "order_by": ["id"],
}


def kind_sample(name, spec):
    if name in KEY_SAMPLES:
        return KEY_SAMPLES[name]
    kind = spec.get("kind")
    if kind == "enum":
        return spec["values"][0]
    return {"string": "x", "id": "x", "relname": "forms.src", "query": "SELECT 1 AS id", "number": 1,
            "integer": 1, "bool": True, "object": {}, "strlist": ["a"], "columns": {"id": "int"}}.get(kind, "x")


def minimal(t, keys, base):
    form = dict(base, type=t)
    form.pop("table", None)
    oneof_done = False
    for k, ks in keys.items():
        if ks.get("kind") == "common":
            continue
        if ks.get("required") or (ks.get("oneof") and not oneof_done):
            form[k] = kind_sample(k, ks)
            oneof_done = oneof_done or ks.get("oneof", False)
    if t not in NO_CONNECTION:
        form["connection"] = "c_" + t
    return form


def pipeline(i, sources=None, targets=None, **extra):
    p = {"id": "f%d" % i, "sources": sources or [dict(SRC)], "targets": targets or [dict(TGT)]}
    p.update(extra)
    return {"pipeline": p}


def misspelt(k):
    return k + k[-1]


def gen(schema_path, vocab_path, docs_dir, out_sql, out_json):
    schema = json.load(open(schema_path))
    vocab = json.load(open(vocab_path))
    forms = []   # {config, expect: ok | refuse:<path>, what, register}

    def add(what, cfg, expect="ok", register=False, key=None):
        forms.append({"what": what, "config": cfg, "expect": expect, "register": register, "key": key})

    n = 0
    for t, d in vocab["source_types"].items():
        n += 1
        m = minimal(t, d["keys"], SRC)
        targets = [dict(TGT, input="s")]
        add("source type %s" % t, pipeline(n, [m], targets), register=True)
        n += 1
        first = next((k for k in m if k not in ("id", "type", "connection")), "type")
        add("source type %s, misspelt key" % t, pipeline(n, [dict(m, **{misspelt(first): 1})], targets),
            "refuse:pipeline.sources[0].%s" % misspelt(first))
        for k, ks in d["keys"].items():
            if ks.get("kind") == "common" or k in m:
                continue
            f = dict(m)
            if ks.get("oneof"):
                for k2, ks2 in d["keys"].items():
                    if ks2.get("oneof"):
                        f.pop(k2, None)
            f[k] = kind_sample(k, ks)
            for k2, v2 in KEY_WITH.get(k, {}).items():
                if k2 not in d["keys"]:
                    continue
                if d["keys"].get(k2, {}).get("oneof"):
                    for k3, ks3 in d["keys"].items():
                        if ks3.get("oneof"):
                            f.pop(k3, None)
                f[k2] = v2
            if k == "format" and ks.get("kind") != "enum":
                f[k] = FORMAT_OF.get(t, "csv")
            n += 1
            add("source type %s, key %s" % (t, k), pipeline(n, [f], targets), key="pipeline.sources[0].%s" % k)
    for t, d in vocab["target_types"].items():
        m = minimal(t, d["keys"], TGT)
        for mode in (d.get("modes") or vocab["target_modes"]):
            f = dict(m, mode=mode)
            if mode in ("upsert", "delete_insert", "scd2", "merge_changes"):
                f["keys"] = ["id"]
            n += 1
            add("target type %s, mode %s" % (t, mode), pipeline(n, targets=[f]), register=True)
        n += 1
        first = next((k for k in m if k not in ("id", "type", "connection")), "type")
        add("target type %s, misspelt key" % t, pipeline(n, targets=[dict(m, **{misspelt(first): 1})]),
            "refuse:pipeline.targets[0].%s" % misspelt(first))
        for k, ks in d["keys"].items():
            if ks.get("kind") == "common" or k in m:
                continue
            f = dict(m)
            if ks.get("oneof"):
                for k2, ks2 in d["keys"].items():
                    if ks2.get("oneof"):
                        f.pop(k2, None)
            f[k] = kind_sample(k, ks) if k != "format" or ks.get("kind") == "enum" else FORMAT_OF.get(t, "csv")
            n += 1
            add("target type %s, key %s" % (t, k), pipeline(n, targets=[f]), key="pipeline.targets[0].%s" % k)
    tprops = schema["properties"]["pipeline"]["properties"]["targets"]["items"]["properties"]
    for osc in tprops["on_schema_change"]["enum"]:
        n += 1
        add("on_schema_change %s" % osc, pipeline(n, targets=[dict(TGT, on_schema_change=osc)]), register=True)
    for step, params in STEPS.items():
        n += 1
        add("transform type %s" % step, pipeline(n, transforms=[{"id": "x", "type": step, "params": params}]),
            register=True)
        n += 1
        add("transform type %s, misspelt param" % step,
            pipeline(n, transforms=[{"id": "x", "type": step, "params": dict(params, **{misspelt(list(params)[0]): 1})}]),
            "refuse:pipeline.transforms[0].params.%s" % misspelt(list(params)[0]))
        for k in vocab["transform_types"]["types"].get(step, {}).get("params", {}):
            if k in params or k not in PARAM_SAMPLES:
                continue
            p = dict(params, **{k: PARAM_SAMPLES[k]})
            if step == "aggregate" and k == "aggregates":
                p.pop("agg_functions")
            if step == "join" and k in ("left_on", "right_on", "condition"):
                p.pop("on", None)
                if k == "left_on":
                    p["right_on"] = ["id"]
                if k == "right_on":
                    p["left_on"] = ["id"]
            n += 1
            add("transform type %s, param %s" % (step, k),
                pipeline(n, transforms=[{"id": "x", "type": step, "params": p}]),
                key="pipeline.transforms[0].params.%s" % k)
    rprops = schema["properties"]["pipeline"]["properties"]["quality"]["properties"]["rules"]["items"]["properties"]
    for kind in rprops["type"]["enum"]:
        body = RULES.get(kind)
        n += 1
        if body is None:
            forms.append({"what": "rule kind %s: no minimal form in config_forms.py" % kind, "missing": True})
            continue
        add("rule kind %s" % kind, pipeline(n, quality={"rules": [dict(body, type=kind)]}), register=True)
        n += 1
        add("rule kind %s, misspelt key" % kind,
            pipeline(n, quality={"rules": [dict(body, type=kind, **{misspelt(list(body)[0]): 1})]}),
            "refuse:pipeline.quality.rules[0].%s" % misspelt(list(body)[0]))
    sprops = schema["properties"]["pipeline"]["properties"]["sources"]["items"]["properties"]
    for mode in sprops["incremental"]["properties"]["mode"]["enum"]:
        inc = {"mode": mode}
        if mode in ("timestamp", "id"):
            inc["column"] = "id" if mode == "id" else "ts"
        if mode == "log_cdc":
            inc["slot"] = "forms_slot"
        n += 1
        add("incremental mode %s" % mode,
            pipeline(n, [dict(SRC, incremental=inc)], [dict(TGT, mode="upsert", keys=["id"])]))
    for eng in schema["properties"]["pipeline"]["properties"]["engine"]["enum"]:
        n += 1
        add("engine %s" % eng, pipeline(n, engine=eng), register=True)
    for k in schema["properties"]["pipeline"]["properties"]:
        n += 1
        add("pipeline key %s, misspelt" % k, pipeline(n, **{misspelt(k): 1}), "refuse:pipeline.%s" % misspelt(k))

    # the ```yaml examples of the docs, fragments wrapped in a minimal pipeline
    for page in sorted(glob.glob(docs_dir + "/*.md")):
        text = open(page).read()
        for m in re.finditer(r"^```ya?ml[^\n]*\n(.*?)^```", text, re.S | re.M):
            line = text[:m.start()].count("\n") + 1
            try:
                doc = yaml.safe_load(m.group(1))
            except yaml.YAMLError as e:
                forms.append({"what": "%s:%d: not YAML: %s" % (page, line, e), "missing": True})
                continue
            if not isinstance(doc, dict) or not set(doc) <= set(schema["properties"]) | set(
                    schema["properties"]["pipeline"]["properties"]):
                continue        # not a pipeline (a Prometheus scrape config, ...)
            n += 1
            raw = None
            if "pipeline" in doc:
                cfg, raw = doc, m.group(1)
            else:
                cfg = pipeline(n, **doc)
                p = cfg["pipeline"]
                if "sources" in doc and "targets" not in doc:
                    p["targets"] = [dict(TGT, id="t%d" % j, table="forms.out%d" % j, input=src["id"])
                                    for j, src in enumerate(doc["sources"])]
                for t in p["targets"]:
                    t.setdefault("input", p["sources"][0]["id"])
                fed = {t["input"] for t in p["targets"]}
                p["targets"] += [dict(TGT, id="t%d" % j, table="forms.out%d" % j, input=src["id"])
                                 for j, src in enumerate(p["sources"]) if src["id"] not in fed]
                # the parameters its templates name, declared
                names = sorted(set(re.findall(r"\{\{\s*param\.([a-z_][a-z0-9_]*)", m.group(1))))
                if names and "params" not in doc:
                    p["params"] = {x: "x" for x in names}
            forms.append({"what": "%s:%d" % (page.split("/")[-1], line), "config": cfg, "expect": "ok",
                          "register": False, "key": None, "raw": raw})

    with open(out_sql, "w") as f:
        f.write("SET client_min_messages = warning;\n")
        f.write("CREATE FUNCTION pg_temp.reg(c text) RETURNS text LANGUAGE plpgsql AS $$\n"
                "BEGIN PERFORM etl.register_pipeline(c); RETURN 'ok';\n"
                "EXCEPTION WHEN OTHERS THEN RETURN SQLSTATE || ': ' || SQLERRM; END $$;\n")
        for i, fm in enumerate(forms):
            if fm.get("missing"):
                continue
            text = fm.get("raw") or yaml.safe_dump(fm["config"], sort_keys=False)
            fm["text"] = text
            f.write("SELECT %d, severity, path, replace(message, E'\\n', ' ') FROM etl.validate_config($cfg$%s$cfg$)"
                    " UNION ALL SELECT %d, 'end', '', '';\n" % (i, text, i))
            if fm["register"]:
                f.write("SELECT %d, 'register', '', pg_temp.reg($cfg$%s$cfg$);\n" % (i, text))
    json.dump({"forms": forms}, open(out_json, "w"))


def check(forms_json, results, schema_path, vocab_path, valid_lists):
    forms = json.load(open(forms_json))["forms"]
    schema = json.load(open(schema_path))
    vocab = json.load(open(vocab_path))
    rows = {}
    for line in open(results):
        parts = line.rstrip("\n").split("|", 3)
        if len(parts) == 4 and parts[0].isdigit():
            rows.setdefault(int(parts[0]), []).append(parts[1:])
    bad = []
    for i, fm in enumerate(forms):
        if fm.get("missing"):
            bad.append(fm["what"])
            continue
        got = rows.get(i, [])
        if not any(r[0] == "end" for r in got):
            bad.append("%s: validate_config gave no answer" % fm["what"])
            continue
        errors = [r for r in got if r[0] == "error"]
        reg = [r[2] for r in got if r[0] == "register"]
        if fm["expect"] == "ok":
            bad_errors = errors
            if bad_errors:
                bad.append("%s: refused: %s" % (fm["what"], "; ".join("%s: %s" % (e[1], e[2]) for e in bad_errors)))
            elif reg and reg[0] != "ok" and not errors:
                bad.append("%s: validates but register_pipeline refuses: %s" % (fm["what"], reg[0]))
        else:
            path = fm["expect"].split(":", 1)[1]
            if not any(e[1] == path for e in errors):
                bad.append("%s: not refused at %s (errors: %s)" % (fm["what"], path, errors))

    # the schema against the validator, both ways
    pp = schema["properties"]["pipeline"]["properties"]

    def same(what, a, b):
        a, b = set(a), set(b)
        if a != b:
            bad.append("%s: only in the schema: %s; only in validate_config: %s"
                       % (what, sorted(a - b) or "-", sorted(b - a) or "-"))
    same("source types", pp["sources"]["items"]["properties"]["type"]["enum"], vocab["source_types"])
    same("target types", pp["targets"]["items"]["properties"]["type"]["enum"], vocab["target_types"])
    same("target modes", pp["targets"]["items"]["properties"]["mode"]["enum"], vocab["target_modes"])
    same("transform types", pp["transforms"]["items"]["properties"]["type"]["enum"], vocab["transform_types"]["types"])
    same("pipeline keys", pp, vocab["pipeline_keys"])
    same("quality rule types", pp["quality"]["properties"]["rules"]["items"]["properties"]["type"]["enum"],
         vocab["rule_types"])
    same("transform keys", pp["transforms"]["items"]["properties"], vocab["transform_types"]["keys"])
    if not set(vocab["engines"]) <= set(pp["engine"]["enum"]):
        bad.append("engines missing from the schema: %s" % sorted(set(vocab["engines"]) - set(pp["engine"]["enum"])))
    for section, vk in (("sources", "source_types"), ("targets", "target_types")):
        items = pp[section]["items"]
        for t, d in vocab[vk].items():
            names = None
            modes = None
            for rule in items.get("allOf", []):
                if t in rule["if"]["properties"]["type"].get("enum", []):
                    names = rule["then"].get("propertyNames", {}).get("enum")
                    modes = rule["then"].get("properties", {}).get("mode", {}).get("enum")
            if names is None:
                bad.append("%s type %s: the schema does not say which keys it takes" % (section, t))
                continue
            same("%s type %s keys" % (section, t), names, d["keys"])
            if d.get("modes"):
                same("target type %s modes" % t, modes or [], d["modes"])
            for k in names:
                if k not in items["properties"]:
                    bad.append("%s key %s: listed for type %s but has no schema" % (section, k, t))
        every = set().union(*(d["keys"] for d in vocab[vk].values()))
        for k in items["properties"]:
            if k not in every:
                bad.append("%s key %s: in the schema, but no %s type takes it" % (section, k, section[:-1]))
    for rule in pp["transforms"]["items"]["allOf"]:
        step = rule["if"]["properties"]["type"]["const"]
        params = rule["then"]["properties"]["params"].get("properties", {})
        same("transform %s params" % step, params, vocab["transform_types"]["types"].get(step, {}).get("params", {}))
    for name, lst in valid_lists.items():
        schema_enum = {"incremental mode": pp["sources"]["items"]["properties"]["incremental"]["properties"]["mode"]["enum"],
                       "on_schema_change": pp["targets"]["items"]["properties"]["on_schema_change"]["enum"]}[name]
        same(name, schema_enum, lst)
    # the schema accepts every form validate_config accepts
    import jsonschema
    validator = jsonschema.Draft202012Validator(schema)
    for fm in forms:
        if fm.get("missing") or fm["expect"] != "ok":
            continue
        cfg = yaml.load(fm["text"], Loader=CoreLoader)
        errs = sorted(validator.iter_errors(cfg), key=lambda e: list(e.absolute_path))
        if errs:
            bad.append("%s: validate_config accepts it, the schema does not: %s at %s"
                       % (fm["what"], errs[0].message[:200], "/".join(str(x) for x in errs[0].absolute_path)))
    total = sum(1 for f in forms if not f.get("missing"))
    print("%d forms, %d problems" % (total, len(bad)))
    for b in bad:
        print("  " + b)
    return not bad


if __name__ == "__main__":
    if sys.argv[1] == "gen":
        gen(*sys.argv[2:7])
    else:
        # check FORMS RESULTS SCHEMA VOCAB VALID_LISTS
        lists = {}
        for line in open(sys.argv[6]):
            m = re.search(r'unknown (incremental mode|on_schema_change) "zzz" \(valid: ([^)]*)\)', line)
            if m:
                lists[m.group(1)] = [x.strip() for x in m.group(2).split(",")]
        if len(lists) != 2:
            print("could not read the validator's incremental modes and on_schema_change values")
            sys.exit(1)
        sys.exit(0 if check(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], lists) else 1)
