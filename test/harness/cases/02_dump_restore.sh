# case 02_dump_restore: pg_dump keeps user metadata (the tables registered with
# pg_extension_config_dump) and a restore into a new database brings it back.
set -euo pipefail
psql_pg -d postgres -c 'CREATE DATABASE dump_src' -c 'CREATE DATABASE dump_dst'
psql_pg -d dump_src -c 'CREATE EXTENSION metaetl' \
    -c "INSERT INTO etl.pipelines (pipeline_id, name, config) VALUES ('kept', 'Kept', '{\"pipeline\": {\"id\": \"kept\"}}')" \
    -c "INSERT INTO etl.pipeline_runs (pipeline_id, status) VALUES ('kept', 'succeeded')"
as_pg "$PGBIN/pg_dump" -h "$PGHOST" -p "$PGPORT" -U postgres -Fc -f "$WORK/dump_src.dump" dump_src
as_pg "$PGBIN/pg_restore" -h "$PGHOST" -p "$PGPORT" -U postgres -d dump_dst "$WORK/dump_src.dump"
got=$(psql_pg -d dump_dst -At -c "SELECT p.config->'pipeline'->>'id' || ' ' || r.status FROM etl.pipelines p JOIN etl.pipeline_runs r USING (pipeline_id)")
# the identity sequence was dumped too: a new run does not collide with the restored one
psql_pg -d dump_dst -c "INSERT INTO etl.pipeline_runs (pipeline_id) VALUES ('kept')"
psql_pg -d postgres -c 'DROP DATABASE dump_src' -c 'DROP DATABASE dump_dst'
echo "got: $got"
[ "$got" = "kept succeeded" ]
