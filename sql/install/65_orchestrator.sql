-- Orchestrator: run lifecycle (execute_pipeline in a background worker or
-- inline), attempts, step records, cancel, audit log, performance view, and
-- the privileges that let plain roles run their own pipelines only.

CREATE TABLE etl.run_attempts (
    run_id          pg_catalog.int8 NOT NULL REFERENCES etl.pipeline_runs ON DELETE CASCADE,
    attempt         pg_catalog.int4 NOT NULL CHECK (attempt >= 1),
    status          pg_catalog.text NOT NULL
                    CHECK (status IN ('succeeded', 'failed', 'quality_failed', 'cancelled', 'retrying')),
    error_class     pg_catalog.text CHECK (error_class IN ('transient', 'permanent')),
    error_sqlstate  pg_catalog.bpchar(5),
    error_message   pg_catalog.text,
    started_at      pg_catalog.timestamptz NOT NULL,
    ended_at        pg_catalog.timestamptz NOT NULL,
    next_delay_s    pg_catalog.float8,
    PRIMARY KEY (run_id, attempt)
);
COMMENT ON TABLE etl.run_attempts IS
  'Every attempt of a run: outcome, error class (transient or permanent), SQLSTATE, and the wait before the next attempt';

CREATE TABLE etl.step_runs (
    run_id          pg_catalog.int8 NOT NULL REFERENCES etl.pipeline_runs ON DELETE CASCADE,
    seq             pg_catalog.int4 NOT NULL,
    step_id         pg_catalog.text NOT NULL,
    kind            pg_catalog.text NOT NULL CHECK (kind IN ('source', 'step', 'quality', 'target')),
    status          pg_catalog.text NOT NULL CHECK (status IN ('succeeded', 'failed', 'skipped')),
    rows            pg_catalog.int8,
    duration_ms     pg_catalog.float8,
    details         pg_catalog.jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (run_id, seq)
);
COMMENT ON TABLE etl.step_runs IS
  'Each source, step, quality stage and target of a run: status, rows and duration';

-- Incremental loads: the newest value of a source's watermark_column that a
-- successful run extracted; the next run's {{watermark}}.  Advanced inside the
-- run's attempt, so it commits with the loads or not at all.
CREATE TABLE etl.watermarks (
    pipeline_id     pg_catalog.text NOT NULL REFERENCES etl.pipelines ON DELETE CASCADE,
    source_id       pg_catalog.text NOT NULL,
    column_name     pg_catalog.text NOT NULL,
    value           pg_catalog.text NOT NULL,
    run_id          pg_catalog.int8 REFERENCES etl.pipeline_runs ON DELETE SET NULL,
    updated_at      pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    PRIMARY KEY (pipeline_id, source_id)
);
COMMENT ON TABLE etl.watermarks IS
  'Per pipeline source: the newest value of its watermark_column loaded by a successful run ({{watermark}})';

-- Runs left 'running' by a server that stopped, or by a worker that died, are
-- abandoned.  Called by execute_pipeline, run_status and the scheduler.
CREATE FUNCTION etl.mark_abandoned_runs()
RETURNS pg_catalog.int4
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n int;
    ids int8[];
BEGIN
    WITH m AS (
        UPDATE etl.pipeline_runs r
           SET status = 'abandoned',
               ended_at = pg_catalog.clock_timestamp(),
               error_message = 'the run was interrupted: the server restarted or its worker exited'
         WHERE r.status = 'running'
           AND (r.started_at < pg_catalog.pg_postmaster_start_time()
                OR (r.worker_pid IS NOT NULL
                    AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity a
                                     WHERE a.pid = r.worker_pid)))
        RETURNING r.run_id)
    SELECT pg_catalog.array_agg(m.run_id) INTO ids FROM m;
    n := COALESCE(pg_catalog.cardinality(ids), 0);
    IF n > 0 THEN
        -- an OpenLineage consumer that saw the run START sees it end (ABORT),
        -- as for a cancelled run (87_lineage.sql; nothing without an endpoint)
        PERFORM etl._lineage_emit(x, 'ABORT') FROM pg_catalog.unnest(ids) AS x;
        -- their queue rows free their pool slots
        UPDATE etl.run_queue q SET state = 'done', note = 'run abandoned'
          FROM etl.pipeline_runs r
         WHERE q.run_id = r.run_id AND r.status = 'abandoned' AND q.state = 'claimed';
        -- and the retry policy decides whether they run again (through the queue)
        INSERT INTO etl.run_queue (pipeline_id, logical_date, trigger, attempt, not_before, note)
        SELECT r.pipeline_id, r.logical_date, 'retry', r.attempt + 1,
               pg_catalog.clock_timestamp() + pg_catalog.make_interval(
                   secs => COALESCE((p.config #>> '{pipeline,retry,initial_delay_s}')::float8, 5)),
               pg_catalog.format('retry of abandoned run %s', r.run_id)
          FROM etl.pipeline_runs r JOIN etl.pipelines p USING (pipeline_id)
         WHERE r.status = 'abandoned' AND r.ended_at >= pg_catalog.clock_timestamp() - interval '1 minute'
           AND r.attempt < COALESCE((p.config #>> '{pipeline,retry,max_attempts}')::int4, 1)
           AND NOT EXISTS (SELECT 1 FROM etl.run_queue q
                            WHERE q.note = pg_catalog.format('retry of abandoned run %s', r.run_id));
    END IF;
    RETURN n;
END
$$;
COMMENT ON FUNCTION etl.mark_abandoned_runs() IS
  'marks runs whose server restarted or whose worker exited as abandoned; returns how many';

CREATE FUNCTION etl.execute_pipeline(
    pipeline_id  pg_catalog.text,
    trigger      pg_catalog.text DEFAULT 'manual',
    triggered_by pg_catalog.text DEFAULT CURRENT_USER,
    params       pg_catalog.jsonb DEFAULT '{}',
    wait         pg_catalog.bool DEFAULT true)
RETURNS pg_catalog.jsonb
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'metaetl_execute_pipeline';
COMMENT ON FUNCTION etl.execute_pipeline(pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.jsonb, pg_catalog.bool) IS
  'runs a pipeline in a background worker as the calling role; wait => true returns the run summary';

CREATE FUNCTION etl.execute_pipeline_inline(
    pipeline_id  pg_catalog.text,
    trigger      pg_catalog.text DEFAULT 'manual',
    triggered_by pg_catalog.text DEFAULT CURRENT_USER,
    params       pg_catalog.jsonb DEFAULT '{}')
RETURNS pg_catalog.jsonb
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'metaetl_execute_pipeline_inline';
COMMENT ON FUNCTION etl.execute_pipeline_inline(pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.jsonb) IS
  'runs a pipeline in the calling backend and transaction; records commit with the caller';

CREATE FUNCTION etl.run_status(run_id pg_catalog.int8)
RETURNS pg_catalog.jsonb
LANGUAGE c VOLATILE STRICT
AS 'MODULE_PATHNAME', 'metaetl_run_status';
COMMENT ON FUNCTION etl.run_status(pg_catalog.int8) IS
  'the summary of a run: status, rows, quality score, duration, error';

CREATE FUNCTION etl.cancel_run(run_id pg_catalog.int8)
RETURNS pg_catalog.bool
LANGUAGE c VOLATILE STRICT
AS 'MODULE_PATHNAME', 'metaetl_cancel_run';
COMMENT ON FUNCTION etl.cancel_run(pg_catalog.int8) IS
  'cancels a running run; returns false when it is not running';

-- The one rule for who runs (src/orchestrator/run.c): raises what a run of
-- the pipeline would raise for its owner.  etl.schedule_pipeline calls it, so
-- a schedule whose runs would be refused is refused when it is made.
CREATE FUNCTION etl._check_run_owner(pipeline_id pg_catalog.text)
RETURNS void
LANGUAGE c STABLE STRICT
AS 'MODULE_PATHNAME', 'metaetl_check_run_owner';
COMMENT ON FUNCTION etl._check_run_owner(pg_catalog.text) IS
  'internal: raises SQLSTATE 55000 with a hint when the pipeline''s owner cannot run it (cannot log in)';

-- The original design's OrchestratorManager.create_execution_record(): a
-- queued run record for a pipeline, returning its id.
CREATE FUNCTION etl.create_execution_record(
    pipeline_id  pg_catalog.text,
    trigger      pg_catalog.text DEFAULT 'manual',
    triggered_by pg_catalog.text DEFAULT CURRENT_USER,
    params       pg_catalog.jsonb DEFAULT '{}')
RETURNS pg_catalog.int8
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'metaetl_create_execution_record';
COMMENT ON FUNCTION etl.create_execution_record(pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.jsonb) IS
  'creates a queued run record for a pipeline the caller may run, returning run_id';

-- Performance monitor: figures over each pipeline's last 100 finished runs.
CREATE VIEW etl.pipeline_stats WITH (security_invoker = true) AS
SELECT r.pipeline_id,
       pg_catalog.count(*) AS runs,
       pg_catalog.count(*) FILTER (WHERE r.status = 'succeeded') AS succeeded,
       pg_catalog.round(pg_catalog.avg(CASE WHEN r.status = 'succeeded' THEN 1.0 ELSE 0.0 END), 4) AS success_rate,
       pg_catalog.percentile_cont(0.5) WITHIN GROUP (ORDER BY r.duration_ms) AS p50_duration_ms,
       pg_catalog.percentile_cont(0.95) WITHIN GROUP (ORDER BY r.duration_ms) AS p95_duration_ms,
       pg_catalog.avg(r.rows_per_sec) AS avg_rows_per_sec,
       pg_catalog.max(r.ended_at) AS last_run_at
  FROM (SELECT pr.pipeline_id, pr.status, pr.rows_per_sec, pr.ended_at,
               EXTRACT(epoch FROM pr.ended_at - pr.started_at) * 1000 AS duration_ms,
               pg_catalog.row_number() OVER (PARTITION BY pr.pipeline_id ORDER BY pr.run_id DESC) AS rn
          FROM etl.pipeline_runs pr
         WHERE pr.status NOT IN ('queued', 'running', 'skipped')) r
 WHERE r.rn <= 100
 GROUP BY r.pipeline_id;
COMMENT ON VIEW etl.pipeline_stats IS
  'per pipeline over its last 100 finished runs: success rate, p50/p95 duration, rows per second';

------------------------------------------------------------------------------
-- Audit log: append-only for everyone but the extension owner.

-- Secrets never reach the audit log: keys that name secrets are redacted at
-- any depth.  (LIKE, not a regular expression: the regex engine honours a
-- pending cancel even where cancels are held off, and the run worker audits
-- while holding them off.)
CREATE FUNCTION etl.redact(doc pg_catalog.jsonb)
RETURNS pg_catalog.jsonb
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN CASE pg_catalog.jsonb_typeof(doc)
        WHEN 'object' THEN COALESCE((
            SELECT pg_catalog.jsonb_object_agg(e.key,
                     CASE WHEN pg_catalog.lower(e.key) LIKE ANY (ARRAY['%pass%', '%secret%', '%token%',
                                    '%api_key%', '%apikey%', '%private_key%', '%auth%'])
                          THEN '"[redacted]"'::pg_catalog.jsonb
                          ELSE etl.redact(e.value) END)
              FROM pg_catalog.jsonb_each(doc) e), '{}'::pg_catalog.jsonb)
        WHEN 'array' THEN COALESCE((
            SELECT pg_catalog.jsonb_agg(etl.redact(a.value) ORDER BY a.ord)
              FROM pg_catalog.jsonb_array_elements(doc) WITH ORDINALITY a(value, ord)), '[]'::pg_catalog.jsonb)
        ELSE doc END;
END
$$;
COMMENT ON FUNCTION etl.redact(pg_catalog.jsonb) IS
  'the document with the values of secret-like keys (password, secret, token, api_key, ...) replaced by "[redacted]"';

-- The acting role: the role set with SET ROLE, else the session user (inside
-- SECURITY DEFINER code CURRENT_USER is the definer, so it cannot say).
CREATE FUNCTION etl.acting_role()
RETURNS pg_catalog.name
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
RETURN CASE WHEN pg_catalog.current_setting('role') = 'none' THEN SESSION_USER
            ELSE pg_catalog.current_setting('role')::pg_catalog.name END;
COMMENT ON FUNCTION etl.acting_role() IS
  'the role acting in this session: the SET ROLE role, else the session user';

CREATE FUNCTION etl.audit(action pg_catalog.text, object_type pg_catalog.text,
                          object_id pg_catalog.text, before pg_catalog.jsonb DEFAULT NULL,
                          after pg_catalog.jsonb DEFAULT NULL, run_id pg_catalog.int8 DEFAULT NULL,
                          details pg_catalog.jsonb DEFAULT '{}', actor pg_catalog.name DEFAULT NULL)
RETURNS void
LANGUAGE sql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    INSERT INTO etl.audit_log (session_user_name, current_role_name, action, object_type,
                               object_id, run_id, before, after, details)
    VALUES (SESSION_USER, COALESCE(actor, etl.acting_role()), action, object_type, object_id, run_id,
            etl.redact(before), etl.redact(after), etl.redact(COALESCE(details, '{}')));
END;
COMMENT ON FUNCTION etl.audit(pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.jsonb, pg_catalog.jsonb, pg_catalog.int8, pg_catalog.jsonb, pg_catalog.name) IS
  'appends an audit row (secrets redacted); only metaetl itself may call it';
REVOKE ALL ON FUNCTION etl.audit(pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.jsonb, pg_catalog.jsonb, pg_catalog.int8, pg_catalog.jsonb, pg_catalog.name) FROM PUBLIC;

CREATE FUNCTION etl.audit_trigger()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    b jsonb := CASE WHEN TG_OP IN ('UPDATE', 'DELETE') THEN pg_catalog.to_jsonb(OLD) END;
    a jsonb := CASE WHEN TG_OP IN ('INSERT', 'UPDATE') THEN pg_catalog.to_jsonb(NEW) END;
    id text;
    act text;
BEGIN
    -- pg_restore replays rows that were audited when first written (and the
    -- audit rows themselves): do not audit them a second time
    IF pg_catalog.current_setting('application_name') = 'pg_restore' THEN
        RETURN NULL;
    END IF;
    -- credentials: never the secret itself
    b := b OPERATOR(pg_catalog.-) 'secret';
    a := a OPERATOR(pg_catalog.-) 'secret';
    id := COALESCE(a, b) OPERATOR(pg_catalog.->>) TG_ARGV[1];
    act := CASE TG_OP WHEN 'INSERT' THEN 'create' WHEN 'UPDATE' THEN 'update' ELSE 'drop' END;
    IF TG_OP = 'UPDATE' AND a OPERATOR(pg_catalog.=) b THEN
        RETURN NULL;
    END IF;
    PERFORM etl.audit(act, TG_ARGV[0], id, b, a);
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION etl.audit_trigger() IS
  'trigger: audits inserts, updates and deletes of pipelines, connections and credentials';

CREATE TRIGGER pipelines_audit AFTER INSERT OR UPDATE OR DELETE ON etl.pipelines
    FOR EACH ROW EXECUTE FUNCTION etl.audit_trigger('pipeline', 'pipeline_id');
CREATE TRIGGER data_sources_audit AFTER INSERT OR UPDATE OR DELETE ON etl.data_sources
    FOR EACH ROW EXECUTE FUNCTION etl.audit_trigger('connection', 'name');
CREATE TRIGGER data_targets_audit AFTER INSERT OR UPDATE OR DELETE ON etl.data_targets
    FOR EACH ROW EXECUTE FUNCTION etl.audit_trigger('connection', 'name');
CREATE TRIGGER credentials_audit AFTER INSERT OR UPDATE OR DELETE ON etl.credentials
    FOR EACH ROW EXECUTE FUNCTION etl.audit_trigger('credential', 'name');

CREATE FUNCTION etl.audit_log_guard()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF CURRENT_USER OPERATOR(pg_catalog.<>) (SELECT e.extowner::pg_catalog.regrole::pg_catalog.name
                                               FROM pg_catalog.pg_extension e WHERE e.extname = 'metaetl') THEN
        RAISE EXCEPTION 'etl.audit_log is append-only'
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = pg_catalog.format('%s by role %s was refused.', TG_OP, CURRENT_USER),
                  HINT = 'Only the extension owner may change or remove audit rows.';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END
$$;
COMMENT ON FUNCTION etl.audit_log_guard() IS
  'trigger: keeps etl.audit_log append-only for everyone but the extension owner';
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON etl.audit_log
    FOR EACH ROW EXECUTE FUNCTION etl.audit_log_guard();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON etl.audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION etl.audit_log_guard();

------------------------------------------------------------------------------
-- Privileges: plain roles use metaetl for their own pipelines.  Row-level
-- security shows each role the pipelines, connections and runs of roles it is
-- a member of; records are written by metaetl itself as the extension owner.

CREATE FUNCTION etl.may_act_as(role_name pg_catalog.name)
RETURNS pg_catalog.bool
LANGUAGE c STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_may_act_as';
COMMENT ON FUNCTION etl.may_act_as(pg_catalog.name) IS
  'true when the current role is, or is a member of, the named role';

GRANT USAGE ON SCHEMA etl TO PUBLIC;

GRANT SELECT, INSERT, UPDATE, DELETE ON etl.pipelines, etl.pipeline_versions,
      etl.data_sources, etl.data_targets TO PUBLIC;
GRANT SELECT ON etl.pipeline_runs, etl.run_attempts, etl.step_runs, etl.pipeline_stats TO PUBLIC;
REVOKE ALL ON etl.audit_log FROM PUBLIC;

ALTER TABLE etl.pipelines ENABLE ROW LEVEL SECURITY;
CREATE POLICY pipelines_by_owner ON etl.pipelines
    USING (etl.may_act_as(owner)) WITH CHECK (etl.may_act_as(owner));

ALTER TABLE etl.pipeline_versions ENABLE ROW LEVEL SECURITY;
CREATE POLICY pipeline_versions_by_owner ON etl.pipeline_versions
    USING (EXISTS (SELECT 1 FROM etl.pipelines p WHERE p.pipeline_id OPERATOR(pg_catalog.=) pipeline_versions.pipeline_id));

ALTER TABLE etl.data_sources ENABLE ROW LEVEL SECURITY;
CREATE POLICY data_sources_by_owner ON etl.data_sources
    USING (etl.may_act_as(owner)) WITH CHECK (etl.may_act_as(owner));
ALTER TABLE etl.data_targets ENABLE ROW LEVEL SECURITY;
CREATE POLICY data_targets_by_owner ON etl.data_targets
    USING (etl.may_act_as(owner)) WITH CHECK (etl.may_act_as(owner));

ALTER TABLE etl.pipeline_runs ENABLE ROW LEVEL SECURITY;
CREATE POLICY pipeline_runs_visible ON etl.pipeline_runs
    USING (etl.may_act_as(run_as)
           OR EXISTS (SELECT 1 FROM etl.pipelines p WHERE p.pipeline_id OPERATOR(pg_catalog.=) pipeline_runs.pipeline_id));
ALTER TABLE etl.run_attempts ENABLE ROW LEVEL SECURITY;
CREATE POLICY run_attempts_visible ON etl.run_attempts
    USING (EXISTS (SELECT 1 FROM etl.pipeline_runs r WHERE r.run_id OPERATOR(pg_catalog.=) run_attempts.run_id));
ALTER TABLE etl.step_runs ENABLE ROW LEVEL SECURITY;
CREATE POLICY step_runs_visible ON etl.step_runs
    USING (EXISTS (SELECT 1 FROM etl.pipeline_runs r WHERE r.run_id OPERATOR(pg_catalog.=) step_runs.run_id));

-- 0.2: a failed run keeps its error's hint too (the did-you-mean of an
-- unknown column); added here, after the table, so that fresh and upgraded
-- catalogs have the same column order.
ALTER TABLE etl.pipeline_runs ADD COLUMN error_hint pg_catalog.text;
COMMENT ON COLUMN etl.pipeline_runs.error_hint IS 'the hint of the error that failed the run (e.g. a did-you-mean), or null';
