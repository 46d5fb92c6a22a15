-- 33_scheduled_runs: the scheduler's queue drives real runs — a per-second
-- schedule runs repeatedly, queued runs start as the pipeline's owner, and a
-- pool of 2 slots is never exceeded.
\set VERBOSITY default
CREATE SCHEMA sr;
CREATE TABLE sr.src (id int);
INSERT INTO sr.src VALUES (1);
GRANT USAGE, CREATE ON SCHEMA sr TO PUBLIC;
GRANT SELECT ON sr.src TO PUBLIC;
CREATE FUNCTION sr.nap(x int) RETURNS int LANGUAGE sql AS 'SELECT x FROM pg_sleep(0.4)';
CREATE ROLE sr_owner LOGIN;

-- a trivial pipeline owned by a plain role
SET ROLE sr_owner;
SELECT etl.register_pipeline($$
pipeline:
  id: sr_tick
  name: every second
  sources: [ { id: src, type: postgresql, table: sr.src } ]
  targets: [ { id: out, type: postgresql, table: sr.tick_out, mode: append } ]
$$);
RESET ROLE;

-- 1. '* * * * * *' runs at least 3 times in 5 seconds, each tick once
SELECT etl.schedule_pipeline('sr_tick', '* * * * * *') > 0 AS scheduled;
SELECT pg_sleep(5);
SELECT etl.unschedule_pipeline('sr_tick');
SELECT pg_sleep(1);   -- let the last started runs finish
SELECT count(*) >= 3 AS ran_at_least_3_times,
       count(*) = count(DISTINCT logical_date) AS one_run_per_tick,
       bool_and(status = 'succeeded') AS all_succeeded,
       bool_and(run_as = 'sr_owner') AS ran_as_owner,
       bool_and(trigger = 'schedule' AND triggered_by = 'scheduler') AS scheduled_trigger
  FROM etl.pipeline_runs WHERE pipeline_id = 'sr_tick';
SELECT count(*) AS queue_rows_not_done
  FROM etl.run_queue WHERE pipeline_id = 'sr_tick' AND state NOT IN ('done', 'skipped');

-- 2. a pool of 2 slots: 10 queued runs of a slow pipeline never run more than 2 at once
SELECT etl.add_pool('sr_two', 2);
CREATE TABLE sr.pool_out (id int, napped int);
SELECT etl.register_pipeline($$
pipeline:
  id: sr_pool
  name: pooled
  concurrency: allow
  sources: [ { id: src, type: postgresql, table: sr.src } ]
  transforms:
    - { id: nap, type: udf, params: { function: sr.nap, args: [id], output: napped } }
  targets: [ { id: out, type: postgresql, table: sr.pool_out, mode: append } ]
$$);
BEGIN;
SELECT etl.schedule_pipeline('sr_pool', '* * * * * *', 'UTC', '{"pool": "sr_two"}') > 0 AS scheduled;
SELECT etl.pause_schedule('sr_pool');
SELECT etl.backfill('sr_pool', date_trunc('second', now()) - interval '20 seconds',
                    date_trunc('second', now()) - interval '11 seconds') AS queued;
COMMIT;
DO $$
BEGIN
  FOR i IN 1..200 LOOP
    EXIT WHEN (SELECT count(*) FROM etl.pipeline_runs WHERE pipeline_id = 'sr_pool'
                 AND status NOT IN ('queued', 'running')) = 10;
    PERFORM pg_sleep(0.1);
  END LOOP;
END $$;
SELECT status, count(*) AS runs, min(error_message) AS error
  FROM etl.pipeline_runs WHERE pipeline_id = 'sr_pool' GROUP BY status;
-- the observed maximum of runs overlapping in time
SELECT max(overlap) AS max_concurrent, max(overlap) <= 2 AS pool_respected
  FROM (SELECT (SELECT count(*) FROM etl.pipeline_runs o
                 WHERE o.pipeline_id = 'sr_pool'
                   AND o.started_at <= r.started_at AND o.ended_at > r.started_at) AS overlap
          FROM etl.pipeline_runs r WHERE r.pipeline_id = 'sr_pool') x;
SELECT count(*) AS done_queue_rows FROM etl.run_queue WHERE pipeline_id = 'sr_pool' AND state = 'done';

-- 3. a scheduled run's retries wait in the queue, not in its worker: the same
--    run resumes at its next attempt once the delay has passed
CREATE SEQUENCE sr.flaky_calls;
CREATE FUNCTION sr.flaky(x int) RETURNS int LANGUAGE plpgsql AS $$
BEGIN
  IF nextval('sr.flaky_calls') <= 2 THEN
    RAISE EXCEPTION 'could not serialize access (test)' USING ERRCODE = 'serialization_failure';
  END IF;
  RETURN x;
END $$;
SELECT etl.register_pipeline($$
pipeline:
  id: sr_retry
  name: retried through the queue
  retry: { max_attempts: 3, initial_delay_s: 0.3, backoff: 1, jitter: false }
  sources: [ { id: src, type: postgresql, table: sr.src } ]
  transforms:
    - { id: call, type: udf, params: { function: sr.flaky, args: [id], output: y } }
  targets: [ { id: out, type: postgresql, table: sr.retry_out, mode: append } ]
$$);
SELECT etl.run_now('sr_retry') > 0 AS queued;
DO $$
BEGIN
  FOR i IN 1..100 LOOP
    EXIT WHEN (SELECT count(*) FROM etl.pipeline_runs WHERE pipeline_id = 'sr_retry'
                 AND status NOT IN ('queued', 'running')) = 1;
    PERFORM pg_sleep(0.1);
  END LOOP;
END $$;
SELECT count(*) AS runs, min(status) AS status, min(attempt) AS attempts FROM etl.pipeline_runs
 WHERE pipeline_id = 'sr_retry';
SELECT a.attempt, a.status, a.error_sqlstate, a.next_delay_s
  FROM etl.run_attempts a JOIN etl.pipeline_runs r USING (run_id)
 WHERE r.pipeline_id = 'sr_retry' ORDER BY a.attempt;
SELECT state, attempt, run_id = (SELECT run_id FROM etl.pipeline_runs WHERE pipeline_id = 'sr_retry') AS same_run
  FROM etl.run_queue WHERE pipeline_id = 'sr_retry';
SELECT action FROM etl.audit_log WHERE object_id = 'sr_retry' AND object_type = 'run' ORDER BY audit_id;

-- clean up
SELECT etl.unschedule_pipeline('sr_pool');
DELETE FROM etl.pools WHERE pool = 'sr_two';
DELETE FROM etl.pipelines WHERE pipeline_id IN ('sr_tick', 'sr_pool', 'sr_retry');
DELETE FROM etl.audit_log WHERE object_id IN ('sr_tick', 'sr_pool', 'sr_retry');
DROP SCHEMA sr CASCADE;
DROP OWNED BY sr_owner;
DROP ROLE sr_owner;
