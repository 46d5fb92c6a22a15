/*-------------------------------------------------------------------------
 *
 * src/connectors/formats/parquet_pg.c
 *		The "parquet" format: Parquet files read into a source's staging
 *		table, and a node's rows written as a Parquet file.
 *
 * This is the PostgreSQL side of the pure-C reader and writer
 * (parquet.h).  Reading maps each flat Parquet column to a PostgreSQL type
 * (the table in docs/formats.md) and builds its Datums straight from the
 * decoded values: integers, floats, dates, times and timestamps by
 * arithmetic, strings by one encoding check.  Decimals go through
 * numeric_in over digits formatted here, because PostgreSQL exports no
 * constructor of a numeric from an unscaled integer and a scale.  Only the
 * columns the source needs are projected, so the other columns' pages are
 * never fetched from the stream.  Writing maps a query's TupleDesc the
 * other way; types Parquet has no counterpart for are written as their
 * text output (STRING).
 *
 * The core allocates with malloc and returns error codes; a reader or
 * writer is freed by a memory-context reset callback, so an ereport from
 * a stream callback (which longjmps through the core) leaks nothing.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/int.h"
#include "datatype/timestamp.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "parser/parse_type.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "connectors/format.h"
#include "connectors/formats/parquet.h"

#define PQ_REMOTE_REQUEST_BYTES (4 * 1024 * 1024)

/* how a Parquet column becomes a Datum */
typedef enum PqKind
{
	PK_BOOL, PK_INT2, PK_INT4, PK_UINT32, PK_INT8, PK_UINT64, PK_FLOAT4, PK_FLOAT8,
	PK_FLOAT16, PK_DATE, PK_TIME, PK_TIMETZ, PK_TIMESTAMP, PK_TIMESTAMPTZ, PK_INT96,
	PK_DECIMAL, PK_TEXT, PK_BYTEA, PK_UUID, PK_INTERVAL, PK_NULL
} PqKind;

typedef struct PqPgCol
{
	int			file_col;		/* index in the file's columns */
	const PqfColumn *pc;
	PqKind		kind;
	const char *type;			/* the PostgreSQL type it maps to */
	FmgrInfo	num_in;			/* numeric_in, for decimals */
	Oid			num_ioparam;
	int32		typmod;			/* ... and the typmod they are built with */
	bool		fast_decimal;	/* integer decimal, built without numeric_in */
	int64		decimal_limit;	/* ... while |value| < 10^precision */
	bool		coerce;			/* a declared type differs: through text */
	FmgrInfo	out_fn;			/* the natural type's output */
	FmgrInfo	in_fn;			/* the staging column's input */
	Oid			in_ioparam;
	int32		in_typmod;
	PqfBatch	b;
	int64		pos;
	int64		vpos;
} PqPgCol;

typedef struct PqRead
{
	PqfFile    *f;
	const char *name;			/* the object */
	const char *src_id;
	int			rg;
	const char *column;			/* converting this column, for errcontext */
} PqRead;

/* ---- errors --------------------------------------------------------------- */

static int
pq_sqlstate(int code)
{
	switch (code)
	{
		case PQF_E_CORRUPT:
			return ERRCODE_BAD_COPY_FILE_FORMAT;
		case PQF_E_UNSUPPORTED:
		case PQF_E_NESTED:
			return ERRCODE_FEATURE_NOT_SUPPORTED;
		case PQF_E_NOMEM:
			return ERRCODE_OUT_OF_MEMORY;
		case PQF_E_IO:
			return ERRCODE_IO_ERROR;
		default:
			return ERRCODE_INTERNAL_ERROR;
	}
}

static void
pq_read_error(const char *src_id, const char *name, const PqfError *err)
{
	ereport(ERROR,
			(errcode(pq_sqlstate(err->code)),
			 errmsg("source \"%s\": cannot read \"%s\" as Parquet: %s", src_id, name, err->msg),
			 err->code == PQF_E_NESTED
			 ? errhint("Declare columns: {name: type} with the flat columns to read.") : 0));
}

static void
pq_read_errcontext(void *arg)
{
	PqRead	   *st = arg;

	if (st->column)
		errcontext("Parquet file \"%s\", row group %d, column \"%s\"", st->name, st->rg, st->column);
	else
		errcontext("Parquet file \"%s\"", st->name);
}

/* the reader and writer are malloc'd: free them when the context goes */
static void
pq_close_cb(void *arg)
{
	PqRead	   *st = arg;

	if (st->f)
		pqf_close(st->f);
	st->f = NULL;
}

static int
pq_stream_read_at(void *arg, uint64_t off, void *buf, size_t len, PqfError *err)
{
	/* errors are ereport(ERROR) inside; the reset callback frees the reader */
	MetaetlStreamReadAt((MetaetlInStream *) arg, (int64) off, buf, len);
	return 0;
}

static void
pq_stream_prefetch(void *arg, uint64_t off, size_t len)
{
	MetaetlStreamPrefetch((MetaetlInStream *) arg, (int64) off, len);
}

/* ---- type mapping ---------------------------------------------------------- */

/*
 * The PostgreSQL type a Parquet column reads as, and how.  Returns false
 * for a column this format cannot read (nested columns are refused by
 * pqf_project with their own message).
 */
static bool
pq_map_column(const PqfColumn *c, PqKind *kind, char **type)
{
	*type = NULL;
	switch (c->logical)
	{
		case PQF_LT_STRING:
		case PQF_LT_ENUM:
		case PQF_LT_JSON:
			*kind = PK_TEXT;
			*type = "text";
			return true;
		case PQF_LT_BSON:
			*kind = PK_BYTEA;
			*type = "bytea";
			return true;
		case PQF_LT_UUID:
			*kind = PK_UUID;
			*type = "uuid";
			return true;
		case PQF_LT_DATE:
			*kind = PK_DATE;
			*type = "date";
			return true;
		case PQF_LT_TIME:
			*kind = c->utc ? PK_TIMETZ : PK_TIME;
			*type = c->utc ? "time with time zone" : "time without time zone";
			return true;
		case PQF_LT_TIMESTAMP:
			*kind = c->utc ? PK_TIMESTAMPTZ : PK_TIMESTAMP;
			*type = c->utc ? "timestamp with time zone" : "timestamp without time zone";
			return true;
		case PQF_LT_DECIMAL:
			*kind = PK_DECIMAL;
			/* numeric's typmod allows 1000 digits */
			*type = c->precision <= 1000 ? psprintf("numeric(%d,%d)", c->precision, c->scale)
				: "numeric";
			return true;
		case PQF_LT_INT:
			if (c->bit_width == 64)
			{
				*kind = c->is_signed ? PK_INT8 : PK_UINT64;
				*type = c->is_signed ? "bigint" : "numeric(20,0)";
			}
			else if (c->bit_width == 32)
			{
				*kind = c->is_signed ? PK_INT4 : PK_UINT32;
				*type = c->is_signed ? "integer" : "bigint";
			}
			else if (c->bit_width == 16)
			{
				*kind = c->is_signed ? PK_INT2 : PK_INT4;
				*type = c->is_signed ? "smallint" : "integer";
			}
			else
			{
				*kind = PK_INT2;
				*type = "smallint";
			}
			return true;
		case PQF_LT_FLOAT16:
			*kind = PK_FLOAT16;
			*type = "real";
			return true;
		case PQF_LT_INTERVAL:
			*kind = PK_INTERVAL;
			*type = "interval";
			return true;
		case PQF_LT_NULL:
			*kind = PK_NULL;
			*type = "text";
			return true;
		default:
			break;
	}
	switch (c->type)
	{
		case PQF_BOOLEAN:
			*kind = PK_BOOL;
			*type = "boolean";
			return true;
		case PQF_INT32:
			*kind = PK_INT4;
			*type = "integer";
			return true;
		case PQF_INT64:
			*kind = PK_INT8;
			*type = "bigint";
			return true;
		case PQF_INT96:
			*kind = PK_INT96;
			*type = "timestamp without time zone";
			return true;
		case PQF_FLOAT:
			*kind = PK_FLOAT4;
			*type = "real";
			return true;
		case PQF_DOUBLE:
			*kind = PK_FLOAT8;
			*type = "double precision";
			return true;
		case PQF_BYTE_ARRAY:
		case PQF_FIXED_LEN_BYTE_ARRAY:
			*kind = PK_BYTEA;
			*type = "bytea";
			return true;
	}
	return false;
}

/* ---- values to Datums --------------------------------------------------- */

static inline int64
floor_div(int64 a, int64 b)
{
	int64		q = a / b;

	return (a % b != 0 && (a < 0)) ? q - 1 : q;
}

static int64
pq_micros(const PqfColumn *c, int64 v)
{
	if (c->unit == PQF_MILLIS)
	{
		if (v > PG_INT64_MAX / 1000 || v < PG_INT64_MIN / 1000)
			ereport(ERROR,
					(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
					 errmsg("time value %lld ms is out of range", (long long) v)));
		return v * 1000;
	}
	if (c->unit == PQF_NANOS)
		return floor_div(v, 1000);
	return v;
}

static Datum
pq_timestamp(int64 unix_micros)
{
	int64		ts;

	if (pg_sub_s64_overflow(unix_micros,
							(int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY, &ts) ||
		!IS_VALID_TIMESTAMP(ts))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range: %lld microseconds after 1970-01-01",
						(long long) unix_micros)));
	return TimestampGetDatum(ts);
}

/* a decimal given as sign + magnitude digits and a scale, through numeric_in */
static Datum
pq_numeric_digits(PqPgCol *pc, bool neg, const char *digits, int scale)
{
	int			nd = (int) strlen(digits);
	char	   *s = palloc(nd + scale + 4);
	char	   *p = s;

	if (neg)
		*p++ = '-';
	if (nd <= scale)
	{
		*p++ = '0';
		*p++ = '.';
		for (int i = nd; i < scale; i++)
			*p++ = '0';
		memcpy(p, digits, nd);
		p += nd;
	}
	else
	{
		memcpy(p, digits, nd - scale);
		p += nd - scale;
		if (scale > 0)
		{
			*p++ = '.';
			memcpy(p, digits + nd - scale, scale);
			p += scale;
		}
	}
	*p = '\0';
	return InputFunctionCall(&pc->num_in, s, pc->num_ioparam, pc->typmod);
}

static Datum
pq_numeric_u64(PqPgCol *pc, bool neg, uint64 mag, int scale)
{
	char		buf[24];

	snprintf(buf, sizeof(buf), "%llu", (unsigned long long) mag);
	return pq_numeric_digits(pc, neg, buf, scale);
}

/* big-endian two's complement bytes of any length */
static Datum
pq_numeric_bytes(PqPgCol *pc, const uint8 *b, uint32 len, int scale)
{
	bool		neg = len > 0 && (b[0] & 0x80);
	uint8	   *mag;
	char	   *digits;
	int			nd = 0;
	uint32		start = 0;

	if (len == 0)
		return pq_numeric_u64(pc, false, 0, scale);
	if (len > 512)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("a decimal of %u bytes is too long", len)));
	/* magnitude: negate the two's complement */
	mag = palloc(len);
	memcpy(mag, b, len);
	if (neg)
	{
		int			carry = 1;

		for (int i = (int) len - 1; i >= 0; i--)
		{
			int			x = (uint8) ~mag[i] + carry;

			mag[i] = (uint8) x;
			carry = x >> 8;
		}
	}
	/* repeated division by 10 (bytes as base-256 digits) */
	digits = palloc(len * 3 + 2);
	for (;;)
	{
		int			rem = 0;

		while (start < len && mag[start] == 0)
			start++;
		if (start == len)
			break;
		for (uint32 i = start; i < len; i++)
		{
			int			cur = rem * 256 + mag[i];

			mag[i] = (uint8) (cur / 10);
			rem = cur % 10;
		}
		digits[nd++] = (char) ('0' + rem);
	}
	if (nd == 0)
		digits[nd++] = '0';
	for (int i = 0; i < nd / 2; i++)
	{
		char		t = digits[i];

		digits[i] = digits[nd - 1 - i];
		digits[nd - 1 - i] = t;
	}
	digits[nd] = '\0';
	return pq_numeric_digits(pc, neg, digits, scale);
}

static float
half_to_float(uint16 h)
{
	int			e = (h >> 10) & 0x1f;
	int			m = h & 0x3ff;
	float		v;

	if (e == 0)
		v = ldexpf((float) m, -24);
	else if (e == 31)
		v = m ? NAN : INFINITY;
	else
		v = ldexpf((float) (m | 0x400), e - 25);
	return (h & 0x8000) ? -v : v;
}

static uint32
le32(const uint8 *p)
{
	return (uint32) p[0] | ((uint32) p[1] << 8) | ((uint32) p[2] << 16) | ((uint32) p[3] << 24);
}

/* the natural Datum of value v (index into the batch's dense values) */
static Datum
pq_datum(PqPgCol *pc, int64 v)
{
	const PqfColumn *c = pc->pc;
	const PqfBatch *b = &pc->b;

	switch (pc->kind)
	{
		case PK_BOOL:
			return BoolGetDatum(b->v.b[v] != 0);
		case PK_INT2:
			{
				int32		x = b->v.i32[v];

				/* an unsigned 8-bit value is stored as its unsigned number */
				if (c->logical == PQF_LT_INT && !c->is_signed)
					x = (uint8) x;
				else if (x < PG_INT16_MIN || x > PG_INT16_MAX)
					ereport(ERROR,
							(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
							 errmsg("value %d is out of range for a %d-bit integer", x, c->bit_width)));
				return Int16GetDatum((int16) x);
			}
		case PK_INT4:
			if (c->logical == PQF_LT_INT && !c->is_signed)
				return Int32GetDatum((int32) (uint16) b->v.i32[v]);
			return Int32GetDatum(b->v.i32[v]);
		case PK_UINT32:
			return Int64GetDatum((int64) (uint32) b->v.i32[v]);
		case PK_INT8:
			return Int64GetDatum(b->v.i64[v]);
		case PK_UINT64:
			{
				uint64		u = (uint64) b->v.i64[v];

				if (u <= (uint64) PG_INT64_MAX)
					return NumericGetDatum(int64_to_numeric((int64) u));
				return pq_numeric_u64(pc, false, u, 0);
			}
		case PK_FLOAT4:
			return Float4GetDatum(b->v.f32[v]);
		case PK_FLOAT8:
			return Float8GetDatum(b->v.f64[v]);
		case PK_FLOAT16:
			return Float4GetDatum(half_to_float((uint16) (b->v.bytes[v].ptr[0] |
														  (b->v.bytes[v].ptr[1] << 8))));
		case PK_DATE:
			{
				int64		d = (int64) b->v.i32[v] - (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE);

				if (!IS_VALID_DATE(d))
					ereport(ERROR,
							(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
							 errmsg("date out of range: %d days after 1970-01-01", b->v.i32[v])));
				return DateADTGetDatum((DateADT) d);
			}
		case PK_TIME:
		case PK_TIMETZ:
			{
				int64		t = pq_micros(c, c->type == PQF_INT32 ? b->v.i32[v] : b->v.i64[v]);

				if (t < 0 || t > USECS_PER_DAY)
					ereport(ERROR,
							(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
							 errmsg("time of day out of range: %lld microseconds", (long long) t)));
				if (pc->kind == PK_TIMETZ)
				{
					TimeTzADT  *r = palloc(sizeof(TimeTzADT));

					r->time = t;
					r->zone = 0;
					return TimeTzADTPGetDatum(r);
				}
				return TimeADTGetDatum(t);
			}
		case PK_TIMESTAMP:
		case PK_TIMESTAMPTZ:
			return pq_timestamp(pq_micros(c, b->v.i64[v]));
		case PK_INT96:
			{
				/* nanoseconds of the day, then the Julian day (Impala, Spark) */
				int64		nanos;
				int64		jd = le32(b->v.bytes[v].ptr + 8);
				int64		unix_us;

				memcpy(&nanos, b->v.bytes[v].ptr, 8);
				if (nanos < 0 || nanos > 86400 * INT64CONST(1000000000) || jd > 100000000)
					ereport(ERROR,
							(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
							 errmsg("INT96 timestamp out of range (day %lld, %lld ns)",
									(long long) jd, (long long) nanos)));
				unix_us = (jd - UNIX_EPOCH_JDATE) * USECS_PER_DAY + nanos / 1000;
				return pq_timestamp(unix_us);
			}
		case PK_DECIMAL:
			if (c->type == PQF_INT32 || c->type == PQF_INT64)
			{
				int64		x = c->type == PQF_INT32 ? b->v.i32[v] : b->v.i64[v];

				/*
				 * The common case (DuckDB, Spark: decimal(p, s) with p <= 18
				 * in an integer, read into numeric(p, s)) is built directly:
				 * formatting digits for numeric_in costs more than the rest
				 * of the row.  A value with more than p digits takes the
				 * slow path, where the typmod refuses it.
				 */
				if (pc->fast_decimal && x > -pc->decimal_limit && x < pc->decimal_limit)
					return NumericGetDatum(int64_div_fast_to_numeric(x, c->scale));
				return pq_numeric_u64(pc, x < 0, x < 0 ? (uint64) 0 - (uint64) x : (uint64) x,
									  c->scale);
			}
			return pq_numeric_bytes(pc, b->v.bytes[v].ptr, b->v.bytes[v].len, c->scale);
		case PK_TEXT:
			{
				const char *s = (const char *) b->v.bytes[v].ptr;
				int			len = (int) b->v.bytes[v].len;
				char	   *conv;

				/* Parquet strings are UTF-8: checked, and converted when the database is not */
				conv = pg_any_to_server(s, len, PG_UTF8);
				if (conv != s)
					len = (int) strlen(conv);
				return PointerGetDatum(cstring_to_text_with_len(conv, len));
			}
		case PK_BYTEA:
			{
				uint32		len = b->v.bytes[v].len;
				bytea	   *r = palloc(VARHDRSZ + len);

				SET_VARSIZE(r, VARHDRSZ + len);
				memcpy(VARDATA(r), b->v.bytes[v].ptr, len);
				return PointerGetDatum(r);
			}
		case PK_UUID:
			{
				pg_uuid_t  *u = palloc(sizeof(pg_uuid_t));

				memcpy(u->data, b->v.bytes[v].ptr, UUID_LEN);
				return UUIDPGetDatum(u);
			}
		case PK_INTERVAL:
			{
				Interval   *r = palloc(sizeof(Interval));
				const uint8 *p = b->v.bytes[v].ptr;

				r->month = (int32) le32(p);
				r->day = (int32) le32(p + 4);
				r->time = (int64) le32(p + 8) * 1000;
				return IntervalPGetDatum(r);
			}
		case PK_NULL:
			break;
	}
	return (Datum) 0;
}

/* ---- reading ---------------------------------------------------------------- */

/*
 * A value of the natural type to a declared type, through text.  A value
 * the declared type refuses is an error naming the source, the file and
 * the column (the input function's own message becomes the detail); this
 * is the slow path, so the PG_TRY per value is affordable.
 */
static Datum
pq_coerce(PqRead *st, PqPgCol *pc, Datum d)
{
	char	   *txt = OutputFunctionCall(&pc->out_fn, d);
	MemoryContext cxt = CurrentMemoryContext;
	Datum		r = (Datum) 0;

	PG_TRY();
	{
		r = InputFunctionCall(&pc->in_fn, txt, pc->in_ioparam, pc->in_typmod);
	}
	PG_CATCH();
	{
		ErrorData  *e;

		MemoryContextSwitchTo(cxt);
		e = CopyErrorData();
		if (e->sqlerrcode == ERRCODE_QUERY_CANCELED || e->sqlerrcode == ERRCODE_ADMIN_SHUTDOWN)
			PG_RE_THROW();
		FlushErrorState();
		ereport(ERROR,
				(errcode(e->sqlerrcode),
				 errmsg("source \"%s\": column %s of \"%s\" (row group %d) does not convert to its declared type",
						st->src_id, quote_identifier(pc->pc->name), st->name, st->rg),
				 errdetail("%s", e->message)));
	}
	PG_END_TRY();
	return r;
}

static List *
pq_columns_of(PqRead *st, MetaetlFormatRead *rd, PqPgCol **out, int *nout)
{
	PqfFile    *f = st->f;
	int			n = pqf_ncolumns(f);
	List	   *cols = NIL;
	PqPgCol    *pcs = palloc0(sizeof(PqPgCol) * (n + list_length(rd->declared) + 1));
	int			k = 0;
	ListCell   *lc;

	if (rd->declared != NIL)
	{
		/* declared columns, in their order, found by name */
		foreach(lc, rd->declared)
		{
			MetaetlColumn *d = lfirst(lc);
			int			i = pqf_find_column(f, d->name);
			MetaetlColumn *c;

			if (i < 0)
			{
				if (rd->file_column && strcmp(d->name, rd->file_column) == 0)
					continue;
				ereport(ERROR,
						(errcode(ERRCODE_UNDEFINED_COLUMN),
						 errmsg("source \"%s\": column %s is not in \"%s\"", st->src_id,
								quote_identifier(d->name), st->name)));
			}
			pcs[k].file_col = i;
			pcs[k].pc = pqf_column(f, i);
			c = palloc0(sizeof(MetaetlColumn));
			c->name = d->name;
			c->type = d->type;
			cols = lappend(cols, c);
			k++;
		}
	}
	else
	{
		/*
		 * Only the columns the pipeline reads (rd->wanted), so an unused
		 * column that is nested or damaged is never decoded.  When none of
		 * them is in the file (a pipeline reading only file_column), every
		 * column is read: the table needs one, and the steps then report
		 * what is missing.
		 */
		List	   *wanted = rd->wanted;
		bool		any = false;

		foreach(lc, wanted)
			any = any || pqf_find_column(f, (char *) lfirst(lc)) >= 0;
		if (!any)
			wanted = NIL;
		for (int i = 0; i < n; i++)
		{
			const PqfColumn *p = pqf_column(f, i);
			MetaetlColumn *c;

			if (wanted != NIL)
			{
				bool		want = false;

				foreach(lc, wanted)
					if (strcmp((char *) lfirst(lc), p->name) == 0)
						want = true;
				if (!want)
					continue;
			}
			pcs[k].file_col = i;
			pcs[k].pc = p;
			c = palloc0(sizeof(MetaetlColumn));
			c->name = pstrdup(p->name);
			cols = lappend(cols, c);
			k++;
		}
	}
	/* nested columns are refused here, naming the first */
	{
		int		   *idx = palloc(sizeof(int) * (k + 1));
		PqfError	err = {0};

		for (int i = 0; i < k; i++)
			idx[i] = pcs[i].file_col;
		if (pqf_project(f, idx, k, &err) < 0)
			pq_read_error(st->src_id, st->name, &err);
	}
	for (int i = 0; i < k; i++)
	{
		MetaetlColumn *c = list_nth(cols, i);
		char	   *type;

		if (!pq_map_column(pcs[i].pc, &pcs[i].kind, &type))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("source \"%s\": column %s of \"%s\" has a type this reader does not know",
							st->src_id, quote_identifier(pcs[i].pc->name), st->name)));
		pcs[i].type = type;
		if (c->type == NULL)
			c->type = type;
	}
	*out = pcs;
	*nout = k;
	return cols;
}

static int64
parquet_read(MetaetlFormatRead *rd)
{
	PqRead	   *st = palloc0(sizeof(PqRead));
	MemoryContextCallback *cb = palloc0(sizeof(MemoryContextCallback));
	PqfInput	in;
	PqfError	err = {0};
	PqPgCol    *pcs;
	int			ncols;
	List	   *cols;
	MetaetlSink *sink;
	TupleDesc	desc;
	Datum	   *values;
	bool	   *nulls;
	int			natts;
	MemoryContext row_cxt;
	MemoryContext old;
	ErrorContextCallback errcb;
	int64		rows = 0;

	st->name = rd->in->name;
	st->src_id = rd->src->id;
	if (rd->in->size < 0 || !rd->in->seekable)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("source \"%s\": Parquet needs random access, and \"%s\" is a sequential stream",
						st->src_id, st->name)));
	memset(&in, 0, sizeof(in));
	in.read_at = pq_stream_read_at;
	in.size = (uint64_t) rd->in->size;
	in.arg = rd->in;
	in.prefetch = pq_stream_prefetch;
	/*
	 * A stream that prefetches is remote: a request costs about what 4 MiB
	 * of transfer does (tens of milliseconds), so gaps of unused columns up
	 * to that are read rather than split into one request per chunk.
	 */
	if (rd->in->prefetch)
		in.request_bytes = PQ_REMOTE_REQUEST_BYTES;
	cb->func = pq_close_cb;
	cb->arg = st;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, cb);

	errcb.callback = pq_read_errcontext;
	errcb.arg = st;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;

	if (pqf_open(&st->f, &in, &err) < 0)
		pq_read_error(st->src_id, st->name, &err);
	cols = pq_columns_of(st, rd, &pcs, &ncols);
	if (cols == NIL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("source \"%s\": \"%s\" has no columns to read", st->src_id, st->name)));
	error_context_stack = errcb.previous;
	sink = rd->begin(rd, cols);
	error_context_stack = &errcb;
	if (rd->plan->describe_only)
	{
		error_context_stack = errcb.previous;
		pqf_close(st->f);
		st->f = NULL;
		return 0;
	}
	desc = MetaetlSinkDesc(sink);
	natts = desc->natts;
	values = palloc0(sizeof(Datum) * natts);
	nulls = palloc0(sizeof(bool) * natts);
	if (rd->file_column && natts > ncols)
	{
		values[natts - 1] = CStringGetTextDatum(st->name);
		nulls[natts - 1] = false;
	}
	/*
	 * The staging column's type decides: a declared type other than the
	 * natural one is reached through text; a decimal is built with the
	 * column's typmod when the column is numeric.
	 */
	for (int k = 0; k < ncols; k++)
	{
		Form_pg_attribute a = TupleDescAttr(desc, k);
		Oid			natural = InvalidOid;
		int32		natural_typmod = -1;
		Oid			func;
		bool		varlena;

		parseTypeString(pcs[k].type, &natural, &natural_typmod, false);
		pcs[k].coerce = natural != a->atttypid;
		getTypeInputInfo(NUMERICOID, &func, &pcs[k].num_ioparam);
		fmgr_info(func, &pcs[k].num_in);
		pcs[k].typmod = pcs[k].coerce ? natural_typmod : a->atttypmod;
		/* the staging column is the file's numeric(p, s) itself (or numeric) */
		if (pcs[k].kind == PK_DECIMAL && !pcs[k].coerce &&
			(pcs[k].pc->type == PQF_INT32 || pcs[k].pc->type == PQF_INT64) &&
			pcs[k].pc->precision >= 1 && pcs[k].pc->precision <= 18 &&
			pcs[k].pc->scale >= 0 && pcs[k].pc->scale <= pcs[k].pc->precision &&
			(pcs[k].typmod < 0 || pcs[k].typmod == natural_typmod))
		{
			pcs[k].fast_decimal = true;
			pcs[k].decimal_limit = 1;
			for (int d = 0; d < pcs[k].pc->precision; d++)
				pcs[k].decimal_limit *= 10;
		}
		if (pcs[k].coerce)
		{
			getTypeOutputInfo(natural, &func, &varlena);
			fmgr_info(func, &pcs[k].out_fn);
			getTypeInputInfo(a->atttypid, &func, &pcs[k].in_ioparam);
			fmgr_info(func, &pcs[k].in_fn);
			pcs[k].in_typmod = a->atttypmod;
		}
	}

	row_cxt = AllocSetContextCreate(CurrentMemoryContext, "metaetl parquet rows",
									ALLOCSET_DEFAULT_SIZES);
	for (int g = 0; g < pqf_num_row_groups(st->f); g++)
	{
		int64		rg_rows = pqf_row_group_rows(st->f, g);

		st->rg = g;
		st->column = NULL;
		MetaetlSinkPosition(sink, "object \"%s\", row group %d", st->name, g);
		if (pqf_row_group(st->f, g, &err) < 0)
			pq_read_error(st->src_id, st->name, &err);
		for (int k = 0; k < ncols; k++)
		{
			pcs[k].b.nrows = 0;
			pcs[k].pos = 0;
			pcs[k].vpos = 0;
		}
		for (int64 r = 0; r < rg_rows; r++)
		{
			if ((r & 1023) == 0)
			{
				CHECK_FOR_INTERRUPTS();
				MemoryContextReset(row_cxt);
				/* the next row groups' download moves on meanwhile */
				MetaetlStreamPump(rd->in);
			}
			old = MemoryContextSwitchTo(row_cxt);
			for (int k = 0; k < ncols; k++)
			{
				PqPgCol    *pc = &pcs[k];

				if (pc->pos == pc->b.nrows)
				{
					int64		got = pqf_read(st->f, k, 8192, &pc->b, &err);

					if (got < 0)
						pq_read_error(st->src_id, st->name, &err);
					if (got == 0)
					{
						err.code = PQF_E_CORRUPT;
						snprintf(err.msg, sizeof(err.msg),
								 "column \"%s\" (row group %d) ends after %lld of %lld rows",
								 pc->pc->name, g, (long long) r, (long long) rg_rows);
						pq_read_error(st->src_id, st->name, &err);
					}
					pc->pos = 0;
					pc->vpos = 0;
				}
				if ((pc->b.defined && !pc->b.defined[pc->pos]) || pc->kind == PK_NULL)
				{
					if (!(pc->b.defined && !pc->b.defined[pc->pos]))
						pc->vpos++;
					nulls[k] = true;
					pc->pos++;
					continue;
				}
				st->column = pc->pc->name;
				values[k] = pq_datum(pc, pc->vpos);
				if (pc->coerce)
					values[k] = pq_coerce(st, pc, values[k]);
				nulls[k] = false;
				pc->pos++;
				pc->vpos++;
			}
			st->column = NULL;
			MemoryContextSwitchTo(old);
			MetaetlSinkPut(sink, values, nulls);
			rows++;
		}
	}
	MemoryContextDelete(row_cxt);
	error_context_stack = errcb.previous;
	pqf_close(st->f);
	st->f = NULL;
	return rows;
}

/* ---- writing ------------------------------------------------------------------ */

typedef struct PqWrite
{
	PqfWriter  *w;
} PqWrite;

static void
pq_writer_close_cb(void *arg)
{
	PqWrite    *st = arg;

	if (st->w)
		pqf_writer_free(st->w);
	st->w = NULL;
}

static int
pq_stream_write(void *arg, const void *buf, size_t len, PqfError *err)
{
	MetaetlStreamWrite((MetaetlOutStream *) arg, buf, len);
	return 0;
}

typedef enum PwKind
{
	PW_BOOL, PW_INT2, PW_INT4, PW_INT8, PW_FLOAT4, PW_FLOAT8, PW_DEC32, PW_DEC64, PW_DECFIXED,
	PW_TEXT, PW_BYTEA, PW_DATE, PW_TIME, PW_TIMETZ, PW_TS, PW_UUID, PW_OUTPUT
} PwKind;

typedef struct PqOutCol
{
	PwKind		kind;
	FmgrInfo	out_fn;
	int			scale;
	int			nbytes;			/* PW_DECFIXED */
} PqOutCol;

/* the Parquet column a PostgreSQL column is written as */
static void
pq_out_column(Form_pg_attribute a, PqfColumn *c, PqOutCol *oc)
{
	Oid			t = a->atttypid;
	Oid			ofunc;
	bool		varlena;

	memset(c, 0, sizeof(*c));
	c->name = NameStr(a->attname);
	c->optional = true;
	getTypeOutputInfo(t, &ofunc, &varlena);
	fmgr_info(ofunc, &oc->out_fn);
	switch (t)
	{
		case BOOLOID:
			oc->kind = PW_BOOL;
			c->type = PQF_BOOLEAN;
			return;
		case INT2OID:
		case INT4OID:
		case INT8OID:
			oc->kind = t == INT2OID ? PW_INT2 : t == INT4OID ? PW_INT4 : PW_INT8;
			c->type = t == INT8OID ? PQF_INT64 : PQF_INT32;
			c->logical = PQF_LT_INT;
			c->bit_width = t == INT2OID ? 16 : t == INT4OID ? 32 : 64;
			c->is_signed = true;
			return;
		case FLOAT4OID:
			oc->kind = PW_FLOAT4;
			c->type = PQF_FLOAT;
			return;
		case FLOAT8OID:
			oc->kind = PW_FLOAT8;
			c->type = PQF_DOUBLE;
			return;
		case NUMERICOID:
			if (a->atttypmod >= (int32) VARHDRSZ)
			{
				int			p = ((a->atttypmod - VARHDRSZ) >> 16) & 0xffff;
				int			s = (int16) ((a->atttypmod - VARHDRSZ) & 0xffff);

				if (s >= 0 && s <= p)
				{
					c->logical = PQF_LT_DECIMAL;
					c->precision = p;
					c->scale = s;
					oc->scale = s;
					if (p <= 9)
					{
						oc->kind = PW_DEC32;
						c->type = PQF_INT32;
					}
					else if (p <= 18)
					{
						oc->kind = PW_DEC64;
						c->type = PQF_INT64;
					}
					else
					{
						/* the fewest bytes holding 10^p - 1 and a sign bit */
						oc->kind = PW_DECFIXED;
						c->type = PQF_FIXED_LEN_BYTE_ARRAY;
						c->type_length = (int) ceil((p * log2(10.0) + 1) / 8);
						oc->nbytes = c->type_length;
					}
					return;
				}
			}
			/* unconstrained numeric has no decimal type: its exact text */
			break;
		case TEXTOID:
		case VARCHAROID:
		case BPCHAROID:
		case NAMEOID:
			oc->kind = PW_TEXT;
			c->type = PQF_BYTE_ARRAY;
			c->logical = PQF_LT_STRING;
			return;
		case JSONOID:
		case JSONBOID:
			oc->kind = PW_OUTPUT;
			c->type = PQF_BYTE_ARRAY;
			c->logical = PQF_LT_JSON;
			return;
		case BYTEAOID:
			oc->kind = PW_BYTEA;
			c->type = PQF_BYTE_ARRAY;
			return;
		case DATEOID:
			oc->kind = PW_DATE;
			c->type = PQF_INT32;
			c->logical = PQF_LT_DATE;
			return;
		case TIMEOID:
		case TIMETZOID:
			oc->kind = t == TIMEOID ? PW_TIME : PW_TIMETZ;
			c->type = PQF_INT64;
			c->logical = PQF_LT_TIME;
			c->unit = PQF_MICROS;
			c->utc = t == TIMETZOID;
			return;
		case TIMESTAMPOID:
		case TIMESTAMPTZOID:
			oc->kind = PW_TS;
			c->type = PQF_INT64;
			c->logical = PQF_LT_TIMESTAMP;
			c->unit = PQF_MICROS;
			c->utc = t == TIMESTAMPTZOID;
			return;
		case UUIDOID:
			oc->kind = PW_UUID;
			c->type = PQF_FIXED_LEN_BYTE_ARRAY;
			c->type_length = 16;
			c->logical = PQF_LT_UUID;
			return;
		default:
			break;
	}
	oc->kind = PW_OUTPUT;
	c->type = PQF_BYTE_ARRAY;
	c->logical = PQF_LT_STRING;
}

/* a numeric's exact digits, as an unscaled integer of the column's scale */
static char *
pq_unscaled(Datum d, int scale, bool *neg, const char *col)
{
	char	   *s = DatumGetCString(DirectFunctionCall1(numeric_out, d));
	StringInfoData b;
	const char *p = s;
	const char *dot;
	int			frac = 0;

	if (!isdigit((unsigned char) s[0]) && s[0] != '-')
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("column %s: %s cannot be written as a Parquet decimal", quote_identifier(col), s)));
	*neg = *p == '-';
	if (*neg)
		p++;
	initStringInfo(&b);
	dot = strchr(p, '.');
	for (; *p; p++)
	{
		if (*p == '.')
			continue;
		if (dot && p > dot)
			frac++;
		if (frac > scale)
			break;				/* the typmod already rounded; cannot happen */
		appendStringInfoChar(&b, *p);
	}
	for (; frac < scale; frac++)
		appendStringInfoChar(&b, '0');
	return b.data;
}

static int64
parquet_write(MetaetlRowReader *rows, JsonbContainer *conf, MetaetlOutStream *out)
{
	TupleDesc	desc = MetaetlRowReaderDesc(rows);
	int			n = desc->natts;
	PqfColumn  *cols = palloc0(sizeof(PqfColumn) * n);
	PqOutCol   *oc = palloc0(sizeof(PqOutCol) * n);
	PqWrite    *st = palloc0(sizeof(PqWrite));
	MemoryContextCallback *cb = palloc0(sizeof(MemoryContextCallback));
	PqfWriteOptions opt;
	PqfOutput	o = {pq_stream_write, out};
	PqfError	err = {0};
	JsonbContainer *options = conf ? MetaetlJObj(conf, "options") : NULL;
	char	   *codec = options ? MetaetlJStr(options, "codec") : NULL;
	char	   *rgs = options ? MetaetlJStr(options, "row_group_size") : NULL;
	Datum	   *values;
	bool	   *nulls;
	int64		count = 0;
	MemoryContext row_cxt;

	pqf_write_defaults(&opt);
	opt.created_by = "metaetl version " METAETL_VERSION;
	if (codec)
	{
		if (strcmp(codec, "snappy") == 0)
			opt.codec = PQF_SNAPPY;
		else if (strcmp(codec, "zstd") == 0)
			opt.codec = PQF_ZSTD;
		else if (strcmp(codec, "gzip") == 0)
			opt.codec = PQF_GZIP;
		else if (strcmp(codec, "none") == 0 || strcmp(codec, "uncompressed") == 0)
			opt.codec = PQF_UNCOMPRESSED;
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("\"%s\": unknown Parquet codec \"%s\"", out->name, codec),
					 errhint("options.codec is one of snappy (the default), zstd, gzip, none.")));
	}
	if (rgs)
	{
		char	   *end;
		long		v = strtol(rgs, &end, 10);

		if (*end != '\0' || v < 1 || v > 100000000)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("\"%s\": options.row_group_size must be a row count from 1 to 100000000", out->name)));
		opt.row_group_rows = v;
	}
	for (int i = 0; i < n; i++)
		pq_out_column(TupleDescAttr(desc, i), &cols[i], &oc[i]);

	cb->func = pq_writer_close_cb;
	cb->arg = st;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, cb);
	if (pqf_writer_open(&st->w, &o, cols, n, &opt, &err) < 0)
		ereport(ERROR,
				(errcode(pq_sqlstate(err.code)),
				 errmsg("cannot write \"%s\" as Parquet: %s", out->name, err.msg)));
	row_cxt = AllocSetContextCreate(CurrentMemoryContext, "metaetl parquet write",
									ALLOCSET_DEFAULT_SIZES);
	while (MetaetlRowReaderNext(rows, &values, &nulls))
	{
		MemoryContext old;

		if ((count & 1023) == 0)
		{
			CHECK_FOR_INTERRUPTS();
			MemoryContextReset(row_cxt);
		}
		old = MemoryContextSwitchTo(row_cxt);
		for (int i = 0; i < n; i++)
		{
			Datum		d = values[i];

			if (nulls[i])
			{
				pqf_put_null(st->w, i);
				continue;
			}
			switch (oc[i].kind)
			{
				case PW_BOOL:
					pqf_put_bool(st->w, i, DatumGetBool(d));
					break;
				case PW_INT2:
					pqf_put_i32(st->w, i, DatumGetInt16(d));
					break;
				case PW_INT4:
					pqf_put_i32(st->w, i, DatumGetInt32(d));
					break;
				case PW_INT8:
					pqf_put_i64(st->w, i, DatumGetInt64(d));
					break;
				case PW_FLOAT4:
					pqf_put_float(st->w, i, DatumGetFloat4(d));
					break;
				case PW_FLOAT8:
					pqf_put_double(st->w, i, DatumGetFloat8(d));
					break;
				case PW_DEC32:
				case PW_DEC64:
					{
						bool		neg;
						char	   *digits = pq_unscaled(d, oc[i].scale, &neg, cols[i].name);
						int64		x = strtoll(digits, NULL, 10);

						if (neg)
							x = -x;
						if (oc[i].kind == PW_DEC32)
							pqf_put_i32(st->w, i, (int32) x);
						else
							pqf_put_i64(st->w, i, x);
						break;
					}
				case PW_DECFIXED:
					{
						bool		neg;
						char	   *digits = pq_unscaled(d, oc[i].scale, &neg, cols[i].name);
						int			nb = oc[i].nbytes;
						uint8	   *be = palloc0(nb);

						/* decimal digits to a big-endian magnitude */
						for (const char *p = digits; *p; p++)
						{
							int			carry = *p - '0';

							for (int k = nb - 1; k >= 0; k--)
							{
								int			x = be[k] * 10 + carry;

								be[k] = (uint8) x;
								carry = x >> 8;
							}
						}
						if (neg)
						{
							int			carry = 1;

							for (int k = nb - 1; k >= 0; k--)
							{
								int			x = (uint8) ~be[k] + carry;

								be[k] = (uint8) x;
								carry = x >> 8;
							}
						}
						pqf_put_bytes(st->w, i, be, nb);
						break;
					}
				case PW_TEXT:
					{
						text	   *t = DatumGetTextPP(d);
						const char *s = VARDATA_ANY(t);
						int			len = VARSIZE_ANY_EXHDR(t);
						char	   *u = pg_server_to_any(s, len, PG_UTF8);

						if (cols[i].type == PQF_BYTE_ARRAY && TupleDescAttr(desc, i)->atttypid == NAMEOID)
						{
							u = NameStr(*DatumGetName(d));
							len = (int) strlen(u);
						}
						else if (u != s)
							len = (int) strlen(u);
						pqf_put_bytes(st->w, i, u, len);
						break;
					}
				case PW_BYTEA:
					{
						bytea	   *t = DatumGetByteaPP(d);

						pqf_put_bytes(st->w, i, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
						break;
					}
				case PW_DATE:
					{
						DateADT		x = DatumGetDateADT(d);

						if (DATE_NOT_FINITE(x))
							ereport(ERROR,
									(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
									 errmsg("column %s: an infinite date cannot be written to Parquet",
											quote_identifier(cols[i].name))));
						pqf_put_i32(st->w, i, x + (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE));
						break;
					}
				case PW_TIME:
					pqf_put_i64(st->w, i, DatumGetTimeADT(d));
					break;
				case PW_TIMETZ:
					{
						TimeTzADT  *x = DatumGetTimeTzADTP(d);
						int64		t = x->time + (int64) x->zone * USECS_PER_SEC;

						/* isAdjustedToUTC: the time of day in UTC */
						t %= USECS_PER_DAY;
						if (t < 0)
							t += USECS_PER_DAY;
						pqf_put_i64(st->w, i, t);
						break;
					}
				case PW_TS:
					{
						Timestamp	x = DatumGetTimestamp(d);

						if (TIMESTAMP_NOT_FINITE(x))
							ereport(ERROR,
									(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
									 errmsg("column %s: an infinite timestamp cannot be written to Parquet",
											quote_identifier(cols[i].name))));
						pqf_put_i64(st->w, i, x + (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY);
						break;
					}
				case PW_UUID:
					pqf_put_bytes(st->w, i, DatumGetUUIDP(d)->data, UUID_LEN);
					break;
				case PW_OUTPUT:
					{
						char	   *s = OutputFunctionCall(&oc[i].out_fn, d);
						char	   *u = pg_server_to_any(s, (int) strlen(s), PG_UTF8);

						pqf_put_bytes(st->w, i, u, strlen(u));
						break;
					}
			}
		}
		MemoryContextSwitchTo(old);
		if (pqf_end_row(st->w, &err) < 0)
			ereport(ERROR,
					(errcode(pq_sqlstate(err.code)),
					 errmsg("cannot write \"%s\" as Parquet: %s", out->name, err.msg)));
		count++;
	}
	if (pqf_writer_finish(st->w, &err) < 0)
		ereport(ERROR,
				(errcode(pq_sqlstate(err.code)),
				 errmsg("cannot write \"%s\" as Parquet: %s", out->name, err.msg)));
	pqf_writer_free(st->w);
	st->w = NULL;
	MemoryContextDelete(row_cxt);
	return count;
}

static const char *const parquet_suffixes[] = {".parquet", ".parq", ".pq", NULL};
static const char *const parquet_codecs[] = {"snappy", "zstd", "gzip", "none", "uncompressed", NULL};

static const MetaetlConnKey parquet_option_keys[] = {
	{"codec", MCK_ENUM, 0, parquet_codecs},
	{"row_group_size", MCK_INTEGER},
	MCK_END
};

const MetaetlFormat MetaetlParquetFormat = {
	.name = "parquet",
	.suffixes = parquet_suffixes,
	.option_keys = parquet_option_keys,
	.needs_seek = true,
	.read = parquet_read,
	.write = parquet_write,
};
