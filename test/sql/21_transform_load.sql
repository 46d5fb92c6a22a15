-- 21_transform_load: table targets in every load mode (append, replace,
-- upsert, delete_insert, scd2), failing loads leaving the target exactly as
-- it was, and hostile names everywhere.
\set VERBOSITY default
\set SHOW_CONTEXT never
\pset pager off
SET client_min_messages = warning;
CREATE SCHEMA tl;
SET search_path = tl, public;

CREATE FUNCTION pg_temp.err(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE s text; m text; h text;
BEGIN
  EXECUTE q;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS s = RETURNED_SQLSTATE, m = MESSAGE_TEXT, h = PG_EXCEPTION_HINT;
  RETURN s || ': ' || m || coalesce(' | hint: ' || nullif(h, ''), '');
END $$;
-- rows in a but not in b plus rows in b but not in a (0 = identical, duplicates counted)
CREATE FUNCTION pg_temp.diff(a text, b text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
  EXECUTE format('SELECT (SELECT count(*) FROM (TABLE %s EXCEPT ALL TABLE %s) x) + (SELECT count(*) FROM (TABLE %s EXCEPT ALL TABLE %s) y)', a, b, b, a) INTO n;
  RETURN n;
END $$;

CREATE TABLE src (id int, name text, city text);
INSERT INTO src VALUES (2, 'B', 'y'), (3, 'c', 'z');
CREATE TABLE dim (id int PRIMARY KEY, name text, city text, loaded_at timestamptz DEFAULT now());
INSERT INTO dim (id, name, city) VALUES (1, 'a', 'x'), (2, 'b', 'y');

-- upsert: MERGE on keys; only changed rows are updated
SELECT r->'rows' AS rows, r->'targets'->0->>'mode' AS mode
  FROM etl.execute_transformations('tl.src', '{"steps": [], "mode": "upsert", "keys": ["id"]}', 'tl.dim') r;
SELECT id, name, city FROM dim ORDER BY id;
SELECT r->'rows' AS unchanged_rows_not_rewritten
  FROM etl.execute_transformations('tl.src', '{"steps": [], "mode": "upsert", "keys": ["id"]}', 'tl.dim') r;
SELECT pg_temp.err($$SELECT etl.execute_transformations('tl.src', '{"steps": [], "mode": "upsert"}', 'tl.dim')$$);
SELECT pg_temp.err($$SELECT etl.execute_transformations('tl.src', '{"steps": [], "mode": "upsert", "keys": ["idd"]}', 'tl.dim')$$);

-- append: a failing append (duplicate key) leaves the target as it was, row for row
CREATE TEMP TABLE before_dim AS SELECT id, name, city FROM dim;
CREATE TEMP VIEW dim_now AS SELECT id, name, city FROM tl.dim;
SELECT pg_temp.err($$SELECT etl.execute_transformations('tl.src', '{"steps": [], "mode": "append"}', 'tl.dim')$$);
SELECT pg_temp.diff('before_dim', 'dim_now') AS rows_changed;
SELECT r->'rows' AS rows FROM etl.execute_transformations(
  'SELECT 4 AS id, ''d'' AS name, ''w'' AS city', '{"steps": [], "mode": "append"}', 'tl.dim') r;
SELECT id, name, city, loaded_at IS NOT NULL AS default_filled FROM dim ORDER BY id;

-- delete_insert: rows with the incoming keys are replaced, others stay
SELECT r->'rows' AS rows FROM etl.execute_transformations(
  'SELECT 4 AS id, ''D'' AS name, ''w2'' AS city UNION ALL SELECT 5, ''e'', ''v''',
  '{"steps": [], "mode": "delete_insert", "keys": ["id"]}', 'tl.dim') r;
SELECT id, name, city FROM dim ORDER BY id;
-- errors: no keys; a delete_insert whose insert fails (NULL into the key) keeps every row
SELECT pg_temp.err($$SELECT etl.execute_transformations('tl.src', '{"steps": [], "mode": "delete_insert"}', 'tl.dim')$$);
TRUNCATE before_dim;
INSERT INTO before_dim SELECT id, name, city FROM dim;
SELECT pg_temp.err($$SELECT etl.execute_transformations('SELECT 4 AS id, ''x'' AS name, ''q'' AS city UNION ALL SELECT NULL, ''y'', ''q''', '{"steps": [], "mode": "delete_insert", "keys": ["id"]}', 'tl.dim')$$);
SELECT pg_temp.diff('before_dim', 'dim_now') AS rows_changed;
-- an upsert whose source repeats a key fails as a whole
SELECT pg_temp.err($$SELECT etl.execute_transformations('SELECT 4 AS id, ''x'' AS name, ''q'' AS city UNION ALL SELECT 4, ''y'', ''q''', '{"steps": [], "mode": "upsert", "keys": ["id"]}', 'tl.dim')$$);
SELECT pg_temp.diff('before_dim', 'dim_now') AS rows_changed;

-- replace: the table keeps its indexes and defaults; rows are exactly the result
SELECT r->'rows' AS rows FROM etl.execute_transformations('tl.src', '{"steps": [], "mode": "replace"}', 'tl.dim') r;
SELECT id, name, city FROM dim ORDER BY id;
SELECT count(*) AS indexes_kept FROM pg_index WHERE indrelid = 'tl.dim'::regclass;
-- a replace that fails half-way (a duplicate key) leaves every old row in place
TRUNCATE before_dim;
INSERT INTO before_dim SELECT id, name, city FROM dim;
SELECT pg_temp.err($$SELECT etl.execute_transformations('SELECT 7 AS id, ''x'' AS name, ''q'' AS city UNION ALL SELECT 7, ''y'', ''q''', '{"steps": [], "mode": "replace"}', 'tl.dim')$$);
SELECT pg_temp.diff('before_dim', 'dim_now') AS rows_changed;
-- a replace that reads its own target sees the old rows
SELECT r->'rows' AS rows FROM etl.execute_transformations('tl.dim',
  '{"steps": [{"type": "map", "params": {"columns": {"name": "name || ''+''"}}}, {"type": "select", "params": {"columns": ["id", "name", "city"]}}], "mode": "replace"}', 'tl.dim') r;
SELECT id, name, city FROM dim ORDER BY id;

-- a missing table is created from the result's types, unless create: false
SELECT r->'rows' AS rows FROM etl.execute_transformations('tl.src', '{"steps": []}', 'tl.created') r;
SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute
 WHERE attrelid = 'tl.created'::regclass AND attnum > 0 ORDER BY attnum;
SELECT pg_temp.err($$SELECT etl.execute_transformations('tl.src', '{"steps": [], "create": false}', 'tl.nosuch')$$);
SELECT pg_temp.err($$SELECT etl.execute_transformations('tl.src', '{"steps": [], "mode": "merge"}', 'tl.dim')$$);
SELECT pg_temp.err($$SELECT etl.execute_transformations('SELECT 1 AS id, 2 AS extra', '{"steps": [], "mode": "append"}', 'tl.dim')$$);
SELECT pg_temp.err($$SELECT etl.execute_transformations('tl.src', '{"steps": []}', 'tl.a.b.c')$$);

-- scd2: change detection on tracked columns, history kept, deletes optionally closed
CREATE TABLE hist (id int, name text, city text, valid_from timestamptz, valid_to timestamptz, is_current boolean);
CREATE UNIQUE INDEX ON hist (id) WHERE is_current;
SELECT r->'rows' AS rows FROM etl.execute_transformations('tl.src',
  '{"steps": [], "mode": "scd2", "keys": ["id"], "tracked_columns": ["name"]}', 'tl.hist') r;
UPDATE src SET name = 'BB' WHERE id = 2;   -- tracked: new version
UPDATE src SET city = 'zz' WHERE id = 3;   -- untracked: no new version
INSERT INTO src VALUES (4, 'd', 'w');      -- new key
SELECT r->'rows' AS rows FROM etl.execute_transformations('tl.src',
  '{"steps": [], "mode": "scd2", "keys": ["id"], "tracked_columns": ["name"]}', 'tl.hist') r;
SELECT id, name, city, valid_to IS NULL AS open, is_current, valid_from IS NOT NULL AS has_from
  FROM hist ORDER BY id, is_current;
DELETE FROM src WHERE id = 3;
SELECT r->'rows' AS rows FROM etl.execute_transformations('tl.src',
  '{"steps": [], "mode": "scd2", "keys": ["id"]}', 'tl.hist') r;
SELECT id, name, is_current FROM hist ORDER BY id, is_current;
SELECT r->'rows' AS rows FROM etl.execute_transformations('tl.src',
  '{"steps": [], "mode": "scd2", "keys": ["id"], "close_deleted": true}', 'tl.hist') r;
SELECT id, name, valid_to IS NULL AS open, is_current FROM hist ORDER BY id, is_current;
-- created when missing, with the three scd2 columns
SELECT r->'rows' AS rows FROM etl.execute_transformations('tl.src', '{"steps": [], "mode": "scd2", "keys": ["id"]}', 'tl.hist2') r;
SELECT id, name, city, valid_to IS NULL AS open, is_current FROM hist2 ORDER BY id;
SELECT pg_temp.err($$SELECT etl.execute_transformations('tl.src', '{"steps": [], "mode": "scd2", "keys": ["id"]}', 'tl.src')$$);
SELECT pg_temp.err($$SELECT etl.execute_transformations('tl.src', '{"steps": [], "mode": "scd2", "keys": ["id"], "tracked_columns": ["nam"]}', 'tl.hist')$$);

-- hostile names: tables, columns, step ids and values are quoted, never pasted
CREATE TABLE "x" (keep int);
CREATE TABLE "a""; DROP TABLE x; --" ("b""; DROP TABLE x; --" int, v text);
INSERT INTO "a""; DROP TABLE x; --" VALUES (1, 'q'), (2, NULL), (-1, 'neg');
SELECT r->'rows' AS rows FROM etl.execute_transformations('tl."a""; DROP TABLE x; --"',
  $${"steps": [
     {"id": "s\"; DROP TABLE x; --", "type": "filter", "params": {"condition": "\"b\"\"; DROP TABLE x; --\" > 0"}},
     {"type": "map", "params": {"mapping": {"b\"; DROP TABLE x; --": "c'); DROP TABLE x; --"}}},
     {"type": "fill_null", "params": {"values": {"v": "x'); DROP TABLE x; --"}}}],
    "mode": "upsert", "keys": ["c'); DROP TABLE x; --"]}$$,
  'tl."t""; DROP TABLE x; --"') r;
SELECT * FROM "t""; DROP TABLE x; --" ORDER BY 1;
SELECT to_regclass('tl.x') IS NOT NULL AS x_still_exists;
SELECT pg_temp.err($$SELECT etl.execute_transformations('tl.src', '{"steps": []}', 'a"; DROP TABLE tl.x; --')$$);
SELECT to_regclass('tl.x') IS NOT NULL AS x_still_exists;

RESET search_path;
DROP SCHEMA tl CASCADE;
