-- 35_run_executors: scheduled runs start in a pool of long-lived run
-- executors (metaetl.run_executors).  An executor runs one queued run after
-- another; nothing a run leaves in its session reaches the next one; a
-- cancel stops the run, not the executor; an executor that dies frees its
-- slot; idle executors exit after metaetl.run_executor_idle_timeout; the
-- launcher starts executors shortly before runs are due.
\set VERBOSITY default
CREATE SCHEMA rx;
CREATE TABLE rx.src (id int);
INSERT INTO rx.src VALUES (1);
GRANT USAGE, CREATE ON SCHEMA rx TO PUBLIC;
GRANT SELECT ON rx.src TO PUBLIC;
-- leaves an option, a temporary table and a session advisory lock behind
CREATE FUNCTION rx.leak(x int) RETURNS int LANGUAGE plpgsql AS $$
BEGIN
  PERFORM set_config('app.leak', 'left by an earlier run', false);
  PERFORM pg_advisory_lock(35035);
  CREATE TEMP TABLE IF NOT EXISTS rx_leak_tmp (x int);
  RETURN x;
END $$;
-- reports what its session holds
CREATE FUNCTION rx.peek(x int) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  RETURN concat_ws(', ',
    'option: ' || coalesce(nullif(current_setting('app.leak', true), ''), 'unset'),
    'temp table: ' || (to_regclass('pg_temp.rx_leak_tmp') IS NOT NULL)::text,
    'advisory lock: ' || EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory'
                                   AND l.objid = 35035 AND l.pid = pg_backend_pid())::text);
END $$;
CREATE FUNCTION rx.nap(x int) RETURNS int LANGUAGE sql AS 'SELECT x FROM pg_sleep(30)';
CREATE ROLE rx_owner LOGIN;

SET ROLE rx_owner;
SELECT etl.register_pipeline($$
pipeline:
  id: rx_leak
  name: leaves session state
  sources: [ { id: src, type: postgresql, table: rx.src } ]
  transforms:
    - { id: leak, type: udf, params: { function: rx.leak, args: [id], output: leaked } }
  targets: [ { id: out, type: postgresql, table: rx.leak_out, mode: append } ]
$$) IS NOT NULL AS registered;
SELECT etl.register_pipeline($$
pipeline:
  id: rx_peek
  name: reports session state
  sources: [ { id: src, type: postgresql, table: rx.src } ]
  transforms:
    - { id: peek, type: udf, params: { function: rx.peek, args: [id], output: seen } }
  targets: [ { id: out, type: postgresql, table: rx.peek_out, mode: append } ]
$$) IS NOT NULL AS registered;
SELECT etl.register_pipeline($$
pipeline:
  id: rx_slow
  name: sleeps
  retry: { max_attempts: 1 }
  sources: [ { id: src, type: postgresql, table: rx.src } ]
  transforms:
    - { id: nap, type: udf, params: { function: rx.nap, args: [id], output: napped } }
  targets: [ { id: out, type: postgresql, table: rx.slow_out, mode: append } ]
$$) IS NOT NULL AS registered;
RESET ROLE;

-- waits until the pipeline has n finished runs and no executor is busy
CREATE PROCEDURE rx.wait_runs(p text, n int, state text DEFAULT 'finished') LANGUAGE plpgsql AS $$
BEGIN
  FOR i IN 1..300 LOOP
    EXIT WHEN CASE state
      WHEN 'finished' THEN
        (SELECT count(*) FROM etl.pipeline_runs WHERE pipeline_id = p
          AND status NOT IN ('queued', 'running')) >= n
        AND (etl.scheduler_status()->'executors'->>'busy')::int = 0
      ELSE (SELECT count(*) FROM etl.pipeline_runs WHERE pipeline_id = p AND status = state) >= n END;
    PERFORM pg_sleep(0.05);
  END LOOP;
END $$;

-- the pool, as etl.scheduler_status() shows it (size is metaetl.run_executors)
SELECT s->'executors'->>'size' AS pool_size, current_setting('metaetl.run_executors') AS setting,
       s->'executors' ?& array['idle', 'busy', 'starting'] AS has_counts
  FROM etl.scheduler_status() s;

-- 1. two runs one after the other: the same executor takes both, and the
--    second sees nothing the first left behind
SELECT etl.run_now('rx_leak') > 0 AS queued;
CALL rx.wait_runs('rx_leak', 1);
SELECT etl.run_now('rx_peek') > 0 AS queued;
CALL rx.wait_runs('rx_peek', 1);
SELECT p.status AS peek_status, l.status AS leak_status,
       p.worker_pid = l.worker_pid AS same_executor,
       a.backend_type, a.application_name
  FROM etl.pipeline_runs l, etl.pipeline_runs p
  LEFT JOIN pg_stat_activity a ON a.pid = p.worker_pid
 WHERE l.pipeline_id = 'rx_leak' AND p.pipeline_id = 'rx_peek';
SELECT seen FROM rx.peek_out;
SELECT leaked FROM rx.leak_out;
-- the run record says when the executor took the run
SELECT worker_started_at >= logical_date AND worker_started_at <= started_at AS took_after_due
  FROM etl.pipeline_runs WHERE pipeline_id = 'rx_peek';

-- 2. cancel stops the run, not the executor, which goes on to the next run
SELECT etl.run_now('rx_slow') > 0 AS queued;
CALL rx.wait_runs('rx_slow', 1, 'running');
SELECT run_id AS slow_run, worker_pid AS slow_pid FROM etl.pipeline_runs
 WHERE pipeline_id = 'rx_slow' AND status = 'running' \gset
SELECT etl.cancel_run(:slow_run) AS cancelled;
CALL rx.wait_runs('rx_slow', 1);
SELECT status, error_sqlstate FROM etl.pipeline_runs WHERE run_id = :slow_run;
SELECT backend_type, application_name FROM pg_stat_activity WHERE pid = :slow_pid;
SELECT etl.run_now('rx_peek') > 0 AS queued;
CALL rx.wait_runs('rx_peek', 2);
SELECT count(*) FILTER (WHERE status = 'succeeded') AS peek_succeeded FROM etl.pipeline_runs
 WHERE pipeline_id = 'rx_peek';

-- 3. an executor that dies mid-run: the run is abandoned (without anyone
--    calling etl.run_status), the slot is freed and the next run starts in a
--    new executor
SELECT etl.run_now('rx_slow') > 0 AS queued;
CALL rx.wait_runs('rx_slow', 1, 'running');
SELECT run_id AS slow_run, worker_pid AS slow_pid FROM etl.pipeline_runs
 WHERE pipeline_id = 'rx_slow' AND status = 'running' \gset
SELECT pg_terminate_backend(:slow_pid, 5000) AS terminated;
-- the launcher hears of it and marks the run abandoned by itself
CALL rx.wait_runs('rx_slow', 1, 'abandoned');
SELECT status, error_message FROM etl.pipeline_runs WHERE run_id = :slow_run;
SELECT etl.run_now('rx_peek') > 0 AS queued;
CALL rx.wait_runs('rx_peek', 3);
SELECT status, worker_pid <> :slow_pid AS other_executor FROM etl.pipeline_runs
 WHERE pipeline_id = 'rx_peek' ORDER BY run_id DESC LIMIT 1;
-- every queue row is done: none holds a slot of metaetl.max_concurrent_runs
SELECT q.pipeline_id, q.state, q.note, r.status
  FROM etl.run_queue q LEFT JOIN etl.pipeline_runs r USING (run_id)
 WHERE q.pipeline_id LIKE 'rx\_%' ORDER BY q.queue_id;

-- 4. idle executors exit after metaetl.run_executor_idle_timeout
ALTER SYSTEM SET metaetl.run_executor_idle_timeout = '1s';
SELECT pg_reload_conf();
DO $$
BEGIN
  FOR i IN 1..100 LOOP
    EXIT WHEN NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE backend_type = 'metaetl run executor');
    PERFORM pg_sleep(0.1);
  END LOOP;
END $$;
SELECT count(*) AS executors_left FROM pg_stat_activity WHERE backend_type = 'metaetl run executor';
SELECT etl.scheduler_status()->'executors'->>'idle' AS idle;
ALTER SYSTEM RESET metaetl.run_executor_idle_timeout;
SELECT pg_reload_conf();

-- 5. executors start ahead of runs due within 3 seconds: a schedule whose runs
--    are held (a pool of 0 slots) gets an idle executor before any run
SELECT count(*) AS executors_before FROM pg_stat_activity WHERE backend_type = 'metaetl run executor';
SELECT etl.add_pool('rx_hold', 0);
SELECT etl.schedule_pipeline('rx_peek', '* * * * * *', 'UTC', '{"pool": "rx_hold"}') > 0 AS scheduled;
DO $$
BEGIN
  FOR i IN 1..100 LOOP
    EXIT WHEN EXISTS (SELECT 1 FROM pg_stat_activity WHERE backend_type = 'metaetl run executor'
                        AND application_name = 'metaetl executor');
    PERFORM pg_sleep(0.05);
  END LOOP;
END $$;
SELECT count(*) >= 1 AS executor_started, bool_or(application_name = 'metaetl executor') AS idle
  FROM pg_stat_activity WHERE backend_type = 'metaetl run executor';
SELECT etl.unschedule_pipeline('rx_peek');
SELECT count(*) AS held_runs_started FROM etl.pipeline_runs WHERE pipeline_id = 'rx_peek' AND trigger = 'schedule';

-- a run starts in an executor started for it, or the one started ahead
SELECT etl.run_now('rx_peek') > 0 AS queued;
CALL rx.wait_runs('rx_peek', 4);
SELECT count(*) FILTER (WHERE status = 'succeeded') AS peek_succeeded
  FROM etl.pipeline_runs WHERE pipeline_id = 'rx_peek';
SELECT seen, count(*) AS runs FROM rx.peek_out GROUP BY seen;

-- 6. the parameters
ALTER SYSTEM SET metaetl.run_executors = 2000;
ALTER SYSTEM SET metaetl.run_executor_idle_timeout = -1;

DROP SCHEMA rx CASCADE;
DELETE FROM etl.pipelines WHERE pipeline_id LIKE 'rx\_%';
DROP ROLE rx_owner;
SELECT etl.drop_pool('rx_hold');
