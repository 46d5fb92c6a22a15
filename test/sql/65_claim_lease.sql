-- 65_claim_lease: a row of etl.run_queue claimed by hand with etl.claim_runs()
-- and never run blocks its pipeline (concurrency: queue) only until
-- metaetl.claim_lease has passed; then it goes back to the queue, with a
-- note.  metaetl.claim_lease = 0 keeps claims forever.  The launcher is
-- paused meanwhile, so only this session claims; the claimer is a plain
-- etl_operator role.
\set SHOW_CONTEXT never
CREATE FUNCTION pg_temp.wait_for(cond text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE ok boolean;
BEGIN
    FOR i IN 1..100 LOOP
        EXECUTE cond INTO ok;
        IF ok THEN RETURN true; END IF;
        PERFORM pg_sleep(0.1);
    END LOOP;
    RETURN false;
END $$;
ALTER SYSTEM SET metaetl.scheduler_enabled = off;
ALTER SYSTEM SET metaetl.claim_lease = 1;
SELECT pg_reload_conf();
SELECT pg_temp.wait_for($$SELECT etl.scheduler_status()->>'state' = 'disabled'$$) AS launcher_paused;
-- (a session reads the reloaded file between statements)
SELECT pg_sleep(0.2);
SHOW metaetl.claim_lease;

CREATE ROLE lease65_owner LOGIN;
CREATE ROLE lease65_operator LOGIN;
GRANT etl_operator TO lease65_operator;
INSERT INTO etl.pipelines (pipeline_id, name, owner, config)
VALUES ('l65', 'one run at a time', 'lease65_owner', '{"pipeline": {"id": "l65", "concurrency": "queue"}}');

SET ROLE lease65_operator;
SELECT etl.run_now('l65') AS first_run \gset
SELECT etl.run_now('l65') AS second_run \gset
-- the first is claimed by hand (and never run); the second waits behind it
SELECT queue_id = :first_run AS claimed_first, state FROM etl.claim_runs(5);
SELECT count(*) AS claimed_while_held FROM etl.claim_runs(5);
-- after the lease, the claim is given back: claimable again, with a note
SELECT pg_sleep(1.2);
SELECT queue_id = :first_run AS claimed_again, state,
       note LIKE 'claim of % expired after metaetl.claim_lease (1 s) without a run' AS noted
  FROM etl.claim_runs(5);
SELECT count(*) AS claimed_while_held FROM etl.claim_runs(5);
RESET ROLE;

-- 0: a claim never expires
ALTER SYSTEM SET metaetl.claim_lease = 0;
SELECT pg_reload_conf();
SELECT pg_sleep(0.2);
SHOW metaetl.claim_lease;
SELECT pg_sleep(1.2);
SELECT count(*) AS claimed_after_lease_off FROM etl.claim_runs(5);
SELECT queue_id = :first_run AS first, state FROM etl.run_queue WHERE pipeline_id = 'l65' ORDER BY queue_id;

-- claim_runs stays closed to plain roles
CREATE ROLE lease65_plain LOGIN;
SET ROLE lease65_plain;
SELECT count(*) FROM etl.claim_runs(1);
RESET ROLE;

DELETE FROM etl.pipelines WHERE pipeline_id = 'l65';
DROP ROLE lease65_owner, lease65_operator, lease65_plain;
ALTER SYSTEM RESET metaetl.claim_lease;
ALTER SYSTEM RESET metaetl.scheduler_enabled;
SELECT pg_reload_conf();
SELECT pg_temp.wait_for($$SELECT etl.scheduler_status()->>'state' = 'running'$$) AS launcher_running;
