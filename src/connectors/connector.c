/*-------------------------------------------------------------------------
 *
 * src/connectors/connector.c
 *		The connector registry: every source, target and connection type
 *		resolves here, for validation and for execution alike.
 *
 * A family is added by defining its MetaetlConnector in its own file,
 * declaring it in connector.h and listing it in all_connectors below.
 * Nothing else in metaetl keeps a list of types.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"

#include "connectors/connector.h"

static const MetaetlConnector *const all_connectors[] = {
	&MetaetlLocalConnector,
	&MetaetlInlineConnector,
	&MetaetlFileConnector,
	&MetaetlHttpConnector, &MetaetlSoapConnector,	/* connectors/http.c, soap.c */
	&MetaetlMysqlConnector, &MetaetlFdwOnlyConnector,	/* connectors/relational.c */
	&MetaetlS3Connector, &MetaetlAzureBlobConnector, &MetaetlGcsConnector,	/* connectors/objstore.c */
};

/*
 * MetaetlConnectors
 *		Every registered family, in registry order (for docs and listings).
 */
const MetaetlConnector *const *
MetaetlConnectors(int *n)
{
	*n = (int) lengthof(all_connectors);
	return all_connectors;
}

/*
 * MetaetlLookupConnector
 *		The family handling source/target type "type", or NULL.
 */
const MetaetlConnector *
MetaetlLookupConnector(const char *type)
{
	if (type == NULL)
		return NULL;
	for (int i = 0; i < (int) lengthof(all_connectors); i++)
		for (const char *const *t = all_connectors[i]->types; *t; t++)
			if (strcmp(*t, type) == 0)
				return all_connectors[i];
	return NULL;
}

/*
 * MetaetlLookupConnectionType
 *		The family whose connections have etl.add_connection type "conn_type",
 *		or NULL.
 */
const MetaetlConnector *
MetaetlLookupConnectionType(const char *conn_type)
{
	if (conn_type == NULL)
		return NULL;
	for (int i = 0; i < (int) lengthof(all_connectors); i++)
	{
		const char *const *t = all_connectors[i]->connection_types;

		for (; t && *t; t++)
			if (strcmp(*t, conn_type) == 0)
				return all_connectors[i];
	}
	return NULL;
}

/*
 * MetaetlConnectorTypeList
 *		"a, b, c": the source (or target) types, for hints.
 */
char *
MetaetlConnectorTypeList(bool is_source)
{
	StringInfoData b;

	initStringInfo(&b);
	for (int i = 0; i < (int) lengthof(all_connectors); i++)
	{
		const MetaetlConnector *c = all_connectors[i];

		if ((is_source ? c->source_keys : c->target_keys) == NULL)
			continue;
		for (const char *const *t = c->types; *t; t++)
			appendStringInfo(&b, "%s%s", b.len ? ", " : "", *t);
	}
	return b.data;
}

/*
 * MetaetlFindConnector
 *		The family that can read (is_source) or write type "type"; a clear
 *		error naming the source or target otherwise.  Validation refuses the
 *		same types with the same list, so this error is reached only by
 *		configs that bypassed etl.validate_config.
 */
const MetaetlConnector *
MetaetlFindConnector(const char *type, bool is_source, const char *id)
{
	const MetaetlConnector *c = MetaetlLookupConnector(type);

	if (c && (is_source ? c->extract != NULL : c->load != NULL))
		return c;
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("%s \"%s\": type \"%s\" is not supported%s", is_source ? "source" : "target",
					id ? id : "?", type ? type : "(none)",
					c ? (is_source ? " as a source" : " as a target") : ""),
			 errhint("%s types: %s.", is_source ? "Source" : "Target",
					 MetaetlConnectorTypeList(is_source))));
	return NULL;
}
