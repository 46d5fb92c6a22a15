-- orchestrator: the quality gate of a run is a C hook of the plan
-- (transform.h), no longer an SQL function called back by name
DROP FUNCTION etl.run_quality_hook(pg_catalog.jsonb);

-- The one rule for who runs (src/orchestrator/run.c): raises what a run of
-- the pipeline would raise for its owner.  etl.schedule_pipeline calls it, so
-- a schedule whose runs would be refused is refused when it is made.
CREATE FUNCTION etl._check_run_owner(pipeline_id pg_catalog.text)
RETURNS void
LANGUAGE c STABLE STRICT
AS 'MODULE_PATHNAME', 'metaetl_check_run_owner';
COMMENT ON FUNCTION etl._check_run_owner(pg_catalog.text) IS
  'internal: raises SQLSTATE 55000 with a hint when the pipeline''s owner cannot run it (cannot log in)';

-- 0.2: a failed run keeps its error's hint too (the did-you-mean of an
-- unknown column); added here, after the table, so that fresh and upgraded
-- catalogs have the same column order.
ALTER TABLE etl.pipeline_runs ADD COLUMN error_hint pg_catalog.text;
COMMENT ON COLUMN etl.pipeline_runs.error_hint IS 'the hint of the error that failed the run (e.g. a did-you-mean), or null';
