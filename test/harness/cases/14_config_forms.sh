# case 14_config_forms: validation equals execution (issue 14 item 3).  Every
# form docs/config-schema.json lists — each source type, target type and mode,
# on_schema_change, transform type, quality rule kind, incremental mode and
# engine, each with every option key its type takes — validates and
# registers; a misspelt key beside it is refused at its config path; every
# ```yaml example of docs/*.md validates; and the schema lists exactly the
# types, modes, keys and params etl.validate_config accepts
# (etl._config_vocabulary(), the validator's own tables), in both directions.
# test/harness/config_forms.py does the walking.
set -euo pipefail
db=config_forms
dir=$WORK/config_forms
mkdir -p "$dir"
[ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
psql_pg -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" >/dev/null
trap 'psql_pg -d postgres -c "DROP DATABASE IF EXISTS '$db' WITH (FORCE)" >/dev/null' RETURN
psql_pg -d $db -c 'CREATE EXTENSION metaetl' \
    -c 'CREATE SCHEMA forms' \
    -c 'CREATE TABLE forms.src (id int PRIMARY KEY, name text, amount numeric, ts timestamptz)' >/dev/null
psql_pg -d $db -At -c 'SELECT etl._config_vocabulary()' >"$dir/vocab.json"
# the lists the validator names when a value is unknown
psql_pg -d $db -At -c "SELECT message FROM etl.validate_config(\$\$pipeline:
  id: v
  sources: [{id: s, type: postgresql, table: forms.src, incremental: {mode: zzz}}]
  targets: [{id: t, type: postgresql, table: forms.out, on_schema_change: zzz}]
\$\$)" >"$dir/valid.txt"
/usr/bin/python3 "$REPO/test/harness/config_forms.py" gen "$REPO/docs/config-schema.json" "$dir/vocab.json" \
    "$REPO/docs" "$dir/forms.sql" "$dir/forms.json"
[ "$(id -u)" -eq 0 ] && chown postgres: "$dir"/*
psql_pg -d $db -At -F '|' -f "$dir/forms.sql" >"$dir/results.txt"
/usr/bin/python3 "$REPO/test/harness/config_forms.py" check "$dir/forms.json" "$dir/results.txt" \
    "$REPO/docs/config-schema.json" "$dir/vocab.json" "$dir/valid.txt"
