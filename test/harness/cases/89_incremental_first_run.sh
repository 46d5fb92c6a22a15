# case 89_incremental_first_run: the first run of a CDC source (the whole
# table) and the runs after it (its changes) load each row exactly once into
# an append target while a writer commits inserts (some in subtransactions)
# continuously: a transaction committing between the first run's position (a
# snapshot) and its read of the table is loaded by one of the runs, never
# both, never neither.  ROUNDS (default 8) rounds of reset, first run, second
# run (and a third, which lets the slot go), for trigger CDC and log CDC side
# by side.  The seam is narrow (two statements of one backend), so a round
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

# the writer runs through every round
psql_pg -d "$PGDATABASE" -c "CALL fr.writer()" >/dev/null &
writer=$!
sleep 1

dups_t=0
dups_l=0
for round in $(seq 1 "$ROUNDS"); do
    for k in t l; do
        p=$([ $k = t ] && echo fr_trigger || echo fr_log)
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
        [ "$status" = "succeeded succeeded succeeded " ] || { echo "round $round $p: $got"; psql_pg -d "$PGDATABASE" -c "INSERT INTO fr.stop VALUES (true)" >/dev/null; exit 1; }
        [ $k = t ] && dups_t=$((dups_t + d)) || dups_l=$((dups_l + d))
    done
    echo "round $round: rows written so far $(psql_pg -d "$PGDATABASE" -At -c "SELECT last_value - 100000 FROM fr.ids")," \
         "rows loaded twice: trigger $dups_t, log $dups_l"
done
psql_pg -d "$PGDATABASE" -c "INSERT INTO fr.stop VALUES (true)" >/dev/null
wait "$writer"

# the writer has stopped: one more run each, and each log holds every row once
for p in fr_trigger fr_log; do
    psql_pg -d "$PGDATABASE" -At -c "SELECT etl.execute_pipeline('$p')->>'status'" | grep -qx succeeded
done
check() {   # check LABEL SQL EXPECTED
    local got
    got=$(psql_pg -d "$PGDATABASE" -At -c "$2")
    echo "$1: $got"
    [ "$got" = "$3" ]
}
for k in t l; do
    check "$k: rows loaded twice in $ROUNDS rounds" "SELECT $([ $k = t ] && echo $dups_t || echo $dups_l)" 0
    check "$k: rows loaded twice in the last round" "SELECT count(*) - count(DISTINCT id) FROM fr.${k}_log" 0
    check "$k: rows lost in the last round" \
        "SELECT count(*) FROM (SELECT id FROM fr.${k}_src EXCEPT SELECT id FROM fr.${k}_log) d" 0
done

psql_pg -d "$PGDATABASE" -c "SELECT etl.drop_pipeline('fr_trigger'), etl.drop_pipeline('fr_log')" \
    -c "SELECT etl.drop_change_slot('metaetl_first_run_slot')" -c "SELECT etl.disable_change_capture('fr.t_src')" \
    -c "DROP SCHEMA fr CASCADE" >/dev/null
