-- monitor tables: alert dedup keys are per pipeline (one pipeline's key never
-- matches another's alert)
DROP INDEX etl.alerts_open_dedup_idx;
-- dedup keys are per pipeline: one pipeline's key never matches another's alert
CREATE UNIQUE INDEX alerts_open_dedup_idx ON etl.alerts ((COALESCE(pipeline_id, '')), dedup_key) WHERE status <> 'resolved';
