/* SPDX-License-Identifier: MIT */
/*
 * Idempotency keys (see dedup.h). Lengths are hashed with the fields so
 * that ("ab", "c") and ("a", "bc") give different keys.
 */
#include "dedup.h"

#include <errno.h>
#include <mbedtls/md.h>
#include <string.h>

#define DEDUP_LABEL "storelink.dedup/1"

static int put(mbedtls_md_context_t *md, const char *p, size_t len)
{
	uint8_t be[4] = { (uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
			  (uint8_t)len };

	if (mbedtls_md_update(md, be, sizeof(be)) != 0)
		return -EIO;
	if (len && mbedtls_md_update(md, (const unsigned char *)p, len) != 0)
		return -EIO;
	return 0;
}

int sl_dedup_key(const char *kind, const char *const fields[], const size_t lens[], size_t n,
		 uint8_t out[SL_DEDUP_KEY_LEN])
{
	const mbedtls_md_info_t *info = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
	mbedtls_md_context_t md;
	int rc = -EIO;

	if (!info)
		return -EIO;
	mbedtls_md_init(&md);
	if (mbedtls_md_setup(&md, info, 0) != 0 || mbedtls_md_starts(&md) != 0)
		goto out;
	if (put(&md, DEDUP_LABEL, strlen(DEDUP_LABEL)) < 0 || put(&md, kind, strlen(kind)) < 0)
		goto out;
	for (size_t i = 0; i < n; i++)
		if (put(&md, fields[i], lens[i]) < 0)
			goto out;
	if (mbedtls_md_finish(&md, out) != 0)
		goto out;
	rc = 0;
out:
	mbedtls_md_free(&md);	/* zeroizes the context */
	return rc;
}
