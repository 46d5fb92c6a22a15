/*-------------------------------------------------------------------------
 *
 * src/config/validate_rules.c
 *		Quality rules (through src/quality/rules.c), sla, retry, schedule and
 *		alerts of a pipeline.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "utils/builtins.h"

#include "config/validate_int.h"
#include "quality/rules.h"
#include "scheduler/cron.h"
#include "util/ident.h"

static const char *const catchups[] = {"latest", "all", "none"};
static const char *const alert_events[] = {"failure", "success", "sla_violation", "quality_failure", "anomaly", "retry"};

/* ---------------------------------------------------------------- quality */

/*
 * cfgv_quality
 *		The quality block belongs to the quality subsystem's rule vocabulary
 *		(src/quality/rules.c), which the SQL functions use too: one
 *		normaliser, so a rule that validates is a rule that runs.
 */
CfgNode *
cfgv_quality(VCtx *c, const CfgNode *q, const char *path)
{
	return QualityCheckBlock(c, q, path);
}

/* ------------------------------------------------ sla, retry, schedule ... */

CfgNode *
cfgv_sla(VCtx *c, const CfgNode *s, const char *path)
{
	/*
	 * The keys of the monitoring subsystem's etl.apply_sla_config(); the
	 * older spellings window_runs and max_data_age_minutes are accepted and
	 * normalised to success_rate_window and freshness.max_age.
	 */
	static const char *const keys[] = {"max_duration_minutes", "min_success_rate", "min_quality_score",
	"max_data_age_minutes", "window_runs", "success_rate_window", "freshness", "max_slot_lag_mb"};
	static const double mins[] = {0, 0, 0, 0, 1};
	static const double maxs[] = {INFINITY, 1, 100, INFINITY, 100000};
	CfgNode    *out = cfgv_map(c);
	CfgNode    *n;

	if (s == NULL || !cfgv_is_map(c, s, path, "sla"))
		return out;
	cfgv_keys(c, s, path, keys, lengthof_arr(keys), false);
	for (int i = 0; i < 3; i++)
	{
		n = cfgv_get(c, s, path, keys[i], false);
		if (n && cfgv_number(c, n, cfgv_path(path, keys[i]), mins[i], maxs[i], false))
		{
			if (i == 0 && strtod(n->str, NULL) <= 0)
				cfgv_error(c, cfgv_path(path, keys[i]), n, "must be greater than 0, not %s", n->str);
			else
				cfgv_put(c, out, keys[i], n);
		}
	}

	/* max_slot_lag_mb: WAL (MB) the pipeline's log CDC slots may hold back */
	if ((n = cfgv_get(c, s, path, "max_slot_lag_mb", false)) &&
		cfgv_number(c, n, cfgv_path(path, "max_slot_lag_mb"), 0, INFINITY, false))
	{
		if (strtod(n->str, NULL) <= 0)
			cfgv_error(c, cfgv_path(path, "max_slot_lag_mb"), n, "must be greater than 0, not %s", n->str);
		else
			cfgv_put(c, out, "max_slot_lag_mb", n);
	}

	/* success_rate_window: a number of runs, or an interval such as "7 days" */
	if ((n = cfgv_get(c, s, path, "success_rate_window", false)))
	{
		if (n->kind == CFG_STRING)
			cfgv_put(c, out, "success_rate_window", n);
		else if (cfgv_number(c, n, cfgv_path(path, "success_rate_window"), 1, 100000, true))
			cfgv_put(c, out, "success_rate_window", n);
	}
	else if ((n = cfgv_get(c, s, path, "window_runs", false)) &&
			 cfgv_number(c, n, cfgv_path(path, "window_runs"), 1, 100000, true))
		cfgv_put(c, out, "success_rate_window", n);

	/* freshness: {max_age, table, column}, or max_data_age_minutes */
	if ((n = cfgv_get(c, s, path, "freshness", false)))
	{
		static const char *const fkeys[] = {"max_age", "table", "column"};
		const char *fpath = cfgv_path(path, "freshness");

		if (cfgv_is_map(c, n, fpath, "freshness"))
		{
			CfgNode    *f = cfgv_map(c);
			CfgNode    *v;

			cfgv_keys(c, n, fpath, fkeys, lengthof_arr(fkeys), false);
			for (int i = 0; i < 3; i++)
			{
				v = cfgv_get(c, n, fpath, fkeys[i], i == 0);
				if (v && cfgv_string(c, v, cfgv_path(fpath, fkeys[i])))
					cfgv_put(c, f, fkeys[i], v);
			}
			cfgv_put(c, out, "freshness", f);
		}
	}
	else if ((n = cfgv_get(c, s, path, "max_data_age_minutes", false)) &&
			 cfgv_number(c, n, cfgv_path(path, "max_data_age_minutes"), 0, INFINITY, false))
	{
		CfgNode    *f = cfgv_map(c);

		if (strtod(n->str, NULL) <= 0)
			cfgv_error(c, cfgv_path(path, "max_data_age_minutes"), n, "must be greater than 0, not %s", n->str);
		cfgv_put(c, f, "max_age", cfgv_str(c, psprintf("%s minutes", n->str)));
		cfgv_put(c, out, "freshness", f);
	}
	return out;
}

/*
 * retry: the policy with every default filled in and each number within
 * range, so that the run reads a complete policy from the normalised
 * config and never has to guess a default.
 */
CfgNode *
cfgv_retry(VCtx *c, const CfgNode *r, const char *path)
{
	static const char *const keys[] = {"max_attempts", "initial_delay_s", "backoff", "max_delay_s", "jitter"};
	static const char *const defs[] = {"3", "5", "2.0", "300", NULL};
	static const double mins[] = {1, 0, 1, 0};
	static const double maxs[] = {100, 86400, 100, 604800};
	CfgNode    *out = cfgv_map(c);

	if (r && !cfgv_is_map(c, r, path, "retry"))
		r = NULL;
	if (r)
		cfgv_keys(c, r, path, keys, lengthof_arr(keys), false);
	for (int i = 0; i < 4; i++)
	{
		CfgNode    *n = r ? cfgv_get(c, r, path, keys[i], false) : NULL;

		if (n)
		{
			if (cfgv_number(c, n, cfgv_path(path, keys[i]), mins[i], maxs[i], i == 0))
				cfgv_put(c, out, keys[i], n);
		}
		else
			cfgv_put(c, out, keys[i], cfgv_num(c, defs[i]));
	}
	{
		CfgNode    *n = r ? cfgv_get(c, r, path, "jitter", false) : NULL;

		if (n)
		{
			if (cfgv_boolean(c, n, cfgv_path(path, "jitter")))
				cfgv_put(c, out, "jitter", n);
		}
		else
			cfgv_put(c, out, "jitter", cfgv_bool(c, true));
	}
	return out;
}

/*
 * schedule: cron through the scheduler's own parser (one owner of the cron
 * vocabulary), timezone, depends_on and catchup (default latest).
 */
CfgNode *
cfgv_schedule(VCtx *c, const CfgNode *s, const char *path)
{
	static const char *const keys[] = {"cron", "timezone", "depends_on", "catchup"};
	CfgNode    *out = cfgv_map(c);
	CfgNode    *n;

	if (s == NULL)
		return cfgv_null(c);
	if (!cfgv_is_map(c, s, path, "schedule"))
		return cfgv_null(c);
	cfgv_keys(c, s, path, keys, lengthof_arr(keys), false);
	if ((n = cfgv_get(c, s, path, "cron", false)) && cfgv_string(c, n, cfgv_path(path, "cron")))
	{
		char		err[256];
		CronSchedule parsed;

		/* the scheduler's own parser: valid exactly when it can run */
		if (!CronParse(n->str, &parsed, err, sizeof(err)))
			cfgv_error(c, cfgv_path(path, "cron"), n, "invalid cron expression \"%s\": %s", n->str, err);
		else
			cfgv_put(c, out, "cron", n);
	}
	if ((n = cfgv_get(c, s, path, "timezone", false)))
	{
		if (cfgv_timezone(c, n, cfgv_path(path, "timezone")))
			cfgv_put(c, out, "timezone", n);
	}
	else
		cfgv_put(c, out, "timezone", cfgv_str(c, "UTC"));
	if ((n = cfgv_get(c, s, path, "depends_on", false)) && n->kind == CFG_STRING &&
		n->str && strcmp(n->str, "auto") == 0)
		cfgv_put(c, out, "depends_on", n);	/* from lineage (src/lineage) */
	else if (n)
	{
		CfgNode    *l = cfgv_strlist(c, n, cfgv_path(path, "depends_on"), false);

		if (l)
		{
			for (int i = 0; i < l->n; i++)
				cfgv_id(c, l->items[i], n->kind == CFG_SEQ ? cfgv_idx(cfgv_path(path, "depends_on"), i) : cfgv_path(path, "depends_on"));
			cfgv_put(c, out, "depends_on", l);
		}
	}
	else
		cfgv_put(c, out, "depends_on", cfgv_seq(c));
	if (!CfgMapGet(s, "cron") && !CfgMapGet(s, "depends_on"))
		cfgv_error(c, cfgv_path(path, "cron"), s, "a schedule needs cron, depends_on or both");
	if ((n = cfgv_get(c, s, path, "catchup", false)))
	{
		const char *v = cfgv_enum(c, n, cfgv_path(path, "catchup"), "catchup policy", catchups, lengthof_arr(catchups));

		if (v)
			cfgv_put(c, out, "catchup", cfgv_str(c, v));
	}
	else
		cfgv_put(c, out, "catchup", cfgv_str(c, "latest"));
	return out;
}

/*
 * alerts: the events to alert on, the channels and performance_factor,
 * each checked here so that registering a pipeline never stores an alert
 * setting the monitor would have to reject later.
 */
CfgNode *
cfgv_alerts(VCtx *c, const CfgNode *a, const char *path)
{
	static const char *const keys[] = {"on", "channels", "performance_factor"};
	CfgNode    *out = cfgv_map(c);
	CfgNode    *n;

	if (a && !cfgv_is_map(c, a, path, "alerts"))
		a = NULL;
	if (a)
		cfgv_keys(c, a, path, keys, lengthof_arr(keys), false);
	/* monitoring's performance alert: slower than p95 of earlier runs times this */
	if (a && (n = cfgv_get(c, a, path, "performance_factor", false)) &&
		(n = cfgv_number(c, n, cfgv_path(path, "performance_factor"), 1, 100, false)))
		cfgv_put(c, out, "performance_factor", n);
	if (a && (n = cfgv_get(c, a, path, "on", false)))
	{
		CfgNode    *l = cfgv_strlist(c, n, cfgv_path(path, "on"), false);

		if (l)
		{
			for (int i = 0; i < l->n; i++)
				cfgv_enum(c, l->items[i], n->kind == CFG_SEQ ? cfgv_idx(cfgv_path(path, "on"), i) : cfgv_path(path, "on"),
					  "alert event", alert_events, lengthof_arr(alert_events));
			cfgv_put(c, out, "on", l);
		}
	}
	else
	{
		CfgNode    *l = cfgv_seq(c);

		cfgv_append(c, l, cfgv_str(c, "failure"));
		cfgv_put(c, out, "on", l);
	}
	if (a && (n = cfgv_get(c, a, path, "channels", false)))
	{
		CfgNode    *l = cfgv_strlist(c, n, cfgv_path(path, "channels"), false);

		if (l)
		{
			for (int i = 0; i < l->n; i++)
				cfgv_id(c, l->items[i], n->kind == CFG_SEQ ? cfgv_idx(cfgv_path(path, "channels"), i) : cfgv_path(path, "channels"));
			cfgv_put(c, out, "channels", l);
		}
	}
	else
		cfgv_put(c, out, "channels", cfgv_seq(c));
	return out;
}

/*
 * etl._normalize_sla(pipeline_id text, sla jsonb) → jsonb
 *		The SLA block in the validator's normal form (older spellings
 *		mapped), or an error listing every problem with its config path.
 *
 * Monitoring's etl.apply_sla_config() calls this first, so the SLA keys
 * and their ranges have one owner (cfgv_sla above) whether an SLA arrives
 * through register_pipeline or is applied on its own.
 */
PG_FUNCTION_INFO_V1(metaetl_normalize_sla);

/*
 * etl._normalize_sla(pipeline_id, sla): the sla block in the validator's
 * normal form, or every problem with its config path.  etl.apply_sla_config
 * calls it, so registration and validation read SLAs with one vocabulary.
 */
Datum
metaetl_normalize_sla(PG_FUNCTION_ARGS)
{
	char	   *pipeline_id = PG_ARGISNULL(0) ? "" : text_to_cstring(PG_GETARG_TEXT_PP(0));
	Jsonb	   *sla = PG_ARGISNULL(1) ? NULL : PG_GETARG_JSONB_P(1);
	CfgValidation *v = palloc0(sizeof(CfgValidation));
	VCtx		c;
	CfgNode    *out;

	memset(&c, 0, sizeof(c));
	c.v = v;
	c.arena = MetaetlArenaForContext(CFG_DEFAULT_MAX_MEMORY);
	out = cfgv_sla(&c, sla ? MetaetlJsonbToTree(c.arena, sla) : NULL, "pipeline.sla");
	if (v->nerrors > 0)
	{
		StringInfoData detail;
		ListCell   *lc;

		initStringInfo(&detail);
		foreach(lc, v->problems)
		{
			CfgProblem *p = lfirst(lc);

			if (p->is_error)
				appendStringInfo(&detail, "%s%s: %s", detail.len ? "\n" : "", p->path, p->message);
		}
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("sla of pipeline \"%s\" is not valid", pipeline_id),
				 errdetail_internal("%s", detail.data),
				 errhint("SLA keys are max_duration_minutes, min_success_rate, success_rate_window, "
						 "min_quality_score, freshness {max_age, table, column} and max_slot_lag_mb.")));
	}
	PG_RETURN_JSONB_P(MetaetlTreeToJsonb(out));
}
