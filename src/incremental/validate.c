/*-------------------------------------------------------------------------
 *
 * src/incremental/validate.c
 *		etl.validate_config for the incremental vocabulary: a source's
 *		incremental: mapping and the keys of target mode merge_changes.
 *
 * Called from the validator's source and target walks (config/validate.c)
 * with its context, so problems carry the YAML path, line and column like
 * every other.  The modes and policies named here are the ones
 * incremental/watermark.c and incremental/merge.c execute.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "config/config.h"
#include "config/validate_int.h"
#include "incremental/incremental.h"

static const char *const incr_keys[] = {"mode", "column", "tie_breaker", "lookback", "slot", "publication"};
static const char *const incr_modes[] = {"timestamp", "id", "xmin", "trigger_cdc", "log_cdc"};
static const char *const merge_deletes[] = {"apply", "soft", "ignore"};
static const char *const merge_conflicts[] = {"source_wins", "target_wins", "latest"};

/* a key the mode does not use is an error: it would be silently ignored */
static void
incr_unused(VCtx *c, const CfgNode *inc, const char *path, const char *key, const char *mode)
{
	CfgNode    *n = CfgMapGet(inc, key);

	if (n)
		cfgv_error(c, cfgv_path(path, key), n, "%s is not used by incremental mode %s", key, mode);
}

/*
 * cfgv_incremental
 *		Check a source's incremental: mapping (the source map s, for its
 *		type and table/query); returns the normalised mapping or NULL.
 */
CfgNode *
cfgv_incremental(VCtx *c, const CfgNode *s, const CfgNode *inc, const char *path)
{
	CfgNode    *out = cfgv_map(c);
	CfgNode    *n;
	CfgNode    *type = CfgMapGet(s, "type");
	const char *mode;

	if (!cfgv_is_map(c, inc, path, "incremental"))
		return NULL;
	cfgv_keys(c, inc, path, incr_keys, lengthof_arr(incr_keys), false);
	if (type && type->kind == CFG_STRING && strcmp(type->str, "postgresql") != 0 &&
		strcmp(type->str, "postgres") != 0 && strcmp(type->str, "table") != 0 && strcmp(type->str, "query") != 0)
		cfgv_error(c, path, inc, "incremental is supported for postgresql sources, not %s sources", type->str);
	if ((n = cfgv_get(c, inc, path, "mode", true)) == NULL ||
		(mode = cfgv_enum(c, n, cfgv_path(path, "mode"), "incremental mode", incr_modes, lengthof_arr(incr_modes))) == NULL)
		return NULL;
	cfgv_put(c, out, "mode", cfgv_str(c, mode));

	if (strcmp(mode, "timestamp") == 0 || strcmp(mode, "id") == 0)
	{
		if ((n = cfgv_get(c, inc, path, "column", true)) && cfgv_string(c, n, cfgv_path(path, "column")))
			cfgv_put(c, out, "column", n);
		if (strcmp(mode, "timestamp") == 0)
		{
			if ((n = cfgv_get(c, inc, path, "tie_breaker", false)) && cfgv_string(c, n, cfgv_path(path, "tie_breaker")))
				cfgv_put(c, out, "tie_breaker", n);
			if ((n = cfgv_get(c, inc, path, "lookback", false)) && cfgv_string(c, n, cfgv_path(path, "lookback")))
			{
				char	   *problem = MetaetlCheckInterval(n->str);

				if (problem)
					cfgv_error(c, cfgv_path(path, "lookback"), n, "invalid interval: %s", problem);
				else
					cfgv_put(c, out, "lookback", n);
			}
		}
		else
		{
			incr_unused(c, inc, path, "tie_breaker", mode);
			incr_unused(c, inc, path, "lookback", mode);
		}
	}
	else
	{
		incr_unused(c, inc, path, "column", mode);
		incr_unused(c, inc, path, "tie_breaker", mode);
		incr_unused(c, inc, path, "lookback", mode);
		if (CfgMapGet(s, "table") == NULL)
			cfgv_error(c, cfgv_path(path, "mode"), CfgMapGet(inc, "mode"),
					   "incremental mode %s needs a table source (table:, not query:)", mode);
	}
	if (strcmp(mode, "log_cdc") == 0)
	{
		if ((n = cfgv_get(c, inc, path, "slot", true)) && cfgv_string(c, n, cfgv_path(path, "slot")))
			cfgv_put(c, out, "slot", n);
		/* wal2json decodes every table; the source's own table is filtered */
		if ((n = cfgv_get(c, inc, path, "publication", false)))
			cfgv_warn(c, cfgv_path(path, "publication"), n,
					  "publication is ignored: slots are decoded with wal2json, filtered to the source's table");
	}
	else
	{
		incr_unused(c, inc, path, "slot", mode);
		incr_unused(c, inc, path, "publication", mode);
	}
	return out;
}

/*
 * cfgv_merge_target
 *		The keys of target mode merge_changes (deletes, soft_delete_column,
 *		conflict, conflict_column, fillfactor) into out; warns when they are given to
 *		another mode.  keys is the target's checked keys list, or NULL.
 */
void
cfgv_merge_target(VCtx *c, const CfgNode *t, const char *path, const char *mode,
				  const CfgNode *keys, CfgNode *out)
{
	bool		merge = mode && strcmp(mode, "merge_changes") == 0;
	const char *deletes = NULL;
	const char *conflict = NULL;
	CfgNode    *n;
	static const char *const own[] = {"deletes", "soft_delete_column", "conflict", "conflict_column", "fillfactor"};

	/* a replace target fed straight by an incremental source keeps only the changes */
	if (mode && strcmp(mode, "replace") == 0 && (n = CfgMapGet(out, "input")) && n->kind == CFG_STRING)
	{
		ListCell   *lc;

		foreach(lc, c->nodes)
		{
			VNode	   *v = lfirst(lc);

			if (v->is_source && strcmp(v->id, n->str) == 0 && CfgMapGet(v->at, "incremental"))
				cfgv_warn(c, cfgv_path(path, "mode"), CfgMapGet(t, "mode") ? CfgMapGet(t, "mode") : t,
						  "source \"%s\" is incremental: mode replace keeps only the rows of the last run (use merge_changes)",
						  v->id);
		}
	}
	if (!merge)
	{
		for (int i = 0; i < lengthof_arr(own); i++)
			if ((n = CfgMapGet(t, own[i])))
				cfgv_warn(c, cfgv_path(path, own[i]), n, "%s is used only by mode merge_changes", own[i]);
		return;
	}
	if (keys == NULL || keys->n == 0)
		cfgv_error(c, cfgv_path(path, "keys"), t, "mode merge_changes needs keys");
	if ((n = cfgv_get(c, t, path, "deletes", false)) &&
		(deletes = cfgv_enum(c, n, cfgv_path(path, "deletes"), "deletes policy", merge_deletes, lengthof_arr(merge_deletes))))
		cfgv_put(c, out, "deletes", cfgv_str(c, deletes));
	if ((n = cfgv_get(c, t, path, "soft_delete_column", false)) && cfgv_string(c, n, cfgv_path(path, "soft_delete_column")))
	{
		if (deletes == NULL || strcmp(deletes, "soft") != 0)
			cfgv_warn(c, cfgv_path(path, "soft_delete_column"), n, "soft_delete_column is used only with deletes: soft");
		cfgv_put(c, out, "soft_delete_column", n);
	}
	if ((n = cfgv_get(c, t, path, "conflict", false)) &&
		(conflict = cfgv_enum(c, n, cfgv_path(path, "conflict"), "conflict policy", merge_conflicts, lengthof_arr(merge_conflicts))))
		cfgv_put(c, out, "conflict", cfgv_str(c, conflict));
	if ((n = cfgv_get(c, t, path, "conflict_column", false)) && cfgv_string(c, n, cfgv_path(path, "conflict_column")))
	{
		if (conflict == NULL || strcmp(conflict, "latest") != 0)
			cfgv_warn(c, cfgv_path(path, "conflict_column"), n, "conflict_column is used only with conflict: latest");
		cfgv_put(c, out, "conflict_column", n);
	}
	else if (conflict && strcmp(conflict, "latest") == 0)
		cfgv_error(c, cfgv_path(path, "conflict_column"), CfgMapGet(t, "conflict"),
				   "conflict latest needs conflict_column (the column that orders versions)");
	/* the table's fillfactor when metaetl creates it (PostgreSQL's range) */
	if ((n = cfgv_get(c, t, path, "fillfactor", false)) &&
		cfgv_number(c, n, cfgv_path(path, "fillfactor"), 10, 100, true))
		cfgv_put(c, out, "fillfactor", n);
}
