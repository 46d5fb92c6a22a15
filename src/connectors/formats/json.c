/*-------------------------------------------------------------------------
 *
 * src/connectors/formats/json.c
 *		The json (one array of objects) and ndjson (one object per line)
 *		formats, read and written as streams.
 *
 * Reading never holds more than one object (plus the first objects while
 * columns are inferred): a small scanner splits the input into the array's
 * elements (tracking strings and nesting, so a brace inside a string is
 * data) or into lines, and each object is parsed by PostgreSQL's JSON
 * parser (pg_parse_json) with semantic actions that keep the top-level
 * fields: the de-escaped text of scalars and the raw JSON text of every
 * value (for json/jsonb columns and nested values).  So a 1 GB array costs
 * the memory of its largest object, not of the document.
 *
 * Columns are the declared ones (columns: {name: type} or ["name type"]),
 * or inferred from the first JSON_INFER_OBJECTS objects: every key seen,
 * in the order first seen, typed numeric when every non-null value is a
 * number, boolean when every one is a boolean, jsonb when any is an object
 * or array, text otherwise.  Keys that are not columns are ignored, and a
 * missing key is NULL, as jsonb_to_record() treats them.
 *
 * Input is UTF-8 unless the encoding option says otherwise (a UTF-8 byte
 * order mark is skipped), converted to the database encoding and
 * validated.  Output is what to_jsonb(row)::text gives (formats/common.c),
 * in UTF-8 or the encoding option's.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/jsonapi.h"
#include "mb/pg_wchar.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "connectors/formats/formats.h"

#define JSON_INFER_OBJECTS	100
#define JSON_MAX_OBJECT		(256 * 1024 * 1024)
#define JSON_CHUNK			(64 * 1024)

typedef enum JKind
{
	JV_NULL,
	JV_STRING,
	JV_NUMBER,
	JV_BOOL,
	JV_NESTED
} JKind;

typedef struct JField
{
	char	   *key;
	JKind		kind;
	char	   *val;			/* scalars: de-escaped string or the token */
	char	   *raw;			/* the value's JSON text (not terminated) */
	int			rawlen;
} JField;

/* one parsed object; its text stays alive as long as it does */
typedef struct JObj
{
	char	   *text;
	int			nf;
	int			cap;
	JField	   *f;
	int64		line;			/* where it starts */
	int64		no;				/* 1-based element / object number */
} JObj;

typedef struct JParse
{
	JsonLexContext *lex;
	JObj	   *obj;
	char	   *vstart;
	char	   *scalar;
	JsonTokenType stok;
	bool		have_scalar;
} JParse;

typedef struct JReader
{
	MetaetlFormatRead *rd;
	MetaetlFmtPos pos;
	int			encoding;		/* the input's */
	MemoryContext objcxt;		/* one streamed object; reset per object */
	MemoryContext keepcxt;		/* objects kept while inferring */
	List	   *pending;		/* JObj * read before the columns were known */
	bool		have_cols;
	MetaetlSink *sink;
	int			ncols;
	char	  **colnames;
	bool	   *colraw;			/* json/jsonb column: give it the raw JSON */
	char	  **row;
	int64		rows;
	int64		objects;
} JReader;

/* ------------------------------------------------------------ one object */

static void
jp_field_start(void *state, char *fname, bool isnull)
{
	JParse	   *jp = state;

	if (jp->lex->lex_level != 1)
		return;
	jp->vstart = jp->lex->token_start;
	jp->have_scalar = false;
}

static void
jp_scalar(void *state, char *token, JsonTokenType tokentype)
{
	JParse	   *jp = state;

	if (jp->lex->lex_level != 1)
		return;
	jp->scalar = token;
	jp->stok = tokentype;
	jp->have_scalar = true;
}

static void
jp_field_end(void *state, char *fname, bool isnull)
{
	JParse	   *jp = state;
	JObj	   *o = jp->obj;
	JField	   *f;

	if (jp->lex->lex_level != 1)
		return;
	if (o->nf == o->cap)
	{
		o->cap = o->cap ? o->cap * 2 : 16;
		o->f = o->f ? repalloc(o->f, sizeof(JField) * o->cap) : palloc(sizeof(JField) * o->cap);
	}
	f = &o->f[o->nf++];
	f->key = fname;
	f->raw = jp->vstart;
	f->rawlen = (int) (jp->lex->prev_token_terminator - jp->vstart);
	f->val = NULL;
	if (isnull)
		f->kind = JV_NULL;
	else if (!jp->have_scalar)
		f->kind = JV_NESTED;
	else
	{
		f->val = jp->scalar;
		f->kind = jp->stok == JSON_TOKEN_STRING ? JV_STRING :
			jp->stok == JSON_TOKEN_NUMBER ? JV_NUMBER : JV_BOOL;
	}
}

/*
 * Parse one object's text (NUL-terminated, in the input's encoding) into a
 * JObj allocated in the current memory context.
 */
static JObj *
jr_parse(JReader *jr, char *text, int len, int64 line)
{
	JObj	   *o = palloc0(sizeof(JObj));
	JParse		jp;
	JsonSemAction sem;
	JsonParseErrorType res;

	/* convert to the database encoding, validating it */
	text = pg_any_to_server(text, len, jr->encoding);
	len = strlen(text);
	o->text = text;
	o->line = line;
	o->no = jr->objects;

	memset(&jp, 0, sizeof(jp));
	memset(&sem, 0, sizeof(sem));
	jp.obj = o;
	jp.lex = makeJsonLexContextCstringLen(text, len, GetDatabaseEncoding(), true);
	sem.semstate = &jp;
	sem.object_field_start = jp_field_start;
	sem.object_field_end = jp_field_end;
	sem.scalar = jp_scalar;
	res = pg_parse_json(jp.lex, &sem);
	if (res != JSON_SUCCESS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("source \"%s\": invalid JSON in \"%s\" at line " INT64_FORMAT,
						jr->rd->src->id, jr->rd->in->name, line + jp.lex->line_number - 1),
				 errdetail("%s", json_errdetail(res, jp.lex))));
	return o;
}

/* ------------------------------------------------------------ columns */

#define JK_SEEN_NUMBER	0x01
#define JK_SEEN_STRING	0x02
#define JK_SEEN_BOOL	0x04
#define JK_SEEN_NESTED	0x08

/* columns from the objects read so far (see the file header) */
static List *
jr_infer(JReader *jr)
{
	List	   *names = NIL;
	int		   *seen = palloc0(sizeof(int) * 64);
	int			cap = 64;
	List	   *cols = NIL;
	ListCell   *lc;

	foreach(lc, jr->pending)
	{
		JObj	   *o = lfirst(lc);

		for (int i = 0; i < o->nf; i++)
		{
			JField	   *f = &o->f[i];
			int			idx = -1;
			ListCell   *nc;

			foreach(nc, names)
				if (strcmp(lfirst(nc), f->key) == 0)
				{
					idx = foreach_current_index(nc);
					break;
				}
			if (idx < 0)
			{
				if (f->key[0] == '\0' || strlen(f->key) >= NAMEDATALEN)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_COLUMN_REFERENCE),
							 errmsg("source \"%s\": key \"%s\" of object " INT64_FORMAT " in \"%s\" cannot be a column name",
									jr->rd->src->id, f->key, o->no, jr->rd->in->name),
							 errhint("Column names are 1 to %d bytes; declare columns: to read other keys only.",
									 NAMEDATALEN - 1)));
				names = lappend(names, f->key);
				idx = list_length(names) - 1;
				if (idx >= cap)
				{
					seen = repalloc(seen, sizeof(int) * cap * 2);
					memset(seen + cap, 0, sizeof(int) * cap);
					cap *= 2;
				}
			}
			seen[idx] |= f->kind == JV_NUMBER ? JK_SEEN_NUMBER :
				f->kind == JV_STRING ? JK_SEEN_STRING :
				f->kind == JV_BOOL ? JK_SEEN_BOOL :
				f->kind == JV_NESTED ? JK_SEEN_NESTED : 0;
		}
	}
	foreach(lc, names)
	{
		MetaetlColumn *c = palloc0(sizeof(MetaetlColumn));
		int			s = seen[foreach_current_index(lc)];

		c->name = lfirst(lc);
		c->type = s & JK_SEEN_NESTED ? "jsonb" :
			s == JK_SEEN_NUMBER ? "numeric" :
			s == JK_SEEN_BOOL ? "boolean" : "text";
		cols = lappend(cols, c);
	}
	if (cols == NIL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("source \"%s\": no columns found in %s", jr->rd->src->id, jr->rd->in->name),
				 errhint("Declare columns: {name: type}.")));
	return cols;
}

static void
jr_begin(JReader *jr, List *cols)
{
	ListCell   *lc;
	int			natts;

	jr->sink = jr->rd->begin(jr->rd, cols);
	jr->have_cols = true;
	jr->ncols = list_length(cols);
	jr->colnames = palloc(sizeof(char *) * jr->ncols);
	jr->colraw = palloc(sizeof(bool) * jr->ncols);
	foreach(lc, cols)
	{
		MetaetlColumn *c = lfirst(lc);
		Oid			base = getBaseType(c->typid);

		jr->colnames[foreach_current_index(lc)] = c->name;
		jr->colraw[foreach_current_index(lc)] = base == JSONOID || base == JSONBOID;
	}
	natts = MetaetlSinkDesc(jr->sink)->natts;
	jr->row = palloc0(sizeof(char *) * natts);
	if (jr->rd->file_column)
		jr->row[natts - 1] = (char *) jr->rd->in->name;
	MetaetlSinkPositionCallback(jr->sink, MetaetlFmtPosRender, &jr->pos);
}

/* put one object's fields into the sink as a row */
static void
jr_emit(JReader *jr, JObj *o)
{
	int			hint = 0;

	if (jr->rd->plan->describe_only)
		return;
	jr->pos.n = o->line;
	jr->pos.n2 = o->no;
	for (int i = 0; i < jr->ncols; i++)
		jr->row[i] = NULL;
	for (int i = 0; i < o->nf; i++)
	{
		JField	   *f = &o->f[i];
		int			idx = -1;

		/* objects usually list their keys in the same order: try the next column first */
		if (hint < jr->ncols && strcmp(jr->colnames[hint], f->key) == 0)
			idx = hint;
		else
			for (int c = 0; c < jr->ncols; c++)
				if (strcmp(jr->colnames[c], f->key) == 0)
				{
					idx = c;
					break;
				}
		if (idx < 0)
			continue;
		hint = idx + 1;
		if (f->kind == JV_NULL)
			jr->row[idx] = NULL;
		else if (jr->colraw[idx] || f->kind == JV_NESTED)
			jr->row[idx] = pnstrdup(f->raw, f->rawlen);
		else
			jr->row[idx] = f->val;
	}
	MetaetlSinkPutText(jr->sink, jr->row);
	jr->rows++;
}

/* one complete object's text (NUL-terminated) starting at "line" */
static void
jr_object(JReader *jr, char *text, int len, int64 line)
{
	MemoryContext old;
	JObj	   *o;

	jr->objects++;
	jr->pos.n = line;
	jr->pos.n2 = jr->objects;
	if (!jr->have_cols && jr->rd->declared)
		jr_begin(jr, jr->rd->declared);
	if (!jr->have_cols)
	{
		/* keep it until the first objects have told the columns */
		old = MemoryContextSwitchTo(jr->keepcxt);
		MetaetlFmtEnter(&jr->pos);
		o = jr_parse(jr, pnstrdup(text, len), len, line);
		MetaetlFmtLeave(&jr->pos);
		jr->pending = lappend(jr->pending, o);
		MemoryContextSwitchTo(old);
		if (list_length(jr->pending) >= JSON_INFER_OBJECTS)
		{
			ListCell   *lc;

			jr_begin(jr, jr_infer(jr));
			foreach(lc, jr->pending)
				jr_emit(jr, lfirst(lc));
			jr->pending = NIL;
			MemoryContextReset(jr->keepcxt);
		}
		return;
	}
	if (jr->rd->plan->describe_only)
		return;
	old = MemoryContextSwitchTo(jr->objcxt);
	MetaetlFmtEnter(&jr->pos);
	o = jr_parse(jr, text, len, line);
	MetaetlFmtLeave(&jr->pos);
	jr_emit(jr, o);
	MemoryContextSwitchTo(old);
	MemoryContextReset(jr->objcxt);
}

static void
jr_finish(JReader *jr)
{
	ListCell   *lc;

	if (!jr->have_cols)
	{
		if (jr->rd->declared)
			jr_begin(jr, jr->rd->declared);
		else
			jr_begin(jr, jr_infer(jr));
		foreach(lc, jr->pending)
			jr_emit(jr, lfirst(lc));
	}
	MetaetlSinkPositionCallback(jr->sink, NULL, NULL);
}

static void
jr_init(JReader *jr, MetaetlFormatRead *rd)
{
	memset(jr, 0, sizeof(*jr));
	jr->rd = rd;
	MetaetlFmtPosInit(&jr->pos, rd, "line");
	jr->pos.unit2 = "object";
	jr->encoding = MetaetlFmtOptEncoding(rd->src->conf, PG_UTF8, psprintf("source \"%s\"", rd->src->id));
	jr->objcxt = AllocSetContextCreate(CurrentMemoryContext, "metaetl json object", ALLOCSET_DEFAULT_SIZES);
	jr->keepcxt = AllocSetContextCreate(CurrentMemoryContext, "metaetl json inference", ALLOCSET_DEFAULT_SIZES);
}

static void
jr_too_big(JReader *jr, int64 line)
{
	ereport(ERROR,
			(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
			 errmsg("source \"%s\": the object at line " INT64_FORMAT " of \"%s\" is larger than %d MB",
					jr->rd->src->id, line, jr->rd->in->name, JSON_MAX_OBJECT / (1024 * 1024))));
}

/* ------------------------------------------------------------ json: one array */

typedef enum JState
{
	JS_TOP,						/* before the array */
	JS_FIRST,					/* after '[': a value or ']' */
	JS_NEXT,					/* after ',': a value */
	JS_OBJ,						/* inside an element */
	JS_AFTER,					/* after an element: ',' or ']' */
	JS_END						/* after ']' */
} JState;

static bool
j_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void
json_syntax(JReader *jr, int64 line, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("source \"%s\": invalid JSON in \"%s\" at line " INT64_FORMAT ": %s",
					jr->rd->src->id, jr->rd->in->name, line, what),
			 errhint("A json source is one array of objects; use format ndjson for one object per line.")));
}

static int64
json_read(MetaetlFormatRead *rd)
{
	JReader		jr;
	char	   *buf = palloc(JSON_CHUNK);
	StringInfoData obj;
	JState		st = JS_TOP;
	int			depth = 0;
	bool		in_str = false,
				esc = false,
				first_read = true;
	int64		line = 1,
				obj_line = 0;

	jr_init(&jr, rd);
	initStringInfo(&obj);
	for (;;)
	{
		size_t		n = MetaetlStreamRead(rd->in, buf, JSON_CHUNK);
		size_t		i = 0;

		if (n == 0)
			break;
		if (jr.have_cols && rd->plan->describe_only)
		{
			/* the columns are known: that is all describing needs */
			MetaetlSinkPositionCallback(jr.sink, NULL, NULL);
			return 0;
		}
		if (first_read && n >= 3 && (unsigned char) buf[0] == 0xEF &&
			(unsigned char) buf[1] == 0xBB && (unsigned char) buf[2] == 0xBF)
			i = 3;
		first_read = false;
		while (i < n)
		{
			char		c = buf[i];

			if (st == JS_OBJ)
			{
				/* copy a run of the element at once, tracking strings and nesting */
				size_t		start = i;
				bool		done = false;

				for (; i < n; i++)
				{
					c = buf[i];
					if (c == '\n')
						line++;
					if (in_str)
					{
						if (esc)
							esc = false;
						else if (c == '\\')
							esc = true;
						else if (c == '"')
							in_str = false;
					}
					else if (c == '"')
						in_str = true;
					else if (c == '{' || c == '[')
						depth++;
					else if ((c == '}' || c == ']') && --depth == 0)
					{
						i++;
						done = true;
						break;
					}
				}
				if ((int64) obj.len + (int64) (i - start) > JSON_MAX_OBJECT)
					jr_too_big(&jr, obj_line);
				appendBinaryStringInfo(&obj, buf + start, i - start);
				if (done)
				{
					jr_object(&jr, obj.data, obj.len, obj_line);
					resetStringInfo(&obj);
					st = JS_AFTER;
				}
				continue;
			}
			i++;
			if (c == '\n')
				line++;
			if (j_space(c))
				continue;
			switch (st)
			{
				case JS_TOP:
					if (c != '[')
						json_syntax(&jr, line, "the document is not an array");
					st = JS_FIRST;
					break;
				case JS_FIRST:
				case JS_NEXT:
					if (c == ']' && st == JS_FIRST)
						st = JS_END;
					else if (c == '{')
					{
						st = JS_OBJ;
						depth = 1;
						in_str = esc = false;
						obj_line = line;
						appendStringInfoChar(&obj, '{');
					}
					else
						json_syntax(&jr, line, psprintf("element " INT64_FORMAT " is not an object",
														jr.objects + 1));
					break;
				case JS_AFTER:
					if (c == ',')
						st = JS_NEXT;
					else if (c == ']')
						st = JS_END;
					else
						json_syntax(&jr, line, "expected \",\" or \"]\" after an element");
					break;
				case JS_END:
					json_syntax(&jr, line, "data after the end of the array");
					break;
				case JS_OBJ:
					break;		/* handled above */
			}
		}
	}
	if (st == JS_TOP)
		json_syntax(&jr, line, "the document is empty");
	if (st != JS_END)
		json_syntax(&jr, line, "the document ends inside the array (truncated?)");
	jr_finish(&jr);
	return jr.rows;
}

/* ------------------------------------------------------------ ndjson: one object per line */

static void
ndjson_line(JReader *jr, StringInfo line, int64 lineno)
{
	int			i = 0;

	if (line->len > 0 && line->data[line->len - 1] == '\r')
		line->data[--line->len] = '\0';
	while (i < line->len && j_space(line->data[i]))
		i++;
	if (i == line->len)
		return;					/* blank lines are skipped */
	if (line->data[i] != '{')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("source \"%s\": line " INT64_FORMAT " of \"%s\" is not a JSON object",
						jr->rd->src->id, lineno, jr->rd->in->name),
				 errhint("An ndjson source has one object per line; use format json for one array.")));
	jr_object(jr, line->data, line->len, lineno);
}

static int64
ndjson_read(MetaetlFormatRead *rd)
{
	JReader		jr;
	char	   *buf = palloc(JSON_CHUNK);
	StringInfoData line;
	int64		lineno = 1;
	bool		first_read = true;

	jr_init(&jr, rd);
	initStringInfo(&line);
	for (;;)
	{
		size_t		n = MetaetlStreamRead(rd->in, buf, JSON_CHUNK);
		size_t		i = 0;

		if (n == 0)
			break;
		if (jr.have_cols && rd->plan->describe_only)
		{
			MetaetlSinkPositionCallback(jr.sink, NULL, NULL);
			return 0;
		}
		if (first_read && n >= 3 && (unsigned char) buf[0] == 0xEF &&
			(unsigned char) buf[1] == 0xBB && (unsigned char) buf[2] == 0xBF)
			i = 3;
		first_read = false;
		while (i < n)
		{
			char	   *nl = memchr(buf + i, '\n', n - i);
			size_t		seg = nl ? (size_t) (nl - (buf + i)) : n - i;

			if ((int64) line.len + (int64) seg > JSON_MAX_OBJECT)
				jr_too_big(&jr, lineno);
			appendBinaryStringInfo(&line, buf + i, seg);
			i += seg;
			if (nl)
			{
				ndjson_line(&jr, &line, lineno);
				resetStringInfo(&line);
				lineno++;
				i++;
			}
		}
	}
	ndjson_line(&jr, &line, lineno);
	jr_finish(&jr);
	return jr.rows;
}

/* ------------------------------------------------------------ writing */

static int64
json_write_common(MetaetlRowReader *rows, JsonbContainer *conf, MetaetlOutStream *out, bool array)
{
	MetaetlJsonOut *jo = MetaetlJsonOutBegin(MetaetlRowReaderDesc(rows));
	int			encoding = MetaetlFmtOptEncoding(conf, PG_UTF8, psprintf("target writing \"%s\"", out->name));
	bool		transcode = encoding != GetDatabaseEncoding() && GetDatabaseEncoding() != PG_SQL_ASCII;
	StringInfoData buf,
				rowbuf;
	MemoryContext rowcxt,
				old;
	Datum	   *values;
	bool	   *nulls;
	int64		n = 0;
	int			gucs = MetaetlFmtOutputBegin();

	initStringInfo(&buf);
	initStringInfo(&rowbuf);
	if (array)
		appendStringInfoChar(&buf, '[');
	rowcxt = AllocSetContextCreate(CurrentMemoryContext, "metaetl json row", ALLOCSET_DEFAULT_SIZES);
	while (MetaetlRowReaderNext(rows, &values, &nulls))
	{
		old = MemoryContextSwitchTo(rowcxt);
		if (array && n > 0)
			appendStringInfoString(&buf, ", ");
		resetStringInfo(&rowbuf);
		MetaetlJsonOutRow(jo, &rowbuf, values, nulls);
		if (transcode)
			appendStringInfoString(&buf, pg_server_to_any(rowbuf.data, rowbuf.len, encoding));
		else
			appendBinaryStringInfo(&buf, rowbuf.data, rowbuf.len);
		if (!array)
			appendStringInfoChar(&buf, '\n');
		MemoryContextSwitchTo(old);
		MemoryContextReset(rowcxt);
		MetaetlFmtFlush(out, &buf, false);
		n++;
	}
	if (array)
		appendStringInfoString(&buf, "]\n");
	MetaetlFmtFlush(out, &buf, true);
	MemoryContextDelete(rowcxt);
	MetaetlFmtOutputEnd(gucs);
	return n;
}

static int64
json_write(MetaetlRowReader *rows, JsonbContainer *conf, MetaetlOutStream *out)
{
	return json_write_common(rows, conf, out, true);
}

static int64
ndjson_write(MetaetlRowReader *rows, JsonbContainer *conf, MetaetlOutStream *out)
{
	return json_write_common(rows, conf, out, false);
}

/* ------------------------------------------------------------ registry */

static const MetaetlConnKey json_option_keys[] = {
	{"encoding", MCK_STRING},
	MCK_END
};

static const char *const json_suffixes[] = {".json", NULL};
static const char *const ndjson_suffixes[] = {".ndjson", ".jsonl", NULL};

const MetaetlFormat MetaetlJsonFormat = {
	.name = "json",
	.suffixes = json_suffixes,
	.option_keys = json_option_keys,
	.read = json_read,
	.write = json_write,
};

const MetaetlFormat MetaetlNdjsonFormat = {
	.name = "ndjson",
	.suffixes = ndjson_suffixes,
	.option_keys = json_option_keys,
	.read = ndjson_read,
	.write = ndjson_write,
};
