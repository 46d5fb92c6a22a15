/*-------------------------------------------------------------------------
 *
 * src/connectors/remote.h
 *		Internals of the relational connectors: remote PostgreSQL (libpq and
 *		postgres_fdw), MySQL/MariaDB (the MariaDB client library and
 *		mysql_fdw), SQL Server (tds_fdw) and Oracle (oracle_fdw).
 *
 * A remote connection is a row of etl.data_sources / etl.data_targets with
 * a server address (for postgresql: host, port or dbname).  Three paths
 * reach it, chosen per source:
 *  - FDW (fdw.c): a foreign server per connection, a user mapping per role
 *    that uses it, a foreign table per remote table in schema etl_remote,
 *    all created and kept in sync by metaetl as the extension owner.  The
 *    compiled pipeline reads the foreign table, so the FDW pushes filters,
 *    projections, aggregates and joins down to the remote server.
 *  - COPY (pgremote.c): libpq COPY (query) TO STDOUT streamed into the
 *    source's staging table by COPY FROM with a data source callback; used
 *    for query: sources and for large table extracts.
 *  - the MariaDB client (mysql.c): query: sources and remote targets.
 * Remote targets (PostgreSQL and MariaDB) load inside a remote transaction
 * that commits in the local transaction's pre-commit (RemoteXact*).
 *
 *-------------------------------------------------------------------------
 */
#ifndef METAETL_REMOTE_H
#define METAETL_REMOTE_H

#include "postgres.h"

#include "access/xact.h"
#include "nodes/pg_list.h"
#include "storage/ipc.h"
#include "utils/hsearch.h"
#include "utils/jsonb.h"

#include "transform/plan.h"

typedef enum RemoteKind
{
	REMOTE_POSTGRES,
	REMOTE_MYSQL,				/* mysql and mariadb */
	REMOTE_SQLSERVER,
	REMOTE_ORACLE
} RemoteKind;

/* A remote connection resolved for the role that uses it. */
typedef struct RemoteConn
{
	char	   *name;			/* etl.add_connection name */
	char	   *type;			/* its type: postgresql, mysql, ... */
	RemoteKind	kind;
	Jsonb	   *options;
	char	   *credential;		/* name, or NULL */
	Oid			role;			/* the role that uses it (the run's role) */
	char	   *user;			/* from the credential, else options.user */
	char	   *password;		/* from the credential; never printed */
	Jsonb	   *secret;			/* the credential's secret, for MetaetlRedact */
	const char *what;			/* "source \"orders\"", for messages */
	uint32		hash;			/* of options, credential and secret: cache key */
	bool		secret_read;	/* MetaetlRemoteSecret done */
} RemoteConn;

/* One column of a remote table or query, mapped to a local type. */
typedef struct RemoteColumn
{
	char	   *table;			/* etl.discover: the table or view */
	char	   *name;
	char	   *remote_type;	/* as the remote server names it */
	char	   *local_type;		/* NULL: cannot be mapped */
	bool		nullable;
} RemoteColumn;

/*
 * The cache of open remote connections (connectors/remote_cache.c).  A
 * family's entry struct starts with a RemoteCacheEntry; the rest (the
 * client library's handle, family state) is zero when the entry is new.
 */
typedef struct RemoteCacheKey
{
	char		name[NAMEDATALEN];	/* etl.add_connection name */
	Oid			role;			/* the role it was opened for */
} RemoteCacheKey;

typedef struct RemoteCacheEntry
{
	RemoteCacheKey key;			/* hash key: must be first */
	uint32		hash;			/* RemoteConn.hash it was opened with */
	int			xact_depth;		/* 0: no remote transaction; n: BEGIN + savepoints to level n */
	bool		busy;			/* a command was in flight when we last left */
	bool		lost;			/* remote writes of this transaction were lost */
	bool		close_at_eoxact;	/* max_connections: never kept idle */
} RemoteCacheEntry;

typedef struct RemoteCache
{
	const char *label;			/* the hash table's name */
	Size		entrysize;		/* sizeof the family's entry */
	const char *begin_sql;		/* starts the remote transaction */
	XactCallback xact_callback; /* commit/abort the remote transactions */
	SubXactCallback subxact_callback;	/* release/roll back savepoints */
	void		(*close) (RemoteCacheEntry *e);	/* close it; xact_depth 0, not busy */
	void		(*command) (RemoteCacheEntry *e, RemoteConn *rc, const char *sql,
							const char *doing); /* run one statement or raise */
	HTAB	   *htab;			/* NULL until first use */
} RemoteCache;

/* in connectors/remote_cache.c */
extern RemoteCacheEntry *MetaetlRemoteCacheGet(RemoteCache *cache, RemoteConn *rc);
extern void MetaetlRemoteCacheBegin(RemoteCache *cache, RemoteCacheEntry *e, RemoteConn *rc);
extern void MetaetlRemoteCacheForget(RemoteCache *cache, const char *name);

/* in connectors/local.c */
extern char *MetaetlRenderQuery(MetaetlPlan *plan, MetaetlNode *src, const char *query);

/* in connectors/fdw.c */
extern RemoteConn *MetaetlRemoteConn(const char *name, bool is_source, const char *what,
									 bool missing_ok);
extern bool MetaetlConnIsRemote(const char *type, Jsonb *options);
extern void MetaetlRemoteSecret(RemoteConn *rc);
extern char *MetaetlRemoteOpt(RemoteConn *rc, const char *key);
extern int	MetaetlRemoteOptInt(RemoteConn *rc, const char *key, int dflt);
extern char *MetaetlRemoteExtract(MetaetlPlan *plan, MetaetlNode *src, RemoteConn *rc);
extern int64 MetaetlRemoteLoad(MetaetlPlan *plan, MetaetlTarget *tgt, RemoteConn *rc,
							   const char *with_prefix, const char *ref, List *cols);
extern void MetaetlRemoteSlot(RemoteConn *rc);
extern void MetaetlRemoteRaise(RemoteConn *rc, int sqlerrcode, const char *msg,
							   const char *detail, const char *hint) pg_attribute_noreturn();
extern void MetaetlRemoteCheckColumns(RemoteConn *rc, const char *object, List *rcols);
extern void MetaetlRemoteDrop(const char *name);
extern const char *MetaetlRemoteWrapper(RemoteConn *rc);
extern void MetaetlRemoteRequireWrapper(RemoteConn *rc);
extern char *MetaetlRemoteTestObjects(RemoteConn *rc);
extern void MetaetlRemoteContext(void *arg);

/* in connectors/pgremote.c */
extern List *MetaetlPgColumns(RemoteConn *rc, const char *schema, const char *table);
extern List *MetaetlPgQueryColumns(RemoteConn *rc, const char *query);
extern double MetaetlPgEstimate(RemoteConn *rc, const char *schema, const char *table);
extern int64 MetaetlPgCopyInto(RemoteConn *rc, const char *query, const char *staging,
							   List *cols);
extern int64 MetaetlPgLoad(MetaetlPlan *plan, MetaetlTarget *tgt, RemoteConn *rc,
						   const char *with_prefix, const char *ref, List *cols);
extern Jsonb *MetaetlPgTest(RemoteConn *rc);
extern List *MetaetlPgDiscover(RemoteConn *rc, const char *schema);
extern void MetaetlPgForget(const char *name);
extern char *MetaetlPgMapType(const char *remote_type, bool builtin);
extern char **MetaetlPgQueryRow(RemoteConn *rc, const char *sql, int nparams,
								const char *const *params, const char *doing);
extern char *MetaetlPgFlushedLsn(RemoteConn *rc);
extern int64 MetaetlPgCopySnapshot(RemoteConn *rc, const char *snap_sql, char ***snap_row,
								   const char *query, const char *staging, List *cols);

/* in connectors/mysql.c */
extern List *MetaetlMyColumns(RemoteConn *rc, const char *dbname, const char *table);
extern List *MetaetlMyQueryColumns(RemoteConn *rc, const char *query);
extern char *MetaetlMyQueryInto(MetaetlPlan *plan, MetaetlNode *src, RemoteConn *rc,
								const char *query, List *cols);
extern int64 MetaetlMyLoad(MetaetlPlan *plan, MetaetlTarget *tgt, RemoteConn *rc,
						   const char *with_prefix, const char *ref, List *cols);
extern Jsonb *MetaetlMyTest(RemoteConn *rc);
extern List *MetaetlMyDiscover(RemoteConn *rc, const char *schema);
extern void MetaetlMyForget(const char *name);
extern char *MetaetlMyMapType(const char *data_type, const char *column_type);

#endif							/* METAETL_REMOTE_H */
