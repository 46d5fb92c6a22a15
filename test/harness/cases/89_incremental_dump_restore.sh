# case 89_incremental_dump_restore: trigger CDC survives pg_dump and a
# restore into a new database.  etl.change_captures (extension config) names
# the captured table by regclass, so the restore finds the table's new oid;
# the change tables (not extension members) are dumped with their rows and
# the positions name them, so changes pending at dump time are loaded once
# after the restore and new changes are captured.  A log CDC slot belongs to
# the database it was created in: the restored registration is refused
# (never silently read from the other database) and dropping it leaves the
# original slot alone.
set -euo pipefail
psql_pg -d postgres -c 'CREATE DATABASE incr_dump_src' -c 'CREATE DATABASE incr_dump_dst' >/dev/null
psql_pg -d incr_dump_src -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
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
SQL
as_pg "$PGBIN/pg_dump" -h "$PGHOST" -p "$PGPORT" -U postgres -Fc -f "$WORK/incr_dump.dump" incr_dump_src
as_pg "$PGBIN/pg_restore" -h "$PGHOST" -p "$PGPORT" -U postgres -d incr_dump_dst "$WORK/incr_dump.dump"

check() {   # check LABEL SQL EXPECTED
    local got
    got=$(psql_pg -d incr_dump_dst -At -c "$2")
    echo "$1: $got"
    [ "$got" = "$3" ] || { psql_pg -d postgres -c 'DROP DATABASE incr_dump_dst' >/dev/null; exit 1; }
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
check "the restored slot registration is refused" \
    "SELECT r->>'status' || ': ' || (r->'error'->>'message') FROM etl.execute_pipeline('dl') r" \
    'failed: source "src": replication slot "metaetl_dump_slot" does not exist'
check "dropping the restored registration" "SELECT etl.drop_change_slot('metaetl_dump_slot')" t
check "leaves the original database's slot" \
    "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'metaetl_dump_slot' AND database = 'incr_dump_src'" 1
psql_pg -d incr_dump_src -c "SELECT etl.drop_change_slot('metaetl_dump_slot')" >/dev/null
psql_pg -d postgres -c 'DROP DATABASE incr_dump_src' -c 'DROP DATABASE incr_dump_dst' >/dev/null
