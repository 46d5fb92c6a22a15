/*-------------------------------------------------------------------------
 *
 * src/cli/cli.h
 *		Declarations shared by the files of the metaetl command-line client.
 *
 * metaetl is a libpq program: every command is one or a few calls of the
 * public SQL API (section 4 of the design), always with its arguments sent as
 * libpq parameters, never pasted into SQL text.  Results are printed as
 * aligned tables or, with --json, as JSON built from the result's column
 * types.
 *
 *-------------------------------------------------------------------------
 */
#ifndef METAETL_CLI_H
#define METAETL_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include <libpq-fe.h>

/* exit codes: part of the contract (docs/cli.md) */
#define CLI_EXIT_OK			0	/* success */
#define CLI_EXIT_FAILED		1	/* a run, a validation or a command failed */
#define CLI_EXIT_USAGE		2	/* bad arguments, unreadable file */
#define CLI_EXIT_CONNECT	3	/* cannot connect to the server */

#define CLI_MAX_PARAMS		64	/* --param k=v given more often is a usage error */
#define CLI_MAX_FILES		256

/* everything the command line said */
typedef struct CliArgs
{
	const char *command;
	const char *dsn;			/* NULL: PG* environment variables */
	bool		json;
	const char *pipeline_id;
	bool		no_wait;
	const char *config_file;
	const char *timezone;
	const char *limit;
	double		interval_s;		/* progress poll interval */
	int			nparams;
	const char *param_keys[CLI_MAX_PARAMS];
	const char *param_values[CLI_MAX_PARAMS];
	int			npositional;	/* arguments after the command */
	const char *positional[CLI_MAX_FILES];
} CliArgs;

/* in cli/metaetl.c */
extern const char *cli_progname;
extern void cli_usage_error(const char *fmt,...) __attribute__((format(printf, 1, 2)));

/* in cli/output.c */
extern PGresult *cli_exec(PGconn *conn, const char *sql, int nparams,
						  const char *const *values);
extern void cli_print_error(const PGresult *res);
extern void cli_print_table(FILE *out, const PGresult *res);
extern void cli_print_record(FILE *out, const PGresult *res, int row);
extern void cli_print_json_rows(FILE *out, const PGresult *res);
extern void cli_print_json_record(FILE *out, const PGresult *res, int row);
extern void cli_json_string(FILE *out, const char *s);
extern bool cli_is_null(const PGresult *res, int row, const char *column);
extern const char *cli_value(const PGresult *res, int row, const char *column);
extern char *cli_read_file(const char *path, size_t *len);

/* in cli/commands.c */
extern int	cli_cmd_validate(PGconn *conn, const CliArgs *args);
extern int	cli_cmd_status(PGconn *conn, const CliArgs *args);
extern int	cli_cmd_list_pipelines(PGconn *conn, const CliArgs *args);
extern int	cli_cmd_apply(PGconn *conn, const CliArgs *args);
extern int	cli_cmd_runs(PGconn *conn, const CliArgs *args);
extern int	cli_cmd_logs(PGconn *conn, const CliArgs *args);
extern int	cli_cmd_cancel(PGconn *conn, const CliArgs *args);
extern int	cli_cmd_schedule(PGconn *conn, const CliArgs *args);

/* in cli/execute.c */
extern int	cli_cmd_execute(PGconn *conn, const CliArgs *args);
extern int	cli_print_run_summary(PGconn *conn, const char *run_id, bool json);
extern int	cli_run_exit_code(const char *status);

#endif							/* METAETL_CLI_H */
