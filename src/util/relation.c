/*-------------------------------------------------------------------------
 *
 * src/util/relation.c
 *		Relation name or query: one quote-aware decision with PostgreSQL's
 *		scanner and parser (see relation.h for the rules and the usage).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "lib/stringinfo.h"
#include "nodes/parsenodes.h"
#include "parser/gramparse.h"	/* token numbers (IDENT) */
#include "parser/parser.h"
#include "parser/scanner.h"
#include "parser/scansup.h"
#include "storage/lockdefs.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "util/relation.h"

static const char ident_chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_$";

/* is the token at p (token number tok) a keyword?  (yylval holds no text for keywords) */
static bool
rel_keyword(const char *p, int tok)
{
	int			len = (int) strspn(p, ident_chars);
	char	   *word;
	int			kwnum;

	if (len == 0 || len > NAMEDATALEN)
		return false;
	word = downcase_identifier(p, len, false, false);
	kwnum = ScanKeywordLookup(word, &ScanKeywords);
	return kwnum >= 0 && ScanKeywordTokens[kwnum] == tok;
}

/*
 * rel_name_tokens
 *		When text is exactly NAME [. NAME [. NAME]] (identifiers, quoted
 *		identifiers or keywords), return the names (String nodes, downcased
 *		as PostgreSQL does for unquoted ones) in *names and true.  The scanner raises for
 *		an unterminated quoted identifier or string; such text is neither.
 */
static bool
rel_name_tokens(const char *text, List **names, int *first)
{
	core_yy_extra_type yyextra;
	core_YYSTYPE yylval;
	YYLTYPE		yylloc;
	core_yyscan_t scanner = scanner_init(text, &yyextra, &ScanKeywords, ScanKeywordTokens);
	bool		want_name = true;
	bool		ok = true;

	*names = NIL;
	*first = 0;
	for (;;)
	{
		int			tok = core_yylex(&yylval, &yylloc, scanner);

		if (tok == 0)
			break;
		if (*first == 0)
			*first = tok;
		if (want_name)
		{
			if (tok == IDENT)
				*names = lappend(*names, makeString(pstrdup(yylval.str)));
			else if (rel_keyword(text + yylloc, tok))
				*names = lappend(*names, makeString(downcase_identifier(text + yylloc,
																		(int) strspn(text + yylloc, ident_chars),
																		false, false)));
			else
			{
				ok = false;
				break;
			}
			want_name = false;
		}
		else if (tok == '.' && list_length(*names) < 3)
			want_name = true;
		else
		{
			ok = false;
			break;
		}
	}
	scanner_finish(scanner);
	return ok && !want_name && *names != NIL;
}

/* does text read as a query rather than a relation name? */
bool
MetaetlLooksLikeQuery(const char *text)
{
	List	   *names;
	int			first;

	return !rel_name_tokens(text, &names, &first);
}

/* one plain SELECT (VALUES, TABLE, parenthesised), or a 42601 error */
static void
rel_check_query(const char *query)
{
	List	   *parsed = raw_parser(query, RAW_PARSE_DEFAULT);
	SelectStmt *sel;

	if (list_length(parsed) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("a dataset must be a relation name or one SELECT statement"),
				 errdetail("The text holds %d statements: %.200s", list_length(parsed), query)));
	if (!IsA(linitial_node(RawStmt, parsed)->stmt, SelectStmt))
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("a dataset must be a relation name or a SELECT statement"),
				 errdetail("Got: %.200s", query),
				 errhint("Statements other than SELECT, VALUES and TABLE are not accepted.")));
	sel = (SelectStmt *) linitial_node(RawStmt, parsed)->stmt;
	if (sel->intoClause != NULL || sel->lockingClause != NIL)
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("a dataset query must be a plain SELECT"),
				 errdetail("SELECT INTO and FOR UPDATE/SHARE are not allowed: %.200s", query)));
	if (sel->withClause != NULL)
	{
		ListCell   *lc;

		foreach(lc, sel->withClause->ctes)
		{
			CommonTableExpr *cte = lfirst_node(CommonTableExpr, lc);

			if (!IsA(cte->ctequery, SelectStmt))
				ereport(ERROR,
						(errcode(ERRCODE_SYNTAX_ERROR),
						 errmsg("a dataset query must not modify data"),
						 errdetail("WITH query \"%s\" is not a SELECT.", cte->ctename)));
		}
	}
}

/*
 * MetaetlResolveData
 *		Decide and resolve (relation.h).
 */
MetaetlData *
MetaetlResolveData(const char *text, int flags)
{
	MetaetlData *d = palloc0(sizeof(MetaetlData));
	List	   *names;
	int			first;
	char	   *q;
	int			len;

	if (text == NULL || strspn(text, " \t\r\n\f\v") == strlen(text))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("no dataset given"),
				 errhint("Pass a relation name such as public.customers or a SELECT.")));

	/* a trailing ";" (and space) is not part of either */
	q = pstrdup(text);
	len = strlen(q);
	while (len > 0 && (scanner_isspace(q[len - 1]) || q[len - 1] == ';'))
		q[--len] = '\0';

	if (rel_name_tokens(q, &names, &first))
	{
		RangeVar   *rv = makeRangeVarFromNameList(names);

		d->kind = METAETL_DATA_RELATION;
		d->schema = rv->schemaname;
		d->name = rv->relname;
		d->relid = RangeVarGetRelid(rv, AccessShareLock, true);
		if (!OidIsValid(d->relid))
		{
			char	   *looked = d->schema ? psprintf("%s.%s", d->schema, d->name) : d->name;

			if (flags & METAETL_DATA_MISSING_OK)
			{
				d->label = quote_qualified_identifier(d->schema, d->name);
				return d;
			}
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_TABLE),
					 errmsg("relation \"%s\" does not exist", q),
					 strcmp(looked, q) != 0 ?
					 errdetail("Unquoted names are folded to lower case: looked for %s.", looked) : 0,
					 errhint("Pass an existing table or view (schema-qualified if it is not on the search_path), or a SELECT.")));
		}
		d->from_item = quote_qualified_identifier(get_namespace_name(get_rel_namespace(d->relid)),
												  get_rel_name(d->relid));
		d->label = d->from_item;
		return d;
	}

	/* a query starts as a SELECT statement can (the grammar's select_clause) */
	if (first != SELECT && first != WITH && first != VALUES && first != TABLE && first != '(')
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("dataset \"%.200s\" is neither a relation name nor a query", text),
				 errhint("Pass a table or view name (schema.table, with double quotes for mixed case or spaces) or one SELECT.")));
	rel_check_query(q);
	d->kind = METAETL_DATA_QUERY;
	d->query = q;
	d->from_item = psprintf("(\n%s\n)", q);
	d->label = q;
	return d;
}
