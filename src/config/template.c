/*-------------------------------------------------------------------------
 *
 * src/config/template.c
 *		etl.render_template: templates in SQL text rendered as quoted literals,
 *		and in other text (URLs, XML envelopes, JSON bodies) escaped for it.
 *
 * docs/configuration.md, "Templates".  {{last_run}}, {{run_id}}, {{watermark}},
 * {{logical_date}} and {{param.NAME}} come from the context jsonb,
 * {{env.NAME}} from the admin-managed table etl.settings (never the server's
 * process environment).  A bare template becomes a quoted literal (NULL when
 * the value is null); one inside '...' is replaced by the value escaped for
 * that literal.  A template inside a quoted identifier, an E'' or
 * dollar-quoted string or a comment is refused.  {{input}} and {{input.ID}}
 * (sql steps) are left as they are for the transform compiler.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "parser/parser.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "config/config.h"
#include "metaetl.h"
#include "security/security.h"

PG_FUNCTION_INFO_V1(metaetl_render_template);

/* the text of a jsonb scalar (or a container's JSON text); NULL for null */
static char *
tpl_jsonb_text(JsonbValue *v)
{
	switch (v->type)
	{
		case jbvNull:
			return NULL;
		case jbvString:
			return pnstrdup(v->val.string.val, v->val.string.len);
		case jbvBool:
			return pstrdup(v->val.boolean ? "true" : "false");
		case jbvNumeric:
			return DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));
		default:
			return JsonbToCString(NULL, &JsonbValueToJsonb(v)->root, 0);
	}
}

/* context->key, or NULL (missing or null); *found tells whether the key exists */
static char *
tpl_lookup(Jsonb *context, const char *key, const char *sub, bool *found)
{
	JsonbValue *v;
	JsonbValue	k;

	*found = false;
	if (context == NULL || !JB_ROOT_IS_OBJECT(context))
		return NULL;
	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = strlen(key);
	v = findJsonbValueFromContainer(&context->root, JB_FOBJECT, &k);
	if (v == NULL)
		return NULL;
	if (sub)
	{
		if (v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data))
			return NULL;
		k.val.string.val = (char *) sub;
		k.val.string.len = strlen(sub);
		v = findJsonbValueFromContainer(v->val.binary.data, JB_FOBJECT, &k);
		if (v == NULL)
			return NULL;
	}
	*found = true;
	if (v->type == jbvBinary)
		return JsonbToCString(NULL, v->val.binary.data, v->val.binary.len);
	return tpl_jsonb_text(v);
}

static char *
tpl_setting(const char *name, bool *found)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];
	char	   *result = NULL;
	MemoryContext oldcxt = CurrentMemoryContext;
	MetaetlPrivState st;

	*found = false;
	values[0] = CStringGetTextDatum(name);
	/* etl.settings is not readable by PUBLIC: metaetl reads it for the run */
	MetaetlOwnerBegin(&st);
	SPI_connect();
	if (MetaetlSpiExec("SELECT value FROM etl.settings WHERE name OPERATOR(pg_catalog.=) $1",
					   1, argtypes, values, NULL, true, 1) == SPI_OK_SELECT &&
		SPI_processed == 1)
	{
		char	   *v = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

		*found = true;
		if (v)
			result = MemoryContextStrdup(oldcxt, v);
	}
	SPI_finish();
	MetaetlOwnerEnd(&st);
	return result;
}

/*
 * tpl_value
 *		The value of template "name" from context (or etl.settings for
 *		env.NAME); NULL for a null value.  Raises for an unknown template or
 *		a param / setting that has no value.
 */
static char *
tpl_value(const char *name, Jsonb *context)
{
	char	   *value = NULL;
	bool		found = false;

	if (strcmp(name, "last_run") == 0)
	{
		value = tpl_lookup(context, "last_run", NULL, &found);
		if (!found)
			value = pstrdup("-infinity");
	}
	else if (strcmp(name, "run_id") == 0 || strcmp(name, "watermark") == 0 ||
			 strcmp(name, "logical_date") == 0)
		value = tpl_lookup(context, name, NULL, &found);
	else if (strncmp(name, "param.", 6) == 0 && name[6])
	{
		value = tpl_lookup(context, "param", name + 6, &found);
		if (!found)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("template {{%s}} has no value", name),
					 errdetail("The context has no param.%s.", name + 6)));
	}
	else if (strncmp(name, "env.", 4) == 0 && name[4])
	{
		value = tpl_setting(name + 4, &found);
		if (!found)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("template {{%s}} names setting \"%s\", which does not exist", name, name + 4),
					 errhint("An administrator adds it to etl.settings.")));
	}
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown template {{%s}}", name),
				 errhint("Known templates: {{last_run}}, {{run_id}}, {{watermark}}, {{logical_date}}, {{param.NAME}}, {{env.NAME}}.")));
	return value;
}

/* the templates of tmpl (palloc'd array), or an error for a malformed one */
static CfgTemplateRef *
tpl_scan(const char *tmpl, int *n)
{
	int			max = 1;
	CfgTemplateRef *refs;
	char		err[256];

	for (const char *p = tmpl; (p = strstr(p, "{{")) != NULL; p += 2)
		max++;
	refs = palloc(sizeof(CfgTemplateRef) * max);
	*n = CfgTemplateScan(tmpl, refs, max, err, sizeof(err));
	if (*n < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid template: %s", err)));
	return refs;
}

/*
 * MetaetlRenderTemplate
 *		tmpl with every template rendered (palloc'd).  Raises an error for an
 *		unusable template.
 */
char *
MetaetlRenderTemplate(const char *tmpl, Jsonb *context)
{
	int			n;
	CfgTemplateRef *refs = tpl_scan(tmpl, &n);
	StringInfoData out;
	size_t		pos = 0;

	initStringInfo(&out);
	for (int i = 0; i < n; i++)
	{
		CfgTemplateRef *r = &refs[i];
		const char *name = r->name;
		char	   *value;

		appendBinaryStringInfo(&out, tmpl + pos, (int) (r->start - pos));
		pos = r->end;
		if (strcmp(name, "input") == 0 || strncmp(name, "input.", 6) == 0)
		{
			appendBinaryStringInfo(&out, tmpl + r->start, (int) (r->end - r->start));
			continue;
		}
		if (r->ctx == CFG_TPL_UNSAFE)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("template {{%s}} cannot be safely rendered", name),
					 errdetail("It stands in %s.", r->where),
					 errhint("Write the template bare (it becomes a quoted literal) or inside a plain '...' string.")));
		value = tpl_value(name, context);

		if (r->ctx == CFG_TPL_OUTSIDE)
			appendStringInfoString(&out, value ? quote_literal_cstr(value) : "NULL");
		else
		{
			if (value == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("template {{%s}} is null and stands inside quotes", name),
						 errhint("Write the template bare, so a null value renders as NULL.")));
			for (const char *p = value; *p; p++)
			{
				if (*p == '\'' || (*p == '\\' && !standard_conforming_strings))
					appendStringInfoChar(&out, *p);
				appendStringInfoChar(&out, *p);
			}
		}
	}
	appendStringInfoString(&out, tmpl + pos);
	return out.data;
}

/*
 * MetaetlRenderTemplateAs
 *		tmpl, which is not SQL (a URL, a query parameter, an XML envelope, a
 *		JSON text), with every template replaced by its value escaped for
 *		"esc": percent-encoded (RFC 3986 unreserved characters kept),
 *		XML-escaped (& < > " '), escaped for the inside of a JSON string, or
 *		as it is (METAETL_TPL_RAW: the caller escapes the whole result, as
 *		the HTTP connector does for a query parameter's value).  A null value
 *		renders as the empty string.  SQL quoting rules do not apply here, so
 *		a quote in the text is just text.
 */
char *
MetaetlRenderTemplateAs(const char *tmpl, Jsonb *context, MetaetlTemplateEscape esc)
{
	int			n;
	CfgTemplateRef *refs;
	StringInfoData out;
	size_t		pos = 0;

	if (strstr(tmpl, "{{") == NULL)
		return pstrdup(tmpl);
	refs = tpl_scan(tmpl, &n);
	initStringInfo(&out);
	for (int i = 0; i < n; i++)
	{
		CfgTemplateRef *r = &refs[i];
		char	   *value;

		appendBinaryStringInfo(&out, tmpl + pos, (int) (r->start - pos));
		pos = r->end;
		value = tpl_value(r->name, context);
		if (value == NULL)
			continue;
		for (const unsigned char *p = (const unsigned char *) value; *p; p++)
		{
			switch (esc)
			{
				case METAETL_TPL_RAW:
					appendStringInfoChar(&out, (char) *p);
					break;
				case METAETL_TPL_URL:
					if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
						*p == '-' || *p == '.' || *p == '_' || *p == '~')
						appendStringInfoChar(&out, (char) *p);
					else
						appendStringInfo(&out, "%%%02X", *p);
					break;
				case METAETL_TPL_XML:
					if (*p == '&')
						appendStringInfoString(&out, "&amp;");
					else if (*p == '<')
						appendStringInfoString(&out, "&lt;");
					else if (*p == '>')
						appendStringInfoString(&out, "&gt;");
					else if (*p == '"')
						appendStringInfoString(&out, "&quot;");
					else if (*p == '\'')
						appendStringInfoString(&out, "&apos;");
					else
						appendStringInfoChar(&out, (char) *p);
					break;
				case METAETL_TPL_JSON:
					if (*p == '"' || *p == '\\')
						appendStringInfo(&out, "\\%c", *p);
					else if (*p < 0x20)
						appendStringInfo(&out, "\\u%04x", *p);
					else
						appendStringInfoChar(&out, (char) *p);
					break;
			}
		}
	}
	appendStringInfoString(&out, tmpl + pos);
	return out.data;
}

/* etl.render_template(template text, context jsonb DEFAULT '{}') → text */
Datum
metaetl_render_template(PG_FUNCTION_ARGS)
{
	char	   *tmpl = text_to_cstring(PG_GETARG_TEXT_PP(0));
	Jsonb	   *context = PG_ARGISNULL(1) ? NULL : PG_GETARG_JSONB_P(1);

	PG_RETURN_TEXT_P(cstring_to_text(MetaetlRenderTemplate(tmpl, context)));
}
