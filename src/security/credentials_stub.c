/*-------------------------------------------------------------------------
 *
 * src/security/credentials_stub.c
 *		TEMPORARY (branch objstore only): a stand-in for security.h's
 *		credentials API until the lead's security/credentials.c lands on
 *		main.  Delete this file in the merge that brings credentials.c.
 *
 * It reads etl.data_sources / etl.data_targets and etl.credentials as the
 * current user, takes etl.credentials.secret as UTF-8 JSON (no sealing),
 * and lets only the credential's owner or a superuser use it.  Enough to develop and test the
 * object-store connectors against; not the security model.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/syscache.h"

#include "security/security.h"

MetaetlConnection *
MetaetlGetConnection(const char *name, bool is_source, bool missing_ok, const char *for_what)
{
	Datum		arg = CStringGetTextDatum(name);
	Oid			argtype = TEXTOID;
	bool		isnull;
	MetaetlConnection *c;
	int			rc;

	rc = SPI_execute_with_args(is_source ?
							   "SELECT name, type, options, credential, owner::text FROM etl.data_sources WHERE name OPERATOR(pg_catalog.=) $1 "
							   "UNION ALL SELECT name, type, options, credential, owner::text FROM etl.data_targets WHERE name OPERATOR(pg_catalog.=) $1" :
							   "SELECT name, type, options, credential, owner::text FROM etl.data_targets WHERE name OPERATOR(pg_catalog.=) $1 "
							   "UNION ALL SELECT name, type, options, credential, owner::text FROM etl.data_sources WHERE name OPERATOR(pg_catalog.=) $1",
							   1, &argtype, &arg, NULL, true, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not read etl.data_sources");
	if (SPI_processed == 0)
	{
		if (missing_ok)
			return NULL;
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("%s: connection \"%s\" does not exist", for_what, name)));
	}
	c = palloc0(sizeof(MetaetlConnection));
	c->name = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	c->type = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	c->options = DatumGetJsonbPCopy(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
	c->credential = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4);
	c->owner = get_role_oid(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 5), true);
	return c;
}

Jsonb *
MetaetlCredentialSecret(const char *name, Oid role, const char *purpose)
{
	Datum		arg = CStringGetTextDatum(name);
	Oid			argtype = TEXTOID;
	bool		isnull;
	char	   *owner;

	if (SPI_execute_with_args("SELECT pg_catalog.convert_from(secret, 'UTF8')::pg_catalog.jsonb, owner::text "
							  "FROM etl.credentials WHERE name OPERATOR(pg_catalog.=) $1",
							  1, &argtype, &arg, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read etl.credentials");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("credential \"%s\" does not exist", name)));
	owner = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	if (!superuser_arg(role) && get_role_oid(owner, true) != role)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to use credential \"%s\"", name)));
	return DatumGetJsonbPCopy(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

Jsonb *
MetaetlConnectionSecret(MetaetlConnection *conn, Oid role)
{
	if (conn->credential == NULL)
		return NULL;
	return MetaetlCredentialSecret(conn->credential, role, psprintf("connection %s", conn->name));
}

char *
MetaetlSecretField(Jsonb *secret, const char *key)
{
	JsonbValue	k,
			   *v;

	if (secret == NULL)
		return NULL;
	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = strlen(key);
	v = findJsonbValueFromContainer(&secret->root, JB_FOBJECT, &k);
	if (v == NULL || v->type != jbvString)
		return NULL;
	return pnstrdup(v->val.string.val, v->val.string.len);
}

/* MetaetlRedact is monitor/channels.c's until security/credentials.c takes it over */
