#!/usr/bin/env bash
# test/bench/runs/run_status.sh — what etl.run_status costs per call, against
# baselines measured in the same run, alternating call by call in one session
# (the machine may be shared: drift hits every variant alike):
#  1. etl.run_status(run_id) of a finished run (summary and progress);
#  2. the same preceded by etl.mark_abandoned_runs(), which run_status called
#     at every call before 0.2 (now only for a run whose worker is gone), with
#     RUNNING rows other runs left 'running' (their workers alive: sessions
#     that sleep), so the check reads pg_stat_activity as it would on a busy
#     server;
#  3. the hand-written lower bound: the run's row as jsonb.
# Builds its own throwaway cluster (like make test) and prints ms per call and
# ratios.
#
#   bash test/bench/runs/run_status.sh            # CALLS=2000 RUNNING=8
source "$(dirname "${BASH_SOURCE[0]}")/../../harness/common.sh"

CALLS=${CALLS:-2000}
RUNNING=${RUNNING:-8}

metaetl_workdir
trap 'kill $(jobs -p) 2>/dev/null; metaetl_cleanup' EXIT
metaetl_private_pg
metaetl_build >/dev/null
metaetl_cluster_init bench
metaetl_cluster_start
as_pg "$PGBIN/createdb" -h "$PGHOST" -p "$PGPORT" -U postgres bench
export PGDATABASE=bench

psql_pg -d bench <<'SQL' >/dev/null
CREATE EXTENSION metaetl;
SELECT etl.register_pipeline($$
pipeline:
  id: bench_status
  sources: [ { id: src, type: postgresql, query: "SELECT i AS id FROM generate_series(1, 100) i" } ]
  transforms: [ { id: f, type: filter, params: { condition: "id > 10" } } ]
  targets: [ { id: out, type: postgresql, table: public.bench_status_out } ]
$$);
SELECT count(etl.execute_pipeline('bench_status')) FROM generate_series(1, 20);
SQL
# runs left 'running' by live processes: what mark_abandoned_runs must check
for i in $(seq 1 "$RUNNING"); do
    psql_pg -d bench -c "SELECT pg_sleep(600)" >/dev/null 2>&1 &
done
sleep 1
psql_pg -d bench -At >/dev/null <<SQL
INSERT INTO etl.pipeline_runs (pipeline_id, status, started_at, worker_pid)
SELECT 'bench_status', 'running', now(), pid FROM pg_stat_activity
 WHERE query = 'SELECT pg_sleep(600)' LIMIT $RUNNING;
SQL

psql_pg -d bench -At <<SQL
DO \$\$
DECLARE
    rid  bigint := (SELECT max(run_id) FROM etl.pipeline_runs WHERE status = 'succeeded');
    t    timestamptz;
    a    float8 := 0;  -- run_status
    b    float8 := 0;  -- mark_abandoned_runs + run_status (before 0.2)
    c    float8 := 0;  -- the row as jsonb
    j    jsonb;
BEGIN
    FOR i IN 1..$CALLS LOOP
        t := clock_timestamp();
        j := etl.run_status(rid);
        a := a + extract(epoch FROM clock_timestamp() - t);
        t := clock_timestamp();
        PERFORM etl.mark_abandoned_runs();
        j := etl.run_status(rid);
        b := b + extract(epoch FROM clock_timestamp() - t);
        t := clock_timestamp();
        SELECT to_jsonb(r) INTO j FROM etl.pipeline_runs r WHERE r.run_id = rid;
        c := c + extract(epoch FROM clock_timestamp() - t);
    END LOOP;
    RAISE NOTICE 'run_status: % ms per call; with mark_abandoned_runs at every call (0.1): % ms (x%); the row as jsonb: % ms (run_status x% of it)',
        round((a * 1000 / $CALLS)::numeric, 3), round((b * 1000 / $CALLS)::numeric, 3),
        round((b / a)::numeric, 2), round((c * 1000 / $CALLS)::numeric, 3), round((a / c)::numeric, 1);
    IF (SELECT count(*) FROM etl.pipeline_runs WHERE status = 'running') <> $RUNNING THEN
        RAISE EXCEPTION 'the running rows were marked abandoned: the benchmark measured the wrong thing';
    END IF;
END
\$\$;
SQL
