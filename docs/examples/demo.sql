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
