# case 13_config_log_size: a rejected 20 MB configuration is not written to
# the server log whole (errhidestmt for configurations over 64 kB, each
# problem cut to 400 bytes): the log grows by less than 64 kB.
set -euo pipefail
db=config_log_size
psql_pg -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
trap 'psql_pg -d postgres -c "DROP DATABASE IF EXISTS '$db'" >/dev/null' RETURN
psql_pg -d $db -c 'CREATE EXTENSION metaetl' >/dev/null
sql=$WORK/config_log_size.sql
# a YAML text of 20 MB: too big (the limit is 1 MB), and its one value is
# what a careless log line would repeat
/usr/bin/python3 - "$sql" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("SELECT etl.register_pipeline('pipeline:\n  id: big\n  description: ")
    f.write("x" * (20 * 1024 * 1024))
    f.write("\n');\n")
PY
before=$(stat -c %s "$WORK/postgres.log")
out=$(psql_pg -d $db -X -f "$sql" 2>&1 || true)
after=$(stat -c %s "$WORK/postgres.log")
echo "$out" | cut -c1-200
echo "log grew by $((after - before)) bytes"
echo "$out" | grep -q 'exceeds a size limit'
[ $((after - before)) -lt 65536 ]
