/*-------------------------------------------------------------------------
 *
 * src/connectors/remote_cache.c
 *		The backend's cache of open remote connections, shared by the
 *		remote PostgreSQL (pgremote.c) and MySQL/MariaDB (mysql.c) families.
 *
 * A connection is kept per (connection name, role) for the life of the
 * backend, as postgres_fdw's connection.c keeps its own: opening one costs
 * a TCP and TLS handshake and an authentication round trip, which a
 * pipeline that reads and writes the same server in every run should not
 * pay each time.  The cache knows nothing of the client library: a family
 * declares a RemoteCache with its entry size, its transaction callbacks,
 * how to close a connection and how to run a command; its entry struct
 * starts with a RemoteCacheEntry (the hash key and the remote transaction
 * state this file manages).  What differs between the families — the
 * liveness test, opening and setting up a session, committing — stays in
 * the family.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "storage/ipc.h"
#include "utils/hsearch.h"

#include "connectors/remote.h"

/*
 * Close the cached connections of connection name (NULL: all of them); with
 * idle_only, not one inside a remote transaction, which must end first.
 */
static void
remote_cache_close(RemoteCache *cache, const char *name, bool idle_only)
{
	HASH_SEQ_STATUS s;
	RemoteCacheEntry *e;

	if (cache->htab == NULL)
		return;
	hash_seq_init(&s, cache->htab);
	while ((e = hash_seq_search(&s)) != NULL)
		if ((name == NULL || strcmp(e->key.name, name) == 0) && (!idle_only || e->xact_depth == 0))
			cache->close(e);
}

/* at backend exit: close every connection, so the servers see a clean end */
static void
remote_cache_exit(int code, Datum arg)
{
	remote_cache_close((RemoteCache *) DatumGetPointer(arg), NULL, false);
}

/*
 * MetaetlRemoteCacheGet
 *		The cache entry of (rc->name, rc->role), created on first use with
 *		no connection open (every field after the key zero).  Takes the
 *		connection's slot (MetaetlRemoteSlot, max_connections) and notes
 *		whether the connection must close at the end of the transaction.
 *		The caller checks and opens e's connection itself.
 */
RemoteCacheEntry *
MetaetlRemoteCacheGet(RemoteCache *cache, RemoteConn *rc)
{
	RemoteCacheKey key;
	RemoteCacheEntry *e;
	bool		found;

	if (cache->htab == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(RemoteCacheKey);
		ctl.entrysize = cache->entrysize;
		/* connections outlive transactions and runs: a backend-lifetime cache */
		cache->htab = hash_create(cache->label, 8, &ctl, HASH_ELEM | HASH_BLOBS);
		RegisterXactCallback(cache->xact_callback, NULL);
		RegisterSubXactCallback(cache->subxact_callback, NULL);
		on_proc_exit(remote_cache_exit, PointerGetDatum(cache));
	}
	memset(&key, 0, sizeof(key));
	strlcpy(key.name, rc->name, NAMEDATALEN);
	key.role = rc->role;
	e = hash_search(cache->htab, &key, HASH_ENTER, &found);
	if (!found)
		memset((char *) e + sizeof(RemoteCacheKey), 0, cache->entrysize - sizeof(RemoteCacheKey));
	MetaetlRemoteSlot(rc);
	e->close_at_eoxact = MetaetlRemoteOpt(rc, "max_connections") != NULL;
	return e;
}

/*
 * MetaetlRemoteCacheBegin
 *		Bring e's remote transaction to the current (sub)transaction level:
 *		begin_sql, then one SAVEPOINT per level, so that a local ROLLBACK TO
 *		SAVEPOINT can roll the remote writes back to the same point.
 */
void
MetaetlRemoteCacheBegin(RemoteCache *cache, RemoteCacheEntry *e, RemoteConn *rc)
{
	int			level = GetCurrentTransactionNestLevel();

	if (e->xact_depth == 0)
	{
		cache->command(e, rc, cache->begin_sql, "starting the remote transaction");
		e->xact_depth = 1;
	}
	while (e->xact_depth < level)
	{
		cache->command(e, rc, psprintf("SAVEPOINT metaetl_s%d", e->xact_depth + 1), "setting a savepoint");
		e->xact_depth++;
	}
}

/*
 * MetaetlRemoteCacheForget
 *		Close every idle cached connection of connection "name" (it was
 *		changed or dropped): the next use opens one with the new options.
 *		One inside a remote transaction stays until that transaction ends.
 */
void
MetaetlRemoteCacheForget(RemoteCache *cache, const char *name)
{
	remote_cache_close(cache, name, true);
}
