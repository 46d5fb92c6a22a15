/*-------------------------------------------------------------------------
 *
 * src/connectors/mysql.c
 *		MySQL and MariaDB through the MariaDB client library: metadata,
 *		query sources, the bulk path, remote targets, etl.test_connection
 *		and etl.discover.
 *
 * The client library (libmariadb.so.3, which mysql_fdw needs too) is loaded
 * with dlopen on first use, as mysql_fdw itself does, so metaetl neither
 * links nor needs its headers; the few prototypes and the MYSQL_FIELD
 * layout below are the library's stable ABI (mariadb/mysql.h).
 *
 * Connections are cached per backend by connection and role like libpq
 * ones (pgremote.c).  Sessions run with time_zone +00:00, utf8mb4 and
 * NO_BACKSLASH_ESCAPES, so values are written as standard SQL literals.
 * Rows are streamed (mysql_use_result) into the staging table through a
 * MetaetlSink; zero dates ('0000-00-00', month or day 0) arrive as NULL,
 * BIT(1) as boolean and wider BIT as bigint.
 *
 * Targets write in a remote InnoDB transaction committed in the local
 * pre-commit; subtransactions map to savepoints.  DDL commits implicitly
 * in MySQL, so it never runs on the connection that holds the transaction:
 * a missing table is created, and replace's new table prepared, on a
 * second short-lived connection; replace swaps the tables with one atomic
 * RENAME TABLE right after the remote COMMIT.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <dlfcn.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "parser/parse_type.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/hsearch.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/varlena.h"

#include "connectors/connector.h"
#include "connectors/remote.h"
#include "connectors/sink.h"
#include "lineage/lineage.h"
#include "security/security.h"
#include "connectors/table_load.h"

/* ---------------------------------------------- the client library's ABI */

typedef struct MYSQL MYSQL;
typedef struct MYSQL_RES MYSQL_RES;
typedef char **MYSQL_ROW;

typedef struct MyField			/* MYSQL_FIELD */
{
	char	   *name;
	char	   *org_name;
	char	   *table;
	char	   *org_table;
	char	   *db;
	char	   *catalog;
	char	   *def;
	unsigned long length;
	unsigned long max_length;
	unsigned int name_length;
	unsigned int org_name_length;
	unsigned int table_length;
	unsigned int org_table_length;
	unsigned int db_length;
	unsigned int catalog_length;
	unsigned int def_length;
	unsigned int flags;
	unsigned int decimals;
	unsigned int charsetnr;
	int			type;
	void	   *extension;
} MyField;

#define MY_OPT_CONNECT_TIMEOUT	0
#define MY_OPT_READ_TIMEOUT		11
#define MY_OPT_WRITE_TIMEOUT	12
#define MY_NOT_NULL_FLAG		1
#define MY_UNSIGNED_FLAG		32
#define MY_ENUM_FLAG			256
#define MY_SET_FLAG				2048
#define MY_BINARY_CHARSET		63

static struct
{
	void	   *lib;
	MYSQL	   *(*init) (MYSQL *);
	int			(*options) (MYSQL *, int, const void *);
	MYSQL	   *(*real_connect) (MYSQL *, const char *, const char *, const char *, const char *,
								 unsigned int, const char *, unsigned long);
	int			(*real_query) (MYSQL *, const char *, unsigned long);
	MYSQL_RES  *(*use_result) (MYSQL *);
	MYSQL_RES  *(*store_result) (MYSQL *);
	MYSQL_ROW	(*fetch_row) (MYSQL_RES *);
	unsigned long *(*fetch_lengths) (MYSQL_RES *);
	unsigned int (*num_fields) (MYSQL_RES *);
	MyField    *(*fetch_field_direct) (MYSQL_RES *, unsigned int);
	void		(*free_result) (MYSQL_RES *);
	const char *(*error) (MYSQL *);
	unsigned int (*my_errno) (MYSQL *);
	void		(*close) (MYSQL *);
	const char *(*get_server_info) (MYSQL *);
	unsigned long long (*affected_rows) (MYSQL *);
	int			(*ping) (MYSQL *);
} my;

static void
my_load(RemoteConn *rc)
{
	const char *names[] = {"libmariadb.so.3", "libmariadb.so", "libmysqlclient.so.21", "libmysqlclient.so"};
	void	   *lib = NULL;

	if (my.lib)
		return;
	for (int i = 0; i < (int) lengthof(names) && lib == NULL; i++)
		lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
	if (lib == NULL)
		MetaetlRemoteRaise(rc, ERRCODE_FEATURE_NOT_SUPPORTED, "the MariaDB client library is not installed",
						   "metaetl loads libmariadb.so.3 (Debian package libmariadb3) for MySQL and MariaDB connections.",
						   "apt-get install libmariadb3");
#define MYSYM(field, sym) \
	if ((*(void **) &my.field = dlsym(lib, sym)) == NULL) \
		elog(ERROR, "the MariaDB client library has no %s", sym)
	MYSYM(init, "mysql_init");
	MYSYM(options, "mysql_options");
	MYSYM(real_connect, "mysql_real_connect");
	MYSYM(real_query, "mysql_real_query");
	MYSYM(use_result, "mysql_use_result");
	MYSYM(store_result, "mysql_store_result");
	MYSYM(fetch_row, "mysql_fetch_row");
	MYSYM(fetch_lengths, "mysql_fetch_lengths");
	MYSYM(num_fields, "mysql_num_fields");
	MYSYM(fetch_field_direct, "mysql_fetch_field_direct");
	MYSYM(free_result, "mysql_free_result");
	MYSYM(error, "mysql_error");
	MYSYM(my_errno, "mysql_errno");
	MYSYM(close, "mysql_close");
	MYSYM(get_server_info, "mysql_get_server_info");
	MYSYM(affected_rows, "mysql_affected_rows");
	MYSYM(ping, "mysql_ping");
#undef MYSYM
	my.lib = lib;
}

/* ------------------------------------------------------------ errors */

/* the PostgreSQL SQLSTATE of a MySQL error number */
static int
my_sqlstate(unsigned int err)
{
	switch (err)
	{
		case 2002:				/* can't connect through socket */
		case 2003:				/* can't connect to server */
		case 2005:				/* unknown host */
			return ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION;
		case 2006:				/* server has gone away */
		case 2013:				/* lost connection during query */
		case 2055:				/* lost connection */
		case 1927:				/* connection was killed */
			return ERRCODE_CONNECTION_FAILURE;
		case 1040:				/* too many connections */
			return ERRCODE_TOO_MANY_CONNECTIONS;
		case 1053:				/* server shutdown in progress */
			return ERRCODE_ADMIN_SHUTDOWN;
		case 1045:				/* access denied (password) */
			return ERRCODE_INVALID_PASSWORD;
		case 1044:				/* access denied to database */
		case 1142:				/* command denied */
		case 1143:
			return ERRCODE_INSUFFICIENT_PRIVILEGE;
		case 1049:				/* unknown database */
			return ERRCODE_UNDEFINED_OBJECT;
		case 1146:				/* table doesn't exist */
			return ERRCODE_UNDEFINED_TABLE;
		case 1054:				/* unknown column */
			return ERRCODE_UNDEFINED_COLUMN;
		case 1064:				/* syntax */
			return ERRCODE_SYNTAX_ERROR;
		case 1062:				/* duplicate entry */
			return ERRCODE_UNIQUE_VIOLATION;
		case 1213:				/* deadlock */
			return ERRCODE_T_R_DEADLOCK_DETECTED;
		case 1205:				/* lock wait timeout */
			return ERRCODE_LOCK_NOT_AVAILABLE;
		case 1969:				/* MariaDB max_statement_time */
		case 3024:				/* MySQL max_execution_time */
			return ERRCODE_QUERY_CANCELED;
		case 1048:				/* column cannot be null */
			return ERRCODE_NOT_NULL_VIOLATION;
		case 1264:				/* out of range */
		case 1406:				/* data too long */
			return ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE;
		case 1292:				/* incorrect value */
		case 1366:
			return ERRCODE_INVALID_TEXT_REPRESENTATION;
		default:
			return err >= 2000 && err < 3000 ? ERRCODE_CONNECTION_FAILURE : ERRCODE_FDW_ERROR;
	}
}

static void
my_raise(RemoteConn *rc, MYSQL *m, const char *doing)
{
	unsigned int err = m ? my.my_errno(m) : 0;
	char	   *msg = MetaetlRedact(pstrdup(m ? my.error(m) : "unknown error"), rc->secret);

	/* "statement timeout" tells the retry policy a timeout from a cancel */
	if (err == 1969 || err == 3024)
		msg = psprintf("remote statement timeout (statement_timeout): %s", msg);
	MetaetlRemoteRaise(rc, my_sqlstate(err), psprintf("%s: %s", doing, msg),
					   err ? psprintf("MySQL error %u.", err) : NULL,
					   err == 1045 ? "Check the user and password of the connection's credential." :
					   err == 2002 || err == 2003 || err == 2005 ?
					   "Check that the server runs and accepts connections at host and port." : NULL);
}

/* ----------------------------------------------------------- connections */

typedef struct MyEntry
{
	RemoteCacheEntry c;			/* key and remote transaction state: first */
	MYSQL	   *conn;
	List	   *after_commit;	/* statements run right after the remote COMMIT */
	RemoteConn *rc;				/* for after_commit DDL, in TopTransactionContext */
} MyEntry;

static void my_cache_close(RemoteCacheEntry *e);
static void my_cache_command(RemoteCacheEntry *e, RemoteConn *rc, const char *sql, const char *doing);
static void my_xact_callback(XactEvent event, void *arg);
static void my_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
								SubTransactionId parentSubid, void *arg);

static RemoteCache my_cache = {
	.label = "metaetl remote mysql connections",
	.entrysize = sizeof(MyEntry),
	.begin_sql = "START TRANSACTION",
	.xact_callback = my_xact_callback,
	.subxact_callback = my_subxact_callback,
	.close = my_cache_close,
	.command = my_cache_command,
};

static void
my_close(MyEntry *e)
{
	if (e->conn)
		my.close(e->conn);
	e->conn = NULL;
	e->c.xact_depth = 0;
	e->c.busy = false;
	e->after_commit = NIL;
}

static void
my_cache_close(RemoteCacheEntry *e)
{
	my_close((MyEntry *) e);
}

static MYSQL *
my_connect(RemoteConn *rc)
{
	MYSQL	   *m;
	unsigned int timeout = (unsigned int) MetaetlRemoteOptInt(rc, "connect_timeout", 10);
	unsigned int rw = 3600;
	char	   *host = MetaetlRemoteOpt(rc, "host");
	char	   *sock = MetaetlRemoteOpt(rc, "socket");
	int			port = MetaetlRemoteOptInt(rc, "port", 3306);

	MetaetlRemoteSecret(rc);
	my_load(rc);
	if (!superuser_arg(rc->role) && rc->password == NULL)
		MetaetlRemoteRaise(rc, ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION, "a password is required",
						   "Roles that are not superusers connect to remote servers with the password of the connection's credential.",
						   "Give the connection a credential holding user and password (etl.add_credential).");
	if (!superuser_arg(rc->role) && sock != NULL)
		MetaetlRemoteRaise(rc, ERRCODE_INSUFFICIENT_PRIVILEGE, "only superusers may connect through a socket",
						   "A socket could reach a server with socket authentication as this server's operating system user.",
						   "Give host and port instead.");
	m = my.init(NULL);
	if (m == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	my.options(m, MY_OPT_CONNECT_TIMEOUT, &timeout);
	my.options(m, MY_OPT_READ_TIMEOUT, &rw);
	my.options(m, MY_OPT_WRITE_TIMEOUT, &rw);
	/* connect blocks (the library has no polling connect), bounded by connect_timeout */
	if (my.real_connect(m, sock ? NULL : (host ? host : "127.0.0.1"), rc->user ? rc->user : "",
						rc->password, MetaetlRemoteOpt(rc, "dbname"), (unsigned int) port, sock, 0) == NULL)
	{
		char	   *msg = MetaetlRedact(pstrdup(my.error(m)), rc->secret);
		unsigned int err = my.my_errno(m);

		my.close(m);
		MetaetlRemoteRaise(rc, my_sqlstate(err), psprintf("could not connect: %s", msg),
						   psprintf("MySQL error %u.", err),
						   err == 1045 ? "Check the user and password of the connection's credential." :
						   "Check that the server runs and accepts connections at host and port.");
	}
	return m;
}

static void
my_query(MyEntry *e, RemoteConn *rc, const char *sql, const char *doing)
{
	CHECK_FOR_INTERRUPTS();
	e->c.busy = true;
	if (my.real_query(e->conn, sql, strlen(sql)) != 0)
		my_raise(rc, e->conn, doing);
	e->c.busy = false;
}

/* run sql and discard any result */
static unsigned long long
my_command(MyEntry *e, RemoteConn *rc, const char *sql, const char *doing)
{
	MYSQL_RES  *res;
	unsigned long long n;

	my_query(e, rc, sql, doing);
	n = my.affected_rows(e->conn);
	res = my.store_result(e->conn);
	if (res)
		my.free_result(res);
	return n;
}

static void
my_cache_command(RemoteCacheEntry *e, RemoteConn *rc, const char *sql, const char *doing)
{
	(void) my_command((MyEntry *) e, rc, sql, doing);
}

static void
my_xact_callback(XactEvent event, void *arg)
{
	HASH_SEQ_STATUS s;
	MyEntry    *e;

	if (my_cache.htab == NULL)
		return;
	hash_seq_init(&s, my_cache.htab);
	while ((e = hash_seq_search(&s)) != NULL)
	{
		if (e->conn == NULL)
			continue;
		if (event == XACT_EVENT_PRE_COMMIT || event == XACT_EVENT_PARALLEL_PRE_COMMIT)
		{
			if (e->c.lost)
			{
				e->c.lost = false;
				my_close(e);
				hash_seq_term(&s);
				ereport(ERROR,
						(errcode(ERRCODE_CONNECTION_FAILURE),
						 errmsg("connection \"%s\": the remote transaction was lost", e->c.key.name)));
			}
			if (e->c.xact_depth > 0)
			{
				ListCell   *lc;

				e->c.xact_depth = 0;
				if (my.real_query(e->conn, "COMMIT", 6) != 0)
				{
					char	   *m = pstrdup(my.error(e->conn));

					my_close(e);
					hash_seq_term(&s);
					ereport(ERROR,
							(errcode(ERRCODE_CONNECTION_FAILURE),
							 errmsg("connection \"%s\": could not commit the remote transaction", e->c.key.name),
							 errdetail("%s", m),
							 errhint("Nothing was committed in this database.")));
				}
				/* replace: the atomic table swap, now that the new rows are committed */
				foreach(lc, e->after_commit)
				{
					char	   *sql = lfirst(lc);

					if (my.real_query(e->conn, sql, strlen(sql)) != 0)
					{
						char	   *m = pstrdup(my.error(e->conn));

						my_close(e);
						hash_seq_term(&s);
						ereport(ERROR,
								(errcode(ERRCODE_CONNECTION_FAILURE),
								 errmsg("connection \"%s\": could not swap in the replaced table", e->c.key.name),
								 errdetail("%s", m),
								 errhint("The remote table kept its old rows; nothing was committed in this database.")));
					}
				}
				e->after_commit = NIL;
			}
		}
		else if (event == XACT_EVENT_PRE_PREPARE && e->c.xact_depth > 0)
		{
			hash_seq_term(&s);
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("cannot PREPARE a transaction that wrote to remote connection \"%s\"", e->c.key.name)));
		}
		else if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
		{
			/* closing rolls the remote transaction back; the staging table of replace goes too */
			if (e->c.xact_depth > 0 || e->c.busy)
				my_close(e);
			e->after_commit = NIL;
			e->c.lost = false;
		}
		if ((event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT) && e->c.close_at_eoxact)
			my_close(e);
	}
}

static void
my_subxact_callback(SubXactEvent event, SubTransactionId mySubid, SubTransactionId parentSubid, void *arg)
{
	HASH_SEQ_STATUS s;
	MyEntry    *e;
	int			level = GetCurrentTransactionNestLevel();

	if (my_cache.htab == NULL || (event != SUBXACT_EVENT_PRE_COMMIT_SUB && event != SUBXACT_EVENT_ABORT_SUB))
		return;
	hash_seq_init(&s, my_cache.htab);
	while ((e = hash_seq_search(&s)) != NULL)
	{
		char		sql[96];

		if (e->conn == NULL || e->c.xact_depth < level)
			continue;
		if (event == SUBXACT_EVENT_PRE_COMMIT_SUB)
			snprintf(sql, sizeof(sql), "RELEASE SAVEPOINT metaetl_s%d", level);
		else
			snprintf(sql, sizeof(sql), "ROLLBACK TO SAVEPOINT metaetl_s%d", level);
		if (e->c.busy || my.real_query(e->conn, sql, strlen(sql)) != 0)
		{
			my_close(e);
			e->c.lost = level > 2;
			continue;
		}
		if (event == SUBXACT_EVENT_ABORT_SUB)
		{
			snprintf(sql, sizeof(sql), "RELEASE SAVEPOINT metaetl_s%d", level);
			(void) my.real_query(e->conn, sql, strlen(sql));
			e->after_commit = NIL;
		}
		e->c.xact_depth = level - 1;
	}
}

static void
my_setup_session(MyEntry *e, RemoteConn *rc)
{
	char	   *st = MetaetlRemoteOpt(rc, "statement_timeout");

	my_command(e, rc, "SET NAMES utf8mb4, time_zone = '+00:00', "
			   "sql_mode = CONCAT(@@sql_mode, ',NO_BACKSLASH_ESCAPES')", "setting up the session");
	if (st)
	{
		/* seconds; MariaDB's max_statement_time, MySQL's max_execution_time (ms) */
		if (strcmp(rc->type, "mariadb") == 0)
			my_command(e, rc, psprintf("SET max_statement_time = %d", atoi(st)), "setting statement_timeout");
		else
			my_command(e, rc, psprintf("SET max_execution_time = %d", atoi(st) * 1000), "setting statement_timeout");
	}
}

static MyEntry *
my_get(RemoteConn *rc, bool write)
{
	MyEntry    *e;

	MetaetlRemoteSecret(rc);
	my_load(rc);
	e = (MyEntry *) MetaetlRemoteCacheGet(&my_cache, rc);
	if (e->conn && e->c.xact_depth == 0 && (e->c.hash != rc->hash || e->c.busy || my.ping(e->conn) != 0))
		my_close(e);
	if (e->conn == NULL)
	{
		e->conn = my_connect(rc);
		e->c.hash = rc->hash;
		PG_TRY();
		{
			my_setup_session(e, rc);
		}
		PG_CATCH();
		{
			my_close(e);
			PG_RE_THROW();
		}
		PG_END_TRY();
	}
	if (write)
		MetaetlRemoteCacheBegin(&my_cache, &e->c, rc);
	return e;
}

/*
 * Close the cached idle connections of connection name (changed or
 * dropped), so the next use connects with the new options.
 */
void
MetaetlMyForget(const char *name)
{
	MetaetlRemoteCacheForget(&my_cache, name);
}

/* a DDL statement on a connection of its own (DDL commits implicitly) */
static void
my_ddl(RemoteConn *rc, const char *sql, const char *doing)
{
	MYSQL	   *m = my_connect(rc);
	MyEntry		tmp;

	memset(&tmp, 0, sizeof(tmp));
	tmp.conn = m;
	PG_TRY();
	{
		my_setup_session(&tmp, rc);
		my_command(&tmp, rc, sql, doing);
	}
	PG_FINALLY();
	{
		my.close(m);
	}
	PG_END_TRY();
}

/* ------------------------------------------------------------- types */

static char *
my_quote_ident(const char *s)
{
	StringInfoData b;

	initStringInfo(&b);
	appendStringInfoChar(&b, '`');
	for (; *s; s++)
	{
		if (*s == '`')
			appendStringInfoChar(&b, '`');
		appendStringInfoChar(&b, *s);
	}
	appendStringInfoChar(&b, '`');
	return b.data;
}

static char *
my_literal(const char *s)
{
	StringInfoData b;

	initStringInfo(&b);
	appendStringInfoChar(&b, '\'');
	for (; *s; s++)
	{
		if (*s == '\'')
			appendStringInfoChar(&b, '\'');
		appendStringInfoChar(&b, *s);
	}
	appendStringInfoChar(&b, '\'');
	return b.data;
}

/*
 * MetaetlMyMapType
 *		The local type of a MySQL column (information_schema DATA_TYPE and
 *		COLUMN_TYPE), or NULL when it has none (spatial types).
 */
char *
MetaetlMyMapType(const char *dt, const char *ct)
{
	bool		uns = ct && strstr(ct, "unsigned") != NULL;

	if (strcmp(dt, "tinyint") == 0)
		return "smallint";
	if (strcmp(dt, "smallint") == 0)
		return uns ? "integer" : "smallint";
	if (strcmp(dt, "mediumint") == 0)
		return "integer";
	if (strcmp(dt, "int") == 0 || strcmp(dt, "integer") == 0)
		return uns ? "bigint" : "integer";
	if (strcmp(dt, "bigint") == 0)
		return uns ? "numeric(20,0)" : "bigint";
	if (strcmp(dt, "decimal") == 0 || strcmp(dt, "numeric") == 0)
	{
		const char *p = ct ? strchr(ct, '(') : NULL;

		return p ? psprintf("numeric%.*s", (int) (strchr(p, ')') - p + 1), p) : "numeric";
	}
	if (strcmp(dt, "float") == 0)
		return "real";
	if (strcmp(dt, "double") == 0 || strcmp(dt, "real") == 0)
		return "double precision";
	if (strcmp(dt, "bit") == 0)
		return ct && strcmp(ct, "bit(1)") == 0 ? "boolean" : "bigint";
	if (strcmp(dt, "date") == 0)
		return "date";
	if (strcmp(dt, "datetime") == 0 || strcmp(dt, "timestamp") == 0)
		return "timestamp";
	if (strcmp(dt, "time") == 0)
		return "interval";
	if (strcmp(dt, "year") == 0)
		return "smallint";
	if (strcmp(dt, "json") == 0)
		return "jsonb";
	if (strcmp(dt, "char") == 0 || strcmp(dt, "varchar") == 0 || strcmp(dt, "tinytext") == 0 ||
		strcmp(dt, "text") == 0 || strcmp(dt, "mediumtext") == 0 || strcmp(dt, "longtext") == 0 ||
		strcmp(dt, "enum") == 0 || strcmp(dt, "set") == 0 || strcmp(dt, "uuid") == 0 ||
		strcmp(dt, "inet4") == 0 || strcmp(dt, "inet6") == 0)
		return "text";
	if (strcmp(dt, "binary") == 0 || strcmp(dt, "varbinary") == 0 || strcmp(dt, "tinyblob") == 0 ||
		strcmp(dt, "blob") == 0 || strcmp(dt, "mediumblob") == 0 || strcmp(dt, "longblob") == 0)
		return "bytea";
	return NULL;				/* geometry, point, polygon, ... */
}

/* the local type of a query's result field */
static char *
my_field_type(MyField *f)
{
	bool		uns = (f->flags & MY_UNSIGNED_FLAG) != 0;
	bool		bin = f->charsetnr == MY_BINARY_CHARSET;

	if (f->flags & (MY_ENUM_FLAG | MY_SET_FLAG))
		return "text";
	switch (f->type)
	{
		case 0:				/* DECIMAL */
		case 246:				/* NEWDECIMAL */
			return "numeric";
		case 1:					/* TINY */
			return "smallint";
		case 2:					/* SHORT */
			return uns ? "integer" : "smallint";
		case 3:					/* LONG */
			return uns ? "bigint" : "integer";
		case 9:					/* INT24 */
			return "integer";
		case 8:					/* LONGLONG */
			return uns ? "numeric(20,0)" : "bigint";
		case 4:
			return "real";
		case 5:
			return "double precision";
		case 6:					/* NULL */
			return "text";
		case 7:					/* TIMESTAMP */
		case 12:				/* DATETIME */
			return "timestamp";
		case 10:				/* DATE */
		case 14:				/* NEWDATE */
			return "date";
		case 11:				/* TIME */
			return "interval";
		case 13:				/* YEAR */
			return "smallint";
		case 16:				/* BIT */
			return f->length == 1 ? "boolean" : "bigint";
		case 245:				/* JSON (MySQL) */
			return "jsonb";
		case 247:
		case 248:
			return "text";
		case 15:				/* VARCHAR */
		case 249:
		case 250:
		case 251:
		case 252:				/* blobs and texts */
		case 253:
		case 254:
			return bin ? "bytea" : "text";
		default:
			return NULL;		/* GEOMETRY */
	}
}

/* ----------------------------------------------------------- metadata */

List *
MetaetlMyColumns(RemoteConn *rc, const char *dbname, const char *table)
{
	MyEntry    *e = my_get(rc, false);
	MYSQL_RES  *res;
	MYSQL_ROW	row;
	List	   *cols = NIL;

	/* JSON columns are LONGTEXT with a json_valid() check in MariaDB */
	my_query(e, rc,
			 psprintf("SELECT c.COLUMN_NAME, c.DATA_TYPE, c.COLUMN_TYPE, c.IS_NULLABLE, "
					  "EXISTS (SELECT 1 FROM information_schema.CHECK_CONSTRAINTS k "
					  "WHERE k.CONSTRAINT_SCHEMA = c.TABLE_SCHEMA AND k.TABLE_NAME = c.TABLE_NAME "
					  "AND k.CHECK_CLAUSE = CONCAT('json_valid(`', c.COLUMN_NAME, '`)')) "
					  "FROM information_schema.COLUMNS c WHERE c.TABLE_SCHEMA = %s AND c.TABLE_NAME = %s "
					  "ORDER BY c.ORDINAL_POSITION", my_literal(dbname), my_literal(table)),
			 "reading the table's columns");
	res = my.store_result(e->conn);
	if (res == NULL)
		my_raise(rc, e->conn, "reading the table's columns");
	while ((row = my.fetch_row(res)) != NULL)
	{
		RemoteColumn *c = palloc0(sizeof(RemoteColumn));

		c->name = pstrdup(row[0]);
		c->remote_type = pstrdup(row[2]);
		c->local_type = row[4] && strcmp(row[4], "1") == 0 && strcmp(row[1], "longtext") == 0 ? "jsonb" :
			MetaetlMyMapType(row[1], row[2]);
		c->nullable = strcmp(row[3], "YES") == 0;
		cols = lappend(cols, c);
	}
	my.free_result(res);
	if (cols == NIL)
		MetaetlRemoteRaise(rc, ERRCODE_UNDEFINED_TABLE,
						   psprintf("remote table %s.%s does not exist", dbname, table), NULL,
						   "Check the table name and the database (dbname of the connection, or schema).");
	return cols;
}

/*
 * The columns a query returns on the remote server (run with LIMIT 0),
 * mapped to local types, so that a query source is described before it is
 * read.
 */
List *
MetaetlMyQueryColumns(RemoteConn *rc, const char *query)
{
	MyEntry    *e = my_get(rc, false);
	MYSQL_RES  *res;
	List	   *cols = NIL;
	unsigned int n;

	my_query(e, rc, psprintf("SELECT * FROM (%s) AS metaetl_q LIMIT 0", query), "describing the query");
	res = my.store_result(e->conn);
	if (res == NULL)
		my_raise(rc, e->conn, "describing the query");
	n = my.num_fields(res);
	for (unsigned int i = 0; i < n; i++)
	{
		MyField    *f = my.fetch_field_direct(res, i);
		RemoteColumn *c = palloc0(sizeof(RemoteColumn));

		c->name = pstrdup(f->name);
		c->local_type = my_field_type(f);
		c->remote_type = psprintf("type %d", f->type);
		if (f->type == 255)
			c->remote_type = "geometry";
		c->nullable = (f->flags & MY_NOT_NULL_FLAG) == 0;
		cols = lappend(cols, c);
	}
	my.free_result(res);
	return cols;
}

/* --------------------------------------------------------- query sources */

/* MySQL's zero dates ('0000-00-00', a month or day of 00) have no PostgreSQL value */
static bool
my_zero_date(const char *v)
{
	return strlen(v) >= 10 && (strncmp(v, "0000", 4) == 0 || strncmp(v + 5, "00", 2) == 0 ||
							   strncmp(v + 8, "00", 2) == 0);
}

/*
 * MetaetlMyQueryInto
 *		Stream the rows of query into the source's staging table (a sink);
 *		returns the staging table's name.
 */
char *
MetaetlMyQueryInto(MetaetlPlan *plan, MetaetlNode *src, RemoteConn *rc, const char *query, List *rcols)
{
	List	   *cols = NIL;
	ListCell   *lc;
	MetaetlSink *sink;
	MyEntry    *e;
	MYSQL_RES  *res;
	MYSQL_ROW	row;
	int			n = list_length(rcols);
	char	  **fields = palloc(sizeof(char *) * n);
	bool	   *isdate = palloc0(sizeof(bool) * n);
	bool	   *isbit = palloc0(sizeof(bool) * n);
	bool	   *isbool = palloc0(sizeof(bool) * n);
	bool	   *isbytea = palloc0(sizeof(bool) * n);
	MemoryContext rowcxt,
				old;
	int64		rows = 0;

	foreach(lc, rcols)
	{
		RemoteColumn *rcl = lfirst(lc);
		MetaetlColumn *c = palloc0(sizeof(MetaetlColumn));
		int			i = foreach_current_index(lc);

		c->name = rcl->name;
		c->type = rcl->local_type;
		cols = lappend(cols, c);
		isdate[i] = strcmp(c->type, "date") == 0 || strcmp(c->type, "timestamp") == 0;
		isbool[i] = strcmp(c->type, "boolean") == 0;
		isbytea[i] = strcmp(c->type, "bytea") == 0;
		isbit[i] = (rcl->remote_type && strncmp(rcl->remote_type, "bit", 3) == 0) ||
			(rcl->remote_type && strcmp(rcl->remote_type, "type 16") == 0);
	}
	sink = MetaetlSinkBegin(plan, src, cols);
	if (plan->describe_only)
	{
		MetaetlSinkEnd(sink);
		return src->temp;
	}
	e = my_get(rc, false);
	my_query(e, rc, query, "running the query");
	res = my.use_result(e->conn);
	if (res == NULL)
		my_raise(rc, e->conn, "reading rows");
	e->c.busy = true;
	rowcxt = AllocSetContextCreate(CurrentMemoryContext, "metaetl mysql rows", ALLOCSET_DEFAULT_SIZES);
	PG_TRY();
	{
		while ((row = my.fetch_row(res)) != NULL)
		{
			unsigned long *len = my.fetch_lengths(res);

			old = MemoryContextSwitchTo(rowcxt);
			for (int i = 0; i < n; i++)
			{
				fields[i] = row[i];
				if (row[i] == NULL)
					continue;
				if (isdate[i] && my_zero_date(row[i]))
					fields[i] = NULL;
				else if (isbit[i])
				{
					/* BIT comes as big-endian bytes */
					uint64		v = 0;

					for (unsigned long k = 0; k < len[i]; k++)
						v = (v << 8) | (unsigned char) row[i][k];
					fields[i] = isbool[i] ? (v ? "t" : "f") : psprintf(UINT64_FORMAT, v);
				}
				else if (isbytea[i])
				{
					/* binary data: bytea's hex input */
					StringInfoData b;

					initStringInfo(&b);
					appendStringInfoString(&b, "\\x");
					for (unsigned long k = 0; k < len[i]; k++)
						appendStringInfo(&b, "%02x", (unsigned char) row[i][k]);
					fields[i] = b.data;
				}
			}
			MetaetlSinkPutText(sink, fields);
			MemoryContextSwitchTo(old);
			MemoryContextReset(rowcxt);
			if ((++rows & 1023) == 0)
				CHECK_FOR_INTERRUPTS();
		}
		if (my.my_errno(e->conn) != 0)
			my_raise(rc, e->conn, "reading rows");
	}
	PG_FINALLY();
	{
		/* an unread result must be drained before the connection is reused */
		my.free_result(res);
	}
	PG_END_TRY();
	e->c.busy = false;
	MetaetlSinkEnd(sink);
	return src->temp;
}

/* ------------------------------------------------------------ targets */

/* one value as a MySQL literal */
static void
my_value(StringInfo b, Datum v, Oid typid, FmgrInfo *out)
{
	switch (typid)
	{
		case BOOLOID:
			appendStringInfoString(b, DatumGetBool(v) ? "1" : "0");
			return;
		case INT2OID:
		case INT4OID:
		case INT8OID:
		case NUMERICOID:
		case FLOAT4OID:
		case FLOAT8OID:
		case OIDOID:
			{
				char	   *s = OutputFunctionCall(out, v);

				if (strcmp(s, "NaN") == 0 || strstr(s, "Infinity"))
					appendStringInfoString(b, "NULL");
				else
					appendStringInfoString(b, s);
				return;
			}
		case BYTEAOID:
			{
				bytea	   *bv = DatumGetByteaPP(v);
				char	   *p = VARDATA_ANY(bv);

				appendStringInfoString(b, "X'");
				for (int i = 0; i < (int) VARSIZE_ANY_EXHDR(bv); i++)
					appendStringInfo(b, "%02x", (unsigned char) p[i]);
				appendStringInfoChar(b, '\'');
				return;
			}
		case TIMESTAMPOID:
		case TIMESTAMPTZOID:
		case DATEOID:
			{
				struct pg_tm tm;
				fsec_t		fsec = 0;

				if (typid == DATEOID)
				{
					DateADT		d = DatumGetDateADT(v);

					if (DATE_NOT_FINITE(d))
					{
						appendStringInfoString(b, "NULL");
						return;
					}
					j2date(d + POSTGRES_EPOCH_JDATE, &tm.tm_year, &tm.tm_mon, &tm.tm_mday);
					appendStringInfo(b, "'%04d-%02d-%02d'", tm.tm_year, tm.tm_mon, tm.tm_mday);
					return;
				}
				/* timestamptz in UTC, the session's time_zone */
				if (TIMESTAMP_NOT_FINITE(DatumGetTimestamp(v)) ||
					timestamp2tm(DatumGetTimestamp(v), NULL, &tm, &fsec, NULL, NULL) != 0)
				{
					appendStringInfoString(b, "NULL");
					return;
				}
				appendStringInfo(b, "'%04d-%02d-%02d %02d:%02d:%02d.%06d'", tm.tm_year, tm.tm_mon, tm.tm_mday,
								 tm.tm_hour, tm.tm_min, tm.tm_sec, fsec);
				return;
			}
		default:
			appendStringInfoString(b, my_literal(OutputFunctionCall(out, v)));
	}
}

static void
my_load_error(MetaetlTarget *tgt, RemoteConn *rc, int code, const char *msg, const char *hint)
{
	ereport(ERROR,
			(errcode(code),
			 errmsg("target \"%s\": connection \"%s\": %s", tgt->id, rc->name, msg),
			 errdetail("Config path: targets, id \"%s\", mode %s.", tgt->id, tgt->mode),
			 hint ? errhint("%s", hint) : 0));
}

/* the MySQL type for a local column type, for tables metaetl creates */
static const char *
my_create_type(Oid typid)
{
	switch (typid)
	{
		case BOOLOID:
			return "BOOLEAN";
		case INT2OID:
			return "SMALLINT";
		case INT4OID:
			return "INT";
		case INT8OID:
			return "BIGINT";
		case NUMERICOID:
			return "DECIMAL(38,10)";
		case FLOAT4OID:
			return "FLOAT";
		case FLOAT8OID:
			return "DOUBLE";
		case DATEOID:
			return "DATE";
		case TIMESTAMPOID:
		case TIMESTAMPTZOID:
			return "DATETIME(6)";
		case BYTEAOID:
			return "LONGBLOB";
		case JSONOID:
		case JSONBOID:
			return "JSON";
		default:
			return "LONGTEXT";
	}
}

/* whether column name is one of keys (a list of C strings) */
static bool
my_is_key(List *keys, const char *name)
{
	ListCell   *lc;

	foreach(lc, keys)
		if (strcmp(lfirst(lc), name) == 0)
			return true;
	return false;
}

/* CREATE TABLE q for the result's columns (keys become the primary key) */
static char *
my_create_ddl(const char *q, List *cols, List *keys)
{
	StringInfoData ddl;
	ListCell   *lc;

	initStringInfo(&ddl);
	appendStringInfo(&ddl, "CREATE TABLE %s (", q);
	foreach(lc, cols)
	{
		MetaetlColumn *c = lfirst(lc);

		appendStringInfo(&ddl, "%s%s %s", foreach_current_index(lc) ? ", " : "", my_quote_ident(c->name),
						 my_is_key(keys, c->name) && my_create_type(c->typid)[0] == 'L' ?
						 "VARCHAR(255)" : my_create_type(c->typid));
	}
	if (keys != NIL)
	{
		appendStringInfoString(&ddl, ", PRIMARY KEY (");
		foreach(lc, keys)
			appendStringInfo(&ddl, "%s%s", foreach_current_index(lc) ? ", " : "", my_quote_ident(lfirst(lc)));
		appendStringInfoChar(&ddl, ')');
	}
	appendStringInfoString(&ddl, ") ENGINE=InnoDB");
	return ddl.data;
}

/*
 * Whether a MySQL column of type remote_type (COLUMN_TYPE) is what
 * my_create_type makes for the result's column rc, as MySQL reports it:
 * BOOLEAN is tinyint(1), JSON is longtext in MariaDB, and integer types
 * may carry a display width (int(11)).
 */
static bool
my_created_as(MetaetlColumn *rc, const char *remote_type)
{
	const char *created = my_create_type(rc->typid);

	if (strcmp(created, "BOOLEAN") == 0)
		return pg_strcasecmp(remote_type, "tinyint(1)") == 0;
	if (strcmp(created, "JSON") == 0 && pg_strcasecmp(remote_type, "longtext") == 0)
		return true;
	if (strchr(created, '(') == NULL)
		return pg_strncasecmp(created, remote_type, strlen(created)) == 0 &&
			(remote_type[strlen(created)] == '\0' || remote_type[strlen(created)] == '(');
	return pg_strcasecmp(created, remote_type) == 0;
}

/*
 * The remote table's columns as load.c compares them: the local equivalent
 * of the MySQL type, except that a column of the very type metaetl creates
 * for the result's column (DECIMAL(38,10) for numeric, DATETIME(6) for
 * timestamptz) takes the result's values as they are.
 */
static List *
my_table_columns(List *rcols, List *cols)
{
	List	   *out = NIL;
	ListCell   *lc,
			   *lc2;

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
		foreach(lc2, cols)
		{
			MetaetlColumn *rc = lfirst(lc2);

			if (pg_strcasecmp(rc->name, r->name) != 0)
				continue;
			c->name = rc->name; /* MySQL compares names without case */
			if (my_created_as(rc, r->remote_type))
			{
				c->typid = rc->typid;
				c->typmod = rc->typmod;
			}
		}
		out = lappend(out, c);
	}
	return out;
}

/* the ALTER TABLE clauses of append_new_columns or sync_all_columns */
static char *
my_staging_alters(const MetaetlSchemaDiff *d, const char *policy, List *keys)
{
	StringInfoData b;
	ListCell   *lc;
	bool		sync = strcmp(policy, "sync_all_columns") == 0;

	initStringInfo(&b);
	foreach(lc, d->add)
	{
		MetaetlColumn *c = lfirst(lc);

		appendStringInfo(&b, "%sADD COLUMN %s %s", b.len ? ", " : "", my_quote_ident(c->name),
						 my_create_type(c->typid));
	}
	foreach(lc, sync ? d->retype : NIL)
	{
		MetaetlColumn *c = lfirst(lc);

		appendStringInfo(&b, "%sMODIFY COLUMN %s %s", b.len ? ", " : "", my_quote_ident(c->name),
						 my_is_key(keys, c->name) && my_create_type(c->typid)[0] == 'L' ?
						 "VARCHAR(255)" : my_create_type(c->typid));
	}
	foreach(lc, sync ? d->drop : NIL)
		appendStringInfo(&b, "%sDROP COLUMN %s", b.len ? ", " : "",
						 my_quote_ident(((MetaetlColumn *) lfirst(lc))->name));
	return b.len ? b.data : NULL;
}

/*
 * MetaetlMyLoad
 *		A MySQL/MariaDB target: multi-row INSERTs of batch_size rows (1000)
 *		in the remote transaction.  append: INSERT.  replace: INSERTs into
 *		a new table LIKE the target, swapped in by RENAME TABLE after the
 *		remote COMMIT.  upsert: INSERT ... ON DUPLICATE KEY UPDATE (the keys
 *		must be a primary or unique key).  delete_insert: DELETE of the
 *		batch's keys, then INSERT.  Returns the rows sent.
 */
int64
MetaetlMyLoad(MetaetlPlan *plan, MetaetlTarget *tgt, RemoteConn *rc, const char *with_prefix,
			  const char *ref, List *cols)
{
	char	   *table = MetaetlJStr(tgt->conf, "table");
	char	   *schema = MetaetlJStr(tgt->conf, "schema");
	List	   *keys = MetaetlJStrList(tgt->conf, "keys", tgt->id);
	bool		create = MetaetlJBool(tgt->conf, "create", true);
	int			batch = 1000;
	const char *mode = tgt->mode;
	char	   *q,
			   *into;
	StringInfoData collist,
				ins,
				del,
				upd;
	ListCell   *lc;
	MyEntry    *e;
	MetaetlRowReader *r;
	TupleDesc	desc;
	FmgrInfo   *out;
	Datum	   *values;
	bool	   *nulls;
	int64		rows = 0;
	int			inbatch = 0;
	int		   *keyidx;
	int			nkeys = list_length(keys);
	bool		exists = true;
	MemoryContext oldcxt = CurrentMemoryContext;
	List	   *rcols = NIL;
	const char *policy;
	MetaetlSchemaDiff diff;
	char	   *staging_ddl = NULL;	/* ALTER ... of the staging table, "%s" for its name */
	bool		fresh_from_result = false;	/* recreate: the staging table from the result */

	if (MetaetlJStr(tgt->conf, "batch_size"))
		batch = Max(1, atoi(MetaetlJStr(tgt->conf, "batch_size")));
	if (table == NULL)
		my_load_error(tgt, rc, ERRCODE_INVALID_PARAMETER_VALUE, "table is required", NULL);
	if (schema == NULL)
	{
		List	   *parts = NIL;

		if (!SplitIdentifierString(pstrdup(table), '.', &parts) || list_length(parts) > 2)
			my_load_error(tgt, rc, ERRCODE_INVALID_NAME, psprintf("invalid table name \"%s\"", table), NULL);
		schema = list_length(parts) == 2 ? linitial(parts) : MetaetlRemoteOpt(rc, "dbname");
		table = llast(parts);
	}
	q = psprintf("%s.%s", my_quote_ident(schema), my_quote_ident(table));
	tgt->table_display = psprintf("%s.%s via connection %s", schema, table, rc->name);
	if (strcmp(mode, "append") != 0 && strcmp(mode, "replace") != 0 && strcmp(mode, "upsert") != 0 &&
		strcmp(mode, "delete_insert") != 0)
		my_load_error(tgt, rc, ERRCODE_FEATURE_NOT_SUPPORTED,
					  psprintf("mode %s is not supported for remote targets", mode),
					  "Remote targets take append, replace, upsert or delete_insert.");
	policy = MetaetlSchemaPolicy(tgt);
	if ((strcmp(mode, "upsert") == 0 || strcmp(mode, "delete_insert") == 0) && keys == NIL)
		my_load_error(tgt, rc, ERRCODE_INVALID_PARAMETER_VALUE, psprintf("mode %s needs keys", mode),
					  "List the key columns as keys: [id].");
	keyidx = palloc(sizeof(int) * Max(nkeys, 1));
	foreach(lc, keys)
	{
		int			found = -1;
		ListCell   *lc2;

		foreach(lc2, cols)
			if (strcmp(((MetaetlColumn *) lfirst(lc2))->name, lfirst(lc)) == 0)
				found = foreach_current_index(lc2);
		if (found < 0)
			my_load_error(tgt, rc, ERRCODE_UNDEFINED_COLUMN,
						  psprintf("key column \"%s\" is not in the input", (char *) lfirst(lc)), NULL);
		keyidx[foreach_current_index(lc)] = found;
	}

	/* the target's columns: missing table → created (unless create: false) */
	PG_TRY();
	{
		rcols = MetaetlMyColumns(rc, schema, table);
	}
	PG_CATCH();
	{
		ErrorData  *ed;

		MemoryContextSwitchTo(oldcxt);
		ed = CopyErrorData();
		if (ed->sqlerrcode != ERRCODE_UNDEFINED_TABLE)
			PG_RE_THROW();
		FlushErrorState();
		exists = false;
	}
	PG_END_TRY();

	/*
	 * An existing table whose columns differ follows on_schema_change as a
	 * table of this database does (connectors/table_load.c).  MySQL's DDL commits
	 * at once, so every change is made to replace's staging table, which
	 * takes the target's name only after the remote COMMIT; a failed load
	 * leaves the target as it was.  (Validation refuses append_new_columns
	 * with the other modes, which have no staging table.)
	 */
	if (exists && MetaetlSchemaCompare(cols, my_table_columns(rcols, cols), false, policy, &diff))
	{
		char	   *dataset = MetaetlLineageTargetDataset(tgt->type, tgt->conf, tgt->id);

		if (strcmp(policy, "fail") == 0 || (strcmp(policy, "append_new_columns") == 0 && diff.retype != NIL))
			MetaetlSchemaMismatch(tgt, tgt->table_display, dataset, policy, &diff);
		if (strcmp(mode, "replace") != 0)
			my_load_error(tgt, rc, ERRCODE_FEATURE_NOT_SUPPORTED,
						  psprintf("on_schema_change %s needs mode replace on a MySQL target", policy),
						  "MySQL commits DDL at once, so metaetl changes only replace's staging table; use mode replace, or add the columns to the table first.");
		if (!plan->describe_only)
			MetaetlLineageNoteSchemaChange(dataset, tgt->id, policy, true, diff.changes_json);
		staging_ddl = strcmp(policy, "recreate") == 0 ? NULL : my_staging_alters(&diff, policy, keys);
		fresh_from_result = strcmp(policy, "recreate") == 0;
	}
	if (!exists && !create)
		my_load_error(tgt, rc, ERRCODE_UNDEFINED_TABLE, psprintf("remote table %s.%s does not exist", schema, table),
					  "Create the table, or drop create: false to have it created from the result's types.");

	initStringInfo(&collist);
	foreach(lc, cols)
		appendStringInfo(&collist, "%s%s", foreach_current_index(lc) ? ", " : "",
						 my_quote_ident(((MetaetlColumn *) lfirst(lc))->name));
	if (plan->describe_only)
	{
		MetaetlScript(plan, psprintf("-- on connection %s: INSERT INTO %s (%s) VALUES ... (batches of %d rows, mode %s, in the remote transaction)",
									 rc->name, q, collist.data, batch, mode));
		return 0;
	}
	if (!exists)
	{
		char	   *ddl = my_create_ddl(q, cols, keys);

		MetaetlScript(plan, psprintf("-- on connection %s (own connection, commits at once): %s", rc->name, ddl));
		my_ddl(rc, ddl, psprintf("creating %s", q));
	}

	into = q;
	if (strcmp(mode, "replace") == 0)
	{
		char	   *fresh = psprintf("%s.%s", my_quote_ident(schema), my_quote_ident(psprintf("%.50s_metaetl_new", table)));
		char	   *old = psprintf("%s.%s", my_quote_ident(schema), my_quote_ident(psprintf("%.50s_metaetl_old", table)));
		MemoryContext xcxt;

		my_ddl(rc, psprintf("DROP TABLE IF EXISTS %s, %s", fresh, old), "dropping an old staging table");
		if (fresh_from_result)
		{
			/* on_schema_change recreate: the result's columns, as for a new table */
			char	   *ddl = my_create_ddl(fresh, cols, keys);

			my_ddl(rc, ddl, "creating the staging table");
			MetaetlScript(plan, psprintf("-- on connection %s (own connection): %s", rc->name, ddl));
		}
		else
		{
			my_ddl(rc, psprintf("CREATE TABLE %s LIKE %s", fresh, q), "creating the staging table");
			MetaetlScript(plan, psprintf("-- on connection %s (own connection): CREATE TABLE %s LIKE %s", rc->name, fresh, q));
		}
		if (staging_ddl)
		{
			/* append_new_columns, sync_all_columns: on the staging table only */
			char	   *alter = psprintf("ALTER TABLE %s %s", fresh, staging_ddl);

			my_ddl(rc, alter, psprintf("applying on_schema_change %s", policy));
			MetaetlScript(plan, psprintf("-- on connection %s (own connection): %s", rc->name, alter));
		}
		into = fresh;
		e = my_get(rc, true);
		xcxt = MemoryContextSwitchTo(TopTransactionContext);
		e->after_commit = lappend(e->after_commit, psprintf("RENAME TABLE %s TO %s, %s TO %s", q, old, fresh, q));
		e->after_commit = lappend(e->after_commit, psprintf("DROP TABLE %s", old));
		MemoryContextSwitchTo(xcxt);
		MetaetlScript(plan, psprintf("-- on connection %s after the remote COMMIT: RENAME TABLE %s TO %s, %s TO %s; DROP TABLE %s",
									 rc->name, q, old, fresh, q, old));
	}
	else
		e = my_get(rc, true);

	initStringInfo(&ins);
	initStringInfo(&del);
	initStringInfo(&upd);
	if (strcmp(mode, "upsert") == 0)
	{
		foreach(lc, cols)
		{
			char	   *c = ((MetaetlColumn *) lfirst(lc))->name;
			ListCell   *lk;
			bool		iskey = false;

			foreach(lk, keys)
				if (strcmp(lfirst(lk), c) == 0)
					iskey = true;
			if (!iskey)
				appendStringInfo(&upd, "%s%s = VALUES(%s)", upd.len ? ", " : "", my_quote_ident(c), my_quote_ident(c));
		}
		if (upd.len == 0)
			appendStringInfo(&upd, "%s = %s", my_quote_ident(linitial(keys)), my_quote_ident(linitial(keys)));
	}
	MetaetlScript(plan, psprintf("-- on connection %s: %sINSERT INTO %s (%s) VALUES ...%s%s (batches of %d rows)",
								 rc->name, strcmp(mode, "delete_insert") == 0 ? "DELETE of the batch's keys, then " : "",
								 into, collist.data, upd.len ? " ON DUPLICATE KEY UPDATE " : "", upd.data, batch));

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
	for (;;)
	{
		bool		more = MetaetlRowReaderNext(r, &values, &nulls);

		if (more)
		{
			StringInfoData rowb;

			initStringInfo(&rowb);
			appendStringInfoString(&ins, inbatch ? ", (" : "(");
			for (int i = 0; i < desc->natts; i++)
			{
				if (i)
					appendStringInfoString(&ins, ", ");
				if (nulls[i])
					appendStringInfoString(&ins, "NULL");
				else
					my_value(&ins, values[i], TupleDescAttr(desc, i)->atttypid, &out[i]);
			}
			appendStringInfoChar(&ins, ')');
			if (strcmp(mode, "delete_insert") == 0)
			{
				appendStringInfoString(&del, inbatch ? ", (" : "(");
				for (int k = 0; k < nkeys; k++)
				{
					if (k)
						appendStringInfoString(&del, ", ");
					if (nulls[keyidx[k]])
						appendStringInfoString(&del, "NULL");
					else
						my_value(&del, values[keyidx[k]], TupleDescAttr(desc, keyidx[k])->atttypid, &out[keyidx[k]]);
				}
				appendStringInfoChar(&del, ')');
			}
			pfree(rowb.data);
			inbatch++;
			rows++;
		}
		if (inbatch > 0 && (!more || inbatch >= batch || ins.len > 4 * 1024 * 1024))
		{
			if (del.len)
			{
				StringInfoData k;

				initStringInfo(&k);
				foreach(lc, keys)
					appendStringInfo(&k, "%s%s", k.len ? ", " : "", my_quote_ident(lfirst(lc)));
				my_command(e, rc, psprintf("DELETE FROM %s WHERE (%s) IN (%s)", into, k.data, del.data),
						   psprintf("deleting the old rows of %s", q));
			}
			my_command(e, rc, psprintf("INSERT INTO %s (%s) VALUES %s%s%s", into, collist.data, ins.data,
									   upd.len ? " ON DUPLICATE KEY UPDATE " : "", upd.data),
					   psprintf("loading %s", q));
			resetStringInfo(&ins);
			resetStringInfo(&del);
			inbatch = 0;
			CHECK_FOR_INTERRUPTS();
		}
		if (!more)
			break;
	}
	MetaetlRowReaderClose(r);
	return rows;
}

/* ---------------------------------------------- test_connection, discover */

Jsonb *
MetaetlMyTest(RemoteConn *rc)
{
	TimestampTz start = GetCurrentTimestamp();
	MyEntry    *e = my_get(rc, false);
	StringInfoData b;

	my_command(e, rc, "SELECT 1", "testing the connection");
	initStringInfo(&b);
	appendStringInfo(&b, "{\"ok\": true, \"latency_ms\": %.3f, \"server_version\": ",
					 (double) (GetCurrentTimestamp() - start) / 1000.0);
	escape_json(&b, my.get_server_info(e->conn));
	appendStringInfoString(&b, ", \"error\": null}");
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(b.data)));
}

/*
 * Every table and column of schema on the remote server, from
 * information_schema, for etl.discover().
 */
List *
MetaetlMyDiscover(RemoteConn *rc, const char *schema)
{
	MyEntry    *e = my_get(rc, false);
	MYSQL_RES  *res;
	MYSQL_ROW	row;
	List	   *out = NIL;

	my_query(e, rc,
			 psprintf("SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE FROM information_schema.COLUMNS "
					  "WHERE TABLE_SCHEMA = %s ORDER BY TABLE_NAME, ORDINAL_POSITION", my_literal(schema)),
			 "discovering the database");
	res = my.store_result(e->conn);
	if (res == NULL)
		my_raise(rc, e->conn, "discovering the database");
	while ((row = my.fetch_row(res)) != NULL)
	{
		RemoteColumn *c = palloc0(sizeof(RemoteColumn));

		c->table = pstrdup(row[0]);
		c->name = pstrdup(row[1]);
		c->remote_type = pstrdup(row[2]);
		c->nullable = strcmp(row[3], "YES") == 0;
		out = lappend(out, c);
	}
	my.free_result(res);
	return out;
}
