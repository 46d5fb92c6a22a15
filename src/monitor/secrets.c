/*-------------------------------------------------------------------------
 *
 * src/monitor/secrets.c
 *		Alert channel secrets sealed at rest with AES-256-GCM.
 *
 * etl.add_alert_channel stores each secret value of a channel config
 * (password, token, secret, webhook_url, headers) sealed: the text
 * "metaetl1:" followed by base64 of a 12-byte random nonce, the 16-byte GCM
 * tag and the ciphertext of the value's JSON text.  The key is 32 random
 * bytes in $PGDATA/metaetl_secret.key (mode 0600), created on first use;
 * it is not in pg_dump's output, so a dump holds only ciphertext (keep a
 * copy of the key file to restore channels elsewhere).  Only the delivery
 * code opens them, just before sending.  The OpenSSL context is freed in
 * PG_FINALLY.
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

#include "monitor/monitor.h"

PG_FUNCTION_INFO_V1(metaetl_seal_secret);
PG_FUNCTION_INFO_V1(metaetl_open_secret);

#define SECRET_KEY_FILE "metaetl_secret.key"
#define SECRET_KEY_LEN 32
#define SECRET_IV_LEN 12
#define SECRET_TAG_LEN 16
#define SECRET_PREFIX "metaetl1:"

static unsigned char secret_key[SECRET_KEY_LEN];
static bool secret_key_loaded = false;

static char *
secret_key_path(void)
{
	return psprintf("%s/%s", DataDir, SECRET_KEY_FILE);
}

/* read the key file; false if it does not exist */
static bool
secret_key_read(const char *path)
{
	int			fd = OpenTransientFile(path, O_RDONLY | PG_BINARY);
	int			n;

	if (fd < 0)
	{
		if (errno == ENOENT)
			return false;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open metaetl secret key file \"%s\": %m", path)));
	}
	n = read(fd, secret_key, SECRET_KEY_LEN);
	CloseTransientFile(fd);
	if (n != SECRET_KEY_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("metaetl secret key file \"%s\" is not %d bytes long", path, SECRET_KEY_LEN),
				 errhint("Restore the key file from a backup; without it, sealed alert channel secrets cannot be read.")));
	return true;
}

/* the key, loaded once per process; created (atomically, via link) when missing */
static void
secret_key_load(void)
{
	char	   *path;
	char	   *tmp;
	unsigned char fresh[SECRET_KEY_LEN];
	int			fd;

	if (secret_key_loaded)
		return;
	path = secret_key_path();
	if (!secret_key_read(path))
	{
		if (!pg_strong_random(fresh, SECRET_KEY_LEN))
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("could not generate a random metaetl secret key")));
		tmp = psprintf("%s.tmp.%d", path, MyProcPid);
		fd = OpenTransientFile(tmp, O_WRONLY | O_CREAT | O_TRUNC | PG_BINARY);
		if (fd < 0)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not create metaetl secret key file \"%s\": %m", tmp)));
		if (write(fd, fresh, SECRET_KEY_LEN) != SECRET_KEY_LEN || pg_fsync(fd) != 0)
		{
			int			save_errno = errno;

			CloseTransientFile(fd);
			unlink(tmp);
			errno = save_errno;
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not write metaetl secret key file \"%s\": %m", tmp)));
		}
		CloseTransientFile(fd);
		/* first one to link wins; everybody then reads the winner's key */
		if (link(tmp, path) != 0 && errno != EEXIST)
		{
			int			save_errno = errno;

			unlink(tmp);
			errno = save_errno;
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not create metaetl secret key file \"%s\": %m", path)));
		}
		unlink(tmp);
		if (!secret_key_read(path))
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("metaetl secret key file \"%s\" vanished", path)));
	}
	secret_key_loaded = true;
}

/*
 * secret_crypt
 *		AES-256-GCM: encrypt (iv random, tag out) or decrypt (tag checked).
 *		Returns false when decryption fails authentication.
 */
static bool
secret_crypt(bool encrypt, const unsigned char *in, int inlen, unsigned char *out,
			 unsigned char *iv, unsigned char *tag)
{
	EVP_CIPHER_CTX *volatile ctx = EVP_CIPHER_CTX_new();
	volatile bool ok = false;

	if (ctx == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	PG_TRY();
	{
		int			len = 0;
		int			fin = 0;

		if (encrypt)
		{
			ok = EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, secret_key, iv) == 1 &&
				EVP_EncryptUpdate(ctx, out, &len, in, inlen) == 1 &&
				EVP_EncryptFinal_ex(ctx, out + len, &fin) == 1 &&
				EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, SECRET_TAG_LEN, tag) == 1;
			if (!ok)
				ereport(ERROR,
						(errcode(ERRCODE_INTERNAL_ERROR),
						 errmsg("could not encrypt an alert channel secret")));
		}
		else
			ok = EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, secret_key, iv) == 1 &&
				EVP_DecryptUpdate(ctx, out, &len, in, inlen) == 1 &&
				EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SECRET_TAG_LEN, tag) == 1 &&
				EVP_DecryptFinal_ex(ctx, out + len, &fin) == 1;
	}
	PG_FINALLY();
	{
		EVP_CIPHER_CTX_free(ctx);
	}
	PG_END_TRY();
	return ok;
}

/*
 * etl._seal_secret(value text) returns text
 */
Datum
metaetl_seal_secret(PG_FUNCTION_ARGS)
{
	text	   *value = PG_GETARG_TEXT_PP(0);
	int			len = VARSIZE_ANY_EXHDR(value);
	int			rawlen = SECRET_IV_LEN + SECRET_TAG_LEN + len;
	unsigned char *raw = palloc(rawlen);
	char	   *enc;
	int			enclen;

	secret_key_load();
	if (!pg_strong_random(raw, SECRET_IV_LEN))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate a random nonce")));
	secret_crypt(true, (unsigned char *) VARDATA_ANY(value), len,
				 raw + SECRET_IV_LEN + SECRET_TAG_LEN, raw, raw + SECRET_IV_LEN);

	enc = palloc(strlen(SECRET_PREFIX) + pg_b64_enc_len(rawlen) + 1);
	strcpy(enc, SECRET_PREFIX);
	enclen = pg_b64_encode((char *) raw, rawlen, enc + strlen(SECRET_PREFIX), pg_b64_enc_len(rawlen));
	if (enclen < 0)
		elog(ERROR, "could not encode a sealed secret");
	enc[strlen(SECRET_PREFIX) + enclen] = '\0';
	PG_RETURN_TEXT_P(cstring_to_text(enc));
}

/*
 * etl._open_secret(sealed text) returns text
 */
Datum
metaetl_open_secret(PG_FUNCTION_ARGS)
{
	char	   *sealed = text_to_cstring(PG_GETARG_TEXT_PP(0));
	size_t		plen = strlen(SECRET_PREFIX);
	char	   *b64;
	unsigned char *raw;
	int			rawlen;
	int			len;
	unsigned char *out;

	if (strncmp(sealed, SECRET_PREFIX, plen) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("alert channel secret is not sealed")));
	b64 = sealed + plen;
	raw = palloc(pg_b64_dec_len(strlen(b64)) + 1);
	rawlen = pg_b64_decode(b64, strlen(b64), (char *) raw, pg_b64_dec_len(strlen(b64)));
	if (rawlen < SECRET_IV_LEN + SECRET_TAG_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("alert channel secret is malformed")));
	secret_key_load();
	len = rawlen - SECRET_IV_LEN - SECRET_TAG_LEN;
	out = palloc(len + 1);
	if (!secret_crypt(false, raw + SECRET_IV_LEN + SECRET_TAG_LEN, len, out,
					  raw, raw + SECRET_IV_LEN))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("could not decrypt an alert channel secret"),
				 errdetail("It was sealed with another key than the one in the data directory's %s, or altered.",
						   SECRET_KEY_FILE),
				 errhint("Restore the key file the channel was added with, or add the channel again.")));
	out[len] = '\0';
	PG_RETURN_TEXT_P(cstring_to_text_with_len((char *) out, len));
}
