-- 36_run_progress: while a run is under way, another session sees where it
-- is — etl.run_status(run_id)->'progress' (phase, step, steps done of steps
-- total, rows so far, elapsed and expected time), the finished steps in
-- etl.step_runs, and "metaetl run N: step X" in pg_stat_activity — and after
-- it ends, the final figures.  Run as a plain role that owns the pipeline.
\set VERBOSITY default
\set SHOW_CONTEXT never
CREATE SCHEMA p36;
GRANT USAGE, CREATE ON SCHEMA p36 TO PUBLIC;
-- each call takes 0.4 s: the step that calls it is slow enough to watch
CREATE FUNCTION p36.nap(x int) RETURNS int LANGUAGE sql AS 'SELECT x FROM pg_catalog.pg_sleep(0.4)';
CREATE ROLE p36_owner LOGIN;
CREATE ROLE p36_other LOGIN;
CREATE FUNCTION p36.wait_for(cond text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE ok boolean;
BEGIN
    FOR i IN 1..400 LOOP
        EXECUTE cond INTO ok;
        IF ok THEN RETURN true; END IF;
        PERFORM pg_sleep(0.05);
    END LOOP;
    RETURN false;
END $$;
GRANT EXECUTE ON FUNCTION p36.wait_for(text) TO PUBLIC;
-- the error a statement raises, run ids masked
CREATE FUNCTION p36.error_of(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || regexp_replace(SQLERRM, '[0-9]+', 'N');
END $$;

SET ROLE p36_owner;
-- staged: every step is materialised on its own, so each reports its end
SELECT etl.register_pipeline($$
pipeline:
  id: p36_slow
  engine: staged
  sources: [ { id: src, type: postgresql, query: "SELECT i AS id FROM generate_series(1, 4) i" } ]
  transforms:
    - { id: keep, type: filter, params: { condition: "id > 0" } }
    - { id: slow, type: map, params: { columns: { napped: "p36.nap(id)" } } }
  targets: [ { id: out, type: postgresql, table: p36.out } ]
$$) AS registered;

-- a run, not waited for; this session watches it
SELECT (etl.execute_pipeline('p36_slow', wait => false))->>'run_id' AS run_id \gset
SELECT p36.wait_for(format($$SELECT etl.run_status(%s)->'progress'->>'step' = 'slow'$$, :run_id)) AS in_slow_step;
-- (the slow step takes 1.6 s: these two look at it)
SELECT r->>'status' AS status, r->'progress'->>'phase' AS phase, r->'progress'->>'step' AS step,
       (r->'progress'->>'steps_done')::int AS steps_done, (r->'progress'->>'steps_total')::int AS steps_total,
       (r->'progress'->>'rows_so_far')::int AS rows_so_far, (r->'progress'->>'elapsed_ms')::numeric > 0 AS elapsing,
       r->'progress'->'expected_ms' AS expected_ms,
       (SELECT regexp_replace(a.query, '[0-9]+', 'N') FROM pg_stat_activity a
         WHERE a.query LIKE 'metaetl run ' || :run_id || ':%') AS activity
  FROM etl.run_status(:run_id) r;
SELECT array(SELECT jsonb_object_keys(etl.run_status(:run_id)->'progress') ORDER BY 1) AS progress_keys;
-- the steps that finished are in etl.step_runs already, while the run goes on
SELECT p36.wait_for(format($$SELECT (SELECT count(*) FILTER (WHERE details ? 'in_progress') FROM etl.step_runs
                                      WHERE run_id = %1$s) >= 2
                                    AND etl.run_status(%1$s)->>'status' = 'running'$$, :run_id)) AS steps_visible_while_running;

-- another plain role sees neither the run nor its progress
SET ROLE p36_other;
SELECT p36.error_of(format('SELECT etl.run_status(%s)', :run_id));
SET ROLE p36_owner;

-- at the end: the final figures, every step recorded once
SELECT p36.wait_for(format($$SELECT etl.run_status(%s)->>'status' <> 'running'$$, :run_id)) AS ended;
SELECT r->>'status' AS status, r->'progress'->'phase' AS phase, r->'progress'->'step' AS step,
       (r->'progress'->>'steps_done')::int AS steps_done, (r->'progress'->>'steps_total')::int AS steps_total,
       (r->'progress'->>'rows_so_far')::int AS rows_so_far,
       (r->'progress'->>'elapsed_ms')::numeric = round((r->>'duration_ms')::numeric) AS elapsed_is_duration,
       r->'progress'->'expected_ms' AS expected_ms
  FROM etl.run_status(:run_id) r;
SELECT seq, step_id, kind, status, rows, details FROM etl.step_runs WHERE run_id = :run_id ORDER BY seq;

-- a second run expects about as long as the first took
SELECT (etl.execute_pipeline('p36_slow', wait => false))->>'run_id' AS run2 \gset
SELECT p36.wait_for(format($$SELECT etl.run_status(%s)->'progress'->>'phase' IS NOT NULL$$, :run2)) AS started;
SELECT (r->'progress'->>'expected_ms')::numeric BETWEEN (p->>'duration_ms')::numeric - 1 AND (p->>'duration_ms')::numeric + 1
       AS expected_from_history
  FROM etl.run_status(:run2) r, etl.run_status(:run_id) p;
SELECT p36.wait_for(format($$SELECT etl.run_status(%s)->>'status' <> 'running'$$, :run2)) AS ended;
SELECT etl.run_status(:run2)->>'status' AS status;

-- a run that does not exist
SELECT etl.run_status(-1);
RESET ROLE;

DELETE FROM etl.pipelines WHERE pipeline_id = 'p36_slow';
DROP SCHEMA p36 CASCADE;
DROP ROLE p36_owner;
DROP ROLE p36_other;
