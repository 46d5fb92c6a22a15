/*-------------------------------------------------------------------------
 *
 * src/config/registry.c
 *		SQL functions of the configuration subsystem: validate, register,
 *		export, load, and the raw parse functions.
 *
 * etl.register_pipeline stores the normalised config (src/config/validate.c)
 * in etl.pipelines and adds an etl.pipeline_versions row only when the spec
 * hash (sha256 of the normalised jsonb's text) changed.  A configuration with
 * errors raises ONE error listing them and changes nothing.
 * etl.export_pipeline writes the stored config with the libyaml emitter
 * (src/config/emit.c); the output registers back to the same spec hash.
 * The simpler functions (load_pipeline_config, drop_pipeline, pipeline_diff,
 * add_connection, get_connection_config) are SQL, in sql/install/50_config.sql.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

#include "config/config.h"
#include "util/json.h"

PG_FUNCTION_INFO_V1(metaetl_validate_config);
PG_FUNCTION_INFO_V1(metaetl_register_pipeline);
PG_FUNCTION_INFO_V1(metaetl_export_pipeline);
PG_FUNCTION_INFO_V1(metaetl_load_configuration);
PG_FUNCTION_INFO_V1(metaetl_parse_config);
PG_FUNCTION_INFO_V1(metaetl_config_positions);

/* etl.validate_config(config text) → TABLE(severity, path, line, col, message) */
Datum
metaetl_validate_config(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	text	   *config = PG_GETARG_TEXT_PP(0);
	CfgValidation *v;
	ListCell   *lc;

	InitMaterializedSRF(fcinfo, 0);
	v = MetaetlValidateConfig(VARDATA_ANY(config), VARSIZE_ANY_EXHDR(config));
	foreach(lc, v->problems)
	{
		CfgProblem *p = lfirst(lc);
		Datum		values[5];
		bool		nulls[5] = {false, false, false, false, false};

		values[0] = CStringGetTextDatum(p->is_error ? "error" : "warning");
		values[1] = CStringGetTextDatum(p->path);
		values[2] = Int32GetDatum(p->line);
		values[3] = Int32GetDatum(p->col);
		nulls[2] = nulls[3] = p->line == 0;
		values[4] = CStringGetTextDatum(p->message);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * cfg_validated
 *		Validate text; raise the one error when it has errors; report
 *		warnings and notices.  The normalised config as jsonb.
 */
static Jsonb *
cfg_validated(text *config, bool report)
{
	CfgValidation *v = MetaetlValidateConfig(VARDATA_ANY(config), VARSIZE_ANY_EXHDR(config));
	ListCell   *lc;

	MetaetlRaiseProblems(v);
	if (report)
	{
		foreach(lc, v->problems)
		{
			CfgProblem *p = lfirst(lc);

			/* registering before the tables exist is a normal order of work */
			ereport(p->not_yet ? NOTICE : WARNING,
					(errcode(ERRCODE_WARNING),
					 errmsg("%.*s", pg_mbcliplen(p->message, strlen(p->message), CFG_LOG_PROBLEM_MAX), p->message),
					 errdetail("At %.*s, line %d, column %d.", pg_mbcliplen(p->path, strlen(p->path), CFG_LOG_PROBLEM_MAX),
							   p->path, p->line, p->col)));
		}
		foreach(lc, v->notices)
			ereport(NOTICE, (errmsg("%s", (char *) lfirst(lc))));
	}
	return MetaetlTreeToJsonb(v->normalized);
}

/* etl.load_configuration(config text) → jsonb: the normalised config, stored nowhere */
Datum
metaetl_load_configuration(PG_FUNCTION_ARGS)
{
	PG_RETURN_JSONB_P(cfg_validated(PG_GETARG_TEXT_PP(0), false));
}

/* the string at jb->k1->k2 (e.g. pipeline.id), or NULL */
static char *
cfg_jsonb_text_field(Jsonb *jb, const char *k1, const char *k2)
{
	return MetaetlJString(MetaetlJContainer(&jb->root, k1), k2);
}

/* etl.register_pipeline(config text) → text */
Datum
metaetl_register_pipeline(PG_FUNCTION_ARGS)
{
	text	   *config = PG_GETARG_TEXT_PP(0);
	Jsonb	   *jb = cfg_validated(config, true);
	char	   *id = cfg_jsonb_text_field(jb, "pipeline", "id");
	char	   *name = cfg_jsonb_text_field(jb, "pipeline", "name");
	char	   *description = cfg_jsonb_text_field(jb, "pipeline", "description");
	char	   *engine = cfg_jsonb_text_field(jb, "pipeline", "engine");
	char	   *hash;
	Oid			types[7] = {TEXTOID, TEXTOID, TEXTOID, JSONBOID, TEXTOID, TEXTOID, TEXTOID};
	Datum		values[7];
	char		nulls[7] = {' ', ' ', ' ', ' ', ' ', ' ', ' '};
	bool		isnull;
	bool		stored = false;
	int			ret;

	if (id == NULL || name == NULL || engine == NULL)
		elog(ERROR, "normalised configuration lacks pipeline id, name or engine");

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	values[0] = JsonbPGetDatum(jb);
	ret = SPI_execute_with_args("SELECT pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to($1::pg_catalog.text, 'UTF8')), 'hex')",
								1, &types[3], values, NULL, true, 1);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not compute the spec hash");
	hash = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

	values[0] = CStringGetTextDatum(id);
	values[1] = CStringGetTextDatum(name);
	values[2] = description ? CStringGetTextDatum(description) : (Datum) 0;
	nulls[2] = description ? ' ' : 'n';
	values[3] = JsonbPGetDatum(jb);
	values[4] = CStringGetTextDatum(hash);
	values[5] = CStringGetTextDatum(engine);
	values[6] = PointerGetDatum(config);

	for (int attempt = 0;; attempt++)
	{
		/* lock the pipeline's row (if any) and check who may change it */
		ret = SPI_execute_with_args("SELECT spec_hash, pg_catalog.pg_has_role(CURRENT_USER, owner, 'MEMBER'), owner::pg_catalog.text "
									"FROM etl.pipelines WHERE pipeline_id OPERATOR(pg_catalog.=) $1 FOR UPDATE",
									1, types, values, NULL, false, 1);
		if (ret != SPI_OK_SELECT)
			elog(ERROR, "could not read etl.pipelines");

		if (SPI_processed == 0)
		{
			ret = SPI_execute_with_args("INSERT INTO etl.pipelines (pipeline_id, name, description, config, spec_hash, engine, tags, current_version) "
										"VALUES ($1, $2, $3, $4, $5, $6, ARRAY(SELECT pg_catalog.jsonb_array_elements_text($4 OPERATOR(pg_catalog.->) 'pipeline' OPERATOR(pg_catalog.->) 'tags')), 1) "
										"ON CONFLICT (pipeline_id) DO NOTHING",
										7, types, values, nulls, false, 0);
			if (ret != SPI_OK_INSERT)
				elog(ERROR, "could not insert the pipeline");
			if (SPI_processed == 0)
			{
				/* registered concurrently (and committed): take the update path */
				if (attempt == 0)
					continue;
				/*
				 * It exists, but row-level security hides it from this role.
				 * Ids are unique in the database, so the id is taken; the
				 * error says no more than that (not whose, not what).
				 */
				ereport(ERROR,
						(errcode(ERRCODE_DUPLICATE_OBJECT),
						 errmsg("pipeline id \"%s\" is not available", id),
						 errhint("Pipeline ids are unique in the database; choose another id.")));
			}
			ret = SPI_execute_with_args("INSERT INTO etl.pipeline_versions (pipeline_id, version, config, source_text, spec_hash) "
										"VALUES ($1, 1, $4, $7, $5)",
										7, types, values, nulls, false, 0);
			if (ret != SPI_OK_INSERT)
				elog(ERROR, "could not insert the pipeline's first version");
			stored = true;
			/* the audit trigger on etl.pipelines records the registration */
		}
		else
		{
			char	   *old_hash = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
			bool		may = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
			char	   *owner = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3);

			if (!may)
				ereport(ERROR,
						(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
						 errmsg("pipeline \"%s\" belongs to role \"%s\"", id, owner),
						 errhint("Only members of the owning role may register a new version.")));
			if (old_hash == NULL || strcmp(old_hash, hash) != 0)
			{
				ret = SPI_execute_with_args("WITH v AS (INSERT INTO etl.pipeline_versions (pipeline_id, version, config, source_text, spec_hash) "
											"SELECT $1, pg_catalog.max(version) OPERATOR(pg_catalog.+) 1, $4, $7, $5 "
											"FROM etl.pipeline_versions WHERE pipeline_id OPERATOR(pg_catalog.=) $1 RETURNING version) "
											"UPDATE etl.pipelines SET name = $2, description = $3, config = $4, spec_hash = $5, engine = $6, "
											"tags = ARRAY(SELECT pg_catalog.jsonb_array_elements_text($4 OPERATOR(pg_catalog.->) 'pipeline' OPERATOR(pg_catalog.->) 'tags')), "
											"current_version = (SELECT version FROM v), updated_at = pg_catalog.now() "
											"WHERE pipeline_id OPERATOR(pg_catalog.=) $1",
											7, types, values, nulls, false, 0);
				if (ret != SPI_OK_UPDATE)
					elog(ERROR, "could not store the new pipeline version");
				/* the audit trigger on etl.pipelines records the new version */
				stored = true;
			}
		}
		break;
	}

	/*
	 * A stored version's schedule: and sla: blocks take effect: the schedule
	 * is (re)registered when the config has one; SLA definitions follow the
	 * sla: block (an absent block disables the ones an earlier version made).
	 */
	if (stored)
	{
		ret = SPI_execute_with_args("SELECT etl.apply_schedule_config($1, $4 OPERATOR(pg_catalog.->) 'pipeline' OPERATOR(pg_catalog.->) 'schedule') "
									" WHERE pg_catalog.jsonb_typeof($4 OPERATOR(pg_catalog.->) 'pipeline' OPERATOR(pg_catalog.->) 'schedule') = 'object'",
									7, types, values, nulls, false, 0);
		if (ret != SPI_OK_SELECT)
			elog(ERROR, "could not apply the schedule of pipeline \"%s\"", id);
		ret = SPI_execute_with_args("SELECT etl.apply_sla_config($1, COALESCE($4 OPERATOR(pg_catalog.->) 'pipeline' OPERATOR(pg_catalog.->) 'sla', '{}')) "
									" WHERE pg_catalog.jsonb_typeof($4 OPERATOR(pg_catalog.->) 'pipeline' OPERATOR(pg_catalog.->) 'sla') = 'object'"
									"    OR EXISTS (SELECT 1 FROM etl.sla_definitions d WHERE d.pipeline_id OPERATOR(pg_catalog.=) $1)",
									7, types, values, nulls, false, 0);
		if (ret != SPI_OK_SELECT)
			elog(ERROR, "could not apply the SLAs of pipeline \"%s\"", id);
	}
	SPI_finish();
	PG_RETURN_TEXT_P(cstring_to_text(id));
}

/* etl.export_pipeline(pipeline_id text) → text */
Datum
metaetl_export_pipeline(PG_FUNCTION_ARGS)
{
	text	   *id = PG_GETARG_TEXT_PP(0);
	Oid			types[1] = {TEXTOID};
	Datum		values[1];
	bool		isnull;
	Jsonb	   *jb = NULL;
	MemoryContext oldcxt = CurrentMemoryContext;
	CfgArena   *arena;
	CfgNode    *tree;
	char	   *yaml;
	size_t		len;
	char		err[256];
	text	   *result;

	values[0] = PointerGetDatum(id);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("SELECT config FROM etl.pipelines WHERE pipeline_id OPERATOR(pg_catalog.=) $1",
							  1, types, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read etl.pipelines");
	if (SPI_processed == 1)
	{
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		MemoryContext spicxt = MemoryContextSwitchTo(oldcxt);

		jb = DatumGetJsonbPCopy(d);
		MemoryContextSwitchTo(spicxt);
	}
	SPI_finish();
	if (jb == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("pipeline \"%s\" does not exist", text_to_cstring(id))));

	arena = MetaetlArenaForContext(0);
	tree = MetaetlJsonbToTree(arena, jb);
	yaml = CfgEmit(tree, &len, err, sizeof(err));
	if (yaml == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not write pipeline \"%s\" as YAML: %s", text_to_cstring(id), err)));
	result = cstring_to_text_with_len(yaml, (int) len);
	free(yaml);
	PG_RETURN_TEXT_P(result);
}

/* etl.parse_config(config text) → jsonb: YAML/JSON as jsonb, nothing checked */
Datum
metaetl_parse_config(PG_FUNCTION_ARGS)
{
	text	   *config = PG_GETARG_TEXT_PP(0);
	CfgDoc	   *doc = MetaetlParseConfigText(VARDATA_ANY(config), VARSIZE_ANY_EXHDR(config));

	if (doc->failed)
		ereport(ERROR,
				(errcode(doc->limit_hit ? ERRCODE_INVALID_PARAMETER_VALUE : ERRCODE_SYNTAX_ERROR),
				 errmsg("%s", doc->error),
				 errhidestmt(VARSIZE_ANY_EXHDR(config) > CFG_LOG_STATEMENT_MAX),
				 doc->err_line ? errdetail("At line %d, column %d.", doc->err_line, doc->err_col) : 0));
	PG_RETURN_JSONB_P(MetaetlTreeToJsonb(doc->root));
}

static void
cfg_positions(Tuplestorestate *ts, TupleDesc desc, const CfgNode *n, const char *path, int depth)
{
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};

	check_stack_depth();
	CHECK_FOR_INTERRUPTS();
	values[0] = CStringGetTextDatum(path);
	values[1] = Int32GetDatum(n->line);
	values[2] = Int32GetDatum(n->col);
	values[3] = CStringGetTextDatum(CfgKindName(n->kind));
	tuplestore_putvalues(ts, desc, values, nulls);
	if (n->kind == CFG_SEQ)
		for (int i = 0; i < n->n; i++)
			cfg_positions(ts, desc, n->items[i], psprintf("%s[%d]", path, i), depth + 1);
	else if (n->kind == CFG_MAP)
		for (int i = 0; i < n->n; i++)
			cfg_positions(ts, desc, n->pairs[i].value,
						  path[0] ? psprintf("%s.%s", path, n->pairs[i].key->str) : n->pairs[i].key->str,
						  depth + 1);
}

/* etl.config_positions(config text) → TABLE(path, line, col, kind): where every node is */
Datum
metaetl_config_positions(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	text	   *config = PG_GETARG_TEXT_PP(0);
	CfgDoc	   *doc;

	InitMaterializedSRF(fcinfo, 0);
	doc = MetaetlParseConfigText(VARDATA_ANY(config), VARSIZE_ANY_EXHDR(config));
	if (doc->failed)
		ereport(ERROR,
				(errcode(doc->limit_hit ? ERRCODE_INVALID_PARAMETER_VALUE : ERRCODE_SYNTAX_ERROR),
				 errmsg("%s", doc->error),
				 errhidestmt(VARSIZE_ANY_EXHDR(config) > CFG_LOG_STATEMENT_MAX),
				 doc->err_line ? errdetail("At line %d, column %d.", doc->err_line, doc->err_col) : 0));
	cfg_positions(rsinfo->setResult, rsinfo->setDesc, doc->root, "", 0);
	return (Datum) 0;
}
