/*-------------------------------------------------------------------------
 *
 * src/security/privs.c
 *		The two ways metaetl runs SQL: as the extension owner over its own
 *		tables, and as a pipeline's role over the user's objects.
 *
 * The rule (docs/operations.md, "What runs with whose rights"): nothing
 * metaetl runs with the owner's rights evaluates an object a user
 * controls.  So:
 *
 *  - an owner section (MetaetlOwnerBegin/End) switches to the extension
 *    owner and pins search_path to "pg_catalog, pg_temp" in a GUC nest level
 *    of its own, so an unqualified operator or function in bookkeeping SQL
 *    resolves in pg_catalog whatever search_path the session has (a user
 *    step may have set it with set_config(..., false));
 *  - a user section (MetaetlUserCodeBegin/End) runs as the pipeline's role
 *    in a GUC nest level of its own: every GUC the code changes — even with
 *    SET, not SET LOCAL — is rolled back when the section ends
 *    (AtEOXact_GUC(false)), so nothing it plants reaches what runs next.
 *
 * A user section must also not be able to become the owner again.  SET ROLE
 * is checked against the session user and SET SESSION AUTHORIZATION against
 * the authenticated user, so where the session was authenticated as a
 * superuser (the launcher, the delivery worker) the section is restricted:
 * SECURITY_RESTRICTED_OPERATION, as PostgreSQL's VACUUM, ANALYZE and REFRESH
 * MATERIALIZED VIEW run index and view code, which forbids both (and
 * creating temporary tables; the temporary namespace is set up first).
 * Pipeline runs instead run in processes authenticated as the run's role
 * (worker.c, executor.c), where PostgreSQL's own checks refuse both, and
 * the pipeline's code may use temporary tables.
 *
 * Sections nest: an owner section inside a user section stays restricted
 * (the security context keeps the flag), and is only ever used for
 * metaetl's own tables.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_extension.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "fmgr.h"
#include "utils/acl.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/rel.h"

#include "orchestrator/orchestrator.h"
#include "security/security.h"

/*
 * MetaetlExtensionOwner
 *		The owner of extension metaetl in this database.  Called for every
 *		record a run writes, so it reads the catalog directly (no SPI) and
 *		keeps the answer for as long as the extension's oid is the same.
 */
Oid
MetaetlExtensionOwner(void)
{
	static Oid	cached_ext = InvalidOid;
	static Oid	cached_owner = InvalidOid;
	Oid			ext = get_extension_oid("metaetl", true);
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;

	if (!OidIsValid(ext))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("extension \"metaetl\" is not installed in this database"),
				 errhint("Run CREATE EXTENSION metaetl.")));
	if (ext == cached_ext)
		return cached_owner;

	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_oid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(ext));
	scan = systable_beginscan(rel, ExtensionOidIndexId, true, NULL, 1, &key);
	tup = systable_getnext(scan);
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "could not find extension %u", ext);
	cached_owner = ((Form_pg_extension) GETSTRUCT(tup))->extowner;
	cached_ext = ext;
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return cached_owner;
}

/*
 * Become the extension owner, with search_path pinned to pg_catalog,
 * pg_temp, to write metaetl's own records.  Only for statements that touch
 * no user-controlled object (docs/security.md); MetaetlOwnerEnd restores.
 */
void
MetaetlOwnerBegin(MetaetlPrivState *st)
{
	GetUserIdAndSecContext(&st->saved_user, &st->saved_context);
	SetUserIdAndSecContext(MetaetlExtensionOwner(), st->saved_context | SECURITY_LOCAL_USERID_CHANGE);
	st->guc_nest = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
}

/*
 * Leave an owner section: the caller's role, security context and GUCs back.
 */
void
MetaetlOwnerEnd(MetaetlPrivState *st)
{
	AtEOXact_GUC(true, st->guc_nest);
	SetUserIdAndSecContext(st->saved_user, st->saved_context);
}

/*
 * Run user SQL as role; restricted adds SECURITY_RESTRICTED_OPERATION, so
 * that user code run for another role (a scheduled run) cannot change
 * session state behind it.  pg_temp is created first, as role, because the
 * restriction forbids creating it later.
 */
void
MetaetlUserCodeBegin(MetaetlPrivState *st, Oid role, bool restricted)
{
	GetUserIdAndSecContext(&st->saved_user, &st->saved_context);
	if (restricted)
	{
		/* pg_temp as the role, before the restriction forbids creating it */
		SetUserIdAndSecContext(role, st->saved_context | SECURITY_LOCAL_USERID_CHANGE);
		if (!InSecurityRestrictedOperation())
			(void) LookupCreationNamespace("pg_temp");
		SetUserIdAndSecContext(role, st->saved_context | SECURITY_LOCAL_USERID_CHANGE |
							   SECURITY_RESTRICTED_OPERATION);
	}
	else
		SetUserIdAndSecContext(role, st->saved_context | SECURITY_LOCAL_USERID_CHANGE);
	st->guc_nest = NewGUCNestLevel();
}

/* Leave a user-code section, rolling back the GUCs the user code set. */
void
MetaetlUserCodeEnd(MetaetlPrivState *st)
{
	AtEOXact_GUC(false, st->guc_nest);
	SetUserIdAndSecContext(st->saved_user, st->saved_context);
}

/*
 * etl.may_act_as(role_name name) returns boolean
 *		True when the current role is, or is a member of, the named role
 *		(pg_has_role(..., 'MEMBER') semantics: superusers are members of
 *		every role); false for a role that does not exist (a run record
 *		keeps the name of a role dropped since).
 *
 * Why C: the row-level security policies of etl's tables call it for every
 * row they look at.  As a SQL function it needed SET search_path, which
 * keeps the planner from inlining it, so each query that touched a policy
 * parsed and planned its body again and read the pg_roles view; a status
 * read through the REST API spent most of its time there.
 */
PG_FUNCTION_INFO_V1(metaetl_may_act_as);

Datum
metaetl_may_act_as(PG_FUNCTION_ARGS)
{
	Oid			role;

	if (PG_ARGISNULL(0))
		PG_RETURN_BOOL(false);
	role = get_role_oid(NameStr(*PG_GETARG_NAME(0)), true);
	PG_RETURN_BOOL(OidIsValid(role) && is_member_of_role(GetUserId(), role));
}
