-- 52_quality_aggregates: aggregate rules as gate rules (issue 15): min, max,
-- mean, sum, stddev, median, quantile, distinct_count, proportion_unique,
-- most_common, in the same scan as row rules.  Each: pass, fail, NULL
-- handling, empty data, bad configuration.  Expected values are by hand:
-- x is 1..10 and one NULL (mean 5.5, sum 55, sample stddev 3.0277, median
-- 5.5, p90 9.1 by linear interpolation), cat is a a a b b c NULL.
\set SHOW_CONTEXT never
CREATE FUNCTION pg_temp.err(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    d text;
BEGIN
    EXECUTE sql;
    RETURN 'no error';
EXCEPTION WHEN others THEN
    GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
    RETURN SQLSTATE || ': ' || SQLERRM || coalesce(E'\n  detail: ' || nullif(d, ''), '');
END
$$;
CREATE FUNCTION pg_temp.show(g jsonb)
RETURNS TABLE (rule text, passed boolean, observed text)
LANGUAGE sql AS $$
  SELECT c->>'rule', (c->>'passed')::boolean, c->>'observed' FROM jsonb_array_elements(g->'checks') c
$$;

CREATE TABLE public.q52 (id int PRIMARY KEY, x numeric, cat text, d date);
INSERT INTO q52 VALUES
  (1, 1, 'a', '2024-01-01'), (2, 2, 'a', '2024-01-02'), (3, 3, 'a', '2024-01-03'), (4, 4, 'b', '2024-01-04'),
  (5, 5, 'b', '2024-01-05'), (6, 6, 'c', '2024-01-06'), (7, 7, NULL, NULL), (8, 8, 'c', NULL),
  (9, 9, 'c', NULL), (10, 10, 'd', NULL), (11, NULL, 'e', NULL);

-- every kind passing, bounds by hand (NULLs are left out, as SQL's aggregates do)
SELECT * FROM pg_temp.show(etl.quality_gate('q52', $$[
  {"type": "min", "column": "x", "min": 1, "max": 1},
  {"type": "max", "column": "x", "max": 10},
  {"type": "mean", "column": "x", "min": 5.5, "max": 5.5},
  {"type": "sum", "column": "x", "min": 55, "max": 55},
  {"type": "stddev", "column": "x", "min": 3.02, "max": 3.03},
  {"type": "median", "column": "x", "min": 5.5, "max": 5.5},
  {"type": "quantile", "column": "x", "q": 0.9, "min": 9.1, "max": 9.1},
  {"type": "distinct_count", "column": "cat", "min": 5, "max": 5},
  {"type": "proportion_unique", "column": "x", "min": 1},
  {"type": "most_common", "column": "cat", "in": ["c", "a"]},
  {"type": "min", "column": "d", "min": "2024-01-01"},
  {"type": "max", "column": "d", "max": "2024-01-06"}]$$)) ORDER BY 1;

-- the same kinds failing: strict bounds, a value outside, ties for most common
SELECT * FROM pg_temp.show(etl.quality_gate('q52', $$[
  {"type": "min", "column": "x", "min": 1, "strict_min": true},
  {"type": "max", "column": "x", "max": 9},
  {"type": "mean", "column": "x", "min": 6},
  {"type": "sum", "column": "x", "max": 50},
  {"type": "stddev", "column": "x", "max": 1},
  {"type": "median", "column": "x", "max": 5.5, "strict_max": true},
  {"type": "quantile", "column": "x", "q": 0.25, "min": 4},
  {"type": "distinct_count", "column": "cat", "max": 4},
  {"type": "proportion_unique", "column": "cat", "min": 0.8},
  {"type": "most_common", "column": "cat", "in": ["a"]},
  {"type": "max", "column": "d", "max": "2024-01-05"}]$$)) ORDER BY 1;

-- where: the aggregate over the rows in scope only
SELECT * FROM pg_temp.show(etl.quality_gate('q52', $$[
  {"name": "mean_small", "type": "mean", "column": "x", "max": 3, "where": "x <= 5"},
  {"name": "common_late", "type": "most_common", "column": "cat", "in": ["c"], "where": "id > 5"}]$$));

-- no values (empty data, an all-NULL column): mean, median, sum, quantile and
-- most_common observe nothing and pass; a distinct count of 0 is a value
SELECT * FROM pg_temp.show(etl.quality_gate('SELECT * FROM q52 WHERE false', $$[
  {"type": "mean", "column": "x", "min": 100}, {"type": "median", "column": "x", "min": 100},
  {"type": "distinct_count", "column": "cat", "min": 1}, {"type": "most_common", "column": "cat", "in": ["z"]}]$$));
SELECT * FROM pg_temp.show(etl.quality_gate('SELECT id, NULL::numeric AS x FROM q52', $$[
  {"type": "sum", "column": "x", "min": 1}, {"type": "quantile", "column": "x", "q": 0.5, "max": 0}]$$));

-- approximate: true (median, quantile: a KLL sketch; distinct_count,
-- proportion_unique: HyperLogLog) gives the exact values on small data (the
-- sketch keeps every value below about 200, HyperLogLog is exact this small),
-- passes and fails by the same bounds, and observes nothing on empty data
SELECT * FROM pg_temp.show(etl.quality_gate('q52', $$[
  {"name": "median_a", "type": "median", "column": "x", "min": 5.5, "max": 5.5, "approximate": true},
  {"name": "p90_a", "type": "quantile", "column": "x", "q": 0.9, "min": 9.1, "max": 9.1, "approximate": true},
  {"name": "p25_a", "type": "quantile", "column": "x", "q": 0.25, "min": 4, "approximate": true},
  {"name": "distinct_a", "type": "distinct_count", "column": "cat", "min": 5, "max": 5, "approximate": true},
  {"name": "unique_x_a", "type": "proportion_unique", "column": "x", "min": 1, "approximate": true},
  {"name": "unique_cat_a", "type": "proportion_unique", "column": "cat", "min": 0.8, "approximate": true},
  {"name": "median_late_a", "type": "median", "column": "x", "max": 8, "strict_max": true, "where": "id > 5", "approximate": true}]$$)) ORDER BY 1;
SELECT * FROM pg_temp.show(etl.quality_gate('SELECT * FROM q52 WHERE false', $$[
  {"type": "median", "column": "x", "min": 100, "approximate": true},
  {"type": "distinct_count", "column": "cat", "min": 1, "approximate": true},
  {"type": "proportion_unique", "column": "cat", "min": 1, "approximate": true}]$$)) ORDER BY 1;
SELECT pg_temp.err($q$SELECT etl.quality_gate('q52', '[{"type": "median", "column": "x", "max": 1, "approximate": "yes"}]')$q$);
SELECT pg_temp.err($q$SELECT etl.quality_gate('q52', '[{"type": "mean", "column": "x", "max": 1, "approximate": true}]')$q$);

-- recorded in etl.dq_results with the observed value
SELECT rule_name, rule_type, columns, params, observed, passed
  FROM etl.dq_results WHERE dataset = 'q52' AND rule_name IN ('mean_x', 'quantile_x', 'most_common_cat')
 ORDER BY result_id LIMIT 3;

-- the aggregates are part of the one scan: the table is read once (serial:
-- a parallel scan counts once per participant)
SET max_parallel_workers_per_gather = 0;
SELECT pg_stat_force_next_flush();
SELECT coalesce(seq_scan, 0) AS scans_before FROM pg_stat_user_tables WHERE relname = 'q52' \gset
SELECT (etl.quality_gate('q52', $$[
  {"type": "completeness", "column": "x"}, {"type": "mean", "column": "x", "min": 0},
  {"type": "median", "column": "x", "min": 0}, {"type": "distinct_count", "column": "cat", "min": 0},
  {"type": "most_common", "column": "cat", "in": ["c"]}, {"type": "stddev", "column": "x", "min": 0}]$$))->'passed' AS passed;
SELECT pg_stat_force_next_flush();
SELECT seq_scan - :scans_before AS scans FROM pg_stat_user_tables WHERE relname = 'q52';
RESET max_parallel_workers_per_gather;

-- bad configuration: clear errors with the config path; type mismatches 42804
SELECT pg_temp.err($q$SELECT etl.quality_gate('q52', '[{"type": "mean", "column": "x"}]')$q$);
SELECT pg_temp.err($q$SELECT etl.quality_gate('q52', '[{"type": "mean", "column": "x", "min": "five"}]')$q$);
SELECT pg_temp.err($q$SELECT etl.quality_gate('q52', '[{"type": "quantile", "column": "x", "min": 1}]')$q$);
SELECT pg_temp.err($q$SELECT etl.quality_gate('q52', '[{"type": "quantile", "column": "x", "q": 1.5, "min": 1}]')$q$);
SELECT pg_temp.err($q$SELECT etl.quality_gate('q52', '[{"type": "most_common", "column": "cat"}]')$q$);
SELECT pg_temp.err($q$SELECT etl.quality_gate('q52', '[{"type": "mean", "column": "x", "min": 1, "values": [1]}]')$q$);
SELECT pg_temp.err($q$SELECT etl.quality_gate('q52', '[{"type": "mean", "column": "cat", "min": 1}]')$q$);
SELECT pg_temp.err($q$SELECT etl.quality_gate('q52', '[{"type": "max", "column": "cat", "max": 10}]')$q$);
SELECT pg_temp.err($q$SELECT etl.quality_gate('q52', '[{"type": "median", "column": "nope", "max": 10}]')$q$);
SELECT severity, path, message FROM etl.validate_config($$pipeline:
  id: q52_pipe
  sources: [{id: src, type: postgresql, table: q52}]
  targets: [{id: out, type: postgresql, table: q52_out}]
  quality:
    rules:
      - {type: stddev, column: x, min: 2, max: 1}
      - {type: proportion_unique, column: x, min: 0.5, strict: true}
$$);

-- numeric columns reach float8 aggregates (quantiles, sketches, outliers)
-- through etl._num_float8, which must give the very double of numeric's cast:
-- short and long forms, negative weights, more digits than its fast path takes,
-- NaN and the infinities.  Expected: 0 mismatches.
SELECT count(*) AS mismatches
  FROM (SELECT v FROM unnest('{0, -0, 1, -1, 0.1, 123.456, -9999.9999, 1e-30, 1e30, 12345678901234.5,
                               0.000123456789012345678, 3.14159265358979323846, 1e-140, -1e140,
                               NaN, Infinity, -Infinity}'::numeric[]) v
        UNION ALL SELECT (i * 1.37 - 5000)::numeric(12, 3) FROM generate_series(1, 20000) i
        UNION ALL SELECT (i::numeric / 7) FROM generate_series(1, 2000) i) t
 WHERE etl._num_float8(v) IS DISTINCT FROM v::float8;

DELETE FROM etl.quality_scores WHERE dataset LIKE '%q52%';
DROP TABLE q52;
