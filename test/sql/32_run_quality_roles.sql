-- 32_run_quality_roles: the quality gate inside a run (atomic with the
-- load), and a plain role registering and running its own pipeline.
\set VERBOSITY default
CREATE SCHEMA rq;
CREATE TABLE rq.customers (id int PRIMARY KEY, email text, age int, region text, revenue numeric);
INSERT INTO rq.customers
SELECT i, CASE WHEN i % 10 = 0 THEN NULL ELSE 'c' || i || '@example.com' END,
       20 + i % 50, (ARRAY['EU', 'US'])[1 + i % 2], i
  FROM generate_series(1, 100) i;
CREATE TABLE rq.summary (region text, revenue numeric);
INSERT INTO rq.summary VALUES ('old', 1), ('older', 2);

-- 1. an error-severity rule fails (90% complete < 99% required): the run is
--    quality_failed and the target is exactly as it was
SELECT etl.register_pipeline($$
pipeline:
  id: rq_gate
  name: gate
  sources:
    - { id: customers, type: postgresql, table: rq.customers }
  transforms:
    - id: by_region
      type: aggregate
      params: { groupby_cols: [region], agg_functions: { revenue: sum } }
  targets:
    - { id: summary, type: postgresql, table: rq.summary, mode: replace }
  quality:
    rules:
      - { type: completeness, column: email, threshold: 99 }
      - { type: validity, check: range, column: age, min: 0, max: 120 }
$$);
SELECT r->>'status' AS status, r->'error'->>'sqlstate' AS sqlstate, r->'error'->>'message' AS message,
       r->'error'->>'detail' AS detail, r->'error'->>'step' AS step, r->>'quality_score' AS score
  FROM etl.execute_pipeline('rq_gate') r;
SELECT * FROM rq.summary ORDER BY region;
SELECT jsonb_path_query(quality_checks, '$.*.checks[*] ? (@.passed == false).rule') AS failed_rule
  FROM etl.pipeline_runs WHERE pipeline_id = 'rq_gate';

-- 2. gate: warn — the same failure loads, with the score recorded
SELECT etl.register_pipeline(replace(etl.export_pipeline('rq_gate'), 'gate: error', 'gate: warn'));
SELECT r->>'status' AS status, r->>'quality_score' AS score, r->>'rows_written' AS rows_written
  FROM etl.execute_pipeline('rq_gate') r;
SELECT * FROM rq.summary ORDER BY region;
SELECT version, status FROM etl.pipeline_runs WHERE pipeline_id = 'rq_gate' ORDER BY run_id;

-- 3. a plain role registers and runs its own pipeline, with its own privileges
CREATE ROLE rq_analyst LOGIN;
GRANT USAGE ON SCHEMA rq TO rq_analyst;
GRANT SELECT ON rq.customers TO rq_analyst;
GRANT CREATE ON SCHEMA rq TO rq_analyst;
SET ROLE rq_analyst;
SELECT etl.register_pipeline($$
pipeline:
  id: rq_own
  name: analyst's own
  sources: [ { id: customers, type: postgresql, table: rq.customers } ]
  transforms:
    - { id: eu, type: filter, params: { condition: "region == 'EU' and email is not null" } }
  targets: [ { id: out, type: postgresql, table: rq.analyst_eu } ]
  quality:
    rules: [ { type: completeness, column: email, threshold: 80 } ]
  sla: { max_duration_minutes: 10 }
$$);
SELECT r->>'status' AS status, r->>'rows_written' AS rows_written, r->>'run_as' AS run_as,
       r->>'quality_score' AS quality_score
  FROM etl.execute_pipeline('rq_own') r;
-- its quality results and SLA evaluations are its own to read; the superuser's are not visible
SELECT s.pipeline_id, s.quality_score, s.created_by FROM etl.quality_scores s ORDER BY s.score_id;
SELECT d.sla_type, c.compliant FROM etl.sla_compliance c JOIN etl.sla_definitions d USING (sla_id);
SELECT count(*) AS rows_loaded, pg_catalog.pg_get_userbyid(c.relowner) AS table_owner
  FROM rq.analyst_eu, pg_class c WHERE c.oid = 'rq.analyst_eu'::regclass GROUP BY 2;
-- it cannot see or run the superuser's pipeline
SELECT etl.execute_pipeline('rq_gate');
SELECT count(*) AS visible_pipelines FROM etl.pipelines;
RESET ROLE;

-- the run has exactly the role's privileges: without SELECT on its source it fails
REVOKE SELECT ON rq.customers FROM rq_analyst;
SET ROLE rq_analyst;
SELECT r->>'status' AS status, r->'error'->>'sqlstate' AS sqlstate, r->'error'->>'message' AS message
  FROM etl.execute_pipeline('rq_own') r;
RESET ROLE;

-- clean up
DELETE FROM etl.alerts WHERE pipeline_id LIKE 'rq\_%';
SELECT etl.drop_pipeline('rq_gate');
SET ROLE rq_analyst;
SELECT etl.drop_pipeline('rq_own');
RESET ROLE;
DELETE FROM etl.audit_log WHERE object_id LIKE 'rq\_%';
DROP SCHEMA rq CASCADE;
DROP OWNED BY rq_analyst;
DROP ROLE rq_analyst;
