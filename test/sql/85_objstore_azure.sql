-- 85_objstore_azure: azure_blob sources and targets against Azurite
-- (Microsoft's emulator, test/harness/servers/azurite.sh), with SharedKey
-- (the emulator's published development key) and SAS tokens (made by
-- test/harness/azure_setup.py with its own signer).
\set VERBOSITY default
\set SHOW_CONTEXT never
\pset pager off
SET client_min_messages = warning;
\getenv az_endpoint METAETL_AZURITE_ENDPOINT
\getenv az_key METAETL_AZURITE_KEY
\getenv az_sas METAETL_AZURITE_SAS
\getenv az_ro_sas METAETL_AZURITE_RO_SAS
CREATE SCHEMA oaz;
SET search_path = oaz, public;

CREATE TABLE secrets (s text);
INSERT INTO secrets VALUES (:'az_key'), (:'az_sas'), (:'az_ro_sas'),
  (substring(:'az_sas' FROM 'sig=([^&]+)')), (substring(:'az_ro_sas' FROM 'sig=([^&]+)'));
CREATE FUNCTION pg_temp.err(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE s text; m text; d text; h text; leak text;
BEGIN
  EXECUTE q;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS s = RETURNED_SQLSTATE, m = MESSAGE_TEXT, d = PG_EXCEPTION_DETAIL, h = PG_EXCEPTION_HINT;
  SELECT string_agg('LEAKED', ',') INTO leak FROM oaz.secrets
   WHERE position(secrets.s IN concat(m, d, h)) > 0;
  RETURN regexp_replace(s || ': ' || m || coalesce(' | ' || nullif(d, ''), '') || coalesce(' | hint: ' || nullif(h, ''), '')
                        || coalesce(' ' || leak, ''), '127\.0\.0\.1:[0-9]+', '127.0.0.1:PORT', 'g');
END $$;
CREATE FUNCTION pg_temp.run(cfg text) RETURNS jsonb LANGUAGE sql AS $$
  SELECT etl.execute_plan(cfg::jsonb) -> 'targets' $$;
CREATE FUNCTION pg_temp.differ(a text, b text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n bigint; cols text;
BEGIN
  SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) INTO cols FROM pg_attribute
   WHERE attrelid = a::regclass AND attnum > 0 AND NOT attisdropped;
  EXECUTE format('SELECT (SELECT count(*) FROM (SELECT %3$s FROM %1$s EXCEPT ALL SELECT %3$s FROM %2$s) x)'
                 ' + (SELECT count(*) FROM (SELECT %3$s FROM %2$s EXCEPT ALL SELECT %3$s FROM %1$s) y)', a, b, cols) INTO n;
  RETURN n;
END $$;

-- credentials and connections (their void results hidden; errors would show)
\o /dev/null
SELECT etl.add_credential('oaz_key', json_build_object('account_key', :'az_key')::jsonb);
SELECT etl.add_credential('oaz_sas', json_build_object('sas_token', :'az_sas')::jsonb);
SELECT etl.add_credential('oaz_ro_sas', json_build_object('sas_token', '?' || :'az_ro_sas')::jsonb);
SELECT etl.add_credential('oaz_badkey', json_build_object('account_key', encode(sha256('not the key'), 'base64'))::jsonb);
SELECT etl.add_credential('oaz_both', json_build_object('account_key', :'az_key', 'sas_token', :'az_sas')::jsonb);

-- Azurite addresses the account in the endpoint's path
SELECT etl.add_connection('oaz_blob', 'azure_blob', json_build_object('account', 'devstoreaccount1', 'container', 'metaetl-test',
  'endpoint', :'az_endpoint', 'part_size', 1048576, 'list_page_size', 2)::jsonb, 'oaz_key');
SELECT etl.add_connection('oaz_sas', 'azure_blob', json_build_object('account', 'devstoreaccount1', 'container', 'metaetl-test',
  'endpoint', :'az_endpoint', 'prefix', 'sas/')::jsonb, 'oaz_sas');
SELECT etl.add_connection('oaz_ro', 'azure_blob', json_build_object('account', 'devstoreaccount1', 'container', 'metaetl-test',
  'endpoint', :'az_endpoint')::jsonb, 'oaz_ro_sas');
SELECT etl.add_connection('oaz_bad', 'azure_blob', json_build_object('account', 'devstoreaccount1', 'container', 'metaetl-test',
  'endpoint', :'az_endpoint')::jsonb, 'oaz_badkey');
SELECT etl.add_connection('oaz_both', 'azure_blob', json_build_object('account', 'devstoreaccount1', 'container', 'metaetl-test',
  'endpoint', :'az_endpoint')::jsonb, 'oaz_both');
SELECT etl.add_connection('oaz_nocontainer', 'azure_blob', json_build_object('account', 'devstoreaccount1', 'container', 'no-such-container',
  'endpoint', :'az_endpoint')::jsonb, 'oaz_key');
SELECT etl.add_connection('oaz_badname', 'azure_blob', json_build_object('account', 'devstoreaccount1', 'container', 'Has_Upper',
  'endpoint', :'az_endpoint')::jsonb, 'oaz_key');
\o
SELECT name, type, credential FROM etl.data_sources WHERE name LIKE 'oaz\_%' ORDER BY name;
SELECT pg_temp.err($$SELECT etl.add_connection('oaz_x', 'azure_blob', '{"account": "devstoreaccount1", "bucket": "b"}')$$);

-- round trips per format, SharedKey and SAS; blocks of 1 MiB for the large one
CREATE TABLE people (id int, name text, city text, score numeric(6,2), born date, active boolean);
INSERT INTO people VALUES (1, 'Zoë', 'Paris', 1.5, '1990-01-02', true), (2, 'Bo, "B"', NULL, 2, NULL, false),
  (3, E'line\nbreak', 'Rome', NULL, '2001-12-31', NULL), (4, '', 'Köln', -0.25, '1970-01-01', true);
CREATE TABLE many AS SELECT g AS id, md5(g::text) AS h, g % 7 = 0 AS flag FROM generate_series(1, 60000) g;
SELECT pg_temp.run($${"pipeline": {"id": "oaz_out", "sources": [{"id": "p", "type": "postgresql", "table": "oaz.people"},
                                                               {"id": "m", "type": "postgresql", "table": "oaz.many"}],
  "targets": [{"id": "c", "type": "azure_blob", "connection": "oaz_blob", "input": "p", "key": "rt/people.csv"},
              {"id": "n", "type": "azure_blob", "connection": "oaz_blob", "input": "p", "key": "rt/people.ndjson.gz"},
              {"id": "s", "type": "azure_blob", "connection": "oaz_sas", "input": "p", "key": "people.csv"},
              {"id": "b", "type": "azure_blob", "connection": "oaz_blob", "input": "m", "key": "rt/many.csv"},
              {"id": "q", "type": "azure_blob", "connection": "oaz_blob", "input": "p", "key": "rt/people.parquet"}]}}$$);
SELECT pg_temp.run($${"pipeline": {"id": "oaz_in", "sources": [
    {"id": "c", "type": "azure_blob", "connection": "oaz_blob", "key": "rt/people.csv", "columns": {"id": "int", "score": "numeric", "born": "date", "active": "boolean"}},
    {"id": "n", "type": "azure_blob", "connection": "oaz_blob", "key": "rt/people.ndjson.gz", "columns": {"id": "int", "name": "text", "city": "text", "score": "numeric", "born": "date", "active": "boolean"}},
    {"id": "s", "type": "azure_blob", "connection": "oaz_sas", "key": "people.csv", "columns": {"id": "int", "score": "numeric", "born": "date", "active": "boolean"}},
    {"id": "r", "type": "azure_blob", "connection": "oaz_ro", "key": "sas/people.csv", "columns": {"id": "int", "score": "numeric", "born": "date", "active": "boolean"}},
    {"id": "b", "type": "azure_blob", "connection": "oaz_blob", "key": "rt/many.csv", "columns": {"id": "int", "flag": "boolean"}},
    {"id": "q", "type": "azure_blob", "connection": "oaz_blob", "key": "rt/people.parquet"}],
  "targets": [{"id": "tc", "table": "oaz.back_csv", "input": "c"}, {"id": "tn", "table": "oaz.back_ndjson", "input": "n"},
              {"id": "ts", "table": "oaz.back_sas", "input": "s"}, {"id": "tr", "table": "oaz.back_ro", "input": "r"},
              {"id": "tb", "table": "oaz.back_many", "input": "b"}, {"id": "tq", "table": "oaz.back_parquet", "input": "q"}]}}$$);
SELECT pg_temp.differ('oaz.people', 'oaz.back_csv') AS csv, pg_temp.differ('oaz.people', 'oaz.back_ndjson') AS ndjson_gz,
       pg_temp.differ('oaz.people', 'oaz.back_sas') AS sas, pg_temp.differ('oaz.people', 'oaz.back_ro') AS read_only_sas,
       pg_temp.differ('oaz.many', 'oaz.back_many') AS blocks, pg_temp.differ('oaz.people', 'oaz.back_parquet') AS parquet;

-- several blobs under a prefix, in name order, listed two per page (markers)
SELECT pg_temp.run($${"pipeline": {"id": "oaz_parts", "sources": [{"id": "p", "type": "postgresql", "table": "oaz.people"}],
  "targets": [{"id": "a", "type": "azure_blob", "connection": "oaz_blob", "key": "multi/2026/03.csv"},
              {"id": "b", "type": "azure_blob", "connection": "oaz_blob", "key": "multi/2026/01.csv"},
              {"id": "c", "type": "azure_blob", "connection": "oaz_blob", "key": "multi/2026/02.csv.zst"},
              {"id": "d", "type": "azure_blob", "connection": "oaz_blob", "key": "multi/2026/04.ndjson"},
              {"id": "e", "type": "azure_blob", "connection": "oaz_blob", "key": "multi/2026/05.csv"}]}}$$) IS NOT NULL AS written;
SELECT pg_temp.run($${"pipeline": {"id": "oaz_multi", "sources": [
    {"id": "m", "type": "azure_blob", "connection": "oaz_blob", "prefix": "multi/2026/", "pattern": "0[1-3].csv*", "file_column": "blob", "columns": {"id": "int"}}],
  "targets": [{"id": "t", "table": "oaz.multi"}]}}$$);
SELECT blob, count(*), sum(id) FROM multi GROUP BY blob ORDER BY min(ctid);

-- errors name the source or target and the blob, never a key or a SAS token
SELECT pg_temp.err($$SELECT pg_temp.run('{"pipeline": {"id": "oaz_e", "sources": [{"id": "s", "type": "azure_blob", "connection": "oaz_blob", "key": "rt/missing.csv"}], "targets": [{"id": "t", "table": "oaz.e1"}]}}')$$);
SELECT pg_temp.err($$SELECT pg_temp.run('{"pipeline": {"id": "oaz_e", "sources": [{"id": "s", "type": "azure_blob", "connection": "oaz_nocontainer", "prefix": "rt/"}], "targets": [{"id": "t", "table": "oaz.e1"}]}}')$$);
SELECT pg_temp.err($$SELECT pg_temp.run('{"pipeline": {"id": "oaz_e", "sources": [{"id": "s", "type": "azure_blob", "connection": "oaz_bad", "key": "rt/people.csv"}], "targets": [{"id": "t", "table": "oaz.e1"}]}}')$$);
SELECT pg_temp.err($$SELECT pg_temp.run('{"pipeline": {"id": "oaz_e", "sources": [{"id": "s", "type": "azure_blob", "connection": "oaz_bad", "prefix": "rt/"}], "targets": [{"id": "t", "table": "oaz.e1"}]}}')$$);
SELECT pg_temp.err($$SELECT pg_temp.run('{"pipeline": {"id": "oaz_e", "sources": [{"id": "s", "type": "azure_blob", "connection": "oaz_both", "key": "rt/people.csv"}], "targets": [{"id": "t", "table": "oaz.e1"}]}}')$$);
SELECT pg_temp.err($$SELECT pg_temp.run('{"pipeline": {"id": "oaz_e", "sources": [{"id": "s", "type": "azure_blob", "connection": "oaz_badname", "key": "rt/people.csv"}], "targets": [{"id": "t", "table": "oaz.e1"}]}}')$$);
SELECT pg_temp.err($$SELECT pg_temp.run('{"pipeline": {"id": "oaz_e", "sources": [{"id": "s", "type": "azure_blob", "connection": "oaz_blob", "prefix": "multi/2026/", "pattern": "*.parquet"}], "targets": [{"id": "t", "table": "oaz.e1"}]}}')$$);

-- failed targets leave the blob as it was: a read-only SAS, and an error
-- after blocks were staged (Put Block List never happens)
SELECT pg_temp.err($$SELECT pg_temp.run('{"pipeline": {"id": "oaz_e", "sources": [{"id": "p", "type": "postgresql", "table": "oaz.many"}], "targets": [{"id": "t", "type": "azure_blob", "connection": "oaz_ro", "key": "rt/people.csv"}]}}')$$);
SELECT pg_temp.err($$SELECT pg_temp.run('{"pipeline": {"id": "oaz_e", "sources": [{"id": "p", "type": "postgresql", "query": "SELECT id, h, 1 / (50000 - id) AS boom FROM oaz.many"}], "targets": [{"id": "t", "type": "azure_blob", "connection": "oaz_blob", "key": "rt/people.csv"}]}}')$$);
SELECT pg_temp.run($${"pipeline": {"id": "oaz_after", "sources": [
    {"id": "c", "type": "azure_blob", "connection": "oaz_blob", "key": "rt/people.csv", "columns": {"id": "int", "score": "numeric", "born": "date", "active": "boolean"}}],
  "targets": [{"id": "t", "table": "oaz.after"}]}}$$) -> 0 -> 'rows' AS rows_after;
SELECT pg_temp.differ('oaz.people', 'oaz.after') AS unchanged;

-- what this test made goes (later tests share the database)
DELETE FROM etl.data_sources WHERE name LIKE 'oaz\_%';
DELETE FROM etl.data_targets WHERE name LIKE 'oaz\_%';
DELETE FROM etl.credentials WHERE name LIKE 'oaz\_%';
DROP SCHEMA oaz CASCADE;
