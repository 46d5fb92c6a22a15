-- 53_quality_sets_order_formats: distinct_values (contains, equals,
-- subset_of), monotonic (increasing, decreasing, strict, over order_by),
-- parseable (date, timestamp, json, uuid, numeric, inet: no subtransaction
-- per row) and date_format (to_timestamp templates).  Pass, fail, NULLs,
-- empty data and bad configuration for each.
\set SHOW_CONTEXT never
CREATE FUNCTION pg_temp.err(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    d text;
BEGIN
    EXECUTE sql;
    RETURN 'no error';
EXCEPTION WHEN others THEN
    GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
    RETURN SQLSTATE || ': ' || SQLERRM || coalesce(E'\n  detail: ' || nullif(d, ''), '');
END
$$;
-- the reference: PostgreSQL's own cast, in a subtransaction
CREATE FUNCTION pg_temp.cast_ok(v text, k text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('SELECT $1::%s', k) USING v;
    RETURN true;
EXCEPTION WHEN others THEN
    RETURN false;
END
$$;
CREATE FUNCTION pg_temp.show(g jsonb)
RETURNS TABLE (rule text, passed boolean, total bigint, failed bigint, observed text, samples text)
LANGUAGE sql AS $$
  SELECT c->>'rule', (c->>'passed')::boolean, (c->>'total_rows')::bigint, (c->>'failed_rows')::bigint,
         c->>'observed', c->>'samples'
    FROM jsonb_array_elements(g->'checks') c
$$;

CREATE TABLE public.q53 (id int PRIMARY KEY, cat text, n int, ts timestamptz, raw text, ds text);
INSERT INTO q53 VALUES
  (1, 'a', 10, '2024-01-01 10:00', '2024-02-29', '2024-01-31'),
  (2, 'b', 20, '2024-01-01 11:00', '2024-02-30', '2024-1-31'),
  (3, 'a', 20, '2024-01-01 12:00', '{"k": 1}', '2024-02-29'),
  (4, NULL, 15, '2024-01-01 09:00', 'not json', '2023-02-29'),
  (5, 'c', NULL, NULL, NULL, NULL),
  (6, 'b', 30, '2024-01-02 00:00', '550e8400-e29b-41d4-a716-446655440000', '2024-12-01');

-- distinct_values: the set of non-NULL values
SELECT * FROM pg_temp.show(etl.quality_gate('q53', $$[
  {"name": "has_ab", "type": "distinct_values", "column": "cat", "contains": ["a", "b"]},
  {"name": "has_z", "type": "distinct_values", "column": "cat", "contains": ["a", "z"]},
  {"name": "exactly_abc", "type": "distinct_values", "column": "cat", "equals": ["c", "b", "a"]},
  {"name": "exactly_ab", "type": "distinct_values", "column": "cat", "equals": ["a", "b"]},
  {"name": "within_abcd", "type": "distinct_values", "column": "cat", "subset_of": ["a", "b", "c", "d"]},
  {"name": "within_ab", "type": "distinct_values", "column": "cat", "subset_of": ["a", "b"]},
  {"name": "numbers", "type": "distinct_values", "column": "n", "subset_of": [10, 15, 20, 30]}]$$)) ORDER BY 1;

-- monotonic over order_by: pairs of consecutive rows; NULLs are left out;
-- rows with equal order_by values never count against the rule
SELECT * FROM pg_temp.show(etl.quality_gate('q53', $$[
  {"name": "n_by_id", "type": "monotonic", "column": "n", "order_by": "id"},
  {"name": "n_by_id_strict", "type": "monotonic", "column": "n", "order_by": "id", "strict": true},
  {"name": "n_by_ts", "type": "monotonic", "column": "n", "order_by": "ts"},
  {"name": "id_down_by_ts", "type": "monotonic", "column": "id", "order_by": "ts", "direction": "decreasing"},
  {"name": "ts_by_id_mostly", "type": "monotonic", "column": "ts", "order_by": "id", "threshold": 75}]$$)) ORDER BY 1;

-- parseable: would the cast succeed?  (2024-02-30 is not a date, 2023-02-29 neither)
SELECT * FROM pg_temp.show(etl.quality_gate('q53', $$[
  {"name": "raw_date", "type": "parseable", "column": "raw", "as": "date"},
  {"name": "raw_json", "type": "parseable", "column": "raw", "as": "json"},
  {"name": "raw_uuid", "type": "parseable", "column": "raw", "as": "uuid"},
  {"name": "ds_date", "type": "parseable", "column": "ds", "as": "date"},
  {"name": "ds_timestamp", "type": "parseable", "column": "ds", "as": "timestamp"},
  {"name": "ts_timestamp", "type": "parseable", "column": "ts", "as": "timestamp"}]$$)) ORDER BY 1;
-- the checks agree with PostgreSQL's own input functions on awkward values
SELECT v, k, etl._parseable(v, k) AS parseable, pg_temp.cast_ok(v, k) AS cast_ok
  FROM (VALUES ('1e5', 'numeric'), (' 12.5 ', 'numeric'), ('NaN', 'numeric'), ('-Infinity', 'numeric'), ('1e100000', 'numeric'),
               ('12,5', 'numeric'), ('', 'numeric'), ('{550e8400-e29b-41d4-a716-446655440000}', 'uuid'),
               ('550e8400e29b41d4a716446655440000', 'uuid'), ('550e8400-e29b-41d4-a716-44665544000', 'uuid'),
               ('10.0.0.1/24', 'inet'), ('::1', 'inet'), ('10.0.0.300', 'inet'), ('epoch', 'date'),
               ('2024-02-29 25:00', 'timestamp'), ('2024-06-01 10:00 Europe/Berlin', 'timestamp'),
               ('2024-06-01 10:00 Nowhere/City', 'timestamp'), ('Jan 5 2024', 'date'), ('[1, 2', 'json')) AS t(v, k)
 ORDER BY k, v;

-- date_format: exactly the template's shape, and a real date
SELECT * FROM pg_temp.show(etl.quality_gate('q53', $$[
  {"name": "iso", "type": "date_format", "column": "ds", "format": "YYYY-MM-DD"},
  {"name": "iso_fm", "type": "date_format", "column": "ds", "format": "YYYY-FMMM-DD"},
  {"name": "raw_iso", "type": "date_format", "column": "raw", "format": "YYYY-MM-DD", "threshold": 20}]$$)) ORDER BY 1;
SELECT v, f, etl._date_format_ok(v, f) AS ok
  FROM (VALUES ('2024-01-31', 'YYYY-MM-DD'), ('31/01/2024', 'DD/MM/YYYY'), ('2024-01-31 23:59:59', 'YYYY-MM-DD HH24:MI:SS'),
               ('2024-01-31 24:00:00', 'YYYY-MM-DD HH24:MI:SS'), ('Jan 05 2024', 'Mon DD YYYY'), ('JAN 05 2024', 'Mon DD YYYY'),
               ('07:30 PM', 'HH12:MI AM'), ('13:30 PM', 'HH12:MI AM'), ('2024-366', 'YYYY-DDD'), ('2023-366', 'YYYY-DDD'),
               ('2024-01-31T10:00:00.123', 'YYYY-MM-DD"T"HH24:MI:SS.MS'), ('2024-01-31 ', 'YYYY-MM-DD')) AS t(v, f);

-- empty data passes everything
SELECT * FROM pg_temp.show(etl.quality_gate('SELECT * FROM q53 WHERE false', $$[
  {"type": "distinct_values", "column": "cat", "contains": ["a"]},
  {"type": "monotonic", "column": "n", "order_by": "id"},
  {"type": "parseable", "column": "raw", "as": "date"},
  {"type": "date_format", "column": "ds", "format": "YYYY-MM-DD"}]$$));

-- bad configuration
SELECT pg_temp.err($q$SELECT etl.quality_gate('q53', '[{"type": "distinct_values", "column": "cat"}]')$q$);
SELECT pg_temp.err($q$SELECT etl.quality_gate('q53', '[{"type": "distinct_values", "column": "cat", "contains": ["a"], "equals": ["a"]}]')$q$);
SELECT pg_temp.err($q$SELECT etl.quality_gate('q53', '[{"type": "monotonic", "column": "n"}]')$q$);
SELECT pg_temp.err($q$SELECT etl.quality_gate('q53', '[{"type": "monotonic", "column": "n", "order_by": "id", "direction": "up"}]')$q$);
SELECT pg_temp.err($q$SELECT etl.quality_gate('q53', '[{"type": "monotonic", "column": "n", "order_by": "nosuch"}]')$q$);
SELECT pg_temp.err($q$SELECT etl.quality_gate('q53', '[{"type": "parseable", "column": "raw", "as": "xml"}]')$q$);
SELECT pg_temp.err($q$SELECT etl.quality_gate('q53', '[{"type": "date_format", "column": "ds", "format": "YYYY-QQ-DD"}]')$q$);
SELECT pg_temp.err($q$SELECT etl.quality_gate('q53', '[{"type": "date_format", "column": "ds"}]')$q$);

DELETE FROM etl.quality_scores WHERE dataset LIKE '%q53%';
DROP TABLE q53;
