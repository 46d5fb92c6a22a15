-- Relational connectors (src/connectors/fdw.c, pgremote.c, mysql.c):
-- remote PostgreSQL, MySQL/MariaDB, SQL Server and Oracle connections.
-- metaetl keeps a foreign server per remote connection, a user mapping per
-- role that uses it and a foreign table per remote table; the foreign tables
-- live in schema etl_remote, owned by the extension owner and granted SELECT
-- only to the roles that proved they may use the connection and its
-- credential.  See docs/databases.md.

CREATE SCHEMA etl_remote;
COMMENT ON SCHEMA etl_remote IS
  'metaetl: foreign tables over remote tables of relational connections (made and granted by metaetl; do not create objects here)';
REVOKE ALL ON SCHEMA etl_remote FROM PUBLIC;
-- reading a foreign table needs USAGE on its schema; each table is granted on its own
GRANT USAGE ON SCHEMA etl_remote TO PUBLIC;

CREATE FUNCTION etl.test_connection(name pg_catalog.text)
RETURNS pg_catalog.jsonb
LANGUAGE c VOLATILE STRICT
AS 'MODULE_PATHNAME', 'metaetl_test_connection';
COMMENT ON FUNCTION etl.test_connection(pg_catalog.text) IS
  'connect to a connection as the current role with its credential: {ok, latency_ms, server_version, error}; a failure is returned, not raised';

CREATE FUNCTION etl.discover(connection pg_catalog.text, remote_schema pg_catalog.text DEFAULT NULL)
RETURNS TABLE (remote_schema pg_catalog.text, table_name pg_catalog.text, column_name pg_catalog.text,
               data_type pg_catalog.text, nullable pg_catalog.bool)
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'metaetl_discover';
COMMENT ON FUNCTION etl.discover(pg_catalog.text, pg_catalog.text) IS
  'the tables and columns of a remote schema (default: the connection''s schema or database), with the remote data types';

CREATE FUNCTION etl._drop_remote(name pg_catalog.text)
RETURNS void
LANGUAGE c VOLATILE STRICT
AS 'MODULE_PATHNAME', 'metaetl_drop_remote';
COMMENT ON FUNCTION etl._drop_remote(pg_catalog.text) IS
  'internal: drop the foreign server, user mappings and foreign tables of a connection that no longer exists (for any role)';

CREATE FUNCTION etl.drop_connection(name pg_catalog.text)
RETURNS void
LANGUAGE plpgsql VOLATILE STRICT
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    n pg_catalog.int8;
    m pg_catalog.int8;
BEGIN
    -- row-level security: only connections of roles the caller may act as
    DELETE FROM etl.data_sources d WHERE d.name OPERATOR(pg_catalog.=) drop_connection.name;
    GET DIAGNOSTICS n = ROW_COUNT;
    DELETE FROM etl.data_targets d WHERE d.name OPERATOR(pg_catalog.=) drop_connection.name;
    GET DIAGNOSTICS m = ROW_COUNT;
    IF n OPERATOR(pg_catalog.+) m OPERATOR(pg_catalog.=) 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'undefined_object',
            MESSAGE = pg_catalog.format('connection "%s" does not exist', name),
            HINT = 'etl.get_connection_config() and etl.data_sources show the connections you own.';
    END IF;
    PERFORM etl._drop_remote(name);
END
$fn$;
COMMENT ON FUNCTION etl.drop_connection(pg_catalog.text) IS
  'remove a connection and everything metaetl made for it (foreign server, user mappings, foreign tables, cached connections)';
