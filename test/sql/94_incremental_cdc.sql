-- 94_incremental_cdc: trigger CDC (etl.enable_change_capture, statement-level
-- triggers with transition tables, a change table per captured table, mode
-- trigger_cdc, purge of applied changes) and target mode merge_changes with
-- its deletes and conflict policies.  As plain roles.
\set VERBOSITY default
CREATE ROLE cdc_alice LOGIN;
CREATE ROLE cdc_bob LOGIN;
CREATE SCHEMA cdc AUTHORIZATION cdc_alice;
GRANT USAGE ON SCHEMA cdc TO cdc_bob;
SET ROLE cdc_alice;
CREATE TABLE cdc.customers (id int PRIMARY KEY, name text, region text, version int NOT NULL DEFAULT 1);
INSERT INTO cdc.customers VALUES (1, 'ann', 'north'), (2, 'bo', 'south'), (3, 'cy', 'north');

-- 1. capture: four statement-level triggers and a change table
SELECT etl.enable_change_capture('cdc.customers') LIKE 'etl.changes_%' AS change_table;
SELECT tgname, tgtype & 1 = 0 AS per_statement FROM pg_trigger
 WHERE tgrelid = 'cdc.customers'::regclass ORDER BY tgname;
SELECT etl.enable_change_capture('cdc.customers') LIKE 'etl.changes_%' AS again;
SELECT relation, key_columns FROM etl.change_captures;

-- 2. a consumer: the first run reads the whole table
SELECT etl.register_pipeline($$
pipeline:
  id: cdc_dim
  sources:
    - {id: customers, type: postgresql, table: cdc.customers, incremental: {mode: trigger_cdc}}
  targets:
    - {id: dim, type: postgresql, table: cdc.dim, mode: merge_changes, keys: [id], deletes: apply}
$$);
SELECT r->>'status' AS status, r->>'rows_read' AS rows_read, r->>'rows_written' AS rows_written
  FROM etl.execute_pipeline('cdc_dim') r;
SELECT * FROM cdc.dim ORDER BY id;

-- 3. inserts, updates (one of them twice: only the last image applies),
--    a key change and a delete, then a run applies exactly those
INSERT INTO cdc.customers VALUES (4, 'di', 'east'), (5, 'ed', 'west');
UPDATE cdc.customers SET name = 'ann2', version = 2 WHERE id = 1;
UPDATE cdc.customers SET name = 'ann3', version = 3 WHERE id = 1;
UPDATE cdc.customers SET id = 30 WHERE id = 3;
DELETE FROM cdc.customers WHERE id = 2;
SELECT r->>'status' AS status, r->>'rows_read' AS rows_read, r->>'rows_written' AS rows_written
  FROM etl.execute_pipeline('cdc_dim') r;
SELECT * FROM cdc.dim ORDER BY id;
-- the target equals the source
SELECT count(*) AS differences FROM (
  (SELECT * FROM cdc.customers EXCEPT SELECT * FROM cdc.dim)
  UNION ALL (SELECT * FROM cdc.dim EXCEPT SELECT * FROM cdc.customers)) d;
-- applied changes are purged; nothing pending
SELECT source, mode, lag FROM etl.incremental_state('cdc_dim');
-- 4. no changes: nothing read, nothing written
SELECT r->>'rows_read' AS rows_read, r->>'rows_written' AS rows_written
  FROM etl.execute_pipeline('cdc_dim') r;

-- 5. a failing load leaves the changes and the position for the next run
ALTER TABLE cdc.dim ADD CONSTRAINT no_zed CHECK (name <> 'zed');
UPDATE cdc.customers SET name = 'zed' WHERE id = 4;
SELECT r->>'status' AS status, r->'error'->>'sqlstate' AS sqlstate FROM etl.execute_pipeline('cdc_dim') r;
SELECT lag FROM etl.incremental_state('cdc_dim');
UPDATE cdc.customers SET name = 'zee' WHERE id = 4;
SELECT r->>'status' AS status, r->>'rows_read' AS rows_read FROM etl.execute_pipeline('cdc_dim') r;
SELECT id, name FROM cdc.dim WHERE id = 4;

-- 6. deletes: soft and ignore; conflict: target_wins and latest
SELECT etl.register_pipeline($$
pipeline:
  id: cdc_policies
  sources:
    - {id: customers, type: postgresql, table: cdc.customers, incremental: {mode: trigger_cdc}}
  targets:
    - {id: soft, type: postgresql, input: customers, table: cdc.t_soft, mode: merge_changes, keys: [id], deletes: soft}
    - {id: keep, type: postgresql, input: customers, table: cdc.t_keep, mode: merge_changes, keys: [id], deletes: ignore, conflict: target_wins}
    - {id: latest, type: postgresql, input: customers, table: cdc.t_latest, mode: merge_changes, keys: [id],
       conflict: latest, conflict_column: version}
$$);
SELECT r->>'status' AS status FROM etl.execute_pipeline('cdc_policies') r;
-- the target has a newer version of customer 1 than the change brings
UPDATE cdc.t_latest SET version = 99, name = 'newer' WHERE id = 1;
UPDATE cdc.customers SET name = 'ann4', version = 4 WHERE id IN (1, 5);
DELETE FROM cdc.customers WHERE id = 4;
SELECT r->>'status' AS status FROM etl.execute_pipeline('cdc_policies') r;
SELECT id, name, deleted_at IS NOT NULL AS deleted FROM cdc.t_soft ORDER BY id;
SELECT id, name FROM cdc.t_keep ORDER BY id;
SELECT id, name, version FROM cdc.t_latest ORDER BY id;
-- a soft-deleted key that comes back is undeleted
INSERT INTO cdc.customers VALUES (4, 'di again', 'east');
SELECT r->>'status' AS status FROM etl.execute_pipeline('cdc_policies') r;
SELECT id, name, deleted_at IS NOT NULL AS deleted FROM cdc.t_soft WHERE id = 4;
RESET ROLE;

-- 7. who may do what: bob cannot read, forge or stop alice's capture, nor
--    read the changes of a table whose row security limits him
SET ROLE cdc_alice;
CREATE TABLE cdc.secret (id int PRIMARY KEY, owner name);
ALTER TABLE cdc.secret ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_rows ON cdc.secret USING (owner = current_user);
GRANT SELECT ON cdc.secret TO cdc_bob;
SELECT etl.enable_change_capture('cdc.secret') IS NOT NULL AS captured;
INSERT INTO cdc.secret VALUES (1, 'cdc_alice');
RESET ROLE;
SET ROLE cdc_bob;
SELECT count(*) AS visible_rows FROM cdc.secret;
SELECT * FROM etl._read_changes('cdc.secret', NULL, pg_current_snapshot());
SELECT etl.enable_change_capture('cdc.customers');
SELECT etl.disable_change_capture('cdc.customers');
DO $$
DECLARE
    ct text := (SELECT change_table FROM etl.change_captures WHERE relation = 'cdc.customers');
BEGIN
    BEGIN
        EXECUTE format('SELECT count(*) FROM etl.%I', ct);
    EXCEPTION WHEN insufficient_privilege THEN RAISE NOTICE 'reading the change table: %', SQLERRM ~ 'permission denied';
    END;
    BEGIN
        EXECUTE format('INSERT INTO etl.%I (op, key_image, row_image) VALUES (''delete'', ''(1)'', ''(1,x,y,1)'')', ct);
    EXCEPTION WHEN insufficient_privilege THEN RAISE NOTICE 'forging a change: %', SQLERRM ~ 'permission denied';
    END;
END
$$;
SELECT * FROM etl._read_changes('cdc.customers', NULL, pg_current_snapshot());
RESET ROLE;

-- 8. errors: a table without a primary key, a consumer without capture
SET ROLE cdc_alice;
CREATE TABLE cdc.nokey (a int);
SELECT etl.enable_change_capture('cdc.nokey');
SELECT etl.register_pipeline($$
pipeline:
  id: cdc_nocapture
  sources:
    - {id: nokey, type: postgresql, table: cdc.nokey, incremental: {mode: trigger_cdc}}
  targets:
    - {id: t, type: postgresql, table: cdc.never, mode: merge_changes, keys: [a]}
$$);
SELECT r->>'status' AS status, r->'error'->>'message' AS message FROM etl.execute_pipeline('cdc_nocapture') r;
SELECT to_regclass('cdc.never') IS NULL AS target_not_created;

-- 10. TRUNCATE is captured (a marker in the change table) and applied by
--     each target's deletes: policy: apply empties the target, soft marks
--     every row deleted, ignore keeps them; changes after the truncate (in
--     the same window) apply on top, changes before it are void (apply)
--     or soft-deleted with the rest (soft); an append target logs it
CREATE TABLE cdc.tr (id int PRIMARY KEY, v text);
INSERT INTO cdc.tr VALUES (1, 'a'), (2, 'b'), (3, 'c');
SELECT etl.enable_change_capture('cdc.tr') IS NOT NULL AS captured;
SELECT etl.register_pipeline($$
pipeline:
  id: cdc_truncate
  sources:
    - {id: tr, type: postgresql, table: cdc.tr, incremental: {mode: trigger_cdc}}
  targets:
    - {id: applied, type: postgresql, table: cdc.tr_apply, mode: merge_changes, keys: [id], deletes: apply}
    - {id: soft, type: postgresql, table: cdc.tr_soft, mode: merge_changes, keys: [id], deletes: soft}
    - {id: kept, type: postgresql, table: cdc.tr_ignore, mode: merge_changes, keys: [id], deletes: ignore}
    - {id: log, type: postgresql, table: cdc.tr_log, mode: append}
$$);
SELECT r->>'status' AS status, r->>'rows_read' AS rows_read FROM etl.execute_pipeline('cdc_truncate') r;
INSERT INTO cdc.tr VALUES (4, 'd');
TRUNCATE cdc.tr;
INSERT INTO cdc.tr VALUES (5, 'e'), (1, 'a2');
SELECT op, row_image FROM etl._read_changes('cdc.tr', NULL, pg_current_snapshot()) ORDER BY seq;
SELECT lag FROM etl.incremental_state('cdc_truncate');
SELECT r->>'status' AS status, r->>'rows_read' AS rows_read FROM etl.execute_pipeline('cdc_truncate') r;
SELECT * FROM cdc.tr_apply ORDER BY id;
SELECT id, v, deleted_at IS NOT NULL AS deleted FROM cdc.tr_soft ORDER BY id;
SELECT * FROM cdc.tr_ignore ORDER BY id;
SELECT id, v, etl_op FROM cdc.tr_log WHERE etl_seq > 0 ORDER BY etl_seq;
-- the apply target equals the source again; nothing pending
SELECT count(*) AS differences FROM (
  (SELECT * FROM cdc.tr EXCEPT SELECT * FROM cdc.tr_apply)
  UNION ALL (SELECT * FROM cdc.tr_apply EXCEPT SELECT * FROM cdc.tr)) d;
SELECT lag FROM etl.incremental_state('cdc_truncate');
-- a truncate alone, then a run with nothing after it
TRUNCATE cdc.tr;
SELECT r->>'status' AS status, r->>'rows_read' AS rows_read FROM etl.execute_pipeline('cdc_truncate') r;
SELECT (SELECT count(*) FROM cdc.tr_apply) AS applied,
       (SELECT count(*) FILTER (WHERE deleted_at IS NULL) FROM cdc.tr_soft) AS soft_live,
       (SELECT count(*) FROM cdc.tr_ignore) AS kept;
-- a failing load after a truncate rolls the emptying back with the position
INSERT INTO cdc.tr VALUES (7, 'g');
ALTER TABLE cdc.tr_ignore ADD CONSTRAINT not_h CHECK (v <> 'h');
TRUNCATE cdc.tr;
INSERT INTO cdc.tr VALUES (8, 'h');
SELECT r->>'status' AS status FROM etl.execute_pipeline('cdc_truncate') r;
SELECT lag FROM etl.incremental_state('cdc_truncate');
ALTER TABLE cdc.tr_ignore DROP CONSTRAINT not_h;
SELECT r->>'status' AS status FROM etl.execute_pipeline('cdc_truncate') r;
SELECT * FROM cdc.tr_apply ORDER BY id;
SELECT etl.disable_change_capture('cdc.tr');

-- 11. the images are whole rows whatever the table's columns are called (a
--     column n or o once shadowed the trigger's aliases for the row), with a
--     composite key changed by a multi-row UPDATE, and quoting in the values
CREATE TABLE cdc.shadow (k1 text, k2 int, n text, o numeric, PRIMARY KEY (k1, k2));
SELECT etl.enable_change_capture('cdc.shadow') LIKE 'etl.changes_%' AS change_table;
INSERT INTO cdc.shadow SELECT 'k ' || g, g, 'n,"' || g, g / 2.0 FROM generate_series(1, 300) g;
SELECT etl.register_pipeline($$
pipeline:
  id: cdc_shadow
  sources:
    - {id: s, type: postgresql, table: cdc.shadow, incremental: {mode: trigger_cdc}}
  targets:
    - {id: t, type: postgresql, table: cdc.shadow_copy, mode: merge_changes, keys: [k1, k2], deletes: apply}
$$);
SELECT r->>'status' AS status, r->>'rows_read' AS rows_read FROM etl.execute_pipeline('cdc_shadow') r;
UPDATE cdc.shadow SET n = NULL, o = o + 1 WHERE k2 <= 150;
UPDATE cdc.shadow SET k2 = k2 + 1000 WHERE k2 > 280;
DELETE FROM cdc.shadow WHERE k2 BETWEEN 100 AND 109;
INSERT INTO cdc.shadow VALUES ('(x)', 0, '', NULL);
SELECT r->>'status' AS status, r->>'rows_read' AS rows_read FROM etl.execute_pipeline('cdc_shadow') r;
SELECT count(*) AS differences FROM (
  (SELECT * FROM cdc.shadow EXCEPT SELECT * FROM cdc.shadow_copy)
  UNION ALL (SELECT * FROM cdc.shadow_copy EXCEPT SELECT * FROM cdc.shadow)) d;
SELECT etl.disable_change_capture('cdc.shadow');

-- 12. purge: the changes every consumer has loaded go.  When that is all of
--     them and no one else has the change table open, it is emptied (TRUNCATE:
--     no dead rows left behind, seq keeps counting); a change another
--     consumer still needs, a writer in the middle of a transaction, or a run
--     inside a REPEATABLE READ transaction make it a DELETE of the loaded ones.
--     A table metaetl creates for merge_changes gets fillfactor 90 (room for
--     updates on the page), or the target's fillfactor.
CREATE TABLE cdc.pg (id int PRIMARY KEY, v text);
SELECT etl.enable_change_capture('cdc.pg') LIKE 'etl.changes_%' AS change_table;
SELECT etl.register_pipeline($$
pipeline:
  id: cdc_pa
  sources:
    - {id: s, type: postgresql, table: cdc.pg, incremental: {mode: trigger_cdc}}
  targets:
    - {id: t, type: postgresql, table: cdc.pg_a, mode: merge_changes, keys: [id]}
$$);
SELECT etl.register_pipeline($$
pipeline:
  id: cdc_pb
  sources:
    - {id: s, type: postgresql, table: cdc.pg, incremental: {mode: trigger_cdc}}
  targets:
    - {id: t, type: postgresql, table: cdc.pg_b, mode: merge_changes, keys: [id], fillfactor: 70}
$$);
SELECT r->>'status' AS status FROM etl.execute_pipeline('cdc_pa') r;
SELECT r->>'status' AS status FROM etl.execute_pipeline('cdc_pb') r;
SELECT c.relname, c.reloptions FROM pg_class c
 WHERE c.oid IN ('cdc.pg_a'::regclass, 'cdc.pg_b'::regclass) ORDER BY 1;
-- fillfactor is PostgreSQL's: 10 to 100, for merge_changes only
SELECT etl.register_pipeline($$
pipeline:
  id: cdc_badff
  sources: [{id: s, type: postgresql, table: cdc.pg}]
  targets: [{id: t, type: postgresql, table: cdc.pg_c, mode: merge_changes, keys: [id], fillfactor: 5}]
$$);
SELECT etl.register_pipeline($$
pipeline:
  id: cdc_upsertff
  sources: [{id: s, type: postgresql, table: cdc.pg}]
  targets: [{id: t, type: postgresql, table: cdc.pg_c, mode: upsert, keys: [id], fillfactor: 80}]
$$);
INSERT INTO cdc.pg SELECT g, 'v' || g FROM generate_series(1, 100) g;
RESET ROLE;
SELECT 'etl.' || change_table AS ct FROM etl.change_captures WHERE relid = 'cdc.pg'::regclass \gset
SELECT max(seq) AS seq0 FROM :ct \gset
SET ROLE cdc_alice;
-- cdc_pb has not loaded them yet: they stay
SELECT r->>'status' AS status, r->>'rows_read' AS rows_read FROM etl.execute_pipeline('cdc_pa') r;
RESET ROLE;
SELECT count(*) AS pending FROM :ct;
SET ROLE cdc_alice;
-- now every consumer has: emptied
SELECT r->>'status' AS status, r->>'rows_read' AS rows_read FROM etl.execute_pipeline('cdc_pb') r;
RESET ROLE;
SELECT count(*) AS pending, pg_relation_size(:'ct') AS bytes FROM :ct;
SET ROLE cdc_alice;
UPDATE cdc.pg SET v = 'w' WHERE id <= 10;
RESET ROLE;
SELECT min(seq) > :seq0 AS seq_continues FROM :ct;
SET ROLE cdc_alice;
-- a run in a REPEATABLE READ transaction (inline, in a session of the
-- pipeline's owner) deletes what it loaded
SELECT r->>'rows_read' AS rows_read FROM etl.execute_pipeline('cdc_pa') r;
RESET ROLE;
CREATE EXTENSION dblink;
SELECT dblink_connect('a', pg_catalog.format('host=%s port=%s dbname=%s user=cdc_alice',
       current_setting('unix_socket_directories'), current_setting('port'), current_database()));
SELECT * FROM dblink('a', 'BEGIN ISOLATION LEVEL REPEATABLE READ;'
                          ' SELECT r->>''status'', r->>''rows_read'' FROM etl.execute_pipeline_inline(''cdc_pb'') r')
    AS x(status text, rows_read text);
SELECT dblink_exec('a', 'COMMIT');
SELECT dblink_disconnect('a');
SELECT count(*) AS pending, pg_relation_size(:'ct') > 0 AS deleted FROM :ct;
-- a writer in the middle of a transaction: the runs neither wait for it nor
-- lose its change, which the next runs load once it commits
SELECT r->>'rows_read' AS rows_read FROM etl.execute_pipeline('cdc_pb') r;
SELECT pg_relation_size(:'ct') AS bytes;
SELECT dblink_connect('w', pg_catalog.format('host=%s port=%s dbname=%s user=%s',
       current_setting('unix_socket_directories'), current_setting('port'), current_database(), current_user));
SELECT dblink_exec('w', 'BEGIN');
SELECT dblink_exec('w', 'INSERT INTO cdc.pg VALUES (500, ''open'')');
UPDATE cdc.pg SET v = 'x' WHERE id = 1;
SET ROLE cdc_alice;
SELECT r->>'status' AS status, r->>'rows_read' AS rows_read FROM etl.execute_pipeline('cdc_pa') r;
SELECT r->>'status' AS status, r->>'rows_read' AS rows_read FROM etl.execute_pipeline('cdc_pb') r;
RESET ROLE;
SELECT dblink_exec('w', 'COMMIT');
SELECT dblink_disconnect('w');
DROP EXTENSION dblink;
SET ROLE cdc_alice;
SELECT r->>'status' AS status, r->>'rows_read' AS rows_read FROM etl.execute_pipeline('cdc_pa') r;
SELECT r->>'status' AS status, r->>'rows_read' AS rows_read FROM etl.execute_pipeline('cdc_pb') r;
SELECT count(*) AS differences FROM (
  (SELECT * FROM cdc.pg EXCEPT SELECT * FROM cdc.pg_b)
  UNION ALL (SELECT * FROM cdc.pg_b EXCEPT SELECT * FROM cdc.pg)
  UNION ALL (SELECT * FROM cdc.pg EXCEPT SELECT * FROM cdc.pg_a)) d;
RESET ROLE;
SELECT count(*) AS pending, pg_relation_size(:'ct') AS bytes FROM :ct;
SET ROLE cdc_alice;
SELECT etl.disable_change_capture('cdc.pg');

-- 9. disable: triggers and change table go; consumers start over
SELECT etl.disable_change_capture('cdc.secret');
SELECT etl.disable_change_capture('cdc.customers');
SELECT count(*) AS triggers FROM pg_trigger WHERE tgrelid = 'cdc.customers'::regclass;
SELECT count(*) AS captures FROM etl.change_captures;
SELECT etl.disable_change_capture('cdc.customers');
RESET ROLE;

-- clean up
SELECT etl.drop_pipeline(p) FROM unnest(ARRAY['cdc_dim', 'cdc_policies', 'cdc_nocapture', 'cdc_truncate', 'cdc_shadow', 'cdc_pa', 'cdc_pb', 'cdc_upsertff']) p;
DELETE FROM etl.alerts WHERE pipeline_id LIKE 'cdc\_%';
DELETE FROM etl.audit_log WHERE object_id LIKE 'cdc\_%';
DROP SCHEMA cdc CASCADE;
DROP ROLE cdc_alice;
DROP ROLE cdc_bob;
