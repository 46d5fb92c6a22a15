-- orchestrator: an abandoned run ends with an OpenLineage ABORT event, as a cancelled one
-- does (after 87_lineage.sql, which defines etl._lineage_emit)

CREATE OR REPLACE FUNCTION etl.mark_abandoned_runs()
RETURNS pg_catalog.int4
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n int;
    ids int8[];
BEGIN
    WITH m AS (
        UPDATE etl.pipeline_runs r
           SET status = 'abandoned',
               ended_at = pg_catalog.clock_timestamp(),
               error_message = 'the run was interrupted: the server restarted or its worker exited'
         WHERE r.status = 'running'
           AND (r.started_at < pg_catalog.pg_postmaster_start_time()
                OR (r.worker_pid IS NOT NULL
                    AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity a
                                     WHERE a.pid = r.worker_pid)))
        RETURNING r.run_id)
    SELECT pg_catalog.array_agg(m.run_id) INTO ids FROM m;
    n := COALESCE(pg_catalog.cardinality(ids), 0);
    IF n > 0 THEN
        -- an OpenLineage consumer that saw the run START sees it end (ABORT),
        -- as for a cancelled run (87_lineage.sql; nothing without an endpoint)
        PERFORM etl._lineage_emit(x, 'ABORT') FROM pg_catalog.unnest(ids) AS x;
        -- their queue rows free their pool slots
        UPDATE etl.run_queue q SET state = 'done', note = 'run abandoned'
          FROM etl.pipeline_runs r
         WHERE q.run_id = r.run_id AND r.status = 'abandoned' AND q.state = 'claimed';
        -- and the retry policy decides whether they run again (through the queue)
        INSERT INTO etl.run_queue (pipeline_id, logical_date, trigger, attempt, not_before, note)
        SELECT r.pipeline_id, r.logical_date, 'retry', r.attempt + 1,
               pg_catalog.clock_timestamp() + pg_catalog.make_interval(
                   secs => COALESCE((p.config #>> '{pipeline,retry,initial_delay_s}')::float8, 5)),
               pg_catalog.format('retry of abandoned run %s', r.run_id)
          FROM etl.pipeline_runs r JOIN etl.pipelines p USING (pipeline_id)
         WHERE r.status = 'abandoned' AND r.ended_at >= pg_catalog.clock_timestamp() - interval '1 minute'
           AND r.attempt < COALESCE((p.config #>> '{pipeline,retry,max_attempts}')::int4, 1)
           AND NOT EXISTS (SELECT 1 FROM etl.run_queue q
                            WHERE q.note = pg_catalog.format('retry of abandoned run %s', r.run_id));
    END IF;
    RETURN n;
END
$$;
COMMENT ON FUNCTION etl.mark_abandoned_runs() IS
  'marks runs whose server restarted or whose worker exited as abandoned; returns how many';

