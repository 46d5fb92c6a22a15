-- 82_formats_text: type: file sources and targets in csv, tsv, json and
-- ndjson — round trips (table -> file -> table, row for row), gzip and zstd
-- (files the gzip(1) and zstd(1) tools wrote, and files they read back),
-- several files in one source, column inference, and every error case,
-- each leaving the target as it was.  Paths are relative to the data
-- directory (as for COPY), so messages are the same on every machine.
\set VERBOSITY default
\set SHOW_CONTEXT never
\pset pager off
SET client_min_messages = warning;
CREATE SCHEMA ft;
SET search_path = ft, public;

-- an error's SQLSTATE, message, detail, hint, and the context line naming the source and
-- position (a conversion error has it in its detail too: runs record the detail)
CREATE FUNCTION pg_temp.err(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE s text; m text; d text; h text; c text;
BEGIN
  EXECUTE q;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS s = RETURNED_SQLSTATE, m = MESSAGE_TEXT, d = PG_EXCEPTION_DETAIL,
                          h = PG_EXCEPTION_HINT, c = PG_EXCEPTION_CONTEXT;
  c := (SELECT l FROM regexp_split_to_table(c, E'\n') l WHERE l LIKE 'source %' LIMIT 1);
  RETURN s || ': ' || m || coalesce(' | detail: ' || nullif(d, ''), '')
         || coalesce(' | hint: ' || nullif(h, ''), '')
         || CASE WHEN nullif(d, '') IS NULL THEN coalesce(' | at: ' || c, '') ELSE '' END;
END $$;
-- run a pipeline (JSON text): rows written, or the error
CREATE FUNCTION pg_temp.run(cfg text) RETURNS text LANGUAGE sql AS $$
  SELECT pg_temp.err(format('SELECT etl.execute_plan(%L::jsonb)', cfg)) $$;
CREATE FUNCTION pg_temp.written(cfg text) RETURNS jsonb LANGUAGE sql AS $$
  SELECT etl.execute_plan(cfg::jsonb)->'rows_written' $$;

SELECT current_setting('data_directory') || '/metaetl_ft' AS dir \gset
\setenv FT_DIR :dir
\! rm -rf "$FT_DIR" && mkdir -p "$FT_DIR/multi" "$FT_DIR/mismatch" "$FT_DIR/empty"

-- values that trip formats up: quotes, delimiters, newlines, tabs, backslashes,
-- unicode, NULL next to '', 38-digit numerics, time zones, microseconds
CREATE TABLE src (id int8, t text, n numeric, f float8, ts timestamptz, d date, b boolean, j jsonb);
INSERT INTO src VALUES
 (1, E'comma, "quote" and\nnewline', 12345678901234567890.123456789012345678, 0.1,
  '2024-01-02 03:04:05.123456+02', '2024-02-29', true, '{"k": [1, "two", null]}'),
 (2, E'tab\there \\ backslash', -0.000000000000000001, 1e300, '1999-12-31 23:59:59.999999+00', '0001-01-01', false, '[]'),
 (3, '', 0, -0, 'infinity', 'infinity', NULL, '"a string"'),
 (4, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (-9223372036854775808, 'Zoë ✓ 日本語 🎉', 1e-30, 'NaN', '1970-01-01 00:00:00+00', '1970-01-01', true, '{"nested": {"deep": true}}');

-- round trips: every format, plain and compressed (chosen by the suffix); a file
-- target is put in place when its transaction commits, so the files are written
-- in one statement and read back in the next
CREATE TABLE rt (fmt text, suffix text, written jsonb, read jsonb, differs bigint);
INSERT INTO rt (fmt, suffix) SELECT f, nullif(s, '') FROM unnest(ARRAY['csv', 'tsv', 'json', 'ndjson']) f,
  unnest(ARRAY['', '.gz', '.zst']) s;
UPDATE rt SET written = pg_temp.written(format($c${"pipeline": {"id": "ft_w", "sources": [{"id": "s", "type": "postgresql", "table": "ft.src"}],
  "targets": [{"id": "f", "type": "file", "path": "metaetl_ft/rt.%s%s"}]}}$c$, fmt, suffix));
DO $$
DECLARE r record; n bigint; rd jsonb;
BEGIN
  FOR r IN SELECT fmt, suffix FROM ft.rt LOOP
    EXECUTE 'DROP TABLE IF EXISTS ft.back';
    rd := pg_temp.written(format($c${"pipeline": {"id": "ft_r", "sources": [{"id": "f", "type": "file", "path": "metaetl_ft/rt.%s%s",
           "columns": ["id int8", "t text", "n numeric", "f float8", "ts timestamptz", "d date", "b boolean", "j jsonb"]}],
           "targets": [{"id": "t", "table": "ft.back"}]}}$c$, r.fmt, r.suffix));
    SELECT (SELECT count(*) FROM (TABLE ft.src EXCEPT ALL TABLE ft.back) a)
         + (SELECT count(*) FROM (TABLE ft.back EXCEPT ALL TABLE ft.src) b) INTO n;
    UPDATE ft.rt SET read = rd, differs = n WHERE fmt = r.fmt AND suffix IS NOT DISTINCT FROM r.suffix;
  END LOOP;
END $$;
SELECT * FROM rt ORDER BY array_position(ARRAY['csv', 'tsv', 'json', 'ndjson'], fmt), suffix NULLS FIRST;

-- what the files hold, read back by gzip(1) and zstd(1)
\! gzip -dc "$FT_DIR/rt.csv.gz" | head -4
\! zstd -dcq "$FT_DIR/rt.tsv.zst" | head -3
\! gzip -dc "$FT_DIR/rt.ndjson.gz" | head -1
\! gzip -t "$FT_DIR/rt.json.gz" && zstd -tq "$FT_DIR/rt.json.zst" && echo "gzip and zstd check the compressed files"

-- files compressed by gzip(1) and zstd(1): detected by their magic bytes, whatever the name
\! (echo id,label; seq 1 1000 | sed 's/.*/&,row &/') > "$FT_DIR/in.csv"
\! gzip -c "$FT_DIR/in.csv" > "$FT_DIR/in.csv.gz" && zstd -q -c "$FT_DIR/in.csv" > "$FT_DIR/in.csv.zst"
\! cp "$FT_DIR/in.csv.gz" "$FT_DIR/gzip_without_suffix.csv"
\! (gzip -c "$FT_DIR/in.csv"; printf '1001,row 1001\n' | gzip -c) > "$FT_DIR/two_members.csv.gz"
\! (zstd -q -c "$FT_DIR/in.csv"; printf '1001,row 1001\n1002,row 1002\n' | zstd -q -c) > "$FT_DIR/two_frames.csv.zst"
SELECT f AS file, pg_temp.written(format($c${"pipeline": {"id": "ft_c", "sources": [{"id": "s", "type": "file", "path": "metaetl_ft/%s",
         "format": "csv", "columns": {"id": "int"}}], "targets": [{"id": "t", "table": "ft.compressed"}]}}$c$, f)) AS rows
  FROM unnest(ARRAY['in.csv.gz', 'in.csv.zst', 'gzip_without_suffix.csv', 'two_members.csv.gz', 'two_frames.csv.zst']) f;
SELECT count(*), sum(id), max(label) FROM compressed;

-- csv and tsv options: skip_rows, delimiter, quote, null; tsv without a header; encoding on write
\! printf 'exported by a tool\n\nid|name|score\n1|'"'"'a|b'"'"'|-\n2|\\N|2.5\n' > "$FT_DIR/opts.csv"
SELECT pg_temp.written($${"pipeline": {"id": "ft_o", "sources": [{"id": "s", "type": "file", "path": "metaetl_ft/opts.csv",
  "options": {"skip_rows": 2, "delimiter": "|", "quote": "'", "null": "-"}, "columns": {"score": "numeric"}}],
  "targets": [{"id": "t", "table": "ft.opts"}]}}$$);
SELECT * FROM opts ORDER BY id;
\! printf '7\tx\\ty\n8\t\\N\n' > "$FT_DIR/noheader.tsv"
SELECT pg_temp.written($${"pipeline": {"id": "ft_o", "sources": [{"id": "s", "type": "file", "path": "metaetl_ft/noheader.tsv",
  "header": false, "columns": ["id int", "v text"]}], "targets": [{"id": "t", "table": "ft.tsv_noheader"}]}}$$);
SELECT id, v, v IS NULL AS is_null FROM tsv_noheader ORDER BY id;
SELECT pg_temp.written($${"pipeline": {"id": "ft_o", "sources": [{"id": "s", "type": "postgresql", "query": "SELECT 1 AS id, 'Zoë' AS name"}],
  "targets": [{"id": "t", "type": "file", "path": "metaetl_ft/latin1.csv", "options": {"encoding": "LATIN1", "header": false}}]}}$$);
SELECT octet_length(pg_read_binary_file('metaetl_ft/latin1.csv')) AS latin1_bytes,
       convert_from(pg_read_binary_file('metaetl_ft/latin1.csv'), 'LATIN1') AS text;

-- json and ndjson: columns inferred from the first 100 objects (keys in the order
-- first seen; numbers numeric, booleans boolean, objects and arrays jsonb, mixed text)
\! printf '[\n {"id": 1, "tags": ["a"], "price": 1.5, "ok": true},\n {"id": 2, "price": "n/a", "extra": {"x": 1}, "ok": false}\n]\n' > "$FT_DIR/infer.json"
SELECT pg_temp.written($${"pipeline": {"id": "ft_j", "sources": [{"id": "s", "type": "file", "path": "metaetl_ft/infer.json"}],
  "targets": [{"id": "t", "table": "ft.inferred"}]}}$$);
SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute
 WHERE attrelid = 'ft.inferred'::regclass AND attnum > 0 ORDER BY attnum;
SELECT * FROM inferred ORDER BY id;
-- a key first seen after object 100 is not a column; blank lines are skipped
\! (seq 1 100 | sed 's/.*/{"id": &}/'; echo '{"id": 101, "late": "x"}'; echo) > "$FT_DIR/late.ndjson"
SELECT pg_temp.written($${"pipeline": {"id": "ft_j", "sources": [{"id": "s", "type": "file", "path": "metaetl_ft/late.ndjson"}],
  "targets": [{"id": "t", "table": "ft.late"}]}}$$);
SELECT string_agg(attname, ', ') AS columns FROM pg_attribute WHERE attrelid = 'ft.late'::regclass AND attnum > 0;

-- several files: a directory and a pattern, or a glob; name order; file_column
\! printf 'id,v\n1,one\n' > "$FT_DIR/multi/part1.csv" && printf 'id,v\n2,two\n3,three\n' > "$FT_DIR/multi/part2.csv"
\! printf 'id,v\n4,four\n' | gzip > "$FT_DIR/multi/part3.csv.gz" && echo 'not data' > "$FT_DIR/multi/readme.txt"
SELECT pg_temp.written($${"pipeline": {"id": "ft_m", "sources": [{"id": "s", "type": "file", "path": "metaetl_ft/multi",
  "pattern": "part*.csv*", "file_column": "src_file", "columns": {"id": "int"}}], "targets": [{"id": "t", "table": "ft.multi"}]}}$$);
SELECT src_file, count(*), string_agg(v, ', ' ORDER BY id) FROM multi GROUP BY src_file ORDER BY src_file;
SELECT pg_temp.written($${"pipeline": {"id": "ft_m", "sources": [{"id": "s", "type": "file", "path": "metaetl_ft/multi/part?.csv",
  "file_column": "src_file"}], "targets": [{"id": "t", "table": "ft.globbed"}]}}$$);
SELECT src_file, v FROM globbed ORDER BY id;

-- errors; each one leaves the target table as it was (checked after the list)
CREATE TABLE keep AS SELECT 1 AS id, 'kept'::text AS v;
\! printf 'id,name\n1,a\n' > "$FT_DIR/mismatch/a.csv" && printf 'id,nome\n2,b\n' > "$FT_DIR/mismatch/b.csv"
\! printf 'id,name,extra\n3,c,t\n' > "$FT_DIR/mismatch/c.csv"
\! printf 'id,v\n1,a\n2,b\nx3,c\n' > "$FT_DIR/badvalue.csv" && printf '1,a\n2,b,extra\n' > "$FT_DIR/ragged.csv"
\! printf '\037\213\010\000\000\000\000\000\000\003garbage that is not deflate' > "$FT_DIR/corrupt.csv.gz"
\! head -c 200 "$FT_DIR/in.csv.zst" > "$FT_DIR/truncated.csv.zst"
\! printf '[{"id": 1},\n {"id": 2 "v": 3}]' > "$FT_DIR/badsyntax.json"
\! printf '{"id": 1}' > "$FT_DIR/object.json"
\! printf '[{"id": 1}, 2]' > "$FT_DIR/scalar.json"
\! printf '[{"id": 1},' > "$FT_DIR/cut.json"
\! printf '{"id": 1}\n[1, 2]\n' > "$FT_DIR/array_line.ndjson"
\! printf '{"id": "x"}\n{"id": "2"}\n' > "$FT_DIR/badvalue.ndjson"
\! printf 'id,id\n1,2\n' > "$FT_DIR/dupheader.csv"
\! : > "$FT_DIR/empty.csv"
\! printf 'no suffix\n' > "$FT_DIR/README"
SELECT e AS case, pg_temp.run(format($c${"pipeline": {"id": "ft_e", "sources": [%s], "targets": [{"id": "t", "table": "ft.keep"}]}}$c$, s)) AS result
  FROM (VALUES
   ('missing file', '{"id": "s", "type": "file", "path": "metaetl_ft/nope.csv"}'),
   ('glob matches nothing', '{"id": "s", "type": "file", "path": "metaetl_ft/nope*.csv"}'),
   ('empty directory', '{"id": "s", "type": "file", "path": "metaetl_ft/empty", "pattern": "*.csv"}'),
   ('pattern on a file', '{"id": "s", "type": "file", "path": "metaetl_ft/in.csv", "pattern": "*.csv"}'),
   ('columns differ by name', '{"id": "s", "type": "file", "path": "metaetl_ft/mismatch", "pattern": "[ab].csv"}'),
   ('columns differ in number', '{"id": "s", "type": "file", "path": "metaetl_ft/mismatch", "pattern": "[ac].csv"}'),
   ('a value that does not convert', '{"id": "s", "type": "file", "path": "metaetl_ft/badvalue.csv", "columns": {"id": "int"}}'),
   ('a line with too many fields', '{"id": "s", "type": "file", "path": "metaetl_ft/ragged.csv", "header": false, "columns": ["id int", "v text"]}'),
   ('corrupt gzip', '{"id": "s", "type": "file", "path": "metaetl_ft/corrupt.csv.gz"}'),
   ('truncated zstd', '{"id": "s", "type": "file", "path": "metaetl_ft/truncated.csv.zst"}'),
   ('invalid JSON', '{"id": "s", "type": "file", "path": "metaetl_ft/badsyntax.json"}'),
   ('json that is not an array', '{"id": "s", "type": "file", "path": "metaetl_ft/object.json"}'),
   ('an element that is not an object', '{"id": "s", "type": "file", "path": "metaetl_ft/scalar.json"}'),
   ('a truncated array', '{"id": "s", "type": "file", "path": "metaetl_ft/cut.json"}'),
   ('an ndjson line that is not an object', '{"id": "s", "type": "file", "path": "metaetl_ft/array_line.ndjson"}'),
   ('an ndjson value that does not convert', '{"id": "s", "type": "file", "path": "metaetl_ft/badvalue.ndjson", "columns": {"id": "int"}}'),
   ('a repeated header name', '{"id": "s", "type": "file", "path": "metaetl_ft/dupheader.csv"}'),
   ('an empty csv file', '{"id": "s", "type": "file", "path": "metaetl_ft/empty.csv"}'),
   ('a name without a known suffix', '{"id": "s", "type": "file", "path": "metaetl_ft/README"}'),
   ('an unknown format', '{"id": "s", "type": "file", "path": "metaetl_ft/in.csv", "format": "xml"}'),
   ('a bad option value', '{"id": "s", "type": "file", "path": "metaetl_ft/in.csv", "options": {"delimiter": "||"}}')) v(e, s);
SELECT * FROM keep;

-- targets: an error while writing leaves the old file (and no temporary file)
SELECT pg_temp.written($${"pipeline": {"id": "ft_t", "sources": [{"id": "s", "type": "postgresql", "query": "SELECT 1 AS id"}],
  "targets": [{"id": "t", "type": "file", "path": "metaetl_ft/target.ndjson"}]}}$$);
SELECT pg_temp.run($${"pipeline": {"id": "ft_t", "sources": [{"id": "s", "type": "postgresql",
  "query": "SELECT g AS id, 10 / (3000 - g) AS v FROM generate_series(1, 5000) g"}],
  "targets": [{"id": "t", "type": "file", "path": "metaetl_ft/target.ndjson"}]}}$$);
SELECT pg_read_file('metaetl_ft/target.ndjson') AS still_the_old_file;
-- ... and so does a run that fails after the file target loaded (the table target
-- after it cannot take the rows): the file is replaced only when the run commits
CREATE TABLE narrow (id int2);
SELECT pg_temp.run($${"pipeline": {"id": "ft_t", "sources": [{"id": "s", "type": "postgresql", "query": "SELECT 100000 AS id"}],
  "targets": [{"id": "t", "type": "file", "path": "metaetl_ft/target.ndjson"}, {"id": "n", "table": "ft.narrow"}]}}$$);
SELECT pg_read_file('metaetl_ft/target.ndjson') AS still_the_old_file;
SELECT count(*) AS temporary_files FROM pg_ls_dir('metaetl_ft') f WHERE f LIKE '%.tmp' OR f LIKE '%.pending';
SELECT e AS case, pg_temp.run(format($c${"pipeline": {"id": "ft_e", "sources": [{"id": "s", "type": "postgresql", "query": "SELECT 1 AS id"}],
         "targets": [%s]}}$c$, t)) AS result
  FROM (VALUES
   ('a read-only format', '{"id": "t", "type": "file", "path": "metaetl_ft/out.xlsx"}'),
   ('no format from the name', '{"id": "t", "type": "file", "path": "metaetl_ft/out.dat"}'),
   ('a missing directory', '{"id": "t", "type": "file", "path": "metaetl_ft/no/such/dir/out.csv"}'),
   ('mode append', '{"id": "t", "type": "file", "path": "metaetl_ft/out.csv", "mode": "append"}')) v(e, t);

-- validation knows the vocabulary: options per format, compression, legacy types
-- (the sources feed no target here: those warnings are left out)
SELECT path, message FROM etl.validate_config($$
pipeline:
  id: ft_v
  sources:
    - {id: a, type: file, path: /data/a.csv, options: {sheet: 2, delimter: ";"}}
    - {id: b, type: file, path: /data/b.xlsx, options: {sheet: Prices, header: yes, skip_rows: "2"}}
    - {id: c, type: file, path: "/data/*.json", compression: bzip2}
    - {id: d, type: csv, path: /data/d.csv, format: json}
    - {id: e, type: file, path: /data/e.parquet.gz, format: jpeg}
    - {id: f, type: file, path: /data/f.tsv, options: {quote: "'", delimiter: "|", skip_rows: 1}}
    - {id: g, type: json, path: /data/g.json, options: {encodng: LATIN1}}
    - {id: h, type: file, path: /data/h.ndjson, options: {header: true, encoding: UTF8}}
    - {id: i, type: file, path: /data/i.csv, options: {header: true, delimiter: ";", quote: "'", escape: "\\", null: NA, encoding: LATIN1, skip_rows: 2}}
  targets:
    - {id: t, type: file, path: /data/out.xlsx, input: a}
    - {id: u, type: file, path: /data/out.bin, input: b}
$$) WHERE message NOT LIKE '%does not feed any target%' ORDER BY path, message;

-- without pg_read_server_files / pg_write_server_files: a clear error before any file is touched
CREATE ROLE ft_user;
GRANT USAGE, CREATE ON SCHEMA ft TO ft_user;
GRANT USAGE ON SCHEMA etl TO ft_user;
SET ROLE ft_user;
SELECT pg_temp.run($${"pipeline": {"id": "ft_p", "sources": [{"id": "s", "type": "file", "path": "metaetl_ft/multi", "pattern": "*.csv"}],
  "targets": [{"id": "t", "table": "ft.by_user"}]}}$$);
SELECT pg_temp.run($${"pipeline": {"id": "ft_p", "sources": [{"id": "s", "type": "postgresql", "query": "SELECT 1 AS id"}],
  "targets": [{"id": "t", "type": "file", "path": "metaetl_ft/by_user.csv.gz"}]}}$$);
RESET ROLE;
SELECT count(*) AS by_user_files FROM pg_ls_dir('metaetl_ft') f WHERE f LIKE 'by_user%';

RESET search_path;
DROP SCHEMA ft CASCADE;
REVOKE USAGE ON SCHEMA etl FROM ft_user;
DROP ROLE ft_user;
\! rm -rf "$FT_DIR"
