/*-------------------------------------------------------------------------
 *
 * src/connectors/relational.c
 *		The relational connectors' SQL functions (etl.test_connection,
 *		etl.discover, etl._drop_remote) and vocabulary: the mysql/mariadb
 *		and sqlserver/oracle families of the connector registry.
 *
 * Remote postgresql sources and targets belong to the local family
 * (connectors/local.c hands them to fdw.c); these families are the other
 * databases.  Their keys are what etl.validate_config and
 * etl.add_connection check; docs/databases.md describes them.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "foreign/foreign.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/resowner.h"
#include "utils/timestamp.h"

#include "connectors/connector.h"
#include "connectors/remote.h"
#include "connectors/table_load.h"
#include "security/security.h"

PG_FUNCTION_INFO_V1(metaetl_test_connection);
PG_FUNCTION_INFO_V1(metaetl_discover);
PG_FUNCTION_INFO_V1(metaetl_drop_remote);

/*
 * etl.test_connection(name text) → jsonb
 *		{ok, latency_ms, server_version, error}: connects as the current role
 *		with the connection's credential and asks the server its version.  A
 *		failure is returned (ok false, error the message), not raised.
 */
Datum
metaetl_test_connection(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	RemoteConn *rc;
	Jsonb	   *res = NULL;
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	TimestampTz start = GetCurrentTimestamp();
	char	   *what = psprintf("test of connection \"%s\"", name);

	SPI_connect();
	rc = MetaetlRemoteConn(name, true, what, false);
	if (rc == NULL)
	{
		/* a postgresql connection to this database */
		res = DatumGetJsonbP(DirectFunctionCall1(jsonb_in,
												 CStringGetDatum(psprintf("{\"ok\": true, \"latency_ms\": 0, \"server_version\": \"%s\", \"error\": null, \"this_database\": true}",
																		  GetConfigOption("server_version", false, false)))));
	}
	else
	{
		char	   *ft = NULL;

		/*
		 * SQL Server and Oracle are reached through their wrapper only: the
		 * server, the role's user mapping and a one-row foreign table are
		 * made (and kept) first, whether or not the server answers.
		 */
		if ((rc->kind == REMOTE_SQLSERVER || rc->kind == REMOTE_ORACLE) &&
			GetForeignDataWrapperByName(MetaetlRemoteWrapper(rc), true) != NULL)
			ft = MetaetlRemoteTestObjects(rc);
		BeginInternalSubTransaction(NULL);
		MemoryContextSwitchTo(cxt);
		PG_TRY();
		{
			if (rc->kind == REMOTE_POSTGRES)
				res = MetaetlPgTest(rc);
			else if (rc->kind == REMOTE_MYSQL)
				res = MetaetlMyTest(rc);
			else
			{
				StringInfoData b;

				if (ft == NULL)
					MetaetlRemoteRequireWrapper(rc);	/* raises: reported below */
				MetaetlExec(psprintf("SELECT version FROM %s LIMIT 1", ft), SPI_OK_SELECT);
				initStringInfo(&b);
				appendStringInfo(&b, "{\"ok\": true, \"latency_ms\": %.3f, \"server_version\": ",
								 (double) (GetCurrentTimestamp() - start) / 1000.0);
				if (SPI_processed == 1)
					escape_json(&b, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1));
				else
					appendStringInfoString(&b, "null");
				appendStringInfoString(&b, ", \"error\": null}");
				res = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(b.data)));
			}
			res = DatumGetJsonbPCopy(JsonbPGetDatum(res));
			ReleaseCurrentSubTransaction();
			MemoryContextSwitchTo(cxt);
			CurrentResourceOwner = owner;
		}
		PG_CATCH();
		{
			ErrorData  *ed;
			StringInfoData b;

			MemoryContextSwitchTo(cxt);
			ed = CopyErrorData();
			FlushErrorState();
			RollbackAndReleaseCurrentSubTransaction();
			MemoryContextSwitchTo(cxt);
			CurrentResourceOwner = owner;
			initStringInfo(&b);
			appendStringInfo(&b, "{\"ok\": false, \"latency_ms\": %.3f, \"server_version\": null, \"sqlstate\": \"%s\", \"error\": ",
							 (double) (GetCurrentTimestamp() - start) / 1000.0, unpack_sql_state(ed->sqlerrcode));
			/* wrappers' own messages do not name the connection */
			escape_json(&b, MetaetlRedact(strstr(ed->message, psprintf("connection \"%s\"", rc->name)) ? ed->message :
										  psprintf("connection \"%s\": %s", rc->name, ed->message), rc->secret));
			appendStringInfoChar(&b, '}');
			res = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(b.data)));
			FreeErrorData(ed);
		}
		PG_END_TRY();
	}
	res = DatumGetJsonbP(SPI_datumTransfer(JsonbPGetDatum(res), false, -1));
	SPI_finish();
	PG_RETURN_JSONB_P(res);
}

/*
 * etl.discover(connection text, remote_schema text) →
 *		TABLE(remote_schema, table_name, column_name, data_type, nullable)
 * data_type is the remote server's type; the local type metaetl maps it to
 * is in docs/databases.md (and is what a foreign table gets).
 */
Datum
metaetl_discover(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *schema = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	RemoteConn *rc;
	List	   *cols;
	ListCell   *lc;
	MemoryContext cxt;

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	cxt = CurrentMemoryContext;
	SPI_connect();
	rc = MetaetlRemoteConn(name, true, psprintf("discovery on connection \"%s\"", name), false);
	if (rc == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("connection \"%s\" is this database", name),
				 errhint("Look at information_schema.columns instead.")));
	if (schema == NULL)
		schema = rc->kind == REMOTE_MYSQL ? MetaetlRemoteOpt(rc, "dbname") :
			MetaetlRemoteOpt(rc, "schema") ? MetaetlRemoteOpt(rc, "schema") : "public";
	if (rc->kind == REMOTE_POSTGRES)
		cols = MetaetlPgDiscover(rc, schema);
	else if (rc->kind == REMOTE_MYSQL)
		cols = MetaetlMyDiscover(rc, schema);
	else
	{
		MetaetlRemoteRequireWrapper(rc);
		MetaetlRemoteRaise(rc, ERRCODE_FEATURE_NOT_SUPPORTED, psprintf("discovery of %s servers is not supported", rc->type),
						   NULL, "List the tables on the server itself; sources then declare their columns.");
		cols = NIL;
	}
	MemoryContextSwitchTo(cxt);
	foreach(lc, cols)
	{
		RemoteColumn *c = lfirst(lc);
		Datum		v[5];
		bool		n[5] = {false, false, false, false, false};

		v[0] = CStringGetTextDatum(schema);
		v[1] = CStringGetTextDatum(c->table);
		v[2] = CStringGetTextDatum(c->name);
		v[3] = CStringGetTextDatum(c->remote_type);
		v[4] = BoolGetDatum(c->nullable);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, n);
	}
	SPI_finish();
	return (Datum) 0;
}

/*
 * etl._drop_remote(name text) → void: called by etl.drop_connection after
 * it removed the connection's rows (which row-level security allowed only
 * to a role that may act as the connection's owner).  A no-op while any
 * role still has a connection of that name.
 */
Datum
metaetl_drop_remote(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));

	SPI_connect();
	MetaetlRemoteDrop(name);
	SPI_finish();
	PG_RETURN_VOID();
}

/* ------------------------------------------------------------ vocabulary */

static const char *const mysql_types[] = {"mysql", "mariadb", NULL};
static const char *const fdwonly_types[] = {"sqlserver", "oracle", NULL};

static const MetaetlConnKey remote_source_keys[] = {
	{"table", MCK_RELNAME, MCK_ONEOF},
	{"query", MCK_QUERY, MCK_ONEOF},
	{"schema", MCK_STRING},
	{"bulk", MCK_ENUM, 0, (const char *const[]) {"auto", "copy", "fdw", NULL}},
	{"columns", MCK_COLUMNS},
	MCK_END
};

static const MetaetlConnKey fdwonly_source_keys[] = {
	{"table", MCK_RELNAME, MCK_REQUIRED},
	{"schema", MCK_STRING},
	{"columns", MCK_COLUMNS, MCK_REQUIRED},
	MCK_END
};

static const MetaetlConnKey remote_target_keys[] = {
	{"table", MCK_RELNAME, MCK_REQUIRED},
	{"schema", MCK_STRING},
	{"batch_size", MCK_INTEGER},
	{"on_schema_change", MCK_ENUM, 0, MetaetlSchemaPolicies},	/* connectors/table_load.c */
	MCK_END
};

/*
 * rel_check
 *		Across keys of a MySQL/MariaDB target: MySQL commits DDL at once, so
 *		on_schema_change alters only replace's staging table (swapped in
 *		after the remote COMMIT); append_new_columns with another mode would
 *		alter the target itself and keep the columns when the load fails.
 */
static void
rel_check(CfgCheck *chk, const char *type, bool is_source)
{
	const CfgNode *osc = MetaetlCfgKey(chk, "on_schema_change");
	const CfgNode *mode = MetaetlCfgKey(chk, "mode");

	if (is_source || osc == NULL || osc->kind != CFG_STRING || strcmp(osc->str, "append_new_columns") != 0)
		return;
	if (mode && mode->kind == CFG_STRING && strcmp(mode->str, "replace") != 0)
		MetaetlCfgProblem(chk, true, "on_schema_change",
						  "on_schema_change append_new_columns needs mode replace on a %s target: %s commits DDL at once, so metaetl changes only replace's staging table (add the columns to the table first, or use mode replace)",
						  type, type);
}

static const MetaetlConnKey mysql_connection_keys[] = {
	{"host", MCK_STRING},
	{"port", MCK_INTEGER},
	{"dbname", MCK_STRING, MCK_REQUIRED},
	{"user", MCK_STRING},
	{"socket", MCK_STRING},
	{"connect_timeout", MCK_INTEGER},
	{"statement_timeout", MCK_INTEGER},
	{"max_connections", MCK_INTEGER},
	{"fetch_size", MCK_INTEGER},
	{"ssl", MCK_BOOL},
	MCK_END
};

static const MetaetlConnKey fdwonly_connection_keys[] = {
	{"host", MCK_STRING, MCK_REQUIRED},
	{"port", MCK_INTEGER},
	{"dbname", MCK_STRING, MCK_REQUIRED},
	{"user", MCK_STRING},
	{"schema", MCK_STRING},
	{"tds_version", MCK_STRING},
	{"connect_timeout", MCK_INTEGER},
	{"max_connections", MCK_INTEGER},
	MCK_END
};

static const char *const remote_modes[] = {"append", "replace", "upsert", "delete_insert", NULL};

/*
 * The remote connection a source or target of this family names; its type
 * must fit the source's or target's (mysql and mariadb are one family).
 */
static RemoteConn *
rel_conn_of(JsonbContainer *conf, bool is_source, const char *id, const char *type)
{
	char	   *conn = MetaetlJStr(conf, "connection");
	const char *what = is_source ? "source" : "target";
	RemoteConn *rc;
	bool		mysql_type = strcmp(type, "mysql") == 0 || strcmp(type, "mariadb") == 0;

	if (conn == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s \"%s\" needs a connection", what, id),
				 errhint("Create one with etl.add_connection(name, '%s', '{\"host\": ..., \"dbname\": ...}', credential).",
						 type)));
	rc = MetaetlRemoteConn(conn, is_source, psprintf("%s \"%s\"", what, id), false);
	if (rc == NULL || (mysql_type ? rc->kind != REMOTE_MYSQL : strcmp(rc->type, type) != 0))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("%s \"%s\" of type %s cannot use %s connection \"%s\"", what, id, type,
						rc ? rc->type : "postgresql (this database)", conn),
				 errhint("Give the %s the type of its connection.", what)));
	return rc;
}

static char *
rel_extract(MetaetlPlan *plan, MetaetlNode *src)
{
	return MetaetlRemoteExtract(plan, src, rel_conn_of(src->conf, true, src->id, src->type));
}

static int64
rel_load(MetaetlPlan *plan, MetaetlTarget *tgt, const char *with_prefix, const char *ref, List *cols)
{
	return MetaetlRemoteLoad(plan, tgt, rel_conn_of(tgt->conf, false, tgt->id, tgt->type), with_prefix, ref,
							 cols);
}

static char *
rel_describe(MetaetlPlan *plan, MetaetlNode *src)
{
	char	   *table = MetaetlJStr(src->conf, "table");

	return psprintf("%s %s via connection %s", table ? "table" : "query", table ? table : "(SELECT)",
					MetaetlJStr(src->conf, "connection"));
}

const MetaetlConnector MetaetlMysqlConnector = {
	.name = "mysql",
	.types = mysql_types,
	.connection_types = mysql_types,
	.source_keys = remote_source_keys,
	.target_keys = remote_target_keys,
	.connection_keys = mysql_connection_keys,
	.target_modes = remote_modes,
	.check = rel_check,
	.describe = rel_describe,
	.extract = rel_extract,
	.load = rel_load,
};

const MetaetlConnector MetaetlFdwOnlyConnector = {
	.name = "fdw",
	.types = fdwonly_types,
	.connection_types = fdwonly_types,
	.source_keys = fdwonly_source_keys,
	.connection_keys = fdwonly_connection_keys,
	.describe = rel_describe,
	.extract = rel_extract,
};
