/*-------------------------------------------------------------------------
 *
 * src/api/pool.c
 *		metaetl-api's pool of libpq connections.
 *
 * A fixed number of connections (--pool-size) bounds what the server asks
 * of PostgreSQL however many HTTP clients are connected: a request waits up
 * to --pool-timeout for a free connection, then gets 503.  Connections are
 * opened when first needed and again after one broke (the server restarted,
 * a network error); each gets statement_timeout = --statement-timeout, so
 * no request holds a connection longer than that.  The login role must be a
 * member of etl_api (docs/rest-api.md).
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "api.h"

typedef struct PoolSlot
{
	PGconn	   *conn;
	bool		in_use;
} PoolSlot;

static PoolSlot *slots;
static int	nslots;
static pthread_mutex_t pool_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_cond;

/* a new connection, configured for requests; NULL (logged) on failure */
static PGconn *
pool_connect(void)
{
	const char *keywords[] = {"dbname", "fallback_application_name", NULL};
	const char *values[] = {api_config.dsn, "metaetl-api", NULL};
	PGconn	   *conn = PQconnectdbParams(keywords, values, 1);
	char		sql[128];
	PGresult   *res;

	if (conn == NULL || PQstatus(conn) != CONNECTION_OK)
	{
		api_log("cannot connect to the database: %s", conn ? PQerrorMessage(conn) : "out of memory");
		PQfinish(conn);
		return NULL;
	}
	snprintf(sql, sizeof(sql), "SET statement_timeout = %d", api_config.statement_timeout_ms);
	res = PQexec(conn, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
	{
		api_log("cannot configure a database connection: %s", PQerrorMessage(conn));
		PQclear(res);
		PQfinish(conn);
		return NULL;
	}
	PQclear(res);
	return conn;
}

/*
 * Opens the first connection and checks that the login role can do what the
 * server needs: the extension is installed and the role may look up tokens
 * (it is a member of etl_api).  False, with the reason logged, otherwise.
 */
bool
pool_init(void)
{
	pthread_condattr_t attr;
	PGconn	   *conn;
	PGresult   *res;
	bool		ok;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&pool_cond, &attr);
	pthread_condattr_destroy(&attr);

	nslots = api_config.pool_size;
	slots = calloc((size_t) nslots, sizeof(PoolSlot));
	if (slots == NULL)
		return false;
	conn = pool_connect();
	if (conn == NULL)
		return false;
	res = PQexec(conn,
				 "SELECT current_user,"
				 "       to_regprocedure('etl.api_token_role(text)') IS NOT NULL,"
				 "       to_regprocedure('etl.api_token_role(text)') IS NOT NULL"
				 "       AND has_function_privilege('etl.api_token_role(text)', 'EXECUTE')");
	ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
	if (!ok)
		api_log("cannot check the database: %s", PQerrorMessage(conn));
	else if (PQgetvalue(res, 0, 1)[0] != 't')
	{
		api_log("the database has no metaetl 0.2 extension (etl.api_token_role is missing); "
				"run CREATE EXTENSION metaetl or ALTER EXTENSION metaetl UPDATE");
		ok = false;
	}
	else if (PQgetvalue(res, 0, 2)[0] != 't')
	{
		api_log("role \"%s\" may not look up api tokens; GRANT etl_api TO \"%s\"",
				PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 0));
		ok = false;
	}
	PQclear(res);
	if (!ok)
	{
		PQfinish(conn);
		return false;
	}
	slots[0].conn = conn;
	return true;
}

/*
 * A free connection, or NULL when none became free within --pool-timeout or
 * the database cannot be reached.  *slot identifies it for pool_release.
 */
PGconn *
pool_acquire(int *slot)
{
	struct timespec deadline;
	int			i,
				found = -1;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += api_config.pool_timeout_ms / 1000;
	deadline.tv_nsec += (long) (api_config.pool_timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L)
	{
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}

	pthread_mutex_lock(&pool_mutex);
	for (;;)
	{
		/* a connected slot first, so the pool stays as small as the load */
		for (i = 0; i < nslots && found < 0; i++)
			if (!slots[i].in_use && slots[i].conn != NULL)
				found = i;
		for (i = 0; i < nslots && found < 0; i++)
			if (!slots[i].in_use)
				found = i;
		if (found >= 0)
			break;
		if (pthread_cond_timedwait(&pool_cond, &pool_mutex, &deadline) == ETIMEDOUT)
		{
			pthread_mutex_unlock(&pool_mutex);
			return NULL;
		}
	}
	slots[found].in_use = true;
	pthread_mutex_unlock(&pool_mutex);

	/* connecting happens outside the lock: it takes a round trip or more */
	if (slots[found].conn != NULL && PQstatus(slots[found].conn) != CONNECTION_OK)
	{
		PQfinish(slots[found].conn);
		slots[found].conn = NULL;
	}
	if (slots[found].conn == NULL)
		slots[found].conn = pool_connect();
	if (slots[found].conn == NULL)
	{
		pool_release(found, false);
		return NULL;
	}
	*slot = found;
	return slots[found].conn;
}

/* gives a connection back; a broken one is closed and reopened when next needed */
void
pool_release(int slot, bool broken)
{
	PGconn	   *close_me = NULL;

	pthread_mutex_lock(&pool_mutex);
	if (broken && slots[slot].conn != NULL)
	{
		close_me = slots[slot].conn;
		slots[slot].conn = NULL;
	}
	slots[slot].in_use = false;
	pthread_cond_signal(&pool_cond);
	pthread_mutex_unlock(&pool_mutex);
	PQfinish(close_me);
}

void
pool_stats(int *size, int *in_use, int *connected)
{
	int			i;

	*size = nslots;
	*in_use = *connected = 0;
	pthread_mutex_lock(&pool_mutex);
	for (i = 0; i < nslots; i++)
	{
		*in_use += slots[i].in_use;
		*connected += slots[i].conn != NULL;
	}
	pthread_mutex_unlock(&pool_mutex);
}

/* at shutdown, after the HTTP daemon stopped: every request has ended */
void
pool_close(void)
{
	int			i;

	for (i = 0; i < nslots; i++)
	{
		PQfinish(slots[i].conn);
		slots[i].conn = NULL;
	}
	free(slots);
	slots = NULL;
	nslots = 0;
}
