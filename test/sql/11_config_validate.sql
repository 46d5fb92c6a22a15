-- 11_config_validate: etl.validate_config reports EVERY problem of a
-- configuration with its path, line and column.  Each block below is one
-- broken configuration; its first line is line 1 (the text starts right
-- after the opening $$).
\set VERBOSITY default

-- a valid configuration gives no rows
SELECT count(*) AS problems FROM etl.validate_config($$pipeline:
  id: ok
  sources: [{id: src, type: postgresql, table: public.t}]
  targets: [{id: out, type: postgresql, table: public.out}]
$$);

-- 1. YAML syntax error: an unclosed quote
SELECT * FROM etl.validate_config($$pipeline:
  id: "broken
  sources: []
$$);

-- 2. a tab used for indentation
SELECT * FROM etl.validate_config(E'pipeline:\n\tid: x\n');

-- 3. the document is a list, not a mapping
SELECT * FROM etl.validate_config($$- pipeline$$);

-- 4. a misspelt top-level key, with a suggestion
SELECT * FROM etl.validate_config($$pipline:
  id: x
$$);

-- 5. an invalid pipeline id and sources of the wrong type
SELECT * FROM etl.validate_config($$pipeline:
  id: Customer-ETL
  sources: {id: src}
  targets: [{id: out, type: postgresql, table: out}]
$$);

-- 6. required keys missing: targets, and a source's type
SELECT * FROM etl.validate_config($$pipeline:
  id: x
  sources:
    - id: src
      table: t
$$);

-- 7. an unknown transform type: the valid ones and the nearest are named
SELECT * FROM etl.validate_config($$pipeline:
  id: x
  sources: [{id: src, type: postgresql, table: t}]
  transforms:
    - id: clean
      type: filtr
      params: {condition: "a > 1"}
  targets: [{id: out, type: postgresql, table: out}]
$$);

-- 8. an unknown key in a step, and a filter without its condition
SELECT * FROM etl.validate_config($$pipeline:
  id: x
  sources: [{id: src, type: postgresql, table: t}]
  transforms:
    - id: clean
      type: filter
      parms: {condition: "a > 1"}
  targets: [{id: out, type: postgresql, table: out}]
$$);

-- 9. a dangling input, with a suggestion
SELECT * FROM etl.validate_config($$pipeline:
  id: x
  sources: [{id: customers, type: postgresql, table: t}]
  transforms:
    - {id: clean, type: filter, input: customer, params: {condition: "a > 1"}}
  targets: [{id: out, type: postgresql, table: out}]
$$);

-- 10. a cycle between two steps
SELECT * FROM etl.validate_config($$pipeline:
  id: x
  sources: [{id: src, type: postgresql, table: t}]
  transforms:
    - {id: a, type: filter, input: b, params: {condition: "x > 1"}}
    - {id: b, type: filter, input: a, params: {condition: "y > 1"}}
  targets: [{id: out, type: postgresql, table: out, input: b}]
$$);

-- 11. a step whose result reaches no target
SELECT * FROM etl.validate_config($$pipeline:
  id: x
  sources: [{id: src, type: postgresql, table: t}]
  transforms:
    - {id: side, type: filter, params: {condition: "x > 1"}}
    - {id: main, type: filter, input: src, params: {condition: "y > 1"}}
  targets: [{id: out, type: postgresql, table: out}]
$$);

-- 12. the same id twice, and a duplicate key
SELECT * FROM etl.validate_config($$pipeline:
  id: x
  sources:
    - {id: src, type: postgresql, table: t}
    - {id: src, type: postgresql, table: u}
  targets: [{id: out, type: postgresql, table: out, input: src, input: src}]
$$);

-- 13. bad cron expressions (a syntax check: 5 or 6 fields, names, ranges, steps, macros)
SELECT c.cron, v.path, v.line, v.col, v.message
  FROM (VALUES ('0 2 * * *'), ('*/15 9-17 * * mon-fri'), ('30 0 2 1 jan,jul sun'), ('@daily'),
               ('0 2 * *'), ('61 * * * *'), ('0 0 0 * *'), ('0 0 * * funday'), ('*/0 * * * *'),
               ('5-1 * * * *'), ('@often'), ('1 2 3 4 5 6 7')) AS c(cron)
  LEFT JOIN LATERAL etl.validate_config(format($$pipeline:
  id: x
  sources: [{id: src, type: postgresql, table: t}]
  targets: [{id: out, type: postgresql, table: out}]
  schedule: {cron: "%s"}
$$, c.cron)) AS v ON true;

-- 14. an unknown time zone (checked against pg_timezone_names), with a suggestion
SELECT * FROM etl.validate_config($$pipeline:
  id: x
  sources: [{id: src, type: postgresql, table: t}]
  targets: [{id: out, type: postgresql, table: out}]
  schedule: {cron: "0 2 * * *", timezone: Europe/Pariss}
$$);

-- 15. thresholds and rates out of range, and a value of the wrong type
SELECT * FROM etl.validate_config($$pipeline:
  id: x
  sources: [{id: src, type: postgresql, table: t}]
  targets: [{id: out, type: postgresql, table: out}]
  quality:
    rules:
      - {type: completeness, column: email, threshold: 150}
      - {type: completeness, column: name, threshold: high}
  sla: {max_duration_minutes: 0, min_success_rate: 1.5, min_quality_score: -1}
  retry: {max_attempts: 2.5}
$$);

-- 16. hostile expressions: statements, a broken-out parenthesis, a subquery
SELECT * FROM etl.validate_config($$pipeline:
  id: x
  sources: [{id: src, type: postgresql, table: t}]
  transforms:
    - {id: a, type: filter, params: {condition: "age > 0; DROP TABLE x"}}
    - {id: b, type: filter, params: {condition: "1=1) OR (SELECT 1"}}
    - {id: c, type: filter, params: {condition: "(SELECT count(*) FROM pg_authid) > 0"}}
    - {id: d, type: map, params: {columns: {total: "price * qty FROM pg_class"}}}
  targets: [{id: out, type: postgresql, table: out}]
$$);

-- 17. two problems at once are reported together
SELECT * FROM etl.validate_config($$pipeline:
  id: x
  sources: [{id: src, type: postgresql, table: t}]
  transforms:
    - {id: clean, type: filtre, params: {condition: "a > 1"}}
  targets: [{id: out, type: postgresql, table: out, mode: upsert}]
$$);

-- 18. quality rules: unknown type, unknown check, min > max, a bad regular expression
SELECT * FROM etl.validate_config($$pipeline:
  id: x
  sources: [{id: src, type: postgresql, table: t}]
  targets: [{id: out, type: postgresql, table: out}]
  quality:
    rules:
      - {type: completness, column: a}
      - {type: validity, column: a, check: patern}
      - {type: validity, column: b, check: range, min: 10, max: 1}
      - {type: validity, column: c, check: pattern, pattern: "(unclosed"}
      - {type: freshness, column: d, max_age: "3 fortnights"}
      - {type: completeness, column: e, on: nothing}
$$);

-- 19. a duplicate type: outside a validity rule is an error
SELECT * FROM etl.validate_config($$pipeline:
  id: x
  sources: [{id: src, type: postgresql, table: t}]
  targets: [{id: out, type: postgresql, table: out}]
  quality:
    rules:
      - {type: completeness, type: pattern, column: a}
$$);

-- 20. templates where they cannot be rendered safely, or unknown
SELECT * FROM etl.validate_config($$pipeline:
  id: x
  sources:
    - id: src
      type: postgresql
      query: SELECT * FROM "{{param.table}}" WHERE d > {{last_run}} AND r = {{param.region}} AND x = {{lastrun}}
  targets: [{id: out, type: postgresql, table: "{{env.target}}"}]
$$);

-- 21. a source with both query and table; a query that is not a SELECT
SELECT * FROM etl.validate_config($$pipeline:
  id: x
  sources:
    - {id: a, type: postgresql, table: t, query: "SELECT 1"}
    - {id: b, type: postgresql, query: "DELETE FROM t RETURNING *"}
  transforms:
    - {id: u, type: union, input: a, params: {inputs: [b]}}
  targets: [{id: out, type: postgresql, table: out}]
$$);

-- 22. step parameters of the wrong shape
SELECT * FROM etl.validate_config($$pipeline:
  id: x
  engine: spark
  sources: [{id: src, type: postgresql, table: t}]
  transforms:
    - {id: j, type: join, params: {right: other_table, how: outer}}
    - {id: l, type: limit, params: {n: -5}}
    - {id: s, type: sort, params: {by: ["a DESC", "b, c", "c LIMIT 1", "x NULLS LAST"]}}
    - {id: g, type: aggregate, params: {groupby_cols: region, agg_functions: {revenue: [sum, "avg()"]}}}
  targets: [{id: out, type: postgresql, table: "bad name"}]
$$);

-- 23. several sources and no transforms: a target must name its input
SELECT * FROM etl.validate_config($$pipeline:
  id: x
  sources:
    - {id: a, type: postgresql, table: t}
    - {id: b, type: postgresql, table: u}
  targets: [{id: out, type: postgresql, table: out}]
$$);

-- 24. a connection that does not exist yet is only a warning
SELECT * FROM etl.validate_config($$pipeline:
  id: x
  sources: [{id: src, type: postgresql, table: t, connection: not_created_yet}]
  targets: [{id: out, type: postgresql, table: out}]
$$);

-- 25. JSON input: positions are JSON lines and columns too
SELECT * FROM etl.validate_config($${"pipeline": {
  "id": "x",
  "sources": [{"id": "src", "type": "postgresql", "table": "t"}],
  "targets": [{"id": "out", "type": "postgresql", "table": "out", "mode": "merge"}]
}}$$);

-- pandas-style expressions are accepted and normalised
SELECT t->>'id' AS step, t->'params' AS params
  FROM jsonb_array_elements(etl.load_configuration($$pipeline:
  id: x
  sources: [{id: src, type: postgresql, table: t}]
  transforms:
    - {id: a, type: filter, params: {condition: "status == 'a == b' and not deleted or x != 1"}}
    - {id: b, type: map, params: {columns: {adult: "age >= 18 and country == 'FR'"}}}
  targets: [{id: out, type: postgresql, table: out}]
$$)->'pipeline'->'transforms') AS t;

-- input may name a later step (no cycle): the normalised list puts every step
-- after its inputs, keeping the written order otherwise
SELECT string_agg(t->>'id' || '<-' || (t->>'input'), ', ' ORDER BY o) AS normalised_order
  FROM jsonb_array_elements(etl.load_configuration($$pipeline:
  id: x
  sources: [{id: src, type: postgresql, table: t}]
  transforms:
    - {id: total, type: aggregate, input: clean, params: {agg_functions: {amount: sum}}}
    - {id: clean, type: filter, input: src, params: {condition: "amount > 0"}}
    - {id: top, type: sort, input: total, params: {by: ["amount DESC"]}}
  targets: [{id: out, type: postgresql, table: out}]
$$)->'pipeline'->'transforms') WITH ORDINALITY AS a(t, o);
