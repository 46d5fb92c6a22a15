/*-------------------------------------------------------------------------
 *
 * src/connectors/stream.c
 *		Stream helpers, server-side file streams and in-memory streams.
 *
 * File descriptors are PostgreSQL virtual file descriptors (fd.c:
 * PathNameOpenFile), which the resource owner closes at transaction end and
 * on error, so a failed run leaks no descriptor; a file being written goes
 * to "<path>.metaetl-<pid>.tmp" and is renamed over the destination only at
 * finish, so an error leaves the old file in place (the temporary name is
 * removed by abort, and by a memory context callback if nobody calls it).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/memutils.h"
#include "utils/wait_event.h"

#include "connectors/stream.h"

/*
 * Up to len bytes from s (0 at the end), interruptible, counting bytes_read.
 */
size_t
MetaetlStreamRead(MetaetlInStream *s, void *buf, size_t len)
{
	size_t		n;

	CHECK_FOR_INTERRUPTS();
	n = s->read(s, buf, len);
	s->bytes_read += n;
	return n;
}

/*
 * Exactly len bytes at off, for formats that need random access (Parquet,
 * xlsx); an error on a sequential stream or a read past the end.
 */
void
MetaetlStreamReadAt(MetaetlInStream *s, int64 off, void *buf, size_t len)
{
	CHECK_FOR_INTERRUPTS();
	if (!s->seekable || s->read_at == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("\"%s\" cannot be read at an offset", s->name),
				 errdetail("The format needs random access; this stream is sequential.")));
	if (off < 0 || (s->size >= 0 && (off > s->size || (int64) len > s->size - off)))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("read past the end of \"%s\"", s->name),
				 errdetail("Offset " INT64_FORMAT ", length %zu, size " INT64_FORMAT ".",
						   off, len, s->size)));
	s->read_at(s, off, buf, len);
	s->bytes_read += len;
}

/* Close an input stream; a second close does nothing. */
void
MetaetlStreamClose(MetaetlInStream *s)
{
	if (s->close)
		s->close(s);
	s->close = NULL;
}

/* read_at(off, len) will follow: let a remote stream start fetching it */
void
MetaetlStreamPrefetch(MetaetlInStream *s, int64 off, size_t len)
{
	if (s->prefetch && s->seekable && off >= 0 && len > 0 &&
		(s->size < 0 || (off <= s->size && (int64) len <= s->size - off)))
		s->prefetch(s, off, len);
}

/* let prefetches progress; never blocks, a no-op for local streams */
void
MetaetlStreamPump(MetaetlInStream *s)
{
	if (s->pump)
		s->pump(s);
}

/* Write len bytes to s, interruptible, counting bytes_written. */
void
MetaetlStreamWrite(MetaetlOutStream *s, const void *buf, size_t len)
{
	CHECK_FOR_INTERRUPTS();
	s->write(s, buf, len);
	s->bytes_written += len;
}

/*
 * Finish an output stream: only now does the result become visible (a file
 * renamed into place, an upload completed).
 */
void
MetaetlStreamFinish(MetaetlOutStream *s)
{
	s->finish(s);
}

/* Abandon an output stream, leaving no partial result behind. */
void
MetaetlStreamAbort(MetaetlOutStream *s)
{
	if (s->abort)
		s->abort(s);
}

/* ------------------------------------------------------------ file in */

typedef struct FileIn
{
	File		file;
	off_t		pos;
} FileIn;

static size_t
file_in_read(MetaetlInStream *s, void *buf, size_t len)
{
	FileIn	   *f = s->state;
	int			n = FileRead(f->file, buf, len, f->pos, WAIT_EVENT_COPY_FILE_READ);

	if (n < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not read file \"%s\": %m", s->name)));
	f->pos += n;
	return (size_t) n;
}

static void
file_in_read_at(MetaetlInStream *s, int64 off, void *buf, size_t len)
{
	FileIn	   *f = s->state;
	size_t		done = 0;

	while (done < len)
	{
		int			n = FileRead(f->file, (char *) buf + done, len - done, off + done,
								 WAIT_EVENT_COPY_FILE_READ);

		if (n < 0)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not read file \"%s\": %m", s->name)));
		if (n == 0)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("file \"%s\" is shorter than expected", s->name)));
		done += n;
	}
}

static void
file_in_close(MetaetlInStream *s)
{
	FileIn	   *f = s->state;

	if (f->file >= 0)
		FileClose(f->file);
	f->file = -1;
}

/*
 * A server file as a seekable input stream, through PostgreSQL's virtual
 * file descriptors (closed at transaction end even on error).
 */
MetaetlInStream *
MetaetlOpenFileIn(const char *path)
{
	MetaetlInStream *s = palloc0(sizeof(MetaetlInStream));
	FileIn	   *f = palloc0(sizeof(FileIn));
	struct stat st;

	f->file = PathNameOpenFile(path, O_RDONLY | PG_BINARY);
	if (f->file < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open file \"%s\" for reading: %m", path)));
	if (stat(path, &st) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not stat file \"%s\": %m", path)));
	if (S_ISDIR(st.st_mode))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is a directory", path)));
	s->name = pstrdup(path);
	s->size = st.st_size;
	s->seekable = true;
	s->read = file_in_read;
	s->read_at = file_in_read_at;
	s->close = file_in_close;
	s->state = f;
	return s;
}

/* ------------------------------------------------------------ file out */

typedef struct FileOut
{
	File		file;
	char	   *path;
	char	   *tmp;
	off_t		pos;
	bool		done;			/* finished or aborted */
	MemoryContextCallback cb;
} FileOut;

static void
file_out_write(MetaetlOutStream *s, const void *buf, size_t len)
{
	FileOut    *f = s->state;
	size_t		done = 0;

	while (done < len)
	{
		int			n = FileWrite(f->file, unconstify(char *, (const char *) buf) + done, len - done, f->pos,
								  WAIT_EVENT_COPY_FILE_WRITE);

		if (n <= 0)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not write file \"%s\": %m", s->name)));
		done += n;
		f->pos += n;
	}
}

static void
file_out_discard(FileOut *f)
{
	if (f->done)
		return;
	f->done = true;
	if (f->file >= 0)
		FileClose(f->file);
	f->file = -1;
	(void) unlink(f->tmp);
}

/* nobody finished or aborted the file: an error happened; leave no temp file */
static void
file_out_reset(void *arg)
{
	FileOut    *f = arg;

	if (!f->done)
	{
		f->done = true;
		/* the resource owner already closed the descriptor */
		(void) unlink(f->tmp);
	}
}

static void
file_out_finish(MetaetlOutStream *s)
{
	FileOut    *f = s->state;

	if (FileSync(f->file, WAIT_EVENT_COPY_FILE_WRITE) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not write file \"%s\": %m", s->name)));
	FileClose(f->file);
	f->file = -1;
	if (rename(f->tmp, f->path) != 0)
	{
		int			save = errno;

		(void) unlink(f->tmp);
		f->done = true;
		errno = save;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not rename \"%s\" to \"%s\": %m", f->tmp, f->path)));
	}
	f->done = true;
}

static void
file_out_abort(MetaetlOutStream *s)
{
	file_out_discard(s->state);
}

/*
 * A server file as an output stream: written to a temporary name and
 * renamed into place on finish, so readers never see half a file.
 */
MetaetlOutStream *
MetaetlOpenFileOut(const char *path)
{
	MetaetlOutStream *s = palloc0(sizeof(MetaetlOutStream));
	FileOut    *f = palloc0(sizeof(FileOut));

	f->path = pstrdup(path);
	f->tmp = psprintf("%s.metaetl-%d.tmp", path, MyProcPid);
	f->file = PathNameOpenFile(f->tmp, O_WRONLY | O_CREAT | O_TRUNC | PG_BINARY);
	if (f->file < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open file \"%s\" for writing: %m", path)));
	f->cb.func = file_out_reset;
	f->cb.arg = f;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, &f->cb);
	s->name = f->path;
	s->write = file_out_write;
	s->finish = file_out_finish;
	s->abort = file_out_abort;
	s->state = f;
	return s;
}

/* ------------------------------------------------------------ memory in */

typedef struct MemIn
{
	const char *data;
	size_t		len;
	size_t		pos;
} MemIn;

static size_t
mem_in_read(MetaetlInStream *s, void *buf, size_t len)
{
	MemIn	   *m = s->state;
	size_t		n = Min(len, m->len - m->pos);

	memcpy(buf, m->data + m->pos, n);
	m->pos += n;
	return n;
}

static void
mem_in_read_at(MetaetlInStream *s, int64 off, void *buf, size_t len)
{
	MemIn	   *m = s->state;

	memcpy(buf, m->data + off, len);	/* bounds checked by MetaetlStreamReadAt */
}

/*
 * len bytes of data as a seekable input stream (an HTTP body, a test); data
 * must outlive the stream.
 */
MetaetlInStream *
MetaetlOpenMemoryIn(const char *name, const char *data, size_t len)
{
	MetaetlInStream *s = palloc0(sizeof(MetaetlInStream));
	MemIn	   *m = palloc0(sizeof(MemIn));

	m->data = data;
	m->len = len;
	s->name = pstrdup(name);
	s->size = (int64) len;
	s->seekable = true;
	s->read = mem_in_read;
	s->read_at = mem_in_read_at;
	s->state = m;
	return s;
}
