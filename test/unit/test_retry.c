/*
 * test/unit/test_retry.c
 *		Unit tests of src/orchestrator/retry.c: error classes and backoff.
 */
#include "unit.h"
#include "../../src/orchestrator/retry.c"

int
main(void)
{
	MetaetlRetryPolicy p;
	unsigned int seed = 42;

	UNIT_CHECK(MetaetlSqlstateIsTransient("40001", false), "serialization_failure is transient");
	UNIT_CHECK(MetaetlSqlstateIsTransient("40P01", false), "deadlock_detected is transient");
	UNIT_CHECK(MetaetlSqlstateIsTransient("55P03", false), "lock_not_available is transient");
	UNIT_CHECK(MetaetlSqlstateIsTransient("08006", false), "connection_failure is transient");
	UNIT_CHECK(MetaetlSqlstateIsTransient("53200", false), "out_of_memory is transient");
	UNIT_CHECK(MetaetlSqlstateIsTransient("57P03", false), "cannot_connect_now is transient");
	UNIT_CHECK(MetaetlSqlstateIsTransient("57014", true), "a statement timeout is transient");
	UNIT_CHECK(!MetaetlSqlstateIsTransient("57014", false), "a user's cancel is permanent");
	UNIT_CHECK(MetaetlSqlstateIsTransient("08001", false), "a remote server that cannot be reached is transient");
	UNIT_CHECK(MetaetlSqlstateIsTransient("08S01", false), "MySQL's communication link failure is transient");
	UNIT_CHECK(MetaetlSqlstateIsTransient("HV00N", false), "an FDW that cannot connect is transient");
	UNIT_CHECK(MetaetlSqlstateIsTransient("HYT00", false), "an ODBC/MySQL timeout is transient");
	UNIT_CHECK(MetaetlSqlstateIsTransient("53300", false), "too_many_connections (max_connections) is transient");
	UNIT_CHECK(!MetaetlSqlstateIsTransient("28P01", false), "a wrong remote password is permanent");
	UNIT_CHECK(!MetaetlSqlstateIsTransient("HV000", false), "other FDW errors are permanent");
	UNIT_CHECK(!MetaetlSqlstateIsTransient("23505", false), "unique_violation is permanent");
	UNIT_CHECK(!MetaetlSqlstateIsTransient("42P01", false), "undefined_table is permanent");
	UNIT_CHECK(!MetaetlSqlstateIsTransient("42501", false), "insufficient_privilege is permanent");
	UNIT_CHECK(!MetaetlSqlstateIsTransient("4000", false), "a malformed sqlstate is permanent");
	UNIT_CHECK(!MetaetlSqlstateIsTransient(NULL, false), "no sqlstate is permanent");
	UNIT_CHECK_STR(MetaetlSqlstateClassName("40001", false), "transient", "class name of 40001");

	MetaetlRetryPolicyDefault(&p);
	UNIT_CHECK_INT(p.max_attempts, 1, "the default policy does not retry");
	p.max_attempts = 5;
	p.initial_delay_s = 1.0;
	p.backoff = 2.0;
	p.max_delay_s = 5.0;
	UNIT_CHECK(MetaetlRetryDelay(&p, 1, &seed) == 1.0, "first retry waits the initial delay");
	UNIT_CHECK(MetaetlRetryDelay(&p, 2, &seed) == 2.0, "second retry doubles it");
	UNIT_CHECK(MetaetlRetryDelay(&p, 3, &seed) == 4.0, "third retry doubles again");
	UNIT_CHECK(MetaetlRetryDelay(&p, 4, &seed) == 5.0, "the delay is capped at max_delay_s");
	UNIT_CHECK(MetaetlRetryDelay(&p, 1000, &seed) == 5.0, "a huge attempt number stays capped");
	p.jitter = true;
	{
		int			in_range = 1;

		for (int i = 0; i < 1000; i++)
		{
			double		d = MetaetlRetryDelay(&p, 2, &seed);

			if (d < 1.5 || d > 2.5)
				in_range = 0;
		}
		UNIT_CHECK(in_range, "jitter stays within +/-25%%");
	}
	return unit_done();
}
