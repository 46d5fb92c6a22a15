/*-------------------------------------------------------------------------
 *
 * src/connectors/http_json.c
 *		JSON response bodies: parsed by PostgreSQL's jsonb, records picked by
 *		its SQL/JSON path engine, rows put into the source's staging table.
 *
 * A page's body becomes one jsonb (jsonb_in); "records" (a jsonpath, lax,
 * default "$[*]") selects the record objects, and the pagination paths
 * (cursor_path, next_url_path, total_path) are evaluated the same way, so a
 * path means exactly what it means in SQL's jsonb_path_query.  Each record's
 * fields go to the sink as text for the columns' input functions (json and
 * jsonb columns get the field's JSON text), with the page and record index
 * as the sink's position: a bad value's error says "page 3, record 17,
 * column "total" (numeric)".  Errors from the JSON parser are re-raised with
 * the server text redacted.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/jsonpath.h"
#include "utils/memutils.h"

#include "connectors/http.h"
#include "security/security.h"

/* the message of the error being handled, then the error state cleared */
static char *
caught_message(MemoryContext cxt)
{
	ErrorData  *ed;

	MemoryContextSwitchTo(cxt);
	ed = CopyErrorData();
	FlushErrorState();
	return ed->detail ? psprintf("%s: %s", ed->message, ed->detail) : ed->message;
}

/*
 * HttpParseJson
 *		The response body of req as jsonb; an error naming the request when
 *		it is not JSON (the parser's words, with secrets masked).
 */
Jsonb *
HttpParseJson(HttpConn *conn, HttpReq *req)
{
	MemoryContext cxt = CurrentMemoryContext;
	Jsonb	   *volatile doc = NULL;
	char	   *volatile msg = NULL;

	if (req->data == NULL || req->len == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_JSON_TEXT),
				 errmsg("%s: %s%s%s answered with an empty body, not JSON", conn->what,
						HttpUrlDisplay(req->url), req->label ? ", " : "", req->label ? req->label : "")));
	if (strlen(req->data) != req->len)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_JSON_TEXT),
				 errmsg("%s: %s%s%s answered with a body holding a zero byte, not JSON", conn->what,
						HttpUrlDisplay(req->url), req->label ? ", " : "", req->label ? req->label : "")));
	PG_TRY();
	{
		doc = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(req->data)));
	}
	PG_CATCH();
	{
		msg = caught_message(cxt);
	}
	PG_END_TRY();
	if (msg)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_JSON_TEXT),
				 errmsg("%s: the response to %s%s%s%s is not valid JSON", conn->what,
						HttpUrlDisplay(req->url), req->label ? " (" : "", req->label ? req->label : "",
						req->label ? ")" : ""),
				 errdetail("%s", MetaetlRedact(msg, conn->secret)),
				 errhint("Check the source's format (json, ndjson, csv).")));
	return doc;
}

/*
 * HttpJsonPath
 *		The items path selects in doc, as a jsonb array (lax mode: a missing
 *		key selects nothing).  "key" names the config key for messages.
 */
Jsonb *
HttpJsonPath(HttpConn *conn, Jsonb *doc, const char *path, const char *key, const char *label)
{
	MemoryContext cxt = CurrentMemoryContext;
	Jsonb	   *volatile res = NULL;
	char	   *volatile msg = NULL;

	PG_TRY();
	{
		Datum		jp = DirectFunctionCall1(jsonpath_in, CStringGetDatum(path));
		Datum		vars = DirectFunctionCall1(jsonb_in, CStringGetDatum("{}"));

		res = DatumGetJsonbP(DirectFunctionCall4(jsonb_path_query_array, JsonbPGetDatum(doc), jp,
												 vars, BoolGetDatum(false)));
	}
	PG_CATCH();
	{
		msg = caught_message(cxt);
	}
	PG_END_TRY();
	if (msg)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: %s \"%s\" failed on %s", conn->what, key, path, label ? label : "the response"),
				 errdetail("%s", MetaetlRedact(msg, conn->secret))));
	return res;
}

/* the first item path selects, as text (NULL: nothing, or JSON null) */
char *
HttpJsonPathText(HttpConn *conn, Jsonb *doc, const char *path, const char *key,
				 const char *label)
{
	Jsonb	   *items = HttpJsonPath(conn, doc, path, key, label);
	JsonbValue *v;

	if (JB_ROOT_COUNT(items) == 0)
		return NULL;
	v = getIthJsonbValueFromContainer(&items->root, 0);
	if (v == NULL || v->type == jbvNull)
		return NULL;
	return MetaetlJValueText(v);
}

typedef struct InferCol
{
	char	   *name;
	bool		seen;			/* a non-null value */
	bool		integral;
	bool		numeric;
	bool		boolean;
	bool		container;
	bool		string;
} InferCol;

/*
 * HttpInferColumns
 *		Columns for records without declared ones: every key of the first
 *		1000 records in order of appearance; bigint when every value is an
 *		integer that fits, numeric for numbers, boolean, jsonb for objects
 *		and arrays, text otherwise (and for keys only ever null).
 */
List *
HttpInferColumns(MetaetlNode *src, Jsonb *records)
{
	JsonbIterator *it = JsonbIteratorInit(&records->root);
	JsonbValue	v;
	JsonbIteratorToken tok;
	List	   *infer = NIL;
	List	   *cols = NIL;
	int			n = 0;
	ListCell   *lc;

	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE && n < 1000)
	{
		char	  **k;
		JsonbValue **vals;
		int			nk;

		if (tok != WJB_ELEM)
			continue;
		n++;
		if (v.type != jbvBinary || !JsonContainerIsObject(v.val.binary.data))
			continue;			/* reported when the rows are put */
		nk = MetaetlJObjEntries(v.val.binary.data, &k, &vals);
		for (int i = 0; i < nk; i++)
		{
			InferCol   *c = NULL;

			foreach(lc, infer)
				if (strcmp(((InferCol *) lfirst(lc))->name, k[i]) == 0)
					c = lfirst(lc);
			if (c == NULL)
			{
				c = palloc0(sizeof(InferCol));
				c->name = k[i];
				c->integral = c->numeric = c->boolean = true;
				infer = lappend(infer, c);
			}
			if (vals[i]->type == jbvNull)
				continue;
			c->seen = true;
			if (vals[i]->type == jbvNumeric)
			{
				char	   *t = MetaetlJValueText(vals[i]);

				if (strpbrk(t, ".eE") || strlen(t) > 18)
					c->integral = false;
			}
			else
				c->integral = c->numeric = false;
			if (vals[i]->type != jbvBool)
				c->boolean = false;
			if (vals[i]->type == jbvBinary)
				c->container = true;
			if (vals[i]->type == jbvString)
				c->string = true;
		}
	}
	foreach(lc, infer)
	{
		InferCol   *ic = lfirst(lc);
		MetaetlColumn *c = palloc0(sizeof(MetaetlColumn));

		c->name = ic->name;
		c->type = !ic->seen ? "text" : ic->integral ? "bigint" : ic->numeric ? "numeric" :
			ic->boolean ? "boolean" : (ic->container && !ic->string) ? "jsonb" : "text";
		cols = lappend(cols, c);
	}
	if (cols == NIL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("source \"%s\": no columns found in the first page's records", src->id),
				 errhint("Check records (a JSON path to the record objects), or declare columns: {name: type}.")));
	return cols;
}

/*
 * HttpPutRecords
 *		Every record of the jsonb array into the sink; "label" ("page 3") and
 *		the record's 1-based index become the sink's position.  Returns the
 *		records put.
 */
int64
HttpPutRecords(MetaetlSink *sink, List *cols, Jsonb *records, const char *label)
{
	TupleDesc	desc = MetaetlSinkDesc(sink);
	int			natts = desc->natts;
	char	  **fields = palloc(sizeof(char *) * natts);
	bool	   *as_json = palloc(sizeof(bool) * natts);
	char	  **names = palloc(sizeof(char *) * natts);
	MemoryContext rowcxt = AllocSetContextCreate(CurrentMemoryContext, "metaetl http row",
												 ALLOCSET_DEFAULT_SIZES);
	JsonbIterator *it = JsonbIteratorInit(&records->root);
	JsonbValue	v;
	JsonbIteratorToken tok;
	int64		idx = 0;

	for (int i = 0; i < natts; i++)
	{
		Oid			t = TupleDescAttr(desc, i)->atttypid;

		names[i] = NameStr(TupleDescAttr(desc, i)->attname);
		as_json[i] = t == JSONOID || t == JSONBOID;
	}
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		MemoryContext old;
		JsonbContainer *obj;

		if (tok != WJB_ELEM)
			continue;
		idx++;
		MetaetlSinkPosition(sink, "%s, record " INT64_FORMAT, label, idx);
		if (v.type != jbvBinary || !JsonContainerIsObject(v.val.binary.data))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s, record " INT64_FORMAT " is not a JSON object", label, idx),
					 errhint("records must select objects; check its JSON path.")));
		obj = v.val.binary.data;
		old = MemoryContextSwitchTo(rowcxt);
		for (int i = 0; i < natts; i++)
		{
			JsonbValue *f = getKeyJsonValueFromContainer(obj, names[i], strlen(names[i]), NULL);

			if (f == NULL || f->type == jbvNull)
				fields[i] = NULL;
			else if (as_json[i])
				fields[i] = f->type == jbvBinary ?
					JsonbToCString(NULL, f->val.binary.data, f->val.binary.len) :
					JsonbToCString(NULL, &JsonbValueToJsonb(f)->root, 0);
			else
				fields[i] = MetaetlJValueText(f);
		}
		MetaetlSinkPutText(sink, fields);
		MemoryContextSwitchTo(old);
		MemoryContextReset(rowcxt);
	}
	MemoryContextDelete(rowcxt);
	return idx;
}
