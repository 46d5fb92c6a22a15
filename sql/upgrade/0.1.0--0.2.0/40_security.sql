-- security: users, roles and user_roles become views over PostgreSQL's roles
-- (66_rbac.sql); etl.access_log.user_id is the role's oid.  The 0.1.0 tables
-- were never enforced; rows in them are not carried over.
DROP TABLE etl.user_roles, etl.users, etl.roles CASCADE;
