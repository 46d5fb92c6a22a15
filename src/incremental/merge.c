/*-------------------------------------------------------------------------
 *
 * src/incremental/merge.c
 *		Target mode merge_changes: inserts, updates and deletes in one MERGE.
 *
 * The input is a set of changed rows, keyed by keys.  Rows from a CDC source
 * carry etl_op (insert | update | delete) and etl_seq (commit order); only
 * the last change of each key is applied (DISTINCT ON keys, newest seq), and
 * the two columns are not written to the target.  Rows from other sources
 * are upserts.  Policies:
 *	deletes		apply: delete the target row; soft: set soft_delete_column
 *				(default deleted_at, timestamptz) to now(); ignore: keep it.
 *				A row that comes back after a soft delete is undeleted.  A
 *				truncate of the source (etl_op truncate, no key) is a delete
 *				of every row: apply empties the target, soft marks every row,
 *				ignore keeps them.
 *	conflict	source_wins: the change overwrites the target row;
 *				target_wins: existing target rows are never overwritten (only
 *				new keys are inserted); latest: overwrite only when the
 *				change's conflict_column is newer than the target row's.
 * Rows whose values did not change are left alone (no dead tuples, no
 * triggers firing), as in mode upsert.
 *
 * A table metaetl creates gets fillfactor 90 (target key fillfactor, 10 to
 * 100): each run rewrites a few rows scattered over the whole table, and a
 * page with room left keeps the new version next to the old one (a HOT
 * update: no index entry, less WAL).  A table filled to 100% has no room
 * on any page until pruning frees some, so the first runs after the
 * initial load move every updated row to a new page and index it again
 * (bench: 10,000 updates into 1M rows, 48 ms and 2.3 MB of WAL at 100%,
 * 35 ms and 1.0 MB at 90%).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"

#include "connectors/connector.h"
#include "incremental/incremental.h"
#include "connectors/table_load.h"
#include "transform/transform.h"

static void
merge_error(MetaetlTarget *tgt, int code, const char *msg, const char *hint)
{
	ereport(ERROR,
			(errcode(code),
			 errmsg("target \"%s\": %s", tgt->id, msg),
			 errdetail("Config path: targets, id \"%s\", mode merge_changes.", tgt->id),
			 hint ? errhint("%s", hint) : 0));
}

static bool
in_list(List *l, const char *s)
{
	ListCell   *lc;

	foreach(lc, l)
		if (strcmp(lfirst(lc), s) == 0)
			return true;
	return false;
}

static bool
has_col(List *cols, const char *name)
{
	ListCell   *lc;

	foreach(lc, cols)
		if (strcmp(((MetaetlColumn *) lfirst(lc))->name, name) == 0)
			return true;
	return false;
}

static bool
merge_table_exists(const char *qname)
{
	Datum		arg = CStringGetTextDatum(qname);
	Oid			t = TEXTOID;
	bool		isnull;

	if (SPI_execute_with_args("SELECT pg_catalog.to_regclass($1) IS NOT NULL", 1, &t, &arg, NULL,
							  false, 1) != SPI_OK_SELECT)
		elog(ERROR, "to_regclass failed");
	return DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/* the etl_seq of the last truncate among the changes, or NULL */
static char *
merge_last_truncate(const char *prefix, const char *ref)
{
	char	   *sql = psprintf("%sSELECT pg_catalog.max(%s)::pg_catalog.text FROM %s WHERE %s OPERATOR(pg_catalog.=) 'truncate'",
						   prefix, METAETL_CDC_SEQ_COLUMN, ref, METAETL_CDC_OP_COLUMN);

	MetaetlExec(sql, SPI_OK_SELECT);
	return SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
}

static int64
merge_exec(MetaetlPlan *plan, const char *sql)
{
	MetaetlScript(plan, sql);
	if (plan->describe_only)
		return 0;
	return (int64) MetaetlExec(sql, 0);
}

/*
 * MetaetlLoadMergeChanges
 *		Apply the rows of ref (after prefix) to the target table with MERGE;
 *		returns the rows inserted, updated or deleted.
 */
int64
MetaetlLoadMergeChanges(MetaetlPlan *plan, MetaetlTarget *tgt, const char *prefix, const char *ref,
						List *cols)
{
	char	   *table = MetaetlJStr(tgt->conf, "table");
	char	   *schema = MetaetlJStr(tgt->conf, "schema");
	bool		create = MetaetlJBool(tgt->conf, "create", true);
	double		fillfactor = 90;
	List	   *keys = MetaetlJStrList(tgt->conf, "keys", tgt->id);
	char	   *deletes = MetaetlJStr(tgt->conf, "deletes");
	char	   *conflict = MetaetlJStr(tgt->conf, "conflict");
	char	   *soft = MetaetlJStr(tgt->conf, "soft_delete_column");
	char	   *ccol = MetaetlJStr(tgt->conf, "conflict_column");
	bool		cdc = has_col(cols, METAETL_CDC_OP_COLUMN);
	bool		has_seq = has_col(cols, METAETL_CDC_SEQ_COLUMN);
	List	   *data = NIL;		/* the columns written: all but etl_op / etl_seq */
	StringInfoData collist,
				scollist,
				on,
				set,
				changed,
				keylist,
				b;
	char	   *q;
	char	   *head;
	char	   *trunc;
	int64		n;
	ListCell   *lc;
	MetaetlNode fake = {0};

	deletes = deletes ? deletes : "apply";
	conflict = conflict ? conflict : "source_wins";
	if (strcmp(deletes, "soft") == 0 && soft == NULL)
		soft = "deleted_at";
	if (table == NULL)
		merge_error(tgt, ERRCODE_INVALID_PARAMETER_VALUE, "table is required", NULL);
	if (keys == NIL)
		merge_error(tgt, ERRCODE_INVALID_PARAMETER_VALUE, "mode merge_changes needs keys",
					"List the key columns as keys: [id].");
	if (strcmp(conflict, "latest") == 0 && ccol == NULL)
		merge_error(tgt, ERRCODE_INVALID_PARAMETER_VALUE, "conflict latest needs conflict_column",
					"Name the column that orders versions, e.g. conflict_column: updated_at.");
	MetaetlCheckConnection(tgt->conf, false, tgt->id);
	q = schema ? quote_qualified_identifier(schema, table) : MetaetlQualifiedName(table, "table");
	tgt->table_display = q;
	fake.id = tgt->id;
	fake.type = "target";

	initStringInfo(&collist);
	initStringInfo(&scollist);
	foreach(lc, cols)
	{
		MetaetlColumn *c = lfirst(lc);

		if (strcmp(c->name, METAETL_CDC_OP_COLUMN) == 0 || strcmp(c->name, METAETL_CDC_SEQ_COLUMN) == 0)
			continue;
		data = lappend(data, c);
		appendStringInfo(&collist, "%s%s", collist.len ? ", " : "", quote_identifier(c->name));
		appendStringInfo(&scollist, "%ss.%s", scollist.len ? ", " : "", quote_identifier(c->name));
	}
	initStringInfo(&on);
	initStringInfo(&keylist);
	foreach(lc, keys)
	{
		MetaetlFindColumn(&fake, data, lfirst(lc), "keys");
		appendStringInfo(&on, "%st.%s OPERATOR(pg_catalog.=) s.%s", on.len ? " AND " : "",
						 quote_identifier(lfirst(lc)), quote_identifier(lfirst(lc)));
		appendStringInfo(&keylist, "%s%s", keylist.len ? ", " : "", quote_identifier(lfirst(lc)));
	}
	if (ccol)
		MetaetlFindColumn(&fake, data, ccol, "conflict_column");

	if (!merge_table_exists(q))
	{
		if (!create)
			merge_error(tgt, ERRCODE_UNDEFINED_TABLE, psprintf("table %s does not exist", q),
						"Create the table, or drop create: false to have it created from the result's types.");
		/* the validator keeps it in 10..100 (incremental/validate.c) */
		if (MetaetlJNumber(tgt->conf, "fillfactor", &fillfactor) && (fillfactor < 10 || fillfactor > 100))
			merge_error(tgt, ERRCODE_INVALID_PARAMETER_VALUE, "fillfactor must be between 10 and 100", NULL);
		merge_exec(plan, psprintf("CREATE TABLE %s%s AS\n%sSELECT %s%s FROM %s WITH NO DATA", q,
								  fillfactor < 100 ? psprintf(" WITH (fillfactor = %d)", (int) fillfactor) : "",
								  prefix, collist.data,
								  soft ? psprintf(", NULL::pg_catalog.timestamptz AS %s", quote_identifier(soft)) : "",
								  ref));

		/*
		 * Each run merges a few changed rows into a table that keeps
		 * growing: without an index on the keys every MERGE would join
		 * against the whole target.  Unique: the MERGE keeps one row per
		 * key.
		 */
		merge_exec(plan, psprintf("CREATE UNIQUE INDEX ON %s (%s)", q, keylist.data));
	}
	else
	{
		List	   *tcols = MetaetlDescribe(psprintf("SELECT * FROM %s LIMIT 0", q));

		fake.id = psprintf("%s (table %s)", tgt->id, q);
		foreach(lc, data)
			MetaetlFindColumn(&fake, tcols, ((MetaetlColumn *) lfirst(lc))->name, "target columns");
		if (soft)
			MetaetlFindColumn(&fake, tcols, soft, "soft_delete_column");
	}

	initStringInfo(&set);
	initStringInfo(&changed);
	foreach(lc, data)
	{
		char	   *c = ((MetaetlColumn *) lfirst(lc))->name;

		if (in_list(keys, c))
			continue;
		appendStringInfo(&set, "%s%s = s.%s", set.len ? ", " : "", quote_identifier(c), quote_identifier(c));
		appendStringInfo(&changed, "%st.%s IS DISTINCT FROM s.%s", changed.len ? " OR " : "",
						 quote_identifier(c), quote_identifier(c));
	}
	if (soft)
	{
		/* an undelete is a change too */
		appendStringInfo(&set, "%s%s = NULL", set.len ? ", " : "", quote_identifier(soft));
		appendStringInfo(&changed, "%st.%s IS NOT NULL", changed.len ? " OR " : "", quote_identifier(soft));
	}

	/*
	 * The last change of each key; without etl_seq, the newest
	 * conflict_column.  head ends in WHERE: each statement adds its own
	 * filter of the changes (a truncate splits them in two, see below).
	 */
	head = psprintf("%sMERGE INTO %s t USING (SELECT DISTINCT ON (%s) %s%s FROM %s WHERE ",
					prefix, q, keylist.data, collist.data,
					cdc ? psprintf(", %s", METAETL_CDC_OP_COLUMN) : "", ref);
	initStringInfo(&b);
	appendStringInfo(&b, " ORDER BY %s%s%s) s ON %s", keylist.data,
					 has_seq ? psprintf(", %s DESC", METAETL_CDC_SEQ_COLUMN) : "",
					 !has_seq && ccol ? psprintf(", %s DESC NULLS LAST", quote_identifier(ccol)) : "",
					 on.data);
	if (cdc)
	{
		if (strcmp(deletes, "apply") == 0)
			appendStringInfo(&b, " WHEN MATCHED AND s.%s OPERATOR(pg_catalog.=) 'delete' THEN DELETE",
							 METAETL_CDC_OP_COLUMN);
		else if (strcmp(deletes, "soft") == 0)
			appendStringInfo(&b, " WHEN MATCHED AND s.%s OPERATOR(pg_catalog.=) 'delete' AND t.%s IS NULL"
							 " THEN UPDATE SET %s = pg_catalog.now()",
							 METAETL_CDC_OP_COLUMN, quote_identifier(soft), quote_identifier(soft));
		appendStringInfo(&b, " WHEN MATCHED AND s.%s OPERATOR(pg_catalog.=) 'delete' THEN DO NOTHING",
						 METAETL_CDC_OP_COLUMN);
	}
	if (set.len && strcmp(conflict, "target_wins") != 0)
	{
		appendStringInfo(&b, " WHEN MATCHED AND (%s)", changed.data);
		if (strcmp(conflict, "latest") == 0)
			appendStringInfo(&b, " AND (t.%s IS NULL OR s.%s OPERATOR(pg_catalog.>) t.%s)",
							 quote_identifier(ccol), quote_identifier(ccol), quote_identifier(ccol));
		appendStringInfo(&b, " THEN UPDATE SET %s", set.data);
	}
	appendStringInfo(&b, " WHEN NOT MATCHED%s THEN INSERT (%s) VALUES (%s)",
					 cdc ? psprintf(" AND s.%s OPERATOR(pg_catalog.<>) 'delete'", METAETL_CDC_OP_COLUMN) : "",
					 collist.data, scollist.data);
	if (!cdc)
		return merge_exec(plan, psprintf("%strue%s", head, b.data));

	/*
	 * A truncate of the source (a marker with no key, trigger or log CDC)
	 * removed every row present at that point.  Only the last one in the
	 * input matters: changes before it are void under deletes: apply (the
	 * target is emptied, then the later changes apply), are applied and
	 * then soft-deleted with the rest under soft, and the truncate itself
	 * is skipped under ignore.
	 */
	trunc = has_seq && !plan->describe_only && strcmp(deletes, "ignore") != 0
		? merge_last_truncate(prefix, ref) : NULL;
	if (trunc == NULL)
		return merge_exec(plan, psprintf("%s%s OPERATOR(pg_catalog.<>) 'truncate'%s",
										 head, METAETL_CDC_OP_COLUMN, b.data));
	if (strcmp(deletes, "soft") == 0)
	{
		n = merge_exec(plan, psprintf("%s%s OPERATOR(pg_catalog.<) %s AND %s OPERATOR(pg_catalog.<>) 'truncate'%s",
									  head, METAETL_CDC_SEQ_COLUMN, trunc, METAETL_CDC_OP_COLUMN, b.data));
		n += merge_exec(plan, psprintf("UPDATE %s SET %s = pg_catalog.now() WHERE %s IS NULL", q,
									   quote_identifier(soft), quote_identifier(soft)));
	}
	else
		n = merge_exec(plan, psprintf("DELETE FROM %s", q));
	n += merge_exec(plan, psprintf("%s%s OPERATOR(pg_catalog.>) %s AND %s OPERATOR(pg_catalog.<>) 'truncate'%s",
								   head, METAETL_CDC_SEQ_COLUMN, trunc, METAETL_CDC_OP_COLUMN, b.data));
	return n;
}

/*
 * MetaetlLoadTouchedGroups
 *		A replace (or delete_insert) target fed by an incremental aggregate
 *		(incremental/watermark.c): the input holds the recomputed groups the
 *		changed rows touched; delete those groups from the target (also the
 *		ones that are now empty) and insert the input.  Returns -1 when the
 *		target is not fed that way, or its table does not exist yet (the
 *		ordinary load creates it).
 */
int64
MetaetlLoadTouchedGroups(MetaetlPlan *plan, MetaetlTarget *tgt, const char *prefix, const char *ref,
						 List *cols, const char *qtable)
{
	MetaetlNode *agg = MetaetlFindNode(plan, tgt->input, true);
	List	   *groups;
	StringInfoData match;
	char	   *collist = MetaetlColList(cols, NULL);
	ListCell   *lc;
	MetaetlNode fake = {0};

	if (agg == NULL || agg->is_source || agg->incr_state == NULL || strcmp(agg->type, "aggregate") != 0 ||
		!merge_table_exists(qtable))
		return -1;
	groups = MetaetlJStrList(agg->params, "groupby_cols", agg->id);
	fake.id = tgt->id;
	fake.type = "target";
	initStringInfo(&match);
	{
		List	   *tcols = MetaetlDescribe(psprintf("SELECT * FROM %s LIMIT 0", qtable));

		fake.id = psprintf("%s (table %s)", tgt->id, qtable);
		foreach(lc, cols)
			MetaetlFindColumn(&fake, tcols, ((MetaetlColumn *) lfirst(lc))->name, "target columns");
	}
	foreach(lc, groups)
		appendStringInfo(&match, "%smetaetl_g.%s IS NOT DISTINCT FROM metaetl_t.%s", match.len ? " AND " : "",
						 quote_identifier(lfirst(lc)), quote_identifier(lfirst(lc)));
	merge_exec(plan, psprintf("DELETE FROM %s metaetl_t WHERE EXISTS (SELECT 1 FROM %s metaetl_g WHERE %s)",
							  qtable, agg->incr_state, match.data));
	return merge_exec(plan, psprintf("%sINSERT INTO %s (%s) SELECT %s FROM %s", prefix, qtable, collist, collist, ref));
}
