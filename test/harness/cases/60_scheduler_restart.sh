# case 60_scheduler_restart: the run queue survives a restart with no
# duplicate tick; ticks missed while the server was down are caught up
# (catchup: all); @reboot runs once per server start, even when the
# launcher itself is restarted.  Sourced by test.sh with the cluster
# running in metaetl_regress (where 01_install created the extension).
set -euo pipefail
# test.sh runs cases inside `if`, where set -e does not apply: check explicitly
fail() { echo "FAILED: $*"; exit 1; }
db=metaetl_regress
q() { psql_pg -d "$db" -At "$@"; }
cleanup() { q -c "DELETE FROM etl.pipelines WHERE pipeline_id LIKE 'h60_%'" -c "SELECT etl.drop_pool('h60_hold')" -c "DROP ROLE IF EXISTS h60_owner" >/dev/null || true; }
trap cleanup EXIT

# (held in a pool of 0 slots: the ticks are only counted, never run)
q -c "CREATE ROLE h60_owner LOGIN" -c "SELECT etl.add_pool('h60_hold', 0)" \
  -c "INSERT INTO etl.pipelines (pipeline_id, name, owner, config) VALUES
        ('h60_sec', 'every second', 'h60_owner', '{\"pipeline\": {}}'),
        ('h60_boot', 'at reboot', 'h60_owner', '{\"pipeline\": {}}')" \
  -c "SELECT etl.schedule_pipeline('h60_sec', '* * * * * *', 'UTC', '{\"catchup\": \"all\", \"pool\": \"h60_hold\"}')" \
  -c "SELECT etl.schedule_pipeline('h60_boot', '@reboot', 'UTC', '{\"pool\": \"h60_hold\"}')" >/dev/null
# a run claimed when the server goes down
q -c "INSERT INTO etl.run_queue (pipeline_id, trigger, state, claimed_at)
      VALUES ('h60_boot', 'run_now', 'claimed', clock_timestamp())" >/dev/null
sleep 3
before=$(q -c "SELECT count(*) FROM etl.run_queue WHERE pipeline_id = 'h60_sec'")
echo "queued before restart: $before"
[ "$before" -ge 2 ] || fail '[ "$before" -ge 2 ]'

as_pg "$PGBIN/pg_ctl" -D "$WORK/data" -m fast -w -t 60 stop >/dev/null
sleep 3
as_pg "$PGBIN/pg_ctl" -D "$WORK/data" -l "$WORK/postgres.log" -w -t 60 start >/dev/null
# wait until the launcher has caught up
for _ in $(seq 1 50); do
    behind=$(q -c "SELECT next_fire_at < now() - interval '1 second' FROM etl.schedules WHERE pipeline_id = 'h60_sec'")
    [ "$behind" = f ] && break
    sleep 0.2
done
sleep 1
stats=$(q -c "SELECT count(*), count(DISTINCT logical_date),
                     extract(epoch FROM max(logical_date) - min(logical_date))::int + 1
                FROM etl.run_queue WHERE pipeline_id = 'h60_sec'")
echo "after restart: rows, distinct ticks, seconds spanned = $stats"
read -r rows distinct span <<<"$(echo "$stats" | tr '|' ' ')"
[ "$rows" -gt "$before" ] || fail '[ "$rows" -gt "$before" ]'          # the queue survived and grew
[ "$rows" -eq "$distinct" ] || fail '[ "$rows" -eq "$distinct" ]'        # never two rows for one tick
[ "$rows" -eq "$span" ] || fail '[ "$rows" -eq "$span" ]'            # catchup all: no tick missing across the downtime

freed=$(q -c "SELECT state || ' ' || (note LIKE 'abandoned: claimed before the server started%')::text
               FROM etl.run_queue WHERE pipeline_id = 'h60_boot' AND trigger = 'run_now'")
echo "run claimed before the restart: $freed"
[ "$freed" = "done true" ] || fail '[ "$freed" = "done true" ]'
boot1=$(q -c "SELECT count(*) FROM etl.run_queue WHERE pipeline_id = 'h60_boot' AND logical_date = pg_postmaster_start_time()")
echo "@reboot runs for this start: $boot1"
[ "$boot1" -eq 1 ] || fail '[ "$boot1" -eq 1 ]'
# a restarted launcher does not enqueue @reboot again for the same server start
old_pid=$(q -c "SELECT etl.scheduler_status()->>'launcher_pid'")
q -c "SELECT pg_terminate_backend($old_pid)" >/dev/null
for _ in $(seq 1 50); do
    st=$(q -c "SELECT (etl.scheduler_status()->>'state') || ' ' || coalesce(etl.scheduler_status()->>'launcher_pid', '0')")
    [ "${st% *}" = running ] && [ "${st#* }" != "$old_pid" ] && break
    sleep 0.2
done
st=${st% *}
sleep 1.5
# (this server start's row only: a launcher that saw the extension appear after the
# schedule was made may have run @reboot for the first start too)
boot2=$(q -c "SELECT count(*) FROM etl.run_queue WHERE pipeline_id = 'h60_boot' AND trigger = 'schedule'
               AND logical_date = pg_postmaster_start_time()")
echo "@reboot rows after a launcher restart: $boot2 (state $st)"
[ "$st" = running ] || fail '[ "$st" = running ]'
[ "$boot2" -eq 1 ] || fail '[ "$boot2" -eq 1 ]'
