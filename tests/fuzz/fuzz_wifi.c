/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the Wi-Fi parsers: the input is one captured packet,
 * parsed as radiotap + 802.11 (link type 127), as a bare 802.11 frame
 * (link type 105), and by the radiotap and probe request parsers on their
 * own. Checks the invariants the callers rely on: a parsed radiotap header
 * lies inside the input, SSID pointers and lengths stay inside it, and a
 * failure leaves the output untouched.
 */
#include <hal/wifi.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
	if (!cond)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hal_wifi_sighting s, before;
	struct hal_wifi_radiotap rt;
	struct hal_wifi_probe p;
	int rc;

	rc = hal_wifi_radiotap_parse(data, size, &rt);
	check(rc == 0 || rc == -EINVAL || rc == -EPROTONOSUPPORT);
	if (rc == 0)
		check(rt.len >= 8 && rt.len <= size);

	rc = hal_wifi_probe_parse(data, size, &p);
	check(rc == 0 || rc == -EBADMSG || rc == -ENOMSG);
	if (rc == 0) {
		check(p.sa >= data && p.sa + 6 <= data + size);
		check(p.ssid_len <= HAL_WIFI_SSID_MAX);
		if (p.ssid)
			check(p.ssid >= data && p.ssid + p.ssid_len <= data + size);
	}

	for (int i = 0; i < 2; i++) {
		int dlt = i ? HAL_WIFI_DLT_IEEE802_11 : HAL_WIFI_DLT_RADIOTAP;

		memset(&s, 0xa5, sizeof(s));
		before = s;
		rc = hal_wifi_frame_parse(dlt, data, size, 42, &s);
		if (rc == 0) {
			check(s.ts_us == 42 && s.ssid_len <= HAL_WIFI_SSID_MAX);
			check(s.seq < 4096);
			check(s.randomized == ((s.addr[0] & 2) != 0));
		} else {
			check(rc == -EINVAL || rc == -EBADMSG || rc == -ENOMSG ||
			      rc == -EPROTONOSUPPORT);
			check(memcmp(&s, &before, sizeof(s)) == 0);
		}
	}
	return 0;
}
