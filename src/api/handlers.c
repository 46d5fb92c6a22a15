/*-------------------------------------------------------------------------
 *
 * src/api/handlers.c
 *		metaetl-api's routes: pipelines, runs, alerts, health, and the
 *		dashboard's files.
 *
 * Each endpoint is one or a few calls of the public SQL API made as the
 * token's role; row-level security decides what it sees, so a pipeline of
 * another role is a 404, and a role without the right to act gets the
 * database's 42501 as a 403.  The JSON of runs has the keys of
 * etl.run_status() wherever a run appears (lists included), and request
 * bodies are checked in SQL (jsonb), so this file never parses JSON.
 *
 *-------------------------------------------------------------------------
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <libpq-fe.h>

#include "api.h"

#define API_PREFIX "/api/v1/"
#define MAX_SEGMENTS 4

/*
 * a run as etl.run_status() shows it, from a pipeline_runs row r (its
 * progress, read from the run's process, only /runs/{id}/status gives)
 */
#define RUN_JSON \
	"jsonb_build_object('run_id', r.run_id, 'pipeline_id', r.pipeline_id, 'version', r.version," \
	" 'status', r.status, 'trigger', r.trigger, 'triggered_by', r.triggered_by, 'run_as', r.run_as," \
	" 'rows_read', r.rows_read, 'rows_written', r.rows_written, 'quality_score', r.quality_score," \
	" 'duration_ms', round((extract(epoch FROM r.ended_at - r.started_at) * 1000)::numeric, 3)," \
	" 'error', CASE WHEN r.error_message IS NOT NULL THEN jsonb_build_object('sqlstate', r.error_sqlstate," \
	"     'message', r.error_message, 'detail', r.error_detail, 'step', r.error_step) END," \
	" 'engine', r.engine, 'engine_reason', r.engine_reason, 'attempts', r.attempt," \
	" 'queued_at', r.queued_at, 'started_at', r.started_at, 'ended_at', r.ended_at," \
	" 'progress', NULL::jsonb)"

/* a pipeline with its schedule and last run, from an etl.pipelines row p */
#define PIPELINE_JSON \
	"jsonb_build_object('pipeline_id', p.pipeline_id, 'name', p.name, 'description', p.description," \
	" 'version', p.current_version, 'owner', p.owner, 'engine', p.engine, 'enabled', p.enabled," \
	" 'tags', to_jsonb(p.tags), 'created_at', p.created_at, 'updated_at', p.updated_at," \
	" 'schedule', (SELECT jsonb_build_object('cron', s.cron, 'timezone', s.timezone, 'paused', s.paused," \
	"                 'next_fire_at', s.next_fire_at)" \
	"                FROM etl.schedules AS s WHERE s.pipeline_id = p.pipeline_id)," \
	" 'last_run', (SELECT " RUN_JSON " FROM etl.pipeline_runs AS r" \
	"               WHERE r.pipeline_id = p.pipeline_id ORDER BY r.run_id DESC LIMIT 1))"

static const char *const pipeline_detail_sql =
"SELECT " PIPELINE_JSON " || jsonb_build_object("
"         'config', etl.load_pipeline_config(p.pipeline_id),"
"         'versions', (SELECT count(*) FROM etl.pipeline_versions AS v WHERE v.pipeline_id = p.pipeline_id),"
"         'warnings', COALESCE($2::jsonb, '[]'), 'changed', $3::bool)"
"  FROM etl.pipelines AS p WHERE p.pipeline_id = $1";

static double start_time;

/*
 * Called once by main before the daemon starts: remembers the start time
 * that /health reports uptime_s from.  Set before any request thread exists,
 * so the handlers read start_time without a lock.
 */
void
handlers_init(void)
{
	start_time = api_now();
}

/* ------------------------------------------------------------- helpers */

static bool
is_run_id(const char *s)
{
	size_t		n = strlen(s);
	size_t		i;

	if (n == 0 || n > 18)
		return false;
	for (i = 0; i < n; i++)
		if (!isdigit((unsigned char) s[i]))
			return false;
	return s[0] != '0';
}

/* a ?limit= between 1 and max (default def); false with a 422 otherwise */
static bool
limit_arg(Request *req, Response *resp, int def, int max, char out[16])
{
	const char *v = request_arg(req, "limit");
	char	   *end;
	long		n;

	if (v == NULL)
	{
		snprintf(out, 16, "%d", def);
		return true;
	}
	n = strtol(v, &end, 10);
	if (*v == '\0' || *end || n < 1 || n > max)
	{
		Buf			d = {0};

		buf_printf(&d, "limit must be a number from 1 to %d", max);
		problem(resp, 422, d.data, NULL);
		buf_free(&d);
		return false;
	}
	snprintf(out, 16, "%ld", n);
	return true;
}

/* empty strings are absent */
static const char *
opt_arg(Request *req, const char *name)
{
	const char *v = request_arg(req, name);

	return v && *v ? v : NULL;
}

/* a 404 unless the pipeline exists for the token's role */
static bool
pipeline_visible(Session *s, Response *resp, const char *id)
{
	const char *values[1] = {id};
	PGresult   *res = session_query(s, resp, "SELECT 1 FROM etl.pipelines WHERE pipeline_id = $1", 1, values);
	bool		found;

	if (res == NULL)
		return false;
	found = PQntuples(res) == 1;
	PQclear(res);
	if (!found)
	{
		Buf			d = {0};

		buf_printf(&d, "pipeline \"%s\" does not exist", id);
		problem(resp, 404, d.data, "A role sees only the pipelines of roles it is a member of.");
		buf_free(&d);
	}
	return found;
}

/* configurations come as YAML or JSON; anything else is a 415 */
static bool
config_body_ok(Request *req, Response *resp)
{
	const char *ct = request_header(req, "Content-Type");
	static const char *const ok[] = {"application/json", "application/yaml", "application/x-yaml",
	"text/yaml", "text/x-yaml", "text/plain", NULL};
	int			i;

	if (ct != NULL)
	{
		size_t		n = strcspn(ct, ";");
		bool		found = false;

		for (i = 0; ok[i]; i++)
			if (strlen(ok[i]) == n && strncasecmp(ct, ok[i], n) == 0)
				found = true;
		if (!found)
		{
			problem(resp, 415, "a pipeline configuration is sent as application/yaml or application/json", NULL);
			return false;
		}
	}
	if (req->body.len == 0)
	{
		problem(resp, 422, "the request body must hold a pipeline configuration (YAML or JSON)", NULL);
		return false;
	}
	return true;
}

/* ----------------------------------------------------------- pipelines */

static void
h_pipelines_list(Request *req, Response *resp)
{
	Session		s;

	if (!session_begin(req, resp, &s))
		return;
	session_json(&s, resp, 200,
				 "SELECT COALESCE(jsonb_agg(" PIPELINE_JSON " ORDER BY p.pipeline_id), '[]') FROM etl.pipelines AS p",
				 0, NULL, "no pipelines");
	session_end(&s);
}

static void
h_pipeline_get(Request *req, Response *resp, const char *id)
{
	Session		s;
	const char *format = request_arg(req, "format");
	const char *accept = request_header(req, "Accept");
	const char *values[3] = {id, NULL, NULL};

	if (!session_begin(req, resp, &s))
		return;
	if (pipeline_visible(&s, resp, id))
	{
		if ((format && strcmp(format, "yaml") == 0) || (accept && strstr(accept, "yaml")))
		{
			PGresult   *res = session_query_last(&s, resp, "SELECT etl.export_pipeline($1)", 1, values);

			if (res)
			{
				resp->status = 200;
				resp->content_type = "application/yaml";
				buf_puts(&resp->body, PQgetvalue(res, 0, 0));
				PQclear(res);
			}
		}
		else
			session_json(&s, resp, 200, pipeline_detail_sql, 3, values, "pipeline does not exist");
	}
	session_end(&s);
}

/*
 * POST /pipelines (create: 409 when the id exists) and PUT /pipelines/{id}
 * (create or update; the config's id must be the path's).  The config is
 * validated first so that a 422 lists every problem with line and column.
 */
static void
h_pipeline_store(Request *req, Response *resp, const char *path_id)
{
	static const char *const validate_sql =
	"SELECT COALESCE(jsonb_agg(to_jsonb(v)) FILTER (WHERE v.severity = 'error'), '[]') AS errors,"
	"       COALESCE(jsonb_agg(to_jsonb(v)) FILTER (WHERE v.severity <> 'error'), '[]') AS warnings,"
	"       count(*) FILTER (WHERE v.severity = 'error') AS nerrors"
	"  FROM etl.validate_config($1) AS v";
	static const char *const id_sql =
	"SELECT c.id, (SELECT p.current_version FROM etl.pipelines AS p WHERE p.pipeline_id = c.id) AS version"
	"  FROM (SELECT etl.load_configuration($1)->'pipeline'->>'id' AS id) AS c";
	Session		s;
	const char *values[3];
	PGresult   *res;
	char		id[128];
	char		version_before[16] = "";
	Buf			warnings = {0};
	bool		existed;

	if (!config_body_ok(req, resp))
		return;
	if (!session_begin(req, resp, &s))
		return;

	values[0] = req->body.data;
	res = session_query(&s, resp, validate_sql, 1, values);
	if (res == NULL)
		goto done;
	if (atoi(PQgetvalue(res, 0, 2)) > 0)
	{
		problem_open(resp, 422, "the pipeline configuration is not valid");
		buf_puts(&resp->body, ", \"errors\": ");
		buf_puts(&resp->body, PQgetvalue(res, 0, 0));
		buf_puts(&resp->body, ", \"warnings\": ");
		buf_puts(&resp->body, PQgetvalue(res, 0, 1));
		buf_puts(&resp->body, "}");
		PQclear(res);
		goto done;
	}
	buf_puts(&warnings, PQgetvalue(res, 0, 1));
	PQclear(res);

	res = session_query(&s, resp, id_sql, 1, values);
	if (res == NULL)
		goto done;
	snprintf(id, sizeof(id), "%s", PQgetvalue(res, 0, 0));
	existed = !PQgetisnull(res, 0, 1);
	if (existed)
		snprintf(version_before, sizeof(version_before), "%s", PQgetvalue(res, 0, 1));
	PQclear(res);

	if (path_id == NULL && existed)
	{
		Buf			d = {0},
					h = {0};

		buf_printf(&d, "pipeline \"%s\" already exists", id);
		buf_printf(&h, "PUT /api/v1/pipelines/%s stores a new version of it.", id);
		problem(resp, 409, d.data, h.data);
		buf_free(&d);
		buf_free(&h);
		goto done;
	}
	if (path_id != NULL && strcmp(path_id, id) != 0)
	{
		Buf			d = {0};

		buf_printf(&d, "the configuration's pipeline.id \"%s\" is not the path's \"%s\"", id, path_id);
		problem(resp, 422, d.data, NULL);
		buf_free(&d);
		goto done;
	}

	res = session_query(&s, resp, "SELECT etl.register_pipeline($1)", 1, values);
	if (res == NULL)
		goto done;
	PQclear(res);

	values[0] = id;
	values[1] = warnings.data;
	values[2] = "false";
	{
		/* changed: a new version was stored */
		const char *v1[1] = {id};

		res = session_query(&s, resp, "SELECT current_version FROM etl.pipelines WHERE pipeline_id = $1", 1, v1);
		if (res == NULL)
			goto done;
		if (PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), version_before) != 0)
			values[2] = "true";
		PQclear(res);
	}
	if (session_json(&s, resp, existed ? 200 : 201, pipeline_detail_sql, 3, values,
					 "the pipeline is not visible after registering it") && !existed)
		snprintf(resp->location, sizeof(resp->location), "/api/v1/pipelines/%s", id);

done:
	buf_free(&warnings);
	session_end(&s);
}

static void
h_pipeline_delete(Request *req, Response *resp, const char *id)
{
	Session		s;
	const char *values[1] = {id};
	PGresult   *res;

	if (!session_begin(req, resp, &s))
		return;
	if (pipeline_visible(&s, resp, id) &&
		(res = session_query_last(&s, resp, "SELECT etl.drop_pipeline($1)", 1, values)) != NULL)
	{
		PQclear(res);
		resp->status = 204;
	}
	session_end(&s);
}

static bool
is_finished(const char *status)
{
	return strcmp(status, "running") != 0 && strcmp(status, "queued") != 0;
}

static void
sleep_ms(double ms)
{
	struct timespec ts;

	ts.tv_sec = (time_t) (ms / 1000);
	ts.tv_nsec = (long) ((ms - ts.tv_sec * 1000.0) * 1e6);
	nanosleep(&ts, NULL);
}

/*
 * POST /pipelines/{id}/execute {"params": {...}, "wait": true|false}.  The
 * run starts without waiting in SQL; with "wait" (the default, as in SQL)
 * the server polls etl.run_status, giving its connection back between
 * polls, until the run ends (200) or --wait-timeout passes (202, the run
 * goes on).  Without "wait" the answer is 202 at once.  Either way the body
 * is the run's summary, run_id included, and Location names the run.
 */
static void
h_pipeline_execute(Request *req, Response *resp, const char *id)
{
	static const char *const body_sql =
	"SELECT CASE WHEN jsonb_typeof(b) <> 'object' THEN 'the body must be a JSON object'"
	"            WHEN b ? 'params' AND jsonb_typeof(b->'params') <> 'object' THEN '\"params\" must be a JSON object'"
	"            WHEN b ? 'wait' AND jsonb_typeof(b->'wait') <> 'boolean' THEN '\"wait\" must be true or false'"
	"            ELSE (SELECT 'unknown key \"' || k || '\": the body takes \"params\" and \"wait\"'"
	"                    FROM jsonb_object_keys(b) AS k WHERE k NOT IN ('params', 'wait') LIMIT 1)"
	"       END AS problem,"
	"       COALESCE(b->'params', '{}')::text AS params,"
	"       CASE WHEN jsonb_typeof(b->'wait') = 'boolean' THEN (b->>'wait')::bool ELSE true END AS wait"
	"  FROM (SELECT COALESCE(NULLIF(btrim($1), ''), '{}')::jsonb AS b) AS x";
	static const char *const start_sql =
	"SELECT s::text, s->>'run_id', s->>'status'"
	"  FROM etl.execute_pipeline($1, trigger => 'api', params => $2::jsonb, wait => false) AS s";
	Session		s;
	const char *values[2];
	PGresult   *res;
	Buf			params = {0};
	Buf			summary = {0};
	char		run_id[32],
				status[32];
	bool		wait;
	double		deadline,
				pause = 20;

	if (!session_begin(req, resp, &s))
		return;
	values[0] = req->body.data;
	res = session_query(&s, resp, body_sql, 1, values);
	if (res == NULL)
		goto done;
	if (!PQgetisnull(res, 0, 0))
	{
		problem(resp, 422, PQgetvalue(res, 0, 0), NULL);
		PQclear(res);
		goto done;
	}
	buf_puts(&params, PQgetvalue(res, 0, 1));
	wait = PQgetvalue(res, 0, 2)[0] == 't';
	PQclear(res);

	values[0] = id;
	values[1] = params.data;
	res = session_query(&s, resp, start_sql, 2, values);
	if (res == NULL)
		goto done;
	buf_puts(&summary, PQgetvalue(res, 0, 0));
	snprintf(run_id, sizeof(run_id), "%s", PQgetvalue(res, 0, 1));
	snprintf(status, sizeof(status), "%s", PQgetvalue(res, 0, 2));
	PQclear(res);
	session_end(&s);

	deadline = api_now() + api_config.wait_timeout_ms / 1000.0;
	while (wait && !is_finished(status) && api_now() < deadline)
	{
		Response	scratch;
		const char *v[1] = {run_id};

		sleep_ms(pause);
		pause = pause * 1.5 > 250 ? 250 : pause * 1.5;
		memset(&scratch, 0, sizeof(scratch));
		if (!session_begin(req, &scratch, &s))
		{
			buf_free(&scratch.body);
			break;				/* answer with what we know */
		}
		res = session_query_last(&s, &scratch, "SELECT s::text, s->>'status' FROM etl.run_status($1::int8) AS s", 1, v);
		session_end(&s);
		buf_free(&scratch.body);
		if (res == NULL)
			break;
		summary.len = 0;
		buf_puts(&summary, PQgetvalue(res, 0, 0));
		snprintf(status, sizeof(status), "%s", PQgetvalue(res, 0, 1));
		PQclear(res);
	}
	respond_json(resp, is_finished(status) ? 200 : 202, summary.data);
	snprintf(resp->location, sizeof(resp->location), "/api/v1/runs/%s", run_id);
	buf_free(&params);
	buf_free(&summary);
	return;

done:
	buf_free(&params);
	buf_free(&summary);
	session_end(&s);
}

/* GET /pipelines/{id}/lineage: etl.lineage() when the installation has it */
static void
h_pipeline_lineage(Request *req, Response *resp, const char *id)
{
	Session		s;
	const char *values[1] = {id};
	PGresult   *res;

	if (!session_begin(req, resp, &s))
		return;
	if (!pipeline_visible(&s, resp, id))
		goto done;
	res = session_exec(&s,
					   "SELECT jsonb_build_object('pipeline_id', $1::text, 'available', true,"
					   "         'edges', COALESCE(jsonb_agg(to_jsonb(l)), '[]'))::text"
					   "  FROM etl.lineage($1) AS l",
					   1, values, true);
	if (PQresultStatus(res) == PGRES_TUPLES_OK)
		respond_json(resp, 200, PQgetvalue(res, 0, 0));
	else
	{
		const char *st = PQresultErrorField(res, PG_DIAG_SQLSTATE);

		if (st && strcmp(st, "42883") == 0)
			problem(resp, 501, "lineage is not available in this installation",
					"etl.lineage() comes with a later version of metaetl.");
		else
			problem_from_result(resp, res);
	}
	PQclear(res);
done:
	session_end(&s);
}

static void
h_pipeline_sla(Request *req, Response *resp, const char *id)
{
	static const char *const sql =
	"SELECT jsonb_build_object('pipeline_id', $1::text,"
	"  'report', COALESCE((SELECT jsonb_agg(to_jsonb(x)) FROM etl.sla_report($1) AS x), '[]'),"
	"  'history', COALESCE((SELECT jsonb_agg(h.j ORDER BY h.evaluated_at) FROM ("
	"      SELECT c.evaluated_at, jsonb_build_object('sla_type', d.sla_type, 'run_id', c.run_id,"
	"               'observed', c.observed, 'target', c.target, 'compliant', c.compliant,"
	"               'evaluated_at', c.evaluated_at) AS j"
	"        FROM etl.sla_compliance AS c JOIN etl.sla_definitions AS d ON d.sla_id = c.sla_id"
	"       WHERE c.pipeline_id = $1 ORDER BY c.evaluated_at DESC LIMIT 200) AS h), '[]'))";
	Session		s;
	const char *values[1] = {id};

	if (!session_begin(req, resp, &s))
		return;
	if (pipeline_visible(&s, resp, id))
		session_json(&s, resp, 200, sql, 1, values, "pipeline does not exist");
	session_end(&s);
}

/* ---------------------------------------------------------------- runs */

static void
h_runs_list(Request *req, Response *resp)
{
	static const char *const sql =
	"SELECT COALESCE(jsonb_agg(" RUN_JSON " ORDER BY r.run_id DESC), '[]')"
	"  FROM (SELECT * FROM etl.pipeline_runs AS x"
	"         WHERE ($1::text IS NULL OR x.pipeline_id = $1) AND ($2::text IS NULL OR x.status = $2)"
	"         ORDER BY x.run_id DESC LIMIT $3::int4) AS r";
	Session		s;
	char		limit[16];
	const char *values[3] = {opt_arg(req, "pipeline_id"), opt_arg(req, "status"), limit};

	if (!limit_arg(req, resp, 50, 1000, limit))
		return;
	if (!session_begin(req, resp, &s))
		return;
	if (values[0] == NULL || pipeline_visible(&s, resp, values[0]))
		session_json(&s, resp, 200, sql, 3, values, "no runs");
	session_end(&s);
}

static void
run_not_found(Response *resp, const char *id)
{
	Buf			d = {0};

	buf_printf(&d, "run %s does not exist", id);
	problem(resp, 404, d.data, "A role sees only the runs of pipelines it owns or is a member of the owner of.");
	buf_free(&d);
}

static void
h_run_get(Request *req, Response *resp, const char *id, const char *what)
{
	static const char *const status_sql = "SELECT etl.run_status($1::int8)";
	static const char *const detail_sql =
	"SELECT etl.run_status($1::int8) || jsonb_build_object("
	"  'params', (SELECT r.params FROM etl.pipeline_runs AS r WHERE r.run_id = $1::int8),"
	"  'step_runs', (SELECT COALESCE(jsonb_agg(to_jsonb(x) - 'run_id' ORDER BY x.seq), '[]')"
	"                  FROM etl.step_runs AS x WHERE x.run_id = $1::int8),"
	"  'run_attempts', (SELECT COALESCE(jsonb_agg(to_jsonb(a) - 'run_id' ORDER BY a.attempt), '[]')"
	"                     FROM etl.run_attempts AS a WHERE a.run_id = $1::int8))";
	static const char *const quality_sql =
	"SELECT jsonb_build_object('run_id', r.run_id, 'pipeline_id', r.pipeline_id, 'status', r.status,"
	"         'quality_score', r.quality_score, 'checks', COALESCE(r.quality_checks, '[]'),"
	"         'scores', (SELECT COALESCE(jsonb_agg(to_jsonb(q) - 'run_id' ORDER BY q.score_id), '[]')"
	"                      FROM etl.quality_scores AS q WHERE q.run_id = r.run_id))"
	"  FROM etl.pipeline_runs AS r WHERE r.run_id = $1::int8";
	Session		s;
	const char *values[1] = {id};
	const char *sql = what == NULL ? detail_sql : strcmp(what, "status") == 0 ? status_sql : quality_sql;

	if (!is_run_id(id))
	{
		run_not_found(resp, id);
		return;
	}
	if (!session_begin(req, resp, &s))
		return;
	if (!session_json(&s, resp, 200, sql, 1, values, "run does not exist") && resp->status == 404)
		run_not_found(resp, id);
	session_end(&s);
}

static void
h_run_cancel(Request *req, Response *resp, const char *id)
{
	Session		s;
	const char *values[1] = {id};
	PGresult   *res;
	char		before[32];

	if (!is_run_id(id))
	{
		run_not_found(resp, id);
		return;
	}
	if (!session_begin(req, resp, &s))
		return;
	res = session_query(&s, resp, "SELECT etl.run_status($1::int8)->>'status'", 1, values);
	if (res == NULL)
		goto done;
	snprintf(before, sizeof(before), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	res = session_query_last(&s, resp, "SELECT etl.cancel_run($1::int8)", 1, values);
	if (res == NULL)
		goto done;
	if (PQgetvalue(res, 0, 0)[0] == 't')
	{
		resp->status = 202;
		resp->content_type = "application/json";
		buf_printf(&resp->body, "{\"run_id\": %s, \"cancel_requested\": true, \"status\": ", id);
		buf_json_string(&resp->body, before);
		buf_puts(&resp->body, "}");
	}
	else
	{
		Buf			d = {0};

		buf_printf(&d, "run %s is not running (its status is %s)", id, before);
		problem(resp, 409, d.data, NULL);
		buf_free(&d);
	}
	PQclear(res);
done:
	session_end(&s);
}

/* -------------------------------------------------------------- alerts */

static void
h_alerts_list(Request *req, Response *resp)
{
	static const char *const sql =
	"SELECT COALESCE(jsonb_agg(to_jsonb(a) ORDER BY a.alert_id DESC), '[]')"
	"  FROM (SELECT * FROM etl.alerts AS x"
	"         WHERE CASE $1 WHEN 'active' THEN x.status <> 'resolved' WHEN 'all' THEN true"
	"                       ELSE x.status = $1 END"
	"           AND ($2::text IS NULL OR x.pipeline_id = $2)"
	"         ORDER BY x.alert_id DESC LIMIT $3::int4) AS a";
	static const char *const states[] = {"active", "all", "open", "acknowledged", "resolved", NULL};
	Session		s;
	char		limit[16];
	const char *status = opt_arg(req, "status");
	const char *values[3];
	bool		known = false;
	int			i;

	if (status == NULL)
		status = "active";
	for (i = 0; states[i]; i++)
		known |= strcmp(states[i], status) == 0;
	if (!known)
	{
		problem(resp, 422, "status must be active, all, open, acknowledged or resolved", NULL);
		return;
	}
	if (!limit_arg(req, resp, 100, 1000, limit))
		return;
	values[0] = status;
	values[1] = opt_arg(req, "pipeline_id");
	values[2] = limit;
	if (!session_begin(req, resp, &s))
		return;
	session_json(&s, resp, 200, sql, 3, values, "no alerts");
	session_end(&s);
}

/* POST /alerts/{id}/acknowledge and /resolve */
static void
h_alert_action(Request *req, Response *resp, const char *id, bool ack)
{
	Session		s;
	const char *values[1] = {id};
	PGresult   *res;

	if (!is_run_id(id))
	{
		problem(resp, 404, "alert does not exist", NULL);
		return;
	}
	if (!session_begin(req, resp, &s))
		return;
	res = session_query(&s, resp, ack ? "SELECT etl.acknowledge_alert($1::int8)"
						: "SELECT etl.resolve_alert($1::int8)", 1, values);
	if (res == NULL)
		goto done;
	if (PQgetvalue(res, 0, 0)[0] == 't')
	{
		PQclear(res);
		session_json(&s, resp, 200, "SELECT to_jsonb(a) FROM etl.alerts AS a WHERE a.alert_id = $1::int8",
					 1, values, "alert does not exist");
		goto done;
	}
	PQclear(res);
	res = session_query(&s, resp, "SELECT status FROM etl.alerts WHERE alert_id = $1::int8", 1, values);
	if (res == NULL)
		goto done;
	{
		Buf			d = {0};

		if (PQntuples(res) == 0)
		{
			buf_printf(&d, "alert %s does not exist", id);
			problem(resp, 404, d.data, NULL);
		}
		else
		{
			buf_printf(&d, "alert %s is %s", id, PQgetvalue(res, 0, 0));
			problem(resp, 409, d.data, ack ? "Only open alerts can be acknowledged." : "It is resolved already.");
		}
		buf_free(&d);
	}
	PQclear(res);
done:
	session_end(&s);
}

/* -------------------------------------------------------------- health */

/* GET /health needs no token: the database's etl.health() and the pool */
static void
h_health(Request *req, Response *resp)
{
	int			slot,
				size,
				in_use,
				connected;
	PGconn	   *conn = pool_acquire(&slot);
	PGresult   *res;
	char		a_size[16],
				a_use[16],
				a_up[32];
	const char *values[4];

	(void) req;
	if (conn == NULL)
	{
		problem(resp, 503, "the database cannot be reached or no connection is free", NULL);
		resp->retry_after_s = 1;
		return;
	}
	pool_stats(&size, &in_use, &connected);
	snprintf(a_size, sizeof(a_size), "%d", size);
	snprintf(a_use, sizeof(a_use), "%d", in_use);
	snprintf(a_up, sizeof(a_up), "%.1f", api_now() - start_time);
	values[0] = METAETL_VERSION;
	values[1] = a_size;
	values[2] = a_use;
	values[3] = a_up;
	res = PQexecParams(conn,
					   "SELECT (etl.health() || jsonb_build_object('status', 'ok', 'api', jsonb_build_object("
					   "          'version', $1::text, 'pool_size', $2::int4, 'pool_in_use', $3::int4,"
					   "          'uptime_s', $4::float8)))::text",
					   4, NULL, values, NULL, NULL, 0);
	if (PQresultStatus(res) == PGRES_TUPLES_OK)
		respond_json(resp, 200, PQgetvalue(res, 0, 0));
	else
		problem_from_result(resp, res);
	PQclear(res);
	pool_release(slot, PQstatus(conn) != CONNECTION_OK);
}

/* ------------------------------------------------------------- routing */

static void
method_not_allowed(Response *resp, const char *allow)
{
	problem(resp, 405, "this method is not allowed here", NULL);
	resp->allow = allow;
}

/* whether the request's method is one of the allowed; 405 otherwise */
static bool
method_is(Request *req, Response *resp, const char *method, const char *allow)
{
	if (strcmp(req->method, method) == 0 ||
		(strcmp(method, "GET") == 0 && strcmp(req->method, "HEAD") == 0))
		return true;
	if (strstr(allow, req->method) == NULL)
		method_not_allowed(resp, allow);
	return false;
}

/*
 * Dispatches a request, whose body has been read completely, by path and
 * method, from on_request in http.c.  Paths outside /api/ are dashboard
 * files, served without a token so the page can load before the user gives
 * one; everything under /api/v1/ is split into at most MAX_SEGMENTS
 * segments and matched by hand (a segment more makes the path unknown).  A
 * known path with a method it does not take is a 405 with Allow, an unknown
 * path a 404 pointing at openapi.json; HEAD is answered as GET.  Every case
 * fills resp, so it always returns true.
 */
bool
route_request(Request *req, Response *resp)
{
	char		path[512];
	char	   *seg[MAX_SEGMENTS + 1];
	int			n = 0;
	char	   *p,
			   *save = NULL;

	/* the dashboard: flat file names only */
	if (strncmp(req->path, "/api/", 5) != 0)
	{
		const char *name = req->path[0] == '/' ? req->path + 1 : req->path;

		if (!(strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0))
			method_not_allowed(resp, "GET, HEAD");
		else if (!static_serve(*name ? name : "index.html", resp))
			problem(resp, 404, "no such page", NULL);
		return true;
	}
	if (strncmp(req->path, API_PREFIX, strlen(API_PREFIX)) != 0 ||
		strlen(req->path) >= sizeof(path))
	{
		problem(resp, 404, "no such endpoint", "Endpoints live under /api/v1/; /api/v1/openapi.json lists them.");
		return true;
	}
	snprintf(path, sizeof(path), "%s", req->path + strlen(API_PREFIX));
	for (p = strtok_r(path, "/", &save); p; p = strtok_r(NULL, "/", &save))
	{
		if (n == MAX_SEGMENTS)
		{
			n++;
			break;
		}
		seg[n++] = p;
	}

#define IS(i, s) (n > (i) && strcmp(seg[i], (s)) == 0)
	if (n == 1 && IS(0, "health"))
	{
		if (method_is(req, resp, "GET", "GET, HEAD"))
			h_health(req, resp);
	}
	else if (n == 1 && IS(0, "openapi.json"))
	{
		if (method_is(req, resp, "GET", "GET, HEAD") && !static_serve("openapi.json", resp))
			problem(resp, 404, "openapi.json is not installed", NULL);
	}
	else if (n == 1 && IS(0, "metrics"))
	{
		if (method_is(req, resp, "GET", "GET, HEAD"))
			handle_metrics(req, resp);
	}
	else if (n == 1 && IS(0, "pipelines"))
	{
		if (strcmp(req->method, "POST") == 0)
			h_pipeline_store(req, resp, NULL);
		else if (method_is(req, resp, "GET", "GET, HEAD, POST"))
			h_pipelines_list(req, resp);
	}
	else if (n == 2 && IS(0, "pipelines"))
	{
		if (strcmp(req->method, "PUT") == 0)
			h_pipeline_store(req, resp, seg[1]);
		else if (strcmp(req->method, "DELETE") == 0)
			h_pipeline_delete(req, resp, seg[1]);
		else if (method_is(req, resp, "GET", "GET, HEAD, PUT, DELETE"))
			h_pipeline_get(req, resp, seg[1]);
	}
	else if (n == 3 && IS(0, "pipelines") && IS(2, "execute"))
	{
		if (method_is(req, resp, "POST", "POST"))
			h_pipeline_execute(req, resp, seg[1]);
	}
	else if (n == 3 && IS(0, "pipelines") && IS(2, "lineage"))
	{
		if (method_is(req, resp, "GET", "GET, HEAD"))
			h_pipeline_lineage(req, resp, seg[1]);
	}
	else if (n == 3 && IS(0, "pipelines") && IS(2, "sla"))
	{
		if (method_is(req, resp, "GET", "GET, HEAD"))
			h_pipeline_sla(req, resp, seg[1]);
	}
	else if (n == 1 && IS(0, "runs"))
	{
		if (method_is(req, resp, "GET", "GET, HEAD"))
			h_runs_list(req, resp);
	}
	else if (n == 2 && IS(0, "runs"))
	{
		if (method_is(req, resp, "GET", "GET, HEAD"))
			h_run_get(req, resp, seg[1], NULL);
	}
	else if (n == 3 && IS(0, "runs") && (IS(2, "status") || IS(2, "quality")))
	{
		if (method_is(req, resp, "GET", "GET, HEAD"))
			h_run_get(req, resp, seg[1], seg[2]);
	}
	else if (n == 3 && IS(0, "runs") && IS(2, "cancel"))
	{
		if (method_is(req, resp, "POST", "POST"))
			h_run_cancel(req, resp, seg[1]);
	}
	else if (n == 1 && IS(0, "alerts"))
	{
		if (method_is(req, resp, "GET", "GET, HEAD"))
			h_alerts_list(req, resp);
	}
	else if (n == 3 && IS(0, "alerts") && (IS(2, "acknowledge") || IS(2, "resolve")))
	{
		if (method_is(req, resp, "POST", "POST"))
			h_alert_action(req, resp, seg[1], IS(2, "acknowledge"));
	}
	else
		problem(resp, 404, "no such endpoint", "/api/v1/openapi.json lists the endpoints.");
#undef IS
	return true;
}
