-- on_schema_change through schema history (issue 14 item 7, issue 20): what changed since
-- the last snapshot, for the fail error; the loads' notes in the run's drift
CREATE OR REPLACE FUNCTION etl._schema_since(relation pg_catalog.text, columns pg_catalog.jsonb)
RETURNS pg_catalog.text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
RETURN (SELECT format('Since schema version %s of %s (%s): %s.', s.version, s.relation,
                      CASE s.origin WHEN 'ddl' THEN 'recorded by DDL' ELSE 'recorded by a run' END,
                      string_agg(CASE d ->> 'change'
                                     WHEN 'column_added' THEN format('column %s added (%s)', d ->> 'column', d ->> 'type')
                                     WHEN 'column_removed' THEN format('column %s removed', d ->> 'column')
                                     WHEN 'type_changed' THEN format('column %s type changed from %s to %s',
                                                                     d ->> 'column', d ->> 'old_type', d ->> 'new_type')
                                     ELSE replace(d ->> 'change', '_', ' ') END, ', ' ORDER BY o))
          FROM (SELECT * FROM etl.schema_versions v WHERE v.relation = _schema_since.relation
                 ORDER BY v.version DESC LIMIT 1) s,
               jsonb_array_elements(etl._schema_diff(s.columns, _schema_since.columns)) WITH ORDINALITY x(d, o)
         WHERE d ->> 'change' <> 'nullability_changed'
         GROUP BY s.version, s.relation, s.origin);
REVOKE EXECUTE ON FUNCTION etl._schema_since(pg_catalog.text, pg_catalog.jsonb) FROM PUBLIC;
COMMENT ON FUNCTION etl._schema_since(pg_catalog.text, pg_catalog.jsonb) IS
  'internal: what a column list changes against the latest schema snapshot of a dataset, as text for an error detail';

CREATE OR REPLACE FUNCTION etl._schema_change_record(run_id pg_catalog.int8, notes pg_catalog.jsonb)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    r       etl.pipeline_runs;
    n       jsonb;
    drift   jsonb;
    added   jsonb := '[]';
BEGIN
    SELECT * INTO r FROM etl.pipeline_runs x WHERE x.run_id = _schema_change_record.run_id;
    IF NOT FOUND OR notes IS NULL OR jsonb_typeof(notes) <> 'array' THEN
        RETURN;
    END IF;
    drift := COALESCE(r.schema_drift, '[]');
    FOR n IN SELECT value FROM jsonb_array_elements(notes) LOOP
        IF (n ->> 'applied')::bool AND EXISTS (SELECT 1 FROM jsonb_array_elements(drift) d
                                                WHERE d ->> 'dataset' = n ->> 'dataset') THEN
            drift := (SELECT jsonb_agg(CASE WHEN d ->> 'dataset' = n ->> 'dataset'
                                            THEN d || jsonb_build_object('on_schema_change', n ->> 'on_schema_change',
                                                                         'applied', true, 'target', n ->> 'target')
                                            ELSE d END ORDER BY o)
                        FROM jsonb_array_elements(drift) WITH ORDINALITY x(d, o));
            CONTINUE;
        END IF;
        added := added || (SELECT COALESCE(jsonb_agg(jsonb_build_object('dataset', n ->> 'dataset', 'role', 'output',
                                                                         'target', n ->> 'target',
                                                                         'on_schema_change', n ->> 'on_schema_change',
                                                                         'applied', (n ->> 'applied')::bool) || c
                                                      ORDER BY o), '[]')
                             FROM jsonb_array_elements(n -> 'changes') WITH ORDINALITY x(c, o));
    END LOOP;
    drift := drift || added;
    IF jsonb_array_length(drift) = 0 THEN
        RETURN;
    END IF;
    UPDATE etl.pipeline_runs x SET schema_drift = drift WHERE x.run_id = r.run_id;
    IF jsonb_array_length(added) > 0 THEN
        PERFORM etl.raise_alert('system_error',
            CASE WHEN EXISTS (SELECT 1 FROM jsonb_array_elements(added) d WHERE NOT (d ->> 'applied')::bool)
                 THEN 'high' ELSE 'medium' END,
            format('schema drift in pipeline %s (run %s): %s', r.pipeline_id, r.run_id,
                   (SELECT string_agg(format('%s %s%s (on_schema_change %s%s)', d ->> 'dataset', replace(d ->> 'change', '_', ' '),
                                             COALESCE(' ' || (d ->> 'column'), ''), d ->> 'on_schema_change',
                                             CASE WHEN (d ->> 'applied')::bool THEN ', applied' ELSE ', refused' END),
                                      '; ' ORDER BY o)
                      FROM jsonb_array_elements(added) WITH ORDINALITY x(d, o))),
            r.pipeline_id, r.run_id,
            jsonb_build_object('kind', 'schema_drift', 'drift', drift),
            'schema_drift:' || r.pipeline_id);
    END IF;
END
$$;
REVOKE EXECUTE ON FUNCTION etl._schema_change_record(pg_catalog.int8, pg_catalog.jsonb) FROM PUBLIC;
COMMENT ON FUNCTION etl._schema_change_record(pg_catalog.int8, pg_catalog.jsonb) IS
  'internal: record the on_schema_change a run''s loads applied or refused in its drift, and alert a refused one';

