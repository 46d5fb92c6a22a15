/*-------------------------------------------------------------------------
 *
 * src/connectors/formats/common.c
 *		Option lookup, header columns, error positions and JSON value output
 *		shared by the csv, tsv, json, ndjson and xlsx formats.
 *
 * JSON output follows to_jsonb() exactly (the json and ndjson file targets
 * wrote to_jsonb(row)::text before they moved onto the format layer, and
 * their files must not change): keys in jsonb's order (shorter keys first,
 * then bytewise; a repeated name keeps its last value), numbers as jsonb
 * normalises them, date/timestamp/timestamptz in ISO 8601.  The common
 * types are written directly; anything else goes through to_jsonb itself.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/jsonapi.h"
#include "mb/pg_wchar.h"
#include "nodes/makefuncs.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"

#include "connectors/formats/formats.h"

/* ------------------------------------------------------------ options */

static JsonbValue *
fmt_opt_value(JsonbContainer *conf, const char *key)
{
	JsonbValue *opts = MetaetlJGet(conf, "options");
	JsonbValue *v = NULL;

	if (opts && opts->type == jbvBinary && JsonContainerIsObject(opts->val.binary.data))
		v = MetaetlJGet(opts->val.binary.data, key);
	if (v == NULL)
		v = MetaetlJGet(conf, key);
	return v;
}

/*
 * A format option as text, looked up under options: first, then beside
 * type (options: wins when a key is in both); an object or array is an
 * error, since a format option is always one value.
 */
char *
MetaetlFmtOpt(JsonbContainer *conf, const char *key)
{
	JsonbValue *v = fmt_opt_value(conf, key);

	if (v == NULL)
		return NULL;
	if (v->type == jbvBinary)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" must be a scalar", key)));
	return MetaetlJValueText(v);
}

/*
 * A boolean format option ("true"/"yes"/... strings too, as YAML often
 * quotes them); anything else is an error naming the option.
 */
bool
MetaetlFmtOptBool(JsonbContainer *conf, const char *key, bool dflt)
{
	JsonbValue *v = fmt_opt_value(conf, key);
	bool		r;

	if (v == NULL)
		return dflt;
	if (v->type == jbvBool)
		return v->val.boolean;
	if (v->type == jbvString && parse_bool_with_len(v->val.string.val, v->val.string.len, &r))
		return r;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("option \"%s\" must be a boolean", key)));
	return dflt;
}

/*
 * An integer format option in [0, max], or dflt when unset; anything else
 * is an error naming the option and what it is for.
 */
int64
MetaetlFmtOptInt(JsonbContainer *conf, const char *key, int64 dflt, int64 max, const char *what)
{
	char	   *s = MetaetlFmtOpt(conf, key);
	char	   *end;
	long long	v;

	if (s == NULL)
		return dflt;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 0 || v > max)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: option \"%s\" must be an integer from 0 to " INT64_FORMAT ", not \"%s\"",
						what, key, max, s)));
	return (int64) v;
}

/*
 * A one-byte character option (delimiter, quote, escape), or dflt; CR, LF
 * and multi-byte characters are refused, since the readers split records
 * on bytes.
 */
char
MetaetlFmtOptChar(JsonbContainer *conf, const char *key, char dflt, const char *what)
{
	char	   *s = MetaetlFmtOpt(conf, key);

	if (s == NULL)
		return dflt;
	if (strlen(s) != 1 || IS_HIGHBIT_SET(s[0]) || s[0] == '\r' || s[0] == '\n')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: option \"%s\" must be a single one-byte character, not \"%s\"",
						what, key, s)));
	return s[0];
}

/*
 * The encoding option as a PostgreSQL encoding, or dflt; the names are
 * PostgreSQL's, so every format converts the same way.
 */
int
MetaetlFmtOptEncoding(JsonbContainer *conf, int dflt, const char *what)
{
	char	   *s = MetaetlFmtOpt(conf, "encoding");
	int			enc;

	if (s == NULL)
		return dflt;
	enc = pg_char_to_encoding(s);
	if (enc < 0 || !PG_VALID_ENCODING(enc))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: \"%s\" is not a valid encoding name", what, s),
				 errhint("Use a PostgreSQL encoding name such as UTF8, LATIN1 or WIN1252.")));
	return enc;
}

/*
 * Whether the source declares its columns as a list (in file order) rather
 * than a mapping (matched by header name).
 */
bool
MetaetlFmtDeclaredInOrder(MetaetlNode *src)
{
	JsonbValue *v = MetaetlJGet(src->conf, "columns");

	return v && v->type == jbvBinary && JsonContainerIsArray(v->val.binary.data);
}

/* ------------------------------------------------------------ columns */

List *
MetaetlFmtHeaderColumns(MetaetlFormatRead *rd, char **names, int n, const char **types,
						const char *dflt_type)
{
	List	   *cols = NIL;
	ListCell   *lc;

	for (int i = 0; i < n; i++)
	{
		MetaetlColumn *c = palloc0(sizeof(MetaetlColumn));

		if (names[i] == NULL || names[i][0] == '\0')
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_COLUMN_REFERENCE),
					 errmsg("source \"%s\": column %d of the header of \"%s\" has no name",
							rd->src->id, i + 1, rd->in->name),
					 errhint("Name every column in the header, or set header: false and declare columns: [\"name type\", ...].")));
		if (strlen(names[i]) >= NAMEDATALEN)
			ereport(ERROR,
					(errcode(ERRCODE_NAME_TOO_LONG),
					 errmsg("source \"%s\": column name \"%s\" in the header of \"%s\" is longer than %d bytes",
							rd->src->id, names[i], rd->in->name, NAMEDATALEN - 1)));
		for (int j = 0; j < i; j++)
			if (strcmp(names[i], names[j]) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_DUPLICATE_COLUMN),
						 errmsg("source \"%s\": column \"%s\" appears twice in the header of \"%s\"",
								rd->src->id, names[i], rd->in->name)));
		c->name = pstrdup(names[i]);
		c->type = (char *) (types && types[i] ? types[i] : dflt_type);
		foreach(lc, rd->declared)
		{
			MetaetlColumn *d = lfirst(lc);

			if (strcmp(d->name, c->name) == 0)
				c->type = d->type;
		}
		cols = lappend(cols, c);
	}
	/* every declared name must be in the header */
	foreach(lc, rd->declared)
		MetaetlFindColumn(rd->src, cols, ((MetaetlColumn *) lfirst(lc))->name,
						  "columns (the file's header)");
	return cols;
}

/* ------------------------------------------------------------ positions */

void
MetaetlFmtPosInit(MetaetlFmtPos *pos, MetaetlFormatRead *rd, const char *unit)
{
	memset(pos, 0, sizeof(*pos));
	pos->source = rd->src->id;
	pos->object = rd->in->name;
	pos->unit = unit;
}

/*
 * "file "x", sheet s, line n, field m": the position errors name, so a bad
 * value can be found in the file.
 */
void
MetaetlFmtPosRender(void *arg, StringInfo buf)
{
	MetaetlFmtPos *pos = arg;

	appendStringInfo(buf, "file \"%s\"", pos->object);
	if (pos->extra)
		appendStringInfo(buf, ", %s", pos->extra);
	if (pos->n > 0)
		appendStringInfo(buf, ", %s " INT64_FORMAT, pos->unit, pos->n);
	if (pos->unit2 && pos->n2 > 0)
		appendStringInfo(buf, ", %s " INT64_FORMAT, pos->unit2, pos->n2);
}

static void
fmt_errcontext(void *arg)
{
	MetaetlFmtPos *pos = arg;
	StringInfoData b;

	initStringInfo(&b);
	MetaetlFmtPosRender(pos, &b);
	errcontext("source \"%s\", %s", pos->source, b.data);
}

/*
 * Push pos as error context: every error raised while reading names the
 * file and position (MetaetlFmtLeave pops it).
 */
void
MetaetlFmtEnter(MetaetlFmtPos *pos)
{
	pos->cb.callback = fmt_errcontext;
	pos->cb.arg = pos;
	pos->cb.previous = error_context_stack;
	error_context_stack = &pos->cb;
}

/* Pop the error context MetaetlFmtEnter pushed. */
void
MetaetlFmtLeave(MetaetlFmtPos *pos)
{
	error_context_stack = pos->cb.previous;
}

/*
 * Write buf to out once it holds FMT_FLUSH bytes (or always with force), so
 * writers batch small rows into large writes.
 */
void
MetaetlFmtFlush(MetaetlOutStream *out, StringInfo buf, bool force)
{
	if (buf->len > 0 && (force || buf->len >= FMT_FLUSH))
	{
		MetaetlStreamWrite(out, buf->data, buf->len);
		resetStringInfo(buf);
	}
}

/* ------------------------------------------------------------ output settings */

/*
 * Files are written with the output settings that read back the same
 * anywhere (what pg_dump sets): ISO dates, the postgres interval style and
 * the shortest exact float digits, whatever the session or the run's role
 * has set.  A GUC nest level: restored by MetaetlFmtOutputEnd, or by the
 * transaction's abort on error.
 */
int
MetaetlFmtOutputBegin(void)
{
	int			level = NewGUCNestLevel();

	(void) set_config_option("datestyle", "ISO", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("intervalstyle", "postgres", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("extra_float_digits", "1", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	return level;
}

/* Restore the settings MetaetlFmtOutputBegin fixed for writing. */
void
MetaetlFmtOutputEnd(int level)
{
	AtEOXact_GUC(true, level);
}

/* ------------------------------------------------------------ JSON output */

typedef enum JsonKind
{
	JK_TEXT,					/* escaped output text */
	JK_INTEGER,					/* int2/4/8, numeric: bare unless NaN/Infinity */
	JK_FLOAT,					/* float4/8: through numeric, as jsonb does */
	JK_BOOL,
	JK_JSONB,
	JK_DATETIME,				/* date, timestamp, timestamptz: ISO 8601 */
	JK_OTHER					/* to_jsonb() */
} JsonKind;

typedef struct JsonCol
{
	char	   *key;
	int			attno;			/* 0-based column of the row */
	Oid			typid;
	JsonKind	kind;
	FmgrInfo	out;			/* output function (JK_TEXT .. JK_FLOAT) */
	FmgrInfo	to_jsonb;		/* JK_OTHER */
} JsonCol;

struct MetaetlJsonOut
{
	int			ncols;
	JsonCol    *cols;			/* in jsonb key order */
};

/* jsonb's key order: shorter first, then bytewise (lengthCompareJsonbString) */
static int
json_key_cmp(const void *a, const void *b)
{
	const JsonCol *x = a;
	const JsonCol *y = b;
	size_t		lx = strlen(x->key),
				ly = strlen(y->key);

	if (lx != ly)
		return lx < ly ? -1 : 1;
	if (memcmp(x->key, y->key, lx) != 0)
		return memcmp(x->key, y->key, lx);
	/* equal keys: the later column first, so the dedup below keeps it */
	return x->attno > y->attno ? -1 : 1;
}

/*
 * Prepare writing rows of desc as JSON objects exactly as to_jsonb(row)
 * writes them (see the file header): the key order and each column's
 * output function are settled once, not per row.
 */
MetaetlJsonOut *
MetaetlJsonOutBegin(TupleDesc desc)
{
	MetaetlJsonOut *jo = palloc0(sizeof(MetaetlJsonOut));
	int			n = 0;

	jo->cols = palloc0(sizeof(JsonCol) * Max(desc->natts, 1));
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute a = TupleDescAttr(desc, i);
		JsonCol    *c = &jo->cols[n++];
		Oid			base = getBaseType(a->atttypid);
		Oid			func;
		bool		varlena;

		c->key = pstrdup(NameStr(a->attname));
		c->attno = i;
		c->typid = a->atttypid;
		switch (base)
		{
			case TEXTOID:
			case VARCHAROID:
			case BPCHAROID:
			case NAMEOID:
				c->kind = JK_TEXT;
				break;
			case INT2OID:
			case INT4OID:
			case INT8OID:
			case NUMERICOID:
				c->kind = JK_INTEGER;
				break;
			case FLOAT4OID:
			case FLOAT8OID:
				c->kind = JK_FLOAT;
				break;
			case BOOLOID:
				c->kind = JK_BOOL;
				break;
			case JSONBOID:
				c->kind = JK_JSONB;
				break;
			case DATEOID:
			case TIMESTAMPOID:
			case TIMESTAMPTZOID:
				c->kind = JK_DATETIME;
				break;
			default:
				c->kind = JK_OTHER;
				break;
		}
		/* a domain over a plain type: to_jsonb looks through it too */
		c->typid = c->kind == JK_OTHER ? a->atttypid : base;
		if (c->kind == JK_OTHER)
		{
			FuncExpr   *fx;

			fmgr_info(F_TO_JSONB, &c->to_jsonb);
			fx = makeFuncExpr(F_TO_JSONB, JSONBOID,
							  list_make1(makeNullConst(a->atttypid, a->atttypmod, a->attcollation)),
							  InvalidOid, InvalidOid, COERCE_EXPLICIT_CALL);
			fmgr_info_set_expr((Node *) fx, &c->to_jsonb);
		}
		else
		{
			getTypeOutputInfo(a->atttypid, &func, &varlena);
			fmgr_info(func, &c->out);
		}
	}
	qsort(jo->cols, n, sizeof(JsonCol), json_key_cmp);
	/* drop repeated keys (the first of each run is the last column) */
	jo->ncols = 0;
	for (int i = 0; i < n; i++)
		if (jo->ncols == 0 || strcmp(jo->cols[jo->ncols - 1].key, jo->cols[i].key) != 0)
			jo->cols[jo->ncols++] = jo->cols[i];
	return jo;
}

static void
json_value(StringInfo buf, JsonCol *c, Datum v)
{
	char	   *s;

	switch (c->kind)
	{
		case JK_TEXT:
			escape_json(buf, OutputFunctionCall(&c->out, v));
			return;
		case JK_INTEGER:
			s = OutputFunctionCall(&c->out, v);
			if (IsValidJsonNumber(s, strlen(s)))
				appendStringInfoString(buf, s);
			else
				escape_json(buf, s);
			return;
		case JK_FLOAT:
			s = OutputFunctionCall(&c->out, v);
			if (IsValidJsonNumber(s, strlen(s)))
				appendStringInfoString(buf,
									   DatumGetCString(DirectFunctionCall1(numeric_out,
																		   DirectFunctionCall3(numeric_in,
																							   CStringGetDatum(s),
																							   ObjectIdGetDatum(InvalidOid),
																							   Int32GetDatum(-1)))));
			else
				escape_json(buf, s);
			return;
		case JK_BOOL:
			appendStringInfoString(buf, DatumGetBool(v) ? "true" : "false");
			return;
		case JK_JSONB:
			{
				Jsonb	   *jb = DatumGetJsonbP(v);

				JsonbToCString(buf, &jb->root, VARSIZE(jb));
				return;
			}
		case JK_DATETIME:
			{
				char		tmp[MAXDATELEN + 1];

				escape_json(buf, JsonEncodeDateTime(tmp, v, c->typid, NULL));
				return;
			}
		case JK_OTHER:
			{
				Jsonb	   *jb = DatumGetJsonbP(FunctionCall1(&c->to_jsonb, v));

				JsonbToCString(buf, &jb->root, VARSIZE(jb));
				return;
			}
	}
}

/* Append one row as a JSON object to buf. */
void
MetaetlJsonOutRow(MetaetlJsonOut *jo, StringInfo buf, Datum *values, bool *nulls)
{
	appendStringInfoChar(buf, '{');
	for (int i = 0; i < jo->ncols; i++)
	{
		JsonCol    *c = &jo->cols[i];

		if (i > 0)
			appendStringInfoString(buf, ", ");
		escape_json(buf, c->key);
		appendStringInfoString(buf, ": ");
		if (nulls[c->attno])
			appendStringInfoString(buf, "null");
		else
			json_value(buf, c, values[c->attno]);
	}
	appendStringInfoChar(buf, '}');
}
