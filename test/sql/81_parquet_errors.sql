-- 81_parquet_errors: what a bad Parquet source or target does.  A missing,
-- truncated, corrupt or non-Parquet file, a nested column, an unknown
-- format or codec: each run fails with an error naming the source or target
-- and the file, and leaves the target as it was.  Paths are shown as <f>.
\set VERBOSITY default
\set SHOW_CONTEXT never
\pset pager off
SET client_min_messages = warning;
CREATE SCHEMA pqe;
SET search_path = pqe, public;
\getenv suite PWD
SELECT set_config('pqtest.suite', :'suite', false) IS NOT NULL AS suite_known;
SELECT current_setting('data_directory') || '/metaetl_pqe_' AS f \gset
SELECT set_config('pqtest.f', :'f', false) IS NOT NULL AS prefix_known;

CREATE FUNCTION pg_temp.sh(cmd text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('COPY (SELECT 1) TO PROGRAM %L', cmd);
END $$;
CREATE FUNCTION pg_temp.duckdb(q text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_temp.sh('bash ' || current_setting('pqtest.suite') || '/test/fixtures/duckdb/run.sh '''
                     || replace(q, '''', '''\''''') || ''' > /dev/null');
END $$;
-- run a one-source pipeline into pqe.target; show how it ended
CREATE FUNCTION pg_temp.run(id text, source jsonb) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r jsonb;
BEGIN
  PERFORM etl.register_pipeline(jsonb_build_object('pipeline', jsonb_build_object('id', id,
    'sources', jsonb_build_array(source || jsonb_build_object('id', 'src')),
    'targets', jsonb_build_array(jsonb_build_object('id', 'tgt', 'type', 'postgresql', 'table', 'pqe.target')))) #>> '{}');
  r := etl.execute_pipeline_inline(id);
  RETURN r->>'status' || coalesce(' ' || (r->'error'->>'sqlstate') || coalesce(' (step ' || (r->'error'->>'step') || ')', '') || ': '
         || replace(r->'error'->>'message', current_setting('pqtest.f'), '<f>'), '');
END $$;

SELECT pg_temp.duckdb(format($$COPY (SELECT i AS id, 'v' || i AS v, [i, i + 1] AS l, {'a': i} AS st
  FROM range(1000) t(i)) TO %L$$, :'f' || 'good.parquet'));
SELECT pg_temp.duckdb(format($$COPY (SELECT i AS id FROM range(100) t(i)) TO %L (FORMAT csv)$$, :'f' || 'notparquet.parquet'));
SELECT pg_temp.sh(format('head -c 3000 %s > %s', :'f' || 'good.parquet', :'f' || 'truncated.parquet'));
-- zeros over the first column's pages, the footer intact
SELECT pg_temp.sh(format('cp %1$s %2$s && head -c 400 /dev/zero | dd of=%2$s bs=1 seek=60 conv=notrunc 2>/dev/null',
                         :'f' || 'good.parquet', :'f' || 'corrupt.parquet'));

CREATE TABLE target (id bigint, v text);
INSERT INTO target VALUES (42, 'before');

SELECT pg_temp.run('pqe_missing', jsonb_build_object('type', 'file', 'path', :'f' || 'missing.parquet', 'format', 'parquet'));
SELECT pg_temp.run('pqe_notparquet', jsonb_build_object('type', 'file', 'path', :'f' || 'notparquet.parquet'));
SELECT pg_temp.run('pqe_truncated', jsonb_build_object('type', 'file', 'path', :'f' || 'truncated.parquet'));
SELECT pg_temp.run('pqe_corrupt', jsonb_build_object('type', 'file', 'path', :'f' || 'corrupt.parquet',
                   'columns', jsonb_build_object('id', 'bigint', 'v', 'text')));
-- nested columns: an error naming the first; declared flat columns read
SELECT pg_temp.run('pqe_nested', jsonb_build_object('type', 'file', 'path', :'f' || 'good.parquet'));
-- an unknown format is refused when the pipeline is validated (so never registered)
SELECT path, message FROM etl.validate_config(jsonb_build_object('pipeline', jsonb_build_object('id', 'pqe_unknown',
  'sources', jsonb_build_array(jsonb_build_object('id', 'src', 'type', 'file', 'path', :'f' || 'good.parquet', 'format', 'parquetx')),
  'targets', jsonb_build_array(jsonb_build_object('id', 'tgt', 'type', 'postgresql', 'table', 'pqe.target')))) #>> '{}');
-- options: keys are the parquet format's own (source and target): a misspelt
-- one is refused with its path and the key meant
SELECT path, message FROM etl.validate_config(jsonb_build_object('pipeline', jsonb_build_object('id', 'pqe_opts',
  'sources', jsonb_build_array(jsonb_build_object('id', 'src', 'type', 'file', 'path', :'f' || 'good.parquet',
                               'options', jsonb_build_object('row_groups', 2))),
  'targets', jsonb_build_array(jsonb_build_object('id', 'tgt', 'type', 'file', 'path', :'f' || 'out.parquet',
                               'options', jsonb_build_object('codek', 'zstd', 'row_group_size', 'big'))))) #>> '{}')
  ORDER BY path;
SELECT pg_temp.run('pqe_nocol', jsonb_build_object('type', 'file', 'path', :'f' || 'good.parquet',
                   'columns', jsonb_build_object('id', 'bigint', 'w', 'text')));
SELECT pg_temp.run('pqe_badcast', jsonb_build_object('type', 'file', 'path', :'f' || 'good.parquet',
                   'columns', jsonb_build_object('id', 'bigint', 'v', 'integer')));
-- every failure left the target as it was
SELECT * FROM target;
SELECT pg_temp.run('pqe_flat', jsonb_build_object('type', 'file', 'path', :'f' || 'good.parquet',
                   'columns', jsonb_build_object('id', 'bigint', 'v', 'text')));
SELECT count(*), min(id), max(v) FROM target;

-- column projection: only the columns the pipeline reads are decoded, so an
-- unused nested column (l, st) or an unused damaged one (id in corrupt) is
-- never touched; a used one still fails, naming it
CREATE FUNCTION pg_temp.run_steps(id text, source jsonb, steps jsonb) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r jsonb;
BEGIN
  PERFORM etl.register_pipeline(jsonb_build_object('pipeline', jsonb_build_object('id', id,
    'sources', jsonb_build_array(source || jsonb_build_object('id', 'src')),
    'transforms', steps,
    'targets', jsonb_build_array(jsonb_build_object('id', 'tgt', 'type', 'postgresql', 'table', 'pqe.target')))) #>> '{}');
  r := etl.execute_pipeline_inline(id);
  RETURN r->>'status' || coalesce(' ' || (r->'error'->>'sqlstate') || coalesce(' (step ' || (r->'error'->>'step') || ')', '') || ': '
         || replace(r->'error'->>'message', current_setting('pqtest.f'), '<f>'), '');
END $$;
SELECT pg_temp.run_steps('pqe_proj_nested', jsonb_build_object('type', 'file', 'path', :'f' || 'good.parquet'),
  '[{"id": "pick", "type": "select", "input": "src", "params": {"columns": ["id", "v"]}}]');
SELECT count(*), min(id), max(v) FROM target;
SELECT pg_temp.run_steps('pqe_proj_corrupt', jsonb_build_object('type', 'file', 'path', :'f' || 'corrupt.parquet'),
  '[{"id": "keep", "type": "filter", "input": "src", "params": {"condition": "v LIKE ''v9%''"}},
    {"id": "pick", "type": "select", "input": "keep", "params": {"columns": ["v"]}}]');
SELECT count(*), count(id), max(v) FROM target;
-- the filter reads id: decoded, and its damage is the error
SELECT pg_temp.run_steps('pqe_proj_used', jsonb_build_object('type', 'file', 'path', :'f' || 'corrupt.parquet'),
  '[{"id": "keep", "type": "filter", "input": "src", "params": {"condition": "id > 2"}},
    {"id": "pick", "type": "select", "input": "keep", "params": {"columns": ["v"]}}]');
-- a filter passes every column on to the target: the nested ones are read
SELECT pg_temp.run_steps('pqe_proj_all', jsonb_build_object('type', 'file', 'path', :'f' || 'good.parquet'),
  '[{"id": "keep", "type": "filter", "input": "src", "params": {"condition": "id > 2"}}]');
SELECT count(*), count(id), max(v) FROM target;

-- targets: an unknown codec, a directory that does not exist; an existing
-- file is not touched by a failed write
SELECT pg_temp.sh(format('cp %s %s', :'f' || 'good.parquet', :'f' || 'keep.parquet'));
SELECT md5(pg_read_binary_file(:'f' || 'keep.parquet')) = md5(pg_read_binary_file(:'f' || 'good.parquet')) AS same_before;
CREATE FUNCTION pg_temp.write(id text, target jsonb) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r jsonb;
BEGIN
  PERFORM etl.register_pipeline(jsonb_build_object('pipeline', jsonb_build_object('id', id,
    'sources', jsonb_build_array(jsonb_build_object('id', 'src', 'type', 'postgresql', 'query', 'SELECT 1 AS a, ''x''::text AS b')),
    'targets', jsonb_build_array(target || jsonb_build_object('id', 'tgt')))) #>> '{}');
  r := etl.execute_pipeline_inline(id);
  RETURN r->>'status' || coalesce(' ' || (r->'error'->>'sqlstate') || coalesce(' (step ' || (r->'error'->>'step') || ')', '') || ': '
         || replace(r->'error'->>'message', current_setting('pqtest.f'), '<f>'), '');
END $$;
-- (an unknown codec is refused before the run: the pipeline is not registered)
SELECT path, message FROM etl.validate_config(jsonb_build_object('pipeline', jsonb_build_object('id', 'pqe_codec',
  'sources', jsonb_build_array(jsonb_build_object('id', 'src', 'type', 'postgresql', 'query', 'SELECT 1 AS a')),
  'targets', jsonb_build_array(jsonb_build_object('id', 'tgt', 'type', 'file', 'path', :'f' || 'keep.parquet',
                               'options', jsonb_build_object('codec', 'lz4'))))) #>> '{}');
SELECT pg_temp.write('pqe_nodir', jsonb_build_object('type', 'file', 'path', :'f' || 'nodir/x.parquet'));
SELECT md5(pg_read_binary_file(:'f' || 'keep.parquet')) = md5(pg_read_binary_file(:'f' || 'good.parquet')) AS same_after;

-- a role without pg_read_server_files cannot read server files
CREATE ROLE pqe_plain LOGIN;
GRANT USAGE ON SCHEMA pqe TO pqe_plain;
GRANT ALL ON pqe.target TO pqe_plain;
-- (an inline run happens only in its owner's session)
SET SESSION AUTHORIZATION pqe_plain;
SELECT pg_temp.run('pqe_role', jsonb_build_object('type', 'file', 'path', :'f' || 'good.parquet'));
RESET SESSION AUTHORIZATION;

SELECT etl.drop_pipeline(p) FROM unnest(ARRAY['pqe_missing', 'pqe_notparquet', 'pqe_truncated', 'pqe_corrupt',
  'pqe_nested', 'pqe_nocol', 'pqe_badcast', 'pqe_flat', 'pqe_proj_nested', 'pqe_proj_corrupt',
  'pqe_proj_used', 'pqe_proj_all', 'pqe_nodir', 'pqe_role']) p;
DROP SCHEMA pqe CASCADE;
DROP OWNED BY pqe_plain;
DROP ROLE pqe_plain;
