-- Foundation functions.

CREATE FUNCTION etl.health()
RETURNS pg_catalog.jsonb
LANGUAGE c STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_health';
COMMENT ON FUNCTION etl.health() IS
  'extension and server versions, preload state, scheduler state, linked libyaml/libcurl/OpenSSL versions';
