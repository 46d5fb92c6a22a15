/*-------------------------------------------------------------------------
 *
 * src/connectors/table_load.c
 *		Table targets: append, replace, upsert, delete_insert, scd2.
 *
 * Every mode runs in the caller's transaction, so a failing load leaves the
 * target as it was.  replace builds the result in a temporary table first
 * (unless it already is one: a source's staging table is read as it is),
 * then deletes the old rows and inserts the new ones (two statements, one
 * transaction: a unique index on the target rules out one statement):
 * concurrent readers keep seeing the old rows until commit, never an empty
 * table, and indexes, grants and views on the table survive.  A missing table is created from the result's
 * types (CREATE TABLE AS, which may use a parallel plan) unless
 * create: false.  upsert is MERGE on the keys, updating only rows whose
 * values changed; scd2 closes changed (and, with close_deleted, vanished)
 * current rows and inserts new versions with valid_from, valid_to and
 * is_current.
 *
 * An existing table whose columns differ from the result's (a result
 * column it lacks, or a type it would store by a lossy assignment cast:
 * 2.5 into an integer column is 3) follows the target's on_schema_change:
 * fail (the default: an error listing the differences), append_new_columns
 * (ALTER TABLE ADD COLUMN, any mode), sync_all_columns (mode replace: the
 * table's columns become the result's, in the same transaction after its
 * rows are deleted) or recreate (mode replace: DROP and CREATE TABLE AS).
 * A column the table has and the result lacks gets its default, except
 * under sync_all_columns, which drops it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "parser/parse_coerce.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/lsyscache.h"

#include "connectors/connector.h"
#include "incremental/incremental.h"
#include "connectors/table_load.h"
#include "lineage/lineage.h"
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

/*
 * Is ref one of this run's temp tables (a source's staging table or a
 * materialised step)?  Its rows were written before the load began, so
 * reading it after the target's rows are deleted still gives the result.
 */
static bool
load_ref_is_snapshot(MetaetlPlan *plan, const char *ref)
{
	ListCell   *lc;

	foreach(lc, plan->nodes)
	{
		MetaetlNode *n = lfirst(lc);

		if (n->temp && strcmp(n->temp, ref) == 0)
			return true;
	}
	return false;
}

/* the table's column named name, or NULL */
static MetaetlColumn *
load_find(List *cols, const char *name)
{
	ListCell   *lc;

	foreach(lc, cols)
		if (strcmp(((MetaetlColumn *) lfirst(lc))->name, name) == 0)
			return lfirst(lc);
	return NULL;
}

/*
 * MetaetlTypeKept
 *		Whether storing a value of the result's column rc in the table's
 *		column tc keeps it: the same type (with the table's typmod unset or
 *		the same), or an implicit cast (int to bigint, varchar to text) into
 *		a column without a typmod that rounds; length limits (varchar(n),
 *		char(n), bit(n)) raise rather than cut, so they count as kept.
 *		Anything else — numeric into integer, a narrower numeric(p,s), a
 *		timestamp(0) — would change values silently.
 */
bool
MetaetlTypeKept(MetaetlColumn *rc, MetaetlColumn *tc)
{
	Oid			tbase = getBaseType(tc->typid);
	bool		length_only = tbase == VARCHAROID || tbase == BPCHAROID || tbase == BITOID ||
		tbase == VARBITOID;

	if (rc->typid == tc->typid)
		return tc->typmod < 0 || tc->typmod == rc->typmod || length_only;
	if (!can_coerce_type(1, &rc->typid, &tc->typid, COERCION_IMPLICIT))
		return false;
	return tc->typmod < 0 || length_only;
}

/* [{"name", "type"}] of a column list, for the lineage subsystem's schema history */
static char *
load_columns_json(List *cols)
{
	StringInfoData b;
	ListCell   *lc;

	initStringInfo(&b);
	appendStringInfoChar(&b, '[');
	foreach(lc, cols)
	{
		MetaetlColumn *c = lfirst(lc);

		appendStringInfoString(&b, foreach_current_index(lc) ? ", {\"name\": " : "{\"name\": ");
		escape_json(&b, c->name);
		appendStringInfoString(&b, ", \"type\": ");
		escape_json(&b, c->type);
		appendStringInfoChar(&b, '}');
	}
	appendStringInfoChar(&b, ']');
	return b.data;
}

/*
 * The differences a load acts on (or refuses), classified as schema history
 * classifies drift: column_added, type_changed and, for sync_all_columns,
 * column_removed.
 */
static char *
load_changes_json(const MetaetlSchemaDiff *d, const char *policy)
{
	StringInfoData b;
	ListCell   *lc,
			   *lc2;

	initStringInfo(&b);
	appendStringInfoChar(&b, '[');
	foreach(lc, d->add)
	{
		MetaetlColumn *c = lfirst(lc);

		appendStringInfoString(&b, b.len > 1 ? ", {\"change\": \"column_added\", \"column\": " :
							   "{\"change\": \"column_added\", \"column\": ");
		escape_json(&b, c->name);
		appendStringInfoString(&b, ", \"type\": ");
		escape_json(&b, c->type);
		appendStringInfoChar(&b, '}');
	}
	forboth(lc, d->retype, lc2, d->retype_from)
	{
		MetaetlColumn *c = lfirst(lc);

		appendStringInfoString(&b, b.len > 1 ? ", {\"change\": \"type_changed\", \"column\": " :
							   "{\"change\": \"type_changed\", \"column\": ");
		escape_json(&b, c->name);
		appendStringInfoString(&b, ", \"old_type\": ");
		escape_json(&b, ((MetaetlColumn *) lfirst(lc2))->type);
		appendStringInfoString(&b, ", \"new_type\": ");
		escape_json(&b, c->type);
		appendStringInfoChar(&b, '}');
	}
	foreach(lc, strcmp(policy, "sync_all_columns") == 0 ? d->drop : NIL)
	{
		MetaetlColumn *c = lfirst(lc);

		appendStringInfoString(&b, b.len > 1 ? ", {\"change\": \"column_removed\", \"column\": " :
							   "{\"change\": \"column_removed\", \"column\": ");
		escape_json(&b, c->name);
		appendStringInfoString(&b, ", \"type\": ");
		escape_json(&b, c->type);
		appendStringInfoChar(&b, '}');
	}
	appendStringInfoChar(&b, ']');
	return b.data;
}

/*
 * MetaetlSchemaPolicies
 *		The on_schema_change values, NULL-terminated.  local.c and
 *		relational.c declare the config key as an enum of exactly this list,
 *		so validation and MetaetlSchemaPolicy cannot accept different words.
 */
const char *const MetaetlSchemaPolicies[] = {"fail", "recreate", "append_new_columns", "sync_all_columns", NULL};

/*
 * MetaetlSchemaPolicy
 *		The target's on_schema_change (fail when not given), refused when
 *		unknown or when it would lose the rows of a mode other than replace.
 *		recreate and sync_all_columns drop or empty the table, which only
 *		replace (which empties it anyway) can afford.  Called before any
 *		statement runs, by MetaetlLoadTable and by the remote loaders
 *		(pgremote.c, mysql.c), so all table targets share one rule and a
 *		bad policy fails the load before it touches the table.
 */
const char *
MetaetlSchemaPolicy(MetaetlTarget *tgt)
{
	char	   *policy = MetaetlJStr(tgt->conf, "on_schema_change");
	bool		known = false;

	if (policy == NULL)
		return "fail";
	for (const char *const *p = MetaetlSchemaPolicies; *p; p++)
		known |= strcmp(*p, policy) == 0;
	if (!known)
		load_error(tgt, ERRCODE_INVALID_PARAMETER_VALUE, psprintf("unknown on_schema_change \"%s\"", policy),
				   "Use fail, append_new_columns, sync_all_columns or recreate.");
	if (strcmp(tgt->mode, "replace") != 0 && (strcmp(policy, "recreate") == 0 || strcmp(policy, "sync_all_columns") == 0))
		load_error(tgt, ERRCODE_INVALID_PARAMETER_VALUE,
				   psprintf("on_schema_change %s needs mode replace (it would lose the table's rows)", policy),
				   "Use on_schema_change: append_new_columns or fail with this mode.");
	return policy;
}

/*
 * MetaetlSchemaCompare
 *		How an existing table's columns (tcols) differ from the result's
 *		(cols): result columns it lacks, result columns whose values its
 *		types would change (MetaetlTypeKept), and its columns the result
 *		lacks (scd2's bookkeeping columns excepted).  Returns whether the
 *		policy has something to do: an added or retyped column, or (for
 *		sync_all_columns) a column to drop.
 */
bool
MetaetlSchemaCompare(List *cols, List *tcols, bool scd2, const char *policy, MetaetlSchemaDiff *d)
{
	StringInfoData table_cols;
	ListCell   *lc;
	static const char *const scd2_cols[] = {"valid_from", "valid_to", "is_current"};

	memset(d, 0, sizeof(*d));
	initStringInfo(&table_cols);
	foreach(lc, tcols)
	{
		MetaetlColumn *tc = lfirst(lc);
		bool		keep = load_find(cols, tc->name) != NULL;

		appendStringInfo(&table_cols, "%s%s %s", table_cols.len ? ", " : "", quote_identifier(tc->name), tc->type);
		for (int i = 0; scd2 && i < 3; i++)
			keep |= strcmp(tc->name, scd2_cols[i]) == 0;
		if (!keep)
			d->drop = lappend(d->drop, tc);
	}
	d->table_cols = table_cols.data;
	foreach(lc, cols)
	{
		MetaetlColumn *rc = lfirst(lc);
		MetaetlColumn *tc = load_find(tcols, rc->name);

		if (tc == NULL)
			d->add = lappend(d->add, rc);
		else if (!MetaetlTypeKept(rc, tc))
		{
			d->retype = lappend(d->retype, rc);
			d->retype_from = lappend(d->retype_from, tc);
		}
	}
	d->result_json = load_columns_json(cols);
	d->changes_json = load_changes_json(d, policy);
	return d->add != NIL || d->retype != NIL || (d->drop != NIL && strcmp(policy, "sync_all_columns") == 0);
}

/*
 * MetaetlSchemaMismatch
 *		The error of a load whose result's columns the table cannot take
 *		under its policy (fail, or append_new_columns with a type change).
 *		dataset names the table as the lineage subsystem's schema history
 *		does; the detail adds what changed since the snapshot the last run
 *		stored there, and the refused change is noted for the run record's
 *		drift (lineage.h) before the error unwinds the load.
 */
void
MetaetlSchemaMismatch(MetaetlTarget *tgt, const char *table, const char *dataset, const char *policy,
					  const MetaetlSchemaDiff *d)
{
	StringInfoData det;
	StringInfoData added;
	StringInfoData changed;
	ListCell   *lc,
			   *lc2;
	char	   *since = dataset ? MetaetlLineageSchemaSince(dataset, d->result_json) : NULL;

	initStringInfo(&det);
	initStringInfo(&added);
	initStringInfo(&changed);
	foreach(lc, d->add)
	{
		MetaetlColumn *rc = lfirst(lc);

		appendStringInfo(&added, "%s%s %s", added.len ? ", " : "", quote_identifier(rc->name), rc->type);
	}
	forboth(lc, d->retype, lc2, d->retype_from)
	{
		MetaetlColumn *rc = lfirst(lc);

		appendStringInfo(&changed, "%s%s (%s in the result, %s in the table)", changed.len ? ", " : "",
						 quote_identifier(rc->name), rc->type, ((MetaetlColumn *) lfirst(lc2))->type);
	}
	if (added.len)
		appendStringInfo(&det, "Columns of the result that the table lacks: %s. ", added.data);
	if (changed.len)
		appendStringInfo(&det, "Columns whose values the table's types would change: %s. ", changed.data);
	appendStringInfo(&det, "The table's columns: %s. ", d->table_cols);
	if (since)
		appendStringInfo(&det, "%s ", since);
	if (dataset)
		MetaetlLineageNoteSchemaChange(dataset, tgt->id, policy, false, d->changes_json);
	ereport(ERROR,
			(errcode(d->retype != NIL ? ERRCODE_DATATYPE_MISMATCH : ERRCODE_UNDEFINED_COLUMN),
			 errmsg("target \"%s\": the result's columns do not match table %s", tgt->id, table),
			 errdetail("%sConfig path: targets, id \"%s\", mode %s, on_schema_change %s.", det.data,
					   tgt->id, tgt->mode, policy),
			 errhint(d->retype != NIL && strcmp(policy, "append_new_columns") == 0 ?
					 "append_new_columns adds columns but never changes a type; cast the column in a map step, or use on_schema_change: sync_all_columns or recreate (mode replace)." :
					 "Set on_schema_change on the target: append_new_columns adds the new columns; with mode replace, sync_all_columns also changes types and drops the table's other columns, recreate drops and creates the table.")));
}

/*
 * load_schema_change
 *		Compare the result's columns with the existing table's and apply
 *		on_schema_change.  Returns true when the table was dropped (recreate):
 *		the caller creates it again.  For sync_all_columns the ALTERs are
 *		returned in *sync, to run after the old rows are deleted.  A change
 *		applied is noted for the lineage subsystem's schema history.
 */
static bool
load_schema_change(MetaetlPlan *plan, MetaetlTarget *tgt, const char *q, List *cols,
				   List *tcols, const char *policy, bool scd2, List **sync)
{
	MetaetlSchemaDiff d;
	ListCell   *lc;
	char	   *dataset = MetaetlLineageTableName(q);

	if (!MetaetlSchemaCompare(cols, tcols, scd2, policy, &d))
		return false;
	if (strcmp(policy, "fail") == 0 || (strcmp(policy, "append_new_columns") == 0 && d.retype != NIL))
		MetaetlSchemaMismatch(tgt, q, dataset, policy, &d);
	if (!plan->describe_only && dataset)
		MetaetlLineageNoteSchemaChange(dataset, tgt->id, policy, true, d.changes_json);
	if (strcmp(policy, "recreate") == 0)
	{
		load_exec(plan, psprintf("DROP TABLE %s", q));
		return true;
	}
	/* append_new_columns, sync_all_columns: new columns now */
	foreach(lc, d.add)
	{
		MetaetlColumn *rc = lfirst(lc);

		load_exec(plan, psprintf("ALTER TABLE %s ADD COLUMN %s %s", q, quote_identifier(rc->name), rc->type));
	}
	if (strcmp(policy, "sync_all_columns") == 0)
	{
		foreach(lc, d.retype)
		{
			MetaetlColumn *rc = lfirst(lc);

			*sync = lappend(*sync, psprintf("ALTER TABLE %s ALTER COLUMN %s TYPE %s USING NULL", q,
											quote_identifier(rc->name), rc->type));
		}
		foreach(lc, d.drop)
			*sync = lappend(*sync, psprintf("ALTER TABLE %s DROP COLUMN %s", q,
											quote_identifier(((MetaetlColumn *) lfirst(lc))->name)));
	}
	return false;
}

/*
 * MetaetlLoadTable
 *		Load the rows of ref (under the WITH clause prefix) into a local table
 *		target with the target's mode, and return the rows written.  It is the
 *		load path of local table targets (local.c; remote connections go to
 *		MetaetlRemoteLoad instead), with merge_changes handed on to
 *		incremental/merge.c.  Everything runs through SPI in the caller's
 *		transaction, so a failing load leaves the table as it was.  The order
 *		is deliberate: mode, keys and on_schema_change are checked before any
 *		statement; a replace or delete_insert fed by an incremental aggregate
 *		touches only the changed groups; the table's columns are reconciled
 *		with the result's (or the table is created from the result's types)
 *		before rows move; and replace, delete_insert and scd2 materialize the
 *		result in a temp table first, since the query may read the target
 *		itself and a unique index on it rules out a single statement.
 */
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
	const char *policy;
	List	   *sync = NIL;

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

	policy = MetaetlSchemaPolicy(tgt);

	/* fed by an incremental aggregate: replace only the groups that changed */
	if (strcmp(mode, "replace") == 0 || strcmp(mode, "delete_insert") == 0)
	{
		int64		rows = MetaetlLoadTouchedGroups(plan, tgt, prefix, ref, cols, q);

		if (rows >= 0)
			return rows;
	}
	exists = table_exists(q);
	if (exists)
	{
		/* the table's columns against the result's: on_schema_change */
		List	   *tcols = MetaetlDescribe(psprintf("SELECT * FROM %s LIMIT 0", q));

		if (load_schema_change(plan, tgt, q, cols, tcols, policy, scd2, &sync))
			exists = false;		/* recreate: dropped */
	}
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
	if (exists && scd2)
	{
		/* the scd2 bookkeeping columns must exist in the target */
		List	   *tcols = MetaetlDescribe(psprintf("SELECT * FROM %s LIMIT 0", q));

		fake.id = psprintf("%s (table %s)", tgt->id, q);
		MetaetlFindColumn(&fake, tcols, "valid_from", "scd2 columns");
		MetaetlFindColumn(&fake, tcols, "valid_to", "scd2 columns");
		MetaetlFindColumn(&fake, tcols, "is_current", "scd2 columns");
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
		 * the target rules out doing both in one statement.  A result that
		 * already is a table of this run (a source's staging table, a
		 * materialised step) cannot see the target's changes, so it is read
		 * as it is rather than copied once more.
		 */
		bool		snapshot = load_ref_is_snapshot(plan, ref);
		char	   *tmp = snapshot ? (char *) ref : MetaetlNewTemp(plan, "result");

		if (!snapshot)
			load_exec(plan, psprintf("CREATE TEMP TABLE %s ON COMMIT DROP AS\n%sSELECT %s FROM %s",
									 tmp, prefix, collist, ref));
		if (strcmp(mode, "replace") == 0)
		{
			load_exec(plan, psprintf("DELETE FROM %s", q));
			/* sync_all_columns: the emptied table takes the result's types */
			foreach(lc, sync)
				load_exec(plan, lfirst(lc));
		}
		else
			load_exec(plan, psprintf("DELETE FROM %s t WHERE EXISTS (SELECT 1 FROM %s s WHERE %s)",
									 q, tmp, on.data));
		appendStringInfo(&b, "INSERT INTO %s (%s) SELECT %s FROM %s", q, collist, collist, tmp);
		{
			int64		rows = load_exec(plan, b.data);

			if (!plan->describe_only && !snapshot)
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
