-- 46_quality_rule_vocabulary: one rule normaliser (src/quality/rules.c) for
-- etl.validate_config, etl.register_pipeline, etl.define_quality_profile,
-- etl.quality_gate and runs: what validates is what runs, the same rule
-- gives the same normalised form and the same error everywhere.
\set SHOW_CONTEXT never
CREATE FUNCTION pg_temp.err(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    d text;
BEGIN
    EXECUTE sql;
    RETURN 'no error';
EXCEPTION WHEN others THEN
    GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
    RETURN SQLSTATE || ': ' || SQLERRM || coalesce(E'\n  detail: ' || nullif(d, ''), '');
END
$$;

-- the original design's shorthand type: pattern is accepted by both paths
-- (validate_config refused it in 0.1.0) and normalised the same way
SELECT count(*) AS problems FROM etl.validate_config($$pipeline:
  id: q46_pipe
  sources: [{id: src, type: postgresql, table: q46_people}]
  targets: [{id: out, type: postgresql, table: q46_out}]
  quality:
    rules:
      - {type: pattern, column: email, pattern: "@"}
$$);
CREATE TABLE public.q46_people (id int PRIMARY KEY, email text, age int);
INSERT INTO q46_people VALUES (1, 'a@x', 30), (2, 'b', 40), (3, NULL, 50);
SELECT etl.register_pipeline($$pipeline:
  id: q46_pipe
  sources: [{id: src, type: postgresql, table: q46_people}]
  targets: [{id: out, type: postgresql, table: q46_out}]
  quality:
    gate: warn
    rules:
      - {type: pattern, column: email, pattern: "@"}
$$);
SELECT etl.define_quality_profile('q46_profile', '[{"type": "pattern", "column": "email", "pattern": "@"}]');
SELECT (etl.load_pipeline_config('q46_pipe') #> '{pipeline,quality,rules,0}') - 'on' AS from_config,
       (SELECT rules->0 FROM etl.quality_profiles WHERE name = 'q46_profile') AS from_profile,
       ((etl.load_pipeline_config('q46_pipe') #> '{pipeline,quality,rules,0}') - 'on')
         = (SELECT rules->0 FROM etl.quality_profiles WHERE name = 'q46_profile') AS same;
-- and it runs: in a pipeline run and through the profile
SELECT r->>'status' AS status, r->'quality_score' AS score FROM etl.execute_pipeline('q46_pipe') r;
SELECT c->>'rule' AS rule, c->'failed_rows' AS failed
  FROM etl.execute_dq_validation('q46_people', 'q46_profile') r, jsonb_array_elements(r->'checks') c;

-- normalising a normalised rule set gives it back unchanged
SELECT etl._normalize_rules(rules) = rules AS idempotent
  FROM etl.quality_profiles WHERE name = 'q46_profile';
SELECT etl._normalize_rules(etl.load_pipeline_config('q46_pipe') #> '{pipeline,quality,rules}')
       = etl.load_pipeline_config('q46_pipe') #> '{pipeline,quality,rules}' AS idempotent_from_config;

-- generated names are unique: two unnamed validity rules on one column
-- (0.1.0 refused them), and a generated name never takes an explicit one
SELECT r->>'name' AS name, r->>'check' AS check
  FROM jsonb_array_elements(etl._normalize_rules($$[
    {"type": "validity", "check": "range", "column": "age", "min": 0},
    {"type": "validity", "check": "range", "column": "age", "max": 120},
    {"name": "validity_age_3", "type": "completeness", "column": "age"},
    {"type": "validity", "check": "pattern", "column": "age", "pattern": "^[0-9]+$"},
    {"type": "uniqueness", "columns": ["id", "email"]},
    {"type": "completeness", "column": "Mixed Case"}]$$)) r;
SELECT etl.define_quality_profile('q46_two', $$[
    {"type": "validity", "check": "range", "column": "age", "min": 0},
    {"type": "validity", "check": "range", "column": "age", "max": 45}]$$);
SELECT c->>'rule' AS rule, c->'passed' AS passed, c->'failed_rows' AS failed
  FROM etl.execute_dq_validation('q46_people', 'q46_two') r, jsonb_array_elements(r->'checks') c;

-- the same mistake, the same message: validate_config gives path, line and
-- column; the SQL functions raise 22023 naming the rule and the path
SELECT severity, path, line, col, message FROM etl.validate_config($$pipeline:
  id: q46_bad
  sources: [{id: src, type: postgresql, table: q46_people}]
  targets: [{id: out, type: postgresql, table: q46_out}]
  quality:
    rules:
      - {type: completeness, column: email}
      - {type: validity, check: range, column: age, min: 10, max: 1, colour: red}
      - {type: uniqueness, column: email, nulls: maybe}
$$);
SELECT pg_temp.err($q$SELECT etl.define_quality_profile('q46_bad', '[
  {"type": "completeness", "column": "email"},
  {"type": "validity", "check": "range", "column": "age", "min": 10, "max": 1, "colour": "red"},
  {"type": "uniqueness", "column": "email", "nulls": "maybe"}]')$q$);
SELECT pg_temp.err($q$SELECT etl.quality_gate('q46_people', '[{"type": "uniqueness", "column": "email", "nulls": "maybe"}]')$q$);
SELECT pg_temp.err($q$SELECT etl.quality_gate('q46_people', '[{"type": "validity", "check": "length", "column": "email", "min": 2, "pattern": "@"}]')$q$);
SELECT pg_temp.err($q$SELECT etl.quality_gate('q46_people', '[{"type": "custom", "query": "SELECT * FROM {{data}} WHERE id > {{param.x}}"}]')$q$);
SELECT pg_temp.err($q$SELECT etl.quality_gate('q46_people', '[{"type": "validity", "check": "range", "column": "age", "min": 1, "inclusive": false, "strict_min": true}]')$q$);
SELECT pg_temp.err($q$SELECT etl.quality_gate('q46_people', '{"gate": "error", "rules": [], "colour": 1}')$q$);
SELECT count(*) AS q46_bad_profiles FROM etl.quality_profiles WHERE name = 'q46_bad';

-- a custom rule's {{data}} validates in a pipeline (0.1.0 refused it there)
SELECT count(*) AS problems FROM etl.validate_config($$pipeline:
  id: q46_custom
  sources: [{id: src, type: postgresql, table: q46_people}]
  targets: [{id: out, type: postgresql, table: q46_out}]
  quality:
    quarantine: q46_quarantine
    weights: {completeness: 2}
    rules:
      - {type: custom, query: "SELECT id FROM {{data}} WHERE age > 100"}
$$);

SELECT etl.drop_pipeline('q46_pipe');
DELETE FROM etl.quality_profiles WHERE name LIKE 'q46%';
DELETE FROM etl.quality_scores WHERE dataset = 'q46_people';
DROP TABLE q46_people;
DROP TABLE IF EXISTS q46_out;
