/*-------------------------------------------------------------------------
 *
 * src/util/curl.c
 *		A small libcurl wrapper: one HTTP POST or one SMTP message per call.
 *
 * Every transfer is restricted to http, https, smtp and smtps (redirects are
 * not followed), bounded by connect and total timeouts, runs with
 * CURLOPT_NOSIGNAL, and is abandoned from the progress callback as soon as a
 * query cancel or termination is pending; the interrupt is then serviced
 * after curl has returned.  The easy handle and header lists are released in
 * PG_FINALLY, so an error (or a cancel) never leaks them.  The callbacks
 * write only into fixed buffers: no palloc, hence no longjmp, inside curl.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <curl/curl.h>

#include "miscadmin.h"

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
