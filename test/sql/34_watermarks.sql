-- 34_watermarks: incremental loads — a source's watermark_column advances
-- with each successful run ({{watermark}} in the next run's query), inside the
-- run's transaction: a failed run leaves it where it was.
\set VERBOSITY default
CREATE SCHEMA wm;
CREATE TABLE wm.events (id int PRIMARY KEY, amount int, updated_at timestamptz NOT NULL);
INSERT INTO wm.events VALUES (1, 10, '2026-01-01 10:00+00'), (2, 20, '2026-01-01 11:00+00'),
                             (3, 30, '2026-01-01 12:00+00');
CREATE TABLE wm.loaded (id int, amount int CHECK (amount < 1000), updated_at timestamptz);

SELECT etl.register_pipeline($$
pipeline:
  id: wm_incremental
  name: incremental
  sources:
    - id: events
      type: postgresql
      query: "SELECT * FROM wm.events WHERE updated_at > '{{watermark}}'"
      watermark_column: updated_at
  targets: [ { id: out, type: postgresql, table: wm.loaded, mode: append } ]
$$);

-- 1. the first run: no watermark yet ({{watermark}} is -infinity), every row
SELECT r->>'status' AS status, r->>'rows_written' AS rows_written
  FROM etl.execute_pipeline('wm_incremental') r;
SELECT source_id, column_name, value FROM etl.watermarks WHERE pipeline_id = 'wm_incremental';

-- 2. only what changed since
INSERT INTO wm.events VALUES (4, 40, '2026-01-02 09:00+00'), (5, 50, '2026-01-02 10:00+00');
SELECT r->>'status' AS status, r->>'rows_written' AS rows_written
  FROM etl.execute_pipeline('wm_incremental') r;
SELECT value FROM etl.watermarks WHERE pipeline_id = 'wm_incremental';

-- 3. nothing new: nothing loaded, the watermark stays
SELECT r->>'status' AS status, r->>'rows_written' AS rows_written
  FROM etl.execute_pipeline('wm_incremental') r;
SELECT value FROM etl.watermarks WHERE pipeline_id = 'wm_incremental';

-- 4. a failing load (amount violates the target's check): the watermark does not move
INSERT INTO wm.events VALUES (6, 5000, '2026-01-03 08:00+00');
SELECT r->>'status' AS status, r->'error'->>'sqlstate' AS sqlstate
  FROM etl.execute_pipeline('wm_incremental', 'manual', 'test', '{}', true) r;
SELECT value FROM etl.watermarks WHERE pipeline_id = 'wm_incremental';
SELECT count(*) AS loaded_rows FROM wm.loaded;

-- fixed at the source, the next run picks the row up
UPDATE wm.events SET amount = 60 WHERE id = 6;
SELECT r->>'status' AS status, r->>'rows_written' AS rows_written
  FROM etl.execute_pipeline('wm_incremental') r;
SELECT value FROM etl.watermarks WHERE pipeline_id = 'wm_incremental';
SELECT id, amount FROM wm.loaded ORDER BY id;

-- clean up
DELETE FROM etl.alerts WHERE pipeline_id = 'wm_incremental';
SELECT etl.drop_pipeline('wm_incremental');
DELETE FROM etl.audit_log WHERE object_id = 'wm_incremental';
DROP SCHEMA wm CASCADE;
