-- 49_anomaly_methods: zscore, mad and iqr cross-checked against the same
-- statistics written independently in SQL; several columns combine by the
-- largest column score; thresholds, k and contamination.
CREATE TABLE anomaly_m (id int PRIMARY KEY, v float8, w int, n numeric(8,2), r real);
INSERT INTO anomaly_m
SELECT i, (i * 37) % 101, (i * 13) % 17, ((i * 11) % 23)::numeric / 4, (i % 9)::real
  FROM generate_series(1, 200) AS i;
UPDATE anomaly_m SET v = 300 WHERE id = 50;
UPDATE anomaly_m SET v = -250 WHERE id = 120;
UPDATE anomaly_m SET w = 90 WHERE id = 7;

-- zscore: |x - mean| / stddev_samp, flagged above 3
WITH ref AS (
    SELECT id, abs(v - avg(v) OVER ()) / stddev_samp(v) OVER () AS z FROM anomaly_m)
SELECT count(*) AS rows_compared,
       max(abs(d.score - ref.z)) < 1e-9 AS scores_match,
       count(*) FILTER (WHERE d.is_anomaly IS DISTINCT FROM (ref.z > 3)) AS verdicts_differ,
       string_agg(ref.id::text, ',' ORDER BY ref.id) FILTER (WHERE d.is_anomaly) AS flagged_ids
  FROM etl.detect_anomalies('SELECT v FROM anomaly_m ORDER BY id', ARRAY['v'], 'zscore') AS d
  JOIN ref ON ref.id = d.row_number;

-- mad: 0.6745 |x - median| / MAD, flagged above 3.5
WITH med AS (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY v) AS m FROM anomaly_m),
     mad AS (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY abs(v - med.m)) AS mad, med.m
               FROM anomaly_m, med GROUP BY med.m),
     ref AS (SELECT id, 0.6745 * abs(v - mad.m) / mad.mad AS z FROM anomaly_m, mad)
SELECT count(*) AS rows_compared,
       max(abs(d.score - ref.z)) < 1e-9 AS scores_match,
       count(*) FILTER (WHERE d.is_anomaly IS DISTINCT FROM (ref.z > 3.5)) AS verdicts_differ,
       string_agg(ref.id::text, ',' ORDER BY ref.id) FILTER (WHERE d.is_anomaly) AS flagged_ids
  FROM etl.detect_anomalies('SELECT v FROM anomaly_m ORDER BY id', ARRAY['v'], 'mad') AS d
  JOIN ref ON ref.id = d.row_number;

-- iqr: outside [Q1 - k IQR, Q3 + k IQR]; the score is the distance outside
-- the box in IQRs (quartiles as percentile_cont)
WITH q AS (SELECT percentile_cont(0.25) WITHIN GROUP (ORDER BY w) AS q1,
                  percentile_cont(0.75) WITHIN GROUP (ORDER BY w) AS q3 FROM anomaly_m),
     ref AS (SELECT id, w, greatest(0, (q1 - w) / (q3 - q1), (w - q3) / (q3 - q1)) AS s,
                    w < q1 - 1.5 * (q3 - q1) OR w > q3 + 1.5 * (q3 - q1) AS outside
               FROM anomaly_m, q)
SELECT count(*) AS rows_compared,
       max(abs(d.score - ref.s)) < 1e-9 AS scores_match,
       count(*) FILTER (WHERE d.is_anomaly IS DISTINCT FROM ref.outside) AS verdicts_differ,
       string_agg(ref.id::text, ',' ORDER BY ref.id) FILTER (WHERE d.is_anomaly) AS flagged_ids
  FROM etl.detect_anomalies('SELECT w FROM anomaly_m ORDER BY id', ARRAY['w'], 'iqr') AS d
  JOIN ref ON ref.id = d.row_number;

-- several columns: a row's score is its largest column score
WITH zv AS (SELECT d.row_number, d.score FROM etl.detect_anomalies('SELECT v FROM anomaly_m ORDER BY id', ARRAY['v'], 'zscore') AS d),
     zw AS (SELECT d.row_number, d.score FROM etl.detect_anomalies('SELECT w FROM anomaly_m ORDER BY id', ARRAY['w'], 'zscore') AS d)
SELECT count(*) FILTER (WHERE both_.score <> greatest(zv.score, zw.score)) AS not_the_max,
       string_agg(both_.row_number::text, ',' ORDER BY both_.row_number) FILTER (WHERE both_.is_anomaly) AS flagged_rows
  FROM etl.detect_anomalies('SELECT v, w FROM anomaly_m ORDER BY id', ARRAY['v', 'w'], 'zscore') AS both_
  JOIN zv USING (row_number) JOIN zw USING (row_number);

-- integer, numeric and real columns are accepted (cast to float8)
SELECT count(*) AS scored, count(*) FILTER (WHERE is_anomaly) AS flagged
  FROM etl.detect_anomalies('anomaly_m', ARRAY['w', 'n', 'r'], 'mad');

-- threshold, k and contamination
SELECT (SELECT count(*) FROM etl.detect_anomalies('anomaly_m', ARRAY['v'], 'zscore', '{"threshold": 1.5}') WHERE is_anomaly) AS z_threshold_1_5,
       (SELECT count(*) FROM etl.detect_anomalies('anomaly_m', ARRAY['v'], 'iqr', '{"k": 0.1}') WHERE is_anomaly) AS iqr_k_0_1,
       (SELECT count(*) FROM etl.detect_anomalies('anomaly_m', ARRAY['v'], 'mad', '{"contamination": 0.05}') WHERE is_anomaly) AS mad_top_5_pct;

-- degenerate spreads: a constant column scores 0; MAD 0 falls back to the
-- mean absolute deviation; IQR 0 puts values outside the box at Infinity
SELECT row_number, round(z.score::numeric, 4) AS zscore, round(m.score::numeric, 4) AS mad, i.score AS iqr,
       i.is_anomaly AS iqr_flag, m.is_anomaly AS mad_flag
  FROM etl.detect_anomalies('SELECT v FROM (VALUES (1, 5), (2, 5), (3, 5), (4, 5), (5, 5), (6, 5), (7, 9)) AS t(i, v) ORDER BY i',
                            ARRAY['v'], 'zscore') AS z
  JOIN etl.detect_anomalies('SELECT v FROM (VALUES (1, 5), (2, 5), (3, 5), (4, 5), (5, 5), (6, 5), (7, 9)) AS t(i, v) ORDER BY i',
                            ARRAY['v'], 'mad') AS m USING (row_number)
  JOIN etl.detect_anomalies('SELECT v FROM (VALUES (1, 5), (2, 5), (3, 5), (4, 5), (5, 5), (6, 5), (7, 9)) AS t(i, v) ORDER BY i',
                            ARRAY['v'], 'iqr') AS i USING (row_number)
 WHERE row_number IN (1, 7) ORDER BY row_number;
SELECT count(*) FILTER (WHERE score = 0) AS zero_scores, count(*) FILTER (WHERE is_anomaly) AS flagged
  FROM etl.detect_anomalies('SELECT 7 AS k FROM generate_series(1, 10)', ARRAY['k'], 'zscore');

-- the records: effective options per method, Infinity kept as a string
SELECT method, options, rows_scored, anomalies, flagged
  FROM etl.anomaly_detection
 WHERE dataset LIKE '%VALUES (1, 5)%' ORDER BY detection_id;

DELETE FROM etl.anomaly_detection;
DROP TABLE anomaly_m;
