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
    -- execute_pipeline's rule for who runs: refused now, not skipped later
    PERFORM etl._check_run_owner(run_now.pipeline_id);
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
    PERFORM etl._check_run_owner(backfill.pipeline_id);
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
    -- runs follow execute_pipeline's rule for who runs: refused now, not at each tick
    PERFORM etl._check_run_owner(pipeline_id);
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

CREATE OR REPLACE FUNCTION etl.claim_runs(max_runs pg_catalog.int4 DEFAULT 1)
RETURNS SETOF etl.run_queue
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    q        etl.run_queue;
    v_limit  int4 := coalesce(nullif(current_setting('metaetl.max_concurrent_runs', true), '')::int4, 0);
    v_active int4;
    v_taken  int4 := 0;
    v_slots  int4;
    v_used   int4;
    v_conc   text;
    v_lease  int4 := coalesce((SELECT g.setting::int4 FROM pg_catalog.pg_settings g
                                WHERE g.name = 'metaetl.claim_lease'), 60);
BEGIN
    -- one claimer at a time, so pool and global limits hold under concurrency
    PERFORM pg_advisory_xact_lock(hashtext('metaetl.claim_runs'));
    -- a claim whose run never started (claimed by hand from SQL and never
    -- run, or its process died first) holds a pool slot and blocks its
    -- pipeline: after metaetl.claim_lease it goes back to the queue
    IF v_lease > 0 THEN
        UPDATE etl.run_queue c
           SET state = 'queued', claimed_at = NULL,
               note = format('claim of %s expired after metaetl.claim_lease (%s s) without a run',
                             c.claimed_at, v_lease)
         WHERE c.state = 'claimed'
           AND c.claimed_at < clock_timestamp() - make_interval(secs => v_lease)
           AND (c.run_id IS NULL
                OR EXISTS (SELECT 1 FROM etl.pipeline_runs r
                            WHERE r.run_id = c.run_id AND r.status = 'queued'));
    END IF;
    SELECT count(*) INTO v_active FROM etl.run_queue c WHERE c.state = 'claimed';
    FOR q IN SELECT * FROM etl.run_queue r
              WHERE r.state = 'queued' AND r.not_before <= clock_timestamp()
              ORDER BY r.priority DESC, r.not_before, r.queue_id
              FOR UPDATE SKIP LOCKED
    LOOP
        EXIT WHEN v_taken >= max_runs;
        EXIT WHEN v_limit > 0 AND v_active >= v_limit;
        IF q.pool IS NOT NULL THEN
            SELECT o.slots INTO v_slots FROM etl.pools o WHERE o.pool = q.pool;
            SELECT count(*) INTO v_used FROM etl.run_queue c WHERE c.state = 'claimed' AND c.pool = q.pool;
            CONTINUE WHEN v_used >= v_slots;
        END IF;
        -- the pipeline's concurrency policy (normalised config; default skip)
        SELECT coalesce(p.config->'pipeline'->>'concurrency', 'skip') INTO v_conc
          FROM etl.pipelines p WHERE p.pipeline_id = q.pipeline_id;
        -- (a row that already has its run record, a queued
        -- etl.execute_pipeline call or a retry, is claimed all the same: its
        -- run applies the policy itself and records 'skipped')
        IF v_conc <> 'allow' AND NOT (v_conc = 'skip' AND q.run_id IS NOT NULL)
           AND (EXISTS (SELECT 1 FROM etl.run_queue c
                         WHERE c.pipeline_id = q.pipeline_id AND c.state = 'claimed')
                OR EXISTS (SELECT 1 FROM etl.pipeline_runs x
                            WHERE x.pipeline_id = q.pipeline_id AND x.status = 'running')) THEN
            IF v_conc = 'skip' THEN
                UPDATE etl.run_queue r
                   SET state = 'skipped',
                       note = 'skipped: another run of the pipeline is in progress (concurrency: skip)'
                 WHERE r.queue_id = q.queue_id;
            END IF;
            CONTINUE;               -- queue: stays queued until the other run ends
        END IF;
        UPDATE etl.run_queue r SET state = 'claimed', claimed_at = clock_timestamp()
         WHERE r.queue_id = q.queue_id RETURNING * INTO q;
        v_taken := v_taken + 1;
        v_active := v_active + 1;
        RETURN NEXT q;
    END LOOP;
END
$fn$;
REVOKE EXECUTE ON FUNCTION etl.claim_runs(pg_catalog.int4) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION etl.claim_runs(pg_catalog.int4) TO etl_operator, etl_admin;
COMMENT ON FUNCTION etl.claim_runs(pg_catalog.int4) IS
  'claims up to max_runs queued runs in priority order, respecting pool slots, metaetl.max_concurrent_runs and each pipeline''s concurrency (skip: marks the run skipped while another is in progress; queue: leaves it queued; allow); the caller starts them and sets state done; a claim without a run expires after metaetl.claim_lease';

CREATE OR REPLACE FUNCTION etl._scheduler_tick(reboot_at pg_catalog.timestamptz DEFAULT NULL)
RETURNS pg_catalog.timestamptz
LANGUAGE plpgsql
SET search_path = pg_catalog
AS $fn$
DECLARE
    grace     constant interval := '15 seconds';
    now_ts    timestamptz := clock_timestamp();
    s         record;
    ticks     timestamptz[];
    v_last    timestamptz;
    v_next    timestamptz;
    v_state   text;
BEGIN
    -- after a server start, runs claimed before it died with it: free their
    -- pool slots (the orchestrator marks the runs abandoned and retries them
    -- by policy)
    IF reboot_at IS NOT NULL THEN
        UPDATE etl.run_queue
           SET state = 'done',
               note = format('abandoned: claimed before the server started at %s', reboot_at)
         WHERE state = 'claimed' AND claimed_at < reboot_at;
    END IF;

    -- the common case, set-based: cron schedules due now and not late
    WITH due AS (
        SELECT sc.schedule_id, sc.pipeline_id, sc.cron, sc.timezone, sc.next_fire_at,
               sc.priority, sc.pool,
               CASE WHEN cardinality(sc.depends_on) > 0 THEN 'waiting' ELSE 'queued' END AS st
          FROM etl.schedules sc
          JOIN etl.pipelines p USING (pipeline_id)
         WHERE NOT sc.paused AND sc.run_at IS NULL AND sc.cron IS NOT NULL
           AND sc.next_fire_at <= now_ts AND sc.next_fire_at >= now_ts - grace
           AND cardinality(sc.trigger_on) = 0
           FOR NO KEY UPDATE OF sc SKIP LOCKED
           FOR KEY SHARE OF p SKIP LOCKED
    ), ticks AS (
        SELECT d.schedule_id, d.pipeline_id, d.priority, d.pool, d.st, t
          FROM due d CROSS JOIN LATERAL etl.cron_ticks(d.cron, d.timezone, d.next_fire_at, now_ts, 10000) AS t
    ), ins AS (
        INSERT INTO etl.run_queue (pipeline_id, schedule_id, logical_date, trigger, priority, pool,
                                   not_before, state)
        SELECT k.pipeline_id, k.schedule_id, k.t, 'schedule', k.priority, k.pool, k.t, k.st
          FROM ticks k
        ON CONFLICT (schedule_id, logical_date) DO NOTHING
    )
    UPDATE etl.schedules u
       SET next_fire_at = etl.cron_next(d.cron, d.timezone, now_ts),
           last_fire_at = coalesce((SELECT max(k.t) FROM ticks k WHERE k.schedule_id = d.schedule_id),
                                   u.last_fire_at),
           last_error = NULL
      FROM due d
     WHERE u.schedule_id = d.schedule_id;

    -- everything else, one schedule at a time: late ticks (catch-up), one-off
    -- runs, @reboot, dataset triggers.  A pipeline runs as its owner,
    -- superusers included, under the rules of etl.execute_pipeline: an owner
    -- those rules refuse was refused when the schedule was made.
    FOR s IN SELECT sc.*
               FROM etl.schedules sc
               JOIN etl.pipelines p USING (pipeline_id)
              WHERE NOT sc.paused
                AND (sc.next_fire_at <= now_ts
                     OR (reboot_at IS NOT NULL AND sc.cron ~* '^\s*@reboot\s*$')
                     OR cardinality(sc.trigger_on) > 0)
              ORDER BY sc.next_fire_at NULLS LAST
              -- the pipeline row too, so a concurrent DROP/DELETE of the pipeline
              -- (which cascades to the schedule) waits or is skipped, never deadlocks
              FOR NO KEY UPDATE OF sc SKIP LOCKED
              FOR KEY SHARE OF p SKIP LOCKED
    LOOP
        v_state := CASE WHEN cardinality(s.depends_on) > 0 THEN 'waiting' ELSE 'queued' END;
        ticks := '{}';
        v_next := s.next_fire_at;
        IF s.run_at IS NOT NULL THEN
            IF s.next_fire_at <= now_ts THEN
                IF s.catchup <> 'none' OR s.next_fire_at >= now_ts - grace THEN
                    ticks := ARRAY[s.next_fire_at];
                END IF;
                v_next := NULL;
            END IF;
        ELSIF s.cron ~* '^\s*@reboot\s*$' THEN
            IF reboot_at IS NOT NULL THEN
                ticks := ARRAY[reboot_at];
            END IF;
            v_next := NULL;
        ELSIF s.cron IS NOT NULL AND s.next_fire_at <= now_ts THEN
            -- ticks due within the grace period are never "missed"
            ticks := ARRAY(SELECT t FROM etl.cron_ticks(s.cron, s.timezone,
                                       greatest(s.next_fire_at, now_ts - grace), now_ts, 10000) t);
            IF s.next_fire_at < now_ts - grace THEN
                IF s.catchup = 'all' THEN
                    ticks := ARRAY(SELECT t FROM etl.cron_ticks(s.cron, s.timezone, s.next_fire_at,
                                                                now_ts, 10000) t);
                ELSIF s.catchup = 'latest' AND cardinality(ticks) = 0 THEN
                    ticks := ARRAY[etl._cron_last(s.cron, s.timezone, s.next_fire_at, now_ts)];
                END IF;
            END IF;
            ticks := array_remove(ticks, NULL);
            v_last := CASE WHEN cardinality(ticks) > 0 THEN ticks[cardinality(ticks)] ELSE now_ts END;
            v_next := etl.cron_next(s.cron, s.timezone, greatest(v_last, now_ts));
            IF s.catchup = 'all' AND cardinality(ticks) >= 10000 THEN
                v_next := etl.cron_next(s.cron, s.timezone, v_last);  -- the rest next pass
            END IF;
        END IF;

        IF cardinality(ticks) > 0 THEN
            INSERT INTO etl.run_queue (pipeline_id, schedule_id, logical_date, trigger, priority, pool,
                                       not_before, state)
            SELECT s.pipeline_id, s.schedule_id, t, 'schedule', s.priority, s.pool, t, v_state
              FROM unnest(ticks) AS t
            ON CONFLICT (schedule_id, logical_date) DO NOTHING;
        END IF;

        -- dataset-triggered: upstream runs that loaded data since the last look
        IF cardinality(s.trigger_on) > 0
           AND EXISTS (SELECT 1 FROM etl.pipeline_runs r
                        WHERE r.pipeline_id = ANY (s.trigger_on) AND r.run_id > s.dataset_seen_run
                          AND r.status = 'succeeded') THEN
            WITH fresh AS (
                SELECT r.run_id, coalesce(r.ended_at, r.queued_at) AS at, coalesce(r.rows_written, 0) AS rows_written
                  FROM etl.pipeline_runs r
                 WHERE r.pipeline_id = ANY (s.trigger_on) AND r.run_id > s.dataset_seen_run
                   AND r.status = 'succeeded'
            ), ins AS (
                INSERT INTO etl.run_queue (pipeline_id, schedule_id, logical_date, trigger, priority, pool, state)
                SELECT s.pipeline_id, s.schedule_id, f.at, 'dataset', s.priority, s.pool, v_state
                  FROM fresh f WHERE f.rows_written > 0
                ON CONFLICT (schedule_id, logical_date) DO NOTHING
            )
            -- an upstream run still going below the newest success is looked at
            -- again later (the unique key drops what was already queued)
            UPDATE etl.schedules SET dataset_seen_run = greatest(dataset_seen_run,
                       least(coalesce((SELECT max(f.run_id) FROM fresh f), 0),
                             coalesce((SELECT min(r.run_id) - 1 FROM etl.pipeline_runs r
                                        WHERE r.pipeline_id = ANY (s.trigger_on)
                                          AND r.status IN ('queued', 'running')),
                                      9223372036854775807)))
             WHERE schedule_id = s.schedule_id;
        END IF;

        IF v_next IS DISTINCT FROM s.next_fire_at OR cardinality(ticks) > 0 THEN
            UPDATE etl.schedules
               SET next_fire_at = v_next,
                   last_fire_at = CASE WHEN cardinality(ticks) > 0 THEN ticks[cardinality(ticks)] ELSE last_fire_at END,
                   last_error = NULL
             WHERE schedule_id = s.schedule_id;
        END IF;
    END LOOP;

    -- release waiting runs whose dependencies are now met
    UPDATE etl.run_queue q SET state = 'queued', not_before = greatest(q.not_before, now_ts)
     WHERE q.state = 'waiting'
       AND etl._dependencies_blocking(q.pipeline_id, q.logical_date) = '[]'::jsonb;

    RETURN (SELECT min(next_fire_at) FROM etl.schedules WHERE NOT paused);
END
$fn$;
COMMENT ON FUNCTION etl._scheduler_tick(pg_catalog.timestamptz) IS
  'internal (launcher): enqueues due ticks with catch-up, @reboot and dataset-triggered runs, releases runs whose dependencies are met; returns the next due time';
