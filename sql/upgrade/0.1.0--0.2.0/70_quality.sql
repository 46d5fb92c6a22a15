-- 70_quality (0.1.0 -> 0.2.0): the quality engine moved from PL/pgSQL to C
-- (src/quality/).  What 0.1.0 had and 0.2.0 has not is dropped; dq_results
-- takes the new rule kinds; then the functions of sql/install/70_quality.sql,
-- repeated exactly (they are CREATE OR REPLACE there).

DROP FUNCTION etl._check_expression(pg_catalog.text, pg_catalog.text);
DROP FUNCTION etl._data_columns(pg_catalog.text);
DROP FUNCTION etl._expression_columns(pg_catalog.text);
DROP FUNCTION etl._dq_formats();
DROP FUNCTION etl._dq_type_format(pg_catalog.text);
DROP FUNCTION etl._dq_fail(pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text);
DROP FUNCTION etl._qb_add(pg_catalog.text[], pg_catalog.text[], pg_catalog.jsonb, pg_catalog.text);
DROP FUNCTION etl._dq_check_bool(pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text);
DROP FUNCTION etl._dq_column(pg_catalog.jsonb, pg_catalog.text, pg_catalog.text, pg_catalog.text);
DROP FUNCTION etl._dq_dimension(pg_catalog.text);
DROP FUNCTION etl._dq_scan(pg_catalog.text, pg_catalog.jsonb, pg_catalog.jsonb);
DROP FUNCTION etl._dq_profile_result(pg_catalog.jsonb[], pg_catalog.jsonb, pg_catalog.int8, pg_catalog.jsonb, pg_catalog.bool);
DROP FUNCTION etl._dq_weights(pg_catalog.jsonb);
DROP FUNCTION etl._dq_record(pg_catalog.jsonb, pg_catalog.int8, pg_catalog.text, pg_catalog.text, pg_catalog.jsonb);
DROP FUNCTION etl._dq_options(pg_catalog.jsonb, pg_catalog.text[]);
DROP FUNCTION etl._dq_store_profile(pg_catalog.jsonb, pg_catalog.text, pg_catalog.int8);

ALTER TABLE etl.dq_results DROP CONSTRAINT dq_results_rule_type_check;
ALTER TABLE etl.dq_results ADD CONSTRAINT dq_results_rule_type_check
    CHECK (rule_type IN ('consistency', 'referential', 'freshness', 'row_count', 'schema', 'custom',
                                         'min', 'max', 'mean', 'sum', 'stddev', 'median', 'quantile', 'distinct_count',
                                         'proportion_unique', 'most_common', 'distinct_values', 'monotonic', 'parseable',
                                         'date_format', 'column_pair', 'columns', 'column_count', 'column_types',
                                         'row_count_equal', 'outliers', 'drift'));
COMMENT ON TABLE etl.dq_results IS
  'Results of every rule kind but completeness, validity and uniqueness (which have their own tables)';

-- ---------------------------------------------------------------------------
-- functions (repeated in sql/upgrade/0.1.0--0.2.0/70_quality.sql)
-- ---------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION etl._resolve_data(data pg_catalog.text)
RETURNS pg_catalog.text
LANGUAGE c STABLE STRICT
AS 'MODULE_PATHNAME', 'metaetl_resolve_data';
COMMENT ON FUNCTION etl._resolve_data(pg_catalog.text) IS
  'internal: a relation name or one SELECT as a safe FROM item (src/util/relation.c: PostgreSQL''s scanner and parser decide)';

CREATE OR REPLACE FUNCTION etl._normalize_rules(rules pg_catalog.jsonb)
RETURNS pg_catalog.jsonb
LANGUAGE c STABLE
AS 'MODULE_PATHNAME', 'metaetl_normalize_rules';
COMMENT ON FUNCTION etl._normalize_rules(pg_catalog.jsonb) IS
  'internal: validates quality rules (an array or a quality block) and fills defaults, with the validator etl.validate_config uses (src/quality/rules.c)';

CREATE OR REPLACE FUNCTION etl._re_match(subject pg_catalog.text, pattern pg_catalog.text)
RETURNS pg_catalog.bool
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_re_match';
COMMENT ON FUNCTION etl._re_match(pg_catalog.text, pg_catalog.text) IS
  'internal: PCRE2 (JIT, UTF and UCP) unanchored regular expression search, the pattern compiled once per query';

CREATE OR REPLACE FUNCTION etl._is_json(pg_catalog.text)
RETURNS pg_catalog.bool
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_is_json';
COMMENT ON FUNCTION etl._is_json(pg_catalog.text) IS 'internal: true when the text is valid JSON';

CREATE OR REPLACE FUNCTION etl._num_float8(pg_catalog.numeric)
RETURNS pg_catalog.float8
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_num_float8';
COMMENT ON FUNCTION etl._num_float8(pg_catalog.numeric) IS
  'internal: numeric::float8 (the same double) without printing and parsing the number';

CREATE OR REPLACE FUNCTION etl._length_ok(value pg_catalog.text, min_chars pg_catalog.int4, max_chars pg_catalog.int4)
RETURNS pg_catalog.bool
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_length_ok';
COMMENT ON FUNCTION etl._length_ok(pg_catalog.text, pg_catalog.int4, pg_catalog.int4) IS
  'internal: min_chars <= char_length(value) <= max_chars, counting characters only when the byte length cannot tell';

CREATE OR REPLACE FUNCTION etl._parseable(value pg_catalog.text, kind pg_catalog.text)
RETURNS pg_catalog.bool
LANGUAGE c STABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_parseable';
COMMENT ON FUNCTION etl._parseable(pg_catalog.text, pg_catalog.text) IS
  'internal: whether value::kind would succeed (date, timestamp, json, uuid, numeric, inet), without a subtransaction';

CREATE OR REPLACE FUNCTION etl._date_format_ok(value pg_catalog.text, template pg_catalog.text)
RETURNS pg_catalog.bool
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_date_format_ok';
COMMENT ON FUNCTION etl._date_format_ok(pg_catalog.text, pg_catalog.text) IS
  'internal: whether value has exactly the shape of a to_timestamp template (YYYY-MM-DD, ...) and is a real date and time';

-- ---------------------------------------------------------------------------
-- C aggregates of the one scan (src/quality/aggs.c, valtab.c, sketchagg.c, profagg.c)
-- ---------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION etl._nonnull_sfunc(pg_catalog.internal, VARIADIC "any")
RETURNS pg_catalog.internal LANGUAGE c PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_nonnull_sfunc';
CREATE OR REPLACE FUNCTION etl._nonnull_final(pg_catalog.internal)
RETURNS pg_catalog.int8[] LANGUAGE c PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_nonnull_final';
CREATE OR REPLACE FUNCTION etl._nonnull_combine(pg_catalog.internal, pg_catalog.internal)
RETURNS pg_catalog.internal LANGUAGE c PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_nonnull_combine';
CREATE OR REPLACE FUNCTION etl._nonnull_serial(pg_catalog.internal)
RETURNS pg_catalog.bytea LANGUAGE c STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_nonnull_serial';
CREATE OR REPLACE FUNCTION etl._nonnull_deserial(pg_catalog.bytea, pg_catalog.internal)
RETURNS pg_catalog.internal LANGUAGE c STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_nonnull_deserial';
CREATE OR REPLACE AGGREGATE etl._count_nonnull(VARIADIC "any") (
    SFUNC = etl._nonnull_sfunc, STYPE = pg_catalog.internal, FINALFUNC = etl._nonnull_final,
    COMBINEFUNC = etl._nonnull_combine, SERIALFUNC = etl._nonnull_serial, DESERIALFUNC = etl._nonnull_deserial,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE etl._count_nonnull(VARIADIC "any") IS
  'count(column) of many columns in one call per row, as int8[] in argument order';

CREATE OR REPLACE FUNCTION etl._hll_sfunc(pg_catalog.internal, anyelement)
RETURNS pg_catalog.internal LANGUAGE c PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_hll_sfunc';
CREATE OR REPLACE FUNCTION etl._hll_final(pg_catalog.internal)
RETURNS pg_catalog.int8 LANGUAGE c PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_hll_final';
CREATE OR REPLACE FUNCTION etl._hll_combine(pg_catalog.internal, pg_catalog.internal)
RETURNS pg_catalog.internal LANGUAGE c PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_hll_combine';
CREATE OR REPLACE FUNCTION etl._hll_serial(pg_catalog.internal)
RETURNS pg_catalog.bytea LANGUAGE c STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_hll_serial';
CREATE OR REPLACE FUNCTION etl._hll_deserial(pg_catalog.bytea, pg_catalog.internal)
RETURNS pg_catalog.internal LANGUAGE c STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_hll_deserial';
CREATE OR REPLACE AGGREGATE etl._hll_distinct(anyelement) (
    SFUNC = etl._hll_sfunc, STYPE = pg_catalog.internal, FINALFUNC = etl._hll_final,
    COMBINEFUNC = etl._hll_combine, SERIALFUNC = etl._hll_serial, DESERIALFUNC = etl._hll_deserial,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE etl._hll_distinct(anyelement) IS
  'approximate distinct count (HyperLogLog, 2^14 registers, about 0.8% standard error)';

CREATE OR REPLACE FUNCTION etl._moments_sfunc(pg_catalog.internal, pg_catalog.float8)
RETURNS pg_catalog.internal LANGUAGE c PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_moments_sfunc';
CREATE OR REPLACE FUNCTION etl._moments_final(pg_catalog.internal)
RETURNS pg_catalog.jsonb LANGUAGE c PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_moments_final';
CREATE OR REPLACE FUNCTION etl._moments_combine(pg_catalog.internal, pg_catalog.internal)
RETURNS pg_catalog.internal LANGUAGE c PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_moments_combine';
CREATE OR REPLACE FUNCTION etl._moments_serial(pg_catalog.internal)
RETURNS pg_catalog.bytea LANGUAGE c STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_moments_serial';
CREATE OR REPLACE FUNCTION etl._moments_deserial(pg_catalog.bytea, pg_catalog.internal)
RETURNS pg_catalog.internal LANGUAGE c STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_moments_deserial';
CREATE OR REPLACE AGGREGATE etl._moments(pg_catalog.float8) (
    SFUNC = etl._moments_sfunc, STYPE = pg_catalog.internal, FINALFUNC = etl._moments_final,
    COMBINEFUNC = etl._moments_combine, SERIALFUNC = etl._moments_serial, DESERIALFUNC = etl._moments_deserial,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE etl._moments(pg_catalog.float8) IS
  'one-pass mean, sample stddev/variance, skewness and excess kurtosis, as pandas computes them';

CREATE OR REPLACE FUNCTION etl._sample_sfunc(pg_catalog.internal, pg_catalog.text[], pg_catalog.int4, VARIADIC "any")
RETURNS pg_catalog.internal LANGUAGE c PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_sample_sfunc';
CREATE OR REPLACE FUNCTION etl._sample_final(pg_catalog.internal)
RETURNS pg_catalog.jsonb LANGUAGE c PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_sample_final';
CREATE OR REPLACE FUNCTION etl._sample_combine(pg_catalog.internal, pg_catalog.internal)
RETURNS pg_catalog.internal LANGUAGE c PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_sample_combine';
CREATE OR REPLACE FUNCTION etl._sample_serial(pg_catalog.internal)
RETURNS pg_catalog.bytea LANGUAGE c STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_sample_serial';
CREATE OR REPLACE FUNCTION etl._sample_deserial(pg_catalog.bytea, pg_catalog.internal)
RETURNS pg_catalog.internal LANGUAGE c STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_sample_deserial';
CREATE OR REPLACE AGGREGATE etl._failures(pg_catalog.text[], pg_catalog.int4, VARIADIC "any") (
    SFUNC = etl._sample_sfunc, STYPE = pg_catalog.internal, FINALFUNC = etl._sample_final,
    COMBINEFUNC = etl._sample_combine, SERIALFUNC = etl._sample_serial, DESERIALFUNC = etl._sample_deserial,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE etl._failures(pg_catalog.text[], pg_catalog.int4, VARIADIC "any") IS
  'with FILTER (WHERE <row fails>): {"n": failing rows, "samples": [the first N rows as {name: value}]}, bounded memory';

CREATE OR REPLACE FUNCTION etl._sample_nulls_sfunc(pg_catalog.internal, pg_catalog.bool, pg_catalog.text[], pg_catalog.int4, VARIADIC "any")
RETURNS pg_catalog.internal LANGUAGE c PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_sample_nulls_sfunc';
CREATE OR REPLACE AGGREGATE etl._failures_nulls(pg_catalog.bool, pg_catalog.text[], pg_catalog.int4, VARIADIC "any") (
    SFUNC = etl._sample_nulls_sfunc, STYPE = pg_catalog.internal, FINALFUNC = etl._sample_final,
    COMBINEFUNC = etl._sample_combine, SERIALFUNC = etl._sample_serial, DESERIALFUNC = etl._sample_deserial,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE etl._failures_nulls(pg_catalog.bool, pg_catalog.text[], pg_catalog.int4, VARIADIC "any") IS
  'etl._failures(names, N, values) FILTER (WHERE (<row fails>) IS NOT FALSE) that also counts the rows whose first argument (value IS NULL) is true: {"n", "nulls", "samples"}';

CREATE OR REPLACE FUNCTION etl._freq_sfunc(pg_catalog.internal, anyelement, pg_catalog.int4, anyarray)
RETURNS pg_catalog.internal LANGUAGE c PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_freq_sfunc';
CREATE OR REPLACE FUNCTION etl._freq_final(pg_catalog.internal)
RETURNS pg_catalog.jsonb LANGUAGE c PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_freq_final';
CREATE OR REPLACE FUNCTION etl._freq_combine(pg_catalog.internal, pg_catalog.internal)
RETURNS pg_catalog.internal LANGUAGE c PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_freq_combine';
CREATE OR REPLACE FUNCTION etl._freq_serial(pg_catalog.internal)
RETURNS pg_catalog.bytea LANGUAGE c STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_freq_serial';
CREATE OR REPLACE FUNCTION etl._freq_deserial(pg_catalog.bytea, pg_catalog.internal)
RETURNS pg_catalog.internal LANGUAGE c STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_freq_deserial';
CREATE OR REPLACE AGGREGATE etl._freq(anyelement, pg_catalog.int4, anyarray) (
    SFUNC = etl._freq_sfunc, STYPE = pg_catalog.internal, FINALFUNC = etl._freq_final,
    COMBINEFUNC = etl._freq_combine, SERIALFUNC = etl._freq_serial, DESERIALFUNC = etl._freq_deserial,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE etl._freq(anyelement, pg_catalog.int4, anyarray) IS
  'distinct values with exact counts: {n, distinct, unique, top, mode, mode_count, and against a reference set ref_counts, ref_missing, extra}';

CREATE OR REPLACE FUNCTION etl._kll_sfunc(pg_catalog.internal, pg_catalog.float8)
RETURNS pg_catalog.internal LANGUAGE c PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_kll_sfunc';
CREATE OR REPLACE FUNCTION etl._kll_final(pg_catalog.internal)
RETURNS pg_catalog.jsonb LANGUAGE c PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_kll_final';
CREATE OR REPLACE FUNCTION etl._kll_combine(pg_catalog.internal, pg_catalog.internal)
RETURNS pg_catalog.internal LANGUAGE c PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_kll_combine';
CREATE OR REPLACE FUNCTION etl._kll_serial(pg_catalog.internal)
RETURNS pg_catalog.bytea LANGUAGE c STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_kll_serial';
CREATE OR REPLACE FUNCTION etl._kll_deserial(pg_catalog.bytea, pg_catalog.internal)
RETURNS pg_catalog.internal LANGUAGE c STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_kll_deserial';
CREATE OR REPLACE AGGREGATE etl._kll(pg_catalog.float8) (
    SFUNC = etl._kll_sfunc, STYPE = pg_catalog.internal, FINALFUNC = etl._kll_final,
    COMBINEFUNC = etl._kll_combine, SERIALFUNC = etl._kll_serial, DESERIALFUNC = etl._kll_deserial,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE etl._kll(pg_catalog.float8) IS
  'a KLL quantile sketch of the values (k = 200, mergeable), as stored in etl.profiling_stats for drift rules';

CREATE OR REPLACE FUNCTION etl._colstats_sfunc(pg_catalog.internal, pg_catalog.int4[], VARIADIC "any")
RETURNS pg_catalog.internal LANGUAGE c PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_colstats_sfunc';
CREATE OR REPLACE FUNCTION etl._colstats_final(pg_catalog.internal)
RETURNS pg_catalog.jsonb LANGUAGE c PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_colstats_final';
CREATE OR REPLACE FUNCTION etl._colstats_combine(pg_catalog.internal, pg_catalog.internal)
RETURNS pg_catalog.internal LANGUAGE c PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_colstats_combine';
CREATE OR REPLACE FUNCTION etl._colstats_serial(pg_catalog.internal)
RETURNS pg_catalog.bytea LANGUAGE c STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_colstats_serial';
CREATE OR REPLACE FUNCTION etl._colstats_deserial(pg_catalog.bytea, pg_catalog.internal)
RETURNS pg_catalog.internal LANGUAGE c STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_colstats_deserial';
CREATE OR REPLACE AGGREGATE etl._colstats(pg_catalog.int4[], VARIADIC "any") (
    SFUNC = etl._colstats_sfunc, STYPE = pg_catalog.internal, FINALFUNC = etl._colstats_final,
    COMBINEFUNC = etl._colstats_combine, SERIALFUNC = etl._colstats_serial, DESERIALFUNC = etl._colstats_deserial,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE etl._colstats(pg_catalog.int4[], VARIADIC "any") IS
  'the aggregate rules of one scope in one call per row: per argument {n, min, max, sum, mean, stddev, hll, kll} as its flags ask (src/quality/colstats.c)';

CREATE OR REPLACE FUNCTION etl._quantiles_sfunc(pg_catalog.internal, pg_catalog.float8, pg_catalog.float8[])
RETURNS pg_catalog.internal LANGUAGE c PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_quantiles_sfunc';
CREATE OR REPLACE FUNCTION etl._quantiles_final(pg_catalog.internal)
RETURNS pg_catalog.float8[] LANGUAGE c PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_quantiles_final';
CREATE OR REPLACE FUNCTION etl._quantiles_combine(pg_catalog.internal, pg_catalog.internal)
RETURNS pg_catalog.internal LANGUAGE c PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_quantiles_combine';
CREATE OR REPLACE FUNCTION etl._quantiles_serial(pg_catalog.internal)
RETURNS pg_catalog.bytea LANGUAGE c STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_quantiles_serial';
CREATE OR REPLACE FUNCTION etl._quantiles_deserial(pg_catalog.bytea, pg_catalog.internal)
RETURNS pg_catalog.internal LANGUAGE c STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_quantiles_deserial';
CREATE OR REPLACE AGGREGATE etl._quantiles(pg_catalog.float8, pg_catalog.float8[]) (
    SFUNC = etl._quantiles_sfunc, STYPE = pg_catalog.internal, FINALFUNC = etl._quantiles_final,
    COMBINEFUNC = etl._quantiles_combine, SERIALFUNC = etl._quantiles_serial, DESERIALFUNC = etl._quantiles_deserial,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE etl._quantiles(pg_catalog.float8, pg_catalog.float8[]) IS
  'exact quantiles with linear interpolation (percentile_cont), parallel-capable: median and quantile rules';

CREATE OR REPLACE FUNCTION etl._outliers_sfunc(pg_catalog.internal, pg_catalog.text, pg_catalog.jsonb, VARIADIC pg_catalog.float8[])
RETURNS pg_catalog.internal LANGUAGE c PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_outliers_sfunc';
CREATE OR REPLACE FUNCTION etl._outliers_final(pg_catalog.internal)
RETURNS pg_catalog.jsonb LANGUAGE c PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_outliers_final';
CREATE OR REPLACE FUNCTION etl._outliers_combine(pg_catalog.internal, pg_catalog.internal)
RETURNS pg_catalog.internal LANGUAGE c PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_outliers_combine';
CREATE OR REPLACE FUNCTION etl._outliers_serial(pg_catalog.internal)
RETURNS pg_catalog.bytea LANGUAGE c STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_outliers_serial';
CREATE OR REPLACE FUNCTION etl._outliers_deserial(pg_catalog.bytea, pg_catalog.internal)
RETURNS pg_catalog.internal LANGUAGE c STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_outliers_deserial';
CREATE OR REPLACE AGGREGATE etl._outliers(pg_catalog.text, pg_catalog.jsonb, VARIADIC pg_catalog.float8[]) (
    SFUNC = etl._outliers_sfunc, STYPE = pg_catalog.internal, FINALFUNC = etl._outliers_final,
    COMBINEFUNC = etl._outliers_combine, SERIALFUNC = etl._outliers_serial, DESERIALFUNC = etl._outliers_deserial,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE etl._outliers(pg_catalog.text, pg_catalog.jsonb, VARIADIC pg_catalog.float8[]) IS
  'the outliers rule: rows scored by the detectors of etl.detect_anomalies (method, options); {rows, scored, flagged, max_score}';

CREATE OR REPLACE FUNCTION etl._numdist_sfunc(pg_catalog.internal, pg_catalog.float8, pg_catalog.int8)
RETURNS pg_catalog.internal LANGUAGE c PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_numdist_sfunc';
CREATE OR REPLACE FUNCTION etl._numdist_final(pg_catalog.internal)
RETURNS pg_catalog.jsonb LANGUAGE c PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_numdist_final';
CREATE OR REPLACE AGGREGATE etl._numdist(pg_catalog.float8, pg_catalog.int8) (
    SFUNC = etl._numdist_sfunc, STYPE = pg_catalog.internal, FINALFUNC = etl._numdist_final,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE etl._numdist(pg_catalog.float8, pg_catalog.int8) IS
  'the exact profile''s quantiles, histogram and KLL sketch of a column from its distinct values and their counts';
CREATE OR REPLACE FUNCTION etl._monotonic_sfunc(pg_catalog.internal, anyelement, pg_catalog.bool, pg_catalog.bool)
RETURNS pg_catalog.internal LANGUAGE c PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_monotonic_sfunc';
CREATE OR REPLACE FUNCTION etl._monotonic_final(pg_catalog.internal)
RETURNS pg_catalog.jsonb LANGUAGE c PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_monotonic_final';
CREATE OR REPLACE AGGREGATE etl._monotonic(anyelement, pg_catalog.bool, pg_catalog.bool) (
    SFUNC = etl._monotonic_sfunc, STYPE = pg_catalog.internal, FINALFUNC = etl._monotonic_final,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE etl._monotonic(anyelement, pg_catalog.bool, pg_catalog.bool) IS
  'with ORDER BY: consecutive values that break increasing (or decreasing, the third argument; strict, the second): {pairs, violations, samples}';

CREATE OR REPLACE FUNCTION etl._profile_sfunc(pg_catalog.internal, VARIADIC "any")
RETURNS pg_catalog.internal LANGUAGE c PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_profile_sfunc';
CREATE OR REPLACE FUNCTION etl._profile_final(pg_catalog.internal)
RETURNS pg_catalog.jsonb LANGUAGE c PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_profile_final';
CREATE OR REPLACE FUNCTION etl._profile_combine(pg_catalog.internal, pg_catalog.internal)
RETURNS pg_catalog.internal LANGUAGE c PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_profile_combine';
CREATE OR REPLACE FUNCTION etl._profile_serial(pg_catalog.internal)
RETURNS pg_catalog.bytea LANGUAGE c STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_profile_serial';
CREATE OR REPLACE FUNCTION etl._profile_deserial(pg_catalog.bytea, pg_catalog.internal)
RETURNS pg_catalog.internal LANGUAGE c STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_profile_deserial';
CREATE OR REPLACE AGGREGATE etl._profile_approx(VARIADIC "any") (
    SFUNC = etl._profile_sfunc, STYPE = pg_catalog.internal, FINALFUNC = etl._profile_final,
    COMBINEFUNC = etl._profile_combine, SERIALFUNC = etl._profile_serial, DESERIALFUNC = etl._profile_deserial,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE etl._profile_approx(VARIADIC "any") IS
  'the approximate profile of every argument column in one call per row (HyperLogLog, KLL, moments, lengths, top values, duplicate rows)';

-- ---------------------------------------------------------------------------
-- Public functions (DESIGN.md section 4, "Quality")
-- ---------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION etl.profile(data pg_catalog.text, options pg_catalog.jsonb DEFAULT '{}')
RETURNS pg_catalog.jsonb
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'metaetl_profile';
COMMENT ON FUNCTION etl.profile(pg_catalog.text, pg_catalog.jsonb) IS
  'profiles a relation or SELECT in one scan (counts, nulls, distinct, ranges, moments, quantiles, top values, histograms, semantic types; approximate from 100,000 rows) and stores it in etl.profiling_stats';

CREATE OR REPLACE FUNCTION etl.define_quality_profile(name pg_catalog.text, rules pg_catalog.jsonb)
RETURNS void
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'metaetl_define_quality_profile';
COMMENT ON FUNCTION etl.define_quality_profile(pg_catalog.text, pg_catalog.jsonb) IS
  'creates or replaces a named rule set (an array of rules, or {rules, weights, options}) after validating it';

CREATE OR REPLACE FUNCTION etl.execute_dq_validation(data pg_catalog.text, profile pg_catalog.text,
                                                     run_id pg_catalog.int8 DEFAULT NULL,
                                                     options pg_catalog.jsonb DEFAULT '{}')
RETURNS pg_catalog.jsonb
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'metaetl_execute_dq_validation';
COMMENT ON FUNCTION etl.execute_dq_validation(pg_catalog.text, pg_catalog.text, pg_catalog.int8, pg_catalog.jsonb) IS
  'runs a named quality profile on a relation or SELECT in one scan; records checks and the score; returns quality_score, passed and checks';

CREATE OR REPLACE FUNCTION etl.quality_gate(data pg_catalog.text, rules pg_catalog.jsonb,
                                            run_id pg_catalog.int8 DEFAULT NULL,
                                            pipeline_id pg_catalog.text DEFAULT NULL,
                                            gate pg_catalog.text DEFAULT 'error',
                                            options pg_catalog.jsonb DEFAULT '{}')
RETURNS pg_catalog.jsonb
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'metaetl_quality_gate';
COMMENT ON FUNCTION etl.quality_gate(pg_catalog.text, pg_catalog.jsonb, pg_catalog.int8, pg_catalog.text, pg_catalog.text, pg_catalog.jsonb) IS
  'the in-transaction quality gate: evaluates rules on a dataset in one scan, records results, optionally quarantines failing rows; never raises for a failing rule';

CREATE OR REPLACE FUNCTION etl.suggest_rules(data pg_catalog.text)
RETURNS pg_catalog.jsonb
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    prof    jsonb := etl.profile(data, '{"store": false, "approximate": false}');
    n       bigint := (prof->>'row_count')::bigint;
    o       jsonb;
    col     text;
    cnt     bigint;
    p       numeric;
    bound   numeric;
    nd      bigint;
    out     jsonb := '[]';
BEGIN
    IF n = 0 THEN
        RETURN jsonb_build_object('dataset', data, 'rows_profiled', 0, 'rules', '[]'::jsonb,
                                  'note', 'the dataset is empty: no rules can be suggested');
    END IF;
    out := out || jsonb_build_array(jsonb_build_object('name', 'row_count', 'type', 'row_count', 'min', 1,
               'severity', 'warn', 'description', 'the dataset is not empty'));
    FOR o IN SELECT e FROM jsonb_array_elements(prof->'columns') e LOOP
        col := o->>'column';
        cnt := (o->>'count')::bigint;
        IF cnt = 0 THEN
            CONTINUE;       -- an all-NULL column: nothing to learn from
        END IF;
        -- completeness: exact when complete, else a 95% lower confidence bound
        p := cnt::numeric / n;
        IF p = 1 THEN
            out := out || jsonb_build_array(jsonb_build_object('name', 'completeness_' || col, 'type', 'completeness',
                       'column', col, 'threshold', 100, 'description', 'no NULLs observed'));
        ELSIF p >= 0.5 THEN
            bound := round(greatest(0, floor((p - 1.96 * sqrt(p * (1 - p) / n)) * 1000) / 10), 1);
            out := out || jsonb_build_array(jsonb_build_object('name', 'completeness_' || col, 'type', 'completeness',
                       'column', col, 'threshold', bound, 'severity', 'warn',
                       'description', format('%s%% non-NULL observed; threshold is the 95%% lower confidence bound',
                                             round(100 * p, 2))));
        END IF;
        -- numeric: non-negative, observed range
        IF o ? 'negatives' THEN
            IF (o->>'negatives')::bigint = 0 THEN
                out := out || jsonb_build_array(jsonb_build_object('name', 'non_negative_' || col, 'type', 'validity',
                           'check', 'range', 'column', col, 'min', 0, 'description', 'no negative values observed'));
            END IF;
            out := out || jsonb_build_array(jsonb_build_object('name', 'range_' || col, 'type', 'validity',
                       'check', 'range', 'column', col, 'min', o->'min', 'max', o->'max', 'severity', 'warn',
                       'description', 'the observed range'));
        END IF;
        -- low cardinality: allowed values
        nd := (o->>'distinct')::bigint;
        IF nd BETWEEN 1 AND 10 AND cnt >= 2 * nd AND o->>'semantic_type' NOT IN ('float', 'date', 'timestamp')
           AND jsonb_array_length(coalesce(o->'top_values', '[]')) = nd THEN
            out := out || jsonb_build_array(jsonb_build_object('name', 'allowed_values_' || col, 'type', 'validity',
                       'check', 'allowed_values', 'column', col,
                       'values', (SELECT jsonb_agg(t->'value' ORDER BY t->'value') FROM jsonb_array_elements(o->'top_values') t),
                       'description', format('%s distinct values observed', nd)));
        END IF;
        -- nearly unique: uniqueness
        IF nd > 1 AND nd >= 0.99 * cnt THEN
            out := out || jsonb_build_array(jsonb_build_object('name', 'unique_' || col, 'type', 'uniqueness',
                       'column', col, 'threshold', round(floor(1000.0 * (o->>'unique')::bigint / cnt) / 10, 1),
                       'description', format('%s distinct values in %s rows', nd, cnt)));
        END IF;
        -- text with a recognisable shape: format
        IF o->>'semantic_type' IN ('email', 'url', 'uuid', 'date', 'timestamp', 'phone', 'json')
           AND o ? 'semantic_match_pct' THEN
            out := out || jsonb_build_array(jsonb_build_object('name', 'format_' || col, 'type', 'validity',
                       'check', 'format', 'format', o->>'semantic_type', 'column', col,
                       'threshold', round(floor((o->>'semantic_match_pct')::numeric * 10) / 10, 1),
                       'description', format('%s%% of values look like %s', o->>'semantic_match_pct', o->>'semantic_type')));
        END IF;
    END LOOP;
    RETURN jsonb_build_object('dataset', data, 'rows_profiled', n, 'rules', etl._normalize_rules(out));
END
$$;
COMMENT ON FUNCTION etl.suggest_rules(pg_catalog.text) IS
  'proposes a ready-to-register rule set from a profile (deequ-style: completeness bounds, non-negative, ranges, allowed values, uniqueness, formats)';
