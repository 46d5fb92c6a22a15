-- 71_sla: SLA definitions from a pipeline's sla: block, evaluation after a
-- run (duration, success rate over the last N runs or a window, quality,
-- freshness from a column or the last load), while a run is still going,
-- freshness on its own, the alerts they raise and resolve, and
-- etl.sla_report.  One transaction, rolled back.
\set SHOW_CONTEXT never
\set ON_ERROR_ROLLBACK on
BEGIN;

INSERT INTO etl.pipelines (pipeline_id, name, config) VALUES
    ('sla_orders', 'Orders', '{"pipeline": {"id": "sla_orders"}}'),
    ('sla_fresh', 'Fresh', '{"pipeline": {"id": "sla_fresh"}}');
CREATE TABLE sla_orders_target (id int, loaded_at timestamptz);

-- ---------------------------------------------------------------------------
-- etl.apply_sla_config: the sla: block becomes rows
-- ---------------------------------------------------------------------------
SELECT etl.apply_sla_config('sla_orders', '{"max_duration_minutes": 60, "min_success_rate": 0.75,
    "success_rate_window": 4, "min_quality_score": 90}') AS slas;
SELECT sla_type, target, window_runs, window_interval, options
  FROM etl.sla_definitions WHERE pipeline_id = 'sla_orders' ORDER BY sla_type;
-- applying again replaces the set (freshness from a column added, quality
-- disabled: its history is kept)
SELECT etl.apply_sla_config('sla_orders', '{"max_duration_minutes": 5, "min_success_rate": 0.75,
    "success_rate_window": 4, "freshness": {"max_age": "2 hours", "table": "sla_orders_target", "column": "loaded_at"}}') AS slas;
SELECT sla_type, target, window_runs, options, enabled
  FROM etl.sla_definitions WHERE pipeline_id = 'sla_orders' ORDER BY sla_type;
-- a window given as an interval; freshness from the last successful load
SELECT etl.apply_sla_config('sla_fresh', '{"min_success_rate": 0.5, "success_rate_window": "1 day",
    "freshness": {"max_age": "30 minutes"}}') AS slas;
SELECT sla_type, target, window_runs, window_interval, options
  FROM etl.sla_definitions WHERE pipeline_id = 'sla_fresh' ORDER BY sla_type;

-- bad blocks are rejected, naming the config path
SELECT etl.apply_sla_config('sla_orders', '{"max_duration": 5}');
\echo :LAST_ERROR_SQLSTATE
SELECT etl.apply_sla_config('sla_orders', '{"min_success_rate": 95}');
\echo :LAST_ERROR_SQLSTATE
SELECT etl.apply_sla_config('sla_orders', '{"max_duration_minutes": "soon"}');
\echo :LAST_ERROR_SQLSTATE
SELECT etl.apply_sla_config('sla_orders', '{"min_success_rate": 0.9, "success_rate_window": "often"}');
\echo :LAST_ERROR_SQLSTATE
SELECT etl.apply_sla_config('sla_orders', '{"freshness": {"max_age": "2 hours", "table": "sla_orders_target"}}');
\echo :LAST_ERROR_SQLSTATE
SELECT etl.apply_sla_config('sla_orders', '{"freshness": {"max_age": "2 hours", "table": "sla_orders_target", "column": "nope"}}');
\echo :LAST_ERROR_SQLSTATE
SELECT etl.apply_sla_config('sla_orders', '{"freshness": {"max_age": "-1 hour"}}');
\echo :LAST_ERROR_SQLSTATE
SELECT etl.apply_sla_config('no_such_pipeline', '{}');
\echo :LAST_ERROR_SQLSTATE
-- one vocabulary with validate_config: every problem at once, and the older
-- spellings validate_config accepts (window_runs, max_data_age_minutes) apply
SELECT etl.apply_sla_config('sla_orders', '{"max_duration": 5, "min_quality_score": 120}');
\echo :LAST_ERROR_SQLSTATE
SELECT etl.apply_sla_config('sla_fresh', '{"min_success_rate": 0.5, "window_runs": 3, "max_data_age_minutes": 45}') AS slas;
SELECT sla_type, target, window_runs, options
  FROM etl.sla_definitions WHERE pipeline_id = 'sla_fresh' AND enabled ORDER BY sla_type;
SELECT count(*) AS sla_problems FROM etl.validate_config('pipeline: {id: v71, sla: {window_runs: 3, max_data_age_minutes: 45, min_success_rate: 0.5}}')
 WHERE path LIKE 'pipeline.sla%';
SELECT etl.apply_sla_config('sla_fresh', '{"min_success_rate": 0.5, "success_rate_window": "1 day",
    "freshness": {"max_age": "30 minutes"}}') AS slas;   -- back as above
-- the errors left the definitions as they were
SELECT count(*) AS sla_orders_enabled FROM etl.sla_definitions WHERE pipeline_id = 'sla_orders' AND enabled;

-- ---------------------------------------------------------------------------
-- etl.evaluate_sla after a run
-- ---------------------------------------------------------------------------
INSERT INTO sla_orders_target VALUES (1, now() - interval '10 minutes');
-- a 7-minute run breaks the 5-minute SLA
INSERT INTO etl.pipeline_runs (pipeline_id, status, started_at, ended_at)
VALUES ('sla_orders', 'succeeded', now() - interval '8 minutes', now() - interval '1 minute')
RETURNING run_id AS slow \gset
-- (freshness: minutes since the newest loaded_at, rounded here)
SELECT d.sla_type, CASE d.sla_type WHEN 'freshness' THEN round(c.observed) ELSE c.observed END AS observed,
       c.target, c.compliant, c.details
  FROM etl.evaluate_sla(:slow) c JOIN etl.sla_definitions d USING (sla_id) ORDER BY d.sla_type;
SELECT alert_type, priority, status, dedup_key, regexp_replace(message, 'run [0-9]+', 'run N') AS message
  FROM etl.alerts WHERE pipeline_id = 'sla_orders';
-- every evaluation is a row
SELECT count(*) AS compliance_rows FROM etl.sla_compliance WHERE run_id = :slow;

-- a second slow run: the same alert counts 2; two failed runs then break the
-- success rate over the last 4 runs (2 succeeded of 4 = 0.5 < 0.75)
INSERT INTO etl.pipeline_runs (pipeline_id, status, started_at, ended_at)
VALUES ('sla_orders', 'succeeded', now() - interval '7 minutes', now()) RETURNING run_id AS slow2 \gset
SELECT count(*) FILTER (WHERE NOT compliant) AS breaches FROM etl.evaluate_sla(:slow2);
INSERT INTO etl.pipeline_runs (pipeline_id, status, started_at, ended_at, error_message)
VALUES ('sla_orders', 'failed', now() - interval '2 minutes', now(), 'boom'),
       ('sla_orders', 'failed', now() - interval '2 minutes', now(), 'boom');
SELECT max(run_id) AS failed2 FROM etl.pipeline_runs WHERE pipeline_id = 'sla_orders' \gset
SELECT d.sla_type, CASE d.sla_type WHEN 'freshness' THEN round(c.observed) ELSE c.observed END AS observed,
       c.compliant, c.details
  FROM etl.evaluate_sla(:failed2) c JOIN etl.sla_definitions d USING (sla_id) ORDER BY d.sla_type;
SELECT dedup_key, status, occurrences FROM etl.alerts WHERE alert_type = 'sla_violation' ORDER BY dedup_key;

-- a quick successful run: duration complies and its alert is resolved;
-- the success rate (2 of 4) still misses
INSERT INTO etl.pipeline_runs (pipeline_id, status, started_at, ended_at)
VALUES ('sla_orders', 'succeeded', now() - interval '1 minute', now()) RETURNING run_id AS quick \gset
SELECT d.sla_type, CASE d.sla_type WHEN 'freshness' THEN round(c.observed) ELSE c.observed END AS observed,
       c.compliant
  FROM etl.evaluate_sla(:quick) c JOIN etl.sla_definitions d USING (sla_id) ORDER BY d.sla_type;
SELECT dedup_key, status, resolved_by FROM etl.alerts WHERE alert_type = 'sla_violation' ORDER BY dedup_key;

-- quality: a run's quality_score against min_quality_score; runs without a
-- score are not evaluated for quality
SELECT etl.apply_sla_config('sla_orders', '{"min_quality_score": 90}') AS slas;
INSERT INTO etl.pipeline_runs (pipeline_id, status, started_at, ended_at, quality_score)
VALUES ('sla_orders', 'succeeded', now() - interval '1 minute', now(), 87.5) RETURNING run_id AS q1 \gset
SELECT d.sla_type, c.observed, c.target, c.compliant FROM etl.evaluate_sla(:q1) c JOIN etl.sla_definitions d USING (sla_id);
INSERT INTO etl.pipeline_runs (pipeline_id, status) VALUES ('sla_orders', 'failed') RETURNING run_id AS noscore \gset
SELECT count(*) AS evaluations FROM etl.evaluate_sla(:noscore);
SELECT etl.evaluate_sla(-1);
\echo :LAST_ERROR_SQLSTATE

-- ---------------------------------------------------------------------------
-- runs still going, and freshness on its own
-- ---------------------------------------------------------------------------
SELECT etl.apply_sla_config('sla_orders', '{"max_duration_minutes": 1}') AS slas;
INSERT INTO etl.pipeline_runs (pipeline_id, status, started_at)
VALUES ('sla_orders', 'running', now() - interval '3 minutes') RETURNING run_id AS running \gset
SELECT pipeline_id, run_id = :running AS this_run, observed >= 3 AS observed_at_least_3, target, compliant, details
  FROM etl.evaluate_running_slas();
-- recorded once per run
SELECT count(*) AS again FROM etl.evaluate_running_slas();
SELECT status, occurrences FROM etl.alerts WHERE dedup_key = 'sla_violation:sla_orders:duration' AND status <> 'resolved';

-- sla_fresh: no successful load yet -> not fresh; after one 10 minutes ago -> fresh
SELECT pipeline_id, observed, compliant, details FROM etl.evaluate_freshness();
INSERT INTO etl.pipeline_runs (pipeline_id, status, started_at, ended_at)
VALUES ('sla_fresh', 'succeeded', now() - interval '11 minutes', now() - interval '10 minutes');
SELECT pipeline_id, observed BETWEEN 10 AND 11 AS about_10_minutes, compliant FROM etl.evaluate_freshness();
SELECT dedup_key, status FROM etl.alerts WHERE pipeline_id = 'sla_fresh' ORDER BY alert_id;

-- ---------------------------------------------------------------------------
-- etl.sla_report(pipeline, from, to)
-- ---------------------------------------------------------------------------
-- (the running run's observed duration, recorded a moment after it was 3 minutes, shows as 3.0x min)
SELECT sla_type, target, regexp_replace(observed, '^3\.0[0-9] min$', '3.0x min') AS observed, compliant
  FROM etl.sla_report('sla_orders') WHERE sla_type <> 'freshness';
SELECT sla_type, target, compliant
  FROM etl.sla_report('sla_orders') WHERE sla_type = 'freshness';
SELECT count(*) AS rows_last_week FROM etl.sla_report('sla_orders');
SELECT count(*) AS rows_before FROM etl.sla_report('sla_orders', now() - interval '30 days', now() - interval '7 days');
SELECT sla_type, target, compliant FROM etl.sla_report('sla_fresh', to_ts => now() + interval '1 minute');
SELECT pg_get_function_result('etl.sla_report(text, timestamptz, timestamptz)'::regprocedure) AS returns;

ROLLBACK;
