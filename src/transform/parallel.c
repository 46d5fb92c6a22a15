/*-------------------------------------------------------------------------
 *
 * src/transform/parallel.c
 *		The parallel engine's key-range split: dynamic background workers
 *		each compute the pipeline's leading steps for one range of a source's
 *		key, the leader continues from the union of their results.
 *
 * Which steps run in the workers: starting at the split source, the chain
 * of steps that each have one consumer and give the same rows whether they
 * run on the whole source or on key ranges — filter, map, select, drop,
 * fill_null, scalar udf, inner/left/semi/anti join with a right side not
 * derived from the split source, and, while the key column is carried
 * unchanged, aggregate / dedupe / window grouped or partitioned by it.
 * The split key is the source's "split_key" (a column, or true for its
 * single-column integer primary key); "workers" (default
 * max_parallel_workers_per_gather, 2..8) ranges of equal width between the
 * key's min and max.
 *
 * Each worker connects as the calling user, runs
 * CREATE UNLOGGED TABLE etl_work.<name> AS <its range's query> and commits;
 * the leader reads the tables through a temp view inside its own
 * transaction (targets still load there, atomically) and drops them.
 * Workers see committed data only, so the split is used only in READ
 * COMMITTED transactions that had written nothing before the run began (the
 * run's own temp tables are never read by workers: the chain stops at a
 * materialised node); otherwise, and when
 * no worker slot is free, the engine falls back to PostgreSQL's parallel
 * query inside the transaction.  Tables left by a leader that died are
 * dropped by the next parallel run.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "optimizer/cost.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/dsm.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "transform/transform.h"

#define PAR_MAX_WORKERS 8
#define PAR_SQL_MAX 65536

typedef struct ParWorkerSlot
{
	volatile int status;		/* 0 not started, 1 running, 4 ready to commit,
								 * 2 committed, 3 failed */
	int64		rows;
	int			sqlerrcode;		/* the failed worker's error */
	char		err[1024];
	char		errctx[1024];	/* its context: which step's expression */
	char		sql[PAR_SQL_MAX];
} ParWorkerSlot;

typedef struct ParShared
{
	Oid			dbid;
	Oid			userid;
	int			nworkers;
	volatile int decision;		/* 0 pending, 1 commit, 2 abort */
	ParWorkerSlot w[FLEXIBLE_ARRAY_MEMBER];
} ParShared;

PGDLLEXPORT void metaetl_parallel_worker_main(Datum arg);

static int	par_counter = 0;

/* worker: run one CREATE UNLOGGED TABLE ... AS and commit */
void
metaetl_parallel_worker_main(Datum arg)
{
	dsm_segment *seg;
	ParShared  *sh;
	int			idx;
	ParWorkerSlot *slot;

	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	memcpy(&idx, MyBgworkerEntry->bgw_extra, sizeof(int));
	seg = dsm_attach(DatumGetUInt32(arg));
	if (seg == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("metaetl parallel worker could not attach to its shared memory")));
	sh = dsm_segment_address(seg);
	slot = &sh->w[idx];
	BackgroundWorkerInitializeConnectionByOid(sh->dbid, sh->userid, 0);
	slot->status = 1;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, "metaetl parallel worker");
	PG_TRY();
	{
		SPI_connect();

		/*
		 * A lock the leader holds (LOCK TABLE without writing) would make a
		 * worker wait for a leader that waits for it: give up instead.
		 */
		SPI_execute("SET LOCAL lock_timeout = '30s'", false, 0);
		if (SPI_execute(slot->sql, false, 0) < 0)
			elog(ERROR, "SPI_execute failed");
		slot->rows = (int64) SPI_processed;
		SPI_finish();

		/* commit only when every range succeeded: wait for the leader */
		slot->status = 4;
		while (sh->decision == 0)
		{
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 10,
							 PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
			CHECK_FOR_INTERRUPTS();
		}
		if (sh->decision != 1)
			ereport(ERROR,
					(errcode(ERRCODE_QUERY_CANCELED),
					 errmsg("metaetl parallel worker rolled back: another range failed")));
	}
	PG_CATCH();
	{
		ErrorData  *ed;

		MemoryContextSwitchTo(TopMemoryContext);
		ed = CopyErrorData();
		strlcpy(slot->err, ed->message ? ed->message : "unknown error", sizeof(slot->err));
		strlcpy(slot->errctx, ed->context ? ed->context : "", sizeof(slot->errctx));
		slot->sqlerrcode = ed->sqlerrcode;
		slot->status = 3;
		PG_RE_THROW();
	}
	PG_END_TRY();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);
	slot->status = 2;
	dsm_detach(seg);
	proc_exit(0);
}

static bool
chain_has_col(MetaetlNode *n, const char *name)
{
	ListCell   *lc;

	foreach(lc, n->cols)
		if (strcmp(((MetaetlColumn *) lfirst(lc))->name, name) == 0)
			return true;
	return false;
}

static bool
list_has_str(List *l, const char *s)
{
	ListCell   *lc;

	foreach(lc, l)
		if (strcmp(lfirst(lc), s) == 0)
			return true;
	return false;
}

/* is node n (reading the split chain) safe to run per key range? */
static bool
step_splittable(MetaetlPlan *plan, MetaetlNode *n, const char *key, bool *key_kept)
{
	const char *t = n->type;

	if (strcmp(t, "filter") == 0 || strcmp(t, "fill_null") == 0 || strcmp(t, "unpivot") == 0)
		return true;
	if (strcmp(t, "select") == 0 || strcmp(t, "drop") == 0)
	{
		*key_kept = *key_kept && chain_has_col(n, key);
		return true;
	}
	if (strcmp(t, "map") == 0)
	{
		JsonbContainer *m = MetaetlJObj(n->params, "mapping");
		JsonbContainer *c = MetaetlJObj(n->params, "columns");
		JsonbContainer *k = MetaetlJObj(n->params, "casts");

		if (MetaetlJGet(m, key) || MetaetlJGet(c, key) || MetaetlJGet(k, key))
			*key_kept = false;
		return true;
	}
	if (strcmp(t, "udf") == 0)
	{
		char	   *out = MetaetlJStr(n->params, "output");

		if (out && strcmp(out, key) == 0)
			*key_kept = false;
		return true;			/* scalar or set-returning: per row either way */
	}
	if (strcmp(t, "join") == 0)
	{
		char	   *how = MetaetlJStr(n->params, "how");
		char	   *right = MetaetlJStr(n->params, "right");
		MetaetlNode *r = right ? MetaetlFindNode(plan, right, true) : NULL;

		if (how && strcmp(how, "inner") != 0 && strcmp(how, "left") != 0 &&
			strcmp(how, "semi") != 0 && strcmp(how, "anti") != 0)
			return false;
		/* the right side must be whole: a source other than the split one, or a relation */
		if (r != NULL && (!r->is_source || r->temp != NULL))
			return false;
		/* file sources live in this session's temp tables */
		if (r != NULL && (strcmp(r->type, "csv") == 0 || strcmp(r->type, "json") == 0 ||
						  strcmp(r->type, "ndjson") == 0))
			return false;
		return true;
	}
	if (!*key_kept)
		return false;
	if (strcmp(t, "aggregate") == 0)
		return list_has_str(MetaetlJStrList(n->params, "groupby_cols", n->id), key);
	if (strcmp(t, "dedupe") == 0)
		return list_has_str(MetaetlJStrList(n->params, "keys", n->id), key);
	if (strcmp(t, "window") == 0)
		return list_has_str(MetaetlJStrList(n->params, "partition_by", n->id), key);
	return false;
}

/*
 * The split key: split_key, or with split_key: true the table's
 * single-column integer primary key.  Without split_key no workers: a split
 * pays off when the steps after it reduce the rows (an aggregate by the key),
 * which only the pipeline's author knows.
 */
static char *
split_key(MetaetlNode *src)
{
	JsonbValue *v = MetaetlJGet(src->conf, "split_key");
	char	   *table = MetaetlJStr(src->conf, "table");
	Datum		arg;
	Oid			t = TEXTOID;

	if (v == NULL || table == NULL || (v->type == jbvBool && !v->val.boolean))
		return NULL;
	if (v->type == jbvString)
		return MetaetlJValueText(v);
	arg = CStringGetTextDatum(MetaetlQualifiedName(table, "table"));
	if (SPI_execute_with_args("SELECT a.attname::pg_catalog.text FROM pg_catalog.pg_index i "
							  "JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) i.indrelid "
							  " AND a.attnum OPERATOR(pg_catalog.=) i.indkey[0] "
							  "WHERE i.indrelid OPERATOR(pg_catalog.=) pg_catalog.to_regclass($1) AND i.indisprimary "
							  "AND i.indnatts OPERATOR(pg_catalog.=) 1 "
							  "AND a.atttypid IN ('int2'::pg_catalog.regtype, 'int4'::pg_catalog.regtype, 'int8'::pg_catalog.regtype)",
							  1, &t, &arg, NULL, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		return NULL;
	return SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
}

/* drop result tables left by earlier runs of this session or of sessions that died */
static void
par_housekeeping(void)
{
	MetaetlExec("DO $metaetl$ DECLARE r record; BEGIN "
				"FOR r IN SELECT c.relname FROM pg_catalog.pg_class c "
				" WHERE c.relnamespace OPERATOR(pg_catalog.=) 'etl_work'::pg_catalog.regnamespace "
				"   AND c.relname OPERATOR(pg_catalog.~) '^metaetl_p[0-9]+_' "
				"   AND pg_catalog.has_table_privilege(c.oid, 'DELETE') "
				"   AND (pg_catalog.substring(c.relname, '^metaetl_p([0-9]+)_')::int OPERATOR(pg_catalog.=) pg_catalog.pg_backend_pid() "
				"        OR NOT EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity a "
				"        WHERE a.pid OPERATOR(pg_catalog.=) pg_catalog.substring(c.relname, '^metaetl_p([0-9]+)_')::int)) "
				"LOOP EXECUTE pg_catalog.format('DROP TABLE IF EXISTS etl_work.%I', r.relname); END LOOP; "
				"END $metaetl$", 0);
}

/* start up to nw workers and wait for all of them; returns how many started */
static int
par_launch(dsm_segment *seg, int nw, BackgroundWorkerHandle **handles)
{
	ParShared  *sh = dsm_segment_address(seg);
	volatile int started = 0;

	PG_TRY();
	{
		for (int i = 0; i < nw; i++)
		{
			BackgroundWorker bgw;

			memset(&bgw, 0, sizeof(bgw));
			bgw.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
			bgw.bgw_start_time = BgWorkerStart_RecoveryFinished;
			bgw.bgw_restart_time = BGW_NEVER_RESTART;
			snprintf(bgw.bgw_library_name, BGW_MAXLEN, "metaetl");
			snprintf(bgw.bgw_function_name, BGW_MAXLEN, "metaetl_parallel_worker_main");
			snprintf(bgw.bgw_name, BGW_MAXLEN, "metaetl parallel worker %d for PID %d", i, MyProcPid);
			snprintf(bgw.bgw_type, BGW_MAXLEN, "metaetl parallel worker");
			bgw.bgw_main_arg = UInt32GetDatum(dsm_segment_handle(seg));
			memcpy(bgw.bgw_extra, &i, sizeof(int));
			bgw.bgw_notify_pid = MyProcPid;
			if (!RegisterDynamicBackgroundWorker(&bgw, &handles[i]))
				break;
			started = started + 1;
		}
		/* phase 1: every started worker has run its query (or stopped) */
		for (;;)
		{
			bool		all = true;
			bool		failed = false;
			pid_t		pid;

			for (int i = 0; i < started; i++)
			{
				int			st = sh->w[i].status;

				if (st == 3 ||
					((st == 0 || st == 1) &&
					 GetBackgroundWorkerPid(handles[i], &pid) == BGWH_STOPPED))
					failed = true;
				else if (st != 4)
					all = false;
			}
			if (failed || started < nw)
			{
				sh->decision = 2;
				break;
			}
			if (all)
			{
				sh->decision = 1;
				break;
			}
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 10,
							 PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
			CHECK_FOR_INTERRUPTS();
		}
		/* phase 2: they commit (or roll back) and exit */
		for (int i = 0; i < started; i++)
			WaitForBackgroundWorkerShutdown(handles[i]);
	}
	PG_CATCH();
	{
		sh->decision = 2;
		for (int i = 0; i < started; i++)
			TerminateBackgroundWorker(handles[i]);
		PG_RE_THROW();
	}
	PG_END_TRY();
	return started;
}

/*
 * MetaetlParallelSplit
 *		After the nodes compiled (pushdown form), run the splittable chain in
 *		background workers and make its last node read their results.
 *		Returns false (with plan->engine_reason extended) when it does not
 *		apply; the caller then relies on parallel query alone.
 */
bool
MetaetlParallelSplit(MetaetlPlan *plan)
{
	MetaetlNode *src = NULL;
	MetaetlNode *frontier;
	char	   *key = NULL;
	bool		key_kept = true;
	ListCell   *lc;
	int			nw;
	char	   *wn;
	int64		lo,
				hi;
	bool		isnull;
	dsm_segment *seg;
	ParShared  *sh;
	BackgroundWorkerHandle *handles[PAR_MAX_WORKERS];
	char	   *names[PAR_MAX_WORKERS];
	char	   *saved_body;
	int			started = 0;
	StringInfoData view;
	char	   *why = NULL;

	if (XactIsoLevel != XACT_READ_COMMITTED)
		why = "the transaction is not READ COMMITTED";
	else if (plan->xact_had_writes)
		why = "the transaction has uncommitted writes that workers could not see";
	else if (!OidIsValid(get_namespace_oid("etl_work", true)))
		why = "schema etl_work is missing";
	else
	{
		bool		canlogin;
		bool		isnull;

		/* PostgreSQL 15 workers connect only as roles that may log in */
		MetaetlExec(psprintf("SELECT rolcanlogin FROM pg_catalog.pg_roles WHERE oid OPERATOR(pg_catalog.=) %u",
							 GetUserId()), SPI_OK_SELECT);
		canlogin = SPI_processed == 1 &&
			DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		if (!canlogin)
			why = "the current role cannot log in, so background workers cannot connect as it";
	}
	if (why == NULL)
	{
		foreach(lc, plan->nodes)
		{
			MetaetlNode *n = lfirst(lc);

			if (n->is_source && n->consumers == 1 && n->temp == NULL && MetaetlJStr(n->conf, "table") &&
				(key = split_key(n)) != NULL && chain_has_col(n, key))
			{
				src = n;
				break;
			}
		}
		if (src == NULL)
			why = "no table source declares split_key (a column, or true with a single-column integer primary key)";
		else
		{
			foreach(lc, src->cols)
			{
				MetaetlColumn *c = lfirst(lc);

				if (strcmp(c->name, key) == 0 && c->typid != INT2OID && c->typid != INT4OID &&
					c->typid != INT8OID)
					why = psprintf("split_key \"%s\" is not an integer column", key);
			}
		}
	}
	if (why)
	{
		plan->engine_reason = psprintf("%s; no key-range workers: %s", plan->engine_reason, why);
		return false;
	}

	/* the chain of splittable single-consumer steps after the source */
	frontier = src;
	for (;;)
	{
		MetaetlNode *next = NULL;

		if (frontier->consumers != 1)
			break;
		foreach(lc, plan->nodes)
		{
			MetaetlNode *n = lfirst(lc);

			if (!n->is_source && strcmp(n->input, frontier->id) == 0 && strcmp(n->type, "union") != 0)
				next = n;
		}
		/* a materialised node is a temp table of this session: workers cannot read it */
		if (next == NULL || next->temp != NULL || !step_splittable(plan, next, key, &key_kept))
			break;
		/* the key must still be there, by name, for later key-local steps */
		key_kept = key_kept && chain_has_col(next, key);
		frontier = next;
	}

	/* ranges of the key */
	MetaetlExec(psprintf("SELECT pg_catalog.min(%s)::pg_catalog.int8, pg_catalog.max(%s)::pg_catalog.int8 FROM (%s) s",
						 quote_identifier(key), quote_identifier(key), src->body), SPI_OK_SELECT);
	lo = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (isnull)
	{
		plan->engine_reason = psprintf("%s; no key-range workers: source \"%s\" is empty", plan->engine_reason, src->id);
		return false;
	}
	hi = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	wn = MetaetlJStr(src->conf, "workers");
	nw = wn ? pg_strtoint32(wn) : Max(2, max_parallel_workers_per_gather);
	nw = Max(1, Min(nw, PAR_MAX_WORKERS));
	if ((hi - lo + 1) < nw)
		nw = (int) (hi - lo + 1);

	par_housekeeping();
	seg = dsm_create(offsetof(ParShared, w) + sizeof(ParWorkerSlot) * nw, 0);
	sh = dsm_segment_address(seg);
	memset(sh, 0, offsetof(ParShared, w) + sizeof(ParWorkerSlot) * nw);
	sh->dbid = MyDatabaseId;
	sh->userid = GetUserId();
	sh->nworkers = nw;
	par_counter++;
	saved_body = src->body;
	for (int i = 0; i < nw; i++)
	{
		int64		width = (hi - lo) / nw + 1;
		int64		a = lo + width * i;
		int64		b = (i == nw - 1) ? hi : a + width - 1;
		char	   *sql;

		names[i] = psprintf("etl_work.metaetl_p%d_%d_%d", MyProcPid, par_counter, i);
		/* rows with a NULL key go to the first range */
		src->body = psprintf("SELECT * FROM (%s) metaetl_s WHERE %s BETWEEN " INT64_FORMAT " AND " INT64_FORMAT "%s",
							 saved_body, quote_identifier(key), a, b,
							 i == 0 ? psprintf(" OR %s IS NULL", quote_identifier(key)) : "");
		sql = psprintf("CREATE UNLOGGED TABLE %s AS\n%s", names[i], MetaetlNodeQuery(plan, frontier));
		if (strlen(sql) >= PAR_SQL_MAX)
			elog(ERROR, "parallel worker query too long");
		strlcpy(sh->w[i].sql, sql, PAR_SQL_MAX);
		MetaetlScript(plan, sql);
	}
	src->body = saved_body;

	started = par_launch(seg, nw, handles);

	/* every range must have committed; otherwise report the cause */
	{
		bool		ok = started == nw && sh->decision == 1;
		char	   *cause = NULL;
		char	   *cause_ctx = NULL;
		int			cause_code = 0;
		int			cause_idx = -1;

		for (int i = 0; i < started; i++)
		{
			if (sh->w[i].status != 2)
				ok = false;
			if (sh->w[i].err[0] && cause == NULL &&
				strncmp(sh->w[i].err, "metaetl parallel worker rolled back", 35) != 0)
			{
				cause = pstrdup(sh->w[i].err);
				cause_ctx = pstrdup(sh->w[i].errctx);
				cause_code = sh->w[i].sqlerrcode;
				cause_idx = i;
			}
		}
		if (!ok)
		{
			/* nothing committed unless all were ready; drop any stragglers */
			for (int j = 0; j < nw; j++)
				MetaetlExec(psprintf("DROP TABLE IF EXISTS %s", names[j]), SPI_OK_UTILITY);
			dsm_detach(seg);
			/*
			 * The worker's own SQLSTATE and context (the step whose
			 * expression failed, stepctx.c), copied out of the segment
			 * before it was detached, so the run is classified and
			 * attributed as under the other engines.
			 */
			if (cause)
				ereport(ERROR,
						(errcode(cause_code ? cause_code : ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
						 errmsg("pipeline \"%s\": parallel worker %d failed: %s", plan->pipeline_id,
								cause_idx, cause),
						 errdetail("Worker %d computed range %d of %d of source \"%s\" split on %s; no range was kept.",
								   cause_idx, cause_idx + 1, nw, src->id, key),
						 cause_ctx[0] ? errcontext("%s", cause_ctx) : 0));
			plan->engine_reason = psprintf("%s; no key-range workers: %s", plan->engine_reason,
										   started < nw ? "no background worker slot was free" :
										   "a worker exited before running its query");
			return false;
		}
	}
	initStringInfo(&view);
	for (int i = 0; i < nw; i++)
	{
		appendStringInfo(&view, "%sSELECT * FROM %s", i ? " UNION ALL " : "", names[i]);
		frontier->rows = (frontier->rows < 0 ? 0 : frontier->rows) + sh->w[i].rows;
	}
	dsm_detach(seg);
	plan->par_tables = NIL;
	for (int i = 0; i < nw; i++)
		plan->par_tables = lappend(plan->par_tables, names[i]);
	frontier->body = view.data;
	frontier->materialize = false;
	plan->engine_reason = psprintf("%s; %d key-range workers on %s.%s ran %s through \"%s\"",
								   plan->engine_reason, nw, quote_identifier(src->id), quote_identifier(key),
								   src == frontier ? "the source" : "the steps", frontier->id);
	return true;
}

/* drop the workers' tables (the leader's transaction) */
void
MetaetlParallelCleanup(MetaetlPlan *plan)
{
	ListCell   *lc;

	foreach(lc, plan->par_tables)
		MetaetlExec(psprintf("DROP TABLE IF EXISTS %s", (char *) lfirst(lc)), SPI_OK_UTILITY);
	plan->par_tables = NIL;
}
