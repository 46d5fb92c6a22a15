/*-------------------------------------------------------------------------
 *
 * src/connectors/formats/parquet.h
 *		A Parquet reader and writer in pure C (no PostgreSQL headers).
 *
 * Debian 12 packages no Parquet library, so metaetl carries its own for
 * flat schemas: Thrift compact metadata (pq_thrift.c), the value and level
 * encodings and the codecs (pq_encoding.c), a reader over a random-access
 * input (pq_read.c) and a writer to a sequential output (pq_write.c).  The
 * PostgreSQL glue is parquet_pg.c; the C unit tests and the fuzzer use this
 * header alone.
 *
 * Errors are returned, never thrown: every function that can fail returns
 * a negative PqfErrorCode and fills a PqfError with a message naming the
 * column where there is one.  Nothing here calls longjmp, so a caller may
 * longjmp through these functions (PostgreSQL's ereport from an input
 * callback) as long as it frees the reader or writer afterwards, e.g. from
 * a memory-context reset callback.  Memory comes from malloc; every size
 * read from a file is checked against the bytes that back it before it is
 * used to allocate.
 *
 *-------------------------------------------------------------------------
 */
#ifndef METAETL_PARQUET_H
#define METAETL_PARQUET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum PqfErrorCode
{
	PQF_OK = 0,
	PQF_E_IO = -1,				/* the input or output callback failed */
	PQF_E_CORRUPT = -2,			/* not Parquet, truncated or inconsistent */
	PQF_E_UNSUPPORTED = -3,		/* valid Parquet this library does not read */
	PQF_E_NESTED = -4,			/* a nested or repeated column was asked for */
	PQF_E_NOMEM = -5,			/* malloc failed or a size limit was hit */
	PQF_E_ARG = -6				/* the caller passed something invalid */
} PqfErrorCode;

typedef struct PqfError
{
	int			code;
	char		msg[256];
} PqfError;

/* physical types: the values are Parquet's own Type enum */
typedef enum PqfType
{
	PQF_BOOLEAN = 0,
	PQF_INT32 = 1,
	PQF_INT64 = 2,
	PQF_INT96 = 3,
	PQF_FLOAT = 4,
	PQF_DOUBLE = 5,
	PQF_BYTE_ARRAY = 6,
	PQF_FIXED_LEN_BYTE_ARRAY = 7
} PqfType;

/*
 * Logical types, from the LogicalType union when a file has it, otherwise
 * from the legacy ConvertedType.
 */
typedef enum PqfLogical
{
	PQF_LT_NONE = 0,
	PQF_LT_STRING,
	PQF_LT_ENUM,
	PQF_LT_JSON,
	PQF_LT_BSON,
	PQF_LT_UUID,
	PQF_LT_DATE,
	PQF_LT_TIME,
	PQF_LT_TIMESTAMP,
	PQF_LT_DECIMAL,
	PQF_LT_INT,
	PQF_LT_FLOAT16,
	PQF_LT_INTERVAL,
	PQF_LT_NULL,				/* LogicalType UNKNOWN: always null */
	PQF_LT_OTHER				/* a logical type this library does not know */
} PqfLogical;

typedef enum PqfTimeUnit
{
	PQF_MILLIS = 0,
	PQF_MICROS = 1,
	PQF_NANOS = 2
} PqfTimeUnit;

typedef enum PqfCodec
{
	PQF_UNCOMPRESSED = 0,
	PQF_SNAPPY = 1,
	PQF_GZIP = 2,
	PQF_ZSTD = 6
} PqfCodec;

/*
 * One top-level field of a file's schema (reading), or one column to write.
 * A nested field (a group: LIST, MAP, struct) or a REPEATED field has
 * nested = true and cannot be read; its name is still reported.
 */
typedef struct PqfColumn
{
	const char *name;
	PqfType		type;
	int32_t		type_length;	/* FIXED_LEN_BYTE_ARRAY only */
	bool		optional;		/* false: REQUIRED, no NULLs */
	bool		nested;
	PqfLogical	logical;
	PqfTimeUnit unit;			/* TIME, TIMESTAMP */
	bool		utc;			/* TIME, TIMESTAMP: isAdjustedToUTC */
	int32_t		precision;		/* DECIMAL */
	int32_t		scale;			/* DECIMAL */
	int32_t		bit_width;		/* INT: 8, 16, 32, 64 */
	bool		is_signed;		/* INT */
} PqfColumn;

/* a byte string: BYTE_ARRAY, FIXED_LEN_BYTE_ARRAY and INT96 values */
typedef struct PqfBytes
{
	const uint8_t *ptr;
	uint32_t	len;
} PqfBytes;

/*
 * A run of rows of one column, all from one page.  Values are dense: there
 * are nvalues of them, one per row whose defined[] entry is 1 (defined is
 * NULL when every row has a value).  Pointers stay valid until the next
 * pqf_read of the same column, or pqf_close.
 */
typedef struct PqfBatch
{
	int64_t		nrows;
	int64_t		nvalues;
	const uint8_t *defined;
	union
	{
		const uint8_t *b;		/* BOOLEAN: 0 or 1 */
		const int32_t *i32;
		const int64_t *i64;
		const float *f32;
		const double *f64;
		const PqfBytes *bytes;	/* BYTE_ARRAY, FIXED_LEN_BYTE_ARRAY, INT96 */
	}			v;
} PqfBatch;

/* ---- reading -------------------------------------------------------- */

/*
 * The input: read_at must fill buf with exactly len bytes from offset (the
 * reader never asks past size) or return a negative code with err filled.
 * prefetch (optional, may be NULL) is told of a read_at of exactly that
 * range that will follow (the next row groups' chunks), so a remote input
 * can fetch it while the current ones are decoded; it cannot fail.
 * request_bytes (optional, 0: off) is what one read costs in bytes of
 * transfer, for inputs where a request costs more than the bytes it carries
 * (object stores): projected chunks separated by at most that many bytes of
 * other columns are then read together, gap included, instead of one read
 * per chunk.  With 0 only projected chunks' bytes are ever read.
 */
typedef struct PqfInput
{
	int			(*read_at) (void *arg, uint64_t offset, void *buf, size_t len, PqfError *err);
	uint64_t	size;
	void	   *arg;
	void		(*prefetch) (void *arg, uint64_t offset, size_t len);
	uint64_t	request_bytes;
} PqfInput;

typedef struct PqfFile PqfFile;

/* in pq_read.c */
extern int	pqf_open(PqfFile **out, const PqfInput *in, PqfError *err);
extern void pqf_close(PqfFile *f);
extern int	pqf_ncolumns(const PqfFile *f);
extern const PqfColumn *pqf_column(const PqfFile *f, int i);
extern int	pqf_find_column(const PqfFile *f, const char *name);
extern int64_t pqf_num_rows(const PqfFile *f);
extern int	pqf_num_row_groups(const PqfFile *f);
extern int64_t pqf_row_group_rows(const PqfFile *f, int rg);
extern const char *pqf_created_by(const PqfFile *f);

/*
 * Choose the columns to decode (indexes into pqf_column), in the order the
 * caller will name them to pqf_read; the pages of other columns are never
 * fetched.  Fails with PQF_E_NESTED naming the first nested column asked.
 */
extern int	pqf_project(PqfFile *f, const int *cols, int ncols, PqfError *err);

/* Start row group rg for the projected columns: reads their chunks lazily. */
extern int	pqf_row_group(PqfFile *f, int rg, PqfError *err);

/*
 * Decode up to max rows of projected column k (0-based, in pqf_project
 * order) of the current row group.  Returns the number of rows (> 0), 0 at
 * the end of the row group, or a negative error code.
 */
extern int64_t pqf_read(PqfFile *f, int k, int64_t max, PqfBatch *out, PqfError *err);

/* ---- writing -------------------------------------------------------- */

typedef struct PqfOutput
{
	int			(*write) (void *arg, const void *buf, size_t len, PqfError *err);
	void	   *arg;
} PqfOutput;

typedef struct PqfWriteOptions
{
	PqfCodec	codec;			/* default PQF_SNAPPY */
	int			level;			/* gzip/zstd level; 0 = the library default */
	int64_t		row_group_rows; /* default 122880 */
	int64_t		page_bytes;		/* target page size before compression; default 1 MiB */
	int64_t		dictionary_bytes;	/* strings: give up dictionary encoding past this */
	bool		page_v2;		/* data pages v2 (booleans RLE); default v1 */
	const char *created_by;
} PqfWriteOptions;

typedef struct PqfWriter PqfWriter;

/* in pq_write.c */
extern void pqf_write_defaults(PqfWriteOptions *opt);
extern int	pqf_writer_open(PqfWriter **out, const PqfOutput *o, const PqfColumn *cols,
							int ncols, const PqfWriteOptions *opt, PqfError *err);

/*
 * Append one value to column c of the current row; every column gets
 * exactly one call per row, then pqf_end_row.  Errors (out of memory, a
 * value of the wrong size) are kept and returned by pqf_end_row.
 */
extern void pqf_put_null(PqfWriter *w, int c);
extern void pqf_put_bool(PqfWriter *w, int c, bool v);
extern void pqf_put_i32(PqfWriter *w, int c, int32_t v);
extern void pqf_put_i64(PqfWriter *w, int c, int64_t v);
extern void pqf_put_float(PqfWriter *w, int c, float v);
extern void pqf_put_double(PqfWriter *w, int c, double v);
extern void pqf_put_bytes(PqfWriter *w, int c, const void *p, size_t len);
extern int	pqf_end_row(PqfWriter *w, PqfError *err);
/* flush the last row group and write the footer */
extern int	pqf_writer_finish(PqfWriter *w, PqfError *err);
extern void pqf_writer_free(PqfWriter *w);
extern int64_t pqf_writer_rows(const PqfWriter *w);

/* ---- helpers shared with the glue ---------------------------------- */

/* in pq_encoding.c */
extern const char *pqf_type_name(PqfType t);
extern const char *pqf_codec_name(int codec);
extern const char *pqf_encoding_name(int enc);

#endif							/* METAETL_PARQUET_H */
