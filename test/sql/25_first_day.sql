-- 25_first_day: the traps of a first day (issue 14) through the public API —
-- honest targets (on_schema_change), aggregate outputs in the order written,
-- names over 63 bytes, errors that name their step and keep their hint,
-- rows_read under every engine, pipeline params defaults, the incremental
-- source feeding a replace target, the parallel engine's keys, and cron
-- forms the scheduler accepts.
\set VERBOSITY default
CREATE SCHEMA fd;
CREATE FUNCTION pg_temp.err(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE s text; m text; d text; h text;
BEGIN
  EXECUTE q;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS s = RETURNED_SQLSTATE, m = MESSAGE_TEXT, d = PG_EXCEPTION_DETAIL,
                          h = PG_EXCEPTION_HINT;
  RETURN s || ': ' || m || coalesce(E'\n detail: ' || nullif(d, ''), '')
           || coalesce(E'\n hint: ' || nullif(h, ''), '');
END $$;
CREATE TABLE fd.orders (id int PRIMARY KEY, region text, amount numeric, status text);
INSERT INTO fd.orders VALUES (1, 'EU', 2.5, 'paid'), (2, 'EU', 10, 'open'), (3, 'US', 4, 'paid'),
                             (4, 'US', 1, 'x7');

-- 1. on_schema_change: an existing integer column would store 2.5 as 3 — the
--    default (fail) refuses, names the column and the table's columns, and
--    leaves the table as it was
CREATE TABLE fd.amounts (id int, amount int);
INSERT INTO fd.amounts VALUES (0, 0);
SELECT etl.register_pipeline($$
pipeline:
  id: fd_osc
  sources: [{id: orders, type: postgresql, table: fd.orders}]
  transforms:
    - {id: pick, type: select, input: orders, params: {columns: [id, amount]}}
  targets: [{id: out, type: postgresql, table: fd.amounts, input: pick}]
$$);
SELECT r->>'status' AS status, r->'error'->>'sqlstate' AS sqlstate, r->'error'->>'message' AS message,
       r->'error'->>'detail' AS detail, r->'error'->>'hint' AS hint, r->'error'->>'step' AS step
  FROM etl.execute_pipeline('fd_osc') r;
SELECT * FROM fd.amounts;
-- append_new_columns never changes a type either
SELECT etl.register_pipeline(replace(etl.export_pipeline('fd_osc'), 'table: fd.amounts',
                                     E'table: fd.amounts\n    on_schema_change: append_new_columns'));
SELECT r->>'status' AS status, r->'error'->>'sqlstate' AS sqlstate, r->'error'->>'hint' AS hint
  FROM etl.execute_pipeline('fd_osc') r;
-- sync_all_columns (mode replace) takes the result's types: 2.5 stays 2.5
SELECT etl.register_pipeline(replace(etl.export_pipeline('fd_osc'), 'append_new_columns', 'sync_all_columns'));
SELECT r->>'status' AS status, r->>'rows_written' AS rows_written FROM etl.execute_pipeline('fd_osc') r;
SELECT * FROM fd.amounts ORDER BY id;
SELECT column_name, data_type FROM information_schema.columns
 WHERE table_schema = 'fd' AND table_name = 'amounts' ORDER BY ordinal_position;
-- append_new_columns adds a column the table lacks
CREATE TABLE fd.narrow (id int);
SELECT etl.register_pipeline($$
pipeline:
  id: fd_add
  sources: [{id: orders, type: postgresql, table: fd.orders}]
  transforms:
    - {id: pick, type: select, input: orders, params: {columns: [id, region]}}
  targets: [{id: out, type: postgresql, table: fd.narrow, input: pick, mode: append,
             on_schema_change: append_new_columns}]
$$);
SELECT r->>'status' AS status, r->>'rows_written' AS rows_written FROM etl.execute_pipeline('fd_add') r;
SELECT * FROM fd.narrow ORDER BY id;
-- recreate drops and creates the table
CREATE TABLE fd.wrong (x text);
INSERT INTO fd.wrong VALUES ('old');
SELECT etl.register_pipeline($$
pipeline:
  id: fd_recreate
  sources: [{id: orders, type: postgresql, table: fd.orders}]
  transforms:
    - {id: pick, type: select, input: orders, params: {columns: [id, amount]}}
  targets: [{id: out, type: postgresql, table: fd.wrong, input: pick, on_schema_change: recreate}]
$$);
SELECT r->>'status' AS status, r->>'rows_written' AS rows_written FROM etl.execute_pipeline('fd_recreate') r;
SELECT * FROM fd.wrong ORDER BY id;
-- recreate with mode append would lose the table's rows: refused at registration
SELECT * FROM etl.validate_config($$
pipeline:
  id: fd_bad_osc
  sources: [{id: orders, type: postgresql, table: fd.orders}]
  targets: [{id: out, type: postgresql, table: fd.wrong, mode: append, on_schema_change: recreate},
            {id: out2, type: postgresql, table: fd.wrong2, on_schema_change: rebuild}]
$$);

-- a pivot without pivot_values discovers its columns each run: a new value
-- fails the load (the default on_schema_change) and names the new column
SELECT etl.register_pipeline($$
pipeline:
  id: fd_pivot
  sources: [{id: orders, type: postgresql, table: fd.orders}]
  transforms:
    - {id: p, type: pivot, input: orders, params: {index: [region], columns: status, values: amount, agg: sum}}
  targets: [{id: out, type: postgresql, table: fd.pivoted, input: p, mode: append}]
$$);
SELECT r->>'status' AS status FROM etl.execute_pipeline('fd_pivot') r;
INSERT INTO fd.orders VALUES (5, 'EU', 7, 'refunded');
SELECT r->>'status' AS status, r->'error'->>'message' AS message, r->'error'->>'detail' AS detail
  FROM etl.execute_pipeline('fd_pivot') r;
DELETE FROM fd.orders WHERE id = 5;

-- 2. aggregate outputs come in the order written, can be named (as:) and can
--    aggregate expressions
SELECT etl.register_pipeline($$
pipeline:
  id: fd_agg
  sources: [{id: orders, type: postgresql, table: fd.orders}]
  transforms:
    - id: by_region
      type: aggregate
      input: orders
      params:
        groupby_cols: [region]
        aggregates:
          - {column: amount, function: sum, as: revenue}
          - {expression: "sum(CASE WHEN status = 'paid' THEN amount ELSE 0 END)", as: paid_revenue}
          - {function: count, as: orders}
          - {column: amount, function: max}
  targets: [{id: out, type: postgresql, table: fd.by_region, input: by_region}]
$$);
SELECT r->>'status' AS status FROM etl.execute_pipeline('fd_agg') r;
SELECT * FROM fd.by_region ORDER BY region;
-- agg_functions keep the order written too (jsonb would sort its keys)
SELECT etl.register_pipeline($$
pipeline:
  id: fd_agg2
  sources: [{id: orders, type: postgresql, table: fd.orders}]
  transforms:
    - {id: g, type: aggregate, input: orders,
       params: {groupby_cols: [region], agg_functions: {status: count, amount: [sum, avg]}, count_rows: n}}
  targets: [{id: out, type: postgresql, table: fd.by_region2, input: g}]
$$);
SELECT jsonb_pretty(etl.load_pipeline_config('fd_agg2') #> '{pipeline,transforms,0,params,aggregates}') AS aggregates;
SELECT r->>'status' AS status FROM etl.execute_pipeline('fd_agg2') r;
SELECT column_name FROM information_schema.columns
 WHERE table_schema = 'fd' AND table_name = 'by_region2' ORDER BY ordinal_position;
-- errors: unknown function (did-you-mean), a twice-named output, expression without as:
SELECT * FROM etl.validate_config($$
pipeline:
  id: fd_agg_bad
  sources: [{id: orders, type: postgresql, table: fd.orders}]
  transforms:
    - id: g
      type: aggregate
      params:
        groupby_cols: [region]
        aggregates:
          - {column: amount, function: summ}
          - {expression: "count(*)"}
          - {column: amount}
  targets: [{id: out, type: postgresql, table: fd.x}]
$$);
SELECT severity, path, message FROM etl.validate_config($$
pipeline:
  id: fd_agg_twice
  sources: [{id: orders, type: postgresql, table: fd.orders}]
  transforms:
    - id: g
      type: aggregate
      params:
        groupby_cols: [region]
        agg_functions: {amount: sum}
        aggregates:
          - {column: amount, function: max, as: region}
          - {column: id, function: count, as: amount_sum}
  targets: [{id: out, type: postgresql, table: fd.x}]
$$);

-- 3. names over 63 bytes are errors, not silent truncation
SELECT severity, path, message FROM etl.validate_config(format($$
pipeline:
  id: fd_long
  sources: [{id: orders, type: postgresql, table: fd.orders}]
  transforms:
    - {id: m, type: map, params: {columns: {%s: "amount * 2"}}}
  targets: [{id: out, type: postgresql, table: fd.%s}]
$$, repeat('c', 64), repeat('t', 64)));
SELECT pg_temp.err(format($$SELECT etl.execute_transformations('fd.orders', '{"steps": []}', 'fd.%s')$$,
                          repeat('t', 64)));

-- 4. errors name their step under every engine, and keep their hint: a bad
--    cast in a map step fails at run time (status 'paid' is no integer);
--    pushdown fuses the step into the load, yet the step is named
SELECT etl.register_pipeline(format($$
pipeline:
  id: fd_cast_%s
  engine: %s
  sources: [{id: orders, type: postgresql, table: fd.orders}]
  transforms:
    - {id: to_int, type: map, input: orders, params: {casts: {status: integer}}}
    - {id: paid, type: filter, input: to_int, params: {condition: "amount > 0"}}
  targets: [{id: out, type: postgresql, table: fd.cast_out, input: paid}]
$$, e, e)) FROM unnest(ARRAY['pushdown', 'staged']) AS e;
SELECT r->>'engine' AS engine, r->>'status' AS status, r->'error'->>'sqlstate' AS sqlstate,
       r->'error'->>'message' AS message, r->'error'->>'step' AS step
  FROM unnest(ARRAY['fd_cast_pushdown', 'fd_cast_staged']) AS p, LATERAL etl.execute_pipeline(p) r;
SELECT pipeline_id, engine, error_step FROM etl.pipeline_runs WHERE pipeline_id LIKE 'fd\_cast%' ORDER BY run_id;
SELECT to_regclass('fd.cast_out') AS target_created;
-- an unknown column at run time (the table changed after registration)
-- keeps its did-you-mean in the run record
CREATE TABLE fd.src2 (id int, amout numeric);
SELECT etl.register_pipeline($$
pipeline:
  id: fd_hint
  sources: [{id: s, type: postgresql, table: fd.src2}]
  transforms:
    - {id: f, type: filter, input: s, params: {condition: "amout > 0"}}
  targets: [{id: out, type: postgresql, table: fd.hint_out, input: f}]
$$);
ALTER TABLE fd.src2 RENAME COLUMN amout TO amounts;
SELECT r->'error'->>'sqlstate' AS sqlstate, r->'error'->>'step' AS step,
       r->'error'->>'message' AS message, r->'error'->>'hint' AS hint
  FROM etl.execute_pipeline('fd_hint') r;
SELECT error_hint FROM etl.pipeline_runs WHERE pipeline_id = 'fd_hint';

-- 5. rows_read is the source's rows under pushdown as under staged (a filter
--    keeps 2 of 4)
SELECT etl.register_pipeline(format($$
pipeline:
  id: fd_rows_%s
  engine: %s
  sources: [{id: orders, type: postgresql, table: fd.orders}]
  transforms:
    - {id: paid, type: filter, input: orders, params: {condition: "status = 'paid'"}}
  targets: [{id: out, type: postgresql, table: fd.rows_out_%s, input: paid}]
$$, e, e, e)) FROM unnest(ARRAY['pushdown', 'staged']) AS e;
SELECT r->>'engine' AS engine, r->>'rows_read' AS rows_read, r->>'rows_written' AS rows_written
  FROM unnest(ARRAY['fd_rows_pushdown', 'fd_rows_staged']) AS p, LATERAL etl.execute_pipeline(p) r;
SELECT r.engine, r.rows_read, s.step_id, s.rows
  FROM etl.pipeline_runs r JOIN etl.step_runs s USING (run_id)
 WHERE r.pipeline_id LIKE 'fd\_rows%' AND s.kind = 'source' ORDER BY r.run_id;

-- a run summary over 32 KB (a long error) is returned whole
CREATE FUNCTION fd.shout(x numeric) RETURNS numeric LANGUAGE plpgsql AS $f$
BEGIN
  RAISE EXCEPTION 'too loud: %', repeat('a', 40000) USING DETAIL = repeat('d', 1000);
END $f$;
SELECT etl.register_pipeline($$
pipeline:
  id: fd_long_error
  sources: [{id: orders, type: postgresql, table: fd.orders}]
  transforms:
    - {id: loud, type: udf, input: orders, params: {function: fd.shout, args: [amount], output: y}}
  targets: [{id: out, type: postgresql, table: fd.loud_out, input: loud}]
$$);
SELECT r->>'status' AS status, length(r::text) > 32768 AS over_32kb, length(r->'error'->>'message') AS message_length,
       r->'error'->>'step' AS step
  FROM etl.execute_pipeline('fd_long_error') r;

-- 6. pipeline params: a run that passes none takes the declared defaults
SELECT etl.register_pipeline($$
pipeline:
  id: fd_params
  params: {region: EU, min_amount: 3}
  sources:
    - id: orders
      type: postgresql
      query: "SELECT * FROM fd.orders WHERE region = {{param.region}} AND amount >= {{param.min_amount}}"
  targets: [{id: out, type: postgresql, table: fd.params_out, input: orders}]
$$);
SELECT r->>'status' AS status, r->>'rows_written' AS rows_written FROM etl.execute_pipeline('fd_params') r;
SELECT id, region FROM fd.params_out ORDER BY id;
-- a passed param overrides its default, the others keep theirs
SELECT r->>'rows_written' AS rows_written
  FROM etl.execute_pipeline('fd_params', params => '{"region": "US"}') r;
SELECT id, region FROM fd.params_out ORDER BY id;

-- 7. an incremental source feeding a replace target: a warning with the fix
SELECT severity, path, message FROM etl.validate_config($$
pipeline:
  id: fd_incr
  sources:
    - {id: changed, type: postgresql, query: "SELECT * FROM fd.orders WHERE id > '{{last_run}}'"}
  transforms:
    - {id: g, type: aggregate, input: changed, params: {groupby_cols: [region], count_rows: n}}
  targets:
    - {id: summary, type: postgresql, table: fd.summary, input: g}
    - {id: log, type: postgresql, table: fd.log, input: changed, mode: append}
$$);

-- 8. the parallel engine's source keys validate (and register) as they run
SELECT etl.register_pipeline($$
pipeline:
  id: fd_par
  engine: parallel
  sources: [{id: orders, type: postgresql, table: fd.orders, split_key: id, workers: 2}]
  targets: [{id: out, type: postgresql, table: fd.par_out, input: orders}]
$$);
SELECT r->>'status' AS status, r->>'engine' AS engine, r->>'rows_written' AS rows_written
  FROM etl.execute_pipeline('fd_par') r;
SELECT severity, path, message FROM etl.validate_config($$
pipeline:
  id: fd_par_bad
  sources:
    - {id: a, type: postgresql, query: "SELECT 1 AS id", split_key: id}
    - {id: b, type: postgresql, table: fd.orders, split_key: id, workers: 20}
    - {id: c, type: postgresql, table: fd.orders, workers: 4}
  targets: [{id: out, type: postgresql, table: fd.x, input: a}, {id: out_b, type: postgresql, table: fd.x, input: b},
            {id: out_c, type: postgresql, table: fd.x, input: c}]
$$);

-- 9. registration checks against the catalog: the tables exist, so the
--    pipeline is compiled and an unknown column is a problem at its path,
--    with the compiler's did-you-mean; register_pipeline refuses it
CREATE TABLE fd.customers (customer_id int, segment text);
SELECT v.severity, v.path, v.line, v.col, v.message
  FROM (VALUES ('amout', 'amount', 'customer_id'), ('amount', 'amuont', 'customer_id'),
               ('amount', 'amount', 'customerid')) AS c(filter, agg, right_on),
       LATERAL etl.validate_config(format($$
pipeline:
  id: fd_catalog
  sources: [{id: orders, type: postgresql, table: fd.orders}]
  transforms:
    - {id: big, type: filter, input: orders, params: {condition: "%s > 1"}}
    - {id: by_region, type: aggregate, input: big, params: {groupby_cols: [region], agg_functions: {%s: sum}}}
    - {id: seg, type: join, input: big, params: {right: fd.customers, left_on: [id], right_on: [%s]}}
  targets: [{id: out, type: postgresql, table: fd.catalog_out, input: seg},
            {id: out2, type: postgresql, table: fd.catalog_out2, input: by_region}]
$$, c.filter, c.agg, c.right_on)) AS v;
SELECT pg_temp.err($$SELECT etl.register_pipeline('
pipeline:
  id: fd_catalog
  sources: [{id: orders, type: postgresql, table: fd.orders}]
  transforms: [{id: big, type: filter, params: {condition: "amout > 1"}}]
  targets: [{id: out, type: postgresql, table: fd.catalog_out}]
')$$);
SELECT count(*) AS registered FROM etl.pipelines WHERE pipeline_id = 'fd_catalog';
-- a table that does not exist yet is not checked: the pipeline registers
SELECT count(*) AS problems FROM etl.validate_config($$
pipeline:
  id: fd_later
  sources: [{id: orders, type: postgresql, table: fd.created_later}]
  transforms: [{id: big, type: filter, params: {condition: "amout > 1"}}]
  targets: [{id: out, type: postgresql, table: fd.later_out}]
$$);

-- alerts.performance_factor, which monitoring reads, validates (1 to 100)
SELECT f.factor, v.severity, v.path, v.message
  FROM (VALUES ('3'), ('0.5')) AS f(factor)
  LEFT JOIN LATERAL etl.validate_config(format($$
pipeline:
  id: fd_perf
  sources: [{id: orders, type: postgresql, table: fd.orders}]
  targets: [{id: out, type: postgresql, table: fd.perf_out}]
  alerts: {on: [failure], performance_factor: %s}
$$, f.factor)) AS v ON true ORDER BY f.factor;

-- 10. cron: the validator accepts exactly what the scheduler parses
SELECT c.cron, count(v.*) AS problems
  FROM (VALUES ('@every 5m'), ('@reboot'), ('0 12 L * *'), ('*/10 * * * * *')) AS c(cron)
  LEFT JOIN LATERAL etl.validate_config(format($$
pipeline:
  id: fd_cron
  sources: [{id: orders, type: postgresql, table: fd.orders}]
  targets: [{id: out, type: postgresql, table: fd.cron_out}]
  schedule: {cron: "%s"}
$$, c.cron)) AS v ON true
 GROUP BY c.cron ORDER BY c.cron;
SELECT etl.register_pipeline($$
pipeline:
  id: fd_cron
  sources: [{id: orders, type: postgresql, table: fd.orders}]
  targets: [{id: out, type: postgresql, table: fd.cron_out}]
  schedule: {cron: "@every 5m"}
$$);
SELECT etl.load_pipeline_config('fd_cron') #>> '{pipeline,schedule,cron}' AS cron;
SELECT severity, message FROM etl.validate_config($$
pipeline:
  id: fd_cron_bad
  sources: [{id: orders, type: postgresql, table: fd.orders}]
  targets: [{id: out, type: postgresql, table: fd.cron_out}]
  schedule: {cron: "@every 0s"}
$$);


-- item 4: quality rules are checked against the columns of the node they check
-- (path, line, column and a did-you-mean); shape rules name columns that may be
-- missing on purpose and are not
SELECT severity, path, line, col, message FROM etl.validate_config($$
pipeline:
  id: fd_rules
  sources: [{id: orders, type: postgresql, table: fd.orders}]
  transforms:
    - {id: paid, type: filter, params: {condition: "status = 'paid'"}}
  targets: [{id: out, type: postgresql, table: fd.rules_out}]
  quality:
    rules:
      - {type: completeness, column: amout}
      - {type: uniqueness, columns: [id, regon]}
      - {type: min, column: amount, min: 0, on: paid}
      - {type: column_pair, columns: [amount, statuss], check: not_equal, on: paid}
      - {type: schema, required_columns: [not_there]}
$$);
-- register_pipeline refuses it with the same problems
SELECT pg_temp.err($$SELECT etl.register_pipeline($y$
pipeline:
  id: fd_rules
  sources: [{id: orders, type: postgresql, table: fd.orders}]
  targets: [{id: out, type: postgresql, table: fd.rules_out}]
  quality: {rules: [{type: validity, column: amout, check: range, min: 0}]}
$y$)$$) AS refused;
SELECT count(*) AS registered FROM etl.pipelines WHERE pipeline_id = 'fd_rules';
-- objects that do not exist yet are warnings (register_pipeline: a notice), not errors
SELECT severity, path, line, col, message FROM etl.validate_config($$
pipeline:
  id: fd_later
  sources:
    - {id: orders, type: postgresql, table: fd.not_yet}
  targets: [{id: out, type: postgresql, table: fd.later_out, connection: fd_nowhere}]
  quality: {rules: [{type: completeness, column: whatever}]}
$$);
SELECT severity, path, message FROM etl.validate_config($$
pipeline:
  id: fd_later_q
  sources: [{id: orders, type: postgresql, query: "SELECT * FROM fd.not_yet_either"}]
  targets: [{id: out, type: postgresql, table: fd.later_out}]
$$);
SELECT etl.register_pipeline($$
pipeline:
  id: fd_later
  sources: [{id: orders, type: postgresql, table: fd.not_yet}]
  targets: [{id: out, type: postgresql, table: fd.later_out}]
$$);

DELETE FROM etl.pipelines WHERE pipeline_id LIKE 'fd\_%';
DELETE FROM etl.alerts WHERE pipeline_id LIKE 'fd\_%';
DELETE FROM etl.audit_log WHERE object_id LIKE 'fd\_%';
DROP SCHEMA fd CASCADE;
