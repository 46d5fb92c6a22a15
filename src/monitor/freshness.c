/*-------------------------------------------------------------------------
 *
 * src/monitor/freshness.c
 *		The newest value of a freshness SLA's column, read as the
 *		pipeline's owner.
 *
 * A freshness SLA names a user's relation and column; the SLA functions
 * that evaluate it run as the extension owner (the launcher does it every
 * minute).  Reading the relation with those rights would run whatever the
 * relation runs — a view's functions — as the owner.  So the read happens
 * in a user section (security/privs.c) as the pipeline's owner, restricted,
 * after checking that the owner may SELECT the column; an owner who may
 * not gets NULL ("no data"), and nothing about the relation is reported.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"

#include "metaetl.h"
#include "security/security.h"

PG_FUNCTION_INFO_V1(metaetl_freshness_newest);

/* etl._freshness_newest(pipeline_id text, relation text, col text) → timestamptz */
Datum
metaetl_freshness_newest(PG_FUNCTION_ARGS)
{
	char	   *pipeline_id = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *relname = text_to_cstring(PG_GETARG_TEXT_PP(1));
	char	   *col = text_to_cstring(PG_GETARG_TEXT_PP(2));
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(pipeline_id)};
	Oid			owner = InvalidOid;
	Oid			relid;
	AttrNumber	attnum;
	List	   *names;
	MetaetlPrivState st;
	bool		isnull = true;
	Datum		newest = (Datum) 0;

	/* the pipeline's owner (metaetl's own table, read as metaetl) */
	MetaetlOwnerBegin(&st);
	SPI_connect();
	MetaetlSpiExec("SELECT r.oid FROM etl.pipelines p JOIN pg_catalog.pg_roles r"
				   " ON r.rolname OPERATOR(pg_catalog.=) p.owner"
				   " WHERE p.pipeline_id OPERATOR(pg_catalog.=) $1", 1, types, values, NULL, true, 1);
	if (SPI_processed == 1)
		owner = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	MetaetlOwnerEnd(&st);
	if (!OidIsValid(owner))
		PG_RETURN_NULL();

	/* the relation as stored (schema-qualified), and the owner's right to read it */
	names = stringToQualifiedNameList(relname);
	relid = RangeVarGetRelid(makeRangeVarFromNameList(names), AccessShareLock, true);
	if (!OidIsValid(relid))
		PG_RETURN_NULL();
	attnum = get_attnum(relid, col);
	if (attnum == InvalidAttrNumber ||
		(pg_class_aclcheck(relid, owner, ACL_SELECT) != ACLCHECK_OK &&
		 pg_attribute_aclcheck(relid, attnum, owner, ACL_SELECT) != ACLCHECK_OK))
		PG_RETURN_NULL();

	/* read as the owner, restricted: the relation's code is the owner's code */
	MetaetlUserCodeBegin(&st, owner, true);
	SPI_connect();
	if (SPI_execute(psprintf("SELECT pg_catalog.max(%s)::pg_catalog.timestamptz FROM %s",
							 quote_identifier(col),
							 quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
														get_rel_name(relid))),
					true, 1) == SPI_OK_SELECT && SPI_processed == 1)
		newest = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	SPI_finish();
	MetaetlUserCodeEnd(&st);
	if (isnull)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(newest);
}
