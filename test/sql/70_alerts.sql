-- 70_alerts: alert channels (validation, secrets never shown), routing,
-- raise_alert with its dedup key and counter, acknowledge/resolve, automatic
-- resolve from etl.on_run_finished, performance alerts, throttling,
-- escalation, and etl.deliver_pending against a closed port (the attempt is
-- recorded, the retry scheduled).  Deliveries to real servers are tested by
-- test/harness/cases/70_alert_delivery.sh.
--
-- Everything runs in one transaction that is rolled back: the delivery
-- worker never sees these rows, and the next test file starts clean.
\set SHOW_CONTEXT never
\set ON_ERROR_ROLLBACK on
BEGIN;

INSERT INTO etl.pipelines (pipeline_id, name, config, tags) VALUES
    ('alert_orders', 'Orders', '{"pipeline": {"id": "alert_orders",
        "alerts": {"on": ["quality_failure"], "channels": ["ops_email"]}}}', '{finance,prod}'),
    ('alert_other', 'Other', '{"pipeline": {"id": "alert_other"}}', '{dev}');

-- ---------------------------------------------------------------------------
-- channels: bad configs are rejected with 22023 and a detail naming the key
-- ---------------------------------------------------------------------------
SELECT etl.add_alert_channel('pager', 'pigeon', '{}');
\echo :LAST_ERROR_SQLSTATE
SELECT etl.add_alert_channel('ops_slack', 'slack', '{"webhook_url": "hooks.slack.com/services/T0/B0/xyz"}');
\echo :LAST_ERROR_SQLSTATE
SELECT etl.add_alert_channel('ops_hook', 'webhook', '{"url": "http://exa mple.com/hook"}');
\echo :LAST_ERROR_SQLSTATE
SELECT etl.add_alert_channel('ops_hook', 'webhook', '{"url": "http://example.com:99999/hook"}');
\echo :LAST_ERROR_SQLSTATE
SELECT etl.add_alert_channel('ops_email', 'email', '{"smtp_url": "smtp://127.0.0.1:1", "from": "metaetl@example.com"}');
\echo :LAST_ERROR_SQLSTATE
SELECT etl.add_alert_channel('ops_email', 'email', '{"smtp_url": "smtp://127.0.0.1:1", "from": "metaetl@example.com", "to": ["ops@example.com", "not an address"]}');
\echo :LAST_ERROR_SQLSTATE
SELECT etl.add_alert_channel('ops_email', 'email', '{"smtp_url": "ftp://127.0.0.1", "from": "metaetl@example.com", "to": "ops@example.com"}');
\echo :LAST_ERROR_SQLSTATE
SELECT etl.add_alert_channel('ops_sms', 'sms', '{"url": "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json"}');
\echo :LAST_ERROR_SQLSTATE
SELECT etl.add_alert_channel('ops_sms', 'sms', '{"url": "https://sms.example.com/send", "to": "+15551230000", "auth": "bearer"}');
\echo :LAST_ERROR_SQLSTATE
SELECT etl.add_alert_channel('ops_hook', 'webhook', '{"url": "https://example.com/hook", "sekret": "typo"}');
\echo :LAST_ERROR_SQLSTATE
SELECT etl.add_alert_channel('Ops-Hook', 'webhook', '{"url": "https://example.com/hook"}');
\echo :LAST_ERROR_SQLSTATE
SELECT etl.add_alert_channel('ops_hook', 'webhook', '{"url": "https://example.com/hook", "retry": {"max_attempts": 0}}');
\echo :LAST_ERROR_SQLSTATE
SELECT etl.add_alert_channel('ops_email', 'email', '{"smtp_url": "smtp://127.0.0.1:1", "from": "metaetl@example.com", "to": "ops@example.com", "subject_prefix": "[etl]\r\nBcc: all@example.com"}');
\echo :LAST_ERROR_SQLSTATE
SELECT etl.add_alert_channel('ops_email', 'email', '{"smtp_url": "smtp://127.0.0.1:1", "from": "metaetl@example.com", "to": "ops@example.com", "tls_verify": "no"}');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS channels_after_errors FROM etl.alert_channels;

-- valid channels (closed port 1 on loopback: nothing listens there)
SELECT etl.add_alert_channel('ops_slack', 'slack',
    '{"webhook_url": "http://127.0.0.1:1/services/T000/B000/slack-token-1", "channel": "#etl-alerts"}');
SELECT etl.add_alert_channel('ops_email', 'email',
    '{"smtp_url": "smtp://127.0.0.1:1", "starttls": true, "from": "metaetl@example.com",
      "to": ["ops@example.com", "dba@example.com"], "username": "metaetl", "password": "mail-pass-2"}');
SELECT etl.add_alert_channel('ops_sms', 'sms',
    '{"url": "http://127.0.0.1:1/2010-04-01/Accounts/AC123/Messages.json", "to": "+15551230000",
      "from": "+15559870000", "auth": "basic", "username": "AC123", "password": "twilio-token-3"}');
-- the webhook's secret is "127.0.0.1": every copy of it in an error is masked
SELECT etl.add_alert_channel('ops_hook', 'webhook',
    '{"url": "http://127.0.0.1:1/hook", "secret": "127.0.0.1", "retry": {"max_attempts": 2, "initial_delay_s": 30}}');

-- secrets are stored apart and shown as ***, in the view and in the audit log
SELECT name, type, config FROM etl.alert_channels_public ORDER BY name;
SELECT name, array(SELECT jsonb_object_keys(secrets) ORDER BY 1) AS secret_keys,
       config::text ~ '(token|pass)-[0-9]' AS secret_in_config
  FROM etl.alert_channels ORDER BY name;
-- sealed at rest (AES-256-GCM, a fresh nonce each time), opened only to send
SELECT name, secrets->>k LIKE 'metaetl2:k%:%' AS sealed, secrets->>k ~ '(token|pass)-[0-9]' AS readable,
       etl._open_alert_secrets(secrets)->>k IN ('mail-pass-2', 'twilio-token-3') AS opens_to_the_value
  FROM etl.alert_channels, jsonb_object_keys(secrets) AS k WHERE name IN ('ops_email', 'ops_sms') ORDER BY name;
SELECT etl._seal_secret('x') <> etl._seal_secret('x') AS fresh_nonce;
-- a sealed value altered by one byte does not open
SELECT etl._open_secret(substring(secrets->>'password' from '^metaetl2:[^:]+:')
                        || encode(decode(substring(secrets->>'password' from '^metaetl2:[^:]+:(.*)$'), 'base64')
                                  || '\x00'::bytea, 'base64'))
  FROM etl.alert_channels WHERE name = 'ops_email';
\echo :LAST_ERROR_SQLSTATE
SELECT action, object_id, after->'config' AS logged_config
  FROM etl.audit_log WHERE object_type = 'alert_channel' ORDER BY audit_id;
SELECT count(*) AS audit_rows_with_secrets FROM etl.audit_log
 WHERE object_type = 'alert_channel' AND after::text ~ '(token|pass)-[0-9]';
-- adding a channel again replaces it
SELECT etl.add_alert_channel('ops_slack', 'slack',
    '{"webhook_url": "http://127.0.0.1:1/services/T000/B000/slack-token-1", "channel": "#etl"}');
SELECT config FROM etl.alert_channels_public WHERE name = 'ops_slack';

-- ---------------------------------------------------------------------------
-- routing: routes by type / priority / pipeline tags, plus the pipeline's
-- own alerts: block
-- ---------------------------------------------------------------------------
SELECT etl.add_alert_route(ARRAY['ops_slack'], ARRAY['pipeline_failure', 'sla_violation'],
                           pipeline_tags => ARRAY['finance']) > 0 AS route_finance;
SELECT etl.add_alert_route(ARRAY['ops_sms'], priorities => ARRAY['critical']) > 0 AS route_critical;
SELECT etl.add_alert_route(ARRAY['no_such_channel']);
\echo :LAST_ERROR_SQLSTATE
SELECT etl.add_alert_route(ARRAY['ops_slack'], ARRAY['meltdown']);
\echo :LAST_ERROR_SQLSTATE

-- ---------------------------------------------------------------------------
-- raise_alert: one open alert per dedup key, with a counter
-- ---------------------------------------------------------------------------
SELECT etl.raise_alert('pipeline_failure', 'high', 'orders failed', 'alert_orders') AS first_alert \gset
SELECT etl.raise_alert('pipeline_failure', 'high', 'orders failed again', 'alert_orders') = :first_alert AS same_alert;
SELECT alert_type, priority, status, message, dedup_key, occurrences
  FROM etl.alerts WHERE alert_id = :first_alert;
-- delivered once (to the finance route), not once per occurrence
SELECT channel, event, status, attempts FROM etl.alert_deliveries WHERE alert_id = :first_alert;
-- a repeat with a more urgent priority raises the alert's priority (routing
-- was decided when the alert opened)
SELECT etl.raise_alert('pipeline_failure', 'critical', 'orders failed a third time', 'alert_orders') = :first_alert AS same_alert;
SELECT priority, occurrences FROM etl.alerts WHERE alert_id = :first_alert;
-- another pipeline (tag dev) does not match the finance route
SELECT etl.raise_alert('pipeline_failure', 'high', 'other failed', 'alert_other') AS other_alert \gset
SELECT count(*) AS other_deliveries FROM etl.alert_deliveries WHERE alert_id = :other_alert;
-- a critical system error goes to the critical route, without a pipeline
SELECT etl.raise_alert('system_error', 'critical', 'disk full', details => '{"free_mb": 3}') AS sys_alert \gset
SELECT a.dedup_key, d.channel, d.payload->>'message' AS message, d.payload->'details' AS details
  FROM etl.alerts a JOIN etl.alert_deliveries d USING (alert_id) WHERE a.alert_id = :sys_alert;
-- an explicit dedup key
SELECT etl.raise_alert('anomaly', 'low', 'revenue spike', 'alert_orders', dedup_key => 'anomaly:alert_orders:revenue') AS a1,
       etl.raise_alert('anomaly', 'low', 'revenue spike', 'alert_orders', dedup_key => 'anomaly:alert_orders:revenue') AS a2 \gset
SELECT :a1 = :a2 AS deduplicated, occurrences FROM etl.alerts WHERE alert_id = :a1;
-- bad calls
SELECT etl.raise_alert('meltdown', 'high', 'x');
\echo :LAST_ERROR_SQLSTATE
SELECT etl.raise_alert('system_error', 'urgent', 'x');
\echo :LAST_ERROR_SQLSTATE
SELECT etl.raise_alert('pipeline_failure', 'high', 'x', 'no_such_pipeline');
\echo :LAST_ERROR_SQLSTATE

-- ---------------------------------------------------------------------------
-- open -> acknowledged -> resolved; history is kept
-- ---------------------------------------------------------------------------
SELECT etl.acknowledge_alert(:first_alert) AS acked, etl.acknowledge_alert(:first_alert) AS acked_again;
SELECT status, acknowledged_by IS NOT NULL AS has_ack_by FROM etl.alerts WHERE alert_id = :first_alert;
-- a repeat while acknowledged still counts on the same alert
SELECT etl.raise_alert('pipeline_failure', 'high', 'still failing', 'alert_orders') = :first_alert AS same_alert;
SELECT etl.resolve_alert(:first_alert) AS resolved, etl.resolve_alert(:first_alert) AS resolved_again,
       etl.resolve_alert(-1) AS resolved_missing;
-- after resolve, the same problem opens a new alert
SELECT etl.raise_alert('pipeline_failure', 'high', 'failing once more', 'alert_orders') <> :first_alert AS new_alert;
SELECT status, occurrences FROM etl.alerts WHERE dedup_key = 'pipeline_failure:alert_orders' ORDER BY alert_id;
SELECT etl.resolve_alert(alert_id) FROM etl.alerts
 WHERE status <> 'resolved' AND alert_id >= :first_alert
   AND (pipeline_id LIKE 'alert\_%' OR alert_id = :sys_alert);  -- this test's alerts only

-- ---------------------------------------------------------------------------
-- etl.on_run_finished: failures count on one alert, a success resolves it
-- ---------------------------------------------------------------------------
INSERT INTO etl.pipeline_runs (pipeline_id, status, started_at, ended_at, error_message, error_sqlstate)
VALUES ('alert_orders', 'failed', now() - interval '2 min', now() - interval '1 min', 'relation "orders" does not exist', '42P01')
RETURNING run_id AS fail1 \gset
SELECT r->>'status' AS status, r->'alerts'->0->>'alert_type' AS raised, r->'sla' AS sla, r->>'resolved' AS resolved
  FROM etl.on_run_finished(:fail1) AS r;
INSERT INTO etl.pipeline_runs (pipeline_id, status, started_at, ended_at, error_message)
VALUES ('alert_orders', 'failed', now() - interval '1 min', now(), 'relation "orders" does not exist')
RETURNING run_id AS fail2 \gset
SELECT (etl.on_run_finished(:fail2)->'alerts'->0->>'alert_id')::bigint AS failure_alert \gset
SELECT status, occurrences, run_id = :fail2 AS latest_run, details->>'error' AS error
  FROM etl.alerts WHERE alert_type = 'pipeline_failure' AND status = 'open' AND pipeline_id LIKE 'alert\_%';
SELECT count(*) AS open_failure_alerts FROM etl.alerts
 WHERE alert_type = 'pipeline_failure' AND status = 'open' AND pipeline_id LIKE 'alert\_%';
-- the payload carries the pipeline, the run's status and its error
SELECT payload->>'pipeline_id' AS pipeline, payload->>'run_status' AS run_status, payload->>'error' AS error
  FROM etl.alert_deliveries WHERE alert_id = :failure_alert;
-- a quality failure is routed by the pipeline's alerts: block (on: quality_failure -> ops_email)
INSERT INTO etl.pipeline_runs (pipeline_id, status, started_at, ended_at, quality_score)
VALUES ('alert_orders', 'quality_failed', now() - interval '1 min', now(), 71.5) RETURNING run_id AS qrun \gset
SELECT etl.on_run_finished(:qrun)->'alerts'->0->>'alert_type' AS raised;
SELECT regexp_replace(a.message, 'run [0-9]+', 'run N') AS message, d.channel FROM etl.alerts a JOIN etl.alert_deliveries d USING (alert_id)
 WHERE a.alert_type = 'quality_failure' AND a.pipeline_id = 'alert_orders';
-- the next successful run resolves both
INSERT INTO etl.pipeline_runs (pipeline_id, status, started_at, ended_at)
VALUES ('alert_orders', 'succeeded', now() - interval '1 min', now()) RETURNING run_id AS ok1 \gset
SELECT (etl.on_run_finished(:ok1))->>'resolved' AS resolved;
SELECT alert_type, status, resolved_by, details->>'resolved_because' = 'run ' || :ok1 || ' succeeded' AS because
  FROM etl.alerts WHERE alert_type IN ('pipeline_failure', 'quality_failure') AND alert_id >= :failure_alert
   AND pipeline_id = 'alert_orders'
 ORDER BY alert_id;
SELECT etl.on_run_finished(-1);
\echo :LAST_ERROR_SQLSTATE

-- performance: a run slower than p95 x factor (default 2) of the previous
-- successful runs (at least 5)
INSERT INTO etl.pipeline_runs (pipeline_id, status, started_at, ended_at)
SELECT 'alert_other', 'succeeded', now() - make_interval(mins => 100 - i), now() - make_interval(mins => 100 - i, secs => -10)
  FROM generate_series(1, 5) i;
INSERT INTO etl.pipeline_runs (pipeline_id, status, started_at, ended_at)
VALUES ('alert_other', 'succeeded', now() - interval '1 min', now()) RETURNING run_id AS slow \gset
SELECT etl.on_run_finished(:slow)->'alerts'->0->>'alert_type' AS raised;
SELECT alert_type, priority, details->>'duration_s' AS duration_s, details->>'p95_s' AS p95_s, details->>'runs' AS runs
  FROM etl.alerts WHERE alert_type = 'performance' AND pipeline_id = 'alert_other';
INSERT INTO etl.pipeline_runs (pipeline_id, status, started_at, ended_at)
VALUES ('alert_other', 'succeeded', now() - interval '9 s', now()) RETURNING run_id AS fast \gset
SELECT etl.on_run_finished(:fast)->>'resolved' AS resolved;
SELECT status FROM etl.alerts WHERE alert_type = 'performance' AND pipeline_id = 'alert_other';

-- ---------------------------------------------------------------------------
-- throttling: at most max deliveries per channel per window
-- ---------------------------------------------------------------------------
SELECT etl.add_alert_channel('quiet_hook', 'webhook',
    '{"url": "http://127.0.0.1:1/quiet", "throttle": {"max": 2, "window_minutes": 10}}');
SELECT etl.add_alert_route(ARRAY['quiet_hook'], ARRAY['anomaly']) > 0 AS route_anomaly;
SELECT etl.raise_alert('anomaly', 'low', 'spike ' || i, dedup_key => 'spike:' || i) > 0 FROM generate_series(1, 3) i;
SELECT d.status, d.last_error FROM etl.alert_deliveries d JOIN etl.alerts a USING (alert_id)
 WHERE d.channel = 'quiet_hook' ORDER BY a.alert_id;

-- ---------------------------------------------------------------------------
-- escalation: still open after_minutes after first seen -> next level
-- ---------------------------------------------------------------------------
SELECT etl.add_escalation_policy('oncall', '[{"after_minutes": 15, "channels": ["ops_sms"]},
                                             {"after_minutes": 60, "channels": ["ops_email"]}]');
SELECT etl.add_escalation_policy('broken', '[{"after_minutes": 15, "channels": ["ops_sms"]},
                                             {"after_minutes": 5, "channels": ["ops_email"]}]');
\echo :LAST_ERROR_SQLSTATE
SELECT etl.add_escalation_policy('broken', '[{"after_minutes": 15, "channels": ["nobody"]}]');
\echo :LAST_ERROR_SQLSTATE
SELECT etl.add_alert_route(ARRAY['ops_hook'], ARRAY['sla_violation'], escalation_policy => 'oncall') > 0 AS route_sla;
SELECT etl.add_alert_route(ARRAY['ops_hook'], escalation_policy => 'nope');
\echo :LAST_ERROR_SQLSTATE
SELECT etl.raise_alert('sla_violation', 'high', 'orders too slow', 'alert_orders') AS sla_alert \gset
SELECT escalation_policy, escalation_level FROM etl.alerts WHERE alert_id = :sla_alert;
SELECT etl.process_escalations() AS escalated_now;
UPDATE etl.alerts SET first_seen_at = now() - interval '20 minutes' WHERE alert_id = :sla_alert;
SELECT etl.process_escalations() AS escalated_after_20_min;
SELECT etl.process_escalations() AS escalated_again;
SELECT escalation_level FROM etl.alerts WHERE alert_id = :sla_alert;
SELECT channel, event, escalation_level, payload->>'event' AS payload_event
  FROM etl.alert_deliveries WHERE alert_id = :sla_alert ORDER BY delivery_id;
-- acknowledging stops the escalation
SELECT etl.acknowledge_alert(:sla_alert);
UPDATE etl.alerts SET first_seen_at = now() - interval '2 hours' WHERE alert_id = :sla_alert;
SELECT etl.process_escalations() AS escalated_when_acknowledged;
-- resolving cancels the escalation not sent yet, and tells the channels that
-- heard of the alert that it is over
SELECT etl.resolve_alert(:sla_alert);
SELECT channel, event, status, last_error FROM etl.alert_deliveries WHERE alert_id = :sla_alert ORDER BY delivery_id;

-- ---------------------------------------------------------------------------
-- etl.deliver_pending: a closed port is a recorded failure with a retry
-- scheduled, never an error; secrets are masked in what is recorded
-- ---------------------------------------------------------------------------
UPDATE etl.alert_deliveries SET status = 'failed' WHERE NOT (channel = 'ops_hook' AND event = 'open') AND status = 'pending';
SELECT etl.deliver_pending(-1);
\echo :LAST_ERROR_SQLSTATE
SELECT etl.deliver_pending() AS attempts;
SELECT etl.deliver_pending() AS attempts_before_retry_is_due;
SELECT d.status, d.attempts, d.next_attempt_at > clock_timestamp() + interval '20 s' AS retry_later,
       split_part(d.last_error, ':', 1) AS error, d.last_error LIKE '%*** port 1%' AS secret_masked,
       d.last_error LIKE '%127.0.0.1%' AS secret_shown
  FROM etl.alert_deliveries d WHERE d.channel = 'ops_hook' AND d.event = 'open' ORDER BY delivery_id;
SELECT a.attempt, a.succeeded, a.http_status, a.latency_ms >= 0 AS has_latency
  FROM etl.alert_delivery_attempts a JOIN etl.alert_deliveries d USING (delivery_id)
 WHERE d.channel = 'ops_hook' ORDER BY a.attempt_id;
-- the second (last) attempt fails the delivery for good
UPDATE etl.alert_deliveries SET next_attempt_at = now() WHERE channel = 'ops_hook';
SELECT etl.deliver_pending() AS attempts;
SELECT status, attempts FROM etl.alert_deliveries WHERE channel = 'ops_hook' AND event = 'open' ORDER BY delivery_id;
-- a row whose channel config cannot be rendered (changed behind the
-- functions' back) is a recorded failure, not an error that stalls the outbox
UPDATE etl.alert_channels SET config = config || '{"max_length": "short"}' WHERE name = 'ops_sms';
UPDATE etl.alert_deliveries SET status = 'pending', next_attempt_at = now()
 WHERE channel = 'ops_sms' AND event = 'escalation';
SELECT etl.deliver_pending() AS attempts;
SELECT status, attempts, last_error FROM etl.alert_deliveries WHERE channel = 'ops_sms' AND event = 'escalation';
UPDATE etl.alert_channels SET config = config - 'max_length' WHERE name = 'ops_sms';
-- a test notification through one channel: sent now, nothing recorded
SELECT count(*) AS attempts_before FROM etl.alert_delivery_attempts \gset
SELECT r->>'ok' AS ok, split_part(r->>'error', ':', 1) AS error, r ? 'latency_ms' AS has_latency
  FROM etl.test_alert_channel('ops_slack') AS r;
SELECT count(*) = :attempts_before AS nothing_recorded FROM etl.alert_delivery_attempts;
SELECT etl.test_alert_channel('no_such_channel');
\echo :LAST_ERROR_SQLSTATE
-- nothing recorded anywhere carries a secret
SELECT count(*) AS rows_with_secrets FROM (
    SELECT payload::text || COALESCE(last_error, '') AS t FROM etl.alert_deliveries
    UNION ALL SELECT COALESCE(error, '') || COALESCE(response, '') FROM etl.alert_delivery_attempts
    UNION ALL SELECT COALESCE(after::text, '') FROM etl.audit_log) x
 WHERE t ~ '(slack-token-1|mail-pass-2|twilio-token-3)';

-- what a delivery sends (rendered, never stored): Slack blocks, SMS form body
SELECT jsonb_path_query_array((etl._render_alert_delivery('slack', c.config || etl._open_alert_secrets(c.secrets), d.payload)->>'body')::jsonb,
                              '$.blocks[*].type') AS slack_blocks,
       (etl._render_alert_delivery('slack', c.config || etl._open_alert_secrets(c.secrets), d.payload)->>'body')::jsonb->>'channel' AS slack_channel
  FROM etl.alert_deliveries d, etl.alert_channels c
 WHERE d.alert_id = :failure_alert AND d.event = 'open' AND c.name = 'ops_slack';
SELECT etl._render_alert_delivery('sms', c.config || etl._open_alert_secrets(c.secrets),
           '{"priority": "high", "alert_type": "pipeline_failure", "pipeline_id": "orders", "message": "orders failed", "run_id": 7}')
           - ARRAY['url', 'password'] AS sms
  FROM etl.alert_channels c WHERE c.name = 'ops_sms';

-- the webhook signature: HMAC-SHA256 (RFC 4231 test case 2)
SELECT etl.hmac_sha256_hex('Jefe', 'what do ya want for nothing?');

-- dropping a channel
SELECT etl.drop_alert_channel('quiet_hook') AS dropped, etl.drop_alert_channel('quiet_hook') AS dropped_again;

ROLLBACK;
