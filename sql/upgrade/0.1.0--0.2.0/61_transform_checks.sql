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
