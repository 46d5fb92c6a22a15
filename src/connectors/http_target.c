/*-------------------------------------------------------------------------
 *
 * src/connectors/http_target.c
 *		HTTP targets: a node's rows POSTed in batches (a JSON array or
 *		NDJSON), each with an Idempotency-Key, retried, and reported.
 *
 * Rows are read with a MetaetlRowReader and turned into JSON by
 * PostgreSQL's to_jsonb (one text per row), batch_size rows to a request.
 * Up to max_parallel batches are in flight while the next is assembled.
 * The Idempotency-Key of a batch is a SHA-256 over the pipeline, the run,
 * the target, the batch number and the body: a retry of the request (by
 * the engine) or of the whole run (by the orchestrator, same run id, same
 * rows) sends the same key, so a server that honours the header applies a
 * batch once; different rows get a different key.
 *
 * Each batch's outcome (batch, rows, HTTP status, attempts, ms, key) goes
 * into the target's entry of the run summary and so into step_runs.details
 * ("batches").  A batch that still fails after its retries fails the run,
 * with an error that says which batches the server had already accepted:
 * a remote endpoint cannot be rolled back with the run's transaction.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/cryptohash.h"
#include "common/sha2.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"

#include "connectors/http.h"
#include "connectors/sink.h"

#define HTTP_BATCH_DEFAULT 500
#define HTTP_BATCH_REPORT_MAX 1000	/* batches listed in the run summary */

typedef struct Batch
{
	HttpReq    *req;
	int			no;
	int64		rows;
	char	   *key;
} Batch;

static char *
batch_key(MetaetlPlan *plan, MetaetlTarget *tgt, int no, const char *body, size_t len)
{
	pg_cryptohash_ctx *h = pg_cryptohash_create(PG_SHA256);
	uint8		d[PG_SHA256_DIGEST_LENGTH];
	char	   *run_id = plan->render_ctx ? MetaetlJStr(&plan->render_ctx->root, "run_id") : NULL;
	char	   *head = psprintf("metaetl|%s|%s|%s|%d|", plan->pipeline_id ? plan->pipeline_id : "",
								run_id ? run_id : "", tgt->id, no);
	char		hex[2 * PG_SHA256_DIGEST_LENGTH + 1];

	if (h == NULL || pg_cryptohash_init(h) < 0 ||
		pg_cryptohash_update(h, (const uint8 *) head, strlen(head)) < 0 ||
		pg_cryptohash_update(h, (const uint8 *) body, len) < 0 ||
		pg_cryptohash_final(h, d, sizeof(d)) < 0)
		elog(ERROR, "could not compute an Idempotency-Key");
	pg_cryptohash_free(h);
	hex_encode((const char *) d, sizeof(d), hex);
	hex[32] = '\0';				/* 128 bits are plenty for a key */
	return pstrdup(hex);
}

/* wait for the oldest batch in flight; record it or fail the load */
static void
batch_finish(HttpClient *cli, MetaetlTarget *tgt, Batch *b, StringInfo report, int *reported,
			 int64 *delivered_rows, int *delivered)
{
	HttpWait(cli, b->req);
	if (b->req->error)
	{
		HttpConn   *conn = HttpClientConn(cli);

		ereport(ERROR,
				(errcode(b->req->sqlstate ? b->req->sqlstate : ERRCODE_CONNECTION_FAILURE),
				 errmsg("%s: %s %s (batch %d, " INT64_FORMAT " rows) failed: %s", conn->what,
						b->req->method, HttpUrlDisplay(b->req->url), b->no, b->rows, b->req->error),
				 errdetail("When it failed, %d batch%s (" INT64_FORMAT " rows) had been accepted by the server, and stay there; "
						   "the failed batch's Idempotency-Key was %s.%s%s", *delivered,
						   *delivered == 1 ? "" : "es", *delivered_rows, b->key,
						   b->req->detail ? " The server answered: " : "",
						   b->req->detail ? b->req->detail : ""),
				 errhint("Run the pipeline again: batches already accepted are sent with the same keys.")));
	}
	(*delivered)++;
	*delivered_rows += b->rows;
	if ((*reported)++ < HTTP_BATCH_REPORT_MAX)
		appendStringInfo(report, "%s{\"batch\": %d, \"rows\": " INT64_FORMAT ", \"status\": %ld, "
						 "\"attempts\": %d, \"ms\": %.1f, \"idempotency_key\": \"%s\"}",
						 *reported > 1 ? ", " : "", b->no, b->rows, b->req->status,
						 b->req->attempts, b->req->ms, b->key);
	pfree(b->req->data);
	b->req->data = NULL;
	pfree(b->req->body);
	b->req->body = NULL;
}

/*
 * HttpLoad
 *		The http family's load callback (http.c's connector table): send the
 *		rows of ref (the node's relation, under the WITH clause with_prefix) to
 *		the target's path, batch_size rows per request as a JSON array or
 *		NDJSON, with at most max_parallel batches in flight.  Batches are
 *		waited for in the order sent, so a failure is reported with exactly the
 *		batches the server accepted before it; those cannot be rolled back with
 *		the run's transaction, which is why each carries a deterministic
 *		Idempotency-Key (batch_key) that a rerun sends again.  The URL is built
 *		and checked against allowed_hosts before describe_only returns, so a
 *		dry run also validates it.  Returns the rows sent; the per-batch report
 *		goes to tgt->details.
 */
int64
HttpLoad(MetaetlPlan *plan, MetaetlTarget *tgt, const char *with_prefix, const char *ref, List *cols)
{
	JsonbContainer *conf = tgt->conf;
	char	   *what = psprintf("target \"%s\"", tgt->id);
	HttpConn   *conn = HttpConnLoad(conf, false, tgt->id, what);
	char	   *path = MetaetlJStr(conf, "path");
	char	   *method = MetaetlJStr(conf, "method") ? MetaetlJStr(conf, "method") : "POST";
	char	   *format = MetaetlJStr(conf, "format") ? MetaetlJStr(conf, "format") : "json";
	char	   *keyhdr = MetaetlJStr(conf, "idempotency_header");
	char	   *bs = MetaetlJStr(conf, "batch_size");
	int64		batch_size = bs ? strtoll(bs, NULL, 10) : HTTP_BATCH_DEFAULT;
	bool		ndjson = strcmp(format, "ndjson") == 0;
	char	   *url;
	List	   *headers;
	MetaetlColumn jc = {"metaetl_json", "text", InvalidOid};
	MetaetlRowReader *rr;
	HttpClient *cli;
	Batch	   *inflight;
	int			nin = 0,
				head = 0;
	int			batch_no = 0,
				reported = 0,
				delivered = 0;
	int64		delivered_rows = 0,
				total = 0,
				in_batch = 0;
	StringInfoData body,
				report;
	Datum	   *values;
	bool	   *nulls;

	if (path == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s needs path", what)));
	if (batch_size < 1 || batch_size > 1000000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: batch_size must be between 1 and 1000000", what)));
	if (keyhdr == NULL)
		keyhdr = "Idempotency-Key";
	url = HttpBuildUrl(conn, MetaetlRenderTemplateAs(path, plan->render_ctx, METAETL_TPL_URL), NIL);
	HttpCheckUrl(conn, url, NULL);
	tgt->table_display = psprintf("%s %s", method, HttpUrlDisplay(url));
	if (plan->describe_only)
		return 0;
	headers = HttpHeaderList(MetaetlJObj(conf, "headers"), plan->render_ctx, NIL);
	headers = lappend(headers, ndjson ? "Content-Type: application/x-ndjson" :
					  "Content-Type: application/json");

	/* one JSON text per row, made by PostgreSQL */
	rr = MetaetlRowReaderOpen(plan, with_prefix,
							  psprintf("(SELECT pg_catalog.to_jsonb(metaetl_r)::pg_catalog.text AS metaetl_json "
									   "FROM (SELECT %s FROM %s) metaetl_r) metaetl_j",
									   MetaetlColList(cols, NULL), ref),
							  list_make1(&jc));
	cli = HttpClientOpen(conn);
	inflight = palloc0(sizeof(Batch) * conn->max_parallel);
	initStringInfo(&body);
	initStringInfo(&report);
	for (;;)
	{
		bool		more = MetaetlRowReaderNext(rr, &values, &nulls);

		if (more)
		{
			char	   *row = TextDatumGetCString(values[0]);

			if (body.len == 0 && !ndjson)
				appendStringInfoChar(&body, '[');
			else if (!ndjson)
				appendStringInfoChar(&body, ',');
			appendStringInfoString(&body, row);
			if (ndjson)
				appendStringInfoChar(&body, '\n');
			pfree(row);
			total++;
			in_batch++;
		}
		if (body.len > 0 && (!more || in_batch >= batch_size))
		{
			Batch	   *b;
			HttpReq    *req;

			if (nin == conn->max_parallel)
			{
				batch_finish(cli, tgt, &inflight[head], &report, &reported, &delivered_rows, &delivered);
				head = (head + 1) % conn->max_parallel;
				nin--;
			}
			if (!ndjson)
				appendStringInfoChar(&body, ']');
			b = &inflight[(head + nin) % conn->max_parallel];
			b->no = ++batch_no;
			b->rows = in_batch;
			b->key = batch_key(plan, tgt, b->no, body.data, body.len);
			req = palloc0(sizeof(HttpReq));
			req->method = method;
			req->url = url;
			req->body = pnstrdup(body.data, body.len);
			req->body_len = body.len;
			req->headers = lappend(list_copy(headers), psprintf("%s: %s", keyhdr, b->key));
			req->label = psprintf("batch %d", b->no);
			b->req = req;
			HttpSubmit(cli, req);
			nin++;
			in_batch = 0;
			resetStringInfo(&body);
		}
		if (!more)
			break;
	}
	while (nin > 0)
	{
		batch_finish(cli, tgt, &inflight[head], &report, &reported, &delivered_rows, &delivered);
		head = (head + 1) % conn->max_parallel;
		nin--;
	}
	MetaetlRowReaderClose(rr);
	{
		int			requests,
					retries;
		int64		bytes;

		HttpClientStats(cli, &requests, &retries, &bytes);
		tgt->details = psprintf("\"requests\": %d, \"retries\": %d, \"batches\": [%s]%s", requests, retries,
								report.data, reported > HTTP_BATCH_REPORT_MAX ?
								psprintf(", \"batches_not_listed\": %d", reported - HTTP_BATCH_REPORT_MAX) : "");
	}
	HttpClientClose(cli);
	return total;
}
