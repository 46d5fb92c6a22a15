# case 88_incremental_crash: exactly once across crashes.  ROUNDS (default 8)
# rounds of inserts, updates and deletes on a trigger-CDC source, a log-CDC
# source and a log-CDC source on the remote server (the harness's second
# cluster, its slot there), each followed by runs of the three pipelines and
# an immediate-mode stop of this cluster at a random moment (before, during
# or after the runs; the remote server stays up, so a stop can land between
# a remote peek and the local commit).  After recovery and
# a final run, each copy equals its source row for row (nothing lost), the
# append-only change logs hold every change once (nothing applied twice),
# and the positions agree with the targets (nothing pending).
ROUNDS=${ROUNDS:-8}
psql_pg -d "$PGDATABASE" <<'SQL'
CREATE SCHEMA cr;
CREATE SEQUENCE cr.v;
CREATE SEQUENCE cr.ids START 1001;
CREATE TABLE cr.t_src (id int PRIMARY KEY, amount bigint NOT NULL);
CREATE TABLE cr.l_src (id int PRIMARY KEY, amount bigint NOT NULL);
INSERT INTO cr.t_src SELECT g, nextval('cr.v') FROM generate_series(1, 300) g;
INSERT INTO cr.l_src SELECT id, amount FROM cr.t_src;
SELECT etl.enable_change_capture('cr.t_src') IS NOT NULL;
SELECT etl.create_change_slot('metaetl_crash_slot') IS NOT NULL;
-- slow enough that a stop often lands inside a run
CREATE FUNCTION cr.slow(x int) RETURNS int LANGUAGE plpgsql AS $$
BEGIN PERFORM pg_sleep(0.002); RETURN x; END $$;
SELECT etl.register_pipeline($$
pipeline:
  id: cr_trigger
  sources: [{id: src, type: postgresql, table: cr.t_src, incremental: {mode: trigger_cdc}}]
  transforms: [{id: slow, type: udf, params: {function: cr.slow, args: [id], output: y}}]
  targets:
    - {id: copy, type: postgresql, table: cr.t_copy, mode: merge_changes, keys: [id]}
    - {id: log, type: postgresql, table: cr.t_log, mode: append}
$$);
SELECT etl.register_pipeline($$
pipeline:
  id: cr_log
  sources: [{id: src, type: postgresql, table: cr.l_src, incremental: {mode: log_cdc, slot: metaetl_crash_slot}}]
  transforms: [{id: slow, type: udf, params: {function: cr.slow, args: [id], output: y}}]
  targets:
    - {id: copy, type: postgresql, table: cr.l_copy, mode: merge_changes, keys: [id]}
    - {id: log, type: postgresql, table: cr.l_log, mode: append}
$$);
SELECT etl.execute_pipeline('cr_trigger')->>'status', etl.execute_pipeline('cr_log')->>'status';
SQL

# the remote source: the same shape on the second cluster, its own sequences
psql_pgremote -d remote <<'SQL'
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS crr CASCADE;
CREATE SCHEMA crr;
CREATE SEQUENCE crr.v;
CREATE SEQUENCE crr.ids START 1001;
CREATE TABLE crr.r_src (id int PRIMARY KEY, amount bigint NOT NULL);
INSERT INTO crr.r_src SELECT g, nextval('crr.v') FROM generate_series(1, 300) g;
SQL
psql_pg -d "$PGDATABASE" -v rport="$METAETL_PGREMOTE_PORT" <<'SQL'
SELECT etl.add_connection('cr_remote', 'postgresql',
       jsonb_build_object('host', '127.0.0.1', 'port', :'rport'::int, 'dbname', 'remote', 'user', 'postgres'));
SELECT etl.create_change_slot('metaetl_crash_remote_slot', connection => 'cr_remote') IS NOT NULL;
SELECT etl.register_pipeline($$
pipeline:
  id: cr_remote
  sources:
    - {id: src, type: postgresql, connection: cr_remote, table: crr.r_src,
       incremental: {mode: log_cdc, slot: metaetl_crash_remote_slot}}
  transforms: [{id: slow, type: udf, params: {function: cr.slow, args: [id], output: y}}]
  targets:
    - {id: copy, type: postgresql, table: cr.r_copy, mode: merge_changes, keys: [id]}
    - {id: log, type: postgresql, table: cr.r_log, mode: append}
$$);
SELECT etl.execute_pipeline('cr_remote')->>'status';
SQL

# the same changes on both sources: updates get fresh amounts (so every
# change is distinct), inserts fresh ids, deletes ids never reused
changes() {
    psql_pg -d "$PGDATABASE" >/dev/null <<SQL
SELECT setseed($1 / 1000.0);
CREATE TEMP TABLE pick AS SELECT id FROM cr.t_src ORDER BY random() LIMIT 40;
CREATE TEMP TABLE upd AS SELECT id, nextval('cr.v') AS amount FROM pick LIMIT 30;
CREATE TEMP TABLE gone AS SELECT id FROM pick EXCEPT SELECT id FROM upd;
CREATE TEMP TABLE ins AS SELECT nextval('cr.ids')::int AS id, nextval('cr.v') AS amount FROM generate_series(1, 10);
UPDATE cr.t_src s SET amount = u.amount FROM upd u WHERE s.id = u.id;
UPDATE cr.l_src s SET amount = u.amount FROM upd u WHERE s.id = u.id;
DELETE FROM cr.t_src WHERE id IN (SELECT id FROM gone);
DELETE FROM cr.l_src WHERE id IN (SELECT id FROM gone);
INSERT INTO cr.t_src SELECT * FROM ins;
INSERT INTO cr.l_src SELECT * FROM ins;
SQL
}

# the same kind of changes on the remote source (50 per round as well)
changes_remote() {
    psql_pgremote -d remote >/dev/null <<SQL
SELECT setseed($1 / 1000.0);
CREATE TEMP TABLE pick AS SELECT id FROM crr.r_src ORDER BY random() LIMIT 40;
CREATE TEMP TABLE upd AS SELECT id, nextval('crr.v') AS amount FROM pick LIMIT 30;
CREATE TEMP TABLE gone AS SELECT id FROM pick EXCEPT SELECT id FROM upd;
UPDATE crr.r_src s SET amount = u.amount FROM upd u WHERE s.id = u.id;
DELETE FROM crr.r_src WHERE id IN (SELECT id FROM gone);
INSERT INTO crr.r_src SELECT nextval('crr.ids')::int, nextval('crr.v') FROM generate_series(1, 10);
SQL
}

wait_up() {
    for _ in $(seq 1 100); do
        psql_pg -d "$PGDATABASE" -At -c "SELECT 1" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    return 1
}

for round in $(seq 1 "$ROUNDS"); do
    changes "$round"
    changes_remote "$round"
    psql_pg -d "$PGDATABASE" -At -c "SELECT etl.execute_pipeline('cr_trigger', wait => false)->>'status'" >/dev/null
    psql_pg -d "$PGDATABASE" -At -c "SELECT etl.execute_pipeline('cr_log', wait => false)->>'status'" >/dev/null
    psql_pg -d "$PGDATABASE" -At -c "SELECT etl.execute_pipeline('cr_remote', wait => false)->>'status'" >/dev/null
    sleep "0.$((RANDOM % 8))"
    as_pg "$PGBIN/pg_ctl" -D "$WORK/data" -m immediate -w stop >/dev/null
    metaetl_cluster_start
    wait_up
    echo "round $round: stopped; runs so far: $(psql_pg -d "$PGDATABASE" -At -c \
        "SELECT string_agg(status || ' ' || n, ', ') FROM (SELECT status, count(*) n FROM etl.pipeline_runs GROUP BY 1 ORDER BY 1) x")"
done

# after recovery: one run each loads whatever is left
for p in cr_trigger cr_log cr_remote; do
    ok=
    for _ in $(seq 1 50); do
        s=$(psql_pg -d "$PGDATABASE" -At -c "SELECT etl.execute_pipeline('$p')->>'status'")
        [ "$s" = succeeded ] && { ok=1; break; }
        sleep 0.2     # an abandoned run's lock or a queued one
    done
    [ -n "$ok" ] || { echo "$p did not run after recovery: $s"; exit 1; }
done

check() {   # check LABEL SQL EXPECTED
    local got
    got=$(psql_pg -d "$PGDATABASE" -At -c "$2")
    echo "$1: $got"
    [ "$got" = "$3" ]
}
# the remote source as it is now, next to its copy
psql_pg -d "$PGDATABASE" -c "CREATE TABLE cr.r_src (id int PRIMARY KEY, amount bigint NOT NULL)"
psql_pgremote -d remote -c "COPY crr.r_src TO STDOUT" | psql_pg -d "$PGDATABASE" -c "COPY cr.r_src FROM STDIN"
for k in t l r; do
    check "$k: rows differing between source and copy" \
        "SELECT count(*) FROM ((SELECT id, amount FROM cr.${k}_src EXCEPT SELECT id, amount FROM cr.${k}_copy)
                               UNION ALL (SELECT id, amount FROM cr.${k}_copy EXCEPT SELECT id, amount FROM cr.${k}_src)) d" 0
    # every change once: updates and inserts by their unique amount, deletes by id
    check "$k: changes applied twice" \
        "SELECT count(*) - count(DISTINCT (etl_op, CASE WHEN etl_op = 'delete' THEN NULL ELSE amount END, id))
           FROM cr.${k}_log WHERE etl_seq > 0 OR etl_op <> 'insert'" 0
    check "$k: changes lost" \
        "SELECT $ROUNDS * 50 - count(*) FROM cr.${k}_log WHERE NOT (etl_op = 'insert' AND id <= 300 AND etl_seq = 0)" 0
done
check "trigger CDC: pending changes" \
    "SELECT lag->>'pending_changes' FROM etl.incremental_state('cr_trigger')" 0
check "log CDC: the slot is not ahead of the stored position" \
    "SELECT confirmed_flush_lsn <= (SELECT (position->>'lsn')::pg_lsn FROM etl.incremental_positions WHERE pipeline_id = 'cr_log')
       FROM pg_replication_slots WHERE slot_name = 'metaetl_crash_slot'" t

remote_confirmed=$(psql_pgremote -d remote -At -c \
    "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'metaetl_crash_remote_slot'")
check "remote log CDC: the remote slot is not ahead of the stored position" \
    "SELECT '$remote_confirmed'::pg_lsn <= (position->>'lsn')::pg_lsn FROM etl.incremental_positions WHERE pipeline_id = 'cr_remote'" t

psql_pg -d "$PGDATABASE" -c "SELECT etl.drop_pipeline('cr_trigger'), etl.drop_pipeline('cr_log'), etl.drop_pipeline('cr_remote')" \
    -c "SELECT etl.drop_change_slot('metaetl_crash_slot'), etl.drop_change_slot('metaetl_crash_remote_slot')" \
    -c "SELECT etl.disable_change_capture('cr.t_src')" -c "SELECT etl.drop_connection('cr_remote')" \
    -c "DROP SCHEMA cr CASCADE" >/dev/null
psql_pgremote -d remote -c "DROP SCHEMA crr CASCADE" >/dev/null
