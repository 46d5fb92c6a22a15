-- 51_metric_anomalies: etl.detect_metric_anomalies over a pipeline's run
-- history (runs inserted directly): trailing-window z-score, change from the
-- previous run, statuses, metrics, the record, and bad input (pgTAP at the end).
INSERT INTO etl.pipelines (pipeline_id, name, config)
VALUES ('anomaly_metrics', 'Anomaly metrics test', '{"pipeline": {"id": "anomaly_metrics"}}');

-- 12 ordinary daily runs, then a spike, a normal run, a failed run (ignored
-- by default) and a drop
INSERT INTO etl.pipeline_runs (pipeline_id, status, started_at, ended_at, rows_read, rows_written, quality_score)
SELECT 'anomaly_metrics', 'succeeded',
       timestamptz '2026-01-01 02:00+00' + i * interval '1 day',
       timestamptz '2026-01-01 02:00+00' + i * interval '1 day' + interval '60 s' + (i % 3) * interval '5 s',
       1000 + (i % 5) * 10, 990 + (i % 4) * 5, 98 + (i % 3) * 0.5
  FROM generate_series(1, 12) AS i;
INSERT INTO etl.pipeline_runs (pipeline_id, status, started_at, ended_at, rows_read, rows_written, quality_score) VALUES
  ('anomaly_metrics', 'succeeded', '2026-01-14 02:00+00', '2026-01-14 02:09+00', 5000, 4990, 97.5),
  ('anomaly_metrics', 'succeeded', '2026-01-15 02:00+00', '2026-01-15 02:01:05+00', 1020, 1000, 98.5),
  ('anomaly_metrics', 'failed',    '2026-01-16 02:00+00', '2026-01-16 02:00:03+00', 0, 0, NULL),
  ('anomaly_metrics', 'quality_failed', '2026-01-17 02:00+00', '2026-01-17 02:01+00', 300, 0, 61);

-- (the first 3 runs have too little history for a z-score; the run after the
-- spike is flagged by its change, and the spike in its window widens the
-- spread the drop is measured against)
SELECT row_number() OVER () AS n, value, round(score::numeric, 2) AS score, is_anomaly, reason
  FROM etl.detect_metric_anomalies('anomaly_metrics', 'rows_read');

-- the trailing window is the runs before each run: an independent SQL z-score
WITH h AS (SELECT rows_read::float8 AS v, row_number() OVER (ORDER BY started_at) AS n
             FROM etl.pipeline_runs WHERE pipeline_id = 'anomaly_metrics' AND status <> 'failed'),
     ref AS (SELECT cur.n, (cur.v - avg(prev.v)) / stddev_samp(prev.v) AS z
               FROM h AS cur JOIN h AS prev ON prev.n < cur.n AND prev.n >= cur.n - 5
              GROUP BY cur.n, cur.v HAVING count(*) >= 3)
SELECT count(*) AS compared, max(abs(d.score - ref.z)) < 1e-9 AS scores_match
  FROM (SELECT row_number() OVER () AS n, score
          FROM etl.detect_metric_anomalies('anomaly_metrics', 'rows_read', '{"window": 5}')) AS d
  JOIN ref USING (n);

-- duration in seconds, with failed runs included; the rate check switched off
SELECT row_number() OVER () AS n, value, round(score::numeric, 2) AS score, is_anomaly, reason
  FROM etl.detect_metric_anomalies('anomaly_metrics', 'duration',
         '{"statuses": ["succeeded", "failed"], "max_change_pct": null, "window": 6, "min_history": 4}')
 WHERE is_anomaly OR score IS NULL;

-- quality score: the drop to 61 is caught by the z-score (a 38% change stays
-- under max_change_pct 50)
SELECT value, round(score::numeric, 2) AS score, is_anomaly, reason
  FROM etl.detect_metric_anomalies('anomaly_metrics', 'quality_score') WHERE is_anomaly;

-- null rate from the runs' completeness checks
INSERT INTO etl.completeness_checks (run_id, dataset, rule_name, column_name, total_rows, failed_rows, passed)
SELECT run_id, 'customers', 'completeness_email', 'email', rows_read,
       CASE WHEN rows_read = 5000 THEN 1500 ELSE rows_read / 100 END, true
  FROM etl.pipeline_runs WHERE pipeline_id = 'anomaly_metrics' AND status = 'succeeded';
SELECT round(value::numeric, 2) AS value, round(score::numeric, 2) AS score, is_anomaly, reason
  FROM etl.detect_metric_anomalies('anomaly_metrics', 'null_rate', '{"column": "email"}') WHERE is_anomaly;

-- a constant history: any other value is flagged with an infinite score
INSERT INTO etl.pipelines (pipeline_id, name, config)
VALUES ('anomaly_flat', 'Flat history', '{"pipeline": {"id": "anomaly_flat"}}');
INSERT INTO etl.pipeline_runs (pipeline_id, status, started_at, rows_written)
SELECT 'anomaly_flat', 'succeeded', timestamptz '2026-02-01' + i * interval '1 hour', CASE WHEN i = 6 THEN 101 ELSE 100 END
  FROM generate_series(1, 6) AS i;
SELECT value, score, is_anomaly, reason
  FROM etl.detect_metric_anomalies('anomaly_flat', 'rows_written') WHERE score IS NOT NULL;
-- a pipeline without runs: no rows
SELECT count(*) AS no_runs FROM etl.detect_metric_anomalies('anomaly_flat', 'quality_score');

-- each call is recorded for its pipeline
SELECT pipeline_id, dataset, columns, method, options, rows_scored, anomalies,
       jsonb_array_length(flagged) AS flagged_listed, flagged->0->>'reason' AS first_reason
  FROM etl.anomaly_detection WHERE pipeline_id IN ('anomaly_metrics', 'anomaly_flat')
 ORDER BY detection_id;

-- bad input
\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only true
BEGIN;
SELECT plan(9);
SELECT throws_ok($$SELECT * FROM etl.detect_metric_anomalies('no_such_pipeline', 'rows_read')$$,
                 '42704', 'pipeline "no_such_pipeline" does not exist', 'an unknown pipeline');
SELECT throws_ok($$SELECT * FROM etl.detect_metric_anomalies('anomaly_metrics', 'row_read')$$,
                 '22023', 'unknown run metric "row_read"', 'an unknown metric');
SELECT throws_ok($$SELECT * FROM etl.detect_metric_anomalies('anomaly_metrics', 'null_rate')$$,
                 '22023', 'metric null_rate needs option "column"', 'null_rate without a column');
SELECT throws_ok($$SELECT * FROM etl.detect_metric_anomalies('anomaly_metrics', 'rows_read', '{"column": "x"}')$$,
                 '22023', 'option "column" applies to metric null_rate only', 'column for another metric');
SELECT throws_ok($$SELECT * FROM etl.detect_metric_anomalies('anomaly_metrics', 'rows_read', '{"window": 1}')$$,
                 '22023', 'invalid value for option "window"', 'a window of one run');
SELECT throws_ok($$SELECT * FROM etl.detect_metric_anomalies('anomaly_metrics', 'rows_read', '{"window": 4, "min_history": 6}')$$,
                 '22023', 'invalid value for option "min_history"', 'min_history beyond the window');
SELECT throws_ok($$SELECT * FROM etl.detect_metric_anomalies('anomaly_metrics', 'rows_read', '{"statuses": "succeeded"}')$$,
                 '22023', 'invalid value for option "statuses"', 'statuses not an array');
SELECT throws_ok($$SELECT * FROM etl.detect_metric_anomalies('anomaly_metrics', 'rows_read', '{"windw": 4}')$$,
                 '22023', 'unknown option "windw"', 'an unknown option');
SELECT throws_ok($$SELECT * FROM etl.detect_metric_anomalies(NULL, 'rows_read')$$,
                 '22004', 'pipeline_id and metric must not be NULL', 'a NULL pipeline');
SELECT * FROM finish();
ROLLBACK;

-- dropping the pipelines removes their runs, checks and detections
DELETE FROM etl.pipelines WHERE pipeline_id IN ('anomaly_metrics', 'anomaly_flat');
SELECT count(*) FROM etl.anomaly_detection;
