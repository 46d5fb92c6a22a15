/*-------------------------------------------------------------------------
 *
 * src/security/credentials.c
 *		Named credentials: add, rotate, drop, use; connections that name
 *		them; re-sealing everything under a new master key.
 *
 * etl.credentials is readable by nobody but the extension owner: these
 * functions are plain (not SECURITY DEFINER) C functions that check who is
 * calling, then read or write the table in an owner section (privs.c).  A
 * credential is usable by its owner, members of its owner, members of
 * etl_admin and superusers; every use and every refusal goes to
 * etl.access_log.  The SQL functions take the secret as an argument, so
 * their statement text holds it: every error they raise is marked
 * errhidestmt, so the server log's STATEMENT line never shows it (errors
 * raised below them are caught and re-thrown with the same mark).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/syscache.h"

#include "metaetl.h"
#include "orchestrator/orchestrator.h"
#include "security/security.h"
#include "util/ident.h"
#include "util/json.h"

PG_FUNCTION_INFO_V1(metaetl_add_credential);
PG_FUNCTION_INFO_V1(metaetl_rotate_credential);
PG_FUNCTION_INFO_V1(metaetl_drop_credential);
PG_FUNCTION_INFO_V1(metaetl_rotate_master_key);

static const char *const credential_kinds[] = {
	"password", "token", "access_key", "connection_string", "certificate", "key", "store_ref", NULL
};

/* is role a superuser or an etl_admin member? */
bool
MetaetlIsAdmin(Oid role)
{
	Oid			admin = get_role_oid("etl_admin", true);

	return superuser_arg(role) || (OidIsValid(admin) && has_privs_of_role(role, admin));
}

/* is role allowed to use / change what owner owns? */
bool
MetaetlRoleActsFor(Oid role, Oid owner)
{
	return MetaetlIsAdmin(role) || has_privs_of_role(role, owner);
}

/* re-throw the current error with its statement hidden (it may hold a secret) */
static void
rethrow_hidden(MemoryContext cxt)
{
	ErrorData  *edata;

	MemoryContextSwitchTo(cxt);
	edata = CopyErrorData();
	FlushErrorState();
	edata->hide_stmt = true;
	ReThrowError(edata);
}

/* ---------------------------------------------------------------- reading */

typedef struct CredRow
{
	bool		found;
	Oid			owner;
	char	   *owner_name;
	char	   *sealed;
	char	   *kind;
} CredRow;

/* the row of credential name, read as the extension owner */
static CredRow
cred_read(const char *name, bool for_update)
{
	CredRow		r;
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(name)};
	MetaetlPrivState st;

	memset(&r, 0, sizeof(r));
	MetaetlOwnerBegin(&st);
	SPI_connect();
	MetaetlSpiExec(for_update ?
				   "SELECT c.owner, pg_catalog.convert_from(c.secret, 'UTF8'), c.kind FROM etl.credentials c"
				   " WHERE c.name OPERATOR(pg_catalog.=) $1 FOR UPDATE" :
				   "SELECT c.owner, pg_catalog.convert_from(c.secret, 'UTF8'), c.kind FROM etl.credentials c"
				   " WHERE c.name OPERATOR(pg_catalog.=) $1",
				   1, types, values, NULL, !for_update, 1);
	if (SPI_processed == 1)
	{
		MemoryContext spicxt = MemoryContextSwitchTo(SPI_tuptable->tuptabcxt->parent);

		r.found = true;
		r.owner_name = pstrdup(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1));
		r.sealed = pstrdup(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2));
		r.kind = pstrdup(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3));
		MemoryContextSwitchTo(spicxt);
		r.owner = get_role_oid(r.owner_name, true);
	}
	SPI_finish();
	MetaetlOwnerEnd(&st);
	return r;
}

/*
 * A string field of a decrypted secret, or NULL (no secret, no such field,
 * not a string): callers treat every missing field the same.
 */
char *
MetaetlSecretField(Jsonb *secret, const char *key)
{
	return secret ? MetaetlJString(&secret->root, key) : NULL;
}

/*
 * The decrypted secret of credential name for role, which must act for the
 * credential's owner; every use (granted or not) goes to the access log
 * with purpose.  The caller must not keep the secret past its use.
 */
Jsonb *
MetaetlCredentialSecret(const char *name, Oid role, const char *purpose)
{
	CredRow		r = cred_read(name, false);
	Jsonb	   *secret;
	int			len;
	char	   *plain;

	if (!r.found)
	{
		MetaetlAccessLog("credential_use", "credential", name, false, "does not exist");
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("credential \"%s\" does not exist", name),
				 errdetail("Needed by %s.", purpose),
				 errhint("Create it with etl.add_credential(name, secret).")));
	}
	if (!OidIsValid(r.owner) || !MetaetlRoleActsFor(role, r.owner))
	{
		MetaetlAccessLog("credential_use", "credential", name, false, purpose);
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for credential \"%s\"", name),
				 errdetail("Role \"%s\" may not use it (needed by %s).",
						   GetUserNameFromId(role, false), purpose),
				 errhint("A credential is usable by its owner, members of its owner and of etl_admin.")));
	}
	plain = MetaetlOpenSealed(r.sealed, &len, NULL);
	secret = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(plain)));
	explicit_bzero(plain, len);
	if (MetaetlSecretField(secret, "store") != NULL)
		secret = MetaetlSecretStoreResolve(secret, name, role);
	MetaetlAccessLog("credential_use", "credential", name, true, purpose);
	return secret;
}

/*
 * A connection by name as the current role sees it (row-level security
 * shows a role its own connections only), or NULL with missing_ok.  Read as
 * the caller, never the owner, so nobody reaches another role's connection.
 */
MetaetlConnection *
MetaetlGetConnection(const char *name, bool is_source, bool missing_ok, const char *for_what)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(name)};
	MetaetlConnection *c = NULL;
	MemoryContext cxt = CurrentMemoryContext;

	/* as the current role: row-level security shows it its own connections */
	SPI_connect();
	MetaetlSpiExec(is_source ?
				   "SELECT type, options, credential, owner FROM etl.data_sources WHERE name OPERATOR(pg_catalog.=) $1"
				   " UNION ALL SELECT type, options, credential, owner FROM etl.data_targets WHERE name OPERATOR(pg_catalog.=) $1" :
				   "SELECT type, options, credential, owner FROM etl.data_targets WHERE name OPERATOR(pg_catalog.=) $1"
				   " UNION ALL SELECT type, options, credential, owner FROM etl.data_sources WHERE name OPERATOR(pg_catalog.=) $1",
				   1, types, values, NULL, true, 1);
	if (SPI_processed == 1)
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		Datum		opts = SPI_getbinval(tup, desc, 2, &isnull);
		MemoryContext old = MemoryContextSwitchTo(cxt);

		c = palloc0(sizeof(MetaetlConnection));
		c->name = pstrdup(name);
		c->type = pstrdup(SPI_getvalue(tup, desc, 1));
		c->options = isnull ? NULL : DatumGetJsonbPCopy(opts);
		c->credential = SPI_getvalue(tup, desc, 3) ? pstrdup(SPI_getvalue(tup, desc, 3)) : NULL;
		c->owner = get_role_oid(SPI_getvalue(tup, desc, 4), true);
		MemoryContextSwitchTo(old);
	}
	SPI_finish();
	if (c == NULL && !missing_ok)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("%s: connection \"%s\" does not exist", for_what, name),
				 errhint("Create it with etl.add_connection(name, type, options, credential).")));
	return c;
}

/*
 * The secret of a connection's credential for role, or NULL when it has
 * none (MetaetlCredentialSecret checks the role and logs the use).
 */
Jsonb *
MetaetlConnectionSecret(MetaetlConnection *conn, Oid role)
{
	if (conn == NULL || conn->credential == NULL)
		return NULL;
	return MetaetlCredentialSecret(conn->credential, role, psprintf("connection %s", conn->name));
}

/* ---------------------------------------------------------------- writing */

/* checks shared by add and rotate: a non-empty object of strings (or a store reference) */
static void
cred_check_secret(const char *name, Jsonb *secret)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	int			depth = 0;
	int			n = 0;

	if (!JB_ROOT_IS_OBJECT(secret) || JB_ROOT_COUNT(secret) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the secret of credential \"%s\" must be a non-empty JSON object", name),
				 errhint("For example {\"user\": \"etl\", \"password\": \"...\"}, {\"token\": \"...\"}, or {\"store\": \"vault\", \"ref\": \"path#key\"}."),
				 errhidestmt(true)));
	it = JsonbIteratorInit(&secret->root);
	while ((tok = JsonbIteratorNext(&it, &v, false)) != WJB_DONE)
	{
		if (tok == WJB_BEGIN_OBJECT || tok == WJB_BEGIN_ARRAY)
			depth++;
		else if (tok == WJB_END_OBJECT || tok == WJB_END_ARRAY)
			depth--;
		else if (tok == WJB_VALUE && depth == 1)
		{
			n++;
			if (v.type != jbvString && v.type != jbvNumeric && v.type != jbvBool && v.type != jbvBinary)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("the secret of credential \"%s\" has a null field", name),
						 errhidestmt(true)));
		}
	}
	if (MetaetlSecretField(secret, "store") != NULL)
		MetaetlSecretStoreCheckRef(name, secret);
}

/* kind: options->kind, or what the secret's fields say */
static const char *
cred_kind(const char *name, Jsonb *secret, Jsonb *options)
{
	char	   *kind = options ? MetaetlSecretField(options, "kind") : NULL;

	if (kind)
	{
		for (const char *const *k = credential_kinds; *k; k++)
			if (strcmp(*k, kind) == 0)
				return kind;
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown credential kind \"%s\"", kind),
				 errdetail("Credential \"%s\".", name),
				 errhint("Kinds: password, token, access_key, connection_string, certificate, key, store_ref."),
				 errhidestmt(true)));
	}
	if (MetaetlSecretField(secret, "store"))
		return "store_ref";
	if (MetaetlSecretField(secret, "password"))
		return "password";
	if (MetaetlSecretField(secret, "secret_access_key") || MetaetlSecretField(secret, "account_key"))
		return "access_key";
	if (MetaetlSecretField(secret, "token") || MetaetlSecretField(secret, "sas_token"))
		return "token";
	return "key";
}

static void
cred_check_options(const char *name, Jsonb *options)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;

	if (options == NULL)
		return;
	if (!JB_ROOT_IS_OBJECT(options))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("credential options must be a JSON object"),
				 errhidestmt(true)));
	it = JsonbIteratorInit(&options->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
		if (tok == WJB_KEY)
		{
			char	   *k = pnstrdup(v.val.string.val, v.val.string.len);

			if (strcmp(k, "kind") != 0 && strcmp(k, "description") != 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("unknown credential option \"%s\"", k),
						 errdetail("Credential \"%s\".", name),
						 errhint("Options are kind and description; the secret goes in the second argument."),
						 errhidestmt(true)));
		}
}

static char *
cred_jsonb_text(Jsonb *jb)
{
	return JsonbToCString(NULL, &jb->root, VARSIZE(jb));
}

/* etl.add_credential(name text, secret jsonb, options jsonb DEFAULT '{}') → void */
Datum
metaetl_add_credential(PG_FUNCTION_ARGS)
{
	MemoryContext cxt = CurrentMemoryContext;

	PG_TRY();
	{
		char	   *name;
		Jsonb	   *secret;
		Jsonb	   *options = PG_ARGISNULL(2) ? NULL : PG_GETARG_JSONB_P(2);
		const char *kind;
		char	   *plain;
		char	   *sealed;
		Oid			types[6] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID};
		Datum		values[6];
		char		nulls[6] = {' ', ' ', ' ', ' ', ' ', ' '};
		MetaetlPrivState st;
		CredRow		existing;

		if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("credential name and secret must not be null"),
					 errhidestmt(true)));
		name = text_to_cstring(PG_GETARG_TEXT_PP(0));
		secret = PG_GETARG_JSONB_P(1);
		if (!MetaetlIdentValid(name))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_NAME),
					 errmsg("\"%s\" is not a valid credential name", name),
					 errhint("Use lower-case letters, digits and _, starting with a letter, at most 63 bytes."),
					 errhidestmt(true)));
		cred_check_options(name, options);
		cred_check_secret(name, secret);
		kind = cred_kind(name, secret, options);
		existing = cred_read(name, false);
		if (existing.found)
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_OBJECT),
					 errmsg("credential \"%s\" already exists", name),
					 errhint("Credential names are unique in the database; change a secret with etl.rotate_credential(name, secret)."),
					 errhidestmt(true)));
		plain = cred_jsonb_text(secret);
		sealed = MetaetlSeal(plain, strlen(plain));
		explicit_bzero(plain, strlen(plain));

		values[0] = CStringGetTextDatum(name);
		values[1] = CStringGetTextDatum(kind);
		values[2] = CStringGetTextDatum(sealed);
		values[3] = CStringGetTextDatum(MetaetlMasterKeyCurrent());
		values[4] = CStringGetTextDatum(GetUserNameFromId(GetUserId(), false));
		if (options && MetaetlSecretField(options, "description"))
			values[5] = CStringGetTextDatum(MetaetlSecretField(options, "description"));
		else
			nulls[5] = 'n';
		MetaetlOwnerBegin(&st);
		SPI_connect();
		MetaetlSpiExec("INSERT INTO etl.credentials (name, kind, secret, key_id, owner, description)"
					   " VALUES ($1, $2, pg_catalog.convert_to($3, 'UTF8'), $4, $5::pg_catalog.name, $6)",
					   6, types, values, nulls, false, 0);
		SPI_finish();
		MetaetlOwnerEnd(&st);
	}
	PG_CATCH();
	{
		rethrow_hidden(cxt);
	}
	PG_END_TRY();
	PG_RETURN_VOID();
}

/* the credential, checked to exist and to be the caller's to change */
static CredRow
cred_for_change(const char *name, const char *action)
{
	CredRow		r = cred_read(name, true);

	if (!r.found || !OidIsValid(r.owner) || !MetaetlRoleActsFor(GetUserId(), r.owner))
	{
		MetaetlAccessLog(action, "credential", name, false, r.found ? "not the owner" : "does not exist");
		/* the same error whether it exists or not: no existence oracle */
		ereport(ERROR,
				(errcode(r.found ? ERRCODE_INSUFFICIENT_PRIVILEGE : ERRCODE_UNDEFINED_OBJECT),
				 errmsg("credential \"%s\" does not exist or is not yours", name),
				 errhint("A credential is changed by its owner, members of its owner and of etl_admin."),
				 errhidestmt(true)));
	}
	return r;
}

/* etl.rotate_credential(name text, secret jsonb) → void */
Datum
metaetl_rotate_credential(PG_FUNCTION_ARGS)
{
	MemoryContext cxt = CurrentMemoryContext;

	PG_TRY();
	{
		char	   *name;
		Jsonb	   *secret;
		char	   *plain;
		Oid			types[4] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID};
		Datum		values[4];
		MetaetlPrivState st;

		if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("credential name and secret must not be null"),
					 errhidestmt(true)));
		name = text_to_cstring(PG_GETARG_TEXT_PP(0));
		secret = PG_GETARG_JSONB_P(1);
		(void) cred_for_change(name, "credential_rotate");
		cred_check_secret(name, secret);
		plain = cred_jsonb_text(secret);
		values[0] = CStringGetTextDatum(name);
		values[1] = CStringGetTextDatum(MetaetlSeal(plain, strlen(plain)));
		values[2] = CStringGetTextDatum(MetaetlMasterKeyCurrent());
		values[3] = CStringGetTextDatum(MetaetlSecretField(secret, "store") ? "store_ref" :
										cred_kind(name, secret, NULL));
		explicit_bzero(plain, strlen(plain));
		MetaetlOwnerBegin(&st);
		SPI_connect();
		MetaetlSpiExec("UPDATE etl.credentials SET secret = pg_catalog.convert_to($2, 'UTF8'), key_id = $3,"
					   " rotated_at = pg_catalog.now(),"
					   " kind = CASE WHEN kind OPERATOR(pg_catalog.=) 'store_ref' OR $4 OPERATOR(pg_catalog.=) 'store_ref'"
					   "             THEN $4 ELSE kind END"
					   " WHERE name OPERATOR(pg_catalog.=) $1",
					   4, types, values, NULL, false, 0);
		SPI_finish();
		MetaetlOwnerEnd(&st);
		MetaetlSecretStoreForget(name);
		MetaetlAccessLog("credential_rotate", "credential", name, true, NULL);
	}
	PG_CATCH();
	{
		rethrow_hidden(cxt);
	}
	PG_END_TRY();
	PG_RETURN_VOID();
}

/* etl.drop_credential(name text) → void */
Datum
metaetl_drop_credential(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(name)};
	MetaetlPrivState st;
	char	   *users;

	(void) cred_for_change(name, "credential_drop");
	MetaetlOwnerBegin(&st);
	SPI_connect();
	MetaetlSpiExec("SELECT pg_catalog.string_agg(DISTINCT n, ', ' ORDER BY n) FROM ("
				   " SELECT name AS n FROM etl.data_sources WHERE credential OPERATOR(pg_catalog.=) $1"
				   " UNION ALL SELECT name FROM etl.data_targets WHERE credential OPERATOR(pg_catalog.=) $1) x",
				   1, types, values, NULL, true, 1);
	users = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	if (users != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
				 errmsg("credential \"%s\" is used by connections: %s", name, users),
				 errhint("Point those connections at another credential, or drop them, first.")));
	MetaetlSpiExec("DELETE FROM etl.credentials WHERE name OPERATOR(pg_catalog.=) $1",
				   1, types, values, NULL, false, 0);
	SPI_finish();
	MetaetlOwnerEnd(&st);
	MetaetlSecretStoreForget(name);
	MetaetlAccessLog("credential_drop", "credential", name, true, NULL);
	PG_RETURN_VOID();
}

/*
 * etl.rotate_master_key() → int
 *
 * Add a new master key and re-seal, in this transaction, every credential
 * and every alert channel secret under it; returns how many values were
 * re-sealed.  Old keys stay in the ring (a rolled-back rotation, or a
 * restored backup, still opens with them).  Superusers and etl_admin only.
 */
Datum
metaetl_rotate_master_key(PG_FUNCTION_ARGS)
{
	MetaetlPrivState st;
	char	   *id;
	int64		n = 0;
	uint64		nrows;
	char	  **names;
	char	  **sealed;

	if (!MetaetlIsAdmin(GetUserId()))
	{
		MetaetlAccessLog("rotate_master_key", "master_key", "", false, "not etl_admin");
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to rotate the metaetl master key"),
				 errhint("Only superusers and members of etl_admin may rotate it.")));
	}
	id = MetaetlMasterKeyRotate();

	MetaetlOwnerBegin(&st);
	SPI_connect();
	/* credentials */
	MetaetlSpiExec("SELECT name, pg_catalog.convert_from(secret, 'UTF8') FROM etl.credentials ORDER BY name FOR UPDATE",
				   0, NULL, NULL, NULL, false, 0);
	nrows = SPI_processed;
	names = palloc(sizeof(char *) * (nrows + 1));
	sealed = palloc(sizeof(char *) * (nrows + 1));
	for (uint64 i = 0; i < nrows; i++)
	{
		names[i] = pstrdup(SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1));
		sealed[i] = pstrdup(SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2));
	}
	for (uint64 i = 0; i < nrows; i++)
	{
		int			len;
		char	   *plain = MetaetlOpenSealed(sealed[i], &len, NULL);
		Oid			types[3] = {TEXTOID, TEXTOID, TEXTOID};
		Datum		values[3];

		values[0] = CStringGetTextDatum(names[i]);
		values[1] = CStringGetTextDatum(MetaetlSeal(plain, len));
		values[2] = CStringGetTextDatum(id);
		explicit_bzero(plain, len);
		MetaetlSpiExec("UPDATE etl.credentials SET secret = pg_catalog.convert_to($2, 'UTF8'), key_id = $3"
					   " WHERE name OPERATOR(pg_catalog.=) $1", 3, types, values, NULL, false, 0);
		n++;
	}
	/* alert channels: each value of secrets is a sealed text */
	MetaetlSpiExec("SELECT c.name, e.key, e.value OPERATOR(pg_catalog.#>>) '{}' FROM etl.alert_channels c,"
				   " pg_catalog.jsonb_each(c.secrets) e ORDER BY 1, 2",
				   0, NULL, NULL, NULL, false, 0);
	nrows = SPI_processed;
	{
		char	  **chan = palloc(sizeof(char *) * (nrows + 1));
		char	  **key = palloc(sizeof(char *) * (nrows + 1));
		char	  **val = palloc(sizeof(char *) * (nrows + 1));

		for (uint64 i = 0; i < nrows; i++)
		{
			chan[i] = pstrdup(SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1));
			key[i] = pstrdup(SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2));
			val[i] = pstrdup(SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 3));
		}
		for (uint64 i = 0; i < nrows; i++)
		{
			int			len;
			char	   *plain = MetaetlOpenSealed(val[i], &len, NULL);
			Oid			types[3] = {TEXTOID, TEXTOID, TEXTOID};
			Datum		values[3];

			values[0] = CStringGetTextDatum(chan[i]);
			values[1] = CStringGetTextDatum(key[i]);
			values[2] = CStringGetTextDatum(MetaetlSeal(plain, len));
			explicit_bzero(plain, len);
			MetaetlSpiExec("UPDATE etl.alert_channels SET secrets = pg_catalog.jsonb_set(secrets,"
						   " ARRAY[$2], pg_catalog.to_jsonb($3)) WHERE name OPERATOR(pg_catalog.=) $1",
						   3, types, values, NULL, false, 0);
			n++;
		}
	}
	SPI_finish();
	MetaetlOwnerEnd(&st);
	MetaetlAccessLog("rotate_master_key", "master_key", id, true, NULL);
	MetaetlAudit("rotate", "master_key", id, 0, psprintf("{\"resealed\": " INT64_FORMAT "}", n), NULL);
	PG_RETURN_INT32((int32) n);
}

/*
 * etl._check_credential(name text) → void
 *
 * What etl.add_connection asks before naming a credential: it exists and
 * the calling role may use it (else 42704 / 42501, both logged).  Nothing
 * is opened.
 */
PG_FUNCTION_INFO_V1(metaetl_check_credential);

/*
 * etl._check_credential(name): an error unless the credential exists and
 * the calling role may use it (logged either way).  etl.add_connection asks
 * before it stores a connection naming a credential, and the error does not
 * tell another role's credential from a missing one.
 */
Datum
metaetl_check_credential(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	CredRow		r = cred_read(name, false);

	if (!r.found || !OidIsValid(r.owner) || !MetaetlRoleActsFor(GetUserId(), r.owner))
	{
		MetaetlAccessLog("credential_use", "credential", name, false,
						 r.found ? "named by a connection it may not use" : "does not exist");
		ereport(ERROR,
				(errcode(r.found ? ERRCODE_INSUFFICIENT_PRIVILEGE : ERRCODE_UNDEFINED_OBJECT),
				 errmsg("credential \"%s\" does not exist or is not yours", name),
				 errhint("A connection may name a credential of its owner's; create one with etl.add_credential(name, secret).")));
	}
	PG_RETURN_VOID();
}

/*
 * etl.test_credential(name text) → jsonb
 *
 * Whether a credential can be used by the calling role right now: opened,
 * and fetched from its secret store when it points to one.  Returns
 * {ok, kind, fields (the secret's keys, never their values), error, detail}.
 * The use is recorded like any other.
 */
PG_FUNCTION_INFO_V1(metaetl_test_credential);

/*
 * etl.test_credential(name): whether the calling role can use the
 * credential now (opened, fetched from its store): ok, kind, the field names
 * (never the values) or the error, masked.
 */
Datum
metaetl_test_credential(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	StringInfoData out;
	CredRow		r = cred_read(name, false);

	initStringInfo(&out);
	appendStringInfoString(&out, "{\"credential\": ");
	escape_json(&out, name);
	if (r.found && OidIsValid(r.owner) && MetaetlRoleActsFor(GetUserId(), r.owner))
	{
		appendStringInfoString(&out, ", \"kind\": ");
		escape_json(&out, r.kind);
	}
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		Jsonb	   *secret = MetaetlCredentialSecret(name, GetUserId(), "etl.test_credential");
		JsonbIterator *it = JsonbIteratorInit(&secret->root);
		JsonbValue	v;
		JsonbIteratorToken tok;
		int			depth = 0;
		bool		first = true;

		appendStringInfoString(&out, ", \"fields\": [");
		while ((tok = JsonbIteratorNext(&it, &v, false)) != WJB_DONE)
		{
			if (tok == WJB_BEGIN_OBJECT || tok == WJB_BEGIN_ARRAY)
				depth++;
			else if (tok == WJB_END_OBJECT || tok == WJB_END_ARRAY)
				depth--;
			else if (tok == WJB_KEY && depth == 1)
			{
				if (!first)
					appendStringInfoString(&out, ", ");
				first = false;
				escape_json(&out, pnstrdup(v.val.string.val, v.val.string.len));
			}
		}
		appendStringInfoString(&out, "], \"ok\": true}");
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
		appendStringInfoString(&out, ", \"ok\": false, \"sqlstate\": ");
		escape_json(&out, unpack_sql_state(edata->sqlerrcode));
		appendStringInfoString(&out, ", \"error\": ");
		escape_json(&out, edata->message ? edata->message : "unknown error");
		if (edata->detail)
		{
			appendStringInfoString(&out, ", \"detail\": ");
			escape_json(&out, edata->detail);
		}
		appendStringInfoChar(&out, '}');
	}
	PG_END_TRY();
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(out.data)));
}
