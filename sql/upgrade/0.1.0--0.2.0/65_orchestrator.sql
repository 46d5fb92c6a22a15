-- orchestrator: the quality gate of a run is a C hook of the plan
-- (transform.h), no longer an SQL function called back by name
DROP FUNCTION etl.run_quality_hook(pg_catalog.jsonb);
