-- Transform engine: compile pipeline steps to SQL, run them, load targets.
-- C in src/transform and src/connectors; see docs/transforms.md.

CREATE FUNCTION etl.compile_pipeline(pipeline_id pg_catalog.text)
RETURNS pg_catalog.text
LANGUAGE c VOLATILE STRICT
AS 'MODULE_PATHNAME', 'metaetl_compile_pipeline';
COMMENT ON FUNCTION etl.compile_pipeline(pg_catalog.text) IS
  'the SQL a run of the pipeline would execute (engine chosen as for a run), without loading anything';

CREATE FUNCTION etl.preview(pipeline_id pg_catalog.text, step_id pg_catalog.text,
                            lim pg_catalog.int4 DEFAULT 20)
RETURNS SETOF pg_catalog.jsonb
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'metaetl_preview';
COMMENT ON FUNCTION etl.preview(pg_catalog.text, pg_catalog.text, pg_catalog.int4) IS
  'the first lim rows of a source or step of a registered pipeline, one jsonb object per row';

CREATE FUNCTION etl.execute_plan(config pg_catalog.jsonb,
                                 params pg_catalog.jsonb DEFAULT '{}',
                                 options pg_catalog.jsonb DEFAULT '{}')
RETURNS pg_catalog.jsonb
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'metaetl_execute_plan';
COMMENT ON FUNCTION etl.execute_plan(pg_catalog.jsonb, pg_catalog.jsonb, pg_catalog.jsonb) IS
  'run the sources, steps and targets of a normalised config in the caller''s transaction; returns rows, engine and per-step figures';

CREATE FUNCTION etl.execute_transformations(source pg_catalog.text,
                                            transform_config pg_catalog.jsonb,
                                            target pg_catalog.text,
                                            engine pg_catalog.text DEFAULT 'auto')
RETURNS pg_catalog.jsonb
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'metaetl_execute_transformations';
COMMENT ON FUNCTION etl.execute_transformations(pg_catalog.text, pg_catalog.jsonb, pg_catalog.text, pg_catalog.text) IS
  'ad-hoc run of {"steps": [...]} from a relation or SELECT into a table (created when missing); returns rows, engine, sql, duration_ms';

-- The parallel engine's key-range workers are separate sessions: each writes
-- its range's result to an unlogged table here and commits; the run reads
-- and drops them.  Any role may create tables here (never on a search_path).
CREATE SCHEMA etl_work;
GRANT USAGE, CREATE ON SCHEMA etl_work TO PUBLIC;
COMMENT ON SCHEMA etl_work IS
  'transient result tables of the parallel engine''s background workers (dropped after each run)';

-- Transform engine (0.2): errors raised while a step's expressions are
-- evaluated name the step under every engine (src/transform/stepctx.c).

CREATE FUNCTION etl._step_enter(context pg_catalog.text, anchor "any")
RETURNS pg_catalog.int4
LANGUAGE c STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_step_enter';
COMMENT ON FUNCTION etl._step_enter(pg_catalog.text, "any") IS
  'internal: compiled pipelines call it before a step''s expression; errors while the expression is evaluated carry the context';

CREATE FUNCTION etl._step_value(pushed pg_catalog.int4, value anyelement)
RETURNS anyelement
LANGUAGE c STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_step_value';
COMMENT ON FUNCTION etl._step_value(pg_catalog.int4, anyelement) IS
  'internal: compiled pipelines call it after a step''s expression; ends the context etl._step_enter began and returns the value';
