/*-------------------------------------------------------------------------
 *
 * src/lineage/dataset.c
 *		Dataset names: the one place that decides how a relation, a file or
 *		a remote object is called in lineage and in OpenLineage events.
 *
 * The rules follow OpenLineage's naming conventions (spec/Naming.md):
 *
 *	relation of this database	postgres://<host>:<port>	<db>.<schema>.<table>
 *	foreign table (postgres_fdw)	postgres://<host>:<port>	<db>.<schema>.<table>
 *	foreign table (mysql_fdw)	mysql://<host>:<port>		<db>.<table>
 *	foreign table (tds_fdw)		sqlserver://<host>:<port>	<db>.<schema>.<table>
 *	other foreign tables		<fdw>://<server>			<schema>.<table>
 *	server-side file (csv, ...)	file						/absolute/path
 *	remote postgresql source	postgres://<host>:<port>	<db>.<schema>.<table>
 *	mysql / mariadb source		mysql://<host>:<port>		<db>.<table>
 *	sqlserver source			sqlserver://<host>:<port>	<db>.<schema>.<table>
 *	oracle source				oracle://<host>:<port>		<service>.<schema>.<table>
 *	http source					<scheme>://<host>[:<port>]	/<path>
 *	s3 / gcs object				s3://<bucket> / gs://<bucket>	<key or prefix>
 *	azure_blob object			wasbs://<container>@<account>.blob.core.windows.net	<key>
 *	anything else				<type>://<connection or type>	<table, path, key or source id>
 *
 * A query (rather than a table) read from a remote database is named
 * <db>.query.<source id>: its relations live in another catalog, which the
 * analyzer cannot see.  The local host is gethostname(); set_lineage_endpoint's
 * dataset_namespace option replaces the whole local namespace.  What
 * etl.lineage() shows ("display") is schema.table for this database's
 * relations and the dataset's URI (namespace/name) for everything else.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <unistd.h>

#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "commands/defrem.h"
#include "executor/spi.h"
#include "foreign/foreign.h"
#include "miscadmin.h"
#include "postmaster/postmaster.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "lineage/lineage.h"
#include "transform/transform.h"

/* postgres://<hostname>:<port> of this server */
char *
MetaetlLineageLocalNamespace(void)
{
	char		host[256];

	if (gethostname(host, sizeof(host)) != 0 || host[0] == '\0')
		strlcpy(host, "localhost", sizeof(host));
	host[sizeof(host) - 1] = '\0';
	return psprintf("postgres://%s:%d", host, PostPortNumber);
}

/* namespace + name as a URI: "file" + "/a/b" is file:///a/b */
static char *
dataset_uri(const char *ns, const char *name)
{
	if (strstr(ns, "://") == NULL)
		return psprintf("%s://%s", ns, name);
	while (*name == '/')
		name++;
	return psprintf("%s/%s", ns, name);
}

/* a relation of this database named schema.relname (it may not exist yet) */
MetaetlDataset *
MetaetlLineageLocalName(const char *schema, const char *relname)
{
	MetaetlDataset *d = palloc0(sizeof(MetaetlDataset));

	d->namespace = MetaetlLineageLocalNamespace();
	d->name = psprintf("%s.%s.%s", get_database_name(MyDatabaseId), schema, relname);
	d->display = quote_qualified_identifier(schema, relname);
	d->local = true;
	return d;
}

static char *
dataset_defopt(List *options, const char *name, const char *dflt)
{
	ListCell   *lc;

	foreach(lc, options)
	{
		DefElem    *def = lfirst(lc);

		if (strcmp(def->defname, name) == 0)
			return defGetString(def);
	}
	return dflt ? pstrdup(dflt) : NULL;
}

/* a foreign table names the remote object its server and options point to */
static void
dataset_foreign(MetaetlDataset *d, Oid relid, const char *schema, const char *relname)
{
	ForeignTable *ft = GetForeignTable(relid);
	ForeignServer *srv = GetForeignServer(ft->serverid);
	ForeignDataWrapper *fdw = GetForeignDataWrapper(srv->fdwid);

	if (strcmp(fdw->fdwname, "postgres_fdw") == 0)
	{
		d->namespace = psprintf("postgres://%s:%s",
								dataset_defopt(srv->options, "host", "localhost"),
								dataset_defopt(srv->options, "port", "5432"));
		d->name = psprintf("%s.%s.%s", dataset_defopt(srv->options, "dbname", "postgres"),
						   dataset_defopt(ft->options, "schema_name", schema),
						   dataset_defopt(ft->options, "table_name", relname));
	}
	else if (strcmp(fdw->fdwname, "mysql_fdw") == 0)
	{
		d->namespace = psprintf("mysql://%s:%s",
								dataset_defopt(srv->options, "host", "127.0.0.1"),
								dataset_defopt(srv->options, "port", "3306"));
		d->name = psprintf("%s.%s", dataset_defopt(ft->options, "dbname", schema),
						   dataset_defopt(ft->options, "table_name", relname));
	}
	else if (strcmp(fdw->fdwname, "tds_fdw") == 0)
	{
		d->namespace = psprintf("sqlserver://%s:%s",
								dataset_defopt(srv->options, "servername", "localhost"),
								dataset_defopt(srv->options, "port", "1433"));
		d->name = psprintf("%s.%s.%s", dataset_defopt(srv->options, "database", "master"),
						   dataset_defopt(ft->options, "schema_name", "dbo"),
						   dataset_defopt(ft->options, "table_name",
										  dataset_defopt(ft->options, "table", relname)));
	}
	else
	{
		d->namespace = psprintf("%s://%s", fdw->fdwname, srv->servername);
		d->name = psprintf("%s.%s", schema, relname);
	}
}

/*
 * MetaetlLineageRelation
 *		The dataset of a relation of this database; a foreign table is named
 *		after the remote object (its display stays the local name, which is
 *		what users write in etl.impact()).
 */
MetaetlDataset *
MetaetlLineageRelation(Oid relid)
{
	char	   *relname = get_rel_name(relid);
	char	   *schema;
	MetaetlDataset *d;

	if (relname == NULL)
		elog(ERROR, "cache lookup failed for relation %u", relid);
	schema = get_namespace_name(get_rel_namespace(relid));
	d = MetaetlLineageLocalName(schema, relname);
	d->relid = relid;
	if (get_rel_relkind(relid) == RELKIND_FOREIGN_TABLE)
	{
		dataset_foreign(d, relid, schema, relname);
		d->local = false;
	}
	return d;
}

/*
 * MetaetlLineageConnection
 *		The type and options of the connection a source or target names
 *		(etl.data_sources, then etl.data_targets); false without one.
 *		Needs SPI.  Options hold no secrets (credentials are referenced).
 */
bool
MetaetlLineageConnection(JsonbContainer *conf, char **conn_type, Jsonb **conn_options)
{
	char	   *conn = MetaetlJStr(conf, "connection");
	Datum		arg;
	Oid			argtype = TEXTOID;
	bool		isnull;

	*conn_type = NULL;
	*conn_options = NULL;
	if (conn == NULL)
		return false;
	arg = CStringGetTextDatum(conn);
	if (SPI_execute_with_args("SELECT type, options FROM etl.data_sources WHERE name OPERATOR(pg_catalog.=) $1 "
							  "UNION ALL SELECT type, options FROM etl.data_targets WHERE name OPERATOR(pg_catalog.=) $1",
							  1, &argtype, &arg, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read etl.data_sources");
	if (SPI_processed == 0)
		return false;
	*conn_type = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	{
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);

		*conn_options = isnull ? NULL : DatumGetJsonbPCopy(d);
	}
	return true;
}

/* a string option of the connection, else of the source/target config */
static char *
dataset_opt(JsonbContainer *conn, JsonbContainer *conf, const char *key, const char *dflt)
{
	char	   *v = conn ? MetaetlJStr(conn, key) : NULL;

	if (v == NULL && conf)
		v = MetaetlJStr(conf, key);
	return v ? v : (dflt ? pstrdup(dflt) : NULL);
}

/* host:port of a connection (or of its url option) */
static char *
dataset_authority(JsonbContainer *conn, JsonbContainer *conf, const char *dflt_port)
{
	return psprintf("%s:%s", dataset_opt(conn, conf, "host", "localhost"),
					dataset_opt(conn, conf, "port", dflt_port));
}

/* schema.table of a relational source: table may be qualified already */
static char *
dataset_table(JsonbContainer *conf, const char *dflt_schema, const char *id)
{
	char	   *table = MetaetlJStr(conf, "table");
	char	   *schema = MetaetlJStr(conf, "schema");

	if (table == NULL)
		return psprintf("query.%s", id);
	if (schema)
		return psprintf("%s.%s", schema, table);
	if (strchr(table, '.') || dflt_schema == NULL)
		return pstrdup(table);
	return psprintf("%s.%s", dflt_schema, table);
}

/*
 * MetaetlLineageDataset
 *		The dataset a source or target of type "type" reads or writes
 *		outside this database: conn_type and conn_options describe its
 *		connection (both may be NULL), conf is the source or target's config
 *		and id its id.  See the table at the top of this file.
 */
MetaetlDataset *
MetaetlLineageDataset(const char *type, const char *conn_type, JsonbContainer *conn_options,
					  JsonbContainer *conf, const char *id)
{
	MetaetlDataset *d = palloc0(sizeof(MetaetlDataset));
	const char *t = conn_type ? conn_type : type;
	JsonbContainer *co = conn_options;
	char	   *path = dataset_opt(NULL, conf, "path", NULL);

	if (path == NULL)
		path = dataset_opt(NULL, conf, "file", NULL);

	if (strcmp(t, "postgresql") == 0 || strcmp(t, "postgres") == 0)
	{
		d->namespace = psprintf("postgres://%s", dataset_authority(co, conf, "5432"));
		d->name = psprintf("%s.%s", dataset_opt(co, conf, "dbname", "postgres"),
						   dataset_table(conf, "public", id));
	}
	else if (strcmp(t, "mysql") == 0 || strcmp(t, "mariadb") == 0)
	{
		d->namespace = psprintf("mysql://%s", dataset_authority(co, conf, "3306"));
		d->name = psprintf("%s.%s", dataset_opt(co, conf, "dbname", dataset_opt(co, conf, "database", "mysql")),
						   dataset_table(conf, NULL, id));
	}
	else if (strcmp(t, "sqlserver") == 0)
	{
		d->namespace = psprintf("sqlserver://%s", dataset_authority(co, conf, "1433"));
		d->name = psprintf("%s.%s", dataset_opt(co, conf, "database", dataset_opt(co, conf, "dbname", "master")),
						   dataset_table(conf, "dbo", id));
	}
	else if (strcmp(t, "oracle") == 0)
	{
		d->namespace = psprintf("oracle://%s", dataset_authority(co, conf, "1521"));
		d->name = psprintf("%s.%s", dataset_opt(co, conf, "service", dataset_opt(co, conf, "dbname", "ORCL")),
						   dataset_table(conf, NULL, id));
	}
	else if (strcmp(t, "http") == 0 || strcmp(t, "soap") == 0)
	{
		char	   *url = dataset_opt(co, conf, "base_url", dataset_opt(co, conf, "url", NULL));
		char	   *rest = url ? strstr(url, "://") : NULL;
		char	   *slash = rest ? strchr(rest + 3, '/') : NULL;
		char	   *p = dataset_opt(NULL, conf, "path", "");

		if (url == NULL)
			d->namespace = psprintf("%s://%s", t, MetaetlJStr(conf, "connection") ? MetaetlJStr(conf, "connection") : id);
		else
			d->namespace = slash ? pnstrdup(url, slash - url) : pstrdup(url);
		d->name = psprintf("%s%s%s", slash ? slash : "", (p[0] == '/' || p[0] == '\0') ? "" : "/", p);
		if (d->name[0] == '\0')
			d->name = pstrdup("/");
	}
	else if (strcmp(t, "s3") == 0 || strcmp(t, "gcs") == 0)
	{
		d->namespace = psprintf("%s://%s", strcmp(t, "s3") == 0 ? "s3" : "gs",
								dataset_opt(co, conf, "bucket", "unknown"));
		d->name = dataset_opt(NULL, conf, "key", dataset_opt(NULL, conf, "prefix", id));
	}
	else if (strcmp(t, "azure_blob") == 0)
	{
		d->namespace = psprintf("wasbs://%s@%s.blob.core.windows.net",
								dataset_opt(co, conf, "container", "unknown"),
								dataset_opt(co, conf, "account", "unknown"));
		d->name = dataset_opt(NULL, conf, "key", dataset_opt(NULL, conf, "prefix", id));
	}
	else if (path != NULL && conn_type == NULL)
	{
		/* server-side files: csv, json, ndjson and the other file formats */
		d->namespace = pstrdup("file");
		d->name = pstrdup(path);
	}
	else
	{
		char	   *conn = MetaetlJStr(conf, "connection");

		d->namespace = psprintf("%s://%s", t, conn ? conn : t);
		d->name = MetaetlJStr(conf, "table") ? dataset_table(conf, NULL, id)
			: path ? path : dataset_opt(NULL, conf, "key", id);
	}
	d->display = dataset_uri(d->namespace, d->name);
	d->local = false;
	return d;
}
