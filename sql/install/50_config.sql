-- Pipeline configuration: parsing and validation (C), the versioned
-- registry, connections, settings for {{env.NAME}} templates.

CREATE TABLE etl.settings (
    name            pg_catalog.text PRIMARY KEY CHECK (name OPERATOR(pg_catalog.~) '^[A-Za-z_][A-Za-z0-9_.]*$'),
    value           pg_catalog.text,
    description     pg_catalog.text,
    updated_at      pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE etl.settings IS
  'Admin-managed values for {{env.NAME}} templates (never the server''s process environment; not for secrets)';
REVOKE ALL ON etl.settings FROM PUBLIC;

CREATE FUNCTION etl.validate_config(config pg_catalog.text)
RETURNS TABLE (severity pg_catalog.text, path pg_catalog.text, line pg_catalog.int4,
               col pg_catalog.int4, message pg_catalog.text)
LANGUAGE c VOLATILE STRICT
AS 'MODULE_PATHNAME', 'metaetl_validate_config';
COMMENT ON FUNCTION etl.validate_config(pg_catalog.text) IS
  'every problem of a YAML or JSON pipeline configuration (severity, path, line, col, message); no rows = valid';

CREATE FUNCTION etl.register_pipeline(config pg_catalog.text)
RETURNS pg_catalog.text
LANGUAGE c VOLATILE STRICT
AS 'MODULE_PATHNAME', 'metaetl_register_pipeline';
COMMENT ON FUNCTION etl.register_pipeline(pg_catalog.text) IS
  'validate and store a pipeline configuration; a new version only when the normalised spec changed; returns the pipeline id';

CREATE FUNCTION etl.load_configuration(config pg_catalog.text)
RETURNS pg_catalog.jsonb
LANGUAGE c VOLATILE STRICT
AS 'MODULE_PATHNAME', 'metaetl_load_configuration';
COMMENT ON FUNCTION etl.load_configuration(pg_catalog.text) IS
  'the normalised form of a configuration, without storing it (raises when it has errors)';

CREATE FUNCTION etl.export_pipeline(pipeline_id pg_catalog.text)
RETURNS pg_catalog.text
LANGUAGE c STABLE STRICT
AS 'MODULE_PATHNAME', 'metaetl_export_pipeline';
COMMENT ON FUNCTION etl.export_pipeline(pg_catalog.text) IS
  'the current configuration of a pipeline as YAML, which registers back to the same spec hash';

CREATE FUNCTION etl.parse_config(config pg_catalog.text)
RETURNS pg_catalog.jsonb
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_parse_config';
COMMENT ON FUNCTION etl.parse_config(pg_catalog.text) IS
  'YAML or JSON text as jsonb (anchors, aliases and merge keys resolved), without validation';

CREATE FUNCTION etl.config_positions(config pg_catalog.text)
RETURNS TABLE (path pg_catalog.text, line pg_catalog.int4, col pg_catalog.int4, kind pg_catalog.text)
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_config_positions';
COMMENT ON FUNCTION etl.config_positions(pg_catalog.text) IS
  'the line and column of every node of a YAML or JSON document, by path';

CREATE FUNCTION etl.render_template(template pg_catalog.text, context pg_catalog.jsonb DEFAULT '{}')
RETURNS pg_catalog.text
LANGUAGE c STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'metaetl_render_template';
COMMENT ON FUNCTION etl.render_template(pg_catalog.text, pg_catalog.jsonb) IS
  'render {{last_run}}, {{run_id}}, {{watermark}}, {{logical_date}}, {{param.NAME}}, {{env.NAME}} in SQL text as quoted literals';

CREATE FUNCTION etl.load_pipeline_config(pipeline_id pg_catalog.text, version pg_catalog.int4 DEFAULT NULL)
RETURNS pg_catalog.jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    result pg_catalog.jsonb;
BEGIN
    IF version IS NULL THEN
        SELECT p.config INTO result FROM etl.pipelines p
         WHERE p.pipeline_id OPERATOR(pg_catalog.=) load_pipeline_config.pipeline_id;
    ELSE
        SELECT v.config INTO result FROM etl.pipeline_versions v
         WHERE v.pipeline_id OPERATOR(pg_catalog.=) load_pipeline_config.pipeline_id
           AND v.version OPERATOR(pg_catalog.=) load_pipeline_config.version;
    END IF;
    IF result IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'undefined_object',
            MESSAGE = pg_catalog.format('pipeline "%s"%s does not exist', pipeline_id,
                      CASE WHEN version IS NULL THEN '' ELSE pg_catalog.format(' version %s', version) END),
            HINT = 'etl.pipelines and etl.pipeline_versions list what is registered.';
    END IF;
    RETURN result;
END
$fn$;
COMMENT ON FUNCTION etl.load_pipeline_config(pg_catalog.text, pg_catalog.int4) IS
  'the normalised configuration of a pipeline: the current one, or the given version';

-- SECURITY DEFINER: it also resolves the pipeline's open alerts, which only
-- metaetl writes; the caller must act for the pipeline's owner
CREATE FUNCTION etl.drop_pipeline(pipeline_id pg_catalog.text)
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

CREATE FUNCTION etl.config_leaves(config pg_catalog.jsonb)
RETURNS TABLE (path pg_catalog.text, value pg_catalog.jsonb)
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
BEGIN ATOMIC
    WITH RECURSIVE walk(path, value) AS (
        SELECT ''::pg_catalog.text, config
        UNION ALL
        SELECT c.path, c.value
          FROM walk w,
               LATERAL (SELECT CASE WHEN w.path OPERATOR(pg_catalog.=) '' THEN e.key
                                    ELSE w.path OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||) e.key END,
                               e.value
                          FROM pg_catalog.jsonb_each(CASE WHEN pg_catalog.jsonb_typeof(w.value) OPERATOR(pg_catalog.=) 'object'
                                                          THEN w.value ELSE '{}'::pg_catalog.jsonb END) e
                        UNION ALL
                        SELECT w.path OPERATOR(pg_catalog.||) '[' OPERATOR(pg_catalog.||) (a.i OPERATOR(pg_catalog.-) 1) OPERATOR(pg_catalog.||) ']',
                               a.value
                          FROM pg_catalog.jsonb_array_elements(CASE WHEN pg_catalog.jsonb_typeof(w.value) OPERATOR(pg_catalog.=) 'array'
                                                                    THEN w.value ELSE '[]'::pg_catalog.jsonb END)
                               WITH ORDINALITY a(value, i)) c(path, value)
    )
    SELECT walk.path, walk.value FROM walk
     WHERE pg_catalog.jsonb_typeof(walk.value) NOT IN ('object', 'array')
        OR walk.value IN ('{}'::pg_catalog.jsonb, '[]'::pg_catalog.jsonb);
END;
COMMENT ON FUNCTION etl.config_leaves(pg_catalog.jsonb) IS
  'the scalar (and empty) values of a jsonb document with their paths, such as pipeline.transforms[0].params.condition';

CREATE FUNCTION etl.pipeline_diff(pipeline_id pg_catalog.text, v1 pg_catalog.int4, v2 pg_catalog.int4 DEFAULT NULL)
RETURNS TABLE (path pg_catalog.text, change pg_catalog.text, old_value pg_catalog.jsonb, new_value pg_catalog.jsonb)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    a pg_catalog.jsonb := etl.load_pipeline_config(pipeline_id, v1);
    b pg_catalog.jsonb := etl.load_pipeline_config(pipeline_id, v2);
BEGIN
    RETURN QUERY
    SELECT COALESCE(x.path, y.path),
           CASE WHEN x.path IS NULL THEN 'added' WHEN y.path IS NULL THEN 'removed' ELSE 'changed' END,
           x.value, y.value
      FROM etl.config_leaves(a) x
      FULL JOIN etl.config_leaves(b) y ON x.path OPERATOR(pg_catalog.=) y.path
     WHERE x.value IS DISTINCT FROM y.value
     ORDER BY 1;
END
$fn$;
COMMENT ON FUNCTION etl.pipeline_diff(pg_catalog.text, pg_catalog.int4, pg_catalog.int4) IS
  'the paths that differ between two versions of a pipeline (v2 NULL = the current one): added, removed or changed';

CREATE FUNCTION etl._check_connection(name pg_catalog.text, type pg_catalog.text, options pg_catalog.jsonb)
RETURNS void
LANGUAGE c STABLE
AS 'MODULE_PATHNAME', 'metaetl_check_connection';
COMMENT ON FUNCTION etl._check_connection(pg_catalog.text, pg_catalog.text, pg_catalog.jsonb) IS
  'internal: raise 22023 unless type is a connection type of a registered connector and options has only the keys it declares';

-- the checks and the writes of etl.add_connection, whose C wrapper keeps the
-- statement (which may hold a rejected password) out of the server log
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

CREATE FUNCTION etl.get_connection_config(name pg_catalog.text)
RETURNS pg_catalog.jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    s etl.data_sources;
    t etl.data_targets;
BEGIN
    SELECT * INTO s FROM etl.data_sources d WHERE d.name OPERATOR(pg_catalog.=) get_connection_config.name;
    SELECT * INTO t FROM etl.data_targets d WHERE d.name OPERATOR(pg_catalog.=) get_connection_config.name;
    IF s.name IS NULL AND t.name IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'undefined_object',
            MESSAGE = pg_catalog.format('connection "%s" does not exist', name),
            HINT = 'Create it with etl.add_connection().';
    END IF;
    RETURN pg_catalog.jsonb_build_object(
        'name', COALESCE(s.name, t.name),
        'type', COALESCE(s.type, t.type),
        'options', COALESCE(s.options, t.options),
        'credential', COALESCE(s.credential, t.credential),
        'usage', CASE WHEN s.name IS NOT NULL AND t.name IS NOT NULL THEN 'both'
                      WHEN s.name IS NOT NULL THEN 'source' ELSE 'target' END,
        'this_database', COALESCE(s.type, t.type) OPERATOR(pg_catalog.=) 'postgresql'
                         AND NOT (COALESCE(s.options, t.options) OPERATOR(pg_catalog.?|) ARRAY['host', 'port', 'dbname']));
END
$fn$;
COMMENT ON FUNCTION etl.get_connection_config(pg_catalog.text) IS
  'a connection''s type, options, credential name and usage (never the secret itself)';

CREATE FUNCTION etl._normalize_sla(pipeline_id pg_catalog.text, sla pg_catalog.jsonb)
RETURNS pg_catalog.jsonb
LANGUAGE C STABLE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'metaetl_normalize_sla';
COMMENT ON FUNCTION etl._normalize_sla(pg_catalog.text, pg_catalog.jsonb) IS
  'The sla block in the validator''s normal form, or every problem with its config path (used by etl.apply_sla_config)';

CREATE FUNCTION etl._config_vocabulary()
RETURNS pg_catalog.jsonb
LANGUAGE c IMMUTABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_config_vocabulary';
COMMENT ON FUNCTION etl._config_vocabulary() IS
  'internal: what etl.validate_config accepts (source, target and connection types with their keys, target modes, transform types with their params, engines, pipeline keys), for the check of docs/config-schema.json';
