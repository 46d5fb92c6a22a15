-- 57_quality_sketches: the approximate profile (etl.profile with
-- approximate, the default from 100,000 estimated rows) against the exact
-- one on the same data, within the documented error bounds: distinct
-- counts by HyperLogLog (0.81% standard error; checked at 3 sigma, 2.5%),
-- exact below 4,096 distinct values; quantiles by a KLL sketch (rank error
-- at most 1.33%); histogram counts that add up; duplicate rows exact.
-- The sketches are kept in etl.profiling_stats for drift rules.
CREATE TABLE public.q57 AS
SELECT i AS id, (i * 7919) % 110000 AS k, ((i * 37) % 1000) / 10.0 AS x,
       exp(((i * 13) % 1000) / 200.0) AS skewed, (ARRAY['a', 'b', 'c'])[1 + i % 3] AS cat
  FROM generate_series(1, 120000) i;
INSERT INTO q57 SELECT * FROM q57 WHERE id <= 5;   -- 5 duplicate rows
ANALYZE q57;

-- the default from 100,000 estimated rows is approximate; a small query is exact
SELECT (etl.profile('q57', '{"store": false}'))->'approximate' AS big_default,
       (etl.profile('SELECT * FROM q57 WHERE id <= 1000', '{"store": false}'))->'approximate' AS small_default;

CREATE TEMP TABLE q57_p AS
SELECT etl.profile('q57', '{"approximate": true}') AS pa, etl.profile('q57', '{"approximate": false, "store": false}') AS pe;
CREATE TEMP TABLE q57_a AS SELECT x->>'column' AS col, x AS e FROM q57_p, jsonb_array_elements(pa->'columns') x;
CREATE TEMP TABLE q57_e AS SELECT x->>'column' AS col, x AS e FROM q57_p, jsonb_array_elements(pe->'columns') x;

-- distinct counts
SELECT a.col, (e.e->>'distinct')::bigint AS exact, a.e->'distinct_approx' AS approx,
       abs((a.e->>'distinct')::numeric / (e.e->>'distinct')::numeric - 1) <= 0.025 AS within_bound
  FROM q57_a a JOIN q57_e e USING (col) ORDER BY a.col;

-- quantiles: the true rank of each approximate quantile is within 1.33%
CREATE TEMP TABLE q57_long AS
SELECT 'x' AS col, x::float8 AS v FROM q57 UNION ALL SELECT 'skewed', skewed FROM q57 UNION ALL SELECT 'k', k FROM q57;
SELECT a.col, q.key AS quantile,
       abs((SELECT count(*) FILTER (WHERE l.v <= q.value::float8)::float8 / count(*) FROM q57_long l WHERE l.col = a.col)
           - substr(q.key, 2)::float8 / 100) <= 0.0133 AS rank_within_bound
  FROM q57_a a, jsonb_each_text(a.e->'quantiles') q
 WHERE a.col IN ('x', 'skewed', 'k')
 ORDER BY 1, 2;

-- moments and bounds are exact (one pass), lengths too; histograms add up
SELECT a.col,
       round((a.e->>'mean')::numeric, 6) = round((e.e->>'mean')::numeric, 6) AS mean_ok,
       round((a.e->>'stddev')::numeric, 6) = round((e.e->>'stddev')::numeric, 6) AS stddev_ok,
       a.e->'min' = e.e->'min' AND a.e->'max' = e.e->'max' AS min_max_ok,
       (SELECT sum(c::bigint) FROM jsonb_array_elements_text(a.e->'histogram'->'counts') c) = (a.e->>'count')::bigint AS histogram_sums
  FROM q57_a a JOIN q57_e e USING (col) WHERE a.col IN ('x', 'skewed', 'k') ORDER BY 1;
SELECT a.e->'top_values' = e.e->'top_values' AS exact_top_values_below_4096,
       a.e->'semantic_type' AS semantic_type, a.e->'avg_length' = e.e->'avg_length' AS lengths_ok
  FROM q57_a a JOIN q57_e e USING (col) WHERE a.col = 'cat';
SELECT pa->'duplicate_rows' AS approx_dups, pe->'duplicate_rows' AS exact_dups FROM q57_p;

-- what drift rules need is stored with the profile: a sketch of each number
-- column, the 100 most frequent values of each column
SELECT column_name, metrics ? 'sketch' AS has_sketch, jsonb_array_length(metrics->'frequencies'->'values') AS frequent_values,
       (metrics->'sketch'->>'n')::bigint AS sketched
  FROM etl.profiling_stats WHERE dataset = 'q57' AND column_name IS NOT NULL ORDER BY stat_id;
-- and it stays small: a few hundred values per column whatever the rows
SELECT max(pg_column_size(metrics)) < 20000 AS small FROM etl.profiling_stats WHERE dataset = 'q57';

-- gate rules with approximate: true use the same sketches: a median or
-- quantile whose true rank is within 1.33% of q, distinct counts and
-- proportion_unique within 2.5% of the exact ones (the exact rules alongside)
CREATE TEMP TABLE q57_g AS
SELECT c->>'rule' AS rule, (c->>'observed')::float8 AS observed, (c->>'passed')::boolean AS passed
  FROM jsonb_array_elements(etl.quality_gate('q57', $$[
    {"name": "median_a", "type": "median", "column": "x", "min": 0, "approximate": true},
    {"name": "p90_a", "type": "quantile", "column": "skewed", "q": 0.9, "min": 0, "approximate": true},
    {"name": "p10_a", "type": "quantile", "column": "k", "q": 0.1, "min": 0, "approximate": true},
    {"name": "distinct_a", "type": "distinct_count", "column": "k", "min": 1, "approximate": true},
    {"name": "distinct_e", "type": "distinct_count", "column": "k", "min": 1},
    {"name": "unique_a", "type": "proportion_unique", "column": "k", "min": 0, "approximate": true},
    {"name": "unique_e", "type": "proportion_unique", "column": "k", "min": 0},
    {"name": "median_bound_a", "type": "median", "column": "x", "max": 10, "severity": "warn", "approximate": true}
  ]$$)->'checks') c;
SELECT abs((SELECT count(*) FILTER (WHERE x <= (SELECT observed FROM q57_g WHERE rule = 'median_a'))::float8 / count(*) FROM q57) - 0.5) <= 0.0133 AS median_rank_ok,
       abs((SELECT count(*) FILTER (WHERE skewed <= (SELECT observed FROM q57_g WHERE rule = 'p90_a'))::float8 / count(*) FROM q57) - 0.9) <= 0.0133 AS p90_rank_ok,
       abs((SELECT count(*) FILTER (WHERE k <= (SELECT observed FROM q57_g WHERE rule = 'p10_a'))::float8 / count(*) FROM q57) - 0.1) <= 0.0133 AS p10_rank_ok,
       abs((SELECT observed FROM q57_g WHERE rule = 'distinct_a') / (SELECT observed FROM q57_g WHERE rule = 'distinct_e') - 1) <= 0.025 AS distinct_ok,
       abs((SELECT observed FROM q57_g WHERE rule = 'unique_a') / (SELECT observed FROM q57_g WHERE rule = 'unique_e') - 1) <= 0.025 AS unique_ok,
       (SELECT passed FROM q57_g WHERE rule = 'median_bound_a') AS median_bound_passed;

DELETE FROM etl.profiling_stats WHERE dataset = 'q57';
DELETE FROM etl.quality_scores WHERE dataset = 'q57';
DROP TABLE q57;
