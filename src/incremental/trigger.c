/*-------------------------------------------------------------------------
 *
 * src/incremental/trigger.c
 *		Trigger CDC: the capture trigger, etl._capture_changes().
 *
 * etl.enable_change_capture() puts statement-level AFTER triggers with
 * transition tables on a table; each statement's changes become rows of
 * etl.changes_<relid> (capture.c reads them).  The trigger runs in the
 * writers' transactions, so its cost is theirs: it was a PL/pgSQL function
 * (SECURITY DEFINER with a SET search_path, and two dynamic statements,
 * parsed and planned again for every UPDATE statement), which made a
 * single-row UPDATE some 70% slower, and paired the old and new rows of a
 * statement with a correlated subquery, quadratic in the rows updated (a
 * 10,000-row UPDATE took tens of seconds).  Here, per statement: one lookup
 * of the capture (a saved plan), the images computed in C from the
 * transition tables, and one INSERT of them all (a saved plan per captured
 * table, batches of CAPTURE_BATCH rows passed as arrays and unnested).
 *
 * Images are the rows' text forms, as before: a row image is the row
 * type's output (what row::text gives), a key image the output of the
 * anonymous record of the key columns (ROW(k1, k2)::text); consumers cast
 * them back as the run's role.  They are computed as the writer (the
 * types' output functions run with the writer's rights, not metaetl's);
 * only the lookup and the INSERT into the change table, which plain roles
 * cannot write, run as the extension owner (schema-qualified SQL).  An
 * UPDATE records the delete of each old key that no new row has (a key
 * that changed), then an update per new row with the old image of the row
 * that had its key (incremental aggregates recompute the group it left),
 * paired through a hash table of the old rows' key images.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "common/hashfn.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/tuplestore.h"

#include "metaetl.h"
#include "incremental/incremental.h"
#include "security/security.h"

PG_FUNCTION_INFO_V1(metaetl_capture_changes);

/* changes passed to one INSERT: bounds the arrays' memory */
#define CAPTURE_BATCH 10000

/* a captured table's INSERT, kept for the life of the process */
typedef struct CapturePlan
{
	Oid			relid;			/* hash key */
	char	   *change_table;	/* what the plan inserts into */
	SPIPlanPtr	plan;
} CapturePlan;

static HTAB *capture_plans = NULL;
static SPIPlanPtr capture_lookup = NULL;

/* the changes of one statement, batched */
typedef struct CaptureBatch
{
	SPIPlanPtr	plan;
	MemoryContext cxt;			/* reset after each INSERT */
	int			n;
	Datum		op[CAPTURE_BATCH];
	Datum		key[CAPTURE_BATCH];
	Datum		row[CAPTURE_BATCH];
	Datum		old[CAPTURE_BATCH];
	bool		old_null[CAPTURE_BATCH];
} CaptureBatch;

/* an old row of an UPDATE, by its key image */
typedef struct OldRow
{
	char	   *key;			/* hash key (the pointer; hashed by content) */
	char	   *image;
	bool		matched;		/* a new row has its key */
} OldRow;

static uint32
oldrow_hash(const void *key, Size keysize)
{
	const char *s = *(char *const *) key;

	return hash_bytes((const unsigned char *) s, strlen(s));
}

static int
oldrow_match(const void *key1, const void *key2, Size keysize)
{
	return strcmp(*(char *const *) key1, *(char *const *) key2);
}

/*
 * capture_find
 *		The change table of relid and its INSERT plan, or NULL when the table
 *		is not captured (capture being disabled in this transaction).  Also
 *		returns the key column names.  As the owner, SPI connected.
 */
static CapturePlan *
capture_find(Oid relid, List **keys)
{
	Datum		arg = ObjectIdGetDatum(relid);
	char	   *ct;
	bool		isnull;
	Datum		karr;
	Datum	   *kelems;
	int			nk;
	CapturePlan *cp;
	bool		found;

	if (capture_lookup == NULL)
	{
		Oid			t = OIDOID;
		SPIPlanPtr	p = SPI_prepare("SELECT c.change_table, c.key_columns FROM etl.change_captures c"
									" WHERE c.relid OPERATOR(pg_catalog.=) $1::pg_catalog.regclass",
									1, &t);

		if (p == NULL)
			elog(ERROR, "could not prepare the change capture lookup: %s", SPI_result_code_string(SPI_result));
		SPI_keepplan(p);
		capture_lookup = p;
	}
	if (SPI_execute_plan(capture_lookup, &arg, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read etl.change_captures");
	if (SPI_processed == 0)
		return NULL;
	ct = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	karr = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
	deconstruct_array(DatumGetArrayTypeP(karr), TEXTOID, -1, false, TYPALIGN_INT, &kelems, NULL, &nk);
	*keys = NIL;
	for (int i = 0; i < nk; i++)
		*keys = lappend(*keys, TextDatumGetCString(kelems[i]));

	if (capture_plans == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(CapturePlan);
		ctl.hcxt = TopMemoryContext;
		capture_plans = hash_create("metaetl capture plans", 16, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	cp = hash_search(capture_plans, &relid, HASH_ENTER, &found);
	if (found && strcmp(cp->change_table, ct) != 0)
	{
		/* captured again under another change table: a new plan */
		SPI_freeplan(cp->plan);
		pfree(cp->change_table);
		found = false;
	}
	if (!found)
	{
		Oid			types[4] = {TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID};
		SPIPlanPtr	p;

		cp->plan = NULL;
		cp->change_table = MemoryContextStrdup(TopMemoryContext, ct);
		p = SPI_prepare(psprintf("INSERT INTO etl.%s (op, key_image, row_image, old_image)"
								 " SELECT u.op, u.k, u.r, u.o"
								 "   FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2),"
								 "                   pg_catalog.unnest($3), pg_catalog.unnest($4)) AS u(op, k, r, o)",
								 quote_identifier(ct)),
						4, types);
		if (p == NULL)
		{
			hash_search(capture_plans, &relid, HASH_REMOVE, NULL);
			elog(ERROR, "could not prepare the change capture of %s: %s", ct,
				 SPI_result_code_string(SPI_result));
		}
		SPI_keepplan(p);
		cp->plan = p;
	}
	return cp;
}

/* insert the batched changes; SPI connected, as the owner */
static void
capture_flush(CaptureBatch *b)
{
	Datum		values[4];
	Datum	   *cols[3] = {b->op, b->key, b->row};

	if (b->n == 0)
		return;
	for (int i = 0; i < 3; i++)
		values[i] = PointerGetDatum(construct_array(cols[i], b->n, TEXTOID, -1, false, TYPALIGN_INT));
	{
		int			dims[1] = {b->n};
		int			lbs[1] = {1};

		values[3] = PointerGetDatum(construct_md_array(b->old, b->old_null, 1, dims, lbs,
													   TEXTOID, -1, false, TYPALIGN_INT));
	}
	if (SPI_execute_plan(b->plan, values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not record captured changes");
	b->n = 0;
	MemoryContextReset(b->cxt);
}

/*
 * capture_add
 *		Queue one change.  The images are computed before the owner section
 *		that flushes (capture_emit switches around each flush).
 */
static void
capture_add(CaptureBatch *b, const char *op, const char *key, const char *row, const char *old)
{
	MemoryContext oldcxt = MemoryContextSwitchTo(b->cxt);

	b->op[b->n] = CStringGetTextDatum(op);
	b->key[b->n] = CStringGetTextDatum(key);
	b->row[b->n] = CStringGetTextDatum(row);
	b->old[b->n] = old ? CStringGetTextDatum(old) : (Datum) 0;
	b->old_null[b->n] = old == NULL;
	b->n++;
	MemoryContextSwitchTo(oldcxt);
}

/*
 * The owner sections of the trigger.  They switch the user only, without
 * the search_path pin of MetaetlOwnerBegin (security/privs.c): setting and
 * restoring search_path twice per statement was a good part of the
 * trigger's cost on single-row writes, and its two statements resolve no
 * name at execution — every name in them is schema-qualified and their
 * plans are kept (a replan resolves the same qualified names).  An error
 * inside leaves the user to the (sub)transaction abort, as for any error.
 */
typedef struct CaptureOwner
{
	Oid			saved_user;
	int			saved_context;
} CaptureOwner;

static void
capture_owner_begin(CaptureOwner *st)
{
	GetUserIdAndSecContext(&st->saved_user, &st->saved_context);
	SetUserIdAndSecContext(MetaetlExtensionOwner(), st->saved_context | SECURITY_LOCAL_USERID_CHANGE);
}

static void
capture_owner_end(CaptureOwner *st)
{
	SetUserIdAndSecContext(st->saved_user, st->saved_context);
}

/* flush as the owner, when the batch is full (or at the end, with force) */
static void
capture_emit(CaptureBatch *b, bool force)
{
	CaptureOwner st;

	if (b->n < CAPTURE_BATCH && !(force && b->n > 0))
		return;
	capture_owner_begin(&st);
	capture_flush(b);
	capture_owner_end(&st);
}

/* how a statement's rows are turned into images */
typedef struct CaptureImages
{
	TupleDesc	desc;			/* the table's */
	TupleDesc	keydesc;		/* the anonymous record of the key columns */
	AttrNumber *keyatt;
	int			nkeys;
	FmgrInfo	row_out;		/* record_out, caching its column lookups */
	FmgrInfo	key_out;
	TupleTableSlot *slot;
	MemoryContext rowcxt;		/* reset per row */
} CaptureImages;

static void
capture_images_init(CaptureImages *im, Relation rel, List *keys)
{
	ListCell   *lc;
	int			i = 0;

	im->desc = RelationGetDescr(rel);
	im->nkeys = list_length(keys);
	if (im->nkeys < 1 || im->nkeys > INDEX_MAX_KEYS)
		elog(ERROR, "captured table %s has %d key columns", RelationGetRelationName(rel), im->nkeys);
	im->keyatt = palloc(sizeof(AttrNumber) * im->nkeys);
	im->keydesc = CreateTemplateTupleDesc(im->nkeys);
	foreach(lc, keys)
	{
		AttrNumber	att = get_attnum(RelationGetRelid(rel), lfirst(lc));
		Form_pg_attribute a;

		if (att == InvalidAttrNumber)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("key column \"%s\" of captured table %s does not exist", (char *) lfirst(lc),
							RelationGetRelationName(rel)),
					 errhint("Disable and enable change capture again: SELECT etl.disable_change_capture(...), etl.enable_change_capture(...).")));
		a = TupleDescAttr(im->desc, att - 1);
		im->keyatt[i] = att;
		TupleDescInitEntry(im->keydesc, i + 1, NameStr(a->attname), a->atttypid, a->atttypmod, 0);
		i++;
	}
	im->keydesc = BlessTupleDesc(im->keydesc);
	fmgr_info(F_RECORD_OUT, &im->row_out);
	fmgr_info(F_RECORD_OUT, &im->key_out);
	im->slot = MakeSingleTupleTableSlot(im->desc, &TTSOpsMinimalTuple);
	im->rowcxt = AllocSetContextCreate(CurrentMemoryContext, "metaetl capture row", ALLOCSET_DEFAULT_SIZES);
}

/* the key and row images of the slot's row, allocated in cxt */
static void
capture_image(CaptureImages *im, MemoryContext cxt, char **key, char **row)
{
	Datum		kv[INDEX_MAX_KEYS];
	bool		kn[INDEX_MAX_KEYS];
	MemoryContext oldcxt;
	char	   *k;
	char	   *r;

	MemoryContextReset(im->rowcxt);
	oldcxt = MemoryContextSwitchTo(im->rowcxt);
	slot_getallattrs(im->slot);
	for (int i = 0; i < im->nkeys; i++)
	{
		kv[i] = im->slot->tts_values[im->keyatt[i] - 1];
		kn[i] = im->slot->tts_isnull[im->keyatt[i] - 1];
	}
	k = OutputFunctionCall(&im->key_out,
						   HeapTupleGetDatum(heap_form_tuple(im->keydesc, kv, kn)));
	r = OutputFunctionCall(&im->row_out, ExecFetchSlotHeapTupleDatum(im->slot));
	MemoryContextSwitchTo(oldcxt);
	*key = MemoryContextStrdup(cxt, k);
	*row = MemoryContextStrdup(cxt, r);
}

/* a read pointer of our own: other triggers of the statement read the same tuplestore */
static void
capture_rewind(Tuplestorestate *ts)
{
	int			ptr = tuplestore_alloc_read_pointer(ts, EXEC_FLAG_REWIND);

	tuplestore_select_read_pointer(ts, ptr);
	tuplestore_rescan(ts);
}

/* every row of ts as one op (insert or delete) */
static void
capture_all(CaptureImages *im, CaptureBatch *b, Tuplestorestate *ts, const char *op)
{
	capture_rewind(ts);
	while (tuplestore_gettupleslot(ts, true, false, im->slot))
	{
		char	   *key;
		char	   *row;

		capture_emit(b, false);
		capture_image(im, b->cxt, &key, &row);
		capture_add(b, op, key, row, NULL);
	}
}

/* a new row of an UPDATE */
typedef struct NewRow
{
	char	   *key;
	char	   *image;
} NewRow;

/* an UPDATE: deletes of the keys no new row has, then the new rows with their old images */
static void
capture_update(CaptureImages *im, CaptureBatch *b, Tuplestorestate *olds, Tuplestorestate *news)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "metaetl capture update",
											  ALLOCSET_DEFAULT_SIZES);
	HASHCTL		ctl;
	HTAB	   *by_key;
	List	   *old_rows = NIL;
	List	   *new_rows = NIL;
	ListCell   *lc;

	ctl.keysize = sizeof(char *);
	ctl.entrysize = sizeof(OldRow);
	ctl.hash = oldrow_hash;
	ctl.match = oldrow_match;
	ctl.hcxt = cxt;
	by_key = hash_create("metaetl capture old rows", 256, &ctl,
						 HASH_ELEM | HASH_FUNCTION | HASH_COMPARE | HASH_CONTEXT);

	capture_rewind(olds);
	while (tuplestore_gettupleslot(olds, true, false, im->slot))
	{
		char	   *key;
		char	   *row;
		OldRow	   *o;
		bool		found;

		capture_image(im, cxt, &key, &row);
		o = hash_search(by_key, &key, HASH_ENTER, &found);
		if (!found)
		{
			o->image = row;
			o->matched = false;
			old_rows = lappend(old_rows, o);
		}
	}
	capture_rewind(news);
	while (tuplestore_gettupleslot(news, true, false, im->slot))
	{
		NewRow	   *n = MemoryContextAlloc(cxt, sizeof(NewRow));
		OldRow	   *o;

		capture_image(im, cxt, &n->key, &n->image);
		o = hash_search(by_key, &n->key, HASH_FIND, NULL);
		if (o)
			o->matched = true;
		new_rows = lappend(new_rows, n);
	}

	/* the old keys no new row has: their key changed, a delete */
	foreach(lc, old_rows)
	{
		OldRow	   *o = lfirst(lc);

		if (o->matched)
			continue;
		capture_emit(b, false);
		capture_add(b, "delete", o->key, o->image, NULL);
	}
	foreach(lc, new_rows)
	{
		NewRow	   *n = lfirst(lc);
		OldRow	   *o = hash_search(by_key, &n->key, HASH_FIND, NULL);

		capture_emit(b, false);
		capture_add(b, "update", n->key, n->image, o ? o->image : NULL);
	}
	MemoryContextDelete(cxt);
}

/*
 * etl._capture_changes() returns trigger
 *		The statement-level capture trigger of etl.enable_change_capture().
 */
Datum
metaetl_capture_changes(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	TriggerEvent ev;
	Relation	rel;
	CaptureOwner st;
	CapturePlan *cp;
	List	   *keys = NIL;
	CaptureBatch *b;
	CaptureImages im;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("etl._capture_changes() can only be called as a trigger")));
	ev = td->tg_event;
	if (!TRIGGER_FIRED_AFTER(ev) || !TRIGGER_FIRED_FOR_STATEMENT(ev))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("etl._capture_changes() must be an AFTER ... FOR EACH STATEMENT trigger"),
				 errhint("etl.enable_change_capture() creates the capture triggers.")));
	rel = td->tg_relation;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	capture_owner_begin(&st);
	cp = capture_find(RelationGetRelid(rel), &keys);
	capture_owner_end(&st);
	if (cp == NULL)
	{
		SPI_finish();
		return PointerGetDatum(NULL);	/* capture being disabled in this transaction */
	}

	b = palloc(sizeof(CaptureBatch));
	b->plan = cp->plan;
	b->n = 0;
	b->cxt = AllocSetContextCreate(CurrentMemoryContext, "metaetl capture batch", ALLOCSET_DEFAULT_SIZES);

	if (TRIGGER_FIRED_BY_TRUNCATE(ev))
	{
		/* one marker, no images: every row present is gone */
		capture_add(b, "truncate", "", "", NULL);
	}
	else
	{
		capture_images_init(&im, rel, keys);
		if (TRIGGER_FIRED_BY_INSERT(ev) && td->tg_newtable)
			capture_all(&im, b, td->tg_newtable, "insert");
		else if (TRIGGER_FIRED_BY_DELETE(ev) && td->tg_oldtable)
			capture_all(&im, b, td->tg_oldtable, "delete");
		else if (TRIGGER_FIRED_BY_UPDATE(ev) && td->tg_oldtable && td->tg_newtable)
			capture_update(&im, b, td->tg_oldtable, td->tg_newtable);
		else
			ereport(ERROR,
					(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
					 errmsg("capture trigger on %s has no transition table", RelationGetRelationName(rel)),
					 errhint("etl.enable_change_capture() creates the capture triggers with REFERENCING clauses.")));
		ExecDropSingleTupleTableSlot(im.slot);
	}
	capture_emit(b, true);
	SPI_finish();
	return PointerGetDatum(NULL);
}
