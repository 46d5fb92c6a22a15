/*-------------------------------------------------------------------------
 *
 * src/security/secret_stores.c
 *		Secret stores: credentials whose secret lives elsewhere and is
 *		fetched at run time, cached for a while in the backend, never
 *		stored.
 *
 * A credential {"store": "vault", "ref": "path#key", "user": "etl"} names
 * a store (etl.add_secret_store) and a reference in it; other fields are
 * kept as given and merged with what the store returns.  "path#key" takes
 * one key of the object the store returns for path (the result is
 * {"key": value}); "path" alone takes the whole object.
 *
 * Who may point a credential at a store: the store's owner, etl_admin
 * members and superusers — otherwise any role could read any secret the
 * store's own token can reach.  Types env and file read the server's
 * environment and file system and are configured by superusers only.
 * Fetched secrets are cached per backend, keyed by store and reference,
 * for the store's ttl_s (default 300 s), in a memory context of their own
 * that is zeroed when an entry expires.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "metaetl.h"
#include "orchestrator/orchestrator.h"
#include "security/security.h"
#include "util/ident.h"

PG_FUNCTION_INFO_V1(metaetl_add_secret_store);

typedef struct StoreRow
{
	char	   *name;
	char	   *type;
	Jsonb	   *options;
	char	   *credential;
	Oid			owner;
} StoreRow;

typedef struct CacheEntry
{
	char	   *store;
	char	   *ref;
	char	   *value;			/* the fetched JSON text */
	TimestampTz expires;
	struct CacheEntry *next;
} CacheEntry;

static MemoryContext cache_cxt = NULL;
static CacheEntry *cache = NULL;

static const char *const store_types[] = {
	"aws_secrets_manager", "hashicorp_vault", "azure_key_vault", "env", "file", NULL
};

/* ------------------------------------------------------------ the table */

static StoreRow *
store_read(const char *name)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(name)};
	MetaetlPrivState st;
	StoreRow   *r = NULL;
	MemoryContext cxt = CurrentMemoryContext;

	MetaetlOwnerBegin(&st);
	SPI_connect();
	MetaetlSpiExec("SELECT type, options, credential, owner FROM etl.secret_stores"
				   " WHERE name OPERATOR(pg_catalog.=) $1", 1, types, values, NULL, true, 1);
	if (SPI_processed == 1)
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		Datum		opts = SPI_getbinval(tup, desc, 2, &isnull);
		MemoryContext old = MemoryContextSwitchTo(cxt);

		r = palloc0(sizeof(StoreRow));
		r->name = pstrdup(name);
		r->type = pstrdup(SPI_getvalue(tup, desc, 1));
		r->options = DatumGetJsonbPCopy(opts);
		r->credential = SPI_getvalue(tup, desc, 3) ? pstrdup(SPI_getvalue(tup, desc, 3)) : NULL;
		r->owner = get_role_oid(SPI_getvalue(tup, desc, 4), true);
		MemoryContextSwitchTo(old);
	}
	SPI_finish();
	MetaetlOwnerEnd(&st);
	return r;
}

/*
 * store_usable
 *		May the current role point credentials at store r?  Its owner and
 *		etl_admin members may; so may members of a role in the store's
 *		allowed_roles option.
 */
static bool
store_usable(StoreRow *r)
{
	JsonbValue *roles;

	if (MetaetlRoleActsFor(GetUserId(), r->owner))
		return true;
	roles = getKeyJsonValueFromContainer(&r->options->root, "allowed_roles", strlen("allowed_roles"), NULL);
	if (roles && roles->type == jbvBinary && JsonContainerIsArray(roles->val.binary.data))
	{
		for (uint32 i = 0; i < JsonContainerSize(roles->val.binary.data); i++)
		{
			JsonbValue *e = getIthJsonbValueFromContainer(roles->val.binary.data, i);
			Oid			role;

			if (e->type != jbvString)
				continue;
			role = get_role_oid(pnstrdup(e->val.string.val, e->val.string.len), true);
			if (OidIsValid(role) && has_privs_of_role(GetUserId(), role))
				return true;
		}
	}
	return false;
}

/*
 * MetaetlSecretStoreCheckRef
 *		At etl.add_credential / rotate_credential: the store must exist and
 *		the caller must be allowed to point credentials at it.
 */
void
MetaetlSecretStoreCheckRef(const char *cred_name, Jsonb *secret)
{
	char	   *store = MetaetlSecretField(secret, "store");
	char	   *ref = MetaetlSecretField(secret, "ref");
	StoreRow   *r = store_read(store);

	if (ref == NULL || ref[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("credential \"%s\" names store \"%s\" but no ref", cred_name, store),
				 errhint("Give {\"store\": \"%s\", \"ref\": \"path#key\"}.", store),
				 errhidestmt(true)));
	if (r == NULL || !OidIsValid(r->owner) || !store_usable(r))
	{
		MetaetlAccessLog("secret_store_ref", "secret_store", store, false, cred_name);
		ereport(ERROR,
				(errcode(r ? ERRCODE_INSUFFICIENT_PRIVILEGE : ERRCODE_UNDEFINED_OBJECT),
				 errmsg("secret store \"%s\" does not exist or is not yours", store),
				 errdetail("Credential \"%s\".", cred_name),
				 errhint("A store is usable by its owner, etl_admin members and the members of its allowed_roles."),
				 errhidestmt(true)));
	}
	{
		char	   *prefix = MetaetlSecretField(r->options, "path_prefix");

		if (prefix && strncmp(ref, prefix, strlen(prefix)) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("secret store \"%s\" serves only references under \"%s\"", store, prefix),
					 errdetail("Credential \"%s\".", cred_name),
					 errhidestmt(true)));
	}
}

/* ------------------------------------------------------------ fetching */

/* split "path#key" */
static void
split_ref(const char *ref, char **path, char **key)
{
	const char *h = strrchr(ref, '#');

	*path = h ? pnstrdup(ref, h - ref) : pstrdup(ref);
	*key = h ? pstrdup(h + 1) : NULL;
}

/* env: the variable's value; the store's prefix (default METAETL_) guards what is readable */
static char *
fetch_env(StoreRow *s, const char *path)
{
	char	   *prefix = MetaetlSecretField(s->options, "prefix");
	const char *value;

	if (prefix == NULL)
		prefix = "METAETL_";
	if (strncmp(path, prefix, strlen(prefix)) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("secret store \"%s\" reads only environment variables starting with %s", s->name, prefix)));
	value = getenv(path);
	if (value == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("secret store \"%s\": environment variable %s is not set in the server", s->name, path)));
	return pstrdup(value);
}

/* file: the file's content, inside the store's directory */
static char *
fetch_file(StoreRow *s, const char *path)
{
	char	   *dir = MetaetlSecretField(s->options, "directory");
	char	   *full;
	int			fd;
	struct stat st;
	char	   *buf;
	int			n;

	if (dir == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("secret store \"%s\" has no directory", s->name)));
	if (path[0] == '/' || strstr(path, "..") != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("secret store \"%s\": ref must be a relative path inside its directory", s->name)));
	full = psprintf("%s/%s", dir, path);
	fd = OpenTransientFile(full, O_RDONLY | PG_BINARY);
	if (fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("secret store \"%s\": could not open \"%s\": %m", s->name, path)));
	if (fstat(fd, &st) != 0 || st.st_size > 1024 * 1024)
	{
		CloseTransientFile(fd);
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("secret store \"%s\": \"%s\" is not a readable file of at most 1 MB", s->name, path)));
	}
	buf = palloc(st.st_size + 1);
	n = read(fd, buf, st.st_size);
	CloseTransientFile(fd);
	if (n != st.st_size)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("secret store \"%s\": could not read \"%s\"", s->name, path)));
	buf[n] = '\0';
	/* a trailing newline (echo > file) is not part of the secret */
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	return buf;
}

/* the raw value at path (JSON object text, or a plain string) */
static char *
store_fetch(StoreRow *s, const char *path, Oid role)
{
	if (strcmp(s->type, "env") == 0)
		return fetch_env(s, path);
	if (strcmp(s->type, "file") == 0)
		return fetch_file(s, path);
	return MetaetlSecretStoreFetchHttp(s->name, s->type, s->options,
									   s->credential ? MetaetlCredentialSecret(s->credential, s->owner,
																			   psprintf("secret store %s", s->name))
									   : NULL,
									   path);
}

static char *
cache_get(const char *store, const char *ref)
{
	TimestampTz now = GetCurrentTimestamp();

	for (CacheEntry *e = cache; e; e = e->next)
		if (strcmp(e->store, store) == 0 && strcmp(e->ref, ref) == 0 && e->expires > now)
			return e->value;
	return NULL;
}

static void
cache_put(const char *store, const char *ref, const char *value, int ttl_s)
{
	MemoryContext old;
	CacheEntry *e;

	if (ttl_s <= 0)
		return;
	if (cache_cxt == NULL)
		cache_cxt = AllocSetContextCreate(TopMemoryContext, "metaetl secret cache", ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(cache_cxt);
	e = palloc0(sizeof(CacheEntry));
	e->store = pstrdup(store);
	e->ref = pstrdup(ref);
	e->value = pstrdup(value);
	e->expires = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), (int64) ttl_s * 1000);
	e->next = cache;
	cache = e;
	MemoryContextSwitchTo(old);
}

/*
 * MetaetlSecretStoreForget
 *		Drop every cached value (a credential or store changed).  Zeroes the
 *		values before the memory goes back.
 */
void
MetaetlSecretStoreForget(const char *unused)
{
	for (CacheEntry *e = cache; e; e = e->next)
		explicit_bzero(e->value, strlen(e->value));
	cache = NULL;
	if (cache_cxt)
		MemoryContextReset(cache_cxt);
}

/*
 * MetaetlSecretStoreResolve
 *		A credential's secret that points to a store, with the store's value
 *		merged in; the store fetch is recorded in etl.access_log.
 */
Jsonb *
MetaetlSecretStoreResolve(Jsonb *secret, const char *cred_name, Oid role)
{
	char	   *store = MetaetlSecretField(secret, "store");
	char	   *ref = MetaetlSecretField(secret, "ref");
	StoreRow   *s = store_read(store);
	char	   *path;
	char	   *key;
	char	   *raw;
	Jsonb	   *fetched = NULL;
	JsonbValue *picked = NULL;
	StringInfoData out;
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	bool		first = true;
	char	   *ttl;

	if (s == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("credential \"%s\" names secret store \"%s\", which does not exist", cred_name, store)));
	split_ref(ref, &path, &key);
	raw = cache_get(store, path);
	if (raw == NULL)
	{
		PG_TRY();
		{
			raw = store_fetch(s, path, role);
		}
		PG_CATCH();
		{
			MetaetlAccessLog("secret_store_fetch", "secret_store", store, false, cred_name);
			PG_RE_THROW();
		}
		PG_END_TRY();
		MetaetlAccessLog("secret_store_fetch", "secret_store", store, true, cred_name);
		ttl = MetaetlSecretField(s->options, "ttl_s");
		cache_put(store, path, raw, ttl ? atoi(ttl) : 300);
	}

	/* the fetched value: a JSON object, or a plain string */
	if (raw[0] == '{')
	{
		PG_TRY();
		{
			fetched = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(raw)));
		}
		PG_CATCH();
		{
			FlushErrorState();
			fetched = NULL;
		}
		PG_END_TRY();
	}
	initStringInfo(&out);
	appendStringInfoChar(&out, '{');
	/* the credential's own fields, but store and ref */
	it = JsonbIteratorInit(&secret->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok != WJB_KEY)
			continue;
		{
			char	   *k = pnstrdup(v.val.string.val, v.val.string.len);

			tok = JsonbIteratorNext(&it, &v, true);
			if (strcmp(k, "store") == 0 || strcmp(k, "ref") == 0)
				continue;
			if (!first)
				appendStringInfoString(&out, ", ");
			first = false;
			escape_json(&out, k);
			appendStringInfoString(&out, ": ");
			appendStringInfoString(&out, JsonbToCString(NULL, &JsonbValueToJsonb(&v)->root, 0));
		}
	}
	if (key)
	{
		if (fetched)
			picked = getKeyJsonValueFromContainer(&fetched->root, key, strlen(key), NULL);
		if (fetched && picked == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("secret store \"%s\": %s has no key \"%s\"", store, path, key),
					 errdetail("Credential \"%s\".", cred_name)));
		if (!first)
			appendStringInfoString(&out, ", ");
		escape_json(&out, key);
		appendStringInfoString(&out, ": ");
		if (picked)
			appendStringInfoString(&out, JsonbToCString(NULL, &JsonbValueToJsonb(picked)->root, 0));
		else
			escape_json(&out, raw);
		appendStringInfoChar(&out, '}');
	}
	else if (fetched && JB_ROOT_IS_OBJECT(fetched))
	{
		/* the whole object: its fields after the credential's own */
		char	   *obj = JsonbToCString(NULL, &fetched->root, VARSIZE(fetched));

		if (!first && strlen(obj) > 2)
			appendStringInfoString(&out, ", ");
		appendBinaryStringInfo(&out, obj + 1, strlen(obj) - 1);
	}
	else
	{
		if (!first)
			appendStringInfoString(&out, ", ");
		appendStringInfoString(&out, "\"value\": ");
		escape_json(&out, raw);
		appendStringInfoChar(&out, '}');
	}
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(out.data)));
}

/* ------------------------------------------------------------ add */

/* etl.add_secret_store(name text, type text, options jsonb, credential text DEFAULT NULL) → void */
Datum
metaetl_add_secret_store(PG_FUNCTION_ARGS)
{
	char	   *name = PG_ARGISNULL(0) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *type = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	Jsonb	   *options = PG_ARGISNULL(2) ? NULL : PG_GETARG_JSONB_P(2);
	char	   *credential = PG_ARGISNULL(3) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(3));
	bool		known = false;
	Oid			types[5] = {TEXTOID, TEXTOID, JSONBOID, TEXTOID, TEXTOID};
	Datum		values[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};
	MetaetlPrivState st;

	if (name == NULL || !MetaetlIdentValid(name))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_NAME),
				 errmsg("\"%s\" is not a valid secret store name", name ? name : "(null)"),
				 errhint("Use lower-case letters, digits and _, starting with a letter, at most 63 bytes.")));
	for (const char *const *t = store_types; *t; t++)
		known |= type && strcmp(*t, type) == 0;
	if (!known)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown secret store type \"%s\"", type ? type : "(null)"),
				 errhint("Types: aws_secrets_manager, hashicorp_vault, azure_key_vault, env, file.")));
	if (!MetaetlIsAdmin(GetUserId()))
	{
		MetaetlAccessLog("secret_store_add", "secret_store", name, false, "not etl_admin");
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to add secret store \"%s\"", name),
				 errhint("Secret stores are added by superusers and members of etl_admin; other roles use them through allowed_roles.")));
	}
	if ((strcmp(type, "env") == 0 || strcmp(type, "file") == 0) && !superuser())
	{
		MetaetlAccessLog("secret_store_add", "secret_store", name, false, "env and file need a superuser");
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("only superusers may add %s secret stores", type),
				 errdetail("They read the server's %s.", strcmp(type, "env") == 0 ? "environment" : "file system")));
	}
	if (options == NULL)
		options = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum("{}")));
	if (!JB_ROOT_IS_OBJECT(options))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("secret store options must be a JSON object")));
	MetaetlSecretStoreCheckOptions(name, type, options);
	if (credential)
		(void) MetaetlCredentialSecret(credential, GetUserId(), psprintf("secret store %s", name));

	values[0] = CStringGetTextDatum(name);
	values[1] = CStringGetTextDatum(type);
	values[2] = JsonbPGetDatum(options);
	values[3] = credential ? CStringGetTextDatum(credential) : (Datum) 0;
	nulls[3] = credential ? ' ' : 'n';
	values[4] = CStringGetTextDatum(GetUserNameFromId(GetUserId(), false));
	MetaetlOwnerBegin(&st);
	SPI_connect();
	MetaetlSpiExec("INSERT INTO etl.secret_stores AS s (name, type, options, credential, owner)"
				   " VALUES ($1, $2, $3, $4, $5::pg_catalog.name)"
				   " ON CONFLICT (name) DO UPDATE SET type = EXCLUDED.type, options = EXCLUDED.options,"
				   "   credential = EXCLUDED.credential, updated_at = pg_catalog.now()",
				   5, types, values, nulls, false, 0);
	SPI_finish();
	MetaetlOwnerEnd(&st);
	MetaetlSecretStoreForget(NULL);
	MetaetlAccessLog("secret_store_add", "secret_store", name, true, type);
	PG_RETURN_VOID();
}
