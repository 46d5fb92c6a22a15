/*-------------------------------------------------------------------------
 *
 * src/connectors/formats/pq_thrift.c
 *		Thrift compact protocol for Parquet's metadata: FileMetaData (with
 *		SchemaElement, LogicalType, RowGroup, ColumnChunk, ColumnMetaData,
 *		Statistics) and PageHeader, read and written.
 *
 * The reader is a cursor over bytes that are all in memory.  It never
 * trusts a count: a list of n elements needs at least n bytes, every read
 * is checked against the end, nesting is limited to PQF_MAX_DEPTH, and an
 * unknown field is skipped by its wire type.  Running off the end is told
 * apart from a malformed byte, so that the page reader can fetch more of a
 * column chunk and retry a page header that straddled its window.
 *
 *-------------------------------------------------------------------------
 */
#include <stdlib.h>
#include <string.h>

#include "connectors/formats/pq_internal.h"

typedef struct TIn
{
	const uint8_t *p;
	const uint8_t *end;
	bool		short_;			/* ran off the end of the bytes */
	bool		bad;			/* malformed */
	bool		nomem;
	int			depth;
} TIn;

#define T_FAILED(t) ((t)->short_ || (t)->bad || (t)->nomem)

static int
t_byte(TIn *t)
{
	if (T_FAILED(t))
		return 0;
	if (t->p >= t->end)
	{
		t->short_ = true;
		return 0;
	}
	return *t->p++;
}

static uint64_t
t_uleb(TIn *t)
{
	uint64_t	v = 0;
	int			shift = 0;

	for (;;)
	{
		int			b;

		if (T_FAILED(t))
			return 0;
		if (t->p >= t->end)
		{
			t->short_ = true;
			return 0;
		}
		b = *t->p++;
		if (shift == 63 && (b & 0x7e))
		{
			t->bad = true;
			return 0;
		}
		v |= (uint64_t) (b & 0x7f) << shift;
		if (!(b & 0x80))
			return v;
		shift += 7;
		if (shift > 63)
		{
			t->bad = true;
			return 0;
		}
	}
}

static int64_t
t_zigzag(TIn *t)
{
	uint64_t	u = t_uleb(t);

	return (int64_t) ((u >> 1) ^ (~(u & 1) + 1));
}

static int32_t
t_i32(TIn *t)
{
	int64_t		v = t_zigzag(t);

	if (v < INT32_MIN || v > INT32_MAX)
	{
		t->bad = true;
		return 0;
	}
	return (int32_t) v;
}

/* next field header of a struct: its wire type (PQFT_STOP at the end) */
static int
t_field(TIn *t, int16_t *last, int16_t *id)
{
	int			b = t_byte(t);
	int			delta;

	if (T_FAILED(t) || b == 0)
		return PQFT_STOP;
	delta = b >> 4;
	if (delta == 0)
	{
		int64_t		v = t_zigzag(t);

		if (v < INT16_MIN || v > INT16_MAX)
			t->bad = true;
		*id = (int16_t) v;
	}
	else
		*id = (int16_t) (*last + delta);
	*last = *id;
	return b & 0x0f;
}

static void
t_binary(TIn *t, const uint8_t **p, uint32_t *len)
{
	uint64_t	n = t_uleb(t);

	*p = NULL;
	*len = 0;
	if (T_FAILED(t))
		return;
	if (n > (uint64_t) (t->end - t->p))
	{
		t->short_ = true;
		return;
	}
	if (n > UINT32_MAX)
	{
		t->bad = true;
		return;
	}
	*p = t->p;
	*len = (uint32_t) n;
	t->p += n;
}

/* a list (or set) header: element type and count, the count checked */
static uint64_t
t_list(TIn *t, int *elem)
{
	int			b = t_byte(t);
	uint64_t	n = (uint64_t) (b >> 4);

	*elem = b & 0x0f;
	if (n == 15)
		n = t_uleb(t);
	if (T_FAILED(t))
		return 0;
	/* every element takes at least one byte */
	if (n > (uint64_t) (t->end - t->p))
	{
		t->short_ = true;
		return 0;
	}
	return n;
}

static void t_skip(TIn *t, int type);

/*
 * A field reader: read the value of field id (wire type type) into arg and
 * return true, or return false to have t_struct skip it.  It need not check
 * for a malformed input: every read sets t's failure flags, and t_struct
 * stops at the next field header once one is set.
 */
typedef bool (*TFieldReader) (TIn *t, int16_t id, int type, void *arg);

/*
 * t_struct
 *		Read one struct: every field goes to read (NULL: skip them all).
 *		Nesting deeper than PQF_MAX_DEPTH is malformed, so that a hostile
 *		footer cannot exhaust the stack.  Every struct of the footer and the
 *		page headers is read through here.
 */
static void
t_struct(TIn *t, TFieldReader read, void *arg)
{
	int16_t		last = 0;
	int16_t		id;
	int			type;

	if (++t->depth > PQF_MAX_DEPTH)
	{
		t->bad = true;
		return;
	}
	while ((type = t_field(t, &last, &id)) != PQFT_STOP)
		if (read == NULL || !read(t, id, type, arg))
			t_skip(t, type);
	t->depth--;
}

/*
 * A list of structs: its header, then an array of its n elements (zeroed,
 * malloc'd: the metadata outlives any memory context) with *count = n; NULL
 * with t's failure flags set when the list is malformed or memory is short.
 */
static void *
t_struct_list(TIn *t, int *count, size_t size)
{
	int			elem;
	uint64_t	n = t_list(t, &elem);
	void	   *a;

	if (T_FAILED(t))
		return NULL;
	if (elem != PQFT_STRUCT || n > INT32_MAX)
	{
		t->bad = true;
		return NULL;
	}
	a = calloc(n ? n : 1, size);
	if (a == NULL)
	{
		t->nomem = true;
		return NULL;
	}
	*count = (int) n;
	return a;
}

/* a struct to ignore: nested fields skipped, depth still checked */
static void
t_skip_struct(TIn *t)
{
	t_struct(t, NULL, NULL);
}

static void
t_skip(TIn *t, int type)
{
	uint64_t	n;
	int			elem;
	const uint8_t *p;
	uint32_t	len;

	if (T_FAILED(t))
		return;
	switch (type)
	{
		case PQFT_TRUE:
		case PQFT_FALSE:
			break;
		case PQFT_BYTE:
			(void) t_byte(t);
			break;
		case PQFT_I16:
		case PQFT_I32:
		case PQFT_I64:
			(void) t_uleb(t);
			break;
		case PQFT_DOUBLE:
			if (t->end - t->p < 8)
				t->short_ = true;
			else
				t->p += 8;
			break;
		case PQFT_BINARY:
			t_binary(t, &p, &len);
			break;
		case PQFT_LIST:
		case PQFT_SET:
			n = t_list(t, &elem);
			if (++t->depth > PQF_MAX_DEPTH)
			{
				t->bad = true;
				return;
			}
			for (uint64_t i = 0; i < n && !T_FAILED(t); i++)
			{
				if (elem == PQFT_TRUE || elem == PQFT_FALSE)
					(void) t_byte(t);	/* a bool element is one byte */
				else
					t_skip(t, elem);
			}
			t->depth--;
			break;
		case PQFT_MAP:
			n = t_uleb(t);
			if (n > 0)
			{
				int			kv = t_byte(t);

				if (n > (uint64_t) (t->end - t->p))
				{
					t->short_ = true;
					return;
				}
				if (++t->depth > PQF_MAX_DEPTH)
				{
					t->bad = true;
					return;
				}
				for (uint64_t i = 0; i < n && !T_FAILED(t); i++)
				{
					t_skip(t, kv >> 4);
					t_skip(t, kv & 0x0f);
				}
				t->depth--;
			}
			break;
		case PQFT_STRUCT:
			t_skip_struct(t);
			break;
		default:
			t->bad = true;
			break;
	}
}

/* a field of the wrong wire type is malformed (in a TFieldReader) */
#define T_EXPECT(t, type, want) \
	do { if ((type) != (want)) { (t)->bad = true; return true; } } while (0)

static bool
t_bool_field(int type)
{
	return type == PQFT_TRUE;
}

static char *
t_string_dup(TIn *t)
{
	const uint8_t *p;
	uint32_t	len;
	char	   *s;

	t_binary(t, &p, &len);
	if (T_FAILED(t))
		return NULL;
	s = malloc((size_t) len + 1);
	if (s == NULL)
	{
		t->nomem = true;
		return NULL;
	}
	if (len)
		memcpy(s, p, len);
	s[len] = '\0';
	return s;
}

/* TimeUnit union */
static bool
f_time_unit(TIn *t, int16_t id, int type, void *arg)
{
	PqfTimeUnit *unit = arg;

	(void) t;
	if (type == PQFT_STRUCT && id >= 1 && id <= 3)
		*unit = id == 1 ? PQF_MILLIS : id == 2 ? PQF_MICROS : PQF_NANOS;
	return false;				/* the member itself is an empty struct */
}

/* TimeType / TimestampType {1: isAdjustedToUTC, 2: unit} */
static bool
f_time_type(TIn *t, int16_t id, int type, void *arg)
{
	PqfSchemaElem *e = arg;

	if (id == 1 && (type == PQFT_TRUE || type == PQFT_FALSE))
		e->utc = t_bool_field(type);
	else if (id == 2 && type == PQFT_STRUCT)
		t_struct(t, f_time_unit, &e->unit);
	else
		return false;
	return true;
}

/* DecimalType {1: scale, 2: precision} */
static bool
f_decimal_type(TIn *t, int16_t id, int type, void *arg)
{
	PqfSchemaElem *e = arg;

	if (id == 1 && type == PQFT_I32)
		e->lt_scale = t_i32(t);
	else if (id == 2 && type == PQFT_I32)
		e->lt_precision = t_i32(t);
	else
		return false;
	return true;
}

/* IntType {1: bitWidth, 2: isSigned} */
static bool
f_int_type(TIn *t, int16_t id, int type, void *arg)
{
	PqfSchemaElem *e = arg;

	if (id == 1 && type == PQFT_BYTE)
		e->bit_width = (int8_t) t_byte(t);
	else if (id == 2 && (type == PQFT_TRUE || type == PQFT_FALSE))
		e->is_signed = t_bool_field(type);
	else
		return false;
	return true;
}

/* LogicalType union: the one member present decides */
static bool
f_logical(TIn *t, int16_t id, int type, void *arg)
{
	PqfSchemaElem *e = arg;

	if (type != PQFT_STRUCT)
		return false;
	e->has_logical = true;
	switch (id)
	{
		case 1:
			e->logical = PQF_LT_STRING;
			break;
		case 2:
		case 3:
			e->logical = PQF_LT_OTHER;
			e->logical_nested = true;
			break;
		case 4:
			e->logical = PQF_LT_ENUM;
			break;
		case 5:
			e->logical = PQF_LT_DECIMAL;
			t_struct(t, f_decimal_type, e);
			return true;
		case 6:
			e->logical = PQF_LT_DATE;
			break;
		case 7:
		case 8:
			e->logical = id == 7 ? PQF_LT_TIME : PQF_LT_TIMESTAMP;
			e->unit = PQF_MILLIS;
			t_struct(t, f_time_type, e);
			return true;
		case 10:
			e->logical = PQF_LT_INT;
			t_struct(t, f_int_type, e);
			return true;
		case 11:
			e->logical = PQF_LT_NULL;
			break;
		case 12:
			e->logical = PQF_LT_JSON;
			break;
		case 13:
			e->logical = PQF_LT_BSON;
			break;
		case 14:
			e->logical = PQF_LT_UUID;
			break;
		case 15:
			e->logical = PQF_LT_FLOAT16;
			break;
		default:
			e->logical = PQF_LT_OTHER;
			break;
	}
	return false;				/* an empty struct (StringType, DateType, ...): skipped */
}

static bool
f_schema_elem(TIn *t, int16_t id, int type, void *arg)
{
	PqfSchemaElem *e = arg;

	switch (id)
	{
		case 1:
			T_EXPECT(t, type, PQFT_I32);
			e->type = t_i32(t);
			break;
		case 2:
			T_EXPECT(t, type, PQFT_I32);
			e->type_length = t_i32(t);
			break;
		case 3:
			T_EXPECT(t, type, PQFT_I32);
			e->repetition = t_i32(t);
			break;
		case 4:
			T_EXPECT(t, type, PQFT_BINARY);
			free(e->name);
			e->name = t_string_dup(t);
			break;
		case 5:
			T_EXPECT(t, type, PQFT_I32);
			e->num_children = t_i32(t);
			break;
		case 6:
			T_EXPECT(t, type, PQFT_I32);
			e->converted = t_i32(t);
			break;
		case 7:
			T_EXPECT(t, type, PQFT_I32);
			e->scale = t_i32(t);
			break;
		case 8:
			T_EXPECT(t, type, PQFT_I32);
			e->precision = t_i32(t);
			break;
		case 10:
			T_EXPECT(t, type, PQFT_STRUCT);
			t_struct(t, f_logical, e);
			break;
		default:
			t_skip(t, type);
			break;
	}
	return true;
}

/* SchemaElement, with the defaults of the fields a writer may omit */
static void
t_schema_elem(TIn *t, PqfSchemaElem *e)
{
	e->type = -1;
	e->repetition = -1;
	e->converted = -1;
	e->scale = 0;
	e->precision = 0;
	e->lt_scale = 0;
	e->lt_precision = 0;
	t_struct(t, f_schema_elem, e);
}

/* Statistics, and which of its min/max pairs it had */
typedef struct TStats
{
	PqfStats   *s;
	bool		have_new_min;
	bool		have_new_max;
} TStats;

static bool
f_statistics(TIn *t, int16_t id, int type, void *arg)
{
	TStats	   *st = arg;
	const uint8_t *p;
	uint32_t	len;

	if ((id == 1 || id == 2 || id == 5 || id == 6) && type == PQFT_BINARY)
	{
		t_binary(t, &p, &len);
		/* min_value/max_value (5, 6) win over the legacy min/max */
		if (id == 6 || (id == 2 && !st->have_new_min))
		{
			st->s->has_min = true;
			st->s->min = p;
			st->s->min_len = len;
			st->have_new_min |= id == 6;
		}
		else if (id == 5 || (id == 1 && !st->have_new_max))
		{
			st->s->has_max = true;
			st->s->max = p;
			st->s->max_len = len;
			st->have_new_max |= id == 5;
		}
	}
	else if (id == 3 && type == PQFT_I64)
	{
		st->s->has_null_count = true;
		st->s->null_count = t_zigzag(t);
	}
	else
		return false;
	return true;
}

static void
t_statistics(TIn *t, PqfStats *s)
{
	TStats		st = {s, false, false};

	t_struct(t, f_statistics, &st);
}

/* ColumnMetaData */
static bool
f_column_meta(TIn *t, int16_t id, int type, void *arg)
{
	PqfChunkMeta *c = arg;

	switch (id)
	{
		case 1:
			T_EXPECT(t, type, PQFT_I32);
			c->type = t_i32(t);
			break;
		case 4:
			T_EXPECT(t, type, PQFT_I32);
			c->codec = t_i32(t);
			break;
		case 5:
			T_EXPECT(t, type, PQFT_I64);
			c->num_values = t_zigzag(t);
			break;
		case 6:
			T_EXPECT(t, type, PQFT_I64);
			c->total_uncompressed = t_zigzag(t);
			break;
		case 7:
			T_EXPECT(t, type, PQFT_I64);
			c->total_compressed = t_zigzag(t);
			break;
		case 9:
			T_EXPECT(t, type, PQFT_I64);
			c->data_page_offset = t_zigzag(t);
			break;
		case 11:
			T_EXPECT(t, type, PQFT_I64);
			c->dictionary_page_offset = t_zigzag(t);
			break;
		case 12:
			T_EXPECT(t, type, PQFT_STRUCT);
			t_statistics(t, &c->stats);
			break;
		default:
			t_skip(t, type);
			break;
	}
	return true;
}

/* ColumnChunk {1: file_path, 3: meta_data} */
static bool
f_column_chunk(TIn *t, int16_t id, int type, void *arg)
{
	PqfChunkMeta *c = arg;

	if (id == 1 && type == PQFT_BINARY)
	{
		free(c->file_path);
		c->file_path = t_string_dup(t);
	}
	else if (id == 3 && type == PQFT_STRUCT)
	{
		c->has_meta = true;
		t_struct(t, f_column_meta, c);
	}
	else
		return false;
	return true;
}

static void
t_column_chunk(TIn *t, PqfChunkMeta *c)
{
	c->dictionary_page_offset = -1;
	c->data_page_offset = -1;
	c->type = -1;
	t_struct(t, f_column_chunk, c);
}

/* RowGroup {1: columns, 3: num_rows} */
static bool
f_row_group(TIn *t, int16_t id, int type, void *arg)
{
	PqfRowGroupMeta *rg = arg;

	if (id == 1 && type == PQFT_LIST && rg->cols == NULL)
	{
		rg->cols = t_struct_list(t, &rg->ncols, sizeof(PqfChunkMeta));
		for (int i = 0; rg->cols && i < rg->ncols && !T_FAILED(t); i++)
			t_column_chunk(t, &rg->cols[i]);
	}
	else if (id == 3 && type == PQFT_I64)
		rg->num_rows = t_zigzag(t);
	else
		return false;
	return true;
}

/*
 * Parse the footer's FileMetaData (Thrift compact protocol) into m: the
 * schema, the row count, the row groups and their column chunks.  0, or a
 * negative PQF_E_* code with err set (truncated, malformed, out of
 * memory); the input is untrusted, so every length is checked and nesting
 * is bounded.  The caller frees m with pqf_free_meta in either case.
 */
int
pqf_parse_footer(const uint8_t *p, size_t len, PqfFileMeta *m, PqfError *err)
{
	TIn			t = {p, p + len, false, false, false, 0};
	int16_t		last = 0;
	int16_t		id;
	int			type;
	bool		have_schema = false;
	bool		have_rows = false;

	memset(m, 0, sizeof(*m));
	while ((type = t_field(&t, &last, &id)) != PQFT_STOP)
	{
		if (id == 1 && type == PQFT_I32)
			m->version = t_i32(&t);
		else if (id == 2 && type == PQFT_LIST && !have_schema)
		{
			if ((m->schema = t_struct_list(&t, &m->nschema, sizeof(PqfSchemaElem))) == NULL)
				break;
			for (int i = 0; i < m->nschema && !T_FAILED(&t); i++)
				t_schema_elem(&t, &m->schema[i]);
			have_schema = true;
		}
		else if (id == 3 && type == PQFT_I64)
		{
			m->num_rows = t_zigzag(&t);
			have_rows = true;
		}
		else if (id == 4 && type == PQFT_LIST && m->rgs == NULL)
		{
			if ((m->rgs = t_struct_list(&t, &m->nrg, sizeof(PqfRowGroupMeta))) == NULL)
				break;
			for (int i = 0; i < m->nrg && !T_FAILED(&t); i++)
				t_struct(&t, f_row_group, &m->rgs[i]);
		}
		else if (id == 6 && type == PQFT_BINARY && m->created_by == NULL)
			m->created_by = t_string_dup(&t);
		else
			t_skip(&t, type);
	}
	if (t.nomem)
		return pqf_fail(err, PQF_E_NOMEM, "out of memory reading the file metadata");
	if (T_FAILED(&t))
		return pqf_fail(err, PQF_E_CORRUPT, "the file metadata is %s",
						t.short_ ? "truncated" : "malformed");
	if (!have_schema || !have_rows || m->nschema < 1)
		return pqf_fail(err, PQF_E_CORRUPT,
						"the file metadata has no %s", have_schema ? "row count" : "schema");
	return 0;
}

/* Free what pqf_parse_footer allocated in m (also after a failed parse). */
void
pqf_free_meta(PqfFileMeta *m)
{
	if (m->schema)
		for (int i = 0; i < m->nschema; i++)
			free(m->schema[i].name);
	free(m->schema);
	if (m->rgs)
		for (int i = 0; i < m->nrg; i++)
		{
			if (m->rgs[i].cols)
				for (int j = 0; j < m->rgs[i].ncols; j++)
					free(m->rgs[i].cols[j].file_path);
			free(m->rgs[i].cols);
		}
	free(m->rgs);
	free(m->created_by);
	memset(m, 0, sizeof(*m));
}

/* DataPageHeader, DictionaryPageHeader and DataPageHeaderV2 share a parser */
typedef struct TPageSub
{
	PqfPageHeader *h;
	int			which;			/* 0 DataPageHeader, 1 Dictionary, 2 V2 */
} TPageSub;

static bool
f_page_sub(TIn *t, int16_t id, int type, void *arg)
{
	TPageSub   *sub = arg;

	if (sub->which == 2 && id == 7 && (type == PQFT_TRUE || type == PQFT_FALSE))
	{
		sub->h->is_compressed = t_bool_field(type);
		return true;
	}
	if (type != PQFT_I32)
		return false;
	if (id == 1)
		sub->h->num_values = t_i32(t);
	else if (sub->which == 0 && id == 2)
		sub->h->encoding = t_i32(t);
	else if (sub->which == 0 && id == 3)
		sub->h->def_encoding = t_i32(t);
	else if (sub->which == 1 && id == 2)
		sub->h->encoding = t_i32(t);
	else if (sub->which == 2 && id == 2)
		sub->h->num_nulls = t_i32(t);
	else if (sub->which == 2 && id == 3)
		sub->h->num_rows = t_i32(t);
	else if (sub->which == 2 && id == 4)
		sub->h->encoding = t_i32(t);
	else if (sub->which == 2 && id == 5)
		sub->h->def_len = t_i32(t);
	else if (sub->which == 2 && id == 6)
		sub->h->rep_len = t_i32(t);
	else
		return false;
	return true;
}

static void
t_page_sub(TIn *t, PqfPageHeader *h, int which)
{
	TPageSub	sub = {h, which};

	h->has_data = true;
	t_struct(t, f_page_sub, &sub);
}

/*
 * Parse a page header at p: its length in bytes, 0 when len is too short
 * to hold it (the caller reads more and tries again), or a negative error
 * code with err set when it is malformed or lacks its type or sizes.
 */
int64_t
pqf_parse_page_header(const uint8_t *p, size_t len, PqfPageHeader *h, PqfError *err)
{
	TIn			t = {p, p + len, false, false, false, 0};
	int16_t		last = 0;
	int16_t		id;
	int			type;
	bool		have_type = false;
	bool		have_sizes[2] = {false, false};

	memset(h, 0, sizeof(*h));
	h->is_compressed = true;
	h->def_encoding = PQF_ENC_RLE;
	while ((type = t_field(&t, &last, &id)) != PQFT_STOP)
	{
		if (id == 1 && type == PQFT_I32)
		{
			h->type = t_i32(&t);
			have_type = true;
		}
		else if (id == 2 && type == PQFT_I32)
		{
			h->uncompressed_size = t_i32(&t);
			have_sizes[0] = true;
		}
		else if (id == 3 && type == PQFT_I32)
		{
			h->compressed_size = t_i32(&t);
			have_sizes[1] = true;
		}
		else if (type == PQFT_STRUCT && ((id == 5 && h->type == PQF_PAGE_DATA) ||
										 (id == 7 && h->type == PQF_PAGE_DICTIONARY) ||
										 (id == 8 && h->type == PQF_PAGE_DATA_V2)))
			t_page_sub(&t, h, id == 5 ? 0 : id == 7 ? 1 : 2);
		else
			t_skip(&t, type);
	}
	if (t.short_)
		return 0;
	if (t.bad || t.nomem)
		return pqf_fail(err, PQF_E_CORRUPT, "a page header is malformed");
	if (!have_type || !have_sizes[0] || !have_sizes[1])
		return pqf_fail(err, PQF_E_CORRUPT, "a page header lacks its type or sizes");
	return t.p - p;
}

/* ---- writing ---------------------------------------------------------- */

static void
o_zigzag(PqfTOut *o, int64_t v)
{
	pqf_buf_uleb(o->b, ((uint64_t) v << 1) ^ (uint64_t) (v >> 63));
}

static void
o_byte(PqfTOut *o, int b)
{
	uint8_t		c = (uint8_t) b;

	pqf_buf_put(o->b, &c, 1);
}

/*
 * Start writing Thrift compact-protocol fields into b (the writer side,
 * used for the footer and page headers metaetl writes).
 */
void
pqft_begin(PqfTOut *o, PqfBuf *b)
{
	o->b = b;
	o->depth = 0;
	o->last[0] = 0;
}

/*
 * A field header: the id as a delta from the previous field of this
 * struct when it fits in 4 bits, else in full, as the compact protocol says.
 */
void
pqft_field(PqfTOut *o, int16_t id, int type)
{
	int			delta = id - o->last[o->depth];

	if (delta > 0 && delta <= 15)
		o_byte(o, (delta << 4) | type);
	else
	{
		o_byte(o, type);
		o_zigzag(o, id);
	}
	o->last[o->depth] = id;
}

/* An i32 field (zigzag varint). */
void
pqft_i32(PqfTOut *o, int16_t id, int32_t v)
{
	pqft_field(o, id, PQFT_I32);
	o_zigzag(o, v);
}

/* An i64 field (zigzag varint). */
void
pqft_i64(PqfTOut *o, int16_t id, int64_t v)
{
	pqft_field(o, id, PQFT_I64);
	o_zigzag(o, v);
}

/* A bool field: the value is the field's type, so no byte follows. */
void
pqft_bool(PqfTOut *o, int16_t id, bool v)
{
	pqft_field(o, id, v ? PQFT_TRUE : PQFT_FALSE);
}

/* A binary (or string) field: length varint, then the bytes. */
void
pqft_binary(PqfTOut *o, int16_t id, const void *p, size_t n)
{
	pqft_field(o, id, PQFT_BINARY);
	pqf_buf_uleb(o->b, n);
	pqf_buf_put(o->b, p, n);
}

/* A struct field: its header, then its fields until pqft_struct_end. */
void
pqft_struct_begin(PqfTOut *o, int16_t id)
{
	pqft_field(o, id, PQFT_STRUCT);
	pqft_elem_struct_begin(o);
}

/*
 * A struct as a list element (no field header).  Nesting deeper than
 * PQF_MAX_DEPTH marks the buffer failed instead of overrunning o->last.
 */
void
pqft_elem_struct_begin(PqfTOut *o)
{
	if (o->depth + 1 >= PQF_MAX_DEPTH)
	{
		o->b->oom = true;
		return;
	}
	o->depth++;
	o->last[o->depth] = 0;
}

/* End the current struct (its stop byte) and resume the enclosing one. */
void
pqft_struct_end(PqfTOut *o)
{
	o_byte(o, 0);
	if (o->depth > 0)
		o->depth--;
}

/* A list field of n elements of elem_type; the elements follow. */
void
pqft_list_begin(PqfTOut *o, int16_t id, int elem_type, int64_t n)
{
	pqft_field(o, id, PQFT_LIST);
	if (n < 15)
		o_byte(o, (int) (n << 4) | elem_type);
	else
	{
		o_byte(o, 0xf0 | elem_type);
		pqf_buf_uleb(o->b, (uint64_t) n);
	}
}

/* The stop byte that ends the top-level struct. */
void
pqft_stop(PqfTOut *o)
{
	o_byte(o, 0);
}
