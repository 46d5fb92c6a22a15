/*-------------------------------------------------------------------------
 *
 * src/connectors/formats/pq_internal.h
 *		Declarations shared by the pure-C Parquet files (pq_*.c).
 *
 * Not for the glue: parquet.h is the interface.  The metadata structs hold
 * only the Thrift fields the reader and writer use; everything else is
 * skipped by the compact-protocol reader.
 *
 *-------------------------------------------------------------------------
 */
#ifndef METAETL_PQ_INTERNAL_H
#define METAETL_PQ_INTERNAL_H

#include <stdarg.h>

#include "connectors/formats/parquet.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the Parquet reader and writer assume a little-endian host"
#endif

/* limits that keep hostile files from asking for unbounded memory */
#define PQF_MAX_FOOTER		(64 * 1024 * 1024)	/* FileMetaData bytes */
#define PQF_MAX_PAGE		(256 * 1024 * 1024) /* one page, either size */
#define PQF_MAX_HEADER		(16 * 1024 * 1024)	/* one PageHeader */
#define PQF_MAX_DEPTH		32	/* Thrift struct nesting */
#define PQF_BATCH			8192	/* rows per pqf_read at most */
#define PQF_WINDOW			(8 * 1024 * 1024)	/* column-chunk read-ahead */

/* Parquet enums used by number */
enum
{
	PQF_ENC_PLAIN = 0,
	PQF_ENC_PLAIN_DICTIONARY = 2,
	PQF_ENC_RLE = 3,
	PQF_ENC_BIT_PACKED = 4,
	PQF_ENC_DELTA_BINARY_PACKED = 5,
	PQF_ENC_DELTA_LENGTH_BYTE_ARRAY = 6,
	PQF_ENC_DELTA_BYTE_ARRAY = 7,
	PQF_ENC_RLE_DICTIONARY = 8,
	PQF_ENC_BYTE_STREAM_SPLIT = 9
};

enum
{
	PQF_PAGE_DATA = 0,
	PQF_PAGE_INDEX = 1,
	PQF_PAGE_DICTIONARY = 2,
	PQF_PAGE_DATA_V2 = 3
};

enum
{
	PQF_REP_REQUIRED = 0,
	PQF_REP_OPTIONAL = 1,
	PQF_REP_REPEATED = 2
};

/* ConvertedType */
enum
{
	PQF_CT_UTF8 = 0, PQF_CT_MAP = 1, PQF_CT_MAP_KEY_VALUE = 2, PQF_CT_LIST = 3,
	PQF_CT_ENUM = 4, PQF_CT_DECIMAL = 5, PQF_CT_DATE = 6, PQF_CT_TIME_MILLIS = 7,
	PQF_CT_TIME_MICROS = 8, PQF_CT_TIMESTAMP_MILLIS = 9, PQF_CT_TIMESTAMP_MICROS = 10,
	PQF_CT_UINT_8 = 11, PQF_CT_UINT_16 = 12, PQF_CT_UINT_32 = 13, PQF_CT_UINT_64 = 14,
	PQF_CT_INT_8 = 15, PQF_CT_INT_16 = 16, PQF_CT_INT_32 = 17, PQF_CT_INT_64 = 18,
	PQF_CT_JSON = 19, PQF_CT_BSON = 20, PQF_CT_INTERVAL = 21
};

/* ---- metadata -------------------------------------------------------- */

typedef struct PqfStats
{
	bool		has_min;
	bool		has_max;
	bool		has_null_count;
	const uint8_t *min;
	const uint8_t *max;
	uint32_t	min_len;
	uint32_t	max_len;
	int64_t		null_count;
} PqfStats;

typedef struct PqfSchemaElem
{
	char	   *name;
	int32_t		type;			/* -1 for a group */
	int32_t		type_length;
	int32_t		repetition;		/* -1 when absent (the root) */
	int32_t		num_children;
	int32_t		converted;		/* -1 when absent */
	int32_t		scale;
	int32_t		precision;
	/* LogicalType, already reduced */
	bool		has_logical;
	PqfLogical	logical;
	PqfTimeUnit unit;
	bool		utc;
	int32_t		lt_scale;
	int32_t		lt_precision;
	int32_t		bit_width;
	bool		is_signed;
	bool		logical_nested; /* LIST or MAP logical type */
} PqfSchemaElem;

typedef struct PqfChunkMeta
{
	bool		has_meta;
	int32_t		type;
	int32_t		codec;
	int64_t		num_values;
	int64_t		total_uncompressed;
	int64_t		total_compressed;
	int64_t		data_page_offset;
	int64_t		dictionary_page_offset; /* -1 when absent */
	char	   *file_path;		/* set: the chunk lives in another file */
	PqfStats	stats;
} PqfChunkMeta;

typedef struct PqfRowGroupMeta
{
	int64_t		num_rows;
	int			ncols;
	PqfChunkMeta *cols;
} PqfRowGroupMeta;

typedef struct PqfFileMeta
{
	int32_t		version;
	int			nschema;
	PqfSchemaElem *schema;
	int64_t		num_rows;
	int			nrg;
	PqfRowGroupMeta *rgs;
	char	   *created_by;
} PqfFileMeta;

typedef struct PqfPageHeader
{
	int32_t		type;
	int32_t		uncompressed_size;
	int32_t		compressed_size;
	int32_t		num_values;
	int32_t		encoding;
	int32_t		def_encoding;
	/* v2 */
	int32_t		num_nulls;
	int32_t		num_rows;
	int32_t		def_len;
	int32_t		rep_len;
	bool		is_compressed;
	bool		has_data;		/* the header for its type was present */
} PqfPageHeader;

/* ---- errors and buffers (pq_encoding.c) ---------------------------- */

extern int	pqf_fail(PqfError *err, int code, const char *fmt,...)
			__attribute__((format(printf, 3, 4)));

/* a growable byte buffer; on allocation failure oom is set and writes stop */
typedef struct PqfBuf
{
	uint8_t    *data;
	size_t		len;
	size_t		cap;
	bool		oom;
} PqfBuf;

extern bool pqf_buf_reserve(PqfBuf *b, size_t extra);
extern void pqf_buf_put(PqfBuf *b, const void *p, size_t n);
extern void pqf_buf_free(PqfBuf *b);
extern void pqf_buf_uleb(PqfBuf *b, uint64_t v);

/* ---- Thrift compact protocol (pq_thrift.c) ------------------------- */

extern int	pqf_parse_footer(const uint8_t *p, size_t len, PqfFileMeta *m, PqfError *err);
extern void pqf_free_meta(PqfFileMeta *m);

/*
 * Parse a PageHeader from p[0..len).  Returns the header's size (> 0), 0
 * when len was too short to hold it all (read more and retry), or a
 * negative error.
 */
extern int64_t pqf_parse_page_header(const uint8_t *p, size_t len, PqfPageHeader *h,
									 PqfError *err);

/* writing: a compact-protocol encoder over a PqfBuf */
typedef struct PqfTOut
{
	PqfBuf	   *b;
	int16_t		last[PQF_MAX_DEPTH];
	int			depth;
} PqfTOut;

extern void pqft_begin(PqfTOut *o, PqfBuf *b);
extern void pqft_field(PqfTOut *o, int16_t id, int type);
extern void pqft_i32(PqfTOut *o, int16_t id, int32_t v);
extern void pqft_i64(PqfTOut *o, int16_t id, int64_t v);
extern void pqft_bool(PqfTOut *o, int16_t id, bool v);
extern void pqft_binary(PqfTOut *o, int16_t id, const void *p, size_t n);
extern void pqft_struct_begin(PqfTOut *o, int16_t id);
extern void pqft_struct_end(PqfTOut *o);
extern void pqft_list_begin(PqfTOut *o, int16_t id, int elem_type, int64_t n);
/* a struct as a list element */
extern void pqft_elem_struct_begin(PqfTOut *o);
extern void pqft_stop(PqfTOut *o);

/* compact type codes */
enum
{
	PQFT_STOP = 0, PQFT_TRUE = 1, PQFT_FALSE = 2, PQFT_BYTE = 3, PQFT_I16 = 4,
	PQFT_I32 = 5, PQFT_I64 = 6, PQFT_DOUBLE = 7, PQFT_BINARY = 8, PQFT_LIST = 9,
	PQFT_SET = 10, PQFT_MAP = 11, PQFT_STRUCT = 12
};

/* ---- encodings (pq_encoding.c) ------------------------------------- */

/* the RLE / bit-packed hybrid, for levels, dictionary indices, booleans */
typedef struct PqfRle
{
	const uint8_t *p;
	const uint8_t *end;
	int			bw;
	uint32_t	rle_left;
	uint32_t	rle_val;
	uint32_t	bp_left;		/* values left in the bit-packed run */
	const uint8_t *bp;			/* its bytes */
	uint64_t	bp_bit;			/* next bit in it */
	uint64_t	bp_bits;		/* bits it holds */
} PqfRle;

extern void pqf_rle_init(PqfRle *d, const uint8_t *p, const uint8_t *end, int bw);
/* decode up to n values; returns how many (fewer: the data ended) */
extern int64_t pqf_rle_u32(PqfRle *d, uint32_t *out, int64_t n);
extern int64_t pqf_rle_u8(PqfRle *d, uint8_t *out, int64_t n);

/* DELTA_BINARY_PACKED */
typedef struct PqfDelta
{
	const uint8_t *p;
	const uint8_t *end;
	uint64_t	block_size;
	uint64_t	nmini;
	uint64_t	per_mini;
	uint64_t	total;			/* values still to return */
	bool		first_pending;
	uint64_t	last;
	uint64_t	min_delta;
	uint8_t		widths[256];
	uint64_t	mini;			/* current miniblock index in the block */
	uint64_t	in_mini;		/* values left in the current miniblock */
	const uint8_t *mp;			/* current miniblock's bytes */
	uint64_t	mbit;
	const uint8_t *mend;		/* end of the last miniblock entered */
	bool		corrupt;
} PqfDelta;

extern int	pqf_delta_init(PqfDelta *d, const uint8_t *p, const uint8_t *end);
extern int64_t pqf_delta_get(PqfDelta *d, int64_t *out, int64_t n);
/* skip every remaining value; returns the end of the stream or NULL */
extern const uint8_t *pqf_delta_skip(PqfDelta *d);

/* encoders */
extern void pqf_rle_encode(PqfBuf *b, const uint32_t *v, int64_t n, int bw);
extern void pqf_rle_encode_u8(PqfBuf *b, const uint8_t *v, int64_t n, int bw);
extern int	pqf_bit_width(uint64_t max);

/* ---- codecs (pq_encoding.c) ---------------------------------------- */

/*
 * Decompress src into *dst (grown as needed, at most want bytes); the
 * result must be exactly want bytes.
 */
extern int	pqf_decompress(int codec, const uint8_t *src, size_t srclen,
						   PqfBuf *dst, size_t want, PqfError *err);
extern int	pqf_compress(int codec, int level, const uint8_t *src, size_t srclen,
						 PqfBuf *dst, PqfError *err);

#endif							/* METAETL_PQ_INTERNAL_H */
