/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for agent/privacy.c: HMAC-SHA256 (RFC 4231) and HKDF-SHA256
 * (RFC 5869) through the module's wrappers, base64url (RFC 4648), the
 * token vectors of docs/tokens.md, key rotation, key files (contents,
 * permissions, file types; errors never carry key bytes), the daily
 * device key and its zeroization, and the email/phone canonical forms.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "privacy.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* docs/tokens.md: master key bytes 0x00..0x1f, tenant "acme", kid "v1" */
static const char *const MASTER_HEX = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = strlen(hex) / 2;

	assert_true(n <= cap);
	for (size_t i = 0; i < n; i++) {
		unsigned int b;

		assert_int_equal(sscanf(hex + 2 * i, "%2x", &b), 1);
		out[i] = (uint8_t)b;
	}
	return n;
}

static void fill(uint8_t *p, uint8_t v, size_t n)
{
	memset(p, v, n);
}

static void seq(uint8_t *p, uint8_t from, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(from + i);
}

static void master_key(uint8_t k[SL_KEY_LEN])
{
	seq(k, 0, SL_KEY_LEN);
}

static struct sl_keyring *vector_keyring(void)
{
	struct sl_keyring *kr = NULL;
	uint8_t k[SL_KEY_LEN];

	master_key(k);
	assert_int_equal(sl_keyring_new(&kr, "acme", k, "v1", NULL, NULL), 0);
	return kr;
}

/* --- RFC 4231 --------------------------------------------------------- */

static void test_hmac_rfc4231(void **state)
{
	uint8_t key[131], data[160], mac[32], want[32];
	static const char tc6[] = "Test Using Larger Than Block-Size Key - Hash Key First";
	static const char tc7[] = "This is a test using a larger than block-size key and a larger than "
				  "block-size data. The key needs to be hashed before being used by the "
				  "HMAC algorithm.";

	(void)state;
	/* RFC 4231 test case 1 */
	fill(key, 0x0b, 20);
	assert_int_equal(sl_hmac_sha256(key, 20, (const uint8_t *)"Hi There", 8, mac), 0);
	unhex("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7", want, 32);
	assert_memory_equal(mac, want, 32);
	/* RFC 4231 test case 2 */
	assert_int_equal(sl_hmac_sha256((const uint8_t *)"Jefe", 4,
					(const uint8_t *)"what do ya want for nothing?", 28, mac), 0);
	unhex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", want, 32);
	assert_memory_equal(mac, want, 32);
	/* RFC 4231 test case 3 */
	fill(key, 0xaa, 20);
	fill(data, 0xdd, 50);
	assert_int_equal(sl_hmac_sha256(key, 20, data, 50, mac), 0);
	unhex("773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe", want, 32);
	assert_memory_equal(mac, want, 32);
	/* RFC 4231 test case 4 */
	seq(key, 0x01, 25);
	fill(data, 0xcd, 50);
	assert_int_equal(sl_hmac_sha256(key, 25, data, 50, mac), 0);
	unhex("82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b", want, 32);
	assert_memory_equal(mac, want, 32);
	/* RFC 4231 test case 6 */
	fill(key, 0xaa, 131);
	assert_int_equal(sl_hmac_sha256(key, 131, (const uint8_t *)tc6, strlen(tc6), mac), 0);
	unhex("60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54", want, 32);
	assert_memory_equal(mac, want, 32);
	/* RFC 4231 test case 7 */
	assert_int_equal(sl_hmac_sha256(key, 131, (const uint8_t *)tc7, strlen(tc7), mac), 0);
	unhex("9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2", want, 32);
	assert_memory_equal(mac, want, 32);

	assert_int_equal(sl_hmac_sha256(NULL, 1, data, 1, mac), -EINVAL);
}

/* --- RFC 5869 --------------------------------------------------------- */

static void test_hkdf_rfc5869(void **state)
{
	uint8_t ikm[80], salt[80], info[80], okm[82], want[82];

	(void)state;
	/* RFC 5869 test case 1 */
	fill(ikm, 0x0b, 22);
	seq(salt, 0x00, 13);
	seq(info, 0xf0, 10);
	assert_int_equal(sl_hkdf_sha256(ikm, 22, salt, 13, info, 10, okm, 42), 0);
	unhex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
	      "34007208d5b887185865", want, sizeof(want));
	assert_memory_equal(okm, want, 42);
	/* RFC 5869 test case 2 */
	seq(ikm, 0x00, 80);
	seq(salt, 0x60, 80);
	seq(info, 0xb0, 80);
	assert_int_equal(sl_hkdf_sha256(ikm, 80, salt, 80, info, 80, okm, 82), 0);
	unhex("b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
	      "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
	      "cc30c58179ec3e87c14c01d5c1f3434f1d87", want, sizeof(want));
	assert_memory_equal(okm, want, 82);
	/* RFC 5869 test case 3 (empty salt and info) */
	fill(ikm, 0x0b, 22);
	assert_int_equal(sl_hkdf_sha256(ikm, 22, NULL, 0, NULL, 0, okm, 42), 0);
	unhex("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
	      "9d201395faa4b61a96c8", want, sizeof(want));
	assert_memory_equal(okm, want, 42);

	assert_int_equal(sl_hkdf_sha256(ikm, 22, NULL, 0, NULL, 0, okm, 0), -EINVAL);
	assert_int_equal(sl_hkdf_sha256(ikm, 22, NULL, 0, NULL, 0, okm, 255 * 32 + 1), -EINVAL);
}

/* --- base64url --------------------------------------------------------- */

static void test_base64url(void **state)
{
	static const struct { const char *in; const char *out; } v[] = {
		{ "", "" },             /* RFC 4648 section 10 */
		{ "f", "Zg" },          /* RFC 4648 section 10, padding dropped */
		{ "fo", "Zm8" },        /* RFC 4648 section 10 */
		{ "foo", "Zm9v" },      /* RFC 4648 section 10 */
		{ "foob", "Zm9vYg" },   /* RFC 4648 section 10 */
		{ "fooba", "Zm9vYmE" }, /* RFC 4648 section 10 */
		{ "foobar", "Zm9vYmFy" }, /* RFC 4648 section 10 */
		{ "\xfb\xff\xbf", "-_-_" }, /* RFC 4648 section 5 alphabet: 62 '-', 63 '_' */
		{ "\xfb\xff", "-_8" },
	};
	char out[16];

	(void)state;
	for (size_t i = 0; i < N(v); i++) {
		int n = sl_base64url_nopad((const uint8_t *)v[i].in, strlen(v[i].in), out, sizeof(out));

		assert_int_equal(n, (int)strlen(v[i].out));
		assert_string_equal(out, v[i].out);
	}
	assert_int_equal(sl_base64url_nopad((const uint8_t *)"foobar", 6, out, 8), -ENOSPC);
	assert_int_equal(sl_base64url_nopad((const uint8_t *)"foobar", 6, out, 9), 8);
}

/* --- tokens ------------------------------------------------------------- */

static void test_token_vectors(void **state)
{
	static const struct { enum sl_id_kind kind; const char *raw; const char *token; } v[] = {
		/* docs/tokens.md vector 1 (verified with Python hmac/hashlib and openssl 3) */
		{ SL_KIND_PAN, "4111111111111111", "v1.y6TATuybYSH0sTS_R9JlWP8hxtmKu0tgA6X3zKUSlf4" },
		/* docs/tokens.md vector 2 */
		{ SL_KIND_PAN, "5555 5555 5555 4444", "v1.nn283vkkds8BNd239Qlh7M7id1i7YUs2e6qDECnu2iU" },
		/* docs/tokens.md vector 3 */
		{ SL_KIND_LOYALTY, "lc-0042-77", "v1.Kq5TTXbNZ9zDvVkzp3o3LRE9bugs33Ad0sprjxiKPoQ" },
		/* docs/tokens.md, email and phone examples (Python reference) */
		{ SL_KIND_EMAIL, "  Jane.Doe@Example.COM\n", "v1.NM9r7z7b-_Mx43zEc5T8bv9NXImiiiRz9WwoTT6Lewk" },
		{ SL_KIND_PHONE, "+49 (30) 1234-5678", "v1.g1DwHEfJDk8Hj7RVQwDzc8rF5C5bZn1HNuwI9U3jnRQ" },
	};
	struct sl_keyring *kr = vector_keyring();

	(void)state;
	for (size_t i = 0; i < N(v); i++) {
		char canon[SL_EMAIL_MAX + 1], tok[SL_TOKEN_MAX];
		size_t len;

		assert_int_equal(sl_id_canonical(v[i].kind, v[i].raw, strlen(v[i].raw), canon,
						 sizeof(canon), &len), 0);
		assert_int_equal(sl_token(kr, v[i].kind, false, canon, len, tok), 0);
		assert_string_equal(tok, v[i].token);
	}
	assert_string_equal(sl_keyring_kid(kr), "v1");
	sl_keyring_free(kr);
}

/* docs/tokens.md key check values (Python hmac/hashlib and openssl mac) */
static void test_kcv(void **state)
{
	struct sl_keyring *kr = NULL;
	uint8_t k[SL_KEY_LEN], k2[SL_KEY_LEN];
	char kcv[SL_KCV_LEN];

	(void)state;
	master_key(k);
	seq(k2, 0x20, SL_KEY_LEN);
	assert_int_equal(sl_keyring_new(&kr, "acme", k, "v1", k2, "v2"), 0);
	assert_int_equal(sl_keyring_kcv(kr, false, kcv), 0);
	assert_string_equal(kcv, "3ZLjqwc4");
	assert_int_equal(sl_keyring_kcv(kr, true, kcv), 0);
	assert_string_equal(kcv, "FvF2Q0DP");
	sl_keyring_free(kr);

	/* the tenant is part of it: a gateway with the right key and the wrong
	 * tenant shows a different check value */
	assert_int_equal(sl_keyring_new(&kr, "other", k, "v1", NULL, NULL), 0);
	assert_int_equal(sl_keyring_kcv(kr, false, kcv), 0);
	assert_string_equal(kcv, "1UZ6RlY2");
	assert_int_equal(sl_keyring_kcv(kr, true, kcv), -ENOENT);
	assert_int_equal(sl_keyring_kcv(NULL, false, kcv), -EINVAL);
	sl_keyring_free(kr);
}

static void test_token_errors(void **state)
{
	struct sl_keyring *kr = vector_keyring();
	char tok[SL_TOKEN_MAX];

	(void)state;
	assert_int_equal(sl_token(kr, SL_KIND__COUNT, false, "x", 1, tok), -EINVAL);
	assert_int_equal(sl_token(kr, SL_KIND_PAN, false, "", 0, tok), -EINVAL);
	assert_int_equal(sl_token(NULL, SL_KIND_PAN, false, "x", 1, tok), -EINVAL);
	/* rotation: next without a next key */
	assert_false(sl_keyring_has_next(kr));
	assert_null(sl_keyring_next_kid(kr));
	assert_int_equal(sl_token(kr, SL_KIND_PAN, true, "4111111111111111", 16, tok), -ENOENT);
	/* the kind is part of the key: same bytes, different kinds, different tokens */
	{
		char a[SL_TOKEN_MAX], b[SL_TOKEN_MAX];

		assert_int_equal(sl_token(kr, SL_KIND_PAN, false, "4111111111111111", 16, a), 0);
		assert_int_equal(sl_token(kr, SL_KIND_LOYALTY, false, "4111111111111111", 16, b), 0);
		assert_string_not_equal(a, b);
	}
	sl_keyring_free(kr);
	sl_keyring_free(NULL);
}

static void test_rotation(void **state)
{
	struct sl_keyring *kr = NULL;
	uint8_t k[SL_KEY_LEN], k2[SL_KEY_LEN];
	char cur[SL_TOKEN_MAX], nxt[SL_TOKEN_MAX];

	(void)state;
	master_key(k);
	seq(k2, 0x20, SL_KEY_LEN);
	assert_int_equal(sl_keyring_new(&kr, "acme", k, "v1", k2, "v2"), 0);
	assert_true(sl_keyring_has_next(kr));
	assert_string_equal(sl_keyring_kid(kr), "v1");
	assert_string_equal(sl_keyring_next_kid(kr), "v2");
	assert_int_equal(sl_token(kr, SL_KIND_PAN, false, "4111111111111111", 16, cur), 0);
	assert_int_equal(sl_token(kr, SL_KIND_PAN, true, "4111111111111111", 16, nxt), 0);
	assert_string_equal(cur, "v1.y6TATuybYSH0sTS_R9JlWP8hxtmKu0tgA6X3zKUSlf4");
	assert_memory_equal(nxt, "v2.", 3);
	assert_string_not_equal(cur + 3, nxt + 3);
	sl_keyring_free(kr);

	/* the kid is only a label: the same key under v2 gives the same MAC */
	assert_int_equal(sl_keyring_new(&kr, "acme", k, "v2", k, "v3"), 0);
	assert_int_equal(sl_token(kr, SL_KIND_PAN, false, "4111111111111111", 16, cur), 0);
	assert_string_equal(cur, "v2.y6TATuybYSH0sTS_R9JlWP8hxtmKu0tgA6X3zKUSlf4");
	sl_keyring_free(kr);

	/* the tenant is the salt */
	assert_int_equal(sl_keyring_new(&kr, "acme2", k, "v1", NULL, NULL), 0);
	assert_int_equal(sl_token(kr, SL_KIND_PAN, false, "4111111111111111", 16, cur), 0);
	assert_string_not_equal(cur, "v1.y6TATuybYSH0sTS_R9JlWP8hxtmKu0tgA6X3zKUSlf4");
	sl_keyring_free(kr);

	/* argument checks */
	kr = NULL;
	assert_int_equal(sl_keyring_new(&kr, "acme", k, "v1", k2, "v1"), -EINVAL);  /* same kid */
	assert_int_equal(sl_keyring_new(&kr, "acme", k, "v1", k2, NULL), -EINVAL);  /* half next */
	assert_int_equal(sl_keyring_new(&kr, "acme", k, "v1", NULL, "v2"), -EINVAL);
	assert_int_equal(sl_keyring_new(&kr, "", k, "v1", NULL, NULL), -EINVAL);
	assert_int_equal(sl_keyring_new(&kr, "acme", k, "", NULL, NULL), -EINVAL);
	assert_int_equal(sl_keyring_new(&kr, "acme", k, "v 1", NULL, NULL), -EINVAL);
	assert_int_equal(sl_keyring_new(&kr, "acme", k, "v.1", NULL, NULL), -EINVAL);
	assert_int_equal(sl_keyring_new(&kr, "acme", k, "abcdefghijklmnopq", NULL, NULL), -EINVAL);
	assert_null(kr);
	assert_int_equal(sl_keyring_new(&kr, "acme", k, "Ab_-0123456789xy", NULL, NULL), 0); /* 16 */
	sl_keyring_free(kr);
}

/* --- key files ------------------------------------------------------------ */

struct tmp {
	char dir[64];
	char path[128];
};

static const char *write_file(struct tmp *t, const char *name, const char *content, size_t len,
			      mode_t mode)
{
	int fd;

	snprintf(t->path, sizeof(t->path), "%s/%s", t->dir, name);
	unlink(t->path);
	fd = open(t->path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
	return t->path;
}

static int setup_tmp(void **state)
{
	struct tmp *t = calloc(1, sizeof(*t));

	if (!t)
		return -1;
	strcpy(t->dir, "/tmp/sl-test-privacy-XXXXXX");
	if (!mkdtemp(t->dir)) {
		free(t);
		return -1;
	}
	*state = t;
	return 0;
}

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path);
}

static int teardown_tmp(void **state)
{
	struct tmp *t = *state;
	int rc = nftw(t->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);

	free(t);
	return rc == 0 ? 0 : -1;
}

/* Error messages name the file and never contain key material. */
static void assert_clean_err(const char *err)
{
	assert_true(strlen(err) > 0);
	assert_null(strstr(err, "000102030405"));
	assert_null(strstr(err, "1c1d1e1f"));
}

static void test_key_file_contents(void **state)
{
	struct tmp *t = *state;
	uint8_t key[SL_KEY_LEN], want[SL_KEY_LEN];
	char err[256], buf[256];
	/* file = pre + the first nhex digits of MASTER_HEX + post */
	static const struct { const char *pre; size_t nhex; const char *post; int rc; } v[] = {
		{ "", 64, "\n", 0 },
		{ "", 64, "", 0 },
		{ "", 64, " \r\n\t\n", 0 },
		{ "", 0, "", -EINVAL },                   /* empty */
		{ "", 63, "\n", -EINVAL },                /* 63 hex */
		{ "", 64, "a\n", -EINVAL },               /* 65 hex */
		{ " ", 64, "\n", -EINVAL },               /* leading space */
		{ "", 64, "\nextra\n", -EINVAL },         /* trailing garbage */
		{ "", 62, "gg\n", -EINVAL },              /* non-hex */
		{ "0x", 62, "\n", -EINVAL },              /* prefix */
		{ "", 64, "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n",
		  -EINVAL },                              /* two keys */
		{ "", 64, "                                                                      "
			  "          \n", -EINVAL },          /* 145 bytes: too long */
	};

	master_key(want);
	for (size_t i = 0; i < N(v); i++) {
		int n = snprintf(buf, sizeof(buf), "%s%.*s%s", v[i].pre, (int)v[i].nhex, MASTER_HEX,
				 v[i].post);
		const char *p = write_file(t, "k", buf, (size_t)n, 0600);
		int rc;

		memset(key, 0xee, sizeof(key));
		err[0] = '\0';
		rc = sl_key_file_read(p, key, err, sizeof(err));
		if (rc != v[i].rc)
			fail_msg("row %zu: rc %d, want %d (%s)", i, rc, v[i].rc, err);
		if (rc == 0) {
			assert_memory_equal(key, want, SL_KEY_LEN);
		} else {
			for (size_t j = 0; j < SL_KEY_LEN; j++)
				assert_int_equal(key[j], 0xee); /* untouched */
			assert_clean_err(err);
			assert_non_null(strstr(err, p));
			assert_non_null(strstr(err, "64 hex digits"));
		}
	}
	/* upper-case hex is the same key */
	{
		char up[80];

		for (size_t i = 0; i <= 64; i++)
			up[i] = (char)((MASTER_HEX[i] >= 'a' && MASTER_HEX[i] <= 'f') ?
				       MASTER_HEX[i] - 32 : MASTER_HEX[i]);
		write_file(t, "k", up, 64, 0400);
		assert_int_equal(sl_key_file_read(t->path, key, err, sizeof(err)), 0);
		assert_memory_equal(key, want, SL_KEY_LEN);
	}
}

static void test_key_file_mode(void **state)
{
	struct tmp *t = *state;
	uint8_t key[SL_KEY_LEN];
	char err[256], want[256], content[80];
	static const struct { mode_t mode; int rc; const char *words; } v[] = {
		{ 0600, 0, NULL },
		{ 0400, 0, NULL },
		{ 0644, -EPERM, "readable" },
		{ 0640, -EPERM, "readable" },
		{ 0604, -EPERM, "readable" },
		{ 0620, -EPERM, "writable" },
		{ 0666, -EPERM, "readable and writable" },
		{ 0610, -EPERM, "accessible" },
	};

	snprintf(content, sizeof(content), "%s\n", MASTER_HEX);
	for (size_t i = 0; i < N(v); i++) {
		const char *p = write_file(t, "m", content, strlen(content), v[i].mode);
		int rc;

		err[0] = '\0';
		rc = sl_key_file_read(p, key, err, sizeof(err));
		if (rc != v[i].rc)
			fail_msg("mode %04o: rc %d, want %d", (unsigned int)v[i].mode, rc, v[i].rc);
		if (rc == 0)
			continue;
		snprintf(want, sizeof(want), "key file %s is %s by group or others (mode %04o); chmod 600 it",
			 p, v[i].words, (unsigned int)v[i].mode);
		assert_string_equal(err, want);
		assert_clean_err(err);
	}
}

static void test_key_file_types(void **state)
{
	struct tmp *t = *state;
	uint8_t key[SL_KEY_LEN];
	char err[256], path[160];

	/* missing */
	snprintf(path, sizeof(path), "%s/missing", t->dir);
	assert_int_equal(sl_key_file_read(path, key, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, path));
	/* a directory */
	snprintf(path, sizeof(path), "%s/d", t->dir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(sl_key_file_read(path, key, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not a regular file"));
	/* a FIFO: refused without blocking on open */
	snprintf(path, sizeof(path), "%s/fifo", t->dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(sl_key_file_read(path, key, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not a regular file"));
	/* /dev/null: a character device */
	assert_int_equal(sl_key_file_read("/dev/null", key, err, sizeof(err)), -EINVAL);
	/* NULL err buffer is fine */
	assert_int_equal(sl_key_file_read("/dev/null", key, NULL, 0), -EINVAL);
}

static void test_keyring_load(void **state)
{
	struct tmp *t = *state;
	struct sl_keyring *kr = NULL;
	char content[80], k1[160], k2[160], bad[160], err[256], tok[SL_TOKEN_MAX];

	snprintf(content, sizeof(content), "%s\n", MASTER_HEX);
	write_file(t, "v1.key", content, strlen(content), 0600);
	snprintf(k1, sizeof(k1), "%s", t->path);
	write_file(t, "v2.key", "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f\n",
		   65, 0600);
	snprintf(k2, sizeof(k2), "%s", t->path);
	write_file(t, "bad.key", content, strlen(content), 0644);
	snprintf(bad, sizeof(bad), "%s", t->path);

	assert_int_equal(sl_keyring_load(&kr, "acme", k1, "v1", NULL, NULL, err, sizeof(err)), 0);
	assert_int_equal(sl_token(kr, SL_KIND_PAN, false, "4111111111111111", 16, tok), 0);
	assert_string_equal(tok, "v1.y6TATuybYSH0sTS_R9JlWP8hxtmKu0tgA6X3zKUSlf4");
	sl_keyring_free(kr);

	kr = NULL;
	assert_int_equal(sl_keyring_load(&kr, "acme", k1, "v1", k2, "v2", err, sizeof(err)), 0);
	assert_true(sl_keyring_has_next(kr));
	assert_int_equal(sl_token(kr, SL_KIND_PAN, true, "4111111111111111", 16, tok), 0);
	assert_memory_equal(tok, "v2.", 3);
	sl_keyring_free(kr);

	kr = NULL;
	assert_int_equal(sl_keyring_load(&kr, "acme", bad, "v1", NULL, NULL, err, sizeof(err)), -EPERM);
	assert_clean_err(err);
	assert_int_equal(sl_keyring_load(&kr, "acme", k1, "v1", bad, "v2", err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, bad));
	assert_clean_err(err);
	assert_int_equal(sl_keyring_load(&kr, "acme", k1, "v1", k2, NULL, err, sizeof(err)), -EINVAL);
	assert_int_equal(sl_keyring_load(&kr, "acme", k1, "v1", NULL, "v2", err, sizeof(err)), -EINVAL);
	assert_int_equal(sl_keyring_load(&kr, "acme", k1, "v1", k2, "v1", err, sizeof(err)), -EINVAL);
	assert_int_equal(sl_keyring_load(&kr, "acme", k1, "bad kid", NULL, NULL, err, sizeof(err)), -EINVAL);
	assert_int_equal(sl_keyring_load(&kr, "", k1, "v1", NULL, NULL, err, sizeof(err)), -EINVAL);
	assert_int_equal(sl_keyring_load(&kr, "acme", NULL, "v1", NULL, NULL, err, sizeof(err)), -EINVAL);
	assert_null(kr);
}

/* --- device hash ---------------------------------------------------------- */

static void test_device_hash_days(void **state)
{
	static const uint8_t mac[6] = { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55 };
	struct sl_keyring *kr = vector_keyring();
	char h1[SL_TOKEN_MAX], h2[SL_TOKEN_MAX], h3[SL_TOKEN_MAX];

	(void)state;
	assert_null(sl_keyring_day(kr));
	assert_true(sl_keyring__stale_day_key_zeroed(kr));

	/* docs/tokens.md device vectors (Python reference) */
	assert_int_equal(sl_device_hash(kr, "2026-11-22", mac, sizeof(mac), h1), 0);
	assert_string_equal(h1, "tsZ2MdFnnsYR1RBMFZ5ZcIg9-5wWorBu6ERWZtJOq4U");
	assert_int_equal(strlen(h1), SL_HASH_B64_LEN);
	assert_string_equal(sl_keyring_day(kr), "2026-11-22");
	assert_true(sl_keyring__stale_day_key_zeroed(kr));

	/* same day: cached key, same hash */
	assert_int_equal(sl_device_hash(kr, "2026-11-22", mac, sizeof(mac), h3), 0);
	assert_string_equal(h1, h3);

	/* next day: new key, different hash, yesterday's key zeroized */
	assert_int_equal(sl_device_hash(kr, "2026-11-23", mac, sizeof(mac), h2), 0);
	assert_string_equal(h2, "7w_hbaAPeUnkWn6MD3GVQN1vV7ukg0Rnv7zRPDUojvA");
	assert_string_not_equal(h1, h2);
	assert_string_equal(sl_keyring_day(kr), "2026-11-23");
	assert_true(sl_keyring__stale_day_key_zeroed(kr));

	/* forgetting at the end of the day zeroizes both slots */
	sl_keyring_forget_day(kr);
	assert_null(sl_keyring_day(kr));
	assert_true(sl_keyring__stale_day_key_zeroed(kr));
	assert_int_equal(sl_device_hash(kr, "2026-11-23", mac, sizeof(mac), h3), 0);
	assert_string_equal(h2, h3);
	assert_true(sl_keyring__stale_day_key_zeroed(kr));

	/* the device hash is independent of the token keys and has no kid */
	assert_null(strchr(h1, '.'));

	/* bad input leaves the cache alone */
	assert_int_equal(sl_device_hash(kr, "2026-1-22", mac, sizeof(mac), h3), -EINVAL);
	assert_int_equal(sl_device_hash(kr, "2026/11/22", mac, sizeof(mac), h3), -EINVAL);
	assert_int_equal(sl_device_hash(kr, "2026-11-222", mac, sizeof(mac), h3), -EINVAL);
	assert_int_equal(sl_device_hash(kr, NULL, mac, sizeof(mac), h3), -EINVAL);
	assert_int_equal(sl_device_hash(kr, "2026-11-24", mac, 0, h3), -EINVAL);
	assert_string_equal(sl_keyring_day(kr), "2026-11-23");
	sl_keyring_free(kr);
}

/* --- canonical forms --------------------------------------------------- */

static void test_email(void **state)
{
	static const struct { const char *in; int rc; const char *want; } v[] = {
		{ "  Jane.Doe@Example.COM\n", 0, "jane.doe@example.com" },
		{ "a@b", 0, "a@b" },
		{ "\tJOE+tag@EXAMPLE.org ", 0, "joe+tag@example.org" },
		{ "J\xc3\x96RG@example.com", 0, "j\xc3\x96rg@example.com" }, /* non-ASCII kept */
		{ "", -EINVAL, NULL },
		{ "   ", -EINVAL, NULL },
		{ "no-at-sign", -EINVAL, NULL },
		{ "a@@b", -EINVAL, NULL },
		{ "a@b@c", -EINVAL, NULL },
		{ "@example.com", -EINVAL, NULL },
		{ "jane@", -EINVAL, NULL },
		{ "jane doe@example.com", -EINVAL, NULL },
		{ "jane\x01@example.com", -EINVAL, NULL },
		{ "jane\x7f@example.com", -EINVAL, NULL },
	};
	char out[SL_EMAIL_MAX + 1], big[300];
	size_t len;

	(void)state;
	for (size_t i = 0; i < N(v); i++) {
		int rc = sl_email_canonical(v[i].in, strlen(v[i].in), out, sizeof(out), &len);

		if (rc != v[i].rc)
			fail_msg("row %zu: rc %d, want %d", i, rc, v[i].rc);
		if (rc == 0)
			assert_string_equal(out, v[i].want);
	}
	/* 254 bytes accepted, 255 refused */
	memset(big, 'a', sizeof(big));
	big[100] = '@';
	assert_int_equal(sl_email_canonical(big, 254, out, sizeof(out), &len), 0);
	assert_int_equal(len, 254);
	assert_int_equal(sl_email_canonical(big, 255, out, sizeof(out), &len), -EINVAL);
	assert_int_equal(sl_email_canonical("a@b", 3, out, 3, &len), -ENOSPC);
}

static void test_phone(void **state)
{
	static const struct { const char *in; int rc; const char *want; } v[] = {
		{ "+49 (30) 1234-5678", 0, "+493012345678" },
		{ "  +1 202-555-0143 ", 0, "+12025550143" },
		{ "+12345678", 0, "+12345678" },                 /* 8 digits */
		{ "+123456789012345", 0, "+123456789012345" },   /* 15 digits */
		{ "+1234567", -EINVAL, NULL },                   /* 7 digits */
		{ "+1234567890123456", -EINVAL, NULL },          /* 16 digits */
		{ "0049 30 12345678", -EINVAL, NULL },           /* no "+" */
		{ "493012345678", -EINVAL, NULL },
		{ "+49.30.12345678", -EINVAL, NULL },            /* dots */
		{ "+49 30 CALL-NOW", -EINVAL, NULL },
		{ "+0 30 12345678", -EINVAL, NULL },             /* country code 0 */
		{ "(+49) 30 12345678", -EINVAL, NULL },
		{ "+", -EINVAL, NULL },
		{ "", -EINVAL, NULL },
		{ "+49 30 1234\n5678", -EINVAL, NULL },
	};
	char out[SL_PHONE_BUF];
	size_t len;

	(void)state;
	for (size_t i = 0; i < N(v); i++) {
		int rc = sl_phone_canonical(v[i].in, strlen(v[i].in), out, sizeof(out), &len);

		if (rc != v[i].rc)
			fail_msg("row %zu: rc %d, want %d", i, rc, v[i].rc);
		if (rc == 0) {
			assert_string_equal(out, v[i].want);
			assert_int_equal(len, strlen(v[i].want));
		}
	}
	assert_int_equal(sl_phone_canonical("+12345678", 9, out, 9, &len), -ENOSPC);
}

static void test_kinds(void **state)
{
	enum sl_id_kind k;
	char out[8];

	(void)state;
	for (unsigned int i = 0; i < SL_KIND__COUNT; i++) {
		assert_int_equal(sl_id_kind_parse(sl_id_kind_name((enum sl_id_kind)i), &k), 0);
		assert_int_equal(k, i);
	}
	assert_string_equal(sl_id_kind_name(SL_KIND_PAN), "pan");
	assert_string_equal(sl_id_kind_name(SL_KIND_LOYALTY), "loyalty");
	assert_string_equal(sl_id_kind_name(SL_KIND_EMAIL), "email");
	assert_string_equal(sl_id_kind_name(SL_KIND_PHONE), "phone");
	assert_null(sl_id_kind_name(SL_KIND__COUNT));
	assert_int_equal(sl_id_kind_parse("card", &k), -EINVAL);
	assert_int_equal(sl_id_kind_parse(NULL, &k), -EINVAL);
	/* a PAN needs a 20-byte buffer */
	assert_int_equal(sl_id_canonical(SL_KIND_PAN, "4111111111111111", 16, out, sizeof(out), NULL),
			 -ENOSPC);
	assert_int_equal(sl_id_canonical(SL_KIND__COUNT, "x", 1, out, sizeof(out), NULL), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hmac_rfc4231),
		cmocka_unit_test(test_hkdf_rfc5869),
		cmocka_unit_test(test_base64url),
		cmocka_unit_test(test_token_vectors),
		cmocka_unit_test(test_kcv),
		cmocka_unit_test(test_token_errors),
		cmocka_unit_test(test_rotation),
		cmocka_unit_test_setup_teardown(test_key_file_contents, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(test_key_file_mode, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(test_key_file_types, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(test_keyring_load, setup_tmp, teardown_tmp),
		cmocka_unit_test(test_device_hash_days),
		cmocka_unit_test(test_email),
		cmocka_unit_test(test_phone),
		cmocka_unit_test(test_kinds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
