-- 99_incremental_log_cdc: log CDC from a logical replication slot (wal2json):
-- slots metaetl creates (etl_admin), changes peeked and the slot advanced only
-- after the position committed, lag in etl.incremental_state, one consumer
-- per slot.  The test cluster runs with wal_level = logical.
\set VERBOSITY default
CREATE ROLE log_alice LOGIN;
CREATE SCHEMA logc AUTHORIZATION log_alice;

-- only etl_admin members create slots (a slot keeps WAL until read)
SET ROLE log_alice;
SELECT etl.create_change_slot('metaetl_test_slot');
RESET ROLE;
SELECT etl.create_change_slot('metaetl_test_slot') IS NOT NULL AS created;
SELECT etl.create_change_slot('metaetl_test_slot');
SELECT slot_name, plugin, pipeline_id FROM etl.change_slots;

SET ROLE log_alice;
CREATE TABLE logc.orders (id int PRIMARY KEY, item text, qty int);
INSERT INTO logc.orders VALUES (1, 'pen', 1), (2, 'ink', 2);
SELECT etl.register_pipeline($$
pipeline:
  id: log_orders
  sources:
    - {id: orders, type: postgresql, table: logc.orders,
       incremental: {mode: log_cdc, slot: metaetl_test_slot}}
  targets:
    - {id: copy, type: postgresql, table: logc.orders_copy, mode: merge_changes, keys: [id]}
$$);
-- the first run reads the table; the source claims the slot
SELECT r->>'status' AS status, r->>'rows_read' AS rows_read FROM etl.execute_pipeline('log_orders') r;
SELECT slot_name, pipeline_id, source_id FROM etl.change_slots;

-- inserts, updates, deletes from the log, in commit order
INSERT INTO logc.orders VALUES (3, 'pad', 3);
UPDATE logc.orders SET qty = 10 WHERE id = 1;
UPDATE logc.orders SET qty = 11 WHERE id = 1;
DELETE FROM logc.orders WHERE id = 2;
SELECT r->>'status' AS status, r->>'rows_read' AS rows_read, r->>'rows_written' AS rows_written
  FROM etl.execute_pipeline('log_orders') r;
SELECT * FROM logc.orders_copy ORDER BY id;
SELECT r->>'rows_read' AS rows_read FROM etl.execute_pipeline('log_orders') r;

-- a failing load (the target refuses qty >= 1000): the position stays,
-- and the next run reads the change again
ALTER TABLE logc.orders_copy ADD CONSTRAINT small CHECK (qty < 1000);
INSERT INTO logc.orders VALUES (4, 'big', 5000);
SELECT r->>'status' AS status, r->'error'->>'sqlstate' AS sqlstate FROM etl.execute_pipeline('log_orders') r;
ALTER TABLE logc.orders_copy DROP CONSTRAINT small;
SELECT r->>'status' AS status, r->>'rows_read' AS rows_read FROM etl.execute_pipeline('log_orders') r;
SELECT id, qty FROM logc.orders_copy WHERE id = 4;
SELECT source, mode, "position" ? 'lsn' AS has_lsn, (lag->>'lag_bytes')::bigint >= 0 AS lag_known,
       lag ? 'slot_retained_bytes' AS retained_known
  FROM etl.incremental_state('log_orders');

-- a second source on the same slot is refused; an unknown slot too
SELECT etl.register_pipeline($$
pipeline:
  id: log_other
  sources:
    - {id: orders, type: postgresql, table: logc.orders,
       incremental: {mode: log_cdc, slot: metaetl_test_slot}}
  targets:
    - {id: copy, type: postgresql, table: logc.other_copy, mode: merge_changes, keys: [id]}
$$);
SELECT r->>'status' AS status, r->'error'->>'message' AS message FROM etl.execute_pipeline('log_other') r;
SELECT etl.register_pipeline($$
pipeline:
  id: log_noslot
  sources:
    - {id: orders, type: postgresql, table: logc.orders, incremental: {mode: log_cdc, slot: no_such_slot}}
  targets:
    - {id: copy, type: postgresql, table: logc.noslot_copy, mode: merge_changes, keys: [id]}
$$);
SELECT r->>'status' AS status, r->'error'->>'message' AS message FROM etl.execute_pipeline('log_noslot') r;
SELECT to_regclass('logc.noslot_copy') IS NULL AS target_not_created;
RESET ROLE;

-- a TRUNCATE in the log empties the copy; changes after it apply on top
SET ROLE log_alice;
TRUNCATE logc.orders;
INSERT INTO logc.orders VALUES (7, 'cap', 7);
SELECT r->>'status' AS status, r->>'rows_read' AS rows_read FROM etl.execute_pipeline('log_orders') r;
SELECT * FROM logc.orders_copy ORDER BY id;
RESET ROLE;

-- the slot_lag SLA (sla: max_slot_lag_mb): breached when the pipeline's
-- slot holds back more WAL than that, met again once runs let it go
SELECT etl.apply_sla_config('log_orders', '{"max_slot_lag_mb": 1}');
SELECT sla_type, target FROM etl.sla_definitions WHERE pipeline_id = 'log_orders';
CREATE TABLE logc.filler AS SELECT g, repeat('x', 200) AS pad FROM generate_series(1, 20000) g;
SELECT d.sla_type, e.observed > 1 AS over_1mb, e.compliant
  FROM etl.evaluate_freshness() e JOIN etl.sla_definitions d USING (sla_id) WHERE d.pipeline_id = 'log_orders';
SELECT alert_type, status, message ~ '^pipeline log_orders missed its slot_lag SLA: observed [0-9.]+, target 1$' AS message
  FROM etl.alerts WHERE pipeline_id = 'log_orders' AND alert_type = 'sla_violation';
SELECT sla_type, target, observed ~ ' MB$' AS in_mb, compliant FROM etl.sla_report('log_orders');
-- the next runs read the log past the filler and advance the slot (a
-- checkpoint logs the running transactions decoding restarts from)
CHECKPOINT;
SELECT r->>'status' AS status FROM etl.execute_pipeline('log_orders') r;
SELECT r->>'status' AS status FROM etl.execute_pipeline('log_orders') r;
SELECT d.sla_type, e.compliant
  FROM etl.evaluate_freshness() e JOIN etl.sla_definitions d USING (sla_id) WHERE d.pipeline_id = 'log_orders';
SELECT alert_type, status FROM etl.alerts WHERE pipeline_id = 'log_orders' AND alert_type = 'sla_violation';
-- its value is checked like every SLA key's
SELECT etl.apply_sla_config('log_orders', '{"max_slot_lag_mb": 0}');
SELECT path, message FROM etl.validate_config($$
pipeline:
  id: log_sla_bad
  sources:
    - {id: a, type: postgresql, table: logc.orders, incremental: {mode: log_cdc, slot: metaetl_test_slot}}
  targets:
    - {id: t, type: postgresql, table: logc.t, mode: merge_changes, keys: [id]}
  sla: {max_slot_lag_mb: "lots"}
$$) ORDER BY path;

-- the slot's confirmed position follows the committed one
SELECT (SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'metaetl_test_slot')
       <= ("position"->>'lsn')::pg_lsn AS slot_not_ahead
  FROM etl.incremental_positions WHERE pipeline_id = 'log_orders';

-- validation
SELECT path, message FROM etl.validate_config($$
pipeline:
  id: log_bad
  sources:
    - {id: a, type: postgresql, table: logc.orders, incremental: {mode: log_cdc, publication: p}}
  targets:
    - {id: t, type: postgresql, table: logc.t, mode: merge_changes, keys: [id]}
$$) ORDER BY path;

-- clean up: the slot goes only when asked
SELECT etl.drop_pipeline(p) FROM unnest(ARRAY['log_orders', 'log_other', 'log_noslot']) p;
SELECT count(*) AS slot_kept FROM pg_replication_slots WHERE slot_name = 'metaetl_test_slot';
SELECT etl.drop_change_slot('metaetl_test_slot');
SELECT count(*) AS slots FROM pg_replication_slots WHERE slot_name = 'metaetl_test_slot';

-- every registration names the installation that made it (its token and
-- this database's oid; a restored copy is another installation: harness
-- case 89_incremental_dump_restore)
SELECT etl.create_change_slot('metaetl_test_slot2') IS NOT NULL AS created;
SELECT installation = etl._installation_id() AS ours,
       installation = (SELECT token::text || '/' || (SELECT oid FROM pg_database WHERE datname = current_database())
                         FROM etl.installation) AS token_and_database
  FROM etl.change_slots WHERE slot_name = 'metaetl_test_slot2';
-- plain roles neither see the token table nor call the function
SET ROLE log_alice;
SELECT count(*) FROM etl.installation;
SELECT etl._installation_id();
RESET ROLE;
-- dropping only the registration of an own slot leaves the slot, with a
-- warning: it keeps WAL until dropped
SET client_min_messages = warning;
SELECT etl.drop_change_slot('metaetl_test_slot2', registration_only => true);
SELECT count(*) AS registered FROM etl.change_slots WHERE slot_name = 'metaetl_test_slot2';
SELECT count(*) AS slot_left FROM pg_replication_slots WHERE slot_name = 'metaetl_test_slot2';
SELECT pg_drop_replication_slot('metaetl_test_slot2');
DELETE FROM etl.alerts WHERE pipeline_id LIKE 'log\_%';
DELETE FROM etl.audit_log WHERE object_id LIKE 'log\_%';
DROP SCHEMA logc CASCADE;
DROP ROLE log_alice;
