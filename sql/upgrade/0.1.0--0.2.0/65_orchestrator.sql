-- orchestrator: the quality gate of a run is a C hook of the plan
-- (transform.h), no longer an SQL function called back by name
DROP FUNCTION etl.run_quality_hook(pg_catalog.jsonb);

-- 0.2: a failed run keeps its error's hint too (the did-you-mean of an
-- unknown column); added here, after the table, so that fresh and upgraded
-- catalogs have the same column order.
ALTER TABLE etl.pipeline_runs ADD COLUMN error_hint pg_catalog.text;
COMMENT ON COLUMN etl.pipeline_runs.error_hint IS 'the hint of the error that failed the run (e.g. a did-you-mean), or null';
