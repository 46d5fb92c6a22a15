/*-------------------------------------------------------------------------
 *
 * src/connectors/formats/pq_write.c
 *		The Parquet writer: rows in, a file out through a sequential write
 *		callback (a local file, or an object-store upload).
 *
 * Rows are buffered one row group at a time (row_group_rows, default
 * 122880 as DuckDB does, or earlier when 256 MiB of values are buffered),
 * PLAIN-encoded as they arrive; strings are also collected into a
 * dictionary until it grows past dictionary_bytes.  When the row group is
 * full each column is written as an optional dictionary page and data
 * pages v1 of about page_bytes, with RLE definition levels, compressed with
 * the chosen codec; the chunk's statistics (min, max, null count) go to the
 * footer.  Data pages v1, PLAIN and RLE_DICTIONARY are what every reader
 * accepts; page_v2 writes data pages v2 instead (booleans RLE), which the
 * tests use to check the reader's v2 path against DuckDB.
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/formats/pq_internal.h"

#define PQF_MAX_BUFFERED	(256 * 1024 * 1024)
#define PQF_STAT_MAX		64	/* longer string min/max are left out */

typedef struct PqfDictEntry
{
	uint32_t	off;			/* of the value's bytes in dict */
	uint32_t	len;
	uint32_t	hash;
} PqfDictEntry;

/* what the footer needs of one written column chunk */
typedef struct PqfChunkOut
{
	int64_t		num_values;
	int64_t		total_uncompressed;
	int64_t		total_compressed;
	int64_t		data_page_offset;
	int64_t		dictionary_page_offset; /* -1: none */
	int64_t		null_count;
	bool		has_minmax;
	uint8_t		min[PQF_STAT_MAX];
	uint8_t		max[PQF_STAT_MAX];
	uint32_t	min_len;
	uint32_t	max_len;
} PqfChunkOut;

typedef struct PqfRowGroupOut
{
	int64_t		num_rows;
	int64_t		file_offset;
	int64_t		total_uncompressed;
	int64_t		total_compressed;
	PqfChunkOut *cols;
} PqfRowGroupOut;

typedef struct PqfWCol
{
	PqfColumn	col;
	int			width;			/* fixed value size; 0 for BYTE_ARRAY */
	PqfBuf		defs;			/* one byte per row (OPTIONAL columns) */
	PqfBuf		vals;			/* PLAIN values (booleans: a byte each) */
	int64_t		nvals;
	int64_t		nnulls;
	/* dictionary of a BYTE_ARRAY column, while it pays */
	bool		dict_on;
	PqfBuf		dict;			/* PLAIN-encoded entries */
	PqfBuf		entries;		/* PqfDictEntry */
	uint32_t   *slots;			/* hash table of entry index + 1 */
	uint32_t	nslots;
	PqfBuf		idx;			/* uint32 per value */
} PqfWCol;

struct PqfWriter
{
	PqfOutput	out;
	PqfWriteOptions opt;
	int			ncols;
	PqfWCol    *cols;
	int64_t		offset;			/* bytes written so far */
	int64_t		rows;			/* rows in the current row group */
	int64_t		total_rows;
	int64_t		buffered;
	int			nrg;
	int			rg_cap;
	PqfRowGroupOut *rgs;
	PqfBuf		page;			/* a page being built */
	PqfBuf		comp;			/* ... compressed */
	PqfBuf		hdr;			/* ... its header */
	PqfBuf		lv;				/* levels or indices being encoded */
	int			err_code;		/* first error from a put */
	char		err_msg[200];
	bool		finished;
};

static void
w_seterr(PqfWriter *w, int code, const char *msg, const char *col)
{
	if (w->err_code != 0)
		return;
	w->err_code = code;
	snprintf(w->err_msg, sizeof(w->err_msg), "column \"%s\": %s", col, msg);
}

/*
 * pqf_write_defaults
 *		Fill opt with the writer's defaults: Snappy, row groups of 122880
 *		rows (DuckDB's default), 1 MiB pages and a 1 MiB string dictionary
 *		budget.  parquet_pg.c starts from these and overrides only what the
 *		target's options name, so a new option field added here gets a sane
 *		value without touching the glue.
 */
void
pqf_write_defaults(PqfWriteOptions *opt)
{
	memset(opt, 0, sizeof(*opt));
	opt->codec = PQF_SNAPPY;
	opt->row_group_rows = 122880;
	opt->page_bytes = 1024 * 1024;
	opt->dictionary_bytes = 1024 * 1024;
	opt->created_by = "metaetl";
}

static int
w_write(PqfWriter *w, const void *p, size_t n, PqfError *err)
{
	int			rc;

	if (n == 0)
		return 0;
	if ((rc = w->out.write(w->out.arg, p, n, err)) < 0)
		return rc;
	w->offset += (int64_t) n;
	return 0;
}

static int
value_width(const PqfColumn *c)
{
	switch (c->type)
	{
		case PQF_BOOLEAN:
			return 1;
		case PQF_INT32:
		case PQF_FLOAT:
			return 4;
		case PQF_INT64:
		case PQF_DOUBLE:
			return 8;
		case PQF_INT96:
			return 12;
		case PQF_FIXED_LEN_BYTE_ARRAY:
			return c->type_length;
		case PQF_BYTE_ARRAY:
			return 0;
	}
	return -1;
}

/*
 * pqf_writer_open
 *		Start a file on the sequential output o with the given flat columns and
 *		write the leading PAR1 magic.  Options are copied and out-of-range
 *		values replaced by the defaults, and column names are duplicated, so
 *		the caller's structures need not outlive this call.  The codec and
 *		every column's physical type are checked here, up front, because the
 *		put functions cannot return errors; a bad schema therefore fails before
 *		any row is buffered.  On failure *out stays NULL.
 */
int
pqf_writer_open(PqfWriter **out, const PqfOutput *o, const PqfColumn *cols, int ncols,
				const PqfWriteOptions *opt, PqfError *err)
{
	PqfWriter  *w;
	int			rc;

	*out = NULL;
	if (ncols <= 0)
		return pqf_fail(err, PQF_E_ARG, "a Parquet file needs at least one column");
	w = calloc(1, sizeof(PqfWriter));
	if (w == NULL)
		return pqf_fail(err, PQF_E_NOMEM, "out of memory starting a Parquet file");
	w->out = *o;
	if (opt)
		w->opt = *opt;
	else
		pqf_write_defaults(&w->opt);
	if (w->opt.row_group_rows <= 0)
		w->opt.row_group_rows = 122880;
	if (w->opt.page_bytes <= 0)
		w->opt.page_bytes = 1024 * 1024;
	if (w->opt.dictionary_bytes < 0)
		w->opt.dictionary_bytes = 0;
	if (w->opt.codec != PQF_UNCOMPRESSED && w->opt.codec != PQF_SNAPPY &&
		w->opt.codec != PQF_GZIP && w->opt.codec != PQF_ZSTD)
	{
		int			codec = w->opt.codec;

		free(w);
		return pqf_fail(err, PQF_E_ARG, "compression codec %d is not supported", codec);
	}
	w->cols = calloc(ncols, sizeof(PqfWCol));
	if (w->cols == NULL)
	{
		free(w);
		return pqf_fail(err, PQF_E_NOMEM, "out of memory starting a Parquet file");
	}
	w->ncols = ncols;
	for (int i = 0; i < ncols; i++)
	{
		PqfWCol    *c = &w->cols[i];
		char	   *name;

		c->col = cols[i];
		c->col.nested = false;
		name = strdup(cols[i].name ? cols[i].name : "");
		c->col.name = name;
		c->width = value_width(&cols[i]);
		if (name == NULL || c->width < 0 || (cols[i].type == PQF_FIXED_LEN_BYTE_ARRAY &&
											 cols[i].type_length <= 0))
		{
			pqf_writer_free(w);
			return name == NULL ? pqf_fail(err, PQF_E_NOMEM, "out of memory")
				: pqf_fail(err, PQF_E_ARG, "column \"%s\" has no valid physical type", name);
		}
		c->dict_on = cols[i].type == PQF_BYTE_ARRAY && w->opt.dictionary_bytes > 0;
	}
	if ((rc = w_write(w, "PAR1", 4, err)) < 0)
	{
		pqf_writer_free(w);
		return rc;
	}
	*out = w;
	return 0;
}

static void
dict_drop(PqfWCol *c)
{
	c->dict_on = false;
	pqf_buf_free(&c->dict);
	pqf_buf_free(&c->entries);
	pqf_buf_free(&c->idx);
	free(c->slots);
	c->slots = NULL;
	c->nslots = 0;
}

static uint32_t
hash_bytes(const uint8_t *p, size_t n)
{
	uint32_t	h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static bool
dict_grow(PqfWCol *c)
{
	uint32_t	n = c->nslots ? c->nslots * 2 : 1024;
	uint32_t   *s = calloc(n, sizeof(uint32_t));
	const PqfDictEntry *e = (const PqfDictEntry *) c->entries.data;
	size_t		ne = c->entries.len / sizeof(PqfDictEntry);

	if (s == NULL)
		return false;
	for (size_t i = 0; i < ne; i++)
	{
		uint32_t	j = e[i].hash & (n - 1);

		while (s[j])
			j = (j + 1) & (n - 1);
		s[j] = (uint32_t) i + 1;
	}
	free(c->slots);
	c->slots = s;
	c->nslots = n;
	return true;
}

/* add a string to the dictionary; drop the dictionary when it stops paying */
static void
dict_add(PqfWriter *w, PqfWCol *c, const uint8_t *p, uint32_t len)
{
	uint32_t	h = hash_bytes(p, len);
	uint32_t	j;
	size_t		ne = c->entries.len / sizeof(PqfDictEntry);
	uint32_t	id;

	if (c->nslots == 0 || (ne + 1) * 2 > c->nslots)
	{
		if (!dict_grow(c))
		{
			dict_drop(c);
			return;
		}
	}
	j = h & (c->nslots - 1);
	for (;;)
	{
		uint32_t	s = c->slots[j];
		const PqfDictEntry *e;

		if (s == 0)
			break;
		e = (const PqfDictEntry *) c->entries.data + (s - 1);
		if (e->hash == h && e->len == len && memcmp(c->dict.data + e->off, p, len) == 0)
		{
			id = s - 1;
			pqf_buf_put(&c->idx, &id, 4);
			if (c->idx.oom)
				dict_drop(c);
			return;
		}
		j = (j + 1) & (c->nslots - 1);
	}
	if (c->dict.len + 4 + len > (size_t) w->opt.dictionary_bytes || ne >= INT32_MAX)
	{
		dict_drop(c);
		return;
	}
	{
		PqfDictEntry e;
		uint32_t	l = len;

		pqf_buf_put(&c->dict, &l, 4);
		e.off = (uint32_t) c->dict.len;
		e.len = len;
		e.hash = h;
		pqf_buf_put(&c->dict, p, len);
		pqf_buf_put(&c->entries, &e, sizeof(e));
		id = (uint32_t) ne;
		pqf_buf_put(&c->idx, &id, 4);
		if (c->dict.oom || c->entries.oom || c->idx.oom)
		{
			dict_drop(c);
			return;
		}
		c->slots[j] = id + 1;
	}
}

static inline PqfWCol *
put_col(PqfWriter *w, int c, PqfType want)
{
	PqfWCol    *col;

	if (c < 0 || c >= w->ncols)
	{
		w_seterr(w, PQF_E_ARG, "no such column", "?");
		return NULL;
	}
	col = &w->cols[c];
	if (col->col.type != want)
	{
		w_seterr(w, PQF_E_ARG, "a value of the wrong type", col->col.name);
		return NULL;
	}
	if (col->col.optional)
	{
		uint8_t		one = 1;

		pqf_buf_put(&col->defs, &one, 1);
	}
	col->nvals++;
	return col;
}

/*
 * pqf_put_null
 *		Append a NULL (definition level 0, no value) to column c of the current
 *		row.  Like every put function it returns nothing: a misuse (no such
 *		column, NULL in a REQUIRED column) is remembered in the writer and
 *		reported by the next pqf_end_row, which keeps the glue's per-value loop
 *		free of error checks.
 */
void
pqf_put_null(PqfWriter *w, int c)
{
	PqfWCol    *col;
	uint8_t		zero = 0;

	if (c < 0 || c >= w->ncols)
	{
		w_seterr(w, PQF_E_ARG, "no such column", "?");
		return;
	}
	col = &w->cols[c];
	if (!col->col.optional)
	{
		w_seterr(w, PQF_E_ARG, "a NULL in a REQUIRED column", col->col.name);
		return;
	}
	pqf_buf_put(&col->defs, &zero, 1);
	col->nnulls++;
}

/*
 * pqf_put_bool
 *		Append a BOOLEAN value to column c, buffered as one byte and bit-packed
 *		when the page is written.  Type mismatches are deferred to pqf_end_row.
 */
void
pqf_put_bool(PqfWriter *w, int c, bool v)
{
	PqfWCol    *col = put_col(w, c, PQF_BOOLEAN);
	uint8_t		b = v ? 1 : 0;

	if (col)
		pqf_buf_put(&col->vals, &b, 1);
}

/*
 * pqf_put_i32
 *		Append an INT32 value to column c, PLAIN-encoded into the row group's
 *		buffer.  The glue uses it for int2, int4 and decimals of up to 9
 *		digits.
 */
void
pqf_put_i32(PqfWriter *w, int c, int32_t v)
{
	PqfWCol    *col = put_col(w, c, PQF_INT32);

	if (col)
		pqf_buf_put(&col->vals, &v, 4);
}

/*
 * pqf_put_i64
 *		Append an INT64 value to column c (int8, and decimals of up to 18
 *		digits, in the glue).
 */
void
pqf_put_i64(PqfWriter *w, int c, int64_t v)
{
	PqfWCol    *col = put_col(w, c, PQF_INT64);

	if (col)
		pqf_buf_put(&col->vals, &v, 8);
}

/*
 * pqf_put_float
 *		Append a FLOAT value to column c.
 */
void
pqf_put_float(PqfWriter *w, int c, float v)
{
	PqfWCol    *col = put_col(w, c, PQF_FLOAT);

	if (col)
		pqf_buf_put(&col->vals, &v, 4);
}

/*
 * pqf_put_double
 *		Append a DOUBLE value to column c.
 */
void
pqf_put_double(PqfWriter *w, int c, double v)
{
	PqfWCol    *col = put_col(w, c, PQF_DOUBLE);

	if (col)
		pqf_buf_put(&col->vals, &v, 8);
}

/*
 * pqf_put_bytes
 *		Append a byte-string value to column c: exactly width bytes for INT96
 *		and FIXED_LEN_BYTE_ARRAY, any length below 2 GB (PLAIN's 4-byte length
 *		prefix) for BYTE_ARRAY.  Strings also feed the column's dictionary
 *		until it outgrows dictionary_bytes.  Errors are deferred to
 *		pqf_end_row.
 */
void
pqf_put_bytes(PqfWriter *w, int c, const void *p, size_t len)
{
	PqfWCol    *col;

	if (c < 0 || c >= w->ncols)
	{
		w_seterr(w, PQF_E_ARG, "no such column", "?");
		return;
	}
	if (w->cols[c].col.type != PQF_BYTE_ARRAY && w->cols[c].col.type != PQF_INT96 &&
		w->cols[c].col.type != PQF_FIXED_LEN_BYTE_ARRAY)
	{
		w_seterr(w, PQF_E_ARG, "bytes for a numeric column", w->cols[c].col.name);
		return;
	}
	col = put_col(w, c, w->cols[c].col.type);
	if (col == NULL)
		return;
	if (col->width > 0)
	{
		if (len != (size_t) col->width)
		{
			w_seterr(w, PQF_E_ARG, "a value of the wrong length", col->col.name);
			return;
		}
		pqf_buf_put(&col->vals, p, len);
	}
	else
	{
		uint32_t	l = (uint32_t) len;

		if (len > INT32_MAX)
		{
			w_seterr(w, PQF_E_ARG, "a value longer than 2 GB", col->col.name);
			return;
		}
		pqf_buf_put(&col->vals, &l, 4);
		pqf_buf_put(&col->vals, p, len);
		if (col->dict_on)
			dict_add(w, col, p, l);
	}
	w->buffered += (int64_t) len;
}

/* ---- statistics ------------------------------------------------------------- */

static bool
is_unsigned(const PqfColumn *c)
{
	return c->logical == PQF_LT_INT && !c->is_signed;
}

static void
stats_fixed(PqfWCol *c, PqfChunkOut *o)
{
	const uint8_t *v = c->vals.data;
	int64_t		n = c->nvals;
	int			w = c->width;
	int64_t		imin = 0;
	int64_t		imax = 0;
	bool		any = false;

	o->has_minmax = false;
	if (n == 0)
		return;
	switch (c->col.type)
	{
		case PQF_BOOLEAN:
			for (int64_t i = 0; i < n; i++)
			{
				if (!any || v[i] < imin)
					imin = v[i];
				if (!any || v[i] > imax)
					imax = v[i];
				any = true;
			}
			o->min[0] = (uint8_t) imin;
			o->max[0] = (uint8_t) imax;
			break;
		case PQF_INT32:
		case PQF_INT64:
			{
				bool		uns = is_unsigned(&c->col);

				for (int64_t i = 0; i < n; i++)
				{
					int64_t		x;

					if (w == 4)
					{
						int32_t		y;

						memcpy(&y, v + i * 4, 4);
						x = uns ? (int64_t) (uint32_t) y : y;
					}
					else
						memcpy(&x, v + i * 8, 8);
					if (uns && w == 8)
					{
						if (!any || (uint64_t) x < (uint64_t) imin)
							imin = x;
						if (!any || (uint64_t) x > (uint64_t) imax)
							imax = x;
					}
					else
					{
						if (!any || x < imin)
							imin = x;
						if (!any || x > imax)
							imax = x;
					}
					any = true;
				}
				if (w == 4)
				{
					int32_t		a = (int32_t) imin;
					int32_t		b = (int32_t) imax;

					memcpy(o->min, &a, 4);
					memcpy(o->max, &b, 4);
				}
				else
				{
					memcpy(o->min, &imin, 8);
					memcpy(o->max, &imax, 8);
				}
				break;
			}
		case PQF_FLOAT:
		case PQF_DOUBLE:
			{
				double		dmin = 0;
				double		dmax = 0;

				for (int64_t i = 0; i < n; i++)
				{
					double		x;

					if (w == 4)
					{
						float		y;

						memcpy(&y, v + i * 4, 4);
						x = y;
					}
					else
						memcpy(&x, v + i * 8, 8);
					if (isnan(x))
						continue;
					if (!any || x < dmin)
						dmin = x;
					if (!any || x > dmax)
						dmax = x;
					any = true;
				}
				if (!any)
					return;
				/* the spec asks for -0.0 as a zero minimum and +0.0 as a zero maximum */
				if (dmin == 0)
					dmin = -0.0;
				if (dmax == 0)
					dmax = 0.0;
				if (w == 4)
				{
					float		a = (float) dmin;
					float		b = (float) dmax;

					memcpy(o->min, &a, 4);
					memcpy(o->max, &b, 4);
				}
				else
				{
					memcpy(o->min, &dmin, 8);
					memcpy(o->max, &dmax, 8);
				}
				break;
			}
		default:
			return;				/* INT96 and FIXED_LEN_BYTE_ARRAY: no statistics */
	}
	o->min_len = o->max_len = (uint32_t) w;
	o->has_minmax = true;
}

static int
cmp_bytes(const uint8_t *a, uint32_t al, const uint8_t *b, uint32_t bl)
{
	int			r = memcmp(a, b, al < bl ? al : bl);

	if (r != 0)
		return r;
	return al < bl ? -1 : al > bl ? 1 : 0;
}

/* min and max of a PLAIN BYTE_ARRAY buffer (or of a dictionary's entries) */
static void
stats_bytes(const uint8_t *p, size_t len, PqfChunkOut *o)
{
	const uint8_t *end = len ? p + len : p;
	const uint8_t *mn = NULL;
	const uint8_t *mx = NULL;
	uint32_t	mnl = 0;
	uint32_t	mxl = 0;

	o->has_minmax = false;
	while (p < end)
	{
		uint32_t	l;

		memcpy(&l, p, 4);
		p += 4;
		if (mn == NULL || cmp_bytes(p, l, mn, mnl) < 0)
		{
			mn = p;
			mnl = l;
		}
		if (mx == NULL || cmp_bytes(p, l, mx, mxl) > 0)
		{
			mx = p;
			mxl = l;
		}
		p += l;
	}
	if (mn == NULL || mnl > PQF_STAT_MAX || mxl > PQF_STAT_MAX)
		return;
	memcpy(o->min, mn, mnl);
	memcpy(o->max, mx, mxl);
	o->min_len = mnl;
	o->max_len = mxl;
	o->has_minmax = true;
}

/* ---- pages -------------------------------------------------------------------- */

/*
 * Compress w->page and write it with its header.  A v2 data page's
 * definition levels (levels bytes, nnulls NULLs) go before the compressed
 * values, uncompressed, as the format says.
 */
static int
write_page(PqfWriter *w, PqfChunkOut *co, int type, int64_t nvalues, int enc,
		   const PqfBuf *levels, int64_t nnulls, PqfError *err)
{
	PqfTOut		t;
	int			rc;
	size_t		lvl = levels ? levels->len : 0;

	if ((rc = pqf_compress(w->opt.codec, w->opt.level, w->page.data, w->page.len,
						   &w->comp, err)) < 0)
		return rc;
	if (w->page.len + lvl > INT32_MAX || w->comp.len + lvl > INT32_MAX)
		return pqf_fail(err, PQF_E_ARG, "a page larger than 2 GB");
	w->hdr.len = 0;
	pqft_begin(&t, &w->hdr);
	pqft_i32(&t, 1, type);
	pqft_i32(&t, 2, (int32_t) (w->page.len + lvl));
	pqft_i32(&t, 3, (int32_t) (w->comp.len + lvl));
	if (type == PQF_PAGE_DATA_V2)
	{
		pqft_struct_begin(&t, 8);
		pqft_i32(&t, 1, (int32_t) nvalues);
		pqft_i32(&t, 2, (int32_t) nnulls);
		pqft_i32(&t, 3, (int32_t) nvalues);
		pqft_i32(&t, 4, enc);
		pqft_i32(&t, 5, (int32_t) lvl);
		pqft_i32(&t, 6, 0);
		pqft_bool(&t, 7, w->opt.codec != PQF_UNCOMPRESSED);
		pqft_struct_end(&t);
	}
	else if (type == PQF_PAGE_DICTIONARY)
	{
		pqft_struct_begin(&t, 7);
		pqft_i32(&t, 1, (int32_t) nvalues);
		pqft_i32(&t, 2, PQF_ENC_PLAIN);
		pqft_struct_end(&t);
	}
	else
	{
		pqft_struct_begin(&t, 5);
		pqft_i32(&t, 1, (int32_t) nvalues);
		pqft_i32(&t, 2, enc);
		pqft_i32(&t, 3, PQF_ENC_RLE);
		pqft_i32(&t, 4, PQF_ENC_RLE);
		pqft_struct_end(&t);
	}
	pqft_stop(&t);
	if (w->hdr.oom || w->comp.oom || w->page.oom)
		return pqf_fail(err, PQF_E_NOMEM, "out of memory writing a page");
	if (type == PQF_PAGE_DICTIONARY)
		co->dictionary_page_offset = w->offset;
	else if (co->data_page_offset < 0)
		co->data_page_offset = w->offset;
	co->total_uncompressed += (int64_t) (w->hdr.len + lvl + w->page.len);
	co->total_compressed += (int64_t) (w->hdr.len + lvl + w->comp.len);
	if ((rc = w_write(w, w->hdr.data, w->hdr.len, err)) < 0 ||
		(lvl > 0 && (rc = w_write(w, levels->data, lvl, err)) < 0) ||
		(rc = w_write(w, w->comp.data, w->comp.len, err)) < 0)
		return rc;
	return 0;
}

static int
write_chunk(PqfWriter *w, PqfWCol *c, PqfChunkOut *co, PqfError *err)
{
	int64_t		rows = w->rows;
	bool		use_dict = false;
	int			bw = 0;
	int64_t		per_row;
	int64_t		rows_per_page;
	int64_t		r0 = 0;
	int64_t		v0 = 0;
	size_t		off0 = 0;		/* byte offset of value v0 in vals */
	const uint8_t *defs = c->defs.data;
	int			rc;

	memset(co, 0, sizeof(*co));
	co->num_values = rows;
	co->null_count = c->nnulls;
	co->dictionary_page_offset = -1;
	co->data_page_offset = -1;

	if (c->dict_on && c->nvals > 0)
	{
		size_t		ne = c->entries.len / sizeof(PqfDictEntry);

		bw = pqf_bit_width(ne > 0 ? ne - 1 : 0);
		if (bw == 0)
			bw = 1;
		/* dictionary page plus packed indices against the PLAIN values */
		use_dict = c->dict.len + (size_t) (c->nvals * bw / 8) < c->vals.len * 9 / 10;
	}
	if (c->col.type == PQF_BYTE_ARRAY)
		stats_bytes(use_dict ? c->dict.data : c->vals.data,
					use_dict ? c->dict.len : c->vals.len, co);
	else
		stats_fixed(c, co);

	if (use_dict)
	{
		w->page.len = 0;
		pqf_buf_put(&w->page, c->dict.data, c->dict.len);
		if ((rc = write_page(w, co, PQF_PAGE_DICTIONARY,
							 (int64_t) (c->entries.len / sizeof(PqfDictEntry)), 0, NULL, 0, err)) < 0)
			return rc;
		per_row = (bw + 7) / 8 + 1;
	}
	else
		per_row = rows > 0 ? (int64_t) (c->vals.len / (size_t) rows) + 1 : 1;
	rows_per_page = w->opt.page_bytes / per_row;
	if (rows_per_page < 1)
		rows_per_page = 1;
	/* at least one page, even for an empty row group */
	do
	{
		int64_t		r1 = r0 + rows_per_page < rows ? r0 + rows_per_page : rows;
		int64_t		v1 = v0;
		size_t		off1;

		if (c->col.optional)
			for (int64_t r = r0; r < r1; r++)
				v1 += defs[r];
		else
			v1 = v0 + (r1 - r0);

		w->page.len = 0;
		w->lv.len = 0;
		if (c->col.optional)
		{
			uint32_t	len;

			pqf_rle_encode_u8(&w->lv, defs + r0, r1 - r0, 1);
			len = (uint32_t) w->lv.len;
			/* v1: the levels lead the page, prefixed with their length */
			if (!w->opt.page_v2)
			{
				pqf_buf_put(&w->page, &len, 4);
				pqf_buf_put(&w->page, w->lv.data, w->lv.len);
			}
		}
		if (use_dict)
		{
			uint8_t		b = (uint8_t) bw;

			pqf_buf_put(&w->page, &b, 1);
			pqf_rle_encode(&w->page, (const uint32_t *) c->idx.data + v0, v1 - v0, bw);
			off1 = off0;
		}
		else if (c->col.type == PQF_BOOLEAN && w->opt.page_v2)
		{
			/* v2 writers use RLE for booleans: a 4-byte length, then the hybrid */
			size_t		at = w->page.len;
			uint32_t	len;

			pqf_buf_put(&w->page, "\0\0\0\0", 4);
			pqf_rle_encode_u8(&w->page, c->vals.data ? c->vals.data + v0 : NULL, v1 - v0, 1);
			len = (uint32_t) (w->page.len - at - 4);
			if (!w->page.oom)
				memcpy(w->page.data + at, &len, 4);
			off1 = off0;
		}
		else if (c->col.type == PQF_BOOLEAN)
		{
			uint8_t		acc = 0;
			int			nb = 0;

			for (int64_t i = v0; i < v1; i++)
			{
				acc |= (uint8_t) (c->vals.data[i] << nb);
				if (++nb == 8)
				{
					pqf_buf_put(&w->page, &acc, 1);
					acc = 0;
					nb = 0;
				}
			}
			if (nb)
				pqf_buf_put(&w->page, &acc, 1);
			off1 = off0;
		}
		else if (c->width > 0)
		{
			off1 = (size_t) v1 * c->width;
			if (off1 > off0)
				pqf_buf_put(&w->page, c->vals.data + off0, off1 - off0);
		}
		else
		{
			off1 = off0;
			for (int64_t i = v0; i < v1; i++)
			{
				uint32_t	l;

				memcpy(&l, c->vals.data + off1, 4);
				off1 += 4 + l;
			}
			if (off1 > off0)
				pqf_buf_put(&w->page, c->vals.data + off0, off1 - off0);
		}
		if ((rc = write_page(w, co, w->opt.page_v2 ? PQF_PAGE_DATA_V2 : PQF_PAGE_DATA, r1 - r0,
							 use_dict ? PQF_ENC_RLE_DICTIONARY :
							 (c->col.type == PQF_BOOLEAN && w->opt.page_v2) ? PQF_ENC_RLE : PQF_ENC_PLAIN,
							 w->opt.page_v2 ? &w->lv : NULL, (r1 - r0) - (v1 - v0), err)) < 0)
			return rc;
		r0 = r1;
		v0 = v1;
		off0 = off1;
	} while (r0 < rows);
	co->has_minmax = co->has_minmax && c->nvals > 0;
	return 0;
}

static int
flush_row_group(PqfWriter *w, PqfError *err)
{
	PqfRowGroupOut *g;
	int			rc;

	if (w->nrg == w->rg_cap)
	{
		int			cap = w->rg_cap ? w->rg_cap * 2 : 8;
		PqfRowGroupOut *n = realloc(w->rgs, cap * sizeof(PqfRowGroupOut));

		if (n == NULL)
			return pqf_fail(err, PQF_E_NOMEM, "out of memory");
		w->rgs = n;
		w->rg_cap = cap;
	}
	g = &w->rgs[w->nrg];
	memset(g, 0, sizeof(*g));
	g->cols = calloc(w->ncols, sizeof(PqfChunkOut));
	if (g->cols == NULL)
		return pqf_fail(err, PQF_E_NOMEM, "out of memory");
	w->nrg++;
	g->num_rows = w->rows;
	g->file_offset = w->offset;
	for (int i = 0; i < w->ncols; i++)
	{
		PqfWCol    *c = &w->cols[i];

		if (c->defs.oom || c->vals.oom)
			return pqf_fail(err, PQF_E_NOMEM, "column \"%s\": out of memory", c->col.name);
		if ((rc = write_chunk(w, c, &g->cols[i], err)) < 0)
			return rc;
		g->total_uncompressed += g->cols[i].total_uncompressed;
		g->total_compressed += g->cols[i].total_compressed;
		/* the next row group starts afresh; buffers keep their memory */
		c->defs.len = 0;
		c->vals.len = 0;
		c->nvals = 0;
		c->nnulls = 0;
		if (c->col.type == PQF_BYTE_ARRAY && w->opt.dictionary_bytes > 0)
		{
			c->dict_on = true;
			c->dict.len = 0;
			c->entries.len = 0;
			c->idx.len = 0;
			if (c->slots)
				memset(c->slots, 0, c->nslots * sizeof(uint32_t));
		}
	}
	w->total_rows += w->rows;
	w->rows = 0;
	w->buffered = 0;
	return 0;
}

/*
 * pqf_end_row
 *		Close the current row: report any error a put function deferred, check
 *		that every column got exactly one value or NULL (the invariant that
 *		keeps the columns' row counts equal, without which the file would be
 *		corrupt), and flush the row group when it reaches row_group_rows or
 *		PQF_MAX_BUFFERED bytes, bounding the writer's memory.  A flush failure
 *		is also latched so later calls keep failing.
 */
int
pqf_end_row(PqfWriter *w, PqfError *err)
{
	if (w->err_code != 0)
		return pqf_fail(err, w->err_code, "%s", w->err_msg);
	w->rows++;
	for (int i = 0; i < w->ncols; i++)
	{
		PqfWCol    *c = &w->cols[i];

		if (c->nvals + c->nnulls != w->rows)
		{
			w_seterr(w, PQF_E_ARG, "a row without exactly one value", c->col.name);
			return pqf_fail(err, w->err_code, "%s", w->err_msg);
		}
	}
	if (w->rows >= w->opt.row_group_rows || w->buffered >= PQF_MAX_BUFFERED)
	{
		int			rc = flush_row_group(w, err);

		if (rc < 0)
		{
			w_seterr(w, rc, err->msg, "?");
			return rc;
		}
	}
	return 0;
}

/*
 * pqf_writer_rows
 *		Rows accepted so far: those in flushed row groups plus the ones
 *		buffered.  Part of parquet.h's API for callers that do not count rows
 *		themselves; parquet_pg.c keeps its own count and does not call it.
 */
int64_t
pqf_writer_rows(const PqfWriter *w)
{
	return w->total_rows + w->rows;
}

/* ---- footer -------------------------------------------------------------------- */

static void
put_i8_field(PqfTOut *t, int16_t id, int8_t v)
{
	uint8_t		b = (uint8_t) v;

	pqft_field(t, id, PQFT_BYTE);
	pqf_buf_put(t->b, &b, 1);
}

static void
put_empty(PqfTOut *t, int16_t id)
{
	pqft_struct_begin(t, id);
	pqft_struct_end(t);
}

static void
put_logical(PqfTOut *t, const PqfColumn *c)
{
	int			id;

	switch (c->logical)
	{
		case PQF_LT_STRING:
			id = 1;
			break;
		case PQF_LT_ENUM:
			id = 4;
			break;
		case PQF_LT_DECIMAL:
			pqft_struct_begin(t, 10);
			pqft_struct_begin(t, 5);
			pqft_i32(t, 1, c->scale);
			pqft_i32(t, 2, c->precision);
			pqft_struct_end(t);
			pqft_struct_end(t);
			return;
		case PQF_LT_DATE:
			id = 6;
			break;
		case PQF_LT_TIME:
		case PQF_LT_TIMESTAMP:
			pqft_struct_begin(t, 10);
			pqft_struct_begin(t, c->logical == PQF_LT_TIME ? 7 : 8);
			pqft_bool(t, 1, c->utc);
			pqft_struct_begin(t, 2);
			put_empty(t, c->unit == PQF_MILLIS ? 1 : c->unit == PQF_MICROS ? 2 : 3);
			pqft_struct_end(t);
			pqft_struct_end(t);
			pqft_struct_end(t);
			return;
		case PQF_LT_INT:
			pqft_struct_begin(t, 10);
			pqft_struct_begin(t, 10);
			put_i8_field(t, 1, (int8_t) c->bit_width);
			pqft_bool(t, 2, c->is_signed);
			pqft_struct_end(t);
			pqft_struct_end(t);
			return;
		case PQF_LT_JSON:
			id = 12;
			break;
		case PQF_LT_BSON:
			id = 13;
			break;
		case PQF_LT_UUID:
			id = 14;
			break;
		default:
			return;
	}
	pqft_struct_begin(t, 10);
	put_empty(t, (int16_t) id);
	pqft_struct_end(t);
}

static int
converted_type(const PqfColumn *c)
{
	switch (c->logical)
	{
		case PQF_LT_STRING:
			return PQF_CT_UTF8;
		case PQF_LT_ENUM:
			return PQF_CT_ENUM;
		case PQF_LT_JSON:
			return PQF_CT_JSON;
		case PQF_LT_BSON:
			return PQF_CT_BSON;
		case PQF_LT_DECIMAL:
			return PQF_CT_DECIMAL;
		case PQF_LT_DATE:
			return PQF_CT_DATE;
		case PQF_LT_TIME:
			if (!c->utc || c->unit == PQF_NANOS)
				return -1;
			return c->unit == PQF_MILLIS ? PQF_CT_TIME_MILLIS : PQF_CT_TIME_MICROS;
		case PQF_LT_TIMESTAMP:
			/* as DuckDB and pyarrow do, also for local timestamps */
			if (c->unit == PQF_NANOS)
				return -1;
			return c->unit == PQF_MILLIS ? PQF_CT_TIMESTAMP_MILLIS : PQF_CT_TIMESTAMP_MICROS;
		case PQF_LT_INT:
			{
				int			k = c->bit_width == 8 ? 0 : c->bit_width == 16 ? 1 :
					c->bit_width == 32 ? 2 : 3;

				return (c->is_signed ? PQF_CT_INT_8 : PQF_CT_UINT_8) + k;
			}
		default:
			return -1;
	}
}

static int
write_footer(PqfWriter *w, PqfError *err)
{
	PqfBuf		b = {0};
	PqfTOut		t;
	uint32_t	len;
	int			rc;
	const char *by = w->opt.created_by ? w->opt.created_by : "metaetl";

	pqft_begin(&t, &b);
	pqft_i32(&t, 1, 1);
	pqft_list_begin(&t, 2, PQFT_STRUCT, w->ncols + 1);
	pqft_elem_struct_begin(&t);
	pqft_binary(&t, 4, "schema", 6);
	pqft_i32(&t, 5, w->ncols);
	pqft_struct_end(&t);
	for (int i = 0; i < w->ncols; i++)
	{
		const PqfColumn *c = &w->cols[i].col;
		int			ct = converted_type(c);

		pqft_elem_struct_begin(&t);
		pqft_i32(&t, 1, c->type);
		if (c->type == PQF_FIXED_LEN_BYTE_ARRAY)
			pqft_i32(&t, 2, c->type_length);
		pqft_i32(&t, 3, c->optional ? PQF_REP_OPTIONAL : PQF_REP_REQUIRED);
		pqft_binary(&t, 4, c->name, strlen(c->name));
		if (ct >= 0)
			pqft_i32(&t, 6, ct);
		if (c->logical == PQF_LT_DECIMAL)
		{
			pqft_i32(&t, 7, c->scale);
			pqft_i32(&t, 8, c->precision);
		}
		put_logical(&t, c);
		pqft_struct_end(&t);
	}
	pqft_i64(&t, 3, w->total_rows);
	pqft_list_begin(&t, 4, PQFT_STRUCT, w->nrg);
	for (int r = 0; r < w->nrg; r++)
	{
		const PqfRowGroupOut *g = &w->rgs[r];

		pqft_elem_struct_begin(&t);
		pqft_list_begin(&t, 1, PQFT_STRUCT, w->ncols);
		for (int i = 0; i < w->ncols; i++)
		{
			const PqfChunkOut *co = &g->cols[i];
			const PqfWCol *c = &w->cols[i];
			bool		dict = co->dictionary_page_offset >= 0;

			pqft_elem_struct_begin(&t);
			pqft_i64(&t, 2, dict ? co->dictionary_page_offset : co->data_page_offset);
			pqft_struct_begin(&t, 3);
			pqft_i32(&t, 1, c->col.type);
			pqft_list_begin(&t, 2, PQFT_I32, dict ? 3 : 2);
			pqf_buf_uleb(&b, (uint64_t) PQF_ENC_RLE << 1);
			if (dict)
			{
				pqf_buf_uleb(&b, (uint64_t) PQF_ENC_PLAIN << 1);
				pqf_buf_uleb(&b, (uint64_t) PQF_ENC_RLE_DICTIONARY << 1);
			}
			else
				pqf_buf_uleb(&b, (uint64_t) PQF_ENC_PLAIN << 1);
			pqft_list_begin(&t, 3, PQFT_BINARY, 1);
			pqf_buf_uleb(&b, strlen(c->col.name));
			pqf_buf_put(&b, c->col.name, strlen(c->col.name));
			pqft_i32(&t, 4, w->opt.codec);
			pqft_i64(&t, 5, co->num_values);
			pqft_i64(&t, 6, co->total_uncompressed);
			pqft_i64(&t, 7, co->total_compressed);
			pqft_i64(&t, 9, co->data_page_offset);
			if (dict)
				pqft_i64(&t, 11, co->dictionary_page_offset);
			pqft_struct_begin(&t, 12);
			pqft_i64(&t, 3, co->null_count);
			if (co->has_minmax)
			{
				pqft_binary(&t, 5, co->max, co->max_len);
				pqft_binary(&t, 6, co->min, co->min_len);
			}
			pqft_struct_end(&t);
			pqft_struct_end(&t);	/* ColumnMetaData */
			pqft_struct_end(&t);	/* ColumnChunk */
		}
		pqft_i64(&t, 2, g->total_uncompressed);
		pqft_i64(&t, 3, g->num_rows);
		pqft_i64(&t, 5, g->file_offset);
		pqft_i64(&t, 6, g->total_compressed);
		pqft_field(&t, 7, PQFT_I16);
		pqf_buf_uleb(&b, ((uint64_t) r << 1));
		pqft_struct_end(&t);
	}
	pqft_binary(&t, 6, by, strlen(by));
	pqft_list_begin(&t, 7, PQFT_STRUCT, w->ncols);
	for (int i = 0; i < w->ncols; i++)
	{
		pqft_elem_struct_begin(&t);
		put_empty(&t, 1);		/* TypeDefinedOrder */
		pqft_struct_end(&t);
	}
	pqft_stop(&t);
	if (b.oom)
	{
		pqf_buf_free(&b);
		return pqf_fail(err, PQF_E_NOMEM, "out of memory writing the footer");
	}
	len = (uint32_t) b.len;
	if ((rc = w_write(w, b.data, b.len, err)) < 0 ||
		(rc = w_write(w, &len, 4, err)) < 0 ||
		(rc = w_write(w, "PAR1", 4, err)) < 0)
	{
		pqf_buf_free(&b);
		return rc;
	}
	pqf_buf_free(&b);
	return 0;
}

/*
 * pqf_writer_finish
 *		Flush the last partial row group and write the footer (metadata, its
 *		length and the closing PAR1); without this the output is not a readable
 *		Parquet file.  parquet_pg.c calls it once, after its last row, and
 *		frees the writer afterwards.  Deferred errors are reported first, and a
 *		second call fails rather than writing a second footer.
 */
int
pqf_writer_finish(PqfWriter *w, PqfError *err)
{
	int			rc;

	if (w->err_code != 0)
		return pqf_fail(err, w->err_code, "%s", w->err_msg);
	if (w->finished)
		return pqf_fail(err, PQF_E_ARG, "the file is already finished");
	if (w->rows > 0 && (rc = flush_row_group(w, err)) < 0)
		return rc;
	if ((rc = write_footer(w, err)) < 0)
		return rc;
	w->finished = true;
	return 0;
}

/*
 * pqf_writer_free
 *		Free the writer and all its buffers; it never writes.  NULL is
 *		accepted, so that the glue's memory-context reset callback can call it
 *		after an ereport or a failed pqf_writer_open without tracking state.
 */
void
pqf_writer_free(PqfWriter *w)
{
	if (w == NULL)
		return;
	for (int i = 0; i < w->ncols; i++)
	{
		PqfWCol    *c = &w->cols[i];

		free((char *) c->col.name);
		pqf_buf_free(&c->defs);
		pqf_buf_free(&c->vals);
		dict_drop(c);
	}
	for (int r = 0; r < w->nrg; r++)
		free(w->rgs[r].cols);
	free(w->rgs);
	free(w->cols);
	pqf_buf_free(&w->page);
	pqf_buf_free(&w->comp);
	pqf_buf_free(&w->hdr);
	pqf_buf_free(&w->lv);
	free(w);
}
