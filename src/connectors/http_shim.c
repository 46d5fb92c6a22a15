/*-------------------------------------------------------------------------
 *
 * src/connectors/http_shim.c
 *		TEMPORARY stand-in for security/credentials.c (not yet on main), so
 *		the HTTP connectors build and their auth can be tested.
 *
 * Delete this file when the credentials API lands: the symbols clash with
 * the real ones on purpose, so the build says when.  Secrets here come from
 * the session setting metaetl_test.credential_NAME (jsonb text) — a test
 * device only, never the real store.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/jsonb.h"

#include "security/security.h"

MetaetlConnection *
MetaetlGetConnection(const char *name, bool is_source, bool missing_ok, const char *for_what)
{
	Datum		arg = CStringGetTextDatum(name);
	Oid			argtype = TEXTOID;
	MetaetlConnection *c;
	bool		isnull;
	MemoryContext cxt = CurrentMemoryContext;

	SPI_connect();
	if (SPI_execute_with_args(is_source ?
							  "SELECT name, type, options, credential FROM etl.data_sources WHERE name OPERATOR(pg_catalog.=) $1 "
							  "UNION ALL SELECT name, type, options, credential FROM etl.data_targets WHERE name OPERATOR(pg_catalog.=) $1" :
							  "SELECT name, type, options, credential FROM etl.data_targets WHERE name OPERATOR(pg_catalog.=) $1 "
							  "UNION ALL SELECT name, type, options, credential FROM etl.data_sources WHERE name OPERATOR(pg_catalog.=) $1",
							  1, &argtype, &arg, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read etl.data_sources");
	if (SPI_processed == 0)
	{
		SPI_finish();
		if (missing_ok)
			return NULL;
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("%s: connection \"%s\" does not exist", for_what, name),
				 errhint("Create it with etl.add_connection().")));
	}
	c = MemoryContextAllocZero(cxt, sizeof(MetaetlConnection));
	c->name = MemoryContextStrdup(cxt, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1));
	c->type = MemoryContextStrdup(cxt, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2));
	{
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull);
		MemoryContext old = MemoryContextSwitchTo(cxt);

		c->options = DatumGetJsonbPCopy(d);
		MemoryContextSwitchTo(old);
	}
	{
		char	   *cred = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4);

		c->credential = cred ? MemoryContextStrdup(cxt, cred) : NULL;
	}
	SPI_finish();
	return c;
}

Jsonb *
MetaetlCredentialSecret(const char *name, Oid role, const char *purpose)
{
	const char *v = GetConfigOption(psprintf("metaetl_test.credential_%s", name), true, false);

	if (v == NULL || v[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("credential \"%s\" does not exist", name)));
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(v)));
}

Jsonb *
MetaetlConnectionSecret(MetaetlConnection *conn, Oid role)
{
	if (conn->credential == NULL)
		return NULL;
	return MetaetlCredentialSecret(conn->credential, role, conn->name);
}

char *
MetaetlSecretField(Jsonb *secret, const char *key)
{
	JsonbValue	k,
			   *v;

	if (secret == NULL || !JB_ROOT_IS_OBJECT(secret))
		return NULL;
	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = strlen(key);
	v = findJsonbValueFromContainer(&secret->root, JB_FOBJECT, &k);
	if (v == NULL || v->type != jbvString)
		return NULL;
	return pnstrdup(v->val.string.val, v->val.string.len);
}

/* MetaetlRedact exists already (monitor/channels.c); security.h declares it too. */
