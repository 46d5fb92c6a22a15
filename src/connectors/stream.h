/*-------------------------------------------------------------------------
 *
 * src/connectors/stream.h
 *		Byte streams between transports (server files, object stores, HTTP
 *		bodies) and formats (csv, json, ndjson, parquet, xlsx).
 *
 * A transport opens a MetaetlInStream to read an object and a
 * MetaetlOutStream to write one; a format (format.h) reads rows from the
 * first and writes rows to the second, so every format works over every
 * transport and neither knows the other.
 *
 * Rules every stream follows:
 *  - errors are ereport(ERROR) with an errcode and the stream's name in the
 *    message ("s3://raw/events/a.parquet"), never a secret (no signed URL,
 *    no key);
 *  - non-palloc resources (file descriptors, curl handles, decompressor
 *    state) are released when the memory context the stream was opened in is
 *    reset or deleted (a MemoryContextCallback), so an error anywhere in a
 *    run leaks nothing; close/finish/abort release them earlier;
 *  - an out stream's data becomes visible only at finish (an object store
 *    completes the upload, a file is renamed into place); abort, or an error
 *    before finish, leaves the destination as it was.
 *
 *-------------------------------------------------------------------------
 */
#ifndef METAETL_STREAM_H
#define METAETL_STREAM_H

#include "postgres.h"

typedef struct MetaetlInStream MetaetlInStream;
typedef struct MetaetlOutStream MetaetlOutStream;

struct MetaetlInStream
{
	const char *name;			/* for messages: a path or URL without secrets */
	int64		size;			/* bytes, or -1 when unknown (compressed, chunked) */
	bool		seekable;		/* read_at works */
	int64		bytes_read;		/* maintained by the helpers below */

	/* sequential read: up to len bytes into buf; 0 at the end */
	size_t		(*read) (MetaetlInStream *s, void *buf, size_t len);
	/* exactly len bytes at off (seekable streams; errors on a short read) */
	void		(*read_at) (MetaetlInStream *s, int64 off, void *buf, size_t len);
	/* release resources now (optional: the context callback does it too) */
	void		(*close) (MetaetlInStream *s);

	/*
	 * Optional, for remote streams: a hint that read_at(off, len) comes
	 * soon, so its transfer can start now, and a step that lets started
	 * transfers progress without blocking (a reader calls it between
	 * batches of its own work, so download and decoding overlap).
	 */
	void		(*prefetch) (MetaetlInStream *s, int64 off, size_t len);
	void		(*pump) (MetaetlInStream *s);
	void	   *state;
};

struct MetaetlOutStream
{
	const char *name;
	int64		bytes_written;

	void		(*write) (MetaetlOutStream *s, const void *buf, size_t len);
	/* make the written data visible at the destination */
	void		(*finish) (MetaetlOutStream *s);
	/* forget what was written (also what an error before finish does) */
	void		(*abort) (MetaetlOutStream *s);
	void	   *state;
};

/* in connectors/stream.c: calls through the struct, counting bytes */
extern size_t MetaetlStreamRead(MetaetlInStream *s, void *buf, size_t len);
extern void MetaetlStreamReadAt(MetaetlInStream *s, int64 off, void *buf, size_t len);
extern void MetaetlStreamClose(MetaetlInStream *s);
extern void MetaetlStreamPrefetch(MetaetlInStream *s, int64 off, size_t len);
extern void MetaetlStreamPump(MetaetlInStream *s);
extern void MetaetlStreamWrite(MetaetlOutStream *s, const void *buf, size_t len);
extern void MetaetlStreamFinish(MetaetlOutStream *s);
extern void MetaetlStreamAbort(MetaetlOutStream *s);

/*
 * Server-side files (needs pg_read_server_files / pg_write_server_files,
 * checked by the caller as the run's role).  An out file is written to a
 * temporary name beside it and renamed at finish.
 */
extern MetaetlInStream *MetaetlOpenFileIn(const char *path);
extern MetaetlOutStream *MetaetlOpenFileOut(const char *path);

/* a stream over bytes already in memory (tests, small HTTP bodies) */
extern MetaetlInStream *MetaetlOpenMemoryIn(const char *name, const char *data, size_t len);

/*
 * Transparent (de)compression: "gzip", "zstd", "none", or "auto" (decided
 * from the name's suffix .gz / .zst and, when reading, the magic bytes).
 * Implemented with zlib and libzstd; the result is not seekable.
 */
extern MetaetlInStream *MetaetlDecompressIn(MetaetlInStream *in, const char *compression);
extern MetaetlOutStream *MetaetlCompressOut(MetaetlOutStream *out, const char *compression);

#endif							/* METAETL_STREAM_H */
