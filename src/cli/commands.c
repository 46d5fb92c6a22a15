/*-------------------------------------------------------------------------
 *
 * src/cli/commands.c
 *		The metaetl commands other than execute: validate, status,
 *		list-pipelines, apply, runs, logs, cancel and schedule.
 *
 * Each is a thin layer over the SQL API; the SQL reads only what row-level
 * security lets the connected role see, so a plain role gets its own
 * pipelines and runs and "does not exist" for anybody else's.
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "cli.h"

/* a RUN_ID argument: a positive integer, else a usage error */
static const char *
run_id_arg(const CliArgs *args)
{
	const char *v = args->positional[0];
	char	   *end;
	long long	n;

	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno || *end || end == v || n < 1)
		cli_usage_error("RUN_ID must be a positive integer, not \"%s\"", v);
	return v;
}

/* prints a result as a table or as JSON rows */
static int
print_rows(PGresult *res, const CliArgs *args)
{
	if (args->json)
		cli_print_json_rows(stdout, res);
	else
		cli_print_table(stdout, res);
	PQclear(res);
	return CLI_EXIT_OK;
}

/* ------------------------------------------------------------ validate */

/*
 * metaetl validate --config-file FILE
 *		The file is read here, on the client, and sent as text to
 *		etl.validate_config, so a config need not sit on the database server;
 *		every problem is printed (all at once, as the validator reports them)
 *		and any error makes the exit code 1.
 */
int
cli_cmd_validate(PGconn *conn, const CliArgs *args)
{
	static const char *const sql =
	"SELECT severity, path, line, col, message FROM etl.validate_config($1)";
	size_t		len;
	char	   *text = cli_read_file(args->config_file, &len);
	const char *values[1];
	PGresult   *res;
	int			errors = 0,
				warnings = 0,
				r;

	if (text == NULL)
		return CLI_EXIT_USAGE;
	values[0] = text;
	res = cli_exec(conn, sql, 1, values);
	free(text);
	if (res == NULL)
		return CLI_EXIT_FAILED;

	for (r = 0; r < PQntuples(res); r++)
	{
		if (strcmp(cli_value(res, r, "severity"), "error") == 0)
			errors++;
		else
			warnings++;
	}
	if (args->json)
	{
		printf("{\"file\": ");
		cli_json_string(stdout, args->config_file);
		printf(", \"valid\": %s, \"errors\": %d, \"warnings\": %d, \"problems\": ",
			   errors ? "false" : "true", errors, warnings);
		cli_print_json_rows(stdout, res);
		printf("}\n");
	}
	else
	{
		/* compiler style, so editors can jump to the line */
		for (r = 0; r < PQntuples(res); r++)
		{
			printf("%s:", args->config_file);
			if (!cli_is_null(res, r, "line"))
				printf("%s:%s:", cli_value(res, r, "line"),
					   cli_is_null(res, r, "col") ? "1" : cli_value(res, r, "col"));
			printf(" %s: %s: %s\n", cli_value(res, r, "severity"),
				   cli_value(res, r, "path"), cli_value(res, r, "message"));
		}
		if (errors)
			printf("%s: invalid (%d %s, %d %s)\n", args->config_file,
				   errors, errors == 1 ? "error" : "errors",
				   warnings, warnings == 1 ? "warning" : "warnings");
		else
			printf("%s: valid%s\n", args->config_file,
				   warnings ? " (with warnings)" : "");
	}
	PQclear(res);
	return errors ? CLI_EXIT_FAILED : CLI_EXIT_OK;
}

/* -------------------------------------------------------------- status */

/*
 * metaetl status
 *		One look at the installation: etl.health(), the scheduler's state and
 *		the last 24 hours of runs by status, in one statement so the three
 *		agree with each other.
 */
int
cli_cmd_status(PGconn *conn, const CliArgs *args)
{
	static const char *const sql =
	"SELECT h AS health, s AS scheduler, c AS runs_last_24h,"
	"       h->>'extension_version' AS extension_version,"
	"       h->>'postgresql_version' AS postgresql_version,"
	"       h->>'database' AS database, current_user AS role,"
	"       s->>'state' AS scheduler_state, s->>'launcher_pid' AS launcher_pid,"
	"       s->>'schedules' AS schedules, s->>'queue_length' AS queue_length,"
	"       s->>'active_workers' AS active_runs,"
	"       s->'executors'->>'busy' AS executors_busy, s->'executors'->>'idle' AS executors_idle,"
	"       (SELECT string_agg(k || ' ' || v, ', ' ORDER BY k) FROM jsonb_each_text(c) AS e(k, v)) AS runs_text"
	"  FROM etl.health() AS h, etl.scheduler_status() AS s,"
	"       LATERAL (SELECT COALESCE(jsonb_object_agg(status, n), '{}') AS c"
	"                  FROM (SELECT status, count(*) AS n FROM etl.pipeline_runs"
	"                         WHERE queued_at > now() - interval '24 hours' GROUP BY status) AS g) AS r";
	PGresult   *res = cli_exec(conn, sql, 0, NULL);

	if (res == NULL)
		return CLI_EXIT_FAILED;
	if (args->json)
	{
		/* the three documents, as the SQL functions return them */
		printf("{\"health\": %s, \"scheduler\": %s, \"runs_last_24h\": %s}\n",
			   cli_value(res, 0, "health"), cli_value(res, 0, "scheduler"),
			   cli_value(res, 0, "runs_last_24h"));
		PQclear(res);
		return CLI_EXIT_OK;
	}
	printf("metaetl %s on PostgreSQL %s, database %s, as role %s\n",
		   cli_value(res, 0, "extension_version"), cli_value(res, 0, "postgresql_version"),
		   cli_value(res, 0, "database"), cli_value(res, 0, "role"));
	printf("scheduler       %s", cli_value(res, 0, "scheduler_state"));
	if (!cli_is_null(res, 0, "launcher_pid"))
		printf(" (launcher pid %s)", cli_value(res, 0, "launcher_pid"));
	printf(", %s schedules, %s queued\n", cli_value(res, 0, "schedules"),
		   cli_value(res, 0, "queue_length"));
	printf("runs            %s running now", cli_value(res, 0, "active_runs"));
	if (!cli_is_null(res, 0, "executors_busy"))
		printf("; executors %s busy, %s idle", cli_value(res, 0, "executors_busy"),
			   cli_value(res, 0, "executors_idle"));
	printf("\n");
	printf("last 24 hours   %s\n",
		   cli_is_null(res, 0, "runs_text") ? "no runs" : cli_value(res, 0, "runs_text"));
	PQclear(res);
	return CLI_EXIT_OK;
}

/* ------------------------------------------------------ list-pipelines */

/*
 * metaetl list-pipelines
 *		The pipelines this role can see (row-level security decides, as in
 *		SQL), each with its schedule and last run, so the list answers "what
 *		runs when, and did it work" without a second command.
 */
int
cli_cmd_list_pipelines(PGconn *conn, const CliArgs *args)
{
	static const char *const sql =
	"SELECT p.pipeline_id, p.name, p.current_version AS version, p.owner, p.enabled,"
	"       s.cron AS schedule, r.status AS last_status,"
	"       date_trunc('second', r.queued_at) AS last_run_at"
	"  FROM etl.pipelines AS p"
	"  LEFT JOIN etl.schedules AS s ON s.pipeline_id = p.pipeline_id"
	"  LEFT JOIN LATERAL (SELECT pr.status, pr.queued_at FROM etl.pipeline_runs AS pr"
	"                      WHERE pr.pipeline_id = p.pipeline_id"
	"                      ORDER BY pr.run_id DESC LIMIT 1) AS r ON true"
	" ORDER BY p.pipeline_id";
	PGresult   *res = cli_exec(conn, sql, 0, NULL);

	if (res == NULL)
		return CLI_EXIT_FAILED;
	return print_rows(res, args);
}

/* --------------------------------------------------------------- apply */

/*
 * metaetl apply FILE...
 *		Registers each file (read on the client) with etl.register_pipeline and
 *		says whether it made a new version, so applying an unchanged file is
 *		visibly a no-op; every file is tried: one that cannot be read makes
 *		the exit code 2 (usage), one the server refuses 1.
 */
int
cli_cmd_apply(PGconn *conn, const CliArgs *args)
{
	static const char *const reg_sql =
	"SELECT etl.register_pipeline($1) AS pipeline_id, now() AS registered_at";
	static const char *const ver_sql =
	"SELECT p.current_version AS version, v.created_at >= $2::timestamptz AS changed"
	"  FROM etl.pipelines AS p"
	"  JOIN etl.pipeline_versions AS v"
	"    ON v.pipeline_id = p.pipeline_id AND v.version = p.current_version"
	" WHERE p.pipeline_id = $1";
	int			failed = 0;
	int			unreadable = 0;
	int			i;

	if (args->json)
		printf("[");
	for (i = 0; i < args->npositional; i++)
	{
		const char *file = args->positional[i];
		char	   *text = cli_read_file(file, NULL);
		const char *values[2];
		PGresult   *res = NULL;
		PGresult   *ver = NULL;
		char		id[128] = "";
		const char *error = text ? NULL : "the file cannot be read";

		unreadable += text == NULL;

		if (text != NULL)
		{
			values[0] = text;
			res = PQexecParams(conn, reg_sql, 1, NULL, values, NULL, NULL, 0);
			free(text);
			if (PQresultStatus(res) != PGRES_TUPLES_OK)
			{
				/* shown on stderr; in --json output too */
				cli_print_error(res);
				error = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
				if (error == NULL)
					error = PQerrorMessage(conn);
			}
		}
		if (error == NULL)
		{
			snprintf(id, sizeof(id), "%s", cli_value(res, 0, "pipeline_id"));
			values[0] = id;
			values[1] = cli_value(res, 0, "registered_at");
			ver = cli_exec(conn, ver_sql, 2, values);
			if (ver == NULL || PQntuples(ver) != 1)
				error = "the pipeline is not visible after registering it";
		}
		if (args->json)
		{
			printf(i ? ",\n  {\"file\": " : "\n  {\"file\": ");
			cli_json_string(stdout, file);
			if (error == NULL)
			{
				printf(", \"pipeline_id\": ");
				cli_json_string(stdout, id);
				printf(", \"version\": %s, \"changed\": %s}", cli_value(ver, 0, "version"),
					   cli_value(ver, 0, "changed")[0] == 't' ? "true" : "false");
			}
			else
			{
				printf(", \"error\": ");
				cli_json_string(stdout, error);
				printf("}");
			}
		}
		else if (error == NULL)
			printf("%s: pipeline %s version %s (%s)\n", file, id, cli_value(ver, 0, "version"),
				   cli_value(ver, 0, "changed")[0] == 't' ? "registered" : "unchanged");
		else
			fprintf(stderr, "%s: not applied\n", file);
		if (error != NULL)
			failed++;
		PQclear(res);
		PQclear(ver);
		if (PQstatus(conn) != CONNECTION_OK)
			return CLI_EXIT_CONNECT;
	}
	if (args->json)
		printf("\n]\n");
	/* a file that cannot be read is a usage error, as for validate */
	return unreadable ? CLI_EXIT_USAGE : failed ? CLI_EXIT_FAILED : CLI_EXIT_OK;
}

/* ---------------------------------------------------------------- runs */

/* an error unless the pipeline exists for the connected role */
static bool
pipeline_visible(PGconn *conn, const char *pipeline_id)
{
	const char *values[1] = {pipeline_id};
	PGresult   *res = cli_exec(conn, "SELECT 1 FROM etl.pipelines WHERE pipeline_id = $1", 1, values);
	bool		found;

	if (res == NULL)
		return false;
	found = PQntuples(res) == 1;
	PQclear(res);
	if (!found)
		fprintf(stderr, "%s: error: pipeline \"%s\" does not exist\n"
				"HINT:  A role sees only the pipelines of roles it is a member of.\n",
				cli_progname, pipeline_id);
	return found;
}

/*
 * metaetl runs [--pipeline-id ID] [--limit N]: the latest runs, newest first
 * (20 unless --limit says otherwise).  Reads etl.pipeline_runs, which shows
 * a role only the runs of pipelines it may see, so the client needs no access
 * check of its own.  A named pipeline is looked up first: an empty list would
 * not tell a pipeline without runs from a misspelt or invisible one, and only
 * the latter is an error (exit 1).
 */
int
cli_cmd_runs(PGconn *conn, const CliArgs *args)
{
	static const char *const sql =
	"SELECT run_id, pipeline_id, status, trigger, triggered_by,"
	"       date_trunc('second', queued_at) AS queued_at,"
	"       round((extract(epoch FROM ended_at - started_at) * 1000)::numeric, 1) AS duration_ms,"
	"       rows_read, rows_written, quality_score"
	"  FROM etl.pipeline_runs"
	" WHERE $1::text IS NULL OR pipeline_id = $1"
	" ORDER BY run_id DESC"
	" LIMIT $2::int4";
	const char *values[2] = {args->pipeline_id, args->limit ? args->limit : "20"};
	PGresult   *res;

	if (args->pipeline_id && !pipeline_visible(conn, args->pipeline_id))
		return CLI_EXIT_FAILED;
	res = cli_exec(conn, sql, 2, values);
	if (res == NULL)
		return CLI_EXIT_FAILED;
	return print_rows(res, args);
}

/* ---------------------------------------------------------------- logs */

/*
 * metaetl logs RUN_ID
 *		A run's steps and attempts with their errors, from the run records
 *		(as this role may see them), for the question "why did it fail".
 */
int
cli_cmd_logs(PGconn *conn, const CliArgs *args)
{
	static const char *const steps_sql =
	"SELECT seq, step_id, kind, status, rows, round(duration_ms::numeric, 1) AS duration_ms,"
	"       NULLIF(details, '{}') AS details"
	"  FROM etl.step_runs WHERE run_id = $1::int8 ORDER BY seq";
	static const char *const attempts_sql =
	"SELECT attempt, status, error_class, error_sqlstate, error_message,"
	"       date_trunc('second', started_at) AS started_at,"
	"       round((extract(epoch FROM ended_at - started_at) * 1000)::numeric, 1) AS duration_ms,"
	"       next_delay_s"
	"  FROM etl.run_attempts WHERE run_id = $1::int8 ORDER BY attempt";
	static const char *const json_sql =
	"SELECT etl.run_status($1::int8) AS run,"
	"       (SELECT COALESCE(jsonb_agg(to_jsonb(s) - 'run_id' ORDER BY s.seq), '[]')"
	"          FROM etl.step_runs AS s WHERE s.run_id = $1::int8) AS steps,"
	"       (SELECT COALESCE(jsonb_agg(to_jsonb(a) - 'run_id' ORDER BY a.attempt), '[]')"
	"          FROM etl.run_attempts AS a WHERE a.run_id = $1::int8) AS attempts";
	const char *values[1] = {run_id_arg(args)};
	PGresult   *res;
	int			rc;

	if (args->json)
	{
		res = cli_exec(conn, json_sql, 1, values);
		if (res == NULL)
			return CLI_EXIT_FAILED;
		cli_print_json_record(stdout, res, 0);
		printf("\n");
		PQclear(res);
		return CLI_EXIT_OK;
	}

	rc = cli_print_run_summary(conn, values[0], false);
	if (PQstatus(conn) != CONNECTION_OK)
		return CLI_EXIT_CONNECT;
	res = cli_exec(conn, "SELECT 1 FROM etl.pipeline_runs WHERE run_id = $1::int8", 1, values);
	if (res == NULL || PQntuples(res) == 0)
	{
		PQclear(res);
		return CLI_EXIT_FAILED;
	}
	PQclear(res);

	printf("\nsteps\n");
	res = cli_exec(conn, steps_sql, 1, values);
	if (res == NULL)
		return CLI_EXIT_FAILED;
	cli_print_table(stdout, res);
	PQclear(res);

	printf("\nattempts\n");
	res = cli_exec(conn, attempts_sql, 1, values);
	if (res == NULL)
		return CLI_EXIT_FAILED;
	cli_print_table(stdout, res);
	PQclear(res);
	/* logs of a failed run are shown fine: the command itself succeeded */
	(void) rc;
	return CLI_EXIT_OK;
}

/* -------------------------------------------------------------- cancel */

/*
 * metaetl cancel RUN_ID
 *		Asks etl.cancel_run to stop a running run; a run that is not running
 *		is an error (exit 1) naming its status, so scripts notice a cancel
 *		that came too late.
 */
int
cli_cmd_cancel(PGconn *conn, const CliArgs *args)
{
	const char *values[1] = {run_id_arg(args)};
	PGresult   *res;
	char		status[32];
	bool		cancelled;

	res = cli_exec(conn, "SELECT status FROM etl.pipeline_runs WHERE run_id = $1::int8", 1, values);
	if (res == NULL)
		return CLI_EXIT_FAILED;
	if (PQntuples(res) == 0)
	{
		fprintf(stderr, "%s: error: run %s does not exist\n"
				"HINT:  A role sees only the runs of pipelines it owns or is a member of the owner of.\n",
				cli_progname, values[0]);
		PQclear(res);
		return CLI_EXIT_FAILED;
	}
	PQclear(res);

	res = cli_exec(conn,
				   "SELECT etl.cancel_run($1::int8) AS cancelled,"
				   "       (SELECT status FROM etl.pipeline_runs WHERE run_id = $1::int8) AS status",
				   1, values);
	if (res == NULL)
		return CLI_EXIT_FAILED;
	cancelled = cli_value(res, 0, "cancelled")[0] == 't';
	snprintf(status, sizeof(status), "%s", cli_value(res, 0, "status"));
	if (args->json)
	{
		cli_print_json_record(stdout, res, 0);
		printf("\n");
	}
	else if (cancelled)
		printf("run %s: cancel requested\n", values[0]);
	else
		fprintf(stderr, "%s: run %s is not running (status %s)\n", cli_progname, values[0], status);
	PQclear(res);
	return cancelled ? CLI_EXIT_OK : CLI_EXIT_FAILED;
}

/* ------------------------------------------------------------ schedule */

/*
 * metaetl schedule ID CRON [--timezone TZ]
 *		Schedules through etl.schedule_pipeline (the scheduler's own cron
 *		parser checks the expression) and shows the next three fire times, so
 *		a wrong expression or time zone shows before it fires.
 */
int
cli_cmd_schedule(PGconn *conn, const CliArgs *args)
{
	static const char *const sql =
	"SELECT etl.schedule_pipeline($1, $2, COALESCE($3, 'UTC')) AS schedule_id";
	static const char *const next_sql =
	"SELECT s.schedule_id, s.pipeline_id, s.cron, s.timezone,"
	"       (SELECT jsonb_agg(n ORDER BY n) FROM etl.get_next_runs($1, 3) AS n) AS next_runs,"
	"       (SELECT string_agg(to_char(n AT TIME ZONE s.timezone, 'YYYY-MM-DD HH24:MI'), ', ' ORDER BY n)"
	"          FROM etl.get_next_runs($1, 3) AS n) AS next_text"
	"  FROM etl.schedules AS s WHERE s.pipeline_id = $1";
	const char *values[3] = {args->positional[0], args->positional[1], args->timezone};
	PGresult   *res = cli_exec(conn, sql, 3, values);

	if (res == NULL)
		return CLI_EXIT_FAILED;
	PQclear(res);
	res = cli_exec(conn, next_sql, 1, values);
	if (res == NULL)
		return CLI_EXIT_FAILED;
	if (PQntuples(res) != 1)
	{
		PQclear(res);
		return CLI_EXIT_FAILED;
	}
	if (args->json)
	{
		cli_print_json_record(stdout, res, 0);
		printf("\n");
	}
	else
		printf("pipeline %s scheduled: \"%s\" (%s); next runs %s\n", values[0],
			   cli_value(res, 0, "cron"), cli_value(res, 0, "timezone"),
			   cli_is_null(res, 0, "next_text") ? "none" : cli_value(res, 0, "next_text"));
	PQclear(res);
	return CLI_EXIT_OK;
}
