-- 87_http_auth_targets: every auth type of the HTTP connectors (basic,
-- bearer, api_key in a header or the query, OAuth2 client credentials with
-- its token cache and one refresh on 401), secrets kept out of errors,
-- SOAP sources (XPath with namespaces, XML-escaped templates, faults), and
-- HTTP targets (batches as a JSON array or NDJSON, an Idempotency-Key per
-- batch, retries, a per-batch result in the run summary and step_runs, a
-- failing batch reported with what was already delivered).  Against the
-- loopback fixtures of test/harness/http/httpfix.py, as a plain role, with
-- the role's own credentials (etl.add_credential).
\set VERBOSITY default
\set SHOW_CONTEXT never
\pset pager off
SET client_min_messages = warning;
\getenv url METAETL_HTTPFIX_URL
SELECT set_config('ha.url', :'url', false) IS NOT NULL AS have_url;

CREATE SCHEMA ha;
CREATE ROLE ha_user LOGIN;
GRANT USAGE, CREATE ON SCHEMA ha TO ha_user;
CREATE FUNCTION ha.err(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE s text; m text; d text; h text;
BEGIN
  EXECUTE q;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS s = RETURNED_SQLSTATE, m = MESSAGE_TEXT, d = PG_EXCEPTION_DETAIL, h = PG_EXCEPTION_HINT;
  RETURN replace(s || ': ' || m || coalesce(E'\n  detail: ' || nullif(d, ''), '')
                 || coalesce(E'\n  hint: ' || nullif(h, ''), ''), current_setting('ha.url'), '$URL');
END $$;
CREATE FUNCTION ha.run(conn text, src jsonb, tbl text, params jsonb DEFAULT '{}') RETURNS bigint LANGUAGE sql AS $$
  SELECT (etl.execute_plan(jsonb_build_object('pipeline', jsonb_build_object('id', 'ha',
            'sources', jsonb_build_array(jsonb_build_object('id', 's', 'type', 'http', 'connection', conn) || src),
            'targets', jsonb_build_array(jsonb_build_object('id', 't', 'table', 'ha.' || tbl)))), params)
          ->> 'rows_written')::bigint $$;
GRANT EXECUTE ON FUNCTION ha.err(text), ha.run(text, jsonb, text, jsonb) TO ha_user;

SET ROLE ha_user;
SELECT etl.add_credential('ha_secret', '{"user": "alice", "password": "s3cret-pw", "token": "tok-1234567890",
  "key": "key-abcdef123", "client_id": "cid-etl", "client_secret": "csecret-789xyz"}');
SELECT etl.add_credential('ha_wrong', '{"user": "alice", "password": "wrong-pw-1", "token": "tok-wrong-99",
  "key": "key-wrong-77", "client_id": "cid-etl", "client_secret": "csecret-wrong"}');
SELECT etl.add_connection('ha_api', 'http', jsonb_build_object('base_url', :'url', 'allow_private', true,
         'retry', '{"initial_delay_s": 0.05, "max_delay_s": 0.2}'::jsonb), 'ha_secret');
SELECT etl.add_connection('ha_bad', 'http', jsonb_build_object('base_url', :'url', 'allow_private', true), 'ha_wrong');
SELECT etl.add_connection('ha_none', 'http', jsonb_build_object('base_url', :'url', 'allow_private', true));
-- the auth of a connection (options.auth), here per source
SELECT etl.add_connection('ha_oauth', 'http', jsonb_build_object('base_url', :'url', 'allow_private', true,
         'auth', '{"type": "oauth2_client_credentials", "token_url": "/oauth/token", "scope": "read"}'::jsonb), 'ha_secret');
-- a secret in the options is refused: it belongs in the credential
SELECT ha.err($$SELECT etl.add_connection('ha_leak', 'http', '{"base_url": "http://127.0.0.1", "auth": {"type": "bearer", "token": "tok-1"}}')$$);

-- ---------------------------------------------------------------- auth types
SELECT ha.run('ha_api', '{"path": "/auth/basic", "auth": {"type": "basic"}}', 'basic');
SELECT ha.run('ha_api', '{"path": "/auth/bearer", "auth": {"type": "bearer"}}', 'bearer');
SELECT ha.run('ha_api', '{"path": "/auth/key-header", "auth": {"type": "api_key", "header": "X-API-Key"}}', 'key_header');
SELECT ha.run('ha_api', '{"path": "/auth/key-query", "params": {"other": "x y"}, "auth": {"type": "api_key", "query": "api_key"}}', 'key_query');
SELECT * FROM ha.basic UNION ALL SELECT * FROM ha.bearer UNION ALL SELECT * FROM ha.key_header ORDER BY auth;
SELECT * FROM ha.key_query;
-- OAuth2: a token is fetched once and cached; this server honours a token for 2 requests,
-- then answers 401, and a 401 is met with one fresh token (pages sent concurrently with
-- the revoked one all retry with that fresh token): 2 tokens for 4 pages
SELECT ha.run('ha_oauth', '{"path": "/auth/oauth", "params": {"uses": "2", "pages": "4"}, "records": "$.data[*]",
                            "pagination": {"type": "page", "total_pages_path": "$.total_pages"}}', 'oauth');
SELECT count(*) AS pages, count(DISTINCT token_no) AS tokens_used FROM ha.oauth;
-- the next run reuses the cached token (no new one) while the server still takes it
SELECT max(token_no) AS last_token FROM ha.oauth \gset
SELECT ha.run('ha_oauth', '{"path": "/auth/oauth", "params": {"uses": "1000"}, "records": "$.data[*]"}', 'oauth2');
SELECT token_no = :last_token AS reused_cached_token FROM ha.oauth2;

-- wrong secrets: 401 with the hint, and nothing of the secret in the message,
-- though this server echoes what it received (the basic header is base64 of user:password)
SELECT ha.err($$SELECT ha.run('ha_bad', '{"path": "/auth/basic", "auth": {"type": "basic"}}', 'x')$$);
SELECT ha.err($$SELECT ha.run('ha_bad', '{"path": "/auth/bearer", "auth": {"type": "bearer"}}', 'x')$$);
SELECT ha.err($$SELECT ha.run('ha_bad', '{"path": "/auth/key-query", "auth": {"type": "api_key", "query": "api_key"}}', 'x')$$);
SELECT ha.err($$SELECT ha.run('ha_bad', '{"path": "/auth/oauth", "auth": {"type": "oauth2_client_credentials", "token_url": "/oauth/token"}}', 'x')$$);
-- an auth type without its credential field, and without a credential at all
SELECT ha.err($$SELECT ha.run('ha_none', '{"path": "/auth/bearer", "auth": {"type": "bearer"}}', 'x')$$);
SELECT ha.err($$SELECT ha.run('ha_api', '{"path": "/auth/bearer", "auth": {"type": "kerberos"}}', 'x')$$);
-- credentials go to the connection's own origin only: not to a redirect elsewhere
SELECT etl.add_connection('ha_two', 'http', jsonb_build_object('base_url', :'url', 'allow_private', true,
         'allowed_hosts', jsonb_build_array('127.0.0.1', 'localhost')), 'ha_secret');
SELECT ha.run('ha_two', jsonb_build_object('path', '/redirect', 'params', jsonb_build_object('to',
         replace(:'url', '127.0.0.1', 'localhost') || '/echo'), 'auth', '{"type": "bearer"}'::jsonb), 'elsewhere');
SELECT path, "authorization" FROM ha.elsewhere;

-- ---------------------------------------------------------------- SOAP
CREATE FUNCTION ha.soap(region text, tbl text, extra jsonb DEFAULT '{}') RETURNS bigint LANGUAGE sql AS $$
  SELECT (etl.execute_plan(jsonb_build_object('pipeline', jsonb_build_object('id', 'ha_soap',
    'sources', jsonb_build_array(jsonb_build_object('id', 'legacy', 'type', 'soap', 'connection', 'ha_api',
        'path', '/soap', 'action', 'urn:GetCustomers',
        'envelope', '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:c="urn:erp">'
                    '<soapenv:Body><c:GetCustomers><c:Region>{{param.region}}</c:Region></c:GetCustomers></soapenv:Body></soapenv:Envelope>',
        'records_xpath', '//c:Customer', 'namespaces', '{"c": "urn:erp"}'::jsonb,
        'columns', '{"id": "c:Id/text()", "name": "c:Name/text()", "missing": "c:Nope/text()"}'::jsonb,
        'types', '{"id": "int"}'::jsonb) || extra),
    'targets', jsonb_build_array(jsonb_build_object('id', 't', 'table', 'ha.' || tbl)))),
    jsonb_build_object('region', region)) ->> 'rows_written')::bigint $$;
SELECT ha.soap('north', 'customers');
SELECT id, name, missing IS NULL AS missing_is_null FROM ha.customers ORDER BY id;
SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute
 WHERE attrelid = 'ha.customers'::regclass AND attnum > 0 ORDER BY attnum;
-- a parameter is XML-escaped into the envelope: it cannot add elements
SELECT ha.soap('south</c:Region><c:Region>north', 'escaped');
-- a SOAP fault fails at once (not retried as a 500) with its faultstring
SELECT ha.err($$SELECT ha.soap('FAIL', 'x')$$);
-- an XPath error
SELECT ha.err($$SELECT ha.soap('north', 'x', '{"records_xpath": "//c:Customer["}')$$);
-- a namespace prefix nobody declared
SELECT ha.err($$SELECT ha.soap('north', 'x', '{"records_xpath": "//z:Customer"}')$$);

-- ---------------------------------------------------------------- HTTP targets
CREATE TABLE ha.contacts AS SELECT g AS id, 'contact ' || g AS name, g * 10 AS score FROM generate_series(1, 7) g;
CREATE FUNCTION ha.push(path text, extra jsonb DEFAULT '{}') RETURNS jsonb LANGUAGE sql AS $$
  SELECT etl.execute_plan(jsonb_build_object('pipeline', jsonb_build_object('id', 'ha_push',
    'sources', '[{"id": "c", "type": "postgresql", "query": "SELECT * FROM ha.contacts ORDER BY id"}]'::jsonb,
    'targets', jsonb_build_array(jsonb_build_object('id', 'push', 'type', 'http', 'connection', 'ha_api',
        'path', path, 'batch_size', 3) || extra)))) -> 'targets' -> 0 $$;
-- JSON arrays of 3, 3 and 1 rows; the server fails the batch holding id 4 once: retried with the same key
SELECT t->>'rows' AS rows, replace(t->>'table', current_setting('ha.url'), '$URL') AS endpoint, t->'retries' AS retries,
       (SELECT jsonb_agg(b - 'ms' - 'idempotency_key' ORDER BY (b->>'batch')::int) FROM jsonb_array_elements(t->'batches') b) AS batches
  FROM ha.push('/receive?key=ha-json&fail_batch=4') t;
SELECT ha.run('ha_api', '{"path": "/receive/log", "params": {"key": "ha-json"}}', 'received');
-- (batches travel concurrently, so the server's arrival order is not the batch order)
SELECT first_id, last_id, rows, status, attempt, content_type,
       length(idempotency_key) AS key_len,
       count(*) OVER (PARTITION BY idempotency_key) AS sends_of_this_key
  FROM ha.received ORDER BY first_id, attempt;
-- NDJSON, PUT, its own header name
SELECT t->>'rows' AS rows, replace(t->>'table', current_setting('ha.url'), '$URL') AS endpoint FROM ha.push('/receive?key=ha-nd', '{"format": "ndjson", "method": "PUT", "idempotency_header": "Idempotency-Key"}') t;
SELECT ha.run('ha_api', '{"path": "/receive/log", "params": {"key": "ha-nd"}}', 'received_nd');
SELECT first_id, rows, method, content_type FROM ha.received_nd ORDER BY first_id;
-- the same rows in the same run send the same keys again (a server that honours them applies each batch once)
SELECT (SELECT array_agg(idempotency_key ORDER BY idempotency_key) FROM ha.received_nd) =
       (SELECT array_agg(b->>'idempotency_key' ORDER BY b->>'idempotency_key')
          FROM jsonb_array_elements(ha.push('/receive?key=ha-nd2', '{"format": "ndjson", "method": "PUT"}')->'batches') b) AS same_keys;
-- a batch that keeps failing: the error says what the server already has
SELECT regexp_replace(ha.err($$SELECT ha.push('/receive?key=ha-down&always_fail=5')$$), '[0-9a-f]{32}', '<key>') AS err;
-- through a run (in a background worker): the batches are in the target's step_runs row
-- (a connection without credential: the stand-in's session setting does not reach the worker)
RESET ROLE;
GRANT SELECT ON ha.contacts TO ha_user;
SET ROLE ha_user;
SELECT etl.register_pipeline(format($$
pipeline:
  id: ha_push_run
  sources: [{id: c, type: postgresql, query: "SELECT * FROM ha.contacts ORDER BY id"}]
  targets: [{id: push, type: http, connection: ha_none, path: "/receive?key=ha-run", batch_size: 4, format: json}]
$$));
SELECT r ->> 'status' AS status, r -> 'error' ->> 'message' AS error FROM etl.execute_pipeline('ha_push_run') r;
SELECT s.step_id, s.kind, s.rows, jsonb_array_length(s.details->'batches') AS batches,
       (SELECT array_agg((b->>'rows')::int ORDER BY (b->>'batch')::int) FROM jsonb_array_elements(s.details->'batches') b) AS rows_per_batch
  FROM etl.step_runs s JOIN etl.pipeline_runs r USING (run_id)
 WHERE r.pipeline_id = 'ha_push_run' AND s.kind = 'target';
SELECT etl.drop_pipeline('ha_push_run');
RESET ROLE;

SET client_min_messages = warning;
DROP SCHEMA ha CASCADE;
DELETE FROM etl.data_sources WHERE owner = 'ha_user';
DELETE FROM etl.data_targets WHERE owner = 'ha_user';
DELETE FROM etl.credentials WHERE name IN ('ha_secret', 'ha_wrong');
DELETE FROM etl.access_log WHERE db_role = 'ha_user';
DROP ROLE ha_user;
