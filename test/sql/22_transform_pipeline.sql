-- 22_transform_pipeline: normalised pipeline configs in etl.pipelines:
-- compile_pipeline, preview, execute_plan (materialize, before_load), the
-- engine selector and its aliases, and identical results from pushdown,
-- staged and parallel.
\set VERBOSITY default
\set SHOW_CONTEXT never
\pset pager off
SET client_min_messages = warning;
CREATE SCHEMA tp;
SET search_path = tp, public;

CREATE FUNCTION pg_temp.err(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE s text; m text; h text;
BEGIN
  EXECUTE q;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS s = RETURNED_SQLSTATE, m = MESSAGE_TEXT, h = PG_EXCEPTION_HINT;
  RETURN s || ': ' || m || coalesce(' | hint: ' || nullif(h, ''), '');
END $$;

CREATE TABLE orders (id int, customer_id int, status text, amount numeric);
INSERT INTO orders SELECT g, 100 + g % 7, CASE WHEN g % 5 = 0 THEN 'cancelled' ELSE 'paid' END, (g % 13) * 10
  FROM generate_series(1, 200) g;
CREATE TABLE customers (customer_id int, region text);
INSERT INTO customers SELECT 100 + g, CASE WHEN g % 2 = 0 THEN 'EU' ELSE 'US' END FROM generate_series(0, 5) g;

-- a normalised config (docs/configuration.md, "The normalised form"): filter → join → aggregate → upsert
INSERT INTO etl.pipelines (pipeline_id, name, config) VALUES ('tp_sales', 'sales', $${"pipeline": {
  "id": "tp_sales", "name": "sales", "engine": "pushdown",
  "sources": [{"id": "orders", "type": "postgresql", "table": "tp.orders"},
              {"id": "customers", "type": "postgresql", "query": "SELECT customer_id, region FROM tp.customers"}],
  "transforms": [
    {"id": "paid", "type": "filter", "input": "orders", "params": {"condition": "status == 'paid'"}},
    {"id": "joined", "type": "join", "input": "paid", "params": {"right": "customers", "how": "inner", "on": ["customer_id"]}},
    {"id": "by_region", "type": "aggregate", "input": "joined",
     "params": {"groupby_cols": ["region"], "agg_functions": {"amount": ["sum", "count"]}, "count_rows": "orders"}}],
  "targets": [{"id": "summary", "type": "postgresql", "table": "tp.sales_summary", "input": "by_region",
               "mode": "upsert", "keys": ["region"], "create": true}]}}$$);

-- the SQL a run executes: one statement, a CTE per step
SELECT etl.compile_pipeline('tp_sales');
SELECT to_regclass('tp.sales_summary') AS compile_creates_nothing;
SELECT * FROM etl.preview('tp_sales', 'paid', 3);
SELECT * FROM etl.preview('tp_sales', 'by_region') ORDER BY 1;
SELECT pg_temp.err($$SELECT * FROM etl.preview('tp_sales', 'by_regoin')$$);
SELECT pg_temp.err($$SELECT etl.compile_pipeline('tp_nosuch')$$);

-- run it three ways; the target rows are identical
CREATE FUNCTION pg_temp.run(engine text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r jsonb;
BEGIN
  DROP TABLE IF EXISTS tp.sales_summary;
  r := etl.execute_plan((SELECT config FROM etl.pipelines WHERE pipeline_id = 'tp_sales'), '{}',
                        jsonb_build_object('engine', engine));
  RETURN format('%s: written %s, %s steps reported', r->>'engine', r->'rows_written',
                jsonb_array_length(r->'steps'));
END $$;
SELECT pg_temp.run('pushdown');
CREATE TEMP TABLE by_pushdown AS TABLE tp.sales_summary;
SELECT * FROM by_pushdown ORDER BY region;
SELECT pg_temp.run('staged');
SELECT (SELECT count(*) FROM (TABLE by_pushdown EXCEPT ALL TABLE tp.sales_summary) a)
     + (SELECT count(*) FROM (TABLE tp.sales_summary EXCEPT ALL TABLE by_pushdown) b) AS staged_differs;
SELECT pg_temp.run('parallel');
SELECT (SELECT count(*) FROM (TABLE by_pushdown EXCEPT ALL TABLE tp.sales_summary) a)
     + (SELECT count(*) FROM (TABLE tp.sales_summary EXCEPT ALL TABLE by_pushdown) b) AS parallel_differs;

-- parallel with key-range background workers: orders split on customer_id; the
-- filter, join and aggregate (grouped by the key) run in 3 workers
UPDATE etl.pipelines SET config = jsonb_set(config, '{pipeline,sources,0}',
  config->'pipeline'->'sources'->0 || '{"split_key": "customer_id", "workers": 3}') WHERE pipeline_id = 'tp_sales';
UPDATE etl.pipelines SET config = jsonb_set(config, '{pipeline,transforms,2,params,groupby_cols}', '["customer_id", "region"]')
 WHERE pipeline_id = 'tp_sales';
UPDATE etl.pipelines SET config = jsonb_set(config, '{pipeline,targets,0,keys}', '["customer_id"]') WHERE pipeline_id = 'tp_sales';
SELECT pg_temp.run('pushdown');
DROP TABLE by_pushdown;
CREATE TEMP TABLE by_pushdown AS TABLE tp.sales_summary;
SELECT count(*) AS customers FROM by_pushdown;
TRUNCATE tp.sales_summary;
SELECT r->>'engine' AS engine, r->>'engine_reason' AS reason, r->'rows_written' AS written
  FROM etl.execute_plan((SELECT config FROM etl.pipelines WHERE pipeline_id = 'tp_sales'), '{}', '{"engine": "parallel"}') r;
SELECT (SELECT count(*) FROM (TABLE by_pushdown EXCEPT ALL TABLE tp.sales_summary) a)
     + (SELECT count(*) FROM (TABLE tp.sales_summary EXCEPT ALL TABLE by_pushdown) b) AS workers_differ;
SELECT count(*) AS work_tables_left FROM pg_class WHERE relnamespace = 'etl_work'::regnamespace;
-- workers cannot see this transaction's writes: the split is not used
BEGIN;
INSERT INTO tp.customers VALUES (106, 'EU');
SELECT r->>'engine_reason' AS reason
  FROM etl.execute_plan((SELECT config FROM etl.pipelines WHERE pipeline_id = 'tp_sales'), '{}', '{"engine": "parallel"}') r;
ROLLBACK;
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT r->>'engine_reason' AS reason
  FROM etl.execute_plan((SELECT config FROM etl.pipelines WHERE pipeline_id = 'tp_sales'), '{}', '{"engine": "parallel"}') r;
ROLLBACK;
-- a failing worker fails the run, and its target stays as it was
CREATE TEMP TABLE before_fail AS TABLE tp.sales_summary;
UPDATE etl.pipelines SET config = jsonb_set(config, '{pipeline,transforms,0,params,condition}', '"status = ''paid'' AND 1 / (customer_id - 103) IS NOT NULL"')
 WHERE pipeline_id = 'tp_sales';
SELECT pg_temp.err($$SELECT etl.execute_plan((SELECT config FROM etl.pipelines WHERE pipeline_id = 'tp_sales'), '{}', '{"engine": "parallel"}')$$);
SELECT (SELECT count(*) FROM (TABLE before_fail EXCEPT ALL TABLE tp.sales_summary) a)
     + (SELECT count(*) FROM (TABLE tp.sales_summary EXCEPT ALL TABLE before_fail) b) AS target_changed;
SELECT count(*) AS work_tables_left FROM pg_class WHERE relnamespace = 'etl_work'::regnamespace;
UPDATE etl.pipelines SET config = jsonb_set(config, '{pipeline,transforms,0,params,condition}', '"status = ''paid''"')
 WHERE pipeline_id = 'tp_sales';

-- the run summary (docs/transforms.md, "Pipelines"): per-step rows in staged mode
SELECT s->>'id' AS id, s->>'kind' AS kind, s->'rows' AS rows
  FROM jsonb_array_elements(etl.execute_plan((SELECT config FROM etl.pipelines WHERE pipeline_id = 'tp_sales'),
                                             '{}', '{"engine": "staged"}')->'steps') s;

-- materialize + before_load: the nodes are temp tables when the hook runs
CREATE FUNCTION tp.gate(j jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
  EXECUTE format('SELECT count(*) FROM %s', j->'nodes'->>'paid') INTO n;
  IF n < 1000 THEN
    RETURN jsonb_build_object('paid_rows', n, 'keys', (SELECT jsonb_agg(k) FROM jsonb_object_keys(j->'nodes') k));
  END IF;
  RAISE EXCEPTION 'too many rows';
END $$;
SELECT r->'before_load' AS before_load, r->'rows_written' AS written
  FROM etl.execute_plan((SELECT config FROM etl.pipelines WHERE pipeline_id = 'tp_sales'), '{}',
       '{"materialize": ["paid"], "before_load": "tp.gate(jsonb)"}') r;
-- a raising hook: nothing is loaded
CREATE OR REPLACE FUNCTION tp.gate(j jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'quality gate failed'; END $$;
TRUNCATE tp.sales_summary;
SELECT pg_temp.err($$SELECT etl.execute_plan((SELECT config FROM etl.pipelines WHERE pipeline_id = 'tp_sales'), '{}', '{"materialize": ["paid"], "before_load": "tp.gate(jsonb)"}')$$);
SELECT count(*) AS loaded_after_failed_gate FROM tp.sales_summary;
SELECT pg_temp.err($$SELECT etl.execute_plan((SELECT config FROM etl.pipelines WHERE pipeline_id = 'tp_sales'), '{}', '{"before_load": "tp.nosuch(jsonb)"}')$$);
SELECT pg_temp.err($$SELECT etl.execute_plan((SELECT config FROM etl.pipelines WHERE pipeline_id = 'tp_sales'), '{}', '{"materialize": ["nosuch"]}')$$);

-- engine selection: auto gives its reason; several consumers → staged
SELECT r->>'engine' AS engine, r->>'engine_reason' AS reason
  FROM etl.execute_plan($${"pipeline": {"id": "tp_auto", "engine": "auto",
    "sources": [{"id": "rows", "type": "inline", "rows": [{"k": 1, "v": "a"}, {"k": 2, "v": "b"}, {"k": 2, "v": null}]}],
    "transforms": [{"id": "f", "type": "filter", "input": "rows", "params": {"condition": "k > 1"}}],
    "targets": [{"id": "t", "table": "tp.auto_out", "input": "f"}]}}$$) r;
SELECT * FROM tp.auto_out ORDER BY v;
SELECT r->>'engine' AS engine, r->>'engine_reason' AS reason, r->'targets' AS targets
  FROM etl.execute_plan($${"pipeline": {"id": "tp_two", "engine": "auto",
    "sources": [{"id": "rows", "type": "inline", "columns": {"k": "int", "v": "text"},
                 "rows": [{"k": 1, "v": "a"}, {"k": 2, "v": "b"}]}],
    "transforms": [{"id": "f", "type": "filter", "input": "rows", "params": {"condition": "k > 0"}}],
    "targets": [{"id": "t1", "table": "tp.two_a", "input": "f"}, {"id": "t2", "table": "tp.two_b", "input": "f", "mode": "append"}]}}$$) r;
SELECT (SELECT count(*) FROM tp.two_a) AS a_rows, (SELECT count(*) FROM tp.two_b) AS b_rows;

-- big sources (planner statistics; faked here) → parallel, unless a step depends on order
CREATE TABLE tp.big (id int PRIMARY KEY, v int);
UPDATE pg_class SET reltuples = 1e7, relpages = 100000 WHERE oid = 'tp.big'::regclass;
SELECT r->>'engine' AS engine, r->>'engine_reason' AS reason
  FROM etl.execute_plan($${"pipeline": {"id": "tp_big", "sources": [{"id": "b", "type": "postgresql", "table": "tp.big", "split_key": true}],
    "transforms": [{"id": "f", "type": "filter", "input": "b", "params": {"condition": "v > 0"}}],
    "targets": [{"id": "t", "table": "tp.big_out", "input": "f"}]}}$$) r;
SELECT r->>'engine' AS engine, r->>'engine_reason' AS reason
  FROM etl.execute_plan($${"pipeline": {"id": "tp_big", "sources": [{"id": "b", "type": "postgresql", "table": "tp.big"}],
    "transforms": [{"id": "s", "type": "sort", "input": "b", "params": {"by": ["v"]}}, {"id": "l", "type": "limit", "params": {"n": 10}}],
    "targets": [{"id": "t", "table": "tp.big_out", "input": "l"}]}}$$) r;

-- the original design's engine names are aliases, with a NOTICE
SET client_min_messages = notice;
SELECT etl.execute_transformations('tp.customers', '{"steps": []}', 'tp.alias_out', 'pandas')->>'engine' AS pandas;
SELECT etl.execute_transformations('tp.customers', '{"steps": []}', 'tp.alias_out', 'dask')->>'engine' AS dask;
SET client_min_messages = warning;
SELECT pg_temp.err($$SELECT etl.execute_transformations('tp.customers', '{"steps": []}', 'tp.alias_out', 'spark')$$);

-- connections: omitted or local mean this database; remote ones are the relational
-- connectors' (test 88): nothing listens on port 1, so this one cannot connect
INSERT INTO etl.data_sources (name, type, options) VALUES ('tp_local', 'postgresql', '{}'),
  ('tp_remote', 'postgresql', '{"host": "127.0.0.1", "port": 1, "dbname": "crm", "connect_timeout": 2}');
SELECT etl.execute_plan($${"pipeline": {"id": "tp_conn", "sources": [{"id": "c", "type": "postgresql", "connection": "tp_local", "table": "tp.customers"}],
  "targets": [{"id": "t", "table": "tp.conn_out"}]}}$$)->'rows_written' AS written;
SELECT pg_temp.err($$SELECT etl.execute_plan('{"pipeline": {"id": "tp_conn", "sources": [{"id": "c", "type": "postgresql", "connection": "tp_remote", "table": "tp.customers"}], "targets": [{"id": "t", "table": "tp.conn_out"}]}}')$$);
SELECT pg_temp.err($$SELECT etl.execute_plan('{"pipeline": {"id": "tp_conn", "sources": [{"id": "c", "type": "postgresql", "connection": "tp_nosuch", "table": "tp.customers"}], "targets": [{"id": "t", "table": "tp.conn_out"}]}}')$$);
SELECT pg_temp.err($$SELECT etl.execute_plan('{"pipeline": {"id": "tp_x", "sources": [{"id": "c", "type": "mongodb", "table": "x"}]}}')$$);
SELECT pg_temp.err($$SELECT etl.execute_plan('{"pipeline": {"id": "tp_x", "sources": [{"id": "c", "type": "postgresql", "query": "SELECT 1; DROP TABLE tp.orders"}], "targets": [{"id": "t", "table": "tp.x"}]}}')$$);
SELECT pg_temp.err($$SELECT etl.execute_plan('{"pipeline": {"id": "tp_x", "sources": []}}')$$);
SELECT count(*) AS orders_intact FROM tp.orders;
DELETE FROM etl.data_sources WHERE name LIKE 'tp\_%';

-- a udf must be executable by the pipeline's owner
CREATE ROLE tp_owner;
CREATE FUNCTION tp.secret(numeric) RETURNS numeric LANGUAGE sql AS 'SELECT $1';
REVOKE EXECUTE ON FUNCTION tp.secret(numeric) FROM PUBLIC;
INSERT INTO etl.pipelines (pipeline_id, name, owner, config) VALUES ('tp_udf', 'udf', 'tp_owner', $${"pipeline": {
  "id": "tp_udf", "sources": [{"id": "o", "type": "postgresql", "table": "tp.orders"}],
  "transforms": [{"id": "u", "type": "udf", "input": "o", "params": {"function": "tp.secret", "args": ["amount"], "output": "s"}}],
  "targets": [{"id": "t", "table": "tp.udf_out", "input": "u"}]}}$$);
SELECT pg_temp.err($$SELECT etl.compile_pipeline('tp_udf')$$);
GRANT EXECUTE ON FUNCTION tp.secret(numeric) TO tp_owner;
SELECT length(etl.compile_pipeline('tp_udf')) > 0 AS compiles_after_grant;

DELETE FROM etl.pipelines WHERE pipeline_id LIKE 'tp\_%';
RESET search_path;
DROP SCHEMA tp CASCADE;
DROP ROLE tp_owner;
