-- 45_quality_parallel: the quality aggregates combine partial states, so a
-- parallel scan aggregates in its workers and gives the serial results
-- (failed-row counts, bounded samples, moments, HyperLogLog).
CREATE TABLE public.q45 AS
SELECT i AS id, CASE WHEN i % 13 = 0 THEN NULL ELSE 'e' || i END AS email,
       (i * 7919) % 1000 - 20 AS v, ((i * 31) % 977) / 7.0 AS x
  FROM generate_series(1, 60000) i;
ANALYZE q45;
CREATE FUNCTION pg_temp.plan(q text) RETURNS SETOF text LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY EXECUTE 'EXPLAIN (COSTS OFF) ' || q;
END
$$;
\set aggs 'SELECT etl._moments(x::float8) AS m, etl._hll_distinct(v) AS h, etl._failures(''{id}''::text[], 3, id) FILTER (WHERE email IS NULL) AS f FROM q45'

-- serial
SET max_parallel_workers_per_gather = 0;
CREATE TEMP TABLE q45_serial AS :aggs;
CREATE TEMP TABLE q45_gate_serial AS
SELECT etl.quality_gate('q45', '[{"type": "completeness", "column": "email"},
                                 {"type": "validity", "check": "range", "column": "v", "min": 0}]') AS g;

-- parallel, forced
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SELECT count(*) AS partial_aggregates FROM pg_temp.plan(:'aggs') p WHERE p ~ 'Partial Aggregate';
CREATE TEMP TABLE q45_parallel AS :aggs;
CREATE TEMP TABLE q45_gate_parallel AS
SELECT etl.quality_gate('q45', '[{"type": "completeness", "column": "email"},
                                 {"type": "validity", "check": "range", "column": "v", "min": 0}]') AS g;

SELECT abs((p.m->>'mean')::float8 - (s.m->>'mean')::float8) < 1e-9 AS mean_same,
       abs((p.m->>'variance')::float8 - (s.m->>'variance')::float8) < 1e-7 AS variance_same,
       abs((p.m->>'skewness')::float8 - (s.m->>'skewness')::float8) < 1e-9 AS skewness_same,
       abs((p.m->>'kurtosis')::float8 - (s.m->>'kurtosis')::float8) < 1e-9 AS kurtosis_same,
       p.h = s.h AS hll_same, abs(p.h - 1000) < 20 AS hll_close,
       p.f->'n' = s.f->'n' AS failures_same, p.f->'n' AS failures,
       jsonb_array_length(p.f->'samples') AS samples_kept
  FROM q45_parallel p, q45_serial s;
SELECT c->>'rule' AS rule, c->'failed_rows' AS failed_rows,
       c->'failed_rows' = (SELECT c2->'failed_rows' FROM q45_gate_serial, jsonb_array_elements(g->'checks') c2
                            WHERE c2->>'rule' = c->>'rule') AS same_as_serial,
       jsonb_array_length(c->'samples') AS samples
  FROM q45_gate_parallel, jsonb_array_elements(g->'checks') c;

RESET max_parallel_workers_per_gather;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
DELETE FROM etl.quality_scores WHERE dataset = 'q45';
DROP TABLE q45, q45_serial, q45_parallel, q45_gate_serial, q45_gate_parallel;
