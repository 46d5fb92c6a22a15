-- Privileges for plain roles, applied after every subsystem created its
-- tables.  Schema etl is usable by every role; row-level security shows a role
-- only what belongs to it:
--  * per-pipeline metadata (schedules, queue, SLAs, SLA results, alerts) to the
--    roles that may see the pipeline (etl.pipelines' own policy decides);
--  * results of quality checks, profiles and anomaly detections to the role
--    that produced them (a run's results are produced as the run's role).
-- Administrative tables (credentials, users, roles, access log, alert channels,
-- routes, escalation policies, the audit log) stay with the extension owner and
-- are reached through SECURITY DEFINER functions.  Superusers bypass RLS.

DO $privileges$
DECLARE
    t text;
BEGIN
    -- per-pipeline metadata.  Schedules and SLA definitions a role writes
    -- for its own pipelines; the queue and SLA evaluations only metaetl
    -- writes (etl.run_now, etl.backfill, the SLA functions check who calls):
    -- a role inserting queue rows could name another role's run.
    FOREACH t IN ARRAY ARRAY['schedules', 'run_queue', 'sla_definitions', 'sla_compliance'] LOOP
        IF t IN ('schedules', 'sla_definitions') THEN
            EXECUTE pg_catalog.format('GRANT SELECT, INSERT, UPDATE, DELETE ON etl.%I TO PUBLIC', t);
        ELSE
            EXECUTE pg_catalog.format('GRANT SELECT ON etl.%I TO PUBLIC', t);
        END IF;
        EXECUTE pg_catalog.format('ALTER TABLE etl.%I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE pg_catalog.format(
            'CREATE POLICY %I ON etl.%I USING (EXISTS (SELECT 1 FROM etl.pipelines p WHERE p.pipeline_id OPERATOR(pg_catalog.=) %I.pipeline_id))'
            ' WITH CHECK (EXISTS (SELECT 1 FROM etl.pipelines p WHERE p.pipeline_id OPERATOR(pg_catalog.=) %I.pipeline_id))',
            t || '_by_pipeline', t, t, t);
    END LOOP;

    -- results: visible to the role that produced them, and with their pipeline
    FOREACH t IN ARRAY ARRAY['quality_scores', 'completeness_checks', 'validity_checks',
                              'uniqueness_checks', 'dq_results', 'profiling_stats',
                              'anomaly_detection', 'quality_profiles'] LOOP
        EXECUTE pg_catalog.format(
            'ALTER TABLE etl.%I ADD COLUMN created_by pg_catalog.name NOT NULL DEFAULT CURRENT_USER', t);
        EXECUTE pg_catalog.format('GRANT SELECT, INSERT, UPDATE, DELETE ON etl.%I TO PUBLIC', t);
        EXECUTE pg_catalog.format('ALTER TABLE etl.%I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE pg_catalog.format(
            'CREATE POLICY %I ON etl.%I USING (etl.may_act_as(created_by)) WITH CHECK (etl.may_act_as(created_by))',
            t || '_by_creator', t);
    END LOOP;
END
$privileges$;

-- alerts are read by the roles that may see their pipeline (system alerts by all)
GRANT SELECT ON etl.alerts TO PUBLIC;
ALTER TABLE etl.alerts ENABLE ROW LEVEL SECURITY;
CREATE POLICY alerts_by_pipeline ON etl.alerts
    USING (pipeline_id IS NULL
           OR EXISTS (SELECT 1 FROM etl.pipelines p WHERE p.pipeline_id OPERATOR(pg_catalog.=) alerts.pipeline_id));

-- read-only for everyone: named pools.  Settings ({{env.NAME}}) are read by
-- metaetl as it renders a run's templates, and by etl_admin; not by PUBLIC.
GRANT SELECT ON etl.pools TO PUBLIC;

-- watermarks are written by metaetl itself and read with their pipeline
GRANT SELECT ON etl.watermarks TO PUBLIC;
ALTER TABLE etl.watermarks ENABLE ROW LEVEL SECURITY;
CREATE POLICY watermarks_by_pipeline ON etl.watermarks
    USING (EXISTS (SELECT 1 FROM etl.pipelines p WHERE p.pipeline_id OPERATOR(pg_catalog.=) watermarks.pipeline_id));

-- Roles (66_security.sql).  etl_viewer, etl_operator and etl_admin read every
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
