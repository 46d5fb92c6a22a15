-- 59_anomaly_alerts: alerts.on: [anomaly].  After a run the monitor calls
-- etl._run_anomaly_check(run_id): the run's rows read, duration and quality
-- score against the pipeline's history (etl.detect_metric_anomalies); an
-- 'anomaly' alert when one stands out.  (Run history inserted directly, as
-- in 51_metric_anomalies.)
\set SHOW_CONTEXT never
CREATE TABLE public.q59_src (id int);
SELECT etl.register_pipeline($$
pipeline:
  id: q59_watch
  sources: [{ id: src, type: postgresql, table: q59_src }]
  targets: [{ id: out, type: postgresql, table: q59_out }]
  alerts: { on: [failure, anomaly] }
$$);
SELECT etl.register_pipeline($$
pipeline:
  id: q59_quiet
  sources: [{ id: src, type: postgresql, table: q59_src }]
  targets: [{ id: out, type: postgresql, table: q59_out2 }]
$$);
-- 12 ordinary runs, then one that reads 5x the rows and takes 9x as long
INSERT INTO etl.pipeline_runs (pipeline_id, version, status, started_at, ended_at, rows_read, rows_written, quality_score)
SELECT p, 1, 'succeeded', timestamptz '2026-02-01 02:00+00' + i * interval '1 day',
       timestamptz '2026-02-01 02:00+00' + i * interval '1 day' + interval '60 s' + (i % 3) * interval '5 s',
       1000 + (i % 5) * 10, 1000, 99
  FROM generate_series(1, 12) i, unnest(ARRAY['q59_watch', 'q59_quiet']) p;
INSERT INTO etl.pipeline_runs (pipeline_id, version, status, started_at, ended_at, rows_read, rows_written, quality_score)
SELECT p, 1, 'succeeded', '2026-02-14 02:00+00', '2026-02-14 02:09+00', 5000, 5000, 99
  FROM unnest(ARRAY['q59_watch', 'q59_quiet']) p;

SELECT count(*) AS anomaly_alerts_before FROM etl.alerts WHERE alert_type = 'anomaly' AND pipeline_id LIKE 'q59%';

-- an ordinary run: checked, nothing stands out, no alert
SELECT r - 'run_id' AS result
  FROM etl._run_anomaly_check((SELECT run_id FROM etl.pipeline_runs WHERE pipeline_id = 'q59_watch'
                                ORDER BY started_at OFFSET 10 LIMIT 1)) r;
-- the unusual run: an anomaly alert naming the metrics
SELECT r->'checked' AS checked, jsonb_path_query_array(r->'anomalies', '$[*].metric') AS metrics, r->'alert_id' IS NOT NULL AS alerted
  FROM etl._run_anomaly_check((SELECT max(run_id) FROM etl.pipeline_runs WHERE pipeline_id = 'q59_watch')) r;
SELECT alert_type, priority, regexp_replace(message, 'run [0-9]+', 'run N') AS message,
       details->'anomalies'->0->>'reason' AS first_reason
  FROM etl.alerts WHERE alert_type = 'anomaly' AND pipeline_id = 'q59_watch';
-- a pipeline whose alerts.on has no anomaly: not checked
SELECT r - 'run_id' AS result
  FROM etl._run_anomaly_check((SELECT max(run_id) FROM etl.pipeline_runs WHERE pipeline_id = 'q59_quiet')) r;
SELECT count(*) AS quiet_alerts FROM etl.alerts WHERE alert_type = 'anomaly' AND pipeline_id = 'q59_quiet';
-- an unknown run
DO $$ BEGIN PERFORM etl._run_anomaly_check(-1); EXCEPTION WHEN others THEN RAISE NOTICE '%: %', SQLSTATE, SQLERRM; END $$;

-- through real runs: etl.on_run_finished calls the check after each successful
-- run, so the 12th run, reading 20 rows after eleven of about 1,000, raises
-- the alert; the same history without alerts.on: [anomaly] raises none
SELECT etl.register_pipeline($$
pipeline:
  id: q59_live
  sources: [{ id: src, type: postgresql, table: q59_src }]
  targets: [{ id: out, type: postgresql, table: q59_live_out }]
  alerts: { on: [anomaly] }
$$);
SELECT etl.register_pipeline($$
pipeline:
  id: q59_live_quiet
  sources: [{ id: src, type: postgresql, table: q59_src }]
  targets: [{ id: out, type: postgresql, table: q59_live_out2 }]
$$);
DO $$
BEGIN
  FOR night IN 1..12 LOOP
    TRUNCATE q59_src;
    INSERT INTO q59_src SELECT generate_series(1, CASE WHEN night = 12 THEN 20 ELSE 1000 + (night % 3) * 5 END);
    PERFORM etl.execute_pipeline_inline('q59_live');
    PERFORM etl.execute_pipeline_inline('q59_live_quiet');
  END LOOP;
END $$;
SELECT pipeline_id, alert_type, details->'anomalies'->0->>'metric' AS metric,
       details->'anomalies'->0->>'value' AS value,
       run_id = (SELECT max(run_id) FROM etl.pipeline_runs r WHERE r.pipeline_id = 'q59_live') AS last_run
  FROM etl.alerts WHERE alert_type = 'anomaly' AND pipeline_id LIKE 'q59_live%';

SELECT etl.drop_pipeline('q59_live');
SELECT etl.drop_pipeline('q59_live_quiet');
DROP TABLE q59_live_out, q59_live_out2;
SELECT etl.drop_pipeline('q59_watch');
SELECT etl.drop_pipeline('q59_quiet');
DROP TABLE q59_src;
