/*
 * test/unit/zipmem.h
 *		Build a zip archive in memory with libzip (for the xlsx reader's unit
 *		test and fuzzer), and an XlsxIO over a memory buffer.
 */
#ifndef METAETL_TEST_ZIPMEM_H
#define METAETL_TEST_ZIPMEM_H

#include <stdlib.h>
#include <string.h>
#include <zip.h>

#include "connectors/formats/xlsx_core.h"

typedef struct ZipPart
{
	const char *name;
	const void *data;
	size_t		len;
} ZipPart;

/* a malloc'd archive of the parts (stored uncompressed unless deflate), or NULL */
static unsigned char *
zipmem_build(const ZipPart *parts, int nparts, int deflate, size_t *len)
{
	zip_error_t ze;
	zip_source_t *src;
	zip_t	   *za;
	zip_stat_t	st;
	unsigned char *out = NULL;

	zip_error_init(&ze);
	src = zip_source_buffer_create(NULL, 0, 0, &ze);
	if (src == NULL)
		return NULL;
	zip_source_keep(src);
	za = zip_open_from_source(src, ZIP_TRUNCATE, &ze);
	if (za == NULL)
	{
		zip_source_free(src);
		zip_source_free(src);
		return NULL;
	}
	for (int i = 0; i < nparts; i++)
	{
		zip_source_t *ps = zip_source_buffer(za, parts[i].data, parts[i].len, 0);
		zip_int64_t idx;

		if (ps == NULL)
			continue;
		idx = zip_file_add(za, parts[i].name, ps, ZIP_FL_OVERWRITE);
		if (idx < 0)
		{
			zip_source_free(ps);
			continue;
		}
		zip_set_file_compression(za, (zip_uint64_t) idx, deflate ? ZIP_CM_DEFLATE : ZIP_CM_STORE, 0);
	}
	if (zip_close(za) != 0)
	{
		zip_discard(za);
		zip_source_free(src);
		return NULL;
	}
	zip_stat_init(&st);
	if (zip_source_open(src) == 0)
	{
		if (zip_source_stat(src, &st) == 0 && (st.valid & ZIP_STAT_SIZE))
		{
			out = malloc(st.size ? st.size : 1);
			if (out && zip_source_read(src, out, st.size) != (zip_int64_t) st.size)
			{
				free(out);
				out = NULL;
			}
			*len = (size_t) st.size;
		}
		zip_source_close(src);
	}
	zip_source_free(src);
	zip_error_fini(&ze);
	return out;
}

typedef struct MemFile
{
	const unsigned char *data;
	size_t		len;
	int			reads;
} MemFile;

static int
memfile_read_at(void *arg, uint64_t off, void *buf, size_t len)
{
	MemFile    *m = arg;

	m->reads++;
	if (off > m->len || len > m->len - off)
		return -1;
	memcpy(buf, m->data + off, len);
	return 0;
}

static XlsxIO
memfile_io(MemFile *m)
{
	XlsxIO		io;

	io.arg = m;
	io.size = m->len;
	io.read_at = memfile_read_at;
	return io;
}

#endif							/* METAETL_TEST_ZIPMEM_H */
