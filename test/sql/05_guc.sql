-- 05_guc: the metaetl.* parameters, and the reserved prefix.
SELECT name, setting, context, vartype
  FROM pg_settings WHERE name LIKE 'metaetl.%' ORDER BY name;

SET metaetl.environment = 'prod';
SELECT etl.health()->>'environment' AS environment;
RESET metaetl.environment;

-- metaetl.database needs a restart
SET metaetl.database = 'other';

-- the prefix is reserved: a misspelt parameter is an error, not a silent placeholder
SET metaetl.enviroment = 'prod';
