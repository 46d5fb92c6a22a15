/*-------------------------------------------------------------------------
 *
 * src/config/config.h
 *		Backend side of the configuration subsystem: validation into the
 *		normalised pipeline config, jsonb conversion, expression checks and
 *		template rendering.
 *
 * The normalised config's shape is docs/configuration.md, "The normalised
 * form"; the template rendering contract is its "Templates".  Include after
 * "postgres.h".
 *
 *-------------------------------------------------------------------------
 */
#ifndef METAETL_CONFIG_H
#define METAETL_CONFIG_H

#include "nodes/pg_list.h"
#include "utils/jsonb.h"

#include "config/yamltree.h"

/* one row of etl.validate_config */
typedef struct CfgProblem
{
	bool		is_error;		/* error, or warning */
	char	   *path;			/* pipeline.transforms[1].params.condition */
	int			line;			/* 1-based, 0 = unknown */
	int			col;
	char	   *message;
	bool		not_yet;		/* a warning about an object not created yet:
								 * register_pipeline reports it as a NOTICE */
} CfgProblem;

typedef enum CfgFailure
{
	CFG_OK,						/* no errors (maybe warnings) */
	CFG_SYNTAX,					/* not YAML/JSON */
	CFG_LIMIT,					/* too large, too deep, too many nodes */
	CFG_INVALID					/* parsed, but problems were found */
} CfgFailure;

typedef struct CfgValidation
{
	CfgDoc	   *doc;			/* freed with the memory context */
	List	   *problems;		/* CfgProblem *, in document order */
	int			nerrors;
	int			nwarnings;
	CfgFailure	failure;
	CfgNode    *normalized;		/* {"pipeline": {...}} when failure == CFG_OK */
	List	   *notices;		/* char *: things register reports as NOTICE */
	size_t		input_len;		/* bytes of the text validated */
} CfgValidation;

/*
 * Configurations longer than this are not repeated in the server log: an
 * error about one hides its statement (errhidestmt), and each problem in a
 * message is cut to CFG_LOG_PROBLEM_MAX bytes.
 */
#define CFG_LOG_STATEMENT_MAX	(64 * 1024)
#define CFG_LOG_PROBLEM_MAX		400

/* in config/jsonb_tree.c */
extern CfgDoc *MetaetlParseConfigText(const char *text, size_t len);
extern Jsonb *MetaetlTreeToJsonb(const CfgNode *root);
extern CfgNode *MetaetlJsonbToTree(CfgArena *arena, Jsonb *jb);
extern CfgArena *MetaetlArenaForContext(size_t limit);

/* in config/validate.c */
extern CfgValidation *MetaetlValidateConfig(const char *text, size_t len);
extern void MetaetlRaiseProblems(CfgValidation *v);

/*
 * What a connector's check callback (connectors/connector.h) sees of one
 * source, target or connection being validated: its keys, and a way to
 * report a problem at one of them (path, line and column are filled in).
 */
typedef struct CfgCheck CfgCheck;
extern const CfgNode *MetaetlCfgKey(CfgCheck *chk, const char *key);
extern const char *MetaetlCfgKeyString(CfgCheck *chk, const char *key);
extern void MetaetlCfgProblem(CfgCheck *chk, bool is_error, const char *key,
							  const char *fmt,...) pg_attribute_printf(4, 5);

/*
 * Check the mapping at "key" (a source's options:) against a key table
 * (connectors/connector.h) the way a connector's own keys are checked: an
 * unknown key is an error at its own path with a did-you-mean, a value of
 * the wrong kind too.  "what" names the mapping in messages ("csv
 * options").  Nothing is reported when the key is absent or not a mapping
 * (the key's own check reports that).
 */
struct MetaetlConnKey;
extern void MetaetlCfgCheckKeys(CfgCheck *chk, const char *key, const struct MetaetlConnKey *keys,
								const char *what);

/* in config/expr.c */
typedef enum CfgSqlKind
{
	CFG_SQL_EXPR,				/* exactly one scalar expression */
	CFG_SQL_SELECT,				/* exactly one SELECT (or WITH ... SELECT) */
	CFG_SQL_TYPE,				/* a type name */
	CFG_SQL_ORDER				/* one ORDER BY item: expr [ASC|DESC] [NULLS ...] */
} CfgSqlKind;

extern char *MetaetlCheckSql(const char *sql, CfgSqlKind kind);
extern char *MetaetlCheckRegex(const char *pattern);
extern char *MetaetlCheckInterval(const char *s);

/* in config/template.c */
extern char *MetaetlRenderTemplate(const char *tmpl, Jsonb *context);

/* how MetaetlRenderTemplateAs escapes each value, for text that is not SQL */
typedef enum MetaetlTemplateEscape
{
	METAETL_TPL_RAW,			/* as it is: the caller escapes the result */
	METAETL_TPL_URL,			/* percent-encoded (a URL's path or query) */
	METAETL_TPL_XML,			/* & < > " ' as entities (an XML envelope) */
	METAETL_TPL_JSON			/* for the inside of a JSON string */
} MetaetlTemplateEscape;
extern char *MetaetlRenderTemplateAs(const char *tmpl, Jsonb *context, MetaetlTemplateEscape esc);

#endif							/* METAETL_CONFIG_H */
