-- 98_incremental_aggregates: an aggregate fed by an incremental source
-- recomputes only the groups the changed rows touch, from the whole source.
-- The original customer_etl example (filter, then sum of revenue by region,
-- replace target) with its source made incremental: run twice with one
-- customer updated in between, customer_summary equals a full recomputation;
-- with no change it stays intact.
\set VERBOSITY default
CREATE ROLE agg_alice LOGIN;
CREATE SCHEMA agg AUTHORIZATION agg_alice;
SET ROLE agg_alice;
CREATE TABLE agg.customers (customer_id int PRIMARY KEY, email text, age int, region text,
                            revenue numeric, updated_at timestamptz NOT NULL DEFAULT now());
INSERT INTO agg.customers (customer_id, email, age, region, revenue, updated_at)
SELECT i, CASE WHEN i % 50 = 0 THEN NULL ELSE 'c' || i || '@example.com' END,
       CASE WHEN i % 97 = 0 THEN -1 ELSE 20 + i % 50 END,
       (ARRAY['north', 'south', 'east', 'west'])[1 + i % 4], (i % 100) * 10,
       '2026-01-01 00:00+00'
  FROM generate_series(1, 1000) i;
-- what the summary must hold: the full recomputation
CREATE VIEW agg.expected AS
SELECT region, sum(revenue) AS revenue FROM agg.customers
 WHERE age > 0 AND email IS NOT NULL GROUP BY region;

SELECT etl.register_pipeline($$
pipeline:
  id: agg_customer_etl
  sources:
    - id: customer_db
      type: postgresql
      table: agg.customers
      incremental: {mode: timestamp, column: updated_at, tie_breaker: customer_id}
  transforms:
    - {id: clean_data, type: filter, params: {condition: "age > 0 AND email IS NOT NULL"}}
    - {id: aggregate, type: aggregate, params: {groupby_cols: [region], agg_functions: {revenue: sum}}}
  targets:
    - {id: warehouse, type: postgresql, table: agg.customer_summary}
$$);
SELECT r->>'status' AS status, r->>'rows_read' AS rows_read, r->>'rows_written' AS rows_written
  FROM etl.execute_pipeline('agg_customer_etl') r;
SELECT * FROM agg.customer_summary ORDER BY region;

-- one customer changes: only its region is read and recomputed
UPDATE agg.customers SET revenue = revenue + 100, updated_at = '2026-01-02 00:00+00' WHERE customer_id = 42;
SELECT r->>'status' AS status, r->>'rows_read' AS rows_read, r->>'rows_written' AS rows_written
  FROM etl.execute_pipeline('agg_customer_etl') r;
SELECT count(*) AS differences FROM (
  (SELECT * FROM agg.customer_summary EXCEPT SELECT * FROM agg.expected)
  UNION ALL (SELECT * FROM agg.expected EXCEPT SELECT * FROM agg.customer_summary)) d;

-- no change: nothing read, the summary intact
SELECT r->>'rows_read' AS rows_read, r->>'rows_written' AS rows_written
  FROM etl.execute_pipeline('agg_customer_etl') r;
SELECT count(*) AS regions FROM agg.customer_summary;

-- a customer who now fails the filter: its region is recomputed without it
UPDATE agg.customers SET email = NULL, updated_at = '2026-01-03 00:00+00' WHERE customer_id = 43;
SELECT r->>'status' AS status FROM etl.execute_pipeline('agg_customer_etl') r;
SELECT count(*) AS differences FROM (
  (SELECT * FROM agg.customer_summary EXCEPT SELECT * FROM agg.expected)
  UNION ALL (SELECT * FROM agg.expected EXCEPT SELECT * FROM agg.customer_summary)) d;

-- trigger CDC: deletes and moves between groups recompute both groups,
-- and a group whose rows are all gone leaves the summary
CREATE TABLE agg.sales (id int PRIMARY KEY, shop text, amount numeric);
INSERT INTO agg.sales SELECT i, 'shop' || (i % 3), i FROM generate_series(1, 30) i;
SELECT etl.enable_change_capture('agg.sales') IS NOT NULL AS captured;
CREATE VIEW agg.sales_expected AS SELECT shop, sum(amount) AS amount, count(*) AS n FROM agg.sales GROUP BY shop;
SELECT etl.register_pipeline($$
pipeline:
  id: agg_sales
  sources:
    - {id: sales, type: postgresql, table: agg.sales, incremental: {mode: trigger_cdc}}
  transforms:
    - {id: by_shop, type: aggregate, params: {groupby_cols: [shop], agg_functions: {amount: sum}, count_rows: n}}
  targets:
    - {id: summary, type: postgresql, table: agg.sales_summary}
$$);
SELECT r->>'status' AS status FROM etl.execute_pipeline('agg_sales') r;
UPDATE agg.sales SET shop = 'shop1' WHERE id = 3;          -- moves from shop0 to shop1
DELETE FROM agg.sales WHERE shop = 'shop2';                 -- shop2 is gone
INSERT INTO agg.sales VALUES (100, 'shop9', 5);             -- a new shop
SELECT r->>'status' AS status, r->>'rows_written' AS rows_written FROM etl.execute_pipeline('agg_sales') r;
SELECT * FROM agg.sales_summary ORDER BY shop;
SELECT count(*) AS differences FROM (
  (SELECT * FROM agg.sales_summary EXCEPT SELECT * FROM agg.sales_expected)
  UNION ALL (SELECT * FROM agg.sales_expected EXCEPT SELECT * FROM agg.sales_summary)) d;
-- a truncate touches every group: the run recomputes the aggregate whole
TRUNCATE agg.sales;
INSERT INTO agg.sales VALUES (200, 'shop7', 7), (201, 'shop7', 1);
SELECT r->>'status' AS status, r->>'rows_written' AS rows_written FROM etl.execute_pipeline('agg_sales') r;
SELECT * FROM agg.sales_summary ORDER BY shop;
-- and the run after it is incremental again
INSERT INTO agg.sales VALUES (202, 'shop8', 2);
SELECT r->>'status' AS status, r->>'rows_read' AS rows_read, r->>'rows_written' AS rows_written
  FROM etl.execute_pipeline('agg_sales') r;
SELECT count(*) AS differences FROM (
  (SELECT * FROM agg.sales_summary EXCEPT SELECT * FROM agg.sales_expected)
  UNION ALL (SELECT * FROM agg.sales_expected EXCEPT SELECT * FROM agg.sales_summary)) d;

-- an aggregate behind a step that is not row-wise (here a window) is read in full
SELECT etl.register_pipeline($$
pipeline:
  id: agg_window
  sources:
    - {id: sales, type: postgresql, table: agg.sales, incremental: {mode: id, column: id}}
  transforms:
    - {id: ranked, type: window, params: {order_by: [id], columns: {rn: "row_number()"}}}
    - {id: by_shop, type: aggregate, params: {groupby_cols: [shop], agg_functions: {amount: sum}}}
  targets:
    - {id: summary, type: postgresql, table: agg.window_summary}
$$);
SELECT r->>'rows_read' AS rows_read FROM etl.execute_pipeline('agg_window') r;
SELECT r->>'rows_read' AS rows_read FROM etl.execute_pipeline('agg_window') r;
SELECT count(*) AS shops FROM agg.window_summary;
RESET ROLE;

-- clean up
SELECT etl.disable_change_capture('agg.sales');
SELECT etl.drop_pipeline(p) FROM unnest(ARRAY['agg_customer_etl', 'agg_sales', 'agg_window']) p;
DELETE FROM etl.alerts WHERE pipeline_id LIKE 'agg\_%';
DELETE FROM etl.audit_log WHERE object_id LIKE 'agg\_%';
DROP SCHEMA agg CASCADE;
DROP ROLE agg_alice;
