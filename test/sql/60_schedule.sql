-- 60_schedule: cron expressions in SQL, schedule_pipeline / unschedule /
-- pause / resume, get_next_runs, the schedule: config block, and the errors
-- for bad cron strings, unknown time zones and bad options.
SET timezone = 'UTC';
\set SHOW_CONTEXT never
CREATE ROLE sched60_owner LOGIN;
INSERT INTO etl.pipelines (pipeline_id, name, owner, config) VALUES
  ('s60_daily', 'Daily', 'sched60_owner', '{"pipeline": {"id": "s60_daily"}}'),
  ('s60_up', 'Upstream', 'sched60_owner', '{"pipeline": {"id": "s60_up"}}');

CREATE FUNCTION pg_temp.sqlstate_of(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END $$;

-- cron_next: fields, L, macros, seconds, @every
SELECT etl.cron_next('*/15 * * * *', 'UTC', '2026-01-01 10:07+00') AS every_15_min,
       etl.cron_next('0 0 L * *', 'UTC', '2026-02-01 00:00+00') AS last_day_feb,
       etl.cron_next('0 0 L 2 *', 'UTC', '2027-03-01 00:00+00') AS last_day_feb_leap,
       etl.cron_next('@weekly', 'UTC', '2026-11-25 12:00+00') AS weekly,
       etl.cron_next('*/10 * * * * *', 'UTC', '2026-01-01 00:00:05+00') AS every_10_s,
       etl.cron_next('@every 5m', 'UTC', '2026-01-01 00:05:00.5+00') AS every_5m,
       etl.cron_next('@reboot', 'UTC', '2026-01-01 00:00+00') AS reboot,
       etl.cron_next('0 0 30 2 *', 'UTC', '2026-01-01 00:00+00') AS never;

-- a daily 02:30 job fires exactly once on both DST transition days
SELECT t AS berlin_spring_utc, t AT TIME ZONE 'Europe/Berlin' AS local_time
  FROM etl.cron_ticks('30 2 * * *', 'Europe/Berlin', '2026-03-28', '2026-03-31') t;
SELECT t AS berlin_fall_utc, t AT TIME ZONE 'Europe/Berlin' AS local_time
  FROM etl.cron_ticks('30 2 * * *', 'Europe/Berlin', '2026-10-24', '2026-10-27') t;
SELECT t AS new_york_spring_utc, t AT TIME ZONE 'America/New_York' AS local_time
  FROM etl.cron_ticks('30 2 * * *', 'America/New_York', '2026-03-07', '2026-03-10') t;
-- hourly follows real time through the repeated hour
SELECT t AS hourly_berlin_fall_utc
  FROM etl.cron_ticks('0 * * * *', 'Europe/Berlin', '2026-10-24 23:00+00', '2026-10-25 02:00+00') t;
-- from_ts and to_ts are inclusive; max_ticks caps
SELECT count(*) AS ticks_inclusive FROM etl.cron_ticks('0 * * * *', 'UTC', '2026-01-01 00:00+00', '2026-01-01 03:00+00');
SELECT count(*) AS capped FROM etl.cron_ticks('* * * * * *', 'UTC', '2026-01-01', 'infinity', 7);

-- schedule, inspect, replace (same id), next runs
SELECT etl.schedule_pipeline('s60_daily', '30 2 * * *', 'Europe/Berlin') > 0 AS scheduled;
SELECT pipeline_id, cron, timezone, catchup, depends_on, paused, priority, pool,
       next_fire_at > now() AS next_in_future,
       (next_fire_at AT TIME ZONE 'Europe/Berlin')::time AS next_local_time
  FROM etl.schedules WHERE pipeline_id = 's60_daily';
SELECT schedule_id AS first_id FROM etl.schedules WHERE pipeline_id = 's60_daily' \gset
SELECT etl.schedule_pipeline('s60_daily', '0 6 * * mon-fri', 'UTC',
                             '{"catchup": "all", "priority": 5, "depends_on": ["s60_up"], "dependency_window": "1 hour"}')
       = :first_id AS same_id_when_replaced;
SELECT cron, timezone, catchup, depends_on, dependency_window, priority
  FROM etl.schedules WHERE pipeline_id = 's60_daily';
SELECT etl.schedule_pipeline('s60_daily', '0 12 * * *') = :first_id AS same_id;
SELECT count(*) AS next_runs, bool_and(t > now()) AS all_future,
       bool_and(t::time = '12:00') AS all_at_noon,
       count(DISTINCT t::date) AS distinct_days
  FROM etl.get_next_runs('s60_daily') t;
SELECT count(*) AS three FROM etl.get_next_runs('s60_daily', 3);

-- pause and resume
SELECT etl.pause_schedule('s60_daily') AS paused;
SELECT paused FROM etl.schedules WHERE pipeline_id = 's60_daily';
SELECT etl.resume_schedule('s60_daily') AS resumed;
SELECT paused, next_fire_at > now() AS next_in_future FROM etl.schedules WHERE pipeline_id = 's60_daily';
SELECT etl.pause_schedule('s60_up') AS pause_unscheduled;

-- a one-off run
SELECT etl.schedule_pipeline('s60_up', NULL, 'UTC', '{"at": "2030-01-01 02:00+00"}') > 0 AS one_off;
SELECT cron, run_at, next_fire_at FROM etl.schedules WHERE pipeline_id = 's60_up';
SELECT * FROM etl.get_next_runs('s60_up');

-- the schedule: block of a pipeline config
SELECT etl.apply_schedule_config('s60_up', '{"cron": "0 2 * * *", "timezone": "America/New_York", "depends_on": [], "catchup": "none"}') > 0 AS applied;
SELECT cron, timezone, catchup, paused, run_at FROM etl.schedules WHERE pipeline_id = 's60_up';
SELECT etl.apply_schedule_config('s60_up', '{"cron": "@hourly", "enabled": false}') > 0 AS applied_paused;
SELECT cron, timezone, paused FROM etl.schedules WHERE pipeline_id = 's60_up';
SELECT etl.apply_schedule_config('s60_up', NULL) IS NULL AS removed;
SELECT count(*) AS s60_up_schedules FROM etl.schedules WHERE pipeline_id = 's60_up';

-- unschedule
SELECT etl.unschedule_pipeline('s60_daily') AS removed, etl.unschedule_pipeline('s60_daily') AS again;

-- errors: messages with detail and hint, then their SQLSTATEs
SELECT etl.schedule_pipeline('s60_daily', '61 * * * *');
SELECT etl.schedule_pipeline('s60_daily', '* * * *');
SELECT etl.schedule_pipeline('s60_daily', '0 0 * foo *');
SELECT etl.schedule_pipeline('s60_daily', '@every 5x');
SELECT etl.schedule_pipeline('s60_daily', '0 2 * * *', 'Mars/Olympus_Mons');
SELECT etl.schedule_pipeline('s60_daily', '0 2 * * *', 'UTC', '{"catchup": "sometimes"}');
SELECT etl.schedule_pipeline('s60_daily', '0 2 * * *', 'UTC', '{"retries": 3}');
SELECT etl.schedule_pipeline('s60_daily', '0 2 * * *', 'UTC', '{"pool": "nosuchpool"}');
SELECT etl.schedule_pipeline('s60_daily', '0 2 * * *', 'UTC', '{"depends_on": ["nosuch"]}');
SELECT etl.schedule_pipeline('s60_daily', '0 2 * * *', 'UTC', '{"at": "not a time"}');
SELECT etl.schedule_pipeline('nosuch', '0 2 * * *');
SELECT etl.schedule_pipeline('s60_daily', NULL);
SELECT etl.get_next_runs('s60_daily');
SELECT stmt, pg_temp.sqlstate_of(stmt) AS sqlstate FROM (VALUES
  ($$SELECT etl.schedule_pipeline('s60_daily', '61 * * * *')$$),
  ($$SELECT etl.schedule_pipeline('s60_daily', '')$$),
  ($$SELECT etl.schedule_pipeline('s60_daily', '5-1 * * * *')$$),
  ($$SELECT etl.schedule_pipeline('s60_daily', '0 2 * * *', 'Mars/Olympus_Mons')$$),
  ($$SELECT etl.schedule_pipeline('s60_daily', '0 2 * * *', 'EST5EDT4')$$),
  ($$SELECT etl.schedule_pipeline('s60_daily', '0 2 * * *', 'UTC', '{"catchup": "sometimes"}')$$),
  ($$SELECT etl.schedule_pipeline('nosuch', '0 2 * * *')$$),
  ($$SELECT etl.cron_next('@bogus')$$),
  ($$SELECT etl.cron_next('0 0 * * *', 'Nowhere/Land')$$)) AS v(stmt);
-- nothing was written by the failed calls
SELECT count(*) AS schedules_left FROM etl.schedules WHERE pipeline_id LIKE 's60_%';

DELETE FROM etl.pipelines WHERE pipeline_id LIKE 's60_%';
DROP ROLE sched60_owner;
