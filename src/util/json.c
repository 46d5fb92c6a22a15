/*-------------------------------------------------------------------------
 *
 * src/util/json.c
 *		The one family of jsonb readers every subsystem uses.
 *
 * Configs, rule sets, channel settings and secrets all arrive as jsonb, and
 * each subsystem used to carry its own getters, which drifted (one treated
 * a JSON null as absent, another returned it).  Two flavours live here:
 *
 * - strict readers (MetaetlJGet, MetaetlJStr, MetaetlJObj, MetaetlJBool,
 *   MetaetlJStrList) for a normalised pipeline config: a JSON null is the
 *   same as a missing key, and a value of the wrong kind is a user error
 *   naming the key (22023), because validate_config has already told the
 *   user what each key takes;
 * - lenient readers (MetaetlJGetAny, MetaetlJString, MetaetlJNumber, ...)
 *   for jsonb metaetl wrote itself (compiled rule sets, scan results,
 *   channel settings, secrets): a value of another kind reads as absent and
 *   never raises, so a reader can probe optional keys cheaply.
 *
 * Everything returned is palloc'd in CurrentMemoryContext or points into
 * the container; containers are never modified.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "util/json.h"

/* ------------------------------------------------------------ strict readers */

/*
 * The value under key, or NULL when c is not an object, the key is missing
 * or its value is JSON null: a normalised config writes null for "not set".
 */
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

/* a scalar key as text (MetaetlJValueText); an object or array is an error */
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

/* an object or array key's container; a scalar is an error */
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

/*
 * A boolean key; "true"/"yes"/"on"/... strings are accepted as PostgreSQL's
 * boolean input reads them, because YAML configs often quote them.
 */
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

/* the length of an array container; 0 for anything else, so loops need no check */
int
MetaetlJArrayLen(JsonbContainer *c)
{
	if (c == NULL || !JsonContainerIsArray(c))
		return 0;
	return JsonContainerSize(c);
}

/* element i of an array container (0 <= i < MetaetlJArrayLen) */
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

/* ------------------------------------------------------------ lenient readers */

/*
 * The value under key, JSON null included (a rule's "value": null differs
 * from no value); NULL when c is not an object or the key is missing.
 */
JsonbValue *
MetaetlJGetAny(JsonbContainer *c, const char *key)
{
	if (c == NULL || !JsonContainerIsObject(c))
		return NULL;
	return getKeyJsonValueFromContainer(c, key, strlen(key), NULL);
}

/* a string key's text; NULL for anything else */
char *
MetaetlJString(JsonbContainer *c, const char *key)
{
	JsonbValue *v = MetaetlJGetAny(c, key);

	return v && v->type == jbvString ? pnstrdup(v->val.string.val, v->val.string.len) : NULL;
}

/* a number key as a double; false (out untouched) for anything else */
bool
MetaetlJNumber(JsonbContainer *c, const char *key, double *out)
{
	JsonbValue *v = MetaetlJGetAny(c, key);

	if (v == NULL || v->type != jbvNumeric)
		return false;
	*out = DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(v->val.numeric)));
	return true;
}

/* a number as written (numeric_out): bounds keep their precision */
char *
MetaetlJNumberText(JsonbContainer *c, const char *key)
{
	JsonbValue *v = MetaetlJGetAny(c, key);

	if (v == NULL || v->type != jbvNumeric)
		return NULL;
	return DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));
}

/* a boolean key; dflt for anything else */
bool
MetaetlJBoolOr(JsonbContainer *c, const char *key, bool dflt)
{
	JsonbValue *v = MetaetlJGetAny(c, key);

	return v && v->type == jbvBool ? v->val.boolean : dflt;
}

/* an object or array key's container; NULL for anything else */
JsonbContainer *
MetaetlJContainer(JsonbContainer *c, const char *key)
{
	JsonbValue *v = MetaetlJGetAny(c, key);

	return v && v->type == jbvBinary ? v->val.binary.data : NULL;
}

/* any value as JSON text (strings quoted); NULL when the key is missing */
char *
MetaetlJJsonText(JsonbContainer *c, const char *key)
{
	JsonbValue *v = MetaetlJGetAny(c, key);

	if (v == NULL)
		return NULL;
	return JsonbToCString(NULL, &JsonbValueToJsonb(v)->root, 64);
}

/* a JSON scalar as text: strings as is, numbers as written, booleans; else NULL */
static char *
json_scalar_text(JsonbValue *v)
{
	switch (v->type)
	{
		case jbvString:
			return pnstrdup(v->val.string.val, v->val.string.len);
		case jbvNumeric:
			return DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));
		case jbvBool:
			return pstrdup(v->val.boolean ? "true" : "false");
		default:
			return NULL;
	}
}

/* the strings of the array under key, other elements skipped; NIL if none */
List *
MetaetlJStrings(JsonbContainer *c, const char *key)
{
	JsonbContainer *a = MetaetlJContainer(c, key);
	List	   *out = NIL;
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;

	if (a == NULL || !JsonContainerIsArray(a))
		return NIL;
	it = JsonbIteratorInit(a);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
		if (tok == WJB_ELEM && v.type == jbvString)
			out = lappend(out, pnstrdup(v.val.string.val, v.val.string.len));
	return out;
}

/* a JSON array of scalars as text[] (nulls and containers dropped); *n elements */
Datum
MetaetlJTextArray(JsonbContainer *c, const char *key, int *n)
{
	JsonbContainer *a = MetaetlJContainer(c, key);
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	Datum	   *elems;
	int			k = 0;

	*n = 0;
	if (a == NULL || !JsonContainerIsArray(a))
		return PointerGetDatum(construct_empty_array(TEXTOID));
	elems = palloc(sizeof(Datum) * Max(JsonContainerSize(a), 1));
	it = JsonbIteratorInit(a);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		char	   *t;

		if (tok != WJB_ELEM || (t = json_scalar_text(&v)) == NULL)
			continue;
		elems[k++] = CStringGetTextDatum(t);
	}
	*n = k;
	return PointerGetDatum(construct_array(elems, k, TEXTOID, -1, false, TYPALIGN_INT));
}
