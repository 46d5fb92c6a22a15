-- config: connection types and option keys come from the connector registry;
-- a connection's credential is checked by the security manager; etl.add_connection
-- becomes a C wrapper that keeps rejected statements out of the server log;
-- etl.drop_pipeline acts only for its owner's members and resolves the pipeline's alerts

DROP FUNCTION etl.add_connection(pg_catalog.text, pg_catalog.text, pg_catalog.jsonb, pg_catalog.text, pg_catalog.text);

CREATE OR REPLACE FUNCTION etl.drop_pipeline(pipeline_id pg_catalog.text)
RETURNS void
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    owner_role pg_catalog.name;
    ver pg_catalog.int4;
BEGIN
    SELECT p.owner, p.current_version INTO owner_role, ver FROM etl.pipelines p
     WHERE p.pipeline_id OPERATOR(pg_catalog.=) drop_pipeline.pipeline_id FOR UPDATE;
    -- another role's pipeline does not exist for the caller (no existence oracle)
    IF NOT FOUND OR NOT etl._caller_acts_for(owner_role) THEN
        RAISE EXCEPTION USING ERRCODE = 'undefined_object',
            MESSAGE = pg_catalog.format('pipeline "%s" does not exist', pipeline_id),
            HINT = 'A pipeline is dropped by members of its owner and etl_admin.';
    END IF;
    -- its open alerts are over (they outlive the pipeline, without it)
    UPDATE etl.alerts a SET status = 'resolved', resolved_at = pg_catalog.now(), resolved_by = 'metaetl',
           details = a.details OPERATOR(pg_catalog.||) '{"resolved_because": "pipeline dropped"}'
     WHERE a.pipeline_id OPERATOR(pg_catalog.=) drop_pipeline.pipeline_id AND a.status OPERATOR(pg_catalog.<>) 'resolved';
    -- the audit trigger on etl.pipelines records the drop
    DELETE FROM etl.pipelines p WHERE p.pipeline_id OPERATOR(pg_catalog.=) drop_pipeline.pipeline_id;
END
$fn$;
COMMENT ON FUNCTION etl.drop_pipeline(pg_catalog.text) IS
  'remove a pipeline with its versions and run records';

CREATE FUNCTION etl._check_connection(name pg_catalog.text, type pg_catalog.text, options pg_catalog.jsonb)
RETURNS void
LANGUAGE c STABLE
AS 'MODULE_PATHNAME', 'metaetl_check_connection';
COMMENT ON FUNCTION etl._check_connection(pg_catalog.text, pg_catalog.text, pg_catalog.jsonb) IS
  'internal: raise 22023 unless type is a connection type of a registered connector and options has only the keys it declares';

CREATE FUNCTION etl._add_connection(name pg_catalog.text, type pg_catalog.text,
                                    options pg_catalog.jsonb DEFAULT '{}',
                                    credential pg_catalog.text DEFAULT NULL,
                                    usage pg_catalog.text DEFAULT 'both')
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    secret_key pg_catalog.text;
BEGIN
    IF name IS NULL OR NOT etl.is_valid_id(name) THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = pg_catalog.format('"%s" is not a valid connection name', name),
            HINT = 'Use lower-case letters, digits and _, starting with a letter, at most 63 bytes.';
    END IF;
    IF usage IS NULL OR usage NOT IN ('source', 'target', 'both') THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = pg_catalog.format('unknown connection usage "%s"', usage),
            HINT = 'Valid: source, target, both.';
    END IF;
    options := COALESCE(options, '{}');
    IF pg_catalog.jsonb_typeof(options) OPERATOR(pg_catalog.<>) 'object' THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = 'connection options must be a JSON object';
    END IF;
    SELECT l.path INTO secret_key FROM etl.config_leaves(options) l
     WHERE l.path OPERATOR(pg_catalog.~*) '(^|\.)(password|passwd|pwd|secret|secret_key|token|api_key|apikey|private_key|access_key)$'
        OR (pg_catalog.jsonb_typeof(l.value) OPERATOR(pg_catalog.=) 'string'
            AND (l.value OPERATOR(pg_catalog.#>>) '{}') OPERATOR(pg_catalog.~*) '(password|pwd)\s*=|://[^/@:]+:[^/@]+@')
     LIMIT 1;
    IF secret_key IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = pg_catalog.format('connection options must not hold secrets (found at %s)', secret_key),
            HINT = 'Store the secret as a credential and pass its name as the credential argument.';
    END IF;
    -- the type and its option keys, as the connector registry declares them
    PERFORM etl._check_connection(name, type, options);
    IF credential IS NOT NULL THEN
        PERFORM etl._check_credential(credential);
    END IF;
    IF usage IN ('source', 'both') THEN
        INSERT INTO etl.data_sources AS d (name, type, options, credential)
        VALUES (name, type, options, credential)
        ON CONFLICT ON CONSTRAINT data_sources_pkey DO UPDATE
           SET type = EXCLUDED.type, options = EXCLUDED.options, credential = EXCLUDED.credential,
               updated_at = pg_catalog.now();
    END IF;
    IF usage IN ('target', 'both') THEN
        INSERT INTO etl.data_targets AS d (name, type, options, credential)
        VALUES (name, type, options, credential)
        ON CONFLICT ON CONSTRAINT data_targets_pkey DO UPDATE
           SET type = EXCLUDED.type, options = EXCLUDED.options, credential = EXCLUDED.credential,
               updated_at = pg_catalog.now();
    END IF;
    -- the audit triggers on etl.data_sources / etl.data_targets record the change
END
$fn$;
COMMENT ON FUNCTION etl._add_connection(pg_catalog.text, pg_catalog.text, pg_catalog.jsonb, pg_catalog.text, pg_catalog.text) IS
  'internal: the body of etl.add_connection';

CREATE FUNCTION etl.add_connection(name pg_catalog.text, type pg_catalog.text,
                                   options pg_catalog.jsonb DEFAULT '{}',
                                   credential pg_catalog.text DEFAULT NULL,
                                   usage pg_catalog.text DEFAULT 'both')
RETURNS void
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'metaetl_add_connection';
COMMENT ON FUNCTION etl.add_connection(pg_catalog.text, pg_catalog.text, pg_catalog.jsonb, pg_catalog.text, pg_catalog.text) IS
  'create or replace a named connection in etl.data_sources and/or etl.data_targets (usage source, target or both); secrets only by credential name; a rejected call never reaches the server log';


-- the SLA vocabulary has one owner: etl.apply_sla_config normalises through the validator's C
CREATE FUNCTION etl._normalize_sla(pipeline_id pg_catalog.text, sla pg_catalog.jsonb)
RETURNS pg_catalog.jsonb
LANGUAGE C STABLE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'metaetl_normalize_sla';
COMMENT ON FUNCTION etl._normalize_sla(pg_catalog.text, pg_catalog.jsonb) IS
  'The sla block in the validator''s normal form, or every problem with its config path (used by etl.apply_sla_config)';

