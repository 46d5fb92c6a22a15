/*-------------------------------------------------------------------------
 *
 * src/monitor/health.c
 *		etl.health(): what is running and what the library was built with.
 *
 * The report names the extension and server versions, whether the library
 * was preloaded, the scheduler's state and the versions of the linked
 * libraries (libyaml, libcurl, OpenSSL), proving the build links all three.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <yaml.h>

#include "commands/dbcommands.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "metaetl.h"
#include "scheduler/scheduler.h"

PG_FUNCTION_INFO_V1(metaetl_health);

static void
health_push_string(JsonbParseState **state, const char *key, const char *value)
{
	JsonbValue	k;
	JsonbValue	v;

	k.type = jbvString;
	k.val.string.val = pstrdup(key);
	k.val.string.len = strlen(key);
	pushJsonbValue(state, WJB_KEY, &k);

	if (value == NULL)
		v.type = jbvNull;
	else
	{
		v.type = jbvString;
		v.val.string.val = pstrdup(value);
		v.val.string.len = strlen(value);
	}
	pushJsonbValue(state, WJB_VALUE, &v);
}

static void
health_push_bool(JsonbParseState **state, const char *key, bool value)
{
	JsonbValue	k;
	JsonbValue	v;

	k.type = jbvString;
	k.val.string.val = pstrdup(key);
	k.val.string.len = strlen(key);
	pushJsonbValue(state, WJB_KEY, &k);

	v.type = jbvBool;
	v.val.boolean = value;
	pushJsonbValue(state, WJB_VALUE, &v);
}

/*
 * etl.health() returns jsonb
 */
Datum
metaetl_health(PG_FUNCTION_ARGS)
{
	JsonbParseState *state = NULL;
	JsonbValue *res;
	const curl_version_info_data *curl = curl_version_info(CURLVERSION_NOW);

	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	health_push_string(&state, "extension_version", METAETL_VERSION);
	health_push_string(&state, "postgresql_version", PG_VERSION);
	health_push_string(&state, "postgresql_version_full", PG_VERSION_STR);
	health_push_bool(&state, "preloaded", MetaetlPreloaded);
	health_push_string(&state, "scheduler", MetaetlSchedulerStateName());
	health_push_string(&state, "database", get_database_name(MyDatabaseId));
	health_push_string(&state, "environment", metaetl_environment);
	health_push_string(&state, "libyaml_version", yaml_get_version_string());
	health_push_string(&state, "libcurl_version", curl->version);
	health_push_string(&state, "openssl_version", OpenSSL_version(OPENSSL_VERSION));
	res = pushJsonbValue(&state, WJB_END_OBJECT, NULL);

	PG_RETURN_JSONB_P(JsonbValueToJsonb(res));
}
