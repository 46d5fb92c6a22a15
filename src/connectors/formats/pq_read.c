/*-------------------------------------------------------------------------
 *
 * src/connectors/formats/pq_read.c
 *		The Parquet reader: footer and schema, column projection, and the
 *		page-by-page decoding of the chosen columns of one row group.
 *
 * Objects come from S3 or Azure with ranged reads, so the input is a
 * read_at callback.  Only the projected columns' chunks are read, each
 * through a read-ahead window of at most PQF_WINDOW bytes (one request per
 * chunk for the DuckDB and pyarrow files we have seen), and a page is
 * decoded a batch at a time: memory is a window, a page and a batch per
 * column, whatever the file's size.
 *
 * Every offset, length and count that comes from the file is checked
 * against the bytes that back it before it is used; a value that does not
 * fit is PQF_E_CORRUPT with a message naming the column.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/formats/pq_internal.h"

typedef struct PqfColReader
{
	int			leaf;
	const PqfColumn *col;
	const PqfChunkMeta *cm;
	int			rg;
	int			max_def;
	int			width;			/* bytes of a fixed-size value; 0 for BYTE_ARRAY */

	/* the chunk and the read-ahead window over it */
	uint64_t	chunk_end;
	uint64_t	pos;			/* file offset of the next page header */
	PqfBuf		win;
	uint64_t	win_off;
	bool		win_valid;

	/* the dictionary: its page's bytes and its values */
	bool		has_dict;
	int64_t		dict_n;
	PqfBuf		dict_page;
	PqfBuf		dict_vals;

	/* the current data page */
	PqfBuf		page;
	int64_t		page_rows;		/* rows left in it */
	PqfRle		defs;
	int			enc;
	const uint8_t *vp;			/* values: next byte */
	const uint8_t *vend;
	uint64_t	bool_bit;
	PqfRle		rle;
	PqfDelta	delta;			/* DELTA_*: values, lengths, or prefix lengths */
	PqfDelta	delta2;			/* DELTA_BYTE_ARRAY: suffix lengths */
	PqfBuf		prev;			/* DELTA_BYTE_ARRAY: the previous value */
	uint64_t	bss_n;			/* BYTE_STREAM_SPLIT: values in the page */
	uint64_t	bss_i;
	const uint8_t *bss_base;

	/* batch output */
	uint8_t    *defined;
	uint8_t    *vals;			/* PQF_BATCH values of up to 16 bytes */
	uint32_t   *idx;
	int64_t    *tmp;
	int64_t    *tmp2;
	PqfBuf		arena;

	int64_t		rows_done;
	bool		seen_data;
} PqfColReader;

struct PqfFile
{
	PqfInput	in;
	PqfFileMeta meta;
	uint8_t    *footer;
	uint64_t	data_end;		/* where the footer starts */
	int			ncols;
	PqfColumn  *cols;
	int		   *first_leaf;
	int			nleaves;
	int			nproj;
	PqfColReader *readers;
	int			cur_rg;

	/*
	 * The projected chunks of the current row group when one read fetches
	 * them all (see pqf_row_group), else rg_valid is false and each column
	 * reads through its own window.
	 */
	PqfBuf		rgbuf;
	uint64_t	rg_off;
	bool		rg_valid;
	uint64_t   *span;			/* rg_span's scratch: 2 * nproj offsets */
	uint64_t	span_max;		/* PQF_RG_SPAN (the unit test lowers it) */
};

/*
 * One read for several row groups: when the projected chunks are adjacent
 * (they tile one byte range, as every column of a row group does in the
 * files DuckDB and pyarrow write), that range and those of the row groups
 * after it that continue it, up to this many bytes.  From S3 or Azure a
 * request costs far more than the bytes it carries (and moto reads the
 * whole object for each ranged GET), so a whole-file read of 8 columns in
 * 122,880-row groups costs a GET per 32 MiB instead of one per column
 * chunk, and memory stays bounded by this buffer.  Columns the pipeline
 * does not use are never fetched, unless the input's request_bytes says a
 * gap of them is cheaper to read than a request: then 2 of 8 columns from
 * S3 cost a GET per 32 MiB too, instead of one per chunk.
 */
#define PQF_RG_SPAN		(32 * 1024 * 1024)

#define COLFAIL(c, code, ...) \
	col_fail((c), (code), __VA_ARGS__)

static int	col_fail(PqfColReader *c, int code, PqfError *err, const char *fmt,...)
			__attribute__((format(printf, 4, 5)));

static int
col_fail(PqfColReader *c, int code, PqfError *err, const char *fmt,...)
{
	char		buf[200];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return pqf_fail(err, code, "column \"%s\" (row group %d): %s", c->col->name, c->rg, buf);
}

static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t) p[0] | ((uint32_t) p[1] << 8) | ((uint32_t) p[2] << 16) |
		((uint32_t) p[3] << 24);
}

/* ---- opening: footer and schema ----------------------------------------- */

/* count the leaves under schema element *idx, moving *idx past its subtree */
static int
count_leaves(const PqfFileMeta *m, int *idx, int depth, int *leaves)
{
	const PqfSchemaElem *e;
	int			nchild;

	if (*idx >= m->nschema || depth > PQF_MAX_DEPTH)
		return -1;
	e = &m->schema[(*idx)++];
	nchild = e->num_children;
	if (nchild < 0)
		return -1;
	if (nchild == 0)
	{
		if (e->type < 0)
			return -1;			/* a group without children is not a leaf */
		(*leaves)++;
		return 0;
	}
	for (int i = 0; i < nchild; i++)
		if (count_leaves(m, idx, depth + 1, leaves) < 0)
			return -1;
	return 0;
}

static bool
check_logical(PqfColumn *c)
{
	switch (c->logical)
	{
		case PQF_LT_STRING:
		case PQF_LT_ENUM:
		case PQF_LT_JSON:
		case PQF_LT_BSON:
			return c->type == PQF_BYTE_ARRAY || c->type == PQF_FIXED_LEN_BYTE_ARRAY;
		case PQF_LT_UUID:
			return c->type == PQF_FIXED_LEN_BYTE_ARRAY && c->type_length == 16;
		case PQF_LT_DATE:
			return c->type == PQF_INT32;
		case PQF_LT_TIME:
			return c->unit == PQF_MILLIS ? c->type == PQF_INT32 : c->type == PQF_INT64;
		case PQF_LT_TIMESTAMP:
			return c->type == PQF_INT64;
		case PQF_LT_DECIMAL:
			if (c->precision < 1 || c->scale < 0 || c->scale > c->precision)
				return false;
			if (c->type == PQF_INT32)
				return c->precision <= 9;
			if (c->type == PQF_INT64)
				return c->precision <= 18;
			return c->type == PQF_FIXED_LEN_BYTE_ARRAY || c->type == PQF_BYTE_ARRAY;
		case PQF_LT_INT:
			if (c->bit_width != 8 && c->bit_width != 16 && c->bit_width != 32 &&
				c->bit_width != 64)
				return false;
			return c->bit_width == 64 ? c->type == PQF_INT64 : c->type == PQF_INT32;
		case PQF_LT_FLOAT16:
			return c->type == PQF_FIXED_LEN_BYTE_ARRAY && c->type_length == 2;
		case PQF_LT_INTERVAL:
			return c->type == PQF_FIXED_LEN_BYTE_ARRAY && c->type_length == 12;
		default:
			return true;
	}
}

/* the column a top-level schema element describes */
static int
describe_column(const PqfSchemaElem *e, bool group, PqfColumn *c, PqfError *err)
{
	memset(c, 0, sizeof(*c));
	c->name = e->name;
	if (e->name == NULL)
		return pqf_fail(err, PQF_E_CORRUPT, "a schema element has no name");
	c->optional = e->repetition == PQF_REP_OPTIONAL;
	c->nested = group || e->repetition == PQF_REP_REPEATED || e->logical_nested;
	if (c->nested)
		return 0;
	if (e->type < PQF_BOOLEAN || e->type > PQF_FIXED_LEN_BYTE_ARRAY)
		return pqf_fail(err, PQF_E_CORRUPT, "column \"%s\" has physical type %d", e->name,
						e->type);
	c->type = (PqfType) e->type;
	if (c->type == PQF_FIXED_LEN_BYTE_ARRAY)
	{
		if (e->type_length <= 0 || e->type_length > (1 << 20))
			return pqf_fail(err, PQF_E_CORRUPT, "column \"%s\" has type_length %d", e->name,
							e->type_length);
		c->type_length = e->type_length;
	}
	else if (c->type == PQF_INT96)
		c->type_length = 12;

	if (e->has_logical)
	{
		c->logical = e->logical;
		c->unit = e->unit;
		c->utc = e->utc;
		c->precision = e->lt_precision ? e->lt_precision : e->precision;
		c->scale = e->lt_precision ? e->lt_scale : e->scale;
		c->bit_width = e->bit_width;
		c->is_signed = e->is_signed;
	}
	else
	{
		switch (e->converted)
		{
			case -1:
				break;
			case PQF_CT_UTF8:
				c->logical = PQF_LT_STRING;
				break;
			case PQF_CT_ENUM:
				c->logical = PQF_LT_ENUM;
				break;
			case PQF_CT_JSON:
				c->logical = PQF_LT_JSON;
				break;
			case PQF_CT_BSON:
				c->logical = PQF_LT_BSON;
				break;
			case PQF_CT_DECIMAL:
				c->logical = PQF_LT_DECIMAL;
				c->precision = e->precision;
				c->scale = e->scale;
				break;
			case PQF_CT_DATE:
				c->logical = PQF_LT_DATE;
				break;
			case PQF_CT_TIME_MILLIS:
			case PQF_CT_TIME_MICROS:
				c->logical = PQF_LT_TIME;
				c->unit = e->converted == PQF_CT_TIME_MILLIS ? PQF_MILLIS : PQF_MICROS;
				c->utc = true;
				break;
			case PQF_CT_TIMESTAMP_MILLIS:
			case PQF_CT_TIMESTAMP_MICROS:
				c->logical = PQF_LT_TIMESTAMP;
				c->unit = e->converted == PQF_CT_TIMESTAMP_MILLIS ? PQF_MILLIS : PQF_MICROS;
				c->utc = true;
				break;
			case PQF_CT_UINT_8:
			case PQF_CT_UINT_16:
			case PQF_CT_UINT_32:
			case PQF_CT_UINT_64:
			case PQF_CT_INT_8:
			case PQF_CT_INT_16:
			case PQF_CT_INT_32:
			case PQF_CT_INT_64:
				{
					static const int bits[] = {8, 16, 32, 64};
					int			k = e->converted >= PQF_CT_INT_8 ? e->converted - PQF_CT_INT_8
						: e->converted - PQF_CT_UINT_8;

					c->logical = PQF_LT_INT;
					c->bit_width = bits[k];
					c->is_signed = e->converted >= PQF_CT_INT_8;
					break;
				}
			case PQF_CT_INTERVAL:
				c->logical = PQF_LT_INTERVAL;
				break;
			case PQF_CT_MAP:
			case PQF_CT_MAP_KEY_VALUE:
			case PQF_CT_LIST:
				c->nested = true;
				return 0;
			default:
				c->logical = PQF_LT_OTHER;
				break;
		}
	}
	if (!check_logical(c))
		return pqf_fail(err, PQF_E_CORRUPT,
						"column \"%s\": its logical type does not fit physical type %s",
						e->name, pqf_type_name(c->type));
	return 0;
}

static int
build_columns(PqfFile *f, PqfError *err)
{
	const PqfFileMeta *m = &f->meta;
	int			n = m->schema[0].num_children;
	int			idx = 1;
	int			leaves = 0;

	if (n <= 0 || n > m->nschema - 1)
		return pqf_fail(err, PQF_E_CORRUPT, "the schema has %d columns in %d elements", n,
						m->nschema);
	f->cols = calloc(n, sizeof(PqfColumn));
	f->first_leaf = calloc(n, sizeof(int));
	if (f->cols == NULL || f->first_leaf == NULL)
		return pqf_fail(err, PQF_E_NOMEM, "out of memory reading the schema");
	f->ncols = n;
	for (int i = 0; i < n; i++)
	{
		int			at = idx;
		int			before = leaves;
		int			rc;

		if (count_leaves(m, &idx, 0, &leaves) < 0)
			return pqf_fail(err, PQF_E_CORRUPT, "the schema tree is malformed");
		f->first_leaf[i] = before;
		rc = describe_column(&m->schema[at], m->schema[at].num_children > 0, &f->cols[i], err);
		if (rc < 0)
			return rc;
	}
	if (idx != m->nschema)
		return pqf_fail(err, PQF_E_CORRUPT, "the schema tree is malformed");
	f->nleaves = leaves;
	for (int r = 0; r < m->nrg; r++)
	{
		if (m->rgs[r].ncols != leaves)
			return pqf_fail(err, PQF_E_CORRUPT, "row group %d has %d column chunks, not %d",
							r, m->rgs[r].ncols, leaves);
		if (m->rgs[r].num_rows < 0)
			return pqf_fail(err, PQF_E_CORRUPT, "row group %d has %lld rows", r,
							(long long) m->rgs[r].num_rows);
	}
	return 0;
}

/*
 * pqf_open
 *		Open a Parquet file through in->read_at: check the PAR1 magic at both
 *		ends, read and parse the footer, and build the top-level column list.
 *		The footer length is bounded by the file size and PQF_MAX_FOOTER before
 *		anything is allocated, since the objects come from S3 or Azure and are
 *		not trusted.  Only the footer is read here; column data is fetched
 *		later, per row group, for the projected columns alone.  parquet_pg.c
 *		calls this once per object.  On failure *out stays NULL and nothing is
 *		leaked.
 */
int
pqf_open(PqfFile **out, const PqfInput *in, PqfError *err)
{
	PqfFile    *f;
	uint8_t		tail[8];
	uint8_t		head[4];
	uint32_t	flen;
	int			rc;

	*out = NULL;
	if (in->size < 12)
		return pqf_fail(err, PQF_E_CORRUPT, "not a Parquet file (%llu bytes)",
						(unsigned long long) in->size);
	if ((rc = in->read_at(in->arg, in->size - 8, tail, 8, err)) < 0)
		return rc;
	if (memcmp(tail + 4, "PARE", 4) == 0)
		return pqf_fail(err, PQF_E_UNSUPPORTED, "encrypted Parquet files are not supported");
	if (memcmp(tail + 4, "PAR1", 4) != 0)
		return pqf_fail(err, PQF_E_CORRUPT, "not a Parquet file (it does not end with PAR1)");
	if ((rc = in->read_at(in->arg, 0, head, 4, err)) < 0)
		return rc;
	if (memcmp(head, "PAR1", 4) != 0)
		return pqf_fail(err, PQF_E_CORRUPT, "not a Parquet file (it does not start with PAR1)");
	flen = le32(tail);
	if (flen == 0 || flen > in->size - 12 || flen > PQF_MAX_FOOTER)
		return pqf_fail(err, PQF_E_CORRUPT, "the footer length %u does not fit the file", flen);

	f = calloc(1, sizeof(PqfFile));
	if (f == NULL)
		return pqf_fail(err, PQF_E_NOMEM, "out of memory opening the file");
	f->in = *in;
	f->cur_rg = -1;
	f->span_max = PQF_RG_SPAN;
	f->data_end = in->size - 8 - flen;
	f->footer = malloc(flen);
	if (f->footer == NULL)
	{
		pqf_close(f);
		return pqf_fail(err, PQF_E_NOMEM, "out of memory reading the footer");
	}
	if ((rc = in->read_at(in->arg, f->data_end, f->footer, flen, err)) < 0 ||
		(rc = pqf_parse_footer(f->footer, flen, &f->meta, err)) < 0 ||
		(rc = build_columns(f, err)) < 0)
	{
		pqf_close(f);
		return rc;
	}
	*out = f;
	return 0;
}

static void
col_free(PqfColReader *c)
{
	pqf_buf_free(&c->win);
	pqf_buf_free(&c->dict_page);
	pqf_buf_free(&c->dict_vals);
	pqf_buf_free(&c->page);
	pqf_buf_free(&c->prev);
	pqf_buf_free(&c->arena);
	free(c->defined);
	free(c->vals);
	free(c->idx);
	free(c->tmp);
	free(c->tmp2);
}

/*
 * pqf_close
 *		Free the file and everything hanging off it (readers, row-group buffer,
 *		metadata, footer).  NULL is accepted so that error paths, and the
 *		glue's memory-context reset callback after an ereport, can call it
 *		blindly.
 */
void
pqf_close(PqfFile *f)
{
	if (f == NULL)
		return;
	if (f->readers)
		for (int i = 0; i < f->nproj; i++)
			col_free(&f->readers[i]);
	free(f->readers);
	free(f->span);
	pqf_buf_free(&f->rgbuf);
	free(f->cols);
	free(f->first_leaf);
	pqf_free_meta(&f->meta);
	free(f->footer);
	free(f);
}

/*
 * pqf_ncolumns
 *		The number of top-level fields of the schema, nested ones included, so
 *		that the glue can match every field by name and report a nested one it
 *		was asked for rather than silently skipping it.
 */
int
pqf_ncolumns(const PqfFile *f)
{
	return f->ncols;
}

/*
 * pqf_column
 *		Field i of the schema, or NULL when i is out of range; the pointer
 *		lives as long as the file.  The glue reads type and logical type from
 *		it to pick each column's PostgreSQL type.
 */
const PqfColumn *
pqf_column(const PqfFile *f, int i)
{
	return i >= 0 && i < f->ncols ? &f->cols[i] : NULL;
}

/*
 * pqf_find_column
 *		The index of the top-level field named "name" (exact, case-sensitive,
 *		as Parquet names are), or -1; parquet_pg.c maps target columns to file
 *		columns with it before pqf_project.
 */
int
pqf_find_column(const PqfFile *f, const char *name)
{
	for (int i = 0; i < f->ncols; i++)
		if (strcmp(f->cols[i].name, name) == 0)
			return i;
	return -1;
}

/*
 * pqf_num_rows
 *		The row count the footer declares for the whole file; the glue counts
 *		rows per row group instead, so this serves the unit tests.
 */
int64_t
pqf_num_rows(const PqfFile *f)
{
	return f->meta.num_rows;
}

/*
 * pqf_num_row_groups
 *		The number of row groups; the glue walks them in order, calling
 *		pqf_row_group for each.
 */
int
pqf_num_row_groups(const PqfFile *f)
{
	return f->meta.nrg;
}

/*
 * pqf_row_group_rows
 *		The rows of row group rg, or -1 for no such group.  build_columns has
 *		already refused negative counts, so -1 means only a bad index.  The
 *		glue uses it to know how many rows to pull from each projected column.
 */
int64_t
pqf_row_group_rows(const PqfFile *f, int rg)
{
	return rg >= 0 && rg < f->meta.nrg ? f->meta.rgs[rg].num_rows : -1;
}

/*
 * pqf_created_by
 *		The footer's created_by string (the writing library), or NULL.  Only
 *		the C unit tests (test/unit/test_parquet.c) use it, to check what wrote
 *		a file.
 */
const char *
pqf_created_by(const PqfFile *f)
{
	return f->meta.created_by;
}

/*
 * pqf_project
 *		Replace the projection: free any previous column readers, then set one
 *		up per requested column (in the order the caller will pass to
 *		pqf_read), with its batch buffers allocated here once.  Only these
 *		columns' chunks are ever fetched, which is what keeps reads of wide
 *		files cheap over ranged GETs.  Nested or repeated fields fail with
 *		PQF_E_NESTED, because the reader only decodes flat columns (max
 *		definition level 1, no repetition levels).  Any current row group is
 *		forgotten, so the caller must call pqf_row_group again.
 */
int
pqf_project(PqfFile *f, const int *cols, int ncols, PqfError *err)
{
	if (f->readers)
		for (int i = 0; i < f->nproj; i++)
			col_free(&f->readers[i]);
	free(f->readers);
	f->readers = NULL;
	free(f->span);
	f->span = NULL;
	f->nproj = 0;
	f->cur_rg = -1;
	if (ncols < 0)
		return pqf_fail(err, PQF_E_ARG, "a negative number of columns");
	f->readers = calloc(ncols ? ncols : 1, sizeof(PqfColReader));
	f->span = malloc(2 * sizeof(uint64_t) * (ncols ? ncols : 1));
	if (f->readers == NULL || f->span == NULL)
		return pqf_fail(err, PQF_E_NOMEM, "out of memory choosing columns");
	for (int i = 0; i < ncols; i++)
	{
		PqfColReader *c = &f->readers[i];
		const PqfColumn *col;

		if (cols[i] < 0 || cols[i] >= f->ncols)
			return pqf_fail(err, PQF_E_ARG, "no column %d", cols[i]);
		col = &f->cols[cols[i]];
		if (col->nested)
			return pqf_fail(err, PQF_E_NESTED,
							"column \"%s\" is nested (a list, map or struct) or repeated; "
							"only flat columns can be read", col->name);
		f->nproj = i + 1;
		c->col = col;
		c->leaf = f->first_leaf[cols[i]];
		c->max_def = col->optional ? 1 : 0;
		switch (col->type)
		{
			case PQF_BOOLEAN:
				c->width = 1;
				break;
			case PQF_INT32:
			case PQF_FLOAT:
				c->width = 4;
				break;
			case PQF_INT64:
			case PQF_DOUBLE:
				c->width = 8;
				break;
			case PQF_INT96:
			case PQF_FIXED_LEN_BYTE_ARRAY:
				c->width = col->type_length;
				break;
			case PQF_BYTE_ARRAY:
				c->width = 0;
				break;
		}
		c->defined = malloc(PQF_BATCH);
		c->vals = malloc(PQF_BATCH * 16);
		c->idx = malloc(PQF_BATCH * sizeof(uint32_t));
		c->tmp = malloc(PQF_BATCH * sizeof(int64_t));
		c->tmp2 = malloc(PQF_BATCH * sizeof(int64_t));
		if (!c->defined || !c->vals || !c->idx || !c->tmp || !c->tmp2)
			return pqf_fail(err, PQF_E_NOMEM, "out of memory choosing columns");
	}
	return 0;
}

/*
 * The byte range [lo, hi) of row group rg's projected chunks, when they
 * tile it or, for an input with request_bytes, when the gaps between them
 * (other columns' chunks) are at most that long; they must lie in the
 * file's data, not overlap, and span at most PQF_RG_SPAN.  Offsets are
 * checked again, chunk by chunk, when the row group is started.
 */
static bool
rg_span(const PqfFile *f, int rg, uint64_t *lo, uint64_t *hi)
{
	const PqfRowGroupMeta *g = &f->meta.rgs[rg];
	uint64_t   *starts = f->span,
			   *ends = f->span + f->nproj;
	int			n = 0;

	if (f->nproj < 1)
		return false;
	for (int i = 0; i < f->nproj; i++)
	{
		const PqfChunkMeta *cm = &g->cols[f->readers[i].leaf];
		uint64_t	start,
					end;
		int			j;

		if (!cm->has_meta || cm->file_path != NULL || cm->data_page_offset < 4 ||
			cm->total_compressed <= 0)
			return false;
		start = (uint64_t) cm->data_page_offset;
		if (cm->dictionary_page_offset >= 4 && (uint64_t) cm->dictionary_page_offset < start)
			start = (uint64_t) cm->dictionary_page_offset;
		if (start >= f->data_end || (uint64_t) cm->total_compressed > f->data_end - start)
			return false;
		end = start + (uint64_t) cm->total_compressed;
		/* insertion by start offset: linear, chunks are usually in file order */
		for (j = n; j > 0 && starts[j - 1] > start; j--)
		{
			starts[j] = starts[j - 1];
			ends[j] = ends[j - 1];
		}
		starts[j] = start;
		ends[j] = end;
		n++;
	}
	for (int i = 1; i < n; i++)
		if (starts[i] < ends[i - 1] || starts[i] - ends[i - 1] > f->in.request_bytes)
			return false;
	/* sorted and disjoint: the last chunk ends the span */
	if (ends[n - 1] - starts[0] > f->span_max)
		return false;
	*lo = starts[0];
	*hi = ends[n - 1];
	return true;
}

/*
 * Row group rg's span [lo, hi) and those of the row groups after it while
 * they continue the range, up to PQF_RG_SPAN in all: *end is where the run
 * ends, and the first row group after it is returned.
 */
static int
rg_run(const PqfFile *f, int rg, uint64_t lo, uint64_t hi, uint64_t *end)
{
	int			next;

	*end = hi;
	for (next = rg + 1; next < f->meta.nrg; next++)
	{
		uint64_t	l2,
					h2;

		if (!rg_span(f, next, &l2, &h2) || l2 < *end || l2 - *end > f->in.request_bytes ||
			h2 - lo > f->span_max)
			break;
		*end = h2;
	}
	return next;
}

/*
 * pqf_row_group
 *		Start row group rg for every projected column: validate each chunk's
 *		metadata (type, value count, offsets inside the file's data) before it
 *		is trusted, and reset the readers to the chunk's first page.  When the
 *		projected chunks tile one contiguous range (see rg_span) the range, and
 *		following row groups that extend it, is fetched in a single read into
 *		rgbuf, so a typical file costs one request per few row groups instead
 *		of one per chunk, and the input is told of the next such run, which a
 *		remote input fetches while this one is decoded.  Pages themselves are
 *		decoded lazily by pqf_read.
 */
int
pqf_row_group(PqfFile *f, int rg, PqfError *err)
{
	const PqfRowGroupMeta *g;
	uint64_t	lo,
				hi;

	if (rg < 0 || rg >= f->meta.nrg)
		return pqf_fail(err, PQF_E_ARG, "no row group %d", rg);
	g = &f->meta.rgs[rg];
	f->cur_rg = rg;
	for (int i = 0; i < f->nproj; i++)
	{
		PqfColReader *c = &f->readers[i];
		const PqfChunkMeta *cm = &g->cols[c->leaf];
		uint64_t	start;
		uint64_t	dp;

		c->rg = rg;
		c->cm = cm;
		c->has_dict = false;
		c->dict_n = 0;
		c->page_rows = 0;
		c->rows_done = 0;
		c->seen_data = false;
		c->win_valid = false;
		if (!cm->has_meta)
			return COLFAIL(c, PQF_E_CORRUPT, err, "the column chunk has no metadata");
		if (cm->file_path != NULL)
			return COLFAIL(c, PQF_E_UNSUPPORTED, err,
						   "the column chunk is in another file (\"%s\")", cm->file_path);
		if (cm->type != (int32_t) c->col->type)
			return COLFAIL(c, PQF_E_CORRUPT, err, "the chunk's type %d is not the schema's %s",
						   cm->type, pqf_type_name(c->col->type));
		if (cm->num_values != g->num_rows)
			return COLFAIL(c, PQF_E_CORRUPT, err, "the chunk has %lld values for %lld rows",
						   (long long) cm->num_values, (long long) g->num_rows);
		if (cm->data_page_offset < 4 || cm->total_compressed <= 0)
			return COLFAIL(c, PQF_E_CORRUPT, err, "the chunk's offsets are invalid");
		dp = (uint64_t) cm->data_page_offset;
		start = dp;
		/* some writers store 0 for "no dictionary" */
		if (cm->dictionary_page_offset >= 4 && (uint64_t) cm->dictionary_page_offset < dp)
			start = (uint64_t) cm->dictionary_page_offset;
		if (start >= f->data_end || (uint64_t) cm->total_compressed > f->data_end - start)
			return COLFAIL(c, PQF_E_CORRUPT, err, "the chunk lies outside the file's data");
		c->pos = start;
		c->chunk_end = start + (uint64_t) cm->total_compressed;
	}

	if (rg_span(f, rg, &lo, &hi) &&
		!(f->rg_valid && lo >= f->rg_off && hi <= f->rg_off + f->rgbuf.len))
	{
		uint64_t	end;
		uint64_t	l2,
					e2;
		int			next;
		int			rc;

		next = rg_run(f, rg, lo, hi, &end);
		f->rg_valid = false;
		f->rgbuf.len = 0;
		if (!pqf_buf_reserve(&f->rgbuf, end - lo))
			return pqf_fail(err, PQF_E_NOMEM, "out of memory reading row group %d (%llu bytes)",
							rg, (unsigned long long) (end - lo));
		if ((rc = f->in.read_at(f->in.arg, lo, f->rgbuf.data, end - lo, err)) < 0)
			return rc;
		f->rgbuf.len = end - lo;
		f->rg_off = lo;
		f->rg_valid = true;

		/* the next run downloads while this one is decoded */
		if (f->in.prefetch && next < f->meta.nrg && rg_span(f, next, &l2, &e2))
		{
			rg_run(f, next, l2, e2, &e2);
			f->in.prefetch(f->in.arg, l2, (size_t) (e2 - l2));
		}
	}
	return 0;
}

/* ---- pages ---------------------------------------------------------------- */

/* make file bytes [off, off + len) resident in the window; they lie in the chunk */
static int
col_ensure(PqfFile *f, PqfColReader *c, uint64_t off, uint64_t len,
		   const uint8_t **p, PqfError *err)
{
	uint64_t	size;
	int			rc;

	if (f->rg_valid && off >= f->rg_off && off + len <= f->rg_off + f->rgbuf.len)
	{
		*p = f->rgbuf.data + (off - f->rg_off);
		return 0;
	}
	if (c->win_valid && off >= c->win_off && off + len <= c->win_off + c->win.len)
	{
		*p = c->win.data + (off - c->win_off);
		return 0;
	}
	size = c->chunk_end - off;
	if (size > PQF_WINDOW)
		size = PQF_WINDOW;
	if (size < len)
		size = len;
	c->win.len = 0;
	c->win_valid = false;
	if (!pqf_buf_reserve(&c->win, size))
		return COLFAIL(c, PQF_E_NOMEM, err, "out of memory reading %llu bytes",
					   (unsigned long long) size);
	if ((rc = f->in.read_at(f->in.arg, off, c->win.data, size, err)) < 0)
		return rc;
	c->win.len = size;
	c->win_off = off;
	c->win_valid = true;
	*p = c->win.data;
	return 0;
}

/* decode the dictionary page's PLAIN values into dict_vals */
static int
load_dictionary(PqfColReader *c, int64_t n, PqfError *err)
{
	const uint8_t *p = c->dict_page.data;
	const uint8_t *end = p + c->dict_page.len;

	c->dict_vals.len = 0;
	if (n < 0)
		return COLFAIL(c, PQF_E_CORRUPT, err, "the dictionary has %lld values", (long long) n);
	if (c->col->type == PQF_BYTE_ARRAY)
	{
		PqfBytes   *v;

		/* every entry has a 4-byte length */
		if ((uint64_t) n > (uint64_t) (end - p) / 4)
			return COLFAIL(c, PQF_E_CORRUPT, err, "the dictionary page is too short");
		if (!pqf_buf_reserve(&c->dict_vals, (size_t) n * sizeof(PqfBytes) + 1))
			return COLFAIL(c, PQF_E_NOMEM, err, "out of memory for the dictionary");
		v = (PqfBytes *) c->dict_vals.data;
		for (int64_t i = 0; i < n; i++)
		{
			uint32_t	len;

			if (end - p < 4)
				return COLFAIL(c, PQF_E_CORRUPT, err, "the dictionary page is too short");
			len = le32(p);
			p += 4;
			if (len > (uint64_t) (end - p))
				return COLFAIL(c, PQF_E_CORRUPT, err, "the dictionary page is too short");
			v[i].ptr = p;
			v[i].len = len;
			p += len;
		}
		c->dict_vals.len = (size_t) n * sizeof(PqfBytes);
	}
	else if (c->col->type == PQF_BOOLEAN)
		return COLFAIL(c, PQF_E_CORRUPT, err, "a BOOLEAN column has a dictionary");
	else if (c->col->type == PQF_INT96 || c->col->type == PQF_FIXED_LEN_BYTE_ARRAY)
	{
		PqfBytes   *v;

		if ((uint64_t) n > (uint64_t) (end - p) / (uint64_t) c->width)
			return COLFAIL(c, PQF_E_CORRUPT, err, "the dictionary page is too short");
		if (!pqf_buf_reserve(&c->dict_vals, (size_t) n * sizeof(PqfBytes) + 1))
			return COLFAIL(c, PQF_E_NOMEM, err, "out of memory for the dictionary");
		v = (PqfBytes *) c->dict_vals.data;
		for (int64_t i = 0; i < n; i++)
		{
			v[i].ptr = p + i * c->width;
			v[i].len = (uint32_t) c->width;
		}
		c->dict_vals.len = (size_t) n * sizeof(PqfBytes);
	}
	else
	{
		if ((uint64_t) n > (uint64_t) (end - p) / (uint64_t) c->width)
			return COLFAIL(c, PQF_E_CORRUPT, err, "the dictionary page is too short");
		pqf_buf_put(&c->dict_vals, p, (size_t) n * c->width);
		if (c->dict_vals.oom)
			return COLFAIL(c, PQF_E_NOMEM, err, "out of memory for the dictionary");
	}
	c->dict_n = n;
	c->has_dict = true;
	return 0;
}

/* set up the value decoder of a data page over [p, end) */
static int
start_values(PqfColReader *c, int enc, const uint8_t *p, const uint8_t *end, PqfError *err)
{
	PqfType		t = c->col->type;

	c->enc = enc;
	c->vp = p;
	c->vend = end;
	c->bool_bit = 0;
	switch (enc)
	{
		case PQF_ENC_PLAIN:
			return 0;
		case PQF_ENC_PLAIN_DICTIONARY:
		case PQF_ENC_RLE_DICTIONARY:
			if (!c->has_dict)
				return COLFAIL(c, PQF_E_CORRUPT, err,
							   "a dictionary-encoded page comes without a dictionary page");
			if (p >= end)
			{
				/* an all-null page may carry no index bytes at all */
				pqf_rle_init(&c->rle, p, end, 0);
				return 0;
			}
			if (*p > 32)
				return COLFAIL(c, PQF_E_CORRUPT, err, "dictionary indices of %d bits", *p);
			pqf_rle_init(&c->rle, p + 1, end, *p);
			return 0;
		case PQF_ENC_RLE:
			if (t != PQF_BOOLEAN)
				break;
			if (end - p < 4 || le32(p) > (uint64_t) (end - p - 4))
				return COLFAIL(c, PQF_E_CORRUPT, err, "an RLE boolean page is too short");
			pqf_rle_init(&c->rle, p + 4, p + 4 + le32(p), 1);
			return 0;
		case PQF_ENC_DELTA_BINARY_PACKED:
			if (t != PQF_INT32 && t != PQF_INT64)
				break;
			if (pqf_delta_init(&c->delta, p, end) < 0)
				return COLFAIL(c, PQF_E_CORRUPT, err, "a DELTA_BINARY_PACKED header is invalid");
			return 0;
		case PQF_ENC_DELTA_LENGTH_BYTE_ARRAY:
			if (t != PQF_BYTE_ARRAY)
				break;
			{
				PqfDelta	skip;

				if (pqf_delta_init(&c->delta, p, end) < 0)
					return COLFAIL(c, PQF_E_CORRUPT, err, "a DELTA_LENGTH_BYTE_ARRAY header is invalid");
				skip = c->delta;
				if ((c->vp = pqf_delta_skip(&skip)) == NULL)
					return COLFAIL(c, PQF_E_CORRUPT, err, "DELTA_LENGTH_BYTE_ARRAY lengths are truncated");
				return 0;
			}
		case PQF_ENC_DELTA_BYTE_ARRAY:
			if (t != PQF_BYTE_ARRAY && t != PQF_FIXED_LEN_BYTE_ARRAY)
				break;
			{
				PqfDelta	skip;
				const uint8_t *q;

				if (pqf_delta_init(&c->delta, p, end) < 0)
					return COLFAIL(c, PQF_E_CORRUPT, err, "a DELTA_BYTE_ARRAY header is invalid");
				skip = c->delta;
				if ((q = pqf_delta_skip(&skip)) == NULL ||
					pqf_delta_init(&c->delta2, q, end) < 0)
					return COLFAIL(c, PQF_E_CORRUPT, err, "DELTA_BYTE_ARRAY prefix lengths are truncated");
				skip = c->delta2;
				if ((c->vp = pqf_delta_skip(&skip)) == NULL)
					return COLFAIL(c, PQF_E_CORRUPT, err, "DELTA_BYTE_ARRAY suffix lengths are truncated");
				c->prev.len = 0;
				return 0;
			}
		case PQF_ENC_BYTE_STREAM_SPLIT:
			if (t == PQF_BOOLEAN || t == PQF_BYTE_ARRAY || t == PQF_INT96)
				break;
			if ((uint64_t) (end - p) % (uint64_t) c->width != 0)
				return COLFAIL(c, PQF_E_CORRUPT, err, "a BYTE_STREAM_SPLIT page's size is not a multiple of %d",
							   c->width);
			c->bss_base = p;
			c->bss_n = (uint64_t) (end - p) / (uint64_t) c->width;
			c->bss_i = 0;
			return 0;
		default:
			break;
	}
	return COLFAIL(c, PQF_E_UNSUPPORTED, err, "encoding %s is not supported for %s values",
				   pqf_encoding_name(enc), pqf_type_name(t));
}

/*
 * Load the next data page (decoding a dictionary page on the way).
 * Returns 1 with a page ready, or a negative error.
 */
static int
next_page(PqfFile *f, PqfColReader *c, PqfError *err)
{
	for (;;)
	{
		PqfPageHeader h;
		const uint8_t *p;
		int64_t		hl = 0;
		uint64_t	want = 256;
		uint64_t	left;
		int			rc;
		const uint8_t *body;
		uint64_t	csize;
		uint64_t	usize;

		if (c->pos >= c->chunk_end)
			return COLFAIL(c, PQF_E_CORRUPT, err, "the column chunk ends after %lld of %lld values",
						   (long long) c->rows_done, (long long) c->cm->num_values);
		left = c->chunk_end - c->pos;
		for (;;)
		{
			if (want > left)
				want = left;
			if ((rc = col_ensure(f, c, c->pos, want, &p, err)) < 0)
				return rc;
			/* parse what the window holds, up to the chunk's end */
			hl = pqf_parse_page_header(p, (size_t) (c->win_off + c->win.len - c->pos < left ?
													c->win_off + c->win.len - c->pos : left),
									   &h, err);
			if (hl < 0)
				return COLFAIL(c, PQF_E_CORRUPT, err, "%s", err->msg);
			if (hl > 0)
				break;
			if (want >= left || want >= PQF_MAX_HEADER)
				return COLFAIL(c, PQF_E_CORRUPT, err, "a page header is truncated");
			want = c->win_off + c->win.len - c->pos;
			want *= 4;
		}
		c->pos += (uint64_t) hl;
		if (h.compressed_size < 0 || h.uncompressed_size < 0 ||
			h.compressed_size > PQF_MAX_PAGE || h.uncompressed_size > PQF_MAX_PAGE)
			return COLFAIL(c, PQF_E_CORRUPT, err, "a page has sizes %d and %d",
						   h.compressed_size, h.uncompressed_size);
		csize = (uint64_t) h.compressed_size;
		usize = (uint64_t) h.uncompressed_size;
		if (csize > c->chunk_end - c->pos)
			return COLFAIL(c, PQF_E_CORRUPT, err, "a page runs past the end of its column chunk");
		if ((rc = col_ensure(f, c, c->pos, csize, &body, err)) < 0)
			return rc;
		c->pos += csize;

		if (h.type == PQF_PAGE_DICTIONARY)
		{
			if (c->has_dict || c->seen_data)
				return COLFAIL(c, PQF_E_CORRUPT, err, "a dictionary page comes after the first");
			if (!h.has_data)
				return COLFAIL(c, PQF_E_CORRUPT, err, "a dictionary page lacks its header");
			if (h.encoding != PQF_ENC_PLAIN && h.encoding != PQF_ENC_PLAIN_DICTIONARY)
				return COLFAIL(c, PQF_E_UNSUPPORTED, err, "a dictionary page encoded %s",
							   pqf_encoding_name(h.encoding));
			if ((rc = pqf_decompress(c->cm->codec, body, csize, &c->dict_page, usize, err)) < 0)
				return COLFAIL(c, rc, err, "%s", err->msg);
			if ((rc = load_dictionary(c, h.num_values, err)) < 0)
				return rc;
			continue;
		}
		if (h.type != PQF_PAGE_DATA && h.type != PQF_PAGE_DATA_V2)
			continue;			/* index pages and pages of kinds to come */
		if (!h.has_data)
			return COLFAIL(c, PQF_E_CORRUPT, err, "a data page lacks its header");
		c->seen_data = true;
		if (h.num_values < 0 || h.num_values > c->cm->num_values - c->rows_done)
			return COLFAIL(c, PQF_E_CORRUPT, err, "a page has %d values, more than the chunk has left",
						   h.num_values);
		if (h.num_values == 0)
			continue;

		if (h.type == PQF_PAGE_DATA)
		{
			const uint8_t *d;
			const uint8_t *e;

			if (c->cm->codec == PQF_UNCOMPRESSED)
			{
				if (csize != usize)
					return COLFAIL(c, PQF_E_CORRUPT, err, "an uncompressed page's sizes differ");
				d = body;
			}
			else
			{
				if ((rc = pqf_decompress(c->cm->codec, body, csize, &c->page, usize, err)) < 0)
					return COLFAIL(c, rc, err, "%s", err->msg);
				/* an empty page allocates nothing */
				d = c->page.data ? c->page.data : (const uint8_t *) "";
			}
			e = d + usize;
			if (c->max_def > 0)
			{
				uint32_t	len;

				if (h.def_encoding != PQF_ENC_RLE)
					return COLFAIL(c, PQF_E_UNSUPPORTED, err,
								   "definition levels encoded %s are not supported",
								   pqf_encoding_name(h.def_encoding));
				if (e - d < 4 || (len = le32(d)) > (uint64_t) (e - d - 4))
					return COLFAIL(c, PQF_E_CORRUPT, err, "a page's definition levels are truncated");
				pqf_rle_init(&c->defs, d + 4, d + 4 + len, 1);
				d += 4 + len;
			}
			if ((rc = start_values(c, h.encoding, d, e, err)) < 0)
				return rc;
		}
		else
		{
			const uint8_t *d;
			uint64_t	levels;

			if (h.def_len < 0 || h.rep_len < 0 ||
				(uint64_t) h.def_len + (uint64_t) h.rep_len > csize ||
				(uint64_t) h.def_len + (uint64_t) h.rep_len > usize)
				return COLFAIL(c, PQF_E_CORRUPT, err, "a v2 page's level lengths do not fit");
			if (h.num_nulls < 0 || h.num_nulls > h.num_values ||
				(c->max_def == 0 && h.num_nulls > 0))
				return COLFAIL(c, PQF_E_CORRUPT, err, "a v2 page has %d nulls", h.num_nulls);
			levels = (uint64_t) h.def_len + (uint64_t) h.rep_len;
			/* repetition levels (none in a flat column) come first */
			if (c->max_def > 0)
				pqf_rle_init(&c->defs, body + h.rep_len, body + levels, 1);
			if (c->cm->codec == PQF_UNCOMPRESSED || !h.is_compressed)
			{
				if (csize != usize)
					return COLFAIL(c, PQF_E_CORRUPT, err, "an uncompressed page's sizes differ");
				d = body + levels;
			}
			else
			{
				if ((rc = pqf_decompress(c->cm->codec, body + levels, csize - levels, &c->page,
										 usize - levels, err)) < 0)
					return COLFAIL(c, rc, err, "%s", err->msg);
				d = c->page.data ? c->page.data : (const uint8_t *) "";
			}
			if ((rc = start_values(c, h.encoding, d, d + (usize - levels), err)) < 0)
				return rc;
		}
		c->page_rows = h.num_values;
		return 1;
	}
}

/* ---- values ------------------------------------------------------------------ */

static int
short_values(PqfColReader *c, PqfError *err)
{
	return COLFAIL(c, PQF_E_CORRUPT, err, "a page's values end before its rows do");
}

static int
decode_plain(PqfColReader *c, int64_t k, PqfError *err)
{
	uint64_t	avail = (uint64_t) (c->vend - c->vp);

	switch (c->col->type)
	{
		case PQF_BOOLEAN:
			if ((c->bool_bit + (uint64_t) k + 7) / 8 > avail)
				return short_values(c, err);
			for (int64_t i = 0; i < k; i++)
			{
				uint64_t	b = c->bool_bit + (uint64_t) i;

				c->vals[i] = (c->vp[b >> 3] >> (b & 7)) & 1;
			}
			c->bool_bit += (uint64_t) k;
			/* whole bytes consumed move the pointer, the rest stays in bool_bit */
			c->vp += c->bool_bit >> 3;
			c->bool_bit &= 7;
			return 0;
		case PQF_INT32:
		case PQF_FLOAT:
		case PQF_INT64:
		case PQF_DOUBLE:
			if ((uint64_t) k * c->width > avail)
				return short_values(c, err);
			memcpy(c->vals, c->vp, (size_t) k * c->width);
			c->vp += k * c->width;
			return 0;
		case PQF_INT96:
		case PQF_FIXED_LEN_BYTE_ARRAY:
			{
				PqfBytes   *v = (PqfBytes *) c->vals;

				if ((uint64_t) k * c->width > avail)
					return short_values(c, err);
				for (int64_t i = 0; i < k; i++)
				{
					v[i].ptr = c->vp;
					v[i].len = (uint32_t) c->width;
					c->vp += c->width;
				}
				return 0;
			}
		case PQF_BYTE_ARRAY:
			{
				PqfBytes   *v = (PqfBytes *) c->vals;

				for (int64_t i = 0; i < k; i++)
				{
					uint32_t	len;

					if (c->vend - c->vp < 4)
						return short_values(c, err);
					len = le32(c->vp);
					c->vp += 4;
					if (len > (uint64_t) (c->vend - c->vp))
						return short_values(c, err);
					v[i].ptr = c->vp;
					v[i].len = len;
					c->vp += len;
				}
				return 0;
			}
	}
	return short_values(c, err);
}

static int
decode_dict(PqfColReader *c, int64_t k, PqfError *err)
{
	size_t		esize = (c->col->type == PQF_BYTE_ARRAY || c->width > 8 ||
						 c->col->type == PQF_FIXED_LEN_BYTE_ARRAY) ? sizeof(PqfBytes) : (size_t) c->width;

	if (pqf_rle_u32(&c->rle, c->idx, k) != k)
		return short_values(c, err);
	for (int64_t i = 0; i < k; i++)
		if (c->idx[i] >= (uint64_t) c->dict_n)
			return COLFAIL(c, PQF_E_CORRUPT, err, "dictionary index %u is past the %lld entries",
						   c->idx[i], (long long) c->dict_n);
	if (esize == 4)
	{
		const uint32_t *d = (const uint32_t *) c->dict_vals.data;
		uint32_t   *o = (uint32_t *) c->vals;

		for (int64_t i = 0; i < k; i++)
			o[i] = d[c->idx[i]];
	}
	else if (esize == 8)
	{
		const uint64_t *d = (const uint64_t *) c->dict_vals.data;
		uint64_t   *o = (uint64_t *) c->vals;

		for (int64_t i = 0; i < k; i++)
			o[i] = d[c->idx[i]];
	}
	else
	{
		const PqfBytes *d = (const PqfBytes *) c->dict_vals.data;
		PqfBytes   *o = (PqfBytes *) c->vals;

		for (int64_t i = 0; i < k; i++)
			o[i] = d[c->idx[i]];
	}
	return 0;
}

static int
decode_delta_bytes(PqfColReader *c, int64_t k, PqfError *err)
{
	PqfBytes   *v = (PqfBytes *) c->vals;
	bool		prefixed = c->enc == PQF_ENC_DELTA_BYTE_ARRAY;
	PqfDelta   *lens = prefixed ? &c->delta2 : &c->delta;

	if (pqf_delta_get(lens, c->tmp, k) != k)
		return short_values(c, err);
	if (prefixed && pqf_delta_get(&c->delta, c->tmp2, k) != k)
		return short_values(c, err);
	if (!prefixed)
	{
		for (int64_t i = 0; i < k; i++)
		{
			int64_t		len = c->tmp[i];

			if (len < 0 || (uint64_t) len > (uint64_t) (c->vend - c->vp))
				return short_values(c, err);
			v[i].ptr = c->vp;
			v[i].len = (uint32_t) len;
			c->vp += len;
		}
		return 0;
	}
	/* DELTA_BYTE_ARRAY: each value is a prefix of the previous one plus a suffix */
	c->arena.len = 0;
	for (int64_t i = 0; i < k; i++)
	{
		int64_t		suf = c->tmp[i];
		int64_t		pre = c->tmp2[i];
		size_t		start = c->arena.len;

		if (suf < 0 || (uint64_t) suf > (uint64_t) (c->vend - c->vp) ||
			pre < 0 || (uint64_t) pre > c->prev.len)
			return short_values(c, err);
		if (c->arena.len + (uint64_t) pre + (uint64_t) suf > PQF_MAX_PAGE)
			return COLFAIL(c, PQF_E_NOMEM, err, "DELTA_BYTE_ARRAY values exceed %d bytes in a batch",
						   PQF_MAX_PAGE);
		pqf_buf_put(&c->arena, c->prev.data, (size_t) pre);
		pqf_buf_put(&c->arena, c->vp, (size_t) suf);
		if (c->arena.oom)
			return COLFAIL(c, PQF_E_NOMEM, err, "out of memory decoding DELTA_BYTE_ARRAY");
		c->vp += suf;
		v[i].len = (uint32_t) (pre + suf);
		v[i].ptr = (const uint8_t *) (uintptr_t) start;	/* an offset until the end */
		if (c->width > 0 && v[i].len != (uint32_t) c->width)
			return COLFAIL(c, PQF_E_CORRUPT, err, "a value of %u bytes in a FIXED_LEN_BYTE_ARRAY(%d)",
						   v[i].len, c->width);
		c->prev.len = 0;
		pqf_buf_put(&c->prev, c->arena.data + start, v[i].len);
		if (c->prev.oom)
			return COLFAIL(c, PQF_E_NOMEM, err, "out of memory decoding DELTA_BYTE_ARRAY");
	}
	for (int64_t i = 0; i < k; i++)
		v[i].ptr = c->arena.data + (uintptr_t) v[i].ptr;
	return 0;
}

static int
decode_bss(PqfColReader *c, int64_t k, PqfError *err)
{
	int			w = c->width;
	uint64_t	n = c->bss_n;

	if ((uint64_t) k > n - c->bss_i)
		return short_values(c, err);
	if (c->col->type == PQF_FIXED_LEN_BYTE_ARRAY)
	{
		PqfBytes   *v = (PqfBytes *) c->vals;

		c->arena.len = 0;
		if (!pqf_buf_reserve(&c->arena, (size_t) k * w + 1))
			return COLFAIL(c, PQF_E_NOMEM, err, "out of memory decoding BYTE_STREAM_SPLIT");
		for (int64_t i = 0; i < k; i++)
		{
			uint8_t    *o = c->arena.data + i * w;

			for (int j = 0; j < w; j++)
				o[j] = c->bss_base[(uint64_t) j * n + c->bss_i + i];
			v[i].ptr = o;
			v[i].len = (uint32_t) w;
		}
	}
	else
	{
		for (int64_t i = 0; i < k; i++)
			for (int j = 0; j < w; j++)
				c->vals[i * w + j] = c->bss_base[(uint64_t) j * n + c->bss_i + i];
	}
	c->bss_i += (uint64_t) k;
	return 0;
}

static int
decode_values(PqfColReader *c, int64_t k, PqfError *err)
{
	switch (c->enc)
	{
		case PQF_ENC_PLAIN:
			return decode_plain(c, k, err);
		case PQF_ENC_PLAIN_DICTIONARY:
		case PQF_ENC_RLE_DICTIONARY:
			return decode_dict(c, k, err);
		case PQF_ENC_RLE:
			if (pqf_rle_u8(&c->rle, c->vals, k) != k)
				return short_values(c, err);
			return 0;
		case PQF_ENC_DELTA_BINARY_PACKED:
			if (pqf_delta_get(&c->delta, c->tmp, k) != k)
				return short_values(c, err);
			if (c->col->type == PQF_INT64)
				memcpy(c->vals, c->tmp, (size_t) k * 8);
			else
			{
				int32_t    *o = (int32_t *) c->vals;

				for (int64_t i = 0; i < k; i++)
					o[i] = (int32_t) (uint32_t) (uint64_t) c->tmp[i];
			}
			return 0;
		case PQF_ENC_DELTA_LENGTH_BYTE_ARRAY:
		case PQF_ENC_DELTA_BYTE_ARRAY:
			return decode_delta_bytes(c, k, err);
		case PQF_ENC_BYTE_STREAM_SPLIT:
			return decode_bss(c, k, err);
	}
	return short_values(c, err);
}

/*
 * pqf_read
 *		Decode up to max (at most PQF_BATCH) rows of projected column k of the
 *		current row group, from a single page, reading the next page when the
 *		current one is used up.  Values are returned dense with a defined[] map
 *		for optional columns; they point into the reader's buffers and stay
 *		valid only until the next call for the same column, which is why the
 *		glue converts a batch before asking for another.  Returns 0 at the end
 *		of the chunk; a definition level above 1 is corruption, since only flat
 *		columns are projected.
 */
int64_t
pqf_read(PqfFile *f, int k, int64_t max, PqfBatch *out, PqfError *err)
{
	PqfColReader *c;
	int64_t		n;
	int64_t		nvals;
	int			rc;

	memset(out, 0, sizeof(*out));
	if (k < 0 || k >= f->nproj)
		return pqf_fail(err, PQF_E_ARG, "no projected column %d", k);
	if (f->cur_rg < 0)
		return pqf_fail(err, PQF_E_ARG, "no row group was started");
	c = &f->readers[k];
	if (max <= 0)
		return pqf_fail(err, PQF_E_ARG, "a batch of %lld rows", (long long) max);
	if (max > PQF_BATCH)
		max = PQF_BATCH;
	while (c->page_rows == 0)
	{
		if (c->rows_done >= c->cm->num_values)
			return 0;
		if ((rc = next_page(f, c, err)) < 0)
			return rc;
	}
	n = c->page_rows < max ? c->page_rows : max;
	nvals = n;
	if (c->max_def > 0)
	{
		if (pqf_rle_u8(&c->defs, c->defined, n) != n)
			return COLFAIL(c, PQF_E_CORRUPT, err, "a page's definition levels end before its rows");
		nvals = 0;
		for (int64_t i = 0; i < n; i++)
		{
			if (c->defined[i] > 1)
				return COLFAIL(c, PQF_E_CORRUPT, err, "definition level %d in a flat column",
							   c->defined[i]);
			nvals += c->defined[i];
		}
		out->defined = c->defined;
	}
	if (nvals > 0 && (rc = decode_values(c, nvals, err)) < 0)
		return rc;
	c->page_rows -= n;
	c->rows_done += n;
	out->nrows = n;
	out->nvalues = nvals;
	out->v.b = c->vals;
	return n;
}
