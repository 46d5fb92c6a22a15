/*-------------------------------------------------------------------------
 *
 * src/util/curl.c
 *		A small libcurl wrapper: one HTTP POST or one SMTP message per call,
 *		and HTTP sessions for the object stores' transfers.
 *
 * Every transfer is restricted to http, https, smtp and smtps (redirects are
 * not followed), bounded by connect and total timeouts, runs with
 * CURLOPT_NOSIGNAL, and is abandoned from the progress callback as soon as a
 * query cancel or termination is pending; the interrupt is then serviced
 * after curl has returned.  The easy handle and header lists are released in
 * PG_FINALLY, so an error (or a cancel) never leaks them.  The callbacks
 * write only into fixed buffers: no palloc, hence no longjmp, inside curl.
 *
 * A session (MetaetlHttpSession) keeps its easy handle between requests
 * (curl_easy_reset keeps the connection cache), released by a callback on
 * the memory context it was created in; each request's header list and
 * response buffer are still released in PG_FINALLY.  Response bodies go to
 * the caller's buffer (ranged reads) or to a malloc'd buffer bounded by
 * max_body (XML listings, error replies) that is copied out and freed after
 * curl returns, so curl's callbacks never allocate with palloc either.
 *
 * A fetch (MetaetlHttpFetch) is a GET in its own multi handle that moves
 * only when its caller pumps it: the Parquet reader's next row groups
 * download while the current ones are decoded, in the same process and
 * without threads, since a pump never blocks and is called between
 * batches.  Its handles too are freed by a memory-context callback.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <curl/curl.h>

#include "miscadmin.h"
#include "utils/memutils.h"

#include "util/curl.h"

#define CURL_CAPTURE_SIZE 1024

typedef struct CurlIo
{
	const char *body;			/* what the SMTP upload reads */
	size_t		body_len;
	size_t		body_pos;
	char		response[CURL_CAPTURE_SIZE];	/* first bytes of the reply body */
	size_t		response_len;
	char		reply[256];		/* last SMTP reply line */
} CurlIo;

static bool curl_initialized = false;

static size_t
curl_write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	CurlIo	   *io = (CurlIo *) userdata;
	size_t		n = size * nmemb;
	size_t		room = sizeof(io->response) - 1 - io->response_len;
	size_t		take = Min(n, room);

	memcpy(io->response + io->response_len, ptr, take);
	io->response_len += take;
	io->response[io->response_len] = '\0';
	return n;					/* the rest is read and dropped */
}

static size_t
curl_read_cb(char *buffer, size_t size, size_t nitems, void *userdata)
{
	CurlIo	   *io = (CurlIo *) userdata;
	size_t		room = size * nitems;
	size_t		left = io->body_len - io->body_pos;
	size_t		take = Min(room, left);

	memcpy(buffer, io->body + io->body_pos, take);
	io->body_pos += take;
	return take;
}

/* keeps the last reply line the server sent (SMTP) */
static int
curl_debug_cb(CURL *handle, curl_infotype type, char *data, size_t size, void *userdata)
{
	CurlIo	   *io = (CurlIo *) userdata;
	size_t		n;

	if (type != CURLINFO_HEADER_IN || size == 0)
		return 0;
	n = Min(size, sizeof(io->reply) - 1);
	memcpy(io->reply, data, n);
	while (n > 0 && (io->reply[n - 1] == '\n' || io->reply[n - 1] == '\r'))
		n--;
	io->reply[n] = '\0';
	return 0;
}

/* abandons the transfer when a cancel or termination is pending */
static int
curl_progress_cb(void *clientp, curl_off_t dltotal, curl_off_t dlnow,
				 curl_off_t ultotal, curl_off_t ulnow)
{
	return (QueryCancelPending || ProcDiePending) ? 1 : 0;
}

static void
curl_setopt_checked(CURL *h, CURLcode rc, const char *what)
{
	if (rc != CURLE_OK)
		elog(ERROR, "could not set libcurl option %s: %s", what, curl_easy_strerror(rc));
}


/* curl_slist_append that raises on out-of-memory instead of losing the list */
static struct curl_slist *
curl_slist_add(struct curl_slist *list, const char *item)
{
	struct curl_slist *n = curl_slist_append(list, item);

	if (n == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	return n;
}

#define SETOPT(h, opt, val) curl_setopt_checked((h), curl_easy_setopt((h), (opt), (val)), #opt)

/*
 * MetaetlCurlPerform
 *		Send one request; fills *res (palloc'd strings in the current memory
 *		context).  Transport failures are reported in res, not raised; only
 *		interrupts and out-of-memory raise.
 */
void
MetaetlCurlPerform(const MetaetlCurlRequest *req, MetaetlCurlResult *res)
{
	CURL	   *volatile h = NULL;
	struct curl_slist *volatile headers = NULL;
	struct curl_slist *volatile rcpts = NULL;
	CurlIo	   *io = palloc0(sizeof(CurlIo));
	char	   *errbuf = palloc0(CURL_ERROR_SIZE);
	bool		smtp = req->mail_from != NULL;

	memset(res, 0, sizeof(*res));

	MetaetlCurlGlobalInit();

	PG_TRY();
	{
		CURLcode	rc;
		ListCell   *lc;
		curl_off_t	total_us = 0;
		long		code = 0;

		h = curl_easy_init();
		if (h == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("could not create a libcurl handle")));

		SETOPT(h, CURLOPT_URL, req->url);
		SETOPT(h, CURLOPT_PROTOCOLS_STR, "http,https,smtp,smtps");
		SETOPT(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
		SETOPT(h, CURLOPT_FOLLOWLOCATION, 0L);
		SETOPT(h, CURLOPT_NOSIGNAL, 1L);
		SETOPT(h, CURLOPT_TIMEOUT_MS, req->timeout_ms > 0 ? req->timeout_ms : 10000L);
		SETOPT(h, CURLOPT_CONNECTTIMEOUT_MS,
			   req->connect_timeout_ms > 0 ? req->connect_timeout_ms : 5000L);
		SETOPT(h, CURLOPT_ERRORBUFFER, errbuf);
		SETOPT(h, CURLOPT_NOPROGRESS, 0L);
		SETOPT(h, CURLOPT_XFERINFOFUNCTION, curl_progress_cb);
		SETOPT(h, CURLOPT_WRITEFUNCTION, curl_write_cb);
		SETOPT(h, CURLOPT_WRITEDATA, io);
		SETOPT(h, CURLOPT_USERAGENT, "metaetl/" METAETL_VERSION);
		if (!req->tls_verify)
		{
			SETOPT(h, CURLOPT_SSL_VERIFYPEER, 0L);
			SETOPT(h, CURLOPT_SSL_VERIFYHOST, 0L);
		}
		if (req->ca_file)
			SETOPT(h, CURLOPT_CAINFO, req->ca_file);
		if (req->username)
			SETOPT(h, CURLOPT_USERNAME, req->username);
		if (req->password)
			SETOPT(h, CURLOPT_PASSWORD, req->password);

		if (smtp)
		{
			io->body = req->body ? req->body : "";
			io->body_len = strlen(io->body);
			SETOPT(h, CURLOPT_MAIL_FROM, psprintf("<%s>", req->mail_from));
			foreach(lc, req->rcpt)
			rcpts = curl_slist_add(rcpts, psprintf("<%s>", (char *) lfirst(lc)));
			SETOPT(h, CURLOPT_MAIL_RCPT, rcpts);
			SETOPT(h, CURLOPT_UPLOAD, 1L);
			SETOPT(h, CURLOPT_READFUNCTION, curl_read_cb);
			SETOPT(h, CURLOPT_READDATA, io);
			SETOPT(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t) io->body_len);
			SETOPT(h, CURLOPT_USE_SSL,
				   req->use_ssl == METAETL_SSL_ALL ? (long) CURLUSESSL_ALL :
				   req->use_ssl == METAETL_SSL_TRY ? (long) CURLUSESSL_TRY : (long) CURLUSESSL_NONE);
			/* the debug callback sees the server's replies */
			SETOPT(h, CURLOPT_DEBUGFUNCTION, curl_debug_cb);
			SETOPT(h, CURLOPT_DEBUGDATA, io);
			SETOPT(h, CURLOPT_VERBOSE, 1L);
		}
		else
		{
			if (req->username && req->password)
				SETOPT(h, CURLOPT_HTTPAUTH, (long) CURLAUTH_BASIC);
			foreach(lc, req->headers)
			headers = curl_slist_add(headers, (char *) lfirst(lc));
			if (req->bearer)
			headers = curl_slist_add(headers, psprintf("Authorization: Bearer %s", req->bearer));
			/* no "Expect: 100-continue" round trip */
			headers = curl_slist_add(headers, "Expect:");
			SETOPT(h, CURLOPT_HTTPHEADER, headers);
			SETOPT(h, CURLOPT_POST, 1L);
			SETOPT(h, CURLOPT_POSTFIELDS, req->body ? req->body : "");
			SETOPT(h, CURLOPT_POSTFIELDSIZE_LARGE,
				   (curl_off_t) (req->body ? strlen(req->body) : 0));
		}

		rc = curl_easy_perform(h);

		if (rc == CURLE_ABORTED_BY_CALLBACK)
			CHECK_FOR_INTERRUPTS();

		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
		curl_easy_getinfo(h, CURLINFO_TOTAL_TIME_T, &total_us);
		res->status = code;
		res->latency_ms = (double) total_us / 1000.0;
		if (io->reply[0])
			res->reply = pstrdup(io->reply);
		if (io->response_len > 0)
			res->response = pnstrdup(io->response, io->response_len);

		/* curl's message ends with a newline at times */
		while (errbuf[0] && errbuf[strlen(errbuf) - 1] == '\n')
			errbuf[strlen(errbuf) - 1] = '\0';
		if (rc != CURLE_OK)
			res->error = psprintf("%s%s%s", curl_easy_strerror(rc),
								  errbuf[0] ? ": " : "", errbuf);
		else if (!smtp && (code < 200 || code > 299))
			res->error = psprintf("HTTP status %ld", code);
		else
			res->ok = true;
	}
	PG_FINALLY();
	{
		if (h)
			curl_easy_cleanup(h);
		if (headers)
			curl_slist_free_all(headers);
		if (rcpts)
			curl_slist_free_all(rcpts);
	}
	PG_END_TRY();
}

/*
 * MetaetlCurlGlobalInit
 *		curl_global_init once per backend.
 */
void
MetaetlCurlGlobalInit(void)
{
	if (!curl_initialized)
	{
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			ereport(ERROR,
					(errcode(ERRCODE_SYSTEM_ERROR),
					 errmsg("could not initialize libcurl")));
		curl_initialized = true;
	}
}

/*
 * MetaetlCurlBaseOptions
 *		The options every metaetl HTTP transfer carries (see curl.h).
 */
void
MetaetlCurlBaseOptions(void *handle, long timeout_ms, long connect_timeout_ms,
					   const char *ca_file, bool tls_verify)
{
	CURL	   *h = (CURL *) handle;

	SETOPT(h, CURLOPT_PROTOCOLS_STR, "http,https");
	SETOPT(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	SETOPT(h, CURLOPT_FOLLOWLOCATION, 0L);
	SETOPT(h, CURLOPT_NOSIGNAL, 1L);
	SETOPT(h, CURLOPT_TIMEOUT_MS, timeout_ms > 0 ? timeout_ms : 30000L);
	SETOPT(h, CURLOPT_CONNECTTIMEOUT_MS, connect_timeout_ms > 0 ? connect_timeout_ms : 10000L);
	SETOPT(h, CURLOPT_NOPROGRESS, 0L);
	SETOPT(h, CURLOPT_XFERINFOFUNCTION, curl_progress_cb);
	SETOPT(h, CURLOPT_USERAGENT, "metaetl/" METAETL_VERSION);
	/* a proxy would be the only address the socket check sees */
	SETOPT(h, CURLOPT_PROXY, "");
	SETOPT(h, CURLOPT_SSL_VERIFYPEER, tls_verify ? 1L : 0L);
	SETOPT(h, CURLOPT_SSL_VERIFYHOST, tls_verify ? 2L : 0L);
	if (ca_file)
		SETOPT(h, CURLOPT_CAINFO, ca_file);
}

/* ------------------------------------------------------------ sessions */

#define HTTP_HEADERS_SIZE 16384
#define HTTP_DEFAULT_MAX_BODY 65536

struct MetaetlHttpSession
{
	CURL	   *handle;
	MemoryContextCallback cb;
};

typedef struct HttpIo
{
	const char *body;			/* upload */
	size_t		body_len;
	size_t		body_pos;
	char	   *out;			/* caller's buffer, or NULL */
	size_t		out_cap;
	char	   *mbuf;			/* malloc'd capture when out == NULL */
	size_t		mcap;
	size_t		max_body;
	size_t		len;			/* body bytes kept */
	bool		truncated;
	char		headers[HTTP_HEADERS_SIZE];
	size_t		headers_len;
} HttpIo;

static void
http_session_free(void *arg)
{
	MetaetlHttpSession *s = arg;

	if (s->handle)
		curl_easy_cleanup(s->handle);
	s->handle = NULL;
}

/*
 * MetaetlHttpSessionCreate
 *		A session whose handle lives as long as "cxt" (freed by a reset
 *		callback, so an error that unwinds the context leaks nothing).
 */
MetaetlHttpSession *
MetaetlHttpSessionCreate(MemoryContext cxt)
{
	MetaetlHttpSession *s = MemoryContextAllocZero(cxt, sizeof(MetaetlHttpSession));

	MetaetlCurlGlobalInit();
	s->handle = curl_easy_init();
	if (s->handle == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not create a libcurl handle")));
	s->cb.func = http_session_free;
	s->cb.arg = s;
	MemoryContextRegisterResetCallback(cxt, &s->cb);
	return s;
}

static size_t
http_write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	HttpIo	   *io = (HttpIo *) userdata;
	size_t		n = size * nmemb;

	if (io->out)
	{
		if (io->len + n > io->out_cap)
		{
			/* more than asked for (a server ignoring Range): stop here */
			io->truncated = true;
			return 0;
		}
		memcpy(io->out + io->len, ptr, n);
		io->len += n;
		return n;
	}
	else
	{
		size_t		take = Min(n, io->max_body - io->len);

		if (take < n)
			io->truncated = true;
		if (take == 0)
			return n;
		if (io->len + take + 1 > io->mcap)
		{
			size_t		cap = Max(io->mcap * 2, io->len + take + 1);
			char	   *nb;

			cap = Min(Max(cap, 4096), io->max_body + 1);
			nb = realloc(io->mbuf, cap);
			if (nb == NULL)
				return 0;		/* curl reports a write error */
			io->mbuf = nb;
			io->mcap = cap;
		}
		memcpy(io->mbuf + io->len, ptr, take);
		io->len += take;
		return n;
	}
}

static size_t
http_header_cb(char *buffer, size_t size, size_t nitems, void *userdata)
{
	HttpIo	   *io = (HttpIo *) userdata;
	size_t		n = size * nitems;
	size_t		take;

	/* a new status line (after 100 Continue) starts a new header block */
	if (n >= 5 && strncmp(buffer, "HTTP/", 5) == 0)
		io->headers_len = 0;
	take = Min(n, sizeof(io->headers) - 1 - io->headers_len);
	memcpy(io->headers + io->headers_len, buffer, take);
	io->headers_len += take;
	io->headers[io->headers_len] = '\0';
	return n;
}

static size_t
http_read_cb(char *buffer, size_t size, size_t nitems, void *userdata)
{
	HttpIo	   *io = (HttpIo *) userdata;
	size_t		take = Min(size * nitems, io->body_len - io->body_pos);

	memcpy(buffer, io->body + io->body_pos, take);
	io->body_pos += take;
	return take;
}

/* curl may rewind an upload (a reused connection that the server closed) */
static int
http_seek_cb(void *userdata, curl_off_t offset, int origin)
{
	HttpIo	   *io = (HttpIo *) userdata;

	if (origin != SEEK_SET || offset < 0 || (size_t) offset > io->body_len)
		return CURL_SEEKFUNC_CANTSEEK;
	io->body_pos = (size_t) offset;
	return CURL_SEEKFUNC_OK;
}

/*
 * The options of one request: URL, protocols, timeouts (timeout_ms < 0: a
 * stream, limited by stalls instead), TLS, method and body, headers (the
 * list is returned in *headers for the caller to free) and callbacks.
 */
static void
http_set_request(CURL *h, const MetaetlHttpRequest *req, char *errbuf,
				 curl_write_callback write_cb, void *write_data,
				 curl_write_callback header_cb, void *header_data,
				 HttpIo *upload, struct curl_slist **headers)
{
	ListCell   *lc;
	const char *m = req->method ? req->method : "GET";

	MetaetlCurlBaseOptions(h, req->timeout_ms, req->connect_timeout_ms, req->ca_file, req->tls_verify);
	SETOPT(h, CURLOPT_URL, req->url);
	if (req->timeout_ms == 0)
		SETOPT(h, CURLOPT_TIMEOUT_MS, 300000L);
	else if (req->timeout_ms < 0)
	{
		/* a stream read at the reader's pace: no total limit, but no stall */
		SETOPT(h, CURLOPT_TIMEOUT_MS, 0L);
		SETOPT(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
		SETOPT(h, CURLOPT_LOW_SPEED_TIME, 300L);
	}
	SETOPT(h, CURLOPT_ERRORBUFFER, errbuf);
	SETOPT(h, CURLOPT_WRITEFUNCTION, write_cb);
	SETOPT(h, CURLOPT_WRITEDATA, write_data);
	SETOPT(h, CURLOPT_HEADERFUNCTION, header_cb);
	SETOPT(h, CURLOPT_HEADERDATA, header_data);
	/* no Accept-Encoding: object bytes arrive exactly as stored */

	if (strcmp(m, "HEAD") == 0)
		SETOPT(h, CURLOPT_NOBODY, 1L);
	else if (strcmp(m, "PUT") == 0)
	{
		SETOPT(h, CURLOPT_UPLOAD, 1L);
		SETOPT(h, CURLOPT_READFUNCTION, http_read_cb);
		SETOPT(h, CURLOPT_READDATA, upload);
		SETOPT(h, CURLOPT_SEEKFUNCTION, http_seek_cb);
		SETOPT(h, CURLOPT_SEEKDATA, upload);
		SETOPT(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t) upload->body_len);
	}
	else if (strcmp(m, "POST") == 0)
	{
		SETOPT(h, CURLOPT_POST, 1L);
		SETOPT(h, CURLOPT_POSTFIELDS, req->body ? req->body : "");
		SETOPT(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) upload->body_len);
	}
	else if (strcmp(m, "GET") != 0)
		SETOPT(h, CURLOPT_CUSTOMREQUEST, m);

	foreach(lc, req->headers)
		*headers = curl_slist_add(*headers, (char *) lfirst(lc));
	/* no "Expect: 100-continue" round trip before each uploaded part */
	*headers = curl_slist_add(*headers, "Expect:");
	SETOPT(h, CURLOPT_HTTPHEADER, *headers);
}

/*
 * MetaetlHttpExec
 *		One request on the session.  Transport failures and HTTP errors are
 *		reported in *res, not raised; only interrupts and out-of-memory
 *		raise.  Strings in *res are palloc'd in the current context.
 */
void
MetaetlHttpExec(MetaetlHttpSession *s, const MetaetlHttpRequest *req, MetaetlHttpResponse *res)
{
	struct curl_slist *volatile headers = NULL;
	HttpIo	   *volatile io = palloc0(sizeof(HttpIo));
	char	   *errbuf = palloc0(CURL_ERROR_SIZE);
	CURL	   *h = s->handle;

	memset(res, 0, sizeof(*res));
	if (h == NULL)
		elog(ERROR, "HTTP session used after it was released");
	io->body = req->body;
	io->body_len = req->body ? req->body_len : 0;
	io->out = req->out;
	io->out_cap = req->out_cap;
	io->max_body = req->max_body > 0 ? req->max_body : HTTP_DEFAULT_MAX_BODY;

	PG_TRY();
	{
		CURLcode	rc;
		curl_off_t	total_us = 0;
		long		code = 0;

		curl_easy_reset(h);
		http_set_request(h, req, errbuf, http_write_cb, io, http_header_cb, io, io, (struct curl_slist **) &headers);

		rc = curl_easy_perform(h);

		if (rc == CURLE_ABORTED_BY_CALLBACK)
			CHECK_FOR_INTERRUPTS();

		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
		curl_easy_getinfo(h, CURLINFO_TOTAL_TIME_T, &total_us);
		res->status = code;
		res->latency_ms = (double) total_us / 1000.0;
		res->headers = pnstrdup(io->headers, io->headers_len);
		res->body_len = io->len;
		res->truncated = io->truncated;
		if (io->out == NULL)
			res->body = io->mbuf ? pnstrdup(io->mbuf, io->len) : pstrdup("");
		while (errbuf[0] && errbuf[strlen(errbuf) - 1] == '\n')
			errbuf[strlen(errbuf) - 1] = '\0';
		if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && io->truncated))
			res->error = psprintf("%s%s%s", curl_easy_strerror(rc),
								  errbuf[0] ? ": " : "", errbuf);
	}
	PG_FINALLY();
	{
		if (headers)
			curl_slist_free_all(headers);
		if (io->mbuf)
			free(io->mbuf);
		io->mbuf = NULL;
	}
	PG_END_TRY();
}

/*
 * MetaetlHttpHeader
 *		The value of the last response's header "name", trimmed; NULL if the
 *		reply has none.
 */
char *
MetaetlHttpHeader(const MetaetlHttpResponse *res, const char *name)
{
	size_t		nlen = strlen(name);
	const char *p = res->headers;

	while (p && *p)
	{
		const char *eol = strchr(p, '\n');
		size_t		len = eol ? (size_t) (eol - p) : strlen(p);

		if (len > nlen && pg_strncasecmp(p, name, nlen) == 0 && p[nlen] == ':')
		{
			const char *v = p + nlen + 1;
			const char *e = p + len;

			while (v < e && (*v == ' ' || *v == '\t'))
				v++;
			while (e > v && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
				e--;
			return pnstrdup(v, e - v);
		}
		p = eol ? eol + 1 : NULL;
	}
	return NULL;
}

/* ------------------------------------------------------------ streams */

#define HTTP_STREAM_BUF (4 * 1024 * 1024)

/*
 * A GET whose body the caller reads at its own pace.  curl runs in a multi
 * handle driven from MetaetlHttpStreamRead; the write callback copies into
 * a fixed buffer and pauses the transfer when it is full, so memory stays at
 * one buffer whatever the object's size.  The handles are freed by a reset
 * callback on the stream's context, or by MetaetlHttpStreamClose.
 */
struct MetaetlHttpStream
{
	CURLM	   *multi;
	CURL	   *easy;
	struct curl_slist *headers;
	HttpIo	   *io;				/* headers of the reply */
	char	   *buf;
	size_t		cap;
	size_t		off;			/* unread data is buf[off, off + len) */
	size_t		len;
	bool		paused;
	bool		done;
	bool		headers_done;
	CURLcode	result;
	char		errbuf[CURL_ERROR_SIZE];
	MemoryContextCallback cb;
};

static void
http_stream_free(void *arg)
{
	MetaetlHttpStream *s = arg;

	if (s->multi && s->easy)
		curl_multi_remove_handle(s->multi, s->easy);
	if (s->easy)
		curl_easy_cleanup(s->easy);
	if (s->multi)
		curl_multi_cleanup(s->multi);
	if (s->headers)
		curl_slist_free_all(s->headers);
	s->easy = NULL;
	s->multi = NULL;
	s->headers = NULL;
}

static size_t
http_stream_write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	MetaetlHttpStream *s = userdata;
	size_t		n = size * nmemb;

	if (s->off > 0 && s->off + s->len + n > s->cap)
	{
		memmove(s->buf, s->buf + s->off, s->len);
		s->off = 0;
	}
	if (s->len + n > s->cap)
	{
		s->paused = true;
		return CURL_WRITEFUNC_PAUSE;	/* delivered again when resumed */
	}
	memcpy(s->buf + s->off + s->len, ptr, n);
	s->len += n;
	return n;
}

static size_t
http_stream_header_cb(char *buffer, size_t size, size_t nitems, void *userdata)
{
	MetaetlHttpStream *s = userdata;
	size_t		n = size * nitems;

	http_header_cb(buffer, size, nitems, s->io);
	/* the blank line after the final (non-1xx) status's headers */
	if ((n == 2 && buffer[0] == '\r') || (n == 1 && buffer[0] == '\n'))
	{
		long		code = 0;

		curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &code);
		if (code >= 200)
			s->headers_done = true;
	}
	return n;
}

/* run curl until data is buffered, the headers are in (want_headers) or it ends */
static void
http_stream_drive(MetaetlHttpStream *s, bool want_headers)
{
	for (;;)
	{
		int			running = 0;
		CURLMsg    *msg;
		int			left;

		if (s->paused && s->off + s->len < s->cap / 2)
		{
			s->paused = false;
			curl_easy_pause(s->easy, CURLPAUSE_CONT);
		}
		if (curl_multi_perform(s->multi, &running) != CURLM_OK)
		{
			s->done = true;
			s->result = CURLE_RECV_ERROR;
			return;
		}
		while ((msg = curl_multi_info_read(s->multi, &left)) != NULL)
			if (msg->msg == CURLMSG_DONE)
			{
				s->done = true;
				s->result = msg->data.result;
			}
		if (s->done || (want_headers ? s->headers_done : s->len > 0))
			return;
		if (s->paused)
			continue;
		curl_multi_poll(s->multi, NULL, 0, 1000, NULL);
		/* not inside curl here: an interrupt unwinds, the callback frees */
		CHECK_FOR_INTERRUPTS();
	}
}

/*
 * MetaetlHttpStreamOpen
 *		Start a GET (req->method is ignored) and wait for the reply's
 *		status and headers, which go into *res.  A reply other than 2xx is
 *		read whole (at most max_body) into res->body and NULL is returned,
 *		as it is for a transport failure (res->error).
 */
MetaetlHttpStream *
MetaetlHttpStreamOpen(const MetaetlHttpRequest *req, MetaetlHttpResponse *res, MemoryContext cxt)
{
	MetaetlHttpStream *s = MemoryContextAllocZero(cxt, sizeof(MetaetlHttpStream));
	MetaetlHttpRequest get = *req;
	long		code = 0;

	memset(res, 0, sizeof(*res));
	MetaetlCurlGlobalInit();
	s->io = MemoryContextAllocZero(cxt, sizeof(HttpIo));
	s->cap = Max(HTTP_STREAM_BUF, req->max_body);
	s->buf = MemoryContextAlloc(cxt, s->cap);
	s->cb.func = http_stream_free;
	s->cb.arg = s;
	MemoryContextRegisterResetCallback(cxt, &s->cb);
	s->multi = curl_multi_init();
	s->easy = curl_easy_init();
	if (s->multi == NULL || s->easy == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not create a libcurl handle")));
	get.method = "GET";
	get.body = NULL;
	get.timeout_ms = -1;
	http_set_request(s->easy, &get, s->errbuf, http_stream_write_cb, s, http_stream_header_cb, s, s->io,
					 &s->headers);
	if (curl_multi_add_handle(s->multi, s->easy) != CURLM_OK)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not start a libcurl transfer")));

	http_stream_drive(s, true);
	curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &code);
	res->status = code;
	res->headers = pnstrdup(s->io->headers, s->io->headers_len);
	if (s->done && s->result != CURLE_OK && !(s->headers_done && code >= 200 && code <= 299))
	{
		res->error = psprintf("%s%s%s", curl_easy_strerror(s->result), s->errbuf[0] ? ": " : "", s->errbuf);
		MetaetlHttpStreamClose(s);
		return NULL;
	}
	if (code < 200 || code > 299)
	{
		size_t		max = req->max_body > 0 ? req->max_body : HTTP_DEFAULT_MAX_BODY;

		while (!s->done && s->len < max)
			http_stream_drive(s, false);
		res->body_len = Min(s->len, max);
		res->body = pnstrdup(s->buf + s->off, res->body_len);
		MetaetlHttpStreamClose(s);
		return NULL;
	}
	return s;
}

/*
 * MetaetlHttpStreamRead
 *		Up to len bytes of the body; 0 at its end.  A transfer that fails
 *		midway returns 0 with *error set (the caller may resume elsewhere).
 */
size_t
MetaetlHttpStreamRead(MetaetlHttpStream *s, char *buf, size_t len, char **error)
{
	size_t		n;

	*error = NULL;
	if (s->len == 0 && !s->done)
		http_stream_drive(s, false);
	if (s->len == 0)
	{
		/* a cancel stopped curl: serve it now */
		if (s->done && s->result == CURLE_ABORTED_BY_CALLBACK)
			CHECK_FOR_INTERRUPTS();
		if (s->done && s->result != CURLE_OK)
			*error = psprintf("%s%s%s", curl_easy_strerror(s->result), s->errbuf[0] ? ": " : "", s->errbuf);
		return 0;
	}
	n = Min(len, s->len);
	memcpy(buf, s->buf + s->off, n);
	s->off += n;
	s->len -= n;
	if (s->len == 0)
		s->off = 0;
	return n;
}

/*
 * Close a streaming HTTP response and free its curl handle and buffer;
 * safe to call twice (from an error path and a callback).
 */
void
MetaetlHttpStreamClose(MetaetlHttpStream *s)
{
	http_stream_free(s);
	if (s->buf)
		pfree(s->buf);
	s->buf = NULL;
}

/* ------------------------------------------------------------ fetches */

/*
 * A GET that runs while the caller does other work: curl runs in the
 * fetch's own multi handle and moves only when pumped (never blocking) or
 * waited for.  The body lands in the caller's buffer through the same
 * write callback as MetaetlHttpExec, so nothing is allocated inside curl.
 * The multi handle keeps its connection between fetches.  Handles are
 * freed by a reset callback on the fetch's context.
 */
struct MetaetlHttpFetch
{
	CURLM	   *multi;
	CURL	   *easy;
	struct curl_slist *headers;
	HttpIo	   *io;
	bool		running;		/* started and not yet collected */
	bool		done;
	CURLcode	result;
	char		errbuf[CURL_ERROR_SIZE];
	MemoryContextCallback cb;
};

static void
http_fetch_detach(MetaetlHttpFetch *f)
{
	if (f->running && f->multi && f->easy)
		curl_multi_remove_handle(f->multi, f->easy);
	f->running = false;
	if (f->headers)
		curl_slist_free_all(f->headers);
	f->headers = NULL;
}

static void
http_fetch_free(void *arg)
{
	MetaetlHttpFetch *f = arg;

	http_fetch_detach(f);
	if (f->easy)
		curl_easy_cleanup(f->easy);
	if (f->multi)
		curl_multi_cleanup(f->multi);
	f->easy = NULL;
	f->multi = NULL;
}

/*
 * MetaetlHttpFetchCreate
 *		A fetch whose handles live as long as "cxt" (freed by its reset
 *		callback, so an error anywhere leaks nothing); started as often as
 *		needed, one GET at a time.
 */
MetaetlHttpFetch *
MetaetlHttpFetchCreate(MemoryContext cxt)
{
	MetaetlHttpFetch *f = MemoryContextAllocZero(cxt, sizeof(MetaetlHttpFetch));

	MetaetlCurlGlobalInit();
	f->io = MemoryContextAllocZero(cxt, sizeof(HttpIo));
	f->cb.func = http_fetch_free;
	f->cb.arg = f;
	MemoryContextRegisterResetCallback(cxt, &f->cb);
	f->multi = curl_multi_init();
	f->easy = curl_easy_init();
	if (f->multi == NULL || f->easy == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not create a libcurl handle")));
	return f;
}

/*
 * MetaetlHttpFetchStart
 *		Start a GET of req->url into req->out (at most out_cap bytes),
 *		abandoning one still running.  Nothing is sent before the first pump.
 */
void
MetaetlHttpFetchStart(MetaetlHttpFetch *f, const MetaetlHttpRequest *req)
{
	MetaetlHttpRequest get = *req;

	Assert(req->out != NULL);
	http_fetch_detach(f);
	memset(f->io, 0, sizeof(HttpIo));
	f->io->out = req->out;
	f->io->out_cap = req->out_cap;
	f->done = false;
	f->result = CURLE_OK;
	f->errbuf[0] = '\0';
	get.method = "GET";
	get.body = NULL;
	curl_easy_reset(f->easy);
	http_set_request(f->easy, &get, f->errbuf, http_write_cb, f->io, http_header_cb, f->io, f->io,
					 &f->headers);
	/* fewer, larger reads: the body is megabytes */
	SETOPT(f->easy, CURLOPT_BUFFERSIZE, 512L * 1024L);
	if (curl_multi_add_handle(f->multi, f->easy) != CURLM_OK)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not start a libcurl transfer")));
	f->running = true;
}

/* one non-blocking step: read what has arrived */
static void
http_fetch_step(MetaetlHttpFetch *f)
{
	int			running = 0;
	CURLMsg    *msg;
	int			left;

	if (curl_multi_perform(f->multi, &running) != CURLM_OK)
	{
		f->done = true;
		f->result = CURLE_RECV_ERROR;
		return;
	}
	while ((msg = curl_multi_info_read(f->multi, &left)) != NULL)
		if (msg->msg == CURLMSG_DONE)
		{
			f->done = true;
			f->result = msg->data.result;
		}
}

/* let a started fetch progress without waiting; cheap when nothing arrived */
void
MetaetlHttpFetchPump(MetaetlHttpFetch *f)
{
	if (f->running && !f->done)
		http_fetch_step(f);
}

/*
 * MetaetlHttpFetchWait
 *		Finish the fetch and describe it in *res as MetaetlHttpExec would
 *		(body_len bytes written to the caller's buffer).  Interrupts are
 *		serviced while waiting.
 */
void
MetaetlHttpFetchWait(MetaetlHttpFetch *f, MetaetlHttpResponse *res)
{
	long		code = 0;
	curl_off_t	total_us = 0;

	memset(res, 0, sizeof(*res));
	if (!f->running)
		elog(ERROR, "an HTTP fetch was collected without being started");
	for (;;)
	{
		http_fetch_step(f);
		if (f->done)
			break;
		curl_multi_poll(f->multi, NULL, 0, 1000, NULL);
		/* not inside curl here: an interrupt unwinds, the callback frees */
		CHECK_FOR_INTERRUPTS();
	}
	if (f->result == CURLE_ABORTED_BY_CALLBACK)
		CHECK_FOR_INTERRUPTS();
	curl_easy_getinfo(f->easy, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_getinfo(f->easy, CURLINFO_TOTAL_TIME_T, &total_us);
	res->status = code;
	res->latency_ms = (double) total_us / 1000.0;
	res->headers = pnstrdup(f->io->headers, f->io->headers_len);
	res->body_len = f->io->len;
	res->truncated = f->io->truncated;
	while (f->errbuf[0] && f->errbuf[strlen(f->errbuf) - 1] == '\n')
		f->errbuf[strlen(f->errbuf) - 1] = '\0';
	if (f->result != CURLE_OK && !(f->result == CURLE_WRITE_ERROR && f->io->truncated))
		res->error = psprintf("%s%s%s", curl_easy_strerror(f->result),
							  f->errbuf[0] ? ": " : "", f->errbuf);
	http_fetch_detach(f);
}

/* abandon a started fetch (its buffer is no longer written) */
void
MetaetlHttpFetchCancel(MetaetlHttpFetch *f)
{
	http_fetch_detach(f);
}
