/*-------------------------------------------------------------------------
 *
 * src/quality/dataset.c
 *		Datasets and expressions for the quality engine, through PostgreSQL's
 *		own parser.
 *
 * etl._resolve_data(data)       a relation name or a single SELECT becomes a
 *                                FROM item: the quoted qualified relation, or
 *                                the parenthesised query;
 * etl._check_expression(e, kind) one scalar expression (kind 'expression': no
 *                                subqueries, no other clauses) or one SELECT
 *                                (kind 'query'); returns the text to embed;
 * etl._data_columns(from_item)   the columns of a FROM item without running it
 *                                (parse analysis of SELECT * only);
 * etl._expression_columns(e)     the column names an expression mentions (what
 *                                a sample failing row of a consistency rule
 *                                shows).
 *
 * An expression is embedded as "(" text "\n)", exactly as it was checked as
 * "SELECT (" text "\n)": the same tokens, so a string that would close the
 * parenthesis and add clauses fails the check instead.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "nodes/nodeFuncs.h"
#include "nodes/parsenodes.h"
#include "parser/parser.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/plancache.h"
#include "utils/regproc.h"
#include "utils/typcache.h"
#include "utils/array.h"
#include "utils/varlena.h"

#include "quality/quality.h"
#include "util/relation.h"

PG_FUNCTION_INFO_V1(metaetl_check_expression);
PG_FUNCTION_INFO_V1(metaetl_resolve_data);
PG_FUNCTION_INFO_V1(metaetl_data_columns);
PG_FUNCTION_INFO_V1(metaetl_expression_columns);

/* pandas-style "==" becomes "=", outside quotes and comments */
static char *
qds_normalise_ops(const char *s)
{
	StringInfoData buf;
	char		quote = 0;

	initStringInfo(&buf);
	for (const char *p = s; *p; p++)
	{
		if (quote)
		{
			if (*p == quote)
				quote = 0;
		}
		else if (*p == '\'' || *p == '"')
			quote = *p;
		else if (p[0] == '=' && p[1] == '=' && (p == s || (p[-1] != '<' && p[-1] != '>' && p[-1] != '!')))
		{
			appendStringInfoChar(&buf, '=');
			p++;
			continue;
		}
		appendStringInfoChar(&buf, *p);
	}
	return buf.data;
}

static bool
qds_has_sublink(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, SubLink))
		return true;
	return raw_expression_tree_walker(node, qds_has_sublink, context);
}

static SelectStmt *
qds_parse_one_select(const char *sql, const char *what, const char *text_for_detail)
{
	List	   *raw = raw_parser(sql, RAW_PARSE_DEFAULT);
	RawStmt    *rs;

	if (list_length(raw) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("%s must be a single statement", what),
				 errdetail("Got %d statements in: %s", list_length(raw), text_for_detail)));
	rs = linitial_node(RawStmt, raw);
	if (!IsA(rs->stmt, SelectStmt))
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("%s must be a SELECT", what),
				 errdetail("Got: %s", text_for_detail)));
	return (SelectStmt *) rs->stmt;
}

Datum
metaetl_check_expression(PG_FUNCTION_ARGS)
{
	char	   *expr = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *kind = text_to_cstring(PG_GETARG_TEXT_PP(1));
	char	   *norm;
	SelectStmt *sel;

	if (strspn(expr, " \t\r\n") == strlen(expr))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("empty %s", kind),
				 errhint("Give a boolean SQL expression such as \"end_date >= start_date\".")));

	if (strcmp(kind, "query") == 0)
	{
		StringInfoData sql;

		initStringInfo(&sql);
		appendStringInfo(&sql, "%s\n", expr);
		sel = qds_parse_one_select(sql.data, "a custom rule's query", expr);
		if (sel->intoClause != NULL || sel->lockingClause != NIL)
			ereport(ERROR,
					(errcode(ERRCODE_SYNTAX_ERROR),
					 errmsg("a custom rule's query must be a plain SELECT"),
					 errdetail("SELECT INTO and FOR UPDATE/SHARE are not allowed: %s", expr)));
		PG_RETURN_TEXT_P(cstring_to_text(expr));
	}
	else if (strcmp(kind, "expression") == 0)
	{
		StringInfoData sql;
		ResTarget  *rt;

		norm = qds_normalise_ops(expr);
		initStringInfo(&sql);
		appendStringInfo(&sql, "SELECT (%s\n)", norm);
		sel = qds_parse_one_select(sql.data, "an expression", expr);
		if (list_length(sel->targetList) != 1 || sel->fromClause != NIL ||
			sel->whereClause != NULL || sel->groupClause != NIL ||
			sel->havingClause != NULL || sel->windowClause != NIL ||
			sel->sortClause != NIL || sel->limitCount != NULL ||
			sel->limitOffset != NULL || sel->withClause != NULL ||
			sel->distinctClause != NIL || sel->valuesLists != NIL ||
			sel->op != SETOP_NONE || sel->intoClause != NULL ||
			sel->lockingClause != NIL)
			ereport(ERROR,
					(errcode(ERRCODE_SYNTAX_ERROR),
					 errmsg("an expression must be one scalar expression"),
					 errdetail("Got: %s", expr),
					 errhint("Write a boolean expression over the dataset's columns, such as \"end_date >= start_date\".")));
		rt = linitial_node(ResTarget, sel->targetList);
		if (rt->name != NULL || qds_has_sublink(rt->val, NULL))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("subqueries are not allowed in a rule expression"),
					 errdetail("Got: %s", expr),
					 errhint("Use a referential rule or a custom rule (type: custom, query: SELECT ...) instead.")));
		PG_RETURN_TEXT_P(cstring_to_text(norm));
	}
	elog(ERROR, "unknown expression kind \"%s\"", kind);
	PG_RETURN_NULL();
}

/* etl._resolve_data(data text) → text: the FROM item (util/relation.c) */
Datum
metaetl_resolve_data(PG_FUNCTION_ARGS)
{
	MetaetlData *d = MetaetlResolveData(text_to_cstring(PG_GETARG_TEXT_PP(0)), METAETL_DATA_MUST_EXIST);

	PG_RETURN_TEXT_P(cstring_to_text(d->from_item));
}

/*
 * etl._data_columns(from_item text) → TABLE(ord int, name text, type text,
 *     typid oid, category "char", numeric bool, has_eq bool, has_order bool)
 * Parse analysis only (SPI_prepare): nothing is read.
 */
Datum
metaetl_data_columns(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *from_item = text_to_cstring(PG_GETARG_TEXT_PP(0));
	StringInfoData sql;
	SPIPlanPtr	plan;
	List	   *sources;
	CachedPlanSource *ps;
	TupleDesc	desc;

	InitMaterializedSRF(fcinfo, 0);
	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT * FROM %s AS d", from_item);

	SPI_connect();
	plan = SPI_prepare(sql.data, 0, NULL);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	sources = SPI_plan_get_plan_sources(plan);
	if (list_length(sources) != 1)
		elog(ERROR, "unexpected plan for a dataset");
	ps = (CachedPlanSource *) linitial(sources);
	desc = ps->resultDesc;

	for (int i = 0; desc != NULL && i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		Datum		values[8];
		bool		nulls[8] = {0};
		TypeCacheEntry *tce;
		Oid			t = att->atttypid;
		char		category;
		bool		preferred;

		if (att->attisdropped)
			continue;
		tce = lookup_type_cache(t, TYPECACHE_EQ_OPR | TYPECACHE_LT_OPR | TYPECACHE_HASH_PROC);
		get_type_category_preferred(getBaseType(t), &category, &preferred);
		values[0] = Int32GetDatum(i + 1);
		values[1] = CStringGetTextDatum(NameStr(att->attname));
		values[2] = CStringGetTextDatum(format_type_with_typemod(t, att->atttypmod));
		values[3] = ObjectIdGetDatum(t);
		values[4] = CharGetDatum(category);
		t = getBaseType(t);
		values[5] = BoolGetDatum(t == INT2OID || t == INT4OID || t == INT8OID ||
								 t == FLOAT4OID || t == FLOAT8OID || t == NUMERICOID);
		values[6] = BoolGetDatum(OidIsValid(tce->eq_opr) && OidIsValid(tce->hash_proc));
		values[7] = BoolGetDatum(OidIsValid(tce->lt_opr));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	SPI_finish();
	return (Datum) 0;
}

static bool
qds_collect_columns(Node *node, void *context)
{
	List	  **names = (List **) context;

	if (node == NULL)
		return false;
	if (IsA(node, ColumnRef))
	{
		ColumnRef  *cr = (ColumnRef *) node;
		Node	   *last = (Node *) llast(cr->fields);

		if (IsA(last, String))
		{
			char	   *name = strVal(last);
			ListCell   *lc;

			foreach(lc, *names)
				if (strcmp((char *) lfirst(lc), name) == 0)
					return false;
			*names = lappend(*names, name);
		}
		return false;
	}
	return raw_expression_tree_walker(node, qds_collect_columns, context);
}

Datum
metaetl_expression_columns(PG_FUNCTION_ARGS)
{
	char	   *expr = text_to_cstring(PG_GETARG_TEXT_PP(0));
	StringInfoData sql;
	SelectStmt *sel;
	List	   *names = NIL;
	Datum	   *elems;
	int			i = 0;
	ListCell   *lc;

	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT (%s\n)", qds_normalise_ops(expr));
	sel = qds_parse_one_select(sql.data, "an expression", expr);
	if (list_length(sel->targetList) == 1)
		(void) qds_collect_columns(linitial_node(ResTarget, sel->targetList)->val, &names);
	elems = (Datum *) palloc(sizeof(Datum) * Max(list_length(names), 1));
	foreach(lc, names)
		elems[i++] = CStringGetTextDatum((char *) lfirst(lc));
	PG_RETURN_ARRAYTYPE_P(construct_array(elems, i, TEXTOID, -1, false, TYPALIGN_INT));
}
