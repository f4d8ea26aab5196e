/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: one POS request line through the JSON reader, the card and
 * track parsers and the tokenizer (agent/pos_request.c). Checks that an
 * accepted event is valid-looking JSON and that no card data reaches it:
 * no run of 12-19 digits that passes Luhn (all zeros aside; checked here
 * with a Luhn of its own, as fuzz_scanner.c checks digit runs), no track
 * data and no card number in a card layout (sl_card_data_in over the
 * event). A digit run of the input may reach the event only as free text
 * that is no card number (txn_id "4111111111111112" fails Luhn, a 20-digit
 * run is no PAN): docs/pos-protocol.md. An error reply is a fixed text.
 */
#include "pan.h"
#include "pos_request.h"
#include "privacy.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct sl_keyring *kr;
static struct sl_pos_result res;

/* Luhn, written again (not pan.c's), over d[0..n): true also for all zeros. */
static bool luhn(const char *d, size_t n)
{
	unsigned sum = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned v = (unsigned)(d[n - 1 - i] - '0');

		if (i % 2) {
			v *= 2;
			if (v > 9)
				v -= 9;
		}
		sum += v;
	}
	return sum % 10 == 0;
}

static void check_payload(const char *p, size_t len)
{
	/* from "type" on: the id's last group (12 random hex digits) may be all digits */
	const char *t = strstr(p, "\"type\"");
	size_t from, run = 0;

	if (!t)
		abort();
	from = (size_t)(t - p);
	for (size_t i = from; i <= len; i++) {
		if (i < len && p[i] >= '0' && p[i] <= '9') {
			run++;
			continue;
		}
		if (run >= 12 && run <= 19) {
			const char *d = p + i - run;
			size_t z = 0;

			while (z < run && d[z] == '0')
				z++;
			if (z < run && luhn(d, run))
				abort();
		}
		run = 0;
	}
	if (sl_card_data_in(p + from, len - from, SL_CARD_DATA_TEXT))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sl_pos_ctx ctx = { .origin = { "acme", "0042", "gw-1" }, .zone = "store" };
	char *line;

	if (!kr) {
		uint8_t master[32] = { 0 }, next[32] = { 1 };

		if (sl_keyring_new(&kr, "acme", master, "v1", next, "v2") < 0)
			abort();
	}
	if (size > 16384)
		return 0;
	line = malloc(size ? size : 1);
	if (!line)
		return 0;
	memcpy(line, data, size);
	ctx.kr = kr;
	if (sl_pos_request(&ctx, line, size, 1795389275123000ull, false, &res) == 0 &&
	    res.outcome == SL_POS_OUT_EVENT) {
		if (res.len != strlen(res.payload) || res.payload[0] != '{' ||
		    res.payload[res.len - 1] != '}')
			abort();
		check_payload(res.payload, res.len);
	} else if (res.outcome == SL_POS_OUT_ERROR) {
		if (!res.error || !res.message)
			abort();
	}
	free(line);
	return 0;
}
