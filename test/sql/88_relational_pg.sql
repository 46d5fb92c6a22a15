-- 88_relational_pg: a remote PostgreSQL server (the harness's second cluster,
-- test/harness/servers/pgremote.sh) as source and target: the FDW path with
-- pushdown proven by the remote's pg_stat_statements, the COPY bulk path,
-- query sources, remote targets in every mode, refreshed foreign tables,
-- errors, privileges, and etl.drop_connection.  The remote's port comes from
-- the environment (\getenv).
\set VERBOSITY default
\set SHOW_CONTEXT never
\pset pager off
SET client_min_messages = warning;
\getenv rport METAETL_PGREMOTE_PORT
\getenv rsock METAETL_PGREMOTE_SOCKET
\set here :DBNAME
\set here_host :HOST
\set here_port :PORT

CREATE SCHEMA rpg;
CREATE FUNCTION rpg.err(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE s text; m text; h text;
BEGIN
  EXECUTE q;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS s = RETURNED_SQLSTATE, m = MESSAGE_TEXT, h = PG_EXCEPTION_HINT;
  RETURN s || ': ' || m || coalesce(' | hint: ' || nullif(h, ''), '');
END $$;

-- the remote: schema rt with orders (an enum column arrives as text)
\c remote postgres :rsock :rport
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS rt CASCADE;
CREATE SCHEMA rt;
CREATE TYPE rt.state AS ENUM ('open', 'shipped');
CREATE TABLE rt.orders (id int PRIMARY KEY, customer text NOT NULL, amount numeric(10,2),
                        state rt.state, created_at timestamptz, tags text[]);
INSERT INTO rt.orders SELECT g, 'c' || (g % 7), g * 1.25, CASE WHEN g % 4 = 0 THEN 'shipped' ELSE 'open' END::rt.state,
       '2024-01-01 00:00+00'::timestamptz + g * interval '1 hour', ARRAY['t' || (g % 3)]
  FROM generate_series(1, 2000) g;
ANALYZE rt.orders;
CREATE TABLE rt.nokey (id int, v text, n numeric);
GRANT USAGE ON SCHEMA rt TO etl_remote;
GRANT SELECT ON rt.orders TO etl_remote;
SELECT pg_stat_statements_reset() IS NOT NULL AS reset;
\c :here postgres :here_host :here_port
SET client_min_messages = warning;

CREATE EXTENSION postgres_fdw;
SELECT etl.add_connection('crm', 'postgresql',
       jsonb_build_object('host', '127.0.0.1', 'port', :'rport'::int, 'dbname', 'remote', 'user', 'postgres',
                          'schema', 'rt'));

-- the connection answers; discover lists the remote columns
SELECT t->'ok' AS ok, t->>'server_version' LIKE '15.%' AS v15, t->'error' AS error
  FROM etl.test_connection('crm') t;
SELECT * FROM etl.discover('crm', 'rt');

-- validation knows the remote keys
SELECT * FROM etl.validate_config($$pipeline:
  id: v
  sources: [{id: o, type: postgresql, connection: crm, table: rt.orders, bulk: copy}]
  targets: [{id: t, type: postgresql, table: x}]
$$);
SELECT * FROM etl.validate_config($$pipeline:
  id: v
  sources: [{id: o, type: postgresql, connection: crm, table: rt.orders, bulk: fast}]
  targets: [{id: t, type: postgresql, table: x}]
$$);

-- FDW path: the filter and the aggregate run on the remote server
SELECT etl.register_pipeline($$pipeline:
  id: rpg_pushdown
  sources: [{id: o, type: postgresql, connection: crm, table: orders}]
  transforms:
    - {id: shipped, type: filter, params: {condition: "state = 'shipped' AND amount > 100"}}
    - {id: per_customer, type: aggregate, params: {groupby_cols: [customer], agg_functions: {amount: sum}, count_rows: n}}
  targets: [{id: t, type: postgresql, table: rpg_per_customer}]
$$);
SELECT r->>'status' AS status, r->'rows_written' AS rows_written
  FROM etl.execute_pipeline('rpg_pushdown') r;
-- the compiled SQL shows what postgres_fdw sends (Remote SQL)
SELECT etl.compile_pipeline('rpg_pushdown');
-- row for row what the remote rows give
CREATE TABLE rpg.expect_orders AS
SELECT g AS id, 'c' || (g % 7) AS customer, (g * 1.25)::numeric(10,2) AS amount,
       CASE WHEN g % 4 = 0 THEN 'shipped' ELSE 'open' END AS state,
       '2024-01-01 00:00+00'::timestamptz + g * interval '1 hour' AS created_at, ARRAY['t' || (g % 3)] AS tags
  FROM generate_series(1, 2000) g;
(SELECT customer, amount, n FROM rpg_per_customer
 EXCEPT SELECT customer, sum(amount), count(*) FROM rpg.expect_orders
         WHERE state = 'shipped' AND amount > 100 GROUP BY customer)
UNION ALL
(SELECT customer, sum(amount), count(*) FROM rpg.expect_orders WHERE state = 'shipped' AND amount > 100 GROUP BY customer
 EXCEPT SELECT customer, amount, n FROM rpg_per_customer);
SELECT count(*) AS customers FROM rpg_per_customer;

-- FDW path objects: a server owned by metaetl (an extension member), a
-- mapping for the run's role, a foreign table in etl_remote
SELECT s.srvname, w.fdwname, pg_describe_object(d.refclassid, d.refobjid, 0) AS member_of
  FROM pg_foreign_server s JOIN pg_foreign_data_wrapper w ON w.oid = s.srvfdw
  JOIN pg_depend d ON d.classid = 'pg_foreign_server'::regclass AND d.objid = s.oid AND d.deptype = 'e'
 WHERE s.srvname = 'metaetl_crm';
SELECT srvname, usename FROM pg_user_mappings WHERE srvname = 'metaetl_crm';
SELECT c.oid::regclass AS foreign_table, f.ftoptions
  FROM pg_foreign_table f JOIN pg_class c ON c.oid = f.ftrelid WHERE c.relnamespace = 'etl_remote'::regnamespace;

-- the remote saw the WHERE clause and the GROUP BY, not a full scan
\c remote postgres :rsock :rport
SELECT regexp_replace(query, '^DECLARE c\d+ CURSOR FOR\s+', '') AS remote_sql
  FROM pg_stat_statements WHERE query LIKE '%FROM rt.orders%' AND query NOT LIKE '%LIMIT 0%'
 ORDER BY 1;
\c :here postgres :here_host :here_port
SET client_min_messages = warning;

-- COPY path (forced, and chosen by size), and a query source run verbatim
SELECT r->'rows_written' AS rows_written FROM etl.execute_plan($${"pipeline": {"id": "rpg_copy",
  "sources": [{"id": "o", "type": "postgresql", "connection": "crm", "table": "orders", "bulk": "copy"}],
  "targets": [{"id": "t", "type": "postgresql", "table": "rpg_orders"}]}}$$) r;
SELECT count(*) AS differing FROM (
  (SELECT id, customer, amount, state, created_at, tags FROM rpg_orders EXCEPT SELECT * FROM rpg.expect_orders)
  UNION ALL (SELECT * FROM rpg.expect_orders EXCEPT SELECT id, customer, amount, state, created_at, tags FROM rpg_orders)) d;
SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute
 WHERE attrelid = 'rpg_orders'::regclass AND attnum > 0 ORDER BY attnum;
SELECT etl.add_connection('crm_small', 'postgresql',
       jsonb_build_object('host', '127.0.0.1', 'port', :'rport'::int, 'dbname', 'remote', 'user', 'postgres',
                          'schema', 'rt', 'bulk_threshold_rows', 1000));
SELECT etl.register_pipeline($$pipeline:
  id: rpg_auto
  sources: [{id: o, type: postgresql, connection: crm_small, table: orders}]
  targets: [{id: t, type: postgresql, table: rpg_orders2}]
$$);
SELECT regexp_replace(line, 'metaetl_src_\d+', 'metaetl_src_N') AS line
  FROM regexp_split_to_table(etl.compile_pipeline('rpg_auto'), E'\n') line
 WHERE line LIKE '-- %' AND line NOT LIKE '-- pipeline%';
SELECT r->'rows_written' AS rows_written FROM etl.execute_plan($${"pipeline": {"id": "rpg_query",
  "sources": [{"id": "q", "type": "postgresql", "connection": "crm",
               "query": "SELECT customer, count(*) AS n, max(created_at) AS last FROM orders WHERE id <= {{param.upto}} GROUP BY 1"}],
  "targets": [{"id": "t", "type": "postgresql", "table": "rpg_query"}]}}$$, '{"upto": 100}') r;
SELECT * FROM rpg_query ORDER BY customer;

-- local -> remote in every mode (COPY into the remote transaction)
CREATE TABLE rpg_src AS SELECT g AS id, 'v' || g AS v, g * 0.5 AS n FROM generate_series(1, 300) g;
CREATE FUNCTION rpg.to_remote(mode text, src text DEFAULT 'rpg_src') RETURNS jsonb LANGUAGE sql AS $$
  SELECT etl.execute_plan(format('{"pipeline": {"id": "rpg_out", "sources": [{"id": "s", "type": "postgresql", "table": "%s"}],
    "targets": [{"id": "t", "type": "postgresql", "connection": "crm", "table": "rt.target", "mode": "%s", "keys": ["id"]}]}}',
    src, mode)::jsonb)->'rows_written' $$;
CREATE FUNCTION rpg.remote_digest() RETURNS text LANGUAGE sql AS $$
  SELECT (r->>'rows_written') || ' rows' FROM etl.execute_plan('{"pipeline": {"id": "rpg_back",
    "sources": [{"id": "o", "type": "postgresql", "connection": "crm", "table": "rt.target", "bulk": "copy"}],
    "targets": [{"id": "t", "type": "postgresql", "table": "rpg_back"}]}}') r $$;
SELECT rpg.to_remote('append') AS append_rows;
SELECT rpg.remote_digest();
SELECT count(*) AS differing FROM ((TABLE rpg_back EXCEPT TABLE rpg_src) UNION ALL (TABLE rpg_src EXCEPT TABLE rpg_back)) x;
-- metaetl created rt.target with the keys as its primary key
SELECT rpg.err($$SELECT rpg.to_remote('append')$$) AS append_again;
SELECT rpg.err($$SELECT etl.execute_plan('{"pipeline": {"id": "rpg_out", "sources": [{"id": "s", "type": "postgresql", "table": "rpg_src"}],
    "targets": [{"id": "t", "type": "postgresql", "connection": "crm", "table": "rt.nokey", "mode": "upsert", "keys": ["id"]}]}}')$$) AS upsert_without_unique_key;
SELECT rpg.to_remote('replace') AS replace_rows;
SELECT rpg.remote_digest();
SELECT count(*) AS differing FROM ((TABLE rpg_back EXCEPT TABLE rpg_src) UNION ALL (TABLE rpg_src EXCEPT TABLE rpg_back)) x;
DELETE FROM rpg_src WHERE id > 290;
UPDATE rpg_src SET v = 'changed' WHERE id <= 10;
INSERT INTO rpg_src VALUES (301, 'new', 1);
-- a new remote table with a primary key on the keys
SELECT etl.execute_plan('{"pipeline": {"id": "rpg_out", "sources": [{"id": "s", "type": "postgresql", "table": "rpg_src"}],
    "targets": [{"id": "t", "type": "postgresql", "connection": "crm", "table": "rt.target2", "mode": "upsert", "keys": ["id"]}]}}')->'rows_written' AS upsert_new;
UPDATE rpg_src SET v = 'again' WHERE id <= 3;
SELECT etl.execute_plan('{"pipeline": {"id": "rpg_out", "sources": [{"id": "s", "type": "postgresql", "table": "rpg_src"}],
    "targets": [{"id": "t", "type": "postgresql", "connection": "crm", "table": "rt.target2", "mode": "upsert", "keys": ["id"]}]}}')->'rows_written' AS upsert_changed;
SELECT etl.execute_plan('{"pipeline": {"id": "rpg_out", "sources": [{"id": "s", "type": "postgresql", "query": "SELECT id, ''di'' AS v, n FROM rpg_src WHERE id <= 5"}],
    "targets": [{"id": "t", "type": "postgresql", "connection": "crm", "table": "rt.target2", "mode": "delete_insert", "keys": ["id"]}]}}')->'rows_written' AS delete_insert;
SELECT r->'rows_written' FROM etl.execute_plan('{"pipeline": {"id": "rpg_back2",
    "sources": [{"id": "o", "type": "postgresql", "connection": "crm", "table": "rt.target2"}],
    "targets": [{"id": "t", "type": "postgresql", "table": "rpg_back2"}]}}') r;
SELECT count(*) AS differing FROM (
  (TABLE rpg_back2 EXCEPT SELECT id, CASE WHEN id <= 5 THEN 'di' ELSE v END, n FROM rpg_src)
  UNION ALL (SELECT id, CASE WHEN id <= 5 THEN 'di' ELSE v END, n FROM rpg_src EXCEPT TABLE rpg_back2)) d;

-- a load that fails half way leaves the remote target as it was
SELECT rpg.err($$SELECT etl.execute_plan('{"pipeline": {"id": "rpg_fail",
    "sources": [{"id": "s", "type": "postgresql", "query": "SELECT id, v, 1 / (id - 150) AS n FROM rpg_src"}],
    "targets": [{"id": "t", "type": "postgresql", "connection": "crm", "table": "rt.target2", "mode": "replace"}]}}')$$) AS failing_replace;
SELECT rpg.err($$SELECT etl.execute_plan('{"pipeline": {"id": "rpg_back2",
    "sources": [{"id": "o", "type": "postgresql", "connection": "crm", "table": "rt.target2"}],
    "targets": [{"id": "t", "type": "postgresql", "table": "rpg_back3"}]}}')$$);
SELECT count(*) AS differing FROM (TABLE rpg_back2 EXCEPT TABLE rpg_back3) d;

-- remote columns change: the foreign table follows
\c remote postgres :rsock :rport
ALTER TABLE rt.orders ADD COLUMN region text DEFAULT 'eu';
\c :here postgres :here_host :here_port
SET client_min_messages = warning;
SELECT r->>'status' AS status FROM etl.execute_pipeline('rpg_pushdown') r;
SELECT attname FROM pg_attribute WHERE attrelid = 'etl_remote.crm__orders'::regclass AND attnum > 0 ORDER BY attnum;

-- errors: each names the source or target and the connection, never a secret
SELECT etl.add_connection('crm_down', 'postgresql', '{"host": "127.0.0.1", "port": 1, "dbname": "remote", "user": "postgres"}');
SELECT rpg.err($$SELECT etl.execute_plan('{"pipeline": {"id": "e", "sources": [{"id": "o", "type": "postgresql", "connection": "crm_down", "table": "orders"}], "targets": [{"id": "t", "type": "postgresql", "table": "rpg_e"}]}}')$$) AS unreachable;
SELECT t->'ok' AS ok, t->>'sqlstate' AS sqlstate, t->>'error' AS error FROM etl.test_connection('crm_down') t;
SELECT etl.add_connection('crm_nopw', 'postgresql',
       jsonb_build_object('host', '127.0.0.1', 'port', :'rport'::int, 'dbname', 'remote', 'user', 'etl_remote'));
SELECT regexp_replace(rpg.err($$SELECT etl.execute_plan('{"pipeline": {"id": "e", "sources": [{"id": "o", "type": "postgresql", "connection": "crm_nopw", "table": "rt.orders"}], "targets": [{"id": "t", "type": "postgresql", "table": "rpg_e"}]}}')$$), 'port \d+', 'port N') AS no_password;
SELECT rpg.err($$SELECT etl.execute_plan('{"pipeline": {"id": "e", "sources": [{"id": "o", "type": "postgresql", "connection": "crm", "table": "no_such"}], "targets": [{"id": "t", "type": "postgresql", "table": "rpg_e"}]}}')$$) AS missing_table;
SELECT rpg.err($$SELECT etl.execute_plan('{"pipeline": {"id": "e", "sources": [{"id": "o", "type": "postgresql", "connection": "crm", "query": "SELECT nope FROM orders"}], "targets": [{"id": "t", "type": "postgresql", "table": "rpg_e"}]}}')$$) AS bad_query;
SELECT rpg.err($$SELECT etl.execute_plan('{"pipeline": {"id": "e", "sources": [{"id": "o", "type": "postgresql", "connection": "crm", "query": "SELECT 1 AS x", "bulk": "fdw"}], "targets": [{"id": "t", "type": "postgresql", "table": "rpg_e"}]}}')$$) AS query_fdw;
SELECT rpg.err($$SELECT etl.execute_plan('{"pipeline": {"id": "e", "sources": [{"id": "s", "type": "postgresql", "table": "rpg_src"}], "targets": [{"id": "t", "type": "postgresql", "connection": "crm", "table": "rt.none", "create": false}]}}')$$) AS no_create;
SELECT rpg.err($$SELECT etl.execute_plan('{"pipeline": {"id": "e", "sources": [{"id": "s", "type": "postgresql", "table": "rpg_src"}], "targets": [{"id": "t", "type": "postgresql", "connection": "crm", "table": "rt.target2", "mode": "scd2", "keys": ["id"]}]}}')$$) AS scd2;
SELECT etl.add_connection('crm_slow', 'postgresql',
       jsonb_build_object('host', '127.0.0.1', 'port', :'rport'::int, 'dbname', 'remote', 'user', 'postgres',
                          'statement_timeout', '200ms'));
SELECT rpg.err($$SELECT etl.execute_plan('{"pipeline": {"id": "e", "sources": [{"id": "o", "type": "postgresql", "connection": "crm_slow", "query": "SELECT pg_sleep(2)::text AS s"}], "targets": [{"id": "t", "type": "postgresql", "table": "rpg_e"}]}}')$$) AS statement_timeout;
-- (the error is 57014, which WHEN OTHERS does not catch; the retry policy calls it transient)
SELECT rpg.err($$SELECT etl.execute_plan('{"pipeline": {"id": "e", "sources": [{"id": "o", "type": "postgresql", "connection": "crm_slow", "query": "SELECT pg_sleep(0)"}], "targets": [{"id": "t", "type": "postgresql", "table": "rpg_e"}]}}')$$) AS void_column;
SELECT to_regclass('rpg_e') AS no_local_target;
-- a failed run is recorded with the error
SELECT etl.register_pipeline($$pipeline:
  id: rpg_broken
  retry: {max_attempts: 2, initial_delay_s: 0}
  sources: [{id: o, type: postgresql, connection: crm_down, table: orders}]
  targets: [{id: t, type: postgresql, table: rpg_e}]
$$);
SELECT r->>'status' AS status, r->>'error' AS error FROM etl.execute_pipeline('rpg_broken') r;
SELECT r.status, r.error_sqlstate, a.error_class, r.error_message FROM etl.pipeline_runs r
  JOIN etl.run_attempts a USING (run_id) WHERE r.pipeline_id = 'rpg_broken';

-- privileges: a plain role sees neither the connection nor its foreign tables
CREATE ROLE rpg_plain LOGIN;
CREATE ROLE rpg_other LOGIN;
GRANT USAGE ON SCHEMA rpg TO rpg_other;
GRANT CREATE ON SCHEMA public TO rpg_plain;
GRANT USAGE ON SCHEMA rpg TO rpg_plain;
SET ROLE rpg_plain;
SELECT rpg.err($$SELECT etl.execute_plan('{"pipeline": {"id": "e", "sources": [{"id": "o", "type": "postgresql", "connection": "crm", "table": "orders"}], "targets": [{"id": "t", "type": "postgresql", "table": "rpg_plain_t"}]}}')$$) AS others_connection;
SELECT rpg.err('SELECT count(*) FROM etl_remote.crm__orders') AS foreign_table;
SELECT rpg.err($$SELECT etl.test_connection('crm')$$) AS test_others;
SELECT srvname, usename, umoptions FROM pg_user_mappings WHERE srvname = 'metaetl_crm';
-- its own connection with trust on the remote: refused, a password is required
SELECT etl.add_connection('plain_conn', 'postgresql',
       jsonb_build_object('host', '127.0.0.1', 'port', :'rport'::int, 'dbname', 'remote', 'user', 'postgres'));
SELECT rpg.err($$SELECT etl.execute_plan('{"pipeline": {"id": "e", "sources": [{"id": "o", "type": "postgresql", "connection": "plain_conn", "table": "rt.orders"}], "targets": [{"id": "t", "type": "postgresql", "table": "rpg_plain_t"}]}}')$$) AS plain_without_password;
-- with a credential (user etl_remote, SCRAM on the remote) the plain role
-- runs the FDW path and the COPY path; its mapping shows it no password
SELECT etl.add_credential('rpg_remote_pw', '{"user": "etl_remote", "password": "etl_remote_pw"}');
SELECT etl.add_credential('rpg_wrong_pw', '{"user": "etl_remote", "password": "not-the-password"}');
SELECT etl.add_connection('plain_crm', 'postgresql',
       jsonb_build_object('host', '127.0.0.1', 'port', :'rport'::int, 'dbname', 'remote', 'schema', 'rt'), 'rpg_remote_pw');
SELECT etl.add_connection('plain_wrong', 'postgresql',
       jsonb_build_object('host', '127.0.0.1', 'port', :'rport'::int, 'dbname', 'remote', 'schema', 'rt'), 'rpg_wrong_pw');
SELECT r->'rows_written' AS rows_written FROM etl.execute_plan('{"pipeline": {"id": "plain_fdw",
    "sources": [{"id": "o", "type": "postgresql", "connection": "plain_crm", "table": "orders"}],
    "transforms": [{"id": "f", "type": "filter", "params": {"condition": "id <= 10"}}],
    "targets": [{"id": "t", "type": "postgresql", "table": "rpg_plain_t"}]}}') r;
SELECT r->'rows_written' AS rows_written FROM etl.execute_plan('{"pipeline": {"id": "plain_copy",
    "sources": [{"id": "o", "type": "postgresql", "connection": "plain_crm", "query": "SELECT count(*) AS n, current_user AS remote_user FROM orders"}],
    "targets": [{"id": "t", "type": "postgresql", "table": "rpg_plain_q"}]}}') r;
SELECT * FROM rpg_plain_q;
SELECT srvname, usename, umoptions FROM pg_user_mappings WHERE srvname = 'metaetl_plain_crm';
SELECT regexp_replace(rpg.err($$SELECT etl.execute_plan('{"pipeline": {"id": "e", "sources": [{"id": "o", "type": "postgresql", "connection": "plain_wrong", "table": "orders"}], "targets": [{"id": "t", "type": "postgresql", "table": "rpg_plain_e"}]}}')$$), 'port \d+', 'port N') AS wrong_password;
SELECT t->'ok' AS ok, t->>'sqlstate' AS sqlstate, position('not-the-password' IN t->>'error') AS shows_secret
  FROM etl.test_connection('plain_wrong') t;
RESET ROLE;
-- the other plain role can use neither the connection nor the credential
SET ROLE rpg_other;
SELECT rpg.err($$SELECT etl.execute_plan('{"pipeline": {"id": "e", "sources": [{"id": "o", "type": "postgresql", "connection": "plain_crm", "table": "orders"}], "targets": [{"id": "t", "type": "postgresql", "table": "rpg_other_t"}]}}')$$) AS others_connection;
SELECT rpg.err('SELECT count(*) FROM etl_remote.plain_crm__orders') AS others_foreign_table;
SELECT rpg.err($$SELECT etl.add_connection('steal', 'postgresql', '{"host": "127.0.0.1", "dbname": "remote"}', 'rpg_remote_pw')$$) AS others_credential;
RESET ROLE;
SET ROLE rpg_plain;
SELECT etl.drop_connection('plain_crm');
SELECT etl.drop_connection('plain_wrong');
SELECT etl.drop_credential('rpg_remote_pw');
SELECT etl.drop_credential('rpg_wrong_pw');
DROP TABLE rpg_plain_t, rpg_plain_q;
-- dropping another role's connection is refused, and its objects stay
SELECT rpg.err($$SELECT etl.drop_connection('crm')$$) AS drop_others;
SELECT etl._drop_remote('crm');
SELECT etl.drop_connection('plain_conn');
RESET ROLE;
SELECT count(*) AS crm_server FROM pg_foreign_server WHERE srvname = 'metaetl_crm';
-- a mapping for a plain role shows it no options (it has no USAGE on the server)
CREATE USER MAPPING FOR rpg_plain SERVER metaetl_crm OPTIONS (user 'x', password 'not-for-you');
SET ROLE rpg_plain;
SELECT srvname, usename, umoptions FROM pg_user_mappings WHERE srvname = 'metaetl_crm' AND usename = 'rpg_plain';
RESET ROLE;
DROP USER MAPPING FOR rpg_plain SERVER metaetl_crm;

-- pg_dump leaves metaetl's servers and foreign tables out (extension members)
SELECT count(*) AS not_members FROM pg_foreign_server s
 WHERE s.srvname LIKE 'metaetl\_%' AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = s.oid AND d.deptype = 'e');

-- dropping the connection removes its server, mappings and foreign tables
SELECT etl.drop_connection('crm');
SELECT count(*) AS servers FROM pg_foreign_server WHERE srvname = 'metaetl_crm';
SELECT count(*) AS foreign_tables FROM pg_class WHERE relnamespace = 'etl_remote'::regnamespace AND relname LIKE 'crm\_\_%';
SELECT rpg.err($$SELECT etl.drop_connection('crm')$$) AS drop_again;

-- clean up
SELECT etl.drop_connection(n) FROM unnest(ARRAY['crm_small', 'crm_down', 'crm_nopw', 'crm_slow']) n;
SELECT etl.drop_pipeline(p) FROM unnest(ARRAY['rpg_pushdown', 'rpg_auto', 'rpg_broken']) p;
DROP TABLE rpg_per_customer, rpg_orders, rpg_query, rpg_src, rpg_back, rpg_back2, rpg_back3;
REVOKE CREATE ON SCHEMA public FROM rpg_plain;
REVOKE USAGE ON SCHEMA rpg FROM rpg_plain;
REVOKE USAGE ON SCHEMA rpg FROM rpg_other;
DROP SCHEMA rpg CASCADE;
DROP ROLE rpg_plain, rpg_other;
DROP EXTENSION postgres_fdw;
\c remote postgres :rsock :rport
SET client_min_messages = warning;
DROP SCHEMA rt CASCADE;
