/*-------------------------------------------------------------------------
 *
 * src/security/security.h
 *		The security manager: named connections and the credentials they
 *		use, secrets sealed at rest, secret stores, and masking of secrets
 *		in everything metaetl writes or shows.
 *
 * Connectors never read etl.credentials or etl.data_sources themselves:
 * they ask here, as the run's role.  A credential is usable only by its
 * owner and by etl_admin members; every use, every secret-store fetch and
 * every refusal is recorded in etl.access_log.  Secrets are returned as
 * jsonb in the caller's memory context; callers pass them to libraries and
 * never put them in an error, a log line, a run record or a stored
 * response — MetaetlRedact masks them (and their base64 and URL-encoded
 * forms) in any text that might carry them back (an HTTP reply, a driver's
 * error message).
 *
 *-------------------------------------------------------------------------
 */
#ifndef METAETL_SECURITY_H
#define METAETL_SECURITY_H

#include "postgres.h"

#include "utils/jsonb.h"

/* A row of etl.data_sources / etl.data_targets, as its user may see it. */
typedef struct MetaetlConnection
{
	char	   *name;
	char	   *type;			/* etl.add_connection type: postgresql, mysql, s3 ... */
	Jsonb	   *options;		/* never holds a secret (add_connection refuses) */
	char	   *credential;		/* name in etl.credentials, or NULL */
	Oid			owner;
} MetaetlConnection;

/* in security/privs.c: owner sections and user-code sections */
typedef struct MetaetlPrivState
{
	Oid			saved_user;
	int			saved_context;
	int			guc_nest;
} MetaetlPrivState;

extern Oid	MetaetlExtensionOwner(void);
extern void MetaetlOwnerBegin(MetaetlPrivState *st);
extern void MetaetlOwnerEnd(MetaetlPrivState *st);
extern void MetaetlUserCodeBegin(MetaetlPrivState *st, Oid role, bool restricted);
extern void MetaetlUserCodeEnd(MetaetlPrivState *st);

/* in security/access.c: etl.access_log */
extern void MetaetlAccessLogInit(void);
extern void MetaetlAccessLog(const char *action, const char *object_type, const char *object_id,
							 bool granted, const char *reason);
extern int	MetaetlAccessLogDrain(void);

/* in security/crypto.c: AES-256-GCM under the master key ring */
extern char *MetaetlSeal(const char *plain, int len);
extern char *MetaetlOpenSealed(const char *sealed, int *len, char **key_id);
extern char *MetaetlMasterKeyRotate(void);
extern const char *MetaetlMasterKeyCurrent(void);

/* in security/credentials.c */

/*
 * The connection "name" (a source connection when is_source, else a target
 * one; either table is searched second).  NULL when missing_ok and absent;
 * otherwise 42704 naming "for_what" (e.g. "source \"orders\"").
 */
extern MetaetlConnection *MetaetlGetConnection(const char *name, bool is_source, bool missing_ok,
											   const char *for_what);

/*
 * The secret of credential "name" for role "role" (the run's role): a jsonb
 * object such as {"user": ..., "password": ...}.  Raises 42501 when the
 * role may not use it, 42704 when it does not exist.  A credential that
 * points to a secret store ({"store": NAME, "ref": "path#key"}) is resolved
 * here.  "purpose" is recorded in etl.access_log ("connection crm").
 */
extern Jsonb *MetaetlCredentialSecret(const char *name, Oid role, const char *purpose);

/* The secret of a connection's credential, or NULL if it has none. */
extern Jsonb *MetaetlConnectionSecret(MetaetlConnection *conn, Oid role);

/* One string field of a secret ("password"), or NULL. */
extern char *MetaetlSecretField(Jsonb *secret, const char *key);

/* Superuser or etl_admin member; may act for owner (owner, member, admin). */
extern bool MetaetlIsAdmin(Oid role);
extern bool MetaetlRoleActsFor(Oid role, Oid owner);

/* in security/secret_stores.c */
extern void MetaetlSecretStoreCheckRef(const char *cred_name, Jsonb *secret);
extern Jsonb *MetaetlSecretStoreResolve(Jsonb *secret, const char *cred_name, Oid role);
extern void MetaetlSecretStoreForget(const char *cred_name);

/* in security/store_http.c: stores reached over HTTPS */
extern void MetaetlSecretStoreCheckOptions(const char *name, const char *type, Jsonb *options);
extern char *MetaetlSecretStoreFetchHttp(const char *name, const char *type, Jsonb *options,
										 Jsonb *store_secret, const char *path);
extern char *MetaetlSecretStoreFetchAws(const char *name, Jsonb *options, Jsonb *secret,
										const char *path);

/*
 * text with every string value of "secret" (and its base64, base64url and
 * percent-encoded forms, and base64 of "user:password") replaced by ***.
 * Returns a new string; text may be NULL (NULL returned).
 */
extern char *MetaetlRedact(const char *text, Jsonb *secret);

#endif							/* METAETL_SECURITY_H */
