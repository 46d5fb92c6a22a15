/*-------------------------------------------------------------------------
 *
 * src/cli/metaetl.c
 *		The metaetl command-line client: argument parsing, connection and
 *		dispatch to the commands.
 *
 * Options may stand before or after the command (`metaetl --json runs` and
 * `metaetl runs --json` are the same).  Each command accepts only the options
 * that mean something to it; anything else is a usage error (exit 2), so a
 * mistyped option never silently does something else.  The connection comes
 * from --dsn (a conninfo string or a postgresql:// URI) or, without it, from
 * the PG* environment variables, exactly as psql's.
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "cli.h"

const char *cli_progname = "metaetl";

/* which options each command takes */
#define OPT_PIPELINE	(1 << 0)
#define OPT_NO_WAIT		(1 << 1)
#define OPT_PARAM		(1 << 2)
#define OPT_CONFIG		(1 << 3)
#define OPT_TIMEZONE	(1 << 4)
#define OPT_LIMIT		(1 << 5)
#define OPT_INTERVAL	(1 << 6)

typedef struct CliCommand
{
	const char *name;
	int			(*run) (PGconn *conn, const CliArgs *args);
	int			options;		/* OPT_* it accepts besides --dsn, --json */
	int			min_pos;		/* positional arguments */
	int			max_pos;
	const char *synopsis;
} CliCommand;

static const CliCommand commands[] = {
	{"execute", cli_cmd_execute, OPT_PIPELINE | OPT_NO_WAIT | OPT_PARAM | OPT_INTERVAL, 0, 0,
	"execute --pipeline-id ID [--no-wait] [--param KEY=VALUE]..."},
	{"validate", cli_cmd_validate, OPT_CONFIG, 0, 0,
	"validate --config-file FILE"},
	{"status", cli_cmd_status, 0, 0, 0,
	"status"},
	{"list-pipelines", cli_cmd_list_pipelines, 0, 0, 0,
	"list-pipelines"},
	{"apply", cli_cmd_apply, 0, 1, CLI_MAX_FILES,
	"apply FILE..."},
	{"runs", cli_cmd_runs, OPT_PIPELINE | OPT_LIMIT, 0, 0,
	"runs [--pipeline-id ID] [--limit N]"},
	{"logs", cli_cmd_logs, 0, 1, 1,
	"logs RUN_ID"},
	{"cancel", cli_cmd_cancel, 0, 1, 1,
	"cancel RUN_ID"},
	{"schedule", cli_cmd_schedule, OPT_TIMEZONE, 2, 2,
	"schedule PIPELINE_ID CRON [--timezone TZ]"},
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void
print_usage(FILE *out)
{
	size_t		i;

	fprintf(out,
			"%s drives metaetl pipelines in a PostgreSQL database.\n\n"
			"Usage:\n", cli_progname);
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(out, "  %s [--dsn DSN] [--json] %s\n", cli_progname, commands[i].synopsis);
	fprintf(out,
			"\nOptions:\n"
			"  --dsn DSN       connection string or URI (default: the PG* environment variables)\n"
			"  --json          machine-readable output\n"
			"  --interval S    execute: seconds between progress polls (default 0.2)\n"
			"  -h, --help      this help\n"
			"  --version       the client's version\n"
			"\nExit status: 0 success, 1 the run, validation or command failed, 2 usage error,\n"
			"3 cannot connect.\n");
}

/*
 * Reports a usage error on stderr, with a pointer to --help, and exits with
 * CLI_EXIT_USAGE.  It never returns, so argument checks anywhere (the option
 * parser, main's per-command checks, run_id_arg in commands.c) can call it
 * without an error path of their own; exit code 2 for every bad argument is
 * part of the documented contract (docs/cli.md).
 */
void
cli_usage_error(const char *fmt,...)
{
	va_list		ap;

	fprintf(stderr, "%s: ", cli_progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry \"%s --help\" for more information.\n", cli_progname);
	exit(CLI_EXIT_USAGE);
}

/*
 * The value of an option: "--name=value" or "--name value".  *i is advanced
 * past a separate value.
 */
static const char *
option_value(int argc, char **argv, int *i, const char *name, const char *eq)
{
	if (eq)
		return eq + 1;
	if (*i + 1 >= argc)
		cli_usage_error("option %s needs a value", name);
	(*i)++;
	return argv[*i];
}

static void
parse_args(int argc, char **argv, CliArgs *args, int *given)
{
	int			i;

	memset(args, 0, sizeof(*args));
	args->interval_s = 0.2;
	*given = 0;

	for (i = 1; i < argc; i++)
	{
		const char *a = argv[i];
		const char *eq;
		size_t		namelen;
		char		name[64];

		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
		{
			print_usage(stdout);
			exit(CLI_EXIT_OK);
		}
		if (strcmp(a, "--version") == 0)
		{
			printf("%s (metaetl) %s\n", cli_progname, METAETL_VERSION);
			exit(CLI_EXIT_OK);
		}
		if (strcmp(a, "--") == 0)
		{
			/* everything after -- is positional */
			for (i++; i < argc; i++)
			{
				if (args->command == NULL)
					args->command = argv[i];
				else if (args->npositional < CLI_MAX_FILES)
					args->positional[args->npositional++] = argv[i];
				else
					cli_usage_error("too many arguments");
			}
			break;
		}
		if (strncmp(a, "--", 2) != 0 || a[2] == '\0')
		{
			if (a[0] == '-' && a[1] != '\0')
				cli_usage_error("unknown option \"%s\"", a);
			if (args->command == NULL)
				args->command = a;
			else if (args->npositional < CLI_MAX_FILES)
				args->positional[args->npositional++] = a;
			else
				cli_usage_error("too many arguments (at most %d)", CLI_MAX_FILES);
			continue;
		}

		eq = strchr(a, '=');
		namelen = eq ? (size_t) (eq - a) : strlen(a);
		if (namelen >= sizeof(name))
			cli_usage_error("unknown option \"%s\"", a);
		memcpy(name, a, namelen);
		name[namelen] = '\0';

		if (strcmp(name, "--dsn") == 0)
			args->dsn = option_value(argc, argv, &i, name, eq);
		else if (strcmp(name, "--json") == 0 && !eq)
			args->json = true;
		else if (strcmp(name, "--pipeline-id") == 0)
		{
			args->pipeline_id = option_value(argc, argv, &i, name, eq);
			*given |= OPT_PIPELINE;
		}
		else if (strcmp(name, "--no-wait") == 0 && !eq)
		{
			args->no_wait = true;
			*given |= OPT_NO_WAIT;
		}
		else if (strcmp(name, "--param") == 0)
		{
			const char *kv = option_value(argc, argv, &i, name, eq);
			const char *sep = strchr(kv, '=');
			char	   *key;

			if (sep == NULL || sep == kv)
				cli_usage_error("--param takes KEY=VALUE, not \"%s\"", kv);
			if (args->nparams >= CLI_MAX_PARAMS)
				cli_usage_error("too many --param options (at most %d)", CLI_MAX_PARAMS);
			key = strndup(kv, (size_t) (sep - kv));
			if (key == NULL)
				cli_usage_error("out of memory");
			args->param_keys[args->nparams] = key;
			args->param_values[args->nparams] = sep + 1;
			args->nparams++;
			*given |= OPT_PARAM;
		}
		else if (strcmp(name, "--config-file") == 0)
		{
			args->config_file = option_value(argc, argv, &i, name, eq);
			*given |= OPT_CONFIG;
		}
		else if (strcmp(name, "--timezone") == 0)
		{
			args->timezone = option_value(argc, argv, &i, name, eq);
			*given |= OPT_TIMEZONE;
		}
		else if (strcmp(name, "--limit") == 0)
		{
			const char *v = option_value(argc, argv, &i, name, eq);
			char	   *end;
			long		n;

			errno = 0;
			n = strtol(v, &end, 10);
			if (errno || *end || end == v || n < 1 || n > 100000)
				cli_usage_error("--limit takes a number from 1 to 100000, not \"%s\"", v);
			args->limit = v;
			*given |= OPT_LIMIT;
		}
		else if (strcmp(name, "--interval") == 0)
		{
			const char *v = option_value(argc, argv, &i, name, eq);
			char	   *end;

			errno = 0;
			args->interval_s = strtod(v, &end);
			if (errno || *end || end == v || !(args->interval_s >= 0.01 && args->interval_s <= 60))
				cli_usage_error("--interval takes seconds from 0.01 to 60, not \"%s\"", v);
			*given |= OPT_INTERVAL;
		}
		else
			cli_usage_error("unknown option \"%s\"", a);
	}
}

/* the flag of an option, for error messages */
static const char *
option_name(int opt)
{
	switch (opt)
	{
		case OPT_PIPELINE:
			return "--pipeline-id";
		case OPT_NO_WAIT:
			return "--no-wait";
		case OPT_PARAM:
			return "--param";
		case OPT_CONFIG:
			return "--config-file";
		case OPT_TIMEZONE:
			return "--timezone";
		case OPT_LIMIT:
			return "--limit";
		case OPT_INTERVAL:
			return "--interval";
	}
	return "?";
}

/*
 * Parses the command line, checks it against the command's row of
 * commands[] (allowed options, number of positional arguments, required
 * options) and only then connects, so a usage error never costs a
 * connection attempt and is always exit 2, never 3.  The connection is one
 * PQconnectdbParams with expand_dbname, so --dsn may be a conninfo string or
 * a URI and, without it, libpq's PG* variables apply as in psql;
 * fallback_application_name marks the session as metaetl's in
 * pg_stat_activity.  The command's return value is the exit status.
 */
int
main(int argc, char **argv)
{
	CliArgs		args;
	int			given;
	const CliCommand *cmd = NULL;
	size_t		i;
	int			bit;
	PGconn	   *conn;
	int			rc;
	const char *keywords[3] = {"dbname", "fallback_application_name", NULL};
	const char *values[3];

	parse_args(argc, argv, &args, &given);
	if (args.command == NULL)
	{
		print_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, args.command) == 0)
			cmd = &commands[i];
	if (cmd == NULL)
		cli_usage_error("unknown command \"%s\"", args.command);

	for (bit = 1; bit <= OPT_INTERVAL; bit <<= 1)
		if ((given & bit) && !(cmd->options & bit))
			cli_usage_error("%s is not an option of %s", option_name(bit), cmd->name);
	if (args.npositional < cmd->min_pos || args.npositional > cmd->max_pos)
		cli_usage_error("usage: %s %s", cli_progname, cmd->synopsis);
	if (strcmp(cmd->name, "execute") == 0 && args.pipeline_id == NULL)
		cli_usage_error("execute needs --pipeline-id ID");
	if (strcmp(cmd->name, "validate") == 0 && args.config_file == NULL)
		cli_usage_error("validate needs --config-file FILE");

	/*
	 * An empty dbname makes libpq read every PG* variable; a given DSN may be
	 * a conninfo string or a URI (expand_dbname).
	 */
	values[0] = args.dsn ? args.dsn : "";
	values[1] = "metaetl";
	values[2] = NULL;
	conn = PQconnectdbParams(keywords, values, 1);
	if (conn == NULL || PQstatus(conn) != CONNECTION_OK)
	{
		fprintf(stderr, "%s: cannot connect: %s", cli_progname,
				conn ? PQerrorMessage(conn) : "out of memory\n");
		PQfinish(conn);
		return CLI_EXIT_CONNECT;
	}

	rc = cmd->run(conn, &args);
	fflush(stdout);
	PQfinish(conn);
	return rc;
}
