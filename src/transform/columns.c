/*-------------------------------------------------------------------------
 *
 * src/transform/columns.c
 *		The columns of a source its pipeline reads (MetaetlUsedColumns), so a
 *		columnar reader (Parquet) decodes only those.
 *
 * Declared in transform/plan.h: connectors call it, and it reads the plan's
 * config only (no connector, no SQL), so no call circle comes of it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "nodes/nodeFuncs.h"
#include "parser/parser.h"

#include "transform/plan.h"
#include "util/json.h"

/* ---------------------------------------------------- columns a source gives */

/*
 * The used-column walk: *all set means "any column", otherwise *names
 * collects the names read.  Every case it does not know sets *all, so a
 * step type added later reads every column until it is taught here.
 */
typedef struct UsedCols
{
	bool		all;
	List	   *names;			/* char *, no duplicates */
} UsedCols;

static void
used_add(UsedCols *u, const char *name)
{
	ListCell   *lc;

	foreach(lc, u->names)
		if (strcmp(lfirst(lc), name) == 0)
			return;
	u->names = lappend(u->names, pstrdup(name));
}

static bool
used_colref_walker(Node *node, UsedCols *u)
{
	if (node == NULL)
		return false;
	if (IsA(node, ColumnRef))
	{
		Node	   *last = llast(((ColumnRef *) node)->fields);

		if (IsA(last, String))
			used_add(u, strVal(last));
		else
			u->all = true;		/* t.* */
		return false;
	}
	return raw_expression_tree_walker(node, used_colref_walker, (void *) u);
}

/*
 * The column references of a condition, by PostgreSQL's own grammar (a
 * superset: a subquery's columns count too).  A condition the grammar
 * refuses here (a template not yet rendered) means any column.
 */
static void
used_expr(UsedCols *u, const char *expr)
{
	MemoryContext cxt = CurrentMemoryContext;
	List	   *raw = NIL;

	if (expr == NULL)
	{
		u->all = true;
		return;
	}
	PG_TRY();
	{
		raw = raw_parser(psprintf("SELECT (%s)", expr), RAW_PARSE_DEFAULT);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		FlushErrorState();
		raw = NIL;
	}
	PG_END_TRY();
	if (list_length(raw) != 1 || !IsA(((RawStmt *) linitial(raw))->stmt, SelectStmt))
	{
		u->all = true;
		return;
	}
	used_colref_walker((Node *) ((SelectStmt *) ((RawStmt *) linitial(raw))->stmt)->targetList, u);
}

/* does any step other than a plain input read node n (join right, union, sql)? */
static bool
used_named_elsewhere(MetaetlPlan *plan, MetaetlNode *n)
{
	ListCell   *lc;

	foreach(lc, plan->nodes)
	{
		MetaetlNode *s = lfirst(lc);

		if (s->is_source)
			continue;
		if (strcmp(s->type, "join") == 0)
		{
			char	   *right = MetaetlJStr(s->params, "right");

			if (right && strcmp(right, n->id) == 0)
				return true;
		}
		else if (strcmp(s->type, "union") == 0)
		{
			JsonbContainer *inputs = MetaetlJObj(s->params, "inputs");

			for (int i = 0; inputs && i < MetaetlJArrayLen(inputs); i++)
			{
				char	   *in = MetaetlJValueText(MetaetlJArrayAt(inputs, i));

				if (in && strcmp(in, n->id) == 0)
					return true;
			}
		}
		else if (strcmp(s->type, "sql") == 0)
		{
			/* {{input.<id>}} or the id in any other spelling */
			char	   *q = MetaetlJStr(s->params, "query");

			if (q == NULL || strstr(q, n->id) != NULL)
				return true;
		}
	}
	return false;
}

/* add to u what n's consumers read of n's columns */
static void
used_by_consumers(MetaetlPlan *plan, MetaetlNode *n, UsedCols *u, int depth)
{
	ListCell   *lc;
	int			consumers = 0;

	if (u->all)
		return;
	if (depth > 1000 || n->materialize || used_named_elsewhere(plan, n))
	{
		u->all = true;
		return;
	}
	foreach(lc, plan->targets)
		if (strcmp(((MetaetlTarget *) lfirst(lc))->input, n->id) == 0)
		{
			u->all = true;
			return;
		}
	foreach(lc, plan->nodes)
	{
		MetaetlNode *s = lfirst(lc);

		if (s->is_source || s->input == NULL || strcmp(s->input, n->id) != 0)
			continue;
		consumers++;
		if (strcmp(s->type, "select") == 0)
		{
			/* the columns it names, and nothing of n beyond them */
			JsonbContainer *cols = MetaetlJObj(s->params, "columns");

			if (cols == NULL || !JsonContainerIsArray(cols))
				u->all = true;
			for (int i = 0; cols && i < MetaetlJArrayLen(cols); i++)
			{
				char	   *c = MetaetlJValueText(MetaetlJArrayAt(cols, i));

				if (c == NULL)
					u->all = true;
				else
					used_add(u, c);
			}
		}
		else if (strcmp(s->type, "filter") == 0)
		{
			used_expr(u, MetaetlJStr(s->params, "condition"));
			used_by_consumers(plan, s, u, depth + 1);
		}
		else if (strcmp(s->type, "drop") == 0 || strcmp(s->type, "limit") == 0)
		{
			/* pass n's columns on (drop: fewer of them) */
			used_by_consumers(plan, s, u, depth + 1);
		}
		else
			u->all = true;
		if (u->all)
			return;
	}

	/*
	 * Nothing in the plan reads n: whoever asked for it (etl.preview of a
	 * step, a plan cut short) reads it whole.
	 */
	if (consumers == 0)
		u->all = true;
}

List *
MetaetlUsedColumns(MetaetlPlan *plan, MetaetlNode *src)
{
	UsedCols	u = {false, NIL};

	if (MetaetlJGet(src->conf, "incremental") || MetaetlJGet(src->conf, "split_key") ||
		MetaetlJGet(src->conf, "watermark_column"))
		return NIL;
	used_by_consumers(plan, src, &u, 0);
	if (u.all)
		return NIL;
	return u.names;
}
