-- 63_pg_cron: etl.schedule_with_pg_cron creates a pg_cron job that runs
-- etl.execute_pipeline; without pg_cron in the database it says so clearly.
\set SHOW_CONTEXT never
INSERT INTO etl.pipelines (pipeline_id, name, config)
VALUES ('c63_nightly', 'Nightly', '{"pipeline": {"id": "c63_nightly"}}');

-- pg_cron is preloaded by the test cluster but not created in this database yet
SELECT count(*) AS pg_cron_installed FROM pg_extension WHERE extname = 'pg_cron';
SELECT etl.schedule_with_pg_cron('c63_nightly', '0 2 * * *');

CREATE EXTENSION pg_cron;
SELECT etl.schedule_with_pg_cron('c63_nightly', '0 2 * * *') > 0 AS job_created;
SELECT jobname, schedule, command, database = current_database() AS this_database, active
  FROM cron.job WHERE jobname = 'metaetl_c63_nightly';
-- scheduling again replaces the job (same name, one row)
SELECT etl.schedule_with_pg_cron('c63_nightly', '30 3 * * *') > 0 AS job_replaced;
SELECT jobname, schedule, command FROM cron.job WHERE jobname LIKE 'metaetl_%';
-- errors: an unknown pipeline, and pg_cron's own check of the expression
SELECT etl.schedule_with_pg_cron('nosuch', '0 2 * * *');
\set VERBOSITY terse
SELECT etl.schedule_with_pg_cron('c63_nightly', 'not cron');
\set VERBOSITY default

SELECT cron.unschedule('metaetl_c63_nightly');
DROP EXTENSION pg_cron;
DELETE FROM etl.pipelines WHERE pipeline_id = 'c63_nightly';
