-- 24_transform_docs: every example of docs/transforms.md, in order (generated from
-- the page's sql blocks; keep them in sync).
\pset pager off

CREATE SCHEMA shop;
CREATE TABLE shop.orders (id int, customer_id int, status text, amount numeric, region text);
INSERT INTO shop.orders VALUES (1, 10, 'active', 100, 'EU'), (2, 10, 'inactive', 50, 'EU'),
  (3, 11, 'active', 70, 'US'), (4, 12, 'active', 30, 'US'), (5, 11, 'active', 20, NULL);
CREATE TABLE shop.customers (customer_id int, name text, segment text);
INSERT INTO shop.customers VALUES (10, 'Ann', 'retail'), (11, 'Bob', 'b2b'), (13, 'Cid', 'retail');

SELECT r->'rows' AS rows, r->>'engine' AS engine
  FROM etl.execute_transformations('shop.orders',
       '{"id": "custom_transform", "steps": [
          {"type": "filter", "params": {"condition": "status == ''active''"}},
          {"type": "map", "params": {"mapping": {"amount": "revenue"}}}]}',
       'shop.active_orders') r;
-- rows 4, engine pushdown
SELECT id, revenue FROM shop.active_orders ORDER BY id;
-- (1,100) (3,70) (4,30) (5,20)

INSERT INTO etl.pipelines (pipeline_id, name, config) VALUES ('shop_sales', 'Shop sales', $${"pipeline": {
  "id": "shop_sales", "engine": "auto",
  "sources": [{"id": "orders", "type": "postgresql", "table": "shop.orders"},
              {"id": "customers", "type": "postgresql", "query": "SELECT customer_id, segment FROM shop.customers"}],
  "transforms": [
    {"id": "active", "type": "filter", "input": "orders", "params": {"condition": "status == 'active'"}},
    {"id": "with_segment", "type": "join", "input": "active", "params": {"right": "customers", "how": "left", "on": ["customer_id"]}},
    {"id": "by_segment", "type": "aggregate", "input": "with_segment",
     "params": {"groupby_cols": ["segment"], "agg_functions": {"amount": "sum"}, "count_rows": "orders"}}],
  "targets": [{"id": "summary", "type": "postgresql", "table": "shop.sales_by_segment", "input": "by_segment",
               "mode": "upsert", "keys": ["segment"]}]}}$$);

SELECT etl.compile_pipeline('shop_sales');      -- CREATE TABLE … WITH NO DATA; WITH orders AS (…), … MERGE INTO …
SELECT * FROM etl.preview('shop_sales', 'active', 2);
-- {"id": 1, "amount": 100, "region": "EU", "status": "active", "customer_id": 10}
-- {"id": 3, "amount": 70, "region": "US", "status": "active", "customer_id": 11}
SELECT r->'rows_written' AS written, r->>'engine' AS engine
  FROM etl.execute_plan((SELECT config FROM etl.pipelines WHERE pipeline_id = 'shop_sales')) r;
SELECT * FROM shop.sales_by_segment ORDER BY segment;
-- b2b 90 2 · retail 100 1 · (null) 30 1

SELECT r->'rows_written' AS written
  FROM etl.execute_plan($${"pipeline": {"id": "inline_demo",
    "sources": [{"id": "rates", "type": "inline", "rows": [{"region": "EU", "rate": 0.2}, {"region": "US", "rate": 0.07}]}],
    "targets": [{"id": "t", "table": "shop.tax_rates"}]}}$$) r;
-- 2

SELECT etl.execute_transformations('shop.orders',
  '{"steps": [{"type": "filter", "params": {"condition": "amount >= 50 and region == ''EU''"}}]}',
  'shop.eu_big')->'rows';                                    -- 2 (ids 1, 2)

SELECT etl.execute_transformations('shop.orders',
  '{"steps": [{"type": "map", "params": {"mapping": {"status": "state"},
     "columns": {"amount_eur": "amount * 0.9", "region": "coalesce(region, ''n/a'')"},
     "casts": {"amount_eur": "numeric(10,1)"}}}]}', 'shop.mapped')->'rows';   -- 5
SELECT id, state, region, amount_eur FROM shop.mapped WHERE id = 5;          -- 5 active n/a 18.0

SELECT etl.execute_transformations('shop.orders',
  '{"steps": [{"type": "select", "params": {"columns": ["id", "amount"]}}]}', 'shop.slim')->'rows';   -- 5
SELECT etl.execute_transformations('shop.orders',
  '{"steps": [{"type": "drop", "params": {"columns": ["status"]}}]}', 'shop.no_status')->'rows';     -- 5

SELECT etl.execute_transformations('shop.orders',
  '{"steps": [{"type": "aggregate", "params": {"groupby_cols": ["region"],
     "agg_functions": {"amount": ["sum", "max"], "customer_id": "count_distinct"},
     "count_rows": "orders", "having": "orders > 1"}}]}', 'shop.by_region')->'rows';   -- 2
SELECT * FROM shop.by_region ORDER BY region;   -- EU 150 100 1 2 · US 100 70 2 2

SELECT etl.execute_transformations('shop.orders',
  '{"steps": [{"type": "join", "params": {"right": "shop.customers", "how": "anti", "on": ["customer_id"]}}]}',
  'shop.no_customer')->'rows';                                -- 1 (order 4)

SELECT etl.execute_transformations('shop.orders',
  '{"steps": [{"type": "pivot", "params": {"index": ["customer_id"], "columns": "status", "values": "amount", "agg": "sum"}}]}',
  'shop.pivoted')->'rows';                                    -- 3
SELECT * FROM shop.pivoted ORDER BY customer_id;              -- 10 100 50 · 11 90 null · 12 30 null

SELECT etl.execute_transformations('shop.customers',
  '{"steps": [{"type": "unpivot", "params": {"id_cols": ["customer_id"], "value_cols": ["name", "segment"]}}]}',
  'shop.long')->'rows';                                       -- 6

SELECT etl.execute_transformations('shop.orders',
  '{"steps": [{"type": "dedupe", "params": {"keys": ["customer_id"], "order": "amount DESC", "keep": "first"}}]}',
  'shop.best_order')->'rows';                                 -- 3 (ids 1, 3, 4)

SELECT etl.execute_transformations('shop.orders',
  '{"steps": [{"type": "sort", "params": {"by": ["amount DESC"]}}, {"type": "limit", "params": {"n": 2}}]}',
  'shop.top2')->'rows';                                       -- 2 (ids 1, 3)

SELECT etl.execute_transformations('shop.orders',
  '{"steps": [{"id": "eu", "type": "filter", "params": {"condition": "region = ''EU''"}},
              {"id": "big", "type": "filter", "input": "source", "params": {"condition": "amount >= 70"}},
              {"type": "union", "params": {"inputs": ["eu", "big"], "distinct": true}}]}',
  'shop.eu_or_big')->'rows';                                  -- 3 (ids 1, 2, 3)

SELECT etl.execute_transformations('shop.orders',
  '{"steps": [{"type": "window", "params": {"partition_by": ["customer_id"], "order_by": ["id"],
     "columns": {"nth": "row_number()", "running": "sum(amount)", "previous": "lag(amount)"}}}]}',
  'shop.windowed')->'rows';                                   -- 5
SELECT id, nth, running, previous FROM shop.windowed WHERE customer_id = 10 ORDER BY id;   -- 1 1 100 null · 2 2 150 100

SELECT etl.execute_transformations('shop.orders',
  '{"steps": [{"type": "fill_null", "params": {"values": {"region": "unknown"}}}]}', 'shop.filled')->'rows';   -- 5

SELECT etl.execute_transformations('shop.orders',
  '{"steps": [{"type": "sql", "params": {"query": "SELECT region, count(*) AS n FROM {{input}} GROUP BY region"}}]}',
  'shop.counts')->'rows';                                     -- 3

CREATE FUNCTION shop.with_vat(numeric) RETURNS numeric LANGUAGE sql IMMUTABLE AS 'SELECT round($1 * 1.2, 2)';
SELECT etl.execute_transformations('shop.orders',
  '{"steps": [{"type": "udf", "params": {"function": "shop.with_vat", "args": ["amount"], "output": "gross"}}]}',
  'shop.gross')->'rows';                                      -- 5

SELECT etl.execute_transformations('SELECT customer_id, name, segment FROM shop.customers',
  '{"steps": [], "mode": "scd2", "keys": ["customer_id"]}', 'shop.customer_history')->'rows';   -- 3
UPDATE shop.customers SET segment = 'b2b' WHERE customer_id = 10;
SELECT etl.execute_transformations('SELECT customer_id, name, segment FROM shop.customers',
  '{"steps": [], "mode": "scd2", "keys": ["customer_id"]}', 'shop.customer_history')->'rows';   -- 1
SELECT customer_id, segment, is_current FROM shop.customer_history ORDER BY customer_id, is_current;
-- 10 retail f · 10 b2b t · 11 b2b t · 13 retail t

SELECT etl.execute_transformations('shop.orders', '{"steps": []}', 'shop.copy', 'pandas')->>'engine';
-- NOTICE:  engine "pandas" runs as "pushdown" inside PostgreSQL
-- pushdown

SET client_min_messages = warning;
DELETE FROM etl.pipelines WHERE pipeline_id = 'shop_sales';
DROP SCHEMA shop CASCADE;
