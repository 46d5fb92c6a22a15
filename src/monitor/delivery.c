/*-------------------------------------------------------------------------
 *
 * src/monitor/delivery.c
 *		The alert outbox: etl.deliver_pending() and the delivery worker.
 *
 * etl.raise_alert() (SQL) queues one row per channel in
 * etl.alert_deliveries; nothing is sent in the transaction that raised the
 * alert, so no delivery ever blocks or fails a run.  Two ways send them:
 *
 * - the static background worker "metaetl alert delivery", registered when
 *   the library is preloaded, connected to metaetl.database.  Every second,
 *   and as soon as a transaction that queued deliveries commits (it sets the
 *   worker's latch, found through shared memory), it escalates due alerts
 *   (etl.process_escalations), records duration breaches of runs still going
 *   (etl.evaluate_running_slas, every 5 s) and sends due deliveries: each is
 *   claimed in a short transaction (status 'sending'), sent with no
 *   transaction open, and its attempt recorded in a second transaction.
 *   A crash between the two leaves 'sending' rows, which the worker puts
 *   back to 'pending' when it starts.
 * - etl.deliver_pending(max) from SQL, which sends in the caller's session and
 *   transaction (rows locked FOR UPDATE SKIP LOCKED, so it and the worker
 *   never send the same row); useful without preload and in tests.
 *
 * Retries and backoff are decided by etl._record_delivery_attempt (SQL).
 *
 * A second kind of delivery shares the transport: OpenLineage events
 * (src/lineage, etl.lineage_events in sql/install/87_lineage.sql).  Their
 * SQL hands out rows of the same shape (id, label, opened secrets, rendered
 * request, timeout) and records attempts the same way; the worker sends
 * them when no alert is due.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "metaetl.h"
#include "monitor/monitor.h"
#include "security/security.h"

PG_FUNCTION_INFO_V1(metaetl_deliver_pending);
PG_FUNCTION_INFO_V1(metaetl_wake_delivery_worker);
PG_FUNCTION_INFO_V1(metaetl_test_alert_channel);

/*
 * Shared state (only when preloaded): which PGPROC the worker is, so that a
 * transaction that queued deliveries can set the worker's latch when it
 * commits instead of letting them wait for the next one-second tick.
 */
typedef struct MonitorShared
{
	volatile int worker_pgprocno;	/* -1 when no worker runs */
} MonitorShared;

static MonitorShared *monitor_shared = NULL;
static bool wake_callback_registered = false;
static bool wake_at_commit = false;

/* one delivery, copied out of SPI */
typedef struct DeliveryItem
{
	int64		delivery_id;
	char	   *channel;
	Jsonb	   *secrets;
	Jsonb	   *rendered;
	long		timeout_ms;
	bool		lineage;		/* an OpenLineage event, not an alert */
} DeliveryItem;

#define DELIVERY_COLUMNS \
	"d.delivery_id, d.channel, etl._open_alert_secrets_safe(c.secrets), " \
	"etl._render_alert_delivery_safe(c.type, c.config OPERATOR(pg_catalog.||) etl._open_alert_secrets_safe(c.secrets)," \
	"                                d.payload, d.delivery_id), " \
	"COALESCE((c.config OPERATOR(pg_catalog.->>) 'timeout_ms')::pg_catalog.numeric::pg_catalog.int8, 10000)"

#define DELIVERY_DUE \
	"d.status OPERATOR(pg_catalog.=) 'pending' " \
	"AND d.next_attempt_at OPERATOR(pg_catalog.<=) pg_catalog.clock_timestamp()"

/* etl.deliver_pending: due rows, locked for this transaction */
static const char *delivery_fetch_sql =
"SELECT " DELIVERY_COLUMNS
"  FROM etl.alert_deliveries d"
"  JOIN etl.alert_channels c ON c.name OPERATOR(pg_catalog.=) d.channel"
" WHERE " DELIVERY_DUE
" ORDER BY d.next_attempt_at, d.delivery_id"
" LIMIT $1"
"   FOR UPDATE OF d SKIP LOCKED";

/* the worker: claim the next due row */
static const char *delivery_claim_sql =
"UPDATE etl.alert_deliveries d SET status = 'sending'"
"  FROM etl.alert_channels c"
" WHERE c.name OPERATOR(pg_catalog.=) d.channel"
"   AND d.delivery_id OPERATOR(pg_catalog.=) ("
"       SELECT x.delivery_id FROM etl.alert_deliveries x"
"        WHERE x.status OPERATOR(pg_catalog.=) 'pending'"
"          AND x.next_attempt_at OPERATOR(pg_catalog.<=) pg_catalog.clock_timestamp()"
"        ORDER BY x.next_attempt_at, x.delivery_id"
"        LIMIT 1 FOR UPDATE SKIP LOCKED)"
" RETURNING " DELIVERY_COLUMNS;

static const char *delivery_record_sql =
"SELECT etl._record_delivery_attempt($1, $2, $3, $4, $5, $6, $7)";

/* the same three steps for OpenLineage events (87_lineage.sql) */
static const char *lineage_fetch_sql = "SELECT * FROM etl._lineage_events_due($1)";
static const char *lineage_claim_sql = "SELECT * FROM etl._lineage_event_claim()";
static const char *lineage_record_sql =
"SELECT etl._record_lineage_attempt($1, $2, $3, $4, $5, $6, $7)";

/* copy row i of SPI_tuptable into an item allocated in cxt */
static DeliveryItem *
delivery_copy_item(int i, MemoryContext cxt, bool lineage)
{
	HeapTuple	tup = SPI_tuptable->vals[i];
	TupleDesc	desc = SPI_tuptable->tupdesc;
	MemoryContext old = MemoryContextSwitchTo(cxt);
	DeliveryItem *item = palloc0(sizeof(DeliveryItem));
	bool		isnull;
	Datum		d;

	item->delivery_id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
	item->channel = SPI_getvalue(tup, desc, 2);
	d = SPI_getbinval(tup, desc, 3, &isnull);
	item->secrets = isnull ? NULL : DatumGetJsonbPCopy(d);
	d = SPI_getbinval(tup, desc, 4, &isnull);
	item->rendered = isnull ? NULL : DatumGetJsonbPCopy(d);
	item->timeout_ms = DatumGetInt64(SPI_getbinval(tup, desc, 5, &isnull));
	item->lineage = lineage;
	MemoryContextSwitchTo(old);
	return item;
}

/* send one item; failures come back in *res */
static void
delivery_send(DeliveryItem *item, MetaetlCurlResult *res)
{
	if (item->rendered == NULL)
	{
		memset(res, 0, sizeof(*res));
		res->error = pstrdup(item->secrets == NULL ?
							 "the channel's secrets could not be opened (see etl._open_secret)" :
							 "the channel's configuration could not be rendered");
		return;
	}
	MetaetlChannelSend(item->rendered, item->secrets, item->timeout_ms, res);
}

/* record the attempt (SPI connected, in a transaction); returns the new status */
static char *
delivery_record(DeliveryItem *item, MetaetlCurlResult *res)
{
	Oid			types[7] = {INT8OID, BOOLOID, INT4OID, TEXTOID, FLOAT8OID, TEXTOID, TEXTOID};
	Datum		values[7];
	char		nulls[7];
	bool		smtp = false;
	char	   *reply = NULL;
	int			ret;

	if (item->rendered)
	{
		JsonbValue *kind = getKeyJsonValueFromContainer(&item->rendered->root, "kind", 4, NULL);

		smtp = kind && kind->type == jbvString && kind->val.string.len == 4 &&
			strncmp(kind->val.string.val, "smtp", 4) == 0;
	}
	if (smtp)
		reply = res->reply ? res->reply : (res->status ? psprintf("%ld", res->status) : NULL);

	memset(nulls, ' ', sizeof(nulls));
	values[0] = Int64GetDatum(item->delivery_id);
	values[1] = BoolGetDatum(res->ok);
	values[2] = Int32GetDatum((int32) res->status);
	if (smtp || res->status == 0)
		nulls[2] = 'n';
	values[3] = reply ? CStringGetTextDatum(reply) : (Datum) 0;
	nulls[3] = reply ? ' ' : 'n';
	values[4] = Float8GetDatum(res->latency_ms);
	values[5] = res->error ? CStringGetTextDatum(res->error) : (Datum) 0;
	nulls[5] = res->error ? ' ' : 'n';
	values[6] = res->response ? CStringGetTextDatum(res->response) : (Datum) 0;
	nulls[6] = res->response ? ' ' : 'n';

	ret = SPI_execute_with_args(item->lineage ? lineage_record_sql : delivery_record_sql,
								7, types, values, nulls, false, 1);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not record alert delivery attempt: %s", SPI_result_code_string(ret));
	return SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
}

/*
 * etl.deliver_pending(max int DEFAULT 100) returns int
 *		Send up to max due deliveries now, in this transaction; returns the
 *		number of attempts made.
 */
Datum
metaetl_deliver_pending(PG_FUNCTION_ARGS)
{
	int32		max = PG_ARGISNULL(0) ? 100 : PG_GETARG_INT32(0);
	MemoryContext callcxt = CurrentMemoryContext;
	MemoryContext itemcxt;
	List	   *items = NIL;
	ListCell   *lc;
	Oid			argtypes[1] = {INT4OID};
	Datum		args[1];
	int			ret;
	int			n = 0;
	uint64		i;

	if (max < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max must not be negative"),
				 errdetail("etl.deliver_pending was called with max = %d.", max)));

	itemcxt = AllocSetContextCreate(callcxt, "metaetl delivery", ALLOCSET_DEFAULT_SIZES);

	SPI_connect();
	args[0] = Int32GetDatum(max);
	ret = SPI_execute_with_args(delivery_fetch_sql, 1, argtypes, args, NULL, false, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not read the alert outbox: %s", SPI_result_code_string(ret));
	for (i = 0; i < SPI_processed; i++)
		items = lappend(items, delivery_copy_item((int) i, callcxt, false));
	if (list_length(items) < max)
	{
		args[0] = Int32GetDatum(max - list_length(items));
		ret = SPI_execute_with_args(lineage_fetch_sql, 1, argtypes, args, NULL, false, 0);
		if (ret != SPI_OK_SELECT)
			elog(ERROR, "could not read the lineage outbox: %s", SPI_result_code_string(ret));
		for (i = 0; i < SPI_processed; i++)
			items = lappend(items, delivery_copy_item((int) i, callcxt, true));
	}

	foreach(lc, items)
	{
		DeliveryItem *item = (DeliveryItem *) lfirst(lc);
		MetaetlCurlResult res;
		MemoryContext old;

		CHECK_FOR_INTERRUPTS();
		MemoryContextReset(itemcxt);
		old = MemoryContextSwitchTo(itemcxt);
		delivery_send(item, &res);
		MemoryContextSwitchTo(old);
		delivery_record(item, &res);
		n++;
	}
	SPI_finish();
	MemoryContextDelete(itemcxt);

	PG_RETURN_INT32(n);
}

/*
 * etl.test_alert_channel(name text, message text) returns jsonb
 *		Send a test notification through one channel now, without recording
 *		anything, and say how it went: {"ok", "http_status" | "smtp_reply",
 *		"latency_ms", "error", "response"} (redacted).
 */
Datum
metaetl_test_alert_channel(PG_FUNCTION_ARGS)
{
	text	   *name = PG_GETARG_TEXT_PP(0);
	text	   *message = PG_GETARG_TEXT_PP(1);
	MemoryContext callcxt = CurrentMemoryContext;
	Oid			argtypes[6] = {TEXTOID, BOOLOID, INT4OID, TEXTOID, FLOAT8OID, TEXTOID};
	Datum		args[6];
	char		nulls[6];
	DeliveryItem *item;
	MetaetlCurlResult res;
	Datum		result;
	bool		isnull;
	bool		smtp;
	int			ret;

	SPI_connect();
	args[0] = PointerGetDatum(name);
	args[1] = PointerGetDatum(message);
	argtypes[1] = TEXTOID;
	ret = SPI_execute_with_args(
		"SELECT 0::pg_catalog.int8, c.name, etl._open_alert_secrets_safe(c.secrets),"
		"       etl._render_alert_delivery_safe(c.type,"
		"           c.config OPERATOR(pg_catalog.||) etl._open_alert_secrets_safe(c.secrets),"
		"           pg_catalog.jsonb_build_object('event', 'test', 'escalation_level', 0, 'alert_id', 0,"
		"               'alert_type', 'system_error', 'priority', 'low', 'status', 'open',"
		"               'message', $2, 'occurrences', 1), NULL),"
		"       COALESCE((c.config OPERATOR(pg_catalog.->>) 'timeout_ms')::pg_catalog.numeric::pg_catalog.int8, 10000)"
		"  FROM etl.alert_channels c WHERE c.name OPERATOR(pg_catalog.=) $1",
		2, argtypes, args, NULL, true, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not read alert channel: %s", SPI_result_code_string(ret));
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("alert channel \"%s\" does not exist", text_to_cstring(name)),
				 errhint("See etl.alert_channels_public for the channels there are.")));
	item = delivery_copy_item(0, callcxt, false);

	delivery_send(item, &res);

	smtp = false;
	if (item->rendered)
	{
		JsonbValue *kind = getKeyJsonValueFromContainer(&item->rendered->root, "kind", 4, NULL);

		smtp = kind && kind->type == jbvString && kind->val.string.len == 4 &&
			strncmp(kind->val.string.val, "smtp", 4) == 0;
	}
	argtypes[1] = BOOLOID;
	memset(nulls, ' ', sizeof(nulls));
	args[0] = res.error ? CStringGetTextDatum(res.error) : (Datum) 0;
	nulls[0] = res.error ? ' ' : 'n';
	args[1] = BoolGetDatum(res.ok);
	args[2] = Int32GetDatum((int32) res.status);
	nulls[2] = (smtp || res.status == 0) ? 'n' : ' ';
	args[3] = smtp && res.reply ? CStringGetTextDatum(res.reply) : (Datum) 0;
	nulls[3] = smtp && res.reply ? ' ' : 'n';
	args[4] = Float8GetDatum(res.latency_ms);
	args[5] = res.response ? CStringGetTextDatum(res.response) : (Datum) 0;
	nulls[5] = res.response ? ' ' : 'n';
	ret = SPI_execute_with_args(
		"SELECT pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object("
		"  'ok', $2, 'http_status', $3, 'smtp_reply', $4, 'latency_ms', pg_catalog.round($5::pg_catalog.numeric, 3),"
		"  'error', $1, 'response', $6))",
		6, argtypes, args, nulls, true, 1);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not build the test result");
	result = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	result = SPI_datumTransfer(result, false, -1);
	SPI_finish();
	PG_RETURN_DATUM(result);
}

/* sets the worker's latch once the transaction that queued deliveries commits */
static void
monitor_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
			if (wake_at_commit && monitor_shared != NULL)
			{
				int			procno = monitor_shared->worker_pgprocno;

				if (procno >= 0)
					SetLatch(&ProcGlobal->allProcs[procno].procLatch);
			}
			wake_at_commit = false;
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			wake_at_commit = false;
			break;
		default:
			break;
	}
}

/*
 * etl._wake_delivery_worker() returns boolean
 *		Ask for the delivery worker to be woken when this transaction commits;
 *		false when there is no worker (library not preloaded).
 */
Datum
metaetl_wake_delivery_worker(PG_FUNCTION_ARGS)
{
	if (monitor_shared == NULL)
		PG_RETURN_BOOL(false);
	if (!wake_callback_registered)
	{
		RegisterXactCallback(monitor_xact_callback, NULL);
		wake_callback_registered = true;
	}
	wake_at_commit = true;
	PG_RETURN_BOOL(monitor_shared->worker_pgprocno >= 0);
}

/* ---------------------------------------------------------------------------
 * The background worker
 * ---------------------------------------------------------------------------
 */

#define DELIVERY_BATCH 20				/* deliveries per wake-up before housekeeping again */
#define DELIVERY_NAPTIME_MS 1000L
#define RUNNING_SLA_INTERVAL_MS 5000

/* worker state that survives an error in a round */
static bool worker_first = true;
static TimestampTz worker_last_sla = 0;

/*
 * Whether the extension is installed; if so, hold a share lock on it until
 * the transaction ends.  DROP EXTENSION locks the extension before its
 * members, so taking this lock first means the worker and a DROP EXTENSION
 * wait for each other in the same order and never deadlock.
 */
static bool
worker_extension_ready(void)
{
	Oid			extoid = get_extension_oid("metaetl", true);

	if (!OidIsValid(extoid))
		return false;
	LockDatabaseObject(ExtensionRelationId, extoid, 0, AccessShareLock);
	/* it may have been dropped while we waited */
	return get_extension_oid("metaetl", true) == extoid;
}

static void
worker_begin(const char *activity)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	SPI_connect();
	pgstat_report_activity(STATE_RUNNING, activity);
}

static void
worker_end(void)
{
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_stat(false);
	pgstat_report_activity(STATE_IDLE, NULL);
}

/*
 * One round: housekeeping, then up to DELIVERY_BATCH deliveries.  Returns
 * true when it was busy (more deliveries may be due right away).
 */
static bool
worker_round(MemoryContext itemcxt, bool *first, TimestampTz *last_sla)
{
	bool		ready;
	int			i;

	worker_begin("metaetl: alert escalations");
	ready = worker_extension_ready();
	if (ready)
	{
		if (*first)
		{
			/* rows claimed by a previous incarnation that died while sending */
			SPI_execute("UPDATE etl.alert_deliveries SET status = 'pending'"
						" WHERE status OPERATOR(pg_catalog.=) 'sending'", false, 0);
			*first = false;
		}
		SPI_execute("SELECT etl.process_escalations()", false, 0);
		/* etl.access_log entries queued by other sessions (security/access.c) */
		(void) MetaetlAccessLogDrain();
		if (TimestampDifferenceExceeds(*last_sla, GetCurrentTimestamp(), RUNNING_SLA_INTERVAL_MS))
		{
			SPI_execute("SELECT pg_catalog.count(*) FROM etl.evaluate_running_slas()", false, 0);
			*last_sla = GetCurrentTimestamp();
		}
	}
	worker_end();
	if (!ready)
		return false;

	for (i = 0; i < DELIVERY_BATCH; i++)
	{
		DeliveryItem *item = NULL;
		MetaetlCurlResult res;
		char	   *status;

		CHECK_FOR_INTERRUPTS();
		MemoryContextReset(itemcxt);

		worker_begin("metaetl: claiming an alert delivery");
		if (!worker_extension_ready())
		{
			worker_end();
			return false;
		}
		if (SPI_execute(delivery_claim_sql, false, 1) != SPI_OK_UPDATE_RETURNING)
			elog(ERROR, "could not claim an alert delivery");
		if (SPI_processed == 1)
			item = delivery_copy_item(0, itemcxt, false);
		else
		{
			/* no alert due: an OpenLineage event */
			if (SPI_execute(lineage_claim_sql, false, 1) != SPI_OK_SELECT)
				elog(ERROR, "could not claim an OpenLineage event");
			if (SPI_processed == 1)
				item = delivery_copy_item(0, itemcxt, true);
		}
		worker_end();
		if (item == NULL)
			return false;

		/* no transaction is open while the network is slow */
		pgstat_report_activity(STATE_RUNNING, "metaetl: sending an alert");
		MemoryContextSwitchTo(itemcxt);
		delivery_send(item, &res);

		worker_begin("metaetl: recording an alert delivery");
		if (!worker_extension_ready())
		{
			worker_end();
			return false;
		}
		status = delivery_record(item, &res);
		if (!res.ok)
			ereport(LOG,
					(errmsg("metaetl %s %lld to %s \"%s\" failed, now %s: %s",
							item->lineage ? "OpenLineage event" : "alert delivery",
							(long long) item->delivery_id, item->lineage ? "endpoint" : "channel",
							item->channel, status ? status : "?", res.error ? res.error : "unknown error")));
		worker_end();
		MemoryContextSwitchTo(itemcxt);
	}
	return true;
}

static void
worker_detach(int code, Datum arg)
{
	if (monitor_shared != NULL && monitor_shared->worker_pgprocno == MyProc->pgprocno)
		monitor_shared->worker_pgprocno = -1;
}

/*
 * The "metaetl alert delivery" background worker: sends what the delivery
 * outbox holds (retries and backoff decided by etl._record_delivery_attempt)
 * outside any user transaction, so that a slow webhook or mail server never
 * delays a run.
 */
void
MetaetlDeliveryWorkerMain(Datum main_arg)
{
	MemoryContext loopcxt;
	MemoryContext itemcxt;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	BackgroundWorkerInitializeConnection(metaetl_database, NULL, 0);
	pgstat_report_appname("metaetl alert delivery");

	/*
	 * When DDL on etl's tables (DROP EXTENSION, an upgrade) deadlocks with
	 * this worker's bookkeeping, the DDL must win: checking for deadlocks
	 * after 10 ms instead of deadlock_timeout makes this worker the one that
	 * notices, and gives up, its transaction.
	 */
	SetConfigOption("deadlock_timeout", "10ms", PGC_SUSET, PGC_S_OVERRIDE);
	/* this worker only runs metaetl's own SQL: nothing resolves outside pg_catalog */
	SetConfigOption("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION);
	if (monitor_shared != NULL)
	{
		monitor_shared->worker_pgprocno = MyProc->pgprocno;
		on_shmem_exit(worker_detach, (Datum) 0);
	}

	/* both live as long as the worker; reset every round / every delivery */
	loopcxt = AllocSetContextCreate(TopMemoryContext, "metaetl delivery loop",
									ALLOCSET_DEFAULT_SIZES);
	itemcxt = AllocSetContextCreate(TopMemoryContext, "metaetl delivery item",
									ALLOCSET_DEFAULT_SIZES);

	for (;;)
	{
		volatile bool busy = false;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}

		MemoryContextSwitchTo(loopcxt);
		PG_TRY();
		{
			busy = worker_round(itemcxt, &worker_first, &worker_last_sla);
		}
		PG_CATCH();
		{
			/* report, clean up and carry on with the next round */
			MemoryContextSwitchTo(loopcxt);
			EmitErrorReport();
			FlushErrorState();
			AbortCurrentTransaction();
			pgstat_report_activity(STATE_IDLE, NULL);
			/* a delivery claimed before the error goes back to pending */
			worker_first = true;
			busy = false;
		}
		PG_END_TRY();
		MemoryContextSwitchTo(TopMemoryContext);
		MemoryContextReset(loopcxt);

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 busy ? 0L : DELIVERY_NAPTIME_MS, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

static Size
monitor_shmem_size(void)
{
	return sizeof(MonitorShared);
}

static void
monitor_shmem_init(void *ptr)
{
	((MonitorShared *) ptr)->worker_pgprocno = -1;
}

/*
 * MetaetlMonitorInit
 *		Register the delivery worker and its bit of shared memory when the
 *		library is preloaded.
 */
void
MetaetlMonitorInit(void)
{
	BackgroundWorker worker;

	if (!process_shared_preload_libraries_in_progress)
		return;

	MetaetlShmemRegister("metaetl monitor", monitor_shmem_size, monitor_shmem_init,
						 (void **) &monitor_shared);

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 10;
	strlcpy(worker.bgw_library_name, "metaetl", BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, "MetaetlDeliveryWorkerMain", BGW_MAXLEN);
	strlcpy(worker.bgw_name, "metaetl alert delivery", BGW_MAXLEN);
	strlcpy(worker.bgw_type, "metaetl alert delivery", BGW_MAXLEN);
	RegisterBackgroundWorker(&worker);
}
