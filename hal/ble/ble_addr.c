/* SPDX-License-Identifier: MIT */
/*
 * Device addresses: classification (public, random static, resolvable and
 * non-resolvable private) and resolution of resolvable private addresses
 * against configured identity resolving keys (IRKs) with the Core spec's
 * ah() function, AES-128 from mbedTLS. IRKs are keys: buffers that held
 * them are zeroized.
 */
#include <hal/ble.h>

#include "util.h"

#include <mbedtls/aes.h>
#include <mbedtls/platform_util.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define IRK_FILE_MAX (64 * 1024)

enum hal_ble_addr_kind hal_ble_addr_kind(uint8_t addr_type, const uint8_t addr[6])
{
	switch (addr_type) {
	case HAL_BLE_ADDR_PUBLIC:
	case HAL_BLE_ADDR_PUBLIC_ID:
		return HAL_BLE_KIND_PUBLIC;
	case HAL_BLE_ADDR_ANONYMOUS:
		return HAL_BLE_KIND_ANONYMOUS;
	default:
		break;
	}
	switch (addr[0] >> 6) {
	case 3:
		return HAL_BLE_KIND_STATIC;
	case 1:
		return HAL_BLE_KIND_RPA;
	case 0:
		return HAL_BLE_KIND_NRPA;
	default:
		return HAL_BLE_KIND_RESERVED;
	}
}

int hal_ble_ah(const uint8_t irk[16], const uint8_t prand[3], uint8_t hash[3])
{
	mbedtls_aes_context aes;
	uint8_t in[16] = { 0 }, out[16];
	int rc = 0;

	mbedtls_aes_init(&aes);
	memcpy(in + 13, prand, 3);
	if (mbedtls_aes_setkey_enc(&aes, irk, 128) != 0 ||
	    mbedtls_aes_crypt_ecb(&aes, MBEDTLS_AES_ENCRYPT, in, out) != 0)
		rc = -EIO;
	else
		memcpy(hash, out + 13, 3);
	mbedtls_aes_free(&aes);
	mbedtls_platform_zeroize(out, sizeof(out));
	return rc;
}

bool hal_ble_rpa_resolves(const uint8_t irk[16], const uint8_t addr[6])
{
	uint8_t hash[3];

	if (addr[0] >> 6 != 1)
		return false;
	if (hal_ble_ah(irk, addr, hash) < 0)
		return false;
	return memcmp(hash, addr + 3, 3) == 0;
}

/* One line (not NUL-terminated): blank, comment, or 32 hex digits [comment]. */
static int irk_line(const char *s, size_t n, struct hal_ble_irks *k)
{
	size_t i = 0;

	while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r'))
		i++;
	if (i == n || s[i] == '#')
		return 0;
	if (n - i >= 2 && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X'))
		i += 2;
	if (n - i < 32)
		return -EINVAL;
	if (k->count >= HAL_BLE_IRK_MAX)
		return -EINVAL;
	for (unsigned b = 0; b < 16; b++) {
		int hi = sl_hexval((unsigned char)s[i + 2 * b]);
		int lo = sl_hexval((unsigned char)s[i + 2 * b + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		k->key[k->count][b] = (uint8_t)(hi << 4 | lo);
	}
	i += 32;
	if (i < n && s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '#')
		return -EINVAL;
	k->count++;
	return 0;
}

int hal_ble_irk_file_load(const char *path, struct hal_ble_irks *out)
{
	struct hal_ble_irks k;
	char *buf = NULL;
	struct stat st;
	size_t len = 0, start = 0;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto err_close;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = -EINVAL;
		goto err_close;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		rc = -EPERM;
		goto err_close;
	}
	if (st.st_size > IRK_FILE_MAX) {
		rc = -EINVAL;
		goto err_close;
	}
	buf = calloc(1, (size_t)st.st_size + 1);
	if (!buf) {
		rc = -ENOMEM;
		goto err_close;
	}
	while (len < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			goto err_free;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	memset(&k, 0, sizeof(k));
	for (size_t i = 0; i <= len; i++) {
		if (i < len && buf[i] != '\n')
			continue;
		rc = irk_line(buf + start, i - start, &k);
		if (rc < 0)
			goto err_free;
		start = i + 1;
	}
	memcpy(out, &k, sizeof(k));
err_free:
	mbedtls_platform_zeroize(&k, sizeof(k));
	mbedtls_platform_zeroize(buf, (size_t)st.st_size + 1);
	free(buf);
err_close:
	close(fd);
	return rc;
}
