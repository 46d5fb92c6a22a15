-- pg_dump keeps user metadata: every metadata table and sequence in etl is
-- registered as extension configuration, except etl.installation.
-- Fragments sort before this one, so tables added by later subsystems are
-- registered here too.  (One call per statement: pg_extension_config_dump
-- updates the pg_extension row.)

DO $config_dump$
DECLARE
    rel pg_catalog.regclass;
BEGIN
    FOR rel IN
        SELECT c.oid::pg_catalog.regclass
          FROM pg_catalog.pg_class c
          JOIN pg_catalog.pg_depend d
            ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
           AND d.objid OPERATOR(pg_catalog.=) c.oid
           AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass
           AND d.deptype OPERATOR(pg_catalog.=) 'e'
         WHERE c.relnamespace OPERATOR(pg_catalog.=) 'etl'::pg_catalog.regnamespace
           AND c.relkind IN ('r', 'S')
           -- this installation's identity: a restored copy must get its own
           -- (72_incremental.sql), so pg_dump must leave the row out
           AND c.oid OPERATOR(pg_catalog.<>) 'etl.installation'::pg_catalog.regclass
         ORDER BY c.relkind, c.relname
    LOOP
        PERFORM pg_catalog.pg_extension_config_dump(rel, '');
    END LOOP;
END
$config_dump$;
