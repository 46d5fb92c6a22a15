-- 10_config_parse: YAML and JSON parsing with libyaml (etl.parse_config,
-- etl.config_positions): scalars, anchors, aliases, merge keys, JSON, the
-- errors with line and column, and hostile input refused quickly.
\set VERBOSITY default

-- scalars follow the YAML 1.2 core schema: quoted text stays text
SELECT etl.parse_config($$
pipeline:
  id: demo
  n: 12
  f: 1.5
  b: true
  z: ~
  quoted: "12"
  yes_is_text: yes
  list: [a, {k: v}]
$$) AS parsed;

-- JSON is detected and read by the same parser
SELECT etl.parse_config('{"pipeline": {"id": "j", "n": [1, 2.5, null, false]}}') AS parsed;

-- anchors, aliases and merge keys (explicit keys win over merged ones)
SELECT jsonb_pretty(etl.parse_config($$
defaults: &defaults {mode: append, create: true}
targets:
  - <<: *defaults
    id: a
  - <<: *defaults
    id: b
    mode: upsert
$$)) AS merged;

-- every node keeps its line and column
SELECT * FROM etl.config_positions($$
pipeline:
  id: demo
  transforms:
    - id: clean
      params: {condition: "age > 0"}
$$);

-- syntax errors point at their place
SELECT etl.parse_config('pipeline: [1, 2');
SELECT etl.parse_config(E'pipeline:\n\tid: x\n');
SELECT etl.parse_config(E'a: 1\n---\nb: 2\n');
SELECT etl.parse_config('a: *nowhere');
SELECT etl.parse_config('a: !!binary aGVsbG8=');
SELECT etl.parse_config('');

-- hostile input is refused within a second (time measured around each call),
-- and the backend's peak memory (VmHWM) grows by a bounded amount
SELECT (regexp_match(pg_read_file('/proc/' || pg_backend_pid() || '/status'), 'VmHWM:\s+(\d+) kB'))[1]::bigint AS hwm0 \gset
SELECT clock_timestamp() AS t0 \gset
SELECT etl.parse_config(repeat('a', 10 * 1024 * 1024));
SELECT clock_timestamp() - :'t0'::timestamptz < interval '1 second' AS ten_mb_within_a_second;

SELECT clock_timestamp() AS t0 \gset
SELECT etl.parse_config(repeat('[', 1000) || repeat(']', 1000));
SELECT clock_timestamp() - :'t0'::timestamptz < interval '1 second' AS deep_within_a_second;

-- billion laughs: nine levels of ten aliases each would be 10^9 nodes
SELECT 'a0: &a0 [x, x, x, x, x, x, x, x, x, x]' || E'\n' ||
       string_agg(format('a%s: &a%s [%s]', i, i, rtrim(repeat(format('*a%s, ', i - 1), 10), ', ')), E'\n' ORDER BY i)
       AS bomb
  FROM generate_series(1, 9) AS i \gset
SELECT clock_timestamp() AS t0 \gset
SELECT etl.parse_config(:'bomb');
SELECT clock_timestamp() - :'t0'::timestamptz < interval '1 second' AS bomb_within_a_second;
-- and the same through validate_config: one row, no exception
SELECT severity, path, line, col, message FROM etl.validate_config(:'bomb');
-- 10 MB of input text itself is copied a few times; the parser's own memory is capped
SELECT (regexp_match(pg_read_file('/proc/' || pg_backend_pid() || '/status'), 'VmHWM:\s+(\d+) kB'))[1]::bigint
       - :hwm0 < 150 * 1024 AS peak_memory_growth_below_150_mb;

-- wide input stays fast: a mapping may have at most 10000 keys, validate_config
-- keeps at most 1000 rows (and says how many more), a pipeline has at most
-- 1000 steps, merge keys of big mappings are hashed
SELECT clock_timestamp() AS t0 \gset
SELECT etl.parse_config(string_agg(format('k%s: 1', i), E'\n')) FROM generate_series(1, 20000) AS i;
SELECT count(*) AS rows, max(message) FILTER (WHERE path = '') AS last_row
  FROM etl.validate_config((SELECT E'pipeline:\n' || string_agg(format('  k%s: 1', i), E'\n')
                              FROM generate_series(1, 9000) AS i));
SELECT count(*) AS problems
  FROM etl.validate_config((SELECT E'pipeline:\n  id: big\n  sources: [{id: src, type: postgresql, table: t}]\n  transforms:\n' ||
                                   string_agg(format('    - {id: s%s, type: filter, params: {condition: "a > %s and b == 2"}}', i, i), E'\n') ||
                                   E'\n  targets: [{id: out, type: postgresql, table: out}]'
                              FROM generate_series(1, 1000) AS i));
-- 1000 steps written in reverse order of the flow (each reads the next one)
SELECT (etl.load_configuration((SELECT E'pipeline:\n  id: big\n  sources: [{id: src, type: postgresql, table: t}]\n  transforms:\n' ||
                                   string_agg(format('    - {id: s%s, type: filter, input: s%s, params: {condition: "a > %s"}}', i, i + 1, i), E'\n') ||
                                   E'\n    - {id: s1000, type: filter, input: src, params: {condition: "b"}}' ||
                                   E'\n  targets: [{id: out, type: postgresql, table: out, input: s1}]'
                              FROM generate_series(1, 999) AS i)) #>> '{pipeline,transforms,0,id}') AS first_step;
SELECT jsonb_array_length(etl.parse_config((SELECT E'base: &b {' || string_agg(format('k%s: 1', i), ', ') ||
                                                   E'}\nm: [{<<: *b}, {<<: *b}, {<<: *b}]'
                                              FROM generate_series(1, 5000) AS i)) -> 'm') AS merged_maps;
-- (a generous bound on a shared machine: quadratic work here would take minutes)
SELECT clock_timestamp() - :'t0'::timestamptz < interval '5 seconds' AS wide_is_fast;
