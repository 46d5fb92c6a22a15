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

/*
 * The statements a request runs are few and fixed, so each connection
 * prepares a statement the first time it runs it (as "metaetl_api_N") and
 * from then on only binds and executes it: no parse, analysis or planning
 * per request.  Texts are compared, not pointers (some are built per
 * request); a connection keeps at most POOL_STATEMENTS, later ones run
 * unprepared.  A reconnected connection starts with none.
 */
#define POOL_STATEMENTS 48

typedef struct PoolSlot
{
	PGconn	   *conn;
	bool		in_use;
	int			nprepared;
	char	   *prepared[POOL_STATEMENTS];
} PoolSlot;

static PoolSlot *slots;
static int	nslots;
static pthread_mutex_t pool_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_condattr_t pool_condattr;	/* CLOCK_MONOTONIC */

/*
 * Requests waiting for a connection, oldest first.  A released connection
 * is handed to the oldest waiter directly (it stays in use), never put up
 * for grabs: with one shared condition variable a request arriving just
 * then, or any woken waiter, could take it, and under load some requests
 * waited many turns (p99 thirteen times p50 in test/bench/api).
 */
typedef struct PoolWaiter
{
	pthread_cond_t cond;
	int			slot;			/* handed over: >= 0 */
	struct PoolWaiter *next;
} PoolWaiter;

static PoolWaiter *wait_head,
		   *wait_tail;

/* a slot's connection is gone: so are the statements prepared on it */
static void
slot_forget_statements(PoolSlot *slot)
{
	for (int i = 0; i < slot->nprepared; i++)
		free(slot->prepared[i]);
	slot->nprepared = 0;
}

/*
 * The number of sql among the statements prepared on the slot's connection
 * (>= 0), or -1 with *next set to a free number it could be prepared as
 * (-1 when the connection keeps no more).  Only the thread holding the slot
 * calls these.
 */
int
pool_statement(int slot, const char *sql, int *next)
{
	PoolSlot   *ps = &slots[slot];

	*next = ps->nprepared < POOL_STATEMENTS ? ps->nprepared : -1;
	for (int i = ps->nprepared - 1; i >= 0; i--)
	{
		if (ps->prepared[i] == NULL)
			*next = i;
		else if (strcmp(ps->prepared[i], sql) == 0)
			return i;
	}
	return -1;
}

/*
 * Takes number n for sql as its Parse is queued, so that a second statement
 * of the same pipeline gets another one; false when out of memory.
 */
bool
pool_statement_reserve(int slot, int n, const char *sql)
{
	PoolSlot   *ps = &slots[slot];

	if (n < 0 || n > ps->nprepared || n >= POOL_STATEMENTS ||
		(n < ps->nprepared && ps->prepared[n] != NULL))
		return false;
	if ((ps->prepared[n] = strdup(sql)) == NULL)
		return false;
	if (n == ps->nprepared)
		ps->nprepared++;
	return true;
}

/* the Parse of number n failed or was skipped: the number is free again */
void
pool_statement_release(int slot, int n)
{
	PoolSlot   *ps = &slots[slot];

	free(ps->prepared[n]);
	ps->prepared[n] = NULL;
}

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
	PGconn	   *conn;
	PGresult   *res;
	bool		ok;

	pthread_condattr_init(&pool_condattr);
	pthread_condattr_setclock(&pool_condattr, CLOCK_MONOTONIC);

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
	if (wait_head == NULL)
	{
		/* a connected slot first, so the pool stays as small as the load */
		for (i = 0; i < nslots && found < 0; i++)
			if (!slots[i].in_use && slots[i].conn != NULL)
				found = i;
		for (i = 0; i < nslots && found < 0; i++)
			if (!slots[i].in_use)
				found = i;
	}
	if (found >= 0)
		slots[found].in_use = true;
	else
	{
		/* behind the requests already waiting */
		PoolWaiter	w;

		pthread_cond_init(&w.cond, &pool_condattr);
		w.slot = -1;
		w.next = NULL;
		if (wait_tail)
			wait_tail->next = &w;
		else
			wait_head = &w;
		wait_tail = &w;
		while (w.slot < 0)
			if (pthread_cond_timedwait(&w.cond, &pool_mutex, &deadline) == ETIMEDOUT)
				break;
		found = w.slot;
		if (found < 0)
		{
			/* timed out, still queued: leave the queue */
			PoolWaiter **pp = &wait_head;
			PoolWaiter *prev = NULL;

			while (*pp != &w)
			{
				prev = *pp;
				pp = &(*pp)->next;
			}
			*pp = w.next;
			if (wait_tail == &w)
				wait_tail = prev;
		}
		pthread_cond_destroy(&w.cond);
		if (found < 0)
		{
			pthread_mutex_unlock(&pool_mutex);
			return NULL;
		}
	}
	pthread_mutex_unlock(&pool_mutex);

	/* connecting happens outside the lock: it takes a round trip or more */
	if (slots[found].conn != NULL && PQstatus(slots[found].conn) != CONNECTION_OK)
	{
		PQfinish(slots[found].conn);
		slots[found].conn = NULL;
		slot_forget_statements(&slots[found]);
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
		slot_forget_statements(&slots[slot]);
	}
	if (wait_head != NULL)
	{
		/* to the oldest waiter, still in use */
		PoolWaiter *w = wait_head;

		wait_head = w->next;
		if (wait_head == NULL)
			wait_tail = NULL;
		w->slot = slot;
		pthread_cond_signal(&w->cond);
	}
	else
		slots[slot].in_use = false;
	pthread_mutex_unlock(&pool_mutex);
	PQfinish(close_me);
}

/*
 * The pool's size, the slots borrowed now, and the slots with an open
 * connection (a slot's connection is opened when first needed and dropped
 * when broken).  Read under the pool mutex so the three figures are
 * consistent with each other; for /health and /metrics.
 */
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
		slot_forget_statements(&slots[i]);
	}
	free(slots);
	slots = NULL;
	nslots = 0;
}
