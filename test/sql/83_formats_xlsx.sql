-- 83_formats_xlsx: reading Excel workbooks (format xlsx) written by two
-- independent writers, python3-xlsxwriter and python3-openpyxl
-- (test/fixtures/xlsx_fixtures.py): every cell kind, both date systems,
-- sheets by name and number, hidden sheets, empty rows, header rows that
-- do not start in A1, typed columns, several workbooks in one source, and
-- the files that are not .xlsx workbooks.  openpyxl also reads kinds.xlsx
-- back, and metaetl must agree with it.
\set VERBOSITY default
\set SHOW_CONTEXT never
\pset pager off
SET client_min_messages = warning;
SET datestyle = ISO;
CREATE SCHEMA fx;
SET search_path = fx, public;

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
-- read one source (a JSON object) into table fx.<tab>: rows written, or the error
CREATE FUNCTION pg_temp.load(src text, tab text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('DROP TABLE IF EXISTS fx.%I', tab);
  RETURN pg_temp.err(format('SELECT etl.execute_plan(%L::jsonb)',
    format('{"pipeline": {"id": "fx", "sources": [%s], "targets": [{"id": "t", "table": "fx.%s"}]}}', src, tab)));
END $$;
CREATE FUNCTION pg_temp.cols(tab text) RETURNS text LANGUAGE sql AS $$
  SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod), ', ' ORDER BY attnum)
    FROM pg_attribute WHERE attrelid = ('fx.' || tab)::regclass AND attnum > 0 $$;

SELECT current_setting('data_directory') || '/metaetl_fx' AS dir \gset
\setenv FX_DIR :dir
\! rm -rf "$FX_DIR" && mkdir -p "$FX_DIR/many" && /usr/bin/python3 test/fixtures/xlsx_fixtures.py "$FX_DIR"

-- every kind of cell (xlsxwriter: shared strings, rich text, cached formula
-- results); error cells as NULL; the empty row 4 is skipped
SELECT pg_temp.load('{"id": "s", "type": "file", "path": "metaetl_fx/kinds.xlsx", "options": {"cell_errors": "null"}}', 'kinds');
SELECT pg_temp.cols('kinds');
SELECT * FROM kinds ORDER BY id;
-- ... which is what openpyxl reads too (times to the millisecond, Excel's precision)
CREATE TABLE expected (id int, name text, price numeric, qty numeric, day timestamp, at timestamp,
                       t time, ok boolean, calc text, err text, note text);
SELECT :'dir' || '/kinds_expected.csv' AS expected_csv \gset
COPY expected FROM :'expected_csv' WITH (FORMAT csv, HEADER);
SELECT count(*) AS rows_openpyxl_reads,
       count(*) FILTER (WHERE k.id IS NOT NULL AND e.name IS NOT DISTINCT FROM k.name AND e.price IS NOT DISTINCT FROM k.price
         AND e.qty IS NOT DISTINCT FROM k.qty AND e.day::date IS NOT DISTINCT FROM k.day
         AND abs(extract(epoch FROM e.at - k.at)) < 0.001 IS NOT FALSE AND e.t IS NOT DISTINCT FROM k.t
         AND e.ok IS NOT DISTINCT FROM k.ok AND e.calc IS NOT DISTINCT FROM k.calc
         AND e.note IS NOT DISTINCT FROM nullif(k.note, '')) AS rows_metaetl_agrees_with
  FROM expected e LEFT JOIN kinds k USING (id);

-- by default an error cell stops the read, naming it
SELECT pg_temp.load('{"id": "s", "type": "file", "path": "metaetl_fx/kinds.xlsx"}', 'kinds_err');

-- typed columns: types by header name (others inferred), or in sheet order without a header
SELECT pg_temp.load('{"id": "s", "type": "file", "path": "metaetl_fx/kinds.xlsx", "options": {"cell_errors": "null"},
  "columns": {"id": "int", "price": "numeric(12,2)", "at": "timestamptz", "calc": "text", "ok": "text"}}', 'typed');
SELECT pg_temp.cols('typed');
SELECT id, price, at, ok FROM typed ORDER BY id;
SELECT pg_temp.load('{"id": "s", "type": "file", "path": "metaetl_fx/kinds.xlsx", "options": {"sheet": "Notes", "header": false},
  "columns": ["n text", "label text"]}', 'noheader');
SELECT * FROM noheader;

-- sheets: by name (any case), by number in workbook order (hidden ones count), or an error listing them
SELECT pg_temp.load('{"id": "s", "type": "file", "path": "metaetl_fx/kinds.xlsx", "options": {"sheet": "notes"}}', 'notes');
SELECT * FROM notes;
SELECT pg_temp.load('{"id": "s", "type": "file", "path": "metaetl_fx/kinds.xlsx", "options": {"sheet": 2}}', 'hidden');
SELECT * FROM hidden;
SELECT pg_temp.load('{"id": "s", "type": "file", "path": "metaetl_fx/kinds.xlsx", "options": {"sheet": "Summary"}}', 'x');
SELECT pg_temp.load('{"id": "s", "type": "file", "path": "metaetl_fx/kinds.xlsx", "options": {"sheet": 4}}', 'x');

-- openpyxl's inline strings and its date formats; the 1904 date system; a header in B3
SELECT pg_temp.load('{"id": "s", "type": "file", "path": "metaetl_fx/inline.xlsx"}', 'inline');
SELECT pg_temp.cols('inline');
SELECT * FROM inline ORDER BY id;
SELECT pg_temp.load('{"id": "s", "type": "file", "path": "metaetl_fx/d1904.xlsx"}', 'd1904');
SELECT * FROM d1904;
SELECT pg_temp.load('{"id": "s", "type": "file", "path": "metaetl_fx/wide.xlsx", "options": {"skip_rows": 1}}', 'wide');
SELECT * FROM wide;

-- several workbooks in one source, in name order, with the file's name
\! cp "$FX_DIR/d1904.xlsx" "$FX_DIR/many/b.xlsx" && cp "$FX_DIR/d1904.xlsx" "$FX_DIR/many/a.xlsx" && cp "$FX_DIR/wide.xlsx" "$FX_DIR/many/c.xlsx"
SELECT pg_temp.load('{"id": "s", "type": "file", "path": "metaetl_fx/many/[ab].xlsx", "file_column": "book"}', 'many');
SELECT book, d, v FROM many ORDER BY book, v;
SELECT pg_temp.load('{"id": "s", "type": "file", "path": "metaetl_fx/many", "pattern": "*.xlsx"}', 'x');

-- errors: a value that does not convert, and files that are not .xlsx workbooks
\! gzip -c "$FX_DIR/kinds.xlsx" > "$FX_DIR/kinds.xlsx.gz"
SELECT e AS case, pg_temp.load(s, 'x') AS result FROM (VALUES
  ('a value that does not convert', '{"id": "s", "type": "file", "path": "metaetl_fx/kinds.xlsx", "options": {"cell_errors": "null"}, "columns": {"name": "int"}}'),
  ('a truncated workbook', '{"id": "s", "type": "file", "path": "metaetl_fx/corrupt.xlsx"}'),
  ('a damaged sheet', '{"id": "s", "type": "file", "path": "metaetl_fx/flipped.xlsx"}'),
  ('an old binary .xls', '{"id": "s", "type": "file", "path": "metaetl_fx/old.xls"}'),
  ('text named .xls', '{"id": "s", "type": "file", "path": "metaetl_fx/text.xls"}'),
  ('text named .xlsx', '{"id": "s", "type": "file", "path": "metaetl_fx/notzip.xlsx"}'),
  ('an encrypted workbook', '{"id": "s", "type": "file", "path": "metaetl_fx/encrypted.xlsx"}'),
  ('a compressed workbook', '{"id": "s", "type": "file", "path": "metaetl_fx/kinds.xlsx.gz"}'),
  ('a bad cell_errors', '{"id": "s", "type": "file", "path": "metaetl_fx/kinds.xlsx", "options": {"cell_errors": "skip"}}'),
  ('no header, no columns', '{"id": "s", "type": "file", "path": "metaetl_fx/kinds.xlsx", "options": {"header": false}}')) v(e, s);
SELECT to_regclass('fx.x') AS no_table_was_left;

-- options: keys are the xlsx format's own: a misspelt or unknown one, or a
-- value of the wrong kind, is refused by validation at its path
SELECT path, message FROM etl.validate_config($$
pipeline:
  id: fx_v
  sources:
    - {id: a, type: file, path: /data/a.xlsx, options: {sheets: Prices, header: true}}
    - {id: b, type: file, path: /data/b.xlsx, options: {sheet: 2, header: "yes", skip_rows: 1, cell_errors: "null", delimiter: ";"}}
    - {id: c, type: file, path: /data/c.xlsx, options: {sheet: Prices, header: false, skip_rows: 2, cell_errors: "null"}}
  targets:
    - {id: t, type: postgresql, table: fx.t, input: a}
    - {id: u, type: postgresql, table: fx.u, input: b}
    - {id: w, type: postgresql, table: fx.w, input: c}
$$) ORDER BY path, message;
SELECT etl.register_pipeline($$
pipeline:
  id: fx_v
  sources:
    - {id: a, type: file, path: /data/a.xlsx, options: {sheets: Prices}}
  targets:
    - {id: t, type: postgresql, table: fx.t}
$$) IS NOT NULL AS registered;

RESET search_path;
DROP SCHEMA fx CASCADE;
\! rm -rf "$FX_DIR"
