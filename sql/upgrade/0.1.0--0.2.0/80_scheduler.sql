-- scheduler: the queue is written only by SECURITY DEFINER functions that check the caller;
-- schedule_pipeline accepts depends_on: "auto" (the upstreams lineage shows, 87_lineage.sql),
-- check_dependencies shows lineage_depends_on, backfill names the parent run of what it queues

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
    v_batch uuid := gen_random_uuid();   -- the parent run of these runs (OpenLineage)
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
    INSERT INTO etl.run_queue (pipeline_id, schedule_id, logical_date, trigger, priority, pool, state, note)
    SELECT s.pipeline_id, s.schedule_id, t, 'backfill', s.priority, s.pool,
           CASE WHEN cardinality(s.depends_on) > 0 THEN 'waiting' ELSE 'queued' END,
           'backfill ' || v_batch
      FROM etl.cron_ticks(s.cron, s.timezone, from_ts, to_ts, 10000) AS t
    ON CONFLICT (schedule_id, logical_date) DO NOTHING;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$fn$;
COMMENT ON FUNCTION etl.backfill(pg_catalog.text, pg_catalog.timestamptz, pg_catalog.timestamptz) IS
  'enqueues one run per scheduled time in [from_ts, to_ts] with that logical date (times already queued are skipped); returns how many were added';

CREATE OR REPLACE FUNCTION etl.schedule_pipeline(pipeline_id pg_catalog.text, cron pg_catalog.text,
                                      timezone pg_catalog.text DEFAULT 'UTC',
                                      options pg_catalog.jsonb DEFAULT '{}')
RETURNS pg_catalog.int8
LANGUAGE plpgsql
SET search_path = pg_catalog
AS $fn$
DECLARE
    known_keys constant text[] := ARRAY['catchup', 'depends_on', 'trigger_on', 'pool', 'priority',
                                        'at', 'dependency_window', 'paused'];
    opt       jsonb := coalesce(options, '{}');
    k         text;
    v_catchup text;
    v_depends text[];
    v_trigger text[];
    v_pool    text;
    v_prio    int4;
    v_at      timestamptz;
    v_window  interval;
    v_paused  bool;
    v_next    timestamptz;
    v_seen    int8;
    v_id      int8;
    p         text;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM etl.pipelines q WHERE q.pipeline_id OPERATOR(pg_catalog.=) schedule_pipeline.pipeline_id) THEN
        RAISE EXCEPTION 'pipeline "%" does not exist', pipeline_id
            USING ERRCODE = '42704',
                  HINT = 'Register the pipeline with etl.register_pipeline() before scheduling it.';
    END IF;
    PERFORM etl._require_scheduler();
    IF jsonb_typeof(opt) <> 'object' THEN
        RAISE EXCEPTION 'schedule options must be a JSON object'
            USING ERRCODE = '22023', HINT = 'Pass options such as ''{"catchup": "all", "depends_on": ["upstream"]}''.';
    END IF;
    FOR k IN SELECT jsonb_object_keys(opt) LOOP
        IF NOT k = ANY (known_keys) THEN
            RAISE EXCEPTION 'unknown schedule option "%"', k
                USING ERRCODE = '22023',
                      DETAIL = format('Pipeline "%s".', pipeline_id),
                      HINT = 'Known options: ' || array_to_string(known_keys, ', ') || '.';
        END IF;
    END LOOP;

    v_catchup := coalesce(opt->>'catchup', 'latest');
    IF v_catchup NOT IN ('none', 'latest', 'all') THEN
        RAISE EXCEPTION 'invalid catchup "%"', v_catchup
            USING ERRCODE = '22023', DETAIL = format('Pipeline "%s".', pipeline_id),
                  HINT = 'Use none, latest or all.';
    END IF;
    BEGIN
        -- depends_on: auto = the pipelines writing what this one reads, from lineage
        -- (src/lineage keeps it current as lineage changes)
        IF opt->'depends_on' = '"auto"' THEN
            PERFORM etl._lineage_refresh(NULL);
            v_depends := etl._lineage_upstreams(pipeline_id);
        ELSE
            v_depends := coalesce(ARRAY(SELECT jsonb_array_elements_text(coalesce(opt->'depends_on', '[]'))), '{}');
        END IF;
        v_trigger := coalesce(ARRAY(SELECT jsonb_array_elements_text(coalesce(opt->'trigger_on', '[]'))), '{}');
        v_prio    := coalesce((opt->>'priority')::int4, 0);
        v_at      := (opt->>'at')::timestamptz;
        v_window  := coalesce((opt->>'dependency_window')::interval, '0');
        v_paused  := coalesce((opt->>'paused')::bool, false);
    EXCEPTION WHEN data_exception OR invalid_text_representation OR invalid_datetime_format
                   OR datetime_field_overflow OR invalid_parameter_value THEN
        RAISE EXCEPTION 'invalid schedule options for pipeline "%"', pipeline_id
            USING ERRCODE = '22023', DETAIL = 'Invalid value: ' || SQLERRM || '.',
                  HINT = 'depends_on and trigger_on are arrays of pipeline ids, priority an integer, at a timestamptz, dependency_window an interval.';
    END;
    FOREACH p IN ARRAY v_depends || v_trigger LOOP
        IF NOT EXISTS (SELECT 1 FROM etl.pipelines q WHERE q.pipeline_id OPERATOR(pg_catalog.=) p) THEN
            RAISE EXCEPTION 'upstream pipeline "%" does not exist', p
                USING ERRCODE = '42704', DETAIL = format('Pipeline "%s" names it in depends_on or trigger_on.', pipeline_id),
                      HINT = 'Register the upstream pipeline first, or remove it from the schedule options.';
        END IF;
        IF p = pipeline_id THEN
            RAISE EXCEPTION 'pipeline "%" cannot depend on itself', p USING ERRCODE = '22023',
                  HINT = 'Remove it from depends_on and trigger_on.';
        END IF;
    END LOOP;
    v_pool := opt->>'pool';
    IF v_pool IS NOT NULL AND NOT EXISTS (SELECT 1 FROM etl.pools o WHERE o.pool OPERATOR(pg_catalog.=) v_pool) THEN
        RAISE EXCEPTION 'pool "%" does not exist', v_pool
            USING ERRCODE = '42704', DETAIL = format('Pipeline "%s".', pipeline_id),
                  HINT = 'Create it with etl.add_pool(name, slots).';
    END IF;

    IF cron IS NOT NULL AND btrim(cron) = '' THEN
        cron := NULL;
    END IF;
    IF cron IS NULL AND v_at IS NULL AND cardinality(v_trigger) = 0 THEN
        RAISE EXCEPTION 'a schedule needs a cron expression, an "at" time or "trigger_on"'
            USING ERRCODE = '22023', DETAIL = format('Pipeline "%s".', pipeline_id),
                  HINT = 'Pass a cron expression such as ''0 2 * * *'', or options ''{"at": "2030-01-01 02:00+00"}''.';
    END IF;
    PERFORM etl._check_schedule(cron, coalesce(timezone, 'UTC'));
    timezone := coalesce(timezone, 'UTC');

    IF v_at IS NOT NULL THEN
        v_next := v_at;
    ELSIF cron IS NOT NULL THEN
        v_next := etl.cron_next(cron, timezone, now());
    END IF;
    SELECT coalesce(max(r.run_id), 0) INTO v_seen FROM etl.pipeline_runs r
     WHERE r.pipeline_id = ANY (v_trigger);

    INSERT INTO etl.schedules AS s (pipeline_id, cron, timezone, run_at, catchup, depends_on, trigger_on,
                                    dependency_window, pool, priority, options, paused, next_fire_at,
                                    dataset_seen_run)
    VALUES (pipeline_id, cron, timezone, v_at, v_catchup, v_depends, v_trigger, v_window, v_pool,
            v_prio, opt, v_paused, v_next, v_seen)
    ON CONFLICT ON CONSTRAINT schedules_pipeline_id_key DO UPDATE
       SET cron = excluded.cron, timezone = excluded.timezone, run_at = excluded.run_at,
           catchup = excluded.catchup, depends_on = excluded.depends_on,
           trigger_on = excluded.trigger_on, dependency_window = excluded.dependency_window,
           pool = excluded.pool, priority = excluded.priority, options = excluded.options,
           paused = excluded.paused, next_fire_at = excluded.next_fire_at,
           dataset_seen_run = greatest(s.dataset_seen_run, excluded.dataset_seen_run),
           last_error = NULL, updated_at = now()
    RETURNING s.schedule_id INTO v_id;
    RETURN v_id;
END
$fn$;
COMMENT ON FUNCTION etl.schedule_pipeline(pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.jsonb) IS
  'schedules a pipeline (or replaces its schedule): cron expression, IANA time zone and options catchup, depends_on, trigger_on, pool, priority, at, dependency_window; returns the schedule id';

CREATE OR REPLACE FUNCTION etl.check_dependencies(pipeline_id pg_catalog.text)
RETURNS pg_catalog.jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog
AS $fn$
DECLARE
    s        etl.schedules;
    v_date   timestamptz;
    blocking jsonb;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM etl.pipelines q WHERE q.pipeline_id OPERATOR(pg_catalog.=) check_dependencies.pipeline_id) THEN
        RAISE EXCEPTION 'pipeline "%" does not exist', pipeline_id USING ERRCODE = '42704';
    END IF;
    SELECT * INTO s FROM etl.schedules q WHERE q.pipeline_id OPERATOR(pg_catalog.=) check_dependencies.pipeline_id;
    IF NOT FOUND THEN
        RETURN jsonb_build_object('ready', true, 'blocking', '[]'::jsonb, 'depends_on', '[]'::jsonb,
                                  'logical_date', NULL,
                                  'lineage_depends_on', to_jsonb(etl._lineage_upstreams(pipeline_id)));
    END IF;
    -- the oldest run waiting for its dependencies, else the last tick, else now
    SELECT min(q.logical_date) INTO v_date FROM etl.run_queue q
     WHERE q.pipeline_id OPERATOR(pg_catalog.=) check_dependencies.pipeline_id AND q.state = 'waiting';
    v_date := coalesce(v_date, s.last_fire_at, now());
    blocking := etl._dependencies_blocking(pipeline_id, v_date);
    RETURN jsonb_build_object('ready', jsonb_array_length(blocking) = 0, 'blocking', blocking,
                              'depends_on', to_jsonb(s.depends_on), 'logical_date', v_date,
                              'lineage_depends_on', to_jsonb(etl._lineage_upstreams(pipeline_id)));
END
$fn$;
COMMENT ON FUNCTION etl.check_dependencies(pg_catalog.text) IS
  'whether the pipeline''s next waiting run may start: {ready, blocking: [{pipeline_id, reason, ...}], depends_on, logical_date, lineage_depends_on (the upstreams lineage shows)}';

REVOKE EXECUTE ON FUNCTION etl.claim_runs(pg_catalog.int4) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION etl.claim_runs(pg_catalog.int4) TO etl_operator, etl_admin;
