/*-------------------------------------------------------------------------
 *
 * src/transform/json.c
 *		Small readers for the normalised config's jsonb.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "transform/transform.h"

JsonbValue *
MetaetlJGet(JsonbContainer *c, const char *key)
{
	JsonbValue *v;

	if (c == NULL || !JsonContainerIsObject(c))
		return NULL;
	v = getKeyJsonValueFromContainer(c, key, strlen(key), NULL);
	if (v != NULL && v->type == jbvNull)
		return NULL;
	return v;
}

/* a scalar as text (strings unquoted), NULL for null; containers as json text */
char *
MetaetlJValueText(JsonbValue *v)
{
	if (v == NULL)
		return NULL;
	switch (v->type)
	{
		case jbvNull:
			return NULL;
		case jbvString:
			return pnstrdup(v->val.string.val, v->val.string.len);
		case jbvNumeric:
			return DatumGetCString(DirectFunctionCall1(numeric_out,
													   NumericGetDatum(v->val.numeric)));
		case jbvBool:
			return pstrdup(v->val.boolean ? "true" : "false");
		default:
			return JsonbToCString(NULL, v->val.binary.data, v->val.binary.len);
	}
}

char *
MetaetlJStr(JsonbContainer *c, const char *key)
{
	JsonbValue *v = MetaetlJGet(c, key);

	if (v == NULL)
		return NULL;
	if (v->type == jbvBinary)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("config key \"%s\" must be a scalar", key)));
	return MetaetlJValueText(v);
}

JsonbContainer *
MetaetlJObj(JsonbContainer *c, const char *key)
{
	JsonbValue *v = MetaetlJGet(c, key);

	if (v == NULL)
		return NULL;
	if (v->type != jbvBinary)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("config key \"%s\" must be an object or an array", key)));
	return v->val.binary.data;
}

bool
MetaetlJBool(JsonbContainer *c, const char *key, bool dflt)
{
	JsonbValue *v = MetaetlJGet(c, key);

	if (v == NULL)
		return dflt;
	if (v->type == jbvBool)
		return v->val.boolean;
	if (v->type == jbvString)
	{
		bool		r;

		if (parse_bool_with_len(v->val.string.val, v->val.string.len, &r))
			return r;
	}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("config key \"%s\" must be a boolean", key)));
	return dflt;
}

int
MetaetlJArrayLen(JsonbContainer *c)
{
	if (c == NULL || !JsonContainerIsArray(c))
		return 0;
	return JsonContainerSize(c);
}

JsonbValue *
MetaetlJArrayAt(JsonbContainer *c, int i)
{
	return getIthJsonbValueFromContainer(c, i);
}

/* a list of strings; a single string is accepted as a one-element list */
List *
MetaetlJStrList(JsonbContainer *c, const char *key, const char *what)
{
	JsonbValue *v = MetaetlJGet(c, key);
	List	   *res = NIL;
	JsonbContainer *a;

	if (v == NULL)
		return NIL;
	if (v->type == jbvString)
		return list_make1(MetaetlJValueText(v));
	if (v->type != jbvBinary || !JsonContainerIsArray(v->val.binary.data))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: \"%s\" must be a list of names", what, key)));
	a = v->val.binary.data;
	for (int i = 0; i < (int) JsonContainerSize(a); i++)
	{
		JsonbValue *e = getIthJsonbValueFromContainer(a, i);

		if (e->type != jbvString)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s: \"%s\" must be a list of names", what, key)));
		res = lappend(res, MetaetlJValueText(e));
	}
	return res;
}

/* the entries of an object, in jsonb key order */
int
MetaetlJObjEntries(JsonbContainer *obj, char ***keys, JsonbValue ***vals)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	int			n = 0,
				cap;

	if (obj == NULL || !JsonContainerIsObject(obj))
	{
		*keys = NULL;
		*vals = NULL;
		return 0;
	}
	cap = JsonContainerSize(obj) + 1;
	*keys = palloc0(sizeof(char *) * cap);
	*vals = palloc0(sizeof(JsonbValue *) * cap);
	it = JsonbIteratorInit(obj);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
			(*keys)[n] = pnstrdup(v.val.string.val, v.val.string.len);
		else if (tok == WJB_VALUE)
		{
			(*vals)[n] = palloc(sizeof(JsonbValue));
			*(*vals)[n] = v;
			n++;
		}
	}
	return n;
}
