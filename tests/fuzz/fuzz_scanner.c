/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the scanner read path and scan classification. The first
 * byte picks the stream kind (evdev input_event records, or a tty byte
 * stream); the rest goes through a pipe into hal_scanner, and every scan
 * that comes out is classified and tokenized by sl_scan_to_event(), whose
 * payload must never contain the scan.
 */
#include <hal/scanner.h>

#include "privacy.h"
#include "scanners.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct sl_keyring *kr;

/* No card number (a run of 12+ digits) in any event, no card scan in its event. */
static void check_payload(const struct sl_scan_event *ev, const struct hal_scan *s)
{
	/* from "type" on: the id's last group (12 random hex digits) may be all digits */
	const char *t = strstr(ev->payload, "\"type\"");
	size_t run = 0;

	if (!t)
		abort();
	for (size_t i = (size_t)(t - ev->payload); i < ev->len; i++) {
		run = ev->payload[i] >= '0' && ev->payload[i] <= '9' ? run + 1 : 0;
		if (run >= 12)
			abort();
	}
	if (ev->kind == SL_SCAN_CARD && memmem(ev->payload, ev->len, s->data, s->len))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sl_scan_event ev;
	const struct sl_scan_ctx ctx = { .origin = { "acme", "0042", "gw-1" }, .zone = "store" };
	struct sl_scan_ctx c = ctx;
	struct hal_scanner sc;
	struct hal_scan s;
	int p[2], rc;

	if (!kr) {
		uint8_t master[32];

		for (int i = 0; i < 32; i++)
			master[i] = (uint8_t)i;
		if (sl_keyring_new(&kr, "acme", master, "v1", NULL, NULL) < 0)
			abort();
	}
	c.kr = kr;
	if (size < 1 || size > 60000)	/* fits a pipe without a reader */
		return 0;
	if (pipe2(p, O_CLOEXEC) < 0)
		abort();
	if (write(p[1], data + 1, size - 1) != (ssize_t)(size - 1))
		abort();
	close(p[1]);
	if (hal_scanner_open_fd(&sc, data[0] & 1 ? HAL_SCANNER_EVDEV : HAL_SCANNER_TTY, p[0],
				NULL) < 0)
		abort();
	while ((rc = hal_scanner_read(&sc, &s)) == 1) {
		if (s.len == 0 || s.len > HAL_SCAN_MAX || s.data[s.len] != '\0')
			abort();
		if (sl_scan_to_event(&c, s.data, s.len, 1795389275123000ull, true, &ev) == 0)
			check_payload(&ev, &s);
		memset(&s, 0, sizeof(s));
	}
	if (rc != -ENODEV)
		abort();
	hal_scanner_close(&sc);
	return 0;
}
