-- metaetl install script, assembled by the Makefile from sql/install/*.sql in
-- name order.  Each fragment belongs to one subsystem; every object is
-- schema-qualified.  The script creates schema etl itself (as pg_cron does
-- for cron), so the schema is a member of the extension and DROP EXTENSION
-- removes it with everything in it.

\echo Use "CREATE EXTENSION metaetl" to load this file. \quit

CREATE SCHEMA etl;
COMMENT ON SCHEMA etl IS 'metaetl: pipeline metadata, run records, quality results, monitoring and security tables';

-- Helper used by CHECK constraints: identifiers of pipelines, steps and
-- connections are lower-case ASCII, start with a letter, at most 63 bytes.
CREATE FUNCTION etl.is_valid_id(id pg_catalog.text)
RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN id OPERATOR(pg_catalog.~) '^[a-z][a-z0-9_]*$'
   AND pg_catalog.octet_length(id) OPERATOR(pg_catalog.<=) 63;
COMMENT ON FUNCTION etl.is_valid_id(pg_catalog.text) IS
  'true when id is a valid metaetl identifier: [a-z][a-z0-9_]*, at most 63 bytes';
-- Core metadata: pipelines and their versions, connections (data_sources,
-- data_targets), credentials and run records.

CREATE TABLE etl.credentials (
    name            pg_catalog.text PRIMARY KEY CHECK (etl.is_valid_id(name)),
    kind            pg_catalog.text NOT NULL DEFAULT 'password'
                    CHECK (kind IN ('password', 'token', 'access_key', 'connection_string', 'certificate')),
    secret          pg_catalog.bytea NOT NULL,          -- encrypted; never plain text
    key_id          pg_catalog.text,                    -- which encryption key sealed it
    owner           pg_catalog.name NOT NULL DEFAULT CURRENT_USER,
    description     pg_catalog.text,
    created_at      pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
    rotated_at      pg_catalog.timestamptz
);
COMMENT ON TABLE etl.credentials IS
  'Named secrets (passwords, tokens, keys), encrypted at rest; connections refer to them by name';

CREATE TABLE etl.pipelines (
    pipeline_id     pg_catalog.text PRIMARY KEY CHECK (etl.is_valid_id(pipeline_id)),
    name            pg_catalog.text NOT NULL,
    description     pg_catalog.text,
    owner           pg_catalog.name NOT NULL DEFAULT CURRENT_USER,
    current_version pg_catalog.int4 NOT NULL DEFAULT 1 CHECK (current_version >= 1),
    config          pg_catalog.jsonb NOT NULL CHECK (pg_catalog.jsonb_typeof(config) = 'object'),
    spec_hash       pg_catalog.text,
    engine          pg_catalog.text NOT NULL DEFAULT 'auto'
                    CHECK (engine IN ('auto', 'pushdown', 'staged', 'parallel')),
    enabled         pg_catalog.bool NOT NULL DEFAULT true,
    tags            pg_catalog.text[] NOT NULL DEFAULT '{}',
    created_at      pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at      pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE INDEX pipelines_owner_idx ON etl.pipelines (owner);
CREATE INDEX pipelines_tags_idx ON etl.pipelines USING gin (tags);
COMMENT ON TABLE etl.pipelines IS
  'One row per registered pipeline: its current normalised configuration, owner and state';

CREATE TABLE etl.pipeline_versions (
    pipeline_id     pg_catalog.text NOT NULL REFERENCES etl.pipelines ON DELETE CASCADE,
    version         pg_catalog.int4 NOT NULL CHECK (version >= 1),
    config          pg_catalog.jsonb NOT NULL CHECK (pg_catalog.jsonb_typeof(config) = 'object'),
    source_text     pg_catalog.text,
    spec_hash       pg_catalog.text NOT NULL,
    author          pg_catalog.name NOT NULL DEFAULT CURRENT_USER,
    created_at      pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (pipeline_id, version)
);
COMMENT ON TABLE etl.pipeline_versions IS
  'Every distinct configuration a pipeline has had; a new row only when the spec hash changes';

CREATE TABLE etl.data_sources (
    name            pg_catalog.text PRIMARY KEY CHECK (etl.is_valid_id(name)),
    type            pg_catalog.text NOT NULL CHECK (type OPERATOR(pg_catalog.~) '^[a-z][a-z0-9_]*$'),
    options         pg_catalog.jsonb NOT NULL DEFAULT '{}'
                    CHECK (pg_catalog.jsonb_typeof(options) = 'object'),
    credential      pg_catalog.text REFERENCES etl.credentials (name) ON DELETE RESTRICT,
    owner           pg_catalog.name NOT NULL DEFAULT CURRENT_USER,
    description     pg_catalog.text,
    created_at      pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at      pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE INDEX data_sources_credential_idx ON etl.data_sources (credential);
COMMENT ON TABLE etl.data_sources IS
  'Named source connections (pipeline sources say connection: NAME); secrets live in etl.credentials';

CREATE TABLE etl.data_targets (
    name            pg_catalog.text PRIMARY KEY CHECK (etl.is_valid_id(name)),
    type            pg_catalog.text NOT NULL CHECK (type OPERATOR(pg_catalog.~) '^[a-z][a-z0-9_]*$'),
    options         pg_catalog.jsonb NOT NULL DEFAULT '{}'
                    CHECK (pg_catalog.jsonb_typeof(options) = 'object'),
    credential      pg_catalog.text REFERENCES etl.credentials (name) ON DELETE RESTRICT,
    owner           pg_catalog.name NOT NULL DEFAULT CURRENT_USER,
    description     pg_catalog.text,
    created_at      pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at      pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE INDEX data_targets_credential_idx ON etl.data_targets (credential);
COMMENT ON TABLE etl.data_targets IS
  'Named target connections (pipeline targets say connection: NAME); secrets live in etl.credentials';

CREATE TABLE etl.pipeline_runs (
    run_id          pg_catalog.int8 GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    pipeline_id     pg_catalog.text NOT NULL REFERENCES etl.pipelines ON DELETE CASCADE,
    version         pg_catalog.int4,
    trigger         pg_catalog.text NOT NULL DEFAULT 'manual'
                    CHECK (trigger IN ('manual', 'schedule', 'pg_cron', 'api', 'cli',
                                       'backfill', 'dependency', 'dataset', 'retry')),
    triggered_by    pg_catalog.text NOT NULL DEFAULT CURRENT_USER,
    run_as          pg_catalog.name NOT NULL DEFAULT CURRENT_USER,
    status          pg_catalog.text NOT NULL DEFAULT 'queued'
                    CHECK (status IN ('queued', 'running', 'succeeded', 'failed',
                                      'quality_failed', 'cancelled', 'abandoned', 'skipped')),
    params          pg_catalog.jsonb NOT NULL DEFAULT '{}',
    logical_date    pg_catalog.timestamptz,
    engine          pg_catalog.text,
    engine_reason   pg_catalog.text,
    attempt         pg_catalog.int4 NOT NULL DEFAULT 1 CHECK (attempt >= 1),
    queued_at       pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
    started_at      pg_catalog.timestamptz,
    ended_at        pg_catalog.timestamptz,
    rows_read       pg_catalog.int8 CHECK (rows_read >= 0),
    rows_written    pg_catalog.int8 CHECK (rows_written >= 0),
    quality_score   pg_catalog.numeric(5,2) CHECK (quality_score BETWEEN 0 AND 100),
    error_sqlstate  pg_catalog.bpchar(5),
    error_message   pg_catalog.text,
    error_detail    pg_catalog.text,
    error_step      pg_catalog.text,
    cpu_user_ms     pg_catalog.float8,
    cpu_sys_ms      pg_catalog.float8,
    peak_memory_kb  pg_catalog.int8,
    rows_per_sec    pg_catalog.float8,
    worker_pid      pg_catalog.int4,
    worker_started_at pg_catalog.timestamptz,      -- when a worker took the run (process start, or a pooled executor's hand-over)
    queue_id        pg_catalog.int8,
    quality_checks  pg_catalog.jsonb,
    result          pg_catalog.jsonb,
    CHECK (ended_at IS NULL OR started_at IS NULL OR ended_at >= started_at)
);
CREATE INDEX pipeline_runs_pipeline_idx ON etl.pipeline_runs (pipeline_id, queued_at DESC);
CREATE INDEX pipeline_runs_active_idx ON etl.pipeline_runs (status)
    WHERE status IN ('queued', 'running');
COMMENT ON TABLE etl.pipeline_runs IS
  'One row per pipeline run: trigger, status, engine, attempts, timings, row counts, quality score and error';
-- Data quality results: profiles, per-kind check results, scores, anomalies.
-- run_id is NULL for ad-hoc calls (etl.profile, etl.execute_dq_validation
-- outside a run).

CREATE TABLE etl.quality_scores (
    score_id        pg_catalog.int8 GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    run_id          pg_catalog.int8 REFERENCES etl.pipeline_runs ON DELETE CASCADE,
    pipeline_id     pg_catalog.text REFERENCES etl.pipelines ON DELETE CASCADE,
    dataset         pg_catalog.text NOT NULL,
    profile_name    pg_catalog.text,
    quality_score   pg_catalog.numeric(5,2) NOT NULL CHECK (quality_score BETWEEN 0 AND 100),
    completeness    pg_catalog.numeric(5,2) CHECK (completeness BETWEEN 0 AND 100),
    validity        pg_catalog.numeric(5,2) CHECK (validity BETWEEN 0 AND 100),
    uniqueness      pg_catalog.numeric(5,2) CHECK (uniqueness BETWEEN 0 AND 100),
    consistency     pg_catalog.numeric(5,2) CHECK (consistency BETWEEN 0 AND 100),
    timeliness      pg_catalog.numeric(5,2) CHECK (timeliness BETWEEN 0 AND 100),
    passed          pg_catalog.bool NOT NULL,
    rows_checked    pg_catalog.int8 CHECK (rows_checked >= 0),
    measured_at     pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE INDEX quality_scores_run_idx ON etl.quality_scores (run_id);
CREATE INDEX quality_scores_pipeline_idx ON etl.quality_scores (pipeline_id, measured_at DESC);
COMMENT ON TABLE etl.quality_scores IS
  'Quality score (0-100) of one validated dataset, overall and per dimension';

CREATE TABLE etl.profiling_stats (
    stat_id         pg_catalog.int8 GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    run_id          pg_catalog.int8 REFERENCES etl.pipeline_runs ON DELETE CASCADE,
    dataset         pg_catalog.text NOT NULL,
    column_name     pg_catalog.text,                 -- NULL: table-level figures
    data_type       pg_catalog.text,
    row_count       pg_catalog.int8 CHECK (row_count >= 0),
    metrics         pg_catalog.jsonb NOT NULL CHECK (pg_catalog.jsonb_typeof(metrics) = 'object'),
    profiled_at     pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE INDEX profiling_stats_dataset_idx ON etl.profiling_stats (dataset, profiled_at DESC);
CREATE INDEX profiling_stats_run_idx ON etl.profiling_stats (run_id);
COMMENT ON TABLE etl.profiling_stats IS
  'Column and table profiles (counts, nulls, distinct, ranges, quantiles, histograms) per dataset';

CREATE TABLE etl.completeness_checks (
    check_id        pg_catalog.int8 GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    run_id          pg_catalog.int8 REFERENCES etl.pipeline_runs ON DELETE CASCADE,
    score_id        pg_catalog.int8 REFERENCES etl.quality_scores ON DELETE CASCADE,
    dataset         pg_catalog.text NOT NULL,
    rule_name       pg_catalog.text NOT NULL,
    column_name     pg_catalog.text NOT NULL,
    severity        pg_catalog.text NOT NULL DEFAULT 'error' CHECK (severity IN ('error', 'warn')),
    threshold       pg_catalog.numeric(6,3) NOT NULL DEFAULT 100 CHECK (threshold BETWEEN 0 AND 100),
    total_rows      pg_catalog.int8 NOT NULL CHECK (total_rows >= 0),
    failed_rows     pg_catalog.int8 NOT NULL CHECK (failed_rows >= 0 AND failed_rows <= total_rows),
    observed_pct    pg_catalog.numeric(6,3) CHECK (observed_pct BETWEEN 0 AND 100),
    passed          pg_catalog.bool NOT NULL,
    samples         pg_catalog.jsonb NOT NULL DEFAULT '[]',
    checked_at      pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE INDEX completeness_checks_run_idx ON etl.completeness_checks (run_id);
CREATE INDEX completeness_checks_dataset_idx ON etl.completeness_checks (dataset, checked_at DESC);
COMMENT ON TABLE etl.completeness_checks IS
  'Results of completeness rules: share of non-NULL values in a column against a threshold';

CREATE TABLE etl.validity_checks (
    check_id        pg_catalog.int8 GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    run_id          pg_catalog.int8 REFERENCES etl.pipeline_runs ON DELETE CASCADE,
    score_id        pg_catalog.int8 REFERENCES etl.quality_scores ON DELETE CASCADE,
    dataset         pg_catalog.text NOT NULL,
    rule_name       pg_catalog.text NOT NULL,
    column_name     pg_catalog.text NOT NULL,
    check_kind      pg_catalog.text NOT NULL
                    CHECK (check_kind IN ('range', 'pattern', 'format', 'allowed_values', 'length', 'type')),
    params          pg_catalog.jsonb NOT NULL DEFAULT '{}',
    severity        pg_catalog.text NOT NULL DEFAULT 'error' CHECK (severity IN ('error', 'warn')),
    threshold       pg_catalog.numeric(6,3) NOT NULL DEFAULT 100 CHECK (threshold BETWEEN 0 AND 100),
    total_rows      pg_catalog.int8 NOT NULL CHECK (total_rows >= 0),
    failed_rows     pg_catalog.int8 NOT NULL CHECK (failed_rows >= 0 AND failed_rows <= total_rows),
    observed_pct    pg_catalog.numeric(6,3) CHECK (observed_pct BETWEEN 0 AND 100),
    passed          pg_catalog.bool NOT NULL,
    samples         pg_catalog.jsonb NOT NULL DEFAULT '[]',
    checked_at      pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE INDEX validity_checks_run_idx ON etl.validity_checks (run_id);
CREATE INDEX validity_checks_dataset_idx ON etl.validity_checks (dataset, checked_at DESC);
COMMENT ON TABLE etl.validity_checks IS
  'Results of validity rules (range, pattern, format, allowed values, length, type)';

CREATE TABLE etl.uniqueness_checks (
    check_id        pg_catalog.int8 GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    run_id          pg_catalog.int8 REFERENCES etl.pipeline_runs ON DELETE CASCADE,
    score_id        pg_catalog.int8 REFERENCES etl.quality_scores ON DELETE CASCADE,
    dataset         pg_catalog.text NOT NULL,
    rule_name       pg_catalog.text NOT NULL,
    columns         pg_catalog.text[] NOT NULL CHECK (pg_catalog.cardinality(columns) >= 1),
    severity        pg_catalog.text NOT NULL DEFAULT 'error' CHECK (severity IN ('error', 'warn')),
    threshold       pg_catalog.numeric(6,3) NOT NULL DEFAULT 100 CHECK (threshold BETWEEN 0 AND 100),
    total_rows      pg_catalog.int8 NOT NULL CHECK (total_rows >= 0),
    duplicate_rows  pg_catalog.int8 NOT NULL CHECK (duplicate_rows >= 0 AND duplicate_rows <= total_rows),
    distinct_values pg_catalog.int8 CHECK (distinct_values >= 0),
    observed_pct    pg_catalog.numeric(6,3) CHECK (observed_pct BETWEEN 0 AND 100),
    passed          pg_catalog.bool NOT NULL,
    samples         pg_catalog.jsonb NOT NULL DEFAULT '[]',
    checked_at      pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE INDEX uniqueness_checks_run_idx ON etl.uniqueness_checks (run_id);
CREATE INDEX uniqueness_checks_dataset_idx ON etl.uniqueness_checks (dataset, checked_at DESC);
COMMENT ON TABLE etl.uniqueness_checks IS
  'Results of uniqueness rules over one or several columns: duplicate rows and distinct values';

CREATE TABLE etl.anomaly_detection (
    detection_id    pg_catalog.int8 GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    run_id          pg_catalog.int8 REFERENCES etl.pipeline_runs ON DELETE CASCADE,
    pipeline_id     pg_catalog.text REFERENCES etl.pipelines ON DELETE CASCADE,
    dataset         pg_catalog.text NOT NULL,
    columns         pg_catalog.text[] NOT NULL,
    method          pg_catalog.text NOT NULL
                    CHECK (method IN ('zscore', 'iqr', 'mad', 'isolation_forest', 'rate_of_change')),
    options         pg_catalog.jsonb NOT NULL DEFAULT '{}',
    rows_scored     pg_catalog.int8 NOT NULL CHECK (rows_scored >= 0),
    anomalies       pg_catalog.int8 NOT NULL CHECK (anomalies >= 0 AND anomalies <= rows_scored),
    flagged         pg_catalog.jsonb NOT NULL DEFAULT '[]',   -- [{row_number, score}] of flagged rows
    detected_at     pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE INDEX anomaly_detection_dataset_idx ON etl.anomaly_detection (dataset, detected_at DESC);
CREATE INDEX anomaly_detection_run_idx ON etl.anomaly_detection (run_id);
COMMENT ON TABLE etl.anomaly_detection IS
  'One row per anomaly detection: method, options, rows scored and the flagged rows with their scores';
-- Monitoring: SLA definitions and compliance, alerts, the audit log.

CREATE TABLE etl.sla_definitions (
    sla_id          pg_catalog.int8 GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    pipeline_id     pg_catalog.text NOT NULL REFERENCES etl.pipelines ON DELETE CASCADE,
    sla_type        pg_catalog.text NOT NULL
                    CHECK (sla_type IN ('duration', 'success_rate', 'quality', 'freshness')),
    target          pg_catalog.numeric NOT NULL,      -- minutes, a 0-1 rate, a 0-100 score, minutes of age
    window_runs     pg_catalog.int4 CHECK (window_runs >= 1),
    window_interval pg_catalog.interval,
    options         pg_catalog.jsonb NOT NULL DEFAULT '{}',
    enabled         pg_catalog.bool NOT NULL DEFAULT true,
    created_at      pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
    UNIQUE (pipeline_id, sla_type),
    CHECK (sla_type <> 'success_rate' OR target BETWEEN 0 AND 1),
    CHECK (sla_type <> 'quality' OR target BETWEEN 0 AND 100),
    CHECK (sla_type NOT IN ('duration', 'freshness') OR target > 0)
);
COMMENT ON TABLE etl.sla_definitions IS
  'Service levels per pipeline: max duration, min success rate, min quality score, max data age';

CREATE TABLE etl.sla_compliance (
    compliance_id   pg_catalog.int8 GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    sla_id          pg_catalog.int8 NOT NULL REFERENCES etl.sla_definitions ON DELETE CASCADE,
    pipeline_id     pg_catalog.text NOT NULL REFERENCES etl.pipelines ON DELETE CASCADE,
    run_id          pg_catalog.int8 REFERENCES etl.pipeline_runs ON DELETE SET NULL,
    observed        pg_catalog.numeric,
    target          pg_catalog.numeric NOT NULL,
    compliant       pg_catalog.bool NOT NULL,
    details         pg_catalog.jsonb NOT NULL DEFAULT '{}',
    evaluated_at    pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE INDEX sla_compliance_pipeline_idx ON etl.sla_compliance (pipeline_id, evaluated_at DESC);
CREATE INDEX sla_compliance_sla_idx ON etl.sla_compliance (sla_id, evaluated_at DESC);
CREATE INDEX sla_compliance_run_idx ON etl.sla_compliance (run_id);
COMMENT ON TABLE etl.sla_compliance IS
  'Every SLA evaluation: observed value, target and whether it complied';

CREATE TABLE etl.alerts (
    alert_id        pg_catalog.int8 GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    alert_type      pg_catalog.text NOT NULL
                    CHECK (alert_type IN ('pipeline_failure', 'sla_violation', 'quality_failure',
                                          'anomaly', 'system_error', 'performance')),
    priority        pg_catalog.text NOT NULL DEFAULT 'medium'
                    CHECK (priority IN ('critical', 'high', 'medium', 'low')),
    status          pg_catalog.text NOT NULL DEFAULT 'open'
                    CHECK (status IN ('open', 'acknowledged', 'resolved')),
    pipeline_id     pg_catalog.text REFERENCES etl.pipelines ON DELETE SET NULL,
    run_id          pg_catalog.int8 REFERENCES etl.pipeline_runs ON DELETE SET NULL,
    message         pg_catalog.text NOT NULL,
    details         pg_catalog.jsonb NOT NULL DEFAULT '{}',
    dedup_key       pg_catalog.text NOT NULL,
    occurrences     pg_catalog.int4 NOT NULL DEFAULT 1 CHECK (occurrences >= 1),
    first_seen_at   pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
    last_seen_at    pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
    acknowledged_at pg_catalog.timestamptz,
    acknowledged_by pg_catalog.name,
    resolved_at     pg_catalog.timestamptz,
    resolved_by     pg_catalog.name,
    CHECK (status <> 'acknowledged' OR acknowledged_at IS NOT NULL),
    CHECK (status <> 'resolved' OR resolved_at IS NOT NULL)
);
-- a repeating problem keeps one open alert: at most one unresolved row per key
CREATE UNIQUE INDEX alerts_open_dedup_idx ON etl.alerts (dedup_key) WHERE status <> 'resolved';
CREATE INDEX alerts_pipeline_idx ON etl.alerts (pipeline_id, first_seen_at DESC);
CREATE INDEX alerts_status_idx ON etl.alerts (status, priority) WHERE status <> 'resolved';
COMMENT ON TABLE etl.alerts IS
  'Alerts (failures, SLA violations, quality failures, anomalies): one open row per dedup key with a counter';

CREATE TABLE etl.audit_log (
    audit_id        pg_catalog.int8 GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    occurred_at     pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    session_user_name pg_catalog.name NOT NULL DEFAULT SESSION_USER,
    current_role_name pg_catalog.name NOT NULL DEFAULT CURRENT_USER,
    client_addr     pg_catalog.inet DEFAULT pg_catalog.inet_client_addr(),
    action          pg_catalog.text NOT NULL,
    object_type     pg_catalog.text NOT NULL,
    object_id       pg_catalog.text,
    run_id          pg_catalog.int8,
    before          pg_catalog.jsonb,
    after           pg_catalog.jsonb,
    details         pg_catalog.jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_object_idx ON etl.audit_log (object_type, object_id, occurred_at DESC);
CREATE INDEX audit_log_time_idx ON etl.audit_log (occurred_at);
COMMENT ON TABLE etl.audit_log IS
  'Append-only trail of who did what and when (pipelines, connections, runs), secrets redacted';
-- Security: framework users and roles, their assignment, and the access log.
-- Users map onto PostgreSQL roles; privileges are enforced by PostgreSQL.

CREATE TABLE etl.roles (
    role_name       pg_catalog.text PRIMARY KEY CHECK (etl.is_valid_id(role_name)),
    description     pg_catalog.text,
    permissions     pg_catalog.text[] NOT NULL DEFAULT '{}'
                    CHECK (permissions OPERATOR(pg_catalog.<@) ARRAY['pipeline.read', 'pipeline.write',
                           'pipeline.execute', 'pipeline.drop', 'connection.read', 'connection.write',
                           'credential.write', 'alert.manage', 'audit.read', 'admin']::pg_catalog.text[]),
    created_at      pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE etl.roles IS
  'Framework roles and the permissions they grant';

CREATE TABLE etl.users (
    user_id         pg_catalog.int8 GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    username        pg_catalog.text NOT NULL UNIQUE CHECK (username <> ''),
    db_role         pg_catalog.name,                    -- the PostgreSQL role the user acts as
    email           pg_catalog.text CHECK (email IS NULL OR email OPERATOR(pg_catalog.~) '^[^@\s]+@[^@\s]+$'),
    display_name    pg_catalog.text,
    is_active       pg_catalog.bool NOT NULL DEFAULT true,
    created_at      pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
    last_seen_at    pg_catalog.timestamptz
);
CREATE INDEX users_db_role_idx ON etl.users (db_role);
COMMENT ON TABLE etl.users IS
  'Framework users (people and services) and the PostgreSQL role each acts as';

CREATE TABLE etl.user_roles (
    user_id         pg_catalog.int8 NOT NULL REFERENCES etl.users ON DELETE CASCADE,
    role_name       pg_catalog.text NOT NULL REFERENCES etl.roles ON DELETE CASCADE,
    granted_at      pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
    granted_by      pg_catalog.name NOT NULL DEFAULT CURRENT_USER,
    PRIMARY KEY (user_id, role_name)
);
CREATE INDEX user_roles_role_idx ON etl.user_roles (role_name);
COMMENT ON TABLE etl.user_roles IS
  'Which framework roles each user holds';

CREATE TABLE etl.access_log (
    access_id       pg_catalog.int8 GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    occurred_at     pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    user_id         pg_catalog.int8 REFERENCES etl.users ON DELETE SET NULL,
    db_role         pg_catalog.name NOT NULL DEFAULT CURRENT_USER,
    client_addr     pg_catalog.inet DEFAULT pg_catalog.inet_client_addr(),
    action          pg_catalog.text NOT NULL,
    object_type     pg_catalog.text,
    object_id       pg_catalog.text,
    granted         pg_catalog.bool NOT NULL,
    reason          pg_catalog.text
);
CREATE INDEX access_log_time_idx ON etl.access_log (occurred_at);
CREATE INDEX access_log_user_idx ON etl.access_log (user_id, occurred_at DESC);
COMMENT ON TABLE etl.access_log IS
  'Access-control decisions: who asked for what, and whether it was granted';
-- Pipeline configuration: parsing and validation (C), the versioned
-- registry, connections, settings for {{env.NAME}} templates.

CREATE TABLE etl.settings (
    name            pg_catalog.text PRIMARY KEY CHECK (name OPERATOR(pg_catalog.~) '^[A-Za-z_][A-Za-z0-9_.]*$'),
    value           pg_catalog.text,
    description     pg_catalog.text,
    updated_at      pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE etl.settings IS
  'Admin-managed values for {{env.NAME}} templates (never the server''s process environment; not for secrets)';
REVOKE ALL ON etl.settings FROM PUBLIC;

CREATE FUNCTION etl.validate_config(config pg_catalog.text)
RETURNS TABLE (severity pg_catalog.text, path pg_catalog.text, line pg_catalog.int4,
               col pg_catalog.int4, message pg_catalog.text)
LANGUAGE c VOLATILE STRICT
AS 'MODULE_PATHNAME', 'metaetl_validate_config';
COMMENT ON FUNCTION etl.validate_config(pg_catalog.text) IS
  'every problem of a YAML or JSON pipeline configuration (severity, path, line, col, message); no rows = valid';

CREATE FUNCTION etl.register_pipeline(config pg_catalog.text)
RETURNS pg_catalog.text
LANGUAGE c VOLATILE STRICT
AS 'MODULE_PATHNAME', 'metaetl_register_pipeline';
COMMENT ON FUNCTION etl.register_pipeline(pg_catalog.text) IS
  'validate and store a pipeline configuration; a new version only when the normalised spec changed; returns the pipeline id';

CREATE FUNCTION etl.load_configuration(config pg_catalog.text)
RETURNS pg_catalog.jsonb
LANGUAGE c VOLATILE STRICT
AS 'MODULE_PATHNAME', 'metaetl_load_configuration';
COMMENT ON FUNCTION etl.load_configuration(pg_catalog.text) IS
  'the normalised form of a configuration, without storing it (raises when it has errors)';

CREATE FUNCTION etl.export_pipeline(pipeline_id pg_catalog.text)
RETURNS pg_catalog.text
LANGUAGE c STABLE STRICT
AS 'MODULE_PATHNAME', 'metaetl_export_pipeline';
COMMENT ON FUNCTION etl.export_pipeline(pg_catalog.text) IS
  'the current configuration of a pipeline as YAML, which registers back to the same spec hash';

CREATE FUNCTION etl.parse_config(config pg_catalog.text)
RETURNS pg_catalog.jsonb
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_parse_config';
COMMENT ON FUNCTION etl.parse_config(pg_catalog.text) IS
  'YAML or JSON text as jsonb (anchors, aliases and merge keys resolved), without validation';

CREATE FUNCTION etl.config_positions(config pg_catalog.text)
RETURNS TABLE (path pg_catalog.text, line pg_catalog.int4, col pg_catalog.int4, kind pg_catalog.text)
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_config_positions';
COMMENT ON FUNCTION etl.config_positions(pg_catalog.text) IS
  'the line and column of every node of a YAML or JSON document, by path';

CREATE FUNCTION etl.render_template(template pg_catalog.text, context pg_catalog.jsonb DEFAULT '{}')
RETURNS pg_catalog.text
LANGUAGE c STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'metaetl_render_template';
COMMENT ON FUNCTION etl.render_template(pg_catalog.text, pg_catalog.jsonb) IS
  'render {{last_run}}, {{run_id}}, {{watermark}}, {{logical_date}}, {{param.NAME}}, {{env.NAME}} in SQL text as quoted literals';

CREATE FUNCTION etl.load_pipeline_config(pipeline_id pg_catalog.text, version pg_catalog.int4 DEFAULT NULL)
RETURNS pg_catalog.jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    result pg_catalog.jsonb;
BEGIN
    IF version IS NULL THEN
        SELECT p.config INTO result FROM etl.pipelines p
         WHERE p.pipeline_id OPERATOR(pg_catalog.=) load_pipeline_config.pipeline_id;
    ELSE
        SELECT v.config INTO result FROM etl.pipeline_versions v
         WHERE v.pipeline_id OPERATOR(pg_catalog.=) load_pipeline_config.pipeline_id
           AND v.version OPERATOR(pg_catalog.=) load_pipeline_config.version;
    END IF;
    IF result IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'undefined_object',
            MESSAGE = pg_catalog.format('pipeline "%s"%s does not exist', pipeline_id,
                      CASE WHEN version IS NULL THEN '' ELSE pg_catalog.format(' version %s', version) END),
            HINT = 'etl.pipelines and etl.pipeline_versions list what is registered.';
    END IF;
    RETURN result;
END
$fn$;
COMMENT ON FUNCTION etl.load_pipeline_config(pg_catalog.text, pg_catalog.int4) IS
  'the normalised configuration of a pipeline: the current one, or the given version';

CREATE FUNCTION etl.drop_pipeline(pipeline_id pg_catalog.text)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    owner_role pg_catalog.name;
    ver pg_catalog.int4;
BEGIN
    SELECT p.owner, p.current_version INTO owner_role, ver FROM etl.pipelines p
     WHERE p.pipeline_id OPERATOR(pg_catalog.=) drop_pipeline.pipeline_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'undefined_object',
            MESSAGE = pg_catalog.format('pipeline "%s" does not exist', pipeline_id);
    END IF;
    IF NOT pg_catalog.pg_has_role(CURRENT_USER, owner_role, 'MEMBER') THEN
        RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege',
            MESSAGE = pg_catalog.format('pipeline "%s" belongs to role "%s"', pipeline_id, owner_role),
            HINT = 'Only members of the owning role may drop it.';
    END IF;
    -- the audit trigger on etl.pipelines records the drop
    DELETE FROM etl.pipelines p WHERE p.pipeline_id OPERATOR(pg_catalog.=) drop_pipeline.pipeline_id;
END
$fn$;
COMMENT ON FUNCTION etl.drop_pipeline(pg_catalog.text) IS
  'remove a pipeline with its versions and run records';

CREATE FUNCTION etl.config_leaves(config pg_catalog.jsonb)
RETURNS TABLE (path pg_catalog.text, value pg_catalog.jsonb)
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
BEGIN ATOMIC
    WITH RECURSIVE walk(path, value) AS (
        SELECT ''::pg_catalog.text, config
        UNION ALL
        SELECT c.path, c.value
          FROM walk w,
               LATERAL (SELECT CASE WHEN w.path OPERATOR(pg_catalog.=) '' THEN e.key
                                    ELSE w.path OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||) e.key END,
                               e.value
                          FROM pg_catalog.jsonb_each(CASE WHEN pg_catalog.jsonb_typeof(w.value) OPERATOR(pg_catalog.=) 'object'
                                                          THEN w.value ELSE '{}'::pg_catalog.jsonb END) e
                        UNION ALL
                        SELECT w.path OPERATOR(pg_catalog.||) '[' OPERATOR(pg_catalog.||) (a.i OPERATOR(pg_catalog.-) 1) OPERATOR(pg_catalog.||) ']',
                               a.value
                          FROM pg_catalog.jsonb_array_elements(CASE WHEN pg_catalog.jsonb_typeof(w.value) OPERATOR(pg_catalog.=) 'array'
                                                                    THEN w.value ELSE '[]'::pg_catalog.jsonb END)
                               WITH ORDINALITY a(value, i)) c(path, value)
    )
    SELECT walk.path, walk.value FROM walk
     WHERE pg_catalog.jsonb_typeof(walk.value) NOT IN ('object', 'array')
        OR walk.value IN ('{}'::pg_catalog.jsonb, '[]'::pg_catalog.jsonb);
END;
COMMENT ON FUNCTION etl.config_leaves(pg_catalog.jsonb) IS
  'the scalar (and empty) values of a jsonb document with their paths, such as pipeline.transforms[0].params.condition';

CREATE FUNCTION etl.pipeline_diff(pipeline_id pg_catalog.text, v1 pg_catalog.int4, v2 pg_catalog.int4 DEFAULT NULL)
RETURNS TABLE (path pg_catalog.text, change pg_catalog.text, old_value pg_catalog.jsonb, new_value pg_catalog.jsonb)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    a pg_catalog.jsonb := etl.load_pipeline_config(pipeline_id, v1);
    b pg_catalog.jsonb := etl.load_pipeline_config(pipeline_id, v2);
BEGIN
    RETURN QUERY
    SELECT COALESCE(x.path, y.path),
           CASE WHEN x.path IS NULL THEN 'added' WHEN y.path IS NULL THEN 'removed' ELSE 'changed' END,
           x.value, y.value
      FROM etl.config_leaves(a) x
      FULL JOIN etl.config_leaves(b) y ON x.path OPERATOR(pg_catalog.=) y.path
     WHERE x.value IS DISTINCT FROM y.value
     ORDER BY 1;
END
$fn$;
COMMENT ON FUNCTION etl.pipeline_diff(pg_catalog.text, pg_catalog.int4, pg_catalog.int4) IS
  'the paths that differ between two versions of a pipeline (v2 NULL = the current one): added, removed or changed';

CREATE FUNCTION etl.add_connection(name pg_catalog.text, type pg_catalog.text,
                                   options pg_catalog.jsonb DEFAULT '{}',
                                   credential pg_catalog.text DEFAULT NULL,
                                   usage pg_catalog.text DEFAULT 'both')
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    secret_key pg_catalog.text;
BEGIN
    IF name IS NULL OR NOT etl.is_valid_id(name) THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = pg_catalog.format('"%s" is not a valid connection name', name),
            HINT = 'Use lower-case letters, digits and _, starting with a letter, at most 63 bytes.';
    END IF;
    IF type IS NULL OR type NOT IN ('postgresql', 'http', 's3', 'gcs', 'azure_blob', 'file') THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = pg_catalog.format('unknown connection type "%s"', type),
            HINT = 'Valid types: postgresql, http, s3, gcs, azure_blob, file.';
    END IF;
    IF usage IS NULL OR usage NOT IN ('source', 'target', 'both') THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = pg_catalog.format('unknown connection usage "%s"', usage),
            HINT = 'Valid: source, target, both.';
    END IF;
    options := COALESCE(options, '{}');
    IF pg_catalog.jsonb_typeof(options) OPERATOR(pg_catalog.<>) 'object' THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = 'connection options must be a JSON object';
    END IF;
    SELECT l.path INTO secret_key FROM etl.config_leaves(options) l
     WHERE l.path OPERATOR(pg_catalog.~*) '(^|\.)(password|passwd|pwd|secret|secret_key|token|api_key|apikey|private_key|access_key)$'
        OR (pg_catalog.jsonb_typeof(l.value) OPERATOR(pg_catalog.=) 'string'
            AND (l.value OPERATOR(pg_catalog.#>>) '{}') OPERATOR(pg_catalog.~*) '(password|pwd)\s*=|://[^/@:]+:[^/@]+@')
     LIMIT 1;
    IF secret_key IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = pg_catalog.format('connection options must not hold secrets (found at %s)', secret_key),
            HINT = 'Store the secret as a credential and pass its name as the credential argument.';
    END IF;
    IF credential IS NOT NULL AND NOT EXISTS (SELECT FROM etl.credentials c
                                               WHERE c.name OPERATOR(pg_catalog.=) credential) THEN
        RAISE EXCEPTION USING ERRCODE = 'undefined_object',
            MESSAGE = pg_catalog.format('credential "%s" does not exist', credential);
    END IF;
    IF usage IN ('source', 'both') THEN
        INSERT INTO etl.data_sources AS d (name, type, options, credential)
        VALUES (name, type, options, credential)
        ON CONFLICT ON CONSTRAINT data_sources_pkey DO UPDATE
           SET type = EXCLUDED.type, options = EXCLUDED.options, credential = EXCLUDED.credential,
               updated_at = pg_catalog.now();
    END IF;
    IF usage IN ('target', 'both') THEN
        INSERT INTO etl.data_targets AS d (name, type, options, credential)
        VALUES (name, type, options, credential)
        ON CONFLICT ON CONSTRAINT data_targets_pkey DO UPDATE
           SET type = EXCLUDED.type, options = EXCLUDED.options, credential = EXCLUDED.credential,
               updated_at = pg_catalog.now();
    END IF;
    -- the audit triggers on etl.data_sources / etl.data_targets record the change
END
$fn$;
COMMENT ON FUNCTION etl.add_connection(pg_catalog.text, pg_catalog.text, pg_catalog.jsonb, pg_catalog.text, pg_catalog.text) IS
  'create or replace a named connection in etl.data_sources and/or etl.data_targets (usage source, target or both); secrets only by credential name';

CREATE FUNCTION etl.get_connection_config(name pg_catalog.text)
RETURNS pg_catalog.jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    s etl.data_sources;
    t etl.data_targets;
BEGIN
    SELECT * INTO s FROM etl.data_sources d WHERE d.name OPERATOR(pg_catalog.=) get_connection_config.name;
    SELECT * INTO t FROM etl.data_targets d WHERE d.name OPERATOR(pg_catalog.=) get_connection_config.name;
    IF s.name IS NULL AND t.name IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'undefined_object',
            MESSAGE = pg_catalog.format('connection "%s" does not exist', name),
            HINT = 'Create it with etl.add_connection().';
    END IF;
    RETURN pg_catalog.jsonb_build_object(
        'name', COALESCE(s.name, t.name),
        'type', COALESCE(s.type, t.type),
        'options', COALESCE(s.options, t.options),
        'credential', COALESCE(s.credential, t.credential),
        'usage', CASE WHEN s.name IS NOT NULL AND t.name IS NOT NULL THEN 'both'
                      WHEN s.name IS NOT NULL THEN 'source' ELSE 'target' END,
        'this_database', COALESCE(s.type, t.type) OPERATOR(pg_catalog.=) 'postgresql'
                         AND NOT (COALESCE(s.options, t.options) OPERATOR(pg_catalog.?|) ARRAY['host', 'port', 'dbname']));
END
$fn$;
COMMENT ON FUNCTION etl.get_connection_config(pg_catalog.text) IS
  'a connection''s type, options, credential name and usage (never the secret itself)';
-- Transform engine: compile pipeline steps to SQL, run them, load targets.
-- C in src/transform and src/connectors; see docs/transforms.md.

CREATE FUNCTION etl.compile_pipeline(pipeline_id pg_catalog.text)
RETURNS pg_catalog.text
LANGUAGE c VOLATILE STRICT
AS 'MODULE_PATHNAME', 'metaetl_compile_pipeline';
COMMENT ON FUNCTION etl.compile_pipeline(pg_catalog.text) IS
  'the SQL a run of the pipeline would execute (engine chosen as for a run), without loading anything';

CREATE FUNCTION etl.preview(pipeline_id pg_catalog.text, step_id pg_catalog.text,
                            lim pg_catalog.int4 DEFAULT 20)
RETURNS SETOF pg_catalog.jsonb
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'metaetl_preview';
COMMENT ON FUNCTION etl.preview(pg_catalog.text, pg_catalog.text, pg_catalog.int4) IS
  'the first lim rows of a source or step of a registered pipeline, one jsonb object per row';

CREATE FUNCTION etl.execute_plan(config pg_catalog.jsonb,
                                 params pg_catalog.jsonb DEFAULT '{}',
                                 options pg_catalog.jsonb DEFAULT '{}')
RETURNS pg_catalog.jsonb
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'metaetl_execute_plan';
COMMENT ON FUNCTION etl.execute_plan(pg_catalog.jsonb, pg_catalog.jsonb, pg_catalog.jsonb) IS
  'run the sources, steps and targets of a normalised config in the caller''s transaction; returns rows, engine and per-step figures';

CREATE FUNCTION etl.execute_transformations(source pg_catalog.text,
                                            transform_config pg_catalog.jsonb,
                                            target pg_catalog.text,
                                            engine pg_catalog.text DEFAULT 'auto')
RETURNS pg_catalog.jsonb
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'metaetl_execute_transformations';
COMMENT ON FUNCTION etl.execute_transformations(pg_catalog.text, pg_catalog.jsonb, pg_catalog.text, pg_catalog.text) IS
  'ad-hoc run of {"steps": [...]} from a relation or SELECT into a table (created when missing); returns rows, engine, sql, duration_ms';

-- The parallel engine's key-range workers are separate sessions: each writes
-- its range's result to an unlogged table here and commits; the run reads
-- and drops them.  Any role may create tables here (never on a search_path).
CREATE SCHEMA etl_work;
GRANT USAGE, CREATE ON SCHEMA etl_work TO PUBLIC;
COMMENT ON SCHEMA etl_work IS
  'transient result tables of the parallel engine''s background workers (dropped after each run)';
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
BEGIN
    UPDATE etl.pipeline_runs r
       SET status = 'abandoned',
           ended_at = pg_catalog.clock_timestamp(),
           error_message = 'the run was interrupted: the server restarted or its worker exited'
     WHERE r.status = 'running'
       AND (r.started_at < pg_catalog.pg_postmaster_start_time()
            OR (r.worker_pid IS NOT NULL
                AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity a
                                 WHERE a.pid = r.worker_pid)));
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n > 0 THEN
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

-- Called back by etl.execute_plan() during a run, before any target loads:
-- runs etl.quality_gate() on the nodes the pipeline's quality rules name.
CREATE FUNCTION etl.run_quality_hook(ctx pg_catalog.jsonb)
RETURNS pg_catalog.jsonb
LANGUAGE c VOLATILE STRICT
AS 'MODULE_PATHNAME', 'metaetl_run_quality_hook';
COMMENT ON FUNCTION etl.run_quality_hook(pg_catalog.jsonb) IS
  'run-time quality gate hook: checks the nodes named by the running pipeline''s rules; raises MEQ01 when the gate fails';

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
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
RETURN EXISTS (SELECT 1 FROM pg_catalog.pg_roles r
                WHERE r.rolname OPERATOR(pg_catalog.=) role_name
                  AND pg_catalog.pg_has_role(r.oid, 'MEMBER'));
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
-- Data quality engine: rules, one-scan evaluation, scores, the quality gate,
-- profiling and rule suggestions (issue 6; docs/quality.md).
--
-- The engine turns a rule set (and, when asked, a profile) into ONE query
-- over the dataset: every row-level rule is a count(*) FILTER (WHERE ...)
-- of one aggregate, sample failing rows come from a bounded C aggregate,
-- uniqueness rules share one hash aggregate per column set, and profile
-- metrics are aggregates of the same scan.  When anything needs more than
-- the single aggregate (uniqueness, profiling), the dataset is read once
-- into a MATERIALIZED CTE and everything else reads that.  Values are
-- passed as the one parameter $1 (text[]), identifiers are quoted, and
-- expressions pass etl._check_expression (PostgreSQL's parser) first.

-- ---------------------------------------------------------------------------
-- Tables
-- ---------------------------------------------------------------------------

CREATE TABLE etl.quality_profiles (
    name            pg_catalog.text PRIMARY KEY CHECK (etl.is_valid_id(name)),
    rules           pg_catalog.jsonb NOT NULL CHECK (pg_catalog.jsonb_typeof(rules) = 'array'),
    weights         pg_catalog.jsonb NOT NULL DEFAULT '{}' CHECK (pg_catalog.jsonb_typeof(weights) = 'object'),
    options         pg_catalog.jsonb NOT NULL DEFAULT '{}' CHECK (pg_catalog.jsonb_typeof(options) = 'object'),
    owner           pg_catalog.name NOT NULL DEFAULT CURRENT_USER,
    created_at      pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at      pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE etl.quality_profiles IS
  'Named rule sets (etl.define_quality_profile): normalised rules, dimension weights and scan options';

CREATE TABLE etl.dq_results (
    result_id       pg_catalog.int8 GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    run_id          pg_catalog.int8 REFERENCES etl.pipeline_runs ON DELETE CASCADE,
    score_id        pg_catalog.int8 REFERENCES etl.quality_scores ON DELETE CASCADE,
    pipeline_id     pg_catalog.text REFERENCES etl.pipelines ON DELETE CASCADE,
    dataset         pg_catalog.text NOT NULL,
    rule_name       pg_catalog.text NOT NULL,
    rule_type       pg_catalog.text NOT NULL
                    CHECK (rule_type IN ('consistency', 'referential', 'freshness', 'row_count', 'schema', 'custom')),
    columns         pg_catalog.text[] NOT NULL DEFAULT '{}',
    params          pg_catalog.jsonb NOT NULL DEFAULT '{}',
    severity        pg_catalog.text NOT NULL DEFAULT 'error' CHECK (severity IN ('error', 'warn')),
    threshold       pg_catalog.numeric(6,3) NOT NULL DEFAULT 100 CHECK (threshold BETWEEN 0 AND 100),
    total_rows      pg_catalog.int8 NOT NULL CHECK (total_rows >= 0),
    failed_rows     pg_catalog.int8 NOT NULL CHECK (failed_rows >= 0),
    observed        pg_catalog.jsonb,
    observed_pct    pg_catalog.numeric(6,3) CHECK (observed_pct BETWEEN 0 AND 100),
    passed          pg_catalog.bool NOT NULL,
    samples         pg_catalog.jsonb NOT NULL DEFAULT '[]',
    checked_at      pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE INDEX dq_results_run_idx ON etl.dq_results (run_id);
CREATE INDEX dq_results_dataset_idx ON etl.dq_results (dataset, rule_name, checked_at DESC);
CREATE INDEX dq_results_score_idx ON etl.dq_results (score_id);
CREATE INDEX dq_results_pipeline_idx ON etl.dq_results (pipeline_id);
COMMENT ON TABLE etl.dq_results IS
  'Results of consistency, referential, freshness, row_count, schema and custom rules (other kinds have their own tables)';

CREATE INDEX completeness_checks_score_idx ON etl.completeness_checks (score_id);
CREATE INDEX validity_checks_score_idx ON etl.validity_checks (score_id);
CREATE INDEX uniqueness_checks_score_idx ON etl.uniqueness_checks (score_id);

-- ---------------------------------------------------------------------------
-- C helpers (src/quality/)
-- ---------------------------------------------------------------------------

CREATE FUNCTION etl._resolve_data(data pg_catalog.text)
RETURNS pg_catalog.text
LANGUAGE c STABLE STRICT
AS 'MODULE_PATHNAME', 'metaetl_resolve_data';
COMMENT ON FUNCTION etl._resolve_data(pg_catalog.text) IS
  'internal: a relation name or one SELECT as a safe FROM item (quoted relation or parenthesised query)';

CREATE FUNCTION etl._check_expression(expr pg_catalog.text, kind pg_catalog.text)
RETURNS pg_catalog.text
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_check_expression';
COMMENT ON FUNCTION etl._check_expression(pg_catalog.text, pg_catalog.text) IS
  'internal: checks one scalar expression (kind expression: no subquery) or one SELECT (kind query) with the parser';

CREATE FUNCTION etl._data_columns(from_item pg_catalog.text,
    OUT ord pg_catalog.int4, OUT name pg_catalog.text, OUT type pg_catalog.text, OUT typid pg_catalog.oid,
    OUT category pg_catalog."char", OUT is_numeric pg_catalog.bool, OUT has_eq pg_catalog.bool,
    OUT has_order pg_catalog.bool)
RETURNS SETOF record
LANGUAGE c STABLE STRICT
AS 'MODULE_PATHNAME', 'metaetl_data_columns';
COMMENT ON FUNCTION etl._data_columns(pg_catalog.text) IS
  'internal: the columns of a FROM item, by parse analysis only (nothing is read)';

CREATE FUNCTION etl._nonnull_sfunc(pg_catalog.internal, VARIADIC "any")
RETURNS pg_catalog.internal LANGUAGE c PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_nonnull_sfunc';
CREATE FUNCTION etl._nonnull_final(pg_catalog.internal)
RETURNS pg_catalog.int8[] LANGUAGE c PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_nonnull_final';
CREATE FUNCTION etl._nonnull_combine(pg_catalog.internal, pg_catalog.internal)
RETURNS pg_catalog.internal LANGUAGE c PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_nonnull_combine';
CREATE FUNCTION etl._nonnull_serial(pg_catalog.internal)
RETURNS pg_catalog.bytea LANGUAGE c STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_nonnull_serial';
CREATE FUNCTION etl._nonnull_deserial(pg_catalog.bytea, pg_catalog.internal)
RETURNS pg_catalog.internal LANGUAGE c STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_nonnull_deserial';
CREATE AGGREGATE etl._count_nonnull(VARIADIC "any") (
    SFUNC = etl._nonnull_sfunc, STYPE = pg_catalog.internal, FINALFUNC = etl._nonnull_final,
    COMBINEFUNC = etl._nonnull_combine, SERIALFUNC = etl._nonnull_serial, DESERIALFUNC = etl._nonnull_deserial,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE etl._count_nonnull(VARIADIC "any") IS
  'count(column) of many columns in one call per row, as int8[] in argument order';

CREATE FUNCTION etl._expression_columns(expr pg_catalog.text)
RETURNS pg_catalog.text[]
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_expression_columns';
COMMENT ON FUNCTION etl._expression_columns(pg_catalog.text) IS
  'internal: the column names an expression refers to (from the raw parse tree), for sample failing rows';

CREATE FUNCTION etl._re_match(subject pg_catalog.text, pattern pg_catalog.text)
RETURNS pg_catalog.bool
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_re_match';
COMMENT ON FUNCTION etl._re_match(pg_catalog.text, pg_catalog.text) IS
  'internal: PCRE2 (JIT) unanchored regular expression search, the pattern compiled once per query';

CREATE FUNCTION etl._is_json(pg_catalog.text)
RETURNS pg_catalog.bool
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_is_json';
COMMENT ON FUNCTION etl._is_json(pg_catalog.text) IS 'internal: true when the text is valid JSON';

CREATE FUNCTION etl._hll_sfunc(pg_catalog.internal, anyelement)
RETURNS pg_catalog.internal LANGUAGE c PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_hll_sfunc';
CREATE FUNCTION etl._hll_final(pg_catalog.internal)
RETURNS pg_catalog.int8 LANGUAGE c PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_hll_final';
CREATE FUNCTION etl._hll_combine(pg_catalog.internal, pg_catalog.internal)
RETURNS pg_catalog.internal LANGUAGE c PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_hll_combine';
CREATE FUNCTION etl._hll_serial(pg_catalog.internal)
RETURNS pg_catalog.bytea LANGUAGE c STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_hll_serial';
CREATE FUNCTION etl._hll_deserial(pg_catalog.bytea, pg_catalog.internal)
RETURNS pg_catalog.internal LANGUAGE c STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_hll_deserial';
CREATE AGGREGATE etl._hll_distinct(anyelement) (
    SFUNC = etl._hll_sfunc, STYPE = pg_catalog.internal, FINALFUNC = etl._hll_final,
    COMBINEFUNC = etl._hll_combine, SERIALFUNC = etl._hll_serial, DESERIALFUNC = etl._hll_deserial,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE etl._hll_distinct(anyelement) IS
  'approximate distinct count (HyperLogLog, 2^14 registers, about 0.8% standard error)';

CREATE FUNCTION etl._moments_sfunc(pg_catalog.internal, pg_catalog.float8)
RETURNS pg_catalog.internal LANGUAGE c PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_moments_sfunc';
CREATE FUNCTION etl._moments_final(pg_catalog.internal)
RETURNS pg_catalog.jsonb LANGUAGE c PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_moments_final';
CREATE FUNCTION etl._moments_combine(pg_catalog.internal, pg_catalog.internal)
RETURNS pg_catalog.internal LANGUAGE c PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_moments_combine';
CREATE FUNCTION etl._moments_serial(pg_catalog.internal)
RETURNS pg_catalog.bytea LANGUAGE c STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_moments_serial';
CREATE FUNCTION etl._moments_deserial(pg_catalog.bytea, pg_catalog.internal)
RETURNS pg_catalog.internal LANGUAGE c STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_moments_deserial';
CREATE AGGREGATE etl._moments(pg_catalog.float8) (
    SFUNC = etl._moments_sfunc, STYPE = pg_catalog.internal, FINALFUNC = etl._moments_final,
    COMBINEFUNC = etl._moments_combine, SERIALFUNC = etl._moments_serial, DESERIALFUNC = etl._moments_deserial,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE etl._moments(pg_catalog.float8) IS
  'one-pass mean, sample stddev/variance, skewness and excess kurtosis, as pandas computes them';

CREATE FUNCTION etl._sample_sfunc(pg_catalog.internal, pg_catalog.text[], pg_catalog.int4, VARIADIC "any")
RETURNS pg_catalog.internal LANGUAGE c PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_sample_sfunc';
CREATE FUNCTION etl._sample_final(pg_catalog.internal)
RETURNS pg_catalog.jsonb LANGUAGE c PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_sample_final';
CREATE FUNCTION etl._sample_combine(pg_catalog.internal, pg_catalog.internal)
RETURNS pg_catalog.internal LANGUAGE c PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_sample_combine';
CREATE FUNCTION etl._sample_serial(pg_catalog.internal)
RETURNS pg_catalog.bytea LANGUAGE c STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_sample_serial';
CREATE FUNCTION etl._sample_deserial(pg_catalog.bytea, pg_catalog.internal)
RETURNS pg_catalog.internal LANGUAGE c STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_sample_deserial';
CREATE AGGREGATE etl._failures(pg_catalog.text[], pg_catalog.int4, VARIADIC "any") (
    SFUNC = etl._sample_sfunc, STYPE = pg_catalog.internal, FINALFUNC = etl._sample_final,
    COMBINEFUNC = etl._sample_combine, SERIALFUNC = etl._sample_serial, DESERIALFUNC = etl._sample_deserial,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE etl._failures(pg_catalog.text[], pg_catalog.int4, VARIADIC "any") IS
  'with FILTER (WHERE <row fails>): {"n": failing rows, "samples": [the first N rows as {name: value}]}, bounded memory';

-- ---------------------------------------------------------------------------
-- Rules: normalisation (CONTRACT section 1, DESIGN 5a)
-- ---------------------------------------------------------------------------

CREATE FUNCTION etl._dq_formats()
RETURNS pg_catalog.jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN '{
  "email":     "^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$",
  "url":       "^(https?|ftp)://[^\\s/$.?#][^\\s]*$",
  "uuid":      "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
  "date":      "^\\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])$",
  "timestamp": "^\\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])[ T]([01]\\d|2[0-3]):[0-5]\\d(:[0-5]\\d(\\.\\d+)?)?([+-]\\d{2}(:?\\d{2})?|Z)?$",
  "iso8601":   "^\\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])(T([01]\\d|2[0-3]):[0-5]\\d(:[0-5]\\d(\\.\\d+)?)?(Z|[+-]\\d{2}(:?\\d{2})?)?)?$",
  "phone":     "^\\+?[0-9][0-9 ().-]{5,18}[0-9]$",
  "ipv4":      "^((25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)\\.){3}(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)$",
  "integer":   "^\\s*[+-]?\\d+\\s*$",
  "numeric":   "^\\s*[+-]?(\\d+\\.?\\d*|\\.\\d+)([eE][+-]?\\d+)?\\s*$",
  "boolean":   "^\\s*([tT]([rR][uU][eE])?|[fF]([aA][lL][sS][eE])?|[yY]([eE][sS])?|[nN][oO]?|[oO][nN]|[oO][fF][fF]|1|0)\\s*$"
}'::pg_catalog.jsonb;
COMMENT ON FUNCTION etl._dq_formats() IS
  'internal: the regular expressions behind validity format and type checks (json is checked by a parser)';

-- data_type names a validity "type" check accepts, and the format each maps to
CREATE FUNCTION etl._dq_type_format(data_type pg_catalog.text)
RETURNS pg_catalog.text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE pg_catalog.lower(data_type)
    WHEN 'integer' THEN 'integer' WHEN 'int' THEN 'integer' WHEN 'int4' THEN 'integer'
    WHEN 'bigint' THEN 'integer' WHEN 'int8' THEN 'integer' WHEN 'smallint' THEN 'integer'
    WHEN 'int2' THEN 'integer'
    WHEN 'numeric' THEN 'numeric' WHEN 'decimal' THEN 'numeric' WHEN 'float' THEN 'numeric'
    WHEN 'double precision' THEN 'numeric' WHEN 'float8' THEN 'numeric' WHEN 'real' THEN 'numeric'
    WHEN 'float4' THEN 'numeric'
    WHEN 'boolean' THEN 'boolean' WHEN 'bool' THEN 'boolean'
    WHEN 'date' THEN 'date'
    WHEN 'timestamp' THEN 'timestamp' WHEN 'timestamptz' THEN 'timestamp'
    WHEN 'uuid' THEN 'uuid' WHEN 'json' THEN 'json' WHEN 'jsonb' THEN 'json'
    WHEN 'text' THEN 'text' WHEN 'string' THEN 'text'
    END;
COMMENT ON FUNCTION etl._dq_type_format(pg_catalog.text) IS
  'internal: the format a validity type check uses for a data_type name (NULL: unsupported)';

CREATE FUNCTION etl._dq_fail(code pg_catalog.text, msg pg_catalog.text, detail pg_catalog.text, hint pg_catalog.text)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    IF detail IS NULL AND hint IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = code, MESSAGE = msg;
    ELSIF hint IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = code, MESSAGE = msg, DETAIL = detail;
    ELSIF detail IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = code, MESSAGE = msg, HINT = hint;
    ELSE
        RAISE EXCEPTION USING ERRCODE = code, MESSAGE = msg, DETAIL = detail, HINT = hint;
    END IF;
END
$$;
COMMENT ON FUNCTION etl._dq_fail(pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text) IS
  'internal: raise an error with SQLSTATE, message, detail and hint';

CREATE FUNCTION etl._normalize_rules(rules pg_catalog.jsonb)
RETURNS pg_catalog.jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    common  text[] := ARRAY['name', 'type', 'severity', 'threshold', 'where', 'on', 'description'];
    keys    jsonb := '{
        "completeness": ["column"],
        "validity": ["column", "check", "min", "max", "inclusive", "pattern", "format", "values", "data_type"],
        "uniqueness": ["column", "columns"],
        "consistency": ["expression"],
        "referential": ["column", "ref_table", "ref_column"],
        "freshness": ["column", "max_age"],
        "row_count": ["min", "max", "max_change_pct"],
        "schema": ["required_columns", "forbidden_columns", "types"],
        "custom": ["query"]}';
    out     jsonb := '[]';
    r       jsonb;
    i       int := 0;
    typ     text;
    chk     text;
    k       text;
    allowed text[];
    names   text[] := '{}';
    ctx     text;
    v       jsonb;
BEGIN
    IF rules IS NULL OR jsonb_typeof(rules) <> 'array' THEN
        PERFORM etl._dq_fail('22023', 'quality rules must be a JSON array',
            format('Got %s.', coalesce(jsonb_typeof(rules), 'NULL')),
            'Pass [{"type": "completeness", "column": "email"}, ...].');
    END IF;
    FOR r IN SELECT e FROM jsonb_array_elements(rules) AS e LOOP
        i := i + 1;
        ctx := format('Quality rule %s: %s.', i, left(r::text, 200));
        IF jsonb_typeof(r) <> 'object' THEN
            PERFORM etl._dq_fail('22023', 'a quality rule must be a JSON object', ctx, NULL);
        END IF;
        typ := lower(r->>'type');
        IF typ IS NULL THEN
            PERFORM etl._dq_fail('22023', 'quality rule has no type', ctx,
                'Set type to one of completeness, validity, uniqueness, consistency, referential, freshness, row_count, schema, custom.');
        END IF;
        -- the original design's shorthand: type: pattern (etc.) is validity with that check
        IF typ IN ('range', 'pattern', 'format', 'allowed_values', 'length') AND NOT r ? 'check' THEN
            r := r || jsonb_build_object('type', 'validity', 'check', typ);
            typ := 'validity';
        END IF;
        IF NOT keys ? typ THEN
            PERFORM etl._dq_fail('22023', format('unknown quality rule type "%s"', r->>'type'), ctx,
                'Use one of completeness, validity, uniqueness, consistency, referential, freshness, row_count, schema, custom.');
        END IF;
        r := r || jsonb_build_object('type', typ);
        allowed := common || ARRAY(SELECT jsonb_array_elements_text(keys->typ));
        FOR k IN SELECT jsonb_object_keys(r) LOOP
            IF NOT k = ANY (allowed) THEN
                PERFORM etl._dq_fail('22023', format('unknown key "%s" in a %s rule', k, typ), ctx,
                    format('Allowed keys: %s.', array_to_string(allowed, ', ')));
            END IF;
        END LOOP;

        -- common keys
        IF r ? 'severity' THEN
            IF lower(r->>'severity') = 'warning' THEN r := r || '{"severity": "warn"}'; END IF;
            IF lower(r->>'severity') NOT IN ('error', 'warn') THEN
                PERFORM etl._dq_fail('22023', format('invalid severity "%s"', r->>'severity'), ctx, 'Use error or warn.');
            END IF;
            r := r || jsonb_build_object('severity', lower(r->>'severity'));
        ELSE
            r := r || '{"severity": "error"}';
        END IF;
        IF r ? 'threshold' THEN
            IF jsonb_typeof(r->'threshold') <> 'number' OR (r->>'threshold')::numeric NOT BETWEEN 0 AND 100 THEN
                PERFORM etl._dq_fail('22023', 'threshold must be a number between 0 and 100', ctx,
                    'The threshold is the percentage of rows that must pass (100 = all).');
            END IF;
        ELSE
            r := r || '{"threshold": 100}';
        END IF;
        IF r ? 'where' THEN
            r := r || jsonb_build_object('where', etl._check_expression(r->>'where', 'expression'));
        END IF;

        -- kind-specific keys
        IF typ IN ('completeness', 'validity', 'referential', 'freshness') AND
           (jsonb_typeof(r->'column') IS DISTINCT FROM 'string' OR r->>'column' = '') THEN
            PERFORM etl._dq_fail('22023', format('a %s rule needs "column"', typ), ctx, NULL);
        END IF;
        IF typ = 'validity' THEN
            chk := lower(r->>'check');
            IF chk IS NULL OR chk NOT IN ('range', 'pattern', 'format', 'allowed_values', 'length', 'type') THEN
                PERFORM etl._dq_fail('22023', format('invalid validity check "%s"', coalesce(r->>'check', '')), ctx,
                    'Set check to one of range, pattern, format, allowed_values, length, type.');
            END IF;
            r := r || jsonb_build_object('check', chk);
            IF chk IN ('range', 'length') THEN
                IF NOT (r ? 'min' OR r ? 'max') THEN
                    PERFORM etl._dq_fail('22023', format('a %s check needs "min" or "max"', chk), ctx, NULL);
                END IF;
                IF chk = 'length' AND ((r ? 'min' AND jsonb_typeof(r->'min') <> 'number') OR
                                       (r ? 'max' AND jsonb_typeof(r->'max') <> 'number')) THEN
                    PERFORM etl._dq_fail('22023', 'length bounds must be numbers', ctx, NULL);
                END IF;
                IF chk = 'range' THEN
                    IF r ? 'inclusive' AND jsonb_typeof(r->'inclusive') <> 'boolean' THEN
                        PERFORM etl._dq_fail('22023', '"inclusive" must be true or false', ctx, NULL);
                    END IF;
                    r := jsonb_build_object('inclusive', true) || r;
                END IF;
            ELSIF chk = 'pattern' THEN
                IF jsonb_typeof(r->'pattern') IS DISTINCT FROM 'string' THEN
                    PERFORM etl._dq_fail('22023', 'a pattern check needs "pattern" (a regular expression)', ctx, NULL);
                END IF;
                PERFORM etl._re_match('', r->>'pattern');   -- raises 2201B for a bad regular expression
            ELSIF chk = 'format' THEN
                IF NOT (etl._dq_formats() ? lower(r->>'format') OR lower(r->>'format') = 'json')
                   OR lower(r->>'format') IN ('integer', 'numeric', 'boolean') THEN
                    PERFORM etl._dq_fail('22023', format('unknown format "%s"', coalesce(r->>'format', '')), ctx,
                        'Use one of email, url, uuid, date, timestamp, iso8601, phone, json, ipv4.');
                END IF;
                r := r || jsonb_build_object('format', lower(r->>'format'));
            ELSIF chk = 'allowed_values' THEN
                IF jsonb_typeof(r->'values') IS DISTINCT FROM 'array' OR jsonb_array_length(r->'values') = 0 THEN
                    PERFORM etl._dq_fail('22023', 'an allowed_values check needs "values" (a non-empty array)', ctx, NULL);
                END IF;
            ELSIF chk = 'type' THEN
                IF etl._dq_type_format(r->>'data_type') IS NULL THEN
                    PERFORM etl._dq_fail('22023', format('unsupported data_type "%s"', coalesce(r->>'data_type', '')), ctx,
                        'Use integer, bigint, smallint, numeric, float, boolean, date, timestamp, uuid, json or text.');
                END IF;
            END IF;
        ELSIF typ = 'uniqueness' THEN
            IF r ? 'columns' THEN
                IF jsonb_typeof(r->'columns') <> 'array' OR jsonb_array_length(r->'columns') = 0
                   OR EXISTS (SELECT 1 FROM jsonb_array_elements(r->'columns') c WHERE jsonb_typeof(c) <> 'string') THEN
                    PERFORM etl._dq_fail('22023', '"columns" must be a non-empty array of column names', ctx, NULL);
                END IF;
                IF r ? 'column' AND NOT (jsonb_array_length(r->'columns') = 1 AND r->'columns'->>0 = r->>'column') THEN
                    PERFORM etl._dq_fail('22023', 'give "column" or "columns", not both', ctx, NULL);
                END IF;
                IF jsonb_array_length(r->'columns') = 1 THEN
                    r := r || jsonb_build_object('column', r->'columns'->>0);
                END IF;
            ELSIF jsonb_typeof(r->'column') = 'string' THEN
                r := r || jsonb_build_object('columns', jsonb_build_array(r->>'column'));
            ELSE
                PERFORM etl._dq_fail('22023', 'a uniqueness rule needs "column" or "columns"', ctx, NULL);
            END IF;
        ELSIF typ = 'consistency' THEN
            IF jsonb_typeof(r->'expression') IS DISTINCT FROM 'string' THEN
                PERFORM etl._dq_fail('22023', 'a consistency rule needs "expression"', ctx,
                    'For example "end_date >= start_date".');
            END IF;
            r := r || jsonb_build_object('expression', etl._check_expression(r->>'expression', 'expression'));
        ELSIF typ = 'referential' THEN
            IF jsonb_typeof(r->'ref_table') IS DISTINCT FROM 'string' OR jsonb_typeof(r->'ref_column') IS DISTINCT FROM 'string' THEN
                PERFORM etl._dq_fail('22023', 'a referential rule needs "ref_table" and "ref_column"', ctx, NULL);
            END IF;
        ELSIF typ = 'freshness' THEN
            BEGIN
                PERFORM (r->>'max_age')::interval;
            EXCEPTION WHEN others THEN
                PERFORM etl._dq_fail('22023', 'a freshness rule needs "max_age" (an interval such as "1 day")', ctx, NULL);
            END;
            IF r->>'max_age' IS NULL THEN
                PERFORM etl._dq_fail('22023', 'a freshness rule needs "max_age" (an interval such as "1 day")', ctx, NULL);
            END IF;
        ELSIF typ = 'row_count' THEN
            IF NOT (r ? 'min' OR r ? 'max' OR r ? 'max_change_pct') THEN
                PERFORM etl._dq_fail('22023', 'a row_count rule needs "min", "max" or "max_change_pct"', ctx, NULL);
            END IF;
            FOR k IN SELECT unnest(ARRAY['min', 'max', 'max_change_pct']) LOOP
                IF r ? k AND jsonb_typeof(r->k) <> 'number' THEN
                    PERFORM etl._dq_fail('22023', format('"%s" must be a number', k), ctx, NULL);
                END IF;
            END LOOP;
        ELSIF typ = 'schema' THEN
            IF NOT (r ? 'required_columns' OR r ? 'forbidden_columns' OR r ? 'types') THEN
                PERFORM etl._dq_fail('22023', 'a schema rule needs "required_columns", "forbidden_columns" or "types"', ctx, NULL);
            END IF;
            IF (r ? 'required_columns' AND jsonb_typeof(r->'required_columns') <> 'array') OR
               (r ? 'forbidden_columns' AND jsonb_typeof(r->'forbidden_columns') <> 'array') OR
               (r ? 'types' AND jsonb_typeof(r->'types') <> 'object') THEN
                PERFORM etl._dq_fail('22023', 'required_columns and forbidden_columns are arrays; types is an object', ctx, NULL);
            END IF;
            FOR v IN SELECT value FROM jsonb_each(coalesce(r->'types', '{}')) LOOP
                IF jsonb_typeof(v) <> 'string' OR pg_catalog.to_regtype(v #>> '{}') IS NULL THEN
                    PERFORM etl._dq_fail('22023', format('unknown type %s in a schema rule', v), ctx, NULL);
                END IF;
            END LOOP;
        ELSIF typ = 'custom' THEN
            IF jsonb_typeof(r->'query') IS DISTINCT FROM 'string' THEN
                PERFORM etl._dq_fail('22023', 'a custom rule needs "query" (a SELECT returning the failing rows)', ctx, NULL);
            END IF;
            PERFORM etl._check_expression(replace(r->>'query', '{{data}}', 'pg_catalog.pg_class'), 'query');
        END IF;

        -- name: <type>_<column>, or <type>_<n> without a single column
        IF NOT r ? 'name' THEN
            r := r || jsonb_build_object('name',
                CASE WHEN r->>'column' IS NOT NULL THEN typ || '_' || (r->>'column') ELSE typ || '_' || i END);
        ELSIF jsonb_typeof(r->'name') <> 'string' OR r->>'name' = '' THEN
            PERFORM etl._dq_fail('22023', 'a rule name must be a non-empty string', ctx, NULL);
        END IF;
        IF (r->>'name') = ANY (names) THEN
            PERFORM etl._dq_fail('22023', format('duplicate quality rule name "%s"', r->>'name'), ctx,
                'Give each rule its own name.');
        END IF;
        names := names || (r->>'name');
        out := out || jsonb_build_array(r);
    END LOOP;
    RETURN out;
END
$$;
COMMENT ON FUNCTION etl._normalize_rules(pg_catalog.jsonb) IS
  'internal: validates quality rules and fills defaults (name, severity error, threshold 100)';

-- ---------------------------------------------------------------------------
-- The one-scan engine
-- ---------------------------------------------------------------------------

-- query builder step: an aggregate of the single scan (deduplicated), and
-- its position in the result array
CREATE FUNCTION etl._qb_add(INOUT base pg_catalog.text[], INOUT fin pg_catalog.text[],
                            INOUT seen pg_catalog.jsonb, e pg_catalog.text, OUT idx pg_catalog.int4)
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    IF seen ? e THEN
        idx := (seen->>e)::int;
        RETURN;
    END IF;
    base := base || e;
    fin := fin || format('to_jsonb(b.a%s)', cardinality(base));
    idx := cardinality(fin);
    seen := seen || jsonb_build_object(e, idx);
END
$$;
COMMENT ON FUNCTION etl._qb_add(pg_catalog.text[], pg_catalog.text[], pg_catalog.jsonb, pg_catalog.text) IS
  'internal: adds an aggregate to the one-scan query (deduplicated) and returns its result position';

-- a rule's boolean expression must analyse against the dataset (nothing is read)
CREATE FUNCTION etl._dq_check_bool(src pg_catalog.text, expr pg_catalog.text, rule_name pg_catalog.text, what pg_catalog.text)
RETURNS void
LANGUAGE plpgsql VOLATILE
AS $$
BEGIN
    EXECUTE format(E'SELECT (%s\n)::boolean FROM %s AS d LIMIT 0', expr, src);
EXCEPTION WHEN others THEN
    RAISE EXCEPTION USING ERRCODE = SQLSTATE, MESSAGE = SQLERRM,
        DETAIL = format('In the %s of quality rule "%s": %s', what, rule_name, expr),
        HINT = 'Write a boolean SQL expression over the dataset''s columns.';
END
$$;
COMMENT ON FUNCTION etl._dq_check_bool(pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text) IS
  'internal: checks that a rule expression is a valid boolean over the dataset, naming the rule on error';

-- the column of a dataset a rule names, or a clear error
CREATE FUNCTION etl._dq_column(cols pg_catalog.jsonb, col pg_catalog.text, rule_name pg_catalog.text, data pg_catalog.text)
RETURNS pg_catalog.jsonb
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    IF col IS NULL OR NOT cols ? col THEN
        PERFORM etl._dq_fail('42703', format('column "%s" does not exist in the dataset', col),
            format('Quality rule "%s" on %s.', rule_name, data),
            format('The dataset''s columns are: %s.',
                   (SELECT string_agg(k, ', ' ORDER BY (v->>'ord')::int) FROM jsonb_each(cols) AS e(k, v))));
    END IF;
    RETURN cols->col;
END
$$;
COMMENT ON FUNCTION etl._dq_column(pg_catalog.jsonb, pg_catalog.text, pg_catalog.text, pg_catalog.text) IS
  'internal: a dataset column''s description, or error 42703 listing the columns';

CREATE FUNCTION etl._dq_dimension(rule_type pg_catalog.text)
RETURNS pg_catalog.text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE rule_type
    WHEN 'completeness' THEN 'completeness' WHEN 'row_count' THEN 'completeness'
    WHEN 'validity' THEN 'validity' WHEN 'schema' THEN 'validity'
    WHEN 'uniqueness' THEN 'uniqueness'
    WHEN 'freshness' THEN 'timeliness'
    ELSE 'consistency' END;
COMMENT ON FUNCTION etl._dq_dimension(pg_catalog.text) IS
  'internal: the score dimension of a rule type (docs/quality.md, "Score")';

/*
 * etl._dq_scan(data, rules, options) evaluates NORMALISED rules and, with
 * options.profile, profiles every column, in one query over the dataset.
 * Returns {"dataset", "rows", "checks": [...], "profile": {...} | null}; each
 * check carries "_fail" (its failing-row predicate) for the quarantine, and
 * the result carries "_params" and "_from".
 */
CREATE FUNCTION etl._dq_scan(data pg_catalog.text, rules pg_catalog.jsonb, options pg_catalog.jsonb DEFAULT '{}')
RETURNS pg_catalog.jsonb
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    src         text := etl._resolve_data(data);
    relid       oid;
    cols        jsonb;
    colorder    text[];
    nsamp       int := coalesce((options->>'samples')::int, 5);
    do_profile  bool := coalesce((options->>'profile')::bool, false);
    approx      bool := coalesce((options->>'approx')::bool, false);
    top_n       int := coalesce((options->>'top_n')::int, 10);
    keys        text[];
    base        text[] := ARRAY['pg_catalog.count(*)'];
    fin         text[] := ARRAY['to_jsonb(b.a1)'];
    seen        jsonb := '{"pg_catalog.count(*)": 1}';
    ctes        text[] := '{}';
    params      text[] := '{}';
    plan        jsonb := '[]';
    need_d      bool := false;
    r           jsonb;
    p           jsonb;
    c           jsonb;
    typ         text;
    col         text;
    qc          text;
    scope       text;
    denom       text;
    fail        text;
    valid       text;
    samp        text;
    sc          text[];
    i_total     int;
    i_failed    int;
    i_samples   int;
    i_extra     int;
    k           int;
    cte         text;
    ucols       text[];
    ukey        text;
    umap        jsonb := '{}';
    refsrc      text;
    sql         text;
    nncols      text[] := '{}';
    i_nn        int;
    nn_idx      int[] := '{}';
    blist       text;
    res         jsonb[];
    checks      jsonb := '[]';
    n           bigint;
    total       bigint;
    failed      bigint;
    pct         numeric;
    passed      bool;
    observed    jsonb;
    samples     jsonb;
    prof        jsonb;
    pcols       jsonb;
    pe          jsonb;
    m           jsonb;
    x           text;
    fmts        jsonb := etl._dq_formats();
    hsrc        text;
    ssrc        text;
    hlo         text;
    hhi         text;
    prev        bigint;
    chg         numeric;
    missing     text[];
    extra       text[];
    mism        jsonb;
    cq          text;
    cres        record;
    newest      timestamptz;
    age         interval;
BEGIN
    IF nsamp < 0 OR nsamp > 1000 THEN
        PERFORM etl._dq_fail('22023', 'option "samples" must be between 0 and 1000', NULL, NULL);
    END IF;
    IF top_n < 0 OR top_n > 1000 THEN
        PERFORM etl._dq_fail('22023', 'option "top_n" must be between 0 and 1000', NULL, NULL);
    END IF;

    SELECT jsonb_object_agg(dc.name, to_jsonb(dc)), array_agg(dc.name ORDER BY dc.ord)
      INTO cols, colorder
      FROM etl._data_columns(src) AS dc;
    cols := coalesce(cols, '{}');
    colorder := coalesce(colorder, '{}');
    IF left(src, 1) <> '(' THEN
        relid := pg_catalog.to_regclass(src);
    END IF;

    -- key columns for sample failing rows: options.key_columns, else the primary key
    IF options ? 'key_columns' THEN
        keys := ARRAY(SELECT jsonb_array_elements_text(options->'key_columns'));
        FOREACH col IN ARRAY keys LOOP
            PERFORM etl._dq_column(cols, col, 'key_columns', data);
        END LOOP;
    ELSIF relid IS NOT NULL THEN
        keys := ARRAY(SELECT a.attname::text
                        FROM pg_catalog.pg_index i
                        CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS kk(attnum, ord)
                        JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = kk.attnum
                       WHERE i.indrelid = relid AND i.indisprimary
                       ORDER BY kk.ord);
    ELSE
        keys := '{}';
    END IF;

    -- every rule: its aggregates in the one scan.  A value is the parameter
    -- $1[k] cast to the column's type inside an uncorrelated sub-SELECT: an
    -- InitPlan evaluated once per query (casts through text are only stable,
    -- so the planner would otherwise repeat them for every row).
    FOR r IN SELECT e FROM jsonb_array_elements(rules) AS e LOOP
        typ := r->>'type';
        col := r->>'column';
        p := jsonb_build_object('rule', r);
        scope := CASE WHEN r ? 'where' THEN '(' || (r->>'where') || E'\n)' ELSE NULL END;
        IF r ? 'where' THEN
            PERFORM etl._dq_check_bool(src, r->>'where', r->>'name', 'where');
        END IF;
        IF typ = 'consistency' THEN
            PERFORM etl._dq_check_bool(src, r->>'expression', r->>'name', 'expression');
        END IF;
        IF col IS NOT NULL THEN
            c := etl._dq_column(cols, col, r->>'name', data);
            qc := format('d.%I', col);
        END IF;

        IF typ IN ('completeness', 'validity', 'consistency', 'referential') THEN
            valid := NULL;
            IF typ = 'completeness' THEN
                denom := scope;
                fail := format('%s IS NULL', qc);
            ELSIF typ = 'consistency' THEN
                denom := scope;
                fail := '(' || (r->>'expression') || E'\n) IS FALSE';
            ELSIF typ = 'referential' THEN
                refsrc := etl._resolve_data(r->>'ref_table');
                PERFORM etl._dq_column(
                    (SELECT jsonb_object_agg(dc.name, to_jsonb(dc)) FROM etl._data_columns(refsrc) dc),
                    r->>'ref_column', r->>'name', r->>'ref_table');
                denom := CASE WHEN scope IS NULL THEN NULL ELSE format('%s AND %s IS NOT NULL', scope, qc) END;
                fail := format('NOT (%1$s = ANY (SELECT r.%2$I FROM %3$s AS r WHERE r.%2$I IS NOT NULL))',
                               qc, r->>'ref_column', refsrc);
            ELSE    -- validity
                denom := CASE WHEN scope IS NULL THEN NULL ELSE format('%s AND %s IS NOT NULL', scope, qc) END;
                CASE r->>'check'
                WHEN 'range' THEN
                    valid := NULL;
                    IF r ? 'min' THEN
                        params := params || (r->>'min');
                        valid := format('%s %s (SELECT CAST($1[%s] AS %s))', qc,
                                        CASE WHEN (r->>'inclusive')::bool THEN '>=' ELSE '>' END,
                                        cardinality(params), c->>'type');
                    END IF;
                    IF r ? 'max' THEN
                        params := params || (r->>'max');
                        valid := concat_ws(' AND ', valid,
                                    format('%s %s (SELECT CAST($1[%s] AS %s))', qc,
                                           CASE WHEN (r->>'inclusive')::bool THEN '<=' ELSE '<' END,
                                           cardinality(params), c->>'type'));
                    END IF;
                WHEN 'length' THEN
                    valid := NULL;
                    IF r ? 'min' THEN
                        params := params || (r->>'min');
                        valid := format('pg_catalog.char_length(%s::text) >= CAST($1[%s] AS int4)', qc, cardinality(params));
                    END IF;
                    IF r ? 'max' THEN
                        params := params || (r->>'max');
                        valid := concat_ws(' AND ', valid,
                                    format('pg_catalog.char_length(%s::text) <= CAST($1[%s] AS int4)', qc, cardinality(params)));
                    END IF;
                WHEN 'pattern' THEN
                    params := params || (r->>'pattern');
                    valid := format('etl._re_match(%s::text, $1[%s])', qc, cardinality(params));
                WHEN 'allowed_values' THEN
                    params := params || ARRAY(SELECT v2 FROM jsonb_array_elements_text(r->'values') v2 WHERE v2 IS NOT NULL)::text;
                    valid := format('%1$s = ANY (CAST((SELECT CAST(CAST($1[%2$s] AS text[]) AS %3$s[])) AS %3$s[]))', qc, cardinality(params), c->>'type');
                WHEN 'format' THEN
                    IF r->>'format' = 'json' THEN
                        valid := format('etl._is_json(%s::text)', qc);
                    ELSE
                        params := params || (fmts->>(r->>'format'));
                        valid := format('etl._re_match(%s::text, $1[%s])', qc, cardinality(params));
                    END IF;
                WHEN 'type' THEN
                    x := etl._dq_type_format(r->>'data_type');
                    IF x = 'text' OR pg_catalog.to_regtype(r->>'data_type') = (c->>'typid')::oid THEN
                        valid := 'true';
                    ELSIF x = 'json' THEN
                        valid := format('etl._is_json(%s::text)', qc);
                    ELSE
                        params := params || (fmts->>x);
                        valid := format('etl._re_match(%s::text, $1[%s])', qc, cardinality(params));
                    END IF;
                END CASE;
                -- NULL in, NULL out: a NULL value is not a validity failure
                fail := format('NOT (%s)', valid);
            END IF;
            fail := concat_ws(' AND ', scope, '(' || fail || ')');

            -- total, failed and samples, all aggregates of the one scan
            IF denom IS NULL AND typ IN ('validity', 'referential') THEN
                -- count(column), from the one multi-column non-NULL counter
                IF NOT col = ANY (nncols) THEN nncols := nncols || col; END IF;
                p := p || jsonb_build_object('nn', array_position(nncols, col));
                i_total := NULL;
            ELSIF denom IS NULL THEN
                i_total := 1;
            ELSE
                SELECT * INTO base, fin, seen, i_total
                  FROM etl._qb_add(base, fin, seen, format('pg_catalog.count(*) FILTER (WHERE %s)', denom));
            END IF;
            IF nsamp = 0 THEN
                SELECT * INTO base, fin, seen, i_failed
                  FROM etl._qb_add(base, fin, seen, format('pg_catalog.count(*) FILTER (WHERE %s)', fail));
                i_samples := NULL;
            ELSE
                sc := keys;
                IF col IS NOT NULL AND NOT col = ANY (sc) THEN sc := sc || col; END IF;
                IF typ = 'consistency' THEN
                    -- the key and the columns the expression mentions
                    sc := sc || ARRAY(SELECT x2 FROM unnest(etl._expression_columns(r->>'expression')) x2
                                       WHERE cols ? x2 AND NOT x2 = ANY (sc));
                END IF;
                IF cardinality(sc) = 0 THEN
                    sc := colorder[1:90];   -- no key, no column: the whole row (its first 90 columns)
                END IF;
                sc := sc[1:90];
                samp := format('%L::text[], %s, ', sc::text, nsamp) ||
                        (SELECT string_agg(format('d.%I', s), ', ') FROM unnest(sc) AS s);
                -- one aggregate per rule: the predicate is evaluated once per row
                SELECT * INTO base, fin, seen, i_samples
                  FROM etl._qb_add(base, fin, seen, format('etl._failures(%s) FILTER (WHERE %s)', samp, fail));
                i_failed := NULL;
            END IF;
            p := p || jsonb_build_object('total', i_total, 'failed', i_failed, 'samples', i_samples, '_fail', fail);

        ELSIF typ = 'uniqueness' THEN
            need_d := true;
            ucols := ARRAY(SELECT jsonb_array_elements_text(r->'columns'));
            FOREACH x IN ARRAY ucols LOOP
                PERFORM etl._dq_column(cols, x, r->>'name', data);
            END LOOP;
            ukey := array_to_string(ucols, ',') || '|' || coalesce(scope, '');
            IF umap ? ukey THEN
                p := p || (umap->ukey);
            ELSE
                cte := 'u' || (cardinality(ctes) + 1);
                ctes := ctes || format('%I AS (SELECT %s, pg_catalog.count(*) AS duplicate_count FROM d WHERE %s GROUP BY %s)',
                    cte,
                    (SELECT string_agg(CASE WHEN (cols->u->>'has_eq')::bool THEN format('d.%I', u)
                                            ELSE format('d.%1$I::text AS %1$I', u) END, ', ') FROM unnest(ucols) u),
                    concat_ws(' AND ', scope, (SELECT string_agg(format('d.%I IS NOT NULL', u), ' AND ') FROM unnest(ucols) u)),
                    (SELECT string_agg(k2::text, ', ') FROM generate_series(1, cardinality(ucols)) k2));
                fin := fin || format('(SELECT pg_catalog.jsonb_build_object(''groups'', pg_catalog.count(*), ''rows'', coalesce(pg_catalog.sum(duplicate_count), 0), ''dup_rows'', coalesce(pg_catalog.sum(duplicate_count) FILTER (WHERE duplicate_count > 1), 0)) FROM %I)', cte);
                i_extra := cardinality(fin);
                fin := fin || format('(SELECT coalesce(pg_catalog.jsonb_agg(to_jsonb(s)), ''[]'') FROM (SELECT * FROM %I WHERE duplicate_count > 1 ORDER BY duplicate_count DESC, %s LIMIT %s) s)',
                    cte, (SELECT string_agg(format('%I::text', u), ', ') FROM unnest(ucols) u), nsamp);
                umap := umap || jsonb_build_object(ukey, jsonb_build_object('groups', i_extra, 'samples', cardinality(fin)));
                p := p || (umap->ukey);
            END IF;

        ELSIF typ = 'freshness' THEN
            SELECT * INTO base, fin, seen, i_extra
              FROM etl._qb_add(base, fin, seen,
                   format('pg_catalog.max(%s)', qc) || CASE WHEN scope IS NULL THEN '' ELSE format(' FILTER (WHERE %s)', scope) END);
            p := p || jsonb_build_object('newest', i_extra);

        ELSIF typ = 'row_count' THEN
            IF scope IS NULL THEN
                i_total := 1;
            ELSE
                SELECT * INTO base, fin, seen, i_total
                  FROM etl._qb_add(base, fin, seen, format('pg_catalog.count(*) FILTER (WHERE %s)', scope));
            END IF;
            p := p || jsonb_build_object('total', i_total);

        ELSIF typ = 'custom' THEN
            cq := replace(r->>'query', '{{data}}', src);
            PERFORM etl._check_expression(cq, 'query');
        END IF;
        plan := plan || jsonb_build_array(p);
    END LOOP;

    -- the profile: aggregates of the same scan, one value table per column
    IF do_profile THEN
        need_d := true;
        pcols := '[]';
        FOREACH col IN ARRAY colorder LOOP
            c := cols->col;
            qc := format('d.%I', col);
            pe := jsonb_build_object('column', col, 'c', c);
            IF NOT col = ANY (nncols) THEN nncols := nncols || col; END IF;
            pe := pe || jsonb_build_object('nn', array_position(nncols, col));
            IF (c->>'is_numeric')::bool OR (c->>'category') IN ('S', 'D', 'T') THEN
                SELECT * INTO base, fin, seen, k FROM etl._qb_add(base, fin, seen, format('pg_catalog.min(%s)', qc));
                pe := pe || jsonb_build_object('min', k);
                SELECT * INTO base, fin, seen, k FROM etl._qb_add(base, fin, seen, format('pg_catalog.max(%s)', qc));
                pe := pe || jsonb_build_object('max', k);
            END IF;
            IF (c->>'is_numeric')::bool THEN
                SELECT * INTO base, fin, seen, k FROM etl._qb_add(base, fin, seen, format('etl._moments(%s::float8)', qc));
                pe := pe || jsonb_build_object('moments', k);
                SELECT * INTO base, fin, seen, k FROM etl._qb_add(base, fin, seen, format('pg_catalog.sum(%s)', qc));
                pe := pe || jsonb_build_object('sum', k);
                SELECT * INTO base, fin, seen, k FROM etl._qb_add(base, fin, seen, format('pg_catalog.count(*) FILTER (WHERE %s = 0)', qc));
                pe := pe || jsonb_build_object('zeros', k);
                SELECT * INTO base, fin, seen, k FROM etl._qb_add(base, fin, seen, format('pg_catalog.count(*) FILTER (WHERE %s < 0)', qc));
                pe := pe || jsonb_build_object('negatives', k);
                SELECT * INTO base, fin, seen, k FROM etl._qb_add(base, fin, seen,
                    format('pg_catalog.percentile_cont(''{0.05,0.25,0.5,0.75,0.95}''::float8[]) WITHIN GROUP (ORDER BY %s::float8)', qc));
                pe := pe || jsonb_build_object('quantiles', k);
                -- finite bounds of the histogram, from the same scan
                SELECT * INTO base, fin, seen, k FROM etl._qb_add(base, fin, seen,
                    format('pg_catalog.min(%1$s::float8) FILTER (WHERE %1$s::float8 > ''-Infinity'' AND %1$s::float8 < ''Infinity'')', qc));
                hlo := substring(fin[k] FROM '(b\.a[0-9]+)');
                SELECT * INTO base, fin, seen, k FROM etl._qb_add(base, fin, seen,
                    format('pg_catalog.max(%1$s::float8) FILTER (WHERE %1$s::float8 > ''-Infinity'' AND %1$s::float8 < ''Infinity'')', qc));
                hhi := substring(fin[k] FROM '(b\.a[0-9]+)');
            END IF;
            IF (c->>'category') = 'S' THEN
                SELECT * INTO base, fin, seen, k FROM etl._qb_add(base, fin, seen,
                    format('pg_catalog.count(*) FILTER (WHERE pg_catalog.btrim(%s::text) = '''')', qc));
                pe := pe || jsonb_build_object('blanks', k);
                SELECT * INTO base, fin, seen, k FROM etl._qb_add(base, fin, seen, format('pg_catalog.min(pg_catalog.char_length(%s))', qc));
                pe := pe || jsonb_build_object('min_length', k);
                SELECT * INTO base, fin, seen, k FROM etl._qb_add(base, fin, seen, format('pg_catalog.avg(pg_catalog.char_length(%s))', qc));
                pe := pe || jsonb_build_object('avg_length', k);
                SELECT * INTO base, fin, seen, k FROM etl._qb_add(base, fin, seen, format('pg_catalog.max(pg_catalog.char_length(%s))', qc));
                pe := pe || jsonb_build_object('max_length', k);
            END IF;

            IF approx THEN
                SELECT * INTO base, fin, seen, k FROM etl._qb_add(base, fin, seen,
                    CASE WHEN (c->>'has_eq')::bool THEN format('etl._hll_distinct(%s)', qc)
                         ELSE format('etl._hll_distinct(%s::text)', qc) END);
                pe := pe || jsonb_build_object('hll', k);
                hsrc := format('(SELECT %s AS v, 1 AS cnt FROM d WHERE %s IS NOT NULL)', qc, qc);
                -- approximate: the semantic type from the first 10,000 values
                ssrc := format('(SELECT %s AS v, 1 AS cnt FROM d WHERE %s IS NOT NULL LIMIT 10000)', qc, qc);
            ELSE
                -- one hash aggregate per column: distinct, unique and top values
                cte := 'v' || (cardinality(ctes) + 1);
                ctes := ctes || format('%I AS (SELECT %s AS v, pg_catalog.count(*) AS cnt FROM d WHERE %s IS NOT NULL GROUP BY 1)',
                    cte, CASE WHEN (c->>'has_eq')::bool AND (c->>'has_order')::bool THEN qc ELSE qc || '::text' END, qc);
                fin := fin || format('(SELECT pg_catalog.jsonb_build_object(''distinct'', pg_catalog.count(*), ''unique'', pg_catalog.count(*) FILTER (WHERE cnt = 1)) FROM %I)', cte);
                pe := pe || jsonb_build_object('vstats', cardinality(fin));
                IF top_n > 0 THEN
                    fin := fin || format('(SELECT coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(''value'', t.v, ''count'', t.cnt) ORDER BY t.cnt DESC, t.v), ''[]'') FROM (SELECT v, cnt FROM %I ORDER BY cnt DESC, v LIMIT %s) t)', cte, top_n);
                    pe := pe || jsonb_build_object('top', cardinality(fin));
                END IF;
                hsrc := quote_ident(cte);
                ssrc := hsrc;
            END IF;
            IF (c->>'is_numeric')::bool THEN
                fin := fin || format($h$(CASE WHEN %2$s IS NULL THEN NULL ELSE pg_catalog.jsonb_build_object('min', %2$s, 'max', %3$s, 'counts',
                      (SELECT pg_catalog.jsonb_agg(coalesce(h.c, 0) ORDER BY g) FROM pg_catalog.generate_series(1, 10) AS g
                         LEFT JOIN (SELECT CASE WHEN %3$s = %2$s THEN 1 ELSE least(pg_catalog.width_bucket(x.v::float8, %2$s, %3$s, 10), 10) END AS bin,
                                           pg_catalog.sum(x.cnt) AS c
                                      FROM %1$s AS x WHERE x.v::float8 > '-Infinity' AND x.v::float8 < 'Infinity' GROUP BY 1) h ON h.bin = g)) END)$h$,
                    hsrc, hlo, hhi);
                pe := pe || jsonb_build_object('histogram', cardinality(fin));
            END IF;
            IF (c->>'category') = 'S' THEN
                fin := fin || format($s$(SELECT pg_catalog.jsonb_build_object('total', coalesce(pg_catalog.sum(x.cnt) FILTER (WHERE pg_catalog.btrim(x.v::text) <> ''), 0),
                    'integer', coalesce(pg_catalog.sum(x.cnt) FILTER (WHERE etl._re_match(x.v::text, %2$L)), 0),
                    'date', coalesce(pg_catalog.sum(x.cnt) FILTER (WHERE etl._re_match(x.v::text, %3$L)), 0),
                    'timestamp', coalesce(pg_catalog.sum(x.cnt) FILTER (WHERE etl._re_match(x.v::text, %4$L)), 0),
                    'uuid', coalesce(pg_catalog.sum(x.cnt) FILTER (WHERE etl._re_match(x.v::text, %5$L)), 0),
                    'email', coalesce(pg_catalog.sum(x.cnt) FILTER (WHERE etl._re_match(x.v::text, %6$L)), 0),
                    'url', coalesce(pg_catalog.sum(x.cnt) FILTER (WHERE etl._re_match(x.v::text, %7$L)), 0),
                    'phone', coalesce(pg_catalog.sum(x.cnt) FILTER (WHERE etl._re_match(x.v::text, %8$L)), 0),
                    'json', coalesce(pg_catalog.sum(x.cnt) FILTER (WHERE x.v::text ~ '^\s*[\[{]' AND etl._is_json(x.v::text)), 0))
                  FROM %1$s AS x)$s$, ssrc, fmts->>'integer', fmts->>'date', fmts->>'timestamp', fmts->>'uuid',
                  fmts->>'email', fmts->>'url', fmts->>'phone');
                pe := pe || jsonb_build_object('semantic', cardinality(fin));
            END IF;
            pcols := pcols || jsonb_build_array(pe);
        END LOOP;
        IF cardinality(colorder) > 0 THEN
            ctes := ctes || format('dup AS (SELECT pg_catalog.count(*) AS cnt FROM d GROUP BY %s)',
                (SELECT string_agg(CASE WHEN (cols->u->>'has_eq')::bool THEN format('d.%I', u) ELSE format('d.%I::text', u) END, ', ')
                   FROM unnest(colorder) u));
            fin := fin || 'to_jsonb((SELECT coalesce(pg_catalog.sum(cnt - 1), 0) FROM dup))'::text;
            prof := jsonb_build_object('dup', cardinality(fin));
        ELSE
            prof := '{}';
        END IF;
    END IF;

    -- the non-NULL counts of every column that needs one: one aggregate
    -- (in chunks of 90 columns: a function takes at most 100 arguments)
    FOR k IN 0 .. (cardinality(nncols) - 1) / 90 LOOP
        EXIT WHEN cardinality(nncols) = 0;
        SELECT * INTO base, fin, seen, i_nn FROM etl._qb_add(base, fin, seen,
            'etl._count_nonnull(' || (SELECT string_agg(format('d.%I', x2), ', ' ORDER BY o2)
                                        FROM unnest(nncols[k * 90 + 1 : k * 90 + 90]) WITH ORDINALITY AS t2(x2, o2)) || ')');
        nn_idx := nn_idx || i_nn;
    END LOOP;
    IF do_profile THEN
        prof := prof || jsonb_build_object('nn', to_jsonb(nn_idx));
    END IF;

    -- the one query
    blist := (SELECT string_agg(e || ' AS a' || o, E',\n  ' ORDER BY o) FROM unnest(base) WITH ORDINALITY AS t(e, o));
    IF need_d THEN
        sql := format('WITH d AS MATERIALIZED (SELECT * FROM %s AS s)', src)
            || coalesce((SELECT string_agg(', ' || e, E'\n') FROM unnest(ctes) e), '')
            || E'\n, b AS (SELECT ' || blist || E'\n  FROM d)';
    ELSE
        sql := 'WITH b AS (SELECT ' || blist || format(E'\n  FROM %s AS d)', src);
    END IF;
    sql := sql || E'\nSELECT ARRAY[' || array_to_string(fin, E',\n  ') || E']::jsonb[] FROM b';
    EXECUTE sql INTO res USING params;
    n := res[1]::bigint;

    -- checks
    FOR p IN SELECT e FROM jsonb_array_elements(plan) AS e LOOP
        r := p->'rule';
        typ := r->>'type';
        observed := NULL;
        samples := '[]';
        total := n;
        failed := 0;
        pct := NULL;
        IF p ? '_fail' THEN
            IF p ? 'nn' THEN
                k := (p->>'nn')::int - 1;
                total := coalesce((res[nn_idx[k / 90 + 1]]->>(k % 90))::bigint, 0);   -- [] for no rows
            ELSE
                total := res[(p->>'total')::int]::bigint;
            END IF;
            IF p->>'samples' IS NOT NULL THEN
                failed := (res[(p->>'samples')::int]->>'n')::bigint;
                samples := res[(p->>'samples')::int]->'samples';
            ELSE
                failed := res[(p->>'failed')::int]::bigint;
            END IF;
            pct := CASE WHEN total = 0 THEN 100 ELSE 100.0 * (total - failed) / total END;
            observed := to_jsonb(round(pct, 3));
            passed := pct >= (r->>'threshold')::numeric;
        ELSIF typ = 'uniqueness' THEN
            m := res[(p->>'groups')::int];
            total := (m->>'rows')::bigint;
            failed := (m->>'dup_rows')::bigint;
            samples := res[(p->>'samples')::int];
            pct := CASE WHEN total = 0 THEN 100 ELSE 100.0 * (total - failed) / total END;
            observed := to_jsonb(round(pct, 3));
            passed := pct >= (r->>'threshold')::numeric;
            p := p || jsonb_build_object('distinct_values', (m->>'groups')::bigint);
        ELSIF typ = 'freshness' THEN
            newest := (res[(p->>'newest')::int] #>> '{}')::timestamptz;
            age := pg_catalog.now() - newest;
            observed := jsonb_build_object('newest', newest, 'age', age::text,
                                           'age_seconds', round(extract(epoch FROM age)::numeric, 3));
            passed := newest IS NOT NULL AND age <= (r->>'max_age')::interval;
            pct := CASE WHEN passed THEN 100 ELSE 0 END;
        ELSIF typ = 'row_count' THEN
            total := res[(p->>'total')::int]::bigint;
            passed := (NOT r ? 'min' OR total >= (r->>'min')::numeric)
                  AND (NOT r ? 'max' OR total <= (r->>'max')::numeric);
            prev := NULL;
            chg := NULL;
            IF r ? 'max_change_pct' THEN
                SELECT (q.observed->>'rows')::bigint INTO prev
                  FROM etl.dq_results q
                 WHERE q.rule_type = 'row_count' AND q.dataset = data AND q.rule_name = r->>'name'
                   AND q.pipeline_id IS NOT DISTINCT FROM (options->>'pipeline_id')
                 ORDER BY q.result_id DESC LIMIT 1;
                IF prev IS NOT NULL THEN
                    chg := CASE WHEN prev = 0 THEN CASE WHEN total = 0 THEN 0 ELSE 100 END
                                ELSE round(100.0 * abs(total - prev) / prev, 3) END;
                    passed := passed AND chg <= (r->>'max_change_pct')::numeric;
                END IF;
            END IF;
            observed := jsonb_build_object('rows', total, 'previous_rows', prev, 'change_pct', chg);
            pct := CASE WHEN passed THEN 100 ELSE 0 END;
        ELSIF typ = 'schema' THEN
            missing := ARRAY(SELECT u FROM jsonb_array_elements_text(coalesce(r->'required_columns', '[]')) u
                              WHERE NOT cols ? u);
            extra := ARRAY(SELECT u FROM jsonb_array_elements_text(coalesce(r->'forbidden_columns', '[]')) u
                            WHERE cols ? u);
            SELECT coalesce(jsonb_agg(jsonb_build_object('column', t.key, 'expected', t.value #>> '{}',
                                                         'actual', cols->t.key->>'type') ORDER BY t.key), '[]')
              INTO mism
              FROM jsonb_each(coalesce(r->'types', '{}')) t
             WHERE NOT cols ? t.key
                OR pg_catalog.to_regtype(t.value #>> '{}') <> (cols->t.key->>'typid')::oid;
            observed := jsonb_build_object('missing_columns', to_jsonb(missing), 'forbidden_columns', to_jsonb(extra),
                                           'type_mismatches', mism);
            passed := cardinality(missing) = 0 AND cardinality(extra) = 0 AND jsonb_array_length(mism) = 0;
            pct := CASE WHEN passed THEN 100 ELSE 0 END;
        ELSIF typ = 'custom' THEN
            cq := replace(r->>'query', '{{data}}', src);
            EXECUTE format(E'WITH q AS MATERIALIZED (%s\n) SELECT (SELECT pg_catalog.count(*) FROM q) AS failed, (SELECT coalesce(pg_catalog.jsonb_agg(to_jsonb(s)), ''[]'') FROM (SELECT * FROM q LIMIT %s) s) AS samples',
                           cq, nsamp)
              INTO cres;
            failed := cres.failed;
            samples := cres.samples;
            pct := CASE WHEN n = 0 THEN CASE WHEN failed = 0 THEN 100 ELSE 0 END
                        ELSE greatest(0, 100.0 * (n - failed) / n) END;
            observed := jsonb_build_object('failing_rows', failed);
            passed := pct >= (r->>'threshold')::numeric;
        END IF;
        checks := checks || jsonb_build_array(jsonb_strip_nulls(jsonb_build_object(
            'rule', r->>'name', 'type', typ, 'check', r->>'check',
            'column', CASE WHEN typ = 'uniqueness' THEN NULL ELSE r->>'column' END,
            'columns', r->'columns', 'dimension', etl._dq_dimension(typ),
            'severity', r->>'severity', 'threshold', (r->>'threshold')::numeric))
            || jsonb_build_object('passed', passed, 'observed', observed,
               'observed_pct', round(pct, 3), 'total_rows', total, 'failed_rows', failed, 'samples', samples)
            || CASE WHEN p ? 'distinct_values' THEN jsonb_build_object('distinct_values', p->'distinct_values') ELSE '{}' END
            || CASE WHEN p ? '_fail' THEN jsonb_build_object('_fail', p->'_fail') ELSE '{}' END
            || jsonb_build_object('_rule', r));
    END LOOP;

    -- the profile's figures
    IF do_profile THEN
        prof := etl._dq_profile_result(res, pcols, n, prof, approx);
    END IF;

    RETURN jsonb_build_object('dataset', data, 'rows', n, 'checks', checks, 'profile', prof,
                              '_params', to_jsonb(params), '_from', src, '_query', sql);
END
$$;
COMMENT ON FUNCTION etl._dq_scan(pg_catalog.text, pg_catalog.jsonb, pg_catalog.jsonb) IS
  'internal: evaluates normalised rules (and optionally a profile) in one query over the dataset';

CREATE FUNCTION etl._dq_profile_result(res pg_catalog.jsonb[], pcols pg_catalog.jsonb, n pg_catalog.int8,
                                       prof pg_catalog.jsonb, approx pg_catalog.bool)
RETURNS pg_catalog.jsonb
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    pe      jsonb;
    c       jsonb;
    o       jsonb;
    cnt     bigint;
    q       jsonb;
    sem     jsonb;
    st      text;
    t       text;
    out     jsonb := '[]';
    k       int;
BEGIN
    FOR pe IN SELECT e FROM jsonb_array_elements(pcols) AS e LOOP
        c := pe->'c';
        k := (pe->>'nn')::int - 1;
        cnt := coalesce((res[(prof->'nn'->>(k / 90))::int]->>(k % 90))::bigint, 0);   -- [] for no rows
        o := jsonb_build_object('column', pe->>'column', 'data_type', c->>'type',
                                'count', cnt, 'nulls', n - cnt,
                                'null_pct', CASE WHEN n = 0 THEN NULL ELSE round(100.0 * (n - cnt) / n, 3) END);
        IF pe ? 'blanks' THEN o := o || jsonb_build_object('blanks', res[(pe->>'blanks')::int]); END IF;
        IF pe ? 'hll' THEN
            o := o || jsonb_build_object('distinct', res[(pe->>'hll')::int], 'distinct_approx', true);
        ELSE
            o := o || jsonb_build_object('distinct', res[(pe->>'vstats')::int]->'distinct',
                                         'unique', res[(pe->>'vstats')::int]->'unique');
        END IF;
        IF pe ? 'min' THEN
            o := o || jsonb_build_object('min', res[(pe->>'min')::int], 'max', res[(pe->>'max')::int]);
        END IF;
        IF pe ? 'moments' THEN
            o := o || res[(pe->>'moments')::int]
                   || jsonb_build_object('sum', res[(pe->>'sum')::int], 'zeros', res[(pe->>'zeros')::int],
                                         'negatives', res[(pe->>'negatives')::int]);
            q := res[(pe->>'quantiles')::int];
            IF q IS NULL OR q = 'null' THEN
                o := o || jsonb_build_object('quantiles', NULL, 'iqr', NULL);
            ELSE
                o := o || jsonb_build_object('quantiles', jsonb_build_object(
                        'p05', q->0, 'p25', q->1, 'p50', q->2, 'p75', q->3, 'p95', q->4),
                        'iqr', (q->>3)::float8 - (q->>1)::float8);
            END IF;
            o := o || jsonb_build_object('histogram', res[(pe->>'histogram')::int]);
        END IF;
        IF pe ? 'min_length' THEN
            o := o || jsonb_build_object('min_length', res[(pe->>'min_length')::int],
                                         'avg_length', round((res[(pe->>'avg_length')::int] #>> '{}')::numeric, 3),
                                         'max_length', res[(pe->>'max_length')::int]);
        END IF;
        IF pe ? 'top' THEN
            o := o || jsonb_build_object('top_values', res[(pe->>'top')::int]);
        END IF;
        -- inferred semantic type
        IF pe ? 'semantic' THEN
            sem := res[(pe->>'semantic')::int];
            st := 'text';
            IF (sem->>'total')::bigint > 0 THEN
                FOREACH t IN ARRAY ARRAY['integer', 'date', 'timestamp', 'uuid', 'email', 'url', 'phone', 'json'] LOOP
                    IF (sem->>t)::numeric >= 0.95 * (sem->>'total')::numeric THEN
                        st := t;
                        o := o || jsonb_build_object('semantic_match_pct',
                                    round(100.0 * (sem->>t)::numeric / (sem->>'total')::numeric, 3));
                        EXIT;
                    END IF;
                END LOOP;
            ELSE
                st := NULL;
            END IF;
        ELSE
            st := CASE
                WHEN (c->>'typid')::oid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype) THEN 'integer'
                WHEN (c->>'is_numeric')::bool THEN 'float'
                WHEN (c->>'typid')::oid = 'date'::regtype THEN 'date'
                WHEN (c->>'typid')::oid IN ('timestamp'::regtype, 'timestamptz'::regtype) THEN 'timestamp'
                WHEN (c->>'typid')::oid = 'bool'::regtype THEN 'boolean'
                WHEN (c->>'typid')::oid = 'uuid'::regtype THEN 'uuid'
                WHEN (c->>'typid')::oid IN ('json'::regtype, 'jsonb'::regtype) THEN 'json'
                ELSE c->>'type' END;
        END IF;
        o := o || jsonb_build_object('semantic_type', st);
        out := out || jsonb_build_array(o);
    END LOOP;
    RETURN jsonb_build_object('row_count', n,
                              'duplicate_rows', CASE WHEN prof ? 'dup' THEN res[(prof->>'dup')::int] ELSE '0' END,
                              'columns', out);
END
$$;
COMMENT ON FUNCTION etl._dq_profile_result(pg_catalog.jsonb[], pg_catalog.jsonb, pg_catalog.int8, pg_catalog.jsonb, pg_catalog.bool) IS
  'internal: turns the one-scan results into the per-column profile';

-- ---------------------------------------------------------------------------
-- Scores and result records
-- ---------------------------------------------------------------------------

CREATE FUNCTION etl._dq_weights(weights pg_catalog.jsonb)
RETURNS pg_catalog.jsonb
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    w   jsonb := '{"completeness": 0.25, "validity": 0.25, "uniqueness": 0.20, "consistency": 0.15, "timeliness": 0.15}';
    k   text;
BEGIN
    IF weights IS NULL OR weights = '{}' THEN
        RETURN w;
    END IF;
    IF jsonb_typeof(weights) <> 'object' THEN
        PERFORM etl._dq_fail('22023', 'weights must be a JSON object', NULL,
            'For example {"completeness": 0.4, "validity": 0.3, "uniqueness": 0.1, "consistency": 0.1, "timeliness": 0.1}.');
    END IF;
    FOR k IN SELECT jsonb_object_keys(weights) LOOP
        IF NOT w ? k THEN
            PERFORM etl._dq_fail('22023', format('unknown score dimension "%s"', k), NULL,
                'Dimensions are completeness, validity, uniqueness, consistency, timeliness.');
        END IF;
        IF jsonb_typeof(weights->k) <> 'number' OR (weights->>k)::numeric < 0 THEN
            PERFORM etl._dq_fail('22023', format('the weight of %s must be a number >= 0', k), NULL, NULL);
        END IF;
    END LOOP;
    RETURN w || weights;
END
$$;
COMMENT ON FUNCTION etl._dq_weights(pg_catalog.jsonb) IS
  'internal: score weights per dimension, defaults merged with the given ones';

/*
 * etl._dq_record(scan, run_id, pipeline_id, profile_name, weights) scores a
 * scan and writes etl.quality_scores and the per-kind check tables.
 */
CREATE FUNCTION etl._dq_record(scan pg_catalog.jsonb, run_id pg_catalog.int8, pipeline_id pg_catalog.text,
                               profile_name pg_catalog.text, weights pg_catalog.jsonb)
RETURNS pg_catalog.jsonb
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    w       jsonb := etl._dq_weights(weights);
    dims    jsonb;
    score   numeric;
    ok      bool;
    sid     bigint;
    ch      jsonb;
    r       jsonb;
    ds      text := scan->>'dataset';
    pub     jsonb := '[]';
BEGIN
    SELECT coalesce(jsonb_object_agg(d.dim, d.s), '{}') INTO dims
      FROM (SELECT e->>'dimension' AS dim, round(avg((e->>'observed_pct')::numeric), 2) AS s
              FROM jsonb_array_elements(scan->'checks') e GROUP BY 1) d;
    SELECT CASE WHEN coalesce(sum((w->>d.key)::numeric), 0) = 0 THEN 100
                ELSE round(sum((w->>d.key)::numeric * (d.value #>> '{}')::numeric) / sum((w->>d.key)::numeric), 2) END
      INTO score
      FROM jsonb_each(dims) d;
    score := coalesce(score, 100);
    ok := NOT EXISTS (SELECT 1 FROM jsonb_array_elements(scan->'checks') e
                       WHERE e->>'severity' = 'error' AND NOT (e->>'passed')::bool);

    INSERT INTO etl.quality_scores (run_id, pipeline_id, dataset, profile_name, quality_score,
                                    completeness, validity, uniqueness, consistency, timeliness, passed, rows_checked)
    VALUES (run_id, pipeline_id, ds, profile_name, score,
            (dims->>'completeness')::numeric, (dims->>'validity')::numeric, (dims->>'uniqueness')::numeric,
            (dims->>'consistency')::numeric, (dims->>'timeliness')::numeric, ok, (scan->>'rows')::bigint)
    RETURNING score_id INTO sid;

    FOR ch IN SELECT e FROM jsonb_array_elements(scan->'checks') e LOOP
        r := ch->'_rule';
        IF ch->>'type' = 'completeness' THEN
            INSERT INTO etl.completeness_checks (run_id, score_id, dataset, rule_name, column_name, severity, threshold,
                                                 total_rows, failed_rows, observed_pct, passed, samples)
            VALUES (run_id, sid, ds, ch->>'rule', ch->>'column', ch->>'severity', (ch->>'threshold')::numeric,
                    (ch->>'total_rows')::bigint, (ch->>'failed_rows')::bigint, (ch->>'observed_pct')::numeric,
                    (ch->>'passed')::bool, ch->'samples');
        ELSIF ch->>'type' = 'validity' THEN
            INSERT INTO etl.validity_checks (run_id, score_id, dataset, rule_name, column_name, check_kind, params,
                                             severity, threshold, total_rows, failed_rows, observed_pct, passed, samples)
            VALUES (run_id, sid, ds, ch->>'rule', ch->>'column', ch->>'check',
                    r - ARRAY['name', 'type', 'check', 'column', 'severity', 'threshold', 'on', 'description'],
                    ch->>'severity', (ch->>'threshold')::numeric,
                    (ch->>'total_rows')::bigint, (ch->>'failed_rows')::bigint, (ch->>'observed_pct')::numeric,
                    (ch->>'passed')::bool, ch->'samples');
        ELSIF ch->>'type' = 'uniqueness' THEN
            INSERT INTO etl.uniqueness_checks (run_id, score_id, dataset, rule_name, columns, severity, threshold,
                                               total_rows, duplicate_rows, distinct_values, observed_pct, passed, samples)
            VALUES (run_id, sid, ds, ch->>'rule', ARRAY(SELECT jsonb_array_elements_text(ch->'columns')),
                    ch->>'severity', (ch->>'threshold')::numeric,
                    (ch->>'total_rows')::bigint, (ch->>'failed_rows')::bigint, (ch->>'distinct_values')::bigint,
                    (ch->>'observed_pct')::numeric, (ch->>'passed')::bool, ch->'samples');
        ELSE
            INSERT INTO etl.dq_results (run_id, score_id, pipeline_id, dataset, rule_name, rule_type, columns, params,
                                        severity, threshold, total_rows, failed_rows, observed, observed_pct, passed, samples)
            VALUES (run_id, sid, pipeline_id, ds, ch->>'rule', ch->>'type',
                    CASE WHEN ch ? 'column' THEN ARRAY[ch->>'column'] ELSE '{}' END,
                    r - ARRAY['name', 'type', 'column', 'severity', 'threshold', 'on', 'description'],
                    ch->>'severity', (ch->>'threshold')::numeric,
                    (ch->>'total_rows')::bigint, (ch->>'failed_rows')::bigint, ch->'observed',
                    (ch->>'observed_pct')::numeric, (ch->>'passed')::bool, ch->'samples');
        END IF;
        pub := pub || jsonb_build_array(ch - ARRAY['_fail', '_rule']);
    END LOOP;

    RETURN jsonb_build_object('quality_score', score, 'passed', ok, 'dimensions', dims,
                              'rows_checked', (scan->>'rows')::bigint, 'checks', pub, 'score_id', sid);
END
$$;
COMMENT ON FUNCTION etl._dq_record(pg_catalog.jsonb, pg_catalog.int8, pg_catalog.text, pg_catalog.text, pg_catalog.jsonb) IS
  'internal: scores a scan by dimension and records the score and every check';

CREATE FUNCTION etl._dq_options(options pg_catalog.jsonb, allowed pg_catalog.text[])
RETURNS pg_catalog.jsonb
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    k text;
BEGIN
    IF options IS NULL THEN
        RETURN '{}';
    END IF;
    IF jsonb_typeof(options) <> 'object' THEN
        PERFORM etl._dq_fail('22023', 'options must be a JSON object', NULL, NULL);
    END IF;
    FOR k IN SELECT jsonb_object_keys(options) LOOP
        IF NOT k = ANY (allowed) THEN
            PERFORM etl._dq_fail('22023', format('unknown option "%s"', k), NULL,
                format('Options are: %s.', array_to_string(allowed, ', ')));
        END IF;
    END LOOP;
    RETURN options;
END
$$;
COMMENT ON FUNCTION etl._dq_options(pg_catalog.jsonb, pg_catalog.text[]) IS
  'internal: checks that options is an object with known keys';

CREATE FUNCTION etl._dq_store_profile(prof pg_catalog.jsonb, data pg_catalog.text, run_id pg_catalog.int8)
RETURNS void
LANGUAGE sql VOLATILE
BEGIN ATOMIC
    INSERT INTO etl.profiling_stats (run_id, dataset, column_name, data_type, row_count, metrics)
    SELECT run_id, data, NULL, NULL, (prof->>'row_count')::bigint,
           jsonb_build_object('row_count', prof->'row_count', 'duplicate_rows', prof->'duplicate_rows',
                              'columns', jsonb_array_length(prof->'columns'));
    INSERT INTO etl.profiling_stats (run_id, dataset, column_name, data_type, row_count, metrics)
    SELECT run_id, data, e->>'column', e->>'data_type', (prof->>'row_count')::bigint, e
      FROM jsonb_array_elements(prof->'columns') e;
END;
COMMENT ON FUNCTION etl._dq_store_profile(pg_catalog.jsonb, pg_catalog.text, pg_catalog.int8) IS
  'internal: writes a profile to etl.profiling_stats (one table-level row, one row per column)';

-- ---------------------------------------------------------------------------
-- Public functions
-- ---------------------------------------------------------------------------

CREATE FUNCTION etl.profile(data pg_catalog.text, options pg_catalog.jsonb DEFAULT '{}')
RETURNS pg_catalog.jsonb
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    opts    jsonb := etl._dq_options(options, ARRAY['approx', 'top_n', 'run_id', 'store']);
    scan    jsonb;
    prof    jsonb;
BEGIN
    scan := etl._dq_scan(data, '[]', opts || '{"profile": true, "samples": 0}');
    prof := jsonb_build_object('dataset', data) || (scan->'profile');
    IF coalesce((opts->>'store')::bool, true) THEN
        PERFORM etl._dq_store_profile(prof, data, (opts->>'run_id')::bigint);
    END IF;
    RETURN prof;
END
$$;
COMMENT ON FUNCTION etl.profile(pg_catalog.text, pg_catalog.jsonb) IS
  'profiles a relation or SELECT in one scan (counts, nulls, distinct, ranges, moments, quantiles, top values, histograms, semantic types) and stores it in etl.profiling_stats';

CREATE FUNCTION etl.define_quality_profile(name pg_catalog.text, rules pg_catalog.jsonb)
RETURNS void
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    r   jsonb := rules;
    w   jsonb := '{}';
    o   jsonb := '{}';
BEGIN
    IF NOT coalesce(etl.is_valid_id(name), false) THEN
        PERFORM etl._dq_fail('22023', format('invalid quality profile name "%s"', name), NULL,
            'A profile name is lower-case ASCII: [a-z][a-z0-9_]*, at most 63 bytes.');
    END IF;
    IF jsonb_typeof(rules) = 'object' THEN
        PERFORM etl._dq_options(rules - ARRAY['rules', 'weights', 'options', 'gate', 'quarantine'], '{}');
        r := rules->'rules';
        w := coalesce(rules->'weights', '{}');
        o := etl._dq_options(coalesce(rules->'options', '{}'),
                             ARRAY['samples', 'key_columns', 'profile', 'approx', 'top_n']);
        PERFORM etl._dq_weights(w);
    END IF;
    r := etl._normalize_rules(r);
    INSERT INTO etl.quality_profiles AS q (name, rules, weights, options)
    VALUES (name, r, w, o)
    ON CONFLICT ON CONSTRAINT quality_profiles_pkey DO UPDATE
       SET rules = excluded.rules, weights = excluded.weights, options = excluded.options,
           updated_at = pg_catalog.now();
END
$$;
COMMENT ON FUNCTION etl.define_quality_profile(pg_catalog.text, pg_catalog.jsonb) IS
  'creates or replaces a named rule set (an array of rules, or {rules, weights, options}) after validating it';

CREATE FUNCTION etl.execute_dq_validation(data pg_catalog.text, profile pg_catalog.text,
                                          run_id pg_catalog.int8 DEFAULT NULL,
                                          options pg_catalog.jsonb DEFAULT '{}')
RETURNS pg_catalog.jsonb
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    qp      etl.quality_profiles;
    opts    jsonb;
    scan    jsonb;
    out     jsonb;
    pid     text;
BEGIN
    SELECT * INTO qp FROM etl.quality_profiles q WHERE q.name = profile;
    IF NOT FOUND THEN
        PERFORM etl._dq_fail('42704', format('quality profile "%s" does not exist', profile), NULL,
            'Create it with etl.define_quality_profile(name, rules).');
    END IF;
    opts := qp.options || etl._dq_options(options,
        ARRAY['samples', 'key_columns', 'profile', 'approx', 'top_n', 'weights', 'pipeline_id']);
    IF run_id IS NOT NULL AND NOT opts ? 'pipeline_id' THEN
        SELECT r.pipeline_id INTO pid FROM etl.pipeline_runs r WHERE r.run_id = execute_dq_validation.run_id;
        IF pid IS NOT NULL THEN opts := opts || jsonb_build_object('pipeline_id', pid); END IF;
    END IF;
    scan := etl._dq_scan(data, qp.rules, opts);
    out := etl._dq_record(scan, run_id, opts->>'pipeline_id', profile, qp.weights || coalesce(opts->'weights', '{}'));
    IF scan->'profile' <> 'null' THEN
        PERFORM etl._dq_store_profile(scan->'profile', data, run_id);
        out := out || jsonb_build_object('profile', jsonb_build_object('dataset', data) || (scan->'profile'));
    END IF;
    RETURN jsonb_build_object('dataset', data, 'profile_name', profile) || out;
END
$$;
COMMENT ON FUNCTION etl.execute_dq_validation(pg_catalog.text, pg_catalog.text, pg_catalog.int8, pg_catalog.jsonb) IS
  'runs a named quality profile on a relation or SELECT in one scan; records checks and the score; returns quality_score, passed and checks';

/*
 * etl.quality_gate (CONTRACT section 4): evaluates rules on a dataset in the
 * caller's transaction, records the results and returns passed / score /
 * checks.  It never raises for a failing rule; it raises for bad rules or
 * data.  With a quarantine table, rows failing error-severity row-level
 * rules are moved there (with the names of the rules they broke) and those
 * rules no longer fail the gate.
 */
CREATE FUNCTION etl.quality_gate(data pg_catalog.text, rules pg_catalog.jsonb,
                                 run_id pg_catalog.int8 DEFAULT NULL,
                                 pipeline_id pg_catalog.text DEFAULT NULL,
                                 gate pg_catalog.text DEFAULT 'error',
                                 options pg_catalog.jsonb DEFAULT '{}')
RETURNS pg_catalog.jsonb
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    opts    jsonb := etl._dq_options(options, ARRAY['samples', 'key_columns', 'weights', 'quarantine', 'profile']);
    rl      jsonb := rules;
    g       text := lower(coalesce(gate, 'error'));
    qt      text;
    qparts  text[];
    qname   text;
    scan    jsonb;
    out     jsonb;
    ch      jsonb;
    qrules  jsonb := '[]';
    preds   text[] := '{}';
    names   text[] := '{}';
    moved   bigint := 0;
    ok      bool;
    failing jsonb;
    checks  jsonb := '[]';
BEGIN
    IF g NOT IN ('error', 'warn', 'none') THEN
        PERFORM etl._dq_fail('22023', format('invalid gate "%s"', gate), NULL, 'Use error, warn or none.');
    END IF;
    -- rules: the quality.rules array, or the whole quality block
    IF jsonb_typeof(rules) = 'object' THEN
        PERFORM etl._dq_options(rules - ARRAY['rules', 'gate', 'quarantine', 'weights'], '{}');
        rl := coalesce(rules->'rules', '[]');
        IF rules ? 'quarantine' AND NOT opts ? 'quarantine' THEN
            opts := opts || jsonb_build_object('quarantine', rules->'quarantine');
        END IF;
        IF rules ? 'weights' AND NOT opts ? 'weights' THEN
            opts := opts || jsonb_build_object('weights', rules->'weights');
        END IF;
    END IF;
    rl := etl._normalize_rules(rl);
    qt := opts->>'quarantine';

    scan := etl._dq_scan(data, rl, opts || jsonb_build_object('pipeline_id', pipeline_id));

    -- quarantine: move the rows failing error-severity row-level rules
    IF qt IS NOT NULL THEN
        FOR ch IN SELECT e FROM jsonb_array_elements(scan->'checks') e LOOP
            IF ch ? '_fail' AND ch->>'severity' = 'error' AND (ch->>'failed_rows')::bigint > 0 THEN
                preds := preds || (ch->>'_fail');
                names := names || (ch->>'rule');
            END IF;
        END LOOP;
        IF cardinality(preds) > 0 THEN
            IF left(scan->>'_from', 1) = '(' THEN
                PERFORM etl._dq_fail('22023', 'quarantine needs a table, not a query',
                    format('Dataset: %s.', data), 'Materialise the data into a table (a pipeline node) first.');
            END IF;
            qparts := parse_ident(qt);
            qname := (SELECT string_agg(quote_ident(x), '.') FROM unnest(qparts) x);
            IF pg_catalog.to_regclass(qname) IS NULL THEN
                EXECUTE format('CREATE TABLE %s (
                    quarantine_id pg_catalog.int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    run_id pg_catalog.int8, pipeline_id pg_catalog.text, dataset pg_catalog.text NOT NULL,
                    rules pg_catalog.text[] NOT NULL, row_data pg_catalog.jsonb NOT NULL,
                    quarantined_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now())', qname);
            END IF;
            EXECUTE format(E'WITH moved AS (DELETE FROM %s AS d WHERE %s\n  RETURNING to_jsonb(d) AS row_data, pg_catalog.array_remove(ARRAY[%s]::text[], NULL) AS rules)\n'
                           'INSERT INTO %s (run_id, pipeline_id, dataset, rules, row_data) SELECT $3, $4, $5, rules, row_data FROM moved',
                           scan->>'_from',
                           (SELECT string_agg('(' || f || ')', E'\n  OR ') FROM unnest(preds) f),
                           (SELECT string_agg(format('CASE WHEN (%s) THEN $2[%s] END', f, o), ', ')
                              FROM unnest(preds) WITH ORDINALITY AS t(f, o)),
                           qname)
              USING ARRAY(SELECT jsonb_array_elements_text(scan->'_params')), names, run_id, pipeline_id, data;
            GET DIAGNOSTICS moved = ROW_COUNT;
        END IF;
    END IF;

    out := etl._dq_record(scan, run_id, pipeline_id, NULL, opts->'weights');
    FOR ch IN SELECT e FROM jsonb_array_elements(out->'checks') e LOOP
        IF (ch->>'rule') = ANY (names) THEN
            ch := ch || '{"quarantined": true}';
        END IF;
        checks := checks || jsonb_build_array(ch);
    END LOOP;
    SELECT coalesce(jsonb_agg(e->'rule'), '[]') INTO failing
      FROM jsonb_array_elements(checks) e
     WHERE e->>'severity' = 'error' AND NOT (e->>'passed')::bool AND NOT e ? 'quarantined';
    ok := g <> 'error' OR jsonb_array_length(failing) = 0;
    IF g = 'warn' AND jsonb_array_length(failing) > 0 THEN
        RAISE WARNING 'quality gate: rules failed on %: %', data, failing;
    END IF;
    UPDATE etl.quality_scores s SET passed = ok WHERE s.score_id = (out->>'score_id')::bigint;
    RETURN jsonb_build_object('dataset', data, 'gate', g, 'passed', ok, 'quality_score', out->'quality_score',
                              'dimensions', out->'dimensions', 'rows_checked', out->'rows_checked',
                              'failed_rules', failing, 'quarantined_rows', moved,
                              'checks', checks, 'score_id', out->'score_id');
END
$$;
COMMENT ON FUNCTION etl.quality_gate(pg_catalog.text, pg_catalog.jsonb, pg_catalog.int8, pg_catalog.text, pg_catalog.text, pg_catalog.jsonb) IS
  'the in-transaction quality gate: evaluates rules on a dataset in one scan, records results, optionally quarantines failing rows; never raises for a failing rule';

CREATE FUNCTION etl.suggest_rules(data pg_catalog.text)
RETURNS pg_catalog.jsonb
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    prof    jsonb := etl.profile(data, '{"store": false}');
    n       bigint := (prof->>'row_count')::bigint;
    o       jsonb;
    col     text;
    cnt     bigint;
    p       numeric;
    bound   numeric;
    nd      bigint;
    out     jsonb := '[]';
BEGIN
    IF n = 0 THEN
        RETURN jsonb_build_object('dataset', data, 'rows_profiled', 0, 'rules', '[]'::jsonb,
                                  'note', 'the dataset is empty: no rules can be suggested');
    END IF;
    out := out || jsonb_build_array(jsonb_build_object('name', 'row_count', 'type', 'row_count', 'min', 1,
               'severity', 'warn', 'description', 'the dataset is not empty'));
    FOR o IN SELECT e FROM jsonb_array_elements(prof->'columns') e LOOP
        col := o->>'column';
        cnt := (o->>'count')::bigint;
        IF cnt = 0 THEN
            CONTINUE;       -- an all-NULL column: nothing to learn from
        END IF;
        -- completeness: exact when complete, else a 95% lower confidence bound
        p := cnt::numeric / n;
        IF p = 1 THEN
            out := out || jsonb_build_array(jsonb_build_object('name', 'completeness_' || col, 'type', 'completeness',
                       'column', col, 'threshold', 100, 'description', 'no NULLs observed'));
        ELSIF p >= 0.5 THEN
            bound := round(greatest(0, floor((p - 1.96 * sqrt(p * (1 - p) / n)) * 1000) / 10), 1);
            out := out || jsonb_build_array(jsonb_build_object('name', 'completeness_' || col, 'type', 'completeness',
                       'column', col, 'threshold', bound, 'severity', 'warn',
                       'description', format('%s%% non-NULL observed; threshold is the 95%% lower confidence bound',
                                             round(100 * p, 2))));
        END IF;
        -- numeric: non-negative, observed range
        IF o ? 'negatives' THEN
            IF (o->>'negatives')::bigint = 0 THEN
                out := out || jsonb_build_array(jsonb_build_object('name', 'non_negative_' || col, 'type', 'validity',
                           'check', 'range', 'column', col, 'min', 0, 'description', 'no negative values observed'));
            END IF;
            out := out || jsonb_build_array(jsonb_build_object('name', 'range_' || col, 'type', 'validity',
                       'check', 'range', 'column', col, 'min', o->'min', 'max', o->'max', 'severity', 'warn',
                       'description', 'the observed range'));
        END IF;
        -- low cardinality: allowed values
        nd := (o->>'distinct')::bigint;
        IF nd BETWEEN 1 AND 10 AND cnt >= 2 * nd AND o->>'semantic_type' NOT IN ('float', 'date', 'timestamp')
           AND jsonb_array_length(coalesce(o->'top_values', '[]')) = nd THEN
            out := out || jsonb_build_array(jsonb_build_object('name', 'allowed_values_' || col, 'type', 'validity',
                       'check', 'allowed_values', 'column', col,
                       'values', (SELECT jsonb_agg(t->'value' ORDER BY t->'value') FROM jsonb_array_elements(o->'top_values') t),
                       'description', format('%s distinct values observed', nd)));
        END IF;
        -- nearly unique: uniqueness
        IF nd > 1 AND nd >= 0.99 * cnt THEN
            out := out || jsonb_build_array(jsonb_build_object('name', 'unique_' || col, 'type', 'uniqueness',
                       'column', col, 'threshold', round(floor(1000.0 * (o->>'unique')::bigint / cnt) / 10, 1),
                       'description', format('%s distinct values in %s rows', nd, cnt)));
        END IF;
        -- text with a recognisable shape: format
        IF o->>'semantic_type' IN ('email', 'url', 'uuid', 'date', 'timestamp', 'phone', 'json')
           AND o ? 'semantic_match_pct' THEN
            out := out || jsonb_build_array(jsonb_build_object('name', 'format_' || col, 'type', 'validity',
                       'check', 'format', 'format', o->>'semantic_type', 'column', col,
                       'threshold', round(floor((o->>'semantic_match_pct')::numeric * 10) / 10, 1),
                       'description', format('%s%% of values look like %s', o->>'semantic_match_pct', o->>'semantic_type')));
        END IF;
    END LOOP;
    RETURN jsonb_build_object('dataset', data, 'rows_profiled', n, 'rules', etl._normalize_rules(out));
END
$$;
COMMENT ON FUNCTION etl.suggest_rules(pg_catalog.text) IS
  'proposes a ready-to-register rule set from a profile (deequ-style: completeness bounds, non-negative, ranges, allowed values, uniqueness, formats)';
-- Anomaly detection: outlier scores of rows (zscore, mad, iqr, isolation
-- forest) and of a pipeline's run metrics.  Results are recorded in
-- etl.anomaly_detection (sql/install/20_quality.sql).

CREATE FUNCTION etl.detect_anomalies(
    data    pg_catalog.text,
    columns pg_catalog.text[],
    method  pg_catalog.text DEFAULT 'isolation_forest',
    options pg_catalog.jsonb DEFAULT '{}')
RETURNS TABLE(row_number pg_catalog.int8, score pg_catalog.float8, is_anomaly pg_catalog.bool)
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'metaetl_detect_anomalies';
COMMENT ON FUNCTION etl.detect_anomalies(pg_catalog.text, pg_catalog.text[], pg_catalog.text, pg_catalog.jsonb) IS
  'scores every row of a relation or SELECT on numeric columns (zscore, mad, iqr, isolation_forest) and records the detection in etl.anomaly_detection';

CREATE FUNCTION etl.detect_metric_anomalies(
    pipeline_id pg_catalog.text,
    metric      pg_catalog.text,
    options     pg_catalog.jsonb DEFAULT '{}')
RETURNS TABLE(run_id pg_catalog.int8, value pg_catalog.float8, score pg_catalog.float8,
              is_anomaly pg_catalog.bool, reason pg_catalog.text)
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'metaetl_detect_metric_anomalies';
COMMENT ON FUNCTION etl.detect_metric_anomalies(pg_catalog.text, pg_catalog.text, pg_catalog.jsonb) IS
  'scores a run metric (rows_read, rows_written, duration, quality_score, rows_per_sec, null_rate) of a pipeline''s run history with a trailing-window z-score and the change from the previous run; records the detection in etl.anomaly_detection';
-- Scheduler: schedules, pools, the run queue and the functions that fill it.
-- The launcher background worker (src/scheduler/launcher.c) calls
-- etl._scheduler_tick() about once a second and at every due time; the
-- orchestrator claims queued rows (etl.claim_runs or its own query with
-- FOR UPDATE SKIP LOCKED) and starts the runs.  See docs/scheduling.md.

CREATE TABLE etl.pools (
    pool            pg_catalog.text PRIMARY KEY CHECK (etl.is_valid_id(pool)),
    slots           pg_catalog.int4 NOT NULL CHECK (slots >= 0),  -- 0 holds the pool's runs
    description     pg_catalog.text,
    created_at      pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE etl.pools IS
  'Named run pools: at most "slots" runs of the pool are claimed at a time (0 holds them)';

CREATE TABLE etl.schedules (
    schedule_id     pg_catalog.int8 GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    pipeline_id     pg_catalog.text NOT NULL UNIQUE REFERENCES etl.pipelines ON DELETE CASCADE,
    cron            pg_catalog.text,                 -- NULL: one-off (run_at) or trigger_on only
    timezone        pg_catalog.text NOT NULL DEFAULT 'UTC',
    run_at          pg_catalog.timestamptz,          -- one-off run (options.at)
    catchup         pg_catalog.text NOT NULL DEFAULT 'latest'
                    CHECK (catchup IN ('none', 'latest', 'all')),
    depends_on      pg_catalog.text[] NOT NULL DEFAULT '{}',
    trigger_on      pg_catalog.text[] NOT NULL DEFAULT '{}',
    dependency_window pg_catalog.interval NOT NULL DEFAULT '0',
    pool            pg_catalog.text REFERENCES etl.pools ON UPDATE CASCADE ON DELETE SET NULL,
    priority        pg_catalog.int4 NOT NULL DEFAULT 0,
    options         pg_catalog.jsonb NOT NULL DEFAULT '{}'
                    CHECK (pg_catalog.jsonb_typeof(options) = 'object'),
    paused          pg_catalog.bool NOT NULL DEFAULT false,
    next_fire_at    pg_catalog.timestamptz,          -- next tick not yet enqueued
    last_fire_at    pg_catalog.timestamptz,          -- logical date of the last tick enqueued
    dataset_seen_run pg_catalog.int8 NOT NULL DEFAULT 0,  -- trigger_on: upstream runs up to this id handled
    last_error      pg_catalog.text,
    owner           pg_catalog.name NOT NULL DEFAULT CURRENT_USER,
    created_at      pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at      pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CHECK (cron IS NOT NULL OR run_at IS NOT NULL OR pg_catalog.cardinality(trigger_on) > 0)
);
CREATE INDEX schedules_due_idx ON etl.schedules (next_fire_at) WHERE NOT paused;
COMMENT ON TABLE etl.schedules IS
  'One schedule per pipeline: cron expression and time zone (or a one-off time), catch-up policy, dependencies, pool and priority';

CREATE TABLE etl.run_queue (
    queue_id        pg_catalog.int8 GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    pipeline_id     pg_catalog.text NOT NULL REFERENCES etl.pipelines ON DELETE CASCADE,
    schedule_id     pg_catalog.int8 REFERENCES etl.schedules ON DELETE SET NULL,
    logical_date    pg_catalog.timestamptz,
    trigger         pg_catalog.text NOT NULL
                    CHECK (trigger IN ('schedule', 'backfill', 'run_now', 'dependency', 'dataset', 'retry')),
    priority        pg_catalog.int4 NOT NULL DEFAULT 0,
    pool            pg_catalog.text REFERENCES etl.pools ON UPDATE CASCADE ON DELETE SET NULL,
    not_before      pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
    state           pg_catalog.text NOT NULL DEFAULT 'queued'
                    CHECK (state IN ('waiting', 'queued', 'claimed', 'done', 'skipped')),
    run_id          pg_catalog.int8 REFERENCES etl.pipeline_runs ON DELETE SET NULL,
    attempt         pg_catalog.int4 NOT NULL DEFAULT 1 CHECK (attempt >= 1),
    enqueued_at     pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    claimed_at      pg_catalog.timestamptz,
    note            pg_catalog.text,
    UNIQUE (schedule_id, logical_date)
);
CREATE INDEX run_queue_ready_idx ON etl.run_queue (priority DESC, not_before, queue_id)
    WHERE state = 'queued';
CREATE INDEX run_queue_waiting_idx ON etl.run_queue (pipeline_id) WHERE state = 'waiting';
CREATE INDEX run_queue_claimed_idx ON etl.run_queue (pool) WHERE state = 'claimed';
CREATE INDEX run_queue_pipeline_idx ON etl.run_queue (pipeline_id, logical_date);
COMMENT ON TABLE etl.run_queue IS
  'Runs waiting to start: one row per schedule tick (unique per schedule and logical date), backfill, run_now or dataset trigger; claimed by the orchestrator';

-- ---------------------------------------------------------------- cron (C)

CREATE FUNCTION etl.cron_next(cron pg_catalog.text, timezone pg_catalog.text DEFAULT 'UTC',
                              after pg_catalog.timestamptz DEFAULT pg_catalog.now())
RETURNS pg_catalog.timestamptz
LANGUAGE c STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_cron_next';
COMMENT ON FUNCTION etl.cron_next(pg_catalog.text, pg_catalog.text, pg_catalog.timestamptz) IS
  'the first time strictly after "after" at which the cron expression fires in the time zone; NULL for @reboot or when it never fires';

CREATE FUNCTION etl.cron_ticks(cron pg_catalog.text, timezone pg_catalog.text,
                               from_ts pg_catalog.timestamptz, to_ts pg_catalog.timestamptz,
                               max_ticks pg_catalog.int4 DEFAULT 10000)
RETURNS SETOF pg_catalog.timestamptz
LANGUAGE c STABLE PARALLEL SAFE ROWS 100
AS 'MODULE_PATHNAME', 'metaetl_cron_ticks';
COMMENT ON FUNCTION etl.cron_ticks(pg_catalog.text, pg_catalog.text, pg_catalog.timestamptz, pg_catalog.timestamptz, pg_catalog.int4) IS
  'the times in [from_ts, to_ts] at which the cron expression fires in the time zone, at most max_ticks of them';

CREATE FUNCTION etl._cron_last(cron pg_catalog.text, timezone pg_catalog.text,
                               from_ts pg_catalog.timestamptz, to_ts pg_catalog.timestamptz)
RETURNS pg_catalog.timestamptz
LANGUAGE c STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_cron_last';
COMMENT ON FUNCTION etl._cron_last(pg_catalog.text, pg_catalog.text, pg_catalog.timestamptz, pg_catalog.timestamptz) IS
  'internal: the last fire time in [from_ts, to_ts], or NULL (catch-up "latest")';

CREATE FUNCTION etl._is_timezone_name(name pg_catalog.text)
RETURNS boolean
LANGUAGE c STABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_is_timezone_name';
COMMENT ON FUNCTION etl._is_timezone_name(pg_catalog.text) IS
  'internal: whether name is listed in pg_timezone_names (the list is cached per session)';

CREATE FUNCTION etl._require_scheduler()
RETURNS void
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'metaetl_require_scheduler';
COMMENT ON FUNCTION etl._require_scheduler() IS
  'internal: raises when metaetl is not preloaded (no launcher); warns when the launcher serves another database';

-- raises 22023 with a hint for a bad expression or an unknown time zone
CREATE FUNCTION etl._check_schedule(cron pg_catalog.text, timezone pg_catalog.text)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog
AS $fn$
BEGIN
    IF timezone IS NULL OR NOT etl._is_timezone_name(timezone) THEN
        RAISE EXCEPTION 'unknown time zone "%"', timezone
            USING ERRCODE = '22023',
                  DETAIL = 'Schedules take an IANA time zone name listed in pg_timezone_names.',
                  HINT = 'Use a name such as UTC, Europe/Berlin or America/New_York; SELECT name FROM pg_timezone_names lists them all.';
    END IF;
    IF cron IS NOT NULL THEN
        PERFORM etl.cron_next(cron, timezone);
    END IF;
END
$fn$;
COMMENT ON FUNCTION etl._check_schedule(pg_catalog.text, pg_catalog.text) IS
  'internal: raises SQLSTATE 22023 for a bad cron expression or an unknown time zone';

-- ----------------------------------------------------------------- pools

CREATE FUNCTION etl.add_pool(pool pg_catalog.text, slots pg_catalog.int4,
                             description pg_catalog.text DEFAULT NULL)
RETURNS void
LANGUAGE sql
BEGIN ATOMIC
    INSERT INTO etl.pools (pool, slots, description) VALUES (pool, slots, description)
    ON CONFLICT ON CONSTRAINT pools_pkey
    DO UPDATE SET slots = excluded.slots, description = excluded.description;
END;
COMMENT ON FUNCTION etl.add_pool(pg_catalog.text, pg_catalog.int4, pg_catalog.text) IS
  'creates a named run pool with a number of slots (0 holds its runs), or changes its slots';

CREATE FUNCTION etl.drop_pool(pool pg_catalog.text)
RETURNS boolean
LANGUAGE sql
BEGIN ATOMIC
    WITH d AS (DELETE FROM etl.pools p WHERE p.pool OPERATOR(pg_catalog.=) drop_pool.pool RETURNING 1)
    SELECT count(*) OPERATOR(pg_catalog.>) 0 FROM d;
END;
COMMENT ON FUNCTION etl.drop_pool(pg_catalog.text) IS
  'drops a run pool (schedules and queued runs in it lose their pool); true if it existed';

-- ------------------------------------------------------------- schedules

CREATE FUNCTION etl.schedule_pipeline(pipeline_id pg_catalog.text, cron pg_catalog.text,
                                      timezone pg_catalog.text DEFAULT 'UTC',
                                      options pg_catalog.jsonb DEFAULT '{}')
RETURNS pg_catalog.int8
LANGUAGE plpgsql
SET search_path = pg_catalog
AS $fn$
DECLARE
    known_keys constant text[] := ARRAY['catchup', 'depends_on', 'trigger_on', 'pool', 'priority',
                                        'at', 'dependency_window', 'paused'];
    opt       jsonb := coalesce(options, '{}');
    k         text;
    v_catchup text;
    v_depends text[];
    v_trigger text[];
    v_pool    text;
    v_prio    int4;
    v_at      timestamptz;
    v_window  interval;
    v_paused  bool;
    v_next    timestamptz;
    v_seen    int8;
    v_id      int8;
    p         text;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM etl.pipelines q WHERE q.pipeline_id OPERATOR(pg_catalog.=) schedule_pipeline.pipeline_id) THEN
        RAISE EXCEPTION 'pipeline "%" does not exist', pipeline_id
            USING ERRCODE = '42704',
                  HINT = 'Register the pipeline with etl.register_pipeline() before scheduling it.';
    END IF;
    PERFORM etl._require_scheduler();
    IF jsonb_typeof(opt) <> 'object' THEN
        RAISE EXCEPTION 'schedule options must be a JSON object'
            USING ERRCODE = '22023', HINT = 'Pass options such as ''{"catchup": "all", "depends_on": ["upstream"]}''.';
    END IF;
    FOR k IN SELECT jsonb_object_keys(opt) LOOP
        IF NOT k = ANY (known_keys) THEN
            RAISE EXCEPTION 'unknown schedule option "%"', k
                USING ERRCODE = '22023',
                      DETAIL = format('Pipeline "%s".', pipeline_id),
                      HINT = 'Known options: ' || array_to_string(known_keys, ', ') || '.';
        END IF;
    END LOOP;

    v_catchup := coalesce(opt->>'catchup', 'latest');
    IF v_catchup NOT IN ('none', 'latest', 'all') THEN
        RAISE EXCEPTION 'invalid catchup "%"', v_catchup
            USING ERRCODE = '22023', DETAIL = format('Pipeline "%s".', pipeline_id),
                  HINT = 'Use none, latest or all.';
    END IF;
    BEGIN
        v_depends := coalesce(ARRAY(SELECT jsonb_array_elements_text(coalesce(opt->'depends_on', '[]'))), '{}');
        v_trigger := coalesce(ARRAY(SELECT jsonb_array_elements_text(coalesce(opt->'trigger_on', '[]'))), '{}');
        v_prio    := coalesce((opt->>'priority')::int4, 0);
        v_at      := (opt->>'at')::timestamptz;
        v_window  := coalesce((opt->>'dependency_window')::interval, '0');
        v_paused  := coalesce((opt->>'paused')::bool, false);
    EXCEPTION WHEN data_exception OR invalid_text_representation OR invalid_datetime_format
                   OR datetime_field_overflow OR invalid_parameter_value THEN
        RAISE EXCEPTION 'invalid schedule options for pipeline "%"', pipeline_id
            USING ERRCODE = '22023', DETAIL = 'Invalid value: ' || SQLERRM || '.',
                  HINT = 'depends_on and trigger_on are arrays of pipeline ids, priority an integer, at a timestamptz, dependency_window an interval.';
    END;
    FOREACH p IN ARRAY v_depends || v_trigger LOOP
        IF NOT EXISTS (SELECT 1 FROM etl.pipelines q WHERE q.pipeline_id OPERATOR(pg_catalog.=) p) THEN
            RAISE EXCEPTION 'upstream pipeline "%" does not exist', p
                USING ERRCODE = '42704', DETAIL = format('Pipeline "%s" names it in depends_on or trigger_on.', pipeline_id),
                      HINT = 'Register the upstream pipeline first, or remove it from the schedule options.';
        END IF;
        IF p = pipeline_id THEN
            RAISE EXCEPTION 'pipeline "%" cannot depend on itself', p USING ERRCODE = '22023',
                  HINT = 'Remove it from depends_on and trigger_on.';
        END IF;
    END LOOP;
    v_pool := opt->>'pool';
    IF v_pool IS NOT NULL AND NOT EXISTS (SELECT 1 FROM etl.pools o WHERE o.pool OPERATOR(pg_catalog.=) v_pool) THEN
        RAISE EXCEPTION 'pool "%" does not exist', v_pool
            USING ERRCODE = '42704', DETAIL = format('Pipeline "%s".', pipeline_id),
                  HINT = 'Create it with etl.add_pool(name, slots).';
    END IF;

    IF cron IS NOT NULL AND btrim(cron) = '' THEN
        cron := NULL;
    END IF;
    IF cron IS NULL AND v_at IS NULL AND cardinality(v_trigger) = 0 THEN
        RAISE EXCEPTION 'a schedule needs a cron expression, an "at" time or "trigger_on"'
            USING ERRCODE = '22023', DETAIL = format('Pipeline "%s".', pipeline_id),
                  HINT = 'Pass a cron expression such as ''0 2 * * *'', or options ''{"at": "2030-01-01 02:00+00"}''.';
    END IF;
    PERFORM etl._check_schedule(cron, coalesce(timezone, 'UTC'));
    timezone := coalesce(timezone, 'UTC');

    IF v_at IS NOT NULL THEN
        v_next := v_at;
    ELSIF cron IS NOT NULL THEN
        v_next := etl.cron_next(cron, timezone, now());
    END IF;
    SELECT coalesce(max(r.run_id), 0) INTO v_seen FROM etl.pipeline_runs r
     WHERE r.pipeline_id = ANY (v_trigger);

    INSERT INTO etl.schedules AS s (pipeline_id, cron, timezone, run_at, catchup, depends_on, trigger_on,
                                    dependency_window, pool, priority, options, paused, next_fire_at,
                                    dataset_seen_run)
    VALUES (pipeline_id, cron, timezone, v_at, v_catchup, v_depends, v_trigger, v_window, v_pool,
            v_prio, opt, v_paused, v_next, v_seen)
    ON CONFLICT ON CONSTRAINT schedules_pipeline_id_key DO UPDATE
       SET cron = excluded.cron, timezone = excluded.timezone, run_at = excluded.run_at,
           catchup = excluded.catchup, depends_on = excluded.depends_on,
           trigger_on = excluded.trigger_on, dependency_window = excluded.dependency_window,
           pool = excluded.pool, priority = excluded.priority, options = excluded.options,
           paused = excluded.paused, next_fire_at = excluded.next_fire_at,
           dataset_seen_run = greatest(s.dataset_seen_run, excluded.dataset_seen_run),
           last_error = NULL, updated_at = now()
    RETURNING s.schedule_id INTO v_id;
    RETURN v_id;
END
$fn$;
COMMENT ON FUNCTION etl.schedule_pipeline(pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.jsonb) IS
  'schedules a pipeline (or replaces its schedule): cron expression, IANA time zone and options catchup, depends_on, trigger_on, pool, priority, at, dependency_window; returns the schedule id';

CREATE FUNCTION etl.unschedule_pipeline(pipeline_id pg_catalog.text)
RETURNS boolean
LANGUAGE sql
BEGIN ATOMIC
    WITH d AS (DELETE FROM etl.schedules s
                WHERE s.pipeline_id OPERATOR(pg_catalog.=) unschedule_pipeline.pipeline_id
               RETURNING 1)
    SELECT count(*) OPERATOR(pg_catalog.>) 0 FROM d;
END;
COMMENT ON FUNCTION etl.unschedule_pipeline(pg_catalog.text) IS
  'removes a pipeline''s schedule (queued runs stay queued); true if it had one';

CREATE FUNCTION etl.pause_schedule(pipeline_id pg_catalog.text)
RETURNS boolean
LANGUAGE sql
BEGIN ATOMIC
    WITH u AS (UPDATE etl.schedules s SET paused = true, updated_at = pg_catalog.now()
                WHERE s.pipeline_id OPERATOR(pg_catalog.=) pause_schedule.pipeline_id
               RETURNING 1)
    SELECT count(*) OPERATOR(pg_catalog.>) 0 FROM u;
END;
COMMENT ON FUNCTION etl.pause_schedule(pg_catalog.text) IS
  'pauses a pipeline''s schedule: no ticks are enqueued until it is resumed; true if it has a schedule';

CREATE FUNCTION etl.resume_schedule(pipeline_id pg_catalog.text)
RETURNS boolean
LANGUAGE sql
BEGIN ATOMIC
    WITH u AS (UPDATE etl.schedules s
                  SET paused = false, updated_at = pg_catalog.now(),
                      next_fire_at = CASE WHEN s.cron IS NOT NULL
                                          THEN etl.cron_next(s.cron, s.timezone, pg_catalog.now())
                                          ELSE s.next_fire_at END
                WHERE s.pipeline_id OPERATOR(pg_catalog.=) resume_schedule.pipeline_id
               RETURNING 1)
    SELECT count(*) OPERATOR(pg_catalog.>) 0 FROM u;
END;
COMMENT ON FUNCTION etl.resume_schedule(pg_catalog.text) IS
  'resumes a paused schedule from now on (ticks missed while paused are not caught up); true if it has a schedule';

CREATE FUNCTION etl.get_next_runs(pipeline_id pg_catalog.text, n pg_catalog.int4 DEFAULT 5)
RETURNS SETOF pg_catalog.timestamptz
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog
AS $fn$
DECLARE
    s etl.schedules;
BEGIN
    SELECT * INTO s FROM etl.schedules q WHERE q.pipeline_id OPERATOR(pg_catalog.=) get_next_runs.pipeline_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'pipeline "%" has no schedule', pipeline_id
            USING ERRCODE = '42704', HINT = 'Schedule it with etl.schedule_pipeline(pipeline_id, cron).';
    END IF;
    IF s.run_at IS NOT NULL THEN
        IF s.next_fire_at IS NOT NULL AND n >= 1 THEN
            RETURN NEXT s.next_fire_at;
        END IF;
        RETURN;
    END IF;
    IF s.cron IS NULL OR n < 1 THEN
        RETURN;
    END IF;
    RETURN QUERY SELECT t FROM etl.cron_ticks(s.cron, s.timezone, now() + interval '1 microsecond',
                                              'infinity', n) AS t;
END
$fn$;
COMMENT ON FUNCTION etl.get_next_runs(pg_catalog.text, pg_catalog.int4) IS
  'the next n times the pipeline''s schedule fires, in its time zone''s wall-clock rules (one row for a one-off schedule)';

CREATE FUNCTION etl.apply_schedule_config(pipeline_id pg_catalog.text, schedule pg_catalog.jsonb)
RETURNS pg_catalog.int8
LANGUAGE plpgsql
SET search_path = pg_catalog
AS $fn$
DECLARE
    opt jsonb;
BEGIN
    IF schedule IS NULL OR jsonb_typeof(schedule) = 'null' OR schedule = '{}'::jsonb THEN
        PERFORM etl.unschedule_pipeline(pipeline_id);
        RETURN NULL;
    END IF;
    IF jsonb_typeof(schedule) <> 'object' THEN
        RAISE EXCEPTION 'pipeline.schedule must be a mapping'
            USING ERRCODE = '22023', DETAIL = format('Pipeline "%s".', pipeline_id),
                  HINT = 'Write schedule: { cron: "0 2 * * *", timezone: UTC }.';
    END IF;
    -- registering a config must not fail for want of the scheduler: say so
    IF etl._scheduler_shmem()->>'state' = 'not preloaded' THEN
        RAISE WARNING 'the schedule of pipeline "%" is not registered: the scheduler requires metaetl to be loaded via shared_preload_libraries', pipeline_id
            USING HINT = 'Add metaetl to shared_preload_libraries in postgresql.conf, restart the server and register the pipeline again.';
        RETURN NULL;
    END IF;
    opt := schedule - ARRAY['cron', 'timezone', 'enabled'];
    IF (schedule->>'enabled') = 'false' THEN
        opt := opt || '{"paused": true}';
    END IF;
    RETURN etl.schedule_pipeline(pipeline_id, schedule->>'cron', coalesce(schedule->>'timezone', 'UTC'), opt);
END
$fn$;
COMMENT ON FUNCTION etl.apply_schedule_config(pg_catalog.text, pg_catalog.jsonb) IS
  'registers the schedule: block of a pipeline config (cron, timezone and the schedule_pipeline options; enabled: false pauses); an empty or null block removes the schedule; without preload it warns and registers nothing';

-- ---------------------------------------------------------- dependencies

-- the upstreams of depends_on that block a run of pipeline_id for logical_date
CREATE FUNCTION etl._dependencies_blocking(pipeline_id pg_catalog.text, logical_date pg_catalog.timestamptz)
RETURNS pg_catalog.jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog
BEGIN ATOMIC
    SELECT coalesce(jsonb_agg(b.item ORDER BY b.up), '[]'::jsonb)
      FROM (SELECT u.up,
                   CASE WHEN r.run_id IS NULL THEN
                        jsonb_build_object('pipeline_id', u.up, 'reason', 'no run for this logical date yet',
                                           'needed_logical_date',
                                           _dependencies_blocking.logical_date OPERATOR(pg_catalog.-) s.dependency_window)
                   ELSE jsonb_build_object('pipeline_id', u.up, 'reason', 'latest run is ' OPERATOR(pg_catalog.||) r.status,
                                           'run_id', r.run_id, 'status', r.status,
                                           'logical_date', r.logical_date)
                   END AS item,
                   (r.status IS NOT DISTINCT FROM 'succeeded') AS ok
              FROM etl.schedules s
              CROSS JOIN LATERAL unnest(s.depends_on) AS u(up)
              LEFT JOIN LATERAL (
                    SELECT x.run_id, x.status, coalesce(x.logical_date, x.queued_at) AS logical_date
                      FROM etl.pipeline_runs x
                     WHERE x.pipeline_id OPERATOR(pg_catalog.=) u.up
                       AND coalesce(x.logical_date, x.queued_at) OPERATOR(pg_catalog.>=)
                           (_dependencies_blocking.logical_date OPERATOR(pg_catalog.-) s.dependency_window)
                     ORDER BY coalesce(x.logical_date, x.queued_at) DESC, x.run_id DESC
                     LIMIT 1) r ON true
             WHERE s.pipeline_id OPERATOR(pg_catalog.=) _dependencies_blocking.pipeline_id) b
     WHERE NOT b.ok;
END;
COMMENT ON FUNCTION etl._dependencies_blocking(pg_catalog.text, pg_catalog.timestamptz) IS
  'internal: the depends_on upstreams whose latest run for the logical date (or later, within dependency_window) has not succeeded';

CREATE FUNCTION etl.check_dependencies(pipeline_id pg_catalog.text)
RETURNS pg_catalog.jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog
AS $fn$
DECLARE
    s        etl.schedules;
    v_date   timestamptz;
    blocking jsonb;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM etl.pipelines q WHERE q.pipeline_id OPERATOR(pg_catalog.=) check_dependencies.pipeline_id) THEN
        RAISE EXCEPTION 'pipeline "%" does not exist', pipeline_id USING ERRCODE = '42704';
    END IF;
    SELECT * INTO s FROM etl.schedules q WHERE q.pipeline_id OPERATOR(pg_catalog.=) check_dependencies.pipeline_id;
    IF NOT FOUND THEN
        RETURN jsonb_build_object('ready', true, 'blocking', '[]'::jsonb, 'depends_on', '[]'::jsonb,
                                  'logical_date', NULL);
    END IF;
    -- the oldest run waiting for its dependencies, else the last tick, else now
    SELECT min(q.logical_date) INTO v_date FROM etl.run_queue q
     WHERE q.pipeline_id OPERATOR(pg_catalog.=) check_dependencies.pipeline_id AND q.state = 'waiting';
    v_date := coalesce(v_date, s.last_fire_at, now());
    blocking := etl._dependencies_blocking(pipeline_id, v_date);
    RETURN jsonb_build_object('ready', jsonb_array_length(blocking) = 0, 'blocking', blocking,
                              'depends_on', to_jsonb(s.depends_on), 'logical_date', v_date);
END
$fn$;
COMMENT ON FUNCTION etl.check_dependencies(pg_catalog.text) IS
  'whether the pipeline''s next waiting run may start: {ready, blocking: [{pipeline_id, reason, ...}], depends_on, logical_date}';

-- ----------------------------------------------------------------- queue

CREATE FUNCTION etl.run_now(pipeline_id pg_catalog.text)
RETURNS pg_catalog.int8
LANGUAGE plpgsql
SET search_path = pg_catalog
AS $fn$
DECLARE
    v_id int8;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM etl.pipelines q WHERE q.pipeline_id OPERATOR(pg_catalog.=) run_now.pipeline_id) THEN
        RAISE EXCEPTION 'pipeline "%" does not exist', pipeline_id USING ERRCODE = '42704';
    END IF;
    INSERT INTO etl.run_queue AS q (pipeline_id, schedule_id, logical_date, trigger, priority, pool)
    SELECT run_now.pipeline_id, NULL, now(), 'run_now', coalesce(s.priority, 0), s.pool
      FROM (SELECT 1) one
      LEFT JOIN etl.schedules s ON s.pipeline_id OPERATOR(pg_catalog.=) run_now.pipeline_id
    RETURNING q.queue_id INTO v_id;
    RETURN v_id;
END
$fn$;
COMMENT ON FUNCTION etl.run_now(pg_catalog.text) IS
  'queues a run of the pipeline now (outside its schedule, not waiting for dependencies); returns the queue id';

CREATE FUNCTION etl.backfill(pipeline_id pg_catalog.text, from_ts pg_catalog.timestamptz,
                             to_ts pg_catalog.timestamptz)
RETURNS pg_catalog.int4
LANGUAGE plpgsql
SET search_path = pg_catalog
AS $fn$
DECLARE
    s etl.schedules;
    n int4;
BEGIN
    SELECT * INTO s FROM etl.schedules q WHERE q.pipeline_id OPERATOR(pg_catalog.=) backfill.pipeline_id;
    IF NOT FOUND OR s.cron IS NULL THEN
        RAISE EXCEPTION 'pipeline "%" has no cron schedule to backfill', pipeline_id
            USING ERRCODE = '55000',
                  HINT = 'Schedule it first with etl.schedule_pipeline(pipeline_id, cron); backfill enqueues one run per scheduled time.';
    END IF;
    IF from_ts IS NULL OR to_ts IS NULL OR from_ts > to_ts THEN
        RAISE EXCEPTION 'invalid backfill range'
            USING ERRCODE = '22023', DETAIL = format('From %s to %s.', from_ts, to_ts),
                  HINT = 'Pass from_ts <= to_ts.';
    END IF;
    IF (SELECT count(*) FROM etl.cron_ticks(s.cron, s.timezone, from_ts, to_ts, 10001)) > 10000 THEN
        RAISE EXCEPTION 'backfill range holds more than 10000 scheduled times'
            USING ERRCODE = '54000', DETAIL = format('Pipeline "%s", from %s to %s.', pipeline_id, from_ts, to_ts),
                  HINT = 'Backfill a shorter range at a time.';
    END IF;
    INSERT INTO etl.run_queue (pipeline_id, schedule_id, logical_date, trigger, priority, pool, state)
    SELECT s.pipeline_id, s.schedule_id, t, 'backfill', s.priority, s.pool,
           CASE WHEN cardinality(s.depends_on) > 0 THEN 'waiting' ELSE 'queued' END
      FROM etl.cron_ticks(s.cron, s.timezone, from_ts, to_ts, 10000) AS t
    ON CONFLICT (schedule_id, logical_date) DO NOTHING;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$fn$;
COMMENT ON FUNCTION etl.backfill(pg_catalog.text, pg_catalog.timestamptz, pg_catalog.timestamptz) IS
  'enqueues one run per scheduled time in [from_ts, to_ts] with that logical date (times already queued are skipped); returns how many were added';

CREATE FUNCTION etl.claim_runs(max_runs pg_catalog.int4 DEFAULT 1)
RETURNS SETOF etl.run_queue
LANGUAGE plpgsql
SET search_path = pg_catalog
AS $fn$
DECLARE
    q        etl.run_queue;
    v_limit  int4 := coalesce(nullif(current_setting('metaetl.max_concurrent_runs', true), '')::int4, 0);
    v_active int4;
    v_taken  int4 := 0;
    v_slots  int4;
    v_used   int4;
    v_conc   text;
BEGIN
    -- one claimer at a time, so pool and global limits hold under concurrency
    PERFORM pg_advisory_xact_lock(hashtext('metaetl.claim_runs'));
    SELECT count(*) INTO v_active FROM etl.run_queue c WHERE c.state = 'claimed';
    FOR q IN SELECT * FROM etl.run_queue r
              WHERE r.state = 'queued' AND r.not_before <= clock_timestamp()
              ORDER BY r.priority DESC, r.not_before, r.queue_id
              FOR UPDATE SKIP LOCKED
    LOOP
        EXIT WHEN v_taken >= max_runs;
        EXIT WHEN v_limit > 0 AND v_active >= v_limit;
        IF q.pool IS NOT NULL THEN
            SELECT o.slots INTO v_slots FROM etl.pools o WHERE o.pool = q.pool;
            SELECT count(*) INTO v_used FROM etl.run_queue c WHERE c.state = 'claimed' AND c.pool = q.pool;
            CONTINUE WHEN v_used >= v_slots;
        END IF;
        -- the pipeline's concurrency policy (normalised config; default skip)
        SELECT coalesce(p.config->'pipeline'->>'concurrency', 'skip') INTO v_conc
          FROM etl.pipelines p WHERE p.pipeline_id = q.pipeline_id;
        IF v_conc <> 'allow'
           AND (EXISTS (SELECT 1 FROM etl.run_queue c
                         WHERE c.pipeline_id = q.pipeline_id AND c.state = 'claimed')
                OR EXISTS (SELECT 1 FROM etl.pipeline_runs x
                            WHERE x.pipeline_id = q.pipeline_id AND x.status = 'running')) THEN
            IF v_conc = 'skip' THEN
                UPDATE etl.run_queue r
                   SET state = 'skipped',
                       note = 'skipped: another run of the pipeline is in progress (concurrency: skip)'
                 WHERE r.queue_id = q.queue_id;
            END IF;
            CONTINUE;               -- queue: stays queued until the other run ends
        END IF;
        UPDATE etl.run_queue r SET state = 'claimed', claimed_at = clock_timestamp()
         WHERE r.queue_id = q.queue_id RETURNING * INTO q;
        v_taken := v_taken + 1;
        v_active := v_active + 1;
        RETURN NEXT q;
    END LOOP;
END
$fn$;
COMMENT ON FUNCTION etl.claim_runs(pg_catalog.int4) IS
  'claims up to max_runs queued runs in priority order, respecting pool slots, metaetl.max_concurrent_runs and each pipeline''s concurrency (skip: marks the run skipped while another is in progress; queue: leaves it queued; allow); the caller starts them and sets state done';

-- --------------------------------------------------------------- launcher

-- One pass of the launcher: enqueue due ticks (with catch-up), @reboot runs,
-- dataset-triggered runs, release runs whose dependencies are met.  Returns
-- the next due time.  Runs as the launcher (the bootstrap superuser).
CREATE FUNCTION etl._scheduler_tick(reboot_at pg_catalog.timestamptz DEFAULT NULL)
RETURNS pg_catalog.timestamptz
LANGUAGE plpgsql
SET search_path = pg_catalog
AS $fn$
DECLARE
    grace     constant interval := '15 seconds';
    now_ts    timestamptz := clock_timestamp();
    s         record;
    ticks     timestamptz[];
    v_last    timestamptz;
    v_next    timestamptz;
    v_allow   bool := coalesce(current_setting('metaetl.allow_superuser_runs', true), 'off')::bool;
    v_state   text;
BEGIN
    -- after a server start, runs claimed before it died with it: free their
    -- pool slots (the orchestrator marks the runs abandoned and retries them
    -- by policy)
    IF reboot_at IS NOT NULL THEN
        UPDATE etl.run_queue
           SET state = 'done',
               note = format('abandoned: claimed before the server started at %s', reboot_at)
         WHERE state = 'claimed' AND claimed_at < reboot_at;
    END IF;

    -- the common case, set-based: cron schedules due now and not late
    WITH due AS (
        SELECT sc.schedule_id, sc.pipeline_id, sc.cron, sc.timezone, sc.next_fire_at,
               sc.priority, sc.pool,
               CASE WHEN cardinality(sc.depends_on) > 0 THEN 'waiting' ELSE 'queued' END AS st
          FROM etl.schedules sc
          JOIN etl.pipelines p USING (pipeline_id)
          LEFT JOIN pg_roles a ON a.rolname = p.owner
         WHERE NOT sc.paused AND sc.run_at IS NULL AND sc.cron IS NOT NULL
           AND sc.next_fire_at <= now_ts AND sc.next_fire_at >= now_ts - grace
           AND cardinality(sc.trigger_on) = 0
           AND (v_allow OR NOT coalesce(a.rolsuper, false))
           FOR NO KEY UPDATE OF sc SKIP LOCKED
           FOR KEY SHARE OF p SKIP LOCKED
    ), ticks AS (
        SELECT d.schedule_id, d.pipeline_id, d.priority, d.pool, d.st, t
          FROM due d CROSS JOIN LATERAL etl.cron_ticks(d.cron, d.timezone, d.next_fire_at, now_ts, 10000) AS t
    ), ins AS (
        INSERT INTO etl.run_queue (pipeline_id, schedule_id, logical_date, trigger, priority, pool,
                                   not_before, state)
        SELECT k.pipeline_id, k.schedule_id, k.t, 'schedule', k.priority, k.pool, k.t, k.st
          FROM ticks k
        ON CONFLICT (schedule_id, logical_date) DO NOTHING
    )
    UPDATE etl.schedules u
       SET next_fire_at = etl.cron_next(d.cron, d.timezone, now_ts),
           last_fire_at = coalesce((SELECT max(k.t) FROM ticks k WHERE k.schedule_id = d.schedule_id),
                                   u.last_fire_at),
           last_error = NULL
      FROM due d
     WHERE u.schedule_id = d.schedule_id;

    -- everything else, one schedule at a time: late ticks (catch-up), one-off
    -- runs, @reboot, dataset triggers, superuser-owned pipelines
    FOR s IN SELECT sc.*, coalesce(a.rolsuper, false) AS owner_super
               FROM etl.schedules sc
               JOIN etl.pipelines p USING (pipeline_id)
               LEFT JOIN pg_roles a ON a.rolname = p.owner
              WHERE NOT sc.paused
                AND (sc.next_fire_at <= now_ts
                     OR (reboot_at IS NOT NULL AND sc.cron ~* '^\s*@reboot\s*$')
                     OR cardinality(sc.trigger_on) > 0)
              ORDER BY sc.next_fire_at NULLS LAST
              -- the pipeline row too, so a concurrent DROP/DELETE of the pipeline
              -- (which cascades to the schedule) waits or is skipped, never deadlocks
              FOR NO KEY UPDATE OF sc SKIP LOCKED
              FOR KEY SHARE OF p SKIP LOCKED
    LOOP
        v_state := CASE WHEN cardinality(s.depends_on) > 0 THEN 'waiting' ELSE 'queued' END;
        ticks := '{}';
        v_next := s.next_fire_at;
        IF s.run_at IS NOT NULL THEN
            IF s.next_fire_at <= now_ts THEN
                IF s.catchup <> 'none' OR s.next_fire_at >= now_ts - grace THEN
                    ticks := ARRAY[s.next_fire_at];
                END IF;
                v_next := NULL;
            END IF;
        ELSIF s.cron ~* '^\s*@reboot\s*$' THEN
            IF reboot_at IS NOT NULL THEN
                ticks := ARRAY[reboot_at];
            END IF;
            v_next := NULL;
        ELSIF s.cron IS NOT NULL AND s.next_fire_at <= now_ts THEN
            -- ticks due within the grace period are never "missed"
            ticks := ARRAY(SELECT t FROM etl.cron_ticks(s.cron, s.timezone,
                                       greatest(s.next_fire_at, now_ts - grace), now_ts, 10000) t);
            IF s.next_fire_at < now_ts - grace THEN
                IF s.catchup = 'all' THEN
                    ticks := ARRAY(SELECT t FROM etl.cron_ticks(s.cron, s.timezone, s.next_fire_at,
                                                                now_ts, 10000) t);
                ELSIF s.catchup = 'latest' AND cardinality(ticks) = 0 THEN
                    ticks := ARRAY[etl._cron_last(s.cron, s.timezone, s.next_fire_at, now_ts)];
                END IF;
            END IF;
            ticks := array_remove(ticks, NULL);
            v_last := CASE WHEN cardinality(ticks) > 0 THEN ticks[cardinality(ticks)] ELSE now_ts END;
            v_next := etl.cron_next(s.cron, s.timezone, greatest(v_last, now_ts));
            IF s.catchup = 'all' AND cardinality(ticks) >= 10000 THEN
                v_next := etl.cron_next(s.cron, s.timezone, v_last);  -- the rest next pass
            END IF;
        END IF;

        IF s.owner_super AND NOT v_allow AND cardinality(ticks) > 0 THEN
            UPDATE etl.schedules SET next_fire_at = v_next,
                   last_error = 'pipeline owner is a superuser and metaetl.allow_superuser_runs is off; ticks were not enqueued'
             WHERE schedule_id = s.schedule_id;
            CONTINUE;
        END IF;

        IF cardinality(ticks) > 0 THEN
            INSERT INTO etl.run_queue (pipeline_id, schedule_id, logical_date, trigger, priority, pool,
                                       not_before, state)
            SELECT s.pipeline_id, s.schedule_id, t, 'schedule', s.priority, s.pool, t, v_state
              FROM unnest(ticks) AS t
            ON CONFLICT (schedule_id, logical_date) DO NOTHING;
        END IF;

        -- dataset-triggered: upstream runs that loaded data since the last look
        IF cardinality(s.trigger_on) > 0 AND NOT (s.owner_super AND NOT v_allow)
           AND EXISTS (SELECT 1 FROM etl.pipeline_runs r
                        WHERE r.pipeline_id = ANY (s.trigger_on) AND r.run_id > s.dataset_seen_run
                          AND r.status = 'succeeded') THEN
            WITH fresh AS (
                SELECT r.run_id, coalesce(r.ended_at, r.queued_at) AS at, coalesce(r.rows_written, 0) AS rows_written
                  FROM etl.pipeline_runs r
                 WHERE r.pipeline_id = ANY (s.trigger_on) AND r.run_id > s.dataset_seen_run
                   AND r.status = 'succeeded'
            ), ins AS (
                INSERT INTO etl.run_queue (pipeline_id, schedule_id, logical_date, trigger, priority, pool, state)
                SELECT s.pipeline_id, s.schedule_id, f.at, 'dataset', s.priority, s.pool, v_state
                  FROM fresh f WHERE f.rows_written > 0
                ON CONFLICT (schedule_id, logical_date) DO NOTHING
            )
            -- an upstream run still going below the newest success is looked at
            -- again later (the unique key drops what was already queued)
            UPDATE etl.schedules SET dataset_seen_run = greatest(dataset_seen_run,
                       least(coalesce((SELECT max(f.run_id) FROM fresh f), 0),
                             coalesce((SELECT min(r.run_id) - 1 FROM etl.pipeline_runs r
                                        WHERE r.pipeline_id = ANY (s.trigger_on)
                                          AND r.status IN ('queued', 'running')),
                                      9223372036854775807)))
             WHERE schedule_id = s.schedule_id;
        END IF;

        IF v_next IS DISTINCT FROM s.next_fire_at OR cardinality(ticks) > 0 THEN
            UPDATE etl.schedules
               SET next_fire_at = v_next,
                   last_fire_at = CASE WHEN cardinality(ticks) > 0 THEN ticks[cardinality(ticks)] ELSE last_fire_at END,
                   last_error = NULL
             WHERE schedule_id = s.schedule_id;
        END IF;
    END LOOP;

    -- release waiting runs whose dependencies are now met
    UPDATE etl.run_queue q SET state = 'queued', not_before = greatest(q.not_before, now_ts)
     WHERE q.state = 'waiting'
       AND etl._dependencies_blocking(q.pipeline_id, q.logical_date) = '[]'::jsonb;

    RETURN (SELECT min(next_fire_at) FROM etl.schedules WHERE NOT paused);
END
$fn$;
COMMENT ON FUNCTION etl._scheduler_tick(pg_catalog.timestamptz) IS
  'internal (launcher): enqueues due ticks with catch-up, @reboot and dataset-triggered runs, releases runs whose dependencies are met; returns the next due time';
REVOKE ALL ON FUNCTION etl._scheduler_tick(pg_catalog.timestamptz) FROM PUBLIC;

CREATE FUNCTION etl.purge_run_history(older_than pg_catalog.interval DEFAULT NULL,
                                      batch_size pg_catalog.int4 DEFAULT 1000)
RETURNS pg_catalog.int8
LANGUAGE plpgsql
SET search_path = pg_catalog
AS $fn$
DECLARE
    v_age  interval := coalesce(older_than,
                                ((SELECT g.setting FROM pg_catalog.pg_settings g
                                   WHERE g.name = 'metaetl.run_retention') || ' minutes')::interval,
                                interval '30 days');
    n_runs int8;
    n_q    int8;
BEGIN
    IF v_age <= interval '0' THEN
        RETURN 0;
    END IF;
    WITH old AS (
        SELECT r.run_id FROM etl.pipeline_runs r
         WHERE r.status IN ('succeeded', 'failed', 'quality_failed', 'cancelled', 'abandoned')
           AND coalesce(r.ended_at, r.queued_at) < now() - v_age
         ORDER BY r.run_id
         LIMIT batch_size
         FOR UPDATE SKIP LOCKED)
    DELETE FROM etl.pipeline_runs r USING old WHERE r.run_id = old.run_id;
    GET DIAGNOSTICS n_runs = ROW_COUNT;
    WITH old AS (
        SELECT q.queue_id FROM etl.run_queue q
         WHERE q.state IN ('done', 'skipped') AND q.enqueued_at < now() - v_age
         ORDER BY q.queue_id
         LIMIT batch_size
         FOR UPDATE SKIP LOCKED)
    DELETE FROM etl.run_queue q USING old WHERE q.queue_id = old.queue_id;
    GET DIAGNOSTICS n_q = ROW_COUNT;
    RETURN n_runs + n_q;
END
$fn$;
COMMENT ON FUNCTION etl.purge_run_history(pg_catalog.interval, pg_catalog.int4) IS
  'deletes up to batch_size finished runs (with their steps and results) and done queue rows older than older_than (default metaetl.run_retention); returns rows deleted; the launcher calls it in batches';

-- ------------------------------------------------------ status and wakeup

CREATE FUNCTION etl._scheduler_shmem()
RETURNS pg_catalog.jsonb
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'metaetl_scheduler_shmem';
COMMENT ON FUNCTION etl._scheduler_shmem() IS
  'internal: the launcher''s state from shared memory';

CREATE FUNCTION etl.scheduler_status()
RETURNS pg_catalog.jsonb
LANGUAGE sql VOLATILE
SET search_path = pg_catalog
BEGIN ATOMIC
    SELECT etl._scheduler_shmem()
        || jsonb_build_object(
             'schedules', (SELECT count(*) FROM etl.schedules),
             'paused_schedules', (SELECT count(*) FROM etl.schedules WHERE paused),
             'next_due', (SELECT min(next_fire_at) FROM etl.schedules WHERE NOT paused),
             'queue_length', (SELECT count(*) FROM etl.run_queue WHERE state = 'queued'),
             'waiting', (SELECT count(*) FROM etl.run_queue WHERE state = 'waiting'),
             'claimed', (SELECT count(*) FROM etl.run_queue WHERE state = 'claimed'),
             'active_workers', (SELECT count(*) FROM etl.pipeline_runs WHERE status = 'running'));
END;
COMMENT ON FUNCTION etl.scheduler_status() IS
  'the scheduler: launcher state, pid, enabled, next due time, queue length, waiting and claimed runs, active workers';

CREATE FUNCTION etl._schedules_changed()
RETURNS trigger
LANGUAGE c
AS 'MODULE_PATHNAME', 'metaetl_schedules_changed';
COMMENT ON FUNCTION etl._schedules_changed() IS
  'internal trigger: wakes the launcher when the transaction that changed schedules or queued runs commits';

CREATE TRIGGER schedules_wakeup AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON etl.schedules
    FOR EACH STATEMENT EXECUTE FUNCTION etl._schedules_changed();
-- queued runs (run_now, backfill, retries) and freed slots wake it too, so
-- an orchestrator hooked into the launcher starts runs at once
CREATE TRIGGER run_queue_wakeup AFTER INSERT OR UPDATE OF state ON etl.run_queue
    FOR EACH STATEMENT EXECUTE FUNCTION etl._schedules_changed();

-- ----------------------------------------------------------------- pg_cron

CREATE FUNCTION etl.schedule_with_pg_cron(pipeline_id pg_catalog.text, cron pg_catalog.text)
RETURNS pg_catalog.int8
LANGUAGE plpgsql
SET search_path = pg_catalog
AS $fn$
DECLARE
    v_cmd text;
    v_id  int8;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM etl.pipelines q WHERE q.pipeline_id OPERATOR(pg_catalog.=) schedule_with_pg_cron.pipeline_id) THEN
        RAISE EXCEPTION 'pipeline "%" does not exist', pipeline_id USING ERRCODE = '42704';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pg_cron') THEN
        RAISE EXCEPTION 'pg_cron is not installed in this database'
            USING ERRCODE = '55000',
                  DETAIL = format('Pipeline "%s" cannot be scheduled with pg_cron.', pipeline_id),
                  HINT = 'Add pg_cron to shared_preload_libraries, set cron.database_name to this database, and run CREATE EXTENSION pg_cron; or use etl.schedule_pipeline(), which needs no pg_cron.';
    END IF;
    v_cmd := format('SELECT etl.execute_pipeline(%L, %L)', pipeline_id, 'pg_cron');
    EXECUTE 'SELECT cron.schedule($1, $2, $3)' INTO v_id USING 'metaetl_' || pipeline_id, cron, v_cmd;
    RETURN v_id;
END
$fn$;
COMMENT ON FUNCTION etl.schedule_with_pg_cron(pg_catalog.text, pg_catalog.text) IS
  'creates (or replaces) a pg_cron job named metaetl_<pipeline_id> running etl.execute_pipeline(pipeline_id, ''pg_cron''); returns the cron job id';
-- Monitoring and alerting: alert channels (their secrets sealed apart, see
-- src/monitor/secrets.c), routes, escalation policies, the durable delivery
-- outbox and its attempts, raise/acknowledge/resolve, SLA definitions and
-- evaluation, and the hook the orchestrator calls after each run.  The rules
-- are set-based SQL here; delivery is C (src/monitor/, src/util/curl.c):
-- etl.deliver_pending() from SQL, or the "metaetl alert delivery" background
-- worker when the library is preloaded.  docs/monitoring.md describes it all.
--
-- Every function pins search_path (except etl.apply_sla_config, which
-- resolves a freshness table as its caller sees it); SQL in the bodies names
-- etl.* objects explicitly and resolves everything else in pg_catalog.

-- ---------------------------------------------------------------------------
-- Tables
-- ---------------------------------------------------------------------------

CREATE TABLE etl.alert_channels (
    name            pg_catalog.text PRIMARY KEY CHECK (etl.is_valid_id(name)),
    type            pg_catalog.text NOT NULL CHECK (type IN ('email', 'slack', 'sms', 'webhook')),
    config          pg_catalog.jsonb NOT NULL DEFAULT '{}'
                    CHECK (pg_catalog.jsonb_typeof(config) = 'object'),
    secrets         pg_catalog.jsonb NOT NULL DEFAULT '{}'     -- password, token, secret, webhook_url, headers: sealed
                    CHECK (pg_catalog.jsonb_typeof(secrets) = 'object'),
    enabled         pg_catalog.bool NOT NULL DEFAULT true,
    owner           pg_catalog.name NOT NULL DEFAULT CURRENT_USER,
    created_at      pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at      pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now()
);
REVOKE ALL ON etl.alert_channels FROM PUBLIC;
COMMENT ON TABLE etl.alert_channels IS
  'Alert channels (email, slack, sms, webhook); secret values live sealed (AES-256-GCM) in column secrets, shown as *** by etl.alert_channels_public';

CREATE TABLE etl.escalation_policies (
    name            pg_catalog.text PRIMARY KEY CHECK (etl.is_valid_id(name)),
    levels          pg_catalog.jsonb NOT NULL CHECK (pg_catalog.jsonb_typeof(levels) = 'array'),
    created_at      pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE etl.escalation_policies IS
  'Escalation levels: an alert still open after_minutes after it was first seen is sent to the next level''s channels';

CREATE TABLE etl.alert_routes (
    route_id        pg_catalog.int8 GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    alert_types     pg_catalog.text[],                  -- NULL: every type
    priorities      pg_catalog.text[],                  -- NULL: every priority
    pipeline_tags   pg_catalog.text[],                  -- NULL: every pipeline; else any tag in common
    channels        pg_catalog.text[] NOT NULL CHECK (pg_catalog.cardinality(channels) >= 1),
    escalation_policy pg_catalog.text REFERENCES etl.escalation_policies ON DELETE SET NULL,
    enabled         pg_catalog.bool NOT NULL DEFAULT true,
    created_at      pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE etl.alert_routes IS
  'Routing: alerts of these types and priorities, on pipelines with these tags, go to these channels';

CREATE TABLE etl.alert_deliveries (
    delivery_id     pg_catalog.int8 GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    alert_id        pg_catalog.int8 NOT NULL REFERENCES etl.alerts ON DELETE CASCADE,
    channel         pg_catalog.text NOT NULL REFERENCES etl.alert_channels ON DELETE CASCADE,
    event           pg_catalog.text NOT NULL DEFAULT 'open' CHECK (event IN ('open', 'escalation', 'resolved')),
    escalation_level pg_catalog.int4 NOT NULL DEFAULT 0,
    status          pg_catalog.text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'sending', 'delivered', 'failed', 'throttled', 'cancelled')),
    payload         pg_catalog.jsonb NOT NULL,          -- the alert as sent; never a secret
    attempts        pg_catalog.int4 NOT NULL DEFAULT 0,
    max_attempts    pg_catalog.int4 NOT NULL DEFAULT 5 CHECK (max_attempts >= 1),
    next_attempt_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
    created_at      pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
    delivered_at    pg_catalog.timestamptz,
    last_http_status pg_catalog.int4,
    last_smtp_reply pg_catalog.text,
    last_error      pg_catalog.text                     -- redacted
);
CREATE INDEX alert_deliveries_due_idx ON etl.alert_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX alert_deliveries_alert_idx ON etl.alert_deliveries (alert_id);
CREATE INDEX alert_deliveries_channel_idx ON etl.alert_deliveries (channel, created_at);
COMMENT ON TABLE etl.alert_deliveries IS
  'Durable outbox of alert notifications, one row per alert and channel, delivered asynchronously with retries';

CREATE TABLE etl.alert_delivery_attempts (
    attempt_id      pg_catalog.int8 GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    delivery_id     pg_catalog.int8 NOT NULL REFERENCES etl.alert_deliveries ON DELETE CASCADE,
    attempt         pg_catalog.int4 NOT NULL,
    attempted_at    pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    succeeded       pg_catalog.bool NOT NULL,
    http_status     pg_catalog.int4,
    smtp_reply      pg_catalog.text,
    latency_ms      pg_catalog.float8,
    error           pg_catalog.text,                    -- redacted
    response        pg_catalog.text                     -- first bytes of the reply, redacted
);
CREATE INDEX alert_delivery_attempts_delivery_idx ON etl.alert_delivery_attempts (delivery_id, attempt);
COMMENT ON TABLE etl.alert_delivery_attempts IS
  'Every delivery attempt: HTTP status or SMTP reply, latency and error (secrets redacted)';

ALTER TABLE etl.alerts
    ADD COLUMN escalation_policy pg_catalog.text REFERENCES etl.escalation_policies ON DELETE SET NULL,
    ADD COLUMN escalation_level pg_catalog.int4 NOT NULL DEFAULT 0,
    ADD COLUMN escalated_at pg_catalog.timestamptz;

-- ---------------------------------------------------------------------------
-- Channels
-- ---------------------------------------------------------------------------

-- keys whose values are secrets: stored in alert_channels.secrets, never shown
CREATE FUNCTION etl._alert_secret_keys()
RETURNS pg_catalog.text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN ARRAY['password', 'token', 'secret', 'webhook_url', 'headers']::pg_catalog.text[];
COMMENT ON FUNCTION etl._alert_secret_keys() IS
  'internal: alert channel config keys whose values are secrets';

CREATE FUNCTION etl._seal_secret(value pg_catalog.text)
RETURNS pg_catalog.text
LANGUAGE c VOLATILE STRICT
AS 'MODULE_PATHNAME', 'metaetl_seal_secret';
REVOKE EXECUTE ON FUNCTION etl._seal_secret(pg_catalog.text) FROM PUBLIC;
COMMENT ON FUNCTION etl._seal_secret(pg_catalog.text) IS
  'internal: seal a secret with AES-256-GCM under the key in $PGDATA/metaetl_secret.key';

CREATE FUNCTION etl._open_secret(sealed pg_catalog.text)
RETURNS pg_catalog.text
LANGUAGE c VOLATILE STRICT
AS 'MODULE_PATHNAME', 'metaetl_open_secret';
REVOKE EXECUTE ON FUNCTION etl._open_secret(pg_catalog.text) FROM PUBLIC;
COMMENT ON FUNCTION etl._open_secret(pg_catalog.text) IS
  'internal: open a secret sealed by etl._seal_secret';

-- a channel's secrets, opened: only the delivery code calls this
CREATE FUNCTION etl._open_alert_secrets(secrets pg_catalog.jsonb)
RETURNS pg_catalog.jsonb
LANGUAGE sql VOLATILE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
SELECT COALESCE(jsonb_object_agg(e.key, (etl._open_secret(e.value #>> '{}'))::jsonb), '{}')
  FROM jsonb_each(secrets) e
$$;
REVOKE EXECUTE ON FUNCTION etl._open_alert_secrets(pg_catalog.jsonb) FROM PUBLIC;
COMMENT ON FUNCTION etl._open_alert_secrets(pg_catalog.jsonb) IS
  'internal: a channel''s sealed secrets, opened';

CREATE FUNCTION etl._open_alert_secrets_safe(secrets pg_catalog.jsonb)
RETURNS pg_catalog.jsonb
LANGUAGE plpgsql VOLATILE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN etl._open_alert_secrets(secrets);
EXCEPTION WHEN OTHERS THEN
    RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION etl._open_alert_secrets_safe(pg_catalog.jsonb) FROM PUBLIC;
COMMENT ON FUNCTION etl._open_alert_secrets_safe(pg_catalog.jsonb) IS
  'internal: etl._open_alert_secrets, NULL instead of an error (a delivery then fails, recorded)';

CREATE VIEW etl.alert_channels_public AS
SELECT c.name, c.type,
       c.config OPERATOR(pg_catalog.||) COALESCE(
           (SELECT pg_catalog.jsonb_object_agg(k, '***'::pg_catalog.text) FROM pg_catalog.jsonb_object_keys(c.secrets) AS k),
           '{}') AS config,
       c.enabled, c.owner, c.created_at, c.updated_at
  FROM etl.alert_channels c;
COMMENT ON VIEW etl.alert_channels_public IS
  'Alert channels with every secret value shown as ***';

CREATE FUNCTION etl._alert_url_ok(url pg_catalog.text, schemes pg_catalog.text)
RETURNS pg_catalog.bool
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN url ~ ('^(' || schemes || ')://(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)(:[0-9]{1,5})?(/[^[:space:]]*)?$')
   AND COALESCE(substring(url from '^[a-z]+://[^/]*:([0-9]+)')::int4 BETWEEN 1 AND 65535, true);
COMMENT ON FUNCTION etl._alert_url_ok(pg_catalog.text, pg_catalog.text) IS
  'internal: whether url is a well-formed URL with one of the |-separated schemes';

CREATE FUNCTION etl._alert_channel_error(channel pg_catalog.text, msg pg_catalog.text,
                                         detail pg_catalog.text, hint pg_catalog.text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION '%', msg
        USING ERRCODE = '22023', DETAIL = detail,
              HINT = COALESCE(hint, 'See docs/monitoring.md for the keys of each channel type.');
END
$$;
COMMENT ON FUNCTION etl._alert_channel_error(pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text) IS
  'internal: raise an invalid-channel-config error (22023)';

CREATE FUNCTION etl._validate_alert_channel(name pg_catalog.text, type pg_catalog.text, config pg_catalog.jsonb)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    allowed text[];
    common  text[] := ARRAY['retry', 'throttle', 'timeout_ms', 'enabled', 'notify_resolved'];
    k       text;
    v       jsonb;
    rcpt    jsonb;
    secrets text[] := etl._alert_secret_keys();
BEGIN
    IF name IS NULL OR NOT etl.is_valid_id(name) THEN
        PERFORM etl._alert_channel_error(name, format('invalid alert channel name %L', name),
            'A channel name is lower-case ASCII: a letter, then letters, digits or underscores, at most 63 bytes.');
    END IF;
    IF type IS NULL OR type NOT IN ('email', 'slack', 'sms', 'webhook') THEN
        PERFORM etl._alert_channel_error(name, format('unknown alert channel type %L', type),
            format('Channel "%s" has type %L.', name, type),
            'Use one of email, slack, sms, webhook.');
    END IF;
    IF config IS NULL OR jsonb_typeof(config) <> 'object' THEN
        PERFORM etl._alert_channel_error(name, 'alert channel config must be a JSON object',
            format('Channel "%s" (%s) was given a %s.', name, type, COALESCE(jsonb_typeof(config), 'NULL')));
    END IF;

    allowed := CASE type
        WHEN 'email' THEN ARRAY['smtp_url', 'from', 'to', 'username', 'password', 'starttls',
                                'ca_file', 'tls_verify', 'subject_prefix']
        WHEN 'slack' THEN ARRAY['webhook_url', 'channel', 'username', 'icon_emoji']
        WHEN 'sms' THEN ARRAY['url', 'to', 'from', 'body_format', 'auth', 'username', 'password',
                              'token', 'to_field', 'from_field', 'body_field', 'max_length', 'extra']
        WHEN 'webhook' THEN ARRAY['url', 'secret', 'headers']
    END || common;
    FOR k IN SELECT jsonb_object_keys(config) LOOP
        IF NOT k = ANY (allowed) THEN
            PERFORM etl._alert_channel_error(name, format('unknown key %L in %s alert channel config', k, type),
                format('Channel "%s" accepts the keys %s.', name, array_to_string(allowed, ', ')));
        END IF;
        IF k = ANY (secrets) AND k <> 'headers' AND jsonb_typeof(config -> k) <> 'string' THEN
            PERFORM etl._alert_channel_error(name, format('alert channel key %L must be a string', k),
                format('Channel "%s" key "%s" is a %s.', name, k, jsonb_typeof(config -> k)));
        END IF;
    END LOOP;

    IF type = 'email' THEN
        IF NOT config ? 'smtp_url' THEN
            PERFORM etl._alert_channel_error(name, 'email alert channel needs an SMTP server',
                format('Channel "%s" has no key "smtp_url".', name),
                'Give smtp_url as smtp://host:port (STARTTLS) or smtps://host:port (TLS).');
        END IF;
        IF NOT etl._alert_url_ok(config ->> 'smtp_url', 'smtp|smtps') THEN
            PERFORM etl._alert_channel_error(name, 'malformed URL in alert channel config',
                format('Channel "%s" key "smtp_url" is %L, not smtp://host[:port] or smtps://host[:port].',
                       name, config ->> 'smtp_url'));
        END IF;
        IF NOT config ? 'to' OR config -> 'to' IN ('""', '[]', 'null') THEN
            PERFORM etl._alert_channel_error(name, format('alert channel "%s" has no recipient', name),
                'An email channel needs key "to": an address or a list of addresses.');
        END IF;
        FOR rcpt IN SELECT CASE jsonb_typeof(config -> 'to') WHEN 'array' THEN e ELSE config -> 'to' END
                      FROM jsonb_array_elements(CASE jsonb_typeof(config -> 'to') WHEN 'array'
                                                     THEN config -> 'to' ELSE '[0]' END) AS e
        LOOP
            IF jsonb_typeof(rcpt) <> 'string' OR rcpt #>> '{}' !~ '^[^@[:space:]<>,]+@[^@[:space:]<>,]+$' THEN
                PERFORM etl._alert_channel_error(name, 'malformed email address in alert channel config',
                    format('Channel "%s" key "to" holds %s, not an address like ops@example.com.', name, rcpt));
            END IF;
        END LOOP;
        IF NOT config ? 'from' OR (config ->> 'from') !~ '^[^@[:space:]<>,]+@[^@[:space:]<>,]+$' THEN
            PERFORM etl._alert_channel_error(name, 'email alert channel needs a sender address',
                format('Channel "%s" key "from" is missing or not an address like metaetl@example.com.', name));
        END IF;
        IF config ? 'password' AND NOT config ? 'username' THEN
            PERFORM etl._alert_channel_error(name, 'email alert channel has a password but no username',
                format('Channel "%s" sets "password" without "username".', name));
        END IF;
    ELSIF type = 'slack' THEN
        IF NOT config ? 'webhook_url' THEN
            PERFORM etl._alert_channel_error(name, 'slack alert channel needs a webhook URL',
                format('Channel "%s" has no key "webhook_url".', name),
                'Create an incoming webhook in Slack and give its https://hooks.slack.com/services/... URL.');
        END IF;
        IF NOT etl._alert_url_ok(config ->> 'webhook_url', 'https|http') THEN
            PERFORM etl._alert_channel_error(name, 'malformed URL in alert channel config',
                format('Channel "%s" key "webhook_url" is not an http:// or https:// URL (the value is secret and not shown).', name));
        END IF;
    ELSE  -- sms, webhook
        IF NOT config ? 'url' THEN
            PERFORM etl._alert_channel_error(name, format('%s alert channel needs a URL', type),
                format('Channel "%s" has no key "url".', name));
        END IF;
        IF NOT etl._alert_url_ok(config ->> 'url', 'https|http') THEN
            PERFORM etl._alert_channel_error(name, 'malformed URL in alert channel config',
                format('Channel "%s" key "url" is %L, not an http:// or https:// URL.', name, config ->> 'url'));
        END IF;
        IF type = 'webhook' AND config ? 'headers' AND jsonb_typeof(config -> 'headers') <> 'object' THEN
            PERFORM etl._alert_channel_error(name, 'alert channel key "headers" must be an object',
                format('Channel "%s" key "headers" must map header names to values.', name));
        END IF;
    END IF;

    IF type = 'sms' THEN
        IF NOT config ? 'to' OR jsonb_typeof(config -> 'to') <> 'string' OR config ->> 'to' = '' THEN
            PERFORM etl._alert_channel_error(name, format('alert channel "%s" has no recipient', name),
                'An sms channel needs key "to": the phone number to text, such as +15551230000.');
        END IF;
        IF COALESCE(config ->> 'body_format', 'form') NOT IN ('form', 'json') THEN
            PERFORM etl._alert_channel_error(name, 'alert channel key "body_format" must be form or json',
                format('Channel "%s" key "body_format" is %s.', name, config -> 'body_format'));
        END IF;
        IF COALESCE(config ->> 'auth', 'none') NOT IN ('none', 'basic', 'bearer') THEN
            PERFORM etl._alert_channel_error(name, 'alert channel key "auth" must be none, basic or bearer',
                format('Channel "%s" key "auth" is %s.', name, config -> 'auth'));
        END IF;
        IF config ->> 'auth' = 'basic' AND NOT (config ? 'username' AND config ? 'password') THEN
            PERFORM etl._alert_channel_error(name, 'basic auth needs a username and a password',
                format('Channel "%s" sets auth: basic without "username" and "password".', name));
        END IF;
        IF config ->> 'auth' = 'bearer' AND NOT config ? 'token' THEN
            PERFORM etl._alert_channel_error(name, 'bearer auth needs a token',
                format('Channel "%s" sets auth: bearer without "token".', name));
        END IF;
    END IF;

    -- common keys
    v := config -> 'retry';
    IF v IS NOT NULL AND (jsonb_typeof(v) <> 'object'
        OR EXISTS (SELECT 1 FROM jsonb_each(v) e
                    WHERE e.key NOT IN ('max_attempts', 'initial_delay_s', 'backoff', 'max_delay_s')
                       OR jsonb_typeof(e.value) <> 'number' OR (e.value #>> '{}')::numeric <= 0)) THEN
        PERFORM etl._alert_channel_error(name, 'malformed retry settings in alert channel config',
            format('Channel "%s" key "retry" must be an object of positive numbers: max_attempts, initial_delay_s, backoff, max_delay_s.', name));
    END IF;
    v := config -> 'throttle';
    IF v IS NOT NULL AND (jsonb_typeof(v) <> 'object' OR NOT v ? 'max'
        OR EXISTS (SELECT 1 FROM jsonb_each(v) e
                    WHERE e.key NOT IN ('max', 'window_minutes')
                       OR jsonb_typeof(e.value) <> 'number' OR (e.value #>> '{}')::numeric <= 0)) THEN
        PERFORM etl._alert_channel_error(name, 'malformed throttle settings in alert channel config',
            format('Channel "%s" key "throttle" must be {"max": n, "window_minutes": m} with positive numbers.', name));
    END IF;
    -- text that ends up in mail headers or JSON: strings without control characters
    FOR k IN SELECT x FROM unnest(ARRAY['subject_prefix', 'channel', 'username', 'icon_emoji', 'from',
                                         'to_field', 'from_field', 'body_field', 'ca_file']) x LOOP
        IF config ? k AND k <> 'from' OR (k = 'from' AND type = 'sms' AND config ? 'from') THEN
            IF jsonb_typeof(config -> k) <> 'string' OR (config ->> k) ~ '[[:cntrl:]]' THEN
                PERFORM etl._alert_channel_error(name, format('alert channel key %L must be a single-line string', k),
                    format('Channel "%s" key "%s" is %s.', name, k, config -> k));
            END IF;
        END IF;
    END LOOP;
    FOR k IN SELECT x FROM unnest(ARRAY['starttls', 'tls_verify', 'enabled', 'notify_resolved']) x LOOP
        IF config ? k AND jsonb_typeof(config -> k) <> 'boolean' THEN
            PERFORM etl._alert_channel_error(name, format('alert channel key %L must be true or false', k),
                format('Channel "%s" key "%s" is %s.', name, k, config -> k));
        END IF;
    END LOOP;
    IF config ? 'max_length' AND (jsonb_typeof(config -> 'max_length') <> 'number'
                                  OR (config ->> 'max_length')::numeric < 1
                                  OR (config ->> 'max_length')::numeric <> trunc((config ->> 'max_length')::numeric)) THEN
        PERFORM etl._alert_channel_error(name, 'alert channel key "max_length" must be a positive integer',
            format('Channel "%s" key "max_length" is %s.', name, config -> 'max_length'));
    END IF;
    IF config ? 'extra' AND jsonb_typeof(config -> 'extra') <> 'object' THEN
        PERFORM etl._alert_channel_error(name, 'alert channel key "extra" must be an object',
            format('Channel "%s" key "extra" must map field names to values.', name));
    END IF;
    IF config ? 'timeout_ms' AND (jsonb_typeof(config -> 'timeout_ms') <> 'number'
                                  OR (config ->> 'timeout_ms')::numeric <= 0) THEN
        PERFORM etl._alert_channel_error(name, 'alert channel key "timeout_ms" must be a positive number',
            format('Channel "%s" key "timeout_ms" is %s.', name, config -> 'timeout_ms'));
    END IF;
END
$$;
COMMENT ON FUNCTION etl._validate_alert_channel(pg_catalog.text, pg_catalog.text, pg_catalog.jsonb) IS
  'internal: check an alert channel config, raising 22023 with a detail naming the channel and key';

-- SECURITY DEFINER only so that it may set log_min_error_statement: a
-- rejected config must not reach the server log through the STATEMENT line
-- (it may hold a password).  Not executable by PUBLIC.
CREATE FUNCTION etl.add_alert_channel(name pg_catalog.text, type pg_catalog.text, config pg_catalog.jsonb)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET log_min_error_statement = panic
AS $$
#variable_conflict use_column
DECLARE
    sec     jsonb;
    plain   jsonb;
    existed bool;
BEGIN
    PERFORM etl._validate_alert_channel(add_alert_channel.name, add_alert_channel.type, add_alert_channel.config);
    -- each secret value sealed (AES-256-GCM, key in $PGDATA/metaetl_secret.key)
    SELECT COALESCE(jsonb_object_agg(e.key, to_jsonb(etl._seal_secret(e.value::text))), '{}') INTO sec
      FROM jsonb_each(add_alert_channel.config) e WHERE e.key = ANY (etl._alert_secret_keys());
    plain := add_alert_channel.config - etl._alert_secret_keys();
    existed := EXISTS (SELECT 1 FROM etl.alert_channels c WHERE c.name = add_alert_channel.name);
    INSERT INTO etl.alert_channels AS c (name, type, config, secrets, enabled, owner)
    VALUES (add_alert_channel.name, add_alert_channel.type, plain - 'enabled', sec,
            COALESCE((plain ->> 'enabled')::bool, true), session_user)
    ON CONFLICT (name) DO UPDATE
       SET type = EXCLUDED.type, config = EXCLUDED.config, secrets = EXCLUDED.secrets,
           enabled = EXCLUDED.enabled, updated_at = now();
    INSERT INTO etl.audit_log (action, object_type, object_id, after)
    SELECT CASE WHEN existed THEN 'update' ELSE 'create' END, 'alert_channel', p.name,
           jsonb_build_object('type', p.type, 'config', p.config)
      FROM etl.alert_channels_public p WHERE p.name = add_alert_channel.name;
END
$$;
REVOKE EXECUTE ON FUNCTION etl.add_alert_channel(pg_catalog.text, pg_catalog.text, pg_catalog.jsonb) FROM PUBLIC;
COMMENT ON FUNCTION etl.add_alert_channel(pg_catalog.text, pg_catalog.text, pg_catalog.jsonb) IS
  'add (or replace) an alert channel: email, slack, sms or webhook; config is validated, secrets are stored apart and never shown';

CREATE FUNCTION etl.drop_alert_channel(name pg_catalog.text)
RETURNS pg_catalog.bool
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    DELETE FROM etl.alert_channels c WHERE c.name = drop_alert_channel.name;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    INSERT INTO etl.audit_log (action, object_type, object_id) VALUES ('drop', 'alert_channel', drop_alert_channel.name);
    RETURN true;
END
$$;
COMMENT ON FUNCTION etl.drop_alert_channel(pg_catalog.text) IS
  'remove an alert channel (and its pending deliveries); false when there was none';

-- ---------------------------------------------------------------------------
-- Routes and escalation policies
-- ---------------------------------------------------------------------------

CREATE FUNCTION etl._check_alert_channels(channels pg_catalog.text[])
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    missing text;
BEGIN
    SELECT string_agg(ch, ', ') INTO missing
      FROM unnest(channels) ch WHERE NOT EXISTS (SELECT 1 FROM etl.alert_channels c WHERE c.name = ch);
    IF missing IS NOT NULL OR cardinality(channels) = 0 THEN
        RAISE EXCEPTION 'alert channel does not exist: %', COALESCE(missing, '(none given)')
            USING ERRCODE = '42704', HINT = 'Create channels with etl.add_alert_channel(name, type, config) first.';
    END IF;
END
$$;
COMMENT ON FUNCTION etl._check_alert_channels(pg_catalog.text[]) IS
  'internal: raise 42704 unless every named alert channel exists';

CREATE FUNCTION etl.add_escalation_policy(name pg_catalog.text, levels pg_catalog.jsonb)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    lvl  jsonb;
    n    int := 0;
    prev numeric := 0;
BEGIN
    IF NOT etl.is_valid_id(add_escalation_policy.name) THEN
        RAISE EXCEPTION 'invalid escalation policy name %', quote_literal(add_escalation_policy.name) USING ERRCODE = '22023';
    END IF;
    IF jsonb_typeof(levels) IS DISTINCT FROM 'array' OR jsonb_array_length(levels) = 0 THEN
        RAISE EXCEPTION 'escalation levels must be a non-empty JSON array'
            USING ERRCODE = '22023', HINT = 'Example: [{"after_minutes": 15, "channels": ["oncall_sms"]}].';
    END IF;
    FOR lvl IN SELECT jsonb_array_elements(levels) LOOP
        n := n + 1;
        IF jsonb_typeof(lvl -> 'after_minutes') IS DISTINCT FROM 'number' OR (lvl ->> 'after_minutes')::numeric <= prev
           OR jsonb_typeof(lvl -> 'channels') IS DISTINCT FROM 'array' THEN
            RAISE EXCEPTION 'malformed escalation level %', n
                USING ERRCODE = '22023',
                      DETAIL = format('Policy "%s" level %s needs after_minutes (a number larger than the previous level''s) and channels (an array).',
                                      add_escalation_policy.name, n);
        END IF;
        prev := (lvl ->> 'after_minutes')::numeric;
        PERFORM etl._check_alert_channels(ARRAY(SELECT jsonb_array_elements_text(lvl -> 'channels')));
    END LOOP;
    INSERT INTO etl.escalation_policies AS p (name, levels) VALUES (add_escalation_policy.name, levels)
    ON CONFLICT (name) DO UPDATE SET levels = EXCLUDED.levels;
END
$$;
COMMENT ON FUNCTION etl.add_escalation_policy(pg_catalog.text, pg_catalog.jsonb) IS
  'add or replace an escalation policy: levels [{after_minutes, channels}], minutes counted from when the alert was first seen';

CREATE FUNCTION etl.add_alert_route(channels pg_catalog.text[], alert_types pg_catalog.text[] DEFAULT NULL,
                                    priorities pg_catalog.text[] DEFAULT NULL,
                                    pipeline_tags pg_catalog.text[] DEFAULT NULL,
                                    escalation_policy pg_catalog.text DEFAULT NULL)
RETURNS pg_catalog.int8
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    id   bigint;
    bad  text;
BEGIN
    PERFORM etl._check_alert_channels(channels);
    SELECT string_agg(t, ', ') INTO bad FROM unnest(alert_types) t
     WHERE t NOT IN ('pipeline_failure', 'sla_violation', 'quality_failure', 'anomaly', 'system_error', 'performance');
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'unknown alert type: %', bad USING ERRCODE = '22023',
            HINT = 'Alert types are pipeline_failure, sla_violation, quality_failure, anomaly, system_error, performance.';
    END IF;
    SELECT string_agg(p, ', ') INTO bad FROM unnest(priorities) p WHERE p NOT IN ('critical', 'high', 'medium', 'low');
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'unknown alert priority: %', bad USING ERRCODE = '22023',
            HINT = 'Priorities are critical, high, medium, low.';
    END IF;
    IF escalation_policy IS NOT NULL AND NOT EXISTS (SELECT 1 FROM etl.escalation_policies p WHERE p.name = escalation_policy) THEN
        RAISE EXCEPTION 'escalation policy "%" does not exist', escalation_policy USING ERRCODE = '42704',
            HINT = 'Create it with etl.add_escalation_policy(name, levels).';
    END IF;
    INSERT INTO etl.alert_routes (alert_types, priorities, pipeline_tags, channels, escalation_policy)
    VALUES (alert_types, priorities, pipeline_tags, channels, escalation_policy)
    RETURNING route_id INTO id;
    RETURN id;
END
$$;
COMMENT ON FUNCTION etl.add_alert_route(pg_catalog.text[], pg_catalog.text[], pg_catalog.text[], pg_catalog.text[], pg_catalog.text) IS
  'route alerts (NULL filters match everything; tags match when the pipeline has any of them) to channels, optionally with an escalation policy';

-- channels for a new alert: every matching route, plus the pipeline config's
-- alerts: {on, channels} block
CREATE FUNCTION etl._alert_routing(alert_type pg_catalog.text, priority pg_catalog.text, pipeline_id pg_catalog.text,
                                   OUT channels pg_catalog.text[], OUT escalation_policy pg_catalog.text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    tags    text[];
    cfg     jsonb;
    ons     text[];
BEGIN
    SELECT p.tags, p.config -> 'pipeline' -> 'alerts' INTO tags, cfg
      FROM etl.pipelines p WHERE p.pipeline_id = _alert_routing.pipeline_id;
    SELECT ARRAY(SELECT DISTINCT ch FROM etl.alert_routes r, unnest(r.channels) ch
                  WHERE r.enabled
                    AND (r.alert_types IS NULL OR alert_type = ANY (r.alert_types))
                    AND (r.priorities IS NULL OR priority = ANY (r.priorities))
                    AND (r.pipeline_tags IS NULL OR r.pipeline_tags && COALESCE(tags, '{}'))
                  ORDER BY ch),
           (SELECT r.escalation_policy FROM etl.alert_routes r
             WHERE r.enabled AND r.escalation_policy IS NOT NULL
               AND (r.alert_types IS NULL OR alert_type = ANY (r.alert_types))
               AND (r.priorities IS NULL OR priority = ANY (r.priorities))
               AND (r.pipeline_tags IS NULL OR r.pipeline_tags && COALESCE(tags, '{}'))
             ORDER BY r.route_id LIMIT 1)
      INTO channels, escalation_policy;
    IF jsonb_typeof(cfg -> 'channels') = 'array' THEN
        ons := ARRAY(SELECT CASE o WHEN 'failure' THEN 'pipeline_failure' WHEN 'sla' THEN 'sla_violation'
                                   WHEN 'quality' THEN 'quality_failure' ELSE o END
                       FROM jsonb_array_elements_text(COALESCE(cfg -> 'on', '["all"]')) o);
        IF 'all' = ANY (ons) OR alert_type = ANY (ons) THEN
            channels := ARRAY(SELECT DISTINCT ch FROM unnest(channels || ARRAY(
                                  SELECT jsonb_array_elements_text(cfg -> 'channels'))) ch
                               WHERE EXISTS (SELECT 1 FROM etl.alert_channels c WHERE c.name = ch)
                               ORDER BY ch);
        END IF;
    END IF;
END
$$;
COMMENT ON FUNCTION etl._alert_routing(pg_catalog.text, pg_catalog.text, pg_catalog.text) IS
  'internal: channels and escalation policy for a new alert (routes plus the pipeline''s alerts: block)';

-- ---------------------------------------------------------------------------
-- The outbox
-- ---------------------------------------------------------------------------

CREATE FUNCTION etl._alert_payload(alert_id pg_catalog.int8, event pg_catalog.text, level pg_catalog.int4)
RETURNS pg_catalog.jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
SELECT jsonb_build_object(
           'event', event, 'escalation_level', level,
           'alert_id', a.alert_id, 'alert_type', a.alert_type, 'priority', a.priority,
           'status', a.status, 'pipeline_id', a.pipeline_id, 'pipeline_name', p.name,
           'run_id', a.run_id, 'run_status', r.status,
           'error', COALESCE(a.details ->> 'error', r.error_message),
           'message', a.message, 'details', a.details, 'occurrences', a.occurrences,
           'first_seen_at', a.first_seen_at, 'last_seen_at', a.last_seen_at)
  FROM etl.alerts a
  LEFT JOIN etl.pipelines p ON p.pipeline_id = a.pipeline_id
  LEFT JOIN etl.pipeline_runs r ON r.run_id = a.run_id
 WHERE a.alert_id = _alert_payload.alert_id
$$;
COMMENT ON FUNCTION etl._alert_payload(pg_catalog.int8, pg_catalog.text, pg_catalog.int4) IS
  'internal: the alert as a notification payload (no secrets)';

CREATE FUNCTION etl._enqueue_alert_deliveries(alert_id pg_catalog.int8, channels pg_catalog.text[],
                                              event pg_catalog.text DEFAULT 'open', level pg_catalog.int4 DEFAULT 0)
RETURNS pg_catalog.int4
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    ch      etl.alert_channels;
    payload jsonb := etl._alert_payload(alert_id, event, level);
    sent    bigint;
    n       int := 0;
BEGIN
    FOR ch IN SELECT * FROM etl.alert_channels c WHERE c.name = ANY (channels) AND c.enabled ORDER BY c.name LOOP
        sent := NULL;
        IF ch.config ? 'throttle' THEN
            SELECT count(*) INTO sent FROM etl.alert_deliveries d
             WHERE d.channel = ch.name AND d.status <> 'throttled'
               AND d.created_at > now() - make_interval(secs => 60 * COALESCE((ch.config #>> '{throttle,window_minutes}')::float8, 60));
        END IF;
        INSERT INTO etl.alert_deliveries (alert_id, channel, event, escalation_level, status, payload, max_attempts, last_error)
        VALUES (alert_id, ch.name, event, level,
                CASE WHEN sent >= (ch.config #>> '{throttle,max}')::numeric THEN 'throttled' ELSE 'pending' END,
                payload, COALESCE((ch.config #>> '{retry,max_attempts}')::int, 5),
                CASE WHEN sent >= (ch.config #>> '{throttle,max}')::numeric
                     THEN format('throttled: %s deliveries to this channel within %s minutes',
                                 sent, COALESCE(ch.config #>> '{throttle,window_minutes}', '60')) END);
        n := n + 1;
    END LOOP;
    IF n > 0 THEN
        -- wake the delivery worker at commit; NOTIFY for anyone else listening
        PERFORM etl._wake_delivery_worker();
        PERFORM pg_notify('metaetl_alerts', alert_id::text);
    END IF;
    RETURN n;
END
$$;
COMMENT ON FUNCTION etl._enqueue_alert_deliveries(pg_catalog.int8, pg_catalog.text[], pg_catalog.text, pg_catalog.int4) IS
  'internal: queue one delivery per enabled channel, throttled per channel config';

-- what a delivery sends: kind http or smtp, with everything the C transport
-- needs (secrets included: the result is used, never stored)
CREATE FUNCTION etl._urlencode(s pg_catalog.text)
RETURNS pg_catalog.text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
SELECT COALESCE(string_agg(CASE WHEN b BETWEEN 48 AND 57 OR b BETWEEN 65 AND 90 OR b BETWEEN 97 AND 122
                                     OR b IN (45, 46, 95, 126) THEN chr(b)
                                ELSE '%' || upper(lpad(to_hex(b), 2, '0')) END, '' ORDER BY i), '')
  FROM (SELECT i, get_byte(convert_to(s, 'UTF8'), i) AS b
          FROM generate_series(0, octet_length(convert_to(s, 'UTF8')) - 1) AS i) x
$$;
COMMENT ON FUNCTION etl._urlencode(pg_catalog.text) IS
  'internal: percent-encode text (UTF-8) for application/x-www-form-urlencoded bodies';

CREATE FUNCTION etl._html_escape(s pg_catalog.text)
RETURNS pg_catalog.text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN replace(replace(replace(replace(COALESCE(s, ''), '&', '&amp;'), '<', '&lt;'), '>', '&gt;'), '"', '&quot;');
COMMENT ON FUNCTION etl._html_escape(pg_catalog.text) IS 'internal: escape text for HTML';

CREATE FUNCTION etl._alert_summary(p pg_catalog.jsonb)
RETURNS pg_catalog.text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN format('[%s] %s%s: %s',
              upper(p ->> 'priority'),
              CASE p ->> 'event' WHEN 'escalation' THEN 'ESCALATED ' WHEN 'resolved' THEN 'RESOLVED ' ELSE '' END,
              p ->> 'alert_type',
              COALESCE('pipeline ' || (p ->> 'pipeline_id'), 'metaetl'));
COMMENT ON FUNCTION etl._alert_summary(pg_catalog.jsonb) IS 'internal: one-line title of an alert payload';

CREATE FUNCTION etl._render_alert_delivery(type pg_catalog.text, config pg_catalog.jsonb, p pg_catalog.jsonb,
                                           delivery_id pg_catalog.int8 DEFAULT NULL)
RETURNS pg_catalog.jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    title   text := etl._alert_summary(p);
    status  text := COALESCE(p ->> 'run_status', p ->> 'status');
    fields  jsonb;
    body    text;
    txt     text;
    html    text;
    rcpts   text[];
    boundary text;
    subject text;
    hdrs    text[];
BEGIN
    IF type = 'slack' THEN
        fields := jsonb_build_array(
            jsonb_build_object('type', 'mrkdwn', 'text', '*Pipeline:*' || chr(10) || COALESCE(p ->> 'pipeline_id', '-')),
            jsonb_build_object('type', 'mrkdwn', 'text', '*Status:*' || chr(10) || COALESCE(status, '-')),
            jsonb_build_object('type', 'mrkdwn', 'text', '*Run:*' || chr(10) || COALESCE(p ->> 'run_id', '-')),
            jsonb_build_object('type', 'mrkdwn', 'text', '*Priority:*' || chr(10) || (p ->> 'priority')));
        body := jsonb_build_object(
            'text', title || ': ' || (p ->> 'message'),
            'blocks', jsonb_build_array(
                jsonb_build_object('type', 'header', 'text',
                                   jsonb_build_object('type', 'plain_text', 'text', left(title, 150))),
                jsonb_build_object('type', 'section', 'text',
                                   jsonb_build_object('type', 'mrkdwn', 'text', p ->> 'message')),
                jsonb_build_object('type', 'section', 'fields', fields),
                jsonb_build_object('type', 'section', 'text',
                                   jsonb_build_object('type', 'mrkdwn', 'text',
                                                      '*Error:*' || chr(10) || COALESCE(p ->> 'error', '-'))),
                jsonb_build_object('type', 'context', 'elements', jsonb_build_array(
                    jsonb_build_object('type', 'mrkdwn', 'text',
                                       format('metaetl alert %s · %s · occurrences %s', p ->> 'alert_id',
                                              p ->> 'alert_type', p ->> 'occurrences'))))))
            || jsonb_strip_nulls(jsonb_build_object('channel', config ->> 'channel', 'username', config ->> 'username',
                                                    'icon_emoji', config ->> 'icon_emoji'));
        RETURN jsonb_build_object('kind', 'http', 'url', config ->> 'webhook_url', 'body', body,
                                  'headers', jsonb_build_array('Content-Type: application/json'));
    ELSIF type = 'webhook' THEN
        body := jsonb_build_object('event', 'alert.' || (p ->> 'event'), 'delivery_id', delivery_id, 'alert', p - 'event');
        hdrs := ARRAY['Content-Type: application/json', 'X-Metaetl-Event: alert.' || (p ->> 'event'),
                      'X-Metaetl-Delivery: ' || COALESCE(delivery_id::text, '0')]
                || ARRAY(SELECT h.key || ': ' || h.value FROM jsonb_each_text(COALESCE(config -> 'headers', '{}')) h
                          WHERE h.key ~ '^[A-Za-z0-9-]+$' AND h.value !~ '[\r\n]' ORDER BY h.key);
        RETURN jsonb_build_object('kind', 'http', 'url', config ->> 'url', 'body', body,
                                  'headers', to_jsonb(hdrs), 'hmac_secret', config ->> 'secret');
    ELSIF type = 'sms' THEN
        txt := left(format('metaetl %s: %s (run %s)', title, p ->> 'message', COALESCE(p ->> 'run_id', '-')),
                    COALESCE((config ->> 'max_length')::int, 320));
        fields := jsonb_strip_nulls(jsonb_build_object(
                      COALESCE(config ->> 'to_field', 'To'), config ->> 'to',
                      COALESCE(config ->> 'from_field', 'From'), config ->> 'from',
                      COALESCE(config ->> 'body_field', 'Body'), txt))
                  || COALESCE(config -> 'extra', '{}');
        IF COALESCE(config ->> 'body_format', 'form') = 'json' THEN
            body := fields::text;
            hdrs := ARRAY['Content-Type: application/json'];
        ELSE
            SELECT string_agg(etl._urlencode(f.key) || '=' || etl._urlencode(f.value), '&' ORDER BY f.key)
              INTO body FROM jsonb_each_text(fields) f;
            hdrs := ARRAY['Content-Type: application/x-www-form-urlencoded'];
        END IF;
        RETURN jsonb_build_object('kind', 'http', 'url', config ->> 'url', 'body', body, 'headers', to_jsonb(hdrs))
            || CASE COALESCE(config ->> 'auth', 'none')
                   WHEN 'basic' THEN jsonb_build_object('username', config ->> 'username', 'password', config ->> 'password')
                   WHEN 'bearer' THEN jsonb_build_object('bearer', config ->> 'token')
                   ELSE '{}' END;
    ELSIF type = 'email' THEN
        rcpts := CASE jsonb_typeof(config -> 'to') WHEN 'array' THEN ARRAY(SELECT jsonb_array_elements_text(config -> 'to'))
                                                   ELSE ARRAY[config ->> 'to'] END;
        subject := COALESCE(config ->> 'subject_prefix', '[metaetl]') || ' ' || title;
        txt := concat_ws(chr(10), title, '', p ->> 'message', '',
                         'Pipeline: ' || COALESCE(p ->> 'pipeline_id', '-'),
                         'Status:   ' || COALESCE(status, '-'),
                         'Run:      ' || COALESCE(p ->> 'run_id', '-'),
                         'Priority: ' || (p ->> 'priority'),
                         'Error:    ' || COALESCE(p ->> 'error', '-'),
                         'Alert:    ' || (p ->> 'alert_id') || ' (occurrences ' || (p ->> 'occurrences') || ')');
        html := format('<html><body><h2>%s</h2><p>%s</p><table>'
                       '<tr><th align="left">Pipeline</th><td>%s</td></tr>'
                       '<tr><th align="left">Status</th><td>%s</td></tr>'
                       '<tr><th align="left">Run</th><td>%s</td></tr>'
                       '<tr><th align="left">Priority</th><td>%s</td></tr>'
                       '<tr><th align="left">Error</th><td><pre>%s</pre></td></tr>'
                       '</table><p>metaetl alert %s, occurrences %s</p></body></html>',
                       etl._html_escape(title), etl._html_escape(p ->> 'message'),
                       etl._html_escape(COALESCE(p ->> 'pipeline_id', '-')), etl._html_escape(COALESCE(status, '-')),
                       etl._html_escape(COALESCE(p ->> 'run_id', '-')), etl._html_escape(p ->> 'priority'),
                       etl._html_escape(COALESCE(p ->> 'error', '-')),
                       p ->> 'alert_id', p ->> 'occurrences');
        boundary := 'metaetl-' || md5(COALESCE(delivery_id::text, '') || txt);
        body := concat_ws(E'\r\n',
            'From: ' || (config ->> 'from'),
            'To: ' || array_to_string(rcpts, ', '),
            'Subject: ' || CASE WHEN subject ~ '^[ -~]*$' THEN subject
                                ELSE '=?UTF-8?B?' || translate(encode(convert_to(subject, 'UTF8'), 'base64'), E'\n', '') || '?=' END,
            'Date: ' || to_char(now() AT TIME ZONE 'UTC', 'Dy, DD Mon YYYY HH24:MI:SS') || ' +0000',
            'Message-ID: <metaetl.' || COALESCE(delivery_id::text, '0') || '.' || (p ->> 'alert_id') || '.'
                || (extract(epoch FROM now()) * 1000)::bigint || '@' || split_part(config ->> 'from', '@', 2) || '>',
            'MIME-Version: 1.0',
            'X-Metaetl-Alert: ' || (p ->> 'alert_id'),
            'Content-Type: multipart/alternative; boundary="' || boundary || '"',
            '',
            '--' || boundary,
            'Content-Type: text/plain; charset=utf-8',
            'Content-Transfer-Encoding: base64',
            '',
            replace(encode(convert_to(txt, 'UTF8'), 'base64'), E'\n', E'\r\n'),
            '--' || boundary,
            'Content-Type: text/html; charset=utf-8',
            'Content-Transfer-Encoding: base64',
            '',
            replace(encode(convert_to(html, 'UTF8'), 'base64'), E'\n', E'\r\n'),
            '--' || boundary || '--',
            '');
        RETURN jsonb_build_object('kind', 'smtp', 'url', config ->> 'smtp_url', 'mail_from', config ->> 'from',
                                  'rcpt', to_jsonb(rcpts), 'body', body,
                                  'use_ssl', CASE WHEN (config ->> 'starttls')::bool THEN 'all'
                                                  WHEN (config ->> 'starttls')::bool = false THEN 'none'
                                                  ELSE 'try' END,
                                  'tls_verify', COALESCE((config ->> 'tls_verify')::bool, true))
            || jsonb_strip_nulls(jsonb_build_object('username', config ->> 'username', 'password', config ->> 'password',
                                                    'ca_file', config ->> 'ca_file'));
    END IF;
    RAISE EXCEPTION 'unknown alert channel type %', quote_literal(type) USING ERRCODE = '22023';
END
$$;
COMMENT ON FUNCTION etl._render_alert_delivery(pg_catalog.text, pg_catalog.jsonb, pg_catalog.jsonb, pg_catalog.int8) IS
  'internal: the request a delivery sends (Slack blocks, webhook JSON, SMS form/JSON, multipart email); used, never stored';

-- what the transport calls: never raises, so a broken row cannot stall the
-- outbox (NULL is recorded as a failed attempt)
CREATE FUNCTION etl._render_alert_delivery_safe(type pg_catalog.text, config pg_catalog.jsonb, p pg_catalog.jsonb,
                                                delivery_id pg_catalog.int8)
RETURNS pg_catalog.jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF config IS NULL THEN
        RETURN NULL;
    END IF;
    RETURN etl._render_alert_delivery(type, config, p, delivery_id);
EXCEPTION WHEN OTHERS THEN
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION etl._render_alert_delivery_safe(pg_catalog.text, pg_catalog.jsonb, pg_catalog.jsonb, pg_catalog.int8) IS
  'internal: etl._render_alert_delivery, NULL instead of an error';

-- the delivery transport calls this after every attempt
CREATE FUNCTION etl._record_delivery_attempt(delivery_id pg_catalog.int8, succeeded pg_catalog.bool,
                                             http_status pg_catalog.int4, smtp_reply pg_catalog.text,
                                             latency_ms pg_catalog.float8, error pg_catalog.text,
                                             response pg_catalog.text)
RETURNS pg_catalog.text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    d        etl.alert_deliveries;
    cfg      jsonb;
    n        int;
    delay    float8;
    permanent bool;
    new_status text;
BEGIN
    SELECT * INTO d FROM etl.alert_deliveries x WHERE x.delivery_id = _record_delivery_attempt.delivery_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    SELECT c.config INTO cfg FROM etl.alert_channels c WHERE c.name = d.channel;
    n := d.attempts + 1;
    INSERT INTO etl.alert_delivery_attempts (delivery_id, attempt, succeeded, http_status, smtp_reply, latency_ms, error, response)
    VALUES (d.delivery_id, n, succeeded, http_status, smtp_reply, latency_ms, error, left(response, 1000));
    -- a client error other than timeout / too many requests will not heal by retrying
    permanent := NOT succeeded AND http_status BETWEEN 400 AND 499 AND http_status NOT IN (408, 429);
    delay := least(COALESCE((cfg #>> '{retry,max_delay_s}')::float8, 300),
                   COALESCE((cfg #>> '{retry,initial_delay_s}')::float8, 5)
                   * power(COALESCE((cfg #>> '{retry,backoff}')::float8, 2), n - 1));
    new_status := CASE WHEN succeeded THEN 'delivered'
                       WHEN permanent OR n >= d.max_attempts THEN 'failed'
                       ELSE 'pending' END;
    UPDATE etl.alert_deliveries x
       SET attempts = n, status = new_status,
           delivered_at = CASE WHEN succeeded THEN clock_timestamp() END,
           next_attempt_at = CASE WHEN new_status = 'pending'
                                  THEN clock_timestamp() + make_interval(secs => delay) ELSE x.next_attempt_at END,
           last_http_status = http_status, last_smtp_reply = smtp_reply,
           last_error = CASE WHEN succeeded THEN NULL ELSE error END
     WHERE x.delivery_id = d.delivery_id;
    RETURN new_status;
END
$$;
COMMENT ON FUNCTION etl._record_delivery_attempt(pg_catalog.int8, pg_catalog.bool, pg_catalog.int4, pg_catalog.text, pg_catalog.float8, pg_catalog.text, pg_catalog.text) IS
  'internal: record one delivery attempt and schedule the retry (exponential backoff) or finish the delivery';

CREATE FUNCTION etl._wake_delivery_worker()
RETURNS pg_catalog.bool
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'metaetl_wake_delivery_worker';
COMMENT ON FUNCTION etl._wake_delivery_worker() IS
  'internal: wake the delivery worker when this transaction commits; false when no worker runs';

CREATE FUNCTION etl.deliver_pending(max pg_catalog.int4 DEFAULT 100)
RETURNS pg_catalog.int4
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'metaetl_deliver_pending';
COMMENT ON FUNCTION etl.deliver_pending(pg_catalog.int4) IS
  'deliver up to max due alert notifications now, in this session (the background worker does this when preloaded); returns the attempts made';

CREATE FUNCTION etl.test_alert_channel(name pg_catalog.text,
                                       message pg_catalog.text DEFAULT 'metaetl test notification')
RETURNS pg_catalog.jsonb
LANGUAGE c VOLATILE STRICT
AS 'MODULE_PATHNAME', 'metaetl_test_alert_channel';
REVOKE EXECUTE ON FUNCTION etl.test_alert_channel(pg_catalog.text, pg_catalog.text) FROM PUBLIC;
COMMENT ON FUNCTION etl.test_alert_channel(pg_catalog.text, pg_catalog.text) IS
  'send a test notification through a channel now (nothing recorded); returns ok, http_status or smtp_reply, latency_ms, error';

CREATE FUNCTION etl.hmac_sha256_hex(key pg_catalog.text, data pg_catalog.text)
RETURNS pg_catalog.text
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_hmac_sha256_hex';
COMMENT ON FUNCTION etl.hmac_sha256_hex(pg_catalog.text, pg_catalog.text) IS
  'HMAC-SHA256 of data with key, as lower-case hex (what X-Metaetl-Signature carries after sha256=)';

-- ---------------------------------------------------------------------------
-- Alerts
-- ---------------------------------------------------------------------------

CREATE FUNCTION etl.raise_alert(alert_type pg_catalog.text, priority pg_catalog.text, message pg_catalog.text,
                                pipeline_id pg_catalog.text DEFAULT NULL, run_id pg_catalog.int8 DEFAULT NULL,
                                details pg_catalog.jsonb DEFAULT '{}', dedup_key pg_catalog.text DEFAULT NULL)
RETURNS pg_catalog.int8
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    k        text := COALESCE(raise_alert.dedup_key, raise_alert.alert_type || ':' || COALESCE(raise_alert.pipeline_id, ''));
    id       bigint;
    inserted bool;
    rt       record;
BEGIN
    IF raise_alert.alert_type IS NULL OR raise_alert.alert_type NOT IN
       ('pipeline_failure', 'sla_violation', 'quality_failure', 'anomaly', 'system_error', 'performance') THEN
        RAISE EXCEPTION 'unknown alert type %', quote_literal(raise_alert.alert_type) USING ERRCODE = '22023',
            HINT = 'Alert types are pipeline_failure, sla_violation, quality_failure, anomaly, system_error, performance.';
    END IF;
    IF raise_alert.priority IS NULL OR raise_alert.priority NOT IN ('critical', 'high', 'medium', 'low') THEN
        RAISE EXCEPTION 'unknown alert priority %', quote_literal(raise_alert.priority) USING ERRCODE = '22023',
            HINT = 'Priorities are critical, high, medium, low.';
    END IF;
    IF raise_alert.message IS NULL OR raise_alert.message = '' THEN
        RAISE EXCEPTION 'an alert needs a message' USING ERRCODE = '22023';
    END IF;
    IF raise_alert.pipeline_id IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM etl.pipelines p WHERE p.pipeline_id = raise_alert.pipeline_id) THEN
        RAISE EXCEPTION 'pipeline "%" does not exist', raise_alert.pipeline_id USING ERRCODE = '42704';
    END IF;

    INSERT INTO etl.alerts AS a (alert_type, priority, pipeline_id, run_id, message, details, dedup_key)
    VALUES (raise_alert.alert_type, raise_alert.priority, raise_alert.pipeline_id, raise_alert.run_id,
            raise_alert.message, COALESCE(raise_alert.details, '{}'), k)
    ON CONFLICT (dedup_key) WHERE status <> 'resolved' DO UPDATE
       SET occurrences = a.occurrences + 1,
           last_seen_at = now(),
           message = EXCLUDED.message,
           details = EXCLUDED.details,
           run_id = COALESCE(EXCLUDED.run_id, a.run_id),
           -- the more urgent priority wins
           priority = CASE WHEN array_position(ARRAY['critical', 'high', 'medium', 'low'], EXCLUDED.priority)
                                < array_position(ARRAY['critical', 'high', 'medium', 'low'], a.priority)
                           THEN EXCLUDED.priority ELSE a.priority END
    RETURNING a.alert_id, (a.xmax = 0) INTO id, inserted;

    IF inserted THEN
        rt := etl._alert_routing(raise_alert.alert_type, raise_alert.priority, raise_alert.pipeline_id);
        IF rt.escalation_policy IS NOT NULL THEN
            UPDATE etl.alerts a SET escalation_policy = rt.escalation_policy WHERE a.alert_id = id;
        END IF;
        PERFORM etl._enqueue_alert_deliveries(id, rt.channels, 'open', 0);
    END IF;
    RETURN id;
END
$$;
COMMENT ON FUNCTION etl.raise_alert(pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.int8, pg_catalog.jsonb, pg_catalog.text) IS
  'open an alert, or count one more occurrence of the unresolved alert with the same dedup key (default type:pipeline); queues deliveries per routing; returns alert_id';

CREATE FUNCTION etl.acknowledge_alert(alert_id pg_catalog.int8)
RETURNS pg_catalog.bool
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    UPDATE etl.alerts a SET status = 'acknowledged', acknowledged_at = now(), acknowledged_by = session_user
     WHERE a.alert_id = acknowledge_alert.alert_id AND a.status = 'open';
    RETURN FOUND;
END
$$;
COMMENT ON FUNCTION etl.acknowledge_alert(pg_catalog.int8) IS
  'acknowledge an open alert (stops its escalation); false when it is not open';

-- once an alert is resolved: its escalations not sent yet are moot, and the
-- channels that were told about it (or are about to be) hear that it is over
-- (unless their config says "notify_resolved": false)
CREATE FUNCTION etl._after_resolve(alert_id pg_catalog.int8)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    told  text[];
    level int;
BEGIN
    UPDATE etl.alert_deliveries d SET status = 'cancelled', last_error = 'alert resolved before delivery'
     WHERE d.alert_id = _after_resolve.alert_id AND d.status = 'pending' AND d.event = 'escalation';
    SELECT ARRAY(SELECT DISTINCT d.channel FROM etl.alert_deliveries d JOIN etl.alert_channels c ON c.name = d.channel
                  WHERE d.alert_id = _after_resolve.alert_id AND d.event IN ('open', 'escalation')
                    AND d.status IN ('pending', 'sending', 'delivered')
                    AND COALESCE((c.config ->> 'notify_resolved')::bool, true)
                  ORDER BY 1),
           (SELECT a.escalation_level FROM etl.alerts a WHERE a.alert_id = _after_resolve.alert_id)
      INTO told, level;
    IF cardinality(told) > 0 THEN
        PERFORM etl._enqueue_alert_deliveries(alert_id, told, 'resolved', level);
    END IF;
END
$$;
COMMENT ON FUNCTION etl._after_resolve(pg_catalog.int8) IS
  'internal: cancel pending escalations of a resolved alert and queue the resolved notifications';

CREATE FUNCTION etl.resolve_alert(alert_id pg_catalog.int8)
RETURNS pg_catalog.bool
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    UPDATE etl.alerts a SET status = 'resolved', resolved_at = now(), resolved_by = session_user
     WHERE a.alert_id = resolve_alert.alert_id AND a.status <> 'resolved';
    IF FOUND THEN
        PERFORM etl._after_resolve(resolve_alert.alert_id);
        RETURN true;
    END IF;
    RETURN false;
END
$$;
COMMENT ON FUNCTION etl.resolve_alert(pg_catalog.int8) IS
  'resolve an open or acknowledged alert (cancels its pending escalations, notifies the channels told of it); false when it is already resolved or does not exist';

-- resolve, automatically, the unresolved alerts with these dedup keys
CREATE FUNCTION etl._auto_resolve(keys pg_catalog.text[], reason pg_catalog.text)
RETURNS pg_catalog.int4
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    ids bigint[];
    id  bigint;
BEGIN
    WITH resolved AS (
        UPDATE etl.alerts a
           SET status = 'resolved', resolved_at = now(), resolved_by = 'metaetl',
               details = a.details || jsonb_build_object('resolved_because', reason)
         WHERE a.dedup_key = ANY (keys) AND a.status <> 'resolved'
        RETURNING a.alert_id)
    SELECT COALESCE(array_agg(r.alert_id ORDER BY r.alert_id), '{}') INTO ids FROM resolved r;
    FOREACH id IN ARRAY ids LOOP
        PERFORM etl._after_resolve(id);
    END LOOP;
    RETURN cardinality(ids);
END
$$;
COMMENT ON FUNCTION etl._auto_resolve(pg_catalog.text[], pg_catalog.text) IS
  'internal: resolve unresolved alerts with these dedup keys because their condition cleared';

CREATE FUNCTION etl.process_escalations()
RETURNS pg_catalog.int4
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    a     record;
    lvl   jsonb;
    n     int := 0;
BEGIN
    FOR a IN SELECT al.alert_id, al.escalation_level, al.first_seen_at, p.levels
               FROM etl.alerts al JOIN etl.escalation_policies p ON p.name = al.escalation_policy
              WHERE al.status = 'open'
                AND jsonb_array_length(p.levels) > al.escalation_level
              ORDER BY al.alert_id
                FOR UPDATE OF al SKIP LOCKED
    LOOP
        lvl := a.levels -> a.escalation_level;           -- level escalation_level + 1 (1-based)
        CONTINUE WHEN a.first_seen_at + make_interval(secs => 60 * (lvl ->> 'after_minutes')::float8) > now();
        UPDATE etl.alerts al SET escalation_level = a.escalation_level + 1, escalated_at = now()
         WHERE al.alert_id = a.alert_id;
        PERFORM etl._enqueue_alert_deliveries(a.alert_id,
                    ARRAY(SELECT jsonb_array_elements_text(lvl -> 'channels')), 'escalation', a.escalation_level + 1);
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION etl.process_escalations() IS
  'escalate open (unacknowledged) alerts whose next policy level is due; the delivery worker calls it every second; returns how many escalated';

-- ---------------------------------------------------------------------------
-- SLAs
-- ---------------------------------------------------------------------------

-- not pinned to a search_path: a freshness table is looked up as the caller
-- sees it, and stored schema-qualified (everything else here is qualified)
CREATE FUNCTION etl.apply_sla_config(pipeline_id pg_catalog.text, sla pg_catalog.jsonb)
RETURNS pg_catalog.int4
LANGUAGE plpgsql
AS $$
#variable_conflict use_column
DECLARE
    k       text;
    v       jsonb;
    w       jsonb;
    f       jsonb;
    n       int := 0;
    types   text[] := '{}';
    age     interval;
    win_runs int;
    win_iv  interval;
    rel     pg_catalog.regclass;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM etl.pipelines p WHERE p.pipeline_id = apply_sla_config.pipeline_id) THEN
        RAISE EXCEPTION 'pipeline "%" does not exist', apply_sla_config.pipeline_id USING ERRCODE = '42704';
    END IF;
    sla := COALESCE(sla, '{}');
    IF jsonb_typeof(sla) <> 'object' THEN
        RAISE EXCEPTION 'sla must be an object' USING ERRCODE = '22023',
            DETAIL = format('Pipeline "%s" config path pipeline.sla is a %s.', apply_sla_config.pipeline_id, jsonb_typeof(sla));
    END IF;
    FOR k, v IN SELECT e.key, e.value FROM jsonb_each(sla) e LOOP
        IF k NOT IN ('max_duration_minutes', 'min_success_rate', 'success_rate_window', 'min_quality_score', 'freshness') THEN
            RAISE EXCEPTION 'unknown sla key "%"', k USING ERRCODE = '22023',
                DETAIL = format('Pipeline "%s" config path pipeline.sla.%s.', apply_sla_config.pipeline_id, k),
                HINT = 'SLA keys are max_duration_minutes, min_success_rate, success_rate_window, min_quality_score, freshness.';
        END IF;
        IF k IN ('max_duration_minutes', 'min_success_rate', 'min_quality_score') AND (jsonb_typeof(v) <> 'number'
           OR (k = 'max_duration_minutes' AND v::numeric <= 0)
           OR (k = 'min_success_rate' AND v::numeric NOT BETWEEN 0 AND 1)
           OR (k = 'min_quality_score' AND v::numeric NOT BETWEEN 0 AND 100)) THEN
            RAISE EXCEPTION 'invalid sla value for %', k USING ERRCODE = '22023',
                DETAIL = format('Pipeline "%s" config path pipeline.sla.%s is %s.', apply_sla_config.pipeline_id, k, v),
                HINT = 'max_duration_minutes is a positive number of minutes, min_success_rate a fraction 0-1, min_quality_score 0-100.';
        END IF;
    END LOOP;

    IF sla ? 'max_duration_minutes' THEN
        INSERT INTO etl.sla_definitions AS d (pipeline_id, sla_type, target)
        VALUES (apply_sla_config.pipeline_id, 'duration', (sla ->> 'max_duration_minutes')::numeric)
        ON CONFLICT (pipeline_id, sla_type) DO UPDATE SET target = EXCLUDED.target, enabled = true,
            window_runs = NULL, window_interval = NULL, options = '{}';
        types := types || 'duration'::text;
    END IF;
    IF sla ? 'min_success_rate' THEN
        w := sla -> 'success_rate_window';
        IF w IS NULL THEN
            win_runs := 10;
        ELSIF jsonb_typeof(w) = 'number' AND w::numeric >= 1 AND w::numeric = trunc(w::numeric) THEN
            win_runs := w::int;
        ELSIF jsonb_typeof(w) = 'string' THEN
            BEGIN
                win_iv := (w #>> '{}')::interval;
            EXCEPTION WHEN OTHERS THEN
                win_iv := NULL;
            END;
        END IF;
        IF win_runs IS NULL AND (win_iv IS NULL OR win_iv <= interval '0') THEN
            RAISE EXCEPTION 'invalid sla value for success_rate_window' USING ERRCODE = '22023',
                DETAIL = format('Pipeline "%s" config path pipeline.sla.success_rate_window is %s.', apply_sla_config.pipeline_id, w),
                HINT = 'Give a number of runs (20) or an interval ("7 days").';
        END IF;
        INSERT INTO etl.sla_definitions AS d (pipeline_id, sla_type, target, window_runs, window_interval)
        VALUES (apply_sla_config.pipeline_id, 'success_rate', (sla ->> 'min_success_rate')::numeric, win_runs, win_iv)
        ON CONFLICT (pipeline_id, sla_type) DO UPDATE SET target = EXCLUDED.target, enabled = true,
            window_runs = EXCLUDED.window_runs, window_interval = EXCLUDED.window_interval, options = '{}';
        types := types || 'success_rate'::text;
    ELSIF sla ? 'success_rate_window' THEN
        RAISE EXCEPTION 'success_rate_window without min_success_rate' USING ERRCODE = '22023',
            DETAIL = format('Pipeline "%s" config path pipeline.sla.success_rate_window.', apply_sla_config.pipeline_id);
    END IF;
    IF sla ? 'min_quality_score' THEN
        INSERT INTO etl.sla_definitions AS d (pipeline_id, sla_type, target)
        VALUES (apply_sla_config.pipeline_id, 'quality', (sla ->> 'min_quality_score')::numeric)
        ON CONFLICT (pipeline_id, sla_type) DO UPDATE SET target = EXCLUDED.target, enabled = true,
            window_runs = NULL, window_interval = NULL, options = '{}';
        types := types || 'quality'::text;
    END IF;
    IF sla ? 'freshness' THEN
        f := sla -> 'freshness';
        IF jsonb_typeof(f) <> 'object' OR NOT f ? 'max_age'
           OR EXISTS (SELECT 1 FROM jsonb_object_keys(f) x WHERE x NOT IN ('max_age', 'table', 'column')) THEN
            RAISE EXCEPTION 'invalid sla freshness block' USING ERRCODE = '22023',
                DETAIL = format('Pipeline "%s" config path pipeline.sla.freshness must be {max_age, [table, column]}.', apply_sla_config.pipeline_id),
                HINT = 'Example: {"max_age": "2 hours", "table": "public.orders", "column": "loaded_at"}; without table and column the age is that of the last successful load.';
        END IF;
        BEGIN
            age := (f ->> 'max_age')::interval;
        EXCEPTION WHEN OTHERS THEN
            age := NULL;
        END;
        IF age IS NULL OR age <= interval '0' THEN
            RAISE EXCEPTION 'invalid sla freshness max_age' USING ERRCODE = '22023',
                DETAIL = format('Pipeline "%s" config path pipeline.sla.freshness.max_age is %s.', apply_sla_config.pipeline_id, f -> 'max_age'),
                HINT = 'Give an interval such as "2 hours".';
        END IF;
        IF (f ? 'table') <> (f ? 'column') THEN
            RAISE EXCEPTION 'sla freshness needs both table and column, or neither' USING ERRCODE = '22023',
                DETAIL = format('Pipeline "%s" config path pipeline.sla.freshness.', apply_sla_config.pipeline_id);
        END IF;
        IF f ? 'table' THEN
            rel := (f ->> 'table')::pg_catalog.regclass;    -- must exist now: raises 42P01 otherwise
            IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a WHERE a.attrelid OPERATOR(pg_catalog.=) rel
                              AND a.attname OPERATOR(pg_catalog.=) (f ->> 'column') AND a.attnum > 0 AND NOT a.attisdropped) THEN
                RAISE EXCEPTION 'column "%" of relation % does not exist', f ->> 'column', f ->> 'table'
                    USING ERRCODE = '42703',
                          DETAIL = format('Pipeline "%s" config path pipeline.sla.freshness.column.', apply_sla_config.pipeline_id);
            END IF;
            SELECT pg_catalog.jsonb_set(f, '{table}', pg_catalog.to_jsonb(pg_catalog.format('%I.%I', n.nspname, c.relname)))
              INTO f
              FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
             WHERE c.oid OPERATOR(pg_catalog.=) rel;
        END IF;
        INSERT INTO etl.sla_definitions AS d (pipeline_id, sla_type, target, options)
        VALUES (apply_sla_config.pipeline_id, 'freshness', pg_catalog.trim_scale(pg_catalog.round(EXTRACT(epoch FROM age) / 60, 4)), f - 'max_age')
        ON CONFLICT (pipeline_id, sla_type) DO UPDATE SET target = EXCLUDED.target, options = EXCLUDED.options,
            enabled = true, window_runs = NULL, window_interval = NULL;
        types := types || 'freshness'::text;
    END IF;
    -- SLAs no longer in the block are disabled, not deleted: their history stays
    UPDATE etl.sla_definitions d SET enabled = false
     WHERE d.pipeline_id = apply_sla_config.pipeline_id AND NOT d.sla_type = ANY (types) AND d.enabled;
    RETURN cardinality(types);
END
$$;
COMMENT ON FUNCTION etl.apply_sla_config(pg_catalog.text, pg_catalog.jsonb) IS
  'turn a pipeline''s sla: block into etl.sla_definitions rows (SLAs no longer in the block are disabled, their history kept); returns how many SLAs it defines';

-- freshness of one SLA: age in minutes (NULL when there is no data or load yet)
CREATE FUNCTION etl._sla_freshness_age(d etl.sla_definitions)
RETURNS pg_catalog.numeric
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    newest timestamptz;
BEGIN
    IF d.options ? 'table' THEN
        EXECUTE format('SELECT max(%I)::timestamptz FROM %s', d.options ->> 'column',
                       (d.options ->> 'table')::regclass)
           INTO newest;
    ELSE
        SELECT max(r.ended_at) INTO newest FROM etl.pipeline_runs r
         WHERE r.pipeline_id = d.pipeline_id AND r.status = 'succeeded';
    END IF;
    RETURN round((extract(epoch FROM clock_timestamp() - newest) / 60)::numeric, 2);
END
$$;
COMMENT ON FUNCTION etl._sla_freshness_age(etl.sla_definitions) IS
  'internal: minutes since the newest row (freshness column) or the last successful load';

-- after evaluations: raise sla_violation per failing SLA type, resolve the compliant ones
CREATE FUNCTION etl._sla_alerts(pipeline_id pg_catalog.text, run_id pg_catalog.int8, results etl.sla_compliance[])
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    c   etl.sla_compliance;
    t   text;
BEGIN
    FOREACH c IN ARRAY COALESCE(results, '{}') LOOP
        SELECT d.sla_type INTO t FROM etl.sla_definitions d WHERE d.sla_id = c.sla_id;
        IF c.compliant THEN
            PERFORM etl._auto_resolve(ARRAY['sla_violation:' || pipeline_id || ':' || t],
                                      format('%s SLA met again (evaluation %s)', t, c.compliance_id));
        ELSE
            PERFORM etl.raise_alert('sla_violation', 'high',
                format('pipeline %s missed its %s SLA: observed %s, target %s', pipeline_id, t,
                       COALESCE(c.observed::text, 'nothing'), c.target),
                pipeline_id, run_id,
                jsonb_build_object('sla_type', t, 'observed', c.observed, 'target', c.target,
                                   'compliance_id', c.compliance_id) || c.details,
                'sla_violation:' || pipeline_id || ':' || t);
        END IF;
    END LOOP;
END
$$;
COMMENT ON FUNCTION etl._sla_alerts(pg_catalog.text, pg_catalog.int8, etl.sla_compliance[]) IS
  'internal: raise or resolve sla_violation alerts (dedup key sla_violation:PIPELINE:TYPE) from evaluations';

CREATE FUNCTION etl.evaluate_sla(run_id pg_catalog.int8)
RETURNS SETOF etl.sla_compliance
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    r        etl.pipeline_runs;
    d        etl.sla_definitions;
    obs      numeric;
    ok       bool;
    det      jsonb;
    res      etl.sla_compliance;
    results  etl.sla_compliance[] := '{}';
    total    int;
    good     int;
BEGIN
    SELECT * INTO r FROM etl.pipeline_runs x WHERE x.run_id = evaluate_sla.run_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'run % does not exist', evaluate_sla.run_id USING ERRCODE = '42704';
    END IF;
    FOR d IN SELECT * FROM etl.sla_definitions x WHERE x.pipeline_id = r.pipeline_id AND x.enabled ORDER BY x.sla_type LOOP
        obs := NULL; ok := NULL; det := '{}';
        IF d.sla_type = 'duration' THEN
            CONTINUE WHEN r.started_at IS NULL;
            obs := round((extract(epoch FROM COALESCE(r.ended_at, clock_timestamp()) - r.started_at) / 60)::numeric, 4);
            ok := obs <= d.target;
            det := jsonb_build_object('run_status', r.status, 'finished', r.ended_at IS NOT NULL);
        ELSIF d.sla_type = 'success_rate' THEN
            SELECT count(*), count(*) FILTER (WHERE x.status = 'succeeded') INTO total, good
              FROM (SELECT y.status FROM etl.pipeline_runs y
                     WHERE y.pipeline_id = r.pipeline_id
                       AND y.status IN ('succeeded', 'failed', 'quality_failed', 'cancelled', 'abandoned')
                       AND y.queued_at <= r.queued_at AND y.run_id <= r.run_id
                       AND (d.window_interval IS NULL OR y.queued_at > r.queued_at - d.window_interval)
                     ORDER BY y.queued_at DESC, y.run_id DESC
                     LIMIT d.window_runs) x;
            CONTINUE WHEN total = 0;
            obs := round(good::numeric / total, 4);
            ok := obs >= d.target;
            det := jsonb_build_object('runs', total, 'succeeded', good)
                   || jsonb_strip_nulls(jsonb_build_object('window_runs', d.window_runs,
                                                           'window', d.window_interval::text));
        ELSIF d.sla_type = 'quality' THEN
            CONTINUE WHEN r.quality_score IS NULL;
            obs := r.quality_score;
            ok := obs >= d.target;
        ELSIF d.sla_type = 'freshness' THEN
            obs := etl._sla_freshness_age(d);
            ok := obs IS NOT NULL AND obs <= d.target;
            det := jsonb_build_object('source', CASE WHEN d.options ? 'table' THEN 'column' ELSE 'last_load' END);
        END IF;
        INSERT INTO etl.sla_compliance (sla_id, pipeline_id, run_id, observed, target, compliant, details)
        VALUES (d.sla_id, r.pipeline_id, r.run_id, obs, d.target, ok, det)
        RETURNING * INTO res;
        results := results || res;
        RETURN NEXT res;
    END LOOP;
    PERFORM etl._sla_alerts(r.pipeline_id, r.run_id, results);
END
$$;
COMMENT ON FUNCTION etl.evaluate_sla(pg_catalog.int8) IS
  'evaluate every SLA of a run''s pipeline for that run (duration, success rate, quality, freshness), record and return the evaluations; raises or resolves sla_violation alerts';

CREATE FUNCTION etl.evaluate_running_slas()
RETURNS SETOF etl.sla_compliance
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r    record;
    res  etl.sla_compliance;
BEGIN
    FOR r IN SELECT x.run_id, x.pipeline_id, x.started_at, d.sla_id, d.target
               FROM etl.pipeline_runs x
               JOIN etl.sla_definitions d ON d.pipeline_id = x.pipeline_id AND d.sla_type = 'duration' AND d.enabled
              WHERE x.status = 'running' AND x.started_at IS NOT NULL
                AND clock_timestamp() - x.started_at > make_interval(secs => 60 * d.target::float8)
                -- once per run: a breach already recorded is not recorded again
                AND NOT EXISTS (SELECT 1 FROM etl.sla_compliance c
                                 WHERE c.run_id = x.run_id AND c.sla_id = d.sla_id AND NOT c.compliant)
              ORDER BY x.run_id
    LOOP
        INSERT INTO etl.sla_compliance (sla_id, pipeline_id, run_id, observed, target, compliant, details)
        VALUES (r.sla_id, r.pipeline_id, r.run_id,
                round((extract(epoch FROM clock_timestamp() - r.started_at) / 60)::numeric, 4), r.target, false,
                jsonb_build_object('run_status', 'running', 'finished', false))
        RETURNING * INTO res;
        PERFORM etl._sla_alerts(r.pipeline_id, r.run_id, ARRAY[res]);
        RETURN NEXT res;
    END LOOP;
END
$$;
COMMENT ON FUNCTION etl.evaluate_running_slas() IS
  'record a duration breach (once per run) for runs still going past their max duration, and raise the sla_violation alert; the delivery worker calls it every few seconds';

CREATE FUNCTION etl.evaluate_freshness()
RETURNS SETOF etl.sla_compliance
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    d    etl.sla_definitions;
    obs  numeric;
    res  etl.sla_compliance;
BEGIN
    FOR d IN SELECT * FROM etl.sla_definitions x WHERE x.sla_type = 'freshness' AND x.enabled ORDER BY x.sla_id LOOP
        obs := etl._sla_freshness_age(d);
        INSERT INTO etl.sla_compliance (sla_id, pipeline_id, run_id, observed, target, compliant, details)
        VALUES (d.sla_id, d.pipeline_id, NULL, obs, d.target, obs IS NOT NULL AND obs <= d.target,
                jsonb_build_object('source', CASE WHEN d.options ? 'table' THEN 'column' ELSE 'last_load' END))
        RETURNING * INTO res;
        PERFORM etl._sla_alerts(d.pipeline_id, NULL, ARRAY[res]);
        RETURN NEXT res;
    END LOOP;
END
$$;
COMMENT ON FUNCTION etl.evaluate_freshness() IS
  'evaluate every freshness SLA now (the scheduler calls it every minute), recording each evaluation and raising or resolving alerts';

CREATE FUNCTION etl.sla_report(pipeline_id pg_catalog.text,
                               from_ts pg_catalog.timestamptz DEFAULT pg_catalog.now() - '7 days'::pg_catalog.interval,
                               to_ts pg_catalog.timestamptz DEFAULT pg_catalog.now())
RETURNS TABLE(sla_type pg_catalog.text, target pg_catalog.text, observed pg_catalog.text,
              compliant pg_catalog.bool, evaluated_at pg_catalog.timestamptz)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
SELECT d.sla_type,
       CASE d.sla_type
           WHEN 'duration' THEN format('<= %s min', trim_scale(c.target))
           WHEN 'success_rate' THEN format('>= %s over %s', trim_scale(c.target),
                                          COALESCE('last ' || d.window_runs || ' runs', d.window_interval::text))
           WHEN 'quality' THEN format('>= %s', trim_scale(c.target))
           WHEN 'freshness' THEN format('<= %s min', trim_scale(round(c.target, 2)))
       END,
       CASE WHEN c.observed IS NULL THEN 'no data'
            WHEN d.sla_type IN ('duration', 'freshness') THEN format('%s min', round(c.observed, 2))
            WHEN d.sla_type = 'success_rate' THEN format('%s (%s of %s runs)', round(c.observed, 4),
                                                        c.details ->> 'succeeded', c.details ->> 'runs')
            ELSE round(c.observed, 2)::text
       END,
       c.compliant, c.evaluated_at
  FROM etl.sla_compliance c
  JOIN etl.sla_definitions d ON d.sla_id = c.sla_id
 WHERE c.pipeline_id = sla_report.pipeline_id
   AND c.evaluated_at >= from_ts AND c.evaluated_at <= to_ts
 ORDER BY c.evaluated_at, c.compliance_id
$$;
COMMENT ON FUNCTION etl.sla_report(pg_catalog.text, pg_catalog.timestamptz, pg_catalog.timestamptz) IS
  'SLA evaluations of a pipeline between from_ts and to_ts: type, target, observed value, compliance, time';

-- ---------------------------------------------------------------------------
-- After each run (the orchestrator calls this once the run record is committed)
-- ---------------------------------------------------------------------------

CREATE FUNCTION etl.on_run_finished(run_id pg_catalog.int8)
RETURNS pg_catalog.jsonb
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    r        etl.pipeline_runs;
    raised   jsonb := '[]';
    resolved int := 0;
    id       bigint;
    dur      float8;
    p95      float8;
    nprev    int;
    factor   float8;
    sla      jsonb := '[]';
    k_fail   text;
    k_qual   text;
    k_perf   text;
BEGIN
    SELECT * INTO r FROM etl.pipeline_runs x WHERE x.run_id = on_run_finished.run_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'run % does not exist', on_run_finished.run_id USING ERRCODE = '42704';
    END IF;
    k_fail := 'pipeline_failure:' || r.pipeline_id;
    k_qual := 'quality_failure:' || r.pipeline_id;
    k_perf := 'performance:' || r.pipeline_id;

    IF r.status IN ('failed', 'abandoned') THEN
        id := etl.raise_alert('pipeline_failure', 'high',
                  format('pipeline %s run %s failed%s', r.pipeline_id, r.run_id,
                         COALESCE(': ' || r.error_message, '')),
                  r.pipeline_id, r.run_id,
                  jsonb_strip_nulls(jsonb_build_object('error', r.error_message, 'sqlstate', r.error_sqlstate,
                                                       'step', r.error_step, 'attempt', r.attempt)));
        raised := raised || jsonb_build_object('alert_id', id, 'alert_type', 'pipeline_failure');
    ELSIF r.status = 'quality_failed' THEN
        id := etl.raise_alert('quality_failure', 'high',
                  format('pipeline %s run %s failed its quality gate%s', r.pipeline_id, r.run_id,
                         COALESCE(' (score ' || r.quality_score || ')', '')),
                  r.pipeline_id, r.run_id,
                  jsonb_strip_nulls(jsonb_build_object('error', r.error_message, 'quality_score', r.quality_score)));
        raised := raised || jsonb_build_object('alert_id', id, 'alert_type', 'quality_failure');
    ELSIF r.status = 'succeeded' THEN
        resolved := resolved + etl._auto_resolve(ARRAY[k_fail, k_qual], format('run %s succeeded', r.run_id));
        -- performance: slower than the p95 of the previous successful runs times a factor
        IF r.started_at IS NOT NULL AND r.ended_at IS NOT NULL THEN
            dur := extract(epoch FROM r.ended_at - r.started_at);
            factor := COALESCE((SELECT (p.config #>> '{pipeline,alerts,performance_factor}')::float8
                                  FROM etl.pipelines p WHERE p.pipeline_id = r.pipeline_id), 2.0);
            SELECT count(*), percentile_cont(0.95) WITHIN GROUP (ORDER BY s) INTO nprev, p95
              FROM (SELECT extract(epoch FROM y.ended_at - y.started_at) AS s
                      FROM etl.pipeline_runs y
                     WHERE y.pipeline_id = r.pipeline_id AND y.status = 'succeeded' AND y.run_id <> r.run_id
                       AND y.started_at IS NOT NULL AND y.ended_at IS NOT NULL AND y.ended_at <= r.ended_at
                     ORDER BY y.ended_at DESC LIMIT 20) x;
            IF nprev >= 5 AND dur > p95 * factor AND dur > 1 THEN
                id := etl.raise_alert('performance', 'medium',
                          format('pipeline %s run %s took %s s, more than %s x the p95 of the last %s runs (%s s)',
                                 r.pipeline_id, r.run_id, round(dur::numeric, 1), factor, nprev, round(p95::numeric, 1)),
                          r.pipeline_id, r.run_id,
                          jsonb_build_object('duration_s', round(dur::numeric, 3), 'p95_s', round(p95::numeric, 3),
                                             'factor', factor, 'runs', nprev));
                raised := raised || jsonb_build_object('alert_id', id, 'alert_type', 'performance');
            ELSIF nprev >= 5 THEN
                resolved := resolved + etl._auto_resolve(ARRAY[k_perf], format('run %s within p95 x %s', r.run_id, factor));
            END IF;
        END IF;
    END IF;

    SELECT COALESCE(jsonb_agg(jsonb_build_object('sla_type', d.sla_type, 'compliant', c.compliant,
                                                 'observed', c.observed, 'target', c.target)
                              ORDER BY d.sla_type), '[]')
      INTO sla
      FROM etl.evaluate_sla(r.run_id) c JOIN etl.sla_definitions d ON d.sla_id = c.sla_id;
    SELECT raised || COALESCE(jsonb_agg(jsonb_build_object('alert_id', a.alert_id, 'alert_type', 'sla_violation')), '[]')
      INTO raised
      FROM etl.alerts a
     WHERE a.run_id = r.run_id AND a.alert_type = 'sla_violation' AND a.status <> 'resolved';
    RETURN jsonb_build_object('run_id', r.run_id, 'status', r.status, 'alerts', raised,
                              'resolved', resolved, 'sla', sla);
END
$$;
COMMENT ON FUNCTION etl.on_run_finished(pg_catalog.int8) IS
  'after a run: raise or resolve pipeline_failure, quality_failure and performance alerts, evaluate its SLAs; returns what it did';
-- Foundation functions.

CREATE FUNCTION etl.health()
RETURNS pg_catalog.jsonb
LANGUAGE c STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_health';
COMMENT ON FUNCTION etl.health() IS
  'extension and server versions, preload state, scheduler state, linked libyaml/libcurl/OpenSSL versions';
-- Privileges for plain roles, applied after every subsystem created its
-- tables.  Schema etl is usable by every role; row-level security shows a role
-- only what belongs to it:
--  * per-pipeline metadata (schedules, queue, SLAs, SLA results, alerts) to the
--    roles that may see the pipeline (etl.pipelines' own policy decides);
--  * results of quality checks, profiles and anomaly detections to the role
--    that produced them (a run's results are produced as the run's role).
-- Administrative tables (credentials, users, roles, access log, alert channels,
-- routes, escalation policies, the audit log) stay with the extension owner and
-- are reached through SECURITY DEFINER functions.  Superusers bypass RLS.

DO $privileges$
DECLARE
    t text;
BEGIN
    -- per-pipeline metadata
    FOREACH t IN ARRAY ARRAY['schedules', 'run_queue', 'sla_definitions', 'sla_compliance'] LOOP
        EXECUTE pg_catalog.format('GRANT SELECT, INSERT, UPDATE, DELETE ON etl.%I TO PUBLIC', t);
        EXECUTE pg_catalog.format('ALTER TABLE etl.%I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE pg_catalog.format(
            'CREATE POLICY %I ON etl.%I USING (EXISTS (SELECT 1 FROM etl.pipelines p WHERE p.pipeline_id OPERATOR(pg_catalog.=) %I.pipeline_id))',
            t || '_by_pipeline', t, t);
    END LOOP;

    -- results: visible to the role that produced them, and with their pipeline
    FOREACH t IN ARRAY ARRAY['quality_scores', 'completeness_checks', 'validity_checks',
                              'uniqueness_checks', 'dq_results', 'profiling_stats',
                              'anomaly_detection', 'quality_profiles'] LOOP
        EXECUTE pg_catalog.format(
            'ALTER TABLE etl.%I ADD COLUMN created_by pg_catalog.name NOT NULL DEFAULT CURRENT_USER', t);
        EXECUTE pg_catalog.format('GRANT SELECT, INSERT, UPDATE, DELETE ON etl.%I TO PUBLIC', t);
        EXECUTE pg_catalog.format('ALTER TABLE etl.%I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE pg_catalog.format(
            'CREATE POLICY %I ON etl.%I USING (etl.may_act_as(created_by)) WITH CHECK (etl.may_act_as(created_by))',
            t || '_by_creator', t);
    END LOOP;
END
$privileges$;

-- alerts are read by the roles that may see their pipeline (system alerts by all)
GRANT SELECT ON etl.alerts TO PUBLIC;
ALTER TABLE etl.alerts ENABLE ROW LEVEL SECURITY;
CREATE POLICY alerts_by_pipeline ON etl.alerts
    USING (pipeline_id IS NULL
           OR EXISTS (SELECT 1 FROM etl.pipelines p WHERE p.pipeline_id OPERATOR(pg_catalog.=) alerts.pipeline_id));

-- read-only for everyone: named pools and the settings {{env.NAME}} renders
GRANT SELECT ON etl.pools, etl.settings TO PUBLIC;

-- watermarks are written by metaetl itself and read with their pipeline
GRANT SELECT ON etl.watermarks TO PUBLIC;
ALTER TABLE etl.watermarks ENABLE ROW LEVEL SECURITY;
CREATE POLICY watermarks_by_pipeline ON etl.watermarks
    USING (EXISTS (SELECT 1 FROM etl.pipelines p WHERE p.pipeline_id OPERATOR(pg_catalog.=) watermarks.pipeline_id));
-- pg_dump keeps user metadata: every metadata table and sequence in etl is
-- registered as extension configuration.  Fragments sort before this one, so
-- tables added by later subsystems are registered here too.  (One call per
-- statement: pg_extension_config_dump updates the pg_extension row.)

DO $config_dump$
DECLARE
    rel pg_catalog.regclass;
BEGIN
    FOR rel IN
        SELECT c.oid::pg_catalog.regclass
          FROM pg_catalog.pg_class c
          JOIN pg_catalog.pg_depend d
            ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
           AND d.objid OPERATOR(pg_catalog.=) c.oid
           AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass
           AND d.deptype OPERATOR(pg_catalog.=) 'e'
         WHERE c.relnamespace OPERATOR(pg_catalog.=) 'etl'::pg_catalog.regnamespace
           AND c.relkind IN ('r', 'S')
         ORDER BY c.relkind, c.relname
    LOOP
        PERFORM pg_catalog.pg_extension_config_dump(rel, '');
    END LOOP;
END
$config_dump$;
