/*
 * test/unit/test_parquet.c
 *		Unit tests of the pure-C Parquet reader and writer
 *		(src/connectors/formats/pq_*.c).
 *
 * DuckDB (npm @duckdb/node-api, through test/fixtures/duckdb/run.sh) is the
 * independent implementation: it writes the fixtures at test time, for
 * every codec and both of its writer versions (v1: PLAIN and dictionaries;
 * v2: DELTA_BINARY_PACKED, DELTA_LENGTH_BYTE_ARRAY, BYTE_STREAM_SPLIT,
 * RLE_DICTIONARY), with every flat type it has; this reader must return the
 * values the generating formula gives.  DuckDB then reads back the files
 * this writer produced and must find the same rows and types as in its own
 * table.  DuckDB writes data pages v1 only (also for PARQUET_VERSION v2), so
 * the v2 page path is checked with this writer's page_v2 files, which
 * DuckDB must read too.  Encodings DuckDB never writes (DELTA_BYTE_ARRAY,
 * INT96) are checked against streams built here from the specification.
 * Hostile input: truncations and byte flips of real files must give an
 * error or a result, never a crash, a leak or an unbounded allocation
 * (run under ASan/UBSan).  If node or DuckDB cannot run, the DuckDB checks
 * fail: they are never skipped.
 *
 * unit-libs: -lsnappy -lzstd -lz
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"
#include "../../src/connectors/formats/pq_encoding.c"
#include "../../src/connectors/formats/pq_thrift.c"
#include "../../src/connectors/formats/pq_read.c"
#include "../../src/connectors/formats/pq_write.c"

#define NROWS 5000

/* UNIT_CHECK evaluates its condition twice; these conditions have effects */
#define CHECK(cond, ...) \
	do { bool check_ok_ = (cond); UNIT_CHECK(check_ok_, __VA_ARGS__); } while (0)

static char repo[1024];
static bool write_v2 = false;	/* write_table: data pages v2 */
static char tmpdir[256];

/* ---- I/O helpers --------------------------------------------------------- */

typedef struct MemIn
{
	uint8_t    *data;
	size_t		len;
	uint64_t	bytes_read;
	int			nranges;
	uint64_t	lo[4096];
	uint64_t	hi[4096];
} MemIn;

static int
mem_read_at(void *arg, uint64_t off, void *buf, size_t len, PqfError *err)
{
	MemIn	   *m = arg;

	if (off > m->len || len > m->len - off)
		return pqf_fail(err, PQF_E_IO, "read of %zu bytes at %llu past the end", len,
						(unsigned long long) off);
	memcpy(buf, m->data + off, len);
	m->bytes_read += len;
	if (m->nranges < 4096)
	{
		m->lo[m->nranges] = off;
		m->hi[m->nranges] = off + len;
		m->nranges++;
	}
	return 0;
}

/* prefetch hints, as a remote input receives them */
static int	nhints;
static uint64_t hint_lo[4096];
static uint64_t hint_hi[4096];

static void
hint_prefetch(void *arg, uint64_t off, size_t len)
{
	(void) arg;
	if (nhints < 4096)
	{
		hint_lo[nhints] = off;
		hint_hi[nhints] = off + len;
		nhints++;
	}
}

static int
buf_write(void *arg, const void *p, size_t n, PqfError *err)
{
	PqfBuf	   *b = arg;

	pqf_buf_put(b, p, n);
	return b->oom ? pqf_fail(err, PQF_E_NOMEM, "out of memory") : 0;
}

static bool
load_file(const char *path, MemIn *m)
{
	FILE	   *fp = fopen(path, "rb");
	long		n;

	memset(m, 0, sizeof(*m));
	if (fp == NULL)
		return false;
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	m->data = malloc(n > 0 ? n : 1);
	m->len = fread(m->data, 1, n, fp);
	fclose(fp);
	return (long) m->len == n;
}

static bool
save_file(const char *path, const PqfBuf *b)
{
	FILE	   *fp = fopen(path, "wb");
	bool		ok;

	if (fp == NULL)
		return false;
	ok = fwrite(b->data, 1, b->len, fp) == b->len;
	return fclose(fp) == 0 && ok;
}

/* run DuckDB with SQL statements; returns its stdout (malloc'd) or NULL */
static char *
duckdb(int n, const char **sql)
{
	char	   *cmd;
	size_t		cap = 256;
	size_t		len;
	FILE	   *p;
	char	   *out;
	size_t		olen = 0;
	size_t		ocap = 4096;
	int			rc;

	for (int i = 0; i < n; i++)
		cap += strlen(sql[i]) * 4 + 4;
	cmd = malloc(cap + strlen(repo));
	if (cmd == NULL)
		return NULL;
	len = (size_t) sprintf(cmd, "bash '%s/test/fixtures/duckdb/run.sh'", repo);
	for (int i = 0; i < n; i++)
	{
		cmd[len++] = ' ';
		cmd[len++] = '\'';
		for (const char *s = sql[i]; *s; s++)
		{
			if (*s == '\'')
			{
				memcpy(cmd + len, "'\\''", 4);
				len += 4;
			}
			else
				cmd[len++] = *s;
		}
		cmd[len++] = '\'';
	}
	cmd[len] = '\0';
	p = popen(cmd, "r");
	free(cmd);
	if (p == NULL)
		return NULL;
	out = malloc(ocap);
	for (;;)
	{
		size_t		k;

		if (olen + 1024 > ocap)
			out = realloc(out, ocap *= 2);
		k = fread(out + olen, 1, ocap - olen - 1, p);
		if (k == 0)
			break;
		olen += k;
	}
	out[olen] = '\0';
	rc = pclose(p);
	if (rc != 0)
	{
		printf("# duckdb failed (status %d): %s\n", rc, out);
		free(out);
		return NULL;
	}
	return out;
}

/* ---- reading a whole file into cells ------------------------------------- */

typedef struct Cell
{
	bool		null;
	int64_t		i;
	double		d;
	uint8_t    *s;
	uint32_t	len;
} Cell;

typedef struct Table
{
	int			ncols;
	int64_t		nrows;
	int64_t		cap;
	Cell	  **col;			/* [ncols][cap] */
	const PqfColumn **meta;
} Table;

static void
table_free(Table *t)
{
	for (int c = 0; c < t->ncols; c++)
	{
		if (t->col[c])
			for (int64_t r = 0; r < t->cap; r++)
				free(t->col[c][r].s);
		free(t->col[c]);
	}
	free(t->col);
	free(t->meta);
	memset(t, 0, sizeof(*t));
}

/*
 * Read the projected columns of every row group, batch sizes varying so
 * that batches end inside pages.  Returns 0 or a negative error.
 */
static int
read_table(PqfFile *f, const int *cols, int n, Table *t, PqfError *err)
{
	int64_t		total = 0;
	int64_t		cap = 1024;
	int			rc;
	int64_t		step = 0;

	memset(t, 0, sizeof(*t));
	if ((rc = pqf_project(f, cols, n, err)) < 0)
		return rc;
	t->ncols = n;
	t->cap = cap;
	t->col = calloc(n, sizeof(Cell *));
	t->meta = calloc(n, sizeof(PqfColumn *));
	for (int c = 0; c < n; c++)
	{
		t->col[c] = calloc(cap, sizeof(Cell));
		t->meta[c] = pqf_column(f, cols[c]);
	}
	for (int g = 0; g < pqf_num_row_groups(f); g++)
	{
		int64_t		rows = pqf_row_group_rows(f, g);

		if ((rc = pqf_row_group(f, g, err)) < 0)
			return rc;
		if (total + rows > cap)
		{
			int64_t		ncap = cap;

			while (total + rows > ncap)
				ncap *= 2;
			if (ncap > 10 * 1000 * 1000)
				return pqf_fail(err, PQF_E_NOMEM, "test: too many rows");
			for (int c = 0; c < n; c++)
			{
				t->col[c] = realloc(t->col[c], ncap * sizeof(Cell));
				memset(t->col[c] + cap, 0, (ncap - cap) * sizeof(Cell));
			}
			cap = ncap;
			t->cap = cap;
		}
		for (int c = 0; c < n; c++)
		{
			int64_t		r = total;
			const PqfColumn *m = t->meta[c];

			for (;;)
			{
				PqfBatch	b;
				int64_t		got = pqf_read(f, c, 1 + (step++ * 997) % 3000, &b, err);
				int64_t		v = 0;

				if (got < 0)
				{
					t->nrows = total;
					return (int) got;
				}
				if (got == 0)
					break;
				if (r + got > total + rows)
					return pqf_fail(err, PQF_E_CORRUPT, "test: more rows than the row group has");
				for (int64_t k = 0; k < got; k++, r++)
				{
					Cell	   *x = &t->col[c][r];

					if (b.defined && !b.defined[k])
					{
						x->null = true;
						continue;
					}
					switch (m->type)
					{
						case PQF_BOOLEAN:
							x->i = b.v.b[v];
							break;
						case PQF_INT32:
							x->i = b.v.i32[v];
							break;
						case PQF_INT64:
							x->i = b.v.i64[v];
							break;
						case PQF_FLOAT:
							x->d = b.v.f32[v];
							break;
						case PQF_DOUBLE:
							x->d = b.v.f64[v];
							break;
						default:
							x->len = b.v.bytes[v].len;
							x->s = malloc(x->len + 1);
							memcpy(x->s, b.v.bytes[v].ptr, x->len);
							x->s[x->len] = 0;
							break;
					}
					v++;
				}
				if (v != b.nvalues)
					return pqf_fail(err, PQF_E_CORRUPT, "test: nvalues mismatch");
			}
			if (r != total + rows)
			{
				t->nrows = total;
				return pqf_fail(err, PQF_E_CORRUPT, "test: column %d has %lld rows, not %lld",
								c, (long long) (r - total), (long long) rows);
			}
		}
		total += rows;
	}
	t->nrows = total;
	return 0;
}

static int
open_mem(MemIn *m, PqfFile **f, PqfError *err)
{
	PqfInput	in = {mem_read_at, m->len, m, NULL, 0};

	return pqf_open(f, &in, err);
}

/* read every column of a file in memory; returns 0 or an error code */
static int
read_all(MemIn *m, Table *t, PqfError *err)
{
	PqfFile    *f;
	int			rc = open_mem(m, &f, err);
	int		   *cols;
	int			n;

	memset(t, 0, sizeof(*t));
	if (rc < 0)
		return rc;
	n = pqf_ncolumns(f);
	cols = malloc(n * sizeof(int));
	for (int i = 0; i < n; i++)
		cols[i] = i;
	rc = read_table(f, cols, n, t, err);
	free(cols);
	/* the table's meta pointers die with the file: drop them */
	free(t->meta);
	t->meta = NULL;
	pqf_close(f);
	return rc;
}

/* ---- the fixture table: one formula, in SQL and in C --------------------- */

static const char *gen_sql =
	"SET TimeZone='UTC'; CREATE TABLE t AS SELECT "
	"i::BIGINT AS id, (i - 2500)::INTEGER AS i32, (i % 200 - 100)::SMALLINT AS i16, "
	"(i % 200 - 100)::TINYINT AS i8, (i % 250)::UTINYINT AS u8, (i * 7)::USMALLINT AS u16, "
	"(i * 100000)::UINTEGER AS u32, (i::UBIGINT * 3000000000000000) AS u64, "
	"CASE WHEN i % 7 = 0 THEN NULL ELSE i * 3 END::BIGINT AS n64, (i * 0.25)::DOUBLE AS f64, "
	"(i * 0.5)::FLOAT AS f32, (i % 3 = 0) AS b, CASE WHEN i % 11 = 0 THEN NULL ELSE (i % 5 = 0) END AS nb, "
	"'k' || (i % 37) AS sdict, CASE WHEN i % 13 = 0 THEN NULL ELSE 'value-' || i END AS splain, "
	"DATE '2000-01-01' + i::INTEGER AS d, TIMESTAMP '2000-01-01 00:00:00' + to_seconds(i) AS ts, "
	"(TIMESTAMP '2000-01-01' + to_milliseconds(i * 1001))::TIMESTAMP_MS AS tsms, "
	"(TIMESTAMP '2000-01-01' + to_microseconds(i * 1000003))::TIMESTAMP_NS AS tsns, "
	"(TIMESTAMP '2000-01-01' + to_seconds(i))::TIMESTAMPTZ AS tstz, TIME '00:00:00' + to_seconds(i) AS tm, "
	"(i % 1000 * 0.1)::DECIMAL(4,1) AS dec4, (i * 1.001)::DECIMAL(18,3) AS dec18, "
	"(i * 1.5)::DECIMAL(30,1) AS dec30, "
	"('00000000-0000-0000-0000-' || lpad(i::VARCHAR, 12, '0'))::UUID AS uu, ('b' || i)::BLOB AS bl "
	"FROM range(5000) t(i)";

enum
{
	C_ID, C_I32, C_I16, C_I8, C_U8, C_U16, C_U32, C_U64, C_N64, C_F64, C_F32, C_B, C_NB,
	C_SDICT, C_SPLAIN, C_D, C_TS, C_TSMS, C_TSNS, C_TSTZ, C_TM, C_DEC4, C_DEC18, C_DEC30,
	C_UU, C_BL, NCOLS
};

static const char *col_names[NCOLS] = {
	"id", "i32", "i16", "i8", "u8", "u16", "u32", "u64", "n64", "f64", "f32", "b", "nb",
	"sdict", "splain", "d", "ts", "tsms", "tsns", "tstz", "tm", "dec4", "dec18", "dec30",
	"uu", "bl"
};

/* the column descriptions this writer uses for the same table */
static PqfColumn
col_desc(int c)
{
	PqfColumn	d;

	memset(&d, 0, sizeof(d));
	d.name = col_names[c];
	d.optional = true;
	switch (c)
	{
		case C_ID:
		case C_N64:
			d.type = PQF_INT64;
			d.logical = PQF_LT_INT;
			d.bit_width = 64;
			d.is_signed = true;
			break;
		case C_I32:
		case C_I16:
		case C_I8:
			d.type = PQF_INT32;
			d.logical = PQF_LT_INT;
			d.bit_width = c == C_I32 ? 32 : c == C_I16 ? 16 : 8;
			d.is_signed = true;
			break;
		case C_U8:
		case C_U16:
		case C_U32:
			d.type = PQF_INT32;
			d.logical = PQF_LT_INT;
			d.bit_width = c == C_U8 ? 8 : c == C_U16 ? 16 : 32;
			break;
		case C_U64:
			d.type = PQF_INT64;
			d.logical = PQF_LT_INT;
			d.bit_width = 64;
			break;
		case C_F64:
			d.type = PQF_DOUBLE;
			break;
		case C_F32:
			d.type = PQF_FLOAT;
			break;
		case C_B:
		case C_NB:
			d.type = PQF_BOOLEAN;
			break;
		case C_SDICT:
		case C_SPLAIN:
			d.type = PQF_BYTE_ARRAY;
			d.logical = PQF_LT_STRING;
			break;
		case C_D:
			d.type = PQF_INT32;
			d.logical = PQF_LT_DATE;
			break;
		case C_TS:
		case C_TSMS:
		case C_TSNS:
		case C_TSTZ:
			d.type = PQF_INT64;
			d.logical = PQF_LT_TIMESTAMP;
			d.unit = c == C_TSMS ? PQF_MILLIS : c == C_TSNS ? PQF_NANOS : PQF_MICROS;
			d.utc = c == C_TSTZ;
			break;
		case C_TM:
			d.type = PQF_INT64;
			d.logical = PQF_LT_TIME;
			d.unit = PQF_MICROS;
			break;
		case C_DEC4:
			d.type = PQF_INT32;
			d.logical = PQF_LT_DECIMAL;
			d.precision = 4;
			d.scale = 1;
			break;
		case C_DEC18:
			d.type = PQF_INT64;
			d.logical = PQF_LT_DECIMAL;
			d.precision = 18;
			d.scale = 3;
			break;
		case C_DEC30:
			d.type = PQF_FIXED_LEN_BYTE_ARRAY;
			d.type_length = 13;	/* the fewest bytes for 30 digits, not DuckDB's 16 */
			d.logical = PQF_LT_DECIMAL;
			d.precision = 30;
			d.scale = 1;
			break;
		case C_UU:
			d.type = PQF_FIXED_LEN_BYTE_ARRAY;
			d.type_length = 16;
			d.logical = PQF_LT_UUID;
			break;
		case C_BL:
			d.type = PQF_BYTE_ARRAY;
			break;
	}
	return d;
}

/* a big-endian two's complement of v in n bytes */
static void
be_bytes(int64_t v, uint8_t *out, int n)
{
	for (int k = n - 1; k >= 0; k--)
	{
		out[k] = (uint8_t) (v & 0xff);
		v >>= 8;
	}
}

/* the expected cell of row i: fills *e; string values into sbuf */
static void
expected(int c, int64_t i, Cell *e, uint8_t *sbuf, int dec30_len)
{
	memset(e, 0, sizeof(*e));
	switch (c)
	{
		case C_ID:
			e->i = i;
			break;
		case C_I32:
			e->i = i - 2500;
			break;
		case C_I16:
		case C_I8:
			e->i = i % 200 - 100;
			break;
		case C_U8:
			e->i = i % 250;
			break;
		case C_U16:
			e->i = i * 7;
			break;
		case C_U32:
			e->i = (int32_t) (uint32_t) (i * 100000);
			break;
		case C_U64:
			e->i = (int64_t) ((uint64_t) i * UINT64_C(3000000000000000));
			break;
		case C_N64:
			e->null = i % 7 == 0;
			e->i = e->null ? 0 : i * 3;
			break;
		case C_F64:
			e->d = i * 0.25;
			break;
		case C_F32:
			e->d = (float) (i * 0.5);
			break;
		case C_B:
			e->i = i % 3 == 0;
			break;
		case C_NB:
			e->null = i % 11 == 0;
			e->i = e->null ? 0 : i % 5 == 0;
			break;
		case C_SDICT:
			e->len = (uint32_t) sprintf((char *) sbuf, "k%d", (int) (i % 37));
			e->s = sbuf;
			break;
		case C_SPLAIN:
			e->null = i % 13 == 0;
			if (!e->null)
			{
				e->len = (uint32_t) sprintf((char *) sbuf, "value-%d", (int) i);
				e->s = sbuf;
			}
			break;
		case C_D:
			e->i = 10957 + i;
			break;
		case C_TS:
		case C_TSTZ:
			e->i = (INT64_C(946684800) + i) * 1000000;
			break;
		case C_TSMS:
			e->i = INT64_C(946684800000) + i * 1001;
			break;
		case C_TSNS:
			e->i = INT64_C(946684800000000000) + i * 1000003 * 1000;
			break;
		case C_TM:
			e->i = i * 1000000;
			break;
		case C_DEC4:
			e->i = i % 1000;
			break;
		case C_DEC18:
			e->i = i * 1001;
			break;
		case C_DEC30:
			be_bytes(i * 15, sbuf, dec30_len);
			e->s = sbuf;
			e->len = (uint32_t) dec30_len;
			break;
		case C_UU:
			{
				char		hex[16];
				uint64_t	x;

				snprintf(hex, sizeof(hex), "%012d", (int) i);
				x = strtoull(hex, NULL, 16);
				memset(sbuf, 0, 16);
				be_bytes((int64_t) x, sbuf + 8, 8);
				e->s = sbuf;
				e->len = 16;
				break;
			}
		case C_BL:
			e->len = (uint32_t) sprintf((char *) sbuf, "b%d", (int) i);
			e->s = sbuf;
			break;
	}
}

/* compare a table read back with the formula; returns the number of bad cells */
static int64_t
check_table(const Table *t, const int *colmap, int dec30_len, char *why, size_t whylen)
{
	int64_t		bad = 0;
	uint8_t		sbuf[64];

	why[0] = '\0';
	for (int c = 0; c < t->ncols; c++)
		for (int64_t r = 0; r < t->nrows; r++)
		{
			const Cell *x = &t->col[c][r];
			Cell		e;
			bool		ok;
			int			k = colmap[c];

			expected(k, r, &e, sbuf, dec30_len);
			if (e.null || x->null)
				ok = e.null == x->null;
			else if (k == C_F64 || k == C_F32)
				ok = x->d == e.d;
			else if (e.s)
				ok = x->len == e.len && memcmp(x->s, e.s, e.len) == 0;
			else
				ok = x->i == e.i;
			if (!ok)
			{
				if (bad == 0)
					snprintf(why, whylen, "%s row %lld: got %lld/%g/%.*s", col_names[k],
							 (long long) r, (long long) x->i, x->d, (int) x->len,
							 x->s ? (char *) x->s : "");
				bad++;
			}
		}
	return bad;
}

/* ---- encodings, from the specification ---------------------------------- */

/* a DELTA_BINARY_PACKED encoder for the tests (the writer emits PLAIN) */
static void
t_delta_encode(PqfBuf *b, const int64_t *v, int n, int block, int nmini)
{
	int			per = block / nmini;

	pqf_buf_uleb(b, block);
	pqf_buf_uleb(b, nmini);
	pqf_buf_uleb(b, n);
	pqf_buf_uleb(b, n ? ((uint64_t) v[0] << 1) ^ (uint64_t) (v[0] >> 63) : 0);
	for (int s = 1; s < n; s += block)
	{
		int			cnt = n - s < block ? n - s : block;
		uint64_t	d[1024];
		int64_t		mn = INT64_MAX;
		uint8_t		widths[64];

		for (int k = 0; k < cnt; k++)
		{
			d[k] = (uint64_t) v[s + k] - (uint64_t) v[s + k - 1];
			if ((int64_t) d[k] < mn)
				mn = (int64_t) d[k];
		}
		pqf_buf_uleb(b, ((uint64_t) mn << 1) ^ (uint64_t) (mn >> 63));
		for (int m = 0; m < nmini; m++)
		{
			uint64_t	mx = 0;

			for (int k = m * per; k < (m + 1) * per && k < cnt; k++)
				if (d[k] - (uint64_t) mn > mx)
					mx = d[k] - (uint64_t) mn;
			widths[m] = (uint8_t) (m * per < cnt ? pqf_bit_width(mx) : 0);
		}
		pqf_buf_put(b, widths, nmini);
		for (int m = 0; m < nmini && m * per < cnt; m++)
		{
			unsigned __int128 acc = 0;
			int			nb = 0;

			for (int k = m * per; k < (m + 1) * per; k++)
			{
				uint64_t	x = k < cnt ? d[k] - (uint64_t) mn : 0;

				acc |= (unsigned __int128) x << nb;
				nb += widths[m];
				while (nb >= 8)
				{
					uint8_t		c = (uint8_t) acc;

					pqf_buf_put(b, &c, 1);
					acc >>= 8;
					nb -= 8;
				}
			}
		}
	}
}

static void
test_rle(void)
{
	uint32_t	seed = 12345;
	bool		all_ok = true;

	for (int bw = 1; bw <= 32 && all_ok; bw++)
		for (int trial = 0; trial < 4; trial++)
		{
			int			n = 1 + (int) (seed % 3000);
			uint32_t   *v = malloc(n * sizeof(uint32_t));
			uint32_t   *got = malloc((n + 8) * sizeof(uint32_t));
			PqfBuf		b = {0};
			PqfRle		d;
			uint64_t	mask = bw == 32 ? 0xffffffffu : ((UINT64_C(1) << bw) - 1);

			for (int i = 0; i < n; i++)
			{
				seed = seed * 1103515245u + 12345u;
				/* runs and noise */
				v[i] = (trial % 2 == 0 && i > 0 && (seed >> 28) < 12) ? v[i - 1]
					: (uint32_t) ((seed >> 3) & mask);
			}
			pqf_rle_encode(&b, v, n, bw);
			pqf_rle_init(&d, b.data, b.data + b.len, bw);
			if (pqf_rle_u32(&d, got, n) != n || memcmp(got, v, n * sizeof(uint32_t)) != 0)
				all_ok = false;
			free(v);
			free(got);
			pqf_buf_free(&b);
		}
	CHECK(all_ok, "RLE/bit-packed hybrid round-trips widths 1..32, runs and noise");

	{
		/* the specification's example: bit-packed 0..7 with width 3 */
		const uint8_t bp[] = {0x03, 0x88, 0xC6, 0xFA};
		uint32_t	out[8];
		PqfRle		d;
		bool		ok = true;

		pqf_rle_init(&d, bp, bp + sizeof(bp), 3);
		ok = pqf_rle_u32(&d, out, 8) == 8;
		for (int i = 0; i < 8 && ok; i++)
			ok = out[i] == (uint32_t) i;
		CHECK(ok, "bit-packed run of the specification's example decodes to 0..7");
	}
	{
		/* a run that claims more than the bytes hold stops, it does not read past */
		const uint8_t bp[] = {0x7f, 0xff};
		uint32_t	out[64];
		PqfRle		d;

		pqf_rle_init(&d, bp, bp + sizeof(bp), 8);
		UNIT_CHECK_INT(pqf_rle_u32(&d, out, 64), 1, "a truncated bit-packed run yields only the values present");
	}
}

static void
test_delta(void)
{
	static const int64_t cases[][12] = {
		{1, 2, 3, 4, 5},
		{7, 5, 3, 1, 2, 3, 4, 5},
		{INT64_MIN, INT64_MAX, 0, -1, INT64_MAX, INT64_MIN, 1, 2, 3},
	};
	static const int lens[] = {5, 8, 9};
	bool		ok = true;

	for (int c = 0; c < 3; c++)
	{
		PqfBuf		b = {0};
		PqfDelta	d;
		int64_t		out[16];

		t_delta_encode(&b, cases[c], lens[c], 128, 4);
		ok = ok && pqf_delta_init(&d, b.data, b.data + b.len) == 0 &&
			pqf_delta_get(&d, out, 16) == lens[c] &&
			memcmp(out, cases[c], lens[c] * sizeof(int64_t)) == 0;
		pqf_buf_free(&b);
	}
	CHECK(ok, "DELTA_BINARY_PACKED: small streams with wrap-around deltas decode");

	{
		int			n = 1 + 256 * 4;	/* the last miniblock full: no padding */
		int64_t    *v = malloc(n * sizeof(int64_t));
		int64_t    *out = malloc(n * sizeof(int64_t));
		PqfBuf		b = {0};
		PqfDelta	d;
		PqfDelta	s;
		int64_t		got = 0;
		const uint8_t *end;

		for (int i = 0; i < n; i++)
			v[i] = (int64_t) i * i * (i % 2 ? -1 : 1);
		t_delta_encode(&b, v, n, 256, 8);
		pqf_buf_put(&b, "TAIL", 4);
		pqf_delta_init(&d, b.data, b.data + b.len);
		s = d;
		while (got < n)
		{
			int64_t		k = pqf_delta_get(&d, out + got, 1 + got % 77);

			if (k <= 0)
				break;
			got += k;
		}
		CHECK(got == n && memcmp(out, v, n * sizeof(int64_t)) == 0,
				   "DELTA_BINARY_PACKED: 1025 values over several blocks, read in odd batches");
		end = pqf_delta_skip(&s);
		CHECK(end != NULL && end == b.data + b.len - 4 && memcmp(end, "TAIL", 4) == 0,
				   "DELTA_BINARY_PACKED: skipping finds the end of the stream");
		/* every truncation fails or stops short, never reads past */
		{
			bool		trunc_ok = true;

			for (size_t cut = 0; cut + 4 < b.len; cut += 7)
			{
				PqfDelta	t;
				uint8_t    *copy = malloc(cut + 1);

				memcpy(copy, b.data, cut);
				if (pqf_delta_init(&t, copy, copy + cut) == 0 && pqf_delta_get(&t, out, n) == n)
					trunc_ok = false;
				free(copy);
			}
			CHECK(trunc_ok, "DELTA_BINARY_PACKED: truncated streams end early");
		}
		free(v);
		free(out);
		pqf_buf_free(&b);
	}
}

/* a column reader set up by hand over one page's value bytes */
static void
fake_reader(PqfColReader *c, PqfColumn *col)
{
	memset(c, 0, sizeof(*c));
	c->col = col;
	c->width = col->type == PQF_BYTE_ARRAY ? 0 : col->type == PQF_BOOLEAN ? 1 :
		col->type == PQF_INT32 || col->type == PQF_FLOAT ? 4 :
		col->type == PQF_INT64 || col->type == PQF_DOUBLE ? 8 : col->type_length;
	c->vals = malloc(PQF_BATCH * 16);
	c->idx = malloc(PQF_BATCH * 4);
	c->tmp = malloc(PQF_BATCH * 8);
	c->tmp2 = malloc(PQF_BATCH * 8);
	c->defined = malloc(PQF_BATCH);
}

static void
test_byte_array_encodings(void)
{
	PqfColumn	col = {.name = "s", .type = PQF_BYTE_ARRAY};
	PqfColReader c;
	PqfError	err;
	PqfBuf		b = {0};
	/* DELTA_BYTE_ARRAY of the specification's example */
	static const char *words[] = {"axis", "axle", "babble", "babyhood"};
	int64_t		pre[] = {0, 2, 0, 3};
	int64_t		suf[] = {4, 2, 6, 5};
	const char *sufs = "axislebabbleyhood";
	bool		ok;
	PqfBytes   *v;

	t_delta_encode(&b, pre, 4, 128, 4);
	t_delta_encode(&b, suf, 4, 128, 4);
	pqf_buf_put(&b, sufs, strlen(sufs));
	fake_reader(&c, &col);
	ok = start_values(&c, PQF_ENC_DELTA_BYTE_ARRAY, b.data, b.data + b.len, &err) == 0 &&
		decode_values(&c, 2, &err) == 0;
	v = (PqfBytes *) c.vals;
	ok = ok && v[0].len == 4 && memcmp(v[0].ptr, "axis", 4) == 0 &&
		v[1].len == 4 && memcmp(v[1].ptr, "axle", 4) == 0;
	/* the previous value carries across batches */
	ok = ok && decode_values(&c, 2, &err) == 0;
	for (int i = 0; i < 2 && ok; i++)
		ok = v[i].len == strlen(words[2 + i]) && memcmp(v[i].ptr, words[2 + i], v[i].len) == 0;
	CHECK(ok, "DELTA_BYTE_ARRAY: the specification's axis/axle/babble/babyhood, in two batches");
	CHECK(decode_values(&c, 1, &err) == PQF_E_CORRUPT, "DELTA_BYTE_ARRAY: a fifth value is an error");
	col_free(&c);
	pqf_buf_free(&b);

	/* a prefix longer than the previous value is corrupt */
	{
		int64_t		bad_pre[] = {0, 9};
		int64_t		bad_suf[] = {1, 1};

		t_delta_encode(&b, bad_pre, 2, 128, 4);
		t_delta_encode(&b, bad_suf, 2, 128, 4);
		pqf_buf_put(&b, "ab", 2);
		fake_reader(&c, &col);
		ok = start_values(&c, PQF_ENC_DELTA_BYTE_ARRAY, b.data, b.data + b.len, &err) == 0 &&
			decode_values(&c, 2, &err) == PQF_E_CORRUPT;
		CHECK(ok, "DELTA_BYTE_ARRAY: a prefix longer than the previous value is an error");
		col_free(&c);
		pqf_buf_free(&b);
	}

	/* RLE booleans (data page v2 style: a 4-byte length, then the hybrid) */
	{
		PqfColumn	bc = {.name = "b", .type = PQF_BOOLEAN};
		uint8_t		vals[100];
		PqfBuf		r = {0};
		uint32_t	len;

		for (int i = 0; i < 100; i++)
			vals[i] = (i % 3 == 0) || (i > 50 && i < 80);
		pqf_rle_encode_u8(&r, vals, 100, 1);
		len = (uint32_t) r.len;
		pqf_buf_put(&b, &len, 4);
		pqf_buf_put(&b, r.data, r.len);
		fake_reader(&c, &bc);
		ok = start_values(&c, PQF_ENC_RLE, b.data, b.data + b.len, &err) == 0 &&
			decode_values(&c, 100, &err) == 0 && memcmp(c.vals, vals, 100) == 0;
		CHECK(ok, "RLE-encoded booleans decode");
		col_free(&c);
		pqf_buf_free(&b);
		pqf_buf_free(&r);
	}
	/* encodings that do not fit the type are unsupported, not misread */
	{
		PqfColumn	ic = {.name = "i", .type = PQF_INT32};

		fake_reader(&c, &ic);
		UNIT_CHECK_INT(start_values(&c, PQF_ENC_DELTA_LENGTH_BYTE_ARRAY, (const uint8_t *) "x",
									(const uint8_t *) "x" + 1, &err), PQF_E_UNSUPPORTED,
					   "DELTA_LENGTH_BYTE_ARRAY on INT32 is reported unsupported");
		CHECK(strstr(err.msg, "column \"i\"") != NULL, "... naming the column: %s", err.msg);
		col_free(&c);
	}
}

/* ---- writer round trip --------------------------------------------------- */

/* write the formula's table with this writer */
static int
write_table(PqfBuf *out, PqfCodec codec, int64_t rg_rows, int64_t page_bytes, PqfError *err)
{
	PqfColumn	cols[NCOLS];
	PqfWriter  *w;
	PqfOutput	o = {buf_write, out};
	PqfWriteOptions opt;
	uint8_t		sbuf[64];
	int			rc;

	for (int c = 0; c < NCOLS; c++)
		cols[c] = col_desc(c);
	pqf_write_defaults(&opt);
	opt.codec = codec;
	opt.row_group_rows = rg_rows;
	opt.page_bytes = page_bytes;
	opt.page_v2 = write_v2;
	if ((rc = pqf_writer_open(&w, &o, cols, NCOLS, &opt, err)) < 0)
		return rc;
	for (int64_t i = 0; i < NROWS; i++)
	{
		for (int c = 0; c < NCOLS; c++)
		{
			Cell		e;

			expected(c, i, &e, sbuf, 13);
			if (e.null)
				pqf_put_null(w, c);
			else if (cols[c].type == PQF_BOOLEAN)
				pqf_put_bool(w, c, e.i != 0);
			else if (cols[c].type == PQF_INT32)
				pqf_put_i32(w, c, (int32_t) e.i);
			else if (cols[c].type == PQF_INT64)
				pqf_put_i64(w, c, e.i);
			else if (cols[c].type == PQF_FLOAT)
				pqf_put_float(w, c, (float) e.d);
			else if (cols[c].type == PQF_DOUBLE)
				pqf_put_double(w, c, e.d);
			else
				pqf_put_bytes(w, c, e.s, e.len);
		}
		if ((rc = pqf_end_row(w, err)) < 0)
		{
			pqf_writer_free(w);
			return rc;
		}
	}
	rc = pqf_writer_finish(w, err);
	pqf_writer_free(w);
	return rc;
}

static const PqfCodec codecs[] = {PQF_UNCOMPRESSED, PQF_SNAPPY, PQF_GZIP, PQF_ZSTD};
static const char *codec_sql[] = {"uncompressed", "snappy", "gzip", "zstd"};

static void
test_writer_roundtrip(void)
{
	int			colmap[NCOLS];

	for (int c = 0; c < NCOLS; c++)
		colmap[c] = c;
	for (int k = 0; k < 8; k++)
	{
		PqfBuf		out = {0};
		PqfError	err = {0};
		MemIn		m;
		Table		t;
		char		why[200];
		int			rc;

		write_v2 = k >= 4;
		rc = write_table(&out, codecs[k % 4], 1500, 4096, &err);
		write_v2 = false;
		CHECK(rc == 0, "writer (%s, pages v%d, row groups of 1500, 4 KB pages) writes the table: %s",
			  codec_sql[k % 4], k >= 4 ? 2 : 1, err.msg);
		memset(&m, 0, sizeof(m));
		m.data = out.data;
		m.len = out.len;
		rc = read_all(&m, &t, &err);
		CHECK(rc == 0 && t.nrows == NROWS && t.ncols == NCOLS,
				   "reader reads it back (%s, v%d): %lld rows, %s", codec_sql[k % 4], k >= 4 ? 2 : 1,
				   (long long) t.nrows, err.msg);
		if (rc == 0)
			UNIT_CHECK_INT(check_table(&t, colmap, 13, why, sizeof(why)), 0,
						   "every value round-trips (%s, v%d) %s", codec_sql[k % 4], k >= 4 ? 2 : 1, why);
		table_free(&t);
		if (k == 1 || k == 5)
		{
			char		path[512];

			snprintf(path, sizeof(path), "%s/ours_small_pages%s.parquet", tmpdir, k == 5 ? "_v2" : "");
			save_file(path, &out);
		}
		pqf_buf_free(&out);
	}

	/* statistics of the footer */
	{
		PqfBuf		out = {0};
		PqfError	err = {0};
		MemIn		m = {0};
		PqfFile    *f;

		write_table(&out, PQF_SNAPPY, 100000, 1 << 20, &err);
		m.data = out.data;
		m.len = out.len;
		if (open_mem(&m, &f, &err) == 0)
		{
			const PqfChunkMeta *id = &f->meta.rgs[0].cols[C_ID];
			const PqfChunkMeta *n64 = &f->meta.rgs[0].cols[C_N64];
			const PqfChunkMeta *sd = &f->meta.rgs[0].cols[C_SDICT];
			const PqfChunkMeta *u64 = &f->meta.rgs[0].cols[C_U64];
			int64_t		mn = -1;
			int64_t		mx = -1;
			uint64_t	umx = 0;

			if (id->stats.has_min && id->stats.min_len == 8)
				memcpy(&mn, id->stats.min, 8);
			if (id->stats.has_max && id->stats.max_len == 8)
				memcpy(&mx, id->stats.max, 8);
			CHECK(mn == 0 && mx == NROWS - 1, "statistics: id min 0, max 4999 (got %lld, %lld)",
					   (long long) mn, (long long) mx);
			CHECK(n64->stats.has_null_count && n64->stats.null_count == (NROWS + 6) / 7,
					   "statistics: null_count of n64 is %d", (NROWS + 6) / 7);
			CHECK(sd->stats.has_min && sd->stats.min_len == 2 && memcmp(sd->stats.min, "k0", 2) == 0 &&
					   sd->stats.has_max && sd->stats.max_len == 2 && memcmp(sd->stats.max, "k9", 2) == 0,
					   "statistics: strings min k0, max k9");
			CHECK(sd->dictionary_page_offset > 0, "37 distinct strings are dictionary-encoded");
			CHECK(f->meta.rgs[0].cols[C_SPLAIN].dictionary_page_offset < 0,
					   "5000 distinct strings are PLAIN");
			if (u64->stats.has_max)
				memcpy(&umx, u64->stats.max, 8);
			CHECK(umx == (uint64_t) 4999 * UINT64_C(3000000000000000),
					   "statistics: an unsigned 64-bit maximum compares unsigned");
			pqf_close(f);
		}
		else
			CHECK(0, "open own file: %s", err.msg);
		pqf_buf_free(&out);
	}

	/* misuse of the writer is an error, not a bad file */
	{
		PqfBuf		out = {0};
		PqfOutput	o = {buf_write, &out};
		PqfColumn	cols[2] = {{.name = "a", .type = PQF_INT32}, {.name = "b", .type = PQF_BYTE_ARRAY, .optional = true}};
		PqfWriter  *w;
		PqfError	err = {0};

		pqf_writer_open(&w, &o, cols, 2, NULL, &err);
		pqf_put_i32(w, 0, 1);
		CHECK(pqf_end_row(w, &err) == PQF_E_ARG && strstr(err.msg, "\"b\"") != NULL,
				   "a row missing a column's value is an error naming it: %s", err.msg);
		pqf_writer_free(w);
		out.len = 0;
		pqf_writer_open(&w, &o, cols, 2, NULL, &err);
		pqf_put_null(w, 0);
		pqf_put_null(w, 1);
		CHECK(pqf_end_row(w, &err) == PQF_E_ARG, "a NULL in a REQUIRED column is an error: %s", err.msg);
		pqf_writer_free(w);
		out.len = 0;
		/* an empty file is valid Parquet */
		pqf_writer_open(&w, &o, cols, 2, NULL, &err);
		CHECK(pqf_writer_finish(w, &err) == 0, "an empty file can be written");
		pqf_writer_free(w);
		{
			MemIn		m = {0};
			PqfFile    *f;

			m.data = out.data;
			m.len = out.len;
			CHECK(open_mem(&m, &f, &err) == 0 && pqf_num_rows(f) == 0 &&
					   pqf_num_row_groups(f) == 0 && pqf_ncolumns(f) == 2,
					   "an empty file reads as two columns and no rows");
			if (f)
				pqf_close(f);
		}
		pqf_buf_free(&out);
	}
}

/* ---- DuckDB fixtures --------------------------------------------------------- */

static void
test_duckdb_fixtures(void)
{
	const char *sql[16];
	char		copies[8][512];
	int			n = 0;
	char	   *out;
	int			colmap[NCOLS];

	sql[n++] = gen_sql;
	for (int v = 1; v <= 2; v++)
		for (int k = 0; k < 4; k++)
		{
			snprintf(copies[n - 1], sizeof(copies[0]),
					 "COPY t TO '%s/duck_v%d_%s.parquet' (FORMAT parquet, PARQUET_VERSION v%d, "
					 "COMPRESSION %s, ROW_GROUP_SIZE 2048)", tmpdir, v, codec_sql[k], v, codec_sql[k]);
			sql[n] = copies[n - 1];
			n++;
		}
	sql[n++] = "SELECT 1";
	out = duckdb(n, sql);
	CHECK(out != NULL, "DuckDB writes 8 fixtures (v1 and v2, four codecs)");
	free(out);
	if (out == NULL)
		return;

	for (int v = 1; v <= 2; v++)
		for (int k = 0; k < 4; k++)
		{
			char		path[512];
			MemIn		m;
			Table		t;
			PqfError	err = {0};
			char		why[200];
			int			rc;
			PqfFile    *f;

			snprintf(path, sizeof(path), "%s/duck_v%d_%s.parquet", tmpdir, v, codec_sql[k]);
			if (!load_file(path, &m))
			{
				CHECK(0, "load %s", path);
				continue;
			}
			/* the schema as this reader sees it */
			if (open_mem(&m, &f, &err) == 0)
			{
				bool		names_ok = pqf_ncolumns(f) == NCOLS;

				for (int c = 0; c < NCOLS && names_ok; c++)
				{
					names_ok = strcmp(pqf_column(f, c)->name, col_names[c]) == 0;
					colmap[c] = c;
				}
				if (v == 1 && k == 1)
				{
					const PqfColumn *c;

					c = pqf_column(f, C_U64);
					CHECK(c->logical == PQF_LT_INT && c->bit_width == 64 && !c->is_signed,
							   "schema: u64 is INT(64, unsigned)");
					c = pqf_column(f, C_TSNS);
					CHECK(c->logical == PQF_LT_TIMESTAMP && c->unit == PQF_NANOS && !c->utc,
							   "schema: tsns is TIMESTAMP(NANOS, local)");
					c = pqf_column(f, C_TSTZ);
					CHECK(c->logical == PQF_LT_TIMESTAMP && c->unit == PQF_MICROS && c->utc,
							   "schema: tstz is TIMESTAMP(MICROS, UTC)");
					c = pqf_column(f, C_DEC30);
					CHECK(c->logical == PQF_LT_DECIMAL && c->precision == 30 && c->scale == 1 &&
							   c->type == PQF_FIXED_LEN_BYTE_ARRAY && c->type_length == 16,
							   "schema: dec30 is DECIMAL(30,1) in 16 fixed bytes");
					c = pqf_column(f, C_UU);
					CHECK(c->logical == PQF_LT_UUID, "schema: uu is UUID");
					c = pqf_column(f, C_SDICT);
					CHECK(c->logical == PQF_LT_STRING && c->optional, "schema: sdict is an optional string");
					c = pqf_column(f, C_TM);
					CHECK(c->logical == PQF_LT_TIME && c->unit == PQF_MICROS, "schema: tm is TIME(MICROS)");
				}
				CHECK(names_ok && pqf_num_rows(f) == NROWS && pqf_num_row_groups(f) >= 2,
						   "duck v%d %s: %d columns, %lld rows in %d row groups", v, codec_sql[k],
						   pqf_ncolumns(f), (long long) pqf_num_rows(f), pqf_num_row_groups(f));
				pqf_close(f);
			}
			else
				CHECK(0, "duck v%d %s opens: %s", v, codec_sql[k], err.msg);
			rc = read_all(&m, &t, &err);
			CHECK(rc == 0 && t.nrows == NROWS, "duck v%d %s: every column decodes (%s)", v,
					   codec_sql[k], err.msg);
			if (rc == 0)
				UNIT_CHECK_INT(check_table(&t, colmap, 16, why, sizeof(why)), 0,
							   "duck v%d %s: every value matches the formula %s", v, codec_sql[k], why);
			table_free(&t);

			/* column projection: only the chosen chunks' bytes are fetched */
			if (k == 1)
			{
				PqfFile    *pf;
				int			want[2] = {C_SPLAIN, C_ID};
				Table		pt;
				bool		inside = true;
				uint64_t	chunk_bytes = 0;
				int			plain_reads = 0;

				m.nranges = 0;
				m.bytes_read = 0;
				if (open_mem(&m, &pf, &err) == 0)
				{
					int			map2[2] = {C_SPLAIN, C_ID};
					int			first_data = m.nranges;

					rc = read_table(pf, want, 2, &pt, &err);
					CHECK(rc == 0 && check_table(&pt, map2, 16, why, sizeof(why)) == 0,
							   "duck v%d: projecting splain, id reads them right %s %s", v, err.msg, why);
					plain_reads = m.nranges - first_data;
					/* a read may cover adjacent projected chunks (one read per row group) */
					for (int r = first_data; r < m.nranges; r++)
					{
						uint64_t	covered = 0;

						for (int g = 0; g < pf->meta.nrg; g++)
							for (int j = 0; j < 2; j++)
							{
								const PqfChunkMeta *cm = &pf->meta.rgs[g].cols[want[j]];
								uint64_t	s = cm->dictionary_page_offset > 0 &&
									cm->dictionary_page_offset < cm->data_page_offset ?
									(uint64_t) cm->dictionary_page_offset : (uint64_t) cm->data_page_offset;
								uint64_t	e = s + (uint64_t) cm->total_compressed;
								uint64_t	a = m.lo[r] > s ? m.lo[r] : s;
								uint64_t	b = m.hi[r] < e ? m.hi[r] : e;

								if (b > a)
									covered += b - a;
							}
						inside = inside && covered == m.hi[r] - m.lo[r];
					}
					for (int g = 0; g < pf->meta.nrg; g++)
						for (int j = 0; j < 2; j++)
							chunk_bytes += (uint64_t) pf->meta.rgs[g].cols[want[j]].total_compressed;
					CHECK(inside, "duck v%d: every read lies inside projected column chunks", v);
					CHECK(m.bytes_read < m.len / 4,
							   "duck v%d: 2 of 26 columns fetch %llu of %zu bytes (chunks %llu)", v,
							   (unsigned long long) m.bytes_read, m.len,
							   (unsigned long long) chunk_bytes);
					table_free(&pt);
					pqf_close(pf);
				}

				/*
				 * A remote input (request_bytes, prefetch): the same two
				 * columns come in fewer reads, gaps of other columns
				 * included, and every prefetch hint is followed by a read
				 * of exactly that range.  Reads are limited to a quarter of
				 * the data here, so that there are several.
				 */
				{
					PqfInput	rin = {mem_read_at, m.len, &m, hint_prefetch, m.len};
					int			map2[2] = {C_SPLAIN, C_ID};

					m.nranges = 0;
					m.bytes_read = 0;
					nhints = 0;
					if (pqf_open(&pf, &rin, &err) == 0)
					{
						int			first_data = m.nranges;
						bool		hints_read = true;

						pf->span_max = pf->data_end / 4;
						rc = read_table(pf, want, 2, &pt, &err);
						CHECK(rc == 0 && check_table(&pt, map2, 16, why, sizeof(why)) == 0,
							  "duck v%d: projecting splain, id through a remote input reads them right %s %s",
							  v, err.msg, why);
						CHECK(m.nranges - first_data < plain_reads && m.nranges - first_data >= 2 &&
							  m.nranges - first_data <= pf->meta.nrg,
							  "duck v%d: gaps are read through: %d reads instead of %d for %d row groups", v,
							  m.nranges - first_data, plain_reads, pf->meta.nrg);
						for (int h = 0; h < nhints; h++)
						{
							bool		found = false;

							for (int r = first_data; r < m.nranges; r++)
								found = found || (m.lo[r] == hint_lo[h] && m.hi[r] == hint_hi[h]);
							hints_read = hints_read && found;
						}
						CHECK(nhints == m.nranges - first_data - 1 && hints_read,
							  "duck v%d: each read but the first was hinted first (%d hints, %d reads)", v,
							  nhints, m.nranges - first_data);
						table_free(&pt);
						pqf_close(pf);
					}
					else
						CHECK(0, "duck v%d opens through a remote input: %s", v, err.msg);
				}
			}
			free(m.data);
		}
}

/* DuckDB reads the files this writer produced: same rows, same types */
static void
test_duckdb_reads_ours(void)
{
	char		paths[4][512];
	char		q[8192];
	const char *sql[4];
	char	   *out;
	size_t		len = 0;

	for (int k = 0; k < 4; k++)
	{
		PqfBuf		b = {0};
		PqfError	err = {0};

		snprintf(paths[k], sizeof(paths[k]), "%s/ours_%s.parquet", tmpdir, codec_sql[k]);
		CHECK(write_table(&b, codecs[k], 2000, 1 << 20, &err) == 0 && save_file(paths[k], &b),
				   "writer writes %s (%s)", paths[k], err.msg);
		pqf_buf_free(&b);
	}
	for (int k = 0; k < 4; k++)
	{
		const char *f = paths[k];

		len += (size_t) snprintf(q + len, sizeof(q) - len,
								 "%sSELECT '%s' AS codec, (SELECT count(*) FROM read_parquet('%s')) AS n, "
								 "(SELECT count(*) FROM (FROM read_parquet('%s') EXCEPT ALL FROM t)) AS extra, "
								 "(SELECT count(*) FROM (FROM t EXCEPT ALL FROM read_parquet('%s'))) AS missing, "
								 "(SELECT string_agg(column_type, ',') FROM (DESCRIBE FROM read_parquet('%s'))) = "
								 "(SELECT string_agg(column_type, ',') FROM (DESCRIBE FROM read_parquet('%s/duck_v1_snappy.parquet'))) "
								 "AS same_types",
								 k ? " UNION ALL " : "", codec_sql[k], f, f, f, f, tmpdir);
	}
	snprintf(q + len, sizeof(q) - len, " ORDER BY codec");
	sql[0] = gen_sql;
	sql[1] = q;
	out = duckdb(2, sql);
	UNIT_CHECK_STR(out,
				   "codec\tn\textra\tmissing\tsame_types\n"
				   "gzip\t5000\t0\t0\ttrue\n"
				   "snappy\t5000\t0\t0\ttrue\n"
				   "uncompressed\t5000\t0\t0\ttrue\n"
				   "zstd\t5000\t0\t0\ttrue\n",
				   "DuckDB reads this writer's files (four codecs): same 5000 rows and types");
	free(out);
	{
		char		q2[1024];
		const char *s2[1];

		snprintf(q2, sizeof(q2),
				 "SELECT string_agg(column_name || ' ' || column_type, ', ') FROM "
				 "(DESCRIBE FROM read_parquet('%s'))", paths[1]);
		s2[0] = q2;
		out = duckdb(1, s2);
		CHECK(out && strstr(out, "dec30 DECIMAL(30,1)") && strstr(out, "tstz TIMESTAMP WITH TIME ZONE") &&
				   strstr(out, "u64 UBIGINT") && strstr(out, "uu UUID") && strstr(out, "tsns TIMESTAMP_NS"),
				   "DuckDB's types for this writer's columns: %s", out ? out : "(none)");
		free(out);
	}
	/* many small pages and row groups, too */
	{
		char		q3[2048];
		const char *s3[2];

		snprintf(q3, sizeof(q3),
				 "SELECT (SELECT count(*) FROM (FROM read_parquet('%s/ours_small_pages.parquet') EXCEPT ALL FROM t)) + "
				 "(SELECT count(*) FROM (FROM t EXCEPT ALL FROM read_parquet('%s/ours_small_pages.parquet'))) AS diff",
				 tmpdir, tmpdir);
		s3[0] = gen_sql;
		s3[1] = q3;
		out = duckdb(2, s3);
		UNIT_CHECK_STR(out, "diff\n0\n", "DuckDB reads this writer's 4 KB pages and 1500-row groups");
		free(out);
		snprintf(q3, sizeof(q3),
				 "SELECT (SELECT count(*) FROM (FROM read_parquet('%s/ours_small_pages_v2.parquet') EXCEPT ALL FROM t)) + "
				 "(SELECT count(*) FROM (FROM t EXCEPT ALL FROM read_parquet('%s/ours_small_pages_v2.parquet'))) AS diff",
				 tmpdir, tmpdir);
		out = duckdb(2, s3);
		UNIT_CHECK_STR(out, "diff\n0\n", "DuckDB reads this writer's data pages v2 (RLE booleans, levels outside the codec)");
		free(out);
	}
}

/* INT96 timestamps: DuckDB reads them, it does not write them */
static void
test_int96(void)
{
	PqfColumn	cols[1] = {{.name = "t96", .type = PQF_INT96, .type_length = 12, .optional = true}};
	PqfBuf		b = {0};
	PqfOutput	o = {buf_write, &b};
	PqfWriter  *w;
	PqfError	err = {0};
	char		path[512];
	char		q[1024];
	const char *sql[1];
	char	   *out;
	/* 2001-02-03 04:05:06.789012: Julian day 2451944, nanoseconds of the day */
	int64_t		nanos = ((4 * 3600 + 5 * 60 + 6) * INT64_C(1000000) + 789012) * 1000;
	uint32_t	jd = 2451944;
	uint8_t		v[12];

	memcpy(v, &nanos, 8);
	memcpy(v + 8, &jd, 4);
	pqf_writer_open(&w, &o, cols, 1, NULL, &err);
	pqf_put_bytes(w, 0, v, 12);
	pqf_end_row(w, &err);
	pqf_put_null(w, 0);
	pqf_end_row(w, &err);
	CHECK(pqf_writer_finish(w, &err) == 0, "an INT96 column can be written");
	pqf_writer_free(w);
	snprintf(path, sizeof(path), "%s/int96.parquet", tmpdir);
	save_file(path, &b);
	snprintf(q, sizeof(q), "SELECT t96::VARCHAR AS t FROM read_parquet('%s')", path);
	sql[0] = q;
	out = duckdb(1, sql);
	UNIT_CHECK_STR(out, "t\n2001-02-03 04:05:06.789012\n\\N\n",
				   "DuckDB reads the INT96 value as the timestamp it encodes");
	free(out);
	{
		MemIn		m = {0};
		Table		t;

		m.data = b.data;
		m.len = b.len;
		CHECK(read_all(&m, &t, &err) == 0 && t.nrows == 2 && t.col[0][0].len == 12 &&
				   memcmp(t.col[0][0].s, v, 12) == 0 && t.col[0][1].null,
				   "the reader returns INT96 values as their 12 bytes");
		table_free(&t);
	}
	pqf_buf_free(&b);
}

static void
test_nested_and_errors(void)
{
	char		path[512];
	char		q[1024];
	const char *sql[1];
	char	   *out;
	MemIn		m;
	PqfFile    *f = NULL;
	PqfError	err = {0};

	snprintf(path, sizeof(path), "%s/nested.parquet", tmpdir);
	snprintf(q, sizeof(q),
			 "COPY (SELECT 1 AS a, [1, 2] AS l, {'x': 1, 'y': 'z'} AS s, 'after' AS z) TO '%s'", path);
	sql[0] = q;
	out = duckdb(1, sql);
	free(out);
	CHECK(load_file(path, &m), "DuckDB writes a file with list and struct columns");
	if (open_mem(&m, &f, &err) == 0)
	{
		int			a = pqf_find_column(f, "a");
		int			l = pqf_find_column(f, "l");
		int			s = pqf_find_column(f, "s");
		int			z = pqf_find_column(f, "z");
		int			flat[2] = {a, z};
		Table		t;

		CHECK(pqf_ncolumns(f) == 4 && pqf_column(f, l)->nested && pqf_column(f, s)->nested &&
				   !pqf_column(f, z)->nested, "top-level columns a, l (nested), s (nested), z");
		CHECK(pqf_project(f, &l, 1, &err) == PQF_E_NESTED && strstr(err.msg, "column \"l\""),
				   "projecting the list column is an error naming it: %s", err.msg);
		CHECK(read_table(f, flat, 2, &t, &err) == 0 && t.nrows == 1 && t.col[0][0].i == 1 &&
				   t.col[1][0].len == 5 && memcmp(t.col[1][0].s, "after", 5) == 0,
				   "the flat columns around them read (leaf indexes skip the nested ones): %s", err.msg);
		table_free(&t);
		pqf_close(f);
	}
	else
		CHECK(0, "nested file opens: %s", err.msg);
	free(m.data);

	/* not Parquet at all */
	{
		MemIn		c = {0};

		c.data = (uint8_t *) "a,b\n1,2\n3,4\n5,6\n";
		c.len = strlen((char *) c.data);
		CHECK(open_mem(&c, &f, &err) == PQF_E_CORRUPT && strstr(err.msg, "not a Parquet file"),
				   "a CSV file: %s", err.msg);
		c.data = (uint8_t *) "PAR1";
		c.len = 4;
		CHECK(open_mem(&c, &f, &err) == PQF_E_CORRUPT, "four bytes: %s", err.msg);
	}
}

/* ---- hostile input ----------------------------------------------------------- */

static void
fuzz_one(const uint8_t *data, size_t len, int *errors, int *oks)
{
	MemIn		m = {0};
	Table		t;
	PqfError	err = {0};

	m.data = (uint8_t *) data;
	m.len = len;
	if (read_all(&m, &t, &err) < 0)
	{
		(*errors)++;
		if (err.msg[0] == '\0')
			(*oks) -= 1000000;	/* an error without a message fails the check */
	}
	else
		(*oks)++;
	table_free(&t);
}

static void
test_hostile(void)
{
	const char *files[] = {"duck_v1_snappy", "duck_v2_zstd", "duck_v2_gzip", "ours_small_pages",
	"ours_small_pages_v2"};

	for (int fi = 0; fi < 5; fi++)
	{
		char		path[512];
		MemIn		m;
		int			errors = 0;
		int			oks = 0;
		uint32_t	seed = 777 + fi;
		uint8_t    *copy;

		snprintf(path, sizeof(path), "%s/%s.parquet", tmpdir, files[fi]);
		if (!load_file(path, &m))
		{
			CHECK(0, "load %s", path);
			continue;
		}
		copy = malloc(m.len);
		/* truncations keep the tail (footer) when cut from the front is pointless:
		 * cut the end, and also cut a middle slice out */
		for (size_t cut = 0; cut < m.len; cut += 1 + m.len / 50)
		{
			fuzz_one(m.data, cut, &errors, &oks);
			memcpy(copy, m.data, cut);
			memcpy(copy + cut, m.data + m.len - (m.len - cut) / 2, (m.len - cut) / 2);
			fuzz_one(copy, cut + (m.len - cut) / 2, &errors, &oks);
		}
		/* byte changes anywhere, and in the footer where they hurt most */
		for (int it = 0; it < 160; it++)
		{
			size_t		pos;
			int			nflip = 1 + it % 4;

			memcpy(copy, m.data, m.len);
			for (int k = 0; k < nflip; k++)
			{
				seed = seed * 1103515245u + 12345u;
				pos = it % 2 ? (seed >> 4) % m.len : m.len - 1 - (seed >> 4) % (m.len < 4000 ? m.len : 4000);
				seed = seed * 1103515245u + 12345u;
				copy[pos] = it % 3 == 0 ? (uint8_t) (seed >> 16) : copy[pos] ^ (uint8_t) (1 << ((seed >> 8) % 8));
			}
			fuzz_one(copy, m.len, &errors, &oks);
		}
		CHECK(oks >= 0 && errors > 0,
				   "%s: %d truncated or changed copies give an error with a message, %d still read, none crash",
				   files[fi], errors, oks);
		free(copy);
		free(m.data);
	}

	/* a footer that claims more than the file holds */
	{
		uint8_t		f[64];

		memset(f, 0, sizeof(f));
		memcpy(f, "PAR1", 4);
		memcpy(f + 60, "PAR1", 4);
		f[56] = 0xff;
		f[57] = 0xff;
		f[58] = 0xff;
		f[59] = 0x7f;
		{
			MemIn		m = {0};
			PqfFile    *pf;
			PqfError	err = {0};

			m.data = f;
			m.len = sizeof(f);
			CHECK(open_mem(&m, &pf, &err) == PQF_E_CORRUPT && strstr(err.msg, "footer length"),
					   "a footer length of 2 GB in a 64-byte file: %s", err.msg);
		}
	}
	/* a list claiming 2^31 schema elements in a few bytes is refused before allocating */
	{
		PqfBuf		b = {0};
		PqfTOut		t;
		PqfFileMeta meta;
		PqfError	err = {0};

		pqft_begin(&t, &b);
		pqft_field(&t, 2, PQFT_LIST);
		{
			uint8_t		h = 0xf0 | PQFT_STRUCT;

			pqf_buf_put(&b, &h, 1);
			pqf_buf_uleb(&b, UINT64_C(2147483647));
		}
		pqft_stop(&t);
		CHECK(pqf_parse_footer(b.data, b.len, &meta, &err) == PQF_E_CORRUPT,
				   "a list of 2^31 elements in 8 bytes: %s", err.msg);
		pqf_free_meta(&meta);
		pqf_buf_free(&b);
	}
}

int
main(void)
{
	const char *here = __FILE__;
	const char *p = strstr(here, "/test/unit/test_parquet.c");

	if (p == NULL || here[0] != '/')
	{
		printf("not ok 1 - cannot find the repository from %s\n", here);
		return 1;
	}
	memcpy(repo, here, p - here);
	repo[p - here] = '\0';
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/metaetl-pqtest-%d", (int) getpid());
	if (mkdir(tmpdir, 0755) != 0 && errno != EEXIST)
	{
		printf("not ok 1 - mkdir %s\n", tmpdir);
		return 1;
	}

	test_rle();
	test_delta();
	test_byte_array_encodings();
	test_writer_roundtrip();
	test_duckdb_fixtures();
	test_duckdb_reads_ours();
	test_int96();
	test_nested_and_errors();
	test_hostile();

	{
		char		cmd[400];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			printf("# could not remove %s\n", tmpdir);
	}
	return unit_done();
}
