-- 80_parquet: type: file + format: parquet sources and targets through
-- etl.register_pipeline / etl.execute_pipeline.  DuckDB (npm
-- @duckdb/node-api, test/fixtures/duckdb/run.sh) writes the fixtures now and
-- reads back what metaetl wrote: the same rows and types.
\set VERBOSITY default
\set SHOW_CONTEXT never
\pset pager off
SET client_min_messages = warning;
CREATE SCHEMA pq;
SET search_path = pq, public;
\getenv suite PWD
SELECT set_config('pqtest.suite', :'suite', false) IS NOT NULL AS suite_known;
SELECT current_setting('data_directory') || '/metaetl_pq_' AS f \gset

-- DuckDB, run as the server's user; prints the last statement's result
CREATE FUNCTION pg_temp.duckdb(VARIADIC q text[]) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE cmd text;
BEGIN
  CREATE TEMP TABLE IF NOT EXISTS duck_out (n serial, line text);
  TRUNCATE duck_out;
  cmd := 'bash ' || current_setting('pqtest.suite') || '/test/fixtures/duckdb/run.sh'
      || (SELECT string_agg(' ''' || replace(x, '''', '''\''''') || '''', '') FROM unnest(q) x)
      || ' 2>&1 || echo "duckdb failed"';
  EXECUTE format('COPY duck_out (line) FROM PROGRAM %L WITH (FORMAT csv, DELIMITER E''\x01'', QUOTE E''\x02'')', cmd);
  RETURN QUERY SELECT line FROM duck_out ORDER BY n;
END $$;

-- a DuckDB table with every flat type it has, NULLs in every column, written
-- as Parquet 1 (PLAIN, dictionaries, snappy) and Parquet 2 (DELTA encodings,
-- BYTE_STREAM_SPLIT, zstd)
\set gen 'SET TimeZone=''UTC''; CREATE TABLE t AS SELECT i::INT AS id, CASE WHEN i % 4 = 0 THEN NULL ELSE (i % 2 = 0) END AS b, (i * 3 - 10)::TINYINT AS i8, (i * 1000)::SMALLINT AS i16, (i * 100000)::INTEGER AS i32, (i * 10000000000)::BIGINT AS i64, (i * 25)::UTINYINT AS u8, (i * 6000)::USMALLINT AS u16, (i * 400000000)::UINTEGER AS u32, (i::UBIGINT * 2000000000000000000) AS u64, (i / 4)::FLOAT AS f32, (i / 3)::DOUBLE AS f64, (i * 12.5)::DECIMAL(4,1) AS d4, (i * 1234567.891)::DECIMAL(15,3) AS d15, (i * 123456789012345678.9)::DECIMAL(38,1) - 3e20::DECIMAL(38,1) AS d38, ''row '' || i || CASE WHEN i = 3 THEN '' Zoë ☃'' ELSE '''' END AS s, ''k'' || (i % 3) AS k, DATE ''1969-12-30'' + (i * 400)::INT AS dt, TIME ''08:00:00'' + to_microseconds(i * 1000001) AS tm, TIMESTAMP ''1999-12-31 23:59:59.5'' + to_microseconds(i * 86400000001) AS ts, (TIMESTAMP ''2021-03-04 05:06:07'' + to_seconds(i))::TIMESTAMP_MS AS tsms, (TIMESTAMP ''2021-03-04 05:06:07'' + to_microseconds(i))::TIMESTAMP_NS AS tsns, (TIMESTAMP ''2024-01-01 12:00:00'' + to_hours(i))::TIMESTAMPTZ AS tstz, (''8a1f3c2e-0000-4000-8000-00000000000'' || i)::UUID AS u, (''\\x0'' || i || ''ff'')::BLOB AS bl FROM range(1, 10) r(i) UNION ALL SELECT 10, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL'
SELECT * FROM pg_temp.duckdb(:'gen',
  format('COPY t TO %L (FORMAT parquet)', :'f' || 'types_v1.parquet'),
  format('COPY t TO %L (FORMAT parquet, PARQUET_VERSION v2, COMPRESSION zstd)', :'f' || 'types_v2.parquet'),
  'SELECT count(*) AS rows FROM t');

-- read both into tables
SELECT etl.register_pipeline(format($${"pipeline": {"id": "pq_in",
  "sources": [{"id": "v1", "type": "file", "path": "%1$stypes_v1.parquet", "format": "parquet"},
              {"id": "v2", "type": "file", "path": "%1$stypes_v2.parquet"}],
  "targets": [{"id": "t1", "type": "postgresql", "table": "pq.types_v1", "input": "v1"},
              {"id": "t2", "type": "postgresql", "table": "pq.types_v2", "input": "v2"}]}}$$, :'f'));
SELECT r->>'status' AS status, r->'rows_read' AS rows_read, r->'rows_written' AS rows_written
  FROM etl.execute_pipeline('pq_in') r;

-- the type mapping (docs/formats.md)
SELECT attname, format_type(atttypid, atttypmod) AS type FROM pg_attribute
 WHERE attrelid = 'pq.types_v1'::regclass AND attnum > 0 ORDER BY attnum;
SET TimeZone = 'UTC';
SELECT * FROM types_v1 ORDER BY id;
-- Parquet 2's encodings decode to the same rows
SELECT (SELECT count(*) FROM (TABLE types_v1 EXCEPT ALL TABLE types_v2) a)
     + (SELECT count(*) FROM (TABLE types_v2 EXCEPT ALL TABLE types_v1) b) AS v1_v2_differ;

-- write: a table with PostgreSQL's types, then DuckDB reads the file
CREATE TABLE orders (id bigint, qty int, small smallint, price numeric(10,2), big numeric(30,5),
  anynum numeric, ok boolean, r real, d double precision, name text, code varchar(8), ch char(3),
  day date, at timestamp, atz timestamptz, tod time, todz timetz, uid uuid, raw bytea,
  doc jsonb, span interval, tags text[]);
INSERT INTO orders
SELECT g, g * 10, (g - 2)::smallint, g * 1.25, g * 123456789012345.12345 - 1e20, g / 7.0,
       g % 2 = 0, g / 8.0, g / 3.0, 'order ' || g || CASE WHEN g = 2 THEN ' Zoë' ELSE '' END,
       'c' || g, 'x' || g, date '2020-02-27' + g, timestamp '2020-01-01 10:00:00.123456' + g * interval '1 day 1 second',
       timestamptz '2020-06-01 12:00:00+02' + g * interval '1 hour', time '23:59:59.999999' - g * interval '1 hour',
       timetz '10:00:00+03', ('00000000-0000-0000-0000-00000000000' || g)::uuid, decode('00ff' || lpad(g::text, 2, '0'), 'hex'),
       jsonb_build_object('g', g), g * interval '1 day 2 hours', ARRAY['a' || g, 'b']
  FROM generate_series(1, 5) g
UNION ALL SELECT 6, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       NULL, NULL, NULL, NULL, NULL, NULL, NULL;
SELECT etl.register_pipeline(format($${"pipeline": {"id": "pq_out",
  "sources": [{"id": "o", "type": "postgresql", "table": "pq.orders"}],
  "targets": [{"id": "f", "type": "file", "path": "%1$sorders.parquet", "format": "parquet"},
              {"id": "z", "type": "file", "path": "%1$sorders_zstd.parquet", "options": {"codec": "zstd", "row_group_size": 2}}]}}$$, :'f'));
SELECT r->>'status' AS status, r->'rows_written' AS rows_written FROM etl.execute_pipeline('pq_out') r;

-- DuckDB's view of metaetl's file: types, then rows
SELECT * FROM pg_temp.duckdb(format(
  'SELECT column_name, column_type FROM (DESCRIBE FROM read_parquet(%L))', :'f' || 'orders.parquet'));
SELECT * FROM pg_temp.duckdb('SET TimeZone=''UTC''', format(
  'SELECT * EXCLUDE (tags), tags FROM read_parquet(%L) ORDER BY id', :'f' || 'orders.parquet'));
-- zstd, row groups of 2 rows: DuckDB finds the same rows in both files
SELECT * FROM pg_temp.duckdb(format(
  'SELECT (SELECT count(*) FROM read_parquet(%1$L)) AS n, (SELECT count(*) FROM (FROM read_parquet(%1$L) '
  'EXCEPT ALL FROM read_parquet(%2$L))) + (SELECT count(*) FROM (FROM read_parquet(%2$L) EXCEPT ALL '
  'FROM read_parquet(%1$L))) AS differ', :'f' || 'orders.parquet', :'f' || 'orders_zstd.parquet'));

-- and metaetl reads its own file back row for row (the types it wrote map
-- back to the same PostgreSQL types, except those written as text)
SELECT etl.register_pipeline(format($${"pipeline": {"id": "pq_back",
  "sources": [{"id": "b", "type": "file", "path": "%1$sorders_zstd.parquet", "format": "parquet"}],
  "targets": [{"id": "t", "type": "postgresql", "table": "pq.orders_back"}]}}$$, :'f'));
SELECT r->>'status' AS status, r->'rows_read' AS rows_read FROM etl.execute_pipeline('pq_back') r;
SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS original, format_type(b.atttypid, b.atttypmod) AS read_back
  FROM pg_attribute a JOIN pg_attribute b ON b.attrelid = 'pq.orders_back'::regclass AND b.attname = a.attname
 WHERE a.attrelid = 'pq.orders'::regclass AND a.attnum > 0
   AND format_type(a.atttypid, a.atttypmod) <> format_type(b.atttypid, b.atttypmod) ORDER BY a.attnum;
-- (a time with time zone comes back in UTC: 10:00:00+03 as 07:00:00+00)
SELECT (SELECT count(*) FROM (
          SELECT id, qty, small, price, big, anynum, ok, r, d, name, code, ch, day, at, atz, tod,
                 todz AT TIME ZONE 'UTC', uid, raw, doc, span, tags FROM orders EXCEPT ALL
          SELECT id, qty, small, price, big, anynum::numeric, ok, r, d, name, code, ch, day, at, atz, tod,
                 todz, uid, raw, doc::jsonb, span::interval, tags::text[] FROM orders_back) x) AS missing,
       (SELECT count(*) FROM orders_back) AS rows;

-- file_column, and declared columns (a subset, one cast)
SELECT etl.register_pipeline(format($${"pipeline": {"id": "pq_decl",
  "sources": [{"id": "s", "type": "file", "path": "%1$stypes_v1.parquet", "file_column": "src",
               "columns": {"id": "bigint", "s": "text", "d4": "text"}}],
  "targets": [{"id": "t", "type": "postgresql", "table": "pq.declared"}]}}$$, :'f'));
SELECT r->>'status' AS status FROM etl.execute_pipeline('pq_decl') r;
SELECT id, s, d4, src = :'f' || 'types_v1.parquet' AS src_is_path FROM declared ORDER BY id LIMIT 3;
SELECT attname, format_type(atttypid, atttypmod) AS type FROM pg_attribute
 WHERE attrelid = 'pq.declared'::regclass AND attnum > 0 ORDER BY attnum;

-- replace into the table that now exists: the staging table is read as it
-- is (no second temp copy of the rows), the table keeps its index, and a
-- load that fails half-way leaves every old row in place
CREATE UNIQUE INDEX declared_id ON pq.declared (id);
SELECT regexp_replace(l, '_\d+', '_N', 'g') AS load_sql
  FROM regexp_split_to_table(etl.compile_pipeline('pq_decl'), E'\n') l WHERE l ~ '^(DELETE|INSERT|CREATE)';
SELECT r->>'status' AS status, r->'rows_written' AS rows_written FROM etl.execute_pipeline('pq_decl') r;
SELECT count(*) AS rows, count(DISTINCT id) AS ids, to_regclass('pq.declared_id') IS NOT NULL AS index_kept FROM declared;
CREATE TABLE declared_before AS TABLE declared;
ALTER TABLE declared ADD CONSTRAINT no_seven CHECK (id <> 7) NOT VALID;
SELECT r->>'status' AS status, r->'error'->>'sqlstate' AS sqlstate FROM etl.execute_pipeline('pq_decl') r;
SELECT (SELECT count(*) FROM (TABLE declared EXCEPT ALL TABLE declared_before) a)
     + (SELECT count(*) FROM (TABLE declared_before EXCEPT ALL TABLE declared) b) AS rows_changed,
       (SELECT count(*) FROM declared) AS rows;

SELECT etl.drop_pipeline(p) FROM unnest(ARRAY['pq_in', 'pq_out', 'pq_back', 'pq_decl']) p;
DROP SCHEMA pq CASCADE;
