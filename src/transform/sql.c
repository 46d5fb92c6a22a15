/*-------------------------------------------------------------------------
 *
 * src/transform/sql.c
 *		The SQL helpers every compiler of a node shares: run a statement,
 *		name a temp table, list and discover columns, keep the script.
 *
 * Transform steps and the connectors' extract and load functions both use
 * these (declared in transform/plan.h).  Nothing here calls a connector, so
 * connectors build on this file without a call circle through transform.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/varlena.h"

#include "transform/plan.h"

static int	metaetl_temp_counter = 0;

/* run one statement through SPI; expect = SPI_OK_* or 0 for any success */
uint64
MetaetlExec(const char *sql, int expect)
{
	int			rc = SPI_execute(sql, false, 0);

	if (rc < 0 || (expect != 0 && rc != expect))
		elog(ERROR, "SPI_execute failed (%d): %s", rc, sql);
	return SPI_processed;
}

/*
 * A fresh temp table name (pg_temp, never a user schema), unique in this
 * backend, so that concurrent nodes and retried attempts never collide.
 */
char *
MetaetlNewTemp(MetaetlPlan *plan, const char *what)
{
	return psprintf("pg_temp.metaetl_%s_%d", what, ++metaetl_temp_counter);
}

/* the byte length of the longest part of a dotted name ("quoted" parts unquoted) */
static size_t
longest_name_part(const char *s)
{
	size_t		longest = 0,
				len = 0;
	bool		quoted = false;

	for (; *s; s++)
	{
		if (*s == '"')
		{
			if (quoted && s[1] == '"')
			{
				s++;
				len++;
			}
			else
				quoted = !quoted;
			continue;
		}
		if (*s == '.' && !quoted)
		{
			longest = Max(longest, len);
			len = 0;
			continue;
		}
		len++;
	}
	return Max(longest, len);
}

/*
 * MetaetlQualifiedName
 *		"schema.table" or "table" in SQL identifier syntax → quoted qualified
 *		name.  A part longer than 63 bytes is an error, not the silent
 *		truncation PostgreSQL's parser would apply (two long names that
 *		differ only after byte 63 would name one table).
 */
char *
MetaetlQualifiedName(const char *name, const char *what)
{
	char	   *raw = pstrdup(name);
	List	   *parts = NIL;

	if (longest_name_part(name) >= NAMEDATALEN)
		ereport(ERROR,
				(errcode(ERRCODE_NAME_TOO_LONG),
				 errmsg("%s name \"%s\" is longer than %d bytes", what, name, NAMEDATALEN - 1),
				 errhint("PostgreSQL truncates names to %d bytes; choose a shorter name.", NAMEDATALEN - 1)));

	if (!SplitIdentifierString(raw, '.', &parts) || list_length(parts) < 1 ||
		list_length(parts) > 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_NAME),
				 errmsg("invalid %s name \"%s\"", what, name),
				 errhint("Write table or schema.table; quote names with special characters in double quotes.")));
	if (list_length(parts) == 2)
		return quote_qualified_identifier(linitial(parts), lsecond(parts));
	return pstrdup(quote_identifier(linitial(parts)));
}

/*
 * The quoted column list "a, b" (each name prefixed, e.g. "s."), in the
 * order of cols, for INSERT and SELECT lists that must line up.
 */
char *
MetaetlColList(List *cols, const char *prefix)
{
	StringInfoData b;
	ListCell   *lc;

	initStringInfo(&b);
	foreach(lc, cols)
	{
		MetaetlColumn *c = lfirst(lc);

		appendStringInfo(&b, "%s%s%s", b.len ? ", " : "", prefix ? prefix : "",
						 quote_identifier(c->name));
	}
	return b.data;
}

/* the columns a query returns (run with LIMIT 0 by the caller) */
List *
MetaetlDescribe(const char *sql)
{
	List	   *cols = NIL;
	TupleDesc	td;

	MetaetlExec(sql, SPI_OK_SELECT);
	td = SPI_tuptable->tupdesc;
	for (int i = 0; i < td->natts; i++)
	{
		Form_pg_attribute a = TupleDescAttr(td, i);
		MetaetlColumn *c;
		ListCell   *lc;

		if (a->attisdropped)
			continue;
		foreach(lc, cols)
		{
			if (strcmp(((MetaetlColumn *) lfirst(lc))->name, NameStr(a->attname)) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_DUPLICATE_COLUMN),
						 errmsg("column \"%s\" appears more than once in a node's output",
								NameStr(a->attname)),
						 errhint("Rename one of them (map step, join suffixes or aliases in the query).")));
		}
		c = palloc0(sizeof(MetaetlColumn));
		c->name = pstrdup(NameStr(a->attname));
		c->typid = a->atttypid == UNKNOWNOID ? TEXTOID : a->atttypid;
		c->typmod = a->atttypid == UNKNOWNOID ? -1 : a->atttypmod;
		c->type = format_type_with_typemod(c->typid, c->typmod);
		cols = lappend(cols, c);
	}
	return cols;
}

/*
 * Add sql to the plan's script: what etl.compile_pipeline shows and the run
 * summary keeps, so that every statement a run executes can be read back.
 */
void
MetaetlScript(MetaetlPlan *plan, const char *sql)
{
	if (plan->script == NULL)
		plan->script = makeStringInfo();
	appendStringInfo(plan->script, "%s;\n", sql);
}
