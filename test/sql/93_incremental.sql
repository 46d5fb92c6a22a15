-- 93_incremental: incremental sources (timestamp with tie-breaker, id, xmin),
-- positions advancing with the load (etl.incremental_state,
-- etl.reset_incremental), validation of the incremental vocabulary, and who
-- may read or change positions.
\set VERBOSITY default
CREATE ROLE incr_alice LOGIN;
CREATE ROLE incr_bob LOGIN;
CREATE SCHEMA inc AUTHORIZATION incr_alice;
SET ROLE incr_alice;
CREATE TABLE inc.customers (id int PRIMARY KEY, name text, region text,
                            updated_at timestamptz NOT NULL);
-- three rows share one timestamp
INSERT INTO inc.customers VALUES
  (1, 'ann', 'north', '2026-01-01 10:00+00'), (2, 'bo', 'south', '2026-01-01 10:00+00'),
  (3, 'cy', 'north', '2026-01-01 10:00+00');
CREATE TABLE inc.dim (id int PRIMARY KEY, name text CHECK (name <> 'bad'), region text,
                      updated_at timestamptz);

SELECT etl.register_pipeline($$
pipeline:
  id: incr_ts
  sources:
    - id: customers
      type: postgresql
      table: inc.customers
      incremental: {mode: timestamp, column: updated_at, tie_breaker: id}
  targets:
    - {id: dim, type: postgresql, table: inc.dim, mode: merge_changes, keys: [id]}
$$);

-- 1. the first run reads everything and stores the greatest (updated_at, id)
SELECT r->>'status' AS status, r->>'rows_read' AS rows_read, r->>'rows_written' AS rows_written
  FROM etl.execute_pipeline('incr_ts') r;
SELECT source, mode, "position" - 'rows' AS "position", run_id IS NOT NULL AS has_run
  FROM etl.incremental_state('incr_ts');

-- 2. a row committed later with the same timestamp and a greater id is not
--    lost; an updated row is read once; nothing else is read again
INSERT INTO inc.customers VALUES (4, 'di', 'south', '2026-01-01 10:00+00');
UPDATE inc.customers SET name = 'ann2', updated_at = '2026-01-02 09:00+00' WHERE id = 1;
SELECT r->>'status' AS status, r->>'rows_read' AS rows_read, r->>'rows_written' AS rows_written
  FROM etl.execute_pipeline('incr_ts') r;
SELECT "position"->>'value' AS value, "position"->>'key' AS key FROM etl.incremental_state('incr_ts');
SELECT * FROM inc.dim ORDER BY id;

-- 3. nothing changed: nothing read, the target stays whole, the position stays
SELECT r->>'status' AS status, r->>'rows_read' AS rows_read, r->>'rows_written' AS rows_written
  FROM etl.execute_pipeline('incr_ts') r;
SELECT count(*) AS dim_rows FROM inc.dim;

-- 4. a failing load (the target's check rejects 'bad'): the position does not move
UPDATE inc.customers SET name = 'bad', updated_at = '2026-01-03 09:00+00' WHERE id = 2;
SELECT r->>'status' AS status, r->'error'->>'sqlstate' AS sqlstate
  FROM etl.execute_pipeline('incr_ts') r;
SELECT "position"->>'value' AS value, "position"->>'key' AS key FROM etl.incremental_state('incr_ts');
-- fixed at the source, the next run picks the row up
UPDATE inc.customers SET name = 'bo2' WHERE id = 2;
SELECT r->>'status' AS status, r->>'rows_read' AS rows_read
  FROM etl.execute_pipeline('incr_ts') r;
SELECT id, name FROM inc.dim WHERE id = 2;

-- 5. reset_incremental: the next run reads the source from scratch
SELECT etl.reset_incremental('incr_ts', 'customers');
SELECT count(*) AS positions FROM etl.incremental_state('incr_ts');
SELECT r->>'status' AS status, r->>'rows_read' AS rows_read
  FROM etl.execute_pipeline('incr_ts') r;
SELECT etl.reset_incremental('incr_ts', 'no_such_source');
RESET ROLE;

-- 6. lookback re-reads a window (rows committed late with an older
--    timestamp); the keyed target makes the re-read harmless
SET ROLE incr_alice;
SELECT etl.register_pipeline($$
pipeline:
  id: incr_lookback
  sources:
    - id: customers
      type: postgresql
      query: "SELECT id, name, updated_at FROM inc.customers"
      incremental: {mode: timestamp, column: updated_at, lookback: "2 days"}
  targets:
    - {id: dim, type: postgresql, table: inc.dim_lb, mode: merge_changes, keys: [id]}
$$);
SELECT r->>'status' AS status, r->>'rows_read' AS rows_read FROM etl.execute_pipeline('incr_lookback') r;
-- committed late: its timestamp is older than the newest row already loaded
INSERT INTO inc.customers VALUES (5, 'ed', 'east', '2026-01-02 08:00+00');
SELECT r->>'status' AS status, r->>'rows_read' AS rows_read FROM etl.execute_pipeline('incr_lookback') r;
SELECT id, name FROM inc.dim_lb WHERE id = 5;
SELECT "position"->>'value' AS value FROM etl.incremental_state('incr_lookback');

-- 7. mode id: a monotonic key, exactly once into an append target
CREATE TABLE inc.events (id bigint PRIMARY KEY, payload text);
INSERT INTO inc.events SELECT g, 'e' || g FROM generate_series(1, 5) g;
SELECT etl.register_pipeline($$
pipeline:
  id: incr_id
  sources:
    - {id: events, type: postgresql, table: inc.events, incremental: {mode: id, column: id}}
  targets:
    - {id: log, type: postgresql, table: inc.event_log, mode: append}
$$);
SELECT r->>'rows_written' AS rows_written FROM etl.execute_pipeline('incr_id') r;
INSERT INTO inc.events SELECT g, 'e' || g FROM generate_series(6, 8) g;
SELECT r->>'rows_written' AS rows_written FROM etl.execute_pipeline('incr_id') r;
SELECT r->>'rows_written' AS rows_written FROM etl.execute_pipeline('incr_id') r;
SELECT count(*) AS logged, count(DISTINCT id) AS distinct_ids FROM inc.event_log;

-- 8. mode xmin: a table without a change column; every row version once
CREATE TABLE inc.plain (k int PRIMARY KEY, v text);
INSERT INTO inc.plain VALUES (1, 'a'), (2, 'b');
SELECT etl.register_pipeline($$
pipeline:
  id: incr_xmin
  sources:
    - {id: plain, type: postgresql, table: inc.plain, incremental: {mode: xmin}}
  targets:
    - {id: copy, type: postgresql, table: inc.plain_copy, mode: merge_changes, keys: [k]}
$$);
SELECT r->>'rows_read' AS rows_read FROM etl.execute_pipeline('incr_xmin') r;
SELECT r->>'rows_read' AS rows_read FROM etl.execute_pipeline('incr_xmin') r;
UPDATE inc.plain SET v = 'b2' WHERE k = 2;
INSERT INTO inc.plain VALUES (3, 'c');
SELECT r->>'rows_read' AS rows_read FROM etl.execute_pipeline('incr_xmin') r;
SELECT * FROM inc.plain_copy ORDER BY k;
SELECT mode, "position" ? 'snapshot' AS has_snapshot, (lag->>'xids_behind')::int >= 0 AS lag_known
  FROM etl.incremental_state('incr_xmin');
RESET ROLE;

-- 9. what a plain role may do with positions: bob sees none of alice's,
--    cannot forge one, nor read or reset alice's through the functions
SET ROLE incr_bob;
SELECT count(*) AS visible_positions FROM etl.incremental_positions;
INSERT INTO etl.incremental_positions (pipeline_id, source_id, mode, position)
VALUES ('incr_ts', 'customers', 'timestamp', '{"value": "infinity"}');
UPDATE etl.incremental_positions SET position = '{}';
SELECT * FROM etl.incremental_state('incr_ts');
SELECT etl.reset_incremental('incr_ts', 'customers');
SELECT * FROM etl.incremental_state('no_such_pipeline');
RESET ROLE;
SET ROLE incr_alice;
SELECT count(*) AS own_positions FROM etl.incremental_positions;
RESET ROLE;

-- 10. validation: every problem of the incremental vocabulary, with its path and line
SELECT severity, path, line, message FROM etl.validate_config($$
pipeline:
  id: incr_bad
  sources:
    - id: a
      type: postgresql
      table: inc.customers
      incremental: {mode: sometimes}
    - id: b
      type: postgresql
      query: "SELECT 1 AS x"
      incremental: {mode: xmin}
    - id: c
      type: postgresql
      table: inc.customers
      incremental: {mode: id, column: id, lookback: "1 hour", colum: x}
    - id: d
      type: postgresql
      table: inc.customers
      incremental: {mode: timestamp, lookback: "soon"}
    - id: e
      type: postgresql
      table: inc.customers
      incremental: timestamp
  targets:
    - {id: t, type: postgresql, input: a, table: inc.x, mode: merge_changes, deletes: sometimes, conflict: latest}
    - {id: u, type: postgresql, input: a, table: inc.y, mode: append, deletes: soft}
    - {id: v, type: postgresql, input: a, table: inc.z}
$$) ORDER BY line, path;
-- an invalid config is not registered
SELECT etl.register_pipeline($$
pipeline:
  id: incr_bad
  sources:
    - {id: a, type: postgresql, table: inc.customers, incremental: {mode: id}}
  targets:
    - {id: t, type: postgresql, table: inc.x, mode: merge_changes}
$$);
SELECT count(*) AS registered FROM etl.pipelines WHERE pipeline_id = 'incr_bad';

-- run-time errors name the source: a column the source does not have
SET ROLE incr_alice;
SELECT etl.register_pipeline($$
pipeline:
  id: incr_nocol
  sources:
    - {id: customers, type: postgresql, table: inc.customers, incremental: {mode: id, column: nope}}
  targets:
    - {id: t, type: postgresql, table: inc.never, mode: append}
$$);
SELECT r->>'status' AS status, r->'error'->>'message' AS message
  FROM etl.execute_pipeline('incr_nocol') r;
SELECT to_regclass('inc.never') IS NULL AS target_not_created;
RESET ROLE;

-- clean up
SELECT etl.drop_pipeline(p) FROM unnest(ARRAY['incr_ts', 'incr_lookback', 'incr_id', 'incr_xmin', 'incr_nocol']) p;
DELETE FROM etl.alerts WHERE pipeline_id LIKE 'incr\_%';
DELETE FROM etl.audit_log WHERE object_id LIKE 'incr\_%';
SELECT count(*) AS positions_left FROM etl.incremental_positions;
DROP SCHEMA inc CASCADE;
DROP ROLE incr_alice;
DROP ROLE incr_bob;
