# case 81_formats_files: file sources and targets end to end, through a
# registered pipeline that a plain role (with pg_read_server_files and
# pg_write_server_files) runs in a run worker.  Inputs are written by other
# implementations — Python's csv module + gzip(1), pandas + zstd(1),
# openpyxl — and metaetl's outputs are read back by them (csv and gzip
# modules, json, pandas, zstd(1)) and compared value for value with the
# data they started from.  Then the failures a run can meet — a corrupt
# input, a truncated one, a value that does not convert, a missing
# privilege — each fail the run with an error naming the file and leave
# every target (tables and files) as it was.
set -euo pipefail
db=formats_case
dir=$WORK/formats81
mkdir -p "$dir/in" "$dir/out"
[ "$(id -u)" -eq 0 ] && chown -R postgres: "$dir"
py=/usr/bin/python3

# ---- inputs from independent writers
as_pg $py - "$dir/in" <<'PY'
import csv, datetime as dt, decimal, gzip, json, os, sys
import pandas as pd, openpyxl
d = sys.argv[1]
rows = [
    {"id": 1, "name": 'comma, "quote"\nnewline', "amount": "12345678901234567890.1234567890", "at": "2024-01-02 03:04:05.123456+00", "ok": "true"},
    {"id": 2, "name": "tab\there \\ back", "amount": "-0.000001", "at": "1999-12-31 23:59:59+00", "ok": "false"},
    {"id": 3, "name": "", "amount": "0", "at": "1970-01-01 00:00:00+00", "ok": ""},
    {"id": 4, "name": "Zoë ✓ 日本語 🎉", "amount": "", "at": "", "ok": "true"},
]
rows += [{"id": i, "name": f"row {i}", "amount": f"{i}.{i % 100:02d}", "at": "2024-06-01 12:00:00+00", "ok": "true"}
         for i in range(5, 20001)]
with gzip.open(os.path.join(d, "orders.csv.gz"), "wt", newline="", encoding="utf-8") as f:
    w = csv.DictWriter(f, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
json.dump(rows, open(os.path.join(d, "expected.json"), "w"))
# pandas writes ndjson (zstd(1) compresses it below) and a json array
df = pd.DataFrame({"sku": ["a", "b", "c"], "qty": [1, 2, 3], "price": [0.1, 2.5, 1e-7]})
df.to_json(os.path.join(d, "items.ndjson"), orient="records", lines=True)
df.to_json(os.path.join(d, "items.json"), orient="records")
wb = openpyxl.Workbook()
ws = wb.active
ws.title = "Rates"
ws.append(["currency", "rate", "day"])
ws.append(["EUR", 1.0, dt.date(2024, 1, 2)])
ws.append(["USD", 1.0934, dt.date(2024, 1, 2)])
for r in (2, 3):
    ws.cell(row=r, column=3).number_format = "yyyy-mm-dd"
wb.save(os.path.join(d, "rates.xlsx"))
PY
as_pg zstd -q -f --rm "$dir/in/items.ndjson" -o "$dir/in/items.ndjson.zst"

psql_pg -d postgres -c "CREATE DATABASE $db" >/dev/null
psql_pg -d $db -v dir="$dir" >/dev/null <<'SQL'
CREATE EXTENSION metaetl;
CREATE ROLE fmt_owner LOGIN;
GRANT pg_read_server_files, pg_write_server_files TO fmt_owner;
CREATE SCHEMA fm AUTHORIZATION fmt_owner;
SQL

# ---- the pipeline: three sources in four formats, tables and files out
cat >"$dir/pipeline.yaml" <<YAML
pipeline:
  id: fm_files
  name: file formats end to end
  sources:
    - id: orders
      type: file
      path: $dir/in/orders.csv.gz
      columns: {id: int, amount: numeric, at: timestamptz, ok: boolean}
    - {id: items, type: file, path: $dir/in/items.ndjson.zst}
    - {id: items_json, type: file, path: $dir/in/items.json, format: json}
    - {id: rates, type: file, path: $dir/in/rates.xlsx, options: {sheet: Rates}}
  targets:
    - {id: orders_t, type: postgresql, table: fm.orders, input: orders}
    - {id: items_t, type: postgresql, table: fm.items, input: items}
    - {id: items_json_t, type: postgresql, table: fm.items_json, input: items_json}
    - {id: rates_t, type: postgresql, table: fm.rates, input: rates}
    - {id: orders_csv, type: file, path: $dir/out/orders.csv.gz, input: orders}
    - {id: orders_tsv, type: file, path: $dir/out/orders.tsv, input: orders}
    - {id: orders_ndjson, type: file, path: $dir/out/orders.ndjson.zst, input: orders}
    - {id: orders_json, type: file, path: $dir/out/orders.json, input: orders}
YAML
[ "$(id -u)" -eq 0 ] && chown postgres: "$dir/pipeline.yaml"
run() {  # run the pipeline as fmt_owner: "status|sqlstate|message"
    psql_pg -d $db -At -c "SET ROLE fmt_owner; SELECT concat_ws('|', r->>'status', r->'error'->>'sqlstate', r->'error'->>'message') FROM etl.execute_pipeline('fm_files') r"
}
psql_pg -d $db -v cfg="$(cat "$dir/pipeline.yaml")" >/dev/null <<'SQL'
SET ROLE fmt_owner;
SELECT etl.register_pipeline(:'cfg');
SQL
result=$(run)
echo "first run: $result"
[ "$result" = succeeded ]
counts=$(psql_pg -d $db -At -c "SELECT (SELECT count(*) FROM fm.orders) || ' ' || (SELECT count(*) FROM fm.items) || ' ' ||
                                       (SELECT count(*) FROM fm.items_json) || ' ' || (SELECT count(*) FROM fm.rates)")
echo "rows: $counts"
[ "$counts" = "20000 3 3 2" ]
rates=$(psql_pg -d $db -At -c "SELECT string_agg(currency || '=' || rate || '@' || day, ' ' ORDER BY currency) FROM fm.rates")
echo "rates: $rates"
[ "$rates" = "EUR=1@2024-01-02 USD=1.0934@2024-01-02" ]
items=$(psql_pg -d $db -At -c "SELECT string_agg(sku || ':' || qty || ':' || price, ' ' ORDER BY sku) FROM fm.items")
items_json=$(psql_pg -d $db -At -c "SELECT string_agg(sku || ':' || qty || ':' || price, ' ' ORDER BY sku) FROM fm.items_json")
echo "items: $items / $items_json"
[ "$items" = "a:1:0.1 b:2:2.5 c:3:0.0000001" ] && [ "$items" = "$items_json" ]

# ---- metaetl's files, read by the Python standard library, pandas and zstd(1)
as_pg zstd -dq "$dir/out/orders.ndjson.zst" -o "$dir/out/orders.ndjson"
as_pg $py - "$dir" <<'PY'
import csv, decimal, gzip, io, json, re, sys
import pandas as pd
d = sys.argv[1]
want = json.load(open(f"{d}/in/expected.json"))
def norm(r):
    # the values as the table holds them: numeric exact, timestamps as instants, '' vs NULL kept
    return (int(r["id"]), r["name"], decimal.Decimal(r["amount"]) if r["amount"] not in ("", None) else None,
            pd.Timestamp(r["at"]).value if r["at"] not in ("", None) else None,
            None if r["ok"] in ("", None) else r["ok"] in (True, "true", "t"))
expect = sorted(norm(r) for r in want)
got_csv = sorted(norm(r) for r in csv.DictReader(io.TextIOWrapper(gzip.open(f"{d}/out/orders.csv.gz"), encoding="utf-8", newline="")))
# csv: NULL and '' are both empty unless quoted; the csv module cannot tell them apart
assert [r[:1] + r[2:] for r in got_csv] == [r[:1] + r[2:] for r in expect], "csv.gz differs"
assert [r[1] or "" for r in got_csv] == [r[1] or "" for r in expect], "csv names differ"
def from_json(r):
    return {k: ("" if v is None else v if isinstance(v, str) else json.dumps(v) if not isinstance(v, bool) else v)
            for k, v in r.items()}
js = json.load(open(f"{d}/out/orders.json"), parse_float=decimal.Decimal)
nd = [json.loads(l, parse_float=decimal.Decimal) for l in open(f"{d}/out/orders.ndjson")]
# the input was csv, where an empty field is NULL: name '' was read as NULL
for name, got in (("json", js), ("ndjson", nd)):
    conv = sorted(norm({"id": r["id"], "name": r["name"] if r["name"] is not None else "",
                        "amount": "" if r["amount"] is None else str(r["amount"]),
                        "at": r["at"] or "", "ok": "" if r["ok"] is None else r["ok"]}) for r in got)
    bad = [(a, b) for a, b in zip(conv, expect) if a != b][:3]
    assert not bad and len(conv) == len(expect), f"{name} differs: {bad}"
# tsv is COPY's text format: \N is NULL, backslash escapes (read here by hand, line by line)
esc = {"t": "\t", "n": "\n", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "\\": "\\"}
def unesc(v):
    return None if v == "\\N" else re.sub(r"\\(.)", lambda m: esc.get(m.group(1), m.group(1)), v)
lines = open(f"{d}/out/orders.tsv", encoding="utf-8").read().split("\n")
assert lines[0] == "id\tname\tamount\tat\tok" and lines[-1] == "", "tsv header"
tsv = [dict(zip(["id", "name", "amount", "at", "ok"], map(unesc, l.split("\t")))) for l in lines[1:-1]]
conv = sorted(norm({k: ("" if v is None else v) for k, v in r.items()}) for r in tsv)
assert conv == expect, "tsv differs"
print("csv.gz, json, ndjson.zst and tsv read back by Python:", len(expect), "rows each")
PY

# ---- failures: the run fails naming the file; every target stays as it was
sums() {
    { psql_pg -d $db -At -c "SELECT count(*) || ' ' || sum(id) FROM fm.orders"; sha256sum "$dir"/out/orders.* | awk '{print $1}'; } | tr '\n' ' '
}
before=$(sums)
as_pg cp "$dir/in/orders.csv.gz" "$dir/in/orders.good.gz"
fail() {  # fail LABEL EXPECTED-SQLSTATE EXPECTED-TEXT
    result=$(run)
    echo "$1: $result"
    case "$result" in failed\|"$2"\|*"$3"*) ;; *) echo "unexpected result for $1"; exit 1 ;; esac
    [ "$(sums)" = "$before" ] || { echo "a target changed after $1"; exit 1; }
    [ -z "$(find "$dir/out" -name '*.tmp')" ] || { echo "a temporary file is left after $1"; exit 1; }
}
as_pg sh -c "head -c 30000 '$dir/in/orders.good.gz' > '$dir/in/orders.csv.gz'"
fail "truncated gzip" XX001 "orders.csv.gz\" is truncated"
as_pg sh -c "{ head -c 100 '$dir/in/orders.good.gz'; head -c 2000 /dev/zero; } > '$dir/in/orders.csv.gz'"
fail "corrupt gzip" XX001 "orders.csv.gz\" is corrupt"
as_pg sh -c "{ zcat '$dir/in/orders.good.gz'; printf '20001,late,not-a-number,,\r\n'; } | gzip > '$dir/in/orders.csv.gz'"
fail "a value that does not convert" 22P02 'invalid input syntax for type numeric: "not-a-number"'
detail=$(psql_pg -d $db -At -c "SELECT error_detail FROM etl.pipeline_runs WHERE pipeline_id = 'fm_files' ORDER BY run_id DESC LIMIT 1")
echo "  recorded: $detail"
[ "$detail" = "In source \"orders\", file \"$dir/in/orders.csv.gz\", line 20002, column \"amount\" (numeric)." ]
as_pg cp "$dir/in/orders.good.gz" "$dir/in/orders.csv.gz"
psql_pg -d $db -c "REVOKE pg_write_server_files FROM fmt_owner" >/dev/null
fail "no pg_write_server_files" 42501 "writing server-side files needs the pg_write_server_files role"
psql_pg -d $db -c "REVOKE pg_read_server_files FROM fmt_owner" >/dev/null
fail "no pg_read_server_files" 42501 "reading server-side files needs the pg_read_server_files role"

psql_pg -d postgres -c "DROP DATABASE $db" >/dev/null
psql_pg -d postgres -c "DROP ROLE fmt_owner" >/dev/null
rm -rf "$dir"
