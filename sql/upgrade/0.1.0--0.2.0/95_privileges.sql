-- privileges: the queue and SLA evaluations are written only by metaetl;
-- policies check rows written (WITH CHECK) as well as rows read; settings
-- are no longer readable by PUBLIC
REVOKE INSERT, UPDATE, DELETE ON etl.run_queue, etl.sla_compliance FROM PUBLIC;
ALTER POLICY schedules_by_pipeline ON etl.schedules
    WITH CHECK (EXISTS (SELECT 1 FROM etl.pipelines p WHERE p.pipeline_id OPERATOR(pg_catalog.=) schedules.pipeline_id));
ALTER POLICY run_queue_by_pipeline ON etl.run_queue
    WITH CHECK (EXISTS (SELECT 1 FROM etl.pipelines p WHERE p.pipeline_id OPERATOR(pg_catalog.=) run_queue.pipeline_id));
ALTER POLICY sla_definitions_by_pipeline ON etl.sla_definitions
    WITH CHECK (EXISTS (SELECT 1 FROM etl.pipelines p WHERE p.pipeline_id OPERATOR(pg_catalog.=) sla_definitions.pipeline_id));
ALTER POLICY sla_compliance_by_pipeline ON etl.sla_compliance
    WITH CHECK (EXISTS (SELECT 1 FROM etl.pipelines p WHERE p.pipeline_id OPERATOR(pg_catalog.=) sla_compliance.pipeline_id));
REVOKE SELECT ON etl.settings FROM PUBLIC;
