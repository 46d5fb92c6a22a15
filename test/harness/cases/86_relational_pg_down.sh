# case 86_relational_pg_down: the remote PostgreSQL server stops in the middle
# of a run — of a COPY extract and of a load into a remote target.  Each run
# fails with an error naming the source or target and the connection, its
# record is complete (failed, transient), and neither target changed.  Also:
# a backend reuses its cached remote connection across plans, and a
# connection's max_connections makes a second session wait, then fail with
# 53300.
set -euo pipefail
db=relational_pg_case
psql_pg -d postgres -c "CREATE DATABASE $db" >/dev/null
psql_pgremote -d remote >/dev/null <<'SQL'
DROP TABLE IF EXISTS public.c86_big, public.c86_target;
CREATE TABLE public.c86_big AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 300000) g;
CREATE TABLE public.c86_target (id int PRIMARY KEY, v text);
INSERT INTO public.c86_target SELECT g, 'old' FROM generate_series(1, 100) g;
SQL
psql_pg -d $db >/dev/null <<SQL
CREATE EXTENSION metaetl;
SELECT etl.add_connection('crm', 'postgresql', '{"host": "127.0.0.1", "port": $METAETL_PGREMOTE_PORT, "dbname": "remote", "user": "postgres"}');
SELECT etl.add_connection('crm_one', 'postgresql', '{"host": "127.0.0.1", "port": $METAETL_PGREMOTE_PORT, "dbname": "remote", "user": "postgres", "max_connections": 1, "connect_timeout": 1}');
CREATE TABLE c86_local AS SELECT g AS id, 'old' AS v FROM generate_series(1, 10) g;
SELECT etl.register_pipeline(\$\$pipeline:
  id: c86_extract
  retry: {max_attempts: 1}
  sources: [{id: big, type: postgresql, connection: crm, query: "SELECT id, v, pg_sleep(CASE WHEN id % 50000 = 0 THEN 0.5 ELSE 0 END) IS NULL AS s FROM public.c86_big"}]
  targets: [{id: local, type: postgresql, table: c86_local}]
\$\$);
SELECT etl.register_pipeline(\$\$pipeline:
  id: c86_load
  retry: {max_attempts: 1}
  sources: [{id: slow, type: postgresql, query: "SELECT g AS id, 'new' AS v FROM generate_series(1, 4000) g WHERE pg_sleep(0.001) IS NOT NULL"}]
  targets: [{id: remote, type: postgresql, connection: crm, table: public.c86_target, mode: replace}]
\$\$);
SQL

remote_restart() {
    as_pg "$PGBIN/pg_ctl" -D "$WORK/pgremote/data" -l "$WORK/pgremote/postgres.log" -w -t 60 start >/dev/null
}

# 1. extract: the remote stops while COPY streams
psql_pg -d $db -At -c "SELECT etl.execute_pipeline('c86_extract')->>'status'" >"$WORK/c86_1.out" 2>&1 &
runner=$!
sleep 1.2
as_pg "$PGBIN/pg_ctl" -D "$WORK/pgremote/data" -m immediate -w stop >/dev/null
wait $runner || true
cat "$WORK/c86_1.out"
grep -qx failed "$WORK/c86_1.out"
rec=$(psql_pg -d $db -At -F'|' -c "SELECT r.status, r.error_sqlstate, a.error_class, r.ended_at IS NOT NULL, r.error_message
  FROM etl.pipeline_runs r JOIN etl.run_attempts a USING (run_id) WHERE r.pipeline_id = 'c86_extract'")
echo "extract run: $rec"
[[ "$rec" == "failed|08"*"|transient|t|"*'source "big": connection "crm"'* ]]
[ "$(psql_pg -d $db -At -c "SELECT count(*) || ' ' || min(v) FROM c86_local")" = "10 old" ]

# 2. load: the remote stops while COPY sends rows into the new table
remote_restart
psql_pg -d $db -At -c "SELECT etl.execute_pipeline('c86_load')->>'status'" >"$WORK/c86_2.out" 2>&1 &
runner=$!
sleep 2
as_pg "$PGBIN/pg_ctl" -D "$WORK/pgremote/data" -m immediate -w stop >/dev/null
wait $runner || true
cat "$WORK/c86_2.out"
grep -qx failed "$WORK/c86_2.out"
rec=$(psql_pg -d $db -At -F'|' -c "SELECT r.status, r.error_sqlstate, a.error_class, r.error_message
  FROM etl.pipeline_runs r JOIN etl.run_attempts a USING (run_id) WHERE r.pipeline_id = 'c86_load'")
echo "load run: $rec"
[[ "$rec" == "failed|08"*"|transient|"*'target "remote": connection "crm"'* ]]
remote_restart
[ "$(psql_pgremote -d remote -At -c "SELECT count(*) || ' ' || min(v) FROM public.c86_target")" = "100 old" ]
[ "$(psql_pgremote -d remote -At -c "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'c86_target_metaetl%'")" = 0 ]

# 3. a backend keeps one remote connection for all the plans it runs (a run
#    executor runs many runs in one backend the same way)
psql_pg -d $db >/dev/null <<'SQL'
CREATE TABLE c86_pids (pid int);
SELECT etl.execute_plan('{"pipeline": {"id": "c86_pid", "sources": [{"id": "p", "type": "postgresql", "connection": "crm", "query": "SELECT pg_backend_pid() AS pid"}],
  "targets": [{"id": "t", "type": "postgresql", "table": "c86_pids", "mode": "append"}]}}') FROM generate_series(1, 3);
SELECT etl.execute_plan('{"pipeline": {"id": "c86_load", "sources": [{"id": "s", "type": "postgresql", "query": "SELECT g AS id, ''new'' AS v FROM generate_series(1, 4000) g"}],
  "targets": [{"id": "t", "type": "postgresql", "connection": "crm", "table": "public.c86_target", "mode": "replace"}]}}');
SQL
[ "$(psql_pgremote -d remote -At -c "SELECT count(*) || ' ' || min(v) FROM public.c86_target")" = "4000 new" ]
[ "$(psql_pg -d $db -At -c "SELECT count(*) || ' ' || count(DISTINCT pid) FROM c86_pids")" = "3 1" ]

# 4. max_connections 1: a second session waits connect_timeout, then 53300
psql_pg -d $db >"$WORK/c86_4a.out" 2>&1 <<'SQL' &
BEGIN;
SELECT etl.test_connection('crm_one')->'ok';
SELECT pg_sleep(3);
COMMIT;
SQL
holder=$!
# wait until the holder has taken the connection's one slot (an advisory lock)
for _ in $(seq 1 100); do
    [ "$(psql_pg -d $db -At -c "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = x'6d657300'::int::oid AND granted")" = 1 ] && break
    sleep 0.1
done
second=$(psql_pg -d $db -At -c "SELECT etl.test_connection('crm_one')->>'sqlstate' || ' ' || (etl.test_connection('crm_one')->>'error')" 2>&1 || true)
wait $holder
echo "second session: $second"
[[ "$second" == "53300 "*'connection "crm_one": all 1 connections are in use'* ]]
[ "$(psql_pg -d $db -At -c "SELECT etl.test_connection('crm_one')->'ok'")" = true ]

psql_pg -d postgres -c "DROP DATABASE $db" >/dev/null
psql_pgremote -d remote -c "DROP TABLE public.c86_big, public.c86_target" >/dev/null
