-- 64_scheduling_docs: the examples of docs/scheduling.md, run as written
-- (with counts or booleans where the docs show times that depend on today).
SET timezone = 'UTC';
\set SHOW_CONTEXT never
CREATE ROLE sched64_owner LOGIN;
INSERT INTO etl.pipelines (pipeline_id, name, owner, config) VALUES
  ('customer_etl', 'Customer Data ETL', 'sched64_owner', '{"pipeline": {"id": "customer_etl"}}'),
  ('crm_extract', 'CRM extract', 'sched64_owner', '{"pipeline": {"id": "crm_extract"}}');

-- Scheduling a pipeline
SELECT etl.schedule_pipeline('customer_etl', '30 2 * * *', 'Europe/Berlin') > 0 AS scheduled;
SELECT etl.schedule_pipeline('customer_etl', '0 6 * * mon-fri', 'UTC',
       '{"catchup": "all", "priority": 5, "depends_on": ["crm_extract"], "dependency_window": "1 hour"}') > 0 AS replaced;
SELECT count(*) AS next_3 FROM etl.get_next_runs('customer_etl', 3);
SELECT etl.pause_schedule('customer_etl');
SELECT etl.resume_schedule('customer_etl');
SELECT etl.unschedule_pipeline('customer_etl');

-- From a pipeline config
SELECT etl.apply_schedule_config('customer_etl',
       '{"cron": "0 2 * * *", "timezone": "America/New_York", "depends_on": [], "catchup": "none"}') > 0 AS applied;
SELECT etl.apply_schedule_config('customer_etl', NULL);

-- Time zones and daylight saving time
SELECT t AS utc, t AT TIME ZONE 'Europe/Berlin' AS local_time
  FROM etl.cron_ticks('30 2 * * *', 'Europe/Berlin', '2026-03-28', '2026-03-31') t;

-- The run queue
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
SELECT etl.schedule_pipeline('customer_etl', '30 2 * * *', 'Europe/Berlin',
       '{"depends_on": ["crm_extract"]}') > 0 AS scheduled;
ALTER SYSTEM SET metaetl.scheduler_enabled = off;
SELECT pg_reload_conf();
SELECT pg_temp.wait_for($$SELECT etl.scheduler_status()->>'state' = 'disabled'$$) AS disabled;
SELECT etl.run_now('customer_etl') > 0 AS queued;
SELECT etl.backfill('customer_etl', '2026-10-24', '2026-10-27');
INSERT INTO etl.pipeline_runs (pipeline_id, status, logical_date) VALUES ('crm_extract', 'running', '2026-10-26 00:30+00');
SELECT etl.check_dependencies('customer_etl')->'blocking'->0->>'reason' AS blocking_reason;
SELECT etl.add_pool('warehouse', 2);
DELETE FROM etl.run_queue WHERE pipeline_id = 'customer_etl' AND state = 'waiting';
SELECT pipeline_id, trigger, state FROM etl.claim_runs(10) WHERE pipeline_id = 'customer_etl';
ALTER SYSTEM RESET metaetl.scheduler_enabled;
SELECT pg_reload_conf();
SELECT pg_temp.wait_for($$SELECT etl.scheduler_status()->>'state' = 'running'$$) AS running;
-- paused, the launcher started nothing: no run of customer_etl, no alert
SELECT count(*) AS runs_started FROM etl.pipeline_runs
 WHERE pipeline_id = 'customer_etl' AND triggered_by = 'scheduler';
SELECT count(*) AS alerts_raised FROM etl.alerts WHERE pipeline_id IN ('customer_etl', 'crm_extract');

-- The launcher
SELECT etl.scheduler_status() ?& ARRAY['state', 'enabled', 'database', 'launcher_pid', 'next_due',
                                      'queue_length', 'waiting', 'claimed', 'active_workers'] AS has_keys;
SELECT etl.health()->>'scheduler' IN ('running', 'restarting', 'starting') AS launcher_up;

DELETE FROM etl.alerts WHERE pipeline_id IN ('customer_etl', 'crm_extract');
DELETE FROM etl.pipelines WHERE pipeline_id IN ('customer_etl', 'crm_extract');
SELECT etl.drop_pool('warehouse');
DROP ROLE sched64_owner;
