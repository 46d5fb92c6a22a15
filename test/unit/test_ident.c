/*
 * test/unit/test_ident.c
 *		Unit tests of src/util/ident.c: identifier syntax and suggestions.
 */
#include "unit.h"
#include "../../src/util/ident.c"

int
main(void)
{
	static const char *const steps[] = {"filter", "map", "select", "drop", "aggregate", "join"};

	UNIT_CHECK(MetaetlIdentValid("customer_etl"), "customer_etl is a valid id");
	UNIT_CHECK(MetaetlIdentValid("a"), "a one-letter id is valid");
	UNIT_CHECK(!MetaetlIdentValid(""), "the empty string is not an id");
	UNIT_CHECK(!MetaetlIdentValid(NULL), "NULL is not an id");
	UNIT_CHECK(!MetaetlIdentValid("9lives"), "an id cannot start with a digit");
	UNIT_CHECK(!MetaetlIdentValid("_x"), "an id cannot start with an underscore");
	UNIT_CHECK(!MetaetlIdentValid("Customer"), "upper case is not allowed");
	UNIT_CHECK(!MetaetlIdentValid("a-b"), "a hyphen is not allowed");
	UNIT_CHECK(!MetaetlIdentValid("a\"; DROP TABLE x; --"), "a hostile name is not an id");
	UNIT_CHECK(MetaetlIdentValid("a23456789012345678901234567890123456789012345678901234567890123"),
			   "63 bytes is the longest id");
	UNIT_CHECK(!MetaetlIdentValid("a234567890123456789012345678901234567890123456789012345678901234"),
			   "64 bytes is too long");

	UNIT_CHECK_INT(MetaetlEditDistance("kitten", "sitting"), 3, "kitten/sitting distance is 3");
	UNIT_CHECK_INT(MetaetlEditDistance("", "abc"), 3, "distance from empty is the length");
	UNIT_CHECK_INT(MetaetlEditDistance("same", "same"), 0, "equal strings have distance 0");
	UNIT_CHECK_STR(MetaetlNearest("fliter", steps, 6, 3), "filter", "fliter suggests filter");
	UNIT_CHECK_STR(MetaetlNearest("agregate", steps, 6, 3), "aggregate", "agregate suggests aggregate");
	UNIT_CHECK_STR(MetaetlNearest("zzzzzzzzzz", steps, 6, 3), NULL, "nothing close: no suggestion");

	return unit_done();
}
