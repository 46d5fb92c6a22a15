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
-- Roles (66_rbac.sql).  etl_viewer, etl_operator and etl_admin read every
-- pipeline, so every table whose policy follows etl.pipelines (runs, steps,
-- schedules, the queue, SLAs, alerts, watermarks) opens up with it; etl_admin
-- also changes pipelines and connections.  Nobody reads a secret this way:
-- credentials, channel secrets and stores stay closed.
CREATE POLICY pipelines_read_all ON etl.pipelines FOR SELECT
    USING (etl._caller_in(ARRAY['etl_viewer', 'etl_operator', 'etl_admin']));
CREATE POLICY pipelines_admin ON etl.pipelines
    USING (etl._caller_in(ARRAY['etl_admin'])) WITH CHECK (etl._caller_in(ARRAY['etl_admin']));
CREATE POLICY data_sources_read_all ON etl.data_sources FOR SELECT
    USING (etl._caller_in(ARRAY['etl_viewer', 'etl_operator', 'etl_admin']));
CREATE POLICY data_targets_read_all ON etl.data_targets FOR SELECT
    USING (etl._caller_in(ARRAY['etl_viewer', 'etl_operator', 'etl_admin']));
DO $read_all$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['quality_scores', 'completeness_checks', 'validity_checks',
                              'uniqueness_checks', 'dq_results', 'profiling_stats',
                              'anomaly_detection', 'quality_profiles'] LOOP
        EXECUTE pg_catalog.format(
            'CREATE POLICY %I ON etl.%I FOR SELECT USING (etl._caller_in(ARRAY[''etl_viewer'', ''etl_operator'', ''etl_admin'']))',
            t || '_read_all', t);
    END LOOP;
END
$read_all$;
