# case 63_run_executors_off: with metaetl.run_executors = 0 (set in the
# server's configuration, since it needs a restart) there is no pool: each
# scheduled run gets a run worker of its own, which exits after the run, and
# etl.scheduler_status() shows no executors.  The server is put back as it
# was.  Sourced by test.sh with the cluster running in metaetl_regress.
set -euo pipefail
# test.sh runs cases inside `if`, where set -e does not apply: check explicitly
fail() { echo "FAILED: $*"; exit 1; }
db=metaetl_regress
q() { psql_pg -d "$db" -At "$@"; }
cleanup() {
    q -c "DELETE FROM etl.pipelines WHERE pipeline_id = 'h63_one'" -c "DROP TABLE IF EXISTS public.h63_out" \
      -c "DROP ROLE IF EXISTS h63_owner" >/dev/null || true
}
trap cleanup EXIT

q -c "ALTER SYSTEM SET metaetl.run_executors = 0" >/dev/null
metaetl_cluster_restart
q -c "CREATE ROLE h63_owner LOGIN" -c "GRANT CREATE ON SCHEMA public TO h63_owner" \
  -c "INSERT INTO etl.pipelines (pipeline_id, name, owner, config) VALUES ('h63_one', 'one row', 'h63_owner',
        '{\"pipeline\": {\"id\": \"h63_one\", \"name\": \"one row\",
          \"sources\": [{\"id\": \"src\", \"type\": \"inline\", \"rows\": [{\"v\": 1}]}], \"transforms\": [],
          \"targets\": [{\"id\": \"out\", \"type\": \"postgresql\", \"table\": \"public.h63_out\", \"input\": \"src\",
                         \"mode\": \"append\", \"keys\": [], \"create\": true}]}}')" >/dev/null
executors=$(q -c "SELECT coalesce(etl.scheduler_status()->>'executors', 'none')")
echo "executors with metaetl.run_executors = 0: $executors"
[ "$executors" = none ] || fail '[ "$executors" = none ]'
for i in 1 2; do
    q -c "SELECT etl.run_now('h63_one')" >/dev/null
    for _ in $(seq 1 100); do
        done_runs=$(q -c "SELECT count(*) FROM etl.pipeline_runs WHERE pipeline_id = 'h63_one' AND status NOT IN ('queued', 'running')")
        [ "$done_runs" -ge "$i" ] && break
        sleep 0.1
    done
done
runs=$(q -c "SELECT count(*) FILTER (WHERE status = 'succeeded') || ' ' || count(DISTINCT worker_pid)
               FROM etl.pipeline_runs WHERE pipeline_id = 'h63_one'")
echo "runs succeeded, distinct worker processes: $runs"
[ "$runs" = "2 2" ] || fail '[ "$runs" = "2 2" ]'
sleep 0.5
left=$(q -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type IN ('metaetl run worker', 'metaetl run executor')")
echo "run processes left after the runs: $left"
[ "$left" -eq 0 ] || fail '[ "$left" -eq 0 ]'

q -c "ALTER SYSTEM RESET metaetl.run_executors" >/dev/null
metaetl_cluster_restart
size=$(q -c "SELECT etl.scheduler_status()->'executors'->>'size'")
echo "pool size after the reset: $size"
[ "$size" = 4 ] || fail '[ "$size" = 4 ]'
