# case 05_upgrade: a real upgrade from the released 0.1.0 to this version.
#
# The 0.1.0 library is built from the v0.1.0 commit into a PostgreSQL tree of
# its own, and a cluster of its own runs it: pipelines are registered and run,
# scheduled, an SLA evaluated, an alert channel added and an alert raised.
# Then the same data directory is started with this build's binaries (as an
# operator would after installing the new package), ALTER EXTENSION metaetl
# UPDATE runs, and everything still works.  Finally the upgraded catalog is
# compared with a fresh CREATE EXTENSION in the same cluster: pg_dump
# --schema-only --binary-upgrade (the only mode that dumps an extension's own
# objects) of both, OID-setting lines removed, must be identical.
set -euo pipefail

V010=55f4b6b65fa602d68dfc56445529a7d933d42204     # tag v0.1.0
U=$WORK/upgrade
rm -rf "$U"
mkdir -p "$U/src"
if ! git -C "$REPO" cat-file -e "$V010^{commit}" 2>/dev/null; then
    echo "the v0.1.0 commit $V010 is not in this clone (a shallow clone?); the upgrade test needs the git history" >&2
    exit 1
fi
git -C "$REPO" archive "$V010" | tar -x -C "$U/src"

# 0.1.0 built into its own copy of PostgreSQL
NEW_PGBIN=$PGBIN NEW_PG_CONFIG=$PG_CONFIG
metaetl_private_pg "$U/pg"
OLD_PGBIN=$PGBIN OLD_PG_CONFIG=$PG_CONFIG
PGBIN=$NEW_PGBIN PG_CONFIG=$NEW_PG_CONFIG
make -C "$U/src" -s PG_CONFIG="$OLD_PG_CONFIG" >"$U/build.log" 2>&1 || { cat "$U/build.log"; exit 1; }
make -C "$U/src" -s PG_CONFIG="$OLD_PG_CONFIG" install >>"$U/build.log" 2>&1 || { cat "$U/build.log"; exit 1; }
[ "$(id -u)" -eq 0 ] && chown -R postgres: "$U"

UPORT=$(metaetl_free_port)
as_pg "$OLD_PGBIN/initdb" -D "$U/data" --no-locale -E UTF8 -A trust -U postgres >/dev/null
cat >>"$U/data/postgresql.conf" <<CONF
port = $UPORT
listen_addresses = ''
unix_socket_directories = '$U'
shared_preload_libraries = 'metaetl'
metaetl.database = 'upg'
max_worker_processes = 16
fsync = off
timezone = 'UTC'
CONF
upsql() { as_pg "$1/psql" -X -q -v ON_ERROR_STOP=1 -h "$U" -p "$UPORT" -U postgres "${@:2}"; }
ustop() { as_pg "$1/pg_ctl" -D "$U/data" -m fast -w -t 30 stop >/dev/null 2>&1 || true; }
trap 'ustop "$NEW_PGBIN"; ustop "$OLD_PGBIN"' EXIT

as_pg "$OLD_PGBIN/pg_ctl" -D "$U/data" -l "$U/old.log" -w -t 60 start >/dev/null
upsql "$OLD_PGBIN" -d postgres -c 'CREATE DATABASE upg'
cp "$U/src/docs/examples/customer_etl.yaml" "$U/customer_etl.yaml"
chmod 644 "$U/customer_etl.yaml"
upsql "$OLD_PGBIN" -d upg <<SQL
CREATE EXTENSION metaetl;
SELECT extversion FROM pg_extension WHERE extname = 'metaetl';
CREATE TABLE public.customers (customer_id int PRIMARY KEY, email text, age int,
                               region text, revenue numeric, updated_at timestamptz DEFAULT now());
INSERT INTO public.customers
SELECT g, 'c' || g || '@example.com', 20 + g % 50, (ARRAY['north','south','east','west'])[1 + g % 4], g * 1.5, now()
  FROM generate_series(1, 200) g;
SELECT etl.add_connection('customer_db_conn', 'postgresql');
SELECT etl.add_connection('warehouse_conn', 'postgresql');
SELECT etl.register_pipeline(pg_read_file('$U/customer_etl.yaml'));
SELECT (etl.execute_pipeline('customer_etl')) ->> 'status' AS first_run \gset
SELECT :'first_run' = 'succeeded' AS ok \gset
\if :ok
\else
  \echo the 0.1.0 run did not succeed
  SELECT error_message FROM etl.pipeline_runs;
  \quit 3
\endif
SELECT etl.schedule_pipeline('customer_etl', '0 2 * * *', 'Europe/Berlin');
SELECT etl.add_alert_channel('ops_hook', 'webhook', '{"url": "http://127.0.0.1:9/hook", "secret": "upgrade-secret-1"}');
SELECT etl.raise_alert('system_error', 'low', 'raised under 0.1.0', 'customer_etl') AS alert_id;
SQL
ustop "$OLD_PGBIN"

# the new build on the same data directory, then the upgrade
as_pg "$NEW_PGBIN/pg_ctl" -D "$U/data" -l "$U/new.log" -w -t 60 start >/dev/null
upsql "$NEW_PGBIN" -d upg -c 'ALTER EXTENSION metaetl UPDATE'
out=$(upsql "$NEW_PGBIN" -d upg -At <<'SQL'
SELECT 'version=' || extversion FROM pg_extension WHERE extname = 'metaetl';
SELECT 'runs_kept=' || count(*) FROM etl.pipeline_runs WHERE pipeline_id = 'customer_etl';
SELECT 'second_run=' || (etl.execute_pipeline('customer_etl') ->> 'status');
SELECT 'next_runs=' || count(*) FROM etl.get_next_runs('customer_etl', 3);
SELECT 'alert_ack=' || etl.acknowledge_alert((SELECT alert_id FROM etl.alerts WHERE message = 'raised under 0.1.0'));
SELECT 'sla_evals=' || (count(*) > 0) FROM etl.sla_report('customer_etl');
SELECT 'channel=' || (etl.test_alert_channel('ops_hook') ->> 'ok');
SQL
)
echo "$out"
for want in version=0.2.0 runs_kept=1 second_run=succeeded next_runs=3 alert_ack=true sla_evals=true channel=false; do
    grep -qx "$want" <<<"$out" || { echo "after the upgrade, expected $want" >&2; exit 1; }
done
# the sealed channel secret survived and never shows
! upsql "$NEW_PGBIN" -d upg -At -c "SELECT config::text FROM etl.alert_channels_public" | grep -q upgrade-secret-1

# an upgraded catalog is the same as a fresh one (the example's own tables go first)
upsql "$NEW_PGBIN" -d upg -c 'DROP TABLE public.customers, public.customer_summary'
upsql "$NEW_PGBIN" -d postgres -c 'CREATE DATABASE fresh'
upsql "$NEW_PGBIN" -d fresh -c 'CREATE EXTENSION metaetl'
for db in upg fresh; do
    as_pg "$NEW_PGBIN/pg_dump" -h "$U" -p "$UPORT" -U postgres --schema-only --binary-upgrade \
          --no-owner -d "$db" -f "$U/$db.schema.sql"
    # OIDs, frozen xids, the config-table list and the dump's random
    # \restrict key differ between any two databases
    grep -v -E -e 'binary_upgrade_set_next_|binary_upgrade_create_empty_extension' \
            -e '^-- Dumped|^SELECT pg_catalog.setval|^\\(un)?restrict |^SET relfrozenxid|^WHERE oid = .[0-9]+.;$' \
            "$U/$db.schema.sql" >"$U/$db.cmp.sql"
done
if ! diff -u "$U/fresh.cmp.sql" "$U/upg.cmp.sql" >"$U/schema.diff"; then
    echo "the upgraded catalog differs from a fresh install:" >&2
    head -n 200 "$U/schema.diff" >&2
    exit 1
fi
echo "upgraded catalog equals a fresh one ($(wc -l <"$U/fresh.cmp.sql") lines compared)"
