# case 40_quality_docs: every ```sql block of docs/quality.md runs, in order,
# in a fresh database (the rule templates of the quality page), and the
# results the page quotes for the quarantine, consistency and pipeline
# examples hold.
set -euo pipefail
out=$WORK/quality_docs
mkdir -p "$out"
awk '/^```sql$/ {on = 1; next} /^```/ {on = 0} on' "$REPO/docs/quality.md" >"$out/quality_docs.sql"
[ -s "$out/quality_docs.sql" ]
[ "$(id -u)" -eq 0 ] && chown -R postgres: "$out"
psql_pg -d postgres -c 'CREATE DATABASE quality_docs_case'
psql_pg -d quality_docs_case -c 'CREATE EXTENSION metaetl'
psql_pg -d quality_docs_case -A -t -F '|' -f "$out/quality_docs.sql" >"$out/quality_docs.out"
psql_pg -d quality_docs_case -A -t -F '|' -c \
    "SELECT string_agg(rules::text || ':' || (row_data->>'id'), ' ' ORDER BY quarantine_id) FROM shop_customer_quarantine" \
    >"$out/quarantine.out"
psql_pg -d postgres -c 'DROP DATABASE quality_docs_case'
grep -qx '{validity_age,completeness_email}:3 {validity_age}:4' "$out/quarantine.out"
grep -q '^completeness_email|false|80.000|\[{"id": 3, "email": null}\]$' "$out/quality_docs.out"
grep -q '^dates_ordered|f|1|\[{"id": 2, "end_date": "2024-01-15", "start_date": "2024-02-01"}\]$' "$out/quality_docs.out"
grep -q '^orders_of_adults|false|2$' "$out/quality_docs.out"
