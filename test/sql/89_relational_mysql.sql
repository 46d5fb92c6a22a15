-- 89_relational_mysql: a real MariaDB server (test/harness/servers/mariadb.sh)
-- as source and target: the type mapping (unsigned, zero dates, enum, bit,
-- json, binary), the client bulk path and mysql_fdw with pushdown, remote
-- targets in every mode, MariaDB -> remote PostgreSQL, errors; SQL Server
-- through tds_fdw (no server can run here: its DDL and its connection error)
-- and Oracle (needs oracle_fdw).  Fixtures go in with the mariadb client.
\set VERBOSITY default
\set SHOW_CONTEXT never
\pset pager off
SET client_min_messages = warning;
\getenv mport METAETL_MARIADB_PORT
\getenv msock METAETL_MARIADB_SOCKET
\getenv rport METAETL_PGREMOTE_PORT
\getenv rsock METAETL_PGREMOTE_SOCKET

CREATE SCHEMA rmy;
CREATE FUNCTION rmy.err(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE s text; m text; h text;
BEGIN
  EXECUTE q;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS s = RETURNED_SQLSTATE, m = MESSAGE_TEXT, h = PG_EXCEPTION_HINT;
  RETURN s || ': ' || m || coalesce(' | hint: ' || nullif(h, ''), '');
END $$;

\! mariadb --no-defaults -uroot --socket="$METAETL_MARIADB_SOCKET" shop -e "DROP TABLE IF EXISTS items, sales, geo, target, target_keys"
\! mariadb --no-defaults -uroot --socket="$METAETL_MARIADB_SOCKET" shop -e "CREATE TABLE items (id INT UNSIGNED PRIMARY KEY, name VARCHAR(40), price DECIMAL(10,2), big BIGINT UNSIGNED, flag BIT(1), bits BIT(8), kind ENUM('a','b','c'), made DATE, seen DATETIME, doc JSON, tiny TINYINT, raw VARBINARY(10))"
\! mariadb --no-defaults -uroot --socket="$METAETL_MARIADB_SOCKET" shop -e "INSERT INTO items VALUES (1, 'one', 1.50, 18446744073709551615, b'1', b'00000101', 'a', '2024-01-02', '2024-01-02 03:04:05', '{\"x\": 1}', -5, X'00FF'), (2, 'two', 2.50, 2, b'0', b'11111111', 'b', '0000-00-00', '0000-00-00 00:00:00', NULL, 7, NULL), (3, 'thr''ee', NULL, NULL, NULL, NULL, NULL, NULL, NULL, '[1,2]', NULL, X'5C78')"
\! mariadb --no-defaults -uroot --socket="$METAETL_MARIADB_SOCKET" shop -e "CREATE TABLE sales (id INT PRIMARY KEY, region VARCHAR(10), amount DECIMAL(12,2)); INSERT INTO sales SELECT seq, ELT(1 + seq % 3, 'north', 'south', 'west'), seq * 2.5 FROM seq_1_to_3000"
\! mariadb --no-defaults -uroot --socket="$METAETL_MARIADB_SOCKET" shop -e "CREATE TABLE geo (id INT PRIMARY KEY, g POINT); INSERT INTO geo VALUES (1, POINT(1, 2))"

CREATE EXTENSION mysql_fdw;
SELECT etl.add_connection('shop', 'mariadb',
       jsonb_build_object('host', '127.0.0.1', 'port', :'mport'::int, 'dbname', 'shop', 'user', 'etl_nopw'));
SELECT t->'ok' AS ok, t->>'server_version' LIKE '%MariaDB%' AS mariadb FROM etl.test_connection('shop') t;
SELECT * FROM etl.discover('shop') WHERE table_name = 'items';

-- every type, through the client path: unsigned widened, zero dates NULL,
-- enum text, BIT(1) boolean, BIT(8) bigint, JSON jsonb, binary bytea
SELECT r->'rows_written' AS rows_written FROM etl.execute_plan($${"pipeline": {"id": "my_items",
  "sources": [{"id": "i", "type": "mariadb", "connection": "shop", "table": "items"}],
  "targets": [{"id": "t", "type": "postgresql", "table": "my_items"}]}}$$) r;
SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute
 WHERE attrelid = 'my_items'::regclass AND attnum > 0 ORDER BY attnum;
SELECT * FROM my_items ORDER BY id;

-- mysql_fdw path: the filter and the aggregate run on MariaDB
SELECT r->'rows_written' AS rows_written FROM etl.execute_plan($${"pipeline": {"id": "my_push",
  "sources": [{"id": "s", "type": "mariadb", "connection": "shop", "table": "sales"}],
  "transforms": [{"id": "f", "type": "filter", "params": {"condition": "amount > 7000"}},
                 {"id": "a", "type": "aggregate", "params": {"groupby_cols": ["region"], "agg_functions": {"amount": "sum"}, "count_rows": "n"}}],
  "targets": [{"id": "t", "type": "postgresql", "table": "my_regions"}]}}$$) r;
SELECT * FROM my_regions ORDER BY region;
SELECT region, sum(g * 2.5) AS amount, count(*) AS n FROM generate_series(1, 3000) g,
       LATERAL (SELECT (ARRAY['north', 'south', 'west'])[1 + g % 3] AS region) x
 WHERE g * 2.5 > 7000 GROUP BY region ORDER BY region;
SELECT line FROM regexp_split_to_table((etl.execute_plan($${"pipeline": {"id": "my_push",
  "sources": [{"id": "s", "type": "mariadb", "connection": "shop", "table": "sales"}],
  "transforms": [{"id": "f", "type": "filter", "params": {"condition": "amount > 7000"}}],
  "targets": [{"id": "t", "type": "postgresql", "table": "my_big"}]}}$$)->>'sql'), E'\n') line WHERE line LIKE '-- FDW%';
EXPLAIN (VERBOSE, COSTS OFF) SELECT region, sum(amount) FROM etl_remote.shop__sales WHERE amount > 7000 GROUP BY region;
-- a BIT column cannot go through mysql_fdw: the error says what to do
SELECT rmy.err($$SELECT etl.execute_plan('{"pipeline": {"id": "e", "sources": [{"id": "i", "type": "mariadb", "connection": "shop", "table": "items", "bulk": "fdw"}], "targets": [{"id": "t", "type": "postgresql", "table": "my_e"}]}}')$$) AS bit_over_fdw;

-- a query source runs on MariaDB as written
SELECT r->'rows_written' AS rows_written FROM etl.execute_plan($${"pipeline": {"id": "my_q",
  "sources": [{"id": "q", "type": "mariadb", "connection": "shop",
               "query": "SELECT region, COUNT(*) AS n, GROUP_CONCAT(id ORDER BY id SEPARATOR ',') LIKE '3,%' AS starts3 FROM sales WHERE id <= {{param.upto}} GROUP BY region"}],
  "targets": [{"id": "t", "type": "postgresql", "table": "my_q"}]}}$$, '{"upto": 12}') r;
SELECT * FROM my_q ORDER BY region;

-- local -> MariaDB in every mode
CREATE TABLE rmy.src AS SELECT g AS id, 'n' || g AS name, g * 1.25 AS price, g % 2 = 0 AS even,
       '2024-01-01'::date + g AS d, '2024-01-01 10:00+00'::timestamptz + g * interval '1 min' AS ts,
       jsonb_build_object('g', g) AS j, 'it''s \ ok' AS quoted, '\x00ff'::bytea AS b
  FROM generate_series(1, 2500) g;
CREATE FUNCTION rmy.to_mariadb(mode text, src text DEFAULT 'rmy.src') RETURNS jsonb LANGUAGE sql AS $$
  SELECT etl.execute_plan(format('{"pipeline": {"id": "my_out", "sources": [{"id": "s", "type": "postgresql", "table": "%s"}],
    "targets": [{"id": "t", "type": "mariadb", "connection": "shop", "table": "target", "mode": "%s", "keys": ["id"], "batch_size": 700}]}}',
    src, mode)::jsonb)->'rows_written' $$;
CREATE FUNCTION rmy.from_mariadb() RETURNS jsonb LANGUAGE sql AS $$
  SELECT etl.execute_plan('{"pipeline": {"id": "my_back", "sources": [{"id": "s", "type": "mariadb", "connection": "shop", "table": "target"}],
    "targets": [{"id": "t", "type": "postgresql", "table": "rmy.back"}]}}')->'rows_written' $$;
CREATE VIEW rmy.src_as_mariadb AS
  SELECT id, name, price, even::int::smallint AS even, d, ts AT TIME ZONE 'UTC' AS ts, j, quoted, b FROM rmy.src;
SELECT rmy.to_mariadb('append') AS append_rows;
SELECT rmy.from_mariadb() AS read_back;
SELECT count(*) AS differing FROM ((SELECT id, name, price, even, d, ts, j, quoted, b FROM rmy.back EXCEPT TABLE rmy.src_as_mariadb)
  UNION ALL (TABLE rmy.src_as_mariadb EXCEPT SELECT id, name, price, even, d, ts, j, quoted, b FROM rmy.back)) x;
\! mariadb --no-defaults -uroot --socket="$METAETL_MARIADB_SOCKET" shop -N -e "SHOW CREATE TABLE target" | sed 's/\\n/\n/g'
SELECT rmy.err($$SELECT rmy.to_mariadb('append')$$) AS append_again;
DELETE FROM rmy.src WHERE id > 2400;
SELECT rmy.to_mariadb('replace') AS replace_rows;
\! mariadb --no-defaults -uroot --socket="$METAETL_MARIADB_SOCKET" shop -N -e "SELECT COUNT(*), MAX(id) FROM target; SHOW TABLES LIKE 'target%'"
UPDATE rmy.src SET name = 'changed' WHERE id <= 10;
INSERT INTO rmy.src SELECT 2401, 'new', 1, true, '2024-01-01', '2024-01-01', '{}', 'x', '\x01';
SELECT rmy.to_mariadb('upsert') AS upsert_rows;
CREATE VIEW rmy.di_src AS SELECT id, 'di' AS name, price, even, d, ts, j, quoted, b FROM rmy.src WHERE id <= 5;
SELECT rmy.to_mariadb('delete_insert', 'rmy.di_src') AS delete_insert_rows;
SELECT rmy.from_mariadb() AS read_back;
SELECT count(*) AS differing FROM (
  (SELECT id, name, price, even, d, ts, j, quoted, b FROM rmy.back
   EXCEPT SELECT id, CASE WHEN id <= 5 THEN 'di' ELSE name END, price, even, d, ts, j, quoted, b FROM rmy.src_as_mariadb)
  UNION ALL
  (SELECT id, CASE WHEN id <= 5 THEN 'di' ELSE name END, price, even, d, ts, j, quoted, b FROM rmy.src_as_mariadb
   EXCEPT SELECT id, name, price, even, d, ts, j, quoted, b FROM rmy.back)) x;
-- a load that fails half way (after 19 batches) leaves the MariaDB table as
-- it was; replace leaves its empty staging table, dropped by the next replace
SELECT rmy.err($$SELECT etl.execute_plan('{"pipeline": {"id": "my_fail", "sources": [{"id": "s", "type": "postgresql",
    "query": "SELECT id, name, price, even, d, ts, j, quoted, b FROM rmy.src ORDER BY id"}],
    "transforms": [{"id": "x", "type": "filter", "params": {"condition": "1 / (id - 2000) <> 0"}}],
    "targets": [{"id": "t", "type": "mariadb", "connection": "shop", "table": "target", "mode": "replace", "batch_size": 100}]}}')$$) AS failing_replace;
SELECT rmy.err($$SELECT etl.execute_plan('{"pipeline": {"id": "my_fail", "sources": [{"id": "s", "type": "postgresql",
    "query": "SELECT id + 10000 AS id, name, price, even, d, ts, j, quoted, b FROM rmy.src ORDER BY id"}],
    "transforms": [{"id": "x", "type": "filter", "params": {"condition": "1 / (id - 12000) <> 0"}}],
    "targets": [{"id": "t", "type": "mariadb", "connection": "shop", "table": "target", "mode": "append", "batch_size": 100}]}}')$$) AS failing_append;
\! mariadb --no-defaults -uroot --socket="$METAETL_MARIADB_SOCKET" shop -N -e "SELECT COUNT(*), SUM(name = 'di'), MAX(id) FROM target; SHOW TABLES LIKE 'target%'"

-- MariaDB -> remote PostgreSQL, upsert
CREATE EXTENSION IF NOT EXISTS postgres_fdw;
SELECT etl.add_connection('wh', 'postgresql',
       jsonb_build_object('host', '127.0.0.1', 'port', :'rport'::int, 'dbname', 'remote', 'user', 'postgres'));
SELECT r->'rows_written' AS rows_written FROM etl.execute_plan($${"pipeline": {"id": "my_to_pg",
  "sources": [{"id": "s", "type": "mariadb", "connection": "shop", "table": "sales"}],
  "transforms": [{"id": "a", "type": "aggregate", "params": {"groupby_cols": ["region"], "agg_functions": {"amount": "sum"}}}],
  "targets": [{"id": "t", "type": "postgresql", "connection": "wh", "table": "public.my_region_totals", "mode": "upsert", "keys": ["region"]}]}}$$) r;
SELECT r->'rows_written' AS rows_back FROM etl.execute_plan($${"pipeline": {"id": "pg_back",
  "sources": [{"id": "s", "type": "postgresql", "connection": "wh", "table": "public.my_region_totals"}],
  "targets": [{"id": "t", "type": "postgresql", "table": "my_region_totals"}]}}$$) r;
SELECT * FROM my_region_totals ORDER BY region;

-- errors
SELECT rmy.err($$SELECT etl.execute_plan('{"pipeline": {"id": "e", "sources": [{"id": "g", "type": "mariadb", "connection": "shop", "table": "geo"}], "targets": [{"id": "t", "type": "postgresql", "table": "my_e"}]}}')$$) AS unmappable;
SELECT rmy.err($$SELECT etl.execute_plan('{"pipeline": {"id": "e", "sources": [{"id": "g", "type": "mariadb", "connection": "shop", "table": "nope"}], "targets": [{"id": "t", "type": "postgresql", "table": "my_e"}]}}')$$) AS missing_table;
SELECT rmy.err($$SELECT etl.execute_plan('{"pipeline": {"id": "e", "sources": [{"id": "g", "type": "mariadb", "connection": "shop", "query": "SELEC 1"}], "targets": [{"id": "t", "type": "postgresql", "table": "my_e"}]}}')$$) AS bad_query;
SELECT etl.add_connection('shop_nopw', 'mariadb',
       jsonb_build_object('host', '127.0.0.1', 'port', :'mport'::int, 'dbname', 'shop', 'user', 'etl'));
SELECT rmy.err($$SELECT etl.execute_plan('{"pipeline": {"id": "e", "sources": [{"id": "g", "type": "mariadb", "connection": "shop_nopw", "table": "sales"}], "targets": [{"id": "t", "type": "postgresql", "table": "my_e"}]}}')$$) AS wrong_password;
SELECT etl.add_connection('shop_down', 'mysql', '{"host": "127.0.0.1", "port": 1, "dbname": "shop", "user": "etl_nopw"}');
SELECT rmy.err($$SELECT etl.execute_plan('{"pipeline": {"id": "e", "sources": [{"id": "g", "type": "mysql", "connection": "shop_down", "table": "sales"}], "targets": [{"id": "t", "type": "postgresql", "table": "my_e"}]}}')$$) AS unreachable;
SELECT t->'ok' AS ok, t->>'sqlstate' AS sqlstate, t->>'error' AS error FROM etl.test_connection('shop_down') t;
SELECT rmy.err($$SELECT etl.execute_plan('{"pipeline": {"id": "e", "sources": [{"id": "g", "type": "postgresql", "connection": "shop", "table": "sales"}], "targets": [{"id": "t", "type": "postgresql", "table": "my_e"}]}}')$$) AS wrong_type;
SELECT rmy.err($$SELECT etl.execute_plan('{"pipeline": {"id": "e", "sources": [{"id": "s", "type": "postgresql", "table": "rmy.src"}], "targets": [{"id": "t", "type": "mariadb", "connection": "shop", "table": "target", "mode": "upsert"}]}}')$$) AS upsert_without_keys;
SELECT rmy.err($$SELECT etl.execute_plan('{"pipeline": {"id": "e", "sources": [{"id": "g", "type": "mariadb", "connection": "wh", "table": "sales"}], "targets": [{"id": "t", "type": "postgresql", "table": "my_e"}]}}')$$) AS mariadb_source_on_postgresql;
SELECT * FROM etl.validate_config($$pipeline:
  id: v
  sources: [{id: s, type: mariadb, connection: shop, table: sales, bulk: copy}]
  targets: [{id: t, type: mariadb, connection: shop, table: x, mode: scd2, batch_size: 10}]
$$);
SELECT rmy.err($$SELECT etl.add_connection('bad', 'mariadb', '{"host": "h"}')$$) AS needs_dbname;
SELECT etl.add_connection('shop_slow', 'mariadb',
       jsonb_build_object('host', '127.0.0.1', 'port', :'mport'::int, 'dbname', 'shop', 'user', 'etl_nopw', 'statement_timeout', 1));
SELECT rmy.err($$SELECT etl.execute_plan('{"pipeline": {"id": "e", "sources": [{"id": "g", "type": "mariadb", "connection": "shop_slow", "query": "SELECT SLEEP(3) AS s FROM sales LIMIT 1"}], "targets": [{"id": "t", "type": "postgresql", "table": "my_e"}]}}')$$) AS statement_timeout;
SELECT to_regclass('my_e') AS no_local_target;

-- SQL Server through tds_fdw: the objects metaetl makes, and a clear error
CREATE EXTENSION tds_fdw;
SELECT etl.add_connection('mssql', 'sqlserver', '{"host": "127.0.0.1", "port": 1, "dbname": "sales", "tds_version": "7.4"}');
SELECT t->'ok' AS ok, t->>'sqlstate' AS sqlstate, t->>'error' AS error FROM etl.test_connection('mssql') t;
SELECT s.srvname, w.fdwname, s.srvoptions FROM pg_foreign_server s JOIN pg_foreign_data_wrapper w ON w.oid = s.srvfdw
 WHERE s.srvname = 'metaetl_mssql';
SELECT srvname, usename FROM pg_user_mappings WHERE srvname = 'metaetl_mssql';
SELECT c.oid::regclass AS foreign_table, f.ftoptions FROM pg_foreign_table f JOIN pg_class c ON c.oid = f.ftrelid
 WHERE c.relname LIKE 'mssql\_\_%';
SELECT rmy.err($$SELECT etl.execute_plan('{"pipeline": {"id": "e", "sources": [{"id": "o", "type": "sqlserver", "connection": "mssql", "table": "dbo.orders",
    "columns": {"id": "int", "amount": "numeric(19,4)", "guid": "uuid", "at": "timestamp"}}], "targets": [{"id": "t", "type": "postgresql", "table": "my_e"}]}}')$$) AS sqlserver_down;
SELECT * FROM etl.validate_config($$pipeline:
  id: v
  sources: [{id: o, type: sqlserver, connection: mssql, table: dbo.orders}]
  targets: [{id: t, type: sqlserver, connection: mssql, table: x}]
$$);

-- Oracle: oracle_fdw is not installed
SELECT etl.add_connection('ora', 'oracle', '{"host": "10.0.0.1", "dbname": "ORCL"}');
SELECT rmy.err($$SELECT etl.execute_plan('{"pipeline": {"id": "e", "sources": [{"id": "o", "type": "oracle", "connection": "ora", "table": "hr.emp", "columns": {"id": "numeric"}}], "targets": [{"id": "t", "type": "postgresql", "table": "my_e"}]}}')$$) AS oracle;

-- dropping connections leaves nothing behind
SELECT etl.drop_connection(n) FROM unnest(ARRAY['shop', 'shop_nopw', 'shop_down', 'shop_slow', 'wh', 'mssql', 'ora']) n;
SELECT count(*) AS servers FROM pg_foreign_server WHERE srvname LIKE 'metaetl\_%';
SELECT count(*) AS foreign_tables FROM pg_class WHERE relnamespace = 'etl_remote'::regnamespace;
DROP TABLE my_items, my_regions, my_big, my_q, my_region_totals;
DROP SCHEMA rmy CASCADE;
DROP EXTENSION mysql_fdw;
DROP EXTENSION tds_fdw;
DROP EXTENSION postgres_fdw;
\! mariadb --no-defaults -uroot --socket="$METAETL_MARIADB_SOCKET" shop -e "DROP TABLE IF EXISTS items, sales, geo, target"
\c remote postgres :rsock :rport
DROP TABLE public.my_region_totals;
