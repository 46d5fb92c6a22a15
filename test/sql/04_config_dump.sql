-- 04_config_dump: every metadata table and sequence is registered with
-- pg_extension_config_dump, so pg_dump keeps user metadata.
SELECT c.relname, c.relkind
  FROM pg_extension e, unnest(e.extconfig) AS cfg(oid)
  JOIN pg_class c ON c.oid = cfg.oid
 WHERE e.extname = 'metaetl'
 ORDER BY c.relkind, c.relname;

-- no etl table or sequence is missing from extconfig
SELECT c.relname AS not_registered
  FROM pg_class c
 WHERE c.relnamespace = 'etl'::regnamespace AND c.relkind IN ('r', 'S')
   AND c.oid <> ALL ((SELECT extconfig FROM pg_extension WHERE extname = 'metaetl')::oid[]);
