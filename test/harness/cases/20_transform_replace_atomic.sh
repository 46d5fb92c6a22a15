# case 20_transform_replace_atomic: while a replace load is in flight, a
# concurrent reader sees the old rows (never an empty table); after commit
# the new ones; a replace that fails leaves the old rows.  Also: the demo's
# transforms fill customer_summary.
set -euo pipefail
db=transform_case
psql_pg -d postgres -c "CREATE DATABASE $db" >/dev/null
psql_pg -d $db >/dev/null <<'SQL'
CREATE EXTENSION metaetl;
CREATE TABLE target (id int PRIMARY KEY, v text);
INSERT INTO target SELECT g, 'old' FROM generate_series(1, 1000) g;
CREATE TABLE src AS SELECT g AS id, 'new' AS v FROM generate_series(1, 500) g;
SQL

# writer: replace, then hold the transaction open for 3 s
psql_pg -d $db >"$WORK/case20_writer.out" 2>&1 <<'SQL' &
BEGIN;
SELECT etl.execute_transformations('src', '{"steps": [], "mode": "replace"}', 'target')->'rows';
SELECT pg_sleep(3);
COMMIT;
SQL
writer=$!
sleep 1.5
during=$(psql_pg -d $db -At -c "SELECT count(*) || ' ' || min(v) FROM target")
wait $writer
after=$(psql_pg -d $db -At -c "SELECT count(*) || ' ' || min(v) FROM target")
echo "during: $during, after: $after"
[ "$during" = "1000 old" ]
[ "$after" = "500 new" ]

# a failing replace (duplicate keys) leaves the committed rows untouched
if psql_pg -d $db -c "SELECT etl.execute_transformations('SELECT 1 AS id, ''x'' AS v UNION ALL SELECT 1, ''y''', '{\"steps\": [], \"mode\": \"replace\"}', 'target')" >/dev/null 2>&1; then
    echo "duplicate-key replace unexpectedly succeeded"; exit 1
fi
[ "$(psql_pg -d $db -At -c "SELECT count(*) || ' ' || min(v) FROM target")" = "500 new" ]

psql_pg -d postgres -c "DROP DATABASE $db" >/dev/null
