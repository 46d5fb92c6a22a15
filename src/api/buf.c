/*-------------------------------------------------------------------------
 *
 * src/api/buf.c
 *		Growing strings for metaetl-api's responses, and JSON string quoting.
 *
 * Out of memory ends the process: a server that cannot allocate a few
 * kilobytes for a response cannot answer anything sensible, and systemd
 * restarts it.
 *
 *-------------------------------------------------------------------------
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"

static void
buf_reserve(Buf *b, size_t more)
{
	size_t		need = b->len + more + 1;

	if (need <= b->cap)
		return;
	while (b->cap < need)
		b->cap = b->cap ? b->cap * 2 : 256;
	b->data = realloc(b->data, b->cap);
	if (b->data == NULL)
	{
		fprintf(stderr, "metaetl-api: out of memory\n");
		abort();
	}
}

/*
 * Appends n bytes, which may hold NULs (static.c appends whole files).  Every
 * other writer goes through here or buf_reserve, which keeps the invariant
 * the rest of the server relies on: once anything was written, data is
 * NUL-terminated, so b->data can be handed to libpq or libmicrohttpd as a
 * string.  A zeroed Buf is a valid empty one; out of memory aborts (see the
 * file header), so no caller checks for failure.
 */
void
buf_append(Buf *b, const char *s, size_t n)
{
	buf_reserve(b, n);
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

/* appends a NUL-terminated string, the form nearly every caller has */
void
buf_puts(Buf *b, const char *s)
{
	buf_append(b, s, strlen(s));
}

/*
 * Appends printf-style output of any length: vsnprintf measures it first, so
 * nothing is truncated, unlike a fixed buffer (problem documents, metrics and
 * run summaries hold text of unknown length).  An encoding error from
 * vsnprintf appends nothing.
 */
void
buf_printf(Buf *b, const char *fmt,...)
{
	va_list		ap;
	int			n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	buf_reserve(b, (size_t) n);
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t) n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t) n;
}

/* s as a JSON string literal (UTF-8 passes through; controls are escaped) */
void
buf_json_string(Buf *b, const char *s)
{
	const unsigned char *p;

	buf_puts(b, "\"");
	for (p = (const unsigned char *) (s ? s : ""); *p; p++)
	{
		switch (*p)
		{
			case '"':
				buf_puts(b, "\\\"");
				break;
			case '\\':
				buf_puts(b, "\\\\");
				break;
			case '\n':
				buf_puts(b, "\\n");
				break;
			case '\r':
				buf_puts(b, "\\r");
				break;
			case '\t':
				buf_puts(b, "\\t");
				break;
			default:
				if (*p < 0x20)
					buf_printf(b, "\\u%04x", *p);
				else
					buf_append(b, (const char *) p, 1);
		}
	}
	buf_puts(b, "\"");
}

/*
 * Frees the text and leaves the Buf empty and reusable, so freeing twice is
 * harmless: request and response bodies are freed on every exit path of
 * http.c and handlers.c without tracking whether they were ever written.
 */
void
buf_free(Buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

/*
 * Seconds on the monotonic clock, for durations and deadlines only (token
 * cache ages, pool and --wait-timeout deadlines, the shutdown grace period,
 * access-log times, uptime): unlike the wall clock it never jumps when the
 * system time is set, so no deadline ends early or never.  Not a timestamp;
 * api_log takes the wall clock itself.
 */
double
api_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}
