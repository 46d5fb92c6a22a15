/*-------------------------------------------------------------------------
 *
 * src/config/expr.c
 *		Check SQL fragments of a configuration with PostgreSQL's own parser.
 *
 * An expression (filter condition, derived column, join condition, rule
 * expression, where) must be exactly one scalar expression: it is scanned
 * with the core scanner (a ';' token anywhere is refused) and parsed as
 * "SELECT <expr>"; the parse tree must be a plain one-column target list
 * without FROM, WHERE, set operations or any other clause, and may hold no
 * subquery (SubLink).  A query (source query, sql step, custom rule) must be
 * exactly one SELECT, without INTO, locking clauses or data-modifying WITH;
 * a sort item one ORDER BY item without LIMIT or other clauses after it.
 * Nothing is executed.  Parser errors are caught inside an internal
 * subtransaction and returned as text, so validation can go on and report
 * every problem.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_collation.h"
#include "nodes/nodeFuncs.h"
#include "nodes/parsenodes.h"
#include "parser/parser.h"
#include "parser/scanner.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

#include "config/config.h"

typedef struct CfgSqlCheck
{
	const char *sql;			/* what is parsed */
	CfgSqlKind	kind;
	int			offset;			/* bytes of wrapper before the user's text */
	char	   *problem;		/* set by the check, palloc'd */
} CfgSqlCheck;

static bool
cfg_sublink_walker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, SubLink))
		return true;
	return raw_expression_tree_walker(node, cfg_sublink_walker, context);
}

static bool
cfg_has_semicolon(const char *sql)
{
	core_yy_extra_type yyextra;
	core_YYSTYPE yylval;
	YYLTYPE		yylloc;
	core_yyscan_t scanner = scanner_init(sql, &yyextra, &ScanKeywords, ScanKeywordTokens);
	bool		found = false;

	for (;;)
	{
		int			tok = core_yylex(&yylval, &yylloc, scanner);

		if (tok == 0)
			break;
		if (tok == ';')
		{
			found = true;
			break;
		}
	}
	scanner_finish(scanner);
	return found;
}

static void
cfg_check_expr_tree(CfgSqlCheck *c, List *parsed)
{
	SelectStmt *s;
	ResTarget  *rt;

	if (list_length(parsed) != 1 || !IsA(((RawStmt *) linitial(parsed))->stmt, SelectStmt))
	{
		c->problem = pstrdup("must be a single scalar expression");
		return;
	}
	s = (SelectStmt *) ((RawStmt *) linitial(parsed))->stmt;
	if (s->op != SETOP_NONE || s->distinctClause || s->intoClause || s->fromClause ||
		s->whereClause || s->groupClause || s->havingClause || s->windowClause ||
		s->valuesLists || s->sortClause || s->limitOffset || s->limitCount ||
		s->lockingClause || s->withClause || list_length(s->targetList) != 1)
	{
		c->problem = pstrdup("must be a single scalar expression, without clauses such as FROM, WHERE, UNION or a second column");
		return;
	}
	rt = linitial_node(ResTarget, s->targetList);
	if (rt->name != NULL)
	{
		c->problem = pstrdup("must be a single scalar expression, without AS");
		return;
	}
	if (IsA(rt->val, ColumnRef) && IsA(llast(((ColumnRef *) rt->val)->fields), A_Star))
	{
		c->problem = pstrdup("must be a single scalar expression, not *");
		return;
	}
	if (cfg_sublink_walker(rt->val, NULL))
		c->problem = pstrdup("subqueries are not allowed in an expression");
}

static void
cfg_check_select_tree(CfgSqlCheck *c, List *parsed)
{
	SelectStmt *s;

	if (list_length(parsed) != 1 || !IsA(((RawStmt *) linitial(parsed))->stmt, SelectStmt))
	{
		c->problem = pstrdup("must be exactly one SELECT statement");
		return;
	}
	s = (SelectStmt *) ((RawStmt *) linitial(parsed))->stmt;
	if (s->intoClause)
	{
		c->problem = pstrdup("SELECT INTO is not allowed");
		return;
	}
	if (s->lockingClause)
	{
		c->problem = pstrdup("locking clauses (FOR UPDATE, FOR SHARE) are not allowed");
		return;
	}
	if (s->withClause)
	{
		ListCell   *lc;

		foreach(lc, s->withClause->ctes)
		{
			CommonTableExpr *cte = lfirst_node(CommonTableExpr, lc);

			if (!IsA(cte->ctequery, SelectStmt))
			{
				c->problem = pstrdup("data-modifying statements in WITH are not allowed");
				return;
			}
		}
	}
}

static void
cfg_check_order_tree(CfgSqlCheck *c, List *parsed)
{
	SelectStmt *s;
	SortBy	   *sb;

	if (list_length(parsed) != 1 || !IsA(((RawStmt *) linitial(parsed))->stmt, SelectStmt))
	{
		c->problem = pstrdup("must be one sort item");
		return;
	}
	s = (SelectStmt *) ((RawStmt *) linitial(parsed))->stmt;
	if (list_length(s->sortClause) != 1)
	{
		c->problem = pstrdup("one item per list entry, without commas");
		return;
	}
	if (s->op != SETOP_NONE || s->limitOffset || s->limitCount || s->lockingClause ||
		s->intoClause || s->withClause)
	{
		c->problem = pstrdup("must be one sort item: an expression with ASC, DESC or NULLS FIRST/LAST only");
		return;
	}
	sb = linitial_node(SortBy, s->sortClause);
	if (cfg_sublink_walker(sb->node, NULL))
		c->problem = pstrdup("subqueries are not allowed in a sort item");
}

static void
cfg_run_check(CfgSqlCheck *c)
{
	List	   *parsed;

	if (c->kind == CFG_SQL_TYPE)
	{
		(void) raw_parser(c->sql, RAW_PARSE_TYPE_NAME);
		return;
	}
	if (cfg_has_semicolon(c->sql))
	{
		c->problem = pstrdup(c->kind == CFG_SQL_EXPR ?
							 "must be one expression: semicolons and statements are not allowed" :
							 "must be exactly one SELECT statement: semicolons are not allowed");
		return;
	}
	parsed = raw_parser(c->sql, RAW_PARSE_DEFAULT);
	if (c->kind == CFG_SQL_EXPR)
		cfg_check_expr_tree(c, parsed);
	else if (c->kind == CFG_SQL_ORDER)
		cfg_check_order_tree(c, parsed);
	else
		cfg_check_select_tree(c, parsed);
}

/*
 * cfg_try
 *		Run fn(arg) in an internal subtransaction; an error it raises comes
 *		back as text ("" prefix + message, with the error position shifted by
 *		offset).  NULL when fn raised nothing.
 */
static char *
cfg_try(void (*fn) (void *), void *arg, int offset)
{
	MemoryContext oldcontext = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	char	   *volatile result = NULL;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcontext);
	PG_TRY();
	{
		fn(arg);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcontext);
		CurrentResourceOwner = oldowner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcontext);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcontext);
		CurrentResourceOwner = oldowner;
		if (edata->cursorpos > offset)
			result = psprintf("%s (at character %d)", edata->message, edata->cursorpos - offset);
		else
			result = pstrdup(edata->message);
		FreeErrorData(edata);
	}
	PG_END_TRY();
	return result;
}

static void
cfg_sql_fn(void *arg)
{
	cfg_run_check((CfgSqlCheck *) arg);
}

/*
 * MetaetlCheckSql
 *		NULL when sql is acceptable as kind, else the problem (palloc'd).
 */
char *
MetaetlCheckSql(const char *sql, CfgSqlKind kind)
{
	CfgSqlCheck c;
	char	   *err;

	memset(&c, 0, sizeof(c));
	c.kind = kind;
	if (kind == CFG_SQL_EXPR)
	{
		c.sql = psprintf("SELECT %s", sql);
		c.offset = 7;
	}
	else if (kind == CFG_SQL_ORDER)
	{
		c.sql = psprintf("SELECT 1 ORDER BY %s", sql);
		c.offset = 18;
	}
	else
		c.sql = sql;
	err = cfg_try(cfg_sql_fn, &c, c.offset);
	return err ? err : c.problem;
}

static void
cfg_regex_fn(void *arg)
{
	(void) DirectFunctionCall2Coll(textregexeq, DEFAULT_COLLATION_OID,
								   PointerGetDatum(cstring_to_text("")),
								   PointerGetDatum(cstring_to_text((const char *) arg)));
}

/* NULL when pattern is a valid POSIX regular expression, else the problem */
char *
MetaetlCheckRegex(const char *pattern)
{
	return cfg_try(cfg_regex_fn, (void *) pattern, 0);
}

static void
cfg_interval_fn(void *arg)
{
	(void) DirectFunctionCall3(interval_in, CStringGetDatum((const char *) arg),
							   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
}

/* NULL when s is a valid interval, else the problem */
char *
MetaetlCheckInterval(const char *s)
{
	return cfg_try(cfg_interval_fn, (void *) s, 0);
}
