/*-------------------------------------------------------------------------
 *
 * src/quality/gate.c
 *		The quality engine's entry points: the SQL functions (etl.quality_gate,
 *		etl.execute_dq_validation, etl.profile, etl.define_quality_profile) and
 *		the C interface other subsystems call (quality.h): a pipeline run's
 *		gate, and the nodes its rules need.
 *
 * Everything runs as the caller (none of these is SECURITY DEFINER): a
 * dataset, a reference and a quarantine table are read and written with the
 * caller's rights, results are recorded as the caller (row-level security
 * keeps them to their creator).  Each call works in its own memory context;
 * the result is copied out.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/formatting.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "quality/quality.h"
#include "quality/rules.h"
#include "quality/scan.h"
#include "util/ident.h"

PG_FUNCTION_INFO_V1(metaetl_quality_gate);
PG_FUNCTION_INFO_V1(metaetl_execute_dq_validation);
PG_FUNCTION_INFO_V1(metaetl_profile);
PG_FUNCTION_INFO_V1(metaetl_define_quality_profile);
PG_FUNCTION_INFO_V1(metaetl_resolve_data);

/* etl._resolve_data(data text) → text: the FROM item (util/relation.c) */
Datum
metaetl_resolve_data(PG_FUNCTION_ARGS)
{
	MetaetlData *d = MetaetlResolveData(text_to_cstring(PG_GETARG_TEXT_PP(0)), METAETL_DATA_MUST_EXIST);

	PG_RETURN_TEXT_P(cstring_to_text(d->from_item));
}

/* ------------------------------------------------------------ options */

typedef struct QOpts
{
	int			samples;
	Jsonb	   *key_columns;
	bool		profile;
	int			approximate;	/* -1: by the estimated row count */
	int			top_n;
	Jsonb	   *weights;
	const char *pipeline_id;
	const char *quarantine;
	bool		store;
	int64		run_id;
} QOpts;

static void
qo_bad(const char *key, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("option \"%s\" must be %s", key, what)));
}

/* check options against the keys a function takes, and read them into o */
static void
qo_parse(Jsonb *opts, const char *const *allowed, int nallowed, QOpts *o)
{
	JsonbIterator *it;
	JsonbValue	k;
	JsonbValue	v;
	JsonbIteratorToken tok;

	if (opts == NULL)
		return;
	if (!JB_ROOT_IS_OBJECT(opts))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("options must be a JSON object")));
	it = JsonbIteratorInit(&opts->root);
	while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		char	   *key;
		bool		known = false;

		if (tok != WJB_KEY)
			continue;
		key = pnstrdup(k.val.string.val, k.val.string.len);
		(void) JsonbIteratorNext(&it, &v, true);
		for (int i = 0; i < nallowed; i++)
			if (strcmp(allowed[i], key) == 0)
				known = true;
		if (!known)
		{
			StringInfoData list;
			const char *near = MetaetlNearest(key, allowed, nallowed, 3);

			initStringInfo(&list);
			for (int i = 0; i < nallowed; i++)
				appendStringInfo(&list, "%s%s", i ? ", " : "", allowed[i]);
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown option \"%s\"", key),
					 near ? errdetail("Did you mean \"%s\"?", near) : 0,
					 errhint("Options are: %s.", list.data)));
		}
		if (v.type == jbvNull)
			continue;
		if (strcmp(key, "samples") == 0 || strcmp(key, "top_n") == 0)
		{
			double		d;

			if (v.type != jbvNumeric ||
				(d = DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(v.val.numeric)))) < 0 ||
				d > 1000 || d != (int) d)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("option \"%s\" must be between 0 and 1000", key)));
			if (key[0] == 's')
				o->samples = (int) d;
			else
				o->top_n = (int) d;
		}
		else if (strcmp(key, "profile") == 0 || strcmp(key, "store") == 0 ||
				 strcmp(key, "approx") == 0 || strcmp(key, "approximate") == 0)
		{
			if (v.type != jbvBool)
				qo_bad(key, "true or false");
			if (strcmp(key, "profile") == 0)
				o->profile = v.val.boolean;
			else if (strcmp(key, "store") == 0)
				o->store = v.val.boolean;
			else
				o->approximate = v.val.boolean ? 1 : 0;
		}
		else if (strcmp(key, "key_columns") == 0)
		{
			if (v.type != jbvBinary || !JsonContainerIsArray(v.val.binary.data))
				qo_bad(key, "an array of column names");
			o->key_columns = JsonbValueToJsonb(&v);
		}
		else if (strcmp(key, "weights") == 0)
			o->weights = QualityCheckWeights(JsonbValueToJsonb(&v));
		else if (strcmp(key, "pipeline_id") == 0 || strcmp(key, "quarantine") == 0)
		{
			if (v.type != jbvString)
				qo_bad(key, "a string");
			if (key[0] == 'p')
				o->pipeline_id = pnstrdup(v.val.string.val, v.val.string.len);
			else
				o->quarantine = pnstrdup(v.val.string.val, v.val.string.len);
		}
		else if (strcmp(key, "run_id") == 0)
		{
			if (v.type != jbvNumeric)
				qo_bad(key, "a run id");
			o->run_id = DatumGetInt64(DirectFunctionCall1(numeric_int8, NumericGetDatum(v.val.numeric)));
		}
	}
}

static void
qo_defaults(QOpts *o)
{
	memset(o, 0, sizeof(*o));
	o->samples = 5;
	o->approximate = -1;
	o->top_n = 10;
	o->store = true;
}

/* {"a": 1} || {"b": 2} for the weights of a profile and of a call */
static Jsonb *
qo_merge(Jsonb *a, Jsonb *b)
{
	if (a == NULL)
		return b;
	if (b == NULL)
		return a;
	return DatumGetJsonbP(DirectFunctionCall2(jsonb_concat, JsonbPGetDatum(a), JsonbPGetDatum(b)));
}

static Jsonb *
qo_jsonb(const char *s)
{
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(s)));
}

/* ------------------------------------------------------------ one evaluation */

typedef struct QRun
{
	QScan	   *s;
	QScore		score;
	int64		quarantined;
	StringInfoData failing;		/* JSON array of the failed error-severity rules */
	int			nfailing;
} QRun;

static int
qg_gate_mode(const char *gate)
{
	if (gate == NULL || strcmp(gate, "error") == 0)
		return 0;
	if (strcmp(gate, "warn") == 0)
		return 1;
	if (strcmp(gate, "none") == 0)
		return 2;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid gate \"%s\"", gate),
			 errhint("Use error, warn or none.")));
	return 0;
}

/*
 * qg_run
 *		Scan, evaluate, quarantine, record: the shared body of the gate and of
 *		execute_dq_validation.  gate -1: no gate (execute_dq_validation).
 */
static QRun *
qg_run(const char *data, const char *dataset, Jsonb *rules, QOpts *o, int64 run_id, const char *pipeline_id,
	   Jsonb *nodes, const char *profile_name, Jsonb *weights, int gate)
{
	QRun	   *r = palloc0(sizeof(QRun));
	QScan	   *s = QualityScanCreate(data, dataset, o->samples, o->key_columns);
	ListCell   *lc;

	r->s = s;
	s->run_id = run_id;
	s->pipeline_id = pipeline_id;
	s->nodes = nodes;
	s->top_n = o->top_n;
	QualityScanCompile(s, rules);
	if (o->profile)
	{
		s->profile = true;
		s->approximate = QualityProfileApproximate(s, o->approximate);
		QualityProfileCompile(s);
	}
	QualityScanExecute(s);
	QualityEvaluate(s);
	if (s->profile)
		QualityProfileResult(s);
	if (o->quarantine)
		r->quarantined = QualityQuarantine(s, o->quarantine);
	r->score = QualityRecord(s, profile_name, weights, gate);
	QualityStoreDrift(s);
	if (s->profile && o->store)
		QualityStoreProfile(s, s->profile_json);

	initStringInfo(&r->failing);
	appendStringInfoChar(&r->failing, '[');
	foreach(lc, s->checks)
	{
		QCheck	   *ch = lfirst(lc);

		if (strcmp(ch->severity, "error") == 0 && !ch->passed && !ch->quarantined)
		{
			if (r->nfailing++)
				appendStringInfoString(&r->failing, ", ");
			escape_json(&r->failing, ch->name);
		}
	}
	appendStringInfoChar(&r->failing, ']');
	return r;
}

/* the profile as returned: without what is only stored (_keep) */
static char *
qg_public_profile(QScan *s)
{
	Jsonb	   *p = qo_jsonb(s->profile_json);
	StringInfoData b;

	initStringInfo(&b);
	appendStringInfoString(&b, "{\"dataset\": ");
	escape_json(&b, s->dataset);
	appendStringInfo(&b, ", \"row_count\": %s, \"duplicate_rows\": %s, \"approximate\": %s, \"columns\": %s",
					 QJText(&p->root, "row_count"), QJText(&p->root, "duplicate_rows"),
					 QJText(&p->root, "approximate"), QJText(&p->root, "columns"));
	if (QJGet(&p->root, "duplicate_rows_approx"))
		appendStringInfoString(&b, ", \"duplicate_rows_approx\": true");
	appendStringInfoChar(&b, '}');
	return b.data;
}

/*
 * MetaetlQualityGate
 *		The in-transaction quality gate (docs/quality.md, "The quality gate"):
 *		evaluate rules (an array or a quality block) on data (a relation or a
 *		query) in one scan, record the results under dataset (NULL: data),
 *		quarantine failing rows when asked, and return {dataset, gate, passed,
 *		quality_score, dimensions, rows_checked, failed_rules, quarantined_rows,
 *		checks, score_id}.  Never raises for a failing rule; raises for bad
 *		rules or data.  nodes maps a pipeline's node ids to their relations,
 *		for referential and row_count_equal rules whose ref is a node.
 *		gate NULL takes the block's gate (default error).  Call as the role
 *		whose rights apply; the result is in the caller's memory context.
 */
Jsonb *
MetaetlQualityGate(const char *data, const char *dataset, Jsonb *rules, int64 run_id,
				   const char *pipeline_id, const char *gate, Jsonb *options, Jsonb *nodes)
{
	static const char *const block[] = {"gate", "quarantine", "weights"};
	static const char *const allowed[] = {"samples", "key_columns", "weights", "quarantine", "profile",
	"approximate", "approx", "top_n"};
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "metaetl quality gate", ALLOCSET_DEFAULT_SIZES);
	QualityRuleSet *set;
	QOpts		o;
	QRun	   *r;
	int			mode;
	StringInfoData b;
	Jsonb	   *out;

	MemoryContextSwitchTo(cxt);
	qo_defaults(&o);
	qo_parse(options, allowed, lengthof(allowed), &o);
	set = QualityNormalize(rules, block, lengthof(block));
	mode = qg_gate_mode(gate ? gate : set->gate);
	if (o.quarantine == NULL)
		o.quarantine = set->quarantine;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	r = qg_run(data, dataset, set->rules, &o, run_id, pipeline_id, nodes, NULL,
			   qo_merge(set->weights, o.weights), mode);
	if (mode == 1 && r->nfailing > 0)
		ereport(WARNING,
				(errmsg("quality gate: rules failed on %s: %s", r->s->dataset, r->failing.data)));
	initStringInfo(&b);
	appendStringInfoString(&b, "{\"dataset\": ");
	escape_json(&b, r->s->dataset);
	appendStringInfo(&b, ", \"gate\": \"%s\", \"passed\": %s, \"quality_score\": %.2f, \"dimensions\": %s, "
					 "\"rows_checked\": " INT64_FORMAT ", \"failed_rules\": %s, \"quarantined_rows\": " INT64_FORMAT
					 ", \"checks\": %s, \"score_id\": " INT64_FORMAT,
					 mode == 0 ? "error" : mode == 1 ? "warn" : "none",
					 r->score.passed ? "true" : "false", r->score.score, r->score.dimensions, r->s->rows,
					 r->failing.data, r->quarantined, QualityChecksJson(r->s, false), r->score.score_id);
	if (r->s->profile)
		appendStringInfo(&b, ", \"profile\": %s", qg_public_profile(r->s));
	appendStringInfoChar(&b, '}');
	/* the result goes to the caller's context before SPI_finish frees what SPI allocated */
	MemoryContextSwitchTo(caller);
	out = qo_jsonb(b.data);
	SPI_finish();
	MemoryContextSwitchTo(caller);
	MemoryContextDelete(cxt);
	return out;
}

/*
 * etl.quality_gate(data text, rules jsonb, run_id bigint, pipeline_id text,
 *                  gate text, options jsonb) → jsonb
 */
Datum
metaetl_quality_gate(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("no dataset given"),
				 errhint("Pass a relation name such as public.customers or a SELECT.")));
	PG_RETURN_JSONB_P(MetaetlQualityGate(text_to_cstring(PG_GETARG_TEXT_PP(0)), NULL,
										 PG_ARGISNULL(1) ? NULL : PG_GETARG_JSONB_P(1),
										 PG_ARGISNULL(2) ? 0 : PG_GETARG_INT64(2),
										 PG_ARGISNULL(3) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(3)),
										 PG_ARGISNULL(4) ? "error" : asc_tolower(text_to_cstring(PG_GETARG_TEXT_PP(4)),
																				  strlen(text_to_cstring(PG_GETARG_TEXT_PP(4)))),
										 PG_ARGISNULL(5) ? NULL : PG_GETARG_JSONB_P(5), NULL));
}

/*
 * etl.execute_dq_validation(data text, profile text, run_id bigint, options jsonb) → jsonb
 *		A named profile on a relation or SELECT: {dataset, profile_name,
 *		quality_score, passed, dimensions, rows_checked, checks, score_id,
 *		profile (with option profile)}.
 */
Datum
metaetl_execute_dq_validation(PG_FUNCTION_ARGS)
{
	static const char *const allowed[] = {"samples", "key_columns", "profile", "approx", "approximate", "top_n",
	"weights", "pipeline_id"};
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext cxt;
	char	   *data;
	char	   *profile;
	int64		run_id = PG_ARGISNULL(2) ? 0 : PG_GETARG_INT64(2);
	QOpts		o;
	Oid			t = TEXTOID;
	Datum		v;
	bool		isnull;
	Jsonb	   *rules;
	Jsonb	   *weights;
	Jsonb	   *popts;
	QRun	   *r;
	StringInfoData b;
	Jsonb	   *out;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("data and profile must not be NULL")));
	data = text_to_cstring(PG_GETARG_TEXT_PP(0));
	profile = text_to_cstring(PG_GETARG_TEXT_PP(1));
	cxt = AllocSetContextCreate(CurrentMemoryContext, "metaetl quality validation", ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(cxt);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	v = CStringGetTextDatum(profile);
	if (SPI_execute_with_args("SELECT q.rules, q.weights, q.options FROM etl.quality_profiles q WHERE q.name OPERATOR(pg_catalog.=) $1",
							  1, &t, &v, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "reading quality profile failed");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("quality profile \"%s\" does not exist", profile),
				 errhint("Create it with etl.define_quality_profile(name, rules).")));
	rules = DatumGetJsonbPCopy(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	weights = DatumGetJsonbPCopy(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	popts = DatumGetJsonbPCopy(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
	qo_defaults(&o);
	qo_parse(popts, allowed, lengthof(allowed), &o);
	qo_parse(PG_ARGISNULL(3) ? NULL : PG_GETARG_JSONB_P(3), allowed, lengthof(allowed), &o);
	if (run_id != 0 && o.pipeline_id == NULL)
	{
		Oid			it = INT8OID;
		Datum		iv = Int64GetDatum(run_id);

		if (SPI_execute_with_args("SELECT r.pipeline_id FROM etl.pipeline_runs r WHERE r.run_id OPERATOR(pg_catalog.=) $1",
								  1, &it, &iv, NULL, true, 1) == SPI_OK_SELECT && SPI_processed == 1)
			o.pipeline_id = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	}
	/* a stored profile was normalised when defined; normalising again is a no-op check */
	rules = QualityNormalize(rules, NULL, 0)->rules;
	r = qg_run(data, NULL, rules, &o, run_id, o.pipeline_id, NULL, profile,
			   qo_merge(weights, o.weights), -1);
	initStringInfo(&b);
	appendStringInfoString(&b, "{\"dataset\": ");
	escape_json(&b, r->s->dataset);
	appendStringInfoString(&b, ", \"profile_name\": ");
	escape_json(&b, profile);
	appendStringInfo(&b, ", \"quality_score\": %.2f, \"passed\": %s, \"dimensions\": %s, \"rows_checked\": " INT64_FORMAT
					 ", \"checks\": %s, \"score_id\": " INT64_FORMAT,
					 r->score.score, r->score.passed ? "true" : "false", r->score.dimensions, r->s->rows,
					 QualityChecksJson(r->s, false), r->score.score_id);
	if (r->s->profile)
		appendStringInfo(&b, ", \"profile\": %s", qg_public_profile(r->s));
	appendStringInfoChar(&b, '}');
	MemoryContextSwitchTo(caller);
	out = qo_jsonb(b.data);
	SPI_finish();
	MemoryContextSwitchTo(caller);
	MemoryContextDelete(cxt);
	PG_RETURN_JSONB_P(out);
}

/*
 * etl.profile(data text, options jsonb) → jsonb
 *		{dataset, row_count, duplicate_rows, approximate, columns}; stored in
 *		etl.profiling_stats unless store is false.
 */
Datum
metaetl_profile(PG_FUNCTION_ARGS)
{
	static const char *const allowed[] = {"approx", "approximate", "top_n", "run_id", "store"};
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext cxt;
	QOpts		o;
	QScan	   *s;
	char	   *res;
	Jsonb	   *out;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("no dataset given")));
	cxt = AllocSetContextCreate(CurrentMemoryContext, "metaetl profile", ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(cxt);
	qo_defaults(&o);
	qo_parse(PG_ARGISNULL(1) ? NULL : PG_GETARG_JSONB_P(1), allowed, lengthof(allowed), &o);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	s = QualityScanCreate(text_to_cstring(PG_GETARG_TEXT_PP(0)), NULL, 0, NULL);
	s->run_id = o.run_id;
	s->top_n = o.top_n;
	s->profile = true;
	s->approximate = QualityProfileApproximate(s, o.approximate);
	QualityProfileCompile(s);
	QualityScanExecute(s);
	QualityProfileResult(s);
	if (o.store)
		QualityStoreProfile(s, s->profile_json);
	res = qg_public_profile(s);
	MemoryContextSwitchTo(caller);
	out = qo_jsonb(res);
	SPI_finish();
	MemoryContextSwitchTo(caller);
	MemoryContextDelete(cxt);
	PG_RETURN_JSONB_P(out);
}

/*
 * etl.define_quality_profile(name text, rules jsonb) → void
 *		rules: an array, or {rules, weights, options}; normalised (rules.c)
 *		and stored in etl.quality_profiles, replacing a profile of that name.
 */
Datum
metaetl_define_quality_profile(PG_FUNCTION_ARGS)
{
	static const char *const block[] = {"weights", "options", "gate", "quarantine"};
	static const char *const allowed[] = {"samples", "key_columns", "profile", "approx", "approximate", "top_n"};
	char	   *name = PG_ARGISNULL(0) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(0));
	QualityRuleSet *set;
	QOpts		o;
	Oid			types[4] = {TEXTOID, JSONBOID, JSONBOID, JSONBOID};
	Datum		values[4];

	if (name == NULL || !MetaetlIdentValid(name))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid quality profile name \"%s\"", name ? name : ""),
				 errhint("A profile name is lower-case ASCII: [a-z][a-z0-9_]*, at most 63 bytes.")));
	set = QualityNormalize(PG_ARGISNULL(1) ? NULL : PG_GETARG_JSONB_P(1), block, lengthof(block));
	qo_defaults(&o);
	qo_parse(set->options, allowed, lengthof(allowed), &o);
	values[0] = CStringGetTextDatum(name);
	values[1] = JsonbPGetDatum(set->rules);
	values[2] = JsonbPGetDatum(set->weights ? set->weights : qo_jsonb("{}"));
	values[3] = JsonbPGetDatum(set->options ? set->options : qo_jsonb("{}"));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("INSERT INTO etl.quality_profiles AS q (name, rules, weights, options) VALUES ($1, $2, $3, $4)"
							  " ON CONFLICT ON CONSTRAINT quality_profiles_pkey DO UPDATE"
							  " SET rules = excluded.rules, weights = excluded.weights, options = excluded.options,"
							  "     updated_at = pg_catalog.now()", 4, types, values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "storing the quality profile failed");
	SPI_finish();
	PG_RETURN_VOID();
}

/* ------------------------------------------------------------ pipeline runs */

static JsonbContainer *
qg_path(Jsonb *config, const char *a, const char *b)
{
	JsonbContainer *c = QJObj(&config->root, a);

	return c && b ? QJObj(c, b) : c;
}

/* a target id's input node; NULL when id is not a target */
static const char *
qg_target_input(Jsonb *config, const char *id)
{
	JsonbContainer *targets = qg_path(config, "pipeline", NULL);

	targets = targets ? QJObj(targets, "targets") : NULL;
	for (int i = 0; targets && i < (int) JsonContainerSize(targets); i++)
	{
		JsonbValue *t = getIthJsonbValueFromContainer(targets, i);
		const char *tid;

		if (t->type != jbvBinary || (tid = QJStr(t->val.binary.data, "id")) == NULL)
			continue;
		if (strcmp(tid, id) == 0)
			return QJStr(t->val.binary.data, "input");
	}
	return NULL;
}

/*
 * MetaetlQualityNodes
 *		The node ids a pipeline's rules need materialised before the load:
 *		the nodes they check (on) and the nodes their ref names (a target id
 *		stands for the node it loads).  config is the normalised pipeline.
 */
List *
MetaetlQualityNodes(Jsonb *config)
{
	JsonbContainer *rules = qg_path(config, "pipeline", "quality");
	List	   *out = NIL;

	rules = rules ? QJObj(rules, "rules") : NULL;
	for (int i = 0; rules && i < (int) JsonContainerSize(rules); i++)
	{
		JsonbValue *r = getIthJsonbValueFromContainer(rules, i);
		const char *ids[3];

		if (r->type != jbvBinary)
			continue;
		ids[0] = QJStr(r->val.binary.data, "on");
		ids[1] = QJStr(r->val.binary.data, "ref");
		ids[2] = QJStr(r->val.binary.data, "ref_table");
		for (int k = 0; k < 3; k++)
		{
			const char *id = ids[k];
			const char *in;
			ListCell   *lc;
			bool		dup = false;

			if (id == NULL)
				continue;
			if (k > 0 && (in = qg_target_input(config, id)) != NULL)
				id = in;
			foreach(lc, out)
				if (strcmp(lfirst(lc), id) == 0)
					dup = true;
			if (!dup)
				out = lappend(out, pstrdup(id));
		}
	}
	return out;
}

/*
 * MetaetlQualityRunGates
 *		A pipeline run's gate, before its targets load: for every node that
 *		rules name (on:), etl.quality_gate's evaluation with those rules and
 *		the pipeline's gate, the results recorded under the node's id.  nodes
 *		maps node ids to their materialised relations (targets' ids map to
 *		their input's).  Returns {"node": gate result, ...} ({} without
 *		rules) and fills out.  Raises nothing for failing rules: the caller
 *		decides (out->gate error and !out->passed: roll the load back).
 */
Jsonb *
MetaetlQualityRunGates(Jsonb *config, Jsonb *nodes, int64 run_id, const char *pipeline_id,
					   MetaetlQualityOutcome *out)
{
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "metaetl run quality", ALLOCSET_DEFAULT_SIZES);
	JsonbContainer *q = qg_path(config, "pipeline", "quality");
	JsonbContainer *rules = q ? QJObj(q, "rules") : NULL;
	const char *gate = q && QJStr(q, "gate") ? QJStr(q, "gate") : "error";
	StringInfoData res;
	StringInfoData map;
	StringInfoData failed;
	List	   *done = NIL;
	Jsonb	   *nodemap;
	Jsonb	   *result;

	MemoryContextSwitchTo(cxt);
	memset(out, 0, sizeof(*out));
	out->passed = true;
	out->score = 100.0;
	out->gate = pstrdup(gate);
	initStringInfo(&res);
	initStringInfo(&map);
	initStringInfo(&failed);
	appendStringInfoChar(&res, '{');

	/* node ids to relations, targets' ids too */
	appendStringInfoString(&map, nodes ? JsonbToCString(NULL, &nodes->root, 256) : "{}");
	{
		JsonbContainer *targets = qg_path(config, "pipeline", NULL);

		targets = targets ? QJObj(targets, "targets") : NULL;
		for (int i = 0; nodes && targets && i < (int) JsonContainerSize(targets); i++)
		{
			JsonbValue *t = getIthJsonbValueFromContainer(targets, i);
			const char *tid = t->type == jbvBinary ? QJStr(t->val.binary.data, "id") : NULL;
			const char *in = t->type == jbvBinary ? QJStr(t->val.binary.data, "input") : NULL;
			const char *rel = in ? QJStr(&nodes->root, in) : NULL;

			if (tid && rel && QJGet(&nodes->root, tid) == NULL)
			{
				map.len--;		/* reopen the object */
				if (map.len > 1)
					appendStringInfoString(&map, ", ");
				escape_json(&map, tid);
				appendStringInfoString(&map, ": ");
				escape_json(&map, rel);
				appendStringInfoChar(&map, '}');
			}
		}
	}
	nodemap = qo_jsonb(map.data);

	for (int i = 0; rules && i < (int) JsonContainerSize(rules); i++)
	{
		JsonbValue *r = getIthJsonbValueFromContainer(rules, i);
		const char *on = r->type == jbvBinary ? QJStr(r->val.binary.data, "on") : NULL;
		const char *rel;
		StringInfoData mine;
		ListCell   *lc;
		bool		seen = false;
		Jsonb	   *g;
		JsonbContainer *checks;
		double		score;

		if (on == NULL || (rel = QJStr(&nodemap->root, on)) == NULL)
			continue;
		foreach(lc, done)
			if (strcmp(lfirst(lc), on) == 0)
				seen = true;
		if (seen)
			continue;
		done = lappend(done, (char *) on);

		/* the node's rules, in the quality block's order */
		initStringInfo(&mine);
		appendStringInfoString(&mine, "{\"rules\": [");
		for (int j = i; j < (int) JsonContainerSize(rules); j++)
		{
			JsonbValue *rj = getIthJsonbValueFromContainer(rules, j);
			const char *onj = QJStr(rj->val.binary.data, "on");

			if (onj && strcmp(onj, on) == 0)
				appendStringInfo(&mine, "%s%s", mine.len > 11 ? ", " : "",
								 JsonbToCString(NULL, rj->val.binary.data, 256));
		}
		appendStringInfoString(&mine, "]");
		if (QJGet(q, "quarantine"))
			appendStringInfo(&mine, ", \"quarantine\": %s", QJText(q, "quarantine"));
		if (QJGet(q, "weights"))
			appendStringInfo(&mine, ", \"weights\": %s", QJText(q, "weights"));
		appendStringInfoChar(&mine, '}');

		g = MetaetlQualityGate(rel, on, qo_jsonb(mine.data), run_id, pipeline_id, gate, NULL, nodemap);
		out->ran = true;
		out->passed = out->passed && QJBool(&g->root, "passed", true);
		if (QJNum(&g->root, "quality_score", &score) && score < out->score)
			out->score = score;
		checks = QJObj(&g->root, "checks");
		for (int k = 0; checks && k < (int) JsonContainerSize(checks); k++)
		{
			JsonbValue *c = getIthJsonbValueFromContainer(checks, k);

			if (!QJBool(c->val.binary.data, "passed", true))
				appendStringInfo(&failed, "%s%s", failed.len ? ", " : "", QJStr(c->val.binary.data, "rule"));
		}
		if (res.len > 1)
			appendStringInfoString(&res, ", ");
		escape_json(&res, on);
		appendStringInfo(&res, ": %s", JsonbToCString(NULL, &g->root, 1024));
	}
	appendStringInfoChar(&res, '}');
	MemoryContextSwitchTo(caller);
	result = qo_jsonb(res.data);
	out->gate = pstrdup(gate);
	out->failed_rules = failed.len ? pstrdup(failed.data) : NULL;
	MemoryContextDelete(cxt);
	return result;
}
