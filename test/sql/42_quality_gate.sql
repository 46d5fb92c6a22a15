-- 42_quality_gate: named profiles (etl.define_quality_profile), the
-- original entry point etl.execute_dq_validation, the score formula and its
-- weights, the gate's in-transaction behaviour and quarantine.
\set SHOW_CONTEXT never
CREATE TABLE public.q42_orders (order_id int PRIMARY KEY, customer text, amount numeric, status text,
                                ordered date, shipped date);
INSERT INTO q42_orders
SELECT i, 'c' || (i % 10), CASE WHEN i % 25 = 0 THEN -1 ELSE i * 1.5 END,
       CASE WHEN i % 20 = 0 THEN 'lost' ELSE (ARRAY['new', 'paid', 'shipped'])[1 + i % 3] END,
       DATE '2024-01-01' + i, CASE WHEN i % 50 = 0 THEN DATE '2023-01-01' ELSE DATE '2024-01-02' + i END
  FROM generate_series(1, 100) i;
UPDATE q42_orders SET customer = NULL WHERE order_id IN (7, 8);

-- a named profile: rules, weights and options; normalised on the way in
SELECT etl.define_quality_profile('orders_dq', $$
{"rules": [
   {"type": "completeness", "column": "customer"},
   {"type": "validity", "check": "range", "column": "amount", "min": 0, "threshold": 90},
   {"type": "validity", "check": "allowed_values", "column": "status", "values": ["new", "paid", "shipped"], "severity": "warn"},
   {"type": "uniqueness", "column": "order_id"},
   {"type": "consistency", "expression": "shipped >= ordered"}],
 "weights": {"completeness": 1, "validity": 1, "uniqueness": 1, "consistency": 1, "timeliness": 0},
 "options": {"samples": 2}}$$);
SELECT name, jsonb_array_length(rules) AS rules, rules->0->>'name' AS first_rule, rules->0->>'severity' AS severity,
       weights, options
  FROM etl.quality_profiles WHERE name = 'orders_dq';

-- execute_dq_validation: quality_score, passed and checks
SELECT r->'quality_score' AS quality_score, r->'passed' AS passed, r->'dimensions' AS dimensions
  FROM etl.execute_dq_validation('q42_orders', 'orders_dq') r;
SELECT c->>'rule' AS rule, c->>'type' AS type, c->>'column' AS column, c->'passed' AS passed,
       c->'observed' AS observed, c->'threshold' AS threshold, c->'failed_rows' AS failed_rows, c->'samples' AS samples
  FROM etl.execute_dq_validation('q42_orders', 'orders_dq') r, jsonb_array_elements(r->'checks') c;

-- the score: per dimension the mean pass percentage of its rules; overall
-- the weighted mean over dimensions that have rules.  Recomputed by hand:
SELECT s.quality_score, s.completeness, s.validity, s.uniqueness, s.consistency, s.timeliness, s.passed, s.rows_checked,
       s.quality_score = round((98.0 + (96.0 + 95.0) / 2 + 100.0 + 98.0) / 4, 2) AS formula_ok
  FROM etl.quality_scores s WHERE s.profile_name = 'orders_dq' ORDER BY score_id DESC LIMIT 1;
-- default weights (completeness .25, validity .25, uniqueness .20, consistency .15, timeliness .15)
SELECT (r->>'quality_score')::numeric = round((0.25 * 98 + 0.25 * 95.5 + 0.20 * 100 + 0.15 * 98) / 0.85, 2) AS default_weights_ok
  FROM etl.execute_dq_validation('q42_orders', 'orders_dq', options => '{"weights": {"completeness": 0.25, "validity": 0.25, "uniqueness": 0.2, "consistency": 0.15, "timeliness": 0.15}}') r;

-- redefining replaces; a run id ties results to a pipeline run
SELECT etl.define_quality_profile('orders_dq', '[{"type": "completeness", "column": "customer", "threshold": 95}]');
INSERT INTO etl.pipelines (pipeline_id, name, config) VALUES ('q42_pipe', 'q42', '{}');
INSERT INTO etl.pipeline_runs (pipeline_id) VALUES ('q42_pipe') RETURNING run_id AS q42_run \gset
SELECT r->'passed' AS passed, jsonb_array_length(r->'checks') AS checks
  FROM etl.execute_dq_validation('q42_orders', 'orders_dq', :q42_run) r;
SELECT count(*) AS completeness_rows_for_run FROM etl.completeness_checks WHERE run_id = :q42_run;
SELECT pipeline_id, passed FROM etl.quality_scores WHERE run_id = :q42_run;

-- profiling in the same scan
SELECT r->'profile'->'row_count' AS profiled_rows, jsonb_array_length(r->'profile'->'columns') AS profiled_columns
  FROM etl.execute_dq_validation('q42_orders', 'orders_dq', options => '{"profile": true}') r;

-- the gate runs in the caller's transaction: a rollback removes its records
BEGIN;
SELECT (etl.quality_gate('q42_orders', '[{"type": "completeness", "column": "customer"}]', pipeline_id => 'q42_pipe'))->'passed' AS passed;
SELECT count(*) AS scores_inside FROM etl.quality_scores WHERE pipeline_id = 'q42_pipe' AND run_id IS NULL;
ROLLBACK;
SELECT count(*) AS scores_after_rollback FROM etl.quality_scores WHERE pipeline_id = 'q42_pipe' AND run_id IS NULL;

-- quarantine: rows failing error-severity row-level rules move to the
-- quarantine table with the names of the rules they broke; the rest stays
-- and the gate passes; warn rules and dataset-level rules are not diverted
CREATE TEMP TABLE q42_stage AS SELECT * FROM q42_orders;
SELECT g->'passed' AS passed, g->'quarantined_rows' AS quarantined, g->'failed_rules' AS failed_rules,
       (SELECT jsonb_agg(c->'rule') FROM jsonb_array_elements(g->'checks') c WHERE c ? 'quarantined') AS quarantined_rules
  FROM etl.quality_gate('q42_stage', $$[
         {"type": "completeness", "column": "customer"},
         {"type": "validity", "check": "range", "column": "amount", "min": 0},
         {"type": "consistency", "expression": "shipped >= ordered"},
         {"type": "validity", "check": "allowed_values", "column": "status", "values": ["new", "paid", "shipped"], "severity": "warn"}]$$,
         pipeline_id => 'q42_pipe', options => '{"quarantine": "q42_quarantine"}') g;
SELECT count(*) AS rows_left FROM q42_stage;
SELECT rules, row_data->'order_id' AS order_id, dataset, pipeline_id
  FROM q42_quarantine ORDER BY (row_data->>'order_id')::int;
-- the rules object form (the pipeline's quality block) carries quarantine too
SELECT g->'passed' AS passed, g->'quarantined_rows' AS quarantined
  FROM etl.quality_gate('q42_stage', '{"gate": "error", "quarantine": "q42_quarantine", "rules": [{"type": "completeness", "column": "customer"}]}') g;
-- dataset-level failures still fail the gate
SELECT g->'passed' AS passed, g->'failed_rules' AS failed_rules
  FROM etl.quality_gate('q42_stage', '[{"type": "row_count", "min": 1000}]', options => '{"quarantine": "q42_quarantine"}') g;
-- quarantine needs a table
-- errors as SQLSTATE: message
CREATE FUNCTION pg_temp.err(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE sql;
    RETURN 'no error';
EXCEPTION WHEN others THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;
SELECT pg_temp.err($q$SELECT etl.quality_gate('SELECT * FROM q42_orders', '[{"type": "completeness", "column": "customer"}]',
                        options => '{"quarantine": "q42_quarantine"}')$q$);
SELECT pg_temp.err($q$SELECT etl.execute_dq_validation('q42_orders', 'no_such_profile')$q$);
SELECT pg_temp.err($q$SELECT etl.define_quality_profile('Bad Name', '[]')$q$);
SELECT pg_temp.err($q$SELECT etl.define_quality_profile('p42', '{"rules": [], "weights": {"speed": 1}}')$q$);
SELECT pg_temp.err($q$SELECT etl.define_quality_profile('p42', '[{"type": "completeness"}]')$q$);
SELECT count(*) AS profiles_named_p42 FROM etl.quality_profiles WHERE name = 'p42';

DELETE FROM etl.quality_scores WHERE dataset IN ('q42_orders', 'q42_stage');
DELETE FROM etl.profiling_stats WHERE dataset = 'q42_orders';
DELETE FROM etl.quality_profiles WHERE name = 'orders_dq';
DELETE FROM etl.pipelines WHERE pipeline_id = 'q42_pipe';
DROP TABLE q42_orders, q42_stage, q42_quarantine;
