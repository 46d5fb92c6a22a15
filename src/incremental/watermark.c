/*-------------------------------------------------------------------------
 *
 * src/incremental/watermark.c
 *		Incremental sources: the filter a run reads with, and the position
 *		it stores for the next run.
 *
 * Modes and their positions (etl.incremental_positions.position):
 *	timestamp	{value, key}: the greatest (column, tie_breaker) loaded.  The
 *				next run reads (column, tie_breaker) > (value, key), so rows
 *				sharing a timestamp are neither lost nor read twice; with
 *				lookback it reads column >= value - lookback instead, which
 *				re-reads a window to catch rows whose transaction committed
 *				late (the target must then be keyed: merge_changes, upsert).
 *				Without a tie_breaker it reads column >= value (the boundary
 *				rows again: a row committed late with the same timestamp is
 *				not lost).
 *	id			{value}: the greatest id loaded; the next run reads id > value.
 *	xmin		{snapshot}: a pg_snapshot.  A run reads the row versions whose
 *				xmin (widened to xid8, etl._xid8) is visible in a snapshot S
 *				taken before the read and was not visible in the stored
 *				snapshot, and stores S.  A transaction in progress at S is
 *				in S's xip list: not read now, read by the next run after it
 *				commits.  Positions are 64-bit, so wraparound cannot make a
 *				stored position look newer than it is; a position older than
 *				2^31 transactions is read again from scratch.
 *	trigger_cdc	{change_table, snapshot}: the same snapshot window over the table's
 *				change table (incremental/capture.c); the first run reads the
 *				whole table.
 *	log_cdc		{slot, lsn}: the transactions that committed after lsn and
 *				before an LSN taken before the read (incremental/slot.c); the
 *				first run reads the whole table.  For a remote postgresql
 *				source the slot, the LSNs and the snapshot are the remote
 *				server's (incremental/remote_slot.c); the position is stored
 *				here all the same.
 *
 * The snapshot window is taken before the statement that materialises the
 * source (a later statement's snapshot contains every transaction an
 * earlier one saw), so what a run loads and the position it stores describe
 * exactly the same transactions: each change is loaded once.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/subtrans.h"
#include "access/transam.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/snapmgr.h"
#include "utils/xid8.h"

#include "metaetl.h"
#include "incremental/incremental.h"
#include "security/security.h"

PG_FUNCTION_INFO_V1(metaetl_xid_to_xid8);

/* per call site of etl._xid8: the next xid, and the last subtransaction mapped */
typedef struct XidMap
{
	FullTransactionId next;
	TransactionId from;			/* InvalidTransactionId: none yet */
	TransactionId to;
} XidMap;

/*
 * metaetl_xid_to_xid8
 *		etl._xid8(xid): a row's xmin as xid8.  An unfrozen xmin is at most
 *		2^31 transactions behind the next xid, so it belongs to the next
 *		xid's epoch, or to the one before when it is numerically greater.
 *		The next xid is read once per call site (fn_extra): every row a
 *		statement can see was written before its snapshot, so before that.
 *		Special xids (bootstrap, frozen) are epoch 0: visible to everyone.
 */
Datum
metaetl_xid_to_xid8(PG_FUNCTION_ARGS)
{
	TransactionId xid = PG_GETARG_TRANSACTIONID(0);
	XidMap	   *map;
	uint32		epoch;

	if (!TransactionIdIsNormal(xid))
		PG_RETURN_FULLTRANSACTIONID(FullTransactionIdFromEpochAndXid(0, xid));
	map = fcinfo->flinfo->fn_extra;
	if (map == NULL)
	{
		map = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(XidMap));
		map->next = ReadNextFullTransactionId();
		fcinfo->flinfo->fn_extra = map;
	}

	/*
	 * A row written in a subtransaction has the subtransaction's xid as
	 * xmin, but a pg_snapshot lists only top-level transactions in progress:
	 * map it to its top-level transaction, or a subtransaction of a
	 * transaction in progress at the snapshot would look visible in it.
	 * pg_subtrans covers every xid from TransactionXmin on; older ones are
	 * below every snapshot this transaction takes, so against those (the
	 * first read of a CDC source) the answer is exact.  Against an older
	 * stored snapshot (xmin mode's previous position) a subtransaction
	 * older than TransactionXmin stays unmapped.  Rows come in runs
	 * written by one transaction: the last mapping is kept.
	 */
	if (TransactionIdFollowsOrEquals(xid, TransactionXmin))
	{
		if (map->from != xid)
		{
			map->from = xid;
			map->to = SubTransGetTopmostTransaction(xid);
		}
		xid = map->to;
	}
	epoch = EpochFromFullTransactionId(map->next);
	if (xid >= XidFromFullTransactionId(map->next) && epoch > 0)
		epoch--;
	PG_RETURN_FULLTRANSACTIONID(FullTransactionIdFromEpochAndXid(epoch, xid));
}

/* errors name the source and the config path */
static void
incr_error(MetaetlNode *src, int code, const char *msg, const char *hint)
{
	ereport(ERROR,
			(errcode(code),
			 errmsg("source \"%s\": %s", src->id, msg),
			 errdetail("Config path: sources, id \"%s\", incremental.", src->id),
			 hint ? errhint("%s", hint) : 0));
}

/* the position stored for this source, when it fits the config's mode */
static JsonbContainer *
incr_stored(MetaetlPlan *plan, MetaetlNode *src, JsonbContainer *inc, const char *mode)
{
	JsonbContainer *all;
	JsonbContainer *pos;
	char	   *pmode;

	if (plan->render_ctx == NULL)
		return NULL;
	all = MetaetlJObj(&plan->render_ctx->root, "incremental");
	pos = all ? MetaetlJObj(all, src->id) : NULL;
	if (pos == NULL)
		return NULL;
	pmode = MetaetlJStr(pos, "mode");
	if (pmode == NULL || strcmp(pmode, mode) != 0 ||
		((strcmp(mode, "timestamp") == 0 || strcmp(mode, "id") == 0) &&
		 (strcmp(MetaetlJStr(pos, "column") ? MetaetlJStr(pos, "column") : "", MetaetlJStr(inc, "column") ? MetaetlJStr(inc, "column") : "") != 0 ||
		  strcmp(MetaetlJStr(pos, "tie_breaker") ? MetaetlJStr(pos, "tie_breaker") : "",
				 MetaetlJStr(inc, "tie_breaker") ? MetaetlJStr(inc, "tie_breaker") : "") != 0)) ||
		(strcmp(mode, "log_cdc") == 0 &&
		 strcmp(MetaetlJStr(pos, "slot") ? MetaetlJStr(pos, "slot") : "", MetaetlJStr(inc, "slot") ? MetaetlJStr(inc, "slot") : "") != 0))
	{
		ereport(NOTICE,
				(errmsg("source \"%s\": the stored incremental position is for another mode or column; reading from scratch",
						src->id)));
		return NULL;
	}
	return pos;
}

/* a snapshot of now, as text: taken before the source is read */
static char *
incr_snapshot(void)
{
	MetaetlExec("SELECT pg_catalog.pg_current_snapshot()::pg_catalog.text", SPI_OK_SELECT);
	return SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
}

/* is a stored snapshot more than 2^31 transactions old? */
static bool
incr_snapshot_too_old(const char *snap)
{
	Datum		arg = CStringGetTextDatum(snap);
	Oid			t = TEXTOID;
	bool		isnull;

	if (SPI_execute_with_args("SELECT (pg_catalog.pg_snapshot_xmax(pg_catalog.pg_current_snapshot())::pg_catalog.text::pg_catalog.int8"
							  " OPERATOR(pg_catalog.-) pg_catalog.pg_snapshot_xmax($1::pg_catalog.pg_snapshot)::pg_catalog.text::pg_catalog.int8)"
							  " OPERATOR(pg_catalog.>) 2147483647", 1, &t, &arg, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not compare snapshots");
	return DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/* the captured table's change-capture registration: its oid, or error */
static Oid
incr_capture_relid(MetaetlNode *src, const char *qrel)
{
	Datum		arg = CStringGetTextDatum(qrel);
	Oid			t = TEXTOID;
	bool		isnull;
	Datum		d;

	if (SPI_execute_with_args("SELECT c.relid FROM etl.change_captures c"
							  " WHERE c.relid OPERATOR(pg_catalog.=) $1::pg_catalog.regclass::pg_catalog.oid",
							  1, &t, &arg, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read etl.change_captures");
	if (SPI_processed == 0)
		incr_error(src, ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
				   psprintf("changes of table %s are not captured", qrel),
				   psprintf("Enable trigger CDC first: SELECT etl.enable_change_capture(%s);",
							quote_literal_cstr(qrel)));
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return DatumGetObjectId(d);
}

/*
 * Incremental aggregates.  An aggregate fed by an incremental source would
 * otherwise aggregate the changed rows alone (and a replace target would
 * lose every other group).  When the source feeds exactly one aggregate
 * through row-wise steps only (filter, select, drop, sort), and the
 * aggregate groups by columns of the source, the run reads the groups the
 * changed rows touch — from the full source — and the targets replace just
 * those groups (MetaetlLoadTouchedGroups).  Any other shape with an
 * aggregate reads the source in full: correct, only not incremental.
 */
typedef enum IncrAggShape
{
	INCR_AGG_NONE,				/* no aggregate in the plan */
	INCR_AGG_GROUPS,			/* recompute touched groups */
	INCR_AGG_FULL				/* an aggregate we cannot follow: read in full */
} IncrAggShape;

static IncrAggShape
incr_agg_shape(MetaetlPlan *plan, MetaetlNode *src, List *srccols, MetaetlNode **agg)
{
	MetaetlNode *cur = src;
	bool		any_agg = false;
	ListCell   *lc;

	foreach(lc, plan->nodes)
		any_agg |= !((MetaetlNode *) lfirst(lc))->is_source &&
			strcmp(((MetaetlNode *) lfirst(lc))->type, "aggregate") == 0;
	if (!any_agg)
		return INCR_AGG_NONE;
	for (;;)
	{
		MetaetlNode *next = NULL;

		foreach(lc, plan->nodes)
		{
			MetaetlNode *m = lfirst(lc);

			if (!m->is_source && m->input && strcmp(m->input, cur->id) == 0)
				next = m;
		}
		if (next == NULL || cur->consumers != 1)
			return INCR_AGG_FULL;
		if (strcmp(next->type, "aggregate") == 0)
		{
			List	   *groups = MetaetlJStrList(next->params, "groupby_cols", next->id);

			if (groups == NIL)
				return INCR_AGG_FULL;
			foreach(lc, groups)
			{
				bool		found = false;
				ListCell   *lc2;

				foreach(lc2, srccols)
					found |= strcmp(((MetaetlColumn *) lfirst(lc2))->name, lfirst(lc)) == 0;
				if (!found)
					return INCR_AGG_FULL;
			}
			*agg = next;
			return INCR_AGG_GROUPS;
		}
		if (strcmp(next->type, "filter") != 0 && strcmp(next->type, "select") != 0 &&
			strcmp(next->type, "drop") != 0 && strcmp(next->type, "sort") != 0)
			return INCR_AGG_FULL;
		cur = next;
	}
}

/*
 * incr_touched
 *		The rows of full in the groups the changed rows (delta) touch: the
 *		touched group values go to a temp table first (the aggregate's
 *		incr_state, for the targets' loads).
 */
static char *
incr_touched(MetaetlPlan *plan, MetaetlNode *agg, const char *delta, const char *old_rows, const char *full)
{
	List	   *groups = MetaetlJStrList(agg->params, "groupby_cols", agg->id);
	char	   *tmp = MetaetlNewTemp(plan, "touched");
	StringInfoData cols,
				match;
	ListCell   *lc;
	char	   *sql;

	initStringInfo(&cols);
	initStringInfo(&match);
	foreach(lc, groups)
	{
		appendStringInfo(&cols, "%s%s", cols.len ? ", " : "", quote_identifier(lfirst(lc)));
		appendStringInfo(&match, "%smetaetl_g.%s IS NOT DISTINCT FROM metaetl_f.%s", match.len ? " AND " : "",
						 quote_identifier(lfirst(lc)), quote_identifier(lfirst(lc)));
	}
	sql = psprintf("CREATE TEMP TABLE %s ON COMMIT DROP AS SELECT %s FROM (%s) metaetl_d%s%s%s",
				   tmp, cols.data, delta, old_rows ? psprintf(" UNION SELECT %s FROM (", cols.data) : "",
				   old_rows ? old_rows : "", old_rows ? ") metaetl_o" : "");
	if (old_rows == NULL)
		sql = psprintf("CREATE TEMP TABLE %s ON COMMIT DROP AS SELECT DISTINCT %s FROM (%s) metaetl_d",
					   tmp, cols.data, delta);
	MetaetlScript(plan, sql);
	MetaetlExec(sql, SPI_OK_UTILITY);
	agg->incr_state = tmp;
	/* key-range workers (transform/parallel.c) cannot see this temp table */
	plan->xact_had_writes = true;
	return psprintf("SELECT metaetl_f.* FROM (%s) metaetl_f WHERE EXISTS (SELECT 1 FROM %s metaetl_g WHERE %s)",
					full, tmp, match.data);
}

/*
 * The rows as they were before the updates a trigger_cdc run reads (same
 * window as the delta: src->incr_state holds "snapshot relid").  A row that
 * moved to another group leaves that group to recompute too.
 */
static char *
incr_old_images(MetaetlNode *src, const char *qrel, JsonbContainer *pos)
{
	char	   *cur = pstrdup(src->incr_state);
	char	   *sp = strchr(cur, ' ');

	*sp = '\0';
	/* OFFSET 0: the image is cast once per row, not once per column (see incr_delta) */
	return psprintf("SELECT (metaetl_o.r).* FROM (SELECT CAST(ch.old_image AS %s) AS r"
					" FROM etl._read_changes(%s::pg_catalog.oid::pg_catalog.regclass,"
					" %s::pg_catalog.pg_snapshot, %s::pg_catalog.pg_snapshot) ch WHERE ch.old_image IS NOT NULL OFFSET 0) metaetl_o",
					qrel, sp + 1, quote_literal_cstr(MetaetlJStr(pos, "snapshot")), quote_literal_cstr(cur));
}

/* does the trigger_cdc window of this run (src->incr_state) hold a truncate? */
static bool
incr_window_truncated(MetaetlNode *src, JsonbContainer *pos)
{
	char	   *cur = pstrdup(src->incr_state);
	char	   *sp = strchr(cur, ' ');

	*sp = '\0';
	MetaetlExec(psprintf("SELECT 1 FROM etl._read_changes(%s::pg_catalog.oid::pg_catalog.regclass,"
						 " %s::pg_catalog.pg_snapshot, %s::pg_catalog.pg_snapshot) ch"
						 " WHERE ch.op OPERATOR(pg_catalog.=) 'truncate' LIMIT 1",
						 sp + 1, quote_literal_cstr(MetaetlJStr(pos, "snapshot")), quote_literal_cstr(cur)),
				SPI_OK_SELECT);
	return SPI_processed > 0;
}

/* the SELECT of a source with incremental: what changed, or for aggregates the touched groups */
static char *incr_delta(MetaetlPlan *plan, MetaetlNode *src, const char *base, const char *qrel,
						JsonbContainer *inc, const char *mode, JsonbContainer *pos, bool agg,
						const MetaetlRemoteRead *remote);

/*
 * MetaetlIncrementalExtract
 *		The SELECT an incremental source reads: base (the connector's own
 *		SELECT) filtered by the stored position.  qrel is the quoted table
 *		name for a table source, NULL for a query.  Sources without
 *		incremental get base back.  remote: a table on a remote PostgreSQL
 *		server (base then reads an empty table of its columns), NULL for
 *		this database.  Runs as the run's role.
 */
char *
MetaetlIncrementalExtract(MetaetlPlan *plan, MetaetlNode *src, const char *base, const char *qrel,
						  const MetaetlRemoteRead *remote)
{
	JsonbContainer *inc = MetaetlJObj(src->conf, "incremental");
	JsonbContainer *pos;
	char	   *mode;
	MetaetlNode *agg = NULL;
	IncrAggShape shape;
	char	   *delta;

	if (inc == NULL)
		return (char *) base;
	mode = MetaetlJStr(inc, "mode");
	if (mode == NULL)
		incr_error(src, ERRCODE_INVALID_PARAMETER_VALUE, "incremental needs mode", NULL);
	pos = incr_stored(plan, src, inc, mode);
	shape = incr_agg_shape(plan, src, MetaetlDescribe(psprintf("SELECT * FROM (%s) metaetl_s LIMIT 0", base)), &agg);
	/* a decoded delete carries only the key, not the group it left */
	if (shape == INCR_AGG_GROUPS && strcmp(mode, "log_cdc") == 0)
		shape = INCR_AGG_FULL;
	if (shape == INCR_AGG_FULL && pos)
		ereport(NOTICE,
				(errmsg("source \"%s\" is read in full: it feeds an aggregate through steps that are not row-wise",
						src->id),
				 errhint("Incremental aggregates follow filter, select, drop and sort steps to one aggregate grouping by source columns.")));
	if (shape == INCR_AGG_NONE)
		return incr_delta(plan, src, base, qrel, inc, mode, pos, false, remote);
	if (shape == INCR_AGG_FULL || pos == NULL)
		return incr_delta(plan, src, base, qrel, inc, mode, NULL, true, remote);
	/* the changed rows' groups, recomputed from the whole source */
	delta = incr_delta(plan, src, base, qrel, inc, mode, pos, false, remote);
	/* a truncate touched every group: the aggregate is recomputed whole */
	if (strcmp(mode, "trigger_cdc") == 0 && incr_window_truncated(src, pos))
		return incr_delta(plan, src, base, qrel, inc, mode, NULL, true, remote);
	return incr_touched(plan, agg, delta,
						strcmp(mode, "trigger_cdc") == 0 ? incr_old_images(src, qrel, pos) : NULL,
						qrel ? psprintf("SELECT * FROM %s", qrel) : base);
}

/*
 * incr_first_read
 *		The first read of a CDC source: the table's rows as of snapshot cur,
 *		the position stored with it.  The statement reading the table takes
 *		a later snapshot; a transaction committing in between (or in
 *		progress at cur) would be read now and, its changes not being
 *		visible in cur, once more by the next run — twice into an append
 *		target.  Row versions whose writer cur does not see are left out
 *		instead: each such row comes with its change in the next run (an
 *		insert or update brings its new image, a delete nothing), and a row
 *		such a transaction deleted or updated away is the next run's too.
 *		With plain, the table's own columns only (aggregates).
 */
static char *
incr_first_read(const char *qrel, const char *cur, bool plain)
{
	return psprintf("SELECT metaetl_s.*%s FROM %s metaetl_s"
					" WHERE pg_catalog.pg_visible_in_snapshot(etl._xid8(metaetl_s.xmin), %s::pg_catalog.pg_snapshot)",
					plain ? "" : psprintf(", 'insert'::pg_catalog.text AS %s, 0::pg_catalog.int8 AS %s",
										  METAETL_CDC_OP_COLUMN, METAETL_CDC_SEQ_COLUMN),
					qrel, quote_literal_cstr(cur));
}

/*
 * incr_delta
 *		The rows changed since pos (everything when pos is NULL; with plain,
 *		the table's own columns only, for aggregates).
 */
static char *
incr_delta(MetaetlPlan *plan, MetaetlNode *src, const char *base, const char *qrel,
		   JsonbContainer *inc, const char *mode, JsonbContainer *pos, bool plain,
		   const MetaetlRemoteRead *remote)
{
	if (strcmp(mode, "timestamp") == 0 || strcmp(mode, "id") == 0)
	{
		char	   *column = MetaetlJStr(inc, "column");
		char	   *tb = strcmp(mode, "timestamp") == 0 ? MetaetlJStr(inc, "tie_breaker") : NULL;
		char	   *lookback = strcmp(mode, "timestamp") == 0 ? MetaetlJStr(inc, "lookback") : NULL;
		List	   *cols = MetaetlDescribe(psprintf("SELECT * FROM (%s) metaetl_s LIMIT 0", base));
		MetaetlColumn *c;
		MetaetlColumn *k = NULL;
		char	   *value;
		char	   *key;

		if (column == NULL)
			incr_error(src, ERRCODE_INVALID_PARAMETER_VALUE, psprintf("incremental mode %s needs column", mode), NULL);
		c = MetaetlFindColumn(src, cols, column, "incremental.column");
		if (tb)
			k = MetaetlFindColumn(src, cols, tb, "incremental.tie_breaker");
		if (pos == NULL || (value = MetaetlJStr(pos, "value")) == NULL)
			return (char *) base;
		key = MetaetlJStr(pos, "key");
		if (lookback)
			return psprintf("SELECT metaetl_s.* FROM (%s) metaetl_s WHERE metaetl_s.%s OPERATOR(pg_catalog.>=)"
							" (CAST(%s AS %s) OPERATOR(pg_catalog.-) CAST(%s AS pg_catalog.interval))",
							base, quote_identifier(column), quote_literal_cstr(value), c->type,
							quote_literal_cstr(lookback));
		if (k && key)
			return psprintf("SELECT metaetl_s.* FROM (%s) metaetl_s WHERE ROW(metaetl_s.%s, metaetl_s.%s)"
							" OPERATOR(pg_catalog.>) ROW(CAST(%s AS %s), CAST(%s AS %s))",
							base, quote_identifier(column), quote_identifier(tb),
							quote_literal_cstr(value), c->type, quote_literal_cstr(key), k->type);
		return psprintf("SELECT metaetl_s.* FROM (%s) metaetl_s WHERE metaetl_s.%s OPERATOR(pg_catalog.%s) CAST(%s AS %s)",
						base, quote_identifier(column), strcmp(mode, "id") == 0 ? ">" : ">=",
						quote_literal_cstr(value), c->type);
	}
	if (strcmp(mode, "xmin") == 0 || strcmp(mode, "trigger_cdc") == 0)
	{
		char	   *prev = pos ? MetaetlJStr(pos, "snapshot") : NULL;
		char	   *cur;

		if (qrel == NULL)
			incr_error(src, ERRCODE_INVALID_PARAMETER_VALUE,
					   psprintf("incremental mode %s needs a table source", mode),
					   "Name the table (table: schema.name) instead of a query.");
		if (prev && strcmp(mode, "xmin") == 0 && incr_snapshot_too_old(prev))
		{
			ereport(NOTICE,
					(errmsg("source \"%s\": the stored xmin position is more than 2^31 transactions old; reading from scratch",
							src->id)));
			prev = NULL;
		}
		cur = incr_snapshot();
		src->incr_state = cur;
		if (strcmp(mode, "xmin") == 0)
			return psprintf("SELECT metaetl_s.* FROM %s metaetl_s WHERE %s%s%s"
							"pg_catalog.pg_visible_in_snapshot(etl._xid8(metaetl_s.xmin), %s::pg_catalog.pg_snapshot)",
							qrel, prev ? "NOT pg_catalog.pg_visible_in_snapshot(etl._xid8(metaetl_s.xmin), " : "",
							prev ? quote_literal_cstr(prev) : "", prev ? "::pg_catalog.pg_snapshot) AND " : "",
							quote_literal_cstr(cur));
		{
			Oid			relid = incr_capture_relid(src, qrel);

			src->incr_state = psprintf("%s %u", cur, relid);
			if (prev == NULL)
				return incr_first_read(qrel, cur, plain);
			/*
			 * OFFSET 0 keeps the subquery from being flattened: flattened,
			 * (r).* becomes one copy of the cast per column, and each copy
			 * parses the row image again.
			 */
			return psprintf("SELECT (metaetl_c.r).*, metaetl_c.op AS %s, metaetl_c.seq AS %s FROM"
							" (SELECT ch.seq, ch.op, CASE WHEN ch.op OPERATOR(pg_catalog.=) 'truncate' THEN NULL"
							"                              ELSE CAST(ch.row_image AS %s) END AS r"
							"    FROM etl._read_changes(%u::pg_catalog.oid::pg_catalog.regclass,"
							"                           %s::pg_catalog.pg_snapshot, %s::pg_catalog.pg_snapshot) ch OFFSET 0) metaetl_c"
							" ORDER BY metaetl_c.seq",
							METAETL_CDC_OP_COLUMN, METAETL_CDC_SEQ_COLUMN, qrel, relid,
							quote_literal_cstr(prev), quote_literal_cstr(cur));
		}
	}
	if (strcmp(mode, "log_cdc") == 0)
	{
		char	   *slot = MetaetlJStr(inc, "slot");
		char	   *upto;
		char	   *cur;
		Datum		arg;
		Oid			t = TEXTOID;
		bool		isnull;
		bool		exists;
		Oid			relid;

		if (qrel == NULL)
			incr_error(src, ERRCODE_INVALID_PARAMETER_VALUE, "incremental mode log_cdc needs a table source",
					   "Name the table (table: schema.name) instead of a query.");
		if (slot == NULL)
			incr_error(src, ERRCODE_INVALID_PARAMETER_VALUE, "incremental mode log_cdc needs slot",
					   "Create one with etl.create_change_slot('name') and name it as slot:.");
		/* a slot on the remote server, read over the source's connection */
		if (remote)
			return MetaetlRemoteSlotRead(plan, src, remote, slot, pos, plain);
		/* a slot metaetl created, and still there: never created implicitly */
		arg = CStringGetTextDatum(slot);
		if (SPI_execute_with_args("SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_replication_slots r"
								  "                WHERE r.slot_name OPERATOR(pg_catalog.=) s.slot_name"
								  "                  AND r.database OPERATOR(pg_catalog.=) pg_catalog.current_database())"
								  "  FROM etl.change_slots s WHERE s.slot_name OPERATOR(pg_catalog.=) $1::pg_catalog.name",
								  1, &t, &arg, NULL, false, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not read etl.change_slots");
		if (SPI_processed == 0)
			incr_error(src, ERRCODE_UNDEFINED_OBJECT,
					   psprintf("replication slot \"%s\" is not a metaetl change slot", slot),
					   psprintf("An etl_admin member creates it: SELECT etl.create_change_slot(%s);", quote_literal_cstr(slot)));
		exists = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		/* a registration restored from a dump: the original's slot, not ours */
		MetaetlSlotCheckOurs(psprintf("source \"%s\"", src->id), slot, plan->pipeline_id, src->id, NULL);
		if (!exists)
			incr_error(src, ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
					   psprintf("replication slot \"%s\" does not exist", slot),
					   "It was dropped outside metaetl; metaetl never recreates a slot. Drop its registration with etl.drop_change_slot() and create it again.");
		/*
		 * The first read is the table as of a snapshot S, stored with the
		 * position: the next read takes exactly the decoded transactions S
		 * does not see (incremental/slot.c).  S is taken before the LSN, so
		 * every transaction S sees committed before it.
		 */
		cur = pos == NULL ? incr_snapshot() : NULL;
		/* the read covers the transactions that committed before this LSN */
		MetaetlExec("SELECT pg_catalog.pg_current_wal_insert_lsn()::pg_catalog.text", SPI_OK_SELECT);
		upto = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		src->incr_state = cur ? psprintf("%s %s", upto, cur) : upto;
		/* one reader per slot: no key-range workers peeking side by side */
		plan->xact_had_writes = true;
		if (pos == NULL)
			return incr_first_read(qrel, cur, plain);
		arg = CStringGetTextDatum(qrel);
		if (SPI_execute_with_args("SELECT $1::pg_catalog.regclass::pg_catalog.oid", 1, &t, &arg, NULL, false, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not resolve %s", qrel);
		relid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		/* OFFSET 0: one jsonb_populate_record per row, not per column (as above) */
		return psprintf("SELECT (metaetl_c.r).*, metaetl_c.op AS %s, metaetl_c.seq AS %s"
						"  FROM (SELECT pg_catalog.jsonb_populate_record(NULL::%s, ch.r) AS r, ch.op, ch.seq"
						"          FROM etl._read_slot_changes(%s, %u::pg_catalog.oid::pg_catalog.regclass, %s::pg_catalog.pg_lsn) ch"
						"        OFFSET 0) metaetl_c"
						" ORDER BY metaetl_c.seq",
						METAETL_CDC_OP_COLUMN, METAETL_CDC_SEQ_COLUMN, qrel, quote_literal_cstr(slot), relid,
						quote_literal_cstr(upto));
	}
	incr_error(src, ERRCODE_FEATURE_NOT_SUPPORTED, psprintf("incremental mode %s is not supported here", mode),
			   "Use timestamp, id, xmin, trigger_cdc or log_cdc.");
	return NULL;				/* not reached */
}

static void
jfield(StringInfo b, const char *key, const char *value)
{
	if (b->len > 1)
		appendStringInfoString(b, ", ");
	escape_json(b, key);
	appendStringInfoString(b, ": ");
	if (value)
		escape_json(b, value);
	else
		appendStringInfoString(b, "null");
}

/*
 * incr_greatest
 *		The greatest (column[, tie_breaker]) among the loaded rows and the
 *		old position (lookback re-reads a window, so the newest loaded row
 *		can be older than the position).  Runs as the run's role.
 */
static bool
incr_greatest(MetaetlNode *n, JsonbContainer *inc, JsonbContainer *old, char **value, char **key)
{
	char	   *column = MetaetlJStr(inc, "column");
	char	   *tb = MetaetlJStr(inc, "tie_breaker");
	MetaetlColumn *c = MetaetlFindColumn(n, n->cols, column, "incremental.column");
	MetaetlColumn *k = tb ? MetaetlFindColumn(n, n->cols, tb, "incremental.tie_breaker") : NULL;
	char	   *ov = old ? MetaetlJStr(old, "value") : NULL;
	char	   *ok = old ? MetaetlJStr(old, "key") : NULL;
	Oid			types[2] = {TEXTOID, TEXTOID};
	Datum		values[2];
	char		nulls[2] = {ov ? ' ' : 'n', ok ? ' ' : 'n'};
	char	   *sql;

	values[0] = ov ? CStringGetTextDatum(ov) : (Datum) 0;
	values[1] = ok ? CStringGetTextDatum(ok) : (Datum) 0;
	/* ORDER BY the typed columns (x.v), not the text output columns */
	sql = psprintf("SELECT x.v::pg_catalog.text AS value, %s AS key FROM (SELECT %s AS v%s FROM %s"
				   " UNION ALL SELECT CAST($1 AS %s)%s%s WHERE $1 IS NOT NULL) x"
				   " WHERE x.v IS NOT NULL ORDER BY x.v DESC%s LIMIT 1",
				   k ? "x.k::pg_catalog.text" : "NULL::pg_catalog.text",
				   quote_identifier(column), k ? psprintf(", %s AS k", quote_identifier(tb)) : "", n->temp,
				   c->type, k ? ", CAST($2 AS " : "", k ? psprintf("%s)", k->type) : "",
				   k ? ", x.k DESC NULLS LAST" : "");
	if (SPI_execute_with_args(sql, 2, types, values, nulls, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the incremental position");
	if (SPI_processed == 0)
		return false;
	*value = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	*key = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	return true;
}

/*
 * MetaetlIncrementalAdvance
 *		Store each incremental source's new position, after its rows were
 *		materialised and before the targets load: the caller's transaction
 *		(the run's attempt) commits position and loads together, or neither.
 *		Positions are computed as the run's role (they read its temp
 *		tables) and written as metaetl.  SPI is connected.  Returns the
 *		trigger_cdc tables (oids) whose loaded changes the caller purges
 *		after the loads, in the same transaction (MetaetlPurgeChanges).
 */
List *
MetaetlIncrementalAdvance(MetaetlPlan *plan, const char *pipeline_id, int64 run_id)
{
	ListCell   *lc;
	List	   *purge = NIL;

	foreach(lc, plan->nodes)
	{
		MetaetlNode *n = lfirst(lc);
		JsonbContainer *inc = n->is_source ? MetaetlJObj(n->conf, "incremental") : NULL;
		char	   *mode;
		StringInfoData pos;
		Oid			relid = InvalidOid;
		char	   *slot = NULL;
		MetaetlPrivState st;
		Oid			types[5] = {TEXTOID, TEXTOID, TEXTOID, JSONBOID, INT8OID};
		Datum		values[5];
		char		nulls[5] = {' ', ' ', ' ', ' ', run_id > 0 ? ' ' : 'n'};

		if (inc == NULL || n->temp == NULL || (mode = MetaetlJStr(inc, "mode")) == NULL)
			continue;
		initStringInfo(&pos);
		appendStringInfoChar(&pos, '{');
		jfield(&pos, "mode", mode);
		if (strcmp(mode, "timestamp") == 0 || strcmp(mode, "id") == 0)
		{
			char	   *value;
			char	   *key;

			if (!incr_greatest(n, inc, incr_stored(plan, n, inc, mode), &value, &key))
				continue;		/* nothing loaded, nothing stored yet: stays */
			jfield(&pos, "column", MetaetlJStr(inc, "column"));
			if (MetaetlJStr(inc, "tie_breaker"))
				jfield(&pos, "tie_breaker", MetaetlJStr(inc, "tie_breaker"));
			jfield(&pos, "value", value);
			if (MetaetlJStr(inc, "tie_breaker"))
				jfield(&pos, "key", key);
		}
		else if (strcmp(mode, "log_cdc") == 0 && n->incr_state)
		{
			char	   *lsn = pstrdup(n->incr_state);
			char	   *sp = strchr(lsn, ' ');

			if (sp)
				*sp = '\0';
			slot = MetaetlJStr(inc, "slot");
			jfield(&pos, "slot", slot);
			jfield(&pos, "lsn", lsn);
			/* a first read: the next one takes what this snapshot missed */
			if (sp)
				jfield(&pos, "snapshot", sp + 1);
		}
		else if (n->incr_state)
		{
			char	   *snap = pstrdup(n->incr_state);
			char	   *sp = strchr(snap, ' ');

			if (sp)
			{
				/* the change table's name: stable across a dump and restore, an oid is not */
				*sp = '\0';
				relid = (Oid) strtoul(sp + 1, NULL, 10);
				jfield(&pos, "change_table", MetaetlChangeTable(relid));
				jfield(&pos, "relation", MetaetlJStr(n->conf, "table"));
			}
			jfield(&pos, "snapshot", snap);
		}
		else
			continue;
		appendStringInfo(&pos, ", \"rows\": " INT64_FORMAT "}", n->rows < 0 ? 0 : n->rows);

		values[0] = CStringGetTextDatum(pipeline_id);
		values[1] = CStringGetTextDatum(n->id);
		values[2] = CStringGetTextDatum(mode);
		values[3] = DirectFunctionCall1(jsonb_in, CStringGetDatum(pos.data));
		values[4] = Int64GetDatum(run_id);
		MetaetlOwnerBegin(&st);
		MetaetlSpiExec("INSERT INTO etl.incremental_positions AS p (pipeline_id, source_id, mode, position, run_id)"
					   " VALUES ($1, $2, $3, $4, $5)"
					   " ON CONFLICT (pipeline_id, source_id) DO UPDATE"
					   "   SET mode = EXCLUDED.mode, position = EXCLUDED.position,"
					   "       run_id = EXCLUDED.run_id, updated_at = pg_catalog.clock_timestamp()",
					   5, types, values, nulls, false, 0);
		if (OidIsValid(relid))
			purge = list_append_unique_oid(purge, relid);
		if (slot)
			MetaetlClaimSlot(slot, pipeline_id, n->id);
		MetaetlOwnerEnd(&st);
	}
	return purge;
}
