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

-- transforms: the original example's data flow (customer_etl.yaml: filter → aggregate)
-- run into customer_summary, from its normalised config
CREATE TABLE IF NOT EXISTS public.customers (
    customer_id int PRIMARY KEY, email text, age int, region text, revenue numeric,
    updated_at timestamptz DEFAULT now());
INSERT INTO public.customers (customer_id, email, age, region, revenue) VALUES
  (1, 'ann@example.com', 34, 'EU', 120.50), (2, 'bob@example.com', 41, 'US', 80),
  (3, NULL, 29, 'EU', 999), (4, 'cid@example.com', 0, 'US', 55), (5, 'dee@example.com', 52, 'EU', 40)
  ON CONFLICT DO NOTHING;
INSERT INTO etl.data_sources (name, type) VALUES ('customer_db_conn', 'postgresql') ON CONFLICT DO NOTHING;
INSERT INTO etl.data_targets (name, type) VALUES ('warehouse_conn', 'postgresql') ON CONFLICT DO NOTHING;
-- the example's query uses {{last_run}}; templates need etl.render_template()
SELECT jsonb_pretty(etl.execute_plan(jsonb_set($${"pipeline": {"id": "customer_etl", "name": "Customer Data ETL", "engine": "auto",
  "sources": [{"id": "customer_db", "type": "postgresql", "connection": "customer_db_conn",
               "query": "SELECT * FROM customers WHERE updated_at > '{{last_run}}'"}],
  "transforms": [
    {"id": "clean_data", "type": "filter", "input": "customer_db", "params": {"condition": "age > 0 AND email IS NOT NULL"}},
    {"id": "aggregate", "type": "aggregate", "input": "clean_data", "params": {"groupby_cols": ["region"], "agg_functions": {"revenue": "sum"}}}],
  "targets": [{"id": "warehouse", "type": "postgresql", "connection": "warehouse_conn", "table": "customer_summary",
               "input": "aggregate", "mode": "replace", "keys": [], "create": true}]}}$$::jsonb,
  '{pipeline,sources,0,query}',
  CASE WHEN to_regprocedure('etl.render_template(text,jsonb)') IS NOT NULL
       THEN to_jsonb('SELECT * FROM customers WHERE updated_at > ''{{last_run}}'''::text)
       ELSE to_jsonb('SELECT * FROM customers'::text) END)) - 'sql') AS run;
SELECT * FROM customer_summary ORDER BY region;
