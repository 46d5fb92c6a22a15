"""test/bench/quality/bench.py HOST PORT ROWS — the measurements of run.sh.

Every figure is the best of REPEAT runs (wall clock, warm cache); baselines
run on the same table in the same session.  On a shared machine wall clock
is noisy: the key ratios are also given as the backend's CPU time over
alternating runs (when the server runs on this machine)."""
import json
import os
import sys
import time

import psycopg2

HOST, PORT, ROWS = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
REPEAT = 3
conn = psycopg2.connect(host=HOST, port=PORT, user="postgres", dbname="bench")
conn.autocommit = True
cur = conn.cursor()
cur.execute("SELECT pg_backend_pid()")
Q_PID = cur.fetchone()[0]


def best(fn, repeat=REPEAT):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def backend_cpu():
    """the session's backend CPU seconds (user + system), None when the server is not local"""
    try:
        f = open(f"/proc/{Q_PID}/stat").read().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return None


def paired_cpu(fa, fb, repeat=7):
    """backend CPU of fa and fb run alternately (a shared machine's load hits
    both alike): medians and the median of the per-pair ratios a/b"""
    ta, tb, r = [], [], []
    for _ in range(repeat):
        c0 = backend_cpu(); fa(); c1 = backend_cpu(); fb(); c2 = backend_cpu()
        if c0 is None:
            return None
        ta.append(c1 - c0); tb.append(c2 - c1); r.append((c1 - c0) / max(c2 - c1, 1e-9))
    med = lambda v: sorted(v)[len(v) // 2]
    return med(ta), med(tb), med(r)


def q(sql, *args):
    if args:
        cur.execute(sql, args)
    else:
        cur.execute(sql)
    return cur.fetchall() if cur.description else None


print(f"== building bench_q: {ROWS:,} rows x 12 columns", flush=True)
t0 = time.perf_counter()
q("DROP TABLE IF EXISTS bench_q")
q("""CREATE TABLE bench_q AS
SELECT i::bigint AS id,
       CASE WHEN i % 97 = 0 THEN NULL WHEN i % 89 = 0 THEN 'broken' || i ELSE 'user' || i || '@example.com' END AS email,
       CASE WHEN i % 101 = 0 THEN -1 ELSE (i * 7) % 100 END AS age,
       (ARRAY['DE', 'FR', 'IT', 'ES', 'NL', 'XX'])[1 + (i * 13) % 6] AS country,
       round(((i * 31) % 100000) / 10.0, 2)::numeric(12,2) AS amount,
       ((i * 17) % 1000) / 999.0 AS score,
       (ARRAY['new', 'active', 'closed', 'active'])[1 + i % 4] AS status,
       TIMESTAMPTZ '2020-01-01' + (i % 100000) * interval '1 minute' AS created_at,
       TIMESTAMPTZ '2020-01-01' + (i % 100000) * interval '1 minute' + (i % 50 - 1) * interval '1 hour' AS updated_at,
       CASE WHEN i % 53 = 0 THEN NULL ELSE '+49 30 ' || lpad((i % 10000000)::text, 7, '0') END AS phone,
       lpad((i % 99999)::text, CASE WHEN i % 211 = 0 THEN 4 ELSE 5 END, '0') AS zip,
       CASE WHEN i % 61 = 0 THEN NULL ELSE 'Name ' || (i % 50000) END AS name
  FROM generate_series(1, ROWS) AS i""".replace("ROWS", str(ROWS)))
q("VACUUM ANALYZE bench_q")
print(f"   built in {time.perf_counter() - t0:.1f} s", flush=True)

# (1) 20 row-level rules ------------------------------------------------------
rules = [
    {"type": "completeness", "column": "email"},
    {"type": "completeness", "column": "phone", "threshold": 95},
    {"type": "completeness", "column": "name", "threshold": 95},
    {"type": "completeness", "column": "country"},
    {"type": "validity", "check": "range", "column": "age", "min": 0, "max": 120},
    {"type": "validity", "check": "range", "column": "amount", "min": 0, "max": 10000},
    {"type": "validity", "check": "range", "column": "score", "min": 0, "max": 1},
    {"type": "validity", "check": "range", "column": "created_at", "min": "2000-01-01"},
    {"type": "validity", "check": "pattern", "column": "email", "pattern": "^[^@]+@[^@]+\\.[^@]+$"},
    {"type": "validity", "check": "pattern", "column": "zip", "pattern": "^[0-9]{5}$"},
    {"type": "validity", "check": "allowed_values", "column": "country", "values": ["DE", "FR", "IT", "ES", "NL"], "name": "country_in"},
    {"type": "validity", "check": "allowed_values", "column": "status", "values": ["new", "active", "closed"]},
    {"type": "validity", "check": "length", "column": "name", "min": 1, "max": 50, "name": "name_len"},
    {"type": "validity", "check": "length", "column": "phone", "min": 7, "max": 20, "name": "phone_len"},
    {"type": "validity", "check": "length", "column": "zip", "min": 5, "max": 5, "name": "zip_len"},
    {"type": "consistency", "expression": "updated_at >= created_at"},
    {"type": "consistency", "expression": "amount >= 0 OR status = 'closed'"},
    {"type": "consistency", "expression": "age >= 18 OR status <> 'active'"},
    {"type": "completeness", "column": "id"},
    {"type": "validity", "check": "range", "column": "id", "min": 1, "max": 100000000, "name": "id_range"},
]
# the same checks, hand-written (NULLs pass validity, as in metaetl and GX)
hand = [
    "email IS NULL", "phone IS NULL", "name IS NULL", "country IS NULL",
    "NOT (age BETWEEN 0 AND 120)", "NOT (amount BETWEEN 0 AND 10000)", "NOT (score BETWEEN 0 AND 1)",
    "NOT (created_at >= '2000-01-01')",
    "NOT (email ~ '^[^@]+@[^@]+\\.[^@]+$')", "NOT (zip ~ '^[0-9]{5}$')",
    "NOT (country IN ('DE', 'FR', 'IT', 'ES', 'NL'))", "NOT (status IN ('new', 'active', 'closed'))",
    "NOT (char_length(name) BETWEEN 1 AND 50)", "NOT (char_length(phone) BETWEEN 7 AND 20)",
    "NOT (char_length(zip) BETWEEN 5 AND 5)",
    "NOT (updated_at >= created_at)", "NOT (amount >= 0 OR status = 'closed')",
    "NOT (age >= 18 OR status <> 'active')", "id IS NULL", "NOT (id BETWEEN 1 AND 100000000)",
]
assert len(rules) == 20 and len(hand) == 20
one_pass = "SELECT count(*), " + ", ".join(f"count(*) FILTER (WHERE {h})" for h in hand) + " FROM bench_q"

print("\n== (1) 20 row-level rules", flush=True)
t_bare, _ = best(lambda: q("SELECT count(*) FROM bench_q"))
t_gate, gate = best(lambda: q("SELECT etl.quality_gate('bench_q', %s::jsonb, options => '{\"samples\": 5}')", json.dumps(rules)))
t_hand, hand_res = best(lambda: q(one_pass))
t_per, per_res = best(lambda: [q(f"SELECT count(*) FROM bench_q WHERE {h}")[0][0] for h in hand])
# the hand query with metaetl's PCRE2 matcher instead of PostgreSQL's regex engine
one_pass_pcre = (one_pass.replace("NOT (email ~ '^[^@]+@[^@]+\\.[^@]+$')", "NOT etl._re_match(email, '^[^@]+@[^@]+\\.[^@]+$')")
                         .replace("NOT (zip ~ '^[0-9]{5}$')", "NOT etl._re_match(zip, '^[0-9]{5}$')"))
assert one_pass_pcre.count("_re_match") == 2
t_hand_pcre, _ = best(lambda: q(one_pass_pcre))
gate = gate[0][0]
ours = [c["failed_rows"] for c in gate["checks"]]
assert ours == list(hand_res[0][1:]) == per_res, (ours, hand_res, per_res)
print(f"   bare count(*)               {t_bare:7.2f} s")
print(f"   metaetl quality_gate        {t_gate:7.2f} s   (failed rows per rule match both baselines)")
print(f"   hand one-pass FILTER query  {t_hand:7.2f} s   ratio metaetl/hand = {t_gate / t_hand:.2f}  (target <= 1.00)")
print(f"   one query per rule (x20)    {t_per:7.2f} s   speed-up vs per-rule = {t_per / t_gate:.2f}x  (target >= 2.5x)")
print(f"   hand one-pass, PCRE2 regex  {t_hand_pcre:7.2f} s   ratio metaetl/hand-with-PCRE2 = {t_gate / t_hand_pcre:.2f}")

q("SET max_parallel_workers_per_gather = 0")
s_gate, _ = best(lambda: q("SELECT etl.quality_gate('bench_q', %s::jsonb, options => '{\"samples\": 5}')", json.dumps(rules)))
s_hand, _ = best(lambda: q(one_pass))
s_per, _ = best(lambda: [q(f"SELECT count(*) FROM bench_q WHERE {h}") for h in hand], repeat=1)
print(f"   serial (no parallel workers): metaetl {s_gate:.2f} s, hand {s_hand:.2f} s (ratio {s_gate / s_hand:.2f}), per-rule {s_per:.2f} s ({s_per / s_gate:.2f}x)")
pc = paired_cpu(lambda: q("SELECT etl.quality_gate('bench_q', %s::jsonb, options => '{\"samples\": 5}')", json.dumps(rules)),
                lambda: q(one_pass_pcre))
if pc:
    print(f"   serial backend CPU, alternating runs: metaetl {pc[0]:.2f} s, hand one-pass with PCRE2 {pc[1]:.2f} s,"
          f" median ratio {pc[2]:.2f}  (target <= 1.00)")
q("RESET max_parallel_workers_per_gather")

# (1b) + 10 aggregate rules and 2 drift rules: still one scan --------------------
aggregates = [
    {"type": "mean", "column": "amount", "min": 0, "max": 10000},
    {"type": "min", "column": "age", "min": -1},
    {"type": "max", "column": "age", "max": 120},
    {"type": "sum", "column": "amount", "min": 0},
    {"type": "stddev", "column": "score", "max": 1},
    {"type": "median", "column": "amount", "min": 0, "max": 10000},
    {"type": "quantile", "column": "score", "q": 0.9, "min": 0, "max": 1},
    {"type": "distinct_count", "column": "country", "min": 1, "max": 10},
    {"type": "proportion_unique", "column": "zip", "max": 1},
    {"type": "most_common", "column": "status", "in": ["active"]},
]
drifts = [
    {"type": "drift", "column": "amount", "method": "ks"},
    {"type": "drift", "column": "country", "method": "chi2"},
]
assert len(aggregates) == 10 and len(drifts) == 2
all_rules = rules + aggregates + drifts
# the same with approximate: true where a rule allows it: median and quantile
# read off a KLL sketch (the one the ks drift rule on amount uses), distinct
# counts by HyperLogLog (docs/quality.md, "Aggregate rules": error bounds)
approx_rules = rules + [dict(a, approximate=True) if a["type"] in ("median", "quantile", "distinct_count", "proportion_unique")
                        else a for a in aggregates] + drifts


def scans():
    q("SELECT pg_stat_force_next_flush()")
    return q("SELECT seq_scan FROM pg_stat_user_tables WHERE relname = 'bench_q'")[0][0]


print("\n== (1b) 20 row rules + 10 aggregate rules + 2 drift rules", flush=True)
q("SELECT etl.quality_gate('bench_q', %s::jsonb)", json.dumps(drifts))   # the drift reference
s0 = scans()
q("SELECT etl.quality_gate('bench_q', %s::jsonb, options => '{\"samples\": 5}')", json.dumps(rules))
s1 = scans()
q("SELECT etl.quality_gate('bench_q', %s::jsonb, options => '{\"samples\": 5}')", json.dumps(all_rules))
s2 = scans()
q("SELECT etl.quality_gate('bench_q', %s::jsonb, options => '{\"samples\": 5}')", json.dumps(approx_rules))
s3 = scans()
assert s2 - s1 == s1 - s0 == s3 - s2, (s0, s1, s2, s3)
t_approx, _ = best(lambda: q("SELECT etl.quality_gate('bench_q', %s::jsonb, options => '{\"samples\": 5}')", json.dumps(approx_rules)))
t_all, res = best(lambda: q("SELECT etl.quality_gate('bench_q', %s::jsonb, options => '{\"samples\": 5}')", json.dumps(all_rules)))
t_rules, _ = best(lambda: q("SELECT etl.quality_gate('bench_q', %s::jsonb, options => '{\"samples\": 5}')", json.dumps(rules)))
checks = res[0][0]["checks"]
assert len(checks) == 32
print(f"   seq_scan per gate: rules only {s1 - s0}, with aggregates and drift {s2 - s1} (equal: one scan; a parallel scan counts each participant)")
print(f"   20 row rules                {t_rules:7.2f} s")
print(f"   + 10 aggregate + 2 drift    {t_all:7.2f} s   ratio = {t_all / t_rules:.2f}  (exact)")
print(f"   same, approximate: true     {t_approx:7.2f} s   ratio = {t_approx / t_rules:.2f}  (target <= 1.20)")
q("SET max_parallel_workers_per_gather = 0")
pc = paired_cpu(lambda: q("SELECT etl.quality_gate('bench_q', %s::jsonb, options => '{\"samples\": 5}')", json.dumps(all_rules)),
                lambda: q("SELECT etl.quality_gate('bench_q', %s::jsonb, options => '{\"samples\": 5}')", json.dumps(rules)), repeat=5)
if pc:
    print(f"   serial backend CPU, alternating runs: all 32 rules {pc[0]:.2f} s, 20 row rules {pc[1]:.2f} s, median ratio {pc[2]:.2f}  (exact)")
pc = paired_cpu(lambda: q("SELECT etl.quality_gate('bench_q', %s::jsonb, options => '{\"samples\": 5}')", json.dumps(approx_rules)),
                lambda: q("SELECT etl.quality_gate('bench_q', %s::jsonb, options => '{\"samples\": 5}')", json.dumps(rules)), repeat=5)
if pc:
    print(f"   serial backend CPU, alternating runs: all 32 rules approximate {pc[0]:.2f} s, 20 row rules {pc[1]:.2f} s, median ratio {pc[2]:.2f}  (target <= 1.20)")
q("RESET max_parallel_workers_per_gather")

# (2) full profile ----------------------------------------------------------
if os.environ.get("QUALITY_BENCH_SKIP_PROFILE"):
    sys.exit(0)
print("\n== (2) full profile (12 columns)", flush=True)
cols = [r[0] for r in q("SELECT attname FROM pg_attribute WHERE attrelid = 'bench_q'::regclass AND attnum > 0 ORDER BY attnum")]
types = dict(q("SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'bench_q'::regclass AND attnum > 0"))
numeric = [c for c in cols if types[c] in ("bigint", "integer", "numeric(12,2)", "double precision")]
texts = [c for c in cols if types[c] == "text"]
ordered = numeric + texts + [c for c in cols if types[c].startswith("timestamp")]
# hand-written SQL computing the same metrics (one statement per kind of pass)
parts = ["count(*)"]
for c in cols:
    parts.append(f"count({c})")
for c in ordered:
    parts += [f"min({c})", f"max({c})"]
for c in numeric:
    parts += [f"avg({c})", f"stddev_samp({c})", f"var_samp({c})", f"sum({c})",
              f"count(*) FILTER (WHERE {c} = 0)", f"count(*) FILTER (WHERE {c} < 0)",
              f"percentile_cont(ARRAY[0.05,0.25,0.5,0.75,0.95]) WITHIN GROUP (ORDER BY {c})",
              f"avg(power({c}::float8, 3))", f"avg(power({c}::float8, 4))"]
for c in texts:
    parts += [f"count(*) FILTER (WHERE btrim({c}) = '')", f"min(length({c}))", f"avg(length({c}))", f"max(length({c}))"]
hand_profile = ["SELECT " + ", ".join(parts) + " FROM bench_q"]
for c in cols:
    hand_profile.append(f"SELECT count(*), count(*) FILTER (WHERE n = 1) FROM (SELECT {c}, count(*) AS n FROM bench_q WHERE {c} IS NOT NULL GROUP BY 1) s")
    hand_profile.append(f"SELECT {c}, count(*) FROM bench_q WHERE {c} IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10")
for c in numeric:
    hand_profile.append(f"SELECT width_bucket({c}::float8, mn, mx + 1e-9, 10), count(*) FROM bench_q, (SELECT min({c})::float8 mn, max({c})::float8 mx FROM bench_q) m GROUP BY 1")
fmts = ["^\\s*[+-]?\\d+\\s*$", "^\\d{4}-\\d{2}-\\d{2}$", "^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", "^https?://", "^[0-9a-f-]{36}$", "^\\+?[0-9][0-9 ().-]{5,18}[0-9]$"]
for c in texts:
    hand_profile.append(f"SELECT sum(n) FILTER (WHERE v ~ '{fmts[0]}'), " + ", ".join(f"sum(n) FILTER (WHERE v ~ '{f}')" for f in fmts[1:])
                        + f" FROM (SELECT {c} AS v, count(*) AS n FROM bench_q WHERE {c} IS NOT NULL GROUP BY 1) s")
hand_profile.append("SELECT count(*) - count(DISTINCT bench_q.*) FROM bench_q")

t_prof, prof = best(lambda: q("SELECT etl.profile('bench_q', '{\"store\": false, \"approximate\": false}')"), repeat=2)
t_hprof, _ = best(lambda: [q(s) for s in hand_profile], repeat=2)
t_aprof, _ = best(lambda: q("SELECT etl.profile('bench_q', '{\"store\": false, \"approximate\": true}')"), repeat=REPEAT)
print(f"   metaetl profile (exact)     {t_prof:7.2f} s")
print(f"   hand-written SQL, same metrics ({len(hand_profile)} statements) {t_hprof:7.2f} s   ratio metaetl/hand = {t_prof / t_hprof:.2f}  (target <= 1.0)")
print(f"   metaetl profile (approximate: HyperLogLog, KLL, one C call per row) {t_aprof:7.2f} s")
duck = os.environ.get("QUALITY_BENCH_DUCKDB")
if duck:
    csv = os.environ["QUALITY_BENCH_CSV"]
    q(f"COPY bench_q TO '{csv}' WITH (FORMAT csv, HEADER)")
    import subprocess
    out = subprocess.run(["node", duck, csv, str(REPEAT)], capture_output=True, text=True, check=True).stdout
    t_duck = float([l for l in out.splitlines() if l.startswith("summarize_seconds")][0].split()[1])
    print(f"   DuckDB SUMMARIZE (same rows, in memory) {t_duck:7.2f} s   ratio metaetl approximate/DuckDB = {t_aprof / t_duck:.2f}  (target <= 2.0)")

try:
    import pandas as pd

    def pandas_profile():
        t0 = time.perf_counter()
        df = pd.read_sql_query("SELECT * FROM bench_q", conn)
        t_read = time.perf_counter() - t0
        df.describe(include="all")
        num = df.select_dtypes("number")
        num.quantile([0.05, 0.25, 0.5, 0.75, 0.95])
        num.skew(), num.kurt(), num.var(), num.std()
        df.isna().sum(), df.nunique()
        for c in df.columns:
            df[c].value_counts().head(10)
        df.duplicated().sum()
        return t_read
    t_pd, t_read = best(pandas_profile, repeat=1)
    print(f"   pandas read + describe + quantiles + value counts {t_pd:7.2f} s (of which read {t_read:.2f} s)   ratio pandas/metaetl = {t_pd / t_prof:.2f}")
except MemoryError:
    print("   pandas: out of memory")
