-- 30_run_access: who may run what, clear errors for bad calls, the audit log.
-- Pipelines are inserted directly here; registering them from YAML is
-- covered by the configuration tests.
\set VERBOSITY default
CREATE ROLE etl_alice LOGIN;
CREATE ROLE etl_bob LOGIN;
CREATE ROLE etl_super SUPERUSER;
INSERT INTO etl.pipelines (pipeline_id, name, owner, config) VALUES
  ('alice_p', 'Alice''s pipeline', 'etl_alice',
   '{"pipeline": {"id": "alice_p", "sources": [], "transforms": [], "targets": []}}'),
  ('bob_p', 'Bob''s pipeline', 'etl_bob',
   '{"pipeline": {"id": "bob_p", "sources": [], "transforms": [], "targets": []}}');

-- each role sees only its own pipelines
SET ROLE etl_bob;
SELECT pipeline_id, owner FROM etl.pipelines ORDER BY 1;
-- and cannot run another role's pipeline: it does not exist for bob
SELECT etl.execute_pipeline('alice_p');
SELECT etl.execute_pipeline_inline('alice_p');
SELECT etl.create_execution_record('alice_p');
-- nor change it
UPDATE etl.pipelines SET name = 'hijacked' WHERE pipeline_id = 'alice_p';
INSERT INTO etl.pipelines (pipeline_id, name, owner, config)
VALUES ('fake', 'x', 'etl_alice', '{"pipeline": {}}');
-- nor read or touch the audit log
SELECT count(*) FROM etl.audit_log;
DELETE FROM etl.audit_log;
RESET ROLE;

-- bad calls get clear errors
SELECT etl.execute_pipeline('no_such_pipeline');
SELECT etl.execute_pipeline(NULL);
SELECT etl.execute_pipeline('alice_p', 'whim');
SELECT etl.execute_pipeline('alice_p', 'manual', 'me', '[1, 2]');
SELECT etl.run_status(-1);
SELECT etl.cancel_run(-1);
UPDATE etl.pipelines SET enabled = false WHERE pipeline_id = 'bob_p';
SELECT etl.execute_pipeline('bob_p');
UPDATE etl.pipelines SET enabled = true WHERE pipeline_id = 'bob_p';

-- a worker cannot see this transaction's uncommitted writes: refused clearly
BEGIN;
UPDATE etl.pipelines SET description = 'changed' WHERE pipeline_id = 'alice_p';
SELECT etl.execute_pipeline('alice_p');
ROLLBACK;

-- the original design's create_execution_record: a queued run record
SET ROLE etl_alice;
SELECT etl.create_execution_record('alice_p', 'api', 'user123') > 0 AS created;
SELECT pipeline_id, status, trigger, triggered_by, run_as, version
  FROM etl.pipeline_runs WHERE pipeline_id = 'alice_p';
RESET ROLE;
-- bob cannot see alice's runs
SET ROLE etl_bob;
SELECT count(*) AS visible_runs FROM etl.pipeline_runs;
RESET ROLE;

-- a queued run is not running: nothing to cancel
SELECT etl.cancel_run(run_id) FROM etl.pipeline_runs WHERE pipeline_id = 'alice_p';
SELECT (etl.run_status(run_id) - 'run_id' - 'queued_at') AS status
  FROM etl.pipeline_runs WHERE pipeline_id = 'alice_p';

-- runs left 'running' by a dead worker are marked abandoned
INSERT INTO etl.pipeline_runs (pipeline_id, status, started_at, worker_pid)
VALUES ('bob_p', 'running', now() - interval '1 hour', 2147483647);
SELECT etl.mark_abandoned_runs();
SELECT status, error_message FROM etl.pipeline_runs WHERE pipeline_id = 'bob_p';

-- the audit trail: who changed what, secrets redacted
INSERT INTO etl.data_sources (name, type, options)
VALUES ('audited_conn', 'postgresql', '{"host": "db", "password": "hunter2", "extra": {"api_key": "k"}}');
SELECT action, object_type, object_id, session_user_name, current_role_name,
       after->'options' AS options_logged
  FROM etl.audit_log WHERE object_id IN ('alice_p', 'bob_p', 'audited_conn')
 ORDER BY audit_id;
SELECT count(*) AS secrets_in_audit FROM etl.audit_log WHERE after::text LIKE '%hunter2%';
SELECT etl.redact('{"user": "u", "Password": "p", "list": [{"token": "t"}], "n": 1}');

-- append-only even for another superuser; the extension owner may prune
SET ROLE etl_super;
DELETE FROM etl.audit_log;
UPDATE etl.audit_log SET action = 'nothing';
TRUNCATE etl.audit_log;
RESET ROLE;

-- clean up
DELETE FROM etl.data_sources WHERE name = 'audited_conn';
DELETE FROM etl.pipelines WHERE pipeline_id IN ('alice_p', 'bob_p');
DELETE FROM etl.audit_log WHERE object_id IN ('alice_p', 'bob_p', 'audited_conn');
DROP ROLE etl_alice, etl_bob, etl_super;
