/*-------------------------------------------------------------------------
 *
 * src/connectors/connector.h
 *		The connector registry: one interface for every source and target
 *		type, and the one place that decides which types exist.
 *
 * A connector family (local tables, files, FDW databases, HTTP, object
 * stores) is one MetaetlConnector.  It declares its vocabulary — the source,
 * target and connection types it handles and the config keys each takes —
 * and implements describe / extract / load.  connectors/connector.c holds
 * the registry; everything that asks "is this a source type?" asks it:
 * etl.validate_config (config/validate.c checks every source, target and
 * etl.add_connection against the declared keys), the transform compiler
 * (which calls extract and load) and the docs test.  So a type validates
 * exactly when a run can execute it.
 *
 * extract returns a SELECT the compiler reads (a relation, a foreign table,
 * or a temporary table the connector filled first through a MetaetlSink);
 * load writes a node's rows (WITH prefix + reference) to the target.
 * Byte-oriented sources and targets (files, objects, HTTP bodies) combine a
 * transport (stream.h) with a format (format.h) instead of parsing
 * themselves.
 *
 *-------------------------------------------------------------------------
 */
#ifndef METAETL_CONNECTOR_H
#define METAETL_CONNECTOR_H

#include "config/config.h"
#include "transform/plan.h"

/* How etl.validate_config checks one key of a source, target or connection. */
typedef enum MetaetlKeyKind
{
	MCK_ANY,					/* any value, kept as given */
	MCK_STRING,					/* a string */
	MCK_ID,						/* a metaetl identifier ([a-z][a-z0-9_]*) */
	MCK_RELNAME,				/* a relation name: name, schema.name, quoted */
	MCK_QUERY,					/* one SELECT, templates allowed */
	MCK_NUMBER,					/* a number */
	MCK_INTEGER,				/* a non-negative integer */
	MCK_BOOL,					/* true / false */
	MCK_OBJECT,					/* a mapping */
	MCK_STRLIST,				/* a list of strings (a single string is not) */
	MCK_ENUM,					/* one of MetaetlConnKey.values */
	MCK_COLUMNS					/* {name: type} or ["name type", ...] */
} MetaetlKeyKind;

#define MCK_REQUIRED	0x01	/* must be given */
#define MCK_ONEOF		0x02	/* exactly one of the keys flagged ONEOF must be given */
#define MCK_TEMPLATE	0x04	/* MCK_STRING: the connector renders its templates ({{param.x}}) */

typedef struct MetaetlConnKey
{
	const char *key;
	MetaetlKeyKind kind;
	int			flags;
	const char *const *values;	/* MCK_ENUM: NULL-terminated */
} MetaetlConnKey;

/* a key table ends with {NULL} */
#define MCK_END {NULL, MCK_ANY, 0, NULL}

typedef struct MetaetlConnector
{
	const char *name;			/* the family, for messages: "local", "file" */
	const char *const *types;	/* NULL-terminated source/target type names */
	const char *const *connection_types;	/* etl.add_connection types this
											 * family's connections have; NULL:
											 * takes no connection */

	/* vocabulary: keys besides the common ones (id, type, connection, ...) */
	const MetaetlConnKey *source_keys;	/* NULL: the family has no sources */
	const MetaetlConnKey *target_keys;	/* NULL: the family has no targets */
	const MetaetlConnKey *connection_keys;	/* options of etl.add_connection */
	const char *const *target_modes;	/* NULL-terminated; NULL: every mode */

	/*
	 * Checks across keys at validation time (optional; no I/O: the pipeline
	 * may be registered before its objects exist).  Report through
	 * MetaetlCfgProblem.
	 */
	void		(*check) (CfgCheck *chk, const char *type, bool is_source);

	/* a one-line description for compile output and run summaries */
	char	   *(*describe) (MetaetlPlan *plan, MetaetlNode *src);
	/* SELECT text producing the source's rows (may fill a temp table first) */
	char	   *(*extract) (MetaetlPlan *plan, MetaetlNode *src);
	/* write the rows of "ref" (after "with_prefix") to the target; rows written */
	int64		(*load) (MetaetlPlan *plan, MetaetlTarget *tgt, const char *with_prefix,
						 const char *ref, List *cols);
} MetaetlConnector;

/* in connectors/connector.c: the registry */
extern const MetaetlConnector *MetaetlLookupConnector(const char *type);
extern const MetaetlConnector *MetaetlFindConnector(const char *type, bool is_source,
													const char *id);
extern const MetaetlConnector *MetaetlLookupConnectionType(const char *conn_type);
extern char *MetaetlConnectorTypeList(bool is_source);
extern const MetaetlConnector *const *MetaetlConnectors(int *n);

/* in connectors/local.c */
extern const MetaetlConnector MetaetlLocalConnector;
extern const MetaetlConnector MetaetlInlineConnector;
extern void MetaetlCheckConnection(JsonbContainer *conf, bool is_source, const char *id);
extern bool MetaetlSourceIsRemote(MetaetlNode *src);

/* in connectors/fdw.c: MySQL/MariaDB, SQL Server/Oracle; Remote SQL for compile output */
extern const MetaetlConnector MetaetlMysqlConnector, MetaetlFdwOnlyConnector;
extern void MetaetlRemoteExplain(MetaetlPlan *plan, const char *with_prefix, const char *ref, List *cols);

/* in connectors/file.c */
extern const MetaetlConnector MetaetlFileConnector;

/* in connectors/http.c, connectors/soap.c (internals: connectors/http.h) */
extern const MetaetlConnector MetaetlHttpConnector, MetaetlSoapConnector;

/* in connectors/objstore.c */
extern const MetaetlConnector MetaetlS3Connector, MetaetlAzureBlobConnector, MetaetlGcsConnector;

#endif							/* METAETL_CONNECTOR_H */
