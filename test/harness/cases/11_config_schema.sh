# case 11_config_schema: docs/config-schema.json is a valid JSON Schema that
# accepts docs/examples/*.yaml (the original example in its exported,
# canonical form) and every exported pipeline, and rejects a broken config.
set -euo pipefail
db=config_schema
dir=$WORK/config_schema
mkdir -p "$dir"
psql_pg -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
trap 'psql_pg -d postgres -c "DROP DATABASE IF EXISTS '$db'" >/dev/null' RETURN
psql_pg -d $db -c 'CREATE EXTENSION metaetl' \
    -c "SELECT etl.add_connection('customer_db_conn', 'postgresql')" \
    -c "SELECT etl.add_connection('warehouse_conn', 'postgresql')" >/dev/null
for f in "$REPO"/docs/examples/*.yaml; do
    name=$(basename "$f" .yaml)
    # the original example has two type: keys, which only metaetl reads; check its export
    [ "$name" = customer_etl ] || cp "$f" "$dir/example-$name.yaml"
    id=$(echo "SELECT etl.register_pipeline(:'content');" |
         psql_pg -d $db -At -v content="$(cat "$f")" 2>/dev/null)
    echo "SELECT etl.export_pipeline('$id');" | psql_pg -d $db -At >"$dir/export-$id.yaml"
done
cat >"$dir/broken.yaml" <<'YAML'
pipeline:
  id: Bad-Id
  sources: []
  targets: [{id: out, type: postgresql, mode: merge}]
YAML
/usr/bin/python3 - "$REPO/docs/config-schema.json" "$dir" <<'PY'
import glob, json, re, sys
import jsonschema, yaml

class Loader(yaml.SafeLoader):
    """YAML 1.2 core schema booleans, as metaetl reads them (on/yes/no stay text)."""
Loader.yaml_implicit_resolvers = {k: [(t, r) for t, r in v if t != 'tag:yaml.org,2002:bool']
                                  for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}
for ch in 'tTfF':
    Loader.yaml_implicit_resolvers.setdefault(ch, []).append(
        ('tag:yaml.org,2002:bool', re.compile(r'^(?:true|True|TRUE|false|False|FALSE)$')))

schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
v = jsonschema.Draft202012Validator(schema)
ok = True
files = sorted(glob.glob(sys.argv[2] + '/*.yaml'))
for f in files:
    errs = [e.message for e in v.iter_errors(yaml.load(open(f), Loader=Loader))]
    broken = f.endswith('/broken.yaml')
    print(f.split('/')[-1], 'rejected' if errs else 'accepted', errs[:3])
    if broken != bool(errs):
        ok = False
if len(files) < 4:
    ok = False
sys.exit(0 if ok else 1)
PY
