-- config: the validator's vocabulary, for the check of docs/config-schema.json (case 14_config_forms)
CREATE OR REPLACE FUNCTION etl._config_vocabulary()
RETURNS pg_catalog.jsonb
LANGUAGE c IMMUTABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_config_vocabulary';
COMMENT ON FUNCTION etl._config_vocabulary() IS
  'internal: what etl.validate_config accepts (source, target and connection types with their keys, target modes, transform types with their params, engines, pipeline keys), for the check of docs/config-schema.json';

