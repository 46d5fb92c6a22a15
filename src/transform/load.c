/*-------------------------------------------------------------------------
 *
 * src/transform/load.c
 *		Table targets: append, replace, upsert, delete_insert, scd2.
 *
 * Every mode is one SQL statement in the caller's transaction, so a failing
 * load leaves the target as it was.  replace deletes and inserts in one
 * statement (data-modifying CTE): concurrent readers keep seeing the old
 * rows until commit, never an empty table, and indexes, grants and views
 * on the table survive.  A missing table is created from the result's
 * types (CREATE TABLE AS, which may use a parallel plan) unless
 * create: false.  upsert is MERGE on the keys, updating only rows whose
 * values changed; scd2 closes changed (and, with close_deleted, vanished)
 * current rows and inserts new versions with valid_from, valid_to and
 * is_current.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"

#include "connectors/connector.h"
#include "incremental/incremental.h"
#include "transform/load.h"
#include "util/ident.h"

static void
load_error(MetaetlTarget *tgt, int code, const char *msg, const char *hint)
{
	ereport(ERROR,
			(errcode(code),
			 errmsg("target \"%s\": %s", tgt->id, msg),
			 errdetail("Config path: targets, id \"%s\", mode %s.", tgt->id, tgt->mode),
			 hint ? errhint("%s", hint) : 0));
}

static bool
table_exists(const char *qname)
{
	Datum		arg = CStringGetTextDatum(qname);
	Oid			t = TEXTOID;
	bool		isnull;

	if (SPI_execute_with_args("SELECT pg_catalog.to_regclass($1) IS NOT NULL", 1, &t, &arg, NULL,
							  false, 1) != SPI_OK_SELECT)
		elog(ERROR, "to_regclass failed");
	return DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

static int64
load_exec(MetaetlPlan *plan, const char *sql)
{
	MetaetlScript(plan, sql);
	if (plan->describe_only)
		return 0;
	return (int64) MetaetlExec(sql, 0);
}

int64
MetaetlLoadTable(MetaetlPlan *plan, MetaetlTarget *tgt, const char *prefix, const char *ref,
				 List *cols)
{
	char	   *table = MetaetlJStr(tgt->conf, "table");
	char	   *schema = MetaetlJStr(tgt->conf, "schema");
	bool		create = MetaetlJBool(tgt->conf, "create", true);
	List	   *keys = MetaetlJStrList(tgt->conf, "keys", tgt->id);
	const char *mode = tgt->mode;
	char	   *q;
	char	   *collist = MetaetlColList(cols, NULL);
	char	   *scollist = MetaetlColList(cols, "s.");
	bool		exists;
	bool		scd2 = strcmp(mode, "scd2") == 0;
	StringInfoData on,
				b;
	ListCell   *lc;
	MetaetlNode fake = {0};

	/* inserts, updates and deletes of changed rows (incremental/merge.c) */
	if (strcmp(mode, "merge_changes") == 0)
		return MetaetlLoadMergeChanges(plan, tgt, prefix, ref, cols);
	if (table == NULL)
		load_error(tgt, ERRCODE_INVALID_PARAMETER_VALUE, "table is required", NULL);
	MetaetlCheckConnection(tgt->conf, false, tgt->id);
	q = schema ? quote_qualified_identifier(schema, table) : MetaetlQualifiedName(table, "table");
	tgt->table_display = q;
	if (strcmp(mode, "append") != 0 && strcmp(mode, "replace") != 0 && strcmp(mode, "upsert") != 0 &&
		strcmp(mode, "delete_insert") != 0 && !scd2)
		load_error(tgt, ERRCODE_INVALID_PARAMETER_VALUE, psprintf("unknown mode \"%s\"", mode),
				   "Use append, replace, upsert, delete_insert, scd2 or merge_changes.");
	fake.id = tgt->id;
	fake.type = "target";
	initStringInfo(&on);
	if (strcmp(mode, "upsert") == 0 || strcmp(mode, "delete_insert") == 0 || scd2)
	{
		if (keys == NIL)
			load_error(tgt, ERRCODE_INVALID_PARAMETER_VALUE, psprintf("mode %s needs keys", mode),
					   "List the key columns as keys: [id].");
		foreach(lc, keys)
		{
			MetaetlFindColumn(&fake, cols, lfirst(lc), "keys");
			appendStringInfo(&on, "%st.%s = s.%s", on.len ? " AND " : "",
							 quote_identifier(lfirst(lc)), quote_identifier(lfirst(lc)));
		}
	}

	/* fed by an incremental aggregate: replace only the groups that changed */
	if (strcmp(mode, "replace") == 0 || strcmp(mode, "delete_insert") == 0)
	{
		int64		rows = MetaetlLoadTouchedGroups(plan, tgt, prefix, ref, cols, q);

		if (rows >= 0)
			return rows;
	}
	exists = table_exists(q);
	if (!exists)
	{
		if (!create)
			load_error(tgt, ERRCODE_UNDEFINED_TABLE, psprintf("table %s does not exist", q),
					   "Create the table, or drop create: false to have it created from the result's types.");
		if (strcmp(mode, "replace") == 0 || strcmp(mode, "append") == 0)
			return load_exec(plan, psprintf("CREATE TABLE %s AS\n%sSELECT %s FROM %s", q, prefix, collist, ref));
		if (scd2)
			load_exec(plan, psprintf("CREATE TABLE %s AS\n%sSELECT %s, NULL::pg_catalog.timestamptz AS valid_from, "
									 "NULL::pg_catalog.timestamptz AS valid_to, NULL::pg_catalog.bool AS is_current FROM %s WITH NO DATA",
									 q, prefix, collist, ref));
		else
			load_exec(plan, psprintf("CREATE TABLE %s AS\n%sSELECT %s FROM %s WITH NO DATA", q, prefix, collist, ref));
	}
	if (exists)
	{
		/* every result column must exist in the target */
		List	   *tcols = MetaetlDescribe(psprintf("SELECT * FROM %s LIMIT 0", q));

		fake.id = psprintf("%s (table %s)", tgt->id, q);
		foreach(lc, cols)
			MetaetlFindColumn(&fake, tcols, ((MetaetlColumn *) lfirst(lc))->name, "target columns");
		if (scd2)
		{
			MetaetlFindColumn(&fake, tcols, "valid_from", "scd2 columns");
			MetaetlFindColumn(&fake, tcols, "valid_to", "scd2 columns");
			MetaetlFindColumn(&fake, tcols, "is_current", "scd2 columns");
		}
	}

	initStringInfo(&b);
	if (strcmp(mode, "append") == 0)
		appendStringInfo(&b, "%sINSERT INTO %s (%s) SELECT %s FROM %s", prefix, q, collist, collist, ref);
	else if (strcmp(mode, "replace") == 0 || strcmp(mode, "delete_insert") == 0)
	{
		/*
		 * The result is built first (CREATE TABLE AS may run in parallel and
		 * may read the target itself), then old rows are deleted and the new
		 * ones inserted: two statements, one transaction.  A unique index on
		 * the target rules out doing both in one statement.
		 */
		char	   *tmp = MetaetlNewTemp(plan, "result");

		load_exec(plan, psprintf("CREATE TEMP TABLE %s ON COMMIT DROP AS\n%sSELECT %s FROM %s",
								 tmp, prefix, collist, ref));
		if (strcmp(mode, "replace") == 0)
			load_exec(plan, psprintf("DELETE FROM %s", q));
		else
			load_exec(plan, psprintf("DELETE FROM %s t WHERE EXISTS (SELECT 1 FROM %s s WHERE %s)",
									 q, tmp, on.data));
		appendStringInfo(&b, "INSERT INTO %s (%s) SELECT %s FROM %s", q, collist, collist, tmp);
		{
			int64		rows = load_exec(plan, b.data);

			if (!plan->describe_only)
				MetaetlExec(psprintf("DROP TABLE %s", tmp), SPI_OK_UTILITY);
			return rows;
		}
	}
	else if (strcmp(mode, "upsert") == 0)
	{
		StringInfoData set,
					changed;

		initStringInfo(&set);
		initStringInfo(&changed);
		foreach(lc, cols)
		{
			char	   *c = ((MetaetlColumn *) lfirst(lc))->name;

			{
				bool		iskey = false;
				ListCell   *lk;

				foreach(lk, keys)
					if (strcmp(lfirst(lk), c) == 0)
						iskey = true;
				if (iskey)
					continue;
			}
			appendStringInfo(&set, "%s%s = s.%s", set.len ? ", " : "", quote_identifier(c), quote_identifier(c));
			appendStringInfo(&changed, "%st.%s IS DISTINCT FROM s.%s", changed.len ? " OR " : "",
							 quote_identifier(c), quote_identifier(c));
		}
		appendStringInfo(&b, "%sMERGE INTO %s t USING %s s ON %s", prefix, q, ref, on.data);
		if (set.len)
			appendStringInfo(&b, " WHEN MATCHED AND (%s) THEN UPDATE SET %s", changed.data, set.data);
		appendStringInfo(&b, " WHEN NOT MATCHED THEN INSERT (%s) VALUES (%s)", collist, scollist);
	}
	else
	{
		/* scd2 */
		List	   *tracked = MetaetlJStrList(tgt->conf, "tracked_columns", tgt->id);
		bool		close_deleted = MetaetlJBool(tgt->conf, "close_deleted", false);
		StringInfoData changed;
		char	   *w;

		initStringInfo(&changed);
		if (tracked == NIL)
			foreach(lc, cols)
			{
				char	   *c = ((MetaetlColumn *) lfirst(lc))->name;
				bool		iskey = false;
				ListCell   *lk;

				foreach(lk, keys)
					if (strcmp(lfirst(lk), c) == 0)
						iskey = true;
				if (!iskey)
					tracked = lappend(tracked, c);
			}
		foreach(lc, tracked)
		{
			MetaetlFindColumn(&fake, cols, lfirst(lc), "tracked_columns");
			appendStringInfo(&changed, "%st.%s IS DISTINCT FROM s.%s", changed.len ? " OR " : "",
							 quote_identifier(lfirst(lc)), quote_identifier(lfirst(lc)));
		}
		if (changed.len == 0)
			appendStringInfoString(&changed, "false");
		/* sequential statements, so a unique index on (keys) WHERE is_current holds */
		w = MetaetlNewTemp(plan, "result");
		load_exec(plan, psprintf("CREATE TEMP TABLE %s ON COMMIT DROP AS\n%sSELECT %s FROM %s",
								 w, prefix, collist, ref));
		load_exec(plan, psprintf("UPDATE %s t SET valid_to = pg_catalog.now(), is_current = false "
								 "FROM %s s WHERE t.is_current AND %s AND (%s)",
								 q, w, on.data, changed.data));
		if (close_deleted)
			load_exec(plan, psprintf("UPDATE %s t SET valid_to = pg_catalog.now(), is_current = false "
									 "WHERE t.is_current AND NOT EXISTS (SELECT 1 FROM %s s WHERE %s)",
									 q, w, on.data));
		appendStringInfo(&b, "INSERT INTO %s (%s, valid_from, valid_to, is_current) "
						 "SELECT %s, pg_catalog.now(), NULL, true FROM %s s "
						 "WHERE NOT EXISTS (SELECT 1 FROM %s t WHERE t.is_current AND %s)",
						 q, collist, scollist, w, q, on.data);
		{
			int64		rows = load_exec(plan, b.data);

			if (!plan->describe_only)
				MetaetlExec(psprintf("DROP TABLE %s", w), SPI_OK_UTILITY);
			return rows;
		}
	}
	return load_exec(plan, b.data);
}
