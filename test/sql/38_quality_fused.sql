-- 38_quality_fused: the aggregate rules of one scope share one aggregate call
-- per row (etl._colstats, src/quality/colstats.c).  Each statistic must be
-- what the aggregate it replaced gives: PostgreSQL's own min, max, sum, avg,
-- stddev_samp(x::float8), etl._kll, etl._hll_distinct and etl._freq, over
-- integers, numerics (NaN included), floats and text, with NULLs, a FILTER,
-- no rows, and in a parallel scan (partial states combined).
\set SHOW_CONTEXT never
CREATE FUNCTION pg_temp.show(g jsonb)
RETURNS TABLE (rule text, passed boolean, observed text)
LANGUAGE sql AS $$
  SELECT c->>'rule', (c->>'passed')::boolean, c->>'observed' FROM jsonb_array_elements(g->'checks') c
$$;
CREATE FUNCTION pg_temp.plan(q text) RETURNS SETOF text LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY EXECUTE 'EXPLAIN (COSTS OFF) ' || q;
END
$$;

CREATE TABLE public.q38 AS
SELECT i AS id,
       (i % 300 - 150)::int2 AS s,
       CASE WHEN i % 11 = 0 THEN NULL ELSE (i * 7919) % 1000 - 20 END AS v,
       i::int8 * 1000003 AS big,
       CASE WHEN i % 17 = 0 THEN NULL ELSE round(((i * 31) % 977) / 7.0, 3) END AS x,
       ((i * 17) % 1000) / 999.0 AS score,
       (((i * 13) % 101) / 3.0)::float8 AS f,
       CASE WHEN i % 7 = 0 THEN NULL ELSE (ARRAY['DE', 'FR', 'IT', 'XX'])[1 + i % 4] END AS cat,
       lpad((i % 4999)::text, 5, '0') AS zip
  FROM generate_series(1, 40000) i;
ANALYZE q38;

-- the fused aggregate against the aggregates it replaces, serially
SET max_parallel_workers_per_gather = 0;
\set fused 'SELECT etl._colstats(ARRAY[7, 3, 3, 7, 31, 12, 12, 16, 2, 6, 100, 0, 6, 0, -1]::int4[], s, v, big, x, score, f, cat, ''{DE,FR}''::text[]) AS m, min(s) AS s_min, max(s) AS s_max, avg(s) AS s_avg, sum(s) AS s_sum, min(v) AS v_min, max(v) AS v_max, avg(v) AS v_avg, sum(v) AS v_sum, min(big) AS b_min, max(big) AS b_max, avg(big) AS b_avg, sum(big) AS b_sum, stddev_samp(big::float8) AS b_sd, min(x) AS x_min, max(x) AS x_max, avg(x) AS x_avg, sum(x) AS x_sum, stddev_samp(etl._num_float8(x)) AS x_sd, etl._kll(etl._num_float8(x)) AS x_kll, etl._hll_distinct(x) AS x_hll, count(x) AS x_n, stddev_samp(etl._num_float8(score)) AS sc_sd, etl._kll(etl._num_float8(score)) AS sc_kll, stddev_samp(f) AS f_sd, etl._kll(f) AS f_kll, etl._hll_distinct(cat) AS c_hll, etl._freq(cat, 100, ''{DE,FR}''::text[]) AS c_freq, etl._freq(cat, 0, NULL::text[]) AS c_dist FROM q38'
CREATE TEMP TABLE q38_serial AS :fused;
SELECT (m->'c'->0->>'min')::numeric = s_min AS s_min, (m->'c'->0->>'max')::numeric = s_max AS s_max,
       (m->'c'->0->>'mean')::numeric = s_avg AND (m->'c'->0->>'mean') = s_avg::text AS s_avg,
       (m->'c'->0->>'sum')::numeric = s_sum AS s_sum,
       (m->'c'->1->>'min')::numeric = v_min AS v_min, (m->'c'->1->>'max')::numeric = v_max AS v_max,
       (m->'c'->1->>'mean') = v_avg::text AS v_avg, (m->'c'->1->>'sum')::numeric = v_sum AS v_sum,
       (m->'c'->1->>'n')::int8 = 40000 - 40000 / 11 AS v_n,
       (m->'c'->2->>'min')::numeric = b_min AND (m->'c'->2->>'max')::numeric = b_max AS big_min_max,
       (m->'c'->2->>'mean') = b_avg::text AND (m->'c'->2->>'sum') = b_sum::text AS big_avg_sum,
       (m->'c'->2->>'stddev') = b_sd::numeric::text AS big_stddev,
       (m->'c'->3->>'min') = x_min::text AND (m->'c'->3->>'max') = x_max::text AS x_min_max,
       (m->'c'->3->>'mean') = x_avg::text AND (m->'c'->3->>'sum') = x_sum::text AS x_avg_sum,
       (m->'c'->3->>'stddev') = x_sd::numeric::text AS x_stddev,
       m->'c'->3->'kll' = x_kll AS x_kll, (m->'c'->3->>'hll')::int8 = x_hll AS x_hll,
       (m->'c'->3->>'n')::int8 = x_n AS x_n,
       (m->'c'->4->>'stddev') = sc_sd::numeric::text AND m->'c'->4->'kll' = sc_kll AS score,
       (m->'c'->5->>'stddev') = f_sd::numeric::text AND m->'c'->5->'kll' = f_kll AS float,
       (m->'c'->6->>'hll')::int8 = c_hll AS cat_hll,
       m->'f'->0 = c_freq AS cat_freq, m->'f'->1 = c_dist AS cat_distinct,
       jsonb_array_length(m->'c') AS columns, jsonb_array_length(m->'f') AS frequency_tables
  FROM q38_serial;

-- parallel, forced: the workers' states combined give the serial statistics
-- (the sketch is merged, not rebuilt: same count, min and max, quantiles
-- within its rank error)
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SELECT count(*) AS partial_aggregates FROM pg_temp.plan(:'fused') p WHERE p ~ 'Partial Aggregate';
CREATE TEMP TABLE q38_parallel AS :fused;
SELECT (SELECT bool_and((p.m->'c'->i) - 'kll' - 'stddev' = (s.m->'c'->i) - 'kll' - 'stddev')
          FROM generate_series(0, 6) i) AS exact_statistics_same,
       (SELECT bool_and(abs((p.m->'c'->i->>'stddev')::float8 - (s.m->'c'->i->>'stddev')::float8)
                        <= 1e-9 * (s.m->'c'->i->>'stddev')::float8)
          FROM generate_series(0, 5) i WHERE s.m->'c'->i ? 'stddev') AS stddev_same,
       p.m->'f' = s.m->'f' AS frequencies_same,
       (SELECT bool_and(p.m->'c'->i->'kll'->'n' = s.m->'c'->i->'kll'->'n'
                        AND p.m->'c'->i->'kll'->'min' = s.m->'c'->i->'kll'->'min'
                        AND p.m->'c'->i->'kll'->'max' = s.m->'c'->i->'kll'->'max')
          FROM generate_series(0, 5) i WHERE s.m->'c'->i ? 'kll') AS sketch_counts_same
  FROM q38_parallel p, q38_serial s;

-- the gate: serial and parallel give the same checks, each observed value
-- that of the aggregate (the approximate ones within their error bounds)
\set rules '[{"type": "min", "column": "v", "min": -20}, {"type": "max", "column": "v", "max": 979}, {"type": "mean", "column": "x", "min": 60, "max": 80}, {"type": "sum", "column": "big", "min": 0}, {"type": "stddev", "column": "score", "max": 1}, {"type": "stddev", "column": "s", "max": 100}, {"type": "min", "column": "s", "min": -150}, {"type": "median", "column": "x", "approximate": true, "min": 60, "max": 80}, {"type": "quantile", "column": "score", "q": 0.9, "approximate": true, "min": 0.88, "max": 0.92}, {"type": "distinct_count", "column": "cat", "approximate": true, "min": 4, "max": 4}, {"type": "proportion_unique", "column": "zip", "approximate": true, "max": 0.2}, {"type": "distinct_count", "column": "zip", "min": 4999, "max": 4999}, {"type": "most_common", "column": "cat", "in": ["DE", "FR", "IT", "XX"]}, {"type": "distinct_values", "column": "cat", "equals": ["DE", "FR", "IT", "XX"]}, {"type": "mean", "column": "f", "max": 100}]'
CREATE TEMP TABLE q38_gate_parallel AS SELECT etl.quality_gate('q38', :'rules') AS g;
RESET max_parallel_workers_per_gather;
SET max_parallel_workers_per_gather = 0;
CREATE TEMP TABLE q38_gate_serial AS SELECT etl.quality_gate('q38', :'rules') AS g;
SELECT * FROM pg_temp.show((SELECT g FROM q38_gate_serial)) ORDER BY 1;
-- exact statistics are the same; float sums depend on the order of the
-- additions (PostgreSQL's own avg(float8) and stddev_samp in parallel too)
-- and a merged sketch is not the serial one: those agree within bounds
SELECT s.rule, s.observed = p.observed AS same_observed, s.passed = p.passed AS same_result
  FROM pg_temp.show((SELECT g FROM q38_gate_serial)) s
  JOIN pg_temp.show((SELECT g FROM q38_gate_parallel)) p USING (rule)
 WHERE (s.observed IS DISTINCT FROM p.observed AND s.rule NOT IN ('mean_f', 'stddev_score', 'median_x', 'quantile_score'))
    OR s.passed IS DISTINCT FROM p.passed;
SELECT s.rule, abs(s.observed::numeric - p.observed::numeric) <= CASE WHEN s.rule IN ('median_x', 'quantile_score')
         THEN 0.02 * 140 ELSE 1e-12 * abs(s.observed::numeric) END AS within_bounds
  FROM pg_temp.show((SELECT g FROM q38_gate_serial)) s
  JOIN pg_temp.show((SELECT g FROM q38_gate_parallel)) p USING (rule)
 WHERE s.rule IN ('mean_f', 'stddev_score', 'median_x', 'quantile_score') ORDER BY 1;
SELECT avg(v)::text AS mean_v, min(v) AS min_v, max(v) AS max_v, avg(x)::text AS mean_x, sum(big) AS sum_big,
       stddev_samp(etl._num_float8(score))::numeric AS stddev_score, stddev_samp(s) AS stddev_s,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY x) AS median_x,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY score) AS p90_score
  FROM q38;

-- no row (empty table, a where that keeps none): the empty values of the
-- aggregates replaced (NULL mean, min and max, 0 distinct, an empty sketch)
CREATE TABLE public.q38_empty (LIKE q38);
SELECT * FROM pg_temp.show(etl.quality_gate('q38_empty', '[{"type": "min", "column": "v", "min": 0}, {"type": "mean", "column": "x", "max": 1},
  {"type": "stddev", "column": "score", "max": 1}, {"type": "median", "column": "x", "approximate": true, "min": 0},
  {"type": "distinct_count", "column": "cat", "approximate": true, "min": 1}, {"type": "distinct_count", "column": "cat", "min": 1},
  {"type": "proportion_unique", "column": "zip", "approximate": true, "max": 0.5}]')) ORDER BY 1;
SELECT * FROM pg_temp.show(etl.quality_gate('q38', '[{"type": "min", "column": "v", "where": "id < 0", "min": 0},
  {"type": "mean", "column": "x", "where": "id < 0", "max": 1},
  {"type": "distinct_count", "column": "cat", "approximate": true, "where": "id < 0", "min": 1},
  {"type": "mean", "column": "x", "where": "id <= 2", "min": 6.64, "max": 6.65, "name": "mean_x_first_two"},
  {"type": "max", "column": "v", "where": "id <= 2", "max": 15818, "name": "max_v_first_two"}]')) ORDER BY 1;
SELECT avg(x) AS mean_x_first_two, max(v) AS max_v_first_two FROM q38 WHERE id <= 2;

-- numerics with NaN: min, max and mean as PostgreSQL's (NaN sorts above every number)
CREATE TABLE public.q38_nan (id int, x numeric);
INSERT INTO q38_nan VALUES (1, 2.5), (2, 'NaN'), (3, -1), (4, NULL);
SELECT * FROM pg_temp.show(etl.quality_gate('q38_nan', '[{"type": "min", "column": "x", "min": -1}, {"type": "max", "column": "x", "max": 3},
  {"type": "mean", "column": "x", "max": 3}, {"type": "sum", "column": "x", "min": 0}]')) ORDER BY 1;
SELECT min(x), max(x), avg(x), sum(x) FROM q38_nan;
SELECT etl._colstats(ARRAY[1, 3, 0]::int4[], x) AS fused FROM q38_nan;
SELECT etl._colstats(ARRAY[1, 3, 0]::int4[], x) IS NULL AS no_row_is_null FROM q38_nan WHERE false;

-- exact sums: small numerics are added as integers at the sum's scale,
-- the rest (long or finely scaled numbers, infinities) as numerics; the sum
-- and mean are numeric_sum's and numeric_avg's, scale included
CREATE TABLE public.q38_mix (id int, x numeric);
INSERT INTO q38_mix VALUES (1, 1.5), (2, 2.25), (3, 3), (4, 12345678901234567890.123), (5, 0.00), (6, -7.125),
  (7, 1e-20), (8, 99999999999999.99), (9, NULL), (10, -0.5000);
SELECT (f->'c'->0->>'sum') = sum(x)::text AS sum_same, (f->'c'->0->>'mean') = avg(x)::text AS mean_same,
       f->'c'->0->>'sum' AS sum, f->'c'->0->>'mean' AS mean
  FROM q38_mix, (SELECT etl._colstats(ARRAY[1, 2, 0]::int4[], x) AS f FROM q38_mix) m GROUP BY f;
SELECT (f->'c'->0->>'sum') = sum(x)::text AND (f->'c'->0->>'mean') = avg(x)::text AS small_only_same
  FROM q38_mix, (SELECT etl._colstats(ARRAY[1, 2, 0]::int4[], x) AS f FROM q38_mix WHERE id IN (1, 2, 3, 5, 6, 10)) m
 WHERE id IN (1, 2, 3, 5, 6, 10) GROUP BY f;
INSERT INTO q38_mix VALUES (11, 'Infinity');
SELECT f->'c'->0->>'sum' AS sum_with_infinity, f->'c'->0->>'mean' AS mean_with_infinity, sum(x) = 'Infinity' AND avg(x) = 'Infinity' AS as_postgres
  FROM q38_mix, (SELECT etl._colstats(ARRAY[1, 2, 0]::int4[], x) AS f FROM q38_mix) m GROUP BY f;

-- exact quantiles ride on the fused call too: every non-NaN value as the
-- float8 etl._quantiles keeps (infinities included), its quantiles, in the
-- order asked, serially and in a parallel scan; no value gives []
SET max_parallel_workers_per_gather = 0;
\set quant 'SELECT etl._colstats(ARRAY[3, 32, 32, 36, 0, 3, 0, 0, 1, 1, 2, 2]::int4[], x, f, score, ''{0.5,0.1,1,0}''::float8[], ''{0.9}''::float8[], ''{0.75,0.25}''::float8[]) AS m, etl._quantiles(etl._num_float8(x), ''{0.5,0.1,1,0}'') AS xq, etl._quantiles(f, ''{0.9}'') AS fq, etl._quantiles(etl._num_float8(score), ''{0.75,0.25}'') AS sq, stddev_samp(etl._num_float8(score)) AS sd FROM q38'
CREATE TEMP TABLE q38_quant AS :quant;
SELECT (SELECT bool_and(m->'q'->0->>(i - 1) = xq[i]::numeric::text) FROM generate_series(1, 4) i) AS x_quantiles,
       m->'q'->1->>0 = fq[1]::numeric::text AS f_quantile,
       m->'q'->2->>0 = sq[1]::numeric::text AND m->'q'->2->>1 = sq[2]::numeric::text AS score_quantiles,
       m->'c'->2->>'stddev' = sd::numeric::text AS stddev_alongside,
       m->'q' AS quantiles
  FROM q38_quant;
SELECT percentile_cont(ARRAY[0.5, 0.1, 1, 0]) WITHIN GROUP (ORDER BY x) AS x_percentile_cont FROM q38;
SET max_parallel_workers_per_gather = 2;
SELECT count(*) AS partial_aggregates FROM pg_temp.plan(:'quant') p WHERE p ~ 'Partial Aggregate';
SELECT p.m->'q' = s.m->'q' AS parallel_quantiles_same FROM (:quant) p, q38_quant s;
SET max_parallel_workers_per_gather = 0;
INSERT INTO q38_nan VALUES (5, 'Infinity'), (6, 7);
SELECT m->'q' AS with_nan_and_infinity, m->'q'->0 = to_jsonb(ARRAY(SELECT v::numeric FROM unnest(q) v)) AS as_quantiles
  FROM (SELECT etl._colstats(ARRAY[1, 32, 0, 1, 0, 0]::int4[], x, '{0,0.5,0.9}'::float8[]) AS m,
               etl._quantiles(etl._num_float8(x), '{0,0.5,0.9}') AS q FROM q38_nan) t;
SELECT etl._colstats(ARRAY[1, 32, 0, 1, 0, 0]::int4[], x, '{0.5}'::float8[]) AS only_nulls FROM q38_nan WHERE x IS NULL;
SELECT etl._colstats(ARRAY[1, 32, 0, 1, 0, 0]::int4[], x, '{1.5}'::float8[]) FROM q38_nan;
-- the gate's exact median and quantile rules read them: percentile_cont's values
SELECT * FROM pg_temp.show(etl.quality_gate('q38', '[{"type": "median", "column": "x", "min": 60, "max": 80},
  {"type": "quantile", "column": "score", "q": 0.9, "min": 0.88, "max": 0.92},
  {"type": "median", "column": "v", "where": "id <= 10", "min": 534.5, "max": 534.5, "name": "median_v_first_ten"},
  {"type": "median", "column": "v", "where": "id < 0", "min": 0, "name": "median_v_no_row"}]')) ORDER BY 1;
SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY v) FILTER (WHERE id <= 10) AS median_v_first_ten FROM q38;

DROP TABLE q38, q38_empty, q38_nan, q38_mix;
