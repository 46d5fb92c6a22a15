/*-------------------------------------------------------------------------
 *
 * src/orchestrator/retry.c
 *		Which errors are worth retrying, and how long to wait before retrying.
 *
 * The classification is documented in docs/running.md.  Transient errors are
 * those another attempt can plausibly get past: serialization failures,
 * deadlocks, lock timeouts, connection errors (class 08), insufficient
 * resources (class 53), server shutdown or cannot-connect (57P01-57P03) and
 * statement timeouts.  Everything else (bad data, bad SQL, permission
 * denied, a user's cancel) is permanent and fails the run at once.
 *
 * Remote databases: the relational connectors turn libpq and MariaDB
 * client errors into PostgreSQL SQLSTATEs (lost connections are 08006,
 * unreachable servers 08001, "too many connections" 53300), so class 08
 * covers them.  Foreign data wrappers report a failed connection as HV00N
 * (fdw_unable_to_establish_connection: mysql_fdw, tds_fdw); SQLSTATEs that
 * MySQL and ODBC drivers pass through unchanged are transient too: 08S01
 * (communication link failure, in class 08), HYT00 / HYT01 (timeout
 * expired, connection timeout), and MySQL's 40001 for a deadlock.
 *
 * Pure C: unit-tested by test/unit/test_retry.c.
 *
 *-------------------------------------------------------------------------
 */
#include <stdlib.h>
#include <string.h>

#include "orchestrator/retry.h"

/*
 * Whether an error may succeed when tried again: serialization failures,
 * deadlocks, lock timeouts, lost connections and resource shortages (and a
 * statement timeout when the caller says so).  Anything else is permanent,
 * since repeating a wrong config or bad data only repeats the failure.
 */
bool
MetaetlSqlstateIsTransient(const char *sqlstate, bool statement_timeout)
{
	if (sqlstate == NULL || strlen(sqlstate) != 5)
		return false;
	if (strcmp(sqlstate, "40001") == 0 ||	/* serialization_failure */
		strcmp(sqlstate, "40P01") == 0 ||	/* deadlock_detected */
		strcmp(sqlstate, "55P03") == 0)	/* lock_not_available */
		return true;
	if (strncmp(sqlstate, "08", 2) == 0 ||	/* connection exception */
		strncmp(sqlstate, "53", 2) == 0)	/* insufficient resources */
		return true;
	if (strcmp(sqlstate, "57P01") == 0 ||	/* admin_shutdown */
		strcmp(sqlstate, "57P02") == 0 ||	/* crash_shutdown */
		strcmp(sqlstate, "57P03") == 0)	/* cannot_connect_now */
		return true;
	if (strcmp(sqlstate, "HV00N") == 0 ||	/* fdw_unable_to_establish_connection */
		strcmp(sqlstate, "HYT00") == 0 ||	/* timeout expired (ODBC, MySQL) */
		strcmp(sqlstate, "HYT01") == 0)	/* connection timeout expired */
		return true;
	if (strcmp(sqlstate, "57014") == 0)	/* query_canceled */
		return statement_timeout;	/* a timeout, not a user's cancel */
	return false;
}

/* "transient" or "permanent": the error_class written to run records. */
const char *
MetaetlSqlstateClassName(const char *sqlstate, bool statement_timeout)
{
	return MetaetlSqlstateIsTransient(sqlstate, statement_timeout) ? "transient" : "permanent";
}

/*
 * The policy of a pipeline without retry: one attempt, and the defaults a
 * retry: block fills in for the keys it omits.
 */
void
MetaetlRetryPolicyDefault(MetaetlRetryPolicy *policy)
{
	policy->max_attempts = 1;
	policy->initial_delay_s = 5.0;
	policy->backoff = 2.0;
	policy->max_delay_s = 300.0;
	policy->jitter = false;
}

/*
 * MetaetlRetryDelay
 *		Seconds to wait after attempt number failed_attempt (1-based) failed:
 *		initial * backoff^(failed_attempt - 1), capped at max_delay_s, then
 *		with jitter moved by up to +/-25% (never below zero).
 */
double
MetaetlRetryDelay(const MetaetlRetryPolicy *policy, int failed_attempt,
				  unsigned int *seed)
{
	double		delay = policy->initial_delay_s;

	for (int i = 1; i < failed_attempt && delay < policy->max_delay_s; i++)
		delay *= policy->backoff;
	if (delay > policy->max_delay_s)
		delay = policy->max_delay_s;
	if (delay < 0)
		delay = 0;
	if (policy->jitter && delay > 0)
	{
		double		r = (double) rand_r(seed) / (double) RAND_MAX; /* [0,1] */

		delay *= 0.75 + 0.5 * r;
	}
	return delay;
}
