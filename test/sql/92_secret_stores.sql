-- 92_secret_stores: credentials whose secret lives in a secret store,
-- fetched at use, cached, never stored.  HashiCorp Vault and Azure Key Vault
-- servers cannot run here: test/harness/security/secret_fakes.py is a FAKE of
-- their wire formats (KV v2 with token auth; OAuth2 client credentials + the
-- secrets endpoint), started by test/harness/servers/secretfakes.sh.
\set VERBOSITY default
\getenv fakes METAETL_SECRETFAKES_URL
\getenv fakesdir METAETL_SECRETFAKES_DIR
CREATE ROLE store_user LOGIN;
CREATE ROLE store_other LOGIN;

-- the stores' own credentials, and the stores (an administrator's job)
SELECT etl.add_credential('vault_token', '{"token": "vault-tok-7Qx9"}');
SELECT etl.add_credential('vault_bad', '{"token": "vault-wrong-tok-1"}');
SELECT etl.add_credential('azure_app', '{"client_id": "app-1", "client_secret": "azure-cs-4Lm2"}');
SELECT etl.add_secret_store('vault', 'hashicorp_vault',
    jsonb_build_object('address', :'fakes', 'allowed_roles', jsonb_build_array('store_user'), 'ttl_s', 60),
    'vault_token');
SELECT etl.add_secret_store('vault_denied', 'hashicorp_vault',
    jsonb_build_object('address', :'fakes', 'allowed_roles', jsonb_build_array('store_user')), 'vault_bad');
SELECT etl.add_secret_store('kv', 'azure_key_vault',
    jsonb_build_object('vault_url', :'fakes' || '/azure', 'token_url', :'fakes' || '/azure/token',
                       'allowed_roles', jsonb_build_array('store_user')), 'azure_app');
SELECT etl.add_secret_store('files', 'file', jsonb_build_object('directory', :'fakesdir',
                                                                'allowed_roles', jsonb_build_array('store_user')));
SELECT name, type, credential FROM etl.secret_stores_public ORDER BY name;

SET ROLE store_user;
-- a credential that points into Vault: path#key, plus fields of its own
SELECT etl.add_credential('crm', '{"store": "vault", "ref": "team-a/db#password", "user": "crm_etl"}');
SELECT etl.test_credential('crm');
-- the whole object at a path
SELECT etl.add_credential('crm_all', '{"store": "vault", "ref": "team-a/db"}');
SELECT etl.test_credential('crm_all') -> 'fields';
-- a missing path, a missing key: clear errors, no secret in them
SELECT etl.add_credential('crm_missing', '{"store": "vault", "ref": "team-a/nothing#password"}');
SELECT etl.test_credential('crm_missing') - 'credential';
SELECT etl.add_credential('crm_nokey', '{"store": "vault", "ref": "team-a/db#pin"}');
SELECT etl.test_credential('crm_nokey') ->> 'error';
-- the store's token is refused: the reply echoes it, the error masks it
SELECT etl.add_credential('crm_denied', '{"store": "vault_denied", "ref": "team-a/db#password"}');
SELECT etl.test_credential('crm_denied') - 'credential';
SELECT etl.test_credential('crm_denied') ::text ~ 'vault-wrong-tok' AS token_shown;
-- Azure Key Vault: a token by client credentials, then the secret (a string,
-- named by #password; without it the field is "value")
SELECT etl.add_credential('crm_az', '{"store": "kv", "ref": "crm-password#password", "user": "crm"}');
SELECT etl.test_credential('crm_az');
SELECT etl.add_credential('crm_az2', '{"store": "kv", "ref": "crm-password"}');
SELECT etl.test_credential('crm_az2') -> 'fields';
-- a file store: files inside its directory only
SELECT etl.add_credential('from_file', '{"store": "files", "ref": "auth.json#vault_token"}');
SELECT etl.test_credential('from_file') -> 'fields';
SELECT etl.add_credential('escape', '{"store": "files", "ref": "../../etc/passwd"}');
SELECT etl.test_credential('escape') ->> 'error';
RESET ROLE;

-- AWS Secrets Manager, on moto_server (a real implementation of its API that
-- checks SigV4 signatures and IAM policies; test/harness/servers/moto.sh):
-- GetSecretValue signed with the store's credential
\getenv moto METAETL_MOTO_ENDPOINT
\getenv moto_key METAETL_MOTO_KEY_ID
\getenv moto_secret METAETL_MOTO_SECRET
\getenv nobody_key METAETL_MOTO_NOBODY_KEY_ID
\getenv nobody_secret METAETL_MOTO_NOBODY_SECRET
SELECT etl.add_credential('aws_app', jsonb_build_object('access_key_id', :'moto_key', 'secret_access_key', :'moto_secret'));
SELECT etl.add_credential('aws_nobody', jsonb_build_object('access_key_id', :'nobody_key', 'secret_access_key', :'nobody_secret'));
SELECT etl.add_credential('aws_nokey', '{"access_key_id": "AKIAEXAMPLE"}');
SELECT etl.add_secret_store('aws', 'aws_secrets_manager',
    jsonb_build_object('region', 'us-east-1', 'endpoint', :'moto', 'allowed_roles', jsonb_build_array('store_user')), 'aws_app');
SELECT etl.add_secret_store('aws_denied', 'aws_secrets_manager',
    jsonb_build_object('region', 'us-east-1', 'endpoint', :'moto' || '/', 'allowed_roles', jsonb_build_array('store_user')), 'aws_nobody');
SELECT etl.add_secret_store('aws_half', 'aws_secrets_manager',
    jsonb_build_object('region', 'us-east-1', 'endpoint', :'moto', 'allowed_roles', jsonb_build_array('store_user')), 'aws_nokey');
-- a store without its region, or with an option it does not take
SELECT etl.add_secret_store('aws_bad', 'aws_secrets_manager', jsonb_build_object('endpoint', :'moto'), 'aws_app');
SELECT etl.add_secret_store('aws_bad', 'aws_secrets_manager', '{"region": "us-east-1", "mount": "x"}', 'aws_app');
SET ROLE store_user;
SELECT etl.add_credential('wh', '{"store": "aws", "ref": "team-a/warehouse#password", "user": "wh"}');
SELECT etl.test_credential('wh');
SELECT etl.add_credential('wh_all', '{"store": "aws", "ref": "team-a/warehouse"}');
SELECT etl.test_credential('wh_all') -> 'fields';
SELECT etl.add_credential('wh_plain', '{"store": "aws", "ref": "plain-token"}');
SELECT etl.test_credential('wh_plain') -> 'fields';
SELECT etl.add_credential('wh_missing', '{"store": "aws", "ref": "team-a/nothing"}');
SELECT etl.test_credential('wh_missing') - 'credential';
SELECT etl.add_credential('wh_denied', '{"store": "aws_denied", "ref": "team-a/warehouse#password"}');
SELECT etl.test_credential('wh_denied') - 'credential';
SELECT etl.add_credential('wh_half', '{"store": "aws_half", "ref": "team-a/warehouse#password"}');
SELECT etl.test_credential('wh_half') ->> 'error';
RESET ROLE;

-- another role may not point credentials at these stores, nor use these credentials
SET ROLE store_other;
SELECT etl.add_credential('steal', '{"store": "vault", "ref": "team-a/db#password"}');
SELECT etl.test_credential('crm') - 'credential';
RESET ROLE;

-- fetches are cached for ttl_s: two more uses in this session ask Vault nothing
SELECT count(*) AS vault_reads FROM regexp_split_to_table(pg_read_file(:'fakesdir' || '/requests.log'), E'\n') l
 WHERE l LIKE 'GET /v1/secret/data/team-a/db%' \gset
SET ROLE store_user;
SELECT (etl.test_credential('crm') ->> 'ok')::bool AND (etl.test_credential('crm_all') ->> 'ok')::bool AS twice;
RESET ROLE;
SELECT count(*) - :vault_reads AS new_vault_reads
  FROM regexp_split_to_table(pg_read_file(:'fakesdir' || '/requests.log'), E'\n') l
 WHERE l LIKE 'GET /v1/secret/data/team-a/db%';
-- every fetch and every refusal is in the access log (written by the delivery worker)
DO $$
BEGIN
    FOR i IN 1..300 LOOP
        EXIT WHEN (SELECT count(*) FROM etl.access_log WHERE action = 'secret_store_fetch') >= 5;
        PERFORM pg_sleep(0.1);
    END LOOP;
END $$;
SELECT action, granted, count(*) > 0 AS logged FROM etl.access_log
 WHERE db_role IN ('store_user', 'store_other') GROUP BY 1, 2 ORDER BY 1, 2;

-- nothing fetched or sent is stored anywhere
SELECT count(*) AS leaks
  FROM (SELECT to_jsonb(t)::text AS row FROM etl.credentials t
        UNION ALL SELECT to_jsonb(t)::text FROM etl.secret_stores t
        UNION ALL SELECT to_jsonb(t)::text FROM etl.audit_log t
        UNION ALL SELECT to_jsonb(t)::text FROM etl.access_log t) x
 WHERE row ~ 'vault-db-pw|azure-kv-pw|vault-tok-7Qx9|azure-cs-4Lm2|vault-wrong-tok|aws-sm-pw-8Kd2|aws-sm-token-3Vn7'
    OR strpos(row, :'moto_secret') > 0 OR strpos(row, :'nobody_secret') > 0;

DELETE FROM etl.credentials WHERE name IN ('crm', 'crm_all', 'crm_missing', 'crm_nokey', 'crm_denied', 'crm_az', 'crm_az2', 'from_file', 'escape',
    'wh', 'wh_all', 'wh_plain', 'wh_missing', 'wh_denied', 'wh_half');
DELETE FROM etl.access_log WHERE db_role IN ('store_user', 'store_other');
DELETE FROM etl.secret_stores;
DELETE FROM etl.credentials;
DROP ROLE store_user, store_other;
