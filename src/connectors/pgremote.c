/*-------------------------------------------------------------------------
 *
 * src/connectors/pgremote.c
 *		Remote PostgreSQL through libpq: the COPY bulk path, query sources,
 *		remote targets, metadata, etl.test_connection and etl.discover.
 *
 * Connections are cached per backend, keyed by connection name and role
 * (a run executor reuses them across runs), and checked against a hash of
 * the connection's options and secret before each use, so a changed
 * connection reconnects.  Every wait on the server (connect, query, COPY)
 * goes through WaitLatchOrSocket, so a cancel or the run's timeout
 * interrupts it.  A role that is not a superuser must connect with the
 * password of its credential, and the remote server must have asked for it:
 * otherwise libpq could use this server's own trust, peer or .pgpass
 * authentication on the caller's behalf (postgres_fdw refuses it the same
 * way).
 *
 * Remote targets write in a remote transaction that this file opens on
 * first write and commits in the local transaction's pre-commit callback;
 * local subtransactions map to remote savepoints (as postgres_fdw's
 * connection.c does), so a failed run attempt rolls its remote writes back
 * with its local ones.  When the local transaction aborts, a connection with
 * an open remote transaction is closed, which rolls the remote transaction
 * back without waiting on a possibly dead server.
 *
 * Sources: COPY (SELECT ...) TO STDOUT on the remote, fed to COPY FROM with
 * a data source callback into the source's staging table, so rows never
 * pass through SPI or text parsing of our own.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/copy.h"
#include "common/hashfn.h"
#include "utils/json.h"
#include "executor/spi.h"
#include "libpq-fe.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "parser/parse_node.h"
#include "parser/parse_relation.h"
#include "parser/parse_type.h"
#include "pgstat.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/regproc.h"
#include "utils/timestamp.h"
#include "utils/varlena.h"

#include "connectors/connector.h"
#include "connectors/remote.h"
#include "connectors/sink.h"
#include "lineage/lineage.h"
#include "security/security.h"
#include "connectors/table_load.h"

typedef struct PgrEntry
{
	RemoteCacheEntry c;			/* key and remote transaction state: first */
	PGconn	   *conn;
	bool		copy_in;		/* a COPY FROM STDIN is open */
} PgrEntry;

static void pgr_cache_close(RemoteCacheEntry *e);
static void pgr_cache_command(RemoteCacheEntry *e, RemoteConn *rc, const char *sql, const char *doing);
static void pgr_xact_callback(XactEvent event, void *arg);
static void pgr_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
								 SubTransactionId parentSubid, void *arg);

static RemoteCache pgr_cache = {
	.label = "metaetl remote postgresql connections",
	.entrysize = sizeof(PgrEntry),
	.begin_sql = "START TRANSACTION ISOLATION LEVEL READ COMMITTED",
	.xact_callback = pgr_xact_callback,
	.subxact_callback = pgr_subxact_callback,
	.close = pgr_cache_close,
	.command = pgr_cache_command,
};
static bool pgr_xact_wrote = false;

static int64 pgr_copy_into(PgrEntry *e, RemoteConn *rc, const char *query, const char *staging,
						   List *cols);

/* ----------------------------------------------------------- error paths */

/* the remote error of res (or of conn), as an ERROR naming the connection */
static void
pgr_raise(RemoteConn *rc, PGconn *conn, PGresult *res, const char *doing)
{
	char	   *sqlstate = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	char	   *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	char	   *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
	char	   *hint = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_HINT) : NULL;
	int			code;
	char	   *m;

	if (msg == NULL)
		msg = conn ? PQerrorMessage(conn) : "unknown error";
	m = MetaetlRedact(pstrdup(msg), rc->secret);
	/* trailing newline of libpq's own messages */
	while (strlen(m) > 0 && (m[strlen(m) - 1] == '\n' || m[strlen(m) - 1] == ' '))
		m[strlen(m) - 1] = '\0';
	if (sqlstate && strlen(sqlstate) == 5)
		code = MAKE_SQLSTATE(sqlstate[0], sqlstate[1], sqlstate[2], sqlstate[3], sqlstate[4]);
	else
		code = ERRCODE_CONNECTION_FAILURE;	/* no SQLSTATE: the connection broke */
	if (res)
		PQclear(res);
	MetaetlRemoteRaise(rc, code, psprintf("%s: %s", doing, m),
					   detail ? MetaetlRedact(pstrdup(detail), rc->secret) : NULL,
					   hint ? MetaetlRedact(pstrdup(hint), rc->secret) : NULL);
}

/* wait until conn's socket is readable (or writable), interruptibly */
static void
pgr_wait(PGconn *conn, bool write, long timeout_ms)
{
	int			rc;

	rc = WaitLatchOrSocket(MyLatch,
						   WL_LATCH_SET | WL_EXIT_ON_PM_DEATH |
						   (write ? WL_SOCKET_WRITEABLE : WL_SOCKET_READABLE) |
						   (timeout_ms > 0 ? WL_TIMEOUT : 0),
						   PQsocket(conn), timeout_ms, PG_WAIT_EXTENSION);
	if (rc & WL_LATCH_SET)
		ResetLatch(MyLatch);
	CHECK_FOR_INTERRUPTS();
}

/* the last result of the command in flight (earlier ones are discarded) */
static PGresult *
pgr_get_result(PgrEntry *e)
{
	PGresult   *last = NULL;

	e->c.busy = true;
	for (;;)
	{
		PGresult   *res;

		while (PQisBusy(e->conn))
		{
			pgr_wait(e->conn, false, -1);
			if (!PQconsumeInput(e->conn))
			{
				if (last)
					PQclear(last);
				return NULL;
			}
		}
		res = PQgetResult(e->conn);
		if (res == NULL)
			break;
		if (PQresultStatus(res) == PGRES_COPY_IN || PQresultStatus(res) == PGRES_COPY_OUT)
		{
			if (last)
				PQclear(last);
			e->c.busy = true;		/* the caller drives the COPY */
			return res;
		}
		if (last)
			PQclear(last);
		last = res;
	}
	e->c.busy = false;
	return last;
}

/* run sql with text parameters; the result (must be ok) for the caller to clear */
static PGresult *
pgr_exec(PgrEntry *e, RemoteConn *rc, const char *sql, int nparams, const char *const *params,
		 const char *doing)
{
	PGresult   *res;
	ExecStatusType st;

	/* without parameters: the simple protocol, which takes several statements */
	if (!(nparams == 0 ? PQsendQuery(e->conn, sql) :
		  PQsendQueryParams(e->conn, sql, nparams, NULL, params, NULL, NULL, 0)))
		pgr_raise(rc, e->conn, NULL, doing);
	res = pgr_get_result(e);
	st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_COPY_IN &&
		st != PGRES_COPY_OUT)
		pgr_raise(rc, e->conn, res, doing);
	return res;
}

static void
pgr_command(PgrEntry *e, RemoteConn *rc, const char *sql, const char *doing)
{
	PQclear(pgr_exec(e, rc, sql, 0, NULL, doing));
}

/* ------------------------------------------------- transactions, cache */

static void
pgr_close(PgrEntry *e)
{
	/* end an open COPY cleanly, so the server rolls back without a protocol error */
	if (e->conn && e->copy_in)
		(void) PQputCopyEnd(e->conn, "metaetl: the load was aborted");
	e->copy_in = false;
	if (e->conn)
		PQfinish(e->conn);
	e->conn = NULL;
	e->c.xact_depth = 0;
	e->c.busy = false;
}

static void
pgr_cache_close(RemoteCacheEntry *e)
{
	pgr_close((PgrEntry *) e);
}

static void
pgr_cache_command(RemoteCacheEntry *e, RemoteConn *rc, const char *sql, const char *doing)
{
	pgr_command((PgrEntry *) e, rc, sql, doing);
}

/*
 * Pre-commit: commit every remote transaction (an error here aborts the
 * local transaction, and with it the run's load).  Abort: close connections
 * that were writing or busy, which rolls their remote transactions back.
 */
static void
pgr_xact_callback(XactEvent event, void *arg)
{
	HASH_SEQ_STATUS s;
	PgrEntry   *e;

	if (pgr_cache.htab == NULL)
		return;
	hash_seq_init(&s, pgr_cache.htab);
	while ((e = hash_seq_search(&s)) != NULL)
	{
		if (e->conn == NULL)
			continue;
		switch (event)
		{
			case XACT_EVENT_PRE_COMMIT:
			case XACT_EVENT_PARALLEL_PRE_COMMIT:
				if (e->c.lost)
				{
					e->c.lost = false;
					pgr_close(e);
					hash_seq_term(&s);
					ereport(ERROR,
							(errcode(ERRCODE_CONNECTION_FAILURE),
							 errmsg("connection \"%s\": the remote transaction was lost", e->c.key.name),
							 errdetail("A savepoint could not be rolled back on the remote server; nothing was committed there.")));
				}
				if (e->c.xact_depth > 0)
				{
					PGresult   *res;

					e->c.xact_depth = 0;
					if (!PQsendQuery(e->conn, "COMMIT") ||
						(res = pgr_get_result(e)) == NULL || PQresultStatus(res) != PGRES_COMMAND_OK)
					{
						char	   *m = pstrdup(PQerrorMessage(e->conn));

						pgr_close(e);
						hash_seq_term(&s);
						ereport(ERROR,
								(errcode(ERRCODE_CONNECTION_FAILURE),
								 errmsg("connection \"%s\": could not commit the remote transaction", e->c.key.name),
								 errdetail("%s", m),
								 errhint("Nothing was committed in this database; the remote server rolls back.")));
					}
					PQclear(res);
				}
				break;
			case XACT_EVENT_PRE_PREPARE:
				if (e->c.xact_depth > 0)
				{
					hash_seq_term(&s);
					ereport(ERROR,
							(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
							 errmsg("cannot PREPARE a transaction that wrote to remote connection \"%s\"",
									e->c.key.name)));
				}
				break;
			case XACT_EVENT_ABORT:
			case XACT_EVENT_PARALLEL_ABORT:
				if (e->c.xact_depth > 0 || e->c.busy || PQstatus(e->conn) != CONNECTION_OK)
					pgr_close(e);
				e->c.lost = false;
				break;
			default:
				break;
		}
		if ((event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
			 event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT) &&
			e->c.close_at_eoxact)
			pgr_close(e);
	}
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT)
		pgr_xact_wrote = false;
}

static void
pgr_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					 SubTransactionId parentSubid, void *arg)
{
	HASH_SEQ_STATUS s;
	PgrEntry   *e;
	int			level = GetCurrentTransactionNestLevel();

	if (pgr_cache.htab == NULL || (event != SUBXACT_EVENT_PRE_COMMIT_SUB && event != SUBXACT_EVENT_ABORT_SUB))
		return;
	hash_seq_init(&s, pgr_cache.htab);
	while ((e = hash_seq_search(&s)) != NULL)
	{
		char		sql[64];

		if (e->conn == NULL || e->c.xact_depth < level)
			continue;
		if (event == SUBXACT_EVENT_PRE_COMMIT_SUB)
		{
			snprintf(sql, sizeof(sql), "RELEASE SAVEPOINT metaetl_s%d", level);
			if (!PQsendQuery(e->conn, sql))
				e->c.lost = true;
			else
			{
				PGresult   *res = pgr_get_result(e);

				if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK)
					e->c.lost = true;
				PQclear(res);
			}
		}
		else
		{
			/* no waiting on a server that may be gone: it must answer now */
			PGresult   *res;

			snprintf(sql, sizeof(sql), "ROLLBACK TO SAVEPOINT metaetl_s%d; RELEASE SAVEPOINT metaetl_s%d",
					 level, level);
			if (e->c.busy || PQstatus(e->conn) != CONNECTION_OK)
			{
				pgr_close(e);
				e->c.lost = level > 2;
				continue;
			}
			res = PQexec(e->conn, sql);
			if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK)
			{
				pgr_close(e);
				/* writes of outer levels went with it */
				e->c.lost = level > 2;
			}
			PQclear(res);
		}
		if (e->conn)
			e->c.xact_depth = level - 1;
	}
}

/* connect (interruptibly) and set up the remote session */
static PGconn *
pgr_connect(RemoteConn *rc)
{
	const char *kw[16];
	const char *val[16];
	int			n = 0;
	const char *keys[] = {"host", "port", "dbname", "sslmode", "application_name", "connect_timeout"};
	PGconn	   *conn;
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;
	int			timeout = MetaetlRemoteOptInt(rc, "connect_timeout", 10);
	TimestampTz deadline = GetCurrentTimestamp() + (TimestampTz) timeout * USECS_PER_SEC;

	for (int i = 0; i < (int) lengthof(keys); i++)
	{
		char	   *v = MetaetlRemoteOpt(rc, keys[i]);

		if (strcmp(keys[i], "application_name") == 0 && v == NULL)
			v = "metaetl";
		if (strcmp(keys[i], "connect_timeout") == 0 && v == NULL)
			v = psprintf("%d", timeout);
		if (v)
		{
			kw[n] = keys[i];
			val[n++] = v;
		}
	}
	if (rc->user)
	{
		kw[n] = "user";
		val[n++] = rc->user;
	}
	if (rc->password)
	{
		kw[n] = "password";
		val[n++] = rc->password;
	}
	/* never this server's own password file, nor its environment's */
	kw[n] = "passfile";
	val[n++] = "/dev/null/metaetl-no-passfile";
	kw[n] = "client_encoding";
	val[n++] = GetDatabaseEncodingName();
	kw[n] = NULL;
	val[n] = NULL;

	if (!superuser_arg(rc->role) && rc->password == NULL)
		MetaetlRemoteRaise(rc, ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION,
						   "a password is required",
						   "Roles that are not superusers connect to remote servers with the password of the connection's credential.",
						   "Give the connection a credential holding user and password (etl.add_credential).");

	conn = PQconnectStartParams(kw, val, false);
	if (conn == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	PG_TRY();
	{
		while (PQstatus(conn) != CONNECTION_BAD && st != PGRES_POLLING_OK && st != PGRES_POLLING_FAILED)
		{
			long		left = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline);

			if (left <= 0)
				MetaetlRemoteRaise(rc, ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION,
								   psprintf("could not connect: timeout after %d s", timeout),
								   NULL, "Check host and port, or raise connect_timeout.");
			pgr_wait(conn, st == PGRES_POLLING_WRITING, left);
			st = PQconnectPoll(conn);
		}
		if (PQstatus(conn) != CONNECTION_OK)
		{
			char	   *m = MetaetlRedact(pstrdup(PQerrorMessage(conn)), rc->secret);
			int			code = ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION;

			while (strlen(m) > 0 && m[strlen(m) - 1] == '\n')
				m[strlen(m) - 1] = '\0';
			if (strstr(m, "password authentication failed") || strstr(m, "no password supplied"))
				code = ERRCODE_INVALID_PASSWORD;
			MetaetlRemoteRaise(rc, code, psprintf("could not connect: %s", m), NULL,
							   code == ERRCODE_INVALID_PASSWORD ?
							   "Check the user and password of the connection's credential." :
							   "Check that the server runs and accepts connections at host and port.");
		}
		if (!superuser_arg(rc->role) && !PQconnectionUsedPassword(conn))
			MetaetlRemoteRaise(rc, ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION,
							   "the remote server did not ask for a password",
							   "Roles that are not superusers may only use connections that authenticate with a password.",
							   "Configure the remote server to require password authentication for this user.");
	}
	PG_CATCH();
	{
		PQfinish(conn);
		PG_RE_THROW();
	}
	PG_END_TRY();
	return conn;
}

static void
pgr_setup_session(PgrEntry *e, RemoteConn *rc)
{
	char	   *st = MetaetlRemoteOpt(rc, "statement_timeout");

	/*
	 * Unambiguous text for every type, as postgres_fdw sets up; search_path
	 * stays the remote role's (or the connection's schema, then public), for
	 * query sources run as written (our own statements qualify every name).
	 */
	pgr_command(e, rc, "SET timezone = 'UTC'; SET datestyle = ISO; "
				"SET intervalstyle = postgres; SET extra_float_digits = 3", "setting up the session");
	if (st)
	{
		const char *p[1] = {st};

		PQclear(pgr_exec(e, rc, "SELECT pg_catalog.set_config('statement_timeout', $1, false)", 1, p,
						 "setting statement_timeout"));
	}
	if (MetaetlRemoteOpt(rc, "schema"))
	{
		/* the connection's schema is where a query's unqualified names are */
		const char *p[1] = {psprintf("%s, public", quote_identifier(MetaetlRemoteOpt(rc, "schema")))};

		PQclear(pgr_exec(e, rc, "SELECT pg_catalog.set_config('search_path', $1, false)", 1, p,
						 "setting search_path"));
	}
}

/*
 * pgr_get
 *		The cached connection of (rc->name, rc->role), opened or reopened as
 *		needed.  write: open the remote transaction (and savepoints down to
 *		the current subtransaction level).
 */
static PgrEntry *
pgr_get(RemoteConn *rc, bool write)
{
	PgrEntry   *e;

	MetaetlRemoteSecret(rc);
	e = (PgrEntry *) MetaetlRemoteCacheGet(&pgr_cache, rc);
	/* changed options or secret, a broken or busy connection: start afresh */
	if (e->conn && e->c.xact_depth == 0 &&
		(e->c.hash != rc->hash || e->c.busy || PQstatus(e->conn) != CONNECTION_OK ||
		 PQtransactionStatus(e->conn) != PQTRANS_IDLE))
		pgr_close(e);
	if (e->conn && e->c.xact_depth > 0 && PQstatus(e->conn) != CONNECTION_OK)
	{
		pgr_close(e);
		MetaetlRemoteRaise(rc, ERRCODE_CONNECTION_FAILURE, "the connection to the remote server was lost",
						   "The remote transaction of this run was rolled back.", NULL);
	}
	if (e->conn == NULL)
	{
		e->conn = pgr_connect(rc);
		e->c.hash = rc->hash;
		e->c.busy = false;
		PG_TRY();
		{
			pgr_setup_session(e, rc);
		}
		PG_CATCH();
		{
			pgr_close(e);
			PG_RE_THROW();
		}
		PG_END_TRY();
	}
	if (write)
	{
		MetaetlRemoteCacheBegin(&pgr_cache, &e->c, rc);
		pgr_xact_wrote = true;
	}
	return e;
}

/* forget (close) every cached connection of connection "name" */
void
MetaetlPgForget(const char *name)
{
	MetaetlRemoteCacheForget(&pgr_cache, name);
}

/* ----------------------------------------------------------- metadata */

/*
 * MetaetlPgMapType
 *		The local type for a remote column: PostgreSQL's own (pg_catalog)
 *		types map to themselves; anything else (enums, domains, extension
 *		types) arrives as text; pseudo-types (void, record) have none.
 */
char *
MetaetlPgMapType(const char *remote_type, bool builtin)
{
	Oid			oid;
	int32		typmod;

	if (!builtin)
		return "text";
	parseTypeString(remote_type, &oid, &typmod, true);
	if (!OidIsValid(oid))
		return "text";
	/* void, record, ...: no column can have them (a query must cast) */
	if (get_typtype(oid) == TYPTYPE_PSEUDO)
		return NULL;
	return format_type_with_typemod(oid, typmod);
}

static List *
pgr_columns_of(PGresult *res)
{
	List	   *cols = NIL;

	for (int i = 0; i < PQntuples(res); i++)
	{
		RemoteColumn *c = palloc0(sizeof(RemoteColumn));

		c->name = pstrdup(PQgetvalue(res, i, 0));
		c->remote_type = pstrdup(PQgetvalue(res, i, 1));
		c->local_type = MetaetlPgMapType(c->remote_type, PQgetvalue(res, i, 2)[0] == 't');
		c->nullable = PQgetvalue(res, i, 3)[0] == 't';
		cols = lappend(cols, c);
	}
	return cols;
}

#define PGR_TYPE_SQL \
	"pg_catalog.format_type(t.oid, %s), " \
	"(t.typnamespace OPERATOR(pg_catalog.=) 'pg_catalog'::pg_catalog.regnamespace " \
	" AND (t.typelem OPERATOR(pg_catalog.=) 0 OR EXISTS (SELECT FROM pg_catalog.pg_type e " \
	"  WHERE e.oid OPERATOR(pg_catalog.=) t.typelem AND e.typnamespace OPERATOR(pg_catalog.=) 'pg_catalog'::pg_catalog.regnamespace)))"

/* the columns of remote table schema.table (42P01 from the remote when missing) */
List *
MetaetlPgColumns(RemoteConn *rc, const char *schema, const char *table)
{
	PgrEntry   *e = pgr_get(rc, false);
	const char *p[1];
	PGresult   *res;
	List	   *cols;

	p[0] = quote_qualified_identifier(schema, table);
	res = pgr_exec(e, rc,
				   psprintf("SELECT a.attname, " PGR_TYPE_SQL ", NOT a.attnotnull "
							"FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid OPERATOR(pg_catalog.=) a.atttypid "
							"WHERE a.attrelid OPERATOR(pg_catalog.=) $1::pg_catalog.regclass AND a.attnum > 0 "
							"AND NOT a.attisdropped ORDER BY a.attnum", "a.atttypmod"),
				   1, p, psprintf("reading the columns of %s", p[0]));
	cols = pgr_columns_of(res);
	PQclear(res);
	return cols;
}

/* the columns a remote query returns (described, not run) */
List *
MetaetlPgQueryColumns(RemoteConn *rc, const char *query)
{
	PgrEntry   *e = pgr_get(rc, false);
	PGresult   *res;
	StringInfoData oids,
				mods;
	const char *p[2];
	List	   *cols;
	ListCell   *lc;
	int			n;
	char	  **names;

	if (!PQsendPrepare(e->conn, "", query, 0, NULL))
		pgr_raise(rc, e->conn, NULL, "preparing the query");
	res = pgr_get_result(e);
	if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK)
		pgr_raise(rc, e->conn, res, "preparing the query");
	PQclear(res);
	if (!PQsendDescribePrepared(e->conn, ""))
		pgr_raise(rc, e->conn, NULL, "describing the query");
	res = pgr_get_result(e);
	if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK)
		pgr_raise(rc, e->conn, res, "describing the query");
	n = PQnfields(res);
	if (n == 0)
	{
		PQclear(res);
		MetaetlRemoteRaise(rc, ERRCODE_INVALID_PARAMETER_VALUE, "the query returns no columns", NULL,
						   "A query source is one SELECT.");
	}
	initStringInfo(&oids);
	initStringInfo(&mods);
	names = palloc(sizeof(char *) * n);
	for (int i = 0; i < n; i++)
	{
		appendStringInfo(&oids, "%s%u", i ? "," : "{", PQftype(res, i));
		appendStringInfo(&mods, "%s%d", i ? "," : "{", PQfmod(res, i));
		names[i] = pstrdup(PQfname(res, i));
	}
	appendStringInfoChar(&oids, '}');
	appendStringInfoChar(&mods, '}');
	PQclear(res);
	p[0] = oids.data;
	p[1] = mods.data;
	res = pgr_exec(e, rc,
				   psprintf("SELECT NULL, " PGR_TYPE_SQL ", true FROM ROWS FROM (pg_catalog.unnest($1::pg_catalog.oid[]), pg_catalog.unnest($2::pg_catalog.int4[])) "
							"WITH ORDINALITY AS u(o, m, i) JOIN pg_catalog.pg_type t ON t.oid OPERATOR(pg_catalog.=) u.o ORDER BY u.i",
							"u.m"),
				   2, p, "reading the query's column types");
	cols = pgr_columns_of(res);
	PQclear(res);
	foreach(lc, cols)
		((RemoteColumn *) lfirst(lc))->name = names[foreach_current_index(lc)];
	return cols;
}

/* the remote planner's row count of schema.table (-1 when unknown) */
double
MetaetlPgEstimate(RemoteConn *rc, const char *schema, const char *table)
{
	PgrEntry   *e = pgr_get(rc, false);
	const char *p[1];
	PGresult   *res;
	double		rows;

	p[0] = quote_qualified_identifier(schema, table);
	res = pgr_exec(e, rc,
				   "SELECT CASE WHEN c.reltuples >= 0 THEN c.reltuples "
				   "ELSE pg_catalog.pg_relation_size(c.oid) / 100 END FROM pg_catalog.pg_class c "
				   "WHERE c.oid OPERATOR(pg_catalog.=) $1::pg_catalog.regclass",
				   1, p, psprintf("estimating the size of %s", p[0]));
	rows = PQntuples(res) == 1 ? strtod(PQgetvalue(res, 0, 0), NULL) : -1;
	PQclear(res);
	return rows;
}

/* ------------------------------------------------------ COPY bulk path */

/* the COPY OUT in flight, for the data source callback (one at a time) */
static struct
{
	PgrEntry   *e;
	RemoteConn *rc;
	char	   *buf;			/* libpq's current row buffer */
	int			len;
	int			off;
	bool		done;
	int64		bytes;
} pgr_copy;

static int
pgr_copy_source(void *outbuf, int minread, int maxread)
{
	int			got = 0;

	while (got < minread || (got == 0 && !pgr_copy.done))
	{
		if (pgr_copy.off < pgr_copy.len)
		{
			int			n = Min(pgr_copy.len - pgr_copy.off, maxread - got);

			memcpy((char *) outbuf + got, pgr_copy.buf + pgr_copy.off, n);
			pgr_copy.off += n;
			got += n;
			if (got >= maxread)
				break;
			continue;
		}
		if (pgr_copy.buf)
		{
			PQfreemem(pgr_copy.buf);
			pgr_copy.buf = NULL;
		}
		if (pgr_copy.done)
			break;
		for (;;)
		{
			int			n = PQgetCopyData(pgr_copy.e->conn, &pgr_copy.buf, 1);

			if (n > 0)
			{
				pgr_copy.len = n;
				pgr_copy.off = 0;
				pgr_copy.bytes += n;
				break;
			}
			if (n == 0)
			{
				pgr_wait(pgr_copy.e->conn, false, -1);
				if (!PQconsumeInput(pgr_copy.e->conn))
					pgr_raise(pgr_copy.rc, pgr_copy.e->conn, NULL, "reading rows");
				continue;
			}
			if (n == -1)
			{
				/* end of the COPY: its final result says whether it all came */
				PGresult   *res = pgr_get_result(pgr_copy.e);

				pgr_copy.done = true;
				pgr_copy.buf = NULL;
				pgr_copy.len = pgr_copy.off = 0;
				if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK)
					pgr_raise(pgr_copy.rc, pgr_copy.e->conn, res, "reading rows");
				PQclear(res);
				break;
			}
			pgr_raise(pgr_copy.rc, pgr_copy.e->conn, NULL, "reading rows");
		}
	}
	return got;
}

static void
pgr_copy_errcontext(void *arg)
{
	RemoteConn *rc = arg;

	errcontext("%s, COPY from connection \"%s\"", rc->what, rc->name);
}

/*
 * MetaetlPgCopyInto
 *		COPY (query) TO STDOUT on the remote server, straight into the local
 *		table "staging" (columns cols, char * names) by COPY FROM with a data
 *		source callback.  Returns the rows copied.
 */
int64
MetaetlPgCopyInto(RemoteConn *rc, const char *query, const char *staging, List *cols)
{
	return pgr_copy_into(pgr_get(rc, false), rc, query, staging, cols);
}

/* MetaetlPgCopyInto on an entry already in hand (a snapshot read's transaction) */
static int64
pgr_copy_into(PgrEntry *e, RemoteConn *rc, const char *query, const char *staging, List *cols)
{
	PGresult   *res;
	Relation	rel;
	CopyFromState cstate;
	List	   *attnames = NIL;
	ListCell   *lc;
	int64		rows = 0;
	ErrorContextCallback errcb;

	if (pgr_copy.e != NULL)
		elog(ERROR, "a remote COPY is already in progress");
	res = pgr_exec(e, rc, psprintf("COPY (%s) TO STDOUT", query), 0, NULL, "starting COPY");
	if (PQresultStatus(res) != PGRES_COPY_OUT)
	{
		PQclear(res);
		MetaetlRemoteRaise(rc, ERRCODE_PROTOCOL_VIOLATION, "COPY did not start", NULL, NULL);
	}
	PQclear(res);
	foreach(lc, cols)
		attnames = lappend(attnames, makeString(pstrdup(lfirst(lc))));
	rel = table_openrv(makeRangeVarFromNameList(stringToQualifiedNameList(staging)), RowExclusiveLock);
	memset(&pgr_copy, 0, sizeof(pgr_copy));
	pgr_copy.e = e;
	pgr_copy.rc = rc;
	errcb.callback = pgr_copy_errcontext;
	errcb.arg = rc;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;
	PG_TRY();
	{
		/* COPY FROM needs the range table entry DoCopy would have made */
		ParseState *pstate = make_parsestate(NULL);
		ParseNamespaceItem *nsitem = addRangeTableEntryForRelation(pstate, rel, RowExclusiveLock,
																   NULL, false, false);

		nsitem->p_rte->requiredPerms = ACL_INSERT;
		cstate = BeginCopyFrom(pstate, rel, NULL, NULL, false, pgr_copy_source, attnames, NIL);
		rows = (int64) CopyFrom(cstate);
		EndCopyFrom(cstate);
		/* drain the end of the COPY if CopyFrom stopped at the terminator */
		while (!pgr_copy.done)
		{
			char		sink[1024];

			(void) pgr_copy_source(sink, 1, sizeof(sink));
		}
	}
	PG_FINALLY();
	{
		if (pgr_copy.buf)
			PQfreemem(pgr_copy.buf);
		memset(&pgr_copy, 0, sizeof(pgr_copy));
		error_context_stack = errcb.previous;
	}
	PG_END_TRY();
	table_close(rel, NoLock);
	CommandCounterIncrement();
	return rows;
}

/* ------------------------------------------------------ remote targets */

/* COPY text escaping of one value */
static void
pgr_copy_escape(StringInfo b, const char *s)
{
	for (; *s; s++)
	{
		switch (*s)
		{
			case '\\':
				appendStringInfoString(b, "\\\\");
				break;
			case '\n':
				appendStringInfoString(b, "\\n");
				break;
			case '\r':
				appendStringInfoString(b, "\\r");
				break;
			case '\t':
				appendStringInfoString(b, "\\t");
				break;
			default:
				appendStringInfoChar(b, *s);
		}
	}
}

static void
pgr_put(PgrEntry *e, RemoteConn *rc, StringInfo b)
{
	for (;;)
	{
		int			r = PQputCopyData(e->conn, b->data, b->len);

		if (r == 1)
			break;
		if (r == 0)
		{
			pgr_wait(e->conn, true, -1);
			continue;
		}
		pgr_raise(rc, e->conn, NULL, "sending rows");
	}
	resetStringInfo(b);
}

/* rows of "with_prefix SELECT cols FROM ref" into remote table qname by COPY */
static int64
pgr_copy_out(MetaetlPlan *plan, PgrEntry *e, RemoteConn *rc, const char *qname,
			 const char *with_prefix, const char *ref, List *cols)
{
	MetaetlRowReader *r;
	TupleDesc	desc;
	FmgrInfo   *out;
	PGresult   *res;
	StringInfoData b;
	Datum	   *values;
	bool	   *nulls;
	int64		rows = 0;
	char	   *ct;
	MemoryContext rowcxt,
				old;

	res = pgr_exec(e, rc, psprintf("COPY %s (%s) FROM STDIN", qname, MetaetlColList(cols, NULL)), 0, NULL,
				   psprintf("starting COPY into %s", qname));
	PQclear(res);
	e->copy_in = true;
	r = MetaetlRowReaderOpen(plan, with_prefix, ref, cols);
	desc = MetaetlRowReaderDesc(r);
	out = palloc(sizeof(FmgrInfo) * desc->natts);
	for (int i = 0; i < desc->natts; i++)
	{
		Oid			f;
		bool		varlena;

		getTypeOutputInfo(TupleDescAttr(desc, i)->atttypid, &f, &varlena);
		fmgr_info(f, &out[i]);
	}
	initStringInfo(&b);
	rowcxt = AllocSetContextCreate(CurrentMemoryContext, "metaetl remote rows", ALLOCSET_DEFAULT_SIZES);
	while (MetaetlRowReaderNext(r, &values, &nulls))
	{
		old = MemoryContextSwitchTo(rowcxt);
		for (int i = 0; i < desc->natts; i++)
		{
			if (i)
				appendStringInfoChar(&b, '\t');
			if (nulls[i])
				appendStringInfoString(&b, "\\N");
			else
				pgr_copy_escape(&b, OutputFunctionCall(&out[i], values[i]));
		}
		appendStringInfoChar(&b, '\n');
		MemoryContextSwitchTo(old);
		MemoryContextReset(rowcxt);
		rows++;
		if (b.len >= 65536)
			pgr_put(e, rc, &b);
	}
	if (b.len)
		pgr_put(e, rc, &b);
	MetaetlRowReaderClose(r);
	for (;;)
	{
		int			rr = PQputCopyEnd(e->conn, NULL);

		if (rr == 1)
			break;
		if (rr == 0)
		{
			pgr_wait(e->conn, true, -1);
			continue;
		}
		pgr_raise(rc, e->conn, NULL, "ending COPY");
	}
	e->copy_in = false;
	while (PQflush(e->conn) == 1)
		pgr_wait(e->conn, true, -1);
	res = pgr_get_result(e);
	if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK)
		pgr_raise(rc, e->conn, res, psprintf("loading %s", qname));
	ct = PQcmdTuples(res);
	if (ct && *ct)
		rows = strtoi64(ct, NULL, 10);
	PQclear(res);
	return rows;
}

static void
pgr_load_error(MetaetlTarget *tgt, RemoteConn *rc, int code, const char *msg, const char *hint)
{
	ereport(ERROR,
			(errcode(code),
			 errmsg("target \"%s\": connection \"%s\": %s", tgt->id, rc->name, msg),
			 errdetail("Config path: targets, id \"%s\", mode %s.", tgt->id, tgt->mode),
			 hint ? errhint("%s", hint) : 0));
}

static bool
pgr_is_key(List *keys, const char *c)
{
	ListCell   *lc;

	foreach(lc, keys)
		if (strcmp(lfirst(lc), c) == 0)
			return true;
	return false;
}

/* a table name derived from t (same schema): t plus suffix, within NAMEDATALEN */
static char *
pgr_sibling(const char *schema, const char *table, const char *suffix)
{
	char		buf[NAMEDATALEN];
	int			room = NAMEDATALEN - 1 - (int) strlen(suffix);

	snprintf(buf, sizeof(buf), "%.*s%s", room, table, suffix);
	return quote_qualified_identifier(schema, buf);
}

/*
 * The remote table's columns as load.c compares them: the remote type's
 * local equivalent (an unmapped type has no OID, so any value would change).
 */
static List *
pgr_table_columns(List *rcols)
{
	List	   *out = NIL;
	ListCell   *lc;

	foreach(lc, rcols)
	{
		RemoteColumn *r = lfirst(lc);
		MetaetlColumn *c = palloc0(sizeof(MetaetlColumn));

		c->name = r->name;
		c->type = r->remote_type;
		c->typid = InvalidOid;
		c->typmod = -1;
		if (r->local_type)
			parseTypeString(r->local_type, &c->typid, &c->typmod, true);
		out = lappend(out, c);
	}
	return out;
}

/*
 * MetaetlPgLoad
 *		A remote PostgreSQL target: rows by COPY inside the remote
 *		transaction (committed with the local one).  append: COPY into the
 *		table.  replace: COPY into a new table LIKE the target, then the new
 *		table takes the target's name (rename, in the same transaction: the
 *		remote readers see the old rows until commit).  upsert: COPY into a
 *		temporary table, INSERT ... ON CONFLICT (keys) DO UPDATE of changed
 *		rows.  delete_insert: rows with the keys of the new rows are deleted,
 *		the new rows inserted.
 */
int64
MetaetlPgLoad(MetaetlPlan *plan, MetaetlTarget *tgt, RemoteConn *rc, const char *with_prefix,
			  const char *ref, List *cols)
{
	char	   *table = MetaetlJStr(tgt->conf, "table");
	char	   *schema = MetaetlJStr(tgt->conf, "schema");
	List	   *keys = MetaetlJStrList(tgt->conf, "keys", tgt->id);
	bool		create = MetaetlJBool(tgt->conf, "create", true);
	const char *mode = tgt->mode;
	List	   *rcols;
	char	   *q;
	char	   *collist = MetaetlColList(cols, NULL);
	PgrEntry   *e;
	int64		rows;
	ListCell   *lc;
	MemoryContext oldcxt = CurrentMemoryContext;
	bool		exists = true;
	const char *policy;
	MetaetlSchemaDiff diff;
	List	   *ddl_before = NIL;

	if (table == NULL)
		pgr_load_error(tgt, rc, ERRCODE_INVALID_PARAMETER_VALUE, "table is required", NULL);
	if (schema == NULL)
	{
		List	   *parts = NIL;

		if (!SplitIdentifierString(pstrdup(table), '.', &parts) || list_length(parts) > 2)
			pgr_load_error(tgt, rc, ERRCODE_INVALID_NAME, psprintf("invalid table name \"%s\"", table), NULL);
		schema = list_length(parts) == 2 ? linitial(parts) : MetaetlRemoteOpt(rc, "schema");
		table = llast(parts);
		if (schema == NULL)
			schema = "public";
	}
	q = quote_qualified_identifier(schema, table);
	tgt->table_display = psprintf("%s via connection %s", q, rc->name);
	if (strcmp(mode, "append") != 0 && strcmp(mode, "replace") != 0 && strcmp(mode, "upsert") != 0 &&
		strcmp(mode, "delete_insert") != 0)
		pgr_load_error(tgt, rc, ERRCODE_FEATURE_NOT_SUPPORTED,
					   psprintf("mode %s is not supported for remote targets", mode),
					   "Remote targets take append, replace, upsert or delete_insert.");
	policy = MetaetlSchemaPolicy(tgt);
	if ((strcmp(mode, "upsert") == 0 || strcmp(mode, "delete_insert") == 0) && keys == NIL)
		pgr_load_error(tgt, rc, ERRCODE_INVALID_PARAMETER_VALUE, psprintf("mode %s needs keys", mode),
					   "List the key columns as keys: [id].");
	foreach(lc, keys)
	{
		bool		found = false;
		ListCell   *lc2;

		foreach(lc2, cols)
			if (strcmp(((MetaetlColumn *) lfirst(lc2))->name, lfirst(lc)) == 0)
				found = true;
		if (!found)
			pgr_load_error(tgt, rc, ERRCODE_UNDEFINED_COLUMN,
						   psprintf("key column \"%s\" is not in the input", (char *) lfirst(lc)), NULL);
	}

	/* the target's columns: missing table → created (unless create: false) */
	PG_TRY();
	{
		rcols = MetaetlPgColumns(rc, schema, table);
	}
	PG_CATCH();
	{
		ErrorData  *ed;

		MemoryContextSwitchTo(oldcxt);
		ed = CopyErrorData();
		if (ed->sqlerrcode != ERRCODE_UNDEFINED_TABLE)
			PG_RE_THROW();
		FlushErrorState();
		rcols = NIL;
		exists = false;
	}
	PG_END_TRY();
	if (!exists && !create)
		pgr_load_error(tgt, rc, ERRCODE_UNDEFINED_TABLE, psprintf("remote table %s does not exist", q),
					   "Create the table, or drop create: false to have it created from the result's types.");
	/*
	 * An existing table whose columns differ follows on_schema_change as a
	 * table of this database does (connectors/table_load.c): the ALTERs and the
	 * DROP run in the remote transaction, so a failed load undoes them.
	 */
	if (exists && MetaetlSchemaCompare(cols, pgr_table_columns(rcols), false, policy, &diff))
	{
		char	   *dataset = MetaetlLineageTargetDataset(tgt->type, tgt->conf, tgt->id);

		if (strcmp(policy, "fail") == 0 || (strcmp(policy, "append_new_columns") == 0 && diff.retype != NIL))
			MetaetlSchemaMismatch(tgt, tgt->table_display, dataset, policy, &diff);
		if (!plan->describe_only)
			MetaetlLineageNoteSchemaChange(dataset, tgt->id, policy, true, diff.changes_json);
		if (strcmp(policy, "recreate") == 0)
		{
			ddl_before = lappend(ddl_before, psprintf("DROP TABLE %s", q));
			exists = false;
		}
		else
		{
			foreach(lc, diff.add)
			{
				MetaetlColumn *c = lfirst(lc);

				ddl_before = lappend(ddl_before, psprintf("ALTER TABLE %s ADD COLUMN %s %s", q,
														  quote_identifier(c->name), c->type));
			}
			/* sync_all_columns is mode replace: the old rows go, so USING NULL loses nothing */
			foreach(lc, strcmp(policy, "sync_all_columns") == 0 ? diff.retype : NIL)
			{
				MetaetlColumn *c = lfirst(lc);

				ddl_before = lappend(ddl_before, psprintf("ALTER TABLE %s ALTER COLUMN %s TYPE %s USING NULL", q,
														  quote_identifier(c->name), c->type));
			}
			foreach(lc, strcmp(policy, "sync_all_columns") == 0 ? diff.drop : NIL)
				ddl_before = lappend(ddl_before, psprintf("ALTER TABLE %s DROP COLUMN %s", q,
														  quote_identifier(((MetaetlColumn *) lfirst(lc))->name)));
		}
	}
	if (plan->describe_only)
	{
		MetaetlScript(plan, psprintf("-- on connection %s: COPY %s (%s) FROM STDIN (mode %s, in the remote transaction)",
									 rc->name, q, collist, mode));
		return 0;
	}

	e = pgr_get(rc, true);
	foreach(lc, ddl_before)
	{
		MetaetlScript(plan, psprintf("-- on connection %s: %s", rc->name, (char *) lfirst(lc)));
		pgr_command(e, rc, lfirst(lc), psprintf("applying on_schema_change %s to %s", policy, q));
	}
	if (!exists)
	{
		StringInfoData ddl;

		initStringInfo(&ddl);
		appendStringInfo(&ddl, "CREATE TABLE %s (", q);
		foreach(lc, cols)
		{
			MetaetlColumn *c = lfirst(lc);

			appendStringInfo(&ddl, "%s%s %s", foreach_current_index(lc) ? ", " : "", quote_identifier(c->name),
							 c->type);
		}
		if (keys != NIL)
		{
			/* the key columns become the primary key, for upsert's ON CONFLICT */
			appendStringInfoString(&ddl, ", PRIMARY KEY (");
			foreach(lc, keys)
				appendStringInfo(&ddl, "%s%s", foreach_current_index(lc) ? ", " : "", quote_identifier(lfirst(lc)));
			appendStringInfoChar(&ddl, ')');
		}
		appendStringInfoChar(&ddl, ')');
		MetaetlScript(plan, psprintf("-- on connection %s: %s", rc->name, ddl.data));
		pgr_command(e, rc, ddl.data, psprintf("creating %s", q));
	}

	if (strcmp(mode, "append") == 0 || (!exists && strcmp(mode, "replace") == 0))
	{
		MetaetlScript(plan, psprintf("-- on connection %s: COPY %s (%s) FROM STDIN", rc->name, q, collist));
		return pgr_copy_out(plan, e, rc, q, with_prefix, ref, cols);
	}
	if (strcmp(mode, "replace") == 0)
	{
		char	   *fresh = pgr_sibling(schema, table, "_metaetl_new");
		char	   *old = pgr_sibling(schema, table, "_metaetl_old");
		char	   *sql;

		sql = psprintf("DROP TABLE IF EXISTS %s; CREATE TABLE %s (LIKE %s INCLUDING ALL)", fresh, fresh, q);
		MetaetlScript(plan, psprintf("-- on connection %s: %s", rc->name, sql));
		pgr_command(e, rc, sql, psprintf("creating the staging table for %s", q));
		rows = pgr_copy_out(plan, e, rc, fresh, with_prefix, ref, cols);
		{
			char	   *oldname = strrchr(old, '.') + 1;
			char	   *tname = pstrdup(quote_identifier(table));

			sql = psprintf("ALTER TABLE %s RENAME TO %s; ALTER TABLE %s RENAME TO %s; DROP TABLE %s",
						   q, oldname, fresh, tname, old);
		}
		MetaetlScript(plan, psprintf("-- on connection %s: %s", rc->name, sql));
		pgr_command(e, rc, sql, psprintf("swapping in the new rows of %s", q));
		return rows;
	}
	/* upsert, delete_insert: through a remote temporary table */
	{
		char	   *stage = "pg_temp.metaetl_stage";
		StringInfoData on,
					set,
					changed,
					sql;
		PGresult   *res;
		char	   *ct;

		initStringInfo(&on);
		initStringInfo(&set);
		initStringInfo(&changed);
		initStringInfo(&sql);
		foreach(lc, keys)
			appendStringInfo(&on, "%st.%s = s.%s", on.len ? " AND " : "", quote_identifier(lfirst(lc)),
							 quote_identifier(lfirst(lc)));
		foreach(lc, cols)
		{
			char	   *c = ((MetaetlColumn *) lfirst(lc))->name;

			if (pgr_is_key(keys, c))
				continue;
			appendStringInfo(&set, "%s%s = EXCLUDED.%s", set.len ? ", " : "", quote_identifier(c), quote_identifier(c));
			appendStringInfo(&changed, "%st.%s IS DISTINCT FROM EXCLUDED.%s", changed.len ? " OR " : "",
							 quote_identifier(c), quote_identifier(c));
		}
		appendStringInfo(&sql, "DROP TABLE IF EXISTS %s; CREATE TEMP TABLE %s ON COMMIT DROP AS SELECT %s FROM %s WITH NO DATA",
						 stage, stage, collist, q);
		pgr_command(e, rc, sql.data, psprintf("creating the staging table for %s", q));
		pgr_copy_out(plan, e, rc, stage, with_prefix, ref, cols);
		resetStringInfo(&sql);
		if (strcmp(mode, "delete_insert") == 0)
		{
			appendStringInfo(&sql, "DELETE FROM %s t USING %s s WHERE %s", q, stage, on.data);
			MetaetlScript(plan, psprintf("-- on connection %s: %s", rc->name, sql.data));
			pgr_command(e, rc, sql.data, psprintf("deleting the old rows of %s", q));
			resetStringInfo(&sql);
			appendStringInfo(&sql, "INSERT INTO %s (%s) SELECT %s FROM %s", q, collist, collist, stage);
		}
		else
		{
			StringInfoData k;

			initStringInfo(&k);
			foreach(lc, keys)
				appendStringInfo(&k, "%s%s", k.len ? ", " : "", quote_identifier(lfirst(lc)));
			appendStringInfo(&sql, "INSERT INTO %s AS t (%s) SELECT %s FROM %s ON CONFLICT (%s) ", q, collist,
							 collist, stage, k.data);
			if (set.len)
				appendStringInfo(&sql, "DO UPDATE SET %s WHERE %s", set.data, changed.data);
			else
				appendStringInfoString(&sql, "DO NOTHING");
		}
		MetaetlScript(plan, psprintf("-- on connection %s: %s", rc->name, sql.data));
		res = pgr_exec(e, rc, sql.data, 0, NULL, psprintf("loading %s", q));
		ct = PQcmdTuples(res);
		rows = ct && *ct ? strtoi64(ct, NULL, 10) : 0;
		PQclear(res);
		pgr_command(e, rc, psprintf("DROP TABLE %s", stage), "dropping the staging table");
		return rows;
	}
}

/* ---------------------------------------------- test_connection, discover */

/* {"ok": true, "latency_ms": ..., "server_version": ..., "error": null}, or raises */
Jsonb *
MetaetlPgTest(RemoteConn *rc)
{
	TimestampTz start = GetCurrentTimestamp();
	PgrEntry   *e = pgr_get(rc, false);
	PGresult   *res = pgr_exec(e, rc, "SELECT pg_catalog.current_setting('server_version')", 0, NULL,
							   "testing the connection");
	StringInfoData b;

	initStringInfo(&b);
	appendStringInfo(&b, "{\"ok\": true, \"latency_ms\": %.3f, \"server_version\": ",
					 (double) (GetCurrentTimestamp() - start) / 1000.0);
	escape_json(&b, PQgetvalue(res, 0, 0));
	PQclear(res);
	appendStringInfoString(&b, ", \"error\": null}");
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(b.data)));
}

/* every column of every table and view in remote schema "schema" the user may read */
List *
MetaetlPgDiscover(RemoteConn *rc, const char *schema)
{
	PgrEntry   *e = pgr_get(rc, false);
	const char *p[1] = {schema};
	PGresult   *res;
	List	   *out = NIL;

	res = pgr_exec(e, rc,
				   psprintf("SELECT c.relname, a.attname, " PGR_TYPE_SQL ", NOT a.attnotnull "
							"FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace "
							"JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) c.oid "
							"JOIN pg_catalog.pg_type t ON t.oid OPERATOR(pg_catalog.=) a.atttypid "
							"WHERE n.nspname OPERATOR(pg_catalog.=) $1 AND c.relkind IN ('r', 'v', 'm', 'f', 'p') "
							"AND a.attnum > 0 AND NOT a.attisdropped "
							"AND pg_catalog.has_table_privilege(c.oid, 'SELECT') ORDER BY c.relname, a.attnum",
							"a.atttypmod"),
				   1, p, psprintf("discovering schema %s", schema));
	for (int i = 0; i < PQntuples(res); i++)
	{
		RemoteColumn *c = palloc0(sizeof(RemoteColumn));

		c->table = pstrdup(PQgetvalue(res, i, 0));
		c->name = pstrdup(PQgetvalue(res, i, 1));
		c->remote_type = pstrdup(PQgetvalue(res, i, 2));
		c->local_type = MetaetlPgMapType(c->remote_type, PQgetvalue(res, i, 3)[0] == 't');
		c->nullable = PQgetvalue(res, i, 4)[0] == 't';
		out = lappend(out, c);
	}
	PQclear(res);
	return out;
}

/* ------------------------------------------- log CDC (incremental/remote_slot.c) */

/*
 * MetaetlPgQueryRow
 *		The first row of a query on the remote server, its values palloc'd
 *		(NULL for SQL NULL); NULL when it returns no row.  For the small
 *		bookkeeping queries of remote change slots.
 */
char **
MetaetlPgQueryRow(RemoteConn *rc, const char *sql, int nparams, const char *const *params,
				  const char *doing)
{
	PgrEntry   *e = pgr_get(rc, false);
	PGresult   *res = pgr_exec(e, rc, sql, nparams, params, doing);
	char	  **row = NULL;

	if (PQntuples(res) > 0)
	{
		row = palloc0(sizeof(char *) * Max(PQnfields(res), 1));
		for (int i = 0; i < PQnfields(res); i++)
			row[i] = PQgetisnull(res, 0, i) ? NULL : pstrdup(PQgetvalue(res, 0, i));
	}
	PQclear(res);
	return row;
}

/*
 * MetaetlPgFlushedLsn
 *		An LSN up to which every transaction that committed on the remote
 *		server before this call is on disk there, so logical decoding (which
 *		reads flushed WAL only) returns all of them.  With asynchronous
 *		commit a commit record can wait for the WAL writer; a transaction of
 *		our own that writes WAL and commits with synchronous_commit on
 *		flushes everything before it.  Its record is a logical message
 *		(prefix "metaetl"), which the change reads skip.  Not inside a
 *		remote transaction of this run: it commits.
 */
char *
MetaetlPgFlushedLsn(RemoteConn *rc)
{
	PgrEntry   *e = pgr_get(rc, false);
	PGresult   *res;
	char	   *lsn;

	if (e->c.xact_depth > 0)
		MetaetlRemoteRaise(rc, ERRCODE_FEATURE_NOT_SUPPORTED,
						   "cannot read a change slot inside a remote transaction of this run",
						   "A target on the same connection already wrote in this transaction.", NULL);
	res = pgr_exec(e, rc,
				   "START TRANSACTION; SET LOCAL synchronous_commit = on; "
				   "SELECT pg_catalog.pg_logical_emit_message(true, 'metaetl', 'flush'); COMMIT; "
				   "SELECT pg_catalog.pg_current_wal_flush_lsn()::pg_catalog.text",
				   0, NULL, "flushing the remote WAL");
	lsn = pstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return lsn;
}

/*
 * MetaetlPgCopySnapshot
 *		In one REPEATABLE READ, READ ONLY remote transaction: the row of
 *		snap_sql (into *snap_row), then COPY query into staging, so both
 *		see the same snapshot.  Returns the rows copied.
 */
int64
MetaetlPgCopySnapshot(RemoteConn *rc, const char *snap_sql, char ***snap_row, const char *query,
					  const char *staging, List *cols)
{
	PgrEntry   *e = pgr_get(rc, false);
	volatile int64 rows = 0;

	if (e->c.xact_depth > 0)
		MetaetlRemoteRaise(rc, ERRCODE_FEATURE_NOT_SUPPORTED,
						   "cannot read a table as of a snapshot inside a remote transaction of this run",
						   "A target on the same connection already wrote in this transaction.", NULL);
	PG_TRY();
	{
		PGresult   *res;

		pgr_command(e, rc, "START TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY",
					"starting the snapshot read");
		res = pgr_exec(e, rc, snap_sql, 0, NULL, "taking the snapshot");
		*snap_row = palloc0(sizeof(char *) * Max(PQnfields(res), 1));
		for (int i = 0; i < PQnfields(res) && PQntuples(res) > 0; i++)
			(*snap_row)[i] = PQgetisnull(res, 0, i) ? NULL : pstrdup(PQgetvalue(res, 0, i));
		PQclear(res);
		rows = pgr_copy_into(e, rc, query, staging, cols);
		pgr_command(e, rc, "COMMIT", "ending the snapshot read");
	}
	PG_CATCH();
	{
		/* closing rolls the read-only transaction back without a round trip */
		pgr_close(e);
		PG_RE_THROW();
	}
	PG_END_TRY();
	return rows;
}
