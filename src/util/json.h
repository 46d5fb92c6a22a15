/*-------------------------------------------------------------------------
 *
 * src/util/json.h
 *		The one family of jsonb readers (util/json.c), for every subsystem.
 *
 * Strict readers (MetaetlJGet ... MetaetlJObjEntries) read a normalised
 * pipeline config: JSON null counts as missing, the wrong kind of value is
 * a 22023 error naming the key.  Lenient readers (MetaetlJGetAny ...
 * MetaetlJTextArray) read jsonb metaetl wrote itself: the wrong kind reads
 * as absent.  Include after "postgres.h".
 *
 *-------------------------------------------------------------------------
 */
#ifndef METAETL_UTIL_JSON_H
#define METAETL_UTIL_JSON_H

#include "nodes/pg_list.h"
#include "utils/jsonb.h"

/* strict: normalised configs */
extern JsonbValue *MetaetlJGet(JsonbContainer *c, const char *key);
extern char *MetaetlJStr(JsonbContainer *c, const char *key);
extern char *MetaetlJValueText(JsonbValue *v);
extern JsonbContainer *MetaetlJObj(JsonbContainer *c, const char *key);
extern List *MetaetlJStrList(JsonbContainer *c, const char *key, const char *what);
extern int	MetaetlJObjEntries(JsonbContainer *obj, char ***keys, JsonbValue ***vals);
extern bool MetaetlJBool(JsonbContainer *c, const char *key, bool dflt);
extern int	MetaetlJArrayLen(JsonbContainer *c);
extern JsonbValue *MetaetlJArrayAt(JsonbContainer *c, int i);

/* lenient: jsonb metaetl wrote itself */
extern JsonbValue *MetaetlJGetAny(JsonbContainer *c, const char *key);
extern char *MetaetlJString(JsonbContainer *c, const char *key);
extern bool MetaetlJNumber(JsonbContainer *c, const char *key, double *out);
extern char *MetaetlJNumberText(JsonbContainer *c, const char *key);
extern bool MetaetlJBoolOr(JsonbContainer *c, const char *key, bool dflt);
extern JsonbContainer *MetaetlJContainer(JsonbContainer *c, const char *key);
extern char *MetaetlJJsonText(JsonbContainer *c, const char *key);
extern List *MetaetlJStrings(JsonbContainer *c, const char *key);
extern Datum MetaetlJTextArray(JsonbContainer *c, const char *key, int *n);

#endif							/* METAETL_UTIL_JSON_H */
