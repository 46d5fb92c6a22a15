/*-------------------------------------------------------------------------
 *
 * src/transform/plan.c
 *		The normalised pipeline config becomes a plan: nodes and targets.
 *
 * MetaetlBuildPlan reads {"pipeline": {...}} into a MetaetlPlan: sources,
 * then transforms, in config order (each transform reads the one before it
 * unless it names an input), then targets.  It checks what can be checked
 * without running anything: ids are present and unique, inputs name earlier
 * nodes, every source and target type is one the connector registry knows.
 * It compiles nothing: transform/compile.c gives each node its SQL.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/jsonb.h"

#include "connectors/connector.h"
#include "transform/transform.h"
#include "util/ident.h"

/*
 * The node with id, or NULL with missing_ok; otherwise an error naming the
 * pipeline with the nearest id, since a misspelt input is the usual cause.
 */
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

/*
 * An error while a node is configured, compiled, described or materialised
 * names it in its context: "step "x" (filter)", "step "s" (source
 * postgresql)" — the orchestrator reads the step of a failed run from there.
 */
void
MetaetlNodeErrorContext(void *arg)
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
			ErrorContextCallback cb = {error_context_stack, MetaetlNodeErrorContext, n};

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
