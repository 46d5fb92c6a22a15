-- docs/examples/alerting.sql — every example of docs/monitoring.md, in order.
-- Run in a database with metaetl installed:
--   psql -v ON_ERROR_STOP=1 -f docs/examples/alerting.sql
-- test/harness/cases/71_monitoring_docs.sh runs it in a fresh database.
-- Nothing is sent: channels point at example hosts, and nothing here calls
-- etl.deliver_pending (the delivery worker only serves metaetl.database).
\pset pager off

-- a pipeline to watch, tagged finance; its source table does not exist, so
-- its run below fails
SELECT etl.register_pipeline($$
pipeline:
  id: orders_daily
  name: Daily orders
  tags: [finance, prod]
  sources: [{id: orders, type: postgresql, table: public.orders}]
  transforms:
    - {id: by_region, type: aggregate, params: {groupby_cols: [region], agg_functions: {amount: sum}}}
  targets: [{id: totals, type: postgresql, table: public.daily_totals}]
  alerts: {on: [failure, quality_failure], channels: [ops_email]}
$$);

-- [sla] the pipeline's sla: block becomes SLA definitions
SELECT etl.apply_sla_config('orders_daily', '{
    "max_duration_minutes": 30,
    "min_success_rate": 0.95, "success_rate_window": 20,
    "min_quality_score": 90,
    "freshness": {"max_age": "26 hours"}}');
SELECT sla_type, target, window_runs, options FROM etl.sla_definitions
 WHERE pipeline_id = 'orders_daily' ORDER BY sla_type;

-- [channels] one of each type
SELECT etl.add_alert_channel('ops_email', 'email', '{
    "smtp_url": "smtp://smtp.example.com:587", "starttls": true,
    "username": "metaetl", "password": "app-password",
    "from": "metaetl@example.com", "to": ["ops@example.com", "dba@example.com"]}');
SELECT etl.add_alert_channel('ops_slack', 'slack', '{
    "webhook_url": "https://hooks.slack.com/services/T000/B000/XXXXXXXX",
    "channel": "#etl-alerts"}');
SELECT etl.add_alert_channel('oncall_sms', 'sms', '{
    "url": "https://api.twilio.com/2010-04-01/Accounts/AC0123456789abcdef/Messages.json",
    "auth": "basic", "username": "AC0123456789abcdef", "password": "twilio-auth-token",
    "from": "+15559870000", "to": "+15551230000"}');
SELECT etl.add_alert_channel('gateway_sms', 'sms', '{
    "url": "https://sms.example.com/v1/messages", "body_format": "json",
    "auth": "bearer", "token": "gateway-token",
    "to": "+15551230000", "to_field": "recipient", "body_field": "text",
    "extra": {"sender_id": "METAETL"}}');
SELECT etl.add_alert_channel('incident_hook', 'webhook', '{
    "url": "https://incidents.example.com/metaetl", "secret": "shared-hmac-secret",
    "headers": {"X-Team": "data-platform"},
    "retry": {"max_attempts": 8, "initial_delay_s": 10, "backoff": 2, "max_delay_s": 600},
    "throttle": {"max": 30, "window_minutes": 60}}');
-- secrets are shown as ***
SELECT name, type, config FROM etl.alert_channels_public ORDER BY name;

-- [bad config] a clear error, nothing stored
\set ON_ERROR_STOP 0
SELECT etl.add_alert_channel('broken', 'email', '{"smtp_url": "smtp://smtp.example.com", "from": "metaetl@example.com"}');
\set ON_ERROR_STOP 1

-- [routing] finance pipelines' failures and SLA misses to Slack and the
-- incident webhook, with escalation to SMS; every critical alert to SMS
SELECT etl.add_escalation_policy('finance_oncall', '[
    {"after_minutes": 15, "channels": ["oncall_sms"]},
    {"after_minutes": 60, "channels": ["ops_email"]}]');
SELECT etl.add_alert_route(ARRAY['ops_slack', 'incident_hook'],
                           alert_types => ARRAY['pipeline_failure', 'sla_violation'],
                           pipeline_tags => ARRAY['finance'],
                           escalation_policy => 'finance_oncall') AS route_id;
SELECT etl.add_alert_route(ARRAY['oncall_sms'], priorities => ARRAY['critical']) AS route_id;

-- [raise] one open alert per dedup key, with a counter
SELECT etl.raise_alert('anomaly', 'medium', 'order count 40% below forecast',
                       pipeline_id => 'orders_daily', details => '{"metric": "orders", "z": -4.2}',
                       dedup_key => 'anomaly:orders_daily:orders') AS alert_id \gset
SELECT etl.raise_alert('anomaly', 'medium', 'order count still 38% below forecast',
                       pipeline_id => 'orders_daily', dedup_key => 'anomaly:orders_daily:orders') = :alert_id AS same_alert;
SELECT alert_type, priority, status, occurrences, message FROM etl.alerts WHERE alert_id = :alert_id;
SELECT etl.acknowledge_alert(:alert_id) AS acknowledged;
SELECT etl.resolve_alert(:alert_id) AS resolved;

-- [after a run] the run fails (public.orders does not exist); once the run is
-- recorded the orchestrator calls etl.on_run_finished(run_id), which raised
-- a pipeline_failure alert and queued it for the routes' and the pipeline's channels
SELECT r ->> 'run_id' AS run_id, r ->> 'status' AS status
  FROM etl.execute_pipeline('orders_daily') AS r \gset
\echo run :run_id :status
SELECT alert_type, priority, status, message FROM etl.alerts WHERE run_id = :run_id;
SELECT d.channel, d.event, d.status FROM etl.alert_deliveries d JOIN etl.alerts a USING (alert_id)
 WHERE a.run_id = :run_id ORDER BY d.channel, d.event;

-- [report]
SELECT sla_type, target, observed, compliant FROM etl.sla_report('orders_daily');

-- [outbox] what is waiting to be sent
SELECT d.channel, d.status, d.attempts, d.next_attempt_at > now() - interval '1 minute' AS due_soon
  FROM etl.alert_deliveries d ORDER BY d.delivery_id;
