/*-------------------------------------------------------------------------
 *
 * src/incremental/remote_slot.c
 *		Log CDC from a logical replication slot on a remote PostgreSQL
 *		server, read over the source's connection (libpq, pgremote.c).
 *
 * The same contract as a slot of this database (incremental/slot.c), with
 * the slot, its WAL and its snapshot on the remote server:
 *  - the slot is created on the remote by etl.create_change_slot(slot,
 *    connection) with the connection's credentials (etl_admin) and
 *    registered in etl.change_slots with the connection's name; a run
 *    reads only a registered slot of its own connection and never creates
 *    or recreates one;
 *  - the first read is the remote table in a REPEATABLE READ transaction
 *    whose snapshot (pg_current_snapshot) is stored with the position; the
 *    next read takes the decoded transactions that snapshot did not see;
 *  - later reads peek (never consume) the transactions that committed
 *    after the stored LSN and up to an LSN the remote has flushed, with the
 *    filter evaluated on the remote (only the source's table and the
 *    window cross the network), COPYed into a local table;
 *  - the remote slot is advanced to the stored position only at the start
 *    of the next read, i.e. after the position committed here with the
 *    target loads; a crash in between replays nothing, as the next read
 *    skips what the stored position covers.
 * Slot names are one namespace in etl.change_slots, whichever server
 * holds the slot.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/pg_lsn.h"
#include "utils/resowner.h"
#include "utils/varlena.h"

#include "metaetl.h"
#include "connectors/remote.h"
#include "incremental/incremental.h"
#include "security/security.h"

PG_FUNCTION_INFO_V1(metaetl_remote_change_slot);

/* the remote slot as the remote server sees it */
typedef struct RemoteSlot
{
	char	   *wal_level;
	char	   *plugin;			/* NULL: no such slot in the remote database */
	char	   *confirmed;		/* confirmed_flush_lsn */
	char	   *restart;		/* restart_lsn */
	char	   *server_lsn;		/* pg_current_wal_lsn() */
} RemoteSlot;

static RemoteSlot
rslot_status(RemoteConn *rc, const char *slot)
{
	const char *p[1] = {slot};
	char	  **row;
	RemoteSlot	s;

	row = MetaetlPgQueryRow(rc,
							"SELECT pg_catalog.current_setting('wal_level'), r.plugin::pg_catalog.text,"
							"       r.confirmed_flush_lsn::pg_catalog.text, r.restart_lsn::pg_catalog.text,"
							"       pg_catalog.pg_current_wal_lsn()::pg_catalog.text"
							"  FROM (VALUES (1)) x(one)"
							"  LEFT JOIN pg_catalog.pg_replication_slots r"
							"         ON r.slot_name OPERATOR(pg_catalog.=) $1::pg_catalog.name"
							"        AND r.database OPERATOR(pg_catalog.=) pg_catalog.current_database()",
							1, p, psprintf("reading replication slot \"%s\"", slot));
	s.wal_level = row[0];
	s.plugin = row[1];
	s.confirmed = row[2];
	s.restart = row[3];
	s.server_lsn = row[4];
	return s;
}

static void
rslot_need_logical(RemoteConn *rc, const RemoteSlot *s)
{
	if (strcmp(s->wal_level, "logical") != 0)
		MetaetlRemoteRaise(rc, ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
						   psprintf("log CDC needs wal_level = logical on the remote server (it is %s)", s->wal_level),
						   NULL, "Set wal_level = logical in the remote server's postgresql.conf and restart it.");
}

static XLogRecPtr
rslot_lsn(const char *s)
{
	return DatumGetLSN(DirectFunctionCall1(pg_lsn_in, CStringGetDatum(s)));
}

/*
 * The registration of slot: it must be a metaetl change slot of connection
 * rc->name (a slot of this database, or of another connection, is not this
 * source's to read), registered by this installation (not restored from a
 * dump of another database, whose slot the remote one is).
 */
static void
rslot_check_registered(MetaetlPlan *plan, MetaetlNode *src, RemoteConn *rc, const char *slot)
{
	Datum		arg = CStringGetTextDatum(slot);
	Oid			t = TEXTOID;
	bool		isnull;
	Datum		d;

	if (SPI_execute_with_args("SELECT s.connection FROM etl.change_slots s"
							  " WHERE s.slot_name OPERATOR(pg_catalog.=) $1::pg_catalog.name",
							  1, &t, &arg, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read etl.change_slots");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("%s: replication slot \"%s\" is not a metaetl change slot", rc->what, slot),
				 errdetail("Config path: sources, id \"%s\", incremental.slot.", src->id),
				 errhint("An etl_admin member creates it on the remote server: SELECT etl.create_change_slot(%s, %s);",
						 quote_literal_cstr(slot), quote_literal_cstr(rc->name))));
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull || strcmp(TextDatumGetCString(d), rc->name) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("%s: replication slot \"%s\" is not a slot of connection \"%s\"", rc->what, slot, rc->name),
				 errdetail("It was created %s.", isnull ? "in this database" :
						   psprintf("on connection \"%s\"", TextDatumGetCString(d))),
				 errhint("Each change slot belongs to the server it was created on: create one with etl.create_change_slot(%s, %s).",
						 quote_literal_cstr("new_slot_name"), quote_literal_cstr(rc->name))));
	/* a registration restored from a dump: the remote slot is the original's */
	MetaetlSlotCheckOurs(rc->what, slot, plan->pipeline_id, src->id, rc->name);
}

/*
 * MetaetlIncrementalExtractRemote
 *		The SELECT of a remote postgresql table source with incremental:
 *		log_cdc only (the other modes need this database's snapshots or
 *		triggers).  Builds the remote read, then hands it to the shared
 *		incremental logic (MetaetlIncrementalExtract), which calls
 *		MetaetlRemoteSlotRead for the read itself.
 */
char *
MetaetlIncrementalExtractRemote(MetaetlPlan *plan, MetaetlNode *src, RemoteConn *rc)
{
	JsonbContainer *inc = MetaetlJObj(src->conf, "incremental");
	char	   *mode = inc ? MetaetlJStr(inc, "mode") : NULL;
	char	   *spec = MetaetlJStr(src->conf, "table");
	char	   *dflt;
	List	   *parts = NIL;
	MetaetlRemoteRead *r = palloc0(sizeof(MetaetlRemoteRead));
	StringInfoData ddl;
	ListCell   *lc;

	if (mode == NULL || strcmp(mode, "log_cdc") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("source \"%s\": incremental mode %s is not supported for remote postgresql sources",
						src->id, mode ? mode : "(none)"),
				 errdetail("Config path: sources, id \"%s\", incremental.mode.", src->id),
				 errhint("Remote sources read changes with mode log_cdc from a slot on the remote server; "
						 "or use a {{watermark}} query with watermark_column.")));
	if (rc->kind != REMOTE_POSTGRES)
		elog(ERROR, "log CDC needs a postgresql connection");
	if (spec == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("source \"%s\": incremental mode log_cdc needs a table source", src->id),
				 errhint("Name the table (table: schema.name) instead of a query.")));
	/* every remote error names the pipeline, the source and the slot */
	rc->what = psprintf("pipeline \"%s\", source \"%s\", slot \"%s\"", plan->pipeline_id ? plan->pipeline_id : "",
						src->id, MetaetlJStr(inc, "slot") ? MetaetlJStr(inc, "slot") : "");

	/* table or schema.table; the default schema as the other remote paths take it */
	if (!SplitIdentifierString(pstrdup(spec), '.', &parts) || list_length(parts) < 1 || list_length(parts) > 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_NAME),
				 errmsg("source \"%s\": invalid table name \"%s\"", src->id, spec),
				 errhint("Write table or schema.table; quote names with special characters in double quotes.")));
	dflt = MetaetlJStr(src->conf, "schema");
	if (dflt == NULL)
		dflt = MetaetlRemoteOpt(rc, "schema");
	r->rc = rc;
	r->schema = list_length(parts) == 2 ? linitial(parts) : (dflt ? dflt : "public");
	r->table = llast(parts);
	r->rcols = MetaetlPgColumns(rc, r->schema, r->table);
	MetaetlRemoteCheckColumns(rc, psprintf("%s.%s", r->schema, r->table), r->rcols);

	/* the row type decoded changes become, and what base describes */
	r->shape = MetaetlNewTemp(plan, "cdc_shape");
	initStringInfo(&ddl);
	appendStringInfo(&ddl, "CREATE TEMP TABLE %s (", r->shape);
	foreach(lc, r->rcols)
	{
		RemoteColumn *c = lfirst(lc);

		appendStringInfo(&ddl, "%s%s %s", foreach_current_index(lc) ? ", " : "", quote_identifier(c->name),
						 c->local_type);
	}
	appendStringInfoString(&ddl, ") ON COMMIT DROP");
	MetaetlScript(plan, ddl.data);
	MetaetlExec(ddl.data, SPI_OK_UTILITY);
	CommandCounterIncrement();
	return MetaetlIncrementalExtract(plan, src, psprintf("SELECT * FROM %s", r->shape),
									 quote_qualified_identifier(r->schema, r->table), r);
}

/* the remote table's columns, quoted, for the remote SELECT */
static char *
rslot_collist(List *rcols)
{
	StringInfoData b;
	ListCell   *lc;

	initStringInfo(&b);
	foreach(lc, rcols)
		appendStringInfo(&b, "%s%s", b.len ? ", " : "", quote_identifier(((RemoteColumn *) lfirst(lc))->name));
	return b.data;
}

/*
 * MetaetlRemoteSlotRead
 *		The read of a remote log CDC source (see the file header): rows with
 *		the CDC columns, or with plain the table's own columns only (a full
 *		read for an aggregate).  Sets src->incr_state to "upto[ snapshot]",
 *		which MetaetlIncrementalAdvance stores as the position.
 */
char *
MetaetlRemoteSlotRead(MetaetlPlan *plan, MetaetlNode *src, const MetaetlRemoteRead *remote,
					  const char *slot, JsonbContainer *pos, bool plain)
{
	RemoteConn *rc = remote->rc;
	char	   *qremote = quote_qualified_identifier(remote->schema, remote->table);
	RemoteSlot	s;
	char	   *upto;
	char	   *stored = pos ? MetaetlJStr(pos, "lsn") : NULL;
	char	   *snap = pos ? MetaetlJStr(pos, "snapshot") : NULL;
	char	   *changes;
	char	   *sql;
	List	   *names;

	rslot_check_registered(plan, src, rc, slot);
	/* one reader per slot: no key-range workers peeking side by side */
	plan->xact_had_writes = true;
	if (plan->describe_only)
		return plain ? psprintf("SELECT * FROM %s", remote->shape) :
			psprintf("SELECT metaetl_s.*, NULL::pg_catalog.text AS %s, NULL::pg_catalog.int8 AS %s FROM %s metaetl_s",
					 METAETL_CDC_OP_COLUMN, METAETL_CDC_SEQ_COLUMN, remote->shape);

	s = rslot_status(rc, slot);
	rslot_need_logical(rc, &s);
	if (s.plugin == NULL)
		MetaetlRemoteRaise(rc, ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
						   psprintf("replication slot \"%s\" does not exist on the remote server", slot),
						   "It is registered in etl.change_slots but was dropped outside metaetl.",
						   "metaetl never recreates a slot: changes since it was dropped are lost. "
						   "Drop the registration with etl.drop_change_slot(), create the slot again and reset the consumers.");

	if (pos == NULL)
	{
		/* the table as of a remote snapshot, stored with the position */
		char	  **row;
		char	   *data = MetaetlNewTemp(plan, "cdc_first");
		ListCell   *lc;

		MetaetlExec(psprintf("CREATE TEMP TABLE %s (LIKE %s) ON COMMIT DROP", data, remote->shape), SPI_OK_UTILITY);
		CommandCounterIncrement();
		names = NIL;
		foreach(lc, remote->rcols)
			names = lappend(names, ((RemoteColumn *) lfirst(lc))->name);
		sql = psprintf("SELECT %s FROM %s", rslot_collist(remote->rcols), qremote);
		MetaetlScript(plan, psprintf("-- on connection %s, as of a snapshot stored with the position: %s", rc->name, sql));
		src->rows = MetaetlPgCopySnapshot(rc, "SELECT pg_catalog.pg_current_snapshot()::pg_catalog.text",
										  &row, sql, data, names);
		/* after the snapshot's transaction: every transaction it saw is flushed */
		upto = MetaetlPgFlushedLsn(rc);
		src->incr_state = psprintf("%s %s", upto, row[0]);
		return psprintf("SELECT metaetl_s.*%s FROM %s metaetl_s",
						plain ? "" : psprintf(", 'insert'::pg_catalog.text AS %s, 0::pg_catalog.int8 AS %s",
											  METAETL_CDC_OP_COLUMN, METAETL_CDC_SEQ_COLUMN),
						data);
	}

	/* the decoded changes cover what committed before this read began */
	upto = MetaetlPgFlushedLsn(rc);
	src->incr_state = upto;

	/*
	 * Only this source moves the slot, and only to a position it committed,
	 * so the slot is never ahead of it.  When it is, another reader moved
	 * it — a restored copy of this database, say, whose registration names
	 * the same remote slot — and the changes in between may be gone: an
	 * error, never a silent gap.
	 */
	if (stored && snap == NULL && s.confirmed && rslot_lsn(s.confirmed) > rslot_lsn(stored))
		MetaetlRemoteRaise(rc, ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
						   psprintf("replication slot \"%s\" was advanced past this source's position (%s > %s)",
									slot, s.confirmed, stored),
						   "Another reader moved the remote slot, e.g. a restored copy of this database; the changes in between may be lost.",
						   "Give each database a slot of its own (etl.create_change_slot), then etl.reset_incremental() this source.");

	/*
	 * The stored position committed here: the remote slot may forget what
	 * it covers (not after a first read, as for a slot of this database).
	 */
	if (stored && snap == NULL && s.confirmed && rslot_lsn(stored) > rslot_lsn(s.confirmed))
	{
		const char *p[2] = {slot, stored};

		(void) MetaetlPgQueryRow(rc, "SELECT pg_catalog.pg_replication_slot_advance($1::pg_catalog.name, $2::pg_catalog.pg_lsn)",
								 2, p, psprintf("advancing replication slot \"%s\"", slot));
	}

	/*
	 * As for a slot of this database (slot.c): the remote decodes its whole
	 * WAL, and a big transaction of another table spills to disk beyond
	 * logical_decoding_work_mem.  The remote session decodes with
	 * metaetl.log_cdc_decoding_memory when that is larger than its own.
	 */
	{
		const char *p[1] = {psprintf("%dkB", metaetl_log_cdc_decoding_memory)};

		(void) MetaetlPgQueryRow(rc, "SELECT CASE WHEN pg_catalog.pg_size_bytes(pg_catalog.current_setting('logical_decoding_work_mem'))"
								 " OPERATOR(pg_catalog.<) pg_catalog.pg_size_bytes($1::pg_catalog.text)"
								 " THEN pg_catalog.set_config('logical_decoding_work_mem', $1::pg_catalog.text, false) END",
								 1, p, psprintf("setting the decoding memory of replication slot \"%s\"", slot));
	}

	/*
	 * The window, evaluated on the remote: wal2json filtered to the table,
	 * transactions by commit LSN, or after a first read by the stored
	 * snapshot.  Decoded xids are 32-bit: widened to xid8 against the
	 * remote's next xid (a decoded transaction is younger than the slot's
	 * catalog_xmin, far less than 2^31 transactions old).  The decoder
	 * reports the top-level xid, which is what a snapshot lists.
	 */
	sql = psprintf("WITH ch AS (SELECT c.lsn, c.xid, c.data::pg_catalog.jsonb AS d, pg_catalog.row_number() OVER () AS n"
				   "              FROM pg_catalog.pg_logical_slot_peek_changes(%s::pg_catalog.name, %s::pg_catalog.pg_lsn, NULL,"
				   "                       'format-version', '2', 'include-transaction', '1', 'add-tables', %s,"
				   "                       'filter-msg-prefixes', 'metaetl') c),"
				   " nx AS (SELECT pg_catalog.pg_snapshot_xmax(pg_catalog.pg_current_snapshot())::pg_catalog.text::pg_catalog.int8 AS v),"
				   " tx AS (SELECT ch.xid, ch.lsn AS commit_lsn,"
				   "               (((nx.v OPERATOR(pg_catalog.>>) 32) OPERATOR(pg_catalog.-)"
				   "                 CASE WHEN ch.xid::pg_catalog.text::pg_catalog.int8 OPERATOR(pg_catalog.>) (nx.v OPERATOR(pg_catalog.&) 4294967295)"
				   "                      THEN 1 ELSE 0 END) OPERATOR(pg_catalog.*) 4294967296"
				   "                OPERATOR(pg_catalog.+) ch.xid::pg_catalog.text::pg_catalog.int8)::pg_catalog.text::pg_catalog.xid8 AS xid8"
				   "          FROM ch, nx WHERE (ch.d OPERATOR(pg_catalog.->>) 'action') OPERATOR(pg_catalog.=) 'C')"
				   " SELECT ch.n, CASE ch.d OPERATOR(pg_catalog.->>) 'action' WHEN 'I' THEN 'insert' WHEN 'U' THEN 'update'"
				   "                                                 WHEN 'T' THEN 'truncate' ELSE 'delete' END,"
				   "        (SELECT pg_catalog.jsonb_object_agg(col OPERATOR(pg_catalog.->>) 'name', col OPERATOR(pg_catalog.->) 'value')"
				   "           FROM pg_catalog.jsonb_array_elements(ch.d OPERATOR(pg_catalog.->)"
				   "                CASE ch.d OPERATOR(pg_catalog.->>) 'action' WHEN 'D' THEN 'identity' ELSE 'columns' END) col)"
				   "   FROM ch JOIN tx ON tx.xid OPERATOR(pg_catalog.=) ch.xid"
				   "  WHERE (ch.d OPERATOR(pg_catalog.->>) 'action') OPERATOR(pg_catalog.=) ANY (ARRAY['I', 'U', 'D', 'T'])"
				   "    AND %s"
				   "    AND tx.commit_lsn OPERATOR(pg_catalog.<=) %s::pg_catalog.pg_lsn"
				   "  ORDER BY ch.n",
				   quote_literal_cstr(slot), quote_literal_cstr(upto),
				   quote_literal_cstr(MetaetlW2jTableName(remote->schema, remote->table)),
				   snap ? psprintf("NOT pg_catalog.pg_visible_in_snapshot(tx.xid8, %s::pg_catalog.pg_snapshot)",
								   quote_literal_cstr(snap)) :
				   stored ? psprintf("tx.commit_lsn OPERATOR(pg_catalog.>) %s::pg_catalog.pg_lsn", quote_literal_cstr(stored)) :
				   "true",
				   quote_literal_cstr(upto));

	/*
	 * The remote user reads the slot with the replication privilege, which
	 * decodes every row of every table: it must also be allowed to read this
	 * one, and not be limited by row security there (as for local slots).
	 */
	{
		const char *p[1] = {qremote};
		char	  **row = MetaetlPgQueryRow(rc, "SELECT pg_catalog.has_table_privilege($1, 'SELECT'),"
											"       pg_catalog.row_security_active($1::pg_catalog.regclass)",
											1, p, psprintf("checking SELECT on %s", qremote));

		if (row[0] == NULL || strcmp(row[0], "t") != 0)
			MetaetlRemoteRaise(rc, ERRCODE_INSUFFICIENT_PRIVILEGE,
							   psprintf("permission denied for table %s on the remote server", qremote),
							   "Reading changes from a slot needs SELECT on the table.", NULL);
		if (row[1] && strcmp(row[1], "t") == 0)
			MetaetlRemoteRaise(rc, ERRCODE_INSUFFICIENT_PRIVILEGE,
							   psprintf("table %s has row-level security for the remote user", qremote),
							   "Decoded changes hold every row; only users that bypass its policies may read them.", NULL);
	}

	changes = MetaetlNewTemp(plan, "cdc_changes");
	MetaetlExec(psprintf("CREATE TEMP TABLE %s (seq pg_catalog.int8, op pg_catalog.text, r pg_catalog.jsonb) ON COMMIT DROP",
						 changes), SPI_OK_UTILITY);
	CommandCounterIncrement();
	MetaetlScript(plan, psprintf("-- on connection %s, the changes of slot %s copied into %s: %s", rc->name, slot, changes, sql));
	names = list_make3("seq", "op", "r");
	(void) MetaetlPgCopyInto(rc, sql, changes, names);
	/* OFFSET 0: one jsonb_populate_record per row, not per column (as for local slots) */
	return psprintf("SELECT (metaetl_c.r).*, metaetl_c.op AS %s, metaetl_c.seq AS %s"
					"  FROM (SELECT pg_catalog.jsonb_populate_record(NULL::%s, ch.r) AS r, ch.op, ch.seq"
					"          FROM %s ch OFFSET 0) metaetl_c"
					" ORDER BY metaetl_c.seq",
					METAETL_CDC_OP_COLUMN, METAETL_CDC_SEQ_COLUMN, remote->shape, changes);
}

/* ------------------------------------------------ etl._remote_change_slot */

static Jsonb *
rslot_jsonb(const char *text)
{
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(text)));
}

static void
jkey(StringInfo b, const char *key, const char *value)
{
	appendStringInfoString(b, b->len > 1 ? ", " : "");
	escape_json(b, key);
	appendStringInfoString(b, ": ");
	if (value)
		escape_json(b, value);
	else
		appendStringInfoString(b, "null");
}

/* create, drop or read the status of a remote slot; the caller's role is current */
static Jsonb *
rslot_op(const char *op, const char *conn, const char *slot)
{
	RemoteConn *rc = MetaetlRemoteConn(conn, true, psprintf("change slot \"%s\"", slot), false);
	RemoteSlot	s;
	StringInfoData b;
	const char *p[1] = {slot};

	if (rc == NULL || rc->kind != REMOTE_POSTGRES)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("change slot \"%s\": connection \"%s\" is not a remote postgresql connection", slot, conn),
				 errhint("Omit connection for a slot of this database.")));
	initStringInfo(&b);
	appendStringInfoChar(&b, '{');
	s = rslot_status(rc, slot);
	if (strcmp(op, "create") == 0)
	{
		char	  **volatile row = NULL;
		ErrorData  *edata;
		MemoryContext cxt = CurrentMemoryContext;
		const char *doing = psprintf("creating replication slot \"%s\"", slot);
		char	   *prefix = psprintf("%s: connection \"%s\": %s: ", rc->what, rc->name, doing);
		char	   *why;

		rslot_need_logical(rc, &s);
		if (s.plugin)
			MetaetlRemoteRaise(rc, ERRCODE_DUPLICATE_OBJECT,
							   psprintf("replication slot \"%s\" already exists on the remote server", slot),
							   NULL, "metaetl reads only slots it created: choose another name.");
		PG_TRY();
		{
			row = MetaetlPgQueryRow(rc, "SELECT s.lsn::pg_catalog.text FROM pg_catalog.pg_create_logical_replication_slot($1::pg_catalog.name, 'wal2json') s",
									1, p, doing);
		}
		PG_CATCH();
		{
			/* wal2json missing on the remote: say what to install */
			MemoryContextSwitchTo(cxt);
			edata = CopyErrorData();
			if (edata->sqlerrcode != ERRCODE_UNDEFINED_FILE)
				PG_RE_THROW();
			FlushErrorState();
			/* the remote server's own words, without the prefix said again */
			why = edata->message;
			if (strncmp(why, prefix, strlen(prefix)) == 0)
				why += strlen(prefix);
			MetaetlRemoteRaise(rc, ERRCODE_UNDEFINED_FILE,
							   psprintf("the remote server has no wal2json output plugin: %s", why),
							   NULL, "Install wal2json on the remote server (Debian: postgresql-15-wal2json).");
		}
		PG_END_TRY();
		jkey(&b, "lsn", row[0]);
	}
	else if (strcmp(op, "drop") == 0)
	{
		if (s.plugin)
			(void) MetaetlPgQueryRow(rc, "SELECT pg_catalog.pg_drop_replication_slot($1::pg_catalog.name)", 1, p,
									 psprintf("dropping replication slot \"%s\"", slot));
		appendStringInfo(&b, "\"dropped\": %s", s.plugin ? "true" : "false");
	}
	else
	{
		jkey(&b, "wal_level", s.wal_level);
		appendStringInfo(&b, ", \"exists\": %s", s.plugin ? "true" : "false");
		jkey(&b, "server_lsn", s.server_lsn);
		jkey(&b, "restart_lsn", s.restart);
		jkey(&b, "confirmed_flush_lsn", s.confirmed);
	}
	appendStringInfoChar(&b, '}');
	return rslot_jsonb(b.data);
}

/*
 * metaetl_remote_change_slot
 *		etl._remote_change_slot(op, connection, slot, as_role): op create
 *		({lsn}), drop ({dropped}) or status ({wal_level, exists, server_lsn,
 *		restart_lsn, confirmed_flush_lsn}) of a change slot on the remote
 *		server of connection, connected as as_role would (its view of the
 *		connection, its credential, recorded in etl.access_log).  Called only
 *		by metaetl's own SECURITY DEFINER functions (no grant), which pass
 *		their caller, or for lag the pipeline's owner.  status never raises:
 *		an unreachable server is {"error": message} (credentials masked),
 *		so a lag report still shows the other slots.
 */
Datum
metaetl_remote_change_slot(PG_FUNCTION_ARGS)
{
	char	   *op;
	char	   *conn;
	char	   *slot;
	Oid			role;
	MetaetlPrivState st;
	Jsonb	   *out = NULL;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("etl._remote_change_slot needs an operation, a connection, a slot and a role")));
	op = text_to_cstring(PG_GETARG_TEXT_PP(0));
	conn = text_to_cstring(PG_GETARG_TEXT_PP(1));
	slot = NameStr(*PG_GETARG_NAME(2));
	role = get_role_oid(NameStr(*PG_GETARG_NAME(3)), false);
	if (strcmp(op, "create") != 0 && strcmp(op, "drop") != 0 && strcmp(op, "status") != 0)
		elog(ERROR, "unknown change slot operation \"%s\"", op);

	if (strcmp(op, "status") != 0)
	{
		MetaetlUserCodeBegin(&st, role, false);
		out = rslot_op(op, conn, slot);
		MetaetlUserCodeEnd(&st);
		PG_RETURN_JSONB_P(out);
	}

	/* status: an error becomes {"error": ...} (a subtransaction undoes it) */
	{
		MemoryContext cxt = CurrentMemoryContext;
		ResourceOwner owner = CurrentResourceOwner;

		BeginInternalSubTransaction(NULL);
		MemoryContextSwitchTo(cxt);
		PG_TRY();
		{
			MetaetlUserCodeBegin(&st, role, false);
			out = rslot_op(op, conn, slot);
			MetaetlUserCodeEnd(&st);
			ReleaseCurrentSubTransaction();
			MemoryContextSwitchTo(cxt);
			CurrentResourceOwner = owner;
		}
		PG_CATCH();
		{
			ErrorData  *edata;
			StringInfoData b;

			MemoryContextSwitchTo(cxt);
			edata = CopyErrorData();
			FlushErrorState();
			RollbackAndReleaseCurrentSubTransaction();
			MemoryContextSwitchTo(cxt);
			CurrentResourceOwner = owner;
			initStringInfo(&b);
			appendStringInfoChar(&b, '{');
			jkey(&b, "error", edata->message);
			appendStringInfoChar(&b, '}');
			out = rslot_jsonb(b.data);
		}
		PG_END_TRY();
	}
	PG_RETURN_JSONB_P(out);
}
