#!/usr/bin/env bash
# test/bench/transform/bench.sh — filter → map → join → aggregate → upsert over
# ORDERS (default 5,000,000) orders × CUSTOMERS (default 100,000) customers:
# metaetl (etl.execute_plan, engines pushdown, parallel (key-range workers on
# customer_id) and auto) vs the same work
# hand-written as one MERGE, vs pandas (psycopg2 read, transform, write back).
# Builds its own throwaway cluster (like make test) and prints times and ratios.
#
#   bash test/bench/transform/bench.sh            # ORDERS=1000000 for a quick look
source "$(dirname "${BASH_SOURCE[0]}")/../../harness/common.sh"

ORDERS=${ORDERS:-5000000}
CUSTOMERS=${CUSTOMERS:-100000}
REPEAT=${REPEAT:-3}
PY=/usr/bin/python3

metaetl_deps python3-pandas python3-psycopg2
metaetl_workdir
trap metaetl_cleanup EXIT
metaetl_private_pg
metaetl_build >/dev/null
metaetl_cluster_init bench
cat >>"$WORK/data/postgresql.conf" <<CONF
shared_buffers = 1GB
work_mem = 64MB
maintenance_work_mem = 256MB
max_wal_size = 4GB
autovacuum = off
CONF
metaetl_cluster_start
as_pg "$PGBIN/createdb" -h "$PGHOST" -p "$PGPORT" -U postgres bench
export PGDATABASE=bench

log "building data: $ORDERS orders, $CUSTOMERS customers"
psql_pg -d bench <<SQL
CREATE EXTENSION metaetl;
CREATE TABLE customers (customer_id int PRIMARY KEY, region text NOT NULL, segment text NOT NULL);
INSERT INTO customers SELECT g, (ARRAY['EU','US','APAC','LATAM'])[1 + g % 4], (ARRAY['retail','b2b','gov'])[1 + g % 3]
  FROM generate_series(1, $CUSTOMERS) g;
CREATE TABLE orders (order_id bigint PRIMARY KEY, customer_id int NOT NULL, status text NOT NULL,
                     amount numeric(12,2) NOT NULL, created_at timestamptz NOT NULL);
INSERT INTO orders SELECT g, 1 + (g::bigint * 7919) % $CUSTOMERS,
       (ARRAY['paid','paid','paid','cancelled','refunded'])[1 + g % 5],
       round((random() * 500)::numeric, 2), timestamptz '2024-01-01' + g * interval '1 second'
  FROM generate_series(1, $ORDERS) g;
VACUUM ANALYZE customers; VACUUM ANALYZE orders;
CREATE TABLE summary_hand (customer_id int PRIMARY KEY, region text, segment text,
                           revenue_eur numeric, orders bigint);
CREATE TABLE summary_metaetl (LIKE summary_hand INCLUDING ALL);
CREATE TABLE summary_pandas (LIKE summary_hand INCLUDING ALL);
SQL

CONFIG=$(cat <<'JSON'
{"pipeline": {"id": "bench", "engine": "ENGINE",
  "sources": [{"id": "orders", "type": "postgresql", "table": "orders", "split_key": "customer_id"},
              {"id": "customers", "type": "postgresql", "table": "customers"}],
  "transforms": [
    {"id": "paid", "type": "filter", "input": "orders", "params": {"condition": "status == 'paid' and amount > 0"}},
    {"id": "eur", "type": "map", "input": "paid", "params": {"columns": {"amount_eur": "amount * 0.92"}}},
    {"id": "joined", "type": "join", "input": "eur", "params": {"right": "customers", "how": "inner", "on": ["customer_id"]}},
    {"id": "per_customer", "type": "aggregate", "input": "joined",
     "params": {"groupby_cols": ["customer_id", "region", "segment"], "agg_functions": {"amount_eur": "sum"}, "count_rows": "orders"}},
    {"id": "named", "type": "map", "input": "per_customer", "params": {"mapping": {"amount_eur": "revenue_eur"}}}],
  "targets": [{"id": "summary", "type": "postgresql", "table": "summary_metaetl", "input": "named",
               "mode": "upsert", "keys": ["customer_id"]}]}}
JSON
)

HAND="MERGE INTO summary_hand t USING (
  SELECT o.customer_id, c.region, c.segment, sum(o.amount * 0.92) AS revenue_eur, count(*) AS orders
    FROM orders o JOIN customers c ON c.customer_id = o.customer_id
   WHERE o.status = 'paid' AND o.amount > 0
   GROUP BY o.customer_id, c.region, c.segment) s ON t.customer_id = s.customer_id
WHEN MATCHED THEN UPDATE SET region = s.region, segment = s.segment, revenue_eur = s.revenue_eur, orders = s.orders
WHEN NOT MATCHED THEN INSERT VALUES (s.customer_id, s.region, s.segment, s.revenue_eur, s.orders)"

# run_sql TRUNCATE_TABLE SQL: seconds for one run (target emptied first)
run_sql() {
    psql_pg -d bench -c "TRUNCATE $1" >/dev/null
    psql_pg -d bench -At <<SQL | tail -1
\\timing off
SELECT clock_timestamp() AS t0 \\gset
$2;
SELECT extract(epoch FROM clock_timestamp() - :'t0'::timestamptz);
SQL
}
min() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == "" || a < b) print a; else print b }'; }

# the variants are interleaved, so load from elsewhere hits them alike; best of REPEAT
t_hand="" t_push="" t_par="" t_auto=""
for r in $(seq 1 "$REPEAT"); do
    log "round $r of $REPEAT: hand MERGE, metaetl pushdown, parallel, auto"
    t_hand=$(min "$(run_sql summary_hand "$HAND")" "$t_hand")
    t_push=$(min "$(run_sql summary_metaetl "SELECT etl.execute_plan(\$cfg\$${CONFIG/ENGINE/pushdown}\$cfg\$::jsonb)")" "$t_push")
    t_par=$(min "$(run_sql summary_metaetl "SELECT etl.execute_plan(\$cfg\$${CONFIG/ENGINE/parallel}\$cfg\$::jsonb)")" "$t_par")
    t_auto=$(min "$(run_sql summary_metaetl "SELECT etl.execute_plan(\$cfg\$${CONFIG/ENGINE/auto}\$cfg\$::jsonb)")" "$t_auto")
done
auto_engine=$(psql_pg -d bench -At -c "SELECT etl.execute_plan(\$cfg\$${CONFIG/ENGINE/auto}\$cfg\$::jsonb)->>'engine'")

# the three results are identical
same=$(psql_pg -d bench -At -c "SELECT (SELECT count(*) FROM (TABLE summary_hand EXCEPT ALL TABLE summary_metaetl) a)
                                     + (SELECT count(*) FROM (TABLE summary_metaetl EXCEPT ALL TABLE summary_hand) b)")

log "timing pandas"
cat >"$WORK/bench_pandas.py" <<'PY'
import sys, time, io
import pandas as pd, psycopg2
conn = psycopg2.connect(host=sys.argv[1], port=sys.argv[2], dbname="bench", user="postgres")
cur = conn.cursor()
cur.execute("TRUNCATE summary_pandas"); conn.commit()
t0 = time.time()
orders = pd.read_sql("SELECT order_id, customer_id, status, amount, created_at FROM orders", conn)
customers = pd.read_sql("SELECT customer_id, region, segment FROM customers", conn)
paid = orders[(orders.status == "paid") & (orders.amount > 0)].copy()
paid["amount_eur"] = paid.amount.astype(float) * 0.92
joined = paid.merge(customers, on="customer_id", how="inner")
agg = joined.groupby(["customer_id", "region", "segment"], as_index=False).agg(
    revenue_eur=("amount_eur", "sum"), orders=("order_id", "count"))
buf = io.StringIO()
agg.to_csv(buf, index=False, header=False)
buf.seek(0)
cur.execute("CREATE TEMP TABLE s (LIKE summary_pandas)")
cur.copy_expert("COPY s FROM STDIN WITH (FORMAT csv)", buf)
cur.execute("""MERGE INTO summary_pandas t USING s ON t.customer_id = s.customer_id
  WHEN MATCHED THEN UPDATE SET region = s.region, segment = s.segment, revenue_eur = s.revenue_eur, orders = s.orders
  WHEN NOT MATCHED THEN INSERT VALUES (s.customer_id, s.region, s.segment, s.revenue_eur, s.orders)""")
conn.commit()
print(time.time() - t0)
PY
chmod 644 "$WORK/bench_pandas.py"
t_pandas=$(as_pg $PY "$WORK/bench_pandas.py" "$PGHOST" "$PGPORT" 2>/dev/null | tail -1)
rows_pandas=$(psql_pg -d bench -At -c "SELECT count(*) FROM summary_pandas")
rows_hand=$(psql_pg -d bench -At -c "SELECT count(*) FROM summary_hand")

echo
echo "transform benchmark: $ORDERS orders x $CUSTOMERS customers, filter -> map -> join -> aggregate -> upsert (best of $REPEAT)"
printf '  %-28s %8.2f s\n' "hand-written MERGE" "$t_hand"
printf '  %-28s %8.2f s   ratio to hand %.2fx\n' "metaetl pushdown" "$t_push" "$(echo "$t_push / $t_hand" | bc -l)"
printf '  %-28s %8.2f s   ratio to hand %.2fx\n' "metaetl parallel" "$t_par" "$(echo "$t_par / $t_hand" | bc -l)"
printf '  %-28s %8.2f s   ratio to hand %.2fx (auto chose %s)\n' "metaetl auto" "$t_auto" "$(echo "$t_auto / $t_hand" | bc -l)" "$auto_engine"
printf '  %-28s %8.2f s   pandas / metaetl auto %.1fx, pandas / hand %.1fx\n' "pandas (read, transform, write)" "$t_pandas" \
    "$(echo "$t_pandas / $t_auto" | bc -l)" "$(echo "$t_pandas / $t_hand" | bc -l)"
echo "  rows: hand $rows_hand, pandas $rows_pandas; metaetl vs hand differing rows: $same"
echo "  targets: metaetl <= 1.10x hand SQL, pandas >= 4x metaetl"
