# case 62_scheduler_standby: on a hot standby the launcher idles and says
# so ("standby"); the primary keeps scheduling.  Builds a streaming standby
# of the test cluster with pg_basebackup, checks it, and removes it.
set -euo pipefail
# test.sh runs cases inside `if`, where set -e does not apply: check explicitly
fail() { echo "FAILED: $*"; exit 1; }
sb=$WORK/standby
sbport=$(metaetl_free_port)
stop_standby() {
    [ -f "$sb/postmaster.pid" ] && as_pg "$PGBIN/pg_ctl" -D "$sb" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$sb"
}
trap stop_standby EXIT
as_pg "$PGBIN/pg_basebackup" -h "$PGHOST" -p "$PGPORT" -U postgres -D "$sb" -R -X stream >/dev/null
cat >>"$sb/postgresql.conf" <<CONF
port = $sbport
hot_standby = on
CONF
as_pg "$PGBIN/pg_ctl" -D "$sb" -l "$WORK/standby.log" -w -t 60 start >/dev/null
sbq() { as_pg "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PGHOST" -p "$sbport" -U postgres -d metaetl_regress -At "$@"; }
state=
for _ in $(seq 1 50); do
    state=$(sbq -c "SELECT pg_is_in_recovery()::text || ' ' || (etl.scheduler_status()->>'state') || ' ' || (etl.health()->>'scheduler')" 2>/dev/null || true)
    [ "$state" = "true standby standby" ] && break
    sleep 0.2
done
primary=$(psql_pg -d metaetl_regress -At -c "SELECT etl.scheduler_status()->>'state'")
echo "standby: $state; primary: $primary"
[ "$state" = "true standby standby" ] || fail '[ "$state" = "true standby standby" ]'
[ "$primary" = running ] || fail '[ "$primary" = running ]'
