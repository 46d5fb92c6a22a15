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

-- The original design's users, roles and user_roles, as views over
-- PostgreSQL's own catalog: a user is a role that can log in, a metaetl role
-- one of the four above, and membership is PostgreSQL's.
CREATE VIEW etl.roles AS
SELECT d.role_name, d.description, d.permissions, r.oid::pg_catalog.int8 AS role_id
  FROM (VALUES
        ('etl_admin', 'everything: any pipeline, connection, credential, channel, secret store, the master key',
         ARRAY['pipeline.read', 'pipeline.write', 'pipeline.execute', 'pipeline.drop', 'connection.read',
               'connection.write', 'credential.write', 'alert.manage', 'audit.read', 'admin']),
        ('etl_developer', 'registers and runs its own pipelines, connections and credentials',
         ARRAY['pipeline.read', 'pipeline.write', 'pipeline.execute', 'pipeline.drop', 'connection.read',
               'connection.write', 'credential.write']),
        ('etl_operator', 'runs, cancels and acknowledges any pipeline; reads all runs; changes no configuration',
         ARRAY['pipeline.read', 'pipeline.execute', 'connection.read', 'alert.manage']),
        ('etl_viewer', 'reads all metadata and runs, never a secret',
         ARRAY['pipeline.read', 'connection.read'])) AS d(role_name, description, permissions)
  JOIN pg_catalog.pg_roles r ON r.rolname OPERATOR(pg_catalog.=) d.role_name;
COMMENT ON VIEW etl.roles IS
  'metaetl''s roles (PostgreSQL NOLOGIN roles) and the permissions they grant';

CREATE VIEW etl.users AS
SELECT r.oid::pg_catalog.int8 AS user_id, r.rolname::pg_catalog.text AS username, r.rolname AS db_role,
       r.rolsuper AS is_superuser, r.rolcanlogin AS is_active
  FROM pg_catalog.pg_roles r
 WHERE r.rolcanlogin AND r.rolname OPERATOR(pg_catalog.!~) '^pg_';
COMMENT ON VIEW etl.users IS
  'metaetl''s users: the PostgreSQL roles that can log in';

CREATE VIEW etl.user_roles AS
SELECT m.member::pg_catalog.int8 AS user_id, u.rolname AS username, r.rolname::pg_catalog.text AS role_name,
       g.rolname AS granted_by
  FROM pg_catalog.pg_auth_members m
  JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) m.roleid
  JOIN pg_catalog.pg_roles u ON u.oid OPERATOR(pg_catalog.=) m.member
  LEFT JOIN pg_catalog.pg_roles g ON g.oid OPERATOR(pg_catalog.=) m.grantor
 WHERE r.rolname OPERATOR(pg_catalog.=) ANY (ARRAY['etl_admin', 'etl_developer', 'etl_operator', 'etl_viewer']);
COMMENT ON VIEW etl.user_roles IS
  'Which roles hold which metaetl role (GRANT etl_operator TO alice)';
GRANT SELECT ON etl.roles, etl.users, etl.user_roles TO PUBLIC;

-- Hardening: by default every role may use metaetl for its own pipelines
-- (as PUBLIC may create objects of its own in a database).  With
-- etl.set_public_access(false), only members of the four roles may: schema
-- etl's USAGE moves from PUBLIC to them.
CREATE FUNCTION etl.set_public_access(allowed pg_catalog.bool)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT etl._caller_in(ARRAY['etl_admin']) THEN
        RAISE EXCEPTION 'permission denied to change public access to metaetl' USING ERRCODE = '42501',
            HINT = 'Superusers and etl_admin members decide who may use metaetl.';
    END IF;
    IF allowed THEN
        GRANT USAGE ON SCHEMA etl TO PUBLIC;
    ELSE
        REVOKE USAGE ON SCHEMA etl FROM PUBLIC;
        GRANT USAGE ON SCHEMA etl TO etl_admin, etl_developer, etl_operator, etl_viewer;
    END IF;
END
$$;
COMMENT ON FUNCTION etl.set_public_access(pg_catalog.bool) IS
  'false: only members of etl_admin, etl_developer, etl_operator and etl_viewer may use metaetl (schema etl''s USAGE); true: every role (the default)';
