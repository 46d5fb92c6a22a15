/*-------------------------------------------------------------------------
 *
 * src/security/access.c
 *		etl.access_log: credential use, secret-store fetches and denied
 *		actions, recorded even when the transaction that asked fails.
 *
 * A denial ends in an error, and an error rolls back whatever the failing
 * transaction inserted — so a denied action cannot be logged by an INSERT
 * in the same transaction.  Entries therefore go into a small ring in
 * shared memory and the alert delivery worker (which runs whenever metaetl
 * is preloaded) writes them to etl.access_log in its own transaction, at
 * most a second later.  Without preload there is no worker: entries are
 * inserted directly, and denials are also written to the server log (LOG),
 * which survives.  A full ring (more than ACCESS_RING entries within a
 * second) drops the oldest entries and says so in the log.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "commands/dbcommands.h"
#include "miscadmin.h"
#include "storage/spin.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "metaetl.h"
#include "security/security.h"

#define ACCESS_RING 256
#define ACCESS_TEXT 128

typedef struct AccessEntry
{
	TimestampTz at;
	Oid			database;
	Oid			role_id;
	char		role[NAMEDATALEN];
	char		action[32];
	char		object_type[32];
	char		object_id[ACCESS_TEXT];
	bool		granted;
	char		reason[ACCESS_TEXT];
} AccessEntry;

typedef struct AccessRing
{
	slock_t		mutex;
	uint64		head;			/* next entry to write */
	uint64		tail;			/* next entry to drain */
	uint64		dropped;
	AccessEntry entries[ACCESS_RING];
} AccessRing;

static AccessRing *access_ring = NULL;

static Size
access_shmem_size(void)
{
	return sizeof(AccessRing);
}

static void
access_shmem_init(void *ptr)
{
	SpinLockInit(&((AccessRing *) ptr)->mutex);
}

/* called from _PG_init while preloading */
void
MetaetlAccessLogInit(void)
{
	if (process_shared_preload_libraries_in_progress)
		MetaetlShmemRegister("metaetl access log", access_shmem_size, access_shmem_init,
							 (void **) &access_ring);
}

/* insert one entry now, in the current transaction (SPI must be usable) */
static void
access_insert(const AccessEntry *e)
{
	Oid			types[8] = {TIMESTAMPTZOID, NAMEOID, TEXTOID, TEXTOID, TEXTOID, BOOLOID, TEXTOID, INT8OID};
	Datum		values[8];
	MetaetlPrivState st;

	values[0] = TimestampTzGetDatum(e->at);
	values[1] = DirectFunctionCall1(namein, CStringGetDatum(e->role));
	values[2] = CStringGetTextDatum(e->action);
	values[3] = CStringGetTextDatum(e->object_type);
	values[4] = CStringGetTextDatum(e->object_id);
	values[5] = BoolGetDatum(e->granted);
	values[6] = CStringGetTextDatum(e->reason);
	values[7] = Int64GetDatum((int64) e->role_id);
	MetaetlOwnerBegin(&st);
	SPI_connect();
	MetaetlSpiExec("INSERT INTO etl.access_log (occurred_at, db_role, action, object_type, object_id, granted, reason, user_id)"
				   " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)", 8, types, values, NULL, false, 0);
	SPI_finish();
	MetaetlOwnerEnd(&st);
}

/*
 * MetaetlAccessLog
 *		Record that the current user asked for action on an object, and
 *		whether it was granted.  Never raises for the log's sake when the
 *		ring is used.  reason must hold no secret.
 */
void
MetaetlAccessLog(const char *action, const char *object_type, const char *object_id,
				 bool granted, const char *reason)
{
	AccessEntry e;

	memset(&e, 0, sizeof(e));
	e.at = GetCurrentTimestamp();
	e.database = MyDatabaseId;
	e.role_id = GetUserId();
	strlcpy(e.role, GetUserNameFromId(GetUserId(), false), sizeof(e.role));
	strlcpy(e.action, action, sizeof(e.action));
	strlcpy(e.object_type, object_type ? object_type : "", sizeof(e.object_type));
	strlcpy(e.object_id, object_id ? object_id : "", sizeof(e.object_id));
	e.granted = granted;
	strlcpy(e.reason, reason ? reason : "", sizeof(e.reason));

	/* the delivery worker drains the ring for its database only */
	if (access_ring == NULL || metaetl_database == NULL ||
		strcmp(get_database_name(MyDatabaseId), metaetl_database) != 0)
	{
		if (!granted)
			ereport(LOG,
					(errmsg("metaetl access denied: role %s, %s %s \"%s\"%s%s", e.role, e.action,
							e.object_type, e.object_id, e.reason[0] ? ": " : "", e.reason),
					 errhidestmt(true)));
		access_insert(&e);
		return;
	}
	SpinLockAcquire(&access_ring->mutex);
	if (access_ring->head - access_ring->tail == ACCESS_RING)
	{
		access_ring->tail++;
		access_ring->dropped++;
	}
	access_ring->entries[access_ring->head % ACCESS_RING] = e;
	access_ring->head++;
	SpinLockRelease(&access_ring->mutex);
}

/*
 * MetaetlAccessLogDrain
 *		Write the queued entries of this database to etl.access_log; the
 *		delivery worker calls it inside its own transaction, SPI connected.
 *		Returns how many it wrote.
 */
int
MetaetlAccessLogDrain(void)
{
	int			n = 0;
	uint64		dropped = 0;

	if (access_ring == NULL)
		return 0;
	for (;;)
	{
		AccessEntry e;
		bool		have = false;

		SpinLockAcquire(&access_ring->mutex);
		dropped += access_ring->dropped;
		access_ring->dropped = 0;
		while (access_ring->tail < access_ring->head)
		{
			e = access_ring->entries[access_ring->tail % ACCESS_RING];
			access_ring->tail++;
			if (e.database == MyDatabaseId)
			{
				have = true;
				break;
			}
		}
		SpinLockRelease(&access_ring->mutex);
		if (!have)
			break;
		access_insert(&e);
		n++;
	}
	if (dropped > 0)
		ereport(LOG,
				(errmsg("metaetl access log: %llu entries were dropped (more than %d within a second)",
						(unsigned long long) dropped, ACCESS_RING)));
	return n;
}
