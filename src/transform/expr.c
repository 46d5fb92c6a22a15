/*-------------------------------------------------------------------------
 *
 * src/transform/expr.c
 *		Expression checks: every user expression is one scalar expression,
 *		parsed by PostgreSQL's own parser, naming only its input's columns.
 *
 * An expression is embedded in generated SQL as "(expr\n)" only after
 * raw_parser accepted exactly that text as the single target of a
 * FROM-less SELECT without sub-queries, so it cannot close the parenthesis,
 * start a clause or a second statement, or comment out what follows.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "nodes/nodeFuncs.h"
#include "nodes/parsenodes.h"
#include "parser/parse_type.h"
#include "parser/parser.h"
#include "utils/builtins.h"

#include "config/yamltree.h"
#include "transform/transform.h"
#include "util/ident.h"

/*
 * MetaetlNormaliseExpr
 *		A pandas-style expression in SQL form, palloc'd.  The one normaliser
 *		is the configuration layer's CfgNormalizeExpr (== becomes =, and/or/
 *		not become SQL keywords, outside literals and quoted names), so a
 *		condition compiles exactly as etl.validate_config checked it.
 */
char *
MetaetlNormaliseExpr(const char *expr)
{
	char	   *m = CfgNormalizeExpr(expr);
	char	   *out;

	if (m == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	out = pstrdup(m);
	free(m);
	return out;
}

static void
expr_unknown_column(MetaetlNode *node, const char *param, const char *name, List *cols)
{
	const char **cand = palloc(sizeof(char *) * (list_length(cols) + 1));
	const char *near;
	int			n = 0;
	ListCell   *lc;
	StringInfoData all;
	const char *kind = node->is_source ? "source" :
		(node->type && strcmp(node->type, "target") == 0) ? "target" : "step";

	initStringInfo(&all);
	foreach(lc, cols)
	{
		MetaetlColumn *c = lfirst(lc);

		cand[n++] = c->name;
		appendStringInfo(&all, "%s%s", all.len ? ", " : "", quote_identifier(c->name));
	}
	near = MetaetlNearest(name, cand, n, Max(2, (int) strlen(name) / 2));
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_COLUMN),
			 errmsg("%s \"%s\": column \"%s\" does not exist%s", kind, node->id, name,
					strcmp(kind, "target") == 0 ? "" : " in its input"),
			 errdetail("Config path: %s \"%s\", %s. Input columns: %s.",
					   kind, node->id, param, all.data),
			 near ? errhint("Did you mean \"%s\"?", near) : 0));
}

/*
 * The input column name of node, or an error naming param with the nearest
 * column: a step must never silently read a column that is not there.
 */
MetaetlColumn *
MetaetlFindColumn(MetaetlNode *node, List *cols, const char *name, const char *param)
{
	ListCell   *lc;

	foreach(lc, cols)
	{
		MetaetlColumn *c = lfirst(lc);

		if (strcmp(c->name, name) == 0)
			return c;
	}
	expr_unknown_column(node, param, name, cols);
	return NULL;
}

typedef struct ExprCheck
{
	MetaetlNode *node;
	const char *param;
	List	   *cols;
	bool		allow_window;
} ExprCheck;

static bool
expr_walker(Node *n, void *ctx)
{
	ExprCheck  *ec = ctx;

	if (n == NULL)
		return false;
	if (IsA(n, SubLink))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("step \"%s\": sub-queries are not allowed in %s", ec->node->id, ec->param),
				 errhint("Use a join step or a sql step instead.")));
	if (IsA(n, ColumnRef))
	{
		ColumnRef  *cr = (ColumnRef *) n;

		if (list_length(cr->fields) != 1 || !IsA(linitial(cr->fields), String))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("step \"%s\": qualified column references are not allowed in %s",
							ec->node->id, ec->param),
					 errhint("Name the input's columns directly.")));
		if (ec->cols)
			MetaetlFindColumn(ec->node, ec->cols, strVal(linitial(cr->fields)), ec->param);
		return false;
	}
	if (IsA(n, FuncCall) && ((FuncCall *) n)->over != NULL && !ec->allow_window)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("step \"%s\": window functions are not allowed in %s", ec->node->id, ec->param),
				 errhint("Use a window step.")));
	return raw_expression_tree_walker(n, expr_walker, ctx);
}

/* parse "SELECT <text>" and return the single target's expression */
static Node *
expr_parse(MetaetlNode *node, const char *param, const char *expr, const char *sql)
{
	List	   *stmts = NIL;
	MemoryContext oldcxt = CurrentMemoryContext;
	SelectStmt *sel;
	ResTarget  *rt;

	PG_TRY();
	{
		stmts = raw_parser(sql, RAW_PARSE_DEFAULT);
	}
	PG_CATCH();
	{
		ErrorData  *ed;

		MemoryContextSwitchTo(oldcxt);
		ed = CopyErrorData();
		FlushErrorState();
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("step \"%s\": invalid expression in %s: %s", node->id, param, ed->message),
				 errdetail("The expression was: %s", expr),
				 errhint("Write one scalar SQL expression over the input's columns.")));
	}
	PG_END_TRY();

	if (list_length(stmts) != 1 || !IsA(((RawStmt *) linitial(stmts))->stmt, SelectStmt))
		goto bad;
	sel = (SelectStmt *) ((RawStmt *) linitial(stmts))->stmt;
	if (sel->op != SETOP_NONE || sel->fromClause || sel->whereClause || sel->groupClause ||
		sel->havingClause || sel->windowClause || sel->sortClause || sel->limitCount ||
		sel->limitOffset || sel->withClause || sel->distinctClause || sel->intoClause ||
		sel->lockingClause || list_length(sel->targetList) != 1)
		goto bad;
	rt = linitial(sel->targetList);
	if (rt->name != NULL)
		goto bad;
	return rt->val;
bad:
	ereport(ERROR,
			(errcode(ERRCODE_SYNTAX_ERROR),
			 errmsg("step \"%s\": %s must be a single scalar expression", node->id, param),
			 errdetail("The expression was: %s", expr),
			 errhint("Clauses, aliases, sub-queries and several statements are not allowed.")));
	return NULL;
}

/*
 * MetaetlCheckExpr
 *		Normalise and check expr; returns the text to embed, "(expr\n)".
 *		cols = NIL skips the column check.
 */
char *
MetaetlCheckExpr(MetaetlNode *node, const char *param, const char *expr, List *cols,
				 bool allow_window_fn)
{
	char	   *norm;
	char	   *wrapped;
	Node	   *val;
	ExprCheck	ec = {node, param, cols, allow_window_fn};

	if (expr == NULL || expr[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("step \"%s\": %s is empty", node->id, param)));
	norm = MetaetlNormaliseExpr(expr);
	wrapped = psprintf("(%s\n)", norm);
	val = expr_parse(node, param, expr, psprintf("SELECT %s", wrapped));
	expr_walker(val, &ec);
	return wrapped;
}

/* a window call "fn(args)" checked and returned as "fn(args)\n OVER w" */
char *
MetaetlCheckWindowCall(MetaetlNode *node, const char *name, const char *expr, List *cols)
{
	char	   *norm = MetaetlNormaliseExpr(expr);
	char	   *text = psprintf("%s\n OVER metaetl_w", norm);
	char	   *param = psprintf("columns.%s", name);
	Node	   *val = expr_parse(node, param, expr, psprintf("SELECT %s", text));
	FuncCall   *fc;
	ExprCheck	ec = {node, param, cols, false};

	if (!IsA(val, FuncCall) || ((FuncCall *) val)->over == NULL ||
		((FuncCall *) val)->over->name == NULL ||
		strcmp(((FuncCall *) val)->over->name, "metaetl_w") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("step \"%s\": window column \"%s\" must be one function call such as row_number() or sum(x)",
						node->id, name),
				 errdetail("The expression was: %s", expr)));
	fc = (FuncCall *) val;
	{
		ListCell   *lc;

		foreach(lc, fc->args)
			expr_walker(lfirst(lc), &ec);
		if (fc->agg_filter)
			expr_walker(fc->agg_filter, &ec);
		foreach(lc, fc->agg_order)
			expr_walker(lfirst(lc), &ec);
	}
	return text;
}

/* one SELECT (sql step), checked by the parser */
void
MetaetlCheckSelect(MetaetlNode *node, const char *sql)
{
	List	   *stmts = NIL;
	MemoryContext oldcxt = CurrentMemoryContext;

	PG_TRY();
	{
		stmts = raw_parser(sql, RAW_PARSE_DEFAULT);
	}
	PG_CATCH();
	{
		ErrorData  *ed;

		MemoryContextSwitchTo(oldcxt);
		ed = CopyErrorData();
		FlushErrorState();
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("%s \"%s\": invalid query: %s", node->is_source ? "source" : "step",
						node->id, ed->message)));
	}
	PG_END_TRY();
	if (list_length(stmts) == 1 && IsA(((RawStmt *) linitial(stmts))->stmt, SelectStmt))
	{
		SelectStmt *sel = (SelectStmt *) ((RawStmt *) linitial(stmts))->stmt;
		ListCell   *lc;

		if (sel->withClause)
			foreach(lc, sel->withClause->ctes)
			{
				CommonTableExpr *cte = lfirst(lc);

				if (!IsA(cte->ctequery, SelectStmt))
					ereport(ERROR,
							(errcode(ERRCODE_SYNTAX_ERROR),
							 errmsg("%s \"%s\": query must not modify data (WITH %s)",
									node->is_source ? "source" : "step", node->id, cte->ctename)));
			}
	}
	if (list_length(stmts) != 1 || !IsA(((RawStmt *) linitial(stmts))->stmt, SelectStmt) ||
		((SelectStmt *) ((RawStmt *) linitial(stmts))->stmt)->intoClause != NULL ||
		((SelectStmt *) ((RawStmt *) linitial(stmts))->stmt)->lockingClause != NIL)
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("%s \"%s\": query must be exactly one SELECT", node->is_source ? "source" : "step",
						node->id),
				 node->is_source ? errhint("Write a single SELECT, or name a table with table:.") :
				 errhint("Read the step's input as {{input}} or another node as {{input.ID}}.")));
}

static bool
strip_suffix_ci(char *s, const char *suffix)
{
	size_t		ls = strlen(s),
				lx = strlen(suffix);

	if (ls > lx && pg_strcasecmp(s + ls - lx, suffix) == 0 &&
		(s[ls - lx - 1] == ' ' || s[ls - lx - 1] == '\t'))
	{
		s[ls - lx] = '\0';
		while (ls - lx > 0 && (s[ls - lx - 1] == ' ' || s[ls - lx - 1] == '\t'))
		{
			lx++;
			s[ls - lx] = '\0';
		}
		return true;
	}
	return false;
}

/* "col [ASC|DESC] [NULLS FIRST|LAST]" → quoted SQL */
char *
MetaetlSortSpec(MetaetlNode *node, const char *param, const char *spec, List *cols)
{
	char	   *s = pstrdup(spec);
	const char *nulls = "";
	const char *dir = "";

	if (strip_suffix_ci(s, "nulls first"))
		nulls = " NULLS FIRST";
	else if (strip_suffix_ci(s, "nulls last"))
		nulls = " NULLS LAST";
	if (strip_suffix_ci(s, "desc"))
		dir = " DESC";
	else if (strip_suffix_ci(s, "asc"))
		dir = " ASC";
	MetaetlFindColumn(node, cols, s, param);
	return psprintf("%s%s%s", quote_identifier(s), dir, nulls);
}

/* a type name checked by PostgreSQL, returned in canonical form */
char *
MetaetlTypeName(MetaetlNode *node, const char *type)
{
	Oid			oid;
	int32		typmod;

	parseTypeString(type, &oid, &typmod, true);
	if (!OidIsValid(oid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("%s \"%s\": type \"%s\" does not exist",
						node->is_source ? "source" : "step", node->id, type),
				 errhint("Use a PostgreSQL type name such as int, numeric(12,2), text or timestamptz.")));
	return format_type_with_typemod(oid, typmod);
}
