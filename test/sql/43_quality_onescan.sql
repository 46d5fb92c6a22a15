-- 43_quality_onescan: all row-level rules and the profile of a dataset are
-- evaluated in ONE scan.  pg_stat_user_tables.seq_scan of the source grows
-- by exactly 1 for 12 row-level rules, 2 uniqueness rules and a full profile;
-- the same rules run as separate gates cost one scan each (the control).
-- Parallel query is off: a parallel scan counts once per participant.
SET max_parallel_workers_per_gather = 0;
CREATE TABLE public.q43 AS
SELECT i AS id, 'user' || i || '@example.com' AS email, (i % 90) + 5 AS age,
       (ARRAY['DE', 'FR', 'IT', 'XX'])[1 + i % 4] AS country, i * 2.5 AS amount,
       DATE '2024-01-01' + i % 300 AS start_date, DATE '2024-02-01' + i % 300 AS end_date,
       CASE WHEN i % 17 = 0 THEN NULL ELSE 'p' || (i % 1000) END AS phone
  FROM generate_series(1, 20000) i;
SELECT etl.define_quality_profile('q43_rules', $$[
  {"type": "completeness", "column": "email"},
  {"type": "completeness", "column": "phone", "threshold": 90},
  {"type": "validity", "check": "pattern", "column": "email", "pattern": "^[^@]+@[^@]+\\.[^@]+$"},
  {"type": "validity", "check": "format", "column": "email", "format": "email", "name": "email_format"},
  {"type": "validity", "check": "range", "column": "age", "min": 0, "max": 120},
  {"type": "validity", "check": "range", "column": "amount", "min": 0, "name": "amount_positive"},
  {"type": "validity", "check": "allowed_values", "column": "country", "values": ["DE", "FR", "IT"], "threshold": 70},
  {"type": "validity", "check": "length", "column": "phone", "min": 2, "max": 4},
  {"type": "validity", "check": "type", "column": "phone", "data_type": "text", "name": "phone_text"},
  {"type": "consistency", "expression": "end_date >= start_date"},
  {"type": "consistency", "expression": "amount > 0 OR age < 10", "where": "country <> 'XX'"},
  {"type": "completeness", "column": "start_date", "where": "age > 50"},
  {"type": "uniqueness", "column": "id"},
  {"type": "uniqueness", "columns": ["email", "country"]}]$$);

SELECT pg_stat_force_next_flush();
SELECT seq_scan AS scans_before FROM pg_stat_user_tables WHERE relname = 'q43' \gset

SELECT r->'passed' AS passed, jsonb_array_length(r->'checks') AS checks,
       r->'profile'->'row_count' AS profiled_rows, jsonb_array_length(r->'profile'->'columns') AS profiled_columns,
       (SELECT count(*) FROM jsonb_array_elements(r->'checks') c WHERE (c->>'failed_rows')::int > 0) AS failing_checks
  FROM etl.execute_dq_validation('q43', 'q43_rules', options => '{"profile": true}') r;

SELECT pg_stat_force_next_flush();
SELECT seq_scan - :scans_before AS scans_for_14_rules_and_profile FROM pg_stat_user_tables WHERE relname = 'q43';

-- control: the per-rule pattern (one query per rule) costs a scan per rule
SELECT seq_scan AS scans_before FROM pg_stat_user_tables WHERE relname = 'q43' \gset
SELECT (etl.quality_gate('q43', '[{"type": "completeness", "column": "email"}]'))->'passed' AS p1;
SELECT (etl.quality_gate('q43', '[{"type": "validity", "check": "range", "column": "age", "min": 0}]'))->'passed' AS p2;
SELECT (etl.quality_gate('q43', '[{"type": "consistency", "expression": "end_date >= start_date"}]'))->'passed' AS p3;
SELECT pg_stat_force_next_flush();
SELECT seq_scan - :scans_before AS scans_for_3_separate_gates FROM pg_stat_user_tables WHERE relname = 'q43';

-- only row-level rules: one plain aggregate, no materialisation
SELECT seq_scan AS scans_before FROM pg_stat_user_tables WHERE relname = 'q43' \gset
SELECT jsonb_array_length(g->'checks') AS checks FROM etl.quality_gate('q43', $$[
  {"type": "completeness", "column": "email"}, {"type": "completeness", "column": "phone"},
  {"type": "validity", "check": "range", "column": "age", "min": 0},
  {"type": "validity", "check": "pattern", "column": "email", "pattern": "@"},
  {"type": "consistency", "expression": "end_date >= start_date"}]$$) g;
SELECT pg_stat_force_next_flush();
SELECT seq_scan - :scans_before AS scans_for_5_row_rules FROM pg_stat_user_tables WHERE relname = 'q43';

RESET max_parallel_workers_per_gather;
DELETE FROM etl.quality_scores WHERE dataset = 'q43';
DELETE FROM etl.profiling_stats WHERE dataset = 'q43';
DELETE FROM etl.quality_profiles WHERE name = 'q43_rules';
DROP TABLE q43;
