-- 48_iforest: etl.detect_anomalies with the isolation forest on a fixed
-- synthetic set of 1000 points with 1% planted outliers: ROC AUC computed in
-- SQL, identical scores for identical seeds, the centre scores below 0.5,
-- contamination, NULL handling and the record in etl.anomaly_detection.
SELECT setseed(0.25);
CREATE TABLE anomaly_pts AS
SELECT id,
       CASE WHEN id % 100 = 0 THEN (CASE WHEN id % 200 = 0 THEN -1 ELSE 1 END) * (6 + 2 * u3)
            ELSE sqrt(-2 * ln(1 - u1)) * cos(2 * pi() * u2) END AS x,
       CASE WHEN id % 100 = 0 THEN (CASE WHEN id % 300 = 0 THEN -1 ELSE 1 END) * (6 + 2 * u4)
            ELSE sqrt(-2 * ln(1 - u1)) * sin(2 * pi() * u2) END AS y,
       (id % 100 = 0) AS outlier
  FROM (SELECT id, random() AS u1, random() AS u2, random() AS u3, random() AS u4
          FROM generate_series(1, 1000) AS id ORDER BY id) AS g;
SELECT count(*) AS points, count(*) FILTER (WHERE outlier) AS planted FROM anomaly_pts;

-- ROC AUC of the scores against the planted labels (pairs ranked correctly)
CREATE TEMP TABLE if_scores AS
SELECT d.row_number, d.score, d.is_anomaly, p.outlier
  FROM etl.detect_anomalies('SELECT x, y FROM anomaly_pts ORDER BY id', ARRAY['x', 'y'],
                            'isolation_forest', '{"seed": 7}') AS d
  JOIN anomaly_pts AS p ON p.id = d.row_number;
SELECT count(*) AS rows_scored,
       min(score) > 0 AND max(score) < 1 AS scores_in_0_1,
       (SELECT sum(CASE WHEN o.score > i.score THEN 1 WHEN o.score = i.score THEN 0.5 ELSE 0 END)
               / count(*)
          FROM if_scores AS o JOIN if_scores AS i ON o.outlier AND NOT i.outlier) >= 0.95 AS auc_at_least_0_95,
       min(score) FILTER (WHERE outlier) > 0.6 AS every_outlier_above_0_6,
       count(*) FILTER (WHERE is_anomaly AND outlier) AS outliers_flagged
  FROM if_scores;

-- the same seed gives identical scores; another seed other ones
SELECT count(*) AS differing_same_seed
  FROM if_scores AS a
  JOIN etl.detect_anomalies('SELECT x, y FROM anomaly_pts ORDER BY id', ARRAY['x', 'y'],
                            'isolation_forest', '{"seed": 7}') AS b USING (row_number)
 WHERE a.score IS DISTINCT FROM b.score;
SELECT count(*) > 500 AS most_differ_other_seed
  FROM if_scores AS a
  JOIN etl.detect_anomalies('SELECT x, y FROM anomaly_pts ORDER BY id', ARRAY['x', 'y'],
                            'isolation_forest', '{"seed": 8}') AS b USING (row_number)
 WHERE a.score IS DISTINCT FROM b.score;
-- without a seed the default seed (42) is used: still reproducible
SELECT count(*) AS differing_default_seed
  FROM etl.detect_anomalies('anomaly_pts', ARRAY['x', 'y']) AS a
  JOIN etl.detect_anomalies('anomaly_pts', ARRAY['x', 'y'], 'isolation_forest', '{"seed": 42}') AS b
       USING (row_number)
 WHERE a.score IS DISTINCT FROM b.score;

-- a point at the data's centre scores below 0.5 (it is row 1 here)
SELECT score < 0.5 AS centre_below_half, is_anomaly
  FROM etl.detect_anomalies('SELECT x, y FROM (SELECT 0 AS id, 0.0::float8 AS x, 0.0::float8 AS y
                                               UNION ALL SELECT id, x, y FROM anomaly_pts) AS t ORDER BY id',
                            ARRAY['x', 'y'], 'isolation_forest', '{"seed": 7}')
 WHERE row_number = 1;

-- contamination as a fraction flags that share: the 10 highest scores
SELECT count(*) FILTER (WHERE d.is_anomaly) AS flagged,
       count(*) FILTER (WHERE d.is_anomaly AND p.outlier) AS flagged_outliers
  FROM etl.detect_anomalies('anomaly_pts', ARRAY['x', 'y'], 'isolation_forest',
                            '{"seed": 7, "contamination": 0.01}') AS d
  JOIN anomaly_pts AS p ON p.id = d.row_number;

-- n_trees, sample_size (larger than the data: the whole data is the sample)
SELECT count(*) FILTER (WHERE d.is_anomaly AND p.outlier) AS flagged_outliers,
       min(d.score) > 0 AS positive
  FROM etl.detect_anomalies('anomaly_pts', ARRAY['x', 'y'], 'isolation_forest',
                            '{"seed": 3, "n_trees": 50, "sample_size": 5000, "threshold": 0.6}') AS d
  JOIN anomaly_pts AS p ON p.id = d.row_number;

-- every call is recorded with its effective options and the flagged rows
SELECT dataset, columns, method, options, rows_scored, anomalies,
       jsonb_array_length(flagged) AS flagged_listed,
       (SELECT bool_and((f->>'row_number')::int % 100 = 0) FROM jsonb_array_elements(flagged) AS f)
         AS flagged_are_planted,
       run_id, pipeline_id
  FROM etl.anomaly_detection
 WHERE options->>'contamination' = '0.01';

-- the record lists at most max_flagged rows: the highest scores, in row order
SELECT count(*) FILTER (WHERE is_anomaly) AS flagged
  FROM etl.detect_anomalies('anomaly_pts', ARRAY['x', 'y'], 'isolation_forest',
                            '{"seed": 7, "contamination": 0.01, "max_flagged": 3}');
WITH rec AS (SELECT anomalies, flagged FROM etl.anomaly_detection
              WHERE options->>'max_flagged' = '3'),
     top3 AS (SELECT row_number FROM if_scores ORDER BY score DESC, row_number LIMIT 3)
SELECT rec.anomalies, jsonb_array_length(rec.flagged) AS listed,
       (SELECT array_agg((f->>'row_number')::int) FROM jsonb_array_elements(rec.flagged) AS f)
         = (SELECT array_agg(row_number::int ORDER BY row_number) FROM top3) AS listed_are_top_3_in_row_order
  FROM rec;

-- NULLs (and NaN): skipped rows get no score and no verdict; impute_mean
-- replaces a missing value by its column's mean and scores every row
CREATE TABLE anomaly_nulls (id int, a float8, b numeric, c int);
INSERT INTO anomaly_nulls
SELECT i, 10 + 3 * sin(i), (5 + cos(i * 1.7))::numeric(6,3), 20 + (i * 7) % 5 FROM generate_series(1, 200) AS i;
UPDATE anomaly_nulls SET a = NULL WHERE id IN (3, 4);
UPDATE anomaly_nulls SET b = 'NaN' WHERE id = 5;
INSERT INTO anomaly_nulls VALUES (201, 500, 3, 22);
SELECT row_number, score IS NULL AS no_score, is_anomaly
  FROM etl.detect_anomalies('SELECT * FROM anomaly_nulls ORDER BY id', ARRAY['a', 'b', 'c'],
                            'isolation_forest', '{"seed": 1, "contamination": 0.005}')
 WHERE row_number IN (2, 3, 4, 5, 201) ORDER BY row_number;
SELECT row_number, score IS NULL AS no_score, is_anomaly
  FROM etl.detect_anomalies('SELECT * FROM anomaly_nulls ORDER BY id', ARRAY['a', 'b', 'c'],
                            'isolation_forest', '{"seed": 1, "nulls": "impute_mean", "contamination": 0.005}')
 WHERE row_number IN (2, 3, 4, 5, 201) ORDER BY row_number;
SELECT rows_scored, anomalies, options->>'nulls' AS nulls, flagged->0->>'row_number' AS flagged_row
  FROM etl.anomaly_detection WHERE dataset LIKE '%anomaly_nulls%' ORDER BY detection_id;

-- empty data: no rows, recorded with rows_scored 0; one row: no score, not an anomaly
SELECT count(*) AS result_rows
  FROM etl.detect_anomalies('SELECT * FROM anomaly_nulls WHERE false', ARRAY['a']);
SELECT * FROM etl.detect_anomalies('SELECT 1.5 AS v', ARRAY['v']);
SELECT rows_scored, anomalies, flagged
  FROM etl.anomaly_detection WHERE dataset IN ('SELECT * FROM anomaly_nulls WHERE false', 'SELECT 1.5 AS v')
 ORDER BY detection_id;

DELETE FROM etl.anomaly_detection;
DROP TABLE anomaly_pts, anomaly_nulls;
