/*-------------------------------------------------------------------------
 *
 * src/connectors/fdw.c
 *		Remote relational sources and targets: connections resolved for the
 *		run's role, the foreign data wrapper objects metaetl keeps in sync
 *		with them, the choice between the FDW path and the bulk path, and
 *		etl.test_connection / etl.discover / etl.drop_connection.
 *
 * FDW objects.  For a connection "crm" metaetl creates foreign server
 * metaetl_crm (postgres_fdw, mysql_fdw, tds_fdw or oracle_fdw), one user
 * mapping per role that uses it (never PUBLIC) carrying the user and
 * password of the connection's credential, and a foreign table per remote
 * table in schema etl_remote (crm__orders), granted SELECT to the roles that
 * use it.  Plain roles hold no USAGE on the FDWs, so these objects are made
 * by metaetl as the extension's owner — the equivalent of a SECURITY DEFINER
 * function with search_path pinned — and only after the run's role proved
 * it may use the connection (row-level security on etl.data_sources) and
 * its credential (security/credentials.c).  Each use compares the objects
 * with the connection and the remote table and fixes what differs: changed
 * options recreate the server, a changed secret the mapping, changed remote
 * columns the foreign table.
 *
 * Secrets.  postgres_fdw needs the password in the user mapping.  The
 * mapping is created by CreateUserMapping() from parse nodes, never from
 * SQL text, so the password cannot appear in an error context or the log;
 * the server is owned by the extension owner and no plain role has USAGE on
 * it, so pg_user_mappings shows the mapped role NULL options (the password
 * is readable by superusers only, as postgres_fdw stores it).  Servers and
 * foreign tables are members of the extension, so pg_dump leaves them — and
 * the user mappings with them — out; they are recreated on first use after
 * a restore.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/reloptions.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/namespace.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_foreign_server.h"
#include "catalog/pg_type.h"
#include "catalog/pg_user_mapping.h"
#include "commands/defrem.h"
#include "commands/extension.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "foreign/foreign.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/varlena.h"

#include "connectors/connector.h"
#include "connectors/remote.h"
#include "security/security.h"

static void fdw_resolve_secret(RemoteConn *rc);


/* advisory lock classes: object sync per connection, connection slots */
#define FDW_SYNC_LOCK_CLASS		0x6d657472	/* "metr" */
#define FDW_SLOT_LOCK_CLASS		0x6d657300	/* "mes\0" + slot number */

#define FDW_SCHEMA "etl_remote"

/* ----------------------------------------------------------- connections */

bool
MetaetlConnIsRemote(const char *type, Jsonb *options)
{
	if (type == NULL)
		return false;
	if (strcmp(type, "postgresql") == 0)
		return options && (MetaetlJGet(&options->root, "host") || MetaetlJGet(&options->root, "port") ||
						   MetaetlJGet(&options->root, "dbname"));
	return strcmp(type, "mysql") == 0 || strcmp(type, "mariadb") == 0 ||
		strcmp(type, "sqlserver") == 0 || strcmp(type, "oracle") == 0;
}

/* An option of the remote connection as text, or NULL. */
char *
MetaetlRemoteOpt(RemoteConn *rc, const char *key)
{
	return rc->options ? MetaetlJStr(&rc->options->root, key) : NULL;
}

/*
 * An integer option of the remote connection, or dflt when it is not set
 * (the connection's options were validated when it was added).
 */
int
MetaetlRemoteOptInt(RemoteConn *rc, const char *key, int dflt)
{
	char	   *v = MetaetlRemoteOpt(rc, key);

	return v ? atoi(v) : dflt;
}

/*
 * MetaetlRemoteRaise
 *		Every error of a remote connection: the source or target, the
 *		connection, what failed.  Statements are hidden from the log (they
 *		never hold secrets, but remote messages might; they were redacted).
 */
void
MetaetlRemoteRaise(RemoteConn *rc, int sqlerrcode, const char *msg, const char *detail,
				   const char *hint)
{
	ereport(ERROR,
			(errcode(sqlerrcode),
			 errmsg("%s: connection \"%s\": %s", rc->what, rc->name, msg),
			 detail ? errdetail("%s", detail) : 0,
			 hint ? errhint("%s", hint) : 0,
			 errhidestmt(true)));
	pg_unreachable();
}

/*
 * MetaetlRemoteSecret
 *		The user and password of rc's credential, for rc->role, read when a
 *		connection is about to be made (not for lookups that only need the
 *		type), and the hash connection caches compare.  Idempotent.
 */
void
MetaetlRemoteSecret(RemoteConn *rc)
{
	StringInfoData h;

	if (rc->secret_read)
		return;
	rc->secret_read = true;
	if (rc->credential != NULL)
		fdw_resolve_secret(rc);
	initStringInfo(&h);
	appendStringInfo(&h, "%s|%s|%s|%s|%s", rc->type, JsonbToCString(NULL, &rc->options->root, 0),
					 rc->credential ? rc->credential : "", rc->user ? rc->user : "",
					 rc->password ? rc->password : "");
	rc->hash = hash_bytes((unsigned char *) h.data, h.len);
	memset(h.data, 0, h.len);
}

/*
 * The secret of rc's credential for rc->role (the security manager checks
 * that the role may use it and records the use): its user and password.
 */
static void
fdw_resolve_secret(RemoteConn *rc)
{
	char	   *user;

	rc->secret = MetaetlCredentialSecret(rc->credential, rc->role, psprintf("connection %s", rc->name));
	user = MetaetlSecretField(rc->secret, "user");
	if (user == NULL)
		user = MetaetlSecretField(rc->secret, "username");
	if (user)
		rc->user = user;
	rc->password = MetaetlSecretField(rc->secret, "password");
}

/*
 * MetaetlRemoteConn
 *		Connection "name" as the current role sees it (the security
 *		manager's lookup, under row-level security: its own connections and
 *		those of roles it is a member of); its
 *		credential is read later, by MetaetlRemoteSecret.  NULL when it does
 *		not exist and missing_ok, or when it is a postgresql connection to
 *		this database.
 */
RemoteConn *
MetaetlRemoteConn(const char *name, bool is_source, const char *what, bool missing_ok)
{
	MetaetlConnection *c = MetaetlGetConnection(name, is_source, missing_ok, what);
	RemoteConn *rc;

	if (c == NULL)
		return NULL;
	rc = palloc0(sizeof(RemoteConn));
	rc->name = c->name;
	rc->type = c->type;
	rc->options = c->options ? c->options :
		DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum("{}")));
	rc->credential = c->credential;
	rc->role = GetUserId();
	rc->what = what;
	if (!MetaetlConnIsRemote(rc->type, rc->options))
		return NULL;
	if (strcmp(rc->type, "postgresql") == 0)
		rc->kind = REMOTE_POSTGRES;
	else if (strcmp(rc->type, "sqlserver") == 0)
		rc->kind = REMOTE_SQLSERVER;
	else if (strcmp(rc->type, "oracle") == 0)
		rc->kind = REMOTE_ORACLE;
	else
		rc->kind = REMOTE_MYSQL;
	rc->user = MetaetlRemoteOpt(rc, "user");
	return rc;
}

/*
 * MetaetlRemoteSlot
 *		max_connections: at most N backends work on the connection at once.
 *		Each holds one of N transaction-level advisory locks until its
 *		transaction ends (and keeps no idle connection past it); a backend
 *		that finds all N taken waits up to connect_timeout, then fails with
 *		53300, which the retry policy treats as transient.
 */
void
MetaetlRemoteSlot(RemoteConn *rc)
{
	int			max = MetaetlRemoteOptInt(rc, "max_connections", 0);
	int32		key = (int32) hash_bytes((unsigned char *) rc->name, strlen(rc->name));
	int			timeout = MetaetlRemoteOptInt(rc, "connect_timeout", 10);
	TimestampTz deadline = GetCurrentTimestamp() + (TimestampTz) timeout * USECS_PER_SEC;

	if (max <= 0)
		return;
	for (;;)
	{
		for (int i = 0; i < max; i++)
			if (DatumGetBool(DirectFunctionCall2(pg_try_advisory_xact_lock_int4,
												 Int32GetDatum(FDW_SLOT_LOCK_CLASS + i), Int32GetDatum(key))))
				return;
		if (GetCurrentTimestamp() >= deadline)
			MetaetlRemoteRaise(rc, ERRCODE_TOO_MANY_CONNECTIONS,
							   psprintf("all %d connections are in use", max),
							   "max_connections of the connection limits the sessions that work on it at once.",
							   "The run can be retried; or raise max_connections.");
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 100, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

/* ------------------------------------------------- running as the owner */

typedef struct FdwAsOwner
{
	Oid			saved_user;
	int			saved_context;
	int			gucnest;
} FdwAsOwner;

static Oid
fdw_ext_owner(void)
{
	Oid			extoid = get_extension_oid("metaetl", false);
	HeapTuple	tup;
	Oid			owner;
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;

	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_oid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(extoid));
	scan = systable_beginscan(rel, ExtensionOidIndexId, true, NULL, 1, &key);
	tup = systable_getnext(scan);
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "extension metaetl not found");
	owner = ((Form_pg_extension) GETSTRUCT(tup))->extowner;
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return owner;
}

/*
 * Become the extension owner for catalog work: restricted (no SET ROLE, no
 * temporary objects), search_path pinned.  Errors need no undo here: the
 * (sub)transaction abort restores the user id and the GUCs, as it does for
 * SECURITY DEFINER functions.
 */
static void
fdw_owner_begin(FdwAsOwner *s)
{
	GetUserIdAndSecContext(&s->saved_user, &s->saved_context);
	SetUserIdAndSecContext(fdw_ext_owner(),
						   s->saved_context | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
	s->gucnest = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
}

static void
fdw_owner_end(FdwAsOwner *s)
{
	AtEOXact_GUC(true, s->gucnest);
	SetUserIdAndSecContext(s->saved_user, s->saved_context);
}

static void
fdw_exec(const char *sql)
{
	int			rc = SPI_execute(sql, false, 0);

	if (rc < 0)
		elog(ERROR, "SPI_execute failed (%d): %s", rc, sql);
}

/* ------------------------------------------------------------ FDW objects */

/*
 * PostgreSQL refuses to drop an extension's member outside the extension
 * script; metaetl's servers and foreign tables leave the extension first.
 */
static void
fdw_drop_table(const char *qname)
{
	fdw_exec(psprintf("ALTER EXTENSION metaetl DROP FOREIGN TABLE %s", qname));
	fdw_exec(psprintf("DROP FOREIGN TABLE %s", qname));
}

static void
fdw_drop_server(const char *srvname)
{
	ForeignServer *fs = GetForeignServerByName(srvname, true);
	Datum		arg;
	Oid			argtype = OIDOID;
	List	   *tables = NIL;
	ListCell   *lc;

	if (fs == NULL)
		return;
	arg = ObjectIdGetDatum(fs->serverid);
	if (SPI_execute_with_args("SELECT f.ftrelid::pg_catalog.regclass::pg_catalog.text FROM pg_catalog.pg_foreign_table f "
							  "WHERE f.ftserver OPERATOR(pg_catalog.=) $1 AND EXISTS (SELECT FROM pg_catalog.pg_depend d "
							  "WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass "
							  "AND d.objid OPERATOR(pg_catalog.=) f.ftrelid AND d.deptype OPERATOR(pg_catalog.=) 'e')",
							  1, &argtype, &arg, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not list foreign tables");
	for (uint64 i = 0; i < SPI_processed; i++)
		tables = lappend(tables, SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1));
	foreach(lc, tables)
		fdw_exec(psprintf("ALTER EXTENSION metaetl DROP FOREIGN TABLE %s", (char *) lfirst(lc)));
	fdw_exec(psprintf("ALTER EXTENSION metaetl DROP SERVER %s", quote_identifier(srvname)));
	fdw_exec(psprintf("DROP SERVER %s CASCADE", quote_identifier(srvname)));
	CommandCounterIncrement();
}

/* The foreign data wrapper a remote kind uses on the FDW path. */
const char *
MetaetlRemoteWrapper(RemoteConn *rc)
{
	switch (rc->kind)
	{
		case REMOTE_POSTGRES:
			return "postgres_fdw";
		case REMOTE_MYSQL:
			return "mysql_fdw";
		case REMOTE_SQLSERVER:
			return "tds_fdw";
		case REMOTE_ORACLE:
			return "oracle_fdw";
	}
	return NULL;
}

/* the wrapper must be installed in this database (CREATE EXTENSION) */
void
MetaetlRemoteRequireWrapper(RemoteConn *rc)
{
	const char *w = MetaetlRemoteWrapper(rc);

	if (GetForeignDataWrapperByName(w, true) != NULL)
		return;
	if (rc->kind == REMOTE_ORACLE)
		MetaetlRemoteRaise(rc, ERRCODE_FEATURE_NOT_SUPPORTED, "oracle connections need oracle_fdw",
						   "oracle_fdw is not packaged by Debian and is not installed in this database.",
						   "Build and install oracle_fdw with the Oracle Instant Client (docs/databases.md), then CREATE EXTENSION oracle_fdw.");
	MetaetlRemoteRaise(rc, ERRCODE_FEATURE_NOT_SUPPORTED,
					   psprintf("%s connections need the %s extension", rc->type, w),
					   psprintf("Foreign data wrapper %s is not installed in this database.", w),
					   psprintf("CREATE EXTENSION %s; (as a superuser)", w));
}

/* a catalog name: prefix + name, hashed when it would not fit NAMEDATALEN */
static char *
fdw_name(const char *prefix, const char *name)
{
	char	   *full = psprintf("%s%s", prefix, name);

	if (strlen(full) < NAMEDATALEN)
		return full;
	return psprintf("%.*s_%08x", NAMEDATALEN - 10, full, hash_bytes((unsigned char *) full, strlen(full)));
}

/* option list as the FDW stores it (DefElems), to compare with what we want */
static bool
fdw_options_equal(List *have, List *want)
{
	ListCell   *lc;

	if (list_length(have) != list_length(want))
		return false;
	foreach(lc, want)
	{
		DefElem    *w = lfirst(lc);
		ListCell   *lc2;
		bool		found = false;

		foreach(lc2, have)
		{
			DefElem    *h = lfirst(lc2);

			if (strcmp(h->defname, w->defname) == 0 && strcmp(defGetString(h), defGetString(w)) == 0)
				found = true;
		}
		if (!found)
			return false;
	}
	return true;
}

static void
fdw_opt(List **l, const char *key, const char *value)
{
	if (value)
		*l = lappend(*l, makeDefElem(pstrdup(key), (Node *) makeString(pstrdup(value)), -1));
}

static char *
fdw_options_sql(List *opts)
{
	StringInfoData b;
	ListCell   *lc;

	if (opts == NIL)
		return "";
	initStringInfo(&b);
	appendStringInfoString(&b, " OPTIONS (");
	foreach(lc, opts)
	{
		DefElem    *d = lfirst(lc);

		appendStringInfo(&b, "%s%s %s", foreach_current_index(lc) ? ", " : "", quote_identifier(d->defname),
						 quote_literal_cstr(defGetString(d)));
	}
	appendStringInfoChar(&b, ')');
	return b.data;
}

/* the server options for rc (never a secret) */
static List *
fdw_server_options(RemoteConn *rc)
{
	List	   *o = NIL;
	char	   *port = MetaetlRemoteOpt(rc, "port");

	switch (rc->kind)
	{
		case REMOTE_POSTGRES:
			fdw_opt(&o, "host", MetaetlRemoteOpt(rc, "host"));
			fdw_opt(&o, "port", port);
			fdw_opt(&o, "dbname", MetaetlRemoteOpt(rc, "dbname"));
			fdw_opt(&o, "sslmode", MetaetlRemoteOpt(rc, "sslmode"));
			fdw_opt(&o, "application_name", MetaetlRemoteOpt(rc, "application_name") ?
					MetaetlRemoteOpt(rc, "application_name") : "metaetl");
			fdw_opt(&o, "connect_timeout", MetaetlRemoteOpt(rc, "connect_timeout") ?
					MetaetlRemoteOpt(rc, "connect_timeout") : "10");
			/* fewer round trips than postgres_fdw's default of 100 rows */
			fdw_opt(&o, "fetch_size", MetaetlRemoteOpt(rc, "fetch_size") ?
					MetaetlRemoteOpt(rc, "fetch_size") : "10000");
			if (MetaetlRemoteOpt(rc, "max_connections"))
				fdw_opt(&o, "keep_connections", "off");
			break;
		case REMOTE_MYSQL:
			fdw_opt(&o, "host", MetaetlRemoteOpt(rc, "host") ? MetaetlRemoteOpt(rc, "host") : "127.0.0.1");
			fdw_opt(&o, "port", port ? port : "3306");
			fdw_opt(&o, "fetch_size", MetaetlRemoteOpt(rc, "fetch_size") ?
					MetaetlRemoteOpt(rc, "fetch_size") : "10000");
			/* standard string literals in every pushed-down clause */
			fdw_opt(&o, "sql_mode", "ANSI_QUOTES,NO_BACKSLASH_ESCAPES");
			break;
		case REMOTE_SQLSERVER:
			fdw_opt(&o, "servername", MetaetlRemoteOpt(rc, "host"));
			fdw_opt(&o, "port", port ? port : "1433");
			fdw_opt(&o, "database", MetaetlRemoteOpt(rc, "dbname"));
			fdw_opt(&o, "tds_version", MetaetlRemoteOpt(rc, "tds_version") ?
					MetaetlRemoteOpt(rc, "tds_version") : "7.4");
			fdw_opt(&o, "msg_handler", "notice");
			break;
		case REMOTE_ORACLE:
			fdw_opt(&o, "dbserver", psprintf("//%s:%s/%s", MetaetlRemoteOpt(rc, "host"), port ? port : "1521",
											 MetaetlRemoteOpt(rc, "dbname")));
			break;
	}
	return o;
}

/* the user mapping options for rc: its credential's user and password */
static List *
fdw_mapping_options(RemoteConn *rc)
{
	List	   *o = NIL;
	const char *ukey = rc->kind == REMOTE_POSTGRES ? "user" : rc->kind == REMOTE_ORACLE ? "user" : "username";

	fdw_opt(&o, ukey, rc->user);
	fdw_opt(&o, "password", rc->password);
	return o;
}

static void
fdw_lock(RemoteConn *rc)
{
	int32		key = (int32) hash_bytes((unsigned char *) rc->name, strlen(rc->name));

	(void) DirectFunctionCall2(pg_advisory_xact_lock_int4, Int32GetDatum(FDW_SYNC_LOCK_CLASS), Int32GetDatum(key));
}

/*
 * fdw_sync_server
 *		Foreign server metaetl_<name> as the connection says, and the
 *		current role's user mapping with its credential; created or fixed.
 *		Called as the extension owner.  Returns the server's name.
 */
static char *
fdw_sync_server(RemoteConn *rc, Oid role, MetaetlPlan *plan)
{
	char	   *srvname = fdw_name("metaetl_", rc->name);
	ForeignServer *fs = GetForeignServerByName(srvname, true);
	ForeignDataWrapper *fdw = GetForeignDataWrapperByName(MetaetlRemoteWrapper(rc), false);
	List	   *want = fdw_server_options(rc);
	Oid			extoid = get_extension_oid("metaetl", false);
	HeapTuple	umtup;

	MetaetlRemoteSecret(rc);

	if (fs != NULL && getExtensionOfObject(ForeignServerRelationId, fs->serverid) != extoid)
		MetaetlRemoteRaise(rc, ERRCODE_DUPLICATE_OBJECT,
						   psprintf("foreign server %s exists and does not belong to metaetl", srvname),
						   NULL, "Rename or drop that server: metaetl names its servers metaetl_<connection>.");
	if (fs != NULL && (fs->fdwid != fdw->fdwid || !fdw_options_equal(fs->options, want)))
	{
		/* changed connection: its mappings and foreign tables go with the server */
		fdw_drop_server(srvname);
		if (rc->kind == REMOTE_POSTGRES)
			MetaetlPgForget(rc->name);
		else if (rc->kind == REMOTE_MYSQL)
			MetaetlMyForget(rc->name);
		fs = NULL;
	}
	if (fs == NULL)
	{
		char	   *ddl = psprintf("CREATE SERVER %s FOREIGN DATA WRAPPER %s%s", quote_identifier(srvname),
								   quote_identifier(fdw->fdwname), fdw_options_sql(want));

		if (plan)
			MetaetlScript(plan, psprintf("-- as the extension owner: %s", ddl));
		fdw_exec(ddl);
		fdw_exec(psprintf("ALTER EXTENSION metaetl ADD SERVER %s", quote_identifier(srvname)));
		fdw_exec(psprintf("COMMENT ON SERVER %s IS %s", quote_identifier(srvname),
						  quote_literal_cstr(psprintf("metaetl connection %s", rc->name))));
		CommandCounterIncrement();
		fs = GetForeignServerByName(srvname, false);
	}

	/* the role's user mapping: built from parse nodes, never SQL text */
	want = fdw_mapping_options(rc);
	umtup = SearchSysCache2(USERMAPPINGUSERSERVER, ObjectIdGetDatum(role), ObjectIdGetDatum(fs->serverid));
	if (HeapTupleIsValid(umtup))
	{
		bool		isnull;
		Datum		d = SysCacheGetAttr(USERMAPPINGUSERSERVER, umtup, Anum_pg_user_mapping_umoptions, &isnull);
		List	   *have = isnull ? NIL : untransformRelOptions(d);
		bool		same = fdw_options_equal(have, want);

		ReleaseSysCache(umtup);
		if (same)
			return srvname;
		{
			DropUserMappingStmt *drop = makeNode(DropUserMappingStmt);

			drop->user = makeNode(RoleSpec);
			drop->user->roletype = ROLESPEC_CSTRING;
			drop->user->rolename = GetUserNameFromId(role, false);
			drop->user->location = -1;
			drop->servername = srvname;
			drop->missing_ok = true;
			RemoveUserMapping(drop);
			CommandCounterIncrement();
		}
	}
	{
		CreateUserMappingStmt *cr = makeNode(CreateUserMappingStmt);

		cr->user = makeNode(RoleSpec);
		cr->user->roletype = ROLESPEC_CSTRING;
		cr->user->rolename = GetUserNameFromId(role, false);
		cr->user->location = -1;
		cr->servername = srvname;
		cr->options = want;
		CreateUserMapping(cr);
		if (plan)
			MetaetlScript(plan, psprintf("-- as the extension owner: CREATE USER MAPPING FOR %s SERVER %s OPTIONS (%s ..., password ...)",
										 quote_identifier(cr->user->rolename), quote_identifier(srvname),
										 rc->kind == REMOTE_POSTGRES ? "user" : "username"));
		CommandCounterIncrement();
	}
	return srvname;
}

/*
 * fdw_sync_table
 *		Foreign table etl_remote.<conn>__<table> over remote (schema, table)
 *		with columns rcols, created or recreated when its columns or options
 *		differ, and SELECT for role.  Called as the extension owner.
 *		Returns the qualified name.
 */
static char *
fdw_sync_table(RemoteConn *rc, const char *srvname, Oid role, const char *schema, const char *table,
			   List *rcols, const char *default_schema, MetaetlPlan *plan)
{
	char	   *local = fdw_name(psprintf("%s__", rc->name),
								 default_schema && strcmp(schema, default_schema) == 0 ? table :
								 psprintf("%s__%s", schema, table));
	char	   *qname = quote_qualified_identifier(FDW_SCHEMA, local);
	Oid			nsp = get_namespace_oid(FDW_SCHEMA, false);
	Oid			relid = get_relname_relid(local, nsp);
	List	   *want = NIL;
	bool		same = false;
	ListCell   *lc;

	switch (rc->kind)
	{
		case REMOTE_POSTGRES:
			fdw_opt(&want, "schema_name", schema);
			fdw_opt(&want, "table_name", table);
			break;
		case REMOTE_MYSQL:
			fdw_opt(&want, "dbname", schema);
			fdw_opt(&want, "table_name", table);
			break;
		case REMOTE_SQLSERVER:
			fdw_opt(&want, "schema_name", schema);
			fdw_opt(&want, "table_name", table);
			break;
		case REMOTE_ORACLE:
			fdw_opt(&want, "schema", schema);
			fdw_opt(&want, "table", table);
			break;
	}
	if (OidIsValid(relid))
	{
		Relation	rel = table_open(relid, AccessShareLock);
		TupleDesc	td = RelationGetDescr(rel);
		int			natts = 0;

		same = rel->rd_rel->relkind == RELKIND_FOREIGN_TABLE &&
			GetForeignTable(relid)->serverid == GetForeignServerByName(srvname, false)->serverid &&
			fdw_options_equal(GetForeignTable(relid)->options, want);
		for (int i = 0; same && i < td->natts; i++)
		{
			Form_pg_attribute a = TupleDescAttr(td, i);
			RemoteColumn *c;

			if (a->attisdropped)
				continue;
			if (natts >= list_length(rcols))
			{
				same = false;
				break;
			}
			c = list_nth(rcols, natts++);
			if (strcmp(NameStr(a->attname), c->name) != 0 ||
				strcmp(format_type_with_typemod(a->atttypid, a->atttypmod), c->local_type) != 0)
				same = false;
		}
		if (natts != list_length(rcols))
			same = false;
		table_close(rel, AccessShareLock);
		if (!same)
		{
			/* the remote table changed: a new foreign table over it */
			if (plan)
				MetaetlScript(plan, psprintf("-- as the extension owner: DROP FOREIGN TABLE %s (the remote columns changed)", qname));
			fdw_drop_table(qname);
			CommandCounterIncrement();
		}
	}
	if (!same)
	{
		StringInfoData ddl;

		initStringInfo(&ddl);
		appendStringInfo(&ddl, "CREATE FOREIGN TABLE %s (", qname);
		foreach(lc, rcols)
		{
			RemoteColumn *c = lfirst(lc);

			appendStringInfo(&ddl, "%s%s %s", foreach_current_index(lc) ? ", " : "", quote_identifier(c->name),
							 c->local_type);
			if (!c->nullable)
				appendStringInfoString(&ddl, " NOT NULL");
		}
		appendStringInfo(&ddl, ") SERVER %s%s", quote_identifier(srvname), fdw_options_sql(want));
		if (plan)
			MetaetlScript(plan, psprintf("-- as the extension owner: %s", ddl.data));
		fdw_exec(ddl.data);
		fdw_exec(psprintf("ALTER EXTENSION metaetl ADD FOREIGN TABLE %s", qname));
		fdw_exec(psprintf("REVOKE ALL ON %s FROM PUBLIC", qname));
		CommandCounterIncrement();
		relid = get_relname_relid(local, nsp);
	}
	if (pg_class_aclcheck(relid, role, ACL_SELECT) != ACLCHECK_OK)
	{
		fdw_exec(psprintf("GRANT SELECT ON %s TO %s", qname, quote_identifier(GetUserNameFromId(role, false))));
		CommandCounterIncrement();
	}
	return qname;
}

/*
 * fdw_columns
 *		The remote columns of (schema, table), each with its local type;
 *		a column whose type cannot be mapped is an error naming it.
 */
static List *
fdw_columns(RemoteConn *rc, const char *schema, const char *table, JsonbContainer *declared,
			const char *id)
{
	List	   *cols = NIL;

	if (declared)
	{
		char	  **k;
		JsonbValue **v;
		int			n = MetaetlJObjEntries(declared, &k, &v);
		MetaetlNode fake = {0};

		fake.id = (char *) id;
		fake.is_source = true;
		for (int i = 0; i < n; i++)
		{
			RemoteColumn *c = palloc0(sizeof(RemoteColumn));

			c->name = k[i];
			c->remote_type = MetaetlJValueText(v[i]);
			c->local_type = MetaetlTypeName(&fake, c->remote_type);
			c->nullable = true;
			cols = lappend(cols, c);
		}
		return cols;
	}
	switch (rc->kind)
	{
		case REMOTE_POSTGRES:
			cols = MetaetlPgColumns(rc, schema, table);
			break;
		case REMOTE_MYSQL:
			cols = MetaetlMyColumns(rc, schema, table);
			break;
		default:
			MetaetlRemoteRaise(rc, ERRCODE_INVALID_PARAMETER_VALUE,
							   psprintf("%s sources need columns", rc->type),
							   "metaetl cannot read the remote catalog through this wrapper.",
							   "Declare the columns: columns: {name: type} with PostgreSQL types (docs/databases.md has the mapping).");
	}
	MetaetlRemoteCheckColumns(rc, psprintf("%s.%s", schema, table), cols);
	return cols;
}

/*
 * Refuse a remote table or query with a column metaetl cannot map to a
 * local type, naming the column and how to convert it: a silently dropped
 * or mistyped column would change the target.
 */
void
MetaetlRemoteCheckColumns(RemoteConn *rc, const char *object, List *rcols)
{
	ListCell   *lc;

	foreach(lc, rcols)
	{
		RemoteColumn *c = lfirst(lc);

		if (c->local_type == NULL)
			MetaetlRemoteRaise(rc, ERRCODE_DATATYPE_MISMATCH,
							   psprintf("column \"%s\" of %s has type %s, which metaetl cannot map", c->name,
										object, c->remote_type),
							   NULL,
							   "Read it through a query that converts it (for example ST_AsText(col) or CAST(col AS CHAR)), or leave it out.");
	}
}

/* the remote schema of a table source, and the table */
static void
fdw_split_table(RemoteConn *rc, MetaetlNode *src, const char *spec, char **schema, char **table)
{
	List	   *parts = NIL;
	char	   *dflt = MetaetlJStr(src->conf, "schema");

	if (!SplitIdentifierString(pstrdup(spec), '.', &parts) || list_length(parts) < 1 || list_length(parts) > 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_NAME),
				 errmsg("source \"%s\": invalid table name \"%s\"", src->id, spec),
				 errhint("Write table or schema.table; quote names with special characters in double quotes.")));
	if (dflt == NULL)
		dflt = MetaetlRemoteOpt(rc, "schema");
	if (dflt == NULL)
		dflt = rc->kind == REMOTE_MYSQL ? MetaetlRemoteOpt(rc, "dbname") :
			rc->kind == REMOTE_SQLSERVER ? "dbo" : "public";
	*schema = list_length(parts) == 2 ? linitial(parts) : dflt;
	*table = llast(parts);
}

/* steps that postgres_fdw and mysql_fdw execute remotely when they read the source */
static bool
fdw_pushdown_consumer(MetaetlPlan *plan, MetaetlNode *src)
{
	ListCell   *lc;

	foreach(lc, plan->nodes)
	{
		MetaetlNode *n = lfirst(lc);

		if (n->is_source)
			continue;
		/* the right side of a join reads the source too */
		if (strcmp(n->type, "join") == 0 && MetaetlJStr(n->params, "right") &&
			strcmp(MetaetlJStr(n->params, "right"), src->id) == 0)
			return true;
		if (n->input == NULL || strcmp(n->input, src->id) != 0)
			continue;
		if (strcmp(n->type, "filter") == 0 || strcmp(n->type, "select") == 0 ||
			strcmp(n->type, "drop") == 0 || strcmp(n->type, "aggregate") == 0 ||
			strcmp(n->type, "join") == 0 || strcmp(n->type, "limit") == 0)
			return true;
	}
	return false;
}

static void
fdw_source_errcontext(void *arg)
{
	RemoteConn *rc = arg;

	errcontext("extracting %s from connection \"%s\"", rc->what, rc->name);
}

/* a staging table for a bulk extract: src->temp, columns rcols */
static char *
fdw_staging(MetaetlPlan *plan, MetaetlNode *src, List *rcols, List **names)
{
	StringInfoData ddl;
	ListCell   *lc;

	src->temp = MetaetlNewTemp(plan, "src");
	initStringInfo(&ddl);
	appendStringInfo(&ddl, "CREATE TEMP TABLE %s (", src->temp);
	*names = NIL;
	foreach(lc, rcols)
	{
		RemoteColumn *c = lfirst(lc);

		appendStringInfo(&ddl, "%s%s %s", foreach_current_index(lc) ? ", " : "", quote_identifier(c->name),
						 c->local_type);
		*names = lappend(*names, c->name);
	}
	appendStringInfoString(&ddl, ") ON COMMIT DROP");
	MetaetlScript(plan, ddl.data);
	MetaetlExec(ddl.data, SPI_OK_UTILITY);
	CommandCounterIncrement();
	return src->temp;
}

static char *
fdw_remote_collist(RemoteConn *rc, List *rcols)
{
	StringInfoData b;
	ListCell   *lc;

	initStringInfo(&b);
	foreach(lc, rcols)
	{
		RemoteColumn *c = lfirst(lc);

		if (b.len)
			appendStringInfoString(&b, ", ");
		if (rc->kind == REMOTE_MYSQL)
		{
			appendStringInfoChar(&b, '`');
			for (const char *p = c->name; *p; p++)
			{
				if (*p == '`')
					appendStringInfoChar(&b, '`');
				appendStringInfoChar(&b, *p);
			}
			appendStringInfoChar(&b, '`');
		}
		else
			appendStringInfoString(&b, quote_identifier(c->name));
	}
	return b.data;
}

/*
 * fdw_probe
 *		Connect through the wrapper now (a LIMIT 0 scan), so that its own
 *		connection error comes out naming the source and the connection.
 */
static void
fdw_probe(RemoteConn *rc, const char *ft)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		MetaetlExec(psprintf("SELECT FROM %s LIMIT 0", ft), SPI_OK_SELECT);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		ErrorData  *ed;

		MemoryContextSwitchTo(cxt);
		ed = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
		MetaetlRemoteRaise(rc, ed->sqlerrcode, MetaetlRedact(ed->message, rc->secret),
						   ed->detail ? MetaetlRedact(ed->detail, rc->secret) : NULL,
						   psprintf("Check that the server runs and accepts connections at host and port, and the credential (%s).",
									MetaetlRemoteWrapper(rc)));
	}
	PG_END_TRY();
}

/*
 * MetaetlRemoteExtract
 *		The SELECT a remote source contributes to the compiled pipeline.
 *		table + FDW path: the foreign table (steps reading it are pushed down
 *		by the wrapper).  query, or table + bulk path: the rows are copied
 *		into a staging table first.  bulk: auto takes the FDW path when a
 *		filter, select, aggregate, join or limit reads the source (they
 *		shrink what crosses the network), else the bulk path for tables the
 *		remote planner estimates at bulk_threshold_rows (default 100000) or
 *		more.
 */
char *
MetaetlRemoteExtract(MetaetlPlan *plan, MetaetlNode *src, RemoteConn *rc)
{
	char	   *table = MetaetlJStr(src->conf, "table");
	char	   *query = MetaetlJStr(src->conf, "query");
	char	   *bulk = MetaetlJStr(src->conf, "bulk");
	bool		use_copy;
	char	   *result;
	ErrorContextCallback errcb;

	if ((table == NULL) == (query == NULL))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("source \"%s\" needs exactly one of table or query", src->id)));
	if (bulk && strcmp(bulk, "auto") != 0 && strcmp(bulk, "copy") != 0 && strcmp(bulk, "fdw") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("source \"%s\": unknown bulk \"%s\"", src->id, bulk),
				 errhint("Use auto, copy or fdw.")));
	if (query && bulk && strcmp(bulk, "fdw") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("source \"%s\": a query source cannot use bulk: fdw", src->id),
				 errdetail("A foreign table reads a table; a query runs on the remote server as written."),
				 errhint("Read a table with bulk: fdw, or drop bulk.")));
	if (query && (rc->kind == REMOTE_SQLSERVER || rc->kind == REMOTE_ORACLE))
		MetaetlRemoteRaise(rc, ERRCODE_FEATURE_NOT_SUPPORTED, psprintf("%s sources read tables, not queries", rc->type),
						   NULL, "Name a table (or a view on the remote server) with table:.");
	if (rc->kind == REMOTE_ORACLE)
		MetaetlRemoteRequireWrapper(rc);

	errcb.callback = fdw_source_errcontext;
	errcb.arg = rc;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;

	if (query)
	{
		List	   *rcols;
		List	   *names;
		char	   *staging;

		query = MetaetlRenderQuery(plan, src, query);
		{
			size_t		l;

			for (l = strlen(query); l > 0 && (query[l - 1] == ';' || isspace((unsigned char) query[l - 1])); l--)
				query[l - 1] = '\0';
		}
		if (rc->kind == REMOTE_POSTGRES)
			rcols = MetaetlPgQueryColumns(rc, query);
		else
			rcols = MetaetlMyQueryColumns(rc, query);
		MetaetlRemoteCheckColumns(rc, "the query", rcols);
		if (rc->kind == REMOTE_POSTGRES)
		{
			staging = fdw_staging(plan, src, rcols, &names);
			if (!plan->describe_only)
				src->rows = MetaetlPgCopyInto(rc, query, staging, names);
		}
		else
			staging = MetaetlMyQueryInto(plan, src, rc, query, rcols);
		MetaetlScript(plan, psprintf("-- on connection %s, copied into %s: %s", rc->name, staging, query));
		result = psprintf("SELECT * FROM %s", staging);
	}
	else
	{
		char	   *schema,
				   *tname;
		List	   *rcols;

		fdw_split_table(rc, src, table, &schema, &tname);
		rcols = fdw_columns(rc, schema, tname, MetaetlJObj(src->conf, "columns"), src->id);
		if (bulk && strcmp(bulk, "copy") == 0 && rc->kind != REMOTE_POSTGRES && rc->kind != REMOTE_MYSQL)
			MetaetlRemoteRaise(rc, ERRCODE_FEATURE_NOT_SUPPORTED, psprintf("%s sources have no bulk path", rc->type),
							   NULL, "Drop bulk: copy.");
		if (bulk && strcmp(bulk, "copy") == 0)
			use_copy = true;
		else if ((bulk && strcmp(bulk, "fdw") == 0) || (rc->kind != REMOTE_POSTGRES && rc->kind != REMOTE_MYSQL))
			use_copy = false;
		else if (fdw_pushdown_consumer(plan, src))
			use_copy = false;
		else if (rc->kind == REMOTE_POSTGRES)
			use_copy = (src->est_rows = MetaetlPgEstimate(rc, schema, tname)) >=
				MetaetlRemoteOptInt(rc, "bulk_threshold_rows", 100000);
		else
			use_copy = true;	/* MariaDB: the client streams faster than mysql_fdw */

		if (use_copy)
		{
			List	   *names;
			char	   *staging;
			char	   *rq;

			if (rc->kind == REMOTE_POSTGRES)
			{
				rq = psprintf("SELECT %s FROM %s", fdw_remote_collist(rc, rcols), quote_qualified_identifier(schema, tname));
				staging = fdw_staging(plan, src, rcols, &names);
				if (!plan->describe_only)
					src->rows = MetaetlPgCopyInto(rc, rq, staging, names);
			}
			else
			{
				rq = psprintf("SELECT %s FROM %s.%s", fdw_remote_collist(rc, rcols),
							  fdw_remote_collist(rc, list_make1(&(RemoteColumn) {.name = schema})),
							  fdw_remote_collist(rc, list_make1(&(RemoteColumn) {.name = tname})));
				staging = MetaetlMyQueryInto(plan, src, rc, rq, rcols);
			}
			MetaetlScript(plan, psprintf("-- bulk path: on connection %s, copied into %s: %s", rc->name, staging, rq));
			result = psprintf("SELECT * FROM %s", staging);
		}
		else
		{
			FdwAsOwner s;
			char	   *srvname;
			char	   *ft;
			Oid			role = GetUserId();

			MetaetlRemoteRequireWrapper(rc);
			if (rc->kind == REMOTE_MYSQL)
			{
				ListCell   *lc;

				/* mysql_fdw turns BIT values into text no PostgreSQL type takes */
				foreach(lc, rcols)
					if (strncmp(((RemoteColumn *) lfirst(lc))->remote_type, "bit", 3) == 0)
						MetaetlRemoteRaise(rc, ERRCODE_DATATYPE_MISMATCH,
										   psprintf("column \"%s\" of %s.%s has type %s, which mysql_fdw cannot read",
													((RemoteColumn *) lfirst(lc))->name, schema, tname,
													((RemoteColumn *) lfirst(lc))->remote_type),
										   "This source takes the FDW path (bulk: fdw, or a step that can run remotely reads it).",
										   "Read the table with bulk: copy, which maps BIT(1) to boolean and wider BIT to bigint.");
			}
			fdw_lock(rc);
			fdw_owner_begin(&s);
			srvname = fdw_sync_server(rc, role, plan);
			ft = fdw_sync_table(rc, srvname, role, schema, tname, rcols,
								rc->kind == REMOTE_MYSQL ? MetaetlRemoteOpt(rc, "dbname") :
								MetaetlRemoteOpt(rc, "schema") ? MetaetlRemoteOpt(rc, "schema") :
								rc->kind == REMOTE_SQLSERVER ? "dbo" : "public", plan);
			fdw_owner_end(&s);
			MetaetlRemoteSlot(rc);
			/* wrappers metaetl cannot reach otherwise: connect now, under this error context */
			if (rc->kind == REMOTE_SQLSERVER || rc->kind == REMOTE_ORACLE)
				fdw_probe(rc, ft);
			MetaetlScript(plan, psprintf("-- FDW path: source %s reads foreign table %s (connection %s, server %s, remote table %s.%s)",
										 src->id, ft, rc->name, srvname, schema, tname));
			{
				StringInfoData b;
				ListCell   *lc;

				initStringInfo(&b);
				foreach(lc, rcols)
					appendStringInfo(&b, "%s%s", b.len ? ", " : "", quote_identifier(((RemoteColumn *) lfirst(lc))->name));
				result = psprintf("SELECT %s FROM %s", b.data, ft);
			}
		}
	}
	error_context_stack = errcb.previous;
	return result;
}

/* a remote target: PostgreSQL by COPY, MariaDB by batched INSERTs */
int64
MetaetlRemoteLoad(MetaetlPlan *plan, MetaetlTarget *tgt, RemoteConn *rc, const char *with_prefix,
				  const char *ref, List *cols)
{
	if (rc->kind == REMOTE_POSTGRES)
		return MetaetlPgLoad(plan, tgt, rc, with_prefix, ref, cols);
	if (rc->kind == REMOTE_MYSQL)
		return MetaetlMyLoad(plan, tgt, rc, with_prefix, ref, cols);
	MetaetlRemoteRaise(rc, ERRCODE_FEATURE_NOT_SUPPORTED, psprintf("%s connections cannot be targets", rc->type),
					   NULL, "Remote targets are PostgreSQL, MySQL and MariaDB.");
	return 0;
}

/*
 * MetaetlRemoteContext
 *		Error context for statements that read foreign tables (a target's
 *		load): which sources read which connections, from the plan's script.
 */
void
MetaetlRemoteContext(void *arg)
{
	MetaetlPlan *plan = arg;
	const char *p = plan->script ? plan->script->data : NULL;

	while (p && (p = strstr(p, "-- FDW path: source ")) != NULL)
	{
		const char *end = strchr(p, '\n');
		char	   *line = pnstrdup(p + 3, end ? end - p - 3 : strlen(p + 3));

		if (strlen(line) > 0 && line[strlen(line) - 1] == ';')
			line[strlen(line) - 1] = '\0';
		errcontext("%s", line);
		p = end;
	}
}

/*
 * MetaetlRemoteExplain
 *		For etl.compile_pipeline: the Remote SQL lines of EXPLAIN VERBOSE of
 *		a target's input, as comments, when it reads foreign tables.
 */
void
MetaetlRemoteExplain(MetaetlPlan *plan, const char *with_prefix, const char *ref, List *cols)
{
	StringInfoData b;

	if (plan->script == NULL || strstr(plan->script->data, "-- FDW path:") == NULL)
		return;
	MetaetlExec(psprintf("EXPLAIN (VERBOSE, COSTS OFF) %sSELECT %s FROM %s", with_prefix ? with_prefix : "",
						 MetaetlColList(cols, NULL), ref), SPI_OK_UTILITY);
	initStringInfo(&b);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		char	   *line = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		char	   *p = strstr(line, "Remote SQL: ");

		if (p == NULL)
			p = strstr(line, "Remote query: ");
		if (p)
			appendStringInfo(&b, "-- %s\n", p);
	}
	if (b.len)
	{
		b.data[b.len - 1] = '\0';
		MetaetlScript(plan, b.data);
	}
}

/* ------------------------------------------------ for the SQL functions */

/*
 * MetaetlRemoteTestObjects
 *		For etl.test_connection of SQL Server / Oracle: the server, the
 *		role's mapping and a one-row foreign table over the server's version
 *		(made and kept whether or not the server answers).  Its name.
 */
char *
MetaetlRemoteTestObjects(RemoteConn *rc)
{
	FdwAsOwner	s;
	char	   *srvname;
	char	   *local = fdw_name(psprintf("%s__", rc->name), "version");
	char	   *q = quote_qualified_identifier(FDW_SCHEMA, local);
	Oid			role = GetUserId();

	MetaetlRemoteRequireWrapper(rc);
	fdw_lock(rc);
	fdw_owner_begin(&s);
	srvname = fdw_sync_server(rc, role, NULL);
	if (!OidIsValid(get_relname_relid(local, get_namespace_oid(FDW_SCHEMA, false))))
	{
		fdw_exec(psprintf("CREATE FOREIGN TABLE %s (version text) SERVER %s OPTIONS (query %s)", q,
						  quote_identifier(srvname),
						  quote_literal_cstr(rc->kind == REMOTE_SQLSERVER ? "SELECT @@VERSION AS version" :
											 "SELECT banner AS version FROM v$version")));
		fdw_exec(psprintf("ALTER EXTENSION metaetl ADD FOREIGN TABLE %s", q));
		fdw_exec(psprintf("REVOKE ALL ON %s FROM PUBLIC", q));
	}
	fdw_exec(psprintf("GRANT SELECT ON %s TO %s", q, quote_identifier(GetUserNameFromId(role, false))));
	fdw_owner_end(&s);
	CommandCounterIncrement();
	return q;
}

/*
 * MetaetlRemoteDrop
 *		Everything metaetl made for connection "name" — its foreign server
 *		with the user mappings and foreign tables on it, and cached
 *		connections — once no role has a connection of that name any more
 *		(checked as the extension owner, past row-level security).
 */
void
MetaetlRemoteDrop(const char *name)
{
	char	   *srvname = fdw_name("metaetl_", name);
	ForeignServer *fs;
	FdwAsOwner	s;
	Datum		arg = CStringGetTextDatum(name);
	Oid			argtype = TEXTOID;

	fdw_owner_begin(&s);
	if (SPI_execute_with_args("SELECT 1 FROM etl.data_sources WHERE name OPERATOR(pg_catalog.=) $1 "
							  "UNION ALL SELECT 1 FROM etl.data_targets WHERE name OPERATOR(pg_catalog.=) $1",
							  1, &argtype, &arg, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read etl.data_sources");
	if (SPI_processed == 0)
	{
		MetaetlPgForget(name);
		MetaetlMyForget(name);
		fs = GetForeignServerByName(srvname, true);
		if (fs != NULL &&
			getExtensionOfObject(ForeignServerRelationId, fs->serverid) == get_extension_oid("metaetl", false))
			fdw_drop_server(srvname);
	}
	fdw_owner_end(&s);
}
