# case 34_pg_cron_run: a pipeline scheduled with pg_cron (etl.schedule_with_pg_cron)
# is really run by pg_cron's job, through etl.execute_pipeline.  pg_cron 1.4 has
# no per-second schedules, so this waits for the next minute (at most ~65 s).
# Meanwhile the scheduler's launcher evaluates the pipeline's freshness SLA, as
# it does every minute (rows with no run).
psql_pg -d "$PGDATABASE" <<'SQL'
CREATE EXTENSION IF NOT EXISTS pg_cron;
CREATE SCHEMA pc;
CREATE TABLE pc.src (id int);
INSERT INTO pc.src VALUES (1), (2), (3);
SELECT etl.register_pipeline($$
pipeline:
  id: pc_minutely
  name: run by pg_cron
  sources: [ { id: src, type: postgresql, table: pc.src } ]
  targets: [ { id: out, type: postgresql, table: pc.out, mode: append } ]
  sla: { freshness: { max_age: 1 hour } }
$$);
SELECT etl.schedule_with_pg_cron('pc_minutely', '* * * * *') > 0 AS job_created;
SQL
cmd=$(psql_pg -d "$PGDATABASE" -At -c "SELECT command FROM cron.job WHERE jobname = 'metaetl_pc_minutely'")
echo "job command: $cmd"
[ "$cmd" = "SELECT etl.execute_pipeline('pc_minutely', 'pg_cron')" ]

status=
fresh=0
for _ in $(seq 1 75); do
    status=$(psql_pg -d "$PGDATABASE" -At -c \
        "SELECT status FROM etl.pipeline_runs WHERE pipeline_id = 'pc_minutely' AND trigger = 'pg_cron' ORDER BY run_id LIMIT 1")
    fresh=$(psql_pg -d "$PGDATABASE" -At -c \
        "SELECT count(*) FROM etl.sla_compliance c JOIN etl.sla_definitions d USING (sla_id)
          WHERE c.pipeline_id = 'pc_minutely' AND d.sla_type = 'freshness' AND c.run_id IS NULL")
    [ "$status" = succeeded ] && [ "$fresh" -ge 1 ] && break
    sleep 1
done
echo "freshness evaluations by the launcher: $fresh"
echo "first pg_cron run: ${status:-none}"
jobstatus=$(psql_pg -d "$PGDATABASE" -At -c \
    "SELECT d.status FROM cron.job_run_details d JOIN cron.job j USING (jobid) WHERE j.jobname = 'metaetl_pc_minutely' ORDER BY d.runid LIMIT 1")
echo "pg_cron's own record: $jobstatus"
psql_pg -d "$PGDATABASE" -c "SELECT cron.unschedule('metaetl_pc_minutely')" >/dev/null
rows=$(psql_pg -d "$PGDATABASE" -At -c "SELECT count(*) FROM pc.out")
psql_pg -d "$PGDATABASE" -c "SELECT etl.drop_pipeline('pc_minutely')" -c "DROP SCHEMA pc CASCADE" \
    -c "DELETE FROM etl.audit_log WHERE object_id = 'pc_minutely'" -c "DROP EXTENSION pg_cron" >/dev/null
[ "$status" = succeeded ]
[ "$fresh" -ge 1 ]
[ "$jobstatus" = succeeded ]
[ "$rows" -ge 3 ]
