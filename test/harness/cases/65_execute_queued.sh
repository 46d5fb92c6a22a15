# case 65_execute_queued: a busy server queues etl.execute_pipeline instead
# of failing.  The server is restarted with max_worker_processes = 8 (four of
# them taken by the launcher, pg_cron, alert delivery and logical
# replication) and 2 run executors; 100 sessions call execute_pipeline at
# once on a pipeline whose runs take 0.3 s, 90 of them waiting for the run
# and 10 with wait => false.  Before queueing, 72 of 100 such calls failed
# with 53400 and left no run record.  Now every call gets a run record, none
# fails, the calls that found no slot got a run that waited in
# etl.run_queue (status queued), and every run succeeds.  The server is put
# back as it was.
set -euo pipefail
# test.sh runs cases inside `if`, where set -e does not apply: check explicitly
fail() { echo "FAILED: $*"; exit 1; }
db=metaetl_regress
q() { psql_pg -d "$db" -At "$@"; }
out=$WORK/case65
rm -rf "$out"
mkdir -p "$out"
[ "$(id -u)" -eq 0 ] && chown postgres: "$out"
cleanup() {
    q -c "DELETE FROM etl.pipelines WHERE pipeline_id = 'h65_busy'" -c "DROP TABLE IF EXISTS public.h65_out" >/dev/null || true
    q -c "ALTER SYSTEM RESET max_worker_processes" -c "ALTER SYSTEM RESET max_connections" \
      -c "ALTER SYSTEM RESET metaetl.run_executors" >/dev/null || true
    metaetl_cluster_restart || true
}
trap cleanup EXIT

q -c "ALTER SYSTEM SET max_worker_processes = 8" -c "ALTER SYSTEM SET max_connections = 150" \
  -c "ALTER SYSTEM SET metaetl.run_executors = 2" >/dev/null
metaetl_cluster_restart
# (the target exists: runs that create it at once would collide in pg_type)
q >/dev/null <<'SQL'
CREATE TABLE public.h65_out (v int);
SELECT etl.register_pipeline($$
pipeline:
  id: h65_busy
  concurrency: allow
  sources:
    - { id: src, type: postgresql, query: "SELECT 1 AS v FROM pg_catalog.pg_sleep(0.3)" }
  targets:
    - { id: out, type: postgresql, table: public.h65_out, mode: append }
$$);
SQL
for _ in $(seq 1 50); do
    [ "$(q -c "SELECT etl.scheduler_status()->>'state'")" = running ] && break
    sleep 0.2
done

for i in $(seq 1 100); do
    if [ "$i" -le 10 ]; then
        q -c "SELECT etl.execute_pipeline('h65_busy', wait => false)" >"$out/$i.out" 2>"$out/$i.err" &
    else
        q -c "SELECT etl.execute_pipeline('h65_busy')" >"$out/$i.out" 2>"$out/$i.err" &
    fi
done
wait

errors=$(cat "$out"/*.err | grep -c . || true)
echo "calls that raised an error: $errors"
[ "$errors" -eq 0 ] || { cat "$out"/*.err | sort | uniq -c | head; fail '[ "$errors" -eq 0 ]'; }
waited_ok=$(cat $(seq -f "$out/%g.out" 11 100) | grep -c '"status": "succeeded"' || true)
echo "of 90 calls that waited, succeeded: $waited_ok"
[ "$waited_ok" -eq 90 ] || fail '[ "$waited_ok" -eq 90 ]'
nowait=$(cat $(seq -f "$out/%g.out" 1 10) | grep -oE '"status": "(queued|running)"' | sort | uniq -c | tr '\n' ' ')
echo "the 10 calls with wait => false returned: $nowait"
[ "$(cat $(seq -f "$out/%g.out" 1 10) | grep -cE '"status": "(queued|running)"')" -eq 10 ] || fail 'wait => false returns queued or running'

# every call has its run record; those that found no slot waited in the queue
for _ in $(seq 1 150); do
    left=$(q -c "SELECT count(*) FROM etl.pipeline_runs WHERE pipeline_id = 'h65_busy' AND status IN ('queued', 'running')")
    [ "$left" -eq 0 ] && break
    sleep 0.2
done
stats=$(q -c "SELECT count(*), count(*) FILTER (WHERE status = 'succeeded'),
                     count(*) FILTER (WHERE queue_id IS NOT NULL),
                     (SELECT count(*) FROM etl.audit_log a JOIN etl.pipeline_runs r USING (run_id)
                       WHERE r.pipeline_id = 'h65_busy' AND a.action = 'run_queued'),
                     (SELECT count(*) FROM public.h65_out)
                FROM etl.pipeline_runs WHERE pipeline_id = 'h65_busy'")
echo "runs, succeeded, started from the queue, recorded as queued, rows loaded: $stats"
read -r runs succeeded from_queue queued_audit rows <<<"$(echo "$stats" | tr '|' ' ')"
[ "$runs" -eq 100 ] || fail '[ "$runs" -eq 100 ]'
[ "$succeeded" -eq 100 ] || fail '[ "$succeeded" -eq 100 ]'
[ "$from_queue" -gt 0 ] || fail '[ "$from_queue" -gt 0 ]'        # the server was busy: some runs waited
[ "$queued_audit" -eq "$from_queue" ] || fail '[ "$queued_audit" -eq "$from_queue" ]'
[ "$rows" -eq 100 ] || fail '[ "$rows" -eq 100 ]'
# a queued run keeps its caller's trigger and triggered_by, and its start time
bad=$(q -c "SELECT count(*) FROM etl.pipeline_runs WHERE pipeline_id = 'h65_busy' AND queue_id IS NOT NULL
              AND (trigger <> 'manual' OR triggered_by <> 'postgres' OR started_at IS NULL OR started_at < queued_at)")
[ "$bad" -eq 0 ] || fail '[ "$bad" -eq 0 ]'
