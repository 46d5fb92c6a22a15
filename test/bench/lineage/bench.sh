#!/usr/bin/env bash
# test/bench/lineage/bench.sh — what lineage costs, against baselines measured
# in the same run on the same data:
#  1. a run's lineage analysis: etl.execute_plan of a 12-node pipeline (join,
#     aggregates, window, sql step) with a run_id (lineage computed from the
#     analyzed query tree) vs without one (no lineage), REPEAT times each;
#  2. the DDL event trigger: CREATE TABLE + ALTER TABLE + DROP TABLE of
#     untracked tables, and ALTER TABLE of a tracked one, with the trigger
#     enabled vs disabled, DDL times each.
# Builds its own throwaway cluster (like make test) and prints times and ratios.
#
#   bash test/bench/lineage/bench.sh            # REPEAT=200 DDL=2000
source "$(dirname "${BASH_SOURCE[0]}")/../../harness/common.sh"

REPEAT=${REPEAT:-200}
DDL=${DDL:-2000}

metaetl_workdir
trap metaetl_cleanup EXIT
metaetl_private_pg
metaetl_build >/dev/null
metaetl_cluster_init bench
metaetl_cluster_start
as_pg "$PGBIN/createdb" -h "$PGHOST" -p "$PGPORT" -U postgres bench
export PGDATABASE=bench

psql_pg -d bench <<'SQL' >/dev/null
CREATE EXTENSION metaetl;
CREATE TABLE orders (order_id int PRIMARY KEY, client_id int, amount numeric, status text, ordered_at date);
CREATE TABLE clients (client_id int PRIMARY KEY, name text, country text);
INSERT INTO clients SELECT g, 'c' || g, (ARRAY['FR','DE','IT'])[1 + g % 3] FROM generate_series(1, 100) g;
INSERT INTO orders SELECT g, 1 + g % 100, g % 97, (ARRAY['paid','open'])[1 + g % 2], date '2024-01-01' + g % 300
  FROM generate_series(1, 1000) g;
CREATE VIEW paid_orders AS SELECT order_id, client_id, amount, ordered_at FROM orders WHERE status = 'paid';
CREATE TABLE tracked (id int, v text);
SELECT etl._schema_capture('public.tracked', etl._relation_columns('public.tracked'), NULL, 'ddl');
SQL

CONFIG='{"pipeline": {"id": "bench_lineage", "engine": "pushdown",
  "sources": [{"id": "paid", "type": "postgresql", "table": "paid_orders"},
              {"id": "clients", "type": "postgresql", "query": "SELECT client_id, name AS client_name, country FROM clients"}],
  "transforms": [
    {"id": "big", "type": "filter", "input": "paid", "params": {"condition": "amount > 5"}},
    {"id": "eur", "type": "map", "params": {"columns": {"amount_eur": "amount * 0.92"}}},
    {"id": "joined", "type": "join", "params": {"right": "clients", "on": ["client_id"]}},
    {"id": "ranked", "type": "window", "params": {"partition_by": ["country"], "order_by": ["amount_eur DESC"],
                                                  "columns": {"rnk": "row_number()", "running": "sum(amount_eur)"}}},
    {"id": "top", "type": "filter", "params": {"condition": "rnk <= 10"}},
    {"id": "by_client", "type": "aggregate", "input": "joined",
     "params": {"groupby_cols": ["client_id", "country"], "agg_functions": {"amount_eur": ["sum", "max"]}, "count_rows": "n"}},
    {"id": "named", "type": "map", "params": {"mapping": {"amount_eur_sum": "revenue"}}},
    {"id": "custom", "type": "sql", "params": {"query": "WITH x AS (SELECT * FROM {{input}}) SELECT client_id, country, revenue, n, (SELECT max(revenue) FROM x) AS best FROM x"}},
    {"id": "deduped", "type": "dedupe", "params": {"keys": ["country"], "order": "revenue DESC"}}],
  "targets": [{"id": "t1", "type": "postgresql", "table": "bench_top", "input": "top"},
              {"id": "t2", "type": "postgresql", "table": "bench_best", "input": "deduped"}]}}'

# ms per call of etl.execute_plan, in one session, after a warm-up
plan_ms() {
    psql_pg -d bench -At <<SQL
SELECT etl.execute_plan('$CONFIG'::jsonb, '{}', '$1'::jsonb) IS NOT NULL;
DO \$\$
DECLARE t0 timestamptz := clock_timestamp();
BEGIN
    FOR i IN 1 .. $REPEAT LOOP
        PERFORM etl.execute_plan('$CONFIG'::jsonb, '{}', '$1'::jsonb);
    END LOOP;
    RAISE NOTICE 'ms=%', round((extract(epoch FROM clock_timestamp() - t0) * 1000 / $REPEAT)::numeric, 3);
END \$\$;
SQL
}
with=$(plan_ms '{"run_id": 999999}' 2>&1 | sed -n 's/.*ms=//p')
without=$(plan_ms '{}' 2>&1 | sed -n 's/.*ms=//p')
echo "run with lineage analysis:    $with ms per run ($REPEAT runs)"
echo "run without (baseline):       $without ms per run"
awk -v a="$with" -v b="$without" 'BEGIN { printf "lineage analysis ratio:       %.3f (%.3f ms per run)\n", a / b, a - b }'

# ms per DDL statement
ddl_ms() {
    psql_pg -d bench -At <<SQL
ALTER EVENT TRIGGER metaetl_schema_history $1;
DO \$\$
DECLARE t0 timestamptz := clock_timestamp();
BEGIN
    FOR i IN 1 .. $DDL LOOP
        EXECUTE format('CREATE TABLE bench_ddl_%s (a int)', i);
        EXECUTE format('ALTER TABLE bench_ddl_%s ADD COLUMN b int', i);
        EXECUTE format('DROP TABLE bench_ddl_%s', i);
    END LOOP;
    RAISE NOTICE 'untracked=%', round((extract(epoch FROM clock_timestamp() - t0) * 1000 / ($DDL * 3))::numeric, 4);
    t0 := clock_timestamp();
    FOR i IN 1 .. $DDL LOOP
        ALTER TABLE tracked ADD COLUMN extra int;
        ALTER TABLE tracked DROP COLUMN extra;
    END LOOP;
    RAISE NOTICE 'tracked=%', round((extract(epoch FROM clock_timestamp() - t0) * 1000 / ($DDL * 2))::numeric, 4);
END \$\$;
SQL
}
on=$(ddl_ms ENABLE 2>&1)
off=$(ddl_ms DISABLE 2>&1)
u_on=$(echo "$on" | sed -n 's/.*untracked=//p'); u_off=$(echo "$off" | sed -n 's/.*untracked=//p')
t_on=$(echo "$on" | sed -n 's/.*tracked=//p' | tail -1); t_off=$(echo "$off" | sed -n 's/.*tracked=//p' | tail -1)
echo "untracked DDL with trigger:   $u_on ms per statement; without: $u_off ms"
awk -v a="$u_on" -v b="$u_off" 'BEGIN { printf "event trigger ratio (untracked): %.3f\n", a / b }'
echo "tracked ALTER with trigger:   $t_on ms per statement (a schema version each); without: $t_off ms"
awk -v a="$t_on" -v b="$t_off" 'BEGIN { printf "event trigger ratio (tracked):   %.3f\n", a / b }'
