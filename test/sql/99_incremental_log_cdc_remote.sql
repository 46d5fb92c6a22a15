-- 99_incremental_log_cdc_remote: log CDC from a logical replication slot on
-- a remote PostgreSQL server (the harness's second cluster,
-- test/harness/servers/pgremote.sh, wal_level = logical): the slot created
-- there through the connection and registered here, the first read as of a
-- remote snapshot, inserts/updates/deletes/truncates applied by
-- merge_changes, exactly once across a failed load, the remote slot
-- advanced only to committed positions, its lag in incremental_state and
-- the slot_lag SLA, and the errors (missing slot, refused connection, a
-- remote user without the replication privilege, a remote server with
-- wal_level replica — the third cluster, test/harness/servers/pgreplica.sh —
-- and one without wal2json).
\set VERBOSITY default
\set SHOW_CONTEXT never
\pset pager off
SET client_min_messages = warning;
\getenv rport METAETL_PGREMOTE_PORT
\getenv rsock METAETL_PGREMOTE_SOCKET
\set here :DBNAME
\set here_host :HOST
\set here_port :PORT

CREATE SCHEMA rcdc;
-- sqlstate and message of a statement (the ports of refused connections masked)
CREATE FUNCTION rcdc.err(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE s text; m text;
BEGIN
  EXECUTE q;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS s = RETURNED_SQLSTATE, m = MESSAGE_TEXT;
  RETURN s || ': ' || regexp_replace(split_part(m, E'\n', 1), 'port [0-9]+', 'port N');
END $$;

-- the remote table
\c remote postgres :rsock :rport
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS rcdc CASCADE;
CREATE SCHEMA rcdc;
CREATE TABLE rcdc.orders (id int PRIMARY KEY, item text NOT NULL, qty int, tags text[]);
INSERT INTO rcdc.orders VALUES (1, 'pen', 1, '{a,b}'), (2, 'ink', 2, NULL);
SHOW wal_level;
\c :here postgres :here_host :here_port
SET client_min_messages = warning;

SELECT etl.add_connection('cdc_remote', 'postgresql',
       jsonb_build_object('host', '127.0.0.1', 'port', :'rport'::int, 'dbname', 'remote', 'user', 'postgres'));

-- the slot is created on the remote server through the connection and
-- registered here with the connection's name
SELECT etl.create_change_slot('metaetl_remote_slot', connection => 'cdc_remote') IS NOT NULL AS created;
SELECT slot_name, plugin, connection, pipeline_id FROM etl.change_slots;
-- slot names are one namespace, whichever server holds the slot
SELECT rcdc.err($$SELECT etl.create_change_slot('metaetl_remote_slot')$$);
SELECT rcdc.err($$SELECT etl.create_change_slot('metaetl_remote_slot', connection => 'cdc_remote')$$);

SELECT etl.register_pipeline($$
pipeline:
  id: rcdc_orders
  sources:
    - {id: orders, type: postgresql, connection: cdc_remote, table: rcdc.orders,
       incremental: {mode: log_cdc, slot: metaetl_remote_slot}}
  targets:
    - {id: copy, type: postgresql, table: rcdc.orders_copy, mode: merge_changes, keys: [id]}
$$);
-- the first run reads the remote table as of a remote snapshot; the source claims the slot
SELECT r->>'status' AS status, r->>'rows_read' AS rows_read FROM etl.execute_pipeline('rcdc_orders') r;
SELECT * FROM rcdc.orders_copy ORDER BY id;
SELECT slot_name, connection, pipeline_id, source_id FROM etl.change_slots;
SELECT "position" ? 'lsn' AS has_lsn, "position" ? 'snapshot' AS has_snapshot
  FROM etl.incremental_positions WHERE pipeline_id = 'rcdc_orders';

-- inserts, updates, deletes on the remote, from its log in commit order
\c remote postgres :rsock :rport
INSERT INTO rcdc.orders VALUES (3, 'pad', 3, '{c}');
UPDATE rcdc.orders SET qty = 10 WHERE id = 1;
UPDATE rcdc.orders SET qty = 11, tags = '{"x y"}' WHERE id = 1;
DELETE FROM rcdc.orders WHERE id = 2;
BEGIN;
INSERT INTO rcdc.orders VALUES (5, 'cup', 5, NULL);
UPDATE rcdc.orders SET item = 'mug' WHERE id = 5;
COMMIT;
\c :here postgres :here_host :here_port
SET client_min_messages = warning;
SELECT r->>'status' AS status, r->>'rows_read' AS rows_read FROM etl.execute_pipeline('rcdc_orders') r;
SELECT * FROM rcdc.orders_copy ORDER BY id;
-- runs with no changes read nothing and leave the target intact
SELECT r->>'status' AS status, r->>'rows_read' AS rows_read FROM etl.execute_pipeline('rcdc_orders') r;
SELECT r->>'status' AS status, r->>'rows_read' AS rows_read FROM etl.execute_pipeline('rcdc_orders') r;
SELECT * FROM rcdc.orders_copy ORDER BY id;

-- a load that fails after the read (the target refuses qty >= 1000): the
-- position stays, and the next run applies the change exactly once
ALTER TABLE rcdc.orders_copy ADD CONSTRAINT small CHECK (qty < 1000);
CREATE TABLE rcdc.pos_before AS SELECT "position" FROM etl.incremental_positions WHERE pipeline_id = 'rcdc_orders';
\c remote postgres :rsock :rport
INSERT INTO rcdc.orders VALUES (4, 'big', 5000, NULL);
\c :here postgres :here_host :here_port
SET client_min_messages = warning;
SELECT r->>'status' AS status, r->'error'->>'sqlstate' AS sqlstate FROM etl.execute_pipeline('rcdc_orders') r;
SELECT p."position" = b."position" AS position_unchanged
  FROM etl.incremental_positions p, rcdc.pos_before b WHERE p.pipeline_id = 'rcdc_orders';
SELECT count(*) AS big_rows FROM rcdc.orders_copy WHERE id = 4;
ALTER TABLE rcdc.orders_copy DROP CONSTRAINT small;
SELECT r->>'status' AS status, r->>'rows_read' AS rows_read FROM etl.execute_pipeline('rcdc_orders') r;
SELECT r->>'status' AS status, r->>'rows_read' AS rows_read FROM etl.execute_pipeline('rcdc_orders') r;
SELECT id, qty FROM rcdc.orders_copy WHERE id = 4;

-- the remote slot is advanced only to the committed position (at the start
-- of the read after it), never past it
\c remote postgres :rsock :rport
SELECT confirmed_flush_lsn AS slot_confirmed FROM pg_replication_slots WHERE slot_name = 'metaetl_remote_slot' \gset
\c :here postgres :here_host :here_port
SET client_min_messages = warning;
SELECT :'slot_confirmed'::pg_lsn <= ("position"->>'lsn')::pg_lsn AS slot_not_ahead
  FROM etl.incremental_positions WHERE pipeline_id = 'rcdc_orders';

-- a TRUNCATE on the remote empties the copy; changes after it apply on top
\c remote postgres :rsock :rport
TRUNCATE rcdc.orders;
INSERT INTO rcdc.orders VALUES (7, 'cap', 7, NULL);
\c :here postgres :here_host :here_port
SET client_min_messages = warning;
SELECT r->>'status' AS status, r->>'rows_read' AS rows_read FROM etl.execute_pipeline('rcdc_orders') r;
SELECT * FROM rcdc.orders_copy ORDER BY id;

-- lag: against the remote server's WAL, naming the connection
SELECT source, mode, (lag->>'lag_bytes')::bigint >= 0 AS lag_known,
       (lag->>'slot_retained_bytes')::bigint >= 0 AS retained_known, lag->>'connection' AS connection,
       lag ? 'error' AS error
  FROM etl.incremental_state('rcdc_orders');

-- the slot_lag SLA watches the remote slot: breached when it holds back
-- more remote WAL than max_slot_lag_mb, met again once runs let it go
SELECT etl.apply_sla_config('rcdc_orders', '{"max_slot_lag_mb": 1}');
\c remote postgres :rsock :rport
CREATE TABLE rcdc.filler AS SELECT g, repeat('x', 200) AS pad FROM generate_series(1, 20000) g;
\c :here postgres :here_host :here_port
SET client_min_messages = warning;
SELECT d.sla_type, e.observed > 1 AS over_1mb, e.compliant
  FROM etl.evaluate_freshness() e JOIN etl.sla_definitions d USING (sla_id) WHERE d.pipeline_id = 'rcdc_orders';
\c remote postgres :rsock :rport
CHECKPOINT;
\c :here postgres :here_host :here_port
SET client_min_messages = warning;
SELECT r->>'status' AS status FROM etl.execute_pipeline('rcdc_orders') r;
SELECT r->>'status' AS status FROM etl.execute_pipeline('rcdc_orders') r;
SELECT d.sla_type, e.compliant
  FROM etl.evaluate_freshness() e JOIN etl.sla_definitions d USING (sla_id) WHERE d.pipeline_id = 'rcdc_orders';

-- other modes are not for remote sources; a slot must be registered for
-- the source's connection
SELECT etl.register_pipeline($$
pipeline:
  id: rcdc_bad
  sources:
    - {id: orders, type: postgresql, connection: cdc_remote, table: rcdc.orders,
       incremental: {mode: xmin}}
  targets:
    - {id: copy, type: postgresql, table: rcdc.bad_copy, mode: merge_changes, keys: [id]}
$$);
SELECT r->>'status' AS status, r->'error'->>'message' AS message FROM etl.execute_pipeline('rcdc_bad') r;
SELECT etl.register_pipeline($$
pipeline:
  id: rcdc_noslot
  sources:
    - {id: orders, type: postgresql, connection: cdc_remote, table: rcdc.orders,
       incremental: {mode: log_cdc, slot: no_such_slot}}
  targets:
    - {id: copy, type: postgresql, table: rcdc.noslot_copy, mode: merge_changes, keys: [id]}
$$);
SELECT r->>'status' AS status, r->'error'->>'message' AS message FROM etl.execute_pipeline('rcdc_noslot') r;
SELECT to_regclass('rcdc.noslot_copy') IS NULL AS target_not_created;

-- connection refused: a clear error, nothing registered
SELECT etl.add_connection('cdc_down', 'postgresql',
       jsonb_build_object('host', '127.0.0.1', 'port', 1, 'dbname', 'remote', 'user', 'postgres'));
SELECT rcdc.err($$SELECT etl.create_change_slot('metaetl_down_slot', connection => 'cdc_down')$$);
-- a remote user without the replication privilege: the remote's refusal,
-- never the credential's password
SELECT etl.add_credential('cdc_norepl_pw', '{"user": "etl_remote", "password": "etl_remote_pw"}');
SELECT etl.add_connection('cdc_norepl', 'postgresql',
       jsonb_build_object('host', '127.0.0.1', 'port', :'rport'::int, 'dbname', 'remote'), 'cdc_norepl_pw');
SELECT rcdc.err($$SELECT etl.create_change_slot('metaetl_norepl_slot', connection => 'cdc_norepl')$$) AS error;
SELECT count(*) AS registered FROM etl.change_slots WHERE slot_name IN ('metaetl_down_slot', 'metaetl_norepl_slot');

-- a remote user with the replication privilege (and a password credential)
-- creates and reads slots; decoding sees every row, so a table with row
-- security for that user is refused once changes are read, as for local slots
\c remote postgres :rsock :rport
SET client_min_messages = warning;
CREATE ROLE cdc_repl LOGIN REPLICATION PASSWORD 'cdc_repl_pw';
GRANT USAGE ON SCHEMA rcdc TO cdc_repl;
CREATE TABLE rcdc.secret (id int PRIMARY KEY, owner text NOT NULL);
INSERT INTO rcdc.secret VALUES (1, 'cdc_repl'), (2, 'someone');
GRANT SELECT ON rcdc.secret TO cdc_repl;
ALTER TABLE rcdc.secret ENABLE ROW LEVEL SECURITY;
CREATE POLICY mine ON rcdc.secret USING (owner = current_user);
\c :here postgres :here_host :here_port
SET client_min_messages = warning;
SELECT etl.add_credential('cdc_repl_pw', '{"user": "cdc_repl", "password": "cdc_repl_pw"}');
SELECT etl.add_connection('cdc_repl', 'postgresql',
       jsonb_build_object('host', '127.0.0.1', 'port', :'rport'::int, 'dbname', 'remote'), 'cdc_repl_pw');
SELECT etl.create_change_slot('metaetl_repl_slot', connection => 'cdc_repl') IS NOT NULL AS created;
SELECT etl.register_pipeline($$
pipeline:
  id: rcdc_secret
  sources:
    - {id: secret, type: postgresql, connection: cdc_repl, table: rcdc.secret,
       incremental: {mode: log_cdc, slot: metaetl_repl_slot}}
  targets:
    - {id: copy, type: postgresql, table: rcdc.secret_copy, mode: merge_changes, keys: [id]}
$$);
-- the first read is a plain SELECT on the remote: its policy applies
SELECT r->>'status' AS status, r->>'rows_read' AS rows_read FROM etl.execute_pipeline('rcdc_secret') r;
SELECT r->>'status' AS status, r->'error'->>'message' AS message FROM etl.execute_pipeline('rcdc_secret') r;
SELECT * FROM rcdc.secret_copy ORDER BY id;
-- a slot is read only by a source of the connection it was created on
SELECT etl.register_pipeline($$
pipeline:
  id: rcdc_wrongconn
  sources:
    - {id: orders, type: postgresql, connection: cdc_remote, table: rcdc.orders,
       incremental: {mode: log_cdc, slot: metaetl_repl_slot}}
  targets:
    - {id: copy, type: postgresql, table: rcdc.wrongconn_copy, mode: merge_changes, keys: [id]}
$$);
SELECT r->>'status' AS status, r->'error'->>'message' AS message FROM etl.execute_pipeline('rcdc_wrongconn') r;
-- no password in any run record
SELECT count(*) AS leaks FROM etl.pipeline_runs
 WHERE pipeline_id LIKE 'rcdc\_%' AND concat(error_message, error_detail, result::text) ~ 'cdc_(no)?repl_pw';
SELECT etl.drop_change_slot('metaetl_repl_slot');
\c remote postgres :rsock :rport
SELECT count(*) AS dropped_there FROM pg_replication_slots WHERE slot_name = 'metaetl_repl_slot';
\c :here postgres :here_host :here_port
SET client_min_messages = warning;

-- another reader moving the remote slot past the stored position (a
-- restored copy of this database reading the same remote slot, say) is an
-- error, never a silent gap; the target stays
\c remote postgres :rsock :rport
INSERT INTO rcdc.orders VALUES (9, 'gap', 9, NULL);
SELECT pg_replication_slot_advance('metaetl_remote_slot', pg_current_wal_lsn()) IS NOT NULL AS moved_behind_our_back;
\c :here postgres :here_host :here_port
SET client_min_messages = warning;
SELECT r->>'status' AS status, regexp_replace(r->'error'->>'message', '\(.*\)', '(...)') AS message
  FROM etl.execute_pipeline('rcdc_orders') r;
SELECT * FROM rcdc.orders_copy ORDER BY id;

-- a slot dropped on the remote behind metaetl's back: an error naming
-- pipeline, source and slot, never a new slot; target and position stay
\c remote postgres :rsock :rport
SELECT pg_drop_replication_slot('metaetl_remote_slot');
INSERT INTO rcdc.orders VALUES (8, 'lid', 8, NULL);
\c :here postgres :here_host :here_port
SET client_min_messages = warning;
DROP TABLE rcdc.pos_before;
CREATE TABLE rcdc.pos_before AS SELECT "position" FROM etl.incremental_positions WHERE pipeline_id = 'rcdc_orders';
SELECT r->>'status' AS status, r->'error'->>'message' AS message, r->'error'->>'hint' AS hint
  FROM etl.execute_pipeline('rcdc_orders') r;
SELECT p."position" = b."position" AS position_unchanged
  FROM etl.incremental_positions p, rcdc.pos_before b WHERE p.pipeline_id = 'rcdc_orders';
SELECT * FROM rcdc.orders_copy ORDER BY id;
-- the lag still shows how far the remote server moved on; nothing is retained
SELECT (lag->>'lag_bytes')::bigint > 0 AS lag_known, lag->>'slot_retained_bytes' AS retained
  FROM etl.incremental_state('rcdc_orders');
\c remote postgres :rsock :rport
SELECT count(*) AS recreated FROM pg_replication_slots WHERE slot_name = 'metaetl_remote_slot';
\c :here postgres :here_host :here_port
SET client_min_messages = warning;

-- a remote server whose wal_level is not logical (the harness's third
-- cluster, test/harness/servers/pgreplica.sh): create_change_slot fails
-- naming the slot and wal_level, and nothing is registered
\getenv nlport METAETL_PGREPLICA_PORT
SELECT etl.add_connection('cdc_replica', 'postgresql',
       jsonb_build_object('host', '127.0.0.1', 'port', :'nlport'::int, 'dbname', 'postgres', 'user', 'postgres'));
CREATE TABLE rcdc.slots_before AS SELECT * FROM etl.change_slots;
SELECT etl.create_change_slot('metaetl_replica_slot', connection => 'cdc_replica');
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT count(*) AS unchanged FROM ((TABLE etl.change_slots EXCEPT TABLE rcdc.slots_before)
                                   UNION ALL (TABLE rcdc.slots_before EXCEPT TABLE etl.change_slots)) x;
-- wal2json missing on the remote server: a database of the second cluster
-- whose sessions look for libraries named without a path (output plugins)
-- in a directory without wal2json — for the backend, as if it were not
-- installed.  The error names the slot and wal2json; nothing is registered
\c remote postgres :rsock :rport
SET client_min_messages = warning;
DROP DATABASE IF EXISTS nowal2json;
CREATE DATABASE nowal2json;
ALTER DATABASE nowal2json SET dynamic_library_path = '/nonexistent/metaetl-no-wal2json';
\c :here postgres :here_host :here_port
SET client_min_messages = warning;
SELECT etl.add_connection('cdc_nowal2json', 'postgresql',
       jsonb_build_object('host', '127.0.0.1', 'port', :'rport'::int, 'dbname', 'nowal2json', 'user', 'postgres'));
SELECT etl.create_change_slot('metaetl_nowal2json_slot', connection => 'cdc_nowal2json');
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT count(*) AS unchanged FROM ((TABLE etl.change_slots EXCEPT TABLE rcdc.slots_before)
                                   UNION ALL (TABLE rcdc.slots_before EXCEPT TABLE etl.change_slots)) x;
\c remote postgres :rsock :rport
SET client_min_messages = warning;
SELECT count(*) AS no_slot_left_there FROM pg_replication_slots WHERE slot_name = 'metaetl_nowal2json_slot';
DROP DATABASE nowal2json;
\c :here postgres :here_host :here_port
SET client_min_messages = warning;

-- clean up: the registration goes when asked (the slot was already gone)
SELECT etl.drop_change_slot('metaetl_remote_slot');
SELECT count(*) AS positions FROM etl.incremental_positions WHERE pipeline_id = 'rcdc_orders';
SELECT etl.drop_pipeline(p) FROM unnest(ARRAY['rcdc_orders', 'rcdc_bad', 'rcdc_noslot', 'rcdc_secret', 'rcdc_wrongconn']) p;
SELECT etl.drop_connection(c) FROM unnest(ARRAY['cdc_remote', 'cdc_down', 'cdc_norepl', 'cdc_repl', 'cdc_replica', 'cdc_nowal2json']) c;
SELECT etl.drop_credential(c) FROM unnest(ARRAY['cdc_norepl_pw', 'cdc_repl_pw']) c;
DELETE FROM etl.alerts WHERE pipeline_id LIKE 'rcdc\_%';
DELETE FROM etl.audit_log WHERE object_id LIKE 'rcdc\_%';
DROP SCHEMA rcdc CASCADE;
\c remote postgres :rsock :rport
SET client_min_messages = warning;
DROP SCHEMA rcdc CASCADE;
DROP ROLE cdc_repl;
