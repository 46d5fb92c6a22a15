-- 61_queue: the run queue — backfill, run_now, the unique tick key,
-- dependencies that block and then release (by the launcher), pools with
-- slots under a claiming loop, and dataset-triggered runs.
SET timezone = 'UTC';
\set SHOW_CONTEXT never
CREATE ROLE sched61_owner LOGIN;
-- runs of this test wait in a pool with no slots, so nothing starts them
SELECT etl.add_pool('q61_hold', 0, 'held: nothing is claimed');
INSERT INTO etl.pipelines (pipeline_id, name, owner, config)
SELECT id, id, 'sched61_owner', jsonb_build_object('pipeline', jsonb_build_object('id', id, 'concurrency', c))
  FROM (VALUES ('q61_up', 'skip'), ('q61_down', 'skip'), ('q61_pool', 'allow'), ('q61_ds', 'skip'),
               ('q61_none', 'allow'), ('q61_skip', 'skip'), ('q61_queue', 'queue'), ('q61_allow', 'allow')) AS v(id, c);

-- a DO-block helper: wait (up to 10 s) until a query returns true
CREATE FUNCTION pg_temp.wait_for(cond text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE ok boolean;
BEGIN
    FOR i IN 1..100 LOOP
        EXECUTE cond INTO ok;
        IF ok THEN RETURN true; END IF;
        PERFORM pg_sleep(0.1);
    END LOOP;
    RETURN false;
END $$;

-- backfill: one run per scheduled time, with its logical date (DST-aware)
SELECT etl.schedule_pipeline('q61_up', '30 2 * * *', 'Europe/Berlin', '{"pool": "q61_hold"}') > 0 AS scheduled;
SELECT etl.backfill('q61_up', '2026-10-24', '2026-10-27') AS enqueued;
SELECT etl.backfill('q61_up', '2026-10-22', '2026-10-27') AS enqueued_only_new;
SELECT logical_date, logical_date AT TIME ZONE 'Europe/Berlin' AS local_time, trigger, state
  FROM etl.run_queue WHERE pipeline_id = 'q61_up' ORDER BY logical_date;
-- never two queue rows for one schedule tick
\set VERBOSITY terse
INSERT INTO etl.run_queue (pipeline_id, schedule_id, logical_date, trigger)
SELECT pipeline_id, schedule_id, '2026-10-25 00:30+00', 'schedule'
  FROM etl.schedules WHERE pipeline_id = 'q61_up';
\set VERBOSITY default
-- backfill errors
SELECT etl.backfill('q61_none', '2026-01-01', '2026-01-02');
SELECT etl.backfill('q61_up', '2026-01-02', '2026-01-01');
SELECT etl.backfill('q61_up', '1990-01-01', '2026-01-01');

-- run_now: outside the schedule, no tick key
SELECT etl.run_now('q61_up') > 0 AS queued;
SELECT trigger, state, schedule_id IS NULL AS no_schedule, logical_date IS NOT NULL AS has_date
  FROM etl.run_queue WHERE pipeline_id = 'q61_up' AND trigger = 'run_now';
SELECT etl.run_now('nosuch');

-- dependencies: the downstream run waits until the upstream's latest run
-- for its logical date (or later, within the window) succeeded
SELECT etl.schedule_pipeline('q61_down', '0 3 * * *', 'UTC',
                             '{"depends_on": ["q61_up"], "dependency_window": "2 hours", "pool": "q61_hold"}') > 0 AS scheduled;
SELECT etl.backfill('q61_down', '2026-10-26 03:00+00', '2026-10-26 03:00+00') AS enqueued;
SELECT logical_date, state FROM etl.run_queue WHERE pipeline_id = 'q61_down';
SELECT etl.check_dependencies('q61_down');
-- an older success (outside the window) does not count; a running one blocks
INSERT INTO etl.pipeline_runs (pipeline_id, status, logical_date, trigger)
VALUES ('q61_up', 'succeeded', '2026-10-25 00:30+00', 'schedule');
INSERT INTO etl.pipeline_runs (pipeline_id, status, logical_date, trigger)
VALUES ('q61_up', 'running', '2026-10-26 01:30+00', 'schedule');
SELECT jsonb_pretty(etl.check_dependencies('q61_down') #- '{blocking,0,run_id}');
SELECT pg_sleep(1.5);
SELECT state AS still_waiting FROM etl.run_queue WHERE pipeline_id = 'q61_down';
UPDATE etl.pipeline_runs SET status = 'succeeded' WHERE pipeline_id = 'q61_up' AND status = 'running';
SELECT etl.check_dependencies('q61_down');
-- the launcher releases the waiting run
SELECT pg_temp.wait_for($$SELECT state = 'queued' FROM etl.run_queue WHERE pipeline_id = 'q61_down'$$) AS released;
SELECT etl.check_dependencies('q61_none') AS no_schedule_is_ready;

-- The sections below claim by hand, as a worker loop would.  The launcher
-- claims and starts queued runs itself after every pass, so it is paused
-- (metaetl.scheduler_enabled = off: no ticks, no dispatch) until they end.
ALTER SYSTEM SET metaetl.scheduler_enabled = off;
SELECT pg_reload_conf();
SELECT pg_temp.wait_for($$SELECT etl.scheduler_status()->>'state' = 'disabled'$$) AS launcher_paused;

-- pools: a pool with 2 slots never has more than 2 claimed runs
DELETE FROM etl.run_queue WHERE pipeline_id LIKE 'q61_%';
SELECT etl.add_pool('q61_two', 2, 'two at a time');
SELECT etl.schedule_pipeline('q61_pool', '0 0 1 1 *', 'UTC', '{"pool": "q61_two", "priority": 1}') > 0 AS scheduled;
SELECT count(etl.run_now('q61_pool')) AS queued FROM generate_series(1, 10);
SELECT count(*) AS first_claim FROM etl.claim_runs(10);
SELECT count(*) AS second_claim FROM etl.claim_runs(10);
CREATE TEMP TABLE observed (max_claimed int, claims int);
DO $$
DECLARE
    m int := 0;
    c int;
    n int := 0;
BEGIN
    LOOP
        n := n + (SELECT count(*) FROM etl.claim_runs(10));
        SELECT count(*) INTO c FROM etl.run_queue WHERE pool = 'q61_two' AND state = 'claimed';
        m := greatest(m, c);
        EXIT WHEN NOT EXISTS (SELECT 1 FROM etl.run_queue
                               WHERE pool = 'q61_two' AND state IN ('queued', 'claimed'));
        -- a worker finishes the oldest claimed run
        UPDATE etl.run_queue SET state = 'done'
         WHERE queue_id = (SELECT min(queue_id) FROM etl.run_queue
                            WHERE pool = 'q61_two' AND state = 'claimed');
    END LOOP;
    INSERT INTO observed VALUES (m, n);
END $$;
SELECT max_claimed, claims + 2 AS total_claimed FROM observed;
SELECT state, count(*) FROM etl.run_queue WHERE pipeline_id = 'q61_pool' GROUP BY state;
\set VERBOSITY terse
SELECT etl.add_pool('q61_two', -1);
\set VERBOSITY default
SELECT etl.drop_pool('q61_two') AS dropped, etl.drop_pool('q61_two') AS again;
SELECT pool FROM etl.schedules WHERE pipeline_id = 'q61_pool';

-- metaetl.max_concurrent_runs caps claimed runs across pools
DELETE FROM etl.run_queue WHERE pipeline_id LIKE 'q61_%';
ALTER SYSTEM SET metaetl.max_concurrent_runs = 3;
SELECT pg_reload_conf();
SELECT pg_sleep(0.5);  -- a session reloads its configuration between statements
SHOW metaetl.max_concurrent_runs;
SELECT count(etl.run_now('q61_none')) AS queued FROM generate_series(1, 10);
SELECT count(*) AS claimed FROM etl.claim_runs(10);
SELECT count(*) AS none_left_to_claim FROM etl.claim_runs(10);
UPDATE etl.run_queue SET state = 'done' WHERE queue_id = (SELECT min(queue_id) FROM etl.run_queue
                                                           WHERE pipeline_id = 'q61_none' AND state = 'claimed');
SELECT count(*) AS one_slot_freed FROM etl.claim_runs(10);
ALTER SYSTEM RESET metaetl.max_concurrent_runs;
SELECT pg_reload_conf();
SELECT pg_sleep(0.5);
SHOW metaetl.max_concurrent_runs;
DELETE FROM etl.run_queue WHERE pipeline_id LIKE 'q61_%';

-- each pipeline's concurrency policy: skip marks extra runs skipped while one
-- is in progress, queue leaves them queued, allow claims them
SELECT count(etl.run_now(id)) AS queued
  FROM unnest(ARRAY['q61_skip', 'q61_queue', 'q61_allow']) AS id, generate_series(1, 2);
SELECT pipeline_id, count(*) AS claimed FROM etl.claim_runs(10) GROUP BY 1 ORDER BY 1;
SELECT pipeline_id, state, note FROM etl.run_queue
 WHERE pipeline_id IN ('q61_skip', 'q61_queue', 'q61_allow') ORDER BY pipeline_id, queue_id;
UPDATE etl.run_queue SET state = 'done' WHERE pipeline_id = 'q61_queue' AND state = 'claimed';
SELECT pipeline_id, count(*) AS claimed_after_the_first_ended FROM etl.claim_runs(10) GROUP BY 1;
DELETE FROM etl.run_queue WHERE pipeline_id LIKE 'q61_%';
-- the launcher resumes
ALTER SYSTEM RESET metaetl.scheduler_enabled;
SELECT pg_reload_conf();
SELECT pg_temp.wait_for($$SELECT etl.scheduler_status()->>'state' = 'running'$$) AS launcher_running;

-- dataset-triggered: a run is queued when an upstream run loads rows
SELECT etl.schedule_pipeline('q61_ds', NULL, 'UTC', '{"trigger_on": ["q61_up"], "pool": "q61_hold"}') > 0 AS scheduled;
INSERT INTO etl.pipeline_runs (pipeline_id, status, rows_written, ended_at, started_at, trigger)
VALUES ('q61_up', 'succeeded', 0, now(), now(), 'manual');
INSERT INTO etl.pipeline_runs (pipeline_id, status, rows_written, ended_at, started_at, trigger)
VALUES ('q61_up', 'failed', 5, now(), now(), 'manual');
INSERT INTO etl.pipeline_runs (pipeline_id, status, rows_written, ended_at, started_at, trigger)
VALUES ('q61_up', 'succeeded', 5, now() + interval '1 second', now(), 'manual');
SELECT pg_temp.wait_for($$SELECT count(*) > 0 FROM etl.run_queue WHERE pipeline_id = 'q61_ds'$$) AS triggered;
SELECT pg_sleep(1.2);
SELECT trigger, state, count(*) FROM etl.run_queue WHERE pipeline_id = 'q61_ds' GROUP BY 1, 2;

-- every run of this test was held or claimed by hand: none was started, so
-- none failed and raised an alert
SELECT count(*) AS runs_started FROM etl.pipeline_runs
 WHERE pipeline_id LIKE 'q61_%' AND triggered_by = 'scheduler';
SELECT count(*) AS alerts_raised FROM etl.alerts WHERE pipeline_id LIKE 'q61_%';
DELETE FROM etl.alerts WHERE pipeline_id LIKE 'q61_%';
DELETE FROM etl.pipelines WHERE pipeline_id LIKE 'q61_%';
SELECT count(*) AS queue_rows_left FROM etl.run_queue WHERE pipeline_id LIKE 'q61_%';
SELECT etl.drop_pool('q61_hold');
DROP ROLE sched61_owner;
