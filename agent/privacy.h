/* SPDX-License-Identifier: MIT */
/*
 * The privacy stage: keyed tokens for customer identifiers and daily
 * hashes for device identifiers, so that no raw identifier leaves the
 * gateway. The exact algorithm, the test vectors and how the CDP
 * reproduces a token are in docs/tokens.md; in short:
 *
 *   K_kind = HKDF-SHA256(ikm = master, salt = tenant, info = "storelink/" kind)
 *   token  = kid "." base64url_nopad(HMAC-SHA256(K_kind, canonical))
 *   K_day  = HKDF-SHA256(ikm = master, salt = tenant, info = "storelink/device/" YYYY-MM-DD)
 *   device = base64url_nopad(HMAC-SHA256(K_day, id bytes))      (no kid)
 *
 * A keyring holds the master key(s), their key ids, the derived per-kind
 * keys and one cached day key; sl_keyring_free() zeroizes all of it. It
 * lives in pages of its own, mlock()ed where RLIMIT_MEMLOCK permits and
 * excluded from core dumps (MADV_DONTDUMP). Nothing here logs but one
 * debug line the first time mlock is refused; raw identifiers and keys
 * never appear in errors.
 */
#ifndef SL_PRIVACY_H
#define SL_PRIVACY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SL_KEY_LEN 32
#define SL_KID_MAX 16           /* key id, [A-Za-z0-9_-]{1,16} */
#define SL_TENANT_MAX 64        /* [agent] tenant: a name of at most 64 characters */
#define SL_TOKEN_MAX 64         /* "kid." + 43 chars + NUL fits */
#define SL_HASH_B64_LEN 43      /* base64url_nopad of 32 bytes */
#define SL_EMAIL_MAX 254        /* RFC 5321 path limit, canonical length */
#define SL_PHONE_BUF 17         /* "+" + 15 digits + NUL */

enum sl_id_kind { SL_KIND_PAN, SL_KIND_LOYALTY, SL_KIND_EMAIL, SL_KIND_PHONE, SL_KIND__COUNT };

struct sl_keyring;

/* "pan", "loyalty", "email", "phone"; NULL for an out-of-range kind. */
const char *sl_id_kind_name(enum sl_id_kind kind);
/* Inverse of sl_id_kind_name(); 0 or -EINVAL. */
int sl_id_kind_parse(const char *name, enum sl_id_kind *ret);

/* true if kid matches [A-Za-z0-9_-]{1,16}. */
bool sl_kid_valid(const char *kid);

/*
 * Builds a keyring from raw master key bytes (copied; the caller zeroizes
 * its copy). tenant must be non-empty; kid and next_kid must be valid and
 * differ; next_master and next_kid are both NULL or both set.
 * 0, -EINVAL, -ENOMEM, -EIO (mbedTLS failure).
 */
int sl_keyring_new(struct sl_keyring **ret, const char *tenant, const uint8_t master[SL_KEY_LEN],
		   const char *kid, const uint8_t *next_master, const char *next_kid);

/*
 * As sl_keyring_new() with the keys read from key files (64 hex digits,
 * optionally followed by whitespace; a regular file with no group/other
 * permission bits). On failure, a one-line reason naming the file (never
 * its contents) is written to err (may be NULL).
 * 0, -errno from open/read, -EPERM (mode), -EINVAL (not a regular file,
 * bad contents, bad argument), -ENOMEM, -EIO.
 */
int sl_keyring_load(struct sl_keyring **ret, const char *tenant, const char *key_file,
		    const char *kid, const char *next_key_file, const char *next_kid,
		    char *err, size_t errlen);

/* Reads one key file as described above into key. Exposed for tests and
 * storelinkctl. Same errors as sl_keyring_load(). */
int sl_key_file_read(const char *path, uint8_t key[SL_KEY_LEN], char *err, size_t errlen);

/*
 * For a process that holds keys or raw identifiers (storelinkd,
 * storelinkctl token): no core dumps and no ptrace by other users
 * (prctl PR_SET_DUMPABLE 0), RLIMIT_CORE 0. Returns 0 or the first -errno;
 * the caller decides whether that is fatal.
 */
int sl_no_core_dumps(void);

/* Zeroizes every key and frees. NULL ok. */
void sl_keyring_free(struct sl_keyring *kr);

bool sl_keyring_has_next(const struct sl_keyring *kr);
const char *sl_keyring_kid(const struct sl_keyring *kr);
const char *sl_keyring_next_kid(const struct sl_keyring *kr); /* NULL if none */

/*
 * Key check value: a short public fingerprint of a key, so that the CDP can
 * see that a gateway holds the tenant's key (and tenant) before trusting its
 * tokens:  kcv = base64url_nopad(first 6 bytes of HMAC-SHA256(K_pan,
 * "storelink/kcv")), 8 characters. It is one more output of the same PRF as
 * the tokens: it tells nothing about the key beyond what a token does.
 * next: the rotation key's. 0, -ENOENT (no next key), -EINVAL.
 */
#define SL_KCV_BYTES 6
#define SL_KCV_LEN 9            /* 8 characters + NUL */
int sl_keyring_kcv(const struct sl_keyring *kr, bool next, char out[SL_KCV_LEN]);
/* The same from a raw master key and tenant, without a keyring (storelinkctl). */
int sl_key_kcv(const uint8_t master[SL_KEY_LEN], const char *tenant, char out[SL_KCV_LEN]);

/*
 * token = kid "." base64url_nopad(HMAC-SHA256(K_kind, canonical[0..len)))
 * under the current key, or under the next key when next is true.
 * canonical must already be in canonical form (sl_id_canonical()).
 * 0, -EINVAL (bad kind, empty input), -ENOENT (next without a next key),
 * -EIO.
 */
int sl_token(const struct sl_keyring *kr, enum sl_id_kind kind, bool next,
	     const char *canonical, size_t len, char out[SL_TOKEN_MAX]);

/*
 * Device hash: base64url_nopad(HMAC-SHA256(K_day, id[0..len))), 43 chars,
 * no kid prefix, where K_day is derived from the current master key and
 * day ("YYYY-MM-DD", UTC). The keyring caches one day key; a different day
 * derives the new key and zeroizes the old one.
 * 0, -EINVAL (bad day, empty id), -EIO.
 */
int sl_device_hash(struct sl_keyring *kr, const char *day, const uint8_t *id, size_t len,
		   char out[SL_TOKEN_MAX]);

/* Zeroizes the cached day key now (the loop calls this when the UTC day
 * ends, so yesterday's key does not wait for the first sighting of today). */
void sl_keyring_forget_day(struct sl_keyring *kr);

/* The day whose key is cached, or NULL. */
const char *sl_keyring_day(const struct sl_keyring *kr);

/*
 * Test hook: the day key lives in one of two slots; deriving a new day key
 * fills the other slot and zeroizes the previous one. Returns true when
 * the slot not in use holds only zero bytes, i.e. no earlier day key
 * survives in the keyring.
 */
bool sl_keyring__stale_day_key_zeroed(const struct sl_keyring *kr);

/*
 * Canonical forms of the other kinds (PAN and loyalty: pan.h).
 * Email: surrounding ASCII whitespace trimmed, ASCII letters lower-cased
 * (other bytes kept as they are); exactly one '@' with a non-empty local
 * part and domain; no control character or inner whitespace; at most
 * SL_EMAIL_MAX bytes. -EINVAL, -ENOSPC (outsz too small).
 */
int sl_email_canonical(const char *in, size_t len, char *out, size_t outsz, size_t *ret_len);
/*
 * Phone: E.164, "+" then 8-15 digits (first digit not 0). Surrounding
 * whitespace trimmed; spaces, dashes and parentheses after the "+" are
 * removed. Anything else (no leading "+", "00" prefix, dots, letters) is
 * refused. -EINVAL, -ENOSPC.
 */
int sl_phone_canonical(const char *in, size_t len, char *out, size_t outsz, size_t *ret_len);

/*
 * Dispatches to the canonical form of kind: sl_pan_canonical(),
 * sl_loyalty_canonical(), sl_email_canonical(), sl_phone_canonical().
 * Their error codes (-EBADMSG: PAN fails Luhn).
 */
int sl_id_canonical(enum sl_id_kind kind, const char *in, size_t len, char *out, size_t outsz,
		    size_t *ret_len);

/* Building blocks, exposed for the RFC test vectors. 0, -EINVAL, -EIO. */
int sl_hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *msg, size_t msg_len,
		   uint8_t out[32]);
int sl_hkdf_sha256(const uint8_t *ikm, size_t ikm_len, const uint8_t *salt, size_t salt_len,
		   const uint8_t *info, size_t info_len, uint8_t *okm, size_t okm_len);
/* base64url (RFC 4648 §5) without padding, NUL-terminated. Returns the
 * length written, or -ENOSPC if out cannot hold it + NUL. */
int sl_base64url_nopad(const uint8_t *in, size_t len, char *out, size_t outsz);

#endif
