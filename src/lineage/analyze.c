/*-------------------------------------------------------------------------
 *
 * src/lineage/analyze.c
 *		Column lineage of a compiled plan, from the analyzed query tree.
 *
 * Each node of a compiled plan is one SELECT that reads earlier nodes as
 * CTEs (pushdown) or as temporary tables (staged, or a node materialised
 * for the quality gate).  The SQL the engine runs for a node,
 * MetaetlNodeQuery(), goes through raw_parser() and
 * pg_analyze_and_rewrite_fixedparams() -- the parser's name resolution,
 * SELECT * expansion and type resolution, and the rewriter's view
 * expansion -- and the resulting Query is walked:
 *
 *	- an output column is followed through its expression to the Vars it
 *	  uses; a Var through its range table entry: a subquery or CTE column
 *	  (recursively), a join's alias column, a set operation's leaves, a
 *	  VALUES or function RTE's expressions, or a relation's column;
 *	- a relation that is the temporary table of an earlier node continues
 *	  into that node's lineage (computed once, memoised); one that is a
 *	  base table, matview or foreign table is a dataset;
 *	- an external source (a file, a remote database, an object store) is a
 *	  dataset of its own (dataset.c) whose columns pass through unchanged;
 *	- the class of each path is the largest of the steps it crosses:
 *	  direct, expression, aggregate (aggregates and window functions,
 *	  including a window's PARTITION BY and ORDER BY columns);
 *	- every query reached also contributes its WHERE, JOIN ... ON, GROUP
 *	  BY, HAVING, DISTINCT ON and (with LIMIT) ORDER BY columns: those that
 *	  reach a target without flowing into one of its columns become its
 *	  "filter-only" edges.
 *
 * Parse analysis and rewriting read catalogs only; no function is called
 * and no relation is read, so this is safe to run with any rights.  It
 * runs as whoever compiled the plan (the run's role during a run).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "parser/parser.h"
#include "parser/parsetree.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/relcache.h"
#include "utils/rel.h"

#include "connectors/connector.h"
#include "lineage/lineage.h"
#include "transform/transform.h"

/* one upstream column of a value: dataset index, column, class */
typedef struct LinOrigin
{
	int			ds;
	char	   *col;
	int			cls;
} LinOrigin;

/* a dataset of the plan, with what the plan does with it */
typedef struct LinDs
{
	MetaetlDataset *d;
	bool		input;
	bool		output;
	List	   *nodes;			/* ids of the sources / targets that use it */
	List	   *fields;			/* MetaetlColumn *, for the schema facet */
} LinDs;

/* the lineage of one plan node's output columns */
typedef struct LinNodeLin
{
	bool		done;
	bool		busy;
	int			ncols;
	char	  **names;
	List	  **origins;		/* per column: LinOrigin * */
	List	   *filters;		/* LinOrigin * used to choose rows */
	List	   *reads;			/* integer list of dataset indexes */
} LinNodeLin;

typedef struct LinState
{
	MetaetlPlan *plan;
	List	   *datasets;		/* LinDs * */
	int			nnodes;
	MetaetlNode **nodes;
	LinNodeLin *lin;
	Oid		   *temp_relid;		/* per node: its temp table, or InvalidOid */
	char	   *external;		/* per node: 0 unknown, 1 no, 2 an external dataset */
} LinState;

/* the lineage of one analyzed query's output columns, memoised */
typedef struct LinMemo
{
	Query	   *q;
	List	   *ctx;			/* the query and its ancestors, outermost first */
	int			ncols;
	List	  **cols;
	char	   *state;			/* per column: 0 not yet, 1 in progress, 2 done */
	bool		filtered;
} LinMemo;

/* one analysis: one node's SQL */
typedef struct LinWalk
{
	LinState   *st;
	int			node;			/* index of the node analysed */
	List	   *memo;			/* LinMemo *, in the order queries were reached */
	List	   *filters;
	List	   *reads;
	List	   *used;			/* integer list of nodes whose lineage was used */
} LinWalk;

static LinNodeLin *lin_node(LinState *st, int idx);
static List *lin_query_col(LinWalk *w, List *ctx, int attno);
static List *lin_expr(LinWalk *w, List *ctx, Node *expr, int floor);

/* ---------------------------------------------------------------------
 * origins and datasets
 * ---------------------------------------------------------------------
 */

/* add o (with class at least floor) to list, keeping one entry per column */
static List *
lin_add(List *list, const LinOrigin *o, int floor)
{
	ListCell   *lc;
	int			cls = Max(o->cls, floor);

	foreach(lc, list)
	{
		LinOrigin  *x = lfirst(lc);

		if (x->ds == o->ds && strcmp(x->col, o->col) == 0)
		{
			x->cls = Max(x->cls, cls);
			return list;
		}
	}
	{
		LinOrigin  *n = palloc(sizeof(LinOrigin));

		n->ds = o->ds;
		n->col = o->col;
		n->cls = cls;
		return lappend(list, n);
	}
}

static List *
lin_add_all(List *list, List *from, int floor)
{
	ListCell   *lc;

	foreach(lc, from)
		list = lin_add(list, lfirst(lc), floor);
	return list;
}

static int
lin_dataset(LinState *st, MetaetlDataset *d)
{
	ListCell   *lc;
	LinDs	   *x;

	foreach(lc, st->datasets)
	{
		x = lfirst(lc);
		if (strcmp(x->d->namespace, d->namespace) == 0 && strcmp(x->d->name, d->name) == 0)
			return foreach_current_index(lc);
	}
	x = palloc0(sizeof(LinDs));
	x->d = d;
	st->datasets = lappend(st->datasets, x);
	return list_length(st->datasets) - 1;
}

static LinDs *
lin_ds(LinState *st, int i)
{
	return list_nth(st->datasets, i);
}

/* the dataset of a relation; its catalog columns become its fields */
static int
lin_relation(LinState *st, Oid relid)
{
	ListCell   *lc;
	int			i;

	foreach(lc, st->datasets)
	{
		LinDs	   *x = lfirst(lc);

		if (x->d->relid == relid)
			return foreach_current_index(lc);
	}
	i = lin_dataset(st, MetaetlLineageRelation(relid));
	if (lin_ds(st, i)->fields == NIL)
	{
		Relation	rel = RelationIdGetRelation(relid);

		if (RelationIsValid(rel))
		{
			TupleDesc	td = RelationGetDescr(rel);

			for (int a = 0; a < td->natts; a++)
			{
				Form_pg_attribute att = TupleDescAttr(td, a);
				MetaetlColumn *c;

				if (att->attisdropped)
					continue;
				c = palloc0(sizeof(MetaetlColumn));
				c->name = pstrdup(NameStr(att->attname));
				c->typid = att->atttypid;
				c->type = format_type_with_typemod(att->atttypid, att->atttypmod);
				lin_ds(st, i)->fields = lappend(lin_ds(st, i)->fields, c);
			}
			RelationClose(rel);
		}
	}
	return i;
}

/* ---------------------------------------------------------------------
 * the walk
 * ---------------------------------------------------------------------
 */

static LinMemo *
lin_memo(LinWalk *w, List *ctx)
{
	Query	   *q = llast(ctx);
	ListCell   *lc;
	LinMemo    *m;
	int			n = 0;

	foreach(lc, w->memo)
	{
		m = lfirst(lc);
		if (m->q == q)
			return m;
	}
	foreach(lc, q->targetList)
		n = Max(n, ((TargetEntry *) lfirst(lc))->resno);
	m = palloc0(sizeof(LinMemo));
	m->q = q;
	m->ctx = ctx;
	m->ncols = n;
	m->cols = palloc0(sizeof(List *) * (n + 1));
	m->state = palloc0(n + 1);
	w->memo = lappend(w->memo, m);
	return m;
}

static List *
lin_push(List *ctx, Query *q)
{
	return lappend(list_copy(ctx), q);
}

/* a node's lineage used by this walk: its filters and reads come along */
static void
lin_use_node(LinWalk *w, int idx)
{
	LinNodeLin *l = lin_node(w->st, idx);
	ListCell   *lc;

	if (list_member_int(w->used, idx))
		return;
	w->used = lappend_int(w->used, idx);
	w->filters = lin_add_all(w->filters, l->filters, 0);
	foreach(lc, l->reads)
		w->reads = list_append_unique_int(w->reads, lfirst_int(lc));
}

/* the origins of column "name" of an earlier node */
static List *
lin_node_col(LinWalk *w, int idx, const char *name)
{
	LinNodeLin *l = lin_node(w->st, idx);

	lin_use_node(w, idx);
	if (name == NULL)
		return NIL;
	for (int i = 0; i < l->ncols; i++)
		if (strcmp(l->names[i], name) == 0)
			return l->origins[i];
	return NIL;
}

static int
lin_node_by_id(LinState *st, const char *id)
{
	for (int i = 0; i < st->nnodes; i++)
		if (strcmp(st->nodes[i]->id, id) == 0)
			return i;
	return -1;
}

static int
lin_node_by_temp(LinState *st, Oid relid)
{
	for (int i = 0; i < st->nnodes; i++)
		if (st->temp_relid[i] == relid)
			return i;
	return -1;
}

/*
 * Whether a node is a dataset of its own: a source that is not SQL of this
 * database (a file copied into a temp table, a remote database, an object
 * store) -- every type but the local connector's, and the local connector
 * with a connection naming host, port or dbname.  Inline rows are SQL here.
 */
static bool
lin_node_is_external(LinState *st, int idx)
{
	MetaetlNode *n = st->nodes[idx];
	char	   *ct;
	Jsonb	   *co;

	if (st->external[idx] == 0)
	{
		bool		ext = false;

		if (!n->is_source || strcmp(n->type, "inline") == 0)
			ext = false;
		else if (MetaetlFindConnector(n->type, true, n->id) != &MetaetlLocalConnector)
			ext = true;
		else if (MetaetlLineageConnection(n->conf, &ct, &co) && co != NULL &&
				 (MetaetlJGet(&co->root, "host") || MetaetlJGet(&co->root, "port") ||
				  MetaetlJGet(&co->root, "dbname")))
			ext = true;
		st->external[idx] = ext ? 2 : 1;
	}
	return st->external[idx] == 2;
}

/* the origins of column attno of range table entry rte of llast(ctx) */
static List *
lin_rte_col(LinWalk *w, List *ctx, RangeTblEntry *rte, int attno)
{
	List	   *out = NIL;
	ListCell   *lc;

	switch (rte->rtekind)
	{
		case RTE_RELATION:
			{
				int			node = lin_node_by_temp(w->st, rte->relid);
				char	   *col = get_attname(rte->relid, attno, true);
				LinOrigin	o;

				if (node >= 0)
					return lin_node_col(w, node, col);
				if (col == NULL)
					return NIL;
				o.ds = lin_relation(w->st, rte->relid);
				o.col = col;
				o.cls = METAETL_LINEAGE_DIRECT;
				w->reads = list_append_unique_int(w->reads, o.ds);
				return lin_add(NIL, &o, 0);
			}
		case RTE_SUBQUERY:
			return lin_query_col(w, lin_push(ctx, rte->subquery), attno);
		case RTE_JOIN:
			if (attno <= list_length(rte->joinaliasvars) && list_nth(rte->joinaliasvars, attno - 1))
				return lin_expr(w, ctx, list_nth(rte->joinaliasvars, attno - 1), METAETL_LINEAGE_DIRECT);
			return NIL;
		case RTE_FUNCTION:
			/* every column of a function's result depends on all its arguments */
			foreach(lc, rte->functions)
				out = lin_add_all(out, lin_expr(w, ctx, ((RangeTblFunction *) lfirst(lc))->funcexpr,
												METAETL_LINEAGE_EXPRESSION), 0);
			return out;
		case RTE_TABLEFUNC:
			out = lin_expr(w, ctx, rte->tablefunc->docexpr, METAETL_LINEAGE_EXPRESSION);
			out = lin_add_all(out, lin_expr(w, ctx, rte->tablefunc->rowexpr, METAETL_LINEAGE_EXPRESSION), 0);
			return out;
		case RTE_VALUES:
			foreach(lc, rte->values_lists)
			{
				List	   *row = lfirst(lc);

				if (attno <= list_length(row))
					out = lin_add_all(out, lin_expr(w, ctx, list_nth(row, attno - 1),
													METAETL_LINEAGE_DIRECT), 0);
			}
			return out;
		case RTE_CTE:
			{
				int			owner = list_length(ctx) - 1 - (int) rte->ctelevelsup;
				Query	   *oq;
				CommonTableExpr *cte = NULL;

				if (owner < 0)
					return NIL;
				oq = list_nth(ctx, owner);
				foreach(lc, oq->cteList)
					if (strcmp(((CommonTableExpr *) lfirst(lc))->ctename, rte->ctename) == 0)
						cte = lfirst(lc);
				if (cte == NULL || !IsA(cte->ctequery, Query))
					return NIL;
				/* the outermost WITH holds the plan's nodes */
				if (owner == 0)
				{
					int			node = lin_node_by_id(w->st, cte->ctename);

					if (node >= 0 && node != w->node && lin_node_is_external(w->st, node))
						return lin_node_col(w, node, attno <= list_length(cte->ctecolnames) ?
											strVal(list_nth(cte->ctecolnames, attno - 1)) : NULL);
				}
				return lin_query_col(w, lin_push(list_copy_head(ctx, owner + 1), (Query *) cte->ctequery),
									 attno);
			}
		default:
			return NIL;
	}
}

static List *
lin_var(LinWalk *w, List *ctx, Var *v)
{
	int			level = list_length(ctx) - 1 - (int) v->varlevelsup;
	List	   *vctx;
	Query	   *q;
	RangeTblEntry *rte;
	List	   *out = NIL;

	if (level < 0)
		return NIL;
	vctx = list_copy_head(ctx, level + 1);
	q = llast(vctx);
	if (v->varno < 1 || v->varno > list_length(q->rtable))
		return NIL;
	rte = rt_fetch(v->varno, q->rtable);
	if (v->varattno < 0)
		return NIL;				/* system columns carry no data of a column */
	if (v->varattno > 0)
		return lin_rte_col(w, vctx, rte, v->varattno);
	/* a whole-row reference uses every column */
	for (int a = 1; a <= list_length(rte->eref->colnames); a++)
		out = lin_add_all(out, lin_rte_col(w, vctx, rte, a), METAETL_LINEAGE_EXPRESSION);
	return out;
}

typedef struct LinExprCtx
{
	LinWalk    *w;
	List	   *ctx;
	int			floor;
	List	   *out;
} LinExprCtx;

static bool lin_expr_walker(Node *node, LinExprCtx *c);

/* window functions depend on their window's PARTITION BY and ORDER BY too */
static void
lin_window_clause(LinExprCtx *c, Index winref)
{
	Query	   *q = llast(c->ctx);
	ListCell   *lc;

	foreach(lc, q->windowClause)
	{
		WindowClause *wc = lfirst(lc);
		ListCell   *lc2;

		if (wc->winref != winref)
			continue;
		foreach(lc2, list_concat_copy(wc->partitionClause, wc->orderClause))
		{
			TargetEntry *tle = get_sortgroupclause_tle(lfirst(lc2), q->targetList);

			lin_expr_walker((Node *) tle->expr, c);
		}
	}
}

/*
 * etl._step_value(etl._step_enter(context, anchor), value) is how the
 * transform compiler wraps a step's expression so that its run-time errors
 * name the step (transform/stepctx.c): its value is the second argument; the
 * anchor column is no origin of it.
 */
static bool
lin_is_step_value(Node *n)
{
	FuncExpr   *f = (FuncExpr *) n;
	char	   *name;
	char	   *nsp;

	if (n == NULL || !IsA(n, FuncExpr) || list_length(f->args) != 2)
		return false;
	name = get_func_name(f->funcid);
	if (name == NULL || strcmp(name, "_step_value") != 0)
		return false;
	nsp = get_namespace_name(get_func_namespace(f->funcid));
	return nsp != NULL && strcmp(nsp, "etl") == 0;
}

static bool
lin_expr_walker(Node *node, LinExprCtx *c)
{
	if (node == NULL)
		return false;
	check_stack_depth();
	if (lin_is_step_value(node))
		return lin_expr_walker(lsecond(((FuncExpr *) node)->args), c);
	if (IsA(node, Var))
	{
		c->out = lin_add_all(c->out, lin_var(c->w, c->ctx, (Var *) node), c->floor);
		return false;
	}
	if (IsA(node, Aggref) || IsA(node, WindowFunc))
	{
		int			saved = c->floor;

		c->floor = Max(saved, METAETL_LINEAGE_AGGREGATE);
		if (IsA(node, WindowFunc))
			lin_window_clause(c, ((WindowFunc *) node)->winref);
		expression_tree_walker(node, lin_expr_walker, c);
		c->floor = saved;
		return false;
	}
	if (IsA(node, SubLink))
	{
		SubLink    *s = (SubLink *) node;
		Query	   *sq = (Query *) s->subselect;
		int			saved = c->floor;

		c->floor = Max(saved, METAETL_LINEAGE_EXPRESSION);
		lin_expr_walker(s->testexpr, c);
		if (sq && IsA(sq, Query))
		{
			List	   *sctx = lin_push(c->ctx, sq);

			if (s->subLinkType == EXISTS_SUBLINK)
				(void) lin_memo(c->w, sctx);	/* its filters decide */
			else
				c->out = lin_add_all(c->out, lin_query_col(c->w, sctx, 1), c->floor);
		}
		c->floor = saved;
		return false;
	}
	return expression_tree_walker(node, lin_expr_walker, c);
}

/* implicit coercions (UNION type resolution, ...) do not change a value */
static Node *
lin_strip_implicit(Node *n)
{
	for (;;)
	{
		if (n && IsA(n, RelabelType) && ((RelabelType *) n)->relabelformat == COERCE_IMPLICIT_CAST)
			n = (Node *) ((RelabelType *) n)->arg;
		else if (n && IsA(n, CoerceViaIO) && ((CoerceViaIO *) n)->coerceformat == COERCE_IMPLICIT_CAST)
			n = (Node *) ((CoerceViaIO *) n)->arg;
		else if (n && IsA(n, FuncExpr) && ((FuncExpr *) n)->funcformat == COERCE_IMPLICIT_CAST &&
				 list_length(((FuncExpr *) n)->args) >= 1)
			n = linitial(((FuncExpr *) n)->args);
		else if (lin_is_step_value(n))
			n = lsecond(((FuncExpr *) n)->args);
		else
			return n;
	}
}

/* the origins of an expression evaluated in llast(ctx) */
static List *
lin_expr(LinWalk *w, List *ctx, Node *expr, int floor)
{
	LinExprCtx	c;
	Node	   *e = lin_strip_implicit(expr);

	c.w = w;
	c.ctx = ctx;
	c.out = NIL;
	c.floor = (e && IsA(e, Var)) ? floor : Max(floor, METAETL_LINEAGE_EXPRESSION);
	lin_expr_walker(e, &c);
	return c.out;
}

/* set operations: an output column comes from the same column of every leaf */
static List *
lin_setop_col(LinWalk *w, List *ctx, Node *op, int attno)
{
	Query	   *q = llast(ctx);

	if (IsA(op, RangeTblRef))
		return lin_rte_col(w, ctx, rt_fetch(((RangeTblRef *) op)->rtindex, q->rtable), attno);
	if (IsA(op, SetOperationStmt))
	{
		SetOperationStmt *s = (SetOperationStmt *) op;
		List	   *out = lin_setop_col(w, ctx, s->larg, attno);

		/* EXCEPT's right side only removes rows */
		if (s->op == SETOP_EXCEPT)
		{
			List	   *r = lin_setop_col(w, ctx, s->rarg, attno);

			w->filters = lin_add_all(w->filters, r, 0);
			return out;
		}
		return lin_add_all(out, lin_setop_col(w, ctx, s->rarg, attno), 0);
	}
	return NIL;
}

/* the origins of output column attno of the query llast(ctx) */
static List *
lin_query_col(LinWalk *w, List *ctx, int attno)
{
	LinMemo    *m = lin_memo(w, ctx);
	Query	   *q = m->q;
	List	   *out = NIL;
	ListCell   *lc;

	CHECK_FOR_INTERRUPTS();
	check_stack_depth();
	if (attno < 1 || attno > m->ncols || m->state[attno] == 1)
		return NIL;				/* no such column, or a recursive CTE's own reference */
	if (m->state[attno] == 2)
		return m->cols[attno];
	m->state[attno] = 1;
	if (q->setOperations)
		out = lin_setop_col(w, ctx, q->setOperations, attno);
	else
		foreach(lc, q->targetList)
		{
			TargetEntry *tle = lfirst(lc);

			if (tle->resno == attno)
				out = lin_expr(w, ctx, (Node *) tle->expr, METAETL_LINEAGE_DIRECT);
		}
	m->cols[attno] = out;
	m->state[attno] = 2;
	return out;
}

/* ---------------------------------------------------------------------
 * rows: what decides which rows arrive
 * ---------------------------------------------------------------------
 */

static void
lin_filter_expr(LinWalk *w, List *ctx, Node *expr)
{
	if (expr)
		w->filters = lin_add_all(w->filters, lin_expr(w, ctx, expr, 0), 0);
}

static void
lin_filter_from(LinWalk *w, List *ctx, Node *n)
{
	if (n == NULL)
		return;
	if (IsA(n, JoinExpr))
	{
		lin_filter_from(w, ctx, ((JoinExpr *) n)->larg);
		lin_filter_from(w, ctx, ((JoinExpr *) n)->rarg);
		lin_filter_expr(w, ctx, ((JoinExpr *) n)->quals);
	}
	else if (IsA(n, FromExpr))
	{
		ListCell   *lc;

		foreach(lc, ((FromExpr *) n)->fromlist)
			lin_filter_from(w, ctx, lfirst(lc));
		lin_filter_expr(w, ctx, ((FromExpr *) n)->quals);
	}
}

static void
lin_filter_sortgroup(LinWalk *w, List *ctx, List *clauses)
{
	Query	   *q = llast(ctx);
	ListCell   *lc;

	foreach(lc, clauses)
		lin_filter_expr(w, ctx, (Node *) get_sortgroupclause_tle(lfirst(lc), q->targetList)->expr);
}

/* the row-deciding clauses of one query, and the FROM items it reads */
static void
lin_filters_of(LinWalk *w, LinMemo *m)
{
	Query	   *q = m->q;
	List	   *ctx = m->ctx;
	ListCell   *lc;

	lin_filter_from(w, ctx, (Node *) q->jointree);
	lin_filter_expr(w, ctx, q->havingQual);
	lin_filter_sortgroup(w, ctx, q->groupClause);
	if (q->hasDistinctOn)
		lin_filter_sortgroup(w, ctx, q->distinctClause);
	if (q->limitCount || q->limitOffset)
	{
		lin_filter_sortgroup(w, ctx, q->sortClause);
		lin_filter_expr(w, ctx, q->limitCount);
		lin_filter_expr(w, ctx, q->limitOffset);
	}
	foreach(lc, q->rtable)
	{
		RangeTblEntry *rte = lfirst(lc);

		if (!rte->inFromCl)
			continue;
		if (rte->rtekind == RTE_RELATION)
		{
			int			node = lin_node_by_temp(w->st, rte->relid);

			if (node >= 0)
				lin_use_node(w, node);
			else
				w->reads = list_append_unique_int(w->reads, lin_relation(w->st, rte->relid));
		}
		else if (rte->rtekind == RTE_SUBQUERY)
			(void) lin_memo(w, lin_push(ctx, rte->subquery));
		else if (rte->rtekind == RTE_CTE)
		{
			/* reached even when none of its columns is used (a cross join) */
			int			owner = list_length(ctx) - 1 - (int) rte->ctelevelsup;
			ListCell   *lc2;

			if (owner < 0)
				continue;
			foreach(lc2, ((Query *) list_nth(ctx, owner))->cteList)
			{
				CommonTableExpr *cte = lfirst(lc2);
				int			node = owner == 0 ? lin_node_by_id(w->st, cte->ctename) : -1;

				if (strcmp(cte->ctename, rte->ctename) != 0 || !IsA(cte->ctequery, Query))
					continue;
				if (node >= 0 && node != w->node && lin_node_is_external(w->st, node))
					lin_use_node(w, node);
				else
					(void) lin_memo(w, lin_push(list_copy_head(ctx, owner + 1), (Query *) cte->ctequery));
			}
		}
	}
}

/* ---------------------------------------------------------------------
 * nodes
 * ---------------------------------------------------------------------
 */

static Query *
lin_analyze(const char *sql)
{
	List	   *raw = raw_parser(sql, RAW_PARSE_DEFAULT);
	List	   *qs;

	if (list_length(raw) != 1)
		elog(ERROR, "lineage: a node's SQL must be one statement");
	qs = pg_analyze_and_rewrite_fixedparams(linitial_node(RawStmt, raw), sql, NULL, 0, NULL);
	if (list_length(qs) != 1 || !IsA(linitial(qs), Query) ||
		((Query *) linitial(qs))->commandType != CMD_SELECT)
		elog(ERROR, "lineage: a node's SQL must be one SELECT");
	return linitial(qs);
}

/* the SQL that produced node n: its query with n itself as a CTE */
static char *
lin_node_sql(LinState *st, MetaetlNode *n)
{
	char	   *saved = n->temp;
	char	   *sql;

	n->temp = NULL;
	sql = MetaetlNodeQuery(st->plan, n);
	n->temp = saved;
	return sql;
}

/*
 * lin_node
 *		The lineage of node idx's output columns (memoised).
 */
static LinNodeLin *
lin_node(LinState *st, int idx)
{
	LinNodeLin *l = &st->lin[idx];
	MetaetlNode *n = st->nodes[idx];
	ListCell   *lc;

	if (l->done || l->busy)
		return l;
	l->busy = true;
	l->ncols = list_length(n->cols);
	l->names = palloc0(sizeof(char *) * (l->ncols + 1));
	l->origins = palloc0(sizeof(List *) * (l->ncols + 1));
	foreach(lc, n->cols)
		l->names[foreach_current_index(lc)] = ((MetaetlColumn *) lfirst(lc))->name;

	if (lin_node_is_external(st, idx))
	{
		/* a private copy of an external dataset: its columns pass through */
		char	   *ct;
		Jsonb	   *co;
		int			ds;

		(void) MetaetlLineageConnection(n->conf, &ct, &co);
		ds = lin_dataset(st, MetaetlLineageDataset(n->type, ct, co ? &co->root : NULL, n->conf, n->id));
		lin_ds(st, ds)->fields = n->cols;
		for (int i = 0; i < l->ncols; i++)
		{
			LinOrigin	o = {ds, l->names[i], METAETL_LINEAGE_DIRECT};

			l->origins[i] = lin_add(NIL, &o, 0);
		}
		l->reads = list_make1_int(ds);
	}
	else
	{
		LinWalk		w;
		Query	   *q = lin_analyze(lin_node_sql(st, n));
		List	   *ctx = list_make1(q);
		int			i = 0;

		memset(&w, 0, sizeof(w));
		w.st = st;
		w.node = idx;
		foreach(lc, q->targetList)
		{
			TargetEntry *tle = lfirst(lc);

			if (tle->resjunk)
				continue;
			/* the described columns and the analyzed ones agree, by position */
			if (i < l->ncols)
				l->origins[i] = lin_query_col(&w, ctx, tle->resno);
			i++;
		}
		/* every query reached, and those their filters reach in turn */
		for (int k = 0; k < list_length(w.memo); k++)
		{
			LinMemo    *m = list_nth(w.memo, k);

			if (!m->filtered)
			{
				m->filtered = true;
				lin_filters_of(&w, m);
			}
		}
		l->filters = w.filters;
		l->reads = w.reads;
	}
	l->busy = false;
	l->done = true;
	return l;
}

/* ---------------------------------------------------------------------
 * the plan
 * ---------------------------------------------------------------------
 */

static const char *
lin_class_name(int cls, const char *from, const char *to)
{
	if (cls == METAETL_LINEAGE_AGGREGATE)
		return "aggregate";
	if (cls == METAETL_LINEAGE_EXPRESSION)
		return "expression";
	return strcmp(from, to) == 0 ? "identity" : "rename";
}

/* the dataset a target writes */
static int
lin_target_dataset(LinState *st, MetaetlTarget *t)
{
	char	   *ct;
	Jsonb	   *co;
	bool		has_conn = MetaetlLineageConnection(t->conf, &ct, &co);
	bool		remote = has_conn && co != NULL &&
		(MetaetlJGet(&co->root, "host") || MetaetlJGet(&co->root, "port") ||
		 MetaetlJGet(&co->root, "dbname"));

	if (MetaetlFindConnector(t->type, false, t->id) == &MetaetlLocalConnector && !remote)
	{
		char	   *table = MetaetlJStr(t->conf, "table");
		char	   *schema = MetaetlJStr(t->conf, "schema");
		RangeVar   *rv;
		Oid			relid;

		if (table == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("target \"%s\" needs table", t->id)));
		rv = makeRangeVarFromNameList(stringToQualifiedNameList(
			schema ? quote_qualified_identifier(schema, table) : MetaetlQualifiedName(table, "table")));
		relid = RangeVarGetRelid(rv, NoLock, true);
		if (OidIsValid(relid))
			return lin_relation(st, relid);
		/* created by the load, where CREATE TABLE would put it */
		return lin_dataset(st, MetaetlLineageLocalName(get_namespace_name(RangeVarGetCreationNamespace(rv)),
													   rv->relname));
	}
	return lin_dataset(st, MetaetlLineageDataset(t->type, ct, co ? &co->root : NULL, t->conf, t->id));
}

static void
lin_json_str(StringInfo b, const char *key, const char *val, bool comma)
{
	if (comma)
		appendStringInfoString(b, ", ");
	escape_json(b, key);
	appendStringInfoString(b, ": ");
	if (val)
		escape_json(b, val);
	else
		appendStringInfoString(b, "null");
}

static void
lin_json_edge(StringInfo b, LinState *st, int src, const char *scol, int tgt,
			  const char *tcol, const char *transform, const char *target_id)
{
	LinDs	   *s = lin_ds(st, src);
	LinDs	   *t = lin_ds(st, tgt);

	appendStringInfoString(b, b->data[b->len - 1] == '[' ? "{" : ", {");
	lin_json_str(b, "source", s->d->display, false);
	lin_json_str(b, "source_namespace", s->d->namespace, true);
	lin_json_str(b, "source_name", s->d->name, true);
	lin_json_str(b, "source_column", scol, true);
	lin_json_str(b, "target", t->d->display, true);
	lin_json_str(b, "target_namespace", t->d->namespace, true);
	lin_json_str(b, "target_name", t->d->name, true);
	lin_json_str(b, "target_column", tcol, true);
	lin_json_str(b, "transform", transform, true);
	lin_json_str(b, "target_id", target_id, true);
	appendStringInfoChar(b, '}');
}

/*
 * MetaetlLineagePlanJson
 *		The lineage of a compiled plan (every node has its body and columns)
 *		as JSON: {"datasets": [{role, namespace, name, display, local,
 *		nodes, fields}], "edges": [{source, source_namespace, source_name,
 *		source_column, target, ..., target_column, transform, target_id}]}.
 *		Edges are sorted by target, target column and source; filter-only
 *		edges have a null target_column.
 */
char *
MetaetlLineagePlanJson(MetaetlPlan *plan)
{
	LinState	st;
	StringInfoData b;
	ListCell   *lc;
	int			i;

	memset(&st, 0, sizeof(st));
	st.plan = plan;
	st.nnodes = list_length(plan->nodes);
	st.nodes = palloc0(sizeof(MetaetlNode *) * (st.nnodes + 1));
	st.lin = palloc0(sizeof(LinNodeLin) * (st.nnodes + 1));
	st.temp_relid = palloc0(sizeof(Oid) * (st.nnodes + 1));
	st.external = palloc0(st.nnodes + 1);
	foreach(lc, plan->nodes)
	{
		MetaetlNode *n = lfirst(lc);

		i = foreach_current_index(lc);
		st.nodes[i] = n;
		if (n->temp)
			st.temp_relid[i] = RangeVarGetRelid(makeRangeVarFromNameList(stringToQualifiedNameList(n->temp)),
												NoLock, true);
	}

	/* which source reads which dataset (for the quality facets) */
	for (i = 0; i < st.nnodes; i++)
		if (st.nodes[i]->is_source)
			foreach(lc, lin_node(&st, i)->reads)
				lin_ds(&st, lfirst_int(lc))->nodes =
					list_append_unique(lin_ds(&st, lfirst_int(lc))->nodes, makeString(st.nodes[i]->id));

	initStringInfo(&b);
	appendStringInfoString(&b, "{\"edges\": [");
	foreach(lc, plan->targets)
	{
		MetaetlTarget *t = lfirst(lc);
		int			idx = lin_node_by_id(&st, t->input);
		LinNodeLin *l;
		int			tds;
		List	   *valued = NIL;
		ListCell   *lc2;

		if (idx < 0)
			continue;
		l = lin_node(&st, idx);
		tds = lin_target_dataset(&st, t);
		lin_ds(&st, tds)->output = true;
		lin_ds(&st, tds)->nodes = list_append_unique(lin_ds(&st, tds)->nodes, makeString(t->id));
		if (lin_ds(&st, tds)->fields == NIL)
			lin_ds(&st, tds)->fields = st.nodes[idx]->cols;
		foreach(lc2, l->reads)
			lin_ds(&st, lfirst_int(lc2))->input = true;
		for (int c = 0; c < l->ncols; c++)
		{
			ListCell   *lc3;

			foreach(lc3, l->origins[c])
			{
				LinOrigin  *o = lfirst(lc3);

				lin_json_edge(&b, &st, o->ds, o->col, tds, l->names[c],
							  lin_class_name(o->cls, o->col, l->names[c]), t->id);
				valued = lin_add(valued, o, 0);
				lin_ds(&st, o->ds)->input = true;
			}
		}
		foreach(lc2, l->filters)
		{
			LinOrigin  *o = lfirst(lc2);
			bool		flows = false;
			ListCell   *lc3;

			foreach(lc3, valued)
				if (((LinOrigin *) lfirst(lc3))->ds == o->ds &&
					strcmp(((LinOrigin *) lfirst(lc3))->col, o->col) == 0)
					flows = true;
			if (!flows)
				lin_json_edge(&b, &st, o->ds, o->col, tds, NULL, "filter-only", t->id);
			lin_ds(&st, o->ds)->input = true;
		}
	}
	appendStringInfoString(&b, "], \"datasets\": [");
	foreach(lc, st.datasets)
	{
		LinDs	   *x = lfirst(lc);

		for (int role = 0; role < 2; role++)
		{
			ListCell   *lc2;
			bool		first = true;

			if (!(role == 0 ? x->input : x->output))
				continue;
			appendStringInfoString(&b, b.data[b.len - 1] == '[' ? "{" : ", {");
			lin_json_str(&b, "role", role == 0 ? "input" : "output", false);
			lin_json_str(&b, "namespace", x->d->namespace, true);
			lin_json_str(&b, "name", x->d->name, true);
			lin_json_str(&b, "display", x->d->display, true);
			appendStringInfo(&b, ", \"local\": %s, \"nodes\": [", x->d->local ? "true" : "false");
			foreach(lc2, x->nodes)
			{
				if (!first)
					appendStringInfoString(&b, ", ");
				escape_json(&b, strVal(lfirst(lc2)));
				first = false;
			}
			appendStringInfoString(&b, "], \"fields\": [");
			first = true;
			foreach(lc2, x->fields)
			{
				MetaetlColumn *c = lfirst(lc2);

				appendStringInfoString(&b, first ? "{" : ", {");
				lin_json_str(&b, "name", c->name, false);
				lin_json_str(&b, "type", c->type, true);
				appendStringInfoChar(&b, '}');
				first = false;
			}
			appendStringInfoString(&b, "]}");
		}
	}
	appendStringInfoString(&b, "]}");
	return b.data;
}
