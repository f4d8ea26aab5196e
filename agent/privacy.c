/* SPDX-License-Identifier: MIT */
/*
 * The privacy stage: key files, the keyring (per-kind keys derived with
 * HKDF-SHA256 from the tenant's master key, plus the cached daily device
 * key), tokens (HMAC-SHA256, base64url without padding) and the canonical
 * forms of email addresses and phone numbers. The algorithm is specified
 * in docs/tokens.md; the CDP reproduces it with any HMAC library, so every
 * byte that goes into a MAC here is documented there.
 *
 * Keys live only inside struct sl_keyring and in short-lived locals, all of
 * which are zeroized with mbedtls_platform_zeroize().
 */
#include "privacy.h"

#include "log.h"
#include "util.h"
#include "pan.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <mbedtls/hkdf.h>
#include <mbedtls/md.h>
#include <mbedtls/platform_util.h>

#define DAY_LEN 10              /* "YYYY-MM-DD" */
#define KEY_FILE_MAX 128        /* more than 64 hex + whitespace: refused */

struct sl_keyring {
	char tenant[SL_TENANT_MAX + 1];                 /* HKDF salt, never empty; inline:
							 * the keyring's pages are not
							 * scanned by LeakSanitizer */
	uint8_t master[SL_KEY_LEN];                     /* current; for the day keys */
	char kid[SL_KID_MAX + 1];
	uint8_t kind_key[SL_KIND__COUNT][SL_KEY_LEN];
	bool has_next;
	char next_kid[SL_KID_MAX + 1];                  /* "" unless has_next */
	uint8_t next_kind_key[SL_KIND__COUNT][SL_KEY_LEN]; /* zero unless has_next */
	uint8_t day_key[2][SL_KEY_LEN];                 /* [day_slot] in use; other slot all zero */
	unsigned int day_slot;                          /* 0 or 1 */
	char day[DAY_LEN + 1];                          /* "" when no day key is cached */
};

static const char *const kind_names[SL_KIND__COUNT] = {
	[SL_KIND_PAN] = "pan",
	[SL_KIND_LOYALTY] = "loyalty",
	[SL_KIND_EMAIL] = "email",
	[SL_KIND_PHONE] = "phone",
};

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

const char *sl_id_kind_name(enum sl_id_kind kind)
{
	if ((unsigned int)kind >= SL_KIND__COUNT)
		return NULL;
	return kind_names[kind];
}

int sl_id_kind_parse(const char *name, enum sl_id_kind *ret)
{
	if (!name)
		return -EINVAL;
	for (unsigned int k = 0; k < SL_KIND__COUNT; k++) {
		if (strcmp(name, kind_names[k]) == 0) {
			*ret = (enum sl_id_kind)k;
			return 0;
		}
	}
	return -EINVAL;
}

bool sl_kid_valid(const char *kid)
{
	size_t n;

	if (!kid)
		return false;
	n = strlen(kid);
	if (n == 0 || n > SL_KID_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = kid[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return false;
	}
	return true;
}

/* --- primitives ---------------------------------------------------------- */

int sl_hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *msg, size_t msg_len,
		   uint8_t out[32])
{
	const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);

	if ((!key && key_len) || (!msg && msg_len) || !out)
		return -EINVAL;
	if (!md)
		return -EIO;
	return mbedtls_md_hmac(md, key, key_len, msg, msg_len, out) == 0 ? 0 : -EIO;
}

int sl_hkdf_sha256(const uint8_t *ikm, size_t ikm_len, const uint8_t *salt, size_t salt_len,
		   const uint8_t *info, size_t info_len, uint8_t *okm, size_t okm_len)
{
	const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);

	if ((!ikm && ikm_len) || (!salt && salt_len) || (!info && info_len) || !okm ||
	    okm_len == 0 || okm_len > 255 * 32)
		return -EINVAL;
	if (!md)
		return -EIO;
	return mbedtls_hkdf(md, salt, salt_len, ikm, ikm_len, info, info_len, okm, okm_len) == 0
		? 0 : -EIO;
}

/* kcv = base64url_nopad(first 6 bytes of HMAC-SHA256(K_pan, "storelink/kcv")) */
static int kcv_of(const uint8_t k_pan[SL_KEY_LEN], char out[SL_KCV_LEN])
{
	static const char label[] = "storelink/kcv";
	uint8_t mac[32];
	int rc;

	rc = sl_hmac_sha256(k_pan, SL_KEY_LEN, (const uint8_t *)label, sizeof(label) - 1, mac);
	if (rc == 0)
		rc = sl_base64url_nopad(mac, SL_KCV_BYTES, out, SL_KCV_LEN);
	mbedtls_platform_zeroize(mac, sizeof(mac));
	return rc < 0 ? rc : 0;
}

int sl_keyring_kcv(const struct sl_keyring *kr, bool next, char out[SL_KCV_LEN])
{
	if (!kr || !out)
		return -EINVAL;
	if (next && !kr->has_next)
		return -ENOENT;
	return kcv_of(next ? kr->next_kind_key[SL_KIND_PAN] : kr->kind_key[SL_KIND_PAN], out);
}


int sl_base64url_nopad(const uint8_t *in, size_t len, char *out, size_t outsz)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t need = len / 3 * 4 + (len % 3 ? len % 3 + 1 : 0);
	size_t o = 0, i = 0;

	if ((!in && len) || !out || outsz < need + 1 || need > (size_t)INT32_MAX)
		return -ENOSPC;
	for (; i + 3 <= len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		out[o++] = alphabet[v >> 18 & 63];
		out[o++] = alphabet[v >> 12 & 63];
		out[o++] = alphabet[v >> 6 & 63];
		out[o++] = alphabet[v & 63];
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;

		out[o++] = alphabet[v >> 18 & 63];
		out[o++] = alphabet[v >> 12 & 63];
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;

		out[o++] = alphabet[v >> 18 & 63];
		out[o++] = alphabet[v >> 12 & 63];
		out[o++] = alphabet[v >> 6 & 63];
	}
	out[o] = '\0';
	return (int)o;
}

/* --- keyring ------------------------------------------------------------- */

/* K_kind for every kind: HKDF-SHA256(master, salt = tenant, info = "storelink/" kind). */
static int derive_kind_keys(const uint8_t master[SL_KEY_LEN], const char *tenant,
			    uint8_t keys[SL_KIND__COUNT][SL_KEY_LEN])
{
	char info[32];

	for (unsigned int k = 0; k < SL_KIND__COUNT; k++) {
		int n = snprintf(info, sizeof(info), "storelink/%s", kind_names[k]);
		int rc = sl_hkdf_sha256(master, SL_KEY_LEN, (const uint8_t *)tenant, strlen(tenant),
					(const uint8_t *)info, (size_t)n, keys[k], SL_KEY_LEN);

		if (rc < 0)
			return rc;
	}
	return 0;
}

int sl_key_kcv(const uint8_t master[SL_KEY_LEN], const char *tenant, char out[SL_KCV_LEN])
{
	uint8_t keys[SL_KIND__COUNT][SL_KEY_LEN];
	int rc;

	if (!master || !tenant || !*tenant || !out)
		return -EINVAL;
	rc = derive_kind_keys(master, tenant, keys);
	if (rc == 0)
		rc = kcv_of(keys[SL_KIND_PAN], out);
	mbedtls_platform_zeroize(keys, sizeof(keys));
	return rc;
}

/*
 * A keyring has pages of its own: locked in RAM where RLIMIT_MEMLOCK
 * permits (never written to swap) and left out of core dumps
 * (MADV_DONTDUMP). A refused mlock is not fatal: it is logged once, at
 * debug (library code), and the keys stay in ordinary memory.
 */
static size_t keyring_map_len(void)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t p = page > 0 ? (size_t)page : 4096;

	return (sizeof(struct sl_keyring) + p - 1) / p * p;
}

static struct sl_keyring *keyring_alloc(void)
{
	static bool told;
	size_t len = keyring_map_len();
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;	/* fresh anonymous pages are zero, as calloc's */
	(void)madvise(p, len, MADV_DONTDUMP);
	/* the raw syscall: sanitizer runtimes make mlock() a silent no-op */
	if (syscall(SYS_mlock, p, len) < 0 && !told) {
		told = true;
		sl_debug("keyring: mlock: %s; the keys may be swapped out (LimitMEMLOCK)",
			 strerror(errno));
	}
	return p;
}

int sl_no_core_dumps(void)
{
	const struct rlimit zero = { 0, 0 };
	int rc = 0;

	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		rc = -errno;
	if (setrlimit(RLIMIT_CORE, &zero) < 0 && rc == 0)
		rc = -errno;
	return rc;
}

int sl_keyring_new(struct sl_keyring **ret, const char *tenant, const uint8_t master[SL_KEY_LEN],
		   const char *kid, const uint8_t *next_master, const char *next_kid)
{
	struct sl_keyring *kr;
	int rc;

	if (!ret || !tenant || !*tenant || strlen(tenant) > SL_TENANT_MAX || !master ||
	    !sl_kid_valid(kid))
		return -EINVAL;
	if (!next_master != !next_kid)
		return -EINVAL;
	if (next_kid && (!sl_kid_valid(next_kid) || strcmp(kid, next_kid) == 0))
		return -EINVAL;

	kr = keyring_alloc();
	if (!kr)
		return -ENOMEM;
	strcpy(kr->tenant, tenant);
	memcpy(kr->master, master, SL_KEY_LEN);
	strcpy(kr->kid, kid);
	rc = derive_kind_keys(master, tenant, kr->kind_key);
	if (rc < 0)
		goto err_free;
	if (next_master) {
		kr->has_next = true;
		strcpy(kr->next_kid, next_kid);
		rc = derive_kind_keys(next_master, tenant, kr->next_kind_key);
		if (rc < 0)
			goto err_free;
	}
	*ret = kr;
	return 0;

err_free:
	sl_keyring_free(kr);
	return rc;
}

void sl_keyring_free(struct sl_keyring *kr)
{
	if (!kr)
		return;
	mbedtls_platform_zeroize(kr, sizeof(*kr));
	munmap(kr, keyring_map_len());	/* also unlocks */
}

bool sl_keyring_has_next(const struct sl_keyring *kr)
{
	return kr && kr->has_next;
}

const char *sl_keyring_kid(const struct sl_keyring *kr)
{
	return kr ? kr->kid : NULL;
}

const char *sl_keyring_next_kid(const struct sl_keyring *kr)
{
	return kr && kr->has_next ? kr->next_kid : NULL;
}

int sl_token(const struct sl_keyring *kr, enum sl_id_kind kind, bool next,
	     const char *canonical, size_t len, char out[SL_TOKEN_MAX])
{
	uint8_t mac[32];
	const uint8_t *key;
	const char *kid;
	size_t kl;
	int rc;

	if (!kr || (unsigned int)kind >= SL_KIND__COUNT || !canonical || len == 0 || !out)
		return -EINVAL;
	if (next && !kr->has_next)
		return -ENOENT;
	key = next ? kr->next_kind_key[kind] : kr->kind_key[kind];
	kid = next ? kr->next_kid : kr->kid;

	rc = sl_hmac_sha256(key, SL_KEY_LEN, (const uint8_t *)canonical, len, mac);
	if (rc < 0)
		goto out_zero;
	kl = strlen(kid);               /* <= SL_KID_MAX: "kid." + 43 + NUL <= 61 */
	memcpy(out, kid, kl);
	out[kl] = '.';
	rc = sl_base64url_nopad(mac, sizeof(mac), out + kl + 1, SL_TOKEN_MAX - kl - 1);
	rc = rc < 0 ? rc : 0;
out_zero:
	mbedtls_platform_zeroize(mac, sizeof(mac));
	return rc;
}

static bool day_valid(const char *day)
{
	if (!day || strlen(day) != DAY_LEN)
		return false;
	for (size_t i = 0; i < DAY_LEN; i++) {
		if (i == 4 || i == 7) {
			if (day[i] != '-')
				return false;
		} else if (day[i] < '0' || day[i] > '9') {
			return false;
		}
	}
	return true;
}

/* Makes the key for day the cached one: derive into the free slot, then
 * zeroize the slot of the previous day. */
static int switch_day(struct sl_keyring *kr, const char *day)
{
	unsigned int other = kr->day_slot ^ 1u;
	char info[32];
	int n, rc;

	n = snprintf(info, sizeof(info), "storelink/device/%s", day);
	rc = sl_hkdf_sha256(kr->master, SL_KEY_LEN, (const uint8_t *)kr->tenant, strlen(kr->tenant),
			    (const uint8_t *)info, (size_t)n, kr->day_key[other], SL_KEY_LEN);
	if (rc < 0) {
		mbedtls_platform_zeroize(kr->day_key[other], SL_KEY_LEN);
		return rc;
	}
	mbedtls_platform_zeroize(kr->day_key[kr->day_slot], SL_KEY_LEN);
	kr->day_slot = other;
	memcpy(kr->day, day, DAY_LEN + 1);
	return 0;
}

int sl_device_hash(struct sl_keyring *kr, const char *day, const uint8_t *id, size_t len,
		   char out[SL_TOKEN_MAX])
{
	uint8_t mac[32];
	int rc;

	if (!kr || !day_valid(day) || !id || len == 0 || !out)
		return -EINVAL;
	if (strcmp(kr->day, day) != 0) {
		rc = switch_day(kr, day);
		if (rc < 0)
			return rc;
	}
	rc = sl_hmac_sha256(kr->day_key[kr->day_slot], SL_KEY_LEN, id, len, mac);
	if (rc < 0)
		goto out_zero;
	rc = sl_base64url_nopad(mac, sizeof(mac), out, SL_TOKEN_MAX);
	rc = rc < 0 ? rc : 0;
out_zero:
	mbedtls_platform_zeroize(mac, sizeof(mac));
	return rc;
}

void sl_keyring_forget_day(struct sl_keyring *kr)
{
	if (!kr)
		return;
	mbedtls_platform_zeroize(kr->day_key, sizeof(kr->day_key));
	kr->day[0] = '\0';
}

const char *sl_keyring_day(const struct sl_keyring *kr)
{
	return kr && kr->day[0] ? kr->day : NULL;
}

bool sl_keyring__stale_day_key_zeroed(const struct sl_keyring *kr)
{
	const uint8_t *k = kr->day_key[kr->day_slot ^ 1u];
	uint8_t acc = 0;

	for (size_t i = 0; i < SL_KEY_LEN; i++)
		acc |= k[i];
	return acc == 0;
}

/* --- key files ----------------------------------------------------------- */

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* 64 hex digits then only whitespace; the caller zeroizes key on failure. */
static bool parse_key_hex(const char *buf, size_t n, uint8_t key[SL_KEY_LEN])
{
	if (n < 2 * SL_KEY_LEN)
		return false;
	for (size_t i = 0; i < SL_KEY_LEN; i++) {
		int hi = sl_hexval(buf[2 * i]), lo = sl_hexval(buf[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		key[i] = (uint8_t)(hi << 4 | lo);
	}
	for (size_t i = 2 * SL_KEY_LEN; i < n; i++)
		if (!is_space(buf[i]))
			return false;
	return true;
}

static const char *mode_words(mode_t m)
{
	bool r = m & 044, w = m & 022;

	if (r && w)
		return "readable and writable";
	if (r)
		return "readable";
	if (w)
		return "writable";
	return "accessible";
}

int sl_key_file_read(const char *path, uint8_t key[SL_KEY_LEN], char *err, size_t errlen)
{
	char buf[KEY_FILE_MAX + 1];
	uint8_t tmp[SL_KEY_LEN];
	struct stat st;
	size_t n = 0;
	int fd, rc;

	if (!path || !*path || !key) {
		set_err(err, errlen, "no key file given");
		return -EINVAL;
	}
	/* O_NONBLOCK: a FIFO must not block the open; it is refused below. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		rc = -errno;
		set_err(err, errlen, "cannot open key file %s: %s", path, strerror(-rc));
		return rc;
	}
	if (fstat(fd, &st) != 0) {
		rc = -errno;
		set_err(err, errlen, "cannot stat key file %s: %s", path, strerror(-rc));
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = -EINVAL;
		set_err(err, errlen, "key file %s is not a regular file", path);
		goto out_close;
	}
	if (st.st_mode & 077) {
		rc = -EPERM;
		set_err(err, errlen, "key file %s is %s by group or others (mode %04o); chmod 600 it",
			path, mode_words(st.st_mode), (unsigned int)(st.st_mode & 07777));
		goto out_close;
	}
	while (n < sizeof(buf)) {
		ssize_t r = read(fd, buf + n, sizeof(buf) - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -errno;
			set_err(err, errlen, "cannot read key file %s: %s", path, strerror(-rc));
			goto out_zero;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > KEY_FILE_MAX || !parse_key_hex(buf, n, tmp)) {
		rc = -EINVAL;
		set_err(err, errlen, "key file %s must hold exactly 64 hex digits "
			"(storelinkctl keygen writes one)", path);
		goto out_zero;
	}
	memcpy(key, tmp, SL_KEY_LEN);
	rc = 0;
out_zero:
	mbedtls_platform_zeroize(buf, sizeof(buf));
	mbedtls_platform_zeroize(tmp, sizeof(tmp));
out_close:
	close(fd);
	return rc;
}

int sl_keyring_load(struct sl_keyring **ret, const char *tenant, const char *key_file,
		    const char *kid, const char *next_key_file, const char *next_kid,
		    char *err, size_t errlen)
{
	uint8_t master[SL_KEY_LEN], next[SL_KEY_LEN];
	int rc;

	if (!ret || !tenant || !*tenant) {
		set_err(err, errlen, "no tenant configured");
		return -EINVAL;
	}
	if (!sl_kid_valid(kid)) {
		set_err(err, errlen, "key id must match [A-Za-z0-9_-]{1,16}");
		return -EINVAL;
	}
	if (!next_key_file != !next_kid) {
		set_err(err, errlen, "next key file and next key id must be set together");
		return -EINVAL;
	}
	if (next_kid && (!sl_kid_valid(next_kid) || strcmp(kid, next_kid) == 0)) {
		set_err(err, errlen, "next key id must match [A-Za-z0-9_-]{1,16} and differ from the key id");
		return -EINVAL;
	}
	rc = sl_key_file_read(key_file, master, err, errlen);
	if (rc < 0)
		goto out_zero;
	if (next_key_file) {
		rc = sl_key_file_read(next_key_file, next, err, errlen);
		if (rc < 0)
			goto out_zero;
	}
	rc = sl_keyring_new(ret, tenant, master, kid, next_key_file ? next : NULL, next_kid);
	if (rc < 0)
		set_err(err, errlen, "cannot set up the keyring: %s", strerror(-rc));
out_zero:
	mbedtls_platform_zeroize(master, sizeof(master));
	mbedtls_platform_zeroize(next, sizeof(next));
	return rc;
}

/* --- canonical forms of email and phone ---------------------------------- */

static void trim(const char **in, size_t *len)
{
	while (*len && is_space(**in)) {
		(*in)++;
		(*len)--;
	}
	while (*len && is_space((*in)[*len - 1]))
		(*len)--;
}

int sl_email_canonical(const char *in, size_t len, char *out, size_t outsz, size_t *ret_len)
{
	size_t at = 0, ats = 0;

	if (!in || !out)
		return -EINVAL;
	trim(&in, &len);
	if (len == 0 || len > SL_EMAIL_MAX)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c <= 0x20 || c == 0x7f)
			return -EINVAL;         /* control character or inner space */
		if (c == '@') {
			at = i;
			ats++;
		}
	}
	if (ats != 1 || at == 0 || at == len - 1)
		return -EINVAL;
	if (outsz < len + 1)
		return -ENOSPC;
	for (size_t i = 0; i < len; i++) {
		char c = in[i];

		out[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	out[len] = '\0';
	if (ret_len)
		*ret_len = len;
	return 0;
}

int sl_phone_canonical(const char *in, size_t len, char *out, size_t outsz, size_t *ret_len)
{
	char buf[SL_PHONE_BUF];
	size_t n = 1;
	int rc;

	if (!in || !out)
		return -EINVAL;
	trim(&in, &len);
	if (len == 0 || in[0] != '+')
		return -EINVAL;
	buf[0] = '+';
	for (size_t i = 1; i < len; i++) {
		char c = in[i];

		if (c == ' ' || c == '-' || c == '(' || c == ')')
			continue;
		if (c < '0' || c > '9' || n == SL_PHONE_BUF - 1 || (n == 1 && c == '0')) {
			rc = -EINVAL;
			goto out_zero;
		}
		buf[n++] = c;
	}
	if (n - 1 < 8) {
		rc = -EINVAL;
		goto out_zero;
	}
	if (outsz < n + 1) {
		rc = -ENOSPC;
		goto out_zero;
	}
	memcpy(out, buf, n);
	out[n] = '\0';
	if (ret_len)
		*ret_len = n;
	rc = 0;
out_zero:
	mbedtls_platform_zeroize(buf, sizeof(buf));
	return rc;
}

int sl_id_canonical(enum sl_id_kind kind, const char *in, size_t len, char *out, size_t outsz,
		    size_t *ret_len)
{
	switch (kind) {
	case SL_KIND_PAN:
		if (outsz < SL_PAN_BUF)
			return -ENOSPC;
		return sl_pan_canonical(in, len, out, ret_len);
	case SL_KIND_LOYALTY:
		return sl_loyalty_canonical(in, len, out, outsz, ret_len);
	case SL_KIND_EMAIL:
		return sl_email_canonical(in, len, out, outsz, ret_len);
	case SL_KIND_PHONE:
		return sl_phone_canonical(in, len, out, outsz, ret_len);
	case SL_KIND__COUNT:
		break;
	}
	return -EINVAL;
}
