# case 89_incremental_first_run: the first run of a CDC source (the whole
# table) and the runs after it (its changes) load each row exactly once into
# an append target while a writer commits inserts (some in subtransactions)
# continuously: a transaction committing between the first run's position (a
# snapshot) and its read of the table is loaded by one of the runs, never
# both, never neither.  ROUNDS (default 8) rounds of reset, first run, second
# run (and a third, which lets the slot go), for trigger CDC and log CDC side
# by side, and log CDC from a slot on the remote server (the second cluster,
# with a writer of its own).  The seam is narrow (two statements of one backend), so a round
# rarely hits it on a small machine: this is a soak check of exactly-once
# under concurrent writes, not a deterministic reproduction of the race.
ROUNDS=${ROUNDS:-8}
psql_pg -d "$PGDATABASE" <<'SQL'
CREATE SCHEMA fr;
CREATE SEQUENCE fr.ids START 100001;
CREATE TABLE fr.stop (stop bool);
CREATE TABLE fr.t_src (id int PRIMARY KEY, pad text NOT NULL);
CREATE TABLE fr.l_src (id int PRIMARY KEY, pad text NOT NULL);
INSERT INTO fr.t_src SELECT g, repeat('x', 50) FROM generate_series(1, 20000) g;
INSERT INTO fr.l_src SELECT * FROM fr.t_src;
SELECT etl.enable_change_capture('fr.t_src') IS NOT NULL;
SELECT etl.create_change_slot('metaetl_first_run_slot') IS NOT NULL;
-- one row per transaction into both tables, a few thousand a second, until
-- told to stop; some inside a subtransaction (their xmin is not the
-- top-level xid)
CREATE PROCEDURE fr.writer() LANGUAGE plpgsql AS $$
DECLARE
    i int;
BEGIN
    PERFORM set_config('synchronous_commit', 'off', false);
    WHILE NOT EXISTS (SELECT 1 FROM fr.stop) LOOP
        PERFORM pg_sleep(0.0002);
        i := nextval('fr.ids');
        IF i % 3 = 0 THEN
            BEGIN
                INSERT INTO fr.t_src VALUES (i, 'w');
                INSERT INTO fr.l_src VALUES (i, 'w');
            EXCEPTION WHEN unique_violation THEN NULL;
            END;
        ELSE
            INSERT INTO fr.t_src VALUES (i, 'w');
            INSERT INTO fr.l_src VALUES (i, 'w');
        END IF;
        COMMIT;
    END LOOP;
END $$;
SELECT etl.register_pipeline($$
pipeline:
  id: fr_trigger
  sources: [{id: src, type: postgresql, table: fr.t_src, incremental: {mode: trigger_cdc}}]
  targets: [{id: log, type: postgresql, table: fr.t_log, mode: append}]
$$);
SELECT etl.register_pipeline($$
pipeline:
  id: fr_log
  sources: [{id: src, type: postgresql, table: fr.l_src, incremental: {mode: log_cdc, slot: metaetl_first_run_slot}}]
  targets: [{id: log, type: postgresql, table: fr.l_log, mode: append}]
$$);
SQL

# the remote source and its writer, the same shape on the second cluster
psql_pgremote -d remote <<'SQL'
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS frr CASCADE;
CREATE SCHEMA frr;
CREATE SEQUENCE frr.ids START 100001;
CREATE TABLE frr.stop (stop bool);
CREATE TABLE frr.r_src (id int PRIMARY KEY, pad text NOT NULL);
INSERT INTO frr.r_src SELECT g, repeat('x', 50) FROM generate_series(1, 20000) g;
CREATE PROCEDURE frr.writer() LANGUAGE plpgsql AS $$
DECLARE
    i int;
BEGIN
    PERFORM set_config('synchronous_commit', 'off', false);
    WHILE NOT EXISTS (SELECT 1 FROM frr.stop) LOOP
        PERFORM pg_sleep(0.0002);
        i := nextval('frr.ids');
        IF i % 3 = 0 THEN
            BEGIN
                INSERT INTO frr.r_src VALUES (i, 'w');
            EXCEPTION WHEN unique_violation THEN NULL;
            END;
        ELSE
            INSERT INTO frr.r_src VALUES (i, 'w');
        END IF;
        COMMIT;
    END LOOP;
END $$;
SQL
psql_pg -d "$PGDATABASE" -v rport="$METAETL_PGREMOTE_PORT" <<'SQL'
SELECT etl.add_connection('fr_remote', 'postgresql',
       jsonb_build_object('host', '127.0.0.1', 'port', :'rport'::int, 'dbname', 'remote', 'user', 'postgres'));
SELECT etl.create_change_slot('metaetl_first_run_remote_slot', connection => 'fr_remote') IS NOT NULL;
SELECT etl.register_pipeline($$
pipeline:
  id: fr_remote
  sources:
    - {id: src, type: postgresql, connection: fr_remote, table: frr.r_src,
       incremental: {mode: log_cdc, slot: metaetl_first_run_remote_slot}}
  targets: [{id: log, type: postgresql, table: fr.r_log, mode: append}]
$$);
SQL

# the writers run through every round
psql_pg -d "$PGDATABASE" -c "CALL fr.writer()" >/dev/null &
writer=$!
psql_pgremote -d remote -c "CALL frr.writer()" >/dev/null &
rwriter=$!
sleep 1

dups_t=0
dups_l=0
dups_r=0
stop_writers() {
    psql_pg -d "$PGDATABASE" -c "INSERT INTO fr.stop VALUES (true)" >/dev/null
    psql_pgremote -d remote -c "INSERT INTO frr.stop VALUES (true)" >/dev/null
}
for round in $(seq 1 "$ROUNDS"); do
    for k in t l r; do
        case $k in t) p=fr_trigger ;; l) p=fr_log ;; r) p=fr_remote ;; esac
        got=$(psql_pg -d "$PGDATABASE" -At <<SQL
SELECT etl.reset_incremental('$p', 'src');
DROP TABLE IF EXISTS fr.${k}_log;
SELECT etl.execute_pipeline('$p')->>'status';
SELECT etl.execute_pipeline('$p')->>'status';
SELECT count(*) - count(DISTINCT id) FROM fr.${k}_log;
SELECT etl.execute_pipeline('$p')->>'status';
SQL
)
        status=$(echo "$got" | sed -n '2,3p;5p' | tr '\n' ' ')
        d=$(echo "$got" | sed -n 4p)
        [ "$status" = "succeeded succeeded succeeded " ] || { echo "round $round $p: $got"; stop_writers; exit 1; }
        case $k in t) dups_t=$((dups_t + d)) ;; l) dups_l=$((dups_l + d)) ;; r) dups_r=$((dups_r + d)) ;; esac
    done
    echo "round $round: rows written so far $(psql_pg -d "$PGDATABASE" -At -c "SELECT last_value - 100000 FROM fr.ids")," \
         "rows loaded twice: trigger $dups_t, log $dups_l, remote log $dups_r"
done
stop_writers
wait "$writer"
wait "$rwriter"

# the writers have stopped: one more run each, and each log holds every row once
for p in fr_trigger fr_log fr_remote; do
    psql_pg -d "$PGDATABASE" -At -c "SELECT etl.execute_pipeline('$p')->>'status'" | grep -qx succeeded
done
check() {   # check LABEL SQL EXPECTED
    local got
    got=$(psql_pg -d "$PGDATABASE" -At -c "$2")
    echo "$1: $got"
    [ "$got" = "$3" ]
}
# the remote source as it is now, next to its log
psql_pg -d "$PGDATABASE" -c "CREATE TABLE fr.r_src (id int PRIMARY KEY, pad text NOT NULL)"
psql_pgremote -d remote -c "COPY frr.r_src TO STDOUT" | psql_pg -d "$PGDATABASE" -c "COPY fr.r_src FROM STDIN"
for k in t l r; do
    case $k in t) d=$dups_t ;; l) d=$dups_l ;; r) d=$dups_r ;; esac
    check "$k: rows loaded twice in $ROUNDS rounds" "SELECT $d" 0
    check "$k: rows loaded twice in the last round" "SELECT count(*) - count(DISTINCT id) FROM fr.${k}_log" 0
    check "$k: rows lost in the last round" \
        "SELECT count(*) FROM (SELECT id FROM fr.${k}_src EXCEPT SELECT id FROM fr.${k}_log) d" 0
done

psql_pg -d "$PGDATABASE" -c "SELECT etl.drop_pipeline('fr_trigger'), etl.drop_pipeline('fr_log'), etl.drop_pipeline('fr_remote')" \
    -c "SELECT etl.drop_change_slot('metaetl_first_run_slot'), etl.drop_change_slot('metaetl_first_run_remote_slot')" \
    -c "SELECT etl.disable_change_capture('fr.t_src')" -c "SELECT etl.drop_connection('fr_remote')" \
    -c "DROP SCHEMA fr CASCADE" >/dev/null
psql_pgremote -d remote -c "DROP SCHEMA frr CASCADE" >/dev/null
