/*-------------------------------------------------------------------------
 *
 * src/util/ident.c
 *		Identifier syntax and edit distance for "did you mean" suggestions.
 *
 * Pipeline, step and connection ids are lower-case ASCII: [a-z][a-z0-9_]*,
 * at most 63 bytes (so they fit a PostgreSQL name).  The same rule is the
 * SQL function etl.is_valid_id(), used by CHECK constraints.  Suggestions for
 * an unknown type or column name use the Levenshtein distance.
 *
 * Pure C: no PostgreSQL headers, unit-tested by test/unit/test_ident.c.
 *
 *-------------------------------------------------------------------------
 */
#include <stdlib.h>
#include <string.h>

#include "util/ident.h"

/*
 * The one id rule (pipelines, steps, channels, ...): a lower-case letter,
 * then lower-case letters, digits and _, at most METAETL_IDENT_MAXLEN bytes,
 * so an id never needs quoting in SQL, paths or URLs.
 */
bool
MetaetlIdentValid(const char *id)
{
	size_t		len;

	if (id == NULL || !(id[0] >= 'a' && id[0] <= 'z'))
		return false;
	len = strlen(id);
	if (len > METAETL_IDENT_MAXLEN)
		return false;
	for (size_t i = 1; i < len; i++)
	{
		char		c = id[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			return false;
	}
	return true;
}

/*
 * MetaetlEditDistance
 *		Levenshtein distance (insert, delete, substitute each cost 1), two rows.
 *		Inputs longer than 255 bytes are compared on their first 255 bytes:
 *		suggestions are for short names.
 */
int
MetaetlEditDistance(const char *a, const char *b)
{
	int			prev[256];
	int			cur[256];
	size_t		la = strlen(a);
	size_t		lb = strlen(b);

	if (la > 255)
		la = 255;
	if (lb > 255)
		lb = 255;

	for (size_t j = 0; j <= lb; j++)
		prev[j] = (int) j;
	for (size_t i = 1; i <= la; i++)
	{
		cur[0] = (int) i;
		for (size_t j = 1; j <= lb; j++)
		{
			int			sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
			int			del = prev[j] + 1;
			int			ins = cur[j - 1] + 1;
			int			best = sub < del ? sub : del;

			cur[j] = best < ins ? best : ins;
		}
		memcpy(prev, cur, sizeof(int) * (lb + 1));
	}
	return prev[lb];
}

/*
 * MetaetlNearest
 *		The candidate closest to word, or NULL when none is within
 *		max_distance.  Ties go to the earlier candidate.
 */
const char *
MetaetlNearest(const char *word, const char *const *candidates,
			   int ncandidates, int max_distance)
{
	const char *best = NULL;
	int			best_d = max_distance + 1;

	for (int i = 0; i < ncandidates; i++)
	{
		int			d = MetaetlEditDistance(word, candidates[i]);

		if (d < best_d)
		{
			best = candidates[i];
			best_d = d;
		}
	}
	return best;
}
