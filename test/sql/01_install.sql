-- 01_install: CREATE EXTENSION builds the etl schema; DROP EXTENSION removes
-- every object; the extension installs again cleanly.
CREATE EXTENSION metaetl;

SELECT extname, extversion, extrelocatable
  FROM pg_extension WHERE extname = 'metaetl';

-- the tables the original design names, and the ones added by metaetl
SELECT c.relname
  FROM pg_class c
 WHERE c.relnamespace = 'etl'::regnamespace AND c.relkind = 'r'
 ORDER BY 1;

DROP EXTENSION metaetl;

-- nothing is left behind
SELECT count(*) AS etl_schemas FROM pg_namespace WHERE nspname = 'etl';
SELECT count(*) AS etl_functions FROM pg_proc WHERE proname IN ('health', 'is_valid_id')
   AND pronamespace NOT IN ('pg_catalog'::regnamespace);

-- an existing etl schema is refused rather than taken over
CREATE SCHEMA etl;
CREATE EXTENSION metaetl;
DROP SCHEMA etl;

-- installs again; later tests use this installation
CREATE EXTENSION metaetl;
CREATE EXTENSION pgtap;
SELECT count(*) AS tables FROM pg_tables WHERE schemaname = 'etl';
