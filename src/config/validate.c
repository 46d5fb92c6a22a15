/*-------------------------------------------------------------------------
 *
 * src/config/validate.c
 *		Validate a pipeline configuration and build its normalised form.
 *
 * One walk over the parsed tree (src/config/yaml.c) collects EVERY problem
 * with its path (pipeline.transforms[0].params.condition, 0-based indexes),
 * line and column, and at the same time builds the normalised config of
 * docs/configuration.md, "The normalised form": defaults filled in, aliases resolved, pandas-style
 * expressions rewritten, environment overrides (metaetl.environment) merged.
 * After the walk the data flow is checked as a graph: dangling inputs,
 * cycles, and steps that reach no target.
 *
 * Lookups in the database (connections, time zone names) use SPI; SQL
 * fragments are checked by src/config/expr.c.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/json.h"

#include "config/validate_int.h"
#include "connectors/connector.h"
#include "metaetl.h"
#include "quality/rules.h"
#include "util/ident.h"

static const char *const engines[] = {"auto", "pushdown", "staged", "parallel"};
static const char *const target_modes[] = {"replace", "append", "upsert", "delete_insert", "scd2", "merge_changes"};
static const char *const concurrencies[] = {"skip", "queue", "allow"};

/* ---------------------------------------------------------- environments */

static CfgNode *cfgv_merge(VCtx *c, CfgNode *base, CfgNode *over);


static CfgNode *
vmerge_seq(VCtx *c, CfgNode *base, CfgNode *over)
{
	/* lists of mappings with ids merge by id; other lists are replaced */
	CfgNode    *out;

	if ((double) base->n * over->n > 1e6)
		return over;			/* too long to merge by id */

	for (int i = 0; i < base->n; i++)
		if (base->items[i]->kind != CFG_MAP || !CfgMapGet(base->items[i], "id"))
			return over;
	for (int i = 0; i < over->n; i++)
		if (over->items[i]->kind != CFG_MAP || !CfgMapGet(over->items[i], "id"))
			return over;
	out = cfgv_need(CfgNewNode(c->arena, CFG_SEQ, over->line, over->col));
	for (int i = 0; i < base->n; i++)
	{
		CfgNode    *b = base->items[i];
		CfgNode    *bid = CfgMapGet(b, "id");
		CfgNode    *m = b;

		for (int j = 0; j < over->n; j++)
		{
			CfgNode    *oid = CfgMapGet(over->items[j], "id");

			if (oid->kind == CFG_STRING && bid->kind == CFG_STRING && strcmp(oid->str, bid->str) == 0)
				m = cfgv_merge(c, b, over->items[j]);
		}
		cfgv_append(c, out, m);
	}
	for (int j = 0; j < over->n; j++)
	{
		CfgNode    *oid = CfgMapGet(over->items[j], "id");
		bool		found = false;

		for (int i = 0; i < base->n; i++)
		{
			CfgNode    *bid = CfgMapGet(base->items[i], "id");

			if (oid->kind == CFG_STRING && bid->kind == CFG_STRING && strcmp(oid->str, bid->str) == 0)
				found = true;
		}
		if (!found)
			cfgv_append(c, out, over->items[j]);
	}
	return out;
}

/*
 * Merge an override (an environment's section) into base: mappings key by
 * key, recursively, sequences by item id (vmerge_seq), anything else
 * replaced.  Recursion depth follows the config's nesting, hence the stack
 * check.
 */
static CfgNode *
cfgv_merge(VCtx *c, CfgNode *base, CfgNode *over)
{
	CfgNode    *out;

	check_stack_depth();
	if (base->kind == CFG_SEQ && over->kind == CFG_SEQ)
		return vmerge_seq(c, base, over);
	if (base->kind != CFG_MAP || over->kind != CFG_MAP)
		return over;
	out = cfgv_need(CfgNewNode(c->arena, CFG_MAP, base->line, base->col));
	for (int i = 0; i < base->n; i++)
	{
		CfgNode    *o = CfgMapGet(over, base->pairs[i].key->str);

		if (!CfgMapAppend(c->arena, out, base->pairs[i].key,
						  o ? cfgv_merge(c, base->pairs[i].value, o) : base->pairs[i].value))
			cfgv_need(NULL);
	}
	for (int i = 0; i < over->n; i++)
		if (!CfgMapGetPair(base, over->pairs[i].key->str))
			if (!CfgMapAppend(c->arena, out, over->pairs[i].key, over->pairs[i].value))
				cfgv_need(NULL);
	return out;
}

/* ------------------------------------------------------------- sections */

bool
cfgv_register_id(VCtx *c, const char *id, const char *path, const CfgNode *at)
{
	ListCell   *lc1,
			   *lc2;

	forboth(lc1, c->id_names, lc2, c->ids)
	{
		if (strcmp((char *) lfirst(lc1), id) == 0)
		{
			cfgv_error(c, path, at, "id \"%s\" is already used by %s", id, (char *) lfirst(lc2));
			return false;
		}
	}
	c->id_names = lappend(c->id_names, pstrdup(id));
	c->ids = lappend(c->ids, pstrdup(path));
	return true;
}

/* a dependency to check once the whole config is read: name at path, for the report */
VDep *
cfgv_dep(const char *name, const char *path, const CfgNode *at)
{
	VDep	   *d = palloc0(sizeof(VDep));

	d->name = pstrdup(name);
	d->path = pstrdup(path);
	d->at = at;
	return d;
}

/*
 * vsource_incremental
 *		Why a source reads only what changed since the last run, or NULL: a
 *		{{last_run}} or {{watermark}} template in one of its strings, or a
 *		watermark_column.  Not an incremental: block: the incremental
 *		engine replaces only the groups that changed (incremental/).
 */
static const char *
vsource_incremental(const CfgNode *s)
{
	if (CfgMapGet(s, "watermark_column"))
		return "has a watermark_column";
	for (int i = 0; i < s->n; i++)
	{
		const CfgNode *v = s->pairs[i].value;
		CfgTemplateRef refs[16];
		char		err[128];
		int			n;

		if (v->kind != CFG_STRING || strstr(v->str, "{{") == NULL)
			continue;
		n = CfgTemplateScan(v->str, refs, lengthof(refs), err, sizeof(err));
		for (int j = 0; j < n; j++)
			if (strcmp(refs[j].name, "last_run") == 0 || strcmp(refs[j].name, "watermark") == 0)
				return psprintf("reads only rows changed since the last run ({{%s}} in %s)",
								refs[j].name, s->pairs[i].key->str);
	}
	return NULL;
}

/* keys every source may have, whatever its type; the rest belong to its connector */
static const char *const source_common[] = {"id", "type", "connection", "watermark_column",
"description", "retry", "incremental"};

static CfgNode *
vsource(VCtx *c, const CfgNode *s, const char *path)
{
	CfgNode    *out = cfgv_map(c);
	CfgNode    *n;
	const char *id = NULL;
	const MetaetlConnector *conn = NULL;
	VNode	   *node;

	if (!cfgv_is_map(c, s, path, "a source"))
		return NULL;
	cfgv_keys(c, s, path, NULL, 0, false);	/* duplicates */
	if ((n = cfgv_get(c, s, path, "id", true)) && (id = cfgv_id(c, n, cfgv_path(path, "id"))))
	{
		if (!cfgv_register_id(c, id, cfgv_path(path, "id"), n))
			id = NULL;			/* reported; keep it out of the graph */
		cfgv_put(c, out, "id", (CfgNode *) n);
	}
	if ((n = cfgv_get(c, s, path, "type", true)) &&
		(conn = cfgv_connector_type(c, n, cfgv_path(path, "type"), true)))
		cfgv_put(c, out, "type", n);
	if ((n = cfgv_get(c, s, path, "connection", false)))
	{
		cfgv_connection(c, n, cfgv_path(path, "connection"), true);
		cfgv_put(c, out, "connection", n);
	}
	if (conn)
	{
		cfgv_connector_keys(c, s, path, conn->source_keys, source_common, lengthof_arr(source_common),
							out, psprintf("%s %s source", cfgv_article(CfgMapGet(s, "type")->str), CfgMapGet(s, "type")->str));
		cfgv_connector_check(c, conn, s, path, CfgMapGet(s, "type")->str, true);
	}
	if ((n = cfgv_get(c, s, path, "watermark_column", false)) && cfgv_string(c, n, cfgv_path(path, "watermark_column")))
		cfgv_put(c, out, "watermark_column", n);
	/* incremental: {mode: ...} (incremental/validate.c) */
	if ((n = cfgv_get(c, s, path, "incremental", false)) &&
		(n = cfgv_incremental(c, s, n, cfgv_path(path, "incremental"))))
		cfgv_put(c, out, "incremental", n);
	if ((n = cfgv_get(c, s, path, "description", false)))
		cfgv_put(c, out, "description", n);
	/* a source's own retry policy (the orchestrator applies it to errors of this source) */
	if ((n = cfgv_get(c, s, path, "retry", false)))
		cfgv_put(c, out, "retry", cfgv_retry(c, n, cfgv_path(path, "retry")));

	if (id)
	{
		node = palloc0(sizeof(VNode));
		node->incremental = vsource_incremental(s);
		node->id = pstrdup(id);
		node->is_source = true;
		node->path = pstrdup(path);
		node->at = s;
		c->nodes = lappend(c->nodes, node);
		if (c->first_source == NULL)
			c->first_source = node->id;
		c->prev_node = node->id;
	}
	return out;
}

/* keys every target may have, whatever its type; the rest belong to its connector */
static const char *const target_common[] = {"id", "type", "connection", "input", "mode", "keys",
"create", "tracked_columns", "description", "retry", "deletes", "soft_delete_column", "conflict",
"conflict_column", "fillfactor"};

static CfgNode *
vtarget(VCtx *c, const CfgNode *t, const char *path, const char *default_input, int nsources)
{
	CfgNode    *out = cfgv_map(c);
	CfgNode    *n;
	const char *id;
	const MetaetlConnector *conn = NULL;
	const char *mode = "replace";
	CfgNode    *keysn = NULL;

	if (!cfgv_is_map(c, t, path, "a target"))
		return NULL;
	cfgv_keys(c, t, path, NULL, 0, false);	/* duplicates */
	if ((n = cfgv_get(c, t, path, "id", true)) && (id = cfgv_id(c, n, cfgv_path(path, "id"))))
	{
		cfgv_register_id(c, id, cfgv_path(path, "id"), n);
		cfgv_put(c, out, "id", n);
	}
	if ((n = cfgv_get(c, t, path, "type", true)) &&
		(conn = cfgv_connector_type(c, n, cfgv_path(path, "type"), false)))
		cfgv_put(c, out, "type", n);
	if ((n = cfgv_get(c, t, path, "connection", false)))
	{
		cfgv_connection(c, n, cfgv_path(path, "connection"), false);
		cfgv_put(c, out, "connection", n);
	}
	if (conn)
	{
		cfgv_connector_keys(c, t, path, conn->target_keys, target_common, lengthof_arr(target_common),
							out, psprintf("%s %s target", cfgv_article(CfgMapGet(t, "type")->str), CfgMapGet(t, "type")->str));
		cfgv_connector_check(c, conn, t, path, CfgMapGet(t, "type")->str, false);
	}
	if ((n = cfgv_get(c, t, path, "input", false)))
	{
		if (cfgv_id(c, n, cfgv_path(path, "input")))
		{
			c->target_deps = lappend(c->target_deps, cfgv_dep(n->str, cfgv_path(path, "input"), n));
			cfgv_put(c, out, "input", n);
		}
	}
	else if (default_input && (nsources == 1 || strcmp(default_input, c->first_source ? c->first_source : "") != 0))
	{
		c->target_deps = lappend(c->target_deps, cfgv_dep(default_input, cfgv_path(path, "input"), t));
		cfgv_put(c, out, "input", cfgv_str(c, default_input));
	}
	else if (default_input)
		cfgv_error(c, cfgv_path(path, "input"), t, "input is required: the pipeline has several sources and no transforms");
	if ((n = cfgv_get(c, t, path, "mode", false)))
		mode = cfgv_enum(c, n, cfgv_path(path, "mode"), "target mode", target_modes, lengthof_arr(target_modes));
	if (mode && conn && conn->target_modes)
	{
		bool		supported = false;

		for (const char *const *m = conn->target_modes; *m; m++)
			supported |= strcmp(*m, mode) == 0;
		if (!supported)
			cfgv_error(c, cfgv_path(path, "mode"), n ? n : t, "%s %s target does not support mode %s (supported: %s)",
					   cfgv_article(CfgMapGet(t, "type")->str), CfgMapGet(t, "type")->str, mode, cfgv_list(conn->target_modes, -1));
	}
	if (mode)
		cfgv_put(c, out, "mode", cfgv_str(c, mode));
	{
		/* recreate and sync_all_columns would lose the rows of other modes */
		const CfgNode *osc = CfgMapGet(t, "on_schema_change");

		if (mode && strcmp(mode, "replace") != 0 && osc && osc->kind == CFG_STRING &&
			(strcmp(osc->str, "recreate") == 0 || strcmp(osc->str, "sync_all_columns") == 0))
			cfgv_error(c, cfgv_path(path, "on_schema_change"), osc,
					   "on_schema_change %s needs mode replace: with mode %s it would lose the table's rows (use append_new_columns or fail)",
					   osc->str, mode);
	}
	if (mode && strcmp(mode, "replace") == 0 && CfgMapGet(out, "input") && CfgMapGet(out, "id"))
	{
		VReplace   *r = palloc0(sizeof(VReplace));

		r->id = pstrdup(CfgMapGet(out, "id")->str);
		r->input = pstrdup(CfgMapGet(out, "input")->str);
		r->mode_given = n != NULL;
		r->path = n ? cfgv_path(path, "mode") : pstrdup(path);
		r->at = n ? n : t;
		c->replace_targets = lappend(c->replace_targets, r);
	}
	if ((n = cfgv_get(c, t, path, "keys", false)))
		keysn = cfgv_strlist(c, n, cfgv_path(path, "keys"), false);
	cfgv_put(c, out, "keys", keysn ? keysn : cfgv_seq(c));
	if (mode && (strcmp(mode, "upsert") == 0 || strcmp(mode, "delete_insert") == 0 || strcmp(mode, "scd2") == 0) &&
		(keysn == NULL || keysn->n == 0) && !(n && !keysn))
		cfgv_error(c, cfgv_path(path, "keys"), t, "mode %s needs keys", mode);
	/* merge_changes: deletes and conflict policies (incremental/validate.c) */
	cfgv_merge_target(c, t, path, mode, keysn, out);
	if ((n = cfgv_get(c, t, path, "create", false)))
	{
		if (cfgv_boolean(c, n, cfgv_path(path, "create")))
			cfgv_put(c, out, "create", n);
	}
	else
		cfgv_put(c, out, "create", cfgv_bool(c, true));
	if ((n = cfgv_get(c, t, path, "tracked_columns", false)))
	{
		CfgNode    *l = cfgv_strlist(c, n, cfgv_path(path, "tracked_columns"), true);

		if (l)
			cfgv_put(c, out, "tracked_columns", l);
		if (mode && strcmp(mode, "scd2") != 0)
			cfgv_warn(c, cfgv_path(path, "tracked_columns"), n, "tracked_columns is used only by mode scd2");
	}
	if ((n = cfgv_get(c, t, path, "description", false)))
		cfgv_put(c, out, "description", n);
	/* a step's own retry policy (the orchestrator applies it to errors of this step) */
	if ((n = cfgv_get(c, t, path, "retry", false)))
		cfgv_put(c, out, "retry", cfgv_retry(c, n, cfgv_path(path, "retry")));
	return out;
}

/* ------------------------------------------------------------------ graph */

static VNode *
vfind(VCtx *c, const char *id)
{
	ListCell   *lc;

	foreach(lc, c->nodes)
	{
		VNode	   *n = lfirst(lc);

		if (strcmp(n->id, id) == 0)
			return n;
	}
	return NULL;
}

static void
vdangling(VCtx *c, VDep *d, const char *what)
{
	const char **names = palloc(sizeof(char *) * (list_length(c->nodes) + 1));
	int			n = 0;
	ListCell   *lc;

	foreach(lc, c->nodes)
		names[n++] = ((VNode *) lfirst(lc))->id;
	cfgv_error(c, d->path, d->at, "%s \"%s\" names no source or transform%s", what, d->name,
		   cfgv_suggest(d->name, names, n));
}

/* DFS from n; reports a cycle once, at the edge that closes it */
static bool
vcycle(VCtx *c, VNode *n, List **stack)
{
	ListCell   *lc;

	check_stack_depth();
	n->state = 1;
	*stack = lappend(*stack, n);
	foreach(lc, n->deps)
	{
		VDep	   *d = lfirst(lc);
		VNode	   *m = vfind(c, d->name);

		if (m == NULL)
			continue;
		if (m->state == 1)
		{
			StringInfoData buf;
			bool		on = false;
			ListCell   *lc2;

			initStringInfo(&buf);
			foreach(lc2, *stack)
			{
				VNode	   *s = lfirst(lc2);

				if (s == m)
					on = true;
				if (on)
					appendStringInfo(&buf, "%s -> ", s->id);
			}
			appendStringInfoString(&buf, m->id);
			cfgv_error(c, d->path, d->at, "the data flow has a cycle: %s", buf.data);
			n->state = 2;
			*stack = list_delete_last(*stack);
			return true;
		}
		if (m->state == 0 && vcycle(c, m, stack))
		{
			n->state = 2;
			*stack = list_delete_last(*stack);
			return true;
		}
	}
	n->state = 2;
	*stack = list_delete_last(*stack);
	return false;
}

static void
vreach(VCtx *c, VNode *n)
{
	ListCell   *lc;

	check_stack_depth();
	if (n->reaches)
		return;
	n->reaches = true;
	foreach(lc, n->deps)
	{
		VNode	   *m = vfind(c, ((VDep *) lfirst(lc))->name);

		if (m)
			vreach(c, m);
	}
}

static void
vgraph(VCtx *c)
{
	ListCell   *lc,
			   *lc2;
	bool		cyclic = false;
	bool		dangling = false;

	foreach(lc, c->nodes)
		foreach(lc2, ((VNode *) lfirst(lc))->deps)
			if (!vfind(c, ((VDep *) lfirst(lc2))->name) && !((VDep *) lfirst(lc2))->maybe_relation)
			{
				vdangling(c, lfirst(lc2), "input");
				dangling = true;
			}
	foreach(lc, c->target_deps)
		if (!vfind(c, ((VDep *) lfirst(lc))->name))
		{
			vdangling(c, lfirst(lc), "input");
			dangling = true;
		}
	foreach(lc, c->rule_refs)
		if (!vfind(c, ((VDep *) lfirst(lc))->name))
			vdangling(c, lfirst(lc), "on");
	foreach(lc, c->nodes)
	{
		VNode	   *n = lfirst(lc);
		List	   *stack = NIL;

		if (n->state == 0 && vcycle(c, n, &stack))
			cyclic = true;
	}
	if (cyclic || dangling)
		return;				/* reachability would only repeat these */
	foreach(lc, c->target_deps)
	{
		VNode	   *m = vfind(c, ((VDep *) lfirst(lc))->name);

		if (m)
			vreach(c, m);
	}
	if (c->target_deps == NIL)
		return;
	foreach(lc, c->nodes)
	{
		VNode	   *n = lfirst(lc);

		if (!n->reaches)
			cfgv_error(c, cfgv_path(n->path, "id"), n->at, "%s \"%s\" does not feed any target: remove it or use it as an input",
				   n->is_source ? "source" : "transform", n->id);
	}
}

/* the first incremental source node n reads from, or NULL */
static VNode *
vincremental_source(VCtx *c, VNode *n, int depth)
{
	ListCell   *lc;

	if (n == NULL || depth > MAX_ITEMS)
		return NULL;
	if (n->is_source)
		return n->incremental ? n : NULL;
	foreach(lc, n->deps)
	{
		VNode	   *s = vincremental_source(c, vfind(c, ((VDep *) lfirst(lc))->name), depth + 1);

		if (s)
			return s;
	}
	return NULL;
}

/*
 * vreplace_incremental
 *		Warn when a target in mode replace loads rows of an incremental
 *		source: the second run would replace the table with only the rows
 *		changed since the first (the original example's customer_summary
 *		emptied on its second run).
 */
static void
vreplace_incremental(VCtx *c)
{
	ListCell   *lc;

	foreach(lc, c->replace_targets)
	{
		VReplace   *r = lfirst(lc);
		VNode	   *s = vincremental_source(c, vfind(c, r->input), 0);

		if (s == NULL)
			continue;
		cfgv_warn(c, r->path, r->at,
				  "target \"%s\" %s its table with each run's rows, but source \"%s\" %s: from the second run on, "
				  "the table holds only what changed; write mode: upsert with keys: [...] (or mode: append)",
				  r->id, r->mode_given ? "replaces" : "replaces (mode replace is the default)", s->id, s->incremental);
	}
}

/*
 * vtopo
 *		Put the normalised transforms in a stable topological order, so every
 *		step comes after its inputs (input may name a later step in the YAML).
 *		Called only for a valid, acyclic flow.
 */
static void
vtopo(VCtx *c, CfgNode *transforms)
{
	VNode	  **t;
	bool	   *done;
	int		  **deps;			/* per step: indexes of the steps it reads, -1 ends */
	CfgNode    *sorted = cfgv_seq(c);
	int			n = 0;
	ListCell   *lc;

	foreach(lc, c->nodes)
		if (!((VNode *) lfirst(lc))->is_source)
			n++;
	if (n != transforms->n || n < 2)
		return;
	t = palloc(sizeof(VNode *) * n);
	done = palloc0(sizeof(bool) * n);
	n = 0;
	foreach(lc, c->nodes)
	{
		VNode	   *v = lfirst(lc);

		if (!v->is_source)
		{
			v->order = n;
			t[n++] = v;
		}
	}
	deps = palloc(sizeof(int *) * n);
	for (int i = 0; i < n; i++)
	{
		int			k = 0;
		ListCell   *dc;

		deps[i] = palloc(sizeof(int) * (list_length(t[i]->deps) + 1));
		foreach(dc, t[i]->deps)
		{
			VNode	   *m = vfind(c, ((VDep *) lfirst(dc))->name);

			if (m && !m->is_source)
				deps[i][k++] = m->order;
		}
		deps[i][k] = -1;
	}
	for (int k = 0; k < n; k++)
	{
		int			pick = -1;

		for (int i = 0; i < n && pick < 0; i++)
		{
			bool		ready = !done[i];

			for (int *d = deps[i]; ready && *d >= 0; d++)
				if (!done[*d])
					ready = false;
			if (ready)
				pick = i;
		}
		if (pick < 0)
			return;				/* cannot happen: vgraph found no cycle */
		done[pick] = true;
		cfgv_append(c, sorted, t[pick]->out);
	}
	transforms->items = sorted->items;
	transforms->cap = sorted->cap;
}

/* -------------------------------------------------------------- pipeline */

static const char *const pipeline_keys[] = {"id", "name", "description", "engine", "params", "sources",
	"transforms", "targets", "quality", "sla", "retry", "schedule", "alerts", "concurrency",
"timeout_minutes", "tags", "environments"};

static CfgNode *
vpipeline(VCtx *c, const CfgNode *p, const char *path)
{
	const char *const *keys = pipeline_keys;
	CfgNode    *out = cfgv_map(c);
	CfgNode    *n;
	CfgNode    *id = NULL;
	CfgNode    *list;
	const char *last_transform = NULL;
	int			nsources = 0;
	CfgNode    *transforms;

	cfgv_keys(c, p, path, keys, lengthof_arr(pipeline_keys), false);
	if ((n = cfgv_get(c, p, path, "id", true)) && cfgv_id(c, n, cfgv_path(path, "id")))
	{
		id = n;
		cfgv_put(c, out, "id", n);
	}
	if ((n = cfgv_get(c, p, path, "name", false)))
	{
		if (n->kind == CFG_STRING && n->len > 0)
			cfgv_put(c, out, "name", n);
		else
			cfgv_error(c, cfgv_path(path, "name"), n, "must be a non-empty string");
	}
	else if (id)
		cfgv_put(c, out, "name", id);
	if ((n = cfgv_get(c, p, path, "description", false)))
	{
		if (n->kind == CFG_STRING || n->kind == CFG_NULL)
			cfgv_put(c, out, "description", n);
		else
			cfgv_error(c, cfgv_path(path, "description"), n, "must be a string, not a %s", CfgKindName(n->kind));
	}
	else
		cfgv_put(c, out, "description", cfgv_null(c));
	if ((n = cfgv_get(c, p, path, "engine", false)))
	{
		static const char *const aliases[][2] = {{"pandas", "staged"}, {"polars", "pushdown"},
		{"dask", "parallel"}, {"duckdb", "pushdown"}};
		const char *e = NULL;

		for (int i = 0; i < 4; i++)
			if (n->kind == CFG_STRING && strcmp(n->str, aliases[i][0]) == 0)
			{
				e = aliases[i][1];
				c->v->notices = lappend(c->v->notices,
										psprintf("engine \"%s\" is read as \"%s\"", aliases[i][0], e));
			}
		if (e == NULL)
			e = cfgv_enum(c, n, cfgv_path(path, "engine"), "engine", engines, lengthof_arr(engines));
		if (e)
			cfgv_put(c, out, "engine", cfgv_str(c, e));
	}
	else
		cfgv_put(c, out, "engine", cfgv_str(c, "auto"));
	if ((n = cfgv_get(c, p, path, "params", false)) && cfgv_is_map(c, n, cfgv_path(path, "params"), "params"))
	{
		cfgv_keys(c, n, cfgv_path(path, "params"), NULL, 0, true);
		for (int i = 0; i < n->n; i++)
		{
			cfgv_id(c, n->pairs[i].key, cfgv_path(cfgv_path(path, "params"), n->pairs[i].key->str));
			if (n->pairs[i].value->kind == CFG_MAP)
				cfgv_error(c, cfgv_path(cfgv_path(path, "params"), n->pairs[i].key->str), n->pairs[i].value,
					   "a parameter default must be a scalar or a list, not a mapping");
		}
		c->params = n;
		cfgv_put(c, out, "params", n);
	}
	else
		cfgv_put(c, out, "params", cfgv_map(c));
	if ((n = cfgv_get(c, p, path, "tags", false)))
	{
		CfgNode    *l = cfgv_strlist(c, n, cfgv_path(path, "tags"), false);

		if (l)
			cfgv_put(c, out, "tags", l);
	}
	else
		cfgv_put(c, out, "tags", cfgv_seq(c));

	/* sources */
	list = cfgv_seq(c);
	if ((n = cfgv_get(c, p, path, "sources", true)))
	{
		if (n->kind != CFG_SEQ)
			cfgv_error(c, cfgv_path(path, "sources"), n, "sources must be a list, not a %s", CfgKindName(n->kind));
		else if (n->n > MAX_ITEMS)
			cfgv_error(c, cfgv_path(path, "sources"), n, "a pipeline has at most %d sources", MAX_ITEMS);
		else if (n->n == 0)
			cfgv_error(c, cfgv_path(path, "sources"), n, "a pipeline needs at least one source");
		else
			for (int i = 0; i < n->n; i++)
			{
				CfgNode    *s = vsource(c, n->items[i], cfgv_idx(cfgv_path(path, "sources"), i));

				if (s)
					cfgv_append(c, list, s);
				nsources++;
			}
	}
	cfgv_put(c, out, "sources", list);

	/* transforms */
	list = cfgv_seq(c);
	if ((n = cfgv_get(c, p, path, "transforms", false)))
	{
		if (n->kind != CFG_SEQ)
			cfgv_error(c, cfgv_path(path, "transforms"), n, "transforms must be a list, not a %s", CfgKindName(n->kind));
		else if (n->n > MAX_ITEMS)
			cfgv_error(c, cfgv_path(path, "transforms"), n, "a pipeline has at most %d transforms", MAX_ITEMS);
		else
			for (int i = 0; i < n->n; i++)
			{
				CfgNode    *t = cfgv_transform(c, n->items[i], cfgv_idx(cfgv_path(path, "transforms"), i));

				if (t)
				{
					CfgNode    *tid = CfgMapGet(t, "id");

					cfgv_append(c, list, t);
					if (tid)
						last_transform = tid->str;
				}
			}
	}
	cfgv_put(c, out, "transforms", list);
	transforms = list;

	/* targets */
	list = cfgv_seq(c);
	if ((n = cfgv_get(c, p, path, "targets", true)))
	{
		if (n->kind != CFG_SEQ)
			cfgv_error(c, cfgv_path(path, "targets"), n, "targets must be a list, not a %s", CfgKindName(n->kind));
		else if (n->n > MAX_ITEMS)
			cfgv_error(c, cfgv_path(path, "targets"), n, "a pipeline has at most %d targets", MAX_ITEMS);
		else if (n->n == 0)
			cfgv_error(c, cfgv_path(path, "targets"), n, "a pipeline needs at least one target");
		else
			for (int i = 0; i < n->n; i++)
			{
				CfgNode    *t = vtarget(c, n->items[i], cfgv_idx(cfgv_path(path, "targets"), i),
										last_transform ? last_transform : c->first_source,
										last_transform ? 1 : nsources);

				if (t)
					cfgv_append(c, list, t);
			}
	}
	cfgv_put(c, out, "targets", list);

	cfgv_put(c, out, "quality", cfgv_quality(c, cfgv_get(c, p, path, "quality", false), cfgv_path(path, "quality")));
	cfgv_put(c, out, "sla", cfgv_sla(c, cfgv_get(c, p, path, "sla", false), cfgv_path(path, "sla")));
	cfgv_put(c, out, "retry", cfgv_retry(c, cfgv_get(c, p, path, "retry", false), cfgv_path(path, "retry")));
	cfgv_put(c, out, "schedule", cfgv_schedule(c, cfgv_get(c, p, path, "schedule", false), cfgv_path(path, "schedule")));
	cfgv_put(c, out, "alerts", cfgv_alerts(c, cfgv_get(c, p, path, "alerts", false), cfgv_path(path, "alerts")));
	if ((n = cfgv_get(c, p, path, "concurrency", false)))
	{
		const char *v = cfgv_enum(c, n, cfgv_path(path, "concurrency"), "concurrency policy", concurrencies, lengthof_arr(concurrencies));

		if (v)
			cfgv_put(c, out, "concurrency", cfgv_str(c, v));
	}
	else
		cfgv_put(c, out, "concurrency", cfgv_str(c, "skip"));
	if ((n = cfgv_get(c, p, path, "timeout_minutes", false)) && n->kind != CFG_NULL)
	{
		if (cfgv_number(c, n, cfgv_path(path, "timeout_minutes"), 0, 525600, false))
		{
			if (strtod(n->str, NULL) <= 0)
				cfgv_error(c, cfgv_path(path, "timeout_minutes"), n, "must be greater than 0, not %s", n->str);
			else
				cfgv_put(c, out, "timeout_minutes", n);
		}
	}
	else
		cfgv_put(c, out, "timeout_minutes", cfgv_null(c));

	vgraph(c);
	if (c->v->nerrors == 0)
	{
		vtopo(c, transforms);
		vreplace_incremental(c);
	}
	return out;
}

/*
 * venvironments
 *		Merge the overrides of the environment named by metaetl.environment
 *		(pipeline.environments or a top-level environments: block).
 */
static CfgNode *
venvironments(VCtx *c, CfgNode *root, CfgNode *pipeline)
{
	CfgNode    *top = CfgMapGet(root, "environments");
	CfgNode    *inner = CfgMapGet(pipeline, "environments");
	CfgNode    *envs = inner ? inner : top;
	const char *path = inner ? "pipeline.environments" : "environments";
	const char *env = metaetl_environment ? metaetl_environment : "";
	CfgNode    *over;

	if (top && inner)
		cfgv_error(c, "environments", top, "environments are given twice: at the top and under pipeline");
	if (envs == NULL)
		return pipeline;
	if (!cfgv_is_map(c, envs, path, "environments"))
		return pipeline;
	cfgv_keys(c, envs, path, NULL, 0, true);
	for (int i = 0; i < envs->n; i++)
	{
		cfgv_id(c, envs->pairs[i].key, cfgv_path(path, envs->pairs[i].key->str));
		if (envs->pairs[i].value->kind != CFG_MAP)
			cfgv_error(c, cfgv_path(path, envs->pairs[i].key->str), envs->pairs[i].value,
				   "an environment must be a mapping of pipeline keys, not a %s",
				   CfgKindName(envs->pairs[i].value->kind));
		else if (CfgMapGet(envs->pairs[i].value, "environments") || CfgMapGet(envs->pairs[i].value, "id"))
			cfgv_error(c, cfgv_path(path, envs->pairs[i].key->str), envs->pairs[i].value,
				   "an environment cannot override id or environments");
	}
	if (env[0] == '\0')
		return pipeline;
	over = CfgMapGet(envs, env);
	if (over == NULL)
	{
		cfgv_warn(c, path, envs, "metaetl.environment is \"%s\", which this configuration does not define: no overrides applied", env);
		return pipeline;
	}
	if (over->kind != CFG_MAP)
		return pipeline;
	return cfgv_merge(c, pipeline, over);
}

static int
vproblem_cmp(const ListCell *a, const ListCell *b)
{
	const CfgProblem *pa = lfirst(a);
	const CfgProblem *pb = lfirst(b);
	int			la = pa->line ? pa->line : INT_MAX;
	int			lb = pb->line ? pb->line : INT_MAX;

	if (la != lb)
		return la < lb ? -1 : 1;
	if (pa->col != pb->col)
		return pa->col < pb->col ? -1 : 1;
	return 0;
}

/*
 * MetaetlValidateConfig
 *		Parse and validate text; every problem is in the result, and the
 *		normalised config when there are no errors.
 */
CfgValidation *
MetaetlValidateConfig(const char *text, size_t len)
{
	CfgValidation *v = palloc0(sizeof(CfgValidation));
	VCtx		c;
	CfgNode    *root;
	CfgNode    *pipeline;
	CfgNode    *out;

	memset(&c, 0, sizeof(c));
	c.v = v;
	v->input_len = len;
	v->doc = MetaetlParseConfigText(text, len);
	if (v->doc->failed)
	{
		const char *e = v->doc->error;
		CfgNode		at;

		memset(&at, 0, sizeof(at));
		at.line = v->doc->err_line;
		at.col = v->doc->err_col;
		v->failure = v->doc->limit_hit ? CFG_LIMIT : CFG_SYNTAX;
		cfgv_error(&c, "", &at, "%s", e);
		return v;
	}
	c.arena = MetaetlArenaForContext(CFG_DEFAULT_MAX_MEMORY);
	root = v->doc->root;
	if (root->kind != CFG_MAP)
	{
		cfgv_error(&c, "", root, "a configuration is a mapping with the key pipeline, not a %s", CfgKindName(root->kind));
		v->failure = CFG_INVALID;
		return v;
	}
	{
		static const char *const keys[] = {"pipeline", "environments"};

		cfgv_keys(&c, root, "", keys, lengthof_arr(keys), false);
	}
	pipeline = cfgv_get(&c, root, "", "pipeline", true);
	if (pipeline && cfgv_is_map(&c, pipeline, "pipeline", "pipeline"))
	{
		pipeline = venvironments(&c, root, pipeline);
		out = cfgv_map(&c);
		cfgv_put(&c, out, "pipeline", vpipeline(&c, pipeline, "pipeline"));
		v->normalized = out;
		/* a valid pipeline whose tables exist is compiled against the catalog */
		if (v->nerrors == 0)
			cfgv_catalog(&c, pipeline, out);
	}
	list_sort(v->problems, vproblem_cmp);
	if (c.dropped > 0)
	{
		CfgProblem *p = palloc0(sizeof(CfgProblem));

		p->is_error = true;
		p->path = pstrdup("");
		p->message = psprintf("%d more problems are not listed", c.dropped);
		v->problems = lappend(v->problems, p);
	}
	if (v->nerrors > 0)
	{
		v->failure = CFG_INVALID;
		v->normalized = NULL;
	}
	return v;
}

/* a problem's text for a message: at most CFG_LOG_PROBLEM_MAX bytes */
static char *
vclip(const char *s)
{
	int			len = strlen(s);

	if (len <= CFG_LOG_PROBLEM_MAX)
		return (char *) s;
	return psprintf("%.*s...", pg_mbcliplen(s, len, CFG_LOG_PROBLEM_MAX), s);
}

/*
 * MetaetlRaiseProblems
 *		Raise the one error for a configuration with errors: the detail lists
 *		the first 20 and counts the rest.  Returns when there are none.  The
 *		statement of a long configuration is not logged (a rejected 20 MB
 *		config would otherwise land in the server log whole), and each
 *		problem is cut to CFG_LOG_PROBLEM_MAX bytes.
 */
void
MetaetlRaiseProblems(CfgValidation *v)
{
	StringInfoData detail;
	int			shown = 0;
	ListCell   *lc;

	if (v->nerrors == 0)
		return;
	initStringInfo(&detail);
	foreach(lc, v->problems)
	{
		CfgProblem *p = lfirst(lc);

		if (!p->is_error)
			continue;
		if (shown == 20)
		{
			appendStringInfo(&detail, "\n... and %d more.", v->nerrors - 20);
			break;
		}
		if (shown++)
			appendStringInfoChar(&detail, '\n');
		if (p->line)
			appendStringInfo(&detail, "%s%sline %d, column %d: %s", vclip(p->path), p->path[0] ? " at " : "",
							 p->line, p->col, vclip(p->message));
		else
			appendStringInfo(&detail, "%s: %s", p->path[0] ? vclip(p->path) : "configuration", vclip(p->message));
	}
	if (v->failure == CFG_SYNTAX)
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("pipeline configuration is not valid YAML or JSON"),
				 errdetail_internal("%s", detail.data),
				 errhidestmt(v->input_len > CFG_LOG_STATEMENT_MAX),
				 errhint("Fix the configuration at the line and column shown.")));
	if (v->failure == CFG_LIMIT)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("pipeline configuration exceeds a size limit"),
				 errdetail_internal("%s", detail.data),
				 errhidestmt(v->input_len > CFG_LOG_STATEMENT_MAX),
				 errhint("Configurations are limited to 1 MB, 64 levels of nesting, 100000 nodes and 4 MB of text (aliases counted each time they are used).")));
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("pipeline configuration has %d error%s", v->nerrors, v->nerrors == 1 ? "" : "s"),
			 errdetail_internal("%s", detail.data),
			 errhidestmt(v->input_len > CFG_LOG_STATEMENT_MAX),
			 errhint("etl.validate_config() lists every problem with its path, line and column.")));
}

/* ------------------------------------------------------------ vocabulary */

static void
vocab_list(StringInfo b, const char *const *vals, int n)
{
	appendStringInfoChar(b, '[');
	for (int i = 0; n < 0 ? vals[i] != NULL : i < n; i++)
	{
		if (i)
			appendStringInfoString(b, ", ");
		escape_json(b, vals[i]);
	}
	appendStringInfoChar(b, ']');
}

/* {"key": {"kind", "required", "oneof", "values"}} of a connector's key table, and the common keys */
static void
vocab_keys(StringInfo b, const MetaetlConnKey *keys, const char *const *common, int ncommon)
{
	static const char *const kinds[] = {"any", "string", "id", "relname", "query", "number", "integer",
	"bool", "object", "strlist", "enum", "columns"};
	bool		first = true;

	appendStringInfoChar(b, '{');
	for (int i = 0; i < ncommon; i++)
	{
		appendStringInfoString(b, first ? "" : ", ");
		escape_json(b, common[i]);
		appendStringInfoString(b, ": {\"kind\": \"common\"}");
		first = false;
	}
	for (const MetaetlConnKey *k = keys; k && k->key; k++)
	{
		appendStringInfoString(b, first ? "" : ", ");
		escape_json(b, k->key);
		appendStringInfo(b, ": {\"kind\": \"%s\", \"required\": %s, \"oneof\": %s",
						 (int) k->kind < lengthof_arr(kinds) ? kinds[k->kind] : "any",
						 (k->flags & MCK_REQUIRED) ? "true" : "false", (k->flags & MCK_ONEOF) ? "true" : "false");
		if (k->kind == MCK_ENUM && k->values)
		{
			appendStringInfoString(b, ", \"values\": ");
			vocab_list(b, k->values, -1);
		}
		appendStringInfoChar(b, '}');
		first = false;
	}
	appendStringInfoChar(b, '}');
}

/*
 * etl._config_vocabulary() → jsonb
 *
 * What the validator accepts, from the tables it checks against (the
 * connectors' key tables, the step specs, the enumerations of this file):
 * source and target types with their keys, target modes (and those of each
 * type that restricts them), connection types with their option keys,
 * transform types with their params, quality rule types (quality/rules.h),
 * engines, pipeline keys.  The harness
 * compares docs/config-schema.json with it (case 14_config_forms), so the
 * published schema lists exactly what validates.
 */
PG_FUNCTION_INFO_V1(metaetl_config_vocabulary);

Datum
metaetl_config_vocabulary(PG_FUNCTION_ARGS)
{
	StringInfoData b;
	int			nfam;
	const MetaetlConnector *const *fams = MetaetlConnectors(&nfam);
	const char *const sections[] = {"source_types", "target_types", "connection_types"};

	initStringInfo(&b);
	appendStringInfoString(&b, "{\"engines\": ");
	vocab_list(&b, engines, lengthof_arr(engines));
	appendStringInfoString(&b, ", \"target_modes\": ");
	vocab_list(&b, target_modes, lengthof_arr(target_modes));
	appendStringInfoString(&b, ", \"concurrency\": ");
	vocab_list(&b, concurrencies, lengthof_arr(concurrencies));
	appendStringInfoString(&b, ", \"pipeline_keys\": ");
	vocab_list(&b, pipeline_keys, lengthof_arr(pipeline_keys));
	for (int s = 0; s < 3; s++)
	{
		bool		first = true;

		appendStringInfo(&b, ", \"%s\": {", sections[s]);
		for (int i = 0; i < nfam; i++)
		{
			const MetaetlConnector *f = fams[i];
			const MetaetlConnKey *keys = s == 0 ? f->source_keys : s == 1 ? f->target_keys : f->connection_keys;
			const char *const *types = s == 2 ? f->connection_types : f->types;

			if (keys == NULL || types == NULL)
				continue;
			for (const char *const *t = types; *t; t++)
			{
				appendStringInfoString(&b, first ? "" : ", ");
				escape_json(&b, *t);
				appendStringInfoString(&b, ": {\"keys\": ");
				if (s == 0)
					vocab_keys(&b, keys, source_common, lengthof_arr(source_common));
				else if (s == 1)
					vocab_keys(&b, keys, target_common, lengthof_arr(target_common));
				else
					vocab_keys(&b, keys, NULL, 0);
				if (s == 1 && f->target_modes)
				{
					appendStringInfoString(&b, ", \"modes\": ");
					vocab_list(&b, f->target_modes, -1);
				}
				appendStringInfoChar(&b, '}');
				first = false;
			}
		}
		appendStringInfoChar(&b, '}');
	}
	appendStringInfoString(&b, ", \"rule_types\": [");
	for (int i = 0; QualityRuleTypeName(i); i++)
	{
		appendStringInfoString(&b, i ? ", " : "");
		escape_json(&b, QualityRuleTypeName(i));
	}
	appendStringInfoChar(&b, ']');
	appendStringInfoString(&b, ", \"transform_types\": ");
	cfgv_step_vocabulary(&b);
	appendStringInfoChar(&b, '}');
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(b.data)));
}
