/*-------------------------------------------------------------------------
 *
 * src/util/ident.h
 *		Pure-C helpers for metaetl identifiers and "did you mean" suggestions.
 *
 * No PostgreSQL headers: these functions are unit-tested outside the server
 * (test/unit/test_ident.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef METAETL_IDENT_H
#define METAETL_IDENT_H

#include <stdbool.h>
#include <stddef.h>

#define METAETL_IDENT_MAXLEN 63

/* in util/ident.c */
extern bool MetaetlIdentValid(const char *id);
extern int	MetaetlEditDistance(const char *a, const char *b);
extern const char *MetaetlNearest(const char *word, const char *const *candidates,
								  int ncandidates, int max_distance);

#endif							/* METAETL_IDENT_H */
