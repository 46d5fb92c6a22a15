/*-------------------------------------------------------------------------
 *
 * src/api/api.h
 *		Declarations shared by the files of metaetl-api, the REST server.
 *
 * metaetl-api is a libmicrohttpd server (a thread per connection) in front
 * of a fixed pool of libpq connections.  Every request that needs the
 * database borrows a connection, runs as its bearer token's role (set per
 * statement with set_config('role', ..., true), ended with the statement's
 * transaction) and calls the public SQL API with its inputs as
 * libpq parameters; results are the JSON the SQL functions build, passed
 * through.  Errors are RFC 9457 problem documents whose status follows the
 * SQLSTATE (42501 → 403, 42704 → 404, 22xxx → 422, ...).
 *
 *-------------------------------------------------------------------------
 */
#ifndef METAETL_API_H
#define METAETL_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#define API_ROLE_LEN	64		/* NAMEDATALEN */

/* the server's settings, from the command line */
typedef struct ApiConfig
{
	const char *listen;			/* host:port */
	const char *dsn;
	const char *tls_cert;
	const char *tls_key;
	const char *web_root;		/* dashboard files and openapi.json */
	int			pool_size;
	int			pool_timeout_ms;	/* waiting for a free connection */
	int			statement_timeout_ms;	/* each SQL statement */
	int			wait_timeout_ms;	/* execute with "wait": true */
	int			idle_timeout_s; /* an idle HTTP connection is closed */
	int			shutdown_timeout_s; /* SIGTERM: in-flight requests may finish */
	size_t		max_body;		/* request body limit, bytes */
	int			max_connections;
	int			token_cache_s;	/* a token's role is remembered this long */
	bool		access_log;
} ApiConfig;

extern ApiConfig api_config;

/* a growing string */
typedef struct Buf
{
	char	   *data;
	size_t		len;
	size_t		cap;
} Buf;

/* what a handler answers */
typedef struct Response
{
	int			status;
	const char *content_type;
	Buf			body;
	char		location[256];
	const char *allow;			/* for 405 */
	bool		www_authenticate;	/* for 401 */
	int			retry_after_s;	/* for 503 */
	bool		static_file;	/* cacheable dashboard file */
} Response;

/* one HTTP request */
typedef struct Request
{
	void	   *connection;		/* struct MHD_Connection * */
	const char *method;
	const char *path;
	Buf			body;
	bool		body_too_large;
	bool		answered;		/* a response was queued before the body was read */
	double		started_at;
	char		role[API_ROLE_LEN];	/* the token's role, once authenticated */
} Request;

/* a pooled connection borrowed for a request, acting as the token's role */
typedef struct Session
{
	PGconn	   *conn;
	int			slot;
	bool		broken;			/* close conn instead of pooling it again */
	Request    *req;			/* req->role: the token's role */
} Session;

/* in api/buf.c */
extern void buf_append(Buf *b, const char *s, size_t n);
extern void buf_puts(Buf *b, const char *s);
extern void buf_printf(Buf *b, const char *fmt,...) __attribute__((format(printf, 2, 3)));
extern void buf_json_string(Buf *b, const char *s);
extern void buf_free(Buf *b);
extern double api_now(void);

/* in api/pool.c */
extern bool pool_init(void);
extern PGconn *pool_acquire(int *slot);
extern int	pool_statement(int slot, const char *sql, int *next);
extern bool pool_statement_reserve(int slot, int n, const char *sql);
extern void pool_statement_release(int slot, int n);
extern void pool_release(int slot, bool broken);
extern void pool_close(void);
extern void pool_stats(int *size, int *in_use, int *connected);

/* in api/auth.c */
extern bool auth_bearer_hash(Request *req, Response *resp, char hash[65]);
extern bool auth_resolve(PGconn *conn, const char *hash, Request *req, Response *resp);
extern void auth_sha256_hex(const char *token, char out[65]);

/* in api/http.c */
extern void *http_start(void);
extern void http_quiesce(void *daemon);
extern void http_stop(void *daemon);
extern int	http_active_requests(void);
extern const char *request_header(Request *req, const char *name);
extern const char *request_arg(Request *req, const char *name);
extern void problem_open(Response *resp, int status, const char *detail);
extern void problem(Response *resp, int status, const char *detail, const char *hint);
extern void problem_from_result(Response *resp, const PGresult *res);
extern void respond_json(Response *resp, int status, const char *json);
extern bool session_begin(Request *req, Response *resp, Session *s);
extern void session_end(Session *s);
extern PGresult *session_exec(Session *s, const char *sql, int nparams,
							  const char *const *values, bool last);
extern PGresult *session_query(Session *s, Response *resp, const char *sql,
							   int nparams, const char *const *values);
extern PGresult *session_query_last(Session *s, Response *resp, const char *sql,
									int nparams, const char *const *values);
extern bool session_json(Session *s, Response *resp, int status, const char *sql,
						 int nparams, const char *const *values, const char *missing);
extern void api_log(const char *fmt,...) __attribute__((format(printf, 1, 2)));
extern uint64_t api_requests_by_class[6];	/* 1xx .. 5xx, [0] unused */

/* in api/handlers.c */
extern void handlers_init(void);
extern bool route_request(Request *req, Response *resp);

/* in api/metrics.c */
extern void handle_metrics(Request *req, Response *resp);

/* in api/static.c */
extern bool static_load(void);
extern bool static_serve(const char *name, Response *resp);

#endif							/* METAETL_API_H */
