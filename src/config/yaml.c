/*-------------------------------------------------------------------------
 *
 * src/config/yaml.c
 *		YAML and JSON parsing with libyaml into a CfgNode tree with positions.
 *
 * The parser is event based and keeps its own stack, so deep nesting cannot
 * overflow the C stack; it stops at the first of: input larger than
 * max_input, nesting deeper than max_depth, more than max_nodes nodes or
 * more than max_expanded bytes of scalar text (an alias adds the nodes and
 * the text of what it names every time it is used, which defeats "billion
 * laughs" built from many small nodes as well as 250 aliases of one 1 MB
 * string), or the arena's byte limit.  Anchors, aliases and
 * merge keys (<<) work; duplicate keys are kept in the tree (the validator
 * decides, because one duplicate form is accepted with a warning).  Plain
 * scalars resolve with the YAML 1.2 core schema: null, true/false, numbers
 * in JSON syntax; everything else, every quoted scalar and every scalar with
 * the non-specific tag "!" (YAML 1.2 section 6.9.1), is a string.  Tags:
 * !!str !!null !!bool !!int !!float !!seq !!map and "!"; any other is refused.
 *
 * Pure C: no PostgreSQL headers.
 *
 *-------------------------------------------------------------------------
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "config/yamltree.h"

struct CfgArenaBlock
{
	CfgArenaBlock *next;
	size_t		size;
	size_t		used;
	/* data follows, 16-byte aligned */
};

#define CFG_BLOCK_HEADER ((sizeof(CfgArenaBlock) + 15) & ~(size_t) 15)
#define CFG_BLOCK_SIZE	(64 * 1024)

/*
 * The parser's default limits (input size, depth, nodes, memory, keys,
 * alias expansion): a hostile config cannot exhaust memory or the stack.
 */
void
CfgDefaultLimits(CfgLimits *lim)
{
	lim->max_input = CFG_DEFAULT_MAX_INPUT;
	lim->max_depth = CFG_DEFAULT_MAX_DEPTH;
	lim->max_nodes = CFG_DEFAULT_MAX_NODES;
	lim->max_memory = CFG_DEFAULT_MAX_MEMORY;
	lim->max_keys = CFG_DEFAULT_MAX_KEYS;
	lim->max_expanded = CFG_DEFAULT_MAX_EXPANDED;
}

/*
 * A new arena that refuses to grow past limit bytes (0: no limit); NULL
 * when out of memory.  Pure C (malloc), so the tree is unit-tested outside
 * the server and freed in one call on any error path.
 */
CfgArena *
CfgArenaCreate(size_t limit)
{
	CfgArena   *a = calloc(1, sizeof(CfgArena));

	if (a)
		a->limit = limit;
	return a;
}

/* Free an arena and every node in it; NULL is allowed. */
void
CfgArenaFree(CfgArena *arena)
{
	CfgArenaBlock *b;

	if (arena == NULL)
		return;
	b = arena->head;
	while (b)
	{
		CfgArenaBlock *next = b->next;

		free(b);
		b = next;
	}
	free(arena);
}

/*
 * size bytes (16-byte aligned) from the arena; NULL, with arena->exhausted
 * set, when the limit would be passed: callers turn that into one clear
 * error (cfgv_need) rather than a crash.
 */
void *
CfgAlloc(CfgArena *arena, size_t size)
{
	CfgArenaBlock *b = arena->head;
	void	   *p;

	size = (size + 15) & ~(size_t) 15;
	if (size == 0)
		size = 16;
	if (arena->limit && arena->used + size > arena->limit)
	{
		arena->exhausted = true;
		return NULL;
	}
	if (b == NULL || b->size - b->used < size)
	{
		size_t		bsize = size > CFG_BLOCK_SIZE / 4 ? size : CFG_BLOCK_SIZE;

		b = malloc(CFG_BLOCK_HEADER + bsize);
		if (b == NULL)
		{
			arena->exhausted = true;
			return NULL;
		}
		b->size = bsize;
		b->used = 0;
		if (arena->head && size > CFG_BLOCK_SIZE / 4)
		{
			/* a big block goes behind the current one, which keeps its room */
			b->next = arena->head->next;
			arena->head->next = b;
		}
		else
		{
			b->next = arena->head;
			arena->head = b;
		}
	}
	p = (char *) b + CFG_BLOCK_HEADER + b->used;
	b->used += size;
	arena->used += size;
	memset(p, 0, size);
	return p;
}

/* A NUL-terminated copy of len bytes of s in the arena, or NULL. */
char *
CfgStrdup(CfgArena *arena, const char *s, size_t len)
{
	char	   *p = CfgAlloc(arena, len + 1);

	if (p)
	{
		if (len)
			memcpy(p, s, len);
		p[len] = '\0';
	}
	return p;
}

/*
 * A new node of kind at line/col (for error positions), or NULL when the
 * arena is exhausted.
 */
CfgNode *
CfgNewNode(CfgArena *arena, CfgKind kind, int line, int col)
{
	CfgNode    *n = CfgAlloc(arena, sizeof(CfgNode));

	if (n)
	{
		n->kind = kind;
		n->line = line;
		n->col = col;
		n->weight = 1;
	}
	return n;
}

/* A string node (a copy of s) at line/col, or NULL. */
CfgNode *
CfgNewString(CfgArena *arena, const char *s, int line, int col)
{
	CfgNode    *n = CfgNewNode(arena, CFG_STRING, line, col);

	if (n == NULL)
		return NULL;
	n->len = strlen(s);
	n->str = CfgStrdup(arena, s, n->len);
	return n->str ? n : NULL;
}

/*
 * A number node from its text, kept as written so no precision is lost,
 * or NULL.
 */
CfgNode *
CfgNewNumber(CfgArena *arena, const char *s)
{
	CfgNode    *n = CfgNewString(arena, s, 0, 0);

	if (n)
		n->kind = CFG_NUMBER;
	return n;
}

/* A boolean node, or NULL. */
CfgNode *
CfgNewBool(CfgArena *arena, bool b)
{
	CfgNode    *n = CfgNewString(arena, b ? "true" : "false", 0, 0);

	if (n)
	{
		n->kind = CFG_BOOL;
		n->bval = b;
	}
	return n;
}

/* Append item to seq, growing it in the arena; false when exhausted. */
bool
CfgSeqAppend(CfgArena *arena, CfgNode *seq, CfgNode *item)
{
	if (seq->n == seq->cap)
	{
		int			ncap = seq->cap ? seq->cap * 2 : 4;
		CfgNode   **items = CfgAlloc(arena, sizeof(CfgNode *) * ncap);

		if (items == NULL)
			return false;
		if (seq->n)
			memcpy(items, seq->items, sizeof(CfgNode *) * seq->n);
		seq->items = items;
		seq->cap = ncap;
	}
	seq->items[seq->n++] = item;
	return true;
}

/*
 * Append key: value to map without looking for key: duplicates stay in the
 * tree and the validator decides (one duplicate form is only a warning);
 * false when exhausted.
 */
bool
CfgMapAppend(CfgArena *arena, CfgNode *map, CfgNode *key, CfgNode *value)
{
	if (map->n == map->cap)
	{
		int			ncap = map->cap ? map->cap * 2 : 4;
		CfgPair    *pairs = CfgAlloc(arena, sizeof(CfgPair) * ncap);

		if (pairs == NULL)
			return false;
		if (map->n)
			memcpy(pairs, map->pairs, sizeof(CfgPair) * map->n);
		map->pairs = pairs;
		map->cap = ncap;
	}
	map->pairs[map->n].key = key;
	map->pairs[map->n].value = value;
	map->n++;
	return true;
}

/* add or replace key (a synthesised key node) */
bool
CfgMapPut(CfgArena *arena, CfgNode *map, const char *key, CfgNode *value)
{
	CfgPair    *p = CfgMapGetPair(map, key);
	CfgNode    *k;

	if (p)
	{
		p->value = value;
		return true;
	}
	k = CfgNewString(arena, key, value ? value->line : 0, value ? value->col : 0);
	return k != NULL && CfgMapAppend(arena, map, k, value);
}

/*
 * The first pair of map with key (NULL for none or a non-map): linear, as
 * mappings in configs are small and keep their written order.
 */
CfgPair *
CfgMapGetPair(const CfgNode *map, const char *key)
{
	if (map == NULL || map->kind != CFG_MAP)
		return NULL;
	for (int i = 0; i < map->n; i++)
		if (strcmp(map->pairs[i].key->str, key) == 0)
			return &map->pairs[i];
	return NULL;
}

/* The value of key in map, or NULL. */
CfgNode *
CfgMapGet(const CfgNode *map, const char *key)
{
	CfgPair    *p = CfgMapGetPair(map, key);

	return p ? p->value : NULL;
}

/* "mapping", "string", ...: the word problems use for a node's kind. */
const char *
CfgKindName(CfgKind kind)
{
	switch (kind)
	{
		case CFG_NULL:
			return "null";
		case CFG_BOOL:
			return "boolean";
		case CFG_NUMBER:
			return "number";
		case CFG_STRING:
			return "string";
		case CFG_SEQ:
			return "list";
		case CFG_MAP:
			return "mapping";
	}
	return "unknown";
}

/* ---- scalar resolution (YAML 1.2 core schema, JSON numbers) ---- */

static bool
cfg_is_null(const char *s, size_t len)
{
	return len == 0 || (len == 1 && s[0] == '~') ||
		(len == 4 && (strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
					  strcmp(s, "NULL") == 0));
}

static int
cfg_bool_value(const char *s, size_t len)
{
	if (len == 4 && (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 ||
					 strcmp(s, "TRUE") == 0))
		return 1;
	if (len == 5 && (strcmp(s, "false") == 0 || strcmp(s, "False") == 0 ||
					 strcmp(s, "FALSE") == 0))
		return 0;
	return -1;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]{1,3})? and at most 64 bytes */
static bool
cfg_is_number(const char *s, size_t len)
{
	size_t		i = 0;
	size_t		nexp = 0;

	if (len == 0 || len > 64)
		return false;
	if (s[i] == '-')
		i++;
	if (i >= len)
		return false;
	if (s[i] == '0')
		i++;
	else if (s[i] >= '1' && s[i] <= '9')
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
	else
		return false;
	if (i < len && s[i] == '.')
	{
		size_t		start = ++i;

		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == start)
			return false;
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E'))
	{
		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		while (i < len && s[i] >= '0' && s[i] <= '9')
		{
			i++;
			nexp++;
		}
		if (nexp == 0 || nexp > 3)
			return false;
	}
	return i == len;
}

/* would this text, written plain, read back as something other than a string? */
bool
CfgScalarLooksNonString(const char *s, size_t len)
{
	return cfg_is_null(s, len) || cfg_bool_value(s, len) >= 0 ||
		cfg_is_number(s, len) || (len > 0 && s[0] == '<' && len == 2 && s[1] == '<');
}

/* ---- the parser ---- */

typedef struct CfgAnchor
{
	char	   *name;
	CfgNode    *node;
} CfgAnchor;

typedef struct CfgFrame
{
	CfgNode    *node;
	CfgNode    *key;			/* map: key waiting for its value */
	char	   *anchor;			/* registered when the collection ends */
} CfgFrame;

typedef struct CfgParser
{
	CfgDoc	   *doc;
	const CfgLimits *lim;
	CfgArena   *arena;
	CfgFrame   *stack;
	int			depth;
	size_t		nodes;
	size_t		bytes;			/* scalar text so far, aliases expanded */
	CfgAnchor  *anchors;		/* open-addressing hash */
	size_t		nanchors;
	size_t		anchor_cap;
} CfgParser;

static void cfg_fail(CfgParser *p, int line, int col, const char *fmt,...)
			__attribute__((format(printf, 4, 5)));

static void
cfg_fail(CfgParser *p, int line, int col, const char *fmt,...)
{
	va_list		ap;

	if (p->doc->failed)
		return;
	p->doc->failed = true;
	p->doc->err_line = line;
	p->doc->err_col = col;
	va_start(ap, fmt);
	vsnprintf(p->doc->error, sizeof(p->doc->error), fmt, ap);
	va_end(ap);
}

static void
cfg_fail_memory(CfgParser *p, int line, int col)
{
	p->doc->limit_hit = true;
	cfg_fail(p, line, col, "configuration is too large: it needs more than %zu bytes of memory",
			 p->lim->max_memory);
}

static uint64_t
cfg_hash(const char *s)
{
	uint64_t	h = 1469598103934665603ULL;

	for (; *s; s++)
	{
		h ^= (unsigned char) *s;
		h *= 1099511628211ULL;
	}
	return h;
}

static CfgAnchor *
cfg_anchor_slot(CfgAnchor *tab, size_t cap, const char *name)
{
	size_t		i = cfg_hash(name) & (cap - 1);

	while (tab[i].name && strcmp(tab[i].name, name) != 0)
		i = (i + 1) & (cap - 1);
	return &tab[i];
}

static bool
cfg_anchor_set(CfgParser *p, char *name, CfgNode *node)
{
	CfgAnchor  *slot;

	if ((p->nanchors + 1) * 2 > p->anchor_cap)
	{
		size_t		ncap = p->anchor_cap ? p->anchor_cap * 2 : 64;
		CfgAnchor  *tab = CfgAlloc(p->arena, sizeof(CfgAnchor) * ncap);

		if (tab == NULL)
			return false;
		for (size_t i = 0; i < p->anchor_cap; i++)
			if (p->anchors[i].name)
				*cfg_anchor_slot(tab, ncap, p->anchors[i].name) = p->anchors[i];
		p->anchors = tab;
		p->anchor_cap = ncap;
	}
	slot = cfg_anchor_slot(p->anchors, p->anchor_cap, name);
	if (slot->name == NULL)
		p->nanchors++;
	slot->name = name;			/* a redefined anchor names the new node */
	slot->node = node;
	return true;
}

static CfgNode *
cfg_anchor_get(CfgParser *p, const char *name)
{
	CfgAnchor  *slot;

	if (p->anchor_cap == 0)
		return NULL;
	slot = cfg_anchor_slot(p->anchors, p->anchor_cap, name);
	return slot->name ? slot->node : NULL;
}

/* attach a finished node to its parent (or make it the root) */
static bool
cfg_attach(CfgParser *p, CfgNode *node, const yaml_mark_t *mark)
{
	CfgFrame   *f;

	if (p->depth == 0)
	{
		p->doc->root = node;
		return true;
	}
	f = &p->stack[p->depth - 1];
	if (f->node->kind == CFG_SEQ)
	{
		if (!CfgSeqAppend(p->arena, f->node, node))
		{
			cfg_fail_memory(p, (int) mark->line + 1, (int) mark->column + 1);
			return false;
		}
		f->node->weight += node->weight;
		f->node->bytes += node->bytes;
		return true;
	}
	/* mapping: a key, or the value of the pending key */
	if (f->key == NULL)
	{
		if (node->kind == CFG_SEQ || node->kind == CFG_MAP)
		{
			cfg_fail(p, node->line, node->col, "mapping keys must be scalars, not a %s",
					 CfgKindName(node->kind));
			return false;
		}
		if (node->kind != CFG_STRING)
		{
			/* keys are text: 1: x has the key "1" */
			CfgNode    *k = CfgNewString(p->arena, node->str ? node->str : "", node->line, node->col);

			if (k == NULL)
			{
				cfg_fail_memory(p, node->line, node->col);
				return false;
			}
			k->quoted = node->quoted;
			node = k;
		}
		f->key = node;
		return true;
	}
	if (f->node->n >= p->lim->max_keys)
	{
		p->doc->limit_hit = true;
		cfg_fail(p, f->key->line, f->key->col, "a mapping has more than %d keys", p->lim->max_keys);
		return false;
	}
	if (!CfgMapAppend(p->arena, f->node, f->key, node))
	{
		cfg_fail_memory(p, (int) mark->line + 1, (int) mark->column + 1);
		return false;
	}
	f->node->weight += node->weight + 1;
	f->node->bytes += node->bytes + f->key->len;
	f->key = NULL;
	return true;
}

static bool
cfg_count(CfgParser *p, size_t n, int line, int col)
{
	p->nodes += n;
	if (p->nodes > p->lim->max_nodes)
	{
		p->doc->limit_hit = true;
		cfg_fail(p, line, col,
				 "configuration has more than %zu nodes (aliases count each time they are used)",
				 p->lim->max_nodes);
		return false;
	}
	return true;
}

/* count n more bytes of scalar text (an alias counts what it names) */
static bool
cfg_count_bytes(CfgParser *p, size_t n, int line, int col)
{
	p->bytes += n;
	if (p->bytes > p->lim->max_expanded)
	{
		p->doc->limit_hit = true;
		cfg_fail(p, line, col,
				 "configuration holds more than %zu bytes of text once its aliases are expanded",
				 p->lim->max_expanded);
		return false;
	}
	return true;
}

static CfgNode *
cfg_scalar(CfgParser *p, const yaml_event_t *ev)
{
	const char *s = (const char *) ev->data.scalar.value;
	size_t		len = ev->data.scalar.length;
	const char *tag = (const char *) ev->data.scalar.tag;
	int			line = (int) ev->start_mark.line + 1;
	int			col = (int) ev->start_mark.column + 1;
	bool		plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	CfgNode    *n;
	int			b;

	if (tag && strcmp(tag, "!") != 0 && strcmp(tag, YAML_STR_TAG) != 0 &&
		strcmp(tag, YAML_NULL_TAG) != 0 && strcmp(tag, YAML_BOOL_TAG) != 0 &&
		strcmp(tag, YAML_INT_TAG) != 0 && strcmp(tag, YAML_FLOAT_TAG) != 0)
	{
		cfg_fail(p, line, col, "unsupported tag \"%.100s\"", tag);
		return NULL;
	}
	if (strlen(s) != len)
	{
		cfg_fail(p, line, col, "scalar contains a NUL character");
		return NULL;
	}
	n = CfgNewNode(p->arena, CFG_STRING, line, col);
	if (n == NULL || (n->str = CfgStrdup(p->arena, s, len)) == NULL)
	{
		cfg_fail_memory(p, line, col);
		return NULL;
	}
	n->len = len;
	n->bytes = len;
	n->quoted = !plain;
	/* !!str, and the non-specific tag "!" (YAML 1.2 6.9.1: ! a is the string "a") */
	if (tag && (strcmp(tag, YAML_STR_TAG) == 0 || strcmp(tag, "!") == 0))
		return n;
	if (plain || tag)
	{
		if (cfg_is_null(s, len) && (!tag || strcmp(tag, YAML_NULL_TAG) == 0))
			n->kind = CFG_NULL;
		else if ((b = cfg_bool_value(s, len)) >= 0 && (!tag || strcmp(tag, YAML_BOOL_TAG) == 0))
		{
			n->kind = CFG_BOOL;
			n->bval = b == 1;
		}
		else if (cfg_is_number(s, len) &&
				 (!tag || strcmp(tag, YAML_INT_TAG) == 0 || strcmp(tag, YAML_FLOAT_TAG) == 0))
			n->kind = CFG_NUMBER;
		else if (tag)
		{
			cfg_fail(p, line, col, "\"%.100s\" is not a valid %s", s,
					 strcmp(tag, YAML_NULL_TAG) == 0 ? "null" :
					 strcmp(tag, YAML_BOOL_TAG) == 0 ? "boolean" : "number");
			return NULL;
		}
	}
	return n;
}

/* is key in the set? (add it when add) */
static bool
cfg_key_seen(const char **set, size_t cap, const char *key, bool add)
{
	size_t		i = cfg_hash(key) & (cap - 1);

	while (set[i])
	{
		if (strcmp(set[i], key) == 0)
			return true;
		i = (i + 1) & (cap - 1);
	}
	if (add)
		set[i] = key;
	return false;
}

/* resolve merge keys (<<) of a finished mapping: explicit keys win */
static bool
cfg_merge_keys(CfgParser *p, CfgNode *map)
{
	int			nexplicit = 0;
	bool		has_merge = false;
	CfgPair    *orig;
	int			norig = map->n;
	size_t		hcap;
	size_t		total;
	const char **present;

	for (int i = 0; i < map->n; i++)
		if (!map->pairs[i].key->quoted && strcmp(map->pairs[i].key->str, "<<") == 0)
			has_merge = true;
	if (!has_merge)
		return true;

	orig = map->pairs;
	map->pairs = NULL;
	map->n = 0;
	map->cap = 0;
	/* the keys present so far, hashed: merged mappings can be large */
	total = (size_t) norig;
	for (int i = 0; i < norig; i++)
	{
		CfgNode    *v = orig[i].value;

		if (orig[i].key->quoted || strcmp(orig[i].key->str, "<<") != 0)
			continue;
		if (v->kind == CFG_MAP)
			total += v->n;
		else if (v->kind == CFG_SEQ)
			for (int s = 0; s < v->n; s++)
				if (v->items[s]->kind == CFG_MAP)
					total += v->items[s]->n;
	}
	hcap = 16;
	while (hcap < total * 2)
		hcap *= 2;
	present = CfgAlloc(p->arena, sizeof(const char *) * hcap);
	if (present == NULL)
		goto nomem;
	for (int i = 0; i < norig; i++)
	{
		if (!orig[i].key->quoted && strcmp(orig[i].key->str, "<<") == 0)
			continue;
		if (!CfgMapAppend(p->arena, map, orig[i].key, orig[i].value))
			goto nomem;
		cfg_key_seen(present, hcap, orig[i].key->str, true);
		nexplicit++;
	}
	for (int i = 0; i < norig; i++)
	{
		CfgNode    *v = orig[i].value;
		int			nsrc;
		CfgNode   **srcs;

		if (orig[i].key->quoted || strcmp(orig[i].key->str, "<<") != 0)
			continue;
		if (v->kind == CFG_MAP)
		{
			nsrc = 1;
			srcs = &orig[i].value;
		}
		else if (v->kind == CFG_SEQ)
		{
			nsrc = v->n;
			srcs = v->items;
		}
		else
		{
			cfg_fail(p, v->line, v->col, "a merge key (<<) needs a mapping or a list of mappings, not a %s",
					 CfgKindName(v->kind));
			return false;
		}
		for (int s = 0; s < nsrc; s++)
		{
			CfgNode    *src = srcs[s];

			if (src->kind != CFG_MAP)
			{
				cfg_fail(p, src->line, src->col, "a merge key (<<) list may hold only mappings, not a %s",
						 CfgKindName(src->kind));
				return false;
			}
			for (int k = 0; k < src->n; k++)
			{
				if (cfg_key_seen(present, hcap, src->pairs[k].key->str, true))
					continue;
				if (map->n >= p->lim->max_keys)
				{
					p->doc->limit_hit = true;
					cfg_fail(p, v->line, v->col, "a mapping has more than %d keys", p->lim->max_keys);
					return false;
				}
				if (!cfg_count(p, src->pairs[k].value->weight + 1, src->line, src->col) ||
					!cfg_count_bytes(p, src->pairs[k].value->bytes + src->pairs[k].key->len,
									 src->line, src->col))
					return false;
				if (!CfgMapAppend(p->arena, map, src->pairs[k].key, src->pairs[k].value))
					goto nomem;
				map->weight += src->pairs[k].value->weight + 1;
				map->bytes += src->pairs[k].value->bytes + src->pairs[k].key->len;
			}
		}
	}
	return true;
nomem:
	cfg_fail_memory(p, map->line, map->col);
	return false;
}

static void
cfg_parser_error(CfgParser *p, yaml_parser_t *yp, const char *text, size_t len)
{
	int			line = (int) yp->problem_mark.line + 1;
	int			col = (int) yp->problem_mark.column + 1;
	size_t		off = yp->problem_mark.index;
	const char *problem = yp->problem ? yp->problem : "unknown problem";

	if (yp->error == YAML_MEMORY_ERROR)
	{
		cfg_fail(p, 0, 0, "out of memory while parsing the configuration");
		return;
	}
	if (yp->error == YAML_READER_ERROR)
	{
		/* reader errors carry a byte offset, not a line: find the line */
		size_t		o = yp->problem_offset < len ? yp->problem_offset : len;

		line = 1;
		col = 1;
		for (size_t i = 0; i < o; i++)
		{
			if (text[i] == '\n')
			{
				line++;
				col = 1;
			}
			else if (((unsigned char) text[i] & 0xC0) != 0x80)
				col++;
		}
		cfg_fail(p, line, col, "invalid input: %s", problem);
		return;
	}
	if (off < len && text[off] == '\t')
	{
		cfg_fail(p, line, col, "a tab character cannot indent YAML: use spaces");
		return;
	}
	if (yp->context)
		cfg_fail(p, line, col, "syntax error: %s %s (line %d, column %d)", problem, yp->context,
				 (int) yp->context_mark.line + 1, (int) yp->context_mark.column + 1);
	else
		cfg_fail(p, line, col, "syntax error: %s", problem);
}

/*
 * Parse YAML (or JSON, a subset) text into a tree with line and column on
 * every node, within limits (NULL: the defaults).  NULL only when memory
 * is short; otherwise a document, whose error holds the message and its
 * position when the text does not parse.  The caller frees it with
 * CfgDocFree.
 */
CfgDoc *
CfgParse(const char *text, size_t len, const CfgLimits *limits)
{
	CfgLimits	deflim;
	CfgDoc	   *doc;
	CfgParser	p;
	yaml_parser_t yp;
	yaml_event_t ev;
	bool		done = false;
	int			ndocs = 0;

	if (limits == NULL)
	{
		CfgDefaultLimits(&deflim);
		limits = &deflim;
	}
	doc = calloc(1, sizeof(CfgDoc));
	if (doc == NULL)
		return NULL;
	memset(&p, 0, sizeof(p));
	p.doc = doc;
	p.lim = limits;

	for (size_t i = 0; i < len; i++)
	{
		if (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n')
			continue;
		doc->is_json = text[i] == '{' || text[i] == '[';
		break;
	}
	if (len > limits->max_input)
	{
		doc->limit_hit = true;
		cfg_fail(&p, 0, 0, "configuration is too large: %zu bytes, the limit is %zu bytes",
				 len, limits->max_input);
		return doc;
	}
	doc->arena = p.arena = CfgArenaCreate(limits->max_memory);
	p.stack = calloc((size_t) limits->max_depth + 1, sizeof(CfgFrame));
	if (p.arena == NULL || p.stack == NULL)
	{
		free(p.stack);
		cfg_fail(&p, 0, 0, "out of memory while parsing the configuration");
		return doc;
	}
	if (!yaml_parser_initialize(&yp))
	{
		free(p.stack);
		cfg_fail(&p, 0, 0, "out of memory while parsing the configuration");
		return doc;
	}
	yaml_parser_set_input_string(&yp, (const unsigned char *) text, len);
	yaml_parser_set_encoding(&yp, YAML_UTF8_ENCODING);

	while (!done && !doc->failed)
	{
		int			line;
		int			col;
		CfgNode    *node = NULL;

		if (!yaml_parser_parse(&yp, &ev))
		{
			cfg_parser_error(&p, &yp, text, len);
			break;
		}
		line = (int) ev.start_mark.line + 1;
		col = (int) ev.start_mark.column + 1;
		switch (ev.type)
		{
			case YAML_STREAM_END_EVENT:
				done = true;
				break;
			case YAML_DOCUMENT_START_EVENT:
				if (++ndocs > 1)
					cfg_fail(&p, line, col,
							 "the input holds several YAML documents; a configuration is one document");
				break;
			case YAML_SCALAR_EVENT:
				if (!cfg_count(&p, 1, line, col) ||
					!cfg_count_bytes(&p, ev.data.scalar.length, line, col) ||
					(node = cfg_scalar(&p, &ev)) == NULL)
					break;
				if (ev.data.scalar.anchor &&
					!cfg_anchor_set(&p, CfgStrdup(p.arena, (char *) ev.data.scalar.anchor,
												  strlen((char *) ev.data.scalar.anchor)), node))
				{
					cfg_fail_memory(&p, line, col);
					break;
				}
				cfg_attach(&p, node, &ev.start_mark);
				break;
			case YAML_ALIAS_EVENT:
				node = cfg_anchor_get(&p, (const char *) ev.data.alias.anchor);
				if (node == NULL)
				{
					cfg_fail(&p, line, col, "unknown alias *%.100s (an anchor must be defined, and complete, before its use)",
							 (const char *) ev.data.alias.anchor);
					break;
				}
				if (!cfg_count(&p, node->weight, line, col) ||
					!cfg_count_bytes(&p, node->bytes, line, col))
					break;
				cfg_attach(&p, node, &ev.start_mark);
				break;
			case YAML_SEQUENCE_START_EVENT:
			case YAML_MAPPING_START_EVENT:
				{
					const unsigned char *anchor;
					const char *tag;
					bool		seq = ev.type == YAML_SEQUENCE_START_EVENT;

					if (p.depth >= limits->max_depth)
					{
						doc->limit_hit = true;
						cfg_fail(&p, line, col, "configuration is nested more than %d levels deep",
								 limits->max_depth);
						break;
					}
					tag = (const char *) (seq ? ev.data.sequence_start.tag : ev.data.mapping_start.tag);
					if (tag && strcmp(tag, "!") != 0 &&
						strcmp(tag, seq ? YAML_SEQ_TAG : YAML_MAP_TAG) != 0)
					{
						cfg_fail(&p, line, col, "unsupported tag \"%.100s\"", tag);
						break;
					}
					if (!cfg_count(&p, 1, line, col))
						break;
					node = CfgNewNode(p.arena, seq ? CFG_SEQ : CFG_MAP, line, col);
					if (node == NULL)
					{
						cfg_fail_memory(&p, line, col);
						break;
					}
					anchor = seq ? ev.data.sequence_start.anchor : ev.data.mapping_start.anchor;
					p.stack[p.depth].node = node;
					p.stack[p.depth].key = NULL;
					p.stack[p.depth].anchor = anchor ?
						CfgStrdup(p.arena, (const char *) anchor, strlen((const char *) anchor)) : NULL;
					p.depth++;
					break;
				}
			case YAML_SEQUENCE_END_EVENT:
			case YAML_MAPPING_END_EVENT:
				{
					CfgFrame   *f = &p.stack[--p.depth];

					node = f->node;
					if (node->kind == CFG_MAP && !cfg_merge_keys(&p, node))
						break;
					if (f->anchor && !cfg_anchor_set(&p, f->anchor, node))
					{
						cfg_fail_memory(&p, line, col);
						break;
					}
					cfg_attach(&p, node, &ev.start_mark);
					break;
				}
			default:
				break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&yp);
	free(p.stack);

	if (!doc->failed && p.arena->exhausted)
		cfg_fail_memory(&p, 0, 0);
	if (!doc->failed && doc->root == NULL)
		cfg_fail(&p, 1, 1, "the configuration is empty");
	if (doc->failed)
		doc->root = NULL;
	return doc;
}

/* Free a parsed document and its tree; NULL is allowed. */
void
CfgDocFree(CfgDoc *doc)
{
	if (doc == NULL)
		return;
	CfgArenaFree(doc->arena);
	free(doc);
}
