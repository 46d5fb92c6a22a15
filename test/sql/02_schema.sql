-- 02_schema: the 18 tables of the original design exist with their keys,
-- constraints and comments (pgTAP); users, roles and user_roles are views
-- over PostgreSQL's roles (a metaetl user is a role, docs/security.md).
\set ON_ERROR_STOP 1
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
BEGIN;
SELECT plan(61);

SELECT has_schema('etl', 'schema etl exists');
-- the 18 tables the original design names, plus the ones metaetl adds
-- (later subsystems add more; each is checked by its own tests)
SELECT has_table('etl', t, 'etl.' || t || ' exists')
  FROM unnest(ARRAY['pipelines', 'pipeline_runs', 'data_sources', 'data_targets',
    'quality_scores', 'profiling_stats', 'completeness_checks', 'validity_checks',
    'uniqueness_checks', 'anomaly_detection', 'sla_definitions', 'sla_compliance',
    'alerts', 'audit_log', 'credentials', 'access_log']) AS t;
SELECT has_view('etl', v, 'etl.' || v || ' is a view over pg_roles')
  FROM unnest(ARRAY['users', 'roles', 'user_roles']) AS v;

-- every table has a primary key and a comment
SELECT has_pk('etl', t, 'etl.' || t || ' has a primary key')
  FROM unnest(ARRAY['pipelines', 'pipeline_versions', 'pipeline_runs', 'data_sources',
    'data_targets', 'quality_scores', 'profiling_stats', 'completeness_checks',
    'validity_checks', 'uniqueness_checks', 'anomaly_detection', 'sla_definitions',
    'sla_compliance', 'alerts', 'audit_log', 'credentials', 'access_log']) AS t;
SELECT is((SELECT count(*)::int FROM pg_class c
            WHERE c.relnamespace = 'etl'::regnamespace AND c.relkind = 'r'
              AND obj_description(c.oid, 'pg_class') IS NULL), 0,
          'every etl table has a COMMENT');
SELECT is((SELECT count(*)::int FROM pg_class c
            WHERE c.relnamespace = 'etl'::regnamespace AND c.relkind = 'r'
              AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'p')), 0,
          'every etl table has a primary key');

-- foreign keys tie results to runs and pipelines
SELECT fk_ok('etl', 'pipeline_runs', 'pipeline_id', 'etl', 'pipelines', 'pipeline_id');
SELECT fk_ok('etl', 'pipeline_versions', 'pipeline_id', 'etl', 'pipelines', 'pipeline_id');
SELECT fk_ok('etl', 'quality_scores', 'run_id', 'etl', 'pipeline_runs', 'run_id');
SELECT fk_ok('etl', 'completeness_checks', 'run_id', 'etl', 'pipeline_runs', 'run_id');
SELECT fk_ok('etl', 'validity_checks', 'run_id', 'etl', 'pipeline_runs', 'run_id');
SELECT fk_ok('etl', 'uniqueness_checks', 'run_id', 'etl', 'pipeline_runs', 'run_id');
SELECT fk_ok('etl', 'sla_compliance', 'sla_id', 'etl', 'sla_definitions', 'sla_id');
SELECT fk_ok('etl', 'sla_definitions', 'pipeline_id', 'etl', 'pipelines', 'pipeline_id');
SELECT fk_ok('etl', 'data_sources', 'credential', 'etl', 'credentials', 'name');

-- constraints reject bad rows
SELECT throws_ok($$INSERT INTO etl.pipelines (pipeline_id, name, config) VALUES ('Bad-Id', 'x', '{}')$$,
    '23514', NULL, 'a pipeline id must be [a-z][a-z0-9_]*');
SELECT throws_ok($$INSERT INTO etl.pipelines (pipeline_id, name, config) VALUES ('ok_id', 'x', '[]')$$,
    '23514', NULL, 'a pipeline config must be a JSON object');
SELECT lives_ok($$INSERT INTO etl.pipelines (pipeline_id, name, config) VALUES ('ok_id', 'x', '{}')$$,
    'a valid pipeline row is accepted');
SELECT throws_ok($$INSERT INTO etl.pipeline_runs (pipeline_id, status) VALUES ('ok_id', 'exploded')$$,
    '23514', NULL, 'run status is one of the documented states');
SELECT throws_ok($$INSERT INTO etl.pipeline_runs (pipeline_id) VALUES ('no_such_pipeline')$$,
    '23503', NULL, 'a run must belong to a pipeline');
SELECT throws_ok($$INSERT INTO etl.pipeline_runs (pipeline_id, quality_score) VALUES ('ok_id', 101)$$,
    '23514', NULL, 'quality score is within 0-100');
SELECT throws_ok($$INSERT INTO etl.sla_definitions (pipeline_id, sla_type, target) VALUES ('ok_id', 'success_rate', 1.5)$$,
    '23514', NULL, 'a success-rate SLA target is within 0-1');
SELECT throws_ok($$INSERT INTO etl.alerts (alert_type, message, dedup_key) VALUES ('bored', 'm', 'k')$$,
    '23514', NULL, 'alert type is one of the documented types');
SELECT lives_ok($$INSERT INTO etl.alerts (alert_type, message, dedup_key) VALUES ('system_error', 'm', 'k')$$,
    'an alert row is accepted');
SELECT throws_ok($$INSERT INTO etl.alerts (alert_type, message, dedup_key) VALUES ('system_error', 'm2', 'k')$$,
    '23505', NULL, 'only one unresolved alert per dedup key');
SELECT throws_ok($$INSERT INTO etl.roles (role_name, permissions) VALUES ('viewer', ARRAY['launch_missiles'])$$,
    '55000', NULL, 'roles are granted with GRANT, not inserted');
SELECT results_eq($$SELECT role_name FROM etl.roles ORDER BY 1$$,
    ARRAY['etl_admin', 'etl_developer', 'etl_operator', 'etl_viewer'], 'the four metaetl roles');
SELECT throws_ok($$INSERT INTO etl.completeness_checks (dataset, rule_name, column_name, total_rows, failed_rows, passed)
                  VALUES ('d', 'r', 'c', 10, 11, false)$$,
    '23514', NULL, 'failed rows cannot exceed total rows');

-- deleting a pipeline removes its runs
INSERT INTO etl.pipeline_runs (pipeline_id) VALUES ('ok_id');
DELETE FROM etl.pipelines WHERE pipeline_id = 'ok_id';
SELECT is((SELECT count(*)::int FROM etl.pipeline_runs WHERE pipeline_id = 'ok_id'), 0,
          'runs are removed with their pipeline');

SELECT * FROM finish();
ROLLBACK;
