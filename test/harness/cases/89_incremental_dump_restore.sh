# case 89_incremental_dump_restore: trigger CDC survives pg_dump and a
# restore into a new database.  etl.change_captures (extension config) names
# the captured table by regclass, so the restore finds the table's new oid;
# the change tables (not extension members) are dumped with their rows and
# the positions name them, so changes pending at dump time are loaded once
# after the restore and new changes are captured.
#
# Log CDC: etl.change_slots is dumped, the slots are not (a remote one is
# still there, shared).  etl.installation is not dumped, so the restored copy
# is another installation: a source reading a restored registration of a
# slot of this cluster or of the remote server is refused (superuser and
# plain role alike), the slot untouched; etl.drop_change_slot refuses too,
# and drops only the registration when asked to (registration_only), leaving
# the original's slots; the copy then works with a slot of its own, and the
# original goes on reading its slots.  pg_upgrade keeps the identity.
set -euo pipefail
cleanup() {
    psql_pg -d postgres -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name LIKE 'metaetl\_dump\_%'" \
        -c 'DROP DATABASE IF EXISTS incr_dump_src' -c 'DROP DATABASE IF EXISTS incr_dump_dst' \
        -c 'DROP ROLE IF EXISTS incr_dump_plain' -c 'DROP ROLE IF EXISTS incr_dump_admin' >/dev/null || true
    psql_pgremote -d remote -c 'SET client_min_messages = warning' \
        -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name LIKE 'metaetl\_dump\_%'" \
        -c 'DROP SCHEMA IF EXISTS drr CASCADE' >/dev/null || true
}
trap cleanup EXIT
psql_pg -d postgres -c 'CREATE DATABASE incr_dump_src' -c 'CREATE DATABASE incr_dump_dst' \
    -c 'CREATE ROLE incr_dump_plain LOGIN' -c 'CREATE ROLE incr_dump_admin LOGIN' >/dev/null
psql_pgremote -d remote >/dev/null <<'SQL'
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS drr CASCADE;
CREATE SCHEMA drr;
CREATE TABLE drr.t (id int PRIMARY KEY, v text);
INSERT INTO drr.t VALUES (1, 'x');
SQL
psql_pg -d incr_dump_src -v ON_ERROR_STOP=1 -v rport="$METAETL_PGREMOTE_PORT" >/dev/null <<'SQL'
CREATE EXTENSION metaetl;
CREATE SCHEMA d;
CREATE TABLE d.t (id int PRIMARY KEY, v text);
INSERT INTO d.t VALUES (1, 'a'), (2, 'b'), (3, 'c');
SELECT etl.enable_change_capture('d.t');
SELECT etl.register_pipeline($$
pipeline:
  id: dd
  sources: [{id: src, type: postgresql, table: d.t, incremental: {mode: trigger_cdc}}]
  targets: [{id: copy, type: postgresql, table: d.copy, mode: merge_changes, keys: [id]}]
$$);
SELECT etl.execute_pipeline('dd');
-- pending at dump time
UPDATE d.t SET v = 'b2' WHERE id = 2;
INSERT INTO d.t VALUES (4, 'd');
SELECT etl.create_change_slot('metaetl_dump_slot');
SELECT etl.register_pipeline($$
pipeline:
  id: dl
  sources: [{id: src, type: postgresql, table: d.t, incremental: {mode: log_cdc, slot: metaetl_dump_slot}}]
  targets: [{id: copy, type: postgresql, table: d.lcopy, mode: merge_changes, keys: [id]}]
$$);
SELECT etl.execute_pipeline('dl');
-- a plain role's pipeline on a slot of its own
SELECT etl.create_change_slot('metaetl_dump_pslot');
GRANT USAGE, CREATE ON SCHEMA d TO incr_dump_plain;
GRANT SELECT ON d.t TO incr_dump_plain;
SET ROLE incr_dump_plain;
SELECT etl.register_pipeline($$
pipeline:
  id: dp
  sources: [{id: src, type: postgresql, table: d.t, incremental: {mode: log_cdc, slot: metaetl_dump_pslot}}]
  targets: [{id: copy, type: postgresql, table: d.pcopy, mode: merge_changes, keys: [id]}]
$$);
SELECT etl.execute_pipeline('dp');
RESET ROLE;
-- a slot on the remote server, read twice (the position is an LSN there)
SELECT etl.add_connection('dump_remote', 'postgresql',
       jsonb_build_object('host', '127.0.0.1', 'port', :'rport'::int, 'dbname', 'remote', 'user', 'postgres'));
SELECT etl.create_change_slot('metaetl_dump_rslot', connection => 'dump_remote');
SELECT etl.register_pipeline($$
pipeline:
  id: dr
  sources: [{id: src, type: postgresql, connection: dump_remote, table: drr.t, incremental: {mode: log_cdc, slot: metaetl_dump_rslot}}]
  targets: [{id: copy, type: postgresql, table: d.rcopy, mode: merge_changes, keys: [id]}]
$$);
SELECT etl.execute_pipeline('dr');
SQL
psql_pgremote -d remote -c "INSERT INTO drr.t VALUES (2, 'y')" >/dev/null
psql_pg -d incr_dump_src -c "SELECT etl.execute_pipeline('dr')" >/dev/null
got=$(psql_pg -d incr_dump_src -At -c "SELECT string_agg(pipeline_id || ' ' || status, ', ' ORDER BY pipeline_id)
                                         FROM (SELECT DISTINCT ON (pipeline_id) pipeline_id, status FROM etl.pipeline_runs
                                                ORDER BY pipeline_id, run_id DESC) r")
echo "the original's runs before the dump: $got"
[ "$got" = "dd succeeded, dl succeeded, dp succeeded, dr succeeded" ] || exit 1
as_pg "$PGBIN/pg_dump" -h "$PGHOST" -p "$PGPORT" -U postgres -Fc -f "$WORK/incr_dump.dump" incr_dump_src
as_pg "$PGBIN/pg_restore" -h "$PGHOST" -p "$PGPORT" -U postgres -d incr_dump_dst "$WORK/incr_dump.dump"

check() {   # check LABEL SQL EXPECTED
    local got
    got=$(psql_pg -d incr_dump_dst -At -c "$2")
    echo "$1: $got"
    [ "$got" = "$3" ] || exit 1
}
check "the registration follows the table's new oid" \
    "SELECT relid::text || ' ' || (relid = 'd.t'::regclass) FROM etl.change_captures" "d.t true"
check "pending after the restore" "SELECT lag->>'pending_changes' FROM etl.incremental_state('dd')" 2
psql_pg -d incr_dump_dst -c "UPDATE d.t SET v = 'c3' WHERE id = 3" >/dev/null
check "a change after the restore is captured" "SELECT lag->>'pending_changes' FROM etl.incremental_state('dd')" 3
check "the run after the restore" "SELECT r->>'status' || ' ' || (r->>'rows_read') FROM etl.execute_pipeline('dd') r" "succeeded 3"
check "copy equals source" \
    "SELECT count(*) FROM ((TABLE d.t EXCEPT TABLE d.copy) UNION ALL (TABLE d.copy EXCEPT TABLE d.t)) x" 0
check "nothing pending" "SELECT lag->>'pending_changes' FROM etl.incremental_state('dd')" 0
# the restored copy is another installation
check "the copy has an identity of its own" \
    "SELECT token::text <> '$(psql_pg -d incr_dump_src -At -c 'SELECT token FROM etl.installation')' FROM etl.installation" t
rslot_lsn() {
    psql_pgremote -d remote -At -c "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'metaetl_dump_rslot'"
}
remote_before=$(rslot_lsn)
psql_pgremote -d remote -c "INSERT INTO drr.t VALUES (3, 'z')" >/dev/null
psql_pg -d incr_dump_dst -c "GRANT etl_admin TO incr_dump_admin" \
    -c "CREATE FUNCTION public.err(q text) RETURNS text LANGUAGE plpgsql AS \$f\$
        DECLARE s text; m text; d text; h text;
        BEGIN
          EXECUTE q;
          RETURN 'no error';
        EXCEPTION WHEN OTHERS THEN
          GET STACKED DIAGNOSTICS s = RETURNED_SQLSTATE, m = MESSAGE_TEXT, d = PG_EXCEPTION_DETAIL, h = PG_EXCEPTION_HINT;
          RETURN s || ': ' || m || ' | ' || coalesce(d, '') || ' | ' || coalesce(h, '');
        END \$f\$" >/dev/null
refused='replication slot "%s" was registered by another installation of metaetl'
check "the restored local registration is refused" \
    "SELECT r->>'status' || ': ' || (r->'error'->>'message') FROM etl.execute_pipeline('dl') r" \
    "failed: source \"src\": $(printf "$refused" metaetl_dump_slot)"
check "and says what to do" \
    "SELECT (r->'error'->>'hint') ~ 'etl.create_change_slot.*etl.reset_incremental[(].dl., .src.[)].*registration_only => true'
       FROM etl.execute_pipeline('dl') r" t
check "also for a plain role's pipeline" \
    "SET ROLE incr_dump_plain; SELECT r->>'status' || ': ' || (r->'error'->>'message') FROM etl.execute_pipeline('dp') r" \
    "failed: source \"src\": $(printf "$refused" metaetl_dump_pslot)"
check "the restored remote registration is refused" \
    "SELECT r->>'status' || ': ' || (r->'error'->>'message') FROM etl.execute_pipeline('dr') r" \
    "failed: pipeline \"dr\", source \"src\", slot \"metaetl_dump_rslot\": $(printf "$refused" metaetl_dump_rslot)"
check "nothing was loaded from it" "SELECT count(*) FROM d.rcopy" 2
[ "$(rslot_lsn)" = "$remote_before" ] || { echo "the copy moved the remote slot: $remote_before -> $(rslot_lsn)"; exit 1; }
echo "the remote slot did not move: $remote_before"
check "a plain role may not drop a registration" \
    "SET ROLE incr_dump_plain; SELECT split_part(public.err(\$\$SELECT etl.drop_change_slot('metaetl_dump_pslot', registration_only => true)\$\$), ' | ', 1)" \
    '42501: permission denied to drop a change slot'
check "etl_admin may not drop the original's remote slot from the copy" \
    "SET ROLE incr_dump_admin; SELECT public.err(\$\$SELECT etl.drop_change_slot('metaetl_dump_rslot')\$\$) ~
       ('^55000: change slot \"metaetl_dump_rslot\" was registered by another installation of metaetl'
        ' [|] Slot \"metaetl_dump_rslot\" was registered in etl.change_slots by installation [-0-9a-f]+/[0-9]+ [(]postgres, '
        '.*, not by this one [(][-0-9a-f]+/[0-9]+[)].* [(]on the server of connection \"dump_remote\"[)]'
        '.* [|] .*etl.drop_change_slot[(].metaetl_dump_rslot., registration_only => true[)]')" t
check "nor its local slot" \
    "SET ROLE incr_dump_admin; SELECT public.err(\$\$SELECT etl.drop_change_slot('metaetl_dump_slot')\$\$) ~
       '^55000: change slot \"metaetl_dump_slot\" was registered by another installation.*registration_only => true'" t
check "the registrations stay" "SELECT string_agg(slot_name, ' ' ORDER BY slot_name) FROM etl.change_slots" \
    "metaetl_dump_pslot metaetl_dump_rslot metaetl_dump_slot"
check "dropping only the remote registration" \
    "SET ROLE incr_dump_admin; SELECT etl.drop_change_slot('metaetl_dump_rslot', registration_only => true)" t
check "dropping only the local registrations" \
    "SET ROLE incr_dump_admin; SELECT etl.drop_change_slot('metaetl_dump_slot', registration_only => true)
                                  AND etl.drop_change_slot('metaetl_dump_pslot', registration_only => true)" t
check "the registrations are gone" "SELECT count(*) FROM etl.change_slots" 0
check "the original's slots are all there" \
    "SELECT count(*) FROM pg_replication_slots WHERE slot_name IN ('metaetl_dump_slot', 'metaetl_dump_pslot') AND database = 'incr_dump_src'" 2
[ "$(psql_pgremote -d remote -At -c "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'metaetl_dump_rslot'")" = 1 ] ||
    { echo "the remote slot was dropped"; exit 1; }
echo "the remote slot is still there"
# the copy with a remote slot of its own: the hint's way
check "a slot of the copy's own" \
    "SELECT etl.create_change_slot('metaetl_dump_rslot_copy', connection => 'dump_remote') IS NOT NULL" t
psql_pg -d incr_dump_dst -c "SELECT etl.register_pipeline(replace(etl.export_pipeline('dr'), 'metaetl_dump_rslot', 'metaetl_dump_rslot_copy'))" \
    -c "SELECT etl.reset_incremental('dr', 'src')" >/dev/null
check "the copy reads it" "SELECT r->>'status' || ' ' || (r->>'rows_read') FROM etl.execute_pipeline('dr') r" "succeeded 3"
check "and drops it" "SELECT etl.drop_change_slot('metaetl_dump_rslot_copy')" t
# the original goes on with its slots
orig() { psql_pg -d incr_dump_src -At -c "$1"; }
orig "UPDATE d.t SET v = 'a9' WHERE id = 1" >/dev/null
got=$(orig "SELECT string_agg(r->>'status' || ' ' || (r->>'rows_read'), ', ') FROM unnest(ARRAY['dr', 'dl']) p, etl.execute_pipeline(p) r")
echo "the original's runs: $got"
[ "$got" = "succeeded 1, succeeded 1" ] || exit 1
got=$(orig "SELECT etl.drop_change_slot('metaetl_dump_slot') AND etl.drop_change_slot('metaetl_dump_pslot') AND etl.drop_change_slot('metaetl_dump_rslot')")
[ "$got" = t ] || exit 1
[ "$(orig "SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'metaetl\_dump\_%'")" = 0 ] || exit 1
[ "$(psql_pgremote -d remote -At -c "SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'metaetl\_dump\_%'")" = 0 ] || exit 1
echo "the original dropped its slots, here and on the remote server"

# pg_upgrade, by contrast, keeps the identity: it moves the data files of
# every table, extension members included, and keeps database oids, so the
# upgraded database's registrations are still its own.  (Two small clusters
# of the same binaries; pg_upgrade of PostgreSQL 15 does not carry logical
# slots, so only the registration is checked.)
U=$WORK/incr_upgrade
rm -rf "$U"
mkdir -p "$U"
[ "$(id -u)" -eq 0 ] && chown postgres: "$U"
UPORT=$(metaetl_free_port)
for d in old new; do
    as_pg "$PGBIN/initdb" -D "$U/$d" --no-locale -E UTF8 -A trust -U postgres >/dev/null
    printf "port = %s\nlisten_addresses = ''\nunix_socket_directories = '%s'\nfsync = off\nmax_connections = 10\n" \
        "$UPORT" "$U" >>"$U/$d/postgresql.conf"
done
upg() { as_pg "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$U" -p "$UPORT" -U postgres -d upg -At "$@"; }
upg_stop() {
    local d
    for d in old new; do
        [ -f "$U/$d/postmaster.pid" ] && { as_pg "$PGBIN/pg_ctl" -D "$U/$d" -m immediate stop >/dev/null 2>&1 || true; }
    done
    cleanup
}
trap upg_stop EXIT
as_pg "$PGBIN/pg_ctl" -D "$U/old" -l "$U/old.log" -w -t 60 start >/dev/null
as_pg "$PGBIN/psql" -X -q -h "$U" -p "$UPORT" -U postgres -d postgres -c 'CREATE DATABASE upg'
# a registration as the old cluster made it (no slot: wal_level is replica there)
before=$(upg -c 'CREATE EXTENSION metaetl' \
             -c "INSERT INTO etl.change_slots (slot_name, created_by, installation) VALUES ('upg_slot', 'postgres', etl._installation_id())" \
             -c 'SELECT etl._installation_id()')
as_pg "$PGBIN/pg_ctl" -D "$U/old" -m fast -w -t 30 stop >/dev/null
(cd "$U" && as_pg "$PGBIN/pg_upgrade" -b "$PGBIN" -B "$PGBIN" -d "$U/old" -D "$U/new" \
    -p "$UPORT" -P "$UPORT" -s "$U" >"$U/pg_upgrade.log" 2>&1) || { cat "$U/pg_upgrade.log"; exit 1; }
as_pg "$PGBIN/pg_ctl" -D "$U/new" -l "$U/new.log" -w -t 60 start >/dev/null
after=$(upg -c 'SELECT etl._installation_id()')
ours=$(upg -c "SELECT installation = etl._installation_id() FROM etl.change_slots WHERE slot_name = 'upg_slot'")
echo "pg_upgrade keeps the identity: $([ "$before" = "$after" ] && echo t || echo "f ($before -> $after)"), the registration is ours: $ours"
[ "$before" = "$after" ] && [ "$ours" = t ] || exit 1
as_pg "$PGBIN/pg_ctl" -D "$U/new" -m fast -w -t 30 stop >/dev/null
rm -rf "$U"
