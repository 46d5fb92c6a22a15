-- monitor tables: alert dedup keys are per pipeline (one pipeline's key never
-- matches another's alert)
DROP INDEX etl.alerts_open_dedup_idx;
-- dedup keys are per pipeline: one pipeline's key never matches another's alert
CREATE UNIQUE INDEX alerts_open_dedup_idx ON etl.alerts ((COALESCE(pipeline_id, '')), dedup_key) WHERE status <> 'resolved';
-- the slot_lag SLA (max_slot_lag_mb, log CDC): a type of its own, in MB > 0
ALTER TABLE etl.sla_definitions DROP CONSTRAINT sla_definitions_sla_type_check,
    ADD CONSTRAINT sla_definitions_sla_type_check
        CHECK (sla_type IN ('duration', 'success_rate', 'quality', 'freshness', 'slot_lag')),
    DROP CONSTRAINT sla_definitions_check2,
    ADD CONSTRAINT sla_definitions_check2 CHECK (sla_type NOT IN ('duration', 'freshness', 'slot_lag') OR target > 0);
COMMENT ON TABLE etl.sla_definitions IS
  'Service levels per pipeline: max duration, min success rate, min quality score, max data age, max slot lag';
