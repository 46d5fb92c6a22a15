-- 56_quality_outliers: the outliers rule scores rows with the detectors of
-- etl.detect_anomalies (zscore, iqr, mad, isolation_forest, same options)
-- inside the one scan, and passes when the flagged share is at most
-- max_fraction.  Its counts equal detect_anomalies' on the same data (the
-- forest, grown from sorted rows, with contamination: the top share).
\set SHOW_CONTEXT never
CREATE FUNCTION pg_temp.err(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE sql;
    RETURN 'no error';
EXCEPTION WHEN others THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;
-- 200 values around 50, three far away, and a NULL
CREATE TABLE public.q56 (id int PRIMARY KEY, v float8, w float8, label text);
INSERT INTO q56 SELECT i, 50 + ((i * 37) % 21) - 10, (i * 13) % 17, 'x' FROM generate_series(1, 200) i;
INSERT INTO q56 VALUES (201, 500, 3, 'x'), (202, -400, 4, 'x'), (203, 900, 5, 'x'), (204, NULL, 6, 'x');

SELECT c->>'rule' AS rule, c->'passed' AS passed, c->'failed_rows' AS flagged, c->'total_rows' AS scored,
       c->'observed'->'fraction' AS fraction
  FROM jsonb_array_elements((etl.quality_gate('q56', $$[
    {"name": "z", "type": "outliers", "columns": ["v"], "method": "zscore", "max_fraction": 0.01},
    {"name": "z_loose", "type": "outliers", "columns": ["v"], "method": "zscore", "max_fraction": 0.02},
    {"name": "i", "type": "outliers", "columns": ["v"], "method": "iqr", "options": {"k": 3}},
    {"name": "m", "type": "outliers", "columns": ["v", "w"], "method": "mad", "max_fraction": 0.05},
    {"name": "f", "type": "outliers", "columns": ["v", "w"], "method": "isolation_forest",
     "options": {"seed": 7, "contamination": 0.02}, "max_fraction": 0.02}]$$))->'checks') c;

-- the same counts from etl.detect_anomalies
SELECT m, (SELECT count(*) FILTER (WHERE is_anomaly) FROM etl.detect_anomalies('q56', cols, m, o)) AS flagged
  FROM (VALUES ('zscore', ARRAY['v'], '{}'::jsonb), ('iqr', ARRAY['v'], '{"k": 3}'), ('mad', ARRAY['v', 'w'], '{}'),
               ('isolation_forest', ARRAY['v', 'w'], '{"seed": 7, "contamination": 0.02}')) AS t(m, cols, o);

-- NULLs: skipped (default), or the column mean with nulls: impute_mean
SELECT c->'total_rows' AS scored
  FROM jsonb_array_elements((etl.quality_gate('q56', $$[
    {"name": "skip", "type": "outliers", "columns": ["v"]},
    {"name": "impute", "type": "outliers", "columns": ["v"], "options": {"nulls": "impute_mean"}}]$$))->'checks') c;

-- empty data and a single row flag nothing
SELECT c->'passed' AS passed, c->'failed_rows' AS flagged
  FROM jsonb_array_elements((etl.quality_gate('SELECT * FROM q56 WHERE id <= 1',
         '[{"type": "outliers", "columns": ["v"]}]'))->'checks') c;

-- bad configuration: unknown methods and options are refused as etl.detect_anomalies refuses them
SELECT pg_temp.err($q$SELECT etl.quality_gate('q56', '[{"type": "outliers", "columns": ["v"], "method": "lof"}]')$q$);
SELECT pg_temp.err($q$SELECT etl.quality_gate('q56', '[{"type": "outliers", "columns": ["v"], "method": "iqr", "options": {"threshold": 2}}]')$q$);
SELECT pg_temp.err($q$SELECT etl.quality_gate('q56', '[{"type": "outliers", "columns": ["v"], "max_fraction": 2}]')$q$);
SELECT pg_temp.err($q$SELECT etl.quality_gate('q56', '[{"type": "outliers", "columns": ["label"]}]')$q$);
SELECT pg_temp.err($q$SELECT etl.quality_gate('q56', '[{"type": "outliers", "columns": []}]')$q$);

DELETE FROM etl.quality_scores WHERE dataset = 'q56';
DELETE FROM etl.anomaly_detection WHERE dataset LIKE '%q56%';
DROP TABLE q56;
