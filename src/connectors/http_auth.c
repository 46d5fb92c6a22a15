/*-------------------------------------------------------------------------
 *
 * src/connectors/http_auth.c
 *		Authentication of HTTP requests: basic, bearer, api_key (header or
 *		query) and OAuth2 client credentials with a token cache.
 *
 * The auth object ({type: ...}, the connection's or the source's own) says
 * how; every secret comes from the connection's credential: basic takes
 * {user, password}, bearer {token}, api_key {key}, OAuth2 {client_id,
 * client_secret}.  The engine applies auth only to requests for the
 * connection's own origin (base_url's scheme, host and port), so a redirect
 * or next-page URL elsewhere gets no credential.
 *
 * OAuth2 tokens are fetched from token_url (checked like any URL of the
 * connection, the client authenticated with HTTP basic per RFC 6749 2.3.1,
 * or in the body with client_auth: body) and kept until 30 s before they
 * expire, in a small per-backend cache so that a pooled run executor's
 * next run reuses them; a 401 drops the token and the request is retried
 * once with a new one.  The cache is keyed by role, connection, token URL,
 * client id and a hash of the client secret, so a rotated secret or another
 * role never reuses a token.  Tokens, like secrets, are masked (HttpRedact)
 * in every message built from server text.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/base64.h"
#include "common/hashfn.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "connectors/http.h"
#include "security/security.h"

#define TOKEN_MARGIN_S 30
#define TOKEN_CACHE_MAX 32

typedef struct TokenEntry
{
	char	   *key;
	char	   *token;
	TimestampTz expires;
} TokenEntry;

/*
 * Tokens outlive a run so that the next run of a pooled executor reuses
 * them (a token endpoint is often rate-limited); kept in a context of their
 * own under TopMemoryContext, at most TOKEN_CACHE_MAX, oldest dropped.
 */
static MemoryContext token_cxt = NULL;
static List *token_cache = NIL;

typedef struct AuthState
{
	char	   *token;			/* OAuth2 access token in use, or NULL */
	char	   *cache_key;
	int			generation;		/* bumped whenever token changes */
} AuthState;

static const char *
auth_type(HttpConn *conn)
{
	char	   *t = conn->auth ? MetaetlJStr(conn->auth, "type") : NULL;

	if (conn->auth && t == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: auth needs a type", conn->what),
				 errhint("Types: basic, bearer, api_key, oauth2_client_credentials.")));
	return t;
}

/* a field of the credential's secret, or an error naming what needs it */
static char *
secret_field(HttpConn *conn, const char *type, const char *field, const char *alt)
{
	char	   *v = conn->secret ? MetaetlSecretField(conn->secret, field) : NULL;

	if (v == NULL && alt && conn->secret)
		v = MetaetlSecretField(conn->secret, alt);
	if (v == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("%s: auth %s needs the field \"%s\" in the credential of connection \"%s\"",
						conn->what, type, field, conn->name ? conn->name : "?"),
				 conn->secret == NULL ? errdetail("The connection has no credential.") : 0,
				 errhint("Give the connection a credential (etl.add_connection's fourth argument) holding it.")));
	return v;
}

static AuthState *
auth_state(HttpClient *cli)
{
	AuthState  *st = HttpClientAuthState(cli);

	if (st == NULL)
	{
		st = palloc0(sizeof(AuthState));
		HttpClientSetAuthState(cli, st);
	}
	return st;
}

static char *
token_cache_key(HttpConn *conn, const char *token_url, const char *client_id,
				const char *client_secret, const char *scope)
{
	uint32		h = hash_bytes((const unsigned char *) client_secret, (int) strlen(client_secret));

	return psprintf("%u|%s|%s|%s|%s|%08x", GetUserId(), conn->name ? conn->name : "",
					token_url, client_id, scope ? scope : "", h);
}

static char *
token_cache_get(const char *key)
{
	ListCell   *lc;
	TimestampTz now = GetCurrentTimestamp();

	foreach(lc, token_cache)
	{
		TokenEntry *e = lfirst(lc);

		if (strcmp(e->key, key) == 0 && e->expires > now)
			return pstrdup(e->token);
	}
	return NULL;
}

static void
token_cache_drop(const char *key)
{
	ListCell   *lc;

	foreach(lc, token_cache)
	{
		TokenEntry *e = lfirst(lc);

		if (strcmp(e->key, key) == 0)
		{
			token_cache = foreach_delete_current(token_cache, lc);
			pfree(e->key);
			pfree(e->token);
			pfree(e);
		}
	}
}

static void
token_cache_put(const char *key, const char *token, double expires_in)
{
	MemoryContext old;
	TokenEntry *e;

	if (token_cxt == NULL)
		token_cxt = AllocSetContextCreate(TopMemoryContext, "metaetl http tokens",
										  ALLOCSET_SMALL_SIZES);
	token_cache_drop(key);
	if (list_length(token_cache) >= TOKEN_CACHE_MAX)
	{
		TokenEntry *oldest = linitial(token_cache);

		token_cache = list_delete_first(token_cache);
		pfree(oldest->key);
		pfree(oldest->token);
		pfree(oldest);
	}
	old = MemoryContextSwitchTo(token_cxt);
	e = palloc(sizeof(TokenEntry));
	e->key = pstrdup(key);
	e->token = pstrdup(token);
	e->expires = GetCurrentTimestamp() + (TimestampTz) (Max(expires_in - TOKEN_MARGIN_S, 0) * 1e6);
	token_cache = lappend(token_cache, e);
	MemoryContextSwitchTo(old);
}

static char *
base64(const char *s)
{
	int			len = (int) strlen(s);
	char	   *out = palloc(pg_b64_enc_len(len) + 1);
	int			n = pg_b64_encode(s, len, out, pg_b64_enc_len(len));

	if (n < 0)
		elog(ERROR, "base64 encoding failed");
	out[n] = '\0';
	return out;
}

/* POST token_url for a client-credentials token */
static char *
oauth_fetch(HttpClient *cli, const char *token_url, const char *client_id,
			const char *client_secret, const char *scope, double *expires_in)
{
	HttpConn   *conn = HttpClientConn(cli);
	HttpConn	tc = *conn;
	HttpClient *tcli;
	HttpReq		req;
	StringInfoData body;
	char	   *client_auth = MetaetlJStr(conn->auth, "client_auth");
	char	   *audience = MetaetlJStr(conn->auth, "audience");
	bool		in_body = client_auth && strcmp(client_auth, "body") == 0;
	Jsonb	   *doc;
	char	   *token;
	char	   *exp;

	if (client_auth && !in_body && strcmp(client_auth, "basic") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: auth client_auth must be basic or body", conn->what)));
	tc.max_bytes = Min(conn->max_bytes, 1024 * 1024);
	tcli = HttpClientOpen(&tc);
	initStringInfo(&body);
	appendStringInfoString(&body, "grant_type=client_credentials");
	if (scope)
		appendStringInfo(&body, "&scope=%s", HttpUrlEncode(scope));
	if (audience)
		appendStringInfo(&body, "&audience=%s", HttpUrlEncode(audience));
	memset(&req, 0, sizeof(req));
	req.method = "POST";
	req.url = HttpBuildUrl(conn, token_url, NIL);
	req.anonymous = true;
	req.label = "OAuth2 token";
	req.headers = list_make2("Content-Type: application/x-www-form-urlencoded",
							 "Accept: application/json");
	if (in_body)
		appendStringInfo(&body, "&client_id=%s&client_secret=%s", HttpUrlEncode(client_id),
						 HttpUrlEncode(client_secret));
	else
		req.headers = lappend(req.headers,
							  psprintf("Authorization: Basic %s",
									   base64(psprintf("%s:%s", HttpUrlEncode(client_id),
													   HttpUrlEncode(client_secret)))));
	req.body = body.data;
	req.body_len = body.len;
	HttpPerform(tcli, &req);
	doc = HttpParseJson(conn, &req);
	token = HttpJsonPathText(conn, doc, "$.access_token", "access_token", req.label);
	exp = HttpJsonPathText(conn, doc, "$.expires_in", "expires_in", req.label);
	if (token == NULL || token[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("%s: the OAuth2 token endpoint answered without an access_token", conn->what)));
	*expires_in = exp ? strtod(exp, NULL) : 3600;
	HttpClientClose(tcli);
	return token;
}

/*
 * HttpAuthApply
 *		Add what the connection's auth needs to one request: headers, the
 *		api_key query parameter (url changed), or basic user and password.
 */
void
HttpAuthApply(HttpClient *cli, HttpReq *req, List **headers, char **url, char **user,
			  char **password)
{
	HttpConn   *conn = HttpClientConn(cli);
	const char *type = auth_type(conn);

	if (type == NULL || strcmp(type, "none") == 0)
		return;
	if (strcmp(type, "basic") == 0)
	{
		*user = secret_field(conn, type, "user", "username");
		*password = secret_field(conn, type, "password", NULL);
	}
	else if (strcmp(type, "bearer") == 0)
		*headers = lappend(*headers, psprintf("Authorization: Bearer %s",
											  secret_field(conn, type, "token", NULL)));
	else if (strcmp(type, "api_key") == 0)
	{
		char	   *header = MetaetlJStr(conn->auth, "header");
		char	   *query = MetaetlJStr(conn->auth, "query");
		char	   *key = secret_field(conn, type, "key", "api_key");

		if ((header == NULL) == (query == NULL))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s: auth api_key needs exactly one of header or query", conn->what)));
		if (header)
		{
			if (strpbrk(header, "\r\n: ") || header[0] == '\0')
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("%s: auth header \"%s\" is not a header name", conn->what, header)));
			*headers = lappend(*headers, psprintf("%s: %s", header, key));
		}
		else
			*url = psprintf("%s%c%s=%s", *url, strchr(*url, '?') ? '&' : '?',
							HttpUrlEncode(query), HttpUrlEncode(key));
	}
	else if (strcmp(type, "oauth2_client_credentials") == 0)
	{
		AuthState  *st = auth_state(cli);

		if (st->token == NULL)
		{
			char	   *token_url = MetaetlJStr(conn->auth, "token_url");
			char	   *scope = MetaetlJStr(conn->auth, "scope");
			char	   *id = secret_field(conn, type, "client_id", NULL);
			char	   *secret = secret_field(conn, type, "client_secret", NULL);
			double		expires_in;

			if (token_url == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("%s: auth oauth2_client_credentials needs token_url", conn->what)));
			st->cache_key = token_cache_key(conn, token_url, id, secret, scope);
			st->token = token_cache_get(st->cache_key);
			if (st->token == NULL)
			{
				st->token = oauth_fetch(cli, token_url, id, secret, scope, &expires_in);
				token_cache_put(st->cache_key, st->token, expires_in);
			}
		}
		*headers = lappend(*headers, psprintf("Authorization: Bearer %s", st->token));
	}
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: unknown auth type \"%s\"", conn->what, type),
				 errhint("Types: basic, bearer, api_key, oauth2_client_credentials.")));
}

/* may a 401 be answered with a fresh credential? (OAuth2 only) */
bool
HttpAuthRefreshable(HttpClient *cli)
{
	const char *type = auth_type(HttpClientConn(cli));

	return type && strcmp(type, "oauth2_client_credentials") == 0;
}

/* which token HttpAuthApply puts on requests now (HttpAuthInvalidate's argument) */
int
HttpAuthGeneration(HttpClient *cli)
{
	return auth_state(cli)->generation;
}

/*
 * Forget the token in use (here and in the cache), when it is the one a
 * request refused with 401 was sent with: requests sent concurrently with
 * the same token all come back 401, and the first of them already got a
 * fresh one, which the others must not throw away.
 */
void
HttpAuthInvalidate(HttpClient *cli, int generation)
{
	AuthState  *st = auth_state(cli);

	if (st->token == NULL || st->generation != generation)
		return;
	if (st->cache_key)
		token_cache_drop(st->cache_key);
	st->token = NULL;
	st->generation++;
}

/* text with every occurrence of s replaced by *** */
static char *
redact_literal(char *text, const char *s)
{
	StringInfoData b;
	const char *q = text,
			   *p;
	size_t		l = strlen(s);

	if (l < 4 || strstr(text, s) == NULL)
		return text;
	initStringInfo(&b);
	while ((p = strstr(q, s)) != NULL)
	{
		appendBinaryStringInfo(&b, q, (int) (p - q));
		appendStringInfoString(&b, "***");
		q = p + l;
	}
	appendStringInfoString(&b, q);
	return b.data;
}

/*
 * HttpRedact
 *		text with the connection's secret and the OAuth2 token in use
 *		masked (MetaetlRedact), for anything built from server text.
 */
char *
HttpRedact(HttpClient *cli, const char *text)
{
	HttpConn   *conn = HttpClientConn(cli);
	AuthState  *st = HttpClientAuthState(cli);
	char	   *out = MetaetlRedact(text, conn->secret);
	char	   *user = conn->secret ? MetaetlSecretField(conn->secret, "user") : NULL;
	char	   *pw = conn->secret ? MetaetlSecretField(conn->secret, "password") : NULL;
	char	   *id = conn->secret ? MetaetlSecretField(conn->secret, "client_id") : NULL;
	char	   *cs = conn->secret ? MetaetlSecretField(conn->secret, "client_secret") : NULL;

	/*
	 * What we sent in encoded form, whatever MetaetlRedact covers: basic
	 * auth's base64 of user:password and the OAuth2 client's, and every
	 * string of the secret percent-encoded (an api_key query parameter).
	 */
	if (user == NULL && conn->secret)
		user = MetaetlSecretField(conn->secret, "username");
	if (out && user && pw)
		out = redact_literal(out, base64(psprintf("%s:%s", user, pw)));
	if (out && id && cs)
		out = redact_literal(out, base64(psprintf("%s:%s", HttpUrlEncode(id), HttpUrlEncode(cs))));
	if (out && conn->secret)
	{
		JsonbIterator *it = JsonbIteratorInit(&conn->secret->root);
		JsonbValue	v;
		JsonbIteratorToken tok;

		while ((tok = JsonbIteratorNext(&it, &v, false)) != WJB_DONE)
			if (tok == WJB_VALUE && v.type == jbvString && v.val.string.len >= 4)
				out = redact_literal(out, HttpUrlEncode(pnstrdup(v.val.string.val, v.val.string.len)));
	}

	if (st && st->token && out)
	{
		Jsonb	   *tok;

		/* {"t": token}: the shape MetaetlRedact takes */
		{
			JsonbValue	v;
			JsonbParseState *ps = NULL;

			pushJsonbValue(&ps, WJB_BEGIN_OBJECT, NULL);
			v.type = jbvString;
			v.val.string.val = "t";
			v.val.string.len = 1;
			pushJsonbValue(&ps, WJB_KEY, &v);
			v.val.string.val = st->token;
			v.val.string.len = strlen(st->token);
			pushJsonbValue(&ps, WJB_VALUE, &v);
			tok = JsonbValueToJsonb(pushJsonbValue(&ps, WJB_END_OBJECT, NULL));
		}
		out = MetaetlRedact(out, tok);
	}
	return out;
}
