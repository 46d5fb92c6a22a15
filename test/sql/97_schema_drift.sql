-- 97_schema_drift: schema history of what pipelines read and write: a
-- snapshot per run only when the columns changed, a DDL event trigger that
-- records changes between runs, drift (column added, removed, type and
-- nullability changed) in the run record and as an alert; the trigger stays
-- out of the way (untracked and temporary tables, failures) and works for
-- any role.
\set SHOW_CONTEXT never

CREATE SCHEMA lin97;
CREATE TABLE lin97.accounts (id int PRIMARY KEY, email text, age int, plan text, created_at date);
INSERT INTO lin97.accounts VALUES (1, 'a@x.org', 30, 'free', '2024-01-01'), (2, 'b@x.org', 41, 'pro', '2024-02-01');
SELECT etl.register_pipeline($yaml$
pipeline:
  id: lin97_accounts
  sources: [{id: a, type: postgresql, table: lin97.accounts}]
  transforms:
    - {id: adults, type: filter, params: {condition: "age >= 18"}}
    - {id: slim, type: select, params: {columns: [id, plan, created_at]}}
  targets: [{id: t, type: postgresql, table: lin97.account_plans}]
$yaml$);

-- the first run snapshots its source and its target
SELECT etl.execute_pipeline('lin97_accounts') ->> 'status' AS status;
SELECT version, run_id IS NOT NULL AS by_run, origin, columns, change FROM etl.schema_history('lin97.accounts');
SELECT version, origin, columns FROM etl.schema_history('lin97.account_plans');
-- a second run with nothing changed adds no version and no drift
SELECT etl.execute_pipeline('lin97_accounts') ->> 'status' AS status;
SELECT count(*) AS versions FROM etl.schema_history('lin97.accounts');
SELECT schema_drift FROM etl.pipeline_runs WHERE pipeline_id = 'lin97_accounts' ORDER BY run_id DESC LIMIT 1;

-- DDL between runs is recorded when it happens (run_id NULL, origin ddl)
ALTER TABLE lin97.accounts ADD COLUMN country text;
ALTER TABLE lin97.accounts ALTER COLUMN plan SET NOT NULL, ALTER COLUMN created_at TYPE timestamptz;
SELECT version, run_id, origin, change FROM etl.schema_history('lin97.accounts') WHERE version > 1;

-- a source column the pipeline uses is dropped: the run fails, and its record
-- says why the schema differs from the previous run's
ALTER TABLE lin97.accounts DROP COLUMN age;
SELECT r ->> 'status' AS status, r -> 'error' ->> 'message' AS error
  FROM etl.execute_pipeline('lin97_accounts') r;
SELECT jsonb_pretty(schema_drift) AS drift FROM etl.pipeline_runs
 WHERE pipeline_id = 'lin97_accounts' ORDER BY run_id DESC LIMIT 1;
-- and an alert is raised (type system_error, details.kind schema_drift)
SELECT alert_type, priority, regexp_replace(message, '\(run \d+\)', '(run N)') AS message,
       details ->> 'kind' AS kind, jsonb_array_length(details -> 'drift') AS changes
  FROM etl.alerts WHERE pipeline_id = 'lin97_accounts' AND alert_type = 'system_error';

-- the pipeline fixed (age no longer used; created_at, now timestamptz, would
-- lose its time in the target's date column, so the target is recreated):
-- the next run records the target's new created_at type as drift of its
-- output, and its lineage no longer names age
SELECT etl.register_pipeline($yaml$
pipeline:
  id: lin97_accounts
  sources: [{id: a, type: postgresql, table: lin97.accounts}]
  transforms:
    - {id: slim, type: select, params: {columns: [id, plan, created_at]}}
  targets: [{id: t, type: postgresql, table: lin97.account_plans, on_schema_change: recreate}]
$yaml$);
SELECT etl.execute_pipeline('lin97_accounts') ->> 'status' AS status;
SELECT schema_drift FROM etl.pipeline_runs WHERE pipeline_id = 'lin97_accounts' ORDER BY run_id DESC LIMIT 1;
-- someone adds a column to the target: drift of the output at the next run
ALTER TABLE lin97.account_plans ADD COLUMN loaded_by text;
SELECT etl.execute_pipeline('lin97_accounts') ->> 'status' AS status;
SELECT schema_drift FROM etl.pipeline_runs WHERE pipeline_id = 'lin97_accounts' ORDER BY run_id DESC LIMIT 1;
SELECT version, run_id IS NOT NULL AS by_run, origin, change FROM etl.schema_history('lin97.account_plans');

-- ---------------------------------------------------------------------------
-- the event trigger stays out of the way
-- ---------------------------------------------------------------------------
-- untracked and temporary tables are not recorded
CREATE TABLE lin97.untracked (a int);
ALTER TABLE lin97.untracked ADD COLUMN b int;
CREATE TEMP TABLE lin97_temp (a int);
SELECT count(*) AS recorded FROM etl.schema_versions WHERE relation IN ('lin97.untracked', 'pg_temp.lin97_temp');
-- when recording fails, the DDL still succeeds (with a warning)
BEGIN;
ALTER TABLE etl.schema_versions ADD CONSTRAINT lin97_refuse CHECK (relation <> 'lin97.accounts') NOT VALID;
ALTER TABLE lin97.accounts ADD COLUMN note text;
SELECT attname FROM pg_attribute WHERE attrelid = 'lin97.accounts'::regclass AND attname = 'note';
ROLLBACK;
-- a plain role's DDL on its own tracked table is recorded, although it
-- cannot write etl.schema_versions itself; it can read the history
CREATE ROLE lin97_user LOGIN;
GRANT USAGE, CREATE ON SCHEMA lin97 TO lin97_user;
SET ROLE lin97_user;
CREATE TABLE lin97.mine (id int, v text);
INSERT INTO lin97.mine VALUES (1, 'x');
SELECT etl.register_pipeline($yaml$
pipeline:
  id: lin97_mine
  sources: [{id: m, type: postgresql, table: lin97.mine}]
  targets: [{id: t, type: postgresql, table: lin97.mine_copy}]
$yaml$);
SELECT etl.execute_pipeline('lin97_mine') ->> 'status' AS status;
ALTER TABLE lin97.mine ALTER COLUMN v TYPE varchar(10);
SELECT version, origin, change FROM etl.schema_history('lin97.mine');
INSERT INTO etl.schema_versions (relation, version, origin, columns) VALUES ('lin97.mine', 99, 'ddl', '[]');
SELECT etl._schema_capture('lin97.mine', '[]', NULL, 'ddl');
RESET ROLE;

-- a dropped source: the run fails, the drift says so
DROP TABLE lin97.mine;
SELECT etl.execute_pipeline('lin97_mine') ->> 'status' AS status;
SELECT schema_drift FROM etl.pipeline_runs WHERE pipeline_id = 'lin97_mine' ORDER BY run_id DESC LIMIT 1;
SELECT version, columns, change FROM etl.schema_history('lin97.mine') ORDER BY version DESC LIMIT 1;
SELECT etl._schema_diff('[{"name": "a", "type": "int"}]', '[]') AS dropped,
       etl._schema_diff('[]', '[{"name": "a", "type": "int"}]') AS created;

-- clean up
SET client_min_messages = warning;
SELECT etl.drop_pipeline(p) FROM unnest(ARRAY['lin97_accounts', 'lin97_mine']) p;
DELETE FROM etl.alerts WHERE pipeline_id IS NULL AND message LIKE '%lin97%';
DROP SCHEMA lin97 CASCADE;
DROP OWNED BY lin97_user;
DROP ROLE lin97_user;
DELETE FROM etl.schema_versions WHERE relation LIKE 'lin97.%';
RESET client_min_messages;
