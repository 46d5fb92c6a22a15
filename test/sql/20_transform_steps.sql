-- 20_transform_steps: every transform step type, through
-- etl.execute_transformations(), with hand-checked output and its errors.
\set VERBOSITY default
\set SHOW_CONTEXT never
\pset pager off
SET client_min_messages = warning;
CREATE SCHEMA tx;
SET search_path = tx, public;

-- errors as one line: SQLSTATE, message, hint
CREATE FUNCTION pg_temp.err(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE s text; m text; h text;
BEGIN
  EXECUTE q;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS s = RETURNED_SQLSTATE, m = MESSAGE_TEXT, h = PG_EXCEPTION_HINT;
  RETURN s || ': ' || m || coalesce(' | hint: ' || nullif(h, ''), '');
END $$;

CREATE TABLE orders (id int, customer_id int, status text, amount numeric, region text);
INSERT INTO orders VALUES (1, 10, 'active', 100, 'EU'), (2, 10, 'inactive', 50, 'EU'),
  (3, 11, 'active', 70, 'US'), (4, 12, 'active', 30, 'US'), (5, 11, 'active', 20, NULL);
CREATE TABLE customers (customer_id int, name text, region text);
INSERT INTO customers VALUES (10, 'Ann', 'EU'), (11, 'Bob', 'US'), (13, 'Cid', 'APAC');

-- filter + map: the original usage example (pandas-style ==, mapping old → new)
SELECT r->'rows' AS rows, r->>'engine' AS engine
  FROM etl.execute_transformations('tx.orders',
   '{"id": "custom_transform", "steps": [
      {"type": "filter", "params": {"condition": "status == ''active'' and amount > 25"}},
      {"type": "map", "params": {"mapping": {"amount": "total"}}}]}', 'tx.out_filter') r;
SELECT * FROM out_filter ORDER BY id;
-- a table whose name starts like a query keyword is a table (issue 13: the
-- one relation-or-query resolver, util/relation.c)
CREATE TABLE withdrawals (id int, amount numeric);
INSERT INTO withdrawals VALUES (1, 5), (2, 50);
SELECT r->'rows' AS rows FROM etl.execute_transformations('withdrawals',
   '{"steps": [{"type": "filter", "params": {"condition": "amount > 10"}}]}', 'tx.out_withdrawals') r;
SELECT * FROM out_withdrawals;
SELECT pg_temp.err($$SELECT etl.execute_transformations('tx.orders', '{"steps": [{"type": "filter", "params": {"condition": "amout > 1"}}]}', 'tx.x')$$);
SELECT pg_temp.err($$SELECT etl.execute_transformations('tx.orders', '{"steps": [{"type": "filter", "params": {"condition": "1) FROM pg_class; DROP TABLE tx.orders; --"}}]}', 'tx.x')$$);
SELECT pg_temp.err($$SELECT etl.execute_transformations('tx.orders', '{"steps": [{"type": "filter", "params": {"condition": "amount > (SELECT 1)"}}]}', 'tx.x')$$);
-- a trailing comment cannot swallow the generated SQL around the expression
SELECT r->'rows' AS rows FROM etl.execute_transformations('tx.orders', '{"steps": [{"type": "filter", "params": {"condition": "amount > 60 -- )) x; DROP TABLE tx.orders"}}]}', 'tx.out_comment') r;
SELECT pg_temp.err($$SELECT etl.execute_transformations('tx.orders', '{"steps": [{"type": "filter", "params": {}}]}', 'tx.x')$$);
SELECT pg_temp.err($$SELECT etl.execute_transformations('tx.orders', '{"steps": [{"type": "filtr", "params": {}}]}', 'tx.x')$$);

-- map: rename, derive, overwrite, cast
SELECT r->'rows' AS rows FROM etl.execute_transformations('tx.orders',
  '{"steps": [{"type": "map", "params": {"mapping": {"status": "state"},
     "columns": {"amount": "amount * 2", "big": "amount >= 70", "label": "upper(coalesce(region, ''none''))"},
     "casts": {"amount": "int", "id": "text"}}}]}', 'tx.out_map') r;
SELECT * FROM out_map ORDER BY id;
SELECT format_type(atttypid, atttypmod) FROM pg_attribute
 WHERE attrelid = 'tx.out_map'::regclass AND attname IN ('id', 'amount') ORDER BY attnum;
SELECT pg_temp.err($$SELECT etl.execute_transformations('tx.orders', '{"steps": [{"type": "map", "params": {"mapping": {"stauts": "s"}}}]}', 'tx.x')$$);
SELECT pg_temp.err($$SELECT etl.execute_transformations('tx.orders', '{"steps": [{"type": "map", "params": {"casts": {"amount": "no_such_type"}}}]}', 'tx.x')$$);

-- select / drop
SELECT r->'rows' AS rows FROM etl.execute_transformations('tx.orders',
  '{"steps": [{"type": "select", "params": {"columns": ["region", "id"]}}]}', 'tx.out_select') r;
SELECT * FROM out_select ORDER BY id;
SELECT r->'rows' AS rows FROM etl.execute_transformations('tx.orders',
  '{"steps": [{"type": "drop", "params": {"columns": ["status", "region", "customer_id"]}}]}', 'tx.out_drop') r;
SELECT * FROM out_drop ORDER BY id;
SELECT pg_temp.err($$SELECT etl.execute_transformations('tx.orders', '{"steps": [{"type": "select", "params": {"columns": ["regoin"]}}]}', 'tx.x')$$);
SELECT pg_temp.err($$SELECT etl.execute_transformations('tx.orders', '{"steps": [{"type": "drop", "params": {"columns": ["id", "customer_id", "status", "amount", "region"]}}]}', 'tx.x')$$);

-- aggregate: one function keeps the name, a list names col_fn, count_rows, having on outputs
SELECT r->'rows' AS rows FROM etl.execute_transformations('tx.orders',
  '{"steps": [{"type": "aggregate", "params": {"groupby_cols": ["region"],
     "agg_functions": {"amount": ["sum", "avg", "min", "max", "count", "count_distinct", "median",
                                  "percentile_90", "stddev", "variance", "string_agg", "array_agg"],
                       "id": "max"},
     "count_rows": "n", "having": "n > 1"}}]}', 'tx.out_agg') r;
SELECT * FROM out_agg ORDER BY region;
SELECT r->'rows' AS rows FROM etl.execute_transformations(
  'SELECT * FROM tx.orders ORDER BY id',
  '{"steps": [{"type": "aggregate", "params": {"agg_functions": {"amount": ["first", "last"]}, "count_rows": "rows"}}]}',
  'tx.out_agg2') r;
SELECT * FROM out_agg2;
SELECT pg_temp.err($$SELECT etl.execute_transformations('tx.orders', '{"steps": [{"type": "aggregate", "params": {"groupby_cols": ["region"], "agg_functions": {"amount": "summ"}}}]}', 'tx.x')$$);
SELECT pg_temp.err($$SELECT etl.execute_transformations('tx.orders', '{"steps": [{"type": "aggregate", "params": {"groupby_cols": ["regio"], "agg_functions": {"amount": "sum"}}}]}', 'tx.x')$$);
SELECT pg_temp.err($$SELECT etl.execute_transformations('tx.orders', '{"steps": [{"type": "aggregate", "params": {"groupby_cols": ["region"], "agg_functions": {"amount": "sum"}, "having": "amont > 1"}}]}', 'tx.x')$$);

-- join: every how, on / left_on+right_on, suffixes; right is a relation here
SELECT r->'rows' AS rows FROM etl.execute_transformations('tx.orders',
  '{"steps": [{"type": "join", "params": {"right": "tx.customers", "how": "inner", "on": ["customer_id"]}}]}', 'tx.out_inner') r;
SELECT * FROM out_inner ORDER BY id;
SELECT r->'rows' AS rows FROM etl.execute_transformations('tx.orders',
  '{"steps": [{"type": "join", "params": {"right": "tx.customers", "how": "left", "on": ["customer_id"], "suffixes": ["_order", "_customer"]}}]}', 'tx.out_left') r;
SELECT * FROM out_left ORDER BY id;
SELECT r->'rows' AS rows FROM etl.execute_transformations('tx.orders',
  '{"steps": [{"type": "join", "params": {"right": "tx.customers", "how": "right", "on": ["customer_id"]}}]}', 'tx.out_right') r;
SELECT * FROM out_right ORDER BY customer_id, id;
SELECT r->'rows' AS rows FROM etl.execute_transformations('tx.orders',
  '{"steps": [{"type": "join", "params": {"right": "tx.customers", "how": "full", "left_on": ["customer_id"], "right_on": ["customer_id"]}}]}', 'tx.out_full') r;
SELECT * FROM out_full ORDER BY customer_id, id;
SELECT r->'rows' AS rows FROM etl.execute_transformations('tx.orders',
  '{"steps": [{"type": "join", "params": {"right": "tx.customers", "how": "semi", "on": ["customer_id", "region"]}}]}', 'tx.out_semi') r;
SELECT * FROM out_semi ORDER BY id;
SELECT r->'rows' AS rows FROM etl.execute_transformations('tx.orders',
  '{"steps": [{"type": "join", "params": {"right": "tx.customers", "how": "anti", "on": ["customer_id"]}}]}', 'tx.out_anti') r;
SELECT * FROM out_anti ORDER BY id;
SELECT pg_temp.err($$SELECT etl.execute_transformations('tx.orders', '{"steps": [{"type": "join", "params": {"right": "tx.customers", "how": "sideways", "on": ["customer_id"]}}]}', 'tx.x')$$);
SELECT pg_temp.err($$SELECT etl.execute_transformations('tx.orders', '{"steps": [{"type": "join", "params": {"right": "tx.customers", "left_on": ["customer_id"], "right_on": ["customerid"]}}]}', 'tx.x')$$);
SELECT pg_temp.err($$SELECT etl.execute_transformations('tx.orders', '{"steps": [{"type": "join", "params": {"right": "tx.nosuch", "on": ["customer_id"]}}]}', 'tx.x')$$);

-- pivot: discovered values and explicit ones; unpivot
SELECT r->'rows' AS rows FROM etl.execute_transformations('tx.orders',
  '{"steps": [{"type": "pivot", "params": {"index": ["customer_id"], "columns": "status", "values": "amount"}}]}', 'tx.out_pivot') r;
SELECT * FROM out_pivot ORDER BY customer_id;
SELECT r->'rows' AS rows FROM etl.execute_transformations('tx.orders',
  '{"steps": [{"type": "pivot", "params": {"index": ["region"], "columns": "customer_id", "values": "id", "agg": "count", "pivot_values": [10, 11, 99]}}]}', 'tx.out_pivot2') r;
SELECT * FROM out_pivot2 ORDER BY region;
SELECT pg_temp.err($$SELECT etl.execute_transformations('tx.orders', '{"steps": [{"type": "pivot", "params": {"index": ["region"], "columns": "id", "values": "amount", "max_values": 3}}]}', 'tx.x')$$);
SELECT r->'rows' AS rows FROM etl.execute_transformations('tx.orders',
  '{"steps": [{"type": "unpivot", "params": {"id_cols": ["id"], "value_cols": ["status", "region"], "name_col": "field", "value_col": "val"}}]}', 'tx.out_unpivot') r;
SELECT * FROM out_unpivot ORDER BY id, field;
SELECT pg_temp.err($$SELECT etl.execute_transformations('tx.orders', '{"steps": [{"type": "unpivot", "params": {"id_cols": ["idd"]}}]}', 'tx.x')$$);

-- dedupe: keep first / last by an order; without keys, distinct rows
SELECT r->'rows' AS rows FROM etl.execute_transformations('tx.orders',
  '{"steps": [{"type": "dedupe", "params": {"keys": ["customer_id"], "order": "amount DESC", "keep": "first"}}]}', 'tx.out_first') r;
SELECT * FROM out_first ORDER BY id;
SELECT r->'rows' AS rows FROM etl.execute_transformations('tx.orders',
  '{"steps": [{"type": "dedupe", "params": {"keys": ["customer_id"], "order": "amount DESC", "keep": "last"}}]}', 'tx.out_last') r;
SELECT * FROM out_last ORDER BY id;
SELECT r->'rows' AS rows FROM etl.execute_transformations('tx.orders',
  '{"steps": [{"type": "select", "params": {"columns": ["customer_id"]}}, {"type": "dedupe", "params": {}}]}', 'tx.out_distinct') r;
SELECT pg_temp.err($$SELECT etl.execute_transformations('tx.orders', '{"steps": [{"type": "dedupe", "params": {"keys": ["id"], "keep": "middle"}}]}', 'tx.x')$$);

-- sort and limit
SELECT r->'rows' AS rows FROM etl.execute_transformations('tx.orders',
  '{"steps": [{"type": "sort", "params": {"by": ["region DESC NULLS LAST", "amount"]}},
              {"type": "limit", "params": {"n": 3}}]}', 'tx.out_top') r;
SELECT * FROM out_top ORDER BY region DESC NULLS LAST, amount;
SELECT etl.execute_transformations('tx.orders',
  '{"steps": [{"type": "sort", "params": {"by": "amount DESC"}}]}', 'tx.out_sort')->>'sql' AS sql;
SELECT pg_temp.err($$SELECT etl.execute_transformations('tx.orders', '{"steps": [{"type": "sort", "params": {"by": ["amount DOWN"]}}]}', 'tx.x')$$);
SELECT pg_temp.err($$SELECT etl.execute_transformations('tx.orders', '{"steps": [{"type": "limit", "params": {"n": -1}}]}', 'tx.x')$$);

-- union by name (all / distinct), with the step ids given explicitly
SELECT r->'rows' AS rows FROM etl.execute_transformations('tx.orders',
  '{"steps": [{"id": "eu", "type": "filter", "params": {"condition": "region = ''EU''"}},
              {"id": "us", "type": "filter", "input": "source", "params": {"condition": "region = ''US''"}},
              {"id": "us_short", "type": "select", "params": {"columns": ["region", "id"]}},
              {"id": "both", "type": "union", "params": {"inputs": ["eu", "us_short", "us_short"], "distinct": true}}]}',
  'tx.out_union') r;
SELECT * FROM out_union ORDER BY id;
SELECT pg_temp.err($$SELECT etl.execute_transformations('tx.orders', '{"steps": [{"type": "union", "params": {"inputs": ["source", "nosuch"]}}]}', 'tx.x')$$);

-- window: row_number, lag, running sum by partition and order
SELECT r->'rows' AS rows FROM etl.execute_transformations('tx.orders',
  '{"steps": [{"type": "window", "params": {"partition_by": ["customer_id"], "order_by": ["id"],
     "columns": {"rn": "row_number()", "prev": "lag(amount)", "running": "sum(amount)"}}}]}', 'tx.out_window') r;
SELECT * FROM out_window ORDER BY id;
SELECT pg_temp.err($$SELECT etl.execute_transformations('tx.orders', '{"steps": [{"type": "window", "params": {"columns": {"x": "amount + 1"}}}]}', 'tx.x')$$);
SELECT pg_temp.err($$SELECT etl.execute_transformations('tx.orders', '{"steps": [{"type": "window", "params": {"columns": {"x": "sum(amount) OVER ()"}}}]}', 'tx.x')$$);

-- fill_null
SELECT r->'rows' AS rows FROM etl.execute_transformations(
  'SELECT id, region, NULLIF(amount, 20) AS amount FROM tx.orders',
  '{"steps": [{"type": "fill_null", "params": {"values": {"region": "unknown", "amount": 0}}}]}', 'tx.out_fill') r;
SELECT * FROM out_fill ORDER BY id;
SELECT pg_temp.err($$SELECT etl.execute_transformations('tx.orders', '{"steps": [{"type": "fill_null", "params": {"values": {"amount": "lots"}}}]}', 'tx.x')$$);

-- sql: {{input}} and {{input.ID}}, checked by the parser
SELECT r->'rows' AS rows FROM etl.execute_transformations('tx.orders',
  '{"steps": [{"id": "active", "type": "filter", "params": {"condition": "status = ''active''"}},
              {"type": "sql", "params": {"query": "SELECT a.id, s.status AS original FROM {{input}} a JOIN {{input.source}} s USING (id) WHERE a.amount >= 30;"}}]}',
  'tx.out_sql') r;
SELECT * FROM out_sql ORDER BY id;
SELECT pg_temp.err($$SELECT etl.execute_transformations('tx.orders', '{"steps": [{"type": "sql", "params": {"query": "SELECT 1; DROP TABLE tx.orders"}}]}', 'tx.x')$$);
SELECT pg_temp.err($$SELECT etl.execute_transformations('tx.orders', '{"steps": [{"type": "sql", "params": {"query": "DELETE FROM tx.orders"}}]}', 'tx.x')$$);
SELECT pg_temp.err($$SELECT etl.execute_transformations('tx.orders', '{"steps": [{"type": "sql", "params": {"query": "SELECT * FROM {{inputs}}"}}]}', 'tx.x')$$);
SELECT pg_temp.err($$SELECT etl.execute_transformations('tx.orders', '{"steps": [{"type": "sql", "params": {"query": "WITH d AS (DELETE FROM tx.orders RETURNING *) SELECT * FROM d"}}]}', 'tx.x')$$);
SELECT pg_temp.err($$SELECT etl.execute_transformations('WITH d AS (DELETE FROM tx.orders RETURNING *) SELECT * FROM d', '{"steps": []}', 'tx.x')$$);
SELECT count(*) AS orders_still_there FROM orders;

-- udf: scalar per row, and set-returning per row
CREATE FUNCTION tx.vat(numeric) RETURNS numeric LANGUAGE sql IMMUTABLE AS 'SELECT round($1 * 1.2, 2)';
CREATE FUNCTION tx.upto(int) RETURNS SETOF int LANGUAGE sql AS 'SELECT generate_series(1, $1 % 3)';
SELECT r->'rows' AS rows FROM etl.execute_transformations('tx.orders',
  '{"steps": [{"type": "udf", "params": {"function": "tx.vat", "args": ["amount"], "output": "gross"}},
              {"type": "select", "params": {"columns": ["id", "amount", "gross"]}}]}', 'tx.out_udf') r;
SELECT * FROM out_udf ORDER BY id;
SELECT r->'rows' AS rows FROM etl.execute_transformations('tx.orders',
  '{"steps": [{"type": "udf", "params": {"function": "tx.upto", "args": ["id"], "output": "k", "set_returning": true}},
              {"type": "select", "params": {"columns": ["id", "k"]}}]}', 'tx.out_srf') r;
SELECT * FROM out_srf ORDER BY id, k;
-- set-returning over the whole dataset: no args, fn(jsonb) receives the rows as one array
CREATE FUNCTION tx.top_customer(rows jsonb) RETURNS TABLE (customer_id int, total numeric) LANGUAGE sql AS $$
  SELECT (r->>'customer_id')::int, sum((r->>'amount')::numeric) FROM jsonb_array_elements(rows) r
   GROUP BY 1 ORDER BY 2 DESC LIMIT 1 $$;
SELECT r->'rows' AS rows FROM etl.execute_transformations('tx.orders',
  '{"steps": [{"type": "udf", "params": {"function": "tx.top_customer", "set_returning": true}}]}', 'tx.out_dataset') r;
SELECT * FROM out_dataset;
SELECT pg_temp.err($$SELECT etl.execute_transformations('tx.orders', '{"steps": [{"type": "udf", "params": {"function": "tx.upto", "set_returning": true}}]}', 'tx.x')$$);
SELECT pg_temp.err($$SELECT etl.execute_transformations('tx.orders', '{"steps": [{"type": "udf", "params": {"function": "tx.nosuch", "args": ["amount"]}}]}', 'tx.x')$$);
SELECT pg_temp.err($$SELECT etl.execute_transformations('tx.orders', '{"steps": [{"type": "udf", "params": {"function": "tx.upto", "args": ["id"]}}]}', 'tx.x')$$);

-- a step reading a later node, and duplicate ids
SELECT pg_temp.err($$SELECT etl.execute_transformations('tx.orders', '{"steps": [{"id": "a", "type": "filter", "input": "b", "params": {"condition": "true"}}, {"id": "b", "type": "filter", "params": {"condition": "true"}}]}', 'tx.x')$$);
SELECT pg_temp.err($$SELECT etl.execute_transformations('tx.orders', '{"steps": [{"id": "a", "type": "filter", "params": {"condition": "true"}}, {"id": "a", "type": "filter", "params": {"condition": "true"}}]}', 'tx.x')$$);
SELECT to_regclass('tx.x') AS no_target_left_behind;

RESET search_path;
DROP SCHEMA tx CASCADE;
