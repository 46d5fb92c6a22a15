-- metaetl install script, assembled by the Makefile from sql/install/*.sql in
-- name order.  Each fragment belongs to one subsystem; every object is
-- schema-qualified.  The script creates schema etl itself (as pg_cron does
-- for cron), so the schema is a member of the extension and DROP EXTENSION
-- removes it with everything in it.

\echo Use "CREATE EXTENSION metaetl" to load this file. \quit

CREATE SCHEMA etl;
COMMENT ON SCHEMA etl IS 'metaetl: pipeline metadata, run records, quality results, monitoring and security tables';

-- Helper used by CHECK constraints: identifiers of pipelines, steps and
-- connections are lower-case ASCII, start with a letter, at most 63 bytes.
CREATE FUNCTION etl.is_valid_id(id pg_catalog.text)
RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN id OPERATOR(pg_catalog.~) '^[a-z][a-z0-9_]*$'
   AND pg_catalog.octet_length(id) OPERATOR(pg_catalog.<=) 63;
COMMENT ON FUNCTION etl.is_valid_id(pg_catalog.text) IS
  'true when id is a valid metaetl identifier: [a-z][a-z0-9_]*, at most 63 bytes';
