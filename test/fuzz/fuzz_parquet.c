/*
 * test/fuzz/fuzz_parquet.c
 *		libFuzzer harness over the pure-C Parquet reader and writer
 *		(src/connectors/formats/pq_*.c).
 *
 * An input is a whole file.  Invariants checked on every input: opening
 * and reading every flat column of every row group never crashes, leaks,
 * hangs or allocates without bound, and an error always comes with a
 * message; inputs of odd size are read as a remote one would be (prefetch
 * hints, which must name bytes of the file, and gaps between projected
 * chunks read through).  A file that reads completely (up to 50,000 rows) is written
 * again with the writer and read back: the values must be the same (a
 * checksum over every value and NULL).  The seed corpus is written by
 * DuckDB when `make fuzz` runs (test/fuzz/run.sh).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/connectors/formats/pq_encoding.c"
#include "../../src/connectors/formats/pq_thrift.c"
#include "../../src/connectors/formats/pq_read.c"
#include "../../src/connectors/formats/pq_write.c"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ROWS 50000

typedef struct Mem
{
	const uint8_t *data;
	size_t		len;
} Mem;

static int
mem_read_at(void *arg, uint64_t off, void *buf, size_t len, PqfError *err)
{
	Mem		   *m = arg;

	if (off > m->len || len > m->len - off)
		return pqf_fail(err, PQF_E_IO, "read past the end");
	memcpy(buf, m->data + off, len);
	return 0;
}

/* a prefetch hint must name bytes of the file (a remote input fetches them) */
static void
mem_prefetch(void *arg, uint64_t off, size_t len)
{
	Mem		   *m = arg;

	if (off > m->len || len > m->len - off || len == 0)
		abort();
}

static int
buf_write(void *arg, const void *p, size_t n, PqfError *err)
{
	PqfBuf	   *b = arg;

	pqf_buf_put(b, p, n);
	return b->oom ? pqf_fail(err, PQF_E_NOMEM, "out of memory") : 0;
}

static uint64_t
mix(uint64_t h, const void *p, size_t n)
{
	const uint8_t *s = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * 1099511628211u;
	return h;
}

/*
 * Read every flat column; if w is given, also write every row to it.
 * Returns 1 when the whole file was read, 0 when it stopped at an error
 * or at MAX_ROWS.
 */
static int
read_file(const uint8_t *data, size_t size, uint64_t *sum, PqfBuf *rewrite)
{
	Mem			m = {data, size};
	/* odd sizes read as a remote input: gaps between chunks read through */
	PqfInput	in = {mem_read_at, size, &m, mem_prefetch, (size & 1) ? 4096 : 0};
	PqfFile    *f = NULL;
	PqfError	err = {0};
	int			cols[64];
	PqfColumn	desc[64];
	int			n = 0;
	int64_t		rows = 0;
	int			ok = 0;
	PqfWriter  *w = NULL;

	*sum = 14695981039346656037u;
	if (pqf_open(&f, &in, &err) < 0)
	{
		if (err.msg[0] == '\0')
			abort();
		return 0;
	}
	/* and in short reads, so that runs of row groups are several and hinted */
	if (size & 2)
		f->span_max = 512;
	for (int i = 0; i < pqf_ncolumns(f) && n < 64; i++)
		if (!pqf_column(f, i)->nested)
		{
			desc[n] = *pqf_column(f, i);
			cols[n++] = i;
		}
	if (pqf_project(f, cols, n, &err) < 0)
		goto done;
	if (rewrite && n > 0)
	{
		PqfOutput	o = {buf_write, rewrite};
		PqfWriteOptions opt;

		pqf_write_defaults(&opt);
		opt.row_group_rows = 1000;
		opt.page_bytes = 2048;
		opt.page_v2 = (size & 1) != 0;	/* both page versions get rewritten */
		if (pqf_writer_open(&w, &o, desc, n, &opt, &err) < 0)
			goto done;
	}
	for (int g = 0; g < pqf_num_row_groups(f); g++)
	{
		int64_t		rg_rows = pqf_row_group_rows(f, g);
		/* per column: the current batch and the position in it */
		PqfBatch	b[64];
		int64_t		pos[64];
		int64_t		vpos[64];

		if (rows + rg_rows > MAX_ROWS)
			goto done;
		if (pqf_row_group(f, g, &err) < 0)
			goto done;
		memset(pos, 0, sizeof(pos));
		memset(vpos, 0, sizeof(vpos));
		memset(b, 0, sizeof(b));
		for (int64_t r = 0; r < rg_rows; r++)
		{
			for (int k = 0; k < n; k++)
			{
				const PqfColumn *c = &desc[k];
				int64_t		v;

				if (pos[k] == b[k].nrows)
				{
					int64_t		got = pqf_read(f, k, 1 + (r * 131 + k) % 5000, &b[k], &err);

					if (got <= 0)
					{
						if (got < 0 && err.msg[0] == '\0')
							abort();
						goto done;
					}
					pos[k] = 0;
					vpos[k] = 0;
				}
				if (b[k].defined && !b[k].defined[pos[k]])
				{
					*sum = mix(*sum, "N", 1);
					if (w)
						pqf_put_null(w, k);
					pos[k]++;
					continue;
				}
				v = vpos[k]++;
				pos[k]++;
				switch (c->type)
				{
					case PQF_BOOLEAN:
						*sum = mix(*sum, &b[k].v.b[v], 1);
						if (w)
							pqf_put_bool(w, k, b[k].v.b[v] != 0);
						break;
					case PQF_INT32:
						*sum = mix(*sum, &b[k].v.i32[v], 4);
						if (w)
							pqf_put_i32(w, k, b[k].v.i32[v]);
						break;
					case PQF_INT64:
						*sum = mix(*sum, &b[k].v.i64[v], 8);
						if (w)
							pqf_put_i64(w, k, b[k].v.i64[v]);
						break;
					case PQF_FLOAT:
						*sum = mix(*sum, &b[k].v.f32[v], 4);
						if (w)
							pqf_put_float(w, k, b[k].v.f32[v]);
						break;
					case PQF_DOUBLE:
						*sum = mix(*sum, &b[k].v.f64[v], 8);
						if (w)
							pqf_put_double(w, k, b[k].v.f64[v]);
						break;
					default:
						*sum = mix(*sum, b[k].v.bytes[v].ptr, b[k].v.bytes[v].len);
						if (w)
							pqf_put_bytes(w, k, b[k].v.bytes[v].ptr, b[k].v.bytes[v].len);
						break;
				}
			}
			if (w && pqf_end_row(w, &err) < 0)
				abort();		/* values the reader returned must be writable */
		}
		/* every column has ended exactly at the row group's end */
		for (int k = 0; k < n; k++)
		{
			PqfBatch	x;

			if (pos[k] != b[k].nrows)
				abort();
			if (pqf_read(f, k, 10, &x, &err) != 0)
				goto done;
		}
		rows += rg_rows;
	}
	ok = 1;
	if (w && pqf_writer_finish(w, &err) < 0)
		abort();
done:
	pqf_writer_free(w);
	pqf_close(f);
	return ok;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t	sum1;
	uint64_t	sum2;
	PqfBuf		again = {0};

	if (read_file(data, size, &sum1, &again) && again.len > 0)
	{
		PqfBuf		none = {0};

		if (!read_file(again.data, again.len, &sum2, NULL) || sum1 != sum2)
		{
			fprintf(stderr, "rewritten file differs: %d\n", sum1 != sum2);
			abort();
		}
		pqf_buf_free(&none);
	}
	pqf_buf_free(&again);
	return 0;
}
