/*-------------------------------------------------------------------------
 *
 * src/config/validate_util.c
 *		Checking helpers of the validator: problems, typed values, SQL
 *		fragments and templates, database lookups.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"

#include "config/validate_int.h"
#include "util/ident.h"

/* ---------------------------------------------------------------- helpers */

void
cfgv_problem(VCtx *c, bool is_error, const char *path, const CfgNode *at, const char *fmt,...)
{
	CfgProblem *p;
	StringInfoData buf;

	if (is_error)
		c->v->nerrors++;
	else
		c->v->nwarnings++;
	if (list_length(c->v->problems) >= MAX_PROBLEMS)
	{
		c->dropped++;
		return;
	}
	p = palloc0(sizeof(CfgProblem));
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
}


/*
 * The yamltree allocators return NULL when the arena is exhausted; this
 * turns that into one clear error instead of a NULL dereference later.
 */
CfgNode *
cfgv_need(CfgNode *n)
{
	if (n == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("configuration is too large to normalise")));
	return n;
}

/* a new empty mapping in the output tree (the normalised config) */
CfgNode *
cfgv_map(VCtx *c)
{
	return cfgv_need(CfgNewNode(c->arena, CFG_MAP, 0, 0));
}

/* a new empty sequence in the output tree */
CfgNode *
cfgv_seq(VCtx *c)
{
	return cfgv_need(CfgNewNode(c->arena, CFG_SEQ, 0, 0));
}

/* a string node for the output tree (defaults and normalised values) */
CfgNode *
cfgv_str(VCtx *c, const char *s)
{
	return cfgv_need(CfgNewString(c->arena, s, 0, 0));
}

/* a number node, from its text: numbers keep the precision they were written with */
CfgNode *
cfgv_num(VCtx *c, const char *s)
{
	return cfgv_need(CfgNewNumber(c->arena, s));
}

/* a boolean node for the output tree */
CfgNode *
cfgv_bool(VCtx *c, bool b)
{
	return cfgv_need(CfgNewBool(c->arena, b));
}

/* an explicit null: the normalised config writes null for "not set" */
CfgNode *
cfgv_null(VCtx *c)
{
	return cfgv_need(CfgNewNode(c->arena, CFG_NULL, 0, 0));
}

/* map[key] = value in the output tree; the arena running out is an error */
void
cfgv_put(VCtx *c, CfgNode *map, const char *key, CfgNode *value)
{
	if (!CfgMapPut(c->arena, map, key, value))
		cfgv_need(NULL);
}

/* append item to seq in the output tree; the arena running out is an error */
void
cfgv_append(VCtx *c, CfgNode *seq, CfgNode *item)
{
	if (!CfgSeqAppend(c->arena, seq, item))
		cfgv_need(NULL);
}

/* "base.key", the config path problems are reported at ("key" at the top) */
char *
cfgv_path(const char *base, const char *key)
{
	return base[0] ? psprintf("%s.%s", base, key) : pstrdup(key);
}

/* "base[i]", the config path of a sequence element */
char *
cfgv_idx(const char *base, int i)
{
	return psprintf("%s[%d]", base, i);
}

/* "a" or "an", for "an inline source" */
const char *
cfgv_article(const char *word)
{
	return word && strchr("aeiou", word[0]) && word[0] ? "an" : "a";
}

/* "a, b, c"; n < 0: vals is NULL-terminated */
char *
cfgv_list(const char *const *vals, int n)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; n < 0 ? vals[i] != NULL : i < n; i++)
		appendStringInfo(&buf, "%s%s", i ? ", " : "", vals[i]);
	return buf.data;
}

/* "; did you mean "x"?" or "" */
char *
cfgv_suggest(const char *word, const char *const *vals, int n)
{
	const char *near = MetaetlNearest(word, vals, n, Max(2, (int) strlen(word) / 3));

	return near ? psprintf("; did you mean \"%s\"?", near) : pstrdup("");
}

/*
 * true when n is a mapping; otherwise reports "<what> must be a mapping"
 * at path, so callers can skip the section and go on collecting problems.
 */
bool
cfgv_is_map(VCtx *c, const CfgNode *n, const char *path, const char *what)
{
	if (n->kind == CFG_MAP)
		return true;
	cfgv_error(c, path, n, "%s must be a mapping, not a %s", what, CfgKindName(n->kind));
	return false;
}

/*
 * vkeys
 *		Report duplicate and unknown keys of map.  Unknown keys are errors, or
 *		warnings when unknown_is_warning (params: other step kinds may grow).
 */
typedef struct VKeyRef
{
	const char *key;
	int			idx;
} VKeyRef;

static int
vkeyref_cmp(const void *a, const void *b)
{
	const VKeyRef *ka = a;
	const VKeyRef *kb = b;
	int			r = strcmp(ka->key, kb->key);

	if (r != 0)
		return r;
	return ka->idx < kb->idx ? -1 : ka->idx > kb->idx;
}

/*
 * Report duplicate and unknown keys of map (vkeys above): a misspelt key
 * would otherwise be ignored and its default silently used.
 */
void
cfgv_keys(VCtx *c, const CfgNode *map, const char *path, const char *const *allowed, int nallowed,
	  bool unknown_is_warning)
{
	/* duplicates: sort the keys (a mapping may have thousands) */
	if (map->n > 1)
	{
		VKeyRef    *refs = palloc(sizeof(VKeyRef) * map->n);

		for (int i = 0; i < map->n; i++)
		{
			refs[i].key = map->pairs[i].key->str;
			refs[i].idx = i;
		}
		qsort(refs, map->n, sizeof(VKeyRef), vkeyref_cmp);
		for (int i = 1, first = 0; i < map->n; i++)
		{
			const CfgNode *k;
			const CfgNode *f;

			if (strcmp(refs[i].key, refs[first].key) != 0)
			{
				first = i;
				continue;
			}
			k = map->pairs[refs[i].idx].key;
			f = map->pairs[refs[first].idx].key;
			cfgv_error(c, cfgv_path(path, k->str), k, "duplicate key \"%s\" (first at line %d, column %d)",
				   k->str, f->line, f->col);
		}
		pfree(refs);
	}
	for (int i = 0; i < map->n; i++)
	{
		const CfgNode *k = map->pairs[i].key;
		bool		known = false;

		if (allowed == NULL)
			continue;			/* duplicates only */
		for (int j = 0; j < nallowed; j++)
			if (strcmp(allowed[j], k->str) == 0)
				known = true;
		if (!known)
			cfgv_problem(c, !unknown_is_warning, cfgv_path(path, k->str), k, "unknown key \"%s\"%s",
					 k->str, cfgv_suggest(k->str, allowed, nallowed));
	}
}

/* the value of key, or NULL; a missing required key is reported */
CfgNode *
cfgv_get(VCtx *c, const CfgNode *map, const char *path, const char *key, bool required)
{
	CfgNode    *n = CfgMapGet(map, key);

	if (n && n->kind == CFG_NULL)
	{
		/* key: null is the same as leaving the key out */
		if (required)
			cfgv_error(c, cfgv_path(path, key), n, "required key \"%s\" must not be null", key);
		return NULL;
	}
	if (n == NULL && required)
		cfgv_error(c, cfgv_path(path, key), map, "required key \"%s\" is missing", key);
	return n;
}

static bool
vtemplate_free(VCtx *c, const CfgNode *n, const char *path)
{
	if (strstr(n->str, "{{") == NULL)
		return true;
	cfgv_error(c, path, n, "templates ({{...}}) are not allowed here: they are rendered only in queries and expressions");
	return false;
}

/* a non-empty string without templates, or NULL (reported) */
const char *
cfgv_string(VCtx *c, const CfgNode *n, const char *path)
{
	if (n->kind != CFG_STRING)
	{
		cfgv_error(c, path, n, "must be a string, not a %s", CfgKindName(n->kind));
		return NULL;
	}
	if (n->len == 0)
	{
		cfgv_error(c, path, n, "must not be empty");
		return NULL;
	}
	if (!vtemplate_free(c, n, path))
		return NULL;
	return n->str;
}

/*
 * An id (pipeline, source, step, target): a string valid under the one id
 * rule (util/ident.c) that the SQL functions apply too; NULL when not
 * (reported).
 */
const char *
cfgv_id(VCtx *c, const CfgNode *n, const char *path)
{
	if (n->kind != CFG_STRING)
	{
		cfgv_error(c, path, n, "must be an id (a string), not a %s", CfgKindName(n->kind));
		return NULL;
	}
	if (!MetaetlIdentValid(n->str))
	{
		cfgv_error(c, path, n, "\"%s\" is not a valid id: use lower-case letters, digits and _, starting with a letter, at most %d bytes",
			   n->str, METAETL_IDENT_MAXLEN);
		return NULL;
	}
	return n->str;
}

/* a number in [min, max] (integer when asked); NULL when bad (reported) */
CfgNode *
cfgv_number(VCtx *c, const CfgNode *n, const char *path, double min, double max, bool integer)
{
	double		d;

	if (n->kind != CFG_NUMBER)
	{
		cfgv_error(c, path, n, "must be a number, not a %s", CfgKindName(n->kind));
		return NULL;
	}
	d = strtod(n->str, NULL);
	if (integer && (strchr(n->str, '.') || strchr(n->str, 'e') || strchr(n->str, 'E')) && d != floor(d))
	{
		cfgv_error(c, path, n, "must be a whole number, not %s", n->str);
		return NULL;
	}
	if (d < min || d > max)
	{
		if (isinf(max))
			cfgv_error(c, path, n, "must be at least %g, not %s", min, n->str);
		else
			cfgv_error(c, path, n, "must be between %g and %g, not %s", min, max, n->str);
		return NULL;
	}
	return (CfgNode *) n;
}

/* n as a boolean node; NULL when it is not true or false (reported) */
CfgNode *
cfgv_boolean(VCtx *c, const CfgNode *n, const char *path)
{
	if (n->kind != CFG_BOOL)
	{
		cfgv_error(c, path, n, "must be true or false, not a %s", CfgKindName(n->kind));
		return NULL;
	}
	return (CfgNode *) n;
}

/*
 * One of vals, as the static string (so callers compare pointers or
 * strings alike); NULL when not, reported with the valid values and the
 * nearest one.
 */
const char *
cfgv_enum(VCtx *c, const CfgNode *n, const char *path, const char *what,
	  const char *const *vals, int nvals)
{
	if (n->kind != CFG_STRING)
	{
		cfgv_error(c, path, n, "%s must be a string, not a %s", what, CfgKindName(n->kind));
		return NULL;
	}
	for (int i = 0; i < nvals; i++)
		if (strcmp(n->str, vals[i]) == 0)
			return vals[i];
	cfgv_error(c, path, n, "unknown %s \"%s\" (valid: %s)%s", what, n->str, cfgv_list(vals, nvals),
		   cfgv_suggest(n->str, vals, nvals));
	return NULL;
}

/* a list of non-empty strings; a single string is a list of one */
CfgNode *
cfgv_strlist(VCtx *c, const CfgNode *n, const char *path, bool nonempty)
{
	CfgNode    *out = cfgv_seq(c);

	if (n->kind == CFG_STRING)
	{
		if (cfgv_string(c, n, path))
			cfgv_append(c, out, (CfgNode *) n);
		return out;
	}
	if (n->kind != CFG_SEQ)
	{
		cfgv_error(c, path, n, "must be a list of strings, not a %s", CfgKindName(n->kind));
		return NULL;
	}
	if (nonempty && n->n == 0)
	{
		cfgv_error(c, path, n, "must not be an empty list");
		return NULL;
	}
	for (int i = 0; i < n->n; i++)
		if (cfgv_string(c, n->items[i], cfgv_idx(path, i)))
			cfgv_append(c, out, n->items[i]);
	return out;
}

/*
 * cfgv_relname
 *		A (schema-qualified) relation name: ident or ident.ident, identifiers
 *		plain or "quoted".  A part longer than 63 bytes is an error:
 *		PostgreSQL would truncate it, so two configs naming different long
 *		tables would load the same one.
 */
bool
cfgv_relname(VCtx *c, const CfgNode *n, const char *path)
{
	const char *s;
	int			parts = 0;

	if ((s = cfgv_string(c, n, path)) == NULL)
		return false;
	for (;;)
	{
		size_t		len = 0;

		if (*s == '"')
		{
			s++;
			while (*s && !(*s == '"' && s[1] != '"'))
			{
				s += (*s == '"') ? 2 : 1;
				len++;
			}
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
			{
				s++;
				len++;
			}
		}
		if (len >= NAMEDATALEN)
		{
			cfgv_error(c, path, n, "\"%s\" has a name longer than %d bytes, which PostgreSQL would truncate",
					   n->str, NAMEDATALEN - 1);
			return false;
		}
		parts++;
		if (*s == '\0')
			return parts <= 2;
		if (*s != '.' || parts == 2)
			goto bad;
		s++;
	}
bad:
	cfgv_error(c, path, n, "\"%s\" is not a valid table name: write table or schema.table", n->str);
	return false;
}

/*
 * cfgv_colname
 *		A name that becomes a column of a step's output: a non-empty string
 *		of at most 63 bytes (PostgreSQL truncates longer names, so two long
 *		names could become one column).
 */
const char *
cfgv_colname(VCtx *c, const CfgNode *n, const char *path)
{
	const char *s = cfgv_string(c, n, path);

	if (s && strlen(s) >= NAMEDATALEN)
	{
		cfgv_error(c, path, n, "column name \"%.20s...\" is %zu bytes long; PostgreSQL truncates names to %d bytes",
				   s, strlen(s), NAMEDATALEN - 1);
		return NULL;
	}
	return s;
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
char *
cfgv_templates(VCtx *c, const char *sql, const char *path, const CfgNode *at, bool allow_input)
{
	CfgTemplateRef refs[MAX_TEMPLATES];
	char		err[256];
	int			n = CfgTemplateScan(sql, refs, MAX_TEMPLATES, err, sizeof(err));
	StringInfoData out;
	size_t		pos = 0;
	bool		ok = true;

	if (n < 0)
	{
		cfgv_error(c, path, at, "%s", err);
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
			cfgv_error(c, path, at, "template {{%s}} stands in %s, where it cannot be safely rendered", name, r->where);
			ok = false;
			continue;
		}
		if (is_input)
		{
			if (!allow_input)
			{
				cfgv_error(c, path, at, "template {{%s}} is allowed only in the query of a sql step", name);
				ok = false;
			}
			else if (r->ctx != CFG_TPL_OUTSIDE)
			{
				cfgv_error(c, path, at, "template {{%s}} names a relation and cannot stand inside quotes", name);
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
					cfgv_error(c, path, at, "template {{%s}} names parameter \"%s\", which pipeline.params does not declare",
						   name, name + 6);
					ok = false;
				}
			}
			else if (strncmp(name, "env.", 4) != 0 || name[4] == '\0')
			{
				static const char *const known[] = {"last_run", "run_id", "watermark", "logical_date", "param.", "env."};

				cfgv_error(c, path, at, "unknown template {{%s}} (known: {{last_run}}, {{run_id}}, {{watermark}}, {{logical_date}}, {{param.NAME}}, {{env.NAME}})%s",
					   name, cfgv_suggest(name, known, lengthof_arr(known)));
				ok = false;
			}
		}
		appendStringInfoString(&out, r->ctx == CFG_TPL_OUTSIDE ? "'0'" : "0");
	}
	appendStringInfoString(&out, sql + pos);
	return ok ? out.data : NULL;
}

/* an expression: checked and returned normalised (a new node at n's position) */
CfgNode *
cfgv_expr(VCtx *c, const CfgNode *n, const char *path)
{
	char	   *norm;
	char	   *plain;
	char	   *problem;
	CfgNode    *out;

	if (n->kind == CFG_NUMBER || n->kind == CFG_BOOL)
		return (CfgNode *) n;	/* a constant is an expression too */
	if (n->kind != CFG_STRING)
	{
		cfgv_error(c, path, n, "an expression must be a string, not a %s", CfgKindName(n->kind));
		return NULL;
	}
	if (n->len == 0)
	{
		cfgv_error(c, path, n, "an expression must not be empty");
		return NULL;
	}
	plain = CfgNormalizeExpr(n->str);
	if (plain == NULL)
		cfgv_need(NULL);
	norm = pstrdup(plain);
	free(plain);
	plain = cfgv_templates(c, norm, path, n, false);
	if (plain == NULL)
		return NULL;
	problem = MetaetlCheckSql(plain, CFG_SQL_EXPR);
	if (problem)
	{
		cfgv_error(c, path, n, "invalid expression \"%s\": %s", n->str, problem);
		return NULL;
	}
	out = cfgv_need(CfgNewString(c->arena, norm, n->line, n->col));
	return out;
}

/* an ORDER BY item: expression [ASC|DESC] [NULLS FIRST|LAST] */
CfgNode *
cfgv_order(VCtx *c, const CfgNode *n, const char *path)
{
	char	   *s;
	char	   *norm;
	char	   *problem;

	if (cfgv_string(c, n, path) == NULL)
		return NULL;
	s = CfgNormalizeExpr(n->str);
	if (s == NULL)
		cfgv_need(NULL);
	norm = pstrdup(s);
	free(s);
	problem = MetaetlCheckSql(norm, CFG_SQL_ORDER);
	if (problem)
	{
		cfgv_error(c, path, n, "invalid sort item \"%s\": %s", n->str, problem);
		return NULL;
	}
	return cfgv_need(CfgNewString(c->arena, norm, n->line, n->col));
}

/* a query: one SELECT (templates allowed; {{input}} only when allow_input) */
CfgNode *
cfgv_query(VCtx *c, const CfgNode *n, const char *path, bool allow_input)
{
	char	   *plain;
	char	   *problem;

	if (n->kind != CFG_STRING || n->len == 0)
	{
		cfgv_error(c, path, n, "a query must be a non-empty string");
		return NULL;
	}
	plain = cfgv_templates(c, n->str, path, n, allow_input);
	if (plain == NULL)
		return NULL;
	problem = MetaetlCheckSql(plain, CFG_SQL_SELECT);
	if (problem)
	{
		cfgv_error(c, path, n, "invalid query: %s", problem);
		return NULL;
	}
	return (CfgNode *) n;
}

/*
 * A SQL type name (casts, column types): it must parse as a type name
 * alone (MetaetlCheckSql), since it is placed into generated SQL.
 */
CfgNode *
cfgv_type(VCtx *c, const CfgNode *n, const char *path)
{
	char	   *problem;

	if (cfgv_string(c, n, path) == NULL)
		return NULL;
	problem = MetaetlCheckSql(n->str, CFG_SQL_TYPE);
	if (problem)
	{
		cfgv_error(c, path, n, "invalid type name \"%s\": %s", n->str, problem);
		return NULL;
	}
	return (CfgNode *) n;
}

/* ------------------------------------------------------ database lookups */

bool
cfgv_exists(const char *query, const char *value)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];
	bool		result = false;
	bool		isnull;

	values[0] = CStringGetTextDatum(value);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args(query, 1, argtypes, values, NULL, true, 1) == SPI_OK_SELECT &&
		SPI_processed == 1)
		result = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)) && !isnull;
	SPI_finish();
	return result;
}

/*
 * A connection name: a valid id, and a warning (not an error) when it does
 * not exist yet, because configs are often registered before their
 * connections are created.
 */
void
cfgv_connection(VCtx *c, const CfgNode *n, const char *path, bool source)
{
	const char *name = cfgv_id(c, n, path);

	if (name == NULL)
		return;
	if (!cfgv_exists(source ?
				 "SELECT EXISTS (SELECT FROM etl.data_sources WHERE name OPERATOR(pg_catalog.=) $1)" :
				 "SELECT EXISTS (SELECT FROM etl.data_targets WHERE name OPERATOR(pg_catalog.=) $1)",
				 name))
		cfgv_warn(c, path, n, "connection \"%s\" does not exist yet in etl.%s: create it with etl.add_connection()",
			  name, source ? "data_sources" : "data_targets");
}

/*
 * A time zone PostgreSQL knows (pg_timezone_names, case-insensitively);
 * false when not, reported with the nearest name, since a schedule in an
 * unknown zone would never fire as meant.
 */
bool
cfgv_timezone(VCtx *c, const CfgNode *n, const char *path)
{
	const char *tz = cfgv_string(c, n, path);
	char	   *near = NULL;

	if (tz == NULL)
		return false;
	if (cfgv_exists("SELECT EXISTS (SELECT FROM pg_catalog.pg_timezone_names "
				"WHERE pg_catalog.lower(name) OPERATOR(pg_catalog.=) pg_catalog.lower($1))", tz))
		return true;
	if (strlen(tz) < 64)
	{
		/* suggest the nearest name */
		MemoryContext oldcxt = CurrentMemoryContext;

		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
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
	cfgv_error(c, path, n, "unknown time zone \"%s\" (see pg_timezone_names)%s", tz,
		   near ? psprintf("; did you mean \"%s\"?", near) : "");
	return false;
}
