-- 04_config_dump: every metadata table and sequence is registered with
-- pg_extension_config_dump, so pg_dump keeps user metadata (all but the
-- installation's identity, which a restored copy must not carry).
-- the tables the original design names are registered
SELECT t AS design_table,
       ('etl.' || t)::regclass::oid = ANY ((SELECT extconfig FROM pg_extension WHERE extname = 'metaetl')::oid[]) AS registered
  FROM unnest(ARRAY['pipelines', 'pipeline_runs', 'data_sources', 'data_targets',
    'quality_scores', 'profiling_stats', 'completeness_checks', 'validity_checks',
    'uniqueness_checks', 'anomaly_detection', 'sla_definitions', 'sla_compliance',
    'alerts', 'audit_log', 'credentials', 'access_log']) AS t
 ORDER BY 1;
-- users, roles and user_roles are views over pg_roles: pg_dump keeps roles
-- with pg_dumpall --roles-only, not as extension data
SELECT relname, relkind FROM pg_class
 WHERE relnamespace = 'etl'::regnamespace AND relname IN ('users', 'roles', 'user_roles') ORDER BY 1;

-- no etl table or sequence is missing from extconfig (tables added later
-- included) but etl.installation, this installation's identity: a restored
-- copy must not carry it (docs/incremental.md, "Dump and restore")
SELECT c.relname AS not_registered
  FROM pg_class c
 WHERE c.relnamespace = 'etl'::regnamespace AND c.relkind IN ('r', 'S')
   AND c.oid <> ALL ((SELECT extconfig FROM pg_extension WHERE extname = 'metaetl')::oid[]);
-- it is an extension member all the same (pg_upgrade moves its file) and
-- holds one token
SELECT d.deptype, (SELECT count(*) FROM etl.installation) AS rows
  FROM pg_depend d
 WHERE d.classid = 'pg_class'::regclass AND d.objid = 'etl.installation'::regclass
   AND d.refclassid = 'pg_extension'::regclass;

-- identity sequences are registered with their tables
SELECT count(*) > 10 AS sequences_registered
  FROM pg_extension e, unnest(e.extconfig) AS cfg(oid)
  JOIN pg_class c ON c.oid = cfg.oid
 WHERE e.extname = 'metaetl' AND c.relkind = 'S';
