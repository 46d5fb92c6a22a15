-- 39_quality_bad_config: every quality rule kind given a bad configuration
-- (a required key missing, a value of the wrong type, a value outside its
-- vocabulary) through both entry points of the one rule validator
-- (src/quality/rules.c): etl.validate_config reports each problem with its
-- config path, YAML line and column; etl.define_quality_profile raises 22023
-- naming the first problem's path and rule, and stores nothing.
-- One case per line of the table; the YAML config lists the rules in the
-- table's order, so rules[i] is case i + 1 and its line is 7 + i.
\set SHOW_CONTEXT never
CREATE FUNCTION pg_temp.err(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE sql;
    RETURN 'no error';
EXCEPTION WHEN others THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;

CREATE TEMP TABLE q39_cases (n serial PRIMARY KEY, kind text, problem text, rule text);
INSERT INTO q39_cases (kind, problem, rule) VALUES
  ('completeness', 'missing column', '{"type": "completeness"}'),
  ('completeness', 'column not a string', '{"type": "completeness", "column": [1]}'),
  ('validity', 'missing check', '{"type": "validity", "column": "x"}'),
  ('validity', 'check not in vocabulary', '{"type": "validity", "column": "x", "check": "ranges"}'),
  ('validity', 'range without bounds', '{"type": "validity", "check": "range", "column": "x"}'),
  ('validity', 'range bound a list', '{"type": "validity", "check": "range", "column": "x", "min": [1]}'),
  ('validity', 'pattern missing', '{"type": "validity", "check": "pattern", "column": "x"}'),
  ('validity', 'format not in vocabulary', '{"type": "validity", "check": "format", "column": "x", "format": "mail"}'),
  ('validity', 'values not a list', '{"type": "validity", "check": "allowed_values", "column": "x", "values": "a"}'),
  ('validity', 'length min a string', '{"type": "validity", "check": "length", "column": "x", "min": "1"}'),
  ('validity', 'data_type not in vocabulary', '{"type": "validity", "check": "type", "column": "x", "data_type": "int3"}'),
  ('uniqueness', 'missing column(s)', '{"type": "uniqueness"}'),
  ('uniqueness', 'nulls not in vocabulary', '{"type": "uniqueness", "column": "x", "nulls": "maybe"}'),
  ('consistency', 'missing expression', '{"type": "consistency"}'),
  ('consistency', 'expression not SQL', '{"type": "consistency", "expression": "x >"}'),
  ('consistency', 'null_is not in vocabulary', '{"type": "consistency", "expression": "x > 0", "null_is": "skip"}'),
  ('referential', 'missing ref_column', '{"type": "referential", "column": "x", "ref": "public.t"}'),
  ('referential', 'missing ref', '{"type": "referential", "column": "x", "ref_column": "id"}'),
  ('freshness', 'missing max_age', '{"type": "freshness", "column": "ts"}'),
  ('freshness', 'max_age not an interval', '{"type": "freshness", "column": "ts", "max_age": "soon"}'),
  ('row_count', 'no bound', '{"type": "row_count"}'),
  ('row_count', 'min a string', '{"type": "row_count", "min": "ten"}'),
  ('schema', 'nothing to check', '{"type": "schema"}'),
  ('schema', 'types not a map', '{"type": "schema", "types": ["x"]}'),
  ('custom', 'missing query', '{"type": "custom"}'),
  ('custom', 'query not a SELECT', '{"type": "custom", "query": "DELETE FROM t"}'),
  ('min', 'missing column', '{"type": "min", "min": 0}'),
  ('max', 'no bound', '{"type": "max", "column": "x"}'),
  ('mean', 'bound a string', '{"type": "mean", "column": "x", "min": "low"}'),
  ('sum', 'max below min', '{"type": "sum", "column": "x", "min": 10, "max": 1}'),
  ('stddev', 'strict_max not a boolean', '{"type": "stddev", "column": "x", "max": 1, "strict_max": "yes"}'),
  ('median', 'no bound', '{"type": "median", "column": "x"}'),
  ('median', 'approximate not a boolean', '{"type": "median", "column": "x", "max": 1, "approximate": "yes"}'),
  ('quantile', 'missing q', '{"type": "quantile", "column": "x", "max": 1}'),
  ('quantile', 'q outside [0, 1]', '{"type": "quantile", "column": "x", "q": 1.5, "max": 1}'),
  ('quantile', 'q a string', '{"type": "quantile", "column": "x", "q": "p90", "max": 1}'),
  ('distinct_count', 'bound a string', '{"type": "distinct_count", "column": "x", "max": "many"}'),
  ('proportion_unique', 'missing column', '{"type": "proportion_unique", "min": 0.5}'),
  ('most_common', 'missing in', '{"type": "most_common", "column": "x"}'),
  ('most_common', 'in not a list', '{"type": "most_common", "column": "x", "in": "a"}'),
  ('distinct_values', 'no set given', '{"type": "distinct_values", "column": "x"}'),
  ('distinct_values', 'two sets given', '{"type": "distinct_values", "column": "x", "contains": ["a"], "equals": ["a"]}'),
  ('monotonic', 'missing order_by', '{"type": "monotonic", "column": "x"}'),
  ('monotonic', 'direction not in vocabulary', '{"type": "monotonic", "column": "x", "order_by": "id", "direction": "up"}'),
  ('monotonic', 'strict not a boolean', '{"type": "monotonic", "column": "x", "order_by": "id", "strict": 1}'),
  ('parseable', 'missing as', '{"type": "parseable", "column": "x"}'),
  ('parseable', 'as not in vocabulary', '{"type": "parseable", "column": "x", "as": "integer"}'),
  ('date_format', 'missing format', '{"type": "date_format", "column": "x"}'),
  ('date_format', 'format not a string', '{"type": "date_format", "column": "x", "format": 2024}'),
  ('column_pair', 'missing check', '{"type": "column_pair", "columns": ["x", "y"]}'),
  ('column_pair', 'three columns', '{"type": "column_pair", "columns": ["x", "y", "z"], "check": "equal"}'),
  ('column_pair', 'check not in vocabulary', '{"type": "column_pair", "columns": ["x", "y"], "check": "same"}'),
  ('columns', 'no list given', '{"type": "columns"}'),
  ('columns', 'exactly not a list', '{"type": "columns", "exactly": 3}'),
  ('column_count', 'no bound', '{"type": "column_count"}'),
  ('column_count', 'min negative', '{"type": "column_count", "min": -1}'),
  ('column_types', 'missing types', '{"type": "column_types"}'),
  ('column_types', 'type name not a type', '{"type": "column_types", "types": {"x": ["numeric("]}}'),
  ('column_types', 'type not a string', '{"type": "column_types", "types": {"x": 5}}'),
  ('row_count_equal', 'missing ref', '{"type": "row_count_equal"}'),
  ('row_count_equal', 'ref not a string', '{"type": "row_count_equal", "ref": 5}'),
  ('outliers', 'missing columns', '{"type": "outliers"}'),
  ('outliers', 'method not in vocabulary', '{"type": "outliers", "columns": ["x"], "method": "lof"}'),
  ('outliers', 'max_fraction above 1', '{"type": "outliers", "columns": ["x"], "max_fraction": 2}'),
  ('drift', 'missing method', '{"type": "drift", "column": "x"}'),
  ('drift', 'method not in vocabulary', '{"type": "drift", "column": "x", "method": "kl"}'),
  ('drift', 'threshold above 1', '{"type": "drift", "column": "x", "method": "ks", "threshold": 5}'),
  ('(common)', 'severity not in vocabulary', '{"type": "completeness", "column": "x", "severity": "fatal"}'),
  ('(common)', 'where on a shape rule', '{"type": "column_count", "min": 1, "where": "x > 0"}'),
  ('(common)', 'unknown key', '{"type": "mean", "column": "x", "min": 1, "colour": "red"}');

-- every kind of the vocabulary has a case
SELECT k.kind AS kind_without_case
  FROM unnest(ARRAY['completeness', 'validity', 'uniqueness', 'consistency', 'referential', 'freshness',
                    'row_count', 'schema', 'custom', 'min', 'max', 'mean', 'sum', 'stddev', 'median',
                    'quantile', 'distinct_count', 'proportion_unique', 'most_common', 'distinct_values',
                    'monotonic', 'parseable', 'date_format', 'column_pair', 'columns', 'column_count',
                    'column_types', 'row_count_equal', 'outliers', 'drift']) k(kind)
 WHERE NOT EXISTS (SELECT FROM q39_cases c WHERE c.kind = k.kind);

-- etl.validate_config: each case's problems, at its rule's path and line
-- (rules[n - 1], line n + 6), with the YAML column of the offending key
CREATE TEMP TABLE q39_config AS
SELECT E'pipeline:\n  id: q39_pipe\n  sources: [{id: src, type: postgresql, table: public.q39_data}]\n'
       || E'  targets: [{id: out, type: postgresql, table: public.q39_out}]\n  quality:\n    rules:\n'
       || string_agg('      - ' || rule, E'\n' ORDER BY n) || E'\n' AS yaml
  FROM q39_cases;
SELECT c.n, c.kind, c.problem, v.path, v.line, v.col, v.message
  FROM q39_config, etl.validate_config(yaml) v
  LEFT JOIN q39_cases c ON v.path LIKE 'pipeline.quality.rules[' || (c.n - 1) || ']%'
 WHERE v.severity = 'error'
 ORDER BY v.line, v.col, v.path;
-- no case is left without an error, and the line is the rule's own
SELECT c.n, c.kind, c.problem AS case_without_error
  FROM q39_cases c
 WHERE NOT EXISTS (SELECT FROM q39_config, etl.validate_config(yaml) v
                    WHERE v.severity = 'error' AND v.line = c.n + 6
                      AND v.path LIKE 'pipeline.quality.rules[' || (c.n - 1) || ']%');

-- etl.define_quality_profile: the same rule alone raises 22023 naming the
-- path in the rule (rules[0].<key>); nothing is stored
SELECT n, kind, problem,
       pg_temp.err(format('SELECT etl.define_quality_profile(%L, %L)', 'q39_' || n, '[' || rule || ']')) AS error
  FROM q39_cases ORDER BY n;
SELECT count(*) AS profiles_stored FROM etl.quality_profiles WHERE name LIKE 'q39_%';
