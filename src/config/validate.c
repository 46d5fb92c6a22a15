/*-------------------------------------------------------------------------
 *
 * src/config/validate.c
 *		Validate a pipeline configuration and build its normalised form.
 *
 * One walk over the parsed tree (src/config/yaml.c) collects EVERY problem
 * with its path (pipeline.transforms[0].params.condition, 0-based indexes),
 * line and column, and at the same time builds the normalised config of
 * CONTRACT.md section 1: defaults filled in, aliases resolved, pandas-style
 * expressions rewritten, environment overrides (metaetl.environment) merged.
 * After the walk the data flow is checked as a graph: dangling inputs,
 * cycles, and steps that reach no target.
 *
 * Lookups in the database (connections, time zone names) use SPI; SQL
 * fragments are checked by src/config/expr.c.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"

#include "config/config.h"
#include "metaetl.h"
#include "util/ident.h"

typedef struct VDep
{
	char	   *name;
	char	   *path;
	const CfgNode *at;
	bool		maybe_relation; /* join right: a relation when no node has the name */
} VDep;

typedef struct VNode
{
	char	   *id;
	bool		is_source;
	char	   *path;
	const CfgNode *at;
	List	   *deps;			/* VDep * */
	int			state;			/* DFS: 0 new, 1 on stack, 2 done */
	bool		reaches;
} VNode;

typedef struct VCtx
{
	CfgValidation *v;
	CfgArena   *arena;
	List	   *nodes;			/* VNode *: sources and transforms */
	List	   *target_deps;	/* VDep *: inputs of targets */
	List	   *rule_refs;		/* VDep *: rule "on" */
	List	   *ids;			/* char *path of every id, parallel to id_names */
	List	   *id_names;
	const CfgNode *params;		/* declared pipeline params (input tree) */
	List	   *tpl_deps;		/* VDep *: {{input.ID}} seen by the last check */
	char	   *first_source;
	char	   *prev_node;
} VCtx;

#define lengthof_arr(a) ((int) (sizeof(a) / sizeof((a)[0])))

static const char *const source_types[] = {"postgresql", "csv", "json", "parquet", "http", "s3", "gcs", "azure_blob"};
static const char *const target_types[] = {"postgresql", "csv", "json", "parquet"};
static const char *const step_types[] = {"filter", "map", "select", "drop", "aggregate", "join",
	"pivot", "unpivot", "dedupe", "sort", "limit", "union", "window", "fill_null", "sql", "udf"};
static const char *const rule_types[] = {"completeness", "validity", "uniqueness", "consistency",
"referential", "freshness", "row_count", "schema", "custom"};
static const char *const check_kinds[] = {"range", "pattern", "format", "allowed_values", "length", "type"};
static const char *const engines[] = {"auto", "pushdown", "staged", "parallel"};
static const char *const target_modes[] = {"replace", "append", "upsert", "delete_insert", "scd2"};
static const char *const gates[] = {"error", "warn", "none"};
static const char *const severities[] = {"error", "warn"};
static const char *const catchups[] = {"latest", "all", "none"};
static const char *const concurrencies[] = {"skip", "queue", "allow"};
static const char *const alert_events[] = {"failure", "success", "sla_violation", "quality_failure", "anomaly", "retry"};

/* ---------------------------------------------------------------- helpers */

static void
vproblem(VCtx *c, bool is_error, const char *path, const CfgNode *at, const char *fmt,...)
pg_attribute_printf(5, 6);

static void
vproblem(VCtx *c, bool is_error, const char *path, const CfgNode *at, const char *fmt,...)
{
	CfgProblem *p = palloc0(sizeof(CfgProblem));
	StringInfoData buf;

	initStringInfo(&buf);
	for (;;)
	{
		va_list		args;
		int			needed;

		va_start(args, fmt);
		needed = appendStringInfoVA(&buf, fmt, args);
		va_end(args);
		if (needed == 0)
			break;
		enlargeStringInfo(&buf, needed);
	}
	p->is_error = is_error;
	p->path = pstrdup(path ? path : "");
	p->line = at ? at->line : 0;
	p->col = at ? at->col : 0;
	p->message = buf.data;
	c->v->problems = lappend(c->v->problems, p);
	if (is_error)
		c->v->nerrors++;
	else
		c->v->nwarnings++;
}

#define verror(c, path, at, ...) vproblem(c, true, path, at, __VA_ARGS__)
#define vwarn(c, path, at, ...) vproblem(c, false, path, at, __VA_ARGS__)

static CfgNode *
vneed(CfgNode *n)
{
	if (n == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("configuration is too large to normalise")));
	return n;
}

static CfgNode *
vmap(VCtx *c)
{
	return vneed(CfgNewNode(c->arena, CFG_MAP, 0, 0));
}

static CfgNode *
vseq(VCtx *c)
{
	return vneed(CfgNewNode(c->arena, CFG_SEQ, 0, 0));
}

static CfgNode *
vstr(VCtx *c, const char *s)
{
	return vneed(CfgNewString(c->arena, s, 0, 0));
}

static CfgNode *
vnum(VCtx *c, const char *s)
{
	return vneed(CfgNewNumber(c->arena, s));
}

static CfgNode *
vbool(VCtx *c, bool b)
{
	return vneed(CfgNewBool(c->arena, b));
}

static CfgNode *
vnull(VCtx *c)
{
	return vneed(CfgNewNode(c->arena, CFG_NULL, 0, 0));
}

static void
vput(VCtx *c, CfgNode *map, const char *key, CfgNode *value)
{
	if (!CfgMapPut(c->arena, map, key, value))
		vneed(NULL);
}

static void
vappend(VCtx *c, CfgNode *seq, CfgNode *item)
{
	if (!CfgSeqAppend(c->arena, seq, item))
		vneed(NULL);
}

static char *
vpath(const char *base, const char *key)
{
	return base[0] ? psprintf("%s.%s", base, key) : pstrdup(key);
}

static char *
vidx(const char *base, int i)
{
	return psprintf("%s[%d]", base, i);
}

static char *
vlist(const char *const *vals, int n)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < n; i++)
		appendStringInfo(&buf, "%s%s", i ? ", " : "", vals[i]);
	return buf.data;
}

/* "; did you mean "x"?" or "" */
static char *
vsuggest(const char *word, const char *const *vals, int n)
{
	const char *near = MetaetlNearest(word, vals, n, Max(2, (int) strlen(word) / 3));

	return near ? psprintf("; did you mean \"%s\"?", near) : pstrdup("");
}

static bool
vis_map(VCtx *c, const CfgNode *n, const char *path, const char *what)
{
	if (n->kind == CFG_MAP)
		return true;
	verror(c, path, n, "%s must be a mapping, not a %s", what, CfgKindName(n->kind));
	return false;
}

/*
 * vkeys
 *		Report duplicate and unknown keys of map.  Unknown keys are errors, or
 *		warnings when unknown_is_warning (params: other step kinds may grow).
 */
static void
vkeys(VCtx *c, const CfgNode *map, const char *path, const char *const *allowed, int nallowed,
	  bool unknown_is_warning)
{
	for (int i = 0; i < map->n; i++)
	{
		const CfgNode *k = map->pairs[i].key;
		bool		known = false;

		for (int j = 0; j < i; j++)
			if (strcmp(map->pairs[j].key->str, k->str) == 0)
			{
				verror(c, vpath(path, k->str), k, "duplicate key \"%s\" (first at line %d, column %d)",
					   k->str, map->pairs[j].key->line, map->pairs[j].key->col);
				break;
			}
		if (allowed == NULL)
			continue;			/* duplicates only */
		for (int j = 0; j < nallowed; j++)
			if (strcmp(allowed[j], k->str) == 0)
				known = true;
		if (!known)
			vproblem(c, !unknown_is_warning, vpath(path, k->str), k, "unknown key \"%s\"%s",
					 k->str, vsuggest(k->str, allowed, nallowed));
	}
}

/* the value of key, or NULL; a missing required key is reported */
static CfgNode *
vget(VCtx *c, const CfgNode *map, const char *path, const char *key, bool required)
{
	CfgNode    *n = CfgMapGet(map, key);

	if (n && n->kind == CFG_NULL)
	{
		/* key: null is the same as leaving the key out */
		if (required)
			verror(c, vpath(path, key), n, "required key \"%s\" must not be null", key);
		return NULL;
	}
	if (n == NULL && required)
		verror(c, vpath(path, key), map, "required key \"%s\" is missing", key);
	return n;
}

static bool
vtemplate_free(VCtx *c, const CfgNode *n, const char *path)
{
	if (strstr(n->str, "{{") == NULL)
		return true;
	verror(c, path, n, "templates ({{...}}) are not allowed here: they are rendered only in queries and expressions");
	return false;
}

/* a non-empty string without templates, or NULL (reported) */
static const char *
vstring(VCtx *c, const CfgNode *n, const char *path)
{
	if (n->kind != CFG_STRING)
	{
		verror(c, path, n, "must be a string, not a %s", CfgKindName(n->kind));
		return NULL;
	}
	if (n->len == 0)
	{
		verror(c, path, n, "must not be empty");
		return NULL;
	}
	if (!vtemplate_free(c, n, path))
		return NULL;
	return n->str;
}

static const char *
vid(VCtx *c, const CfgNode *n, const char *path)
{
	if (n->kind != CFG_STRING)
	{
		verror(c, path, n, "must be an id (a string), not a %s", CfgKindName(n->kind));
		return NULL;
	}
	if (!MetaetlIdentValid(n->str))
	{
		verror(c, path, n, "\"%s\" is not a valid id: use lower-case letters, digits and _, starting with a letter, at most %d bytes",
			   n->str, METAETL_IDENT_MAXLEN);
		return NULL;
	}
	return n->str;
}

/* a number in [min, max] (integer when asked); NULL when bad (reported) */
static CfgNode *
vnumber(VCtx *c, const CfgNode *n, const char *path, double min, double max, bool integer)
{
	double		d;

	if (n->kind != CFG_NUMBER)
	{
		verror(c, path, n, "must be a number, not a %s", CfgKindName(n->kind));
		return NULL;
	}
	d = strtod(n->str, NULL);
	if (integer && (strchr(n->str, '.') || strchr(n->str, 'e') || strchr(n->str, 'E')) && d != floor(d))
	{
		verror(c, path, n, "must be a whole number, not %s", n->str);
		return NULL;
	}
	if (d < min || d > max)
	{
		if (isinf(max))
			verror(c, path, n, "must be at least %g, not %s", min, n->str);
		else
			verror(c, path, n, "must be between %g and %g, not %s", min, max, n->str);
		return NULL;
	}
	return (CfgNode *) n;
}

static CfgNode *
vboolean(VCtx *c, const CfgNode *n, const char *path)
{
	if (n->kind != CFG_BOOL)
	{
		verror(c, path, n, "must be true or false, not a %s", CfgKindName(n->kind));
		return NULL;
	}
	return (CfgNode *) n;
}

static const char *
venum(VCtx *c, const CfgNode *n, const char *path, const char *what,
	  const char *const *vals, int nvals)
{
	if (n->kind != CFG_STRING)
	{
		verror(c, path, n, "%s must be a string, not a %s", what, CfgKindName(n->kind));
		return NULL;
	}
	for (int i = 0; i < nvals; i++)
		if (strcmp(n->str, vals[i]) == 0)
			return vals[i];
	verror(c, path, n, "unknown %s \"%s\" (valid: %s)%s", what, n->str, vlist(vals, nvals),
		   vsuggest(n->str, vals, nvals));
	return NULL;
}

/* a list of non-empty strings; a single string is a list of one */
static CfgNode *
vstrlist(VCtx *c, const CfgNode *n, const char *path, bool nonempty)
{
	CfgNode    *out = vseq(c);

	if (n->kind == CFG_STRING)
	{
		if (vstring(c, n, path))
			vappend(c, out, (CfgNode *) n);
		return out;
	}
	if (n->kind != CFG_SEQ)
	{
		verror(c, path, n, "must be a list of strings, not a %s", CfgKindName(n->kind));
		return NULL;
	}
	if (nonempty && n->n == 0)
	{
		verror(c, path, n, "must not be an empty list");
		return NULL;
	}
	for (int i = 0; i < n->n; i++)
		if (vstring(c, n->items[i], vidx(path, i)))
			vappend(c, out, n->items[i]);
	return out;
}

/* a (schema-qualified) relation name: ident or ident.ident, identifiers plain or "quoted" */
static bool
vrelname(VCtx *c, const CfgNode *n, const char *path)
{
	const char *s;
	int			parts = 0;

	if ((s = vstring(c, n, path)) == NULL)
		return false;
	for (;;)
	{
		if (*s == '"')
		{
			s++;
			while (*s && !(*s == '"' && s[1] != '"'))
				s += (*s == '"') ? 2 : 1;
			if (*s != '"')
				goto bad;
			s++;
		}
		else
		{
			if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_' || (unsigned char) *s >= 0x80))
				goto bad;
			while ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
				   *s == '_' || *s == '$' || (unsigned char) *s >= 0x80)
				s++;
		}
		parts++;
		if (*s == '\0')
			return parts <= 2;
		if (*s != '.' || parts == 2)
			goto bad;
		s++;
	}
bad:
	verror(c, path, n, "\"%s\" is not a valid table name: write table or schema.table", n->str);
	return false;
}

/* ------------------------------------------------------------ SQL checks */

#define MAX_TEMPLATES 64

/*
 * vtemplates
 *		Check the templates of sql (a query or expression at path) and return
 *		the text with each replaced by a stand-in value, ready for the parser;
 *		NULL when a template is unusable (reported).  {{input}} and
 *		{{input.ID}} are allowed only when allow_input (sql steps).
 */
static char *
vtemplates(VCtx *c, const char *sql, const char *path, const CfgNode *at, bool allow_input)
{
	CfgTemplateRef refs[MAX_TEMPLATES];
	char		err[256];
	int			n = CfgTemplateScan(sql, refs, MAX_TEMPLATES, err, sizeof(err));
	StringInfoData out;
	size_t		pos = 0;
	bool		ok = true;

	if (n < 0)
	{
		verror(c, path, at, "%s", err);
		return NULL;
	}
	initStringInfo(&out);
	for (int i = 0; i < n; i++)
	{
		CfgTemplateRef *r = &refs[i];
		const char *name = r->name;
		bool		is_input = strcmp(name, "input") == 0 || strncmp(name, "input.", 6) == 0;

		appendBinaryStringInfo(&out, sql + pos, (int) (r->start - pos));
		pos = r->end;
		if (r->ctx == CFG_TPL_UNSAFE)
		{
			verror(c, path, at, "template {{%s}} stands in %s, where it cannot be safely rendered", name, r->where);
			ok = false;
			continue;
		}
		if (is_input)
		{
			if (!allow_input)
			{
				verror(c, path, at, "template {{%s}} is allowed only in the query of a sql step", name);
				ok = false;
			}
			else if (r->ctx != CFG_TPL_OUTSIDE)
			{
				verror(c, path, at, "template {{%s}} names a relation and cannot stand inside quotes", name);
				ok = false;
			}
			else if (name[5] == '.')
			{
				VDep	   *d = palloc0(sizeof(VDep));

				d->name = pstrdup(name + 6);
				d->path = pstrdup(path);
				d->at = at;
				c->tpl_deps = lappend(c->tpl_deps, d);
			}
			appendStringInfoString(&out, "pg_temp.metaetl_input");
			continue;
		}
		if (strcmp(name, "last_run") != 0 && strcmp(name, "run_id") != 0 &&
			strcmp(name, "watermark") != 0 && strcmp(name, "logical_date") != 0)
		{
			if (strncmp(name, "param.", 6) == 0)
			{
				if (CfgMapGet(c->params, name + 6) == NULL)
				{
					verror(c, path, at, "template {{%s}} names parameter \"%s\", which pipeline.params does not declare",
						   name, name + 6);
					ok = false;
				}
			}
			else if (strncmp(name, "env.", 4) != 0 || name[4] == '\0')
			{
				static const char *const known[] = {"last_run", "run_id", "watermark", "logical_date", "param.", "env."};

				verror(c, path, at, "unknown template {{%s}} (known: {{last_run}}, {{run_id}}, {{watermark}}, {{logical_date}}, {{param.NAME}}, {{env.NAME}})%s",
					   name, vsuggest(name, known, lengthof_arr(known)));
				ok = false;
			}
		}
		appendStringInfoString(&out, r->ctx == CFG_TPL_OUTSIDE ? "'0'" : "0");
	}
	appendStringInfoString(&out, sql + pos);
	return ok ? out.data : NULL;
}

/* an expression: checked and returned normalised (a new node at n's position) */
static CfgNode *
vexpr(VCtx *c, const CfgNode *n, const char *path)
{
	char	   *norm;
	char	   *plain;
	char	   *problem;
	CfgNode    *out;

	if (n->kind == CFG_NUMBER || n->kind == CFG_BOOL)
		return (CfgNode *) n;	/* a constant is an expression too */
	if (n->kind != CFG_STRING)
	{
		verror(c, path, n, "an expression must be a string, not a %s", CfgKindName(n->kind));
		return NULL;
	}
	if (n->len == 0)
	{
		verror(c, path, n, "an expression must not be empty");
		return NULL;
	}
	plain = CfgNormalizeExpr(n->str);
	if (plain == NULL)
		vneed(NULL);
	norm = pstrdup(plain);
	free(plain);
	plain = vtemplates(c, norm, path, n, false);
	if (plain == NULL)
		return NULL;
	problem = MetaetlCheckSql(plain, CFG_SQL_EXPR);
	if (problem)
	{
		verror(c, path, n, "invalid expression \"%s\": %s", n->str, problem);
		return NULL;
	}
	out = vneed(CfgNewString(c->arena, norm, n->line, n->col));
	return out;
}

/* an ORDER BY item: expression [ASC|DESC] [NULLS FIRST|LAST] */
static CfgNode *
vorder(VCtx *c, const CfgNode *n, const char *path)
{
	char	   *s;
	char	   *problem;
	char	   *sql;

	if (vstring(c, n, path) == NULL)
		return NULL;
	s = CfgNormalizeExpr(n->str);
	if (s == NULL)
		vneed(NULL);
	sql = psprintf("1 FROM (SELECT 1) AS metaetl_order ORDER BY %s", s);
	free(s);
	problem = MetaetlCheckSql(psprintf("SELECT %s", sql), CFG_SQL_SELECT);
	if (problem == NULL && strchr(n->str, ',') != NULL)
		problem = pstrdup("one item per list entry, without commas");
	if (problem)
	{
		verror(c, path, n, "invalid sort item \"%s\": %s", n->str, problem);
		return NULL;
	}
	return (CfgNode *) n;
}

/* a query: one SELECT (templates allowed; {{input}} only when allow_input) */
static CfgNode *
vquery(VCtx *c, const CfgNode *n, const char *path, bool allow_input)
{
	char	   *plain;
	char	   *problem;

	if (n->kind != CFG_STRING || n->len == 0)
	{
		verror(c, path, n, "a query must be a non-empty string");
		return NULL;
	}
	plain = vtemplates(c, n->str, path, n, allow_input);
	if (plain == NULL)
		return NULL;
	problem = MetaetlCheckSql(plain, CFG_SQL_SELECT);
	if (problem)
	{
		verror(c, path, n, "invalid query: %s", problem);
		return NULL;
	}
	return (CfgNode *) n;
}

static CfgNode *
vtype(VCtx *c, const CfgNode *n, const char *path)
{
	char	   *problem;

	if (vstring(c, n, path) == NULL)
		return NULL;
	problem = MetaetlCheckSql(n->str, CFG_SQL_TYPE);
	if (problem)
	{
		verror(c, path, n, "invalid type name \"%s\": %s", n->str, problem);
		return NULL;
	}
	return (CfgNode *) n;
}

/* ------------------------------------------------------ database lookups */

static bool
vexists(const char *query, const char *value)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];
	bool		result = false;
	bool		isnull;

	values[0] = CStringGetTextDatum(value);
	SPI_connect();
	if (SPI_execute_with_args(query, 1, argtypes, values, NULL, true, 1) == SPI_OK_SELECT &&
		SPI_processed == 1)
		result = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)) && !isnull;
	SPI_finish();
	return result;
}

static void
vconnection(VCtx *c, const CfgNode *n, const char *path, bool source)
{
	const char *name = vid(c, n, path);

	if (name == NULL)
		return;
	if (!vexists(source ?
				 "SELECT EXISTS (SELECT FROM etl.data_sources WHERE name OPERATOR(pg_catalog.=) $1)" :
				 "SELECT EXISTS (SELECT FROM etl.data_targets WHERE name OPERATOR(pg_catalog.=) $1)",
				 name))
		vwarn(c, path, n, "connection \"%s\" does not exist yet in etl.%s: create it with etl.add_connection()",
			  name, source ? "data_sources" : "data_targets");
}

static bool
vtimezone(VCtx *c, const CfgNode *n, const char *path)
{
	const char *tz = vstring(c, n, path);
	char	   *near = NULL;

	if (tz == NULL)
		return false;
	if (vexists("SELECT EXISTS (SELECT FROM pg_catalog.pg_timezone_names "
				"WHERE pg_catalog.lower(name) OPERATOR(pg_catalog.=) pg_catalog.lower($1))", tz))
		return true;
	if (strlen(tz) < 64)
	{
		/* suggest the nearest name */
		MemoryContext oldcxt = CurrentMemoryContext;

		SPI_connect();
		if (SPI_execute("SELECT name FROM pg_catalog.pg_timezone_names ORDER BY name", true, 0) == SPI_OK_SELECT)
		{
			int			best = 4;

			for (uint64 i = 0; i < SPI_processed; i++)
			{
				char	   *name = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
				int			d = MetaetlEditDistance(tz, name);

				if (d < best)
				{
					best = d;
					near = MemoryContextStrdup(oldcxt, name);
				}
			}
		}
		SPI_finish();
	}
	verror(c, path, n, "unknown time zone \"%s\" (see pg_timezone_names)%s", tz,
		   near ? psprintf("; did you mean \"%s\"?", near) : "");
	return false;
}

/* ---------------------------------------------------------- environments */

static CfgNode *vmerge(VCtx *c, CfgNode *base, CfgNode *over);

static CfgNode *
vmerge_seq(VCtx *c, CfgNode *base, CfgNode *over)
{
	/* lists of mappings with ids merge by id; other lists are replaced */
	CfgNode    *out;

	for (int i = 0; i < base->n; i++)
		if (base->items[i]->kind != CFG_MAP || !CfgMapGet(base->items[i], "id"))
			return over;
	for (int i = 0; i < over->n; i++)
		if (over->items[i]->kind != CFG_MAP || !CfgMapGet(over->items[i], "id"))
			return over;
	out = vneed(CfgNewNode(c->arena, CFG_SEQ, over->line, over->col));
	for (int i = 0; i < base->n; i++)
	{
		CfgNode    *b = base->items[i];
		CfgNode    *bid = CfgMapGet(b, "id");
		CfgNode    *m = b;

		for (int j = 0; j < over->n; j++)
		{
			CfgNode    *oid = CfgMapGet(over->items[j], "id");

			if (oid->kind == CFG_STRING && bid->kind == CFG_STRING && strcmp(oid->str, bid->str) == 0)
				m = vmerge(c, b, over->items[j]);
		}
		vappend(c, out, m);
	}
	for (int j = 0; j < over->n; j++)
	{
		CfgNode    *oid = CfgMapGet(over->items[j], "id");
		bool		found = false;

		for (int i = 0; i < base->n; i++)
		{
			CfgNode    *bid = CfgMapGet(base->items[i], "id");

			if (oid->kind == CFG_STRING && bid->kind == CFG_STRING && strcmp(oid->str, bid->str) == 0)
				found = true;
		}
		if (!found)
			vappend(c, out, over->items[j]);
	}
	return out;
}

static CfgNode *
vmerge(VCtx *c, CfgNode *base, CfgNode *over)
{
	CfgNode    *out;

	check_stack_depth();
	if (base->kind == CFG_SEQ && over->kind == CFG_SEQ)
		return vmerge_seq(c, base, over);
	if (base->kind != CFG_MAP || over->kind != CFG_MAP)
		return over;
	out = vneed(CfgNewNode(c->arena, CFG_MAP, base->line, base->col));
	for (int i = 0; i < base->n; i++)
	{
		CfgNode    *o = CfgMapGet(over, base->pairs[i].key->str);

		if (!CfgMapAppend(c->arena, out, base->pairs[i].key,
						  o ? vmerge(c, base->pairs[i].value, o) : base->pairs[i].value))
			vneed(NULL);
	}
	for (int i = 0; i < over->n; i++)
		if (!CfgMapGetPair(base, over->pairs[i].key->str))
			if (!CfgMapAppend(c->arena, out, over->pairs[i].key, over->pairs[i].value))
				vneed(NULL);
	return out;
}

/* ------------------------------------------------------------- sections */

static bool
vregister_id(VCtx *c, const char *id, const char *path, const CfgNode *at)
{
	ListCell   *lc1,
			   *lc2;

	forboth(lc1, c->id_names, lc2, c->ids)
	{
		if (strcmp((char *) lfirst(lc1), id) == 0)
		{
			verror(c, path, at, "id \"%s\" is already used by %s", id, (char *) lfirst(lc2));
			return false;
		}
	}
	c->id_names = lappend(c->id_names, pstrdup(id));
	c->ids = lappend(c->ids, pstrdup(path));
	return true;
}

static VDep *
vdep(const char *name, const char *path, const CfgNode *at)
{
	VDep	   *d = palloc0(sizeof(VDep));

	d->name = pstrdup(name);
	d->path = pstrdup(path);
	d->at = at;
	return d;
}

static CfgNode *
vsource(VCtx *c, const CfgNode *s, const char *path)
{
	static const char *const keys[] = {"id", "type", "connection", "query", "table", "path", "url",
	"format", "options", "watermark_column", "description"};
	CfgNode    *out = vmap(c);
	CfgNode    *n;
	const char *id = NULL;
	const char *type = NULL;
	VNode	   *node;

	if (!vis_map(c, s, path, "a source"))
		return NULL;
	vkeys(c, s, path, keys, lengthof_arr(keys), false);
	if ((n = vget(c, s, path, "id", true)) && (id = vid(c, n, vpath(path, "id"))))
	{
		if (!vregister_id(c, id, vpath(path, "id"), n))
			id = NULL;			/* reported; keep it out of the graph */
		vput(c, out, "id", (CfgNode *) n);
	}
	if ((n = vget(c, s, path, "type", true)) &&
		(type = venum(c, n, vpath(path, "type"), "source type", source_types, lengthof_arr(source_types))))
		vput(c, out, "type", vstr(c, type));
	if ((n = vget(c, s, path, "connection", false)))
	{
		vconnection(c, n, vpath(path, "connection"), true);
		vput(c, out, "connection", n);
	}
	if (type && strcmp(type, "postgresql") == 0)
	{
		CfgNode    *q = vget(c, s, path, "query", false);
		CfgNode    *t = vget(c, s, path, "table", false);

		if (q && t)
			verror(c, vpath(path, "table"), t, "a source has either query or table, not both");
		else if (!q && !t)
			verror(c, vpath(path, "query"), s, "a postgresql source needs query or table");
		if (q && vquery(c, q, vpath(path, "query"), false))
			vput(c, out, "query", q);
		if (t && vrelname(c, t, vpath(path, "table")))
			vput(c, out, "table", t);
	}
	else if (type && strcmp(type, "http") == 0)
	{
		if ((n = vget(c, s, path, "url", true)) && vstring(c, n, vpath(path, "url")))
			vput(c, out, "url", n);
	}
	else if (type)
	{
		if ((n = vget(c, s, path, "path", true)) && vstring(c, n, vpath(path, "path")))
			vput(c, out, "path", n);
	}
	if ((n = vget(c, s, path, "format", false)) && vstring(c, n, vpath(path, "format")))
		vput(c, out, "format", n);
	if ((n = vget(c, s, path, "options", false)) && vis_map(c, n, vpath(path, "options"), "options"))
		vput(c, out, "options", n);
	if ((n = vget(c, s, path, "watermark_column", false)) && vstring(c, n, vpath(path, "watermark_column")))
		vput(c, out, "watermark_column", n);
	if ((n = vget(c, s, path, "description", false)))
		vput(c, out, "description", n);

	if (id)
	{
		node = palloc0(sizeof(VNode));
		node->id = pstrdup(id);
		node->is_source = true;
		node->path = pstrdup(path);
		node->at = s;
		c->nodes = lappend(c->nodes, node);
		if (c->first_source == NULL)
			c->first_source = node->id;
		c->prev_node = node->id;
	}
	return out;
}

/* ------------------------------------------------------- transform params */

typedef enum PKind
{
	P_EXPR, P_STR, P_STRLIST, P_STRMAP, P_EXPRMAP, P_TYPEMAP, P_INT, P_BOOL, P_ENUM,
	P_NODE_OR_REL, P_NODELIST, P_QUERY, P_AGGMAP, P_SCALARMAP, P_ORDERLIST, P_ORDER,
	P_SCALARLIST, P_FUNC
} PKind;

typedef struct PSpec
{
	const char *name;
	PKind		kind;
	bool		required;
	const char *def;			/* default: text, "" for an empty list, NULL none */
	const char *const *vals;	/* P_ENUM */
	int			nvals;
} PSpec;

static const char *const join_hows[] = {"inner", "left", "right", "full", "semi", "anti", "cross"};
static const char *const keeps[] = {"first", "last"};

typedef struct StepSpec
{
	const char *type;
	PSpec		params[8];
	const char *one_of;			/* "a|b|c": at least one needed */
} StepSpec;

static const StepSpec step_specs[] = {
	{"filter", {{"condition", P_EXPR, true}}},
	{"map", {{"mapping", P_STRMAP}, {"columns", P_EXPRMAP}, {"casts", P_TYPEMAP}}, "mapping|columns|casts"},
	{"select", {{"columns", P_STRLIST, true}}},
	{"drop", {{"columns", P_STRLIST, true}}},
	{"aggregate", {{"groupby_cols", P_STRLIST, false, ""}, {"agg_functions", P_AGGMAP},
	{"having", P_EXPR}, {"count_rows", P_STR}}, "agg_functions|count_rows"},
	{"join", {{"right", P_NODE_OR_REL, true}, {"how", P_ENUM, false, "inner", join_hows, lengthof_arr(join_hows)},
			{"on", P_STRLIST}, {"left_on", P_STRLIST}, {"right_on", P_STRLIST}, {"condition", P_EXPR},
	{"suffixes", P_STRLIST, false, "_l,_r"}}, "on|left_on|condition"},
	{"pivot", {{"index", P_STRLIST, true}, {"columns", P_STR, true}, {"values", P_STR, true},
	{"agg", P_STR, false, "sum"}, {"pivot_values", P_SCALARLIST}}},
	{"unpivot", {{"id_cols", P_STRLIST, true}, {"value_cols", P_STRLIST, true},
	{"name_col", P_STR, false, "variable"}, {"value_col", P_STR, false, "value"}}},
	{"dedupe", {{"keys", P_STRLIST, true}, {"order", P_ORDER}, {"keep", P_ENUM, false, "first", keeps, 2}}},
	{"sort", {{"by", P_ORDERLIST, true}}},
	{"limit", {{"n", P_INT, true}}},
	{"union", {{"inputs", P_NODELIST, true}, {"distinct", P_BOOL, false, "false"}}},
	{"window", {{"partition_by", P_STRLIST}, {"order_by", P_ORDERLIST}, {"columns", P_EXPRMAP, true}}},
	{"fill_null", {{"values", P_SCALARMAP, true}}},
	{"sql", {{"query", P_QUERY, true}}},
	{"udf", {{"function", P_FUNC, true}, {"args", P_STRLIST, false, ""}, {"output", P_STR},
	{"set_returning", P_BOOL, false, "false"}}, "output|set_returning"},
};

static CfgNode *
vdefault(VCtx *c, const PSpec *p)
{
	if (p->kind == P_BOOL)
		return vbool(c, strcmp(p->def, "true") == 0);
	if (p->kind == P_STRLIST)
	{
		CfgNode    *l = vseq(c);
		char	   *copy = pstrdup(p->def);
		char	   *save = NULL;

		for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
			vappend(c, l, vstr(c, tok));
		return l;
	}
	return vstr(c, p->def);
}

static CfgNode *
vparam(VCtx *c, const PSpec *p, const CfgNode *n, const char *path, VNode *node)
{
	CfgNode    *out;

	switch (p->kind)
	{
		case P_EXPR:
			return vexpr(c, n, path);
		case P_ORDER:
			return vorder(c, n, path);
		case P_STR:
			return vstring(c, n, path) ? (CfgNode *) n : NULL;
		case P_FUNC:
			return vrelname(c, n, path) ? (CfgNode *) n : NULL;
		case P_STRLIST:
			return vstrlist(c, n, path, false);
		case P_SCALARLIST:
			if (n->kind != CFG_SEQ)
			{
				verror(c, path, n, "must be a list, not a %s", CfgKindName(n->kind));
				return NULL;
			}
			for (int i = 0; i < n->n; i++)
				if (n->items[i]->kind == CFG_SEQ || n->items[i]->kind == CFG_MAP)
				{
					verror(c, vidx(path, i), n->items[i], "must be a scalar, not a %s", CfgKindName(n->items[i]->kind));
					return NULL;
				}
			return (CfgNode *) n;
		case P_ORDERLIST:
			{
				CfgNode    *l = vstrlist(c, n, path, true);

				if (l == NULL)
					return NULL;
				for (int i = 0; i < l->n; i++)
					if (!vorder(c, l->items[i], n->kind == CFG_SEQ ? vidx(path, i) : path))
						return NULL;
				return l;
			}
		case P_INT:
			return vnumber(c, n, path, 0, INFINITY, true);
		case P_BOOL:
			return vboolean(c, n, path);
		case P_ENUM:
			{
				const char *v = venum(c, n, path, p->name, p->vals, p->nvals);

				return v ? vstr(c, v) : NULL;
			}
		case P_NODE_OR_REL:
			if (vstring(c, n, path) == NULL)
				return NULL;
			if (MetaetlIdentValid(n->str))
			{
				VDep	   *d = vdep(n->str, path, n);

				d->maybe_relation = true;	/* a node, or else a table */
				node->deps = lappend(node->deps, d);
			}
			else if (!vrelname(c, n, path))
				return NULL;
			return (CfgNode *) n;
		case P_NODELIST:
			out = vstrlist(c, n, path, true);
			if (out == NULL)
				return NULL;
			for (int i = 0; i < out->n; i++)
				if (vid(c, out->items[i], n->kind == CFG_SEQ ? vidx(path, i) : path))
					node->deps = lappend(node->deps, vdep(out->items[i]->str,
														  n->kind == CFG_SEQ ? vidx(path, i) : path,
														  out->items[i]));
			return out;
		case P_QUERY:
			{
				ListCell   *lc;

				c->tpl_deps = NIL;
				out = vquery(c, n, path, true);
				foreach(lc, c->tpl_deps)
					node->deps = lappend(node->deps, lfirst(lc));
				c->tpl_deps = NIL;
				return out;
			}
		case P_STRMAP:
		case P_EXPRMAP:
		case P_TYPEMAP:
		case P_AGGMAP:
		case P_SCALARMAP:
			if (!vis_map(c, n, path, p->name))
				return NULL;
			if (n->n == 0)
			{
				verror(c, path, n, "must not be an empty mapping");
				return NULL;
			}
			out = vmap(c);
			vkeys(c, n, path, NULL, 0, true);	/* duplicates only: no key is "unknown" */
			for (int i = 0; i < n->n; i++)
			{
				const CfgNode *k = n->pairs[i].key;
				CfgNode    *v = n->pairs[i].value;
				char	   *vp = vpath(path, k->str);
				CfgNode    *r = NULL;

				if (p->kind == P_STRMAP)
					r = vstring(c, v, vp) ? v : NULL;
				else if (p->kind == P_EXPRMAP)
					r = vexpr(c, v, vp);
				else if (p->kind == P_TYPEMAP)
					r = vtype(c, v, vp);
				else if (p->kind == P_SCALARMAP)
				{
					if (v->kind == CFG_SEQ || v->kind == CFG_MAP)
						verror(c, vp, v, "must be a scalar, not a %s", CfgKindName(v->kind));
					else
						r = v;
				}
				else
				{
					/* aggregate function name or list of names */
					CfgNode    *fl = vstrlist(c, v, vp, true);

					if (fl)
					{
						bool		ok = true;

						for (int j = 0; j < fl->n; j++)
							if (!MetaetlIdentValid(fl->items[j]->str))
							{
								verror(c, v->kind == CFG_SEQ ? vidx(vp, j) : vp, fl->items[j],
									   "\"%s\" is not an aggregate function name", fl->items[j]->str);
								ok = false;
							}
						if (ok)
							r = v;
					}
				}
				if (r)
					if (!CfgMapAppend(c->arena, out, (CfgNode *) k, r))
						vneed(NULL);
			}
			return out;
	}
	return NULL;
}

static void
vstep_params(VCtx *c, const StepSpec *spec, const CfgNode *params, const char *path,
			 CfgNode *out, VNode *node)
{
	const char *allowed[8];
	int			nallowed = 0;

	for (int i = 0; i < 8 && spec->params[i].name; i++)
		allowed[nallowed++] = spec->params[i].name;
	vkeys(c, params, path, allowed, nallowed, true);
	for (int i = 0; i < nallowed; i++)
	{
		const PSpec *p = &spec->params[i];
		CfgNode    *n = vget(c, params, path, p->name, p->required);
		CfgNode    *r;

		if (n)
		{
			if ((r = vparam(c, p, n, vpath(path, p->name), node)))
				vput(c, out, p->name, r);
		}
		else if (p->def)
			vput(c, out, p->name, vdefault(c, p));
	}
	if (spec->one_of)
	{
		char	   *copy = pstrdup(spec->one_of);
		char	   *save = NULL;
		bool		found = false;

		for (char *tok = strtok_r(copy, "|", &save); tok; tok = strtok_r(NULL, "|", &save))
			if (CfgMapGet(params, tok))
				found = true;
		if (strcmp(spec->type, "join") == 0)
		{
			CfgNode    *how = CfgMapGet(params, "how");

			if (how && how->kind == CFG_STRING && strcmp(how->str, "cross") == 0)
				found = true;
			if (CfgMapGet(params, "left_on") && !CfgMapGet(params, "right_on"))
				verror(c, vpath(path, "right_on"), params, "left_on needs right_on");
		}
		if (!found)
		{
			StringInfoData buf;

			initStringInfo(&buf);
			copy = pstrdup(spec->one_of);
			for (char *tok = strtok_r(copy, "|", &save); tok; tok = strtok_r(NULL, "|", &save))
				appendStringInfo(&buf, "%s%s", buf.len ? ", " : "", tok);
			verror(c, path, params, "a %s step needs one of: %s", spec->type, buf.data);
		}
	}
}

static CfgNode *
vtransform(VCtx *c, const CfgNode *t, const char *path)
{
	static const char *const keys[] = {"id", "type", "input", "params", "description"};
	CfgNode    *out = vmap(c);
	CfgNode    *n;
	const char *id = NULL;
	const char *type = NULL;
	const StepSpec *spec = NULL;
	VNode	   *node = palloc0(sizeof(VNode));
	CfgNode    *params;
	CfgNode    *pout = vmap(c);

	if (!vis_map(c, t, path, "a transform"))
		return NULL;
	vkeys(c, t, path, keys, lengthof_arr(keys), false);
	if ((n = vget(c, t, path, "id", true)) && (id = vid(c, n, vpath(path, "id"))))
	{
		if (!vregister_id(c, id, vpath(path, "id"), n))
			id = NULL;			/* reported; keep it out of the graph */
		vput(c, out, "id", n);
	}
	if ((n = vget(c, t, path, "type", true)) &&
		(type = venum(c, n, vpath(path, "type"), "transform type", step_types, lengthof_arr(step_types))))
	{
		vput(c, out, "type", vstr(c, type));
		for (int i = 0; i < lengthof_arr(step_specs); i++)
			if (strcmp(step_specs[i].type, type) == 0)
				spec = &step_specs[i];
	}
	if ((n = vget(c, t, path, "input", false)))
	{
		if (vid(c, n, vpath(path, "input")))
		{
			node->deps = lappend(node->deps, vdep(n->str, vpath(path, "input"), n));
			vput(c, out, "input", n);
		}
	}
	else if (c->prev_node)
	{
		node->deps = lappend(node->deps, vdep(c->prev_node, vpath(path, "input"), t));
		vput(c, out, "input", vstr(c, c->prev_node));
	}
	else
		verror(c, vpath(path, "input"), t, "a transform needs an input, and there is no source before it");

	params = vget(c, t, path, "params", false);
	if (params && !vis_map(c, params, vpath(path, "params"), "params"))
		params = NULL;
	if (spec)
	{
		CfgNode    *empty = vmap(c);

		empty->line = t->line;
		empty->col = t->col;
		vstep_params(c, spec, params ? params : empty, vpath(path, "params"), pout, node);
	}
	vput(c, out, "params", pout);
	if ((n = vget(c, t, path, "description", false)))
		vput(c, out, "description", n);

	if (id)
	{
		node->id = pstrdup(id);
		node->path = pstrdup(path);
		node->at = t;
		c->nodes = lappend(c->nodes, node);
		c->prev_node = node->id;
	}
	return out;
}

static CfgNode *
vtarget(VCtx *c, const CfgNode *t, const char *path, const char *default_input, int nsources)
{
	static const char *const keys[] = {"id", "type", "connection", "table", "path", "format", "input",
	"mode", "keys", "create", "tracked_columns", "options", "description"};
	CfgNode    *out = vmap(c);
	CfgNode    *n;
	const char *id;
	const char *type = NULL;
	const char *mode = "replace";
	CfgNode    *keysn = NULL;

	if (!vis_map(c, t, path, "a target"))
		return NULL;
	vkeys(c, t, path, keys, lengthof_arr(keys), false);
	if ((n = vget(c, t, path, "id", true)) && (id = vid(c, n, vpath(path, "id"))))
	{
		vregister_id(c, id, vpath(path, "id"), n);
		vput(c, out, "id", n);
	}
	if ((n = vget(c, t, path, "type", true)) &&
		(type = venum(c, n, vpath(path, "type"), "target type", target_types, lengthof_arr(target_types))))
		vput(c, out, "type", vstr(c, type));
	if ((n = vget(c, t, path, "connection", false)))
	{
		vconnection(c, n, vpath(path, "connection"), false);
		vput(c, out, "connection", n);
	}
	if (type && strcmp(type, "postgresql") == 0)
	{
		if ((n = vget(c, t, path, "table", true)) && vrelname(c, n, vpath(path, "table")))
			vput(c, out, "table", n);
	}
	else if (type)
	{
		if ((n = vget(c, t, path, "path", true)) && vstring(c, n, vpath(path, "path")))
			vput(c, out, "path", n);
	}
	if ((n = vget(c, t, path, "format", false)) && vstring(c, n, vpath(path, "format")))
		vput(c, out, "format", n);
	if ((n = vget(c, t, path, "input", false)))
	{
		if (vid(c, n, vpath(path, "input")))
		{
			c->target_deps = lappend(c->target_deps, vdep(n->str, vpath(path, "input"), n));
			vput(c, out, "input", n);
		}
	}
	else if (default_input && (nsources == 1 || strcmp(default_input, c->first_source ? c->first_source : "") != 0))
	{
		c->target_deps = lappend(c->target_deps, vdep(default_input, vpath(path, "input"), t));
		vput(c, out, "input", vstr(c, default_input));
	}
	else if (default_input)
		verror(c, vpath(path, "input"), t, "input is required: the pipeline has several sources and no transforms");
	if ((n = vget(c, t, path, "mode", false)))
		mode = venum(c, n, vpath(path, "mode"), "target mode", target_modes, lengthof_arr(target_modes));
	if (mode)
		vput(c, out, "mode", vstr(c, mode));
	if ((n = vget(c, t, path, "keys", false)))
		keysn = vstrlist(c, n, vpath(path, "keys"), false);
	vput(c, out, "keys", keysn ? keysn : vseq(c));
	if (mode && (strcmp(mode, "upsert") == 0 || strcmp(mode, "delete_insert") == 0 || strcmp(mode, "scd2") == 0) &&
		(keysn == NULL || keysn->n == 0) && !(n && !keysn))
		verror(c, vpath(path, "keys"), t, "mode %s needs keys", mode);
	if ((n = vget(c, t, path, "create", false)))
	{
		if (vboolean(c, n, vpath(path, "create")))
			vput(c, out, "create", n);
	}
	else
		vput(c, out, "create", vbool(c, true));
	if ((n = vget(c, t, path, "tracked_columns", false)))
	{
		CfgNode    *l = vstrlist(c, n, vpath(path, "tracked_columns"), true);

		if (l)
			vput(c, out, "tracked_columns", l);
		if (mode && strcmp(mode, "scd2") != 0)
			vwarn(c, vpath(path, "tracked_columns"), n, "tracked_columns is used only by mode scd2");
	}
	if ((n = vget(c, t, path, "options", false)) && vis_map(c, n, vpath(path, "options"), "options"))
		vput(c, out, "options", n);
	if ((n = vget(c, t, path, "description", false)))
		vput(c, out, "description", n);
	return out;
}

/* ---------------------------------------------------------------- quality */

/*
 * vrule_fix_type
 *		The original design's example writes a validity rule with two type:
 *		keys (type: validity, then type: pattern).  Accept that with a warning
 *		and read the second as check:.  Returns the map to validate.
 */
static const CfgNode *
vrule_fix_type(VCtx *c, const CfgNode *r, const char *path)
{
	int			ntype = 0;
	int			second = -1;
	CfgNode    *copy;

	for (int i = 0; i < r->n; i++)
		if (strcmp(r->pairs[i].key->str, "type") == 0 && ++ntype == 2)
			second = i;
	if (ntype != 2 || CfgMapGet(r, "check") != NULL)
		return r;
	if (CfgMapGet(r, "type")->kind != CFG_STRING || strcmp(CfgMapGet(r, "type")->str, "validity") != 0)
		return r;
	copy = vneed(CfgNewNode(c->arena, CFG_MAP, r->line, r->col));
	for (int i = 0; i < r->n; i++)
	{
		CfgNode    *k = r->pairs[i].key;

		if (i == second)
		{
			k = vneed(CfgNewString(c->arena, "check", k->line, k->col));
			vwarn(c, vpath(path, "type"), r->pairs[i].key,
				  "duplicate key \"type\": the second one (\"%s\") is read as check: %s; write type: validity and check: %s",
				  r->pairs[i].value->kind == CFG_STRING ? r->pairs[i].value->str : "?",
				  r->pairs[i].value->kind == CFG_STRING ? r->pairs[i].value->str : "?",
				  r->pairs[i].value->kind == CFG_STRING ? r->pairs[i].value->str : "?");
		}
		if (!CfgMapAppend(c->arena, copy, k, r->pairs[i].value))
			vneed(NULL);
	}
	return copy;
}

static CfgNode *
vrule(VCtx *c, const CfgNode *r, const char *path, int index, List **names)
{
	static const char *const common[] = {"name", "type", "severity", "threshold", "where", "on", "description"};
	static const char *const extra_validity[] = {"column", "check", "min", "max", "inclusive", "pattern", "format", "values", "data_type"};
	static const char *const extra_uniq[] = {"column", "columns"};
	static const char *const extra_cons[] = {"expression"};
	static const char *const extra_ref[] = {"column", "ref_table", "ref_column"};
	static const char *const extra_fresh[] = {"column", "max_age"};
	static const char *const extra_rows[] = {"min", "max", "max_change_pct"};
	static const char *const extra_schema[] = {"required_columns", "forbidden_columns", "types"};
	static const char *const extra_custom[] = {"query"};
	static const char *const extra_compl[] = {"column"};
	const char *allowed[24];
	int			nallowed = 0;
	const char *const *extra = NULL;
	int			nextra = 0;
	CfgNode    *out = vmap(c);
	CfgNode    *n;
	const char *type = NULL;
	const char *column = NULL;
	char	   *name;
	ListCell   *lc;

	if (!vis_map(c, r, path, "a quality rule"))
		return NULL;
	r = vrule_fix_type(c, r, path);
	if ((n = vget(c, r, path, "type", true)) &&
		(type = venum(c, n, vpath(path, "type"), "rule type", rule_types, lengthof_arr(rule_types))))
		vput(c, out, "type", vstr(c, type));
	if (type == NULL)
		return NULL;
#define EXTRA(a) do { extra = (a); nextra = lengthof_arr(a); } while (0)
	if (strcmp(type, "completeness") == 0)
		EXTRA(extra_compl);
	else if (strcmp(type, "validity") == 0)
		EXTRA(extra_validity);
	else if (strcmp(type, "uniqueness") == 0)
		EXTRA(extra_uniq);
	else if (strcmp(type, "consistency") == 0)
		EXTRA(extra_cons);
	else if (strcmp(type, "referential") == 0)
		EXTRA(extra_ref);
	else if (strcmp(type, "freshness") == 0)
		EXTRA(extra_fresh);
	else if (strcmp(type, "row_count") == 0)
		EXTRA(extra_rows);
	else if (strcmp(type, "schema") == 0)
		EXTRA(extra_schema);
	else
		EXTRA(extra_custom);
#undef EXTRA
	for (int i = 0; i < lengthof_arr(common); i++)
		allowed[nallowed++] = common[i];
	for (int i = 0; i < nextra; i++)
		allowed[nallowed++] = extra[i];
	vkeys(c, r, path, allowed, nallowed, false);

	/* column-based kinds */
	if (strcmp(type, "completeness") == 0 || strcmp(type, "validity") == 0 ||
		strcmp(type, "referential") == 0 || strcmp(type, "freshness") == 0)
	{
		if ((n = vget(c, r, path, "column", true)) && (column = vstring(c, n, vpath(path, "column"))))
			vput(c, out, "column", n);
	}
	if (strcmp(type, "validity") == 0)
	{
		const char *check = NULL;

		if ((n = vget(c, r, path, "check", true)) &&
			(check = venum(c, n, vpath(path, "check"), "validity check", check_kinds, lengthof_arr(check_kinds))))
			vput(c, out, "check", vstr(c, check));
		if (check && (strcmp(check, "range") == 0 || strcmp(check, "length") == 0))
		{
			CfgNode    *mn = vget(c, r, path, "min", false);
			CfgNode    *mx = vget(c, r, path, "max", false);
			bool		length = strcmp(check, "length") == 0;

			if (!mn && !mx)
				verror(c, vpath(path, "min"), r, "a %s check needs min, max or both", check);
			if (mn && (length ? vnumber(c, mn, vpath(path, "min"), 0, 1e9, true) != NULL :
					   (mn->kind == CFG_NUMBER || (mn->kind == CFG_STRING && vstring(c, mn, vpath(path, "min"))))))
				vput(c, out, "min", mn);
			else if (mn && !length && mn->kind != CFG_STRING)
				verror(c, vpath(path, "min"), mn, "must be a number or a string, not a %s", CfgKindName(mn->kind));
			if (mx && (length ? vnumber(c, mx, vpath(path, "max"), 0, 1e9, true) != NULL :
					   (mx->kind == CFG_NUMBER || (mx->kind == CFG_STRING && vstring(c, mx, vpath(path, "max"))))))
				vput(c, out, "max", mx);
			else if (mx && !length && mx->kind != CFG_STRING)
				verror(c, vpath(path, "max"), mx, "must be a number or a string, not a %s", CfgKindName(mx->kind));
			if (mn && mx && mn->kind == CFG_NUMBER && mx->kind == CFG_NUMBER &&
				strtod(mn->str, NULL) > strtod(mx->str, NULL))
				verror(c, vpath(path, "max"), mx, "max (%s) is less than min (%s)", mx->str, mn->str);
			if (!length)
			{
				if ((n = vget(c, r, path, "inclusive", false)))
				{
					if (vboolean(c, n, vpath(path, "inclusive")))
						vput(c, out, "inclusive", n);
				}
				else
					vput(c, out, "inclusive", vbool(c, true));
			}
		}
		else if (check && strcmp(check, "pattern") == 0)
		{
			if ((n = vget(c, r, path, "pattern", true)) && vstring(c, n, vpath(path, "pattern")))
			{
				char	   *problem = MetaetlCheckRegex(n->str);

				if (problem)
					verror(c, vpath(path, "pattern"), n, "invalid pattern: %s", problem);
				else
					vput(c, out, "pattern", n);
			}
		}
		else if (check && strcmp(check, "format") == 0)
		{
			if ((n = vget(c, r, path, "format", true)) && vstring(c, n, vpath(path, "format")))
				vput(c, out, "format", n);
		}
		else if (check && strcmp(check, "allowed_values") == 0)
		{
			if ((n = vget(c, r, path, "values", true)))
			{
				if (n->kind != CFG_SEQ || n->n == 0)
					verror(c, vpath(path, "values"), n, "must be a non-empty list");
				else
					vput(c, out, "values", n);
			}
		}
		else if (check && strcmp(check, "type") == 0)
		{
			if ((n = vget(c, r, path, "data_type", true)) && vtype(c, n, vpath(path, "data_type")))
				vput(c, out, "data_type", n);
		}
	}
	else if (strcmp(type, "uniqueness") == 0)
	{
		CfgNode    *col = vget(c, r, path, "column", false);
		CfgNode    *cols = vget(c, r, path, "columns", false);

		if (!col && !cols)
			verror(c, vpath(path, "column"), r, "a uniqueness rule needs column or columns");
		if (col && (column = vstring(c, col, vpath(path, "column"))))
			vput(c, out, "column", col);
		if (cols && (cols = vstrlist(c, cols, vpath(path, "columns"), true)))
		{
			vput(c, out, "columns", cols);
			if (cols->n == 1 && !col)
				column = cols->items[0]->str;
		}
	}
	else if (strcmp(type, "consistency") == 0)
	{
		if ((n = vget(c, r, path, "expression", true)) && (n = vexpr(c, n, vpath(path, "expression"))))
			vput(c, out, "expression", n);
	}
	else if (strcmp(type, "referential") == 0)
	{
		if ((n = vget(c, r, path, "ref_table", true)) && vrelname(c, n, vpath(path, "ref_table")))
			vput(c, out, "ref_table", n);
		if ((n = vget(c, r, path, "ref_column", true)) && vstring(c, n, vpath(path, "ref_column")))
			vput(c, out, "ref_column", n);
	}
	else if (strcmp(type, "freshness") == 0)
	{
		if ((n = vget(c, r, path, "max_age", true)) && vstring(c, n, vpath(path, "max_age")))
		{
			char	   *problem = MetaetlCheckInterval(n->str);

			if (problem)
				verror(c, vpath(path, "max_age"), n, "invalid interval: %s", problem);
			else
				vput(c, out, "max_age", n);
		}
	}
	else if (strcmp(type, "row_count") == 0)
	{
		CfgNode    *mn = vget(c, r, path, "min", false);
		CfgNode    *mx = vget(c, r, path, "max", false);
		CfgNode    *ch = vget(c, r, path, "max_change_pct", false);

		if (!mn && !mx && !ch)
			verror(c, vpath(path, "min"), r, "a row_count rule needs min, max or max_change_pct");
		if (mn && vnumber(c, mn, vpath(path, "min"), 0, INFINITY, true))
			vput(c, out, "min", mn);
		if (mx && vnumber(c, mx, vpath(path, "max"), 0, INFINITY, true))
			vput(c, out, "max", mx);
		if (ch && vnumber(c, ch, vpath(path, "max_change_pct"), 0, INFINITY, false))
			vput(c, out, "max_change_pct", ch);
	}
	else if (strcmp(type, "schema") == 0)
	{
		CfgNode    *rc = vget(c, r, path, "required_columns", false);
		CfgNode    *fc = vget(c, r, path, "forbidden_columns", false);
		CfgNode    *ty = vget(c, r, path, "types", false);

		if (!rc && !fc && !ty)
			verror(c, vpath(path, "required_columns"), r, "a schema rule needs required_columns, forbidden_columns or types");
		if (rc && (rc = vstrlist(c, rc, vpath(path, "required_columns"), true)))
			vput(c, out, "required_columns", rc);
		if (fc && (fc = vstrlist(c, fc, vpath(path, "forbidden_columns"), true)))
			vput(c, out, "forbidden_columns", fc);
		if (ty && vis_map(c, ty, vpath(path, "types"), "types"))
		{
			CfgNode    *tm = vmap(c);

			for (int i = 0; i < ty->n; i++)
				if (vtype(c, ty->pairs[i].value, vpath(vpath(path, "types"), ty->pairs[i].key->str)))
					if (!CfgMapAppend(c->arena, tm, ty->pairs[i].key, ty->pairs[i].value))
						vneed(NULL);
			vput(c, out, "types", tm);
		}
	}
	else if (strcmp(type, "custom") == 0)
	{
		if ((n = vget(c, r, path, "query", true)) && vquery(c, n, vpath(path, "query"), false))
			vput(c, out, "query", n);
	}

	/* common keys */
	if ((n = vget(c, r, path, "name", false)))
		name = vid(c, n, vpath(path, "name")) ? n->str : NULL;
	else
		name = column && strcmp(type, "uniqueness") != 0 ? psprintf("%s_%s", type, column) :
			column ? psprintf("%s_%s", type, column) : psprintf("%s_%d", type, index + 1);
	if (name)
	{
		foreach(lc, *names)
			if (strcmp((char *) lfirst(lc), name) == 0)
				verror(c, vpath(path, "name"), n ? n : r,
					   "rule name \"%s\" is used twice: give the rules distinct names", name);
		*names = lappend(*names, name);
		vput(c, out, "name", n ? n : vstr(c, name));
	}
	if ((n = vget(c, r, path, "severity", false)))
	{
		const char *sev = n->kind == CFG_STRING && strcmp(n->str, "warning") == 0 ? "warn" :
			venum(c, n, vpath(path, "severity"), "severity", severities, lengthof_arr(severities));

		if (sev)
			vput(c, out, "severity", vstr(c, sev));
	}
	else
		vput(c, out, "severity", vstr(c, "error"));
	if ((n = vget(c, r, path, "threshold", false)))
	{
		if (vnumber(c, n, vpath(path, "threshold"), 0, 100, false))
			vput(c, out, "threshold", n);
	}
	else
		vput(c, out, "threshold", vnum(c, "100"));
	if ((n = vget(c, r, path, "where", false)) && (n = vexpr(c, n, vpath(path, "where"))))
		vput(c, out, "where", n);
	if ((n = vget(c, r, path, "on", false)))
	{
		if (vid(c, n, vpath(path, "on")))
		{
			c->rule_refs = lappend(c->rule_refs, vdep(n->str, vpath(path, "on"), n));
			vput(c, out, "on", n);
		}
	}
	else if (c->first_source)
		vput(c, out, "on", vstr(c, c->first_source));
	if ((n = vget(c, r, path, "description", false)))
		vput(c, out, "description", n);
	return out;
}

static CfgNode *
vquality(VCtx *c, const CfgNode *q, const char *path)
{
	static const char *const keys[] = {"gate", "rules"};
	CfgNode    *out = vmap(c);
	CfgNode    *rules = vseq(c);
	CfgNode    *n;
	List	   *names = NIL;

	if (q == NULL || !vis_map(c, q, path, "quality"))
	{
		vput(c, out, "gate", vstr(c, "error"));
		vput(c, out, "rules", rules);
		return out;
	}
	vkeys(c, q, path, keys, lengthof_arr(keys), false);
	if ((n = vget(c, q, path, "gate", false)))
	{
		const char *g = venum(c, n, vpath(path, "gate"), "quality gate", gates, lengthof_arr(gates));

		if (g)
			vput(c, out, "gate", vstr(c, g));
	}
	else
		vput(c, out, "gate", vstr(c, "error"));
	if ((n = vget(c, q, path, "rules", false)))
	{
		if (n->kind != CFG_SEQ)
			verror(c, vpath(path, "rules"), n, "rules must be a list, not a %s", CfgKindName(n->kind));
		else
			for (int i = 0; i < n->n; i++)
			{
				CfgNode    *r = vrule(c, n->items[i], vidx(vpath(path, "rules"), i), i, &names);

				if (r)
					vappend(c, rules, r);
			}
	}
	vput(c, out, "rules", rules);
	return out;
}

/* ------------------------------------------------ sla, retry, schedule ... */

static CfgNode *
vsla(VCtx *c, const CfgNode *s, const char *path)
{
	static const char *const keys[] = {"max_duration_minutes", "min_success_rate", "min_quality_score",
	"max_data_age_minutes", "window_runs"};
	static const double mins[] = {0, 0, 0, 0, 1};
	static const double maxs[] = {INFINITY, 1, 100, INFINITY, 100000};
	CfgNode    *out = vmap(c);

	if (s == NULL || !vis_map(c, s, path, "sla"))
		return out;
	vkeys(c, s, path, keys, lengthof_arr(keys), false);
	for (int i = 0; i < lengthof_arr(keys); i++)
	{
		CfgNode    *n = vget(c, s, path, keys[i], false);

		if (n && vnumber(c, n, vpath(path, keys[i]), mins[i], maxs[i], i == 4))
		{
			if ((i == 0 || i == 3) && strtod(n->str, NULL) <= 0)
				verror(c, vpath(path, keys[i]), n, "must be greater than 0, not %s", n->str);
			else
				vput(c, out, keys[i], n);
		}
	}
	return out;
}

static CfgNode *
vretry(VCtx *c, const CfgNode *r, const char *path)
{
	static const char *const keys[] = {"max_attempts", "initial_delay_s", "backoff", "max_delay_s", "jitter"};
	static const char *const defs[] = {"3", "5", "2.0", "300", NULL};
	static const double mins[] = {1, 0, 1, 0};
	static const double maxs[] = {100, 86400, 100, 604800};
	CfgNode    *out = vmap(c);

	if (r && !vis_map(c, r, path, "retry"))
		r = NULL;
	if (r)
		vkeys(c, r, path, keys, lengthof_arr(keys), false);
	for (int i = 0; i < 4; i++)
	{
		CfgNode    *n = r ? vget(c, r, path, keys[i], false) : NULL;

		if (n)
		{
			if (vnumber(c, n, vpath(path, keys[i]), mins[i], maxs[i], i == 0))
				vput(c, out, keys[i], n);
		}
		else
			vput(c, out, keys[i], vnum(c, defs[i]));
	}
	{
		CfgNode    *n = r ? vget(c, r, path, "jitter", false) : NULL;

		if (n)
		{
			if (vboolean(c, n, vpath(path, "jitter")))
				vput(c, out, "jitter", n);
		}
		else
			vput(c, out, "jitter", vbool(c, true));
	}
	return out;
}

static CfgNode *
vschedule(VCtx *c, const CfgNode *s, const char *path)
{
	static const char *const keys[] = {"cron", "timezone", "depends_on", "catchup"};
	CfgNode    *out = vmap(c);
	CfgNode    *n;

	if (s == NULL)
		return vnull(c);
	if (!vis_map(c, s, path, "schedule"))
		return vnull(c);
	vkeys(c, s, path, keys, lengthof_arr(keys), false);
	if ((n = vget(c, s, path, "cron", false)) && vstring(c, n, vpath(path, "cron")))
	{
		char		err[256];

		if (!CfgCronCheck(n->str, err, sizeof(err)))
			verror(c, vpath(path, "cron"), n, "invalid cron expression \"%s\": %s", n->str, err);
		else
			vput(c, out, "cron", n);
	}
	if ((n = vget(c, s, path, "timezone", false)))
	{
		if (vtimezone(c, n, vpath(path, "timezone")))
			vput(c, out, "timezone", n);
	}
	else
		vput(c, out, "timezone", vstr(c, "UTC"));
	if ((n = vget(c, s, path, "depends_on", false)))
	{
		CfgNode    *l = vstrlist(c, n, vpath(path, "depends_on"), false);

		if (l)
		{
			for (int i = 0; i < l->n; i++)
				vid(c, l->items[i], n->kind == CFG_SEQ ? vidx(vpath(path, "depends_on"), i) : vpath(path, "depends_on"));
			vput(c, out, "depends_on", l);
		}
	}
	else
		vput(c, out, "depends_on", vseq(c));
	if (!CfgMapGet(s, "cron") && !CfgMapGet(s, "depends_on"))
		verror(c, vpath(path, "cron"), s, "a schedule needs cron, depends_on or both");
	if ((n = vget(c, s, path, "catchup", false)))
	{
		const char *v = venum(c, n, vpath(path, "catchup"), "catchup policy", catchups, lengthof_arr(catchups));

		if (v)
			vput(c, out, "catchup", vstr(c, v));
	}
	else
		vput(c, out, "catchup", vstr(c, "latest"));
	return out;
}

static CfgNode *
valerts(VCtx *c, const CfgNode *a, const char *path)
{
	static const char *const keys[] = {"on", "channels"};
	CfgNode    *out = vmap(c);
	CfgNode    *n;

	if (a && !vis_map(c, a, path, "alerts"))
		a = NULL;
	if (a)
		vkeys(c, a, path, keys, lengthof_arr(keys), false);
	if (a && (n = vget(c, a, path, "on", false)))
	{
		CfgNode    *l = vstrlist(c, n, vpath(path, "on"), false);

		if (l)
		{
			for (int i = 0; i < l->n; i++)
				venum(c, l->items[i], n->kind == CFG_SEQ ? vidx(vpath(path, "on"), i) : vpath(path, "on"),
					  "alert event", alert_events, lengthof_arr(alert_events));
			vput(c, out, "on", l);
		}
	}
	else
	{
		CfgNode    *l = vseq(c);

		vappend(c, l, vstr(c, "failure"));
		vput(c, out, "on", l);
	}
	if (a && (n = vget(c, a, path, "channels", false)))
	{
		CfgNode    *l = vstrlist(c, n, vpath(path, "channels"), false);

		if (l)
		{
			for (int i = 0; i < l->n; i++)
				vid(c, l->items[i], n->kind == CFG_SEQ ? vidx(vpath(path, "channels"), i) : vpath(path, "channels"));
			vput(c, out, "channels", l);
		}
	}
	else
		vput(c, out, "channels", vseq(c));
	return out;
}

/* ------------------------------------------------------------------ graph */

static VNode *
vfind(VCtx *c, const char *id)
{
	ListCell   *lc;

	foreach(lc, c->nodes)
	{
		VNode	   *n = lfirst(lc);

		if (strcmp(n->id, id) == 0)
			return n;
	}
	return NULL;
}

static void
vdangling(VCtx *c, VDep *d, const char *what)
{
	const char **names = palloc(sizeof(char *) * (list_length(c->nodes) + 1));
	int			n = 0;
	ListCell   *lc;

	foreach(lc, c->nodes)
		names[n++] = ((VNode *) lfirst(lc))->id;
	verror(c, d->path, d->at, "%s \"%s\" names no source or transform%s", what, d->name,
		   vsuggest(d->name, names, n));
}

/* DFS from n; reports a cycle once, at the edge that closes it */
static bool
vcycle(VCtx *c, VNode *n, List **stack)
{
	ListCell   *lc;

	check_stack_depth();
	n->state = 1;
	*stack = lappend(*stack, n);
	foreach(lc, n->deps)
	{
		VDep	   *d = lfirst(lc);
		VNode	   *m = vfind(c, d->name);

		if (m == NULL)
			continue;
		if (m->state == 1)
		{
			StringInfoData buf;
			bool		on = false;
			ListCell   *lc2;

			initStringInfo(&buf);
			foreach(lc2, *stack)
			{
				VNode	   *s = lfirst(lc2);

				if (s == m)
					on = true;
				if (on)
					appendStringInfo(&buf, "%s -> ", s->id);
			}
			appendStringInfoString(&buf, m->id);
			verror(c, d->path, d->at, "the data flow has a cycle: %s", buf.data);
			n->state = 2;
			*stack = list_delete_last(*stack);
			return true;
		}
		if (m->state == 0 && vcycle(c, m, stack))
		{
			n->state = 2;
			*stack = list_delete_last(*stack);
			return true;
		}
	}
	n->state = 2;
	*stack = list_delete_last(*stack);
	return false;
}

static void
vreach(VCtx *c, VNode *n)
{
	ListCell   *lc;

	check_stack_depth();
	if (n->reaches)
		return;
	n->reaches = true;
	foreach(lc, n->deps)
	{
		VNode	   *m = vfind(c, ((VDep *) lfirst(lc))->name);

		if (m)
			vreach(c, m);
	}
}

static void
vgraph(VCtx *c)
{
	ListCell   *lc,
			   *lc2;
	bool		cyclic = false;
	bool		dangling = false;

	foreach(lc, c->nodes)
		foreach(lc2, ((VNode *) lfirst(lc))->deps)
			if (!vfind(c, ((VDep *) lfirst(lc2))->name) && !((VDep *) lfirst(lc2))->maybe_relation)
			{
				vdangling(c, lfirst(lc2), "input");
				dangling = true;
			}
	foreach(lc, c->target_deps)
		if (!vfind(c, ((VDep *) lfirst(lc))->name))
		{
			vdangling(c, lfirst(lc), "input");
			dangling = true;
		}
	foreach(lc, c->rule_refs)
		if (!vfind(c, ((VDep *) lfirst(lc))->name))
			vdangling(c, lfirst(lc), "on");
	foreach(lc, c->nodes)
	{
		VNode	   *n = lfirst(lc);
		List	   *stack = NIL;

		if (n->state == 0 && vcycle(c, n, &stack))
			cyclic = true;
	}
	if (cyclic || dangling)
		return;				/* reachability would only repeat these */
	foreach(lc, c->target_deps)
	{
		VNode	   *m = vfind(c, ((VDep *) lfirst(lc))->name);

		if (m)
			vreach(c, m);
	}
	if (c->target_deps == NIL)
		return;
	foreach(lc, c->nodes)
	{
		VNode	   *n = lfirst(lc);

		if (!n->reaches)
			verror(c, vpath(n->path, "id"), n->at, "%s \"%s\" does not feed any target: remove it or use it as an input",
				   n->is_source ? "source" : "transform", n->id);
	}
}

/* -------------------------------------------------------------- pipeline */

static CfgNode *
vpipeline(VCtx *c, const CfgNode *p, const char *path)
{
	static const char *const keys[] = {"id", "name", "description", "engine", "params", "sources",
		"transforms", "targets", "quality", "sla", "retry", "schedule", "alerts", "concurrency",
	"timeout_minutes", "tags", "environments"};
	CfgNode    *out = vmap(c);
	CfgNode    *n;
	CfgNode    *id = NULL;
	CfgNode    *list;
	const char *last_transform = NULL;
	int			nsources = 0;

	vkeys(c, p, path, keys, lengthof_arr(keys), false);
	if ((n = vget(c, p, path, "id", true)) && vid(c, n, vpath(path, "id")))
	{
		id = n;
		vput(c, out, "id", n);
	}
	if ((n = vget(c, p, path, "name", false)))
	{
		if (n->kind == CFG_STRING && n->len > 0)
			vput(c, out, "name", n);
		else
			verror(c, vpath(path, "name"), n, "must be a non-empty string");
	}
	else if (id)
		vput(c, out, "name", id);
	if ((n = vget(c, p, path, "description", false)))
	{
		if (n->kind == CFG_STRING || n->kind == CFG_NULL)
			vput(c, out, "description", n);
		else
			verror(c, vpath(path, "description"), n, "must be a string, not a %s", CfgKindName(n->kind));
	}
	else
		vput(c, out, "description", vnull(c));
	if ((n = vget(c, p, path, "engine", false)))
	{
		static const char *const aliases[][2] = {{"pandas", "staged"}, {"polars", "pushdown"},
		{"dask", "parallel"}, {"duckdb", "pushdown"}};
		const char *e = NULL;

		for (int i = 0; i < 4; i++)
			if (n->kind == CFG_STRING && strcmp(n->str, aliases[i][0]) == 0)
			{
				e = aliases[i][1];
				c->v->notices = lappend(c->v->notices,
										psprintf("engine \"%s\" is read as \"%s\"", aliases[i][0], e));
			}
		if (e == NULL)
			e = venum(c, n, vpath(path, "engine"), "engine", engines, lengthof_arr(engines));
		if (e)
			vput(c, out, "engine", vstr(c, e));
	}
	else
		vput(c, out, "engine", vstr(c, "auto"));
	if ((n = vget(c, p, path, "params", false)) && vis_map(c, n, vpath(path, "params"), "params"))
	{
		vkeys(c, n, vpath(path, "params"), NULL, 0, true);
		for (int i = 0; i < n->n; i++)
		{
			vid(c, n->pairs[i].key, vpath(vpath(path, "params"), n->pairs[i].key->str));
			if (n->pairs[i].value->kind == CFG_MAP)
				verror(c, vpath(vpath(path, "params"), n->pairs[i].key->str), n->pairs[i].value,
					   "a parameter default must be a scalar or a list, not a mapping");
		}
		c->params = n;
		vput(c, out, "params", n);
	}
	else
		vput(c, out, "params", vmap(c));
	if ((n = vget(c, p, path, "tags", false)))
	{
		CfgNode    *l = vstrlist(c, n, vpath(path, "tags"), false);

		if (l)
			vput(c, out, "tags", l);
	}
	else
		vput(c, out, "tags", vseq(c));

	/* sources */
	list = vseq(c);
	if ((n = vget(c, p, path, "sources", true)))
	{
		if (n->kind != CFG_SEQ)
			verror(c, vpath(path, "sources"), n, "sources must be a list, not a %s", CfgKindName(n->kind));
		else if (n->n == 0)
			verror(c, vpath(path, "sources"), n, "a pipeline needs at least one source");
		else
			for (int i = 0; i < n->n; i++)
			{
				CfgNode    *s = vsource(c, n->items[i], vidx(vpath(path, "sources"), i));

				if (s)
					vappend(c, list, s);
				nsources++;
			}
	}
	vput(c, out, "sources", list);

	/* transforms */
	list = vseq(c);
	if ((n = vget(c, p, path, "transforms", false)))
	{
		if (n->kind != CFG_SEQ)
			verror(c, vpath(path, "transforms"), n, "transforms must be a list, not a %s", CfgKindName(n->kind));
		else
			for (int i = 0; i < n->n; i++)
			{
				CfgNode    *t = vtransform(c, n->items[i], vidx(vpath(path, "transforms"), i));

				if (t)
				{
					CfgNode    *tid = CfgMapGet(t, "id");

					vappend(c, list, t);
					if (tid)
						last_transform = tid->str;
				}
			}
	}
	vput(c, out, "transforms", list);

	/* targets */
	list = vseq(c);
	if ((n = vget(c, p, path, "targets", true)))
	{
		if (n->kind != CFG_SEQ)
			verror(c, vpath(path, "targets"), n, "targets must be a list, not a %s", CfgKindName(n->kind));
		else if (n->n == 0)
			verror(c, vpath(path, "targets"), n, "a pipeline needs at least one target");
		else
			for (int i = 0; i < n->n; i++)
			{
				CfgNode    *t = vtarget(c, n->items[i], vidx(vpath(path, "targets"), i),
										last_transform ? last_transform : c->first_source,
										last_transform ? 1 : nsources);

				if (t)
					vappend(c, list, t);
			}
	}
	vput(c, out, "targets", list);

	vput(c, out, "quality", vquality(c, vget(c, p, path, "quality", false), vpath(path, "quality")));
	vput(c, out, "sla", vsla(c, vget(c, p, path, "sla", false), vpath(path, "sla")));
	vput(c, out, "retry", vretry(c, vget(c, p, path, "retry", false), vpath(path, "retry")));
	vput(c, out, "schedule", vschedule(c, vget(c, p, path, "schedule", false), vpath(path, "schedule")));
	vput(c, out, "alerts", valerts(c, vget(c, p, path, "alerts", false), vpath(path, "alerts")));
	if ((n = vget(c, p, path, "concurrency", false)))
	{
		const char *v = venum(c, n, vpath(path, "concurrency"), "concurrency policy", concurrencies, lengthof_arr(concurrencies));

		if (v)
			vput(c, out, "concurrency", vstr(c, v));
	}
	else
		vput(c, out, "concurrency", vstr(c, "skip"));
	if ((n = vget(c, p, path, "timeout_minutes", false)) && n->kind != CFG_NULL)
	{
		if (vnumber(c, n, vpath(path, "timeout_minutes"), 0, 525600, false))
		{
			if (strtod(n->str, NULL) <= 0)
				verror(c, vpath(path, "timeout_minutes"), n, "must be greater than 0, not %s", n->str);
			else
				vput(c, out, "timeout_minutes", n);
		}
	}
	else
		vput(c, out, "timeout_minutes", vnull(c));

	vgraph(c);
	return out;
}

/*
 * venvironments
 *		Merge the overrides of the environment named by metaetl.environment
 *		(pipeline.environments or a top-level environments: block).
 */
static CfgNode *
venvironments(VCtx *c, CfgNode *root, CfgNode *pipeline)
{
	CfgNode    *top = CfgMapGet(root, "environments");
	CfgNode    *inner = CfgMapGet(pipeline, "environments");
	CfgNode    *envs = inner ? inner : top;
	const char *path = inner ? "pipeline.environments" : "environments";
	const char *env = metaetl_environment ? metaetl_environment : "";
	CfgNode    *over;

	if (top && inner)
		verror(c, "environments", top, "environments are given twice: at the top and under pipeline");
	if (envs == NULL)
		return pipeline;
	if (!vis_map(c, envs, path, "environments"))
		return pipeline;
	vkeys(c, envs, path, NULL, 0, true);
	for (int i = 0; i < envs->n; i++)
	{
		vid(c, envs->pairs[i].key, vpath(path, envs->pairs[i].key->str));
		if (envs->pairs[i].value->kind != CFG_MAP)
			verror(c, vpath(path, envs->pairs[i].key->str), envs->pairs[i].value,
				   "an environment must be a mapping of pipeline keys, not a %s",
				   CfgKindName(envs->pairs[i].value->kind));
		else if (CfgMapGet(envs->pairs[i].value, "environments") || CfgMapGet(envs->pairs[i].value, "id"))
			verror(c, vpath(path, envs->pairs[i].key->str), envs->pairs[i].value,
				   "an environment cannot override id or environments");
	}
	if (env[0] == '\0')
		return pipeline;
	over = CfgMapGet(envs, env);
	if (over == NULL)
	{
		vwarn(c, path, envs, "metaetl.environment is \"%s\", which this configuration does not define: no overrides applied", env);
		return pipeline;
	}
	if (over->kind != CFG_MAP)
		return pipeline;
	return vmerge(c, pipeline, over);
}

static int
vproblem_cmp(const ListCell *a, const ListCell *b)
{
	const CfgProblem *pa = lfirst(a);
	const CfgProblem *pb = lfirst(b);
	int			la = pa->line ? pa->line : INT_MAX;
	int			lb = pb->line ? pb->line : INT_MAX;

	if (la != lb)
		return la < lb ? -1 : 1;
	if (pa->col != pb->col)
		return pa->col < pb->col ? -1 : 1;
	return 0;
}

/*
 * MetaetlValidateConfig
 *		Parse and validate text; every problem is in the result, and the
 *		normalised config when there are no errors.
 */
CfgValidation *
MetaetlValidateConfig(const char *text, size_t len)
{
	CfgValidation *v = palloc0(sizeof(CfgValidation));
	VCtx		c;
	CfgNode    *root;
	CfgNode    *pipeline;
	CfgNode    *out;

	memset(&c, 0, sizeof(c));
	c.v = v;
	v->doc = MetaetlParseConfigText(text, len);
	if (v->doc->failed)
	{
		const char *e = v->doc->error;
		CfgNode		at;

		memset(&at, 0, sizeof(at));
		at.line = v->doc->err_line;
		at.col = v->doc->err_col;
		v->failure = v->doc->limit_hit ? CFG_LIMIT : CFG_SYNTAX;
		verror(&c, "", &at, "%s", e);
		return v;
	}
	c.arena = MetaetlArenaForContext(CFG_DEFAULT_MAX_MEMORY);
	root = v->doc->root;
	if (root->kind != CFG_MAP)
	{
		verror(&c, "", root, "a configuration is a mapping with the key pipeline, not a %s", CfgKindName(root->kind));
		v->failure = CFG_INVALID;
		return v;
	}
	{
		static const char *const keys[] = {"pipeline", "environments"};

		vkeys(&c, root, "", keys, lengthof_arr(keys), false);
	}
	pipeline = vget(&c, root, "", "pipeline", true);
	if (pipeline && vis_map(&c, pipeline, "pipeline", "pipeline"))
	{
		pipeline = venvironments(&c, root, pipeline);
		out = vmap(&c);
		vput(&c, out, "pipeline", vpipeline(&c, pipeline, "pipeline"));
		v->normalized = out;
	}
	list_sort(v->problems, vproblem_cmp);
	if (v->nerrors > 0)
	{
		v->failure = CFG_INVALID;
		v->normalized = NULL;
	}
	return v;
}

/*
 * MetaetlRaiseProblems
 *		Raise the one error for a configuration with errors: the detail lists
 *		the first 20 and counts the rest.  Returns when there are none.
 */
void
MetaetlRaiseProblems(CfgValidation *v)
{
	StringInfoData detail;
	int			shown = 0;
	ListCell   *lc;

	if (v->nerrors == 0)
		return;
	initStringInfo(&detail);
	foreach(lc, v->problems)
	{
		CfgProblem *p = lfirst(lc);

		if (!p->is_error)
			continue;
		if (shown == 20)
		{
			appendStringInfo(&detail, "\n... and %d more.", v->nerrors - 20);
			break;
		}
		if (shown++)
			appendStringInfoChar(&detail, '\n');
		if (p->line)
			appendStringInfo(&detail, "%s%sline %d, column %d: %s", p->path, p->path[0] ? " at " : "",
							 p->line, p->col, p->message);
		else
			appendStringInfo(&detail, "%s: %s", p->path[0] ? p->path : "configuration", p->message);
	}
	if (v->failure == CFG_SYNTAX)
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("pipeline configuration is not valid YAML or JSON"),
				 errdetail_internal("%s", detail.data),
				 errhint("Fix the configuration at the line and column shown.")));
	if (v->failure == CFG_LIMIT)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("pipeline configuration exceeds a size limit"),
				 errdetail_internal("%s", detail.data),
				 errhint("Configurations are limited to 1 MB, 64 levels of nesting and 100000 nodes (aliases included).")));
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("pipeline configuration has %d error%s", v->nerrors, v->nerrors == 1 ? "" : "s"),
			 errdetail_internal("%s", detail.data),
			 errhint("etl.validate_config() lists every problem with its path, line and column.")));
}
