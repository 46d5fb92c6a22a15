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
