-- 41_quality_profile: etl.profile's figures cross-checked against
-- independently written SQL on the same data; HyperLogLog; semantic types;
-- edge cases (empty data, all-NULL column, single row, types without
-- equality); what is stored in etl.profiling_stats.
\set SHOW_CONTEXT never
CREATE TABLE public.q41 AS
SELECT i AS id,
       ((i % 7) * 1.5 - 2)::numeric(6,2) AS x,
       CASE WHEN i % 10 = 0 THEN NULL ELSE ((i * 37) % 101)::float8 + (i % 3) * 0.25 END AS y,
       CASE WHEN i % 5 = 0 THEN '' WHEN i % 3 = 0 THEN NULL ELSE 'v' || (i % 4) || repeat('x', i % 6) END AS t,
       (DATE '2024-01-01' + (i % 40)) AS d
  FROM generate_series(1, 1000) AS i;
INSERT INTO q41 SELECT * FROM q41 WHERE id <= 7;      -- 7 duplicate rows

CREATE TEMP TABLE p41 AS SELECT etl.profile('q41') AS p;
CREATE TEMP VIEW c41 AS
SELECT e->>'column' AS col, e AS m FROM p41, jsonb_array_elements(p->'columns') e;

-- table level
SELECT p->'row_count' = to_jsonb((SELECT count(*) FROM q41)) AS row_count_ok,
       p->'duplicate_rows' = to_jsonb((SELECT count(*) - count(DISTINCT q41.*) FROM q41)) AS duplicates_ok,
       p->'duplicate_rows' AS duplicate_rows
  FROM p41;

-- counts, nulls, distinct, unique, min, max: every column
SELECT c.col,
       (m->>'count')::bigint = s.cnt AS count_ok,
       (m->>'nulls')::bigint = s.nulls AS nulls_ok,
       (m->>'distinct')::bigint = s.dist AS distinct_ok,
       (m->>'unique')::bigint = s.uniq AS unique_ok,
       m->>'min' = s.mn AND m->>'max' = s.mx AS min_max_ok
  FROM c41 c
  CROSS JOIN LATERAL (
    SELECT count(v) AS cnt, count(*) - count(v) AS nulls, count(DISTINCT v) AS dist,
           (SELECT count(*) FROM (SELECT v2 FROM (SELECT to_jsonb(q.*)->>c.col AS v2 FROM q41 q) z
                                   WHERE v2 IS NOT NULL GROUP BY v2 HAVING count(*) = 1) u) AS uniq,
           NULL::text AS mn, NULL::text AS mx
      FROM (SELECT to_jsonb(q.*)->>c.col AS v FROM q41 q) z) s0
  CROSS JOIN LATERAL (
    SELECT s0.cnt, s0.nulls, s0.dist, s0.uniq,
           CASE c.col WHEN 'id' THEN (SELECT min(id)::text FROM q41) WHEN 'x' THEN (SELECT min(x)::text FROM q41)
                      WHEN 'y' THEN (SELECT min(y)::text FROM q41) WHEN 't' THEN (SELECT min(t) FROM q41)
                      WHEN 'd' THEN (SELECT min(d)::text FROM q41) END AS mn,
           CASE c.col WHEN 'id' THEN (SELECT max(id)::text FROM q41) WHEN 'x' THEN (SELECT max(x)::text FROM q41)
                      WHEN 'y' THEN (SELECT max(y)::text FROM q41) WHEN 't' THEN (SELECT max(t) FROM q41)
                      WHEN 'd' THEN (SELECT max(d)::text FROM q41) END AS mx) s
 ORDER BY c.col;

-- moments (sample stddev/variance as pandas), sum, zeros, negatives
SELECT c.col,
       abs((m->>'mean')::float8 - s.mean) < 1e-9 AS mean_ok,
       abs((m->>'stddev')::float8 - s.sd) < 1e-9 AS stddev_ok,
       abs((m->>'variance')::float8 - s.var) < 1e-7 AS variance_ok,
       abs((m->>'skewness')::float8 - s.skew) < 1e-9 AS skewness_ok,
       abs((m->>'kurtosis')::float8 - s.kurt) < 1e-9 AS kurtosis_ok,
       (m->>'sum')::numeric = s.sm AS sum_ok,
       (m->>'zeros')::bigint = s.zeros AND (m->>'negatives')::bigint = s.neg AS zeros_negatives_ok
  FROM c41 c
  CROSS JOIN LATERAL (
    -- independent: two-pass central moments and pandas' bias-corrected formulas
    WITH v AS (SELECT (to_jsonb(q.*)->>c.col)::float8 AS v FROM q41 q WHERE to_jsonb(q.*)->>c.col IS NOT NULL),
         a AS (SELECT count(*)::float8 AS n, avg(v) AS mu, sum(v::numeric) AS sm,
                      count(*) FILTER (WHERE v = 0) AS zeros, count(*) FILTER (WHERE v < 0) AS neg FROM v),
         cm AS (SELECT sum((v - mu) ^ 2) AS m2, sum((v - mu) ^ 3) AS m3, sum((v - mu) ^ 4) AS m4 FROM v, a)
    SELECT mu AS mean, sqrt(m2 / (n - 1)) AS sd, m2 / (n - 1) AS var,
           n * sqrt(n - 1) / (n - 2) * m3 / m2 ^ 1.5 AS skew,
           n * (n + 1) * (n - 1) * m4 / ((n - 2) * (n - 3) * m2 ^ 2) - 3 * (n - 1) ^ 2 / ((n - 2) * (n - 3)) AS kurt,
           sm, zeros, neg
      FROM a, cm) s
 WHERE c.col IN ('id', 'x', 'y')
 ORDER BY c.col;

-- quantiles: linear interpolation between closest ranks (pandas' default), IQR
SELECT c.col, q.p,
       abs((m->'quantiles'->>q.k)::float8 - s.expected) < 1e-9 AS quantile_ok
  FROM c41 c
  CROSS JOIN (VALUES ('p05', 0.05), ('p25', 0.25), ('p50', 0.5), ('p75', 0.75), ('p95', 0.95)) AS q(k, p)
  CROSS JOIN LATERAL (
    WITH v AS (SELECT (to_jsonb(t.*)->>c.col)::float8 AS v,
                      row_number() OVER (ORDER BY (to_jsonb(t.*)->>c.col)::float8) - 1 AS r
                 FROM q41 t WHERE to_jsonb(t.*)->>c.col IS NOT NULL),
         h AS (SELECT (count(*) - 1) * q.p AS h FROM v)
    SELECT (SELECT v FROM v, h WHERE r = floor(h.h))
           + (h.h - floor(h.h)) * ((SELECT v FROM v, h WHERE r = ceil(h.h)) - (SELECT v FROM v, h WHERE r = floor(h.h)))
             AS expected
      FROM h) s
 WHERE c.col IN ('x', 'y')
 ORDER BY 1, 2;
SELECT (m->>'iqr')::float8 = (m->'quantiles'->>'p75')::float8 - (m->'quantiles'->>'p25')::float8 AS iqr_ok
  FROM c41 WHERE col = 'y';

-- histogram: 10 equal-width bins over [min, max], last bin closed (numpy's)
SELECT m->'histogram'->'counts' = (
         SELECT jsonb_agg(coalesce(n, 0) ORDER BY b)
           FROM generate_series(1, 10) b
           LEFT JOIN (SELECT least(width_bucket(y, (SELECT min(y) FROM q41), (SELECT max(y) FROM q41), 10), 10) AS bin,
                             count(*) AS n
                        FROM q41 WHERE y IS NOT NULL GROUP BY 1) h ON h.bin = b) AS histogram_ok,
       (SELECT sum(x::int) FROM jsonb_array_elements_text(m->'histogram'->'counts') x) = (m->>'count')::int AS histogram_total_ok
  FROM c41 WHERE col = 'y';

-- top values: the 10 most frequent, ties by value
SELECT m->'top_values' = (SELECT jsonb_agg(jsonb_build_object('value', d, 'count', n) ORDER BY n DESC, d)
                            FROM (SELECT d, count(*) AS n FROM q41 GROUP BY d ORDER BY 2 DESC, 1 LIMIT 10) s) AS top_values_ok,
       jsonb_array_length(m->'top_values') AS top_n
  FROM c41 WHERE col = 'd';

-- text: blanks and lengths
SELECT (m->>'blanks')::bigint = (SELECT count(*) FROM q41 WHERE btrim(t) = '') AS blanks_ok,
       (m->>'min_length')::int = (SELECT min(length(t)) FROM q41) AS min_length_ok,
       (m->>'max_length')::int = (SELECT max(length(t)) FROM q41) AS max_length_ok,
       (m->>'avg_length')::numeric = (SELECT round(avg(length(t)), 3) FROM q41) AS avg_length_ok
  FROM c41 WHERE col = 't';

-- approximate distinct counts (HyperLogLog, C) stay within 2%
CREATE TEMP TABLE q41_big AS SELECT i, (i % 50000)::text AS s, md5(i::text) AS h FROM generate_series(1, 200000) i;
SELECT e->>'column' AS col, abs((e->>'distinct')::numeric / x.exact - 1) < 0.02 AS within_2pct,
       e->'distinct_approx' AS approx, e->'top_values' AS top_values
  FROM jsonb_array_elements(etl.profile('q41_big', '{"approx": true, "store": false}')->'columns') e
  JOIN (VALUES ('i', 200000), ('s', 50000), ('h', 200000)) AS x(col, exact) ON x.col = e->>'column'
 ORDER BY 1;

-- semantic types inferred from text (95% of the non-blank values match)
CREATE TEMP TABLE q41_sem AS
SELECT i::text AS int_text, (DATE '2024-01-01' + i)::text AS date_text,
       to_char(TIMESTAMP '2024-01-01' + i * interval '1 hour', 'YYYY-MM-DD"T"HH24:MI:SS') AS ts_text,
       'user' || i || '@example.com' AS email, md5(i::text)::uuid::text AS id_text,
       'https://example.com/p/' || i AS link, '+49 30 1234' || lpad(i::text, 3, '0') AS phone,
       json_build_object('k', i)::text AS doc,
       CASE WHEN i <= 90 THEN i::text ELSE 'n/a' END AS mostly_int, 'word' || i AS word
  FROM generate_series(1, 100) i;
SELECT e->>'column' AS col, e->>'semantic_type' AS semantic_type, e->'semantic_match_pct' AS match_pct
  FROM jsonb_array_elements(etl.profile('q41_sem', '{"store": false}')->'columns') e;

-- non-text, non-numeric types: boolean, uuid, json (no equality), timestamptz, interval
SELECT e->>'column' AS col, e->>'data_type' AS data_type, e->'count' AS count, e->'distinct' AS distinct,
       e->'min' AS min, e->'max' AS max, e->>'semantic_type' AS semantic_type
  FROM jsonb_array_elements(etl.profile(
    $$SELECT i % 2 = 0 AS flag, md5(i::text)::uuid AS u, json_build_object('a', i % 3) AS j,
             interval '1 day' * i AS span
        FROM generate_series(1, 6) i$$, '{"store": false}')->'columns') e;

-- edge cases: empty data, an all-NULL column, a single row
SELECT jsonb_pretty(etl.profile('SELECT 1::int AS a, NULL::text AS b LIMIT 0', '{"store": false}'));
SELECT jsonb_pretty(etl.profile('SELECT NULL::int AS a, NULL::text AS b FROM generate_series(1, 3)', '{"store": false}'));
SELECT jsonb_pretty(etl.profile('SELECT 42::int AS a', '{"store": false, "top_n": 0}'));

-- a wide dataset (120 columns: more than a function's 100 arguments)
DO $$
BEGIN
    EXECUTE (SELECT format('CREATE TEMP TABLE q41_wide AS SELECT %s FROM generate_series(1, 3) AS i',
                           string_agg(format('CASE WHEN i = %s %% 3 THEN NULL ELSE i * %s END AS c%s', n, n, n), ', '))
               FROM generate_series(1, 120) AS n);
END
$$;
SELECT jsonb_array_length(p->'columns') AS columns, p->'columns'->119->>'column' AS last_column,
       p->'columns'->119->'count' AS last_count, p->'columns'->119->'nulls' AS last_nulls
  FROM (SELECT etl.profile('q41_wide', '{"store": false}') AS p) x;
SELECT c->>'rule' AS rule, c->'failed_rows' AS failed, c->'total_rows' AS total,
       (SELECT count(*) FROM jsonb_object_keys(c->'samples'->0)) AS sample_columns
  FROM jsonb_array_elements((etl.quality_gate('q41_wide', $$[
         {"type": "validity", "check": "range", "column": "c120", "min": 0, "max": 200},
         {"name": "never", "type": "consistency", "expression": "1 = 2"}]$$))->'checks') c;
DELETE FROM etl.quality_scores WHERE dataset = 'q41_wide';
DROP TABLE q41_wide;

-- stored: one table-level row plus one row per column
SELECT column_name, data_type, row_count, metrics ? 'count' AS has_count
  FROM etl.profiling_stats WHERE dataset = 'q41' ORDER BY stat_id;

-- bad input
-- errors as SQLSTATE: message
CREATE FUNCTION pg_temp.err(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE sql;
    RETURN 'no error';
EXCEPTION WHEN others THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;
SELECT pg_temp.err($q$SELECT etl.profile('q41_missing')$q$);
SELECT pg_temp.err($q$SELECT etl.profile('q41', '{"aprox": true}')$q$);
SELECT pg_temp.err($q$SELECT etl.profile('q41', '{"top_n": -1}')$q$);
SELECT pg_temp.err($q$SELECT etl.profile('INSERT INTO q41 VALUES (1)')$q$);

DELETE FROM etl.profiling_stats WHERE dataset = 'q41';
DROP VIEW c41;
DROP TABLE q41, p41, q41_big, q41_sem;
