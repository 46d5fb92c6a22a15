-- 26_on_schema_change: on_schema_change through the lineage subsystem's schema
-- history, for a table of this database and for remote PostgreSQL and MariaDB
-- targets (the harness's servers, test/harness/servers/): fail (the default)
-- names what changed since the last run's snapshot and records the refused
-- change in the run's drift, with an alert; append_new_columns,
-- sync_all_columns and recreate apply the change and tag the drift; a failed
-- load leaves the remote table as it was; validation refuses what MySQL
-- cannot undo.
\set VERBOSITY default
\set SHOW_CONTEXT never
\pset pager off
SET client_min_messages = warning;
\getenv rport METAETL_PGREMOTE_PORT
\getenv rsock METAETL_PGREMOTE_SOCKET
\getenv mport METAETL_MARIADB_PORT
\set here :DBNAME
\set here_host :HOST
\set here_port :PORT

CREATE SCHEMA osc;
CREATE TABLE osc.src (id int, name text, amount int);
INSERT INTO osc.src VALUES (1, 'a', 10), (2, 'b', 20);
CREATE FUNCTION osc.pipeline(id text, target jsonb) RETURNS text LANGUAGE sql AS $$
  SELECT etl.register_pipeline(format($y$
pipeline:
  id: %s
  sources: [{id: s, type: postgresql, table: osc.src}]
  targets: [%s]
$y$, id, target::text))
$$;
-- a run's status, error message and detail
CREATE FUNCTION osc.run(id text) RETURNS TABLE (status text, message text, detail text) LANGUAGE sql AS $$
  SELECT r ->> 'status', r -> 'error' ->> 'message', r -> 'error' ->> 'detail'
    FROM etl.execute_pipeline(id) r
$$;
-- the drift of a pipeline's last run, without its version numbers and ports
CREATE FUNCTION osc.drift(id text) RETURNS SETOF jsonb LANGUAGE sql AS $$
  SELECT d - 'from_version' - 'to_version'
           || jsonb_build_object('dataset', regexp_replace(d ->> 'dataset', ':\d+/', ':PORT/'))
    FROM etl.pipeline_runs r, jsonb_array_elements(r.schema_drift) d
   WHERE r.run_id = (SELECT max(run_id) FROM etl.pipeline_runs WHERE pipeline_id = id)
$$;

-- ---------------------------------------------------------------- local table
SELECT osc.pipeline('osc_local', '{"id": "t", "type": "postgresql", "table": "osc.local_t"}') AS id;
SELECT * FROM osc.run('osc_local');
SELECT version, columns FROM etl.schema_history('osc.local_t');
-- the source changes: a new column, a type that would be rounded
ALTER TABLE osc.src ADD COLUMN region text, ALTER COLUMN amount TYPE numeric;
UPDATE osc.src SET amount = amount + 0.5, region = 'north';
-- fail (the default): the detail says what changed since the last run's snapshot
SELECT * FROM osc.run('osc_local');
SELECT * FROM osc.drift('osc_local');
SELECT priority, regexp_replace(message, 'run \d+', 'run N') AS message FROM etl.alerts WHERE pipeline_id = 'osc_local' ORDER BY alert_id;
-- the table is as it was, and schema history has no version for the refused change
SELECT * FROM osc.local_t ORDER BY id;
SELECT count(*) AS versions FROM etl.schema_history('osc.local_t');
-- sync_all_columns applies it; the drift says so
SELECT osc.pipeline('osc_local', '{"id": "t", "type": "postgresql", "table": "osc.local_t", "on_schema_change": "sync_all_columns"}') AS id;
SELECT status, message FROM osc.run('osc_local');
SELECT * FROM osc.local_t ORDER BY id;
SELECT * FROM osc.drift('osc_local');
SELECT version, change FROM etl.schema_history('osc.local_t') ORDER BY version;

-- ----------------------------------------------------- remote PostgreSQL target
\c remote postgres :rsock :rport
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS osc CASCADE;
CREATE SCHEMA osc;
CREATE TABLE osc.t (id int, name text, amount int);
INSERT INTO osc.t VALUES (9, 'old', 9);
\c :here postgres :here_host :here_port
SET client_min_messages = warning;
\set VERBOSITY default
\set SHOW_CONTEXT never
SELECT etl.add_connection('osc_pg', 'postgresql',
       jsonb_build_object('host', '127.0.0.1', 'port', :'rport'::int, 'dbname', 'remote', 'user', 'postgres'));
-- fail: the remote table lacks region and would round amount
SELECT osc.pipeline('osc_pg', '{"id": "t", "type": "postgresql", "connection": "osc_pg", "table": "osc.t"}') AS id;
SELECT * FROM osc.run('osc_pg');
SELECT * FROM osc.drift('osc_pg');
-- append_new_columns adds region but refuses the type change; nothing is left behind
SELECT osc.pipeline('osc_pg', '{"id": "t", "type": "postgresql", "connection": "osc_pg", "table": "osc.t", "mode": "append", "on_schema_change": "append_new_columns"}') AS id;
SELECT status, message FROM osc.run('osc_pg');
\c remote postgres :rsock :rport
SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'osc' AND table_name = 't' ORDER BY ordinal_position;
ALTER TABLE osc.t ALTER COLUMN amount TYPE numeric;
\c :here postgres :here_host :here_port
SET client_min_messages = warning;
\set VERBOSITY default
\set SHOW_CONTEXT never
-- with amount numeric remotely, append_new_columns adds region and appends
SELECT status, message FROM osc.run('osc_pg');
SELECT * FROM osc.drift('osc_pg');
-- a load that fails after append_new_columns altered the table: the remote
-- transaction rolls the new column back with the rows
\c remote postgres :rsock :rport
CREATE TABLE osc.t2 (id int CHECK (id < 100), name text, amount numeric);
\c :here postgres :here_host :here_port
SET client_min_messages = warning;
\set VERBOSITY default
\set SHOW_CONTEXT never
INSERT INTO osc.src VALUES (1000, 'big', 1, 'south');
SELECT osc.pipeline('osc_pg2', '{"id": "t", "type": "postgresql", "connection": "osc_pg", "table": "osc.t2", "mode": "append", "on_schema_change": "append_new_columns"}') AS id;
SELECT status, message FROM osc.run('osc_pg2');
DELETE FROM osc.src WHERE id = 1000;
\c remote postgres :rsock :rport
SELECT column_name FROM information_schema.columns WHERE table_schema = 'osc' AND table_name = 't2' ORDER BY ordinal_position;
SELECT count(*) AS rows FROM osc.t2;
\c :here postgres :here_host :here_port
SET client_min_messages = warning;
\set VERBOSITY default
\set SHOW_CONTEXT never
-- recreate: the remote table takes the result's columns (in the remote transaction)
SELECT osc.pipeline('osc_pg', '{"id": "t", "type": "postgresql", "connection": "osc_pg", "table": "osc.t", "on_schema_change": "recreate"}') AS id;
ALTER TABLE osc.src ADD COLUMN note text;
SELECT status, message FROM osc.run('osc_pg');
\c remote postgres :rsock :rport
SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'osc' AND table_name = 't' ORDER BY ordinal_position;
SELECT * FROM osc.t ORDER BY id;
-- sync_all_columns: a dropped source column goes, a retyped one changes type
\c :here postgres :here_host :here_port
SET client_min_messages = warning;
\set VERBOSITY default
\set SHOW_CONTEXT never
ALTER TABLE osc.src DROP COLUMN note, ALTER COLUMN name TYPE varchar(10);
ALTER TABLE osc.src ALTER COLUMN id TYPE bigint;
SELECT osc.pipeline('osc_pg', '{"id": "t", "type": "postgresql", "connection": "osc_pg", "table": "osc.t", "on_schema_change": "sync_all_columns"}') AS id;
SELECT status, message FROM osc.run('osc_pg');
\c remote postgres :rsock :rport
SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'osc' AND table_name = 't' ORDER BY ordinal_position;
SELECT * FROM osc.t ORDER BY id;
DROP SCHEMA osc CASCADE;
\c :here postgres :here_host :here_port
SET client_min_messages = warning;
\set VERBOSITY default
\set SHOW_CONTEXT never

-- ------------------------------------------------------------- MariaDB target
\! mariadb --no-defaults -uroot --socket="$METAETL_MARIADB_SOCKET" shop -e "DROP TABLE IF EXISTS osc_t; CREATE TABLE osc_t (id BIGINT, name LONGTEXT, amount INT); INSERT INTO osc_t VALUES (9, 'old', 9)"
SELECT etl.add_connection('osc_my', 'mariadb',
       jsonb_build_object('host', '127.0.0.1', 'port', :'mport'::int, 'dbname', 'shop', 'user', 'etl_nopw'));
-- validation: append_new_columns needs mode replace on MariaDB
SELECT severity, path, message FROM etl.validate_config($$pipeline:
  id: v
  sources: [{id: s, type: postgresql, table: osc.src}]
  targets: [{id: t, type: mariadb, connection: osc_my, table: osc_t, mode: append, on_schema_change: append_new_columns}]
$$);
-- fail: region is missing, amount would be rounded
SELECT osc.pipeline('osc_my', '{"id": "t", "type": "mariadb", "connection": "osc_my", "table": "osc_t"}') AS id;
SELECT * FROM osc.run('osc_my');
SELECT * FROM osc.drift('osc_my');
-- append_new_columns (mode replace) refuses the type change; the table is unchanged
SELECT osc.pipeline('osc_my', '{"id": "t", "type": "mariadb", "connection": "osc_my", "table": "osc_t", "on_schema_change": "append_new_columns"}') AS id;
SELECT status, message FROM osc.run('osc_my');
\! mariadb --no-defaults -uroot --socket="$METAETL_MARIADB_SOCKET" shop -N -e "SELECT COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'shop' AND TABLE_NAME = 'osc_t' ORDER BY ORDINAL_POSITION; SELECT * FROM osc_t"
-- sync_all_columns: changes the staging table, swapped in after the remote COMMIT
SELECT osc.pipeline('osc_my', '{"id": "t", "type": "mariadb", "connection": "osc_my", "table": "osc_t", "on_schema_change": "sync_all_columns"}') AS id;
SELECT status, message FROM osc.run('osc_my');
\! mariadb --no-defaults -uroot --socket="$METAETL_MARIADB_SOCKET" shop -N -e "SELECT COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'shop' AND TABLE_NAME = 'osc_t' ORDER BY ORDINAL_POSITION; SELECT * FROM osc_t ORDER BY id"
SELECT * FROM osc.drift('osc_my');
-- a second run finds nothing to change
SELECT status, message FROM osc.run('osc_my');
-- recreate: the staging table from the result's columns
ALTER TABLE osc.src ADD COLUMN note text;
SELECT osc.pipeline('osc_my', '{"id": "t", "type": "mariadb", "connection": "osc_my", "table": "osc_t", "on_schema_change": "recreate"}') AS id;
SELECT status, message FROM osc.run('osc_my');
\! mariadb --no-defaults -uroot --socket="$METAETL_MARIADB_SOCKET" shop -N -e "SELECT COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'shop' AND TABLE_NAME = 'osc_t' ORDER BY ORDINAL_POSITION; DROP TABLE osc_t"

-- a table metaetl creates for a text key: the key column is VARCHAR(255) (MySQL
-- cannot index LONGTEXT), and a second run finds nothing to change
SELECT osc.pipeline('osc_my2', '{"id": "t", "type": "mariadb", "connection": "osc_my", "table": "osc_keyed", "mode": "upsert", "keys": ["name"]}') AS id;
SELECT status, message FROM osc.run('osc_my2');
SELECT status, message FROM osc.run('osc_my2');
\! mariadb --no-defaults -uroot --socket="$METAETL_MARIADB_SOCKET" shop -N -e "SELECT COLUMN_NAME, COLUMN_TYPE, COLUMN_KEY FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'shop' AND TABLE_NAME = 'osc_keyed' ORDER BY ORDINAL_POSITION; DROP TABLE osc_keyed"

SELECT etl.drop_pipeline(p) FROM unnest(ARRAY['osc_local', 'osc_pg', 'osc_pg2', 'osc_my', 'osc_my2']) p;
SELECT etl.drop_connection(c) FROM unnest(ARRAY['osc_pg', 'osc_my']) c;
DROP SCHEMA osc CASCADE;
