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

-- (2) columns named like every internal alias of the one-scan query, old
-- (d, s, b, v, cnt, duplicate_count, u1, a1) and new ("metaetl.r", ...)
CREATE TABLE public.q47_alias (
    id int PRIMARY KEY, d int, s text, b int, v int, n int, k1 text, a1 int, cnt int,
    duplicate_count int, "metaetl.r" int, "metaetl.d" int, "metaetl.b" int, "metaetl.g" int);
INSERT INTO q47_alias
SELECT i, i % 3, 'x' || (i % 2), i, i, i, 'k', i, i, i % 2, i, i, i, i FROM generate_series(1, 6) i;
UPDATE q47_alias SET d = NULL WHERE id = 6;
CREATE TABLE public.q47_ref (code int PRIMARY KEY, "metaetl.f" int);
INSERT INTO q47_ref VALUES (0, 0), (1, 1);
SELECT c->>'rule' AS rule, c->'passed' AS passed, c->'total_rows' AS total, c->'failed_rows' AS failed,
       c->'samples' AS samples
  FROM jsonb_array_elements((etl.quality_gate('q47_alias', $$[
    {"type": "completeness", "column": "d"},
    {"type": "validity", "check": "range", "column": "s", "min": "x1"},
    {"type": "validity", "check": "allowed_values", "column": "b", "values": [1, 2, 3]},
    {"type": "consistency", "expression": "v = n AND a1 = cnt AND \"metaetl.r\" = \"metaetl.d\" AND b = \"metaetl.b\""},
    {"type": "uniqueness", "column": "d"},
    {"type": "uniqueness", "column": "duplicate_count"},
    {"type": "uniqueness", "columns": ["s", "k1"]},
    {"type": "referential", "column": "d", "ref_table": "q47_ref", "ref_column": "code"},
    {"type": "referential", "column": "duplicate_count", "ref_table": "q47_ref", "ref_column": "metaetl.f"},
    {"type": "mean", "column": "a1", "min": 3.5, "max": 3.5},
    {"type": "distinct_count", "column": "s", "min": 2, "max": 2},
    {"type": "column_pair", "check": "equal", "columns": ["v", "n"]},
    {"type": "monotonic", "column": "cnt", "order_by": "\"metaetl.g\""}
  ]$$, options => '{"samples": 3}'))->'checks') c;
-- the profile sees every column under its own name
SELECT e->>'column' AS column, e->'count' AS count, e->'distinct' AS distinct
  FROM jsonb_array_elements((etl.profile('q47_alias', '{"store": false, "approximate": false}'))->'columns') e;
SELECT e->>'column' AS column, e->'count' AS count, e->'distinct' AS distinct
  FROM jsonb_array_elements((etl.profile('q47_alias', '{"store": false, "approximate": true}'))->'columns') e
 WHERE e->>'column' IN ('d', 's', 'metaetl.r');

-- quarantine of a table with a column d: 0.1.0 deleted the failing rows and
-- kept only d's value in row_data; now the whole rows move, nothing else
CREATE TABLE public.q47_stage AS SELECT * FROM q47_alias;
SELECT g->'passed' AS passed, g->'quarantined_rows' AS moved
  FROM etl.quality_gate('q47_stage', '[{"type": "completeness", "column": "d"}, {"type": "validity", "check": "range", "column": "b", "max": 4}]',
                        options => '{"quarantine": "q47_quarantine"}') g;
SELECT rules, row_data FROM q47_quarantine ORDER BY (row_data->>'id')::int;
SELECT count(*) AS rows_left, count(*) FILTER (WHERE d IS NULL OR b > 4) AS failing_left FROM q47_stage;
-- every moved row is intact: the same as its original
SELECT count(*) AS identical FROM q47_quarantine q JOIN q47_alias a ON to_jsonb(a) = q.row_data;

DROP TABLE q47_alias, q47_ref, q47_stage, q47_quarantine;
DELETE FROM etl.quality_scores WHERE dataset IN ('q47_alias', 'q47_stage');
DELETE FROM etl.quality_scores WHERE dataset IN (SELECT unnest(ARRAY['withdrawals', 'with', 'WITH', 'select_x', '"Values"', 'q47."My Table"', 'q47.withdrawals;']))
    OR dataset LIKE '%withdrawals%' OR dataset LIKE '%select_x%' OR dataset LIKE 'VALUES%';
DELETE FROM etl.anomaly_detection WHERE dataset LIKE '%q47%' OR dataset LIKE '%withdrawals%' OR dataset LIKE '%select_x%' OR dataset LIKE 'VALUES%';
DROP SCHEMA q47 CASCADE;
