# case 12_config_concurrent: two sessions register the same new pipeline at
# once; the second waits for the first and stores version 2 (no
# unique-violation error, no lost version).
set -euo pipefail
db=config_concurrent
psql_pg -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
trap 'psql_pg -d postgres -c "DROP DATABASE IF EXISTS '$db'" >/dev/null' RETURN
psql_pg -d $db -c 'CREATE EXTENSION metaetl' >/dev/null
register() {
    psql_pg -d $db -v tbl="$1" <<'SQL'
BEGIN;
SELECT etl.register_pipeline(format($$pipeline:
  id: racer
  sources: [{id: src, type: postgresql, table: t}]
  targets: [{id: out, type: postgresql, table: %s}]
$$, :'tbl'));
SELECT pg_sleep(1);
COMMIT;
SQL
}
register out_a >"$WORK/config_race_a.out" 2>&1 &
first=$!
sleep 0.3
register out_b >"$WORK/config_race_b.out" 2>&1
wait $first
out=$(psql_pg -d $db -At -c "SELECT string_agg(version || ':' || (config #>> '{pipeline,targets,0,table}'), ' ' ORDER BY version) FROM etl.pipeline_versions")
echo "$out"
[ "$out" = "1:out_a 2:out_b" ]
