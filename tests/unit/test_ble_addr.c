/* SPDX-License-Identifier: MIT */
/*
 * BLE addresses: classification by type and top bits, the ah() random
 * address hash against the Core specification's sample data, RPA
 * resolution, IRK files (format, permissions) and resolution applied to
 * sightings by the backends' finishing step.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <hal/ble.h>

#include "../../hal/ble/ble_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Core v5.3, Vol 3, Part H, Appendix D.7 (ah random address hash function) */
static const uint8_t spec_irk[16] = {
	0xec, 0x02, 0x34, 0xa3, 0x57, 0xc8, 0xad, 0x05,
	0x34, 0x10, 0x10, 0xa6, 0x0a, 0x39, 0x7d, 0x9b,
};
static const uint8_t spec_prand[3] = { 0x70, 0x81, 0x94 };
static const uint8_t spec_hash[3] = { 0x0d, 0xfb, 0xaa };
/* The RPA built from them: prand (MSB) || hash, i.e. 70:81:94:0D:FB:AA */
static const uint8_t spec_rpa[6] = { 0x70, 0x81, 0x94, 0x0d, 0xfb, 0xaa };

static void test_addr_kind(void **state)
{
	/* Core v5.3, Vol 6, Part B, 1.3: the two most significant bits of a random address */
	static const struct {
		uint8_t type;
		uint8_t addr[6];
		enum hal_ble_addr_kind kind;
	} v[] = {
		{ HAL_BLE_ADDR_PUBLIC, { 0xa4, 0xc1, 0x38, 0xbf, 0x6f, 0xab }, HAL_BLE_KIND_PUBLIC },
		{ HAL_BLE_ADDR_PUBLIC, { 0xff, 0, 0, 0, 0, 0 }, HAL_BLE_KIND_PUBLIC },
		{ HAL_BLE_ADDR_PUBLIC_ID, { 0x40, 0, 0, 0, 0, 0 }, HAL_BLE_KIND_PUBLIC },
		{ HAL_BLE_ADDR_RANDOM, { 0xc1, 0x94, 0x5f, 0x17, 0x81, 0xfd }, HAL_BLE_KIND_STATIC },
		{ HAL_BLE_ADDR_RANDOM_ID, { 0xd3, 0xb5, 0x57, 0xa1, 0x91, 0x2d }, HAL_BLE_KIND_STATIC },
		{ HAL_BLE_ADDR_RANDOM, { 0x70, 0x81, 0x94, 0x0d, 0xfb, 0xaa }, HAL_BLE_KIND_RPA },
		{ HAL_BLE_ADDR_RANDOM, { 0x0e, 0x8d, 0x49, 0x4d, 0x8c, 0x42 }, HAL_BLE_KIND_NRPA },
		{ HAL_BLE_ADDR_RANDOM, { 0x80, 0xe6, 0x50, 0x20, 0x3c, 0x23 }, HAL_BLE_KIND_RESERVED },
		{ HAL_BLE_ADDR_ANONYMOUS, { 0 }, HAL_BLE_KIND_ANONYMOUS },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		assert_int_equal(hal_ble_addr_kind(v[i].type, v[i].addr), v[i].kind);
	assert_string_equal(hal_ble_addr_kind_name(HAL_BLE_KIND_RPA), "rpa");
	assert_string_equal(hal_ble_addr_kind_name(HAL_BLE_KIND_NRPA), "nrpa");
	assert_string_equal(hal_ble_addr_kind_name(HAL_BLE_KIND_STATIC), "static");
	assert_string_equal(hal_ble_addr_kind_name(HAL_BLE_KIND_PUBLIC), "public");
}

static void test_ah_spec_sample(void **state)
{
	uint8_t hash[3];

	(void)state;
	assert_int_equal(hal_ble_ah(spec_irk, spec_prand, hash), 0);
	assert_memory_equal(hash, spec_hash, 3);
}

static void test_rpa_resolves(void **state)
{
	uint8_t a[6], irk[16];

	(void)state;
	assert_true(hal_ble_rpa_resolves(spec_irk, spec_rpa));
	memcpy(a, spec_rpa, 6);
	a[5] ^= 1;		/* wrong hash */
	assert_false(hal_ble_rpa_resolves(spec_irk, a));
	memcpy(a, spec_rpa, 6);
	a[0] |= 0xc0;		/* not an RPA pattern */
	assert_false(hal_ble_rpa_resolves(spec_irk, a));
	memcpy(irk, spec_irk, 16);
	irk[15] ^= 1;		/* other key */
	assert_false(hal_ble_rpa_resolves(irk, spec_rpa));
}

static char tmpdir[64];

static int setup_dir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_ble_addr.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *write_file(const char *name, const char *text, mode_t mode)
{
	static char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
	return path;
}

static void test_irk_file(void **state)
{
	struct hal_ble_irks k;
	const char *p;

	(void)state;
	p = write_file("ok", "# staff phones\n"
			     "ec0234a357c8ad05341010a60a397d9b  staff-1 (Core spec sample)\n"
			     "\n"
			     "   0x000102030405060708090A0B0C0D0E0F\r\n"
			     "ffeeddccbbaa99887766554433221100#tablet", 0600);
	memset(&k, 0, sizeof(k));
	assert_int_equal(hal_ble_irk_file_load(p, &k), 0);
	assert_int_equal(k.count, 3);
	assert_memory_equal(k.key[0], spec_irk, 16);
	assert_int_equal(k.key[1][0], 0x00);
	assert_int_equal(k.key[1][15], 0x0f);
	assert_int_equal(k.key[2][0], 0xff);

	p = write_file("group", "ec0234a357c8ad05341010a60a397d9b\n", 0640);
	assert_int_equal(hal_ble_irk_file_load(p, &k), -EPERM);
	p = write_file("short", "ec0234a357c8ad05341010a60a397d9\n", 0600);
	assert_int_equal(hal_ble_irk_file_load(p, &k), -EINVAL);
	p = write_file("long", "ec0234a357c8ad05341010a60a397d9b0\n", 0600);
	assert_int_equal(hal_ble_irk_file_load(p, &k), -EINVAL);
	p = write_file("nothex", "ec0234a357c8ad05341010a60a397d9x\n", 0600);
	assert_int_equal(hal_ble_irk_file_load(p, &k), -EINVAL);
	assert_int_equal(hal_ble_irk_file_load("/nonexistent/irks", &k), -ENOENT);
	assert_int_equal(hal_ble_irk_file_load(tmpdir, &k), -EINVAL);	/* a directory */
	{
		char big[(HAL_BLE_IRK_MAX + 1) * 33 + 1];

		for (int i = 0; i <= HAL_BLE_IRK_MAX; i++)
			memcpy(big + i * 33, "000102030405060708090a0b0c0d0e0f\n", 33);
		big[(HAL_BLE_IRK_MAX + 1) * 33] = '\0';
		p = write_file("toomany", big, 0600);
		assert_int_equal(hal_ble_irk_file_load(p, &k), -EINVAL);
		big[HAL_BLE_IRK_MAX * 33] = '\0';
		p = write_file("max", big, 0600);
		assert_int_equal(hal_ble_irk_file_load(p, &k), 0);
		assert_int_equal(k.count, HAL_BLE_IRK_MAX);
	}
	p = write_file("empty", "", 0600);
	assert_int_equal(hal_ble_irk_file_load(p, &k), 0);
	assert_int_equal(k.count, 0);
}

/* The finishing step resolves RPAs against the configured keys, by index. */
static void test_finish_resolves(void **state)
{
	struct hal_ble_cfg cfg = { 0 };
	struct hal_ble__common c;
	struct hal_ble_sighting s;

	(void)state;
	cfg.irk_file = write_file("irks", "000102030405060708090a0b0c0d0e0f\n"
					  "ec0234a357c8ad05341010a60a397d9b\n", 0600);
	cfg.app_uuid = "feed";
	assert_int_equal(hal_ble__common_init(&c, &cfg), 0);
	assert_int_equal(c.irk_count, 2);

	memset(&s, 0, sizeof(s));
	s.addr_type = HAL_BLE_ADDR_RANDOM;
	memcpy(s.addr, spec_rpa, 6);
	s.data_status = HAL_BLE_DATA_COMPLETE;
	/* service data 0xFEED = the app token */
	memcpy(s.ad, "\x05\x16\xed\xfe\xab\xcd", 6);
	s.ad_len = 6;
	hal_ble__finish(&c, &s);
	assert_int_equal(s.irk, 1);
	assert_int_equal(s.beacon.format, HAL_BLE_FMT_APP_TOKEN);
	assert_int_equal(s.beacon.token_len, 2);
	assert_false(s.ad_malformed);

	s.addr[5] ^= 1;
	hal_ble__finish(&c, &s);
	assert_int_equal(s.irk, -1);
	s.addr_type = HAL_BLE_ADDR_PUBLIC;	/* same bits, but public: never resolved */
	memcpy(s.addr, spec_rpa, 6);
	hal_ble__finish(&c, &s);
	assert_int_equal(s.irk, -1);

	/* incomplete extended data is not decoded; malformed AD is flagged */
	s.data_status = HAL_BLE_DATA_INCOMPLETE;
	hal_ble__finish(&c, &s);
	assert_int_equal(s.beacon.format, HAL_BLE_FMT_NONE);
	s.data_status = HAL_BLE_DATA_COMPLETE;
	s.ad[0] = 0x09;
	hal_ble__finish(&c, &s);
	assert_true(s.ad_malformed);
	assert_int_equal(s.beacon.format, HAL_BLE_FMT_NONE);
	hal_ble__common_free(&c);
	hal_ble__common_free(&c);	/* twice: the first left it zeroed */

	cfg.app_uuid = "fee";
	assert_int_equal(hal_ble__common_init(&c, &cfg), -EINVAL);
	cfg.app_uuid = NULL;
	cfg.irk_file = "/nonexistent/irks";
	assert_int_equal(hal_ble__common_init(&c, &cfg), -ENOENT);
	hal_ble__common_free(&c);
	hal_ble__common_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addr_kind),
		cmocka_unit_test(test_ah_spec_sample),
		cmocka_unit_test(test_rpa_resolves),
		cmocka_unit_test(test_irk_file),
		cmocka_unit_test(test_finish_resolves),
	};

	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
