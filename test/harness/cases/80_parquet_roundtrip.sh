# case 80_parquet_roundtrip: a 100,000-row table with one column of each
# common type goes table -> Parquet file -> table through
# etl.register_pipeline / etl.execute_pipeline, row for row (EXCEPT ALL both
# ways is empty), in row groups of 20,000 rows and with each codec; DuckDB
# (test/fixtures/duckdb) reads metaetl's file and finds the same rows
# (an order-independent checksum of every row's text, computed by both) and
# the types the mapping promises.
set -euo pipefail
db=parquet_case
duck="bash $REPO/test/fixtures/duckdb/run.sh"
dir=$WORK/parquet_case
mkdir -p "$dir"
[ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
psql_pg -d postgres -c "CREATE DATABASE $db" >/dev/null
psql_pg -d $db >/dev/null <<'SQL'
CREATE EXTENSION metaetl;
CREATE TABLE src AS
SELECT g::bigint AS id, (g % 1000)::int AS qty, (g % 100)::smallint AS small,
       round(g * 0.37, 2)::numeric(12,2) AS price, (g * 12345678901.125)::numeric(30,3) AS big,
       g % 3 = 0 AS flag, g / 7.0::float8 AS ratio, (g / 4.0)::float4 AS quarter,
       CASE WHEN g % 10 = 0 THEN NULL ELSE 'name ' || (g % 5000) END AS name,
       md5(g::text) AS hash, date '2000-01-01' + (g % 20000) AS day,
       timestamp '2020-01-01' + g * interval '1.5 second' AS ts,
       timestamptz '2020-01-01 00:00:00+00' + g * interval '1 minute' AS tstz,
       ('00000000-0000-0000-0000-' || lpad(to_hex(g), 12, '0'))::uuid AS uid
  FROM generate_series(1, 100000) g;
SQL
for codec in snappy zstd gzip none; do
    f=$dir/rt_$codec.parquet
    psql_pg -d $db >/dev/null <<SQL
SELECT etl.register_pipeline('{"pipeline": {"id": "rt_out_$codec",
  "sources": [{"id": "s", "type": "postgresql", "table": "public.src"}],
  "targets": [{"id": "f", "type": "file", "path": "$f", "options": {"codec": "$codec", "row_group_size": 20000}}]}}');
SELECT etl.register_pipeline('{"pipeline": {"id": "rt_in_$codec",
  "sources": [{"id": "f", "type": "file", "path": "$f", "format": "parquet"}],
  "targets": [{"id": "t", "type": "postgresql", "table": "public.back_$codec"}]}}');
SQL
    out=$(psql_pg -d $db -At -c "SELECT r->>'status' || ' ' || (r->>'rows_written') FROM etl.execute_pipeline('rt_out_$codec') r")
    [ "$out" = "succeeded 100000" ] || { echo "write $codec: $out"; exit 1; }
    out=$(psql_pg -d $db -At -c "SELECT r->>'status' || ' ' || (r->>'rows_written') FROM etl.execute_pipeline('rt_in_$codec') r")
    [ "$out" = "succeeded 100000" ] || { echo "read $codec: $out"; exit 1; }
    diff=$(psql_pg -d $db -At -c "SELECT (SELECT count(*) FROM (TABLE src EXCEPT ALL TABLE back_$codec) a)
                                      + (SELECT count(*) FROM (TABLE back_$codec EXCEPT ALL TABLE src) b)")
    [ "$diff" = 0 ] || { echo "round trip $codec: $diff rows differ"; exit 1; }
    types=$(psql_pg -d $db -At -c "SELECT string_agg(format_type(atttypid, atttypmod), ',' ORDER BY attnum)
                                     FROM pg_attribute WHERE attrelid = 'back_$codec'::regclass AND attnum > 0")
    want=$(psql_pg -d $db -At -c "SELECT string_agg(format_type(atttypid, atttypmod), ',' ORDER BY attnum)
                                    FROM pg_attribute WHERE attrelid = 'src'::regclass AND attnum > 0")
    [ "$types" = "$want" ] || { echo "types $codec: $types vs $want"; exit 1; }
    echo "$codec: 100000 rows round-trip, types $types"
done

# DuckDB reads metaetl's file: the same rows (a checksum of each row's text,
# summed, computed by PostgreSQL and by DuckDB alike) and the promised types
f=$dir/rt_snappy.parquet
pg_sum=$(psql_pg -d $db -At -c "SET TimeZone = 'UTC';
  SELECT count(*) || ' ' || sum(('x' || left(md5(concat_ws('|', id, qty, small, price, big, CASE WHEN flag THEN 'true' ELSE 'false' END, name,
         hash, day, to_char(ts, 'YYYY-MM-DD HH24:MI:SS.US'), to_char(tstz, 'YYYY-MM-DD HH24:MI:SS'), uid)), 15))::bit(60)::bigint)
    FROM src")
duck_sum=$($duck --csv "SET TimeZone = 'UTC'" "SELECT count(*) || ' ' || sum(('0x' || left(md5(concat_ws('|', id, qty, small,
         price, big, CASE WHEN flag THEN 'true' ELSE 'false' END, name, hash, day, strftime(ts, '%Y-%m-%d %H:%M:%S.%f'),
         strftime(tstz, '%Y-%m-%d %H:%M:%S'), uid)), 15))::BIGINT) AS s FROM read_parquet('$f')" | tail -n 1)
echo "checksums: postgres $pg_sum, duckdb $duck_sum"
[ "$pg_sum" = "$duck_sum" ]
duck_types=$($duck --csv "SELECT string_agg(column_type, ',') FROM (DESCRIBE FROM read_parquet('$f'))" | tail -n 1)
echo "duckdb types: $duck_types"
[ "$duck_types" = "BIGINT,INTEGER,SMALLINT,DECIMAL(12,2),DECIMAL(30,3),BOOLEAN,DOUBLE,FLOAT,VARCHAR,VARCHAR,DATE,TIMESTAMP,TIMESTAMP WITH TIME ZONE,UUID" ]
groups=$($duck --csv "SELECT count(DISTINCT row_group_id) || ' ' || min(compression) FROM parquet_metadata('$f')" | tail -n 1)
echo "row groups, codec: $groups"
[ "$groups" = "5 SNAPPY" ]

psql_pg -d postgres -c "DROP DATABASE $db" >/dev/null
