/*-------------------------------------------------------------------------
 *
 * src/api/auth.c
 *		Bearer tokens: the request's token, its SHA-256, and its role.
 *
 * The token itself never leaves this process: it is hashed here (OpenSSL)
 * and etl.api_token_role() is asked about the hash, so neither a statement
 * log nor pg_stat_activity ever shows a usable token, and nothing logs the
 * Authorization header.  Answers are cached for --token-cache seconds
 * (default 10; 0 disables), keyed by the hash: a busy client costs one
 * look-up per interval, and a revoked or expired token stops working within
 * that interval.
 *
 *-------------------------------------------------------------------------
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include <libpq-fe.h>

#include "api.h"

#define TOKEN_CACHE_SIZE	512
#define TOKEN_MAX_LEN		256

typedef struct TokenEntry
{
	char		hash[65];
	char		state[16];		/* valid, expired, revoked, role_unusable, unknown */
	char		role[API_ROLE_LEN];
	double		fetched_at;
} TokenEntry;

static TokenEntry cache[TOKEN_CACHE_SIZE];
static pthread_mutex_t cache_mutex = PTHREAD_MUTEX_INITIALIZER;

/*
 * The SHA-256 of a token as 64 lowercase hex digits.  Tokens are stored and
 * looked up only by this hash (etl.api_token_role() takes it, and the cache
 * below is keyed by it), so the server never sends a usable token to the
 * database, where a statement log or pg_stat_activity could show it.  Called
 * by auth_bearer_hash on its private copy of the header's token.  The
 * format is part of the interface: etl.api_token_role() accepts exactly 64
 * lowercase hex digits and compares their bytes with the sha256() that
 * etl.create_api_token() stored.
 */
void
auth_sha256_hex(const char *token, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	unsigned int i;

	EVP_Digest(token, strlen(token), md, &mdlen, EVP_sha256(), NULL);
	for (i = 0; i < mdlen && i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	out[64] = '\0';
}

static unsigned
cache_index(const char *hash)
{
	unsigned	h = 0;
	int			i;

	for (i = 0; i < 8; i++)
		h = h * 16 + (unsigned) (isdigit((unsigned char) hash[i]) ? hash[i] - '0' : hash[i] - 'a' + 10);
	return h % TOKEN_CACHE_SIZE;
}

static bool
cache_get(const char *hash, TokenEntry *out)
{
	TokenEntry *e = &cache[cache_index(hash)];
	bool		hit = false;

	if (api_config.token_cache_s <= 0)
		return false;
	pthread_mutex_lock(&cache_mutex);
	if (strcmp(e->hash, hash) == 0 && api_now() - e->fetched_at < api_config.token_cache_s)
	{
		*out = *e;
		hit = true;
	}
	pthread_mutex_unlock(&cache_mutex);
	return hit;
}

static void
cache_put(const TokenEntry *entry)
{
	if (api_config.token_cache_s <= 0)
		return;
	pthread_mutex_lock(&cache_mutex);
	cache[cache_index(entry->hash)] = *entry;
	pthread_mutex_unlock(&cache_mutex);
}

/*
 * The SHA-256 of the request's bearer token; false with a 401 in resp when
 * there is none.
 */
bool
auth_bearer_hash(Request *req, Response *resp, char hash[65])
{
	const char *h = request_header(req, "Authorization");
	const char *token;
	size_t		len;

	if (h == NULL)
	{
		problem(resp, 401, "this endpoint needs a bearer token",
				"Send \"Authorization: Bearer <token>\" with a token from etl.create_api_token().");
		return false;
	}
	if (strncasecmp(h, "Bearer ", 7) != 0)
	{
		problem(resp, 401, "the Authorization header must be \"Bearer <token>\"", NULL);
		return false;
	}
	token = h + 7;
	while (*token == ' ')
		token++;
	len = strlen(token);
	while (len > 0 && token[len - 1] == ' ')
		len--;
	if (len == 0 || len > TOKEN_MAX_LEN)
	{
		problem(resp, 401, "the bearer token is empty or too long", NULL);
		return false;
	}
	{
		char		copy[TOKEN_MAX_LEN + 1];

		memcpy(copy, token, len);
		copy[len] = '\0';
		auth_sha256_hex(copy, hash);
		/* the token itself is not kept */
		memset(copy, 0, sizeof(copy));
	}
	return true;
}

/*
 * The token's role into req->role, asking the database (as the server's own
 * role) unless the cache knows; false with a 401 (or 500) otherwise.
 */
bool
auth_resolve(PGconn *conn, const char *hash, Request *req, Response *resp)
{
	TokenEntry	e;

	if (!cache_get(hash, &e))
	{
		const char *values[1] = {hash};
		PGresult   *res = PQexecParams(conn, "SELECT state, role_name FROM etl.api_token_role($1)",
									   1, NULL, values, NULL, NULL, 0);

		if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
		{
			problem_from_result(resp, res);
			PQclear(res);
			return false;
		}
		memset(&e, 0, sizeof(e));
		snprintf(e.hash, sizeof(e.hash), "%s", hash);
		snprintf(e.state, sizeof(e.state), "%s", PQgetvalue(res, 0, 0));
		snprintf(e.role, sizeof(e.role), "%s", PQgetvalue(res, 0, 1));
		e.fetched_at = api_now();
		PQclear(res);
		cache_put(&e);
	}

	if (strcmp(e.state, "valid") == 0)
	{
		snprintf(req->role, sizeof(req->role), "%s", e.role);
		return true;
	}
	if (strcmp(e.state, "expired") == 0)
		problem(resp, 401, "the bearer token has expired",
				"Create a new one with etl.create_api_token().");
	else if (strcmp(e.state, "revoked") == 0)
		problem(resp, 401, "the bearer token was revoked", NULL);
	else if (strcmp(e.state, "role_unusable") == 0)
		problem(resp, 401, "the bearer token's role no longer exists or has become a superuser", NULL);
	else
		problem(resp, 401, "the bearer token is not known", NULL);
	return false;
}
