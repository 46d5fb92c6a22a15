/*-------------------------------------------------------------------------
 *
 * src/config/yamltree.h
 *		Pure-C configuration tree: YAML/JSON parsing with libyaml into a small
 *		tree that keeps line and column for every node, the libyaml emitter,
 *		and the pure syntax checks (cron, templates, pandas-style expressions).
 *
 * No PostgreSQL headers: this layer is unit-tested (test/unit/test_yaml*.c)
 * and fuzzed (test/fuzz/) outside the server.  All nodes live in an arena
 * with a byte limit; the parser caps input size, nesting depth, node count and
 * the bytes of text the tree holds (aliases count every time they are used, so
 * an alias bomb hits a cap whether it repeats many nodes or one long string).
 * The backend (src/config/jsonb_tree.c, validate.c) converts trees to jsonb.
 *
 *-------------------------------------------------------------------------
 */
#ifndef METAETL_YAMLTREE_H
#define METAETL_YAMLTREE_H

#include <stdbool.h>
#include <stddef.h>

typedef enum CfgKind
{
	CFG_NULL,
	CFG_BOOL,
	CFG_NUMBER,
	CFG_STRING,
	CFG_SEQ,
	CFG_MAP
} CfgKind;

typedef struct CfgNode CfgNode;

typedef struct CfgPair
{
	CfgNode    *key;			/* always a CFG_STRING node */
	CfgNode    *value;
} CfgPair;

struct CfgNode
{
	CfgKind		kind;
	int			line;			/* 1-based; 0 = synthesised (a default) */
	int			col;			/* 1-based */
	bool		quoted;			/* scalar written quoted (or a key that was) */
	bool		bval;			/* CFG_BOOL */
	char	   *str;			/* scalars: NUL-terminated text */
	size_t		len;
	int			n;				/* items (SEQ) or pairs (MAP) */
	int			cap;
	CfgNode   **items;			/* SEQ */
	CfgPair    *pairs;			/* MAP, in input order; duplicates kept */
	size_t		weight;			/* nodes in this subtree */
	size_t		bytes;			/* scalar bytes in this subtree, keys included */
};

typedef struct CfgArenaBlock CfgArenaBlock;

typedef struct CfgArena
{
	CfgArenaBlock *head;
	size_t		used;			/* bytes handed out */
	size_t		limit;			/* 0 = no limit */
	bool		exhausted;		/* an allocation failed */
} CfgArena;

typedef struct CfgLimits
{
	size_t		max_input;		/* bytes of input */
	int			max_depth;		/* nesting of collections */
	size_t		max_nodes;		/* nodes, aliases counted per use */
	size_t		max_memory;		/* arena bytes */
	int			max_keys;		/* keys of one mapping (merged ones too) */
	size_t		max_expanded;	/* scalar bytes of the tree, aliases counted
								 * each time they are used */
} CfgLimits;

#define CFG_DEFAULT_MAX_INPUT	(1024 * 1024)
#define CFG_DEFAULT_MAX_DEPTH	64
#define CFG_DEFAULT_MAX_NODES	100000
#define CFG_DEFAULT_MAX_MEMORY	(64 * 1024 * 1024)
#define CFG_DEFAULT_MAX_KEYS	10000
#define CFG_DEFAULT_MAX_EXPANDED	(4 * 1024 * 1024)

typedef struct CfgDoc
{
	CfgArena   *arena;
	CfgNode    *root;			/* NULL when error is set */
	bool		is_json;		/* input starts with { or [ */
	bool		failed;
	bool		limit_hit;		/* failed on a size, depth or node limit */
	char		error[512];		/* lower-case message */
	int			err_line;		/* 1-based, 0 = unknown */
	int			err_col;
} CfgDoc;

/* in config/yaml.c */
extern void CfgDefaultLimits(CfgLimits *lim);
extern CfgArena *CfgArenaCreate(size_t limit);
extern void CfgArenaFree(CfgArena *arena);
extern void *CfgAlloc(CfgArena *arena, size_t size);
extern char *CfgStrdup(CfgArena *arena, const char *s, size_t len);
extern CfgNode *CfgNewNode(CfgArena *arena, CfgKind kind, int line, int col);
extern CfgNode *CfgNewString(CfgArena *arena, const char *s, int line, int col);
extern CfgNode *CfgNewNumber(CfgArena *arena, const char *s);
extern CfgNode *CfgNewBool(CfgArena *arena, bool b);
extern bool CfgSeqAppend(CfgArena *arena, CfgNode *seq, CfgNode *item);
extern bool CfgMapAppend(CfgArena *arena, CfgNode *map, CfgNode *key, CfgNode *value);
extern bool CfgMapPut(CfgArena *arena, CfgNode *map, const char *key, CfgNode *value);
extern CfgNode *CfgMapGet(const CfgNode *map, const char *key);
extern CfgPair *CfgMapGetPair(const CfgNode *map, const char *key);
extern CfgDoc *CfgParse(const char *text, size_t len, const CfgLimits *lim);
extern void CfgDocFree(CfgDoc *doc);
extern const char *CfgKindName(CfgKind kind);
extern bool CfgScalarLooksNonString(const char *s, size_t len);

/* in config/emit.c */
extern char *CfgEmit(const CfgNode *root, size_t *len, char *errbuf, size_t errlen);

/* in config/cfgcheck.c */
extern char *CfgNormalizeExpr(const char *expr);

typedef enum CfgTemplateCtx
{
	CFG_TPL_OUTSIDE,			/* bare, rendered as a quoted literal */
	CFG_TPL_IN_STRING,			/* inside '...': escaped for that literal */
	CFG_TPL_UNSAFE				/* identifier, E'', dollar quote, comment */
} CfgTemplateCtx;

typedef struct CfgTemplateRef
{
	size_t		start;			/* byte offset of "{{" */
	size_t		end;			/* byte offset after "}}" */
	CfgTemplateCtx ctx;
	char		name[128];		/* e.g. last_run, param.region */
	const char *where;			/* for CFG_TPL_UNSAFE: what it stands in */
} CfgTemplateRef;

/* returns the number of templates (<= max) or -1 with errbuf set */
extern int	CfgTemplateScan(const char *sql, CfgTemplateRef *refs, int max,
							char *errbuf, size_t errlen);

#endif							/* METAETL_YAMLTREE_H */
