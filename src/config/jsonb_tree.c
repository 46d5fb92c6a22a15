/*-------------------------------------------------------------------------
 *
 * src/config/jsonb_tree.c
 *		Between the pure-C configuration tree (yamltree.h) and jsonb.
 *
 * The tree's arena is malloc'd by the pure-C layer; here it is tied to the
 * current memory context with a reset callback, so it is freed when the
 * context goes away, on error too.  Parsing itself never raises (the pure-C
 * parser reports errors in the CfgDoc), so libyaml's own buffers are always
 * released by the parser.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/numeric.h"

#include "config/config.h"

static void
cfg_free_doc_callback(void *arg)
{
	CfgDocFree((CfgDoc *) arg);
}

static void
cfg_free_arena_callback(void *arg)
{
	CfgArenaFree((CfgArena *) arg);
}

/*
 * MetaetlParseConfigText
 *		Parse YAML or JSON; the result (also on a parse error, reported in the
 *		CfgDoc) lives as long as the current memory context.
 */
CfgDoc *
MetaetlParseConfigText(const char *text, size_t len)
{
	MemoryContextCallback *cb = palloc0(sizeof(MemoryContextCallback));
	CfgDoc	   *doc = CfgParse(text, len, NULL);

	if (doc == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory while parsing a configuration")));
	cb->func = cfg_free_doc_callback;
	cb->arg = doc;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, cb);
	return doc;
}

/* a fresh arena freed with the current memory context */
CfgArena *
MetaetlArenaForContext(size_t limit)
{
	MemoryContextCallback *cb = palloc0(sizeof(MemoryContextCallback));
	CfgArena   *arena = CfgArenaCreate(limit);

	if (arena == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory")));
	cb->func = cfg_free_arena_callback;
	cb->arg = arena;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, cb);
	return arena;
}

static void
cfg_push_scalar(JsonbParseState **st, JsonbIteratorToken tok, const CfgNode *n)
{
	JsonbValue	v;

	switch (n->kind)
	{
		case CFG_NULL:
			v.type = jbvNull;
			break;
		case CFG_BOOL:
			v.type = jbvBool;
			v.val.boolean = n->bval;
			break;
		case CFG_NUMBER:
			v.type = jbvNumeric;
			v.val.numeric = DatumGetNumeric(DirectFunctionCall3(numeric_in,
																CStringGetDatum(n->str),
																ObjectIdGetDatum(InvalidOid),
																Int32GetDatum(-1)));
			break;
		default:
			v.type = jbvString;
			v.val.string.val = n->str;
			v.val.string.len = (int) n->len;
			break;
	}
	pushJsonbValue(st, tok, &v);
}

static void
cfg_push_node(JsonbParseState **st, JsonbIteratorToken tok, const CfgNode *n)
{
	check_stack_depth();
	CHECK_FOR_INTERRUPTS();
	if (n->kind == CFG_SEQ)
	{
		pushJsonbValue(st, WJB_BEGIN_ARRAY, NULL);
		for (int i = 0; i < n->n; i++)
			cfg_push_node(st, WJB_ELEM, n->items[i]);
		pushJsonbValue(st, WJB_END_ARRAY, NULL);
	}
	else if (n->kind == CFG_MAP)
	{
		pushJsonbValue(st, WJB_BEGIN_OBJECT, NULL);
		for (int i = 0; i < n->n; i++)
		{
			JsonbValue	k;

			k.type = jbvString;
			k.val.string.val = n->pairs[i].key->str;
			k.val.string.len = (int) n->pairs[i].key->len;
			pushJsonbValue(st, WJB_KEY, &k);
			cfg_push_node(st, WJB_VALUE, n->pairs[i].value);
		}
		pushJsonbValue(st, WJB_END_OBJECT, NULL);
	}
	else
		cfg_push_scalar(st, tok, n);
}

/*
 * MetaetlTreeToJsonb
 *		The tree as jsonb.  Duplicate keys: the last one wins (the validator
 *		reports them before it gets here).
 */
Jsonb *
MetaetlTreeToJsonb(const CfgNode *root)
{
	JsonbParseState *st = NULL;
	JsonbValue *res;

	if (root->kind != CFG_SEQ && root->kind != CFG_MAP)
	{
		/* a scalar document becomes a raw scalar jsonb */
		pushJsonbValue(&st, WJB_BEGIN_ARRAY, NULL);
		cfg_push_scalar(&st, WJB_ELEM, root);
		res = pushJsonbValue(&st, WJB_END_ARRAY, NULL);
		res->val.array.rawScalar = true;
		return JsonbValueToJsonb(res);
	}
	if (root->kind == CFG_SEQ)
	{
		pushJsonbValue(&st, WJB_BEGIN_ARRAY, NULL);
		for (int i = 0; i < root->n; i++)
			cfg_push_node(&st, WJB_ELEM, root->items[i]);
		res = pushJsonbValue(&st, WJB_END_ARRAY, NULL);
	}
	else
	{
		pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
		for (int i = 0; i < root->n; i++)
		{
			JsonbValue	k;

			k.type = jbvString;
			k.val.string.val = root->pairs[i].key->str;
			k.val.string.len = (int) root->pairs[i].key->len;
			pushJsonbValue(&st, WJB_KEY, &k);
			cfg_push_node(&st, WJB_VALUE, root->pairs[i].value);
		}
		res = pushJsonbValue(&st, WJB_END_OBJECT, NULL);
	}
	return JsonbValueToJsonb(res);
}

/* keys in the order a person writes them; the rest alphabetically after */
static const char *const cfg_key_order[] = {
	"pipeline", "id", "name", "description", "type", "check", "engine",
	"connection", "query", "table", "path", "url", "format", "input", "inputs", "params",
	"condition", "column", "columns", "mode", "keys", "create", "threshold", "severity",
	"sources", "transforms", "targets", "quality", "gate", "rules", "sla", "retry",
	"schedule", "cron", "timezone", "alerts", "concurrency", "timeout_minutes"
};

static int
cfg_key_rank(const char *k)
{
	for (size_t i = 0; i < lengthof(cfg_key_order); i++)
		if (strcmp(k, cfg_key_order[i]) == 0)
			return (int) i;
	return (int) lengthof(cfg_key_order);
}

static int
cfg_pair_cmp(const void *a, const void *b)
{
	const CfgPair *pa = a;
	const CfgPair *pb = b;
	int			ra = cfg_key_rank(pa->key->str);
	int			rb = cfg_key_rank(pb->key->str);

	if (ra != rb)
		return ra < rb ? -1 : 1;
	return strcmp(pa->key->str, pb->key->str);
}

static CfgNode *
cfg_need(CfgNode *n)
{
	if (n == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("configuration is too large to convert")));
	return n;
}

static CfgNode *
cfg_from_jbv(CfgArena *arena, JsonbValue *v)
{
	CfgNode    *n;
	char	   *s;

	switch (v->type)
	{
		case jbvNull:
			return cfg_need(CfgNewNode(arena, CFG_NULL, 0, 0));
		case jbvBool:
			return cfg_need(CfgNewBool(arena, v->val.boolean));
		case jbvNumeric:
			s = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));
			return cfg_need(CfgNewNumber(arena, s));
		case jbvString:
			n = cfg_need(CfgNewNode(arena, CFG_STRING, 0, 0));
			n->str = CfgStrdup(arena, v->val.string.val, v->val.string.len);
			n->len = v->val.string.len;
			cfg_need((CfgNode *) n->str);
			return n;
		default:
			elog(ERROR, "unexpected jsonb value type %d", (int) v->type);
	}
	return NULL;
}

/*
 * MetaetlJsonbToTree
 *		jsonb as a tree (positions 0), object keys in a readable order.
 */
CfgNode *
MetaetlJsonbToTree(CfgArena *arena, Jsonb *jb)
{
	JsonbIterator *it = JsonbIteratorInit(&jb->root);
	JsonbValue	v;
	JsonbIteratorToken tok;
	CfgNode    *stack[256];
	CfgNode    *keys[256];
	int			depth = 0;
	CfgNode    *root = NULL;

	while ((tok = JsonbIteratorNext(&it, &v, false)) != WJB_DONE)
	{
		CfgNode    *n = NULL;

		switch (tok)
		{
			case WJB_BEGIN_ARRAY:
			case WJB_BEGIN_OBJECT:
				if (depth >= (int) lengthof(stack))
					ereport(ERROR,
							(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
							 errmsg("configuration is nested too deeply to export")));
				if (tok == WJB_BEGIN_ARRAY && v.val.array.rawScalar)
				{
					/* the scalar comes as the next element */
					stack[depth] = NULL;
					keys[depth++] = NULL;
					break;
				}
				stack[depth] = cfg_need(CfgNewNode(arena, tok == WJB_BEGIN_ARRAY ? CFG_SEQ : CFG_MAP, 0, 0));
				keys[depth++] = NULL;
				break;
			case WJB_KEY:
				keys[depth - 1] = cfg_from_jbv(arena, &v);
				break;
			case WJB_VALUE:
			case WJB_ELEM:
				n = cfg_from_jbv(arena, &v);
				break;
			case WJB_END_ARRAY:
			case WJB_END_OBJECT:
				n = stack[--depth];
				if (n && n->kind == CFG_MAP && n->n > 1)
					qsort(n->pairs, n->n, sizeof(CfgPair), cfg_pair_cmp);
				if (n == NULL)
					continue;
				break;
			default:
				break;
		}
		if (n == NULL)
			continue;
		if (depth == 0)
			root = n;
		else if (stack[depth - 1] == NULL)
			root = n;			/* raw scalar */
		else if (stack[depth - 1]->kind == CFG_SEQ)
			cfg_need(CfgSeqAppend(arena, stack[depth - 1], n) ? n : NULL);
		else
			cfg_need(CfgMapAppend(arena, stack[depth - 1], keys[depth - 1], n) ? n : NULL);
	}
	return root;
}
