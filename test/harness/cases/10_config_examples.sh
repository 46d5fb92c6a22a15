# case 10_config_examples: every docs/examples/*.yaml registers once the
# connections they name exist; the original design's example validates with
# exactly two warnings (its duplicate type:, and its {{last_run}} source
# feeding a replace target), and its export registers back to the same spec
# hash without a new version.
set -euo pipefail
db=config_examples
psql_pg -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
trap 'psql_pg -d postgres -c "DROP DATABASE IF EXISTS '$db'" >/dev/null' RETURN
psql_pg -d $db -c 'CREATE EXTENSION metaetl' \
    -c "SELECT etl.add_connection('customer_db_conn', 'postgresql')" \
    -c "SELECT etl.add_connection('warehouse_conn', 'postgresql')" >/dev/null
n=0
for f in "$REPO"/docs/examples/*.yaml; do
    id=$(echo "SELECT etl.register_pipeline(:'content');" |
         psql_pg -d $db -At -v content="$(cat "$f")" 2>"$WORK/config_example.err")
    echo "registered $(basename "$f") as $id"
    n=$((n + 1))
done
[ "$n" -ge 2 ]
content=$(cat "$REPO/docs/examples/customer_etl.yaml")
out=$(psql_pg -d $db -At -v content="$content" <<'SQL'
SELECT count(*) FILTER (WHERE severity = 'warning') || ' warning, ' ||
       count(*) FILTER (WHERE severity = 'error') || ' errors'
  FROM etl.validate_config(:'content');
SELECT spec_hash AS before FROM etl.pipelines WHERE pipeline_id = 'customer_etl' \gset
SELECT etl.register_pipeline(etl.export_pipeline('customer_etl')) \g /dev/null
SELECT 'same hash: ' || (spec_hash = :'before') || ', versions: ' ||
       (SELECT count(*) FROM etl.pipeline_versions WHERE pipeline_id = 'customer_etl')
  FROM etl.pipelines WHERE pipeline_id = 'customer_etl';
SQL
)
echo "$out"
[ "$out" = "2 warning, 0 errors
same hash: true, versions: 1" ]
