/*-------------------------------------------------------------------------
 *
 * src/connectors/compress.c
 *		gzip (zlib) and zstd (libzstd) streams over any stream.
 *
 * Decompression is streaming: memory stays at the codec's window plus one
 * buffer, whatever the object's size.  "auto" looks at the magic bytes
 * (1f 8b: gzip, 28 b5 2f fd: zstd) and falls back to the name's suffix only
 * to decide "none" for objects too short to tell.  Concatenated gzip members
 * and zstd frames are read through, as gzip(1) and zstd(1) do.  The codec
 * state is freed by a memory context callback, so an error mid-stream leaks
 * nothing.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <zlib.h>
#include <zstd.h>

#include "utils/memutils.h"

#include "connectors/stream.h"

#define CODEC_BUF (256 * 1024)

typedef enum Codec
{
	CODEC_NONE,
	CODEC_GZIP,
	CODEC_ZSTD
} Codec;

static Codec
codec_named(const char *compression, const char *stream_name)
{
	if (compression == NULL || strcmp(compression, "none") == 0)
		return CODEC_NONE;
	if (strcmp(compression, "gzip") == 0)
		return CODEC_GZIP;
	if (strcmp(compression, "zstd") == 0)
		return CODEC_ZSTD;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown compression \"%s\" for \"%s\"", compression, stream_name),
			 errhint("Use auto, none, gzip or zstd.")));
	return CODEC_NONE;
}

/* ------------------------------------------------------------ reading */

typedef struct DecIn
{
	MetaetlInStream *in;
	Codec		codec;
	unsigned char *buf;			/* compressed input */
	size_t		have;			/* bytes of buf not yet consumed */
	size_t		off;
	bool		eof;			/* the underlying stream is exhausted */
	bool		ended;			/* the codec saw its last frame end */
	z_stream	z;
	bool		z_init;
	ZSTD_DStream *zs;
	unsigned char peek[4];		/* auto: bytes read to detect the codec */
	size_t		npeek;
	MemoryContextCallback cb;
} DecIn;

static void
dec_free(void *arg)
{
	DecIn	   *d = arg;

	if (d->z_init)
		inflateEnd(&d->z);
	d->z_init = false;
	if (d->zs)
		ZSTD_freeDStream(d->zs);
	d->zs = NULL;
}

static bool
dec_fill(DecIn *d)
{
	if (d->have > 0 || d->eof)
		return d->have > 0;
	d->off = 0;
	d->have = MetaetlStreamRead(d->in, d->buf, CODEC_BUF);
	if (d->have == 0)
		d->eof = true;
	return d->have > 0;
}

static size_t
dec_read(MetaetlInStream *s, void *out, size_t len)
{
	DecIn	   *d = s->state;
	size_t		produced = 0;

	while (produced == 0 && len > 0)
	{
		if (!dec_fill(d))
		{
			if (!d->ended)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_CORRUPTED),
						 errmsg("compressed stream \"%s\" is truncated", d->in->name)));
			return 0;
		}
		if (d->codec == CODEC_GZIP)
		{
			int			rc;

			if (d->ended)
			{
				/* another gzip member follows */
				inflateReset(&d->z);
				d->ended = false;
			}
			d->z.next_in = d->buf + d->off;
			d->z.avail_in = d->have;
			d->z.next_out = out;
			d->z.avail_out = len;
			rc = inflate(&d->z, Z_NO_FLUSH);
			if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_CORRUPTED),
						 errmsg("gzip stream \"%s\" is corrupt: %s", d->in->name,
								d->z.msg ? d->z.msg : "inflate failed")));
			d->off += d->have - d->z.avail_in;
			d->have = d->z.avail_in;
			produced = len - d->z.avail_out;
			if (rc == Z_STREAM_END)
				d->ended = true;
		}
		else
		{
			ZSTD_inBuffer ib = {d->buf + d->off, d->have, 0};
			ZSTD_outBuffer ob = {out, len, 0};
			size_t		rc = ZSTD_decompressStream(d->zs, &ob, &ib);

			if (ZSTD_isError(rc))
				ereport(ERROR,
						(errcode(ERRCODE_DATA_CORRUPTED),
						 errmsg("zstd stream \"%s\" is corrupt: %s", d->in->name, ZSTD_getErrorName(rc))));
			d->off += ib.pos;
			d->have -= ib.pos;
			produced = ob.pos;
			d->ended = rc == 0;	/* a frame is complete */
		}
	}
	return produced;
}

static void
dec_close(MetaetlInStream *s)
{
	DecIn	   *d = s->state;

	dec_free(d);
	MetaetlStreamClose(d->in);
}

/* a stream that first returns the peeked bytes, then the rest of "in" */
static size_t
peek_read(MetaetlInStream *s, void *out, size_t len)
{
	DecIn	   *d = s->state;

	if (d->npeek > 0)
	{
		size_t		n = Min(len, d->npeek);

		memcpy(out, d->peek, n);
		memmove(d->peek, d->peek + n, d->npeek - n);
		d->npeek -= n;
		return n;
	}
	return MetaetlStreamRead(d->in, out, len);
}

static void
peek_close(MetaetlInStream *s)
{
	MetaetlStreamClose(((DecIn *) s->state)->in);
}

/*
 * in, decompressed (gzip, zstd, or "auto": by the stream's first bytes),
 * as another stream, so that every format reads compressed files without
 * knowing.  NULL or "none" reads in as it is.
 */
MetaetlInStream *
MetaetlDecompressIn(MetaetlInStream *in, const char *compression)
{
	MetaetlInStream *s;
	DecIn	   *d;
	Codec		codec;

	if (compression != NULL && strcmp(compression, "auto") == 0)
	{
		unsigned char m[4];
		size_t		n = 0;

		if (in->seekable && in->size >= 0)
		{
			/* peek without consuming: the stream stays seekable if plain */
			n = (size_t) Min(in->size, 4);
			if (n > 0)
				MetaetlStreamReadAt(in, 0, m, n);
			if (n >= 2 && m[0] == 0x1f && m[1] == 0x8b)
				codec = CODEC_GZIP;
			else if (n >= 4 && m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd)
				codec = CODEC_ZSTD;
			else
				return in;
		}
		else
		{
			s = palloc0(sizeof(MetaetlInStream));
			d = palloc0(sizeof(DecIn));
			d->in = in;
			while (d->npeek < 4)
			{
				size_t		r = MetaetlStreamRead(in, d->peek + d->npeek, 4 - d->npeek);

				if (r == 0)
					break;
				d->npeek += r;
			}
			if (d->npeek >= 2 && d->peek[0] == 0x1f && d->peek[1] == 0x8b)
				codec = CODEC_GZIP;
			else if (d->npeek >= 4 && d->peek[0] == 0x28 && d->peek[1] == 0xb5 &&
					 d->peek[2] == 0x2f && d->peek[3] == 0xfd)
				codec = CODEC_ZSTD;
			else
				codec = CODEC_NONE;
			/* a stream that replays the peeked bytes, then reads on */
			s->name = in->name;
			s->size = in->size;
			s->read = peek_read;
			s->close = peek_close;
			s->state = d;
			if (codec == CODEC_NONE)
				return s;
			return MetaetlDecompressIn(s, codec == CODEC_GZIP ? "gzip" : "zstd");
		}
	}
	else
		codec = codec_named(compression, in->name);
	if (codec == CODEC_NONE)
		return in;

	s = palloc0(sizeof(MetaetlInStream));
	d = palloc0(sizeof(DecIn));
	d->in = in;
	d->codec = codec;
	d->buf = palloc(CODEC_BUF);
	if (codec == CODEC_GZIP)
	{
		/* 15 + 32: zlib or gzip header, detected */
		if (inflateInit2(&d->z, 15 + 32) != Z_OK)
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("could not start gzip decompression of \"%s\"", in->name)));
		d->z_init = true;
	}
	else
	{
		d->zs = ZSTD_createDStream();
		if (d->zs == NULL || ZSTD_isError(ZSTD_initDStream(d->zs)))
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("could not start zstd decompression of \"%s\"", in->name)));
	}
	d->cb.func = dec_free;
	d->cb.arg = d;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, &d->cb);
	s->name = in->name;
	s->size = -1;
	s->read = dec_read;
	s->close = dec_close;
	s->state = d;
	return s;
}

/* ------------------------------------------------------------ writing */

typedef struct CompOut
{
	MetaetlOutStream *out;
	Codec		codec;
	unsigned char *buf;
	z_stream	z;
	bool		z_init;
	ZSTD_CStream *zs;
	MemoryContextCallback cb;
} CompOut;

static void
comp_free(void *arg)
{
	CompOut    *c = arg;

	if (c->z_init)
		deflateEnd(&c->z);
	c->z_init = false;
	if (c->zs)
		ZSTD_freeCStream(c->zs);
	c->zs = NULL;
}

/* compress len bytes (flush: finish the stream) and pass the output on */
static void
comp_run(CompOut *c, const void *data, size_t len, bool flush)
{
	if (c->codec == CODEC_GZIP)
	{
		int			rc;

		c->z.next_in = unconstify(Bytef *, (const Bytef *) data);
		c->z.avail_in = len;
		do
		{
			c->z.next_out = c->buf;
			c->z.avail_out = CODEC_BUF;
			rc = deflate(&c->z, flush ? Z_FINISH : Z_NO_FLUSH);
			if (rc == Z_STREAM_ERROR)
				elog(ERROR, "deflate failed for \"%s\"", c->out->name);
			if (CODEC_BUF - c->z.avail_out > 0)
				MetaetlStreamWrite(c->out, c->buf, CODEC_BUF - c->z.avail_out);
		} while (c->z.avail_out == 0 || (flush && rc != Z_STREAM_END));
	}
	else
	{
		ZSTD_inBuffer ib = {data, len, 0};
		size_t		rc;

		do
		{
			ZSTD_outBuffer ob = {c->buf, CODEC_BUF, 0};

			rc = flush ? ZSTD_compressStream2(c->zs, &ob, &ib, ZSTD_e_end)
				: ZSTD_compressStream2(c->zs, &ob, &ib, ZSTD_e_continue);
			if (ZSTD_isError(rc))
				ereport(ERROR,
						(errcode(ERRCODE_INTERNAL_ERROR),
						 errmsg("zstd compression of \"%s\" failed: %s", c->out->name,
								ZSTD_getErrorName(rc))));
			if (ob.pos > 0)
				MetaetlStreamWrite(c->out, c->buf, ob.pos);
		} while (ib.pos < ib.size || (flush && rc != 0));
	}
}

static void
comp_write(MetaetlOutStream *s, const void *buf, size_t len)
{
	comp_run(s->state, buf, len, false);
}

static void
comp_finish(MetaetlOutStream *s)
{
	CompOut    *c = s->state;

	comp_run(c, NULL, 0, true);
	comp_free(c);
	MetaetlStreamFinish(c->out);
}

static void
comp_abort(MetaetlOutStream *s)
{
	CompOut    *c = s->state;

	comp_free(c);
	MetaetlStreamAbort(c->out);
}

/*
 * out, compressed (gzip, zstd, or "auto": by the name's suffix), as
 * another stream, so that every format writes compressed files without
 * knowing.
 */
MetaetlOutStream *
MetaetlCompressOut(MetaetlOutStream *out, const char *compression)
{
	MetaetlOutStream *s;
	CompOut    *c;
	Codec		codec;

	if (compression != NULL && strcmp(compression, "auto") == 0)
	{
		size_t		l = strlen(out->name);

		if (l > 3 && strcmp(out->name + l - 3, ".gz") == 0)
			codec = CODEC_GZIP;
		else if (l > 4 && strcmp(out->name + l - 4, ".zst") == 0)
			codec = CODEC_ZSTD;
		else
			codec = CODEC_NONE;
	}
	else
		codec = codec_named(compression, out->name);
	if (codec == CODEC_NONE)
		return out;

	s = palloc0(sizeof(MetaetlOutStream));
	c = palloc0(sizeof(CompOut));
	c->out = out;
	c->codec = codec;
	c->buf = palloc(CODEC_BUF);
	if (codec == CODEC_GZIP)
	{
		/* 15 + 16: a gzip header, as gzip(1) writes */
		if (deflateInit2(&c->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("could not start gzip compression of \"%s\"", out->name)));
		c->z_init = true;
	}
	else
	{
		c->zs = ZSTD_createCStream();
		if (c->zs == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("could not start zstd compression of \"%s\"", out->name)));
	}
	c->cb.func = comp_free;
	c->cb.arg = c;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, &c->cb);
	s->name = out->name;
	s->write = comp_write;
	s->finish = comp_finish;
	s->abort = comp_abort;
	s->state = c;
	return s;
}
