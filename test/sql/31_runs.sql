-- 31_runs: the run lifecycle end to end — success, failure with SQLSTATE and
-- step, retries of transient errors, permanent errors, cancel, concurrency,
-- inline runs, records and audit rows.
\set VERBOSITY default
CREATE SCHEMA runs;
CREATE TABLE runs.orders (id int PRIMARY KEY, region text, amount numeric);
INSERT INTO runs.orders VALUES (1, 'EU', 10), (2, 'EU', 20), (3, 'US', 5), (4, 'US', -1);

-- a pipeline inserted in normalised form (YAML registration has its own tests)
INSERT INTO etl.pipelines (pipeline_id, name, config) VALUES ('runs_ok', 'ok', $${"pipeline": {
  "id": "runs_ok", "name": "ok", "engine": "auto",
  "sources": [{"id": "orders", "type": "postgresql", "table": "runs.orders"}],
  "transforms": [
    {"id": "positive", "type": "filter", "input": "orders", "params": {"condition": "amount > 0"}},
    {"id": "by_region", "type": "aggregate", "input": "positive",
     "params": {"groupby_cols": ["region"], "agg_functions": {"amount": "sum"}}}],
  "targets": [{"id": "summary", "type": "postgresql", "table": "runs.summary", "input": "by_region",
               "mode": "replace", "keys": [], "create": true}]}}$$);

-- 1. success in a background worker: the original usage's call
SELECT r->>'status' AS status, r ? 'rows_read' AS has_rows_read, r->>'rows_written' AS rows_written,
       r->'error' AS error, (r->>'run_id')::bigint > 0 AS has_run_id,
       (r->>'duration_ms')::numeric >= 0 AS has_duration, r->>'engine' IS NOT NULL AS has_engine
  FROM etl.execute_pipeline('runs_ok', 'manual', 'user123') r;
SELECT * FROM runs.summary ORDER BY region;
SELECT status, trigger, triggered_by, run_as, attempt, version, rows_written,
       cpu_user_ms IS NOT NULL AS cpu, peak_memory_kb > 0 AS mem, rows_per_sec > 0 AS rate,
       worker_pid <> pg_backend_pid() AS ran_in_worker
  FROM etl.pipeline_runs WHERE pipeline_id = 'runs_ok';
SELECT s.seq, s.step_id, s.kind, s.status, s.rows
  FROM etl.step_runs s JOIN etl.pipeline_runs r USING (run_id)
 WHERE r.pipeline_id = 'runs_ok' ORDER BY s.seq;

-- 2. a failing target: recorded with SQLSTATE, message and step; the target keeps its rows
CREATE TABLE runs.strict_target (region text, amount numeric CHECK (amount < 20));
INSERT INTO runs.strict_target VALUES ('old', 1);
INSERT INTO etl.pipelines (pipeline_id, name, config) VALUES ('runs_bad_target', 'bad', $${"pipeline": {
  "id": "runs_bad_target", "name": "bad",
  "sources": [{"id": "orders", "type": "postgresql", "table": "runs.orders"}],
  "transforms": [{"id": "by_region", "type": "aggregate", "input": "orders",
     "params": {"groupby_cols": ["region"], "agg_functions": {"amount": "sum"}}}],
  "targets": [{"id": "strict", "type": "postgresql", "table": "runs.strict_target", "input": "by_region",
               "mode": "append", "keys": [], "create": false}]}}$$);
SELECT r->>'status' AS status, r->'error'->>'sqlstate' AS sqlstate, r->'error'->>'message' AS message,
       r->'error'->>'step' AS step, r->>'rows_written' AS rows_written
  FROM etl.execute_pipeline('runs_bad_target') r;
SELECT * FROM runs.strict_target;
SELECT status, error_sqlstate, attempt FROM etl.pipeline_runs WHERE pipeline_id = 'runs_bad_target';
SELECT a.attempt, a.status, a.error_class, a.error_sqlstate FROM etl.run_attempts a
  JOIN etl.pipeline_runs r USING (run_id) WHERE r.pipeline_id = 'runs_bad_target';

-- 3. transient errors are retried with backoff: fails twice with
--    serialization_failure, then succeeds (a sequence survives the rollbacks)
CREATE SEQUENCE runs.flaky_calls;
CREATE FUNCTION runs.flaky(x numeric) RETURNS numeric LANGUAGE plpgsql AS $$
BEGIN
  IF x = 10 AND nextval('runs.flaky_calls') <= 2 THEN
    RAISE EXCEPTION 'could not serialize access (test)' USING ERRCODE = 'serialization_failure';
  END IF;
  RETURN x;
END $$;
INSERT INTO etl.pipelines (pipeline_id, name, config) VALUES ('runs_flaky', 'flaky', $${"pipeline": {
  "id": "runs_flaky", "name": "flaky",
  "retry": {"max_attempts": 3, "initial_delay_s": 0.05, "backoff": 2.0, "max_delay_s": 1},
  "sources": [{"id": "orders", "type": "postgresql", "table": "runs.orders"}],
  "transforms": [{"id": "call", "type": "udf", "input": "orders",
                  "params": {"function": "runs.flaky", "args": ["amount"], "output": "checked"}}],
  "targets": [{"id": "out", "type": "postgresql", "table": "runs.flaky_out", "input": "call",
               "mode": "replace", "keys": [], "create": true}]}}$$);
SELECT r->>'status' AS status, r->>'attempts' AS attempts, r->>'rows_written' AS rows_written
  FROM etl.execute_pipeline('runs_flaky') r;
SELECT a.attempt, a.status, a.error_class, a.error_sqlstate, a.next_delay_s
  FROM etl.run_attempts a JOIN etl.pipeline_runs r USING (run_id)
 WHERE r.pipeline_id = 'runs_flaky' ORDER BY a.attempt;

-- a step's own retry: block applies to errors of that step (here the target
-- being loaded); the pipeline's policy allows no retry at all
CREATE SEQUENCE runs.flaky2_calls;
CREATE FUNCTION runs.flaky2(x numeric) RETURNS numeric LANGUAGE plpgsql AS $$
BEGIN
  IF x = 10 AND nextval('runs.flaky2_calls') <= 2 THEN
    RAISE EXCEPTION 'deadlock detected (test)' USING ERRCODE = 'deadlock_detected';
  END IF;
  RETURN x;
END $$;
SELECT etl.register_pipeline($$
pipeline:
  id: runs_step_retry
  name: step retry
  retry: { max_attempts: 1 }
  sources: [ { id: orders, type: postgresql, table: runs.orders } ]
  transforms:
    - { id: call, type: udf, params: { function: runs.flaky2, args: [amount], output: checked } }
  targets:
    - id: out
      type: postgresql
      table: runs.step_retry_out
      retry: { max_attempts: 3, initial_delay_s: 0.05 }
$$);
SELECT etl.load_pipeline_config('runs_step_retry') #> '{pipeline,targets,0,retry}' AS target_retry;
SELECT r->>'status' AS status, r->>'attempts' AS attempts, r->>'rows_written' AS rows_written
  FROM etl.execute_pipeline('runs_step_retry') r;
SELECT a.attempt, a.status, a.error_class, a.error_sqlstate
  FROM etl.run_attempts a JOIN etl.pipeline_runs r USING (run_id)
 WHERE r.pipeline_id = 'runs_step_retry' ORDER BY a.attempt;

-- 4. a permanent error fails at once, however many attempts the policy allows
CREATE FUNCTION runs.broken(x numeric) RETURNS numeric LANGUAGE sql AS 'SELECT x / 0';
INSERT INTO etl.pipelines (pipeline_id, name, config) VALUES ('runs_broken', 'broken', $${"pipeline": {
  "id": "runs_broken", "name": "broken",
  "retry": {"max_attempts": 5, "initial_delay_s": 0.05},
  "sources": [{"id": "orders", "type": "postgresql", "table": "runs.orders"}],
  "transforms": [{"id": "divide", "type": "udf", "input": "orders",
                  "params": {"function": "runs.broken", "args": ["amount"], "output": "q"}}],
  "targets": [{"id": "out", "type": "postgresql", "table": "runs.broken_out", "input": "divide",
               "mode": "replace", "keys": [], "create": true}]}}$$);
SELECT r->>'status' AS status, r->>'attempts' AS attempts, r->'error'->>'sqlstate' AS sqlstate,
       r->'error'->>'message' AS message
  FROM etl.execute_pipeline('runs_broken') r;
SELECT to_regclass('runs.broken_out') AS target_created;

-- 5. cancel: a slow run ends 'cancelled' within a second of etl.cancel_run
CREATE FUNCTION runs.slow(x numeric) RETURNS numeric LANGUAGE sql AS 'SELECT x FROM pg_sleep(30)';
INSERT INTO etl.pipelines (pipeline_id, name, config) VALUES ('runs_slow', 'slow', $${"pipeline": {
  "id": "runs_slow", "name": "slow",
  "sources": [{"id": "orders", "type": "postgresql", "table": "runs.orders"}],
  "transforms": [{"id": "sleep", "type": "udf", "input": "orders",
                  "params": {"function": "runs.slow", "args": ["amount"], "output": "q"}}],
  "targets": [{"id": "out", "type": "postgresql", "table": "runs.slow_out", "input": "sleep",
               "mode": "replace", "keys": [], "create": true}]}}$$);
SELECT (etl.execute_pipeline('runs_slow', wait => false)->>'run_id')::bigint AS slow_run \gset
SELECT etl.run_status(:slow_run)->>'status' AS status_while_running;
-- a second run of a running pipeline is skipped (concurrency: skip, the default)
SELECT r->>'status' AS status, r->'error'->>'message' AS message
  FROM etl.execute_pipeline('runs_slow') r;
SELECT clock_timestamp() AS cancel_at \gset
SELECT etl.cancel_run(:slow_run) AS cancelled;
SELECT set_config('runs.id', :'slow_run', false) IS NOT NULL AS waiting;
DO $$
BEGIN
  FOR i IN 1..100 LOOP
    EXIT WHEN (SELECT status FROM etl.pipeline_runs WHERE run_id = current_setting('runs.id')::bigint) <> 'running';
    PERFORM pg_sleep(0.05);
  END LOOP;
END $$;
SELECT status, ended_at - :'cancel_at'::timestamptz < interval '1 second' AS within_1s,
       error_sqlstate
  FROM etl.pipeline_runs WHERE run_id = :slow_run;
SELECT etl.cancel_run(:slow_run) AS cancel_again;
SELECT to_regclass('runs.slow_out') AS target_created;

-- timeout_minutes: a run that takes longer fails, and its target is not created
INSERT INTO etl.pipelines (pipeline_id, name, config) VALUES ('runs_timeout', 'timeout', $${"pipeline": {
  "id": "runs_timeout", "name": "timeout", "timeout_minutes": 0.01,
  "sources": [{"id": "orders", "type": "postgresql", "table": "runs.orders"}],
  "transforms": [{"id": "sleep", "type": "udf", "input": "orders",
                  "params": {"function": "runs.slow", "args": ["amount"], "output": "q"}}],
  "targets": [{"id": "out", "type": "postgresql", "table": "runs.timeout_out", "input": "sleep",
               "mode": "replace", "keys": [], "create": true}]}}$$);
SELECT r->>'status' AS status, r->'error'->>'sqlstate' AS sqlstate, r->'error'->>'message' AS message,
       (r->>'duration_ms')::numeric < 5000 AS stopped_early
  FROM etl.execute_pipeline('runs_timeout') r;
SELECT to_regclass('runs.timeout_out') AS target_created;

-- 6. inline: runs in this transaction; its records and loads roll back with it
BEGIN;
INSERT INTO runs.orders VALUES (5, 'APAC', 7);
SELECT r->>'status' AS status, r->>'rows_written' AS rows_written
  FROM etl.execute_pipeline_inline('runs_ok', 'api', 'inline-test') r;
SELECT * FROM runs.summary ORDER BY region;
ROLLBACK;
SELECT * FROM runs.summary ORDER BY region;
SELECT count(*) AS inline_runs_kept FROM etl.pipeline_runs WHERE triggered_by = 'inline-test';
-- an inline failure is returned, not raised, and the transaction goes on
SELECT r->>'status' AS status, r->'error'->>'sqlstate' AS sqlstate
  FROM etl.execute_pipeline_inline('runs_broken') r;

-- 7. the audit trail of runs
SELECT a.action, a.object_id, a.details->>'status' AS status
  FROM etl.audit_log a
 WHERE a.object_type = 'run' AND a.object_id IN ('runs_ok', 'runs_bad_target', 'runs_slow')
 ORDER BY a.audit_id;

-- 8. performance figures
SELECT pipeline_id, runs, succeeded, success_rate, p50_duration_ms > 0 AS has_p50
  FROM etl.pipeline_stats WHERE pipeline_id LIKE 'runs\_%' ORDER BY pipeline_id;

-- failed runs raised alerts (monitoring); clean up
SELECT alert_type, pipeline_id, status, occurrences FROM etl.alerts
 WHERE pipeline_id LIKE 'runs\_%' ORDER BY alert_id;
DELETE FROM etl.alerts WHERE pipeline_id LIKE 'runs\_%';
DELETE FROM etl.pipelines WHERE pipeline_id LIKE 'runs\_%';
DELETE FROM etl.audit_log WHERE object_id LIKE 'runs\_%';
DROP SCHEMA runs CASCADE;
