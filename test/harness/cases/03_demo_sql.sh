# case 03_demo_sql: docs/examples/demo.sql (what `make demo` runs) runs
# without error in a fresh database.
set -euo pipefail
cp -r "$REPO/docs/examples" "$WORK/examples-case"
[ "$(id -u)" -eq 0 ] && chown -R postgres: "$WORK/examples-case"
psql_pg -d postgres -c 'CREATE DATABASE demo_case'
(cd "$WORK/examples-case" && psql_pg -d demo_case -v examples="$WORK/examples-case" -f demo.sql) >"$WORK/demo_case.out"
psql_pg -d postgres -c 'DROP DATABASE demo_case'
grep -q '"preloaded": true' "$WORK/demo_case.out"
grep -q 'pipeline_runs' "$WORK/demo_case.out"
