/*
 * test/unit/unit.h
 *		A minimal TAP producer for the C unit tests of metaetl's pure-C modules.
 *
 * A test file #includes the module's .c file, then calls UNIT_CHECK for each
 * assertion and returns unit_done() from main().  Output is TAP: one
 * "ok N - name" or "not ok N - name" line per check, then the plan.
 */
#ifndef METAETL_UNIT_H
#define METAETL_UNIT_H

#include <stdio.h>
#include <string.h>

static int	unit_count = 0;
static int	unit_failed = 0;

#define UNIT_CHECK(cond, ...) \
	do { \
		unit_count++; \
		if (cond) \
			printf("ok %d - ", unit_count); \
		else \
		{ \
			unit_failed++; \
			printf("not ok %d - ", unit_count); \
		} \
		printf(__VA_ARGS__); \
		if (!(cond)) \
			printf("  (%s:%d: %s)", __FILE__, __LINE__, #cond); \
		printf("\n"); \
	} while (0)

#define UNIT_CHECK_INT(got, want, ...) \
	do { \
		long long unit_g_ = (long long) (got); \
		long long unit_w_ = (long long) (want); \
		UNIT_CHECK(unit_g_ == unit_w_, __VA_ARGS__); \
		if (unit_g_ != unit_w_) \
			printf("#   got %lld, want %lld\n", unit_g_, unit_w_); \
	} while (0)

#define UNIT_CHECK_STR(got, want, ...) \
	do { \
		const char *unit_g_ = (got); \
		const char *unit_w_ = (want); \
		int unit_eq_ = (unit_g_ == NULL && unit_w_ == NULL) || \
			(unit_g_ != NULL && unit_w_ != NULL && strcmp(unit_g_, unit_w_) == 0); \
		UNIT_CHECK(unit_eq_, __VA_ARGS__); \
		if (!unit_eq_) \
			printf("#   got \"%s\", want \"%s\"\n", unit_g_ ? unit_g_ : "(null)", \
				   unit_w_ ? unit_w_ : "(null)"); \
	} while (0)

static int
unit_done(void)
{
	printf("1..%d\n", unit_count);
	return unit_failed == 0 ? 0 : 1;
}

#endif							/* METAETL_UNIT_H */
