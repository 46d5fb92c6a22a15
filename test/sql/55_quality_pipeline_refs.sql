-- 55_quality_pipeline_refs: referential and row_count_equal rules whose ref
-- is another node of the same pipeline (a source, a step, or a target, which
-- stands for the node it loads), as dbt's relationships tests; the nodes a
-- rule names are materialised for the gate.  Validation knows the nodes.
\set VERBOSITY default
\set SHOW_CONTEXT never
CREATE SCHEMA q55;
CREATE TABLE q55.customers (id int PRIMARY KEY, name text);
CREATE TABLE q55.orders (order_id int PRIMARY KEY, cust_id int, amount numeric);
INSERT INTO q55.customers SELECT i, 'c' || i FROM generate_series(1, 5) i;
INSERT INTO q55.orders VALUES (1, 1, 10), (2, 2, 20), (3, 5, 5), (4, 7, 70), (5, NULL, 1);

-- orders' cust_id must be a customer of the customers step (after its filter)
SELECT etl.register_pipeline($$
pipeline:
  id: q55_refs
  sources:
    - { id: customers_src, type: postgresql, table: q55.customers }
    - { id: orders, type: postgresql, table: q55.orders }
  transforms:
    - { id: customers_step, type: filter, input: customers_src, params: { condition: "id <= 5" } }
    - { id: big, type: filter, input: orders, params: { condition: "amount > 1" } }
  targets:
    - { id: customers_out, type: postgresql, table: q55.customers_out, input: customers_step }
    - { id: orders_out, type: postgresql, table: q55.orders_out, input: big }
  quality:
    gate: error
    rules:
      - { type: referential, column: cust_id, ref: customers_step, ref_column: id, on: orders }
      - { type: row_count_equal, ref: customers_out, on: customers_src }
$$);
SELECT r->>'status' AS status, r->'error'->>'detail' AS detail FROM etl.execute_pipeline('q55_refs') r;
SELECT jsonb_path_query(quality_checks, '$.orders.checks[*] ? (@.rule == "referential_cust_id")') - 'samples' AS referential,
       jsonb_path_query(quality_checks, '$.customers_src.checks[0].observed') AS row_count_equal
  FROM etl.pipeline_runs WHERE pipeline_id = 'q55_refs' ORDER BY run_id DESC LIMIT 1;
SELECT to_regclass('q55.orders_out') AS orders_loaded;

-- the reference data fixed: the run loads
INSERT INTO q55.customers VALUES (7, 'c7');
SELECT etl.register_pipeline(replace(etl.export_pipeline('q55_refs'), 'id <= 5', 'id <= 7'));
SELECT r->>'status' AS status FROM etl.execute_pipeline('q55_refs') r;
SELECT count(*) AS orders_out FROM q55.orders_out;
-- results are recorded under the node's id, not a temp table's name
SELECT DISTINCT dataset FROM etl.dq_results WHERE pipeline_id = 'q55_refs' ORDER BY 1;

-- a ref that names no node is read as a relation; an unknown one is an error at run time
SELECT severity, path, message FROM etl.validate_config($$pipeline:
  id: q55_bad
  sources: [{id: orders, type: postgresql, table: q55.orders}]
  targets: [{id: out, type: postgresql, table: q55.out}]
  quality:
    rules:
      - {type: referential, column: cust_id, ref: q55.customers, ref_column: id}
      - {type: referential, column: cust_id, ref: "not a name", ref_column: id}
      - {type: row_count_equal, ref: orders}
      - {type: referential, column: cust_id, ref: orders, ref_table: orders, ref_column: id}
$$);

SELECT etl.drop_pipeline('q55_refs');
DROP SCHEMA q55 CASCADE;
