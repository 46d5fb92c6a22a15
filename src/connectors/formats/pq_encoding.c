/*-------------------------------------------------------------------------
 *
 * src/connectors/formats/pq_encoding.c
 *		Parquet's level and value encodings and its page codecs: the RLE /
 *		bit-packed hybrid (decode and encode), DELTA_BINARY_PACKED (decode),
 *		snappy, gzip and zstd; plus the error and buffer helpers the other
 *		pq_*.c files share.
 *
 * Decoders are incremental (a cursor over a page's bytes, asked for n
 * values at a time), so a page that claims millions of values costs memory
 * in proportion to the batch, not to the claim.  Decompression grows its
 * output only as the codec produces bytes, so a header that lies about the
 * uncompressed size cannot make us allocate it.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

#include "connectors/formats/pq_internal.h"

/*
 * pqf_fail
 *		Fill err (when not NULL) with code and a formatted message, and return
 *		code, so every failure in the pq_*.c files is one statement:
 *		"return pqf_fail(err, ...)".  This is how the library keeps its promise
 *		of returning errors and never longjmp-ing: the PostgreSQL glue turns
 *		the code and message into an ereport afterwards.
 */
int
pqf_fail(PqfError *err, int code, const char *fmt,...)
{
	va_list		ap;

	if (err != NULL)
	{
		err->code = code;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return code;
}

/* ---- buffers ---------------------------------------------------------- */

bool
pqf_buf_reserve(PqfBuf *b, size_t extra)
{
	size_t		need;
	size_t		cap;
	uint8_t    *d;

	if (b->oom)
		return false;
	if (extra > SIZE_MAX / 2 - b->len)
	{
		b->oom = true;
		return false;
	}
	need = b->len + extra;
	if (need <= b->cap)
		return true;
	cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap *= 2;
	d = realloc(b->data, cap);
	if (d == NULL)
	{
		b->oom = true;
		return false;
	}
	b->data = d;
	b->cap = cap;
	return true;
}

/*
 * pqf_buf_put
 *		Append n bytes to b.  Out of memory only sets b->oom (see
 *		pqf_buf_reserve) and later appends do nothing, so the writer and the
 *		Thrift encoder can append freely and check oom once, at the end of a
 *		page, chunk or footer.
 */
void
pqf_buf_put(PqfBuf *b, const void *p, size_t n)
{
	if (n == 0 || !pqf_buf_reserve(b, n))
		return;
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

/*
 * pqf_buf_free
 *		Free b's memory and zero it, leaving an empty buffer that can be reused
 *		or freed again; the readers' and writers' free paths rely on that.
 */
void
pqf_buf_free(PqfBuf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

/*
 * pqf_buf_uleb
 *		Append v as an unsigned LEB128 varint: the encoding of RLE run headers
 *		and of Thrift compact lengths and (zigzagged) integers, used by
 *		pq_write.c and pq_thrift.c.
 */
void
pqf_buf_uleb(PqfBuf *b, uint64_t v)
{
	uint8_t		tmp[10];
	int			n = 0;

	do
	{
		uint8_t		c = v & 0x7f;

		v >>= 7;
		tmp[n++] = c | (v ? 0x80 : 0);
	} while (v);
	pqf_buf_put(b, tmp, n);
}

/* ---- bit extraction --------------------------------------------------- */

/* bw (<= 32) bits at bit offset "bit" of base[0..nbytes) */
static inline uint32_t
bits32(const uint8_t *base, uint64_t bit, int bw, uint64_t nbytes)
{
	uint64_t	byte = bit >> 3;
	uint64_t	w = 0;
	uint64_t	avail = nbytes - byte;

	if (bw == 0)
		return 0;
	if (avail >= 8)
		memcpy(&w, base + byte, 8);
	else
		memcpy(&w, base + byte, (size_t) avail);
	w >>= (bit & 7);
	return (uint32_t) (bw == 32 ? w : (w & ((UINT64_C(1) << bw) - 1)));
}

/* bw (<= 64) bits */
static inline uint64_t
bits64(const uint8_t *base, uint64_t bit, int bw, uint64_t nbytes)
{
	uint64_t	lo;
	uint64_t	hi;

	if (bw <= 32)
		return bits32(base, bit, bw, nbytes);
	lo = bits32(base, bit, 32, nbytes);
	hi = bits32(base, bit + 32, bw - 32, nbytes);
	return lo | (hi << 32);
}

/*
 * pqf_bit_width
 *		The number of bits needed for values up to max (0 for 0): the bit width
 *		pq_write.c gives the RLE-encoded dictionary indexes of a page.
 */
int
pqf_bit_width(uint64_t max)
{
	int			w = 0;

	while (max)
	{
		w++;
		max >>= 1;
	}
	return w;
}

/* ---- RLE / bit-packed hybrid ------------------------------------------ */

void
pqf_rle_init(PqfRle *d, const uint8_t *p, const uint8_t *end, int bw)
{
	memset(d, 0, sizeof(*d));
	d->p = p;
	d->end = end;
	d->bw = bw;
}

static bool
uleb_at(const uint8_t **pp, const uint8_t *end, uint64_t *out)
{
	const uint8_t *p = *pp;
	uint64_t	v = 0;
	int			shift = 0;

	while (p < end)
	{
		uint8_t		b = *p++;

		if (shift > 63 || (shift == 63 && (b & 0x7e)))
			return false;
		v |= (uint64_t) (b & 0x7f) << shift;
		if (!(b & 0x80))
		{
			*pp = p;
			*out = v;
			return true;
		}
		shift += 7;
	}
	return false;
}

/* start the next run; false when the data has ended or is malformed */
static bool
rle_next_run(PqfRle *d)
{
	while (d->p < d->end)
	{
		uint64_t	h;

		if (!uleb_at(&d->p, d->end, &h))
			return false;
		if (h & 1)
		{
			uint64_t	groups = h >> 1;
			uint64_t	avail = (uint64_t) (d->end - d->p);
			uint64_t	bytes;
			uint64_t	nvals;

			if (d->bw == 0)
			{
				bytes = 0;
				nvals = groups > UINT32_MAX / 8 ? UINT32_MAX : groups * 8;
			}
			else
			{
				/* the last run may be cut short: use what is there */
				bytes = groups > avail ? avail : groups * (uint64_t) d->bw;
				if (bytes > avail)
					bytes = avail;
				nvals = bytes * 8 / (uint64_t) d->bw;
				if (nvals > groups * 8)
					nvals = groups * 8;
			}
			if (nvals == 0)
				continue;
			d->bp = d->p;
			d->bp_bit = 0;
			d->bp_bits = bytes * 8;
			d->bp_left = (uint32_t) (nvals > UINT32_MAX ? UINT32_MAX : nvals);
			d->p += bytes;
			return true;
		}
		else
		{
			uint64_t	count = h >> 1;
			int			vb = (d->bw + 7) / 8;
			uint32_t	v = 0;

			if ((uint64_t) (d->end - d->p) < (uint64_t) vb)
				return false;
			for (int i = 0; i < vb; i++)
				v |= (uint32_t) d->p[i] << (8 * i);
			d->p += vb;
			if (count == 0)
				continue;
			d->rle_val = v;
			d->rle_left = (uint32_t) (count > UINT32_MAX ? UINT32_MAX : count);
			return true;
		}
	}
	return false;
}

/*
 * pqf_rle_u32, pqf_rle_u8
 *		Decode up to n values of an RLE / bit-packed hybrid stream into out,
 *		returning how many were produced (fewer only when the stream ends or
 *		is malformed, which the reader reports as corruption naming the
 *		column).  One macro makes both widths: u32 for dictionary indexes,
 *		u8 for definition levels and RLE booleans, so the level path does not
 *		pay for 4-byte stores.  Runs are consumed lazily (rle_next_run), so
 *		a run header claiming millions of values costs nothing until asked.
 */
#define PQF_RLE_DECODE(NAME, T) \
int64_t \
NAME(PqfRle *d, T *out, int64_t n) \
{ \
	int64_t		got = 0; \
	while (got < n) \
	{ \
		if (d->rle_left > 0) \
		{ \
			int64_t		k = n - got; \
			T			v = (T) d->rle_val; \
			if (k > d->rle_left) \
				k = d->rle_left; \
			for (int64_t i = 0; i < k; i++) \
				out[got + i] = v; \
			got += k; \
			d->rle_left -= (uint32_t) k; \
		} \
		else if (d->bp_left > 0) \
		{ \
			int64_t		k = n - got; \
			uint64_t	nbytes = d->bp_bits / 8; \
			if (k > d->bp_left) \
				k = d->bp_left; \
			for (int64_t i = 0; i < k; i++) \
			{ \
				out[got + i] = (T) bits32(d->bp, d->bp_bit, d->bw, nbytes); \
				d->bp_bit += d->bw; \
			} \
			got += k; \
			d->bp_left -= (uint32_t) k; \
		} \
		else if (!rle_next_run(d)) \
			break; \
	} \
	return got; \
}

PQF_RLE_DECODE(pqf_rle_u32, uint32_t)
PQF_RLE_DECODE(pqf_rle_u8, uint8_t)

/*
 * Encode n values of bw bits as the hybrid: runs of 8 or more equal values
 * as RLE runs, the rest bit-packed in groups of 8 (the last group padded
 * with zeros).  Bit-packed runs are cut at 63 groups so the header is one
 * byte, as other writers do.
 */
static void
bitpack_flush(PqfBuf *b, const void *v, int esize, int64_t from, int64_t to, int bw)
{
	while (from < to)
	{
		int64_t		n = to - from;
		int64_t		groups;
		uint64_t	acc = 0;
		int			nbits = 0;

		if (n > 63 * 8)
			n = 63 * 8;
		groups = (n + 7) / 8;
		pqf_buf_uleb(b, (uint64_t) (groups << 1) | 1);
		for (int64_t i = 0; i < groups * 8; i++)
		{
			uint64_t	x = 0;

			if (i < n)
				x = esize == 1 ? ((const uint8_t *) v)[from + i]
					: ((const uint32_t *) v)[from + i];
			acc |= x << nbits;
			nbits += bw;
			while (nbits >= 8)
			{
				uint8_t		c = (uint8_t) acc;

				pqf_buf_put(b, &c, 1);
				acc >>= 8;
				nbits -= 8;
			}
		}
		from += n;
	}
}

static void
rle_encode(PqfBuf *b, const void *v, int esize, int64_t n, int bw)
{
	int64_t		i = 0;
	int64_t		pend = 0;		/* start of the values waiting to be bit-packed */

#define VAL(k) (esize == 1 ? (uint32_t) ((const uint8_t *) v)[k] : ((const uint32_t *) v)[k])
	while (i < n)
	{
		uint32_t	x = VAL(i);
		int64_t		r = 1;
		int64_t		fill;

		while (i + r < n && VAL(i + r) == x)
			r++;
		/* values to add to the pending ones to make whole groups of 8 */
		fill = (8 - (i - pend) % 8) % 8;
		if (r >= 8 + fill)
		{
			i += fill;
			r -= fill;
			bitpack_flush(b, v, esize, pend, i, bw);
			pqf_buf_uleb(b, (uint64_t) r << 1);
			for (int k = 0; k < (bw + 7) / 8; k++)
			{
				uint8_t		c = (uint8_t) (x >> (8 * k));

				pqf_buf_put(b, &c, 1);
			}
			i += r;
			pend = i;
		}
		else
			i += r;
	}
	bitpack_flush(b, v, esize, pend, n, bw);
#undef VAL
}

/*
 * pqf_rle_encode
 *		Append n 32-bit values of bw bits to b as the RLE / bit-packed hybrid
 *		(see rle_encode); the writer's dictionary indexes.  There is no length
 *		prefix: the caller adds one where the page layout needs it.
 */
void
pqf_rle_encode(PqfBuf *b, const uint32_t *v, int64_t n, int bw)
{
	rle_encode(b, v, 4, n, bw);
}

/*
 * pqf_rle_encode_u8
 *		As pqf_rle_encode for byte values: definition levels and (in data pages
 *		v2) booleans, which the writer keeps one byte per value.
 */
void
pqf_rle_encode_u8(PqfBuf *b, const uint8_t *v, int64_t n, int bw)
{
	rle_encode(b, v, 1, n, bw);
}

/* ---- DELTA_BINARY_PACKED ---------------------------------------------- */

int
pqf_delta_init(PqfDelta *d, const uint8_t *p, const uint8_t *end)
{
	uint64_t	first;

	memset(d, 0, sizeof(*d));
	d->end = end;
	if (!uleb_at(&p, end, &d->block_size) || !uleb_at(&p, end, &d->nmini) ||
		!uleb_at(&p, end, &d->total) || !uleb_at(&p, end, &first))
		return -1;
	if (d->block_size == 0 || d->block_size % 128 != 0 || d->block_size > (1 << 20) ||
		d->nmini == 0 || d->nmini > 256 || d->block_size % d->nmini != 0)
		return -1;
	d->per_mini = d->block_size / d->nmini;
	if (d->per_mini % 8 != 0)
		return -1;
	d->p = p;
	d->last = (first >> 1) ^ (~(first & 1) + 1);
	d->first_pending = d->total > 0;
	d->mini = d->nmini;			/* the first miniblock needs a block header */
	d->mend = p;
	return 0;
}

static bool
delta_next_mini(PqfDelta *d)
{
	uint64_t	bytes;
	uint64_t	avail;
	uint64_t	need;
	int			bw;

	if (d->mini >= d->nmini)
	{
		uint64_t	md;

		if (!uleb_at(&d->p, d->end, &md))
			return false;
		d->min_delta = (md >> 1) ^ (~(md & 1) + 1);
		if ((uint64_t) (d->end - d->p) < d->nmini)
			return false;
		for (uint64_t i = 0; i < d->nmini; i++)
			d->widths[i] = d->p[i];
		d->p += d->nmini;
		d->mini = 0;
	}
	bw = d->widths[d->mini];
	if (bw > 64)
		return false;
	bytes = d->per_mini * bw / 8;
	avail = (uint64_t) (d->end - d->p);
	/* a last miniblock cut short still has to hold the values left */
	need = ((d->total < d->per_mini ? d->total : d->per_mini) * bw + 7) / 8;
	if (avail < need)
		return false;
	if (bytes > avail)
		bytes = avail;
	d->mp = d->p;
	d->mbit = 0;
	d->p += bytes;
	d->mend = d->p;
	d->in_mini = d->per_mini;
	d->mini++;
	return true;
}

/*
 * pqf_delta_get
 *		Decode up to n values of a DELTA_BINARY_PACKED stream into out, as
 *		int64 (the reader narrows INT32 columns).  Returns how many were
 *		produced; fewer than asked with values still due means the stream is
 *		truncated or malformed and sets d->corrupt.  The cursor advances a
 *		miniblock at a time so memory is the caller's batch, whatever the
 *		header's total claims.
 */
int64_t
pqf_delta_get(PqfDelta *d, int64_t *out, int64_t n)
{
	int64_t		got = 0;

	if (n > 0 && d->first_pending)
	{
		out[got++] = (int64_t) d->last;
		d->first_pending = false;
		d->total--;
	}
	while (got < n && d->total > 0)
	{
		int64_t		k;
		int			bw;
		uint64_t	nbytes;

		if (d->in_mini == 0 && !delta_next_mini(d))
		{
			d->corrupt = true;
			break;
		}
		k = n - got;
		if ((uint64_t) k > d->in_mini)
			k = (int64_t) d->in_mini;
		if ((uint64_t) k > d->total)
			k = (int64_t) d->total;
		bw = d->widths[d->mini - 1];
		nbytes = (uint64_t) (d->mend - d->mp);
		for (int64_t i = 0; i < k; i++)
		{
			d->last += d->min_delta + bits64(d->mp, d->mbit, bw, nbytes);
			d->mbit += bw;
			out[got + i] = (int64_t) d->last;
		}
		got += k;
		d->in_mini -= k;
		d->total -= k;
	}
	return got;
}

/*
 * pqf_delta_skip
 *		Skip every remaining value of a DELTA_BINARY_PACKED stream without
 *		decoding it and return the address just after it, or NULL if it is
 *		truncated.  The DELTA_LENGTH_BYTE_ARRAY and DELTA_BYTE_ARRAY readers
 *		call it on a copy of the cursor to find where the next section (suffix
 *		lengths, then the bytes) starts, since the format gives no offsets.
 */
const uint8_t *
pqf_delta_skip(PqfDelta *d)
{
	if (d->first_pending)
	{
		d->first_pending = false;
		d->total--;
	}
	while (d->total > 0)
	{
		uint64_t	k;

		if (d->in_mini == 0 && !delta_next_mini(d))
			return NULL;
		k = d->in_mini < d->total ? d->in_mini : d->total;
		d->in_mini -= k;
		d->total -= k;
	}
	return d->p;
}

/* ---- codecs ------------------------------------------------------------ */

/*
 * Grow dst for a streaming decoder: double, never past want.  False when
 * it cannot grow (out of memory, or already want bytes: the stream holds
 * more than its page header says).
 */
static bool
grow_for(PqfBuf *dst, size_t want, size_t srclen)
{
	size_t		cap = dst->cap ? dst->cap * 2 : srclen * 4 + 65536;

	if (dst->cap >= want)
		return false;
	if (cap > want)
		cap = want;
	return pqf_buf_reserve(dst, cap - dst->len);
}

/*
 * pqf_decompress
 *		Decompress one page of the given codec into dst, expecting exactly want
 *		bytes.  want is checked against PQF_MAX_PAGE and the output grows only
 *		as the codec produces bytes, so a page header that lies about its size
 *		cannot make the reader allocate it; producing more or fewer than want
 *		is corruption.  Unknown codecs (LZO, Brotli, LZ4) are
 *		PQF_E_UNSUPPORTED, named in the message.
 */
int
pqf_decompress(int codec, const uint8_t *src, size_t srclen,
			   PqfBuf *dst, size_t want, PqfError *err)
{
	dst->len = 0;
	dst->oom = false;
	if (want > PQF_MAX_PAGE)
		return pqf_fail(err, PQF_E_CORRUPT, "a page claims %zu bytes uncompressed", want);
	/* an empty page (an all-null v2 page's values) needs no codec */
	if (want == 0 && codec != PQF_UNCOMPRESSED)
		return 0;
	switch (codec)
	{
		case PQF_UNCOMPRESSED:
			if (srclen != want)
				return pqf_fail(err, PQF_E_CORRUPT,
								"an uncompressed page's two sizes differ (%zu and %zu)",
								srclen, want);
			pqf_buf_put(dst, src, srclen);
			break;
		case PQF_SNAPPY:
			{
				size_t		ulen;

				if (snappy_uncompressed_length((const char *) src, srclen, &ulen) != SNAPPY_OK ||
					ulen != want)
					return pqf_fail(err, PQF_E_CORRUPT, "a snappy page is corrupt");
				if (!pqf_buf_reserve(dst, want + 1))
					break;
				if (snappy_uncompress((const char *) src, srclen, (char *) dst->data,
									  &ulen) != SNAPPY_OK || ulen != want)
					return pqf_fail(err, PQF_E_CORRUPT, "a snappy page is corrupt");
				dst->len = ulen;
				break;
			}
		case PQF_GZIP:
			{
				z_stream	zs;
				int			rc = Z_OK;

				memset(&zs, 0, sizeof(zs));
				/* 15 + 32: a gzip or a zlib header, detected */
				if (inflateInit2(&zs, 15 + 32) != Z_OK)
					return pqf_fail(err, PQF_E_NOMEM, "out of memory starting zlib");
				zs.next_in = (Bytef *) src;
				zs.avail_in = (uInt) srclen;
				while (rc != Z_STREAM_END)
				{
					if (dst->len == dst->cap && !grow_for(dst, want, srclen))
						break;
					zs.next_out = dst->data + dst->len;
					zs.avail_out = (uInt) (dst->cap - dst->len);
					rc = inflate(&zs, Z_NO_FLUSH);
					dst->len = dst->cap - zs.avail_out;
					if (rc == Z_BUF_ERROR && zs.avail_out > 0)
						break;	/* input ended early */
					if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR)
						break;
				}
				inflateEnd(&zs);
				if (dst->oom)
					break;
				if (rc != Z_STREAM_END || dst->len != want)
					return pqf_fail(err, PQF_E_CORRUPT, "a gzip page is corrupt");
				break;
			}
		case PQF_ZSTD:
			{
				ZSTD_DStream *zd = ZSTD_createDStream();
				ZSTD_inBuffer in = {src, srclen, 0};
				size_t		rc = 1;

				if (zd == NULL)
					return pqf_fail(err, PQF_E_NOMEM, "out of memory starting zstd");
				while (rc != 0)
				{
					ZSTD_outBuffer out;

					if (dst->len == dst->cap && !grow_for(dst, want, srclen))
						break;
					out.dst = dst->data;
					out.size = dst->cap;
					out.pos = dst->len;
					rc = ZSTD_decompressStream(zd, &out, &in);
					dst->len = out.pos;
					if (ZSTD_isError(rc))
						break;
					if (rc != 0 && in.pos == in.size && out.pos < out.size)
						break;	/* input ended mid-frame */
				}
				ZSTD_freeDStream(zd);
				if (dst->oom)
					break;
				if (rc != 0 || dst->len != want)
					return pqf_fail(err, PQF_E_CORRUPT, "a zstd page is corrupt");
				break;
			}
		default:
			return pqf_fail(err, PQF_E_UNSUPPORTED, "compression codec %s is not supported",
							pqf_codec_name(codec));
	}
	if (dst->oom)
		return pqf_fail(err, PQF_E_NOMEM, "out of memory decompressing a page");
	return 0;
}

/*
 * pqf_compress
 *		Compress one page with the writer's codec (level applies to gzip and
 *		zstd) into dst, replacing its contents.  The writer checks the codec at
 *		pqf_writer_open, so the default branch is only a guard.
 */
int
pqf_compress(int codec, int level, const uint8_t *src, size_t srclen,
			 PqfBuf *dst, PqfError *err)
{
	dst->len = 0;
	switch (codec)
	{
		case PQF_UNCOMPRESSED:
			pqf_buf_put(dst, src, srclen);
			break;
		case PQF_SNAPPY:
			{
				size_t		n = snappy_max_compressed_length(srclen);

				if (!pqf_buf_reserve(dst, n))
					break;
				if (snappy_compress((const char *) src, srclen, (char *) dst->data, &n) != SNAPPY_OK)
					return pqf_fail(err, PQF_E_NOMEM, "snappy compression failed");
				dst->len = n;
				break;
			}
		case PQF_GZIP:
			{
				z_stream	zs;
				size_t		bound;
				int			rc;

				memset(&zs, 0, sizeof(zs));
				/* 15 + 16: a gzip wrapper, as the Parquet spec asks */
				if (deflateInit2(&zs, level > 0 ? level : Z_DEFAULT_COMPRESSION, Z_DEFLATED,
								 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
					return pqf_fail(err, PQF_E_NOMEM, "out of memory starting zlib");
				bound = deflateBound(&zs, (uLong) srclen) + 32;
				if (!pqf_buf_reserve(dst, bound))
				{
					deflateEnd(&zs);
					break;
				}
				zs.next_in = (Bytef *) src;
				zs.avail_in = (uInt) srclen;
				zs.next_out = dst->data;
				zs.avail_out = (uInt) bound;
				rc = deflate(&zs, Z_FINISH);
				dst->len = bound - zs.avail_out;
				deflateEnd(&zs);
				if (rc != Z_STREAM_END)
					return pqf_fail(err, PQF_E_NOMEM, "gzip compression failed");
				break;
			}
		case PQF_ZSTD:
			{
				size_t		bound = ZSTD_compressBound(srclen);
				size_t		n;

				if (!pqf_buf_reserve(dst, bound))
					break;
				n = ZSTD_compress(dst->data, bound, src, srclen, level > 0 ? level : 3);
				if (ZSTD_isError(n))
					return pqf_fail(err, PQF_E_NOMEM, "zstd compression failed: %s",
									ZSTD_getErrorName(n));
				dst->len = n;
				break;
			}
		default:
			return pqf_fail(err, PQF_E_ARG, "compression codec %d is not supported", codec);
	}
	if (dst->oom)
		return pqf_fail(err, PQF_E_NOMEM, "out of memory compressing a page");
	return 0;
}

/* ---- names ------------------------------------------------------------- */

const char *
pqf_type_name(PqfType t)
{
	static const char *const names[] = {
		"BOOLEAN", "INT32", "INT64", "INT96", "FLOAT", "DOUBLE", "BYTE_ARRAY",
		"FIXED_LEN_BYTE_ARRAY"
	};

	return (int) t >= 0 && (int) t < 8 ? names[t] : "unknown";
}

/*
 * pqf_codec_name
 *		Parquet's name for a CompressionCodec value, or "unknown"; for error
 *		messages, so that a user sees "LZ4" rather than a number.
 */
const char *
pqf_codec_name(int codec)
{
	static const char *const names[] = {
		"UNCOMPRESSED", "SNAPPY", "GZIP", "LZO", "BROTLI", "LZ4", "ZSTD", "LZ4_RAW"
	};

	return codec >= 0 && codec < 8 ? names[codec] : "unknown";
}

/*
 * pqf_encoding_name
 *		Parquet's name for an Encoding value, or "unknown"; for the reader's
 *		"encoding X is not supported for type Y" messages.
 */
const char *
pqf_encoding_name(int enc)
{
	static const char *const names[] = {
		"PLAIN", "GROUP_VAR_INT", "PLAIN_DICTIONARY", "RLE", "BIT_PACKED",
		"DELTA_BINARY_PACKED", "DELTA_LENGTH_BYTE_ARRAY", "DELTA_BYTE_ARRAY",
		"RLE_DICTIONARY", "BYTE_STREAM_SPLIT"
	};

	return enc >= 0 && enc < 10 ? names[enc] : "unknown";
}
