-- 13_config_templates: etl.render_template (docs/configuration.md, "Templates"), the
-- etl.settings table behind {{env.NAME}}, and environment overrides merged
-- by metaetl.environment.
\set VERBOSITY default

CREATE FUNCTION pg_temp.error_of(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;

-- {{last_run}} inside quotes, as in the original example: -infinity before a first run
SELECT etl.render_template($$SELECT * FROM customers WHERE updated_at > '{{last_run}}'$$);
SELECT etl.render_template($$SELECT * FROM customers WHERE updated_at > '{{last_run}}'$$,
                           '{"last_run": "2026-01-31 02:00:00+00"}');

-- bare templates become quoted literals; null becomes NULL
SELECT etl.render_template('run = {{run_id}} AND d = {{ logical_date }} AND w > {{watermark}}',
                           '{"run_id": 7, "logical_date": "2026-02-01", "watermark": null}');

-- values are escaped, never pasted: an injection attempt stays a literal
SELECT etl.render_template($$region = {{param.region}} AND note = 'x {{param.region}} y'$$,
                           $${"param": {"region": "EU' OR 1=1 --"}}$$);
SELECT etl.render_template('p = {{param.p}}', $${"param": {"p": "back\\slash"}}$$);

-- {{env.NAME}} reads etl.settings, never the server's process environment
INSERT INTO etl.settings (name, value) VALUES ('target_schema', 'analytics'), ('HOME', 'settings-home');
SELECT etl.render_template('schema = {{env.target_schema}}, home = {{env.HOME}}');

-- {{input}} of sql steps is left for the transform compiler
SELECT etl.render_template('SELECT * FROM {{input}} JOIN {{input.orders}} USING (id)');

-- templates that cannot be rendered safely, or have no value
SELECT pg_temp.error_of($$SELECT etl.render_template('SELECT "{{last_run}}"')$$);
SELECT pg_temp.error_of($$SELECT etl.render_template('SELECT $q$ {{last_run}} $q$')$$);
SELECT pg_temp.error_of($$SELECT etl.render_template('SELECT 1 -- {{last_run}}')$$);
SELECT pg_temp.error_of($$SELECT etl.render_template('x > ''{{watermark}}''', '{}')$$);
SELECT pg_temp.error_of($$SELECT etl.render_template('{{param.missing}}', '{"param": {}}')$$);
SELECT pg_temp.error_of($$SELECT etl.render_template('{{env.not_set}}')$$);
SELECT pg_temp.error_of($$SELECT etl.render_template('{{what}}')$$);
SELECT pg_temp.error_of($$SELECT etl.render_template('{{ broken')$$);

-- templates stay as written in the normalised config (rendered at run time)
SELECT etl.load_configuration($$pipeline:
  id: tpl
  params: {region: EU}
  sources:
    - {id: src, type: postgresql, query: "SELECT * FROM t WHERE region = {{param.region}} AND d > '{{last_run}}'"}
  targets: [{id: out, type: postgresql, table: out}]
$$) #> '{pipeline,sources,0,query}' AS query;

-- environments: overrides for the environment named by metaetl.environment
CREATE TEMP TABLE envcfg (body text);
INSERT INTO envcfg VALUES ($$pipeline:
  id: env_demo
  sources:
    - {id: src, type: postgresql, table: public.orders}
  transforms:
    - {id: recent, type: filter, params: {condition: "amount > 100"}}
  targets:
    - {id: out, type: postgresql, table: analytics.orders}
  schedule: {cron: "0 2 * * *"}
environments:
  dev:
    targets:
      - {id: out, table: dev.orders}
    schedule: {cron: "*/5 * * * *"}
  prod:
    transforms:
      - {id: recent, params: {condition: "amount > 1000"}}
$$);
SELECT current_setting('metaetl.environment') = '' AS no_environment;
SELECT c #>> '{pipeline,targets,0,table}' AS target, c #>> '{pipeline,schedule,cron}' AS cron,
       c #>> '{pipeline,transforms,0,params,condition}' AS condition
  FROM (SELECT etl.load_configuration(body) AS c FROM envcfg) s;
SET metaetl.environment = 'dev';
SELECT c #>> '{pipeline,targets,0,table}' AS target, c #>> '{pipeline,schedule,cron}' AS cron,
       c #>> '{pipeline,transforms,0,params,condition}' AS condition
  FROM (SELECT etl.load_configuration(body) AS c FROM envcfg) s;
SET metaetl.environment = 'prod';
SELECT c #>> '{pipeline,targets,0,table}' AS target, c #>> '{pipeline,schedule,cron}' AS cron,
       c #>> '{pipeline,transforms,0,params,condition}' AS condition
  FROM (SELECT etl.load_configuration(body) AS c FROM envcfg) s;
-- an environment the configuration does not define: a warning, no overrides
SET metaetl.environment = 'staging';
SELECT * FROM etl.validate_config((SELECT body FROM envcfg));
-- overrides are validated like the rest, at their own lines
SET metaetl.environment = 'dev';
SELECT * FROM etl.validate_config(replace((SELECT body FROM envcfg), 'dev.orders', 'dev orders'));
RESET metaetl.environment;

DELETE FROM etl.settings WHERE name IN ('target_schema', 'HOME');
