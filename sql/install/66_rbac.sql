-- Roles and the checks every SECURITY DEFINER function makes before acting
-- for its caller (docs/security.md, "Roles").
--
-- The extension creates four NOLOGIN roles when they do not exist yet (roles
-- belong to the cluster: they outlive DROP EXTENSION and are shared by every
-- database that installs metaetl):
--   etl_admin      everything: any pipeline, channels, stores, the master key
--   etl_developer  registers and runs its own pipelines (what every role may
--                  do by default; etl.set_public_access(false) makes it needed)
--   etl_operator   runs, cancels and acknowledges any pipeline; reads all runs
--   etl_viewer     reads all metadata and runs (never a secret)
-- Grant them like any role: GRANT etl_operator TO alice;

DO $roles$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['etl_admin', 'etl_developer', 'etl_operator', 'etl_viewer'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) r) THEN
            EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN', r);
        END IF;
    END LOOP;
END
$roles$;

-- Who is calling: the role the session acts as (SET ROLE, else the session
-- user).  Unlike current_user this is the same inside SECURITY DEFINER
-- functions, which is why the checks below use it.
CREATE FUNCTION etl._caller()
RETURNS pg_catalog.name
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
RETURN CASE WHEN pg_catalog.current_setting('role') OPERATOR(pg_catalog.=) 'none' THEN SESSION_USER
            ELSE pg_catalog.current_setting('role')::pg_catalog.name END;
COMMENT ON FUNCTION etl._caller() IS
  'internal: the role the session acts as (SET ROLE, else the session user), also inside SECURITY DEFINER functions';

-- the caller is a superuser or a member of one of these roles
CREATE FUNCTION etl._caller_in(roles pg_catalog.text[])
RETURNS pg_catalog.bool
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
RETURN EXISTS (SELECT 1 FROM pg_catalog.pg_roles c
                WHERE c.rolname OPERATOR(pg_catalog.=) etl._caller()
                  AND (c.rolsuper
                       OR EXISTS (SELECT 1 FROM pg_catalog.pg_roles r
                                   WHERE r.rolname OPERATOR(pg_catalog.=) ANY (roles)
                                     AND pg_catalog.pg_has_role(c.oid, r.oid, 'MEMBER'))));
COMMENT ON FUNCTION etl._caller_in(pg_catalog.text[]) IS
  'internal: whether the caller is a superuser or a member of one of the roles';

-- the caller may act for role_name: is it, a member of it, or an etl_admin
CREATE FUNCTION etl._caller_acts_for(role_name pg_catalog.name)
RETURNS pg_catalog.bool
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
RETURN etl._caller_in(ARRAY['etl_admin'])
    OR EXISTS (SELECT 1 FROM pg_catalog.pg_roles c, pg_catalog.pg_roles o
                WHERE c.rolname OPERATOR(pg_catalog.=) etl._caller()
                  AND o.rolname OPERATOR(pg_catalog.=) role_name
                  AND pg_catalog.pg_has_role(c.oid, o.oid, 'MEMBER'));
COMMENT ON FUNCTION etl._caller_acts_for(pg_catalog.name) IS
  'internal: whether the caller is role_name, a member of it, a superuser or an etl_admin member';

-- the caller may operate the pipeline (run, cancel, acknowledge its alerts,
-- evaluate its SLAs): its owner's members, etl_operator and etl_admin
CREATE FUNCTION etl._caller_may_operate(pipeline_id pg_catalog.text)
RETURNS pg_catalog.bool
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
RETURN EXISTS (SELECT 1 FROM etl.pipelines p
                WHERE p.pipeline_id OPERATOR(pg_catalog.=) _caller_may_operate.pipeline_id
                  AND (etl._caller_acts_for(p.owner) OR etl._caller_in(ARRAY['etl_operator'])));
COMMENT ON FUNCTION etl._caller_may_operate(pg_catalog.text) IS
  'internal: whether the caller may run, cancel and acknowledge the pipeline (its owner''s members, etl_operator, etl_admin)';
