/*-------------------------------------------------------------------------
 *
 * src/orchestrator/retry.h
 *		Error classification and retry delays (pure C, unit-tested).
 *
 *-------------------------------------------------------------------------
 */
#ifndef METAETL_RETRY_H
#define METAETL_RETRY_H

#include <stdbool.h>

typedef struct MetaetlRetryPolicy
{
	int			max_attempts;	/* >= 1; 1 = no retry */
	double		initial_delay_s;	/* delay before the 2nd attempt */
	double		backoff;		/* multiplier per further attempt, >= 1 */
	double		max_delay_s;	/* cap */
	bool		jitter;			/* +/- up to 25% random */
} MetaetlRetryPolicy;

/* in orchestrator/retry.c */
extern bool MetaetlSqlstateIsTransient(const char *sqlstate, bool statement_timeout);
extern const char *MetaetlSqlstateClassName(const char *sqlstate, bool statement_timeout);
extern void MetaetlRetryPolicyDefault(MetaetlRetryPolicy *policy);
extern double MetaetlRetryDelay(const MetaetlRetryPolicy *policy, int failed_attempt,
								unsigned int *seed);

#endif							/* METAETL_RETRY_H */
