/*-------------------------------------------------------------------------
 *
 * src/transform/compile.c
 *		The normalised config becomes a plan of nodes; nodes compile to SQL.
 *
 * Pushdown: every node is a CTE, and each target's load is one statement
 * "WITH <ctes> <load> ... FROM <node>".  Staged: every node is first
 * materialised as a temporary table (CREATE TEMP TABLE ... AS), and later
 * nodes read the table.  A node asked for by options.materialize is
 * materialised in either engine.  Column lists come from PostgreSQL itself
 * (the node's query run with LIMIT 0), so every step checks its params
 * against the real columns of its input.
 *
 * Also the SQL-callable etl.compile_pipeline() and etl.preview().
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "parser/parser.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
#include "utils/varlena.h"

#include "connectors/connector.h"
#include "transform/transform.h"
#include "util/ident.h"

PG_FUNCTION_INFO_V1(metaetl_compile_pipeline);
PG_FUNCTION_INFO_V1(metaetl_preview);

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

MetaetlNode *
MetaetlFindNode(MetaetlPlan *plan, const char *id, bool missing_ok)
{
	ListCell   *lc;

	foreach(lc, plan->nodes)
	{
		MetaetlNode *n = lfirst(lc);

		if (strcmp(n->id, id) == 0)
			return n;
	}
	if (!missing_ok)
	{
		const char **cand = palloc(sizeof(char *) * (list_length(plan->nodes) + 1));
		int			k = 0;
		const char *near;

		foreach(lc, plan->nodes)
			cand[k++] = ((MetaetlNode *) lfirst(lc))->id;
		near = MetaetlNearest(id, cand, k, 3);
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("pipeline \"%s\": node \"%s\" does not exist", plan->pipeline_id, id),
				 errdetail("Inputs name an earlier source or transform id."),
				 near ? errhint("Did you mean \"%s\"?", near) : 0));
	}
	return NULL;
}

char *
MetaetlNodeRef(MetaetlPlan *plan, MetaetlNode *node)
{
	if (node->temp)
		return node->temp;
	return pstrdup(quote_identifier(node->id));
}

/* "WITH a AS (...), b AS (...) " for every CTE node up to and including upto */
char *
MetaetlWithPrefix(MetaetlPlan *plan, MetaetlNode *upto)
{
	StringInfoData b;
	ListCell   *lc;

	initStringInfo(&b);
	foreach(lc, plan->nodes)
	{
		MetaetlNode *n = lfirst(lc);

		if (n->body == NULL)
			break;
		if (n->temp == NULL)
			appendStringInfo(&b, "%s %s AS (\n  %s\n)", b.len ? "," : "WITH",
							 quote_identifier(n->id), n->body);
		if (n == upto)
			break;
	}
	if (b.len)
		appendStringInfoChar(&b, '\n');
	return b.data;
}

char *
MetaetlNodeQuery(MetaetlPlan *plan, MetaetlNode *node)
{
	if (node->temp)
		return psprintf("SELECT * FROM %s", node->temp);
	return psprintf("%sSELECT * FROM %s", MetaetlWithPrefix(plan, node),
					quote_identifier(node->id));
}

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
 * An error while a node is configured, compiled, described or materialised
 * names it in its context: "step "x" (filter)", "step "s" (source
 * postgresql)" — the orchestrator reads the step of a failed run from there.
 */
static void
node_errcontext(void *arg)
{
	MetaetlNode *n = arg;

	if (n->is_source)
		errcontext("step \"%s\" (source %s)", n->id ? n->id : "?", n->type ? n->type : "?");
	else
		errcontext("step \"%s\" (%s)", n->id ? n->id : "?", n->type ? n->type : "?");
}

static void
plan_add_node(MetaetlPlan *plan, MetaetlNode *n, const char *path)
{
	if (n->id == NULL || n->id[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("pipeline \"%s\": %s has no id", plan->pipeline_id, path)));
	if (MetaetlFindNode(plan, n->id, true) != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("pipeline \"%s\": id \"%s\" is used twice", plan->pipeline_id, n->id),
				 errdetail("Config path: %s.", path)));
	n->rows = -1;
	plan->nodes = lappend(plan->nodes, n);
}

static void
plan_count_consumer(MetaetlPlan *plan, MetaetlNode *from, const char *id)
{
	MetaetlNode *n = MetaetlFindNode(plan, id, true);

	if (n == NULL)
	{
		if (from != NULL)
			return;				/* a relation (join right), checked later */
		MetaetlFindNode(plan, id, false);
	}
	if (from != NULL && list_member_ptr(plan->nodes, n) &&
		list_length(plan->nodes) > 0)
	{
		/* inputs must come earlier than their consumer */
		ListCell   *lc;

		foreach(lc, plan->nodes)
		{
			if (lfirst(lc) == n)
				break;
			if (lfirst(lc) == from)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("pipeline \"%s\": step \"%s\" reads \"%s\", which comes later",
								plan->pipeline_id, from->id, id),
						 errhint("Order transforms so that each reads earlier nodes only.")));
		}
		if (n == from)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("pipeline \"%s\": step \"%s\" reads itself", plan->pipeline_id, id)));
	}
	n->consumers++;
}

/*
 * MetaetlBuildPlan
 *		Read a normalised config ({"pipeline": {...}}) into a plan.
 */
MetaetlPlan *
MetaetlBuildPlan(Jsonb *config, const char *engine_override, List *materialize)
{
	MetaetlPlan *plan = palloc0(sizeof(MetaetlPlan));
	JsonbContainer *root = &config->root;
	JsonbContainer *p = MetaetlJObj(root, "pipeline");
	JsonbContainer *arr;
	char	   *eng;
	ListCell   *lc;
	MetaetlNode *last = NULL;

	if (p == NULL)
		p = root;
	plan->pipeline_id = MetaetlJStr(p, "id");
	if (plan->pipeline_id == NULL)
		plan->pipeline_id = "(ad hoc)";
	plan->owner = GetUserId();
	eng = engine_override ? (char *) engine_override : MetaetlJStr(p, "engine");
	plan->engine = MetaetlParseEngine(eng ? eng : "auto", true);

	arr = MetaetlJObj(p, "sources");
	if (MetaetlJArrayLen(arr) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("pipeline \"%s\" has no sources", plan->pipeline_id),
				 errhint("Add at least one entry under sources.")));
	for (int i = 0; i < MetaetlJArrayLen(arr); i++)
	{
		JsonbValue *v = MetaetlJArrayAt(arr, i);
		MetaetlNode *n = palloc0(sizeof(MetaetlNode));

		if (v->type != jbvBinary)
			ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							errmsg("sources[%d] must be an object", i)));
		n->conf = v->val.binary.data;
		n->id = MetaetlJStr(n->conf, "id");
		n->type = MetaetlJStr(n->conf, "type");
		if (n->type == NULL)
			n->type = "postgresql";
		n->is_source = true;
		plan_add_node(plan, n, psprintf("sources[%d]", i));
		{
			ErrorContextCallback cb = {error_context_stack, node_errcontext, n};

			error_context_stack = &cb;
			MetaetlFindConnector(n->type, true, n->id);
			error_context_stack = cb.previous;
		}
		if (last == NULL)
			last = n;
	}
	arr = MetaetlJObj(p, "transforms");
	for (int i = 0; i < MetaetlJArrayLen(arr); i++)
	{
		JsonbValue *v = MetaetlJArrayAt(arr, i);
		MetaetlNode *n = palloc0(sizeof(MetaetlNode));

		if (v->type != jbvBinary)
			ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							errmsg("transforms[%d] must be an object", i)));
		n->conf = v->val.binary.data;
		n->id = MetaetlJStr(n->conf, "id");
		if (n->id == NULL)
			n->id = psprintf("step_%d", i + 1);
		n->type = MetaetlJStr(n->conf, "type");
		if (n->type == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("pipeline \"%s\": transform \"%s\" has no type", plan->pipeline_id, n->id)));
		n->params = MetaetlJObj(n->conf, "params");
		if (n->params == NULL)
			n->params = n->conf;	/* flat form: params next to type */
		n->input = MetaetlJStr(n->conf, "input");
		if (n->input == NULL)
			n->input = last->id;
		plan_add_node(plan, n, psprintf("transforms[%d]", i));
		last = n;
	}
	/* consumers: inputs, join right, union inputs, sql {{input.X}} */
	foreach(lc, plan->nodes)
	{
		MetaetlNode *n = lfirst(lc);

		if (n->is_source)
			continue;
		if (strcmp(n->type, "union") == 0 && MetaetlJGet(n->params, "inputs"))
		{
			ListCell   *lc2;

			foreach(lc2, MetaetlJStrList(n->params, "inputs", n->id))
				plan_count_consumer(plan, n, lfirst(lc2));
		}
		else
			plan_count_consumer(plan, n, n->input);
		if (strcmp(n->type, "join") == 0 && MetaetlJStr(n->params, "right"))
			plan_count_consumer(plan, n, MetaetlJStr(n->params, "right"));
	}

	arr = MetaetlJObj(p, "targets");
	for (int i = 0; i < MetaetlJArrayLen(arr); i++)
	{
		JsonbValue *v = MetaetlJArrayAt(arr, i);
		MetaetlTarget *t = palloc0(sizeof(MetaetlTarget));

		if (v->type != jbvBinary)
			ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							errmsg("targets[%d] must be an object", i)));
		t->conf = v->val.binary.data;
		t->id = MetaetlJStr(t->conf, "id");
		if (t->id == NULL)
			t->id = psprintf("target_%d", i + 1);
		t->type = MetaetlJStr(t->conf, "type");
		if (t->type == NULL)
			t->type = "postgresql";
		t->input = MetaetlJStr(t->conf, "input");
		if (t->input == NULL)
			t->input = last->id;
		t->mode = MetaetlJStr(t->conf, "mode");
		if (t->mode == NULL)
			t->mode = "replace";
		t->rows = -1;
		MetaetlFindConnector(t->type, false, t->id);
		plan_count_consumer(plan, NULL, t->input);
		plan->targets = lappend(plan->targets, t);
	}
	foreach(lc, materialize)
		MetaetlFindNode(plan, lfirst(lc), false)->materialize = true;
	return plan;
}

/*
 * MetaetlCompileNodes
 *		Give every node its SELECT, materialise the ones that must be, and
 *		describe each.  In describe-only mode temp tables are created empty.
 */
void
MetaetlCompileNodes(MetaetlPlan *plan)
{
	ListCell   *lc;

	foreach(lc, plan->nodes)
	{
		MetaetlNode *n = lfirst(lc);
		TimestampTz start = GetCurrentTimestamp();

		ErrorContextCallback cb = {error_context_stack, node_errcontext, n};

		CHECK_FOR_INTERRUPTS();
		error_context_stack = &cb;
		MetaetlPlanProgress(plan, n->is_source ? "extract" : "transform", n->is_source ? "source" : "step",
							n->id, foreach_current_index(lc) + 1, -1, 0, false);
		if (n->is_source)
			n->body = MetaetlFindConnector(n->type, true, n->id)->extract(plan, n);
		else
			n->body = MetaetlCompileStep(plan, n);

		if ((n->materialize && !plan->defer_materialize) || plan->engine == METAETL_ENGINE_STAGED)
		{
			char	   *q = MetaetlNodeQuery(plan, n);
			char	   *tmp = MetaetlNewTemp(plan, "stage");
			char	   *sql = psprintf("CREATE TEMP TABLE %s ON COMMIT DROP AS\n%s", tmp, q);

			n->temp = tmp;
			MetaetlScript(plan, sql);
			if (plan->describe_only)
				MetaetlExec(psprintf("%s\nWITH NO DATA", sql), SPI_OK_UTILITY);
			else
				n->rows = MetaetlExec(sql, SPI_OK_UTILITY);
			n->cols = MetaetlDescribe(psprintf("SELECT * FROM %s LIMIT 0", tmp));
		}
		else
			n->cols = MetaetlDescribe(psprintf("%s LIMIT 0", MetaetlNodeQuery(plan, n)));
		error_context_stack = cb.previous;
		n->ms = (double) (GetCurrentTimestamp() - start) / 1000.0;
		/* done only when it ran: otherwise it runs inside a target's load */
		if (n->temp != NULL && !plan->describe_only)
			MetaetlPlanProgress(plan, n->is_source ? "extract" : "transform", n->is_source ? "source" : "step",
								n->id, foreach_current_index(lc) + 1, n->rows, n->ms, true);
	}
}

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

/* materialise a compiled node now (CREATE TEMP TABLE AS its query) */
void
MetaetlMaterializeNode(MetaetlPlan *plan, MetaetlNode *n, const char *what)
{
	char	   *tmp;
	char	   *sql;

	ErrorContextCallback cb = {error_context_stack, node_errcontext, n};

	if (n->temp)
		return;
	tmp = MetaetlNewTemp(plan, what);
	sql = psprintf("CREATE TEMP TABLE %s ON COMMIT DROP AS\n%s", tmp, MetaetlNodeQuery(plan, n));
	MetaetlScript(plan, sql);
	error_context_stack = &cb;
	n->rows = MetaetlExec(sql, SPI_OK_UTILITY);
	error_context_stack = cb.previous;
	n->temp = tmp;
}

/* the whole SQL a run executes, as text */
char *
MetaetlPlanSql(MetaetlPlan *plan)
{
	return plan->script ? plan->script->data : "";
}

void
MetaetlScript(MetaetlPlan *plan, const char *sql)
{
	if (plan->script == NULL)
		plan->script = makeStringInfo();
	appendStringInfo(plan->script, "%s;\n", sql);
}

static MetaetlPlan *
plan_for_pipeline(const char *pipeline_id, bool describe_only, const char *engine)
{
	Datum		arg = CStringGetTextDatum(pipeline_id);
	Oid			argtype = TEXTOID;
	bool		isnull;
	Jsonb	   *config;
	Oid			owner;
	MetaetlPlan *plan;

	if (SPI_execute_with_args("SELECT config, (SELECT oid FROM pg_catalog.pg_roles r "
							  "WHERE r.rolname OPERATOR(pg_catalog.=) p.owner) "
							  "FROM etl.pipelines p WHERE pipeline_id OPERATOR(pg_catalog.=) $1",
							  1, &argtype, &arg, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read etl.pipelines");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("pipeline \"%s\" does not exist", pipeline_id),
				 errhint("Register it with etl.register_pipeline().")));
	config = DatumGetJsonbPCopy(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	owner = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	plan = MetaetlBuildPlan(config, engine, NIL);
	if (!isnull)
		plan->owner = owner;
	plan->describe_only = describe_only;
	return plan;
}

/* etl.compile_pipeline(pipeline_id text) → text */
Datum
metaetl_compile_pipeline(PG_FUNCTION_ARGS)
{
	char	   *id = text_to_cstring(PG_GETARG_TEXT_PP(0));
	MetaetlPlan *plan;
	StringInfoData out;
	ListCell   *lc;
	text	   *result;

	SPI_connect();
	plan = plan_for_pipeline(id, true, NULL);
	MetaetlChooseEngine(plan);
	MetaetlCompileNodes(plan);
	foreach(lc, plan->targets)
	{
		MetaetlTarget *t = lfirst(lc);
		MetaetlNode *n = MetaetlFindNode(plan, t->input, false);

		MetaetlFindConnector(t->type, false, t->id)->load(plan, t, MetaetlWithPrefix(plan, n),
														  MetaetlNodeRef(plan, n), n->cols);
		/* what the foreign data wrappers would send to remote servers */
		MetaetlRemoteExplain(plan, MetaetlWithPrefix(plan, n), MetaetlNodeRef(plan, n), n->cols);
	}
	initStringInfo(&out);
	appendStringInfo(&out, "-- pipeline %s: engine %s (%s)\n", quote_identifier(plan->pipeline_id),
					 MetaetlEngineName(plan->engine), plan->engine_reason);
	if (plan->engine == METAETL_ENGINE_PARALLEL)
		appendStringInfoString(&out, "-- at run time a source with split_key runs its leading steps in key-range "
							   "background workers; otherwise each target's input is built first by a "
							   "parallel-capable CREATE TEMP TABLE AS\n");
	appendStringInfoString(&out, MetaetlPlanSql(plan));
	result = DatumGetTextP(SPI_datumTransfer(PointerGetDatum(cstring_to_text(out.data)), false, -1));
	SPI_finish();
	PG_RETURN_TEXT_P(result);
}

/* etl.preview(pipeline_id text, step_id text, lim int DEFAULT 20) → SETOF jsonb */
Datum
metaetl_preview(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *id = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *step = text_to_cstring(PG_GETARG_TEXT_PP(1));
	int32		lim = PG_ARGISNULL(2) ? 20 : PG_GETARG_INT32(2);
	MetaetlPlan *plan;
	MetaetlNode *n;
	List	   *nodes;

	if (lim < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("lim must not be negative")));
	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	SPI_connect();
	plan = plan_for_pipeline(id, false, "pushdown");
	plan->engine_reason = "preview";
	n = MetaetlFindNode(plan, step, false);
	/* compile only what the step needs: the nodes up to it */
	nodes = plan->nodes;
	{
		ListCell   *lc;
		int			upto = 0;

		foreach(lc, nodes)
			if (lfirst(lc) == n)
				upto = foreach_current_index(lc);
		plan->nodes = list_copy_head(nodes, upto + 1);
	}
	MetaetlCompileNodes(plan);
	MetaetlExec(psprintf("%sSELECT pg_catalog.to_jsonb(metaetl_p) FROM %s metaetl_p LIMIT %d",
						 n->temp ? "" : MetaetlWithPrefix(plan, n), MetaetlNodeRef(plan, n), lim),
				SPI_OK_SELECT);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull);

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, &d, &isnull);
	}
	SPI_finish();
	return (Datum) 0;
}
