/*-------------------------------------------------------------------------
 *
 * src/config/validate_conn.c
 *		Validation of what the connector registry declares: a source's or
 *		target's type and its connector-specific keys, and the options of
 *		etl.add_connection.
 *
 * The registry (src/connectors/connector.c) owns the vocabulary; this file
 * only applies it, key by key, through the same cfgv_* checks the rest of
 * the validator uses, then lets the connector check across keys.  So
 * validate_config accepts a type and a key exactly when a run can execute
 * them.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "config/validate_int.h"
#include "connectors/connector.h"

/* what a connector's check callback sees (opaque in config.h) */
struct CfgCheck
{
	VCtx	   *c;
	const CfgNode *node;		/* the source / target / options mapping */
	const char *path;
};

/* The value of key in the section a connector's check() is given, or NULL. */
const CfgNode *
MetaetlCfgKey(CfgCheck *chk, const char *key)
{
	return chk->node ? CfgMapGet(chk->node, key) : NULL;
}

/*
 * key's value when it is a string, else NULL: a connector's check() reads
 * options without re-checking their kinds (the declared keys did).
 */
const char *
MetaetlCfgKeyString(CfgCheck *chk, const char *key)
{
	const CfgNode *n = MetaetlCfgKey(chk, key);

	return n && n->kind == CFG_STRING ? n->str : NULL;
}

/*
 * A connector's check() reports a problem (or a warning) at key, with the
 * path, line and column of the key, exactly as the validator's own problems
 * are reported, so that a user cannot tell where a check lives.
 */
void
MetaetlCfgProblem(CfgCheck *chk, bool is_error, const char *key, const char *fmt,...)
{
	StringInfoData msg;
	const CfgNode *at = key ? MetaetlCfgKey(chk, key) : NULL;

	initStringInfo(&msg);
	for (;;)
	{
		va_list		args;
		int			needed;

		va_start(args, fmt);
		needed = appendStringInfoVA(&msg, fmt, args);
		va_end(args);
		if (needed == 0)
			break;
		enlargeStringInfo(&msg, needed);
	}
	cfgv_problem(chk->c, is_error, key ? cfgv_path(chk->path, key) : chk->path,
				 at ? at : chk->node, "%s", msg.data);
}

void
MetaetlCfgCheckKeys(CfgCheck *chk, const char *key, const MetaetlConnKey *keys, const char *what)
{
	const CfgNode *map = MetaetlCfgKey(chk, key);

	if (map == NULL || map->kind != CFG_MAP)
		return;
	cfgv_connector_keys(chk->c, map, cfgv_path(chk->path, key), keys, NULL, 0, NULL, what);
}

/* the declared key named "key", or NULL */
static const MetaetlConnKey *
vconn_find_key(const MetaetlConnKey *keys, const char *key)
{
	for (const MetaetlConnKey *k = keys; k && k->key; k++)
		if (strcmp(k->key, key) == 0)
			return k;
	return NULL;
}

/* {name: type} or ["name type", ...]: types are checked by PostgreSQL's parser */
static CfgNode *
vconn_columns(VCtx *c, const CfgNode *n, const char *path)
{
	if (n->kind == CFG_MAP)
	{
		for (int i = 0; i < n->n; i++)
			cfgv_type(c, n->pairs[i].value, cfgv_path(path, n->pairs[i].key->str));
		return (CfgNode *) n;
	}
	if (n->kind == CFG_SEQ)
	{
		for (int i = 0; i < n->n; i++)
			cfgv_string(c, n->items[i], cfgv_idx(path, i));
		return (CfgNode *) n;
	}
	cfgv_error(c, path, n, "columns must map column names to types, not be a %s", CfgKindName(n->kind));
	return NULL;
}

/* one value by its declared kind; the value to keep, or NULL after a problem */
static CfgNode *
vconn_value(VCtx *c, const MetaetlConnKey *k, const CfgNode *n, const char *path)
{
	switch (k->kind)
	{
		case MCK_ANY:
			return (CfgNode *) n;
		case MCK_STRING:
			if ((k->flags & MCK_TEMPLATE) && n->kind == CFG_STRING && n->len > 0)
				return cfgv_templates(c, n->str, path, n, false) ? (CfgNode *) n : NULL;
			return cfgv_string(c, n, path) ? (CfgNode *) n : NULL;
		case MCK_ID:
			return cfgv_id(c, n, path) ? (CfgNode *) n : NULL;
		case MCK_RELNAME:
			return cfgv_relname(c, n, path) ? (CfgNode *) n : NULL;
		case MCK_QUERY:
			return cfgv_query(c, n, path, false);
		case MCK_NUMBER:
			return cfgv_number(c, n, path, -1e300, 1e300, false);
		case MCK_INTEGER:
			return cfgv_number(c, n, path, 0, 1e15, true);
		case MCK_BOOL:
			return cfgv_boolean(c, n, path);
		case MCK_OBJECT:
			return cfgv_is_map(c, n, path, k->key) ? (CfgNode *) n : NULL;
		case MCK_STRLIST:
			return cfgv_strlist(c, n, path, false);
		case MCK_ENUM:
			{
				int			nvals = 0;

				while (k->values[nvals])
					nvals++;
				return cfgv_enum(c, n, path, k->key, k->values, nvals) ? (CfgNode *) n : NULL;
			}
		case MCK_COLUMNS:
			return vconn_columns(c, n, path);
	}
	return NULL;
}

/*
 * cfgv_connector_keys
 *		Check the keys of mapping "map" (at "path") against "keys", putting
 *		every valid one into "out".  Keys in "common" are the caller's and are
 *		skipped here; any other key is unknown (with a did-you-mean over the
 *		declared and common keys).  Then the required and one-of rules.
 */
void
cfgv_connector_keys(VCtx *c, const CfgNode *map, const char *path, const MetaetlConnKey *keys,
					const char *const *common, int ncommon, CfgNode *out, const char *what)
{
	int			ndeclared = 0;
	const char **all;
	int			nall = 0;
	StringInfoData oneof;
	int			noneof = 0,
				given_oneof = 0;

	for (const MetaetlConnKey *k = keys; k && k->key; k++)
		ndeclared++;
	all = palloc(sizeof(char *) * (ndeclared + ncommon + 1));
	for (int i = 0; i < ncommon; i++)
		all[nall++] = common[i];
	for (const MetaetlConnKey *k = keys; k && k->key; k++)
		all[nall++] = k->key;

	for (int i = 0; i < map->n; i++)
	{
		const CfgNode *key = map->pairs[i].key;
		const MetaetlConnKey *k = vconn_find_key(keys, key->str);
		bool		is_common = false;
		CfgNode    *v;

		for (int j = 0; j < ncommon; j++)
			if (strcmp(common[j], key->str) == 0)
				is_common = true;
		if (is_common)
			continue;
		if (k == NULL)
		{
			cfgv_error(c, cfgv_path(path, key->str), key, "unknown key \"%s\" in %s%s", key->str, what,
					   cfgv_suggest(key->str, all, nall));
			continue;
		}
		v = vconn_value(c, k, map->pairs[i].value, cfgv_path(path, key->str));
		if (v && out)
			cfgv_put(c, out, key->str, v);
	}

	initStringInfo(&oneof);
	for (const MetaetlConnKey *k = keys; k && k->key; k++)
	{
		bool		given = CfgMapGet(map, k->key) != NULL;

		if ((k->flags & MCK_REQUIRED) && !given)
			cfgv_error(c, cfgv_path(path, k->key), map, "%s needs %s", what, k->key);
		if (k->flags & MCK_ONEOF)
		{
			appendStringInfo(&oneof, "%s%s", noneof ? " or " : "", k->key);
			noneof++;
			given_oneof += given ? 1 : 0;
		}
	}
	if (noneof > 0 && given_oneof == 0)
		cfgv_error(c, path, map, "%s needs %s", what, oneof.data);
	else if (given_oneof > 1)
	{
		/* reported at each one-of key after the first given */
		int			seen = 0;

		for (const MetaetlConnKey *k = keys; k && k->key; k++)
			if ((k->flags & MCK_ONEOF) && CfgMapGet(map, k->key) && seen++ > 0)
				cfgv_error(c, cfgv_path(path, k->key), CfgMapGet(map, k->key),
						   "%s takes only one of %s", what, oneof.data);
	}
}

/*
 * cfgv_connector_check
 *		Run the connector's own cross-key check, if it has one.
 */
void
cfgv_connector_check(VCtx *c, const MetaetlConnector *conn, const CfgNode *map, const char *path,
					 const char *type, bool is_source)
{
	CfgCheck	chk;

	if (conn->check == NULL)
		return;
	chk.c = c;
	chk.node = map;
	chk.path = path;
	conn->check(&chk, type, is_source);
}

/*
 * cfgv_connector_type
 *		The connector of a source's or target's "type" node, or NULL after
 *		reporting an unknown type (with the list of valid ones and a
 *		did-you-mean).
 */
const MetaetlConnector *
cfgv_connector_type(VCtx *c, const CfgNode *n, const char *path, bool is_source)
{
	const MetaetlConnector *conn;
	int			nfam;
	const MetaetlConnector *const *fams = MetaetlConnectors(&nfam);
	const char **types;
	int			ntypes = 0,
				cap = 16;

	if (cfgv_string(c, n, path) == NULL)
		return NULL;
	conn = MetaetlLookupConnector(n->str);
	if (conn && (is_source ? conn->source_keys : conn->target_keys) != NULL)
		return conn;

	types = palloc(sizeof(char *) * cap);
	for (int i = 0; i < nfam; i++)
	{
		if ((is_source ? fams[i]->source_keys : fams[i]->target_keys) == NULL)
			continue;
		for (const char *const *t = fams[i]->types; *t; t++)
		{
			if (ntypes == cap)
				types = repalloc(types, sizeof(char *) * (cap *= 2));
			types[ntypes++] = *t;
		}
	}
	if (conn)
		cfgv_error(c, path, n, "type \"%s\" can only be a %s (%s types: %s)", n->str,
				   is_source ? "target" : "source", is_source ? "source" : "target",
				   cfgv_list(types, ntypes));
	else
		cfgv_error(c, path, n, "unknown %s type \"%s\" (valid: %s)%s", is_source ? "source" : "target",
				   n->str, cfgv_list(types, ntypes), cfgv_suggest(n->str, types, ntypes));
	return NULL;
}

/*
 * etl._check_connection(name text, type text, options jsonb) → void
 *
 * What etl.add_connection asks before storing a connection: the type must
 * be one a connector family declares, and the options the keys that family
 * declares for its connections.  Every problem is reported at once (22023,
 * with one detail line per problem); no row is written before this passes.
 */
PG_FUNCTION_INFO_V1(metaetl_check_connection);

/*
 * etl._check_connection(name, type, options): 22023 unless type is a
 * connection type of a registered connector and options has only the keys
 * it declares; the same registry the validator and the runs use, so a
 * connection that is added can be used.
 */
Datum
metaetl_check_connection(PG_FUNCTION_ARGS)
{
	char	   *name = PG_ARGISNULL(0) ? "?" : text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *type = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	Jsonb	   *options = PG_ARGISNULL(2) ? NULL : PG_GETARG_JSONB_P(2);
	const MetaetlConnector *conn = MetaetlLookupConnectionType(type);
	CfgValidation v;
	VCtx		c;
	StringInfoData detail;
	ListCell   *lc;

	if (conn == NULL)
	{
		int			nfam;
		const MetaetlConnector *const *fams = MetaetlConnectors(&nfam);
		StringInfoData types;

		initStringInfo(&types);
		for (int i = 0; i < nfam; i++)
			for (const char *const *t = fams[i]->connection_types; t && *t; t++)
				appendStringInfo(&types, "%s%s", types.len ? ", " : "", *t);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown connection type \"%s\"", type ? type : "(null)"),
				 errdetail("Connection \"%s\".", name),
				 errhint("Valid types: %s.", types.data)));
	}
	if (options == NULL)
		PG_RETURN_VOID();

	memset(&v, 0, sizeof(v));
	memset(&c, 0, sizeof(c));
	c.v = &v;
	c.arena = MetaetlArenaForContext(CFG_DEFAULT_MAX_MEMORY);
	{
		CfgNode    *tree = MetaetlJsonbToTree(c.arena, options);

		if (tree->kind == CFG_MAP)
		{
			cfgv_connector_keys(&c, tree, "options", conn->connection_keys, NULL, 0, NULL,
								psprintf("%s %s connection", cfgv_article(type), type));
		}
	}
	if (v.nerrors == 0)
		PG_RETURN_VOID();
	initStringInfo(&detail);
	foreach(lc, v.problems)
	{
		CfgProblem *p = lfirst(lc);

		if (p->is_error)
			appendStringInfo(&detail, "%s%s: %s", detail.len ? "\n" : "", p->path, p->message);
	}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid options for %s connection \"%s\"", type, name),
			 errdetail_internal("%s", detail.data),
			 errhint("See docs/connectors.md for the options of each connection type.")));
	PG_RETURN_VOID();
}

/*
 * etl.add_connection(name, type, options, credential, usage) → void
 *
 * etl._add_connection does the work; this wrapper exists for its errors.  A
 * call that is rejected because its options hold a password would otherwise
 * put the whole statement — password included — into the server log as the
 * error's STATEMENT line.  So every error is re-thrown with the statement
 * hidden (errhidestmt), and the SQL is run with parameters, never pasted.
 */
PG_FUNCTION_INFO_V1(metaetl_add_connection);

/*
 * etl.add_connection(...): runs etl._add_connection (its PL/pgSQL body)
 * and rethrows its errors with the internal statement hidden: it names only
 * $1..$5, which would tell the user nothing about what to fix.
 */
Datum
metaetl_add_connection(PG_FUNCTION_ARGS)
{
	MemoryContext cxt = CurrentMemoryContext;
	Oid			types[5] = {TEXTOID, TEXTOID, JSONBOID, TEXTOID, TEXTOID};
	Datum		values[5];
	char		nulls[5];

	for (int i = 0; i < 5; i++)
	{
		values[i] = PG_ARGISNULL(i) ? (Datum) 0 : PG_GETARG_DATUM(i);
		nulls[i] = PG_ARGISNULL(i) ? 'n' : ' ';
	}
	PG_TRY();
	{
		SPI_connect();
		if (SPI_execute_with_args("SELECT etl._add_connection($1, $2, $3, $4, $5)", 5, types, values,
								  nulls, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "etl._add_connection failed");
		SPI_finish();
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		edata->hide_stmt = true;
		/* the context's internal query names only $1..$5 */
		ReThrowError(edata);
	}
	PG_END_TRY();
	PG_RETURN_VOID();
}
