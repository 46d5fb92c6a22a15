/*-------------------------------------------------------------------------
 *
 * src/connectors/local.c
 *		Connectors for this database: postgresql/table sources (a relation or
 *		a SELECT), inline rows, and table targets.
 *
 * A source's "connection" names a row of etl.data_sources; one without
 * host, port or dbname means this database.  A connection with them is a
 * remote PostgreSQL server: extract and load hand such sources and targets
 * to the relational connectors (fdw.c, pgremote.c), which take the same
 * table / query keys plus bulk.  Source queries with templates are
 * rendered by MetaetlRenderTemplate (config.h), the C etl.render_template()
 * wraps.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "config/config.h"
#include "connectors/connector.h"
#include "connectors/remote.h"
#include "incremental/incremental.h"
#include "connectors/table_load.h"

static const char *const local_types[] = {"postgresql", "postgres", "table", "query", NULL};
static const char *const inline_types[] = {"inline", NULL};

/*
 * MetaetlCheckConnection
 *		A source's or target's "connection" must name a connection of this
 *		database: one in etl.data_sources / etl.data_targets (either table)
 *		without host, port or dbname.  Remote ones need the FDW connector.
 */
void
MetaetlCheckConnection(JsonbContainer *conf, bool is_source, const char *id)
{
	char	   *conn = MetaetlJStr(conf, "connection");
	const char *what = is_source ? "source" : "target";
	Datum		arg;
	Oid			argtype = TEXTOID;
	bool		isnull;

	if (conn == NULL)
		return;
	arg = CStringGetTextDatum(conn);
	if (SPI_execute_with_args(is_source ?
							  "SELECT options FROM etl.data_sources WHERE name OPERATOR(pg_catalog.=) $1 "
							  "UNION ALL SELECT options FROM etl.data_targets WHERE name OPERATOR(pg_catalog.=) $1" :
							  "SELECT options FROM etl.data_targets WHERE name OPERATOR(pg_catalog.=) $1 "
							  "UNION ALL SELECT options FROM etl.data_sources WHERE name OPERATOR(pg_catalog.=) $1",
							  1, &argtype, &arg, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read etl.data_sources");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("%s \"%s\": connection \"%s\" does not exist", what, id, conn),
				 errhint("Create it with etl.add_connection(), or omit connection to use this database.")));
	{
		Jsonb	   *opts = DatumGetJsonbP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));

		if (!isnull && (MetaetlJGet(&opts->root, "host") || MetaetlJGet(&opts->root, "port") ||
						MetaetlJGet(&opts->root, "dbname")))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("%s \"%s\": connection \"%s\" points to another server or database",
							what, id, conn),
					 errdetail("The local connector works on this database only."),
					 errhint("Remote sources and targets need the FDW connector.")));
	}
}

/*
 * The remote connection a postgresql source or target names, or NULL (no
 * connection, a connection to this database, or none by that name: then
 * MetaetlCheckConnection reports it as before).
 */
static RemoteConn *
local_remote(JsonbContainer *conf, bool is_source, const char *id)
{
	char	   *conn = MetaetlJStr(conf, "connection");
	RemoteConn *rc;

	if (conn == NULL)
		return NULL;
	rc = MetaetlRemoteConn(conn, is_source, psprintf("%s \"%s\"", is_source ? "source" : "target", id), true);
	if (rc && rc->kind != REMOTE_POSTGRES)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("%s \"%s\": connection \"%s\" is a %s connection, not postgresql",
						is_source ? "source" : "target", id, conn, rc->type),
				 errhint("Give the %s type: %s.", is_source ? "source" : "target", rc->type)));
	return rc;
}

/* does this source read a remote server? (the engine skips local estimates) */
bool
MetaetlSourceIsRemote(MetaetlNode *src)
{
	char	   *conn = MetaetlJStr(src->conf, "connection");

	if (conn == NULL)
		return false;
	if (strcmp(src->type, "postgresql") != 0 && strcmp(src->type, "postgres") != 0 &&
		strcmp(src->type, "table") != 0 && strcmp(src->type, "query") != 0)
		return true;
	return MetaetlRemoteConn(conn, true, psprintf("source \"%s\"", src->id), true) != NULL;
}

/*
 * MetaetlRenderQuery
 *		A source query with its {{...}} templates rendered by the
 *		configuration subsystem's renderer (config.h), values quoted as SQL
 *		literals: the same C etl.render_template() wraps, called directly.
 */
char *
MetaetlRenderQuery(MetaetlPlan *plan, MetaetlNode *src, const char *query)
{
	if (strstr(query, "{{") == NULL)
		return pstrdup(query);
	return MetaetlRenderTemplate(query, plan->render_ctx);	/* NULL: no values */
}

static char *
local_extract(MetaetlPlan *plan, MetaetlNode *src)
{
	char	   *table = MetaetlJStr(src->conf, "table");
	char	   *query = MetaetlJStr(src->conf, "query");
	RemoteConn *rc = local_remote(src->conf, true, src->id);

	/* log CDC from a slot on the remote server (incremental/remote_slot.c) */
	if (rc && MetaetlJGet(src->conf, "incremental"))
		return MetaetlIncrementalExtractRemote(plan, src, rc);
	if (rc)
		return MetaetlRemoteExtract(plan, src, rc);
	MetaetlCheckConnection(src->conf, true, src->id);
	if ((table == NULL) == (query == NULL))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("source \"%s\" needs exactly one of table or query", src->id)));
	if (table)
	{
		char	   *schema = MetaetlJStr(src->conf, "schema");

		char	   *q = schema ? quote_qualified_identifier(schema, table) : MetaetlQualifiedName(table, "table");

		/* incremental: only what changed since the stored position */
		return MetaetlIncrementalExtract(plan, src, psprintf("SELECT * FROM %s", q), q, NULL);
	}
	query = MetaetlRenderQuery(plan, src, query);
	{
		MetaetlNode fake = *src;
		size_t		l;

		for (l = strlen(query); l > 0 && (query[l - 1] == ';' || isspace((unsigned char) query[l - 1])); l--)
			query[l - 1] = '\0';
		MetaetlCheckSelect(&fake, query);
	}
	return MetaetlIncrementalExtract(plan, src, psprintf("%s\n", query), NULL, NULL);
}

/* a table target here, or on the remote server its connection names */
static int64
local_load(MetaetlPlan *plan, MetaetlTarget *tgt, const char *with_prefix, const char *ref, List *cols)
{
	RemoteConn *rc = local_remote(tgt->conf, false, tgt->id);

	ErrorContextCallback errcb;
	int64		rows;

	/* errors of foreign tables the load reads name their sources and connections */
	errcb.callback = MetaetlRemoteContext;
	errcb.arg = plan;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;
	if (rc)
		rows = MetaetlRemoteLoad(plan, tgt, rc, with_prefix, ref, cols);
	else
		rows = MetaetlLoadTable(plan, tgt, with_prefix, ref, cols);
	error_context_stack = errcb.previous;
	return rows;
}

static char *
local_describe(MetaetlPlan *plan, MetaetlNode *src)
{
	char	   *table = MetaetlJStr(src->conf, "table");
	char	   *conn = MetaetlJStr(src->conf, "connection");

	if (strcmp(src->type, "inline") == 0)
		return psprintf("inline, %d rows", MetaetlJArrayLen(MetaetlJObj(src->conf, "rows")));
	return psprintf("%s %s%s%s", table ? "table" : "query", table ? table : "(SELECT)",
					conn ? " via connection " : " in this database", conn ? conn : "");
}

/* inline rows: {"rows": [{...}], "columns": {name: type} (optional)} */
static char *
inline_extract(MetaetlPlan *plan, MetaetlNode *src)
{
	JsonbValue *rows = MetaetlJGet(src->conf, "rows");
	JsonbContainer *decl = MetaetlJObj(src->conf, "columns");
	StringInfoData defs;
	char	  **k;
	JsonbValue **v;
	int			n;

	if (rows == NULL || rows->type != jbvBinary || !JsonContainerIsArray(rows->val.binary.data))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("inline source \"%s\" needs rows: a list of objects", src->id)));
	initStringInfo(&defs);
	if (decl)
	{
		n = MetaetlJObjEntries(decl, &k, &v);
		for (int i = 0; i < n; i++)
			appendStringInfo(&defs, "%s%s %s", i ? ", " : "", quote_identifier(k[i]),
							 MetaetlTypeName(src, MetaetlJValueText(v[i])));
	}
	else
	{
		/* infer from the first row: numbers numeric (bigint when all integral), bool, text */
		JsonbContainer *arr = rows->val.binary.data;
		JsonbValue *first;

		if (MetaetlJArrayLen(arr) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("inline source \"%s\" has no rows to infer columns from", src->id),
					 errhint("Declare columns: {name: type}.")));
		first = MetaetlJArrayAt(arr, 0);
		if (first->type != jbvBinary || !JsonContainerIsObject(first->val.binary.data))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("inline source \"%s\": rows must be objects", src->id)));
		n = MetaetlJObjEntries(first->val.binary.data, &k, &v);
		for (int i = 0; i < n; i++)
		{
			const char *t = "text";
			bool		integral = true,
						numeric = true,
						boolean = true,
						seen = false;

			for (int r = 0; r < MetaetlJArrayLen(arr); r++)
			{
				JsonbValue *row = MetaetlJArrayAt(arr, r);
				JsonbValue *x = row->type == jbvBinary ? MetaetlJGet(row->val.binary.data, k[i]) : NULL;

				if (x == NULL)
					continue;
				seen = true;
				if (x->type != jbvNumeric)
					numeric = integral = false;
				else if (strchr(MetaetlJValueText(x), '.') || strchr(MetaetlJValueText(x), 'e'))
					integral = false;
				if (x->type != jbvBool)
					boolean = false;
			}
			if (seen && integral)
				t = "bigint";
			else if (seen && numeric)
				t = "numeric";
			else if (seen && boolean)
				t = "boolean";
			appendStringInfo(&defs, "%s%s %s", i ? ", " : "", quote_identifier(k[i]), t);
		}
	}
	return psprintf("SELECT * FROM pg_catalog.jsonb_to_recordset(%s::pg_catalog.jsonb) AS metaetl_r(%s)",
					quote_literal_cstr(MetaetlJValueText(rows)), defs.data);
}

/*
 * Vocabulary.  A "postgresql" source reads a relation (table, optionally
 * with schema) or one SELECT (query, templates rendered as literals); its
 * connection, when given, names a connection of this database.
 */
static const MetaetlConnKey local_source_keys[] = {
	{"table", MCK_RELNAME, MCK_ONEOF},
	{"query", MCK_QUERY, MCK_ONEOF},
	{"schema", MCK_STRING},
	{"split_key", MCK_ANY},		/* the parallel engine: a column, or true */
	{"workers", MCK_INTEGER},	/* the parallel engine: 2..8 key ranges */
	{"bulk", MCK_ENUM, 0, (const char *const[]) {"auto", "copy", "fdw", NULL}},	/* remote only */
	MCK_END
};

static const MetaetlConnKey local_target_keys[] = {
	{"table", MCK_RELNAME, MCK_REQUIRED},
	{"schema", MCK_STRING},
	{"close_deleted", MCK_BOOL},
	{"on_schema_change", MCK_ENUM, 0, MetaetlSchemaPolicies},	/* connectors/table_load.c */
	MCK_END
};

/*
 * local_check
 *		Across keys: the parallel engine splits a table (split_key with
 *		query is refused, as transform/parallel.c would ignore it) into
 *		2..8 ranges of a column named by split_key, or of the single-column
 *		integer primary key when split_key is true.
 */
static void
local_check(CfgCheck *chk, const char *type, bool is_source)
{
	const CfgNode *sk = MetaetlCfgKey(chk, "split_key");
	const CfgNode *w = MetaetlCfgKey(chk, "workers");

	if (!is_source)
		return;
	if (sk && !((sk->kind == CFG_STRING && sk->len > 0) || sk->kind == CFG_BOOL))
		MetaetlCfgProblem(chk, true, "split_key", "split_key must be a column name, true (the integer primary key) or false");
	else if (sk && MetaetlCfgKey(chk, "table") == NULL)
		MetaetlCfgProblem(chk, true, "split_key", "split_key needs table: the parallel engine splits a table, not a query");
	if (w && w->kind == CFG_NUMBER && (strtod(w->str, NULL) < 2 || strtod(w->str, NULL) > 8))
		MetaetlCfgProblem(chk, true, "workers", "workers must be between 2 and 8, not %s", w->str);
	else if (w && sk == NULL)
		MetaetlCfgProblem(chk, false, "workers", "workers is used only with split_key");
}

static const MetaetlConnKey local_connection_keys[] = {
	{"host", MCK_STRING},
	{"port", MCK_INTEGER},
	{"dbname", MCK_STRING},
	{"schema", MCK_STRING},
	{"application_name", MCK_STRING},
	{"sslmode", MCK_STRING},
	{"connect_timeout", MCK_INTEGER},
	{"statement_timeout", MCK_STRING},
	/* remote servers (docs/databases.md) */
	{"user", MCK_STRING},
	{"max_connections", MCK_INTEGER},
	{"fetch_size", MCK_INTEGER},
	{"bulk_threshold_rows", MCK_INTEGER},
	MCK_END
};

static const char *const local_connection_types[] = {"postgresql", NULL};

const MetaetlConnector MetaetlLocalConnector = {
	.name = "local",
	.types = local_types,
	.connection_types = local_connection_types,
	.source_keys = local_source_keys,
	.target_keys = local_target_keys,
	.connection_keys = local_connection_keys,
	.check = local_check,
	.describe = local_describe,
	.extract = local_extract,
	.load = local_load,
};

/* inline rows: {rows: [{...}], columns: {name: type}} (columns optional) */
static const MetaetlConnKey inline_source_keys[] = {
	{"rows", MCK_ANY, MCK_REQUIRED},
	{"columns", MCK_COLUMNS},
	MCK_END
};

const MetaetlConnector MetaetlInlineConnector = {
	.name = "inline",
	.types = inline_types,
	.source_keys = inline_source_keys,
	.describe = local_describe,
	.extract = inline_extract,
};
