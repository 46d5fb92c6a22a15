# case 96_lineage_docs: every ```sql block of docs/lineage.md runs, in order,
# in a fresh database, and shows what the page says (lineage of a view, a
# join and an aggregate, impact across three pipelines, dependencies, graphs,
# schema history and drift, an OpenLineage event).  The checks are explicit
# (`|| exit 1`): test.sh sources cases inside an `if`, where `set -e` is ignored.
set -euo pipefail
out=$WORK/lineage_docs
mkdir -p "$out"
awk '/^```sql$/ {on = 1; next} /^```/ {on = 0} on' "$REPO/docs/lineage.md" >"$out/lineage_docs.sql"
[ -s "$out/lineage_docs.sql" ] || exit 1
[ "$(id -u)" -eq 0 ] && chown -R postgres: "$out"
psql_pg -d postgres -c 'DROP DATABASE IF EXISTS lineage_docs_case' -c 'CREATE DATABASE lineage_docs_case' >/dev/null
rc=0
psql_pg -d lineage_docs_case -c 'CREATE EXTENSION metaetl' -f "$out/lineage_docs.sql" >"$out/lineage_docs.out" 2>&1 || rc=$?
secret=$(psql_pg -d lineage_docs_case -At -c "SELECT count(*) FROM etl.audit_log WHERE after::text LIKE '%marquez-key-1%'" 2>&1 || true)
psql_pg -d postgres -c 'DROP DATABASE lineage_docs_case' >/dev/null
cat "$out/lineage_docs.out"
[ "$rc" -eq 0 ] || exit 1
check() { grep -q -- "$1" "$out/lineage_docs.out" || { echo "missing from the output: $1"; exit 1; }; }
check ' lineage_demo.orders  | status        | lineage_demo.country_sales |               | filter-only'
check ' lineage_demo.orders  | amount        | lineage_demo.country_sales | amount        | aggregate'
check ' demo_top    | lineage_demo.top_countries  | avg_order     |     3 | identity'
check ' demo_top    | lineage_demo.top_countries  |               |     3 | filter-only'
check ' \["demo_report"\]'
check ' {demo_report}'
check '   d2_c3 -->|"demo_report: expression"| d1_c2'
check '   d2:c1 -> d1:c2 \[label="demo_report: expression"\];'
check '       3 |        | ddl    | \[{"change": "nullability_changed", "column": "name"'
check ' lineage_demo.clients | column_added        | segment'
check ' system_error | medium   | schema drift in pipeline demo_sales'
check ' COMPLETE | metaetl://prod | demo_report | t           | \[{"type": "DIRECT", "subtype": "TRANSFORMATION"'
if grep -q 'marquez-key-1' "$out/lineage_docs.out"; then
    echo "the API key was shown"; exit 1
fi
[ "$secret" = 0 ] || { echo "the API key is in the audit log: $secret"; exit 1; }
echo "lineage docs examples ok"
