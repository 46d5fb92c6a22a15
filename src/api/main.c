/*-------------------------------------------------------------------------
 *
 * src/api/main.c
 *		metaetl-api: command line, start-up checks, and graceful shutdown.
 *
 * The main thread blocks SIGTERM, SIGINT and SIGHUP before any other thread
 * exists (libmicrohttpd's threads inherit the mask) and waits for them with
 * sigwait, so no signal handler ever runs inside a request.  SIGTERM (or
 * SIGINT) stops accepting connections, lets the requests in flight finish
 * for up to --shutdown-timeout seconds, then stops the daemon and closes the
 * pool: systemd's stop, or a rolling restart, loses no answered request.
 * SIGHUP is ignored (there is no configuration file to reload).
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api.h"

#ifndef METAETL_WEB_ROOT
#define METAETL_WEB_ROOT "/usr/share/postgresql/15/metaetl/web"
#endif

ApiConfig	api_config = {
	.listen = "127.0.0.1:8080",
	.dsn = "",
	.web_root = METAETL_WEB_ROOT,
	.pool_size = 0,				/* twice the CPU cores (default_pool_size) */
	.pool_timeout_ms = 5000,
	.statement_timeout_ms = 30000,
	.wait_timeout_ms = 60000,
	.idle_timeout_s = 60,
	.shutdown_timeout_s = 10,
	.max_body = 1024 * 1024,
	.max_connections = 256,
	.token_cache_s = 10,
	.access_log = true,
};

/*
 * The default pool: twice the CPU cores, at least 2 (the usual sizing of a
 * connection pool in front of PostgreSQL).  More connections than the
 * database can run at once only move the queue from the pool (first come,
 * first served) into the kernel's run queue, where a busy backend waits
 * behind every thread that just woke up: in test/bench/api on 2 cores, 50
 * clients reading run status had a p99 of 96 ms with 8 connections and 8-9 ms
 * with 3 or 4, at the same throughput.
 */
static int
default_pool_size(void)
{
	long		cores = sysconf(_SC_NPROCESSORS_ONLN);

	return cores < 1 ? 2 : cores > 32 ? 64 : (int) (2 * cores);
}

static void
usage(FILE *out)
{
	fprintf(out,
			"metaetl-api serves the metaetl REST API (/api/v1) and its dashboard (/).\n\n"
			"Usage:\n"
			"  metaetl-api --listen HOST:PORT --dsn DSN [options]\n\n"
			"Options:\n"
			"  --listen HOST:PORT        address to listen on (default 127.0.0.1:8080; [::1]:8080 for IPv6)\n"
			"  --dsn DSN                 database connection (default: the PG* environment variables);\n"
			"                            its role must be a member of etl_api\n"
			"  --tls-cert FILE           serve HTTPS with this PEM certificate (chain)...\n"
			"  --tls-key FILE            ...and this PEM private key\n"
			"  --pool-size N             database connections (default: twice the CPU cores, at least 2)\n"
			"  --pool-timeout S          wait this long for a free connection, then 503 (default 5)\n"
			"  --statement-timeout S     limit of each SQL statement, then 504 (default 30)\n"
			"  --wait-timeout S          longest wait of an execute with \"wait\": true, then 202 (default 60)\n"
			"  --idle-timeout S          close idle HTTP connections after S seconds (default 60)\n"
			"  --shutdown-timeout S      on SIGTERM, let requests finish this long (default 10)\n"
			"  --max-body BYTES          largest request body, then 413 (default 1048576)\n"
			"  --max-connections N       simultaneous HTTP connections (default 256)\n"
			"  --token-cache S           remember a token's role this long; 0: ask every time (default 10)\n"
			"  --web-root DIR            dashboard files and openapi.json (default %s)\n"
			"  --no-access-log           do not log one line per request\n"
			"  --version, --help\n",
			METAETL_WEB_ROOT);
}

static void
bad_option(const char *fmt, const char *arg)
{
	fprintf(stderr, "metaetl-api: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry \"metaetl-api --help\" for more information.\n");
	exit(2);
}

static long
number_arg(const char *name, const char *v, long min, long max)
{
	char	   *end;
	long		n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || *v == '\0' || *end || n < min || n > max)
	{
		fprintf(stderr, "metaetl-api: %s takes a number from %ld to %ld, not \"%s\"\n", name, min, max, v);
		exit(2);
	}
	return n;
}

static void
parse_args(int argc, char **argv)
{
	int			i;

	for (i = 1; i < argc; i++)
	{
		const char *a = argv[i];
		const char *v = NULL;
		char		name[64];
		const char *eq = strchr(a, '=');
		size_t		n = eq ? (size_t) (eq - a) : strlen(a);

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
		{
			usage(stdout);
			exit(0);
		}
		if (strcmp(a, "--version") == 0)
		{
			printf("metaetl-api (metaetl) %s\n", METAETL_VERSION);
			exit(0);
		}
		if (strcmp(a, "--no-access-log") == 0)
		{
			api_config.access_log = false;
			continue;
		}
		if (strncmp(a, "--", 2) != 0 || n >= sizeof(name))
			bad_option("unknown argument \"%s\"", a);
		memcpy(name, a, n);
		name[n] = '\0';
		if (eq)
			v = eq + 1;
		else if (i + 1 < argc)
			v = argv[++i];
		else
			bad_option("option %s needs a value", name);

		if (strcmp(name, "--listen") == 0)
			api_config.listen = v;
		else if (strcmp(name, "--dsn") == 0)
			api_config.dsn = v;
		else if (strcmp(name, "--tls-cert") == 0)
			api_config.tls_cert = v;
		else if (strcmp(name, "--tls-key") == 0)
			api_config.tls_key = v;
		else if (strcmp(name, "--web-root") == 0)
			api_config.web_root = v;
		else if (strcmp(name, "--pool-size") == 0)
			api_config.pool_size = (int) number_arg(name, v, 1, 1000);
		else if (strcmp(name, "--pool-timeout") == 0)
			api_config.pool_timeout_ms = (int) number_arg(name, v, 0, 3600) * 1000;
		else if (strcmp(name, "--statement-timeout") == 0)
			api_config.statement_timeout_ms = (int) number_arg(name, v, 1, 86400) * 1000;
		else if (strcmp(name, "--wait-timeout") == 0)
			api_config.wait_timeout_ms = (int) number_arg(name, v, 0, 86400) * 1000;
		else if (strcmp(name, "--idle-timeout") == 0)
			api_config.idle_timeout_s = (int) number_arg(name, v, 1, 86400);
		else if (strcmp(name, "--shutdown-timeout") == 0)
			api_config.shutdown_timeout_s = (int) number_arg(name, v, 0, 3600);
		else if (strcmp(name, "--max-body") == 0)
			api_config.max_body = (size_t) number_arg(name, v, 1024, 1024L * 1024 * 1024);
		else if (strcmp(name, "--max-connections") == 0)
			api_config.max_connections = (int) number_arg(name, v, 1, 100000);
		else if (strcmp(name, "--token-cache") == 0)
			api_config.token_cache_s = (int) number_arg(name, v, 0, 3600);
		else
			bad_option("unknown option \"%s\"", name);
	}
}

/*
 * Start-up and shutdown, in the order they depend on each other: options
 * (a bad one exits before anything starts), the signal mask (before any
 * thread, see the file header), the dashboard files and the pool (either
 * failing exits 1 before the port is opened, so a half-working server never
 * listens), then the daemon.  The main thread then only waits for a signal;
 * on SIGTERM or SIGINT it stops accepting, waits up to --shutdown-timeout
 * for requests in flight, and stops the daemon before closing the pool.
 */
int
main(int argc, char **argv)
{
	sigset_t	signals;
	void	   *daemon;
	int			sig;
	double		deadline;

	parse_args(argc, argv);

	/* before any thread starts: every thread inherits the mask */
	sigemptyset(&signals);
	sigaddset(&signals, SIGTERM);
	sigaddset(&signals, SIGINT);
	sigaddset(&signals, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &signals, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (api_config.pool_size == 0)
		api_config.pool_size = default_pool_size();
	handlers_init();
	if (!static_load())
		return 1;
	if (!pool_init())
		return 1;
	daemon = http_start();
	if (daemon == NULL)
	{
		pool_close();
		return 1;
	}
	api_log("listening on %s://%s (pool %d, metaetl %s)",
			api_config.tls_cert ? "https" : "http", api_config.listen,
			api_config.pool_size, METAETL_VERSION);

	for (;;)
	{
		if (sigwait(&signals, &sig) != 0)
			continue;
		if (sig == SIGHUP)
			continue;
		break;
	}

	api_log("%s: shutting down, %d requests in flight", sig == SIGTERM ? "SIGTERM" : "SIGINT",
			http_active_requests());
	http_quiesce(daemon);
	deadline = api_now() + api_config.shutdown_timeout_s;
	while (http_active_requests() > 0 && api_now() < deadline)
	{
		struct timespec ts = {0, 20 * 1000 * 1000};

		nanosleep(&ts, NULL);
	}
	if (http_active_requests() > 0)
		api_log("%d requests still running after --shutdown-timeout; closing them",
				http_active_requests());
	http_stop(daemon);
	pool_close();
	api_log("stopped");
	return 0;
}
