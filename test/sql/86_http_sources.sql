-- 86_http_sources: REST sources (type http / rest) against the loopback
-- fixtures of test/harness/http/httpfix.py: every pagination style (the
-- page and offset ones with a known page count fetched concurrently),
-- inferred and declared columns, templates in path, params, headers and
-- bodies, retries (500 then 200, 429 with Retry-After), timeouts, the
-- response size cap, the SSRF guard (allowed_hosts, metadata and
-- link-local addresses, a name resolving to a loopback address, redirects),
-- errors naming the page and record, a failed page leaving the target
-- as it was, and the one-pass JSON reader agreeing with the jsonb path.
-- Run as a plain role.  URLs print as $URL (the port varies).
\set VERBOSITY default
\set SHOW_CONTEXT never
\pset pager off
SET client_min_messages = warning;
\getenv url METAETL_HTTPFIX_URL
\getenv port METAETL_HTTPFIX_PORT
SELECT set_config('hs.url', :'url', false) IS NOT NULL AS have_url;

CREATE SCHEMA hs;
CREATE ROLE hs_user;
GRANT USAGE, CREATE ON SCHEMA hs TO hs_user;

-- the error of a statement: SQLSTATE, message, detail, hint, first context line
CREATE FUNCTION hs.err(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE s text; m text; d text; h text; c text;
BEGIN
  EXECUTE q;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS s = RETURNED_SQLSTATE, m = MESSAGE_TEXT, d = PG_EXCEPTION_DETAIL,
                          h = PG_EXCEPTION_HINT, c = PG_EXCEPTION_CONTEXT;
  c := split_part(c, E'\n', 1);
  RETURN replace(s || ': ' || m || coalesce(E'\n  detail: ' || nullif(d, ''), '')
                 || coalesce(E'\n  hint: ' || nullif(h, ''), '')
                 || CASE WHEN c LIKE 'source%' THEN E'\n  context: ' || c ELSE '' END,
                 current_setting('hs.url'), '$URL');
END $$;
-- one http source into table tbl through etl.execute_plan; rows written
CREATE FUNCTION hs.run(src jsonb, tbl text, params jsonb DEFAULT '{}') RETURNS bigint LANGUAGE sql AS $$
  SELECT (etl.execute_plan(jsonb_build_object('pipeline', jsonb_build_object('id', 'hs',
            'sources', jsonb_build_array('{"id": "s", "type": "http", "connection": "hs_fix"}'::jsonb || src),
            'targets', jsonb_build_array(jsonb_build_object('id', 't', 'table', 'hs.' || tbl)))), params)
          ->> 'rows_written')::bigint $$;
GRANT EXECUTE ON FUNCTION hs.err(text), hs.run(jsonb, text, jsonb) TO hs_user;

SET ROLE hs_user;
-- a loopback fixture needs allow_private (loopback counts as private); fast retries for the tests
SELECT etl.add_connection('hs_fix', 'http', jsonb_build_object('base_url', :'url', 'allow_private', true,
         'retry', '{"initial_delay_s": 0.05, "max_delay_s": 0.2}'::jsonb, 'max_parallel', 4));

-- ---------------------------------------------------------------- pagination
-- page: total_pages in the first page, so pages 2..3 are fetched concurrently
SELECT hs.run('{"path": "/items", "records": "$.data[*]",
                "pagination": {"type": "page", "size_param": "per_page", "size": 10, "total_pages_path": "$.total_pages"}}', 'by_page');
SELECT count(*), count(DISTINCT id), min(id), max(id) FROM hs.by_page;
SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute
 WHERE attrelid = 'hs.by_page'::regclass AND attnum > 0 ORDER BY attnum;
SELECT * FROM hs.by_page WHERE id IN (1, 25) ORDER BY id;
-- page without a total: one after the other until a short page
SELECT hs.run('{"path": "/items", "params": {"no_total": "1"}, "records": "$.data[*]",
                "pagination": {"type": "page", "size_param": "per_page", "size": 10}}', 'by_page_seq');
-- a fixed page count (max_pages) is fetched concurrently too; empty pages past the end are fine
SELECT hs.run('{"path": "/items", "params": {"no_total": "1", "per_page": "7"}, "records": "$.data[*]",
                "pagination": {"type": "page", "max_pages": 6}}', 'by_page_max');
-- offset / limit with the record total
SELECT hs.run('{"path": "/offset", "records": "$.items[*]",
                "pagination": {"type": "offset", "limit": 10, "total_path": "$.total"}}', 'by_offset');
-- cursor from the body
SELECT hs.run('{"path": "/cursor", "records": "$.results[*]",
                "pagination": {"type": "cursor", "cursor_path": "$.next", "param": "cursor"}}', 'by_cursor');
-- Link: <...>; rel="next" (a bare JSON array per page: records defaults to $[*])
SELECT hs.run('{"path": "/link", "pagination": {"type": "link_header"}}', 'by_link');
-- a next URL in the body, relative on page 1 and absolute on page 2
SELECT hs.run('{"path": "/next", "records": "$.data[*]",
                "pagination": {"type": "next_url", "next_url_path": "$.links.next"}}', 'by_next');
SELECT (SELECT count(DISTINCT id) FROM hs.by_page_seq) AS page_seq, (SELECT count(DISTINCT id) FROM hs.by_page_max) AS page_max,
       (SELECT count(DISTINCT id) FROM hs.by_offset) AS "offset", (SELECT count(DISTINCT id) FROM hs.by_cursor) AS cursor,
       (SELECT count(DISTINCT id) FROM hs.by_link) AS link, (SELECT count(DISTINCT id) FROM hs.by_next) AS next_url;
-- rows keep page order whatever order the concurrent pages arrived in
SELECT bool_and(id = n) AS in_page_order FROM (SELECT id, row_number() OVER () AS n FROM hs.by_offset) o;

-- declared columns (a subset, typed) and the rest dropped; alias rest
SELECT (etl.execute_plan('{"pipeline": {"id": "hs", "sources": [{"id": "s", "type": "rest", "connection": "hs_fix",
          "path": "/items", "records": "$.data[*] ? (@.active == true)",
          "columns": {"id": "int", "price": "numeric(8,2)", "created_at": "timestamptz"},
          "pagination": {"type": "page", "total_pages_path": "$.total_pages", "size_param": "per_page", "size": 10}}],
        "targets": [{"id": "t", "table": "hs.declared"}]}}') ->> 'rows_written')::int AS active_rows;
SELECT * FROM hs.declared ORDER BY id LIMIT 3;

-- ---------------------------------------------------------------- templates
-- path and params URL-encoded, header and JSON body escaped for where they stand
SELECT hs.run('{"path": "/echo", "method": "POST",
                "params": {"since": "{{last_run}}", "q": "{{param.q}}", "fixed": "a b"},
                "headers": {"X-Team": "{{param.team}}"},
                "body": {"region": "{{param.region}}", "n": 2}}', 'echo',
              '{"q": "x&y=z/?", "team": "data eng", "region": "Nord \"Ost\""}');
SELECT method, path, query, body, content_type, x_team, user_agent LIKE 'metaetl/%' AS ua FROM hs.echo;

-- ---------------------------------------------------------------- errors
-- a value of the wrong type names the page, the record and the column
SELECT hs.err($$SELECT hs.run('{"path": "/typed", "records": "$.data[*]", "columns": {"id": "int", "amount": "numeric"},
                               "pagination": {"type": "page", "total_pages_path": "$.total_pages"}}', 'typed')$$);
-- not JSON
SELECT hs.err($$SELECT hs.run('{"path": "/notjson"}', 'notjson')$$);
-- records selecting something that is not an object
SELECT hs.err($$SELECT hs.run('{"path": "/items", "records": "$.data[*].id"}', 'ids')$$);
-- 404 is not retried
SELECT hs.err($$SELECT hs.run('{"path": "/nowhere"}', 'nowhere')$$);
-- 500 then 200: retried (the record says which attempt answered)
SELECT hs.run('{"path": "/flaky", "params": {"key": "hs-500", "fail": "2"}}', 'flaky500');
SELECT attempt FROM hs.flaky500;
-- 500 every time: bounded by retry.max_attempts (4)
SELECT hs.err($$SELECT hs.run('{"path": "/flaky", "params": {"key": "hs-500x", "fail": "99"}}', 'x')$$);
-- 429 with Retry-After: 1 is waited for (at least 1 s, though the backoff says 0.05 s)
SELECT clock_timestamp() AS t0 \gset
SELECT hs.run('{"path": "/flaky", "params": {"key": "hs-429", "fail": "1", "status": "429", "retry_after": "1"}}', 'flaky429');
SELECT attempt, clock_timestamp() - :'t0'::timestamptz >= interval '1 s' AS waited_retry_after FROM hs.flaky429;
-- a Retry-After beyond retry.max_total_s fails at once
SELECT etl.add_connection('hs_short', 'http', jsonb_build_object('base_url', :'url', 'allow_private', true,
         'retry', '{"max_total_s": 2}'::jsonb, 'timeout_s', 0.5, 'max_bytes', 100000));
SELECT hs.err($$SELECT hs.run('{"connection": "hs_short", "path": "/flaky", "params": {"key": "hs-429b", "fail": "1", "status": "429", "retry_after": "30"}}', 'x')$$);
-- a slow server: timeout_s per attempt (0.5 s), retried, then the error
SELECT hs.err($$SELECT hs.run('{"connection": "hs_short", "path": "/slow", "params": {"ms": "800"}}', 'x')$$);
-- an oversized body: refused from its Content-Length, and cut off while reading when chunked
SELECT hs.err($$SELECT hs.run('{"connection": "hs_short", "path": "/big", "params": {"bytes": "200000"}}', 'x')$$);
SELECT hs.err($$SELECT hs.run('{"connection": "hs_short", "path": "/big", "params": {"bytes": "400000", "chunked": "1"}}', 'x')$$);

-- a failed page leaves the target as it was
CREATE TABLE hs.kept (id int, amount numeric);
INSERT INTO hs.kept VALUES (42, 4.2);
SELECT hs.err($$SELECT hs.run('{"path": "/typed", "records": "$.data[*]", "columns": {"id": "int", "amount": "numeric"},
                               "pagination": {"type": "page", "total_pages_path": "$.total_pages"}}', 'kept')$$);
SELECT * FROM hs.kept;

-- ---------------------------------------------------------------- SSRF guard
-- no allowed_hosts: only loopback hosts
SELECT etl.add_connection('hs_ext', 'http', '{"base_url": "http://example.com/api"}');
SELECT hs.err($$SELECT hs.run('{"connection": "hs_ext", "path": "/x"}', 'x')$$);
-- cloud metadata and link-local addresses are refused even when listed and private ones are allowed
SELECT etl.add_connection('hs_meta', 'http', jsonb_build_object('base_url', :'url', 'allow_private', true,
         'allowed_hosts', '["127.0.0.1", "169.254.169.254", "[fd00:ec2::254]", "169.254.10.1"]'::jsonb));
SELECT hs.err($$SELECT hs.run('{"connection": "hs_meta", "path": "http://169.254.169.254/latest/meta-data/"}', 'x')$$);
SELECT hs.err($$SELECT hs.run('{"connection": "hs_meta", "path": "http://[fd00:ec2::254]/latest/meta-data/"}', 'x')$$);
SELECT hs.err($$SELECT hs.run('{"connection": "hs_meta", "path": "http://169.254.10.1/"}', 'x')$$);
-- a DNS name resolving to a private address: "localhost" (from /etc/hosts, 127.0.0.1) is allowed
-- by allowed_hosts but, without allow_private, the socket check refuses the address it resolved to
SELECT etl.add_connection('hs_byname', 'http', jsonb_build_object('base_url', 'http://localhost:' || :'port', 'allowed_hosts', '["localhost"]'::jsonb));
SELECT regexp_replace(hs.err($$SELECT hs.run('{"connection": "hs_byname", "path": "/items"}', 'x')$$),
                      'localhost:\d+/items \(page 1\) failed: refused to connect to (::1|127\.0\.0\.1),',
                      'localhost:$PORT/items (page 1) failed: refused to connect to <::1 or 127.0.0.1>,') AS err;
-- redirects are followed by the connector and checked again: to a host not allowed ...
SELECT hs.err($$SELECT hs.run('{"path": "/redirect", "params": {"to": "http://169.254.169.254/latest/meta-data/"}}', 'x')$$);
-- ... and to allowed hosts whose addresses are metadata ones
SELECT etl.add_connection('hs_redir', 'http', jsonb_build_object('base_url', :'url', 'allow_private', true,
         'allowed_hosts', '["127.0.0.1", "169.254.169.254", "fd00:ec2::254"]'::jsonb));
SELECT hs.err($$SELECT hs.run('{"connection": "hs_redir", "path": "/redirect", "params": {"to": "http://169.254.169.254/latest/meta-data/"}}', 'x')$$);
SELECT hs.err($$SELECT hs.run('{"connection": "hs_redir", "path": "/redirect", "params": {"to": "http://[fd00:ec2::254]/"}}', 'x')$$);
-- a redirect within the allowed hosts is followed
SELECT hs.run('{"connection": "hs_redir", "path": "/redirect", "params": {"to": "/echo?via=redirect"}}', 'redirected');
SELECT path, query FROM hs.redirected;
-- no user:password in URLs; ca_file needs pg_read_server_files
SELECT etl.add_connection('hs_userinfo', 'http', jsonb_build_object('base_url', replace(:'url', 'http://', 'http://bob@')));
SELECT hs.err($$SELECT hs.run('{"connection": "hs_userinfo", "path": "/items"}', 'x')$$);
SELECT etl.add_connection('hs_cafile', 'http', jsonb_build_object('base_url', :'url', 'allow_private', true, 'ca_file', '/etc/ssl/certs/ca-certificates.crt'));
SELECT hs.err($$SELECT hs.run('{"connection": "hs_cafile", "path": "/items"}', 'x')$$);

-- ---------------------------------------------------------------- validation
SELECT etl.add_connection('hs_bad', 'http', '{"base_url": "http://x", "max_paralel": 4, "allow_private": "yes please"}');
SELECT severity, path, message FROM etl.validate_config($$
pipeline:
  id: hs_bad
  sources:
    - {id: a, type: http, path: /x}
    - {id: b, type: http, connection: hs_fix, records: "$.data[", pagination: {type: cursor}}
    - {id: c, type: http, connection: hs_fix, format: csv, records: "$.data[*]", pagination: {type: next_url, next_url_path: "$.next"}}
    - {id: d, type: http, connection: hs_fix, pagination: {type: pages, sise: 10}}
    - {id: e, type: http, connection: hs_fix, method: DELETE}
    - {id: f, type: soap, connection: hs_fix, envelope: "<x/>", records_xpath: "//r", columns: {id: 1}, types: {nope: int}}
  targets:
    - {id: t, type: http, connection: hs_fix, format: csv, batch_size: -1}
$$) ORDER BY path, message;

-- ---------------------------------------------------------------- one-pass JSON reader
-- With plain key paths ("$.data[*]", "$.meta.next") a page is read in one pass by
-- PostgreSQL's JSON parser, without building its jsonb; whatever that pass cannot
-- read exactly (an exponent, a duplicate key on a path, lax mode's unwrapping) goes
-- the jsonb way.  Either way the rows are the jsonb path's: each body below (sent
-- back by /raw) read through "$.data[*]" and through "$.data[0 to last]" (always
-- the jsonb path) gives the same table.
CREATE TABLE hs.bodies (name text PRIMARY KEY, body text);
INSERT INTO hs.bodies VALUES
  ('plain', $b${"data": [
     {"id": 1, "n": 12.50, "neg": -0, "t": "caf\u00e9 \"q\" \\ end", "j": {"b": 2, "a": [1, 2.50]},
      "jt": {"z": 1, "a": null}, "js": "x", "b": true, "x": "not a column"},
     {"id": 2, "n": -0.5, "neg": -0.25, "t": 12.30, "j": "s", "jt": [3, {"k": "v"} ],
      "js": {"k": [1, "\u0041"]}, "b": false, "id": 3, "n": 7},
     {"t": null, "j": null, "jt": 7, "js": null, "b": null},
     {"id": 4, "j": 0.10, "jt": true, "js": 1.0}
   ], "meta": {"next": null, "other": [1, 2]}, "data2": {"data": []} }$b$),
  ('exponent', $b${"data": [{"id": 1, "n": 1e2, "t": 2.5E-3, "neg": -0, "jt": [1E1]}]}$b$),
  ('dupkey', $b${"data": [{"id": 1}], "data": [{"id": 2}, {"id": 5}]}$b$),
  ('lax', $b${"data": {"id": 9, "t": "one object"} }$b$),
  ('empty', $b${"data": [], "meta": 1}$b$),
  ('nokey', $b${"other": [{"id": 1}]}$b$);
CREATE FUNCTION hs.read_body(name text, records text) RETURNS bigint LANGUAGE sql AS $$
  SELECT hs.run(jsonb_build_object('path', '/raw', 'method', 'POST', 'records', records,
           'body', (SELECT body FROM hs.bodies b WHERE b.name = read_body.name),
           'columns', '{"id": "bigint", "n": "numeric", "neg": "text", "t": "text", "j": "jsonb",
                        "jt": "text", "js": "json", "b": "boolean"}'::jsonb),
         'body_' || name || CASE WHEN records = '$.data[*]' THEN '_fast' ELSE '_jsonb' END) $$;
-- rows differing between the two readers (both ways)
CREATE FUNCTION hs.differ(name text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
  EXECUTE format('SELECT count(*) FROM ((SELECT row_to_json(fr)::text FROM hs.%1$I fr EXCEPT ALL SELECT row_to_json(jr)::text FROM hs.%2$I jr)
                  UNION ALL (SELECT row_to_json(jr)::text FROM hs.%2$I jr EXCEPT ALL SELECT row_to_json(fr)::text FROM hs.%1$I fr)) d',
                 'body_' || name || '_fast', 'body_' || name || '_jsonb') INTO n;
  RETURN n;
END $$;
SELECT name, hs.read_body(name, '$.data[*]') AS one_pass, hs.read_body(name, '$.data[0 to last]') AS jsonb_path,
       hs.differ(name) AS differ
  FROM hs.bodies ORDER BY name;
SELECT * FROM hs.body_plain_fast ORDER BY id NULLS LAST;
SELECT * FROM hs.body_exponent_fast;
SELECT id FROM hs.body_dupkey_fast ORDER BY id;
SELECT id, t FROM hs.body_lax_fast;
-- the errors are the jsonb path's: a record that is not an object, a value that does
-- not fit its column (page and record named), a body that is not JSON
SELECT hs.err($$SELECT hs.run('{"path": "/raw", "method": "POST", "records": "$.data[*]", "columns": {"id": "bigint"},
                               "body": "{\"data\": [{\"id\": 1}, 5]}"}', 'x')$$);
SELECT hs.err($$SELECT hs.run('{"path": "/raw", "method": "POST", "records": "$.data[*]", "columns": {"id": "bigint"},
                               "body": "{\"data\": [{\"id\": 1}, {\"id\": \"x1\"}]}"}', 'x')$$);
SELECT hs.err($$SELECT hs.run('{"path": "/raw", "method": "POST", "records": "$.data[*]", "columns": {"id": "bigint"},
                               "body": "{\"data\": [{\"id\": 1}, "}', 'x')$$);
-- a body that is not valid UTF-8 (JSON is UTF-8, RFC 8259) is refused by either
-- reader before any of it reaches a column, and no target is made
SELECT hs.err($$SELECT hs.run('{"path": "/latin1", "records": "$.data[*]", "columns": {"id": "bigint", "name": "text"}}', 'latin1')$$);
SELECT hs.err($$SELECT hs.run('{"path": "/latin1", "records": "$.data[0 to last]", "columns": {"id": "bigint", "name": "text"}}', 'latin1')$$);
SELECT hs.err($$SELECT hs.run('{"path": "/latin1", "records": "$.data[*]"}', 'latin1')$$);
SELECT to_regclass('hs.latin1') IS NULL AS no_target;
RESET ROLE;

RESET client_min_messages;
SET client_min_messages = warning;
DROP SCHEMA hs CASCADE;
DELETE FROM etl.data_sources WHERE owner = 'hs_user';
DELETE FROM etl.data_targets WHERE owner = 'hs_user';
DROP ROLE hs_user;
