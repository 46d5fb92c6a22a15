-- 95_lineage: column lineage read from PostgreSQL's analyzed query tree.
-- The original example (docs/examples/customer_etl.yaml, verbatim) and a
-- pipeline with a view source, SELECT *, a join, a window function and an
-- aggregate match hand-written edges exactly, before any run (computed by
-- compiling) and after runs (recorded by the run, in every engine); CTEs,
-- subqueries, UNION and expressions in a sql step; file sources and foreign
-- tables as datasets; Mermaid and DOT; errors; a plain role sees its own
-- pipelines' lineage only, computed with its own rights, and lineage never
-- calls a pipeline's functions.
\set SHOW_CONTEXT never

CREATE SCHEMA lin95;
CREATE TABLE lin95.orders (order_id int PRIMARY KEY, customer_id int, amount numeric,
                           status text, ordered_at timestamptz);
CREATE TABLE lin95.clients (client_id int PRIMARY KEY, name text, country text, tier text);
CREATE VIEW lin95.paid_orders AS
    SELECT order_id, customer_id, amount * 1.2 AS gross, ordered_at FROM lin95.orders WHERE status = 'paid';
INSERT INTO lin95.orders VALUES (1, 10, 100, 'paid', '2024-01-01'), (2, 11, 50, 'paid', '2024-01-02'),
                                (3, 10, 70, 'open', '2024-01-03'), (4, 12, 80, 'paid', '2024-01-04');
INSERT INTO lin95.clients VALUES (10, 'Ann', 'FR', 'gold'), (11, 'Bob', 'DE', 'test'), (12, 'Cy', 'FR', 'gold');

-- ---------------------------------------------------------------------------
-- the original example
-- ---------------------------------------------------------------------------
CREATE TABLE public.customers (customer_id int PRIMARY KEY, email text, age int, region text,
                               revenue numeric, updated_at timestamptz DEFAULT now());
INSERT INTO public.customers
SELECT g, 'c' || g || '@example.com', 20 + g % 50, (ARRAY['north', 'south'])[1 + g % 2], g * 1.5, now()
  FROM generate_series(1, 20) g;
SELECT etl.add_connection('customer_db_conn', 'postgresql');
SELECT etl.add_connection('warehouse_conn', 'postgresql');
\set VERBOSITY terse
SELECT etl.register_pipeline($yaml$
pipeline:
  id: "customer_etl"
  name: "Customer Data ETL"
  description: "Extract and transform customer data"
  sources:
    - id: "customer_db"
      type: "postgresql"
      connection: "customer_db_conn"
      query: "SELECT * FROM customers WHERE updated_at > '{{last_run}}'"
  transforms:
    - id: "clean_data"
      type: "filter"
      params:
        condition: "age > 0 AND email IS NOT NULL"
    - id: "aggregate"
      type: "aggregate"
      params:
        groupby_cols: ["region"]
        agg_functions:
          revenue: "sum"
  targets:
    - id: "warehouse"
      type: "postgresql"
      connection: "warehouse_conn"
      table: "customer_summary"
  quality:
    rules:
      - type: "completeness"
        column: "email"
        threshold: 95
      - type: "validity"
        column: "email"
        type: "pattern"
        pattern: "^[^@]+@[^@]+\\.[^@]+$"
  sla:
    max_duration_minutes: 60
    min_success_rate: 0.95
$yaml$);
\set VERBOSITY default

-- before any run: computed by compiling the pipeline (nothing runs, nothing is kept)
SELECT * FROM etl.lineage('customer_etl');
-- region is copied, revenue summed; updated_at (the source query's WHERE),
-- age and email (the filter step) only decide which rows arrive
WITH expected (source, source_column, target, target_column, transform) AS (VALUES
    ('public.customers', 'region', 'public.customer_summary', 'region', 'identity'),
    ('public.customers', 'revenue', 'public.customer_summary', 'revenue', 'aggregate'),
    ('public.customers', 'age', 'public.customer_summary', NULL, 'filter-only'),
    ('public.customers', 'email', 'public.customer_summary', NULL, 'filter-only'),
    ('public.customers', 'updated_at', 'public.customer_summary', NULL, 'filter-only')),
got AS (SELECT source, source_column, target, target_column, transform FROM etl.lineage('customer_etl'))
SELECT 'missing' AS problem, * FROM (SELECT * FROM expected EXCEPT SELECT * FROM got) m
UNION ALL
SELECT 'unexpected', * FROM (SELECT * FROM got EXCEPT SELECT * FROM expected) u;
SELECT computed_by, version, run_id FROM etl.lineage_sets WHERE pipeline_id = 'customer_etl';
SELECT role, display, is_local, nodes, name = current_database() || '.' || display AS openlineage_name
  FROM etl.lineage_datasets WHERE lineage_id = etl._lineage_current('customer_etl') ORDER BY role, display;

-- a run records the lineage it executed (the source was materialised for the
-- quality gate: the lineage goes through that temporary table)
SELECT etl.execute_pipeline('customer_etl') ->> 'status' AS status;
SELECT r.run_id AS cust_run FROM etl.pipeline_runs r WHERE r.pipeline_id = 'customer_etl' \gset
SELECT r.result ->> 'sql' <> '' AS sql_kept, position('metaetl_stage' IN r.result ->> 'sql') > 0 AS staged_source
  FROM etl.pipeline_runs r WHERE r.run_id = :cust_run;
SELECT (SELECT count(*) FROM etl.lineage('customer_etl', :cust_run)) AS edges_of_the_run,
       (SELECT count(*) FROM (SELECT source, source_column, target, target_column, transform
                                FROM etl.lineage('customer_etl', :cust_run)
                              EXCEPT
                              SELECT source, source_column, target, target_column, transform
                                FROM etl.lineage('customer_etl')) d) AS differing_from_compiled;
-- the same lineage is the same set: the run reuses the compiled one
SELECT count(*) AS sets FROM etl.lineage_sets WHERE pipeline_id = 'customer_etl';

-- ---------------------------------------------------------------------------
-- a view source with SELECT *, a join, a window function and an aggregate
-- ---------------------------------------------------------------------------
SELECT etl.register_pipeline($yaml$
pipeline:
  id: lin95_sales
  sources:
    - {id: paid, type: postgresql, table: lin95.paid_orders}
    - id: clients
      type: postgresql
      query: "SELECT client_id, name AS client_name, country FROM lin95.clients WHERE tier <> 'test'"
  transforms:
    - {id: joined, type: join, input: paid, params: {right: clients, left_on: [customer_id], right_on: [client_id]}}
    - id: ranked
      type: window
      params: {partition_by: [country], order_by: ["gross DESC"],
               columns: {rank_in_country: "row_number()", running_total: "sum(gross)"}}
    - {id: by_country, type: aggregate, input: joined, params: {groupby_cols: [country], agg_functions: {gross: sum, order_id: count}}}
  targets:
    - {id: ranks, type: postgresql, table: lin95.order_ranks, input: ranked}
    - {id: totals, type: postgresql, table: lin95.country_totals, input: by_country}
$yaml$);
-- the view is expanded to lin95.orders (gross is amount * 1.2, status its
-- filter); the join keys flow into columns of order_ranks but only match
-- rows for country_totals; a window value depends on its PARTITION BY and
-- ORDER BY columns
WITH expected (source, source_column, target, target_column, transform) AS (VALUES
    ('lin95.clients', 'country', 'lin95.country_totals', 'country', 'identity'),
    ('lin95.orders', 'amount', 'lin95.country_totals', 'gross', 'aggregate'),
    ('lin95.orders', 'order_id', 'lin95.country_totals', 'order_id', 'aggregate'),
    ('lin95.clients', 'client_id', 'lin95.country_totals', NULL, 'filter-only'),
    ('lin95.clients', 'tier', 'lin95.country_totals', NULL, 'filter-only'),
    ('lin95.orders', 'customer_id', 'lin95.country_totals', NULL, 'filter-only'),
    ('lin95.orders', 'status', 'lin95.country_totals', NULL, 'filter-only'),
    ('lin95.clients', 'client_id', 'lin95.order_ranks', 'client_id', 'identity'),
    ('lin95.clients', 'name', 'lin95.order_ranks', 'client_name', 'rename'),
    ('lin95.clients', 'country', 'lin95.order_ranks', 'country', 'identity'),
    ('lin95.orders', 'customer_id', 'lin95.order_ranks', 'customer_id', 'identity'),
    ('lin95.orders', 'amount', 'lin95.order_ranks', 'gross', 'expression'),
    ('lin95.orders', 'order_id', 'lin95.order_ranks', 'order_id', 'identity'),
    ('lin95.orders', 'ordered_at', 'lin95.order_ranks', 'ordered_at', 'identity'),
    ('lin95.clients', 'country', 'lin95.order_ranks', 'rank_in_country', 'aggregate'),
    ('lin95.orders', 'amount', 'lin95.order_ranks', 'rank_in_country', 'aggregate'),
    ('lin95.clients', 'country', 'lin95.order_ranks', 'running_total', 'aggregate'),
    ('lin95.orders', 'amount', 'lin95.order_ranks', 'running_total', 'aggregate'),
    ('lin95.clients', 'tier', 'lin95.order_ranks', NULL, 'filter-only'),
    ('lin95.orders', 'status', 'lin95.order_ranks', NULL, 'filter-only')),
got AS (SELECT source, source_column, target, target_column, transform FROM etl.lineage('lin95_sales'))
SELECT 'missing' AS problem, * FROM (SELECT * FROM expected EXCEPT SELECT * FROM got) m
UNION ALL
SELECT 'unexpected', * FROM (SELECT * FROM got EXCEPT SELECT * FROM expected) u;
SELECT source, source_column, target, target_column, transform FROM etl.lineage('lin95_sales');

-- every engine executes different SQL (CTEs, temp tables, key ranges) with
-- the same lineage: auto picks staged here (joined is read twice)
SELECT etl.execute_pipeline('lin95_sales') ->> 'engine' AS engine;
SELECT etl.register_pipeline(jsonb_set(etl.load_pipeline_config('lin95_sales'), '{pipeline,engine}', '"pushdown"')::text);
SELECT etl.execute_pipeline('lin95_sales') ->> 'engine' AS engine;
SELECT etl.register_pipeline(jsonb_set(etl.load_pipeline_config('lin95_sales'), '{pipeline,engine}', '"parallel"')::text);
SELECT etl.execute_pipeline('lin95_sales') ->> 'engine' AS engine;
SELECT r.version, r.engine,
       (SELECT count(*) FROM etl.lineage('lin95_sales', r.run_id)) AS edges,
       (SELECT count(*) FROM (SELECT source, source_column, target, target_column, transform
                                FROM etl.lineage('lin95_sales', r.run_id)
                              EXCEPT
                              SELECT source, source_column, target, target_column, transform
                                FROM etl.lineage('lin95_sales')) d) AS differing_from_compiled
  FROM etl.pipeline_runs r WHERE r.pipeline_id = 'lin95_sales' ORDER BY r.run_id;
SELECT version, computed_by FROM etl.lineage_sets WHERE pipeline_id = 'lin95_sales' ORDER BY version, lineage_id;

-- ---------------------------------------------------------------------------
-- a sql step: a CTE, a correlated scalar subquery, CASE and UNION ALL; map
-- renames and derives, dedupe keeps one row per key
-- ---------------------------------------------------------------------------
SELECT etl.register_pipeline($yaml$
pipeline:
  id: lin95_misc
  sources:
    - {id: o, type: postgresql, table: lin95.orders}
  transforms:
    - {id: renamed, type: map, params: {mapping: {amount: value}, columns: {doubled: "amount * 2"}}}
    - {id: best, type: dedupe, params: {keys: [customer_id], order: "value DESC"}}
    - id: custom
      type: sql
      params:
        query: >-
          WITH big AS (SELECT * FROM {{input}} WHERE value > 50)
          SELECT order_id, value,
                 (SELECT max(c.country) FROM lin95.clients c WHERE c.client_id = big.customer_id) AS country,
                 CASE WHEN doubled > 150 THEN 'L' ELSE 'S' END AS size
            FROM big
          UNION ALL
          SELECT order_id, value, NULL, 'X' FROM {{input}} WHERE ordered_at IS NULL
  targets:
    - {id: out, type: postgresql, table: lin95.misc_out}
$yaml$);
SELECT source, source_column, target, target_column, transform FROM etl.lineage('lin95_misc');

-- ---------------------------------------------------------------------------
-- datasets outside this database: a server-side file, a foreign table
-- ---------------------------------------------------------------------------
SELECT current_setting('data_directory') || '/lin95_rates.csv' AS path \gset
COPY (SELECT * FROM (VALUES ('FR', 1.1), ('DE', 0.9)) v(country, rate)) TO :'path' WITH (FORMAT csv, HEADER true);
SELECT etl.register_pipeline(format($yaml$
pipeline:
  id: lin95_files
  sources:
    - {id: rates, type: csv, path: "%s"}
    - {id: cl, type: postgresql, table: lin95.clients}
  transforms:
    - {id: j, type: join, input: cl, params: {right: rates, on: [country]}}
    - {id: m, type: map, params: {columns: {weight: "rate::numeric * 10"}}}
  targets:
    - {id: out, type: csv, path: "%s.out"}
$yaml$, :'path', :'path'));
SELECT replace(source, :'path', '<dir>/lin95_rates.csv') AS source, source_column,
       replace(target, :'path', '<dir>/lin95_rates.csv') AS target, target_column, transform
  FROM etl.lineage('lin95_files');
SELECT role, CASE WHEN is_local THEN '(this database)' ELSE namespace END AS namespace,
       replace(name, :'path', '<dir>/lin95_rates.csv') AS name, nodes, fields
  FROM etl.lineage_datasets WHERE lineage_id = etl._lineage_current('lin95_files') ORDER BY role, namespace;

CREATE EXTENSION postgres_fdw;
DO $$ BEGIN
    EXECUTE format('CREATE SERVER lin95_loop FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host %L, port %L, dbname %L)',
                   '127.0.0.1', current_setting('port'), current_database());
END $$;
CREATE USER MAPPING FOR CURRENT_USER SERVER lin95_loop;
CREATE FOREIGN TABLE lin95.remote_clients (client_id int, name text, country text)
    SERVER lin95_loop OPTIONS (schema_name 'lin95', table_name 'clients');
SELECT etl.register_pipeline($yaml$
pipeline:
  id: lin95_remote
  sources: [{id: rc, type: postgresql, table: lin95.remote_clients}]
  targets: [{id: out, type: postgresql, table: lin95.remote_copy}]
$yaml$);
SELECT source, source_column, target, target_column, transform FROM etl.lineage('lin95_remote');
-- the foreign table is named after the remote table it maps
SELECT role, display, is_local, namespace = 'postgres://127.0.0.1:' || current_setting('port') AS remote_namespace,
       name = current_database() || '.lin95.clients' AS remote_name
  FROM etl.lineage_datasets WHERE lineage_id = etl._lineage_current('lin95_remote') ORDER BY role;

-- ---------------------------------------------------------------------------
-- graphs
-- ---------------------------------------------------------------------------
SELECT etl.lineage_graph('mermaid', 'customer_etl');
SELECT etl.lineage_graph('dot', 'customer_etl');
SELECT etl.lineage_graph() LIKE 'flowchart LR%' AS all_pipelines,
       etl.lineage_graph() LIKE '%lin95_sales: aggregate%' AS has_sales;

-- a read-only transaction (a standby) shows what is stored, computes nothing
BEGIN READ ONLY;
SELECT count(*) AS edges_read_only FROM etl.lineage('lin95_sales');
ROLLBACK;

-- ---------------------------------------------------------------------------
-- errors leave nothing behind
-- ---------------------------------------------------------------------------
SELECT * FROM etl.lineage('no_such_pipeline');
SELECT * FROM etl.lineage('customer_etl', -1);
SELECT etl.lineage_graph('svg');
SELECT etl.lineage_graph('dot', 'no_such_pipeline');
SELECT etl.register_pipeline($yaml$
pipeline:
  id: lin95_broken
  sources: [{id: s, type: postgresql, table: lin95.not_there}]
  targets: [{id: t, type: postgresql, table: lin95.never}]
$yaml$);
SELECT * FROM etl.lineage('lin95_broken');
SELECT count(*) AS broken_sets FROM etl.lineage_sets WHERE pipeline_id = 'lin95_broken';
-- across all pipelines the broken one is skipped with a notice
SELECT count(*) > 0 AS others_still_drawn FROM (SELECT etl.lineage_graph()) g;

-- ---------------------------------------------------------------------------
-- a plain role: its own pipelines, its own rights; no function is called
-- ---------------------------------------------------------------------------
CREATE ROLE lin95_user;
GRANT USAGE ON SCHEMA lin95 TO lin95_user;
GRANT SELECT ON lin95.orders TO lin95_user;
CREATE TABLE lin95.calls (n int);
GRANT INSERT, SELECT ON lin95.calls TO lin95_user;
CREATE FUNCTION lin95.tag(amount numeric) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    RAISE NOTICE 'lin95.tag called';
    INSERT INTO lin95.calls VALUES (1);
    RETURN CASE WHEN amount > 60 THEN 'big' ELSE 'small' END;
END $$;
SET ROLE lin95_user;
SELECT etl.register_pipeline($yaml$
pipeline:
  id: lin95_mine
  sources: [{id: o, type: postgresql, table: lin95.orders}]
  transforms:
    - {id: tagged, type: udf, params: {function: lin95.tag, args: [amount], output: size}}
  targets: [{id: t, type: postgresql, table: lin95_mine_out}]
$yaml$);
SELECT source, source_column, target, target_column, transform FROM etl.lineage('lin95_mine') WHERE target_column = 'size';
RESET ROLE;
SELECT count(*) AS function_calls FROM lin95.calls;
SET ROLE lin95_user;
-- other roles' pipelines do not exist for it, nor does their lineage
SELECT * FROM etl.lineage('customer_etl');
SELECT count(*) AS visible_sets, count(*) FILTER (WHERE pipeline_id <> 'lin95_mine') AS others FROM etl.lineage_sets;
SELECT count(*) AS others_edges FROM etl.lineage_edges e
 WHERE NOT EXISTS (SELECT 1 FROM etl.lineage_sets s WHERE s.lineage_id = e.lineage_id AND s.pipeline_id = 'lin95_mine');
-- the analysis runs with the owner's rights: a table it may not read is an error
SELECT etl.register_pipeline($yaml$
pipeline:
  id: lin95_secret
  sources: [{id: c, type: postgresql, table: lin95.clients}]
  targets: [{id: t, type: postgresql, table: lin95_secret_out}]
$yaml$);
SELECT * FROM etl.lineage('lin95_secret');
-- and it cannot write lineage itself
INSERT INTO etl.lineage_sets (pipeline_id, version, fingerprint, computed_by) VALUES ('lin95_mine', 9, 'x', 'run');
SELECT etl._lineage_store('lin95_mine', 9, '{}', NULL, 'run');
RESET ROLE;

-- ---------------------------------------------------------------------------
-- a run left 'running' by a server that stopped ends with an ABORT event, as
-- a cancelled run does (rolled back: nothing is posted)
-- ---------------------------------------------------------------------------
BEGIN;
SELECT etl.set_lineage_endpoint('http://127.0.0.1:9/api/v1/lineage', '{"namespace": "metaetl://t95"}');
INSERT INTO etl.pipeline_runs (pipeline_id, status, started_at)
VALUES ('lin95_sales', 'running', now() - interval '1 day') RETURNING run_id AS lost_run \gset
SELECT etl.mark_abandoned_runs() >= 1 AS marked;
SELECT e.event_type, e.payload ->> 'eventType' AS ol_event, e.payload -> 'job' ->> 'name' AS job,
       e.payload #>> '{run,facets,errorMessage,message}' AS error
  FROM etl.lineage_events e WHERE e.run_id = :lost_run;
ROLLBACK;

-- ---------------------------------------------------------------------------
-- clean up
-- ---------------------------------------------------------------------------
SET client_min_messages = warning;
SELECT etl.drop_pipeline(p) FROM unnest(ARRAY['customer_etl', 'lin95_sales', 'lin95_misc', 'lin95_files',
                                              'lin95_remote', 'lin95_broken', 'lin95_mine', 'lin95_secret']) p;
SELECT count(*) AS sets_left FROM etl.lineage_sets WHERE pipeline_id IN ('customer_etl') OR pipeline_id LIKE 'lin95%';
DELETE FROM etl.data_sources WHERE name IN ('customer_db_conn', 'warehouse_conn');
DELETE FROM etl.data_targets WHERE name IN ('customer_db_conn', 'warehouse_conn');
DROP TABLE public.customers, public.customer_summary;
DROP SCHEMA lin95 CASCADE;
DROP TABLE IF EXISTS public.lin95_mine_out;
DROP OWNED BY lin95_user;
DROP ROLE lin95_user;
DROP EXTENSION postgres_fdw CASCADE;
DELETE FROM etl.schema_versions WHERE relation LIKE 'lin95.%' OR relation LIKE 'public.customer%' OR relation LIKE 'file://%lin95%';
RESET client_min_messages;
