-- scheduler: the queue is written only by SECURITY DEFINER functions that check the caller

CREATE OR REPLACE FUNCTION etl.run_now(pipeline_id pg_catalog.text)
RETURNS pg_catalog.int8
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_id int8;
BEGIN
    IF NOT etl._caller_may_operate(run_now.pipeline_id) THEN
        RAISE EXCEPTION 'pipeline "%" does not exist', pipeline_id USING ERRCODE = '42704';
    END IF;
    INSERT INTO etl.run_queue AS q (pipeline_id, schedule_id, logical_date, trigger, priority, pool)
    SELECT run_now.pipeline_id, NULL, now(), 'run_now', coalesce(s.priority, 0), s.pool
      FROM (SELECT 1) one
      LEFT JOIN etl.schedules s ON s.pipeline_id OPERATOR(pg_catalog.=) run_now.pipeline_id
    RETURNING q.queue_id INTO v_id;
    RETURN v_id;
END
$fn$;
COMMENT ON FUNCTION etl.run_now(pg_catalog.text) IS
  'queues a run of the pipeline now (outside its schedule, not waiting for dependencies); returns the queue id';

CREATE OR REPLACE FUNCTION etl.backfill(pipeline_id pg_catalog.text, from_ts pg_catalog.timestamptz,
                             to_ts pg_catalog.timestamptz)
RETURNS pg_catalog.int4
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    s etl.schedules;
    n int4;
BEGIN
    IF NOT etl._caller_may_operate(backfill.pipeline_id) THEN
        RAISE EXCEPTION 'pipeline "%" does not exist', pipeline_id USING ERRCODE = '42704';
    END IF;
    SELECT * INTO s FROM etl.schedules q WHERE q.pipeline_id OPERATOR(pg_catalog.=) backfill.pipeline_id;
    IF NOT FOUND OR s.cron IS NULL THEN
        RAISE EXCEPTION 'pipeline "%" has no cron schedule to backfill', pipeline_id
            USING ERRCODE = '55000',
                  HINT = 'Schedule it first with etl.schedule_pipeline(pipeline_id, cron); backfill enqueues one run per scheduled time.';
    END IF;
    IF from_ts IS NULL OR to_ts IS NULL OR from_ts > to_ts THEN
        RAISE EXCEPTION 'invalid backfill range'
            USING ERRCODE = '22023', DETAIL = format('From %s to %s.', from_ts, to_ts),
                  HINT = 'Pass from_ts <= to_ts.';
    END IF;
    IF (SELECT count(*) FROM etl.cron_ticks(s.cron, s.timezone, from_ts, to_ts, 10001)) > 10000 THEN
        RAISE EXCEPTION 'backfill range holds more than 10000 scheduled times'
            USING ERRCODE = '54000', DETAIL = format('Pipeline "%s", from %s to %s.', pipeline_id, from_ts, to_ts),
                  HINT = 'Backfill a shorter range at a time.';
    END IF;
    INSERT INTO etl.run_queue (pipeline_id, schedule_id, logical_date, trigger, priority, pool, state)
    SELECT s.pipeline_id, s.schedule_id, t, 'backfill', s.priority, s.pool,
           CASE WHEN cardinality(s.depends_on) > 0 THEN 'waiting' ELSE 'queued' END
      FROM etl.cron_ticks(s.cron, s.timezone, from_ts, to_ts, 10000) AS t
    ON CONFLICT (schedule_id, logical_date) DO NOTHING;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$fn$;
COMMENT ON FUNCTION etl.backfill(pg_catalog.text, pg_catalog.timestamptz, pg_catalog.timestamptz) IS
  'enqueues one run per scheduled time in [from_ts, to_ts] with that logical date (times already queued are skipped); returns how many were added';

REVOKE EXECUTE ON FUNCTION etl.claim_runs(pg_catalog.int4) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION etl.claim_runs(pg_catalog.int4) TO etl_operator, etl_admin;
