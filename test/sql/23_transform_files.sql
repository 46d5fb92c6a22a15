-- 23_transform_files: server-side csv / json / ndjson targets and sources
-- (COPY with header, delimiter, quote, null and encoding options) and the
-- privilege checks in front of them.  Files go to the data directory.
\set VERBOSITY default
\set SHOW_CONTEXT never
\pset pager off
SET client_min_messages = warning;
CREATE SCHEMA tf;
SET search_path = tf, public;

CREATE FUNCTION pg_temp.err(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE s text; m text; h text;
BEGIN
  EXECUTE q;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS s = RETURNED_SQLSTATE, m = MESSAGE_TEXT, h = PG_EXCEPTION_HINT;
  RETURN s || ': ' || m || coalesce(' | hint: ' || nullif(h, ''), '');
END $$;
SELECT current_setting('data_directory') || '/metaetl_tf_' AS f \gset

CREATE TABLE people (id int, name text, city text, score numeric);
INSERT INTO people VALUES (1, 'Zoë', 'Paris', 1.5), (2, 'Bo; "B"', NULL, 2), (3, 'Cy', 'Rome', NULL);

-- targets: csv (options), json (one array), ndjson (one object per line)
SELECT t->>'id' AS id, t->'rows' AS rows
  FROM jsonb_array_elements(etl.execute_plan(format($${"pipeline": {"id": "tf_out",
    "sources": [{"id": "p", "type": "postgresql", "query": "SELECT * FROM tf.people ORDER BY id"}],
    "targets": [{"id": "c", "type": "csv", "path": "%1$sa.csv", "delimiter": ";", "null": "NULL"},
                {"id": "j", "type": "json", "path": "%1$sb.json"},
                {"id": "n", "type": "ndjson", "path": "%1$sc.ndjson"},
                {"id": "l", "type": "csv", "path": "%1$sd.csv", "header": false, "encoding": "LATIN1"}]}}$$, :'f')::jsonb)->'targets') t;
SELECT pg_read_file(:'f' || 'a.csv') AS csv;
SELECT pg_read_file(:'f' || 'b.json') AS json;
SELECT pg_read_file(:'f' || 'c.ndjson') AS ndjson;
SELECT octet_length(pg_read_binary_file(:'f' || 'd.csv')) AS latin1_bytes;

-- sources: read them back; column order from the header, types declared or inferred
SELECT s->>'id' AS id, s->'rows' AS rows
  FROM jsonb_array_elements(etl.execute_plan(format($${"pipeline": {"id": "tf_in",
    "sources": [{"id": "a", "type": "csv", "path": "%1$sa.csv", "delimiter": ";", "null": "NULL",
                 "columns": {"score": "numeric", "id": "int"}},
                {"id": "b", "type": "json", "path": "%1$sb.json"},
                {"id": "c", "type": "ndjson", "path": "%1$sc.ndjson", "columns": ["id int", "name text", "city text", "score numeric"]},
                {"id": "d", "type": "csv", "path": "%1$sd.csv", "header": false, "encoding": "LATIN1",
                 "columns": ["id int", "name text", "city text", "score numeric"]}],
    "targets": [{"id": "ta", "table": "tf.from_csv", "input": "a"}, {"id": "tb", "table": "tf.from_json", "input": "b"},
                {"id": "tc", "table": "tf.from_ndjson", "input": "c"}, {"id": "td", "table": "tf.from_latin1", "input": "d"}]}}$$, :'f')::jsonb, '{}', '{"engine": "pushdown"}')->'steps') s
 WHERE s->>'kind' = 'source';
SELECT * FROM from_csv ORDER BY id;
SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute
 WHERE attrelid = 'tf.from_json'::regclass AND attnum > 0 ORDER BY attnum;
SELECT * FROM from_json ORDER BY id;
SELECT (SELECT count(*) FROM (TABLE people EXCEPT ALL TABLE from_ndjson) a)
     + (SELECT count(*) FROM (TABLE from_ndjson EXCEPT ALL TABLE people) b) AS ndjson_differs,
       (SELECT count(*) FROM (TABLE people EXCEPT ALL TABLE from_latin1) a)
     + (SELECT count(*) FROM (TABLE from_latin1 EXCEPT ALL TABLE people) b) AS latin1_differs;

-- errors: a declared column missing from the header, no header and no columns, bad mode
SELECT pg_temp.err(format($q$SELECT etl.execute_plan('{"pipeline": {"id": "tf_e", "sources": [{"id": "a", "type": "csv", "path": "%sa.csv", "delimiter": ";", "columns": {"scroe": "int"}}], "targets": [{"id": "t", "table": "tf.x"}]}}')$q$, :'f'));
SELECT pg_temp.err(format($q$SELECT etl.execute_plan('{"pipeline": {"id": "tf_e", "sources": [{"id": "a", "type": "csv", "path": "%sa.csv", "header": false}], "targets": [{"id": "t", "table": "tf.x"}]}}')$q$, :'f'));
SELECT pg_temp.err(format($q$SELECT etl.execute_plan('{"pipeline": {"id": "tf_e", "sources": [{"id": "a", "type": "postgresql", "table": "tf.people"}], "targets": [{"id": "t", "type": "csv", "path": "%sz.csv", "mode": "append"}]}}')$q$, :'f'));
SELECT pg_temp.err($q$SELECT etl.execute_plan('{"pipeline": {"id": "tf_e", "sources": [{"id": "a", "type": "csv"}], "targets": [{"id": "t", "table": "tf.x"}]}}')$q$);

-- without pg_read_server_files / pg_write_server_files: a clear error, nothing read or written
CREATE ROLE tf_user;
GRANT USAGE, CREATE ON SCHEMA tf TO tf_user;
GRANT USAGE ON SCHEMA etl TO tf_user;
GRANT SELECT ON tf.people TO tf_user;
SET ROLE tf_user;
SELECT pg_temp.err(format($q$SELECT etl.execute_plan('{"pipeline": {"id": "tf_e", "sources": [{"id": "a", "type": "csv", "path": "%sa.csv"}], "targets": [{"id": "t", "table": "tf.x"}]}}')$q$, :'f'));
SELECT pg_temp.err(format($q$SELECT etl.execute_plan('{"pipeline": {"id": "tf_e", "sources": [{"id": "a", "type": "postgresql", "table": "tf.people"}], "targets": [{"id": "t", "type": "ndjson", "path": "%sy.ndjson"}]}}')$q$, :'f'));
RESET ROLE;
GRANT pg_read_server_files TO tf_user;
SET ROLE tf_user;
SELECT etl.execute_plan(format($q${"pipeline": {"id": "tf_ok", "sources": [{"id": "a", "type": "ndjson", "path": "%sc.ndjson"}], "targets": [{"id": "t", "table": "tf.by_user"}]}}$q$, :'f')::jsonb)->'rows_written' AS read_with_role;
RESET ROLE;

RESET search_path;
DROP SCHEMA tf CASCADE;
REVOKE USAGE ON SCHEMA etl FROM tf_user;
DROP ROLE tf_user;
