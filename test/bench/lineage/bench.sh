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

# ms per call of etl.execute_plan with and without lineage, alternating call
# by call in one session (the machine may be shared: drift hits both alike)
plan_ms() {
    psql_pg -d bench -At <<SQL 2>&1 | tail -1
SELECT etl.execute_plan('$CONFIG'::jsonb, '{}', '{"run_id": 999999}') IS NOT NULL;
CREATE PROCEDURE bench_plan(n int, cfg jsonb, INOUT w float8 DEFAULT 0, INOUT b float8 DEFAULT 0)
LANGUAGE plpgsql AS \$\$
DECLARE
    t0 timestamptz;
BEGIN
    FOR i IN 1 .. n LOOP
        t0 := clock_timestamp();
        PERFORM etl.execute_plan(cfg, '{}', '{"run_id": 999999}');
        w := w + extract(epoch FROM clock_timestamp() - t0);
        COMMIT;
        t0 := clock_timestamp();
        PERFORM etl.execute_plan(cfg, '{}', '{}');
        b := b + extract(epoch FROM clock_timestamp() - t0);
        COMMIT;
    END LOOP;
    w := round((w * 1000 / n)::numeric, 3);
    b := round((b * 1000 / n)::numeric, 3);
END \$\$;
\pset fieldsep ' '
CALL bench_plan($REPEAT, '$CONFIG'::jsonb);
SQL
}
read -r with without <<<"$(plan_ms)"
echo "run with lineage analysis:    $with ms per run ($REPEAT runs, alternating)"
echo "run without (baseline):       $without ms per run"
awk -v a="$with" -v b="$without" 'BEGIN { printf "lineage analysis ratio:       %.3f (%+.3f ms per run)\n", a / b, a - b }'
median() { printf '%s\n' "$@" | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

# ms per DDL statement, each in its own transaction (a procedure commits)
psql_pg -d bench <<'SQL' >/dev/null
CREATE PROCEDURE bench_ddl(n int, INOUT untracked numeric DEFAULT NULL, INOUT tracked numeric DEFAULT NULL)
LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz := clock_timestamp();
BEGIN
    FOR i IN 1 .. n LOOP
        EXECUTE format('CREATE TABLE bench_ddl_%s (a int)', i);
        COMMIT;
        EXECUTE format('ALTER TABLE bench_ddl_%s ADD COLUMN b int', i);
        COMMIT;
        EXECUTE format('DROP TABLE bench_ddl_%s', i);
        COMMIT;
    END LOOP;
    untracked := round((extract(epoch FROM clock_timestamp() - t0) * 1000 / (n * 3))::numeric, 4);
    t0 := clock_timestamp();
    FOR i IN 1 .. n LOOP
        ALTER TABLE tracked ALTER COLUMN v SET NOT NULL;
        COMMIT;
        ALTER TABLE tracked ALTER COLUMN v DROP NOT NULL;
        COMMIT;
    END LOOP;
    tracked := round((extract(epoch FROM clock_timestamp() - t0) * 1000 / (n * 2))::numeric, 4);
END $$;
SQL
ddl_ms() {
    psql_pg -d bench -At -F ' ' -c "ALTER EVENT TRIGGER metaetl_schema_history $1" -c "CALL bench_ddl($DDL)" | tail -1
}
read -r u_on t_on <<<"$(ddl_ms ENABLE)"
read -r u_off t_off <<<"$(ddl_ms DISABLE)"
read -r u_on2 t_on2 <<<"$(ddl_ms ENABLE)"
u_on=$(median "$u_on" "$u_on2"); t_on=$(median "$t_on" "$t_on2")
echo "untracked DDL with trigger:   $u_on ms per statement; without: $u_off ms"
awk -v a="$u_on" -v b="$u_off" 'BEGIN { printf "event trigger ratio (untracked): %.3f\n", a / b }'
echo "tracked ALTER with trigger:   $t_on ms per statement (a schema version each); without: $t_off ms"
awk -v a="$t_on" -v b="$t_off" 'BEGIN { printf "event trigger ratio (tracked):   %.3f\n", a / b }'
