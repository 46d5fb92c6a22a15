-- 75_anomaly (0.1.0 -> 0.2.0): the anomaly alert of a run, new in 0.2.0
-- (repeated from sql/install/70_quality.sql).
-- The anomaly alert of a run (alerts.on: [anomaly]): the monitor calls this
-- after each run.  It scores the run's rows read and written, duration and quality score
-- against the pipeline's history (etl.detect_metric_anomalies, default
-- options) and raises one 'anomaly' alert naming what stood out.  It reads
-- only etl's own tables (run records), never a user relation, so it may run
-- with any rights.  Without anomaly in alerts.on it only says so.
CREATE FUNCTION etl._run_anomaly_check(run_id pg_catalog.int8)
RETURNS pg_catalog.jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    run      etl.pipeline_runs;
    cfg      pg_catalog.jsonb;
    flagged  pg_catalog.jsonb := '[]';
    metric   pg_catalog.text;
    d        record;
    alert    pg_catalog.int8;
BEGIN
    SELECT * INTO run FROM etl.pipeline_runs r WHERE r.run_id OPERATOR(pg_catalog.=) _run_anomaly_check.run_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = pg_catalog.format('run %s does not exist', _run_anomaly_check.run_id);
    END IF;
    -- the run's pinned version, else the pipeline's config (a run of a pipeline
    -- edited in place has no version row): this must never fail a run's end
    SELECT coalesce((SELECT v.config FROM etl.pipeline_versions v
                      WHERE v.pipeline_id OPERATOR(pg_catalog.=) run.pipeline_id
                        AND v.version OPERATOR(pg_catalog.=) run.version),
                    (SELECT p.config FROM etl.pipelines p
                      WHERE p.pipeline_id OPERATOR(pg_catalog.=) run.pipeline_id))
      INTO cfg;
    IF NOT coalesce(cfg #> '{pipeline,alerts,on}' OPERATOR(pg_catalog.?) 'anomaly', false) THEN
        RETURN pg_catalog.jsonb_build_object('run_id', run.run_id, 'checked', false,
                                             'reason', 'alerts.on of the pipeline does not include anomaly');
    END IF;
    -- a run shorter than a second is not judged on its duration: at that scale
    -- the time is noise (the performance alert has the same floor)
    FOREACH metric IN ARRAY ARRAY['rows_read', 'rows_written', 'duration', 'quality_score'] LOOP
        CONTINUE WHEN metric OPERATOR(pg_catalog.=) 'duration'
                  AND coalesce(pg_catalog.date_part('epoch', run.ended_at OPERATOR(pg_catalog.-) run.started_at), 0) OPERATOR(pg_catalog.<) 1;
        SELECT x.value, x.score, x.is_anomaly, x.reason INTO d
          FROM etl.detect_metric_anomalies(run.pipeline_id, metric) x
         WHERE x.run_id OPERATOR(pg_catalog.=) run.run_id;
        IF FOUND AND d.is_anomaly THEN
            flagged := flagged OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object(
                'metric', metric, 'value', d.value, 'score', pg_catalog.round(d.score::pg_catalog.numeric, 2), 'reason', d.reason));
        END IF;
    END LOOP;
    IF pg_catalog.jsonb_array_length(flagged) OPERATOR(pg_catalog.>) 0 THEN
        alert := etl.raise_alert('anomaly', 'medium',
            pg_catalog.format('run %s of pipeline "%s" is unusual: %s', run.run_id, run.pipeline_id,
                              (SELECT pg_catalog.string_agg(f->>'metric' OPERATOR(pg_catalog.||) ' (' OPERATOR(pg_catalog.||) (f->>'reason') OPERATOR(pg_catalog.||) ')', ', ')
                                 FROM pg_catalog.jsonb_array_elements(flagged) f)),
            run.pipeline_id, run.run_id, pg_catalog.jsonb_build_object('anomalies', flagged),
            'anomaly:' OPERATOR(pg_catalog.||) run.pipeline_id);
    END IF;
    RETURN pg_catalog.jsonb_build_object('run_id', run.run_id, 'checked', true, 'anomalies', flagged, 'alert_id', alert);
END
$fn$;
COMMENT ON FUNCTION etl._run_anomaly_check(pg_catalog.int8) IS
  'after a run: raises an anomaly alert when alerts.on includes anomaly and the run''s rows read or written, duration or quality score stand out from the pipeline''s history (etl.detect_metric_anomalies)';
