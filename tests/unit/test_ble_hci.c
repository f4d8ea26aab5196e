/* SPDX-License-Identifier: MIT */
/*
 * HCI advertising report parser and the btsnoop replay backend: events
 * with several legacy reports, extended reports (legacy PDUs, PHYs, data
 * status, anonymous), events that must be rejected, the shared snoop log
 * (412 reports from 36 addresses, counts cross-checked with tshark), the
 * other btsnoop datalinks (H1, btmon) and damaged files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <hal/ble.h>

#include "../../hal/ble/ble_internal.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define IS_HCI IS_ENABLED(CONFIG_SL_BLE_BLUEZ)
#define SNOOP SL_TEST_DATA_DIR "/ble/horizon-74-at_btsnoop_hci.log"

struct buf {
	uint8_t b[600];
	size_t n;
};

static void put(struct buf *b, const void *p, size_t n)
{
	assert_true(b->n + n <= sizeof(b->b));
	if (n)
		memcpy(b->b + b->n, p, n);
	b->n += n;
}

static void put8(struct buf *b, uint8_t v)
{
	put(b, &v, 1);
}

/* Fixes the parameter length octet of the event in b. */
static void seal(struct buf *b)
{
	b->b[1] = (uint8_t)(b->n - 2);
}

/* Core v5.3 Vol 4 Part E 7.7.65.2 LE Advertising Report, one report (constructed). */
static void legacy_report(struct buf *b, uint8_t type, uint8_t atype, const uint8_t addr_air[6],
			  const void *ad, uint8_t len, int8_t rssi)
{
	put8(b, type);
	put8(b, atype);
	put(b, addr_air, 6);
	put8(b, len);
	put(b, ad, len);
	put8(b, (uint8_t)rssi);
}

/* Core v5.3 Vol 4 Part E 7.7.65.13 LE Extended Advertising Report, one report (constructed). */
static void ext_report(struct buf *b, uint16_t type, uint8_t atype, const uint8_t addr_air[6],
		       uint8_t phy1, uint8_t phy2, uint8_t sid, int8_t tx, int8_t rssi,
		       const void *ad, uint8_t len)
{
	static const uint8_t zero[8];

	put8(b, (uint8_t)type);
	put8(b, (uint8_t)(type >> 8));
	put8(b, atype);
	put(b, addr_air, 6);
	put8(b, phy1);
	put8(b, phy2);
	put8(b, sid);
	put8(b, (uint8_t)tx);
	put8(b, (uint8_t)rssi);
	put(b, zero, 2);	/* periodic advertising interval */
	put(b, zero, 7);	/* direct address type + address */
	put8(b, len);
	put(b, ad, len);
}

static const uint8_t addr1_air[6] = { 0xab, 0x6f, 0xbf, 0x38, 0xc1, 0xa4 }; /* A4:C1:38:BF:6F:AB */
static const uint8_t addr1[6] = { 0xa4, 0xc1, 0x38, 0xbf, 0x6f, 0xab };
static const uint8_t addr2_air[6] = { 0xfd, 0x81, 0x17, 0x5f, 0x94, 0xc1 }; /* C1:94:5F:17:81:FD */
static const uint8_t addr3_air[6] = { 0x42, 0x8c, 0x4d, 0x49, 0x8d, 0x0e }; /* 0E:8D:49:4D:8C:42 */

/* beacontools test_ibeacon AD */
static const uint8_t ibeacon_ad[30] = {
	0x02, 0x01, 0x06, 0x1a, 0xff, 0x4c, 0x00, 0x02, 0x15, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46,
	0x47, 0x48, 0x49, 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x00, 0x01, 0x00, 0x02, 0xf8,
};
/* beacontools test_eddystone_uid AD */
static const uint8_t uid_ad[31] = {
	0x02, 0x01, 0x06, 0x03, 0x03, 0xaa, 0xfe, 0x17, 0x16, 0xaa, 0xfe, 0x00, 0xe3, 0x12, 0x34, 0x56,
	0x78, 0x90, 0x12, 0x34, 0x67, 0x89, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
};

static void legacy_three(struct buf *b)
{
	static const uint8_t flags[3] = { 0x02, 0x01, 0x06 };

	b->n = 0;
	put8(b, HCI_EV_LE_META);
	put8(b, 0);
	put8(b, HCI_LE_ADV_REPORT);
	put8(b, 3);
	legacy_report(b, 0x00, 0x00, addr1_air, flags, 3, -59);
	legacy_report(b, 0x04, 0x01, addr2_air, NULL, 0, 127);
	legacy_report(b, 0x03, 0x01, addr3_air, ibeacon_ad, sizeof(ibeacon_ad), -80);
	seal(b);
}

static int collect(const struct buf *b, struct hal_ble_sighting *out, int max)
{
	struct hal_ble__hci_iter it;
	struct hal_ble__common c = { 0 };
	int n = 0, rc;

	rc = hal_ble__hci_iter_init(&it, b->b, b->n);
	if (rc < 0)
		return rc;
	while (n < max && hal_ble__hci_iter_next(&it, 1234, &out[n]) == 1) {
		hal_ble__finish(&c, &out[n]);
		n++;
	}
	assert_int_equal(hal_ble__hci_iter_next(&it, 1234, &out[0]), 0);
	return n;
}

static void test_legacy_several_reports(void **state)
{
	static struct hal_ble_sighting s[4];
	struct buf b;

	(void)state;
	legacy_three(&b);
	assert_int_equal(collect(&b, s, 4), 3);

	assert_int_equal(s[0].ts_us, 1234);
	assert_memory_equal(s[0].addr, addr1, 6);
	assert_int_equal(s[0].addr_type, HAL_BLE_ADDR_PUBLIC);
	assert_int_equal(s[0].event, HAL_BLE_EVT_ADV_IND);
	assert_int_equal(s[0].rssi, -59);
	assert_int_equal(s[0].primary_phy, HAL_BLE_PHY_1M);
	assert_int_equal(s[0].secondary_phy, HAL_BLE_PHY_NONE);
	assert_int_equal(s[0].sid, 0xff);
	assert_int_equal(s[0].tx_power, HAL_BLE_RSSI_NONE);
	assert_false(s[0].extended);
	assert_int_equal(s[0].ad_len, 3);
	assert_int_equal(s[0].irk, -1);
	assert_int_equal(s[0].beacon.format, HAL_BLE_FMT_NONE);

	assert_int_equal(s[1].event, HAL_BLE_EVT_SCAN_RSP);
	assert_int_equal(s[1].addr_type, HAL_BLE_ADDR_RANDOM);
	assert_int_equal(s[1].rssi, HAL_BLE_RSSI_NONE);
	assert_int_equal(s[1].ad_len, 0);
	assert_int_equal(hal_ble_addr_kind(s[1].addr_type, s[1].addr), HAL_BLE_KIND_STATIC);

	assert_int_equal(s[2].event, HAL_BLE_EVT_ADV_NONCONN_IND);
	assert_int_equal(s[2].rssi, -80);
	assert_int_equal(s[2].ad_len, 30);
	assert_int_equal(s[2].beacon.format, HAL_BLE_FMT_IBEACON);
	assert_int_equal(s[2].beacon.minor, 2);
	assert_int_equal(hal_ble_addr_kind(s[2].addr_type, s[2].addr), HAL_BLE_KIND_NRPA);
}

static void ext_four(struct buf *b)
{
	static const uint8_t half_uid[12] = { 0x02, 0x01, 0x06, 0x03, 0x03, 0xaa, 0xfe, 0x17, 0x16,
					      0xaa, 0xfe, 0x00 };
	static const uint8_t none[6];

	b->n = 0;
	put8(b, HCI_EV_LE_META);
	put8(b, 0);
	put8(b, HCI_LE_EXT_ADV_REPORT);
	put8(b, 4);
	/* legacy ADV_IND carried in an extended report: 0b0010011 */
	ext_report(b, 0x0013, 0x00, addr1_air, 1, 0, 0xff, 127, -64, ibeacon_ad, 30);
	/* extended, non-connectable, 1M primary + 2M secondary, SID 5, tx -4 */
	ext_report(b, 0x0000, 0x01, addr2_air, 1, 2, 5, -4, -70, uid_ad, sizeof(uid_ad));
	/* scan response to extended advertising, data incomplete (more to come) on Coded PHY */
	ext_report(b, 0x0028 | 0x0003, 0x03, addr2_air, 3, 3, 5, 127, -90, half_uid, 12);
	/* anonymous advertising, truncated data */
	ext_report(b, 0x0040, 0xff, none, 1, 2, 1, 127, -55, NULL, 0);
	seal(b);
}

static void test_extended_reports(void **state)
{
	static struct hal_ble_sighting s[5];
	struct buf b;

	(void)state;
	ext_four(&b);
	assert_int_equal(collect(&b, s, 5), 4);

	assert_true(s[0].extended);
	assert_int_equal(s[0].event, HAL_BLE_EVT_ADV_IND);
	assert_int_equal(s[0].ext_event_type, 0x0013);
	assert_int_equal(s[0].rssi, -64);
	assert_int_equal(s[0].tx_power, 127);
	assert_int_equal(s[0].beacon.format, HAL_BLE_FMT_IBEACON);

	assert_int_equal(s[1].event, HAL_BLE_EVT_EXT_ADV);
	assert_int_equal(s[1].primary_phy, HAL_BLE_PHY_1M);
	assert_int_equal(s[1].secondary_phy, HAL_BLE_PHY_2M);
	assert_int_equal(s[1].sid, 5);
	assert_int_equal(s[1].tx_power, -4);
	assert_int_equal(s[1].rssi, -70);
	assert_int_equal(s[1].data_status, HAL_BLE_DATA_COMPLETE);
	assert_int_equal(s[1].beacon.format, HAL_BLE_FMT_EDDYSTONE_UID);

	assert_int_equal(s[2].event, HAL_BLE_EVT_EXT_SCAN_RSP);
	assert_int_equal(s[2].addr_type, HAL_BLE_ADDR_RANDOM_ID);
	assert_int_equal(s[2].primary_phy, HAL_BLE_PHY_CODED);
	assert_int_equal(s[2].data_status, HAL_BLE_DATA_INCOMPLETE);
	assert_int_equal(s[2].beacon.format, HAL_BLE_FMT_NONE);	/* partial: not decoded */
	assert_false(s[2].ad_malformed);

	assert_int_equal(s[3].addr_type, HAL_BLE_ADDR_ANONYMOUS);
	assert_int_equal(s[3].data_status, HAL_BLE_DATA_TRUNCATED);
	assert_int_equal(hal_ble_addr_kind(s[3].addr_type, s[3].addr), HAL_BLE_KIND_ANONYMOUS);
	for (int i = 0; i < 6; i++)
		assert_int_equal(s[3].addr[i], 0);
}

/* Legacy PDU type in extended reports, Core v5.3 Vol 4 Part E 7.7.65.13 table. */
static void test_extended_legacy_types(void **state)
{
	static const struct {
		uint16_t type;
		uint8_t event;
	} v[] = {
		{ 0x0013, HAL_BLE_EVT_ADV_IND },
		{ 0x0015, HAL_BLE_EVT_ADV_DIRECT_IND },
		{ 0x0012, HAL_BLE_EVT_ADV_SCAN_IND },
		{ 0x0010, HAL_BLE_EVT_ADV_NONCONN_IND },
		{ 0x001b, HAL_BLE_EVT_SCAN_RSP },
		{ 0x001a, HAL_BLE_EVT_SCAN_RSP },
		{ 0x0001, HAL_BLE_EVT_EXT_ADV },
		{ 0x000a, HAL_BLE_EVT_EXT_SCAN_RSP },
	};
	static struct hal_ble_sighting s[1];

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct buf b = { .n = 0 };

		put8(&b, HCI_EV_LE_META);
		put8(&b, 0);
		put8(&b, HCI_LE_EXT_ADV_REPORT);
		put8(&b, 1);
		ext_report(&b, v[i].type, 0, addr1_air, 1, 0, 0xff, 127, -50, NULL, 0);
		seal(&b);
		assert_int_equal(collect(&b, s, 1), 1);
		assert_int_equal(s[0].event, v[i].event);
	}
}

/* Events that must be rejected whole: each row mutates a valid event (constructed). */
static void test_rejects(void **state)
{
	static struct hal_ble_sighting s[4];
	struct buf b;

	(void)state;
	legacy_three(&b);
	b.b[3] = 4;				/* one report more than present */
	assert_int_equal(collect(&b, s, 4), -EBADMSG);
	legacy_three(&b);
	b.b[3] = 2;				/* trailing bytes after the reports */
	assert_int_equal(collect(&b, s, 4), -EBADMSG);
	legacy_three(&b);
	b.b[3] = 0;				/* Num_Reports 0 */
	assert_int_equal(collect(&b, s, 4), -EBADMSG);
	legacy_three(&b);
	b.b[1]++;				/* length octet past the buffer */
	assert_int_equal(collect(&b, s, 4), -EBADMSG);
	legacy_three(&b);
	b.n--;					/* cut short */
	assert_int_equal(collect(&b, s, 4), -EBADMSG);
	legacy_three(&b);
	b.b[4] = 0x05;				/* reserved event type */
	assert_int_equal(collect(&b, s, 4), -EBADMSG);
	legacy_three(&b);
	b.b[5] = 0x04;				/* reserved address type */
	assert_int_equal(collect(&b, s, 4), -EBADMSG);
	legacy_three(&b);
	b.b[12] = 0x40;				/* data length beyond the event */
	assert_int_equal(collect(&b, s, 4), -EBADMSG);

	{	/* legacy data longer than 31 octets */
		uint8_t ad[32] = { 0 };

		b.n = 0;
		put8(&b, HCI_EV_LE_META);
		put8(&b, 0);
		put8(&b, HCI_LE_ADV_REPORT);
		put8(&b, 1);
		legacy_report(&b, 0, 0, addr1_air, ad, 32, -1);
		seal(&b);
		assert_int_equal(collect(&b, s, 4), -EBADMSG);
	}

	ext_four(&b);
	b.b[4] = 0x60;				/* data status 3 (reserved) */
	assert_int_equal(collect(&b, s, 4), -EBADMSG);
	ext_four(&b);
	b.b[6] = 0x05;				/* reserved address type */
	assert_int_equal(collect(&b, s, 4), -EBADMSG);
	ext_four(&b);
	b.b[4 + 9] = 0x00;			/* primary PHY 0 */
	assert_int_equal(collect(&b, s, 4), -EBADMSG);
	ext_four(&b);
	b.b[4 + 10] = 0x04;			/* secondary PHY 4 */
	assert_int_equal(collect(&b, s, 4), -EBADMSG);
	ext_four(&b);
	b.n -= 1;
	seal(&b);				/* consistent length, last report short */
	assert_int_equal(collect(&b, s, 4), -EBADMSG);

	/* not advertising reports: ignored, not errors */
	{
		static const uint8_t cc[] = { 0x0e, 0x04, 0x01, 0x03, 0x0c, 0x00 };
		static const uint8_t conn[] = { 0x3e, 0x02, 0x01, 0x00 };
		struct hal_ble__hci_iter it;

		assert_int_equal(hal_ble__hci_iter_init(&it, cc, sizeof(cc)), -ENOMSG);
		assert_int_equal(hal_ble__hci_iter_init(&it, conn, sizeof(conn)), -ENOMSG);
		assert_int_equal(hal_ble__hci_iter_init(&it, conn, 1), -EBADMSG);
		assert_int_equal(hal_ble__hci_iter_init(&it, conn, 3), -EBADMSG);
	}
}

/* ---- btsnoop replay ---- */

struct tally {
	int reports;
	int distinct;
	uint8_t seen[64][7];
	int by_event[8];
	int by_type[2];
	int beacons;
};

static void count(struct tally *t, const struct hal_ble_sighting *s)
{
	int i;

	t->reports++;
	t->by_event[s->event]++;
	t->by_type[s->addr_type & 1]++;
	if (s->beacon.format != HAL_BLE_FMT_NONE)
		t->beacons++;
	for (i = 0; i < t->distinct; i++)
		if (t->seen[i][0] == s->addr_type && memcmp(t->seen[i] + 1, s->addr, 6) == 0)
			break;
	if (i == t->distinct) {
		assert_true(t->distinct < 64);
		t->seen[i][0] = s->addr_type;
		memcpy(t->seen[i] + 1, s->addr, 6);
		t->distinct++;
	}
}

static int replay(const char *source, struct tally *t, struct hal_ble_sighting *first)
{
	struct hal_ble ble = { 0 };
	struct hal_ble_sighting s;
	int rc;

	memset(t, 0, sizeof(*t));
	rc = hal_ble_open(&ble, source, NULL);
	if (rc < 0)
		return rc;
	assert_string_equal(ble.name, "btsnoop");
	assert_true(ble.ops->fd(&ble) >= 0);
	while ((rc = ble.ops->read(&ble, &s)) >= 0) {
		if (rc == 0)
			continue;
		if (t->reports == 0 && first)
			*first = s;
		count(t, &s);
	}
	assert_int_equal(ble.ops->read(&ble, &s), rc);	/* stays at its end */
	hal_ble_close(&ble);
	assert_null(ble.ops);
	return rc;
}

static void test_replay_shared_log(void **state)
{
	static struct tally t;
	struct hal_ble_sighting first;

	(void)state;
	assert_int_equal(replay("btsnoop:" SNOOP, &t, &first), -ENODATA);
	/* tshark -Y "bthci_evt.le_meta_subevent == 0x02": 412 frames, 36 bd_addr */
	assert_int_equal(t.reports, 412);
	assert_int_equal(t.distinct, 36);
	/* tshark -V: Event Type / Peer Address Type counts */
	assert_int_equal(t.by_event[HAL_BLE_EVT_ADV_IND], 126);
	assert_int_equal(t.by_event[HAL_BLE_EVT_ADV_NONCONN_IND], 158);
	assert_int_equal(t.by_event[HAL_BLE_EVT_SCAN_RSP], 127);
	assert_int_equal(t.by_event[HAL_BLE_EVT_ADV_SCAN_IND], 1);
	assert_int_equal(t.by_type[0], 106);
	assert_int_equal(t.by_type[1], 306);
	/* tshark frame 133: 2021-02-01 03:27:59.789053 UTC, TelinkSe a4:c1:38:bf:6f:ab, -49 dBm */
	assert_int_equal(first.ts_us, 1612150079789053ull);
	assert_memory_equal(first.addr, addr1, 6);
	assert_int_equal(first.rssi, -49);
	assert_int_equal(first.event, HAL_BLE_EVT_ADV_IND);
	assert_int_equal(first.ad_len, 31);
	assert_true(t.beacons > 0);
}

static char tmpdir[64];

static int setup_dir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_ble_hci.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static FILE *snoop_create(const char *name, uint32_t datalink, char *path, size_t cap)
{
	uint8_t h[16] = "btsnoop";
	FILE *f;

	snprintf(path, cap, "%s/%s", tmpdir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	be32(h + 8, 1);
	be32(h + 12, datalink);
	assert_int_equal(fwrite(h, 1, 16, f), 16);
	return f;
}

static void snoop_record(FILE *f, uint32_t flags, const void *pre, size_t pre_len, const void *p,
			 size_t len, uint64_t ts_us)
{
	uint8_t r[24] = { 0 };
	uint64_t ts = ts_us + 0x00dcddb30f2f8000ull;

	be32(r, (uint32_t)(pre_len + len));
	be32(r + 4, (uint32_t)(pre_len + len));
	be32(r + 8, flags);
	be32(r + 16, (uint32_t)(ts >> 32));
	be32(r + 20, (uint32_t)ts);
	assert_int_equal(fwrite(r, 1, 24, f), 24);
	if (pre_len)
		assert_int_equal(fwrite(pre, 1, pre_len, f), pre_len);
	if (len)
		assert_int_equal(fwrite(p, 1, len, f), len);
}

/* H1 (1001) and btmon (2001) files with the multi-report event, plus records to skip. */
static void test_replay_other_datalinks(void **state)
{
	static struct tally t;
	static const uint8_t cmd[] = { 0x03, 0x0c, 0x00 };
	static uint8_t big[70000];
	struct hal_ble_sighting first;
	char path[128], src[160];
	struct buf ev;
	FILE *f;

	(void)state;
	legacy_three(&ev);

	f = snoop_create("h1", 1001, path, sizeof(path));
	snoop_record(f, 2, NULL, 0, cmd, sizeof(cmd), 1);		/* command, sent */
	snoop_record(f, 0, NULL, 0, big, sizeof(big), 2);		/* ACL, larger than the buffer */
	snoop_record(f, 3, NULL, 0, ev.b, ev.n, 1700000000000000ull);	/* event, received */
	snoop_record(f, 3, NULL, 0, ev.b, 1, 4);			/* event too short: skipped */
	fclose(f);
	snprintf(src, sizeof(src), "btsnoop:%s", path);
	assert_int_equal(replay(src, &t, &first), -ENODATA);
	assert_int_equal(t.reports, 3);
	assert_int_equal(first.ts_us, 1700000000000000ull);

	f = snoop_create("monitor", 2001, path, sizeof(path));
	snoop_record(f, 2, NULL, 0, cmd, sizeof(cmd), 1);		/* opcode 2: command */
	snoop_record(f, (1u << 16) | 3, NULL, 0, ev.b, ev.n, 5);	/* hci1, opcode 3: event */
	fclose(f);
	snprintf(src, sizeof(src), "btsnoop:%s", path);
	assert_int_equal(replay(src, &t, NULL), -ENODATA);
	assert_int_equal(t.reports, 3);

	f = snoop_create("h4", 1002, path, sizeof(path));
	snoop_record(f, 3, "\x04", 1, ev.b, ev.n, 0);			/* ts before 1970 clamps to 0 */
	snoop_record(f, 3, NULL, 0, NULL, 0, 0);			/* empty record */
	snoop_record(f, 3, "\x04", 1, big, 300, 0);			/* event longer than HCI allows */
	fclose(f);
	snprintf(src, sizeof(src), "btsnoop:%s", path);
	assert_int_equal(replay(src, &t, &first), -ENODATA);
	assert_int_equal(t.reports, 3);
}

static void test_replay_damaged(void **state)
{
	static struct tally t;
	char path[128], src[160];
	uint8_t raw[24];
	struct buf ev;
	FILE *f;

	(void)state;
	legacy_three(&ev);

	/* header only: no reports, clean end */
	f = snoop_create("empty", 1002, path, sizeof(path));
	fclose(f);
	snprintf(src, sizeof(src), "btsnoop:%s", path);
	assert_int_equal(replay(src, &t, NULL), -ENODATA);
	assert_int_equal(t.reports, 0);

	/* a record cut short after a good one: its reports, then -EBADMSG */
	f = snoop_create("cut", 1002, path, sizeof(path));
	snoop_record(f, 3, "\x04", 1, ev.b, ev.n, 0);
	snoop_record(f, 3, "\x04", 1, ev.b, ev.n, 0);
	fclose(f);
	assert_int_equal(truncate(path, 16 + 2 * 24 + 2 * (1 + (long)ev.n) - 5), 0);
	snprintf(src, sizeof(src), "btsnoop:%s", path);
	assert_int_equal(replay(src, &t, NULL), -EBADMSG);
	assert_int_equal(t.reports, 3);

	/* a record header cut short */
	assert_int_equal(truncate(path, 16 + 24 + 1 + (long)ev.n + 10), 0);
	assert_int_equal(replay(src, &t, NULL), -EBADMSG);
	assert_int_equal(t.reports, 3);

	/* included length larger than the original length */
	f = snoop_create("incl", 1002, path, sizeof(path));
	memset(raw, 0, sizeof(raw));
	be32(raw, 10);
	be32(raw + 4, 11);
	fwrite(raw, 1, 24, f);
	fclose(f);
	snprintf(src, sizeof(src), "btsnoop:%s", path);
	assert_int_equal(replay(src, &t, NULL), -EBADMSG);

	/* not btsnoop; wrong version; unsupported datalink; short header; missing file */
	f = snoop_create("dlt", 1000, path, sizeof(path));
	fclose(f);
	snprintf(src, sizeof(src), "btsnoop:%s", path);
	assert_int_equal(replay(src, &t, NULL), -EPROTONOSUPPORT);
	assert_int_equal(truncate(path, 10), 0);
	assert_int_equal(replay(src, &t, NULL), -EBADMSG);
	assert_int_equal(truncate(path, 0), 0);
	assert_int_equal(replay(src, &t, NULL), -EBADMSG);
	snprintf(path, sizeof(path), "%s/version", tmpdir);
	f = fopen(path, "wb");
	fwrite("btsnoop\0\0\0\0\2\0\0\3\352", 1, 16, f);
	fclose(f);
	snprintf(src, sizeof(src), "btsnoop:%s", path);
	assert_int_equal(replay(src, &t, NULL), -EBADMSG);
	assert_int_equal(replay("btsnoop:" SL_TEST_DATA_DIR "/ble/LICENSE", &t, NULL), -EBADMSG);
	assert_int_equal(replay("btsnoop:/nonexistent.log", &t, NULL), -ENOENT);
}

static void test_open_errors(void **state)
{
	struct hal_ble ble = { 0 };
	struct hal_ble_cfg cfg = { 0 };

	(void)state;
	assert_int_equal(hal_ble_open(&ble, "btsnoop:", NULL), -EINVAL);
	assert_int_equal(hal_ble_open(&ble, "pcap:x", NULL), -EINVAL);
	assert_int_equal(hal_ble_open(&ble, "off", NULL), -EINVAL);
	assert_int_equal(hal_ble_open(&ble, "hci:", NULL), IS_HCI ? -EINVAL : -EPROTONOSUPPORT);
	assert_int_equal(hal_ble_open(NULL, "btsnoop:" SNOOP, NULL), -EINVAL);
	assert_int_equal(hal_ble_open(&ble, NULL, NULL), -EINVAL);
	cfg.app_uuid = "not-a-uuid";
	assert_int_equal(hal_ble_open(&ble, "btsnoop:" SNOOP, &cfg), -EINVAL);
	assert_null(ble.ops);
	assert_null(ble.priv);
	cfg.app_uuid = NULL;
	cfg.irk_file = "/nonexistent/irks";
	assert_int_equal(hal_ble_open(&ble, "btsnoop:" SNOOP, &cfg), -ENOENT);
	hal_ble_close(&ble);	/* never opened: fine */
	hal_ble_close(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_legacy_several_reports),
		cmocka_unit_test(test_extended_reports),
		cmocka_unit_test(test_extended_legacy_types),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_replay_shared_log),
		cmocka_unit_test(test_replay_other_datalinks),
		cmocka_unit_test(test_replay_damaged),
		cmocka_unit_test(test_open_errors),
	};

	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
