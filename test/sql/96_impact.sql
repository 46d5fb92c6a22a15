-- 96_impact: impact analysis across pipelines, transitively, from column
-- lineage: three chained pipelines (raw -> stage -> mart -> report), a
-- column's and a whole relation's impact, filter-only impact, depth limits,
-- a cycle; dependencies inferred from lineage in etl.check_dependencies and
-- in schedules with depends_on: auto, following lineage as it changes.
\set SHOW_CONTEXT never

CREATE SCHEMA lin96;
CREATE TABLE lin96.raw (id int PRIMARY KEY, customer text, amount numeric, status text);
INSERT INTO lin96.raw VALUES (1, 'ann', 10, 'ok'), (2, 'bob', 20, 'void'), (3, 'ann', 5, 'ok');

-- raw -> stage: void rows dropped, amount renamed, a derived column, status dropped
SELECT etl.register_pipeline($yaml$
pipeline:
  id: lin96_a
  sources: [{id: r, type: postgresql, table: lin96.raw}]
  transforms:
    - {id: valid, type: filter, params: {condition: "status <> 'void'"}}
    - {id: named, type: map, params: {mapping: {amount: amt}, columns: {amt_eur: "amount * 0.9"}}}
    - {id: cols, type: select, params: {columns: [id, customer, amt, amt_eur]}}
  targets: [{id: t, type: postgresql, table: lin96.stage}]
$yaml$);
SELECT etl.execute_pipeline('lin96_a') ->> 'status' AS a;
-- stage -> mart: per customer
SELECT etl.register_pipeline($yaml$
pipeline:
  id: lin96_b
  sources: [{id: s, type: postgresql, table: lin96.stage}]
  transforms:
    - {id: per_customer, type: aggregate, params: {groupby_cols: [customer], agg_functions: {amt_eur: sum}, count_rows: n}}
  targets: [{id: t, type: postgresql, table: lin96.mart}]
$yaml$);
SELECT etl.execute_pipeline('lin96_b') ->> 'status' AS b;
-- mart -> report
SELECT etl.register_pipeline($yaml$
pipeline:
  id: lin96_c
  sources: [{id: m, type: postgresql, table: lin96.mart}]
  transforms:
    - {id: active, type: filter, params: {condition: "n > 0"}}
  targets: [{id: t, type: postgresql, table: lin96.report}]
$yaml$);

SELECT pipeline_id, source, source_column, target, target_column, transform
  FROM (SELECT * FROM etl.lineage('lin96_a') UNION ALL SELECT * FROM etl.lineage('lin96_b')
        UNION ALL SELECT * FROM etl.lineage('lin96_c')) l
 ORDER BY pipeline_id, target_column NULLS LAST, source_column;

-- ---------------------------------------------------------------------------
-- etl.impact
-- ---------------------------------------------------------------------------
-- amount becomes stage.amt (renamed) and stage.amt_eur, which is summed
-- into mart and copied into report
SELECT * FROM etl.impact('lin96.raw', 'amount');
-- status is dropped, but decides which rows reach stage, and so mart and report
SELECT * FROM etl.impact('lin96.raw', 'status');
-- a whole relation
SELECT * FROM etl.impact('lin96.stage');
-- at most two hops
SELECT * FROM etl.impact('lin96.raw', 'amount', 2);
-- a column read nowhere, a relation no pipeline reads
SELECT * FROM etl.impact('lin96.raw', 'id');
SELECT * FROM etl.impact('lin96.report');
-- names resolve on the search_path like any relation name
SET search_path = lin96, public;
SELECT count(*) AS same_impact FROM etl.impact('raw', 'amount');
RESET search_path;

-- a cycle (report feeds stage again) ends: each pipeline's target column once, at its shortest depth
SELECT etl.register_pipeline($yaml$
pipeline:
  id: lin96_d
  sources: [{id: rep, type: postgresql, query: "SELECT 0 AS id, customer, amt_eur AS amt, amt_eur FROM lin96.report"}]
  targets: [{id: t, type: postgresql, table: lin96.stage, mode: append}]
$yaml$);
SELECT etl.execute_pipeline('lin96_c') ->> 'status' AS c;
SELECT * FROM etl.impact('lin96.raw', 'amount');

-- errors
SELECT * FROM etl.impact(NULL);
SELECT * FROM etl.impact('lin96.raw', 'amount', 0);

-- ---------------------------------------------------------------------------
-- dependencies from lineage
-- ---------------------------------------------------------------------------
SELECT etl.check_dependencies('lin96_c') -> 'lineage_depends_on' AS c_upstreams,
       etl.check_dependencies('lin96_b') -> 'lineage_depends_on' AS b_upstreams,
       etl.check_dependencies('lin96_a') -> 'lineage_depends_on' AS a_upstreams;

-- depends_on: auto in a schedule is the lineage's upstreams
SELECT etl.schedule_pipeline('lin96_c', '0 0 1 1 *', 'UTC', '{"depends_on": "auto", "paused": true}') > 0 AS scheduled;
SELECT depends_on, options -> 'depends_on' AS asked FROM etl.schedules WHERE pipeline_id = 'lin96_c';
SELECT d -> 'ready' AS ready, d -> 'depends_on' AS depends_on, d -> 'lineage_depends_on' AS lineage_depends_on,
       jsonb_path_query_array(d, '$.blocking[*].pipeline_id') AS blocking
  FROM etl.check_dependencies('lin96_c') d;
-- ... and follows lineage: lin96_b now writes another table
SELECT etl.register_pipeline(jsonb_set(etl.load_pipeline_config('lin96_b'), '{pipeline,targets,0,table}', '"lin96.mart_v2"')::text);
SELECT count(*) > 0 AS b_lineage FROM etl.lineage('lin96_b');
SELECT depends_on FROM etl.schedules WHERE pipeline_id = 'lin96_c';
SELECT etl.register_pipeline(jsonb_set(etl.load_pipeline_config('lin96_b'), '{pipeline,targets,0,table}', '"lin96.mart"')::text);
SELECT count(*) > 0 AS b_lineage FROM etl.lineage('lin96_b');
SELECT depends_on FROM etl.schedules WHERE pipeline_id = 'lin96_c';

-- in a pipeline's config: schedule: {depends_on: auto}
SELECT * FROM etl.validate_config($yaml$
pipeline:
  id: lin96_e
  sources: [{id: r, type: postgresql, table: lin96.report}]
  targets: [{id: t, type: postgresql, table: lin96.report_copy}]
  schedule: {cron: "0 0 1 1 *", depends_on: auto}
$yaml$);
SELECT etl.register_pipeline($yaml$
pipeline:
  id: lin96_e
  sources: [{id: r, type: postgresql, table: lin96.report}]
  targets: [{id: t, type: postgresql, table: lin96.report_copy}]
  schedule: {cron: "0 0 1 1 *", depends_on: auto}
$yaml$);
SELECT etl.load_pipeline_config('lin96_e') #> '{pipeline,schedule,depends_on}' AS config_says;
SELECT depends_on FROM etl.schedules WHERE pipeline_id = 'lin96_e';
-- a list is still a list; anything else is an error
SELECT path, message FROM etl.validate_config($yaml$
pipeline:
  id: lin96_f
  sources: [{id: r, type: postgresql, table: lin96.report}]
  targets: [{id: t, type: postgresql, table: lin96.report_copy}]
  schedule: {cron: "0 0 1 1 *", depends_on: Automatic}
$yaml$);
SELECT etl.schedule_pipeline('lin96_c', '0 0 1 1 *', 'UTC', '{"depends_on": "everything"}');

-- clean up
SET client_min_messages = warning;
SELECT etl.unschedule_pipeline(p) FROM unnest(ARRAY['lin96_c', 'lin96_e']) p;
SELECT etl.drop_pipeline(p) FROM unnest(ARRAY['lin96_a', 'lin96_b', 'lin96_c', 'lin96_d', 'lin96_e']) p;
DROP SCHEMA lin96 CASCADE;
DELETE FROM etl.schema_versions WHERE relation LIKE 'lin96.%';
RESET client_min_messages;
