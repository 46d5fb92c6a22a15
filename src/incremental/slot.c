/*-------------------------------------------------------------------------
 *
 * src/incremental/slot.c
 *		Log CDC: a source's changes from a logical replication slot (wal2json).
 *
 * Slots are created by etl.create_change_slot() (etl_admin) and registered
 * in etl.change_slots; a source reads only a registered slot, and the first
 * (pipeline, source) that stores a position claims it, so no run can move a
 * slot somebody else consumes.  A run never consumes from the slot: it
 * peeks.  The position it stores is an LSN "upto" taken before the read;
 * the read returns the transactions that committed in (stored position,
 * upto], in commit order, and the position commits with the target loads.
 * The slot itself is advanced to the stored position at the start of the
 * next read — that is, only after the position's transaction committed — so
 * a crash between the load and the advance replays nothing: the next read
 * skips what the stored position covers.  The first read is the table
 * itself as of a snapshot, stored with the position; the read after it
 * takes exactly the decoded transactions that snapshot did not see, so no
 * change is loaded twice nor lost at the seam.  Slots are never dropped or
 * recreated implicitly: a missing slot is an error.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "replication/reorderbuffer.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rls.h"
#include "utils/pg_lsn.h"
#include "utils/tuplestore.h"

#include "metaetl.h"
#include "incremental/incremental.h"
#include "security/security.h"

PG_FUNCTION_INFO_V1(metaetl_read_slot_changes);

/*
 * logical_decoding_work_mem for a read (kB).  A slot decodes the whole
 * cluster's WAL, and a large transaction of any table (a full reload of
 * another one) is spilled to disk beyond logical_decoding_work_mem (default
 * 64MB) and read back, before the output plugin filters it away: a read
 * behind a 1M-row reload took ~9 s that way, ~1.5 s decoded in memory.
 */
int			metaetl_log_cdc_decoding_memory = 256 * 1024;

/*
 * MetaetlSlotInit
 *		The log CDC parameters.
 */
void
MetaetlSlotInit(void)
{
	DefineCustomIntVariable("metaetl.log_cdc_decoding_memory",
							gettext_noop("Memory a log CDC read decodes its slot's changes in before spilling to disk."),
							gettext_noop("The logical_decoding_work_mem of the read, when larger than the session's."),
							&metaetl_log_cdc_decoding_memory,
							256 * 1024,
							64,
							MAX_KILOBYTES,
							PGC_USERSET,
							GUC_UNIT_KB,
							NULL,
							NULL,
							NULL);
}

/* a name for wal2json's add-tables: '.', ',', '*' and spaces escaped */
char *
MetaetlW2jTableName(const char *schema, const char *rel)
{
	StringInfoData b;
	const char *parts[2] = {schema, rel};

	initStringInfo(&b);
	for (int i = 0; i < 2; i++)
	{
		if (i)
			appendStringInfoChar(&b, '.');
		for (const char *p = parts[i]; *p; p++)
		{
			if (*p == '.' || *p == ',' || *p == '*' || *p == ' ' || *p == '\\')
				appendStringInfoChar(&b, '\\');
			appendStringInfoChar(&b, *p);
		}
	}
	return b.data;
}

/*
 * metaetl_read_slot_changes
 *		etl._read_slot_changes(slot, rel, upto): (seq, op, row) of the
 *		changes of rel that committed after the slot's consumer's stored
 *		position and at or before upto, in commit order; row is {column:
 *		value} (for deletes, the key; for a truncate, NULL).  The caller
 *		needs SELECT on rel; the slot is read as metaetl.
 */
Datum
metaetl_read_slot_changes(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *slot;
	Oid			relid;
	XLogRecPtr	upto;
	MetaetlPrivState st;
	char	   *pos = NULL;
	char	   *confirmed;
	char	   *snap;
	Oid			types[5] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	Datum		values[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};
	bool		isnull;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("etl._read_slot_changes needs a slot, a table and an LSN")));
	slot = text_to_cstring(PG_GETARG_TEXT_PP(0));
	relid = PG_GETARG_OID(1);
	upto = PG_GETARG_LSN(2);
	if (pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for table %s", get_rel_name(relid)),
				 errdetail("Reading changes from a slot needs SELECT on the table.")));
	/* change images carry every row: not for a role that row security limits */
	if (check_enable_rls(relid, InvalidOid, true) == RLS_ENABLED)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("table %s has row-level security for this role", get_rel_name(relid)),
				 errdetail("Captured changes hold every row; only roles that bypass its policies may read them.")));
	InitMaterializedSRF(fcinfo, 0);

	/* what the read covers must be on disk: decoding reads flushed WAL only */
	XLogFlush(upto);

	MetaetlOwnerBegin(&st);
	/* in the owner section's GUC nest level: back as it was when it ends */
	if (metaetl_log_cdc_decoding_memory > logical_decoding_work_mem)
		(void) set_config_option("logical_decoding_work_mem",
								 psprintf("%d", metaetl_log_cdc_decoding_memory),
								 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	SPI_connect();
	/* never another installation's slot (the run checked it already) */
	MetaetlSlotCheckOurs("etl._read_slot_changes", slot, NULL, NULL, NULL);
	values[0] = CStringGetTextDatum(slot);
	MetaetlSpiExec("SELECT p.position OPERATOR(pg_catalog.->>) 'lsn',"
				   "       r.confirmed_flush_lsn::pg_catalog.text, r.plugin::pg_catalog.text,"
				   "       p.position OPERATOR(pg_catalog.->>) 'snapshot'"
				   "  FROM etl.change_slots s"
				   "  LEFT JOIN pg_catalog.pg_replication_slots r ON r.slot_name OPERATOR(pg_catalog.=) s.slot_name"
				   "        AND r.database OPERATOR(pg_catalog.=) pg_catalog.current_database()"
				   "  LEFT JOIN etl.incremental_positions p ON p.pipeline_id OPERATOR(pg_catalog.=) s.pipeline_id"
				   "        AND p.source_id OPERATOR(pg_catalog.=) s.source_id"
				   " WHERE s.slot_name OPERATOR(pg_catalog.=) $1::pg_catalog.name",
				   1, types, values, NULL, true, 1);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("replication slot \"%s\" is not a metaetl change slot", slot),
				 errhint("Create it with etl.create_change_slot(%s).", quote_literal_cstr(slot))));
	pos = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	confirmed = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	snap = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4);
	(void) SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull);
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("replication slot \"%s\" does not exist", slot),
				 errdetail("It is registered in etl.change_slots but was dropped outside metaetl."),
				 errhint("metaetl never recreates a slot: changes since it was dropped are lost. "
						 "Drop the registration with etl.drop_change_slot(), create the slot again and reset the consumers.")));

	/*
	 * The stored position committed: the slot may forget what it covers.
	 * Not after a first read: that covered the transactions its snapshot
	 * saw, whatever their commit LSN, and this read takes the others.
	 */
	if (pos && confirmed && snap == NULL &&
		DatumGetLSN(DirectFunctionCall1(pg_lsn_in, CStringGetDatum(pos))) >
		DatumGetLSN(DirectFunctionCall1(pg_lsn_in, CStringGetDatum(confirmed))))
	{
		values[1] = CStringGetTextDatum(pos);
		MetaetlSpiExec("SELECT pg_catalog.pg_replication_slot_advance($1::pg_catalog.name, $2::pg_catalog.pg_lsn)",
					   2, types, values, NULL, false, 1);
	}

	values[1] = CStringGetTextDatum(MetaetlW2jTableName(get_namespace_name(get_rel_namespace(relid)), get_rel_name(relid)));
	values[2] = pos ? CStringGetTextDatum(pos) : (Datum) 0;
	nulls[2] = pos ? ' ' : 'n';
	values[3] = DirectFunctionCall1(pg_lsn_out, LSNGetDatum(upto));
	values[3] = CStringGetTextDatum(DatumGetCString(values[3]));
	values[4] = snap ? CStringGetTextDatum(snap) : (Datum) 0;
	nulls[4] = snap ? ' ' : 'n';
	MetaetlSpiExec("WITH ch AS (SELECT c.lsn, c.xid, c.data::pg_catalog.jsonb AS d,"
				   "                   pg_catalog.row_number() OVER () AS n"
				   "              FROM pg_catalog.pg_logical_slot_peek_changes($1::pg_catalog.name, $4::pg_catalog.pg_lsn, NULL,"
				   "                       'format-version', '2', 'include-transaction', '1', 'add-tables', $2) c),"
				   " tx AS (SELECT ch.xid, ch.lsn AS commit_lsn FROM ch"
				   "         WHERE (ch.d OPERATOR(pg_catalog.->>) 'action') OPERATOR(pg_catalog.=) 'C')"
				   " SELECT ch.n, CASE ch.d OPERATOR(pg_catalog.->>) 'action' WHEN 'I' THEN 'insert' WHEN 'U' THEN 'update'"
				   "                                                 WHEN 'T' THEN 'truncate' ELSE 'delete' END,"
				   "        (SELECT pg_catalog.jsonb_object_agg(col OPERATOR(pg_catalog.->>) 'name', col OPERATOR(pg_catalog.->) 'value')"
				   "           FROM pg_catalog.jsonb_array_elements(ch.d OPERATOR(pg_catalog.->)"
				   "                CASE ch.d OPERATOR(pg_catalog.->>) 'action' WHEN 'D' THEN 'identity' ELSE 'columns' END) col)"
				   "   FROM ch JOIN tx ON tx.xid OPERATOR(pg_catalog.=) ch.xid"
				   "  WHERE (ch.d OPERATOR(pg_catalog.->>) 'action') OPERATOR(pg_catalog.=) ANY (ARRAY['I', 'U', 'D', 'T'])"
				   "    AND (CASE WHEN $5 IS NOT NULL"
				   "              THEN NOT pg_catalog.pg_visible_in_snapshot(etl._xid8(tx.xid), $5::pg_catalog.pg_snapshot)"
				   "              ELSE $3 IS NULL OR tx.commit_lsn OPERATOR(pg_catalog.>) $3::pg_catalog.pg_lsn END)"
				   "    AND tx.commit_lsn OPERATOR(pg_catalog.<=) $4::pg_catalog.pg_lsn"
				   "  ORDER BY ch.n",
				   5, types, values, nulls, false, 0);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		Datum		out[3];
		bool		onull[3];

		for (int j = 0; j < 3; j++)
			out[j] = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, j + 1, &onull[j]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, out, onull);
	}
	SPI_finish();
	MetaetlOwnerEnd(&st);
	return (Datum) 0;
}

/*
 * MetaetlSlotCheckOurs
 *		Refuse a slot whose registration another installation of metaetl
 *		made.  etl.change_slots is extension configuration, so a restored
 *		copy of this database carries the original's registrations while
 *		the slots stay the original's (a remote one is even still there):
 *		reading one would peek and advance a slot another database
 *		consumes.  etl.installation is not dumped, so the copy has an
 *		identity of its own (sql/install/72_incremental.sql).  what
 *		prefixes the message (the source, or the pipeline, source and slot
 *		of a remote read); conn is the slot's connection (NULL: a slot of
 *		this database), for the hint.  Any role (reads as metaetl); SPI
 *		connected (the caller's SPI_tuptable is replaced).
 */
void
MetaetlSlotCheckOurs(const char *what, const char *slot, const char *pipeline_id, const char *source_id,
					 const char *conn)
{
	MetaetlPrivState st;
	Oid			t = TEXTOID;
	Datum		arg = CStringGetTextDatum(slot);
	char	   *theirs = NULL;
	char	   *ours = NULL;
	char	   *by = NULL;
	char	   *at = NULL;

	MetaetlOwnerBegin(&st);
	MetaetlSpiExec("SELECT s.installation, etl._installation_id(), s.created_by::pg_catalog.text,"
				   "       pg_catalog.to_char(s.created_at, 'YYYY-MM-DD HH24:MI:SS TZ')"
				   "  FROM etl.change_slots s WHERE s.slot_name OPERATOR(pg_catalog.=) $1::pg_catalog.name",
				   1, &t, &arg, NULL, true, 1);
	if (SPI_processed == 1)
	{
		theirs = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		ours = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
		by = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3);
		at = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4);
	}
	MetaetlOwnerEnd(&st);
	if (theirs == NULL || (ours && strcmp(theirs, ours) == 0))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("%s: replication slot \"%s\" was registered by another installation of metaetl", what, slot),
			 errdetail("Slot \"%s\" was registered in etl.change_slots by installation %s (%s, %s), not by this one (%s): "
					   "this database is a restored copy of the one the slot belongs to, "
					   "and metaetl never reads or advances another installation's slot.%s",
					   slot, theirs, by ? by : "?", at ? at : "?", ours ? ours : "?",
					   source_id ? psprintf(" Config path: sources, id \"%s\", incremental.slot.", source_id) : ""),
			 errhint("Create a slot of your own with SELECT etl.create_change_slot(%s%s%s); and point the source's slot: at it, "
					 "%sor drop only the registration: SELECT etl.drop_change_slot(%s, registration_only => true);",
					 quote_literal_cstr("new_slot_name"), conn ? ", connection => " : "",
					 conn ? quote_literal_cstr(conn) : "",
					 pipeline_id && source_id ?
					 psprintf("then SELECT etl.reset_incremental(%s, %s); ",
							  quote_literal_cstr(pipeline_id), quote_literal_cstr(source_id)) : "",
					 quote_literal_cstr(slot))));
}

/*
 * MetaetlClaimSlot
 *		The first (pipeline, source) to store a position for a slot owns it;
 *		another one is refused (it would move a slot someone else reads).
 *		As metaetl, SPI connected.
 */
void
MetaetlClaimSlot(const char *slot, const char *pipeline_id, const char *source_id)
{
	Oid			types[3] = {TEXTOID, TEXTOID, TEXTOID};
	Datum		values[3];

	values[0] = CStringGetTextDatum(slot);
	values[1] = CStringGetTextDatum(pipeline_id);
	values[2] = CStringGetTextDatum(source_id);
	MetaetlSpiExec("UPDATE etl.change_slots s SET pipeline_id = $2, source_id = $3"
				   " WHERE s.slot_name OPERATOR(pg_catalog.=) $1::pg_catalog.name AND s.pipeline_id IS NULL",
				   3, types, values, NULL, false, 0);
	MetaetlSpiExec("SELECT s.pipeline_id, s.source_id FROM etl.change_slots s"
				   " WHERE s.slot_name OPERATOR(pg_catalog.=) $1::pg_catalog.name"
				   "   AND (s.pipeline_id OPERATOR(pg_catalog.<>) $2 OR s.source_id OPERATOR(pg_catalog.<>) $3)",
				   3, types, values, NULL, true, 1);
	if (SPI_processed > 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_IN_USE),
				 errmsg("replication slot \"%s\" is already read by pipeline \"%s\", source \"%s\"", slot,
						SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1),
						SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2)),
				 errhint("Each source needs a slot of its own: etl.create_change_slot().")));
}
