# case 30_abandoned_run: an immediate-mode stop in the middle of a run; after
# the restart the run is 'abandoned' (audited, its worker gone) and, because its
# retry policy allows another attempt, a retry run is queued and succeeds.
psql_pg -d "$PGDATABASE" <<'SQL'
CREATE SCHEMA ab;
CREATE TABLE ab.src (id int);
INSERT INTO ab.src VALUES (1), (2);
CREATE TABLE ab.crashed (at timestamptz);
-- sleeps until the test has noted the crash
CREATE FUNCTION ab.first_call_sleeps(x int) RETURNS int LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM ab.crashed) THEN PERFORM pg_sleep(60); END IF;
  RETURN x;
END $$;
SELECT etl.register_pipeline($$
pipeline:
  id: ab_crash
  name: interrupted by a crash
  retry: { max_attempts: 2, initial_delay_s: 2 }
  sources: [ { id: src, type: postgresql, table: ab.src } ]
  transforms:
    - { id: slow, type: udf, params: { function: ab.first_call_sleeps, args: [id], output: y } }
  targets: [ { id: out, type: postgresql, table: ab.out } ]
$$);
SQL
run_id=$(psql_pg -d "$PGDATABASE" -At -c "SELECT etl.execute_pipeline('ab_crash', wait => false)->>'run_id'")
sleep 1
status=$(psql_pg -d "$PGDATABASE" -At -c "SELECT status FROM etl.pipeline_runs WHERE run_id = $run_id")
echo "run $run_id before the crash: $status"
[ "$status" = running ]

as_pg "$PGBIN/pg_ctl" -D "$WORK/data" -m immediate -w stop >/dev/null
metaetl_cluster_start
# the retry waits initial_delay_s (2 s) before it may start
psql_pg -d "$PGDATABASE" -c "INSERT INTO ab.crashed VALUES (now())" >/dev/null

# the launcher marks it abandoned at its first pass; run_status does too
for _ in $(seq 1 100); do
    status=$(psql_pg -d "$PGDATABASE" -At -c "SELECT etl.run_status($run_id)->>'status'")
    [ "$status" = abandoned ] && break
    sleep 0.1
done
echo "run $run_id after the restart: $status"
[ "$status" = abandoned ]

# the retry policy allows a second attempt: queued as a retry and run
for _ in $(seq 1 150); do
    retry=$(psql_pg -d "$PGDATABASE" -At -c \
        "SELECT status FROM etl.pipeline_runs WHERE pipeline_id = 'ab_crash' AND trigger = 'retry'")
    [ "$retry" = succeeded ] && break
    sleep 0.1
done
echo "retry run: $retry"
[ "$retry" = succeeded ]
rows=$(psql_pg -d "$PGDATABASE" -At -c "SELECT count(*) FROM ab.out")
[ "$rows" = 2 ]
audited=$(psql_pg -d "$PGDATABASE" -At -c \
    "SELECT count(*) FROM etl.audit_log WHERE run_id = $run_id AND action = 'run_start'")
[ "$audited" = 1 ]

psql_pg -d "$PGDATABASE" -c "SELECT etl.drop_pipeline('ab_crash')" -c "DROP SCHEMA ab CASCADE" \
    -c "DELETE FROM etl.audit_log WHERE object_id = 'ab_crash'" -c "DELETE FROM etl.alerts WHERE pipeline_id = 'ab_crash'" >/dev/null
