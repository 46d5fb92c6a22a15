# case 61_scheduler_no_preload: without shared_preload_libraries there is no
# launcher: etl.schedule_pipeline raises the preload error with its hint,
# etl.scheduler_status() and etl.health() say "not preloaded", and the
# scheduler's parameters still exist (they are not postmaster-only).
set -euo pipefail
# test.sh runs cases inside `if`, where set -e does not apply: check explicitly
fail() { echo "FAILED: $*"; exit 1; }
conf=$WORK/data/postgresql.conf
cp "$conf" "$WORK/postgresql.conf.saved61"
restore() { cp "$WORK/postgresql.conf.saved61" "$conf"; as_pg "$PGBIN/pg_ctl" -D "$WORK/data" -m fast -w restart -l "$WORK/postgres.log" >/dev/null; }
trap restore EXIT
echo "shared_preload_libraries = ''" >>"$conf"
as_pg "$PGBIN/pg_ctl" -D "$WORK/data" -m fast -w restart -l "$WORK/postgres.log" >/dev/null
psql_pg -d postgres -c 'CREATE DATABASE sched_no_preload' >/dev/null
q() { psql_pg -d sched_no_preload -At "$@"; }
q -c 'CREATE EXTENSION metaetl' \
  -c "INSERT INTO etl.pipelines (pipeline_id, name, config) VALUES ('np', 'np', '{\"pipeline\": {}}')" >/dev/null
err=$(q -c "SELECT etl.schedule_pipeline('np', '@daily')" 2>&1 || true)
warn=$(q -c "SELECT etl.apply_schedule_config('np', '{\"cron\": \"@daily\"}') IS NULL" 2>&1)
state=$(q -c "SELECT (etl.scheduler_status()->>'state') || ',' || (etl.health()->>'scheduler') || ',' || current_setting('metaetl.max_concurrent_runs')")
count=$(q -c "SELECT count(*) FROM etl.schedules")
psql_pg -d postgres -c 'DROP DATABASE sched_no_preload' >/dev/null
echo "error: $err"
echo "state: $state; schedules: $count"
echo "apply_schedule_config: $warn"
grep -q 'WARNING:  the schedule of pipeline "np" is not registered' <<<"$warn" || fail 'expected output missing'
grep -q '^t$' <<<"$warn" || fail 'expected output missing'
grep -q 'the scheduler requires metaetl to be loaded via shared_preload_libraries' <<<"$err" || fail 'expected output missing'
grep -q 'HINT:  Add metaetl to shared_preload_libraries' <<<"$err" || fail 'expected output missing'
[ "$state" = "not preloaded,not preloaded,4" ] || fail '[ "$state" = "not preloaded,not preloaded,4" ]'
[ "$count" = 0 ] || fail '[ "$count" = 0 ]'
