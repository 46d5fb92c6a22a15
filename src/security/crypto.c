/*-------------------------------------------------------------------------
 *
 * src/security/crypto.c
 *		Secrets sealed at rest with AES-256-GCM under a master key ring.
 *
 * Every secret metaetl stores (credentials, alert channel secrets) is
 * sealed as the text "metaetl2:<key id>:" followed by base64 of a 12-byte
 * random nonce, the 16-byte GCM tag and the ciphertext; the key id is also
 * the GCM additional data, so a sealed value cannot be passed off as one
 * sealed under another key.
 *
 * The keys live in $PGDATA/metaetl_keyring (mode 0600), one "<id>
 * <base64 key>" line each, the last one current.  The file is not in
 * pg_dump's output, so a dump holds only ciphertext: keep a copy of the file
 * to restore elsewhere.  0.1.0 kept one key in $PGDATA/metaetl_secret.key and
 * wrote "metaetl1:" values; that key is key "k0" and its values still open.
 * etl.rotate_master_key() adds a key and re-seals everything under it
 * (security/credentials.c); old keys stay so that a rolled-back rotation
 * loses nothing.  The ring is re-read when a value names a key this process
 * has not loaded.  OpenSSL contexts are freed in PG_FINALLY.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/base64.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "security/security.h"

PG_FUNCTION_INFO_V1(metaetl_seal_secret);
PG_FUNCTION_INFO_V1(metaetl_open_secret);

#define KEYRING_FILE	"metaetl_keyring"
#define LEGACY_KEY_FILE "metaetl_secret.key"
#define KEY_LEN			32
#define IV_LEN			12
#define TAG_LEN			16
#define PREFIX_V1		"metaetl1:"
#define PREFIX_V2		"metaetl2:"
#define MAX_KEYS		64

typedef struct RingKey
{
	char		id[16];
	unsigned char key[KEY_LEN];
} RingKey;

/* the ring as this process last read it (TopMemoryContext: lives as long) */
static RingKey *ring = NULL;
static int	nring = 0;

static char *
ring_path(const char *file)
{
	return psprintf("%s/%s", DataDir, file);
}

/* the legacy 0.1.0 key as k0, if its file exists */
static bool
ring_read_legacy(RingKey *k)
{
	char	   *path = ring_path(LEGACY_KEY_FILE);
	int			fd = OpenTransientFile(path, O_RDONLY | PG_BINARY);
	int			n;

	if (fd < 0)
	{
		if (errno == ENOENT)
			return false;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open metaetl key file \"%s\": %m", path)));
	}
	n = read(fd, k->key, KEY_LEN);
	CloseTransientFile(fd);
	if (n != KEY_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("metaetl key file \"%s\" is not %d bytes long", path, KEY_LEN)));
	strlcpy(k->id, "k0", sizeof(k->id));
	return true;
}

/* (re)read the ring file; false when it does not exist */
static bool
ring_load_file(void)
{
	char	   *path = ring_path(KEYRING_FILE);
	int			fd = OpenTransientFile(path, O_RDONLY | PG_BINARY);
	char		buf[MAX_KEYS * 80];
	int			len;
	RingKey    *keys;
	int			n = 0;
	char	   *line;
	char	   *save;

	if (fd < 0)
	{
		if (errno == ENOENT)
			return false;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open metaetl key ring \"%s\": %m", path)));
	}
	len = read(fd, buf, sizeof(buf) - 1);
	CloseTransientFile(fd);
	if (len < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not read metaetl key ring \"%s\": %m", path)));
	buf[len] = '\0';
	keys = MemoryContextAllocZero(TopMemoryContext, sizeof(RingKey) * (MAX_KEYS + 1));
	if (ring_read_legacy(&keys[0]))
		n = 1;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
	{
		char	   *sp = strchr(line, ' ');
		char		raw[KEY_LEN + 4];
		int			rawlen;

		if (sp == NULL || sp - line >= (int) sizeof(keys[0].id) || n >= MAX_KEYS)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("metaetl key ring \"%s\" is malformed", path)));
		rawlen = pg_b64_decode(sp + 1, strlen(sp + 1), raw, sizeof(raw));
		if (rawlen != KEY_LEN)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("metaetl key ring \"%s\" holds a key that is not %d bytes", path, KEY_LEN)));
		memcpy(keys[n].id, line, sp - line);
		keys[n].id[sp - line] = '\0';
		memcpy(keys[n].key, raw, KEY_LEN);
		n++;
	}
	if (ring)
		pfree(ring);
	ring = keys;
	nring = n;
	return true;
}

/*
 * ring_write
 *		Write the ring with one more key (id, fresh random bytes) through a
 *		temporary file and rename, fsynced; concurrent writers serialise on
 *		the rename (the later one re-reads and retries).
 */
static void
ring_append(const char *id)
{
	char	   *path = ring_path(KEYRING_FILE);
	char	   *tmp = psprintf("%s.tmp.%d", path, MyProcPid);
	StringInfoData b;
	unsigned char fresh[KEY_LEN];
	char		enc[64];
	int			enclen;
	int			fd;

	if (!pg_strong_random(fresh, KEY_LEN))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate a random metaetl master key")));
	initStringInfo(&b);
	for (int i = 0; i < nring; i++)
	{
		if (strcmp(ring[i].id, "k0") == 0)
			continue;			/* stays in its own legacy file */
		enclen = pg_b64_encode((char *) ring[i].key, KEY_LEN, enc, sizeof(enc));
		appendStringInfo(&b, "%s %.*s\n", ring[i].id, enclen, enc);
	}
	enclen = pg_b64_encode((char *) fresh, KEY_LEN, enc, sizeof(enc));
	appendStringInfo(&b, "%s %.*s\n", id, enclen, enc);

	fd = OpenTransientFilePerm(tmp, O_WRONLY | O_CREAT | O_TRUNC | PG_BINARY, S_IRUSR | S_IWUSR);
	if (fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create metaetl key ring \"%s\": %m", tmp)));
	if (write(fd, b.data, b.len) != b.len || pg_fsync(fd) != 0)
	{
		int			save_errno = errno;

		CloseTransientFile(fd);
		unlink(tmp);
		errno = save_errno;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not write metaetl key ring \"%s\": %m", tmp)));
	}
	CloseTransientFile(fd);
	if (durable_rename(tmp, path, ERROR) != 0)
		unlink(tmp);
	explicit_bzero(fresh, sizeof(fresh));
	explicit_bzero(b.data, b.len);
}

/* the ring, loaded; created with its first key when there is none */
static void
ring_load(void)
{
	if (ring != NULL)
		return;
	if (!ring_load_file())
	{
		RingKey		legacy;

		/* a 0.1.0 data directory: its key stays k0, new values use k1 */
		nring = 0;
		if (ring_read_legacy(&legacy))
		{
			ring = MemoryContextAllocZero(TopMemoryContext, sizeof(RingKey) * (MAX_KEYS + 1));
			ring[0] = legacy;
			nring = 1;
		}
		ring_append("k1");
		ring_load_file();
	}
}

static const RingKey *
ring_find(const char *id)
{
	for (int pass = 0; pass < 2; pass++)
	{
		ring_load();
		for (int i = 0; i < nring; i++)
			if (strcmp(ring[i].id, id) == 0)
				return &ring[i];
		/* another process may have rotated: read the file again */
		if (ring)
			pfree(ring);
		ring = NULL;
	}
	return NULL;
}

/*
 * MetaetlMasterKeyRotate
 *		Add a new current key to the ring; returns its id.  The caller
 *		re-seals what it stores (etl.rotate_master_key).
 */
char *
MetaetlMasterKeyRotate(void)
{
	int			max = 0;
	char	   *id;

	if (ring)
		pfree(ring);
	ring = NULL;
	ring_load();
	for (int i = 0; i < nring; i++)
		max = Max(max, atoi(ring[i].id + 1));
	id = psprintf("k%d", max + 1);
	ring_append(id);
	pfree(ring);
	ring = NULL;
	ring_load();
	return id;
}

/* the id of the key new values are sealed with */
const char *
MetaetlMasterKeyCurrent(void)
{
	ring_load();
	return ring[nring - 1].id;
}

/*
 * crypt_gcm
 *		AES-256-GCM with the key id as additional data: encrypt (tag out) or
 *		decrypt (tag checked).  False when decryption fails authentication.
 */
static bool
crypt_gcm(bool encrypt, const RingKey *k, bool with_aad, const unsigned char *in, int inlen,
		  unsigned char *out, const unsigned char *iv, unsigned char *tag)
{
	EVP_CIPHER_CTX *volatile ctx = EVP_CIPHER_CTX_new();
	volatile bool ok = false;

	if (ctx == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	PG_TRY();
	{
		int			len = 0;
		int			fin = 0;
		int			aadlen = 0;

		if (encrypt)
			ok = EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, k->key, iv) == 1 &&
				(!with_aad || EVP_EncryptUpdate(ctx, NULL, &aadlen, (const unsigned char *) k->id,
												strlen(k->id)) == 1) &&
				EVP_EncryptUpdate(ctx, out, &len, in, inlen) == 1 &&
				EVP_EncryptFinal_ex(ctx, out + len, &fin) == 1 &&
				EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) == 1;
		else
			ok = EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, k->key, iv) == 1 &&
				(!with_aad || EVP_DecryptUpdate(ctx, NULL, &aadlen, (const unsigned char *) k->id,
												strlen(k->id)) == 1) &&
				EVP_DecryptUpdate(ctx, out, &len, in, inlen) == 1 &&
				EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) == 1 &&
				EVP_DecryptFinal_ex(ctx, out + len, &fin) == 1;
	}
	PG_FINALLY();
	{
		EVP_CIPHER_CTX_free(ctx);
	}
	PG_END_TRY();
	if (encrypt && !ok)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not encrypt a secret")));
	return ok;
}

/*
 * MetaetlSeal
 *		The sealed text of len bytes of plain, under the current key.
 */
char *
MetaetlSeal(const char *plain, int len)
{
	const RingKey *k;
	int			rawlen = IV_LEN + TAG_LEN + len;
	unsigned char *raw = palloc(rawlen);
	StringInfoData out;
	int			enclen;

	ring_load();
	k = &ring[nring - 1];
	if (!pg_strong_random(raw, IV_LEN))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate a random nonce")));
	crypt_gcm(true, k, true, (const unsigned char *) plain, len, raw + IV_LEN + TAG_LEN, raw,
			  raw + IV_LEN);
	initStringInfo(&out);
	appendStringInfo(&out, "%s%s:", PREFIX_V2, k->id);
	enlargeStringInfo(&out, pg_b64_enc_len(rawlen) + 1);
	enclen = pg_b64_encode((char *) raw, rawlen, out.data + out.len, pg_b64_enc_len(rawlen));
	if (enclen < 0)
		elog(ERROR, "could not encode a sealed secret");
	out.len += enclen;
	out.data[out.len] = '\0';
	return out.data;
}

/*
 * MetaetlOpenSealed
 *		The plain bytes of a sealed value (NUL-terminated; *len set), or an
 *		error that names no part of the value.  key_id, when not NULL, gets
 *		the id of the key that sealed it.
 */
char *
MetaetlOpenSealed(const char *sealed, int *len, char **key_id)
{
	const char *b64;
	char		id[16];
	const RingKey *k;
	unsigned char *raw;
	int			rawlen;
	char	   *out;
	bool		v1 = strncmp(sealed, PREFIX_V1, strlen(PREFIX_V1)) == 0;

	if (v1)
	{
		strlcpy(id, "k0", sizeof(id));
		b64 = sealed + strlen(PREFIX_V1);
	}
	else if (strncmp(sealed, PREFIX_V2, strlen(PREFIX_V2)) == 0 &&
			 (b64 = strchr(sealed + strlen(PREFIX_V2), ':')) != NULL &&
			 b64 - (sealed + strlen(PREFIX_V2)) < (int) sizeof(id))
	{
		memcpy(id, sealed + strlen(PREFIX_V2), b64 - (sealed + strlen(PREFIX_V2)));
		id[b64 - (sealed + strlen(PREFIX_V2))] = '\0';
		b64++;
	}
	else
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("stored secret is not sealed by metaetl")));
	k = ring_find(id);
	if (k == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("stored secret was sealed with master key \"%s\", which is not in the key ring", id),
				 errhint("Restore $PGDATA/%s (and %s for values from 0.1.0) from a backup.",
						 KEYRING_FILE, LEGACY_KEY_FILE)));
	raw = palloc(pg_b64_dec_len(strlen(b64)) + 1);
	rawlen = pg_b64_decode(b64, strlen(b64), (char *) raw, pg_b64_dec_len(strlen(b64)));
	if (rawlen < IV_LEN + TAG_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("stored secret is malformed")));
	*len = rawlen - IV_LEN - TAG_LEN;
	out = palloc(*len + 1);
	/* 0.1.0 values were sealed without additional data */
	if (!crypt_gcm(false, k, !v1, raw + IV_LEN + TAG_LEN, *len, (unsigned char *) out, raw,
				   raw + IV_LEN))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("could not decrypt a stored secret"),
				 errdetail("It was altered, or master key \"%s\" is not the key it was sealed with.", id),
				 errhint("Restore $PGDATA/%s from a backup.", KEYRING_FILE)));
	out[*len] = '\0';
	if (key_id)
		*key_id = pstrdup(id);
	return out;
}

/* etl._seal_secret(value text) returns text */
Datum
metaetl_seal_secret(PG_FUNCTION_ARGS)
{
	text	   *value = PG_GETARG_TEXT_PP(0);

	PG_RETURN_TEXT_P(cstring_to_text(MetaetlSeal(VARDATA_ANY(value), VARSIZE_ANY_EXHDR(value))));
}

/* etl._open_secret(sealed text) returns text */
Datum
metaetl_open_secret(PG_FUNCTION_ARGS)
{
	int			len;
	char	   *plain = MetaetlOpenSealed(text_to_cstring(PG_GETARG_TEXT_PP(0)), &len, NULL);

	PG_RETURN_TEXT_P(cstring_to_text_with_len(plain, len));
}
