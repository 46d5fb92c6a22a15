# case 87_relational_mariadb_down: the MariaDB server stops in the middle of
# a run — while the client streams a query's rows, and while a load sends
# batches into a remote target.  Each run fails with an error naming the
# source or target and the connection, its record is complete, and neither
# target changed (the remote InnoDB transaction died with the connection).
set -euo pipefail
db=relational_my_case
psql_pg -d postgres -c "CREATE DATABASE $db" >/dev/null
mariadb_root shop <<'SQL'
DROP TABLE IF EXISTS c87_big, c87_target;
CREATE TABLE c87_big (id INT PRIMARY KEY, v VARCHAR(40));
INSERT INTO c87_big SELECT seq, MD5(seq) FROM seq_1_to_200000;
CREATE TABLE c87_target (id INT PRIMARY KEY, v VARCHAR(40)) ENGINE=InnoDB;
INSERT INTO c87_target SELECT seq, 'old' FROM seq_1_to_100;
SQL
psql_pg -d $db >/dev/null <<SQL
CREATE EXTENSION metaetl;
SELECT etl.add_connection('shop', 'mariadb', '{"host": "127.0.0.1", "port": $METAETL_MARIADB_PORT, "dbname": "shop", "user": "etl_nopw"}');
CREATE TABLE c87_local AS SELECT g AS id, 'old' AS v FROM generate_series(1, 10) g;
SELECT etl.register_pipeline(\$\$pipeline:
  id: c87_extract
  retry: {max_attempts: 1}
  sources: [{id: big, type: mariadb, connection: shop, query: "SELECT id, v, IF(id % 40000 = 0, SLEEP(0.6), 0) AS s FROM c87_big"}]
  targets: [{id: local, type: postgresql, table: c87_local}]
\$\$);
SELECT etl.register_pipeline(\$\$pipeline:
  id: c87_load
  retry: {max_attempts: 1}
  sources: [{id: slow, type: postgresql, query: "SELECT g AS id, 'new' AS v FROM generate_series(1, 4000) g WHERE pg_sleep(0.001) IS NOT NULL"}]
  targets: [{id: remote, type: mariadb, connection: shop, table: c87_target, mode: upsert, keys: [id], batch_size: 200}]
\$\$);
SQL

# 1. extract: MariaDB stops while rows stream
psql_pg -d $db -At -c "SELECT etl.execute_pipeline('c87_extract')->>'status'" >"$WORK/c87_1.out" 2>&1 &
runner=$!
sleep 1
metaetl_server_mariadb_stop
wait $runner || true
cat "$WORK/c87_1.out"
grep -qx failed "$WORK/c87_1.out"
rec=$(psql_pg -d $db -At -F'|' -c "SELECT r.status, r.error_sqlstate, a.error_class, r.ended_at IS NOT NULL, r.error_message
  FROM etl.pipeline_runs r JOIN etl.run_attempts a USING (run_id) WHERE r.pipeline_id = 'c87_extract'")
echo "extract run: $rec"
[[ "$rec" == "failed|"*"|t|"*'source "big": connection "shop"'* ]]
[ "$(psql_pg -d $db -At -c "SELECT count(*) || ' ' || min(v) FROM c87_local")" = "10 old" ]

# 2. load: MariaDB stops between batches of the upsert
metaetl_server_mariadb_resume
psql_pg -d $db -At -c "SELECT etl.execute_pipeline('c87_load')->>'status'" >"$WORK/c87_2.out" 2>&1 &
runner=$!
sleep 2
metaetl_server_mariadb_stop
wait $runner || true
cat "$WORK/c87_2.out"
grep -qx failed "$WORK/c87_2.out"
rec=$(psql_pg -d $db -At -F'|' -c "SELECT r.status, r.error_sqlstate, a.error_class, r.error_message
  FROM etl.pipeline_runs r JOIN etl.run_attempts a USING (run_id) WHERE r.pipeline_id = 'c87_load'")
echo "load run: $rec"
[[ "$rec" == "failed|08"*"|transient|"*'target "remote": connection "shop"'* ]]
metaetl_server_mariadb_resume
[ "$(mariadb_root shop -N -e "SELECT CONCAT(COUNT(*), ' ', MIN(v)) FROM c87_target")" = "100 old" ]

# 3. with the server back, the same pipeline loads every row
[ "$(psql_pg -d $db -At -c "SELECT etl.execute_pipeline('c87_load')->>'status'")" = succeeded ]
[ "$(mariadb_root shop -N -e "SELECT CONCAT(COUNT(*), ' ', MIN(v)) FROM c87_target")" = "4000 new" ]

psql_pg -d postgres -c "DROP DATABASE $db" >/dev/null
mariadb_root shop -e "DROP TABLE c87_big, c87_target"
