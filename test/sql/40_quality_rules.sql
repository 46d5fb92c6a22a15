-- 40_quality_rules: every rule type passes and fails, with failed-row counts
-- and samples of failing rows (key columns), through etl.quality_gate.
\set SHOW_CONTEXT never
\set VERBOSITY terse
CREATE TABLE public.q40_customers (
    id int PRIMARY KEY, email text, age int, country text,
    start_date date, end_date date, updated_at timestamptz, payload text, ip text);
INSERT INTO q40_customers VALUES
 (1, 'a@x.com',   30, 'DE', '2024-01-01', '2024-02-01', now() - interval '1 hour',  '{"a":1}', '10.0.0.1'),
 (2, 'b@x.com',   40, 'FR', '2024-01-01', '2023-12-01', now() - interval '2 hours', '[1,2]',   '10.0.0.300'),
 (3, NULL,        -5, 'DE', '2024-01-01', '2024-03-01', now() - interval '3 days',  'nope',    NULL),
 (4, 'bad-email', 200,'XX', '2024-01-01', NULL,         now(),                      '{}',      '192.168.1.1'),
 (5, 'a@x.com',   25, 'FR', NULL,         '2024-01-01', now(),                      NULL,      '8.8.8.8');
CREATE TABLE public.q40_countries (code text PRIMARY KEY);
INSERT INTO q40_countries VALUES ('DE'), ('FR');

-- an error as SQLSTATE and message
CREATE FUNCTION pg_temp.err(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE sql;
    RETURN 'no error';
EXCEPTION WHEN others THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;

-- a compact view of a gate result
CREATE FUNCTION pg_temp.show(g jsonb)
RETURNS TABLE (rule text, passed boolean, total bigint, failed bigint, observed text, samples text)
LANGUAGE sql AS $$
  SELECT c->>'rule', (c->>'passed')::boolean, (c->>'total_rows')::bigint, (c->>'failed_rows')::bigint,
         CASE WHEN c->>'type' = 'freshness' THEN NULL ELSE c->>'observed' END, c->>'samples'
    FROM jsonb_array_elements(g->'checks') c
$$;

-- failing rules: each counts its failing rows and shows them by primary key
SELECT * FROM pg_temp.show(etl.quality_gate('q40_customers', $$[
 {"type": "completeness", "column": "email"},
 {"type": "validity", "check": "pattern", "column": "email", "pattern": "^[^@]+@[^@]+\\.[^@]+$"},
 {"type": "validity", "check": "range", "column": "age", "min": 0, "max": 120},
 {"name": "age_exclusive", "type": "validity", "check": "range", "column": "age", "min": 25, "max": 40, "inclusive": false},
 {"type": "validity", "check": "allowed_values", "column": "country", "values": ["DE", "FR"]},
 {"name": "email_length", "type": "validity", "check": "length", "column": "email", "min": 3, "max": 7},
 {"type": "validity", "check": "format", "column": "payload", "format": "json"},
 {"type": "validity", "check": "format", "column": "ip", "format": "ipv4"},
 {"name": "payload_int", "type": "validity", "check": "type", "column": "payload", "data_type": "integer"},
 {"type": "uniqueness", "column": "email"},
 {"type": "consistency", "expression": "end_date >= start_date"},
 {"type": "referential", "column": "country", "ref_table": "q40_countries", "ref_column": "code"},
 {"type": "freshness", "column": "start_date", "max_age": "1 day"},
 {"type": "row_count", "min": 10},
 {"type": "schema", "required_columns": ["id", "phone"], "forbidden_columns": ["payload"], "types": {"age": "text"}},
 {"type": "custom", "query": "SELECT id FROM {{data}} WHERE age > 100 OR age < 0"}
]$$)) ORDER BY 1;

-- the same kinds passing (thresholds, where, other bounds)
SELECT * FROM pg_temp.show(etl.quality_gate('q40_customers', $$[
 {"type": "completeness", "column": "email", "threshold": 80},
 {"type": "validity", "check": "pattern", "column": "email", "pattern": "@", "where": "id <> 4"},
 {"type": "validity", "check": "range", "column": "age", "min": -10},
 {"type": "validity", "check": "allowed_values", "column": "country", "values": ["DE", "FR", "XX"]},
 {"name": "email_length", "type": "validity", "check": "length", "column": "email", "max": 9},
 {"name": "email_format", "type": "validity", "check": "format", "column": "email", "format": "email", "threshold": 75},
 {"name": "age_int", "type": "validity", "check": "type", "column": "age", "data_type": "integer"},
 {"name": "country_text", "type": "validity", "check": "type", "column": "country", "data_type": "text"},
 {"type": "uniqueness", "columns": ["id", "email"]},
 {"type": "consistency", "expression": "end_date >= start_date OR id == 2"},
 {"type": "referential", "column": "country", "ref_table": "q40_countries", "ref_column": "code", "where": "country <> 'XX'"},
 {"type": "freshness", "column": "updated_at", "max_age": "1 day"},
 {"type": "row_count", "min": 1, "max": 5},
 {"type": "schema", "required_columns": ["id", "email"], "forbidden_columns": ["password"], "types": {"age": "int4", "email": "text"}},
 {"type": "custom", "query": "SELECT id FROM {{data}} WHERE age > 1000"}
]$$)) ORDER BY 1;

-- gate outcome: error-severity failures fail the gate, warn ones do not
SELECT g->'passed' AS passed, g->'failed_rules' AS failed_rules
  FROM etl.quality_gate('q40_customers', $$[
    {"type": "completeness", "column": "email", "severity": "warn"},
    {"type": "validity", "check": "range", "column": "age", "min": 0}]$$) g;
SELECT g->'passed' AS passed, g->'failed_rules' AS failed_rules
  FROM etl.quality_gate('q40_customers', '[{"type": "completeness", "column": "email", "severity": "warn"}]') g;
SELECT g->'passed' AS passed, g->'gate' AS gate
  FROM etl.quality_gate('q40_customers', '[{"type": "completeness", "column": "email"}]', gate => 'none') g;

-- a SELECT as the dataset; samples then carry the rule's column (no primary key)
SELECT * FROM pg_temp.show(etl.quality_gate('SELECT * FROM q40_customers WHERE id > 2',
    '[{"type": "validity", "check": "range", "column": "age", "min": 0}]'));
-- key_columns choose the sample columns; samples = 0 turns sampling off
SELECT * FROM pg_temp.show(etl.quality_gate('q40_customers',
    '[{"type": "validity", "check": "range", "column": "age", "min": 0}]',
    options => '{"key_columns": ["email"]}'));
SELECT * FROM pg_temp.show(etl.quality_gate('q40_customers',
    '[{"type": "validity", "check": "range", "column": "age", "min": 0}]', options => '{"samples": 0}'));

-- edge cases: empty data passes row-level rules (nothing to fail) and fails
-- row_count; an all-NULL column fails completeness and passes validity (no
-- value to check); a single row
SELECT * FROM pg_temp.show(etl.quality_gate('SELECT * FROM q40_customers WHERE false', $$[
  {"type": "completeness", "column": "email"}, {"type": "validity", "check": "range", "column": "age", "min": 0},
  {"type": "uniqueness", "column": "email"}, {"type": "consistency", "expression": "end_date >= start_date"},
  {"type": "row_count", "min": 1}]$$));
SELECT * FROM pg_temp.show(etl.quality_gate('SELECT id, NULL::int AS score FROM q40_customers', $$[
  {"type": "completeness", "column": "score"}, {"type": "validity", "check": "range", "column": "score", "min": 0},
  {"type": "uniqueness", "column": "score"}]$$));
SELECT * FROM pg_temp.show(etl.quality_gate('SELECT * FROM q40_customers WHERE id = 3', $$[
  {"type": "completeness", "column": "email"}, {"type": "validity", "check": "range", "column": "age", "min": 0},
  {"type": "uniqueness", "column": "id"}]$$));

-- patterns are PCRE2 (lookahead, \d); a pattern per row recompiles as needed
SELECT * FROM pg_temp.show(etl.quality_gate('q40_customers', $$[
  {"name": "dot_com", "type": "validity", "check": "pattern", "column": "email", "pattern": "^[a-z]+(?=@x\\.com$)"},
  {"name": "ip_digits", "type": "validity", "check": "pattern", "column": "ip", "pattern": "^\\d+\\.\\d+\\.\\d+\\.\\d{1,2}$"}]$$));
SELECT s, p, etl._re_match(s, p) AS matches
  FROM (VALUES ('abc', '^a'), ('abc', '^b'), ('abc', 'c$'), ('äbc', '^.bc$')) AS v(s, p);

-- results are recorded in the per-kind tables and etl.dq_results
SELECT rule_name, column_name, failed_rows, observed_pct, passed, samples
  FROM etl.completeness_checks WHERE dataset = 'q40_customers' ORDER BY check_id LIMIT 2;
SELECT rule_name, check_kind, params, failed_rows, passed
  FROM etl.validity_checks WHERE dataset = 'q40_customers' AND rule_name IN ('validity_age', 'age_exclusive')
 ORDER BY check_id LIMIT 3;
SELECT rule_name, columns, duplicate_rows, distinct_values, observed_pct, passed, samples
  FROM etl.uniqueness_checks WHERE dataset = 'q40_customers' ORDER BY check_id;
SELECT rule_name, rule_type, failed_rows, passed, samples
  FROM etl.dq_results WHERE dataset = 'q40_customers' AND rule_type <> 'freshness' ORDER BY result_id LIMIT 6;

-- row_count: change against the previous run of the same rule
SELECT g->'checks'->0->'observed' AS first_run
  FROM etl.quality_gate('q40_customers', '[{"name": "rc", "type": "row_count", "max_change_pct": 10}]') g;
INSERT INTO q40_customers (id, email, age, country) VALUES (6, 'c@x.com', 50, 'DE');
SELECT g->'checks'->0->'observed' AS second_run, g->'checks'->0->'passed' AS passed
  FROM etl.quality_gate('q40_customers', '[{"name": "rc", "type": "row_count", "max_change_pct": 10}]') g;
SELECT g->'checks'->0->'observed' AS third_run, g->'checks'->0->'passed' AS passed
  FROM etl.quality_gate('q40_customers', '[{"name": "rc", "type": "row_count", "max_change_pct": 10}]') g;

-- normalisation: names, severity and threshold defaults; the shorthand type: pattern
SELECT jsonb_pretty(etl._normalize_rules($$[
  {"type": "completeness", "column": "email"},
  {"type": "pattern", "column": "email", "pattern": "@"},
  {"type": "uniqueness", "columns": ["a", "b"], "severity": "warning"},
  {"type": "consistency", "expression": "a == b and not c"}]$$));

-- bad rules and data: clear errors, nothing recorded
SELECT count(*) AS scores_before FROM etl.quality_scores \gset
SELECT pg_temp.err($q$SELECT etl.quality_gate('q40_customers', '[{"type": "completeness", "column": "emial"}]')$q$);
SELECT pg_temp.err($q$SELECT etl.quality_gate('q40_nowhere', '[{"type": "completeness", "column": "email"}]')$q$);
SELECT pg_temp.err($q$SELECT etl.quality_gate('q40_customers', '[{"type": "completness", "column": "email"}]')$q$);
SELECT pg_temp.err($q$SELECT etl.quality_gate('q40_customers', '[{"type": "completeness", "column": "email", "colour": "red"}]')$q$);
SELECT pg_temp.err($q$SELECT etl.quality_gate('q40_customers', '[{"type": "completeness", "column": "email", "threshold": 101}]')$q$);
SELECT pg_temp.err($q$SELECT etl.quality_gate('q40_customers', '[{"type": "validity", "column": "email", "check": "shape"}]')$q$);
SELECT pg_temp.err($q$SELECT etl.quality_gate('q40_customers', '[{"type": "validity", "column": "email", "check": "pattern", "pattern": "(("}]')$q$);
SELECT pg_temp.err($q$SELECT etl.quality_gate('q40_customers', '[{"type": "validity", "column": "email", "check": "format", "format": "isbn"}]')$q$);
SELECT pg_temp.err($q$SELECT etl.quality_gate('q40_customers', '[{"type": "validity", "column": "age", "check": "range", "min": "abc"}]')$q$);
SELECT pg_temp.err($q$SELECT etl.quality_gate('q40_customers', '[{"type": "consistency", "expression": "age > 0) FROM pg_authid WHERE (true"}]')$q$);
SELECT pg_temp.err($q$SELECT etl.quality_gate('q40_customers', '[{"type": "consistency", "expression": "age > (SELECT 1)"}]')$q$);
SELECT pg_temp.err($q$SELECT etl.quality_gate('q40_customers', '[{"type": "consistency", "expression": "age > 0; DROP TABLE q40_customers"}]')$q$);
SELECT pg_temp.err($q$SELECT etl.quality_gate('q40_customers', '[{"type": "consistency", "expression": "nosuch > 0"}]')$q$);
SELECT pg_temp.err($q$SELECT etl.quality_gate('q40_customers', '[{"type": "completeness", "column": "email", "where": "1) OR (1"}]')$q$);
SELECT pg_temp.err($q$SELECT etl.quality_gate('q40_customers', '[{"type": "custom", "query": "DELETE FROM q40_customers"}]')$q$);
SELECT pg_temp.err($q$SELECT etl.quality_gate('q40_customers', '[{"type": "custom", "query": "SELECT 1; SELECT 2"}]')$q$);
SELECT pg_temp.err($q$SELECT etl.quality_gate('q40_customers', '[{"type": "freshness", "column": "updated_at", "max_age": "soon"}]')$q$);
SELECT pg_temp.err($q$SELECT etl.quality_gate('q40_customers', '[{"type": "referential", "column": "country", "ref_table": "q40_countries", "ref_column": "iso"}]')$q$);
SELECT pg_temp.err($q$SELECT etl.quality_gate('q40_customers', '[{"name": "c", "type": "completeness", "column": "email"}, {"name": "c", "type": "completeness", "column": "age"}]')$q$);
SELECT pg_temp.err($q$SELECT etl.quality_gate('q40_customers', '{"rules": "none"}')$q$);
SELECT pg_temp.err($q$SELECT etl.quality_gate('q40_customers', '[]', gate => 'maybe')$q$);
SELECT pg_temp.err($q$SELECT etl.quality_gate('SELECT 1; SELECT 2', '[]')$q$);
SELECT pg_temp.err($q$SELECT etl.quality_gate('', '[]')$q$);
SELECT count(*) - :scores_before AS scores_added FROM etl.quality_scores;
SELECT count(*) AS q40_rows FROM q40_customers;   -- untouched

DELETE FROM etl.quality_scores WHERE dataset LIKE '%q40_customers%';
DELETE FROM etl.dq_results WHERE dataset LIKE '%q40_customers%';
DROP TABLE q40_customers, q40_countries;
