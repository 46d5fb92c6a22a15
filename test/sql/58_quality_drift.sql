-- 58_quality_drift: drift rules compare this run's distribution of a column
-- with the last stored profile (in a pipeline: of its last successful run):
-- ks (KLL sketches), chi2 and psi (category counts; psi on numbers over the
-- reference's deciles).  No reference yet: the rule passes and keeps this
-- run's distribution.  No peer tool does this inside the database.
\set SHOW_CONTEXT never
CREATE FUNCTION pg_temp.err(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE sql;
    RETURN 'no error';
EXCEPTION WHEN others THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;
CREATE FUNCTION pg_temp.drift(data text)
RETURNS TABLE (rule text, passed boolean, has_reference boolean, statistic numeric)
LANGUAGE sql AS $$
  SELECT c->>'rule', (c->>'passed')::boolean, c->'observed'->'reference' <> 'null',
         round((c->'observed'->>'statistic')::numeric, 1)
    FROM jsonb_array_elements((etl.quality_gate(data, $r$[
      {"name": "v_ks", "type": "drift", "column": "v", "method": "ks"},
      {"name": "v_psi", "type": "drift", "column": "v", "method": "psi", "threshold": 0.2},
      {"name": "cat_chi2", "type": "drift", "column": "cat", "method": "chi2", "threshold": 0.01},
      {"name": "cat_psi", "type": "drift", "column": "cat", "method": "psi"}]$r$))->'checks') c
$$;

CREATE TABLE public.q58 AS
SELECT i AS id, ((i * 7919) % 10000) / 100.0 AS v, (ARRAY['a', 'b', 'c', 'a'])[1 + i % 4] AS cat
  FROM generate_series(1, 20000) i;

-- 1. the first evaluation has no reference: passes, keeps the distribution
SELECT * FROM pg_temp.drift('q58');
SELECT column_name, metrics ? 'sketch' AS sketch, metrics ? 'frequencies' AS frequencies
  FROM etl.profiling_stats WHERE dataset = 'q58' ORDER BY stat_id;
-- 2. the same data: no drift
SELECT * FROM pg_temp.drift('q58');
-- 3. a small change (1% of the rows): still no drift
UPDATE q58 SET v = v + 1, cat = 'b' WHERE id % 100 = 0;
SELECT * FROM pg_temp.drift('q58');
-- 4. a shifted distribution and other category shares: drift on every rule
UPDATE q58 SET v = v * 0.5 + 50, cat = CASE WHEN id % 2 = 0 THEN 'c' ELSE cat END;
SELECT * FROM pg_temp.drift('q58');

-- a profile is a reference too (etl.profile stores sketches and frequencies)
CREATE TABLE public.q58b AS SELECT * FROM q58;
SELECT (etl.profile('q58b'))->'row_count' AS profiled;
SELECT * FROM pg_temp.drift('q58b');

-- in a pipeline: against the last successful run's profile, not a failed run's
CREATE TABLE public.q58_src AS SELECT * FROM q58;
SELECT etl.register_pipeline($$
pipeline:
  id: q58_pipe
  sources: [{ id: src, type: postgresql, table: q58_src }]
  targets: [{ id: out, type: postgresql, table: q58_out }]
  quality:
    gate: error
    rules:
      - { name: v_drift, type: drift, column: v, method: ks }
      - { type: row_count, min: 1000 }
$$);
SELECT r->>'status' AS first_run FROM etl.execute_pipeline('q58_pipe') r;
-- a run that fails its gate for another reason leaves no reference behind
DELETE FROM q58_src WHERE id > 900;
UPDATE q58_src SET v = v * 10;
SELECT r->>'status' AS small_shifted_run FROM etl.execute_pipeline('q58_pipe') r;
-- back to the original data: compared with the first (successful) run: no drift
TRUNCATE q58_src;
INSERT INTO q58_src SELECT * FROM q58;
SELECT r->>'status' AS third_run, r->>'run_id' AS third_run_id FROM etl.execute_pipeline('q58_pipe') r \gset
SELECT :'third_run' AS third_run,
       c->'observed'->'reference'->>'run_id' = (SELECT min(run_id)::text FROM etl.pipeline_runs WHERE pipeline_id = 'q58_pipe')
         AS compared_with_first_run
  FROM etl.pipeline_runs p, jsonb_array_elements(p.quality_checks->'src'->'checks') c
 WHERE p.run_id = :third_run_id AND c->>'rule' = 'v_drift';
-- a shift now fails the run: the gate rolls the load back
UPDATE q58_src SET v = v + 40;
SELECT r->>'status' AS shifted_run, r->'error'->>'detail' AS detail FROM etl.execute_pipeline('q58_pipe') r;

-- bad configuration
SELECT pg_temp.err($q$SELECT etl.quality_gate('q58', '[{"type": "drift", "column": "v"}]')$q$);
SELECT pg_temp.err($q$SELECT etl.quality_gate('q58', '[{"type": "drift", "column": "v", "method": "wasserstein"}]')$q$);
SELECT pg_temp.err($q$SELECT etl.quality_gate('q58', '[{"type": "drift", "column": "v", "method": "ks", "threshold": 5}]')$q$);
SELECT pg_temp.err($q$SELECT etl.quality_gate('q58', '[{"type": "drift", "column": "cat", "method": "ks"}]')$q$);

SELECT etl.drop_pipeline('q58_pipe');
DELETE FROM etl.profiling_stats WHERE dataset IN ('q58', 'q58b', 'src');
DELETE FROM etl.quality_scores WHERE dataset IN ('q58', 'q58b');
DROP TABLE q58, q58b, q58_src;
DROP TABLE IF EXISTS q58_out;
