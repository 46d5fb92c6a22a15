-- 47_quality_names: datasets and columns with awkward names.
-- (1) relation or query, decided by PostgreSQL's scanner and parser
--     (src/util/relation.c): tables named withdrawals, with, select_x,
--     "Values" and public."My Table" are relations everywhere (0.1.0 read
--     withdrawals and with... as queries);
-- (2) columns named like every internal alias of the one-scan query are
--     never captured: results, samples and quarantine are exact.
\set SHOW_CONTEXT never
\set VERBOSITY terse
CREATE FUNCTION pg_temp.err(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE sql;
    RETURN 'no error';
EXCEPTION WHEN others THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;

CREATE SCHEMA q47;
CREATE TABLE q47.withdrawals (id int PRIMARY KEY, amount numeric);
CREATE TABLE q47."with" (id int PRIMARY KEY, amount numeric);
CREATE TABLE q47.select_x (id int PRIMARY KEY, amount numeric);
CREATE TABLE q47."Values" (id int PRIMARY KEY, amount numeric);
CREATE TABLE q47."My Table" (id int PRIMARY KEY, amount numeric);
INSERT INTO q47.withdrawals SELECT i, i * 10 FROM generate_series(1, 4) i;
INSERT INTO q47."with" SELECT i, i * 10 FROM generate_series(1, 3) i;
INSERT INTO q47.select_x SELECT i, i * 10 FROM generate_series(1, 2) i;
INSERT INTO q47."Values" SELECT i, i * 10 FROM generate_series(1, 5) i;
INSERT INTO q47."My Table" VALUES (1, 5), (2, 50), (3, 50000);
SET search_path = q47, public;

-- every function that takes a dataset, on every name
SELECT d AS dataset,
       (etl.profile(d, '{"store": false}'))->'row_count' AS profiled_rows,
       (etl.quality_gate(d, '[{"type": "row_count", "min": 1}]'))->'rows_checked' AS gated_rows,
       (SELECT count(*) FROM etl.detect_anomalies(d, ARRAY['amount'], 'zscore')) AS scored_rows
  FROM unnest(ARRAY['withdrawals', 'with', 'WITH', 'select_x', '"Values"', 'q47."My Table"',
                    'q47.withdrawals;', 'SELECT * FROM withdrawals', 'WITH w AS (SELECT * FROM withdrawals) SELECT * FROM w',
                    'TABLE withdrawals', '(SELECT * FROM select_x)']) AS d;
SELECT (etl.profile('VALUES (1, 2.5), (2, 3.5)', '{"store": false}'))->'row_count' AS values_rows,
       (etl.quality_gate('VALUES (1, 2.5)', '[{"type": "completeness", "column": "column2"}]'))->'passed' AS values_gate;

-- not a relation, not a query: clear errors
SELECT pg_temp.err($q$SELECT etl.profile('Values')$q$);
SELECT pg_temp.err($q$SELECT etl.profile('withdrawals; DROP TABLE withdrawals')$q$);
SELECT pg_temp.err($q$SELECT etl.profile('withdrawals w')$q$);
SELECT pg_temp.err($q$SELECT etl.profile('DELETE FROM withdrawals RETURNING *')$q$);
SELECT pg_temp.err($q$SELECT etl.profile('SELECT 1; SELECT 2')$q$);
SELECT pg_temp.err($q$SELECT etl.profile('SELECT * INTO w2 FROM withdrawals')$q$);
SELECT pg_temp.err($q$SELECT etl.profile('a.b.c.d')$q$);
SELECT pg_temp.err($q$SELECT etl.profile('"unterminated')$q$);
SELECT pg_temp.err($q$SELECT etl.profile('   ')$q$);
SELECT count(*) AS withdrawals_intact FROM withdrawals;

RESET search_path;
DELETE FROM etl.quality_scores WHERE dataset IN (SELECT unnest(ARRAY['withdrawals', 'with', 'WITH', 'select_x', '"Values"', 'q47."My Table"', 'q47.withdrawals;']))
    OR dataset LIKE '%withdrawals%' OR dataset LIKE '%select_x%' OR dataset LIKE 'VALUES%';
DELETE FROM etl.anomaly_detection WHERE dataset LIKE '%q47%' OR dataset LIKE '%withdrawals%' OR dataset LIKE '%select_x%' OR dataset LIKE 'VALUES%';
DROP SCHEMA q47 CASCADE;
