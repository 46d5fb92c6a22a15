/*-------------------------------------------------------------------------
 *
 * src/connectors/http_fetch.c
 *		The HTTP engine: requests run concurrently in one libcurl multi
 *		handle, with rate limiting, retries, redirects and the SSRF guard.
 *
 * A caller submits requests (HttpSubmit) and waits for the one it needs
 * next (HttpWait) or reads its body as a stream (HttpStreamOpen); the
 * engine keeps up to max_parallel transfers running meanwhile, so pages
 * requested ahead arrive while earlier ones are parsed.  Transfers share the
 * multi handle's connection cache: HTTP/1.1 keep-alive, and HTTP/2
 * multiplexing where the server offers it over TLS.  Bodies are decoded
 * (gzip, deflate, br, zstd) by libcurl and capped at max_bytes after
 * decoding, so a compressed bomb is cut off too.
 *
 * Safety.  Every socket goes through http_opensocket, which refuses
 * link-local, metadata and reserved addresses always and private / loopback
 * ones unless the connection says allow_private — the address checked is
 * the one connected to, after DNS.  Redirects are not followed by libcurl:
 * the engine follows them itself (at most HTTP_MAX_REDIRECTS) and checks
 * the new URL's host against allowed_hosts first, and its socket like any
 * other; credentials go only to the connection's own origin.
 *
 * Retries.  429, 408, 500, 502, 503, 504, timeouts and broken connections
 * are retried with the orchestrator's backoff (MetaetlRetryDelay, with
 * jitter), waiting at least what Retry-After says, up to retry.max_attempts
 * and within retry.max_total_s for the request.  A streamed body is retried
 * only before its reader has taken any byte of it.
 *
 * Memory.  libcurl callbacks never palloc or raise (no longjmp through
 * libcurl): bodies go to malloc'd buffers owned by the transfer.  Every
 * easy handle, header list and buffer, and the multi handle, is freed by a
 * callback on the client's memory context, so an error or a cancel at any
 * point leaks nothing.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/socket.h>
#include <time.h>

#include <curl/curl.h>

#include "miscadmin.h"
#include "storage/latch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "connectors/http.h"
#include "connectors/http_net.h"
#include "util/curl.h"

#define HTTP_MAX_REDIRECTS 5
#define HTTP_ERRBODY 1024		/* bytes of an error response kept for the message */
#define HTTP_STREAM_HIGH (2 * 1024 * 1024)	/* pause a stream with this much unread */
#define HTTP_POLL_MS 50			/* longest wait between interrupt checks */

struct HttpXfer
{
	HttpClient *cli;
	HttpReq    *req;
	CURL	   *h;
	struct curl_slist *hdrs;
	char	   *url;			/* current URL (after redirects) */
	const char *method;
	char	   *body;
	size_t		body_len;

	/* written by the libcurl callbacks: malloc'd or fixed, never palloc'd */
	char	   *buf;
	size_t		len;
	size_t		cap;
	size_t		off;			/* stream: bytes the reader took */
	int64		received;
	long		status;			/* of the response being received */
	char		errbody[HTTP_ERRBODY];
	size_t		errlen;
	char		ctype[128];
	char		link[4096];
	size_t		linklen;
	char		retry_after[64];
	char		refused[160];
	char		errbuf[CURL_ERROR_SIZE];
	bool		too_big;
	bool		paused;

	bool		active;			/* in the multi handle */
	bool		consumed;		/* a reader took bytes: no retry any more */
	TimestampTz not_before;
	TimestampTz first_start;
	int			redirects;
	bool		auth_retried;
	int			auth_gen;		/* the OAuth2 token this attempt was sent with */
};

struct HttpClient
{
	HttpConn   *conn;
	MemoryContext cxt;
	CURLM	   *multi;
	List	   *queue;			/* HttpXfer * waiting to start */
	List	   *all;			/* every transfer, for cleanup */
	int			nactive;
	TimestampTz next_start;		/* rate limit: no start before this */
	unsigned int seed;
	int			requests;
	int			retries;
	int64		bytes;
	void	   *auth_state;		/* http_auth.c's */
	MemoryContextCallback cb;
};

/* ------------------------------------------------------------ callbacks */

static size_t
http_write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	HttpXfer   *x = userdata;
	size_t		n = size * nmemb;

	if (x->status < 200 || x->status > 299)
	{
		/* redirects and errors: keep the start for the message */
		size_t		take = Min(n, sizeof(x->errbody) - 1 - x->errlen);

		memcpy(x->errbody + x->errlen, ptr, take);
		x->errlen += take;
		x->errbody[x->errlen] = '\0';
		return n;
	}
	if (x->received + (int64) n > x->cli->conn->max_bytes)
	{
		x->too_big = true;
		return 0;				/* aborts the transfer */
	}
	if (x->req->stream && x->len - x->off >= HTTP_STREAM_HIGH)
	{
		x->paused = true;
		return CURL_WRITEFUNC_PAUSE;	/* libcurl keeps the data for later */
	}
	if (x->off > 0 && x->off == x->len)
		x->off = x->len = 0;
	if (x->len + n + 1 > x->cap)
	{
		size_t		cap = Max(x->cap * 2, x->len + n + 1);
		char	   *nb;

		if (x->req->stream && x->off > 0)
		{
			memmove(x->buf, x->buf + x->off, x->len - x->off);
			x->len -= x->off;
			x->off = 0;
		}
		cap = Max(cap, 16384);
		if (x->len + n + 1 > x->cap)
		{
			nb = realloc(x->buf, cap);
			if (nb == NULL)
				return 0;
			x->buf = nb;
			x->cap = cap;
		}
	}
	memcpy(x->buf + x->len, ptr, n);
	x->len += n;
	x->received += (int64) n;
	return n;
}

/* copy a header's value (trimmed) into dst */
static void
http_header_value(const char *v, size_t n, char *dst, size_t dstlen, bool append)
{
	size_t		o = append ? strlen(dst) : 0;

	while (n > 0 && (*v == ' ' || *v == '\t'))
		v++, n--;
	while (n > 0 && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
		n--;
	if (append && o > 0)
	{
		if (o + 2 >= dstlen)
			return;
		dst[o++] = ',';
		dst[o++] = ' ';
	}
	if (o + n >= dstlen)
		return;					/* too long to keep whole: ignore it */
	memcpy(dst + o, v, n);
	dst[o + n] = '\0';
}

static size_t
http_header_cb(char *buffer, size_t size, size_t nitems, void *userdata)
{
	HttpXfer   *x = userdata;
	size_t		n = size * nitems;

	if (n > 5 && strncmp(buffer, "HTTP/", 5) == 0)
	{
		const char *sp = memchr(buffer, ' ', n);

		/* a new response (after 100 Continue, or a redirect's) */
		x->status = sp ? strtol(sp + 1, NULL, 10) : 0;
		x->ctype[0] = x->link[0] = x->retry_after[0] = '\0';
		x->errlen = 0;
		x->errbody[0] = '\0';
	}
	else if (n > 13 && pg_strncasecmp(buffer, "content-type:", 13) == 0)
		http_header_value(buffer + 13, n - 13, x->ctype, sizeof(x->ctype), false);
	else if (n > 5 && pg_strncasecmp(buffer, "link:", 5) == 0)
		http_header_value(buffer + 5, n - 5, x->link, sizeof(x->link), true);
	else if (n > 12 && pg_strncasecmp(buffer, "retry-after:", 12) == 0)
		http_header_value(buffer + 12, n - 12, x->retry_after, sizeof(x->retry_after), false);
	else if (n > 15 && pg_strncasecmp(buffer, "content-length:", 15) == 0 &&
			 x->status >= 200 && x->status <= 299)
	{
		char		v[32];

		v[0] = '\0';
		http_header_value(buffer + 15, n - 15, v, sizeof(v), false);
		if (strtoll(v, NULL, 10) > x->cli->conn->max_bytes)
		{
			/* refuse before reading any of it */
			x->too_big = true;
			return 0;
		}
	}
	return n;
}

/* the SSRF guard: every address libcurl is about to connect to */
static curl_socket_t
http_opensocket(void *clientp, curlsocktype purpose, struct curl_sockaddr *address)
{
	HttpXfer   *x = clientp;
	char		text[64];
	HttpAddrClass cls = HttpClassifySockaddr(&address->addr, text, sizeof(text));

	if (!HttpAddrAllowed(cls, x->cli->conn->allow_private))
	{
		if (x->refused[0])
			return CURL_SOCKET_BAD; /* keep the first refusal for the message */
		snprintf(x->refused, sizeof(x->refused), "%s, %s", text, HttpAddrClassName(cls));
		return CURL_SOCKET_BAD;
	}
	return socket(address->family, address->socktype, address->protocol);
}

/* ------------------------------------------------------------ lifecycle */

static void
http_xfer_release(HttpXfer *x)
{
	if (x->h)
	{
		if (x->active)
			curl_multi_remove_handle(x->cli->multi, x->h);
		curl_easy_cleanup(x->h);
	}
	x->h = NULL;
	x->active = false;
	if (x->hdrs)
		curl_slist_free_all(x->hdrs);
	x->hdrs = NULL;
}

static void
http_xfer_free_body(HttpXfer *x)
{
	free(x->buf);
	x->buf = NULL;
	x->len = x->cap = x->off = 0;
}

/* the client's memory context goes away: free everything libcurl holds */
static void
http_client_reset(void *arg)
{
	HttpClient *cli = arg;
	ListCell   *lc;

	foreach(lc, cli->all)
	{
		HttpXfer   *x = lfirst(lc);

		http_xfer_release(x);
		http_xfer_free_body(x);
	}
	cli->all = NIL;
	if (cli->multi)
		curl_multi_cleanup(cli->multi);
	cli->multi = NULL;
}

/*
 * HttpClientOpen
 *		A client for one operation on conn, in a memory context of its own
 *		(a child of the current one); HttpClientClose, or the parent going
 *		away on error, frees it and everything libcurl holds.
 */
HttpClient *
HttpClientOpen(HttpConn *conn)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "metaetl http client",
											  ALLOCSET_DEFAULT_SIZES);
	HttpClient *cli = MemoryContextAllocZero(cxt, sizeof(HttpClient));

	MetaetlCurlGlobalInit();
	cli->conn = conn;
	cli->cxt = cxt;
	cli->seed = (unsigned int) (GetCurrentTimestamp() ^ MyProcPid);
	cli->cb.func = http_client_reset;
	cli->cb.arg = cli;
	MemoryContextRegisterResetCallback(cxt, &cli->cb);
	cli->multi = curl_multi_init();
	if (cli->multi == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not create a libcurl multi handle")));
	curl_multi_setopt(cli->multi, CURLMOPT_PIPELINING, (long) CURLPIPE_MULTIPLEX);
	curl_multi_setopt(cli->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long) conn->max_parallel);
	curl_multi_setopt(cli->multi, CURLMOPT_MAXCONNECTS, (long) conn->max_parallel + 2);
	return cli;
}

/*
 * HttpClientConn
 *		The connection cli was opened on.  HttpClient is opaque outside this
 *		file, so http_auth.c and http_target.c reach the connection's options
 *		(auth, allowed_hosts, max_parallel) through it rather than being handed
 *		both.
 */
HttpConn *
HttpClientConn(HttpClient *cli)
{
	return cli->conn;
}

/*
 * HttpClientAuthState
 *		http_auth.c's per-client state (cached tokens, signing keys), or NULL
 *		before the first authenticated request.  The engine only stores the
 *		pointer: keeping it on the client makes its lifetime that of the
 *		operation, freed with the client's memory context.
 */
void *
HttpClientAuthState(HttpClient *cli)
{
	return cli->auth_state;
}

/*
 * HttpClientSetAuthState
 *		Attach http_auth.c's state to cli, on the first authenticated request.
 *		The engine never frees or inspects it; it must be allocated in a
 *		context that lives at least as long as the client.
 */
void
HttpClientSetAuthState(HttpClient *cli, void *state)
{
	cli->auth_state = state;
}

/*
 * HttpClientClose
 *		Free the client: deleting its memory context runs the reset callback
 *		that cleans up the libcurl multi and easy handles, so closing and an
 *		error unwinding through the parent context release the same things.
 *		Every caller (http.c, soap.c, http_target.c, the OAuth2 token fetch)
 *		closes its client when the operation ends.
 */
void
HttpClientClose(HttpClient *cli)
{
	MemoryContextDelete(cli->cxt);
}

/*
 * HttpClientStats
 *		The client's counters so far: requests started (retries included),
 *		retries, and body bytes received after decoding.  http_target.c reports
 *		the first two in the target's details.
 */
void
HttpClientStats(HttpClient *cli, int *requests, int *retries, int64 *bytes)
{
	*requests = cli->requests;
	*retries = cli->retries;
	*bytes = cli->bytes;
}

/* ------------------------------------------------------------ starting */

static void
http_slist_add(HttpXfer *x, const char *line)
{
	struct curl_slist *n = curl_slist_append(x->hdrs, line);

	if (n == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	x->hdrs = n;
}

#define XSETOPT(x, opt, val) \
	do { \
		if (curl_easy_setopt((x)->h, (opt), (val)) != CURLE_OK) \
			elog(ERROR, "could not set libcurl option %s", #opt); \
	} while (0)

static void
http_xfer_start(HttpClient *cli, HttpXfer *x)
{
	HttpConn   *conn = cli->conn;
	HttpReq    *req = x->req;
	char	   *url = x->url;
	char	   *user = NULL;
	char	   *password = NULL;
	List	   *headers = NIL;
	ListCell   *lc;
	MemoryContext old = MemoryContextSwitchTo(cli->cxt);

	/* credentials only for the connection's own origin */
	if (!req->anonymous && HttpSameOrigin(url, conn->base_url))
	{
		HttpAuthApply(cli, req, &headers, &url, &user, &password);
		x->auth_gen = HttpAuthGeneration(cli);
	}

	x->h = curl_easy_init();
	if (x->h == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not create a libcurl handle")));
	MetaetlCurlBaseOptions(x->h, conn->timeout_ms, Min(conn->timeout_ms, 10000L),
						   conn->ca_file, conn->tls_verify);
	XSETOPT(x, CURLOPT_URL, url);
	XSETOPT(x, CURLOPT_PRIVATE, x);
	XSETOPT(x, CURLOPT_ERRORBUFFER, x->errbuf);
	XSETOPT(x, CURLOPT_WRITEFUNCTION, http_write_cb);
	XSETOPT(x, CURLOPT_WRITEDATA, x);
	XSETOPT(x, CURLOPT_HEADERFUNCTION, http_header_cb);
	XSETOPT(x, CURLOPT_HEADERDATA, x);
	XSETOPT(x, CURLOPT_OPENSOCKETFUNCTION, http_opensocket);
	XSETOPT(x, CURLOPT_OPENSOCKETDATA, x);
	XSETOPT(x, CURLOPT_ACCEPT_ENCODING, "");	/* every decoder libcurl has */
	XSETOPT(x, CURLOPT_TCP_KEEPALIVE, 1L);
	XSETOPT(x, CURLOPT_HTTP_VERSION, (long) CURL_HTTP_VERSION_2TLS);
	/* over TLS, wait for HTTP/2 multiplexing rather than open more connections */
	if (pg_strncasecmp(url, "https:", 6) == 0)
		XSETOPT(x, CURLOPT_PIPEWAIT, 1L);
	if (user)
	{
		XSETOPT(x, CURLOPT_HTTPAUTH, (long) CURLAUTH_BASIC);
		XSETOPT(x, CURLOPT_USERNAME, user);
		XSETOPT(x, CURLOPT_PASSWORD, password ? password : "");
	}
	foreach(lc, conn->headers)
		http_slist_add(x, lfirst(lc));
	foreach(lc, req->headers)
		http_slist_add(x, lfirst(lc));
	foreach(lc, headers)
		http_slist_add(x, lfirst(lc));
	http_slist_add(x, "Expect:");
	XSETOPT(x, CURLOPT_HTTPHEADER, x->hdrs);
	if (strcmp(x->method, "GET") == 0)
		XSETOPT(x, CURLOPT_HTTPGET, 1L);
	else
	{
		if (strcmp(x->method, "POST") != 0)
			XSETOPT(x, CURLOPT_CUSTOMREQUEST, x->method);
		XSETOPT(x, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) x->body_len);
		XSETOPT(x, CURLOPT_POSTFIELDS, x->body ? x->body : "");
	}
	MemoryContextSwitchTo(old);

	x->status = 0;
	x->errlen = 0;
	x->refused[0] = x->errbuf[0] = '\0';
	x->too_big = x->paused = false;
	x->received = 0;
	if (curl_multi_add_handle(cli->multi, x->h) != CURLM_OK)
		elog(ERROR, "could not add a libcurl handle");
	x->active = true;
	cli->nactive++;
	cli->requests++;
	req->attempts++;
}

/* start what may start now: within max_parallel and the rate limit */
static void
http_start_ready(HttpClient *cli, TimestampTz now)
{
	ListCell   *lc;

	foreach(lc, cli->queue)
	{
		HttpXfer   *x = lfirst(lc);

		if (cli->nactive >= cli->conn->max_parallel)
			break;
		if (x->not_before > now)
			continue;
		if (cli->conn->rate_limit > 0 && cli->next_start > now)
			break;
		cli->queue = foreach_delete_current(cli->queue, lc);
		http_xfer_start(cli, x);
		if (cli->conn->rate_limit > 0)
			cli->next_start = Max(now, cli->next_start) +
				(TimestampTz) (1000000.0 / cli->conn->rate_limit);
	}
}

/* ------------------------------------------------------------ finishing */

static void
http_fail(HttpXfer *x, int sqlstate, const char *error)
{
	HttpReq    *req = x->req;
	MemoryContext old = MemoryContextSwitchTo(x->cli->cxt);

	req->sqlstate = sqlstate;
	req->error = pstrdup(error);
	if (x->errlen > 0 && req->detail == NULL)
		req->detail = HttpRedact(x->cli, pnstrdup(x->errbody, x->errlen));
	req->done = true;
	req->status = x->status;
	req->ms = (double) (GetCurrentTimestamp() - x->first_start) / 1000.0;
	http_xfer_free_body(x);
	MemoryContextSwitchTo(old);
}

static void
http_requeue(HttpClient *cli, HttpXfer *x, TimestampTz not_before)
{
	MemoryContext old = MemoryContextSwitchTo(cli->cxt);

	if (x->buf)
		x->len = x->off = 0;
	x->not_before = not_before;
	x->received = 0;
	cli->queue = lappend(cli->queue, x);
	MemoryContextSwitchTo(old);
}

/* a retryable failure: wait and go again, or give up */
static void
http_retry(HttpClient *cli, HttpXfer *x, const char *why)
{
	HttpConn   *conn = cli->conn;
	HttpReq    *req = x->req;
	double		delay,
				ra = x->retry_after[0] ? HttpParseRetryAfter(x->retry_after, time(NULL)) : -1;
	double		elapsed = (double) (GetCurrentTimestamp() - x->first_start) / 1e6;

	if (x->consumed)
	{
		http_fail(x, ERRCODE_CONNECTION_FAILURE,
				  psprintf("%s after part of the body was read", why));
		return;
	}
	if (req->attempts >= conn->retry.max_attempts)
	{
		http_fail(x, ERRCODE_CONNECTION_FAILURE,
				  req->attempts > 1 ? psprintf("%s after %d attempts", why, req->attempts) : why);
		return;
	}
	delay = MetaetlRetryDelay(&conn->retry, req->attempts, &cli->seed);
	if (ra >= 0)
		delay = Max(delay, ra);
	if (ra >= 0 && elapsed + ra > conn->retry_max_total_s)
	{
		http_fail(x, ERRCODE_CONNECTION_FAILURE,
				  psprintf("%s; Retry-After asks for %g s, more than retry.max_total_s = %g s allows",
						   why, ra, conn->retry_max_total_s));
		return;
	}
	if (elapsed + delay > conn->retry_max_total_s)
	{
		http_fail(x, ERRCODE_CONNECTION_FAILURE,
				  psprintf("%s after %d attempt%s (retry.max_total_s = %g s reached)",
						   why, req->attempts, req->attempts == 1 ? "" : "s", conn->retry_max_total_s));
		return;
	}
	cli->retries++;
	http_requeue(cli, x, GetCurrentTimestamp() + (TimestampTz) (delay * 1e6));
}

static bool
http_status_retryable(long s)
{
	return s == 408 || s == 429 || s == 500 || s == 502 || s == 503 || s == 504;
}

static bool
http_rc_retryable(CURLcode rc)
{
	switch (rc)
	{
		case CURLE_OPERATION_TIMEDOUT:
		case CURLE_COULDNT_CONNECT:
		case CURLE_COULDNT_RESOLVE_HOST:
		case CURLE_RECV_ERROR:
		case CURLE_SEND_ERROR:
		case CURLE_GOT_NOTHING:
		case CURLE_PARTIAL_FILE:
		case CURLE_HTTP2:
		case CURLE_HTTP2_STREAM:
			return true;
		default:
			return false;
	}
}

/* a redirect to "next" (absolute, or NULL without a Location): check it and go there */
static void
http_redirect(HttpClient *cli, HttpXfer *x, char *next)
{
	if (next == NULL)
	{
		http_fail(x, ERRCODE_INVALID_PARAMETER_VALUE,
				  psprintf("HTTP status %ld without a Location", x->status));
		return;
	}
	if (++x->redirects > HTTP_MAX_REDIRECTS)
	{
		http_fail(x, ERRCODE_INVALID_PARAMETER_VALUE,
				  psprintf("more than %d redirects", HTTP_MAX_REDIRECTS));
		return;
	}
	/* raises when the new host is not allowed: the request goes nowhere */
	HttpCheckUrl(cli->conn, next, psprintf("redirect from %s", HttpUrlDisplay(x->url)));
	/* 303, and 301/302 after a POST, continue as GET (as browsers and libcurl do) */
	if (x->status == 303 || ((x->status == 301 || x->status == 302) && strcmp(x->method, "GET") != 0))
	{
		x->method = "GET";
		x->body = NULL;
		x->body_len = 0;
	}
	x->url = next;
	http_requeue(cli, x, 0);
}

static void
http_xfer_done(HttpClient *cli, HttpXfer *x, CURLcode rc)
{
	HttpReq    *req = x->req;
	long		status = 0;
	char	   *location = NULL;
	char	   *redirect = NULL;

	curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &status);
	x->status = status;
	/* libcurl resolves a relative Location against the request's URL */
	if (curl_easy_getinfo(x->h, CURLINFO_REDIRECT_URL, &location) == CURLE_OK && location)
		redirect = MemoryContextStrdup(cli->cxt, location);
	cli->bytes += x->received;
	/* the handle's connection stays in the multi's cache for the next one */
	curl_multi_remove_handle(cli->multi, x->h);
	x->active = false;
	cli->nactive--;
	curl_easy_cleanup(x->h);
	x->h = NULL;
	curl_slist_free_all(x->hdrs);
	x->hdrs = NULL;

	if (rc == CURLE_ABORTED_BY_CALLBACK)
		CHECK_FOR_INTERRUPTS();
	if (x->refused[0])
	{
		req->hint = "Link-local, cloud metadata and reserved addresses are never allowed; "
			"private and loopback ones need allow_private: true on the connection.";
		http_fail(x, ERRCODE_INSUFFICIENT_PRIVILEGE,
				  psprintf("refused to connect to %s", x->refused));
		return;
	}
	if (x->too_big)
	{
		req->hint = "Raise max_bytes on the connection, or ask for smaller pages.";
		http_fail(x, ERRCODE_PROGRAM_LIMIT_EXCEEDED,
				  psprintf("the response exceeds max_bytes (" INT64_FORMAT " bytes)",
						   cli->conn->max_bytes));
		return;
	}
	if (rc != CURLE_OK)
	{
		char	   *why = psprintf("%s%s%s", curl_easy_strerror(rc), x->errbuf[0] ? ": " : "",
								   x->errbuf);

		while (why[0] && why[strlen(why) - 1] == '\n')
			why[strlen(why) - 1] = '\0';
		if (rc == CURLE_OPERATION_TIMEDOUT)
			why = psprintf("no answer within timeout_s = %g s", cli->conn->timeout_ms / 1000.0);
		why = HttpRedact(cli, why);
		if (http_rc_retryable(rc))
			http_retry(cli, x, why);
		else
			http_fail(x, ERRCODE_CONNECTION_FAILURE, why);
		return;
	}
	if (status >= 200 && status <= 299)
	{
		MemoryContext old = MemoryContextSwitchTo(cli->cxt);
		char		linknext[4096];

		req->status = status;
		req->final_url = x->url;
		req->content_type = x->ctype[0] ? pstrdup(x->ctype) : NULL;
		if (x->link[0] && HttpLinkNext(x->link, linknext, sizeof(linknext)))
			req->link_next = pstrdup(linknext);
		req->ms = (double) (GetCurrentTimestamp() - x->first_start) / 1000.0;
		if (!req->stream)
		{
			req->data = palloc(x->len + 1);
			if (x->len)
				memcpy(req->data, x->buf, x->len);
			req->data[x->len] = '\0';
			req->len = x->len;
			http_xfer_free_body(x);
		}
		req->done = true;		/* a stream's buffer stays for its reader */
		MemoryContextSwitchTo(old);
		return;
	}
	if (status == 301 || status == 302 || status == 303 || status == 307 || status == 308)
	{
		http_redirect(cli, x, redirect);
		return;
	}
	if (status == 401 && !x->auth_retried && !req->anonymous && HttpAuthRefreshable(cli))
	{
		/* an OAuth2 token the server no longer takes: one fresh token, once */
		x->auth_retried = true;
		HttpAuthInvalidate(cli, x->auth_gen);
		http_requeue(cli, x, 0);
		return;
	}
	if (http_status_retryable(status) && !(status == 500 && req->final_500))
	{
		http_retry(cli, x, psprintf("HTTP status %ld", status));
		return;
	}
	if (status == 401 || status == 403)
		req->hint = "Check the connection's auth and its credential.";
	http_fail(x, status == 401 || status == 403 ? ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION :
			  ERRCODE_INVALID_PARAMETER_VALUE, psprintf("HTTP status %ld", status));
}

/* ------------------------------------------------------------ the loop */

/*
 * One round: start what can start, move transfers, finish what finished,
 * and start the transfers that freed slots allow at once (curl sends a new
 * request only from curl_multi_perform, so without the second perform the
 * next pages would not even be asked for while the caller parses).  Then,
 * when "block" and nothing finished (the caller may be waiting for just
 * that), wait for the next event (at most HTTP_POLL_MS).
 */
static void
http_pump(HttpClient *cli, bool block)
{
	int			running = 0;
	int			left;
	CURLMsg    *msg;
	TimestampTz now = GetCurrentTimestamp();
	long		wait_ms = HTTP_POLL_MS;
	ListCell   *lc;
	int			started;
	bool		finished = false;

	http_start_ready(cli, now);
	if (curl_multi_perform(cli->multi, &running) != CURLM_OK)
		elog(ERROR, "curl_multi_perform failed");
	while ((msg = curl_multi_info_read(cli->multi, &left)) != NULL)
	{
		HttpXfer   *x = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &x);
		http_xfer_done(cli, x, msg->data.result);
		finished = true;
	}
	now = GetCurrentTimestamp();
	started = cli->requests;
	http_start_ready(cli, now);
	if (cli->requests != started &&
		curl_multi_perform(cli->multi, &running) != CURLM_OK)
		elog(ERROR, "curl_multi_perform failed");
	if (!block || finished)
	{
		/* a request finished: its waiter looks before anything is waited for */
		CHECK_FOR_INTERRUPTS();
		return;
	}

	/* how long until something queued may start (when a slot is free) */
	foreach(lc, cli->queue)
	{
		HttpXfer   *x = lfirst(lc);
		TimestampTz at = Max(x->not_before, cli->conn->rate_limit > 0 ? cli->next_start : 0);

		if (cli->nactive >= cli->conn->max_parallel)
			break;				/* a finishing transfer wakes the poll */
		wait_ms = Min(wait_ms, Max((long) ((at - now) / 1000), 0));
	}
	if (cli->nactive > 0)
	{
		if (curl_multi_poll(cli->multi, NULL, 0, (int) wait_ms, NULL) != CURLM_OK)
			elog(ERROR, "curl_multi_poll failed");
	}
	else if (wait_ms > 0)
	{
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, wait_ms,
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
	CHECK_FOR_INTERRUPTS();
}

/*
 * HttpSubmit
 *		Queue req; it starts as soon as max_parallel and the rate limit let
 *		it.  The URL's host is checked against allowed_hosts here.
 */
void
HttpSubmit(HttpClient *cli, HttpReq *req)
{
	MemoryContext old;
	HttpXfer   *x;

	HttpCheckUrl(cli->conn, req->url, NULL);
	old = MemoryContextSwitchTo(cli->cxt);
	x = palloc0(sizeof(HttpXfer));
	x->cli = cli;
	x->req = req;
	x->url = pstrdup(req->url);
	x->method = req->method ? req->method : "GET";
	x->body = req->body;
	x->body_len = req->body ? (req->body_len ? req->body_len : strlen(req->body)) : 0;
	x->first_start = GetCurrentTimestamp();
	req->x = x;
	req->done = false;
	cli->all = lappend(cli->all, x);
	cli->queue = lappend(cli->queue, x);
	MemoryContextSwitchTo(old);
	http_start_ready(cli, GetCurrentTimestamp());
}

/*
 * HttpWait
 *		Run the engine until req is done (succeeded or failed for good).  A
 *		request already done still gets one round without waiting, so the
 *		transfers behind it move on while the caller works on its body.
 */
void
HttpWait(HttpClient *cli, HttpReq *req)
{
	if (req->done)
		http_pump(cli, false);
	while (!req->done)
		http_pump(cli, true);
}

/*
 * HttpRaise
 *		The error for a failed request: "source "orders": GET
 *		http://host/v1/orders (page 3) failed: HTTP status 500 after 4
 *		attempts", with what the server said (redacted) as the detail.
 */
void
HttpRaise(HttpClient *cli, HttpReq *req)
{
	ereport(ERROR,
			(errcode(req->sqlstate ? req->sqlstate : ERRCODE_CONNECTION_FAILURE),
			 errmsg("%s: %s %s%s%s%s failed: %s", cli->conn->what,
					req->x ? req->x->method : req->method, HttpUrlDisplay(req->url),
					req->label ? " (" : "", req->label ? req->label : "", req->label ? ")" : "",
					req->error),
			 req->detail ? errdetail("The server answered: %s", req->detail) : 0,
			 req->hint ? errhint("%s", req->hint) : 0));
}

/* HttpPerform: submit, wait, raise on failure */
void
HttpPerform(HttpClient *cli, HttpReq *req)
{
	HttpSubmit(cli, req);
	HttpWait(cli, req);
	if (req->error)
		HttpRaise(cli, req);
}

/* ------------------------------------------------------------ streams */

typedef struct HttpStream
{
	HttpClient *cli;
	HttpReq    *req;
} HttpStream;

static size_t
http_stream_read(MetaetlInStream *s, void *buf, size_t len)
{
	HttpStream *st = s->state;
	HttpXfer   *x = st->req->x;

	for (;;)
	{
		if (x->len > x->off && (x->req->done || x->status / 100 == 2))
		{
			size_t		n = Min(len, x->len - x->off);

			memcpy(buf, x->buf + x->off, n);
			x->off += n;
			x->consumed = true;
			if (x->paused && x->h && x->len - x->off < HTTP_STREAM_HIGH / 2)
			{
				x->paused = false;
				curl_easy_pause(x->h, CURLPAUSE_CONT);
			}
			return n;
		}
		if (st->req->done)
		{
			if (st->req->error)
				HttpRaise(st->cli, st->req);
			return 0;
		}
		if (x->paused && x->h)
		{
			x->paused = false;
			curl_easy_pause(x->h, CURLPAUSE_CONT);
		}
		http_pump(st->cli, true);
	}
}

static void
http_stream_close(MetaetlInStream *s)
{
	HttpStream *st = s->state;

	http_xfer_free_body(st->req->x);
}

/*
 * HttpStreamOpen
 *		The body of a submitted request (req->stream set) as a sequential
 *		stream: reading runs the engine until bytes arrive, so the format
 *		parses while the transfer (and others) go on.  A failure raises from
 *		read.
 */
MetaetlInStream *
HttpStreamOpen(HttpClient *cli, HttpReq *req)
{
	MetaetlInStream *s = palloc0(sizeof(MetaetlInStream));
	HttpStream *st = palloc0(sizeof(HttpStream));

	Assert(req->stream && req->x);
	st->cli = cli;
	st->req = req;
	s->name = HttpUrlDisplay(req->url);
	s->size = -1;
	s->seekable = false;
	s->read = http_stream_read;
	s->close = http_stream_close;
	s->state = st;
	return s;
}
