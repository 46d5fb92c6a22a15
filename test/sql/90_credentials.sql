-- 90_credentials: named credentials sealed at rest, usable only by their
-- owner; rotation of a credential and of the master key; secret stores of
-- type env and file; the access log; no secret in any table or error.
\set VERBOSITY default
CREATE ROLE cred_alice LOGIN;
CREATE ROLE cred_bob LOGIN;

SET ROLE cred_alice;
SELECT etl.add_credential('alice_pw', '{"user": "etl", "password": "s3cret-alice-pw"}');
SELECT etl.add_credential('alice_token', '{"token": "tok-alice-123456"}', '{"description": "API token"}');
SELECT name, kind, key_id IS NOT NULL AS sealed, owner, description FROM etl.credentials_public ORDER BY name;
-- the table itself is closed to every role but the extension owner
SELECT count(*) FROM etl.credentials;
-- bad input: clear errors, nothing stored
SELECT etl.add_credential('alice_pw', '{"password": "again"}');
SELECT etl.add_credential('Bad Name', '{"password": "x"}');
SELECT etl.add_credential('empty', '{}');
SELECT etl.add_credential('arr', '[1, 2]');
SELECT etl.add_credential('nul', '{"password": null}');
SELECT etl.add_credential('opt', '{"password": "x"}', '{"colour": "red"}');
SELECT etl.add_credential('kind', '{"password": "x"}', '{"kind": "magic"}');
SELECT etl.add_credential('store', '{"store": "nowhere", "ref": "a#b"}');
SELECT count(*) AS still_two FROM etl.credentials_public;
RESET ROLE;

-- bob sees none of alice's credentials and cannot change them
SET ROLE cred_bob;
SELECT count(*) AS bob_sees FROM etl.credentials_public;
SELECT etl.rotate_credential('alice_pw', '{"password": "hijacked"}');
SELECT etl.drop_credential('alice_pw');
SELECT etl.rotate_credential('no_such', '{"password": "x"}');
-- nor use them in a connection: the credential is checked when it is used
SELECT etl.add_connection('bob_conn', 'postgresql', '{}', 'alice_pw');
RESET ROLE;

-- rotation keeps the name and changes the secret; the master key too
SET ROLE cred_alice;
SELECT etl.rotate_credential('alice_pw', '{"user": "etl", "password": "s3cret-alice-pw-2"}');
SELECT name, rotated_at IS NOT NULL AS rotated FROM etl.credentials_public WHERE name = 'alice_pw';
SELECT etl.rotate_master_key();
RESET ROLE;
SELECT etl.rotate_master_key() >= 2 AS resealed;
SELECT count(DISTINCT key_id) AS one_key FROM etl.credentials;

-- secret stores: env and file are for superusers; plain roles cannot add any
SET ROLE cred_alice;
SELECT etl.add_secret_store('alice_env', 'env', '{}');
RESET ROLE;
SELECT etl.add_secret_store('files', 'file', '{"directory": "/nonexistent", "allowed_roles": ["cred_alice"], "path_prefix": "team-a/"}');
SELECT etl.add_secret_store('bad', 'vault', '{}');
SELECT etl.add_secret_store('bad', 'hashicorp_vault', '{}');
SELECT etl.add_secret_store('bad', 'hashicorp_vault', '{"address": "http://127.0.0.1:1", "colour": 1}');
SELECT name, type, owner FROM etl.secret_stores_public ORDER BY name;
-- alice may point a credential at the store (allowed_roles), inside its prefix only
SET ROLE cred_alice;
SELECT etl.add_credential('alice_file', '{"store": "files", "ref": "team-a/db.json#password", "user": "etl"}');
SELECT etl.add_credential('alice_other', '{"store": "files", "ref": "team-b/db.json#password"}');
SELECT name, kind FROM etl.credentials_public WHERE name = 'alice_file';
RESET ROLE;
SET ROLE cred_bob;
SELECT etl.add_credential('bob_file', '{"store": "files", "ref": "team-a/db.json#password"}');
RESET ROLE;

-- drop: refused while a connection uses it
SET ROLE cred_alice;
SELECT etl.add_connection('alice_conn', 'postgresql', '{}', 'alice_token');
SELECT etl.drop_credential('alice_token');
SELECT etl.drop_credential('alice_file');
SELECT name FROM etl.credentials_public ORDER BY name;
RESET ROLE;

-- the access log (written by the delivery worker: wait for all eight
-- refusals above, not the first few — the worker may write them in batches)
DO $$
BEGIN
    FOR i IN 1..300 LOOP
        EXIT WHEN (SELECT count(*) FROM etl.access_log WHERE NOT granted AND db_role IN ('cred_alice', 'cred_bob')) >= 8;
        PERFORM pg_sleep(0.1);
    END LOOP;
END $$;
SELECT db_role, action, object_type, object_id, granted
  FROM etl.access_log WHERE db_role IN ('cred_alice', 'cred_bob') AND NOT granted
 ORDER BY access_id;
-- each role reads its own entries only
SET ROLE cred_bob;
SELECT DISTINCT db_role FROM etl.access_log;
RESET ROLE;

-- no secret in any etl table, the audit log included
SELECT count(*) AS leaks
  FROM (SELECT to_jsonb(t)::text AS row FROM etl.credentials t
        UNION ALL SELECT to_jsonb(t)::text FROM etl.audit_log t
        UNION ALL SELECT to_jsonb(t)::text FROM etl.access_log t
        UNION ALL SELECT to_jsonb(t)::text FROM etl.data_sources t) x
 WHERE row ~ 's3cret-alice|tok-alice|hijacked';

SELECT etl.add_connection('alice_conn2', 'postgresql', '{}', NULL);
DELETE FROM etl.data_sources WHERE name LIKE 'alice_conn%';
DELETE FROM etl.data_targets WHERE name LIKE 'alice_conn%';
DELETE FROM etl.credentials;
DELETE FROM etl.secret_stores;
DROP ROLE cred_alice, cred_bob;
