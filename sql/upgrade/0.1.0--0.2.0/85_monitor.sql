-- monitoring: SLA and alert functions act only for callers who operate the pipeline;
-- freshness columns are read as the pipeline's owner

CREATE FUNCTION etl._freshness_newest(pipeline_id pg_catalog.text, relation pg_catalog.text, col pg_catalog.text)
RETURNS pg_catalog.timestamptz
LANGUAGE c VOLATILE STRICT
AS 'MODULE_PATHNAME', 'metaetl_freshness_newest';
REVOKE EXECUTE ON FUNCTION etl._freshness_newest(pg_catalog.text, pg_catalog.text, pg_catalog.text) FROM PUBLIC;
COMMENT ON FUNCTION etl._freshness_newest(pg_catalog.text, pg_catalog.text, pg_catalog.text) IS
  'internal: max(col) of relation read as the pipeline''s owner under a security-restricted operation; NULL when the owner may not read it';

CREATE OR REPLACE FUNCTION etl._sla_freshness_age(d etl.sla_definitions)
RETURNS pg_catalog.numeric
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    newest timestamptz;
BEGIN
    IF d.options ? 'table' THEN
        -- one SLA's broken table (dropped, a column no longer a time) is
        -- that SLA's "no data", never every other SLA's evaluation failing
        BEGIN
            newest := etl._freshness_newest(d.pipeline_id, d.options ->> 'table', d.options ->> 'column');
        EXCEPTION WHEN OTHERS THEN
            newest := NULL;
        END;
    ELSE
        SELECT max(r.ended_at) INTO newest FROM etl.pipeline_runs r
         WHERE r.pipeline_id = d.pipeline_id AND r.status = 'succeeded';
    END IF;
    RETURN round((extract(epoch FROM clock_timestamp() - newest) / 60)::numeric, 2);
END
$$;
COMMENT ON FUNCTION etl._sla_freshness_age(etl.sla_definitions) IS
  'internal: minutes since the newest row (freshness column) or the last successful load';

CREATE OR REPLACE FUNCTION etl.evaluate_running_slas()
RETURNS SETOF etl.sla_compliance
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r    record;
    res  etl.sla_compliance;
BEGIN
    FOR r IN SELECT x.run_id, x.pipeline_id, x.started_at, d.sla_id, d.target
               FROM etl.pipeline_runs x
               JOIN etl.sla_definitions d ON d.pipeline_id = x.pipeline_id AND d.sla_type = 'duration' AND d.enabled
              WHERE x.status = 'running' AND x.started_at IS NOT NULL
                AND etl._caller_may_operate(x.pipeline_id)
                AND clock_timestamp() - x.started_at > make_interval(secs => 60 * d.target::float8)
                -- once per run: a breach already recorded is not recorded again
                AND NOT EXISTS (SELECT 1 FROM etl.sla_compliance c
                                 WHERE c.run_id = x.run_id AND c.sla_id = d.sla_id AND NOT c.compliant)
              ORDER BY x.run_id
    LOOP
        INSERT INTO etl.sla_compliance (sla_id, pipeline_id, run_id, observed, target, compliant, details)
        VALUES (r.sla_id, r.pipeline_id, r.run_id,
                round((extract(epoch FROM clock_timestamp() - r.started_at) / 60)::numeric, 4), r.target, false,
                jsonb_build_object('run_status', 'running', 'finished', false))
        RETURNING * INTO res;
        PERFORM etl._sla_alerts(r.pipeline_id, r.run_id, ARRAY[res]);
        RETURN NEXT res;
    END LOOP;
END
$$;
COMMENT ON FUNCTION etl.evaluate_running_slas() IS
  'record a duration breach (once per run) for runs still going past their max duration, and raise the sla_violation alert; the delivery worker calls it every few seconds';

CREATE OR REPLACE FUNCTION etl.on_run_finished(run_id pg_catalog.int8)
RETURNS pg_catalog.jsonb
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    r        etl.pipeline_runs;
    raised   jsonb := '[]';
    resolved int := 0;
    id       bigint;
    dur      float8;
    p95      float8;
    nprev    int;
    factor   float8;
    sla      jsonb := '[]';
    k_fail   text;
    k_qual   text;
    k_perf   text;
    anomaly  jsonb;
BEGIN
    SELECT * INTO r FROM etl.pipeline_runs x WHERE x.run_id = on_run_finished.run_id;
    IF NOT FOUND OR NOT etl._caller_may_operate(r.pipeline_id) THEN
        RAISE EXCEPTION 'run % does not exist', on_run_finished.run_id USING ERRCODE = '42704';
    END IF;
    k_fail := 'pipeline_failure:' || r.pipeline_id;
    k_qual := 'quality_failure:' || r.pipeline_id;
    k_perf := 'performance:' || r.pipeline_id;

    IF r.status IN ('failed', 'abandoned') THEN
        id := etl.raise_alert('pipeline_failure', 'high',
                  format('pipeline %s run %s failed%s', r.pipeline_id, r.run_id,
                         COALESCE(': ' || r.error_message, '')),
                  r.pipeline_id, r.run_id,
                  jsonb_strip_nulls(jsonb_build_object('error', r.error_message, 'sqlstate', r.error_sqlstate,
                                                       'step', r.error_step, 'attempt', r.attempt)));
        raised := raised || jsonb_build_object('alert_id', id, 'alert_type', 'pipeline_failure');
    ELSIF r.status = 'quality_failed' THEN
        id := etl.raise_alert('quality_failure', 'high',
                  format('pipeline %s run %s failed its quality gate%s', r.pipeline_id, r.run_id,
                         COALESCE(' (score ' || r.quality_score || ')', '')),
                  r.pipeline_id, r.run_id,
                  jsonb_strip_nulls(jsonb_build_object('error', r.error_message, 'quality_score', r.quality_score)));
        raised := raised || jsonb_build_object('alert_id', id, 'alert_type', 'quality_failure');
    ELSIF r.status = 'succeeded' THEN
        resolved := resolved + etl._auto_resolve(ARRAY[k_fail, k_qual], format('run %s succeeded', r.run_id));
        -- performance: slower than the p95 of the previous successful runs times a factor
        IF r.started_at IS NOT NULL AND r.ended_at IS NOT NULL THEN
            dur := extract(epoch FROM r.ended_at - r.started_at);
            factor := COALESCE((SELECT (p.config #>> '{pipeline,alerts,performance_factor}')::float8
                                  FROM etl.pipelines p WHERE p.pipeline_id = r.pipeline_id), 2.0);
            SELECT count(*), percentile_cont(0.95) WITHIN GROUP (ORDER BY s) INTO nprev, p95
              FROM (SELECT extract(epoch FROM y.ended_at - y.started_at) AS s
                      FROM etl.pipeline_runs y
                     WHERE y.pipeline_id = r.pipeline_id AND y.status = 'succeeded' AND y.run_id <> r.run_id
                       AND y.started_at IS NOT NULL AND y.ended_at IS NOT NULL AND y.ended_at <= r.ended_at
                     ORDER BY y.ended_at DESC LIMIT 20) x;
            IF nprev >= 5 AND dur > p95 * factor AND dur > 1 THEN
                id := etl.raise_alert('performance', 'medium',
                          format('pipeline %s run %s took %s s, more than %s x the p95 of the last %s runs (%s s)',
                                 r.pipeline_id, r.run_id, round(dur::numeric, 1), factor, nprev, round(p95::numeric, 1)),
                          r.pipeline_id, r.run_id,
                          jsonb_build_object('duration_s', round(dur::numeric, 3), 'p95_s', round(p95::numeric, 3),
                                             'factor', factor, 'runs', nprev));
                raised := raised || jsonb_build_object('alert_id', id, 'alert_type', 'performance');
            ELSIF nprev >= 5 THEN
                resolved := resolved + etl._auto_resolve(ARRAY[k_perf], format('run %s within p95 x %s', r.run_id, factor));
            END IF;
        END IF;
    END IF;

    -- anomaly (alerts.on: [anomaly]): rows read, duration and quality score of a
    -- successful run against the pipeline's history (sql/install/70_quality.sql)
    IF r.status = 'succeeded' THEN
        anomaly := etl._run_anomaly_check(r.run_id);
        IF (anomaly ->> 'alert_id') IS NOT NULL THEN
            raised := raised || jsonb_build_object('alert_id', (anomaly ->> 'alert_id')::bigint, 'alert_type', 'anomaly');
        END IF;
    END IF;

    SELECT COALESCE(jsonb_agg(jsonb_build_object('sla_type', d.sla_type, 'compliant', c.compliant,
                                                 'observed', c.observed, 'target', c.target)
                              ORDER BY d.sla_type), '[]')
      INTO sla
      FROM etl.evaluate_sla(r.run_id) c JOIN etl.sla_definitions d ON d.sla_id = c.sla_id;
    SELECT raised || COALESCE(jsonb_agg(jsonb_build_object('alert_id', a.alert_id, 'alert_type', 'sla_violation')), '[]')
      INTO raised
      FROM etl.alerts a
     WHERE a.run_id = r.run_id AND a.alert_type = 'sla_violation' AND a.status <> 'resolved';
    RETURN jsonb_build_object('run_id', r.run_id, 'status', r.status, 'alerts', raised,
                              'resolved', resolved, 'sla', sla);
END
$$;
COMMENT ON FUNCTION etl.on_run_finished(pg_catalog.int8) IS
  'after a run: raise or resolve pipeline_failure, quality_failure and performance alerts, raise anomaly alerts (alerts.on: [anomaly]), evaluate its SLAs; returns what it did';

CREATE OR REPLACE FUNCTION etl.raise_alert(alert_type pg_catalog.text, priority pg_catalog.text, message pg_catalog.text,
                                pipeline_id pg_catalog.text DEFAULT NULL, run_id pg_catalog.int8 DEFAULT NULL,
                                details pg_catalog.jsonb DEFAULT '{}', dedup_key pg_catalog.text DEFAULT NULL)
RETURNS pg_catalog.int8
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    k        text := COALESCE(raise_alert.dedup_key, raise_alert.alert_type || ':' || COALESCE(raise_alert.pipeline_id, ''));
    id       bigint;
    inserted bool;
    rt       record;
BEGIN
    IF raise_alert.alert_type IS NULL OR raise_alert.alert_type NOT IN
       ('pipeline_failure', 'sla_violation', 'quality_failure', 'anomaly', 'system_error', 'performance') THEN
        RAISE EXCEPTION 'unknown alert type %', quote_literal(raise_alert.alert_type) USING ERRCODE = '22023',
            HINT = 'Alert types are pipeline_failure, sla_violation, quality_failure, anomaly, system_error, performance.';
    END IF;
    IF raise_alert.priority IS NULL OR raise_alert.priority NOT IN ('critical', 'high', 'medium', 'low') THEN
        RAISE EXCEPTION 'unknown alert priority %', quote_literal(raise_alert.priority) USING ERRCODE = '22023',
            HINT = 'Priorities are critical, high, medium, low.';
    END IF;
    IF raise_alert.message IS NULL OR raise_alert.message = '' THEN
        RAISE EXCEPTION 'an alert needs a message' USING ERRCODE = '22023';
    END IF;
    -- another role's pipeline does not exist for the caller (no existence oracle)
    IF raise_alert.pipeline_id IS NOT NULL AND NOT etl._caller_may_operate(raise_alert.pipeline_id) THEN
        RAISE EXCEPTION 'pipeline "%" does not exist', raise_alert.pipeline_id USING ERRCODE = '42704';
    END IF;
    IF raise_alert.pipeline_id IS NULL AND NOT etl._caller_in(ARRAY['etl_admin', 'etl_operator']) THEN
        RAISE EXCEPTION 'permission denied to raise an alert without a pipeline' USING ERRCODE = '42501',
            HINT = 'System alerts are raised by etl_operator and etl_admin members; name one of your pipelines.';
    END IF;

    INSERT INTO etl.alerts AS a (alert_type, priority, pipeline_id, run_id, message, details, dedup_key)
    VALUES (raise_alert.alert_type, raise_alert.priority, raise_alert.pipeline_id, raise_alert.run_id,
            raise_alert.message, COALESCE(raise_alert.details, '{}'), k)
    ON CONFLICT ((COALESCE(pipeline_id, '')), dedup_key) WHERE status <> 'resolved' DO UPDATE
       SET occurrences = a.occurrences + 1,
           last_seen_at = now(),
           message = EXCLUDED.message,
           details = EXCLUDED.details,
           run_id = COALESCE(EXCLUDED.run_id, a.run_id),
           -- the more urgent priority wins
           priority = CASE WHEN array_position(ARRAY['critical', 'high', 'medium', 'low'], EXCLUDED.priority)
                                < array_position(ARRAY['critical', 'high', 'medium', 'low'], a.priority)
                           THEN EXCLUDED.priority ELSE a.priority END
    RETURNING a.alert_id, (a.xmax = 0) INTO id, inserted;

    IF inserted THEN
        rt := etl._alert_routing(raise_alert.alert_type, raise_alert.priority, raise_alert.pipeline_id);
        IF rt.escalation_policy IS NOT NULL THEN
            UPDATE etl.alerts a SET escalation_policy = rt.escalation_policy WHERE a.alert_id = id;
        END IF;
        PERFORM etl._enqueue_alert_deliveries(id, rt.channels, 'open', 0);
    END IF;
    RETURN id;
END
$$;
COMMENT ON FUNCTION etl.raise_alert(pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.int8, pg_catalog.jsonb, pg_catalog.text) IS
  'open an alert, or count one more occurrence of the unresolved alert with the same dedup key (default type:pipeline); queues deliveries per routing; returns alert_id';

CREATE OR REPLACE FUNCTION etl.acknowledge_alert(alert_id pg_catalog.int8)
RETURNS pg_catalog.bool
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    UPDATE etl.alerts a SET status = 'acknowledged', acknowledged_at = now(), acknowledged_by = etl._caller()
     WHERE a.alert_id = acknowledge_alert.alert_id AND a.status = 'open'
       AND (etl._caller_in(ARRAY['etl_admin', 'etl_operator'])
            OR (a.pipeline_id IS NOT NULL AND etl._caller_may_operate(a.pipeline_id)));
    RETURN FOUND;
END
$$;
COMMENT ON FUNCTION etl.acknowledge_alert(pg_catalog.int8) IS
  'acknowledge an open alert (stops its escalation); false when it is not open or not the caller''s to acknowledge (its pipeline''s operators, etl_operator, etl_admin)';

CREATE OR REPLACE FUNCTION etl.resolve_alert(alert_id pg_catalog.int8)
RETURNS pg_catalog.bool
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    UPDATE etl.alerts a SET status = 'resolved', resolved_at = now(), resolved_by = etl._caller()
     WHERE a.alert_id = resolve_alert.alert_id AND a.status <> 'resolved'
       AND (etl._caller_in(ARRAY['etl_admin', 'etl_operator'])
            OR (a.pipeline_id IS NOT NULL AND etl._caller_may_operate(a.pipeline_id)));
    IF FOUND THEN
        PERFORM etl._after_resolve(resolve_alert.alert_id);
        RETURN true;
    END IF;
    RETURN false;
END
$$;
COMMENT ON FUNCTION etl.resolve_alert(pg_catalog.int8) IS
  'resolve an open or acknowledged alert (cancels its pending escalations, notifies the channels told of it); false when it is already resolved or does not exist';

REVOKE EXECUTE ON FUNCTION etl.process_escalations() FROM PUBLIC;
COMMENT ON FUNCTION etl._seal_secret(pg_catalog.text) IS
  'internal: seal a secret with AES-256-GCM under the current master key ($PGDATA/metaetl_keyring)';
CREATE OR REPLACE FUNCTION etl.add_alert_channel(name pg_catalog.text, type pg_catalog.text, config pg_catalog.jsonb)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET log_min_error_statement = panic
AS $$
#variable_conflict use_column
DECLARE
    sec     jsonb;
    plain   jsonb;
    existed bool;
BEGIN
    PERFORM etl._validate_alert_channel(add_alert_channel.name, add_alert_channel.type, add_alert_channel.config);
    -- each secret value sealed (AES-256-GCM under the master key ring, src/security/crypto.c)
    SELECT COALESCE(jsonb_object_agg(e.key, to_jsonb(etl._seal_secret(e.value::text))), '{}') INTO sec
      FROM jsonb_each(add_alert_channel.config) e WHERE e.key = ANY (etl._alert_secret_keys());
    plain := add_alert_channel.config - etl._alert_secret_keys();
    existed := EXISTS (SELECT 1 FROM etl.alert_channels c WHERE c.name = add_alert_channel.name);
    INSERT INTO etl.alert_channels AS c (name, type, config, secrets, enabled, owner)
    VALUES (add_alert_channel.name, add_alert_channel.type, plain - 'enabled', sec,
            COALESCE((plain ->> 'enabled')::bool, true), session_user)
    ON CONFLICT (name) DO UPDATE
       SET type = EXCLUDED.type, config = EXCLUDED.config, secrets = EXCLUDED.secrets,
           enabled = EXCLUDED.enabled, updated_at = now();
    INSERT INTO etl.audit_log (action, object_type, object_id, after)
    SELECT CASE WHEN existed THEN 'update' ELSE 'create' END, 'alert_channel', p.name,
           jsonb_build_object('type', p.type, 'config', p.config)
      FROM etl.alert_channels_public p WHERE p.name = add_alert_channel.name;
END
$$;
REVOKE EXECUTE ON FUNCTION etl.add_alert_channel(pg_catalog.text, pg_catalog.text, pg_catalog.jsonb) FROM PUBLIC;
COMMENT ON FUNCTION etl.add_alert_channel(pg_catalog.text, pg_catalog.text, pg_catalog.jsonb) IS
  'add (or replace) an alert channel: email, slack, sms or webhook; config is validated, secrets are stored apart and never shown';

-- incremental: the slot_lag SLA (max_slot_lag_mb)
CREATE OR REPLACE FUNCTION etl._sla_slot_lag(pipeline_id pg_catalog.text)
RETURNS pg_catalog.numeric
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
SELECT round((max(pg_wal_lsn_diff((st ->> 'server_lsn')::pg_lsn, (st ->> 'restart_lsn')::pg_lsn)) / (1024.0 * 1024.0))::numeric, 3)
  FROM (SELECT etl._change_slot_status(s.slot_name) AS st
          FROM etl.change_slots s
         WHERE s.pipeline_id = _sla_slot_lag.pipeline_id) x
$$;
COMMENT ON FUNCTION etl._sla_slot_lag(pg_catalog.text) IS
  'internal: MB of WAL retained by the log CDC slots a pipeline reads (the slot_lag SLA''s observation)';

CREATE OR REPLACE FUNCTION etl.evaluate_sla(run_id pg_catalog.int8)
RETURNS SETOF etl.sla_compliance
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    r        etl.pipeline_runs;
    d        etl.sla_definitions;
    obs      numeric;
    ok       bool;
    det      jsonb;
    res      etl.sla_compliance;
    results  etl.sla_compliance[] := '{}';
    total    int;
    good     int;
BEGIN
    SELECT * INTO r FROM etl.pipeline_runs x WHERE x.run_id = evaluate_sla.run_id;
    -- another role's run does not exist for the caller (no existence oracle)
    IF NOT FOUND OR NOT etl._caller_may_operate(r.pipeline_id) THEN
        RAISE EXCEPTION 'run % does not exist', evaluate_sla.run_id USING ERRCODE = '42704';
    END IF;
    FOR d IN SELECT * FROM etl.sla_definitions x WHERE x.pipeline_id = r.pipeline_id AND x.enabled ORDER BY x.sla_type LOOP
        obs := NULL; ok := NULL; det := '{}';
        IF d.sla_type = 'duration' THEN
            CONTINUE WHEN r.started_at IS NULL;
            obs := round((extract(epoch FROM COALESCE(r.ended_at, clock_timestamp()) - r.started_at) / 60)::numeric, 4);
            ok := obs <= d.target;
            det := jsonb_build_object('run_status', r.status, 'finished', r.ended_at IS NOT NULL);
        ELSIF d.sla_type = 'success_rate' THEN
            SELECT count(*), count(*) FILTER (WHERE x.status = 'succeeded') INTO total, good
              FROM (SELECT y.status FROM etl.pipeline_runs y
                     WHERE y.pipeline_id = r.pipeline_id
                       AND y.status IN ('succeeded', 'failed', 'quality_failed', 'cancelled', 'abandoned')
                       AND y.queued_at <= r.queued_at AND y.run_id <= r.run_id
                       AND (d.window_interval IS NULL OR y.queued_at > r.queued_at - d.window_interval)
                     ORDER BY y.queued_at DESC, y.run_id DESC
                     LIMIT d.window_runs) x;
            CONTINUE WHEN total = 0;
            obs := round(good::numeric / total, 4);
            ok := obs >= d.target;
            det := jsonb_build_object('runs', total, 'succeeded', good)
                   || jsonb_strip_nulls(jsonb_build_object('window_runs', d.window_runs,
                                                           'window', d.window_interval::text));
        ELSIF d.sla_type = 'quality' THEN
            CONTINUE WHEN r.quality_score IS NULL;
            obs := r.quality_score;
            ok := obs >= d.target;
        ELSIF d.sla_type = 'freshness' THEN
            obs := etl._sla_freshness_age(d);
            ok := obs IS NOT NULL AND obs <= d.target;
            det := jsonb_build_object('source', CASE WHEN d.options ? 'table' THEN 'column' ELSE 'last_load' END);
        ELSIF d.sla_type = 'slot_lag' THEN
            obs := etl._sla_slot_lag(d.pipeline_id);
            CONTINUE WHEN obs IS NULL;
            ok := obs <= d.target;
            det := jsonb_build_object('unit', 'MB');
        END IF;
        INSERT INTO etl.sla_compliance (sla_id, pipeline_id, run_id, observed, target, compliant, details)
        VALUES (d.sla_id, r.pipeline_id, r.run_id, obs, d.target, ok, det)
        RETURNING * INTO res;
        results := results || res;
        RETURN NEXT res;
    END LOOP;
    PERFORM etl._sla_alerts(r.pipeline_id, r.run_id, results);
END
$$;
COMMENT ON FUNCTION etl.evaluate_sla(pg_catalog.int8) IS
  'evaluate every SLA of a run''s pipeline for that run (duration, success rate, quality, freshness, slot lag), record and return the evaluations; raises or resolves sla_violation alerts';

CREATE OR REPLACE FUNCTION etl.evaluate_freshness()
RETURNS SETOF etl.sla_compliance
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    d    etl.sla_definitions;
    obs  numeric;
    res  etl.sla_compliance;
BEGIN
    FOR d IN SELECT * FROM etl.sla_definitions x
              WHERE x.sla_type IN ('freshness', 'slot_lag') AND x.enabled AND etl._caller_may_operate(x.pipeline_id)
              ORDER BY x.sla_id LOOP
        IF d.sla_type = 'slot_lag' THEN
            -- a slot holds WAL back between runs too: watched like freshness
            obs := etl._sla_slot_lag(d.pipeline_id);
            CONTINUE WHEN obs IS NULL;
            INSERT INTO etl.sla_compliance (sla_id, pipeline_id, run_id, observed, target, compliant, details)
            VALUES (d.sla_id, d.pipeline_id, NULL, obs, d.target, obs <= d.target, jsonb_build_object('unit', 'MB'))
            RETURNING * INTO res;
        ELSE
            obs := etl._sla_freshness_age(d);
            INSERT INTO etl.sla_compliance (sla_id, pipeline_id, run_id, observed, target, compliant, details)
            VALUES (d.sla_id, d.pipeline_id, NULL, obs, d.target, obs IS NOT NULL AND obs <= d.target,
                    jsonb_build_object('source', CASE WHEN d.options ? 'table' THEN 'column' ELSE 'last_load' END))
            RETURNING * INTO res;
        END IF;
        PERFORM etl._sla_alerts(d.pipeline_id, NULL, ARRAY[res]);
        RETURN NEXT res;
    END LOOP;
END
$$;
COMMENT ON FUNCTION etl.evaluate_freshness() IS
  'evaluate every freshness and slot lag SLA now (the scheduler calls it every minute), recording each evaluation and raising or resolving alerts';

CREATE OR REPLACE FUNCTION etl.sla_report(pipeline_id pg_catalog.text,
                               from_ts pg_catalog.timestamptz DEFAULT pg_catalog.now() - '7 days'::pg_catalog.interval,
                               to_ts pg_catalog.timestamptz DEFAULT pg_catalog.now())
RETURNS TABLE(sla_type pg_catalog.text, target pg_catalog.text, observed pg_catalog.text,
              compliant pg_catalog.bool, evaluated_at pg_catalog.timestamptz)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
SELECT d.sla_type,
       CASE d.sla_type
           WHEN 'duration' THEN format('<= %s min', trim_scale(c.target))
           WHEN 'success_rate' THEN format('>= %s over %s', trim_scale(c.target),
                                          COALESCE('last ' || d.window_runs || ' runs', d.window_interval::text))
           WHEN 'quality' THEN format('>= %s', trim_scale(c.target))
           WHEN 'freshness' THEN format('<= %s min', trim_scale(round(c.target, 2)))
           WHEN 'slot_lag' THEN format('<= %s MB', trim_scale(c.target))
       END,
       CASE WHEN c.observed IS NULL THEN 'no data'
            WHEN d.sla_type IN ('duration', 'freshness') THEN format('%s min', round(c.observed, 2))
            WHEN d.sla_type = 'slot_lag' THEN format('%s MB', round(c.observed, 2))
            WHEN d.sla_type = 'success_rate' THEN format('%s (%s of %s runs)', round(c.observed, 4),
                                                        c.details ->> 'succeeded', c.details ->> 'runs')
            ELSE round(c.observed, 2)::text
       END,
       c.compliant, c.evaluated_at
  FROM etl.sla_compliance c
  JOIN etl.sla_definitions d ON d.sla_id = c.sla_id
 WHERE c.pipeline_id = sla_report.pipeline_id
   AND c.evaluated_at >= from_ts AND c.evaluated_at <= to_ts
 ORDER BY c.evaluated_at, c.compliance_id
$$;
COMMENT ON FUNCTION etl.sla_report(pg_catalog.text, pg_catalog.timestamptz, pg_catalog.timestamptz) IS
  'SLA evaluations of a pipeline between from_ts and to_ts: type, target, observed value, compliance, time';

CREATE OR REPLACE FUNCTION etl.apply_sla_config(pipeline_id pg_catalog.text, sla pg_catalog.jsonb)
RETURNS pg_catalog.int4
LANGUAGE plpgsql
AS $$
#variable_conflict use_column
DECLARE
    w       jsonb;
    f       jsonb;
    n       int := 0;
    types   text[] := '{}';
    age     interval;
    win_runs int;
    win_iv  interval;
    rel     pg_catalog.regclass;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM etl.pipelines p WHERE p.pipeline_id = apply_sla_config.pipeline_id) THEN
        RAISE EXCEPTION 'pipeline "%" does not exist', apply_sla_config.pipeline_id USING ERRCODE = '42704';
    END IF;
    -- keys, types and ranges: the configuration validator's (one vocabulary);
    -- older spellings come back in their current form
    sla := etl._normalize_sla(apply_sla_config.pipeline_id, COALESCE(sla, '{}'));

    IF sla ? 'max_duration_minutes' THEN
        INSERT INTO etl.sla_definitions AS d (pipeline_id, sla_type, target)
        VALUES (apply_sla_config.pipeline_id, 'duration', (sla ->> 'max_duration_minutes')::numeric)
        ON CONFLICT (pipeline_id, sla_type) DO UPDATE SET target = EXCLUDED.target, enabled = true,
            window_runs = NULL, window_interval = NULL, options = '{}';
        types := types || 'duration'::text;
    END IF;
    IF sla ? 'min_success_rate' THEN
        w := sla -> 'success_rate_window';
        IF w IS NULL THEN
            win_runs := 10;
        ELSIF jsonb_typeof(w) = 'number' AND w::numeric >= 1 AND w::numeric = trunc(w::numeric) THEN
            win_runs := w::int;
        ELSIF jsonb_typeof(w) = 'string' THEN
            BEGIN
                win_iv := (w #>> '{}')::interval;
            EXCEPTION WHEN OTHERS THEN
                win_iv := NULL;
            END;
        END IF;
        IF win_runs IS NULL AND (win_iv IS NULL OR win_iv <= interval '0') THEN
            RAISE EXCEPTION 'invalid sla value for success_rate_window' USING ERRCODE = '22023',
                DETAIL = format('Pipeline "%s" config path pipeline.sla.success_rate_window is %s.', apply_sla_config.pipeline_id, w),
                HINT = 'Give a number of runs (20) or an interval ("7 days").';
        END IF;
        INSERT INTO etl.sla_definitions AS d (pipeline_id, sla_type, target, window_runs, window_interval)
        VALUES (apply_sla_config.pipeline_id, 'success_rate', (sla ->> 'min_success_rate')::numeric, win_runs, win_iv)
        ON CONFLICT (pipeline_id, sla_type) DO UPDATE SET target = EXCLUDED.target, enabled = true,
            window_runs = EXCLUDED.window_runs, window_interval = EXCLUDED.window_interval, options = '{}';
        types := types || 'success_rate'::text;
    ELSIF sla ? 'success_rate_window' THEN
        RAISE EXCEPTION 'success_rate_window without min_success_rate' USING ERRCODE = '22023',
            DETAIL = format('Pipeline "%s" config path pipeline.sla.success_rate_window.', apply_sla_config.pipeline_id);
    END IF;
    IF sla ? 'min_quality_score' THEN
        INSERT INTO etl.sla_definitions AS d (pipeline_id, sla_type, target)
        VALUES (apply_sla_config.pipeline_id, 'quality', (sla ->> 'min_quality_score')::numeric)
        ON CONFLICT (pipeline_id, sla_type) DO UPDATE SET target = EXCLUDED.target, enabled = true,
            window_runs = NULL, window_interval = NULL, options = '{}';
        types := types || 'quality'::text;
    END IF;
    IF sla ? 'freshness' THEN
        f := sla -> 'freshness';
        IF jsonb_typeof(f) <> 'object' OR NOT f ? 'max_age'
           OR EXISTS (SELECT 1 FROM jsonb_object_keys(f) x WHERE x NOT IN ('max_age', 'table', 'column')) THEN
            RAISE EXCEPTION 'invalid sla freshness block' USING ERRCODE = '22023',
                DETAIL = format('Pipeline "%s" config path pipeline.sla.freshness must be {max_age, [table, column]}.', apply_sla_config.pipeline_id),
                HINT = 'Example: {"max_age": "2 hours", "table": "public.orders", "column": "loaded_at"}; without table and column the age is that of the last successful load.';
        END IF;
        BEGIN
            age := (f ->> 'max_age')::interval;
        EXCEPTION WHEN OTHERS THEN
            age := NULL;
        END;
        IF age IS NULL OR age <= interval '0' THEN
            RAISE EXCEPTION 'invalid sla freshness max_age' USING ERRCODE = '22023',
                DETAIL = format('Pipeline "%s" config path pipeline.sla.freshness.max_age is %s.', apply_sla_config.pipeline_id, f -> 'max_age'),
                HINT = 'Give an interval such as "2 hours".';
        END IF;
        IF (f ? 'table') <> (f ? 'column') THEN
            RAISE EXCEPTION 'sla freshness needs both table and column, or neither' USING ERRCODE = '22023',
                DETAIL = format('Pipeline "%s" config path pipeline.sla.freshness.', apply_sla_config.pipeline_id);
        END IF;
        IF f ? 'table' THEN
            rel := (f ->> 'table')::pg_catalog.regclass;    -- must exist now: raises 42P01 otherwise
            IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a WHERE a.attrelid OPERATOR(pg_catalog.=) rel
                              AND a.attname OPERATOR(pg_catalog.=) (f ->> 'column') AND a.attnum > 0 AND NOT a.attisdropped) THEN
                RAISE EXCEPTION 'column "%" of relation % does not exist', f ->> 'column', f ->> 'table'
                    USING ERRCODE = '42703',
                          DETAIL = format('Pipeline "%s" config path pipeline.sla.freshness.column.', apply_sla_config.pipeline_id);
            END IF;
            SELECT pg_catalog.jsonb_set(f, '{table}', pg_catalog.to_jsonb(pg_catalog.format('%I.%I', n.nspname, c.relname)))
              INTO f
              FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
             WHERE c.oid OPERATOR(pg_catalog.=) rel;
        END IF;
        INSERT INTO etl.sla_definitions AS d (pipeline_id, sla_type, target, options)
        VALUES (apply_sla_config.pipeline_id, 'freshness', pg_catalog.trim_scale(pg_catalog.round(EXTRACT(epoch FROM age) / 60, 4)), f - 'max_age')
        ON CONFLICT (pipeline_id, sla_type) DO UPDATE SET target = EXCLUDED.target, options = EXCLUDED.options,
            enabled = true, window_runs = NULL, window_interval = NULL;
        types := types || 'freshness'::text;
    END IF;
    IF sla ? 'max_slot_lag_mb' THEN
        INSERT INTO etl.sla_definitions AS d (pipeline_id, sla_type, target)
        VALUES (apply_sla_config.pipeline_id, 'slot_lag', (sla ->> 'max_slot_lag_mb')::numeric)
        ON CONFLICT (pipeline_id, sla_type) DO UPDATE SET target = EXCLUDED.target, enabled = true,
            window_runs = NULL, window_interval = NULL, options = '{}';
        types := types || 'slot_lag'::text;
    END IF;
    -- SLAs no longer in the block are disabled, not deleted: their history stays
    UPDATE etl.sla_definitions d SET enabled = false
     WHERE d.pipeline_id = apply_sla_config.pipeline_id AND NOT d.sla_type = ANY (types) AND d.enabled;
    RETURN cardinality(types);
END
$$;
COMMENT ON FUNCTION etl.apply_sla_config(pg_catalog.text, pg_catalog.jsonb) IS
  'turn a pipeline''s sla: block into etl.sla_definitions rows (SLAs no longer in the block are disabled, their history kept); returns how many SLAs it defines';

