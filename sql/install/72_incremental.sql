-- Incremental loads and change data capture (docs/incremental.md).
--
-- A source with incremental: {mode: ...} reads only what changed since the
-- position its pipeline stored for it.  The position advances inside the
-- run's attempt, in the same transaction as the target loads: a failed or
-- cancelled run leaves it where it was, a successful one moves it exactly
-- past what was loaded.  Positions and captured changes belong to metaetl:
-- plain roles cannot write them (no grants), and read positions only for the
-- pipelines they may see.

CREATE TABLE etl.incremental_positions (
    pipeline_id     pg_catalog.text NOT NULL REFERENCES etl.pipelines ON DELETE CASCADE,
    source_id       pg_catalog.text NOT NULL,
    mode            pg_catalog.text NOT NULL,
    position        pg_catalog.jsonb NOT NULL,
    run_id          pg_catalog.int8 REFERENCES etl.pipeline_runs ON DELETE SET NULL,
    updated_at      pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    PRIMARY KEY (pipeline_id, source_id)
);
COMMENT ON TABLE etl.incremental_positions IS
  'Per pipeline source with incremental: the position (timestamp and tie-breaker, id, or snapshot) loaded by the last successful run';

-- Tables whose changes are captured by etl.enable_change_capture(): the
-- statement-level triggers append to etl.changes_<relid> (one change table
-- per captured table).  relid is a regclass so that pg_dump writes it as the
-- table's name and a restore finds the table's new oid (the change tables
-- are not extension members: pg_dump dumps them with their rows, and
-- positions name them, not the oid).
CREATE TABLE etl.change_captures (
    relid           pg_catalog.regclass PRIMARY KEY,
    relation        pg_catalog.text NOT NULL,
    change_table    pg_catalog.text NOT NULL UNIQUE,
    key_columns     pg_catalog.text[] NOT NULL,
    enabled_by      pg_catalog.name NOT NULL,
    enabled_at      pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp()
);
COMMENT ON TABLE etl.change_captures IS
  'Tables captured by trigger CDC (etl.enable_change_capture) and their change tables';

GRANT SELECT ON etl.incremental_positions TO PUBLIC;
ALTER TABLE etl.incremental_positions ENABLE ROW LEVEL SECURITY;
CREATE POLICY incremental_positions_by_pipeline ON etl.incremental_positions FOR SELECT
    USING (EXISTS (SELECT 1 FROM etl.pipelines p
                    WHERE p.pipeline_id OPERATOR(pg_catalog.=) incremental_positions.pipeline_id));
GRANT SELECT ON etl.change_captures TO PUBLIC;

-- xid (a row's xmin, 32 bits) widened to xid8 against the current epoch: a
-- row's unfrozen xmin is never more than 2^31 transactions old, so the
-- widening is exact for every row an xmin or CDC window can contain.
CREATE FUNCTION etl._xid8(pg_catalog.xid)
RETURNS pg_catalog.xid8
LANGUAGE C STRICT VOLATILE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_xid_to_xid8';
COMMENT ON FUNCTION etl._xid8(pg_catalog.xid) IS
  'internal: a 32-bit xid (a row''s xmin) as a 64-bit xid8 of the current epoch';

-- Changes of a captured table committed after snapshot prev (NULL: all) and
-- visible in snapshot cur, in commit order.  For the caller's own runs: it
-- needs SELECT on the captured table; the change table itself stays closed.
CREATE FUNCTION etl._read_changes(rel pg_catalog.regclass, prev pg_catalog.pg_snapshot,
                                  cur pg_catalog.pg_snapshot)
RETURNS TABLE(seq pg_catalog.int8, op pg_catalog.text, row_image pg_catalog.text, old_image pg_catalog.text)
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'metaetl_read_changes';
COMMENT ON FUNCTION etl._read_changes(pg_catalog.regclass, pg_catalog.pg_snapshot, pg_catalog.pg_snapshot) IS
  'internal: the captured changes of a table between two snapshots, for a role that may read the table';

-- The capture trigger (src/incremental/trigger.c): per statement, the rows of
-- its transition table(s) as text images, appended to the change table in
-- one INSERT.  Row and key images are the rows' text forms (the types' own
-- output functions, never a user-defined cast), computed as the writer; the
-- consumer casts them back to the table's row type as the run's role.  An
-- UPDATE that changes a key records a delete of the old key.  Not SECURITY
-- DEFINER: the trigger writes the change table as the extension owner
-- itself, and nothing else.
CREATE FUNCTION etl._capture_changes()
RETURNS trigger
LANGUAGE C
AS 'MODULE_PATHNAME', 'metaetl_capture_changes';
COMMENT ON FUNCTION etl._capture_changes() IS
  'internal: the statement-level capture trigger of etl.enable_change_capture()';

-- the caller owns the table (is a member of its owner) or is an etl_admin
CREATE FUNCTION etl._caller_owns_table(rel pg_catalog.regclass)
RETURNS pg_catalog.bool
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
RETURN etl._caller_in(ARRAY['etl_admin'])
    OR EXISTS (SELECT 1 FROM pg_catalog.pg_class c, pg_catalog.pg_roles r
                WHERE c.oid OPERATOR(pg_catalog.=) rel
                  AND r.rolname OPERATOR(pg_catalog.=) etl._caller()
                  AND pg_catalog.pg_has_role(r.oid, c.relowner, 'USAGE'));
COMMENT ON FUNCTION etl._caller_owns_table(pg_catalog.regclass) IS
  'internal: whether the caller owns the table (or is an etl_admin member)';

CREATE FUNCTION etl.enable_change_capture(rel pg_catalog.regclass)
RETURNS pg_catalog.text
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    keys text[];
    ct text := 'changes_' OPERATOR(pg_catalog.||) rel::pg_catalog.oid::pg_catalog.text;
    qrel text;
BEGIN
    IF NOT etl._caller_owns_table(rel) THEN
        RAISE EXCEPTION 'permission denied to capture changes of table %', rel
              USING ERRCODE = '42501',
                    HINT = 'Only the table''s owner (or an etl_admin member) may enable change capture.';
    END IF;
    IF (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) rel)
       OPERATOR(pg_catalog.<>) ALL (ARRAY['r', 'p']::pg_catalog."char"[]) THEN
        RAISE EXCEPTION '% is not a table', rel
              USING ERRCODE = '42809', HINT = 'Change capture works on tables (plain or partitioned).';
    END IF;
    IF EXISTS (SELECT 1 FROM etl.change_captures c WHERE c.relid OPERATOR(pg_catalog.=) rel::pg_catalog.oid) THEN
        RAISE NOTICE 'changes of table % are already captured', rel;
        RETURN (SELECT 'etl.' OPERATOR(pg_catalog.||) c.change_table FROM etl.change_captures c
                 WHERE c.relid OPERATOR(pg_catalog.=) rel::pg_catalog.oid);
    END IF;
    SELECT pg_catalog.array_agg(a.attname::pg_catalog.text ORDER BY k.ord) INTO keys
      FROM pg_catalog.pg_index i,
           pg_catalog.unnest(i.indkey::pg_catalog.int2[]) WITH ORDINALITY k(attnum, ord),
           pg_catalog.pg_attribute a
     WHERE i.indrelid OPERATOR(pg_catalog.=) rel AND i.indisprimary
       AND a.attrelid OPERATOR(pg_catalog.=) rel AND a.attnum OPERATOR(pg_catalog.=) k.attnum;
    IF keys IS NULL THEN
        RAISE EXCEPTION 'table % has no primary key', rel
              USING ERRCODE = '55000',
                    HINT = 'Change capture identifies rows by the primary key: add one (ALTER TABLE ... ADD PRIMARY KEY).';
    END IF;
    qrel := rel::pg_catalog.text;
    EXECUTE pg_catalog.format(
        'CREATE TABLE etl.%I (seq pg_catalog.int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,'
        ' xid pg_catalog.xid8 NOT NULL DEFAULT pg_catalog.pg_current_xact_id(),'
        ' op pg_catalog.text NOT NULL, key_image pg_catalog.text NOT NULL, row_image pg_catalog.text NOT NULL,'
        ' old_image pg_catalog.text,'
        ' captured_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp())', ct);
    EXECUTE pg_catalog.format('COMMENT ON TABLE etl.%I IS %L', ct,
                              'Changes of ' OPERATOR(pg_catalog.||) qrel OPERATOR(pg_catalog.||) ' captured by etl.enable_change_capture()');
    EXECUTE pg_catalog.format('CREATE TRIGGER etl_capture_insert AFTER INSERT ON %s REFERENCING NEW TABLE AS etl_new'
                              ' FOR EACH STATEMENT EXECUTE FUNCTION etl._capture_changes()', qrel);
    EXECUTE pg_catalog.format('CREATE TRIGGER etl_capture_update AFTER UPDATE ON %s REFERENCING OLD TABLE AS etl_old NEW TABLE AS etl_new'
                              ' FOR EACH STATEMENT EXECUTE FUNCTION etl._capture_changes()', qrel);
    EXECUTE pg_catalog.format('CREATE TRIGGER etl_capture_delete AFTER DELETE ON %s REFERENCING OLD TABLE AS etl_old'
                              ' FOR EACH STATEMENT EXECUTE FUNCTION etl._capture_changes()', qrel);
    EXECUTE pg_catalog.format('CREATE TRIGGER etl_capture_truncate AFTER TRUNCATE ON %s'
                              ' FOR EACH STATEMENT EXECUTE FUNCTION etl._capture_changes()', qrel);
    INSERT INTO etl.change_captures (relid, relation, change_table, key_columns, enabled_by)
    VALUES (rel, qrel, ct, keys, etl._caller());
    RETURN 'etl.' OPERATOR(pg_catalog.||) ct;
END
$$;
COMMENT ON FUNCTION etl.enable_change_capture(pg_catalog.regclass) IS
  'Capture inserts, updates, deletes and truncates of a table (statement-level triggers into a change table) for incremental mode trigger_cdc';

CREATE FUNCTION etl.disable_change_capture(rel pg_catalog.regclass)
RETURNS pg_catalog.bool
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    cap etl.change_captures;
BEGIN
    IF NOT etl._caller_owns_table(rel) THEN
        RAISE EXCEPTION 'permission denied to stop capturing changes of table %', rel
              USING ERRCODE = '42501',
                    HINT = 'Only the table''s owner (or an etl_admin member) may disable change capture.';
    END IF;
    DELETE FROM etl.change_captures c WHERE c.relid OPERATOR(pg_catalog.=) rel::pg_catalog.oid RETURNING * INTO cap;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    EXECUTE pg_catalog.format('DROP TRIGGER IF EXISTS etl_capture_insert ON %s', rel);
    EXECUTE pg_catalog.format('DROP TRIGGER IF EXISTS etl_capture_update ON %s', rel);
    EXECUTE pg_catalog.format('DROP TRIGGER IF EXISTS etl_capture_delete ON %s', rel);
    EXECUTE pg_catalog.format('DROP TRIGGER IF EXISTS etl_capture_truncate ON %s', rel);
    EXECUTE pg_catalog.format('DROP TABLE IF EXISTS etl.%I', cap.change_table);
    -- consumers start over (a full read) when capture is enabled again
    DELETE FROM etl.incremental_positions p
     WHERE p.mode OPERATOR(pg_catalog.=) 'trigger_cdc'
       AND (p.position OPERATOR(pg_catalog.->>) 'change_table') OPERATOR(pg_catalog.=) cap.change_table;
    RETURN true;
END
$$;
COMMENT ON FUNCTION etl.disable_change_capture(pg_catalog.regclass) IS
  'Stop capturing a table''s changes: drops its capture triggers and change table; trigger_cdc consumers start over';

-- Log CDC (incremental mode log_cdc): logical replication slots metaetl
-- created and reads with wal2json, in this database (connection NULL) or on
-- the remote PostgreSQL server of a connection (read over libpq,
-- incremental/remote_slot.c).  Slot names are one namespace here, whichever
-- server holds the slot.  The first (pipeline, source) that stores a
-- position claims the slot.  metaetl never drops or recreates a slot by
-- itself.
--
-- A registration is a row of extension configuration, so pg_dump carries it
-- into every restored copy of the database, while the slot stays with the
-- database (or remote server) it was created for.  Each registration names
-- the installation that made it (etl._installation_id()), and a slot is
-- read, advanced and dropped only by that installation: a restored copy
-- sees another installation's registration and is refused.
CREATE TABLE etl.change_slots (
    slot_name       pg_catalog.name PRIMARY KEY,
    plugin          pg_catalog.text NOT NULL DEFAULT 'wal2json',
    pipeline_id     pg_catalog.text REFERENCES etl.pipelines ON DELETE SET NULL,
    source_id       pg_catalog.text,
    created_by      pg_catalog.name NOT NULL,
    created_at      pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    connection      pg_catalog.text,
    installation    pg_catalog.text NOT NULL
);
COMMENT ON TABLE etl.change_slots IS
  'Logical replication slots created by etl.create_change_slot() for log CDC (connection: on that remote server; NULL: this database), the installation that created each, and the source that reads each';
GRANT SELECT ON etl.change_slots TO PUBLIC;

-- This installation of metaetl: a random token made by CREATE EXTENSION (or
-- by the update that introduced it).  Unlike every other table of etl it is
-- NOT extension configuration: pg_dump leaves its row out, so the restore's
-- CREATE EXTENSION makes a new token, while pg_upgrade (which moves the
-- data files of every table, extension members included) keeps it.
CREATE TABLE etl.installation (
    singleton       pg_catalog.bool PRIMARY KEY DEFAULT true CHECK (singleton),
    token           pg_catalog.uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
    created_at      pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp()
);
COMMENT ON TABLE etl.installation IS
  'This installation''s identity (one row): not dumped by pg_dump, so a restored copy of the database has its own; kept by pg_upgrade';
INSERT INTO etl.installation DEFAULT VALUES;

-- The identity change slot registrations record: the token and the
-- database's oid.  The oid tells a database copied with CREATE DATABASE
-- ... TEMPLATE (same files, so the same token) from its original;
-- pg_upgrade keeps database oids (PostgreSQL 15 and later).
CREATE FUNCTION etl._installation_id()
RETURNS pg_catalog.text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
SELECT i.token::pg_catalog.text OPERATOR(pg_catalog.||) '/' OPERATOR(pg_catalog.||) d.oid::pg_catalog.text
  FROM etl.installation i, pg_catalog.pg_database d
 WHERE d.datname OPERATOR(pg_catalog.=) pg_catalog.current_database()
$$;
COMMENT ON FUNCTION etl._installation_id() IS
  'internal: this installation''s identity (token/database oid), recorded in etl.change_slots';
REVOKE ALL ON FUNCTION etl._installation_id() FROM PUBLIC;

-- A change slot on the remote server of a connection: create, drop, or its
-- status (lag), connected as as_role would be.  Only metaetl's own functions
-- call it (no grant), passing their caller, or for lag the pipeline's owner.
CREATE FUNCTION etl._remote_change_slot(op pg_catalog.text, connection pg_catalog.text,
                                        slot pg_catalog.name, as_role pg_catalog.name)
RETURNS pg_catalog.jsonb
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'metaetl_remote_change_slot';
COMMENT ON FUNCTION etl._remote_change_slot(pg_catalog.text, pg_catalog.text, pg_catalog.name, pg_catalog.name) IS
  'internal: create, drop or read the status of a change slot on a remote PostgreSQL server, with a role''s view of the connection';
REVOKE ALL ON FUNCTION etl._remote_change_slot(pg_catalog.text, pg_catalog.text, pg_catalog.name, pg_catalog.name) FROM PUBLIC;

-- What a slot of etl.change_slots holds back, as {server_lsn, restart_lsn,
-- confirmed_flush_lsn} (remote ones: as the pipeline's owner sees their
-- connection; {"error": ...} when the server cannot be asked; restart_lsn
-- NULL when the slot is gone there); NULL for a slot of this database that
-- is gone or a name not registered.
CREATE FUNCTION etl._change_slot_status(slot pg_catalog.name)
RETURNS pg_catalog.jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s etl.change_slots;
    st pg_catalog.jsonb;
BEGIN
    SELECT * INTO s FROM etl.change_slots c WHERE c.slot_name OPERATOR(pg_catalog.=) _change_slot_status.slot;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF s.connection IS NULL THEN
        RETURN (SELECT pg_catalog.jsonb_build_object('server_lsn', pg_catalog.pg_current_wal_lsn(),
                                                     'restart_lsn', r.restart_lsn,
                                                     'confirmed_flush_lsn', r.confirmed_flush_lsn)
                  FROM pg_catalog.pg_replication_slots r
                 WHERE r.slot_name OPERATOR(pg_catalog.=) s.slot_name
                   AND r.database OPERATOR(pg_catalog.=) pg_catalog.current_database());
    END IF;
    st := etl._remote_change_slot('status', s.connection, s.slot_name,
                                  COALESCE((SELECT p.owner FROM etl.pipelines p
                                             WHERE p.pipeline_id OPERATOR(pg_catalog.=) s.pipeline_id),
                                           s.created_by));
    -- a slot gone from the remote: the server's position still tells the lag
    RETURN st OPERATOR(pg_catalog.-) ARRAY['exists', 'wal_level'];
END
$$;
COMMENT ON FUNCTION etl._change_slot_status(pg_catalog.name) IS
  'internal: the server''s WAL position and a change slot''s restart and confirmed positions, on whichever server holds it';
REVOKE ALL ON FUNCTION etl._change_slot_status(pg_catalog.name) FROM PUBLIC;

CREATE FUNCTION etl.create_change_slot(slot_name pg_catalog.name, connection pg_catalog.text DEFAULT NULL)
RETURNS pg_catalog.pg_lsn
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    l pg_catalog.pg_lsn;
BEGIN
    IF NOT etl._caller_in(ARRAY['etl_admin']) THEN
        RAISE EXCEPTION 'permission denied to create a change slot'
              USING ERRCODE = '42501',
                    HINT = 'A slot keeps WAL on the server until it is read: only etl_admin members create them.';
    END IF;
    IF EXISTS (SELECT 1 FROM etl.change_slots s WHERE s.slot_name OPERATOR(pg_catalog.=) create_change_slot.slot_name) THEN
        RAISE EXCEPTION 'change slot "%" is already registered', create_change_slot.slot_name
              USING ERRCODE = '42710', HINT = 'Slot names are unique across this database and its connections: choose another name.';
    END IF;
    IF create_change_slot.connection IS NOT NULL THEN
        -- on the remote server, with the caller's view of the connection and
        -- its credential (the remote user needs the REPLICATION attribute)
        l := (etl._remote_change_slot('create', create_change_slot.connection, create_change_slot.slot_name, etl._caller())
              OPERATOR(pg_catalog.->>) 'lsn')::pg_catalog.pg_lsn;
        INSERT INTO etl.change_slots (slot_name, created_by, connection, installation)
        VALUES (create_change_slot.slot_name, etl._caller(), create_change_slot.connection, etl._installation_id());
        RETURN l;
    END IF;
    IF pg_catalog.current_setting('wal_level') OPERATOR(pg_catalog.<>) 'logical' THEN
        RAISE EXCEPTION 'log CDC needs wal_level = logical (it is %)', pg_catalog.current_setting('wal_level')
              USING ERRCODE = '55000', HINT = 'Set wal_level = logical in postgresql.conf and restart the server.';
    END IF;
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_replication_slots r WHERE r.slot_name OPERATOR(pg_catalog.=) create_change_slot.slot_name) THEN
        RAISE EXCEPTION 'replication slot "%" already exists', create_change_slot.slot_name
              USING ERRCODE = '42710', HINT = 'metaetl reads only slots it created: choose another name.';
    END IF;
    SELECT s.lsn INTO l FROM pg_catalog.pg_create_logical_replication_slot(create_change_slot.slot_name, 'wal2json') s;
    INSERT INTO etl.change_slots (slot_name, created_by, installation)
    VALUES (create_change_slot.slot_name, etl._caller(), etl._installation_id());
    RETURN l;
END
$$;
COMMENT ON FUNCTION etl.create_change_slot(pg_catalog.name, pg_catalog.text) IS
  'Create a logical replication slot (wal2json) for incremental mode log_cdc, in this database or (connection) on that remote PostgreSQL server; etl_admin';

CREATE FUNCTION etl.drop_change_slot(slot_name pg_catalog.name, registration_only pg_catalog.bool DEFAULT false)
RETURNS pg_catalog.bool
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    reg etl.change_slots;
    mine pg_catalog.bool;
BEGIN
    IF NOT etl._caller_in(ARRAY['etl_admin']) THEN
        RAISE EXCEPTION 'permission denied to drop a change slot' USING ERRCODE = '42501';
    END IF;
    SELECT * INTO reg FROM etl.change_slots s WHERE s.slot_name OPERATOR(pg_catalog.=) drop_change_slot.slot_name
       FOR UPDATE;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    -- a registration restored from a dump names a slot of the database it
    -- was dumped from (pg_drop_replication_slot drops a slot of any
    -- database, and the remote one is shared): never dropped from here
    -- (no identity at all, etl.installation emptied by hand: not ours either)
    mine := COALESCE(reg.installation OPERATOR(pg_catalog.=) etl._installation_id(), false);
    IF NOT mine AND NOT drop_change_slot.registration_only THEN
        RAISE EXCEPTION 'change slot "%" was registered by another installation of metaetl', reg.slot_name
              USING ERRCODE = '55000',
                    DETAIL = pg_catalog.format('Slot "%s" was registered in etl.change_slots by installation %s (%s, %s), not by this one (%s): '
                                               'this database is a restored copy of the one the slot belongs to%s, and metaetl drops only its own slots.',
                                               reg.slot_name, reg.installation, reg.created_by, reg.created_at, etl._installation_id(),
                                               CASE WHEN reg.connection IS NULL THEN ''
                                                    ELSE pg_catalog.format(' (on the server of connection "%s")', reg.connection) END),
                    HINT = pg_catalog.format('Drop only the registration here, leaving the slot alone: SELECT etl.drop_change_slot(%L, registration_only => true);',
                                             reg.slot_name);
    END IF;
    DELETE FROM etl.change_slots s WHERE s.slot_name OPERATOR(pg_catalog.=) drop_change_slot.slot_name;
    IF drop_change_slot.registration_only THEN
        IF NOT mine THEN
            RAISE NOTICE 'dropped the registration of change slot "%" only', reg.slot_name
                  USING DETAIL = 'The slot belongs to the installation that registered it and was not touched.';
        ELSIF reg.connection IS NOT NULL
              OR EXISTS (SELECT 1 FROM pg_catalog.pg_replication_slots r WHERE r.slot_name OPERATOR(pg_catalog.=) reg.slot_name
                         AND r.database OPERATOR(pg_catalog.=) pg_catalog.current_database()) THEN
            -- this installation's own slot, left in place as asked: it keeps WAL
            RAISE WARNING 'replication slot "%" was not dropped', reg.slot_name
                  USING DETAIL = 'Only its registration was dropped; the slot keeps WAL on its server until it is read or dropped.',
                        HINT = CASE WHEN reg.connection IS NULL
                                    THEN pg_catalog.format('Drop it with SELECT pg_catalog.pg_drop_replication_slot(%L);', reg.slot_name)
                                    ELSE pg_catalog.format('Drop it on the server of connection "%s" with SELECT pg_catalog.pg_drop_replication_slot(%L);',
                                                           reg.connection, reg.slot_name) END;
        END IF;
    ELSIF reg.connection IS NOT NULL THEN
        -- on its remote server, as the caller connects there
        PERFORM etl._remote_change_slot('drop', reg.connection, reg.slot_name, etl._caller());
    -- a slot of this database only
    ELSIF EXISTS (SELECT 1 FROM pg_catalog.pg_replication_slots r WHERE r.slot_name OPERATOR(pg_catalog.=) reg.slot_name
                  AND r.database OPERATOR(pg_catalog.=) pg_catalog.current_database()) THEN
        PERFORM pg_catalog.pg_drop_replication_slot(reg.slot_name);
    END IF;
    -- its consumers start over (a full read) with their next slot
    DELETE FROM etl.incremental_positions p
     WHERE p.mode OPERATOR(pg_catalog.=) 'log_cdc'
       AND (p.position OPERATOR(pg_catalog.->>) 'slot') OPERATOR(pg_catalog.=) drop_change_slot.slot_name::pg_catalog.text;
    RETURN true;
END
$$;
COMMENT ON FUNCTION etl.drop_change_slot(pg_catalog.name, pg_catalog.bool) IS
  'Drop a change slot created by etl.create_change_slot() (on its remote server for a connection''s slot) and its registration, or (registration_only) the registration alone; refused for a registration another installation made unless registration_only; its log_cdc consumers start over; etl_admin';

-- The changes of a table in a change slot after its consumer's stored
-- position, up to upto; for a role that may read the table.
CREATE FUNCTION etl._read_slot_changes(slot pg_catalog.text, rel pg_catalog.regclass, upto pg_catalog.pg_lsn)
RETURNS TABLE(seq pg_catalog.int8, op pg_catalog.text, r pg_catalog.jsonb)
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'metaetl_read_slot_changes';
COMMENT ON FUNCTION etl._read_slot_changes(pg_catalog.text, pg_catalog.regclass, pg_catalog.pg_lsn) IS
  'internal: the decoded changes of a table in a metaetl change slot, for a role that may read the table';

CREATE FUNCTION etl.incremental_state(pipeline_id pg_catalog.text)
RETURNS TABLE(source pg_catalog.text, mode pg_catalog.text, "position" pg_catalog.jsonb,
              updated_at pg_catalog.timestamptz, lag pg_catalog.jsonb, run_id pg_catalog.int8)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM etl.pipelines p WHERE p.pipeline_id OPERATOR(pg_catalog.=) incremental_state.pipeline_id) THEN
        RAISE EXCEPTION 'pipeline "%" does not exist', incremental_state.pipeline_id USING ERRCODE = '42704';
    END IF;
    IF NOT (etl._caller_may_operate(incremental_state.pipeline_id)
            OR etl._caller_in(ARRAY['etl_viewer'])) THEN
        RAISE EXCEPTION 'permission denied for pipeline "%"', incremental_state.pipeline_id
              USING ERRCODE = '42501',
                    HINT = 'Incremental state is shown to the pipeline''s owner, etl_operator, etl_viewer and etl_admin members.';
    END IF;
    RETURN QUERY
    SELECT s.source_id, s.mode, s.position, s.updated_at,
           CASE WHEN s.mode OPERATOR(pg_catalog.=) 'trigger_cdc' THEN
                    pg_catalog.jsonb_build_object('pending_changes',
                        etl._pending_changes(s.position OPERATOR(pg_catalog.->>) 'change_table',
                                             (s.position OPERATOR(pg_catalog.->>) 'snapshot')::pg_catalog.pg_snapshot))
                WHEN s.mode OPERATOR(pg_catalog.=) 'log_cdc' THEN
                    -- against the WAL of the server that holds the slot
                    (SELECT pg_catalog.jsonb_build_object(
                        'lag_bytes', CASE WHEN c.connection IS NULL
                                          THEN pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(),
                                                                          (s.position OPERATOR(pg_catalog.->>) 'lsn')::pg_catalog.pg_lsn)
                                          ELSE pg_catalog.pg_wal_lsn_diff((x.st OPERATOR(pg_catalog.->>) 'server_lsn')::pg_catalog.pg_lsn,
                                                                          (s.position OPERATOR(pg_catalog.->>) 'lsn')::pg_catalog.pg_lsn) END,
                        'slot_retained_bytes', pg_catalog.pg_wal_lsn_diff((x.st OPERATOR(pg_catalog.->>) 'server_lsn')::pg_catalog.pg_lsn,
                                                                          (x.st OPERATOR(pg_catalog.->>) 'restart_lsn')::pg_catalog.pg_lsn))
                            OPERATOR(pg_catalog.||) pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
                                'connection', c.connection, 'error', x.st OPERATOR(pg_catalog.->>) 'error'))
                       FROM (SELECT etl._change_slot_status((s.position OPERATOR(pg_catalog.->>) 'slot')::pg_catalog.name) AS st) x
                       LEFT JOIN etl.change_slots c
                              ON c.slot_name::pg_catalog.text OPERATOR(pg_catalog.=) (s.position OPERATOR(pg_catalog.->>) 'slot'))
                WHEN s.mode OPERATOR(pg_catalog.=) 'xmin' THEN
                    pg_catalog.jsonb_build_object('xids_behind',
                        (pg_catalog.pg_snapshot_xmax(pg_catalog.pg_current_snapshot())::pg_catalog.text::pg_catalog.int8
                         OPERATOR(pg_catalog.-)
                         pg_catalog.pg_snapshot_xmax((s.position OPERATOR(pg_catalog.->>) 'snapshot')::pg_catalog.pg_snapshot)::pg_catalog.text::pg_catalog.int8))
                ELSE pg_catalog.jsonb_build_object('since', pg_catalog.clock_timestamp() OPERATOR(pg_catalog.-) s.updated_at)
           END,
           s.run_id
      FROM etl.incremental_positions s
     WHERE s.pipeline_id OPERATOR(pg_catalog.=) incremental_state.pipeline_id
     ORDER BY s.source_id;
END
$$;

-- changes of a captured table not yet covered by a consumer's snapshot
CREATE FUNCTION etl._pending_changes(change_table pg_catalog.text, snap pg_catalog.pg_snapshot)
RETURNS pg_catalog.int8
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    ct text;
    n int8;
BEGIN
    SELECT c.change_table INTO ct FROM etl.change_captures c
     WHERE c.change_table OPERATOR(pg_catalog.=) _pending_changes.change_table;
    IF ct IS NULL THEN
        RETURN NULL;
    END IF;
    EXECUTE pg_catalog.format('SELECT pg_catalog.count(*) FROM etl.%I c WHERE NOT pg_catalog.pg_visible_in_snapshot(c.xid, $1)', ct)
       INTO n USING snap;
    RETURN n;
END
$$;
COMMENT ON FUNCTION etl._pending_changes(pg_catalog.text, pg_catalog.pg_snapshot) IS
  'internal: how many captured changes a trigger_cdc consumer at this snapshot has not loaded yet';
REVOKE ALL ON FUNCTION etl._pending_changes(pg_catalog.text, pg_catalog.pg_snapshot) FROM PUBLIC;
COMMENT ON FUNCTION etl.incremental_state(pg_catalog.text) IS
  'Per incremental source of a pipeline: mode, stored position, when it last advanced, and the lag behind the source';

CREATE FUNCTION etl.reset_incremental(pipeline_id pg_catalog.text, source pg_catalog.text)
RETURNS pg_catalog.bool
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM etl.pipelines p WHERE p.pipeline_id OPERATOR(pg_catalog.=) reset_incremental.pipeline_id) THEN
        RAISE EXCEPTION 'pipeline "%" does not exist', reset_incremental.pipeline_id USING ERRCODE = '42704';
    END IF;
    IF NOT etl._caller_may_operate(reset_incremental.pipeline_id) THEN
        RAISE EXCEPTION 'permission denied for pipeline "%"', reset_incremental.pipeline_id
              USING ERRCODE = '42501',
                    HINT = 'The pipeline''s owner, etl_operator and etl_admin members may reset its incremental state.';
    END IF;
    DELETE FROM etl.incremental_positions p
     WHERE p.pipeline_id OPERATOR(pg_catalog.=) reset_incremental.pipeline_id
       AND p.source_id OPERATOR(pg_catalog.=) reset_incremental.source;
    RETURN FOUND;
END
$$;
COMMENT ON FUNCTION etl.reset_incremental(pg_catalog.text, pg_catalog.text) IS
  'Forget a source''s incremental position: the next run reads it from scratch (true when there was one)';
