-- docs/examples/demo.sql — what `make demo` shows, step by step.
-- Run in a database where you may create extensions:
--   psql -v examples=docs/examples -f docs/examples/demo.sql
\pset pager off

-- 1. install metaetl: everything lives in schema etl
CREATE EXTENSION IF NOT EXISTS metaetl;

-- 2. is it healthy, and what was it built with?
SELECT jsonb_pretty(etl.health()) AS health;

-- 3. the metadata tables
SELECT c.relname AS table_name, obj_description(c.oid, 'pg_class') AS purpose
  FROM pg_class c
 WHERE c.relnamespace = 'etl'::regnamespace AND c.relkind = 'r'
 ORDER BY c.relname;

-- 4. pipeline configuration: the original design's example, from YAML.
--    Its two connections are named rows, created first.
SELECT etl.add_connection('customer_db_conn', 'postgresql');
SELECT etl.add_connection('warehouse_conn', 'postgresql');
\set content `cat :'examples'/customer_etl.yaml`
--    every problem, with path, line and column (one warning: the duplicate type:)
SELECT * FROM etl.validate_config(:'content');
SELECT etl.register_pipeline(:'content');
--    the normalised form stored in etl.pipelines: every default filled in
SELECT jsonb_pretty(etl.load_pipeline_config('customer_etl')) AS normalised;
--    and back to YAML, which registers to the same spec hash
SELECT etl.export_pipeline('customer_etl') AS exported;
SELECT pipeline_id, version, left(spec_hash, 16) AS spec_hash FROM etl.pipeline_versions;

-- 5. sample customers: 1,000 rows, a few without an e-mail or with a bad age
CREATE TABLE IF NOT EXISTS public.customers (
    customer_id int PRIMARY KEY, email text, age int, region text, revenue numeric,
    updated_at timestamptz NOT NULL DEFAULT now());
INSERT INTO public.customers (customer_id, email, age, region, revenue)
SELECT i,
       CASE WHEN i % 50 = 0 THEN NULL ELSE 'customer' || i || '@example.com' END,
       CASE WHEN i % 97 = 0 THEN 0 ELSE 18 + i % 60 END,
       (ARRAY['EU', 'US', 'APAC', 'LATAM'])[1 + i % 4],
       round((10 + (i * 37) % 500)::numeric, 2)
  FROM generate_series(1, 1000) AS i
ON CONFLICT DO NOTHING;

-- 6. run it, as the original usage does: execute_pipeline("customer_etl", "manual", "user123")
SELECT jsonb_pretty(etl.execute_pipeline('customer_etl', 'manual', 'user123')) AS run_summary;

-- 7. what the run recorded: steps, quality checks and score
SELECT s.seq, s.step_id, s.kind, s.status, s.rows
  FROM etl.step_runs s
 WHERE s.run_id = (SELECT max(run_id) FROM etl.pipeline_runs WHERE pipeline_id = 'customer_etl')
 ORDER BY s.seq;
SELECT quality_score, status, engine, engine_reason
  FROM etl.pipeline_runs WHERE pipeline_id = 'customer_etl' ORDER BY run_id DESC LIMIT 1;

-- the example's sla: block was applied at registration; the run was evaluated against it
SELECT sla_type, target, observed, compliant FROM etl.sla_report('customer_etl') ORDER BY sla_type;

-- 8. the target rows
SELECT * FROM public.customer_summary ORDER BY region;

-- 9. one customer changes, and the example runs again.  Its source reads only
--    the rows changed since the last run (updated_at > '{{last_run}}'), and its
--    target has the default mode: replace, so the second run replaces
--    customer_summary with the sum of the changed rows alone: one region, one
--    customer's revenue, the other regions gone.  That is what the example's
--    config says; with the source made incremental (incremental: {mode:
--    timestamp, ...}), the aggregate recomputes only the changed region from
--    the whole table instead (docs/incremental.md, "Incremental aggregates").
UPDATE public.customers SET revenue = revenue + 100, updated_at = now() WHERE customer_id = 42;
SELECT jsonb_pretty(etl.execute_pipeline('customer_etl', 'manual', 'user123')) AS second_run;
SELECT * FROM public.customer_summary ORDER BY region;
