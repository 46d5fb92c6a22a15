-- Anomaly detection: outlier scores of rows (zscore, mad, iqr, isolation
-- forest) and of a pipeline's run metrics.  Results are recorded in
-- etl.anomaly_detection (sql/install/20_quality.sql).

CREATE FUNCTION etl.detect_anomalies(
    data    pg_catalog.text,
    columns pg_catalog.text[],
    method  pg_catalog.text DEFAULT 'isolation_forest',
    options pg_catalog.jsonb DEFAULT '{}')
RETURNS TABLE(row_number pg_catalog.int8, score pg_catalog.float8, is_anomaly pg_catalog.bool)
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'metaetl_detect_anomalies';
COMMENT ON FUNCTION etl.detect_anomalies(pg_catalog.text, pg_catalog.text[], pg_catalog.text, pg_catalog.jsonb) IS
  'scores every row of a relation or SELECT on numeric columns (zscore, mad, iqr, isolation_forest) and records the detection in etl.anomaly_detection';

CREATE FUNCTION etl.detect_metric_anomalies(
    pipeline_id pg_catalog.text,
    metric      pg_catalog.text,
    options     pg_catalog.jsonb DEFAULT '{}')
RETURNS TABLE(run_id pg_catalog.int8, value pg_catalog.float8, score pg_catalog.float8,
              is_anomaly pg_catalog.bool, reason pg_catalog.text)
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'metaetl_detect_metric_anomalies';
COMMENT ON FUNCTION etl.detect_metric_anomalies(pg_catalog.text, pg_catalog.text, pg_catalog.jsonb) IS
  'scores a run metric (rows_read, rows_written, duration, quality_score, rows_per_sec, null_rate) of a pipeline''s run history with a trailing-window z-score and the change from the previous run; records the detection in etl.anomaly_detection';
