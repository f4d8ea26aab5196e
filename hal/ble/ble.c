/* SPDX-License-Identifier: MIT */
/*
 * hal_ble front: the backend registry behind hal_ble_open(), the state
 * every backend keeps from the configuration (app token UUID, IRKs), the
 * finishing step applied to each sighting, and the names used in JSON.
 */
#include "ble_internal.h"
#include "util.h"

#include <mbedtls/aes.h>
#include <mbedtls/platform_util.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct backend {
	const char *prefix;	/* source string prefix, with the colon */
	const char *name;
	const struct hal_ble_ops *ops;
};

/* Only the backends Kconfig compiled in; the others do not exist to link. */
static const struct backend backends[] = {
#ifdef CONFIG_SL_BLE_BLUEZ
	{ "hci:", "hci", &hal_ble__bluez_ops },
#endif
	{ "btsnoop:", "btsnoop", &hal_ble__btsnoop_ops },
};

int hal_ble_open(struct hal_ble *ble, const char *source, const struct hal_ble_cfg *cfg)
{
	struct hal_ble_cfg c = { 0 };
	int rc;

	if (!ble || !source)
		return -EINVAL;
	if (cfg)
		c = *cfg;
	c.source = source;
	for (size_t i = 0; i < ARRAY_SIZE(backends); i++) {
		const struct backend *b = &backends[i];
		size_t n = strlen(b->prefix);

		if (strncmp(source, b->prefix, n) != 0)
			continue;
		if (source[n] == '\0')
			return -EINVAL;
		ble->ops = b->ops;
		ble->name = b->name;
		ble->priv = NULL;
		rc = b->ops->open(ble, &c);
		if (rc < 0) {
			b->ops->close(ble);
			memset(ble, 0, sizeof(*ble));
		}
		return rc;
	}
	if (strncmp(source, "hci:", 4) == 0)
		return -EPROTONOSUPPORT;
	return -EINVAL;
}

void hal_ble_close(struct hal_ble *ble)
{
	if (!ble)
		return;
	if (ble->ops && ble->ops->close)
		ble->ops->close(ble);
	memset(ble, 0, sizeof(*ble));
}

int hal_ble__common_init(struct hal_ble__common *c, const struct hal_ble_cfg *cfg)
{
	struct hal_ble_irks irks;
	mbedtls_aes_context *aes;
	int rc;

	memset(c, 0, sizeof(*c));
	if (cfg->app_uuid && cfg->app_uuid[0]) {
		if (hal_ble_uuid_parse(cfg->app_uuid, c->app_uuid) < 0)
			return -EINVAL;
		c->has_app_uuid = true;
	}
	if (!cfg->irk_file || !cfg->irk_file[0])
		return 0;
	rc = hal_ble_irk_file_load(cfg->irk_file, &irks);
	if (rc < 0)
		return rc;
	if (irks.count == 0)
		goto out;
	aes = calloc(irks.count, sizeof(*aes));
	if (!aes) {
		rc = -ENOMEM;
		goto out;
	}
	for (unsigned i = 0; i < irks.count; i++) {
		mbedtls_aes_init(&aes[i]);
		if (mbedtls_aes_setkey_enc(&aes[i], irks.key[i], 128) != 0)
			rc = -EIO;
	}
	c->irk_aes = aes;
	c->irk_count = irks.count;
	if (rc < 0)
		hal_ble__common_free(c);
out:
	mbedtls_platform_zeroize(&irks, sizeof(irks));
	return rc;
}

void hal_ble__common_free(struct hal_ble__common *c)
{
	mbedtls_aes_context *aes;

	if (!c)
		return;
	aes = c->irk_aes;
	for (unsigned i = 0; aes && i < c->irk_count; i++)
		mbedtls_aes_free(&aes[i]);	/* zeroizes the key schedule */
	free(aes);
	memset(c, 0, sizeof(*c));
}

static int resolve(const struct hal_ble__common *c, const uint8_t addr[6])
{
	mbedtls_aes_context *aes = c->irk_aes;
	uint8_t in[16] = { 0 }, out[16];
	int found = -1;

	memcpy(in + 13, addr, 3);	/* prand: the 24 most significant bits */
	for (unsigned i = 0; i < c->irk_count && found < 0; i++) {
		if (mbedtls_aes_crypt_ecb(&aes[i], MBEDTLS_AES_ENCRYPT, in, out) != 0)
			continue;
		if (memcmp(out + 13, addr + 3, 3) == 0)
			found = (int)i;
	}
	return found;
}

void hal_ble__finish(const struct hal_ble__common *c, struct hal_ble_sighting *s)
{
	const uint8_t *app = c->has_app_uuid ? c->app_uuid : NULL;

	s->irk = -1;
	if (c->irk_count && hal_ble_addr_kind(s->addr_type, s->addr) == HAL_BLE_KIND_RPA)
		s->irk = (int8_t)resolve(c, s->addr);
	memset(&s->beacon, 0, sizeof(s->beacon));
	s->ad_malformed = false;
	if (s->data_status != HAL_BLE_DATA_COMPLETE)
		return;
	if (hal_ble_decode(s->ad, s->ad_len, app, &s->beacon) == -EBADMSG)
		s->ad_malformed = true;
}

const char *hal_ble_event_name(uint8_t event)
{
	static const char *const names[] = {
		[HAL_BLE_EVT_ADV_IND] = "adv_ind",
		[HAL_BLE_EVT_ADV_DIRECT_IND] = "adv_direct_ind",
		[HAL_BLE_EVT_ADV_SCAN_IND] = "adv_scan_ind",
		[HAL_BLE_EVT_ADV_NONCONN_IND] = "adv_nonconn_ind",
		[HAL_BLE_EVT_SCAN_RSP] = "scan_rsp",
		[HAL_BLE_EVT_EXT_ADV] = "ext_adv",
		[HAL_BLE_EVT_EXT_SCAN_RSP] = "ext_scan_rsp",
	};

	return event < ARRAY_SIZE(names) ? names[event] : "unknown";
}

const char *hal_ble_addr_type_name(uint8_t addr_type)
{
	switch (addr_type) {
	case HAL_BLE_ADDR_PUBLIC:
	case HAL_BLE_ADDR_PUBLIC_ID:
		return "public";
	case HAL_BLE_ADDR_RANDOM:
	case HAL_BLE_ADDR_RANDOM_ID:
		return "random";
	case HAL_BLE_ADDR_ANONYMOUS:
		return "anonymous";
	default:
		return "unknown";
	}
}

const char *hal_ble_addr_kind_name(enum hal_ble_addr_kind kind)
{
	switch (kind) {
	case HAL_BLE_KIND_PUBLIC:
		return "public";
	case HAL_BLE_KIND_STATIC:
		return "static";
	case HAL_BLE_KIND_RPA:
		return "rpa";
	case HAL_BLE_KIND_NRPA:
		return "nrpa";
	case HAL_BLE_KIND_RESERVED:
		return "reserved";
	case HAL_BLE_KIND_ANONYMOUS:
		return "anonymous";
	}
	return "unknown";
}

const char *hal_ble_format_name(enum hal_ble_format format)
{
	switch (format) {
	case HAL_BLE_FMT_IBEACON:
		return "ibeacon";
	case HAL_BLE_FMT_ALTBEACON:
		return "altbeacon";
	case HAL_BLE_FMT_EDDYSTONE_UID:
		return "eddystone-uid";
	case HAL_BLE_FMT_EDDYSTONE_URL:
		return "eddystone-url";
	case HAL_BLE_FMT_EDDYSTONE_TLM:
		return "eddystone-tlm";
	case HAL_BLE_FMT_EDDYSTONE_EID:
		return "eddystone-eid";
	case HAL_BLE_FMT_APP_TOKEN:
		return "app-token";
	case HAL_BLE_FMT_NONE:
		break;
	}
	return "unknown";
}

const char *hal_ble_phy_name(uint8_t phy)
{
	switch (phy) {
	case HAL_BLE_PHY_1M:
		return "1m";
	case HAL_BLE_PHY_2M:
		return "2m";
	case HAL_BLE_PHY_CODED:
		return "coded";
	default:
		return "none";
	}
}
