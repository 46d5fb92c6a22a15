-- 50_anomaly_errors: bad input to etl.detect_anomalies gives a clear error
-- with an SQLSTATE, never a crash, and records nothing (pgTAP).
\set ON_ERROR_STOP 1
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
BEGIN;
SELECT plan(30);

CREATE TABLE anomaly_e (id int, v float8, t text, z float8, d date);
INSERT INTO anomaly_e SELECT i, i, 'x' || i, NULL, date '2024-01-01' + i FROM generate_series(1, 20) AS i;

SELECT throws_ok($$SELECT * FROM etl.detect_anomalies('anomaly_e', ARRAY['vv'], 'zscore')$$,
                 '42703', 'column "vv" does not exist in the data', 'an unknown column');
SELECT throws_ok($$SELECT * FROM etl.detect_anomalies('anomaly_e', ARRAY['V'])$$,
                 '42703', 'column "V" does not exist in the data', 'column names are case-sensitive');
SELECT throws_ok($$SELECT * FROM etl.detect_anomalies('anomaly_e', ARRAY['v"; DROP TABLE anomaly_e; --'])$$,
                 '42703', NULL, 'a hostile column name is only ever a name');
SELECT throws_ok($$SELECT * FROM etl.detect_anomalies('anomaly_e', ARRAY['t'], 'zscore')$$,
                 '42804', 'column "t" is not numeric', 'a text column for zscore');
SELECT throws_ok($$SELECT * FROM etl.detect_anomalies('anomaly_e', ARRAY['v', 'd'])$$,
                 '42804', 'column "d" is not numeric', 'a date column for the isolation forest');
SELECT throws_ok($$SELECT * FROM etl.detect_anomalies('anomaly_e', ARRAY['v', 'z'], 'mad')$$,
                 '22004', 'column "z" has only NULL values', 'an all-NULL column');
SELECT throws_ok($$SELECT * FROM etl.detect_anomalies('anomaly_e', ARRAY['z'], 'iqr', '{"nulls": "impute_mean"}')$$,
                 '22004', 'column "z" has only NULL values', 'an all-NULL column cannot be imputed');
SELECT throws_ok($$SELECT * FROM etl.detect_anomalies('anomaly_e', ARRAY['v'], 'lof')$$,
                 '22023', 'unknown anomaly detection method "lof"', 'an unknown method');
SELECT throws_ok($$SELECT * FROM etl.detect_anomalies('anomaly_e', ARRAY['v'], 'zscore', '{"treshold": 2}')$$,
                 '22023', 'unknown option "treshold"', 'an unknown option');
SELECT throws_ok($$SELECT * FROM etl.detect_anomalies('anomaly_e', ARRAY['v'], 'zscore', '{"n_trees": 10}')$$,
                 '22023', 'option "n_trees" does not apply to method zscore', 'an option of another method');
SELECT throws_ok($$SELECT * FROM etl.detect_anomalies('anomaly_e', ARRAY['v'], 'iqr', '{"threshold": 2}')$$,
                 '22023', 'option "threshold" does not apply to method iqr', 'iqr takes k');
SELECT throws_ok($$SELECT * FROM etl.detect_anomalies('anomaly_e', ARRAY['v'], 'isolation_forest', '{"contamination": 0.9}')$$,
                 '22023', 'invalid value for option "contamination"', 'contamination above 0.5');
SELECT throws_ok($$SELECT * FROM etl.detect_anomalies('anomaly_e', ARRAY['v'], 'isolation_forest', '{"contamination": "high"}')$$,
                 '22023', 'invalid value for option "contamination"', 'contamination neither auto nor a fraction');
SELECT throws_ok($$SELECT * FROM etl.detect_anomalies('anomaly_e', ARRAY['v'], 'isolation_forest', '{"n_trees": 0}')$$,
                 '22023', 'invalid value for option "n_trees"', 'zero trees');
SELECT throws_ok($$SELECT * FROM etl.detect_anomalies('anomaly_e', ARRAY['v'], 'isolation_forest', '{"sample_size": 2.5}')$$,
                 '22023', 'invalid value for option "sample_size"', 'a fractional sample size');
SELECT throws_ok($$SELECT * FROM etl.detect_anomalies('anomaly_e', ARRAY['v'], 'zscore', '{"threshold": -1}')$$,
                 '22023', 'invalid value for option "threshold"', 'a negative threshold');
SELECT throws_ok($$SELECT * FROM etl.detect_anomalies('anomaly_e', ARRAY['v'], 'mad', '{"nulls": "drop"}')$$,
                 '22023', 'invalid value for option "nulls"', 'nulls neither skip nor impute_mean');
SELECT throws_ok($$SELECT * FROM etl.detect_anomalies('anomaly_e', ARRAY['v'], 'mad', '[1, 2]')$$,
                 '22023', 'options must be a JSON object', 'options not an object');
SELECT throws_ok($$SELECT * FROM etl.detect_anomalies('anomaly_e', ARRAY[]::text[])$$,
                 '22023', 'columns must name at least one column', 'no columns');
SELECT throws_ok($$SELECT * FROM etl.detect_anomalies('anomaly_e', ARRAY['v', 'v'])$$,
                 '42701', 'column "v" is named twice', 'a column named twice');
SELECT throws_ok($$SELECT * FROM etl.detect_anomalies(NULL, ARRAY['v'])$$,
                 '22004', 'data, columns and method must not be NULL', 'NULL data');
SELECT throws_ok($$SELECT * FROM etl.detect_anomalies('no_such_table', ARRAY['v'])$$,
                 '42P01', 'relation "no_such_table" does not exist', 'an unknown relation');
SELECT throws_ok($$SELECT * FROM etl.detect_anomalies('SELECT v FROM anomaly_e; DROP TABLE anomaly_e', ARRAY['v'])$$,
                 '42601', 'a dataset must be a relation name or one SELECT statement', 'two statements');
SELECT throws_ok($$SELECT * FROM etl.detect_anomalies('WITH g AS (DELETE FROM anomaly_e RETURNING v) SELECT v FROM g', ARRAY['v'])$$,
                 '42601', 'a dataset query must not modify data', 'a data-modifying WITH');
SELECT throws_ok($$SELECT * FROM etl.detect_anomalies('SELECT v INTO anomaly_copy FROM anomaly_e', ARRAY['v'])$$,
                 '42601', 'a dataset query must be a plain SELECT', 'SELECT INTO');
SELECT throws_ok($$SELECT * FROM etl.detect_anomalies('SELECT v FROM anomaly_e WHERE', ARRAY['v'])$$,
                 '42601', NULL, 'a syntax error in the query');

SELECT throws_ok($$SELECT * FROM etl.detect_anomalies('anomaly_e; DROP TABLE anomaly_e', ARRAY['v'])$$,
                 '42601', 'dataset "anomaly_e; DROP TABLE anomaly_e" is neither a relation name nor a query', 'a hostile relation name');
SELECT throws_ok($$SELECT * FROM etl.detect_anomalies('"anomaly_e"', ARRAY['t'], 'zscore')$$,
                 '42804', 'column "t" is not numeric', 'a quoted relation name resolves');

-- the caller's privileges apply to the data
CREATE ROLE anomaly_nobody;
GRANT USAGE ON SCHEMA etl TO anomaly_nobody;
SET LOCAL ROLE anomaly_nobody;
SELECT throws_ok($$SELECT * FROM etl.detect_anomalies('public.anomaly_e', ARRAY['v'])$$,
                 '42501', 'permission denied for table anomaly_e', 'no SELECT privilege, no detection');
RESET ROLE;

SELECT is((SELECT count(*)::int FROM anomaly_e), 20, 'failed calls changed nothing: the table is intact');

SELECT * FROM finish();
ROLLBACK;
