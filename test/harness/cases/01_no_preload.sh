# case 01_no_preload: the library loads and works without
# shared_preload_libraries; etl.health() says it was not preloaded.
# Parameters only the background workers read (metaetl.database) exist only
# with preload.  Sourced by test.sh with the cluster running; leaves it as it
# found it.
set -euo pipefail
conf=$WORK/data/postgresql.conf
cp "$conf" "$WORK/postgresql.conf.saved"
restore() { cp "$WORK/postgresql.conf.saved" "$conf"; as_pg "$PGBIN/pg_ctl" -D "$WORK/data" -m fast -w restart -l "$WORK/postgres.log" >/dev/null; }
trap restore EXIT
echo "shared_preload_libraries = ''" >>"$conf"
as_pg "$PGBIN/pg_ctl" -D "$WORK/data" -m fast -w restart -l "$WORK/postgres.log" >/dev/null
psql_pg -d postgres -c 'CREATE DATABASE no_preload'
got=$(psql_pg -d no_preload -At -c 'CREATE EXTENSION metaetl' \
      -c "SELECT (etl.health()->>'preloaded') || ' ' || (current_setting('metaetl.database', true) IS NULL)")
psql_pg -d postgres -c 'DROP DATABASE no_preload'
echo "got: $got"
[ "$got" = "false true" ]
