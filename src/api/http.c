/*-------------------------------------------------------------------------
 *
 * src/api/http.c
 *		metaetl-api's HTTP side: the libmicrohttpd daemon, requests and
 *		responses, problem documents, and the per-request database session.
 *
 * libmicrohttpd runs a thread per connection (handlers block on libpq; the
 * pool, not the thread count, bounds the database load).  A request body is
 * collected up to --max-body bytes (413 beyond, answered before the body is
 * read when Content-Length says so).  A session borrows a pooled connection
 * and resolves the bearer token's role; each of its statements travels in one
 * pipeline transaction with set_config('role', <role>, true), so the role ends
 * with the statement's transaction whether it succeeded or failed, and a
 * connection whose server went away is closed instead: no request ever runs
 * with a previous request's role.
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include <libpq-fe.h>

#include "api.h"

uint64_t	api_requests_by_class[6];
static int	active_requests;
static pthread_mutex_t log_mutex = PTHREAD_MUTEX_INITIALIZER;

/*
 * The server's only log writer: one line on stderr with a UTC timestamp to
 * the millisecond, a newline added unless fmt ends with one.  The mutex keeps
 * lines from concurrent request threads whole, and the flush lets journald
 * (or a pipe) see each line at once.  Callers never pass a token or the
 * Authorization header (see auth.c).
 */
void
api_log(const char *fmt,...)
{
	va_list		ap;
	char		stamp[32];
	struct timespec ts;
	struct tm	tm;
	size_t		n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	pthread_mutex_lock(&log_mutex);
	fprintf(stderr, "%s.%03ldZ metaetl-api: ", stamp, ts.tv_nsec / 1000000L);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	n = strlen(fmt);
	if (n == 0 || fmt[n - 1] != '\n')
		fputc('\n', stderr);
	fflush(stderr);
	pthread_mutex_unlock(&log_mutex);
}

/*
 * A request header (case-insensitive name), or NULL.  The string belongs to
 * libmicrohttpd and lives as long as the request.  Used for Authorization
 * (auth.c), Content-Type and Accept (handlers.c), so handlers need not know
 * about struct MHD_Connection.
 */
const char *
request_header(Request *req, const char *name)
{
	return MHD_lookup_connection_value((struct MHD_Connection *) req->connection,
									   MHD_HEADER_KIND, name);
}

/*
 * A query-string argument (?name=value, already URL-decoded by
 * libmicrohttpd), or NULL when absent; owned by libmicrohttpd like
 * request_header's.  Handlers validate the value themselves (limit_arg and
 * the like), since it comes from the client as it is.
 */
const char *
request_arg(Request *req, const char *name)
{
	return MHD_lookup_connection_value((struct MHD_Connection *) req->connection,
									   MHD_GET_ARGUMENT_KIND, name);
}

static const char *
status_title(int status)
{
	switch (status)
	{
		case 400:
			return "Bad Request";
		case 401:
			return "Unauthorized";
		case 403:
			return "Forbidden";
		case 404:
			return "Not Found";
		case 405:
			return "Method Not Allowed";
		case 409:
			return "Conflict";
		case 413:
			return "Content Too Large";
		case 415:
			return "Unsupported Media Type";
		case 422:
			return "Unprocessable Content";
		case 500:
			return "Internal Server Error";
		case 501:
			return "Not Implemented";
		case 503:
			return "Service Unavailable";
		case 504:
			return "Gateway Timeout";
	}
	return "Error";
}

/* starts an RFC 9457 problem document; the caller may add members, then closes it with "}" */
void
problem_open(Response *resp, int status, const char *detail)
{
	resp->status = status;
	resp->content_type = "application/problem+json";
	resp->body.len = 0;
	buf_puts(&resp->body, "{\"type\": \"about:blank\", \"title\": ");
	buf_json_string(&resp->body, status_title(status));
	buf_printf(&resp->body, ", \"status\": %d, \"detail\": ", status);
	buf_json_string(&resp->body, detail);
	if (status == 401)
		resp->www_authenticate = true;
}

/*
 * A complete RFC 9457 problem document: status, detail and an optional hint
 * telling the client what to do, the same split as an SQL error's message
 * and HINT.  Like problem_open it replaces any body already written, so the
 * last error a handler reports is the one sent.  Used for the errors the
 * server finds itself (auth, routing, limits, the pool); database errors go
 * through problem_from_result.
 */
void
problem(Response *resp, int status, const char *detail, const char *hint)
{
	problem_open(resp, status, detail);
	if (hint)
	{
		buf_puts(&resp->body, ", \"hint\": ");
		buf_json_string(&resp->body, hint);
	}
	buf_puts(&resp->body, "}");
}

/* the HTTP status an SQLSTATE means for a client */
static int
status_of_sqlstate(const char *st)
{
	if (st == NULL || strlen(st) != 5)
		return 500;
	if (strcmp(st, "42501") == 0)
		return 403;
	if (strcmp(st, "42704") == 0)
		return 404;
	if (strcmp(st, "23505") == 0 || strcmp(st, "55000") == 0 || strcmp(st, "55006") == 0 ||
		strcmp(st, "55P03") == 0 || strcmp(st, "40001") == 0 || strcmp(st, "40P01") == 0)
		return 409;
	if (strcmp(st, "57014") == 0)
		return 504;
	if (strncmp(st, "08", 2) == 0 || strncmp(st, "53", 2) == 0 || strncmp(st, "57P", 3) == 0)
		return 503;
	if (strncmp(st, "22", 2) == 0 || strncmp(st, "23", 2) == 0 || strncmp(st, "42", 2) == 0 ||
		strncmp(st, "P0", 2) == 0 || strncmp(st, "2F", 2) == 0 || strncmp(st, "39", 2) == 0)
		return 422;
	return 500;
}

/*
 * A problem document from a failed libpq result: its SQLSTATE decides the
 * status; message, detail and hint are passed on (metaetl's errors name the
 * pipeline, step and config path there, and never a secret).
 */
void
problem_from_result(Response *resp, const PGresult *res)
{
	const char *st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
	const char *hint = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_HINT) : NULL;
	int			status;

	if (msg == NULL)
	{
		/* no server error: the connection failed */
		if (res)
			api_log("database error: %s", PQresultErrorMessage(res));
		problem(resp, 503, "the database cannot be reached", NULL);
		resp->retry_after_s = 1;
		return;
	}
	status = status_of_sqlstate(st);
	if (status >= 500)
		api_log("database error %s: %s", st ? st : "?", msg);
	problem_open(resp, status, status == 504 ? "the statement took longer than --statement-timeout" : msg);
	buf_puts(&resp->body, ", \"sqlstate\": ");
	buf_json_string(&resp->body, st);
	if (status == 504)
	{
		buf_puts(&resp->body, ", \"error\": ");
		buf_json_string(&resp->body, msg);
	}
	if (detail)
	{
		buf_puts(&resp->body, ", \"error_detail\": ");
		buf_json_string(&resp->body, detail);
	}
	if (hint)
	{
		buf_puts(&resp->body, ", \"hint\": ");
		buf_json_string(&resp->body, hint);
	}
	buf_puts(&resp->body, "}");
	if (status == 503)
		resp->retry_after_s = 1;
}

/*
 * A success answer whose body is JSON built elsewhere, usually the text of a
 * jsonb the SQL API returned: the server passes the database's JSON through
 * rather than rebuilding it, so the API's shape is defined in one place (see
 * handlers.c).  Replaces any body already written, as problem does.
 */
void
respond_json(Response *resp, int status, const char *json)
{
	resp->status = status;
	resp->content_type = "application/json";
	resp->body.len = 0;
	buf_puts(&resp->body, json);
}

/* ------------------------------------------------------------ sessions */

/*
 * Each statement of a session travels in one libpq pipeline with
 * set_config('role', <the token's role>, true) before it: a pipeline runs as
 * one implicit transaction (it ends at the Sync), so the role is in effect
 * for exactly that statement and is reset by the transaction's end whether
 * the statement succeeded or failed.  A pooled connection can therefore
 * never go back to the pool acting as a token's role, and a request that
 * needs one statement costs one round trip.  The role travels as a
 * parameter, never spliced into SQL.  Both statements are prepared on the
 * connection the first time it runs them (pool.c).
 */
static const char *const set_role_sql = "SELECT pg_catalog.set_config('role', $1, true)";

/*
 * Starts a request's database session: checks the bearer token (401 without
 * a usable one) before borrowing a connection, so an unauthenticated request
 * never takes a pool slot, then borrows one (503 with Retry-After when none
 * frees up within --pool-timeout) and resolves the token to its role
 * (auth_resolve, cached).  False means resp already holds the problem and
 * nothing needs ending.  On success the caller must call session_end exactly
 * once; s->req carries the role that each statement is run as.
 */
bool
session_begin(Request *req, Response *resp, Session *s)
{
	char		hash[65];

	memset(s, 0, sizeof(*s));
	s->slot = -1;
	if (!auth_bearer_hash(req, resp, hash))
		return false;
	s->conn = pool_acquire(&s->slot);
	if (s->conn == NULL)
	{
		problem(resp, 503, "no database connection became free in time",
				"Retry, or raise --pool-size.");
		resp->retry_after_s = 1;
		return false;
	}
	if (!auth_resolve(s->conn, hash, req, resp))
	{
		s->broken = PQstatus(s->conn) != CONNECTION_OK;
		session_end(s);
		return false;
	}
	s->req = req;
	return true;
}

/* the result of the next command of a pipeline, and the NULL after it */
static PGresult *
pipeline_result(PGconn *conn)
{
	PGresult   *res = PQgetResult(conn);
	PGresult   *extra;

	while ((extra = PQgetResult(conn)) != NULL)
		PQclear(extra);
	return res;
}

/*
 * Queues one statement of a pipeline: prepared on this connection if it is
 * not yet (*prepare_as is then the number it is being prepared as, else
 * -1).  False when libpq could not queue it.
 */
static bool
send_statement(Session *s, const char *sql, int nparams, const char *const *values, int *prepare_as)
{
	char		name[32];
	int			n = pool_statement(s->slot, sql, prepare_as);

	if (n >= 0)
		*prepare_as = -1;
	else if (*prepare_as < 0 || !pool_statement_reserve(s->slot, *prepare_as, sql))
	{
		*prepare_as = -1;
		return PQsendQueryParams(s->conn, sql, nparams, NULL, values, NULL, NULL, 0) == 1;
	}
	snprintf(name, sizeof(name), "metaetl_api_%d", n >= 0 ? n : *prepare_as);
	if (n < 0 && !PQsendPrepare(s->conn, name, sql, nparams, NULL))
		return false;
	return PQsendQueryPrepared(s->conn, name, nparams, values, NULL, NULL, 0) == 1;
}

/* reads what send_statement queued: the statement's result */
static PGresult *
statement_result(Session *s, int prepare_as)
{
	if (prepare_as >= 0)
	{
		PGresult   *prep = pipeline_result(s->conn);
		ExecStatusType st = PQresultStatus(prep);

		if (st != PGRES_COMMAND_OK)
			pool_statement_release(s->slot, prepare_as);
		if (prep != NULL && st != PGRES_COMMAND_OK && st != PGRES_PIPELINE_ABORTED)
		{
			/*
			 * A statement that does not parse (an unknown function) fails
			 * at its Parse: that error, not the skipped execution, is its
			 * result.
			 */
			PQclear(pipeline_result(s->conn));
			return prep;
		}
		/* a Parse skipped by an aborted pipeline prepared nothing */
		PQclear(prep);
	}
	return pipeline_result(s->conn);
}

/*
 * Runs one statement as the token's role.  Returns the statement's result
 * (NULL when the connection failed); a failed role switch is returned in
 * its place.  `last` is kept for the callers' sake: every statement resets
 * the role by ending its transaction.
 */
PGresult *
session_exec(Session *s, const char *sql, int nparams, const char *const *values, bool last)
{
	const char *role[1] = {s->req->role};
	int			prep_role,
				prep_sql;
	PGresult   *role_res,
			   *res,
			   *sync;

	(void) last;
	if (!PQenterPipelineMode(s->conn))
	{
		s->broken = true;
		return NULL;
	}
	if (!send_statement(s, set_role_sql, 1, role, &prep_role) ||
		!send_statement(s, sql, nparams, values, &prep_sql) ||
		!PQpipelineSync(s->conn))
	{
		s->broken = true;
		return NULL;
	}
	role_res = statement_result(s, prep_role);
	res = statement_result(s, prep_sql);
	sync = PQgetResult(s->conn);
	if (PQresultStatus(sync) != PGRES_PIPELINE_SYNC || !PQexitPipelineMode(s->conn))
		s->broken = true;
	PQclear(sync);
	if (PQstatus(s->conn) != CONNECTION_OK)
		s->broken = true;
	if (PQresultStatus(role_res) != PGRES_TUPLES_OK)
	{
		/* the statement did not run: answer with why */
		PQclear(res);
		return role_res;
	}
	PQclear(role_res);
	return res;
}

/*
 * Gives the session's connection back to the pool, or closes it if it is
 * broken, lost its server, or (which should never happen, since every
 * pipeline ends its transaction) is still inside a transaction: a pooled
 * connection is only ever an idle one with no role set.  Safe to call again,
 * and on a session that holds no connection, so handlers can end a session
 * early (before waiting, as execute does) and on every error path.
 */
void
session_end(Session *s)
{
	if (s->conn == NULL)
		return;
	if (!s->broken && PQstatus(s->conn) != CONNECTION_OK)
		s->broken = true;
	if (!s->broken && PQtransactionStatus(s->conn) != PQTRANS_IDLE)
		s->broken = true;		/* never: every pipeline ends its transaction */
	pool_release(s->slot, s->broken);
	s->conn = NULL;
	s->slot = -1;
}

/* a failed role switch: the server's login role is not a member of the token's */
static bool
is_set_role_denied(Session *s, const PGresult *res)
{
	const char *st = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

	return s->req && st && strcmp(st, "42501") == 0 && msg &&
		strncmp(msg, "permission denied to set role", 29) == 0;
}

static PGresult *
session_checked(Session *s, Response *resp, const char *sql, int nparams,
				const char *const *values, bool last)
{
	PGresult   *res = session_exec(s, sql, nparams, values, last);
	ExecStatusType st = PQresultStatus(res);

	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
		return res;
	if (res && is_set_role_denied(s, res))
	{
		Buf			hint = {0};

		buf_printf(&hint, "An administrator runs GRANT \"%s\" TO etl_api (etl.create_api_token() does it).",
				   s->req->role);
		problem(resp, 403, "the API server may not act as the token's role", hint.data);
		buf_free(&hint);
	}
	else
		problem_from_result(resp, res);
	PQclear(res);
	return NULL;
}

/* a statement of several; NULL with a problem in resp when it failed */
PGresult *
session_query(Session *s, Response *resp, const char *sql, int nparams, const char *const *values)
{
	return session_checked(s, resp, sql, nparams, values, false);
}

/* the session's last statement (callers say so; every statement resets the role) */
PGresult *
session_query_last(Session *s, Response *resp, const char *sql, int nparams, const char *const *values)
{
	return session_checked(s, resp, sql, nparams, values, true);
}

/*
 * Runs the session's last statement, one JSON value, and answers with it;
 * no row, or NULL, is a 404 with `missing` as its detail.
 */
bool
session_json(Session *s, Response *resp, int status, const char *sql,
			 int nparams, const char *const *values, const char *missing)
{
	PGresult   *res = session_query_last(s, resp, sql, nparams, values);

	if (res == NULL)
		return false;
	if (PQntuples(res) == 0 || PQgetisnull(res, 0, 0))
	{
		problem(resp, 404, missing, NULL);
		PQclear(res);
		return false;
	}
	respond_json(resp, status, PQgetvalue(res, 0, 0));
	PQclear(res);
	return true;
}

/* -------------------------------------------------------------- daemon */

static enum MHD_Result
send_response(struct MHD_Connection *c, Request *req, Response *resp)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	char		num[32];
	int			cls;

	if (resp->status == 0)
		problem(resp, 500, "the request was not answered", NULL);
	if (resp->body.len > 0)
	{
		r = MHD_create_response_from_buffer(resp->body.len, resp->body.data, MHD_RESPMEM_MUST_FREE);
		resp->body.data = NULL;
		resp->body.len = resp->body.cap = 0;
	}
	else
		r = MHD_create_response_from_buffer(0, (void *) "", MHD_RESPMEM_PERSISTENT);
	if (r == NULL)
		return MHD_NO;
	if (resp->content_type)
		MHD_add_response_header(r, "Content-Type", resp->content_type);
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "Cache-Control", resp->static_file ? "no-cache" : "no-store");
	if (resp->static_file)
	{
		MHD_add_response_header(r, "Content-Security-Policy",
								"default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'");
		MHD_add_response_header(r, "X-Frame-Options", "DENY");
		MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	}
	if (resp->location[0])
		MHD_add_response_header(r, "Location", resp->location);
	if (resp->allow)
		MHD_add_response_header(r, "Allow", resp->allow);
	if (resp->www_authenticate)
		MHD_add_response_header(r, "WWW-Authenticate", "Bearer realm=\"metaetl\"");
	if (resp->retry_after_s > 0)
	{
		snprintf(num, sizeof(num), "%d", resp->retry_after_s);
		MHD_add_response_header(r, "Retry-After", num);
	}
	ret = MHD_queue_response(c, (unsigned int) resp->status, r);
	MHD_destroy_response(r);

	cls = resp->status / 100;
	if (cls >= 1 && cls <= 5)
		__atomic_add_fetch(&api_requests_by_class[cls], 1, __ATOMIC_RELAXED);
	if (api_config.access_log)
		api_log("%s %s %d %.1f ms%s%s", req->method, req->path, resp->status,
				(api_now() - req->started_at) * 1000.0,
				req->role[0] ? " role=" : "", req->role);
	return ret;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
		   const char *version, const char *upload_data, size_t *upload_data_size,
		   void **con_cls)
{
	Request    *req = *con_cls;
	Response	resp;
	enum MHD_Result ret;

	(void) cls;
	(void) version;
	if (req == NULL)
	{
		const char *cl;

		req = calloc(1, sizeof(Request));
		if (req == NULL)
			return MHD_NO;
		req->connection = c;
		req->method = method;
		req->path = url;
		req->started_at = api_now();
		*con_cls = req;
		__atomic_add_fetch(&active_requests, 1, __ATOMIC_SEQ_CST);

		/* refuse a body that says it is too large before reading it */
		cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
		if (cl && strtoull(cl, NULL, 10) > api_config.max_body)
		{
			memset(&resp, 0, sizeof(resp));
			req->body_too_large = true;
			req->answered = true;
			problem(&resp, 413, "the request body is larger than --max-body", NULL);
			ret = send_response(c, req, &resp);
			buf_free(&resp.body);
			return ret;
		}
		return MHD_YES;
	}
	if (*upload_data_size > 0)
	{
		if (!req->body_too_large && !req->answered)
		{
			if (req->body.len + *upload_data_size > api_config.max_body)
			{
				req->body_too_large = true;
				buf_free(&req->body);
			}
			else
				buf_append(&req->body, upload_data, *upload_data_size);
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (req->answered)
		return MHD_YES;			/* answered in the first call */

	memset(&resp, 0, sizeof(resp));
	if (req->body_too_large)
		problem(&resp, 413, "the request body is larger than --max-body", NULL);
	else
	{
		if (req->body.data == NULL)
			buf_puts(&req->body, "");	/* handlers may rely on a string */
		route_request(req, &resp);
	}
	ret = send_response(c, req, &resp);
	buf_free(&resp.body);
	return ret;
}

static void
on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	Request    *req = *con_cls;

	(void) cls;
	(void) c;
	(void) toe;
	if (req == NULL)
		return;
	buf_free(&req->body);
	free(req);
	*con_cls = NULL;
	__atomic_sub_fetch(&active_requests, 1, __ATOMIC_SEQ_CST);
}

/*
 * The number of requests between on_request's first call and
 * on_completed, i.e. in flight.  main polls it at shutdown, after
 * http_quiesce, to let those requests finish for up to --shutdown-timeout.
 * Atomic, as request threads change it without a lock.
 */
int
http_active_requests(void)
{
	return __atomic_load_n(&active_requests, __ATOMIC_SEQ_CST);
}

static void
on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char		msg[512];

	(void) cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	api_log("http: %s", msg);
}

/* the whole of a file, for the TLS key and certificate */
static char *
read_pem(const char *path)
{
	FILE	   *f = fopen(path, "rb");
	Buf			b = {0};
	char		chunk[4096];
	size_t		n;

	if (f == NULL)
	{
		api_log("cannot read \"%s\": %s", path, strerror(errno));
		return NULL;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&b, chunk, n);
	fclose(f);
	if (b.data == NULL)
		api_log("\"%s\" is empty", path);
	return b.data;
}

/*
 * Starts the daemon on --listen; NULL (logged) when it cannot.  The key and
 * certificate are read before the daemon starts; libmicrohttpd copies them.
 */
void *
http_start(void)
{
	char		host[256];
	const char *port;
	const char *colon = strrchr(api_config.listen, ':');
	struct addrinfo hints,
			   *ai = NULL;
	unsigned int flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
		MHD_USE_ITC | MHD_USE_ERROR_LOG;
	char	   *key = NULL,
			   *cert = NULL;
	struct MHD_Daemon *d;
	size_t		hl;
	int			rc;

	if (colon == NULL || colon == api_config.listen || colon[1] == '\0')
	{
		api_log("--listen takes HOST:PORT, not \"%s\"", api_config.listen);
		return NULL;
	}
	hl = (size_t) (colon - api_config.listen);
	if (hl >= sizeof(host))
		return NULL;
	memcpy(host, api_config.listen, hl);
	host[hl] = '\0';
	if (host[0] == '[' && hl > 2 && host[hl - 1] == ']')
	{
		memmove(host, host + 1, hl - 2);
		host[hl - 2] = '\0';
	}
	port = colon + 1;
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	if ((rc = getaddrinfo(host, port, &hints, &ai)) != 0)
	{
		api_log("cannot listen on \"%s\": %s", api_config.listen, gai_strerror(rc));
		return NULL;
	}
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;

	if (api_config.tls_cert || api_config.tls_key)
	{
		if (!(api_config.tls_cert && api_config.tls_key))
		{
			api_log("--tls-cert and --tls-key go together");
			freeaddrinfo(ai);
			return NULL;
		}
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
		{
			api_log("this libmicrohttpd was built without TLS");
			freeaddrinfo(ai);
			return NULL;
		}
		key = read_pem(api_config.tls_key);
		cert = read_pem(api_config.tls_cert);
		if (key == NULL || cert == NULL)
		{
			free(key);
			free(cert);
			freeaddrinfo(ai);
			return NULL;
		}
		flags |= MHD_USE_TLS;
	}

	if (key)
		d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, NULL,
							 MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
							 MHD_OPTION_SOCK_ADDR, ai->ai_addr,
							 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int) api_config.idle_timeout_s,
							 MHD_OPTION_CONNECTION_LIMIT, (unsigned int) api_config.max_connections,
							 MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
							 MHD_OPTION_HTTPS_MEM_KEY, key,
							 MHD_OPTION_HTTPS_MEM_CERT, cert,
							 MHD_OPTION_END);
	else
		d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, NULL,
							 MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
							 MHD_OPTION_SOCK_ADDR, ai->ai_addr,
							 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int) api_config.idle_timeout_s,
							 MHD_OPTION_CONNECTION_LIMIT, (unsigned int) api_config.max_connections,
							 MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
							 MHD_OPTION_END);
	freeaddrinfo(ai);
	if (key)
	{
		memset(key, 0, strlen(key));
		free(key);
	}
	free(cert);
	if (d == NULL)
		api_log("cannot listen on %s: %s", api_config.listen, strerror(errno));
	return d;
}

/* stops accepting connections; requests in flight go on */
void
http_quiesce(void *daemon)
{
	MHD_socket	s = MHD_quiesce_daemon((struct MHD_Daemon *) daemon);

	if (s != MHD_INVALID_SOCKET)
		close(s);
}

/*
 * Stops the daemon, closing any connection still open and joining its
 * threads.  main calls it after http_quiesce and the shutdown grace period,
 * and only then pool_close, which relies on no request running any more.
 */
void
http_stop(void *daemon)
{
	MHD_stop_daemon((struct MHD_Daemon *) daemon);
}
