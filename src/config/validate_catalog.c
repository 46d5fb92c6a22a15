/*-------------------------------------------------------------------------
 *
 * src/config/validate_catalog.c
 *		Registration checks against the catalog: when the tables a pipeline
 *		reads exist, etl.validate_config and etl.register_pipeline compile it
 *		(as a run would, loading nothing) and report what the compiler finds
 *		— an unknown column in a filter, map, aggregate or join, an unknown
 *		function — as a problem at the step's YAML path, line and column,
 *		with the compiler's did-you-mean; then the columns quality rules
 *		name against the node each rule checks.
 *
 * Why compile rather than re-implement the checks: the transform compiler
 * (transform.h) is the one place that knows which columns each step sees;
 * a second copy here would drift from it.  The compile runs as the caller
 * (validate_config is not SECURITY DEFINER), with describe_only set, in a
 * subtransaction that is always rolled back, so nothing it does survives.
 *
 * Only errors that name a missing column or function, or a datatype
 * mismatch, become problems (42703, 42883, 42804), and quality rules naming
 * a column the node they check lacks; a table that does not exist yet
 * (42P01, or a source table) is a warning; anything else the compile meets
 * is the run's business and is not reported here.  Not compiled: pipelines with templates (their values come
 * from a run), sources with an incremental: block (checked by the
 * incremental engine at run time), sources of other connectors (files,
 * remote servers, HTTP),
 * whose columns are known only when a run reads them, and pipelines
 * reading a table that does not exist yet (warned about).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

#include "config/validate_int.h"
#include "quality/rules.h"
#include "transform/transform.h"

/* whether relation name (as written in the config) exists, for the caller */
static bool
vcat_table_exists(const char *name)
{
	Datum		arg = CStringGetTextDatum(name);
	Oid			argtype = TEXTOID;
	bool		found = false;
	bool		isnull;

	SPI_connect();
	if (SPI_execute_with_args("SELECT pg_catalog.to_regclass($1) IS NOT NULL", 1, &argtype, &arg,
							  NULL, true, 1) == SPI_OK_SELECT && SPI_processed == 1)
		found = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	return found;
}

/*
 * vcat_locate
 *		The original (written) node of the source, transform or target with
 *		this id, and its path; then, when param is given ("params.condition",
 *		"params.aggregates[0].column"), the node under it as far as the
 *		written text has it (agg_functions are normalised into aggregates:
 *		such a problem points at the step's params).
 */
static const CfgNode *
vcat_locate(const CfgNode *pipeline, const char *id, const char *param, char **path)
{
	static const char *const lists[] = {"sources", "transforms", "targets"};
	const CfgNode *at = NULL;

	for (int l = 0; l < 3 && at == NULL; l++)
	{
		const CfgNode *seq = CfgMapGet(pipeline, lists[l]);

		for (int i = 0; seq && seq->kind == CFG_SEQ && i < seq->n; i++)
		{
			const CfgNode *it = seq->items[i];
			const CfgNode *idn = it->kind == CFG_MAP ? CfgMapGet(it, "id") : NULL;

			if (idn && idn->kind == CFG_STRING && strcmp(idn->str, id) == 0)
			{
				at = it;
				*path = psprintf("pipeline.%s[%d]", lists[l], i);
				break;
			}
		}
	}
	if (at == NULL || param == NULL)
		return at;
	{
		char	   *p = pstrdup(param);
		char	   *tok = p;

		while (tok && *tok)
		{
			char	   *dot = strpbrk(tok, ".[");
			char		sep = dot ? *dot : '\0';
			const CfgNode *next = NULL;

			if (dot)
				*dot = '\0';
			if (*tok && at->kind == CFG_MAP)
				next = CfgMapGet(at, tok);
			if (*tok && next == NULL)
				break;
			if (*tok)
			{
				*path = cfgv_path(*path, tok);
				at = next;
			}
			tok = dot ? dot + 1 : NULL;
			if (sep == '[' && tok)
			{
				int			i = atoi(tok);

				if (at->kind != CFG_SEQ || i < 0 || i >= at->n)
					break;
				*path = cfgv_idx(*path, i);
				at = at->items[i];
				tok = strchr(tok, ']');
				if (tok)
					tok += (tok[1] == '.') ? 2 : 1;
			}
		}
	}
	return at;
}

/* "Config path: step "x", params.condition. Input ..." → "params.condition" */
static char *
vcat_param(const char *detail)
{
	const char *p = detail ? strstr(detail, "Config path: ") : NULL;
	const char *start,
			   *end;

	if (p == NULL || (p = strstr(p, "\", ")) == NULL)
		return NULL;
	start = p + 3;
	for (end = start; *end && !(*end == '.' && (end[1] == ' ' || end[1] == '\0')); end++)
		;
	return end > start ? pnstrdup(start, end - start) : NULL;
}

/* the node id of "step "x"" or "source "x"" in the message or context */
static char *
vcat_node(const ErrorData *ed)
{
	const char *fields[2] = {ed->message, ed->context};
	static const char *const kinds[] = {"step \"", "source \""};

	for (int f = 0; f < 2; f++)
		for (int k = 0; k < 2; k++)
		{
			const char *p = fields[f] ? strstr(fields[f], kinds[k]) : NULL;

			if (p)
			{
				const char *start = p + strlen(kinds[k]);
				const char *end = strchr(start, '"');

				if (end)
				{
					/* "seg (right side fd.customers)": the node is seg */
					const char *paren = strstr(start, " (");

					if (paren && paren < end)
						end = paren;
					return pnstrdup(start, end - start);
				}
			}
		}
	return NULL;
}

/* a warning that an object does not exist yet (register_pipeline: a NOTICE) */
static void
vcat_not_yet(VCtx *c, const char *path, const CfgNode *at, const char *what)
{
	int			n = list_length(c->v->problems);

	cfgv_warn(c, path, at, "%s: the columns the pipeline uses are checked when it exists (a run fails if it is still missing)",
			  what);
	if (list_length(c->v->problems) > n)
		((CfgProblem *) llast(c->v->problems))->not_yet = true;
}

/* the written node pipeline.<list>[i].<key>, or NULL */
static const CfgNode *
vcat_written(const CfgNode *pipeline, const char *list, int i, const char *key)
{
	const CfgNode *seq = CfgMapGet(pipeline, list);
	const CfgNode *it;

	if (seq == NULL || seq->kind != CFG_SEQ || i >= seq->n)
		return NULL;
	it = seq->items[i];
	if (it->kind != CFG_MAP)
		return it;
	return CfgMapGet(it, key) ? CfgMapGet(it, key) : it;
}

/* the written node of quality.rules[i].key (its item'th element), or NULL */
static const CfgNode *
vcat_written_rule(const CfgNode *pipeline, int i, const char *key, int item)
{
	const CfgNode *q = CfgMapGet(pipeline, "quality");
	const CfgNode *n;

	if (q == NULL || q->kind != CFG_MAP)
		return NULL;
	n = vcat_written(q, "rules", i, key);
	if (n && item >= 0 && n->kind == CFG_SEQ && item < n->n)
		return n->items[item];
	return n;
}

/* a quality rule's column the node it checks lacks */
typedef struct VRuleProblem
{
	int			rule;
	const char *key;			/* column, columns, order_by */
	int			item;			/* in a columns list, or -1 */
	char	   *message;
} VRuleProblem;

/*
 * vcat_rule_columns
 *		The rules of the normalised pipeline p whose column or columns name
 *		a column the node they check (on:, a target's input for a target id)
 *		does not have, with a did-you-mean over its columns.  Rules that
 *		check the dataset's shape (schema, columns, column_count,
 *		column_types) name columns that may be missing on purpose; their
 *		failure is the rule's result, not a config error.
 */
static List *
vcat_rule_columns(MetaetlPlan *plan, const CfgNode *p)
{
	const CfgNode *q = CfgMapGet(p, "quality");
	const CfgNode *rules = q && q->kind == CFG_MAP ? CfgMapGet(q, "rules") : NULL;
	List	   *out = NIL;

	for (int i = 0; rules && rules->kind == CFG_SEQ && i < rules->n; i++)
	{
		const CfgNode *r = rules->items[i];
		const CfgNode *type = r->kind == CFG_MAP ? CfgMapGet(r, "type") : NULL;
		const CfgNode *on = r->kind == CFG_MAP ? CfgMapGet(r, "on") : NULL;
		const QualityRuleKind *kind;
		MetaetlNode *node;
		static const char *const keys[] = {"column", "columns"};
		const char **names;
		int			nnames = 0;
		ListCell   *lc;

		if (type == NULL || type->kind != CFG_STRING || on == NULL || on->kind != CFG_STRING ||
			(kind = QualityRuleKindLookup(type->str)) == NULL ||
			kind->eval == QE_SHAPE || kind->eval == QE_QUERY)
			continue;
		node = MetaetlFindNode(plan, on->str, true);
		foreach(lc, node ? NIL : plan->targets)
		{
			MetaetlTarget *t = lfirst(lc);

			if (strcmp(t->id, on->str) == 0 && t->input)
				node = MetaetlFindNode(plan, t->input, true);
		}
		if (node == NULL || node->cols == NIL)
			continue;
		names = palloc(sizeof(char *) * list_length(node->cols));
		foreach(lc, node->cols)
			names[nnames++] = ((MetaetlColumn *) lfirst(lc))->name;
		for (int k = 0; k < 2; k++)
		{
			const CfgNode *v = CfgMapGet(r, keys[k]);

			for (int j = 0; v && j < (v->kind == CFG_SEQ ? v->n : 1); j++)
			{
				const CfgNode *col = v->kind == CFG_SEQ ? v->items[j] : v;
				bool		found = false;
				VRuleProblem *rp;

				if (col->kind != CFG_STRING)
					continue;
				for (int n = 0; n < nnames; n++)
					found |= strcmp(names[n], col->str) == 0;
				if (found)
					continue;
				rp = palloc0(sizeof(VRuleProblem));
				rp->rule = i;
				rp->key = keys[k];
				rp->item = v->kind == CFG_SEQ ? j : -1;
				rp->message = psprintf("%s rule: column \"%s\" does not exist in \"%s\" (its columns: %s)%s",
									   type->str, col->str, on->str, cfgv_list(names, nnames),
									   cfgv_suggest(col->str, names, nnames));
				out = lappend(out, rp);
			}
		}
	}
	return out;
}

/*
 * cfgv_catalog
 *		Compile the normalised pipeline when every source is a table or query
 *		of this database whose tables exist; report the first catalog error.
 *		pipeline is the written pipeline mapping (for paths and positions).
 */
void
cfgv_catalog(VCtx *c, const CfgNode *pipeline, CfgNode *normalized)
{
	const CfgNode *p = CfgMapGet(normalized, "pipeline");
	const CfgNode *sources = p ? CfgMapGet(p, "sources") : NULL;
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	ListCell   *lc;
	ErrorData  *ed = NULL;
	Jsonb	   *config;
	bool		missing = false;
	List	   *rule_problems = NIL;

	if (sources == NULL || sources->kind != CFG_SEQ)
		return;
	/* a table that does not exist yet: a warning (it may be created before the first run) */
	for (int i = 0; i < sources->n; i++)
	{
		const CfgNode *s = sources->items[i];
		const CfgNode *type = CfgMapGet(s, "type");
		const CfgNode *conn = CfgMapGet(s, "connection");
		const CfgNode *table = CfgMapGet(s, "table");

		if (type && type->kind == CFG_STRING && strcmp(type->str, "postgresql") == 0 &&
			!(conn && conn->kind == CFG_STRING) && table && table->kind == CFG_STRING &&
			strstr(table->str, "{{") == NULL && !vcat_table_exists(table->str))
		{
			char	   *path = psprintf("pipeline.sources[%d].table", i);
			const CfgNode *at = vcat_written(pipeline, "sources", i, "table");

			missing = true;
			vcat_not_yet(c, path, at ? at : pipeline, psprintf("table %s does not exist yet", table->str));
		}
	}
	if (missing)
		return;
	for (int i = 0; i < sources->n; i++)
	{
		const CfgNode *s = sources->items[i];
		const CfgNode *type = CfgMapGet(s, "type");
		const CfgNode *conn = CfgMapGet(s, "connection");
		const CfgNode *table = CfgMapGet(s, "table");

		if (type == NULL || type->kind != CFG_STRING || strcmp(type->str, "postgresql") != 0 ||
			(conn && conn->kind == CFG_STRING))
			return;				/* columns known only when a run reads them */
		if (CfgMapGet(s, "incremental"))
			return;				/* the incremental engine checks its source at run time */
		if (table && table->kind == CFG_STRING && !vcat_table_exists(table->str))
			return;				/* not created yet: checked when it exists */
	}

	config = MetaetlTreeToJsonb(normalized);
	/* templates take their values from a run ({{last_run}}, params): checked then */
	if (strstr(JsonbToCString(NULL, &config->root, VARSIZE(config)), "{{") != NULL)
		return;
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);
	PG_TRY();
	{
		MetaetlPlan *plan;

		SPI_connect();
		plan = MetaetlBuildPlan(config, "pushdown", NIL);
		plan->describe_only = true;
		MetaetlChooseEngine(plan);
		MetaetlCompileNodes(plan);
		rule_problems = vcat_rule_columns(plan, p);
		SPI_finish();
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(oldcxt);
		ed = CopyErrorData();
		FlushErrorState();
	}
	PG_END_TRY();
	/* nothing the compile did is kept, whether it failed or not */
	RollbackAndReleaseCurrentSubTransaction();
	MemoryContextSwitchTo(oldcxt);
	CurrentResourceOwner = oldowner;

	/*
	 * Only an unknown column or function, or a datatype mismatch: a table a
	 * query names that does not exist yet (42P01) is a warning; one the
	 * caller may not read (the owner may), a slot not created yet, are the
	 * run's business.
	 */
	if (ed && (ed->sqlerrcode == ERRCODE_UNDEFINED_COLUMN || ed->sqlerrcode == ERRCODE_UNDEFINED_FUNCTION ||
			   ed->sqlerrcode == ERRCODE_DATATYPE_MISMATCH))
	{
		char	   *node = vcat_node(ed);
		char	   *path = pstrdup("pipeline");
		const CfgNode *at = node ? vcat_locate(pipeline, node, vcat_param(ed->detail), &path) : NULL;

		cfgv_error(c, path, at ? at : pipeline, "%s%s%s", ed->message,
				   ed->hint ? ". " : "", ed->hint ? ed->hint : "");
	}
	else if (ed && ed->sqlerrcode == ERRCODE_UNDEFINED_TABLE)
	{
		/* a table a query or join names that does not exist yet: a warning */
		char	   *node = vcat_node(ed);
		char	   *path = pstrdup("pipeline");
		const CfgNode *at = node ? vcat_locate(pipeline, node, vcat_param(ed->detail), &path) : NULL;

		vcat_not_yet(c, path, at ? at : pipeline, ed->message);
	}
	if (ed)
		FreeErrorData(ed);
	/* quality rules naming a column the node they check does not have */
	foreach(lc, rule_problems)
	{
		VRuleProblem *rp = lfirst(lc);
		char	   *path = psprintf("pipeline.quality.rules[%d].%s", rp->rule, rp->key);
		const CfgNode *at = vcat_written_rule(pipeline, rp->rule, rp->key, rp->item);

		if (rp->item >= 0)
			path = cfgv_idx(path, rp->item);
		cfgv_error(c, path, at ? at : pipeline, "%s", rp->message);
	}
}
