-- Security manager (0.2; after 65_orchestrator, whose audit trigger and
-- may_act_as it uses): credentials sealed under a master key ring, secret
-- stores, and the SQL functions over them (src/security/).  The functions are
-- plain C functions that check who calls them and reach etl.credentials and
-- etl.secret_stores as the extension owner; neither table is readable by
-- other roles.  docs/security.md describes it all.

-- credential kinds: what add_credential infers from the secret, or is told
ALTER TABLE etl.credentials DROP CONSTRAINT credentials_kind_check;
ALTER TABLE etl.credentials ADD CONSTRAINT credentials_kind_check
    CHECK (kind IN ('password', 'token', 'access_key', 'connection_string', 'certificate', 'key', 'store_ref'));
REVOKE ALL ON etl.credentials FROM PUBLIC;

CREATE TABLE etl.secret_stores (
    name            pg_catalog.text PRIMARY KEY CHECK (etl.is_valid_id(name)),
    type            pg_catalog.text NOT NULL
                    CHECK (type IN ('aws_secrets_manager', 'hashicorp_vault', 'azure_key_vault', 'env', 'file')),
    options         pg_catalog.jsonb NOT NULL DEFAULT '{}' CHECK (pg_catalog.jsonb_typeof(options) = 'object'),
    credential      pg_catalog.text REFERENCES etl.credentials (name) ON DELETE RESTRICT,
    owner           pg_catalog.name NOT NULL DEFAULT CURRENT_USER,
    created_at      pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at      pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now()
);
REVOKE ALL ON etl.secret_stores FROM PUBLIC;
COMMENT ON TABLE etl.secret_stores IS
  'Secret stores (Vault, AWS Secrets Manager, Azure Key Vault, env, file) that credentials may point to; fetched values are cached in memory, never stored';
CREATE TRIGGER secret_stores_audit AFTER INSERT OR UPDATE OR DELETE ON etl.secret_stores
    FOR EACH ROW EXECUTE FUNCTION etl.audit_trigger('secret_store', 'name');

CREATE FUNCTION etl.add_credential(name pg_catalog.text, secret pg_catalog.jsonb,
                                   options pg_catalog.jsonb DEFAULT '{}')
RETURNS void
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'metaetl_add_credential';
COMMENT ON FUNCTION etl.add_credential(pg_catalog.text, pg_catalog.jsonb, pg_catalog.jsonb) IS
  'store a named secret (a JSON object, or {"store": NAME, "ref": "path#key"}) sealed with AES-256-GCM; owned by the calling role; options: kind, description';

CREATE FUNCTION etl._check_credential(name pg_catalog.text)
RETURNS void
LANGUAGE c STABLE STRICT
AS 'MODULE_PATHNAME', 'metaetl_check_credential';
COMMENT ON FUNCTION etl._check_credential(pg_catalog.text) IS
  'internal: raise unless the credential exists and the calling role may use it (etl.add_connection asks)';

CREATE FUNCTION etl.rotate_credential(name pg_catalog.text, secret pg_catalog.jsonb)
RETURNS void
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'metaetl_rotate_credential';
COMMENT ON FUNCTION etl.rotate_credential(pg_catalog.text, pg_catalog.jsonb) IS
  'replace the secret of a credential (its owner, members of its owner and etl_admin); connections using it pick it up at their next use';

CREATE FUNCTION etl.drop_credential(name pg_catalog.text)
RETURNS void
LANGUAGE c VOLATILE STRICT
AS 'MODULE_PATHNAME', 'metaetl_drop_credential';
COMMENT ON FUNCTION etl.drop_credential(pg_catalog.text) IS
  'remove a credential no connection uses (its owner, members of its owner and etl_admin)';

CREATE FUNCTION etl.test_credential(name pg_catalog.text)
RETURNS pg_catalog.jsonb
LANGUAGE c VOLATILE STRICT
AS 'MODULE_PATHNAME', 'metaetl_test_credential';
COMMENT ON FUNCTION etl.test_credential(pg_catalog.text) IS
  'whether the calling role can use the credential now (opened, fetched from its store): ok, kind, fields (names only, never values), error';

CREATE FUNCTION etl.rotate_master_key()
RETURNS pg_catalog.int4
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'metaetl_rotate_master_key';
COMMENT ON FUNCTION etl.rotate_master_key() IS
  'add a new master key to $PGDATA/metaetl_keyring and re-seal every credential and alert channel secret under it; returns how many values were re-sealed (superusers and etl_admin)';

CREATE FUNCTION etl.add_secret_store(name pg_catalog.text, type pg_catalog.text, options pg_catalog.jsonb,
                                     credential pg_catalog.text DEFAULT NULL)
RETURNS void
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'metaetl_add_secret_store';
COMMENT ON FUNCTION etl.add_secret_store(pg_catalog.text, pg_catalog.text, pg_catalog.jsonb, pg_catalog.text) IS
  'add or replace a secret store: aws_secrets_manager, hashicorp_vault, azure_key_vault (etl_admin), env, file (superusers); credential authenticates metaetl to the store';

CREATE VIEW etl.credentials_public AS
SELECT c.name, c.kind, c.key_id, c.owner, c.description, c.created_at, c.rotated_at
  FROM etl.credentials c
 WHERE etl.may_act_as(c.owner)
    OR EXISTS (SELECT 1 FROM pg_catalog.pg_roles r
                WHERE r.rolname OPERATOR(pg_catalog.=) 'etl_admin' AND pg_catalog.pg_has_role(r.oid, 'MEMBER'));
GRANT SELECT ON etl.credentials_public TO PUBLIC;
COMMENT ON VIEW etl.credentials_public IS
  'Credentials the current role may use: name, kind, master key id, owner, dates — never the secret';

CREATE VIEW etl.secret_stores_public AS
SELECT s.name, s.type, s.options, s.credential, s.owner, s.created_at, s.updated_at
  FROM etl.secret_stores s;
GRANT SELECT ON etl.secret_stores_public TO PUBLIC;
COMMENT ON VIEW etl.secret_stores_public IS
  'Secret stores (their options hold addresses, not secrets; the store''s own credential is named, never shown)';

-- the access log: who used which credential or store, and every denial
ALTER TABLE etl.access_log ALTER COLUMN db_role SET DEFAULT CURRENT_USER;
GRANT SELECT ON etl.access_log TO PUBLIC;
ALTER TABLE etl.access_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY access_log_own ON etl.access_log FOR SELECT
    USING (etl.may_act_as(db_role)
           OR EXISTS (SELECT 1 FROM pg_catalog.pg_roles r
                       WHERE r.rolname OPERATOR(pg_catalog.=) 'etl_admin' AND pg_catalog.pg_has_role(r.oid, 'MEMBER')));
