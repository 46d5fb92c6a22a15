/*-------------------------------------------------------------------------
 *
 * src/incremental/capture.c
 *		Trigger CDC: reading and purging a captured table's change table.
 *
 * etl.enable_change_capture() (sql/install/72_incremental.sql) puts three
 * statement-level triggers on a table; each appends the statement's
 * transition table to etl.changes_<relid> in one INSERT ... SELECT, with the
 * writing transaction's xid8.  Change tables belong to metaetl and are
 * closed to plain roles (nobody can forge or read another's changes), so a
 * run reads its source's changes through etl._read_changes(), which checks
 * that the run's role may read the captured table itself.  A change is read
 * by snapshot window (incremental/watermark.c), never by sequence number: a
 * sequence is assigned in statement order, not commit order, and a
 * transaction committing late with a smaller number would be skipped.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rls.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

#include "metaetl.h"
#include "incremental/incremental.h"
#include "security/security.h"

PG_FUNCTION_INFO_V1(metaetl_read_changes);

/* the change table of a captured table, or NULL; SPI connected */
char *
MetaetlChangeTable(Oid relid)
{
	Datum		arg = ObjectIdGetDatum(relid);
	Oid			t = OIDOID;

	MetaetlSpiExec("SELECT c.change_table FROM etl.change_captures c WHERE c.relid OPERATOR(pg_catalog.=) $1",
				   1, &t, &arg, NULL, true, 1);
	if (SPI_processed == 0)
		return NULL;
	return SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
}

/*
 * metaetl_read_changes
 *		etl._read_changes(rel, prev, cur): (seq, op, row_image, old_image:
 *		an update's row before it, when its key stayed) of the changes
 *		whose transaction is visible in cur and was not in prev (NULL: every
 *		change visible in cur), in commit order per row (seq).  The caller
 *		(the run's role) must have SELECT on rel; the change table is read as
 *		metaetl.
 */
Datum
metaetl_read_changes(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			relid;
	MetaetlPrivState st;
	char	   *ct;
	Oid			types[2] = {TEXTOID, TEXTOID};
	Datum		values[2];
	char		nulls[2] = {' ', ' '};

	if (PG_ARGISNULL(0) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("etl._read_changes needs a table and a snapshot")));
	relid = PG_GETARG_OID(0);
	if (pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for table %s", get_rel_name(relid)),
				 errdetail("Reading captured changes needs SELECT on the captured table.")));
	/* change images carry every row: not for a role that row security limits */
	if (check_enable_rls(relid, InvalidOid, true) == RLS_ENABLED)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("table %s has row-level security for this role", get_rel_name(relid)),
				 errdetail("Captured changes hold every row; only roles that bypass its policies may read them.")));
	InitMaterializedSRF(fcinfo, 0);
	values[0] = PG_ARGISNULL(1) ? (Datum) 0 : DirectFunctionCall1(textin, DirectFunctionCall1(pg_snapshot_out, PG_GETARG_DATUM(1)));
	nulls[0] = PG_ARGISNULL(1) ? 'n' : ' ';
	values[1] = DirectFunctionCall1(textin, DirectFunctionCall1(pg_snapshot_out, PG_GETARG_DATUM(2)));

	MetaetlOwnerBegin(&st);
	SPI_connect();
	ct = MetaetlChangeTable(relid);
	if (ct == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("changes of table %s are not captured", get_rel_name(relid)),
				 errhint("Enable trigger CDC with etl.enable_change_capture().")));
	MetaetlSpiExec(psprintf("SELECT c.seq, c.op, c.row_image, c.old_image FROM etl.%s c"
							" WHERE ($1 IS NULL OR NOT pg_catalog.pg_visible_in_snapshot(c.xid, $1::pg_catalog.pg_snapshot))"
							"   AND pg_catalog.pg_visible_in_snapshot(c.xid, $2::pg_catalog.pg_snapshot)"
							" ORDER BY c.seq", quote_identifier(ct)),
				   2, types, values, nulls, true, 0);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		Datum		out[4];
		bool		isnull[4];

		for (int j = 0; j < 4; j++)
			out[j] = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, j + 1, &isnull[j]);
		/* the tuplestore copies the values into its own memory */
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, out, isnull);
	}
	SPI_finish();
	MetaetlOwnerEnd(&st);
	return (Datum) 0;
}

/*
 * MetaetlPurgeChanges
 *		Delete the changes of a captured table that every trigger_cdc
 *		consumer has loaded: those visible in each consumer's stored
 *		snapshot.  Called as metaetl, in the transaction that stored a
 *		consumer's new position, after its loads (so a rolled-back run
 *		purges nothing, and the lock below is held only until the commit).
 *
 * Usually every change is loaded: one consumer, and no writer committed
 * since the run's snapshot.  Then the table is emptied by TRUNCATE, which
 * costs the same for any number of rows, where a DELETE writes each one
 * (bench: 10,000 changes, 8-14 ms deleted, 2 ms checked and 1 ms
 * truncated) and leaves dead rows the next read scans until a vacuum.  A
 * TRUNCATE needs the table to itself: it is taken only when no writer or
 * reader holds it at this moment (never waited for: a writer keeps
 * writing, this run deletes instead), and then the check below sees every
 * committed change, as nothing else can be writing.  Under REPEATABLE READ
 * or SERIALIZABLE (an inline run in such a transaction) the check would
 * not see changes committed after the transaction began: DELETE then.
 */
void
MetaetlPurgeChanges(Oid relid)
{
	char	   *ct = MetaetlChangeTable(relid);
	Datum		arg;
	Oid			t = TEXTOID;
	Oid			ctoid;
	const char *consumers;

	if (ct == NULL)
		return;
	arg = CStringGetTextDatum(ct);

	/*
	 * The consumers' snapshots are parsed once (MATERIALIZED), not once per
	 * change row and consumer: a run purges every change it loaded.
	 */
	consumers = "WITH p AS MATERIALIZED ("
		" SELECT (p.position OPERATOR(pg_catalog.->>) 'snapshot')::pg_catalog.pg_snapshot AS snap"
		"   FROM etl.incremental_positions p"
		"  WHERE p.mode OPERATOR(pg_catalog.=) 'trigger_cdc'"
		"    AND (p.position OPERATOR(pg_catalog.->>) 'change_table') OPERATOR(pg_catalog.=) $1)";
	ctoid = RangeVarGetRelid(makeRangeVar("etl", ct, -1), NoLock, true);
	if (OidIsValid(ctoid) && !IsolationUsesXactSnapshot() &&
		ConditionalLockRelationOid(ctoid, AccessExclusiveLock))
	{
		bool		isnull;
		bool		pending;

		/* a fresh snapshot (read_only false), taken now that no one writes */
		MetaetlSpiExec(psprintf("%s SELECT EXISTS (SELECT 1 FROM etl.%s c, p"
								" WHERE NOT pg_catalog.pg_visible_in_snapshot(c.xid, p.snap))",
								consumers, quote_identifier(ct)),
					   1, &t, &arg, NULL, false, 1);
		pending = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		if (!pending)
		{
			/* CONTINUE IDENTITY (the default): seq keeps counting up */
			MetaetlSpiExec(psprintf("TRUNCATE etl.%s", quote_identifier(ct)), 0, NULL, NULL, NULL, false, 0);
			return;
		}
		/* a change some consumer still needs: keep the table open to writers */
		UnlockRelationOid(ctoid, AccessExclusiveLock);
	}
	MetaetlSpiExec(psprintf("%s DELETE FROM etl.%s c WHERE NOT EXISTS ("
							" SELECT 1 FROM p WHERE NOT pg_catalog.pg_visible_in_snapshot(c.xid, p.snap))",
							consumers, quote_identifier(ct)),
				   1, &t, &arg, NULL, false, 0);
}
