-- 54_quality_semantics: the edge semantics of issue 15, each with
-- hand-checked results: NULL in cross-column rules (null_is, column_pair),
-- an empty allowed set, numeric bounds on a text column, compound
-- uniqueness with partial NULLs, the regular expression flavours,
-- strict_min / strict_max, the denominators of validity rules, length in
-- characters; and the schema-shape rules (columns,
-- column_count, column_types).
\set SHOW_CONTEXT never
CREATE FUNCTION pg_temp.err(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    d text;
    h text;
BEGIN
    EXECUTE sql;
    RETURN 'no error';
EXCEPTION WHEN others THEN
    GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL, h = PG_EXCEPTION_HINT;
    RETURN SQLSTATE || ': ' || SQLERRM || coalesce(E'\n  detail: ' || nullif(d, ''), '') || coalesce(E'\n  hint: ' || nullif(h, ''), '');
END
$$;
CREATE FUNCTION pg_temp.show(g jsonb)
RETURNS TABLE (rule text, passed boolean, total bigint, failed bigint, observed text)
LANGUAGE sql AS $$
  SELECT c->>'rule', (c->>'passed')::boolean, (c->>'total_rows')::bigint, (c->>'failed_rows')::bigint, c->>'observed'
    FROM jsonb_array_elements(g->'checks') c
$$;

-- w, z: (6, NULL) (NULL, NULL) (5, 5) (4, 7) (NULL, 3)
CREATE TABLE public.q54 (id int PRIMARY KEY, w int, z int, code text, a text, b text, word text);
INSERT INTO q54 VALUES
  (1, 6, NULL, '10', 'x', NULL, 'café'),
  (2, NULL, NULL, '2', 'x', NULL, 'naïve'),
  (3, 5, 5, '7', 'x', 'y', 'plain'),
  (4, 4, 7, 'n/a', 'y', 'y', 'a b'),
  (5, NULL, 3, NULL, 'y', 'y', 'Ünïcode');

-- NULL in a consistency expression: counts as passing by default (as in a
-- CHECK constraint), as failing with null_is: fail.  w = z is NULL for rows
-- 1, 2, 5, true for 3, false for 4.
SELECT * FROM pg_temp.show(etl.quality_gate('q54', $$[
  {"name": "eq_default", "type": "consistency", "expression": "w = z"},
  {"name": "eq_null_fails", "type": "consistency", "expression": "w = z", "null_is": "fail"}]$$));

-- column_pair: both NULL is not checked (row 2); one NULL fails (rows 1, 5);
-- equal uses IS DISTINCT FROM semantics
SELECT * FROM pg_temp.show(etl.quality_gate('q54', $$[
  {"name": "pair_equal", "type": "column_pair", "check": "equal", "columns": ["w", "z"]},
  {"name": "pair_not_equal", "type": "column_pair", "check": "not_equal", "columns": ["w", "z"]},
  {"name": "pair_greater", "type": "column_pair", "check": "greater", "columns": ["z", "w"]},
  {"name": "pair_ge", "type": "column_pair", "check": "greater", "or_equal": true, "columns": ["z", "w"]},
  {"name": "pair_less", "type": "column_pair", "check": "less", "columns": ["w", "z"]}]$$));

-- an empty allowed set allows nothing: every non-NULL value fails (not an error)
SELECT * FROM pg_temp.show(etl.quality_gate('q54',
  '[{"type": "validity", "check": "allowed_values", "column": "code", "values": []}]'));

-- numeric bounds on a text column: compared as text they would let "10"
-- pass 1..10 and "2" fail; a clear error instead, and cast: numeric compares
-- the numbers (a value that is not a number fails)
SELECT pg_temp.err($q$SELECT etl.quality_gate('q54', '[{"type": "validity", "check": "range", "column": "code", "min": 1, "max": 10}]')$q$);
SELECT * FROM pg_temp.show(etl.quality_gate('q54',
  '[{"type": "validity", "check": "range", "column": "code", "min": 1, "max": 10, "cast": "numeric"}]'));
SELECT c->'samples' AS failing
  FROM jsonb_array_elements((etl.quality_gate('q54',
         '[{"type": "validity", "check": "range", "column": "code", "min": 1, "max": 9, "cast": "numeric"}]'))->'checks') c;
-- text bounds on a text column stay a text comparison
SELECT * FROM pg_temp.show(etl.quality_gate('q54',
  '[{"type": "validity", "check": "range", "column": "a", "min": "x", "max": "x"}]'));

-- strict_min / strict_max, separately (w: 6, 5, 4)
SELECT * FROM pg_temp.show(etl.quality_gate('q54', $$[
  {"name": "open_low", "type": "validity", "check": "range", "column": "w", "min": 4, "max": 6, "strict_min": true},
  {"name": "open_high", "type": "validity", "check": "range", "column": "w", "min": 4, "max": 6, "strict_max": true},
  {"name": "closed", "type": "validity", "check": "range", "column": "w", "min": 4, "max": 6},
  {"name": "open_both", "type": "validity", "check": "range", "column": "w", "min": 4, "max": 6, "inclusive": false}]$$));

-- compound uniqueness with partial NULLs: (a, b) = (x, NULL) twice.
-- nulls: distinct (default, as UNIQUE): rows with a NULL key are not checked;
-- not_distinct (UNIQUE NULLS NOT DISTINCT): they are duplicates
SELECT * FROM pg_temp.show(etl.quality_gate('q54', $$[
  {"name": "ab_distinct", "type": "uniqueness", "columns": ["a", "b"]},
  {"name": "ab_not_distinct", "type": "uniqueness", "columns": ["a", "b"], "nulls": "not_distinct"}]$$));
-- PostgreSQL agrees
CREATE TEMP TABLE q54_u1 (a text, b text, UNIQUE (a, b));
CREATE TEMP TABLE q54_u2 (a text, b text, UNIQUE NULLS NOT DISTINCT (a, b));
INSERT INTO q54_u1 SELECT a, b FROM q54 WHERE id IN (1, 2);
SELECT pg_temp.err($q$INSERT INTO q54_u2 SELECT a, b FROM q54 WHERE id IN (1, 2)$q$);

-- regular expressions: PCRE2 with UTF and UCP, so \w and [[:alpha:]] know
-- é, ï and Ü; "." does not match a newline; "$" only at the very end.
-- flavor: postgres uses PostgreSQL's engine (\y, \m are its word boundaries)
SELECT * FROM pg_temp.show(etl.quality_gate('q54', $$[
  {"name": "word_chars", "type": "validity", "check": "pattern", "column": "word", "pattern": "^\\w+$"},
  {"name": "alpha_class", "type": "validity", "check": "pattern", "column": "word", "pattern": "^[[:alpha:]]+$"},
  {"name": "pg_word_start", "type": "validity", "check": "pattern", "column": "word", "pattern": "\\mb", "flavor": "postgres"},
  {"name": "pcre_boundary", "type": "validity", "check": "pattern", "column": "word", "pattern": "\\bb"}]$$));
SELECT etl._re_match(E'a\nb', '^a.b$') AS dot_newline, etl._re_match(E'a\nb', '(?s)^a.b$') AS dotall,
       etl._re_match(E'12345\n', '^[0-9]{5}$') AS dollar_before_newline, (E'12345\n' ~ '^[0-9]{5}$') AS pg_too;
SELECT pg_temp.err($q$SELECT etl.quality_gate('q54', '[{"type": "validity", "check": "pattern", "column": "word", "pattern": "\\y(", "flavor": "postgres"}]')$q$);

-- schema shape: columns (exactly, contains, ordered), column_count, column_types
SELECT * FROM pg_temp.show(etl.quality_gate('q54', $$[
  {"name": "exact_set", "type": "columns", "exactly": ["word", "b", "a", "code", "z", "w", "id"]},
  {"name": "exact_missing", "type": "columns", "exactly": ["id", "w"]},
  {"name": "has_some", "type": "columns", "contains": ["id", "code"]},
  {"name": "has_other", "type": "columns", "contains": ["id", "phone"]},
  {"name": "in_order", "type": "columns", "ordered": ["id", "w", "z", "code", "a", "b", "word"]},
  {"name": "out_of_order", "type": "columns", "ordered": ["w", "id", "z", "code", "a", "b", "word"]},
  {"name": "count_ok", "type": "column_count", "min": 7, "max": 7},
  {"name": "count_low", "type": "column_count", "max": 5},
  {"name": "types_ok", "type": "column_types", "types": {"id": ["integer", "bigint"], "w": "int4", "code": ["text", "varchar"]}},
  {"name": "types_bad", "type": "column_types", "types": {"w": ["numeric"], "nope": "text"}}]$$));

-- validity rules check the non-NULL values in scope: w has 3 of 5 (rows 1,
-- 3, 4), 2 of them in scope id > 2; length counts characters, not bytes
-- (café 4, naïve 5, Ünïcode 7; word has no NULL); the same with samples off
SELECT * FROM pg_temp.show(etl.quality_gate('q54', $$[
  {"name": "w_small", "type": "validity", "check": "range", "column": "w", "max": 5},
  {"name": "w_small_late", "type": "validity", "check": "range", "column": "w", "max": 4, "where": "id > 2"},
  {"name": "word_4_5", "type": "validity", "check": "length", "column": "word", "min": 4, "max": 5},
  {"name": "word_max_3", "type": "validity", "check": "length", "column": "word", "max": 3},
  {"name": "word_min_6", "type": "validity", "check": "length", "column": "word", "min": 6},
  {"name": "code_len", "type": "validity", "check": "length", "column": "code", "min": 2, "max": 2}]$$));
SELECT * FROM pg_temp.show(etl.quality_gate('q54', $$[
  {"name": "w_small", "type": "validity", "check": "range", "column": "w", "max": 5},
  {"name": "w_small_late", "type": "validity", "check": "range", "column": "w", "max": 4, "where": "id > 2"},
  {"name": "code_len", "type": "validity", "check": "length", "column": "code", "min": 2, "max": 2}]$$,
  options => '{"samples": 0}'));

-- bad configuration
SELECT pg_temp.err($q$SELECT etl.quality_gate('q54', '[{"type": "consistency", "expression": "w = z", "null_is": "unknown"}]')$q$);
SELECT pg_temp.err($q$SELECT etl.quality_gate('q54', '[{"type": "column_pair", "check": "equal", "columns": ["w"]}]')$q$);
SELECT pg_temp.err($q$SELECT etl.quality_gate('q54', '[{"type": "column_pair", "check": "equal", "or_equal": true, "columns": ["w", "z"]}]')$q$);
SELECT pg_temp.err($q$SELECT etl.quality_gate('q54', '[{"type": "validity", "check": "range", "column": "code", "min": 1, "cast": "money"}]')$q$);
SELECT pg_temp.err($q$SELECT etl.quality_gate('q54', '[{"type": "columns", "exactly": ["id"], "contains": ["id"]}]')$q$);
SELECT pg_temp.err($q$SELECT etl.quality_gate('q54', '[{"type": "column_count"}]')$q$);
SELECT pg_temp.err($q$SELECT etl.quality_gate('q54', '[{"type": "column_types", "types": {"w": "no such type"}}]')$q$);
SELECT pg_temp.err($q$SELECT etl.quality_gate('q54', '[{"type": "columns", "contains": ["id"], "where": "id > 1"}]')$q$);

DELETE FROM etl.quality_scores WHERE dataset = 'q54';
DROP TABLE q54;
