-- 62_launcher: the launcher background worker enqueues due ticks — an
-- every-second schedule, catch-up policies after missed ticks, the
-- one rule for who runs — and reports itself in scheduler_status() and health().
SET timezone = 'UTC';
\set SHOW_CONTEXT never
CREATE ROLE sched62_owner LOGIN;
INSERT INTO etl.pipelines (pipeline_id, name, owner, config)
SELECT id, id, 'sched62_owner', jsonb_build_object('pipeline', jsonb_build_object('id', id))
  FROM unnest(ARRAY['l62_sec', 'l62_all', 'l62_latest', 'l62_none']) AS id;
INSERT INTO etl.pipelines (pipeline_id, name, config)
VALUES ('l62_super', 'owned by a superuser', '{"pipeline": {"id": "l62_super"}}');

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

-- the launcher runs (preloaded, connected to this database)
SELECT pg_temp.wait_for($$SELECT etl.scheduler_status()->>'state' = 'running'$$) AS running;
SELECT etl.scheduler_status()->>'state' AS state,
       etl.scheduler_status()->>'enabled' AS enabled,
       etl.scheduler_status()->>'database' = current_database() AS this_database,
       (etl.scheduler_status()->>'launcher_pid')::int > 0 AS has_pid,
       etl.health()->>'scheduler' AS health;
SELECT key FROM jsonb_each(etl.scheduler_status()) ORDER BY key;

-- a * * * * * * schedule enqueues at least 3 ticks in 5 seconds, no duplicates
SELECT etl.add_pool('l62_hold', 0, 'held: nothing is claimed');
SELECT etl.schedule_pipeline('l62_sec', '* * * * * *', 'UTC', '{"pool": "l62_hold"}') > 0 AS scheduled;
SELECT pg_sleep(5);
SELECT etl.pause_schedule('l62_sec');
SELECT count(*) >= 3 AS at_least_3, count(*) <= 7 AS at_most_7,
       count(*) = count(DISTINCT logical_date) AS no_duplicates,
       bool_and(logical_date = date_trunc('second', logical_date)) AS whole_seconds,
       max(logical_date) - min(logical_date) = (count(*) - 1) * interval '1 second' AS no_gaps,
       bool_and(trigger = 'schedule' AND state = 'queued') AS queued
  FROM etl.run_queue WHERE pipeline_id = 'l62_sec';
SELECT (etl.scheduler_status()->>'queue_length')::int >= 3 AS status_counts_queue;

-- a commit that queues a run wakes the launcher at once (latch set from the
-- commit callback), not at its next one-second poll: five times in a row a
-- pass follows the commit within 300 ms
CREATE TEMP TABLE wake (woken int);
DO $$
DECLARE
    t0 timestamptz;
    n  int := 0;
BEGIN
    FOR i IN 1..5 LOOP
        PERFORM etl.run_now('l62_sec');
        t0 := clock_timestamp();
        COMMIT;
        PERFORM pg_sleep(0.3);
        IF (etl.scheduler_status()->>'last_tick_at')::timestamptz > t0 THEN
            n := n + 1;
        END IF;
    END LOOP;
    INSERT INTO wake VALUES (n);
END $$;
SELECT woken FROM wake;

-- catch-up: five hourly ticks were missed (the schedule's next time is set
-- 5 hours back); all enqueues them all, latest only the last, none nothing
-- (held in the 0-slot pool: the launcher's dispatcher does not start them)
SELECT format('%s * * * *', (extract(minute FROM now())::int + 30) % 60) AS hourly \gset
SELECT etl.schedule_pipeline(id, :'hourly', 'UTC', jsonb_build_object('catchup', c, 'paused', true, 'pool', 'l62_hold')) > 0 AS scheduled
  FROM (VALUES ('l62_all', 'all'), ('l62_latest', 'latest'), ('l62_none', 'none')) v(id, c);
UPDATE etl.schedules SET next_fire_at = etl.cron_next(cron, timezone, now() - interval '5 hours'), paused = false
 WHERE pipeline_id IN ('l62_all', 'l62_latest', 'l62_none');
SELECT pg_temp.wait_for($$SELECT bool_and(next_fire_at > now()) FROM etl.schedules
                          WHERE pipeline_id IN ('l62_all', 'l62_latest', 'l62_none')$$) AS caught_up;
SELECT s.pipeline_id, s.catchup, count(q.queue_id) AS enqueued,
       max(q.logical_date) = etl._cron_last(s.cron, 'UTC', now() - interval '5 hours', now()) AS last_is_latest_tick,
       s.next_fire_at = etl.cron_next(s.cron, 'UTC', now()) AS next_is_next_tick
  FROM etl.schedules s LEFT JOIN etl.run_queue q USING (pipeline_id)
 WHERE s.pipeline_id IN ('l62_all', 'l62_latest', 'l62_none')
 GROUP BY s.pipeline_id, s.catchup, s.cron, s.next_fire_at ORDER BY 1;

-- a schedule fires under the rules etl.execute_pipeline applies: a
-- superuser's pipeline runs as its owner like any other (as a pg_cron job
-- does; metaetl.allow_superuser_runs is ignored), so its ticks are enqueued
SELECT etl.schedule_pipeline('l62_super', '* * * * * *', 'UTC', '{"pool": "l62_hold"}') > 0 AS scheduled;
SELECT pg_temp.wait_for($$SELECT count(*) > 0 FROM etl.run_queue WHERE pipeline_id = 'l62_super'$$) AS super_enqueued;
SELECT last_error FROM etl.schedules WHERE pipeline_id = 'l62_super';
SELECT etl.pause_schedule('l62_super');

-- an owner those rules refuse (one that cannot log in: a run executes in a
-- session of its owner) is refused when the schedule is made, with a hint —
-- by schedule_pipeline, and by register_pipeline for a config's schedule:
CREATE ROLE sched62_nologin NOLOGIN;
GRANT etl_developer TO sched62_nologin;
INSERT INTO etl.pipelines (pipeline_id, name, owner, config)
VALUES ('l62_nologin', 'owned by a NOLOGIN role', 'sched62_nologin', '{"pipeline": {"id": "l62_nologin"}}');
SELECT etl.schedule_pipeline('l62_nologin', '0 2 * * *');
-- (and so does queueing a run of it)
SELECT etl.run_now('l62_nologin');
SET ROLE sched62_nologin;
SELECT etl.register_pipeline($$
pipeline:
  id: l62_nologin_cfg
  sources: [ { id: src, type: inline, rows: [ { v: 1 } ] } ]
  targets: [ { id: out, type: postgresql, table: public.l62_nologin_out } ]
  schedule: { cron: "0 2 * * *" }
$$);
RESET ROLE;
-- nothing was scheduled, queued or registered
SELECT (SELECT count(*) FROM etl.schedules WHERE pipeline_id LIKE 'l62_nologin%') AS schedules,
       (SELECT count(*) FROM etl.run_queue WHERE pipeline_id LIKE 'l62_nologin%') AS queued,
       (SELECT count(*) FROM etl.pipelines WHERE pipeline_id = 'l62_nologin_cfg') AS registered;
DELETE FROM etl.pipelines WHERE pipeline_id = 'l62_nologin';
DROP ROLE sched62_nologin;

-- metaetl.scheduler_enabled = off pauses the launcher; on resumes it
INSERT INTO etl.pipelines (pipeline_id, name, owner, config)
VALUES ('l62_off', 'l62_off', 'sched62_owner', '{"pipeline": {}}');
ALTER SYSTEM SET metaetl.scheduler_enabled = off;
SELECT pg_reload_conf();
SELECT pg_temp.wait_for($$SELECT etl.scheduler_status()->>'state' = 'disabled'$$) AS disabled;
SELECT etl.health()->>'scheduler' AS health;
SELECT etl.schedule_pipeline('l62_off', '* * * * * *', 'UTC', '{"pool": "l62_hold"}') > 0 AS scheduled;
SELECT pg_sleep(1.5);
SELECT count(*) AS enqueued_while_disabled FROM etl.run_queue WHERE pipeline_id = 'l62_off';
ALTER SYSTEM RESET metaetl.scheduler_enabled;
SELECT pg_reload_conf();
SELECT pg_temp.wait_for($$SELECT etl.scheduler_status()->>'state' = 'running'$$) AS running_again;
SELECT pg_temp.wait_for($$SELECT count(*) > 0 FROM etl.run_queue WHERE pipeline_id = 'l62_off'$$) AS enqueued_again;
SELECT etl.unschedule_pipeline('l62_off');

-- a schedule in a database the launcher does not serve is stored, with a warning
SELECT current_database() AS regress_db \gset
CREATE DATABASE sched62_other;
\c sched62_other
CREATE EXTENSION metaetl;
INSERT INTO etl.pipelines (pipeline_id, name, config) VALUES ('elsewhere', 'x', '{"pipeline": {}}');
SELECT etl.schedule_pipeline('elsewhere', '@daily') > 0 AS stored;
\c :regress_db
DROP DATABASE sched62_other;
SET timezone = 'UTC';

-- run history retention: finished runs older than the given age are purged
SHOW metaetl.run_retention;
INSERT INTO etl.pipeline_runs (pipeline_id, status, queued_at, started_at, ended_at)
VALUES ('l62_sec', 'succeeded', now() - interval '40 days', now() - interval '40 days', now() - interval '40 days'),
       ('l62_sec', 'failed', now() - interval '31 days', now() - interval '31 days', now() - interval '31 days'),
       ('l62_sec', 'succeeded', now() - interval '2 days', now() - interval '2 days', now() - interval '2 days'),
       ('l62_sec', 'running', now() - interval '40 days', now() - interval '40 days', NULL);
SELECT etl.purge_run_history(batch_size => 1) AS first_batch;
SELECT etl.purge_run_history() AS second_batch;
SELECT etl.purge_run_history() AS nothing_left;
SELECT status, ended_at IS NULL AS unfinished FROM etl.pipeline_runs WHERE pipeline_id = 'l62_sec' ORDER BY run_id;

-- every queued run of this test was held: none was started, none raised an alert
SELECT count(*) AS runs_started FROM etl.pipeline_runs
 WHERE pipeline_id LIKE 'l62_%' AND triggered_by = 'scheduler';
SELECT count(*) AS alerts_raised FROM etl.alerts WHERE pipeline_id LIKE 'l62_%';
DELETE FROM etl.alerts WHERE pipeline_id LIKE 'l62_%';
DELETE FROM etl.pipelines WHERE pipeline_id LIKE 'l62_%';
SELECT etl.drop_pool('l62_hold');
DROP ROLE sched62_owner;
