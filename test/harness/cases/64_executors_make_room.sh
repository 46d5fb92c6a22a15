# case 64_executors_make_room: idle run executors give their background
# worker slots to etl.execute_pipeline when every slot is taken.  The
# server is restarted with max_worker_processes = 8 and a pool of 16; held
# schedules (a pool of 0 slots) make the launcher start executors ahead of
# them until no slot is left.  execute_pipeline still runs: an idle executor
# exits to make room.  The server is put back as it was.
set -euo pipefail
# test.sh runs cases inside `if`, where set -e does not apply: check explicitly
fail() { echo "FAILED: $*"; exit 1; }
db=metaetl_regress
q() { psql_pg -d "$db" -At "$@"; }
cleanup() {
    q -c "DELETE FROM etl.pipelines WHERE pipeline_id LIKE 'h64\_%'" -c "SELECT etl.drop_pool('h64_hold')" \
      -c "DROP TABLE IF EXISTS public.h64_out" >/dev/null || true
    q -c "ALTER SYSTEM RESET max_worker_processes" -c "ALTER SYSTEM RESET metaetl.run_executors" >/dev/null || true
    metaetl_cluster_restart || true
}
trap cleanup EXIT

q -c "ALTER SYSTEM SET max_worker_processes = 8" -c "ALTER SYSTEM SET metaetl.run_executors = 16" >/dev/null
metaetl_cluster_restart
q -c "INSERT INTO etl.pipelines (pipeline_id, name, config) VALUES ('h64_one', 'one row',
        '{\"pipeline\": {\"id\": \"h64_one\", \"name\": \"one row\",
          \"sources\": [{\"id\": \"src\", \"type\": \"inline\", \"rows\": [{\"v\": 1}]}], \"transforms\": [],
          \"targets\": [{\"id\": \"out\", \"type\": \"postgresql\", \"table\": \"public.h64_out\", \"input\": \"src\",
                         \"mode\": \"append\", \"keys\": [], \"create\": true}]}}')" \
  -c "SELECT etl.add_pool('h64_hold', 0)" \
  -c "INSERT INTO etl.pipelines (pipeline_id, name, config)
        SELECT 'h64_held_' || i, 'held', '{\"pipeline\": {}}' FROM generate_series(1, 16) i" \
  -c "SELECT count(etl.schedule_pipeline('h64_held_' || i, '* * * * * *', 'UTC', '{\"pool\": \"h64_hold\"}'))
        FROM generate_series(1, 16) i" >/dev/null
# wait until the executors started ahead have taken every free worker slot
prev=-1
for _ in $(seq 1 50); do
    n=$(q -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'metaetl run executor'")
    [ "$n" -gt 0 ] && [ "$n" = "$prev" ] && break
    prev=$n
    sleep 0.3
done
workers=$(q -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type IN
                  ('metaetl run executor', 'metaetl scheduler', 'metaetl alert delivery',
                   'pg_cron launcher', 'logical replication launcher')")
echo "idle executors: $n; background workers: $workers of max_worker_processes 8"
[ "$n" -gt 0 ] || fail '[ "$n" -gt 0 ]'
[ "$workers" -eq 8 ] || fail '[ "$workers" -eq 8 ]'

run=$(q -c "SELECT (etl.execute_pipeline('h64_one'))->>'status'")
echo "etl.execute_pipeline with every worker slot taken: $run"
[ "$run" = succeeded ] || fail '[ "$run" = succeeded ]'
