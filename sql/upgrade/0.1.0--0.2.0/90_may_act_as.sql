-- orchestrator/security: etl.may_act_as, which every row-level security policy
-- of etl's tables calls, is C (src/security/privs.c): the SQL version could
-- not be inlined (SET search_path) and was planned again by every query that
-- touched a policy.

CREATE OR REPLACE FUNCTION etl.may_act_as(role_name pg_catalog.name)
RETURNS pg_catalog.bool
LANGUAGE c STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'metaetl_may_act_as';
