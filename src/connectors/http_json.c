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
 * When every path is a plain key chain ("$.data[*]", "$.meta.next") a page
 * takes the fast path instead (HttpJsonPageFast, below): the same parser
 * and the same text, one pass, no jsonb built; a page it cannot read
 * exactly as the jsonb path would goes the jsonb way.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/jsonapi.h"
#include "mb/pg_wchar.h"
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

/* "page 3, record 17", rendered only when an error needs it */
typedef struct RecordPos
{
	const char *label;
	int64		idx;
} RecordPos;

static void
record_position(void *arg, StringInfo buf)
{
	RecordPos  *p = arg;

	appendStringInfo(buf, "%s, record " INT64_FORMAT, p->label, p->idx);
}

/*
 * HttpBodyToServer
 *		A JSON body is UTF-8 (RFC 8259): check it and convert it to the
 *		database's encoding before any reader sees it.  Text that comes in
 *		through SQL is checked by the protocol layer; a response body comes
 *		from the network, and jsonb_in and the JSON parser trust their input
 *		to be valid in the database encoding, so without this an invalid
 *		byte sequence would reach text columns.  Runs once per body (the
 *		one-pass reader may hand a page on to the jsonb reader).
 */
void
HttpBodyToServer(HttpConn *conn, HttpReq *req)
{
	int			valid;
	char	   *conv;

	/* a zero byte is the parsers' to report ("not JSON") */
	if (req->data_in_server_encoding || req->data == NULL || strlen(req->data) != req->len)
		return;
	/* the length of the valid prefix: where the first bad sequence starts */
	valid = pg_encoding_verifymbstr(PG_UTF8, req->data, (int) req->len);
	if (valid < (int) req->len)
		ereport(ERROR,
				(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
				 errmsg("%s: %s%s%s answered with a body that is not valid UTF-8 (at byte %d)", conn->what,
						HttpUrlDisplay(req->url), req->label ? ", " : "", req->label ? req->label : "", valid),
				 errhint("JSON is UTF-8 (RFC 8259); ask the service for UTF-8, or read the body as format csv or ndjson with options.encoding.")));
	conv = pg_any_to_server(req->data, (int) req->len, PG_UTF8);
	if (conv != req->data)
	{
		req->data = conv;
		req->len = strlen(conv);
	}
	req->data_in_server_encoding = true;
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
	HttpBodyToServer(conn, req);
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
	/* the position outlives the page's memory: the sink's context holds it */
	RecordPos  *pos = MemoryContextAlloc(GetMemoryChunkContext(sink), sizeof(RecordPos));

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

	pos->label = label;
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
		pos->idx = idx;
		if (idx == 1)
			MetaetlSinkPositionCallback(sink, record_position, pos);
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

/* ------------------------------------------------------------ fast path */

/*
 * Pages in one pass, without a jsonb.
 *
 * Most APIs name their records with a path like "$.data[*]" and their
 * pagination with "$.next" or "$.meta.total_pages".  For such paths (lax,
 * a chain of keys, the records path ending in [*]) a page is read with
 * PostgreSQL's JSON parser itself (pg_parse_json, the one jsonb_in runs)
 * and semantic actions that keep only the declared columns of each record
 * and the pagination values, instead of building the page's jsonb,
 * copying the selected records into a second one (jsonb_path_query_array)
 * and looking every column up in it.  That was most of a page's CPU.
 *
 * The result must be what the jsonb path gives, so the fast path only
 * handles the plain shape: objects along the paths, an array of objects at
 * the records path, scalars at the pagination paths, no duplicate key on a
 * path, no number with an exponent (jsonb normalises those through
 * numeric).  Anything else -- and any parse error -- makes it give up
 * before a row is put, and the page goes through the jsonb path, which
 * gives lax mode's answer or the usual error.  Rows are therefore
 * collected for the whole page first, then put.  Field text is what
 * MetaetlJValueText gives: strings unescaped by the same lexer, numbers as
 * written (numeric_out of numeric_in for "-0..."), true/false; values for
 * json and jsonb columns, and objects or arrays in other columns, go
 * through jsonb_in and JsonbToCString as before.
 */

#define FAST_MAX_PATHS 4		/* records + cursor/next + total */
#define FAST_MAX_DEPTH 32

typedef struct FastPath
{
	int			nkeys;
	char	  **keys;
	bool		records;		/* ends in [*] */
} FastPath;

struct HttpJsonPlan
{
	int			npaths;			/* paths[0] is the records path */
	FastPath	paths[FAST_MAX_PATHS];
	RecordPos	pos;			/* the sink's position: lives as long as the source */
};

/* a key chain ("$.a.b", "$.a.b[*]" when records) or NULL when not one */
static bool
fast_compile(const char *text, bool records, FastPath *fp)
{
	JsonPath   *jp;
	JsonPathItem v,
				next;
	List	   *keys = NIL;
	bool		has_next;

	jp = DatumGetJsonPathP(DirectFunctionCall1(jsonpath_in, CStringGetDatum(text)));
	if ((jp->header & JSONPATH_LAX) == 0)
		return false;
	jspInit(&v, jp);
	if (v.type != jpiRoot)
		return false;
	has_next = jspGetNext(&v, &next);
	while (has_next && next.type == jpiKey)
	{
		int32		len;
		char	   *k = jspGetString(&next, &len);

		keys = lappend(keys, pnstrdup(k, len));
		v = next;
		has_next = jspGetNext(&v, &next);
	}
	if (records)
	{
		if (!has_next || next.type != jpiAnyArray)
			return false;
		v = next;
		has_next = jspGetNext(&v, &next);
	}
	if (has_next || list_length(keys) >= FAST_MAX_DEPTH - 2)
		return false;
	fp->nkeys = list_length(keys);
	fp->keys = palloc(sizeof(char *) * (fp->nkeys + 1));
	for (int i = 0; i < fp->nkeys; i++)
		fp->keys[i] = list_nth(keys, i);
	fp->records = records;
	return true;
}

/*
 * HttpJsonPlanCompile
 *		The fast path for records and these pagination paths (char *), or
 *		NULL when one of them is not a plain key chain.
 */
HttpJsonPlan *
HttpJsonPlanCompile(const char *records, List *scalar_paths)
{
	HttpJsonPlan *plan = palloc0(sizeof(HttpJsonPlan));
	ListCell   *lc;

	if (list_length(scalar_paths) + 1 > FAST_MAX_PATHS)
		return NULL;
	if (!fast_compile(records, true, &plan->paths[plan->npaths++]))
		return NULL;
	foreach(lc, scalar_paths)
		if (!fast_compile(lfirst(lc), false, &plan->paths[plan->npaths++]))
			return NULL;
	return plan;
}

typedef struct FastState
{
	HttpJsonPlan *plan;
	JsonLexContext *lex;
	bool		giveup;

	/* paths whose keys lead to the value at each depth; keys seen per object */
	uint32		live[FAST_MAX_DEPTH];
	uint32		seen[FAST_MAX_DEPTH];
	uint32		found;			/* paths whose value was met */
	char	   *scalars[FAST_MAX_PATHS];

	/* records */
	int			rdepth;			/* depth of the records array, or -1 */
	bool		in_record;
	int			natts;
	char	  **names;
	bool	   *as_json;
	int			field;			/* column of the field being read, or -1 */
	int			hint;			/* the column after the last one matched */
	char	   *value_start;	/* of the field's value, for raw text */
	bool		field_raw;		/* take the field's raw text at its end */
	char	  **cur;			/* the record being read */
	char	 ***rows;
	int64		nrows;
	int64		cap;
} FastState;

static void
fast_object_start(void *arg)
{
	FastState  *st = arg;
	int			d = st->lex->lex_level;

	if (st->giveup)
		return;
	if (d < FAST_MAX_DEPTH)
	{
		for (int j = 0; j < st->plan->npaths; j++)
			if ((st->live[d] & (1u << j)) && st->plan->paths[j].nkeys == d)
				st->giveup = true;	/* an object where an array or a scalar goes */
		st->seen[d] = 0;
	}
	if (st->in_record && d == st->rdepth + 2)
		st->field_raw = st->field >= 0;	/* an object: jsonb's text of it */
	if (st->rdepth >= 0 && d == st->rdepth + 1)
	{
		st->in_record = true;
		st->hint = 0;
		st->cur = palloc0(sizeof(char *) * Max(st->natts, 1));
	}
}

static void
fast_object_end(void *arg)
{
	FastState  *st = arg;

	if (st->giveup)
		return;
	if (st->in_record && st->lex->lex_level == st->rdepth + 1)
	{
		if (st->nrows == st->cap)
		{
			st->cap = Max(st->cap * 2, 1024);
			st->rows = st->rows ? repalloc(st->rows, sizeof(char **) * st->cap) :
				palloc(sizeof(char **) * st->cap);
		}
		st->rows[st->nrows++] = st->cur;
		st->cur = NULL;
		st->in_record = false;
	}
}

static void
fast_array_start(void *arg)
{
	FastState  *st = arg;
	int			d = st->lex->lex_level;

	if (st->giveup)
		return;
	if (st->rdepth >= 0 && d == st->rdepth + 1)
	{
		st->giveup = true;		/* a record that is an array */
		return;
	}
	if (st->in_record && d == st->rdepth + 2)
		st->field_raw = st->field >= 0;	/* an array: jsonb's text of it */
	if (d >= FAST_MAX_DEPTH)
		return;
	for (int j = 0; j < st->plan->npaths; j++)
	{
		if (!(st->live[d] & (1u << j)))
			continue;
		if (j == 0 && st->plan->paths[0].nkeys == d && st->rdepth < 0 && !(st->found & 1))
		{
			st->rdepth = d;
			st->found |= 1;
		}
		else
			st->giveup = true;	/* lax mode unwraps arrays on the way: leave it to jsonpath */
	}
}

static void
fast_array_end(void *arg)
{
	FastState  *st = arg;

	if (st->rdepth >= 0 && st->lex->lex_level == st->rdepth)
		st->rdepth = -2;		/* done: no second records array */
}

static void
fast_array_element_start(void *arg, bool isnull)
{
	FastState  *st = arg;
	int			d = st->lex->lex_level;

	if (d < FAST_MAX_DEPTH)
		st->live[d] = 0;
}

static int
fast_column(FastState *st, const char *fname)
{
	for (int n = 0; n < st->natts; n++)
	{
		int			i = (st->hint + n) % st->natts;

		if (strcmp(st->names[i], fname) == 0)
		{
			st->hint = i + 1;
			return i;
		}
	}
	return -1;
}

static void
fast_field_start(void *arg, char *fname, bool isnull)
{
	FastState  *st = arg;
	int			d = st->lex->lex_level;

	if (st->giveup)
		return;
	if (st->in_record && d == st->rdepth + 2)
	{
		st->field = fast_column(st, fname);
		st->value_start = st->lex->token_start;
		st->field_raw = st->field >= 0 && st->as_json[st->field];
		if (st->field >= 0)
			st->cur[st->field] = NULL;	/* the last of duplicate keys counts, as in jsonb */
	}
	if (d < FAST_MAX_DEPTH)
	{
		uint32		live = 0;

		for (int j = 0; j < st->plan->npaths; j++)
		{
			FastPath   *p = &st->plan->paths[j];

			if ((st->live[d - 1] & (1u << j)) && p->nkeys >= d && strcmp(p->keys[d - 1], fname) == 0)
			{
				if (st->seen[d - 1] & (1u << j))
					st->giveup = true;	/* a duplicate key on a path: jsonb keeps the last */
				st->seen[d - 1] |= 1u << j;
				live |= 1u << j;
			}
		}
		st->live[d] = live;
	}
}

static void
fast_field_end(void *arg, char *fname, bool isnull)
{
	FastState  *st = arg;

	if (st->giveup)
		return;
	if (st->in_record && st->lex->lex_level == st->rdepth + 2 && st->field >= 0 && st->field_raw)
	{
		char	   *raw = pnstrdup(st->value_start, st->lex->prev_token_terminator - st->value_start);
		Jsonb	   *jb = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(raw)));

		/* what the jsonb path gives: JSON null is SQL NULL, the rest jsonb's text */
		if (JB_ROOT_IS_SCALAR(jb) && getIthJsonbValueFromContainer(&jb->root, 0)->type == jbvNull)
			st->cur[st->field] = NULL;
		else
			st->cur[st->field] = JsonbToCString(NULL, &jb->root, VARSIZE(jb));
	}
	if (st->in_record && st->lex->lex_level == st->rdepth + 2)
		st->field = -1;
}

/* a number as MetaetlJValueText writes it, or NULL to give up */
static char *
fast_number(char *token)
{
	if (strpbrk(token, "eE") || strlen(token) > 1000)
		return NULL;			/* jsonb's numeric may rewrite it, or refuse it */
	if (token[0] == '-' && token[1] == '0')
		return DatumGetCString(DirectFunctionCall1(numeric_out,
												   DirectFunctionCall3(numeric_in, CStringGetDatum(token),
																	   ObjectIdGetDatum(InvalidOid),
																	   Int32GetDatum(-1))));
	return token;
}

static void
fast_scalar(void *arg, char *token, JsonTokenType type)
{
	FastState  *st = arg;
	int			d = st->lex->lex_level;
	char	   *text = token;

	if (st->giveup)
		return;
	if (type == JSON_TOKEN_NUMBER && (text = fast_number(token)) == NULL)
	{
		st->giveup = true;
		return;
	}
	if (type == JSON_TOKEN_NULL)
		text = NULL;
	if (st->rdepth >= 0 && d == st->rdepth + 1)
	{
		st->giveup = true;		/* a record that is not an object */
		return;
	}
	if (st->in_record && d == st->rdepth + 2 && st->field >= 0 && !st->field_raw)
		st->cur[st->field] = text;
	if (d >= FAST_MAX_DEPTH)
		return;
	for (int j = 0; j < st->plan->npaths; j++)
	{
		if (!(st->live[d] & (1u << j)))
			continue;
		if (j == 0 || st->plan->paths[j].nkeys != d)
		{
			st->giveup = true;	/* a scalar where records or a key go: lax mode's corner */
			return;
		}
		st->scalars[j - 1] = text;
		st->found |= 1u << j;
	}
}

/*
 * HttpJsonPageFast
 *		Put the records of req's body into the sink and set scalars[i] to the
 *		text of the plan's pagination path i (NULL: nothing or JSON null), in
 *		one pass; false (nothing put) when the page needs the jsonb path.
 */
bool
HttpJsonPageFast(HttpJsonPlan *plan, MetaetlSink *sink, HttpReq *req, int64 *records,
				 char **scalars)
{
	TupleDesc	desc = MetaetlSinkDesc(sink);
	MemoryContext cxt = CurrentMemoryContext;
	FastState	st;
	JsonSemAction sem;
	JsonParseErrorType rc = JSON_SUCCESS;
	bool		failed = false;
	RecordPos  *pos = &plan->pos;

	if (req->data == NULL || req->len == 0 || strlen(req->data) != req->len)
		return false;			/* the jsonb path says what is wrong */
	memset(&st, 0, sizeof(st));
	st.plan = plan;
	st.rdepth = -1;
	st.field = -1;
	st.live[0] = (1u << plan->npaths) - 1;
	st.natts = desc->natts;
	st.names = palloc(sizeof(char *) * st.natts);
	st.as_json = palloc(sizeof(bool) * st.natts);
	for (int i = 0; i < st.natts; i++)
	{
		Oid			t = TupleDescAttr(desc, i)->atttypid;

		st.names[i] = NameStr(TupleDescAttr(desc, i)->attname);
		/* json columns, and containers anywhere, take jsonb's text of the value */
		st.as_json[i] = t == JSONOID || t == JSONBOID;
	}
	st.lex = makeJsonLexContextCstringLen(req->data, (int) req->len, GetDatabaseEncoding(), true);
	memset(&sem, 0, sizeof(sem));
	sem.semstate = &st;
	sem.object_start = fast_object_start;
	sem.object_end = fast_object_end;
	sem.array_start = fast_array_start;
	sem.array_end = fast_array_end;
	sem.array_element_start = fast_array_element_start;
	sem.object_field_start = fast_field_start;
	sem.object_field_end = fast_field_end;
	sem.scalar = fast_scalar;

	/*
	 * An error raised inside (stack depth, a json column's value jsonb_in
	 * refuses) also sends the page to the jsonb path, for its message.
	 */
	PG_TRY();
	{
		rc = pg_parse_json(st.lex, &sem);
	}
	PG_CATCH();
	{
		ErrorData  *ed;

		MemoryContextSwitchTo(cxt);
		ed = CopyErrorData();
		/* only the data's own errors; a cancel or anything else goes on up */
		if (ERRCODE_TO_CATEGORY(ed->sqlerrcode) != ERRCODE_DATA_EXCEPTION &&
			ERRCODE_TO_CATEGORY(ed->sqlerrcode) != ERRCODE_PROGRAM_LIMIT_EXCEEDED)
			PG_RE_THROW();
		FlushErrorState();
		FreeErrorData(ed);
		failed = true;
	}
	PG_END_TRY();
	if (failed || rc != JSON_SUCCESS || st.giveup)
		return false;

	pos->label = req->label;
	pos->idx = 0;
	MetaetlSinkPositionCallback(sink, record_position, pos);
	for (int64 r = 0; r < st.nrows; r++)
	{
		pos->idx = r + 1;
		MetaetlSinkPutText(sink, st.rows[r]);
	}
	for (int j = 1; j < plan->npaths; j++)
		scalars[j - 1] = st.scalars[j - 1];
	*records = st.nrows;
	return true;
}
