/*-------------------------------------------------------------------------
 *
 * src/cli/execute.c
 *		metaetl execute: start a run, show its progress, print its summary.
 *
 * The run is started with etl.execute_pipeline(..., wait => false) and then
 * polled with etl.run_status(run_id), one short autocommit query per poll,
 * so the client holds no transaction open while the run goes on and sees
 * each record the run worker commits.  When the status carries a
 * `progress` object ({phase, step, steps_done, steps_total, rows_so_far,
 * elapsed_ms, expected_ms}) it is shown; without it the status and the time
 * since the run started are, and the median duration of the pipeline's
 * earlier runs (etl.pipeline_stats) stands in for expected_ms.  On a terminal the progress is one line
 * redrawn in place, with a bar; otherwise (a pipe, a log file) a line is
 * written whenever the phase or step changes and every few seconds, so logs
 * stay readable.  Ctrl-C stops waiting, not the run, and says how to cancel.
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "cli.h"

#define PROGRESS_LOG_EVERY_S	2.0	/* a line at least this often when not a terminal */
#define BAR_WIDTH				20

static volatile sig_atomic_t interrupted = 0;

static void
on_sigint(int signo)
{
	(void) signo;
	interrupted = 1;
}

/* succeeded, and runs still going after --no-wait, are success */
int
cli_run_exit_code(const char *status)
{
	if (strcmp(status, "succeeded") == 0 || strcmp(status, "running") == 0 ||
		strcmp(status, "queued") == 0)
		return CLI_EXIT_OK;
	return CLI_EXIT_FAILED;
}

static bool
is_finished(const char *status)
{
	return strcmp(status, "running") != 0 && strcmp(status, "queued") != 0;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
sleep_s(double s)
{
	struct timespec ts;

	ts.tv_sec = (time_t) s;
	ts.tv_nsec = (long) ((s - (double) ts.tv_sec) * 1e9);
	/* a signal ends the sleep early; the caller looks at the flag */
	nanosleep(&ts, NULL);
}

static int
terminal_width(void)
{
	struct winsize ws;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20)
		return ws.ws_col;
	return 80;
}

/* params as a JSON object of strings: {"k": "v", ...} */
static char *
params_json(const CliArgs *args)
{
	char	   *buf = NULL;
	size_t		len = 0;
	FILE	   *m = open_memstream(&buf, &len);
	int			i;

	if (m == NULL)
		return NULL;
	fputc('{', m);
	for (i = 0; i < args->nparams; i++)
	{
		if (i > 0)
			fputs(", ", m);
		cli_json_string(m, args->param_keys[i]);
		fputs(": ", m);
		cli_json_string(m, args->param_values[i]);
	}
	fputc('}', m);
	fclose(m);
	return buf;
}

static const char *const status_sql =
"SELECT s->>'status' AS status,"
"       s ? 'progress' AND jsonb_typeof(s->'progress') = 'object' AS has_progress,"
"       s->'progress'->>'phase' AS phase,"
"       s->'progress'->>'step' AS step,"
"       (s->'progress'->>'steps_done')::float8::int8 AS steps_done,"
"       (s->'progress'->>'steps_total')::float8::int8 AS steps_total,"
"       (s->'progress'->>'rows_so_far')::float8::int8 AS rows_so_far,"
"       COALESCE((s->'progress'->>'elapsed_ms')::float8,"
"                extract(epoch FROM clock_timestamp()"
"                        - COALESCE((s->>'started_at')::timestamptz, (s->>'queued_at')::timestamptz)) * 1000)"
"           AS elapsed_ms,"
"       COALESCE((s->'progress'->>'expected_ms')::float8,"
"                (SELECT st.p50_duration_ms FROM etl.pipeline_stats AS st"
"                  WHERE st.pipeline_id = s->>'pipeline_id')) AS expected_ms"
"  FROM etl.run_status($1::int8) AS s";

typedef struct Progress
{
	char		status[32];
	bool		has_progress;
	char		phase[64];
	char		step[128];
	long long	steps_done;		/* -1: unknown */
	long long	steps_total;
	long long	rows;
	double		elapsed_ms;
	double		expected_ms;	/* < 0: unknown */
} Progress;

static long long
opt_int(const PGresult *res, const char *col)
{
	return cli_is_null(res, 0, col) ? -1 : atoll(cli_value(res, 0, col));
}

static void
read_progress(const PGresult *res, Progress *p)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->status, sizeof(p->status), "%s", cli_value(res, 0, "status"));
	p->has_progress = cli_value(res, 0, "has_progress")[0] == 't';
	snprintf(p->phase, sizeof(p->phase), "%s", cli_value(res, 0, "phase"));
	snprintf(p->step, sizeof(p->step), "%s", cli_value(res, 0, "step"));
	p->steps_done = opt_int(res, "steps_done");
	p->steps_total = opt_int(res, "steps_total");
	p->rows = opt_int(res, "rows_so_far");
	p->elapsed_ms = cli_is_null(res, 0, "elapsed_ms") ? 0 : atof(cli_value(res, 0, "elapsed_ms"));
	p->expected_ms = cli_is_null(res, 0, "expected_ms") ? -1 : atof(cli_value(res, 0, "expected_ms"));
}

/* how far the run is, 0..1, or < 0 when nothing says */
static double
progress_fraction(const Progress *p)
{
	if (p->expected_ms > 0)
	{
		double		f = p->elapsed_ms / p->expected_ms;

		return f > 0.99 ? 0.99 : f;
	}
	if (p->steps_total > 0 && p->steps_done >= 0)
		return (double) p->steps_done / (double) p->steps_total;
	return -1;
}

/* the words of a progress line, without the bar */
static void
progress_text(const Progress *p, char *buf, size_t size)
{
	size_t		n = 0;

#define ADD(...) do { if (n < size) n += snprintf(buf + n, size - n, __VA_ARGS__); } while (0)
	if (!p->has_progress)
	{
		ADD("%s, %.1f s", p->status, p->elapsed_ms / 1000.0);
		if (p->expected_ms > 0)
			ADD(" of ~%.1f s", p->expected_ms / 1000.0);
		return;
	}
	ADD("%s", p->phase[0] ? p->phase : p->status);
	if (p->step[0])
		ADD(" %s", p->step);
	if (p->steps_total > 0 && p->steps_done >= 0)
		ADD(" (step %lld of %lld)", p->steps_done < p->steps_total ? p->steps_done + 1 : p->steps_total,
			p->steps_total);
	if (p->rows >= 0)
		ADD(", %lld rows", p->rows);
	ADD(", %.1f s", p->elapsed_ms / 1000.0);
	if (p->expected_ms > 0)
		ADD(" of ~%.1f s", p->expected_ms / 1000.0);
#undef ADD
}

static void
draw_tty(const Progress *p)
{
	char		text[512];
	char		line[768];
	double		f = progress_fraction(p);
	int			width = terminal_width();
	size_t		n = 0;

	progress_text(p, text, sizeof(text));
	if (f >= 0)
	{
		int			filled = (int) (f * BAR_WIDTH + 0.5);
		int			i;

		line[n++] = '[';
		for (i = 0; i < BAR_WIDTH; i++)
			line[n++] = i < filled ? '#' : '-';
		n += snprintf(line + n, sizeof(line) - n, "] %3d%%  ", (int) (f * 100));
	}
	snprintf(line + n, sizeof(line) - n, "%s", text);
	/* never wrap: a wrapped line cannot be redrawn with \r */
	if ((int) strlen(line) > width - 1)
		line[width - 1] = '\0';
	printf("\r%s\033[K", line);
	fflush(stdout);
}

/*
 * Polls the run until it ends; returns its last status in *p.  Returns false
 * when polling failed (the error is printed).
 */
static bool
wait_for_run(PGconn *conn, const char *run_id, const CliArgs *args, Progress *p)
{
	const char *values[1] = {run_id};
	bool		tty = !args->json && isatty(STDOUT_FILENO);
	bool		log_lines = !args->json && !tty;
	char		last_key[256] = "";
	double		last_line_at = 0;
	bool		drawn = false;

	for (;;)
	{
		PGresult   *res = cli_exec(conn, status_sql, 1, values);
		char		key[256];

		if (res == NULL)
			return false;
		if (PQntuples(res) != 1)
		{
			fprintf(stderr, "%s: run %s has no status\n", cli_progname, run_id);
			PQclear(res);
			return false;
		}
		read_progress(res, p);
		PQclear(res);
		if (is_finished(p->status))
			break;

		if (tty)
		{
			draw_tty(p);
			drawn = true;
		}
		else if (log_lines)
		{
			snprintf(key, sizeof(key), "%s|%s|%s|%lld", p->status, p->phase, p->step, p->steps_done);
			if (strcmp(key, last_key) != 0 || now_s() - last_line_at >= PROGRESS_LOG_EVERY_S)
			{
				char		text[512];

				progress_text(p, text, sizeof(text));
				printf("progress: %s\n", text);
				fflush(stdout);
				snprintf(last_key, sizeof(last_key), "%s", key);
				last_line_at = now_s();
			}
		}

		sleep_s(args->interval_s);
		if (interrupted)
		{
			if (drawn)
				printf("\r\033[K");
			fflush(stdout);
			fprintf(stderr, "%s: stopped waiting; run %s goes on (\"%s cancel %s\" cancels it)\n",
					cli_progname, run_id, cli_progname, run_id);
			signal(SIGINT, SIG_DFL);
			raise(SIGINT);
			return false;
		}
	}
	if (drawn)
		printf("\r\033[K");
	fflush(stdout);
	return true;
}

static const char *const summary_sql =
"SELECT s->>'run_id' AS run_id, s->>'pipeline_id' AS pipeline_id, s->>'version' AS version,"
"       s->>'status' AS status, (s->>'duration_ms')::float8 AS duration_ms,"
"       s->>'rows_read' AS rows_read, s->>'rows_written' AS rows_written,"
"       s->>'quality_score' AS quality_score, s->>'engine' AS engine,"
"       s->>'attempts' AS attempts,"
"       s->'error'->>'sqlstate' AS sqlstate, s->'error'->>'message' AS message,"
"       s->'error'->>'detail' AS detail, s->'error'->>'step' AS step,"
"       s AS summary"
"  FROM etl.run_status($1::int8) AS s";

/*
 * Prints a run's summary (text, or its etl.run_status JSON); returns the
 * exit code its status means.
 */
int
cli_print_run_summary(PGconn *conn, const char *run_id, bool json)
{
	const char *values[1] = {run_id};
	PGresult   *res = cli_exec(conn, summary_sql, 1, values);
	const char *status;
	int			rc;

	if (res == NULL)
		return CLI_EXIT_FAILED;
	if (PQntuples(res) != 1 || cli_is_null(res, 0, "status"))
	{
		fprintf(stderr, "%s: run %s does not exist\n", cli_progname, run_id);
		PQclear(res);
		return CLI_EXIT_FAILED;
	}
	status = cli_value(res, 0, "status");
	rc = cli_run_exit_code(status);
	if (json)
	{
		printf("%s\n", cli_value(res, 0, "summary"));
		PQclear(res);
		return rc;
	}

	printf("run %s of %s (version %s): %s", run_id, cli_value(res, 0, "pipeline_id"),
		   cli_value(res, 0, "version"), status);
	if (!cli_is_null(res, 0, "duration_ms") && is_finished(status))
		printf(" in %.2f s", atof(cli_value(res, 0, "duration_ms")) / 1000.0);
	printf("\n");
#define LINE(label, col) \
	if (!cli_is_null(res, 0, col)) printf("  %-14s %s\n", label, cli_value(res, 0, col))
	LINE("rows read", "rows_read");
	LINE("rows written", "rows_written");
	LINE("quality score", "quality_score");
	LINE("engine", "engine");
	LINE("attempts", "attempts");
	if (!cli_is_null(res, 0, "message"))
	{
		printf("  %-14s %s", "error", cli_value(res, 0, "message"));
		if (!cli_is_null(res, 0, "sqlstate"))
			printf(" (SQLSTATE %s)", cli_value(res, 0, "sqlstate"));
		printf("\n");
	}
	LINE("detail", "detail");
	LINE("failed step", "step");
#undef LINE
	PQclear(res);
	return rc;
}

/*
 * metaetl execute --pipeline-id ID [--param K=V ...] [--no-wait]: starts a
 * run and, unless --no-wait, follows it until it ends.  The run is always
 * started with wait => false, even when the client waits: waiting inside
 * etl.execute_pipeline would keep one statement running for the whole run
 * and show no progress, whereas polling etl.run_status in short autocommit
 * queries holds no transaction open and sees each record the run worker
 * commits (see the file header).  SIGINT is caught only after the run is queued, so Ctrl-C
 * before that still kills the client as usual, and afterwards it stops the
 * waiting, never the run.  The exit code is the run's (cli_run_exit_code);
 * a lost connection while polling is exit 3, like failing to connect.
 */
int
cli_cmd_execute(PGconn *conn, const CliArgs *args)
{
	static const char *const sql =
	"SELECT s->>'run_id' AS run_id, s->>'status' AS status, s AS summary"
	"  FROM etl.execute_pipeline($1, trigger => 'cli', params => $2::jsonb, wait => false) AS s";
	char	   *params = params_json(args);
	const char *values[2] = {args->pipeline_id, params};
	PGresult   *res;
	char		run_id[32];
	Progress	p;
	struct sigaction sa;

	if (params == NULL)
	{
		fprintf(stderr, "%s: out of memory\n", cli_progname);
		return CLI_EXIT_FAILED;
	}
	res = cli_exec(conn, sql, 2, values);
	free(params);
	if (res == NULL)
		return CLI_EXIT_FAILED;
	snprintf(run_id, sizeof(run_id), "%s", cli_value(res, 0, "run_id"));
	PQclear(res);

	if (args->no_wait)
		return cli_print_run_summary(conn, run_id, args->json);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigint;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);	/* no SA_RESTART: the sleep ends at once */

	if (!wait_for_run(conn, run_id, args, &p))
		return PQstatus(conn) == CONNECTION_BAD ? CLI_EXIT_CONNECT : CLI_EXIT_FAILED;
	return cli_print_run_summary(conn, run_id, args->json);
}
