-- 91_security_roles: what a plain role can and cannot do to metaetl and to
-- other roles (pgTAP, run as the plain roles).  The two superuser
-- escalations of issue 12 are reproduced here and must fail:
--  1. a freshness SLA on a view whose column calls the role's function
--     (ALTER ROLE ... SUPERUSER), evaluated by the SLA functions and by the
--     launcher, which run as the extension owner;
--  2. a udf step that sets search_path to a schema with its own = operator
--     for the bookkeeping SQL that follows it, in a run worker and in a run
--     executor;
-- plus run-record forgery through the queue, other roles' alerts and runs,
-- existence oracles, and what run code sees of the session.
\set VERBOSITY default
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
CREATE ROLE sec_victim LOGIN;
CREATE ROLE sec_mallory LOGIN;
DO $$ BEGIN EXECUTE format('GRANT CREATE ON DATABASE %I TO sec_victim, sec_mallory', current_database()); END $$;

-- the victim's pipeline, run, schedule, SLA and alert
SET ROLE sec_victim;
CREATE SCHEMA v;
CREATE TABLE v.src (id int8, amount numeric, loaded_at timestamptz DEFAULT now());
INSERT INTO v.src SELECT g, g FROM generate_series(1, 10) g;
SELECT etl.register_pipeline($$
pipeline:
  id: sec_victim_p
  sources: [{id: s, type: postgresql, table: v.src}]
  targets: [{id: t, type: postgresql, table: v.out}]
  sla: {max_duration_minutes: 60, freshness: {max_age: "1 day", table: v.src, column: loaded_at}}
$$) IS NOT NULL;
SELECT (etl.execute_pipeline('sec_victim_p') ->> 'status') = 'succeeded';
SELECT etl.schedule_pipeline('sec_victim_p', '0 3 * * *') > 0;
SELECT etl.raise_alert('performance', 'low', 'victim alert', 'sec_victim_p', NULL, '{}', 'victim-key') > 0;
RESET ROLE;
SELECT alert_id AS victim_alert FROM etl.alerts WHERE pipeline_id = 'sec_victim_p' \gset
SELECT run_id AS victim_run FROM etl.pipeline_runs WHERE pipeline_id = 'sec_victim_p' \gset

-- the attacker's objects: a function that tries to become superuser,
-- a view over it, an = operator over it, and a udf that plants it
SET ROLE sec_mallory;
CREATE SCHEMA m;
CREATE TABLE m.log (what text, who text, sess text, su text);
CREATE FUNCTION m.pwn() RETURNS timestamptz LANGUAGE plpgsql AS $f$
BEGIN
    INSERT INTO m.log VALUES ('pwn', current_user, session_user, current_setting('is_superuser'));
    BEGIN
        EXECUTE 'ALTER ROLE sec_mallory SUPERUSER';
    EXCEPTION WHEN OTHERS THEN
        INSERT INTO m.log VALUES ('pwn refused ' || SQLSTATE, current_user, session_user, '');
    END;
    RETURN now();
END $f$;
CREATE VIEW m.fresh AS SELECT m.pwn() AS ts;
CREATE FUNCTION m.eq(a int8, b int8) RETURNS boolean LANGUAGE plpgsql AS $f$
BEGIN
    INSERT INTO m.log VALUES ('eq', current_user, session_user, current_setting('is_superuser'));
    BEGIN
        EXECUTE 'ALTER ROLE sec_mallory SUPERUSER';
    EXCEPTION WHEN OTHERS THEN NULL;
    END;
    RETURN a OPERATOR(pg_catalog.=) b;
END $f$;
CREATE OPERATOR m.= (LEFTARG = int8, RIGHTARG = int8, FUNCTION = m.eq);
CREATE FUNCTION m.evil(x int8) RETURNS int8 LANGUAGE plpgsql AS $f$
BEGIN
    PERFORM pg_catalog.set_config('search_path', 'm, pg_catalog', false);
    PERFORM pg_catalog.set_config('work_mem', '77MB', false);
    INSERT INTO m.log VALUES ('udf', current_user, session_user, current_setting('is_superuser'));
    BEGIN
        PERFORM pg_catalog.set_config('session_authorization', 'postgres', false);
        INSERT INTO m.log VALUES ('session_authorization changed', current_user, session_user, '');
    EXCEPTION WHEN OTHERS THEN
        INSERT INTO m.log VALUES ('session_authorization refused', current_user, session_user, '');
    END;
    BEGIN
        PERFORM pg_catalog.set_config('role', 'postgres', false);
        INSERT INTO m.log VALUES ('role changed', current_user, session_user, '');
    EXCEPTION WHEN OTHERS THEN
        INSERT INTO m.log VALUES ('role refused', current_user, session_user, '');
    END;
    RETURN x;
END $f$;
SELECT etl.register_pipeline($$
pipeline:
  id: sec_fresh
  sources: [{id: s, type: postgresql, table: m.log}]
  targets: [{id: t, type: postgresql, table: m.fresh_out}]
  sla: {freshness: {max_age: "1 hour", table: m.fresh, column: ts}}
$$) IS NOT NULL;
SELECT etl.register_pipeline($$
pipeline:
  id: sec_udf
  sources: [{id: s, type: inline, rows: [{a: 1}, {a: 2}]}]
  transforms:
    - {id: u, type: udf, params: {function: m.evil, args: [a], output: b}}
  targets: [{id: t, type: postgresql, table: m.udf_out}]
$$) IS NOT NULL;
RESET ROLE;
SELECT count(*) AS victim_evals FROM etl.sla_compliance WHERE pipeline_id = 'sec_victim_p' \gset
SET ROLE sec_mallory;
SELECT plan(121);

-- 1. escalation through a freshness SLA: evaluated, the view's function runs
--    as its owner (this role), not as the extension owner
SELECT lives_ok($$SELECT count(*) FROM etl.evaluate_freshness()$$, 'evaluate_freshness as the role');
RESET ROLE;
SELECT is((SELECT count(*) FROM etl.sla_compliance WHERE pipeline_id = 'sec_victim_p'), :victim_evals::bigint,
          'a plain role''s evaluate_freshness evaluates only its own pipelines');
-- what the launcher does every minute, as the bootstrap superuser
SELECT count(*) >= 2 FROM etl.evaluate_freshness();
SET ROLE sec_mallory;
SELECT ok(NOT (SELECT rolsuper FROM pg_roles WHERE rolname = 'sec_mallory'), 'freshness SLA: still not a superuser');
SELECT is((SELECT count(*) FROM m.log WHERE what = 'pwn' AND who <> 'sec_mallory'), 0::bigint,
          'the view''s function ran only as its owner');
SELECT ok((SELECT count(*) FROM m.log WHERE what = 'pwn') >= 2, 'the view was evaluated, as the role, both times');
SELECT ok((SELECT count(*) FROM m.log WHERE what LIKE 'pwn refused%') >= 2, 'and its ALTER ROLE was refused');
-- the age of a table the owner cannot read is not reported
SELECT is((SELECT count(*) FROM etl.sla_compliance c JOIN etl.sla_definitions d USING (sla_id)
            WHERE d.pipeline_id = 'sec_victim_p'), 0::bigint, 'no SLA result of another role''s pipeline is visible');

-- 2. escalation through search_path: a udf step plants search_path and an =
--    operator for the bookkeeping SQL that runs after it
SELECT is(etl.execute_pipeline('sec_udf') ->> 'status', 'succeeded', 'the udf pipeline runs (run worker)');
SELECT ok(NOT (SELECT rolsuper FROM pg_roles WHERE rolname = 'sec_mallory'), 'search_path: still not a superuser');
SELECT is((SELECT count(*) FROM m.log WHERE what = 'eq'), 0::bigint, 'metaetl''s SQL never used the role''s = operator');
SELECT is((SELECT min(sess) FROM m.log WHERE what = 'udf'), 'sec_mallory', 'run code sees its role as session_user');
SELECT is((SELECT min(su) FROM m.log WHERE what = 'udf'), 'off', 'and is_superuser off');
SELECT is((SELECT count(*) FROM m.log WHERE what = 'session_authorization changed'), 0::bigint,
          'run code cannot SET SESSION AUTHORIZATION to the owner');
SELECT is((SELECT count(*) FROM m.log WHERE what = 'role changed'), 0::bigint, 'nor SET ROLE to the owner');
SELECT is((SELECT count(*) FROM m.udf_out), 2::bigint, 'and the pipeline loaded its rows');
-- the same in a pooled run executor (a queued run)
SELECT lives_ok($$SELECT etl.run_now('sec_udf')$$, 'run_now of an own pipeline');
DO $$
BEGIN
    FOR i IN 1..300 LOOP
        EXIT WHEN (SELECT count(*) FROM etl.pipeline_runs WHERE pipeline_id = 'sec_udf'
                    AND status NOT IN ('queued', 'running')) >= 2;
        PERFORM pg_sleep(0.1);
    END LOOP;
END $$;
SELECT is((SELECT status FROM etl.pipeline_runs WHERE pipeline_id = 'sec_udf' ORDER BY run_id DESC LIMIT 1),
          'succeeded', 'the queued run succeeded in an executor');
SELECT ok(NOT (SELECT rolsuper FROM pg_roles WHERE rolname = 'sec_mallory'), 'executor: still not a superuser');
SELECT is((SELECT count(*) FROM m.log WHERE what = 'eq'), 0::bigint, 'executor: the role''s = operator never ran');
SELECT is((SELECT count(DISTINCT sess) FROM m.log WHERE what = 'udf'), 1::bigint, 'executor: session_user is the role');

-- 3. run-record forgery and queue denial of service: the queue is metaetl's
SELECT throws_ok($$INSERT INTO etl.run_queue (pipeline_id, trigger, run_id) VALUES ('sec_udf', 'run_now', 1)$$,
                 '42501', NULL, 'no direct insert into the queue');
SELECT throws_ok($$INSERT INTO etl.run_queue (pipeline_id, trigger, state) VALUES ('sec_udf', 'run_now', 'claimed')$$,
                 '42501', NULL, 'no claimed rows planted in the queue');
SELECT throws_ok($$UPDATE etl.run_queue SET state = 'claimed'$$, '42501', NULL, 'no update of the queue');
SELECT throws_ok($$DELETE FROM etl.run_queue$$, '42501', NULL, 'no delete from the queue');
SELECT throws_ok($$SELECT * FROM etl.claim_runs(10)$$, '42501', NULL, 'claim_runs is the scheduler''s');
SELECT throws_ok($$SELECT etl.run_now('sec_victim_p')$$, '42704', NULL, 'run_now of another role''s pipeline');
SELECT throws_ok($$SELECT etl.backfill('sec_victim_p', now() - interval '2 days', now())$$, '42704', NULL,
                 'backfill of another role''s pipeline');
SELECT throws_ok($$SELECT etl.execute_pipeline('sec_victim_p')$$, '42704', NULL, 'execute another role''s pipeline');
SELECT throws_ok($$SELECT etl.execute_pipeline_inline('sec_victim_p')$$, '42704', NULL, 'inline run of another role''s pipeline');
SELECT is(etl.unschedule_pipeline('sec_victim_p'), false, 'unschedule another role''s pipeline: nothing there');
SELECT is((SELECT count(*) FROM etl.run_queue WHERE pipeline_id = 'sec_victim_p'), 0::bigint, 'the victim''s queue is invisible');

-- 4. other roles' alerts and runs
SELECT throws_ok($$SELECT etl.raise_alert('pipeline_failure', 'high', 'fake', 'sec_victim_p')$$, '42704', NULL,
                 'no alert for another role''s pipeline');
SELECT throws_ok($$SELECT etl.raise_alert('system_error', 'high', 'fake')$$, '42501', NULL, 'no system alert by a plain role');
SELECT lives_ok($$SELECT etl.raise_alert('performance', 'low', 'my own', 'sec_udf', NULL, '{}', 'victim-key')$$,
                'the same dedup key on an own pipeline is an own alert');
SELECT is((SELECT count(*) FROM etl.alerts WHERE pipeline_id = 'sec_victim_p'), 0::bigint, 'the victim''s alert is invisible');
SELECT is(etl.acknowledge_alert(:victim_alert), false, 'cannot acknowledge another role''s alert');
SELECT is(etl.resolve_alert(:victim_alert), false, 'cannot resolve another role''s alert');
SELECT throws_ok(format('SELECT etl.on_run_finished(%s)', :victim_run), '42704', NULL,
                 'on_run_finished of another role''s run');
SELECT throws_ok(format('SELECT etl.evaluate_sla(%s)', :victim_run), '42704', NULL,
                 'evaluate_sla of another role''s run');
SELECT throws_ok($$SELECT etl.process_escalations()$$, '42501', NULL, 'escalations are the delivery worker''s');
RESET ROLE;
-- (as superuser) the victim's alert was not touched and is still open
SELECT is((SELECT occurrences || ' ' || message || ' ' || status FROM etl.alerts WHERE pipeline_id = 'sec_victim_p'),
          '1 victim alert open', 'the victim''s alert kept its count and message');
SELECT is((SELECT count(*) FROM etl.schedules WHERE pipeline_id = 'sec_victim_p'), 1::bigint,
          'the victim''s schedule is still there');
SET ROLE sec_mallory;
SELECT is(etl.acknowledge_alert(:victim_alert + 1000), false, 'acknowledge by a guessed id');

-- 5. oracles and leaks
SELECT throws_ok($$SELECT etl.register_pipeline('pipeline: {id: sec_victim_p, sources: [{id: s, type: inline, rows: [{a: 1}]}], targets: [{id: t, type: postgresql, table: m.x}]}')$$,
                 '42710', 'pipeline id "sec_victim_p" is not available', 'a taken id says only that it is taken');
SELECT throws_ok($$SELECT * FROM etl.settings$$, '42501', NULL, 'etl.settings is not readable');
SELECT is(current_setting('is_superuser'), 'off', 'the test role is plain');

-- 6. metaetl's own tables: a plain role writes none of them directly
SELECT throws_ok(format('INSERT INTO etl.%I DEFAULT VALUES', t), '42501', NULL, 'no insert into etl.' || t)
  FROM unnest(ARRAY['sla_compliance', 'alerts', 'alert_channels', 'alert_deliveries', 'alert_delivery_attempts',
                    'alert_routes', 'escalation_policies', 'audit_log', 'access_log', 'credentials',
                    'secret_stores', 'settings', 'pipeline_runs', 'run_attempts', 'step_runs', 'watermarks',
                    'pools']) t;
SELECT throws_ok(format('UPDATE etl.%I SET %I = %I', t, c, c), '42501', NULL, 'no update of etl.' || t)
  FROM (VALUES ('sla_compliance', 'compliant'), ('alerts', 'status'), ('alert_channels', 'enabled'),
               ('alert_deliveries', 'status'), ('alert_delivery_attempts', 'error'), ('alert_routes', 'enabled'),
               ('escalation_policies', 'levels'), ('audit_log', 'action'), ('access_log', 'granted'),
               ('credentials', 'owner'), ('secret_stores', 'owner'), ('settings', 'value'),
               ('pipeline_runs', 'status'), ('run_attempts', 'status'), ('step_runs', 'status'),
               ('watermarks', 'value'), ('pools', 'slots')) x(t, c);
SELECT throws_ok(format('DELETE FROM etl.%I', t), '42501', NULL, 'no delete from etl.' || t)
  FROM unnest(ARRAY['sla_compliance', 'alerts', 'alert_channels', 'alert_deliveries', 'alert_delivery_attempts',
                    'alert_routes', 'escalation_policies', 'audit_log', 'access_log', 'credentials',
                    'secret_stores', 'settings', 'pipeline_runs', 'run_attempts', 'step_runs', 'watermarks',
                    'pools']) t;
-- nor reads the ones that hold secrets or others' decisions
SELECT throws_ok(format('SELECT * FROM etl.%I', t), '42501', NULL, 'no read of etl.' || t)
  FROM unnest(ARRAY['credentials', 'alert_channels', 'secret_stores', 'audit_log']) t;

-- 7. another role's data does not exist for this role
SELECT is((SELECT count(*) FROM etl.pipelines WHERE pipeline_id = 'sec_victim_p'), 0::bigint, 'pipelines');
SELECT is((SELECT count(*) FROM etl.pipeline_versions WHERE pipeline_id = 'sec_victim_p'), 0::bigint, 'pipeline_versions');
SELECT is((SELECT count(*) FROM etl.pipeline_runs WHERE pipeline_id = 'sec_victim_p'), 0::bigint, 'pipeline_runs');
SELECT is((SELECT count(*) FROM etl.step_runs s WHERE NOT EXISTS
            (SELECT 1 FROM etl.pipeline_runs r WHERE r.run_id = s.run_id AND r.pipeline_id LIKE 'sec_%')), 0::bigint, 'step_runs');
SELECT is((SELECT count(*) FROM etl.schedules WHERE pipeline_id = 'sec_victim_p'), 0::bigint, 'schedules');
SELECT is((SELECT count(*) FROM etl.sla_definitions WHERE pipeline_id = 'sec_victim_p'), 0::bigint, 'sla_definitions');
SELECT is((SELECT count(*) FROM etl.watermarks WHERE pipeline_id = 'sec_victim_p'), 0::bigint, 'watermarks');
SELECT is((SELECT count(*) FROM etl.access_log WHERE db_role <> 'sec_mallory'), 0::bigint, 'access_log');
SELECT is((SELECT count(*) FROM etl.credentials_public), 0::bigint, 'credentials_public');

-- 8. metaetl's internal functions are not the role's to call
SELECT throws_ok(format('SELECT %s', f), '42501', NULL, 'no call of ' || split_part(f, '(', 1))
  FROM unnest(ARRAY['etl._seal_secret(''x'')', 'etl._open_secret(''x'')', 'etl._open_alert_secrets(''{}'')',
                    'etl.add_alert_channel(''c'', ''webhook'', ''{}'')', 'etl.test_alert_channel(''c'')',
                    'etl.rotate_master_key()', 'etl._freshness_newest(''a'', ''b'', ''c'')',
                    'etl.audit(''a'', ''b'', ''c'')', 'etl._scheduler_tick()']) f;
SELECT throws_ok($$SELECT etl.add_secret_store('s', 'env', '{}')$$, '42501', NULL, 'no secret store by a plain role');

-- 9. every SECURITY DEFINER function of etl pins search_path to pg_catalog, pg_temp
SELECT is((SELECT count(*) FROM pg_proc p
            WHERE p.pronamespace = 'etl'::regnamespace AND p.prosecdef
              AND NOT ('search_path=pg_catalog, pg_temp' = ANY (COALESCE(p.proconfig, '{}')))), 0::bigint,
          'SECURITY DEFINER functions pin search_path');

SELECT * FROM finish();
RESET ROLE;
DROP SCHEMA m CASCADE;
DROP SCHEMA v CASCADE;
SELECT etl.drop_pipeline(p) FROM unnest(ARRAY['sec_fresh', 'sec_udf', 'sec_victim_p']) p;
DO $$ BEGIN EXECUTE format('REVOKE CREATE ON DATABASE %I FROM sec_victim, sec_mallory', current_database()); END $$;
DELETE FROM etl.access_log WHERE db_role IN ('sec_victim', 'sec_mallory');
DROP OWNED BY sec_victim, sec_mallory;
DROP ROLE sec_victim, sec_mallory;
