/*-------------------------------------------------------------------------
 *
 * src/api/metrics.c
 *		GET /api/v1/metrics: Prometheus text exposition format 0.0.4.
 *
 * The database part is one SQL statement, run as the token's role, so the
 * figures cover what that role can see (a scrape token of an etl_viewer or
 * etl_admin member sees every pipeline): runs by pipeline and status, a
 * run-duration histogram, the last quality score, SLA breaches and current
 * compliance, open alerts, the scheduler's queue and run executors
 * (etl.scheduler_status()), and the alert delivery backlog
 * (etl.delivery_backlog()).  The server adds its own request counters and
 * pool gauges.  Every family has HELP and TYPE lines and its samples
 * together, as the format requires; label values are escaped.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "api.h"

/* a label value escaped for the text format: \ " and newline */
#define ESC(x) "replace(replace(replace(" x ", '\\', '\\\\'), '\"', '\\\"'), E'\\n', '\\n')"

#define FAMILY(name, type, help) \
	"'# HELP " name " " help "', '# TYPE " name " " type "'"

static const char *const metrics_sql =
"WITH runs AS (SELECT r.pipeline_id, r.status,"
"                     extract(epoch FROM r.ended_at - r.started_at)::float8 AS secs"
"                FROM etl.pipeline_runs AS r),"
"     sched AS (SELECT etl.scheduler_status() AS s),"
"     buckets(ord, le, le_text) AS (VALUES (1, 0.1::float8, '0.1'), (2, 0.5, '0.5'), (3, 1, '1'),"
"         (4, 5, '5'), (5, 10, '10'), (6, 30, '30'), (7, 60, '60'), (8, 300, '300'),"
"         (9, 900, '900'), (10, 3600, '3600'), (11, 'Infinity', '+Inf'))"
"SELECT concat_ws(E'\\n',"
FAMILY("metaetl_runs_total", "counter", "Runs by pipeline and status.") ","
"  (SELECT string_agg(format('metaetl_runs_total{pipeline_id=\"%s\",status=\"%s\"} %s',"
"                            " ESC("g.pipeline_id") ", g.status, g.n), E'\\n' ORDER BY g.pipeline_id, g.status)"
"     FROM (SELECT pipeline_id, status, count(*) AS n FROM runs GROUP BY 1, 2) AS g),"
FAMILY("metaetl_run_duration_seconds", "histogram", "Duration of finished runs.") ","
"  (SELECT string_agg(h.line, E'\\n' ORDER BY h.pipeline_id, h.ord) FROM ("
"     SELECT r.pipeline_id, b.ord,"
"            format('metaetl_run_duration_seconds_bucket{pipeline_id=\"%s\",le=\"%s\"} %s',"
"                   " ESC("r.pipeline_id") ", b.le_text, count(*) FILTER (WHERE r.secs <= b.le)) AS line"
"       FROM runs AS r CROSS JOIN buckets AS b WHERE r.secs IS NOT NULL"
"      GROUP BY r.pipeline_id, b.ord, b.le_text"
"     UNION ALL"
"     SELECT r.pipeline_id, 100, format('metaetl_run_duration_seconds_sum{pipeline_id=\"%s\"} %s',"
"                   " ESC("r.pipeline_id") ", round(sum(r.secs)::numeric, 6))"
"       FROM runs AS r WHERE r.secs IS NOT NULL GROUP BY r.pipeline_id"
"     UNION ALL"
"     SELECT r.pipeline_id, 101, format('metaetl_run_duration_seconds_count{pipeline_id=\"%s\"} %s',"
"                   " ESC("r.pipeline_id") ", count(*))"
"       FROM runs AS r WHERE r.secs IS NOT NULL GROUP BY r.pipeline_id) AS h),"
FAMILY("metaetl_quality_score", "gauge", "Quality score (0-100) of the last scored run of each pipeline.") ","
"  (SELECT string_agg(format('metaetl_quality_score{pipeline_id=\"%s\"} %s', " ESC("q.pipeline_id") ", q.score),"
"                     E'\\n' ORDER BY q.pipeline_id)"
"     FROM (SELECT DISTINCT ON (r.pipeline_id) r.pipeline_id, r.quality_score AS score"
"             FROM etl.pipeline_runs AS r WHERE r.quality_score IS NOT NULL"
"            ORDER BY r.pipeline_id, r.run_id DESC) AS q),"
FAMILY("metaetl_sla_breaches_total", "counter", "SLA evaluations that were not met.") ","
"  (SELECT string_agg(format('metaetl_sla_breaches_total{pipeline_id=\"%s\",sla_type=\"%s\"} %s',"
"                            " ESC("x.pipeline_id") ", " ESC("x.sla_type") ", x.n), E'\\n' ORDER BY x.pipeline_id, x.sla_type)"
"     FROM (SELECT c.pipeline_id, d.sla_type, count(*) FILTER (WHERE NOT c.compliant) AS n"
"             FROM etl.sla_compliance AS c JOIN etl.sla_definitions AS d ON d.sla_id = c.sla_id"
"            GROUP BY 1, 2) AS x),"
FAMILY("metaetl_sla_compliant", "gauge", "Whether the last evaluation of each SLA was met (1) or not (0).") ","
"  (SELECT string_agg(format('metaetl_sla_compliant{pipeline_id=\"%s\",sla_type=\"%s\"} %s',"
"                            " ESC("x.pipeline_id") ", " ESC("x.sla_type") ", x.ok::int), E'\\n' ORDER BY x.pipeline_id, x.sla_type)"
"     FROM (SELECT DISTINCT ON (c.sla_id) c.pipeline_id, d.sla_type, c.compliant AS ok"
"             FROM etl.sla_compliance AS c JOIN etl.sla_definitions AS d ON d.sla_id = c.sla_id"
"            ORDER BY c.sla_id, c.evaluated_at DESC) AS x),"
FAMILY("metaetl_alerts_active", "gauge", "Alerts not resolved yet, by status and priority.") ","
"  (SELECT string_agg(format('metaetl_alerts_active{status=\"%s\",priority=\"%s\"} %s', a.status, a.priority, a.n),"
"                     E'\\n' ORDER BY a.status, a.priority)"
"     FROM (SELECT status, priority, count(*) AS n FROM etl.alerts WHERE status <> 'resolved' GROUP BY 1, 2) AS a),"
FAMILY("metaetl_queue_depth", "gauge", "Scheduled runs in etl.run_queue by state.") ","
"  (SELECT format(E'metaetl_queue_depth{state=\"queued\"} %s\\nmetaetl_queue_depth{state=\"waiting\"} %s\\n"
"metaetl_queue_depth{state=\"claimed\"} %s', s->>'queue_length', s->>'waiting', s->>'claimed') FROM sched),"
FAMILY("metaetl_runs_active", "gauge", "Runs running now.") ","
"  (SELECT format('metaetl_runs_active %s', s->>'active_workers') FROM sched),"
FAMILY("metaetl_executors", "gauge", "Run executors (the pool of scheduled-run workers) by state.") ","
"  (SELECT format(E'metaetl_executors{state=\"busy\"} %s\\nmetaetl_executors{state=\"idle\"} %s\\n"
"metaetl_executors{state=\"starting\"} %s', COALESCE(s->'executors'->>'busy', '0'),"
"                 COALESCE(s->'executors'->>'idle', '0'), COALESCE(s->'executors'->>'starting', '0'))"
"     FROM sched),"
FAMILY("metaetl_executors_size", "gauge", "Configured number of run executors (metaetl.run_executors).") ","
"  (SELECT format('metaetl_executors_size %s', COALESCE(s->'executors'->>'size', '0')) FROM sched),"
FAMILY("metaetl_scheduler_up", "gauge", "1 when the scheduler launcher is running.") ","
"  (SELECT format('metaetl_scheduler_up %s', (s->>'state' = 'running')::int) FROM sched),"
FAMILY("metaetl_alert_delivery_backlog", "gauge", "Alert notifications not delivered yet, by status.") ","
"  (SELECT string_agg(format('metaetl_alert_delivery_backlog{status=\"%s\"} %s', st, COALESCE(b.deliveries, 0)),"
"                     E'\\n' ORDER BY st)"
"     FROM unnest(ARRAY['pending', 'sending', 'throttled']) AS st"
"     LEFT JOIN etl.delivery_backlog() AS b ON b.status = st),"
FAMILY("metaetl_alert_delivery_oldest_seconds", "gauge", "Age of the oldest notification not delivered yet (0: none).") ","
"  (SELECT format('metaetl_alert_delivery_oldest_seconds %s',"
"                 COALESCE(round(extract(epoch FROM now() - min(oldest_at))::numeric, 3), 0))"
"     FROM etl.delivery_backlog())"
") || E'\\n'";

/*
 * GET /api/v1/metrics.  Unlike /health it needs a bearer token, and runs
 * metrics_sql as the token's role, so a scrape shows only what that role may see.
 * The session ends before the server's own families are added: the request
 * counters and pool gauges need no database, and the connection goes back
 * to the pool as early as possible.  A database error leaves the problem
 * document session_query_last made.
 */
void
handle_metrics(Request *req, Response *resp)
{
	Session		s;
	PGresult   *res;
	int			size,
				in_use,
				connected,
				c;

	if (!session_begin(req, resp, &s))
		return;
	res = session_query_last(&s, resp, metrics_sql, 0, NULL);
	session_end(&s);
	if (res == NULL)
		return;
	resp->status = 200;
	resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
	buf_puts(&resp->body, PQgetvalue(res, 0, 0));
	PQclear(res);

	pool_stats(&size, &in_use, &connected);
	buf_puts(&resp->body,
			 "# HELP metaetl_api_requests_total Requests answered by this server, by status class.\n"
			 "# TYPE metaetl_api_requests_total counter\n");
	for (c = 1; c <= 5; c++)
		buf_printf(&resp->body, "metaetl_api_requests_total{code=\"%dxx\"} %llu\n", c,
				   (unsigned long long) __atomic_load_n(&api_requests_by_class[c], __ATOMIC_RELAXED));
	buf_printf(&resp->body,
			   "# HELP metaetl_api_pool_connections Database connections of this server's pool.\n"
			   "# TYPE metaetl_api_pool_connections gauge\n"
			   "metaetl_api_pool_connections{state=\"in_use\"} %d\n"
			   "metaetl_api_pool_connections{state=\"idle\"} %d\n"
			   "metaetl_api_pool_connections{state=\"closed\"} %d\n",
			   in_use, connected > in_use ? connected - in_use : 0, size - connected);
}
