/*-------------------------------------------------------------------------
 *
 * src/util/relation.h
 *		The one answer to "is this text a relation name or a query?", and
 *		the safe FROM item for it.
 *
 * Users pass datasets as text: etl.profile('withdrawals'),
 * etl.quality_gate('SELECT * FROM t WHERE ...'), a source's table: or
 * query:.  Guessing from a prefix ("starts with with or select") fails on
 * tables named withdrawals, with, select_x or "Values".  Here the text is
 * read with PostgreSQL's own scanner: when its tokens are exactly a
 * qualified name (one to three names separated by dots; each an identifier,
 * a quoted identifier or any keyword: a table may be named with or table)
 * it is a relation; otherwise it must parse (raw_parser) as exactly one
 * SELECT, VALUES, TABLE or parenthesised query, without INTO, locking
 * clauses or data-modifying WITH.
 *
 * Usage (any subsystem; include after "postgres.h"):
 *
 *		MetaetlData *d = MetaetlResolveData(text, METAETL_DATA_MUST_EXIST);
 *		sql = psprintf("SELECT count(*) FROM %s AS x", d->from_item);
 *
 * from_item is the quoted, schema-qualified relation (resolved through the
 * search_path, AccessShareLock taken) or "(\n<query>\n)" with a trailing
 * semicolon removed; either is safe to put after FROM.  Nothing is read
 * and no privilege is checked: the statement that uses from_item runs with
 * the caller's rights.  Errors: 22023 for empty text, 42P01 for a missing
 * relation (unless METAETL_DATA_MISSING_OK), 42601 for a query that does
 * not parse or is not one plain SELECT.
 *
 *-------------------------------------------------------------------------
 */
#ifndef METAETL_UTIL_RELATION_H
#define METAETL_UTIL_RELATION_H

typedef enum MetaetlDataKind
{
	METAETL_DATA_RELATION,
	METAETL_DATA_QUERY
} MetaetlDataKind;

typedef struct MetaetlData
{
	MetaetlDataKind kind;
	Oid			relid;			/* RELATION: its OID; InvalidOid when missing_ok and absent */
	char	   *schema;			/* RELATION: as written (NULL: search_path), unquoted */
	char	   *name;			/* RELATION: as written, unquoted */
	char	   *query;			/* QUERY: the text, trailing semicolon removed */
	char	   *from_item;		/* safe after FROM; NULL for a missing relation */
	char	   *label;			/* what records name it: schema.name quoted, or the query */
} MetaetlData;

#define METAETL_DATA_MUST_EXIST	0x00
#define METAETL_DATA_MISSING_OK	0x01

/* in util/relation.c */
extern bool MetaetlLooksLikeQuery(const char *text);
extern MetaetlData *MetaetlResolveData(const char *text, int flags);

#endif							/* METAETL_UTIL_RELATION_H */
