-- 12_config_registry: connections, register / load / export / diff / drop,
-- versions only on change, and bad input that changes nothing.
\set VERBOSITY default

-- the SQLSTATE and message of a statement's error (or 'no error')
CREATE FUNCTION pg_temp.error_of(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;

-- a verbatim copy of docs/examples/customer_etl.yaml (the original design's example)
CREATE TEMP TABLE cfg (name text PRIMARY KEY, body text NOT NULL);
INSERT INTO cfg VALUES ('customer', $$pipeline:
  id: "customer_etl"
  name: "Customer Data ETL"
  description: "Extract and transform customer data"
  sources:
    - id: "customer_db"
      type: "postgresql"
      connection: "customer_db_conn"
      query: "SELECT * FROM customers WHERE updated_at > '{{last_run}}'"
  transforms:
    - id: "clean_data"
      type: "filter"
      params:
        condition: "age > 0 AND email IS NOT NULL"
    - id: "aggregate"
      type: "aggregate"
      params:
        groupby_cols: ["region"]
        agg_functions:
          revenue: "sum"
  targets:
    - id: "warehouse"
      type: "postgresql"
      connection: "warehouse_conn"
      table: "customer_summary"
  quality:
    rules:
      - type: "completeness"
        column: "email"
        threshold: 95
      - type: "validity"
        column: "email"
        type: "pattern"
        pattern: "^[^@]+@[^@]+\\.[^@]+$"
  sla:
    max_duration_minutes: 60
    min_success_rate: 0.95
$$);

-- connections: named rows in etl.data_sources / etl.data_targets
SELECT etl.add_connection('customer_db_conn', 'postgresql');
SELECT etl.add_connection('warehouse_conn', 'postgresql', '{"application_name": "metaetl"}', NULL, 'target');
SELECT name, type, options FROM etl.data_sources WHERE name LIKE '%_conn' ORDER BY name;
SELECT name, type, options FROM etl.data_targets WHERE name LIKE '%_conn' ORDER BY name;
SELECT etl.get_connection_config('warehouse_conn');
SELECT etl.get_connection_config('customer_db_conn') ->> 'usage' AS usage;
-- bad connections: name, type, plain-text secrets, unknown credential
SELECT pg_temp.error_of($$SELECT etl.add_connection('Bad Name', 'postgresql')$$);
SELECT pg_temp.error_of($$SELECT etl.add_connection('x_conn', 'mongodb')$$);
SELECT pg_temp.error_of($$SELECT etl.add_connection('x_conn', 'postgresql', '{"host": "db", "password": "hunter2"}')$$);
SELECT pg_temp.error_of($$SELECT etl.add_connection('x_conn', 'http', '{"url": "https://bob:hunter2@api.example.com/"}')$$);
SELECT pg_temp.error_of($$SELECT etl.add_connection('x_conn', 'postgresql', '{}', 'no_such_secret')$$);
SELECT pg_temp.error_of($$SELECT etl.get_connection_config('x_conn')$$);

-- with its connections in place the example has exactly one warning: the duplicate type:
SELECT * FROM etl.validate_config((SELECT body FROM cfg WHERE name = 'customer'));

-- register: a pipeline row and version 1
SELECT etl.register_pipeline((SELECT body FROM cfg WHERE name = 'customer'));
SELECT pipeline_id, name, description, current_version, engine, length(spec_hash) AS hash_len
  FROM etl.pipelines WHERE pipeline_id = 'customer_etl';
SELECT version, source_text = (SELECT body FROM cfg WHERE name = 'customer') AS source_kept,
       spec_hash = (SELECT spec_hash FROM etl.pipelines WHERE pipeline_id = 'customer_etl') AS hash_matches
  FROM etl.pipeline_versions WHERE pipeline_id = 'customer_etl';

-- the normalised config (docs/configuration.md, "The normalised form")
SELECT jsonb_pretty(etl.load_pipeline_config('customer_etl'));

-- registering the same text again adds no version
SELECT etl.register_pipeline((SELECT body FROM cfg WHERE name = 'customer'));
SELECT count(*) AS versions FROM etl.pipeline_versions WHERE pipeline_id = 'customer_etl';

-- export writes YAML that registers back to the same spec hash (no new version)
SELECT etl.export_pipeline('customer_etl');
SELECT spec_hash AS hash_before FROM etl.pipelines WHERE pipeline_id = 'customer_etl' \gset
SELECT etl.register_pipeline(etl.export_pipeline('customer_etl'));
SELECT spec_hash = :'hash_before' AS same_hash,
       (SELECT count(*) FROM etl.pipeline_versions WHERE pipeline_id = 'customer_etl') AS versions
  FROM etl.pipelines WHERE pipeline_id = 'customer_etl';
-- and the exported text validates with no problem at all
SELECT count(*) AS problems FROM etl.validate_config(etl.export_pipeline('customer_etl'));

-- a changed spec makes version 2; pipeline_diff lists the changed paths
SELECT etl.register_pipeline(replace(replace((SELECT body FROM cfg WHERE name = 'customer'),
       'threshold: 95', 'threshold: 90'), 'min_success_rate: 0.95', 'min_success_rate: 0.99'));
SELECT current_version FROM etl.pipelines WHERE pipeline_id = 'customer_etl';
SELECT * FROM etl.pipeline_diff('customer_etl', 1, 2);
SELECT etl.load_pipeline_config('customer_etl', 1) #> '{pipeline,quality,rules,0,threshold}' AS v1_threshold,
       etl.load_pipeline_config('customer_etl') #> '{pipeline,quality,rules,0,threshold}' AS current_threshold;
SELECT pg_temp.error_of($$SELECT etl.load_pipeline_config('customer_etl', 9)$$);
SELECT pg_temp.error_of($$SELECT etl.load_pipeline_config('nope')$$);

-- bad input raises ONE error listing the problems and changes nothing
SELECT spec_hash AS hash_before FROM etl.pipelines WHERE pipeline_id = 'customer_etl' \gset
SELECT etl.register_pipeline(replace((SELECT body FROM cfg WHERE name = 'customer'),
       'age > 0 AND email IS NOT NULL', 'age > 0; DROP TABLE etl.pipelines'));
SELECT etl.register_pipeline(replace(replace((SELECT body FROM cfg WHERE name = 'customer'),
       '"filter"', '"filtr"'), 'threshold: 95', 'threshold: 195'));
SELECT etl.register_pipeline('pipeline: {id: customer_etl');
SELECT pg_temp.error_of($$SELECT etl.register_pipeline('pipeline: {id: x')$$) AS syntax_error;
SELECT pg_temp.error_of($$SELECT etl.register_pipeline(replace((SELECT body FROM cfg WHERE name = 'customer'),
       'age > 0', '(SELECT count(*) FROM pg_authid) > 0'))$$) AS invalid;
SELECT pg_temp.error_of($$SELECT etl.register_pipeline(repeat('x', 2000000))$$) AS too_large;
SELECT spec_hash = :'hash_before' AS unchanged,
       (SELECT count(*) FROM etl.pipeline_versions WHERE pipeline_id = 'customer_etl') AS versions
  FROM etl.pipelines WHERE pipeline_id = 'customer_etl';

-- the detail lists the first 20 errors and counts the rest
SELECT etl.register_pipeline(
    E'pipeline:\n  id: many\n  sources: [{id: src, type: postgresql, table: t}]\n  transforms:\n' ||
    string_agg(format(E'    - {id: s%s, type: bogus}', i), E'\n' ORDER BY i) ||
    E'\n  targets: [{id: out, type: postgresql, table: out}]\n')
  FROM generate_series(1, 25) AS i;
SELECT count(*) AS many_registered FROM etl.pipelines WHERE pipeline_id = 'many';

-- engine aliases of the original design are mapped, with a notice
SELECT etl.register_pipeline($$pipeline:
  id: aliased
  engine: pandas
  sources: [{id: src, type: postgresql, table: t}]
  targets: [{id: out, type: postgresql, table: out}]
$$);
SELECT engine FROM etl.pipelines WHERE pipeline_id = 'aliased';

-- drop
SELECT etl.drop_pipeline('aliased');
SELECT etl.drop_pipeline('customer_etl');
SELECT count(*) AS left_over FROM etl.pipeline_versions WHERE pipeline_id IN ('customer_etl', 'aliased');
SELECT pg_temp.error_of($$SELECT etl.drop_pipeline('customer_etl')$$);
SELECT pg_temp.error_of($$SELECT etl.export_pipeline('customer_etl')$$);

-- only members of the owning role may change or drop a pipeline
CREATE ROLE cfg_alice;
CREATE ROLE cfg_bob;
GRANT USAGE ON SCHEMA etl TO cfg_alice, cfg_bob;
GRANT SELECT, INSERT, UPDATE, DELETE ON etl.pipelines, etl.pipeline_versions, etl.pipeline_runs,
      etl.audit_log, etl.data_sources, etl.data_targets TO cfg_alice, cfg_bob;
SET ROLE cfg_alice;
SELECT etl.register_pipeline($$pipeline:
  id: alices
  sources: [{id: src, type: postgresql, table: t}]
  targets: [{id: out, type: postgresql, table: out}]
$$);
SET ROLE cfg_bob;
SELECT pg_temp.error_of($$SELECT etl.register_pipeline('pipeline: {id: alices, sources: [{id: s, type: postgresql, table: t}], targets: [{id: o, type: postgresql, table: o}]}')$$);
SELECT pg_temp.error_of($$SELECT etl.drop_pipeline('alices')$$);
SET ROLE cfg_alice;
SELECT etl.drop_pipeline('alices');
RESET ROLE;
REVOKE ALL ON etl.pipelines, etl.pipeline_versions, etl.pipeline_runs, etl.audit_log,
       etl.data_sources, etl.data_targets FROM cfg_alice, cfg_bob;
REVOKE USAGE ON SCHEMA etl FROM cfg_alice, cfg_bob;
DROP ROLE cfg_alice;
DROP ROLE cfg_bob;

-- the registry's changes are in the audit log
SELECT action, object_type, object_id FROM etl.audit_log
 WHERE object_id IN ('customer_etl', 'aliased', 'alices', 'customer_db_conn', 'warehouse_conn')
 ORDER BY audit_id;

-- clean up
DELETE FROM etl.audit_log WHERE object_id IN ('customer_etl', 'aliased', 'alices', 'customer_db_conn', 'warehouse_conn');
DELETE FROM etl.data_sources WHERE name IN ('customer_db_conn', 'warehouse_conn');
DELETE FROM etl.data_targets WHERE name IN ('customer_db_conn', 'warehouse_conn');
